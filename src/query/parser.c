/*
 * query/parser.c: the recursive-descent SQL parser (ast_parse). Owns the grammar of
 * statements, queries and expressions (precedence climbing over sql_prec), the
 * wording of syntax errors, and the SQL size and nesting limits.
 *
 * Every node comes from the caller's arena. The first error wins: it is recorded in
 * the parser and every function then returns NULL / false up to ast_parse().
 */
#include "ast_int.h"
#include "lexer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOKAHEAD 4 /* the longest look-ahead: `with time zone` after a type name */

typedef struct parser {
    lexer lx;
    lex_token la[LOOKAHEAD];
    int nla;
    vg_arena *arena;
    vg_err *e;
    bool failed;
    vg_code code; /* of the first error */
    int depth;    /* recursion depth of parse_expr / parse_query */
} parser;

/* A growable array in the arena; growth by doubling wastes at most half. */
typedef struct plist {
    void *data;
    uint32_t len;
    uint32_t cap;
} plist;

static ast_expr *parse_expr(parser *p, int min);
static ast_query *parse_query(parser *p);

/* ---- tokens ---- */

static const lex_token *peek_at(parser *p, int k)
{
    while (p->nla <= k)
        p->la[p->nla++] = lex_next(&p->lx);
    return &p->la[k];
}

static const lex_token *peek(parser *p)
{
    return peek_at(p, 0);
}

static lex_token take(parser *p)
{
    lex_token t = *peek(p);
    p->nla--;
    memmove(p->la, p->la + 1, (size_t)p->nla * sizeof p->la[0]);
    return t;
}

static bool at(parser *p, lex_kind k)
{
    return peek(p)->kind == k;
}

static bool accept(parser *p, lex_kind k)
{
    if (!at(p, k))
        return false;
    take(p);
    return true;
}

static bool kw_at(parser *p, int k, const char *kw)
{
    return lex_word_is(&p->lx, peek_at(p, k), kw);
}

static bool at_kw(parser *p, const char *kw)
{
    return kw_at(p, 0, kw);
}

static bool accept_kw(parser *p, const char *kw)
{
    if (!at_kw(p, kw))
        return false;
    take(p);
    return true;
}

/* True if the token can be a name here: a quoted identifier, or a word that is not
 * reserved (after AS or a dot, reserved words are names too). */
static bool is_name(parser *p, const lex_token *t, bool reserved_ok)
{
    if (t->kind == TK_QUOTED)
        return true;
    return t->kind == TK_WORD && (reserved_ok || !lex_is_reserved(p->lx.src + t->off, t->len));
}

/* ---- errors ---- */

static void *fail_at(parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void *fail_at(parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    p->code = VG_EINVAL;
    char what[VG_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    vg_err_set(p->e, VG_EINVAL, "SQL syntax error at line %u, column %u: %s", (unsigned)line,
               (unsigned)col, what);
    return NULL;
}

static void *fail_tok(parser *p, const lex_token *t, const char *msg)
{
    return fail_at(p, t->line, t->col, "%s", msg);
}

/* "expected <what>, found <next token>"; a lexical error at that token wins, since it
 * says more than "found an invalid token". */
static void *fail_expected(parser *p, const char *what)
{
    if (p->failed)
        return NULL;
    const lex_token *t = peek(p);
    if (t->kind == TK_ERROR) {
        p->failed = true;
        p->code = VG_EINVAL;
        vg_err_set(p->e, VG_EINVAL, "%s", p->lx.msg);
        return NULL;
    }
    char found[64];
    lex_describe(&p->lx, t, found, sizeof found);
    return fail_at(p, t->line, t->col, "expected %s, found %s", what, found);
}

static void *fail_oom(parser *p)
{
    if (!p->failed) {
        p->failed = true;
        p->code = VG_ENOMEM;
        vg_err_set(p->e, VG_ENOMEM, "out of memory while parsing SQL");
    }
    return NULL;
}

static bool expect_close(parser *p, const lex_token *open)
{
    if (accept(p, TK_RPAREN))
        return true;
    char what[96];
    snprintf(what, sizeof what, "')' to close '(' opened at line %u, column %u",
             (unsigned)open->line, (unsigned)open->col);
    fail_expected(p, what);
    return false;
}

static bool enter(parser *p)
{
    if (++p->depth <= VG_LIMIT_SQL_DEPTH)
        return true;
    const lex_token *t = peek(p);
    fail_at(p, t->line, t->col, "expression nested too deeply (limit %d)", VG_LIMIT_SQL_DEPTH);
    return false;
}

/* ---- memory ---- */

static void *alloc(parser *p, size_t n)
{
    void *x = vg_arena_calloc(p->arena, n);
    return x ? x : fail_oom(p);
}

static bool push(parser *p, plist *l, const void *elem, size_t esz)
{
    if (l->len == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        void *d = vg_arena_alloc(p->arena, (size_t)cap * esz);
        if (!d) {
            fail_oom(p);
            return false;
        }
        if (l->len)
            memcpy(d, l->data, (size_t)l->len * esz);
        l->data = d;
        l->cap = cap;
    }
    memcpy((char *)l->data + (size_t)l->len * esz, elem, esz);
    l->len++;
    return true;
}

static bool push_expr(parser *p, plist *l, ast_expr *x)
{
    return x && push(p, l, &x, sizeof x);
}

static ast_pos pos_of(const lex_token *t)
{
    return (ast_pos){t->line, t->col};
}

static ast_expr *new_expr(parser *p, ast_expr_kind kind, ast_pos pos)
{
    ast_expr *x = alloc(p, sizeof *x);
    if (x) {
        x->kind = kind;
        x->pos = pos;
    }
    return x;
}

/* ---- token text ---- */

/* An unquoted word, folded to lower case (ASCII only, as PostgreSQL does). */
static char *word_text(parser *p, const lex_token *t)
{
    char *s = vg_arena_strndup(p->arena, p->lx.src + t->off, t->len);
    if (!s)
        return fail_oom(p);
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + ('a' - 'A'));
    return s;
}

/* The inside of a quoted token with doubled quotes collapsed; NUL-terminated, and
 * *n gets the length (a string may hold NUL bytes). */
static char *unquote(parser *p, const lex_token *t, size_t *n)
{
    const char *s = p->lx.src + t->off;
    char q = s[0];
    char *d = vg_arena_alloc(p->arena, t->len);
    if (!d)
        return fail_oom(p);
    size_t k = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        d[k++] = s[i];
        if (s[i] == q)
            i++; /* the lexer guarantees the quote inside is doubled */
    }
    d[k] = '\0';
    if (n)
        *n = k;
    return d;
}

