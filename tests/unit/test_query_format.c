/* tests/unit/test_query_format.c: the query result formats (query/format.c) over
 * hand-made batches: exact bytes of JSON, JSON lines, CSV and pretty; NULLs,
 * escaping, dictionary strings, selectors; and the float, timestamp and interval
 * renderings against InfluxDB 3 Core's (arrow-rs, lexical-core). */
#include "query/format_int.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* ---- building batches by hand ---- */

static uint8_t valid_bits[16][8]; /* per column: up to 64 rows */

/* Marks rows listed in `nulls` (terminated by -1) null in column c's bitmap. */
static uint8_t *nulls_of(int c, const int *nulls)
{
    memset(valid_bits[c], 0xff, sizeof valid_bits[c]);
    for (int i = 0; nulls[i] >= 0; i++)
        valid_bits[c][nulls[i] >> 3] &= (uint8_t) ~(1u << (nulls[i] & 7));
    return valid_bits[c];
}

static qstr S(const char *s)
{
    return (qstr){s, (uint32_t)strlen(s)};
}

typedef struct fixture {
    qfield fields[8];
    qvec cols[8];
    qschema schema;
    qbatch batch;
} fixture;

static void fx_col(fixture *fx, uint32_t c, const char *name, qvec v)
{
    fx->fields[c] = (qfield){.name = name, .type = v.type, .nullable = true};
    fx->cols[c] = v;
    fx->schema = (qschema){c + 1, fx->fields};
    fx->batch = (qbatch){v.n, c + 1, fx->cols};
}

/* Runs one format over the batches; returns a malloc'd string (or NULL on error,
 * with the message in err). */
static char *render(query_format fmt, const qschema *s, qbatch *batches, int nb, vg_err *err)
{
    qfmt f;
    vg_buf out;
    vg_buf_init(&out);
    int rc = qfmt_init(&f, fmt, s, err);
    if (rc == VG_OK)
        rc = qfmt_begin(&f, &out, err);
    for (int i = 0; rc == VG_OK && i < nb; i++)
        rc = qfmt_batch(&f, &batches[i], &out, err);
    if (rc == VG_OK)
        rc = qfmt_end(&f, &out, err);
    qfmt_free(&f);
    if (rc != VG_OK) {
        vg_buf_free(&out);
        return NULL;
    }
    char *r = strdup(out.data ? out.data : "");
    vg_buf_free(&out);
    return r;
}

#define CHECK_RENDER(fmt, schema, batches, nb, expected)                                           \
    do {                                                                                           \
        vg_err err_ = {0};                                                                         \
        char *got_ = render((fmt), (schema), (batches), (nb), &err_);                              \
        CHECK_STR(got_ ? got_ : err_.msg, (expected));                                             \
        free(got_);                                                                                \
    } while (0)

/* host (dictionary tag), time, usage (float), n (int), ok (bool), note (string) */
static int64_t times[3] = {1767806931000000000, 155, -1};
static double usage[3] = {0.9, 2.0, NAN};
static int64_t ints[3] = {-7, 0, 9223372036854775807};
static uint8_t bools[3] = {1, 0, 1};
static qstr dict[2];
static uint32_t ids[3] = {1, 0, 1};
static qstr notes[3];

static void sensor_fixture(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    dict[0] = S("a");
    dict[1] = S("b,\"c\"");
    notes[0] = S("line1\nline2");
    notes[1] = S("tab\there \\ \x01 \xc3\xa9");
    notes[2] = S("");
    int none[] = {-1}, row1[] = {1, -1}, row2[] = {2, -1}, row0[] = {0, -1};
    fx_col(fx, 0, "host", (qvec){.type = QT_STRING, .n = 3, .ids = ids, .dict = dict, .dict_n = 2});
    fx_col(fx, 1, "time", (qvec){.type = QT_TIMESTAMP, .n = 3, .v.i64 = times});
    fx_col(fx, 2, "usage",
           (qvec){.type = QT_FLOAT, .n = 3, .valid = nulls_of(2, row1), .v.f64 = usage});
    fx_col(fx, 3, "n", (qvec){.type = QT_INT, .n = 3, .valid = nulls_of(3, none), .v.i64 = ints});
    fx_col(fx, 4, "ok", (qvec){.type = QT_BOOL, .n = 3, .valid = nulls_of(4, row2), .v.b = bools});
    fx_col(fx, 5, "note",
           (qvec){.type = QT_STRING, .n = 3, .valid = nulls_of(5, row0), .v.s = notes});
}

/* ---- values ---- */

