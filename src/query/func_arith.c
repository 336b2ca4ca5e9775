/*
 * query/func_arith.c: the arithmetic operators + - * / % and unary minus over Int64,
 * UInt64, Float64, and timestamp/interval arithmetic.
 *
 * Integer overflow and integer division by zero are errors (DataFusion); float
 * arithmetic is IEEE. The common case, a column against a constant, runs a loop that
 * streams one array; the overflow check is folded into the loop as a flag so the loop
 * stays branch-free, and only when the flag is set is the batch searched for the
 * offending (non-NULL) row to name it.
 */
#include "func_int.h"

#include <math.h>
#include <string.h>

enum { AR_ADD, AR_SUB, AR_MUL, AR_DIV, AR_MOD };
static const char *const ar_sym[] = {"+", "-", "*", "/", "%"};

static int ar_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* ---- resolve ---- */

static bool ar_time(qtype t)
{
    return t == QT_TIMESTAMP || t == QT_INTERVAL;
}

/* What an untyped NULL (or a string literal) opposite type `o` stands for. */
static qtype ar_partner(int op, qtype o, bool left)
{
    if (o == QT_TIMESTAMP)
        return op == AR_SUB && left ? QT_TIMESTAMP : QT_INTERVAL;
    if (o == QT_INTERVAL) {
        if (op == AR_MUL || op == AR_DIV || op == AR_MOD)
            return QT_INT;
        return op == AR_ADD || left ? QT_TIMESTAMP : QT_INTERVAL;
    }
    return o;
}

static int ar_resolve(int op, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n != 2)
        return vg_err_set(e, VG_EINTERNAL, "internal error: '%s' takes two operands", ar_sym[op]);
    if (t[0] == QT_NULL && t[1] == QT_NULL)
        t[0] = t[1] = QT_INT;
    for (int s = 0; s < 2; s++) {
        qtype o = t[1 - s];
        if (t[s] == QT_NULL || (t[s] == QT_STRING && ar_time(o)))
            t[s] = ar_partner(op, o, s == 0);
    }
    qtype a = t[0], b = t[1];
    if (qf_is_numeric(a) && qf_is_numeric(b)) {
        qtype r = (a == QT_FLOAT || b == QT_FLOAT) ? QT_FLOAT
                  : (a == QT_UINT && b == QT_UINT) ? QT_UINT
                                                   : QT_INT;
        t[0] = t[1] = *ret = r;
        return VG_OK;
    }
    if (a == QT_UINT && b == QT_INTERVAL)
        a = t[0] = QT_INT;
    if (b == QT_UINT && a == QT_INTERVAL)
        b = t[1] = QT_INT;
    switch (op) {
    case AR_ADD:
        if ((a == QT_TIMESTAMP && b == QT_INTERVAL) || (a == QT_INTERVAL && b == QT_TIMESTAMP)) {
            *ret = QT_TIMESTAMP;
            return VG_OK;
        }
        if (a == QT_INTERVAL && b == QT_INTERVAL) {
            *ret = QT_INTERVAL;
            return VG_OK;
        }
        break;
    case AR_SUB:
        if (a == QT_TIMESTAMP && (b == QT_INTERVAL || b == QT_TIMESTAMP)) {
            *ret = b == QT_INTERVAL ? QT_TIMESTAMP : QT_INTERVAL;
            return VG_OK;
        }
        if (a == QT_INTERVAL && b == QT_INTERVAL) {
            *ret = QT_INTERVAL;
            return VG_OK;
        }
        break;
    case AR_MUL:
        if ((a == QT_INTERVAL && b == QT_INT) || (a == QT_INT && b == QT_INTERVAL)) {
            *ret = QT_INTERVAL;
            return VG_OK;
        }
        break;
    case AR_DIV:
        if (a == QT_INTERVAL && b == QT_INT) {
            *ret = QT_INTERVAL;
            return VG_OK;
        }
        break;
    default: break;
    }
    return vg_err_set(e, VG_EINVAL, "Cannot coerce arithmetic expression %s %s %s to valid types",
                      qtype_name(a), ar_sym[op], qtype_name(b));
}

