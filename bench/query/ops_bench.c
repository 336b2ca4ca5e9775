/*
 * ops_bench: micro-benchmark of the query operators over the write buffer, without
 * HTTP, parser or formatter: the engine's floor. Loads the IoT fleet table of
 * bench/query (1,000 devices in 10 sites, 10 float fields, one point every 10 s; row
 * i is device i % 1000 at step i / 1000) straight into a buffer, then times operator
 * trees built by hand, each the median of RUNS runs, and prints rows scanned per
 * second of CPU time (wall time is printed too, but on a shared machine it mostly
 * measures the neighbours).
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -g -Isrc bench/query/ops_bench.c \
 *      src/query/[a-z]*.c src/catalog/[a-z]*.c src/buffer/[a-z]*.c src/base/[a-z]*.c \
 *      -o build/ops_bench -ljansson -lxxhash -lpthread -lm
 *   build/ops_bench [rows (10000000)] [runs (5)]     ONLY=<n> runs query n alone
 */
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "query/exec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEVICES 1000
#define SITES 10
#define FIELDS 10
#define START_NS 1767225600000000000LL
#define STEP_NS 10000000000LL

typedef struct bench {
    catalog *cat;
    catalog_table *t;
    uint32_t db_id;
    buffer *buf;
    uint32_t col_device, col_site, col_f[FIELDS];
    uint64_t rows;
} bench;

static double field_value(uint64_t d, uint64_t t, uint64_t k)
{
    uint64_t x = (d * 7919 + t * 104729 + k * 1299709) % 1000003;
    uint64_t y = (x * 48271) % 2147483647;
    return (double)(y % 100000) / 100.0;
}

