/* persist/deletes.c: row deletes over Parquet files, and hard deletes (persist.h,
 * "deletes").
 *
 *   persist_delete_rows   one `DELETE FROM t WHERE ...`: with snapshots and compaction
 *                         held off and the view lock taken, the delete callback removes
 *                         the buffered rows (ingest: WAL record, chunks rewritten,
 *                         fsync), then the tombstone is committed to the catalog with
 *                         a freshly reserved file id: it hides matching rows of every
 *                         file with a smaller id, i.e. written before the delete
 *   ptombs_*              readers' copies of a table's tombstones and the row masks
 *                         applied when a file's row group is decoded (views and
 *                         compaction alike: compaction writes the survivors only, into
 *                         files with new ids, which no tombstone hides any more)
 *   persist_purge         files of databases and tables whose hard-delete time has
 *                         come, and tombstones that no file needs any more
 *
 * A tombstone's id is a file id: files are never renumbered (compaction writes new
 * ones), so "written before the delete" is exactly "id below the tombstone's". */
#include "persist_int.h"

#include <string.h>

/* ---- readers' copies ---- */

typedef struct ptomb {
    catalog_tombstone t; /* preds and values in the set's arena */
    const char **names;  /* column name of each predicate (files are read by name) */
} ptomb;

struct persist_tombs {
    ptomb *v;
    uint32_t n;
    vg_arena arena;
};

static bool overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    return a0 <= b1 && b0 <= a1;
}

void ptombs_free(persist_tombs *ts)
{
    if (!ts)
        return;
    vg_arena_free(&ts->arena);
    vg_free(ts);
}

static int copy_tomb(vg_arena *a, const catalog_table *tab, const catalog_tombstone *src,
                     ptomb *out)
{
    out->t = *src;
    out->t.preds = src->npreds ? vg_arena_alloc(a, src->npreds * sizeof *out->t.preds) : NULL;
    out->names = src->npreds ? vg_arena_alloc(a, src->npreds * sizeof *out->names) : NULL;
    if (src->npreds && (!out->t.preds || !out->names))
        return VG_ENOMEM;
    for (uint32_t i = 0; i < src->npreds; i++) {
        const catalog_tomb_pred *sp = &src->preds[i];
        catalog_tomb_pred *dp = &out->t.preds[i];
        const catalog_column *col = sp->col_id < tab->ncols ? tab->cols[sp->col_id] : NULL;
        *dp = (catalog_tomb_pred){sp->col_id, sp->nvals,
                                  vg_arena_alloc(a, (sp->nvals ? sp->nvals : 1) * sizeof(vg_str))};
        out->names[i] = col ? vg_arena_strndup(a, col->name, col->name_len) : "";
        if (!dp->vals || !out->names[i])
            return VG_ENOMEM;
        for (uint32_t k = 0; k < sp->nvals; k++) {
            char *v = vg_arena_strndup(a, sp->vals[k].ptr ? sp->vals[k].ptr : "", sp->vals[k].len);
            if (!v)
                return VG_ENOMEM;
            dp->vals[k] = (vg_str){v, sp->vals[k].len};
        }
    }
    return VG_OK;
}

static bool wanted(const catalog_tombstone *t, uint64_t min_file_id, int64_t tmin, int64_t tmax)
{
    return t->id > min_file_id && overlaps(t->min_time, t->max_time, tmin, tmax);
}

int ptombs_load(persist *p, uint32_t db_id, uint32_t table_id, uint64_t min_file_id,
                int64_t tmin, int64_t tmax, persist_tombs **out, vg_err *e)
{
    *out = NULL;
    catalog_read_lock(p->cfg.cat);
    catalog_db *db = catalog_db_get(p->cfg.cat, db_id);
    const catalog_table *tab = db && table_id < db->ntables ? db->tables[table_id] : NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; tab && i < tab->ntombs; i++)
        n += wanted(tab->tombs[i], min_file_id, tmin, tmax);
    persist_tombs *ts = n ? vg_calloc(1, sizeof *ts) : NULL;
    int rc = n && !ts ? VG_ENOMEM : VG_OK;
    if (ts) {
        vg_arena_init(&ts->arena, 4096);
        if (!(ts->v = vg_arena_alloc(&ts->arena, n * sizeof *ts->v)))
            rc = VG_ENOMEM;
    }
    for (uint32_t i = 0; rc == VG_OK && ts && i < tab->ntombs; i++)
        if (wanted(tab->tombs[i], min_file_id, tmin, tmax))
            rc = copy_tomb(&ts->arena, tab, tab->tombs[i], &ts->v[ts->n++]);
    catalog_read_unlock(p->cfg.cat);
    if (rc != VG_OK) {
        ptombs_free(ts);
        return vg_err_set(e, VG_ENOMEM, "out of memory reading the deletes of a table");
    }
    *out = ts;
    return VG_OK;
}

