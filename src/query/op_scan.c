/* query/op_scan.c: the Scan operator over the write buffer: chunk pruning, column
 * vectors straight from frozen chunks, time-range and tag-equality row filtering,
 * (tag set, time) deduplication, and the residual filter.
 *
 *   qop_scan(ctx, spec)   output: one field per spec->cols entry (catalog ids);
 *                         called while the planner holds the catalog read lock
 *   open   takes a buffer snapshot of the table, prunes chunks whose time range
 *          misses [time_min, time_max] or whose dictionary holds none of a tag_eq
 *          column's values (ctx->chunks_total / chunks_pruned), and, with dedup,
 *          works out where chunks overlap in time
 *   next   the next batch of at most Q_BATCH_ROWS rows; output order is unspecified
 *   close  releases the snapshot
 *
 * Vectors. A chunk column becomes a "view" vector over the whole chunk once per
 * chunk: time, numbers and bools point at the chunk's arrays, tags at its id array
 * with the dictionary converted once to qstr (dict_id = the address of the chunk's
 * buffer_dict, unique per (chunk, column) while the snapshot is held, and the same
 * id space for two scans of one table). The buffer's validity bitmaps have qvec's
 * layout (LSB first), so they are used as they are. A batch of consecutive rows is
 * a slice of the views, no copy (a bitmap is shifted into scratch when the slice
 * does not start on a byte); scattered rows are gathered into scratch reused from
 * batch to batch. String fields are the one copy: qstr cells made from the chunk's
 * offsets. A column a chunk lacks is all NULL.
 *
 * Row selection. A chunk whose times are sorted (data written in time order: one
 * cheap pass checks) and that has no tag filter turns the time range into a row
 * range by binary search. Otherwise rows are tested one by one: time in range, and
 * each tag_eq column's id marked in a per-chunk table of matching dictionary ids.
 *
 * Deduplication (dedup = true). A row is identified by (tag set, time); duplicates
 * merge with "later wins" per field, later = higher chunk seq, then higher row
 * index, and a NULL in the later row keeps the earlier value (the union of fields).
 * Most data has no duplicates, so the work is proportional to where they can be.
 * The buffer flags a chunk may_have_dups when it received a row not newer than its
 * series' newest earlier row, and records the least and greatest time of such rows
 * (dup_min, dup_max); every duplicate pair has its later row in a flagged chunk, at a
 * time in that range. With no flagged chunk among those read there is nothing to do
 * at all; otherwise:
 *
 *   1. Across chunks. A sweep over the surviving chunks' time ranges (clipped to the
 *      query's) finds the "overlap regions": times covered by two or more chunks and
 *      by a flagged chunk's [dup_min, dup_max]. Only rows whose time falls in one can
 *      have a duplicate in
 *      another chunk. These "suspect" rows go to a pool with a global series id
 *      (their tag strings interned across chunks; remembered per primary tag id, see
 *      2); all others stay in their chunk's stream. Data written in time order
 *      overlaps only where a chunk boundary splits one timestamp, so the pool stays
 *      small. In a sorted chunk the suspects are row ranges found by binary search.
 *   2. Within a flagged chunk. Only rows in its [dup_min, dup_max] can repeat each
 *      other; the rest are unique whatever their order (racing writers leave chunks
 *      unordered but with a narrow range). The "primary" tag is the one with the largest
 *      dictionary (a device rather than its site). If (primary id, time) pairs are
 *      unique, so are (tag set, time) pairs: one pass checking that each primary id's
 *      times strictly increase in row order proves the chunk free of duplicates. Only
 *      when it does not are full series ids made (the primary id if it determines the
 *      other tags in this chunk, else the interned tuple of tag ids), the rows sorted
 *      by (series, time, row), and runs of equal (series, time) merged.
 *   3. Pool rows become final once no chunk still to be read covers their time
 *      (suffix minima/maxima of the chunks' ranges in reading order); after each
 *      chunk the final ones are grouped by (global series, time) with a hash table,
 *      each group ordered by (chunk seq, row), merged the same way and emitted. The
 *      pool holds about one chunk boundary's worth of rows at a time.
 *
 * So a chunk in time order streams through as slices after one linear pass (are its
 * times sorted?), plus one more (uniqueness) if it is flagged. Filters on time and
 * tags run before the merge (every duplicate of a row shares them); the residual
 * filter runs after it, on merged rows.
 *
 * Top-K bound. A sort computing ORDER BY time [DESC] LIMIT K above this scan may bind
 * a qop_time_bound (op_int.h): the scan then reads chunks newest first (or oldest
 * first) and skips each chunk whose every row is strictly worse than the K-th best
 * time so far (strictly: a row tying on time may still win on a later key). With
 * dedup, a skipped chunk's rows could only have changed merged rows at its own times,
 * which are out of the top-K already, and the bound never gets worse.
 */
#include "op_int.h"

#include <stdlib.h>
#include <string.h>

/* A stretch of consecutive selected rows at least this long goes out as a slice
 * (a shorter batch, no copy) rather than gathered with its neighbours. */
#define MIN_SLICE_ROWS 256

/* ---- state ---- */

typedef struct scan_col {
    uint32_t id; /* catalog column id */
    catalog_type ctype;
    qvec view;    /* the whole current chunk (unused when missing) */
    bool missing; /* the current chunk has no vector for it: all NULL */
    qstr *dict;   /* current chunk's dictionary as qstr, reused */
    uint32_t dict_cap;
    qop_vecbuf buf; /* gather scratch */
    qvec nulls;     /* an all-NULL vector of Q_BATCH_ROWS rows, made once */
} scan_col;

/* A row to merge: the key orders and groups duplicates. */
typedef struct scan_ent {
    uint32_t series; /* local (chunk) or global (pool) series id */
    uint32_t cpos;   /* position of the chunk in the snapshot (seq order) */
    uint32_t row;
    int64_t time;
} scan_ent;

typedef enum plan_kind {
    PLAN_RANGES, /* consecutive rows ranges[0..nranges): slices */
    PLAN_SEL,    /* rows sel[0..nsel), gathered */
    PLAN_RUNS,   /* ents sorted, runs[0..nruns] bound runs of duplicates */
} plan_kind;

/* What the scan knows of a source before reading it: a buffer chunk, or a row group
 * of a Parquet file that is decoded into a chunk only when the scan reaches it. */
typedef struct scan_src {
    int64_t min_time;
    int64_t max_time;
    uint32_t nrows;
    bool flagged; /* may repeat a (tag set, time) of an earlier source ... */
    int64_t dup_min, dup_max; /* ... at a time in this range */
    const persist_source *ps; /* NULL without persistence (buffer snapshot) */
} scan_src;

typedef struct tag_match {
    uint8_t *ok; /* by dictionary id of the current chunk */
    uint32_t cap;
} tag_match;

typedef struct scan_state {
    qscan_spec spec;
    scan_col *cols;
    uint32_t *tags; /* every tag column of the table: the series key */
    uint32_t ntags;
    const buffer_column **ctags; /* ... those the current chunk has */
    uint32_t nctags;
    uint32_t primary;             /* index in ctags of the largest dictionary */
    uint32_t *codes;              /* one series' tag codes */
    tag_match *match;             /* one per spec.tag_eq entry */
    const buffer_column **eqcols; /* the current chunk's columns of spec.tag_eq */

    buffer_chunk **snap; /* by source; a file's is NULL until loaded */
    size_t nsnap;
    scan_src *src;
    persist_view *view;    /* with persistence; else snap is a buffer snapshot */
    persist_col *lcols;    /* the columns to decode from files */
    uint32_t nlcols;
    qop_prefetch *prefetch; /* decoding file sources ahead, or NULL */
    bool prefetch_tried;
    uint32_t *live; /* snapshot positions of unpruned chunks */
    uint32_t nlive;
    uint32_t max_rows;

    int64_t (*cover)[2]; /* overlap regions, sorted, disjoint, inclusive */
    uint32_t ncover;

    /* the chunk being emitted */
    uint32_t cur; /* index into live; == nlive: all chunks read */
    bool chunk_ready;
    plan_kind plan;
    uint32_t nsel;
    uint32_t *sel;  /* max_rows */
    uint32_t *lsid; /* max_rows: local series id of sel[k] */
    scan_ent *ents; /* max_rows, allocated when a chunk has duplicates */
    uint32_t *runs; /* max_rows + 1 */
    uint32_t nruns;
    uint32_t (*ranges)[2]; /* [first, end) row ranges */
    uint32_t nranges;
    uint32_t ranges_cap;
    uint32_t rng; /* PLAN_RANGES: the range being emitted */
    uint32_t pos; /* next row (or run, or row of the range) to emit */

    /* per-chunk series scratch, grown as needed */
    uint32_t *fd; /* functional-dependency check, (m - 1) * nslots */
    uint32_t fd_cap;
    int64_t *last; /* last time seen per local series */
    uint32_t last_cap;
    uint32_t nslots;
    char *key; /* series key bytes */
    uint32_t key_cap;
    uint32_t *gc_gsid; /* current chunk: global series by primary tag id ... */
    uint32_t *gc_row;  /* ... and the row it was computed from */
    uint32_t gc_cap;
    uint32_t gc_rcap;
    bool gc_ready;     /* the cache is reset for the current chunk */
    qop_strtab series; /* global series key -> id */

    /* the pool of suspect rows */
    scan_ent *pool;
    uint32_t npool;
    uint32_t pool_cap;
    int64_t *fut_min; /* [i]: lowest clipped time of live[i..], INT64_MAX past the end */
    int64_t *fut_max; /* [i]: highest */
    /* pool rows no chunk still to be read can duplicate, grouped and being emitted;
     * the buffers are reused from flush to flush */
    scan_ent *fl;
    uint32_t fl_cap;
    uint32_t *fl_runs;
    uint32_t fl_runs_cap;
    uint32_t nfl_runs;
    uint32_t fl_pos;
    scan_ent *fl_src;
    uint32_t fl_src_cap;
    uint32_t *fl_slots, *fl_next, *fl_head, *fl_tail;
    uint32_t fl_slots_cap, fl_next_cap, fl_head_cap, fl_tail_cap;

    qop_time_bound *bound; /* a top-K above reading the time column, or NULL */

    /* count_only: rows of the current source still to hand out without decoding */
    bool virt_active;
    uint32_t virt_left;
    void *zeros; /* Q_BATCH_ROWS zeroed cells of any type, the stand-in vectors */

    qbatch out;
    uint32_t *fsel; /* residual filter selection */
    qop_vecbuf *fbufs;
    qbatch fout;
} scan_state;

