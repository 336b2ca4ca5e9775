/*
 * tests/unit/test_sql_parser.c: the SQL lexer, parser and renderer (query/lexer.c,
 * parser.c, ast.c). Trees are compared as S-expressions printed by a small dumper
 * below, e.g. (select (items (func avg (col s_2)) as s_2) (from sensors) ...); every
 * error message is asserted exactly.
 */
#include "query/ast_int.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

/* ---- the S-expression dumper ---- */

static void dump_expr(const ast_expr *x, vg_buf *b);
static void dump_query(const ast_query *q, vg_buf *b);

static void dump_args(ast_expr *const *xs, uint32_t n, vg_buf *b)
{
    for (uint32_t i = 0; i < n; i++) {
        vg_buf_putc(b, ' ');
        dump_expr(xs[i], b);
    }
}

static void dump_lower(const char *s, vg_buf *b)
{
    for (; *s; s++)
        vg_buf_putc(b, (char)(*s >= 'A' && *s <= 'Z' ? *s + ('a' - 'A') : *s));
}

static void dump_str(const char *tag, vg_str s, vg_buf *b)
{
    vg_buf_printf(b, "(%s '", tag);
    vg_buf_append(b, s.ptr, s.len);
    vg_buf_puts(b, "')");
}

static void dump_op(const char *name, const ast_expr *x, vg_buf *b)
{
    vg_buf_printf(b, "(%s%s", x->negated ? "not-" : "", name);
    dump_args(x->args, x->nargs, b);
    vg_buf_putc(b, ')');
}

static void dump_expr(const ast_expr *x, vg_buf *b)
{
    char num[40];
    switch (x->kind) {
    case AE_NULL: vg_buf_puts(b, "(null)"); break;
    case AE_BOOL: vg_buf_printf(b, "(bool %s)", x->v.b ? "true" : "false"); break;
    case AE_INT: vg_buf_printf(b, "(int %" PRId64 ")", x->v.i); break;
    case AE_UINT: vg_buf_printf(b, "(uint %" PRIu64 ")", x->v.u); break;
    case AE_FLOAT:
        num[vg_fmt_f64(x->v.f, num)] = '\0';
        vg_buf_printf(b, "(float %s)", num);
        break;
    case AE_STRING: dump_str("str", x->v.s, b); break;
    case AE_INTERVAL: dump_str("interval", x->v.s, b); break;
    case AE_TYPED_STRING:
        vg_buf_printf(b, "(typed %s '%.*s')", x->type_name, (int)x->v.s.len, x->v.s.ptr);
        break;
    case AE_PARAM: vg_buf_printf(b, "(param %.*s)", (int)x->v.s.len, x->v.s.ptr); break;
    case AE_COLUMN:
        vg_buf_printf(b, "(col %s%s%s)", x->qualifier ? x->qualifier : "", x->qualifier ? "." : "",
                      x->name);
        break;
    case AE_STAR:
        vg_buf_printf(b, "(star%s%s)", x->qualifier ? " " : "", x->qualifier ? x->qualifier : "");
        break;
    case AE_UNARY:
    case AE_BINARY:
        vg_buf_putc(b, '(');
        dump_lower(x->op, b);
        dump_args(x->args, x->nargs, b);
        vg_buf_putc(b, ')');
        break;
    case AE_FUNC:
        vg_buf_printf(b, "(func %s%s%s", x->name, x->distinct ? " distinct" : "",
                      x->star ? " *" : "");
        dump_args(x->args, x->nargs, b);
        vg_buf_putc(b, ')');
        break;
    case AE_CASE:
        vg_buf_puts(b, "(case");
        if (x->case_operand) {
            vg_buf_putc(b, ' ');
            dump_expr(x->case_operand, b);
        }
        for (uint32_t i = 0; i < x->nwhens; i++) {
            vg_buf_puts(b, " (when ");
            dump_expr(x->whens[i], b);
            vg_buf_putc(b, ' ');
            dump_expr(x->thens[i], b);
            vg_buf_putc(b, ')');
        }
        if (x->case_else) {
            vg_buf_puts(b, " (else ");
            dump_expr(x->case_else, b);
            vg_buf_putc(b, ')');
        }
        vg_buf_putc(b, ')');
        break;
    case AE_CAST:
        vg_buf_puts(b, "(cast ");
        dump_expr(x->args[0], b);
        vg_buf_printf(b, " %s)", x->type_name);
        break;
    case AE_IN_LIST:
        vg_buf_printf(b, "(%sin ", x->negated ? "not-" : "");
        dump_expr(x->args[0], b);
        dump_args(x->list, x->nlist, b);
        vg_buf_putc(b, ')');
        break;
    case AE_BETWEEN: dump_op("between", x, b); break;
    case AE_LIKE: dump_op(x->ilike ? "ilike" : "like", x, b); break;
    case AE_IS_NULL:
        vg_buf_puts(b, x->negated ? "(is-not-null" : "(is-null");
        dump_args(x->args, 1, b);
        vg_buf_putc(b, ')');
        break;
    case AE_IS_BOOL:
        vg_buf_printf(b, "(is-%s%s", x->negated ? "not-" : "", x->v.b ? "true" : "false");
        dump_args(x->args, 1, b);
        vg_buf_putc(b, ')');
        break;
    case AE_SUBSCRIPT:
        vg_buf_puts(b, "(subscript ");
        dump_expr(x->args[0], b);
        vg_buf_printf(b, " %.*s)", (int)x->v.s.len, x->v.s.ptr);
        break;
    case AE_EXTRACT:
        vg_buf_printf(b, "(extract %.*s ", (int)x->v.s.len, x->v.s.ptr);
        dump_expr(x->args[0], b);
        vg_buf_putc(b, ')');
        break;
    case AE_SUBQUERY:
        vg_buf_puts(b, "(subquery ");
        dump_query(x->query, b);
        vg_buf_putc(b, ')');
        break;
    }
}

static void dump_from(const ast_from *f, vg_buf *b)
{
    vg_buf_puts(b, "(from ");
    if (f->kind == AF_SUBQUERY) {
        vg_buf_puts(b, "(subquery ");
        dump_query(f->query, b);
        vg_buf_putc(b, ')');
    } else {
        vg_buf_printf(b, "%s%s%s", f->schema ? f->schema : "", f->schema ? "." : "", f->name);
    }
    if (f->alias)
        vg_buf_printf(b, " as %s", f->alias);
    vg_buf_putc(b, ')');
}

static void dump_select(const ast_select *s, vg_buf *b)
{
    vg_buf_printf(b, "(select%s (items", s->distinct ? " distinct" : "");
    for (uint32_t i = 0; i < s->nitems; i++) {
        vg_buf_putc(b, ' ');
        dump_expr(s->items[i].expr, b);
        if (s->items[i].alias)
            vg_buf_printf(b, " as %s", s->items[i].alias);
    }
    vg_buf_putc(b, ')');
    if (s->from) {
        vg_buf_putc(b, ' ');
        dump_from(s->from, b);
    }
    if (s->where) {
        vg_buf_puts(b, " (where ");
        dump_expr(s->where, b);
        vg_buf_putc(b, ')');
    }
    if (s->ngroup_by) {
        vg_buf_puts(b, " (group-by");
        dump_args(s->group_by, s->ngroup_by, b);
        vg_buf_putc(b, ')');
    }
    if (s->having) {
        vg_buf_puts(b, " (having ");
        dump_expr(s->having, b);
        vg_buf_putc(b, ')');
    }
    vg_buf_putc(b, ')');
}

static void dump_query(const ast_query *q, vg_buf *b)
{
    if (!q->nctes && q->nselects == 1 && !q->norder_by && !q->limit && !q->offset) {
        dump_select(q->selects[0], b);
        return;
    }
    vg_buf_puts(b, "(query");
    if (q->nctes) {
        vg_buf_puts(b, " (with");
        for (uint32_t i = 0; i < q->nctes; i++) {
            vg_buf_printf(b, " (cte %s ", q->ctes[i].name);
            dump_query(q->ctes[i].query, b);
            vg_buf_putc(b, ')');
        }
        vg_buf_putc(b, ')');
    }
    vg_buf_puts(b, q->nselects > 1 ? " (union-all" : "");
    for (uint32_t i = 0; i < q->nselects; i++) {
        vg_buf_putc(b, ' ');
        dump_select(q->selects[i], b);
    }
    vg_buf_puts(b, q->nselects > 1 ? ")" : "");
    if (q->norder_by) {
        vg_buf_puts(b, " (order-by");
        for (uint32_t i = 0; i < q->norder_by; i++) {
            const ast_order_item *o = &q->order_by[i];
            bool plain = !o->desc && o->nulls_first < 0;
            vg_buf_puts(b, plain ? " " : o->desc ? " (desc " : " (asc ");
            dump_expr(o->expr, b);
            if (o->nulls_first >= 0)
                vg_buf_puts(b, o->nulls_first ? " nulls-first" : " nulls-last");
            vg_buf_puts(b, plain ? "" : ")");
        }
        vg_buf_putc(b, ')');
    }
    if (q->limit) {
        vg_buf_puts(b, " (limit ");
        dump_expr(q->limit, b);
        vg_buf_putc(b, ')');
    }
    if (q->offset) {
        vg_buf_puts(b, " (offset ");
        dump_expr(q->offset, b);
        vg_buf_putc(b, ')');
    }
    vg_buf_putc(b, ')');
}