bool ptombs_hide_all(const persist_tombs *ts, uint64_t file_id, int64_t min, int64_t max)
{
    for (uint32_t i = 0; ts && i < ts->n; i++) {
        const catalog_tombstone *t = &ts->v[i].t;
        if (t->id > file_id && t->npreds == 0 && t->min_time <= min && t->max_time >= max)
            return true;
    }
    return false;
}

bool ptombs_touch(const persist_tombs *ts, uint64_t file_id, int64_t min, int64_t max)
{
    for (uint32_t i = 0; ts && i < ts->n; i++) {
        const catalog_tombstone *t = &ts->v[i].t;
        if (t->id > file_id && overlaps(t->min_time, t->max_time, min, max))
            return true;
    }
    return false;
}

/* ---- row masks of a decoded row group ---- */

static bool one_of(const catalog_tomb_pred *pr, const char *s, size_t len)
{
    for (uint32_t k = 0; k < pr->nvals; k++)
        if (pr->vals[k].len == len && memcmp(pr->vals[k].ptr, s, len) == 0)
            return true;
    return false;
}

/* ok[r]: row r's value of the predicate's column is one of its values. False when
 * the file has no such string column: a row without a value matches nothing. */
static int pred_rows(const persist_source *s, const ptomb *pt, uint32_t p, uint8_t *ok,
                     uint32_t nrows, vg_arena *a, vg_err *e)
{
    memset(ok, 0, nrows);
    const parquet_file *pq = s->file->pq;
    int col = parquet_find_column(pq, pt->names[p]);
    if (col < 0 || parquet_file_meta(pq)->cols[col].type != PARQUET_STRING)
        return VG_OK;
    parquet_column_out o;
    int rc = parquet_read_column(pq, s->rg, (uint32_t)col, a, &o, e);
    if (rc != VG_OK)
        return rc;
    if (o.nrows != nrows)
        return vg_err_set(e, VG_ECORRUPT, "%s: column %s of row group %u has %u rows, not %u",
                          s->file->path, pt->names[p], s->rg, o.nrows, nrows);
    const catalog_tomb_pred *pr = &pt->t.preds[p];
    uint8_t *dict_ok = o.ids ? vg_arena_alloc(a, o.ndict ? o.ndict : 1) : NULL;
    if (o.ids && !dict_ok)
        return vg_err_set(e, VG_ENOMEM, "out of memory applying a delete");
    for (uint32_t i = 0; o.ids && i < o.ndict; i++)
        dict_ok[i] = one_of(pr, o.dict[i].ptr, o.dict[i].len);
    for (uint32_t r = 0; r < nrows; r++) {
        if (o.valid && !((o.valid[r >> 3] >> (r & 7)) & 1))
            continue;
        ok[r] = o.ids ? dict_ok[o.ids[r]] : one_of(pr, o.v.s[r].ptr, o.v.s[r].len);
    }
    return VG_OK;
}

