/* Unit tests for the query operators (op_*.c) over a real catalog and write buffer:
 * scan (pruning counts, missing columns, zero-copy slices, residual filter,
 * deduplication within and across chunks against a brute-force reference), values,
 * filter (dictionaries kept), project, aggregate (by tag, int, two keys, NULL groups,
 * empty input, many groups, runs of one group against row-by-row updates), sort (NULLS
 * FIRST/LAST, stability, budget) and top-K against sort + limit on random data,
 * limit/offset (early stop), distinct, union. */
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "query/exec_int.h"
#include "test.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- environment: a catalog table, a buffer, a query context ---- */

/* Column ids of the test table "m". */
enum { C_TIME = 0, C_HOST, C_REGION, C_V, C_N, C_S, C_B, C_U, NCOLS };

typedef struct env {
    char dir[64];
    catalog *cat;
    buffer *buf;
    catalog_db *db;
    catalog_table *t;
    vg_arena arena;
    vg_err err;
    qctx c;
} env;

static void env_init(env *v, uint32_t chunk_rows)
{
    memset(v, 0, sizeof *v);
    snprintf(v->dir, sizeof v->dir, "/tmp/vigil-test-qops-XXXXXX");
    CHECK(mkdtemp(v->dir) != NULL);
    vg_err e;
    catalog_limits lim = {.max_databases = 10, .max_tables = 10, .max_columns_per_table = 20};
    CHECK_INT(catalog_open(v->dir, &lim, &v->cat, &e), VG_OK);
    catalog_write_lock(v->cat);
    CHECK_INT(catalog_db_create(v->cat, "db", 2, 0, &v->db, &e), VG_OK);
    CHECK_INT(catalog_table_create(v->cat, v->db, "m", 1, &v->t, &e), VG_OK);
    static const struct {
        const char *name;
        catalog_type type;
    } cols[] = {{"host", CATALOG_TAG}, {"region", CATALOG_TAG}, {"v", CATALOG_FLOAT},
                {"n", CATALOG_INT},    {"s", CATALOG_STRING},   {"b", CATALOG_BOOL},
                {"u", CATALOG_UINT}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        catalog_column *col;
        CHECK_INT(catalog_column_add(v->cat, v->t, cols[i].name, strlen(cols[i].name), cols[i].type,
                                     &col, &e),
                  VG_OK);
    }
    CHECK_INT(catalog_commit(v->cat, &e), VG_OK);
    catalog_write_unlock(v->cat);
    buffer_options bo = {.chunk_rows = chunk_rows};
    v->buf = buffer_new(&bo);
    vg_arena_init(&v->arena, 0);
    vg_err_clear(&v->err);
    v->c = (qctx){.arena = &v->arena, .err = &v->err, .cat = v->cat, .buf = v->buf, .db = v->db};
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    return remove(p);
}

static void env_destroy(env *v)
{
    vg_arena_free(&v->arena);
    buffer_free(v->buf);
    catalog_close(v->cat);
    nftw(v->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A fresh query context (a new arena) on the same data. */
static void env_new_query(env *v)
{
    vg_arena_free(&v->arena);
    vg_arena_init(&v->arena, 0);
    vg_err_clear(&v->err);
    v->c = (qctx){.arena = &v->arena, .err = &v->err, .cat = v->cat, .buf = v->buf, .db = v->db};
}

/* Sentinels for "no value": */
#define NO_F NAN
#define NO_I INT64_MIN

/* Appends a row; NULL / NO_F / NO_I leave a column out. ncols < NCOLS makes the row
 * (and its chunk) predate the later columns. */
static void add_row_n(env *v, uint32_t ncols, int64_t t, const char *host, const char *region,
                      double f, int64_t n, const char *s)
{
    buffer_value vals[8];
    uint32_t k = 0;
    if (host)
        vals[k++] = (buffer_value){
            .col = C_HOST, .type = CATALOG_TAG, .v.s = {host, (uint32_t)strlen(host)}};
    if (region)
        vals[k++] = (buffer_value){
            .col = C_REGION, .type = CATALOG_TAG, .v.s = {region, (uint32_t)strlen(region)}};
    if (!isnan(f))
        vals[k++] = (buffer_value){.col = C_V, .type = CATALOG_FLOAT, .v.f = f};
    if (n != NO_I && ncols > C_N)
        vals[k++] = (buffer_value){.col = C_N, .type = CATALOG_INT, .v.i = n};
    if (s && ncols > C_S)
        vals[k++] =
            (buffer_value){.col = C_S, .type = CATALOG_STRING, .v.s = {s, (uint32_t)strlen(s)}};
    vg_err e;
    int rc = buffer_append(v->buf, v->db->id, v->t->id, ncols, t, vals, k, 1, &e);
    if (rc != VG_OK)
        printf("buffer_append: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
}

static void add_row(env *v, int64_t t, const char *host, const char *region, double f, int64_t n,
                    const char *s)
{
    add_row_n(v, NCOLS, t, host, region, f, n, s);
}

/* Freezes the active chunk, so the next row starts a new one. */
static void cut(env *v)
{
    buffer_chunk **ch;
    size_t n;
    CHECK_INT(buffer_snapshot(v->buf, v->db->id, v->t->id, &ch, &n, NULL), VG_OK);
    buffer_snapshot_release(ch, n);
}

/* ---- expressions and operators ---- */

static qexpr *x_new(env *v, qexpr_kind kind, qtype type)
{
    qexpr *x = vg_arena_calloc(&v->arena, sizeof *x);
    x->kind = kind;
    x->type = type;
    return x;
}

static qexpr *x_col(env *v, uint32_t col, qtype type)
{
    qexpr *x = x_new(v, QX_COLUMN, type);
    x->col = col;
    return x;
}

static qexpr *x_float(env *v, double f)
{
    qexpr *x = x_new(v, QX_LITERAL, QT_FLOAT);
    x->lit.type = QT_FLOAT;
    x->lit.v.f = f;
    return x;
}

static qexpr *x_int(env *v, int64_t i)
{
    qexpr *x = x_new(v, QX_LITERAL, QT_INT);
    x->lit.type = QT_INT;
    x->lit.v.i = i;
    return x;
}

static qexpr *x_call(env *v, const char *fn, qtype type, qexpr *a, qexpr *b)
{
    qexpr *x = x_new(v, QX_CALL, type);
    x->fn = qfunc_find(fn);
    CHECK(x->fn != NULL);
    x->args = vg_arena_alloc(&v->arena, 2 * sizeof *x->args);
    x->args[0] = a;
    x->args[1] = b;
    x->nargs = 2;
    return x;
}

static qscan_spec scan_spec(env *v, const uint32_t *cols, uint32_t n)
{
    uint32_t *c = vg_arena_alloc(&v->arena, n * sizeof *c);
    memcpy(c, cols, n * sizeof *c);
    return (qscan_spec){.db_id = v->db->id,
                        .table_id = v->t->id,
                        .table = v->t,
                        .cols = c,
                        .ncols = n,
                        .time_min = INT64_MIN,
                        .time_max = INT64_MAX,
                        .dedup = true};
}

static qop *scan_all(env *v)
{
    static const uint32_t cols[] = {C_TIME, C_HOST, C_REGION, C_V, C_N, C_S};
    qscan_spec sp = scan_spec(v, cols, 6);
    return qop_scan(&v->c, &sp);
}

static qagg_call agg_call(env *v, const char *name, qexpr *arg)
{
    qagg_call a = {.agg = qagg_find(name)};
    CHECK(a.agg != NULL);
    qtype types[1] = {arg ? arg->type : QT_NULL};
    if (arg) {
        a.args = vg_arena_alloc(&v->arena, sizeof *a.args);
        a.args[0] = arg;
        a.nargs = 1;
    }
    vg_err e;
    CHECK_INT(a.agg->resolve(types, a.nargs, false, &a.ret, &e), VG_OK);
    return a;
}

static qschema schema_of(env *v, uint32_t n, const qtype *types)
{
    qschema s = {.n = n, .f = vg_arena_calloc(&v->arena, (n ? n : 1) * sizeof(qfield))};
    for (uint32_t i = 0; i < n; i++) {
        s.f[i].name = "c";
        s.f[i].type = types[i];
        s.f[i].nullable = true;
    }
    return s;
}

/* ---- rendering results ---- */

static void render_cell(const qvec *v, uint32_t r, vg_buf *b)
{
    if (v->type == QT_NULL || !qvec_is_valid(v, r)) {
        vg_buf_puts(b, "NULL");
        return;
    }
    switch (v->type) {
    case QT_BOOL: vg_buf_puts(b, v->v.b[r] ? "true" : "false"); break;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: vg_buf_printf(b, "%lld", (long long)v->v.i64[r]); break;
    case QT_UINT: vg_buf_printf(b, "%llu", (unsigned long long)v->v.u64[r]); break;
    case QT_FLOAT: vg_buf_printf(b, "%g", v->v.f64[r]); break;
    case QT_STRING: {
        qstr s = qvec_str(v, r);
        vg_buf_append(b, s.p, s.len);
        break;
    }
    case QT_SELECTOR:
        vg_buf_putc(b, '{');
        render_cell(&v->sel[0], r, b);
        vg_buf_putc(b, ',');
        render_cell(&v->sel[1], r, b);
        vg_buf_putc(b, '}');
        break;
    default: vg_buf_puts(b, "?");
    }
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct result {
    int rc;
    uint32_t nbatches;
    uint32_t nrows;
    char *text; /* rows joined by '\n', cells by '|' */
} result;

/* Runs op to the end; rows sorted when `sorted` (for operators with free order). */
static result run(env *v, qop *op, bool sorted)
{
    result res = {0};
    CHECK(op != NULL);
    if (!op) {
        res.rc = -1;
        res.text = strdup("");
        return res;
    }
    char **lines = NULL;
    size_t nl = 0, cap = 0;
    res.rc = op->vt->open(op, &v->c);
    while (res.rc == VG_OK) {
        qbatch *b;
        res.rc = op->vt->next(op, &v->c, &b);
        if (res.rc != VG_OK || !b)
            break;
        res.nbatches++;
        CHECK(b->nrows <= Q_BATCH_ROWS);
        for (uint32_t r = 0; r < b->nrows; r++) {
            vg_buf line;
            vg_buf_init(&line);
            for (uint32_t i = 0; i < b->ncols; i++) {
                if (i)
                    vg_buf_putc(&line, '|');
                render_cell(&b->cols[i], r, &line);
            }
            if (nl == cap) {
                cap = cap ? cap * 2 : 64;
                lines = realloc(lines, cap * sizeof *lines);
            }
            lines[nl++] = line.data ? vg_buf_steal(&line) : vg_strdup("");
        }
        res.nrows += b->nrows;
    }
    op->vt->close(op, &v->c);
    if (sorted && nl)
        qsort(lines, nl, sizeof *lines, cmp_line);
    vg_buf all;
    vg_buf_init(&all);
    for (size_t i = 0; i < nl; i++) {
        if (i)
            vg_buf_putc(&all, '\n');
        vg_buf_puts(&all, lines[i]);
        vg_free(lines[i]);
    }
    free(lines);
    res.text = strdup(all.data ? all.data : "");
    vg_buf_free(&all);
    return res;
}

#define CHECK_RESULT(res, expected)                                                                \
    do {                                                                                           \
        result r_ = (res);                                                                         \
        CHECK_INT(r_.rc, VG_OK);                                                                   \
        CHECK_STR(r_.text, expected);                                                              \
        free(r_.text);                                                                             \
    } while (0)

/* ---- scan ---- */

static void test_scan_all_rows_and_types(void)
{
    env v;
    env_init(&v, 4);
    for (int i = 0; i < 10; i++) {
        char s[16];
        snprintf(s, sizeof s, "s%d", i);
        add_row(&v, 100 + i, i % 2 ? "a" : "b", "eu", i * 0.5, i % 3 ? i : NO_I, i % 4 ? s : NULL);
    }
    CHECK_RESULT(run(&v, scan_all(&v), true), "100|b|eu|0|NULL|NULL\n"
                                              "101|a|eu|0.5|1|s1\n"
                                              "102|b|eu|1|2|s2\n"
                                              "103|a|eu|1.5|NULL|s3\n"
                                              "104|b|eu|2|4|NULL\n"
                                              "105|a|eu|2.5|5|s5\n"
                                              "106|b|eu|3|NULL|s6\n"
                                              "107|a|eu|3.5|7|s7\n"
                                              "108|b|eu|4|8|NULL\n"
                                              "109|a|eu|4.5|NULL|s9");
    CHECK_INT(v.c.chunks_total, 3);
    CHECK_INT(v.c.chunks_pruned, 0);
    CHECK_INT(v.c.rows_scanned, 10);
    env_destroy(&v);
}

static void test_scan_schema(void)
{
    env v;
    env_init(&v, 0);
    qop *op = scan_all(&v);
    CHECK_INT(op->schema.n, 6);
    CHECK_STR(op->schema.f[0].name, "time");
    CHECK_INT(op->schema.f[0].type, QT_TIMESTAMP);
    CHECK(!op->schema.f[0].nullable);
    CHECK_STR(op->schema.f[1].name, "host");
    CHECK(op->schema.f[1].is_tag);
    CHECK_INT(op->schema.f[1].type, QT_STRING);
    CHECK_STR(op->schema.f[1].qualifier, "m");
    CHECK_INT(op->schema.f[3].type, QT_FLOAT);
    CHECK_INT(op->schema.f[4].type, QT_INT);
    CHECK(!op->schema.f[5].is_tag);
    /* An empty table: no rows, no chunks. */
    result r = run(&v, op, false);
    CHECK_INT(r.rc, VG_OK);
    CHECK_INT(r.nrows, 0);
    CHECK_INT(v.c.chunks_total, 0);
    free(r.text);
    env_destroy(&v);
}

static void test_scan_time_pruning(void)
{
    env v;
    env_init(&v, 4);
    for (int i = 0; i < 10; i++)
        add_row(&v, i * 10, "a", NULL, i, NO_I, NULL);
    /* chunks: [0, 30], [40, 70], [80, 90] */
    static const uint32_t cols[] = {C_TIME, C_V};
    qscan_spec sp = scan_spec(&v, cols, 2);
    sp.time_min = 45;
    sp.time_max = 60;
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "50|5\n60|6");
    CHECK_INT(v.c.chunks_total, 3);
    CHECK_INT(v.c.chunks_pruned, 2);
    env_new_query(&v);
    sp = scan_spec(&v, cols, 2);
    sp.time_min = 30; /* inclusive bounds: the edges count */
    sp.time_max = 40;
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "30|3\n40|4");
    CHECK_INT(v.c.chunks_pruned, 1);
    env_new_query(&v);
    sp = scan_spec(&v, cols, 2);
    sp.time_min = 91;
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "");
    CHECK_INT(v.c.chunks_pruned, 3);
    env_destroy(&v);
}

static void test_scan_tag_pruning(void)
{
    env v;
    env_init(&v, 0);
    add_row(&v, 1, "a", "x", 1, NO_I, NULL);
    add_row(&v, 2, "b", "x", 2, NO_I, NULL);
    cut(&v);
    add_row(&v, 3, "c", "y", 3, NO_I, NULL);
    add_row(&v, 4, "d", "y", 4, NO_I, NULL);
    add_row(&v, 5, "c", NULL, 5, NO_I, NULL);
    cut(&v);
    add_row(&v, 6, NULL, "z", 6, NO_I, NULL); /* no host at all in this chunk */
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    qstr vals[] = {{"c", 1}, {"zz", 2}};
    qscan_tag_eq te = {.col_id = C_HOST, .values = vals, .nvalues = 2};
    sp.tag_eq = &te;
    sp.ntag_eq = 1;
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "3|c|3\n5|c|5");
    CHECK_INT(v.c.chunks_total, 3);
    CHECK_INT(v.c.chunks_pruned, 2);
    /* Two columns: both must match. */
    env_new_query(&v);
    sp = scan_spec(&v, cols, 3);
    qstr rv[] = {{"y", 1}};
    qscan_tag_eq te2[2] = {{.col_id = C_HOST, .values = vals, .nvalues = 1},
                           {.col_id = C_REGION, .values = rv, .nvalues = 1}};
    sp.tag_eq = te2;
    sp.ntag_eq = 2;
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "3|c|3");
    env_destroy(&v);
}

