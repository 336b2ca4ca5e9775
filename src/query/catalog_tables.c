/*
 * query/catalog_tables.c: the relations a FROM can name, and the ones that are not
 * user data.
 *
 * Owns FROM resolution of tables (the user tables of the query's database, under
 * schema `public`/`iox` or none; `system.queries`; `information_schema.tables` and
 * `.columns`), SHOW TABLES and SHOW COLUMNS (DataFusion's shapes over
 * information_schema), and the conversion of rows built here into values batches.
 * Catalog data is copied into the query arena under the catalog's read lock, so the
 * plan never touches catalog memory that a concurrent schema change could move.
 */
#include "plan_int.h"
#include "sysext_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QP_CATALOG "public"
#define QP_USER_SCHEMA "iox"

static int oom(qctx *c)
{
    if (!c->err->code)
        vg_err_set(c->err, VG_ENOMEM, "out of memory while planning the query");
    return c->err->code;
}

/* ---- rows to values batches ---- */

typedef struct rowset {
    qctx *c;
    const qfield *fields;
    uint32_t ncols;
    qvalue *cells; /* row-major */
    uint32_t nrows;
    uint32_t cap;
} rowset;

static int rs_add(rowset *r, const qvalue *row)
{
    if (r->nrows == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 64;
        qvalue *cells = qp_alloc(r->c, (size_t)cap * r->ncols * sizeof *cells);
        if (!cells)
            return oom(r->c);
        if (r->nrows)
            memcpy(cells, r->cells, (size_t)r->nrows * r->ncols * sizeof *cells);
        r->cells = cells;
        r->cap = cap;
    }
    memcpy(r->cells + (size_t)r->nrows * r->ncols, row, r->ncols * sizeof *row);
    r->nrows++;
    return VG_OK;
}

static void rs_put(qvec *v, uint32_t i, const qvalue *x)
{
    switch (v->type) {
    case QT_BOOL: v->v.b[i] = x->v.b; break;
    case QT_UINT: v->v.u64[i] = x->v.u; break;
    case QT_FLOAT: v->v.f64[i] = x->v.f; break;
    case QT_STRING: v->v.s[i] = x->v.s; break;
    default: v->v.i64[i] = x->v.i;
    }
}

static int rs_column(rowset *r, uint32_t first, uint32_t n, uint32_t col, qvec *v)
{
    int rc = qvec_alloc(r->c, v, r->fields[col].type, n);
    if (rc)
        return rc;
    v->type = r->fields[col].type;
    v->n = n;
    for (uint32_t i = 0; i < n; i++) {
        static const qvalue zero;
        const qvalue *x = &r->cells[(size_t)(first + i) * r->ncols + col];
        if (x->null) {
            if (!v->valid && (rc = qvec_add_validity(r->c, v)))
                return rc;
            qvec_set_null(v, i);
            x = &zero; /* keep the data slot of a null row defined */
        }
        rs_put(v, i, x);
    }
    return VG_OK;
}

static int rs_node(rowset *r, const char *label, qp_node **out)
{
    qctx *c = r->c;
    qp_node *n = qp_node_new(c, QP_VALUES, NULL);
    uint32_t nb = (r->nrows + Q_BATCH_ROWS - 1) / Q_BATCH_ROWS;
    qfield *f = qp_alloc(c, (r->ncols + 1) * sizeof *f);
    if (!n || !f || !(n->batches = qp_alloc(c, (nb + 1) * sizeof *n->batches)))
        return oom(c);
    memcpy(f, r->fields, r->ncols * sizeof *f);
    for (uint32_t k = 0; k < nb; k++) {
        qbatch *bt = &n->batches[k];
        uint32_t first = k * Q_BATCH_ROWS;
        bt->nrows = r->nrows - first < Q_BATCH_ROWS ? r->nrows - first : Q_BATCH_ROWS;
        bt->ncols = r->ncols;
        if (!(bt->cols = qp_alloc(c, (r->ncols + 1) * sizeof *bt->cols)))
            return oom(c);
        for (uint32_t j = 0; j < r->ncols; j++) {
            int rc = rs_column(r, first, bt->nrows, j, &bt->cols[j]);
            if (rc)
                return rc;
        }
    }
    n->nbatches = nb;
    n->label = label;
    n->schema = (qschema){r->ncols, f};
    *out = n;
    return VG_OK;
}

