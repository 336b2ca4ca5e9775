/* query/op_sort.c: the Sort operator: ORDER BY, and top-K for ORDER BY ... LIMIT.
 *
 *   qop_sort(ctx, input, keys, nkeys, limit)   output schema = input schema;
 *                                              limit > 0: only the first `limit` rows
 *   open   opens the input
 *   next   first call: drains the input into a row store; then emits the rows in
 *          order, in batches. The sort is stable: rows with equal keys keep their
 *          input order.
 *   close  closes the input
 *
 * Row store. Rows are copied into pages of Q_BATCH_ROWS rows per column (so a row
 * number is a page and an offset, and nothing is ever moved or reallocated), plus
 * the sort keys that are not plain column references, evaluated per batch. Strings
 * are copied: a dictionary vector's dictionary once per dict_id, other strings into
 * a string heap. Everything is charged to the query's memory budget, so a sort over
 * more than the budget fails the query with the budget's message.
 *
 * Prefix. Each row also gets a normalized prefix of its first key: a class (NULLs
 * that sort first, values, NULLs that sort last) and 64 bits whose unsigned order is
 * the key's order (sign-flipped integers, sign-folded float bits with one NaN above
 * +inf as DataFusion orders it, the first 8 string bytes; inverted for DESC). For
 * numbers, timestamps and booleans the prefix decides the first key exactly, and
 * most comparisons never look at the vectors.
 *
 * Full sort: a stable LSD radix sort of the prefixes (passes over constant bytes
 * skipped), then a stable merge sort with the full comparator inside each run of
 * equal prefixes when the prefix is not the whole story (a string key, more keys).
 *
 * Top-K (limit <= TOPK_MAX): a max-heap of the K best rows so far in K fixed slots
 * of the store, each with its arrival number (ties: earlier wins). An input row not
 * better than the heap's worst is dropped after one prefix comparison; when more
 * than K rows of a batch beat it, a heap over the batch first picks its K best
 * (walking the batch backwards, where "the latest N" of time-ordered data are), so
 * at most K rows per batch are copied. Strings of evicted rows are reclaimed by
 * copying the live ones to a second heap once the garbage dominates. ORDER BY time
 * DESC LIMIT 10 over 10M rows keeps 10 rows.
 *
 * Time bound. When the first key is a plain timestamp column that reaches a scan
 * through filters and plain column projections, the sort shares its K-th best time
 * with that scan (qop_time_bound, op_int.h), which reads chunks newest (or oldest)
 * first and skips those that cannot beat it: the latest 10 points of 10M rows read
 * one chunk.
 */
#include "op_int.h"

#include <string.h>

/* Above this a "top-K" keeps so many rows that a full sort cut at the limit is as
 * good and needs no per-row heap work. */
#define TOPK_MAX (1u << 20)

#define PAGE_SHIFT 12 /* Q_BATCH_ROWS = 1 << PAGE_SHIFT */
#define PAGE_MASK (Q_BATCH_ROWS - 1)
_Static_assert(Q_BATCH_ROWS == 1 << PAGE_SHIFT, "pages hold one batch");

enum { CLS_NULL_FIRST = 0, CLS_VALUE = 1, CLS_NULL_LAST = 2 };

/* ---- string heap: bump allocation in reusable blocks ---- */

typedef struct heap_block {
    struct heap_block *next;
    size_t cap;
    size_t used;
    char *data;
} heap_block;

typedef struct strheap {
    heap_block *head;
    heap_block *cur;
    size_t used; /* bytes handed out since the last reset */
} strheap;

#define HEAP_BLOCK (64 * 1024)

static char *heap_alloc(qctx *c, strheap *h, size_t len)
{
    heap_block *b = h->cur;
    while (b && b->cap - b->used < len) {
        b = b->next;
        if (b)
            b->used = 0; /* reused after a reset */
    }
    if (!b) {
        size_t cap = len > HEAP_BLOCK ? len : HEAP_BLOCK;
        b = qctx_alloc(c, sizeof *b);
        char *data = qctx_alloc(c, cap);
        if (!b || !data)
            return NULL;
        *b = (heap_block){.cap = cap, .data = data};
        /* Chained after the current block, so the blocks after it stay reusable. */
        if (h->cur) {
            b->next = h->cur->next;
            h->cur->next = b;
        } else {
            h->head = b;
        }
    }
    h->cur = b;
    char *p = b->data + b->used;
    b->used += len;
    h->used += len;
    return p;
}

static void heap_reset(strheap *h)
{
    h->cur = h->head;
    if (h->cur)
        h->cur->used = 0;
    h->used = 0;
}

/* ---- dictionaries copied once ---- */

typedef struct dict_copy {
    uint64_t dict_id;
    uint32_t n;
    qstr *strs;
} dict_copy;

/* ---- state ---- */

typedef struct page {
    qvec *cols;
    uint64_t *pre;
    uint8_t *cls;
    uint64_t *seq; /* top-K: arrival numbers */
} page;