static void test_scan_missing_columns(void)
{
    env v;
    env_init(&v, 0);
    /* The first chunk predates columns n, s, b, u. */
    add_row_n(&v, C_N, 1, "a", NULL, 1.5, 7, "dropped");
    cut(&v);
    add_row(&v, 2, "a", NULL, NO_F, 8, "x");
    CHECK_RESULT(run(&v, scan_all(&v), true), "1|a|NULL|1.5|NULL|NULL\n2|a|NULL|NULL|8|x");
    env_destroy(&v);
}

static void test_scan_batches_are_slices(void)
{
    env v;
    env_init(&v, 0);
    for (int i = 0; i < 10000; i++)
        add_row(&v, i, i % 3 ? "a" : "b", NULL, i, NO_I, NULL);
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    qop *op = qop_scan(&v.c, &sp);
    CHECK_INT(op->vt->open(op, &v.c), VG_OK);
    uint32_t sizes[4] = {0}, nb = 0;
    int64_t sum = 0;
    qbatch *b;
    while (op->vt->next(op, &v.c, &b) == VG_OK && b) {
        if (nb < 4)
            sizes[nb] = b->nrows;
        nb++;
        const qvec *host = &b->cols[1];
        CHECK(host->ids != NULL);
        CHECK_INT(host->dict_n, 2);
        CHECK(host->dict_id != 0);
        CHECK(host->valid == NULL);
        CHECK(b->cols[2].valid == NULL);
        for (uint32_t r = 0; r < b->nrows; r++)
            sum += b->cols[0].v.i64[r];
    }
    op->vt->close(op, &v.c);
    CHECK_INT(nb, 3);
    CHECK_INT(sizes[0], 4096);
    CHECK_INT(sizes[1], 4096);
    CHECK_INT(sizes[2], 10000 - 8192);
    CHECK_INT(sum, 9999LL * 10000 / 2);
    env_destroy(&v);
}

static void test_scan_residual_filter(void)
{
    env v;
    env_init(&v, 0);
    for (int i = 0; i < 6; i++)
        add_row(&v, i, i % 2 ? "a" : "b", NULL, i, NO_I, NULL);
    add_row(&v, 6, "a", NULL, NO_F, NO_I, NULL); /* v NULL: the predicate is NULL */
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    sp.filter = x_call(&v, ">", QT_BOOL, x_col(&v, 2, QT_FLOAT), x_float(&v, 2.5));
    qop *op = qop_scan(&v.c, &sp);
    CHECK_INT(op->vt->open(op, &v.c), VG_OK);
    qbatch *b;
    CHECK_INT(op->vt->next(op, &v.c, &b), VG_OK);
    CHECK(b && b->nrows == 3);
    if (b && b->nrows == 3) {
        CHECK(b->cols[1].ids != NULL); /* still dictionary-encoded after compaction */
        CHECK_INT(b->cols[0].v.i64[0], 3);
        CHECK_INT(b->cols[0].v.i64[2], 5);
    }
    CHECK_INT(op->vt->next(op, &v.c, &b), VG_OK);
    CHECK(b == NULL);
    op->vt->close(op, &v.c);
    env_destroy(&v);
}

/* ---- deduplication ---- */

static void test_dedup_within_chunk(void)
{
    env v;
    env_init(&v, 0);
    add_row(&v, 10, "a", "x", 1, 100, "first");
    add_row(&v, 10, "b", "x", 2, 200, NULL);
    add_row(&v, 10, "a", "x", 3, NO_I, NULL); /* v overwritten, n and s kept */
    add_row(&v, 20, "a", "x", 4, NO_I, NULL);
    add_row(&v, 10, "a", "x", NO_F, NO_I, "third"); /* s overwritten, v kept */
    CHECK_RESULT(run(&v, scan_all(&v), true), "10|a|x|3|100|third\n"
                                              "10|b|x|2|200|NULL\n"
                                              "20|a|x|4|NULL|NULL");
    env_destroy(&v);
}

static void test_dedup_across_chunks(void)
{
    env v;
    env_init(&v, 0);
    add_row(&v, 1, "a", NULL, 1, 10, NULL);
    add_row(&v, 2, "a", NULL, 2, 20, NULL);
    add_row(&v, 3, "b", NULL, 3, 30, NULL);
    cut(&v);
    add_row(&v, 3, "a", NULL, 33, NO_I, NULL); /* same time as b, different series */
    add_row(&v, 2, "a", NULL, NO_F, 22, "late");
    add_row(&v, 9, "a", NULL, 9, 90, NULL);
    cut(&v);
    add_row(&v, 2, "a", NULL, 222, NO_I, NULL);
    CHECK_RESULT(run(&v, scan_all(&v), true), "1|a|NULL|1|10|NULL\n"
                                              "2|a|NULL|222|22|late\n"
                                              "3|a|NULL|33|NULL|NULL\n"
                                              "3|b|NULL|3|30|NULL\n"
                                              "9|a|NULL|9|90|NULL");
    env_destroy(&v);
}

