/* persist/persist.c: the persist module's state (persist.h): live files of every
 * table as refcounted handles, start-up clean-up of files the catalog does not know,
 * readers' views (files and buffer chunks taken under one lock), and decoding a
 * file's row group into a frozen chunk. */
#include "persist_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- test hook ---- */

void persist_crash_point(const char *point)
{
    const char *at = getenv("VIGIL_CRASH_AT");
    if (at && strcmp(at, point) == 0) {
        VG_WARN(PERSIST_MOD, "VIGIL_CRASH_AT=%s: exiting abruptly", point);
        _exit(137);
    }
}

/* ---- file handles ---- */

persist_file *pfile_new(persist *p, const catalog_file *cf)
{
    persist_file *f = vg_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->path = vg_strdup(cf->path);
    if (!f->path) {
        vg_free(f);
        return NULL;
    }
    f->refs = 1;
    f->p = p;
    f->id = cf->id;
    f->order = cf->order;
    f->db_id = cf->db_id;
    f->table_id = cf->table_id;
    f->bytes = cf->bytes;
    f->rows = cf->rows;
    f->min_time = cf->min_time;
    f->max_time = cf->max_time;
    f->time_col = -1;
    f->added_mono_ns = vg_mono_ns();
    pthread_mutex_init(&f->open_mu, NULL);
    return f;
}

static void pfile_ref(persist_file *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void pfile_unref(persist_file *f)
{
    if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (f->pq)
        parquet_close(f->pq);
    store_obj_release(&f->obj);
    if (f->removed) {
        vg_err e;
        vg_err_clear(&e);
        if (store_delete(f->p->cfg.store, f->path, &e) != VG_OK)
            VG_WARN(PERSIST_MOD, "cannot delete %s: %s", f->path, e.msg);
    }
    vg_free(f->rg_time);
    vg_free(f->path);
    pthread_mutex_destroy(&f->open_mu);
    vg_free(f);
}

/* Maps the file and reads its footer once; later calls return the same. */
int pfile_open(persist_file *f, vg_err *e)
{
    pthread_mutex_lock(&f->open_mu);
    int rc = VG_OK;
    if (f->opened)
        goto out;
    rc = store_get(f->p->cfg.store, f->path, &f->obj, e);
    if (rc == VG_OK)
        rc = parquet_open_mem(&f->pq, f->obj.data, f->obj.len, NULL, e);
    if (rc != VG_OK) {
        store_obj_release(&f->obj);
        goto out;
    }
    const parquet_meta *m = parquet_file_meta(f->pq);
    f->time_col = parquet_find_column(f->pq, "time");
    f->rg_time = vg_calloc(m->nrow_groups ? m->nrow_groups : 1, sizeof *f->rg_time);
    if (!f->rg_time || f->time_col < 0 || m->cols[f->time_col].type != PARQUET_TIMESTAMP) {
        rc = f->rg_time ? vg_err_set(e, VG_ECORRUPT, "Parquet file %s has no time column", f->path)
                        : vg_err_set(e, VG_ENOMEM, "out of memory opening %s", f->path);
        parquet_close(f->pq);
        f->pq = NULL;
        store_obj_release(&f->obj);
        vg_free(f->rg_time);
        f->rg_time = NULL;
        goto out;
    }
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        const parquet_stats *st = &m->row_groups[g].chunks[f->time_col].stats;
        f->rg_time[g][0] = st->has_min_max ? st->min.i64 : f->min_time;
        f->rg_time[g][1] = st->has_min_max ? st->max.i64 : f->max_time;
    }
    /* the footer is parsed: its pages need not stay resident (thousands of files) */
    store_obj_drop_pages(&f->obj, 0, f->obj.len);
    f->opened = true;
out:
    pthread_mutex_unlock(&f->open_mu);
    return rc;
}

/* ---- tables ---- */