static void die(const char *what, const vg_err *e)
{
    fprintf(stderr, "ops_bench: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static void setup(bench *b, const char *dir)
{
    vg_err e;
    catalog_limits lim = {.max_databases = 10, .max_tables = 10, .max_columns_per_table = 100};
    if (catalog_open(dir, &lim, &b->cat, &e))
        die("catalog_open", &e);
    catalog_write_lock(b->cat);
    catalog_db *db;
    if (catalog_db_create(b->cat, "bench", 5, 0, &db, &e) ||
        catalog_table_create(b->cat, db, "fleet", 5, &b->t, &e))
        die("catalog", &e);
    catalog_column *col;
    if (catalog_column_add(b->cat, b->t, "device", 6, CATALOG_TAG, &col, &e))
        die("column", &e);
    b->col_device = col->id;
    if (catalog_column_add(b->cat, b->t, "site", 4, CATALOG_TAG, &col, &e))
        die("column", &e);
    b->col_site = col->id;
    for (int k = 0; k < FIELDS; k++) {
        char name[8];
        snprintf(name, sizeof name, "f%d", k);
        if (catalog_column_add(b->cat, b->t, name, strlen(name), CATALOG_FLOAT, &col, &e))
            die("column", &e);
        b->col_f[k] = col->id;
    }
    if (catalog_commit(b->cat, &e))
        die("commit", &e);
    catalog_write_unlock(b->cat);
    b->db_id = db->id;
    b->buf = buffer_new(NULL);
}

static void load(bench *b, uint64_t rows)
{
    char dev[DEVICES][8], site[SITES][4];
    for (int d = 0; d < DEVICES; d++)
        snprintf(dev[d], sizeof dev[d], "d%04d", d);
    for (int s = 0; s < SITES; s++)
        snprintf(site[s], sizeof site[s], "s%d", s);
    buffer_value vals[2 + FIELDS];
    vg_err e;
    for (uint64_t i = 0; i < rows; i++) {
        uint64_t d = i % DEVICES, t = i / DEVICES;
        vals[0] = (buffer_value){.col = b->col_device, .type = CATALOG_TAG, .v.s = {dev[d], 5}};
        vals[1] =
            (buffer_value){.col = b->col_site, .type = CATALOG_TAG, .v.s = {site[d % SITES], 2}};
        for (int k = 0; k < FIELDS; k++)
            vals[2 + k] = (buffer_value){
                .col = b->col_f[k], .type = CATALOG_FLOAT, .v.f = field_value(d, t, (uint64_t)k)};
        if (buffer_append(b->buf, b->db_id, b->t->id, b->t->ncols, START_NS + (int64_t)t * STEP_NS,
                          vals, 2 + FIELDS, i + 1, &e))
            die("append", &e);
    }
    b->rows = rows;
}

/* ---- one query run ---- */

typedef struct run_ctx {
    vg_arena arena;
    vg_err err;
    qctx c;
} run_ctx;

static void ctx_init(bench *b, run_ctx *r)
{
    vg_arena_init(&r->arena, 0);
    vg_err_clear(&r->err);
    r->c = (qctx){.arena = &r->arena, .err = &r->err, .cat = b->cat, .buf = b->buf};
}

static qexpr *col_ref(run_ctx *r, uint32_t i, qtype t)
{
    qexpr *x = vg_arena_calloc(&r->arena, sizeof *x);
    x->kind = QX_COLUMN;
    x->col = i;
    x->type = t;
    return x;
}

static qagg_call agg(run_ctx *r, const char *name, qexpr *arg)
{
    qagg_call a = {.agg = qagg_find(name)};
    if (!a.agg)
        die(name, NULL);
    qtype types[1] = {arg ? arg->type : QT_NULL};
    if (arg) {
        a.args = vg_arena_alloc(&r->arena, sizeof *a.args);
        a.args[0] = arg;
        a.nargs = 1;
    }
    vg_err e;
    if (a.agg->resolve(types, a.nargs, false, &a.ret, &e))
        die("resolve", &e);
    return a;
}

static qschema schema(run_ctx *r, uint32_t n)
{
    qschema s = {.n = n, .f = vg_arena_calloc(&r->arena, n * sizeof(qfield))};
    for (uint32_t i = 0; i < n; i++)
        s.f[i] = (qfield){.name = "c", .type = QT_FLOAT, .nullable = true};
    return s;
}

static qscan_spec spec(bench *b, run_ctx *r, const uint32_t *cols, uint32_t n)
{
    uint32_t *c = vg_arena_alloc(&r->arena, n * sizeof *c);
    memcpy(c, cols, n * sizeof *c);
    return (qscan_spec){.db_id = b->db_id,
                        .table_id = b->t->id,
                        .table = b->t,
                        .cols = c,
                        .ncols = n,
                        .time_min = INT64_MIN,
                        .time_max = INT64_MAX,
                        .dedup = true};
}

typedef enum query_kind {
    Q_COUNT,         /* SELECT count(*) */
    Q_SITE_PUSHDOWN, /* WHERE site = 's3' GROUP BY device: avg(f0), max(f1); tag_eq */
    Q_SITE_FILTER,   /* the same with the predicate as a residual filter */
    Q_ALL_DEVICES,   /* GROUP BY device: avg(f0), max(f1) over every row */
    Q_ALL_NODEDUP,   /* the same, dedup = false (what dedup costs) */
    Q_BY_TIME,       /* GROUP BY time: avg(f0) (int64 keys, 10,000 groups) */
    Q_TOP10,         /* ORDER BY time DESC LIMIT 10 (top-K), 3 columns */
    Q_HOUR_DEVICE,   /* time in the last hour, GROUP BY device: avg/max (pruning) */
} query_kind;

static const char *query_names[] = {
    "count(*)",
    "site = 's3' (pushed down), avg/max by device",
    "site = 's3' (residual filter), avg/max by device",
    "avg/max by device, all rows",
    "avg/max by device, all rows, no dedup",
    "avg by time (10,000 int64 groups)",
    "ORDER BY time DESC LIMIT 10",
    "last hour, avg/max by device",
};

static qop *build(bench *b, run_ctx *r, query_kind q)
{
    qctx *c = &r->c;
    uint32_t cols[] = {0, b->col_device, b->col_site, b->col_f[0], b->col_f[1]};
    qscan_spec sp = spec(b, r, cols, 5);
    qagg_call *aggs = vg_arena_alloc(&r->arena, 2 * sizeof *aggs);
    qexpr **g = vg_arena_alloc(&r->arena, sizeof *g);
    g[0] = col_ref(r, 1, QT_STRING);
    aggs[0] = agg(r, "avg", col_ref(r, 3, QT_FLOAT));
    aggs[1] = agg(r, "max", col_ref(r, 4, QT_FLOAT));
    qschema s3 = schema(r, 3);
    switch (q) {
    case Q_COUNT: {
        sp = spec(b, r, cols, 1);
        aggs[0] = agg(r, "count", NULL);
        qschema s1 = schema(r, 1);
        return qop_aggregate(c, qop_scan(c, &sp), NULL, 0, aggs, 1, &s1);
    }
    case Q_SITE_PUSHDOWN: {
        qstr *v = vg_arena_alloc(&r->arena, sizeof *v);
        *v = (qstr){"s3", 2};
        qscan_tag_eq *te = vg_arena_alloc(&r->arena, sizeof *te);
        *te = (qscan_tag_eq){.col_id = b->col_site, .values = v, .nvalues = 1};
        sp.tag_eq = te;
        sp.ntag_eq = 1;
        return qop_aggregate(c, qop_scan(c, &sp), g, 1, aggs, 2, &s3);
    }
    case Q_SITE_FILTER: {
        qexpr *lit = vg_arena_calloc(&r->arena, sizeof *lit);
        lit->kind = QX_LITERAL;
        lit->type = lit->lit.type = QT_STRING;
        lit->lit.v.s = (qstr){"s3", 2};
        qexpr *eq = vg_arena_calloc(&r->arena, sizeof *eq);
        eq->kind = QX_CALL;
        eq->type = QT_BOOL;
        eq->fn = qfunc_find("=");
        eq->args = vg_arena_alloc(&r->arena, 2 * sizeof *eq->args);
        eq->args[0] = col_ref(r, 2, QT_STRING);
        eq->args[1] = lit;
        eq->nargs = 2;
        sp.filter = eq;
        return qop_aggregate(c, qop_scan(c, &sp), g, 1, aggs, 2, &s3);
    }
    case Q_ALL_NODEDUP:
        sp.dedup = false;
        return qop_aggregate(c, qop_scan(c, &sp), g, 1, aggs, 2, &s3);
    case Q_ALL_DEVICES: return qop_aggregate(c, qop_scan(c, &sp), g, 1, aggs, 2, &s3);
    case Q_BY_TIME: {
        g[0] = col_ref(r, 0, QT_TIMESTAMP);
        qschema s2 = schema(r, 2);
        return qop_aggregate(c, qop_scan(c, &sp), g, 1, aggs, 1, &s2);
    }
    case Q_TOP10: {
        qsort_key *k = vg_arena_calloc(&r->arena, sizeof *k);
        *k = (qsort_key){col_ref(r, 0, QT_TIMESTAMP), true, true};
        uint32_t c3[] = {0, b->col_device, b->col_f[0]};
        sp = spec(b, r, c3, 3);
        return qop_sort(c, qop_scan(c, &sp), k, 1, 10);
    }
    case Q_HOUR_DEVICE: {
        int64_t last = START_NS + (int64_t)((b->rows - 1) / DEVICES) * STEP_NS;
        sp.time_min = last - 3600 * 1000000000LL;
        return qop_aggregate(c, qop_scan(c, &sp), g, 1, aggs, 2, &s3);
    }
    }
    return NULL;
}

/* CPU time of this thread: on a shared machine it varies far less than wall time. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t run_once(bench *b, query_kind q, uint64_t *out_rows, uint64_t *scanned, size_t *mem,
                        int64_t *cpu)
{
    run_ctx r;
    ctx_init(b, &r);
    int64_t c0 = cpu_ns();
    int64_t t0 = vg_mono_ns();
    qop *op = build(b, &r, q);
    if (!op)
        die("build", &r.err);
    int rc = op->vt->open(op, &r.c);
    *out_rows = 0;
    while (rc == VG_OK) {
        qbatch *batch;
        rc = op->vt->next(op, &r.c, &batch);
        if (rc != VG_OK || !batch)
            break;
        *out_rows += batch->nrows;
    }
    op->vt->close(op, &r.c);
    int64_t dt = vg_mono_ns() - t0;
    *cpu = cpu_ns() - c0;
    if (rc != VG_OK)
        die(query_names[q], &r.err);
    *scanned = r.c.rows_scanned;
    *mem = r.c.mem_used;
    vg_arena_free(&r.arena);
    return dt;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    char dir[] = "/tmp/vigil-ops-bench-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    bench b = {0};
    setup(&b, dir);
    int64_t t0 = vg_mono_ns();
    load(&b, rows);
    double load_s = (double)(vg_mono_ns() - t0) / 1e9;
    printf("loaded %llu rows into the buffer in %.2f s (%.1f M rows/s), buffer %.0f MB\n",
           (unsigned long long)rows, load_s, (double)rows / load_s / 1e6,
           (double)buffer_mem_bytes(b.buf) / 1e6);
    printf("%-50s %9s %9s %12s %9s %9s\n", "query", "wall ms", "cpu ms", "M rows/s cpu", "out rows",
           "query MB");
    const char *only = getenv("ONLY"); /* one query by number, for profiling */
    for (int q = 0; q <= Q_HOUR_DEVICE; q++) {
        if (only && atoi(only) != q)
            continue;
        int64_t t[64], cpu[64];
        uint64_t out = 0, scanned = 0;
        size_t mem = 0;
        if (runs > 64)
            runs = 64;
        run_once(&b, (query_kind)q, &out, &scanned, &mem, &cpu[0]); /* warm-up */
        for (int i = 0; i < runs; i++)
            t[i] = run_once(&b, (query_kind)q, &out, &scanned, &mem, &cpu[i]);
        qsort(t, (size_t)runs, sizeof t[0], cmp_i64);
        qsort(cpu, (size_t)runs, sizeof cpu[0], cmp_i64);
        double ms = (double)t[runs / 2] / 1e6, cms = (double)cpu[runs / 2] / 1e6;
        printf("%-50s %9.1f %9.1f %12.1f %9llu %9.1f\n", query_names[q], ms, cms,
               (double)scanned / (cms / 1e3) / 1e6, (unsigned long long)out, (double)mem / 1e6);
    }
    buffer_free(b.buf);
    catalog_close(b.cat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "ops_bench: could not remove %s\n", dir);
    return 0;
}
