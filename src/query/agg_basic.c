/*
 * query/agg_basic.c: count, sum, avg, min, max.
 *
 * These sit on the hot path of GROUP BY: each update is one loop over the rows that
 * indexes the flat state array by group id, specialized for "no NULLs" and "one group"
 * so the common loops carry no per-row tests. Integer sums accumulate in 128 bits and
 * check the Int64/UInt64 range once, at the end.
 */
#include "func_int.h"

#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static int ab_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* Runs BODY for each non-NULL row r of vec, with `s` pointing at its group's state. */
#define AB_EACH(T, st, stride, g, vec, nr, BODY)                                                   \
    do {                                                                                           \
        const uint8_t *vb_ = (vec)->valid;                                                         \
        if (!vb_ && !(g)) {                                                                        \
            T *s = (T *)(st);                                                                      \
            for (uint32_t r = 0; r < (nr); r++) {                                                  \
                BODY;                                                                              \
            }                                                                                      \
        } else if (!vb_) {                                                                         \
            for (uint32_t r = 0; r < (nr); r++) {                                                  \
                T *s = (T *)((st) + (size_t)(g)[r] * (stride));                                    \
                BODY;                                                                              \
            }                                                                                      \
        } else {                                                                                   \
            for (uint32_t r = 0; r < (nr); r++) {                                                  \
                if (!qf_bit(vb_, r))                                                               \
                    continue;                                                                      \
                T *s = (T *)((st) + (size_t)qa_group((g), r) * (stride));                          \
                BODY;                                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static int ab_nomatch(vg_err *e, const char *name, const qtype *t, uint32_t n, const char *c)
{
    return qf_nomatch(e, name, t, n, c);
}

/* ---- count ---- */

typedef struct ab_count {
    int64_t n;
} ab_count;

static int ab_count_resolve(qtype *t, uint32_t n, bool distinct, qtype *ret, vg_err *e)
{
    if (n == 0 && distinct)
        return vg_err_set(e, VG_EINVAL, "count(DISTINCT *) is not supported");
    *ret = QT_INT;
    return VG_OK;
}

static int ab_count_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                             uint32_t na, uint32_t nr)
{
    if (na > 0 && a[0].type == QT_NULL)
        return VG_OK;
    if (na == 0 || !a[0].valid) {
        /* count(*), or a column without NULLs */
        if (!g) {
            ((ab_count *)st)->n += nr;
            return VG_OK;
        }
        for (uint32_t r = 0; r < nr; r++)
            ((ab_count *)(st + (size_t)g[r] * stride))->n++;
        return VG_OK;
    }
    const uint8_t *v = a[0].valid;
    if (!g) {
        int64_t k = 0;
        for (uint32_t r = 0; r < nr; r++)
            k += (v[r >> 3] >> (r & 7)) & 1;
        ((ab_count *)st)->n += k;
        return VG_OK;
    }
    for (uint32_t r = 0; r < nr; r++)
        ((ab_count *)(st + (size_t)g[r] * stride))->n += (v[r >> 3] >> (r & 7)) & 1;
    return VG_OK;
}

static int ab_count_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    for (uint32_t k = 0; k < ng; k++)
        out->v.i64[k] = ((ab_count *)(st + (size_t)k * stride))->n;
    return VG_OK;
}

QA_PLAIN(ab_count, sizeof(ab_count))

/* ---- sum, avg ---- */

typedef struct ab_sum {
    __int128 acc; /* integers, exactly */
    double f;     /* floats */
    int64_t n;    /* non-NULL values */
} ab_sum;

static int ab_sum_resolve(qtype *t, uint32_t n, bool distinct, qtype *ret, vg_err *e)
{
    if (n == 1 && t[0] == QT_NULL)
        t[0] = QT_INT;
    if (n != 1 || !qf_is_numeric(t[0]))
        return ab_nomatch(e, "sum", t, n, "sum(Int64), sum(UInt64), sum(Float64)");
    *ret = t[0];
    return VG_OK;
}

static int ab_avg_resolve(qtype *t, uint32_t n, bool distinct, qtype *ret, vg_err *e)
{
    if (n == 1 && t[0] == QT_NULL)
        t[0] = QT_FLOAT;
    if (n != 1 || !qf_is_numeric(t[0]))
        return ab_nomatch(e, "avg", t, n, "avg(Int64), avg(UInt64), avg(Float64)");
    *ret = QT_FLOAT;
    return VG_OK;
}

static int ab_sum_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                           uint32_t na, uint32_t nr)
{
    const qvec *v = &a[0];
    switch (v->type) {
    case QT_INT: {
        const int64_t *x = v->v.i64;
        AB_EACH(ab_sum, st, stride, g, v, nr, {
            s->acc += x[r];
            s->n++;
        });
        break;
    }
    case QT_UINT: {
        const uint64_t *x = v->v.u64;
        AB_EACH(ab_sum, st, stride, g, v, nr, {
            s->acc += x[r];
            s->n++;
        });
        break;
    }
    case QT_FLOAT: {
        const double *x = v->v.f64;
        AB_EACH(ab_sum, st, stride, g, v, nr, {
            s->f += x[r];
            s->n++;
        });
        break;
    }
    case QT_NULL: break;
    default:
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: sum over %s", qtype_name(v->type));
    }
    return VG_OK;
}