ptable *ptable_lookup(persist *p, uint32_t db_id, uint32_t table_id)
{
    char key[24];
    int klen = snprintf(key, sizeof key, "%u/%u", db_id, table_id);
    return vg_map_get(&p->tables, key, (size_t)klen);
}

static ptable *ptable_get(persist *p, uint32_t db_id, uint32_t table_id, bool create)
{
    char key[24];
    int klen = snprintf(key, sizeof key, "%u/%u", db_id, table_id);
    ptable *t = vg_map_get(&p->tables, key, (size_t)klen);
    if (t || !create)
        return t;
    t = vg_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->db_id = db_id;
    t->table_id = table_id;
    if (vg_map_put(&p->tables, key, (size_t)klen, t) != VG_OK) {
        vg_free(t);
        return NULL;
    }
    return t;
}

int ptable_add(persist *p, persist_file *f)
{
    ptable *t = ptable_get(p, f->db_id, f->table_id, true);
    if (!t)
        return VG_ENOMEM;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 8;
        persist_file **nf = vg_realloc(t->files, cap * sizeof *nf);
        if (!nf)
            return VG_ENOMEM;
        t->files = nf;
        t->cap = cap;
    }
    uint32_t at = t->n;
    while (at > 0 && t->files[at - 1]->order > f->order)
        at--;
    memmove(t->files + at + 1, t->files + at, (t->n - at) * sizeof *t->files);
    t->files[at] = f;
    t->n++;
    return VG_OK;
}

static void free_tables(persist *p)
{
    size_t it = 0;
    const vg_map_entry *en;
    while (vg_map_next(&p->tables, &it, &en)) {
        ptable *t = en->val;
        for (uint32_t i = 0; i < t->n; i++)
            pfile_unref(t->files[i]);
        vg_free(t->files);
        vg_free(t);
    }
    vg_map_free(&p->tables);
}

/* ---- open: files from the catalog, orphans deleted ---- */

static int load_files(persist *p, vg_map *known, vg_err *e)
{
    catalog *c = p->cfg.cat;
    uint32_t ndbs;
    catalog_read_lock(c);
    catalog_db **dbs = catalog_dbs(c, &ndbs);
    int rc = VG_OK;
    for (uint32_t d = 0; rc == VG_OK && d < ndbs; d++) {
        for (uint32_t t = 0; rc == VG_OK && t < dbs[d]->ntables; t++) {
            catalog_table *tab = dbs[d]->tables[t];
            for (uint32_t i = 0; rc == VG_OK && i < tab->nfiles; i++) {
                catalog_file *cf = tab->files[i];
                persist_file *f = pfile_new(p, cf);
                if (!f || ptable_add(p, f) != VG_OK ||
                    vg_map_put(known, cf->path, strlen(cf->path), f) != VG_OK) {
                    pfile_unref(f);
                    rc = vg_err_set(e, VG_ENOMEM, "out of memory loading the file list");
                }
            }
        }
    }
    catalog_read_unlock(c);
    return rc;
}

typedef struct orphan_walk {
    vg_map *known;
    vg_buf doomed; /* NUL-separated paths */
    uint32_t n;
} orphan_walk;

static int note_orphan(void *ctx, const char *path, uint64_t size)
{
    orphan_walk *w = ctx;
    if (vg_map_get(w->known, path, strlen(path)))
        return 0;
    vg_buf_puts(&w->doomed, path);
    vg_buf_putc(&w->doomed, '\0');
    w->n++;
    return 0;
}

/* Objects under dbs/ the catalog does not list: files of a snapshot or compaction
 * that crashed before its commit, and temporary files of interrupted writes. */
