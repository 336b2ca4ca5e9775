/* buffer/buffer.c: the write buffer's registry of tables and its public entry
 * points: append, snapshot, chunk references, drop, statistics.
 *
 * Tables are found through two levels of arrays indexed by database id, then table
 * id (catalog ids are dense). Appends read them without a lock: an array that grows
 * is copied and published with a release store, and the old copy is kept until the
 * buffer is freed, so a reader holding it stays safe. Table states are never freed
 * before the buffer either (a dropped database keeps empty ones). Each table has a
 * mutex, held by an append for one row and by a snapshot for the freeze. */
#include "buffer_int.h"

#include <pthread.h>
#include <string.h>

/* Keeps a corrupt or hostile id from asking for a giant array. */
#define BUF_MAX_ID (1u << 26)

typedef struct ptr_vec ptr_vec;
struct ptr_vec {
    ptr_vec *retired_next; /* on the buffer's list once replaced */
    uint32_t cap;
    void *slot[]; /* atomic loads and stores */
};

typedef struct buf_table {
    pthread_mutex_t mu;
    uint32_t db_id;
    uint32_t table_id;
    buffer_chunk *active;  /* NULL until the next append */
    buffer_chunk **frozen; /* oldest first */
    size_t nfrozen;
    size_t nsealed; /* frozen[0 .. nsealed) are sealed for a snapshot */
    size_t frozen_cap;
    uint64_t next_seq;
    uint64_t rows;
    vg_map series; /* canonical tag set -> series_state*, for may_have_dups */
    vg_buf key;    /* scratch for series keys (under mu) */
} buf_table;

/* What a table remembers of one series (tag set) to tell a duplicate (tag set, time)
 * from a row that merely arrived out of order: its largest times so far in a sorted
 * window (16 to start with), and `evicted_max`, the largest time pushed out of the
 * window. A row not newer than max_time is a possible duplicate only if its time is
 * in the window or not after evicted_max. Keeping the largest times (not the latest
 * arrivals) keeps evicted_max low; and when a row is flagged only because the window
 * forgot (t <= evicted_max, not in the window), the window doubles, up to 4096: so
 * writers racing several requests apart soon stop flagging chunks, and queries skip
 * deduplication. Rows in time order cost an append; out-of-order ones a binary
 * search and a short move. */
#define WIN_FIRST 16
#define WIN_MAX 4096

typedef struct series_state {
    int64_t max_time;
    int64_t evicted_max; /* INT64_MIN until a time is pushed out */
    int64_t *win;        /* sorted ascending: win[lo .. hi) */
    uint32_t lo, hi, cap;
} series_state;

static void win_evict_front(series_state *st)
{
    if (st->win[st->lo] > st->evicted_max)
        st->evicted_max = st->win[st->lo];
    st->lo++;
}

/* Appends t, larger than every time in the window. */
static void win_push(series_state *st, int64_t t)
{
    if (st->hi - st->lo == st->cap)
        win_evict_front(st);
    if (st->hi == st->cap) {
        memmove(st->win, st->win + st->lo, (size_t)(st->hi - st->lo) * sizeof *st->win);
        st->hi -= st->lo;
        st->lo = 0;
    }
    st->win[st->hi++] = t;
}

