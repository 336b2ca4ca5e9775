/*
 * query/lexer_int.h: SQL tokens and the lexer, shared by parser.c (which pulls tokens)
 * and ast.c (which needs the keyword rules to know when a rendered name must be
 * quoted). Private to module query.
 *
 * The lexer never reads past `len` (SQL text is not NUL-terminated), returns slices
 * of the input, and reports the first lexical error as a TK_ERROR token whose full
 * message ("SQL syntax error at line L, column C: ...") is kept in the lexer.
 */
#ifndef VIGIL_QUERY_LEXER_INT_H
#define VIGIL_QUERY_LEXER_INT_H

#include "base/base.h"

typedef enum lex_kind {
    TK_EOF = 0,
    TK_ERROR,    /* a lexical error; lexer.msg says what */
    TK_WORD,     /* an unquoted identifier or keyword */
    TK_QUOTED,   /* "quoted identifier" (raw text includes the quotes) */
    TK_INT,      /* digits only */
    TK_FLOAT,    /* digits with '.' and/or an exponent */
    TK_STRING,   /* 'string' (raw text includes the quotes) */
    TK_PARAM,    /* $name */
    TK_LPAREN,   /* ( */
    TK_RPAREN,   /* ) */
    TK_LBRACKET, /* [ */
    TK_RBRACKET, /* ] */
    TK_COMMA,    /* , */
    TK_DOT,      /* . */
    TK_SEMI,     /* ; */
    TK_PLUS,     /* + */
    TK_MINUS,    /* - */
    TK_STAR,     /* * */
    TK_SLASH,    /* / */
    TK_PERCENT,  /* % */
    TK_CONCAT,   /* || */
    TK_EQ,       /* = */
    TK_NE,       /* <> or != */
    TK_LT,       /* < */
    TK_LE,       /* <= */
    TK_GT,       /* > */
    TK_GE,       /* >= */
    TK_DCOLON,   /* :: */
} lex_kind;

typedef struct lex_token {
    lex_kind kind;
    uint32_t off; /* raw text: src[off, off + len) */
    uint32_t len;
    uint32_t line; /* 1-based; columns count UTF-8 code points */
    uint32_t col;
} lex_token;

typedef struct lexer {
    const char *src;
    size_t len;
    size_t pos;
    uint32_t line;
    uint32_t col;
    bool failed; /* after the first error every token is TK_ERROR */
    lex_token err_tok;
    char msg[VG_ERR_MSG_BYTES]; /* the complete user-facing message of that error */
} lexer;

/* Binding strength of expression operators, lowest first (PostgreSQL's order). The
 * parser climbs these and the renderer (ast.c) parenthesizes by them, so a rendered
 * expression parses back to the same tree. */
typedef enum sql_prec {
    P_NONE = 0,
    P_OR,      /* OR */
    P_AND,     /* AND */
    P_NOT,     /* prefix NOT */
    P_IS,      /* IS [NOT] NULL / TRUE / FALSE */
    P_CMP,     /* = <> < <= > >= (left-associative, as in DataFusion) */
    P_LIKE,    /* [NOT] LIKE / ILIKE / BETWEEN / IN */
    P_CONCAT,  /* || */
    P_ADD,     /* + - */
    P_MUL,     /* * / % */
    P_UNARY,   /* prefix + - */
    P_POSTFIX, /* ::type, ['field'] */
    P_PRIMARY, /* literals, names, calls, (...) */
} sql_prec;

/* Callers guarantee len <= VG_LIMIT_SQL_BYTES, so offsets fit in 32 bits. */
void lex_init(lexer *l, const char *src, size_t len);
/* The next token; TK_EOF (at the end position) forever after the end. */
lex_token lex_next(lexer *l);

/* Describes a token for "found ..." in error messages: "end of input", "'FROM'",
 * "string 'abc'"; long text is cut with "...". */
void lex_describe(const lexer *l, const lex_token *t, char *out, size_t n);

/* True if the unquoted word (any case) is reserved: it cannot be a bare column name,
 * table name or alias and must be quoted to be used as one. */
bool lex_is_reserved(const char *s, size_t n);

/* Case-insensitive comparison of a token's raw text with a lower-case keyword. */
bool lex_word_is(const lexer *l, const lex_token *t, const char *kw);

#endif /* VIGIL_QUERY_LEXER_INT_H */