static void dump_stmt(const ast_stmt *st, vg_buf *b)
{
    switch (st->kind) {
    case AS_QUERY: dump_query(st->query, b); break;
    case AS_EXPLAIN:
        vg_buf_printf(b, "(explain%s%s ", st->analyze ? " analyze" : "",
                      st->verbose ? " verbose" : "");
        dump_query(st->query, b);
        vg_buf_putc(b, ')');
        break;
    case AS_SHOW_TABLES: vg_buf_puts(b, "(show-tables)"); break;
    case AS_SHOW_COLUMNS:
        vg_buf_puts(b, "(show-columns ");
        dump_from(st->from, b);
        vg_buf_putc(b, ')');
        break;
    case AS_DELETE:
        vg_buf_puts(b, "(delete ");
        dump_from(st->from, b);
        if (st->where) {
            vg_buf_puts(b, " (where ");
            dump_expr(st->where, b);
            vg_buf_putc(b, ')');
        }
        vg_buf_putc(b, ')');
        break;
    }
}

/* ---- helpers ---- */

static char result[8192];
static vg_arena arena;
static ast_stmt *last;

/* Parses `sql` (from an exact-size copy, so ASan sees any read past the end) and
 * returns its dump, or "ERR <code>: <message>". */
static const char *parse_n(const char *sql, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, sql, len);
    vg_arena_free(&arena);
    vg_arena_init(&arena, 0);
    vg_err e = {0};
    int rc = ast_parse(copy, len, &arena, &last, &e);
    if (rc != VG_OK) {
        snprintf(result, sizeof result, "ERR %d: %s", rc, e.msg);
        last = NULL;
    } else {
        vg_buf b;
        vg_buf_init(&b);
        dump_stmt(last, &b);
        snprintf(result, sizeof result, "%s", b.data ? b.data : "");
        vg_buf_free(&b);
    }
    free(copy);
    return result;
}

static const char *parse(const char *sql)
{
    return parse_n(sql, strlen(sql));
}

static char err_buf[1024];

/* The message of a syntax error, or "parsed" if there was none. */
static const char *err(const char *sql)
{
    const char *r = parse(sql);
    if (strncmp(r, "ERR 1: ", 7) != 0)
        return "parsed";
    snprintf(err_buf, sizeof err_buf, "%s", r + 7);
    return err_buf;
}

/* The dump of one expression: `SELECT <expr>`. */
static const char *expr(const char *e)
{
    char sql[4096];
    snprintf(sql, sizeof sql, "SELECT %s", e);
    const char *r = parse(sql);
    if (!last)
        return r;
    vg_buf b;
    vg_buf_init(&b);
    dump_expr(last->query->selects[0]->items[0].expr, &b);
    snprintf(result, sizeof result, "%s", b.data);
    vg_buf_free(&b);
    return result;
}

/* ast_expr_to_sql of one expression. */
static char rendered[4096];
static const char *render(const char *e)
{
    char sql[4096];
    snprintf(sql, sizeof sql, "SELECT %s", e);
    const char *r = parse(sql);
    if (!last)
        return r;
    vg_buf b;
    vg_buf_init(&b);
    ast_expr_to_sql(last->query->selects[0]->items[0].expr, &b);
    snprintf(rendered, sizeof rendered, "%s", b.data);
    vg_buf_free(&b);
    return rendered;
}

#define SYNTAX "SQL syntax error at line "

/* ---- the issue's queries ---- */

static void test_issue_queries(void)
{
    CHECK_STR(parse("SELECT AVG(s_2) AS s_2 FROM sensors WHERE time_cycles <= 15"),
              "(select (items (func avg (col s_2)) as s_2) (from sensors) "
              "(where (<= (col time_cycles) (int 15))))");
    CHECK_STR(parse("SELECT * FROM sensors WHERE time >= now() - INTERVAL '10m' "
                    "ORDER BY time DESC"),
              "(query (select (items (star)) (from sensors) (where (>= (col time) "
              "(- (func now) (interval '10m'))))) (order-by (desc (col time))))");
    CHECK_STR(parse("SELECT unit_number, max(time_cycles) FROM sensors GROUP BY unit_number"),
              "(select (items (col unit_number) (func max (col time_cycles))) (from sensors) "
              "(group-by (col unit_number)))");
}

/* ---- literals ---- */

static void test_numbers(void)
{
    CHECK_STR(expr("0"), "(int 0)");
    CHECK_STR(expr("15"), "(int 15)");
    CHECK_STR(expr("9223372036854775807"), "(int 9223372036854775807)");
    CHECK_STR(expr("9223372036854775808"), "(uint 9223372036854775808)");
    CHECK_STR(expr("18446744073709551615"), "(uint 18446744073709551615)");
    CHECK_STR(expr("18446744073709551616"), "(float 18446744073709552000)");
    CHECK_STR(expr("1.5"), "(float 1.5)");
    CHECK_STR(expr(".5"), "(float 0.5)");
    CHECK_STR(expr("5."), "(float 5)");
    CHECK_STR(expr("1e3"), "(float 1000)"); /* vg_fmt_f64 */
    CHECK_STR(expr("1.5E-3"), "(float 0.0015)");
    CHECK_STR(expr("2e+2"), "(float 200)");
    CHECK_STR(expr("1e999"), "(float inf)");
    /* A minus sign written before a number belongs to the literal. */
    CHECK_STR(expr("-5"), "(int -5)");
    CHECK_STR(expr("- 5"), "(int -5)");
    CHECK_STR(expr("-9223372036854775808"), "(int -9223372036854775808)");
    CHECK_STR(expr("-9223372036854775809"), "(float -9223372036854776000)");
    CHECK_STR(expr("-18446744073709551616"), "(float -18446744073709552000)");
    CHECK_STR(expr("-1.5"), "(float -1.5)");
    CHECK_STR(expr("- -5"), "(- (int -5))");
    CHECK_STR(expr("-(5)"), "(- (int 5))");
    CHECK_STR(expr("+5"), "(+ (int 5))");
    /* ...unless a postfix operator binds the number first. */
    CHECK_STR(expr("-1::text"), "(- (cast (int 1) text))");
    CHECK_STR(expr("-1['a']"), "(- (subscript (int 1) a))");
    CHECK_STR(expr("1-1"), "(- (int 1) (int 1))");
    CHECK_STR(expr("1 - -1"), "(- (int 1) (int -1))");
}

static void test_strings_and_keywords(void)
{
    CHECK_STR(expr("'abc'"), "(str 'abc')");
    CHECK_STR(expr("''"), "(str '')");
    CHECK_STR(expr("'it''s'"), "(str 'it's')");
    CHECK_STR(expr("''''"), "(str ''')");
    CHECK_STR(expr("'two\nlines'"), "(str 'two\nlines')");
    CHECK_STR(expr("'température'"), "(str 'température')");
    CHECK_STR(expr("TRUE"), "(bool true)");
    CHECK_STR(expr("false"), "(bool false)");
    CHECK_STR(expr("Null"), "(null)");
    CHECK_STR(expr("'2026-01-01T00:00:00Z'"), "(str '2026-01-01T00:00:00Z')");
    CHECK_STR(expr("TIMESTAMP '2026-01-01T00:00:00Z'"), "(typed timestamp '2026-01-01T00:00:00Z')");
    CHECK_STR(expr("date '2026-01-01'"), "(typed date '2026-01-01')");

    /* A string containing a NUL byte keeps it. */
    parse_n("SELECT 'a\0b'", 12);
    CHECK(last != NULL);
    if (last) {
        vg_str s = last->query->selects[0]->items[0].expr->v.s;
        CHECK_INT(s.len, 3);
        CHECK(memcmp(s.ptr, "a\0b", 3) == 0);
    }
}

static void test_intervals(void)
{
    CHECK_STR(expr("INTERVAL '10 minutes'"), "(interval '10 minutes')");
    CHECK_STR(expr("interval '10m'"), "(interval '10m')");
    CHECK_STR(expr("INTERVAL '1' HOUR"), "(interval '1 hour')");
    CHECK_STR(expr("INTERVAL '2' Days"), "(interval '2 days')");
    CHECK_STR(expr("INTERVAL 3 MINUTE"), "(interval '3 minute')");
    /* `interval` is an ordinary name otherwise. */
    CHECK_STR(expr("interval"), "(col interval)");
    CHECK_STR(expr("interval + 1"), "(+ (col interval) (int 1))");
    CHECK_STR(parse("SELECT INTERVAL '1' hour AS h"), "(select (items (interval '1 hour') as h))");
    CHECK_STR(expr("now() - INTERVAL '1 day' + INTERVAL '1h'"),
              "(+ (- (func now) (interval '1 day')) (interval '1h'))");
}

