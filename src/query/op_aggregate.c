/* query/op_aggregate.c: hash grouping, and the two operators built on it.
 *
 *   qop_aggregate(ctx, input, group, ngroup, aggs, naggs, schema)
 *     open   opens the input
 *     next   first call: drains the input, giving every row a group id and feeding
 *            the aggregates (qagg update); then finalizes and emits the groups in
 *            batches: group key columns first, then one column per aggregate call.
 *            With ngroup = 0 there is exactly one group, even over no input.
 *     close  destroys aggregate states, closes the input
 *
 *   qop_distinct(ctx, input)
 *     open   opens the input
 *     next   streams: the rows of each input batch whose value tuple (all columns)
 *            was not seen before, in input order
 *     close  closes the input
 *
 * Grouping. Each key column turns a batch into one 64-bit word per row plus a NULL
 * flag (NULL is a group of its own): numbers and timestamps are their bits (floats
 * with -0 folded into 0 and one NaN), booleans 0/1, strings a dense code from an
 * interning table. Tags arrive dictionary-encoded: a small array per dictionary
 * (dict_id) maps a dictionary id to its code, so a tag string is hashed once per
 * (dictionary, id), not once per row. Words then become group ids:
 *   - one string key: the code indexes an array of group ids directly;
 *   - one other key (e.g. date_bin buckets): an open-addressing uint64 table;
 *   - several keys: an open-addressing table over the tuple's hash, comparing the
 *     words each group stored.
 * Groups are numbered in order of first appearance; distinct relies on that.
 *
 * Runs. Rows read from files come sorted by tag set, so GROUP BY a tag sees each group
 * in long runs of consecutive rows. When a batch's runs are long enough on average, an
 * aggregate that allows it (qagg.by_run) is updated once per run, on its arguments
 * sliced to the run and its group's state alone: no group id per row, and the aggregate
 * may take the run in bulk (max in registers, a selector's one kept row).
 */
#include "op_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- key columns: values to words ---- */

typedef struct dict_map {
    uint64_t dict_id;
    uint32_t n;
    uint32_t *code;  /* by dictionary id; UINT32_MAX = not interned yet */
    uint32_t *group; /* single-key grouping: by dictionary id; UINT32_MAX = unknown */
} dict_map;

typedef struct keycol {
    qtype type;
    qop_strtab strs; /* QT_STRING: code = id */
    dict_map *maps;
    uint32_t nmaps;
    uint32_t maps_cap;
    uint32_t last_map;
    uint64_t *w;     /* Q_BATCH_ROWS: the current batch's words */
    uint8_t *isnull; /* Q_BATCH_ROWS */
    bool any_null;   /* in the current batch */
} keycol;

static int keycol_init(qctx *c, keycol *k, qtype t)
{
    memset(k, 0, sizeof *k);
    k->type = t;
    k->w = qctx_alloc(c, Q_BATCH_ROWS * sizeof *k->w);
    k->isnull = qctx_alloc(c, Q_BATCH_ROWS);
    return k->w && k->isnull ? VG_OK : qop_err(c);
}

/* The code array of a dictionary, made (or extended) on first sight. */
static int keycol_map(qctx *c, keycol *k, const qvec *v, dict_map **out)
{
    dict_map *m = NULL;
    if (k->nmaps && k->maps[k->last_map].dict_id == v->dict_id) {
        m = &k->maps[k->last_map];
    } else {
        for (uint32_t i = 0; i < k->nmaps; i++) {
            if (k->maps[i].dict_id == v->dict_id) {
                m = &k->maps[i];
                k->last_map = i;
                break;
            }
        }
    }
    if (!m) {
        int rc = qop_grow(c, (void **)&k->maps, &k->maps_cap, k->nmaps + 1, sizeof *k->maps);
        if (rc != VG_OK)
            return rc;
        k->last_map = k->nmaps++;
        m = &k->maps[k->last_map];
        *m = (dict_map){.dict_id = v->dict_id};
    }
    if (m->n < v->dict_n) { /* new, or a dictionary that grew */
        uint32_t *code = qctx_alloc(c, (size_t)v->dict_n * 2 * sizeof *code);
        if (!code)
            return qop_err(c);
        uint32_t *group = code + v->dict_n;
        if (m->n) {
            memcpy(code, m->code, (size_t)m->n * sizeof *code);
            memcpy(group, m->group, (size_t)m->n * sizeof *group);
        }
        memset(code + m->n, 0xff, (size_t)(v->dict_n - m->n) * sizeof *code);
        memset(group + m->n, 0xff, (size_t)(v->dict_n - m->n) * sizeof *group);
        m->code = code;
        m->group = group;
        m->n = v->dict_n;
    }
    *out = m;
    return VG_OK;
}

static int encode_dict(qctx *c, keycol *k, const qvec *v, uint32_t n)
{
    dict_map *m = NULL;
    int rc = keycol_map(c, k, v, &m);
    if (rc != VG_OK)
        return rc;
    for (uint32_t r = 0; r < n; r++) {
        if (k->any_null && k->isnull[r]) {
            k->w[r] = 0;
            continue;
        }
        uint32_t id = v->ids[r];
        uint32_t code = m->code[id];
        if (code == UINT32_MAX) {
            rc = qop_strtab_intern(c, &k->strs, v->dict[id].p, v->dict[id].len, &code);
            if (rc != VG_OK)
                return rc;
            m->code[id] = code;
        }
        k->w[r] = code;
    }
    return VG_OK;
}

