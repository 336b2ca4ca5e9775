/* persist/compact.c: compaction (persist.h: persist_compact, persist_compact_due):
 * which days are due, how a day's files are grouped, and swapping a group's files for
 * its merged output.
 *
 * Per table and UTC day. A day is due when it has two files or more and either it is
 * closed (the clock is a gen1 partition past its end) and cold (no file of it added for
 * --compaction-cold-after; an on-demand run does not wait for that), or it has
 * --compaction-min-files files, closed or not. A closed, cold day is also due for a
 * single file that a later row delete hides rows of (rewriting it frees their space
 * and retires the delete). Waiting for a day to go cold keeps a day that still
 * receives files from every snapshot from being rewritten after each one.
 *
 * A day's files are clustered by overlapping time ranges, and consecutive clusters
 * packed into groups while the group's files add up to at most
 * --compaction-max-file-bytes (so outputs stay about that size) and one row group of
 * each input decoded fits in --compaction-mem-bytes; a file of a quarter of that size
 * or more overlapping no other stays a group of its own (an earlier output, or a piece
 * of a day a snapshot wrote whole, is not rewritten to take in a few more files). The groups never overlap in time. A group of two files
 * or more is merged into one file by the streaming merge (merge.c); a group of one file
 * is left alone, so compaction settles.
 *
 * A group's merge holds compact_mu (never snap_mu: a snapshot does not wait for a
 * merge, and the merge waits for a running snapshot before it starts). One catalog
 * commit adds the output and removes the inputs, after checking they are all still
 * there (retention or a hard delete may have removed one meanwhile: the output is then
 * dropped); then the file list swaps under the view lock, and each input's object is
 * deleted when the last query reading it lets go. A crash before the commit leaves an
 * orphan output, after it orphan inputs; start-up deletes both (persist_open).
 *
 * Outputs take the highest `order` of their inputs: a day's files overlap nothing
 * outside that day, so the order against other files is kept. */
#include "persist_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_NS (86400LL * 1000000000LL)

typedef struct cfile {
    persist_file *f; /* referenced */
    int64_t min_time, max_time;
    uint64_t bytes;
    uint64_t order;
    uint64_t rows;
} cfile;