static void test_params(void)
{
    CHECK_STR(expr("$name"), "(param name)");
    CHECK_STR(expr("$Name_2"), "(param Name_2)");
    CHECK_STR(expr("$1"), "(param 1)");
    CHECK_STR(parse("SELECT * FROM t WHERE host = $host AND v > $min"),
              "(select (items (star)) (from t) (where (and (= (col host) (param host)) "
              "(> (col v) (param min)))))");
}

/* ---- names ---- */

static void test_identifiers(void)
{
    CHECK_STR(expr("Foo"), "(col foo)");
    CHECK_STR(expr("\"Foo\""), "(col Foo)");
    CHECK_STR(expr("\"a \"\"b\"\" c\""), "(col a \"b\" c)");
    CHECK_STR(expr("\"select\""), "(col select)");
    CHECK_STR(expr("T.A"), "(col t.a)");
    CHECK_STR(expr("\"My Table\".\"Temp\""), "(col My Table.Temp)");
    CHECK_STR(expr("t.\"from\""), "(col t.from)");
    CHECK_STR(expr("t.from"), "(col t.from)"); /* any word may follow a dot */
    CHECK_STR(expr("température"), "(col température)");
    CHECK_STR(expr("_x1"), "(col _x1)");
    CHECK_STR(expr("time"), "(col time)");
    CHECK_STR(expr("timestamp"), "(col timestamp)");
    CHECK_STR(parse("sElEcT a FrOm t WhErE b"),
              "(select (items (col a)) (from t) (where (col b)))");
    CHECK_STR(parse("SELECT \"Temp\" AS \"T\" FROM \"Cpu\""),
              "(select (items (col Temp) as T) (from Cpu))");
}

/* ---- operators ---- */

static void test_precedence(void)
{
    CHECK_STR(expr("a + b * c"), "(+ (col a) (* (col b) (col c)))");
    CHECK_STR(expr("(a + b) * c"), "(* (+ (col a) (col b)) (col c))");
    CHECK_STR(expr("a - b - c"), "(- (- (col a) (col b)) (col c))");
    CHECK_STR(expr("a / b % c * d"), "(* (% (/ (col a) (col b)) (col c)) (col d))");
    CHECK_STR(expr("a OR b AND c"), "(or (col a) (and (col b) (col c)))");
    CHECK_STR(expr("a AND b OR c AND d"), "(or (and (col a) (col b)) (and (col c) (col d)))");
    CHECK_STR(expr("a OR b OR c"), "(or (or (col a) (col b)) (col c))");
    CHECK_STR(expr("NOT a = b"), "(not (= (col a) (col b)))");
    CHECK_STR(expr("NOT a AND b"), "(and (not (col a)) (col b))");
    CHECK_STR(expr("NOT NOT a"), "(not (not (col a)))");
    CHECK_STR(expr("a = NOT b"), "(= (col a) (not (col b)))");
    CHECK_STR(expr("a = b AND c <> d"), "(and (= (col a) (col b)) (<> (col c) (col d)))");
    CHECK_STR(expr("a != b"), "(<> (col a) (col b))");
    CHECK_STR(expr("a<>b"), "(<> (col a) (col b))");
    CHECK_STR(expr("a < b = c"), "(= (< (col a) (col b)) (col c))");
    CHECK_STR(expr("a <= b AND a >= c AND a > d AND a < e"),
              "(and (and (and (<= (col a) (col b)) (>= (col a) (col c))) (> (col a) (col d))) "
              "(< (col a) (col e)))");
    CHECK_STR(expr("a || b = c || d"), "(= (|| (col a) (col b)) (|| (col c) (col d)))");
    CHECK_STR(expr("a || b + c"), "(|| (col a) (+ (col b) (col c)))");
    CHECK_STR(expr("-a * b"), "(* (- (col a)) (col b))");
    CHECK_STR(expr("-a::int"), "(- (cast (col a) int))");
    CHECK_STR(expr("a * -b"), "(* (col a) (- (col b)))");
    CHECK_STR(expr("a::int + 1"), "(+ (cast (col a) int) (int 1))");
    CHECK_STR(expr("a::int::text"), "(cast (cast (col a) int) text)");
    CHECK_STR(expr("f(x)['value'] > 1"), "(> (subscript (func f (col x)) value) (int 1))");
    CHECK_STR(expr("a = b IS NULL"), "(is-null (= (col a) (col b)))");
    CHECK_STR(expr("a IS NULL AND b IS NOT NULL"), "(and (is-null (col a)) (is-not-null (col b)))");
    CHECK_STR(expr("NOT a IS NULL"), "(not (is-null (col a)))");
    CHECK_STR(expr("a = b LIKE c"), "(= (col a) (like (col b) (col c)))");
    CHECK_STR(expr("a LIKE b || 'x'"), "(like (col a) (|| (col b) (str 'x')))");
    CHECK_STR(expr("a BETWEEN 1 AND 2 AND b"), "(and (between (col a) (int 1) (int 2)) (col b))");
    CHECK_STR(expr("a BETWEEN 1 + 1 AND 2 * 3"),
              "(between (col a) (+ (int 1) (int 1)) (* (int 2) (int 3)))");
    CHECK_STR(expr("a IN (1, 2) OR b NOT IN (3)"),
              "(or (in (col a) (int 1) (int 2)) (not-in (col b) (int 3)))");
    CHECK_STR(expr("a NOT LIKE 'x%' AND b"), "(and (not-like (col a) (str 'x%')) (col b))");
    CHECK_STR(expr("((a))"), "(col a)");
}

static void test_predicates(void)
{
    CHECK_STR(expr("a IS NULL"), "(is-null (col a))");
    CHECK_STR(expr("a IS NOT NULL"), "(is-not-null (col a))");
    CHECK_STR(expr("a IS UNKNOWN"), "(is-null (col a))");
    CHECK_STR(expr("a IS TRUE"), "(is-true (col a))");
    CHECK_STR(expr("a IS NOT TRUE"), "(is-not-true (col a))");
    CHECK_STR(expr("a IS FALSE"), "(is-false (col a))");
    CHECK_STR(expr("a IS NOT FALSE"), "(is-not-false (col a))");
    CHECK_STR(expr("a LIKE 'x%'"), "(like (col a) (str 'x%'))");
    CHECK_STR(expr("a NOT LIKE 'x%'"), "(not-like (col a) (str 'x%'))");
    CHECK_STR(expr("a ILIKE 'X%'"), "(ilike (col a) (str 'X%'))");
    CHECK_STR(expr("a NOT ILIKE 'X%'"), "(not-ilike (col a) (str 'X%'))");
    CHECK_STR(expr("a BETWEEN 1 AND 10"), "(between (col a) (int 1) (int 10))");
    CHECK_STR(expr("a NOT BETWEEN 1 AND 10"), "(not-between (col a) (int 1) (int 10))");
    CHECK_STR(expr("a IN (1)"), "(in (col a) (int 1))");
    CHECK_STR(expr("a IN ('x', 'y', $p)"), "(in (col a) (str 'x') (str 'y') (param p))");
    CHECK_STR(expr("a NOT IN (1, 2)"), "(not-in (col a) (int 1) (int 2))");
}

/* ---- calls and special forms ---- */

static void test_functions(void)
{
    CHECK_STR(expr("count(*)"), "(func count *)");
    CHECK_STR(expr("COUNT(x)"), "(func count (col x))");
    CHECK_STR(expr("count(DISTINCT x)"), "(func count distinct (col x))");
    CHECK_STR(expr("sum(ALL x)"), "(func sum (col x))");
    CHECK_STR(expr("now()"), "(func now)");
    CHECK_STR(expr("coalesce(a, b, 0)"), "(func coalesce (col a) (col b) (int 0))");
    CHECK_STR(expr("date_bin(INTERVAL '1 minute', time)"),
              "(func date_bin (interval '1 minute') (col time))");
    CHECK_STR(expr("selector_first(v, time)['value']"),
              "(subscript (func selector_first (col v) (col time)) value)");
    CHECK_STR(expr("left(s, 2)"), "(func left (col s) (int 2))");
    CHECK_STR(expr("right(s, 2)"), "(func right (col s) (int 2))");
    CHECK_STR(expr("\"MyFunc\"(x)"), "(func MyFunc (col x))");
    CHECK_STR(expr("current_timestamp"), "(func current_timestamp)");
    CHECK_STR(expr("current_date()"), "(func current_date)");
    CHECK_STR(expr("approx_percentile_cont(v, 0.5)"),
              "(func approx_percentile_cont (col v) (float 0.5))");
    CHECK_STR(expr("round(avg(a), 2)"), "(func round (func avg (col a)) (int 2))");
    CHECK_STR(expr("extract"), "(col extract)");
    CHECK_STR(expr("date(x)"), "(func date (col x))");
}

