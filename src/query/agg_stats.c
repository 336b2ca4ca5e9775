/*
 * query/agg_stats.c: stddev / variance (sample and population), median and
 * approx_percentile_cont.
 *
 * Variance uses Welford's running mean and sum of squared deviations, which stays
 * accurate when the values are large and close together (the textbook sum-of-squares
 * formula cancels catastrophically there). Median and percentiles keep every value of a
 * group and select the order statistics they need at the end, exactly.
 */
#include "func_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int as_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* A numeric input read as a double. */
static inline double as_num(const qvec *v, uint32_t r)
{
    switch (v->type) {
    case QT_INT: return (double)v->v.i64[r];
    case QT_UINT: return (double)v->v.u64[r];
    default: return v->v.f64[r];
    }
}

static int as_float_resolve(const char *name, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n >= 1 && t[0] == QT_NULL)
        t[0] = QT_FLOAT;
    if (n != 1 || !qf_is_numeric(t[0])) {
        char cand[96];
        snprintf(cand, sizeof cand, "%s(Int64), %s(UInt64), %s(Float64)", name, name, name);
        return qf_nomatch(e, name, t, n, cand);
    }
    *ret = QT_FLOAT;
    return VG_OK;
}

static bool as_numeric_input(qctx *c, const qvec *v, int *rc)
{
    *rc = VG_OK;
    if (v->type == QT_NULL)
        return false;
    if (!qf_is_numeric(v->type)) {
        *rc = vg_err_set(c->err, VG_EINTERNAL, "internal error: statistics over %s",
                         qtype_name(v->type));
        return false;
    }
    return true;
}

/* ---- variance and standard deviation ---- */

typedef struct as_welford {
    int64_t n;
    double mean;
    double m2; /* sum of squared deviations from the mean */
} as_welford;

/* The non-NULL values of rows [*r, nr) as doubles, up to AS_CHUNK of them; a float
 * column without NULLs is used in place. */
#define AS_CHUNK 256

static const double *as_chunk(const qvec *v, uint32_t *r, uint32_t nr, double *buf, uint32_t *k)
{
    if (v->type == QT_FLOAT && !v->valid) {
        *k = nr - *r;
        const double *p = v->v.f64 + *r;
        *r = nr;
        return p;
    }
    uint32_t n = 0;
    for (; *r < nr && n < AS_CHUNK; (*r)++)
        if (qvec_is_valid(v, *r))
            buf[n++] = as_num(v, *r);
    *k = n;
    return buf;
}

/* Sum of x, or of (x - mean)^2, in four lanes (a batch-local pass: its order is free). */
static double as_lanes(const double *x, uint32_t n, bool sq, double mean)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    uint32_t i = 0;
    if (sq) {
        for (; i + 4 <= n; i += 4) {
            double d0 = x[i] - mean, d1 = x[i + 1] - mean, d2 = x[i + 2] - mean,
                   d3 = x[i + 3] - mean;
            a0 += d0 * d0;
            a1 += d1 * d1;
            a2 += d2 * d2;
            a3 += d3 * d3;
        }
        for (; i < n; i++)
            a0 += (x[i] - mean) * (x[i] - mean);
    } else {
        for (; i + 4 <= n; i += 4) {
            a0 += x[i];
            a1 += x[i + 1];
            a2 += x[i + 2];
            a3 += x[i + 3];
        }
        for (; i < n; i++)
            a0 += x[i];
    }
    return (a0 + a1) + (a2 + a3);
}

/* One group: the batch's own count, mean and squared deviations (two passes, exact
 * enough for any batch), merged into the state with Chan et al.'s pairwise formula.
 * Per-row Welford would chain a division through every row. */
static void as_var_batch(as_welford *s, const qvec *v, uint32_t nr)
{
    double buf[AS_CHUNK], sum = 0, m2 = 0;
    int64_t n = 0;
    for (uint32_t r = 0, k; r < nr;) {
        const double *x = as_chunk(v, &r, nr, buf, &k);
        sum += as_lanes(x, k, false, 0);
        n += k;
    }
    if (n == 0)
        return;
    double mean = sum / (double)n;
    for (uint32_t r = 0, k; r < nr;) {
        const double *x = as_chunk(v, &r, nr, buf, &k);
        m2 += as_lanes(x, k, true, mean);
    }
    int64_t tot = s->n + n;
    double delta = mean - s->mean;
    s->mean += delta * (double)n / (double)tot;
    s->m2 += m2 + delta * delta * ((double)s->n * (double)n / (double)tot);
    s->n = tot;
}

