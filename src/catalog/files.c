/* catalog/files.c: the persisted Parquet files of each table and the WAL position
 * through which rows are persisted (catalog.h, "persisted Parquet files").
 *
 * A table's live files are kept sorted by `order`, the order in which readers layer
 * them when deduplicating. Removed files are freed at once: readers never hold
 * catalog_file pointers outside the catalog lock (persist keeps its own handles). */
#include "catalog_int.h"

#include <string.h>

void cat_file_free(catalog_file *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->nstats; i++) {
        vg_free(f->stats[i].smin);
        vg_free(f->stats[i].smax);
    }
    vg_free(f->stats);
    vg_free(f->path);
    vg_free(f);
}

static bool is_string_type(catalog_type t)
{
    return t == CATALOG_TAG || t == CATALOG_STRING;
}

static catalog_file *file_copy(const catalog_file *src)
{
    catalog_file *f = vg_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    *f = *src;
    f->path = NULL;
    f->stats = NULL;
    f->nstats = 0;
    f->path = vg_strdup(src->path);
    if (!f->path)
        goto fail;
    if (src->nstats) {
        f->stats = vg_calloc(src->nstats, sizeof *f->stats);
        if (!f->stats)
            goto fail;
    }
    for (uint32_t i = 0; i < src->nstats; i++, f->nstats++) {
        catalog_col_stats *d = &f->stats[i];
        *d = src->stats[i];
        d->smin = d->smax = NULL;
        if (!is_string_type(d->type) || !d->has_minmax)
            continue;
        d->smin = vg_strndup(src->stats[i].smin, src->stats[i].smin_len);
        d->smax = vg_strndup(src->stats[i].smax, src->stats[i].smax_len);
        if (!d->smin || !d->smax) {
            f->nstats++;
            goto fail;
        }
    }
    return f;
fail:
    cat_file_free(f);
    return NULL;
}

static catalog_table *file_table(catalog *c, uint32_t db_id, uint32_t table_id)
{
    catalog_db *db = catalog_db_get(c, db_id);
    if (!db || table_id >= db->ntables)
        return NULL;
    return db->tables[table_id];
}

int cat_apply_file_add(catalog *c, const catalog_file *src, catalog_file **out)
{
    catalog_table *t = file_table(c, src->db_id, src->table_id);
    if (!t)
        return VG_ENOTFOUND;
    if (t->nfiles == t->files_cap) {
        uint32_t cap = t->files_cap ? t->files_cap * 2 : 8;
        catalog_file **nf = vg_realloc(t->files, cap * sizeof *nf);
        if (!nf)
            return VG_ENOMEM;
        t->files = nf;
        t->files_cap = cap;
    }
    catalog_file *f = file_copy(src);
    if (!f)
        return VG_ENOMEM;
    uint32_t at = t->nfiles;
    while (at > 0 && t->files[at - 1]->order > f->order)
        at--;
    memmove(t->files + at + 1, t->files + at, (t->nfiles - at) * sizeof *t->files);
    t->files[at] = f;
    t->nfiles++;
    cat_file_id_seen(c, f->id);
    if (out)
        *out = f;
    return VG_OK;
}

/* Searches from the end: a hard delete removes a table's files last first, which makes
 * each removal O(1). */
catalog_file *cat_apply_file_remove(catalog_table *t, uint64_t id)
{
    for (uint32_t i = t->nfiles; i-- > 0;) {
        if (t->files[i]->id != id)
            continue;
        catalog_file *f = t->files[i];
        memmove(t->files + i, t->files + i + 1, (t->nfiles - i - 1) * sizeof *t->files);
        t->nfiles--;
        return f;
    }
    return NULL;
}

void cat_file_id_seen(catalog *c, uint64_t id)
{
    if (id >= c->file_id_floor)
        c->file_id_floor = id + 1;
    if (id >= c->next_file_id)
        c->next_file_id = id + 1;
}

uint64_t catalog_file_id_next(catalog *c)
{
    if (c->next_file_id == 0)
        c->next_file_id = 1;
    return c->next_file_id++;
}

int catalog_file_add(catalog *c, const catalog_file *f, vg_err *e)
{
    if (!file_table(c, f->db_id, f->table_id))
        return vg_err_set(e, VG_ENOTFOUND, "no table id %u in database id %u", f->table_id,
                          f->db_id);
    int rc = cat_queue_reserve(c, cat_file_op_size(f), e);
    if (rc != VG_OK)
        return rc;
    catalog_file *added;
    if (cat_apply_file_add(c, f, &added) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory recording a Parquet file");
    cat_queue_file_add(c, added);
    return VG_OK;
}

int catalog_file_remove(catalog *c, catalog_table *t, uint64_t id, vg_err *e)
{
    catalog_file *f = NULL;
    for (uint32_t i = t->nfiles; i-- > 0 && !f;)
        if (t->files[i]->id == id)
            f = t->files[i];
    if (!f)
        return vg_err_set(e, VG_ENOTFOUND, "no Parquet file %llu in table '%s'",
                          (unsigned long long)id, t->name);
    int rc = cat_queue_reserve(c, 1 + 8 + 4 + 4, e);
    if (rc != VG_OK)
        return rc;
    cat_queue_file_remove(c, f);
    cat_file_free(cat_apply_file_remove(t, id));
    return VG_OK;
}

int catalog_set_persisted_seq(catalog *c, uint64_t seq, vg_err *e)
{
    int rc = cat_queue_reserve(c, 1 + 8, e);
    if (rc != VG_OK)
        return rc;
    c->persisted_seq = seq;
    cat_queue_persisted(c, seq);
    return VG_OK;
}

uint64_t catalog_persisted_seq(catalog *c)
{
    return c->persisted_seq;
}

const catalog_col_stats *catalog_file_stats(const catalog_file *f, uint32_t col_id)
{
    for (uint32_t i = 0; i < f->nstats; i++)
        if (f->stats[i].col_id == col_id)
            return &f->stats[i];
    return NULL;
}
