/*
 * query/exec_int.h: the executor's contract. Private to module query.
 *
 *   - value types and column vectors (qvec) grouped in batches (qbatch);
 *   - the per-query context (qctx): arena, memory budget, deadline, now();
 *   - bound expressions (qexpr) and their vectorized evaluation;
 *   - the scalar-function and aggregate registries;
 *   - the operator interface (open / next / close) and the operator constructors.
 *
 * Memory rules: everything that lives for the query comes from ctx->arena and is
 * charged to the budget with qctx_charge(). A batch returned by next() (and every
 * vector in it) stays valid until the next call of next() or close() on the same
 * operator; an operator that keeps rows (sort, aggregate, distinct) copies them.
 */
#ifndef VIGIL_QUERY_EXEC_INT_H
#define VIGIL_QUERY_EXEC_INT_H

#include "query.h"

/* Rows per batch: large enough to amortize per-batch overhead, small enough that a
 * batch of a few columns stays in L2. */
#define Q_BATCH_ROWS 4096

/* ---- types and values ---- */

typedef enum qtype {
    QT_NULL = 0,  /* the type of a bare NULL before coercion */
    QT_BOOL,
    QT_INT,       /* int64 */
    QT_UINT,      /* uint64 */
    QT_FLOAT,     /* float64 */
    QT_STRING,    /* utf8 */
    QT_TIMESTAMP, /* int64 ns since the epoch, UTC */
    QT_INTERVAL,  /* int64 ns (calendar months are not supported; see docs/sql.md) */
    QT_SELECTOR,  /* struct {value, time}: selector_first/last/min/max results */
} qtype;

/* Arrow/DataFusion spelling for information_schema and errors: "Boolean", "Int64",
 * "UInt64", "Float64", "Utf8", "Timestamp(Nanosecond, None)", "Interval(MonthDayNano)". */
const char *qtype_name(qtype t);

typedef struct qstr {
    const char *p;
    uint32_t len;
} qstr;

typedef struct qvalue {
    qtype type;
    bool null;
    union {
        bool b;
        int64_t i; /* QT_INT, QT_TIMESTAMP, QT_INTERVAL */
        uint64_t u;
        double f;
        qstr s;
    } v;
    /* QT_SELECTOR: the selected value and its time */
    struct qvalue *sel_value;
    int64_t sel_time;
} qvalue;

/* A column of n values. */
typedef struct qvec {
    qtype type;
    uint32_t n;
    uint8_t *valid; /* bit i set = row i not null; NULL = no nulls at all */
    union {
        uint8_t *b; /* QT_BOOL: one byte per row, 0/1 */
        int64_t *i64;
        uint64_t *u64;
        double *f64;
        qstr *s; /* QT_STRING; may be NULL when ids/dict are set */
    } v;
    /* Dictionary form of a QT_STRING vector (tags straight from a scan): row i is
     * dict[ids[i]]. dict_id names the dictionary: equal dict_id = same id space, so
     * grouping and comparisons can work on ids. */
    const uint32_t *ids;
    const qstr *dict;
    uint32_t dict_n;
    uint64_t dict_id;
    /* QT_SELECTOR: sel[0] = values, sel[1] = times (QT_TIMESTAMP) */
    struct qvec *sel;
} qvec;

static inline bool qvec_is_valid(const qvec *v, uint32_t row)
{
    return !v->valid || ((v->valid[row >> 3] >> (row & 7)) & 1);
}

static inline qstr qvec_str(const qvec *v, uint32_t row)
{
    return v->ids ? v->dict[v->ids[row]] : v->v.s[row];
}

typedef struct qbatch {
    uint32_t nrows;
    uint32_t ncols;
    qvec *cols;
} qbatch;

/* Output description of an operator or plan node. */
typedef struct qfield {
    const char *name;
    const char *qualifier; /* table name or alias the column came from, or NULL */
    qtype type;
    bool is_tag;   /* a tag column: Dictionary(Int32, Utf8) in information_schema */
    bool nullable;
} qfield;

