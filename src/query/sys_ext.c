/* query/sys_ext.c: system tables that other modules provide (the processing engine's
 * system.processing_engine_logs, ..._triggers, system.plugin_files). The query module
 * knows nothing of them but their schema: a registered fill function produces the rows
 * for each query that scans one, through a sink that copies them into the query's
 * arena, and they then flow through the same values operator as system.queries. */
#include "sysext_int.h"

#include <string.h>

struct query_sys_sink {
    qctx *c;
    const qsys_ext_table *t;
    query_sys_cell *cells; /* row-major, in the query arena */
    uint32_t nrows;
    uint32_t cap;
};

void qsys_ext_free(qsys_ext *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; i < x->n; i++) {
        vg_free(x->t[i].name);
        vg_free(x->t[i].fields);
    }
    vg_free(x);
}

static bool valid_type(query_rows_type t)
{
    return t == QUERY_ROWS_BOOL || t == QUERY_ROWS_INT || t == QUERY_ROWS_UINT ||
           t == QUERY_ROWS_FLOAT || t == QUERY_ROWS_STRING || t == QUERY_ROWS_TIMESTAMP;
}

int query_register_system_table(query_engine *q, const char *name, const query_sys_column *cols,
                                uint32_t ncols, query_sys_fill_fn fill, void *ctx, vg_err *e)
{
    qsys_ext **slot = qengine_sys_ext(q);
    if (!*slot && !(*slot = vg_calloc(1, sizeof **slot)))
        return vg_err_set(e, VG_ENOMEM, "out of memory registering system.%s", name);
    qsys_ext *x = *slot;
    if (!strcmp(name, "queries"))
        return vg_err_set(e, VG_EEXISTS, "system.%s already exists", name);
    for (uint32_t i = 0; i < x->n; i++)
        if (!strcmp(x->t[i].name, name))
            return vg_err_set(e, VG_EEXISTS, "system.%s already exists", name);
    if (x->n == QUERY_SYS_EXT_MAX)
        return vg_err_set(e, VG_ELIMIT, "too many system tables (at most %d)", QUERY_SYS_EXT_MAX);
    for (uint32_t i = 0; i < ncols; i++)
        if (!valid_type(cols[i].type))
            return vg_err_set(e, VG_EINVAL, "system.%s: column %s has an unsupported type", name,
                              cols[i].name);
    qsys_ext_table *t = &x->t[x->n];
    t->name = vg_strdup(name);
    t->fields = vg_calloc(ncols ? ncols : 1, sizeof *t->fields);
    if (!t->name || !t->fields) {
        vg_free(t->name);
        vg_free(t->fields);
        memset(t, 0, sizeof *t);
        return vg_err_set(e, VG_ENOMEM, "out of memory registering system.%s", name);
    }
    for (uint32_t i = 0; i < ncols; i++)
        t->fields[i] = (qfield){cols[i].name, NULL, (qtype)cols[i].type, false, cols[i].nullable};
    t->cols = cols;
    t->ncols = ncols;
    t->fill = fill;
    t->ctx = ctx;
    x->n++;
    return VG_OK;
}

static qsys_ext *ext_of(qctx *c)
{
    return c->engine ? *qengine_sys_ext(c->engine) : NULL;
}

const qsys_ext_table *qsys_ext_find(qctx *c, const char *name)
{
    qsys_ext *x = ext_of(c);
    for (uint32_t i = 0; x && i < x->n; i++)
        if (!strcmp(x->t[i].name, name))
            return &x->t[i];
    return NULL;
}

const qsys_ext_table *qsys_ext_all(qctx *c, uint32_t *n)
{
    qsys_ext *x = ext_of(c);
    *n = x ? x->n : 0;
    return x ? x->t : NULL;
}

