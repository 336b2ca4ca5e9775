/* buffer/chunk.c: one chunk of the write buffer: typed column vectors, validity
 * bitmaps, per-column tag dictionaries and string bytes; the two-phase row append;
 * freezing; freeing; and the byte accounting of all of it.
 *
 * An active chunk is touched only by the thread holding its table's mutex, so
 * nothing here locks. Vectors are allocated at full row capacity when a column first
 * appears, so an append never moves them; string bytes and dictionaries grow by
 * doubling. Work for null cells is deferred to the freeze: an append touches only
 * the columns it has values for. */
#include "buffer_int.h"

#include <string.h>

struct str_block {
    str_block *next;
    size_t cap;
    size_t used;
    char data[];
};

#define STR_BLOCK_FIRST 512
#define STR_BLOCK_MAX (64 * 1024)

/* ---- accounting ---- */

void buf_acct_ref(buf_acct *a)
{
    __atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
}

void buf_acct_unref(buf_acct *a)
{
    if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
        vg_free(a);
}

static void mem_add(buffer_chunk *c, size_t n)
{
    c->mem_bytes += n;
    __atomic_add_fetch(&chunk_of(c)->acct->bytes, n, __ATOMIC_RELAXED);
}

static void mem_sub(buffer_chunk *c, size_t n)
{
    c->mem_bytes -= n;
    __atomic_sub_fetch(&chunk_of(c)->acct->bytes, n, __ATOMIC_RELAXED);
}

/* Resizes an allocation and accounts the difference; NULL (old block kept) on OOM. */
static void *resize(buffer_chunk *c, void *p, size_t old_n, size_t new_n)
{
    void *np = vg_realloc(p, new_n);
    if (!np)
        return NULL;
    if (new_n >= old_n)
        mem_add(c, new_n - old_n);
    else
        mem_sub(c, old_n - new_n);
    return np;
}

/* ---- column vectors ---- */

static size_t value_width(catalog_type t)
{
    switch (t) {
    case CATALOG_TIME:
    case CATALOG_INT:
    case CATALOG_UINT:
    case CATALOG_FLOAT: return 8;
    case CATALOG_BOOL: return 1;
    case CATALOG_TAG:
    case CATALOG_STRING: return 4; /* dictionary ids; string offsets */
    }
    return 0;
}

/* Bytes of the value vector for `rows` rows (strings keep one offset more). */
static size_t values_bytes(catalog_type t, uint32_t rows)
{
    return value_width(t) * ((size_t)rows + (t == CATALOG_STRING));
}

static size_t bitmap_bytes(uint32_t rows)
{
    return ((size_t)rows + 7) / 8;
}

static void column_release(buffer_chunk *c, buffer_column *col)
{
    if (!col->present)
        return;
    vg_free(col->valid);
    vg_free(col->v.i64);
    vg_free(col->str);
    if (col->dict) {
        vg_free(col->dict->strs);
        vg_free(col->dict->lens);
        vg_map_free(&col->dict->index);
        vg_free(col->dict);
    }
    memset(col, 0, sizeof *col);
}

static int column_alloc(buffer_chunk *c, buffer_column *col, catalog_type type)
{
    size_t vb = values_bytes(type, c->cap), bb = bitmap_bytes(c->cap);
    col->type = type;
    col->valid = vg_calloc(1, bb);
    col->v.i64 = vg_malloc(vb);
    if (type == CATALOG_TAG) {
        col->dict = vg_calloc(1, sizeof *col->dict);
        if (col->dict)
            vg_map_init(&col->dict->index);
    }
    col->present = true;
    if (!col->valid || !col->v.i64 || (type == CATALOG_TAG && !col->dict)) {
        column_release(c, col);
        return VG_ENOMEM;
    }
    if (type == CATALOG_STRING)
        col->v.off[0] = 0;
    mem_add(c, vb + bb + (col->dict ? sizeof *col->dict : 0));
    return VG_OK;
}

static void set_valid(buffer_column *col, uint32_t row)
{
    col->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
}

static bool get_valid(const buffer_column *col, uint32_t row)
{
    return (col->valid[row >> 3] >> (row & 7)) & 1;
}

/* ---- chunk lifetime ---- */