static qvalue str_val(const char *s)
{
    qvalue v = {.type = QT_STRING, .null = s == NULL};
    if (s)
        v.v.s = (qstr){s, (uint32_t)strlen(s)};
    return v;
}

int qp_values_strings(qctx *c, const char *label, const char *const *names, uint32_t ncols,
                      const char *const *cells, uint32_t nrows, qp_node **out)
{
    qfield *f = qp_alloc(c, (ncols + 1) * sizeof *f);
    qvalue *row = qp_alloc(c, (ncols + 1) * sizeof *row);
    if (!f || !row)
        return oom(c);
    for (uint32_t j = 0; j < ncols; j++)
        f[j] = (qfield){names[j], NULL, QT_STRING, false, true};
    rowset r = {.c = c, .fields = f, .ncols = ncols};
    for (uint32_t i = 0; i < nrows; i++) {
        for (uint32_t j = 0; j < ncols; j++) {
            const char *s = cells[(size_t)i * ncols + j];
            char *copy = s ? qp_strdup(c, s, strlen(s)) : NULL;
            if (s && !copy)
                return oom(c);
            row[j] = str_val(copy);
        }
        int rc = rs_add(&r, row);
        if (rc)
            return rc;
    }
    return rs_node(&r, label, out);
}

/* ---- relation descriptions ---- */

typedef struct rel_col {
    const char *name;
    const char *data_type; /* as DataFusion prints it */
    bool nullable;
    uint32_t id; /* user tables: catalog column id */
    qtype type;
    bool is_tag;
} rel_col;

typedef struct rel_desc {
    const char *schema; /* iox, system, information_schema */
    const char *name;
    bool view;
    rel_col *cols;
    uint32_t ncols;
} rel_desc;

static const char *const info_tables_names[] = {"table_catalog", "table_schema", "table_name",
                                                "table_type"};

static const qfield info_columns_fields[] = {
    {"table_catalog", NULL, QT_STRING, false, false},
    {"table_schema", NULL, QT_STRING, false, false},
    {"table_name", NULL, QT_STRING, false, false},
    {"column_name", NULL, QT_STRING, false, false},
    {"ordinal_position", NULL, QT_UINT, false, false},
    {"column_default", NULL, QT_STRING, false, true},
    {"is_nullable", NULL, QT_STRING, false, false},
    {"data_type", NULL, QT_STRING, false, false},
};
#define N_INFO_COLUMNS (sizeof info_columns_fields / sizeof info_columns_fields[0])

static qtype catalog_qtype(catalog_type t)
{
    switch (t) {
    case CATALOG_TIME: return QT_TIMESTAMP;
    case CATALOG_FLOAT: return QT_FLOAT;
    case CATALOG_INT: return QT_INT;
    case CATALOG_UINT: return QT_UINT;
    case CATALOG_BOOL: return QT_BOOL;
    default: /* CATALOG_TAG, CATALOG_STRING */ return QT_STRING;
    }
}

static const char *field_data_type(const qfield *f)
{
    return f->is_tag ? "Dictionary(Int32, Utf8)" : qtype_name(f->type);
}

static int cmp_col_name(const void *a, const void *b)
{
    return strcmp(((const rel_col *)a)->name, ((const rel_col *)b)->name);
}

static int cmp_rel_name(const void *a, const void *b)
{
    return strcmp(((const rel_desc *)a)->name, ((const rel_desc *)b)->name);
}

