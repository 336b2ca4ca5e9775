/* persist/compact.c: background compaction (persist.h, persist_compact).
 *
 * Per table and UTC day, a day's files are merged when there are at least two and
 * the day is closed (the clock is a gen1 partition past its end), or when they
 * number --compaction-min-files; a closed day is also rewritten for a single file
 * that a later row delete hides rows of. Their row groups are decoded into chunks,
 * without the rows deletes hide (deletes.c), in the
 * readers' "later wins" order, and go through the snapshot's sort-and-merge
 * (snapshot.c), which writes new files of about --compaction-max-file-bytes each:
 * the day's files are clustered by overlapping time ranges and consecutive clusters
 * packed into groups up to that size, so the outputs never overlap in time. One
 * catalog commit adds the outputs and removes the inputs; then the file list swaps
 * under the view lock, and each input's object is deleted when the last query
 * reading it lets go. A crash before the commit leaves orphan outputs, after it
 * orphan inputs; start-up deletes both (persist_open).
 *
 * Outputs take the highest `order` of their inputs: a day's files overlap nothing
 * outside that day, so the order against other files is kept. */
#include "persist_int.h"

#include <stdlib.h>
#include <string.h>

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

/* Group starts: clusters of overlapping files packed up to max_bytes of files or
 * max_rows rows (what one merge may decode in memory), whichever comes first. */
static int plan_groups(cfile *in, size_t n, uint64_t max_bytes, uint64_t max_rows,
                       int64_t **starts, size_t *ng)
{
    cfile *byt = vg_malloc(n * sizeof *byt);
    int64_t *st = vg_malloc(n * sizeof *st);
    if (!byt || !st) {
        vg_free(byt);
        vg_free(st);
        return VG_ENOMEM;
    }
    memcpy(byt, in, n * sizeof *byt);
    qsort(byt, n, sizeof *byt, cfile_by_min);
    size_t k = 0;
    uint64_t group_bytes = 0, group_rows = 0;
    int64_t cluster_end = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        bool new_cluster = byt[i].min_time > cluster_end;
        bool full = group_bytes >= max_bytes || group_rows + byt[i].rows > max_rows;
        if (k == 0 || (new_cluster && full)) {
            st[k++] = byt[i].min_time;
            group_bytes = group_rows = 0;
        }
        group_bytes += byt[i].bytes;
        group_rows += byt[i].rows;
        if (byt[i].max_time > cluster_end)
            cluster_end = byt[i].max_time;
    }
    vg_free(byt);
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

static int commit_swap(persist *p, snap *sn, cfile *in, size_t n, vg_err *e)
{
    catalog *c = p->cfg.cat;
    catalog_write_lock(c);
    int rc = VG_OK;
    for (size_t i = 0; rc == VG_OK && i < snap_nfiles(sn); i++)
        rc = catalog_file_add(c, snap_file_at(sn, i), e);
    catalog_db *db = catalog_db_get(c, in[0].f->db_id);
    catalog_table *t = db && in[0].f->table_id < db->ntables ? db->tables[in[0].f->table_id] : NULL;
    for (size_t i = 0; rc == VG_OK && i < n; i++)
        rc = t ? catalog_file_remove(c, t, in[i].f->id, e)
               : vg_err_set(e, VG_ENOTFOUND, "table of a compacted file is gone");
    if (rc == VG_OK)
        rc = catalog_commit(c, e);
    catalog_write_unlock(c);
    return rc;
}

