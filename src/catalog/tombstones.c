/* catalog/tombstones.c: row deletes kept in the catalog (catalog.h, "row deletes"):
 * the tombstones of each table, their mutations, and their byte encoding, which is
 * both the body of catalog op 13 and the payload of ingest's delete WAL records.
 *
 * Encoding (little-endian):
 *   id:u64 db_id:u32 table_id:u32 wal_seq:u64 min_time:i64 max_time:i64 npreds:u32
 *   pred := col_id:u32 nvals:u32 (len:u32 bytes[len])*nvals     -- a value may be empty
 *
 * A table's tombstones are kept in id order (the order of the deletes). */
#include "catalog_int.h"

#include <string.h>

#define TOMB_FIXED_BYTES (8 + 4 + 4 + 8 + 8 + 8 + 4)

/* ---- memory ---- */

void catalog_tombstone_free(catalog_tombstone *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; t->preds && i < t->npreds; i++) {
        for (uint32_t k = 0; t->preds[i].vals && k < t->preds[i].nvals; k++)
            vg_free((char *)t->preds[i].vals[k].ptr);
        vg_free(t->preds[i].vals);
    }
    vg_free(t->preds);
    vg_free(t);
}

static int copy_pred(catalog_tomb_pred *d, const catalog_tomb_pred *s)
{
    d->col_id = s->col_id;
    d->vals = vg_calloc(s->nvals ? s->nvals : 1, sizeof *d->vals);
    if (!d->vals)
        return VG_ENOMEM;
    for (uint32_t k = 0; k < s->nvals; k++, d->nvals++) {
        char *v = vg_strndup(s->vals[k].ptr ? s->vals[k].ptr : "", s->vals[k].len);
        if (!v)
            return VG_ENOMEM;
        d->vals[k] = (vg_str){v, s->vals[k].len};
    }
    return VG_OK;
}

static catalog_tombstone *tomb_copy(const catalog_tombstone *src)
{
    catalog_tombstone *t = vg_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = *src;
    t->npreds = 0;
    t->preds = src->npreds ? vg_calloc(src->npreds, sizeof *t->preds) : NULL;
    if (src->npreds && !t->preds) {
        vg_free(t);
        return NULL;
    }
    for (uint32_t i = 0; i < src->npreds; i++) {
        t->npreds++;
        if (copy_pred(&t->preds[i], &src->preds[i]) != VG_OK) {
            catalog_tombstone_free(t);
            return NULL;
        }
    }
    return t;
}

/* ---- encoding ---- */

static uint8_t *wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static uint8_t *wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

size_t catalog_tombstone_encoded_size(const catalog_tombstone *t)
{
    size_t n = TOMB_FIXED_BYTES;
    for (uint32_t i = 0; i < t->npreds; i++) {
        n += 4 + 4;
        for (uint32_t k = 0; k < t->preds[i].nvals; k++)
            n += 4 + t->preds[i].vals[k].len;
    }
    return n;
}

void catalog_tombstone_encode(const catalog_tombstone *t, uint8_t *p)
{
    p = wr64(p, t->id);
    p = wr32(p, t->db_id);
    p = wr32(p, t->table_id);
    p = wr64(p, t->wal_seq);
    p = wr64(p, (uint64_t)t->min_time);
    p = wr64(p, (uint64_t)t->max_time);
    p = wr32(p, t->npreds);
    for (uint32_t i = 0; i < t->npreds; i++) {
        const catalog_tomb_pred *pr = &t->preds[i];
        p = wr32(p, pr->col_id);
        p = wr32(p, pr->nvals);
        for (uint32_t k = 0; k < pr->nvals; k++) {
            p = wr32(p, (uint32_t)pr->vals[k].len);
            if (pr->vals[k].len)
                memcpy(p, pr->vals[k].ptr, pr->vals[k].len);
            p += pr->vals[k].len;
        }
    }
}

typedef struct rd {
    const uint8_t *p;
    size_t n;
    bool bad;
} rd;