typedef struct qschema {
    uint32_t n;
    qfield *f;
} qschema;

/* ---- per-query context ---- */

typedef struct qctx {
    vg_arena *arena;      /* lives for the query */
    size_t mem_budget;
    size_t mem_used;      /* charged bytes */
    int64_t deadline;     /* vg_mono_ns() deadline, 0 = none */
    int64_t timeout_ns;   /* the configured timeout, for the timeout message */
    int64_t now_ns;       /* now() for the whole query */
    catalog *cat;
    buffer *buf;
    persist *persist;     /* NULL: read the buffer only */
    catalog_db *db;       /* the database the query runs in */
    query_engine *engine; /* for system.queries */
    const query_param *params; /* $name placeholders */
    size_t nparams;
    vg_err *err;
    /* counters for EXPLAIN ANALYZE and system.queries */
    uint64_t chunks_total;
    uint64_t chunks_pruned;
    uint64_t rows_scanned;
    uint64_t chunks_flagged; /* sources that may repeat an earlier (tag set, time) */
    uint64_t rows_pooled;    /* rows set aside for the duplicate merge */
} qctx;

/* Charges bytes to the budget: VG_ENOMEM with "query exceeded its memory budget of
 * N bytes (--exec-mem-pool-bytes)" once over it. */
int qctx_charge(qctx *c, size_t bytes);
/* VG_OK, or VG_ELIMIT with "query timed out after N s (--query-timeout)" once the
 * deadline passed. Operators call it once per batch. */
int qctx_check_deadline(qctx *c);
/* Arena allocation charged to the budget; NULL (and ctx->err set) when refused. */
void *qctx_alloc(qctx *c, size_t bytes);

/* Allocates a vector of n rows of type t (data uninitialized, valid = NULL). */
int qvec_alloc(qctx *c, qvec *v, qtype t, uint32_t n);
/* Adds a validity bitmap with every row valid (for writers that then clear bits). */
int qvec_add_validity(qctx *c, qvec *v);
static inline void qvec_set_null(qvec *v, uint32_t row)
{
    v->valid[row >> 3] &= (uint8_t)~(1u << (row & 7));
}

/* ---- bound expressions ---- */

typedef struct qfunc qfunc;
typedef struct qexpr qexpr;

typedef enum qexpr_kind {
    QX_LITERAL, /* lit */
    QX_COLUMN,  /* col: index into the input batch */
    QX_CALL,    /* fn(args): operators (+, =, AND, LIKE, ...) and scalar functions */
    QX_CASE,    /* args = [when0, then0, when1, then1, ..., else-or-NULL-literal] */
    QX_CAST,    /* args[0] cast to type */
    QX_IN_LIST, /* args[0] IN (args[1..]); negated */
    QX_FIELD,   /* args[0] is QT_SELECTOR; field = 0 value, 1 time */
} qexpr_kind;

struct qexpr {
    qexpr_kind kind;
    qtype type; /* result type */
    bool negated;
    qvalue lit;
    uint32_t col;
    int field;
    const qfunc *fn;
    void *fn_state; /* per-call constant state, e.g. a compiled LIKE pattern */
    qexpr **args;
    uint32_t nargs;
};

/* Evaluates x over the rows of in into out (out->n = in->nrows). Vectors may point
 * into `in` (a column reference returns the input vector itself, no copy). */
int qexpr_eval(qctx *c, const qexpr *x, const qbatch *in, qvec *out);
/* Evaluates a constant expression (no column references) to a value. */
int qexpr_eval_const(qctx *c, const qexpr *x, qvalue *out);
bool qexpr_is_const(const qexpr *x);

/* ---- scalar functions and operators ---- */

/* Resolves argument types to a result type (and may coerce: it can rewrite
 * arg_types[i] to the type the argument must be cast to). VG_EINVAL with a message
 * like "no function matches 'sqrt(Utf8)'. Candidates: sqrt(Float64)". */
