/*
 * query/ast_int.h: the abstract syntax tree the parser produces and the binder
 * consumes. Private to module query.
 *
 * Every node records where it starts in the SQL text (line and column, 1-based) so
 * that binder errors can name the position too. All nodes and strings live in the
 * query's arena; identifiers are already unquoted and, when they were not quoted,
 * folded to lower case (PostgreSQL/DataFusion rule: `SELECT Foo` means `foo`,
 * `SELECT "Foo"` means `Foo`).
 */
#ifndef VIGIL_QUERY_AST_INT_H
#define VIGIL_QUERY_AST_INT_H

#include "base/base.h"

typedef struct ast_pos {
    uint32_t line;
    uint32_t col;
} ast_pos;

typedef struct ast_expr ast_expr;
typedef struct ast_select ast_select;
typedef struct ast_query ast_query;

typedef enum ast_expr_kind {
    AE_NULL,        /* NULL */
    AE_BOOL,        /* TRUE / FALSE: v.b */
    AE_INT,         /* integer literal that fits int64: v.i */
    AE_UINT,        /* integer literal above INT64_MAX that fits uint64: v.u */
    AE_FLOAT,       /* decimal / exponent literal: v.f */
    AE_STRING,      /* 'text' (escapes resolved): v.s */
    AE_INTERVAL,    /* INTERVAL '10 minutes' (text kept; binder parses): v.s */
    AE_TYPED_STRING,/* TIMESTAMP '2026-01-01T00:00:00Z' and similar: type_name + v.s */
    AE_PARAM,       /* $name: v.s = name without '$' */
    AE_COLUMN,      /* [qualifier.]name: qualifier (may be NULL), name */
    AE_STAR,        /* * or qualifier.* (only in select lists and count(*)) */
    AE_UNARY,       /* op: "-", "+", "NOT"; args[0] */
    AE_BINARY,      /* op: "+","-","*","/","%","=","<>","<","<=",">",">=","AND","OR","||";
                       args[0], args[1] ("!=" is normalized to "<>") */
    AE_FUNC,        /* name(args) [with distinct]; count(*) has star = true, nargs 0 */
    AE_CASE,        /* CASE [operand] WHEN w THEN t ... [ELSE e] END */
    AE_CAST,        /* CAST(x AS type) and x::type: args[0], type_name */
    AE_IN_LIST,     /* x [NOT] IN (a, b, ...): args[0] = x, list */
    AE_BETWEEN,     /* x [NOT] BETWEEN lo AND hi: args[0..2] */
    AE_LIKE,        /* x [NOT] LIKE|ILIKE pattern: args[0], args[1], ilike */
    AE_IS_NULL,     /* x IS [NOT] NULL: args[0] */
    AE_IS_BOOL,     /* x IS [NOT] TRUE|FALSE: args[0], v.b = TRUE/FALSE */
    AE_SUBSCRIPT,   /* x['field']: args[0], v.s = field name */
    AE_EXTRACT,     /* EXTRACT(field FROM x): v.s = field (lower case), args[0] */
    AE_SUBQUERY,    /* (SELECT ...) as a scalar: query */
} ast_expr_kind;

struct ast_expr {
    ast_expr_kind kind;
    ast_pos pos;
    ast_pos op_pos; /* AE_BINARY: where its operator is (pos is its left operand's) */
    bool negated;  /* NOT IN, NOT BETWEEN, NOT LIKE, IS NOT NULL, IS NOT TRUE */
    bool distinct; /* count(DISTINCT x) */
    bool star;     /* count(*) */
    bool ilike;
    const char *op;        /* unary/binary operator, upper case for words */
    const char *qualifier; /* AE_COLUMN / AE_STAR: table or alias, or NULL */
    const char *name;      /* AE_COLUMN name; AE_FUNC name (lower case) */
    const char *type_name; /* AE_CAST / AE_TYPED_STRING: type as written, lower case,
                              e.g. "bigint", "double", "timestamp", "varchar" */
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double f;
        vg_str s;
    } v;
    ast_expr **args;
    uint32_t nargs;
    /* AE_CASE: operand (or NULL), pairs of when/then, else (or NULL) */
    ast_expr *case_operand;
    ast_expr **whens;
    ast_expr **thens;
    uint32_t nwhens;
    ast_expr *case_else;
    /* AE_IN_LIST */
    ast_expr **list;
    uint32_t nlist;
    /* AE_SUBQUERY */
    ast_query *query;
};