static int encode_strings(qctx *c, keycol *k, const qvec *v, uint32_t n)
{
    for (uint32_t r = 0; r < n; r++) {
        uint32_t code = 0;
        if (!(k->any_null && k->isnull[r])) {
            int rc = qop_strtab_intern(c, &k->strs, v->v.s[r].p, v->v.s[r].len, &code);
            if (rc != VG_OK)
                return rc;
        }
        k->w[r] = code;
    }
    return VG_OK;
}

static uint64_t float_word(double f)
{
    if (f == 0)
        f = 0; /* -0 groups with 0 */
    if (f != f)
        return 0x7ff8000000000000ULL; /* one NaN */
    uint64_t w;
    memcpy(&w, &f, sizeof w);
    return w;
}

/* Fills k->w / k->isnull / k->any_null for the n rows of v. */
static int keycol_encode(qctx *c, keycol *k, const qvec *v, uint32_t n)
{
    k->any_null = false;
    if (v->type == QT_NULL) {
        memset(k->isnull, 1, n);
        memset(k->w, 0, (size_t)n * sizeof *k->w);
        k->any_null = n > 0;
        return VG_OK;
    }
    if (v->valid) {
        for (uint32_t r = 0; r < n; r++) {
            k->isnull[r] = !((v->valid[r >> 3] >> (r & 7)) & 1);
            k->any_null |= k->isnull[r];
        }
    }
    switch (v->type) {
    case QT_STRING: return v->ids ? encode_dict(c, k, v, n) : encode_strings(c, k, v, n);
    case QT_BOOL:
        for (uint32_t r = 0; r < n; r++)
            k->w[r] = v->v.b[r] != 0;
        break;
    case QT_FLOAT:
        for (uint32_t r = 0; r < n; r++)
            k->w[r] = float_word(v->v.f64[r]);
        break;
    case QT_INT:
    case QT_UINT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: memcpy(k->w, v->v.u64, (size_t)n * sizeof *k->w); break;
    default:
        return vg_err_set(c->err, VG_EINVAL, "cannot group or compare values of type %s",
                          qtype_name(v->type));
    }
    if (k->any_null) /* a NULL row's stored value is arbitrary: make equal NULLs equal */
        for (uint32_t r = 0; r < n; r++)
            if (k->isnull[r])
                k->w[r] = 0;
    return VG_OK;
}

/* ---- group table ---- */

typedef struct gtab {
    uint32_t k;
    keycol *keys;
    uint32_t ngroups;
    uint32_t cap;        /* group capacity of kw / kn / gh */
    uint64_t **kw;       /* [key][group] word */
    uint8_t **kn;        /* [key][group] NULL flag */
    uint64_t *gh;        /* [group] tuple hash (k >= 2) */
    uint32_t null_group; /* k == 1; UINT32_MAX until seen */
    uint32_t *c2g;       /* k == 1 string: code -> group, UINT32_MAX = none yet */
    uint32_t c2g_cap;
    uint32_t c2g_n;  /* entries initialized */
    qop_imap words;  /* k == 1 other types: word -> group */
    uint32_t *slots; /* k >= 2: group + 1, 0 = empty */
    uint32_t nslots;
} gtab;

static int gtab_init(qctx *c, gtab *g, keycol *keys, uint32_t k)
{
    memset(g, 0, sizeof *g);
    g->k = k;
    g->keys = keys;
    g->null_group = UINT32_MAX;
    uint32_t n = k ? k : 1;
    g->kw = qctx_alloc(c, n * sizeof *g->kw);
    g->kn = qctx_alloc(c, n * sizeof *g->kn);
    if (!g->kw || !g->kn)
        return qop_err(c);
    memset(g->kw, 0, n * sizeof *g->kw);
    memset(g->kn, 0, n * sizeof *g->kn);
    return VG_OK;
}

static int gtab_grow(qctx *c, gtab *g)
{
    uint64_t ncap = g->cap ? (uint64_t)g->cap * 2 : 256;
    if (ncap > UINT32_MAX - 1)
        return vg_err_set(c->err, VG_ELIMIT, "too many groups (more than %u)", UINT32_MAX - 1);
    for (uint32_t j = 0; j < g->k; j++) {
        uint64_t *w = qctx_alloc(c, ncap * sizeof *w);
        uint8_t *nl = qctx_alloc(c, ncap);
        if (!w || !nl)
            return qop_err(c);
        if (g->cap) {
            memcpy(w, g->kw[j], (size_t)g->cap * sizeof *w);
            memcpy(nl, g->kn[j], g->cap);
        }
        g->kw[j] = w;
        g->kn[j] = nl;
    }
    if (g->k >= 2) {
        uint64_t *h = qctx_alloc(c, ncap * sizeof *h);
        if (!h)
            return qop_err(c);
        if (g->cap)
            memcpy(h, g->gh, (size_t)g->cap * sizeof *h);
        g->gh = h;
    }
    g->cap = (uint32_t)ncap;
    return VG_OK;
}