static int as_var_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                           uint32_t na, uint32_t nr)
{
    int rc;
    if (!as_numeric_input(c, &a[0], &rc))
        return rc;
    const qvec *v = &a[0];
    if (!g) {
        as_var_batch((as_welford *)st, v, nr);
        return VG_OK;
    }
    for (uint32_t r = 0; r < nr; r++) {
        if (!qvec_is_valid(v, r))
            continue;
        as_welford *s = (as_welford *)(st + (size_t)qa_group(g, r) * stride);
        double x = as_num(v, r), d = x - s->mean;
        s->n++;
        s->mean += d / (double)s->n;
        s->m2 += d * (x - s->mean);
    }
    return VG_OK;
}

/* kind: 0 sample variance, 1 population variance, 2 sample stddev, 3 population stddev.
 * The sample forms need two values; the population forms one. */
static int as_var_finalize(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out, int kind)
{
    bool pop = kind & 1, root = kind >= 2;
    for (uint32_t k = 0; k < ng; k++) {
        const as_welford *s = (const as_welford *)(st + (size_t)k * stride);
        out->v.f64[k] = 0;
        if (s->n < (pop ? 1 : 2)) {
            if (qa_set_null(c, out, k))
                return as_err(c);
            continue;
        }
        double var = s->m2 / (double)(pop ? s->n : s->n - 1);
        out->v.f64[k] = root ? sqrt(var) : var;
    }
    return VG_OK;
}

#define AS_VAR(P, KIND, NAME)                                                                      \
    static int P##_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)                    \
    {                                                                                              \
        return as_float_resolve(NAME, t, n, ret, e);                                               \
    }                                                                                              \
    static int P##_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)            \
    {                                                                                              \
        return as_var_finalize(c, st, stride, ng, out, KIND);                                      \
    }

#define as_var_samp_update_s as_var_update_s
#define as_var_pop_update_s as_var_update_s
#define as_std_samp_update_s as_var_update_s
#define as_std_pop_update_s as_var_update_s
AS_VAR(as_var_samp, 0, "var_samp")
AS_VAR(as_var_pop, 1, "var_pop")
AS_VAR(as_std_samp, 2, "stddev_samp")
AS_VAR(as_std_pop, 3, "stddev_pop")
QA_PLAIN(as_var_samp, sizeof(as_welford))
QA_PLAIN(as_var_pop, sizeof(as_welford))
QA_PLAIN(as_std_samp, sizeof(as_welford))
QA_PLAIN(as_std_pop, sizeof(as_welford))

/* ---- kept values: median, percentiles ---- */

typedef struct as_vals {
    double *v; /* vg_malloc'd */
    uint32_t n;
    uint32_t cap;
    double p; /* approx_percentile_cont: the percentile */
} as_vals;

/* Room for `extra` more values (capacity doubling from 8). */
static int as_vals_reserve(qctx *c, as_vals *s, uint32_t extra)
{
    uint64_t need = (uint64_t)s->n + extra;
    if (need <= s->cap)
        return VG_OK;
    uint64_t cap = s->cap ? s->cap : 8;
    while (cap < need)
        cap *= 2;
    if (cap > UINT32_MAX)
        return vg_err_set(c->err, VG_ELIMIT, "too many values in one group");
    if (qa_charge(c, (size_t)(cap - s->cap) * sizeof(double)))
        return as_err(c);
    double *p = vg_realloc(s->v, (size_t)cap * sizeof(double));
    if (!p)
        return vg_err_set(c->err, VG_ENOMEM, "out of memory keeping values for a median");
    s->v = p;
    s->cap = (uint32_t)cap;
    return VG_OK;
}

static int as_vals_push(qctx *c, as_vals *s, double x)
{
    int rc = s->n == s->cap ? as_vals_reserve(c, s, 1) : VG_OK;
    if (rc == VG_OK)
        s->v[s->n++] = x;
    return rc;
}