static void check_f64(double v, const char *expected)
{
    char out[QFMT_F64_MAX + 1];
    size_t n = qfmt_f64(v, out);
    out[n] = '\0';
    if (strcmp(out, expected) != 0) {
        printf("FAIL %s: qfmt_f64(%.17g) == \"%s\", expected \"%s\"\n", test_current_name, v, out,
               expected);
        test_failures_in_current++;
    }
}

static void test_float_rendering(void)
{
    check_f64(0.1, "0.1");
    check_f64(1.0, "1.0");
    check_f64(2.0, "2.0");
    check_f64(100.0, "100.0");
    check_f64(-2.5, "-2.5");
    check_f64(1e300, "1.0e300");
    check_f64(-1.5e300, "-1.5e300");
    check_f64(-0.0, "-0.0");
    check_f64(0.0, "0.0");
    check_f64(NAN, "NaN");
    check_f64(INFINITY, "inf");
    check_f64(-INFINITY, "-inf");
    check_f64(1e9, "1000000000.0");
    check_f64(1234567890.5, "1234567890.5");
    check_f64(1e10, "1.0e10");
    check_f64(12345678901.5, "1.23456789015e10");
    check_f64(1e-5, "0.00001");
    check_f64(1.25e-5, "0.0000125");
    check_f64(1e-6, "1.0e-6");
    check_f64(1.5e-7, "1.5e-7");
    check_f64(0.30000000000000004, "0.30000000000000004");
    check_f64(3.141592653589793, "3.141592653589793");
    check_f64(61.5, "61.5");
    check_f64(1.7976931348623157e308, "1.7976931348623157e308");
    check_f64(5e-324, "5.0e-324");
    check_f64(2.2250738585072014e-308, "2.2250738585072014e-308");
    check_f64(9007199254740993.0, "9.007199254740992e15");
    check_f64(123456789012345.0, "1.23456789012345e14");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The oracle: for 1, 2, ... 17 digits, the correctly rounded decimal (%.*e) or one
 * unit of its last digit either side, the first that reads back as v. The neighbours
 * matter below powers of two, where the interval is lopsided. Slow and obviously
 * right. Returns d with v == d * 10^e10, no trailing zeros. */
static uint64_t oracle_shortest(double v, int *e10)
{
    char tmp[64];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        uint64_t d = 0;
        const char *p = tmp;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                d = d * 10 + (uint64_t)(*p - '0');
        int e = atoi(p + 1) - prec;
        uint64_t cands[3] = {d, d + 1, d - 1};
        for (int i = 0; i < 3; i++) {
            snprintf(tmp, sizeof tmp, "%llue%d", (unsigned long long)cands[i], e);
            if (strtod(tmp, NULL) != v)
                continue;
            uint64_t r = cands[i];
            int re = e;
            while (r % 10 == 0) {
                r /= 10;
                re++;
            }
            *e10 = re;
            return r;
        }
    }
    *e10 = 0;
    return 0;
}

static void check_shortest(double v, int *bad)
{
    int e1, e2;
    uint64_t d1 = qfmt_shortest(v, &e1), d2 = oracle_shortest(v, &e2);
    if (d1 != d2 || e1 != e2) {
        printf("FAIL %s: %.17g -> %llue%d, oracle %llue%d\n", test_current_name, v,
               (unsigned long long)d1, e1, (unsigned long long)d2, e2);
        test_failures_in_current++;
        (*bad)++;
    }
}

/* Build with -DSHORTEST_ITERS=50000000 for a long soak. */
#ifndef SHORTEST_ITERS
#define SHORTEST_ITERS 120000
#endif

/* qfmt_shortest against the oracle: random bit patterns (every exponent), powers of
 * two and their neighbours, subnormals, integers and short decimals. */
static void test_float_shortest(void)
{
    int bad = 0;
    for (long i = 0; i < SHORTEST_ITERS && bad < 5; i++) {
        double v;
        uint64_t bits = rng() & ~(1ull << 63);
        switch (i % 6) {
        case 0: break;
        case 1: bits &= ~((1ull << 52) - 1); break;             /* powers of two */
        case 2: bits = (bits & ~((1ull << 52) - 1)) | 1; break; /* just above */
        case 3: bits &= (1ull << 52) - 1; break;                /* subnormal */
        case 4: bits = 0; break;
        default: bits = 0; break;
        }
        if (i % 6 == 4)
            v = (double)(rng() % 100000000);
        else if (i % 6 == 5)
            v = (double)(rng() % 2000001) / pow(10, (double)(rng() % 12));
        else
            memcpy(&v, &bits, sizeof v);
        if (!isfinite(v) || v <= 0)
            continue;
        check_shortest(v, &bad);
    }
    for (int e = -1074; e <= 1023 && bad < 5; e++) {
        double p2 = ldexp(1.0, e);
        check_shortest(p2, &bad);
        check_shortest(nextafter(p2, INFINITY), &bad);
        if (p2 > 0 && nextafter(p2, 0) > 0)
            check_shortest(nextafter(p2, 0), &bad);
    }
    check_shortest(DBL_MAX, &bad);
    check_shortest(DBL_MIN, &bad);
    check_shortest(5e-324, &bad);
}