static qtype qtype_of(catalog_type t)
{
    switch (t) {
    case CATALOG_TIME: return QT_TIMESTAMP;
    case CATALOG_TAG:
    case CATALOG_STRING: return QT_STRING;
    case CATALOG_FLOAT: return QT_FLOAT;
    case CATALOG_INT: return QT_INT;
    case CATALOG_UINT: return QT_UINT;
    case CATALOG_BOOL: return QT_BOOL;
    }
    return QT_NULL;
}

static const buffer_column *chunk_col(const buffer_chunk *ch, uint32_t id, catalog_type t)
{
    if (id >= ch->ncols || !ch->cols[id].present || ch->cols[id].type != t)
        return NULL;
    return &ch->cols[id];
}

/* ---- open: snapshot, pruning, overlap regions ---- */

/* Marks the dictionary ids of ch that equal one of te's values; false when none do. */
static int match_tags(qctx *c, tag_match *m, const qscan_tag_eq *te, const buffer_chunk *ch,
                      bool *any)
{
    *any = false;
    const buffer_column *col = chunk_col(ch, te->col_id, CATALOG_TAG);
    if (!col)
        return VG_OK; /* all NULL: equals nothing */
    const buffer_dict *d = col->dict;
    int rc = qop_grow(c, (void **)&m->ok, &m->cap, d->n ? d->n : 1, 1);
    if (rc != VG_OK)
        return rc;
    memset(m->ok, 0, d->n);
    for (uint32_t i = 0; i < te->nvalues; i++) {
        void *v = vg_map_get(&d->index, te->values[i].p, te->values[i].len);
        if (v) {
            m->ok[(uintptr_t)v - 1] = 1;
            *any = true;
        }
    }
    return VG_OK;
}

static bool src_pruned_by_time(const scan_state *s, const scan_src *src)
{
    return src->nrows == 0 || src->max_time < s->spec.time_min || src->min_time > s->spec.time_max;
}

/* A file source not yet read: its statistics must admit one of te's values. */
static bool file_may_match(const scan_state *s, const scan_src *src, const qscan_tag_eq *te)
{
    const char *name = s->spec.table->cols[te->col_id]->name;
    for (uint32_t i = 0; i < te->nvalues; i++)
        if (persist_source_may_hold(src->ps, name, te->values[i].p, te->values[i].len))
            return true;
    return false;
}

static int prune_chunks(qctx *c, scan_state *s)
{
    s->live = qctx_alloc(c, (s->nsnap ? s->nsnap : 1) * sizeof *s->live);
    if (!s->live)
        return qop_err(c);
    for (size_t i = 0; i < s->nsnap; i++) {
        buffer_chunk *ch = s->snap[i];
        const scan_src *src = &s->src[i];
        c->chunks_total++;
        bool keep = !src_pruned_by_time(s, src);
        for (uint32_t t = 0; keep && t < s->spec.ntag_eq; t++) {
            if (!ch) {
                keep = file_may_match(s, src, &s->spec.tag_eq[t]);
                continue;
            }
            int rc = match_tags(c, &s->match[t], &s->spec.tag_eq[t], ch, &keep);
            if (rc != VG_OK)
                return rc;
        }
        if (!keep) {
            c->chunks_pruned++;
            continue;
        }
        s->live[s->nlive++] = (uint32_t)i;
        if (src->nrows > s->max_rows)
            s->max_rows = src->nrows;
    }
    return VG_OK;
}

static int pair_cmp_asc(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static int pair_cmp_desc(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] > y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* With a top-K bound: chunks in the order that fills the top-K fastest (newest
 * first for DESC), so the bound soon excludes most of the rest. */
static int order_for_bound(qctx *c, scan_state *s)
{
    int64_t(*key)[2] = qctx_alloc(c, (s->nlive ? s->nlive : 1) * sizeof *key);
    if (!key)
        return qop_err(c);
    for (uint32_t i = 0; i < s->nlive; i++) {
        const scan_src *src = &s->src[s->live[i]];
        key[i][0] = s->bound->desc ? src->max_time : src->min_time;
        key[i][1] = s->live[i];
    }
    qsort(key, s->nlive, sizeof *key, s->bound->desc ? pair_cmp_desc : pair_cmp_asc);
    for (uint32_t i = 0; i < s->nlive; i++)
        s->live[i] = (uint32_t)key[i][1];
    return VG_OK;
}

/* No row of the chunk can enter the top-K any more. */
static bool beaten_by_bound(const scan_state *s, const scan_src *src)
{
    const qop_time_bound *b = s->bound;
    if (!b || !b->valid)
        return false;
    return b->desc ? src->max_time < b->time : src->min_time > b->time;
}

static void clip_range(const scan_state *s, int64_t min, int64_t max, int64_t *lo, int64_t *hi)
{
    *lo = min > s->spec.time_min ? min : s->spec.time_min;
    *hi = max < s->spec.time_max ? max : s->spec.time_max;
}

static void clip(const scan_state *s, const buffer_chunk *ch, int64_t *lo, int64_t *hi)
{
    clip_range(s, ch->min_time, ch->max_time, lo, hi);
}

typedef struct sweep_ev {
    int64_t t;
    int kind; /* 0 = start, 1 = end: starts first at equal t, so touching ranges overlap */
    int what; /* 0 = a source's time range, 1 = the range of its possible duplicates */
} sweep_ev;

static int ev_cmp(const void *a, const void *b)
{
    const sweep_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->kind - y->kind;
}

/* Times where a flagged source's possible duplicates meet another source, as sorted
 * disjoint inclusive ranges. The buffer flags the chunk that receives a row not newer
 * than its series' newest earlier row, and records the times of such rows, so every
 * duplicate pair has its later row in a flagged chunk at a time in that chunk's
 * [dup_min, dup_max]: unflagged chunks overlapping each other cannot share a
 * (tag set, time), nor can a flagged one outside that range. With racing writers
 * the flagged rows are a few out-of-order ones, and the regions stay narrow. */
static int find_overlaps(qctx *c, scan_state *s)
{
    uint32_t nflagged = 0;
    for (uint32_t i = 0; i < s->nlive; i++)
        nflagged += s->src[s->live[i]].flagged;
    c->chunks_flagged += nflagged;
    if (s->nlive < 2 || nflagged == 0)
        return VG_OK;
    uint32_t nev = 0;
    sweep_ev *ev = qctx_alloc(c, ((size_t)s->nlive + nflagged) * 2 * sizeof *ev);
    s->cover = qctx_alloc(c, ((size_t)s->nlive + nflagged) * sizeof *s->cover);
    if (!ev || !s->cover)
        return qop_err(c);
    for (uint32_t i = 0; i < s->nlive; i++) {
        int64_t lo, hi;
        const scan_src *src = &s->src[s->live[i]];
        clip_range(s, src->min_time, src->max_time, &lo, &hi);
        ev[nev++] = (sweep_ev){lo, 0, 0};
        ev[nev++] = (sweep_ev){hi, 1, 0};
        if (!src->flagged)
            continue;
        clip_range(s, src->dup_min, src->dup_max, &lo, &hi);
        if (lo > hi)
            continue; /* none of its possible duplicates is in the query's range */
        ev[nev++] = (sweep_ev){lo, 0, 1};
        ev[nev++] = (sweep_ev){hi, 1, 1};
    }
    qsort(ev, nev, sizeof *ev, ev_cmp);
    /* In a region while two sources, and one's possible duplicates, cover the time:
     * that can start only at a start event and end only at an end event. */
    int depth[2] = {0, 0};
    int64_t begin = 0;
    for (uint32_t i = 0; i < nev; i++) {
        bool was = depth[0] >= 2 && depth[1] >= 1;
        depth[ev[i].what] += ev[i].kind == 0 ? 1 : -1;
        bool is = depth[0] >= 2 && depth[1] >= 1;
        if (!was && is) {
            begin = ev[i].t;
        } else if (was && !is) {
            s->cover[s->ncover][0] = begin;
            s->cover[s->ncover][1] = ev[i].t;
            s->ncover++;
        }
    }
    return VG_OK;
}

/* Suffix ranges of the chunks in reading order, for flush_pool. */
static int future_ranges(qctx *c, scan_state *s)
{
    s->fut_min = qctx_alloc(c, ((size_t)s->nlive + 1) * sizeof *s->fut_min);
    s->fut_max = qctx_alloc(c, ((size_t)s->nlive + 1) * sizeof *s->fut_max);
    if (!s->fut_min || !s->fut_max)
        return qop_err(c);
    s->fut_min[s->nlive] = INT64_MAX;
    s->fut_max[s->nlive] = INT64_MIN;
    for (uint32_t i = s->nlive; i-- > 0;) {
        int64_t lo, hi;
        clip_range(s, s->src[s->live[i]].min_time, s->src[s->live[i]].max_time, &lo, &hi);
        s->fut_min[i] = lo < s->fut_min[i + 1] ? lo : s->fut_min[i + 1];
        s->fut_max[i] = hi > s->fut_max[i + 1] ? hi : s->fut_max[i + 1];
    }
    return VG_OK;
}

static int scan_alloc_scratch(qctx *c, scan_state *s)
{
    uint32_t n = s->max_rows ? s->max_rows : 1;
    s->sel = qctx_alloc(c, (size_t)n * sizeof *s->sel);
    s->lsid = qctx_alloc(c, (size_t)n * sizeof *s->lsid);
    uint32_t nc = s->spec.ncols ? s->spec.ncols : 1;
    s->out.cols = qctx_alloc(c, nc * sizeof *s->out.cols);
    s->fout.cols = qctx_alloc(c, nc * sizeof *s->fout.cols);
    s->fbufs = qctx_alloc(c, nc * sizeof *s->fbufs);
    s->fsel = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->fsel);
    if (!s->sel || !s->lsid || !s->out.cols || !s->fout.cols || !s->fbufs || !s->fsel)
        return qop_err(c);
    memset(s->fbufs, 0, nc * sizeof *s->fbufs);
    s->out.ncols = s->fout.ncols = s->spec.ncols;
    return VG_OK;
}

