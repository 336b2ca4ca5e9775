/* Unit tests for the aggregates: every aggregate on ordinary values, NULLs, empty and
 * all-NULL groups, overflow, DISTINCT over every type, selector ties, variance
 * numerics, percentiles, the one-group fast path, memory accounting. Each run feeds
 * its rows in two updates to exercise state carried across batches. */
#include "query/func_int.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static vg_arena arena;
static vg_err err;
static qctx ctx;

static void setup(void)
{
    vg_arena_init(&arena, 0);
    memset(&ctx, 0, sizeof ctx);
    vg_err_clear(&err);
    ctx.arena = &arena;
    ctx.err = &err;
}

static void teardown(void)
{
    vg_arena_free(&arena);
}

static void *zalloc(size_t n)
{
    void *p = vg_arena_calloc(&arena, n);
    if (!p)
        abort();
    return p;
}

/* ---- vectors ---- */

static uint8_t *bitmap(const char *pattern)
{
    size_t n = strlen(pattern);
    uint8_t *b = zalloc((n + 7) / 8 + 1);
    for (size_t i = 0; i < n; i++)
        if (pattern[i] == '1')
            b[i >> 3] |= (uint8_t)(1u << (i & 7));
    return b;
}

static qvec vi(qtype t, uint32_t n, const int64_t *v, const char *valid)
{
    qvec x = {.type = t, .n = n};
    x.v.i64 = zalloc(n * 8 + 8);
    memcpy(x.v.i64, v, n * 8);
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qvec vf(uint32_t n, const double *v, const char *valid)
{
    qvec x = vi(QT_FLOAT, n, (const int64_t *)v, valid);
    return x;
}

static qvec vs(uint32_t n, const char *const *s, const char *valid)
{
    qvec x = {.type = QT_STRING, .n = n};
    x.v.s = zalloc(n * sizeof(qstr) + 8);
    for (uint32_t i = 0; i < n; i++)
        x.v.s[i] = s[i] ? (qstr){s[i], (uint32_t)strlen(s[i])} : (qstr){"", 0};
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qvec vb(uint32_t n, const uint8_t *b, const char *valid)
{
    qvec x = {.type = QT_BOOL, .n = n};
    x.v.b = zalloc(n + 8);
    memcpy(x.v.b, b, n);
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

/* Rows [from, from + n) of v; from is a multiple of 8 so the bitmap can be offset. */
static qvec slice(const qvec *v, uint32_t from, uint32_t n)
{
    qvec s = *v;
    s.n = n;
    if (v->valid)
        s.valid = v->valid + from / 8;
    if (v->ids) {
        s.ids = v->ids + from;
        return s;
    }
    switch (v->type) {
    case QT_BOOL: s.v.b = v->v.b + from; break;
    case QT_STRING: s.v.s = v->v.s + from; break;
    case QT_NULL: break;
    default: s.v.i64 = v->v.i64 + from; break;
    }
    return s;
}

/* ---- running an aggregate ---- */

static char bufs[8][1024];
static int bufi;

static void fmt_row(const qvec *v, uint32_t r, char *out, size_t size)
{
    qvalue x;
    char tmp[256];
    qf_vec_value(v, r, &x);
    if (x.null) {
        snprintf(out, size, "NULL");
        return;
    }
    qf_fmt_value(&x, tmp, sizeof tmp);
    if (x.type == QT_STRING)
        snprintf(out, size, "'%.*s'", (int)x.v.s.len, x.v.s.p);
    else
        snprintf(out, size, "%s", tmp);
}

/* Runs name(args) over nrows rows in groups (NULL = one group) and returns the
 * finalized groups comma-separated, "ERR: ..." or "RESOLVE: ...". */
static const char *run(const char *name, bool distinct, uint32_t nargs, qvec *args,
                       const uint32_t *groups, uint32_t nrows, uint32_t ngroups)
{
    char *out = bufs[bufi = (bufi + 1) % 8];
    const qagg *a = distinct ? qagg_find_distinct(name) : qagg_find(name);
    if (!a) {
        snprintf(out, 1024, "NO AGGREGATE");
        return out;
    }
    qtype t[4], ret;
    for (uint32_t i = 0; i < nargs; i++)
        t[i] = args[i].type;
    vg_err e;
    if (a->resolve(t, nargs, distinct, &ret, &e)) {
        snprintf(out, 1024, "RESOLVE: %s", e.msg);
        return out;
    }
    size_t sz = a->state_size(t, nargs);
    char *st = zalloc(sz * ngroups + 16);
    a->init(st, ngroups);
    uint32_t cut = nrows > 8 ? 8 : nrows;
    qvec first[4], second[4];
    for (uint32_t i = 0; i < nargs; i++) {
        first[i] = slice(&args[i], 0, cut);
        second[i] = slice(&args[i], cut, nrows - cut);
    }
    vg_err_clear(&err);
    int rc = a->update(&ctx, st, groups, first, nargs, cut);
    if (!rc && nrows > cut)
        rc = a->update(&ctx, st, groups ? groups + cut : NULL, second, nargs, nrows - cut);
    qvec res;
    if (!rc)
        rc = qvec_alloc(&ctx, &res, ret, ngroups);
    if (!rc)
        rc = a->finalize(&ctx, st, ngroups, &res);
    if (a->destroy)
        a->destroy(st, ngroups);
    if (rc) {
        snprintf(out, 1024, "ERR: %s", err.msg);
        return out;
    }
    size_t k = 0;
    out[0] = '\0';
    for (uint32_t g = 0; g < ngroups && k < 900; g++) {
        char one[300], two[300];
        if (ret == QT_SELECTOR) {
            fmt_row(&res.sel[0], g, one, sizeof one);
            fmt_row(&res.sel[1], g, two, sizeof two);
            k += (size_t)snprintf(out + k, 1024 - k, "%s{%s,%s}", g ? "," : "", one, two);
        } else {
            fmt_row(&res, g, one, sizeof one);
            k += (size_t)snprintf(out + k, 1024 - k, "%s%s", g ? "," : "", one);
        }
    }
    return out;
}

static const char *run1(const char *name, qvec arg, const uint32_t *groups, uint32_t ngroups)
{
    return run(name, false, 1, &arg, groups, arg.n, ngroups);
}

static const char *dist1(const char *name, qvec arg, const uint32_t *groups, uint32_t ngroups)
{
    return run(name, true, 1, &arg, groups, arg.n, ngroups);
}

/* ---- tests ---- */

static void test_registry(void)
{
    const char *names[] = {"count",          "sum",           "avg",
                           "mean",           "min",           "max",
                           "stddev",         "stddev_samp",   "stddev_pop",
                           "variance",       "var",           "var_samp",
                           "var_pop",        "median",        "approx_percentile_cont",
                           "selector_first", "selector_last", "selector_min",
                           "selector_max"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(qagg_find(names[i]) != NULL);
    CHECK(qagg_find("nope") == NULL);
    CHECK(qagg_find_distinct("count") != NULL);
    CHECK(qagg_find_distinct("min") == qagg_find("min"));
    CHECK(qagg_find_distinct("selector_first") == NULL);
    CHECK(qagg_find_distinct("approx_percentile_cont") == NULL);
    CHECK_STR(qagg_find_distinct("count")->name, "count");
    qtype t[1] = {QT_INT}, r;
    CHECK_INT(qagg_find_distinct("sum")->resolve(t, 1, true, &r, &err), VG_OK);
    CHECK_INT(r, QT_INT);
    CHECK_INT(qagg_find("count")->resolve(t, 0, true, &r, &err), VG_EINVAL);
    CHECK_STR(err.msg, "count(DISTINCT *) is not supported");
}

static void test_count(void)
{
    setup();
    int64_t v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint32_t g[10] = {0, 1, 0, 1, 0, 1, 0, 1, 2, 2};
    qvec x = vi(QT_INT, 10, v, "1011011101");
    CHECK_STR(run("count", false, 0, NULL, g, 10, 4), "4,4,2,0");
    CHECK_STR(run("count", false, 0, NULL, NULL, 10, 1), "10");
    CHECK_STR(run1("count", x, g, 4), "3,3,1,0");
    CHECK_STR(run1("count", x, NULL, 1), "7");
    qvec n = {.type = QT_NULL, .n = 10};
    CHECK_STR(run1("count", n, NULL, 1), "0");
    CHECK_STR(run1("count", x, NULL, 0), "");
    teardown();
}

static void test_sum_avg(void)
{
    setup();
    int64_t v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint32_t g[10] = {0, 1, 0, 1, 0, 1, 0, 1, 2, 2};
    qvec x = vi(QT_INT, 10, v, "1111111110");
    CHECK_STR(run1("sum", x, g, 4), "16,20,9,NULL");
    CHECK_STR(run1("sum", x, NULL, 1), "45");
    CHECK_STR(run1("avg", x, g, 4), "4.0,5.0,9.0,NULL");
    CHECK_STR(run1("avg", x, NULL, 1), "5.0");
    qvec allnull = vi(QT_INT, 10, v, "0000000000");
    CHECK_STR(run1("sum", allnull, NULL, 1), "NULL");
    CHECK_STR(run1("avg", allnull, NULL, 1), "NULL");
    /* overflow: the exact total decides, not an intermediate sum */
    int64_t big[3] = {INT64_MAX, 1, -1};
    CHECK_STR(run1("sum", vi(QT_INT, 3, big, NULL), NULL, 1), "9223372036854775807");
    int64_t over[2] = {INT64_MAX, 1};
    CHECK_STR(run1("sum", vi(QT_INT, 2, over, NULL), NULL, 1),
              "ERR: Arithmetic overflow: sum of Int64 values overflows Int64");
    int64_t under[2] = {INT64_MIN, -1};
    CHECK_STR(run1("sum", vi(QT_INT, 2, under, "11"), NULL, 1),
              "ERR: Arithmetic overflow: sum of Int64 values overflows Int64");
    /* the average of huge integers is exact before the division */
    int64_t huge[2] = {INT64_MAX, INT64_MAX - 2};
    CHECK_STR(run1("avg", vi(QT_INT, 2, huge, NULL), NULL, 1),
              "9.223372036854776e18"); /* INT64_MAX - 1 */
    uint64_t u[2] = {UINT64_MAX, 1};
    CHECK_STR(run1("sum", vi(QT_UINT, 1, (const int64_t *)u, NULL), NULL, 1),
              "18446744073709551615");
    CHECK_STR(run1("sum", vi(QT_UINT, 2, (const int64_t *)u, NULL), NULL, 1),
              "ERR: Arithmetic overflow: sum of UInt64 values overflows UInt64");
    double f[4] = {0.5, 0.25, NAN, 1e300};
    CHECK_STR(run1("sum", vf(2, f, NULL), NULL, 1), "0.75");
    CHECK_STR(run1("avg", vf(2, f, NULL), NULL, 1), "0.375");
    CHECK_STR(run1("sum", vf(3, f, NULL), NULL, 1), "NaN");
    CHECK_STR(run1("sum", vf(4, f, "1101"), NULL, 1), "1e300");
    const char *s[1] = {"x"};
    CHECK_STR(run1("sum", vs(1, s, NULL), NULL, 1),
              "RESOLVE: no function matches 'sum(Utf8)'. Candidates: sum(Int64), sum(UInt64), "
              "sum(Float64)");
    teardown();
}

static void test_min_max(void)
{
    setup();
    int64_t v[10] = {5, -2, 9, 4, 0, 7, 3, 8, -9, 10};
    uint32_t g[10] = {0, 1, 0, 1, 0, 1, 0, 1, 2, 2};
    qvec x = vi(QT_INT, 10, v, "1111111101");
    CHECK_STR(run1("min", x, g, 4), "0,-2,10,NULL");
    CHECK_STR(run1("max", x, g, 4), "9,8,10,NULL");
    CHECK_STR(run1("max", x, NULL, 1), "10");
    double f[5] = {1.5, NAN, -3.0, 2.0, -0.0};
    CHECK_STR(run1("max", vf(5, f, NULL), NULL, 1), "NaN");
    CHECK_STR(run1("min", vf(5, f, NULL), NULL, 1), "-3.0");
    CHECK_STR(run1("max", vf(5, f, "10111"), NULL, 1), "2.0");
    const char *s[10] = {"pump", "Fan", "éclair", "zebra", "", "valve", "ab", "a", NULL, "b"};
    qvec sv = vs(10, s, "1111111101");
    CHECK_STR(run1("min", sv, g, 4), "'','Fan','b',NULL");
    CHECK_STR(run1("max", sv, g, 4), "'éclair','zebra','b',NULL");
    CHECK_STR(run1("max", sv, NULL, 1), "'éclair'");
    /* dictionary strings */
    static const qstr dict[3] = {{"m", 1}, {"zz", 2}, {"a", 1}};
    uint32_t ids[10] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
    qvec dv = {.type = QT_STRING, .n = 10, .ids = ids, .dict = dict, .dict_n = 3, .dict_id = 1};
    CHECK_STR(run1("min", dv, g, 3), "'a','a','a'");
    CHECK_STR(run1("max", dv, g, 3), "'zz','zz','m'");
    uint8_t b[4] = {1, 0, 1, 1};
    CHECK_STR(run1("min", vb(4, b, NULL), NULL, 1), "false");
    CHECK_STR(run1("max", vb(4, b, "1011"), NULL, 1), "true");
    CHECK_STR(run1("min", vb(4, b, "1011"), NULL, 1), "true");
    int64_t ts[3] = {300, -100, 200};
    CHECK_STR(run1("min", vi(QT_TIMESTAMP, 3, ts, NULL), NULL, 1), "1969-12-31T23:59:59.999999900");
    uint64_t u[3] = {5, UINT64_MAX, 0};
    CHECK_STR(run1("max", vi(QT_UINT, 3, (const int64_t *)u, NULL), NULL, 1),
              "18446744073709551615");
    CHECK_STR(run1("min", vi(QT_UINT, 3, (const int64_t *)u, NULL), NULL, 1), "0");
    teardown();
}

static void test_variance(void)
{
    setup();
    double d[8] = {2, 4, 4, 4, 5, 5, 7, 9};
    qvec x = vf(8, d, NULL);
    CHECK_STR(run1("var_pop", x, NULL, 1), "4.0");
    CHECK_STR(run1("stddev_pop", x, NULL, 1), "2.0");
    CHECK_STR(run1("var_samp", x, NULL, 1), "4.571428571428571");
    CHECK_STR(run1("variance", x, NULL, 1), "4.571428571428571");
    CHECK_STR(run1("stddev", x, NULL, 1), "2.138089935299395");
    /* one value: the sample forms are NULL, the population forms 0 */
    CHECK_STR(run1("var_samp", vf(1, d, NULL), NULL, 1), "NULL");
    CHECK_STR(run1("stddev_samp", vf(1, d, NULL), NULL, 1), "NULL");
    CHECK_STR(run1("var_pop", vf(1, d, NULL), NULL, 1), "0.0");
    CHECK_STR(run1("var_pop", vf(8, d, "00000000"), NULL, 1), "NULL");
    /* large values close together: the naive formula loses every digit here */
    double big[4] = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
    CHECK_STR(run1("var_samp", vf(4, big, NULL), NULL, 1), "30.0");
    double bigger[4] = {1e15 + 4, 1e15 + 7, 1e15 + 13, 1e15 + 16};
    CHECK_STR(run1("var_samp", vf(4, bigger, NULL), NULL, 1), "30.0");
    int64_t iv[4] = {1, 2, 3, 4};
    uint32_t g[4] = {0, 1, 0, 1};
    CHECK_STR(run1("var_samp", vi(QT_INT, 4, iv, NULL), g, 2), "2.0,2.0");
    /* random data against a two-pass reference */
    enum { N = 1000 };
    double *r = zalloc(N * 8), mean = 0, ss = 0;
    srand(7);
    for (int i = 0; i < N; i++) {
        r[i] = 1e6 + (double)(rand() % 100000) / 7.0;
        mean += r[i];
    }
    mean /= N;
    for (int i = 0; i < N; i++)
        ss += (r[i] - mean) * (r[i] - mean);
    double want = ss / (N - 1), got = atof(run1("var_samp", vf(N, r, NULL), NULL, 1));
    CHECK(fabs(got - want) <= 1e-9 * want);
    teardown();
}

static void test_median_percentile(void)
{
    setup();
    double odd[5] = {3, 1, 2, NAN, 100};
    CHECK_STR(run1("median", vf(3, odd, NULL), NULL, 1), "2.0");
    double even[4] = {4, 1, 3, 2};
    CHECK_STR(run1("median", vf(4, even, NULL), NULL, 1), "2.5");
    int64_t iv[6] = {7, 1, 4, 10, 5, 6};
    uint32_t g[6] = {0, 0, 0, 1, 1, 2};
    CHECK_STR(run1("median", vi(QT_INT, 6, iv, "111110"), g, 4), "4.0,7.5,NULL,NULL");
    CHECK_STR(run1("median", vf(5, odd, "11101"), NULL, 1), "2.5");
    CHECK_STR(run1("median", vf(4, odd, NULL), NULL, 1), "2.5"); /* NaN sorts last */
    double five[5] = {5, 1, 4, 2, 3};
    struct {
        double p;
        const char *want;
    } t[] = {{0, "1.0"}, {1, "5.0"}, {0.5, "3.0"}, {0.25, "2.0"}, {0.1, "1.4"}, {0.95, "4.8"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double p[5] = {t[i].p, t[i].p, t[i].p, t[i].p, t[i].p};
        qvec a[2] = {vf(5, five, NULL), vf(5, p, NULL)};
        CHECK_STR(run("approx_percentile_cont", false, 2, a, NULL, 5, 1), t[i].want);
    }
    double bad[2] = {1.5, 1.5};
    qvec a[2] = {vf(2, five, NULL), vf(2, bad, NULL)};
    CHECK_STR(run("approx_percentile_cont", false, 2, a, NULL, 2, 1),
              "ERR: Percentile value must be between 0.0 and 1.0 inclusive, 1.5 is invalid");
    a[1].valid = bitmap("00");
    CHECK_STR(run("approx_percentile_cont", false, 2, a, NULL, 2, 1),
              "ERR: Percentile value must be between 0.0 and 1.0 inclusive, NULL is invalid");
    const char *s[1] = {"x"};
    qvec sa[2] = {vs(1, s, NULL), vf(1, bad, NULL)};
    CHECK_STR(run("approx_percentile_cont", false, 2, sa, NULL, 1, 1),
              "RESOLVE: no function matches 'approx_percentile_cont(Utf8, Float64)'. Candidates: "
              "approx_percentile_cont(Float64, Float64[, Int64])");
    /* many values: quickselect against a full sort */
    enum { N = 2001 };
    double *r = zalloc(N * 8), *sorted = zalloc(N * 8);
    srand(11);
    for (int i = 0; i < N; i++)
        sorted[i] = r[i] = (double)(rand() % 500);
    for (int i = 1; i < N; i++)
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }
    CHECK(atof(run1("median", vf(N, r, NULL), NULL, 1)) == sorted[N / 2]);
    double pp[N];
    for (int i = 0; i < N; i++)
        pp[i] = 0.9;
    qvec pa[2] = {vf(N, r, NULL), vf(N, pp, NULL)};
    CHECK(atof(run("approx_percentile_cont", false, 2, pa, NULL, N, 1)) == sorted[1800]);
    teardown();
}

static int cmp_double(const void *a, const void *b) /* NaN last */
{
    double x = *(const double *)a, y = *(const double *)b;
    if (x != x || y != y)
        return (x != x) - (y != y);
    return (x > y) - (x < y);
}

/* Percentiles of many values without -0.0 (selected by Floyd-Rivest, or among the
 * values between bounds from a sample) against a full sort, for ranks at both ends, in
 * the middle and between two values, and with NaN (last); with a -0.0 beside 0.0 the
 * exact old selection is kept (same answers). */
static void percentile_selection(int N)
{
    setup();
    double *x = zalloc(N * 8), *sorted = zalloc(N * 8), *pv = zalloc(N * 8);
    uint64_t st = 12345;
    for (int i = 0; i < N; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        /* few duplicates in one half, many in the other; 0.0 but no -0.0 */
        x[i] = i % 2 ? (double)((int64_t)(st >> 30) % 2000000 - 1000000) + 0.5
                     : (double)((int)(st >> 40) % 3000 - 1500) + 0.25 * (i % 1000 != 0);
    }
    memcpy(sorted, x, N * 8);
    qsort(sorted, N, 8, cmp_double);
    static const double ps[] = {0, 1e-5, 0.001, 0.25, 0.5, 0.9, 0.99, 0.99999, 1, 0.123456};
    uint32_t bad = 0;
    for (size_t t = 0; t < sizeof ps / sizeof *ps; t++) {
        for (int i = 0; i < N; i++)
            pv[i] = ps[t];
        qvec a[2] = {vf(N, x, NULL), vf(N, pv, NULL)};
        double rank = ps[t] * (N - 1), lo = floor(rank);
        double want = sorted[(int)lo];
        if ((int)lo + 1 < N && rank != lo)
            want += (rank - lo) * (sorted[(int)lo + 1] - want);
        char buf[64];
        qf_fmt_f64(want, buf);
        const char *got = run("approx_percentile_cont", false, 2, a, NULL, N, 1);
        if (strcmp(got, buf) != 0) {
            printf("  p %g: got %s, want %s\n", ps[t], got, buf);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    for (int i = 0; i < N / 100; i++) /* NaN sorts last: 1% of them shift every rank */
        x[(i * 7919) % N] = NAN;
    memcpy(sorted, x, N * 8);
    qsort(sorted, N, 8, cmp_double);
    for (int i = 0; i < N; i++)
        pv[i] = 0.75;
    qvec an[2] = {vf(N, x, NULL), vf(N, pv, NULL)};
    double rank = 0.75 * (N - 1), lo = floor(rank), want = sorted[(int)lo];
    want += (rank - lo) * (sorted[(int)lo + 1] - want);
    char nb[64];
    qf_fmt_f64(want, nb);
    CHECK_STR(run("approx_percentile_cont", false, 2, an, NULL, N, 1), nb);
    x[77] = -0.0; /* beside 0.0: the row-order selection, as before */
    memcpy(sorted, x, N * 8);
    qsort(sorted, N, 8, cmp_double);
    char buf[64];
    qf_fmt_f64(sorted[N / 2], buf);
    CHECK_STR(run1("median", vf(N, x, NULL), NULL, 1), buf);
    teardown();
}

static void test_percentile_selection(void)
{
    percentile_selection(15001); /* selected in place */
    percentile_selection(60001); /* by a sample and one pass */
}

static void test_selectors(void)
{
    setup();
    /* value, time, group */
    double v[10] = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0};
    int64_t t[10] = {30, 10, 10, 40, 40, 20, 5, 99, 1, 2};
    uint32_t g[10] = {0, 0, 0, 0, 0, 0, 1, 1, 2, 2};
    qvec a[2] = {vf(10, v, "1111111101"), vi(QT_TIMESTAMP, 10, t, "1111111110")};
    /* group 0: times 30,10,10,40,40,20: first = earliest time, tie -> first seen (2.0);
     * last = latest time, tie -> last seen (5.0). group 2: both rows have a NULL. */
    CHECK_STR(run("selector_first", false, 2, a, g, 10, 4),
              "{2.0,1970-01-01T00:00:00.000000010},{7.0,1970-01-01T00:00:00.000000005},"
              "{NULL,NULL},{NULL,NULL}");
    CHECK_STR(run("selector_last", false, 2, a, g, 10, 3),
              "{5.0,1970-01-01T00:00:00.000000040},{8.0,1970-01-01T00:00:00.000000099},"
              "{NULL,NULL}");
    /* min / max by value; ties take the earliest time */
    double w[6] = {5, 1, 9, 1, 9, 3};
    int64_t wt[6] = {1, 50, 60, 20, 30, 7};
    qvec b[2] = {vf(6, w, NULL), vi(QT_TIMESTAMP, 6, wt, NULL)};
    CHECK_STR(run("selector_min", false, 2, b, NULL, 6, 1), "{1.0,1970-01-01T00:00:00.000000020}");
    CHECK_STR(run("selector_max", false, 2, b, NULL, 6, 1), "{9.0,1970-01-01T00:00:00.000000030}");
    /* string values */
    const char *s[4] = {"b", "a", "c", "a"};
    int64_t st[4] = {4, 3, 2, 1};
    qvec c[2] = {vs(4, s, NULL), vi(QT_TIMESTAMP, 4, st, NULL)};
    CHECK_STR(run("selector_first", false, 2, c, NULL, 4, 1),
              "{'a',1970-01-01T00:00:00.000000001}");
    CHECK_STR(run("selector_max", false, 2, c, NULL, 4, 1), "{'c',1970-01-01T00:00:00.000000002}");
    CHECK_STR(run("selector_min", false, 2, c, NULL, 4, 1), "{'a',1970-01-01T00:00:00.000000001}");
    /* integer and boolean values */
    int64_t iv[3] = {7, -7, 7};
    qvec d[2] = {vi(QT_INT, 3, iv, NULL), vi(QT_TIMESTAMP, 3, st, NULL)};
    CHECK_STR(run("selector_last", false, 2, d, NULL, 3, 1), "{7,1970-01-01T00:00:00.000000004}");
    CHECK_STR(run("selector_max", false, 2, d, NULL, 3, 1), "{7,1970-01-01T00:00:00.000000002}");
    const char *bad[1] = {"x"};
    qvec e2[2] = {vf(1, v, NULL), vs(1, bad, NULL)};
    e2[1].type = QT_FLOAT;
    CHECK_STR(run("selector_first", false, 2, e2, NULL, 1, 1),
              "RESOLVE: no function matches 'selector_first(Float64, Float64)'. Candidates: "
              "selector_first(<any scalar>, Timestamp(Nanosecond, None))");
    teardown();
}

static void test_selector_typed_output(void)
{
    setup();
    /* no rows at all: a caller that knows the value type gets typed NULLs */
    const qagg *a = qagg_find("selector_last");
    char st[64];
    a->init(st, 1);
    qvec out;
    CHECK_INT(qvec_alloc(&ctx, &out, QT_SELECTOR, 1), VG_OK);
    CHECK_INT(qvec_alloc(&ctx, &out.sel[0], QT_FLOAT, 1), VG_OK);
    CHECK_INT(a->finalize(&ctx, st, 1, &out), VG_OK);
    CHECK_INT(out.sel[0].type, QT_FLOAT);
    CHECK(!qvec_is_valid(&out.sel[0], 0) && !qvec_is_valid(&out.sel[1], 0));
    /* ... and one that does not gets an untyped all-NULL value column */
    a->init(st, 1);
    CHECK_INT(qvec_alloc(&ctx, &out, QT_SELECTOR, 1), VG_OK);
    CHECK_INT(a->finalize(&ctx, st, 1, &out), VG_OK);
    CHECK_INT(out.sel[0].type, QT_NULL);
    CHECK(!qvec_is_valid(&out.sel[0], 0));
    a->destroy(st, 1);
    teardown();
}

static void test_distinct(void)
{
    setup();
    int64_t v[12] = {1, 1, 2, 2, 3, 3, 1, 2, 5, 5, 5, 6};
    uint32_t g[12] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2};
    qvec x = vi(QT_INT, 12, v, "111111111110");
    CHECK_STR(dist1("count", x, g, 4), "3,3,0,0");
    CHECK_STR(dist1("count", x, NULL, 1), "4");
    CHECK_STR(dist1("sum", x, g, 4), "6,8,NULL,NULL");
    CHECK_STR(dist1("avg", x, g, 3), "2.0,2.6666666666666665,NULL");
    CHECK_STR(dist1("median", x, g, 2), "2.0,2.0");
    CHECK_STR(dist1("var_samp", x, NULL, 1), "2.9166666666666665"); /* of 1, 2, 3, 5 */
    CHECK_STR(dist1("max", x, g, 2), "3,5");
    /* floats: -0.0 equals 0.0, NaN equals NaN */
    double f[6] = {0.0, -0.0, NAN, NAN, 1.5, 1.5};
    CHECK_STR(dist1("count", vf(6, f, NULL), NULL, 1), "3");
    /* strings, plain and dictionary-encoded */
    const char *s[10] = {"a", "b", "a", "", "", "日本", "日本", "b", "c", NULL};
    CHECK_STR(dist1("count", vs(10, s, "1111111110"), NULL, 1), "5");
    CHECK_STR(dist1("count", vs(10, s, "1111111110"), g, 3), "4,3,0");
    static const qstr dict[3] = {{"x", 1}, {"y", 1}, {"z", 1}};
    uint32_t ids[12] = {0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 0, 0};
    qvec dv = {.type = QT_STRING, .n = 12, .ids = ids, .dict = dict, .dict_n = 3, .dict_id = 9};
    CHECK_STR(dist1("count", dv, g, 3), "2,2,1");
    uint8_t b[5] = {1, 1, 0, 1, 0};
    CHECK_STR(dist1("count", vb(5, b, NULL), NULL, 1), "2");
    /* many distinct values: the sets grow */
    enum { N = 5000 };
    int64_t *many = zalloc(N * 8);
    uint32_t *mg = zalloc(N * 4);
    for (int i = 0; i < N; i++) {
        many[i] = i % 1234;
        mg[i] = (uint32_t)(i % 2);
    }
    CHECK_STR(dist1("count", vi(QT_INT, N, many, NULL), mg, 2), "617,617");
    CHECK_STR(dist1("count", vi(QT_INT, N, many, NULL), NULL, 1), "1234");
    teardown();
}

static void test_one_group_fast_path(void)
{
    setup();
    /* groups NULL and an explicit all-zero groups array agree */
    enum { N = 100 };
    int64_t v[N];
    uint32_t g[N];
    char valid[N + 1];
    for (int i = 0; i < N; i++) {
        v[i] = i * 3 - 50;
        g[i] = 0;
        valid[i] = i % 3 ? '1' : '0';
    }
    valid[N] = '\0';
    const char *aggs[] = {"count", "sum", "avg", "min", "max", "stddev", "median"};
    for (size_t k = 0; k < sizeof aggs / sizeof aggs[0]; k++) {
        char a1[64], a2[64];
        snprintf(a1, sizeof a1, "%s", run1(aggs[k], vi(QT_INT, N, v, valid), NULL, 1));
        snprintf(a2, sizeof a2, "%s", run1(aggs[k], vi(QT_INT, N, v, valid), g, 1));
        CHECK_STR(a1, a2);
    }
    CHECK_STR(run1("sum", vi(QT_INT, N, v, valid), NULL, 1), "6501");
    teardown();
}

static void test_memory_accounting(void)
{
    setup();
    enum { N = 10000 };
    double *v = zalloc(N * 8);
    for (int i = 0; i < N; i++)
        v[i] = i;
    ctx.mem_budget = 64 * 1024;
    ctx.mem_used = 0;
    CHECK_STR(run1("median", vf(N, v, NULL), NULL, 1),
              "ERR: query exceeded its memory budget of 65536 bytes (--exec-mem-pool-bytes)");
    ctx.mem_budget = 0;
    ctx.mem_used = 0;
    CHECK_STR(run1("median", vf(N, v, NULL), NULL, 1), "4999.5");
    CHECK(ctx.mem_used >= N * sizeof(double));
    teardown();

    /* destroy returns everything the states owned: with an arena block large enough for
     * the whole test, only state-owned memory could move the allocator's count */
    setup();
    vg_arena_free(&arena);
    vg_arena_init(&arena, 4 << 20);
    v = zalloc(N * 8);
    for (int i = 0; i < N; i++)
        v[i] = i;
    const char *s[3] = {"a long string value that needs a buffer", "b", "zzzz"};
    int64_t t[3] = {1, 2, 3};
    qvec sel[2] = {vs(3, s, NULL), vi(QT_TIMESTAMP, 3, t, NULL)};
    size_t before = vg_mem_used();
    CHECK_STR(run1("max", vs(3, s, NULL), NULL, 1), "'zzzz'");
    CHECK_STR(run1("min", vs(3, s, NULL), NULL, 1), "'a long string value that needs a buffer'");
    CHECK_STR(dist1("count", vs(3, s, NULL), NULL, 1), "3");
    CHECK_STR(dist1("median", vf(N, v, NULL), NULL, 1), "4999.5");
    CHECK_STR(run("selector_last", false, 2, sel, NULL, 3, 1),
              "{'zzzz',1970-01-01T00:00:00.000000003}");
    CHECK_INT(vg_mem_used(), before);
    teardown();
}

TEST_MAIN(test_registry, test_count, test_sum_avg, test_min_max, test_variance,
          test_median_percentile, test_percentile_selection, test_selectors,
          test_selector_typed_output, test_distinct, test_one_group_fast_path,
          test_memory_accounting)