static char *name_text(parser *p, const lex_token *t)
{
    return t->kind == TK_QUOTED ? unquote(p, t, NULL) : word_text(p, t);
}

static vg_str string_text(parser *p, const lex_token *t)
{
    size_t n = 0;
    char *s = unquote(p, t, &n);
    return (vg_str){s, s ? n : 0};
}

static bool word_in(parser *p, int k, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (kw_at(p, k, words[i]))
            return true;
    return false;
}

#define WORD_IN(p, k, words) word_in((p), (k), (words), sizeof(words) / sizeof((words)[0]))

/* ---- literals ---- */

/* An integer that fits int64 is AE_INT, one that fits uint64 is AE_UINT, anything
 * larger AE_FLOAT (as DataFusion reads number literals). `neg` folds a minus sign
 * written right before the number, so -9223372036854775808 is an Int64. */
static ast_expr *number(parser *p, const lex_token *t, ast_pos pos, bool neg)
{
    ast_expr *x = new_expr(p, AE_FLOAT, pos);
    if (!x)
        return NULL;
    const char *s = p->lx.src + t->off;
    if (t->kind == TK_INT) {
        uint64_t u = 0;
        bool overflow = false;
        for (uint32_t i = 0; i < t->len && !overflow; i++) {
            uint64_t d = (uint64_t)(s[i] - '0');
            if (u > (UINT64_MAX - d) / 10)
                overflow = true;
            else
                u = u * 10 + d;
        }
        if (!overflow && !neg) {
            x->kind = u <= INT64_MAX ? AE_INT : AE_UINT;
            if (x->kind == AE_INT)
                x->v.i = (int64_t)u;
            else
                x->v.u = u;
            return x;
        }
        if (!overflow && u <= (uint64_t)INT64_MAX + 1) {
            x->kind = AE_INT;
            x->v.i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
            return x;
        }
        if (!overflow) {
            x->v.f = -(double)u;
            return x;
        }
    }
    char *copy = vg_arena_strndup(p->arena, s, t->len);
    if (!copy)
        return fail_oom(p);
    x->v.f = strtod(copy, NULL); /* out of range: inf, as DataFusion's f64 parse */
    if (neg)
        x->v.f = -x->v.f;
    return x;
}

/* INTERVAL '10 minutes', INTERVAL '1' HOUR, INTERVAL 1 HOUR: the text is kept (with
 * the unit appended) and the binder parses it. */
static const char *const interval_units[] = {
    "year",         "years",       "month",        "months",     "week",
    "weeks",        "day",         "days",         "hour",       "hours",
    "minute",       "minutes",     "second",       "seconds",    "millisecond",
    "milliseconds", "microsecond", "microseconds", "nanosecond", "nanoseconds",
};

static bool unit_at(parser *p, int k)
{
    for (size_t i = 0; i < sizeof interval_units / sizeof interval_units[0]; i++)
        if (kw_at(p, k, interval_units[i]))
            return true;
    return false;
}

static ast_expr *parse_interval(parser *p)
{
    lex_token kw = take(p);
    lex_token v = take(p);
    ast_expr *x = new_expr(p, AE_INTERVAL, pos_of(&kw));
    if (!x)
        return NULL;
    vg_str text = v.kind == TK_STRING ? string_text(p, &v) : (vg_str){p->lx.src + v.off, v.len};
    if (!text.ptr)
        return NULL;
    if (unit_at(p, 0)) {
        lex_token u = take(p);
        char *unit = word_text(p, &u);
        char *s = unit ? vg_arena_alloc(p->arena, text.len + 1 + u.len + 1) : NULL;
        if (!s)
            return fail_oom(p);
        memcpy(s, text.ptr, text.len);
        s[text.len] = ' ';
        memcpy(s + text.len + 1, unit, u.len + 1);
        text = (vg_str){s, text.len + 1 + u.len};
    }
    x->v.s = text;
    return x;
}

/* Type names in CAST and `::`: words in lower case joined by single spaces
 * ("double precision", "bigint unsigned", "timestamp with time zone"), with
 * "(n[,m])" arguments as in "varchar(10)". The binder decides what they mean. */
static const char *const type_suffix_words[] = {"precision", "unsigned", "signed", "varying"};
/* MySQL spells it both ways: `bigint unsigned` and `unsigned bigint`. */
static const char *const int_type_words[] = {"bigint", "int", "integer", "smallint", "tinyint"};

static void append_word(parser *p, vg_buf *b, const lex_token *t)
{
    const char *s = p->lx.src + t->off;
    if (b->len)
        vg_buf_putc(b, ' ');
    for (uint32_t i = 0; i < t->len; i++)
        vg_buf_putc(b, (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i]));
}

static bool type_args(parser *p, vg_buf *b)
{
    lex_token open = take(p);
    vg_buf_putc(b, '(');
    do {
        if (!at(p, TK_INT)) {
            fail_expected(p, "a number in the type's parentheses");
            return false;
        }
        lex_token n = take(p);
        vg_buf_append(b, p->lx.src + n.off, n.len);
        if (at(p, TK_COMMA))
            vg_buf_putc(b, ',');
    } while (accept(p, TK_COMMA));
    vg_buf_putc(b, ')');
    return expect_close(p, &open);
}

static bool type_suffix_at(parser *p)
{
    for (size_t i = 0; i < sizeof type_suffix_words / sizeof type_suffix_words[0]; i++)
        if (at_kw(p, type_suffix_words[i]))
            return true;
    return false;
}

