/*
 * query/ast.c: renders AST back to SQL (ast_expr_to_sql), the text DataFusion-style
 * names of unaliased expressions are built from: `avg(s_2)`, `count(*)`,
 * `count(DISTINCT x)`, `a + b`, `t.a`, `'text'`, `CAST(x AS bigint)`.
 *
 * The rendering is also valid SQL that parses back to the same tree (the fuzz target
 * checks this): parentheses appear exactly where the precedence of sql_prec needs
 * them, and names are quoted only when a bare word would read differently.
 */
#include "ast_int.h"
#include "lexer_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void render(const ast_expr *x, int min, vg_buf *out);
static void render_query(const ast_query *q, vg_buf *out);

/* ---- names and literals ---- */

/* Columns named like these would parse back as calls. */
static const char *const call_like_columns[] = {"current_timestamp", "current_date",
                                                "current_time"};

static bool plain_word(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80))
            return false;
    }
    return true;
}

static bool in_list(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    return false;
}

static void put_quoted(vg_buf *out, const char *s, size_t n, char q)
{
    vg_buf_putc(out, q);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == q)
            vg_buf_putc(out, q);
        vg_buf_putc(out, s[i]);
    }
    vg_buf_putc(out, q);
}

/* A column, table or alias name: bare when it reads back as itself. */
static void put_name(vg_buf *out, const char *s)
{
    size_t n = strlen(s);
    if (plain_word(s) && !lex_is_reserved(s, n) &&
        !in_list(s, call_like_columns, sizeof call_like_columns / sizeof call_like_columns[0]))
        vg_buf_append(out, s, n);
    else
        put_quoted(out, s, n, '"');
}

/* A function name: left() and right() may stay bare; extract() would read as the
 * EXTRACT(field FROM x) syntax. */
static void put_func_name(vg_buf *out, const char *s)
{
    size_t n = strlen(s);
    bool join_word = strcmp(s, "left") == 0 || strcmp(s, "right") == 0;
    if (plain_word(s) && (join_word || !lex_is_reserved(s, n)) && strcmp(s, "extract") != 0)
        vg_buf_append(out, s, n);
    else
        put_quoted(out, s, n, '"');
}

static void put_string(vg_buf *out, vg_str s)
{
    put_quoted(out, s.ptr, s.len, '\'');
}

/* The fewest significant digits that read back as f, as "d.ddde±x" from printf. */
static int shortest_exp(double f, char *tmp, size_t n)
{
    int prec = 0;
    do
        snprintf(tmp, n, "%.*e", prec, f);
    while (strtod(tmp, NULL) != f && ++prec < 17);
    return prec;
}

/* A float literal with the shortest digits that read back as the same double,
 * written plainly for moderate exponents (1000.0, 0.0015) and with an exponent
 * beyond (1e21, 1.5e-8), always with a '.' or an exponent so that it stays a float.
 * Infinity (from a literal like 1e999) is written as such a literal. */