static int delete_orphans(persist *p, vg_map *known, vg_err *e)
{
    orphan_walk w = {known, {0}, 0};
    vg_buf_init(&w.doomed);
    int rc = store_list(p->cfg.store, "dbs", note_orphan, &w, e);
    if (rc == VG_OK && w.doomed.oom)
        rc = vg_err_set(e, VG_ENOMEM, "out of memory listing orphan files");
    for (size_t off = 0; rc == VG_OK && off < w.doomed.len;) {
        const char *path = w.doomed.data + off;
        VG_INFO(PERSIST_MOD, "deleting %s: not in the catalog (left by an interrupted snapshot)",
                path);
        rc = store_delete(p->cfg.store, path, e);
        off += strlen(path) + 1;
    }
    vg_buf_free(&w.doomed);
    return rc;
}

int persist_open(const persist_config *cfg, persist **out, vg_err *e)
{
    *out = NULL;
    persist *p = vg_calloc(1, sizeof *p);
    if (!p)
        return vg_err_set(e, VG_ENOMEM, "out of memory starting persistence");
    p->cfg = *cfg;
    if (p->cfg.gen1_ns <= 0)
        p->cfg.gen1_ns = PERSIST_DEFAULT_GEN1_NS;
    if (p->cfg.row_group_rows == 0)
        p->cfg.row_group_rows = PERSIST_DEFAULT_ROW_GROUP_ROWS;
    if (p->cfg.compaction_max_file_bytes == 0)
        p->cfg.compaction_max_file_bytes = 100ull << 20;
    if (p->cfg.compaction_min_files == 0)
        p->cfg.compaction_min_files = 10;
    if (p->cfg.compaction_mem_bytes == 0)
        p->cfg.compaction_mem_bytes = 256ull << 20;
    pthread_rwlock_init(&p->view_lock, NULL);
    pthread_mutex_init(&p->snap_mu, NULL);
    pthread_mutex_init(&p->compact_mu, NULL);
    vg_map_init(&p->tables);
    vg_map known;
    vg_map_init(&known);
    int rc = load_files(p, &known, e);
    if (rc == VG_OK)
        rc = delete_orphans(p, &known, e);
    vg_map_free(&known);
    if (rc != VG_OK) {
        persist_close(p);
        return rc;
    }
    *out = p;
    return VG_OK;
}

void persist_close(persist *p)
{
    if (!p)
        return;
    free_tables(p);
    pthread_rwlock_destroy(&p->view_lock);
    pthread_mutex_destroy(&p->snap_mu);
    pthread_mutex_destroy(&p->compact_mu);
    vg_free(p);
}

/* ---- views ---- */

typedef struct view_int {
    persist_view pub;
    persist_file **files; /* referenced */
    uint32_t nfiles;
    persist_tombs *tombs; /* deletes hiding rows of some of the files, or NULL */
    buffer_chunk **chunks; /* referenced (buffer snapshot) */
    size_t nchunks;
    bool counted; /* in p->views_open */
} view_int;

static bool overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    return a0 <= b1 && b0 <= a1;
}

/* Takes the table's files and buffer chunks under the view lock, so a snapshot's
 * swap of chunks for files is seen whole or not at all. */
static int take_sources(persist *p, view_int *v, uint32_t db_id, uint32_t table_id, int64_t tmin,
                        int64_t tmax, vg_err *e)
{
    pthread_rwlock_rdlock(&p->view_lock);
    int rc = VG_OK;
    ptable *t = ptable_get(p, db_id, table_id, false);
    if (t && t->n) {
        v->files = vg_malloc(t->n * sizeof *v->files);
        if (!v->files)
            rc = vg_err_set(e, VG_ENOMEM, "out of memory opening a table view");
    }
    for (uint32_t i = 0; rc == VG_OK && t && i < t->n; i++) {
        persist_file *f = t->files[i];
        v->pub.files_total++;
        if (!overlaps(f->min_time, f->max_time, tmin, tmax)) {
            v->pub.files_pruned++;
            continue;
        }
        pfile_ref(f);
        v->files[v->nfiles++] = f;
    }
    /* Under the view lock: a delete commits its tombstone under it too, so the view
     * sees both its buffer rewrite and its tombstone, or neither. */
    uint64_t min_id = UINT64_MAX;
    for (uint32_t i = 0; i < v->nfiles; i++)
        min_id = v->files[i]->id < min_id ? v->files[i]->id : min_id;
    if (rc == VG_OK && v->nfiles)
        rc = ptombs_load(p, db_id, table_id, min_id, tmin, tmax, &v->tombs, e);
    if (rc == VG_OK)
        rc = buffer_snapshot(p->cfg.buf, db_id, table_id, &v->chunks, &v->nchunks, e);
    pthread_rwlock_unlock(&p->view_lock);
    return rc;
}