/* Copies a user table's columns, sorted by name (the IOx schema order that Core's
 * `SELECT *` and SHOW COLUMNS follow). Catalog read lock held. */
static int copy_user_table(qctx *c, const catalog_table *t, rel_desc *out)
{
    out->schema = QP_USER_SCHEMA;
    if (!(out->name = qp_strdup(c, t->name, t->name_len)) ||
        !(out->cols = qp_alloc(c, (t->ncols + 1) * sizeof *out->cols)))
        return oom(c);
    uint32_t n = 0;
    for (uint32_t id = 0; id < t->ncols; id++) {
        const catalog_column *col = t->cols[id];
        if (!col)
            continue;
        rel_col *rc = &out->cols[n++];
        if (!(rc->name = qp_strdup(c, col->name, col->name_len)))
            return oom(c);
        rc->id = col->id;
        rc->type = catalog_qtype(col->type);
        rc->is_tag = col->type == CATALOG_TAG;
        rc->nullable = col->type != CATALOG_TIME;
        rc->data_type = col->type == CATALOG_TIME  ? "Timestamp(Nanosecond, None)"
                        : col->type == CATALOG_TAG ? "Dictionary(Int32, Utf8)"
                                                   : qtype_name(rc->type);
    }
    out->ncols = n;
    qsort(out->cols, n, sizeof *out->cols, cmp_col_name);
    return VG_OK;
}

/* Every user table of the query's database, sorted by name. */
static int user_tables(qctx *c, rel_desc **out, uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!c->db)
        return VG_OK;
    int rc = VG_OK;
    catalog_read_lock(c->cat);
    uint32_t n = 0, cap = c->db->ntables;
    rel_desc *rels = qp_alloc(c, (cap + 1) * sizeof *rels);
    if (!rels)
        rc = oom(c);
    for (uint32_t i = 0; i < cap && !rc; i++)
        if (c->db->tables[i] && !c->db->tables[i]->deleted)
            rc = copy_user_table(c, c->db->tables[i], &rels[n++]);
    catalog_read_unlock(c->cat);
    if (rc)
        return rc;
    qsort(rels, n, sizeof *rels, cmp_rel_name);
    *out = rels;
    *nout = n;
    return VG_OK;
}

static int rel_from_schema(qctx *c, const char *schema, const char *name, bool view,
                           const qfield *f, uint32_t n, rel_desc *out)
{
    *out = (rel_desc){schema, name, view, qp_alloc(c, (n + 1) * sizeof(rel_col)), n};
    if (!out->cols)
        return oom(c);
    for (uint32_t i = 0; i < n; i++)
        out->cols[i] =
            (rel_col){f[i].name, field_data_type(&f[i]), f[i].nullable, 0, f[i].type, f[i].is_tag};
    return VG_OK;
}

static const qfield *info_tables_fields(qctx *c)
{
    qfield *f = qp_alloc(c, 4 * sizeof *f);
    if (f)
        for (uint32_t i = 0; i < 4; i++)
            f[i] = (qfield){info_tables_names[i], NULL, QT_STRING, false, false};
    return f;
}

/* system.parquet_files, as Core shows it: one row per live file of the database. */
static const qfield parquet_files_fields[] = {
    {"table_name", NULL, QT_STRING, false, false}, {"path", NULL, QT_STRING, false, false},
    {"size_bytes", NULL, QT_INT, false, false},    {"row_count", NULL, QT_INT, false, false},
    {"min_time", NULL, QT_INT, false, false},      {"max_time", NULL, QT_INT, false, false},
};
#define N_PARQUET_FILES 6

static qvalue int_val(int64_t i)
{
    qvalue v = {.type = QT_INT};
    v.v.i = i;
    return v;
}