static void test_case_cast_extract(void)
{
    CHECK_STR(expr("CASE WHEN a > 1 THEN 'hi' END"),
              "(case (when (> (col a) (int 1)) (str 'hi')))");
    CHECK_STR(expr("CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END"),
              "(case (when (col a) (int 1)) (when (col b) (int 2)) (else (int 3)))");
    CHECK_STR(expr("CASE x WHEN 1 THEN 'one' ELSE 'many' END"),
              "(case (col x) (when (int 1) (str 'one')) (else (str 'many')))");
    CHECK_STR(expr("CAST(a AS BIGINT)"), "(cast (col a) bigint)");
    CHECK_STR(expr("CAST(a AS Double  Precision)"), "(cast (col a) double precision)");
    CHECK_STR(expr("cast(a as varchar(10))"), "(cast (col a) varchar(10))");
    CHECK_STR(expr("CAST(a AS decimal(10, 2))"), "(cast (col a) decimal(10,2))");
    CHECK_STR(expr("CAST(a AS bigint unsigned)"), "(cast (col a) bigint unsigned)");
    CHECK_STR(expr("CAST(a AS UNSIGNED BIGINT)"), "(cast (col a) unsigned bigint)");
    CHECK_STR(expr("CAST(a AS int unsigned)"), "(cast (col a) int unsigned)");
    CHECK_STR(expr("CAST(a AS unsigned)"), "(cast (col a) unsigned)");
    CHECK_STR(expr("CAST(a AS character varying(20))"), "(cast (col a) character varying(20))");
    CHECK_STR(expr("a::timestamp(9) without time zone"),
              "(cast (col a) timestamp(9) without time zone)");
    CHECK_STR(expr("CAST(t AS timestamp with time zone)"),
              "(cast (col t) timestamp with time zone)");
    CHECK_STR(expr("a::double precision"), "(cast (col a) double precision)");
    CHECK_STR(expr("a::TIMESTAMP"), "(cast (col a) timestamp)");
    CHECK_STR(expr("'1'::int"), "(cast (str '1') int)");
    CHECK_STR(expr("CAST(a AS int)['x']"), "(subscript (cast (col a) int) x)");
    CHECK_STR(expr("EXTRACT(hour FROM time)"), "(extract hour (col time))");
    CHECK_STR(expr("extract(YEAR from t.time)"), "(extract year (col t.time))");
    CHECK_STR(expr("EXTRACT('Day' FROM time)"), "(extract day (col time))");
    CHECK_STR(expr("(SELECT max(a) FROM t)"),
              "(subquery (select (items (func max (col a))) (from t)))");
    CHECK_STR(expr("1 + (SELECT 2)"), "(+ (int 1) (subquery (select (items (int 2)))))");
}

/* ---- SELECT ---- */

static void test_select_clauses(void)
{
    CHECK_STR(parse("SELECT 1"), "(select (items (int 1)))");
    CHECK_STR(parse("SELECT DISTINCT a, b FROM t"),
              "(select distinct (items (col a) (col b)) (from t))");
    CHECK_STR(parse("SELECT ALL a FROM t"), "(select (items (col a)) (from t))");
    CHECK_STR(parse("SELECT t.*, *, a FROM t"),
              "(select (items (star t) (star) (col a)) (from t))");
    CHECK_STR(parse("SELECT \"T\".* FROM \"T\""), "(select (items (star T)) (from T))");
    CHECK_STR(parse("SELECT a AS x, b y, c \"Z\", d AS \"from\", e AS from FROM t"),
              "(select (items (col a) as x (col b) as y (col c) as Z (col d) as from "
              "(col e) as from) (from t))");
    CHECK_STR(parse("SELECT a FROM system.queries"),
              "(select (items (col a)) (from system.queries))");
    CHECK_STR(parse("SELECT a FROM information_schema.\"columns\" AS c"),
              "(select (items (col a)) (from information_schema.columns as c))");
    CHECK_STR(parse("SELECT s.a FROM sensors s"), "(select (items (col s.a)) (from sensors as s))");
    CHECK_STR(parse("SELECT x FROM (SELECT a AS x FROM t) AS sub"),
              "(select (items (col x)) (from (subquery (select (items (col a) as x) "
              "(from t))) as sub))");
    CHECK_STR(parse("SELECT x FROM (SELECT 1 AS x) q"),
              "(select (items (col x)) (from (subquery (select (items (int 1) as x))) as q))");
    CHECK_STR(parse("SELECT * FROM (SELECT 1)"),
              "(select (items (star)) (from (subquery (select (items (int 1))))))");
    CHECK_STR(parse("SELECT host, avg(v) FROM t WHERE time > now() - INTERVAL '1h' "
                    "GROUP BY host, 2 HAVING avg(v) > 10"),
              "(select (items (col host) (func avg (col v))) (from t) (where (> (col time) "
              "(- (func now) (interval '1h')))) (group-by (col host) (int 2)) "
              "(having (> (func avg (col v)) (int 10))))");
    CHECK_STR(parse("SELECT date_bin(INTERVAL '1 minute', time) AS m, count(*) FROM t "
                    "GROUP BY date_bin(INTERVAL '1 minute', time)"),
              "(select (items (func date_bin (interval '1 minute') (col time)) as m "
              "(func count *)) (from t) (group-by (func date_bin (interval '1 minute') "
              "(col time))))");
}

static void test_query_clauses(void)
{
    CHECK_STR(parse("SELECT a FROM t ORDER BY a, b ASC, c DESC, d NULLS FIRST, "
                    "e DESC NULLS LAST, 1"),
              "(query (select (items (col a)) (from t)) (order-by (col a) (col b) "
              "(desc (col c)) (asc (col d) nulls-first) (desc (col e) nulls-last) (int 1)))");
    CHECK_STR(parse("SELECT a FROM t LIMIT 10"),
              "(query (select (items (col a)) (from t)) (limit (int 10)))");
    CHECK_STR(parse("SELECT a FROM t LIMIT 10 OFFSET 5"),
              "(query (select (items (col a)) (from t)) (limit (int 10)) (offset (int 5)))");
    CHECK_STR(parse("SELECT a FROM t OFFSET 5 LIMIT 10"),
              "(query (select (items (col a)) (from t)) (limit (int 10)) (offset (int 5)))");
    CHECK_STR(parse("SELECT a FROM t OFFSET 5 ROWS"),
              "(query (select (items (col a)) (from t)) (offset (int 5)))");
    CHECK_STR(parse("SELECT a FROM t ORDER BY time DESC LIMIT $n"),
              "(query (select (items (col a)) (from t)) (order-by (desc (col time))) "
              "(limit (param n)))");
    CHECK_STR(parse("SELECT a FROM t UNION ALL SELECT b FROM u UNION ALL SELECT 1 "
                    "ORDER BY 1 LIMIT 2"),
              "(query (union-all (select (items (col a)) (from t)) (select (items (col b)) "
              "(from u)) (select (items (int 1)))) (order-by (int 1)) (limit (int 2)))");
    CHECK_STR(parse("(SELECT a FROM t)"), "(select (items (col a)) (from t))");
    CHECK_STR(parse("((SELECT a FROM t)) ORDER BY a"),
              "(query (select (items (col a)) (from t)) (order-by (col a)))");
    CHECK_STR(parse("(SELECT a FROM t) UNION ALL (SELECT b FROM u)"),
              "(query (union-all (select (items (col a)) (from t)) (select (items (col b)) "
              "(from u))))");
    CHECK_STR(parse("SELECT 1 UNION ALL (SELECT 2 UNION ALL SELECT 3)"),
              "(query (union-all (select (items (int 1))) (select (items (int 2))) "
              "(select (items (int 3)))))");
    /* An operand with its own ORDER BY / LIMIT keeps them inside a subquery. */
    CHECK_STR(parse("(SELECT a FROM t ORDER BY a LIMIT 1) UNION ALL SELECT b FROM u"),
              "(query (union-all (select (items (star)) (from (subquery (query (select "
              "(items (col a)) (from t)) (order-by (col a)) (limit (int 1)))))) "
              "(select (items (col b)) (from u))))");
    CHECK_STR(parse("(SELECT a FROM t LIMIT 5) ORDER BY a"),
              "(query (select (items (star)) (from (subquery (query (select (items (col a)) "
              "(from t)) (limit (int 5)))))) (order-by (col a)))");
    CHECK_STR(parse("WITH x AS (SELECT a FROM t), y AS (SELECT b FROM x) "
                    "SELECT * FROM y"),
              "(query (with (cte x (select (items (col a)) (from t))) (cte y (select "
              "(items (col b)) (from x)))) (select (items (star)) (from y)))");
    CHECK_STR(parse("WITH x AS (SELECT 1) (SELECT * FROM x) LIMIT 1"),
              "(query (with (cte x (select (items (int 1))))) (select (items (star)) "
              "(from x)) (limit (int 1)))");
    CHECK_STR(parse("SELECT a FROM t WHERE v > (SELECT avg(v) FROM t)"),
              "(select (items (col a)) (from t) (where (> (col v) (subquery (select "
              "(items (func avg (col v))) (from t))))))");
}