static const char *parse_type(parser *p)
{
    if (!at(p, TK_WORD))
        return fail_expected(p, "a type name");
    vg_buf b;
    vg_buf_init(&b);
    lex_token first = take(p);
    append_word(p, &b, &first);
    if ((lex_word_is(&p->lx, &first, "unsigned") || lex_word_is(&p->lx, &first, "signed")) &&
        WORD_IN(p, 0, int_type_words)) {
        lex_token w = take(p);
        append_word(p, &b, &w);
    }
    bool had_args = false, ok = true;
    while (ok) {
        if (type_suffix_at(p)) {
            lex_token w = take(p);
            append_word(p, &b, &w);
        } else if ((at_kw(p, "with") || at_kw(p, "without")) && kw_at(p, 1, "time") &&
                   kw_at(p, 2, "zone")) {
            for (int i = 0; i < 3; i++) {
                lex_token w = take(p);
                append_word(p, &b, &w);
            }
        } else if (!had_args && at(p, TK_LPAREN) && peek_at(p, 1)->kind == TK_INT) {
            had_args = true;
            ok = type_args(p, &b);
        } else {
            break;
        }
    }
    char *s = NULL;
    if (b.oom)
        fail_oom(p);
    else if (ok)
        s = vg_arena_strndup(p->arena, b.data, b.len);
    if (ok && !b.oom && !s)
        fail_oom(p);
    vg_buf_free(&b);
    return s;
}

/* ---- expressions: primaries ---- */

static ast_expr *parse_call(parser *p, const lex_token *name)
{
    ast_expr *f = new_expr(p, AE_FUNC, pos_of(name));
    if (!f || !(f->name = name_text(p, name)))
        return NULL;
    lex_token open = take(p);
    plist args = {0};
    if (accept(p, TK_STAR)) {
        f->star = true;
    } else if (!at(p, TK_RPAREN)) {
        if (accept_kw(p, "distinct"))
            f->distinct = true;
        else
            accept_kw(p, "all");
        do {
            if (!push_expr(p, &args, parse_expr(p, P_NONE)))
                return NULL;
        } while (accept(p, TK_COMMA));
    }
    if (!expect_close(p, &open))
        return NULL;
    if ((at_kw(p, "over") || at_kw(p, "filter")) && peek_at(p, 1)->kind == TK_LPAREN)
        return fail_tok(p, peek(p),
                        at_kw(p, "over") ? "window functions (OVER) are not supported yet"
                                         : "FILTER on aggregates is not supported yet");
    f->args = args.data;
    f->nargs = args.len;
    return f;
}

/* name, table.name, or a call name(...). */
static ast_expr *parse_name_expr(parser *p)
{
    lex_token first = take(p);
    if (at(p, TK_LPAREN))
        return parse_call(p, &first);
    ast_expr *x = new_expr(p, AE_COLUMN, pos_of(&first));
    if (!x || !(x->name = name_text(p, &first)))
        return NULL;
    if (!accept(p, TK_DOT))
        return x;
    if (!is_name(p, peek(p), true))
        return fail_expected(p, "a column name after '.'");
    lex_token second = take(p);
    x->qualifier = x->name;
    if (!(x->name = name_text(p, &second)))
        return NULL;
    if (at(p, TK_DOT))
        return fail_expected(p, "at most one qualifier (table.column)");
    return x;
}

static ast_expr *parse_case(parser *p)
{
    lex_token kw = take(p);
    ast_expr *c = new_expr(p, AE_CASE, pos_of(&kw));
    if (!c)
        return NULL;
    if (at_kw(p, "end"))
        return fail_expected(p, "WHEN");
    if (!at_kw(p, "when") && !(c->case_operand = parse_expr(p, P_NONE)))
        return NULL;
    if (!at_kw(p, "when"))
        return fail_expected(p, "WHEN");
    plist whens = {0}, thens = {0};
    while (accept_kw(p, "when")) {
        if (!push_expr(p, &whens, parse_expr(p, P_NONE)))
            return NULL;
        if (!accept_kw(p, "then"))
            return fail_expected(p, "THEN");
        if (!push_expr(p, &thens, parse_expr(p, P_NONE)))
            return NULL;
    }
    if (accept_kw(p, "else") && !(c->case_else = parse_expr(p, P_NONE)))
        return NULL;
    if (!accept_kw(p, "end")) {
        char what[80];
        snprintf(what, sizeof what, "END to close CASE at line %u, column %u", (unsigned)kw.line,
                 (unsigned)kw.col);
        return fail_expected(p, what);
    }
    c->whens = whens.data;
    c->thens = thens.data;
    c->nwhens = whens.len;
    return c;
}

static ast_expr *parse_cast(parser *p)
{
    lex_token kw = take(p);
    if (!at(p, TK_LPAREN))
        return fail_expected(p, "'(' after CAST");
    lex_token open = take(p);
    ast_expr *c = new_expr(p, AE_CAST, pos_of(&kw));
    if (!c || !(c->args = alloc(p, sizeof *c->args)) || !(c->args[0] = parse_expr(p, P_NONE)))
        return NULL;
    c->nargs = 1;
    if (!accept_kw(p, "as"))
        return fail_expected(p, "AS in CAST");
    if (!(c->type_name = parse_type(p)) || !expect_close(p, &open))
        return NULL;
    return c;
}

/* EXTRACT(field FROM x); the field may be a word or a string ('hour'). */
static ast_expr *parse_extract(parser *p)
{
    lex_token kw = take(p);
    lex_token open = take(p);
    ast_expr *x = new_expr(p, AE_EXTRACT, pos_of(&kw));
    if (!x)
        return NULL;
    const lex_token *f = peek(p);
    if (f->kind != TK_WORD && f->kind != TK_STRING && f->kind != TK_QUOTED)
        return fail_expected(p, "a date part such as year, month, day or hour");
    lex_token field = take(p);
    char *s = field.kind == TK_WORD ? word_text(p, &field) : unquote(p, &field, NULL);
    if (!s)
        return NULL;
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + ('a' - 'A'));
    x->v.s = vg_str_c(s);
    if (!accept_kw(p, "from"))
        return fail_expected(p, "FROM in EXTRACT");
    if (!(x->args = alloc(p, sizeof *x->args)) || !(x->args[0] = parse_expr(p, P_NONE)))
        return NULL;
    x->nargs = 1;
    return expect_close(p, &open) ? x : NULL;
}

/* ( expr ) or a scalar subquery ( SELECT ... ). */
static ast_expr *parse_paren(parser *p)
{
    lex_token open = take(p);
    if (at_kw(p, "select") || at_kw(p, "with")) {
        ast_expr *x = new_expr(p, AE_SUBQUERY, pos_of(&open));
        if (!x || !(x->query = parse_query(p)))
            return NULL;
        return expect_close(p, &open) ? x : NULL;
    }
    ast_expr *x = parse_expr(p, P_NONE);
    if (!x)
        return NULL;
    return expect_close(p, &open) ? x : NULL;
}

static const char *const typed_string_words[] = {"timestamp", "timestamptz", "date", "time"};
static const char *const no_paren_calls[] = {"current_timestamp", "current_date", "current_time"};

