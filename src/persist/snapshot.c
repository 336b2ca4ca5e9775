/* persist/snapshot.c: taking a snapshot (persist.h).
 *
 *   seal        the server's callback seals the buffer at a WAL record boundary S
 *   per table   rows of the sealed chunks sorted by (time partition, tag set, time,
 *               arrival); runs of one (tag set, time) merged, later write winning
 *               field by field; one Parquet file per partition (per closed day, or
 *               a few pieces of it, for a day loaded in bulk), put durably
 *   commit      one catalog commit adds every file and sets persisted = S
 *   publish     under the view lock: the files join their tables, the sealed
 *               chunks leave the buffer
 *   truncate    WAL segments wholly at or before S are deleted
 *
 * Tag sets are ordered by their values, tag columns taken in name order (the
 * order IOx uses for its sort key), a NULL tag first. Within one snapshot the
 * (chunk seq, row) of a row is its arrival order, so "later wins" is exact.
 *
 * The sort uses that rows arrive mostly in time order per series: a stable counting
 * sort by (partition, series) keeps arrival order within each bucket, and only the
 * buckets whose times are not already in order are sorted (insertion sort, qsort if
 * that gets long). Columns are then gathered a row group at a time, into arrays set
 * up once per table, and handed to the Parquet writer. */
#include "persist_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the table's schema, copied under the catalog lock ---- */

typedef struct tschema {
    uint32_t db_id;
    uint32_t table_id;
    char *db_name;
    char *table_name;
    uint32_t ncols;
    char **names;
    catalog_type *types;
} tschema;

static void tschema_free(tschema *t)
{
    for (uint32_t i = 0; i < t->ncols && t->names; i++)
        vg_free(t->names[i]);
    vg_free(t->names);
    vg_free(t->types);
    vg_free(t->db_name);
    vg_free(t->table_name);
}

/* false (nothing to persist) when the database or table was deleted meanwhile */
static int tschema_load(persist *p, uint32_t db_id, uint32_t table_id, tschema *t, bool *live,
                        vg_err *e)
{
    memset(t, 0, sizeof *t);
    t->db_id = db_id;
    t->table_id = table_id;
    catalog_read_lock(p->cfg.cat);
    catalog_db *db = catalog_db_get(p->cfg.cat, db_id);
    *live = db && !db->deleted && table_id < db->ntables && !db->tables[table_id]->deleted;
    int rc = VG_OK;
    if (*live) {
        catalog_table *tab = db->tables[table_id];
        t->db_name = vg_strdup(db->name);
        t->table_name = vg_strdup(tab->name);
        t->names = vg_calloc(tab->ncols, sizeof *t->names);
        t->types = vg_calloc(tab->ncols, sizeof *t->types);
        if (!t->db_name || !t->table_name || !t->names || !t->types)
            rc = VG_ENOMEM;
        for (uint32_t i = 0; rc == VG_OK && i < tab->ncols; i++, t->ncols++) {
            t->types[i] = tab->cols[i]->type;
            if (!(t->names[i] = vg_strdup(tab->cols[i]->name)))
                rc = VG_ENOMEM;
        }
    }
    catalog_read_unlock(p->cfg.cat);
    return rc == VG_OK ? VG_OK : vg_err_set(e, VG_ENOMEM, "out of memory reading a table schema");
}

/* ---- tag ranks: every tag value of the snapshot ordered ---- */

typedef struct tag_rank {
    uint32_t col;
    uint32_t nvals;
    vg_str *vals;       /* sorted; rank r (from 1) is vals[r - 1] */
    uint32_t **by_dict; /* [chunk][dict id] -> rank */
} tag_rank;