static int cfile_by_order(const void *a, const void *b)
{
    const cfile *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

static int cfile_by_min(const void *a, const void *b)
{
    const cfile *x = a, *y = b;
    return (x->min_time > y->min_time) - (x->min_time < y->min_time);
}

static int64_t day_of(int64_t t)
{
    int64_t q = t / DAY_NS;
    return (t % DAY_NS != 0 && t < 0) ? q - 1 : q;
}

/* What one input costs the streaming merge: its largest row group decoded, about 10
 * bytes a column a row (8-byte values, validity, the decoder's transient copy). */
static uint64_t input_mem(const persist *p, const cfile *f, uint32_t ncols)
{
    uint64_t rows = f->rows < p->cfg.row_group_rows ? f->rows : p->cfg.row_group_rows;
    return rows * ((uint64_t)ncols * 10 + 8);
}

/* Group starts, over files sorted by min_time: clusters of overlapping files (never
 * split), packed while the group's bytes stay within max_bytes and its inputs' memory
 * within mem_bytes. A cluster over either bound is a group of its own, and so is a
 * file of a quarter of max_bytes or more that overlaps no other (an earlier output, or
 * a day's piece a snapshot of a historical load wrote): rewriting it to absorb a few
 * more files would cost far more than the files saved. A quarter, not a half: a bulk
 * load's snapshots cut each day into two or three pieces of 30-60 MB, and merging
 * those rewrote half of all rows once more for files that are not small. */
static int plan_groups(const persist *p, const cfile *byt, size_t n, uint32_t ncols,
                       int64_t **starts, size_t *ng)
{
    int64_t *st = vg_malloc((n ? n : 1) * sizeof *st);
    if (!st)
        return VG_ENOMEM;
    size_t k = 0;
    uint64_t group_bytes = 0, group_mem = 0;
    for (size_t a = 0; a < n;) {
        uint64_t cbytes = 0, cmem = 0;
        int64_t cluster_end = INT64_MIN;
        size_t b = a;
        while (b < n && (b == a || byt[b].min_time <= cluster_end)) {
            cbytes += byt[b].bytes;
            cmem += input_mem(p, &byt[b], ncols);
            if (byt[b].max_time > cluster_end)
                cluster_end = byt[b].max_time;
            b++;
        }
        uint64_t max = p->cfg.compaction_max_file_bytes;
        bool large = b - a == 1 && cbytes >= max / 4;
        bool fits = !large && group_bytes + cbytes <= max &&
                    group_mem + cmem <= p->cfg.compaction_mem_bytes;
        if (k == 0 || !fits) {
            st[k++] = byt[a].min_time;
            group_bytes = group_mem = 0;
        }
        /* a large file alone is a group of its own: nothing joins it either */
        group_bytes += large ? max + 1 : cbytes;
        group_mem += cmem;
        a = b;
    }
    *starts = st;
    *ng = k;
    return VG_OK;
}

/* Decodes every row group of the inputs (in order) into chunks, leaving out the rows
 * that deletes made after an input hide. */
static int load_inputs(persist *p, cfile *in, size_t n, const persist_tombs *tombs,
                       const persist_col *cols, uint32_t ncols, buffer_chunk ***out, size_t *nout,
                       vg_err *e)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = pfile_open(in[i].f, e);
        if (rc != VG_OK)
            return rc;
        cap += parquet_file_meta(in[i].f->pq)->nrow_groups;
    }
    buffer_chunk **ch = vg_calloc(cap ? cap : 1, sizeof *ch);
    if (!ch)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    size_t k = 0;
    int rc = VG_OK;
    for (size_t i = 0; rc == VG_OK && i < n; i++) {
        const parquet_meta *m = parquet_file_meta(in[i].f->pq);
        for (uint32_t g = 0; rc == VG_OK && g < m->nrow_groups; g++) {
            if (m->row_groups[g].num_rows == 0)
                continue;
            int64_t g0 = in[i].f->rg_time[g][0], g1 = in[i].f->rg_time[g][1];
            if (ptombs_hide_all(tombs, in[i].f->id, g0, g1))
                continue;
            persist_source src = {.min_time = g0,
                                  .max_time = g1,
                                  .nrows = (uint32_t)m->row_groups[g].num_rows,
                                  .file = in[i].f,
                                  .rg = g,
                                  .tombs = ptombs_touch(tombs, in[i].f->id, g0, g1) ? tombs
                                                                                    : NULL};
            rc = persist_source_load(&src, in[i].f->db_id, in[i].f->table_id, ncols, cols, ncols,
                                     &ch[k], e);
            if (rc == VG_OK)
                k++;
        }
    }
    if (rc != VG_OK) {
        for (size_t i = 0; i < k; i++)
            buffer_chunk_unref(ch[i]);
        vg_free(ch);
        return rc;
    }
    *out = ch;
    *nout = k;
    return VG_OK;
}

/* The table's columns, for decoding every one of them. */
static int table_cols(persist *p, uint32_t db_id, uint32_t table_id, persist_col **out,
                      uint32_t *n, vg_err *e)
{
    catalog_read_lock(p->cfg.cat);
    catalog_db *db = catalog_db_get(p->cfg.cat, db_id);
    catalog_table *t = db && !db->deleted && table_id < db->ntables ? db->tables[table_id] : NULL;
    if (t && t->deleted)
        t = NULL; /* its files wait for their hard delete: nothing to gain */
    int rc = VG_OK;
    persist_col *cols = t ? vg_calloc(t->ncols, sizeof *cols) : NULL;
    if (t && !cols)
        rc = vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    for (uint32_t i = 0; cols && i < t->ncols; i++) {
        /* names live as long as the catalog: columns are never dropped */
        cols[i] = (persist_col){i, t->cols[i]->name, t->cols[i]->type};
    }
    *n = t ? t->ncols : 0;
    catalog_read_unlock(p->cfg.cat);
    *out = cols;
    return rc;
}

/* ---- a group's output: from the streaming merge, or from the fallback ---- */

typedef struct gout {
    pmerge_result pm; /* the streaming merge's file (pm.cf.path NULL: none) */
    snap *sn;         /* or the fallback's files */
    int64_t start;    /* the fallback's one group (the snap points at it) */
} gout;