/* First position in [lo, hi) holding a time >= t. */
static uint32_t win_lower(const series_state *st, int64_t t)
{
    uint32_t a = st->lo, b = st->hi;
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (st->win[m] < t)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

/* Inserts t (not in the window) at its sorted place pos, pushing out the smallest
 * time when full (t itself when it is the smallest). */
static void win_insert(series_state *st, int64_t t, uint32_t pos)
{
    if (st->hi - st->lo == st->cap) {
        if (pos == st->lo) {
            if (t > st->evicted_max)
                st->evicted_max = t;
            return;
        }
        win_evict_front(st);
    }
    if (st->lo > 0) { /* room in front: move the smaller times down one */
        memmove(st->win + st->lo - 1, st->win + st->lo, (size_t)(pos - st->lo) * sizeof *st->win);
        st->lo--;
        st->win[pos - 1] = t;
        return;
    }
    memmove(st->win + pos + 1, st->win + pos, (size_t)(st->hi - pos) * sizeof *st->win);
    st->win[pos] = t;
    st->hi++;
}

static int win_grow(series_state *st)
{
    uint32_t n = st->hi - st->lo, cap = st->cap * 2;
    int64_t *w = vg_malloc((size_t)cap * sizeof *w);
    if (!w)
        return VG_ENOMEM;
    memcpy(w, st->win + st->lo, (size_t)n * sizeof *w);
    vg_free(st->win);
    st->win = w;
    st->lo = 0;
    st->hi = n;
    st->cap = cap;
    return VG_OK;
}

static int series_init(series_state *st, int64_t t)
{
    *st = (series_state){.max_time = t, .evicted_max = INT64_MIN, .cap = WIN_FIRST};
    st->win = vg_malloc(WIN_FIRST * sizeof *st->win);
    if (!st->win)
        return VG_ENOMEM;
    st->win[st->hi++] = t;
    return VG_OK;
}

/* Decides whether a row at time t of this series may duplicate an earlier row, and
 * records t. VG_ENOMEM only when a bigger window cannot be allocated. */
static int series_observe(series_state *st, int64_t t, bool *maybe_dup)
{
    *maybe_dup = false;
    if (t > st->max_time) {
        st->max_time = t;
        win_push(st, t);
        return VG_OK;
    }
    uint32_t pos = win_lower(st, t);
    if (pos < st->hi && st->win[pos] == t) {
        *maybe_dup = true; /* a real duplicate, or a rewrite of the same point */
        return VG_OK;
    }
    *maybe_dup = t <= st->evicted_max;
    if (*maybe_dup && st->cap < WIN_MAX && st->hi - st->lo == st->cap) {
        if (win_grow(st) != VG_OK)
            return VG_ENOMEM;
        pos = win_lower(st, t);
    }
    win_insert(st, t, pos);
    return VG_OK;
}

typedef struct buf_db {
    ptr_vec *tables; /* of buf_table*, atomic */
} buf_db;

struct buffer {
    ptr_vec *dbs;            /* of buf_db*, atomic */
    pthread_mutex_t grow_mu; /* serialises creating tables and growing arrays */
    ptr_vec *retired;
    uint32_t chunk_rows;
    buf_acct *acct;
};

/* ---- registry ---- */

/* Acquire/release pairs: whoever sees a pointer also sees what it points to. */
#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define PUBLISH(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static buf_table *table_lookup(buffer *b, uint32_t db_id, uint32_t table_id)
{
    ptr_vec *dbs = LOAD(&b->dbs);
    if (!dbs || db_id >= dbs->cap)
        return NULL;
    buf_db *d = LOAD(&dbs->slot[db_id]);
    if (!d)
        return NULL;
    ptr_vec *tables = LOAD(&d->tables);
    if (!tables || table_id >= tables->cap)
        return NULL;
    return LOAD(&tables->slot[table_id]);
}

/* Makes *where hold index idx, publishing a bigger copy if needed (grow_mu held). */
static ptr_vec *vec_room(buffer *b, ptr_vec **where, uint32_t idx)
{
    ptr_vec *v = *where;
    if (v && idx < v->cap)
        return v;
    uint32_t cap = v ? v->cap * 2 : 8;
    if (cap <= idx)
        cap = idx + 1;
    ptr_vec *nv = vg_calloc(1, sizeof *nv + (size_t)cap * sizeof(void *));
    if (!nv)
        return NULL;
    nv->cap = cap;
    if (v) {
        memcpy(nv->slot, v->slot, (size_t)v->cap * sizeof(void *));
        v->retired_next = b->retired;
        b->retired = v;
    }
    PUBLISH(where, nv);
    return nv;
}

static buf_table *table_new(uint32_t db_id, uint32_t table_id)
{
    buf_table *t = vg_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->db_id = db_id;
    t->table_id = table_id;
    return t;
}

/* Creates the state of a table on its first append (grow_mu held). */
static int table_add(buffer *b, uint32_t db_id, uint32_t table_id, buf_table **out)
{
    ptr_vec *dbs = vec_room(b, &b->dbs, db_id);
    if (!dbs)
        return VG_ENOMEM;
    buf_db *d = dbs->slot[db_id];
    if (!d) {
        if (!(d = vg_calloc(1, sizeof *d)))
            return VG_ENOMEM;
        PUBLISH(&dbs->slot[db_id], d);
    }
    ptr_vec *tables = vec_room(b, &d->tables, table_id);
    buf_table *t = tables ? table_new(db_id, table_id) : NULL;
    if (!t)
        return VG_ENOMEM;
    PUBLISH(&tables->slot[table_id], t);
    *out = t;
    return VG_OK;
}

static int table_create(buffer *b, uint32_t db_id, uint32_t table_id, buf_table **out, vg_err *e)
{
    if (db_id >= BUF_MAX_ID || table_id >= BUF_MAX_ID)
        return vg_err_set(e, VG_EINVAL, "table id %u of database id %u is out of range", table_id,
                          db_id);
    int rc = VG_OK;
    pthread_mutex_lock(&b->grow_mu);
    /* Another thread may have created it since the lock-free lookup. */
    if (!(*out = table_lookup(b, db_id, table_id)))
        rc = table_add(b, db_id, table_id, out);
    pthread_mutex_unlock(&b->grow_mu);
    if (rc != VG_OK)
        return vg_err_set(e, rc, "out of memory in the write buffer");
    return VG_OK;
}

/* ---- lifetime ---- */

buffer *buffer_new(const buffer_options *opt)
{
    buffer *b = vg_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->acct = vg_calloc(1, sizeof *b->acct);
    if (!b->acct) {
        vg_free(b);
        return NULL;
    }
    b->acct->refs = 1;
    uint32_t rows = opt && opt->chunk_rows ? opt->chunk_rows : BUF_DEFAULT_CHUNK_ROWS;
    b->chunk_rows = rows > BUF_MAX_CHUNK_ROWS ? BUF_MAX_CHUNK_ROWS : rows;
    pthread_mutex_init(&b->grow_mu, NULL);
    return b;
}

/* Takes every chunk away from a table (its mutex held); the caller unrefs them. */
static buffer_chunk **table_detach(buf_table *t, size_t *n)
{
    buffer_chunk **list = t->frozen;
    *n = t->nfrozen;
    if (t->active) {
        /* frozen_cap > nfrozen always holds when active exists: see freeze_active. */
        list[(*n)++] = t->active;
        t->active = NULL;
    }
    t->frozen = NULL;
    t->nfrozen = t->frozen_cap = t->nsealed = 0;
    t->rows = 0;
    return list;
}

static void release_list(buffer_chunk **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buffer_chunk_unref(list[i]);
    vg_free(list);
}

static void free_series(buf_table *t)
{
    size_t it = 0;
    const vg_map_entry *en;
    while (vg_map_next(&t->series, &it, &en)) {
        series_state *st = en->val;
        vg_free(st->win);
        vg_free(st);
    }
    vg_map_free(&t->series);
    vg_buf_free(&t->key);
}

static void table_free(buf_table *t)
{
    free_series(t);
    size_t n;
    buffer_chunk **list = table_detach(t, &n);
    release_list(list, n);
    pthread_mutex_destroy(&t->mu);
    vg_free(t);
}

void buffer_free(buffer *b)
{
    if (!b)
        return;
    ptr_vec *dbs = b->dbs;
    for (uint32_t i = 0; dbs && i < dbs->cap; i++) {
        buf_db *d = dbs->slot[i];
        if (!d)
            continue;
        for (uint32_t k = 0; d->tables && k < d->tables->cap; k++)
            if (d->tables->slot[k])
                table_free(d->tables->slot[k]);
        vg_free(d->tables);
        vg_free(d);
    }
    vg_free(dbs);
    for (ptr_vec *v = b->retired; v;) {
        ptr_vec *next = v->retired_next;
        vg_free(v);
        v = next;
    }
    pthread_mutex_destroy(&b->grow_mu);
    buf_acct_unref(b->acct);
    vg_free(b);
}

/* ---- append and freeze (table mutex held) ---- */

/* Freezes the active chunk onto the frozen list. The list always keeps one free
 * slot, so table_detach can put the active chunk on it without allocating. */
static int freeze_active(buf_table *t)
{
    if (t->nfrozen + 2 > t->frozen_cap) {
        size_t cap = t->frozen_cap ? t->frozen_cap * 2 : 8;
        buffer_chunk **nf = vg_realloc(t->frozen, cap * sizeof *nf);
        if (!nf)
            return VG_ENOMEM;
        t->frozen = nf;
        t->frozen_cap = cap;
    }
    chunk_freeze(t->active);
    t->frozen[t->nfrozen++] = t->active;
    t->active = NULL;
    return VG_OK;
}

static int new_active(buffer *b, buf_table *t, uint32_t ncols)
{
    /* Reserve the frozen-list slot that table_detach relies on. */
    if (t->frozen_cap < t->nfrozen + 1) {
        size_t cap = t->frozen_cap ? t->frozen_cap * 2 : 8;
        buffer_chunk **nf = vg_realloc(t->frozen, cap * sizeof *nf);
        if (!nf)
            return VG_ENOMEM;
        t->frozen = nf;
        t->frozen_cap = cap;
    }
    t->active = chunk_new(b->acct, t->db_id, t->table_id, t->next_seq, b->chunk_rows, ncols);
    if (!t->active)
        return VG_ENOMEM;
    t->next_seq++;
    return VG_OK;
}

/* Writes the row's series key: its tags ordered by column id, each as (col, len,
 * bytes), so the same tag set always gives the same key whatever the line order. */
static size_t series_key(const buffer_value *vals, uint32_t nvals, vg_buf *key)
{
    const buffer_value *tags[64];
    uint32_t n = 0;
    for (uint32_t i = 0; i < nvals; i++) {
        if (vals[i].type != CATALOG_TAG)
            continue;
        if (n == 64)
            break; /* more tags than that: the key covers the first 64, which only
                      makes may_have_dups more conservative, never wrong */
        uint32_t j = n++;
        while (j > 0 && tags[j - 1]->col > vals[i].col) {
            tags[j] = tags[j - 1];
            j--;
        }
        tags[j] = &vals[i];
    }
    vg_buf_reset(key);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t hdr[2] = {tags[i]->col, tags[i]->v.s.len};
        vg_buf_append(key, hdr, sizeof hdr);
        vg_buf_append(key, tags[i]->v.s.p, tags[i]->v.s.len);
    }
    return key->len;
}