static int ar_add_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return ar_resolve(AR_ADD, t, n, r, e);
}
static int ar_sub_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return ar_resolve(AR_SUB, t, n, r, e);
}
static int ar_mul_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return ar_resolve(AR_MUL, t, n, r, e);
}
static int ar_div_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return ar_resolve(AR_DIV, t, n, r, e);
}
static int ar_mod_resolve(qtype *t, uint32_t n, qtype *r, vg_err *e)
{
    return ar_resolve(AR_MOD, t, n, r, e);
}

/* A non-negative integer literal next to a UInt64 operand is taken as UInt64, so that
 * `ubig / 2` stays unsigned (DataFusion widens to Decimal128 and gets the same answer)
 * instead of failing to cast values above INT64_MAX. */
static void ar_uint_literals(qtype *t, const qvalue *const *lits, uint32_t n)
{
    if (n != 2 || !lits)
        return;
    for (int s = 0; s < 2; s++)
        if (t[s] == QT_INT && t[1 - s] == QT_UINT && lits[s] && !lits[s]->null &&
            lits[s]->type == QT_INT && lits[s]->v.i >= 0)
            t[s] = QT_UINT;
}

#define AR_LIT_RESOLVE(NAME, OP)                                                            \
    static int NAME(qtype *t, const qvalue *const *lits, uint32_t n, qtype *r, vg_err *e)     \
    {                                                                                       \
        ar_uint_literals(t, lits, n);                                                       \
        return ar_resolve(OP, t, n, r, e);                                                  \
    }
AR_LIT_RESOLVE(ar_add_lit, AR_ADD)
AR_LIT_RESOLVE(ar_sub_lit, AR_SUB)
AR_LIT_RESOLVE(ar_mul_lit, AR_MUL)
AR_LIT_RESOLVE(ar_div_lit, AR_DIV)
AR_LIT_RESOLVE(ar_mod_lit, AR_MOD)

/* ---- kernels ---- */

/* Runs BODY for every row with X and Y bound to the operands; a constant operand is
 * read once, so the loop streams a single array. */
