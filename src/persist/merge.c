/* persist/merge.c: compaction's streaming merge of a group of files into one file
 * (persist_int.h, pmerge_files).
 *
 * Every file Vigil writes is sorted by (tag set, time) and holds each (tag set, time)
 * once, so a group's output is a k-way merge of its inputs and never needs the group
 * decoded whole: each input holds one decoded row group at a time, and merged rows go
 * to the Parquet writer a row group at a time. Memory is about (inputs x one row group)
 * plus the writer's row group, instead of the whole group decoded and sorted.
 *
 * The merge goes series by series. A heap orders the inputs by the tag set of their
 * next row, comparing tag strings (each file has its own dictionaries; tag columns in
 * name order, a NULL tag first: the snapshot's order). The inputs whose next row is
 * the smallest tag set S each offer their run of S. Runs that do not overlap in time,
 * the usual case since a day's files are time partitions, are copied one after
 * another in bulk; overlapping runs are merged row by row by time, and a (tag set,
 * time) that several inputs hold becomes one row, field by field the later file's
 * value winning and NULL keeping the earlier one (the snapshot's and the scan's rule).
 * A run that reaches the end of its input's row group may go on in the next one, so a
 * round takes rows only up to the last time such a row group holds; the rest of S is
 * merged once those inputs have loaded their next row group.
 *
 * Rows that row deletes hide are left out as each row group is decoded
 * (persist_source_load with the tombstones, deletes.c).
 *
 * An input that turns out not to be sorted, or to repeat a (tag set, time), stops the
 * merge with `unsorted` set; compaction then falls back to decoding the group whole
 * and sorting it (compact.c). Snapshots and compactions never write such a file, so
 * this only guards against a bug elsewhere turning into a wrongly ordered output. */
#include "persist_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Output rows are handed to the Parquet writer a row group at a time: the writer cuts
 * a page when its staged bytes pass the page size, so rows given in smaller batches
 * would end a row group's values in a second, small page (a few percent larger files
 * than the snapshot's sort-and-merge writes). Row groups larger than this are given in
 * batches of this size, which only bounds the batch's arrays. */
#define MAX_BATCH_ROWS (1u << 20)

/* ---- the table, copied under the catalog lock ---- */

typedef struct mtable {
    char *db_name;
    char *table_name;
    uint32_t ncols;
    persist_col *cols; /* every column; names live as long as the catalog */
} mtable;

static void mtable_free(mtable *t)
{
    vg_free(t->db_name);
    vg_free(t->table_name);
    vg_free(t->cols);
    memset(t, 0, sizeof *t);
}

/* *live = false when the database or table was deleted meanwhile. */
static int mtable_load(persist *p, uint32_t db_id, uint32_t table_id, mtable *t, bool *live,
                       vg_err *e)
{
    memset(t, 0, sizeof *t);
    catalog_read_lock(p->cfg.cat);
    catalog_db *db = catalog_db_get(p->cfg.cat, db_id);
    catalog_table *tab = db && !db->deleted && table_id < db->ntables ? db->tables[table_id]
                                                                     : NULL;
    *live = tab && !tab->deleted;
    int rc = VG_OK;
    if (*live) {
        t->db_name = vg_strdup(db->name);
        t->table_name = vg_strdup(tab->name);
        t->cols = vg_calloc(tab->ncols, sizeof *t->cols);
        if (!t->db_name || !t->table_name || !t->cols)
            rc = VG_ENOMEM;
        for (uint32_t i = 0; rc == VG_OK && i < tab->ncols; i++)
            t->cols[i] = (persist_col){i, tab->cols[i]->name, tab->cols[i]->type};
        t->ncols = rc == VG_OK ? tab->ncols : 0;
    }
    catalog_read_unlock(p->cfg.cat);
    if (rc != VG_OK) {
        mtable_free(t);
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    }
    return VG_OK;
}

/* ---- inputs ---- */

typedef struct minput {
    persist_file *f; /* borrowed from the caller */
    uint32_t idx;    /* place in the later-wins order: a higher one wins */
    uint32_t next_rg;
    uint32_t nrg;
    buffer_chunk *c; /* the decoded row group, or NULL when the input is done */
    uint32_t pos;    /* its next row */
    /* this round's run of the current series: rows [pos, lim) are taken */
    uint32_t end;
    uint32_t lim;
    int64_t last_time; /* of the last row taken of the current series */
} minput;

/* ---- the output batch ---- */

typedef struct ocol {
    uint32_t col; /* catalog column id */
    catalog_type type;
    bool all_valid;
    uint8_t *valid; /* batch_cap bits */
    void *vals;     /* 8-byte numbers, bool bytes, tag ids or vg_str */
    /* tags: this batch's dictionary */
    vg_str *dict;
    uint32_t ndict;
    vg_map index; /* value -> id + 1 */
} ocol;