static size_t gout_n(const gout *g)
{
    return g->sn ? snap_nfiles(g->sn) : g->pm.cf.path != NULL;
}

static const catalog_file *gout_at(const gout *g, size_t i)
{
    return g->sn ? snap_file_at(g->sn, i) : &g->pm.cf;
}

static void gout_free(persist *p, gout *g, bool delete_files)
{
    if (g->sn)
        snap_free(g->sn, delete_files);
    g->sn = NULL;
    pmerge_result_free(p, &g->pm, delete_files);
}

/* The fallback for inputs out of order (merge.c): every row group decoded at once
 * and written by the snapshot's sort-and-merge. Memory: the whole group decoded. */
static int merge_by_sorting(persist *p, cfile *in, size_t n, int64_t start,
                            const persist_tombs *tombs, gout *out, vg_err *e)
{
    persist_col *cols = NULL;
    uint32_t ncols = 0;
    buffer_chunk **ch = NULL;
    size_t nch = 0;
    int rc = table_cols(p, in[0].f->db_id, in[0].f->table_id, &cols, &ncols, e);
    if (rc != VG_OK || !cols)
        return rc; /* !cols: the table is gone, nothing written */
    rc = load_inputs(p, in, n, tombs, cols, ncols, &ch, &nch, e);
    out->start = start;
    if (rc == VG_OK && !(out->sn = snap_new(p, &out->start, 1, in[n - 1].order)))
        rc = vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    if (rc == VG_OK)
        rc = snap_write_table(out->sn, ch, nch, e);
    for (size_t i = 0; i < nch; i++)
        buffer_chunk_unref(ch[i]);
    vg_free(ch);
    vg_free(cols);
    return rc;
}

/* CPU time of this thread, for the log line (compaction shares the CPU with ingest
 * and snapshots, so wall time alone says little). */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the swap ---- */

static bool table_lists_file(const catalog_table *t, uint64_t id)
{
    for (uint32_t i = 0; i < t->nfiles; i++)
        if (t->files[i]->id == id)
            return true;
    return false;
}

/* One catalog commit: the outputs in, the inputs out. *gone: some input (or the
 * table) left the catalog meanwhile (retention, a hard delete), and nothing was
 * changed. */
static int commit_swap(persist *p, const gout *g, cfile *in, size_t n, bool *gone, vg_err *e)
{
    catalog *c = p->cfg.cat;
    catalog_write_lock(c);
    catalog_db *db = catalog_db_get(c, in[0].f->db_id);
    catalog_table *t = db && !db->deleted && in[0].f->table_id < db->ntables
                           ? db->tables[in[0].f->table_id]
                           : NULL;
    *gone = !t || t->deleted;
    for (size_t i = 0; !*gone && i < n; i++)
        *gone = !table_lists_file(t, in[i].f->id);
    int rc = VG_OK;
    for (size_t i = 0; !*gone && rc == VG_OK && i < gout_n(g); i++)
        rc = catalog_file_add(c, gout_at(g, i), e);
    for (size_t i = 0; !*gone && rc == VG_OK && i < n; i++)
        rc = catalog_file_remove(c, t, in[i].f->id, e);
    if (!*gone && rc == VG_OK)
        rc = catalog_commit(c, e);
    catalog_write_unlock(c);
    return rc;
}

static int publish_swap(persist *p, const gout *g, cfile *in, size_t n, vg_err *e)
{
    size_t nout = gout_n(g);
    persist_file **pf = vg_calloc(nout ? nout : 1, sizeof *pf);
    int rc = pf ? VG_OK : VG_ENOMEM;
    for (size_t i = 0; rc == VG_OK && i < nout; i++)
        if (!(pf[i] = pfile_new(p, gout_at(g, i))))
            rc = VG_ENOMEM;
    if (rc != VG_OK) {
        for (size_t i = 0; pf && i < nout; i++)
            pfile_unref(pf[i]);
        vg_free(pf);
        return vg_err_set(e, VG_ENOMEM, "out of memory publishing a compaction; restart to "
                                        "read the new files");
    }
    pthread_rwlock_wrlock(&p->view_lock);
    for (size_t i = 0; i < nout; i++)
        if (ptable_add(p, pf[i]) != VG_OK)
            pfile_unref(pf[i]); /* OOM: readers keep reading the inputs until a restart */
    for (size_t i = 0; i < n; i++)
        ptable_drop(p, in[i].f->db_id, in[i].f->table_id, in[i].f->id);
    pthread_rwlock_unlock(&p->view_lock);
    vg_free(pf);
    return VG_OK;
}