static int add_file_sources(view_int *v, int64_t tmin, int64_t tmax, vg_err *e)
{
    for (uint32_t i = 0; i < v->nfiles; i++) {
        persist_file *f = v->files[i];
        int rc = pfile_open(f, e);
        if (rc != VG_OK)
            return rc;
        /* A file overlapping an older one may repeat its rows; rows inside one file
         * are unique (the snapshot merged them). */
        bool flagged = false;
        for (uint32_t k = 0; k < i && !flagged; k++)
            flagged = overlaps(f->min_time, f->max_time, v->files[k]->min_time,
                               v->files[k]->max_time);
        const parquet_meta *m = parquet_file_meta(f->pq);
        for (uint32_t g = 0; g < m->nrow_groups; g++) {
            uint64_t rows = m->row_groups[g].num_rows;
            int64_t g0 = f->rg_time[g][0], g1 = f->rg_time[g][1];
            if (rows == 0 || !overlaps(g0, g1, tmin, tmax) ||
                ptombs_hide_all(v->tombs, f->id, g0, g1))
                continue;
            persist_source *s = &v->pub.src[v->pub.n++];
            s->tombs = ptombs_touch(v->tombs, f->id, g0, g1) ? v->tombs : NULL;
            s->min_time = f->rg_time[g][0];
            s->max_time = f->rg_time[g][1];
            s->nrows = (uint32_t)rows;
            s->flagged = flagged;
            s->dup_min = s->min_time;
            s->dup_max = s->max_time;
            s->file = f;
            s->rg = g;
        }
    }
    return VG_OK;
}

static void add_chunk_sources(view_int *v)
{
    for (size_t i = 0; i < v->nchunks; i++) {
        buffer_chunk *c = v->chunks[i];
        persist_source *s = &v->pub.src[v->pub.n++];
        s->min_time = c->min_time;
        s->max_time = c->max_time;
        s->nrows = c->nrows;
        s->chunk = c;
        /* The buffer's own flag covers duplicates among chunks written since start;
         * a chunk overlapping a file may repeat a persisted row (after a restart the
         * buffer no longer remembers those). */
        bool on_file = false;
        for (uint32_t k = 0; k < v->nfiles && !on_file; k++)
            on_file = overlaps(c->min_time, c->max_time, v->files[k]->min_time,
                               v->files[k]->max_time);
        s->flagged = on_file || c->may_have_dups;
        s->dup_min = on_file ? c->min_time : c->dup_min;
        s->dup_max = on_file ? c->max_time : c->dup_max;
    }
}

int persist_view_open(persist *p, uint32_t db_id, uint32_t table_id, int64_t tmin, int64_t tmax,
                      persist_view **out, vg_err *e)
{
    *out = NULL;
    view_int *v = vg_calloc(1, sizeof *v);
    if (!v)
        return vg_err_set(e, VG_ENOMEM, "out of memory opening a table view");
    v->pub.p_ = p;
    int rc = take_sources(p, v, db_id, table_id, tmin, tmax, e);
    size_t cap = v->nchunks;
    for (uint32_t i = 0; rc == VG_OK && i < v->nfiles; i++) {
        if ((rc = pfile_open(v->files[i], e)) == VG_OK)
            cap += parquet_file_meta(v->files[i]->pq)->nrow_groups;
    }
    if (rc == VG_OK && cap && !(v->pub.src = vg_calloc(cap, sizeof *v->pub.src)))
        rc = vg_err_set(e, VG_ENOMEM, "out of memory opening a table view");
    if (rc == VG_OK)
        rc = add_file_sources(v, tmin, tmax, e);
    if (rc != VG_OK) {
        persist_view_close(&v->pub);
        return rc;
    }
    add_chunk_sources(v);
    v->counted = true;
    __atomic_add_fetch(&p->views_open, 1, __ATOMIC_RELAXED);
    *out = &v->pub;
    return VG_OK;
}