/* A run of one group (no group ids): room once, then the values in row order. */
static int as_vals_run(qctx *c, as_vals *s, const qvec *v, uint32_t nr)
{
    int rc = as_vals_reserve(c, s, nr);
    if (rc != VG_OK)
        return rc;
    if (v->type == QT_FLOAT && !v->valid) {
        memcpy(s->v + s->n, v->v.f64, (size_t)nr * sizeof(double));
        s->n += nr;
        return VG_OK;
    }
    for (uint32_t r = 0; r < nr; r++)
        if (qvec_is_valid(v, r))
            s->v[s->n++] = as_num(v, r);
    return VG_OK;
}

static int as_vals_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                            uint32_t na, uint32_t nr)
{
    int rc;
    if (!as_numeric_input(c, &a[0], &rc))
        return rc;
    if (!g)
        return as_vals_run(c, (as_vals *)st, &a[0], nr);
    for (uint32_t r = 0; r < nr; r++) {
        if (!qvec_is_valid(&a[0], r))
            continue;
        as_vals *s = (as_vals *)(st + (size_t)qa_group(g, r) * stride);
        if ((rc = as_vals_push(c, s, as_num(&a[0], r))))
            return rc;
    }
    return VG_OK;
}

static void as_vals_destroy_s(char *st, size_t stride, uint32_t ng)
{
    for (uint32_t k = 0; k < ng; k++) {
        as_vals *s = (as_vals *)(st + (size_t)k * stride);
        vg_free(s->v);
        s->v = NULL;
        s->n = s->cap = 0;
    }
}

static void as_swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Quickselect: afterwards v[k] is the k-th smallest (NaN above every number), everything
 * before it is not larger and everything after it not smaller. Median-of-three pivots
 * keep sorted input linear. */