static int parquet_files_rows(qctx *c, rowset *r)
{
    if (!c->persist || !c->db)
        return VG_OK;
    persist_file_info *files = NULL;
    size_t n = 0;
    int rc = persist_list_files(c->persist, c->db->id, &files, &n, c->err);
    for (size_t i = 0; rc == VG_OK && i < n; i++) {
        const persist_file_info *fi = &files[i];
        catalog_read_lock(c->cat);
        const catalog_table *t = fi->table_id < c->db->ntables ? c->db->tables[fi->table_id] : NULL;
        bool shown = t && !t->deleted; /* a deleted table's files wait for its hard delete */
        char *table = shown ? qp_strdup(c, t->name, t->name_len) : NULL;
        catalog_read_unlock(c->cat);
        if (!shown)
            continue;
        char *path = qp_strdup(c, fi->path, strlen(fi->path));
        if (!table || !path) {
            rc = oom(c);
            break;
        }
        qvalue row[N_PARQUET_FILES] = {str_val(table),        str_val(path),
                                       int_val((int64_t)fi->bytes), int_val((int64_t)fi->rows),
                                       int_val(fi->min_time), int_val(fi->max_time)};
        rc = rs_add(r, row);
    }
    vg_free(files);
    return rc;
}

static int requalify(qctx *c, qp_node *n, const char *qual);

static int system_parquet_files(qp_binder *b, const char *qual, qp_node **out)
{
    rowset r = {.c = b->c, .fields = parquet_files_fields, .ncols = N_PARQUET_FILES};
    int rc = parquet_files_rows(b->c, &r);
    if (rc == VG_OK)
        rc = rs_node(&r, "system.parquet_files", out);
    return rc == VG_OK ? requalify(b->c, *out, qual) : rc;
}
/* system.queries, the registered system tables, information_schema.tables, .columns */
#define N_BUILTIN_MAX (4 + QUERY_SYS_EXT_MAX)

/* system.* and information_schema.*: what Vigil implements, in DataFusion's listing
 * order (system before information_schema). */
static int builtin_rels(qctx *c, rel_desc *out, uint32_t *n)
{
    const qfield *itf = info_tables_fields(c);
    if (!itf)
        return oom(c);
    qop *q = qsys_queries(c);
    if (!q)
        return c->err->code ? (int)c->err->code : oom(c);
    int rc;
    uint32_t next;
    const qsys_ext_table *ext = qsys_ext_all(c, &next);
    if ((rc = rel_from_schema(c, "system", "parquet_files", false, parquet_files_fields,
                              N_PARQUET_FILES, &out[0])) ||
        (rc = rel_from_schema(c, "system", "queries", false, q->schema.f, q->schema.n, &out[1])))
        return rc;
    for (uint32_t i = 0; i < next; i++)
        if ((rc = rel_from_schema(c, "system", ext[i].name, false, ext[i].fields, ext[i].ncols,
                                  &out[2 + i])))
            return rc;
    if ((rc = rel_from_schema(c, "information_schema", "tables", true, itf, 4, &out[2 + next])) ||
        (rc = rel_from_schema(c, "information_schema", "columns", true, info_columns_fields,
                              N_INFO_COLUMNS, &out[3 + next])))
        return rc;
    *n = 4 + next;
    return VG_OK;
}

/* ---- information_schema.tables, information_schema.columns ---- */

static int info_tables(qp_binder *b, qp_node **out)
{
    qctx *c = b->c;
    rel_desc *rels, builtin[N_BUILTIN_MAX];
    uint32_t n, nb;
    int rc;
    if ((rc = user_tables(c, &rels, &n)) || (rc = builtin_rels(c, builtin, &nb)))
        return rc;
    const qfield *f = info_tables_fields(c);
    if (!f)
        return oom(c);
    rowset r = {.c = c, .fields = f, .ncols = 4};
    for (uint32_t i = 0; i < n + nb && !rc; i++) {
        const rel_desc *d = i < n ? &rels[i] : &builtin[i - n];
        qvalue row[4] = {str_val(QP_CATALOG), str_val(d->schema), str_val(d->name),
                         str_val(d->view ? "VIEW" : "BASE TABLE")};
        rc = rs_add(&r, row);
    }
    return rc ? rc : rs_node(&r, "information_schema.tables", out);
}

