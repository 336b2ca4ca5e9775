/* Unit tests for the query binder, planner, optimizer and EXPLAIN: exact plan text for
 * time-range and tag pushdown, projection pruning, top-K and pushdown through
 * subqueries; binder errors with their exact messages; `SELECT *` order; output
 * names; SHOW and information_schema; and a few end-to-end results that depend on the
 * plan's shape (hidden ORDER BY columns, UNION ALL casts, GROUP BY aliases). */
#include "query/plan_int.h"
#include "test.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixture: a catalog and buffer with two tables in three chunks ---- */

typedef struct env {
    char *dir;
    catalog *cat;
    buffer *buf;
    catalog_db *db;
    catalog_table *sensors;
    vg_arena arena;
    vg_err err;
    qctx c;
    query_param params[4];
    size_t nparams;
} env;

static int64_t ts(const char *s)
{
    int64_t ns = 0;
    vg_err e;
    if (vg_parse_timestamp(s, strlen(s), &ns, &e) != VG_OK)
        abort();
    return ns;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static catalog_table *make_table(env *v, const char *name, const char *const *cols,
                                 const catalog_type *types, int n)
{
    vg_err e;
    catalog_table *t = NULL;
    if (catalog_table_create(v->cat, v->db, name, strlen(name), &t, &e) != VG_OK)
        abort();
    for (int i = 0; i < n; i++) {
        catalog_column *col;
        if (catalog_column_add(v->cat, t, cols[i], strlen(cols[i]), types[i], &col, &e) != VG_OK)
            abort();
    }
    return t;
}

/* sensors: time, unit_number (tag 1), site (tag 2), s_2 (float 3), time_cycles (int 4),
 * temp (float 5), status (string 6), ok (bool 7). */
static void add_sensor_row(env *v, const char *time, const char *unit, const char *site, double s2,
                           int64_t cycles, bool has_temp, double temp)
{
    buffer_value vals[6];
    uint32_t n = 0;
    vals[n++] = (buffer_value){1, CATALOG_TAG, .v.s = {unit, (uint32_t)strlen(unit)}};
    vals[n++] = (buffer_value){2, CATALOG_TAG, .v.s = {site, (uint32_t)strlen(site)}};
    vals[n++] = (buffer_value){3, CATALOG_FLOAT, .v.f = s2};
    vals[n++] = (buffer_value){4, CATALOG_INT, .v.i = cycles};
    if (has_temp)
        vals[n++] = (buffer_value){5, CATALOG_FLOAT, .v.f = temp};
    vg_err e;
    if (buffer_append(v->buf, v->db->id, v->sensors->id, v->sensors->ncols, ts(time), vals, n, 1,
                      &e) != VG_OK)
        abort();
}

static void env_open(env *v)
{
    static const char *const scols[] = {"unit_number", "site",   "s_2", "time_cycles",
                                        "temp",        "status", "ok"};
    static const catalog_type stypes[] = {CATALOG_TAG,   CATALOG_TAG,    CATALOG_FLOAT, CATALOG_INT,
                                          CATALOG_FLOAT, CATALOG_STRING, CATALOG_BOOL};
    static const char *const acols[] = {"level", "msg"};
    static const catalog_type atypes[] = {CATALOG_TAG, CATALOG_STRING};
    memset(v, 0, sizeof *v);
    v->dir = strdup("/tmp/vigil-qplan-XXXXXX");
    vg_err e;
    if (!mkdtemp(v->dir) || catalog_open(v->dir, NULL, &v->cat, &e) != VG_OK)
        abort();
    catalog_write_lock(v->cat);
    if (catalog_db_create(v->cat, "fleet", 5, 0, &v->db, &e) != VG_OK)
        abort();
    v->sensors = make_table(v, "sensors", scols, stypes, 7);
    make_table(v, "alerts", acols, atypes, 2);
    if (catalog_commit(v->cat, &e) != VG_OK)
        abort();
    catalog_write_unlock(v->cat);
    /* Four rows per chunk: unit 1 and unit 2 on Jan 1st, unit 3 on Jan 2nd. */
    v->buf = buffer_new(&(buffer_options){.chunk_rows = 4});
    add_sensor_row(v, "2026-01-01T00:00:00Z", "1", "a", 1.5, 1, true, 20.0);
    add_sensor_row(v, "2026-01-01T00:01:00Z", "1", "a", 2.5, 2, true, 21.0);
    add_sensor_row(v, "2026-01-01T00:02:00Z", "1", "a", 3.5, 3, false, 0);
    add_sensor_row(v, "2026-01-01T00:03:00Z", "1", "a", 4.5, 4, true, 23.0);
    add_sensor_row(v, "2026-01-01T01:00:00Z", "2", "a", 10.0, 1, true, 30.0);
    add_sensor_row(v, "2026-01-01T01:01:00Z", "2", "a", 11.0, 2, true, 31.0);
    add_sensor_row(v, "2026-01-01T01:02:00Z", "2", "a", 12.0, 3, true, 32.0);
    add_sensor_row(v, "2026-01-01T01:03:00Z", "2", "a", 13.0, 4, true, 33.0);
    add_sensor_row(v, "2026-01-02T00:00:00Z", "3", "b", 100.0, 7, true, 40.0);
    add_sensor_row(v, "2026-01-02T00:01:00Z", "3", "b", 101.0, 8, true, 41.0);
    add_sensor_row(v, "2026-01-02T00:02:00Z", "3", "b", 102.0, 9, false, 0);
    add_sensor_row(v, "2026-01-02T00:03:00Z", "3", "b", 103.0, 10, true, 43.0);
    vg_arena_init(&v->arena, 1 << 16);
}

static void env_close(env *v)
{
    vg_arena_free(&v->arena);
    buffer_free(v->buf);
    catalog_close(v->cat);
    nftw(v->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(v->dir);
}

static void ctx_reset(env *v)
{
    vg_arena_reset(&v->arena);
    vg_err_clear(&v->err);
    v->c = (qctx){.arena = &v->arena,
                  .now_ns = ts("2026-01-02T12:00:00Z"),
                  .cat = v->cat,
                  .buf = v->buf,
                  .db = v->db,
                  .params = v->params,
                  .nparams = v->nparams,
                  .err = &v->err};
}

/* Parses and plans sql; VG_OK and the operator tree, or the error in v->err. */
static int plan(env *v, const char *sql, qop **root)
{
    ctx_reset(v);
    ast_stmt *stmt = NULL;
    int rc = ast_parse(sql, strlen(sql), &v->arena, &stmt, &v->err);
    return rc ? rc : qplan_build(&v->c, stmt, root);
}

static void fmt_cell(const qvec *col, uint32_t r, vg_buf *b)
{
    char tmp[64];
    if (!qvec_is_valid(col, r)) {
        vg_buf_puts(b, "NULL");
        return;
    }
    switch (col->type) {
    case QT_STRING: {
        qstr s = qvec_str(col, r);
        vg_buf_append(b, s.p, s.len);
        break;
    }
    case QT_BOOL: vg_buf_puts(b, col->v.b[r] ? "true" : "false"); break;
    case QT_UINT: vg_buf_printf(b, "%llu", (unsigned long long)col->v.u64[r]); break;
    case QT_FLOAT: vg_buf_append(b, tmp, vg_fmt_f64(col->v.f64[r], tmp)); break;
    case QT_TIMESTAMP: vg_buf_append(b, tmp, vg_format_timestamp(col->v.i64[r], false, tmp)); break;
    default: vg_buf_printf(b, "%lld", (long long)col->v.i64[r]);
    }
}

/* Runs sql and renders the result as "a|b\n" lines, or "error: <message>". The
 * string is valid until the next call. */
static const char *run(env *v, const char *sql)
{
    static vg_buf out;
    vg_buf_reset(&out);
    if (!out.data)
        vg_buf_puts(&out, "");
    qop *root = NULL;
    int rc = plan(v, sql, &root);
    if (rc) {
        vg_buf_printf(&out, "error: %s", v->err.msg);
        return out.data;
    }
    rc = root->vt->open(root, &v->c);
    qbatch *bt = NULL;
    while (!rc && !(rc = root->vt->next(root, &v->c, &bt)) && bt)
        for (uint32_t r = 0; r < bt->nrows; r++)
            for (uint32_t k = 0; k < bt->ncols; k++) {
                fmt_cell(&bt->cols[k], r, &out);
                vg_buf_putc(&out, k + 1 < bt->ncols ? '|' : '\n');
            }
    root->vt->close(root, &v->c);
    if (rc) {
        vg_buf_reset(&out);
        vg_buf_printf(&out, "error: %s", v->err.msg);
    }
    return out.data;
}

/* The `plan` cell of EXPLAIN's row whose plan_type is `type`. */
static const char *explain(env *v, const char *sql, const char *type)
{
    static char text[8192];
    const char *all = run(v, sql);
    size_t tl = strlen(type);
    snprintf(text, sizeof text, "no '%s' row in: %s", type, all);
    /* Rows are "type|plan\n" with newlines inside the plan; rows start after a '\n'
     * that is followed by a plan type. */
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, type, tl) != 0 || p[tl] != '|')
            continue;
        const char *start = p + tl + 1, *end = start;
        while (*end) {
            const char *nl = strchr(end, '\n');
            if (!nl)
                break;
            if (!strncmp(nl + 1, "physical_plan|", 14) || !strncmp(nl + 1, "logical_plan|", 13) ||
                nl[1] == '\0') {
                end = nl;
                break;
            }
            end = nl + 1;
        }
        snprintf(text, sizeof text, "%.*s", (int)(end - start), start);
        break;
    }
    return text;
}

