/* tests/unit/test_query_ext.c: what the query module offers modules above it (the
 * processing engine): QUERY_FORMAT_ROWS (typed binary rows: every type kept, NULLs,
 * strings with any bytes), system tables registered from outside (schema, rows,
 * filters and aggregates over them, listing in information_schema, the fill function
 * seeing the query's database, errors), and the `_internal` pseudo-database. */
#include "query/query.h"
#include "test.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct env {
    char *dir;
    catalog *cat;
    buffer *buf;
    query_engine *q;
} env;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

/* plant.pump: unit (tag), temp (float), n (int), ok (bool), note (string). */
static void env_open(env *v)
{
    vg_err e;
    memset(v, 0, sizeof *v);
    v->dir = strdup("/tmp/vigil-qext-XXXXXX");
    if (!mkdtemp(v->dir) || catalog_open(v->dir, NULL, &v->cat, &e) != VG_OK)
        abort();
    catalog_db *db;
    catalog_table *t;
    catalog_column *col;
    catalog_write_lock(v->cat);
    if (catalog_db_create(v->cat, "plant", 5, 0, &db, &e) != VG_OK ||
        catalog_table_create(v->cat, db, "pump", 4, &t, &e) != VG_OK ||
        catalog_column_add(v->cat, t, "unit", 4, CATALOG_TAG, &col, &e) != VG_OK ||
        catalog_column_add(v->cat, t, "temp", 4, CATALOG_FLOAT, &col, &e) != VG_OK ||
        catalog_column_add(v->cat, t, "n", 1, CATALOG_INT, &col, &e) != VG_OK ||
        catalog_column_add(v->cat, t, "ok", 2, CATALOG_BOOL, &col, &e) != VG_OK ||
        catalog_column_add(v->cat, t, "note", 4, CATALOG_STRING, &col, &e) != VG_OK ||
        catalog_commit(v->cat, &e) != VG_OK)
        abort();
    catalog_write_unlock(v->cat);
    v->buf = buffer_new(NULL);
    buffer_value r1[] = {{1, CATALOG_TAG, .v.s = {"7", 1}},
                         {2, CATALOG_FLOAT, .v.f = 61.5},
                         {3, CATALOG_INT, .v.i = -3},
                         {4, CATALOG_BOOL, .v.b = true},
                         {5, CATALOG_STRING, .v.s = {"a\0b", 3}}};
    buffer_value r2[] = {{1, CATALOG_TAG, .v.s = {"8", 1}}, {2, CATALOG_FLOAT, .v.f = 2.0}};
    if (buffer_append(v->buf, db->id, t->id, t->ncols, 1000, r1, 5, 1, &e) != VG_OK ||
        buffer_append(v->buf, db->id, t->id, t->ncols, 2000, r2, 2, 1, &e) != VG_OK ||
        query_engine_new(v->cat, v->buf, NULL, &v->q, &e) != VG_OK)
        abort();
}