/* A primary that starts with a word: a keyword literal or construct, a typed string,
 * a call, or a column. */
static ast_expr *parse_word(parser *p)
{
    const lex_token *t = peek(p);
    lex_kind next = peek_at(p, 1)->kind;
    if (at_kw(p, "null") || at_kw(p, "true") || at_kw(p, "false")) {
        lex_token w = take(p);
        ast_expr *x = new_expr(p, lex_word_is(&p->lx, &w, "null") ? AE_NULL : AE_BOOL, pos_of(&w));
        if (x)
            x->v.b = lex_word_is(&p->lx, &w, "true");
        return x;
    }
    if (at_kw(p, "case"))
        return parse_case(p);
    if (at_kw(p, "cast"))
        return parse_cast(p);
    if (at_kw(p, "extract") && next == TK_LPAREN)
        return parse_extract(p);
    if (at_kw(p, "interval") && (next == TK_STRING || (next == TK_INT && unit_at(p, 2))))
        return parse_interval(p);
    if (WORD_IN(p, 0, typed_string_words) && next == TK_STRING) {
        lex_token w = take(p);
        lex_token s = take(p);
        ast_expr *x = new_expr(p, AE_TYPED_STRING, pos_of(&w));
        if (!x || !(x->type_name = word_text(p, &w)))
            return NULL;
        x->v.s = string_text(p, &s);
        return x->v.s.ptr ? x : NULL;
    }
    if (WORD_IN(p, 0, no_paren_calls) && next != TK_LPAREN) {
        lex_token w = take(p);
        ast_expr *x = new_expr(p, AE_FUNC, pos_of(&w));
        if (x && !(x->name = word_text(p, &w)))
            return NULL;
        return x;
    }
    /* left(s, n) and right(s, n) are functions even though LEFT / RIGHT are join
     * keywords. */
    bool call_ok = (at_kw(p, "left") || at_kw(p, "right")) && next == TK_LPAREN;
    if (!call_ok && lex_is_reserved(p->lx.src + t->off, t->len))
        return fail_expected(p, "an expression");
    return parse_name_expr(p);
}

static ast_expr *parse_primary(parser *p)
{
    const lex_token *t = peek(p);
    switch (t->kind) {
    case TK_INT:
    case TK_FLOAT: {
        lex_token n = take(p);
        return number(p, &n, pos_of(&n), false);
    }
    case TK_STRING: {
        lex_token s = take(p);
        ast_expr *x = new_expr(p, AE_STRING, pos_of(&s));
        if (x)
            x->v.s = string_text(p, &s);
        return x && x->v.s.ptr ? x : NULL;
    }
    case TK_PARAM: {
        lex_token s = take(p);
        ast_expr *x = new_expr(p, AE_PARAM, pos_of(&s));
        char *name = x ? vg_arena_strndup(p->arena, p->lx.src + s.off + 1, s.len - 1) : NULL;
        if (x && !name)
            return fail_oom(p);
        if (x)
            x->v.s = (vg_str){name, s.len - 1};
        return x;
    }
    case TK_LPAREN: return parse_paren(p);
    case TK_QUOTED: return parse_name_expr(p);
    case TK_WORD: return parse_word(p);
    default: return fail_expected(p, "an expression");
    }
}

/* ---- expressions: operators ---- */

static ast_expr *unary(parser *p, const char *op, ast_pos pos, ast_expr *arg)
{
    ast_expr *x = arg ? new_expr(p, AE_UNARY, pos) : NULL;
    if (!x || !(x->args = alloc(p, sizeof *x->args)))
        return NULL;
    x->op = op;
    x->args[0] = arg;
    x->nargs = 1;
    return x;
}

static ast_expr *parse_prefix(parser *p)
{
    if (at_kw(p, "not")) {
        lex_token t = take(p);
        return unary(p, "NOT", pos_of(&t), parse_expr(p, P_NOT));
    }
    if (at(p, TK_MINUS) || at(p, TK_PLUS)) {
        lex_token t = take(p);
        lex_kind next = peek(p)->kind, after = peek_at(p, 1)->kind;
        /* A minus written before a number is part of the literal (unless a postfix
         * operator binds the number first: -1::text is -(1::text)). */
        if (t.kind == TK_MINUS && (next == TK_INT || next == TK_FLOAT) && after != TK_DCOLON &&
            after != TK_LBRACKET) {
            lex_token n = take(p);
            return number(p, &n, pos_of(&t), true);
        }
        return unary(p, t.kind == TK_MINUS ? "-" : "+", pos_of(&t), parse_expr(p, P_UNARY));
    }
    return parse_primary(p);
}

static const char *const like_words[] = {"like", "ilike", "between", "in"};

static int infix_prec(parser *p)
{
    switch (peek(p)->kind) {
    case TK_EQ:
    case TK_NE:
    case TK_LT:
    case TK_LE:
    case TK_GT:
    case TK_GE: return P_CMP;
    case TK_CONCAT: return P_CONCAT;
    case TK_PLUS:
    case TK_MINUS: return P_ADD;
    case TK_STAR:
    case TK_SLASH:
    case TK_PERCENT: return P_MUL;
    case TK_DCOLON:
    case TK_LBRACKET: return P_POSTFIX;
    case TK_WORD:
        if (at_kw(p, "or"))
            return P_OR;
        if (at_kw(p, "and"))
            return P_AND;
        if (at_kw(p, "is"))
            return P_IS;
        if (WORD_IN(p, 0, like_words) || (at_kw(p, "not") && WORD_IN(p, 1, like_words)))
            return P_LIKE;
        return P_NONE;
    default: return P_NONE;
    }
}

static const char *symbol_op(lex_kind k)
{
    switch (k) {
    case TK_EQ: return "=";
    case TK_NE: return "<>";
    case TK_LT: return "<";
    case TK_LE: return "<=";
    case TK_GT: return ">";
    case TK_GE: return ">=";
    case TK_CONCAT: return "||";
    case TK_PLUS: return "+";
    case TK_MINUS: return "-";
    case TK_STAR: return "*";
    case TK_SLASH: return "/";
    case TK_PERCENT: return "%";
    default: return NULL;
    }
}