/* Plans sql that must plan; NULL (and a failure naming the error) when it does not. */
static qop *plan_ok(env *v, const char *sql)
{
    qop *root = NULL;
    if (plan(v, sql, &root) != VG_OK) {
        printf("FAIL %s: planning \"%s\": %s\n", test_current_name, sql, v->err.msg);
        test_failures_in_current++;
        return NULL;
    }
    return root;
}

static const char *error_of(env *v, const char *sql, int *code)
{
    qop *root;
    *code = plan(v, sql, &root);
    return v->err.msg;
}

static env E;

/* ---- SELECT * and names ---- */

static void test_star_sorted_by_name(void)
{
    static const char *const want[] = {"ok",   "s_2",  "site",        "status",
                                       "temp", "time", "time_cycles", "unit_number"};
    qop *root = plan_ok(&E, "SELECT * FROM sensors");
    if (!root)
        return;
    CHECK_INT(root->schema.n, 8);
    for (uint32_t i = 0; i < 8 && i < root->schema.n; i++)
        CHECK_STR(root->schema.f[i].name, want[i]);
    /* A subquery keeps its own order; t.* expands the same way. */
    if (!(root = plan_ok(&E, "SELECT * FROM (SELECT time_cycles, s_2 FROM sensors) AS s")))
        return;
    CHECK_STR(root->schema.f[0].name, "time_cycles");
    CHECK_STR(root->schema.f[1].name, "s_2");
    if (!(root = plan_ok(&E, "SELECT s.* FROM alerts AS s")))
        return;
    CHECK_INT(root->schema.n, 3);
    CHECK_STR(root->schema.f[0].name, "level");
}