static void check_ts(int64_t ns, const char *expected)
{
    char out[QFMT_TS_MAX + 1];
    out[qfmt_timestamp(ns, NULL, out)] = '\0';
    CHECK_STR(out, expected);
}

static void test_timestamp_rendering(void)
{
    check_ts(0, "1970-01-01T00:00:00");
    check_ts(155, "1970-01-01T00:00:00.000000155");
    check_ts(1767806931000000000, "2026-01-07T17:28:51");
    check_ts(1767806931500000000, "2026-01-07T17:28:51.500");
    check_ts(1767806931000123000, "2026-01-07T17:28:51.000123");
    check_ts(-1, "1969-12-31T23:59:59.999999999");
    check_ts(-86400 * VG_NS_PER_SEC, "1969-12-31T00:00:00");
    check_ts(951782400 * VG_NS_PER_SEC, "2000-02-29T00:00:00");
    check_ts(INT64_MAX, "2262-04-11T23:47:16.854775807");
    check_ts(INT64_MIN, "1677-09-21T00:12:43.145224192");
    /* The day cache must not leak a date into the next day, and must match base. */
    qfmt_day_cache cache = {INT64_MIN, {0}};
    for (int i = 0; i < 100000; i++) {
        int64_t ns = (int64_t)rng() >> (rng() % 40);
        char a[QFMT_TS_MAX + 1], b[48];
        a[qfmt_timestamp(ns, &cache, a)] = '\0';
        vg_format_timestamp(ns, false, b);
        if (strcmp(a, b) != 0) {
            CHECK_STR(a, b);
            break;
        }
    }
}

static void check_interval(int64_t ns, const char *expected)
{
    char out[QFMT_INTERVAL_MAX + 1];
    out[qfmt_interval(ns, out)] = '\0';
    CHECK_STR(out, expected);
}

static void test_interval_rendering(void)
{
    check_interval(600 * VG_NS_PER_SEC, "10 mins");
    check_interval(0, "0 secs");
    check_interval(7 * 86400 * VG_NS_PER_SEC, "7 days");
    check_interval((86400 + 7200) * VG_NS_PER_SEC, "1 days 2 hours");
    check_interval(1500 * VG_NS_PER_MS, "1.500000000 secs");
    check_interval(3723 * VG_NS_PER_SEC + 5, "1 hours 2 mins 3.000000005 secs");
    check_interval(-90 * VG_NS_PER_SEC, "-1 mins -30.000000000 secs");
    check_interval(-1, "-0.000000001 secs");
}

/* ---- formats ---- */

static void test_json(void)
{
    fixture fx;
    sensor_fixture(&fx);
    CHECK_RENDER(QUERY_FORMAT_JSON, &fx.schema, &fx.batch, 1,
                 "[{\"host\":\"b,\\\"c\\\"\",\"time\":\"2026-01-07T17:28:51\",\"usage\":0.9,"
                 "\"n\":-7,\"ok\":true},"
                 "{\"host\":\"a\",\"time\":\"1970-01-01T00:00:00.000000155\",\"n\":0,"
                 "\"ok\":false,\"note\":\"tab\\there \\\\ \\u0001 \xc3\xa9\"},"
                 "{\"host\":\"b,\\\"c\\\"\",\"time\":\"1969-12-31T23:59:59.999999999\","
                 "\"usage\":null,\"n\":9223372036854775807,\"note\":\"\"}]");
}

static void test_json_escapes(void)
{
    fixture fx;
    memset(&fx, 0, sizeof fx);
    static qstr s[1];
    s[0] = (qstr){"\"\\/\b\f\n\r\t\x1f\x7f", 10};
    fx_col(&fx, 0, "we\"ird\nname", (qvec){.type = QT_STRING, .n = 1, .v.s = s});
    CHECK_RENDER(QUERY_FORMAT_JSON, &fx.schema, &fx.batch, 1,
                 "[{\"we\\\"ird\\nname\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u001f\x7f\"}]");
}