/* Marks in drop the rows of c (decoded from s) that one tombstone matches. */
static int mark_rows(const persist_source *s, const buffer_chunk *c, const ptomb *pt,
                     uint8_t *drop, uint32_t *ndrop, vg_arena *a, vg_err *e)
{
    uint32_t n = c->nrows;
    uint8_t *match = vg_arena_alloc(a, n);
    uint8_t *ok = pt->t.npreds ? vg_arena_alloc(a, n) : NULL;
    if (!match || (pt->t.npreds && !ok))
        return vg_err_set(e, VG_ENOMEM, "out of memory applying a delete");
    const int64_t *time = c->cols[0].v.i64;
    for (uint32_t r = 0; r < n; r++)
        match[r] = time[r] >= pt->t.min_time && time[r] <= pt->t.max_time;
    for (uint32_t p = 0; p < pt->t.npreds; p++) {
        int rc = pred_rows(s, pt, p, ok, n, a, e);
        if (rc != VG_OK)
            return rc;
        for (uint32_t r = 0; r < n; r++)
            match[r] &= ok[r];
    }
    for (uint32_t r = 0; r < n; r++) {
        if (match[r] && !drop[r]) {
            drop[r] = 1;
            (*ndrop)++;
        }
    }
    return VG_OK;
}

int ptombs_apply(const persist_source *s, buffer_chunk **c, vg_err *e)
{
    const persist_tombs *ts = s->tombs;
    buffer_chunk *ch = *c;
    uint8_t *drop = NULL;
    uint32_t ndrop = 0;
    vg_arena a;
    vg_arena_init(&a, 1 << 16);
    int rc = VG_OK;
    for (uint32_t i = 0; rc == VG_OK && ts && i < ts->n; i++) {
        const ptomb *pt = &ts->v[i];
        if (pt->t.id <= s->file->id ||
            !overlaps(pt->t.min_time, pt->t.max_time, ch->min_time, ch->max_time))
            continue;
        if (!drop && !(drop = vg_arena_calloc(&a, ch->nrows ? ch->nrows : 1)))
            rc = vg_err_set(e, VG_ENOMEM, "out of memory applying a delete");
        if (rc == VG_OK)
            rc = mark_rows(s, ch, pt, drop, &ndrop, &a, e);
    }
    if (rc == VG_OK && ndrop) {
        buffer_chunk *kept = buffer_chunk_without(ch, drop);
        if (!kept) {
            rc = vg_err_set(e, VG_ENOMEM, "out of memory applying a delete");
        } else {
            if (kept->nrows == 0) { /* keep the source's range: scans plan by it */
                kept->min_time = s->min_time;
                kept->max_time = s->max_time;
            }
            buffer_chunk_unref(ch);
            *c = kept;
        }
    }
    vg_arena_free(&a);
    return rc;
}

/* ---- DELETE FROM ---- */

/* Files of the table written before the tombstone that meet its time range. */
static uint64_t files_hidden(persist *p, const catalog_tombstone *t)
{
    uint64_t n = 0;
    ptable *pt = ptable_lookup(p, t->db_id, t->table_id);
    for (uint32_t i = 0; pt && i < pt->n; i++)
        n += pt->files[i]->id < t->id &&
             overlaps(pt->files[i]->min_time, pt->files[i]->max_time, t->min_time, t->max_time);
    return n;
}

static int commit_tomb(persist *p, catalog_tombstone *t, vg_err *e)
{
    catalog *c = p->cfg.cat;
    catalog_write_lock(c);
    t->id = catalog_file_id_next(c);
    int rc = catalog_tombstone_add(c, t, e);
    if (rc == VG_OK)
        rc = catalog_commit(c, e);
    catalog_write_unlock(c);
    return rc;
}