/* A new group with the keys of batch row r. */
static int gtab_add(qctx *c, gtab *g, uint32_t r, uint64_t h, uint32_t *out)
{
    if (g->ngroups == g->cap) {
        int rc = gtab_grow(c, g);
        if (rc != VG_OK)
            return rc;
    }
    uint32_t id = g->ngroups++;
    for (uint32_t j = 0; j < g->k; j++) {
        keycol *kc = &g->keys[j];
        g->kw[j][id] = kc->w[r];
        g->kn[j][id] = kc->any_null && kc->isnull[r];
    }
    if (g->k >= 2)
        g->gh[id] = h;
    *out = id;
    return VG_OK;
}

static int assign_string(qctx *c, gtab *g, uint32_t n, uint32_t *groups)
{
    keycol *kc = &g->keys[0];
    int rc =
        qop_grow(c, (void **)&g->c2g, &g->c2g_cap, kc->strs.n ? kc->strs.n : 1, sizeof *g->c2g);
    if (rc != VG_OK)
        return rc;
    for (; g->c2g_n < kc->strs.n; g->c2g_n++)
        g->c2g[g->c2g_n] = UINT32_MAX;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t *slot = kc->any_null && kc->isnull[r] ? &g->null_group : &g->c2g[kc->w[r]];
        if (*slot == UINT32_MAX) {
            rc = gtab_add(c, g, r, 0, slot);
            if (rc != VG_OK)
                return rc;
        }
        groups[r] = *slot;
    }
    return VG_OK;
}

/* The group of a non-null word: probe inline, insert through qop_imap_upsert. */
static inline int word_group(qctx *c, gtab *g, uint32_t r, uint64_t w, uint32_t *out)
{
    qop_imap *m = &g->words;
    if (m->cap) {
        uint32_t mask = m->cap - 1, i = (uint32_t)qop_mix64(w) & mask;
        for (; m->vals[i]; i = (i + 1) & mask) {
            if (m->keys[i] == w) {
                *out = m->vals[i] - 1;
                return VG_OK;
            }
        }
    }
    bool found;
    int rc = qop_imap_upsert(c, m, w, g->ngroups, out, &found);
    if (rc == VG_OK && !found)
        rc = gtab_add(c, g, r, 0, out);
    return rc;
}

static int assign_word(qctx *c, gtab *g, uint32_t n, uint32_t *groups)
{
    keycol *kc = &g->keys[0];
    /* Keys often repeat on consecutive rows (time buckets of time-ordered data):
     * the previous row's group is checked before the table. */
    uint64_t prev_w = 0;
    uint32_t prev_g = UINT32_MAX;
    for (uint32_t r = 0; r < n; r++) {
        int rc = VG_OK;
        uint64_t w = kc->w[r];
        if (kc->any_null && kc->isnull[r]) {
            if (g->null_group == UINT32_MAX)
                rc = gtab_add(c, g, r, 0, &g->null_group);
            groups[r] = g->null_group;
            continue;
        }
        if (w == prev_w && prev_g != UINT32_MAX) {
            groups[r] = prev_g;
            continue;
        }
        rc = word_group(c, g, r, w, &groups[r]);
        if (rc != VG_OK)
            return rc;
        prev_w = w;
        prev_g = groups[r];
    }
    return VG_OK;
}

static uint64_t tuple_hash(const gtab *g, uint32_t r)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (uint32_t j = 0; j < g->k; j++) {
        const keycol *kc = &g->keys[j];
        uint64_t w = kc->any_null && kc->isnull[r] ? 0x6a09e667f3bcc909ULL : kc->w[r];
        h = qop_mix64(h ^ w) + j;
    }
    return h;
}

static bool tuple_eq(const gtab *g, uint32_t group, uint32_t r)
{
    for (uint32_t j = 0; j < g->k; j++) {
        const keycol *kc = &g->keys[j];
        bool isnull = kc->any_null && kc->isnull[r];
        if (g->kn[j][group] != isnull || g->kw[j][group] != kc->w[r])
            return false;
    }
    return true;
}

static int tuple_rehash(qctx *c, gtab *g)
{
    uint32_t ncap = g->nslots ? g->nslots * 2 : 256;
    uint32_t *slots = qctx_alloc(c, (size_t)ncap * sizeof *slots);
    if (!slots)
        return qop_err(c);
    memset(slots, 0, (size_t)ncap * sizeof *slots);
    for (uint32_t id = 0; id < g->ngroups; id++) {
        uint32_t i = (uint32_t)g->gh[id] & (ncap - 1);
        while (slots[i])
            i = (i + 1) & (ncap - 1);
        slots[i] = id + 1;
    }
    g->slots = slots;
    g->nslots = ncap;
    return VG_OK;
}

/* Row r has the same key tuple as row r - 1. */
static bool same_as_previous(const gtab *g, uint32_t r)
{
    for (uint32_t j = 0; j < g->k; j++) {
        const keycol *kc = &g->keys[j];
        if (kc->w[r] != kc->w[r - 1] || (kc->any_null && kc->isnull[r] != kc->isnull[r - 1]))
            return false;
    }
    return true;
}

static int assign_tuple(qctx *c, gtab *g, uint32_t n, uint32_t *groups)
{
    for (uint32_t r = 0; r < n; r++) {
        if (r > 0 && same_as_previous(g, r)) {
            groups[r] = groups[r - 1];
            continue;
        }
        if ((uint64_t)(g->ngroups + 1) * 2 > g->nslots) {
            int rc = tuple_rehash(c, g);
            if (rc != VG_OK)
                return rc;
        }
        uint64_t h = tuple_hash(g, r);
        uint32_t mask = g->nslots - 1, i = (uint32_t)h & mask, s;
        for (; (s = g->slots[i]) != 0; i = (i + 1) & mask)
            if (g->gh[s - 1] == h && tuple_eq(g, s - 1, r))
                break;
        if (s) {
            groups[r] = s - 1;
            continue;
        }
        int rc = gtab_add(c, g, r, h, &groups[r]);
        if (rc != VG_OK)
            return rc;
        g->slots[i] = groups[r] + 1;
    }
    return VG_OK;
}