/* The sources of the table: through persist (files and buffer chunks, consistent
 * with each other) or, without persistence, a buffer snapshot. */
static int take_sources(qctx *c, scan_state *s)
{
    if (c->persist) {
        int rc = persist_view_open(c->persist, s->spec.db_id, s->spec.table_id, s->spec.time_min,
                                   s->spec.time_max, &s->view, c->err);
        if (rc != VG_OK)
            return rc;
        size_t n = s->view->n ? s->view->n : 1;
        s->nsnap = s->view->n;
        s->snap = qctx_alloc(c, n * sizeof *s->snap);
        s->src = qctx_alloc(c, n * sizeof *s->src);
        if (!s->snap || !s->src)
            return qop_err(c);
        for (size_t i = 0; i < s->nsnap; i++) {
            const persist_source *ps = &s->view->src[i];
            s->snap[i] = ps->chunk; /* the view holds the reference */
            s->src[i] = (scan_src){ps->min_time, ps->max_time, ps->nrows,
                                   ps->flagged,  ps->dup_min,  ps->dup_max, ps};
        }
        c->chunks_total += s->view->files_pruned;
        c->chunks_pruned += s->view->files_pruned;
        return VG_OK;
    }
    int rc = buffer_snapshot(c->buf, s->spec.db_id, s->spec.table_id, &s->snap, &s->nsnap, c->err);
    if (rc != VG_OK)
        return rc;
    s->src = qctx_alloc(c, (s->nsnap ? s->nsnap : 1) * sizeof *s->src);
    if (!s->src)
        return qop_err(c);
    for (size_t i = 0; i < s->nsnap; i++) {
        const buffer_chunk *ch = s->snap[i];
        s->src[i] = (scan_src){ch->min_time,      ch->max_time, ch->nrows, ch->may_have_dups,
                               ch->dup_min,       ch->dup_max,  NULL};
    }
    return VG_OK;
}

/* Sources are decoded ahead on a second thread when the scan will read every live
 * one in order: not for count(*) (it decodes none it can count from statistics) nor
 * under a top-K bound (it skips sources and reorders them). The scan's thread decodes
 * too while it waits (prefetch.c): four ahead keeps both threads busy while the scan
 * works on one; two (as many as the helper alone needs) when four decoded row groups
 * would pass PREFETCH_BYTES (a wide SELECT *), so memory stays a few row groups. */
#define PREFETCH_AHEAD 4
#define PREFETCH_BYTES ((uint64_t)128 << 20)

static void start_prefetch(scan_state *s)
{
    s->prefetch_tried = true;
    if (!s->view || s->bound || s->spec.count_only)
        return;
    qop_load_args a = {.db_id = s->spec.db_id,
                       .table_id = s->spec.table_id,
                       .ncols_table = s->spec.table->ncols,
                       .cols = s->lcols,
                       .ncols = s->nlcols};
    uint64_t group = (uint64_t)s->max_rows * (s->nlcols + 1) * 9; /* ~ values and bits */
    uint32_t ahead = group * PREFETCH_AHEAD <= PREFETCH_BYTES ? PREFETCH_AHEAD : 2;
    s->prefetch = qop_prefetch_start(s->view->src, s->live, s->nlive, &a, ahead);
}

/* Decodes the current file source when the scan reaches it. */
static int load_source(qctx *c, scan_state *s, uint32_t cpos)
{
    if (s->snap[cpos])
        return VG_OK;
    if (!s->prefetch_tried)
        start_prefetch(s);
    if (s->prefetch)
        return qop_prefetch_take(s->prefetch, s->cur, &s->snap[cpos], c->err);
    return persist_source_load(s->src[cpos].ps, s->spec.db_id, s->spec.table_id,
                               s->spec.table->ncols, s->lcols, s->nlcols, &s->snap[cpos], c->err);
}

/* A decoded file source gives its rows back once read, unless pooled rows may still
 * point into it (it meets an overlap region): then they stay until the scan closes. Its tag
 * dictionaries stay either way: their addresses are dictionary ids downstream. */
static void cover_range(const scan_state *s, int64_t lo, int64_t hi, uint32_t *first,
                        uint32_t *count);

static void done_with_source(scan_state *s, uint32_t cpos)
{
    if (!s->view || !s->src[cpos].ps || s->src[cpos].ps->chunk || !s->snap[cpos])
        return;
    /* only rows inside an overlap region are pooled: a source outside all of them
     * has none there */
    uint32_t first = 0, count = 0;
    if (s->ncover)
        cover_range(s, s->src[cpos].min_time, s->src[cpos].max_time, &first, &count);
    if (count == 0)
        buffer_chunk_shed(s->snap[cpos]);
}

static int scan_open(qop *op, qctx *c)
{
    scan_state *s = op->state;
    int rc = take_sources(c, s);
    if (rc != VG_OK)
        return rc;
    rc = prune_chunks(c, s);
    if (rc == VG_OK && s->spec.dedup)
        rc = find_overlaps(c, s);
    if (rc == VG_OK && s->bound)
        rc = order_for_bound(c, s);
    if (rc == VG_OK)
        rc = future_ranges(c, s);
    if (rc == VG_OK)
        rc = scan_alloc_scratch(c, s);
    return rc;
}

static void scan_close(qop *op, qctx *c)
{
    scan_state *s = op->state;
    qop_prefetch_stop(s->prefetch);
    s->prefetch = NULL;
    if (s->view) {
        for (size_t i = 0; i < s->nsnap; i++)
            if (s->snap && s->snap[i] && !s->view->src[i].chunk)
                buffer_chunk_unref(s->snap[i]);
        persist_view_close(s->view);
        s->view = NULL;
    } else if (s->snap) {
        buffer_snapshot_release(s->snap, s->nsnap);
    }
    s->snap = NULL;
    s->nsnap = 0;
}

/* ---- per-chunk column views ---- */

static int make_view(qctx *c, scan_col *sc, const buffer_chunk *ch)
{
    const buffer_column *col = chunk_col(ch, sc->id, sc->ctype);
    qvec *v = &sc->view;
    memset(v, 0, sizeof *v);
    v->type = qtype_of(sc->ctype);
    v->n = ch->nrows;
    sc->missing = col == NULL;
    if (!col)
        return VG_OK;
    v->valid = sc->ctype == CATALOG_TIME ? NULL : col->valid;
    switch (sc->ctype) {
    case CATALOG_TIME:
    case CATALOG_INT: v->v.i64 = col->v.i64; break;
    case CATALOG_UINT: v->v.u64 = col->v.u64; break;
    case CATALOG_FLOAT: v->v.f64 = col->v.f64; break;
    case CATALOG_BOOL: v->v.b = col->v.b; break;
    case CATALOG_STRING: break; /* cells are made per batch from the offsets */
    case CATALOG_TAG: {
        const buffer_dict *d = col->dict;
        int rc = qop_grow(c, (void **)&sc->dict, &sc->dict_cap, d->n ? d->n : 1, sizeof(qstr));
        if (rc != VG_OK)
            return rc;
        for (uint32_t i = 0; i < d->n; i++)
            sc->dict[i] = (qstr){d->strs[i], d->lens[i]};
        v->ids = col->v.ids;
        v->dict = sc->dict;
        v->dict_n = d->n;
        v->dict_id = (uint64_t)(uintptr_t)d;
        break;
    }
    }
    return VG_OK;
}