static void chunk_note_dup(buffer_chunk *c, int64_t time)
{
    if (!c->may_have_dups) {
        c->may_have_dups = true;
        c->dup_min = c->dup_max = time;
        return;
    }
    c->dup_min = time < c->dup_min ? time : c->dup_min;
    c->dup_max = time > c->dup_max ? time : c->dup_max;
}

/* Flags the chunk when the row is not newer than everything its series had. */
static int track_series(buf_table *t, buffer_chunk *c, int64_t time, const buffer_value *vals,
                        uint32_t nvals)
{
    series_key(vals, nvals, &t->key);
    if (t->key.oom)
        return VG_ENOMEM;
    const char *k = t->key.data ? t->key.data : "";
    series_state *st = vg_map_get(&t->series, k, t->key.len);
    if (!st) {
        st = vg_malloc(sizeof *st);
        if (!st || vg_map_put(&t->series, k, t->key.len, st) != VG_OK) {
            vg_free(st);
            return VG_ENOMEM;
        }
        if (series_init(st, time) != VG_OK) {
            vg_map_del(&t->series, k, t->key.len);
            vg_free(st);
            return VG_ENOMEM;
        }
        return VG_OK;
    }
    bool maybe_dup;
    if (series_observe(st, time, &maybe_dup) != VG_OK)
        return VG_ENOMEM;
    if (maybe_dup)
        chunk_note_dup(c, time);
    return VG_OK;
}