typedef struct sort_state {
    qsort_key *keys;
    uint32_t nkeys;
    uint64_t limit;
    bool topk;
    uint32_t nin;     /* input columns */
    uint32_t nstore;  /* stored columns: input, then computed keys */
    uint32_t *keycol; /* per key: its stored column */
    qtype *types;     /* per stored column */
    qtype *subtypes;  /* per stored column: a selector's value type */
    bool types_known;
    bool exact;   /* the prefix orders the first key completely */
    bool decided; /* ... and it is the only key: prefix, then arrival, is the order */

    page *pages;
    uint32_t npages;
    uint32_t pages_cap;
    uint32_t nrows;
    strheap heaps[2];
    int hcur;          /* the heap strings go to */
    size_t compact_at; /* top-K: heap bytes that trigger a compaction */
    dict_copy *dicts;
    uint32_t ndicts;
    uint32_t dicts_cap;

    /* the current input batch */
    qvec *kv;  /* per key: its vector */
    qvec *all; /* the batch's columns then the computed keys */
    uint64_t *bpre;
    uint8_t *bcls;
    uint64_t bseq;   /* arrival number of the batch's row 0 */
    uint32_t *cand;  /* Q_BATCH_ROWS */
    uint32_t *lheap; /* Q_BATCH_ROWS: the batch's best K */

    uint32_t *heap; /* top-K: slots, worst on top */
    uint32_t nheap;
    qop_time_bound *bound; /* shared with a scan below, or NULL */

    bool drained;
    uint32_t *order;
    uint32_t norder;
    uint32_t pos;
    qop_vecbuf *bufs;
    qbatch out;
} sort_state;

/* ---- prefixes ---- */

static uint64_t float_key(double f)
{
    if (f == 0)
        f = 0;
    uint64_t w;
    if (f != f)
        return UINT64_MAX; /* every NaN, above +inf */
    memcpy(&w, &f, sizeof w);
    return (w >> 63) ? ~w : w | (1ULL << 63);
}

static uint64_t string_key(qstr s)
{
    uint64_t w = 0;
    for (uint32_t i = 0; i < 8; i++)
        w = (w << 8) | (i < s.len ? (uint8_t)s.p[i] : 0);
    return w;
}

static bool type_is_exact(qtype t)
{
    return t == QT_BOOL || t == QT_INT || t == QT_UINT || t == QT_FLOAT || t == QT_TIMESTAMP ||
           t == QT_INTERVAL;
}

/* Prefixes of rows [0, n) of v (one loop per type: this runs for every input row). */
static void prefixes(const qvec *v, uint32_t n, const qsort_key *k, uint8_t *cls, uint64_t *pre)
{
    switch (v->type) {
    case QT_BOOL:
        for (uint32_t r = 0; r < n; r++)
            pre[r] = v->v.b[r] != 0;
        break;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL:
        for (uint32_t r = 0; r < n; r++)
            pre[r] = v->v.u64[r] ^ (1ULL << 63);
        break;
    case QT_UINT: memcpy(pre, v->v.u64, (size_t)n * sizeof *pre); break;
    case QT_FLOAT:
        for (uint32_t r = 0; r < n; r++)
            pre[r] = float_key(v->v.f64[r]);
        break;
    case QT_STRING:
        for (uint32_t r = 0; r < n; r++)
            pre[r] = string_key(qvec_str(v, r));
        break;
    default: memset(pre, 0, (size_t)n * sizeof *pre); break;
    }
    if (k->desc)
        for (uint32_t r = 0; r < n; r++)
            pre[r] = ~pre[r];
    memset(cls, CLS_VALUE, n);
    if (v->type != QT_NULL && !v->valid)
        return;
    uint8_t null_cls = k->nulls_first ? CLS_NULL_FIRST : CLS_NULL_LAST;
    for (uint32_t r = 0; r < n; r++) {
        if (v->type == QT_NULL || !qvec_is_valid(v, r)) {
            cls[r] = null_cls;
            pre[r] = 0;
        }
    }
}

/* ---- comparing cells ---- */

static int cmp_str(qstr a, qstr b)
{
    uint32_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.p, b.p, m) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return (a.len > b.len) - (a.len < b.len);
}

static int cmp_f64(double x, double y)
{
    bool nx = x != x, ny = y != y;
    if (nx || ny)
        return nx - ny; /* NaN above everything, equal to itself */
    return (x > y) - (x < y);
}

/* Non-null values a[ra] and b[rb] of one type. */
static int cmp_values(const qvec *a, uint32_t ra, const qvec *b, uint32_t rb)
{
    switch (a->type) {
    case QT_BOOL: return (a->v.b[ra] != 0) - (b->v.b[rb] != 0);
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: return (a->v.i64[ra] > b->v.i64[rb]) - (a->v.i64[ra] < b->v.i64[rb]);
    case QT_UINT: return (a->v.u64[ra] > b->v.u64[rb]) - (a->v.u64[ra] < b->v.u64[rb]);
    case QT_FLOAT: return cmp_f64(a->v.f64[ra], b->v.f64[rb]);
    case QT_STRING: return cmp_str(qvec_str(a, ra), qvec_str(b, rb));
    case QT_SELECTOR: {
        const qvec *av = &a->sel[0], *bv = &b->sel[0];
        bool va = qvec_is_valid(av, ra), vb = qvec_is_valid(bv, rb);
        if (va != vb)
            return va ? -1 : 1;
        int c = va && av->type == bv->type ? cmp_values(av, ra, bv, rb) : 0;
        return c ? c : cmp_values(&a->sel[1], ra, &b->sel[1], rb);
    }
    default: return 0;
    }
}

