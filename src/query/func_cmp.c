/*
 * query/func_cmp.c: comparisons (= <> < <= > >=) over every orderable type, AND / OR /
 * NOT with three-valued logic, and the IS [NOT] NULL / TRUE / FALSE tests.
 *
 * Floats compare in the total order Arrow uses (NaN equals NaN and sorts above every
 * number): the kernel compares with IEEE operators, which vectorize, and redoes the
 * batch in the total order only when it holds a NaN. String predicates on tags reach
 * the kernel once per dictionary entry (expr.c), not once per row.
 */
#include "func_int.h"

#include <string.h>

enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };
static const char *const cmp_sym[] = {"=", "<>", "<", "<=", ">", ">="};

static int cmp_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* ---- resolve ---- */

static int cmp_resolve(int op, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n != 2)
        return vg_err_set(e, VG_EINTERNAL, "internal error: '%s' takes two operands", cmp_sym[op]);
    *ret = QT_BOOL;
    if (t[0] == QT_NULL && t[1] == QT_NULL)
        t[0] = t[1] = QT_INT;
    else if (t[0] == QT_NULL)
        t[0] = t[1];
    else if (t[1] == QT_NULL)
        t[1] = t[0];
    qtype a = t[0], b = t[1];
    if (a == b && a != QT_SELECTOR)
        return VG_OK;
    if (qf_is_numeric(a) && qf_is_numeric(b)) {
        if (a == QT_FLOAT || b == QT_FLOAT)
            t[0] = t[1] = QT_FLOAT;
        return VG_OK; /* Int64 against UInt64 compares exactly, without a cast */
    }
    /* A string meets anything else as that type: '2026-01-01' against a timestamp is
     * parsed as a timestamp, '5' against a number as a number. */
    if (a == QT_STRING && b != QT_SELECTOR) {
        t[0] = b;
        return VG_OK;
    }
    if (b == QT_STRING && a != QT_SELECTOR) {
        t[1] = a;
        return VG_OK;
    }
    return vg_err_set(e, VG_EINVAL,
                      "Cannot infer common argument type for comparison operation %s %s %s",
                      qtype_name(a), cmp_sym[op], qtype_name(b));
}

static int cmp_eq_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_resolve(CMP_EQ, t, n, r, e);
}
static int cmp_ne_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_resolve(CMP_NE, t, n, r, e);
}
static int cmp_lt_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_resolve(CMP_LT, t, n, r, e);
}
static int cmp_le_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_resolve(CMP_LE, t, n, r, e);
}
static int cmp_gt_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_resolve(CMP_GT, t, n, r, e);
}
static int cmp_ge_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_resolve(CMP_GE, t, n, r, e);
}

/* ---- kernels ---- */