void persist_view_close(persist_view *pv)
{
    if (!pv)
        return;
    view_int *v = (view_int *)pv;
    if (v->counted)
        __atomic_sub_fetch(&v->pub.p_->views_open, 1, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < v->nfiles; i++)
        pfile_unref(v->files[i]);
    vg_free(v->files);
    ptombs_free(v->tombs);
    if (v->chunks)
        buffer_snapshot_release(v->chunks, v->nchunks);
    vg_free(v->pub.src);
    vg_free(v);
}

bool persist_source_may_hold(const persist_source *s, const char *name, const char *value,
                             size_t len)
{
    if (!s->file)
        return true;
    int col = parquet_find_column(s->file->pq, name);
    if (col < 0)
        return false; /* the file has no such column: all NULL there */
    const parquet_meta *m = parquet_file_meta(s->file->pq);
    const parquet_stats *st = &m->row_groups[s->rg].chunks[col].stats;
    if (m->cols[col].type != PARQUET_STRING || !st->has_min_max)
        return true;
    vg_str v = {value, len};
    size_t n = st->min.s.len < len ? st->min.s.len : len;
    int c = memcmp(st->min.s.ptr, v.ptr, n);
    if (c > 0 || (c == 0 && st->min.s.len > len))
        return false; /* value < min */
    n = st->max.s.len < len ? st->max.s.len : len;
    c = memcmp(st->max.s.ptr, v.ptr, n);
    if (c < 0 || (c == 0 && st->max.s.len < len))
        return false; /* value > max */
    return true;
}

/* ---- loading a row group ---- */

static parquet_type parquet_type_of(catalog_type t)
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

static void copy_valid(buffer_column *bc, const parquet_column_out *o)
{
    size_t nb = ((size_t)o->nrows + 7) / 8;
    if (o->valid) {
        if (o->valid != bc->valid) /* else decoded in place */
            memcpy(bc->valid, o->valid, nb);
        if (o->nrows & 7)
            bc->valid[nb - 1] &= (uint8_t)((1u << (o->nrows & 7)) - 1);
    } else {
        memset(bc->valid, 0xff, nb);
        if (o->nrows & 7)
            bc->valid[nb - 1] = (uint8_t)((1u << (o->nrows & 7)) - 1);
    }
}

/* The file's dictionary ids as the chunk's. The file's ids were decoded straight
 * into the chunk (o->ids == bc->v.ids); the chunk's dictionary takes the file's
 * entries in order, so its ids are the file's unless the file repeats an entry. */