static int str_cmp(const void *a, const void *b)
{
    const vg_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int rank_tag(tag_rank *tr, buffer_chunk **ch, size_t nch)
{
    vg_map seen;
    vg_map_init(&seen);
    size_t cap = 0;
    for (size_t i = 0; i < nch; i++)
        if (tr->col < ch[i]->ncols && ch[i]->cols[tr->col].present)
            cap += ch[i]->cols[tr->col].dict->n;
    tr->vals = vg_malloc((cap ? cap : 1) * sizeof *tr->vals);
    tr->by_dict = vg_calloc(nch ? nch : 1, sizeof *tr->by_dict);
    int rc = tr->vals && tr->by_dict ? VG_OK : VG_ENOMEM;
    for (size_t i = 0; rc == VG_OK && i < nch; i++) {
        if (tr->col >= ch[i]->ncols || !ch[i]->cols[tr->col].present)
            continue;
        const buffer_dict *d = ch[i]->cols[tr->col].dict;
        for (uint32_t k = 0; rc == VG_OK && k < d->n; k++) {
            if (vg_map_get(&seen, d->strs[k], d->lens[k]))
                continue;
            tr->vals[tr->nvals++] = (vg_str){d->strs[k], d->lens[k]};
            rc = vg_map_put(&seen, d->strs[k], d->lens[k], (void *)(uintptr_t)1);
        }
    }
    if (rc == VG_OK)
        qsort(tr->vals, tr->nvals, sizeof *tr->vals, str_cmp);
    vg_map_free(&seen);
    vg_map_init(&seen);
    for (uint32_t r = 0; rc == VG_OK && r < tr->nvals; r++)
        rc = vg_map_put(&seen, tr->vals[r].ptr, tr->vals[r].len, (void *)(uintptr_t)(r + 1));
    for (size_t i = 0; rc == VG_OK && i < nch; i++) {
        if (tr->col >= ch[i]->ncols || !ch[i]->cols[tr->col].present)
            continue;
        const buffer_dict *d = ch[i]->cols[tr->col].dict;
        if (!(tr->by_dict[i] = vg_malloc((d->n ? d->n : 1) * sizeof(uint32_t)))) {
            rc = VG_ENOMEM;
            break;
        }
        for (uint32_t k = 0; k < d->n; k++)
            tr->by_dict[i][k] = (uint32_t)(uintptr_t)vg_map_get(&seen, d->strs[k], d->lens[k]);
    }
    vg_map_free(&seen);
    return rc;
}

static void tag_ranks_free(tag_rank *tr, uint32_t ntags, size_t nch)
{
    for (uint32_t j = 0; tr && j < ntags; j++) {
        for (size_t i = 0; tr[j].by_dict && i < nch; i++)
            vg_free(tr[j].by_dict[i]);
        vg_free(tr[j].by_dict);
        vg_free(tr[j].vals);
    }
    vg_free(tr);
}

static inline uint32_t row_rank(const tag_rank *tr, buffer_chunk *c, uint32_t cpos, uint32_t row)
{
    if (tr->col >= c->ncols || !buffer_is_valid(&c->cols[tr->col], row))
        return 0;
    return tr->by_dict[cpos][c->cols[tr->col].v.ids[row]];
}

/* ---- rows in order ---- */

/* One row of the table's sealed chunks; (cpos, row) is its arrival order. */
typedef struct srow {
    int64_t time;
    uint32_t part;   /* index into the table's partition keys (ascending) */
    uint32_t series; /* rank of the tag set */
    uint32_t cpos;
    uint32_t row;
} srow;

/* Time, then arrival: the order within one (partition, series). */
static int time_cmp(const void *a, const void *b)
{
    const srow *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->cpos != y->cpos)
        return x->cpos < y->cpos ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

typedef struct series_sort {
    const uint32_t *tuples; /* ntags ranks per series */
    uint32_t ntags;
} series_sort;

static int tuple_cmp(const void *a, const void *b, void *ctx)
{
    const series_sort *ss = ctx;
    const uint32_t *x = ss->tuples + (size_t)*(const uint32_t *)a * ss->ntags;
    const uint32_t *y = ss->tuples + (size_t)*(const uint32_t *)b * ss->ntags;
    for (uint32_t j = 0; j < ss->ntags; j++)
        if (x[j] != y[j])
            return x[j] < y[j] ? -1 : 1;
    return 0;
}

/* Gives every row its series rank, and *nseries the number of ranks: with one tag
 * the tag's rank itself (0 for NULL); with more, distinct tuples are collected and
 * sorted. */
static int rank_series(srow *rows, size_t nrows, buffer_chunk **ch, const tag_rank *tr,
                       uint32_t ntags, uint32_t *nseries)
{
    *nseries = 1;
    if (ntags == 0)
        return VG_OK;
    if (ntags == 1) {
        *nseries = tr[0].nvals + 1;
        for (size_t i = 0; i < nrows; i++)
            rows[i].series = row_rank(&tr[0], ch[rows[i].cpos], rows[i].cpos, rows[i].row);
        return VG_OK;
    }
    vg_map ids;
    vg_map_init(&ids);
    size_t cap = 1024, n = 0;
    uint32_t *tuples = vg_malloc(cap * ntags * sizeof *tuples);
    uint32_t *key = vg_malloc(ntags * sizeof *key);
    int rc = tuples && key ? VG_OK : VG_ENOMEM;
    for (size_t i = 0; rc == VG_OK && i < nrows; i++) {
        for (uint32_t j = 0; j < ntags; j++)
            key[j] = row_rank(&tr[j], ch[rows[i].cpos], rows[i].cpos, rows[i].row);
        void *hit = vg_map_get(&ids, (const char *)key, ntags * sizeof *key);
        if (hit) {
            rows[i].series = (uint32_t)((uintptr_t)hit - 1);
            continue;
        }
        if (n == cap) {
            uint32_t *nt = vg_realloc(tuples, cap * 2 * ntags * sizeof *tuples);
            if (!nt) {
                rc = VG_ENOMEM;
                break;
            }
            tuples = nt;
            cap *= 2;
        }
        memcpy(tuples + n * ntags, key, ntags * sizeof *key);
        rc = vg_map_put(&ids, (const char *)key, ntags * sizeof *key, (void *)(uintptr_t)(n + 1));
        rows[i].series = (uint32_t)n++;
    }
    uint32_t *order = rc == VG_OK ? vg_malloc((n ? n : 1) * sizeof *order) : NULL;
    uint32_t *rank = rc == VG_OK ? vg_malloc((n ? n : 1) * sizeof *rank) : NULL;
    if (rc == VG_OK && (!order || !rank))
        rc = VG_ENOMEM;
    if (rc == VG_OK) {
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        series_sort ss = {tuples, ntags};
        qsort_r(order, n, sizeof *order, tuple_cmp, &ss);
        for (uint32_t i = 0; i < n; i++)
            rank[order[i]] = i;
        for (size_t i = 0; i < nrows; i++)
            rows[i].series = rank[rows[i].series];
        *nseries = (uint32_t)(n ? n : 1);
    }
    vg_free(order);
    vg_free(rank);
    vg_free(tuples);
    vg_free(key);
    vg_map_free(&ids);
    return rc;
}

/* ---- sorting: buckets by (partition, series), then time within a bucket ---- */

/* A pair key space up to this many more buckets than rows is sorted in one pass. */
#define PAIR_BUCKETS_SLACK 65536u

typedef enum sort_key { KEY_SERIES, KEY_PART, KEY_PAIR } sort_key;

static inline size_t key_of(const srow *r, sort_key k, uint32_t nseries)
{
    if (k == KEY_SERIES)
        return r->series;
    if (k == KEY_PART)
        return r->part;
    return (size_t)r->part * nseries + r->series;
}

/* Stable counting sort of src into dst on one key of nkeys values: rows of one key
 * keep their order, which is arrival order. */
static int counting_sort(const srow *src, srow *dst, size_t n, sort_key k, size_t nkeys,
                         uint32_t nseries)
{
    size_t *at = vg_calloc(nkeys + 1, sizeof *at);
    if (!at)
        return VG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        at[key_of(&src[i], k, nseries) + 1]++;
    for (size_t b = 1; b <= nkeys; b++)
        at[b] += at[b - 1];
    for (size_t i = 0; i < n; i++)
        dst[at[key_of(&src[i], k, nseries)]++] = src[i];
    vg_free(at);
    return VG_OK;
}

/* *rows (in arrival order) by (partition, series), arrival order kept within: one
 * pass on the pair when its key space is about the row count or less, else two
 * stable passes (series, then partition) so memory never follows parts x series. */
static int sort_buckets(srow **rows, size_t n, uint32_t nparts, uint32_t nseries)
{
    srow *tmp = vg_malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp)
        return VG_ENOMEM;
    size_t pairs = (size_t)nparts * nseries;
    int rc;
    if (pairs <= n + PAIR_BUCKETS_SLACK) {
        rc = counting_sort(*rows, tmp, n, KEY_PAIR, pairs, nseries);
        if (rc == VG_OK) {
            vg_free(*rows);
            *rows = tmp;
            return VG_OK;
        }
    } else {
        rc = counting_sort(*rows, tmp, n, KEY_SERIES, nseries, nseries);
        if (rc == VG_OK)
            rc = counting_sort(tmp, *rows, n, KEY_PART, nparts, nseries);
    }
    vg_free(tmp);
    return rc;
}

/* One bucket's rows by time. Late rows are not far behind (with two writers every
 * other batch of a series may arrive before the one preceding it: a few moves per
 * row on average), so an insertion sort (stable: ties keep arrival order) does it in
 * about linear time; when it moves more than INSERTION_MOVES per row, qsort on
 * (time, arrival) takes over from where it stands. */
