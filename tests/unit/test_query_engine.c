/* tests/unit/test_query_engine.c: the query engine's public API (query/query.c) over a
 * real catalog and write buffer: formats and content types, query_run and pull-style
 * reads in tiny pieces, Parquet output read back, the error kinds callers turn into
 * HTTP statuses, the memory budget and timeout, and system.queries (finished, failed,
 * cancelled, the ring). */
#include "parquet/parquet.h"
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

/* plant.pump: time, unit (tag), temp (float), note (string); three rows. */
static void env_open(env *v, const query_options *opt)
{
    vg_err e;
    memset(v, 0, sizeof *v);
    v->dir = strdup("/tmp/vigil-qengine-XXXXXX");
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
        catalog_column_add(v->cat, t, "note", 4, CATALOG_STRING, &col, &e) != VG_OK ||
        catalog_commit(v->cat, &e) != VG_OK)
        abort();
    catalog_write_unlock(v->cat);
    v->buf = buffer_new(NULL);
    static const struct {
        const char *unit;
        double temp;
        const char *note;
        int64_t time;
    } rows[] = {{"7", 61.5, "ok", 1767806931000000000},
                {"8", 2.0, NULL, 1767806931500000000},
                {"7", 0.1, "a \"b\"\n", 155}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        buffer_value vals[3];
        uint32_t n = 0;
        vals[n++] = (buffer_value){1, CATALOG_TAG, .v.s = {rows[i].unit, 1}};
        vals[n++] = (buffer_value){2, CATALOG_FLOAT, .v.f = rows[i].temp};
        if (rows[i].note)
            vals[n++] = (buffer_value){3, CATALOG_STRING,
                                       .v.s = {rows[i].note, (uint32_t)strlen(rows[i].note)}};
        if (buffer_append(v->buf, db->id, t->id, t->ncols, rows[i].time, vals, n, 1, &e) != VG_OK)
            abort();
    }
    if (query_engine_new(v->cat, v->buf, opt, &v->q, &e) != VG_OK)
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

/* ---- running queries ---- */

typedef struct sink {
    vg_buf out;
    int writes;
    int fail_at; /* the write that returns non-zero (0 = never) */
} sink;

static int sink_write(void *ctx, const char *data, size_t len)
{
    sink *s = ctx;
    s->writes++;
    if (s->fail_at && s->writes >= s->fail_at)
        return 1;
    vg_buf_append(&s->out, data, len);
    return 0;
}

typedef struct result {
    int rc;
    query_outcome oc;
    vg_err e;
    char *text; /* output, malloc'd */
} result;

static result run(env *v, const char *sql, query_format fmt)
{
    result r = {0};
    sink s = {0};
    vg_buf_init(&s.out);
    query_request req = {.db = "plant", .sql = sql, .sql_len = strlen(sql), .format = fmt};
    r.rc = query_run(v->q, &req, sink_write, &s, &r.oc, &r.e);
    r.text = strdup(s.out.data ? s.out.data : "");
    vg_buf_free(&s.out);
    return r;
}

#define CHECK_OUTPUT(v, sql, fmt, expected)                                                        \
    do {                                                                                           \
        result r_ = run((v), (sql), (fmt));                                                        \
        CHECK_INT(r_.rc, VG_OK);                                                                   \
        CHECK_STR(r_.rc == VG_OK ? r_.text : r_.e.msg, (expected));                                \
        free(r_.text);                                                                             \
    } while (0)