static void test_dedup_tag_sets(void)
{
    env v;
    env_init(&v, 0);
    /* host does not determine region here: (a,x) and (a,y) are different series. */
    add_row(&v, 1, "a", "x", 1, NO_I, NULL);
    add_row(&v, 1, "a", "y", 2, NO_I, NULL);
    add_row(&v, 1, "a", NULL, 3, NO_I, NULL); /* region NULL: a third series */
    add_row(&v, 1, "a", "x", 4, NO_I, NULL);
    add_row(&v, 1, NULL, "x", 5, NO_I, NULL);
    add_row(&v, 1, NULL, "x", 6, NO_I, NULL);
    add_row(&v, 1, NULL, NULL, 7, NO_I, NULL);
    add_row(&v, 1, NULL, NULL, 8, NO_I, NULL);
    CHECK_RESULT(run(&v, scan_all(&v), true), "1|NULL|NULL|8|NULL|NULL\n"
                                              "1|NULL|x|6|NULL|NULL\n"
                                              "1|a|NULL|3|NULL|NULL\n"
                                              "1|a|x|4|NULL|NULL\n"
                                              "1|a|y|2|NULL|NULL");
    env_destroy(&v);
}

/* Chunks the buffer did not flag may_have_dups overlap freely without duplicates;
 * only where a flagged chunk overlaps another are rows merged. */
static void test_dedup_flagged_chunks_only(void)
{
    env v;
    env_init(&v, 0);
    for (int t = 1; t <= 4; t++) {
        add_row(&v, t, "a", NULL, t, NO_I, NULL);
        add_row(&v, t, "b", NULL, t, NO_I, NULL);
    }
    cut(&v);
    for (int t = 3; t <= 6; t++) /* overlaps in time, new series: not flagged */
        add_row(&v, t, "c", NULL, t, NO_I, NULL);
    cut(&v);
    add_row(&v, 3, "a", NULL, NO_F, 33, NULL); /* a rewrite: flagged */
    add_row(&v, 7, "b", NULL, 7, NO_I, NULL);
    size_t n;
    buffer_chunk **ch;
    CHECK_INT(buffer_snapshot(v.buf, v.db->id, v.t->id, &ch, &n, NULL), VG_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK(!ch[0]->may_have_dups);
        CHECK(!ch[1]->may_have_dups);
        CHECK(ch[2]->may_have_dups);
    }
    buffer_snapshot_release(ch, n);
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V, C_N};
    qscan_spec sp = scan_spec(&v, cols, 4);
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "1|a|1|NULL\n1|b|1|NULL\n"
                                                     "2|a|2|NULL\n2|b|2|NULL\n"
                                                     "3|a|3|33\n3|b|3|NULL\n3|c|3|NULL\n"
                                                     "4|a|4|NULL\n4|b|4|NULL\n4|c|4|NULL\n"
                                                     "5|c|5|NULL\n6|c|6|NULL\n7|b|7|NULL");
    env_destroy(&v);
}

static void test_dedup_off_and_out_of_order(void)
{
    env v;
    env_init(&v, 0);
    add_row(&v, 5, "a", NULL, 1, NO_I, NULL);
    add_row(&v, 3, "a", NULL, 2, NO_I, NULL); /* out of order, no duplicate */
    add_row(&v, 4, "a", NULL, 3, NO_I, NULL);
    add_row(&v, 5, "a", NULL, 4, NO_I, NULL);
    static const uint32_t cols[] = {C_TIME, C_V};
    qscan_spec sp = scan_spec(&v, cols, 2);
    sp.dedup = false;
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "3|2\n4|3\n5|1\n5|4");
    env_new_query(&v);
    sp = scan_spec(&v, cols, 2);
    CHECK_RESULT(run(&v, qop_scan(&v.c, &sp), true), "3|2\n4|3\n5|4");
    env_destroy(&v);
}

/* Brute-force reference for dedup: rows with equal (host, region, time) merged in
 * write order, later non-null values winning. */
typedef struct ref_row {
    int64_t t;
    int host, region; /* -1 = NULL */
    double v;
    int64_t n;
    bool dead;
} ref_row;

static void test_dedup_random_against_reference(void)
{
    for (int round = 0; round < 8; round++) {
        env v;
        env_init(&v, round % 2 ? 7 : 64);
        srand(1234 + round);
        enum { N = 3000 };
        ref_row *rows = calloc(N, sizeof *rows);
        const char *hosts[] = {"h0", "h1", "h2", "h3", "h4"};
        const char *regions[] = {"r0", "r1"};
        for (int i = 0; i < N; i++) {
            ref_row *r = &rows[i];
            /* Mostly increasing time, sometimes back in time, often repeated. */
            /* Rounds 6 and 7: out of order within blocks of 8 but unique, but for a
             * rare repeat, so flagged chunks have a narrow range of possible
             * duplicates and many unordered rows outside it. */
            if (round >= 6)
                r->t = rand() % 64 ? (int64_t)(i ^ 5) * 2 : (int64_t)(i ^ 5) * 2 - 4;
            else
                r->t = round < 2 ? i / 4 : (round < 4 ? rand() % 400 : i / 3 - (rand() % 5) * 30);
            r->host = rand() % 6 - 1;
            r->region = round == 5 ? (r->host < 0 ? -1 : r->host % 2) : rand() % 3 - 1;
            r->v = rand() % 4 ? rand() % 1000 : NAN;
            r->n = rand() % 3 ? rand() % 1000 : NO_I;
            add_row(&v, r->t, r->host >= 0 ? hosts[r->host] : NULL,
                    r->region >= 0 ? regions[r->region] : NULL, r->v, r->n, NULL);
            if (rand() % 200 == 0)
                cut(&v);
        }
        /* The reference merge: quadratic is fine at this size. Time and tag filters
         * commute with it (duplicates share both). */
        for (int i = 0; i < N; i++) {
            for (int j = i + 1; j < N && !rows[i].dead; j++) {
                if (rows[j].t != rows[i].t || rows[j].host != rows[i].host ||
                    rows[j].region != rows[i].region)
                    continue;
                if (isnan(rows[j].v))
                    rows[j].v = rows[i].v;
                if (rows[j].n == NO_I)
                    rows[j].n = rows[i].n;
                rows[i].dead = true;
            }
        }
        for (int query = 0; query < 3; query++) {
            /* 0: everything; 1: a time range; 2: a time range and host IN (h1, h3), which
             * takes the scan's general (row by row) path even for sorted chunks. */
            int64_t tmin = query ? 50 : INT64_MIN, tmax = query ? 300 : INT64_MAX;
            char **lines = calloc(N, sizeof *lines);
            int nl = 0;
            for (int i = 0; i < N; i++) {
                if (rows[i].dead || rows[i].t < tmin || rows[i].t > tmax)
                    continue;
                if (query == 2 && rows[i].host != 1 && rows[i].host != 3)
                    continue;
                char line[128], fv[32], nv[32];
                if (isnan(rows[i].v))
                    snprintf(fv, sizeof fv, "NULL");
                else
                    snprintf(fv, sizeof fv, "%g", rows[i].v);
                if (rows[i].n == NO_I)
                    snprintf(nv, sizeof nv, "NULL");
                else
                    snprintf(nv, sizeof nv, "%lld", (long long)rows[i].n);
                snprintf(line, sizeof line, "%lld|%s|%s|%s|%s|NULL", (long long)rows[i].t,
                         rows[i].host >= 0 ? hosts[rows[i].host] : "NULL",
                         rows[i].region >= 0 ? regions[rows[i].region] : "NULL", fv, nv);
                lines[nl++] = strdup(line);
            }
            qsort(lines, nl, sizeof *lines, cmp_line);
            vg_buf want;
            vg_buf_init(&want);
            for (int i = 0; i < nl; i++) {
                if (i)
                    vg_buf_putc(&want, '\n');
                vg_buf_puts(&want, lines[i]);
                free(lines[i]);
            }
            env_new_query(&v);
            static const uint32_t cols[] = {C_TIME, C_HOST, C_REGION, C_V, C_N, C_S};
            qscan_spec sp = scan_spec(&v, cols, 6);
            sp.time_min = tmin;
            sp.time_max = tmax;
            qstr hv[] = {{"h1", 2}, {"h3", 2}};
            qscan_tag_eq te = {.col_id = C_HOST, .values = hv, .nvalues = 2};
            if (query == 2) {
                sp.tag_eq = &te;
                sp.ntag_eq = 1;
            }
            result got = run(&v, qop_scan(&v.c, &sp), true);
            CHECK_INT(got.rc, VG_OK);
            CHECK_INT(got.nrows, nl);
            if (strcmp(got.text, want.data ? want.data : "") != 0) {
                printf("FAIL dedup round %d query %d: results differ\n", round, query);
                test_failures_in_current++;
            }
            free(got.text);
            vg_buf_free(&want);
            free(lines);
        }
        free(rows);
        env_destroy(&v);
    }
}

/* ---- values, filter, project ---- */

/* Batches of one INT column 0..n-1 (every 7th NULL when nulls) and a STRING column. */
static qop *int_values(env *v, uint32_t n, uint32_t per_batch, bool nulls)
{
    uint32_t nb = (n + per_batch - 1) / per_batch;
    qbatch *bs = vg_arena_calloc(&v->arena, (nb ? nb : 1) * sizeof *bs);
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t rows = n - b * per_batch < per_batch ? n - b * per_batch : per_batch;
        bs[b].nrows = rows;
        bs[b].ncols = 2;
        bs[b].cols = vg_arena_calloc(&v->arena, 2 * sizeof(qvec));
        qvec *iv = &bs[b].cols[0], *sv = &bs[b].cols[1];
        iv->type = QT_INT;
        iv->n = rows;
        iv->v.i64 = vg_arena_alloc(&v->arena, rows * 8);
        iv->valid = vg_arena_calloc(&v->arena, rows / 8 + 1);
        sv->type = QT_STRING;
        sv->n = rows;
        sv->v.s = vg_arena_alloc(&v->arena, rows * sizeof(qstr));
        for (uint32_t r = 0; r < rows; r++) {
            uint32_t i = b * per_batch + r;
            iv->v.i64[r] = i;
            if (!nulls || i % 7)
                iv->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
            char *s = vg_arena_alloc(&v->arena, 16);
            snprintf(s, 16, "s%u", i % 3);
            sv->v.s[r] = (qstr){s, (uint32_t)strlen(s)};
        }
    }
    qtype types[] = {QT_INT, QT_STRING};
    qschema sc = schema_of(v, 2, types);
    return qop_values(&v->c, &sc, bs, nb);
}