static int null_vec(qctx *c, scan_col *sc, uint32_t n, qvec *out)
{
    if (!sc->nulls.valid) {
        qvec *v = &sc->nulls;
        v->type = qtype_of(sc->ctype);
        v->valid = qctx_alloc(c, Q_BATCH_ROWS / 8);
        void *data = qctx_alloc(c, (size_t)Q_BATCH_ROWS * sizeof(qstr));
        if (!v->valid || !data)
            return qop_err(c);
        memset(v->valid, 0, Q_BATCH_ROWS / 8);
        memset(data, 0, (size_t)Q_BATCH_ROWS * sizeof(qstr));
        if (v->type == QT_STRING)
            v->v.s = data;
        else
            v->v.u64 = data;
    }
    *out = sc->nulls;
    out->n = n;
    return VG_OK;
}

static qstr str_cell(const buffer_column *col, uint32_t row)
{
    return (qstr){col->str + col->v.off[row], col->v.off[row + 1] - col->v.off[row]};
}

/* String field cells for rows (or the range [start, start + n) when rows is NULL). */
static int string_vec(qctx *c, scan_col *sc, const buffer_chunk *ch, const uint32_t *rows,
                      uint32_t start, uint32_t n, qvec *out)
{
    const buffer_column *col = chunk_col(ch, sc->id, CATALOG_STRING);
    qstr *s = qop_vb_strs(c, &sc->buf);
    uint8_t *valid = qop_vb_valid(c, &sc->buf);
    if (!s || !valid)
        return qop_err(c);
    memset(out, 0, sizeof *out);
    out->type = QT_STRING;
    out->n = n;
    out->v.s = s;
    memset(valid, 0, (n + 7) / 8);
    uint32_t nulls = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rows ? rows[i] : start + i;
        s[i] = str_cell(col, r);
        uint32_t bit = (col->valid[r >> 3] >> (r & 7)) & 1;
        valid[i >> 3] |= (uint8_t)(bit << (i & 7));
        nulls += bit ^ 1;
    }
    out->valid = nulls ? valid : NULL;
    return VG_OK;
}

/* Bits [start, start + n) of a bitmap of nbits bits, shifted to bit 0 of out. */
static void shift_bits(const uint8_t *in, uint32_t nbits, uint32_t start, uint32_t n, uint8_t *out)
{
    uint32_t byte = start >> 3, sh = start & 7, nbytes = (nbits + 7) / 8;
    for (uint32_t j = 0; j < (n + 7) / 8; j++) {
        uint32_t lo = in[byte + j];
        uint32_t hi = byte + j + 1 < nbytes ? in[byte + j + 1] : 0;
        out[j] = (uint8_t)((lo >> sh) | (hi << (8 - sh)));
    }
}

/* out = rows [start, start + n) of the view, pointing into the chunk (the bitmap is
 * copied when start is not on a byte boundary). */
static int slice_view(qctx *c, scan_col *sc, uint32_t start, uint32_t n, qvec *out)
{
    const qvec *view = &sc->view;
    *out = *view;
    out->n = n;
    switch (view->type) {
    case QT_BOOL: out->v.b = view->v.b + start; break;
    case QT_STRING: out->ids = view->ids + start; break;
    default: out->v.u64 = view->v.u64 + start; break;
    }
    if (view->valid) {
        if (start % 8 == 0) {
            out->valid = view->valid + start / 8;
        } else {
            out->valid = qop_vb_valid(c, &sc->buf);
            if (!out->valid)
                return qop_err(c);
            shift_bits(view->valid, view->n, start, n, out->valid);
        }
        if (qop_all_valid(out->valid, n))
            out->valid = NULL;
    }
    return VG_OK;
}

static int emit_range(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t start, uint32_t n)
{
    for (uint32_t i = 0; i < s->spec.ncols; i++) {
        scan_col *sc = &s->cols[i];
        qvec *o = &s->out.cols[i];
        int rc = VG_OK;
        if (sc->missing)
            rc = null_vec(c, sc, n, o);
        else if (sc->ctype == CATALOG_STRING)
            rc = string_vec(c, sc, ch, NULL, start, n, o);
        else
            rc = slice_view(c, sc, start, n, o);
        if (rc != VG_OK)
            return rc;
    }
    s->out.nrows = n;
    return VG_OK;
}

static int emit_rows(qctx *c, scan_state *s, const buffer_chunk *ch, const uint32_t *rows,
                     uint32_t n)
{
    for (uint32_t i = 0; i < s->spec.ncols; i++) {
        scan_col *sc = &s->cols[i];
        qvec *o = &s->out.cols[i];
        int rc;
        if (sc->missing)
            rc = null_vec(c, sc, n, o);
        else if (sc->ctype == CATALOG_STRING)
            rc = string_vec(c, sc, ch, rows, 0, n, o);
        else
            rc = qop_gather(c, &sc->buf, &sc->view, rows, n, o);
        if (rc != VG_OK)
            return rc;
    }
    s->out.nrows = n;
    return VG_OK;
}

/* ---- merging runs of duplicates ---- */

/* The entry of a run whose chunk has a value for column sc: the latest such one. */
static const scan_ent *latest_valid(const scan_state *s, const scan_col *sc, const scan_ent *e,
                                    uint32_t n, const buffer_column **colp)
{
    for (uint32_t k = n; k-- > 0;) {
        const buffer_column *col = chunk_col(s->snap[e[k].cpos], sc->id, sc->ctype);
        if (col && buffer_is_valid(col, e[k].row)) {
            *colp = col;
            return &e[k];
        }
    }
    return NULL;
}

/* Writes the merged value of one run into row i of out (whose buffers are sc's). */
static void merge_cell(const scan_state *s, const scan_col *sc, const scan_ent *e, uint32_t n,
                       uint32_t i, qvec *out, uint32_t *nulls)
{
    const buffer_column *col = NULL;
    const scan_ent *w = latest_valid(s, sc, e, n, &col);
    if (!w) {
        out->valid[i >> 3] &= (uint8_t) ~(1u << (i & 7));
        ++*nulls;
        if (sc->ctype == CATALOG_TAG || sc->ctype == CATALOG_STRING)
            out->v.s[i] = (qstr){"", 0};
        else if (sc->ctype == CATALOG_BOOL)
            out->v.b[i] = 0;
        else
            out->v.u64[i] = 0;
        return;
    }
    switch (sc->ctype) {
    case CATALOG_TAG: {
        uint32_t id = col->v.ids[w->row];
        out->v.s[i] = (qstr){col->dict->strs[id], col->dict->lens[id]};
        break;
    }
    case CATALOG_STRING: out->v.s[i] = str_cell(col, w->row); break;
    case CATALOG_BOOL: out->v.b[i] = col->v.b[w->row]; break;
    default: out->v.u64[i] = col->v.u64[w->row]; break;
    }
}

/* Emits runs [r0, r1) of ents bounded by runs[]: one merged row per run. Tags come
 * out as plain strings (a pool run spans chunks, hence dictionaries). */
static int emit_runs(qctx *c, scan_state *s, const scan_ent *ents, const uint32_t *runs,
                     uint32_t r0, uint32_t r1)
{
    uint32_t n = r1 - r0;
    for (uint32_t i = 0; i < s->spec.ncols; i++) {
        scan_col *sc = &s->cols[i];
        qvec *o = &s->out.cols[i];
        memset(o, 0, sizeof *o);
        o->type = qtype_of(sc->ctype);
        o->n = n;
        o->valid = qop_vb_valid(c, &sc->buf);
        if (o->type == QT_STRING)
            o->v.s = qop_vb_strs(c, &sc->buf);
        else
            o->v.u64 = qop_vb_data(c, &sc->buf);
        if (!o->valid || !o->v.u64)
            return qop_err(c);
        memset(o->valid, 0xff, (n + 7) / 8);
        uint32_t nulls = 0;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t a = runs[r0 + k], b = runs[r0 + k + 1];
            merge_cell(s, sc, &ents[a], b - a, k, o, &nulls);
        }
        if (!nulls)
            o->valid = NULL;
    }
    s->out.nrows = n;
    return VG_OK;
}

static int ent_cmp(const void *a, const void *b)
{
    const scan_ent *x = a, *y = b;
    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->cpos != y->cpos)
        return x->cpos < y->cpos ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Sorts ents and records where each run of equal (series, time) starts; returns
 * the number of runs (runs[nruns] = n). */
static uint32_t sort_runs(scan_ent *ents, uint32_t n, uint32_t *runs)
{
    qsort(ents, n, sizeof *ents, ent_cmp);
    uint32_t nr = 0;
    for (uint32_t i = 0; i < n; i++)
        if (i == 0 || ents[i].series != ents[i - 1].series || ents[i].time != ents[i - 1].time)
            runs[nr++] = i;
    runs[nr] = n;
    return nr;
}

/* Groups fl_src[0..n) into runs of equal (series, time) with a hash table, O(n),
 * into fl / fl_runs, each run ordered by (chunk seq, row) as emit_runs wants. */