static void test_output_names(void)
{
    qop *root = plan_ok(&E, "SELECT count(*), avg(s_2), max(sensors.time_cycles), unit_number, "
                            "s_2 * 2 AS twice FROM sensors GROUP BY unit_number, s_2");
    if (!root)
        return;
    CHECK_INT(root->schema.n, 5);
    CHECK_STR(root->schema.f[0].name, "count(*)");
    CHECK_STR(root->schema.f[1].name, "avg(sensors.s_2)");
    CHECK_STR(root->schema.f[2].name, "max(sensors.time_cycles)");
    CHECK_STR(root->schema.f[3].name, "unit_number");
    CHECK_STR(root->schema.f[4].name, "twice");
    /* A group expression is named as the select list writes it. */
    root = plan_ok(&E, "SELECT date_bin(INTERVAL '1 minute', time), count(*) FROM sensors "
                       "GROUP BY date_bin('1 minute', time)");
    if (!root)
        return;
    CHECK_STR(root->schema.f[0].name, "date_bin(INTERVAL '1 minute', sensors.time)");
}

/* ---- EXPLAIN: pushdown, pruning, top-K ---- */

static void test_explain_time_and_tag_pushdown(void)
{
    const char *sql = "EXPLAIN SELECT time, s_2 FROM sensors WHERE unit_number IN ('1', '3') "
                      "AND time >= '2026-01-01T00:00:00Z' AND time < '2026-01-02T00:00:00Z'";
    CHECK_STR(explain(&E, sql, "logical_plan"),
              "Projection: sensors.time, sensors.s_2\n"
              "  TableScan: sensors projection=[s_2, time] "
              "time=[2026-01-01T00:00:00, 2026-01-01T23:59:59.999999999] "
              "tag_eq=[unit_number IN ('1', '3')]");
    /* Chunk 2 (unit 2) has no matching tag, chunk 3 (Jan 2nd) is out of range. */
    CHECK_STR(explain(&E, sql, "physical_plan"),
              "ProjectionExec: expr=[sensors.time, sensors.s_2]\n"
              "  ScanExec: sensors projection=[s_2, time] "
              "time=[2026-01-01T00:00:00, 2026-01-01T23:59:59.999999999] "
              "tag_eq=[unit_number IN ('1', '3')] chunks=3 pruned=2 (time 1, tags 1) rows<=4");
}