static int add_column_rows(rowset *r, const rel_desc *d)
{
    for (uint32_t i = 0; i < d->ncols; i++) {
        const rel_col *col = &d->cols[i];
        qvalue row[N_INFO_COLUMNS] = {
            str_val(QP_CATALOG),
            str_val(d->schema),
            str_val(d->name),
            str_val(col->name),
            {.type = QT_UINT, .v.u = i + 1},
            str_val(NULL),
            str_val(col->nullable ? "YES" : "NO"),
            str_val(col->data_type),
        };
        int rc = rs_add(r, row);
        if (rc)
            return rc;
    }
    return VG_OK;
}

static int info_columns_rows(qctx *c, const rel_desc *rels, uint32_t n, rowset *r)
{
    *r = (rowset){.c = c, .fields = info_columns_fields, .ncols = N_INFO_COLUMNS};
    for (uint32_t i = 0; i < n; i++) {
        int rc = add_column_rows(r, &rels[i]);
        if (rc)
            return rc;
    }
    return VG_OK;
}

static int info_columns(qp_binder *b, qp_node **out)
{
    qctx *c = b->c;
    rel_desc *user, builtin[N_BUILTIN_MAX];
    uint32_t n, nb;
    int rc;
    if ((rc = user_tables(c, &user, &n)) || (rc = builtin_rels(c, builtin, &nb)))
        return rc;
    rel_desc *all = qp_alloc(c, (n + nb) * sizeof *all);
    if (!all)
        return oom(c);
    if (n)
        memcpy(all, user, n * sizeof *all);
    memcpy(all + n, builtin, nb * sizeof *all);
    rowset r;
    if ((rc = info_columns_rows(c, all, n + nb, &r)))
        return rc;
    return rs_node(&r, "information_schema.columns", out);
}

/* ---- FROM resolution ---- */

static bool is_user_schema(const char *schema)
{
    return !schema || !strcmp(schema, "public") || !strcmp(schema, QP_USER_SCHEMA);
}

/* The error for an unknown table, with the closest name among those the schema
 * holds (and the CTEs in scope, for an unqualified name). */
static int table_not_found(qp_binder *b, const ast_from *f)
{
    qctx *c = b->c;
    const char **cands = NULL;
    uint32_t n = 0;
    char shown[VG_ERR_MSG_BYTES / 2];
    if (f->schema)
        snprintf(shown, sizeof shown, "%s.%s", f->schema, f->name);
    else
        snprintf(shown, sizeof shown, "%s", f->name);
    if (is_user_schema(f->schema)) {
        rel_desc *rels;
        int rc = user_tables(c, &rels, &n);
        if (rc)
            return rc;
        uint32_t ncte = 0;
        for (const qp_cte *t = b->ctes; t; t = t->next)
            ncte++;
        if (!(cands = qp_alloc(c, (n + ncte + 1) * sizeof *cands)))
            return oom(c);
        for (uint32_t i = 0; i < n; i++)
            cands[i] = rels[i].name;
        for (const qp_cte *t = b->ctes; t && !f->schema; t = t->next)
            cands[n++] = t->name;
    } else if (!strcmp(f->schema, "system")) {
        uint32_t next;
        const qsys_ext_table *ext = qsys_ext_all(c, &next);
        if (!(cands = qp_alloc(c, (next + 2) * sizeof *cands)))
            return oom(c);
        n = 0;
        cands[n++] = "parquet_files";
        cands[n++] = "queries";
        for (uint32_t i = 0; i < next; i++)
            cands[n++] = ext[i].name;
    } else if (!strcmp(f->schema, "information_schema")) {
        static const char *const info[] = {"tables", "columns"};
        cands = (const char **)info;
        n = 2;
    }
    const char *hint = qp_suggest(f->name, cands, n);
    char *full = NULL;
    if (hint && f->schema) {
        size_t len = strlen(f->schema) + strlen(hint) + 2;
        if (!(full = qp_alloc(c, len)))
            return oom(c);
        snprintf(full, len, "%s.%s", f->schema, hint);
        hint = full;
    }
    qp_err_at(b, VG_ENOTFOUND, f->pos, "table '%s' not found", shown);
    return qp_err_hint(b, hint);
}