#define CMP_ROWS(T, x, xc, y, yc, n, EXPR)                                                         \
    do {                                                                                           \
        if (xc) {                                                                                  \
            const T X = (x)[0];                                                                    \
            for (uint32_t i = 0; i < (n); i++) {                                                   \
                const T Y = (y)[i];                                                                \
                o[i] = (EXPR);                                                                     \
            }                                                                                      \
        } else if (yc) {                                                                           \
            const T Y = (y)[0];                                                                    \
            for (uint32_t i = 0; i < (n); i++) {                                                   \
                const T X = (x)[i];                                                                \
                o[i] = (EXPR);                                                                     \
            }                                                                                      \
        } else {                                                                                   \
            for (uint32_t i = 0; i < (n); i++) {                                                   \
                const T X = (x)[i], Y = (y)[i];                                                    \
                o[i] = (EXPR);                                                                     \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* One loop per operator, so the comparison is not re-decided per row. */
#define CMP_KERNEL(NAME, T)                                                                        \
    static void NAME(int op, const T *x, bool xc, const T *y, bool yc, uint32_t n, uint8_t *o)     \
    {                                                                                              \
        switch (op) {                                                                              \
        case CMP_EQ: CMP_ROWS(T, x, xc, y, yc, n, X == Y); break;                                  \
        case CMP_NE: CMP_ROWS(T, x, xc, y, yc, n, X != Y); break;                                  \
        case CMP_LT: CMP_ROWS(T, x, xc, y, yc, n, X < Y); break;                                   \
        case CMP_LE: CMP_ROWS(T, x, xc, y, yc, n, X <= Y); break;                                  \
        case CMP_GT: CMP_ROWS(T, x, xc, y, yc, n, X > Y); break;                                   \
        case CMP_GE: CMP_ROWS(T, x, xc, y, yc, n, X >= Y); break;                                  \
        }                                                                                          \
    }

CMP_KERNEL(cmp_i64, int64_t)
CMP_KERNEL(cmp_u64, uint64_t)
CMP_KERNEL(cmp_f64, double)
CMP_KERNEL(cmp_u8, uint8_t)

static bool cmp_holds(int op, int r)
{
    switch (op) {
    case CMP_EQ: return r == 0;
    case CMP_NE: return r != 0;
    case CMP_LT: return r < 0;
    case CMP_LE: return r <= 0;
    case CMP_GT: return r > 0;
    default: return r >= 0;
    }
}

/* The IEEE answer is wrong only where a NaN is involved. */
static void cmp_f64_nan_fix(int op, const double *x, bool xc, const double *y, bool yc, uint32_t n,
                            uint8_t *o)
{
    bool nan = false;
    for (uint32_t i = 0; i < (xc ? 1 : n); i++)
        nan |= x[i] != x[i];
    for (uint32_t i = 0; i < (yc ? 1 : n); i++)
        nan |= y[i] != y[i];
    if (!nan)
        return;
    for (uint32_t i = 0; i < n; i++) {
        double a = x[xc ? 0 : i], b = y[yc ? 0 : i];
        if (a != a || b != b)
            o[i] = cmp_holds(op, qf_cmp_f64(a, b));
    }
}

/* Int64 against UInt64, exactly: a negative value is below every unsigned one. */
static int cmp_iu(int64_t a, uint64_t b)
{
    return a < 0 || (uint64_t)a < b ? -1 : (uint64_t)a > b;
}

static void cmp_mixed(int op, const qvec *a, bool ac, const qvec *b, bool bc, uint32_t n,
                      uint8_t *o)
{
    bool swap = a->type == QT_UINT;
    for (uint32_t i = 0; i < n; i++) {
        int r = swap ? -cmp_iu(b->v.i64[bc ? 0 : i], a->v.u64[ac ? 0 : i])
                     : cmp_iu(a->v.i64[ac ? 0 : i], b->v.u64[bc ? 0 : i]);
        o[i] = cmp_holds(op, r);
    }
}

static void cmp_str(int op, const qvec *a, bool ac, const qvec *b, bool bc, uint32_t n,
                    const uint8_t *valid, uint8_t *o)
{
    if (bc && (op == CMP_EQ || op == CMP_NE) && !a->ids) {
        /* The tag-filter shape, also used per dictionary entry: length first. */
        qstr k = b->v.s[0];
        bool eq = op == CMP_EQ;
        for (uint32_t i = 0; i < n; i++) {
            /* A null row's string may be anything: do not dereference it. */
            qstr s = valid && !qf_bit(valid, i) ? (qstr){"", 1} : a->v.s[i];
            o[i] = (s.len == k.len && (k.len == 0 || memcmp(s.p, k.p, k.len) == 0)) == eq;
        }
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (valid && !qf_bit(valid, i)) {
            o[i] = 0;
            continue;
        }
        o[i] = cmp_holds(op, qf_cmp_str(qvec_str(a, ac ? 0 : i), qvec_str(b, bc ? 0 : i)));
    }
}

static int cmp_exec(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out, int op)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return cmp_err(c);
    int rc = qf_mem_vec(c, m, out, QT_BOOL, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, 2);
    if (rc)
        return rc;
    bool ac = qf_arg_const(call, 0), bc = qf_arg_const(call, 1);
    qtype ta = a[0].type, tb = a[1].type;
    uint8_t *o = out->v.b;
    if (ta == QT_STRING && tb == QT_STRING) {
        if (ac && !bc) /* keep the constant on the right: x op K */
            cmp_str(op == CMP_LT   ? CMP_GT
                    : op == CMP_GT ? CMP_LT
                    : op == CMP_LE ? CMP_GE
                    : op == CMP_GE ? CMP_LE
                                   : op,
                    &a[1], false, &a[0], true, n, out->valid, o);
        else
            cmp_str(op, &a[0], ac, &a[1], bc, n, out->valid, o);
    } else if (ta == QT_FLOAT && tb == QT_FLOAT) {
        cmp_f64(op, a[0].v.f64, ac, a[1].v.f64, bc, n, o);
        cmp_f64_nan_fix(op, a[0].v.f64, ac, a[1].v.f64, bc, n, o);
    } else if (ta == QT_UINT && tb == QT_UINT) {
        cmp_u64(op, a[0].v.u64, ac, a[1].v.u64, bc, n, o);
    } else if (ta == QT_BOOL && tb == QT_BOOL) {
        cmp_u8(op, a[0].v.b, ac, a[1].v.b, bc, n, o);
    } else if ((ta == QT_INT && tb == QT_UINT) || (ta == QT_UINT && tb == QT_INT)) {
        cmp_mixed(op, &a[0], ac, &a[1], bc, n, o);
    } else if (ta == tb && ta != QT_NULL && ta != QT_SELECTOR) {
        cmp_i64(op, a[0].v.i64, ac, a[1].v.i64, bc, n, o);
    } else {
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: %s %s %s reached the kernel",
                          qtype_name(ta), cmp_sym[op], qtype_name(tb));
    }
    return VG_OK;
}

static int cmp_eq(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_exec(c, x, a, na, n, o, CMP_EQ);
}
static int cmp_ne(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_exec(c, x, a, na, n, o, CMP_NE);
}
static int cmp_lt(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_exec(c, x, a, na, n, o, CMP_LT);
}
static int cmp_le(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_exec(c, x, a, na, n, o, CMP_LE);
}
static int cmp_gt(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_exec(c, x, a, na, n, o, CMP_GT);
}
static int cmp_ge(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_exec(c, x, a, na, n, o, CMP_GE);
}

/* ---- boolean logic ---- */

static int cmp_bool_resolve(const char *name, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    for (uint32_t i = 0; i < n; i++) {
        if (t[i] == QT_NULL)
            t[i] = QT_BOOL;
        if (t[i] != QT_BOOL)
            return vg_err_set(e, VG_EINVAL,
                              "Cannot infer common argument type for logical "
                              "operation: %s expects Boolean, found %s",
                              name, qtype_name(t[i]));
    }
    *ret = QT_BOOL;
    return VG_OK;
}

static int cmp_and_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_bool_resolve("AND", t, n, r, e);
}
static int cmp_or_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_bool_resolve("OR", t, n, r, e);
}
static int cmp_not_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_bool_resolve("NOT", t, n, r, e);
}
static int cmp_is_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return cmp_bool_resolve("IS TRUE / IS FALSE", t, n, r, e);
}