static void env_close(env *v)
{
    query_engine_free(v->q);
    buffer_free(v->buf);
    catalog_close(v->cat);
    nftw(v->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(v->dir);
}

static int collect(void *ctx, const char *d, size_t n)
{
    vg_buf_append(ctx, d, n);
    return 0;
}

static int run(env *v, const char *db, const char *sql, query_format f, vg_buf *out, vg_err *e)
{
    vg_buf_reset(out);
    query_request req = {.db = db, .sql = sql, .sql_len = strlen(sql), .format = f};
    query_outcome oc;
    return query_run(v->q, &req, collect, out, &oc, e);
}

/* ---- QUERY_FORMAT_ROWS ---- */

typedef struct rd {
    const char *p;
    size_t n;
} rd;

static uint8_t u8(rd *r)
{
    uint8_t v = (uint8_t)r->p[0];
    r->p++, r->n--;
    return v;
}

static uint32_t u32(rd *r)
{
    uint32_t v;
    memcpy(&v, r->p, 4);
    r->p += 4, r->n -= 4;
    return v;
}

static uint64_t u64(rd *r)
{
    uint64_t v;
    memcpy(&v, r->p, 8);
    r->p += 8, r->n -= 8;
    return v;
}

static void test_rows_format(void)
{
    env v;
    env_open(&v);
    vg_buf out;
    vg_buf_init(&out);
    vg_err e;
    CHECK_INT(run(&v, "plant", "SELECT time, unit, temp, n, ok, note FROM pump ORDER BY time",
                  QUERY_FORMAT_ROWS, &out, &e),
              VG_OK);
    rd r = {out.data, out.len};
    CHECK_INT(u32(&r), 6);
    static const struct {
        query_rows_type t;
        const char *name;
    } cols[] = {{QUERY_ROWS_TIMESTAMP, "time"}, {QUERY_ROWS_STRING, "unit"},
                {QUERY_ROWS_FLOAT, "temp"},     {QUERY_ROWS_INT, "n"},
                {QUERY_ROWS_BOOL, "ok"},        {QUERY_ROWS_STRING, "note"}};
    for (int i = 0; i < 6; i++) {
        CHECK_INT(u8(&r), cols[i].t);
        uint32_t n = u32(&r);
        CHECK_MEM(r.p, n, cols[i].name);
        r.p += n, r.n -= n;
    }
    /* row 1: every value present */
    CHECK_INT(u8(&r), 1);
    CHECK_INT((int64_t)u64(&r), 1000);
    CHECK_INT(u8(&r), 1);
    CHECK_INT(u32(&r), 1);
    CHECK(r.p[0] == '7');
    r.p++, r.n--;
    CHECK_INT(u8(&r), 1);
    uint64_t bits = u64(&r);
    double d;
    memcpy(&d, &bits, 8);
    CHECK(d == 61.5);
    CHECK_INT(u8(&r), 1);
    CHECK_INT((int64_t)u64(&r), -3);
    CHECK_INT(u8(&r), 1);
    CHECK_INT(u8(&r), 1);
    CHECK_INT(u8(&r), 1);
    CHECK_INT(u32(&r), 3);
    CHECK(memcmp(r.p, "a\0b", 3) == 0);
    r.p += 3, r.n -= 3;
    /* row 2: n, ok and note are NULL */
    CHECK_INT(u8(&r), 1);
    CHECK_INT((int64_t)u64(&r), 2000);
    CHECK_INT(u8(&r), 1);
    CHECK_INT(u32(&r), 1);
    r.p++, r.n--;
    CHECK_INT(u8(&r), 1);
    u64(&r);
    CHECK_INT(u8(&r), 0);
    CHECK_INT(u8(&r), 0);
    CHECK_INT(u8(&r), 0);
    CHECK_INT(r.n, 0);
    vg_buf_free(&out);
    env_close(&v);
}

/* ---- registered system tables ---- */

static const query_sys_column cols[] = {
    {"name", QUERY_ROWS_STRING, false},    {"size", QUERY_ROWS_INT, false},
    {"when", QUERY_ROWS_TIMESTAMP, false}, {"flag", QUERY_ROWS_BOOL, false},
    {"note", QUERY_ROWS_STRING, true},
};

static char seen_db[64];

static int fill(void *ctx, const char *db, query_sys_sink *sink)
{
    snprintf(seen_db, sizeof seen_db, "%s", db ? db : "(none)");
    int *calls = ctx;
    (*calls)++;
    char tmp[16];
    for (int i = 0; i < 3; i++) {
        snprintf(tmp, sizeof tmp, "item%d", i); /* the sink copies: tmp is reused */
        query_sys_cell c[5] = {{.v.s = tmp},
                               {.v.i = i * 10},
                               {.v.i = 1000000000LL * i},
                               {.v.b = i == 1},
                               {.null = i != 2, .v.s = "x"}};
        if (query_sys_add_row(sink, c) != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

static void test_system_tables(void)
{
    env v;
    env_open(&v);
    vg_err e;
    int calls = 0;
    CHECK_INT(query_register_system_table(v.q, "things", cols, 5, fill, &calls, &e), VG_OK);
    CHECK_INT(query_register_system_table(v.q, "things", cols, 5, fill, &calls, &e), VG_EEXISTS);
    CHECK_INT(query_register_system_table(v.q, "queries", cols, 5, fill, &calls, &e), VG_EEXISTS);
    vg_buf out;
    vg_buf_init(&out);
    CHECK_INT(run(&v, "plant", "SELECT * FROM system.things", QUERY_FORMAT_JSONL, &out, &e), VG_OK);
    CHECK_STR(out.data,
              "{\"name\":\"item0\",\"size\":0,\"when\":\"1970-01-01T00:00:00\",\"flag\":false}\n"
              "{\"name\":\"item1\",\"size\":10,\"when\":\"1970-01-01T00:00:01\",\"flag\":true}\n"
              "{\"name\":\"item2\",\"size\":20,\"when\":\"1970-01-01T00:00:02\",\"flag\":false,"
              "\"note\":\"x\"}\n");
    CHECK_STR(seen_db, "plant");
    CHECK_INT(run(&v, "plant", "SELECT sum(size) AS s FROM system.things WHERE flag = false",
                  QUERY_FORMAT_CSV, &out, &e),
              VG_OK);
    CHECK_STR(out.data, "s\n20\n");
    CHECK_INT(run(&v, "plant",
                  "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                  "'system' ORDER BY table_name",
                  QUERY_FORMAT_CSV, &out, &e),
              VG_OK);
    CHECK_STR(out.data, "table_name\nparquet_files\nqueries\nthings\n");
    CHECK_INT(run(&v, "plant", "SELECT * FROM system.thing", QUERY_FORMAT_CSV, &out, &e),
              VG_ENOTFOUND);
    CHECK(strstr(e.msg, "table 'system.thing' not found") != NULL);
    CHECK(strstr(e.msg, "system.things") != NULL); /* the suggestion */
    /* `_internal`: system tables without a user database. */
    CHECK_INT(
        run(&v, "_internal", "SELECT count(*) AS n FROM system.things", QUERY_FORMAT_CSV, &out, &e),
        VG_OK);
    CHECK_STR(out.data, "n\n3\n");
    CHECK_STR(seen_db, "(none)");
    CHECK_INT(run(&v, "nope", "SELECT 1", QUERY_FORMAT_CSV, &out, &e), VG_ENOTFOUND);
    CHECK_INT(calls, 3);
    vg_buf_free(&out);
    env_close(&v);
}

TEST_MAIN(test_rows_format, test_system_tables)