static void test_explain_exclusive_bounds_and_between(void)
{
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT s_2 FROM sensors WHERE time > '2026-01-01T00:00:00Z' "
                      "AND site = 'a' OR site = 'b'",
                      "logical_plan"),
              "Projection: sensors.s_2\n"
              "  TableScan: sensors projection=[s_2, site, time] "
              "filter=sensors.time > TIMESTAMP '2026-01-01T00:00:00' AND sensors.site = 'a' "
              "OR sensors.site = 'b'");
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT s_2 FROM sensors WHERE time > '2026-01-01T00:00:00Z' "
                      "AND (site = 'a' OR site = 'b')",
                      "logical_plan"),
              "Projection: sensors.s_2\n"
              "  TableScan: sensors projection=[s_2] "
              "time=[2026-01-01T00:00:00.000000001, +inf) tag_eq=[site IN ('a', 'b')]");
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT s_2 FROM sensors WHERE time BETWEEN "
                      "'2026-01-01T00:00:00Z' AND '2026-01-01T01:00:00Z' AND unit_number = '2' "
                      "AND unit_number IN ('2', '3')",
                      "logical_plan"),
              "Projection: sensors.s_2\n"
              "  TableScan: sensors projection=[s_2] "
              "time=[2026-01-01T00:00:00, 2026-01-01T01:00:00] tag_eq=[unit_number IN ('2')]");
}

static void test_explain_now_folding(void)
{
    /* now() is 2026-01-02T12:00:00 in these tests. */
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT * FROM sensors WHERE time >= now() - INTERVAL '10m' "
                      "ORDER BY time DESC",
                      "logical_plan"),
              "Sort: sensors.time DESC NULLS FIRST\n"
              "  Projection: sensors.ok, sensors.s_2, sensors.site, sensors.status, "
              "sensors.temp, sensors.time, sensors.time_cycles, sensors.unit_number\n"
              "    TableScan: sensors projection=[ok, s_2, site, status, temp, time, "
              "time_cycles, unit_number] time=[2026-01-02T11:50:00, +inf)");
    CHECK_STR(explain(&E, "EXPLAIN SELECT 1 + 2 * 3 AS x, now() - '1h' AS y", "logical_plan"),
              "Projection: 7 AS x, TIMESTAMP '2026-01-02T11:00:00' AS y\n"
              "  EmptyRelation");
}

static void test_explain_projection_pruning(void)
{
    CHECK_STR(explain(&E, "EXPLAIN SELECT count(*) FROM sensors", "logical_plan"),
              "Projection: count(*)\n"
              "  Aggregate: groupBy=[], aggr=[count(*)]\n"
              "    TableScan: sensors projection=[time]");
    CHECK_STR(explain(&E, "EXPLAIN SELECT AVG(s_2) AS s_2 FROM sensors WHERE time_cycles <= 15",
                      "logical_plan"),
              "Projection: avg(sensors.s_2) AS s_2\n"
              "  Aggregate: groupBy=[], aggr=[avg(sensors.s_2)]\n"
              "    TableScan: sensors projection=[s_2, time_cycles] "
              "filter=sensors.time_cycles <= 15");
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT unit_number, max(time_cycles) FROM sensors GROUP BY "
                      "unit_number",
                      "physical_plan"),
              "ProjectionExec: expr=[sensors.unit_number, max(sensors.time_cycles)]\n"
              "  AggregateExec: gby=[sensors.unit_number], aggr=[max(sensors.time_cycles)]\n"
              "    ScanExec: sensors projection=[time_cycles, unit_number] chunks=3 pruned=0 "
              "(time 0, tags 0) rows<=12");
}

static void test_explain_contradiction(void)
{
    /* A constant FALSE filter leaves the scan an empty time range: every chunk pruned. */
    CHECK_STR(explain(&E, "EXPLAIN SELECT count(*) FROM sensors WHERE false AND s_2 > 1",
                      "physical_plan"),
              "ProjectionExec: expr=[count(*)]\n"
              "  AggregateExec: gby=[], aggr=[count(*)]\n"
              "    ScanExec: sensors projection=[time] time=empty chunks=3 pruned=3 (time 3, "
              "tags 0) rows<=0");
    CHECK_STR(run(&E, "SELECT count(*) FROM sensors WHERE unit_number = NULL"), "0\n");
}

static void test_explain_topk(void)
{
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT time, temp FROM sensors ORDER BY temp DESC NULLS LAST, 1 "
                      "LIMIT 5 OFFSET 2",
                      "logical_plan"),
              "Limit: skip=2, fetch=5\n"
              "  Sort: sensors.temp DESC NULLS LAST, sensors.time ASC NULLS LAST, fetch=7\n"
              "    Projection: sensors.time, sensors.temp\n"
              "      TableScan: sensors projection=[temp, time]");
    CHECK_STR(explain(&E, "EXPLAIN SELECT time FROM sensors ORDER BY s_2 LIMIT 3", "physical_plan"),
              "ProjectionExec: expr=[sensors.time]\n"
              "  LimitExec: skip=0, fetch=3\n"
              "    SortExec: TopK(fetch=3), expr=[sensors.s_2 ASC NULLS LAST]\n"
              "      ProjectionExec: expr=[sensors.time, sensors.s_2]\n"
              "        ScanExec: sensors projection=[s_2, time] chunks=3 pruned=0 (time 0, tags "
              "0) rows<=12");
}

