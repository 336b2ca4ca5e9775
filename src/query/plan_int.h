/*
 * query/plan_int.h: the logical plan and the interfaces between the binder
 * (binder.c), the planner (planner.c), the optimizer (optimizer.c), EXPLAIN
 * (explain.c) and the built-in relations (catalog_tables.c). Private to module query;
 * the rest of the module sees only qplan_build() in exec_int.h.
 *
 * A plan is a tree of qp_node. Every node has an output schema; the expressions of a
 * node refer to the output columns of its first input by index (QX_COLUMN.col), except
 * a scan's residual filter, which refers to the scan's own output columns. No qexpr is
 * shared between two nodes, so the optimizer may rewrite column indices in place.
 */
#ifndef VIGIL_QUERY_PLAN_INT_H
#define VIGIL_QUERY_PLAN_INT_H

#include "ast_int.h"
#include "exec_int.h"

/* ---- plan nodes ---- */

typedef enum qp_kind {
    QP_SCAN,      /* a user table: scan (cols, time bounds, tag_eq, residual filter) */
    QP_VALUES,    /* rows materialized at plan time: information_schema, SHOW, no FROM */
    QP_SYSTEM,    /* a system table whose operator is built already (system.queries) */
    QP_FILTER,    /* pred */
    QP_PROJECT,   /* exprs, one per output column */
    QP_AGGREGATE, /* group exprs then aggregate calls */
    QP_SORT,      /* keys; fetch > 0 = top-K */
    QP_LIMIT,     /* limit (UINT64_MAX = none), offset */
    QP_DISTINCT,
    QP_UNION, /* UNION ALL of in[0..nin) */
    QP_ALIAS, /* a subquery or CTE under a name: changes qualifiers only */
} qp_kind;

typedef struct qp_metrics qp_metrics;
typedef struct qp_node qp_node;

struct qp_node {
    qp_kind kind;
    qschema schema; /* output */
    qp_node **in;
    uint32_t nin;
    /* QP_SCAN: db_id, table_id, table, cols, time bounds, tag_eq, filter */
    qscan_spec scan;
    const char *table_name;
    const char **tag_eq_names; /* parallel to scan.tag_eq, for EXPLAIN */
    /* QP_VALUES */
    const char *label; /* "information_schema.tables", "EmptyRelation", ... */
    qbatch *batches;
    uint32_t nbatches;
    /* QP_SYSTEM */
    qop *op;
    /* QP_FILTER */
    qexpr *pred;
    /* QP_PROJECT */
    qexpr **exprs;
    /* QP_AGGREGATE */
    qexpr **group;
    uint32_t ngroup;
    qagg_call *aggs;
    uint32_t naggs;
    /* QP_SORT */
    qsort_key *keys;
    uint32_t nkeys;
    uint64_t fetch;
    /* QP_LIMIT */
    uint64_t limit;
    uint64_t offset;
    /* QP_ALIAS */
    const char *alias;
    /* EXPLAIN ANALYZE: filled while the operator tree runs */
    qp_metrics *metrics;
};

/* ---- binding ---- */

/* A WITH entry visible to FROM clauses; innermost first. */
typedef struct qp_cte {
    const char *name;
    const ast_query *query;
    struct qp_cte *next;
} qp_cte;

typedef struct qp_binder {
    qctx *c;
    qp_cte *ctes;
    uint32_t depth; /* nesting of queries, bounded */
} qp_binder;

typedef struct qp_aggscope qp_aggscope;

/* Where names resolve: the columns of a FROM (or of a union's output), and in an
 * aggregate query also the GROUP BY expressions and the aggregate calls seen so far. */
typedef struct qp_scope {
    const qschema *schema;
    qp_aggscope *agg;   /* non-NULL: expressions bind over the aggregate's output */
    const char *clause; /* for "aggregate functions are not allowed in WHERE" */
} qp_scope;

struct qp_aggscope {
    const qp_scope *input; /* the FROM scope the groups and aggregate arguments use */
    qexpr **group;         /* bound over input */
    const char **group_names;
    uint32_t ngroup;
    qagg_call *aggs; /* arguments bound over input */
    const char **agg_names;
    uint32_t naggs;
    uint32_t cap;
};

/* Binds an AST expression in a scope. Errors name the line and column. */
int qp_bind_expr(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out);
/* Makes x of type `to`: literals are converted now (strings parsed as intervals or
 * timestamps, with an error at pos when they do not parse), other expressions get a
 * QX_CAST. */
int qp_coerce(qp_binder *b, qexpr **x, qtype to, ast_pos pos);
/* The type two branches of a CASE or a UNION ALL meet in: NULL meets anything, Int64
 * and UInt64 meet in Int64, integers and Float64 in Float64, a string meets a timestamp
 * or interval as that type and anything else as a string. */
bool qp_common_type(qtype a, qtype b, qtype *out);
/* The output name of an unaliased expression: a bare column's name, otherwise the
 * DataFusion-style SQL text with columns qualified by their table. */