/* Rows older than the database's retention period never appear, whether or not the
 * background clean-up has deleted their files yet. */
static int64_t retention_floor(const qctx *c)
{
    int64_t r = c->db ? c->db->retention_ns : 0;
    if (r <= 0 || c->now_ns < INT64_MIN + r)
        return INT64_MIN;
    return c->now_ns - r;
}

static int scan_node(qctx *c, const catalog_table *t, const rel_desc *d, const char *qual,
                     qp_node **out)
{
    qp_node *n = qp_node_new(c, QP_SCAN, NULL);
    qfield *f = qp_alloc(c, (d->ncols + 1) * sizeof *f);
    uint32_t *ids = qp_alloc(c, (d->ncols + 1) * sizeof *ids);
    if (!n || !f || !ids)
        return oom(c);
    for (uint32_t i = 0; i < d->ncols; i++) {
        const rel_col *col = &d->cols[i];
        f[i] = (qfield){col->name, qual, col->type, col->is_tag, col->nullable};
        ids[i] = col->id;
    }
    n->schema = (qschema){d->ncols, f};
    n->table_name = d->name;
    n->scan = (qscan_spec){.db_id = c->db->id,
                           .table_id = t->id,
                           .table = t,
                           .cols = ids,
                           .ncols = d->ncols,
                           .time_min = retention_floor(c),
                           .time_max = INT64_MAX,
                           .dedup = true};
    *out = n;
    return VG_OK;
}

/* A user table by name: its scan node, or NULL in *out when there is none. */
static int user_table(qctx *c, const char *name, const char *qual, qp_node **out, rel_desc *desc)
{
    *out = NULL;
    if (!c->db)
        return VG_OK;
    catalog_read_lock(c->cat);
    catalog_table *t = catalog_table_find(c->db, name, strlen(name));
    int rc = t ? copy_user_table(c, t, desc) : VG_OK;
    catalog_read_unlock(c->cat);
    if (rc || !t)
        return rc;
    return scan_node(c, t, desc, qual, out);
}

static int requalify(qctx *c, qp_node *n, const char *qual)
{
    qfield *f = qp_alloc(c, (n->schema.n + 1) * sizeof *f);
    if (!f)
        return oom(c);
    for (uint32_t i = 0; i < n->schema.n; i++) {
        f[i] = n->schema.f[i];
        f[i].qualifier = qual;
    }
    n->schema.f = f;
    return VG_OK;
}

static int system_queries(qp_binder *b, const char *qual, qp_node **out)
{
    qp_node *n = qp_node_new(b->c, QP_SYSTEM, NULL);
    if (!n)
        return oom(b->c);
    if (!(n->op = qsys_queries(b->c)))
        return b->c->err->code ? (int)b->c->err->code : oom(b->c);
    n->schema = n->op->schema;
    n->label = "system.queries";
    *out = n;
    return requalify(b->c, n, qual);
}

/* A table another module registered (sys_ext.c). */
static int system_ext(qp_binder *b, const qsys_ext_table *t, const char *qual, qp_node **out)
{
    qp_node *n = qp_node_new(b->c, QP_SYSTEM, NULL);
    if (!n)
        return oom(b->c);
    if (!(n->op = qsys_ext_op(b->c, t)))
        return b->c->err->code ? (int)b->c->err->code : oom(b->c);
    n->schema = n->op->schema;
    char *label = qp_alloc(b->c, strlen(t->name) + 8);
    if (!label)
        return oom(b->c);
    memcpy(label, "system.", 7);
    memcpy(label + 7, t->name, strlen(t->name) + 1);
    n->label = label;
    *out = n;
    return requalify(b->c, n, qual);
}