static void test_explain_pushdown_through_subqueries(void)
{
    CHECK_STR(explain(&E,
                      "EXPLAIN WITH recent AS (SELECT time, unit_number, s_2 FROM sensors) "
                      "SELECT s_2 FROM recent WHERE unit_number = '1' AND time > "
                      "'2026-01-01T00:00:00Z'",
                      "logical_plan"),
              "Projection: recent.s_2\n"
              "  SubqueryAlias: recent\n"
              "    Projection: sensors.s_2\n"
              "      TableScan: sensors projection=[s_2] "
              "time=[2026-01-01T00:00:00.000000001, +inf) tag_eq=[unit_number IN ('1')]");
    /* A filter on an aggregate's output moves below the projection and stops above
     * the aggregate: a HAVING. */
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT * FROM (SELECT unit_number, count(*) AS n FROM sensors "
                      "GROUP BY unit_number) AS g WHERE n > 3",
                      "logical_plan"),
              "Projection: g.unit_number, g.n\n"
              "  SubqueryAlias: g\n"
              "    Projection: sensors.unit_number, count(*) AS n\n"
              "      Filter: count(*) > 3\n"
              "        Aggregate: groupBy=[sensors.unit_number], aggr=[count(*)]\n"
              "          TableScan: sensors projection=[unit_number]");
}

static void test_explain_union_pushdown(void)
{
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT * FROM (SELECT time, level AS who FROM alerts UNION ALL "
                      "SELECT time, unit_number FROM sensors) AS u WHERE who = '1'",
                      "logical_plan"),
              "Projection: u.time, u.who\n"
              "  SubqueryAlias: u\n"
              "    Union\n"
              "      Projection: alerts.time, alerts.level AS who\n"
              "        TableScan: alerts projection=[level, time] tag_eq=[level IN ('1')]\n"
              "      Projection: sensors.time, sensors.unit_number\n"
              "        TableScan: sensors projection=[time, unit_number] "
              "tag_eq=[unit_number IN ('1')]");
}

static void test_explain_analyze(void)
{
    const char *text = explain(&E,
                               "EXPLAIN ANALYZE SELECT count(*) FROM sensors WHERE time < "
                               "'2026-01-02T00:00:00Z' AND unit_number = '2'",
                               "Plan with Metrics");
    CHECK(strstr(text, "ProjectionExec: expr=[count(*)] metrics=[output_rows=1, elapsed=") != NULL);
    CHECK(strstr(text, "ScanExec: sensors projection=[time] "
                       "time=(-inf, 2026-01-01T23:59:59.999999999] tag_eq=[unit_number IN ('2')] "
                       "metrics=[output_rows=4, rows_scanned=") != NULL);
    CHECK(strstr(text, "chunks=3, chunks_pruned=2") != NULL);
    CHECK(strstr(text, "\nTotals: output_rows=1, rows_scanned=") != NULL);
    CHECK_STR(run(&E, "SELECT count(*) FROM sensors WHERE time < '2026-01-02T00:00:00Z' AND "
                      "unit_number = '2'"),
              "4\n");
}

static void test_explain_verbose_rows(void)
{
    const char *all = run(&E, "EXPLAIN VERBOSE SELECT s_2 FROM sensors WHERE 1 = 1");
    const char *initial = "initial_logical_plan|Projection: sensors.s_2\n  Filter: 1 = 1\n";
    CHECK(strncmp(all, initial, strlen(initial)) == 0);
    CHECK(strstr(all, "\nlogical_plan|Projection: sensors.s_2\n  TableScan: sensors "
                      "projection=[s_2]\nphysical_plan|") != NULL);
}

/* ---- parameters ---- */

static void test_params(void)
{
    E.params[0] = (query_param){"unit", "\"2\""};
    E.params[1] = (query_param){"min", "3"};
    E.nparams = 2;
    CHECK_STR(explain(&E,
                      "EXPLAIN SELECT s_2 FROM sensors WHERE unit_number = $unit AND "
                      "time_cycles >= $min",
                      "logical_plan"),
              "Projection: sensors.s_2\n"
              "  TableScan: sensors projection=[s_2, time_cycles] "
              "tag_eq=[unit_number IN ('2')] filter=sensors.time_cycles >= 3");
    CHECK_STR(run(&E, "SELECT s_2 FROM sensors WHERE unit_number = $unit AND time_cycles >= $min "
                      "ORDER BY s_2"),
              "12\n13\n");
    int code;
    CHECK_STR(error_of(&E, "SELECT s_2 FROM sensors WHERE unit_number = $nope", &code),
              "No value found for placeholder $nope");
    CHECK_INT(code, VG_EINVAL);
    E.nparams = 0;
}