static int group_flush(qctx *c, scan_state *s, uint32_t n)
{
    uint32_t cap = 16;
    while (cap < 2 * (uint64_t)n)
        cap *= 2;
    int rc = qop_grow(c, (void **)&s->fl_slots, &s->fl_slots_cap, cap, sizeof(uint32_t));
    if (rc == VG_OK)
        rc = qop_grow(c, (void **)&s->fl_next, &s->fl_next_cap, n, sizeof(uint32_t));
    if (rc == VG_OK)
        rc = qop_grow(c, (void **)&s->fl_head, &s->fl_head_cap, n, sizeof(uint32_t));
    if (rc == VG_OK)
        rc = qop_grow(c, (void **)&s->fl_tail, &s->fl_tail_cap, n, sizeof(uint32_t));
    if (rc == VG_OK)
        rc = qop_grow(c, (void **)&s->fl, &s->fl_cap, n, sizeof *s->fl);
    if (rc == VG_OK)
        rc = qop_grow(c, (void **)&s->fl_runs, &s->fl_runs_cap, n + 1, sizeof *s->fl_runs);
    if (rc != VG_OK)
        return rc;
    uint32_t *slots = s->fl_slots, *next = s->fl_next, *head = s->fl_head, *tail = s->fl_tail;
    const scan_ent *src = s->fl_src;
    memset(slots, 0, (size_t)cap * sizeof *slots);
    uint32_t nr = 0;
    for (uint32_t i = 0; i < n; i++) {
        const scan_ent *e = &src[i];
        uint64_t h = qop_mix64((uint64_t)e->time ^ ((uint64_t)e->series * 0x9e3779b97f4a7c15ULL));
        uint32_t j = (uint32_t)h & (cap - 1);
        for (; slots[j]; j = (j + 1) & (cap - 1)) {
            const scan_ent *f = &src[head[slots[j] - 1]];
            if (f->series == e->series && f->time == e->time)
                break;
        }
        next[i] = UINT32_MAX;
        if (slots[j]) {
            uint32_t r = slots[j] - 1;
            next[tail[r]] = i;
            tail[r] = i;
        } else {
            head[nr] = tail[nr] = i;
            slots[j] = ++nr;
        }
    }
    uint32_t k = 0;
    for (uint32_t r = 0; r < nr; r++) {
        s->fl_runs[r] = k;
        for (uint32_t i = head[r]; i != UINT32_MAX; i = next[i]) {
            /* Oldest first; chunks read out of seq order (top-K) need the sort. */
            uint32_t j = k++;
            for (; j > s->fl_runs[r] &&
                   (s->fl[j - 1].cpos > src[i].cpos ||
                    (s->fl[j - 1].cpos == src[i].cpos && s->fl[j - 1].row > src[i].row));
                 j--)
                s->fl[j] = s->fl[j - 1];
            s->fl[j] = src[i];
        }
    }
    s->fl_runs[nr] = n;
    s->nfl_runs = nr;
    s->fl_pos = 0;
    return VG_OK;
}

/* Moves the pool rows whose time no chunk still to be read (live[next..]) covers out
 * of the pool and groups them for emission: the pool holds only rows that may still
 * meet a duplicate, about one chunk boundary's worth for data in time order. */
static int flush_pool(qctx *c, scan_state *s, uint32_t next)
{
    int64_t lo = s->fut_min[next], hi = s->fut_max[next];
    uint32_t keep = 0, nf = 0;
    for (uint32_t i = 0; i < s->npool; i++)
        nf += s->pool[i].time < lo || s->pool[i].time > hi;
    if (nf == 0)
        return VG_OK;
    int rc = qop_grow(c, (void **)&s->fl_src, &s->fl_src_cap, nf, sizeof *s->fl_src);
    if (rc != VG_OK)
        return rc;
    nf = 0;
    for (uint32_t i = 0; i < s->npool; i++) {
        const scan_ent e = s->pool[i];
        if (e.time < lo || e.time > hi)
            s->fl_src[nf++] = e;
        else
            s->pool[keep++] = e;
    }
    s->npool = keep;
    return group_flush(c, s, nf);
}

/* ---- series ids ---- */

static inline uint32_t tag_code(const buffer_column *col, uint32_t row)
{
    return buffer_is_valid(col, row) ? col->v.ids[row] : UINT32_MAX;
}

/* The tag columns this chunk has, and the one with the largest dictionary (the
 * "primary": a device id rather than its site). */
static void chunk_tags(scan_state *s, const buffer_chunk *ch)
{
    s->nctags = 0;
    s->primary = 0;
    for (uint32_t j = 0; j < s->ntags; j++) {
        const buffer_column *col = chunk_col(ch, s->tags[j], CATALOG_TAG);
        if (!col)
            continue;
        if (s->nctags == 0 || col->dict->n > s->ctags[s->primary]->dict->n)
            s->primary = s->nctags;
        s->ctags[s->nctags++] = col;
    }
}

/* lsid = the primary tag's id (its dictionary size for NULL). Rows whose
 * (primary, time) pairs are unique have unique (tag set, time) too, so this is
 * enough to prove a chunk free of duplicates. */
static int series_by_primary_only(qctx *c, scan_state *s)
{
    if (s->nctags == 0) {
        memset(s->lsid, 0, (size_t)s->nsel * sizeof *s->lsid);
        s->nslots = 1;
        return VG_OK;
    }
    const buffer_column *pc = s->ctags[s->primary];
    uint32_t null_slot = pc->dict->n;
    s->nslots = null_slot + 1;
    if (pc->valid && !qop_all_valid(pc->valid, s->nsel ? s->sel[s->nsel - 1] + 1 : 0)) {
        for (uint32_t k = 0; k < s->nsel; k++)
            s->lsid[k] = buffer_is_valid(pc, s->sel[k]) ? pc->v.ids[s->sel[k]] : null_slot;
    } else {
        for (uint32_t k = 0; k < s->nsel; k++)
            s->lsid[k] = pc->v.ids[s->sel[k]];
    }
    return VG_OK;
}

#define FD_UNSEEN 0xfefefefeu /* what memset(0xfe) writes */

/* Keeps lsid = the primary's id when it determines the other tags in this chunk
 * (device -> site) and sets *ok; *ok = 0 as soon as a row shows it does not. */
static int check_primary_determines(qctx *c, scan_state *s, uint32_t *ok)
{
    uint32_t m = s->nctags, p = s->primary;
    *ok = 1;
    if (m < 2)
        return VG_OK;
    uint64_t need = (uint64_t)(m - 1) * s->nslots;
    if (need > UINT32_MAX)
        return vg_err_set(c->err, VG_ELIMIT, "too many series in one buffer chunk");
    int rc = qop_grow(c, (void **)&s->fd, &s->fd_cap, (uint32_t)need, sizeof *s->fd);
    if (rc != VG_OK)
        return rc;
    memset(s->fd, 0xfe, need * sizeof *s->fd);
    for (uint32_t k = 0; k < s->nsel; k++) {
        uint32_t *f = s->fd + s->lsid[k]; /* the slot's entry in each other tag's table */
        for (uint32_t j = 0; j < m; j++) {
            if (j == p)
                continue;
            uint32_t code = tag_code(s->ctags[j], s->sel[k]);
            if (*f == FD_UNSEEN) {
                *f = code;
            } else if (*f != code) {
                *ok = 0;
                return VG_OK;
            }
            f += s->nslots;
        }
    }
    return VG_OK;
}

/* Local series ids by interning the tuple of tag codes: the general case. */
static int series_by_tuple(qctx *c, scan_state *s)
{
    qop_strtab t = {0};
    uint32_t *codes = s->codes;
    for (uint32_t k = 0; k < s->nsel; k++) {
        for (uint32_t j = 0; j < s->nctags; j++)
            codes[j] = tag_code(s->ctags[j], s->sel[k]);
        int rc = qop_strtab_intern(c, &t, (const char *)codes, s->nctags * 4, &s->lsid[k]);
        if (rc != VG_OK)
            return rc;
    }
    s->nslots = t.n;
    return VG_OK;
}

static int key_put(qctx *c, scan_state *s, uint32_t *len, const void *p, uint32_t n)
{
    int rc = qop_grow(c, (void **)&s->key, &s->key_cap, *len + n, 1);
    if (rc != VG_OK)
        return rc;
    memcpy(s->key + *len, p, n);
    *len += n;
    return VG_OK;
}

/* The global series id of a row: its tag strings (catalog order, NULL marked)
 * interned across chunks. Only rows in overlap regions need one. The id found for
 * a primary tag id is remembered with its row and reused for rows whose other tag
 * ids are the same (in practice: every row of that series in this chunk). */