/* AND: FALSE if either side is FALSE, TRUE if both are TRUE, else NULL. OR is its dual.
 * Null rows may hold any byte: values are read only through the validity. */
static int cmp_logic(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, bool is_and)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return cmp_err(c);
    int rc = qf_mem_vec(c, m, out, QT_BOOL, n);
    if (rc)
        return rc;
    const uint8_t *x = a[0].v.b, *y = a[1].v.b;
    uint8_t *o = out->v.b;
    if (!a[0].valid && !a[1].valid) {
        if (is_and)
            for (uint32_t i = 0; i < n; i++)
                o[i] = (x[i] != 0) & (y[i] != 0);
        else
            for (uint32_t i = 0; i < n; i++)
                o[i] = (x[i] != 0) | (y[i] != 0);
        return VG_OK;
    }
    if (!qf_mem_valid(c, m, out))
        return cmp_err(c);
    for (uint32_t i = 0; i < n; i++) {
        bool xv = qvec_is_valid(&a[0], i), yv = qvec_is_valid(&a[1], i);
        bool xt = xv && x[i], yt = yv && y[i], xf = xv && !x[i], yf = yv && !y[i];
        bool t = is_and ? xt && yt : xt || yt;
        bool f = is_and ? xf || yf : xf && yf;
        o[i] = t;
        if (!t && !f)
            qf_bit_clear(out->valid, i);
    }
    return VG_OK;
}