/* A node over `left` and up to two more operands. */
static ast_expr *node(parser *p, ast_expr_kind kind, ast_expr *left, ast_expr *b, ast_expr *c)
{
    uint32_t n = c ? 3 : b ? 2 : 1;
    ast_expr *x = new_expr(p, kind, left->pos);
    if (!x || !(x->args = alloc(p, n * sizeof *x->args)))
        return NULL;
    x->args[0] = left;
    x->args[1] = b;
    if (c)
        x->args[2] = c;
    x->nargs = n;
    return x;
}

static ast_expr *parse_is(parser *p, ast_expr *left)
{
    bool neg = accept_kw(p, "not");
    ast_expr *x = NULL;
    if (accept_kw(p, "null") || accept_kw(p, "unknown")) {
        x = node(p, AE_IS_NULL, left, NULL, NULL);
    } else if (at_kw(p, "true") || at_kw(p, "false")) {
        bool b = accept_kw(p, "true");
        if (!b)
            take(p);
        if ((x = node(p, AE_IS_BOOL, left, NULL, NULL)))
            x->v.b = b;
    } else if (at_kw(p, "distinct")) {
        return fail_tok(p, peek(p), "IS [NOT] DISTINCT FROM is not supported yet");
    } else {
        return fail_expected(p, "NULL, TRUE or FALSE after IS");
    }
    if (x)
        x->negated = neg;
    return x;
}

static ast_expr *parse_in_list(parser *p, ast_expr *left)
{
    if (!at(p, TK_LPAREN))
        return fail_expected(p, "'(' after IN");
    lex_token open = take(p);
    if (at_kw(p, "select") || at_kw(p, "with"))
        return fail_tok(p, peek(p), "IN (subquery) is not supported yet");
    plist items = {0};
    do {
        if (!push_expr(p, &items, parse_expr(p, P_NONE)))
            return NULL;
    } while (accept(p, TK_COMMA));
    if (!expect_close(p, &open))
        return NULL;
    ast_expr *x = node(p, AE_IN_LIST, left, NULL, NULL);
    if (x) {
        x->list = items.data;
        x->nlist = items.len;
    }
    return x;
}

/* x['field']: the struct fields of selector_first() and friends. */
static ast_expr *parse_subscript(parser *p, ast_expr *left)
{
    lex_token open = take(p);
    if (!at(p, TK_STRING))
        return fail_expected(p, "a field name in quotes, as in ['value']");
    lex_token s = take(p);
    if (!accept(p, TK_RBRACKET)) {
        char what[80];
        snprintf(what, sizeof what, "']' to close '[' opened at line %u, column %u",
                 (unsigned)open.line, (unsigned)open.col);
        return fail_expected(p, what);
    }
    ast_expr *x = node(p, AE_SUBSCRIPT, left, NULL, NULL);
    if (x)
        x->v.s = string_text(p, &s);
    return x && x->v.s.ptr ? x : NULL;
}

/* The [NOT] LIKE / ILIKE / BETWEEN / IN family; their operands bind tighter than
 * comparisons, so `x BETWEEN 1 AND 2 AND y` keeps the second AND outside. */
static ast_expr *parse_like_family(parser *p, ast_expr *left)
{
    bool neg = accept_kw(p, "not");
    lex_token op = take(p);
    ast_expr *x;
    if (lex_word_is(&p->lx, &op, "in")) {
        x = parse_in_list(p, left);
    } else if (lex_word_is(&p->lx, &op, "between")) {
        ast_expr *lo = parse_expr(p, P_LIKE + 1);
        if (!lo)
            return NULL;
        if (!accept_kw(p, "and"))
            return fail_expected(p, "AND in BETWEEN");
        ast_expr *hi = parse_expr(p, P_LIKE + 1);
        x = hi ? node(p, AE_BETWEEN, left, lo, hi) : NULL;
    } else {
        ast_expr *pat = parse_expr(p, P_LIKE + 1);
        if (pat && at_kw(p, "escape") && peek_at(p, 1)->kind == TK_STRING)
            return fail_tok(p, peek(p), "LIKE ... ESCAPE is not supported yet");
        x = pat ? node(p, AE_LIKE, left, pat, NULL) : NULL;
        if (x)
            x->ilike = lex_word_is(&p->lx, &op, "ilike");
    }
    if (x)
        x->negated = neg;
    return x;
}

static ast_expr *parse_infix(parser *p, ast_expr *left, int prec)
{
    const lex_token *t = peek(p);
    if (t->kind == TK_DCOLON) {
        take(p);
        const char *type = parse_type(p);
        ast_expr *x = type ? node(p, AE_CAST, left, NULL, NULL) : NULL;
        if (x)
            x->type_name = type;
        return x;
    }
    if (t->kind == TK_LBRACKET)
        return parse_subscript(p, left);
    if (prec == P_IS) {
        take(p);
        return parse_is(p, left);
    }
    if (prec == P_LIKE)
        return parse_like_family(p, left);
    const char *op = symbol_op(t->kind);
    if (!op)
        op = at_kw(p, "or") ? "OR" : "AND";
    lex_token op_tok = take(p);
    ast_expr *right = parse_expr(p, prec + 1); /* left-associative */
    ast_expr *x = right ? node(p, AE_BINARY, left, right, NULL) : NULL;
    if (x) {
        x->op = op;
        x->op_pos = pos_of(&op_tok);
    }
    return x;
}

static ast_expr *parse_expr_at(parser *p, int min)
{
    ast_expr *x = parse_prefix(p);
    while (x) {
        int prec = infix_prec(p);
        if (prec == P_NONE || prec < min)
            break;
        x = parse_infix(p, x, prec);
    }
    return x;
}

/* An expression whose operators all bind at least as tightly as `min`. */
static ast_expr *parse_expr(parser *p, int min)
{
    ast_expr *x = enter(p) ? parse_expr_at(p, min) : NULL;
    p->depth--;
    return x;
}

/* ---- queries ---- */

static const char *parse_alias(parser *p)
{
    if (accept_kw(p, "as")) {
        if (!is_name(p, peek(p), true))
            return fail_expected(p, "a name after AS");
        lex_token t = take(p);
        return name_text(p, &t);
    }
    if (!is_name(p, peek(p), false))
        return NULL;
    lex_token t = take(p);
    return name_text(p, &t);
}