#define INSERTION_MOVES 32

static void sort_bucket_times(srow *r, size_t n)
{
    size_t moves = 0, budget = INSERTION_MOVES * n + 64;
    for (size_t i = 1; i < n; i++) {
        srow x = r[i];
        size_t j = i;
        while (j > 0 && r[j - 1].time > x.time) {
            r[j] = r[j - 1];
            j--;
        }
        r[j] = x;
        moves += i - j;
        if (moves > budget) {
            qsort(r, n, sizeof *r, time_cmp);
            return;
        }
    }
}

/* Within each (partition, series) bucket rows are in arrival order, which is time
 * order unless some arrived late; only such buckets are sorted. Equal times stay in
 * arrival order: the merge lets the later row win. */
static void sort_times(srow *rows, size_t n)
{
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        bool in_order = true;
        for (; b < n && rows[b].part == rows[a].part && rows[b].series == rows[a].series; b++)
            in_order &= rows[b].time >= rows[b - 1].time;
        if (!in_order)
            sort_bucket_times(rows + a, b - a);
        a = b;
    }
}

/* ---- one file ---- */

/* Where one column's values are in one chunk: looked up once per file rather than
 * through the chunk for every row. */
typedef struct col_src {
    const uint8_t *valid; /* NULL: the chunk has no value in the column */
    bool all_valid;       /* every row has one: no need to look at the bitmap */
    const buffer_column *bc;
} col_src;

/* One column of the files of a table: its source in every chunk, one batch of its
 * values as the Parquet writer takes them (set up once per table, so the memory is
 * touched once, not per file), and for a tag the file's own dictionary (only the
 * values the file uses), which grows from batch to batch. */
typedef struct file_col {
    uint32_t col; /* catalog column id */
    catalog_type type;
    col_src *src;         /* [chunk] */
    const tag_rank *tr;   /* tags */
    uint8_t *valid;       /* batch bitmap */
    void *vals;           /* batch values */
    uint32_t *file_id;    /* tags: rank -> file dictionary id + 1 */
    vg_str *dict;
    uint32_t *dict_rank;  /* tags: rank of each dictionary entry, to reset file_id */
    uint32_t ndict;
} file_col;

typedef struct file_cols {
    parquet_column_def *defs;
    file_col *cols;
    uint32_t n;
} file_cols;

typedef struct snap_file {
    catalog_file cf;
    char *path;
} snap_file;

struct snap {
    persist *p;
    /* the columns of one table's files and their batch arrays (write_partition) */
    file_cols fc;
    size_t batch;
    vg_arena cols_arena;
    /* Compaction: one file per group [starts[i], starts[i + 1]) of times, and every
     * file gets `order`. Snapshots: one file per gen1 partition, order = file id. */
    const int64_t *starts;
    size_t nstarts;
    uint64_t order;
    int64_t now_ns; /* snapshots: the clock, which tells closed days */
    buffer_chunk **ch; /* one table's sealed chunks */
    size_t nch;
    tschema ts;
    tag_rank *tr;
    uint32_t ntags;
    uint32_t *tag_of_col; /* catalog col -> index in tr, or UINT32_MAX */
    bool *present;        /* catalog col present in some chunk */
    snap_file *files;
    size_t nfiles;
    size_t files_cap;
    uint64_t rows_out;
    uint64_t bytes_out;
};

static void path_escape(vg_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                  (*p == '.' && p != (const unsigned char *)s);
        if (ok)
            vg_buf_putc(b, (char)*p);
        else
            vg_buf_printf(b, "%%%02X", *p);
    }
}

/* dbs/<db>-<id>/<table>-<id>/<YYYY-MM-DD>/<HH-MM>/<file id>.parquet: names for people
 * browsing the directory, ids so a recreated database or table never collides. */
char *pfile_object_path(const char *db_name, uint32_t db_id, const char *table_name,
                        uint32_t table_id, int64_t part_start, uint64_t id)
{
    vg_buf b;
    vg_buf_init(&b);
    vg_buf_puts(&b, "dbs/");
    path_escape(&b, db_name);
    vg_buf_printf(&b, "-%u/", db_id);
    path_escape(&b, table_name);
    vg_buf_printf(&b, "-%u/", table_id);
    time_t secs = (time_t)floor_div(part_start, 1000000000LL);
    struct tm tm;
    gmtime_r(&secs, &tm);
    vg_buf_printf(&b, "%04d-%02d-%02d/%02d-%02d/%010llu.parquet", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, (unsigned long long)id);
    if (b.oom) {
        vg_buf_free(&b);
        return NULL;
    }
    return vg_buf_steal(&b);
}

static char *file_path(const snap *s, int64_t part_start, uint64_t id)
{
    return pfile_object_path(s->ts.db_name, s->ts.db_id, s->ts.table_name, s->ts.table_id,
                             part_start, id);
}

parquet_type pcol_parquet_type(catalog_type t)
{
    switch (t) {
    case CATALOG_TIME: return PARQUET_TIMESTAMP;
    case CATALOG_TAG:
    case CATALOG_STRING: return PARQUET_STRING;
    case CATALOG_FLOAT: return PARQUET_DOUBLE;
    case CATALOG_INT: return PARQUET_INT64;
    case CATALOG_UINT: return PARQUET_UINT64;
    case CATALOG_BOOL: return PARQUET_BOOL;
    }
    return PARQUET_UNSUPPORTED;
}

/* The latest row of a run with a value in the column, or NULL. */
static inline const srow *latest_with(const col_src *src, const srow *run, size_t n)
{
    for (size_t k = n; k-- > 0;) {
        const col_src *cs = &src[run[k].cpos];
        if (cs->all_valid || (cs->valid && (cs->valid[run[k].row >> 3] >> (run[k].row & 7)) & 1))
            return &run[k];
    }
    return NULL;
}