static int ab_sum_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    for (uint32_t k = 0; k < ng; k++) {
        const ab_sum *s = (const ab_sum *)(st + (size_t)k * stride);
        out->v.i64[k] = 0;
        if (s->n == 0) {
            if (qa_set_null(c, out, k))
                return ab_err(c);
            continue;
        }
        switch (out->type) {
        case QT_FLOAT: out->v.f64[k] = s->f + (double)s->acc; break;
        case QT_UINT:
            if (s->acc < 0 || s->acc > (__int128)UINT64_MAX)
                return vg_err_set(c->err, VG_EINVAL,
                                  "Arithmetic overflow: sum of UInt64 values overflows UInt64");
            out->v.u64[k] = (uint64_t)s->acc;
            break;
        default:
            if (s->acc < INT64_MIN || s->acc > INT64_MAX)
                return vg_err_set(c->err, VG_EINVAL,
                                  "Arithmetic overflow: sum of Int64 values overflows Int64");
            out->v.i64[k] = (int64_t)s->acc;
            break;
        }
    }
    return VG_OK;
}

static int ab_avg_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    for (uint32_t k = 0; k < ng; k++) {
        const ab_sum *s = (const ab_sum *)(st + (size_t)k * stride);
        out->v.f64[k] = 0;
        if (s->n == 0) {
            if (qa_set_null(c, out, k))
                return ab_err(c);
            continue;
        }
        out->v.f64[k] = ((double)s->acc + s->f) / (double)s->n;
    }
    return VG_OK;
}

#define ab_avg_update_s ab_sum_update_s
QA_PLAIN(ab_sum, sizeof(ab_sum))
QA_PLAIN(ab_avg, sizeof(ab_sum))

/* ---- min, max ---- */

typedef struct ab_mm {
    union {
        int64_t i; /* also booleans (0/1), timestamps, intervals */
        uint64_t u;
        double f;
    } v;
    char *s; /* strings: an owned copy (vg_malloc) */
    uint32_t slen;
    uint32_t scap;
    uint8_t seen;
} ab_mm;

static int ab_mm_resolve(const char *name, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n == 1 && t[0] == QT_NULL)
        t[0] = QT_INT;
    if (n != 1 || t[0] == QT_SELECTOR)
        return ab_nomatch(e, name, t, n, "any one scalar argument");
    *ret = t[0];
    return VG_OK;
}

static int ab_min_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)
{
    return ab_mm_resolve("min", t, n, ret, e);
}
static int ab_max_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)
{
    return ab_mm_resolve("max", t, n, ret, e);
}

static int ab_mm_keep_str(qctx *c, ab_mm *s, qstr x)
{
    if (x.len > s->scap) {
        uint32_t cap = x.len < 16 ? 16 : x.len;
        if (qa_charge(c, cap - s->scap))
            return ab_err(c);
        char *p = vg_realloc(s->s, cap);
        if (!p)
            return vg_err_set(c->err, VG_ENOMEM, "out of memory keeping a min/max string");
        s->s = p;
        s->scap = cap;
    }
    if (x.len)
        memcpy(s->s, x.p, x.len);
    s->slen = x.len;
    s->seen = 1;
    return VG_OK;
}

/* NaN is the largest float: max keeps it, min passes over it. */
static inline double ab_fmax(double a, double b)
{
    return (b > a || b != b) ? b : a;
}
static inline double ab_fmin(double a, double b)
{
    return (b < a || a != a) ? b : a;
}
static inline int64_t ab_imax(int64_t a, int64_t b)
{
    return b > a ? b : a;
}
static inline int64_t ab_imin(int64_t a, int64_t b)
{
    return b < a ? b : a;
}