static bool parse_select_item(parser *p, ast_select_item *it)
{
    const lex_token *t = peek(p);
    it->pos = pos_of(t);
    if (t->kind == TK_STAR ||
        (is_name(p, t, false) && peek_at(p, 1)->kind == TK_DOT && peek_at(p, 2)->kind == TK_STAR)) {
        lex_token first = take(p);
        if (!(it->expr = new_expr(p, AE_STAR, it->pos)))
            return false;
        if (first.kind != TK_STAR) {
            take(p);
            take(p);
            if (!(it->expr->qualifier = name_text(p, &first)))
                return false;
        }
        return true;
    }
    if (!(it->expr = parse_expr(p, P_NONE)))
        return false;
    it->alias = parse_alias(p);
    return !p->failed;
}

static bool at_join(parser *p)
{
    static const char *const join_words[] = {"join", "inner", "left",   "right",
                                             "full", "cross", "natural"};
    return at(p, TK_COMMA) || WORD_IN(p, 0, join_words);
}

/* [schema.]name */
static bool parse_table_name(parser *p, ast_from *f)
{
    if (!is_name(p, peek(p), false)) {
        fail_expected(p, "a table name");
        return false;
    }
    lex_token t = take(p);
    f->kind = AF_TABLE;
    f->pos = pos_of(&t);
    if (!(f->name = name_text(p, &t)))
        return false;
    if (!accept(p, TK_DOT))
        return true;
    if (!is_name(p, peek(p), true)) {
        fail_expected(p, "a table name after '.'");
        return false;
    }
    t = take(p);
    f->schema = f->name;
    return (f->name = name_text(p, &t)) != NULL;
}

static ast_from *parse_from(parser *p)
{
    ast_from *f = alloc(p, sizeof *f);
    if (!f)
        return NULL;
    if (at(p, TK_LPAREN)) {
        lex_token open = take(p);
        f->kind = AF_SUBQUERY;
        f->pos = pos_of(&open);
        if (!(f->query = parse_query(p)) || !expect_close(p, &open))
            return NULL;
    } else if (!parse_table_name(p, f)) {
        return NULL;
    }
    f->alias = parse_alias(p);
    if (p->failed)
        return NULL;
    if (at_join(p))
        return fail_tok(p, peek(p), "joins are not supported yet");
    return f;
}

static bool parse_expr_list(parser *p, ast_expr ***out, uint32_t *n)
{
    plist l = {0};
    do {
        if (!push_expr(p, &l, parse_expr(p, P_NONE)))
            return false;
    } while (accept(p, TK_COMMA));
    *out = l.data;
    *n = l.len;
    return true;
}

static ast_select *parse_select(parser *p)
{
    lex_token kw = take(p);
    ast_select *s = alloc(p, sizeof *s);
    if (!s)
        return NULL;
    s->pos = pos_of(&kw);
    if (accept_kw(p, "distinct"))
        s->distinct = true;
    else
        accept_kw(p, "all");
    plist items = {0};
    do {
        ast_select_item it = {0};
        if (!parse_select_item(p, &it) || !push(p, &items, &it, sizeof it))
            return NULL;
    } while (accept(p, TK_COMMA));
    s->items = items.data;
    s->nitems = items.len;
    if (accept_kw(p, "from") && !(s->from = parse_from(p)))
        return NULL;
    if (accept_kw(p, "where") && !(s->where = parse_expr(p, P_NONE)))
        return NULL;
    if (accept_kw(p, "group")) {
        if (!accept_kw(p, "by"))
            return fail_expected(p, "BY after GROUP");
        if (!parse_expr_list(p, &s->group_by, &s->ngroup_by))
            return NULL;
    }
    if (accept_kw(p, "having") && !(s->having = parse_expr(p, P_NONE)))
        return NULL;
    return s;
}

static bool parse_order_by(parser *p, ast_query *q)
{
    if (!accept_kw(p, "by")) {
        fail_expected(p, "BY after ORDER");
        return false;
    }
    plist items = {0};
    do {
        ast_order_item it = {.nulls_first = -1};
        if (!(it.expr = parse_expr(p, P_NONE)))
            return false;
        if (accept_kw(p, "desc"))
            it.desc = true;
        else
            accept_kw(p, "asc");
        if (accept_kw(p, "nulls")) {
            if (accept_kw(p, "first")) {
                it.nulls_first = 1;
            } else if (accept_kw(p, "last")) {
                it.nulls_first = 0;
            } else {
                fail_expected(p, "FIRST or LAST after NULLS");
                return false;
            }
        }
        if (!push(p, &items, &it, sizeof it))
            return false;
    } while (accept(p, TK_COMMA));
    q->order_by = items.data;
    q->norder_by = items.len;
    return true;
}

/* A query that is one plain SELECT, or a UNION ALL of them, without its own WITH,
 * ORDER BY, LIMIT or OFFSET, can be spliced into an enclosing union as is. */
static bool plain_union(const ast_query *q)
{
    return q->nctes == 0 && q->norder_by == 0 && !q->limit && !q->offset;
}

/* Any other parenthesized operand becomes SELECT * FROM (operand). */
static ast_select *wrap_query(parser *p, ast_query *q)
{
    ast_select *s = alloc(p, sizeof *s);
    ast_select_item *it = s ? alloc(p, sizeof *it) : NULL;
    ast_from *f = it ? alloc(p, sizeof *f) : NULL;
    if (!f || !(it->expr = new_expr(p, AE_STAR, q->pos)))
        return NULL;
    it->pos = q->pos;
    f->kind = AF_SUBQUERY;
    f->pos = q->pos;
    f->query = q;
    s->pos = q->pos;
    s->items = it;
    s->nitems = 1;
    s->from = f;
    return s;
}

/* One operand of UNION ALL: a SELECT, or a parenthesized query. */
static ast_query *parse_set_operand(parser *p)
{
    if (at(p, TK_LPAREN)) {
        lex_token open = take(p);
        ast_query *q = parse_query(p);
        return q && expect_close(p, &open) ? q : NULL;
    }
    if (!at_kw(p, "select"))
        return fail_expected(p, "SELECT");
    ast_query *q = alloc(p, sizeof *q);
    if (!q || !(q->selects = alloc(p, sizeof *q->selects)))
        return NULL;
    q->pos = pos_of(peek(p));
    if (!(q->selects[0] = parse_select(p)))
        return NULL;
    q->nselects = 1;
    return q;
}