static void put_float(vg_buf *out, double f)
{
    if (isinf(f) || isnan(f)) {
        vg_buf_puts(out, isnan(f) ? "CAST('NaN' AS double)" : f < 0 ? "-1e999" : "1e999");
        return;
    }
    char tmp[48], digits[24];
    shortest_exp(f, tmp, sizeof tmp);
    char *e = strchr(tmp, 'e');
    int exp = atoi(e + 1), nd = 0;
    for (const char *c = tmp; c < e; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (tmp[0] == '-')
        vg_buf_putc(out, '-');
    if (exp < -7 || exp >= 21) {
        vg_buf_putc(out, digits[0]);
        if (nd > 1) {
            vg_buf_putc(out, '.');
            vg_buf_append(out, digits + 1, (size_t)nd - 1);
        }
        vg_buf_printf(out, "e%d", exp);
    } else if (exp < 0) {
        vg_buf_puts(out, "0.");
        for (int i = -1; i > exp; i--)
            vg_buf_putc(out, '0');
        vg_buf_append(out, digits, (size_t)nd);
    } else {
        for (int i = 0; i <= exp; i++)
            vg_buf_putc(out, i < nd ? digits[i] : '0');
        vg_buf_putc(out, '.');
        if (nd > exp + 1)
            vg_buf_append(out, digits + exp + 1, (size_t)(nd - exp - 1));
        else
            vg_buf_putc(out, '0');
    }
}

/* ---- expressions ---- */

static int binary_prec(const char *op)
{
    if (strcmp(op, "OR") == 0)
        return P_OR;
    if (strcmp(op, "AND") == 0)
        return P_AND;
    if (strcmp(op, "||") == 0)
        return P_CONCAT;
    if (strcmp(op, "+") == 0 || strcmp(op, "-") == 0)
        return P_ADD;
    if (strcmp(op, "*") == 0 || strcmp(op, "/") == 0 || strcmp(op, "%") == 0)
        return P_MUL;
    return P_CMP;
}

static int expr_prec(const ast_expr *x)
{
    switch (x->kind) {
    case AE_BINARY: return binary_prec(x->op);
    case AE_UNARY: return strcmp(x->op, "NOT") == 0 ? P_NOT : P_UNARY;
    case AE_IS_NULL:
    case AE_IS_BOOL: return P_IS;
    case AE_IN_LIST:
    case AE_BETWEEN:
    case AE_LIKE: return P_LIKE;
    case AE_SUBSCRIPT: return P_POSTFIX;
    /* A negative literal is written with its sign, so it binds like a unary minus. */
    case AE_INT: return x->v.i < 0 ? P_UNARY : P_PRIMARY;
    case AE_FLOAT: return signbit(x->v.f) ? P_UNARY : P_PRIMARY;
    default: return P_PRIMARY;
    }
}

static bool is_number(const ast_expr *x)
{
    return x->kind == AE_INT || x->kind == AE_UINT || x->kind == AE_FLOAT;
}

static void render_list(ast_expr *const *xs, uint32_t n, vg_buf *out)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            vg_buf_puts(out, ", ");
        render(xs[i], P_NONE, out);
    }
}

/* -x and +x. The operand of a sign is parenthesized when it is a number (else
 * "-5" would read back as the literal -5) and spaced when it starts with '-' (else
 * "--" would start a comment). */
static void render_sign(const ast_expr *x, vg_buf *out)
{
    const ast_expr *a = x->args[0];
    vg_buf_puts(out, x->op);
    if (is_number(a)) {
        vg_buf_putc(out, '(');
        render(a, P_NONE, out);
        vg_buf_putc(out, ')');
        return;
    }
    size_t mark = out->len;
    render(a, P_UNARY, out);
    if (!out->oom && out->len > mark && out->data[mark] == '-') {
        vg_buf_putc(out, ' ');
        memmove(out->data + mark + 1, out->data + mark, out->len - mark - 1);
        out->data[mark] = ' ';
    }
}

static void render_func(const ast_expr *x, vg_buf *out)
{
    put_func_name(out, x->name);
    vg_buf_putc(out, '(');
    if (x->star)
        vg_buf_putc(out, '*');
    if (x->distinct)
        vg_buf_puts(out, "DISTINCT ");
    render_list(x->args, x->nargs, out);
    vg_buf_putc(out, ')');
}

static void render_case(const ast_expr *x, vg_buf *out)
{
    vg_buf_puts(out, "CASE");
    if (x->case_operand) {
        vg_buf_putc(out, ' ');
        render(x->case_operand, P_NONE, out);
    }
    for (uint32_t i = 0; i < x->nwhens; i++) {
        vg_buf_puts(out, " WHEN ");
        render(x->whens[i], P_NONE, out);
        vg_buf_puts(out, " THEN ");
        render(x->thens[i], P_NONE, out);
    }
    if (x->case_else) {
        vg_buf_puts(out, " ELSE ");
        render(x->case_else, P_NONE, out);
    }
    vg_buf_puts(out, " END");
}

/* The operators of the LIKE family: x [NOT] LIKE p, x [NOT] BETWEEN a AND b,
 * x [NOT] IN (list). */