static int global_series(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t row,
                         uint32_t *out)
{
    const buffer_column *pc = s->nctags ? s->ctags[s->primary] : NULL;
    uint32_t slot = !pc ? 0 : buffer_is_valid(pc, row) ? pc->v.ids[row] : pc->dict->n;
    if (!s->gc_ready) {
        uint32_t n = pc ? pc->dict->n + 1 : 1;
        int rc = qop_grow(c, (void **)&s->gc_gsid, &s->gc_cap, n, sizeof *s->gc_gsid);
        uint32_t rcap = s->gc_rcap;
        if (rc == VG_OK)
            rc = qop_grow(c, (void **)&s->gc_row, &rcap, n, sizeof *s->gc_row);
        if (rc != VG_OK)
            return rc;
        s->gc_rcap = rcap;
        memset(s->gc_gsid, 0xff, (size_t)n * sizeof *s->gc_gsid);
        s->gc_ready = true;
    }
    if (s->gc_gsid[slot] != UINT32_MAX) {
        uint32_t rep = s->gc_row[slot], j = 0;
        while (j < s->nctags && tag_code(s->ctags[j], row) == tag_code(s->ctags[j], rep))
            j++;
        if (j == s->nctags) {
            *out = s->gc_gsid[slot];
            return VG_OK;
        }
    }
    uint32_t len = 0;
    int rc = VG_OK;
    for (uint32_t j = 0; j < s->ntags && rc == VG_OK; j++) {
        const buffer_column *col = chunk_col(ch, s->tags[j], CATALOG_TAG);
        uint8_t mark = col && buffer_is_valid(col, row);
        rc = key_put(c, s, &len, &mark, 1);
        if (rc == VG_OK && mark) {
            uint32_t id = col->v.ids[row];
            uint32_t n = col->dict->lens[id];
            rc = key_put(c, s, &len, &n, 4);
            if (rc == VG_OK)
                rc = key_put(c, s, &len, col->dict->strs[id], n);
        }
    }
    if (rc == VG_OK)
        rc = qop_strtab_intern(c, &s->series, s->key, len, out);
    s->gc_gsid[slot] = *out;
    s->gc_row[slot] = row;
    return rc;
}

/* ---- planning one chunk ---- */

static bool in_cover(const scan_state *s, uint32_t first, uint32_t count, int64_t t)
{
    if (count <= 4) { /* the usual case: one region at each end of the chunk */
        bool in = false;
        for (uint32_t i = first; i < first + count; i++)
            in |= (t >= s->cover[i][0]) & (t <= s->cover[i][1]);
        return in;
    }
    uint32_t lo = first, hi = first + count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->cover[mid][1] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < first + count && s->cover[lo][0] <= t;
}

/* Overlap regions that intersect [lo, hi]: [*first, *first + *count). */
static void cover_range(const scan_state *s, int64_t lo, int64_t hi, uint32_t *first,
                        uint32_t *count)
{
    uint32_t a = 0, b = s->ncover;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (s->cover[mid][1] < lo)
            a = mid + 1;
        else
            b = mid;
    }
    uint32_t e = a;
    while (e < s->ncover && s->cover[e][0] <= hi)
        e++;
    *first = a;
    *count = e - a;
}

/* Rows passing the time range and the tag equalities into sel. */
static void select_rows(scan_state *s, const buffer_chunk *ch)
{
    const int64_t *time = ch->cols[0].v.i64;
    int64_t lo = s->spec.time_min, hi = s->spec.time_max;
    const buffer_column **tcol = s->eqcols;
    uint32_t nt = s->spec.ntag_eq;
    for (uint32_t t = 0; t < nt; t++) {
        tcol[t] = chunk_col(ch, s->spec.tag_eq[t].col_id, CATALOG_TAG);
        if (VG_NEVER(!tcol[t])) { /* such a chunk was pruned */
            s->nsel = 0;
            return;
        }
    }
    bool in_range = ch->min_time >= lo && ch->max_time <= hi;
    if (nt == 0 && in_range) {
        for (uint32_t r = 0; r < ch->nrows; r++)
            s->sel[r] = r;
        s->nsel = ch->nrows;
        return;
    }
    if (nt == 1 && in_range && qop_all_valid(tcol[0]->valid, ch->nrows)) {
        /* WHERE tag = ... (or IN): one table lookup a row, no branches */
        const uint8_t *ok = s->match[0].ok;
        const uint32_t *ids = tcol[0]->v.ids;
        uint32_t k = 0;
        for (uint32_t r = 0; r < ch->nrows; r++) {
            s->sel[k] = r;
            k += ok[ids[r]];
        }
        s->nsel = k;
        return;
    }
    uint32_t k = 0;
    for (uint32_t r = 0; r < ch->nrows; r++) {
        bool ok = time[r] >= lo && time[r] <= hi;
        for (uint32_t t = 0; ok && t < nt; t++)
            ok = buffer_is_valid(tcol[t], r) && s->match[t].ok[tcol[t]->v.ids[r]];
        s->sel[k] = r;
        k += ok;
    }
    s->nsel = k;
}

/* Moves the rows in overlap regions to the pool; keeps the others in sel/lsid. */
static int set_aside_suspects(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t cpos,
                              bool with_lsid)
{
    int64_t lo, hi;
    clip(s, ch, &lo, &hi);
    uint32_t first, count;
    cover_range(s, lo, hi, &first, &count);
    if (count == 0)
        return VG_OK;
    const int64_t *time = ch->cols[0].v.i64;
    uint32_t keep = 0;
    for (uint32_t k = 0; k < s->nsel; k++) {
        uint32_t row = s->sel[k];
        if (!in_cover(s, first, count, time[row])) {
            if (with_lsid)
                s->lsid[keep] = s->lsid[k];
            s->sel[keep++] = row;
            continue;
        }
        int rc = qop_grow(c, (void **)&s->pool, &s->pool_cap, s->npool + 1, sizeof *s->pool);
        uint32_t g = 0;
        if (rc == VG_OK)
            rc = global_series(c, s, ch, row, &g);
        if (rc != VG_OK)
            return rc;
        s->pool[s->npool++] = (scan_ent){g, cpos, row, time[row]};
        c->rows_pooled++;
    }
    s->nsel = keep;
    return VG_OK;
}

/* Moves the rows of sel (and their lsid) whose time is outside the chunk's
 * [dup_min, dup_max] to the front and returns how many: both rows of a duplicate
 * pair inside the chunk have the later one's time, which is in that range, so those
 * rows are unique here whatever their order. */
static uint32_t front_unflagged(scan_state *s, const buffer_chunk *ch)
{
    const int64_t *time = ch->cols[0].v.i64;
    uint32_t nout = 0;
    for (uint32_t k = 0; k < s->nsel; k++) {
        int64_t t = time[s->sel[k]];
        if (t >= ch->dup_min && t <= ch->dup_max)
            continue;
        uint32_t row = s->sel[k], l = s->lsid[k];
        s->sel[k] = s->sel[nout];
        s->lsid[k] = s->lsid[nout];
        s->sel[nout] = row;
        s->lsid[nout] = l;
        nout++;
    }
    return nout;
}

/* True when every series' times strictly increase in row order over sel[from..):
 * no duplicates there. (A row at INT64_MIN may be taken for a repeat: that only
 * costs the sort below.) */
static int times_increase(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t from,
                          bool *yes)
{
    int rc = qop_grow(c, (void **)&s->last, &s->last_cap, s->nslots, sizeof *s->last);
    if (rc != VG_OK)
        return rc;
    for (uint32_t i = 0; i < s->nslots; i++)
        s->last[i] = INT64_MIN;
    const int64_t *time = ch->cols[0].v.i64;
    uint32_t bad = 0;
    for (uint32_t k = from; k < s->nsel; k++) {
        uint32_t l = s->lsid[k];
        int64_t t = time[s->sel[k]];
        bad |= t <= s->last[l];
        s->last[l] = t;
    }
    *yes = !bad;
    return VG_OK;
}

/* Full local series ids: the primary alone if it determines the other tags, else
 * tuples of every tag. */
static int full_series(qctx *c, scan_state *s)
{
    uint32_t ok = 0;
    int rc = check_primary_determines(c, s, &ok);
    if (rc == VG_OK && !ok)
        rc = series_by_tuple(c, s);
    return rc;
}

/* known_dups: the caller already knows the rows of sel have duplicates and has
 * set the suspects aside. */
static int plan_dedup(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t cpos,
                      bool known_dups)
{
    /* Local series ids serve the duplicate check, which unflagged chunks skip. */
    bool check = known_dups || ch->may_have_dups;
    int rc = check ? series_by_primary_only(c, s) : VG_OK;
    if (rc == VG_OK && s->ncover && !known_dups)
        rc = set_aside_suspects(c, s, ch, cpos, check);
    bool unique = !known_dups;
    uint32_t from = 0; /* sel[0..from) are known unique */
    if (rc == VG_OK && !known_dups && ch->may_have_dups) {
        from = front_unflagged(s, ch);
        rc = times_increase(c, s, ch, from, &unique);
    }
    if (rc != VG_OK || unique)
        return rc;
    rc = full_series(c, s);
    if (rc != VG_OK)
        return rc;
    if (!s->ents) { /* only chunks with duplicates need these */
        s->ents = qctx_alloc(c, (size_t)s->max_rows * sizeof *s->ents);
        s->runs = qctx_alloc(c, ((size_t)s->max_rows + 1) * sizeof *s->runs);
        if (!s->ents || !s->runs)
            return qop_err(c);
    }
    const int64_t *time = ch->cols[0].v.i64;
    for (uint32_t k = 0; k < s->nsel; k++)
        s->ents[k] = (scan_ent){s->lsid[k], cpos, s->sel[k], time[s->sel[k]]};
    for (uint32_t k = 0; k < from; k++)
        s->runs[k] = k; /* each a run of its own */
    s->nruns = from + sort_runs(s->ents + from, s->nsel - from, s->runs + from);
    for (uint32_t k = from; k <= s->nruns; k++)
        s->runs[k] += from;
    if (s->nruns < s->nsel) {
        s->plan = PLAN_RUNS;
        return VG_OK;
    }
    /* Out of order but no duplicates: the rows as they are (order is free). */
    for (uint32_t k = 0; k < s->nsel; k++)
        s->sel[k] = s->ents[k].row;
    return VG_OK;
}