static void test_values_filter_project(void)
{
    env v;
    env_init(&v, 0);
    CHECK_RESULT(run(&v, int_values(&v, 5, 2, false), false), "0|s0\n1|s1\n2|s2\n3|s0\n4|s1");
    qop *f = qop_filter(&v.c, int_values(&v, 20, 6, true),
                        x_call(&v, ">", QT_BOOL, x_col(&v, 0, QT_INT), x_int(&v, 12)));
    CHECK_RESULT(run(&v, f, false), "13|s1\n15|s0\n16|s1\n17|s2\n18|s0\n19|s1");
    qexpr **ex = vg_arena_alloc(&v.arena, 2 * sizeof *ex);
    ex[0] = x_col(&v, 1, QT_STRING);
    ex[1] = x_call(&v, "+", QT_INT, x_col(&v, 0, QT_INT), x_int(&v, 100));
    qtype types[] = {QT_STRING, QT_INT};
    qschema sc = schema_of(&v, 2, types);
    CHECK_RESULT(run(&v, qop_project(&v.c, int_values(&v, 8, 3, true), ex, &sc), false),
                 "s0|NULL\ns1|101\ns2|102\ns0|103\ns1|104\ns2|105\ns0|106\ns1|NULL");
    env_destroy(&v);
}

static void test_filter_keeps_dictionary(void)
{
    env v;
    env_init(&v, 0);
    for (int i = 0; i < 100; i++)
        add_row(&v, i, i % 3 ? "a" : "b", NULL, i, NO_I, NULL);
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    qop *f = qop_filter(&v.c, qop_scan(&v.c, &sp),
                        x_call(&v, ">=", QT_BOOL, x_col(&v, 2, QT_FLOAT), x_float(&v, 97)));
    CHECK_INT(f->vt->open(f, &v.c), VG_OK);
    qbatch *b;
    CHECK_INT(f->vt->next(f, &v.c, &b), VG_OK);
    CHECK(b && b->nrows == 3);
    if (b && b->nrows == 3) {
        CHECK(b->cols[1].ids != NULL);
        CHECK_INT(b->cols[1].dict_n, 2);
        qstr s = qvec_str(&b->cols[1], 2);
        CHECK_MEM(s.p, s.len, "b"); /* 99 */
    }
    f->vt->close(f, &v.c);
    env_destroy(&v);
}

/* ---- aggregate ---- */

static void test_aggregate_by_tag(void)
{
    env v;
    env_init(&v, 3);
    /* Chunks of 3 rows: each chunk has its own dictionary with its own ids. */
    const char *h[] = {"a", "b", "a", "c", "a", "b", "b", "c", "a", "c", NULL, NULL};
    for (int i = 0; i < 12; i++)
        add_row(&v, i, h[i], NULL, i, NO_I, NULL);
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    qexpr **g = vg_arena_alloc(&v.arena, sizeof *g);
    g[0] = x_col(&v, 1, QT_STRING);
    qagg_call *aggs = vg_arena_alloc(&v.arena, 4 * sizeof *aggs);
    aggs[0] = agg_call(&v, "count", NULL);
    aggs[1] = agg_call(&v, "sum", x_col(&v, 2, QT_FLOAT));
    aggs[2] = agg_call(&v, "avg", x_col(&v, 2, QT_FLOAT));
    aggs[3] = agg_call(&v, "max", x_col(&v, 2, QT_FLOAT));
    qtype types[] = {QT_STRING, QT_INT, QT_FLOAT, QT_FLOAT, QT_FLOAT};
    qschema sc = schema_of(&v, 5, types);
    qop *a = qop_aggregate(&v.c, qop_scan(&v.c, &sp), g, 1, aggs, 4, &sc);
    CHECK_RESULT(run(&v, a, true), "NULL|2|21|10.5|11\na|4|14|3.5|8\nb|3|12|4|6\nc|3|19|6.33333|9");
    env_destroy(&v);
}

static void test_aggregate_by_int_with_nulls(void)
{
    env v;
    env_init(&v, 0);
    qexpr **g = vg_arena_alloc(&v.arena, sizeof *g);
    /* key = column 0 (0..29, every 7th NULL) */
    g[0] = x_col(&v, 0, QT_INT);
    qagg_call *aggs = vg_arena_alloc(&v.arena, sizeof *aggs);
    aggs[0] = agg_call(&v, "count", NULL);
    qtype types[] = {QT_INT, QT_INT};
    qschema sc = schema_of(&v, 2, types);
    qop *a = qop_aggregate(&v.c, int_values(&v, 30, 8, true), g, 1, aggs, 1, &sc);
    result r = run(&v, a, true);
    CHECK_INT(r.rc, VG_OK);
    CHECK_INT(r.nrows, 26); /* 25 non-null keys + the NULL group */
    CHECK(strstr(r.text, "NULL|5") != NULL);
    CHECK(strstr(r.text, "\n29|1") != NULL);
    free(r.text);
    /* Grouping by the string column: three groups. */
    g[0] = x_col(&v, 1, QT_STRING);
    types[0] = QT_STRING;
    sc = schema_of(&v, 2, types);
    a = qop_aggregate(&v.c, int_values(&v, 30, 8, true), g, 1, aggs, 1, &sc);
    CHECK_RESULT(run(&v, a, true), "s0|10\ns1|10\ns2|10");
    env_destroy(&v);
}

static void test_aggregate_two_keys(void)
{
    env v;
    env_init(&v, 4);
    for (int i = 0; i < 12; i++)
        add_row(&v, i, i % 2 ? "a" : "b", i % 3 ? "x" : NULL, 1, NO_I, NULL);
    static const uint32_t cols[] = {C_HOST, C_REGION, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    qexpr **g = vg_arena_alloc(&v.arena, 2 * sizeof *g);
    g[0] = x_col(&v, 0, QT_STRING);
    g[1] = x_col(&v, 1, QT_STRING);
    qagg_call *aggs = vg_arena_alloc(&v.arena, sizeof *aggs);
    aggs[0] = agg_call(&v, "sum", x_col(&v, 2, QT_FLOAT));
    qtype types[] = {QT_STRING, QT_STRING, QT_FLOAT};
    qschema sc = schema_of(&v, 3, types);
    qop *a = qop_aggregate(&v.c, qop_scan(&v.c, &sp), g, 2, aggs, 1, &sc);
    CHECK_RESULT(run(&v, a, true), "a|NULL|2\na|x|4\nb|NULL|2\nb|x|4");
    env_destroy(&v);
}

/* ---- aggregate by runs ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state % n);
}

/* Two dictionaries of the tags "k0".."k11": id = key in one, 11 - key in the other. */
static qstr tag_dicts[2][12];
static int dict_turn;

static void make_tag_dicts(env *v)
{
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 12; i++) {
            char *p = vg_arena_alloc(&v->arena, 8);
            snprintf(p, 8, "k%d", d ? 11 - i : i);
            tag_dicts[d][i] = (qstr){p, (uint32_t)strlen(p)};
        }
}

/* A batch of (key INT, v FLOAT, t TIMESTAMP, w FLOAT, tag "k<key>") rows: runs of one
 * key of length [lo, hi] (the first continuing `*key`), v NULL one row in nine, w never
 * NULL (but NaN now and then for key 9), keys 7 and 8 only zeros of both signs (and
 * -2.5 for 7), times 0..49 with ties
 * and out of order; the tags in dictionary form, batches taking turns at the two
 * dictionaries. */
static void runs_batch(env *v, qbatch *b, uint32_t n, uint32_t lo, uint32_t hi, int64_t *key)
{
    b->nrows = n;
    int d = dict_turn++ & 1;
    b->ncols = 5;
    b->cols = vg_arena_calloc(&v->arena, 5 * sizeof(qvec));
    qvec *k = &b->cols[0], *x = &b->cols[1], *t = &b->cols[2], *w = &b->cols[3];
    uint32_t *ids = vg_arena_alloc(&v->arena, n * sizeof *ids);
    b->cols[4] = (qvec){.type = QT_STRING,
                        .n = n,
                        .ids = ids,
                        .dict = tag_dicts[d],
                        .dict_n = 12,
                        .dict_id = 1000 + (uint64_t)d};
    *w = (qvec){.type = QT_FLOAT, .n = n, .v.f64 = vg_arena_alloc(&v->arena, n * 8)};
    *k = (qvec){.type = QT_INT, .n = n, .v.i64 = vg_arena_alloc(&v->arena, n * 8)};
    *x = (qvec){.type = QT_FLOAT, .n = n, .v.f64 = vg_arena_alloc(&v->arena, n * 8)};
    *t = (qvec){.type = QT_TIMESTAMP, .n = n, .v.i64 = vg_arena_alloc(&v->arena, n * 8)};
    x->valid = vg_arena_calloc(&v->arena, n / 8 + 1);
    uint32_t left = lo + rnd(hi - lo + 1);
    for (uint32_t r = 0; r < n; r++, left--) {
        if (left == 0) {
            int64_t nk;
            do
                nk = rnd(10);
            while (nk == *key);
            *key = nk;
            left = lo + rnd(hi - lo + 1);
        }
        k->v.i64[r] = *key;
        static const double z7[] = {-0.0, 0.0, -2.5}, z8[] = {0.0, -0.0};
        x->v.f64[r] = *key == 7   ? z7[rnd(3)]
                      : *key == 8 ? z8[rnd(2)]
                                  : (double)rnd(1000) / 10.0 - 50;
        if (rnd(9))
            x->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
        w->v.f64[r] = *key >= 7 ? x->v.f64[r] : (double)rnd(1000);
        if (*key == 9 && r % 97 == 5) /* NaN: max keeps it, min passes over it */
            w->v.f64[r] = NAN;
        ids[r] = (uint32_t)(d ? 11 - *key : *key);
        t->v.i64[r] = rnd(50);
    }
}

static qagg_call agg_call2(env *v, const char *name, qexpr *a0, qexpr *a1)
{
    qagg_call a = {.agg = qagg_find(name), .nargs = 2};
    CHECK(a.agg != NULL);
    a.args = vg_arena_alloc(&v->arena, 2 * sizeof *a.args);
    a.args[0] = a0;
    a.args[1] = a1;
    qtype types[2] = {a0->type, a1->type};
    vg_err e;
    CHECK_INT(a.agg->resolve(types, 2, false, &a.ret, &e), VG_OK);
    return a;
}