typedef struct merger {
    persist *p;
    uint32_t db_id;
    uint32_t table_id;
    mtable tab;
    const persist_tombs *tombs;
    minput *in;
    uint32_t nin;
    uint32_t *heap; /* inputs with rows left but not in the current series */
    uint32_t nheap;
    uint32_t ntags;
    uint32_t *tag_cols; /* catalog ids of the output's tag columns, in name order */
    ocol *oc;           /* output columns: tags, fields, time (the snapshot's layout) */
    uint32_t noc;
    uint32_t n;         /* rows in the batch */
    uint32_t batch_cap; /* a row group's rows, at most MAX_BATCH_ROWS */
    uint64_t batch_no; /* bumped at each flush: tag ids cached per batch */
    vg_arena strs;     /* the batch's string bytes and tag dictionary values */
    /* the current series: its key row, and its tag ids in the batch `series_batch` */
    const buffer_chunk *key_c;
    uint32_t key_row;
    uint64_t series_batch;
    uint32_t *series_ids;
    parquet_writer *w;
    store_writer out; /* the output streams to the store as row groups fill */
    uint64_t out_id;
    char *out_path;
    int64_t min_time;
    int64_t max_time;
    bool unsorted;
    bool pace;         /* background: step aside for queries */
    int64_t pace_mark; /* when the current stretch of work began */
    pmerge_result *res;
} merger;

/* ---- comparing tag sets across inputs ---- */

static bool tag_valid(const buffer_chunk *c, uint32_t col, uint32_t row)
{
    return col < c->ncols && buffer_is_valid(&c->cols[col], row);
}

static int str_order(const char *a, size_t alen, const char *b, size_t blen)
{
    int d = memcmp(a, b, alen < blen ? alen : blen);
    return d ? d : (alen > blen) - (alen < blen);
}

/* The tag set of row ra of a against row rb of b: values in name order of the tag
 * columns, NULL first, bytes compared. */
static int tagset_cmp(const merger *m, const buffer_chunk *a, uint32_t ra, const buffer_chunk *b,
                      uint32_t rb)
{
    for (uint32_t j = 0; j < m->ntags; j++) {
        uint32_t col = m->tag_cols[j];
        bool va = tag_valid(a, col, ra), vb = tag_valid(b, col, rb);
        if (!va || !vb) {
            if (va != vb)
                return va ? 1 : -1;
            continue;
        }
        uint32_t ia = a->cols[col].v.ids[ra], ib = b->cols[col].v.ids[rb];
        if (a == b && ia == ib)
            continue;
        const buffer_dict *da = a->cols[col].dict, *db = b->cols[col].dict;
        int d = str_order(da->strs[ia], da->lens[ia], db->strs[ib], db->lens[ib]);
        if (d)
            return d;
    }
    return 0;
}

/* Rows r and r + 1 of one chunk have the same tag ids (so the same tag set). */
static bool same_ids(const merger *m, const buffer_chunk *c, uint32_t r)
{
    for (uint32_t j = 0; j < m->ntags; j++) {
        uint32_t col = m->tag_cols[j];
        bool v0 = tag_valid(c, col, r), v1 = tag_valid(c, col, r + 1);
        if (v0 != v1 || (v0 && c->cols[col].v.ids[r] != c->cols[col].v.ids[r + 1]))
            return false;
    }
    return true;
}

static int input_cmp(const merger *m, uint32_t x, uint32_t y)
{
    const minput *a = &m->in[x], *b = &m->in[y];
    int d = tagset_cmp(m, a->c, a->pos, b->c, b->pos);
    return d ? d : (a->idx > b->idx) - (a->idx < b->idx);
}

/* ---- the heap of inputs by their next row's tag set ---- */

static void heap_push(merger *m, uint32_t i)
{
    uint32_t k = m->nheap++;
    m->heap[k] = i;
    while (k > 0) {
        uint32_t up = (k - 1) / 2;
        if (input_cmp(m, m->heap[up], m->heap[k]) <= 0)
            break;
        uint32_t t = m->heap[up];
        m->heap[up] = m->heap[k];
        m->heap[k] = t;
        k = up;
    }
}

static uint32_t heap_pop(merger *m)
{
    uint32_t top = m->heap[0];
    m->heap[0] = m->heap[--m->nheap];
    for (uint32_t k = 0;;) {
        uint32_t l = 2 * k + 1, r = l + 1, s = k;
        if (l < m->nheap && input_cmp(m, m->heap[l], m->heap[s]) < 0)
            s = l;
        if (r < m->nheap && input_cmp(m, m->heap[r], m->heap[s]) < 0)
            s = r;
        if (s == k)
            break;
        uint32_t t = m->heap[s];
        m->heap[s] = m->heap[k];
        m->heap[k] = t;
        k = s;
    }
    return top;
}