typedef struct ast_select_item {
    ast_expr *expr; /* AE_STAR for * and t.* */
    const char *alias; /* or NULL */
    ast_pos pos;
} ast_select_item;

typedef enum ast_from_kind {
    AF_TABLE,    /* [schema.]name: schema may be NULL ("system", "information_schema",
                    or "public"/"iox" which mean the user tables) */
    AF_SUBQUERY, /* (query) [AS] alias */
} ast_from_kind;

typedef struct ast_from {
    ast_from_kind kind;
    ast_pos pos;
    const char *schema;
    const char *name;
    const char *alias; /* or NULL */
    ast_query *query;  /* AF_SUBQUERY */
} ast_from;

typedef struct ast_order_item {
    ast_expr *expr; /* may be an integer literal: an ordinal */
    bool desc;
    int nulls_first; /* -1 = not given (default: NULLS LAST for ASC, FIRST for DESC) */
} ast_order_item;

struct ast_select {
    ast_pos pos;
    bool distinct;
    ast_select_item *items;
    uint32_t nitems;
    ast_from *from; /* NULL: SELECT without FROM */
    ast_expr *where;
    ast_expr **group_by;
    uint32_t ngroup_by;
    ast_expr *having;
};

typedef struct ast_cte {
    const char *name;
    ast_pos pos;
    ast_query *query;
} ast_cte;

/* A query expression: [WITH ...] select [UNION ALL select ...] [ORDER BY] [LIMIT]
 * [OFFSET]. ORDER BY / LIMIT / OFFSET apply to the whole union. */
struct ast_query {
    ast_pos pos;
    ast_cte *ctes;
    uint32_t nctes;
    ast_select **selects; /* joined by UNION ALL */
    uint32_t nselects;
    ast_order_item *order_by;
    uint32_t norder_by;
    ast_expr *limit;  /* or NULL */
    ast_expr *offset; /* or NULL */
};

typedef enum ast_stmt_kind {
    AS_QUERY,        /* query */
    AS_EXPLAIN,      /* EXPLAIN [ANALYZE] [VERBOSE] query */
    AS_SHOW_TABLES,  /* SHOW TABLES */
    AS_SHOW_COLUMNS, /* SHOW COLUMNS FROM [schema.]table: table in `from` */
    AS_DELETE,       /* DELETE FROM table [WHERE expr]: expr is checked to be an AND of
                        time comparisons (=, <, <=, >, >=, BETWEEN) and column = value /
                        column IN (values), values free of column references (a tag
                        column is checked by the planner) */
} ast_stmt_kind;

typedef struct ast_stmt {
    ast_stmt_kind kind;
    ast_pos pos;
    bool analyze;
    bool verbose;
    ast_query *query;
    ast_from *from;  /* SHOW COLUMNS / DELETE target */
    ast_expr *where; /* DELETE */
} ast_stmt;

/* Parses exactly one statement (an optional trailing ';' is allowed). On error
 * returns VG_EINVAL with e->msg like
 *   "SQL syntax error at line 1, column 15: expected an expression, found 'FROM'"
 * or, for a DELETE's WHERE of another shape,
 *   "DELETE supports only time ranges and tag equality, found OR at line 1, column 40"
 * and never reads past len. Nodes are allocated in `arena`. */
int ast_parse(const char *sql, size_t len, vg_arena *arena, ast_stmt **out, vg_err *e);

/* Renders an expression back to SQL (for column names of unaliased expressions,
 * e.g. "avg(s_2)", "count(*)", "date_bin(...)"), DataFusion-style. */
void ast_expr_to_sql(const ast_expr *x, vg_buf *out);

#endif /* VIGIL_QUERY_AST_INT_H */
