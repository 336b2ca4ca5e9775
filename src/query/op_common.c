/* query/op_common.c: the helpers of op_int.h shared by the operators: reusable
 * per-column scratch, predicate selection, row gathering, and the two small hash
 * tables (byte strings -> ids, uint64 -> uint32) that live in the query arena. */
#include "op_int.h"

#include <string.h>

int qop_err(qctx *c)
{
    return c->err && c->err->code != VG_OK ? (int)c->err->code : VG_ENOMEM;
}

/* ---- scratch ---- */

static void *lazy(qctx *c, void **slot, size_t bytes)
{
    if (!*slot)
        *slot = qctx_alloc(c, bytes);
    return *slot;
}

void *qop_vb_data(qctx *c, qop_vecbuf *vb)
{
    return lazy(c, &vb->data, (size_t)Q_BATCH_ROWS * 8);
}

uint8_t *qop_vb_valid(qctx *c, qop_vecbuf *vb)
{
    return lazy(c, (void **)&vb->valid, Q_BATCH_ROWS / 8);
}

uint32_t *qop_vb_ids(qctx *c, qop_vecbuf *vb)
{
    return lazy(c, (void **)&vb->ids, (size_t)Q_BATCH_ROWS * sizeof(uint32_t));
}

qstr *qop_vb_strs(qctx *c, qop_vecbuf *vb)
{
    return lazy(c, (void **)&vb->strs, (size_t)Q_BATCH_ROWS * sizeof(qstr));
}

qvec *qop_vb_sel(qctx *c, qop_vecbuf *vb, qop_vecbuf **sub)
{
    if (!vb->sel) {
        qvec *s = qctx_alloc(c, 2 * sizeof *s);
        qop_vecbuf *b = qctx_alloc(c, 2 * sizeof *b);
        if (!s || !b)
            return NULL;
        memset(s, 0, 2 * sizeof *s);
        memset(b, 0, 2 * sizeof *b);
        vb->sel = s;
        vb->sub = b;
    }
    *sub = vb->sub;
    return vb->sel;
}

/* ---- selection and gathering ---- */

uint32_t qop_select(const qvec *pred, uint32_t n, uint32_t *sel)
{
    uint32_t k = 0;
    const uint8_t *b = pred->v.b;
    if (!pred->valid) {
        for (uint32_t r = 0; r < n; r++) {
            sel[k] = r;
            k += b[r] != 0; /* branch-free: selectivity is unpredictable */
        }
        return k;
    }
    for (uint32_t r = 0; r < n; r++) {
        sel[k] = r;
        k += (b[r] != 0) & ((pred->valid[r >> 3] >> (r & 7)) & 1);
    }
    return k;
}

bool qop_all_valid(const uint8_t *valid, uint32_t n)
{
    uint32_t full = n / 8;
    for (uint32_t i = 0; i < full; i++)
        if (valid[i] != 0xff)
            return false;
    if (n & 7) {
        uint8_t mask = (uint8_t)((1u << (n & 7)) - 1);
        if ((valid[full] & mask) != mask)
            return false;
    }
    return true;
}

/* Gathers validity bits; returns false when every gathered row is valid (so the
 * caller can drop the bitmap and spare its consumers the bit tests). */
static bool gather_valid(const uint8_t *in, const uint32_t *sel, uint32_t n, uint8_t *out)
{
    memset(out, 0, (n + 7) / 8);
    uint32_t nulls = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel[i];
        uint32_t bit = (in[r >> 3] >> (r & 7)) & 1;
        out[i >> 3] |= (uint8_t)(bit << (i & 7));
        nulls += bit ^ 1;
    }
    return nulls != 0;
}

static void gather8(const uint64_t *in, const uint32_t *sel, uint32_t n, uint64_t *out)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = in[sel[i]];
}

int qop_gather(qctx *c, qop_vecbuf *vb, const qvec *in, const uint32_t *sel, uint32_t n, qvec *out)
{
    memset(out, 0, sizeof *out);
    out->type = in->type;
    out->n = n;
    if (in->valid) {
        uint8_t *v = qop_vb_valid(c, vb);
        if (!v)
            return qop_err(c);
        if (gather_valid(in->valid, sel, n, v))
            out->valid = v;
    }
    switch (in->type) {
    case QT_NULL: return VG_OK;
    case QT_BOOL: {
        uint8_t *d = qop_vb_data(c, vb);
        if (!d)
            return qop_err(c);
        for (uint32_t i = 0; i < n; i++)
            d[i] = in->v.b[sel[i]];
        out->v.b = d;
        return VG_OK;
    }
    case QT_INT:
    case QT_UINT:
    case QT_FLOAT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: {
        uint64_t *d = qop_vb_data(c, vb);
        if (!d)
            return qop_err(c);
        gather8(in->v.u64, sel, n, d);
        out->v.u64 = d;
        return VG_OK;
    }
    case QT_STRING:
        if (in->ids) {
            uint32_t *ids = qop_vb_ids(c, vb);
            if (!ids)
                return qop_err(c);
            for (uint32_t i = 0; i < n; i++)
                ids[i] = in->ids[sel[i]];
            out->ids = ids;
            out->dict = in->dict;
            out->dict_n = in->dict_n;
            out->dict_id = in->dict_id;
        } else {
            qstr *s = qop_vb_strs(c, vb);
            if (!s)
                return qop_err(c);
            for (uint32_t i = 0; i < n; i++)
                s[i] = in->v.s[sel[i]];
            out->v.s = s;
        }
        return VG_OK;
    case QT_SELECTOR: {
        qop_vecbuf *sub;
        qvec *s = qop_vb_sel(c, vb, &sub);
        if (!s)
            return qop_err(c);
        for (int k = 0; k < 2; k++) {
            int rc = qop_gather(c, &sub[k], &in->sel[k], sel, n, &s[k]);
            if (rc != VG_OK)
                return rc;
        }
        out->sel = s;
        return VG_OK;
    }
    }
    return vg_err_set(c->err, VG_EINTERNAL, "gather: unknown vector type %d", (int)in->type);
}