int qp_expr_name(qp_binder *b, const qp_scope *s, const ast_expr *x, const char **out);
bool qp_ast_has_agg(const ast_expr *x);
/* A copy of x with every column reference replaced by fn's result (NULL = out of
 * memory). */
typedef ast_expr *(*qp_column_fn)(qp_binder *b, void *ctx, const ast_expr *col);
ast_expr *qp_ast_rewrite(qp_binder *b, const ast_expr *x, qp_column_fn fn, void *ctx);
/* Fills in the outputs of an aggregate scope after every expression was bound. */
int qp_aggscope_schema(qp_binder *b, qp_aggscope *a, qschema *out);

/* Error helpers: message + " at line L, column C". */
int qp_err_at(qp_binder *b, vg_code code, ast_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends ". Did you mean 'x'?" to the error already set, when there is a candidate;
 * returns the error's code. */
int qp_err_hint(qp_binder *b, const char *suggestion);
/* The candidate closest to name by edit distance when close enough, else NULL. */
const char *qp_suggest(const char *name, const char *const *cands, uint32_t n);

/* ---- expression helpers (binder.c) ---- */

void *qp_alloc(qctx *c, size_t n); /* zeroed, charged to the budget */
char *qp_strdup(qctx *c, const char *s, size_t n);
qexpr *qp_col(qctx *c, uint32_t idx, qtype t);
qexpr *qp_lit(qctx *c, const qvalue *v);
qexpr *qp_call(qctx *c, const qfunc *fn, qtype ret, qexpr **args, uint32_t nargs);
qexpr *qp_expr_copy(qctx *c, const qexpr *x);
bool qp_expr_equal(const qexpr *a, const qexpr *b);
/* Rewrites column indices: col = map[col] (map entries < 0 must not be referenced). */
void qp_expr_remap(qexpr *x, const int32_t *map);
/* Sets bit col of `used` for every column x reads. */
void qp_expr_cols(const qexpr *x, uint8_t *used);
/* Registry names (qfunc_find) of the operators the binder builds calls for. They live
 * here, in one place, because the parser's spelling ("NOT", "IS NULL") is not the
 * registry's. */
#define QP_FN_AND "and"
#define QP_FN_OR "or"
#define QP_FN_NOT "not"
#define QP_FN_NEG "negate"
#define QP_FN_IS_NULL "is_null"
#define QP_FN_IS_NOT_NULL "is_not_null"
#define QP_FN_LIKE "like"
#define QP_FN_ILIKE "ilike"
#define QP_FN_NOT_LIKE "not_like"
#define QP_FN_NOT_ILIKE "not_ilike"

/* ---- plans (planner.c) ---- */

qp_node *qp_node_new(qctx *c, qp_kind kind, qp_node *input);
/* Plans a query expression (WITH, UNION ALL, ORDER BY, LIMIT). */
int qp_plan_query(qp_binder *b, const ast_query *q, qp_node **out);
/* Turns a plan into operators; with `analyze`, every operator is wrapped to collect
 * metrics into its node. */
int qp_lower(qctx *c, qp_node *n, bool analyze, qop **out);

/* ---- built-in relations (catalog_tables.c) ---- */

/* Resolves a FROM table that is not a CTE: a user table of ctx->db, system.*,
 * information_schema.*. VG_ENOTFOUND with a suggestion when there is none. */
int qp_from_table(qp_binder *b, const ast_from *f, qp_node **out);
int qp_show_tables(qp_binder *b, qp_node **out);
int qp_show_columns(qp_binder *b, const ast_from *f, qp_node **out);
/* A values node of string columns from a row-major array of cells (NULL = null). */
int qp_values_strings(qctx *c, const char *label, const char *const *names, uint32_t ncols,
                      const char *const *cells, uint32_t nrows, qp_node **out);

/* ---- optimizer (optimizer.c) ---- */

/* Constant folding, filter pushdown (into scans as time bounds, tag_eq and residual
 * filters), projection pruning and top-K. May replace *root. */
int qp_optimize(qctx *c, qp_node **root);

/* ---- DELETE (delete.c) ---- */

/* Runs `DELETE FROM t [WHERE ...]`: *deleted = false when the WHERE can match no row
 * (nothing was recorded). Errors name the line and column. */
int qdelete_run(qctx *c, const ast_stmt *st, bool *deleted);

/* ---- EXPLAIN (explain.c) ---- */

/* Appends the expression as DataFusion prints it, columns named from `in`. */
void qp_render_expr(const qexpr *x, const qschema *in, vg_buf *out);
/* The indented plan text: logical (DataFusion's node names) or physical (operators,
 * with the chunks the scan's pruning would skip; with metrics after EXPLAIN ANALYZE). */
int qp_render_plan(qctx *c, const qp_node *n, bool physical, vg_buf *out);
/* Wraps an operator so its rows and time are recorded in n->metrics. */
qop *qp_instrument(qctx *c, qop *op, qp_node *n);
/* EXPLAIN [ANALYZE] [VERBOSE]: the (plan_type, plan) rows. */
int qp_explain(qp_binder *b, const ast_stmt *stmt, qop **root);

#endif /* VIGIL_QUERY_PLAN_INT_H */