static int cmp_cell(const qvec *a, uint32_t ra, const qvec *b, uint32_t rb, const qsort_key *k)
{
    bool va = a->type != QT_NULL && qvec_is_valid(a, ra);
    bool vb = b->type != QT_NULL && qvec_is_valid(b, rb);
    if (!va || !vb) {
        if (va == vb)
            return 0;
        return !va == k->nulls_first ? -1 : 1;
    }
    int c = cmp_values(a, ra, b, rb);
    return k->desc ? -c : c;
}

/* A row of the store or of the current batch, as the comparator sees it. */
typedef struct side {
    bool batch;
    uint32_t row;
} side;

static const qvec *key_vec(const sort_state *s, side x, uint32_t k, uint32_t *r)
{
    if (x.batch) {
        *r = x.row;
        return &s->kv[k];
    }
    *r = x.row & PAGE_MASK;
    return &s->pages[x.row >> PAGE_SHIFT].cols[s->keycol[k]];
}

static void side_prefix(const sort_state *s, side x, uint8_t *cls, uint64_t *pre, uint64_t *seq)
{
    if (x.batch) {
        *cls = s->bcls[x.row];
        *pre = s->bpre[x.row];
        *seq = s->bseq + x.row;
        return;
    }
    const page *p = &s->pages[x.row >> PAGE_SHIFT];
    *cls = p->cls[x.row & PAGE_MASK];
    *pre = p->pre[x.row & PAGE_MASK];
    *seq = s->topk ? p->seq[x.row & PAGE_MASK] : x.row;
}

/* Full order: keys, then arrival. */
static int cmp_sides(const sort_state *s, side a, side b)
{
    uint8_t ca, cb;
    uint64_t pa, pb, sa, sb;
    side_prefix(s, a, &ca, &pa, &sa);
    side_prefix(s, b, &cb, &pb, &sb);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (pa != pb)
        return pa < pb ? -1 : 1;
    for (uint32_t k = s->exact ? 1 : 0; k < s->nkeys; k++) {
        uint32_t ra, rb;
        const qvec *va = key_vec(s, a, k, &ra), *vb = key_vec(s, b, k, &rb);
        int c = cmp_cell(va, ra, vb, rb, &s->keys[k]);
        if (c)
            return c;
    }
    return (sa > sb) - (sa < sb);
}

static inline int cmp_prefix(uint8_t ca, uint64_t pa, uint8_t cb, uint64_t pb)
{
    if (ca != cb)
        return ca < cb ? -1 : 1;
    return (pa > pb) - (pa < pb);
}

/* Two store rows (batch = false) or two rows of the current batch (batch = true).
 * When the prefix decides (one numeric key), equal prefixes fall to arrival order
 * without a look at the vectors. */
static inline int cmp_rows(const sort_state *s, bool batch, uint32_t a, uint32_t b)
{
    int c;
    uint64_t sa, sb;
    if (batch) {
        c = cmp_prefix(s->bcls[a], s->bpre[a], s->bcls[b], s->bpre[b]);
        sa = a;
        sb = b;
    } else {
        const page *pa = &s->pages[a >> PAGE_SHIFT], *pb = &s->pages[b >> PAGE_SHIFT];
        uint32_t oa = a & PAGE_MASK, ob = b & PAGE_MASK;
        c = cmp_prefix(pa->cls[oa], pa->pre[oa], pb->cls[ob], pb->pre[ob]);
        sa = s->topk ? pa->seq[oa] : a;
        sb = s->topk ? pb->seq[ob] : b;
    }
    if (c)
        return c;
    if (!s->decided)
        return cmp_sides(s, (side){batch, a}, (side){batch, b});
    return (sa > sb) - (sa < sb);
}

static int cmp_store(const sort_state *s, uint32_t a, uint32_t b)
{
    return cmp_rows(s, false, a, b);
}

/* Batch row r against store row slot (which arrived earlier, so it wins ties). */
static inline int cmp_batch_store(const sort_state *s, uint32_t r, uint32_t slot)
{
    const page *p = &s->pages[slot >> PAGE_SHIFT];
    int c = cmp_prefix(s->bcls[r], s->bpre[r], p->cls[slot & PAGE_MASK], p->pre[slot & PAGE_MASK]);
    if (c == 0)
        c = s->decided ? 1 : cmp_sides(s, (side){true, r}, (side){false, slot});
    return c;
}

/* ---- the row store ---- */

static size_t width_of(qtype t)
{
    return t == QT_BOOL ? 1 : t == QT_STRING ? sizeof(qstr) : 8;
}

