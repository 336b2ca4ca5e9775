/*
 * query/func_math.c: numeric functions (abs, round, floor, ceil, trunc, sqrt, cbrt, ln,
 * log2, log10, exp, power, signum) and the conditional ones that pick among their
 * arguments (greatest, least, coalesce, nullif).
 *
 * Float functions follow IEEE and DataFusion: sqrt and ln of a negative number are NaN,
 * ln(0) is -inf. Integer abs and power check for overflow.
 */
#include "func_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int mth_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

static int mth_out(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qtype t, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return mth_err(c);
    int rc = qf_mem_vec(c, m, out, t, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, na);
    return rc;
}

/* ---- unary float functions ---- */

enum { M_FLOOR, M_CEIL, M_TRUNC, M_SQRT, M_CBRT, M_LN, M_LOG2, M_LOG10, M_EXP, M_SIGNUM };
static const char *const mth_names[] = {"floor", "ceil", "trunc", "sqrt", "cbrt",
                                        "ln",    "log2", "log10", "exp",  "signum"};

static int mth_float1_resolve(const char *name, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n == 1 && (qf_is_numeric(t[0]) || t[0] == QT_NULL)) {
        t[0] = *ret = QT_FLOAT;
        return VG_OK;
    }
    char cand[64];
    snprintf(cand, sizeof cand, "%s(Float64)", name);
    return qf_nomatch(e, name, t, n, cand);
}

/* A switch outside the loops: each function runs its own tight loop. */
static void mth_float1(int f, const double *x, uint32_t n, double *o)
{
    switch (f) {
    case M_FLOOR:
        for (uint32_t i = 0; i < n; i++)
            o[i] = floor(x[i]);
        break;
    case M_CEIL:
        for (uint32_t i = 0; i < n; i++)
            o[i] = ceil(x[i]);
        break;
    case M_TRUNC:
        for (uint32_t i = 0; i < n; i++)
            o[i] = trunc(x[i]);
        break;
    case M_SQRT:
        for (uint32_t i = 0; i < n; i++)
            o[i] = sqrt(x[i]);
        break;
    case M_CBRT:
        for (uint32_t i = 0; i < n; i++)
            o[i] = cbrt(x[i]);
        break;
    case M_LN:
        for (uint32_t i = 0; i < n; i++)
            o[i] = log(x[i]);
        break;
    case M_LOG2:
        for (uint32_t i = 0; i < n; i++)
            o[i] = log2(x[i]);
        break;
    case M_LOG10:
        for (uint32_t i = 0; i < n; i++)
            o[i] = log10(x[i]);
        break;
    case M_EXP:
        for (uint32_t i = 0; i < n; i++)
            o[i] = exp(x[i]);
        break;
    case M_SIGNUM:
        /* Rust's f64::signum: 1.0 for +0.0, -1.0 for -0.0, NaN for NaN. */
        for (uint32_t i = 0; i < n; i++)
            o[i] = isnan(x[i]) ? x[i] : copysign(1.0, x[i]);
        break;
    }
}

#define MTH_F1(ID, FN)                                                                             \
    static int FN##_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)                             \
    {                                                                                              \
        return mth_float1_resolve(mth_names[ID], t, n, r, e);                                      \
    }                                                                                              \
    static int FN(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)         \
    {                                                                                              \
        int rc = mth_out(c, call, a, 1, n, QT_FLOAT, out);                                         \
        if (!rc)                                                                                   \
            mth_float1(ID, a[0].v.f64, n, out->v.f64);                                             \
        return rc;                                                                                 \
    }

MTH_F1(M_FLOOR, mth_floor)
MTH_F1(M_CEIL, mth_ceil)
MTH_F1(M_TRUNC, mth_trunc)
MTH_F1(M_SQRT, mth_sqrt)
MTH_F1(M_CBRT, mth_cbrt)
MTH_F1(M_LN, mth_ln)
MTH_F1(M_LOG2, mth_log2)
MTH_F1(M_LOG10, mth_log10)
MTH_F1(M_EXP, mth_exp)
MTH_F1(M_SIGNUM, mth_signum)