static int fill_tags(buffer_chunk *c, buffer_column *bc, const parquet_column_out *o,
                     vg_arena *a)
{
    if (o->ids) {
        uint32_t *remap = vg_arena_alloc(a, (o->ndict ? o->ndict : 1) * sizeof *remap);
        if (!remap)
            return VG_ENOMEM;
        bool same = true;
        for (uint32_t i = 0; i < o->ndict; i++) {
            if (buffer_chunk_dict_add(c, bc, o->dict[i].ptr, (uint32_t)o->dict[i].len,
                                      &remap[i]) != VG_OK)
                return VG_ENOMEM;
            same &= remap[i] == i;
        }
        if (same && o->ids == bc->v.ids)
            return VG_OK; /* null rows hold id 0 already (parquet.h) */
        if (!o->valid) {
            for (uint32_t r = 0; r < o->nrows; r++)
                bc->v.ids[r] = remap[o->ids[r]];
            return VG_OK;
        }
        for (uint32_t r = 0; r < o->nrows; r++)
            bc->v.ids[r] = buffer_is_valid(bc, r) ? remap[o->ids[r]] : 0;
        return VG_OK;
    }
    for (uint32_t r = 0; r < o->nrows; r++) {
        bc->v.ids[r] = 0;
        if (buffer_is_valid(bc, r) &&
            buffer_chunk_dict_add(c, bc, o->v.s[r].ptr, (uint32_t)o->v.s[r].len, &bc->v.ids[r]) !=
                VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

static int fill_column(buffer_chunk *c, buffer_column *bc, const parquet_column_out *o,
                       vg_arena *a)
{
    copy_valid(bc, o);
    size_t n = o->nrows;
    if (o->v.b == (const uint8_t *)bc->v.i64)
        return VG_OK; /* decoded in place */
    switch (bc->type) {
    case CATALOG_TIME:
    case CATALOG_INT: memcpy(bc->v.i64, o->v.i64, n * 8); return VG_OK;
    case CATALOG_UINT: memcpy(bc->v.u64, o->v.u64, n * 8); return VG_OK;
    case CATALOG_FLOAT: memcpy(bc->v.f64, o->v.f64, n * 8); return VG_OK;
    case CATALOG_BOOL: memcpy(bc->v.b, o->v.b, n); return VG_OK;
    case CATALOG_TAG: return fill_tags(c, bc, o, a);
    case CATALOG_STRING: return buffer_chunk_set_strings(c, bc, o->v.s);
    }
    return VG_OK;
}

/* The row group's bytes leave the resident set once decoded (store.h). All of them,
 * once, after every column: the kernel maps pages around each fault ("fault-around"),
 * so dropping column by column would leave pages of the columns read earlier mapped
 * again by the reads of later ones. */
static void drop_row_group_pages(const persist_source *s)
{
    const parquet_meta *m = parquet_file_meta(s->file->pq);
    const parquet_row_group_info *rg = &m->row_groups[s->rg];
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t k = 0; k < m->ncols; k++) {
        const parquet_chunk_info *ci = &rg->chunks[k];
        lo = ci->offset < lo ? ci->offset : lo;
        hi = ci->offset + ci->compressed_bytes > hi ? ci->offset + ci->compressed_bytes : hi;
    }
    if (lo < hi)
        store_obj_drop_pages(&s->file->obj, (size_t)lo, (size_t)(hi - lo));
}

static int load_column(const persist_source *s, buffer_chunk *c, uint32_t id, const char *name,
                       catalog_type type, vg_arena *a, vg_err *e)
{
    const parquet_file *pq = s->file->pq;
    int col = parquet_find_column(pq, name);
    if (col < 0 || parquet_file_meta(pq)->cols[col].type != parquet_type_of(type))
        return VG_OK; /* absent (or of another type): NULL */
    buffer_column *bc = buffer_chunk_column(c, id, type);
    if (!bc)
        return vg_err_set(e, VG_ENOMEM, "out of memory loading %s", s->file->path);
    /* fixed-width values are decoded where the chunk keeps them, and so are a tag
     * column's dictionary ids (no string per row is made) */
    bool fixed = type != CATALOG_TAG && type != CATALOG_STRING;
    if (fixed)
        memset(bc->valid, 0, ((size_t)c->nrows + 7) / 8);
    parquet_dest dst = {.values = fixed ? bc->v.i64 : NULL,
                        .valid = fixed ? bc->valid : NULL,
                        .rows = c->nrows,
                        .ids = type == CATALOG_TAG ? bc->v.ids : NULL};
    parquet_column_out o;
    int rc = parquet_read_column_into(pq, s->rg, (uint32_t)col, a,
                                      fixed || type == CATALOG_TAG ? &dst : NULL, &o, e);
    if (rc != VG_OK) { /* say which file: the reader knows only offsets */
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        return vg_err_set(e, rc, "reading %s: %s", s->file->path, msg);
    }
    if (o.nrows != c->nrows)
        return vg_err_set(e, VG_ECORRUPT, "%s: column %s of row group %u has %u rows, not %u",
                          s->file->path, name, s->rg, o.nrows, c->nrows);
    if (fill_column(c, bc, &o, a) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory loading %s", s->file->path);
    return VG_OK;
}

/* Every bit of rows [0, n) set: whole bytes first. */
static bool all_valid(const uint8_t *valid, uint32_t n)
{
    uint8_t acc = 0xff;
    for (uint32_t i = 0; i < n / 8; i++)
        acc &= valid[i];
    uint8_t tail = (uint8_t)((1u << (n & 7)) - 1);
    return acc == 0xff && ((n & 7) == 0 || (valid[n / 8] & tail) == tail);
}

int persist_source_load(const persist_source *s, uint32_t db_id, uint32_t table_id,
                        uint32_t ncols_table, const persist_col *cols, uint32_t ncols,
                        buffer_chunk **out, vg_err *e)
{
    *out = NULL;
    if (s->chunk) {
        buffer_chunk_ref(s->chunk);
        *out = s->chunk;
        return VG_OK;
    }
    buffer_chunk *c = buffer_chunk_new_loaded(db_id, table_id, ncols_table ? ncols_table : 1,
                                              s->nrows);
    if (!c)
        return vg_err_set(e, VG_ENOMEM, "out of memory loading %s", s->file->path);
    vg_arena a;
    vg_arena_init(&a, 1 << 20);
    int rc = load_column(s, c, 0, "time", CATALOG_TIME, &a, e);
    if (rc == VG_OK && !c->cols[0].present)
        rc = vg_err_set(e, VG_ECORRUPT, "%s has no time column", s->file->path);
    /* time is never NULL in our files; make sure a foreign one does not say so */
    if (rc == VG_OK && c->cols[0].present && !all_valid(c->cols[0].valid, c->nrows))
        rc = vg_err_set(e, VG_ECORRUPT, "%s: a row has no time", s->file->path);
    for (uint32_t i = 0; rc == VG_OK && i < ncols; i++)
        if (cols[i].id != 0 && cols[i].id < ncols_table)
            rc = load_column(s, c, cols[i].id, cols[i].name, cols[i].type, &a, e);
    vg_arena_free(&a);
    if (rc != VG_OK) {
        buffer_chunk_unref(c);
        return rc;
    }
    buffer_chunk_loaded_finish(c);
    if (s->tombs && (rc = ptombs_apply(s, &c, e)) != VG_OK) {
        buffer_chunk_unref(c);
        return rc;
    }
    drop_row_group_pages(s); /* after the deletes' own reads of the file */
    *out = c;
    return VG_OK;
}

/* ---- listing ---- */

int persist_list_files(persist *p, uint32_t db_id, persist_file_info **out, size_t *n, vg_err *e)
{
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&p->view_lock);
    size_t total = 0, it = 0;
    const vg_map_entry *en;
    while (vg_map_next(&p->tables, &it, &en)) {
        ptable *t = en->val;
        if (db_id == UINT32_MAX || t->db_id == db_id)
            total += t->n;
    }
    persist_file_info *v = total ? vg_calloc(total, sizeof *v) : NULL;
    if (total && !v) {
        pthread_rwlock_unlock(&p->view_lock);
        return vg_err_set(e, VG_ENOMEM, "out of memory listing Parquet files");
    }
    it = 0;
    while (vg_map_next(&p->tables, &it, &en)) {
        ptable *t = en->val;
        if (db_id != UINT32_MAX && t->db_id != db_id)
            continue;
        for (uint32_t i = 0; i < t->n; i++) {
            persist_file *f = t->files[i];
            persist_file_info *fi = &v[(*n)++];
            fi->db_id = f->db_id;
            fi->table_id = f->table_id;
            fi->id = f->id;
            snprintf(fi->path, sizeof fi->path, "%s", f->path);
            fi->bytes = f->bytes;
            fi->rows = f->rows;
            fi->min_time = f->min_time;
            fi->max_time = f->max_time;
        }
    }
    pthread_rwlock_unlock(&p->view_lock);
    *out = v;
    return VG_OK;
}

void persist_get_stats(persist *p, persist_stats *out)
{
    memset(out, 0, sizeof *out);
    out->snapshots = __atomic_load_n(&p->snapshots, __ATOMIC_RELAXED);
    pthread_rwlock_rdlock(&p->view_lock);
    out->last_snapshot_ns = p->last_snapshot_ns;
    size_t it = 0;
    const vg_map_entry *en;
    while (vg_map_next(&p->tables, &it, &en)) {
        ptable *t = en->val;
        out->files += t->n;
        for (uint32_t i = 0; i < t->n; i++)
            out->bytes += t->files[i]->bytes;
    }
    pthread_rwlock_unlock(&p->view_lock);
}

/* ---- retention ---- */

/* Takes the file out of its table's list and marks it for deletion once the last
 * reader lets go (view lock held for writing). */
void ptable_drop(persist *p, uint32_t db_id, uint32_t table_id, uint64_t id)
{
    ptable *t = ptable_get(p, db_id, table_id, false);
    for (uint32_t i = t ? t->n : 0; i-- > 0;) { /* from the end: hard deletes go last first */
        if (t->files[i]->id != id)
            continue;
        persist_file *f = t->files[i];
        memmove(t->files + i, t->files + i + 1, (t->n - i - 1) * sizeof *t->files);
        t->n--;
        f->removed = true;
        pfile_unref(f);
        return;
    }
}

typedef struct expired {
    uint32_t db_id, table_id;
    uint64_t id;
} expired;

int persist_apply_retention(persist *p, int64_t now_ns, uint64_t *removed, vg_err *e)
{
    *removed = 0;
    catalog *c = p->cfg.cat;
    expired *gone = NULL;
    size_t n = 0, cap = 0;
    int rc = VG_OK;
    catalog_write_lock(c);
    uint32_t ndbs;
    catalog_db **dbs = catalog_dbs(c, &ndbs);
    for (uint32_t d = 0; rc == VG_OK && d < ndbs; d++) {
        int64_t r = dbs[d]->retention_ns;
        if (dbs[d]->deleted || r <= 0 || now_ns < INT64_MIN + r)
            continue;
        int64_t floor = now_ns - r;
        for (uint32_t t = 0; rc == VG_OK && t < dbs[d]->ntables; t++) {
            catalog_table *tab = dbs[d]->tables[t];
            for (uint32_t i = 0; rc == VG_OK && i < tab->nfiles;) {
                catalog_file *f = tab->files[i];
                if (f->max_time >= floor) {
                    i++;
                    continue;
                }
                if (n == cap) {
                    cap = cap ? cap * 2 : 16;
                    expired *ng = vg_realloc(gone, cap * sizeof *ng);
                    if (!ng) {
                        rc = vg_err_set(e, VG_ENOMEM, "out of memory applying retention");
                        break;
                    }
                    gone = ng;
                }
                gone[n++] = (expired){f->db_id, f->table_id, f->id};
                rc = catalog_file_remove(c, tab, f->id, e); /* shifts the list */
            }
        }
    }
    if (rc == VG_OK && n)
        rc = catalog_commit(c, e);
    catalog_write_unlock(c);
    if (rc == VG_OK && n) {
        pthread_rwlock_wrlock(&p->view_lock);
        for (size_t i = 0; i < n; i++)
            ptable_drop(p, gone[i].db_id, gone[i].table_id, gone[i].id);
        pthread_rwlock_unlock(&p->view_lock);
        VG_INFO(PERSIST_MOD, "retention: %zu expired Parquet file(s) removed", n);
        *removed = n;
    }
    vg_free(gone);
    return rc;
}
