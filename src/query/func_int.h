/*
 * query/func_int.h: internals shared by the expression evaluator (expr.c), the vector
 * helpers (vec.c), the casts and scalar functions (func_*.c) and the aggregates (agg_*.c).
 * The rest of the module sees only exec_int.h.
 *
 * Evaluation state per expression node. The first evaluation of a qexpr hangs a qf_node
 * on x->fn_state (so whoever builds qexprs leaves fn_state NULL and never copies a node
 * after it was evaluated). The node holds its output buffers and reuses them batch after
 * batch: a vector returned by qexpr_eval stays valid until the same node is evaluated
 * again, which is exactly the batch lifetime of exec_int.h. Allocating fresh buffers per
 * batch instead would grow the query arena by one buffer per expression per batch, and a
 * scan of ten million rows would run out of budget.
 */
#ifndef VIGIL_QUERY_FUNC_INT_H
#define VIGIL_QUERY_FUNC_INT_H

#include "exec_int.h"

#include <string.h>

/* ---- reusable per-node memory ---- */

#define QF_SLOTS 6
enum { QF_SLOT_DATA = 0, QF_SLOT_VALID = 1, QF_SLOT_TMP = 2 };

typedef struct qf_mem {
    void *slot[QF_SLOTS];
    size_t cap[QF_SLOTS];
    /* String bytes: handed out from a block; when it is full a new block is started so
     * strings already handed out this round stay where they are. */
    char *sb;
    size_t sb_used;
    size_t sb_cap;
    size_t sb_round; /* bytes handed out since the last reset */
    size_t sb_next;  /* size of the next block: one block fits a whole round next time */
} qf_mem;

/* At least `bytes` bytes of slot `slot`, keeping the old capacity when it suffices
 * (contents are not preserved). NULL with c->err set when over budget. */
void *qf_mem_get(qctx *c, qf_mem *m, int slot, size_t bytes);
/* v = n rows of type t in slot DATA, valid = NULL. QT_NULL vectors get zeroed storage
 * wide enough to be read as any type, and an all-null bitmap. */
int qf_mem_vec(qctx *c, qf_mem *m, qvec *v, qtype t, uint32_t n);
/* Gives v a bitmap (slot VALID) with every row valid. */
uint8_t *qf_mem_valid(qctx *c, qf_mem *m, qvec *v);
/* v->valid = AND of the bitmaps of args (NULL when none of them has one). */
int qf_mem_valid_and(qctx *c, qf_mem *m, qvec *v, const qvec *args, uint32_t nargs);
/* len bytes for string data, valid until the next qf_mem_str_reset. */
char *qf_mem_str(qctx *c, qf_mem *m, size_t len);
void qf_mem_str_reset(qf_mem *m);

/* ---- per-node state ---- */

typedef struct qf_arg {
    qtype want;    /* type the function's exec expects for this argument */
    bool is_const; /* no column reference: evaluated once, cast once, broadcast */
    qvalue cval;
    qvec bvec; /* broadcast of cval */
    uint32_t bcap;
    qf_mem mem; /* cast buffers when a non-constant argument needs coercion */
} qf_arg;

typedef struct qf_dict_cache {
    bool ok;
    uint64_t dict_id;
    const qstr *dict;
    uint32_t dict_n;
    qvec res;           /* dict_n + 1 results; the last is the function applied to NULL */
    bool entries_valid; /* no result of an entry (as opposed to NULL) is NULL */
    qf_mem mem;
    qf_mem emem; /* the entries as a plain vector */
} qf_dict_cache;

typedef struct qf_node {
    const qexpr *owner; /* a copied qexpr carries its original's fn_state: not ours then */
    int8_t konst;       /* qexpr_is_const cache: 0 unknown, 1 constant, -1 not */
    bool prepared;
    qf_mem mem;   /* the node's output */
    qf_arg *args; /* one per argument (QX_CALL, QX_IN_LIST) */
    qvec *argv;   /* evaluated (and coerced) arguments */
    bool cval_ok; /* the node's own value, when it is constant */
    qvalue cval;
    qvec bvec;
    uint32_t bcap;
    qf_dict_cache *dict;
    void *priv; /* state of the kind or function, e.g. a compiled LIKE pattern */
} qf_node;

/* The node's state, created on first use; NULL with c->err set on out-of-memory. */
qf_node *qf_node_get(qctx *c, const qexpr *x);
/* Output memory of a node (what exec functions allocate their result from). */
qf_mem *qf_out_mem(qctx *c, const qexpr *x);
/* Whether argument i of a call is a constant (its vector repeats one value): kernels
 * use scalar loops then. */