/* ---- abs ---- */

static int mth_abs_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n == 1 && t[0] == QT_NULL)
        t[0] = QT_INT;
    if (n == 1 && (qf_is_numeric(t[0]) || t[0] == QT_INTERVAL)) {
        *ret = t[0];
        return VG_OK;
    }
    return qf_nomatch(e, "abs", t, n, "abs(Int64), abs(UInt64), abs(Float64)");
}

static int mth_abs(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    int rc = mth_out(c, call, a, 1, n, a[0].type, out);
    if (rc)
        return rc;
    switch (a[0].type) {
    case QT_FLOAT:
        for (uint32_t i = 0; i < n; i++)
            out->v.f64[i] = fabs(a[0].v.f64[i]);
        return VG_OK;
    case QT_UINT: memcpy(out->v.u64, a[0].v.u64, (size_t)n * 8); return VG_OK;
    default: break;
    }
    bool bad = false;
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = a[0].v.i64[i];
        bad |= v == INT64_MIN;
        out->v.i64[i] = v < 0 ? -(v | (v == INT64_MIN)) : v; /* no UB on the bad row */
    }
    for (uint32_t i = 0; bad && i < n; i++)
        if (a[0].v.i64[i] == INT64_MIN && qvec_is_valid(out, i))
            return vg_err_set(c->err, VG_EINVAL, "Arithmetic overflow: Int64 overflow on abs(%lld)",
                              (long long)INT64_MIN);
    return VG_OK;
}

/* ---- round ---- */

static int mth_round_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (t[0] == QT_NULL || qf_is_numeric(t[0]))
        t[0] = QT_FLOAT;
    if (n == 2 && (t[1] == QT_NULL || t[1] == QT_UINT))
        t[1] = QT_INT;
    if (t[0] != QT_FLOAT || (n == 2 && t[1] != QT_INT))
        return qf_nomatch(e, "round", t, n, "round(Float64), round(Float64, Int64)");
    *ret = QT_FLOAT;
    return VG_OK;
}

/* Halves round away from zero (Rust's f64::round); with digits, as DataFusion:
 * round(x * 10^d) / 10^d. */
static int mth_round(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    int rc = mth_out(c, call, a, na, n, QT_FLOAT, out);
    if (rc)
        return rc;
    const double *x = a[0].v.f64;
    double *o = out->v.f64;
    if (na == 1) {
        for (uint32_t i = 0; i < n; i++)
            o[i] = round(x[i]);
        return VG_OK;
    }
    bool dc = qf_arg_const(call, 1);
    double p = pow(10.0, (double)a[1].v.i64[0]);
    for (uint32_t i = 0; i < n; i++) {
        if (!dc) {
            int64_t d = a[1].v.i64[i];
            p = pow(10.0, (double)(d > 400 ? 400 : d < -400 ? -400 : d));
        }
        o[i] = round(x[i] * p) / p;
    }
    return VG_OK;
}

/* ---- power ---- */

static int mth_power_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    for (uint32_t i = 0; i < n; i++)
        if (t[i] == QT_NULL || t[i] == QT_UINT)
            t[i] = QT_INT;
    if (n != 2 || !qf_is_numeric(t[0]) || !qf_is_numeric(t[1]))
        return qf_nomatch(e, "power", t, n, "power(Int64, Int64), power(Float64, Float64)");
    if (t[0] == QT_INT && t[1] == QT_INT) {
        *ret = QT_INT;
        return VG_OK;
    }
    t[0] = t[1] = *ret = QT_FLOAT;
    return VG_OK;
}

static bool mth_ipow(int64_t b, int64_t e, int64_t *out)
{
    int64_t r = 1;
    while (e > 0) {
        if ((e & 1) && __builtin_mul_overflow(r, b, &r))
            return false;
        e >>= 1;
        if (e && __builtin_mul_overflow(b, b, &b))
            return false;
    }
    *out = r;
    return true;
}