/* ---- top-K bound ---- */

bool qop_bind_time_bound(qop *op, uint32_t col, qop_time_bound *b)
{
    while (op) {
        if (qop_scan_bind_time_bound(op, col, b))
            return true;
        qop *in = qop_filter_passthrough(op);
        if (!in)
            in = qop_project_passthrough(op, col, &col);
        op = in;
    }
    return false;
}

/* ---- arrays and hash tables in the arena ---- */

int qop_grow(qctx *c, void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return VG_OK;
    uint64_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > UINT32_MAX)
        ncap = UINT32_MAX;
    void *np = qctx_alloc(c, (size_t)ncap * elem);
    if (!np)
        return qop_err(c);
    if (*p && *cap)
        memcpy(np, *p, (size_t)*cap * elem);
    *p = np;
    *cap = (uint32_t)ncap;
    return VG_OK;
}

static int strtab_rehash(qctx *c, qop_strtab *t)
{
    uint32_t ncap = t->cap ? t->cap * 2 : 64;
    uint32_t *slots = qctx_alloc(c, (size_t)ncap * sizeof *slots);
    if (!slots)
        return qop_err(c);
    memset(slots, 0, (size_t)ncap * sizeof *slots);
    for (uint32_t id = 0; id < t->n; id++) {
        uint32_t i = (uint32_t)t->hashes[id] & (ncap - 1);
        while (slots[i])
            i = (i + 1) & (ncap - 1);
        slots[i] = id + 1;
    }
    t->slots = slots;
    t->cap = ncap;
    return VG_OK;
}

int qop_strtab_intern(qctx *c, qop_strtab *t, const char *p, uint32_t len, uint32_t *id)
{
    /* Load factor at most 1/2: probes stay short without tombstones (never deleted). */
    if ((uint64_t)(t->n + 1) * 2 > t->cap) {
        int rc = strtab_rehash(c, t);
        if (rc != VG_OK)
            return rc;
    }
    uint64_t h = vg_hash(p, len);
    uint32_t i = (uint32_t)h & (t->cap - 1);
    for (uint32_t s; (s = t->slots[i]) != 0; i = (i + 1) & (t->cap - 1)) {
        const qstr *k = &t->keys[s - 1];
        if (t->hashes[s - 1] == h && k->len == len && memcmp(k->p, p, len) == 0) {
            *id = s - 1;
            return VG_OK;
        }
    }
    uint32_t hcap = t->keys_cap;
    int rc = qop_grow(c, (void **)&t->hashes, &hcap, t->n + 1, sizeof *t->hashes);
    if (rc == VG_OK)
        rc = qop_grow(c, (void **)&t->keys, &t->keys_cap, t->n + 1, sizeof *t->keys);
    if (rc != VG_OK)
        return rc;
    char *copy = qctx_alloc(c, len ? len : 1);
    if (!copy)
        return qop_err(c);
    memcpy(copy, p, len);
    t->keys[t->n] = (qstr){copy, len};
    t->hashes[t->n] = h;
    t->slots[i] = ++t->n;
    *id = t->n - 1;
    return VG_OK;
}

static int imap_rehash(qctx *c, qop_imap *m)
{
    uint32_t ncap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = qctx_alloc(c, (size_t)ncap * sizeof *keys);
    uint32_t *vals = qctx_alloc(c, (size_t)ncap * sizeof *vals);
    if (!keys || !vals)
        return qop_err(c);
    memset(vals, 0, (size_t)ncap * sizeof *vals);
    for (uint32_t j = 0; j < m->cap; j++) {
        if (!m->vals[j])
            continue;
        uint32_t i = (uint32_t)qop_mix64(m->keys[j]) & (ncap - 1);
        while (vals[i])
            i = (i + 1) & (ncap - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return VG_OK;
}

int qop_imap_upsert(qctx *c, qop_imap *m, uint64_t key, uint32_t val, uint32_t *out, bool *found)
{
    if ((uint64_t)(m->n + 1) * 2 > m->cap) {
        int rc = imap_rehash(c, m);
        if (rc != VG_OK)
            return rc;
    }
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)qop_mix64(key) & mask;
    for (; m->vals[i]; i = (i + 1) & mask) {
        if (m->keys[i] == key) {
            *out = m->vals[i] - 1;
            *found = true;
            return VG_OK;
        }
    }
    m->keys[i] = key;
    m->vals[i] = val + 1;
    m->n++;
    *out = val;
    *found = false;
    return VG_OK;
}