/* ---- binder errors ---- */

static void test_error_unknown_column(void)
{
    int code;
    CHECK_STR(error_of(&E, "SELECT tmp FROM sensors", &code),
              "Schema error: No field named 'tmp' at line 1, column 8. Did you mean 'temp'?");
    CHECK_INT(code, VG_EINVAL);
    CHECK_STR(error_of(&E, "SELECT time\nFROM sensors WHERE nothing_like_it > 1", &code),
              "Schema error: No field named 'nothing_like_it' at line 2, column 20");
    CHECK_STR(error_of(&E, "SELECT s.temp FROM sensors", &code),
              "Schema error: No field named 's.temp' at line 1, column 8. Did you mean "
              "'sensors.temp'?");
}

static void test_error_unknown_table(void)
{
    int code;
    CHECK_STR(error_of(&E, "SELECT * FROM sensor", &code),
              "table 'sensor' not found at line 1, column 15. Did you mean 'sensors'?");
    CHECK_INT(code, VG_ENOTFOUND);
    CHECK_STR(error_of(&E, "SELECT * FROM system.querys", &code),
              "table 'system.querys' not found at line 1, column 15. Did you mean "
              "'system.queries'?");
    CHECK_STR(error_of(&E, "SHOW COLUMNS FROM nope", &code),
              "table 'nope' not found at line 1, column 19");
    CHECK_INT(code, VG_ENOTFOUND);
}

static void test_error_group_by(void)
{
    int code;
    CHECK_STR(
        error_of(&E, "SELECT unit_number, s_2, max(time_cycles) FROM sensors GROUP BY 1", &code),
        "column \"s_2\" must appear in the GROUP BY clause or be used in an aggregate "
        "function at line 1, column 21");
    CHECK_INT(code, VG_EINVAL);
    CHECK_STR(error_of(&E, "SELECT s_2 FROM sensors WHERE max(s_2) > 1", &code),
              "aggregate functions are not allowed in WHERE at line 1, column 31");
    CHECK_STR(error_of(&E, "SELECT max(count(*)) FROM sensors", &code),
              "aggregate function calls cannot be nested at line 1, column 12");
    CHECK_STR(error_of(&E, "SELECT unit_number FROM sensors GROUP BY 2", &code),
              "GROUP BY position 2 is not in select list (it has 1 columns) at line 1, column 42");
}

static void test_error_union_and_order(void)
{
    int code;
    CHECK_STR(
        error_of(&E, "SELECT time, s_2 FROM sensors UNION ALL SELECT time FROM alerts", &code),
        "UNION queries have different number of columns: left has 2 columns whereas right "
        "has 1 columns at line 1, column 41");
    CHECK_STR(error_of(&E, "SELECT ok FROM sensors UNION ALL SELECT time FROM alerts", &code),
              "UNION ALL column 1 ('ok') has incompatible types Boolean and Timestamp(Nanosecond, "
              "None) at line 1, column 34");
    CHECK_STR(error_of(&E, "SELECT time FROM sensors ORDER BY 3", &code),
              "ORDER BY position 3 is not in select list (it has 1 columns) at line 1, column 35");
    CHECK_STR(error_of(&E, "SELECT DISTINCT unit_number FROM sensors ORDER BY s_2", &code),
              "For SELECT DISTINCT, ORDER BY expressions must appear in select list at line 1, "
              "column 51");
    CHECK_STR(error_of(&E, "SELECT time FROM sensors LIMIT -1", &code),
              "LIMIT must be >= 0, '-1' was provided at line 1, column 32");
    CHECK_STR(error_of(&E, "SELECT time, time FROM sensors", &code),
              "Projections require unique expression names but the expression \"sensors.time\" at "
              "position 0 and \"sensors.time\" at position 1 have the same name. Consider "
              "aliasing (\"AS\") one of them at line 1, column 1");
}

static void test_error_expressions(void)
{
    int code;
    CHECK_STR(error_of(&E, "SELECT sqrt(status) FROM sensors", &code),
              "no function matches 'sqrt(Utf8)'. Candidates: sqrt(Float64) at line 1, column 8");
    CHECK_INT(code, VG_EINVAL);
    CHECK_STR(error_of(&E, "SELECT nosuch(1)", &code),
              "Invalid function 'nosuch' at line 1, column 8");
    CHECK_STR(error_of(&E, "SELECT *", &code),
              "SELECT * with no tables specified is not valid at line 1, column 8");
    CHECK_STR(error_of(&E, "SELECT time FROM sensors WHERE time > now() - INTERVAL '3 fortnights'",
                       &code),
              "Cannot parse '3 fortnights' as an interval (expected a number and a unit: ns, us, "
              "ms, s, m, h, d or w, e.g. '10 minutes' or '1h30m') at line 1, column 47");
    CHECK_STR(error_of(&E, "SELECT s_2 FROM sensors WHERE s_2", &code),
              "WHERE clause must be a Boolean expression, not Float64 at line 1, column 31");
}