static void test_statements(void)
{
    CHECK_STR(parse("EXPLAIN SELECT 1"), "(explain (select (items (int 1))))");
    CHECK_STR(parse("explain analyze SELECT 1"), "(explain analyze (select (items (int 1))))");
    CHECK_STR(parse("EXPLAIN VERBOSE SELECT 1"), "(explain verbose (select (items (int 1))))");
    CHECK_STR(parse("EXPLAIN ANALYZE VERBOSE SELECT a FROM t LIMIT 1"),
              "(explain analyze verbose (query (select (items (col a)) (from t)) "
              "(limit (int 1))))");
    CHECK_STR(parse("SHOW TABLES"), "(show-tables)");
    CHECK_STR(parse("show tables;"), "(show-tables)");
    CHECK_STR(parse("SHOW COLUMNS FROM sensors"), "(show-columns (from sensors))");
    CHECK_STR(parse("SHOW COLUMNS IN system.queries"), "(show-columns (from system.queries))");
    CHECK_STR(parse("DELETE FROM t"), "(delete (from t))");
    CHECK_STR(parse("DELETE FROM \"T\" WHERE time < '2026-01-01'"),
              "(delete (from T) (where (< (col time) (str '2026-01-01'))))");
    CHECK_STR(parse("SELECT 1;"), "(select (items (int 1)))");
    CHECK_STR(parse("  SELECT 1 ;  \n\t"), "(select (items (int 1)))");
    CHECK_STR(parse("SELECT 1; -- done\n"), "(select (items (int 1)))");
    CHECK(last && last->kind == AS_QUERY);
}

static void test_comments(void)
{
    CHECK_STR(parse("-- leading\nSELECT a -- trailing\nFROM t -- end"),
              "(select (items (col a)) (from t))");
    CHECK_STR(parse("SELECT /* a comment */ a/**/FROM/*x*/t"), "(select (items (col a)) (from t))");
    CHECK_STR(parse("SELECT /* outer /* nested */ still comment */ 1"), "(select (items (int 1)))");
    CHECK_STR(parse("SELECT 1 /* multi\nline\n*/ + 2"), "(select (items (+ (int 1) (int 2))))");
    CHECK_STR(parse("SELECT a-- comment right after a name\nFROM t"),
              "(select (items (col a)) (from t))");
    CHECK_STR(parse("SELECT 4/2"), "(select (items (/ (int 4) (int 2))))");
    CHECK_STR(parse("SELECT 4 - -2"), "(select (items (- (int 4) (int -2))))");
    CHECK_STR(parse("SELECT '-- not a comment', '/* nor this */'"),
              "(select (items (str '-- not a comment') (str '/* nor this */')))");
}

/* ---- positions ---- */

static void test_positions(void)
{
    parse("SELECT a,\n       b + 1 AS c\nFROM t\nWHERE x IN (1)");
    CHECK(last != NULL);
    if (!last)
        return;
    ast_select *s = last->query->selects[0];
    CHECK_INT(last->pos.line, 1);
    CHECK_INT(last->pos.col, 1);
    CHECK_INT(s->items[0].pos.line, 1);
    CHECK_INT(s->items[0].pos.col, 8);
    CHECK_INT(s->items[1].pos.line, 2);
    CHECK_INT(s->items[1].pos.col, 8);
    CHECK_INT(s->items[1].expr->pos.col, 8);           /* a binary node starts at its left */
    CHECK_INT(s->items[1].expr->args[1]->pos.col, 12); /* the 1 */
    CHECK_INT(s->from->pos.line, 3);
    CHECK_INT(s->from->pos.col, 6);
    CHECK_INT(s->where->pos.line, 4);
    CHECK_INT(s->where->pos.col, 7);
    CHECK_INT(s->where->list[0]->pos.col, 13);

    /* Columns count characters, not bytes. */
    parse("SELECT 'é€', ü");
    CHECK(last != NULL);
    if (last)
        CHECK_INT(last->query->selects[0]->items[1].expr->pos.col, 14);
    CHECK_STR(err("SELECT 'é€', #"), SYNTAX "1, column 14: unexpected character '#'");
    /* A folded negative literal starts at its sign. */
    parse("SELECT  -5");
    if (last)
        CHECK_INT(last->query->selects[0]->items[0].expr->pos.col, 9);
}

/* ---- errors ---- */

static void test_errors_lexical(void)
{
    CHECK_STR(err("SELECT a FROM t WHERE s = 'abc"),
              SYNTAX "1, column 31: unterminated string literal starting at line 1, column 27");
    CHECK_STR(err("SELECT 'it''s"),
              SYNTAX "1, column 14: unterminated string literal starting at line 1, column 8");
    CHECK_STR(err("SELECT \"abc FROM t"),
              SYNTAX "1, column 19: unterminated quoted identifier starting at line 1, "
                     "column 8");
    CHECK_STR(err("SELECT 1 /* x\n\n"),
              SYNTAX "3, column 1: unterminated /* comment starting at line 1, column 10");
    CHECK_STR(err("SELECT 1 /* a /* b */"),
              SYNTAX "1, column 22: unterminated /* comment starting at line 1, column 10");
    CHECK_STR(err("SELECT #"), SYNTAX "1, column 8: unexpected character '#'");
    CHECK_STR(err("SELECT a ! b"), SYNTAX "1, column 10: unexpected character '!'");
    CHECK_STR(err("SELECT a | b"), SYNTAX "1, column 10: unexpected character '|'");
    CHECK_STR(err("SELECT a : b"), SYNTAX "1, column 10: unexpected character ':'");
    CHECK_STR(err("SELECT `a`"), SYNTAX "1, column 8: unexpected character '`'");
    CHECK_STR(err("SELECT \x01"), SYNTAX "1, column 8: unexpected control character 0x01");
    CHECK_STR(err("SELECT \"\""), SYNTAX "1, column 8: zero-length quoted identifier \"\"");
    CHECK_STR(err("SELECT 0x1F"), SYNTAX "1, column 8: invalid numeric literal '0x1F'");
    CHECK_STR(err("SELECT 10m"), SYNTAX "1, column 8: invalid numeric literal '10m'");
    CHECK_STR(err("SELECT 1e"), SYNTAX "1, column 8: invalid numeric literal '1e'");
    CHECK_STR(err("SELECT $ FROM t"),
              SYNTAX "1, column 8: '$' must be followed by a parameter name, as in $name");
    const char nul_ident[] = "SELECT \"a\0b\"";
    CHECK_STR(parse_n(nul_ident, sizeof nul_ident - 1),
              "ERR 1: " SYNTAX "1, column 10: NUL byte in a quoted identifier");
    /* A NUL byte outside a string is a character like any other. */
    const char nul[] = "SELECT 1\0";
    CHECK_STR(parse_n(nul, sizeof nul - 1),
              "ERR 1: " SYNTAX "1, column 9: unexpected control character 0x00");
}