int persist_delete_rows(persist *p, const catalog_tombstone *t, persist_delete_result *res,
                        vg_err *e)
{
    persist_delete_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!p->cfg.delete_rows)
        return vg_err_set(e, VG_EINTERNAL, "row deletes are not wired up");
    catalog_tombstone ts = *t;
    /* no compaction group is merging (compact_mu) and no snapshot writing (snap_mu):
     * every file id handed out so far belongs to a file written before the delete */
    __atomic_add_fetch(&p->compact_waiters, 1, __ATOMIC_RELAXED); /* a paced merge hurries */
    pthread_mutex_lock(&p->compact_mu);
    __atomic_sub_fetch(&p->compact_waiters, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&p->snap_mu);
    pthread_rwlock_wrlock(&p->view_lock);
    int rc = p->cfg.delete_rows(p->cfg.delete_ctx, &ts, &res->wal_seq, &res->buffered_rows, e);
    if (rc == VG_OK) {
        persist_crash_point("delete-logged");
        ts.wal_seq = res->wal_seq;
        rc = commit_tomb(p, &ts, e);
        if (rc != VG_OK) /* the WAL record is durable: a restart records the tombstone */
            VG_ERROR(PERSIST_MOD, "delete (WAL %llu) not recorded for the Parquet files until "
                     "a restart: %s", (unsigned long long)res->wal_seq, e->msg);
    }
    if (rc == VG_OK)
        res->files = files_hidden(p, &ts);
    pthread_rwlock_unlock(&p->view_lock);
    pthread_mutex_unlock(&p->snap_mu);
    pthread_mutex_unlock(&p->compact_mu);
    if (rc == VG_OK)
        VG_INFO(PERSIST_MOD, "delete %llu (WAL %llu): db %u table %u, time [%lld, %lld], %u tag "
                "predicate(s): %llu buffered row(s) removed, %llu file(s) hidden from",
                (unsigned long long)ts.id, (unsigned long long)ts.wal_seq, ts.db_id, ts.table_id,
                (long long)ts.min_time, (long long)ts.max_time, ts.npreds,
                (unsigned long long)res->buffered_rows, (unsigned long long)res->files);
    return rc;
}

/* ---- hard deletes and obsolete tombstones ---- */

typedef struct gone_file {
    uint32_t db_id, table_id;
    uint64_t id;
} gone_file;

typedef struct gone_list {
    gone_file *v;
    size_t n, cap;
} gone_list;

static int gone_add(gone_list *l, uint32_t db_id, uint32_t table_id, uint64_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        gone_file *nv = vg_realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return VG_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (gone_file){db_id, table_id, id};
    return VG_OK;
}