static int add_range(qctx *c, scan_state *s, uint32_t a, uint32_t b)
{
    if (a >= b)
        return VG_OK;
    int rc = qop_grow(c, (void **)&s->ranges, &s->ranges_cap, s->nranges + 1, sizeof *s->ranges);
    if (rc != VG_OK)
        return rc;
    s->ranges[s->nranges][0] = a;
    s->ranges[s->nranges][1] = b;
    s->nranges++;
    return VG_OK;
}

/* Checked in blocks with no branch inside (so the loop vectorizes), stopping at the
 * first block out of order: a chunk from racing writers is told unsorted at once. */
static bool time_sorted(const buffer_chunk *ch)
{
    const int64_t *t = ch->cols[0].v.i64;
    for (uint32_t a = 1; a < ch->nrows; a += 256) {
        uint32_t b = ch->nrows - a < 256 ? ch->nrows : a + 256, bad = 0;
        for (uint32_t r = a; r < b; r++)
            bad |= t[r] < t[r - 1];
        if (bad)
            return false;
    }
    return true;
}

/* First row with time >= t (time-sorted chunk). */
static uint32_t lower_row(const buffer_chunk *ch, int64_t t)
{
    const int64_t *time = ch->cols[0].v.i64;
    uint32_t lo = 0, hi = ch->nrows;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (time[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First row with time > t. */
static uint32_t upper_row(const buffer_chunk *ch, int64_t t)
{
    return t == INT64_MAX ? ch->nrows : lower_row(ch, t + 1);
}

/* Rows [a, b) to the pool: they may have duplicates in other chunks. */
static int pool_rows(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t cpos, uint32_t a,
                     uint32_t b)
{
    int rc = qop_grow(c, (void **)&s->pool, &s->pool_cap, s->npool + (b - a), sizeof *s->pool);
    for (uint32_t row = a; row < b && rc == VG_OK; row++) {
        uint32_t g = 0;
        rc = global_series(c, s, ch, row, &g);
        s->pool[s->npool++] = (scan_ent){g, cpos, row, ch->cols[0].v.i64[row]};
    }
    return rc;
}

/* Whether the rows of the ranges are free of duplicates: with times sorted, one
 * pass checking that each primary tag id's time strictly increases. */
static int ranges_unique(qctx *c, scan_state *s, const buffer_chunk *ch, bool *yes)
{
    const buffer_column *pc = s->nctags ? s->ctags[s->primary] : NULL;
    s->nslots = pc ? pc->dict->n + 1 : 1;
    int rc = qop_grow(c, (void **)&s->last, &s->last_cap, s->nslots, sizeof *s->last);
    if (rc != VG_OK)
        return rc;
    for (uint32_t i = 0; i < s->nslots; i++)
        s->last[i] = INT64_MIN;
    const int64_t *time = ch->cols[0].v.i64;
    bool nulls = pc && pc->valid && !qop_all_valid(pc->valid, ch->nrows);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < s->nranges; i++) {
        for (uint32_t r = s->ranges[i][0]; r < s->ranges[i][1]; r++) {
            uint32_t l = !pc ? 0 : nulls && !buffer_is_valid(pc, r) ? s->nslots - 1 : pc->v.ids[r];
            bad |= time[r] <= s->last[l];
            s->last[l] = time[r];
        }
    }
    *yes = !bad;
    return VG_OK;
}

/* A chunk whose times are sorted (data written in time order) and with no tag
 * filter: the time range and the overlap regions are row ranges found by binary
 * search, and the rows left go out as slices once shown free of duplicates. */
static int plan_sorted(qctx *c, scan_state *s, const buffer_chunk *ch, uint32_t cpos, bool *done)
{
    uint32_t lo = lower_row(ch, s->spec.time_min), hi = upper_row(ch, s->spec.time_max);
    s->nranges = 0;
    *done = true;
    if (!s->spec.dedup) {
        s->plan = PLAN_RANGES;
        return add_range(c, s, lo, hi);
    }
    int64_t tlo, thi;
    clip(s, ch, &tlo, &thi);
    uint32_t first = 0, count = 0, at = lo;
    if (s->ncover)
        cover_range(s, tlo, thi, &first, &count);
    for (uint32_t i = first; i < first + count; i++) {
        uint32_t a = lower_row(ch, s->cover[i][0]), b = upper_row(ch, s->cover[i][1]);
        a = a < lo ? lo : a > hi ? hi : a;
        b = b < a ? a : b > hi ? hi : b;
        int rc = add_range(c, s, at, a);
        if (rc == VG_OK)
            rc = pool_rows(c, s, ch, cpos, a, b);
        if (rc != VG_OK)
            return rc;
        at = b;
    }
    int rc = add_range(c, s, at, hi);
    bool unique = true;
    if (rc == VG_OK && ch->may_have_dups)
        rc = ranges_unique(c, s, ch, &unique);
    if (rc != VG_OK || unique) {
        s->plan = PLAN_RANGES;
        return rc;
    }
    /* Duplicates inside the chunk: the general path over the rows of the ranges. */
    s->nsel = 0;
    for (uint32_t i = 0; i < s->nranges; i++)
        for (uint32_t r = s->ranges[i][0]; r < s->ranges[i][1]; r++)
            s->sel[s->nsel++] = r;
    s->plan = PLAN_SEL;
    *done = false;
    return VG_OK;
}

/* True when every row of the chunk is selected and none can have a duplicate to
 * merge: no tag filter, the chunk's times inside the query's range, and (with
 * dedup) the chunk neither flagged nor touching an overlap region. Such a chunk goes
 * out as one range of slices with no per-row work, sorted or not, which is what makes
 * a scan of data written by racing writers as cheap as one written in order. */
static bool whole_chunk(scan_state *s, const buffer_chunk *ch)
{
    if (s->spec.ntag_eq || ch->min_time < s->spec.time_min || ch->max_time > s->spec.time_max)
        return false;
    if (!s->spec.dedup || (!ch->may_have_dups && s->ncover == 0))
        return true;
    if (ch->may_have_dups)
        return false;
    int64_t tlo, thi;
    clip(s, ch, &tlo, &thi);
    uint32_t first = 0, count = 0;
    cover_range(s, tlo, thi, &first, &count);
    return count == 0;
}

static int plan_chunk(qctx *c, scan_state *s)
{
    uint32_t cpos = s->live[s->cur];
    int lrc = load_source(c, s, cpos);
    if (lrc != VG_OK)
        return lrc;
    const buffer_chunk *ch = s->snap[cpos];
    c->rows_scanned += ch->nrows;
    for (uint32_t i = 0; i < s->spec.ncols; i++) {
        int rc = make_view(c, &s->cols[i], ch);
        if (rc != VG_OK)
            return rc;
    }
    for (uint32_t t = 0; t < s->spec.ntag_eq; t++) {
        bool any;
        int rc = match_tags(c, &s->match[t], &s->spec.tag_eq[t], ch, &any);
        if (rc != VG_OK)
            return rc;
    }
    s->pos = 0;
    s->rng = 0;
    s->chunk_ready = true;
    s->plan = PLAN_SEL;
    s->gc_ready = false;
    if (s->spec.dedup)
        chunk_tags(s, ch);
    if (whole_chunk(s, ch)) {
        s->nranges = 0;
        s->plan = PLAN_RANGES;
        return add_range(c, s, 0, ch->nrows);
    }
    bool done = false, resume = false;
    if (s->spec.ntag_eq == 0 && time_sorted(ch)) {
        int rc = plan_sorted(c, s, ch, cpos, &done);
        if (rc != VG_OK || done)
            return rc;
        resume = true; /* sel holds the rows; the pool has the suspects already */
    }
    if (!resume)
        select_rows(s, ch);
    if (s->spec.dedup && s->nsel > 0)
        return plan_dedup(c, s, ch, cpos, resume);
    return VG_OK;
}

/* ---- next ---- */

static int emit_virtual(qctx *c, scan_state *s, uint32_t n);

/* The next batch of the current (planned) chunk; *more = false when it has none. */
static int next_chunk_batch(qctx *c, scan_state *s, bool *more)
{
    const buffer_chunk *ch = s->snap[s->live[s->cur]];
    *more = true;
    if (s->plan == PLAN_RANGES) {
        if (s->rng == s->nranges) {
            *more = false;
            return VG_OK;
        }
        uint32_t a = s->ranges[s->rng][0] + s->pos, b = s->ranges[s->rng][1];
        uint32_t n = b - a < Q_BATCH_ROWS ? b - a : Q_BATCH_ROWS;
        s->pos += n;
        if (a + n == b) {
            s->rng++;
            s->pos = 0;
        }
        return emit_range(c, s, ch, a, n);
    }
    uint32_t total = s->plan == PLAN_RUNS ? s->nruns : s->nsel;
    if (s->pos >= total) {
        *more = false;
        return VG_OK;
    }
    uint32_t n = total - s->pos < Q_BATCH_ROWS ? total - s->pos : Q_BATCH_ROWS;
    uint32_t at = s->pos;
    if (s->spec.count_only) { /* the rows (or merged runs) are final: only n matters */
        s->pos += n;
        return emit_virtual(c, s, n);
    }
    if (s->plan == PLAN_RUNS) {
        s->pos += n;
        return emit_runs(c, s, s->ents, s->runs, at, at + n);
    }
    /* Consecutive rows (all but a few set aside or filtered out) go as slices. */
    uint32_t run = 1;
    while (run < n && s->sel[at + run] == s->sel[at] + run)
        run++;
    if (run == n || run >= MIN_SLICE_ROWS) {
        s->pos += run;
        return emit_range(c, s, ch, s->sel[at], run);
    }
    s->pos += n;
    return emit_rows(c, s, ch, s->sel + at, n);
}

/* count_only: a source whose every row is final as it is (inside the time range, no
 * duplicate within it, none with another source: outside every overlap region). */
static bool countable(const scan_state *s, uint32_t cpos)
{
    const scan_src *src = &s->src[cpos];
    if (src->min_time < s->spec.time_min || src->max_time > s->spec.time_max)
        return false;
    if (s->snap[cpos] && s->snap[cpos]->may_have_dups)
        return false;
    uint32_t first = 0, count = 0;
    cover_range(s, src->min_time, src->max_time, &first, &count);
    return count == 0;
}

/* n rows whose values nobody reads (count_only): zeroed stand-in vectors. */
static int emit_virtual(qctx *c, scan_state *s, uint32_t n)
{
    if (!s->zeros) {
        if (!(s->zeros = qctx_alloc(c, (size_t)Q_BATCH_ROWS * sizeof(qstr))))
            return qop_err(c);
        memset(s->zeros, 0, (size_t)Q_BATCH_ROWS * sizeof(qstr));
    }
    for (uint32_t i = 0; i < s->spec.ncols; i++) {
        qvec *v = &s->out.cols[i];
        memset(v, 0, sizeof *v);
        v->type = qtype_of(s->cols[i].ctype);
        v->n = n;
        v->v.u64 = s->zeros;
    }
    s->out.nrows = n;
    return VG_OK;
}

/* The next unfiltered batch: pool rows that became final, or the current chunk's;
 * *done when everything was emitted. */
static int next_raw(qctx *c, scan_state *s, bool *done)
{
    *done = false;
    for (;;) {
        if (s->fl_pos < s->nfl_runs) { /* merged pool rows first */
            uint32_t at = s->fl_pos;
            uint32_t n = s->nfl_runs - at < Q_BATCH_ROWS ? s->nfl_runs - at : Q_BATCH_ROWS;
            s->fl_pos += n;
            if (s->spec.count_only)
                return emit_virtual(c, s, n);
            return emit_runs(c, s, s->fl, s->fl_runs, at, at + n);
        }
        if (s->cur >= s->nlive) {
            *done = true;
            return VG_OK;
        }
        int rc = VG_OK;
        if (!s->chunk_ready && beaten_by_bound(s, &s->src[s->live[s->cur]])) {
            c->chunks_pruned++;
        } else if (!s->chunk_ready && s->spec.count_only && countable(s, s->live[s->cur])) {
            if (!s->virt_active) {
                s->virt_active = true;
                s->virt_left = s->src[s->live[s->cur]].nrows;
                c->rows_scanned += s->virt_left;
            }
            if (s->virt_left > 0) {
                uint32_t n = s->virt_left < Q_BATCH_ROWS ? s->virt_left : Q_BATCH_ROWS;
                s->virt_left -= n;
                return emit_virtual(c, s, n);
            }
            s->virt_active = false;
        } else {
            if (!s->chunk_ready && (rc = plan_chunk(c, s)) != VG_OK)
                return rc;
            bool more = false;
            rc = next_chunk_batch(c, s, &more);
            if (rc != VG_OK || more)
                return rc;
        }
        /* The chunk is done (or skipped): on to the next, after the pool rows that
         * no chunk still to be read can duplicate. */
        done_with_source(s, s->live[s->cur]);
        s->cur++;
        s->chunk_ready = false;
        if (s->npool && (rc = flush_pool(c, s, s->cur)) != VG_OK)
            return rc;
    }
}

static int scan_next(qop *op, qctx *c, qbatch **out)
{
    scan_state *s = op->state;
    *out = NULL;
    for (;;) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        bool done;
        rc = next_raw(c, s, &done);
        if (rc != VG_OK || done)
            return rc;
        if (!s->spec.filter) {
            *out = &s->out;
            return VG_OK;
        }
        qvec pred;
        rc = qexpr_eval(c, s->spec.filter, &s->out, &pred);
        if (rc != VG_OK)
            return rc;
        uint32_t k = qop_select(&pred, s->out.nrows, s->fsel);
        if (k == 0)
            continue;
        if (k == s->out.nrows) {
            *out = &s->out;
            return VG_OK;
        }
        for (uint32_t i = 0; i < s->out.ncols; i++) {
            rc = qop_gather(c, &s->fbufs[i], &s->out.cols[i], s->fsel, k, &s->fout.cols[i]);
            if (rc != VG_OK)
                return rc;
        }
        s->fout.nrows = k;
        *out = &s->fout;
        return VG_OK;
    }
}

/* ---- constructor ---- */

static const qop_vt scan_vt = {"Scan", scan_open, scan_next, scan_close};

bool qop_scan_bind_time_bound(qop *op, uint32_t col, qop_time_bound *b)
{
    if (op->vt != &scan_vt)
        return false;
    scan_state *s = op->state;
    if (col >= s->spec.ncols || s->cols[col].ctype != CATALOG_TIME)
        return false;
    s->bound = b;
    return true;
}

static int scan_schema(qctx *c, const qscan_spec *spec, scan_state *s, qschema *schema)
{
    const catalog_table *t = spec->table;
    uint32_t n = spec->ncols;
    schema->n = n;
    schema->f = qctx_alloc(c, (n ? n : 1) * sizeof *schema->f);
    s->cols = qctx_alloc(c, (n ? n : 1) * sizeof *s->cols);
    if (!schema->f || !s->cols)
        return qop_err(c);
    memset(s->cols, 0, (n ? n : 1) * sizeof *s->cols);
    for (uint32_t i = 0; i < n; i++) {
        if (spec->cols[i] >= t->ncols)
            return vg_err_set(c->err, VG_EINTERNAL, "scan of '%s': no column id %u", t->name,
                              spec->cols[i]);
        const catalog_column *cc = t->cols[spec->cols[i]];
        s->cols[i].id = cc->id;
        s->cols[i].ctype = cc->type;
        schema->f[i] = (qfield){.name = cc->name,
                                .qualifier = t->name,
                                .type = qtype_of(cc->type),
                                .is_tag = cc->type == CATALOG_TAG,
                                .nullable = cc->type != CATALOG_TIME};
    }
    return VG_OK;
}

static int scan_tags(qctx *c, const catalog_table *t, scan_state *s)
{
    s->tags = qctx_alloc(c, (t->ncols ? t->ncols : 1) * sizeof *s->tags);
    if (!s->tags)
        return qop_err(c);
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i]->type == CATALOG_TAG)
            s->tags[s->ntags++] = i;
    uint32_t n = s->ntags ? s->ntags : 1;
    s->ctags = qctx_alloc(c, n * sizeof *s->ctags);
    s->codes = qctx_alloc(c, n * sizeof *s->codes);
    return s->ctags && s->codes ? VG_OK : qop_err(c);
}