static void test_json_empty_and_batches(void)
{
    fixture fx;
    sensor_fixture(&fx);
    CHECK_RENDER(QUERY_FORMAT_JSON, &fx.schema, NULL, 0, "[]");
    CHECK_RENDER(QUERY_FORMAT_JSONL, &fx.schema, NULL, 0, "");
    /* Rows split over batches (one empty) are joined by exactly one comma. */
    static int64_t t1[1] = {0}, t2[2] = {1000000, 2000000};
    qfield f = {.name = "time", .type = QT_TIMESTAMP};
    qschema s = {1, &f};
    qvec v1 = {.type = QT_TIMESTAMP, .n = 1, .v.i64 = t1};
    qvec v0 = {.type = QT_TIMESTAMP, .n = 0, .v.i64 = t1};
    qvec v2 = {.type = QT_TIMESTAMP, .n = 2, .v.i64 = t2};
    qbatch bs[3] = {{1, 1, &v1}, {0, 1, &v0}, {2, 1, &v2}};
    CHECK_RENDER(QUERY_FORMAT_JSON, &s, bs, 3,
                 "[{\"time\":\"1970-01-01T00:00:00\"},{\"time\":\"1970-01-01T00:00:00.001\"},"
                 "{\"time\":\"1970-01-01T00:00:00.002\"}]");
    CHECK_RENDER(QUERY_FORMAT_CSV, &s, bs, 3,
                 "time\n1970-01-01T00:00:00\n1970-01-01T00:00:00.001\n"
                 "1970-01-01T00:00:00.002\n");
}

static void test_jsonl(void)
{
    fixture fx;
    sensor_fixture(&fx);
    fx.batch.ncols = 3;
    fx.schema.n = 3;
    CHECK_RENDER(QUERY_FORMAT_JSONL, &fx.schema, &fx.batch, 1,
                 "{\"host\":\"b,\\\"c\\\"\",\"time\":\"2026-01-07T17:28:51\",\"usage\":0.9}\n"
                 "{\"host\":\"a\",\"time\":\"1970-01-01T00:00:00.000000155\"}\n"
                 "{\"host\":\"b,\\\"c\\\"\",\"time\":\"1969-12-31T23:59:59.999999999\","
                 "\"usage\":null}\n");
}

static void test_csv(void)
{
    fixture fx;
    sensor_fixture(&fx);
    CHECK_RENDER(QUERY_FORMAT_CSV, &fx.schema, &fx.batch, 1,
                 "host,time,usage,n,ok,note\n"
                 "\"b,\"\"c\"\"\",2026-01-07T17:28:51,0.9,-7,true,\n"
                 "a,1970-01-01T00:00:00.000000155,,0,false,tab\there \\ \x01 \xc3\xa9\n"
                 "\"b,\"\"c\"\"\",1969-12-31T23:59:59.999999999,NaN,9223372036854775807,,\n");
}

static void test_csv_quoting(void)
{
    fixture fx;
    memset(&fx, 0, sizeof fx);
    static qstr s[4];
    s[0] = S("plain");
    s[1] = S("two\nlines");
    s[2] = S("");
    s[3] = S("cr\r");
    fx_col(&fx, 0, "a,b", (qvec){.type = QT_STRING, .n = 4, .v.s = s});
    CHECK_RENDER(QUERY_FORMAT_CSV, &fx.schema, &fx.batch, 1,
                 "\"a,b\"\nplain\n\"two\nlines\"\n\"\"\n\"cr\r\"\n");
}

static void test_pretty(void)
{
    fixture fx;
    sensor_fixture(&fx);
    CHECK_RENDER(QUERY_FORMAT_PRETTY, &fx.schema, &fx.batch, 1,
                 "+-------+-------------------------------+-------+---------------------+"
                 "-------+----------------+\n"
                 "| host  | time                          | usage | n                   |"
                 " ok    | note           |\n"
                 "+-------+-------------------------------+-------+---------------------+"
                 "-------+----------------+\n"
                 "| b,\"c\" | 2026-01-07T17:28:51           | 0.9   | -7                  |"
                 " true  |                |\n"
                 "| a     | 1970-01-01T00:00:00.000000155 |       | 0                   |"
                 " false | tab\there \\ \x01 \xc3\xa9 |\n"
                 "| b,\"c\" | 1969-12-31T23:59:59.999999999 | NaN   | 9223372036854775807 |"
                 "       |                |\n"
                 "+-------+-------------------------------+-------+---------------------+"
                 "-------+----------------+\n");
}