/* Row by row (a group id per row, whole batches): what the operator must match. */
static qvec reference(env *v, const qagg_call *call, qbatch *bs, uint32_t nb, const int64_t *keys,
                      uint32_t ng)
{
    const qagg *ag = call->agg;
    qtype types[2] = {call->args[0]->type, call->nargs > 1 ? call->args[1]->type : QT_NULL};
    size_t size = ag->state_size(types, call->nargs);
    char *st = vg_arena_calloc(&v->arena, ng * size);
    ag->init(st, ng);
    uint32_t *g = vg_arena_alloc(&v->arena, Q_BATCH_ROWS * sizeof *g);
    for (uint32_t b = 0; b < nb; b++) {
        qvec args[2] = {bs[b].cols[call->args[0]->col], bs[b].cols[2]};
        if (call->nargs > 1 && call->args[1]->kind == QX_LITERAL) { /* the percentile */
            args[1] = (qvec){.type = QT_FLOAT,
                             .n = bs[b].nrows,
                             .v.f64 = vg_arena_alloc(&v->arena, bs[b].nrows * 8)};
            for (uint32_t r = 0; r < bs[b].nrows; r++)
                args[1].v.f64[r] = call->args[1]->lit.v.f;
        }
        uint32_t missing = 0;
        for (uint32_t r = 0; r < bs[b].nrows; r++) {
            for (g[r] = 0; g[r] < ng && keys[g[r]] != bs[b].cols[0].v.i64[r];)
                g[r]++;
            missing += g[r] == ng;
            g[r] = g[r] == ng ? 0 : g[r];
        }
        CHECK_INT(missing, 0); /* every key is one of the operator's groups */
        CHECK_INT(ag->update(&v->c, st, g, args, call->nargs, bs[b].nrows), VG_OK);
    }
    qvec out;
    CHECK_INT(qvec_alloc(&v->c, &out, call->ret, ng), VG_OK);
    CHECK_INT(ag->finalize(&v->c, st, ng, &out), VG_OK);
    if (ag->destroy)
        ag->destroy(st, ng);
    return out;
}

/* Row i of a and row j of b: same validity and the same bits. */
static bool same_cell(const qvec *a, uint32_t i, const qvec *b, uint32_t j)
{
    if (a->type == QT_SELECTOR)
        return same_cell(&a->sel[0], i, &b->sel[0], j) && same_cell(&a->sel[1], i, &b->sel[1], j);
    if (qvec_is_valid(a, i) != qvec_is_valid(b, j))
        return false;
    return !qvec_is_valid(a, i) || a->v.i64[i] == b->v.i64[j];
}

/* GROUP BY over batches of long runs (updated run by run, NULLs at every bit offset,
 * zeros of both signs as the extreme), of short runs (row by row) and a run going on
 * from one batch into the next: every aggregate that allows runs gives bit for bit
 * what row-by-row updates give (max keeps the first of 0.0 / -0.0, selector ties the
 * row-by-row winner, percentiles the values in row order). */
static void aggregate_by_runs(bool by_tag)
{
    env v;
    env_init(&v, 0);
    make_tag_dicts(&v);
    rnd_state = 0x9e3779b97f4a7c15ULL; /* the same rows for both keys */
    dict_turn = 0;
    enum { NB = 6, NAGG = 12, NG = 12 };
    qbatch *bs = vg_arena_calloc(&v.arena, NB * sizeof *bs);
    int64_t key = 0;
    runs_batch(&v, &bs[0], 4096, 1, 400, &key);
    runs_batch(&v, &bs[1], 4096, 1, 3, &key);
    runs_batch(&v, &bs[2], 1500, 20, 200, &key);
    runs_batch(&v, &bs[3], 77, 77, 77, &key); /* one run: the last key goes on */
    for (uint32_t r = 0; r < 77; r++) {
        int64_t k = bs[2].cols[0].v.i64[1499];
        bs[3].cols[0].v.i64[r] = k;
        ((uint32_t *)bs[3].cols[4].ids)[r] =
            (uint32_t)(bs[3].cols[4].dict == tag_dicts[1] ? 11 - k : k);
    }
    key = 10; /* a new group whose max is 0.0 (row 1), -0.0 coming later in another lane */
    runs_batch(&v, &bs[4], 64, 64, 64, &key);
    for (uint32_t r = 0; r < 64; r++)
        bs[4].cols[3].v.f64[r] = r == 1 ? 0.0 : r == 4 ? -0.0 : -2.5;
    key = 11; /* a group with one NaN early in its only run: max is NaN, min is not */
    runs_batch(&v, &bs[5], 64, 64, 64, &key);
    for (uint32_t r = 0; r < 64; r++)
        bs[5].cols[3].v.f64[r] = r == 5 ? NAN : 100.0 - r;
    qtype in_types[] = {QT_INT, QT_FLOAT, QT_TIMESTAMP, QT_FLOAT, QT_STRING};
    qschema in_sc = schema_of(&v, 5, in_types);
    qexpr **g = vg_arena_alloc(&v.arena, sizeof *g);
    g[0] = by_tag ? x_col(&v, 4, QT_STRING) : x_col(&v, 0, QT_INT);
    qexpr *x = x_col(&v, 1, QT_FLOAT), *t = x_col(&v, 2, QT_TIMESTAMP);
    qexpr *w = x_col(&v, 3, QT_FLOAT);
    qagg_call *aggs = vg_arena_alloc(&v.arena, NAGG * sizeof *aggs);
    aggs[0] = agg_call(&v, "count", x);
    aggs[1] = agg_call(&v, "sum", x);
    aggs[2] = agg_call(&v, "avg", x);
    aggs[3] = agg_call(&v, "max", x);
    aggs[4] = agg_call(&v, "min", x);
    aggs[5] = agg_call2(&v, "selector_last", x, t);
    aggs[6] = agg_call2(&v, "selector_first", x, t);
    aggs[7] = agg_call2(&v, "approx_percentile_cont", x, x_float(&v, 0.3));
    aggs[8] = agg_call(&v, "median", x);
    aggs[9] = agg_call(&v, "max", w); /* no NULLs: in lanes */
    aggs[10] = agg_call(&v, "min", w);
    aggs[11] = agg_call(&v, "var_samp", w); /* not by runs: group ids made from them */
    for (int i = 0; i < NAGG; i++)
        CHECK(aggs[i].agg->by_run == (i != 11));
    qtype out_types[1 + NAGG] = {by_tag ? QT_STRING : QT_INT};
    for (int i = 0; i < NAGG; i++)
        out_types[1 + i] = aggs[i].ret;
    qschema sc = schema_of(&v, 1 + NAGG, out_types);
    qop *op = qop_aggregate(&v.c, qop_values(&v.c, &in_sc, bs, NB), g, 1, aggs, NAGG, &sc);
    CHECK_INT(op->vt->open(op, &v.c), VG_OK);
    qbatch *out = NULL;
    CHECK_INT(op->vt->next(op, &v.c, &out), VG_OK);
    CHECK(out && out->nrows == NG);
    if (out && out->nrows == NG) {
        int64_t keys[NG];
        for (uint32_t r = 0; r < NG; r++)
            keys[r] = by_tag ? atoi(qvec_str(&out->cols[0], r).p + 1) : out->cols[0].v.i64[r];
        uint32_t bad = 0, zeros = 0, neg = 0;
        for (int i = 0; i < NAGG; i++) {
            qvec ref = reference(&v, &aggs[i], bs, NB, keys, NG);
            for (uint32_t r = 0; r < NG; r++) {
                bool ok = same_cell(&out->cols[1 + i], r, &ref, r);
                if (!ok)
                    printf("  %s, key %lld differs\n", aggs[i].agg->name, (long long)keys[r]);
                bad += !ok;
            }
        }
        for (uint32_t r = 0; r < NG; r++) /* max over zeros: a zero, of the first sign */
            if (keys[r] == 7 || keys[r] == 8 || keys[r] == 10) {
                zeros += out->cols[10].v.f64[r] == 0;
                neg += signbit(out->cols[10].v.f64[r]) != 0;
            }
        CHECK_INT(bad, 0);
        CHECK_INT(zeros, 3);
        CHECK(neg == 1); /* the data's first zeros: 0.0 for keys 8 and 10, -0.0 for 7 */
    }
    op->vt->close(op, &v.c);
    env_destroy(&v);
}

static void test_aggregate_by_runs_exact(void)
{
    aggregate_by_runs(false); /* an INT key: group ids per row, then runs */
    aggregate_by_runs(true);  /* a tag: runs of its dictionary ids, across dictionaries */
}

static void test_aggregate_empty_input(void)
{
    env v;
    env_init(&v, 0);
    static const uint32_t cols[] = {C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 2);
    qagg_call *aggs = vg_arena_alloc(&v.arena, 2 * sizeof *aggs);
    aggs[0] = agg_call(&v, "count", NULL);
    aggs[1] = agg_call(&v, "sum", x_col(&v, 1, QT_FLOAT));
    qtype types[] = {QT_INT, QT_FLOAT};
    qschema sc = schema_of(&v, 2, types);
    /* No GROUP BY: one row even over nothing. */
    CHECK_RESULT(run(&v, qop_aggregate(&v.c, qop_scan(&v.c, &sp), NULL, 0, aggs, 2, &sc), false),
                 "0|NULL");
    /* With GROUP BY: no rows. */
    sp = scan_spec(&v, cols, 2);
    qexpr **g = vg_arena_alloc(&v.arena, sizeof *g);
    g[0] = x_col(&v, 0, QT_STRING);
    qtype types2[] = {QT_STRING, QT_INT, QT_FLOAT};
    sc = schema_of(&v, 3, types2);
    result r = run(&v, qop_aggregate(&v.c, qop_scan(&v.c, &sp), g, 1, aggs, 2, &sc), false);
    CHECK_INT(r.rc, VG_OK);
    CHECK_INT(r.nrows, 0);
    free(r.text);
    env_destroy(&v);
}

static void test_aggregate_many_groups(void)
{
    env v;
    env_init(&v, 0);
    enum { N = 50000 };
    qexpr **g = vg_arena_alloc(&v.arena, 2 * sizeof *g);
    g[0] = x_col(&v, 0, QT_INT);
    g[1] = x_col(&v, 1, QT_STRING);
    qagg_call *aggs = vg_arena_alloc(&v.arena, sizeof *aggs);
    aggs[0] = agg_call(&v, "count", NULL);
    qtype types[] = {QT_INT, QT_STRING, QT_INT};
    qschema sc = schema_of(&v, 3, types);
    qop *a = qop_aggregate(&v.c, int_values(&v, N, 1000, false), g, 2, aggs, 1, &sc);
    CHECK_INT(a->vt->open(a, &v.c), VG_OK);
    qbatch *b;
    uint32_t rows = 0, batches = 0;
    int64_t keysum = 0, countsum = 0;
    while (a->vt->next(a, &v.c, &b) == VG_OK && b) {
        batches++;
        for (uint32_t r = 0; r < b->nrows; r++) {
            keysum += b->cols[0].v.i64[r];
            countsum += b->cols[2].v.i64[r];
        }
        rows += b->nrows;
    }
    a->vt->close(a, &v.c);
    CHECK_INT(rows, N);
    CHECK_INT(batches, (N + Q_BATCH_ROWS - 1) / Q_BATCH_ROWS);
    CHECK_INT(keysum, (int64_t)N * (N - 1) / 2);
    CHECK_INT(countsum, N);
    env_destroy(&v);
}