static const uint8_t *rd_take(rd *r, size_t n)
{
    if (r->bad || r->n < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->n -= n;
    return p;
}

static uint32_t rd32(rd *r)
{
    const uint8_t *p = rd_take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

static uint64_t rd64(rd *r)
{
    uint64_t lo = rd32(r);
    return lo | (uint64_t)rd32(r) << 32;
}

static int decode_pred(rd *r, catalog_tomb_pred *pr)
{
    pr->col_id = rd32(r);
    uint32_t nvals = rd32(r);
    if (r->bad || nvals > r->n / 4)
        return VG_ECORRUPT;
    pr->vals = vg_calloc(nvals ? nvals : 1, sizeof *pr->vals);
    if (!pr->vals)
        return VG_ENOMEM;
    for (uint32_t k = 0; k < nvals; k++) {
        uint32_t len = rd32(r);
        const uint8_t *b = rd_take(r, len);
        if (r->bad)
            return VG_ECORRUPT;
        char *v = vg_strndup((const char *)b, len);
        if (!v)
            return VG_ENOMEM;
        pr->vals[pr->nvals++] = (vg_str){v, len};
    }
    return VG_OK;
}

int cat_tomb_decode_prefix(const void *p, size_t n, catalog_tombstone **out, size_t *used)
{
    *out = NULL;
    rd r = {p, n, false};
    catalog_tombstone *t = vg_calloc(1, sizeof *t);
    if (!t)
        return VG_ENOMEM;
    t->id = rd64(&r);
    t->db_id = rd32(&r);
    t->table_id = rd32(&r);
    t->wal_seq = rd64(&r);
    t->min_time = (int64_t)rd64(&r);
    t->max_time = (int64_t)rd64(&r);
    uint32_t npreds = rd32(&r);
    int rc = r.bad || npreds > r.n / 8 ? VG_ECORRUPT : VG_OK;
    if (rc == VG_OK && npreds && !(t->preds = vg_calloc(npreds, sizeof *t->preds)))
        rc = VG_ENOMEM;
    for (uint32_t i = 0; rc == VG_OK && i < npreds; i++) {
        t->npreds++;
        rc = decode_pred(&r, &t->preds[i]);
    }
    if (rc != VG_OK) {
        catalog_tombstone_free(t);
        return rc;
    }
    *out = t;
    *used = n - r.n;
    return VG_OK;
}

int catalog_tombstone_decode(const void *p, size_t n, catalog_tombstone **out)
{
    size_t used = 0;
    int rc = cat_tomb_decode_prefix(p, n, out, &used);
    if (rc == VG_OK && used != n) {
        catalog_tombstone_free(*out);
        *out = NULL;
        rc = VG_ECORRUPT;
    }
    return rc;
}

/* ---- the object graph ---- */

static catalog_table *tomb_table(catalog *c, uint32_t db_id, uint32_t table_id)
{
    catalog_db *db = catalog_db_get(c, db_id);
    return db && table_id < db->ntables ? db->tables[table_id] : NULL;
}

int cat_apply_tomb_add(catalog *c, const catalog_tombstone *src, catalog_tombstone **out)
{
    catalog_table *t = tomb_table(c, src->db_id, src->table_id);
    if (!t)
        return VG_ENOTFOUND;
    if (t->ntombs == t->tombs_cap) {
        uint32_t cap = t->tombs_cap ? t->tombs_cap * 2 : 4;
        catalog_tombstone **nt = vg_realloc(t->tombs, cap * sizeof *nt);
        if (!nt)
            return VG_ENOMEM;
        t->tombs = nt;
        t->tombs_cap = cap;
    }
    catalog_tombstone *copy = tomb_copy(src);
    if (!copy)
        return VG_ENOMEM;
    uint32_t at = t->ntombs;
    while (at > 0 && t->tombs[at - 1]->id > copy->id)
        at--;
    memmove(t->tombs + at + 1, t->tombs + at, (t->ntombs - at) * sizeof *t->tombs);
    t->tombs[at] = copy;
    t->ntombs++;
    /* The id was a file id: files written later must sort after it. */
    cat_file_id_seen(c, copy->id);
    if (out)
        *out = copy;
    return VG_OK;
}

catalog_tombstone *cat_apply_tomb_remove(catalog_table *t, uint64_t id)
{
    for (uint32_t i = 0; i < t->ntombs; i++) {
        if (t->tombs[i]->id != id)
            continue;
        catalog_tombstone *gone = t->tombs[i];
        memmove(t->tombs + i, t->tombs + i + 1, (t->ntombs - i - 1) * sizeof *t->tombs);
        t->ntombs--;
        return gone;
    }
    return NULL;
}

/* ---- public mutations ---- */

int catalog_tombstone_add(catalog *c, const catalog_tombstone *t, vg_err *e)
{
    catalog_table *tab = tomb_table(c, t->db_id, t->table_id);
    if (!tab)
        return vg_err_set(e, VG_ENOTFOUND, "no table id %u in database id %u", t->table_id,
                          t->db_id);
    for (uint32_t i = 0; i < t->npreds; i++) {
        uint32_t col = t->preds[i].col_id;
        if (col >= tab->ncols || tab->cols[col]->type != CATALOG_TAG)
            return vg_err_set(e, VG_EINVAL, "a delete predicate names column id %u of table "
                              "'%s', which is not a tag", col, tab->name);
    }
    int rc = cat_queue_reserve(c, 1 + catalog_tombstone_encoded_size(t), e);
    if (rc != VG_OK)
        return rc;
    catalog_tombstone *added;
    if (cat_apply_tomb_add(c, t, &added) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory recording a delete");
    cat_queue_tomb_add(c, added);
    return VG_OK;
}

int catalog_tombstone_remove(catalog *c, catalog_table *t, uint64_t id, vg_err *e)
{
    const catalog_tombstone *found = NULL;
    for (uint32_t i = 0; i < t->ntombs && !found; i++)
        if (t->tombs[i]->id == id)
            found = t->tombs[i];
    if (!found)
        return vg_err_set(e, VG_ENOTFOUND, "no delete %llu in table '%s'", (unsigned long long)id,
                          t->name);
    int rc = cat_queue_reserve(c, cat_op_size(CAT_OP_TOMB_REMOVE, 0), e);
    if (rc != VG_OK)
        return rc;
    cat_queue_tomb_remove(c, found);
    catalog_tombstone_free(cat_apply_tomb_remove(t, id));
    return VG_OK;
}

const catalog_tombstone *catalog_tombstone_by_wal(const catalog_table *t, uint64_t wal_seq)
{
    for (uint32_t i = 0; wal_seq && i < t->ntombs; i++)
        if (t->tombs[i]->wal_seq == wal_seq)
            return t->tombs[i];
    return NULL;
}