bool qf_arg_const(const qexpr *call, uint32_t i);
/* Fills *bv with n copies of v (type t), reusing and growing *cap rows of storage. */
int qf_broadcast(qctx *c, const qvalue *v, qtype t, qvec *bv, uint32_t *cap, uint32_t n);

/* ---- the registry of scalar functions ---- */

enum {
    QF_STRICT = 1, /* a NULL argument gives NULL: the evaluator answers untyped NULLs */
    QF_DICT = 2,   /* pure and never fails on strings: may run once per dictionary entry */
};

/* A registry entry. qfunc comes first so that the qfunc * handed out by qfunc_find can
 * be widened back; only the registry creates qfuncs. */
typedef struct qf_def {
    qfunc f;
    unsigned flags;
} qf_def;

static inline const qf_def *qf_def_of(const qfunc *f)
{
    return (const qf_def *)f;
}

extern const qf_def qf_arith_defs[];
extern const size_t qf_arith_ndefs;
extern const qf_def qf_cmp_defs[];
extern const size_t qf_cmp_ndefs;
extern const qf_def qf_string_defs[];
extern const size_t qf_string_ndefs;
extern const qf_def qf_time_defs[];
extern const size_t qf_time_ndefs;
extern const qf_def qf_math_defs[];
extern const size_t qf_math_ndefs;

/* Resolve helpers. */
int qf_nomatch(vg_err *e, const char *name, const qtype *t, uint32_t n, const char *cands);
bool qf_is_numeric(qtype t);
/* Common type of two values that meet in one column (coalesce, greatest, CASE):
 * NULL takes the other side, Int64 with UInt64 is Int64, any number with Float64 is
 * Float64, a string meets a timestamp or interval as that type, otherwise a string
 * meets a number or boolean as Utf8. False when there is none. */
bool qf_common_type(qtype a, qtype b, qtype *out);

/* ---- casts (func_cast.c) ---- */

/* Casts n = in->n rows to type `to` with DataFusion's semantics (CAST, not TRY_CAST):
 * a value that does not fit or does not parse is an error naming it. out may alias
 * in (same type: out = *in, no copy). Buffers come from m. */
int qf_cast(qctx *c, qf_mem *m, const qvec *in, qtype to, qvec *out);
/* One value; strings of the result live in the query arena. */
int qf_cast_value(qctx *c, const qvalue *in, qtype to, qvalue *out);
bool qf_cast_supported(qtype from, qtype to);
/* INTERVAL text: "10 minutes", "1h30m", "1.5 hours", "-2d", "00:10:00"; months and years
 * are rejected (intervals are fixed lengths). */
int qf_parse_interval(const char *s, size_t n, int64_t *ns, vg_err *e);
/* "1 days 2 hours 3 mins 4.500000000 secs" (Arrow's rendering); out needs 96 bytes. */
size_t qf_fmt_interval(int64_t ns, char *out);
/* Formats a double as Rust's {:?} does (1.0, 0.1, 1e30, 1.5e-7, NaN, inf); out needs 32
 * bytes. DataFusion's cast results and error messages print floats this way. */
size_t qf_fmt_f64(double v, char *out);

/* ---- vectors and values (vec.c) ---- */