/* ---- one group ---- */

/* An input compacted by another run, or dropped by retention or a hard delete,
 * since the file lists were copied (view lock taken here). */
static bool some_input_removed(persist *p, const cfile *in, size_t n)
{
    bool removed = false;
    pthread_rwlock_rdlock(&p->view_lock);
    for (size_t i = 0; i < n && !removed; i++)
        removed = in[i].f->removed;
    pthread_rwlock_unlock(&p->view_lock);
    return removed;
}

/* Streaming merge; the sorting fallback for inputs out of order. */
static int merge_group(persist *p, cfile *in, size_t n, int64_t start, const persist_tombs *tombs,
                       bool pace, gout *out, vg_err *e)
{
    persist_file **files = vg_malloc(n * sizeof *files);
    if (!files)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    for (size_t i = 0; i < n; i++)
        files[i] = in[i].f;
    int rc = pmerge_files(p, files, n, tombs, start, in[n - 1].order, pace, &out->pm, e);
    vg_free(files);
    if (rc != VG_OK && out->pm.unsorted) {
        VG_WARN(PERSIST_MOD, "compaction: db %u table %u: %s; merging %zu file(s) by sorting "
                "them whole", in[0].f->db_id, in[0].f->table_id, e->msg, n);
        vg_err_clear(e);
        rc = merge_by_sorting(p, in, n, start, tombs, out, e);
    }
    return rc;
}

static void log_group(const cfile *in, size_t n, uint64_t in_bytes, const gout *g, uint64_t out_bytes,
                      uint64_t rows, int64_t t0, int64_t cpu0)
{
    const pmerge_result *pm = &g->pm;
    VG_INFO(PERSIST_MOD,
            "compaction: db %u table %u: %zu file(s), %llu bytes -> %zu file(s), %llu bytes, "
            "%llu row(s), %.1f ms (%.1f ms CPU); %s: %llu row group(s) read, %llu series run(s), "
            "%llu row(s) copied by run, %llu merged by time (%llu duplicate(s)); "
            "%.1f ms paused for queries",
            in[0].f->db_id, in[0].f->table_id, n, (unsigned long long)in_bytes, gout_n(g),
            (unsigned long long)out_bytes, (unsigned long long)rows,
            (double)(vg_mono_ns() - t0) / 1e6, (double)(thread_cpu_ns() - cpu0) / 1e6,
            g->sn ? "sorted whole" : "streamed", (unsigned long long)pm->row_groups,
            (unsigned long long)pm->series_runs, (unsigned long long)pm->rows_in_bulk,
            (unsigned long long)pm->rows_one_by_one, (unsigned long long)pm->rows_merged,
            (double)pm->paused_ns / 1e6);
}