/* Selector results (a struct vector) sliced into output batches, and DISTINCT
 * aggregates given either way (plain aggregate + distinct flag, or the distinct form). */
static void test_aggregate_selector_and_distinct(void)
{
    env v;
    env_init(&v, 0);
    enum { N = 9000 };
    for (int i = 0; i < N; i++)
        add_row(&v, i, i % 3 ? "a" : "b", NULL, i * 2, NO_I, NULL);
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 3);
    qexpr **g = vg_arena_alloc(&v.arena, sizeof *g);
    g[0] = x_col(&v, 0, QT_TIMESTAMP); /* 9000 groups: three output batches */
    qagg_call *aggs = vg_arena_alloc(&v.arena, sizeof *aggs);
    aggs[0] = (qagg_call){.agg = qagg_find("selector_last")};
    CHECK(aggs[0].agg != NULL);
    aggs[0].args = vg_arena_alloc(&v.arena, 2 * sizeof(qexpr *));
    aggs[0].args[0] = x_col(&v, 2, QT_FLOAT);
    aggs[0].args[1] = x_col(&v, 0, QT_TIMESTAMP);
    aggs[0].nargs = 2;
    qtype at[2] = {QT_FLOAT, QT_TIMESTAMP};
    vg_err e;
    CHECK_INT(aggs[0].agg->resolve(at, 2, false, &aggs[0].ret, &e), VG_OK);
    qtype types[] = {QT_TIMESTAMP, QT_SELECTOR};
    qschema sc = schema_of(&v, 2, types);
    result r = run(&v, qop_aggregate(&v.c, qop_scan(&v.c, &sp), g, 1, aggs, 1, &sc), true);
    CHECK_INT(r.rc, VG_OK);
    CHECK_INT(r.nrows, N);
    CHECK_INT(r.nbatches, 3);
    CHECK(strstr(r.text, "\n4097|{8194,4097}\n") != NULL);
    CHECK(strstr(r.text, "\n8999|{17998,8999}") != NULL);
    free(r.text);
    /* count(DISTINCT host): the flag on a plain aggregate picks its distinct form. */
    for (int form = 0; form < 2; form++) {
        env_new_query(&v);
        sp = scan_spec(&v, cols, 3);
        aggs = vg_arena_alloc(&v.arena, 2 * sizeof *aggs);
        aggs[0] = agg_call(&v, "count", x_col(&v, 1, QT_STRING));
        aggs[0].distinct = true;
        if (form)
            aggs[0].agg = qagg_find_distinct("count");
        aggs[1] = agg_call(&v, "count", x_col(&v, 1, QT_STRING));
        qtype t2[] = {QT_INT, QT_INT};
        sc = schema_of(&v, 2, t2);
        CHECK_RESULT(
            run(&v, qop_aggregate(&v.c, qop_scan(&v.c, &sp), NULL, 0, aggs, 2, &sc), false),
            "2|9000");
    }
    env_destroy(&v);
}

/* ---- sort ---- */

static qsort_key *sort_keys(env *v, uint32_t n)
{
    return vg_arena_calloc(&v->arena, n * sizeof(qsort_key));
}

static void test_sort_nulls_and_direction(void)
{
    env v;
    env_init(&v, 0);
    add_row(&v, 1, "a", NULL, 3, NO_I, NULL);
    add_row(&v, 2, "b", NULL, NO_F, NO_I, NULL);
    add_row(&v, 3, "c", NULL, 1, NO_I, NULL);
    add_row(&v, 4, "d", NULL, 3, NO_I, NULL);
    add_row(&v, 5, "e", NULL, NO_F, NO_I, NULL);
    add_row(&v, 6, "f", NULL, -0.5, NO_I, NULL);
    static const uint32_t cols[] = {C_TIME, C_HOST, C_V};
    static const struct {
        bool desc, nulls_first;
        const char *want;
    } cases[] = {
        {false, false, "f|-0.5\nc|1\na|3\nd|3\nb|NULL\ne|NULL"},
        {false, true, "b|NULL\ne|NULL\nf|-0.5\nc|1\na|3\nd|3"},
        {true, true, "b|NULL\ne|NULL\na|3\nd|3\nc|1\nf|-0.5"},
        {true, false, "a|3\nd|3\nc|1\nf|-0.5\nb|NULL\ne|NULL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int topk = 0; topk < 2; topk++) {
            env_new_query(&v);
            qscan_spec sp = scan_spec(&v, cols, 3);
            qsort_key *k = sort_keys(&v, 2);
            k[0] = (qsort_key){x_col(&v, 2, QT_FLOAT), cases[i].desc, cases[i].nulls_first};
            k[1] = (qsort_key){x_col(&v, 0, QT_TIMESTAMP), false, false}; /* ties by time */
            qexpr **ex = vg_arena_alloc(&v.arena, 2 * sizeof *ex);
            ex[0] = x_col(&v, 1, QT_STRING);
            ex[1] = x_col(&v, 2, QT_FLOAT);
            qtype types[] = {QT_STRING, QT_FLOAT};
            qschema sc = schema_of(&v, 2, types);
            qop *s = qop_sort(&v.c, qop_scan(&v.c, &sp), k, 2, topk ? 6 : 0);
            CHECK_RESULT(run(&v, qop_project(&v.c, s, ex, &sc), false), cases[i].want);
        }
    }
    env_destroy(&v);
}

static void test_sort_strings_stable_and_computed_key(void)
{
    env v;
    env_init(&v, 0);
    /* Sort by the string column (s0, s1, s2 repeating): stable within equal keys. */
    qsort_key *k = sort_keys(&v, 1);
    k[0] = (qsort_key){x_col(&v, 1, QT_STRING), true, false};
    CHECK_RESULT(run(&v, qop_sort(&v.c, int_values(&v, 7, 3, false), k, 1, 0), false),
                 "2|s2\n5|s2\n1|s1\n4|s1\n0|s0\n3|s0\n6|s0");
    /* A computed key (col0 + 100, NULLs first) is stored beside the row. */
    k = sort_keys(&v, 1);
    k[0] = (qsort_key){x_call(&v, "+", QT_INT, x_col(&v, 0, QT_INT), x_int(&v, 100)), true, true};
    CHECK_RESULT(run(&v, qop_sort(&v.c, int_values(&v, 9, 4, true), k, 1, 3), false),
                 "NULL|s0\nNULL|s1\n8|s2"); /* rows 0 and 7 are the NULLs */
    env_destroy(&v);
}

/* Random rows: value in 0..9 (ties), NULL one time in 8, a random string. */
static qop *random_values(env *v, uint32_t n, uint32_t seed)
{
    srand(seed);
    uint32_t per = 1000, nb = (n + per - 1) / per;
    qbatch *bs = vg_arena_calloc(&v->arena, nb * sizeof *bs);
    static char pool[2048];
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (char)('a' + (i * 7 + i / 13) % 26);
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t rows = n - b * per < per ? n - b * per : per;
        qbatch *q = &bs[b];
        q->nrows = rows;
        q->ncols = 3;
        q->cols = vg_arena_calloc(&v->arena, 3 * sizeof(qvec));
        qvec *a = &q->cols[0], *f = &q->cols[1], *s = &q->cols[2];
        *a = (qvec){.type = QT_INT, .n = rows};
        *f = (qvec){.type = QT_FLOAT, .n = rows};
        *s = (qvec){.type = QT_STRING, .n = rows};
        a->v.i64 = vg_arena_alloc(&v->arena, rows * 8);
        f->v.f64 = vg_arena_alloc(&v->arena, rows * 8);
        s->v.s = vg_arena_alloc(&v->arena, rows * sizeof(qstr));
        a->valid = vg_arena_calloc(&v->arena, rows / 8 + 1);
        for (uint32_t r = 0; r < rows; r++) {
            a->v.i64[r] = rand() % 10;
            if (rand() % 8)
                a->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
            f->v.f64[r] = (double)(b * per + r); /* arrival number: shows stability */
            uint32_t off = (uint32_t)rand() % 1024, len = (uint32_t)rand() % 5;
            s->v.s[r] = (qstr){pool + off, len};
        }
    }
    qtype types[] = {QT_INT, QT_FLOAT, QT_STRING};
    qschema sc = schema_of(v, 3, types);
    return qop_values(&v->c, &sc, bs, nb);
}

static void test_topk_equals_sort_then_limit(void)
{
    env v;
    env_init(&v, 0);
    static const uint64_t ks[] = {1, 5, 100, 4096, 5000, 20000};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        for (int variant = 0; variant < 4; variant++) {
            uint32_t seed = (uint32_t)(i * 10 + variant);
            qsort_key *k1 = sort_keys(&v, 2), *k2 = sort_keys(&v, 2);
            bool desc = variant & 1, nf = variant & 2;
            /* By the int (ties, NULLs), then the string; stability decides the rest. */
            k1[0] = k2[0] = (qsort_key){x_col(&v, 0, QT_INT), desc, nf};
            k1[1] = k2[1] = (qsort_key){x_col(&v, 2, QT_STRING), !desc, !nf};
            result top =
                run(&v, qop_sort(&v.c, random_values(&v, 12000, seed), k1, 2, ks[i]), false);
            result ref = run(
                &v,
                qop_limit(&v.c, qop_sort(&v.c, random_values(&v, 12000, seed), k2, 2, 0), ks[i], 0),
                false);
            CHECK_INT(top.rc, VG_OK);
            CHECK_INT(ref.rc, VG_OK);
            CHECK_INT(top.nrows, ks[i] < 12000 ? ks[i] : 12000);
            if (strcmp(top.text, ref.text) != 0) {
                printf("FAIL top-K %llu variant %d differs from sort + limit\n",
                       (unsigned long long)ks[i], variant);
                test_failures_in_current++;
            }
            free(top.text);
            free(ref.text);
        }
    }
    env_destroy(&v);
}

/* Full sort against an independent reference: qsort of the generated rows with a
 * comparator written here (string ASC, then int DESC NULLS FIRST, then arrival). */
typedef struct gen_row {
    int64_t i;
    bool i_null;
    qstr s;
    uint32_t arrival;
} gen_row;