/* ---- stepping aside for queries ---- */

/* Background compaction yields to queries: while a table view is open, each stretch
 * of merging (one input row group's worth) is followed by a pause PACE_IDLE_RATIO
 * times as long, cut short when the last view closes or a row delete waits for
 * compact_mu. A merge then takes about a tenth of a core from running queries (nice 5
 * alone left it a quarter to a third of one, and queries over a freshly loaded history
 * ran 2-2.5x slower), and still finishes under a steady query load. */
#define PACE_IDLE_RATIO 9
#define PACE_MAX_PAUSE_NS 1000000000LL
#define PACE_POLL_NS 2000000L

static bool queries_waiting(const merger *m)
{
    return __atomic_load_n(&m->p->views_open, __ATOMIC_RELAXED) > 0 &&
           __atomic_load_n(&m->p->compact_waiters, __ATOMIC_RELAXED) == 0;
}

static void pace(merger *m)
{
    if (!m->pace)
        return;
    int64_t now = vg_mono_ns(), worked = now - m->pace_mark;
    if (queries_waiting(m)) {
        int64_t pause = worked * PACE_IDLE_RATIO;
        int64_t until = now + (pause < PACE_MAX_PAUSE_NS ? pause : PACE_MAX_PAUSE_NS);
        struct timespec ts = {0, PACE_POLL_NS};
        while (queries_waiting(m) && vg_mono_ns() < until)
            nanosleep(&ts, NULL);
        m->res->paused_ns += vg_mono_ns() - now;
    }
    m->pace_mark = vg_mono_ns();
}

/* ---- loading inputs ---- */

/* Decodes the input's next row group that has rows left after deletes; c = NULL when
 * there is none. */
static int input_advance(merger *m, minput *in, vg_err *e)
{
    pace(m);
    if (in->c)
        buffer_chunk_unref(in->c);
    in->c = NULL;
    in->pos = 0;
    const parquet_meta *meta = parquet_file_meta(in->f->pq);
    while (!in->c && in->next_rg < in->nrg) {
        uint32_t g = in->next_rg++;
        if (meta->row_groups[g].num_rows == 0)
            continue;
        int64_t g0 = in->f->rg_time[g][0], g1 = in->f->rg_time[g][1];
        if (ptombs_hide_all(m->tombs, in->f->id, g0, g1))
            continue;
        bool touched = ptombs_touch(m->tombs, in->f->id, g0, g1);
        persist_source src = {.min_time = g0,
                              .max_time = g1,
                              .nrows = (uint32_t)meta->row_groups[g].num_rows,
                              .file = in->f,
                              .rg = g,
                              .tombs = touched ? m->tombs : NULL};
        buffer_chunk *c = NULL;
        int rc = persist_source_load(&src, m->db_id, m->table_id, m->tab.ncols, m->tab.cols,
                                     m->tab.ncols, &c, e);
        if (rc != VG_OK)
            return rc;
        m->res->row_groups++;
        m->res->rows_in += c->nrows;
        if (c->nrows == 0)
            buffer_chunk_unref(c);
        else
            in->c = c;
    }
    return VG_OK;
}

/* ---- the output batch ---- */

static size_t value_width(catalog_type t)
{
    switch (t) {
    case CATALOG_BOOL: return 1;
    case CATALOG_TAG: return sizeof(uint32_t);
    case CATALOG_STRING: return sizeof(vg_str);
    default: return 8;
    }
}