static void test_formats_and_content_types(void)
{
    static const struct {
        const char *name;
        query_format f;
        const char *ctype;
    } ok[] = {
        {"json", QUERY_FORMAT_JSON, "application/json"},
        {"jsonl", QUERY_FORMAT_JSONL, "application/jsonl"},
        {"json_lines", QUERY_FORMAT_JSONL, "application/jsonl"},
        {"csv", QUERY_FORMAT_CSV, "text/csv"},
        {"pretty", QUERY_FORMAT_PRETTY, "text/plain; charset=utf-8"},
        {"parquet", QUERY_FORMAT_PARQUET, "application/vnd.apache.parquet"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        query_format f = QUERY_FORMAT_JSON;
        vg_err e = {0};
        CHECK_INT(query_parse_format(ok[i].name, &f, &e), VG_OK);
        CHECK_INT(f, ok[i].f);
        CHECK_STR(query_format_content_type(f), ok[i].ctype);
    }
    query_format f;
    vg_err e = {0};
    CHECK_INT(query_parse_format("JSON", &f, &e), VG_EINVAL);
    CHECK_STR(e.msg, "unknown format 'JSON': expected one of json, jsonl, json_lines, csv, "
                     "pretty, parquet");
}

static const char *const SQL = "SELECT unit, time, temp, note FROM pump ORDER BY time";

static void test_every_format(void)
{
    env v;
    env_open(&v, NULL);
    CHECK_OUTPUT(&v, SQL, QUERY_FORMAT_JSON,
                 "[{\"unit\":\"7\",\"time\":\"1970-01-01T00:00:00.000000155\",\"temp\":0.1,"
                 "\"note\":\"a \\\"b\\\"\\n\"},"
                 "{\"unit\":\"7\",\"time\":\"2026-01-07T17:28:51\",\"temp\":61.5,\"note\":\"ok\"},"
                 "{\"unit\":\"8\",\"time\":\"2026-01-07T17:28:51.500\",\"temp\":2.0}]");
    CHECK_OUTPUT(&v, SQL, QUERY_FORMAT_JSONL,
                 "{\"unit\":\"7\",\"time\":\"1970-01-01T00:00:00.000000155\",\"temp\":0.1,"
                 "\"note\":\"a \\\"b\\\"\\n\"}\n"
                 "{\"unit\":\"7\",\"time\":\"2026-01-07T17:28:51\",\"temp\":61.5,\"note\":\"ok\"}\n"
                 "{\"unit\":\"8\",\"time\":\"2026-01-07T17:28:51.500\",\"temp\":2.0}\n");
    CHECK_OUTPUT(&v, SQL, QUERY_FORMAT_CSV,
                 "unit,time,temp,note\n"
                 "7,1970-01-01T00:00:00.000000155,0.1,\"a \"\"b\"\"\n\"\n"
                 "7,2026-01-07T17:28:51,61.5,ok\n"
                 "8,2026-01-07T17:28:51.500,2.0,\n");
    CHECK_OUTPUT(&v, "SELECT unit, temp FROM pump ORDER BY time", QUERY_FORMAT_PRETTY,
                 "+------+------+\n"
                 "| unit | temp |\n"
                 "+------+------+\n"
                 "| 7    | 0.1  |\n"
                 "| 7    | 61.5 |\n"
                 "| 8    | 2.0  |\n"
                 "+------+------+\n");
    CHECK_OUTPUT(&v, "SELECT unit FROM pump WHERE temp > 100", QUERY_FORMAT_JSON, "[]");
    CHECK_OUTPUT(&v, "SELECT unit FROM pump WHERE temp > 100", QUERY_FORMAT_JSONL, "");
    env_close(&v);
}

/* Pull-style reads in pieces far smaller than a row give the same bytes. */
static void test_read_in_pieces(void)
{
    env v;
    env_open(&v, NULL);
    query_request req = {.db = "plant", .sql = SQL, .sql_len = strlen(SQL)};
    query_cursor *cur;
    query_outcome oc;
    vg_err e = {0};
    CHECK_INT(query_open(v.q, &req, &cur, &oc, &e), VG_OK);
    vg_buf out;
    vg_buf_init(&out);
    char piece[7];
    long n;
    int calls = 0;
    while ((n = query_read(cur, piece, sizeof piece, &e)) > 0) {
        CHECK(n <= (long)sizeof piece);
        vg_buf_append(&out, piece, (size_t)n);
        calls++;
    }
    CHECK_INT(n, 0);
    CHECK(calls > 20);
    CHECK_INT(query_read(cur, piece, sizeof piece, &e), 0); /* stays at the end */
    query_close(cur, &oc);
    CHECK_INT(oc.kind, QUERY_ERR_NONE);
    CHECK(oc.started);
    CHECK_INT(oc.rows, 3);
    result r = run(&v, SQL, QUERY_FORMAT_JSON);
    CHECK_STR(out.data, r.text);
    free(r.text);
    vg_buf_free(&out);
    env_close(&v);
}

static void check_error(env *v, const char *db, const char *sql, query_error_kind kind,
                        const char *msg_prefix)
{
    query_request req = {.db = db, .sql = sql, .sql_len = strlen(sql), .format = QUERY_FORMAT_JSON};
    query_cursor *cur = (query_cursor *)1;
    query_outcome oc;
    vg_err e = {0};
    int rc = query_open(v->q, &req, &cur, &oc, &e);
    CHECK(rc != VG_OK);
    CHECK(cur == NULL);
    CHECK_INT(oc.kind, kind);
    CHECK(!oc.started);
    if (strncmp(e.msg, msg_prefix, strlen(msg_prefix)) != 0) {
        printf("FAIL %s: '%s': error \"%s\", expected it to start with \"%s\"\n", test_current_name,
               sql, e.msg, msg_prefix);
        test_failures_in_current++;
    }
}

static void test_error_kinds(void)
{
    env v;
    env_open(&v, NULL);
    check_error(&v, "nope", "SELECT 1", QUERY_ERR_DB_NOT_FOUND,
                "query error: database not found: nope");
    check_error(&v, "plant", "SELECT unit FROM", QUERY_ERR_USER,
                "SQL syntax error at line 1, column ");
    check_error(&v, "plant", "SELECT unit FROM pumps", QUERY_ERR_USER, "table 'pumps' not found");
    check_error(&v, "plant", "SELECT nope FROM pump", QUERY_ERR_USER, "");
    check_error(&v, "plant", "DELETE FROM pump", QUERY_ERR_INTERNAL,
                "DELETE needs the persistence layer");
    check_error(&v, "plant", "DELETE FROM pump WHERE unit = 'a' OR unit = 'b'", QUERY_ERR_USER,
                "DELETE supports only time ranges and tag equality, found OR at line 1, "
                "column 35");
    env_close(&v);
}

/* Parquet through the cursor, read in the smallest pieces: the bytes are query_run's,
 * and our reader finds the rows; a type Parquet cannot hold fails in query_open. */
static void test_parquet(void)
{
    env v;
    env_open(&v, NULL);
    query_request req = {
        .db = "plant", .sql = SQL, .sql_len = strlen(SQL), .format = QUERY_FORMAT_PARQUET};
    query_cursor *cur;
    query_outcome oc;
    vg_err e = {0};
    CHECK_INT(query_open(v.q, &req, &cur, &oc, &e), VG_OK);
    vg_buf out;
    vg_buf_init(&out);
    char piece[4096];
    long n;
    while ((n = query_read(cur, piece, sizeof piece, &e)) > 0)
        vg_buf_append(&out, piece, (size_t)n);
    CHECK_INT(n, 0);
    query_close(cur, &oc);
    CHECK_INT(oc.rows, 3);
    sink s = {0};
    vg_buf_init(&s.out);
    CHECK_INT(query_run(v.q, &req, sink_write, &s, &oc, &e), VG_OK);
    CHECK(s.out.len == out.len && memcmp(s.out.data, out.data, out.len) == 0);
    vg_buf_free(&s.out);
    parquet_file *pf;
    CHECK_INT(parquet_open_mem(&pf, out.data, out.len, NULL, &e), VG_OK);
    const parquet_meta *m = parquet_file_meta(pf);
    CHECK_INT(m->ncols, 4);
    CHECK_INT(m->num_rows, 3);
    CHECK(m->cols[0].tag && !m->cols[2].tag);
    vg_arena a;
    vg_arena_init(&a, 0);
    parquet_column_out unit, time, temp, note;
    CHECK_INT(parquet_read_column(pf, 0, 0, &a, &unit, &e), VG_OK);
    CHECK_INT(parquet_read_column(pf, 0, 1, &a, &time, &e), VG_OK);
    CHECK_INT(parquet_read_column(pf, 0, 2, &a, &temp, &e), VG_OK);
    CHECK_INT(parquet_read_column(pf, 0, 3, &a, &note, &e), VG_OK);
    CHECK_MEM(unit.v.s[0].ptr, unit.v.s[0].len, "7");
    CHECK_MEM(unit.v.s[2].ptr, unit.v.s[2].len, "8");
    CHECK(time.v.i64[0] == 155 && time.v.i64[2] == 1767806931500000000);
    CHECK(temp.v.f64[0] == 0.1 && temp.v.f64[1] == 61.5 && temp.v.f64[2] == 2.0);
    CHECK_MEM(note.v.s[0].ptr, note.v.s[0].len, "a \"b\"\n");
    CHECK(note.valid && !(note.valid[0] & 4)); /* row 2 has no note */
    vg_arena_free(&a);
    parquet_close(pf);
    vg_buf_free(&out);
    const char *bad = "SELECT unit, INTERVAL '1 hour' AS d FROM pump";
    req.sql = bad;
    req.sql_len = strlen(bad);
    CHECK(query_open(v.q, &req, &cur, &oc, &e) == VG_EINVAL);
    CHECK(cur == NULL && oc.kind == QUERY_ERR_USER && !oc.started);
    CHECK_STR(e.msg, "format 'parquet' cannot hold column 'd' of type Interval(MonthDayNano): "
                     "cast it to BIGINT (nanoseconds) or VARCHAR, or use another format");
    env_close(&v);
}

static void test_memory_budget_and_timeout(void)
{
    env v;
    env_open(&v, &(query_options){.mem_budget_bytes = 1024});
    check_error(&v, "plant", SQL, QUERY_ERR_RESOURCES,
                "query exceeded its memory budget of 1024 bytes (--exec-mem-pool-bytes)");
    env_close(&v);
    /* Pretty output is built before query_open returns: the deadline is checked per
     * batch there even when no operator checks it. */
    env_open(&v, &(query_options){.timeout_ns = 1});
    query_request req = {
        .db = "plant", .sql = SQL, .sql_len = strlen(SQL), .format = QUERY_FORMAT_PRETTY};
    query_cursor *cur;
    query_outcome oc;
    vg_err e = {0};
    CHECK(query_open(v.q, &req, &cur, &oc, &e) != VG_OK);
    CHECK_INT(oc.kind, QUERY_ERR_RESOURCES);
    CHECK_STR(e.msg, "query timed out after 1ns (--query-timeout)");
    env_close(&v);
}

static void test_query_log(void)
{
    env v;
    env_open(&v, &(query_options){.query_log_size = 3});
    result r = run(&v, "SELECT unit FROM pump", QUERY_FORMAT_JSON); /* falls out of the ring */
    free(r.text);
    r = run(&v, "SELECT unit FROM pump WHERE temp > 1", QUERY_FORMAT_CSV);
    CHECK_INT(r.oc.rows, 2);
    free(r.text);
    r = run(&v, "SELECT nope FROM pump", QUERY_FORMAT_JSON);
    CHECK_INT(r.oc.kind, QUERY_ERR_USER);
    free(r.text);
    /* A reader that goes away after the first piece: the query is cancelled. */
    sink s = {.fail_at = 1};
    vg_buf_init(&s.out);
    query_request req = {.db = "plant",
                         .sql = "SELECT unit, note FROM pump",
                         .sql_len = strlen("SELECT unit, note FROM pump")};
    query_outcome oc;
    vg_err e = {0};
    CHECK(query_run(v.q, &req, sink_write, &s, &oc, &e) != VG_OK);
    CHECK(oc.started);
    vg_buf_free(&s.out);
    CHECK_OUTPUT(
        &v,
        "SELECT query_type, query_text, phase, success, running, cancelled, rows, error "
        "FROM system.queries",
        QUERY_FORMAT_JSONL,
        "{\"query_type\":\"sql\",\"query_text\":\"SELECT unit FROM pump WHERE temp > 1\","
        "\"phase\":\"success\",\"success\":true,\"running\":false,\"cancelled\":false,"
        "\"rows\":2}\n"
        "{\"query_type\":\"sql\",\"query_text\":\"SELECT nope FROM pump\","
        "\"phase\":\"fail\",\"success\":false,\"running\":false,\"cancelled\":false,"
        "\"rows\":0,\"error\":\"Schema error: No field named 'nope' at line 1, column 8. "
        "Did you mean 'note'?\"}\n"
        "{\"query_type\":\"sql\",\"query_text\":\"SELECT unit, note FROM pump\","
        "\"phase\":\"cancel\",\"success\":false,\"running\":false,\"cancelled\":true,"
        "\"rows\":3}\n"
        "{\"query_type\":\"sql\",\"query_text\":\"SELECT query_type, query_text, phase, "
        "success, running, cancelled, rows, error FROM system.queries\","
        "\"phase\":\"received\",\"success\":false,\"running\":true,\"cancelled\":false}\n");
    env_close(&v);
}

TEST_MAIN(test_formats_and_content_types, test_every_format, test_read_in_pieces, test_error_kinds,
          test_parquet, test_memory_budget_and_timeout, test_query_log)