/* The group of dictionary entry id (single string key): interned, numbered once,
 * then remembered in the dictionary's own array. */
static int dict_group(qctx *c, gtab *g, dict_map *m, const qvec *v, uint32_t id, uint32_t *out)
{
    keycol *kc = &g->keys[0];
    uint32_t code = m->code[id];
    if (code == UINT32_MAX) {
        int rc = qop_strtab_intern(c, &kc->strs, v->dict[id].p, v->dict[id].len, &code);
        if (rc != VG_OK)
            return rc;
        m->code[id] = code;
    }
    int rc = qop_grow(c, (void **)&g->c2g, &g->c2g_cap, kc->strs.n, sizeof *g->c2g);
    if (rc != VG_OK)
        return rc;
    for (; g->c2g_n < kc->strs.n; g->c2g_n++)
        g->c2g[g->c2g_n] = UINT32_MAX;
    if (g->c2g[code] == UINT32_MAX) {
        kc->w[0] = code; /* gtab_add takes the key from row 0 of the encoded batch */
        kc->any_null = false;
        rc = gtab_add(c, g, 0, 0, &g->c2g[code]);
        if (rc != VG_OK)
            return rc;
    }
    *out = m->group[id] = g->c2g[code];
    return VG_OK;
}

/* GROUP BY one tag: a dictionary id finds its group through one array load. */
static int assign_dict1(qctx *c, gtab *g, const qvec *v, uint32_t n, uint32_t *groups)
{
    keycol *kc = &g->keys[0];
    dict_map *m = NULL;
    int rc = keycol_map(c, kc, v, &m);
    if (rc != VG_OK)
        return rc;
    const uint32_t *ids = v->ids, *gm = m->group;
    for (uint32_t r = 0; r < n; r++) {
        if (v->valid && !qvec_is_valid(v, r)) {
            if (g->null_group == UINT32_MAX) {
                kc->w[0] = 0;
                kc->isnull[0] = 1;
                kc->any_null = true;
                rc = gtab_add(c, g, 0, 0, &g->null_group);
                if (rc != VG_OK)
                    return rc;
            }
            groups[r] = g->null_group;
            continue;
        }
        uint32_t gid = gm[ids[r]];
        if (gid == UINT32_MAX) {
            rc = dict_group(c, g, m, v, ids[r], &gid);
            if (rc != VG_OK)
                return rc;
        }
        groups[r] = gid;
    }
    return VG_OK;
}

/* Group ids for the n rows whose keys were just encoded. */
static int gtab_assign(qctx *c, gtab *g, uint32_t n, uint32_t *groups)
{
    if (g->k == 0) {
        memset(groups, 0, (size_t)n * sizeof *groups);
        return VG_OK;
    }
    if (g->k == 1)
        return g->keys[0].type == QT_STRING ? assign_string(c, g, n, groups)
                                            : assign_word(c, g, n, groups);
    return assign_tuple(c, g, n, groups);
}

/* Key column j of groups [g0, g0 + n) as a vector in vb's buffers. */
static int gtab_key_vec(qctx *c, gtab *g, uint32_t j, uint32_t g0, uint32_t n, qop_vecbuf *vb,
                        qvec *out)
{
    keycol *kc = &g->keys[j];
    const uint64_t *w = g->kw[j] + g0;
    const uint8_t *nl = g->kn[j] + g0;
    memset(out, 0, sizeof *out);
    out->type = kc->type;
    out->n = n;
    uint8_t *valid = qop_vb_valid(c, vb);
    if (!valid)
        return qop_err(c);
    memset(valid, 0, (n + 7) / 8);
    uint32_t nulls = 0;
    for (uint32_t i = 0; i < n; i++) {
        valid[i >> 3] |= (uint8_t)(!nl[i] << (i & 7));
        nulls += nl[i];
    }
    out->valid = nulls ? valid : NULL;
    if (kc->type == QT_STRING) {
        uint32_t *ids = qop_vb_ids(c, vb);
        if (!ids)
            return qop_err(c);
        for (uint32_t i = 0; i < n; i++)
            ids[i] = (uint32_t)w[i];
        out->ids = ids;
        out->dict = kc->strs.keys;
        out->dict_n = kc->strs.n;
        out->dict_id = (uint64_t)(uintptr_t)&kc->strs; /* unique while the query runs */
        return VG_OK;
    }
    void *data = qop_vb_data(c, vb);
    if (!data)
        return qop_err(c);
    if (kc->type == QT_BOOL) {
        uint8_t *b = data;
        for (uint32_t i = 0; i < n; i++)
            b[i] = (uint8_t)w[i];
        out->v.b = b;
    } else {
        memcpy(data, w, (size_t)n * sizeof *w); /* floats: their bits */
        out->v.u64 = data;
    }
    return VG_OK;
}

/* ---- aggregate ---- */