/* Four independent lanes, so the loop is not one long compare-and-select chain. */
#define AB_LANES(T, x, nr, F, out)                                                                 \
    do {                                                                                           \
        T m0 = (x)[0], m1 = m0, m2 = m0, m3 = m0;                                                  \
        uint32_t r = 0;                                                                            \
        for (; r + 4 <= (nr); r += 4) {                                                            \
            m0 = F(m0, (x)[r]);                                                                    \
            m1 = F(m1, (x)[r + 1]);                                                                \
            m2 = F(m2, (x)[r + 2]);                                                                \
            m3 = F(m3, (x)[r + 3]);                                                                \
        }                                                                                          \
        for (; r < (nr); r++)                                                                      \
            m0 = F(m0, (x)[r]);                                                                    \
        (out) = F(F(m0, m1), F(m2, m3));                                                           \
    } while (0)

/* The greatest (mx) or least of x[0..n), n > 0, when no x is NaN: false if one is.
 * Two values an instruction (SSE2 max/min; without it, ab_fmax/ab_fmin in lanes). */
static bool ab_f64_extreme(const double *x, uint32_t n, bool mx, double *out)
{
    uint32_t r = 0;
    double m = x[0];
    bool nan = false;
#if defined(__SSE2__)
    if (n >= 4) {
        __m128d a0 = _mm_loadu_pd(x), a1 = a0, bad = _mm_setzero_pd();
        for (; r + 4 <= n; r += 4) {
            __m128d p = _mm_loadu_pd(x + r), q = _mm_loadu_pd(x + r + 2);
            bad = _mm_or_pd(bad, _mm_or_pd(_mm_cmpunord_pd(p, p), _mm_cmpunord_pd(q, q)));
            a0 = mx ? _mm_max_pd(a0, p) : _mm_min_pd(a0, p);
            a1 = mx ? _mm_max_pd(a1, q) : _mm_min_pd(a1, q);
        }
        double l[4];
        _mm_storeu_pd(l, a0);
        _mm_storeu_pd(l + 2, a1);
        nan = _mm_movemask_pd(bad) != 0;
        for (int k = 0; k < 4; k++)
            m = mx ? ab_fmax(m, l[k]) : ab_fmin(m, l[k]);
    }
#else
    if (mx)
        AB_LANES(double, x, n, ab_fmax, m);
    else
        AB_LANES(double, x, n, ab_fmin, m);
    r = n;
    nan = m != m;
#endif
    for (; r < n; r++) {
        nan |= x[r] != x[r];
        m = mx ? ab_fmax(m, x[r]) : ab_fmin(m, x[r]);
    }
    *out = m;
    return !nan;
}

/* One group without NULLs: the batch's extreme in registers, then one merge. Row by
 * row, the first of equal extremes is kept; the lanes may keep another one, which is
 * the same double unless the extreme is a zero (0.0 and -0.0 compare equal) or NaN (the
 * payload): then the rows go one by one (false), so the answer is exactly theirs. */
static bool ab_mm_one(ab_mm *s, const qvec *v, uint32_t nr, bool mx)
{
    if (nr == 0 || (v->type != QT_INT && v->type != QT_TIMESTAMP && v->type != QT_INTERVAL &&
                    v->type != QT_FLOAT))
        return false;
    if (v->type == QT_FLOAT) {
        double m;
        if (!ab_f64_extreme(v->v.f64, nr, mx, &m) || m == 0 || m != m)
            return false;
        s->v.f = !s->seen ? m : mx ? ab_fmax(s->v.f, m) : ab_fmin(s->v.f, m);
    } else {
        int64_t m;
        if (mx)
            AB_LANES(int64_t, v->v.i64, nr, ab_imax, m);
        else
            AB_LANES(int64_t, v->v.i64, nr, ab_imin, m);
        s->v.i = !s->seen ? m : mx ? ab_imax(s->v.i, m) : ab_imin(s->v.i, m);
    }
    s->seen = 1;
    return true;
}