static bool parse_ctes(parser *p, ast_query *q)
{
    if (at_kw(p, "recursive")) {
        fail_tok(p, peek(p), "WITH RECURSIVE is not supported yet");
        return false;
    }
    plist ctes = {0};
    do {
        if (!is_name(p, peek(p), false)) {
            fail_expected(p, "a name for the WITH query");
            return false;
        }
        lex_token name = take(p);
        ast_cte c = {.pos = pos_of(&name)};
        if (!(c.name = name_text(p, &name)))
            return false;
        if (!accept_kw(p, "as")) {
            fail_expected(p, "AS after the WITH query's name");
            return false;
        }
        if (!at(p, TK_LPAREN)) {
            fail_expected(p, "'(' after AS");
            return false;
        }
        lex_token open = take(p);
        if (!(c.query = parse_query(p)) || !expect_close(p, &open) || !push(p, &ctes, &c, sizeof c))
            return false;
    } while (accept(p, TK_COMMA));
    q->ctes = ctes.data;
    q->nctes = ctes.len;
    return true;
}

/* The operands of a union, flattened into q->selects. */
static bool assemble_union(parser *p, ast_query *q, ast_query **ops, uint32_t nops)
{
    plist sel = {0};
    for (uint32_t i = 0; i < nops; i++) {
        if (plain_union(ops[i])) {
            for (uint32_t k = 0; k < ops[i]->nselects; k++)
                if (!push(p, &sel, &ops[i]->selects[k], sizeof(ast_select *)))
                    return false;
        } else {
            ast_select *s = wrap_query(p, ops[i]);
            if (!s || !push(p, &sel, &s, sizeof s))
                return false;
        }
    }
    q->selects = sel.data;
    q->nselects = sel.len;
    return true;
}

static bool parse_limit_offset(parser *p, ast_query *q)
{
    for (;;) {
        if (!q->limit && accept_kw(p, "limit")) {
            if (!(q->limit = parse_expr(p, P_NONE)))
                return false;
        } else if (!q->offset && accept_kw(p, "offset")) {
            if (!(q->offset = parse_expr(p, P_NONE)))
                return false;
            if (!accept_kw(p, "rows"))
                accept_kw(p, "row");
        } else {
            return true;
        }
    }
}

static ast_query *parse_query_at(parser *p)
{
    ast_query *q = alloc(p, sizeof *q);
    if (!q)
        return NULL;
    q->pos = pos_of(peek(p));
    if (accept_kw(p, "with") && !parse_ctes(p, q))
        return NULL;
    plist ops = {0};
    for (;;) {
        ast_query *op = parse_set_operand(p);
        if (!op || !push(p, &ops, &op, sizeof op))
            return NULL;
        if (at_kw(p, "intersect") || at_kw(p, "except"))
            return fail_tok(p, peek(p),
                            at_kw(p, "except") ? "EXCEPT is not supported yet"
                                               : "INTERSECT is not supported yet");
        if (!at_kw(p, "union"))
            break;
        lex_token u = take(p);
        if (!accept_kw(p, "all"))
            return fail_tok(p, &u, "UNION without ALL is not supported yet; use UNION ALL");
    }
    if (at_kw(p, "order")) {
        take(p);
        if (!parse_order_by(p, q))
            return NULL;
    }
    if (!parse_limit_offset(p, q))
        return NULL;
    ast_query **opv = ops.data;
    if (ops.len == 1 && plain_union(q))
        return opv[0]; /* (SELECT ...) alone: the parentheses add nothing */
    return assemble_union(p, q, opv, ops.len) ? q : NULL;
}

static ast_query *parse_query(parser *p)
{
    ast_query *q = enter(p) ? parse_query_at(p) : NULL;
    p->depth--;
    return q;
}

/* ---- the depth of the finished tree ---- */

/* Long operator chains (a + b + c ...) are parsed by a loop but make deep trees, and
 * every later stage recurses over the tree, so the tree's depth is limited too. The
 * walk stops at the limit, so it cannot itself recurse too deeply. */
static bool check_query(parser *p, const ast_query *q, int depth);

static bool too_deep(parser *p, ast_pos pos)
{
    fail_at(p, pos.line, pos.col, "expression nested too deeply (limit %d)", VG_LIMIT_SQL_DEPTH);
    return false;
}

static bool check_expr(parser *p, const ast_expr *x, int depth)
{
    if (!x)
        return true;
    if (depth > VG_LIMIT_SQL_DEPTH)
        return too_deep(p, x->pos);
    for (uint32_t i = 0; i < x->nargs; i++)
        if (!check_expr(p, x->args[i], depth + 1))
            return false;
    for (uint32_t i = 0; i < x->nwhens; i++)
        if (!check_expr(p, x->whens[i], depth + 1) || !check_expr(p, x->thens[i], depth + 1))
            return false;
    for (uint32_t i = 0; i < x->nlist; i++)
        if (!check_expr(p, x->list[i], depth + 1))
            return false;
    return check_expr(p, x->case_operand, depth + 1) && check_expr(p, x->case_else, depth + 1) &&
           (!x->query || check_query(p, x->query, depth + 1));
}

static bool check_select(parser *p, const ast_select *s, int depth)
{
    for (uint32_t i = 0; i < s->nitems; i++)
        if (!check_expr(p, s->items[i].expr, depth))
            return false;
    for (uint32_t i = 0; i < s->ngroup_by; i++)
        if (!check_expr(p, s->group_by[i], depth))
            return false;
    if (s->from && s->from->query && !check_query(p, s->from->query, depth))
        return false;
    return check_expr(p, s->where, depth) && check_expr(p, s->having, depth);
}

static bool check_query(parser *p, const ast_query *q, int depth)
{
    if (depth > VG_LIMIT_SQL_DEPTH)
        return too_deep(p, q->pos);
    for (uint32_t i = 0; i < q->nctes; i++)
        if (!check_query(p, q->ctes[i].query, depth + 1))
            return false;
    for (uint32_t i = 0; i < q->nselects; i++)
        if (!check_select(p, q->selects[i], depth + 1))
            return false;
    for (uint32_t i = 0; i < q->norder_by; i++)
        if (!check_expr(p, q->order_by[i].expr, depth + 1))
            return false;
    return check_expr(p, q->limit, depth + 1) && check_expr(p, q->offset, depth + 1);
}

/* ---- statements ---- */