static void test_pretty_multiline_and_empty(void)
{
    fixture fx;
    memset(&fx, 0, sizeof fx);
    static qstr kind[2], plan[2];
    kind[0] = S("logical_plan");
    kind[1] = S("physical_plan");
    plan[0] = S("Projection: a\n  TableScan: t");
    plan[1] = S("ScanExec");
    fx_col(&fx, 0, "plan_type", (qvec){.type = QT_STRING, .n = 2, .v.s = kind});
    fx_col(&fx, 1, "plan", (qvec){.type = QT_STRING, .n = 2, .v.s = plan});
    CHECK_RENDER(QUERY_FORMAT_PRETTY, &fx.schema, &fx.batch, 1,
                 "+---------------+----------------+\n"
                 "| plan_type     | plan           |\n"
                 "+---------------+----------------+\n"
                 "| logical_plan  | Projection: a  |\n"
                 "|               |   TableScan: t |\n"
                 "| physical_plan | ScanExec       |\n"
                 "+---------------+----------------+\n");
    CHECK_RENDER(QUERY_FORMAT_PRETTY, &fx.schema, NULL, 0,
                 "+-----------+------+\n"
                 "| plan_type | plan |\n"
                 "+-----------+------+\n"
                 "+-----------+------+\n");
    qschema none = {0, NULL};
    CHECK_RENDER(QUERY_FORMAT_PRETTY, &none, NULL, 0, "++\n++\n");
}

static void test_pretty_cap(void)
{
    fixture fx;
    memset(&fx, 0, sizeof fx);
    static qstr s[2];
    s[0] = S("0123456789");
    s[1] = S("0123456789");
    fx_col(&fx, 0, "s", (qvec){.type = QT_STRING, .n = 2, .v.s = s});
    qfmt f;
    vg_err e = {0};
    vg_buf out;
    vg_buf_init(&out);
    CHECK_INT(qfmt_init(&f, QUERY_FORMAT_PRETTY, &fx.schema, &e), VG_OK);
    f.pretty_max = 15;
    CHECK_INT(qfmt_begin(&f, &out, &e), VG_OK);
    CHECK_INT(qfmt_batch(&f, &fx.batch, &out, &e), VG_ELIMIT);
    CHECK(strstr(e.msg, "too large for format 'pretty'") != NULL);
    qfmt_free(&f);
    vg_buf_free(&out);
}

static void test_selector_interval_uint_null_type(void)
{
    fixture fx;
    memset(&fx, 0, sizeof fx);
    static double vals[2] = {72.5, 1.0};
    static int64_t st[2] = {1767806931000000000, 0};
    static int64_t iv[2] = {600 * VG_NS_PER_SEC, 0};
    static uint64_t uv[2] = {18446744073709551615ull, 1};
    static qvec sel[2];
    int none[] = {-1}, row1[] = {1, -1};
    sel[0] = (qvec){.type = QT_FLOAT, .n = 2, .valid = nulls_of(10, row1), .v.f64 = vals};
    sel[1] = (qvec){.type = QT_TIMESTAMP, .n = 2, .v.i64 = st};
    fx_col(&fx, 0, "sel",
           (qvec){.type = QT_SELECTOR, .n = 2, .valid = nulls_of(0, none), .sel = sel});
    fx_col(&fx, 1, "iv", (qvec){.type = QT_INTERVAL, .n = 2, .v.i64 = iv});
    fx_col(&fx, 2, "u", (qvec){.type = QT_UINT, .n = 2, .v.u64 = uv});
    fx_col(&fx, 3, "nothing", (qvec){.type = QT_NULL, .n = 2});
    CHECK_RENDER(QUERY_FORMAT_JSON, &fx.schema, &fx.batch, 1,
                 "[{\"sel\":{\"time\":\"2026-01-07T17:28:51\",\"value\":72.5},\"iv\":\"10 mins\","
                 "\"u\":18446744073709551615},"
                 "{\"sel\":{\"time\":\"1970-01-01T00:00:00\"},\"iv\":\"0 secs\",\"u\":1}]");
    CHECK_RENDER(QUERY_FORMAT_CSV, &fx.schema, &fx.batch, 1,
                 "sel,iv,u,nothing\n"
                 "\"{time: 2026-01-07T17:28:51, value: 72.5}\",10 mins,18446744073709551615,\n"
                 "\"{time: 1970-01-01T00:00:00, value: }\",0 secs,1,\n");
}

TEST_MAIN(test_float_rendering, test_float_shortest, test_timestamp_rendering,
          test_interval_rendering, test_json, test_json_escapes, test_json_empty_and_batches,
          test_jsonl, test_csv, test_csv_quoting, test_pretty, test_pretty_multiline_and_empty,
          test_pretty_cap, test_selector_interval_uint_null_type)