/* want < 0: keep the smallest (min); want > 0: the largest (max). */
static int ab_mm_update(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *v,
                        uint32_t nr, int want)
{
    bool mx = want > 0;
    if (!g && !v->valid && ab_mm_one((ab_mm *)st, v, nr, mx))
        return VG_OK;
    switch (v->type) {
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: {
        const int64_t *x = v->v.i64;
        AB_EACH(ab_mm, st, stride, g, v, nr, {
            int64_t cur = s->seen ? s->v.i : x[r];
            s->v.i = (mx ? x[r] > cur : x[r] < cur) ? x[r] : cur;
            s->seen = 1;
        });
        break;
    }
    case QT_UINT: {
        const uint64_t *x = v->v.u64;
        AB_EACH(ab_mm, st, stride, g, v, nr, {
            uint64_t cur = s->seen ? s->v.u : x[r];
            s->v.u = (mx ? x[r] > cur : x[r] < cur) ? x[r] : cur;
            s->seen = 1;
        });
        break;
    }
    case QT_FLOAT: {
        const double *x = v->v.f64;
        if (mx)
            AB_EACH(ab_mm, st, stride, g, v, nr, {
                s->v.f = s->seen ? ab_fmax(s->v.f, x[r]) : x[r];
                s->seen = 1;
            });
        else
            AB_EACH(ab_mm, st, stride, g, v, nr, {
                s->v.f = s->seen ? ab_fmin(s->v.f, x[r]) : x[r];
                s->seen = 1;
            });
        break;
    }
    case QT_BOOL: {
        const uint8_t *x = v->v.b;
        AB_EACH(ab_mm, st, stride, g, v, nr, {
            int64_t b = x[r] != 0;
            s->v.i = !s->seen ? b : mx ? (s->v.i | b) : (s->v.i & b);
            s->seen = 1;
        });
        break;
    }
    case QT_STRING: {
        int rc = VG_OK;
        AB_EACH(ab_mm, st, stride, g, v, nr, {
            qstr x = qvec_str(v, r);
            if (!s->seen || qf_cmp_str(x, (qstr){s->s, s->slen}) * want > 0)
                rc = ab_mm_keep_str(c, s, x);
            if (rc)
                return rc;
        });
        break;
    }
    case QT_NULL: break;
    default:
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: min/max over %s",
                          qtype_name(v->type));
    }
    return VG_OK;
}

static int ab_min_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                           uint32_t na, uint32_t nr)
{
    return ab_mm_update(c, st, stride, g, &a[0], nr, -1);
}

static int ab_max_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                           uint32_t na, uint32_t nr)
{
    return ab_mm_update(c, st, stride, g, &a[0], nr, 1);
}

static int ab_mm_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    for (uint32_t k = 0; k < ng; k++) {
        const ab_mm *s = (const ab_mm *)(st + (size_t)k * stride);
        if (out->type != QT_BOOL && out->type != QT_STRING)
            out->v.i64[k] = s->v.i;
        if (!s->seen) {
            if (out->type == QT_BOOL)
                out->v.b[k] = 0;
            else if (out->type == QT_STRING)
                out->v.s[k] = (qstr){"", 0};
            if (qa_set_null(c, out, k))
                return ab_err(c);
            continue;
        }
        if (out->type == QT_BOOL)
            out->v.b[k] = (uint8_t)s->v.i;
        else if (out->type == QT_STRING && qa_arena_str(c, s->s, s->slen, &out->v.s[k]))
            return ab_err(c);
    }
    return VG_OK;
}

static void ab_mm_destroy_s(char *st, size_t stride, uint32_t ng)
{
    for (uint32_t k = 0; k < ng; k++) {
        ab_mm *s = (ab_mm *)(st + (size_t)k * stride);
        vg_free(s->s);
        s->s = NULL;
        s->scap = s->slen = 0;
    }
}

#define ab_min_finalize_s ab_mm_finalize_s
#define ab_max_finalize_s ab_mm_finalize_s
QA_PLAIN(ab_min, sizeof(ab_mm))
QA_PLAIN(ab_max, sizeof(ab_mm))

static void ab_mm_destroy(void *st, uint32_t ng)
{
    ab_mm_destroy_s(st, sizeof(ab_mm), ng);
}

/* count, sum, avg, min and max take a run in row order (min/max's lanes give the same
 * value: see ab_mm_one), so all may run by run. */
#define AB_DEF(NAME, MIN, MAX, RES, P, SIZE, DESTROY, DESTROY_S)                                   \
    {                                                                                              \
        {NAME, MIN, MAX, RES, P##_size, P##_init, P##_update, P##_finalize, DESTROY, true}, SIZE,  \
            P##_update_s, P##_finalize_s, DESTROY_S                                                \
    }

const qa_def qa_count_def =
    AB_DEF("count", 0, 1, ab_count_resolve, ab_count, sizeof(ab_count), NULL, NULL);
const qa_def qa_sum_def = AB_DEF("sum", 1, 1, ab_sum_resolve, ab_sum, sizeof(ab_sum), NULL, NULL);
const qa_def qa_avg_def = AB_DEF("avg", 1, 1, ab_avg_resolve, ab_avg, sizeof(ab_sum), NULL, NULL);
const qa_def qa_min_def =
    AB_DEF("min", 1, 1, ab_min_resolve, ab_min, sizeof(ab_mm), ab_mm_destroy, ab_mm_destroy_s);
const qa_def qa_max_def =
    AB_DEF("max", 1, 1, ab_max_resolve, ab_max, sizeof(ab_mm), ab_mm_destroy, ab_mm_destroy_s);