static void set_bit(uint8_t *bm, size_t i)
{
    bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* What a row without a value holds (the writer ignores it; kept defined). */
static inline void put_null(file_col *f, size_t r)
{
    switch (f->type) {
    case CATALOG_BOOL: ((uint8_t *)f->vals)[r] = 0; break;
    case CATALOG_TAG: ((uint32_t *)f->vals)[r] = 0; break;
    case CATALOG_STRING: ((vg_str *)f->vals)[r] = (vg_str){"", 0}; break;
    default: ((int64_t *)f->vals)[r] = 0; break;
    }
}

static inline void put_value(file_col *f, size_t r, const srow *w)
{
    const buffer_column *bc = f->src[w->cpos].bc;
    switch (f->type) {
    case CATALOG_TIME:
    case CATALOG_INT:
    case CATALOG_UINT:
    case CATALOG_FLOAT: ((int64_t *)f->vals)[r] = bc->v.i64[w->row]; break;
    case CATALOG_BOOL: ((uint8_t *)f->vals)[r] = bc->v.b[w->row]; break;
    case CATALOG_STRING:
        /* a chunk whose strings are all empty has no byte array at all */
        ((vg_str *)f->vals)[r] = (vg_str){bc->str ? bc->str + bc->v.off[w->row] : "",
                                          bc->v.off[w->row + 1] - bc->v.off[w->row]};
        break;
    case CATALOG_TAG: {
        uint32_t rank = f->tr->by_dict[w->cpos][bc->v.ids[w->row]];
        if (!f->file_id[rank]) {
            f->dict[f->ndict] = f->tr->vals[rank - 1];
            f->dict_rank[f->ndict] = rank;
            f->file_id[rank] = ++f->ndict;
        }
        ((uint32_t *)f->vals)[r] = f->file_id[rank] - 1;
        break;
    }
    }
}

static void set_column_data(const file_col *f, parquet_column_data *d, bool all_valid)
{
    memset(d, 0, sizeof *d);
    d->valid = all_valid ? NULL : f->valid;
    switch (f->type) {
    case CATALOG_TIME:
    case CATALOG_INT: d->i64 = f->vals; break;
    case CATALOG_UINT: d->u64 = f->vals; break;
    case CATALOG_FLOAT: d->f64 = f->vals; break;
    case CATALOG_BOOL: d->b = f->vals; break;
    case CATALOG_STRING: d->strs = f->vals; break;
    case CATALOG_TAG:
        d->ids = f->vals;
        d->dict = f->dict;
        d->ndict = f->ndict;
        break;
    }
}

/* The time of each run (every row has one), and the batch's time range. */
static void gather_times(file_col *f, const srow *rows, const size_t *run_start, size_t nruns,
                         parquet_column_data *d, int64_t *tmin, int64_t *tmax)
{
    int64_t *t = f->vals;
    for (size_t r = 0; r < nruns; r++) {
        t[r] = rows[run_start[r]].time;
        *tmin = t[r] < *tmin ? t[r] : *tmin;
        *tmax = t[r] > *tmax ? t[r] : *tmax;
    }
    set_column_data(f, d, true);
}

/* One column of a batch of merged runs: per run, the latest row with a value wins. */
static void gather_values(file_col *f, const srow *rows, const size_t *run_start, size_t nruns,
                          parquet_column_data *d)
{
    memset(f->valid, 0, (nruns + 7) / 8);
    bool all_valid = true;
    for (size_t r = 0; r < nruns; r++) {
        const srow *w = latest_with(f->src, rows + run_start[r], run_start[r + 1] - run_start[r]);
        if (w) {
            set_bit(f->valid, r);
            put_value(f, r, w);
        } else {
            all_valid = false;
            put_null(f, r);
        }
    }
    set_column_data(f, d, all_valid);
}

/* Up to max runs of one (series, time) from rows[*at..n): their starts in
 * run_start[0..k], run_start[k] their end; *at moves past them. Returns k. */
static size_t next_runs(const srow *rows, size_t n, size_t *at, size_t *run_start, size_t max)
{
    size_t k = 0, i = *at;
    while (i < n && k < max) {
        run_start[k++] = i;
        size_t first = i++;
        while (i < n && rows[i].series == rows[first].series && rows[i].time == rows[first].time)
            i++;
    }
    run_start[k] = i;
    *at = i;
    return k;
}

void pstats_to_catalog(const parquet_stats *ps, catalog_type t, uint32_t col,
                       catalog_col_stats *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->col_id = col;
    cs->type = t;
    cs->null_count = ps->has_null_count ? ps->null_count : 0;
    if (!ps->has_min_max)
        return;
    switch (t) {
    case CATALOG_TIME:
    case CATALOG_INT: cs->min.i = ps->min.i64; cs->max.i = ps->max.i64; break;
    case CATALOG_UINT: cs->min.u = ps->min.u64; cs->max.u = ps->max.u64; break;
    case CATALOG_FLOAT: cs->min.f = ps->min.f64; cs->max.f = ps->max.f64; break;
    case CATALOG_BOOL: cs->min.u = ps->min.b; cs->max.u = ps->max.b; break;
    case CATALOG_TAG:
    case CATALOG_STRING:
        if (!ps->min_exact || !ps->max_exact || ps->min.s.len > CATALOG_STAT_STR_MAX ||
            ps->max.s.len > CATALOG_STAT_STR_MAX)
            return;
        cs->smin = (char *)ps->min.s.ptr; /* copied by catalog_file_add */
        cs->smin_len = (uint32_t)ps->min.s.len;
        cs->smax = (char *)ps->max.s.ptr;
        cs->smax_len = (uint32_t)ps->max.s.len;
        break;
    }
    cs->has_minmax = true;
}

static int remember_file(snap *s, const catalog_file *cf, const parquet_writer *w,
                         const file_cols *fc)
{
    if (s->nfiles == s->files_cap) {
        size_t cap = s->files_cap ? s->files_cap * 2 : 8;
        snap_file *nf = vg_realloc(s->files, cap * sizeof *nf);
        if (!nf)
            return VG_ENOMEM;
        s->files = nf;
        s->files_cap = cap;
    }
    snap_file *sf = &s->files[s->nfiles];
    memset(sf, 0, sizeof *sf);
    sf->cf = *cf;
    sf->cf.stats = vg_calloc(fc->n, sizeof *sf->cf.stats);
    if (!sf->cf.stats)
        return VG_ENOMEM;
    /* string bounds point into the writer: deep-copy them now */
    for (uint32_t k = 0; k < fc->n; k++) {
        parquet_stats ps;
        parquet_writer_stats(w, k, &ps);
        catalog_col_stats *cs = &sf->cf.stats[sf->cf.nstats++];
        pstats_to_catalog(&ps, fc->cols[k].type, fc->cols[k].col, cs);
        if (cs->smin) {
            cs->smin = vg_strndup(cs->smin, cs->smin_len);
            cs->smax = vg_strndup(cs->smax, cs->smax_len);
            if (!cs->smin || !cs->smax)
                return VG_ENOMEM;
        }
    }
    sf->path = cf->path;
    s->nfiles++;
    return VG_OK;
}

static void snap_files_free(snap *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        catalog_file *cf = &s->files[i].cf;
        for (uint32_t k = 0; k < cf->nstats; k++) {
            vg_free(cf->stats[k].smin);
            vg_free(cf->stats[k].smax);
        }
        vg_free(cf->stats);
        vg_free(s->files[i].path);
    }
    vg_free(s->files);
    s->files = NULL;
    s->nfiles = s->files_cap = 0;
}

