/* Unit tests for query expression evaluation: operators with three-valued logic,
 * arithmetic errors, casts and their messages, every scalar function, LIKE, IN, CASE,
 * dictionary-encoded inputs, selector fields, the per-query context and buffer reuse.
 *
 * Expressions are built the way the binder builds them (resolve gives the type) but
 * without inserted casts: the evaluator coerces arguments itself. */
#include "query/func_int.h"
#include "test.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static vg_arena arena;
static vg_err err;
static qctx ctx;

#define T_2026 1767225600000000000LL /* 2026-01-01T00:00:00Z */

static void setup(void)
{
    vg_arena_init(&arena, 0);
    memset(&ctx, 0, sizeof ctx);
    vg_err_clear(&err);
    ctx.arena = &arena;
    ctx.err = &err;
    ctx.now_ns = T_2026 + 3600 * VG_NS_PER_SEC;
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

/* ---- building expressions ---- */

static qexpr *lit(qvalue v)
{
    qexpr *x = zalloc(sizeof *x);
    x->kind = QX_LITERAL;
    x->type = v.type;
    x->lit = v;
    return x;
}

static qexpr *I(int64_t v)
{
    return lit((qvalue){.type = QT_INT, .v.i = v});
}
static qexpr *U(uint64_t v)
{
    return lit((qvalue){.type = QT_UINT, .v.u = v});
}
static qexpr *F(double v)
{
    return lit((qvalue){.type = QT_FLOAT, .v.f = v});
}
static qexpr *B(bool v)
{
    return lit((qvalue){.type = QT_BOOL, .v.b = v});
}
static qexpr *N(void)
{
    return lit((qvalue){.type = QT_NULL, .null = true});
}
static qexpr *NT(qtype t)
{
    return lit((qvalue){.type = t, .null = true});
}
static qexpr *S(const char *s)
{
    return lit((qvalue){.type = QT_STRING, .v.s = {s, (uint32_t)strlen(s)}});
}
static qexpr *TS(const char *s)
{
    int64_t ns = 0;
    if (vg_parse_timestamp(s, strlen(s), &ns, NULL))
        abort();
    return lit((qvalue){.type = QT_TIMESTAMP, .v.i = ns});
}
static qexpr *IV(const char *s)
{
    int64_t ns = 0;
    if (qf_parse_interval(s, strlen(s), &ns, NULL))
        abort();
    return lit((qvalue){.type = QT_INTERVAL, .v.i = ns});
}
static qexpr *COL(uint32_t i, qtype t)
{
    qexpr *x = zalloc(sizeof *x);
    x->kind = QX_COLUMN;
    x->col = i;
    x->type = t;
    return x;
}

static qexpr **argv_of(uint32_t n, va_list ap)
{
    qexpr **a = zalloc((n ? n : 1) * sizeof(qexpr *));
    for (uint32_t i = 0; i < n; i++)
        a[i] = va_arg(ap, qexpr *);
    return a;
}

static char resolve_msg[VG_ERR_MSG_BYTES];

/* A call typed by the function's resolve (resolve_lit when it has one). On a resolve
 * error the message is kept in resolve_msg and the call is NULL. */
static qexpr *FN(const char *name, uint32_t n, ...)
{
    const qfunc *f = qfunc_find(name);
    if (!f) {
        printf("no function %s\n", name);
        abort();
    }
    va_list ap;
    va_start(ap, n);
    qexpr *x = zalloc(sizeof *x);
    x->kind = QX_CALL;
    x->fn = f;
    x->nargs = n;
    x->args = argv_of(n, ap);
    va_end(ap);
    qtype t[8];
    const qvalue *lits[8];
    for (uint32_t i = 0; i < n; i++) {
        t[i] = x->args[i]->type;
        lits[i] = x->args[i]->kind == QX_LITERAL ? &x->args[i]->lit : NULL;
    }
    vg_err e;
    vg_err_clear(&e);
    int rc =
        f->resolve_lit ? f->resolve_lit(t, lits, n, &x->type, &e) : f->resolve(t, n, &x->type, &e);
    resolve_msg[0] = '\0';
    if (rc) {
        snprintf(resolve_msg, sizeof resolve_msg, "%s", e.msg);
        return NULL;
    }
    return x;
}

static qexpr *CAST(qexpr *a, qtype t)
{
    qexpr *x = zalloc(sizeof *x);
    x->kind = QX_CAST;
    x->type = t;
    x->nargs = 1;
    x->args = zalloc(sizeof(qexpr *));
    x->args[0] = a;
    return x;
}

static qexpr *IN(bool negated, uint32_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    qexpr *x = zalloc(sizeof *x);
    x->kind = QX_IN_LIST;
    x->type = QT_BOOL;
    x->negated = negated;
    x->nargs = n;
    x->args = argv_of(n, ap);
    va_end(ap);
    return x;
}

static qexpr *CASE(qtype t, uint32_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    qexpr *x = zalloc(sizeof *x);
    x->kind = QX_CASE;
    x->type = t;
    x->nargs = n;
    x->args = argv_of(n, ap);
    va_end(ap);
    return x;
}

/* ---- formatting results ---- */

#define BUFSZ 640
static char bufs[16][BUFSZ];
static int bufi;

static char *nextbuf(void)
{
    bufi = (bufi + 1) % 16;
    return bufs[bufi];
}

static void fmt_value(const qvalue *v, char *out, size_t size)
{
    char tmp[256];
    if (v->null) {
        snprintf(out, size, "NULL");
        return;
    }
    qf_fmt_value(v, tmp, sizeof tmp);
    if (v->type == QT_STRING)
        snprintf(out, size, "'%.*s'", (int)v->v.s.len, v->v.s.p);
    else
        snprintf(out, size, "%s", tmp);
}

/* Evaluates a constant expression: its value, or "ERR: <message>". */
static const char *ev(qexpr *x)
{
    char *out = nextbuf();
    if (!x) {
        snprintf(out, BUFSZ, "RESOLVE: %s", resolve_msg);
        return out;
    }
    qvalue v;
    vg_err_clear(&err);
    if (qexpr_eval_const(&ctx, x, &v)) {
        snprintf(out, BUFSZ, "ERR: %s", err.msg);
        return out;
    }
    fmt_value(&v, out, BUFSZ);
    return out;
}

/* The type of a resolved call. */
static const char *ty(qexpr *x)
{
    return x ? qtype_name(x->type) : resolve_msg;
}

/* Evaluates over a batch: the rows comma-separated. */
static const char *evb(qexpr *x, const qbatch *b)
{
    char *out = nextbuf();
    qvec v;
    vg_err_clear(&err);
    if (!x) {
        snprintf(out, BUFSZ, "RESOLVE: %s", resolve_msg);
        return out;
    }
    if (qexpr_eval(&ctx, x, b, &v)) {
        snprintf(out, BUFSZ, "ERR: %s", err.msg);
        return out;
    }
    size_t k = 0;
    out[0] = '\0';
    for (uint32_t r = 0; r < b->nrows && k < BUFSZ - 40; r++) {
        qvalue val;
        char one[256];
        qf_vec_value(&v, r, &val);
        fmt_value(&val, one, sizeof one);
        k += (size_t)snprintf(out + k, BUFSZ - k, "%s%s", r ? "," : "", one);
    }
    return out;
}

/* ---- building batches ---- */

static uint8_t *bitmap(const char *pattern)
{
    /* "1101": row i valid when pattern[i] is '1' */
    size_t n = strlen(pattern);
    uint8_t *b = zalloc((n + 7) / 8 + 1);
    for (size_t i = 0; i < n; i++)
        if (pattern[i] == '1')
            b[i >> 3] |= (uint8_t)(1u << (i & 7));
    return b;
}

static qvec vec_i64(qtype t, uint32_t n, const int64_t *v, const char *valid)
{
    qvec x = {.type = t, .n = n};
    x.v.i64 = zalloc(n * 8 + 8);
    memcpy(x.v.i64, v, n * 8);
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qvec vec_u64(uint32_t n, const uint64_t *v, const char *valid)
{
    qvec x = vec_i64(QT_UINT, n, (const int64_t *)v, valid);
    return x;
}

static qvec vec_f64(uint32_t n, const double *v, const char *valid)
{
    qvec x = {.type = QT_FLOAT, .n = n};
    x.v.f64 = zalloc(n * 8 + 8);
    memcpy(x.v.f64, v, n * 8);
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qvec vec_bool(uint32_t n, const uint8_t *v, const char *valid)
{
    qvec x = {.type = QT_BOOL, .n = n};
    x.v.b = zalloc(n + 8);
    memcpy(x.v.b, v, n);
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qvec vec_str(uint32_t n, const char *const *s, const char *valid)
{
    qvec x = {.type = QT_STRING, .n = n};
    x.v.s = zalloc(n * sizeof(qstr) + 8);
    for (uint32_t i = 0; i < n; i++)
        x.v.s[i] = s[i] ? (qstr){s[i], (uint32_t)strlen(s[i])} : (qstr){"", 0};
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qvec vec_dict(uint32_t n, const uint32_t *ids, const qstr *dict, uint32_t dn, uint64_t id,
                     const char *valid)
{
    qvec x = {.type = QT_STRING, .n = n};
    uint32_t *p = zalloc(n * 4 + 4);
    memcpy(p, ids, n * 4);
    x.ids = p;
    x.dict = dict;
    x.dict_n = dn;
    x.dict_id = id;
    x.valid = valid ? bitmap(valid) : NULL;
    return x;
}

static qbatch batch(uint32_t ncols, qvec *cols)
{
    return (qbatch){cols[0].n, ncols, cols};
}

/* ---- tests ---- */

static void test_types_and_ctx(void)
{
    setup();
    CHECK_STR(qtype_name(QT_BOOL), "Boolean");
    CHECK_STR(qtype_name(QT_INT), "Int64");
    CHECK_STR(qtype_name(QT_UINT), "UInt64");
    CHECK_STR(qtype_name(QT_FLOAT), "Float64");
    CHECK_STR(qtype_name(QT_STRING), "Utf8");
    CHECK_STR(qtype_name(QT_TIMESTAMP), "Timestamp(Nanosecond, None)");
    CHECK_STR(qtype_name(QT_INTERVAL), "Interval(MonthDayNano)");
    CHECK_STR(qtype_name(QT_NULL), "Null");

    ctx.mem_budget = 1000;
    CHECK_INT(qctx_charge(&ctx, 600), VG_OK);
    CHECK_INT(qctx_charge(&ctx, 400), VG_OK);
    CHECK_INT(qctx_charge(&ctx, 1), VG_ENOMEM);
    CHECK_STR(err.msg, "query exceeded its memory budget of 1000 bytes (--exec-mem-pool-bytes)");
    CHECK(qctx_alloc(&ctx, 10) == NULL);
    CHECK_INT(ctx.mem_used, 1000);
    ctx.mem_budget = 0;
    CHECK(qctx_alloc(&ctx, 10) != NULL);

    ctx.deadline = vg_mono_ns() + 60 * VG_NS_PER_SEC;
    CHECK_INT(qctx_check_deadline(&ctx), VG_OK);
    ctx.deadline = vg_mono_ns() - 1;
    ctx.timeout_ns = 30 * VG_NS_PER_SEC;
    CHECK_INT(qctx_check_deadline(&ctx), VG_ELIMIT);
    CHECK_STR(err.msg, "query timed out after 30s (--query-timeout)");
    ctx.timeout_ns = 90 * VG_NS_PER_SEC;
    qctx_check_deadline(&ctx);
    CHECK_STR(err.msg, "query timed out after 1m30s (--query-timeout)");

    qvec v;
    CHECK_INT(qvec_alloc(&ctx, &v, QT_FLOAT, 10), VG_OK);
    CHECK(v.v.f64 != NULL && v.valid == NULL && v.n == 10 && v.type == QT_FLOAT);
    CHECK_INT(qvec_add_validity(&ctx, &v), VG_OK);
    CHECK(qvec_is_valid(&v, 9));
    qvec_set_null(&v, 9);
    CHECK(!qvec_is_valid(&v, 9) && qvec_is_valid(&v, 8));
    CHECK_INT(qvec_alloc(&ctx, &v, QT_SELECTOR, 4), VG_OK);
    CHECK(v.sel && v.sel[1].type == QT_TIMESTAMP && v.sel[0].type == QT_NULL);
    teardown();
}

static void test_logic_truth_tables(void)
{
    setup();
    /* every pair of {true, false, NULL} */
    uint8_t xs[9] = {1, 1, 1, 0, 0, 0, 0, 0, 0}, ys[9] = {1, 0, 0, 1, 0, 0, 1, 0, 0};
    qvec cols[2] = {vec_bool(9, xs, "111111000"), vec_bool(9, ys, "110110110")};
    qbatch b = batch(2, cols);
    qexpr *x = COL(0, QT_BOOL), *y = COL(1, QT_BOOL);
    /* rows: TT TF TN FT FF FN NT NF NN */
    CHECK_STR(evb(FN("and", 2, x, y), &b), "true,false,NULL,false,false,false,NULL,false,NULL");
    CHECK_STR(evb(FN("or", 2, x, y), &b), "true,true,true,true,false,NULL,true,NULL,NULL");
    CHECK_STR(evb(FN("not", 1, x), &b), "false,false,false,true,true,true,NULL,NULL,NULL");
    CHECK_STR(evb(FN("is_true", 1, x), &b), "true,true,true,false,false,false,false,false,false");
    CHECK_STR(evb(FN("is_not_true", 1, x), &b), "false,false,false,true,true,true,true,true,true");
    CHECK_STR(evb(FN("is_false", 1, x), &b), "false,false,false,true,true,true,false,false,false");
    CHECK_STR(evb(FN("is_not_false", 1, x), &b), "true,true,true,false,false,false,true,true,true");
    CHECK_STR(evb(FN("is_null", 1, x), &b), "false,false,false,false,false,false,true,true,true");
    CHECK_STR(evb(FN("is_not_null", 1, y), &b), "true,true,false,true,true,false,true,true,false");
    /* constants, including untyped NULL */
    CHECK_STR(ev(FN("and", 2, N(), B(false))), "false");
    CHECK_STR(ev(FN("and", 2, N(), B(true))), "NULL");
    CHECK_STR(ev(FN("or", 2, B(true), N())), "true");
    CHECK_STR(ev(FN("or", 2, B(false), N())), "NULL");
    CHECK_STR(ev(FN("not", 1, N())), "NULL");
    CHECK_STR(ev(FN("is_null", 1, N())), "true");
    CHECK_STR(ev(FN("is_null", 1, I(1))), "false");
    CHECK_STR(ev(FN("and", 2, I(1), B(true))),
              "RESOLVE: Cannot infer common argument type for logical operation: AND expects "
              "Boolean, found Int64");
    teardown();
}

static void test_arith_int(void)
{
    setup();
    CHECK_STR(ev(FN("+", 2, I(40), I(2))), "42");
    CHECK_STR(ev(FN("-", 2, I(40), I(50))), "-10");
    CHECK_STR(ev(FN("*", 2, I(-6), I(7))), "-42");
    CHECK_STR(ev(FN("/", 2, I(7), I(2))), "3");
    CHECK_STR(ev(FN("/", 2, I(-7), I(2))), "-3"); /* truncates toward zero */
    CHECK_STR(ev(FN("%", 2, I(-7), I(2))), "-1");
    CHECK_STR(ev(FN("%", 2, I(7), I(-2))), "1");
    CHECK_STR(ev(FN("+", 2, I(INT64_MAX), I(1))),
              "ERR: Arithmetic overflow: Overflow happened on: 9223372036854775807 + 1");
    CHECK_STR(ev(FN("-", 2, I(INT64_MIN), I(1))),
              "ERR: Arithmetic overflow: Overflow happened on: -9223372036854775808 - 1");
    CHECK_STR(ev(FN("*", 2, I(4611686018427387904LL), I(2))),
              "ERR: Arithmetic overflow: Overflow happened on: 4611686018427387904 * 2");
    CHECK_STR(ev(FN("/", 2, I(1), I(0))), "ERR: Divide by zero error");
    CHECK_STR(ev(FN("%", 2, I(1), I(0))), "ERR: Divide by zero error");
    CHECK_STR(ev(FN("/", 2, I(INT64_MIN), I(-1))),
              "ERR: Arithmetic overflow: Overflow happened on: -9223372036854775808 / -1");
    CHECK_STR(ev(FN("negate", 1, I(5))), "-5");
    CHECK_STR(ev(FN("negate", 1, I(INT64_MIN))),
              "ERR: Arithmetic overflow: Overflow happened on: - -9223372036854775808");
    CHECK_STR(ev(FN("+", 2, I(1), N())), "NULL");
    CHECK_STR(ty(FN("+", 2, N(), N())), "Int64");
    /* UInt64 */
    CHECK_STR(ev(FN("+", 2, U(UINT64_MAX - 1), U(1))), "18446744073709551615");
    CHECK_STR(ev(FN("+", 2, U(UINT64_MAX), U(1))),
              "ERR: Arithmetic overflow: Overflow happened on: 18446744073709551615 + 1");
    CHECK_STR(ev(FN("-", 2, U(1), U(2))), "ERR: Arithmetic overflow: Overflow happened on: 1 - 2");
    CHECK_STR(ev(FN("/", 2, U(9), U(0))), "ERR: Divide by zero error");
    CHECK_STR(ty(FN("+", 2, U(1), U(2))), "UInt64");
    /* Int64 with UInt64 is Int64, and a value that does not fit is an error; but a
     * non-negative integer literal next to UInt64 is taken as UInt64 */
    CHECK_STR(ty(FN("+", 2, I(1), U(2))), "UInt64");
    CHECK_STR(ty(FN("+", 2, I(-1), U(2))), "Int64");
    CHECK_STR(ev(FN("+", 2, I(-5), U(2))), "-3");
    CHECK_STR(ev(FN("+", 2, I(1), U(UINT64_MAX))),
              "ERR: Arithmetic overflow: Overflow happened on: 1 + 18446744073709551615");
    CHECK_STR(ev(FN("+", 2, I(-1), U(UINT64_MAX))),
              "ERR: Cast error: Can't cast value 18446744073709551615 to type Int64");
    CHECK_STR(ty(FN("negate", 1, U(3))), "Int64");
    CHECK_STR(ev(FN("+", 2, S("a"), I(1))),
              "RESOLVE: Cannot coerce arithmetic expression Utf8 + Int64 to valid types");
    CHECK_STR(ev(FN("*", 2, B(true), I(1))),
              "RESOLVE: Cannot coerce arithmetic expression Boolean * Int64 to valid types");
    teardown();
}

static void test_arith_rows(void)
{
    setup();
    /* Errors count only on non-NULL rows: the NULL row divides by zero silently. */
    int64_t a[4] = {10, 20, 30, 40}, d[4] = {2, 0, 5, -4};
    qvec cols[2] = {vec_i64(QT_INT, 4, a, NULL), vec_i64(QT_INT, 4, d, "1011")};
    qbatch b = batch(2, cols);
    CHECK_STR(evb(FN("/", 2, COL(0, QT_INT), COL(1, QT_INT)), &b), "5,NULL,6,-10");
    CHECK_STR(evb(FN("%", 2, COL(0, QT_INT), COL(1, QT_INT)), &b), "0,NULL,0,0");
    CHECK_STR(evb(FN("-", 2, COL(0, QT_INT), I(15)), &b), "-5,5,15,25");
    CHECK_STR(evb(FN("-", 2, I(15), COL(0, QT_INT)), &b), "5,-5,-15,-25");
    CHECK_STR(evb(FN("*", 2, COL(0, QT_INT), COL(1, QT_INT)), &b), "20,NULL,150,-160");
    /* int column with a float constant: Float64 */
    CHECK_STR(evb(FN("/", 2, COL(0, QT_INT), F(4)), &b), "2.5,5.0,7.5,10.0");
    int64_t big[2] = {INT64_MAX, 1};
    qvec c2[1] = {vec_i64(QT_INT, 2, big, "01")};
    qbatch b2 = batch(1, c2);
    CHECK_STR(evb(FN("+", 2, COL(0, QT_INT), I(1)), &b2), "NULL,2");
    c2[0].valid = NULL;
    CHECK_STR(evb(FN("+", 2, COL(0, QT_INT), I(1)), &b2),
              "ERR: Arithmetic overflow: Overflow happened on: 9223372036854775807 + 1");
    teardown();
}

static void test_arith_float(void)
{
    setup();
    CHECK_STR(ev(FN("/", 2, F(1), F(0))), "inf");
    CHECK_STR(ev(FN("/", 2, F(-1), F(0))), "-inf");
    CHECK_STR(ev(FN("/", 2, F(0), F(0))), "NaN");
    CHECK_STR(ev(FN("%", 2, F(7.5), F(2))), "1.5");
    CHECK_STR(ev(FN("%", 2, F(-7.5), F(2))), "-1.5");
    CHECK_STR(ev(FN("+", 2, F(0.1), F(0.2))), "0.30000000000000004");
    CHECK_STR(ev(FN("*", 2, I(3), F(0.5))), "1.5");
    CHECK_STR(ev(FN("-", 2, U(3), F(0.5))), "2.5");
    CHECK_STR(ev(FN("negate", 1, F(2.5))), "-2.5");
    teardown();
}

static void test_arith_time(void)
{
    setup();
    CHECK_STR(ev(FN("+", 2, TS("2026-01-01T00:00:00Z"), IV("90 minutes"))), "2026-01-01T01:30:00");
    CHECK_STR(ev(FN("+", 2, IV("1 day"), TS("2026-01-01T00:00:00Z"))), "2026-01-02T00:00:00");
    CHECK_STR(ev(FN("-", 2, TS("2026-01-01T00:00:00Z"), IV("1s"))), "2025-12-31T23:59:59");
    CHECK_STR(ev(FN("-", 2, TS("2026-01-02T00:00:00Z"), TS("2026-01-01T00:00:00Z"))), "1 days");
    CHECK_STR(ev(FN("-", 2, TS("2026-01-01T00:00:01.5Z"), TS("2026-01-01T00:00:00Z"))),
              "1.500000000 secs");
    CHECK_STR(ev(FN("*", 2, IV("10m"), I(3))), "30 mins");
    CHECK_STR(ev(FN("*", 2, I(2), IV("1h 30m"))), "3 hours");
    CHECK_STR(ev(FN("/", 2, IV("1h"), I(4))), "15 mins");
    CHECK_STR(ev(FN("+", 2, IV("1h"), IV("1m"))), "1 hours 1 mins");
    CHECK_STR(ev(FN("-", 2, IV("1m"), IV("1h"))), "-59 mins");
    /* a string opposite a timestamp is an interval, as in now() - '1h' */
    CHECK_STR(ev(FN("-", 2, FN("now", 0), S("1h"))), "2026-01-01T00:00:00");
    CHECK_STR(ty(FN("-", 2, COL(0, QT_TIMESTAMP), S("10 minutes"))), "Timestamp(Nanosecond, None)");
    CHECK_STR(ev(FN("+", 2, TS("2026-01-01T00:00:00Z"), I(1))),
              "RESOLVE: Cannot coerce arithmetic expression Timestamp(Nanosecond, None) + Int64 "
              "to valid types");
    CHECK_STR(ev(FN("+", 2, TS("2262-04-11T00:00:00Z"), IV("1 day"))),
              "ERR: Arithmetic overflow: Overflow happened on: 9223286400000000000 + "
              "86400000000000");
    teardown();
}

static void test_compare(void)
{
    setup();
    CHECK_STR(ev(FN("=", 2, I(1), I(1))), "true");
    CHECK_STR(ev(FN("<>", 2, I(1), I(1))), "false");
    CHECK_STR(ev(FN("<", 2, I(-1), U(0))), "true");
    CHECK_STR(ev(FN(">", 2, U(UINT64_MAX), I(INT64_MAX))), "true");
    CHECK_STR(ev(FN("=", 2, U(5), I(5))), "true");
    CHECK_STR(ev(FN("<=", 2, I(1), F(1.5))), "true");
    CHECK_STR(ev(FN(">=", 2, F(2), I(2))), "true");
    CHECK_STR(ev(FN("=", 2, F(NAN), F(NAN))), "true");
    CHECK_STR(ev(FN(">", 2, F(NAN), F(INFINITY))), "true");
    CHECK_STR(ev(FN("<", 2, F(NAN), F(1))), "false");
    CHECK_STR(ev(FN("<", 2, S("abc"), S("abd"))), "true");
    CHECK_STR(ev(FN("<", 2, S("ab"), S("abc"))), "true");
    CHECK_STR(ev(FN("<", 2, S("z"), S("é"))), "true"); /* byte order = code point order */
    CHECK_STR(ev(FN("=", 2, S(""), S(""))), "true");
    CHECK_STR(ev(FN("<", 2, B(false), B(true))), "true");
    CHECK_STR(ev(FN("=", 2, I(1), N())), "NULL");
    CHECK_STR(ev(FN("<>", 2, N(), N())), "NULL");
    /* strings meet timestamps as timestamps, numbers as numbers */
    CHECK_STR(ev(FN(">", 2, TS("2026-01-01T00:00:01Z"), S("2026-01-01T00:00:00Z"))), "true");
    CHECK_STR(ev(FN("=", 2, S("2026-01-01"), TS("2026-01-01T00:00:00Z"))), "true");
    CHECK_STR(ev(FN("=", 2, TS("2026-01-01T00:00:00Z"), S("yesterday"))),
              "ERR: Cast error: Error parsing timestamp from 'yesterday': expected RFC 3339, e.g. "
              "2026-01-01T00:00:00Z");
    CHECK_STR(ev(FN("=", 2, I(5), S("5"))), "true");
    CHECK_STR(ev(FN("<", 2, IV("1m"), IV("1h"))), "true");
    CHECK_STR(ev(FN("=", 2, I(1), TS("2026-01-01T00:00:00Z"))),
              "RESOLVE: Cannot infer common argument type for comparison operation Int64 = "
              "Timestamp(Nanosecond, None)");

    /* vectors: columns against constants on either side, and NaN rows */
    double f[5] = {1.0, NAN, -2.5, 3.0, 0.0};
    qvec cols[1] = {vec_f64(5, f, "11101")};
    qbatch b = batch(1, cols);
    CHECK_STR(evb(FN(">", 2, COL(0, QT_FLOAT), F(0.5)), &b), "true,true,false,NULL,false");
    CHECK_STR(evb(FN("<", 2, F(0.5), COL(0, QT_FLOAT)), &b), "true,true,false,NULL,false");
    CHECK_STR(evb(FN("<>", 2, COL(0, QT_FLOAT), COL(0, QT_FLOAT)), &b),
              "false,false,false,NULL,false");
    CHECK_STR(evb(FN("=", 2, COL(0, QT_FLOAT), I(0)), &b), "false,false,false,NULL,true");
    const char *s[4] = {"b", "a", NULL, "c"};
    qvec sc[1] = {vec_str(4, s, "1101")};
    qbatch sb = batch(1, sc);
    CHECK_STR(evb(FN("<", 2, COL(0, QT_STRING), S("b")), &sb), "false,true,NULL,false");
    CHECK_STR(evb(FN(">=", 2, S("b"), COL(0, QT_STRING)), &sb), "true,true,NULL,false");
    CHECK_STR(evb(FN("<>", 2, COL(0, QT_STRING), S("a")), &sb), "true,false,NULL,true");
    /* UInt64 column against signed constants, exactly */
    uint64_t u[3] = {0, 5, UINT64_MAX};
    qvec uc[1] = {vec_u64(3, u, NULL)};
    qbatch ub = batch(1, uc);
    CHECK_STR(evb(FN(">", 2, COL(0, QT_UINT), I(-1)), &ub), "true,true,true");
    CHECK_STR(evb(FN("=", 2, I(5), COL(0, QT_UINT)), &ub), "false,true,false");
    CHECK_STR(evb(FN("<", 2, COL(0, QT_UINT), I(INT64_MAX)), &ub), "true,true,false");
    teardown();
}

static void test_cast(void)
{
    setup();
    CHECK_STR(ev(CAST(F(1.9), QT_INT)), "1");
    CHECK_STR(ev(CAST(F(-1.9), QT_INT)), "-1");
    CHECK_STR(ev(CAST(F(1e30), QT_INT)), "ERR: Cast error: Can't cast value 1e30 to type Int64");
    CHECK_STR(ev(CAST(F(NAN), QT_INT)), "ERR: Cast error: Can't cast value NaN to type Int64");
    CHECK_STR(ev(CAST(F(-0.5), QT_UINT)), "0");
    CHECK_STR(ev(CAST(F(-1.5), QT_UINT)), "ERR: Cast error: Can't cast value -1.5 to type UInt64");
    CHECK_STR(ev(CAST(I(-1), QT_UINT)), "ERR: Cast error: Can't cast value -1 to type UInt64");
    CHECK_STR(ev(CAST(U(UINT64_MAX), QT_INT)),
              "ERR: Cast error: Can't cast value 18446744073709551615 to type Int64");
    CHECK_STR(ev(CAST(S("abc"), QT_FLOAT)),
              "ERR: Cast error: Cannot cast string 'abc' to value of Float64 type");
    CHECK_STR(ev(CAST(S("12x"), QT_INT)),
              "ERR: Cast error: Cannot cast string '12x' to value of Int64 type");
    CHECK_STR(ev(CAST(S(" 12"), QT_INT)),
              "ERR: Cast error: Cannot cast string ' 12' to value of Int64 type");
    CHECK_STR(ev(CAST(S("1.5"), QT_INT)),
              "ERR: Cast error: Cannot cast string '1.5' to value of Int64 type");
    CHECK_STR(ev(CAST(S("-9223372036854775808"), QT_INT)), "-9223372036854775808");
    CHECK_STR(ev(CAST(S("9223372036854775808"), QT_INT)),
              "ERR: Cast error: Cannot cast string '9223372036854775808' to value of Int64 type");
    CHECK_STR(ev(CAST(S("18446744073709551615"), QT_UINT)), "18446744073709551615");
    CHECK_STR(ev(CAST(S("-1"), QT_UINT)),
              "ERR: Cast error: Cannot cast string '-1' to value of UInt64 type");
    CHECK_STR(ev(CAST(S("1e3"), QT_FLOAT)), "1000.0");
    CHECK_STR(ev(CAST(S("-.5"), QT_FLOAT)), "-0.5");
    CHECK_STR(ev(CAST(S("inf"), QT_FLOAT)), "inf");
    CHECK_STR(ev(CAST(S("NaN"), QT_FLOAT)), "NaN");
    CHECK_STR(ev(CAST(S("0x10"), QT_FLOAT)),
              "ERR: Cast error: Cannot cast string '0x10' to value of Float64 type");
    CHECK_STR(ev(CAST(S(""), QT_FLOAT)),
              "ERR: Cast error: Cannot cast string '' to value of Float64 type");
    CHECK_STR(ev(CAST(S("TRUE"), QT_BOOL)), "true");
    CHECK_STR(ev(CAST(S("off"), QT_BOOL)), "false");
    CHECK_STR(ev(CAST(S("maybe"), QT_BOOL)),
              "ERR: Cast error: Cannot cast value 'maybe' to value of Boolean type");
    CHECK_STR(ev(CAST(S("2026-01-07T17:28:51.5Z"), QT_TIMESTAMP)), "2026-01-07T17:28:51.500");
    CHECK_STR(ev(CAST(S("2026-01-07 17:28:51+02:00"), QT_TIMESTAMP)), "2026-01-07T15:28:51");
    CHECK_STR(ev(CAST(S("2026-13-01"), QT_TIMESTAMP)),
              "ERR: Cast error: Error parsing timestamp from '2026-13-01': expected RFC 3339, "
              "e.g. 2026-01-01T00:00:00Z");
    CHECK_STR(ev(CAST(I(1500000000), QT_TIMESTAMP)), "1970-01-01T00:00:01.500");
    CHECK_STR(ev(CAST(I(-1), QT_TIMESTAMP)), "1969-12-31T23:59:59.999999999");
    CHECK_STR(ev(CAST(TS("1970-01-01T00:00:01Z"), QT_INT)), "1000000000");
    CHECK_STR(ev(CAST(TS("2026-01-07T17:28:51Z"), QT_STRING)), "'2026-01-07T17:28:51'");
    CHECK_STR(ev(CAST(F(1), QT_STRING)), "'1.0'");
    CHECK_STR(ev(CAST(F(0.1), QT_STRING)), "'0.1'");
    CHECK_STR(ev(CAST(F(1e30), QT_STRING)), "'1e30'");
    CHECK_STR(ev(CAST(I(-42), QT_STRING)), "'-42'");
    CHECK_STR(ev(CAST(U(42), QT_STRING)), "'42'");
    CHECK_STR(ev(CAST(B(true), QT_STRING)), "'true'");
    CHECK_STR(ev(CAST(IV("1d2h3m4.5s"), QT_STRING)), "'1 days 2 hours 3 mins 4.500000000 secs'");
    CHECK_STR(ev(CAST(IV("0s"), QT_STRING)), "'0 secs'");
    CHECK_STR(ev(CAST(S("1 hour 30 minutes"), QT_INTERVAL)), "1 hours 30 mins");
    CHECK_STR(ev(CAST(S("1.5h"), QT_INTERVAL)), "1 hours 30 mins");
    CHECK_STR(ev(CAST(S("-10m"), QT_INTERVAL)), "-10 mins");
    CHECK_STR(ev(CAST(S("00:10:00"), QT_INTERVAL)), "10 mins");
    CHECK_STR(ev(CAST(S("1 month"), QT_INTERVAL)),
              "ERR: Cast error: invalid interval '1 month': months and years have no fixed "
              "length; use days (e.g. '30 days')");
    CHECK_STR(ev(CAST(S("5 fortnights"), QT_INTERVAL)),
              "ERR: Cast error: invalid interval '5 fortnights': unknown unit 'fortnights' (use "
              "ns, us, ms, s, m, h, d or w)");
    CHECK_STR(ev(CAST(I(0), QT_BOOL)), "false");
    CHECK_STR(ev(CAST(F(0.5), QT_BOOL)), "true");
    CHECK_STR(ev(CAST(B(true), QT_FLOAT)), "1.0");
    CHECK_STR(ev(CAST(U(7), QT_FLOAT)), "7.0");
    CHECK_STR(ev(CAST(NT(QT_STRING), QT_INT)), "NULL");
    CHECK_STR(ev(CAST(N(), QT_TIMESTAMP)), "NULL");
    CHECK_STR(ev(CAST(B(true), QT_TIMESTAMP)),
              "ERR: Unsupported CAST from Boolean to Timestamp(Nanosecond, None)");
    CHECK_STR(ev(CAST(TS("2026-01-01T00:00:00Z"), QT_INTERVAL)),
              "ERR: Unsupported CAST from Timestamp(Nanosecond, None) to Interval(MonthDayNano)");

    /* a bad value on a NULL row is not an error */
    const char *s[3] = {"1", "x", "3"};
    qvec cols[1] = {vec_str(3, s, "101")};
    qbatch b = batch(1, cols);
    CHECK_STR(evb(CAST(COL(0, QT_STRING), QT_INT), &b), "1,NULL,3");
    double f[2] = {1e300, 2.5};
    qvec fc[1] = {vec_f64(2, f, "01")};
    qbatch fb = batch(1, fc);
    CHECK_STR(evb(CAST(COL(0, QT_FLOAT), QT_INT), &fb), "NULL,2");
    teardown();
}

static void test_like(void)
{
    setup();
    struct {
        const char *s, *p;
        const char *like, *ilike;
    } t[] = {
        {"abc", "abc", "true", "true"},
        {"abc", "ABC", "false", "true"},
        {"abc", "ab", "false", "false"},
        {"abc", "a%", "true", "true"},
        {"abc", "%c", "true", "true"},
        {"abc", "%b%", "true", "true"},
        {"abc", "%", "true", "true"},
        {"", "%", "true", "true"},
        {"", "", "true", "true"},
        {"", "_", "false", "false"},
        {"abc", "a_c", "true", "true"},
        {"abc", "_b_", "true", "true"},
        {"abc", "__", "false", "false"},
        {"aXbXc", "a%b%c", "true", "true"},
        {"abcbc", "%b_", "true", "true"},
        {"ab", "a%%b", "true", "true"},
        {"mississippi", "%iss%ipp%", "true", "true"},
        {"mississippi", "m%s_s%i", "true", "true"},
        {"mississippi", "m%x%", "false", "false"},
        {"100%", "100\\%", "true", "true"},
        {"1000", "100\\%", "false", "false"},
        {"a_c", "a\\_c", "true", "true"},
        {"abc", "a\\_c", "false", "false"},
        {"a\\c", "a\\\\c", "true", "true"},
        {"ab\\", "ab\\", "true", "true"},
        {"héllo", "h_llo", "true", "true"},
        {"héllo", "h__llo", "false", "false"},
        {"日本語", "_本_", "true", "true"},
        {"ÄBC", "äbc", "false", "true"},
        {"ΣΟΦΙΑ", "σοφ%", "false", "true"},
        {"Straße", "STRA%", "false", "true"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *r = ev(FN("like", 2, S(t[i].s), S(t[i].p)));
        if (strcmp(r, t[i].like) != 0)
            printf("  '%s' LIKE '%s' = %s\n", t[i].s, t[i].p, r);
        CHECK_STR(r, t[i].like);
        r = ev(FN("ilike", 2, S(t[i].s), S(t[i].p)));
        if (strcmp(r, t[i].ilike) != 0)
            printf("  '%s' ILIKE '%s' = %s\n", t[i].s, t[i].p, r);
        CHECK_STR(r, t[i].ilike);
    }
    CHECK_STR(ev(FN("not_like", 2, S("abc"), S("a%"))), "false");
    CHECK_STR(ev(FN("not_ilike", 2, S("abc"), S("X%"))), "true");
    CHECK_STR(ev(FN("like", 2, NT(QT_STRING), S("a%"))), "NULL");
    CHECK_STR(ev(FN("like", 2, S("a"), N())), "NULL");
    qexpr *neg = FN("like", 2, S("abc"), S("a%"));
    neg->negated = true;
    CHECK_STR(ev(neg), "false");

    /* column against a constant pattern (compiled once) and against a pattern column */
    const char *s[4] = {"pump-1", "fan-2", NULL, "pump-3"}, *p[4] = {"%-1", "f%", "x", "p_mp%"};
    qvec cols[2] = {vec_str(4, s, "1101"), vec_str(4, p, NULL)};
    qbatch b = batch(2, cols);
    CHECK_STR(evb(FN("like", 2, COL(0, QT_STRING), S("pump%")), &b), "true,false,NULL,true");
    CHECK_STR(evb(FN("like", 2, COL(0, QT_STRING), COL(1, QT_STRING)), &b), "true,true,NULL,true");
    teardown();
}

static void test_in_list(void)
{
    setup();
    CHECK_STR(ev(IN(false, 4, I(2), I(1), I(2), I(3))), "true");
    CHECK_STR(ev(IN(false, 3, I(5), I(1), I(2))), "false");
    CHECK_STR(ev(IN(false, 3, I(1), I(1), N())), "true");
    CHECK_STR(ev(IN(false, 3, I(5), I(1), N())), "NULL");
    CHECK_STR(ev(IN(true, 3, I(5), I(1), N())), "NULL");
    CHECK_STR(ev(IN(true, 3, I(5), I(1), I(2))), "true");
    CHECK_STR(ev(IN(true, 3, I(1), I(1), I(2))), "false");
    CHECK_STR(ev(IN(false, 2, N(), I(1))), "NULL");
    CHECK_STR(ev(IN(false, 3, S("b"), S("a"), S("b"))), "true");
    CHECK_STR(ev(IN(false, 3, F(1.5), I(1), F(1.5))), "true");
    CHECK_STR(ev(IN(false, 2, I(1), F(1.5))), "false");
    CHECK_STR(ev(IN(false, 2, U(5), I(-1))), "false");
    CHECK_STR(ev(IN(false, 3, TS("2026-01-01T00:00:00Z"), S("2025-01-01"), S("2026-01-01"))),
              "true");

    int64_t v[5] = {1, 2, 3, 4, 5}, w[5] = {9, 2, 9, 9, 9};
    qvec cols[2] = {vec_i64(QT_INT, 5, v, "11110"), vec_i64(QT_INT, 5, w, "11101")};
    qbatch b = batch(2, cols);
    CHECK_STR(evb(IN(false, 3, COL(0, QT_INT), I(1), I(4)), &b), "true,false,false,true,NULL");
    CHECK_STR(evb(IN(true, 4, COL(0, QT_INT), I(1), I(4), N()), &b), "false,NULL,NULL,false,NULL");
    /* a non-constant list item */
    CHECK_STR(evb(IN(false, 3, COL(0, QT_INT), COL(1, QT_INT), I(1)), &b),
              "true,true,false,NULL,NULL");
    teardown();
}

static void test_case(void)
{
    setup();
    int64_t a[5] = {10, 20, 30, 40, 50}, d[5] = {2, 0, 5, 0, 1};
    qvec cols[2] = {vec_i64(QT_INT, 5, a, NULL), vec_i64(QT_INT, 5, d, "11101")};
    qbatch b = batch(2, cols);
    qexpr *x = COL(0, QT_INT), *y = COL(1, QT_INT);
    /* The ELSE branch runs only on its rows: no division by zero. */
    qexpr *c1 = CASE(QT_INT, 3, FN("=", 2, y, I(0)), I(-1), FN("/", 2, x, y));
    CHECK_STR(evb(c1, &b), "5,-1,6,NULL,50");
    /* WHEN order matters, NULL conditions fall through, no ELSE gives NULL */
    qexpr *c2 = CASE(QT_STRING, 4, FN(">", 2, x, I(25)), S("big"), FN(">", 2, y, I(1)), S("wide"));
    CHECK_STR(evb(c2, &b), "'wide',NULL,'big','big','big'");
    qexpr *c3 = CASE(QT_FLOAT, 3, FN("<", 2, x, I(30)), x, F(0.5));
    CHECK_STR(evb(c3, &b), "10.0,20.0,0.5,0.5,0.5");
    CHECK_STR(ev(CASE(QT_INT, 3, N(), I(1), I(2))), "2");
    CHECK_STR(ev(CASE(QT_INT, 2, B(false), I(1))), "NULL");
    /* several batches through the same node */
    int64_t a2[3] = {1, 2, 3}, d2[3] = {0, 0, 1};
    qvec cols2[2] = {vec_i64(QT_INT, 3, a2, NULL), vec_i64(QT_INT, 3, d2, NULL)};
    qbatch b2 = batch(2, cols2);
    CHECK_STR(evb(c1, &b2), "-1,-1,3");
    CHECK_STR(evb(c1, &b), "5,-1,6,NULL,50");
    teardown();
}

static void test_dictionary(void)
{
    setup();
    static const qstr dict[4] = {{"pump", 4}, {"fan", 3}, {"Valve", 5}, {"pump-2", 6}};
    uint32_t ids[6] = {0, 1, 2, 3, 0, 1};
    qvec cols[1] = {vec_dict(6, ids, dict, 4, 77, "111110")};
    qbatch b = batch(1, cols);
    qexpr *tag = COL(0, QT_STRING);
    qexpr *eq = FN("=", 2, tag, S("pump"));
    CHECK_STR(evb(eq, &b), "true,false,false,false,true,NULL");
    /* the predicate ran once per entry and is cached for the dictionary */
    qf_node *nd = eq->fn_state;
    CHECK(nd && nd->dict && nd->dict->ok && nd->dict->dict_n == 4 && nd->dict->dict_id == 77);
    CHECK_INT(nd->dict->res.n, 5);
    /* a second batch of the same dictionary reuses it without allocating */
    uint32_t ids2[3] = {3, 3, 0};
    qvec cols2[1] = {vec_dict(3, ids2, dict, 4, 77, NULL)};
    qbatch b2 = batch(1, cols2);
    size_t used = ctx.mem_used;
    CHECK_STR(evb(eq, &b2), "false,false,true");
    CHECK_INT(ctx.mem_used, used);
    CHECK_STR(evb(FN("<>", 2, tag, S("pump")), &b), "false,true,true,true,false,NULL");
    CHECK_STR(evb(FN(">", 2, S("b"), tag), &b), "false,false,true,false,false,NULL");
    CHECK_STR(evb(FN("like", 2, tag, S("pump%")), &b), "true,false,false,true,true,NULL");
    CHECK_STR(evb(FN("ilike", 2, tag, S("v%")), &b), "false,false,true,false,false,NULL");
    CHECK_STR(evb(FN("lower", 1, tag), &b), "'pump','fan','valve','pump-2','pump',NULL");
    CHECK_STR(evb(FN("length", 1, tag), &b), "4,3,5,6,4,NULL");
    CHECK_STR(evb(FN("coalesce", 2, tag, S("none")), &b),
              "'pump','fan','Valve','pump-2','pump','none'");
    CHECK_STR(evb(FN("is_null", 1, tag), &b), "false,false,false,false,false,true");
    CHECK_STR(evb(IN(false, 3, tag, S("fan"), S("Valve")), &b), "false,true,true,false,false,NULL");
    CHECK_STR(evb(IN(true, 3, tag, S("fan"), N()), &b), "NULL,false,NULL,NULL,NULL,NULL");
    CHECK_STR(evb(FN("||", 2, tag, S("!")), &b), "'pump!','fan!','Valve!','pump-2!','pump!',NULL");
    CHECK_STR(evb(FN("substr", 3, tag, I(2), I(2)), &b), "'um','an','al','um','um',NULL");
    /* a dictionary without an id (no shared id space) is evaluated but not cached */
    qvec cols3[1] = {vec_dict(2, ids, dict, 4, 0, NULL)};
    qbatch b3 = batch(1, cols3);
    qexpr *eq3 = FN("=", 2, tag, S("fan"));
    CHECK_STR(evb(eq3, &b3), "false,true");
    CHECK(!((qf_node *)eq3->fn_state)->dict || !((qf_node *)eq3->fn_state)->dict->ok);
    /* string vs timestamp coercion on a dictionary column: per row, errors on bad rows */
    static const qstr tdict[2] = {{"2026-01-01T00:00:00Z", 20}, {"bad", 3}};
    uint32_t tids[2] = {0, 1};
    qvec cols4[1] = {vec_dict(2, tids, tdict, 2, 5, "10")};
    qbatch b4 = batch(1, cols4);
    CHECK_STR(evb(FN("=", 2, tag, TS("2026-01-01T00:00:00Z")), &b4), "true,NULL");
    teardown();
}

static void test_date_bin(void)
{
    setup();
    CHECK_STR(ev(FN("date_bin", 2, IV("15m"), TS("2026-01-07T17:28:51Z"))), "2026-01-07T17:15:00");
    CHECK_STR(ev(FN("date_bin", 2, S("1 hour"), S("2026-01-07T17:28:51Z"))), "2026-01-07T17:00:00");
    CHECK_STR(
        ev(FN("date_bin", 3, IV("1h"), TS("2026-01-07T17:28:51Z"), TS("2026-01-01T00:30:00Z"))),
        "2026-01-07T16:30:00");
    CHECK_STR(
        ev(FN("date_bin", 3, IV("1d"), TS("2026-01-07T17:28:51Z"), TS("2030-01-01T12:00:00Z"))),
        "2026-01-07T12:00:00");
    /* before the epoch bins round down, not toward zero */
    CHECK_STR(ev(FN("date_bin", 2, IV("1m"), TS("1969-12-31T23:59:30Z"))), "1969-12-31T23:59:00");
    CHECK_STR(ev(FN("date_bin", 2, IV("1m"), TS("1969-12-31T23:59:00Z"))), "1969-12-31T23:59:00");
    /* 7-day bins start on Thursdays, as 1970-01-01 did */
    CHECK_STR(ev(FN("date_bin", 2, IV("7d"), TS("1900-02-28T01:00:00Z"))), "1900-02-22T00:00:00");
    CHECK_STR(ev(FN("date_bin", 2, IV("0s"), TS("2026-01-07T17:28:51Z"))),
              "ERR: DATE_BIN stride must be non-zero");
    CHECK_STR(ev(FN("date_bin", 2, FN("negate", 1, IV("1m")), TS("2026-01-07T17:28:51Z"))),
              "ERR: DATE_BIN stride must be positive");
    CHECK_STR(ev(FN("date_bin", 2, IV("1m"), NT(QT_TIMESTAMP))), "NULL");
    CHECK_STR(ty(FN("date_bin", 2, I(1), TS("2026-01-07T17:28:51Z"))),
              "no function matches 'date_bin(Int64, Timestamp(Nanosecond, None))'. Candidates: "
              "date_bin(Interval(MonthDayNano), Timestamp(Nanosecond, None)[, "
              "Timestamp(Nanosecond, None)])");
    /* a column, unsorted, with a NULL row */
    int64_t t[5] = {T_2026 + 61 * VG_NS_PER_SEC, T_2026 + 59 * VG_NS_PER_SEC, T_2026 - 1,
                    T_2026 + 62 * VG_NS_PER_SEC, INT64_MIN};
    qvec cols[1] = {vec_i64(QT_TIMESTAMP, 5, t, "11110")};
    qbatch b = batch(1, cols);
    CHECK_STR(evb(FN("date_bin", 2, IV("1m"), COL(0, QT_TIMESTAMP)), &b),
              "2026-01-01T00:01:00,2026-01-01T00:00:00,2025-12-31T23:59:00,2026-01-01T00:01:00,"
              "NULL");
    teardown();
}

static void test_date_trunc(void)
{
    setup();
    const char *ts = "2024-02-29T13:45:56.123456789Z"; /* a leap day, a Thursday */
    struct {
        const char *unit, *want;
    } t[] = {
        {"microsecond", "2024-02-29T13:45:56.123456"},
        {"millisecond", "2024-02-29T13:45:56.123"},
        {"second", "2024-02-29T13:45:56"},
        {"minute", "2024-02-29T13:45:00"},
        {"hour", "2024-02-29T13:00:00"},
        {"day", "2024-02-29T00:00:00"},
        {"week", "2024-02-26T00:00:00"},
        {"month", "2024-02-01T00:00:00"},
        {"quarter", "2024-01-01T00:00:00"},
        {"year", "2024-01-01T00:00:00"},
        {"MONTH", "2024-02-01T00:00:00"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK_STR(ev(FN("date_trunc", 2, S(t[i].unit), TS(ts))), t[i].want);
    CHECK_STR(ev(FN("date_trunc", 2, S("quarter"), TS("2025-12-31T23:59:59Z"))),
              "2025-10-01T00:00:00");
    CHECK_STR(ev(FN("date_trunc", 2, S("week"), TS("2026-01-04T10:00:00Z"))),
              "2025-12-29T00:00:00"); /* a Sunday belongs to the week of Monday the 29th */
    CHECK_STR(ev(FN("date_trunc", 2, S("day"), TS("1969-12-31T23:00:00Z"))), "1969-12-31T00:00:00");
    CHECK_STR(ev(FN("date_trunc", 2, S("month"), TS("1900-03-15T00:00:00Z"))),
              "1900-03-01T00:00:00");
    CHECK_STR(ev(FN("date_trunc", 2, S("year"), TS("1969-06-15T00:00:00Z"))),
              "1969-01-01T00:00:00");
    CHECK_STR(ev(FN("date_trunc", 2, S("second"), TS("1969-12-31T23:59:59.5Z"))),
              "1969-12-31T23:59:59");
    CHECK_STR(ty(FN("date_trunc", 2, S("fortnight"), TS(ts))),
              "Unsupported date_trunc granularity: 'fortnight'. Supported: microsecond, "
              "millisecond, second, minute, hour, day, week, month, quarter, year");
    /* the unit from a column */
    const char *u[2] = {"hour", "bogus"};
    qvec cols[1] = {vec_str(2, u, NULL)};
    qbatch b = batch(1, cols);
    CHECK_STR(evb(FN("date_trunc", 2, COL(0, QT_STRING), TS(ts)), &b),
              "ERR: Unsupported date_trunc granularity: 'bogus'. Supported: microsecond, "
              "millisecond, second, minute, hour, day, week, month, quarter, year");
    teardown();
}

static void test_date_part(void)
{
    setup();
    const char *ts = "2024-02-29T13:45:56.123456789Z";
    struct {
        const char *field, *want, *type;
    } t[] = {
        {"year", "2024", "Int64"},
        {"quarter", "1", "Int64"},
        {"month", "2", "Int64"},
        {"week", "9", "Int64"},
        {"day", "29", "Int64"},
        {"dow", "4", "Int64"},
        {"isodow", "4", "Int64"},
        {"doy", "60", "Int64"},
        {"hour", "13", "Int64"},
        {"minute", "45", "Int64"},
        {"second", "56", "Int64"},
        {"millisecond", "56123", "Int64"},
        {"microsecond", "56123456", "Int64"},
        {"nanosecond", "56123456789", "Int64"},
        {"epoch", "1709214356.1234567", "Float64"},
        {"YEAR", "2024", "Int64"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        qexpr *x = FN("date_part", 2, S(t[i].field), TS(ts));
        CHECK_STR(ev(x), t[i].want);
        CHECK_STR(ty(x), t[i].type);
    }
    CHECK_STR(ev(FN("date_part", 2, S("doy"), TS("2023-12-31T00:00:00Z"))), "365");
    CHECK_STR(ev(FN("date_part", 2, S("doy"), TS("2024-12-31T00:00:00Z"))), "366");
    CHECK_STR(ev(FN("date_part", 2, S("dow"), TS("2026-01-04T00:00:00Z"))), "0"); /* Sunday */
    CHECK_STR(ev(FN("date_part", 2, S("isodow"), TS("2026-01-04T00:00:00Z"))), "7");
    /* ISO weeks at year boundaries */
    CHECK_STR(ev(FN("date_part", 2, S("week"), TS("2021-01-03T00:00:00Z"))), "53");
    CHECK_STR(ev(FN("date_part", 2, S("week"), TS("2024-12-30T00:00:00Z"))), "1");
    CHECK_STR(ev(FN("date_part", 2, S("week"), TS("2026-01-01T00:00:00Z"))), "1");
    CHECK_STR(ev(FN("date_part", 2, S("week"), TS("2020-12-31T00:00:00Z"))), "53");
    /* before the epoch */
    CHECK_STR(ev(FN("date_part", 2, S("year"), TS("1969-12-31T23:59:59.5Z"))), "1969");
    CHECK_STR(ev(FN("date_part", 2, S("second"), TS("1969-12-31T23:59:59.5Z"))), "59");
    CHECK_STR(ev(FN("date_part", 2, S("epoch"), TS("1969-12-31T23:59:59.5Z"))), "-0.5");
    CHECK_STR(ev(FN("date_part", 2, S("dow"), TS("1969-12-31T00:00:00Z"))), "3");
    CHECK_STR(ev(FN("date_part", 2, S("day"), TS("1900-02-28T00:00:00Z"))), "28");
    CHECK_STR(ev(FN("date_part", 2, S("doy"), TS("1900-03-01T00:00:00Z"))), "60");
    CHECK_STR(ev(FN("extract", 2, S("month"), TS("2000-02-29T00:00:00Z"))), "2");
    CHECK_STR(ty(FN("date_part", 2, S("century"), TS(ts))),
              "Unsupported date_part field: 'century'. Supported: year, quarter, month, week, "
              "day, dow, doy, hour, minute, second, millisecond, microsecond, nanosecond, epoch, "
              "isodow");
    /* without a literal field (plain resolve) every field is Float64 */
    qtype at[2] = {QT_STRING, QT_TIMESTAMP}, rt;
    CHECK_INT(qfunc_find("date_part")->resolve(at, 2, &rt, &err), VG_OK);
    CHECK_INT(rt, QT_FLOAT);
    teardown();
}

static void test_time_misc(void)
{
    setup();
    CHECK_STR(ev(FN("now", 0)), "2026-01-01T01:00:00");
    CHECK(qexpr_is_const(FN("now", 0)));
    CHECK_STR(ev(FN("to_timestamp", 1, S("2026-01-07T17:28:51.25Z"))), "2026-01-07T17:28:51.250");
    /* integers are nanoseconds (InfluxDB's override), floats seconds */
    CHECK_STR(ev(FN("to_timestamp", 1, I(1767225600000000000LL))), "2026-01-01T00:00:00");
    CHECK_STR(ev(FN("to_timestamp", 1, I(-1))), "1969-12-31T23:59:59.999999999");
    CHECK_STR(ev(FN("to_timestamp", 1, F(1.5))), "1970-01-01T00:00:01.500");
    CHECK_STR(ev(FN("to_timestamp", 1, U(10))), "1970-01-01T00:00:00.000000010");
    CHECK_STR(ev(FN("to_timestamp", 1, U(UINT64_MAX))),
              "ERR: Cast error: Can't cast value 18446744073709551615 to type "
              "Timestamp(Nanosecond, None)");
    CHECK_STR(ev(FN("to_timestamp_seconds", 1, I(1767225600))), "2026-01-01T00:00:00");
    CHECK_STR(ev(FN("to_timestamp", 1, S("noon"))),
              "ERR: Error parsing timestamp from 'noon': expected RFC 3339, e.g. "
              "2026-01-01T00:00:00Z");
    CHECK_STR(ev(FN("to_timestamp_millis", 1, I(1500))), "1970-01-01T00:00:01.500");
    CHECK_STR(ev(FN("to_timestamp_seconds", 1, S("2026-01-07T17:28:51.25Z"))),
              "2026-01-07T17:28:51");
    CHECK_STR(ev(FN("to_timestamp", 1, NT(QT_INT))), "NULL");
    teardown();
}

static void test_math(void)
{
    setup();
    CHECK_STR(ev(FN("abs", 1, I(-5))), "5");
    CHECK_STR(ty(FN("abs", 1, I(-5))), "Int64");
    CHECK_STR(ev(FN("abs", 1, F(-2.5))), "2.5");
    CHECK_STR(ev(FN("abs", 1, U(7))), "7");
    CHECK_STR(ev(FN("abs", 1, I(INT64_MIN))),
              "ERR: Arithmetic overflow: Int64 overflow on abs(-9223372036854775808)");
    CHECK_STR(ev(FN("abs", 1, S("x"))),
              "RESOLVE: no function matches 'abs(Utf8)'. Candidates: abs(Int64), abs(UInt64), "
              "abs(Float64)");
    CHECK_STR(ev(FN("round", 1, F(2.5))), "3.0");
    CHECK_STR(ev(FN("round", 1, F(-2.5))), "-3.0");
    CHECK_STR(ev(FN("round", 1, I(7))), "7.0");
    CHECK_STR(ev(FN("round", 2, F(3.14159), I(2))), "3.14");
    CHECK_STR(ev(FN("round", 2, F(1234.5), I(-2))), "1200.0");
    CHECK_STR(ev(FN("floor", 1, F(-1.5))), "-2.0");
    CHECK_STR(ev(FN("ceil", 1, F(-1.5))), "-1.0");
    CHECK_STR(ev(FN("ceil", 1, I(3))), "3.0");
    CHECK_STR(ev(FN("sqrt", 1, I(16))), "4.0");
    CHECK_STR(ev(FN("sqrt", 1, F(-1))), "NaN");
    CHECK_STR(ev(FN("ln", 1, F(-1))), "NaN");
    CHECK_STR(ev(FN("ln", 1, I(0))), "-inf");
    CHECK_STR(ev(FN("ln", 1, F(M_E))), "1.0");
    CHECK_STR(ev(FN("log10", 1, I(1000))), "3.0");
    CHECK_STR(ev(FN("exp", 1, I(0))), "1.0");
    CHECK_STR(ev(FN("power", 2, I(2), I(10))), "1024");
    CHECK_STR(ty(FN("power", 2, I(2), I(10))), "Int64");
    CHECK_STR(ev(FN("power", 2, I(-3), I(3))), "-27");
    CHECK_STR(ev(FN("power", 2, I(2), I(63))),
              "ERR: Arithmetic overflow: Overflow happened on: 2 ^ 63");
    CHECK_STR(ev(FN("power", 2, I(2), I(-1))),
              "ERR: Can't use negative exponents: -1 in integer computation, please use Float.");
    CHECK_STR(ev(FN("power", 2, F(2), I(-1))), "0.5");
    CHECK_STR(ev(FN("power", 2, I(0), I(0))), "1");
    CHECK_STR(ev(FN("sqrt", 1, NT(QT_FLOAT))), "NULL");
    teardown();
}

static void test_conditional(void)
{
    setup();
    CHECK_STR(ev(FN("greatest", 3, I(1), I(5), I(3))), "5");
    CHECK_STR(ev(FN("greatest", 3, I(1), N(), F(2.5))), "2.5");
    CHECK_STR(ev(FN("least", 3, I(4), N(), I(-2))), "-2");
    CHECK_STR(ev(FN("greatest", 2, N(), N())), "NULL");
    CHECK_STR(ev(FN("greatest", 2, S("apple"), S("banana"))), "'banana'");
    CHECK_STR(ev(FN("least", 2, TS("2026-01-01T00:00:00Z"), S("2025-06-01"))),
              "2025-06-01T00:00:00");
    CHECK_STR(ev(FN("greatest", 2, F(1), F(NAN))), "NaN");
    CHECK_STR(ev(FN("coalesce", 3, N(), I(2), I(3))), "2");
    CHECK_STR(ev(FN("coalesce", 2, N(), N())), "NULL");
    CHECK_STR(ev(FN("coalesce", 2, NT(QT_STRING), S("x"))), "'x'");
    CHECK_STR(ev(FN("nullif", 2, I(1), I(1))), "NULL");
    CHECK_STR(ev(FN("nullif", 2, I(1), I(2))), "1");
    CHECK_STR(ev(FN("nullif", 2, I(1), N())), "1");
    CHECK_STR(ev(FN("nullif", 2, N(), I(1))), "NULL");
    CHECK_STR(ev(FN("nullif", 2, S("a"), S("a"))), "NULL");
    int64_t a[3] = {1, 2, 3}, b2[3] = {10, 0, 30};
    qvec cols[2] = {vec_i64(QT_INT, 3, a, "101"), vec_i64(QT_INT, 3, b2, "110")};
    qbatch b = batch(2, cols);
    CHECK_STR(evb(FN("coalesce", 2, COL(0, QT_INT), COL(1, QT_INT)), &b), "1,0,3");
    CHECK_STR(evb(FN("greatest", 2, COL(0, QT_INT), COL(1, QT_INT)), &b), "10,0,3");
    CHECK_STR(evb(FN("least", 2, COL(0, QT_INT), COL(1, QT_INT)), &b), "1,0,3");
    CHECK_STR(evb(FN("nullif", 2, COL(1, QT_INT), I(0)), &b), "10,NULL,NULL");
    teardown();
}

static void test_strings(void)
{
    setup();
    CHECK_STR(ev(FN("lower", 1, S("HeLLo ÄÖÜ ΣΟΦΊΑ Привет Ŀİ"))), "'hello äöü σοφία привет ŀİ'");
    CHECK_STR(ev(FN("upper", 1, S("straße ÿ ǆ άλφα ёж ı"))), "'STRASSE Ÿ ǆ ΆΛΦΑ ЁЖ I'");
    CHECK_STR(ev(FN("length", 1, S("héllo"))), "5");
    CHECK_STR(ev(FN("char_length", 1, S("日本語"))), "3");
    CHECK_STR(ev(FN("character_length", 1, S(""))), "0");
    CHECK_STR(ev(FN("octet_length", 1, S("日本語"))), "9");
    CHECK_STR(ev(FN("concat", 3, S("a"), N(), S("b"))), "'ab'");
    CHECK_STR(ev(FN("concat", 2, N(), N())), "''");
    CHECK_STR(ev(FN("concat", 3, S("x="), I(42), B(true))), "'x=42true'");
    CHECK_STR(ev(FN("concat", 2, S("t="), F(1.5))), "'t=1.5'");
    CHECK_STR(ev(FN("||", 2, S("a"), S("b"))), "'ab'");
    CHECK_STR(ev(FN("||", 2, S("a"), N())), "NULL");
    CHECK_STR(ev(FN("||", 2, S("n"), I(1))), "'n1'");
    CHECK_STR(ev(FN("substr", 2, S("hello"), I(2))), "'ello'");
    CHECK_STR(ev(FN("substr", 3, S("hello"), I(2), I(3))), "'ell'");
    CHECK_STR(ev(FN("substr", 3, S("hello"), I(0), I(2))), "'h'");
    CHECK_STR(ev(FN("substr", 3, S("hello"), I(-3), I(5))), "'h'");
    CHECK_STR(ev(FN("substr", 3, S("hello"), I(-3), I(2))), "''");
    CHECK_STR(ev(FN("substr", 2, S("hello"), I(10))), "''");
    CHECK_STR(ev(FN("substr", 3, S("héllo wörld"), I(2), I(4))), "'éllo'");
    CHECK_STR(ev(FN("substring", 3, S("日本語です"), I(3), I(2))), "'語で'");
    CHECK_STR(ev(FN("substr", 3, S("hello"), I(1), I(-1))),
              "ERR: negative substring length not allowed");
    CHECK_STR(ev(FN("substr", 3, S("hello"), I(1), I(INT64_MAX))), "'hello'");
    CHECK_STR(ev(FN("replace", 3, S("a-b-c"), S("-"), S("+="))), "'a+=b+=c'");
    CHECK_STR(ev(FN("replace", 3, S("aaa"), S("aa"), S("b"))), "'ba'");
    CHECK_STR(ev(FN("replace", 3, S("abc"), S("x"), S("y"))), "'abc'");
    CHECK_STR(ev(FN("replace", 3, S("ab"), S(""), S("-"))), "'-a-b-'");
    CHECK_STR(ev(FN("replace", 3, S("héllo"), S("é"), S("e"))), "'hello'");
    CHECK_STR(ev(FN("starts_with", 2, S("pump-1"), S("pump"))), "true");
    CHECK_STR(ev(FN("starts_with", 2, S("pu"), S("pump"))), "false");
    CHECK_STR(ev(FN("starts_with", 2, S("x"), S(""))), "true");
    CHECK_STR(ev(FN("ends_with", 2, S("pump-1"), S("-1"))), "true");
    CHECK_STR(ev(FN("lower", 1, N())), "NULL");
    CHECK_STR(ev(FN("lower", 1, I(1))),
              "RESOLVE: no function matches 'lower/upper(Int64)'. Candidates: lower(Utf8), "
              "upper(Utf8)");
    teardown();
}

static void test_selector_field(void)
{
    setup();
    /* a struct column as selector aggregates produce it */
    qvec s;
    CHECK_INT(qvec_alloc(&ctx, &s, QT_SELECTOR, 3), VG_OK);
    CHECK_INT(qvec_alloc(&ctx, &s.sel[0], QT_FLOAT, 3), VG_OK);
    s.sel[0].v.f64[0] = 1.5;
    s.sel[0].v.f64[1] = 2.5;
    s.sel[0].v.f64[2] = 0;
    s.sel[1].v.i64[0] = T_2026;
    s.sel[1].v.i64[1] = T_2026 + VG_NS_PER_SEC;
    s.sel[1].v.i64[2] = 0;
    qvec_add_validity(&ctx, &s.sel[0]);
    qvec_add_validity(&ctx, &s.sel[1]);
    qvec_set_null(&s.sel[0], 2);
    qvec_set_null(&s.sel[1], 2);
    qvec_add_validity(&ctx, &s);
    qvec_set_null(&s, 1); /* a NULL struct has NULL fields */
    qbatch b = batch(1, &s);
    qexpr *fv = zalloc(sizeof *fv), *ft = zalloc(sizeof *ft);
    fv->kind = ft->kind = QX_FIELD;
    fv->nargs = ft->nargs = 1;
    fv->args = ft->args = zalloc(sizeof(qexpr *));
    fv->args[0] = COL(0, QT_SELECTOR);
    fv->type = QT_FLOAT;
    ft->type = QT_TIMESTAMP;
    ft->field = 1;
    CHECK_STR(evb(fv, &b), "1.5,NULL,NULL");
    CHECK_STR(evb(ft, &b), "2026-01-01T00:00:00,NULL,NULL");
    teardown();
}

static void test_resolve_errors(void)
{
    setup();
    CHECK_STR(ty(FN("sqrt", 1, S("4"))),
              "no function matches 'sqrt(Utf8)'. Candidates: sqrt(Float64)");
    CHECK_STR(ty(FN("substr", 2, S("x"), S("y"))),
              "no function matches 'substr(Utf8, Utf8)'. Candidates: substr(Utf8, Int64), "
              "substr(Utf8, Int64, Int64)");
    CHECK(qfunc_find("no_such_function") == NULL);
    CHECK(qfunc_find("negate") != NULL && qfunc_find("<>") != NULL && qfunc_find("!=") != NULL);
    CHECK_STR(ty(FN("||", 2, I(1), I(2))), "Utf8");
    CHECK_STR(ty(FN("greatest", 2, I(1), U(2))), "Int64");
    CHECK_STR(ty(FN("coalesce", 2, I(1), S("x"))), "Utf8");
    CHECK_STR(ty(FN("=", 2, I(1), F(2))), "Boolean");
    teardown();
}

/* Evaluating the same tree over many batches allocates nothing after the first. */
static void test_buffer_reuse(void)
{
    setup();
    enum { ROWS = 1000 };
    int64_t *a = zalloc(ROWS * 8);
    const char **s = zalloc(ROWS * sizeof(char *));
    for (int i = 0; i < ROWS; i++) {
        a[i] = i;
        s[i] = i % 2 ? "odd" : "even";
    }
    qvec cols[2] = {vec_i64(QT_INT, ROWS, a, NULL), vec_str(ROWS, s, NULL)};
    qbatch b = batch(2, cols);
    qexpr *x = CASE(QT_STRING, 3, FN(">", 2, FN("%", 2, COL(0, QT_INT), I(7)), I(3)),
                    FN("upper", 1, FN("||", 2, COL(1, QT_STRING), S("!"))),
                    CAST(FN("*", 2, COL(0, QT_INT), F(0.5)), QT_STRING));
    qexpr *in = IN(false, 4, COL(0, QT_INT), I(1), I(500), I(999));
    qvec out;
    /* two rounds: the first may need several string blocks, the second sizes one */
    for (int k = 0; k < 2; k++) {
        CHECK_INT(qexpr_eval(&ctx, x, &b, &out), VG_OK);
        CHECK_INT(qexpr_eval(&ctx, in, &b, &out), VG_OK);
    }
    size_t used = ctx.mem_used;
    for (int k = 0; k < 50; k++) {
        CHECK_INT(qexpr_eval(&ctx, x, &b, &out), VG_OK);
        CHECK_INT(qexpr_eval(&ctx, in, &b, &out), VG_OK);
    }
    CHECK_INT(ctx.mem_used, used);
    CHECK(ctx.mem_used < 1024 * 1024);
    qvalue v;
    CHECK_INT(qexpr_eval(&ctx, x, &b, &out), VG_OK);
    qf_vec_value(&out, 4, &v);
    CHECK_MEM(v.v.s.p, v.v.s.len, "EVEN!");
    qf_vec_value(&out, 7, &v);
    CHECK_MEM(v.v.s.p, v.v.s.len, "3.5");
    /* a copied node does not share the original's buffers */
    qexpr copy = *x;
    CHECK(qf_node_get(&ctx, &copy) != qf_node_get(&ctx, x));
    teardown();
}

static void test_budget_during_eval(void)
{
    setup();
    ctx.mem_budget = 4096;
    enum { ROWS = 4096 };
    int64_t *a = zalloc(ROWS * 8);
    qvec cols[1] = {vec_i64(QT_INT, ROWS, a, NULL)};
    qbatch b = batch(1, cols);
    qvec out;
    CHECK_INT(qexpr_eval(&ctx, FN("+", 2, COL(0, QT_INT), I(1)), &b, &out), VG_ENOMEM);
    CHECK_STR(err.msg, "query exceeded its memory budget of 4096 bytes (--exec-mem-pool-bytes)");
    teardown();
}

TEST_MAIN(test_types_and_ctx, test_logic_truth_tables, test_arith_int, test_arith_rows,
          test_arith_float, test_arith_time, test_compare, test_cast, test_like, test_in_list,
          test_case, test_dictionary, test_date_bin, test_date_trunc, test_date_part,
          test_time_misc, test_math, test_conditional, test_strings, test_selector_field,
          test_resolve_errors, test_buffer_reuse, test_budget_during_eval)