typedef struct agg_run {
    const qagg *agg;
    qagg_call *call;
    size_t size; /* bytes per state */
    char *states;
    uint32_t cap; /* states allocated (and initialized) */
    qvec *args;   /* evaluated arguments of the current batch */
    qvec result;  /* finalized, one row per group */
    qvec sel[2];  /* slices of a QT_SELECTOR result */
} agg_run;

/* Runs shorter than this on average: the per-row update is as cheap. */
#define RUN_MIN_AVG 16
#define MAX_AGG_ARGS 16

typedef struct agg_state {
    qexpr **group;
    uint32_t ngroup;
    agg_run *aggs;
    uint32_t naggs;
    keycol *keys;
    qvec *kv; /* the group keys of the current batch */
    gtab gt;
    uint32_t *groups; /* Q_BATCH_ROWS */
    uint32_t *run_at; /* Q_BATCH_ROWS + 1: where the current batch's runs start */
    uint32_t *run_g;  /* Q_BATCH_ROWS: the group of each run */
    bool groups_set;  /* groups holds the current batch's group ids (else runs only) */
    qvec *slice;      /* MAX_AGG_ARGS: an aggregate's arguments over one run */
    uint8_t *bits;    /* MAX_AGG_ARGS bitmaps of Q_BATCH_ROWS: their validity */
    bool done_input;
    uint32_t pos;     /* next group to emit */
    qop_vecbuf *bufs; /* key columns' output scratch */
    qbatch out;
} agg_state;

static int ensure_states(qctx *c, agg_run *a, uint32_t ngroups)
{
    if (ngroups <= a->cap)
        return VG_OK;
    uint64_t ncap = a->cap ? (uint64_t)a->cap * 2 : (ngroups > 64 ? ngroups : 64);
    while (ncap < ngroups)
        ncap *= 2;
    char *p = qctx_alloc(c, ncap * a->size);
    if (!p)
        return qop_err(c);
    if (a->cap)
        memcpy(p, a->states, a->cap * a->size);
    a->agg->init(p + a->cap * a->size, (uint32_t)(ncap - a->cap));
    a->states = p;
    a->cap = (uint32_t)ncap;
    return VG_OK;
}

static int agg_open(qop *op, qctx *c)
{
    agg_state *s = op->state;
    uint32_t nk = s->ngroup ? s->ngroup : 1;
    s->keys = qctx_alloc(c, nk * sizeof *s->keys);
    s->kv = qctx_alloc(c, nk * sizeof *s->kv);
    s->groups = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->groups);
    s->run_at = qctx_alloc(c, (Q_BATCH_ROWS + 1) * sizeof *s->run_at);
    s->run_g = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->run_g);
    s->slice = qctx_alloc(c, MAX_AGG_ARGS * sizeof *s->slice);
    s->bits = qctx_alloc(c, MAX_AGG_ARGS * (Q_BATCH_ROWS / 8));
    s->bufs = qctx_alloc(c, nk * sizeof *s->bufs);
    uint32_t ncols = s->ngroup + s->naggs;
    s->out.cols = qctx_alloc(c, (ncols ? ncols : 1) * sizeof *s->out.cols);
    if (!s->keys || !s->kv || !s->groups || !s->run_at || !s->run_g || !s->slice || !s->bits ||
        !s->bufs || !s->out.cols)
        return qop_err(c);
    memset(s->bufs, 0, nk * sizeof *s->bufs);
    s->out.ncols = ncols;
    for (uint32_t j = 0; j < s->ngroup; j++) {
        int rc = keycol_init(c, &s->keys[j], s->group[j]->type);
        if (rc != VG_OK)
            return rc;
    }
    int rc = gtab_init(c, &s->gt, s->keys, s->ngroup);
    if (rc != VG_OK)
        return rc;
    for (uint32_t i = 0; i < s->naggs; i++) {
        agg_run *a = &s->aggs[i];
        uint32_t na = a->call->nargs;
        a->args = qctx_alloc(c, (na ? na : 1) * sizeof *a->args);
        qtype types[16];
        if (!a->args)
            return qop_err(c);
        for (uint32_t j = 0; j < na && j < 16; j++)
            types[j] = a->call->args[j]->type;
        a->size = a->agg->state_size(types, na);
        if (a->size == 0)
            a->size = 1;
    }
    if (s->ngroup == 0) { /* the one group exists even when no row arrives */
        s->gt.ngroups = 1;
        for (uint32_t i = 0; i < s->naggs; i++) {
            rc = ensure_states(c, &s->aggs[i], 1);
            if (rc != VG_OK)
                return rc;
        }
    }
    return op->input->vt->open(op->input, c);
}

/* No GROUP BY and only count(*): every row counts for the one group, so neither group
 * ids nor a per-row loop are needed (count's update takes NULL groups). */
static bool only_count_star(const agg_state *s)
{
    if (s->ngroup != 0)
        return false;
    for (uint32_t i = 0; i < s->naggs; i++)
        if (strcmp(s->aggs[i].call->agg->name, "count") != 0 || s->aggs[i].call->nargs != 0 ||
            s->aggs[i].call->distinct)
            return false;
    return true;
}

static void slice_vec(const qvec *v, uint32_t off, uint32_t n, qvec *sel, qvec *out);

/* The end of the run of equal values that starts at v[r]: sixteen at a time while
 * they all match (a run of one tag is thousands of rows long). */