static int table_append(buffer *b, buf_table *t, uint32_t ncols, int64_t time,
                        const buffer_value *vals, uint32_t nvals, uint64_t wal_seq, vg_err *e)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        buffer_chunk *c = t->active;
        if (c && c->nrows == c->cap && freeze_active(t) != VG_OK)
            goto oom;
        if (!t->active && new_active(b, t, ncols) != VG_OK)
            goto oom;
        c = t->active;
        if (chunk_grow_cols(c, ncols) != VG_OK)
            goto oom;
        int rc = chunk_prepare_row(c, vals, nvals, e);
        if (rc == BUF_CHUNK_FULL && c->nrows > 0) {
            if (freeze_active(t) != VG_OK)
                goto oom;
            continue;
        }
        if (rc != VG_OK)
            return rc == BUF_CHUNK_FULL ? vg_err_set(e, VG_EINTERNAL, "row too big for a chunk")
                                        : rc;
        if (track_series(t, c, time, vals, nvals) != VG_OK)
            goto oom;
        chunk_write_row(c, time, vals, nvals, wal_seq);
        t->rows++;
        return VG_OK;
    }
    return vg_err_set(e, VG_EINTERNAL, "row does not fit an empty chunk");
oom:
    return vg_err_set(e, VG_ENOMEM, "out of memory in the write buffer");
}