#define AR_ROWS(T, x, xc, y, yc, n, BODY)                                                          \
    do {                                                                                           \
        if (xc) {                                                                                  \
            const T X = (x)[0];                                                                    \
            for (uint32_t i = 0; i < (n); i++) {                                                   \
                const T Y = (y)[i];                                                                \
                BODY;                                                                              \
            }                                                                                      \
        } else if (yc) {                                                                           \
            const T Y = (y)[0];                                                                    \
            for (uint32_t i = 0; i < (n); i++) {                                                   \
                const T X = (x)[i];                                                                \
                BODY;                                                                              \
            }                                                                                      \
        } else {                                                                                   \
            for (uint32_t i = 0; i < (n); i++) {                                                   \
                const T X = (x)[i], Y = (y)[i];                                                    \
                BODY;                                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

typedef struct ar_args {
    const qvec *a, *b;
    bool ac, bc; /* constant operands */
    uint32_t n;
    const uint8_t *valid; /* the result's validity: errors only count on these rows */
} ar_args;

static bool ar_row_valid(const ar_args *g, uint32_t i)
{
    return !g->valid || qf_bit(g->valid, i);
}

static int ar_overflow_i64(qctx *c, const ar_args *g, int op)
{
    for (uint32_t i = 0; i < g->n; i++) {
        int64_t x = g->a->v.i64[g->ac ? 0 : i], y = g->b->v.i64[g->bc ? 0 : i], r;
        bool bad = op == AR_ADD   ? __builtin_add_overflow(x, y, &r)
                   : op == AR_SUB ? __builtin_sub_overflow(x, y, &r)
                   : op == AR_MUL ? __builtin_mul_overflow(x, y, &r)
                                  : (y == 0 || (y == -1 && x == INT64_MIN));
        if (!bad || !ar_row_valid(g, i))
            continue;
        if ((op == AR_DIV || op == AR_MOD) && y == 0)
            return vg_err_set(c->err, VG_EINVAL, "Divide by zero error");
        return vg_err_set(c->err, VG_EINVAL,
                          "Arithmetic overflow: Overflow happened on: %lld %s %lld", (long long)x,
                          ar_sym[op], (long long)y);
    }
    return VG_OK;
}

static int ar_overflow_u64(qctx *c, const ar_args *g, int op)
{
    for (uint32_t i = 0; i < g->n; i++) {
        uint64_t x = g->a->v.u64[g->ac ? 0 : i], y = g->b->v.u64[g->bc ? 0 : i], r;
        bool bad = op == AR_ADD   ? __builtin_add_overflow(x, y, &r)
                   : op == AR_SUB ? __builtin_sub_overflow(x, y, &r)
                   : op == AR_MUL ? __builtin_mul_overflow(x, y, &r)
                                  : y == 0;
        if (!bad || !ar_row_valid(g, i))
            continue;
        if (op == AR_DIV || op == AR_MOD)
            return vg_err_set(c->err, VG_EINVAL, "Divide by zero error");
        return vg_err_set(c->err, VG_EINVAL,
                          "Arithmetic overflow: Overflow happened on: %llu %s %llu",
                          (unsigned long long)x, ar_sym[op], (unsigned long long)y);
    }
    return VG_OK;
}

static int ar_i64(qctx *c, const ar_args *g, int op, int64_t *o)
{
    const int64_t *x = g->a->v.i64, *y = g->b->v.i64;
    uint32_t n = g->n;
    bool bad = false;
    switch (op) {
    case AR_ADD:
        AR_ROWS(int64_t, x, g->ac, y, g->bc, n, bad |= __builtin_add_overflow(X, Y, &o[i]));
        break;
    case AR_SUB:
        AR_ROWS(int64_t, x, g->ac, y, g->bc, n, bad |= __builtin_sub_overflow(X, Y, &o[i]));
        break;
    case AR_MUL:
        AR_ROWS(int64_t, x, g->ac, y, g->bc, n, bad |= __builtin_mul_overflow(X, Y, &o[i]));
        break;
    case AR_DIV:
        AR_ROWS(int64_t, x, g->ac, y, g->bc, n, {
            bool z = Y == 0 || (Y == -1 && X == INT64_MIN);
            bad |= z;
            o[i] = z ? 0 : X / Y;
        });
        break;
    case AR_MOD:
        AR_ROWS(int64_t, x, g->ac, y, g->bc, n, {
            bool z = Y == 0 || (Y == -1 && X == INT64_MIN);
            bad |= z;
            o[i] = z ? 0 : X % Y;
        });
        break;
    }
    return bad ? ar_overflow_i64(c, g, op) : VG_OK;
}

static int ar_u64(qctx *c, const ar_args *g, int op, uint64_t *o)
{
    const uint64_t *x = g->a->v.u64, *y = g->b->v.u64;
    uint32_t n = g->n;
    bool bad = false;
    switch (op) {
    case AR_ADD:
        AR_ROWS(uint64_t, x, g->ac, y, g->bc, n, bad |= __builtin_add_overflow(X, Y, &o[i]));
        break;
    case AR_SUB:
        AR_ROWS(uint64_t, x, g->ac, y, g->bc, n, bad |= __builtin_sub_overflow(X, Y, &o[i]));
        break;
    case AR_MUL:
        AR_ROWS(uint64_t, x, g->ac, y, g->bc, n, bad |= __builtin_mul_overflow(X, Y, &o[i]));
        break;
    case AR_DIV:
        AR_ROWS(uint64_t, x, g->ac, y, g->bc, n, {
            bad |= Y == 0;
            o[i] = Y ? X / Y : 0;
        });
        break;
    case AR_MOD:
        AR_ROWS(uint64_t, x, g->ac, y, g->bc, n, {
            bad |= Y == 0;
            o[i] = Y ? X % Y : 0;
        });
        break;
    }
    return bad ? ar_overflow_u64(c, g, op) : VG_OK;
}

static void ar_f64(const ar_args *g, int op, double *o)
{
    const double *x = g->a->v.f64, *y = g->b->v.f64;
    uint32_t n = g->n;
    switch (op) {
    case AR_ADD: AR_ROWS(double, x, g->ac, y, g->bc, n, o[i] = X + Y); break;
    case AR_SUB: AR_ROWS(double, x, g->ac, y, g->bc, n, o[i] = X - Y); break;
    case AR_MUL: AR_ROWS(double, x, g->ac, y, g->bc, n, o[i] = X * Y); break;
    case AR_DIV: AR_ROWS(double, x, g->ac, y, g->bc, n, o[i] = X / Y); break;
    case AR_MOD: AR_ROWS(double, x, g->ac, y, g->bc, n, o[i] = fmod(X, Y)); break;
    }
}

static bool ar_i64_family(qtype t)
{
    return t == QT_INT || t == QT_TIMESTAMP || t == QT_INTERVAL;
}

static int ar_exec(qctx *c, const qexpr *call, qvec *a, uint32_t nargs, uint32_t n, qvec *out,
                   int op)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return ar_err(c);
    qtype t = call->type;
    if (t == QT_NULL || t == QT_SELECTOR)
        t = a[0].type == QT_FLOAT || a[1].type == QT_FLOAT ? QT_FLOAT : a[0].type;
    int rc = qf_mem_vec(c, m, out, t, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, 2);
    if (rc)
        return rc;
    ar_args g = {&a[0], &a[1], qf_arg_const(call, 0), qf_arg_const(call, 1), n, out->valid};
    if (a[0].type == QT_FLOAT && a[1].type == QT_FLOAT) {
        ar_f64(&g, op, out->v.f64);
        return VG_OK;
    }
    if (a[0].type == QT_UINT && a[1].type == QT_UINT)
        return ar_u64(c, &g, op, out->v.u64);
    if (ar_i64_family(a[0].type) && ar_i64_family(a[1].type))
        return ar_i64(c, &g, op, out->v.i64);
    return vg_err_set(c->err, VG_EINTERNAL, "internal error: %s %s %s reached the kernel",
                      qtype_name(a[0].type), ar_sym[op], qtype_name(a[1].type));
}

static int ar_add(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return ar_exec(c, x, a, na, n, o, AR_ADD);
}
static int ar_sub(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return ar_exec(c, x, a, na, n, o, AR_SUB);
}
static int ar_mul(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return ar_exec(c, x, a, na, n, o, AR_MUL);
}
static int ar_div(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return ar_exec(c, x, a, na, n, o, AR_DIV);
}
static int ar_mod(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return ar_exec(c, x, a, na, n, o, AR_MOD);
}

/* ---- unary minus ---- */

static int ar_neg_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n == 1 && (t[0] == QT_NULL || t[0] == QT_UINT))
        t[0] = QT_INT; /* -x of an unsigned value is signed */
    if (n == 1 && (t[0] == QT_INT || t[0] == QT_FLOAT || t[0] == QT_INTERVAL)) {
        *ret = t[0];
        return VG_OK;
    }
    return qf_nomatch(e, "negate", t, n,
                      "negate(Int64), negate(Float64), negate(Interval(MonthDayNano))");
}