static uint32_t run_end(const uint32_t *v, uint32_t r, uint32_t n)
{
    uint32_t cur = v[r];
#if defined(__SSE2__)
    __m128i c = _mm_set1_epi32((int)cur);
    for (; r + 16 <= n; r += 16) {
        const __m128i *p = (const __m128i *)(const void *)(v + r);
        __m128i a = _mm_and_si128(_mm_cmpeq_epi32(_mm_loadu_si128(p), c),
                                  _mm_cmpeq_epi32(_mm_loadu_si128(p + 1), c));
        __m128i b = _mm_and_si128(_mm_cmpeq_epi32(_mm_loadu_si128(p + 2), c),
                                  _mm_cmpeq_epi32(_mm_loadu_si128(p + 3), c));
        if (_mm_movemask_epi8(_mm_and_si128(a, b)) != 0xffff)
            break;
    }
#endif
    while (r < n && v[r] == cur)
        r++;
    return r;
}

/* The starts of the runs of equal values in v[0..n), then n; how many runs, or 0 when
 * they are shorter than RUN_MIN_AVG on average (found out early). */
static uint32_t find_runs(const uint32_t *v, uint32_t n, uint32_t *at)
{
    uint32_t k = 0, most = n / RUN_MIN_AVG;
    for (uint32_t r = 0; r < n; r = run_end(v, r, n)) {
        if (k > most)
            return 0;
        at[k++] = r;
    }
    at[k] = n;
    return k;
}

/* GROUP BY one tag without NULLs, in runs: the runs of the dictionary ids, and one
 * group lookup per run. 0 when the runs are too short (nothing is set then). */
static int dict1_runs(qctx *c, gtab *g, const qvec *v, uint32_t n, uint32_t *at, uint32_t *rg,
                      uint32_t *nruns)
{
    *nruns = 0;
    uint32_t k = find_runs(v->ids, n, at);
    if (k == 0)
        return VG_OK;
    dict_map *m = NULL;
    int rc = keycol_map(c, &g->keys[0], v, &m);
    for (uint32_t i = 0; i < k && rc == VG_OK; i++) {
        uint32_t id = v->ids[at[i]];
        rg[i] = m->group[id];
        if (rg[i] == UINT32_MAX)
            rc = dict_group(c, g, m, v, id, &rg[i]);
    }
    if (rc == VG_OK)
        *nruns = k;
    return rc;
}

/* Group ids of the batch's rows from its runs. */
static void groups_from_runs(agg_state *s, uint32_t nruns)
{
    for (uint32_t k = 0; k < nruns; k++)
        for (uint32_t r = s->run_at[k]; r < s->run_at[k + 1]; r++)
            s->groups[r] = s->run_g[k];
    s->groups_set = true;
}

/* Bits [off, off + n) of src as bits [0, n) of dst. */
static void shift_bits(const uint8_t *src, uint32_t off, uint32_t n, uint8_t *dst)
{
    memset(dst, 0, (n + 7) / 8);
    for (uint32_t i = 0; i < n; i++)
        dst[i >> 3] |= (uint8_t)(((src[(off + i) >> 3] >> ((off + i) & 7)) & 1) << (i & 7));
}

/* a's arguments, rows [off, off + n), into s->slice. */
static void slice_args(agg_state *s, const agg_run *a, uint32_t off, uint32_t n)
{
    for (uint32_t j = 0; j < a->call->nargs; j++) {
        const qvec *v = &a->args[j];
        slice_vec(v, off, n, NULL, &s->slice[j]);
        if (v->valid && (off & 7)) { /* slice_vec cuts bitmaps at whole bytes only */
            uint8_t *b = s->bits + (size_t)j * (Q_BATCH_ROWS / 8);
            shift_bits(v->valid, off, n, b);
            s->slice[j].valid = b;
        }
    }
}

/* Whether a's arguments of this batch can be cut into runs. */
static bool runs_apply(const agg_run *a)
{
    if (!a->agg->by_run || a->call->nargs > MAX_AGG_ARGS)
        return false;
    for (uint32_t j = 0; j < a->call->nargs; j++)
        if (a->args[j].type == QT_SELECTOR)
            return false;
    return true;
}