static void render_like_family(const ast_expr *x, vg_buf *out)
{
    render(x->args[0], P_LIKE, out);
    vg_buf_puts(out, x->negated ? " NOT " : " ");
    if (x->kind == AE_IN_LIST) {
        vg_buf_puts(out, "IN (");
        render_list(x->list, x->nlist, out);
        vg_buf_putc(out, ')');
    } else if (x->kind == AE_BETWEEN) {
        vg_buf_puts(out, "BETWEEN ");
        render(x->args[1], P_LIKE + 1, out);
        vg_buf_puts(out, " AND ");
        render(x->args[2], P_LIKE + 1, out);
    } else {
        vg_buf_puts(out, x->ilike ? "ILIKE " : "LIKE ");
        render(x->args[1], P_LIKE + 1, out);
    }
}

static void render_extract(const ast_expr *x, vg_buf *out)
{
    vg_buf_puts(out, "EXTRACT(");
    char field[64];
    bool bare = x->v.s.len < sizeof field;
    if (bare) {
        memcpy(field, x->v.s.ptr, x->v.s.len);
        field[x->v.s.len] = '\0';
        bare =
            strlen(field) == x->v.s.len && plain_word(field) && !lex_is_reserved(field, x->v.s.len);
    }
    if (bare)
        vg_buf_append(out, x->v.s.ptr, x->v.s.len);
    else
        put_string(out, x->v.s);
    vg_buf_puts(out, " FROM ");
    render(x->args[0], P_NONE, out);
    vg_buf_putc(out, ')');
}

static void render_inner(const ast_expr *x, vg_buf *out)
{
    char num[32];
    switch (x->kind) {
    case AE_NULL: vg_buf_puts(out, "NULL"); break;
    case AE_BOOL: vg_buf_puts(out, x->v.b ? "true" : "false"); break;
    case AE_INT: vg_buf_append(out, num, vg_fmt_i64(x->v.i, num)); break;
    case AE_UINT: vg_buf_append(out, num, vg_fmt_u64(x->v.u, num)); break;
    case AE_FLOAT: put_float(out, x->v.f); break;
    case AE_STRING: put_string(out, x->v.s); break;
    case AE_INTERVAL:
        vg_buf_puts(out, "INTERVAL ");
        put_string(out, x->v.s);
        break;
    case AE_TYPED_STRING:
        vg_buf_puts(out, x->type_name);
        vg_buf_putc(out, ' ');
        put_string(out, x->v.s);
        break;
    case AE_PARAM:
        vg_buf_putc(out, '$');
        vg_buf_append(out, x->v.s.ptr, x->v.s.len);
        break;
    case AE_COLUMN:
    case AE_STAR:
        if (x->qualifier) {
            put_name(out, x->qualifier);
            vg_buf_putc(out, '.');
        }
        if (x->kind == AE_STAR)
            vg_buf_putc(out, '*');
        else
            put_name(out, x->name);
        break;
    case AE_UNARY:
        if (strcmp(x->op, "NOT") == 0) {
            vg_buf_puts(out, "NOT ");
            render(x->args[0], P_NOT, out);
        } else {
            render_sign(x, out);
        }
        break;
    case AE_BINARY: {
        int prec = binary_prec(x->op);
        render(x->args[0], prec, out);
        vg_buf_putc(out, ' ');
        vg_buf_puts(out, x->op);
        vg_buf_putc(out, ' ');
        render(x->args[1], prec + 1, out);
        break;
    }
    case AE_FUNC: render_func(x, out); break;
    case AE_CASE: render_case(x, out); break;
    case AE_CAST:
        vg_buf_puts(out, "CAST(");
        render(x->args[0], P_NONE, out);
        vg_buf_puts(out, " AS ");
        vg_buf_puts(out, x->type_name);
        vg_buf_putc(out, ')');
        break;
    case AE_IN_LIST:
    case AE_BETWEEN:
    case AE_LIKE: render_like_family(x, out); break;
    case AE_IS_NULL:
    case AE_IS_BOOL:
        render(x->args[0], P_IS, out);
        vg_buf_puts(out, x->negated ? " IS NOT " : " IS ");
        vg_buf_puts(out, x->kind == AE_IS_NULL ? "NULL" : x->v.b ? "TRUE" : "FALSE");
        break;
    case AE_SUBSCRIPT:
        render(x->args[0], P_POSTFIX, out);
        vg_buf_putc(out, '[');
        put_string(out, x->v.s);
        vg_buf_putc(out, ']');
        break;
    case AE_EXTRACT: render_extract(x, out); break;
    case AE_SUBQUERY:
        vg_buf_putc(out, '(');
        render_query(x->query, out);
        vg_buf_putc(out, ')');
        break;
    }
}