int buffer_append(buffer *b, uint32_t db_id, uint32_t table_id, uint32_t ncols, int64_t time,
                  const buffer_value *vals, uint32_t nvals, uint64_t wal_seq, vg_err *e)
{
    buf_table *t = table_lookup(b, db_id, table_id);
    if (!t) {
        int rc = table_create(b, db_id, table_id, &t, e);
        if (rc != VG_OK)
            return rc;
    }
    pthread_mutex_lock(&t->mu);
    int rc = table_append(b, t, ncols ? ncols : 1, time, vals, nvals, wal_seq, e);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* ---- readers ---- */

int buffer_snapshot(buffer *b, uint32_t db_id, uint32_t table_id, buffer_chunk ***out, size_t *n,
                    vg_err *e)
{
    *out = NULL;
    *n = 0;
    buf_table *t = table_lookup(b, db_id, table_id);
    if (!t)
        return VG_OK;
    int rc = VG_OK;
    pthread_mutex_lock(&t->mu);
    if (t->active && t->active->nrows > 0 && freeze_active(t) != VG_OK) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory taking a write-buffer snapshot");
        goto out;
    }
    if (t->nfrozen == 0)
        goto out;
    buffer_chunk **list = vg_malloc(t->nfrozen * sizeof *list);
    if (!list) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory taking a write-buffer snapshot");
        goto out;
    }
    for (size_t i = 0; i < t->nfrozen; i++) {
        list[i] = t->frozen[i];
        buffer_chunk_ref(list[i]);
    }
    *out = list;
    *n = t->nfrozen;
out:
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void buffer_snapshot_release(buffer_chunk **chunks, size_t n)
{
    release_list(chunks, n);
}