static void set_bit(uint8_t *bm, size_t i)
{
    bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void batch_reset(merger *m)
{
    for (uint32_t k = 0; k < m->noc; k++) {
        ocol *o = &m->oc[k];
        memset(o->valid, 0, ((size_t)m->batch_cap + 7) / 8);
        o->all_valid = true;
        if (o->type == CATALOG_TAG) {
            vg_map_free(&o->index);
            vg_map_init(&o->index);
            o->ndict = 0;
        }
    }
    vg_arena_reset(&m->strs);
    m->n = 0;
    m->batch_no++;
}

static parquet_column_data batch_column(const ocol *o)
{
    parquet_column_data d = {.valid = o->all_valid ? NULL : o->valid};
    switch (o->type) {
    case CATALOG_TIME:
    case CATALOG_INT: d.i64 = o->vals; break;
    case CATALOG_UINT: d.u64 = o->vals; break;
    case CATALOG_FLOAT: d.f64 = o->vals; break;
    case CATALOG_BOOL: d.b = o->vals; break;
    case CATALOG_STRING: d.strs = o->vals; break;
    case CATALOG_TAG:
        d.ids = o->vals;
        d.dict = o->dict;
        d.ndict = o->ndict;
        break;
    }
    return d;
}

/* Hands the batch to the writer (which copies what it needs) and empties it. */
static int batch_flush(merger *m, vg_err *e)
{
    if (m->n == 0)
        return VG_OK;
    parquet_column_data data[m->noc];
    for (uint32_t k = 0; k < m->noc; k++)
        data[k] = batch_column(&m->oc[k]);
    int rc = parquet_writer_write(m->w, data, m->n, e);
    m->res->rows_out += m->n;
    batch_reset(m);
    return rc;
}

/* The batch's id of a tag value, adding it to the batch's dictionary. */
static int batch_tag_id(merger *m, ocol *o, const char *s, uint32_t len, uint32_t *id)
{
    void *hit = vg_map_get(&o->index, s, len);
    if (hit) {
        *id = (uint32_t)(uintptr_t)hit - 1;
        return VG_OK;
    }
    char *copy = vg_arena_strndup(&m->strs, s, len);
    if (!copy || vg_map_put(&o->index, s, len, (void *)(uintptr_t)(o->ndict + 1)) != VG_OK)
        return VG_ENOMEM;
    o->dict[o->ndict] = (vg_str){copy, len};
    *id = o->ndict++;
    return VG_OK;
}

/* The current series' tag ids in this batch (UINT32_MAX: NULL), looked up once per
 * batch: every row of a series has its tag values. */
static int series_ids(merger *m)
{
    if (m->series_batch == m->batch_no)
        return VG_OK;
    for (uint32_t j = 0; j < m->ntags; j++) {
        uint32_t col = m->tag_cols[j];
        m->series_ids[j] = UINT32_MAX;
        if (!tag_valid(m->key_c, col, m->key_row))
            continue;
        const buffer_dict *d = m->key_c->cols[col].dict;
        uint32_t id = m->key_c->cols[col].v.ids[m->key_row];
        if (batch_tag_id(m, &m->oc[j], d->strs[id], d->lens[id], &m->series_ids[j]) != VG_OK)
            return VG_ENOMEM;
    }
    m->series_batch = m->batch_no;
    return VG_OK;
}

/* Copies value `row` of column bc (absent: NULL) into batch row `at`. */
static int put_value(merger *m, ocol *o, const buffer_column *bc, uint32_t row, uint32_t at)
{
    if (!buffer_is_valid(bc, row)) {
        o->all_valid = false;
        return VG_OK;
    }
    set_bit(o->valid, at);
    switch (o->type) {
    case CATALOG_BOOL: ((uint8_t *)o->vals)[at] = bc->v.b[row]; break;
    case CATALOG_STRING: {
        uint32_t len = bc->v.off[row + 1] - bc->v.off[row];
        char *s = len ? vg_arena_alloc(&m->strs, len) : NULL;
        if (len && !s)
            return VG_ENOMEM;
        if (len)
            memcpy(s, bc->str + bc->v.off[row], len);
        ((vg_str *)o->vals)[at] = (vg_str){len ? s : "", len};
        break;
    }
    default: memcpy((char *)o->vals + (size_t)at * 8, (const char *)bc->v.i64 + (size_t)row * 8, 8);
    }
    return VG_OK;
}

static const buffer_column *column_of(const buffer_chunk *c, uint32_t col)
{
    static const buffer_column absent; /* present = false: every row NULL */
    return col < c->ncols ? &c->cols[col] : &absent;
}

/* Copies rows [a, a + n) of c (one series, fitting in the batch) to the batch's end. */
static int copy_rows(merger *m, const buffer_chunk *c, uint32_t a, uint32_t n)
{
    for (uint32_t k = 0; k < m->noc; k++) {
        ocol *o = &m->oc[k];
        if (o->type == CATALOG_TAG) {
            uint32_t id = m->series_ids[k];
            for (uint32_t i = 0; i < n; i++) {
                ((uint32_t *)o->vals)[m->n + i] = id == UINT32_MAX ? 0 : id;
                if (id != UINT32_MAX)
                    set_bit(o->valid, m->n + i);
            }
            o->all_valid &= id != UINT32_MAX;
            continue;
        }
        const buffer_column *bc = column_of(c, o->col);
        bool fixed = o->type != CATALOG_STRING && o->type != CATALOG_BOOL;
        if (fixed && bc->present) /* bulk: numbers are 8 bytes whatever their type */
            memcpy((char *)o->vals + (size_t)m->n * 8, (const char *)bc->v.i64 + (size_t)a * 8,
                   (size_t)n * 8);
        for (uint32_t i = 0; i < n; i++) {
            if (fixed) {
                if (buffer_is_valid(bc, a + i))
                    set_bit(o->valid, m->n + i);
                else
                    o->all_valid = false;
            } else if (put_value(m, o, bc, a + i, m->n + i) != VG_OK) {
                return VG_ENOMEM;
            }
        }
    }
    m->n += n;
    return VG_OK;
}

/* Appends rows [a, b) of one input's run, flushing the batch as it fills. */
static int emit_range(merger *m, const buffer_chunk *c, uint32_t a, uint32_t b, vg_err *e)
{
    while (a < b) {
        int rc = m->n == m->batch_cap ? batch_flush(m, e) : VG_OK;
        if (rc != VG_OK)
            return rc;
        if (series_ids(m) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
        uint32_t room = m->batch_cap - m->n, take = b - a < room ? b - a : room;
        if (copy_rows(m, c, a, take) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
        a += take;
    }
    return VG_OK;
}

/* A later input's row of the same (tag set, time) as the batch's last row: its
 * values overwrite the last row's, field by field; its NULLs keep them. */
static int merge_into_last(merger *m, const buffer_chunk *c, uint32_t row)
{
    for (uint32_t k = 0; k < m->noc; k++) {
        ocol *o = &m->oc[k];
        if (o->type == CATALOG_TAG || o->col == 0)
            continue;
        const buffer_column *bc = column_of(c, o->col);
        if (buffer_is_valid(bc, row) && put_value(m, o, bc, row, m->n - 1) != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* ---- one series ---- */

/* The end of the input's run of the current series in its row group (rows of equal
 * tag ids), checking that its times increase strictly from the last one taken. */
static void find_run(merger *m, minput *in)
{
    const int64_t *t = in->c->cols[0].v.i64;
    uint32_t r = in->pos;
    if (t[r] <= in->last_time)
        m->unsorted = true;
    while (r + 1 < in->c->nrows && same_ids(m, in->c, r)) {
        if (t[r + 1] <= t[r])
            m->unsorted = true;
        r++;
    }
    in->end = r + 1;
}

/* First row in [a, b) with time > bound (times increase). */
static uint32_t upper_bound(const int64_t *t, uint32_t a, uint32_t b, int64_t bound)
{
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (t[mid] <= bound)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

static int64_t first_time(const minput *in)
{
    return in->c->cols[0].v.i64[in->pos];
}

static int64_t last_time_of_run(const minput *in)
{
    return in->c->cols[0].v.i64[in->lim - 1];
}

/* Orders runs by first time, then by input (earlier file first). */
static void sort_by_first_time(minput **v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        minput *x = v[i];
        uint32_t j = i;
        while (j > 0 && (first_time(v[j - 1]) > first_time(x) ||
                         (first_time(v[j - 1]) == first_time(x) && v[j - 1]->idx > x->idx))) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Rows [pos, lim) of each run, merged row by row by time; equal times in input order,
 * so a later file's row merges into an earlier one's. */
static int merge_by_time(merger *m, minput **v, uint32_t n, vg_err *e)
{
    bool have_last = false;
    int64_t last = 0;
    for (;;) {
        minput *best = NULL;
        for (uint32_t i = 0; i < n; i++)
            if (v[i]->pos < v[i]->lim &&
                (!best || first_time(v[i]) < first_time(best) ||
                 (first_time(v[i]) == first_time(best) && v[i]->idx < best->idx)))
                best = v[i];
        if (!best)
            return VG_OK;
        int64_t t = first_time(best);
        int rc = VG_OK;
        if (have_last && t == last) {
            m->res->rows_merged++;
            if (merge_into_last(m, best->c, best->pos) != VG_OK)
                rc = vg_err_set(e, VG_ENOMEM, "out of memory compacting");
        } else {
            rc = emit_range(m, best->c, best->pos, best->pos + 1, e);
        }
        if (rc != VG_OK)
            return rc;
        m->res->rows_one_by_one++;
        best->pos++;
        have_last = true;
        last = t;
    }
}

/* One round of the current series: every run's rows up to the bound, copied in bulk
 * when the runs are disjoint in time, else merged by time. */
static int take_runs(merger *m, minput **v, uint32_t n, vg_err *e)
{
    int64_t bound = INT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        find_run(m, v[i]);
        bool may_go_on = v[i]->end == v[i]->c->nrows && v[i]->next_rg < v[i]->nrg;
        int64_t t_end = v[i]->c->cols[0].v.i64[v[i]->end - 1];
        if (may_go_on && t_end < bound)
            bound = t_end;
    }
    if (m->unsorted)
        return VG_OK;
    uint32_t k = 0; /* runs with rows at or before the bound */
    for (uint32_t i = 0; i < n; i++) {
        v[i]->lim = upper_bound(v[i]->c->cols[0].v.i64, v[i]->pos, v[i]->end, bound);
        if (v[i]->lim > v[i]->pos) {
            minput *x = v[i];
            v[i] = v[k];
            v[k++] = x;
        }
    }
    sort_by_first_time(v, k);
    bool disjoint = true;
    for (uint32_t i = 1; i < k && disjoint; i++)
        disjoint = last_time_of_run(v[i - 1]) < first_time(v[i]);
    for (uint32_t i = 0; i < k; i++)
        v[i]->last_time = last_time_of_run(v[i]);
    if (!disjoint)
        return merge_by_time(m, v, k, e);
    for (uint32_t i = 0; i < k; i++) {
        int rc = emit_range(m, v[i]->c, v[i]->pos, v[i]->lim, e);
        if (rc != VG_OK)
            return rc;
        m->res->rows_in_bulk += v[i]->lim - v[i]->pos;
        v[i]->pos = v[i]->lim;
    }
    return VG_OK;
}

/* Merges every input's rows of the series S that v[0..n) start with (the heap's
 * smallest), round after round, then returns the inputs to the heap. */
static int merge_series(merger *m, minput **v, uint32_t n, vg_err *e)
{
    buffer_chunk *key = v[0]->c;
    buffer_chunk_ref(key); /* S's tag values, while its input moves on */
    m->key_c = key;
    m->key_row = v[0]->pos;
    m->series_batch = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++)
        v[i]->last_time = INT64_MIN;
    int rc = VG_OK;
    while (rc == VG_OK && n > 0 && !m->unsorted) {
        rc = take_runs(m, v, n, e);
        uint32_t k = 0; /* inputs still at S */
        for (uint32_t i = 0; rc == VG_OK && i < n && !m->unsorted; i++) {
            minput *in = v[i];
            if (in->pos == in->c->nrows && (rc = input_advance(m, in, e)) != VG_OK)
                break;
            if (!in->c)
                continue; /* done */
            int d = tagset_cmp(m, in->c, in->pos, key, m->key_row);
            if (d < 0)
                m->unsorted = true;
            else if (d == 0)
                v[k++] = in;
            else
                heap_push(m, (uint32_t)(in - m->in));
        }
        n = k;
    }
    buffer_chunk_unref(key);
    m->key_c = NULL;
    return rc;
}

static int merge_all(merger *m, vg_err *e)
{
    minput **v = vg_malloc((m->nin ? m->nin : 1) * sizeof *v);
    if (!v)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    int rc = VG_OK;
    for (uint32_t i = 0; rc == VG_OK && i < m->nin; i++) {
        rc = input_advance(m, &m->in[i], e);
        if (rc == VG_OK && m->in[i].c)
            heap_push(m, i);
    }
    while (rc == VG_OK && m->nheap > 0 && !m->unsorted) {
        uint32_t n = 0;
        v[n++] = &m->in[heap_pop(m)];
        while (m->nheap > 0 && tagset_cmp(m, m->in[m->heap[0]].c, m->in[m->heap[0]].pos, v[0]->c,
                                          v[0]->pos) == 0)
            v[n++] = &m->in[heap_pop(m)];
        m->res->series_runs += n;
        rc = merge_series(m, v, n, e);
    }
    vg_free(v);
    if (rc == VG_OK && !m->unsorted)
        rc = batch_flush(m, e);
    return rc;
}

/* ---- the output's columns ---- */

/* A column some input holds (by name, with the catalog's type) is in the output, as
 * in a snapshot of the same rows; the others are NULL everywhere and left out. */
static bool held_by_some_input(const merger *m, const persist_col *c)
{
    for (uint32_t i = 0; i < m->nin; i++) {
        int k = parquet_find_column(m->in[i].f->pq, c->name);
        if (k >= 0 && parquet_file_meta(m->in[i].f->pq)->cols[k].type == pcol_parquet_type(c->type))
            return true;
    }
    return false;
}

static int add_ocol(merger *m, uint32_t col)
{
    ocol *o = &m->oc[m->noc++];
    o->col = col;
    o->type = m->tab.cols[col].type;
    o->valid = vg_calloc(((size_t)m->batch_cap + 7) / 8, 1);
    o->vals = vg_malloc((size_t)m->batch_cap * value_width(o->type));
    vg_map_init(&o->index);
    if (o->type == CATALOG_TAG)
        o->dict = vg_malloc((size_t)m->batch_cap * sizeof *o->dict);
    return o->valid && o->vals && (o->type != CATALOG_TAG || o->dict) ? VG_OK : VG_ENOMEM;
}

/* Tags in name order, then fields in catalog order, then time: the sort key leads. */
static int plan_columns(merger *m)
{
    uint32_t nc = m->tab.ncols;
    m->oc = vg_calloc(nc + 1, sizeof *m->oc);
    m->tag_cols = vg_malloc((nc + 1) * sizeof *m->tag_cols);
    m->series_ids = vg_malloc((nc + 1) * sizeof *m->series_ids);
    if (!m->oc || !m->tag_cols || !m->series_ids)
        return VG_ENOMEM;
    for (uint32_t c = 1; c < nc; c++) {
        if (m->tab.cols[c].type != CATALOG_TAG || !held_by_some_input(m, &m->tab.cols[c]))
            continue;
        uint32_t j = m->ntags++;
        while (j > 0 && strcmp(m->tab.cols[m->tag_cols[j - 1]].name, m->tab.cols[c].name) > 0) {
            m->tag_cols[j] = m->tag_cols[j - 1];
            j--;
        }
        m->tag_cols[j] = c;
    }
    for (uint32_t j = 0; j < m->ntags; j++)
        if (add_ocol(m, m->tag_cols[j]) != VG_OK)
            return VG_ENOMEM;
    for (uint32_t c = 1; c < nc; c++)
        if (m->tab.cols[c].type != CATALOG_TAG && m->tab.cols[c].type != CATALOG_TIME &&
            held_by_some_input(m, &m->tab.cols[c]) && add_ocol(m, c) != VG_OK)
            return VG_ENOMEM;
    return add_ocol(m, 0);
}

static char *output_path(const merger *m, int64_t start, uint64_t id);

/* Starts the output file: its id and path now, as it is written while merging. */
static int open_writer(merger *m, int64_t start, vg_err *e)
{
    catalog_write_lock(m->p->cfg.cat);
    m->out_id = catalog_file_id_next(m->p->cfg.cat);
    catalog_write_unlock(m->p->cfg.cat);
    if (!(m->out_path = output_path(m, start, m->out_id)))
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    int rc = store_writer_open(m->p->cfg.store, m->out_path, &m->out, e);
    if (rc != VG_OK)
        return rc;
    parquet_column_def defs[m->noc];
    for (uint32_t k = 0; k < m->noc; k++) {
        const ocol *o = &m->oc[k];
        defs[k] = (parquet_column_def){m->tab.cols[o->col].name, pcol_parquet_type(o->type), o->col != 0,
                                       o->type == CATALOG_TAG, 0};
        if (o->col == 0)
            defs[k].name = "time";
    }
    parquet_schema schema = {defs, m->noc};
    /* A merge someone asked for (POST /api/v3/compact) writes on two threads; the
     * background one stays on its own low-priority thread. */
    parquet_write_options opt = {.row_group_rows = m->p->cfg.row_group_rows,
                                 .threads = m->pace ? 1 : 2};
    return parquet_writer_open_fd(&m->w, m->out.fd, &schema, &opt, e);
}

/* ---- the output file ---- */

static char *output_path(const merger *m, int64_t start, uint64_t id)
{
    return pfile_object_path(m->tab.db_name, m->db_id, m->tab.table_name, m->table_id, start, id);
}

/* The catalog's statistics of one output column (strings copied: the writer's go
 * with it). */
static int column_stats(const merger *m, uint32_t k, catalog_col_stats *cs)
{
    parquet_stats ps;
    parquet_writer_stats(m->w, k, &ps);
    catalog_type t = m->oc[k].type;
    pstats_to_catalog(&ps, t, m->oc[k].col, cs);
    if (!cs->has_minmax || (t != CATALOG_TAG && t != CATALOG_STRING))
        return VG_OK;
    /* the writer's strings go with it: the catalog entry keeps copies */
    cs->smin = vg_strndup(ps.min.s.ptr, ps.min.s.len);
    cs->smax = vg_strndup(ps.max.s.ptr, ps.max.s.len);
    if (!cs->smin || !cs->smax)
        return VG_ENOMEM;
    return VG_OK;
}

static void free_stats(catalog_file *cf)
{
    for (uint32_t k = 0; k < cf->nstats; k++) {
        vg_free(cf->stats[k].smin);
        vg_free(cf->stats[k].smax);
    }
    vg_free(cf->stats);
    cf->stats = NULL;
    cf->nstats = 0;
}

/* The time range of what the writer got: from its statistics of the time column. */
static void output_time_range(merger *m)
{
    parquet_stats ps;
    parquet_writer_stats(m->w, m->noc - 1, &ps);
    if (ps.has_min_max) {
        m->min_time = ps.min.i64;
        m->max_time = ps.max.i64;
    }
}

/* Finishes the file, publishes it in the store and describes it for the catalog. */
static int write_output(merger *m, uint64_t order, vg_err *e)
{
    uint64_t bytes = 0;
    int rc = parquet_writer_finish(m->w, e);
    if (rc == VG_OK)
        rc = store_writer_commit(&m->out, &bytes, e); /* closed either way */
    if (rc != VG_OK)
        return rc;
    output_time_range(m);
    catalog_file *cf = &m->res->cf;
    *cf = (catalog_file){.id = m->out_id, .db_id = m->db_id, .table_id = m->table_id,
                         .order = order, .min_time = m->min_time, .max_time = m->max_time,
                         .rows = m->res->rows_out, .bytes = bytes, .path = m->out_path};
    m->out_path = NULL; /* the result's now */
    cf->stats = vg_calloc(m->noc, sizeof *cf->stats);
    rc = cf->stats ? VG_OK : VG_ENOMEM;
    for (uint32_t k = 0; rc == VG_OK && k < m->noc; k++, cf->nstats++)
        rc = column_stats(m, k, &cf->stats[k]);
    if (rc != VG_OK) {
        vg_err ignore;
        vg_err_clear(&ignore);
        store_delete(m->p->cfg.store, cf->path, &ignore);
        vg_free(cf->path);
        cf->path = NULL;
        free_stats(cf);
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    }
    return VG_OK;
}

/* ---- the whole merge ---- */

static int merger_init(merger *m, persist *p, persist_file **in, size_t n, int64_t start,
                       const persist_tombs *tombs, bool pace, pmerge_result *res, bool *live,
                       vg_err *e)
{
    memset(m, 0, sizeof *m);
    m->out.fd = -1;
    m->p = p;
    m->pace = pace; /* before open_writer: it picks the writer's threads */
    m->pace_mark = vg_mono_ns();
    m->db_id = in[0]->db_id;
    m->table_id = in[0]->table_id;
    m->tombs = tombs;
    m->res = res;
    m->min_time = INT64_MAX;
    m->max_time = INT64_MIN;
    m->batch_cap = p->cfg.row_group_rows < MAX_BATCH_ROWS ? p->cfg.row_group_rows : MAX_BATCH_ROWS;
    vg_arena_init(&m->strs, 1 << 16);
    int rc = mtable_load(p, m->db_id, m->table_id, &m->tab, live, e);
    if (rc != VG_OK || !*live)
        return rc;
    m->in = vg_calloc(n, sizeof *m->in);
    m->heap = vg_malloc(n * sizeof *m->heap);
    if (!m->in || !m->heap)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    for (size_t i = 0; i < n; i++) {
        if ((rc = pfile_open(in[i], e)) != VG_OK)
            return rc;
        m->in[m->nin++] = (minput){.f = in[i], .idx = (uint32_t)i,
                                   .nrg = parquet_file_meta(in[i]->pq)->nrow_groups};
    }
    if (plan_columns(m) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    batch_reset(m);
    return open_writer(m, start, e);
}

static void merger_free(merger *m)
{
    for (uint32_t i = 0; i < m->nin; i++)
        if (m->in[i].c)
            buffer_chunk_unref(m->in[i].c);
    vg_free(m->in);
    vg_free(m->heap);
    for (uint32_t k = 0; m->oc && k < m->noc; k++) {
        vg_free(m->oc[k].valid);
        vg_free(m->oc[k].vals);
        vg_free(m->oc[k].dict);
        vg_map_free(&m->oc[k].index);
    }
    vg_free(m->oc);
    vg_free(m->tag_cols);
    vg_free(m->series_ids);
    parquet_writer_free(m->w);
    if (m->out.fd >= 0) /* not committed: no row left, or an error */
        store_writer_abort(&m->out);
    vg_free(m->out_path);
    vg_arena_free(&m->strs);
    mtable_free(&m->tab);
}

int pmerge_files(persist *p, persist_file **in, size_t n, const persist_tombs *tombs,
                 int64_t start, uint64_t order, bool pace, pmerge_result *res, vg_err *e)
{
    memset(res, 0, sizeof *res);
    merger m;
    bool live = true;
    int rc = merger_init(&m, p, in, n, start, tombs, pace, res, &live, e);
    if (rc == VG_OK && live)
        rc = merge_all(&m, e);
    if (rc == VG_OK && m.unsorted) {
        res->unsorted = true;
        rc = vg_err_set(e, VG_ECORRUPT, "an input is not sorted by (tag set, time)");
    }
    res->table_gone = !live;
    if (rc == VG_OK && live && res->rows_out > 0)
        rc = write_output(&m, order, e);
    merger_free(&m);
    return rc;
}

void pmerge_result_free(persist *p, pmerge_result *res, bool delete_object)
{
    if (res->cf.path && delete_object) {
        vg_err ignore;
        vg_err_clear(&ignore);
        store_delete(p->cfg.store, res->cf.path, &ignore);
    }
    vg_free(res->cf.path);
    res->cf.path = NULL;
    free_stats(&res->cf);
}