static void as_select(double *v, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (qf_cmp_f64(v[mid], v[lo]) < 0)
            as_swap(&v[mid], &v[lo]);
        if (qf_cmp_f64(v[hi], v[lo]) < 0)
            as_swap(&v[hi], &v[lo]);
        if (qf_cmp_f64(v[hi], v[mid]) < 0)
            as_swap(&v[hi], &v[mid]);
        double pivot = v[mid];
        uint32_t i = lo, j = hi;
        while (i <= j) {
            while (qf_cmp_f64(v[i], pivot) < 0)
                i++;
            while (qf_cmp_f64(v[j], pivot) > 0)
                j--;
            if (i <= j) {
                as_swap(&v[i], &v[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* Floyd and Rivest's selection for arrays without NaN and without -0.0, where `<` is
 * the whole order and equal values are the same bits (0.0 and -0.0 compare equal), so
 * any correct selection leaves the same value at v[k] as as_select: about n + o(n)
 * comparisons instead of 2-3 n, by first narrowing [lo, hi] around k on a sample (a
 * p99 over millions of values in a group spends most of the query's time selecting). */
static void as_select_plain(double *v, int64_t lo, int64_t hi, int64_t k)
{
    while (hi > lo) {
        if (hi - lo > 600) {
            double n = (double)(hi - lo + 1), i = (double)(k - lo + 1);
            double z = log(n), s = 0.5 * exp(2 * z / 3);
            double sd = 0.5 * sqrt(z * s * (n - s) / n) * (i - n / 2 < 0 ? -1 : 1);
            int64_t nlo = (int64_t)((double)k - i * s / n + sd);
            int64_t nhi = (int64_t)((double)k + (n - i) * s / n + sd);
            as_select_plain(v, nlo > lo ? nlo : lo, nhi < hi ? nhi : hi, k);
        }
        double t = v[k];
        int64_t i = lo, j = hi;
        as_swap(&v[lo], &v[k]);
        if (v[hi] > t)
            as_swap(&v[hi], &v[lo]);
        while (i < j) {
            as_swap(&v[i], &v[j]);
            i++;
            j--;
            while (v[i] < t)
                i++;
            while (v[j] > t)
                j--;
        }
        if (v[lo] == t) {
            as_swap(&v[lo], &v[j]);
        } else {
            j++;
            as_swap(&v[j], &v[hi]);
        }
        if (j <= k)
            lo = j + 1;
        if (k <= j)
            hi = j - 1;
    }
}

/* -0.0 (a zero with the sign bit). */
static int as_neg_zero(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b == 0x8000000000000000ULL;
}

/* No NaN and no -0.0 among v[0..n). */
static bool as_plain(const double *v, uint32_t n)
{
    int odd = 0;
    for (uint32_t i = 0; i < n; i++)
        odd |= as_neg_zero(v[i]) | (v[i] != v[i]);
    return !odd;
}

/* The smallest of v[from..n). */
static double as_min_from(const double *v, uint32_t from, uint32_t n)
{
    double m = v[from];
    for (uint32_t i = from + 1; i < n; i++)
        if (qf_cmp_f64(v[i], m) < 0)
            m = v[i];
    return m;
}

/* Linear interpolation between the order statistics around rank p * (n - 1), the
 * "continuous" percentile of PostgreSQL and DuckDB (median = p 0.5). */
static int as_cmp_plain(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Below this many values a group is selected in place. */
#define AS_SAMPLE_MIN 20000
#define AS_SAMPLE 8192

/* The values of rank lo (*a) and, when need_b, lo + 1 (*b) of v[0..n) without moving
 * v: bounds around rank lo from a sorted sample, then one pass without branches that
 * counts the values below the lower bound and copies those between the bounds, and a
 * selection among the copies (a few percent of n). false when v holds a -0.0 or the
 * ranks fall outside the bounds (an unlucky sample, or ranks among the NaN, which no
 * bound holds and which sort last): the caller then selects in v itself. Without -0.0,
 * equal values are the same bits, so the answer is the one any selection gives. */
static bool as_sample_select(const double *v, uint32_t n, uint32_t lo, bool need_b, double *a,
                             double *b)
{
    uint32_t cap = n / 8 + 1024;
    double *s = vg_malloc(AS_SAMPLE * sizeof *s), *buf = vg_malloc(((size_t)cap + 1) * sizeof *buf);
    bool ok = s && buf;
    uint64_t c = 0, below = 0;
    if (ok) {
        for (uint32_t i = 0; i < AS_SAMPLE; i++)
            s[i] = v[(uint64_t)i * n / AS_SAMPLE];
        qsort(s, AS_SAMPLE, sizeof *s, as_cmp_plain);
        uint32_t r = (uint32_t)((uint64_t)lo * AS_SAMPLE / n), d = 280; /* ~3 sqrt(sample) */
        double pl = r > d ? s[r - d] : -INFINITY;
        double ph = r + d < AS_SAMPLE ? s[r + d] : INFINITY;
        int odd = 0;
        for (uint32_t i = 0; i < n && ok; i++) {
            double x = v[i];
            odd |= as_neg_zero(x);
            below += x < pl;
            buf[c] = x;
            c += (x >= pl) & (x <= ph);
            ok = c < cap;
        }
        ok = ok && !odd && lo >= below && lo - below + (uint64_t)need_b < c;
    }
    if (ok) {
        int64_t k = (int64_t)(lo - below);
        as_select_plain(buf, 0, (int64_t)c - 1, k);
        *a = buf[k];
        if (need_b)
            *b = as_min_from(buf, (uint32_t)k + 1, (uint32_t)c);
    }
    vg_free(s);
    vg_free(buf);
    return ok;
}

static double as_percentile(double *v, uint32_t n, double p)
{
    double rank = p * (double)(n - 1);
    uint32_t lo = (uint32_t)floor(rank);
    if (lo >= n)
        lo = n - 1;
    bool need_b = !(lo + 1 >= n || rank == (double)lo);
    double a, b = 0;
    if (n < AS_SAMPLE_MIN || !as_sample_select(v, n, lo, need_b, &a, &b)) {
        if (as_plain(v, n))
            as_select_plain(v, 0, (int64_t)n - 1, lo);
        else
            as_select(v, n, lo);
        a = v[lo];
        if (need_b)
            b = as_min_from(v, lo + 1, n);
    }
    if (!need_b)
        return a;
    return a + (rank - (double)lo) * (b - a);
}

static int as_vals_finalize(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out, bool median)
{
    for (uint32_t k = 0; k < ng; k++) {
        as_vals *s = (as_vals *)(st + (size_t)k * stride);
        out->v.f64[k] = 0;
        if (s->n == 0) {
            if (qa_set_null(c, out, k))
                return as_err(c);
            continue;
        }
        out->v.f64[k] = as_percentile(s->v, s->n, median ? 0.5 : s->p);
    }
    return VG_OK;
}

static int as_median_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)
{
    return as_float_resolve("median", t, n, ret, e);
}

static int as_median_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    return as_vals_finalize(c, st, stride, ng, out, true);
}

#define as_median_update_s as_vals_update_s
QA_PLAIN(as_median, sizeof(as_vals))

static int as_pct_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)
{
    static const char cands[] = "approx_percentile_cont(Float64, Float64[, Int64])";
    if (n < 2 || n > 3)
        return qf_nomatch(e, "approx_percentile_cont", t, n, cands);
    if (t[0] == QT_NULL)
        t[0] = QT_FLOAT;
    if (t[1] == QT_NULL || qf_is_numeric(t[1]))
        t[1] = QT_FLOAT;
    if (!qf_is_numeric(t[0]) || t[1] != QT_FLOAT || (n == 3 && !qf_is_numeric(t[2])))
        return qf_nomatch(e, "approx_percentile_cont", t, n, cands);
    *ret = QT_FLOAT;
    return VG_OK;
}

/* The percentile must be a constant in [0, 1]; the optional third argument (t-digest
 * centroids) is accepted and ignored: the result is exact. */
static int as_pct_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                           uint32_t na, uint32_t nr)
{
    if (nr == 0)
        return VG_OK;
    if (na < 2)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: percentile without p");
    double p = NAN;
    if (qvec_is_valid(&a[1], 0))
        p = a[1].type == QT_FLOAT ? a[1].v.f64[0] : as_num(&a[1], 0);
    if (!(p >= 0.0 && p <= 1.0)) {
        char buf[32];
        qf_fmt_f64(p, buf);
        return vg_err_set(c->err, VG_EINVAL,
                          "Percentile value must be between 0.0 and 1.0 "
                          "inclusive, %s is invalid",
                          qvec_is_valid(&a[1], 0) ? buf : "NULL");
    }
    if (!g) { /* one group: it has p when a row has a value */
        uint32_t r = 0;
        while (r < nr && !qvec_is_valid(&a[0], r))
            r++;
        if (r < nr)
            ((as_vals *)st)->p = p;
    }
    for (uint32_t r = 0; g && r < nr; r++)
        if (qvec_is_valid(&a[0], r))
            ((as_vals *)(st + (size_t)qa_group(g, r) * stride))->p = p;
    return as_vals_update_s(c, st, stride, g, a, 1, nr);
}

static int as_pct_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    return as_vals_finalize(c, st, stride, ng, out, false);
}

QA_PLAIN(as_pct, sizeof(as_vals))

static void as_vals_destroy(void *st, uint32_t ng)
{
    as_vals_destroy_s(st, sizeof(as_vals), ng);
}

/* BY_RUN: the variances merge a whole batch into a group with other rounding than
 * row-by-row Welford updates (as_var_batch), so they are not handed runs; the kept
 * values are pushed in row order either way. */
#define AS_DEF(NAME, MIN, MAX, P, SIZE, DESTROY, DESTROY_S, BY_RUN)                                \
    {                                                                                              \
        {NAME,     MIN,        MAX,          P##_resolve, P##_size,                                \
         P##_init, P##_update, P##_finalize, DESTROY,     BY_RUN},                                 \
            SIZE, P##_update_s, P##_finalize_s, DESTROY_S                                          \
    }

const qa_def qa_stddev_def =
    AS_DEF("stddev_samp", 1, 1, as_std_samp, sizeof(as_welford), NULL, NULL, false);
const qa_def qa_stddev_pop_def =
    AS_DEF("stddev_pop", 1, 1, as_std_pop, sizeof(as_welford), NULL, NULL, false);
const qa_def qa_var_def =
    AS_DEF("var_samp", 1, 1, as_var_samp, sizeof(as_welford), NULL, NULL, false);
const qa_def qa_var_pop_def =
    AS_DEF("var_pop", 1, 1, as_var_pop, sizeof(as_welford), NULL, NULL, false);
const qa_def qa_median_def =
    AS_DEF("median", 1, 1, as_median, sizeof(as_vals), as_vals_destroy, as_vals_destroy_s, true);
const qa_def qa_percentile_def = AS_DEF("approx_percentile_cont", 2, 3, as_pct, sizeof(as_vals),
                                        as_vals_destroy, as_vals_destroy_s, true);