/* int DESC NULLS FIRST, then arrival: the order when the int is the only key. */
static int gen_cmp_int(const void *a, const void *b)
{
    const gen_row *x = a, *y = b;
    if (x->i_null != y->i_null)
        return x->i_null ? -1 : 1;
    if (!x->i_null && x->i != y->i)
        return x->i > y->i ? -1 : 1;
    return x->arrival < y->arrival ? -1 : 1;
}

static int gen_cmp(const void *a, const void *b)
{
    const gen_row *x = a, *y = b;
    uint32_t m = x->s.len < y->s.len ? x->s.len : y->s.len;
    int c = memcmp(x->s.p, y->s.p, m);
    if (c)
        return c;
    if (x->s.len != y->s.len)
        return x->s.len < y->s.len ? -1 : 1;
    if (x->i_null != y->i_null)
        return x->i_null ? -1 : 1;
    if (!x->i_null && x->i != y->i)
        return x->i > y->i ? -1 : 1;
    return x->arrival < y->arrival ? -1 : 1;
}

static void test_sort_random_against_reference(void)
{
    env v;
    env_init(&v, 0);
    enum { N = 30000 };
    static char pool[64];
    memcpy(pool, "abcabcabdaaaaabbbbbcccccdddddeeeeeaabbccddeeffgghhiijjkkllmmnno", 64);
    gen_row *rows = calloc(N, sizeof *rows);
    srand(5);
    uint32_t per = 700, nb = (N + per - 1) / per;
    qbatch *bs = vg_arena_calloc(&v.arena, nb * sizeof *bs);
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t n = N - b * per < per ? N - b * per : per;
        bs[b].nrows = n;
        bs[b].ncols = 3;
        bs[b].cols = vg_arena_calloc(&v.arena, 3 * sizeof(qvec));
        qvec *iv = &bs[b].cols[0], *sv = &bs[b].cols[1], *av = &bs[b].cols[2];
        *iv = (qvec){.type = QT_INT, .n = n};
        *sv = (qvec){.type = QT_STRING, .n = n};
        *av = (qvec){.type = QT_INT, .n = n};
        iv->v.i64 = vg_arena_alloc(&v.arena, n * 8);
        iv->valid = vg_arena_calloc(&v.arena, n / 8 + 1);
        sv->v.s = vg_arena_alloc(&v.arena, n * sizeof(qstr));
        av->v.i64 = vg_arena_alloc(&v.arena, n * 8);
        for (uint32_t r = 0; r < n; r++) {
            gen_row *g = &rows[b * per + r];
            g->arrival = b * per + r;
            g->i = rand() % 50 - 25;
            g->i_null = rand() % 10 == 0;
            /* Strings sharing long prefixes, so the 8-byte prefix often ties. */
            uint32_t off = (uint32_t)rand() % 8, len = (uint32_t)rand() % 12;
            g->s = (qstr){pool + off * 4, len};
            iv->v.i64[r] = g->i;
            if (!g->i_null)
                iv->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
            sv->v.s[r] = g->s;
            av->v.i64[r] = g->arrival;
        }
    }
    qtype types[] = {QT_INT, QT_STRING, QT_INT};
    qschema sc = schema_of(&v, 3, types);
    for (int variant = 0; variant < 5; variant++) {
        /* 0, 1: (string, int) full sort and top-K of all rows; 2, 3, 4: the int alone
         * (the prefix decides; ties by arrival), full, top-K of all, top-K of 777. */
        bool by_int = variant >= 2;
        uint64_t limit = variant == 1 || variant == 3 ? N : variant == 4 ? 777 : 0;
        qsort(rows, N, sizeof *rows, by_int ? gen_cmp_int : gen_cmp);
        vg_buf want;
        vg_buf_init(&want);
        for (uint32_t i = 0; i < (limit ? limit : N); i++) {
            if (i)
                vg_buf_putc(&want, '\n');
            if (rows[i].i_null)
                vg_buf_puts(&want, "NULL|");
            else
                vg_buf_printf(&want, "%lld|", (long long)rows[i].i);
            vg_buf_append(&want, rows[i].s.p, rows[i].s.len);
            vg_buf_printf(&want, "|%u", rows[i].arrival);
        }
        qsort_key *k = sort_keys(&v, 2);
        k[0] = (qsort_key){x_col(&v, 1, QT_STRING), false, false};
        k[1] = (qsort_key){x_col(&v, 0, QT_INT), true, true};
        if (by_int)
            k[0] = k[1];
        result r =
            run(&v, qop_sort(&v.c, qop_values(&v.c, &sc, bs, nb), k, by_int ? 1 : 2, limit), false);
        CHECK_INT(r.rc, VG_OK);
        if (strcmp(r.text, want.data) != 0) {
            printf("FAIL sort variant %d differs from the reference\n", variant);
            test_failures_in_current++;
        }
        free(r.text);
        vg_buf_free(&want);
        /* Back to arrival order for the next reference. */
        for (uint32_t i = 0; i < N; i++)
            while (rows[i].arrival != i) {
                gen_row t = rows[rows[i].arrival];
                rows[rows[i].arrival] = rows[i];
                rows[i] = t;
            }
    }
    free(rows);
    env_destroy(&v);
}

/* Top-K whose evicted strings must be reclaimed: ascending keys, so every batch's
 * rows beat the kept ones, with long strings. */
static void test_topk_reclaims_strings(void)
{
    env v;
    env_init(&v, 0);
    enum { N = 40000 };
    static char big[4096];
    memset(big, 'x', sizeof big);
    uint32_t per = 4000, nb = N / per;
    qbatch *bs = vg_arena_calloc(&v.arena, nb * sizeof *bs);
    for (uint32_t b = 0; b < nb; b++) {
        bs[b].nrows = per;
        bs[b].ncols = 2;
        bs[b].cols = vg_arena_calloc(&v.arena, 2 * sizeof(qvec));
        qvec *a = &bs[b].cols[0], *s = &bs[b].cols[1];
        *a = (qvec){.type = QT_INT, .n = per};
        *s = (qvec){.type = QT_STRING, .n = per};
        a->v.i64 = vg_arena_alloc(&v.arena, per * 8);
        s->v.s = vg_arena_alloc(&v.arena, per * sizeof(qstr));
        for (uint32_t r = 0; r < per; r++) {
            a->v.i64[r] = b * per + r;
            s->v.s[r] = (qstr){big, 1000 + (b * per + r) % 3000};
        }
    }
    qtype types[] = {QT_INT, QT_STRING};
    qschema sc = schema_of(&v, 2, types);
    qsort_key *k = sort_keys(&v, 1);
    k[0] = (qsort_key){x_col(&v, 0, QT_INT), true, true};
    size_t before = v.c.mem_used;
    qop *s = qop_sort(&v.c, qop_values(&v.c, &sc, bs, nb), k, 1, 1000);
    CHECK_INT(s->vt->open(s, &v.c), VG_OK);
    qbatch *out;
    uint32_t rows = 0;
    bool ok = true;
    while (s->vt->next(s, &v.c, &out) == VG_OK && out) {
        for (uint32_t r = 0; r < out->nrows; r++, rows++) {
            int64_t want = N - 1 - rows;
            qstr str = qvec_str(&out->cols[1], r);
            ok &= out->cols[0].v.i64[r] == want && str.len == 1000 + want % 3000 &&
                  memcmp(str.p, big, str.len) == 0;
        }
    }
    s->vt->close(s, &v.c);
    CHECK_INT(rows, 1000);
    CHECK(ok);
    /* Kept strings are ~2.5 MB; without reclaiming, every batch's 1000 winners
     * (~25 MB in all) would stay in the arena. */
    CHECK(v.c.mem_used - before < 16u << 20);
    env_destroy(&v);
}

static void test_sort_over_budget_fails_cleanly(void)
{
    env v;
    env_init(&v, 0);
    for (int i = 0; i < 100000; i++)
        add_row(&v, 100000 - i, "a", NULL, i, i, "some string");
    qsort_key *k = sort_keys(&v, 1);
    k[0] = (qsort_key){x_col(&v, 0, QT_TIMESTAMP), false, false};
    v.c.mem_budget = 4u << 20;
    result r = run(&v, qop_sort(&v.c, scan_all(&v), k, 1, 0), false);
    CHECK_INT(r.rc, VG_ENOMEM);
    CHECK(strstr(v.err.msg, "memory budget") != NULL);
    free(r.text);
    /* A top-K of 3 fits easily in the same budget, and returns the earliest rows. */
    env_new_query(&v);
    v.c.mem_budget = 4u << 20;
    k = sort_keys(&v, 1);
    k[0] = (qsort_key){x_col(&v, 0, QT_TIMESTAMP), false, false};
    static const uint32_t cols[] = {C_TIME, C_N};
    qscan_spec sp = scan_spec(&v, cols, 2);
    CHECK_RESULT(run(&v, qop_sort(&v.c, qop_scan(&v.c, &sp), k, 1, 3), false),
                 "1|99999\n2|99998\n3|99997");
    CHECK(v.c.mem_used < 3u << 20); /* scan scratch for one 65536-row chunk + 3 rows */
    env_destroy(&v);
}

static void test_sort_large_full(void)
{
    env v;
    env_init(&v, 0);
    /* Random timestamps across chunks: the radix path on 100k rows. */
    srand(99);
    for (int i = 0; i < 100000; i++)
        add_row(&v, ((int64_t)rand() << 20) - ((int64_t)1 << 40), i % 2 ? "a" : "b", NULL, i, NO_I,
                NULL);
    static const uint32_t cols[] = {C_TIME, C_V};
    qscan_spec sp = scan_spec(&v, cols, 2);
    qsort_key *k = sort_keys(&v, 1);
    k[0] = (qsort_key){x_col(&v, 0, QT_TIMESTAMP), true, false};
    qop *s = qop_sort(&v.c, qop_scan(&v.c, &sp), k, 1, 0);
    CHECK_INT(s->vt->open(s, &v.c), VG_OK);
    qbatch *b;
    int64_t prev = INT64_MAX;
    uint32_t rows = 0;
    bool ok = true;
    while (s->vt->next(s, &v.c, &b) == VG_OK && b) {
        for (uint32_t r = 0; r < b->nrows; r++) {
            ok &= b->cols[0].v.i64[r] <= prev;
            prev = b->cols[0].v.i64[r];
        }
        rows += b->nrows;
    }
    s->vt->close(s, &v.c);
    CHECK(ok);
    CHECK(rows > 99000); /* rand() collisions merge a few rows as duplicates */
    env_destroy(&v);
}