/* Merges one group (compact_mu held) and swaps the output in. */
static int compact_group_locked(persist *p, cfile *in, size_t n, int64_t start, bool pace,
                                persist_compact_result *res, vg_err *e)
{
    int64_t t0 = vg_mono_ns(), cpu0 = thread_cpu_ns();
    if (some_input_removed(p, in, n))
        return VG_OK;
    qsort(in, n, sizeof *in, cfile_by_order);
    uint64_t min_id = UINT64_MAX, in_bytes = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        in_bytes += in[i].bytes;
        min_id = in[i].f->id < min_id ? in[i].f->id : min_id;
        tmin = in[i].min_time < tmin ? in[i].min_time : tmin;
        tmax = in[i].max_time > tmax ? in[i].max_time : tmax;
    }
    /* loaded here, under compact_mu: no delete commits until the swap is done */
    persist_tombs *tombs = NULL;
    gout g = {0};
    int rc = ptombs_load(p, in[0].f->db_id, in[0].f->table_id, min_id, tmin, tmax, &tombs, e);
    if (rc == VG_OK)
        rc = merge_group(p, in, n, start, tombs, pace, &g, e);
    ptombs_free(tombs);
    if (rc != VG_OK || (!g.sn && g.pm.table_gone)) {
        gout_free(p, &g, true);
        return rc;
    }
    persist_crash_point("compaction-written");
    bool gone = false;
    rc = commit_swap(p, &g, in, n, &gone, e);
    if (rc != VG_OK || gone) {
        if (gone)
            VG_INFO(PERSIST_MOD, "compaction: db %u table %u: an input left the catalog "
                    "meanwhile (retention or a delete); output dropped", in[0].f->db_id,
                    in[0].f->table_id);
        gout_free(p, &g, true);
        return rc;
    }
    persist_crash_point("compaction-committed");
    rc = publish_swap(p, &g, in, n, e);
    uint64_t out_bytes = 0, rows = 0;
    for (size_t i = 0; i < gout_n(&g); i++) {
        out_bytes += gout_at(&g, i)->bytes;
        rows += gout_at(&g, i)->rows;
    }
    log_group(in, n, in_bytes, &g, out_bytes, rows, t0, cpu0);
    res->runs++;
    res->files_in += n;
    res->files_out += gout_n(&g);
    res->bytes_in += in_bytes;
    res->bytes_out += out_bytes;
    res->rows += rows;
    gout_free(p, &g, false);
    return rc;
}

/* Snapshots come first: a merge starts once a running snapshot is done (it may still
 * overlap the next one, which never waits for it). */
static int compact_group(persist *p, cfile *in, size_t n, int64_t start, bool pace,
                         persist_compact_result *res, vg_err *e)
{
    pthread_mutex_lock(&p->compact_mu);
    pthread_mutex_lock(&p->snap_mu);
    pthread_mutex_unlock(&p->snap_mu);
    int rc = compact_group_locked(p, in, n, start, pace, res, e);
    pthread_mutex_unlock(&p->compact_mu);
    return rc;
}

static uint32_t table_ncols(persist *p, uint32_t db_id, uint32_t table_id)
{
    catalog_read_lock(p->cfg.cat);
    catalog_db *db = catalog_db_get(p->cfg.cat, db_id);
    uint32_t n = db && table_id < db->ntables ? db->tables[table_id]->ncols : 1;
    catalog_read_unlock(p->cfg.cat);
    return n;
}

static bool stopping(persist *p)
{
    return __atomic_load_n(&p->compact_stop, __ATOMIC_RELAXED);
}

/* One day's files (sorted by min_time): groups within the size and memory bounds,
 * each merged on its own. A group of one file is left alone, so a compacted day is
 * not rewritten again and again, unless a delete hides rows of it (the rewrite frees
 * their space and retires the delete). */
static int compact_day(persist *p, cfile *in, size_t n, const persist_tombs *tombs, bool pace,
                       persist_compact_result *res, vg_err *e)
{
    int64_t *starts = NULL;
    size_t ng = 0;
    uint32_t ncols = table_ncols(p, in[0].f->db_id, in[0].f->table_id);
    if (plan_groups(p, in, n, ncols, &starts, &ng) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    int rc = VG_OK;
    size_t a = 0;
    for (size_t g = 0; rc == VG_OK && g < ng && !stopping(p); g++) {
        size_t b = a;
        while (b < n && (g + 1 == ng || in[b].min_time < starts[g + 1]))
            b++;
        bool touched = b - a == 1 && ptombs_touch(tombs, in[a].f->id, in[a].min_time,
                                                  in[a].max_time);
        if (b - a >= 2 || touched)
            rc = compact_group(p, in + a, b - a, starts[g], pace, res, e);
        a = b;
    }
    vg_free(starts);
    return rc;
}

/* Copies a table's file list (referenced) under the view lock. */
static cfile *table_files(persist *p, ptable *t, size_t *n)
{
    cfile *v = t->n ? vg_calloc(t->n, sizeof *v) : NULL;
    *n = 0;
    for (uint32_t i = 0; v && i < t->n; i++) {
        persist_file *f = t->files[i];
        __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
        v[(*n)++] = (cfile){f, f->min_time, f->max_time, f->bytes, f->order, f->rows};
    }
    return v;
}

typedef struct due_ctx {
    int64_t now_ns;
    int64_t now_mono;
    bool force; /* on demand: a closed day need not be cold */
} due_ctx;

/* Due: two files or more, and closed and cold, or compaction_min_files of them; or
 * closed and cold with one file that a delete made after it hides rows of. */
static bool day_due(const persist *p, int64_t day, const cfile *files, size_t nfiles,
                    const persist_tombs *tombs, const due_ctx *dc)
{
    bool closed = dc->now_ns - p->cfg.gen1_ns > (day + 1) * DAY_NS;
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < nfiles; i++)
        newest = files[i].f->added_mono_ns > newest ? files[i].f->added_mono_ns : newest;
    bool cold = dc->force || dc->now_mono - newest >= p->cfg.compaction_cold_ns;
    if (nfiles >= 2 && ((closed && cold) || nfiles >= p->cfg.compaction_min_files))
        return true;
    for (size_t i = 0; closed && cold && i < nfiles; i++)
        if (ptombs_touch(tombs, files[i].f->id, files[i].min_time, files[i].max_time))
            return true;
    return false;
}