static bool parse_show(parser *p, ast_stmt *st)
{
    if (accept_kw(p, "tables")) {
        st->kind = AS_SHOW_TABLES;
        return true;
    }
    if (!accept_kw(p, "columns")) {
        fail_expected(p, "TABLES or COLUMNS after SHOW");
        return false;
    }
    st->kind = AS_SHOW_COLUMNS;
    if (!accept_kw(p, "from") && !accept_kw(p, "in")) {
        fail_expected(p, "FROM or IN after SHOW COLUMNS");
        return false;
    }
    return (st->from = alloc(p, sizeof *st->from)) && parse_table_name(p, st->from);
}

/* ---- DELETE: time ranges and tag equality only ---- */

static bool fail_delete(parser *p, ast_pos pos, const ast_expr *x, const char *word)
{
    if (p->failed)
        return false;
    vg_buf found;
    vg_buf_init(&found);
    if (word)
        vg_buf_puts(&found, word);
    else
        ast_expr_to_sql(x, &found);
    p->failed = true;
    p->code = VG_EINVAL;
    int n = found.len > 120 ? 117 : (int)found.len;
    vg_err_set(p->e, VG_EINVAL,
               "DELETE supports only time ranges and tag equality, found %.*s%s at line %u, "
               "column %u",
               n, found.data ? found.data : "", found.len > 120 ? "..." : "", (unsigned)pos.line,
               (unsigned)pos.col);
    vg_buf_free(&found);
    return false;
}

/* A value side: no column (or subquery) anywhere inside. */
static bool is_constant(const ast_expr *x)
{
    if (!x)
        return true;
    if (x->kind == AE_COLUMN || x->kind == AE_STAR || x->kind == AE_SUBQUERY)
        return false;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (!is_constant(x->args[i]))
            return false;
    for (uint32_t i = 0; i < x->nlist; i++)
        if (!is_constant(x->list[i]))
            return false;
    for (uint32_t i = 0; i < x->nwhens; i++)
        if (!is_constant(x->whens[i]) || !is_constant(x->thens[i]))
            return false;
    return is_constant(x->case_operand) && is_constant(x->case_else);
}

static bool is_time_col(const ast_expr *x)
{
    return x->kind == AE_COLUMN && strcmp(x->name, "time") == 0;
}

static bool is_comparison(const char *op)
{
    return !strcmp(op, "=") || !strcmp(op, "<") || !strcmp(op, "<=") || !strcmp(op, ">") ||
           !strcmp(op, ">=");
}

/* column OP constant, either way round: time with any comparison, another column
 * (a tag, the planner checks) with `=` only. */
static bool check_delete_cmp(parser *p, const ast_expr *x)
{
    const ast_expr *a = x->args[0], *b = x->args[1];
    const ast_expr *col = a->kind == AE_COLUMN && is_constant(b)   ? a
                          : b->kind == AE_COLUMN && is_constant(a) ? b
                                                                   : NULL;
    if (col && (is_time_col(col) || strcmp(x->op, "=") == 0))
        return true;
    return fail_delete(p, x->pos, x, NULL);
}

static bool check_delete_cond(parser *p, const ast_expr *x)
{
    switch (x->kind) {
    case AE_BINARY:
        if (!strcmp(x->op, "AND"))
            return check_delete_cond(p, x->args[0]) && check_delete_cond(p, x->args[1]);
        if (!strcmp(x->op, "OR"))
            return fail_delete(p, x->op_pos, x, "OR");
        if (is_comparison(x->op))
            return check_delete_cmp(p, x);
        break;
    case AE_UNARY:
        if (!strcmp(x->op, "NOT"))
            return fail_delete(p, x->pos, x, "NOT");
        break;
    case AE_BETWEEN:
        if (!x->negated && is_time_col(x->args[0]) && is_constant(x->args[1]) &&
            is_constant(x->args[2]))
            return true;
        break;
    case AE_IN_LIST:
        if (!x->negated && x->args[0]->kind == AE_COLUMN && !is_time_col(x->args[0])) {
            bool values = true;
            for (uint32_t i = 0; i < x->nlist; i++)
                values = values && is_constant(x->list[i]);
            if (values)
                return true;
        }
        break;
    default: break;
    }
    return fail_delete(p, x->pos, x, NULL);
}

static bool parse_delete(parser *p, ast_stmt *st)
{
    st->kind = AS_DELETE;
    if (!accept_kw(p, "from")) {
        fail_expected(p, "FROM after DELETE");
        return false;
    }
    if (!(st->from = alloc(p, sizeof *st->from)) || !parse_table_name(p, st->from))
        return false;
    if (!accept_kw(p, "where"))
        return true;
    return (st->where = parse_expr(p, P_NONE)) != NULL && check_delete_cond(p, st->where);
}

static bool parse_stmt(parser *p, ast_stmt *st)
{
    st->pos = pos_of(peek(p));
    if (accept_kw(p, "explain")) {
        st->kind = AS_EXPLAIN;
        st->analyze = accept_kw(p, "analyze");
        st->verbose = accept_kw(p, "verbose");
        return (st->query = parse_query(p)) != NULL;
    }
    if (accept_kw(p, "show"))
        return parse_show(p, st);
    if (accept_kw(p, "delete"))
        return parse_delete(p, st);
    if (!at_kw(p, "select") && !at_kw(p, "with") && !at(p, TK_LPAREN)) {
        fail_expected(p, "SELECT, WITH, EXPLAIN, SHOW or DELETE");
        return false;
    }
    st->kind = AS_QUERY;
    return (st->query = parse_query(p)) != NULL;
}

static bool check_stmt(parser *p, const ast_stmt *st)
{
    return (!st->query || check_query(p, st->query, 1)) && check_expr(p, st->where, 1);
}

int ast_parse(const char *sql, size_t len, vg_arena *arena, ast_stmt **out, vg_err *e)
{
    *out = NULL;
    if (len > VG_LIMIT_SQL_BYTES)
        return vg_err_set(e, VG_EINVAL, "SQL text is too long: %zu bytes (the limit is %u)", len,
                          (unsigned)VG_LIMIT_SQL_BYTES);
    parser p = {.arena = arena, .e = e};
    lex_init(&p.lx, sql ? sql : "", sql ? len : 0);
    ast_stmt *st = alloc(&p, sizeof *st);
    if (!st || !parse_stmt(&p, st))
        return p.code;
    bool semi = accept(&p, TK_SEMI);
    if (!at(&p, TK_EOF)) {
        fail_expected(&p,
                      semi ? "end of input after ';' (one statement at a time)" : "end of input");
        return p.code;
    }
    if (!check_stmt(&p, st))
        return p.code;
    *out = st;
    return VG_OK;
}