/* ORDER BY time LIMIT k through a filter and a projection: the scan gets the sort's
 * bound, reads chunks newest (or oldest) first and skips the rest; the result must
 * equal a full sort's, duplicates across chunks included. */
static void test_topk_time_bound_prunes_chunks(void)
{
    for (int heavy = 0; heavy < 2; heavy++) {
        env v;
        env_init(&v, 50);
        srand(7);
        const char *hosts[] = {"a", "b", "c"};
        for (int i = 0; i < 3000; i++) {
            /* In time order with rewrites of recent points (duplicates): light ones stay
             * near their chunk; heavy ones make every chunk overlap its neighbours, so
             * every row waits in the scan's pool and nothing can be skipped. */
            int64_t t = heavy ? (rand() % 10 ? i : i - rand() % 200)
                              : (rand() % 20 ? i / 3 : i / 3 - rand() % 8); /* ties at the bound */
            add_row(&v, t < 0 ? 0 : t, hosts[rand() % 3], NULL, rand() % 100, i, NULL);
        }
        for (int variant = 0; variant < 8; variant++) {
            bool desc = variant & 1;
            uint64_t limit = variant & 2 ? 7 : 300;
            bool dedup = !(variant & 4); /* without dedup, ties at the bound are not pooled */
            result got[2];
            for (int full = 0; full < 2; full++) {
                env_new_query(&v);
                static const uint32_t cols[] = {C_TIME, C_HOST, C_V, C_N};
                qscan_spec sp = scan_spec(&v, cols, 4);
                sp.dedup = dedup;
                qop *f =
                    qop_filter(&v.c, qop_scan(&v.c, &sp),
                               x_call(&v, ">", QT_BOOL, x_col(&v, 2, QT_FLOAT), x_float(&v, 10)));
                qexpr **ex = vg_arena_alloc(&v.arena, 4 * sizeof *ex);
                qtype types[] = {QT_INT, QT_TIMESTAMP, QT_STRING, QT_FLOAT};
                ex[0] = x_col(&v, 3, QT_INT);
                ex[1] = x_col(&v, 0, QT_TIMESTAMP);
                ex[2] = x_col(&v, 1, QT_STRING);
                ex[3] = x_col(&v, 2, QT_FLOAT);
                qschema sc = schema_of(&v, 4, types);
                qop *p = qop_project(&v.c, f, ex, &sc);
                /* (time, host) is unique after dedup; n makes the order total without
                 * it (ties would otherwise follow the scan's order, which is free). */
                qsort_key *k = sort_keys(&v, 3);
                k[0] = (qsort_key){x_col(&v, 1, QT_TIMESTAMP), desc, false};
                k[1] = (qsort_key){x_col(&v, 2, QT_STRING), false, false};
                k[2] = (qsort_key){x_col(&v, 0, QT_INT), false, false};
                qop *op = full ? qop_limit(&v.c, qop_sort(&v.c, p, k, 3, 0), limit, 0)
                               : qop_sort(&v.c, p, k, 3, limit);
                got[full] = run(&v, op, false);
                CHECK_INT(got[full].rc, VG_OK);
                if (full)
                    CHECK_INT(v.c.chunks_pruned, 0);
                else if (!heavy)
                    CHECK(v.c.chunks_pruned > v.c.chunks_total * 3 / 4);
            }
            CHECK_INT(got[0].nrows, limit);
            CHECK_STR(got[0].text, got[1].text);
            free(got[0].text);
            free(got[1].text);
        }
        env_destroy(&v);
    }
}

/* A chunk whose newest row only ties the bound's time must still be read: its row
 * may win on the next key. */
static void test_topk_time_bound_ties(void)
{
    env v;
    env_init(&v, 0);
    for (int t = 0; t < 10; t++)
        add_row(&v, t, "m", NULL, t, NO_I, NULL);
    add_row(&v, 10, "a", NULL, 10, NO_I, NULL);
    cut(&v);
    add_row(&v, 10, "z", NULL, 10, NO_I, NULL);
    for (int t = 11; t < 20; t++)
        add_row(&v, t, "m", NULL, t, NO_I, NULL);
    for (int dedup = 0; dedup < 2; dedup++) {
        env_new_query(&v);
        static const uint32_t cols[] = {C_TIME, C_HOST};
        qscan_spec sp = scan_spec(&v, cols, 2);
        sp.dedup = dedup;
        qsort_key *k = sort_keys(&v, 2);
        k[0] = (qsort_key){x_col(&v, 0, QT_TIMESTAMP), true, false};
        k[1] = (qsort_key){x_col(&v, 1, QT_STRING), false, false};
        CHECK_RESULT(run(&v, qop_sort(&v.c, qop_scan(&v.c, &sp), k, 2, 10), false),
                     "19|m\n18|m\n17|m\n16|m\n15|m\n14|m\n13|m\n12|m\n11|m\n10|a");
    }
    env_destroy(&v);
}

/* ---- limit, distinct, union ---- */

typedef struct counting {
    qop *inner;
    int nexts;
} counting;

static int cnt_open(qop *op, qctx *c)
{
    counting *s = op->state;
    return s->inner->vt->open(s->inner, c);
}

static int cnt_next(qop *op, qctx *c, qbatch **out)
{
    counting *s = op->state;
    s->nexts++;
    return s->inner->vt->next(s->inner, c, out);
}

static void cnt_close(qop *op, qctx *c)
{
    counting *s = op->state;
    s->inner->vt->close(s->inner, c);
}

static const qop_vt cnt_vt = {"Counting", cnt_open, cnt_next, cnt_close};

static void test_limit_offset(void)
{
    env v;
    env_init(&v, 0);
    CHECK_RESULT(run(&v, qop_limit(&v.c, int_values(&v, 20, 4, false), 5, 3), false),
                 "3|s0\n4|s1\n5|s2\n6|s0\n7|s1");
    CHECK_RESULT(run(&v, qop_limit(&v.c, int_values(&v, 20, 4, false), UINT64_MAX, 17), false),
                 "17|s2\n18|s0\n19|s1");
    CHECK_RESULT(run(&v, qop_limit(&v.c, int_values(&v, 20, 4, false), 0, 0), false), "");
    CHECK_RESULT(run(&v, qop_limit(&v.c, int_values(&v, 20, 4, false), 4, 8), false),
                 "8|s2\n9|s0\n10|s1\n11|s2");
    /* It stops pulling as soon as it has its rows. */
    counting cs = {.inner = int_values(&v, 100, 4, false)};
    qop cnt = {.vt = &cnt_vt, .schema = cs.inner->schema, .state = &cs};
    CHECK_RESULT(run(&v, qop_limit(&v.c, &cnt, 6, 1), false), "1|s1\n2|s2\n3|s0\n4|s1\n5|s2\n6|s0");
    CHECK_INT(cs.nexts, 2);
    env_destroy(&v);
}

static void test_distinct(void)
{
    env v;
    env_init(&v, 0);
    /* Column 1 alone: three values. */
    qexpr **ex = vg_arena_alloc(&v.arena, sizeof *ex);
    ex[0] = x_col(&v, 1, QT_STRING);
    qtype types[] = {QT_STRING};
    qschema sc = schema_of(&v, 1, types);
    CHECK_RESULT(run(&v,
                     qop_distinct(&v.c, qop_project(&v.c, int_values(&v, 50, 7, false), ex, &sc)),
                     false),
                 "s0\ns1\ns2");
    /* NULLs are equal to each other: (NULL) once. */
    ex = vg_arena_alloc(&v.arena, sizeof *ex);
    ex[0] = x_call(&v, "+", QT_INT, x_col(&v, 0, QT_INT), x_int(&v, 0));
    types[0] = QT_INT;
    sc = schema_of(&v, 1, types);
    qop *d = qop_distinct(&v.c, qop_project(&v.c, int_values(&v, 15, 4, true), ex, &sc));
    CHECK_RESULT(run(&v, d, false), "NULL\n1\n2\n3\n4\n5\n6\n8\n9\n10\n11\n12\n13");
    /* Tags from a scan across chunks (different dictionaries) and a field. */
    env_new_query(&v);
    for (int i = 0; i < 20; i++) {
        add_row(&v, i, i % 2 ? "a" : "b", NULL, i % 3 ? 1 : NO_F, NO_I, NULL);
        if (i % 6 == 5)
            cut(&v);
    }
    static const uint32_t cols[] = {C_HOST, C_V};
    qscan_spec sp = scan_spec(&v, cols, 2);
    CHECK_RESULT(run(&v, qop_distinct(&v.c, qop_scan(&v.c, &sp)), true),
                 "a|1\na|NULL\nb|1\nb|NULL");
    env_destroy(&v);
}

static void test_union_all(void)
{
    env v;
    env_init(&v, 0);
    qop **in = vg_arena_alloc(&v.arena, 3 * sizeof *in);
    in[0] = int_values(&v, 3, 2, false);
    in[1] = int_values(&v, 0, 2, false);
    in[2] = int_values(&v, 2, 2, true);
    CHECK_RESULT(run(&v, qop_union_all(&v.c, in, 3, &in[0]->schema), false),
                 "0|s0\n1|s1\n2|s2\nNULL|s0\n1|s1");
    env_destroy(&v);
}

static void test_deadline(void)
{
    env v;
    env_init(&v, 0);
    add_row(&v, 1, "a", NULL, 1, NO_I, NULL);
    v.c.deadline = 1; /* long past */
    result r = run(&v, scan_all(&v), false);
    CHECK_INT(r.rc, VG_ELIMIT);
    free(r.text);
    env_destroy(&v);
}

TEST_MAIN(test_scan_all_rows_and_types, test_scan_schema, test_scan_time_pruning,
          test_scan_tag_pruning, test_scan_missing_columns, test_scan_batches_are_slices,
          test_scan_residual_filter, test_dedup_within_chunk, test_dedup_across_chunks,
          test_dedup_tag_sets, test_dedup_flagged_chunks_only, test_dedup_off_and_out_of_order,
          test_dedup_random_against_reference, test_values_filter_project,
          test_filter_keeps_dictionary, test_aggregate_by_tag, test_aggregate_by_int_with_nulls,
          test_aggregate_two_keys, test_aggregate_empty_input, test_aggregate_many_groups,
          test_aggregate_selector_and_distinct, test_sort_random_against_reference,
          test_sort_nulls_and_direction, test_sort_strings_stable_and_computed_key,
          test_topk_equals_sort_then_limit, test_topk_reclaims_strings,
          test_sort_over_budget_fails_cleanly, test_sort_large_full,
          test_topk_time_bound_prunes_chunks, test_topk_time_bound_ties, test_limit_offset,
          test_distinct, test_union_all, test_deadline, test_aggregate_by_runs_exact)