static int ar_neg(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return ar_err(c);
    int rc = qf_mem_vec(c, m, out, a[0].type, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, 1);
    if (rc)
        return rc;
    if (a[0].type == QT_FLOAT) {
        for (uint32_t i = 0; i < n; i++)
            out->v.f64[i] = -a[0].v.f64[i];
        return VG_OK;
    }
    if (!ar_i64_family(a[0].type))
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: negate(%s) reached the kernel",
                          qtype_name(a[0].type));
    bool bad = false;
    for (uint32_t i = 0; i < n; i++)
        bad |= __builtin_sub_overflow((int64_t)0, a[0].v.i64[i], &out->v.i64[i]);
    for (uint32_t i = 0; bad && i < n; i++)
        if (a[0].v.i64[i] == INT64_MIN && qvec_is_valid(out, i))
            return vg_err_set(c->err, VG_EINVAL,
                              "Arithmetic overflow: Overflow happened on: - %lld",
                              (long long)INT64_MIN);
    return VG_OK;
}

const qf_def qf_arith_defs[] = {
    {{"+", 2, 2, ar_add_resolve, ar_add, false, ar_add_lit}, QF_STRICT},
    {{"-", 2, 2, ar_sub_resolve, ar_sub, false, ar_sub_lit}, QF_STRICT},
    {{"*", 2, 2, ar_mul_resolve, ar_mul, false, ar_mul_lit}, QF_STRICT},
    {{"/", 2, 2, ar_div_resolve, ar_div, false, ar_div_lit}, QF_STRICT},
    {{"%", 2, 2, ar_mod_resolve, ar_mod, false, ar_mod_lit}, QF_STRICT},
    {{"negate", 1, 1, ar_neg_resolve, ar_neg, false, NULL}, QF_STRICT},
    {{"neg", 1, 1, ar_neg_resolve, ar_neg, false, NULL}, QF_STRICT},
};
const size_t qf_arith_ndefs = sizeof qf_arith_defs / sizeof qf_arith_defs[0];