static int alloc_vec(qctx *c, qvec *v, qtype t, qtype sub)
{
    memset(v, 0, sizeof *v);
    v->type = t;
    v->n = Q_BATCH_ROWS;
    v->valid = qctx_alloc(c, Q_BATCH_ROWS / 8);
    if (!v->valid)
        return qop_err(c);
    if (t == QT_SELECTOR) {
        v->sel = qctx_alloc(c, 2 * sizeof *v->sel);
        if (!v->sel)
            return qop_err(c);
        int rc = alloc_vec(c, &v->sel[0], sub, QT_NULL);
        return rc != VG_OK ? rc : alloc_vec(c, &v->sel[1], QT_TIMESTAMP, QT_NULL);
    }
    if (t == QT_NULL)
        return VG_OK;
    v->v.u64 = qctx_alloc(c, (size_t)Q_BATCH_ROWS * width_of(t));
    return v->v.u64 ? VG_OK : qop_err(c);
}

static int add_page(qctx *c, sort_state *s)
{
    int rc = qop_grow(c, (void **)&s->pages, &s->pages_cap, s->npages + 1, sizeof *s->pages);
    if (rc != VG_OK)
        return rc;
    page *p = &s->pages[s->npages];
    p->cols = qctx_alloc(c, (s->nstore ? s->nstore : 1) * sizeof *p->cols);
    p->pre = qctx_alloc(c, Q_BATCH_ROWS * sizeof *p->pre);
    p->cls = qctx_alloc(c, Q_BATCH_ROWS);
    p->seq = s->topk ? qctx_alloc(c, Q_BATCH_ROWS * sizeof *p->seq) : NULL;
    if (!p->cols || !p->pre || !p->cls || (s->topk && !p->seq))
        return qop_err(c);
    for (uint32_t i = 0; i < s->nstore; i++) {
        rc = alloc_vec(c, &p->cols[i], s->types[i], s->subtypes[i]);
        if (rc != VG_OK)
            return rc;
    }
    s->npages++;
    return VG_OK;
}

static int dict_strings(qctx *c, sort_state *s, const qvec *v, const qstr **out)
{
    dict_copy *d = NULL;
    for (uint32_t i = s->ndicts; i-- > 0;) {
        if (s->dicts[i].dict_id == v->dict_id) {
            d = &s->dicts[i];
            break;
        }
    }
    if (!d) {
        int rc = qop_grow(c, (void **)&s->dicts, &s->dicts_cap, s->ndicts + 1, sizeof *s->dicts);
        if (rc != VG_OK)
            return rc;
        d = &s->dicts[s->ndicts++];
        *d = (dict_copy){.dict_id = v->dict_id};
    }
    if (d->n < v->dict_n) {
        qstr *strs = qctx_alloc(c, (size_t)v->dict_n * sizeof *strs);
        if (!strs)
            return qop_err(c);
        if (d->n)
            memcpy(strs, d->strs, (size_t)d->n * sizeof *strs);
        for (uint32_t i = d->n; i < v->dict_n; i++) {
            char *p = qctx_alloc(c, v->dict[i].len ? v->dict[i].len : 1);
            if (!p)
                return qop_err(c);
            memcpy(p, v->dict[i].p, v->dict[i].len);
            strs[i] = (qstr){p, v->dict[i].len};
        }
        d->strs = strs;
        d->n = v->dict_n;
    }
    *out = d->strs;
    return VG_OK;
}

static int heap_str(qctx *c, sort_state *s, qstr in, qstr *out)
{
    if (in.len == 0) {
        *out = (qstr){"", 0};
        return VG_OK;
    }
    char *p = heap_alloc(c, &s->heaps[s->hcur], in.len);
    if (!p)
        return qop_err(c);
    memcpy(p, in.p, in.len);
    *out = (qstr){p, in.len};
    return VG_OK;
}