static int compact_table(persist *p, cfile *files, size_t n, const due_ctx *dc,
                         persist_compact_result *res, vg_err *e)
{
    uint64_t min_id = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        min_id = files[i].f->id < min_id ? files[i].f->id : min_id;
    /* for choosing days only: each group loads its own under compact_mu */
    persist_tombs *tombs = NULL;
    int rc = ptombs_load(p, files[0].f->db_id, files[0].f->table_id, min_id, INT64_MIN,
                         INT64_MAX, &tombs, e);
    /* files of one day are contiguous once sorted by start */
    qsort(files, n, sizeof *files, cfile_by_min);
    for (size_t a = 0; rc == VG_OK && a < n && !stopping(p);) {
        int64_t day = day_of(files[a].min_time);
        size_t b = a;
        while (b < n && day_of(files[b].min_time) == day)
            b++;
        if (day_due(p, day, files + a, b - a, tombs, dc))
            rc = compact_day(p, files + a, b - a, tombs, !dc->force, res, e);
        a = b;
    }
    ptombs_free(tombs);
    return rc;
}

static int compact_run(persist *p, const due_ctx *dc, persist_compact_result *res, vg_err *e)
{
    persist_compact_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    pthread_rwlock_rdlock(&p->view_lock);
    size_t ntables = 0, it = 0;
    const vg_map_entry *en;
    while (vg_map_next(&p->tables, &it, &en))
        ntables++;
    cfile **lists = vg_calloc(ntables ? ntables : 1, sizeof *lists);
    size_t *counts = vg_calloc(ntables ? ntables : 1, sizeof *counts);
    size_t k = 0;
    it = 0;
    while (lists && counts && vg_map_next(&p->tables, &it, &en)) {
        lists[k] = table_files(p, en->val, &counts[k]);
        k++;
    }
    pthread_rwlock_unlock(&p->view_lock);
    int rc = lists && counts ? VG_OK : vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    for (size_t i = 0; i < k; i++) {
        if (rc == VG_OK && counts[i] > 0)
            rc = compact_table(p, lists[i], counts[i], dc, res, e);
        for (size_t j = 0; j < counts[i]; j++)
            pfile_unref(lists[i][j].f);
        vg_free(lists[i]);
    }
    vg_free(lists);
    vg_free(counts);
    if (rc != VG_OK)
        VG_ERROR(PERSIST_MOD, "compaction failed: %s", e->msg);
    return rc;
}

int persist_compact(persist *p, int64_t now_ns, persist_compact_result *res, vg_err *e)
{
    due_ctx dc = {now_ns, vg_mono_ns(), true};
    return compact_run(p, &dc, res, e);
}

int persist_compact_due(persist *p, int64_t now_ns, persist_compact_result *res, vg_err *e)
{
    due_ctx dc = {now_ns, vg_mono_ns(), false};
    return compact_run(p, &dc, res, e);
}

void persist_compact_stop(persist *p)
{
    __atomic_store_n(&p->compact_stop, true, __ATOMIC_RELAXED);
}