static void test_error_unsupported(void)
{
    int code;
    CHECK_STR(error_of(&E, "SELECT (SELECT 1) FROM sensors", &code),
              "This feature is not implemented: scalar subqueries are not supported yet at line "
              "1, column 8");
    CHECK_STR(
        error_of(&E, "SELECT time FROM sensors WHERE time > now() - INTERVAL '1 month'", &code),
        "This feature is not implemented: interval '1 month' uses months or years, which "
        "have no fixed length; use days or weeks at line 1, column 47");
    CHECK_STR(error_of(&E, "SELECT time FROM sensors WHERE time > 'yesterday'", &code),
              "Cannot parse 'yesterday' as a timestamp (expected RFC 3339, e.g. "
              "'2026-01-01T00:00:00Z') at line 1, column 39");
}

/* ---- SHOW and information_schema ---- */

static void test_show_tables(void)
{
    CHECK_STR(run(&E, "SHOW TABLES"), "public|iox|alerts|BASE TABLE\n"
                                      "public|iox|sensors|BASE TABLE\n"
                                      "public|system|parquet_files|BASE TABLE\n"
                                      "public|system|queries|BASE TABLE\n"
                                      "public|information_schema|tables|VIEW\n"
                                      "public|information_schema|columns|VIEW\n");
    CHECK_STR(run(&E, "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                      "'iox' ORDER BY table_name DESC"),
              "sensors\nalerts\n");
}

static void test_show_columns(void)
{
    CHECK_STR(run(&E, "SHOW COLUMNS FROM alerts"),
              "public|iox|alerts|level|Dictionary(Int32, Utf8)|YES\n"
              "public|iox|alerts|msg|Utf8|YES\n"
              "public|iox|alerts|time|Timestamp(Nanosecond, None)|NO\n");
    CHECK_STR(run(&E, "SELECT column_name, ordinal_position, data_type FROM "
                      "information_schema.columns WHERE table_name = 'sensors' AND "
                      "column_name LIKE 't%'"),
              "temp|5|Float64\ntime|6|Timestamp(Nanosecond, None)\ntime_cycles|7|Int64\n");
    CHECK_STR(run(&E, "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                      "'information_schema'"),
              "12\n");
}

/* ---- results that depend on the plan's shape ---- */

static void test_results(void)
{
    /* ORDER BY a column not selected: a hidden column, dropped after the sort. */
    CHECK_STR(run(&E, "SELECT unit_number, time_cycles FROM sensors ORDER BY s_2 DESC LIMIT 2"),
              "3|10\n3|9\n");
    /* GROUP BY an alias and an ordinal; ORDER BY an aggregate not in the select list. */
    CHECK_STR(run(&E, "SELECT site AS s, count(*) AS n FROM sensors GROUP BY s ORDER BY "
                      "max(s_2) DESC"),
              "b|4\na|8\n");
    CHECK_STR(run(&E, "SELECT unit_number, max(time_cycles) FROM sensors GROUP BY 1 HAVING "
                      "max(time_cycles) > 4 ORDER BY 1"),
              "3|10\n");
    /* UNION ALL casts Int64 to Float64; names come from the first SELECT. */
    CHECK_STR(run(&E, "SELECT 1 AS v UNION ALL SELECT 2.5 ORDER BY v DESC"), "2.5\n1\n");
    CHECK_STR(run(&E, "SELECT DISTINCT site FROM sensors ORDER BY site"), "a\nb\n");
    CHECK_STR(run(&E, "SELECT count(*) FROM sensors WHERE temp IS NULL"), "2\n");
    CHECK_STR(run(&E, "WITH a AS (SELECT unit_number AS u, s_2 FROM sensors), b AS (SELECT u, "
                      "s_2 FROM a WHERE s_2 > 100) SELECT u, s_2 FROM b ORDER BY s_2 LIMIT 1 "
                      "OFFSET 1"),
              "3|102\n");
    CHECK_STR(run(&E, "SELECT time FROM sensors WHERE time > '2026-01-02T00:02:00Z'"),
              "2026-01-02T00:03:00\n");
    /* Select-list aliases inside HAVING and ORDER BY expressions. */
    CHECK_STR(run(&E, "SELECT unit_number, count(*) AS n FROM sensors GROUP BY unit_number "
                      "HAVING n > 3 AND unit_number <> '2' ORDER BY -n, 1"),
              "1|4\n3|4\n");
    /* An output name wins over an input column of the same name in ORDER BY. */
    CHECK_STR(run(&E, "SELECT s_2 AS time_cycles FROM sensors ORDER BY time_cycles DESC LIMIT 1"),
              "103\n");
    CHECK_STR(run(&E, "SELECT 1 + 1 AS two, 'x' AS s"), "2|x\n");
}

/* Runs a DELETE without persistence: "" when it matches nothing (nothing to do), the
 * error otherwise (a valid one ends in "needs the persistence layer"). */
static const char *delete_err(env *v, const char *sql)
{
    ctx_reset(v);
    ast_stmt *stmt = NULL;
    bool deleted = true;
    int rc = ast_parse(sql, strlen(sql), &v->arena, &stmt, &v->err);
    if (rc == VG_OK)
        rc = qdelete_run(&v->c, stmt, &deleted);
    if (rc == VG_OK)
        return deleted ? "deleted" : "";
    return v->err.msg;
}

#define NEEDS_PERSIST "DELETE needs the persistence layer, which is not running"

static void test_delete_binding(void)
{
    CHECK_STR(delete_err(&E, "DELETE FROM sensors"), NEEDS_PERSIST);
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time >= '2026-01-01T00:00:00Z' AND "
                             "time < now() - INTERVAL '1 day' AND site IN ('a', 'b') AND "
                             "sensors.unit_number = 1"),
              NEEDS_PERSIST);
    CHECK_STR(delete_err(&E, "DELETE FROM sensorz"),
              "table 'sensorz' not found at line 1, column 13. Did you mean 'sensors'?");
    CHECK_STR(delete_err(&E, "DELETE FROM system.queries WHERE time < 5"),
              "DELETE works on the tables of a database, not on system.queries at line 1, "
              "column 13");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE nope = 'x'"),
              "Schema error: No field named 'nope' at line 1, column 27");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE alerts.site = 'x'"),
              "Schema error: No field named 'alerts.site' at line 1, column 27");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time > 0 AND s_2 = 1.5"),
              "DELETE supports only time ranges and tag equality, found s_2 = 1.5 ('s_2' is a "
              "field, not a tag) at line 1, column 40");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE status IN ('x')"),
              "DELETE supports only time ranges and tag equality, found status IN ('x') "
              "('status' is a field, not a tag) at line 1, column 27");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time > 'yesterday'"),
              "Cannot parse 'yesterday' as a timestamp (expected RFC 3339, e.g. "
              "'2026-01-01T00:00:00Z') at line 1, column 34");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE site = $nope"),
              "No value found for placeholder $nope");
    /* conditions that can hold for no row delete nothing and record nothing */
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time > '2026-01-02T00:00:00Z' AND "
                             "time <= '2026-01-01T00:00:00Z'"),
              "");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time BETWEEN 5 AND 4"), "");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE site = NULL"), "");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE site IN (NULL, NULL)"), "");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time < NULL"), "");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE time > 9223372036854775807"), "");
    CHECK_STR(delete_err(&E, "DELETE FROM sensors WHERE site IN (NULL, 'a')"), NEEDS_PERSIST);
}