int qp_from_table(qp_binder *b, const ast_from *f, qp_node **out)
{
    const qsys_ext_table *ext;
    const char *qual = f->alias ? f->alias : f->name;
    int rc;
    *out = NULL;
    if (is_user_schema(f->schema)) {
        rel_desc d;
        if ((rc = user_table(b->c, f->name, qual, out, &d)))
            return rc;
    } else if (!strcmp(f->schema, "system") && !strcmp(f->name, "queries")) {
        return system_queries(b, qual, out);
    } else if (!strcmp(f->schema, "system") && !strcmp(f->name, "parquet_files")) {
        return system_parquet_files(b, qual, out);
    } else if (!strcmp(f->schema, "system") && (ext = qsys_ext_find(b->c, f->name))) {
        return system_ext(b, ext, qual, out);
    } else if (!strcmp(f->schema, "information_schema") && !strcmp(f->name, "tables")) {
        if ((rc = info_tables(b, out)))
            return rc;
        return requalify(b->c, *out, qual);
    } else if (!strcmp(f->schema, "information_schema") && !strcmp(f->name, "columns")) {
        if ((rc = info_columns(b, out)))
            return rc;
        return requalify(b->c, *out, qual);
    }
    return *out ? VG_OK : table_not_found(b, f);
}

/* ---- SHOW ---- */

int qp_show_tables(qp_binder *b, qp_node **out)
{
    return info_tables(b, out);
}

static int find_rel(qp_binder *b, const ast_from *f, rel_desc *out, bool *found)
{
    qctx *c = b->c;
    *found = false;
    if (is_user_schema(f->schema)) {
        qp_node *scan;
        int rc = user_table(c, f->name, f->name, &scan, out);
        *found = scan != NULL;
        return rc;
    }
    rel_desc builtin[N_BUILTIN_MAX];
    uint32_t nb;
    int rc = builtin_rels(c, builtin, &nb);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < nb && !*found; i++)
        if (!strcmp(builtin[i].schema, f->schema) && !strcmp(builtin[i].name, f->name)) {
            *out = builtin[i];
            *found = true;
        }
    return VG_OK;
}

int qp_show_columns(qp_binder *b, const ast_from *f, qp_node **out)
{
    qctx *c = b->c;
    rel_desc d;
    bool found;
    int rc = find_rel(b, f, &d, &found);
    if (rc)
        return rc;
    if (!found)
        return table_not_found(b, f);
    rowset r;
    if ((rc = info_columns_rows(c, &d, 1, &r)))
        return rc;
    /* DataFusion's SHOW COLUMNS is a projection of information_schema.columns. */
    static const uint32_t pick[] = {0, 1, 2, 3, 7, 6};
    const uint32_t np = sizeof pick / sizeof pick[0];
    qfield *pf = qp_alloc(c, np * sizeof *pf);
    qvalue *cells = qp_alloc(c, ((size_t)r.nrows + 1) * np * sizeof *cells);
    if (!pf || !cells)
        return oom(c);
    for (uint32_t j = 0; j < np; j++)
        pf[j] = info_columns_fields[pick[j]];
    for (uint32_t i = 0; i < r.nrows; i++)
        for (uint32_t j = 0; j < np; j++)
            cells[(size_t)i * np + j] = r.cells[(size_t)i * r.ncols + pick[j]];
    rowset shown = {
        .c = c, .fields = pf, .ncols = np, .cells = cells, .nrows = r.nrows, .cap = r.nrows};
    return rs_node(&shown, "information_schema.columns", out);
}