static int publish_swap(persist *p, snap *sn, cfile *in, size_t n, vg_err *e)
{
    size_t nout = snap_nfiles(sn);
    persist_file **pf = vg_calloc(nout ? nout : 1, sizeof *pf);
    int rc = pf ? VG_OK : VG_ENOMEM;
    for (size_t i = 0; rc == VG_OK && i < nout; i++)
        if (!(pf[i] = pfile_new(p, snap_file_at(sn, i))))
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

static uint32_t table_ncols(persist *p, uint32_t db_id, uint32_t table_id)
{
    catalog_read_lock(p->cfg.cat);
    catalog_db *db = catalog_db_get(p->cfg.cat, db_id);
    uint32_t n = db && table_id < db->ntables ? db->tables[table_id]->ncols : 1;
    catalog_read_unlock(p->cfg.cat);
    return n;
}

/* Merges one group's files (one output file's worth) into new files and swaps them
 * in. The group's files are decoded at once: compaction's memory is about one
 * output file decoded (src/persist/README.md). */
static int compact_group(persist *p, cfile *in, size_t n, int64_t start,
                         const persist_tombs *tombs, persist_compact_result *res, vg_err *e)
{
    int64_t t0 = vg_mono_ns();
    qsort(in, n, sizeof *in, cfile_by_order);
    uint64_t order = in[n - 1].order, in_bytes = 0;
    for (size_t i = 0; i < n; i++)
        in_bytes += in[i].bytes;
    persist_col *cols = NULL;
    uint32_t ncols = 0;
    buffer_chunk **ch = NULL;
    size_t nch = 0;
    snap *sn = NULL;
    int64_t starts[1] = {start};
    int rc = table_cols(p, in[0].f->db_id, in[0].f->table_id, &cols, &ncols, e);
    if (rc == VG_OK && !cols)
        return VG_OK; /* the table is gone */
    if (rc == VG_OK)
        rc = load_inputs(p, in, n, tombs, cols, ncols, &ch, &nch, e);
    if (rc == VG_OK && !(sn = snap_new(p, starts, 1, order)))
        rc = vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    if (rc == VG_OK)
        rc = snap_write_table(sn, ch, nch, e);
    for (size_t i = 0; i < nch; i++)
        buffer_chunk_unref(ch[i]);
    vg_free(ch);
    persist_crash_point("compaction-written");
    if (rc == VG_OK)
        rc = commit_swap(p, sn, in, n, e);
    if (rc == VG_OK) {
        persist_crash_point("compaction-committed");
        rc = publish_swap(p, sn, in, n, e);
        VG_INFO(PERSIST_MOD,
                "compaction: db %u table %u: %zu file(s), %llu bytes -> %zu file(s), %llu bytes, "
                "%llu row(s), %.1f ms",
                in[0].f->db_id, in[0].f->table_id, n, (unsigned long long)in_bytes,
                snap_nfiles(sn), (unsigned long long)snap_bytes(sn),
                (unsigned long long)snap_rows(sn), (double)(vg_mono_ns() - t0) / 1e6);
        res->runs++;
        res->files_in += n;
        res->files_out += snap_nfiles(sn);
        res->bytes_in += in_bytes;
        res->bytes_out += snap_bytes(sn);
        snap_free(sn, false);
    } else {
        snap_free(sn, true);
    }
    vg_free(cols);
    return rc;
}

/* One day's files: groups of about --compaction-max-file-bytes (time-disjoint), each
 * merged on its own. A group of one file is left alone, so a compacted day is not
 * rewritten again and again, unless a delete hides rows of it (the rewrite frees
 * their space and retires the delete). */
static int compact_day(persist *p, cfile *in, size_t n, const persist_tombs *tombs,
                       persist_compact_result *res, vg_err *e)
{
    int64_t *starts = NULL;
    size_t ng = 0;
    /* decoded, a row costs about 10 bytes a column, plus the merge's sort entry */
    uint32_t ncols = table_ncols(p, in[0].f->db_id, in[0].f->table_id);
    uint64_t max_rows = p->cfg.compaction_mem_bytes / ((uint64_t)ncols * 10 + 48);
    if (max_rows < 1)
        max_rows = 1;
    if (plan_groups(in, n, p->cfg.compaction_max_file_bytes, max_rows, &starts, &ng) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    qsort(in, n, sizeof *in, cfile_by_min); /* plan_groups' order: group members contiguous */
    int rc = VG_OK;
    size_t a = 0;
    for (size_t g = 0; rc == VG_OK && g < ng; g++) {
        size_t b = a;
        while (b < n && (g + 1 == ng || in[b].min_time < starts[g + 1]))
            b++;
        bool touched = b - a == 1 && ptombs_touch(tombs, in[a].f->id, in[a].min_time,
                                                  in[a].max_time);
        if (b - a >= 2 || touched)
            rc = compact_group(p, in + a, b - a, starts[g], tombs, res, e);
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

/* A closed day is due with two files or more, or with one file that a delete made
 * after it hides rows of (rewriting it frees their space and retires the delete); an
 * open day once it has compaction_min_files files. */
static bool day_due(const persist *p, int64_t day, const cfile *files, size_t nfiles,
                    const persist_tombs *tombs, int64_t now_ns)
{
    bool closed = now_ns - p->cfg.gen1_ns > (day + 1) * DAY_NS;
    if (nfiles >= 2 && (closed || nfiles >= p->cfg.compaction_min_files))
        return true;
    for (size_t i = 0; closed && i < nfiles; i++)
        if (ptombs_touch(tombs, files[i].f->id, files[i].min_time, files[i].max_time))
            return true;
    return false;
}

static int compact_table(persist *p, cfile *files, size_t n, int64_t now_ns,
                         persist_compact_result *res, vg_err *e)
{
    uint64_t min_id = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        min_id = files[i].f->id < min_id ? files[i].f->id : min_id;
    persist_tombs *tombs = NULL;
    int rc = ptombs_load(p, files[0].f->db_id, files[0].f->table_id, min_id, INT64_MIN,
                         INT64_MAX, &tombs, e);
    /* files of one day are contiguous once sorted by start */
    qsort(files, n, sizeof *files, cfile_by_min);
    for (size_t a = 0; rc == VG_OK && a < n;) {
        int64_t day = day_of(files[a].min_time);
        size_t b = a;
        while (b < n && day_of(files[b].min_time) == day)
            b++;
        if (day_due(p, day, files + a, b - a, tombs, now_ns))
            rc = compact_day(p, files + a, b - a, tombs, res, e);
        a = b;
    }
    ptombs_free(tombs);
    return rc;
}

int persist_compact(persist *p, int64_t now_ns, persist_compact_result *res, vg_err *e)
{
    persist_compact_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&p->snap_mu); /* no snapshot changes the file lists meanwhile */
    pthread_rwlock_rdlock(&p->view_lock);
    size_t ntables = 0, it = 0;
    const vg_map_entry *en;
    while (vg_map_next(&p->tables, &it, &en))
        ntables++;
    cfile **lists = vg_calloc(ntables ? ntables : 1, sizeof *lists);
    size_t *counts = vg_calloc(ntables ? ntables : 1, sizeof *counts);
    size_t k = 0;
    it = 0;
    while (lists && counts && vg_map_next(&p->tables, &it, &en))
        lists[k] = table_files(p, en->val, &counts[k]), k++;
    pthread_rwlock_unlock(&p->view_lock);
    int rc = lists && counts ? VG_OK : vg_err_set(e, VG_ENOMEM, "out of memory compacting");
    for (size_t i = 0; i < k; i++) {
        if (rc == VG_OK && counts[i] > 0)
            rc = compact_table(p, lists[i], counts[i], now_ns, res, e);
        for (size_t j = 0; j < counts[i]; j++)
            pfile_unref(lists[i][j].f);
        vg_free(lists[i]);
    }
    vg_free(lists);
    vg_free(counts);
    pthread_mutex_unlock(&p->snap_mu);
    if (rc != VG_OK)
        VG_ERROR(PERSIST_MOD, "compaction failed: %s", e->msg);
    return rc;
}
