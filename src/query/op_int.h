/*
 * query/op_int.h: helpers shared by the operators (op_*.c) and nothing else.
 *
 *   - qop_vecbuf: per-column scratch that an operator allocates once and reuses
 *     for every batch it emits (the arena only grows, so per-batch allocation
 *     would make memory grow with the data);
 *   - qop_select / qop_gather: predicate to row selection, selection to compacted
 *     vectors (dictionary encoding kept);
 *   - qop_strtab: bytes -> dense id interning in the query arena;
 *   - qop_imap: uint64 -> uint32 open-addressing map (no allocation per row);
 *   - qop_time_bound: a top-K sort's running bound, pushed into the scan below it.
 *
 * Private to the operator files: the rest of the module sees only exec_int.h.
 */
#ifndef VIGIL_QUERY_OP_INT_H
#define VIGIL_QUERY_OP_INT_H

#include "exec_int.h"

/* The error code ctx->err carries after a refused qctx_alloc (VG_ENOMEM if unset). */
int qop_err(qctx *c);

/* ---- per-column scratch ---- */

typedef struct qop_vecbuf {
    void *data;             /* Q_BATCH_ROWS values of 8 bytes (or bytes for bools) */
    uint8_t *valid;         /* Q_BATCH_ROWS bits */
    uint32_t *ids;          /* dictionary ids */
    qstr *strs;             /* plain strings */
    qvec *sel;              /* QT_SELECTOR: the two sub-vectors */
    struct qop_vecbuf *sub; /* ... and their scratch */
} qop_vecbuf;

/* Buffers of Q_BATCH_ROWS entries, allocated on first use and then reused. */
void *qop_vb_data(qctx *c, qop_vecbuf *vb);
uint8_t *qop_vb_valid(qctx *c, qop_vecbuf *vb);
uint32_t *qop_vb_ids(qctx *c, qop_vecbuf *vb);
qstr *qop_vb_strs(qctx *c, qop_vecbuf *vb);
/* Two sub-vectors (value, time) with their own scratch, for QT_SELECTOR. */
qvec *qop_vb_sel(qctx *c, qop_vecbuf *vb, qop_vecbuf **sub);

/* Rows of a QT_BOOL vector that are true (NULL counts as false) into sel; returns
 * how many. */
uint32_t qop_select(const qvec *pred, uint32_t n, uint32_t *sel);

/* out = rows sel[0..n) of in, in that order, into vb's buffers (n <= Q_BATCH_ROWS).
 * Dictionary vectors stay dictionary vectors (ids gathered, dict shared); strings
 * point where in's strings point. out->valid is NULL when no gathered row is null. */
int qop_gather(qctx *c, qop_vecbuf *vb, const qvec *in, const uint32_t *sel, uint32_t n, qvec *out);

/* True when bits [0, n) of a validity bitmap are all set. */
bool qop_all_valid(const uint8_t *valid, uint32_t n);

/* ---- byte strings -> dense ids ---- */

typedef struct qop_strtab {
    uint32_t *slots; /* id + 1; 0 = empty */
    uint32_t cap;    /* slots, power of two */
    uint32_t n;      /* ids handed out */
    uint32_t keys_cap;
    uint64_t *hashes; /* by id */
    qstr *keys;       /* by id; bytes copied into the arena */
} qop_strtab;

/* Id of the bytes (a new id, n - 1 afterwards, when first seen). */
int qop_strtab_intern(qctx *c, qop_strtab *t, const char *p, uint32_t len, uint32_t *id);

/* ---- uint64 -> uint32 ---- */

typedef struct qop_imap {
    uint64_t *keys;
    uint32_t *vals; /* value + 1; 0 = empty */
    uint32_t cap;   /* power of two, or 0 */
    uint32_t n;
} qop_imap;

/* Murmur3's finalizer: every input bit reaches every output bit, so keys on a
 * stride (date_bin buckets, ids) spread evenly over a power-of-two table. */
static inline uint64_t qop_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Value of key, or inserts val for it. *found tells which happened. */
int qop_imap_upsert(qctx *c, qop_imap *m, uint64_t key, uint32_t val, uint32_t *out, bool *found);

/* Grows an arena array of elem-size entries from *cap to at least need entries,
 * copying the old contents (the old block stays in the arena: growth doubles, so the
 * waste is bounded by the final size). */
int qop_grow(qctx *c, void **p, uint32_t *cap, uint32_t need, size_t elem);

/* ---- top-K bound pushed into the scan ---- */

/* ORDER BY time [DESC] LIMIT K over a scan: once the sort holds K rows it keeps
 * `time` at the K-th best row's time, and the scan, which then reads chunks newest
 * first (desc) or oldest first, skips every chunk whose rows are all strictly worse. */
typedef struct qop_time_bound {
    bool desc;
    bool valid;   /* the sort holds K rows */
    int64_t time; /* the K-th best time so far */
} qop_time_bound;

/* The scan under op (through filters and plain column projections) whose column
 * `col` of op's output is its time column, bound to b; false if there is none. */
bool qop_bind_time_bound(qop *op, uint32_t col, qop_time_bound *b);
/* Pieces of that walk: a filter's input (NULL if op is not a filter); a
 * projection's input when output column col is a plain input column (*src), else
 * NULL; and the scan itself. */
qop *qop_filter_passthrough(qop *op);
qop *qop_project_passthrough(qop *op, uint32_t col, uint32_t *src);
bool qop_scan_bind_time_bound(qop *op, uint32_t col, qop_time_bound *b);

/* ---- decoding file sources ahead on a second thread (prefetch.c) ---- */

typedef struct qop_prefetch qop_prefetch;

typedef int (*qop_load_fn)(const persist_source *s, uint32_t db_id, uint32_t table_id,
                           uint32_t ncols_table, const persist_col *cols, uint32_t ncols,
                           buffer_chunk **out, vg_err *e);

typedef struct qop_load_args {
    uint32_t db_id;
    uint32_t table_id;
    uint32_t ncols_table;
    const persist_col *cols; /* the columns to decode */
    uint32_t ncols;
    qop_load_fn load; /* NULL = persist_source_load; tests put their own */
} qop_load_args;

/* Starts decoding src[order[0]], src[order[1]], ... (file sources only) on a helper
 * thread, at most `ahead` sources past the last one taken. NULL when it is not worth
 * it (fewer than two file sources, one CPU) or no thread could start: then the scan
 * decodes its sources itself. src, order and args->cols must outlive the prefetcher. */
qop_prefetch *qop_prefetch_start(const persist_source *src, const uint32_t *order, uint32_t n,
                                 const qop_load_args *args, uint32_t ahead);
/* The decoded source at order index i (the caller takes the reference), as
 * persist_source_load would give it: decodes it here if the helper has not started on
 * it; while the helper decodes it, decodes a later source of the window that no thread
 * has started, or waits. Indexes are taken in increasing order. */
int qop_prefetch_take(qop_prefetch *p, uint32_t i, buffer_chunk **out, vg_err *e);
/* Stops the helper and drops what it decoded that was not taken. NULL is fine. */
void qop_prefetch_stop(qop_prefetch *p);

#endif /* VIGIL_QUERY_OP_INT_H */