typedef int (*qfunc_resolve_fn)(qtype *arg_types, uint32_t nargs, qtype *ret, vg_err *e);
/* Computes out (n rows) from evaluated args. */
typedef int (*qfunc_exec_fn)(qctx *c, const qexpr *call, qvec *args, uint32_t nargs, uint32_t n,
                             qvec *out);
/* Like qfunc_resolve_fn, for functions whose result type depends on the value of a
 * literal argument (date_part('second', t) is Float64, date_part('year', t) Int64) or that
 * check literal arguments at plan time (date_trunc's unit). lits[i] is argument i's value
 * when it is a literal (or a folded constant), else NULL. When a function has it, the
 * binder calls it instead of resolve. */
typedef int (*qfunc_resolve_lit_fn)(qtype *arg_types, const qvalue *const *lits, uint32_t nargs,
                                    qtype *ret, vg_err *e);

struct qfunc {
    const char *name; /* lower case; operators by symbol: "+", "=", "and", "like", "||" */
    int min_args;
    int max_args; /* -1 = variadic */
    qfunc_resolve_fn resolve;
    qfunc_exec_fn exec;
    bool volatile_; /* now() is constant per query; random() would be volatile */
    qfunc_resolve_lit_fn resolve_lit; /* optional, see above */
};

/* Looks up a scalar function or operator by name (NULL if none). */
const qfunc *qfunc_find(const char *name);

/* ---- aggregates ---- */

typedef struct qagg qagg;

/* One aggregate state per group lives in a flat array of state_size bytes each. */
struct qagg {
    const char *name; /* "count", "sum", "avg", "min", "max", "stddev", "variance",
                         "median", "approx_percentile_cont", "selector_first", ... */
    int min_args;
    int max_args;
    int (*resolve)(qtype *arg_types, uint32_t nargs, bool distinct, qtype *ret, vg_err *e);
    size_t (*state_size)(const qtype *arg_types, uint32_t nargs);
    void (*init)(void *states, uint32_t ngroups); /* zero/neutral states */
    /* Adds rows: row r goes to group groups[r]. Extra args (e.g. the percentile)
     * are constant vectors. */
    int (*update)(qctx *c, void *states, const uint32_t *groups, const qvec *args,
                  uint32_t nargs, uint32_t nrows);
    /* Writes one value per group into out (allocated by the caller, type = ret). */
    int (*finalize)(qctx *c, void *states, uint32_t ngroups, qvec *out);
    void (*destroy)(void *states, uint32_t ngroups); /* optional: free owned memory */
    /* update(states + g * state_size, NULL, args sliced to rows [r0, r1), ...) for a run
     * of rows all in group g gives exactly the states that row-by-row updates give, bit
     * for bit: the aggregate operator then hands over runs of one group (rows sorted by
     * tag set come in long ones) and the aggregate may take them in bulk. */
    bool by_run;
};

const qagg *qagg_find(const char *name);
/* The DISTINCT form of an aggregate (count(DISTINCT x), sum(DISTINCT x), ...): its states
 * keep a hash set per group and feed each distinct non-null value to the plain aggregate
 * once. Use it for a qagg_call with distinct = true. NULL when the aggregate has none. */
const qagg *qagg_find_distinct(const char *name);

/* ---- operators ---- */

typedef struct qop qop;

typedef struct qop_vt {
    const char *name; /* for EXPLAIN: "Scan", "Filter", "Projection", ... */
    int (*open)(qop *op, qctx *c);
    /* *out = NULL at end. */
    int (*next)(qop *op, qctx *c, qbatch **out);
    void (*close)(qop *op, qctx *c);
} qop_vt;

struct qop {
    const qop_vt *vt;
    qschema schema; /* output */
    qop *input;     /* the first child, or NULL */
    void *state;
};