static int cmp_and(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_logic(c, x, a, n, o, true);
}
static int cmp_or(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_logic(c, x, a, n, o, false);
}

static int cmp_not(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return cmp_err(c);
    int rc = qf_mem_vec(c, m, out, QT_BOOL, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, 1);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        out->v.b[i] = a[0].v.b[i] == 0;
    return VG_OK;
}

/* ---- IS tests: never NULL ---- */

enum { IS_NULL, IS_NOT_NULL, IS_TRUE, IS_NOT_TRUE, IS_FALSE, IS_NOT_FALSE };

static int cmp_any_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    *ret = QT_BOOL;
    return VG_OK;
}

static int cmp_is(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, int test)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return cmp_err(c);
    int rc = qf_mem_vec(c, m, out, QT_BOOL, n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        bool v = qvec_is_valid(&a[0], i) && a[0].type != QT_NULL;
        bool b = v && a[0].type == QT_BOOL && a[0].v.b[i];
        switch (test) {
        case IS_NULL: out->v.b[i] = !v; break;
        case IS_NOT_NULL: out->v.b[i] = v; break;
        case IS_TRUE: out->v.b[i] = b; break;
        case IS_NOT_TRUE: out->v.b[i] = !b; break;
        case IS_FALSE: out->v.b[i] = v && !b; break;
        default: out->v.b[i] = !(v && !b); break;
        }
    }
    return VG_OK;
}

static int cmp_is_null(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_is(c, x, a, n, o, IS_NULL);
}
static int cmp_is_not_null(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_is(c, x, a, n, o, IS_NOT_NULL);
}
static int cmp_is_true(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_is(c, x, a, n, o, IS_TRUE);
}
static int cmp_is_not_true(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_is(c, x, a, n, o, IS_NOT_TRUE);
}
static int cmp_is_false(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_is(c, x, a, n, o, IS_FALSE);
}
static int cmp_is_not_false(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return cmp_is(c, x, a, n, o, IS_NOT_FALSE);
}

#define CMP_OP(NAME, RES, EXEC)                                                                    \
    {                                                                                              \
        {NAME, 2, 2, RES, EXEC, false, NULL}, QF_STRICT | QF_DICT                                  \
    }

const qf_def qf_cmp_defs[] = {
    CMP_OP("=", cmp_eq_resolve, cmp_eq),
    CMP_OP("<>", cmp_ne_resolve, cmp_ne),
    CMP_OP("!=", cmp_ne_resolve, cmp_ne),
    CMP_OP("<", cmp_lt_resolve, cmp_lt),
    CMP_OP("<=", cmp_le_resolve, cmp_le),
    CMP_OP(">", cmp_gt_resolve, cmp_gt),
    CMP_OP(">=", cmp_ge_resolve, cmp_ge),
    {{"and", 2, 2, cmp_and_resolve, cmp_and, false, NULL}, 0},
    {{"or", 2, 2, cmp_or_resolve, cmp_or, false, NULL}, 0},
    {{"not", 1, 1, cmp_not_resolve, cmp_not, false, NULL}, QF_STRICT},
    {{"is_null", 1, 1, cmp_any_resolve, cmp_is_null, false, NULL}, 0},
    {{"is_not_null", 1, 1, cmp_any_resolve, cmp_is_not_null, false, NULL}, 0},
    {{"is_true", 1, 1, cmp_is_resolve, cmp_is_true, false, NULL}, 0},
    {{"is_not_true", 1, 1, cmp_is_resolve, cmp_is_not_true, false, NULL}, 0},
    {{"is_false", 1, 1, cmp_is_resolve, cmp_is_false, false, NULL}, 0},
    {{"is_not_false", 1, 1, cmp_is_resolve, cmp_is_not_false, false, NULL}, 0},
};
const size_t qf_cmp_ndefs = sizeof qf_cmp_defs / sizeof qf_cmp_defs[0];