void buffer_chunk_ref(buffer_chunk *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void buffer_chunk_unref(buffer_chunk *c)
{
    if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
        chunk_free(c);
}

void buffer_drop_db(buffer *b, uint32_t db_id)
{
    ptr_vec *dbs = LOAD(&b->dbs);
    if (!dbs || db_id >= dbs->cap)
        return;
    buf_db *d = LOAD(&dbs->slot[db_id]);
    if (!d)
        return;
    ptr_vec *tables = LOAD(&d->tables);
    for (uint32_t i = 0; tables && i < tables->cap; i++) {
        buf_table *t = LOAD(&tables->slot[i]);
        if (!t)
            continue;
        size_t n;
        pthread_mutex_lock(&t->mu);
        buffer_chunk **list = table_detach(t, &n);
        pthread_mutex_unlock(&t->mu);
        release_list(list, n);
    }
}

/* ---- persistence ---- */

typedef struct seal_list {
    buffer_chunk **v;
    size_t n, cap;
    uint64_t max_seq;
} seal_list;

static int seal_table(buf_table *t, seal_list *l)
{
    if (t->active && t->active->nrows > 0 && freeze_active(t) != VG_OK)
        return VG_ENOMEM;
    size_t need = l->n + (t->nfrozen - t->nsealed);
    if (need > l->cap) {
        size_t cap = l->cap ? l->cap : 16;
        while (cap < need)
            cap *= 2;
        buffer_chunk **nv = vg_realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return VG_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    for (size_t i = t->nsealed; i < t->nfrozen; i++) {
        buffer_chunk *c = t->frozen[i];
        buffer_chunk_ref(c);
        l->v[l->n++] = c;
        if (c->max_wal_seq > l->max_seq)
            l->max_seq = c->max_wal_seq;
    }
    t->nsealed = t->nfrozen;
    return VG_OK;
}

int buffer_seal(buffer *b, buffer_chunk ***out, size_t *n, uint64_t *max_wal_seq, vg_err *e)
{
    seal_list l = {0};
    ptr_vec *dbs = LOAD(&b->dbs);
    int rc = VG_OK;
    for (uint32_t i = 0; rc == VG_OK && dbs && i < dbs->cap; i++) {
        buf_db *d = LOAD(&dbs->slot[i]);
        ptr_vec *tables = d ? LOAD(&d->tables) : NULL;
        for (uint32_t k = 0; rc == VG_OK && tables && k < tables->cap; k++) {
            buf_table *t = LOAD(&tables->slot[k]);
            if (!t)
                continue;
            pthread_mutex_lock(&t->mu);
            rc = seal_table(t, &l);
            pthread_mutex_unlock(&t->mu);
        }
    }
    if (rc != VG_OK) {
        /* Leave nothing half-sealed: the chunks are released only by a later call. */
        buffer_release_sealed(b, l.v, l.n);
        return vg_err_set(e, VG_ENOMEM, "out of memory sealing the write buffer");
    }
    *out = l.v;
    *n = l.n;
    *max_wal_seq = l.max_seq;
    return VG_OK;
}

/* Removes c from t's frozen list if it is still there (a dropped database took it). */
static void unlink_sealed(buf_table *t, buffer_chunk *c)
{
    for (size_t i = 0; i < t->nsealed; i++) {
        if (t->frozen[i] != c)
            continue;
        memmove(t->frozen + i, t->frozen + i + 1, (t->nfrozen - i - 1) * sizeof *t->frozen);
        t->nfrozen--;
        t->nsealed--;
        t->rows -= c->nrows;
        buffer_chunk_unref(c); /* the table's reference */
        return;
    }
}

void buffer_release_sealed(buffer *b, buffer_chunk **chunks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buffer_chunk *c = chunks[i];
        buf_table *t = table_lookup(b, c->db_id, c->table_id);
        if (t) {
            pthread_mutex_lock(&t->mu);
            unlink_sealed(t, c);
            pthread_mutex_unlock(&t->mu);
        }
    }
    release_list(chunks, n);
}

void buffer_unseal(buffer *b, buffer_chunk **chunks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf_table *t = table_lookup(b, chunks[i]->db_id, chunks[i]->table_id);
        if (t) {
            pthread_mutex_lock(&t->mu);
            t->nsealed = 0;
            pthread_mutex_unlock(&t->mu);
        }
    }
    release_list(chunks, n);
}

size_t buffer_mem_bytes(buffer *b)
{
    return __atomic_load_n(&b->acct->bytes, __ATOMIC_RELAXED);
}

uint64_t buffer_row_count(buffer *b, uint32_t db_id, uint32_t table_id)
{
    buf_table *t = table_lookup(b, db_id, table_id);
    if (!t)
        return 0;
    pthread_mutex_lock(&t->mu);
    uint64_t rows = t->rows;
    pthread_mutex_unlock(&t->mu);
    return rows;
}

void buffer_drop_table(buffer *b, uint32_t db_id, uint32_t table_id)
{
    buf_table *t = table_lookup(b, db_id, table_id);
    if (!t)
        return;
    size_t n;
    pthread_mutex_lock(&t->mu);
    buffer_chunk **list = table_detach(t, &n);
    pthread_mutex_unlock(&t->mu);
    release_list(list, n);
}

/* ---- row deletes ---- */

typedef struct del_swap {
    buffer_chunk *old;    /* referenced */
    buffer_chunk *repl;   /* owned; NULL: every row goes */
    uint32_t removed;
} del_swap;

struct buffer_delete {
    uint32_t db_id;
    uint32_t table_id;
    del_swap *swaps;
    size_t n;
    uint64_t rows;
};

/* References to the table's chunks that overlap the range, the active one frozen
 * first so that every buffered row is in one of them. */