static int mth_power(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    int rc = mth_out(c, call, a, 2, n, a[0].type, out);
    if (rc)
        return rc;
    if (a[0].type == QT_FLOAT) {
        for (uint32_t i = 0; i < n; i++)
            out->v.f64[i] = pow(a[0].v.f64[i], a[1].v.f64[i]);
        return VG_OK;
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t b = a[0].v.i64[i], e = a[1].v.i64[i];
        out->v.i64[i] = 0;
        if (!qvec_is_valid(out, i))
            continue;
        if (e < 0)
            return vg_err_set(c->err, VG_EINVAL,
                              "Can't use negative exponents: %lld in integer "
                              "computation, please use Float.",
                              (long long)e);
        if (!mth_ipow(b, e, &out->v.i64[i]))
            return vg_err_set(c->err, VG_EINVAL,
                              "Arithmetic overflow: Overflow happened on: %lld ^ %lld",
                              (long long)b, (long long)e);
    }
    return VG_OK;
}

/* ---- greatest, least, coalesce, nullif ---- */

static int mth_common_resolve(const char *name, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    qtype c = QT_NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!qf_common_type(c, t[i], &c))
            return vg_err_set(e, VG_EINVAL,
                              "%s: arguments of types %s and %s have no common "
                              "type",
                              name, qtype_name(c), qtype_name(t[i]));
    }
    if (c == QT_SELECTOR)
        return qf_nomatch(e, name, t, n, "scalar arguments of one type");
    if (c == QT_NULL)
        c = QT_INT; /* all NULL: any type will do */
    for (uint32_t i = 0; i < n; i++)
        t[i] = c;
    *ret = c;
    return VG_OK;
}

static int mth_greatest_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return mth_common_resolve("greatest", t, n, r, e);
}
static int mth_least_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return mth_common_resolve("least", t, n, r, e);
}
static int mth_coalesce_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return mth_common_resolve("coalesce", t, n, r, e);
}
static int mth_nullif_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return mth_common_resolve("nullif", t, n, r, e);
}

/* Whether row i of b should replace row i of the result kept so far. */
static bool mth_better(const qvec *b, uint32_t i, const qvec *o, bool greatest)
{
    int r;
    switch (o->type) {
    case QT_FLOAT: r = qf_cmp_f64(b->v.f64[i], o->v.f64[i]); break;
    case QT_UINT: r = b->v.u64[i] < o->v.u64[i] ? -1 : b->v.u64[i] > o->v.u64[i]; break;
    case QT_BOOL: r = (int)b->v.b[i] - (int)o->v.b[i]; break;
    case QT_STRING: r = qf_cmp_str(qvec_str(b, i), o->v.s[i]); break;
    default: r = b->v.i64[i] < o->v.i64[i] ? -1 : b->v.i64[i] > o->v.i64[i]; break;
    }
    return greatest ? r > 0 : r < 0;
}

static void mth_take(const qvec *b, uint32_t i, qvec *o)
{
    switch (o->type) {
    case QT_BOOL: o->v.b[i] = b->v.b[i]; break;
    case QT_STRING: o->v.s[i] = qvec_str(b, i); break;
    default: o->v.i64[i] = b->v.i64[i]; break;
    }
}

/* pick: 0 = coalesce (first non-NULL), 1 = greatest, 2 = least. NULLs are skipped; the
 * result is NULL only when every argument is. */