buffer_chunk *chunk_new(buf_acct *acct, uint32_t db_id, uint32_t table_id, uint64_t seq,
                        uint32_t cap, uint32_t ncols)
{
    chunk_int *ci = vg_calloc(1, sizeof *ci);
    if (!ci)
        return NULL;
    buffer_chunk *c = &ci->pub;
    ci->acct = acct;
    buf_acct_ref(acct);
    c->refs = 1;
    c->db_id = db_id;
    c->table_id = table_id;
    c->seq = seq;
    c->cap = cap;
    c->min_time = INT64_MAX;
    c->max_time = INT64_MIN;
    mem_add(c, sizeof *ci);
    if (chunk_grow_cols(c, ncols ? ncols : 1) != VG_OK ||
        column_alloc(c, &c->cols[0], CATALOG_TIME) != VG_OK) {
        chunk_free(c);
        return NULL;
    }
    return c;
}

void chunk_free(buffer_chunk *c)
{
    chunk_int *ci = chunk_of(c);
    for (uint32_t i = 0; i < c->ncols; i++)
        column_release(c, &c->cols[i]);
    vg_free(c->cols);
    for (str_block *b = ci->blocks; b;) {
        str_block *next = b->next;
        vg_free(b);
        b = next;
    }
    buf_acct *acct = ci->acct;
    __atomic_sub_fetch(&acct->bytes, c->mem_bytes, __ATOMIC_RELAXED);
    vg_free(ci);
    buf_acct_unref(acct);
}

int chunk_grow_cols(buffer_chunk *c, uint32_t ncols)
{
    if (ncols <= c->ncols)
        return VG_OK;
    size_t old_n = (size_t)c->ncols * sizeof *c->cols, new_n = (size_t)ncols * sizeof *c->cols;
    buffer_column *cols = resize(c, c->cols, old_n, new_n);
    if (!cols)
        return VG_ENOMEM;
    memset((char *)cols + old_n, 0, new_n - old_n);
    c->cols = cols;
    c->ncols = ncols;
    return VG_OK;
}

/* ---- tag dictionaries ---- */

/* Copies a tag string into the chunk's string blocks (NUL-terminated). */
static char *str_copy(buffer_chunk *c, const char *s, uint32_t len)
{
    chunk_int *ci = chunk_of(c);
    str_block *b = ci->blocks;
    size_t need = (size_t)len + 1;
    if (!b || b->cap - b->used < need) {
        size_t cap = b ? b->cap * 2 : STR_BLOCK_FIRST;
        if (cap > STR_BLOCK_MAX)
            cap = STR_BLOCK_MAX;
        if (cap < need)
            cap = need;
        str_block *nb = vg_malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        nb->used = 0;
        /* A block bigger than the usual size goes behind the head, which keeps its
         * free space for the next small strings. */
        if (b && cap > STR_BLOCK_MAX) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            ci->blocks = nb;
        }
        b = nb;
        mem_add(c, sizeof *nb + cap);
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    p[len] = '\0';
    b->used += need;
    return p;
}

static int dict_grow(buffer_chunk *c, buffer_dict *d)
{
    uint32_t ncap = d->cap ? d->cap * 2 : 16;
    const char **strs = resize(c, d->strs, d->cap * sizeof *strs, ncap * sizeof *strs);
    if (!strs)
        return VG_ENOMEM;
    d->strs = strs;
    uint32_t *lens = resize(c, d->lens, d->cap * sizeof *lens, ncap * sizeof *lens);
    if (!lens)
        return VG_ENOMEM; /* strs keeps its bigger size; cap follows the smaller */
    d->lens = lens;
    d->cap = ncap;
    return VG_OK;
}

/* The id of a tag value in this chunk, adding it on first sight. */
static int dict_intern(buffer_chunk *c, buffer_dict *d, const char *s, uint32_t len, uint32_t *id)
{
    void *hit = vg_map_get(&d->index, s, len);
    if (hit) {
        *id = (uint32_t)((uintptr_t)hit - 1);
        return VG_OK;
    }
    if (d->n == d->cap && dict_grow(c, d) != VG_OK)
        return VG_ENOMEM;
    char *copy = str_copy(c, s, len);
    size_t slots_before = d->index.cap;
    if (!copy || vg_map_put(&d->index, s, len, (void *)(uintptr_t)(d->n + 1)) != VG_OK)
        return VG_ENOMEM;
    mem_add(c, (d->index.cap - slots_before) * sizeof(vg_map_entry) + len + 1);
    d->strs[d->n] = copy;
    d->lens[d->n] = len;
    *id = d->n++;
    return VG_OK;
}

/* ---- the two-phase append ---- */