/* Renders x, in parentheses if it binds more loosely than its context needs. */
static void render(const ast_expr *x, int min, vg_buf *out)
{
    bool paren = expr_prec(x) < min;
    if (paren)
        vg_buf_putc(out, '(');
    render_inner(x, out);
    if (paren)
        vg_buf_putc(out, ')');
}

void ast_expr_to_sql(const ast_expr *x, vg_buf *out)
{
    if (x)
        render(x, P_NONE, out);
}

/* ---- queries (for scalar subqueries) ---- */

static void render_from(const ast_from *f, vg_buf *out)
{
    vg_buf_puts(out, " FROM ");
    if (f->kind == AF_SUBQUERY) {
        vg_buf_putc(out, '(');
        render_query(f->query, out);
        vg_buf_putc(out, ')');
    } else {
        if (f->schema) {
            put_name(out, f->schema);
            vg_buf_putc(out, '.');
        }
        put_name(out, f->name);
    }
    if (f->alias) {
        vg_buf_puts(out, " AS ");
        put_name(out, f->alias);
    }
}

static void render_select(const ast_select *s, vg_buf *out)
{
    vg_buf_puts(out, s->distinct ? "SELECT DISTINCT " : "SELECT ");
    for (uint32_t i = 0; i < s->nitems; i++) {
        if (i)
            vg_buf_puts(out, ", ");
        render(s->items[i].expr, P_NONE, out);
        if (s->items[i].alias) {
            vg_buf_puts(out, " AS ");
            put_name(out, s->items[i].alias);
        }
    }
    if (s->from)
        render_from(s->from, out);
    if (s->where) {
        vg_buf_puts(out, " WHERE ");
        render(s->where, P_NONE, out);
    }
    if (s->ngroup_by) {
        vg_buf_puts(out, " GROUP BY ");
        render_list(s->group_by, s->ngroup_by, out);
    }
    if (s->having) {
        vg_buf_puts(out, " HAVING ");
        render(s->having, P_NONE, out);
    }
}

static void render_query(const ast_query *q, vg_buf *out)
{
    for (uint32_t i = 0; i < q->nctes; i++) {
        vg_buf_puts(out, i ? ", " : "WITH ");
        put_name(out, q->ctes[i].name);
        vg_buf_puts(out, " AS (");
        render_query(q->ctes[i].query, out);
        vg_buf_putc(out, ')');
    }
    if (q->nctes)
        vg_buf_putc(out, ' ');
    for (uint32_t i = 0; i < q->nselects; i++) {
        if (i)
            vg_buf_puts(out, " UNION ALL ");
        render_select(q->selects[i], out);
    }
    for (uint32_t i = 0; i < q->norder_by; i++) {
        const ast_order_item *o = &q->order_by[i];
        vg_buf_puts(out, i ? ", " : " ORDER BY ");
        render(o->expr, P_NONE, out);
        if (o->desc)
            vg_buf_puts(out, " DESC");
        if (o->nulls_first >= 0)
            vg_buf_puts(out, o->nulls_first ? " NULLS FIRST" : " NULLS LAST");
    }
    if (q->limit) {
        vg_buf_puts(out, " LIMIT ");
        render(q->limit, P_NONE, out);
    }
    if (q->offset) {
        vg_buf_puts(out, " OFFSET ");
        render(q->offset, P_NONE, out);
    }
}