static inline void set_bit(uint8_t *bm, uint32_t i, bool on)
{
    if (on)
        bm[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bm[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* dst[d0 + i] = src[rows[i]] for i < n (within one page). */
static int copy_cells(qctx *c, sort_state *s, qvec *dst, uint32_t d0, const qvec *src,
                      const uint32_t *rows, uint32_t n)
{
    if (src->type == QT_NULL) {
        for (uint32_t i = 0; i < n; i++)
            set_bit(dst->valid, d0 + i, false);
        return VG_OK;
    }
    for (uint32_t i = 0; i < n; i++)
        set_bit(dst->valid, d0 + i, qvec_is_valid(src, rows[i]));
    switch (dst->type) {
    case QT_NULL: return VG_OK;
    case QT_BOOL:
        for (uint32_t i = 0; i < n; i++)
            dst->v.b[d0 + i] = src->v.b[rows[i]];
        return VG_OK;
    case QT_STRING: {
        const qstr *dict = NULL;
        if (src->ids) {
            int rc = dict_strings(c, s, src, &dict);
            if (rc != VG_OK)
                return rc;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t r = rows[i];
            if (!qvec_is_valid(src, r)) {
                dst->v.s[d0 + i] = (qstr){"", 0};
            } else if (dict) {
                dst->v.s[d0 + i] = dict[src->ids[r]];
            } else {
                int rc = heap_str(c, s, src->v.s[r], &dst->v.s[d0 + i]);
                if (rc != VG_OK)
                    return rc;
            }
        }
        return VG_OK;
    }
    case QT_SELECTOR:
        for (int k = 0; k < 2; k++) {
            int rc = copy_cells(c, s, &dst->sel[k], d0, &src->sel[k], rows, n);
            if (rc != VG_OK)
                return rc;
        }
        return VG_OK;
    default:
        for (uint32_t i = 0; i < n; i++)
            dst->v.u64[d0 + i] = src->v.u64[rows[i]];
        return VG_OK;
    }
}

/* Row `row` of the store = batch rows rows[0..n) (within one page). */
static int store_rows(qctx *c, sort_state *s, uint32_t row, const uint32_t *rows, uint32_t n)
{
    page *p = &s->pages[row >> PAGE_SHIFT];
    uint32_t d0 = row & PAGE_MASK;
    for (uint32_t i = 0; i < s->nstore; i++) {
        int rc = copy_cells(c, s, &p->cols[i], d0, &s->all[i], rows, n);
        if (rc != VG_OK)
            return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        p->pre[d0 + i] = s->bpre[rows[i]];
        p->cls[d0 + i] = s->bcls[rows[i]];
        if (p->seq)
            p->seq[d0 + i] = s->bseq + rows[i];
    }
    return VG_OK;
}

/* ---- input batches ---- */

/* Stored types come from the first batch (a selector's value type is only known
 * there); later batches must agree, except for untyped all-NULL vectors. */
static int check_types(qctx *c, sort_state *s)
{
    if (!s->types_known) {
        for (uint32_t i = 0; i < s->nstore; i++) {
            s->types[i] = s->all[i].type;
            s->subtypes[i] = s->all[i].type == QT_SELECTOR ? s->all[i].sel[0].type : QT_NULL;
        }
        s->exact = s->nkeys > 0 && type_is_exact(s->types[s->keycol[0]]);
        s->decided = s->nkeys == 0 || (s->exact && s->nkeys == 1);
        s->types_known = true;
        s->compact_at = 1u << 20;
        return VG_OK;
    }
    for (uint32_t i = 0; i < s->nstore; i++)
        if (s->all[i].type != s->types[i] && s->all[i].type != QT_NULL)
            return vg_err_set(c->err, VG_EINTERNAL, "sort: column %u changed type from %s to %s", i,
                              qtype_name(s->types[i]), qtype_name(s->all[i].type));
    return VG_OK;
}

/* Evaluates the keys over a batch and computes the first key's prefixes. */
static int prepare_batch(qctx *c, sort_state *s, const qbatch *in)
{
    for (uint32_t i = 0; i < s->nin; i++)
        s->all[i] = in->cols[i];
    for (uint32_t k = 0; k < s->nkeys; k++) {
        int rc = qexpr_eval(c, s->keys[k].expr, in, &s->kv[k]);
        if (rc != VG_OK)
            return rc;
        if (s->keycol[k] >= s->nin)
            s->all[s->keycol[k]] = s->kv[k];
    }
    int rc = check_types(c, s);
    if (rc != VG_OK)
        return rc;
    if (s->nkeys) {
        prefixes(&s->kv[0], in->nrows, &s->keys[0], s->bcls, s->bpre);
    } else {
        memset(s->bcls, CLS_VALUE, in->nrows);
        memset(s->bpre, 0, (size_t)in->nrows * sizeof *s->bpre);
    }
    return VG_OK;
}

static int append_batch(qctx *c, sort_state *s, uint32_t n)
{
    if ((uint64_t)s->nrows + n > UINT32_MAX - Q_BATCH_ROWS)
        return vg_err_set(c->err, VG_ELIMIT, "ORDER BY over more than 4 billion rows");
    for (uint32_t i = 0; i < n; i++)
        s->cand[i] = i;
    uint32_t done = 0;
    while (done < n) {
        if ((s->nrows >> PAGE_SHIFT) >= s->npages) {
            int rc = add_page(c, s);
            if (rc != VG_OK)
                return rc;
        }
        uint32_t room = Q_BATCH_ROWS - (s->nrows & PAGE_MASK);
        uint32_t take = n - done < room ? n - done : room;
        int rc = store_rows(c, s, s->nrows, s->cand + done, take);
        if (rc != VG_OK)
            return rc;
        s->nrows += take;
        done += take;
    }
    return VG_OK;
}

/* ---- top-K ---- */

/* Max-heap of store slots: the worst kept row on top. */
static void heap_sift_down(const sort_state *s, bool batch, uint32_t *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cmp_rows(s, batch, h[l], h[m]) > 0)
            m = l;
        if (r < n && cmp_rows(s, batch, h[r], h[m]) > 0)
            m = r;
        if (m == i)
            return;
        uint32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_sift_up(const sort_state *s, bool batch, uint32_t *h, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (cmp_rows(s, batch, h[i], h[p]) <= 0)
            return;
        uint32_t t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Copies every live row's strings to the other heap, then recycles the old one. */
static int compact_strings(qctx *c, sort_state *s)
{
    int old = s->hcur;
    s->hcur ^= 1;
    heap_reset(&s->heaps[s->hcur]);
    for (uint32_t h = 0; h < s->nheap; h++) {
        uint32_t slot = s->heap[h];
        page *p = &s->pages[slot >> PAGE_SHIFT];
        uint32_t off = slot & PAGE_MASK;
        for (uint32_t i = 0; i < s->nstore; i++) {
            qvec *v = &p->cols[i];
            if (v->type == QT_SELECTOR)
                v = &v->sel[0];
            if (v->type != QT_STRING || !v->v.s[off].len)
                continue;
            int rc = heap_str(c, s, v->v.s[off], &v->v.s[off]);
            if (rc != VG_OK)
                return rc;
        }
    }
    heap_reset(&s->heaps[old]);
    /* Live strings now fill the heap; the next compaction waits until garbage at
     * least doubles it, so copying stays linear in the bytes ever stored. */
    s->compact_at = 2 * s->heaps[s->hcur].used + (1u << 20);
    return VG_OK;
}

static int topk_replace(qctx *c, sort_state *s, uint32_t row)
{
    int rc = store_rows(c, s, s->heap[0], &row, 1);
    if (rc != VG_OK)
        return rc;
    heap_sift_down(s, false, s->heap, s->nheap, 0);
    if (s->heaps[s->hcur].used > s->compact_at)
        return compact_strings(c, s);
    return VG_OK;
}

static int topk_push(qctx *c, sort_state *s, uint32_t row)
{
    uint32_t slot = s->nrows;
    if ((slot >> PAGE_SHIFT) >= s->npages) {
        int rc = add_page(c, s);
        if (rc != VG_OK)
            return rc;
    }
    int rc = store_rows(c, s, slot, &row, 1);
    if (rc != VG_OK)
        return rc;
    s->nrows++;
    s->heap[s->nheap] = slot;
    heap_sift_up(s, false, s->heap, s->nheap++);
    return VG_OK;
}

/* Tells the scan below the time of the K-th best row, once there are K. */
static void publish_bound(sort_state *s)
{
    if (!s->bound || s->nheap < s->limit)
        return;
    uint32_t slot = s->heap[0];
    const qvec *v = &s->pages[slot >> PAGE_SHIFT].cols[s->keycol[0]];
    uint32_t off = slot & PAGE_MASK;
    s->bound->valid = qvec_is_valid(v, off);
    s->bound->time = v->v.i64[off];
}

/* Keeps the batch's rows [0, n) that belong among the best K. */
static int topk_batch(qctx *c, sort_state *s, uint32_t n)
{
    uint32_t K = (uint32_t)s->limit, r = 0;
    for (; r < n && s->nheap < K; r++) {
        int rc = topk_push(c, s, r);
        if (rc != VG_OK)
            return rc;
    }
    if (r == n)
        return VG_OK;
    /* Rows not strictly better than the worst kept row can never get in (a tie
     * loses: the kept row arrived first). Mostly decided on the prefix alone. */
    uint32_t nc = 0, top = s->heap[0];
    const page *tp = &s->pages[top >> PAGE_SHIFT];
    uint8_t tcls = tp->cls[top & PAGE_MASK];
    uint64_t tpre = tp->pre[top & PAGE_MASK];
    for (; r < n; r++) {
        int d = cmp_prefix(s->bcls[r], s->bpre[r], tcls, tpre);
        if (d == 0)
            d = cmp_batch_store(s, r, top);
        s->cand[nc] = r;
        nc += d < 0;
    }
    if (nc > K) { /* the batch's own best K, by a heap over its rows */
        /* From the end: for "the latest N" of time-ordered data the winners come
         * last, fill the heap first, and every other row costs one comparison.
         * Ties are broken by arrival, so the walk's direction cannot change the set. */
        uint32_t m = 0;
        for (uint32_t i = nc; i-- > 0;) {
            if (m < K) {
                s->lheap[m] = s->cand[i];
                heap_sift_up(s, true, s->lheap, m++);
            } else if (cmp_rows(s, true, s->cand[i], s->lheap[0]) < 0) {
                s->lheap[0] = s->cand[i];
                heap_sift_down(s, true, s->lheap, m, 0);
            }
        }
        memcpy(s->cand, s->lheap, (size_t)m * sizeof *s->cand);
        nc = m;
    }
    for (uint32_t i = 0; i < nc; i++) {
        if (cmp_batch_store(s, s->cand[i], s->heap[0]) >= 0)
            continue;
        int rc = topk_replace(c, s, s->cand[i]);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- full sort ---- */

static void msort(const sort_state *s, uint32_t *a, uint32_t *tmp, uint32_t n)
{
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++) {
            uint32_t x = a[i], j = i;
            for (; j > 0 && cmp_store(s, a[j - 1], x) > 0; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    uint32_t h = n / 2;
    msort(s, a, tmp, h);
    msort(s, a + h, tmp, n - h);
    if (cmp_store(s, a[h - 1], a[h]) <= 0)
        return; /* already in order: common for data that arrives sorted */
    memcpy(tmp, a, (size_t)h * sizeof *a);
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = cmp_store(s, a[j], tmp[i]) < 0 ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

/* Stable LSD radix sort of (key, idx) by key, 8 bits a pass; a pass over a byte
 * that is the same in every key is skipped (timestamps share their high bytes). */
static void radix_sort(uint64_t *key, uint32_t *idx, uint64_t *tkey, uint32_t *tidx, uint32_t n)
{
    for (int shift = 0; shift < 64; shift += 8) {
        uint32_t count[257] = {0};
        for (uint32_t i = 0; i < n; i++)
            count[((key[i] >> shift) & 0xff) + 1]++;
        bool constant = false;
        for (int b = 1; b <= 256; b++)
            if (count[b] == n)
                constant = true;
        if (constant)
            continue;
        for (int b = 1; b <= 256; b++)
            count[b] += count[b - 1];
        for (uint32_t i = 0; i < n; i++) {
            uint32_t d = count[(key[i] >> shift) & 0xff]++;
            tkey[d] = key[i];
            tidx[d] = idx[i];
        }
        memcpy(key, tkey, (size_t)n * sizeof *key);
        memcpy(idx, tidx, (size_t)n * sizeof *idx);
    }
}

static int full_sort(qctx *c, sort_state *s)
{
    uint32_t n = s->nrows;
    size_t nn = n ? n : 1;
    uint64_t *key = qctx_alloc(c, nn * sizeof *key), *tkey = qctx_alloc(c, nn * sizeof *tkey);
    uint32_t *idx = qctx_alloc(c, nn * sizeof *idx), *tidx = qctx_alloc(c, nn * sizeof *tidx);
    if (!key || !tkey || !idx || !tidx)
        return qop_err(c);
    /* Classes first (NULLs first, values, NULLs last), arrival order within each. */
    uint32_t start[4] = {0};
    for (uint32_t r = 0; r < n; r++)
        start[s->pages[r >> PAGE_SHIFT].cls[r & PAGE_MASK] + 1]++;
    start[2] += start[1];
    start[3] += start[2];
    uint32_t fill[3] = {start[0], start[1], start[2]};
    for (uint32_t r = 0; r < n; r++) {
        const page *p = &s->pages[r >> PAGE_SHIFT];
        uint32_t d = fill[p->cls[r & PAGE_MASK]]++;
        idx[d] = r;
        key[d] = p->pre[r & PAGE_MASK];
    }
    radix_sort(key + start[1], idx + start[1], tkey, tidx, start[2] - start[1]);
    /* Runs of equal (class, prefix) that the prefix alone does not order. */
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        uint8_t cls = s->pages[idx[i] >> PAGE_SHIFT].cls[idx[i] & PAGE_MASK];
        while (j < n && key[j] == key[i] && (j < start[cls + 1]))
            j++;
        bool decided = cls == CLS_VALUE ? s->exact && s->nkeys <= 1 : s->nkeys <= 1;
        if (j - i > 1 && !decided)
            msort(s, idx + i, tidx, j - i);
        i = j;
    }
    s->order = idx;
    s->norder = n;
    return VG_OK;
}

static int topk_finish(qctx *c, sort_state *s)
{
    uint32_t n = s->nheap;
    uint32_t *tmp = qctx_alloc(c, (n ? n : 1) * sizeof *tmp);
    if (!tmp)
        return qop_err(c);
    msort(s, s->heap, tmp, n);
    s->order = s->heap;
    s->norder = n;
    return VG_OK;
}

/* ---- operator ---- */

static int sort_open(qop *op, qctx *c)
{
    sort_state *s = op->state;
    uint32_t ns = s->nstore ? s->nstore : 1, nk = s->nkeys ? s->nkeys : 1;
    s->types = qctx_alloc(c, ns * sizeof *s->types);
    s->subtypes = qctx_alloc(c, ns * sizeof *s->subtypes);
    s->all = qctx_alloc(c, ns * sizeof *s->all);
    s->kv = qctx_alloc(c, nk * sizeof *s->kv);
    s->bpre = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->bpre);
    s->bcls = qctx_alloc(c, Q_BATCH_ROWS);
    s->cand = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->cand);
    s->lheap = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->lheap);
    uint32_t nc = s->nin ? s->nin : 1;
    s->bufs = qctx_alloc(c, nc * sizeof *s->bufs);
    s->out.cols = qctx_alloc(c, nc * sizeof *s->out.cols);
    if (s->topk)
        s->heap = qctx_alloc(c, (size_t)s->limit * sizeof *s->heap);
    if (!s->types || !s->subtypes || !s->all || !s->kv || !s->bpre || !s->bcls || !s->cand ||
        !s->lheap || !s->bufs || !s->out.cols || (s->topk && !s->heap))
        return qop_err(c);
    memset(s->bufs, 0, nc * sizeof *s->bufs);
    s->out.ncols = s->nin;
    return op->input->vt->open(op->input, c);
}

static int sort_drain(qop *op, qctx *c, sort_state *s)
{
    for (;;) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        qbatch *in;
        rc = op->input->vt->next(op->input, c, &in);
        if (rc != VG_OK)
            return rc;
        if (!in)
            break;
        if (in->nrows == 0)
            continue;
        rc = prepare_batch(c, s, in);
        if (rc == VG_OK)
            rc = s->topk ? topk_batch(c, s, in->nrows) : append_batch(c, s, in->nrows);
        if (rc != VG_OK)
            return rc;
        publish_bound(s);
        s->bseq += in->nrows;
    }
    s->drained = true;
    int rc = s->topk ? topk_finish(c, s) : full_sort(c, s);
    if (rc == VG_OK && s->limit && s->norder > s->limit)
        s->norder = (uint32_t)s->limit;
    return rc;
}

/* Gathers store rows rows[0..n) of one stored column (or a selector's sub-column:
 * sub = 0 / 1) into out. */
static int gather_store(qctx *c, sort_state *s, uint32_t col, int sub, const uint32_t *rows,
                        uint32_t n, qop_vecbuf *vb, qvec *out)
{
    const qvec *first = &s->pages[0].cols[col];
    if (sub >= 0)
        first = &first->sel[sub];
    memset(out, 0, sizeof *out);
    out->type = first->type;
    out->n = n;
    if (first->type == QT_SELECTOR) {
        qop_vecbuf *subs;
        qvec *sv = qop_vb_sel(c, vb, &subs);
        if (!sv)
            return qop_err(c);
        for (int k = 0; k < 2; k++) {
            int rc = gather_store(c, s, col, k, rows, n, &subs[k], &sv[k]);
            if (rc != VG_OK)
                return rc;
        }
        out->sel = sv;
        return VG_OK;
    }
    uint8_t *valid = qop_vb_valid(c, vb);
    void *data = first->type == QT_STRING ? (void *)qop_vb_strs(c, vb) : qop_vb_data(c, vb);
    if (!valid || !data)
        return qop_err(c);
    memset(valid, 0, (n + 7) / 8);
    uint32_t nulls = 0;
    size_t w = width_of(first->type);
    for (uint32_t i = 0; i < n; i++) {
        const qvec *v = &s->pages[rows[i] >> PAGE_SHIFT].cols[col];
        if (sub >= 0)
            v = &v->sel[sub];
        uint32_t off = rows[i] & PAGE_MASK;
        bool ok = qvec_is_valid(v, off);
        valid[i >> 3] |= (uint8_t)(ok << (i & 7));
        nulls += !ok;
        if (first->type != QT_NULL)
            memcpy((char *)data + i * w, (const char *)v->v.u64 + off * w, w);
    }
    out->valid = nulls ? valid : NULL;
    out->v.u64 = data;
    return VG_OK;
}

static int sort_next(qop *op, qctx *c, qbatch **out)
{
    sort_state *s = op->state;
    *out = NULL;
    if (!s->drained) {
        int rc = sort_drain(op, c, s);
        if (rc != VG_OK)
            return rc;
    }
    int rc = qctx_check_deadline(c);
    if (rc != VG_OK || s->pos >= s->norder)
        return rc;
    uint32_t n = s->norder - s->pos < Q_BATCH_ROWS ? s->norder - s->pos : Q_BATCH_ROWS;
    for (uint32_t i = 0; i < s->nin; i++) {
        rc = gather_store(c, s, i, -1, s->order + s->pos, n, &s->bufs[i], &s->out.cols[i]);
        if (rc != VG_OK)
            return rc;
    }
    s->pos += n;
    s->out.nrows = n;
    *out = &s->out;
    return VG_OK;
}

static void sort_close(qop *op, qctx *c)
{
    op->input->vt->close(op->input, c);
}

static const qop_vt sort_vt = {"Sort", sort_open, sort_next, sort_close};

qop *qop_sort(qctx *c, qop *input, qsort_key *keys, uint32_t nkeys, uint64_t limit)
{
    qop *op = qctx_alloc(c, sizeof *op);
    sort_state *s = qctx_alloc(c, sizeof *s);
    uint32_t *keycol = qctx_alloc(c, (nkeys ? nkeys : 1) * sizeof *keycol);
    if (!op || !s || !keycol)
        return NULL;
    memset(s, 0, sizeof *s);
    s->keys = keys;
    s->nkeys = nkeys;
    s->limit = limit;
    s->topk = limit > 0 && limit <= TOPK_MAX;
    s->nin = input->schema.n;
    s->nstore = s->nin;
    for (uint32_t k = 0; k < nkeys; k++) {
        const qexpr *x = keys[k].expr;
        keycol[k] = x->kind == QX_COLUMN && x->col < s->nin ? x->col : s->nstore++;
    }
    s->keycol = keycol;
    *op = (qop){.vt = &sort_vt, .schema = input->schema, .input = input, .state = s};
    const qexpr *k0 = nkeys ? keys[0].expr : NULL;
    if (s->topk && k0 && k0->kind == QX_COLUMN && k0->type == QT_TIMESTAMP) {
        qop_time_bound *b = qctx_alloc(c, sizeof *b);
        if (!b)
            return NULL;
        *b = (qop_time_bound){.desc = keys[0].desc};
        if (qop_bind_time_bound(input, k0->col, b))
            s->bound = b;
    }
    return op;
}