static int mth_pick(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out,
                    int pick)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return mth_err(c);
    qtype t = a[0].type;
    int rc = qf_mem_vec(c, m, out, t, n);
    if (rc)
        return rc;
    if (!qf_mem_valid(c, m, out))
        return mth_err(c);
    memset(out->valid, 0, qf_bitmap_bytes(n ? n : 1));
    for (uint32_t k = 0; k < na; k++) {
        if (a[k].type != t)
            return vg_err_set(c->err, VG_EINTERNAL, "internal error: mixed argument types");
        for (uint32_t i = 0; i < n; i++) {
            if (!qvec_is_valid(&a[k], i))
                continue;
            bool have = qf_bit(out->valid, i);
            if (have && (pick == 0 || !mth_better(&a[k], i, out, pick == 1)))
                continue;
            mth_take(&a[k], i, out);
            qf_bit_set(out->valid, i);
        }
    }
    return VG_OK;
}

static int mth_coalesce(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return mth_pick(c, x, a, na, n, o, 0);
}
static int mth_greatest(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return mth_pick(c, x, a, na, n, o, 1);
}
static int mth_least(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return mth_pick(c, x, a, na, n, o, 2);
}

/* NULL where a = b, else a. */
static int mth_nullif(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    int rc = mth_out(c, call, a, 1, n, a[0].type, out);
    if (rc)
        return rc;
    if (!out->valid && !qf_mem_valid(c, qf_out_mem(c, call), out))
        return mth_err(c);
    for (uint32_t i = 0; i < n; i++) {
        if (!qvec_is_valid(&a[0], i)) {
            mth_take(&a[0], 0, out); /* keep the slot initialized */
            continue;
        }
        mth_take(&a[0], i, out);
        if (qvec_is_valid(&a[1], i) && !mth_better(&a[1], i, out, true) &&
            !mth_better(&a[1], i, out, false))
            qf_bit_clear(out->valid, i);
    }
    return VG_OK;
}

#define MTH_FN(NAME, MIN, MAX, RES, EXEC, FLAGS)                                                   \
    {                                                                                              \
        {NAME, MIN, MAX, RES, EXEC, false, NULL}, FLAGS                                            \
    }

const qf_def qf_math_defs[] = {
    MTH_FN("abs", 1, 1, mth_abs_resolve, mth_abs, QF_STRICT),
    MTH_FN("round", 1, 2, mth_round_resolve, mth_round, QF_STRICT),
    MTH_FN("floor", 1, 1, mth_floor_resolve, mth_floor, QF_STRICT),
    MTH_FN("ceil", 1, 1, mth_ceil_resolve, mth_ceil, QF_STRICT),
    MTH_FN("ceiling", 1, 1, mth_ceil_resolve, mth_ceil, QF_STRICT),
    MTH_FN("trunc", 1, 1, mth_trunc_resolve, mth_trunc, QF_STRICT),
    MTH_FN("sqrt", 1, 1, mth_sqrt_resolve, mth_sqrt, QF_STRICT),
    MTH_FN("cbrt", 1, 1, mth_cbrt_resolve, mth_cbrt, QF_STRICT),
    MTH_FN("ln", 1, 1, mth_ln_resolve, mth_ln, QF_STRICT),
    MTH_FN("log2", 1, 1, mth_log2_resolve, mth_log2, QF_STRICT),
    MTH_FN("log10", 1, 1, mth_log10_resolve, mth_log10, QF_STRICT),
    MTH_FN("exp", 1, 1, mth_exp_resolve, mth_exp, QF_STRICT),
    MTH_FN("signum", 1, 1, mth_signum_resolve, mth_signum, QF_STRICT),
    MTH_FN("power", 2, 2, mth_power_resolve, mth_power, QF_STRICT),
    MTH_FN("pow", 2, 2, mth_power_resolve, mth_power, QF_STRICT),
    MTH_FN("greatest", 1, -1, mth_greatest_resolve, mth_greatest, QF_DICT),
    MTH_FN("least", 1, -1, mth_least_resolve, mth_least, QF_DICT),
    MTH_FN("coalesce", 1, -1, mth_coalesce_resolve, mth_coalesce, QF_DICT),
    MTH_FN("nullif", 2, 2, mth_nullif_resolve, mth_nullif, QF_DICT),
};
const size_t qf_math_ndefs = sizeof qf_math_defs / sizeof qf_math_defs[0];