static int reserve_str(buffer_chunk *c, buffer_column *col, uint32_t len)
{
    size_t need = col->str_len + len;
    if (need <= col->str_cap)
        return VG_OK;
    size_t cap = col->str_cap ? col->str_cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    char *s = resize(c, col->str, col->str_cap, cap);
    if (!s)
        return VG_ENOMEM;
    col->str = s;
    col->str_cap = cap;
    return VG_OK;
}

static bool is_value_type(catalog_type t)
{
    return t == CATALOG_TAG || t == CATALOG_FLOAT || t == CATALOG_INT || t == CATALOG_UINT ||
           t == CATALOG_STRING || t == CATALOG_BOOL;
}

static int prepare_value(buffer_chunk *c, const buffer_value *v, vg_err *e)
{
    if (v->col == 0 || v->col >= c->ncols)
        return vg_err_set(e, VG_EINVAL, "column id %u out of range (table has %u columns)", v->col,
                          c->ncols);
    buffer_column *col = &c->cols[v->col];
    if (!col->present) {
        if (!is_value_type(v->type))
            return vg_err_set(e, VG_EINVAL, "invalid value type %d for column %u", (int)v->type,
                              v->col);
        if (column_alloc(c, col, v->type) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory in the write buffer");
    } else if (col->type != v->type) {
        return vg_err_set(e, VG_EINVAL, "column %u holds %s values, got a %s value", v->col,
                          catalog_type_name(col->type), catalog_type_name(v->type));
    }
    if (v->type == CATALOG_TAG) {
        /* The id goes into this row's slot now; it becomes visible only when phase 2
         * sets the validity bit. */
        if (dict_intern(c, col->dict, v->v.s.p, v->v.s.len, &col->v.ids[c->nrows]) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory in the write buffer");
    } else if (v->type == CATALOG_STRING) {
        if ((uint64_t)col->str_len + v->v.s.len > UINT32_MAX)
            return BUF_CHUNK_FULL;
        if (reserve_str(c, col, v->v.s.len) != VG_OK)
            return vg_err_set(e, VG_ENOMEM, "out of memory in the write buffer");
    }
    return VG_OK;
}

int chunk_prepare_row(buffer_chunk *c, const buffer_value *vals, uint32_t nvals, vg_err *e)
{
    if (VG_NEVER(c->frozen || c->nrows >= c->cap))
        return vg_err_set(e, VG_EINTERNAL, "append to a full or frozen chunk");
    for (uint32_t i = 0; i < nvals; i++) {
        int rc = prepare_value(c, &vals[i], e);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static void write_string(buffer_column *col, uint32_t row, const char *p, uint32_t len)
{
    /* A second value for the same column in one row replaces the first. */
    if (get_valid(col, row))
        col->str_len = col->v.off[row];
    else
        col->v.off[row] = (uint32_t)col->str_len;
    if (len)
        memcpy(col->str + col->str_len, p, len);
    col->str_len += len;
    col->v.off[row + 1] = (uint32_t)col->str_len;
}

void chunk_write_row(buffer_chunk *c, int64_t time, const buffer_value *vals, uint32_t nvals,
                     uint64_t wal_seq)
{
    uint32_t row = c->nrows;
    for (uint32_t i = 0; i < nvals; i++) {
        const buffer_value *v = &vals[i];
        buffer_column *col = &c->cols[v->col];
        switch (v->type) {
        case CATALOG_FLOAT: col->v.f64[row] = v->v.f; break;
        case CATALOG_INT: col->v.i64[row] = v->v.i; break;
        case CATALOG_UINT: col->v.u64[row] = v->v.u; break;
        case CATALOG_BOOL: col->v.b[row] = v->v.b ? 1 : 0; break;
        case CATALOG_STRING: write_string(col, row, v->v.s.p, v->v.s.len); break;
        case CATALOG_TAG: /* id written by phase 1 */
        case CATALOG_TIME: break;
        }
        set_valid(col, row);
    }
    buffer_column *tc = &c->cols[0];
    tc->v.i64[row] = time;
    set_valid(tc, row);
    if (time < c->min_time)
        c->min_time = time;
    if (time > c->max_time)
        c->max_time = time;
    if (wal_seq > c->max_wal_seq)
        c->max_wal_seq = wal_seq;
    c->nrows = row + 1;
}

/* ---- freezing ---- */

/* Gives every null cell a defined value (zero; an empty string), so readers and
 * encoders may process whole vectors without looking at the bitmap first. */
static void fill_nulls(buffer_column *col, uint32_t nrows)
{
    size_t w = value_width(col->type);
    const uint8_t *valid = col->valid;
    uint32_t nbytes = (nrows + 7) / 8;
    for (uint32_t byte = 0; byte < nbytes; byte++) {
        uint64_t word;
        /* eight bytes of valid rows at a time: most columns have no NULL at all */
        while (byte + 8 <= nbytes && (memcpy(&word, valid + byte, 8), word == UINT64_MAX))
            byte += 8;
        if (byte >= nbytes)
            break;
        if (valid[byte] == 0xff)
            continue;
        for (uint32_t row = byte * 8; row < byte * 8 + 8 && row < nrows; row++) {
            if (get_valid(col, row))
                continue;
            if (col->type == CATALOG_STRING)
                col->v.off[row + 1] = col->v.off[row];
            else
                memset((char *)col->v.i64 + (size_t)row * w, 0, w);
        }
    }
}

/* Shrinks one allocation to what is used; keeps the old block if that fails. */
static size_t shrink(buffer_chunk *c, void **p, size_t old_n, size_t new_n)
{
    if (new_n == 0)
        new_n = 1;
    if (new_n >= old_n)
        return old_n;
    void *np = resize(c, *p, old_n, new_n);
    if (!np)
        return old_n;
    *p = np;
    return new_n;
}

/* A chunk frozen early (a reader asked for a snapshot) holds few rows; giving back
 * the rest of its vectors keeps many small snapshots from pinning full-size ones. */
static void shrink_column(buffer_chunk *c, buffer_column *col)
{
    uint32_t n = c->nrows;
    shrink(c, (void **)&col->valid, bitmap_bytes(c->cap), bitmap_bytes(n));
    shrink(c, (void **)&col->v.i64, values_bytes(col->type, c->cap), values_bytes(col->type, n));
    if (col->str)
        col->str_cap = shrink(c, (void **)&col->str, col->str_cap, col->str_len);
    buffer_dict *d = col->dict;
    if (d && d->n < d->cap) {
        /* Both arrays have d->cap entries; after this d->cap no longer matters (a
         * frozen dictionary never grows), only the accounting done by shrink. */
        shrink(c, (void **)&d->strs, d->cap * sizeof *d->strs, d->n * sizeof *d->strs);
        shrink(c, (void **)&d->lens, d->cap * sizeof *d->lens, d->n * sizeof *d->lens);
        d->cap = d->n;
    }
}

void chunk_freeze(buffer_chunk *c)
{
    for (uint32_t i = 0; i < c->ncols; i++) {
        buffer_column *col = &c->cols[i];
        if (!col->present)
            continue;
        fill_nulls(col, c->nrows);
        if (c->nrows < c->cap || col->type == CATALOG_STRING || col->type == CATALOG_TAG)
            shrink_column(c, col);
    }
    c->cap = c->nrows;
    c->frozen = true;
}

/* ---- chunks built by readers (buffer.h, "loaded chunks") ---- */

buffer_chunk *buffer_chunk_new_loaded(uint32_t db_id, uint32_t table_id, uint32_t ncols,
                                      uint32_t nrows)
{
    if (nrows == 0 || nrows > BUF_MAX_CHUNK_ROWS)
        return NULL;
    buf_acct *acct = vg_calloc(1, sizeof *acct);
    if (!acct)
        return NULL;
    acct->refs = 1;
    buffer_chunk *c = chunk_new(acct, db_id, table_id, 0, nrows, ncols);
    buf_acct_unref(acct); /* the chunk holds its own reference */
    if (c)
        c->nrows = nrows;
    return c;
}

buffer_column *buffer_chunk_column(buffer_chunk *c, uint32_t col, catalog_type type)
{
    if (col >= c->ncols)
        return NULL;
    buffer_column *bc = &c->cols[col];
    if (!bc->present && column_alloc(c, bc, type) != VG_OK)
        return NULL;
    return bc->type == type ? bc : NULL;
}

int buffer_chunk_dict_add(buffer_chunk *c, buffer_column *col, const char *s, uint32_t len,
                          uint32_t *id)
{
    return dict_intern(c, col->dict, s, len, id);
}

int buffer_chunk_set_strings(buffer_chunk *c, buffer_column *col, const vg_str *vals)
{
    size_t total = 0;
    for (uint32_t r = 0; r < c->nrows; r++)
        total += get_valid(col, r) ? vals[r].len : 0;
    if (total > UINT32_MAX)
        return VG_ELIMIT;
    if (total && reserve_str(c, col, (uint32_t)total) != VG_OK)
        return VG_ENOMEM;
    for (uint32_t r = 0; r < c->nrows; r++) {
        uint32_t len = get_valid(col, r) ? (uint32_t)vals[r].len : 0;
        if (len)
            memcpy(col->str + col->str_len, vals[r].ptr, len);
        col->str_len += len;
        col->v.off[r + 1] = (uint32_t)col->str_len;
    }
    return VG_OK;
}

void buffer_chunk_loaded_finish(buffer_chunk *c)
{
    /* in locals, four lanes of branch-free chains: stores through c each row cost
     * more than the compares (a scan decodes every row group it reads through here) */
    const int64_t *t = c->cols[0].v.i64;
    int64_t lo0 = c->min_time, lo1 = lo0, lo2 = lo0, lo3 = lo0;
    int64_t hi0 = c->max_time, hi1 = hi0, hi2 = hi0, hi3 = hi0;
    uint32_t r = 0;
    for (; r + 4 <= c->nrows; r += 4) {
        lo0 = t[r] < lo0 ? t[r] : lo0;
        hi0 = t[r] > hi0 ? t[r] : hi0;
        lo1 = t[r + 1] < lo1 ? t[r + 1] : lo1;
        hi1 = t[r + 1] > hi1 ? t[r + 1] : hi1;
        lo2 = t[r + 2] < lo2 ? t[r + 2] : lo2;
        hi2 = t[r + 2] > hi2 ? t[r + 2] : hi2;
        lo3 = t[r + 3] < lo3 ? t[r + 3] : lo3;
        hi3 = t[r + 3] > hi3 ? t[r + 3] : hi3;
    }
    for (; r < c->nrows; r++) {
        lo0 = t[r] < lo0 ? t[r] : lo0;
        hi0 = t[r] > hi0 ? t[r] : hi0;
    }
    lo0 = lo1 < lo0 ? lo1 : lo0;
    lo2 = lo3 < lo2 ? lo3 : lo2;
    hi0 = hi1 > hi0 ? hi1 : hi0;
    hi2 = hi3 > hi2 ? hi3 : hi2;
    c->min_time = lo2 < lo0 ? lo2 : lo0;
    c->max_time = hi2 > hi0 ? hi2 : hi0;
    chunk_freeze(c);
}

void buffer_chunk_shed(buffer_chunk *c)
{
    for (uint32_t i = 0; i < c->ncols; i++) {
        buffer_column *col = &c->cols[i];
        if (!col->present)
            continue;
        size_t freed = bitmap_bytes(c->cap) + values_bytes(col->type, c->cap) + col->str_cap;
        vg_free(col->valid);
        vg_free(col->v.i64);
        vg_free(col->str);
        col->valid = NULL;
        col->v.i64 = NULL;
        col->str = NULL;
        col->str_len = col->str_cap = 0;
        mem_sub(c, freed < c->mem_bytes ? freed : c->mem_bytes);
    }
    c->nrows = 0;
}

/* ---- row deletes (buffer.h, "row deletes") ---- */

/* Per dictionary id of column col of c: does the value equal one of pred's? */
static uint8_t *pred_matches(const buffer_chunk *c, const catalog_tomb_pred *pred)
{
    const buffer_column *col = pred->col_id < c->ncols ? &c->cols[pred->col_id] : NULL;
    if (!col || !col->present || col->type != CATALOG_TAG)
        return vg_calloc(1, 1); /* no value in any row: nothing matches */
    uint8_t *ok = vg_calloc(col->dict->n ? col->dict->n : 1, 1);
    for (uint32_t i = 0; ok && i < pred->nvals; i++) {
        void *hit = vg_map_get(&col->dict->index, pred->vals[i].ptr ? pred->vals[i].ptr : "",
                               pred->vals[i].len);
        if (hit)
            ok[(uintptr_t)hit - 1] = 1;
    }
    return ok;
}

static bool row_matches(const buffer_chunk *c, const catalog_tombstone *t, uint8_t *const *ok,
                        uint32_t r)
{
    int64_t time = c->cols[0].v.i64[r];
    if (time < t->min_time || time > t->max_time)
        return false;
    for (uint32_t p = 0; p < t->npreds; p++) {
        uint32_t col = t->preds[p].col_id;
        if (col >= c->ncols || !buffer_is_valid(&c->cols[col], r) ||
            c->cols[col].type != CATALOG_TAG || !ok[p][c->cols[col].v.ids[r]])
            return false;
    }
    return true;
}

int buffer_chunk_match(const buffer_chunk *c, const catalog_tombstone *t, uint8_t *drop,
                       uint32_t *n)
{
    *n = 0;
    if (c->nrows == 0 || c->max_time < t->min_time || c->min_time > t->max_time)
        return VG_OK;
    uint8_t **ok = vg_calloc(t->npreds ? t->npreds : 1, sizeof *ok);
    int rc = ok ? VG_OK : VG_ENOMEM;
    for (uint32_t p = 0; rc == VG_OK && p < t->npreds; p++)
        if (!(ok[p] = pred_matches(c, &t->preds[p])))
            rc = VG_ENOMEM;
    for (uint32_t r = 0; rc == VG_OK && r < c->nrows; r++) {
        if (!drop[r] && row_matches(c, t, ok, r)) {
            drop[r] = 1;
            (*n)++;
        }
    }
    for (uint32_t p = 0; ok && p < t->npreds; p++)
        vg_free(ok[p]);
    vg_free(ok);
    return rc;
}

/* Copies the kept rows of one column into the new chunk's (allocated) column. */
static int copy_kept(buffer_chunk *dst, buffer_column *d, const buffer_chunk *src,
                     const buffer_column *s, const uint8_t *drop)
{
    size_t w = value_width(s->type);
    uint32_t k = 0;
    if (s->type == CATALOG_STRING) {
        size_t bytes = 0;
        for (uint32_t r = 0; r < src->nrows; r++)
            if (!drop[r] && get_valid(s, r))
                bytes += s->v.off[r + 1] - s->v.off[r];
        if (bytes && reserve_str(dst, d, (uint32_t)bytes) != VG_OK)
            return VG_ENOMEM;
    }
    for (uint32_t r = 0; r < src->nrows; r++) {
        if (drop[r])
            continue;
        bool valid = get_valid(s, r);
        if (valid)
            set_valid(d, k);
        if (s->type == CATALOG_TAG) {
            d->v.ids[k] = 0;
            if (valid && dict_intern(dst, d->dict, s->dict->strs[s->v.ids[r]],
                                     s->dict->lens[s->v.ids[r]], &d->v.ids[k]) != VG_OK)
                return VG_ENOMEM;
        } else if (s->type == CATALOG_STRING) {
            uint32_t len = valid ? s->v.off[r + 1] - s->v.off[r] : 0;
            d->v.off[k] = (uint32_t)d->str_len;
            if (len)
                memcpy(d->str + d->str_len, s->str + s->v.off[r], len);
            d->str_len += len;
            d->v.off[k + 1] = (uint32_t)d->str_len;
        } else {
            memcpy((char *)d->v.i64 + (size_t)k * w, (const char *)s->v.i64 + (size_t)r * w, w);
        }
        k++;
    }
    return VG_OK;
}

buffer_chunk *buffer_chunk_without(const buffer_chunk *src, const uint8_t *drop)
{
    uint32_t keep = 0;
    for (uint32_t r = 0; r < src->nrows; r++)
        keep += !drop[r];
    chunk_int *si = chunk_of((buffer_chunk *)src);
    buffer_chunk *c = chunk_new(si->acct, src->db_id, src->table_id, src->seq, keep ? keep : 1,
                                src->ncols);
    if (!c)
        return NULL;
    int rc = VG_OK;
    for (uint32_t i = 0; rc == VG_OK && i < src->ncols; i++) {
        const buffer_column *s = &src->cols[i];
        if (!s->present)
            continue;
        if (i > 0 && column_alloc(c, &c->cols[i], s->type) != VG_OK)
            rc = VG_ENOMEM;
        else
            rc = copy_kept(c, &c->cols[i], src, s, drop);
    }
    if (rc != VG_OK) {
        chunk_free(c);
        return NULL;
    }
    c->nrows = keep;
    for (uint32_t r = 0; r < keep; r++) {
        int64_t t = c->cols[0].v.i64[r];
        c->min_time = t < c->min_time ? t : c->min_time;
        c->max_time = t > c->max_time ? t : c->max_time;
    }
    c->max_wal_seq = src->max_wal_seq;
    c->may_have_dups = src->may_have_dups;
    c->dup_min = src->dup_min;
    c->dup_max = src->dup_max;
    chunk_freeze(c);
    return c;
}