/* One update per run of one group: that group's state alone, no group ids. */
static int update_by_runs(qctx *c, agg_state *s, agg_run *a, uint32_t nruns)
{
    for (uint32_t k = 0; k < nruns; k++) {
        uint32_t r0 = s->run_at[k], n = s->run_at[k + 1] - r0;
        slice_args(s, a, r0, n);
        char *st = a->states + (size_t)s->run_g[k] * a->size;
        int rc = a->agg->update(c, st, NULL, s->slice, a->call->nargs, n);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static int agg_consume(qctx *c, agg_state *s, const qbatch *in)
{
    uint32_t n = in->nrows;
    int rc = VG_OK;
    if (only_count_star(s)) {
        for (uint32_t i = 0; i < s->naggs && rc == VG_OK; i++) {
            agg_run *a = &s->aggs[i];
            rc = ensure_states(c, a, s->gt.ngroups);
            if (rc == VG_OK)
                rc = a->agg->update(c, a->states, NULL, a->args, 0, n);
        }
        return rc;
    }
    for (uint32_t j = 0; j < s->ngroup && rc == VG_OK; j++)
        rc = qexpr_eval(c, s->group[j], in, &s->kv[j]);
    /* group ids per row, or only per run (one tag without NULLs: from its ids) */
    uint32_t nruns = 0;
    s->groups_set = false;
    bool dict1 = s->ngroup == 1 && s->kv[0].type == QT_STRING && s->kv[0].ids;
    if (rc == VG_OK && dict1 && !s->kv[0].valid)
        rc = dict1_runs(c, &s->gt, &s->kv[0], n, s->run_at, s->run_g, &nruns);
    if (rc == VG_OK && nruns == 0) {
        if (dict1) {
            rc = assign_dict1(c, &s->gt, &s->kv[0], n, s->groups);
        } else {
            for (uint32_t j = 0; j < s->ngroup && rc == VG_OK; j++)
                rc = keycol_encode(c, &s->keys[j], &s->kv[j], n);
            if (rc == VG_OK)
                rc = gtab_assign(c, &s->gt, n, s->groups);
        }
        s->groups_set = true;
        nruns = rc == VG_OK ? find_runs(s->groups, n, s->run_at) : 0;
        for (uint32_t k = 0; k < nruns; k++)
            s->run_g[k] = s->groups[s->run_at[k]];
    }
    if (rc != VG_OK)
        return rc;
    for (uint32_t i = 0; i < s->naggs; i++) {
        agg_run *a = &s->aggs[i];
        for (uint32_t j = 0; j < a->call->nargs; j++) {
            rc = qexpr_eval(c, a->call->args[j], in, &a->args[j]);
            if (rc != VG_OK)
                return rc;
        }
        rc = ensure_states(c, a, s->gt.ngroups);
        if (rc == VG_OK && nruns && runs_apply(a))
            rc = update_by_runs(c, s, a, nruns);
        else if (rc == VG_OK) {
            if (!s->groups_set)
                groups_from_runs(s, nruns);
            rc = a->agg->update(c, a->states, s->groups, a->args, a->call->nargs, n);
        }
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static int agg_finish(qctx *c, agg_state *s)
{
    for (uint32_t i = 0; i < s->naggs; i++) {
        agg_run *a = &s->aggs[i];
        int rc = ensure_states(c, a, s->gt.ngroups);
        if (rc == VG_OK)
            rc = qvec_alloc(c, &a->result, a->call->ret, s->gt.ngroups);
        if (rc == VG_OK && s->gt.ngroups)
            rc = a->agg->finalize(c, a->states, s->gt.ngroups, &a->result);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static int agg_drain(qop *op, qctx *c, agg_state *s)
{
    for (;;) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        qbatch *in;
        rc = op->input->vt->next(op->input, c, &in);
        if (rc != VG_OK)
            return rc;
        if (!in)
            break;
        if (in->nrows) {
            rc = agg_consume(c, s, in);
            if (rc != VG_OK)
                return rc;
        }
    }
    s->done_input = true;
    return agg_finish(c, s);
}

/* out = rows [off, off + n) of a whole-result vector (off is a multiple of
 * Q_BATCH_ROWS, so bitmaps slice on byte boundaries). sel: room for sub-vectors. */
static void slice_vec(const qvec *v, uint32_t off, uint32_t n, qvec *sel, qvec *out)
{
    *out = *v;
    out->n = n;
    if (v->valid)
        out->valid = v->valid + off / 8;
    if (v->ids)
        out->ids = v->ids + off;
    switch (v->type) {
    case QT_NULL: break;
    case QT_BOOL: out->v.b = v->v.b ? v->v.b + off : NULL; break;
    case QT_STRING: out->v.s = v->v.s ? v->v.s + off : NULL; break;
    case QT_SELECTOR:
        for (int k = 0; k < 2; k++)
            slice_vec(&v->sel[k], off, n, NULL, &sel[k]);
        out->sel = sel;
        break;
    default: out->v.u64 = v->v.u64 ? v->v.u64 + off : NULL; break;
    }
}

static int agg_next(qop *op, qctx *c, qbatch **out)
{
    agg_state *s = op->state;
    *out = NULL;
    if (!s->done_input) {
        int rc = agg_drain(op, c, s);
        if (rc != VG_OK)
            return rc;
    }
    int rc = qctx_check_deadline(c);
    if (rc != VG_OK || s->pos >= s->gt.ngroups)
        return rc;
    uint32_t n = s->gt.ngroups - s->pos;
    if (n > Q_BATCH_ROWS)
        n = Q_BATCH_ROWS;
    for (uint32_t j = 0; j < s->ngroup; j++) {
        rc = gtab_key_vec(c, &s->gt, j, s->pos, n, &s->bufs[j], &s->out.cols[j]);
        if (rc != VG_OK)
            return rc;
    }
    for (uint32_t i = 0; i < s->naggs; i++)
        slice_vec(&s->aggs[i].result, s->pos, n, s->aggs[i].sel, &s->out.cols[s->ngroup + i]);
    s->pos += n;
    s->out.nrows = n;
    *out = &s->out;
    return VG_OK;
}

static void agg_close(qop *op, qctx *c)
{
    agg_state *s = op->state;
    for (uint32_t i = 0; i < s->naggs; i++) {
        agg_run *a = &s->aggs[i];
        if (a->states && a->agg->destroy)
            a->agg->destroy(a->states, a->cap);
        a->states = NULL;
        a->cap = 0;
    }
    op->input->vt->close(op->input, c);
}

static const qop_vt agg_vt = {"Aggregate", agg_open, agg_next, agg_close};

/* The aggregate to run for a call: DISTINCT calls need the distinct form, whose
 * states keep the per-group sets. */
static const qagg *call_agg(qctx *c, const qagg_call *call)
{
    if (!call->distinct || call->agg != qagg_find(call->agg->name))
        return call->agg; /* plain, or already the distinct form */
    const qagg *d = qagg_find_distinct(call->agg->name);
    if (!d)
        vg_err_set(c->err, VG_EINVAL, "%s(DISTINCT ...) is not supported", call->agg->name);
    return d;
}

qop *qop_aggregate(qctx *c, qop *input, qexpr **group, uint32_t ngroup, qagg_call *aggs,
                   uint32_t naggs, const qschema *schema)
{
    qop *op = qctx_alloc(c, sizeof *op);
    agg_state *s = qctx_alloc(c, sizeof *s);
    agg_run *runs = qctx_alloc(c, (naggs ? naggs : 1) * sizeof *runs);
    if (!op || !s || !runs)
        return NULL;
    memset(s, 0, sizeof *s);
    memset(runs, 0, (naggs ? naggs : 1) * sizeof *runs);
    for (uint32_t i = 0; i < naggs; i++) {
        runs[i].call = &aggs[i];
        runs[i].agg = call_agg(c, &aggs[i]);
        if (!runs[i].agg)
            return NULL;
        if (aggs[i].nargs > 16) {
            vg_err_set(c->err, VG_EINVAL, "%s: too many arguments", aggs[i].agg->name);
            return NULL;
        }
    }
    s->group = group;
    s->ngroup = ngroup;
    s->aggs = runs;
    s->naggs = naggs;
    *op = (qop){.vt = &agg_vt, .schema = *schema, .input = input, .state = s};
    return op;
}

/* ---- distinct ---- */

typedef struct distinct_state {
    keycol *keys;
    gtab gt;
    uint32_t *groups;
    uint32_t *sel;
    qop_vecbuf *bufs;
    qbatch out;
} distinct_state;

static int distinct_open(qop *op, qctx *c)
{
    distinct_state *s = op->state;
    uint32_t n = op->schema.n, nn = n ? n : 1;
    s->keys = qctx_alloc(c, nn * sizeof *s->keys);
    s->groups = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->groups);
    s->sel = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->sel);
    s->bufs = qctx_alloc(c, nn * sizeof *s->bufs);
    s->out.cols = qctx_alloc(c, nn * sizeof *s->out.cols);
    if (!s->keys || !s->groups || !s->sel || !s->bufs || !s->out.cols)
        return qop_err(c);
    memset(s->bufs, 0, nn * sizeof *s->bufs);
    for (uint32_t j = 0; j < n; j++) {
        int rc = keycol_init(c, &s->keys[j], op->schema.f[j].type);
        if (rc != VG_OK)
            return rc;
    }
    int rc = gtab_init(c, &s->gt, s->keys, n);
    if (rc != VG_OK)
        return rc;
    if (n == 0)
        s->gt.ngroups = 0; /* no columns: one distinct (empty) row at most */
    return op->input->vt->open(op->input, c);
}

static int distinct_next(qop *op, qctx *c, qbatch **out)
{
    distinct_state *s = op->state;
    *out = NULL;
    for (;;) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        qbatch *in;
        rc = op->input->vt->next(op->input, c, &in);
        if (rc != VG_OK || !in)
            return rc;
        uint32_t n = in->nrows;
        for (uint32_t j = 0; j < in->ncols && rc == VG_OK; j++) {
            s->keys[j].type = in->cols[j].type;
            rc = keycol_encode(c, &s->keys[j], &in->cols[j], n);
        }
        uint32_t before = s->gt.ngroups;
        if (rc == VG_OK && in->ncols == 0) { /* rows without columns: all equal */
            s->gt.ngroups = n ? 1 : before;
            for (uint32_t r = 0; r < n; r++)
                s->groups[r] = 0;
        } else if (rc == VG_OK) {
            rc = gtab_assign(c, &s->gt, n, s->groups);
        }
        if (rc != VG_OK)
            return rc;
        /* Groups are numbered in order of appearance: a row is new when its group is
         * the next number not seen yet. */
        uint32_t k = 0, next_new = before;
        for (uint32_t r = 0; r < n; r++) {
            if (s->groups[r] == next_new) {
                s->sel[k++] = r;
                next_new++;
            }
        }
        if (k == 0)
            continue;
        if (k == n) {
            *out = in;
            return VG_OK;
        }
        for (uint32_t j = 0; j < in->ncols; j++) {
            rc = qop_gather(c, &s->bufs[j], &in->cols[j], s->sel, k, &s->out.cols[j]);
            if (rc != VG_OK)
                return rc;
        }
        s->out.nrows = k;
        s->out.ncols = in->ncols;
        *out = &s->out;
        return VG_OK;
    }
}

static void distinct_close(qop *op, qctx *c)
{
    op->input->vt->close(op->input, c);
}

static const qop_vt distinct_vt = {"Distinct", distinct_open, distinct_next, distinct_close};

qop *qop_distinct(qctx *c, qop *input)
{
    qop *op = qctx_alloc(c, sizeof *op);
    distinct_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    memset(s, 0, sizeof *s);
    *op = (qop){.vt = &distinct_vt, .schema = input->schema, .input = input, .state = s};
    return op;
}