static inline bool qf_bit(const uint8_t *b, uint32_t i)
{
    return (b[i >> 3] >> (i & 7)) & 1;
}
static inline void qf_bit_set(uint8_t *b, uint32_t i)
{
    b[i >> 3] |= (uint8_t)(1u << (i & 7));
}
static inline void qf_bit_clear(uint8_t *b, uint32_t i)
{
    b[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}
static inline size_t qf_bitmap_bytes(uint32_t n)
{
    return ((size_t)n + 7) / 8;
}

/* Bytes per row of a vector's data array (0 for QT_SELECTOR). */
size_t qf_type_width(qtype t);
/* Row r of v as a value (strings borrowed from the vector). */
void qf_vec_value(const qvec *v, uint32_t r, qvalue *out);
/* out = rows[0..n) of in; dictionary strings come out plain. */
int qf_vec_gather(qctx *c, qf_mem *m, const qvec *in, const uint32_t *rows, uint32_t n, qvec *out);
/* dst[rows[j]] = src[j]; dst has a validity bitmap and dst->type == src->type, or src
 * is QT_NULL (the rows become NULL). */
void qf_vec_scatter(const qvec *src, const uint32_t *rows, uint32_t n, qvec *dst);
/* Copies the string of a value into the query arena. */
int qf_value_own(qctx *c, qvalue *v);
/* Total orders used by comparisons, sorting and min/max: NaN equals NaN and is above
 * every other float; strings compare by bytes (= code points for UTF-8). */
static inline int qf_cmp_f64(double a, double b)
{
    if (a < b)
        return -1;
    if (a > b)
        return 1;
    if (a == b)
        return 0;
    return (a != a) - (b != b); /* at least one NaN */
}
int qf_cmp_str(qstr a, qstr b);
/* Compares two non-null values of the same type. */
int qf_value_cmp(const qvalue *a, const qvalue *b);
/* A value for an error message: numbers as DataFusion prints them, strings quoted and
 * cut at 64 bytes. */
void qf_fmt_value(const qvalue *v, char *buf, size_t size);

/* ---- UTF-8 ---- */

size_t qf_utf8_count(const char *p, size_t n);
/* Byte offset after skipping k code points (n when the string is shorter). */
size_t qf_utf8_skip(const char *p, size_t n, size_t k);
/* Decodes one code point at p (n > 0); *len receives its byte length. Invalid bytes
 * decode as themselves, one byte each. */
uint32_t qf_utf8_decode(const char *p, size_t n, size_t *len);
size_t qf_utf8_encode(uint32_t cp, char *out);
/* Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; the
 * mapped text is never longer than the input. */
uint32_t qf_cp_lower(uint32_t cp);
uint32_t qf_cp_upper(uint32_t cp);
size_t qf_utf8_map(const char *p, size_t n, bool upper, char *out);

/* ---- aggregates (agg_*.c) ---- */

/* An aggregate's implementation. The public qagg comes first (qagg_find hands out a
 * pointer to it). The _s functions take the distance between two groups' states
 * explicitly: the plain aggregate passes `size`, and the DISTINCT wrapper passes a
 * larger stride that keeps each group's hash set next to the plain state. Every state
 * starts as all-zero bytes and can be moved with memcpy. */
typedef struct qa_def {
    qagg a;
    size_t size; /* bytes of one state (sizeof its struct) */
    int (*update_s)(qctx *c, char *states, size_t stride, const uint32_t *groups, const qvec *args,
                    uint32_t nargs, uint32_t nrows);
    int (*finalize_s)(qctx *c, char *states, size_t stride, uint32_t ngroups, qvec *out);
    void (*destroy_s)(char *states, size_t stride, uint32_t ngroups); /* may be NULL */
} qa_def;

static inline const qa_def *qa_def_of(const qagg *a)
{
    return (const qa_def *)a;
}

/* Group of row r; `groups` NULL means every row is in group 0. */
static inline uint32_t qa_group(const uint32_t *groups, uint32_t r)
{
    return groups ? groups[r] : 0;
}

/* Charges growth of owned per-group memory (vg_malloc'd, freed by destroy). */
int qa_charge(qctx *c, size_t bytes);
/* out->valid, created on first use (all valid), for a finalize that writes NULLs. */
int qa_set_null(qctx *c, qvec *out, uint32_t g);
/* The string bytes of a finalized value, copied into the query arena. */
int qa_arena_str(qctx *c, const char *p, uint32_t len, qstr *out);

extern const qa_def qa_count_def, qa_sum_def, qa_avg_def, qa_min_def, qa_max_def;
extern const qa_def qa_stddev_def, qa_stddev_pop_def, qa_var_def, qa_var_pop_def;
extern const qa_def qa_median_def, qa_percentile_def;
extern const qa_def qa_sel_first_def, qa_sel_last_def, qa_sel_min_def, qa_sel_max_def;

/* Declares the plain qagg callbacks of an aggregate from its _s functions. */
#define QA_PLAIN(NAME, SIZE)                                                                       \
    static void NAME##_init(void *st, uint32_t ng)                                                 \
    {                                                                                              \
        memset(st, 0, (size_t)ng *(SIZE));                                                         \
    }                                                                                              \
    static size_t NAME##_size(const qtype *t, uint32_t n)                                          \
    {                                                                                              \
        return (SIZE);                                                                             \
    }                                                                                              \
    static int NAME##_update(qctx *c, void *st, const uint32_t *g, const qvec *a, uint32_t na,     \
                             uint32_t nr)                                                          \
    {                                                                                              \
        return NAME##_update_s(c, st, (SIZE), g, a, na, nr);                                       \
    }                                                                                              \
    static int NAME##_finalize(qctx *c, void *st, uint32_t ng, qvec *out)                          \
    {                                                                                              \
        return NAME##_finalize_s(c, st, (SIZE), ng, out);                                          \
    }

#endif /* VIGIL_QUERY_FUNC_INT_H */