/* What to decode from files: the scanned columns and, for deduplication, every tag.
 * Names are copied: the scan may open after the catalog lock is released. */
static int scan_load_cols(qctx *c, const catalog_table *t, scan_state *s)
{
    uint32_t cap = s->spec.ncols + s->ntags + 1;
    s->lcols = qctx_alloc(c, cap * sizeof *s->lcols);
    if (!s->lcols)
        return qop_err(c);
    for (uint32_t i = 0; i < s->spec.ncols + s->ntags; i++) {
        uint32_t id = i < s->spec.ncols ? s->spec.cols[i] : s->tags[i - s->spec.ncols];
        bool dup = false;
        for (uint32_t k = 0; k < s->nlcols && !dup; k++)
            dup = s->lcols[k].id == id;
        if (dup || id == 0)
            continue;
        const catalog_column *cc = t->cols[id];
        char *name = vg_arena_strndup(c->arena, cc->name, cc->name_len);
        if (!name)
            return qop_err(c);
        s->lcols[s->nlcols++] = (persist_col){id, name, cc->type};
    }
    return VG_OK;
}

qop *qop_scan(qctx *c, const qscan_spec *spec)
{
    qop *op = qctx_alloc(c, sizeof *op);
    scan_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->spec = *spec;
    *op = (qop){.vt = &scan_vt, .state = s};
    if (scan_schema(c, spec, s, &op->schema) != VG_OK || scan_tags(c, spec->table, s) != VG_OK ||
        scan_load_cols(c, spec->table, s) != VG_OK)
        return NULL;
    if (spec->ntag_eq) {
        s->match = qctx_alloc(c, spec->ntag_eq * sizeof *s->match);
        s->eqcols = qctx_alloc(c, spec->ntag_eq * sizeof *s->eqcols);
        if (!s->match || !s->eqcols)
            return NULL;
        memset(s->match, 0, spec->ntag_eq * sizeof *s->match);
    }
    return op;
}