static void test_errors_syntax(void)
{
    CHECK_STR(err("SELECT a, FROM t"), SYNTAX "1, column 11: expected an expression, found 'FROM'");
    CHECK_STR(err("SELECT (1"),
              SYNTAX "1, column 10: expected ')' to close '(' opened at line 1, column 8, "
                     "found end of input");
    CHECK_STR(err("SELECT f(a b)"),
              SYNTAX "1, column 12: expected ')' to close '(' opened at line 1, column 9, "
                     "found 'b'");
    CHECK_STR(err("SELECT * FROM (SELECT 1"),
              SYNTAX "1, column 24: expected ')' to close '(' opened at line 1, column 15, "
                     "found end of input");
    CHECK_STR(err(""), SYNTAX "1, column 1: expected SELECT, WITH, EXPLAIN, SHOW or DELETE, "
                              "found end of input");
    CHECK_STR(err("  -- only a comment"),
              SYNTAX "1, column 20: expected SELECT, WITH, EXPLAIN, SHOW or DELETE, "
                     "found end of input");
    CHECK_STR(err("INSERT INTO t VALUES (1)"),
              SYNTAX "1, column 1: expected SELECT, WITH, EXPLAIN, SHOW or DELETE, "
                     "found 'INSERT'");
    CHECK_STR(err("SELECT 1; SELECT 2"),
              SYNTAX "1, column 11: expected end of input after ';' (one statement at a "
                     "time), found 'SELECT'");
    CHECK_STR(err("SELECT 1 2"), SYNTAX "1, column 10: expected end of input, found '2'");
    CHECK_STR(err("SELECT 1 'x'"), SYNTAX "1, column 10: expected end of input, found string 'x'");
    CHECK_STR(err("SELECT a FROM"),
              SYNTAX "1, column 14: expected a table name, found end of input");
    CHECK_STR(err("SELECT a FROM select"),
              SYNTAX "1, column 15: expected a table name, found 'select'");
    CHECK_STR(err("SELECT a FROM s."),
              SYNTAX "1, column 17: expected a table name after '.', found end of input");
    CHECK_STR(err("SELECT a FROM t WHERE"),
              SYNTAX "1, column 22: expected an expression, found end of input");
    CHECK_STR(err("SELECT a\nFROM t\nWHERE b = = 1"),
              SYNTAX "3, column 11: expected an expression, found '='");
    CHECK_STR(err("SELECT -"), SYNTAX "1, column 9: expected an expression, found end of input");
    CHECK_STR(err("SELECT a FROM t GROUP a"),
              SYNTAX "1, column 23: expected BY after GROUP, found 'a'");
    CHECK_STR(err("SELECT a FROM t ORDER a"),
              SYNTAX "1, column 23: expected BY after ORDER, found 'a'");
    CHECK_STR(err("SELECT a FROM t ORDER BY a NULLS x"),
              SYNTAX "1, column 34: expected FIRST or LAST after NULLS, found 'x'");
    CHECK_STR(err("SELECT 1 LIMIT"),
              SYNTAX "1, column 15: expected an expression, found end of input");
    CHECK_STR(err("SELECT 1 LIMIT 1 LIMIT 2"),
              SYNTAX "1, column 18: expected end of input, found 'LIMIT'");
    CHECK_STR(err("SELECT a AS 1"), SYNTAX "1, column 13: expected a name after AS, found '1'");
    CHECK_STR(err("SELECT DISTINCT ON (a) a FROM t"),
              SYNTAX "1, column 17: expected an expression, found 'ON'");
    CHECK_STR(err("SELECT a IN ()"), SYNTAX "1, column 14: expected an expression, found ')'");
    CHECK_STR(err("SELECT t.)"), SYNTAX "1, column 10: expected a column name after '.', "
                                        "found ')'");
    CHECK_STR(err("SELECT a.b.c"),
              SYNTAX "1, column 11: expected at most one qualifier (table.column), found '.'");
    CHECK_STR(err("SELECT a FROM t x bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
              SYNTAX "1, column 19: expected end of input, found "
                     "'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...'");
    CHECK_STR(err("SELECT 1 'a long string literal that goes on and on and on'"),
              SYNTAX "1, column 10: expected end of input, found string "
                     "'a long string literal that goes on a...");
    /* A lexical error reached in look-ahead does not mask an earlier syntax error... */
    CHECK_STR(err("SELECT a FROM t t2 t3 'x"),
              SYNTAX "1, column 20: expected end of input, found 't3'");
    /* ...and a syntax error at the bad token reports the lexical one. */
    CHECK_STR(err("SELECT a + #"), SYNTAX "1, column 12: unexpected character '#'");
}

static void test_errors_constructs(void)
{
    CHECK_STR(err("SELECT CASE END"), SYNTAX "1, column 13: expected WHEN, found 'END'");
    CHECK_STR(err("SELECT CASE WHEN a 1 END"), SYNTAX "1, column 20: expected THEN, found '1'");
    CHECK_STR(err("SELECT CASE WHEN a THEN 1"),
              SYNTAX "1, column 26: expected END to close CASE at line 1, column 8, "
                     "found end of input");
    CHECK_STR(err("SELECT CAST a"), SYNTAX "1, column 13: expected '(' after CAST, found 'a'");
    CHECK_STR(err("SELECT CAST(a int)"), SYNTAX "1, column 15: expected AS in CAST, found 'int'");
    CHECK_STR(err("SELECT CAST(a AS 5)"), SYNTAX "1, column 18: expected a type name, found '5'");
    CHECK_STR(err("SELECT a::"), SYNTAX "1, column 11: expected a type name, found end of input");
    CHECK_STR(err("SELECT CAST(a AS decimal(10,))"),
              SYNTAX "1, column 29: expected a number in the type's parentheses, found ')'");
    CHECK_STR(err("SELECT a IS 5"),
              SYNTAX "1, column 13: expected NULL, TRUE or FALSE after IS, found '5'");
    CHECK_STR(err("SELECT a IS DISTINCT FROM b"),
              SYNTAX "1, column 13: IS [NOT] DISTINCT FROM is not supported yet");
    CHECK_STR(err("SELECT a IN 1"), SYNTAX "1, column 13: expected '(' after IN, found '1'");
    CHECK_STR(err("SELECT a FROM t WHERE a IN (SELECT a FROM u)"),
              SYNTAX "1, column 29: IN (subquery) is not supported yet");
    CHECK_STR(err("SELECT a BETWEEN 1 OR 2"),
              SYNTAX "1, column 20: expected AND in BETWEEN, found 'OR'");
    CHECK_STR(err("SELECT a['x'"),
              SYNTAX "1, column 13: expected ']' to close '[' opened at line 1, column 9, "
                     "found end of input");
    CHECK_STR(err("SELECT a[1]"),
              SYNTAX "1, column 10: expected a field name in quotes, as in ['value'], "
                     "found '1'");
    CHECK_STR(err("SELECT EXTRACT(1 FROM t)"),
              SYNTAX "1, column 16: expected a date part such as year, month, day or hour, "
                     "found '1'");
    CHECK_STR(err("SELECT EXTRACT(hour t)"),
              SYNTAX "1, column 21: expected FROM in EXTRACT, found 't'");
    CHECK_STR(err("SELECT count(*) OVER (PARTITION BY a) FROM t"),
              SYNTAX "1, column 17: window functions (OVER) are not supported yet");
    CHECK_STR(err("SELECT count(*) FILTER (WHERE a) FROM t"),
              SYNTAX "1, column 17: FILTER on aggregates is not supported yet");
    CHECK_STR(err("SELECT a LIKE 'x' ESCAPE '!'"),
              SYNTAX "1, column 19: LIKE ... ESCAPE is not supported yet");
}

static void test_errors_statements(void)
{
    CHECK_STR(err("SELECT a FROM t UNION SELECT b FROM u"),
              SYNTAX "1, column 17: UNION without ALL is not supported yet; use UNION ALL");
    CHECK_STR(err("SELECT a FROM t UNION DISTINCT SELECT b FROM u"),
              SYNTAX "1, column 17: UNION without ALL is not supported yet; use UNION ALL");
    CHECK_STR(err("SELECT a FROM t INTERSECT SELECT b FROM u"),
              SYNTAX "1, column 17: INTERSECT is not supported yet");
    CHECK_STR(err("SELECT a FROM t EXCEPT SELECT b FROM u"),
              SYNTAX "1, column 17: EXCEPT is not supported yet");
    CHECK_STR(err("SELECT a FROM t, u"), SYNTAX "1, column 16: joins are not supported yet");
    CHECK_STR(err("SELECT a FROM t JOIN u ON t.a = u.a"),
              SYNTAX "1, column 17: joins are not supported yet");
    CHECK_STR(err("SELECT a FROM t AS x LEFT JOIN u ON true"),
              SYNTAX "1, column 22: joins are not supported yet");
    CHECK_STR(err("SELECT a FROM t CROSS JOIN u"),
              SYNTAX "1, column 17: joins are not supported yet");
    CHECK_STR(err("SELECT a FROM t INNER JOIN u USING (a)"),
              SYNTAX "1, column 17: joins are not supported yet");
    CHECK_STR(err("SHOW DATABASES"),
              SYNTAX "1, column 6: expected TABLES or COLUMNS after SHOW, found 'DATABASES'");
    CHECK_STR(err("SHOW COLUMNS t"),
              SYNTAX "1, column 14: expected FROM or IN after SHOW COLUMNS, found 't'");
    CHECK_STR(err("SHOW COLUMNS FROM"),
              SYNTAX "1, column 18: expected a table name, found end of input");
    CHECK_STR(err("DELETE t"), SYNTAX "1, column 8: expected FROM after DELETE, found 't'");
    CHECK_STR(err("DELETE FROM t WHERE"),
              SYNTAX "1, column 20: expected an expression, found end of input");
    CHECK_STR(err("EXPLAIN SHOW TABLES"), SYNTAX "1, column 9: expected SELECT, found 'SHOW'");
    CHECK_STR(err("WITH RECURSIVE x AS (SELECT 1) SELECT 1"),
              SYNTAX "1, column 6: WITH RECURSIVE is not supported yet");
    CHECK_STR(err("WITH x (SELECT 1) SELECT 1"),
              SYNTAX "1, column 8: expected AS after the WITH query's name, found '('");
    CHECK_STR(err("WITH x AS SELECT 1"),
              SYNTAX "1, column 11: expected '(' after AS, found 'SELECT'");
    CHECK_STR(err("WITH AS (SELECT 1) SELECT 1"),
              SYNTAX "1, column 6: expected a name for the WITH query, found 'AS'");
    CHECK_STR(err("WITH x AS (SELECT 1)"),
              SYNTAX "1, column 21: expected SELECT, found end of input");
    CHECK_STR(err("SELECT a FROM t UNION ALL"),
              SYNTAX "1, column 26: expected SELECT, found end of input");
}

/* ---- limits ---- */

static char *repeat(const char *pre, const char *unit, int n, const char *mid, const char *unit2,
                    int n2)
{
    vg_buf b;
    vg_buf_init(&b);
    vg_buf_puts(&b, pre);
    for (int i = 0; i < n; i++)
        vg_buf_puts(&b, unit);
    vg_buf_puts(&b, mid);
    for (int i = 0; i < n2; i++)
        vg_buf_puts(&b, unit2);
    return vg_buf_steal(&b);
}

static void test_depth_limit(void)
{
    char *s = repeat("SELECT ", "(", 150, "1", ")", 150);
    CHECK_STR(parse(s), "(select (items (int 1)))");
    vg_free(s);
    /* The limit counts every level: the query, the select item, each parenthesis or
     * prefix operator; a scalar subquery costs two (its query and its item). */
    s = repeat("SELECT ", "(", 250, "1", ")", 250);
    CHECK_STR(err(s), SYNTAX "1, column 207: expression nested too deeply (limit 200)");
    vg_free(s);
    s = repeat("SELECT ", "NOT ", 300, "a", "", 0);
    CHECK_STR(err(s), SYNTAX "1, column 804: expression nested too deeply (limit 200)");
    vg_free(s);
    s = repeat("SELECT ", "- ", 100000, "a", "", 0);
    CHECK_STR(err(s), SYNTAX "1, column 406: expression nested too deeply (limit 200)");
    vg_free(s);
    s = repeat("SELECT ", "(SELECT ", 250, "1", ")", 250);
    CHECK_STR(err(s), SYNTAX "1, column 801: expression nested too deeply (limit 200)");
    vg_free(s);
    s = repeat("SELECT * FROM ", "(SELECT * FROM ", 300, "t", ")", 300);
    CHECK_STR(err(s), SYNTAX "1, column 3001: expression nested too deeply (limit 200)");
    vg_free(s);
    /* A long chain is parsed by a loop but makes a deep tree: the tree is limited too. */
    s = repeat("SELECT 1", " + 1", 150, "", "", 0);
    CHECK(strncmp(parse(s), "(select", 7) == 0);
    vg_free(s);
    s = repeat("SELECT 1", " + 1", 100000, "", "", 0);
    CHECK_STR(err(s), SYNTAX "1, column 8: expression nested too deeply (limit 200)");
    vg_free(s);
    s = repeat("SELECT a FROM t WHERE a = 0", " OR a = 1", 300, "", "", 0);
    CHECK_STR(err(s), SYNTAX "1, column 23: expression nested too deeply (limit 200)");
    vg_free(s);
    /* A long IN list is flat. */
    s = repeat("SELECT a IN (0", ", 1", 100000, ")", "", 0);
    CHECK(strncmp(parse(s), "(select", 7) == 0);
    CHECK(last && last->query->selects[0]->items[0].expr->nlist == 100001);
    vg_free(s);
}

static void test_size_limit(void)
{
    size_t n = VG_LIMIT_SQL_BYTES + 1;
    char *s = malloc(n);
    memcpy(s, "SELECT 1", 8);
    memset(s + 8, ' ', n - 8);
    CHECK_STR(parse_n(s, n), "ERR 1: SQL text is too long: 1048577 bytes (the limit is 1048576)");
    CHECK_STR(parse_n(s, n - 1), "(select (items (int 1)))");
    free(s);
}

/* ---- rendering ---- */

static void test_render(void)
{
    CHECK_STR(render("AVG(s_2)"), "avg(s_2)");
    CHECK_STR(render("count(*)"), "count(*)");
    CHECK_STR(render("COUNT(DISTINCT x)"), "count(DISTINCT x)");
    CHECK_STR(render("a+b"), "a + b");
    CHECK_STR(render("T.A"), "t.a");
    CHECK_STR(render("\"Temp\""), "\"Temp\"");
    CHECK_STR(render("\"select\""), "\"select\"");
    CHECK_STR(render("\"current_time\""), "\"current_time\"");
    CHECK_STR(render("\"a\"\"b\""), "\"a\"\"b\"");
    CHECK_STR(render("température"), "température");
    CHECK_STR(render("'it''s'"), "'it''s'");
    CHECK_STR(render("1"), "1");
    CHECK_STR(render("-5"), "-5");
    CHECK_STR(render("18446744073709551615"), "18446744073709551615");
    CHECK_STR(render("1.5"), "1.5");
    CHECK_STR(render("5.0"), "5.0");
    CHECK_STR(render("1e20"), "100000000000000000000.0");
    CHECK_STR(render("1e21"), "1e21");
    CHECK_STR(render("1e3"), "1000.0");
    CHECK_STR(render("0.0015"), "0.0015");
    CHECK_STR(render("1.5e-8"), "1.5e-8");
    CHECK_STR(render("123.456"), "123.456");
    CHECK_STR(render("-0.1"), "-0.1");
    CHECK_STR(render("18446744073709551616"), "18446744073709552000.0");
    CHECK_STR(render("1e999"), "1e999");
    CHECK_STR(render("TRUE"), "true");
    CHECK_STR(render("null"), "NULL");
    CHECK_STR(render("$p"), "$p");
    CHECK_STR(render("INTERVAL '1' HOUR"), "INTERVAL '1 hour'");
    CHECK_STR(render("TIMESTAMP '2026-01-01'"), "timestamp '2026-01-01'");
    CHECK_STR(render("a::int"), "CAST(a AS int)");
    CHECK_STR(render("CAST(a AS Double Precision)"), "CAST(a AS double precision)");
    CHECK_STR(render("(a + b) * c"), "(a + b) * c");
    CHECK_STR(render("a + (b * c)"), "a + b * c");
    CHECK_STR(render("a - (b - c)"), "a - (b - c)");
    CHECK_STR(render("(a - b) - c"), "a - b - c");
    CHECK_STR(render("a AND (b OR c)"), "a AND (b OR c)");
    CHECK_STR(render("NOT (a AND b)"), "NOT (a AND b)");
    CHECK_STR(render("NOT a AND b"), "NOT a AND b");
    CHECK_STR(render("(NOT a) = b"), "(NOT a) = b");
    CHECK_STR(render("a = NOT b"), "a = (NOT b)");
    CHECK_STR(render("-a"), "-a");
    CHECK_STR(render("- -a"), "- -a");
    CHECK_STR(render("-(-5)"), "-(-5)");
    CHECK_STR(render("-(5)"), "-(5)");
    CHECK_STR(render("-(a + b)"), "-(a + b)");
    CHECK_STR(render("(-5)::text"), "CAST(-5 AS text)");
    CHECK_STR(render("(-5)['x']"), "(-5)['x']");
    CHECK_STR(render("f(x)['value']"), "f(x)['value']");
    CHECK_STR(render("a != b"), "a <> b");
    CHECK_STR(render("a IS NOT NULL"), "a IS NOT NULL");
    CHECK_STR(render("(a = b) IS TRUE"), "a = b IS TRUE");
    CHECK_STR(render("a = (b IS NULL)"), "a = (b IS NULL)");
    CHECK_STR(render("a NOT IN (1, 2)"), "a NOT IN (1, 2)");
    CHECK_STR(render("a BETWEEN 1 AND 2"), "a BETWEEN 1 AND 2");
    CHECK_STR(render("a BETWEEN (b AND c) AND d"), "a BETWEEN (b AND c) AND d");
    CHECK_STR(render("a NOT ILIKE 'x%'"), "a NOT ILIKE 'x%'");
    CHECK_STR(render("a || 'x'"), "a || 'x'");
    CHECK_STR(render("CASE x WHEN 1 THEN 'a' ELSE 'b' END"), "CASE x WHEN 1 THEN 'a' ELSE 'b' END");
    CHECK_STR(render("EXTRACT(HOUR FROM time)"), "EXTRACT(hour FROM time)");
    CHECK_STR(render("\"extract\"(a)"), "\"extract\"(a)");
    CHECK_STR(render("left(s, 1)"), "left(s, 1)");
    CHECK_STR(render("current_timestamp"), "current_timestamp()");
    CHECK_STR(render("date_bin(INTERVAL '1 minute', time)"), "date_bin(INTERVAL '1 minute', time)");
    CHECK_STR(render("(SELECT max(a) AS m FROM t WHERE b > 1)"),
              "(SELECT max(a) AS m FROM t WHERE b > 1)");
    CHECK_STR(render("(WITH x AS (SELECT 1) SELECT DISTINCT * FROM x AS y, t UNION ALL "
                     "SELECT 2 ORDER BY 1 DESC NULLS LAST LIMIT 1 OFFSET 2)"),
              "ERR 1: " SYNTAX "1, column 59: joins are not supported yet");
    CHECK_STR(render("(WITH x AS (SELECT 1) SELECT DISTINCT * FROM x AS y UNION ALL "
                     "SELECT 2 ORDER BY 1 DESC NULLS LAST LIMIT 1 OFFSET 2)"),
              "(WITH x AS (SELECT 1) SELECT DISTINCT * FROM x AS y UNION ALL SELECT 2 "
              "ORDER BY 1 DESC NULLS LAST LIMIT 1 OFFSET 2)");
}

/* Rendering then parsing gives the same tree (compared by dump). */
static void test_render_round_trip(void)
{
    static const char *const cases[] = {
        "a + b * c - d / e % f",
        "(a + b) * (c - d)",
        "a OR b AND NOT c OR d",
        "NOT (a OR b) AND NOT NOT c",
        "- - - a",
        "-(-(5))",
        "+(-a)",
        "a || b || (c || d)",
        "a = b = c",
        "a = (b = c)",
        "a < b AND b <= c OR c <> d",
        "a IS NULL IS NOT NULL",
        "(a OR b) IS TRUE",
        "a LIKE b LIKE c",
        "a LIKE (b LIKE c)",
        "a NOT BETWEEN b + 1 AND (c OR d)",
        "(a BETWEEN 1 AND 2) BETWEEN 3 AND 4",
        "a IN (1, b + 2, (SELECT 3)) NOT IN (true)",
        "(-1)::text",
        "-1::text",
        "(a + b)['x']",
        "CAST(a + b AS varchar(10))['f']",
        "CASE WHEN a THEN b WHEN c THEN d END + 1",
        "EXTRACT('day of week' FROM t)",
        "f(DISTINCT a, b)",
        "\"Weird \"\"Name\"\"\".\"Col\" * 2",
        "$p1 + $P2",
        "INTERVAL 2 HOURS",
        "-9223372036854775808",
        "- 9223372036854775808",
        "-(9223372036854775808)",
        "1.0e-300 * 1e300",
        "-0.0",
        "'a' || 'b''c'",
        "(SELECT a FROM t ORDER BY a LIMIT 1) + 1",
        "(SELECT * FROM (SELECT 1) AS x UNION ALL (SELECT 2 LIMIT 1))",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char first[4096], again[4096];
        snprintf(first, sizeof first, "%s", expr(cases[i]));
        const char *r = render(cases[i]);
        char sql[4096];
        snprintf(sql, sizeof sql, "%s", r);
        snprintf(again, sizeof again, "%s", expr(sql));
        if (strcmp(first, again) != 0)
            printf("  round trip of %s via %s\n", cases[i], sql);
        CHECK_STR(again, first);
    }
}

/* ---- robustness ---- */

/* Every prefix of a query that uses most of the grammar parses or fails cleanly, from
 * an exact-size buffer. */
static void test_every_prefix(void)
{
    const char *q = "WITH w AS (SELECT \"A\".b::double precision AS x, count(DISTINCT c) "
                    "FROM s.t \"A\" WHERE c NOT IN (1, 2.5e3, 'x''y') AND d IS NOT NULL "
                    "GROUP BY 1 HAVING max(e)['value'] > $p) SELECT CASE WHEN x BETWEEN -1 "
                    "AND 1 THEN 'in' ELSE EXTRACT(hour FROM now()) END FROM w /* c */ "
                    "UNION ALL SELECT INTERVAL '1' HOUR ORDER BY 1 DESC NULLS LAST LIMIT 5 -- x";
    size_t n = strlen(q);
    int ok = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *r = parse_n(q, i);
        CHECK(strncmp(r, "ERR 1: SQL syntax error", 23) == 0 || last != NULL);
        ok += last != NULL;
    }
    CHECK(last != NULL);
    CHECK(ok >= 3);
}