/* Bits 0..n-1 are all set. A quick pass over the bitmap (n / 8 bytes) that saves
 * gathering a random read of it per row. */
static bool all_set(const uint8_t *bm, uint32_t n)
{
    for (uint32_t i = 0; i < n / 8; i++)
        if (bm[i] != 0xff)
            return false;
    for (uint32_t i = n & ~7u; i < n; i++)
        if (!((bm[i >> 3] >> (i & 7)) & 1))
            return false;
    return true;
}

/* The columns of the table's files, tags first (in name order), then fields by id,
 * then time: the sort key leads. Each gets its sources per chunk and arrays for
 * batches of up to `batch` rows, all from the arena. */
static int define_columns(const snap *s, file_cols *fc, size_t batch, vg_arena *a)
{
    uint32_t nc = s->ts.ncols;
    fc->defs = vg_arena_calloc(a, nc * sizeof *fc->defs);
    fc->cols = vg_arena_calloc(a, nc * sizeof *fc->cols);
    if (!fc->defs || !fc->cols)
        return VG_ENOMEM;
    for (uint32_t j = 0; j < s->ntags; j++) {
        uint32_t col = s->tr[j].col;
        fc->cols[fc->n].col = col;
        fc->defs[fc->n++] = (parquet_column_def){s->ts.names[col], PARQUET_STRING, true, true, 0};
    }
    for (uint32_t col = 1; col < nc; col++) {
        if (!s->present[col] || s->ts.types[col] == CATALOG_TAG)
            continue;
        fc->cols[fc->n].col = col;
        fc->defs[fc->n++] =
            (parquet_column_def){s->ts.names[col], pcol_parquet_type(s->ts.types[col]), true, false, 0};
    }
    fc->cols[fc->n].col = 0;
    fc->defs[fc->n++] = (parquet_column_def){"time", PARQUET_TIMESTAMP, false, false, 0};
    for (uint32_t k = 0; k < fc->n; k++) {
        file_col *f = &fc->cols[k];
        f->type = s->ts.types[f->col];
        size_t width = f->type == CATALOG_BOOL ? 1 : f->type == CATALOG_STRING ? sizeof(vg_str) : 8;
        f->valid = vg_arena_alloc(a, batch / 8 + 1);
        f->vals = vg_arena_alloc(a, batch * width);
        f->src = vg_arena_alloc(a, s->nch * sizeof *f->src);
        if (!f->valid || !f->vals || !f->src)
            return VG_ENOMEM;
        for (size_t i = 0; i < s->nch; i++) {
            const buffer_column *bc = f->col < s->ch[i]->ncols ? &s->ch[i]->cols[f->col] : NULL;
            const uint8_t *valid = bc && bc->present ? bc->valid : NULL;
            f->src[i] = (col_src){valid, valid && all_set(valid, s->ch[i]->nrows), bc};
        }
        if (f->type != CATALOG_TAG)
            continue;
        f->tr = &s->tr[s->tag_of_col[f->col]];
        f->file_id = vg_arena_calloc(a, (f->tr->nvals + 1) * sizeof *f->file_id);
        f->dict = vg_arena_alloc(a, (f->tr->nvals + 1) * sizeof *f->dict);
        f->dict_rank = vg_arena_alloc(a, (f->tr->nvals + 1) * sizeof *f->dict_rank);
        if (!f->file_id || !f->dict || !f->dict_rank)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* Empties the tag dictionaries for the next file, touching only what the last used. */
static void reset_file_dicts(file_cols *fc)
{
    for (uint32_t k = 0; k < fc->n; k++) {
        file_col *f = &fc->cols[k];
        for (uint32_t i = 0; i < f->ndict; i++)
            f->file_id[f->dict_rank[i]] = 0;
        f->ndict = 0;
    }
}

/* Merges the sorted rows[0..n) run by run and hands them to the writer a row group
 * at a time, so the gathered columns stay small (and the writer sees the same row
 * group slices as with one call). */
typedef struct gather_job {
    file_cols *fc;
    const srow *rows;
    const size_t *run_start;
    size_t nruns;
    int64_t *tmin, *tmax; /* touched by the time column's gather only */
} gather_job;

/* The writer's fill callback: runs on the thread that writes column c (a column's
 * gather touches only its own file_col). */
static void gather_column(void *ctx, uint32_t c, parquet_column_data *out)
{
    gather_job *j = ctx;
    file_col *f = &j->fc->cols[c];
    if (f->col == 0)
        gather_times(f, j->rows, j->run_start, j->nruns, out, j->tmin, j->tmax);
    else
        gather_values(f, j->rows, j->run_start, j->nruns, out);
}

static int write_rows(snap *s, parquet_writer *w, file_cols *fc, const srow *rows, size_t n,
                      size_t batch, uint64_t *nruns, int64_t *tmin, int64_t *tmax, vg_err *e)
{
    size_t *run_start = vg_malloc((batch + 1) * sizeof *run_start);
    if (!run_start)
        return vg_err_set(e, VG_ENOMEM, "out of memory writing a snapshot");
    int rc = VG_OK;
    *tmin = INT64_MAX;
    *tmax = INT64_MIN;
    for (size_t at = 0; rc == VG_OK && at < n;) {
        size_t k = next_runs(rows, n, &at, run_start, batch);
        gather_job job = {fc, rows, run_start, k, tmin, tmax};
        rc = parquet_writer_write_filled(w, (uint32_t)k, gather_column, &job, e);
        *nruns += k;
    }
    vg_free(run_start);
    return rc;
}

/* Writes one file's rows (sorted); `start` names its folder. The file streams to the
 * store row group by row group: only the writer's current row group is in memory. */
static int write_partition(snap *s, const srow *rows, size_t n, int64_t start, uint64_t file_id,
                           vg_err *e)
{
    persist *p = s->p;
    file_cols *fc = &s->fc;
    parquet_writer *w = NULL;
    store_writer out = {.fd = -1};
    char *path = file_path(s, start, file_id);
    int rc = path ? store_writer_open(p->cfg.store, path, &out, e)
                  : vg_err_set(e, VG_ENOMEM, "out of memory writing a snapshot");
    parquet_schema schema = {fc->defs, fc->n};
    /* Snapshots share the columns with a helper thread: a shorter snapshot is less
     * buffer growth behind it (rows keep arriving while it writes). Compaction's
     * fallback (starts set) stays on its one low-priority thread. */
    parquet_write_options opt = {.row_group_rows = p->cfg.row_group_rows,
                                 .threads = s->starts ? 1 : 2};
    if (rc == VG_OK)
        rc = parquet_writer_open_fd(&w, out.fd, &schema, &opt, e);
    uint64_t nruns = 0, bytes = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    if (rc == VG_OK)
        rc = write_rows(s, w, fc, rows, n, s->batch, &nruns, &tmin, &tmax, e);
    if (rc == VG_OK)
        rc = parquet_writer_finish(w, e);
    if (rc == VG_OK)
        rc = store_writer_commit(&out, &bytes, e);
    else if (path)
        store_writer_abort(&out);
    if (rc == VG_OK) {
        catalog_file cf = {.id = file_id, .db_id = s->ts.db_id, .table_id = s->ts.table_id,
                           .order = s->order ? s->order : file_id, .min_time = tmin, .max_time = tmax,
                           .rows = nruns, .bytes = bytes, .path = path};
        if (remember_file(s, &cf, w, fc) != VG_OK)
            rc = vg_err_set(e, VG_ENOMEM, "out of memory writing a snapshot");
        else
            path = NULL; /* owned by s->files now */
        s->rows_out += nruns;
        s->bytes_out += bytes;
    }
    if (path && rc != VG_OK) {
        vg_err ignore;
        vg_err_clear(&ignore);
        store_delete(p->cfg.store, path, &ignore);
    }
    vg_free(path);
    parquet_writer_free(w);
    reset_file_dicts(fc);
    return rc;
}

/* The group of time t: the last start not after it (times before the first start
 * go to the first group). */
static int64_t group_of(const snap *s, int64_t t)
{
    if (!s->starts)
        return floor_div(t, s->p->cfg.gen1_ns);
    size_t lo = 0, hi = s->nstarts;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->starts[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return (int64_t)lo;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts keys[0..n) and drops repeats; returns the new count. */
static size_t sort_unique(int64_t *keys, size_t n)
{
    qsort(keys, n, sizeof *keys, i64_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || keys[i] != keys[m - 1])
            keys[m++] = keys[i];
    return m;
}

/* The distinct partition keys of the rows, ascending. Rows come mostly in time order,
 * so a key is noted only when it differs from the previous row's; the list is
 * deduplicated whenever it fills up, so it stays about the size of the answer. */
static int collect_parts(const snap *s, int64_t **out, uint32_t *nout)
{
    size_t cap = 64, n = 0;
    int64_t *keys = vg_malloc(cap * sizeof *keys);
    if (!keys)
        return VG_ENOMEM;
    for (size_t i = 0; i < s->nch; i++) {
        const int64_t *t = s->ch[i]->cols[0].v.i64;
        for (uint32_t r = 0; r < s->ch[i]->nrows; r++) {
            int64_t k = group_of(s, t[r]);
            if (n && keys[n - 1] == k)
                continue;
            if (n == cap && (n = sort_unique(keys, n)) > cap / 2) {
                int64_t *nk = vg_realloc(keys, cap * 2 * sizeof *keys);
                if (!nk) {
                    vg_free(keys);
                    return VG_ENOMEM;
                }
                keys = nk;
                cap *= 2;
            }
            keys[n++] = k;
        }
    }
    *nout = (uint32_t)sort_unique(keys, n);
    *out = keys;
    return VG_OK;
}

/* The index of key k in keys[0..n) (it is there). */
static uint32_t part_index(const int64_t *keys, uint32_t n, int64_t k)
{
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (keys[mid] <= k)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Every row of the chunks in arrival order, with its partition's index. */
static int collect_rows(const snap *s, const int64_t *parts, uint32_t nparts, srow **out,
                        size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < s->nch; i++)
        total += s->ch[i]->nrows;
    srow *rows = vg_malloc((total ? total : 1) * sizeof *rows);
    if (!rows)
        return VG_ENOMEM;
    size_t k = 0;
    uint32_t p = 0; /* consecutive rows mostly share a partition */
    for (size_t i = 0; i < s->nch; i++) {
        const int64_t *t = s->ch[i]->cols[0].v.i64;
        for (uint32_t r = 0; r < s->ch[i]->nrows; r++) {
            int64_t key = group_of(s, t[r]);
            if (parts[p] != key)
                p = part_index(parts, nparts, key);
            rows[k++] = (srow){t[r], p, 0, (uint32_t)i, r};
        }
    }
    *out = rows;
    *n = total;
    return VG_OK;
}

#define SNAP_DAY_NS (86400LL * 1000000000LL)
/* A backfilled day's file holds at most this many row groups (~100 MB of ten float
 * fields, compaction's default size cap); more rows are split into even pieces. */
#define SNAP_DAY_PIECE_ROW_GROUPS 32

/* Whether the snapshot may write the partitions of `day` together: the day is
 * closed by compaction's rule (the clock is a partition past its end) and the
 * partitions tile days exactly. */
static bool day_closed(const snap *s, int64_t day)
{
    int64_t g = s->p->cfg.gen1_ns;
    return SNAP_DAY_NS % g == 0 && s->now_ns - g > (day + 1) * SNAP_DAY_NS;
}

/* Splits one closed day's partitions parts[a..b) (rows per partition in cnt) into
 * files: each partition its own file when the day has less than a row group here
 * (late rows: compaction merges them later), else pieces of consecutive partitions
 * of about even size. Sets gof[] and the files' starts; returns the next file index. */
static uint32_t split_day(const snap *s, const int64_t *parts, const size_t *cnt, uint32_t a,
                          uint32_t b, uint32_t g, uint32_t *gof, int64_t *gstart)
{
    int64_t gen1 = s->p->cfg.gen1_ns;
    size_t total = 0;
    for (uint32_t i = a; i < b; i++)
        total += cnt[i];
    size_t rg = s->p->cfg.row_group_rows, cap = rg * SNAP_DAY_PIECE_ROW_GROUPS;
    bool together = total >= rg && day_closed(s, floor_div(parts[a] * gen1, SNAP_DAY_NS));
    size_t pieces = (total + cap - 1) / cap, target = pieces ? (total + pieces - 1) / pieces : 0;
    size_t acc = 0;
    for (uint32_t i = a; i < b; i++) {
        if (i > a && (!together || acc >= target)) {
            g++;
            acc = 0;
        }
        if (i == a || acc == 0)
            gstart[g] = parts[i] * gen1;
        gof[i] = g;
        acc += cnt[i];
    }
    return g + 1;
}

/* Snapshots: the file of each partition. A closed day with at least a row group of
 * rows in this snapshot (a historical load, data older than the clock) is written as
 * one file, or a few even pieces, instead of one file per partition: compaction would
 * otherwise rewrite every row of it once more, and a piece of half compaction's size
 * cap or more is left alone by it. Rows' part indexes become file indexes; *nfiles and
 * the files' start times (the folder names) are returned. */
static int group_closed_days(snap *s, const int64_t *parts, uint32_t nparts, srow *rows,
                             size_t nrows, uint32_t *nfiles, int64_t **starts)
{
    size_t *cnt = vg_calloc(nparts ? nparts : 1, sizeof *cnt);
    uint32_t *gof = vg_malloc((nparts ? nparts : 1) * sizeof *gof);
    int64_t *gstart = vg_malloc((nparts ? nparts : 1) * sizeof *gstart);
    if (!cnt || !gof || !gstart) {
        vg_free(cnt);
        vg_free(gof);
        vg_free(gstart);
        return VG_ENOMEM;
    }
    for (size_t i = 0; i < nrows; i++)
        cnt[rows[i].part]++;
    int64_t gen1 = s->p->cfg.gen1_ns;
    uint32_t g = 0;
    for (uint32_t a = 0; a < nparts;) {
        int64_t day = floor_div(parts[a] * gen1, SNAP_DAY_NS);
        uint32_t b = a + 1;
        while (b < nparts && floor_div(parts[b] * gen1, SNAP_DAY_NS) == day)
            b++;
        g = split_day(s, parts, cnt, a, b, g, gof, gstart);
        a = b;
    }
    for (size_t i = 0; i < nrows; i++)
        rows[i].part = gof[rows[i].part];
    vg_free(cnt);
    vg_free(gof);
    *nfiles = g;
    *starts = gstart;
    return VG_OK;
}

/* The table's rows sorted by (file, series, time, arrival): the order of the files and
 * of the rows in each. *starts: each file's start time (its folder). */
static int sort_rows(snap *s, const int64_t *parts, uint32_t nparts, srow **rows, size_t *nrows,
                     int64_t **starts)
{
    uint32_t nseries = 1, nfiles = nparts;
    int rc = collect_rows(s, parts, nparts, rows, nrows);
    if (rc == VG_OK && !s->starts) {
        rc = group_closed_days(s, parts, nparts, *rows, *nrows, &nfiles, starts);
    } else if (rc == VG_OK) {
        *starts = vg_malloc((nparts ? nparts : 1) * sizeof **starts);
        for (uint32_t i = 0; *starts && i < nparts; i++)
            (*starts)[i] = s->starts[parts[i]];
        rc = *starts ? VG_OK : VG_ENOMEM;
    }
    if (rc == VG_OK)
        rc = rank_series(*rows, *nrows, s->ch, s->tr, s->ntags, &nseries);
    if (rc == VG_OK)
        rc = sort_buckets(rows, *nrows, nfiles, nseries);
    if (rc == VG_OK)
        sort_times(*rows, *nrows);
    return rc;
}

static int prepare_tags(snap *s)
{
    uint32_t nc = s->ts.ncols;
    s->tag_of_col = vg_malloc(nc * sizeof *s->tag_of_col);
    s->present = vg_calloc(nc, sizeof *s->present);
    s->tr = vg_calloc(nc, sizeof *s->tr);
    if (!s->tag_of_col || !s->present || !s->tr)
        return VG_ENOMEM;
    for (size_t i = 0; i < s->nch; i++)
        for (uint32_t c = 0; c < s->ch[i]->ncols && c < nc; c++)
            s->present[c] |= s->ch[i]->cols[c].present;
    /* tag columns in name order */
    for (uint32_t c = 0; c < nc; c++) {
        s->tag_of_col[c] = UINT32_MAX;
        if (s->ts.types[c] != CATALOG_TAG || !s->present[c])
            continue;
        uint32_t j = s->ntags++;
        while (j > 0 && strcmp(s->ts.names[s->tr[j - 1].col], s->ts.names[c]) > 0) {
            s->tr[j] = s->tr[j - 1];
            j--;
        }
        s->tr[j] = (tag_rank){.col = c};
    }
    for (uint32_t j = 0; j < s->ntags; j++) {
        s->tag_of_col[s->tr[j].col] = j;
        if (rank_tag(&s->tr[j], s->ch, s->nch) != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

static void snap_table_free(snap *s)
{
    tag_ranks_free(s->tr, s->ntags, s->nch);
    vg_free(s->tag_of_col);
    vg_free(s->present);
    tschema_free(&s->ts);
    vg_arena_free(&s->cols_arena);
    memset(&s->fc, 0, sizeof s->fc);
    s->tr = NULL;
    s->tag_of_col = NULL;
    s->present = NULL;
    s->ntags = 0;
}

/* Writes the files of one table's sealed chunks ch[0..n). */
static int persist_table(snap *s, buffer_chunk **ch, size_t n, vg_err *e)
{
    bool live;
    int rc = tschema_load(s->p, ch[0]->db_id, ch[0]->table_id, &s->ts, &live, e);
    if (rc != VG_OK || !live) {
        tschema_free(&s->ts);
        return rc;
    }
    s->ch = ch;
    s->nch = n;
    vg_arena_init(&s->cols_arena, 1 << 16);
    srow *rows = NULL;
    size_t nrows = 0;
    int64_t *parts = NULL, *starts = NULL;
    uint32_t nparts = 0;
    rc = prepare_tags(s);
    if (rc == VG_OK)
        rc = collect_parts(s, &parts, &nparts);
    if (rc == VG_OK)
        rc = sort_rows(s, parts, nparts, &rows, &nrows, &starts);
    /* a batch is a row group (the writer then sees the same slices as with one call
     * per file), or all the rows when fewer */
    s->batch = nrows < s->p->cfg.row_group_rows ? nrows : s->p->cfg.row_group_rows;
    if (rc == VG_OK)
        rc = define_columns(s, &s->fc, s->batch, &s->cols_arena);
    if (rc != VG_OK) {
        vg_free(rows);
        vg_free(parts);
        vg_free(starts);
        snap_table_free(s);
        return vg_err_set(e, VG_ENOMEM, "out of memory sorting a snapshot");
    }
    for (size_t a = 0; rc == VG_OK && a < nrows;) {
        size_t b = a;
        while (b < nrows && rows[b].part == rows[a].part)
            b++;
        catalog_write_lock(s->p->cfg.cat);
        uint64_t id = catalog_file_id_next(s->p->cfg.cat);
        catalog_write_unlock(s->p->cfg.cat);
        rc = write_partition(s, rows + a, b - a, starts[rows[a].part], id, e);
        a = b;
    }
    vg_free(rows);
    vg_free(parts);
    vg_free(starts);
    snap_table_free(s);
    return rc;
}

/* ---- for compaction (persist_int.h) ---- */

snap *snap_new(persist *p, const int64_t *starts, size_t nstarts, uint64_t order)
{
    snap *s = vg_calloc(1, sizeof *s);
    if (s)
        *s = (snap){.p = p, .starts = starts, .nstarts = nstarts, .order = order};
    return s;
}

int snap_write_table(snap *s, buffer_chunk **ch, size_t n, vg_err *e)
{
    return n ? persist_table(s, ch, n, e) : VG_OK;
}

size_t snap_nfiles(const snap *s)
{
    return s->nfiles;
}

const catalog_file *snap_file_at(const snap *s, size_t i)
{
    return &s->files[i].cf;
}

uint64_t snap_rows(const snap *s)
{
    return s->rows_out;
}

uint64_t snap_bytes(const snap *s)
{
    return s->bytes_out;
}

static void delete_written(persist *p, snap *s);

void snap_free(snap *s, bool delete_files)
{
    if (!s)
        return;
    if (delete_files)
        delete_written(s->p, s);
    snap_files_free(s);
    vg_free(s);
}

/* ---- the snapshot ---- */

static int commit_files(persist *p, snap *s, uint64_t wal_seq, vg_err *e)
{
    catalog *c = p->cfg.cat;
    catalog_write_lock(c);
    int rc = VG_OK;
    for (size_t i = 0; rc == VG_OK && i < s->nfiles; i++)
        rc = catalog_file_add(c, &s->files[i].cf, e);
    if (rc == VG_OK)
        rc = catalog_set_persisted_seq(c, wal_seq, e);
    if (rc == VG_OK)
        rc = catalog_commit(c, e);
    catalog_write_unlock(c);
    return rc;
}

/* The files join their tables and the sealed chunks leave the buffer, at once for
 * readers. */
static int publish(persist *p, snap *s, buffer_chunk **sealed, size_t nsealed, vg_err *e)
{
    persist_file **pf = vg_calloc(s->nfiles ? s->nfiles : 1, sizeof *pf);
    int rc = pf ? VG_OK : VG_ENOMEM;
    for (size_t i = 0; rc == VG_OK && i < s->nfiles; i++)
        if (!(pf[i] = pfile_new(p, &s->files[i].cf)))
            rc = VG_ENOMEM;
    if (rc != VG_OK) {
        for (size_t i = 0; pf && i < s->nfiles; i++)
            pfile_unref(pf[i]);
        vg_free(pf);
        /* The catalog has the files: a restart shows them. Until then readers keep
         * reading the sealed chunks, which hold the same rows. */
        buffer_unseal(p->cfg.buf, sealed, nsealed);
        return vg_err_set(e, VG_ENOMEM, "out of memory publishing a snapshot; restart to "
                                        "read the new files");
    }
    pthread_rwlock_wrlock(&p->view_lock);
    size_t added = 0;
    while (added < s->nfiles && ptable_add(p, pf[added]) == VG_OK)
        added++;
    /* Out of memory growing a table's list: the sealed chunks stay (readers
     * deduplicate them against the files that made it), and a restart tidies up. */
    if (added == s->nfiles)
        buffer_release_sealed(p->cfg.buf, sealed, nsealed);
    else
        buffer_unseal(p->cfg.buf, sealed, nsealed);
    for (size_t i = added; i < s->nfiles; i++)
        pfile_unref(pf[i]);
    p->last_snapshot_ns = vg_now_ns();
    pthread_rwlock_unlock(&p->view_lock);
    vg_free(pf);
    return VG_OK;
}

static void delete_written(persist *p, snap *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        vg_err ignore;
        vg_err_clear(&ignore);
        store_delete(p->cfg.store, s->files[i].path, &ignore);
    }
}

static int snapshot_locked(persist *p, persist_result *res, vg_err *e)
{
    buffer_chunk **sealed = NULL;
    size_t nsealed = 0;
    uint64_t wal_seq = 0;
    int rc = p->cfg.seal(p->cfg.seal_ctx, &sealed, &nsealed, &wal_seq, e);
    if (rc != VG_OK)
        return rc;
    res->chunks = nsealed;
    res->wal_seq = wal_seq;
    if (nsealed == 0 && wal_seq <= catalog_persisted_seq(p->cfg.cat)) {
        vg_free(sealed);
        return VG_OK;
    }
    snap s = {.p = p, .now_ns = vg_now_ns()};
    for (size_t a = 0; rc == VG_OK && a < nsealed;) {
        size_t b = a;
        while (b < nsealed && sealed[b]->db_id == sealed[a]->db_id &&
               sealed[b]->table_id == sealed[a]->table_id)
            b++;
        for (size_t i = a; i < b; i++)
            res->rows_in += sealed[i]->nrows;
        rc = persist_table(&s, sealed + a, b - a, e);
        a = b;
    }
    persist_crash_point("files-written");
    if (rc == VG_OK)
        rc = commit_files(p, &s, wal_seq, e);
    if (rc != VG_OK) {
        delete_written(p, &s);
        snap_files_free(&s);
        buffer_unseal(p->cfg.buf, sealed, nsealed);
        return rc;
    }
    persist_crash_point("catalog-committed");
    res->files = s.nfiles;
    res->rows = s.rows_out;
    res->bytes = s.bytes_out;
    rc = publish(p, &s, sealed, nsealed, e);
    snap_files_free(&s);
    if (rc != VG_OK)
        return rc;
    persist_crash_point("published");
    vg_err werr;
    vg_err_clear(&werr);
    if (wal_remove_through(p->cfg.wal, wal_seq, &werr) != VG_OK)
        VG_WARN(PERSIST_MOD, "snapshot through WAL %llu: cannot delete old segments: %s",
                (unsigned long long)wal_seq, werr.msg);
    persist_crash_point("wal-removed");
    __atomic_add_fetch(&p->snapshots, 1, __ATOMIC_RELAXED);
    return VG_OK;
}

int persist_snapshot(persist *p, persist_result *res, vg_err *e)
{
    persist_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    int64_t t0 = vg_now_ns();
    pthread_mutex_lock(&p->snap_mu);
    int rc = snapshot_locked(p, res, e);
    pthread_mutex_unlock(&p->snap_mu);
    if (rc == VG_OK && res->chunks)
        VG_INFO(PERSIST_MOD,
                "snapshot through WAL %llu: %llu row(s) from %llu chunk(s) -> %llu row(s) in %llu "
                "file(s), %llu bytes, %.1f ms",
                (unsigned long long)res->wal_seq, (unsigned long long)res->rows_in,
                (unsigned long long)res->chunks, (unsigned long long)res->rows,
                (unsigned long long)res->files, (unsigned long long)res->bytes,
                (double)(vg_now_ns() - t0) / 1e6);
    else if (rc != VG_OK)
        VG_ERROR(PERSIST_MOD, "snapshot failed: %s", e->msg);
    return rc;
}