int main(void)
{
    env_open(&E);
    test_fn fns[] = {test_star_sorted_by_name,
                     test_output_names,
                     test_explain_time_and_tag_pushdown,
                     test_explain_exclusive_bounds_and_between,
                     test_explain_now_folding,
                     test_explain_projection_pruning,
                     test_explain_contradiction,
                     test_explain_topk,
                     test_explain_pushdown_through_subqueries,
                     test_explain_union_pushdown,
                     test_explain_analyze,
                     test_explain_verbose_rows,
                     test_params,
                     test_error_unknown_column,
                     test_error_unknown_table,
                     test_error_group_by,
                     test_error_union_and_order,
                     test_error_expressions,
                     test_error_unsupported,
                     test_show_tables,
                     test_show_columns,
                     test_results,
                     test_delete_binding};
    const char *names[] = {"test_star_sorted_by_name",
                           "test_output_names",
                           "test_explain_time_and_tag_pushdown",
                           "test_explain_exclusive_bounds_and_between",
                           "test_explain_now_folding",
                           "test_explain_projection_pruning",
                           "test_explain_contradiction",
                           "test_explain_topk",
                           "test_explain_pushdown_through_subqueries",
                           "test_explain_union_pushdown",
                           "test_explain_analyze",
                           "test_explain_verbose_rows",
                           "test_params",
                           "test_error_unknown_column",
                           "test_error_unknown_table",
                           "test_error_group_by",
                           "test_error_union_and_order",
                           "test_error_expressions",
                           "test_error_unsupported",
                           "test_show_tables",
                           "test_show_columns",
                           "test_results",
                           "test_delete_binding"};
    int rc = test_run_all(__FILE__, fns, names, (int)(sizeof fns / sizeof fns[0]));
    env_close(&E);
    return rc;
}