/* Allocation failures anywhere give VG_ENOMEM, never a crash or a half tree. */
static void test_out_of_memory(void)
{
    const char *q = "SELECT a::double precision, count(*), CASE WHEN b THEN 1 END, x IN (1,2,3) "
                    "FROM t WHERE y LIKE 'a''b' ORDER BY 1 LIMIT 2";
    bool succeeded = false;
    int failures = 0;
    for (long n = 1; n < 500 && !succeeded; n++) {
        vg_arena a;
        vg_arena_init(&a, 128); /* small blocks: many allocations */
        vg_err e = {0};
        ast_stmt *st = NULL;
        vg_mem_fail_after(n);
        int rc = ast_parse(q, strlen(q), &a, &st, &e);
        vg_mem_fail_after(0);
        if (rc == VG_OK) {
            succeeded = true;
            CHECK(st != NULL);
        } else {
            failures++;
            CHECK_INT(rc, VG_ENOMEM);
            CHECK(st == NULL);
            CHECK_STR(e.msg, "out of memory while parsing SQL");
        }
        vg_arena_free(&a);
    }
    CHECK(succeeded);
    CHECK(failures > 5);
}

static void test_cleanup(void)
{
    vg_arena_free(&arena);
    CHECK(1);
}

#define DEL_ONLY "DELETE supports only time ranges and tag equality, found "