static int delete_candidates(buf_table *t, const catalog_tombstone *ts, buffer_delete *d)
{
    pthread_mutex_lock(&t->mu);
    int rc = VG_OK;
    if (t->active && t->active->nrows > 0 && freeze_active(t) != VG_OK)
        rc = VG_ENOMEM;
    if (rc == VG_OK && t->nfrozen && !(d->swaps = vg_calloc(t->nfrozen, sizeof *d->swaps)))
        rc = VG_ENOMEM;
    for (size_t i = 0; rc == VG_OK && i < t->nfrozen; i++) {
        buffer_chunk *c = t->frozen[i];
        if (c->max_time < ts->min_time || c->min_time > ts->max_time)
            continue;
        buffer_chunk_ref(c);
        d->swaps[d->n++].old = c;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* Builds the replacement of each chunk with matching rows (the chunks are frozen:
 * no lock needed). Chunks without a match drop out of the plan. */
static int delete_replacements(buffer_delete *d, const catalog_tombstone *ts)
{
    size_t k = 0;
    int rc = VG_OK;
    for (size_t i = 0; i < d->n; i++) {
        del_swap s = d->swaps[i];
        uint8_t *drop = rc == VG_OK ? vg_calloc(s.old->nrows ? s.old->nrows : 1, 1) : NULL;
        if (rc == VG_OK && !drop)
            rc = VG_ENOMEM;
        if (rc == VG_OK)
            rc = buffer_chunk_match(s.old, ts, drop, &s.removed);
        if (rc == VG_OK && s.removed && s.removed < s.old->nrows &&
            !(s.repl = buffer_chunk_without(s.old, drop)))
            rc = VG_ENOMEM;
        vg_free(drop);
        if (rc != VG_OK || s.removed == 0) {
            buffer_chunk_unref(s.old);
            buffer_chunk_unref(s.repl);
            continue;
        }
        d->rows += s.removed;
        d->swaps[k++] = s;
    }
    d->n = k;
    return rc;
}

int buffer_delete_prepare(buffer *b, const catalog_tombstone *ts, buffer_delete **out, vg_err *e)
{
    *out = NULL;
    buffer_delete *d = vg_calloc(1, sizeof *d);
    if (!d)
        return vg_err_set(e, VG_ENOMEM, "out of memory deleting rows from the write buffer");
    d->db_id = ts->db_id;
    d->table_id = ts->table_id;
    buf_table *t = table_lookup(b, ts->db_id, ts->table_id);
    int rc = t ? delete_candidates(t, ts, d) : VG_OK;
    if (rc == VG_OK)
        rc = delete_replacements(d, ts);
    if (rc != VG_OK) {
        buffer_delete_abort(d);
        return vg_err_set(e, VG_ENOMEM, "out of memory deleting rows from the write buffer");
    }
    *out = d;
    return VG_OK;
}

uint64_t buffer_delete_rows(const buffer_delete *d)
{
    return d ? d->rows : 0;
}

void buffer_delete_abort(buffer_delete *d)
{
    for (size_t i = 0; d && i < d->n; i++) {
        buffer_chunk_unref(d->swaps[i].old);
        buffer_chunk_unref(d->swaps[i].repl);
    }
    if (d)
        vg_free(d->swaps);
    vg_free(d);
}

/* Puts the replacement where the old chunk is (same seq, so "later wins" keeps its
 * order), or takes the old chunk out when every row goes. */
static void swap_chunk(buf_table *t, del_swap *s)
{
    for (size_t i = 0; i < t->nfrozen; i++) {
        if (t->frozen[i] != s->old)
            continue;
        if (s->repl) {
            t->frozen[i] = s->repl;
            s->repl = NULL;
        } else {
            memmove(t->frozen + i, t->frozen + i + 1, (t->nfrozen - i - 1) * sizeof *t->frozen);
            t->nfrozen--;
            if (i < t->nsealed)
                t->nsealed--;
        }
        t->rows -= s->removed;
        buffer_chunk_unref(s->old); /* the table's reference */
        return;
    }
}

void buffer_delete_commit(buffer *b, buffer_delete *d)
{
    buf_table *t = d->n ? table_lookup(b, d->db_id, d->table_id) : NULL;
    if (t) {
        pthread_mutex_lock(&t->mu);
        for (size_t i = 0; i < d->n; i++)
            swap_chunk(t, &d->swaps[i]);
        pthread_mutex_unlock(&t->mu);
    }
    buffer_delete_abort(d); /* the plan's references, and replacements not used */
}