/* Every file and tombstone of a table leaves the catalog (write lock held). */
static int purge_table(catalog *c, catalog_table *t, gone_list *gone, uint64_t *ntombs, vg_err *e)
{
    int rc = VG_OK;
    while (rc == VG_OK && t->nfiles) {
        catalog_file *f = t->files[t->nfiles - 1];
        if (gone_add(gone, f->db_id, f->table_id, f->id) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory removing deleted files");
        rc = catalog_file_remove(c, t, f->id, e);
    }
    while (rc == VG_OK && t->ntombs) {
        rc = catalog_tombstone_remove(c, t, t->tombs[t->ntombs - 1]->id, e);
        (*ntombs)++;
    }
    return rc;
}

static bool due(int64_t at, int64_t now_ns)
{
    return at != 0 && at <= now_ns;
}

/* Files of deleted databases and tables whose time has come (catalog write lock). */
static int purge_deleted(persist *p, int64_t now_ns, gone_list *gone, uint64_t *ntombs, vg_err *e)
{
    uint32_t ndbs;
    catalog_db **dbs = catalog_dbs(p->cfg.cat, &ndbs);
    int rc = VG_OK;
    for (uint32_t d = 0; rc == VG_OK && d < ndbs; d++) {
        bool whole = dbs[d]->deleted && due(dbs[d]->hard_delete_at_ns, now_ns);
        for (uint32_t i = 0; rc == VG_OK && i < dbs[d]->ntables; i++) {
            catalog_table *t = dbs[d]->tables[i];
            if (whole || (t->deleted && due(t->hard_delete_at_ns, now_ns)))
                rc = purge_table(p->cfg.cat, t, gone, ntombs, e);
        }
    }
    return rc;
}

/* A tombstone some file of its table still needs: written before it (a smaller id)
 * and meeting its time range. View lock held. */
static bool tomb_needed(persist *p, const catalog_tombstone *t)
{
    return files_hidden(p, t) > 0;
}

typedef struct tomb_ref {
    uint32_t db_id, table_id;
    uint64_t id;
    int64_t min_time, max_time;
} tomb_ref;

/* The tombstones that could go, as references (catalog read lock taken here): those
 * whose WAL record is persisted. One still in the WAL stays until a snapshot covers
 * it, so that replaying the record finds it and knows no crash interrupted it. */
static int list_tombs(persist *p, tomb_ref **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc = VG_OK;
    catalog_read_lock(p->cfg.cat);
    uint32_t ndbs;
    catalog_db **dbs = catalog_dbs(p->cfg.cat, &ndbs);
    uint64_t persisted = catalog_persisted_seq(p->cfg.cat);
    for (uint32_t d = 0; rc == VG_OK && d < ndbs; d++)
        for (uint32_t i = 0; rc == VG_OK && i < dbs[d]->ntables; i++)
            for (uint32_t k = 0; rc == VG_OK && k < dbs[d]->tables[i]->ntombs; k++) {
                const catalog_tombstone *t = dbs[d]->tables[i]->tombs[k];
                if (t->wal_seq > persisted)
                    continue;
                if (*n == cap) {
                    cap = cap ? cap * 2 : 16;
                    tomb_ref *nv = vg_realloc(*out, cap * sizeof *nv);
                    if (!nv) {
                        rc = VG_ENOMEM;
                        break;
                    }
                    *out = nv;
                }
                (*out)[(*n)++] = (tomb_ref){t->db_id, t->table_id, t->id, t->min_time, t->max_time};
            }
    catalog_read_unlock(p->cfg.cat);
    return rc;
}

/* Drops tombstones no live file needs any more. Snapshot lock held: files with ids
 * below a tombstone can only leave, never arrive. */
static int drop_obsolete_tombs(persist *p, uint64_t *dropped, vg_err *e)
{
    tomb_ref *refs;
    size_t n;
    if (list_tombs(p, &refs, &n) != VG_OK) {
        vg_free(refs);
        return vg_err_set(e, VG_ENOMEM, "out of memory listing deletes");
    }
    size_t k = 0;
    pthread_rwlock_rdlock(&p->view_lock);
    for (size_t i = 0; i < n; i++) {
        catalog_tombstone t = {.id = refs[i].id, .db_id = refs[i].db_id,
                               .table_id = refs[i].table_id, .min_time = refs[i].min_time,
                               .max_time = refs[i].max_time};
        if (!tomb_needed(p, &t))
            refs[k++] = refs[i];
    }
    pthread_rwlock_unlock(&p->view_lock);
    int rc = VG_OK;
    catalog_write_lock(p->cfg.cat);
    for (size_t i = 0; rc == VG_OK && i < k; i++) {
        catalog_db *db = catalog_db_get(p->cfg.cat, refs[i].db_id);
        catalog_table *t = db && refs[i].table_id < db->ntables ? db->tables[refs[i].table_id]
                                                                  : NULL;
        if (t && catalog_tombstone_remove(p->cfg.cat, t, refs[i].id, e) == VG_OK)
            (*dropped)++;
    }
    if (*dropped)
        rc = catalog_commit(p->cfg.cat, e);
    catalog_write_unlock(p->cfg.cat);
    vg_free(refs);
    return rc;
}

int persist_purge(persist *p, int64_t now_ns, persist_purge_result *res, vg_err *e)
{
    persist_purge_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    gone_list gone = {0};
    pthread_mutex_lock(&p->snap_mu);
    catalog_write_lock(p->cfg.cat);
    uint64_t ntombs = 0;
    int rc = purge_deleted(p, now_ns, &gone, &ntombs, e);
    if (rc == VG_OK && gone.n + ntombs)
        rc = catalog_commit(p->cfg.cat, e);
    catalog_write_unlock(p->cfg.cat);
    if (rc == VG_OK && gone.n) {
        pthread_rwlock_wrlock(&p->view_lock);
        for (size_t i = 0; i < gone.n; i++)
            ptable_drop(p, gone.v[i].db_id, gone.v[i].table_id, gone.v[i].id);
        pthread_rwlock_unlock(&p->view_lock);
        VG_INFO(PERSIST_MOD, "hard delete: %zu Parquet file(s) of deleted databases and tables "
                "removed", gone.n);
    }
    res->files = rc == VG_OK ? gone.n : 0;
    uint64_t dropped = 0;
    if (rc == VG_OK)
        rc = drop_obsolete_tombs(p, &dropped, e);
    res->tombstones = ntombs + dropped;
    if (rc == VG_OK && dropped)
        VG_INFO(PERSIST_MOD, "%llu delete(s) no longer hide any row of a file: dropped",
                (unsigned long long)dropped);
    pthread_mutex_unlock(&p->snap_mu);
    vg_free(gone.v);
    return rc;
}