/* What a scan reads and what it may skip. Column ids are catalog column ids; the
 * output schema has one field per entry of cols, in that order. time_min/time_max
 * are inclusive bounds (INT64_MIN / INT64_MAX = unbounded); chunks whose time range
 * misses them are skipped and rows outside are dropped. tag_eq lists, per tag
 * column, the values it must equal (an IN list); chunks whose dictionary holds none
 * of them are skipped and rows whose tag is NULL or another value are dropped (so
 * the planner leaves such conjuncts out of the residual filter; a tag_eq column need
 * not be among cols). `filter` is the residual predicate over the output columns
 * (may be NULL). Rows are deduplicated on (tag set, time) with later-wins per field
 * when dedup is true (always, for user tables). */
typedef struct qscan_tag_eq {
    uint32_t col_id;
    qstr *values;
    uint32_t nvalues;
} qscan_tag_eq;

typedef struct qscan_spec {
    uint32_t db_id;
    uint32_t table_id;
    const catalog_table *table;
    uint32_t *cols;
    uint32_t ncols;
    int64_t time_min;
    int64_t time_max;
    qscan_tag_eq *tag_eq;
    uint32_t ntag_eq;
    qexpr *filter;
    bool dedup;
    /* Only count(*) reads the rows (set by the optimizer): a source whose rows need
     * no test and no merging is counted from its row count, without decoding. */
    bool count_only;
} qscan_spec;

typedef struct qsort_key {
    qexpr *expr;
    bool desc;
    bool nulls_first;
} qsort_key;

typedef struct qagg_call {
    const qagg *agg;
    qexpr **args;
    uint32_t nargs;
    bool distinct;
    qtype ret;
} qagg_call;

/* Constructors: return NULL with ctx->err set on failure. Each takes ownership of
 * its input operator(s). */
qop *qop_scan(qctx *c, const qscan_spec *spec);
/* Rows given up front (system tables, information_schema, SHOW, SELECT without
 * FROM): a schema and batches already materialized. */
qop *qop_values(qctx *c, const qschema *schema, qbatch *batches, uint32_t nbatches);
qop *qop_filter(qctx *c, qop *input, qexpr *pred);
qop *qop_project(qctx *c, qop *input, qexpr **exprs, const qschema *schema);
/* Output: group columns first (in order), then one column per aggregate call. With
 * ngroup = 0 it yields exactly one row (even over no input). */
qop *qop_aggregate(qctx *c, qop *input, qexpr **group, uint32_t ngroup, qagg_call *aggs,
                   uint32_t naggs, const qschema *schema);
/* limit > 0 turns the sort into top-K (keeps only limit + offset rows). */
qop *qop_sort(qctx *c, qop *input, qsort_key *keys, uint32_t nkeys, uint64_t limit);
qop *qop_limit(qctx *c, qop *input, uint64_t limit, uint64_t offset); /* limit UINT64_MAX = none */
qop *qop_distinct(qctx *c, qop *input);
qop *qop_union_all(qctx *c, qop **inputs, uint32_t n, const qschema *schema);

/* ---- entry points between the parts of the module ---- */

typedef struct ast_stmt ast_stmt;

/* Binds, plans, optimizes and builds the operator tree of one statement (planner.c).
 * EXPLAIN yields a values operator with the plan text (columns plan_type, plan).
 * Errors: VG_EINVAL (user error, message names line:column where it can),
 * VG_ENOTFOUND (unknown table: "table 'x' not found at line 1, column 15. Did you mean
 * 'y'?"), VG_EEXISTS never. Valid SQL that is not implemented is VG_EINVAL with a
 * message starting "This feature is not implemented: " (query.c maps the prefix to
 * QUERY_ERR_UNSUPPORTED); VG_EINTERNAL only for bugs. */
int qplan_build(qctx *c, const ast_stmt *stmt, qop **root);

/* system.queries rows from the engine's query log (query.c). */
qop *qsys_queries(qctx *c);

#endif /* VIGIL_QUERY_EXEC_INT_H */