int query_sys_add_row(query_sys_sink *k, const query_sys_cell *cells)
{
    uint32_t nc = k->t->ncols;
    if (k->nrows == k->cap) {
        uint32_t cap = k->cap ? k->cap * 2 : 64;
        query_sys_cell *nb = qctx_alloc(k->c, (size_t)cap * (nc ? nc : 1) * sizeof *nb);
        if (!nb)
            return VG_ENOMEM;
        if (k->nrows)
            memcpy(nb, k->cells, (size_t)k->nrows * nc * sizeof *nb);
        k->cells = nb;
        k->cap = cap;
    }
    query_sys_cell *row = k->cells + (size_t)k->nrows * nc;
    for (uint32_t i = 0; i < nc; i++) {
        row[i] = cells[i];
        bool is_str = k->t->cols[i].type == QUERY_ROWS_STRING;
        if (row[i].null && !k->t->cols[i].nullable) { /* keep the schema's promise */
            row[i].null = false;
            if (is_str)
                row[i].v.s = "";
            else
                row[i].v.u = 0;
        }
        if (is_str && !row[i].null) {
            const char *s = row[i].v.s ? row[i].v.s : "";
            size_t n = strlen(s);
            char *p = qctx_alloc(k->c, n + 1);
            if (!p)
                return VG_ENOMEM;
            memcpy(p, s, n + 1);
            row[i].v.s = p;
        }
    }
    k->nrows++;
    return VG_OK;
}

static int fill_column(qctx *c, const qsys_ext_table *t, const query_sys_sink *k, uint32_t first,
                       uint32_t n, uint32_t col, qvec *v)
{
    qtype type = t->fields[col].type;
    int rc = qvec_alloc(c, v, type, n);
    if (rc == VG_OK && t->cols[col].nullable)
        rc = qvec_add_validity(c, v);
    if (rc != VG_OK)
        return rc;
    for (uint32_t r = 0; r < n; r++) {
        const query_sys_cell *x = &k->cells[(size_t)(first + r) * t->ncols + col];
        if (x->null && v->valid)
            qvec_set_null(v, r);
        switch (type) {
        case QT_BOOL: v->v.b[r] = !x->null && x->v.b; break;
        case QT_UINT: v->v.u64[r] = x->null ? 0 : x->v.u; break;
        case QT_FLOAT: v->v.f64[r] = x->null ? 0 : x->v.f; break;
        case QT_STRING: {
            const char *s = x->null || !x->v.s ? "" : x->v.s;
            v->v.s[r] = (qstr){s, (uint32_t)strlen(s)};
            break;
        }
        default: v->v.i64[r] = x->null ? 0 : x->v.i;
        }
    }
    return VG_OK;
}

qop *qsys_ext_op(qctx *c, const qsys_ext_table *t)
{
    query_sys_sink k = {.c = c, .t = t};
    const char *db = c->db ? c->db->name : NULL;
    if (t->fill(t->ctx, db, &k) != VG_OK) {
        if (!c->err->code)
            vg_err_set(c->err, VG_ENOMEM, "out of memory reading system.%s", t->name);
        return NULL;
    }
    qschema *schema = qctx_alloc(c, sizeof *schema);
    if (!schema)
        return NULL;
    *schema = (qschema){t->ncols, t->fields};
    uint32_t nb = (k.nrows + Q_BATCH_ROWS - 1) / Q_BATCH_ROWS;
    qbatch *batches = nb ? qctx_alloc(c, nb * sizeof *batches) : NULL;
    if (nb && !batches)
        return NULL;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t first = b * Q_BATCH_ROWS;
        uint32_t rows = k.nrows - first < Q_BATCH_ROWS ? k.nrows - first : Q_BATCH_ROWS;
        batches[b] = (qbatch){rows, t->ncols, qctx_alloc(c, (t->ncols + 1) * sizeof(qvec))};
        if (!batches[b].cols)
            return NULL;
        for (uint32_t col = 0; col < t->ncols; col++)
            if (fill_column(c, t, &k, first, rows, col, &batches[b].cols[col]) != VG_OK)
                return NULL;
    }
    return qop_values(c, schema, batches, nb);
}
