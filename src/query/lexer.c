/*
 * query/lexer.c: the SQL tokenizer. Owns byte classes, comments, literals and
 * operators, the reserved-word list, and the wording of lexical errors.
 *
 * Tokens are slices of the input; unescaping ('' inside strings, "" inside quoted
 * identifiers) is left to the parser, which copies the text into the arena anyway.
 */
#include "lexer_int.h"

#include <stdio.h>
#include <string.h>

/* Byte classes. Bytes >= 0x80 are identifier characters so that UTF-8 names
 * (`température`) need no quotes, as in PostgreSQL. Punctuation is CC_OTHER and
 * sorted out by the switch in lex_next(). */
enum { CC_OTHER = 0, CC_SPACE, CC_ALPHA, CC_DIGIT };

/* clang-format off */
#define O CC_OTHER
#define S CC_SPACE
#define A CC_ALPHA
#define D CC_DIGIT
static const uint8_t byte_class[256] = {
    O, O, O, O, O, O, O, O, O, S, S, S, S, S, O, O, /* 0x00 \t \n \v \f \r */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x10 */
    S, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x20 space ! " # $ ... / */
    D, D, D, D, D, D, D, D, D, D, O, O, O, O, O, O, /* 0x30 0-9 : ; < = > ? */
    O, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 0x40 @ A-O */
    A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, A, /* 0x50 P-Z [ \ ] ^ _ */
    O, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 0x60 ` a-o */
    A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, O, /* 0x70 p-z { | } ~ DEL */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 0x80-0xff: UTF-8 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
};
#undef O
#undef S
#undef A
#undef D
/* clang-format on */

/* Words that cannot be bare names: the clause keywords (so `SELECT a FROM t` is not
 * `a AS from`), the operators spelled as words, and the join keywords (so that a
 * join is reported as unsupported rather than read as an alias). Kept short on
 * purpose: `time`, `timestamp`, `interval`, `first`, `last` are ordinary column
 * names in time-series data. */
/* clang-format off */
static const char *const reserved_words[] = {
    "all",       "and",       "as",        "asc",       "between",   "by",        "case",
    "cast",      "cross",     "desc",      "distinct",  "else",      "end",       "except",
    "false",     "from",      "full",      "group",     "having",    "ilike",     "in",
    "inner",     "intersect", "is",        "join",      "left",      "like",      "limit",
    "natural",   "not",       "null",      "offset",    "on",        "or",        "order",
    "outer",     "right",     "select",    "then",      "true",      "union",     "using",
    "when",      "where",     "with",
};
/* clang-format on */

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool ident_byte(int c)
{
    return c >= 0 && byte_class[c] >= CC_ALPHA;
}

bool lex_is_reserved(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof reserved_words / sizeof reserved_words[0]; i++) {
        const char *w = reserved_words[i];
        size_t k = 0;
        while (k < n && w[k] && lower_ascii((unsigned char)s[k]) == w[k])
            k++;
        if (k == n && w[k] == '\0')
            return true;
    }
    return false;
}

bool lex_word_is(const lexer *l, const lex_token *t, const char *kw)
{
    if (t->kind != TK_WORD)
        return false;
    const char *s = l->src + t->off;
    size_t i = 0;
    for (; i < t->len; i++)
        if (kw[i] == '\0' || lower_ascii((unsigned char)s[i]) != kw[i])
            return false;
    return kw[i] == '\0';
}

void lex_init(lexer *l, const char *src, size_t len)
{
    memset(l, 0, sizeof *l);
    l->src = src;
    l->len = len;
    l->line = 1;
    l->col = 1;
}

/* The byte k positions ahead, or -1 past the end. */
static int peekc(const lexer *l, size_t k)
{
    return l->pos + k < l->len ? (unsigned char)l->src[l->pos + k] : -1;
}

/* Steps over one byte. Columns count code points: the column moves only when the
 * next byte starts a character, not inside a UTF-8 sequence. */
static void adv(lexer *l)
{
    unsigned char c = (unsigned char)l->src[l->pos++];
    if (c == '\n') {
        l->line++;
        l->col = 1;
    } else if (l->pos >= l->len || ((unsigned char)l->src[l->pos] & 0xC0) != 0x80) {
        l->col++;
    }
}

/* How many of the n bytes at s to show in a message of at most `max` bytes: all of
 * them if they fit, else fewer (room for "...") cut on a character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

static lex_token lex_fail(lexer *l, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static lex_token lex_fail(lexer *l, uint32_t line, uint32_t col, const char *fmt, ...)
{
    int n = snprintf(l->msg, sizeof l->msg,
                     "SQL syntax error at line %u, column %u: ", (unsigned)line, (unsigned)col);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof l->msg)
        vsnprintf(l->msg + n, sizeof l->msg - (size_t)n, fmt, ap);
    va_end(ap);
    l->failed = true;
    l->err_tok = (lex_token){TK_ERROR, (uint32_t)l->pos, 0, line, col};
    return l->err_tok;
}

/* Skips blanks, `-- line` comments and nested block comments (nesting as in
 * PostgreSQL, so commenting out code that holds a comment works). */
static bool skip_blank(lexer *l)
{
    for (;;) {
        int c = peekc(l, 0);
        if (c >= 0 && byte_class[c] == CC_SPACE) {
            adv(l);
        } else if (c == '-' && peekc(l, 1) == '-') {
            while (l->pos < l->len && l->src[l->pos] != '\n')
                adv(l);
        } else if (c == '/' && peekc(l, 1) == '*') {
            uint32_t line = l->line, col = l->col;
            int depth = 0;
            do {
                if (l->pos >= l->len) {
                    lex_fail(l, l->line, l->col,
                             "unterminated /* comment starting at line %u, column %u",
                             (unsigned)line, (unsigned)col);
                    return false;
                }
                if (peekc(l, 0) == '/' && peekc(l, 1) == '*') {
                    depth++;
                    adv(l);
                } else if (peekc(l, 0) == '*' && peekc(l, 1) == '/') {
                    depth--;
                    adv(l);
                }
                adv(l);
            } while (depth > 0);
        } else {
            return true;
        }
    }
}

/* 'string' or "identifier": the closing quote, doubled to escape it. */
static lex_token scan_quoted(lexer *l, lex_token t, char q, const char *what)
{
    adv(l);
    for (;;) {
        int c = peekc(l, 0);
        if (c < 0)
            return lex_fail(l, l->line, l->col, "unterminated %s starting at line %u, column %u",
                            what, (unsigned)t.line, (unsigned)t.col);
        /* Names are C strings everywhere after the parser; a NUL would cut one short. */
        if (c == 0 && q == '"')
            return lex_fail(l, l->line, l->col, "NUL byte in a quoted identifier");
        adv(l);
        if (c == q) {
            if (peekc(l, 0) != q)
                break;
            adv(l);
        }
    }
    t.len = (uint32_t)(l->pos - t.off);
    if (q == '"' && t.len == 2)
        return lex_fail(l, t.line, t.col, "zero-length quoted identifier \"\"");
    return t;
}

static bool digit_at(const lexer *l, size_t k)
{
    int c = peekc(l, k);
    return c >= '0' && c <= '9';
}

/* 123, 1.5, .5, 1., 1e10, 1.5E-3. A number running straight into letters (0x1F,
 * 1_000, 10m) is an error rather than a number followed by an alias. */
static lex_token scan_number(lexer *l, lex_token t)
{
    t.kind = TK_INT;
    while (digit_at(l, 0))
        adv(l);
    if (peekc(l, 0) == '.') {
        t.kind = TK_FLOAT;
        adv(l);
        while (digit_at(l, 0))
            adv(l);
    }
    int c = peekc(l, 0);
    if (c == 'e' || c == 'E') {
        size_t k = (peekc(l, 1) == '+' || peekc(l, 1) == '-') ? 2 : 1;
        if (digit_at(l, k)) {
            t.kind = TK_FLOAT;
            while (k--)
                adv(l);
            while (digit_at(l, 0))
                adv(l);
        }
    }
    if (ident_byte(peekc(l, 0))) {
        while (ident_byte(peekc(l, 0)))
            adv(l);
        size_t n = l->pos - t.off, shown = utf8_cut(l->src + t.off, n, 40);
        return lex_fail(l, t.line, t.col, "invalid numeric literal '%.*s%s'", (int)shown,
                        l->src + t.off, shown < n ? "..." : "");
    }
    t.len = (uint32_t)(l->pos - t.off);
    return t;
}

static lex_token scan_param(lexer *l, lex_token t)
{
    adv(l);
    if (!ident_byte(peekc(l, 0)))
        return lex_fail(l, t.line, t.col, "'$' must be followed by a parameter name, as in $name");
    while (ident_byte(peekc(l, 0)))
        adv(l);
    t.kind = TK_PARAM;
    t.len = (uint32_t)(l->pos - t.off);
    return t;
}

/* One- and two-byte operators and punctuation. */
static lex_token scan_operator(lexer *l, lex_token t, int c)
{
    int c1 = peekc(l, 1);
    size_t n = 1;
    switch (c) {
    case '(': t.kind = TK_LPAREN; break;
    case ')': t.kind = TK_RPAREN; break;
    case '[': t.kind = TK_LBRACKET; break;
    case ']': t.kind = TK_RBRACKET; break;
    case ',': t.kind = TK_COMMA; break;
    case '.': t.kind = TK_DOT; break;
    case ';': t.kind = TK_SEMI; break;
    case '+': t.kind = TK_PLUS; break;
    case '-': t.kind = TK_MINUS; break;
    case '*': t.kind = TK_STAR; break;
    case '/': t.kind = TK_SLASH; break;
    case '%': t.kind = TK_PERCENT; break;
    case '=': t.kind = TK_EQ; break;
    case '<':
        t.kind = c1 == '=' ? TK_LE : c1 == '>' ? TK_NE : TK_LT;
        n = t.kind == TK_LT ? 1 : 2;
        break;
    case '>':
        t.kind = c1 == '=' ? TK_GE : TK_GT;
        n = c1 == '=' ? 2 : 1;
        break;
    case '|':
    case '!':
    case ':':
        if (c1 != (c == '!' ? '=' : c))
            goto unexpected;
        t.kind = c == '|' ? TK_CONCAT : c == '!' ? TK_NE : TK_DCOLON;
        n = 2;
        break;
    default: goto unexpected;
    }
    while (n--)
        adv(l);
    t.len = (uint32_t)(l->pos - t.off);
    return t;

unexpected:
    if (c > 0x20 && c < 0x7f)
        return lex_fail(l, t.line, t.col, "unexpected character '%c'", c);
    return lex_fail(l, t.line, t.col, "unexpected control character 0x%02X", (unsigned)c);
}

lex_token lex_next(lexer *l)
{
    if (l->failed || !skip_blank(l))
        return l->err_tok;
    lex_token t = {TK_EOF, (uint32_t)l->pos, 0, l->line, l->col};
    int c = peekc(l, 0);
    if (c < 0)
        return t;
    if (byte_class[c] == CC_ALPHA) {
        while (ident_byte(peekc(l, 0)))
            adv(l);
        t.kind = TK_WORD;
        t.len = (uint32_t)(l->pos - t.off);
        return t;
    }
    if (byte_class[c] == CC_DIGIT || (c == '.' && digit_at(l, 1)))
        return scan_number(l, t);
    if (c == '\'') {
        t.kind = TK_STRING;
        return scan_quoted(l, t, '\'', "string literal");
    }
    if (c == '"') {
        t.kind = TK_QUOTED;
        return scan_quoted(l, t, '"', "quoted identifier");
    }
    if (c == '$')
        return scan_param(l, t);
    return scan_operator(l, t, c);
}

void lex_describe(const lexer *l, const lex_token *t, char *out, size_t n)
{
    if (n == 0)
        return;
    if (t->kind == TK_EOF || t->kind == TK_ERROR) {
        snprintf(out, n, "%s", t->kind == TK_EOF ? "end of input" : "an invalid token");
        return;
    }
    /* Show at most 40 bytes, cut on a character boundary, with control characters
     * (newlines inside strings) as spaces so the message stays on one line. */
    const char *s = l->src + t->off;
    size_t len = t->len, cut = utf8_cut(s, len, 40);
    char text[48];
    for (size_t i = 0; i < cut; i++)
        text[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    text[cut] = '\0';
    const char *ell = cut < len ? "..." : "";
    if (t->kind == TK_STRING)
        snprintf(out, n, "string %s%s", text, ell);
    else
        snprintf(out, n, "'%s%s'", text, ell);
}