/* DELETE's WHERE: ANDs of time comparisons and tag equality; anything else is refused
 * with what was found and where. */
static void test_delete(void)
{
    CHECK_STR(parse("DELETE FROM cpu"), "(delete (from cpu))");
    CHECK_STR(parse("delete from iox.cpu;"), "(delete (from iox.cpu))");
    CHECK_STR(parse("DELETE FROM cpu WHERE time >= '2026-01-01T00:00:00Z' AND time < "
                    "'2026-01-02T00:00:00Z'"),
              "(delete (from cpu) (where (and (>= (col time) (str '2026-01-01T00:00:00Z')) "
              "(< (col time) (str '2026-01-02T00:00:00Z')))))");
    CHECK_STR(parse("DELETE FROM cpu WHERE host = 'a' AND 'eu' = region AND time = 5"),
              "(delete (from cpu) (where (and (and (= (col host) (str 'a')) (= (str 'eu') "
              "(col region))) (= (col time) (int 5)))))");
    CHECK_STR(parse("DELETE FROM cpu WHERE time BETWEEN 1 AND 2 AND host IN ('a', 'b')"),
              "(delete (from cpu) (where (and (between (col time) (int 1) (int 2)) "
              "(in (col host) (str 'a') (str 'b')))))");
    CHECK_STR(parse("DELETE FROM cpu WHERE now() - INTERVAL '1 day' > time AND (cpu.host = "
                    "$h)"),
              "(delete (from cpu) (where (and (> (- (func now) (interval '1 day')) (col time)) "
              "(= (col cpu.host) (param h)))))");

    CHECK_STR(err("DELETE FROM cpu WHERE host = 'a' OR host = 'b'"),
              DEL_ONLY "OR at line 1, column 34");
    CHECK_STR(err("DELETE FROM cpu WHERE time > 1 AND\n  (host = 'a' OR time < 2)"),
              DEL_ONLY "OR at line 2, column 15");
    CHECK_STR(err("DELETE FROM cpu WHERE NOT host = 'a'"), DEL_ONLY "NOT at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE usage > 5"), DEL_ONLY "usage > 5 at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE time > 1 AND host <> 'a'"),
              DEL_ONLY "host <> 'a' at line 1, column 36");
    CHECK_STR(err("DELETE FROM cpu WHERE time <> 1"), DEL_ONLY "time <> 1 at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host NOT IN ('a')"),
              DEL_ONLY "host NOT IN ('a') at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE time NOT BETWEEN 1 AND 2"),
              DEL_ONLY "time NOT BETWEEN 1 AND 2 at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host BETWEEN 'a' AND 'b'"),
              DEL_ONLY "host BETWEEN 'a' AND 'b' at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE time IN (1, 2)"),
              DEL_ONLY "time IN (1, 2) at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host LIKE 'a%'"),
              DEL_ONLY "host LIKE 'a%' at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host IS NULL"),
              DEL_ONLY "host IS NULL at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host = region"),
              DEL_ONLY "host = region at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE time < time + 1"),
              DEL_ONLY "time < time + 1 at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host IN ('a', region)"),
              DEL_ONLY "host IN ('a', region) at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE lower(host) = 'a'"),
              DEL_ONLY "lower(host) = 'a' at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE host"), DEL_ONLY "host at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE true"), DEL_ONLY "true at line 1, column 23");
    CHECK_STR(err("DELETE FROM cpu WHERE time > (SELECT 1)"),
              DEL_ONLY "time > (SELECT 1) at line 1, column 23");
    /* syntax errors come first */
    CHECK_STR(err("DELETE FROM cpu WHERE host = 'a' OR"),
              SYNTAX "1, column 36: expected an expression, found end of input");
    CHECK_STR(err("DELETE FROM cpu WHERE time > 1 LIMIT 1"),
              SYNTAX "1, column 32: expected end of input, found 'LIMIT'");
}

TEST_MAIN(test_issue_queries, test_numbers, test_strings_and_keywords, test_intervals, test_params,
          test_identifiers, test_precedence, test_predicates, test_functions,
          test_case_cast_extract, test_select_clauses, test_query_clauses, test_statements,
          test_comments, test_positions, test_errors_lexical, test_errors_syntax,
          test_errors_constructs, test_errors_statements, test_depth_limit, test_size_limit,
          test_render, test_render_round_trip, test_every_prefix, test_out_of_memory, test_cleanup,
          test_delete)
