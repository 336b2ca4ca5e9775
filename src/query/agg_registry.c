/*
 * query/agg_registry.c: the aggregate registry (qagg_find, qagg_find_distinct), the
 * DISTINCT wrapper that puts a per-group hash set in front of a plain aggregate, and the
 * small helpers the aggregates share.
 *
 * A DISTINCT state is the plain state followed by a pointer to the group's set. An update
 * passes each row whose (group, value) is new to the plain update, in one call per batch,
 * so count(DISTINCT x), sum(DISTINCT x), ... reuse the plain kernels unchanged.
 */
#include "func_int.h"

#include <math.h>
#include <stdlib.h>

static int ag_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* ---- shared helpers ---- */

int qa_charge(qctx *c, size_t bytes)
{
    return qctx_charge(c, bytes);
}

int qa_set_null(qctx *c, qvec *out, uint32_t g)
{
    if (!out->valid && qvec_add_validity(c, out))
        return ag_err(c);
    qvec_set_null(out, g);
    return VG_OK;
}

int qa_arena_str(qctx *c, const char *p, uint32_t len, qstr *out)
{
    char *d = len ? qctx_alloc(c, len) : NULL;
    if (len && !d)
        return ag_err(c);
    if (len)
        memcpy(d, p, len);
    *out = (qstr){d ? d : "", len};
    return VG_OK;
}

/* ---- per-group hash sets of values ---- */

typedef struct ag_set {
    uint64_t *hash; /* 0 = empty slot */
    uint64_t *key;  /* the value's bits; strings: offset of a [len][bytes] record */
    uint32_t cap;   /* power of two */
    uint32_t n;
    char *bytes;
    size_t blen;
    size_t bcap;
} ag_set;

/* splitmix64's finalizer: spreads keys that differ in few bits over the whole table. */
static uint64_t ag_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The value of row r as key bits; equal values (-0.0 and 0.0, any two NaNs) get equal
 * bits. Strings hash their bytes and keep their key as a record offset. */
static uint64_t ag_bits(const qvec *v, uint32_t r)
{
    switch (v->type) {
    case QT_BOOL: return v->v.b[r] != 0;
    case QT_FLOAT: {
        double f = v->v.f64[r];
        if (f == 0)
            f = 0;
        if (f != f)
            f = NAN;
        uint64_t u;
        memcpy(&u, &f, 8);
        return u;
    }
    default: return v->v.u64[r];
    }
}

static bool ag_str_eq(const ag_set *s, uint64_t off, qstr x)
{
    uint32_t len;
    memcpy(&len, s->bytes + off, 4);
    return len == x.len && (len == 0 || memcmp(s->bytes + off + 4, x.p, len) == 0);
}

static int ag_set_grow(qctx *c, ag_set *s)
{
    uint32_t cap = s->cap ? s->cap * 2 : 8;
    uint64_t *h = vg_calloc(cap, 8), *k = vg_malloc((size_t)cap * 8);
    if (!h || !k) {
        vg_free(h);
        vg_free(k);
        return vg_err_set(c->err, VG_ENOMEM, "out of memory in DISTINCT");
    }
    if (qa_charge(c, (size_t)(cap - s->cap) * 16)) {
        vg_free(h);
        vg_free(k);
        return ag_err(c);
    }
    for (uint32_t i = 0; i < s->cap; i++) {
        if (!s->hash[i])
            continue;
        uint32_t j = (uint32_t)s->hash[i] & (cap - 1);
        while (h[j])
            j = (j + 1) & (cap - 1);
        h[j] = s->hash[i];
        k[j] = s->key[i];
    }
    vg_free(s->hash);
    vg_free(s->key);
    s->hash = h;
    s->key = k;
    s->cap = cap;
    return VG_OK;
}

static int ag_set_bytes(qctx *c, ag_set *s, qstr x, uint64_t *off)
{
    size_t need = s->blen + 4 + x.len;
    if (need > s->bcap) {
        size_t cap = s->bcap ? s->bcap * 2 : 256;
        while (cap < need)
            cap *= 2;
        if (qa_charge(c, cap - s->bcap))
            return ag_err(c);
        char *p = vg_realloc(s->bytes, cap);
        if (!p)
            return vg_err_set(c->err, VG_ENOMEM, "out of memory in DISTINCT");
        s->bytes = p;
        s->bcap = cap;
    }
    *off = s->blen;
    memcpy(s->bytes + s->blen, &x.len, 4);
    if (x.len)
        memcpy(s->bytes + s->blen + 4, x.p, x.len);
    s->blen = need;
    return VG_OK;
}

/* Adds row r's value: *fresh tells whether it was new. */
static int ag_set_add(qctx *c, ag_set *s, const qvec *v, uint32_t r, bool *fresh)
{
    if ((s->n + 1) * 2 > s->cap) {
        int rc = ag_set_grow(c, s);
        if (rc)
            return rc;
    }
    bool str = v->type == QT_STRING;
    qstr x = str ? qvec_str(v, r) : (qstr){NULL, 0};
    uint64_t bits = str ? 0 : ag_bits(v, r);
    uint64_t h = str ? vg_hash(x.p ? x.p : "", x.len) : ag_mix(bits);
    h |= (h == 0);
    uint32_t j = (uint32_t)h & (s->cap - 1);
    for (; s->hash[j]; j = (j + 1) & (s->cap - 1)) {
        if (s->hash[j] != h)
            continue;
        if (str ? ag_str_eq(s, s->key[j], x) : s->key[j] == bits) {
            *fresh = false;
            return VG_OK;
        }
    }
    if (str) {
        int rc = ag_set_bytes(c, s, x, &bits);
        if (rc)
            return rc;
    }
    s->hash[j] = h;
    s->key[j] = bits;
    s->n++;
    *fresh = true;
    return VG_OK;
}

static void ag_set_free(ag_set *s)
{
    if (!s)
        return;
    vg_free(s->hash);
    vg_free(s->key);
    vg_free(s->bytes);
    vg_free(s);
}

/* ---- the DISTINCT wrapper ---- */

static size_t ag_set_off(const qa_def *in)
{
    return (in->size + 7) & ~(size_t)7;
}
/* 16-aligned so that states holding __int128 stay aligned in every group. */
static size_t ag_stride(const qa_def *in)
{
    return (ag_set_off(in) + 8 + 15) & ~(size_t)15;
}

/* Rows r of v into a plain vector t (no NULLs: only valid rows are picked). */
static void ag_gather(const qvec *v, const uint32_t *rows, uint32_t m, qvec *t, void *data)
{
    memset(t, 0, sizeof *t);
    t->type = v->type;
    t->n = m;
    t->v.i64 = data;
    for (uint32_t j = 0; j < m; j++) {
        switch (v->type) {
        case QT_BOOL: t->v.b[j] = v->v.b[rows[j]]; break;
        case QT_STRING: t->v.s[j] = qvec_str(v, rows[j]); break;
        default: t->v.i64[j] = v->v.i64[rows[j]]; break;
        }
    }
}

static int ag_distinct_update(const qa_def *in, qctx *c, char *st, const uint32_t *g, const qvec *a,
                              uint32_t na, uint32_t nr)
{
    if (na < 1 || nr == 0 || a[0].type == QT_NULL)
        return VG_OK;
    if (a[0].type == QT_SELECTOR)
        return vg_err_set(c->err, VG_EINVAL, "DISTINCT over a struct is not supported");
    size_t off = ag_set_off(in), stride = ag_stride(in);
    uint32_t *rows = vg_malloc((size_t)nr * 4), *gs = vg_malloc((size_t)nr * 4);
    void *data = vg_malloc((size_t)nr * sizeof(qstr));
    int rc = VG_OK;
    if (!rows || !gs || !data) {
        rc = vg_err_set(c->err, VG_ENOMEM, "out of memory in DISTINCT");
        goto free_tmp;
    }
    uint32_t m = 0;
    for (uint32_t r = 0; r < nr; r++) {
        if (!qvec_is_valid(&a[0], r))
            continue;
        uint32_t grp = qa_group(g, r);
        ag_set **sp = (ag_set **)(st + (size_t)grp * stride + off);
        if (!*sp) {
            if (qa_charge(c, sizeof(ag_set))) {
                rc = ag_err(c);
                goto free_tmp;
            }
            *sp = vg_calloc(1, sizeof(ag_set));
            if (!*sp) {
                rc = vg_err_set(c->err, VG_ENOMEM, "out of memory in DISTINCT");
                goto free_tmp;
            }
        }
        bool fresh;
        if ((rc = ag_set_add(c, *sp, &a[0], r, &fresh)))
            goto free_tmp;
        if (fresh) {
            rows[m] = r;
            gs[m++] = grp;
        }
    }
    if (m) {
        qvec t;
        ag_gather(&a[0], rows, m, &t, data);
        rc = in->update_s(c, st, stride, gs, &t, 1, m);
    }
free_tmp:
    vg_free(rows);
    vg_free(gs);
    vg_free(data);
    return rc;
}

static void ag_distinct_destroy(const qa_def *in, char *st, uint32_t ng)
{
    size_t off = ag_set_off(in), stride = ag_stride(in);
    for (uint32_t k = 0; k < ng; k++) {
        ag_set **sp = (ag_set **)(st + (size_t)k * stride + off);
        ag_set_free(*sp);
        *sp = NULL;
    }
    if (in->destroy_s)
        in->destroy_s(st, stride, ng);
}

/* The qagg of "DISTINCT <inner>", bound to one inner aggregate each. */
#define AG_DISTINCT(P, INNER, NAME)                                                                \
    static int P##_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)                    \
    {                                                                                              \
        return (INNER).a.resolve(t, n, d, ret, e);                                                 \
    }                                                                                              \
    static size_t P##_size(const qtype *t, uint32_t n)                                             \
    {                                                                                              \
        return ag_stride(&(INNER));                                                                \
    }                                                                                              \
    static void P##_init(void *st, uint32_t ng)                                                    \
    {                                                                                              \
        memset(st, 0, (size_t)ng *ag_stride(&(INNER)));                                            \
    }                                                                                              \
    static int P##_update(qctx *c, void *st, const uint32_t *g, const qvec *a, uint32_t na,        \
                          uint32_t nr)                                                             \
    {                                                                                              \
        return ag_distinct_update(&(INNER), c, st, g, a, na, nr);                                  \
    }                                                                                              \
    static int P##_finalize(qctx *c, void *st, uint32_t ng, qvec *out)                             \
    {                                                                                              \
        return (INNER).finalize_s(c, st, ag_stride(&(INNER)), ng, out);                            \
    }                                                                                              \
    static void P##_destroy(void *st, uint32_t ng)                                                 \
    {                                                                                              \
        ag_distinct_destroy(&(INNER), st, ng);                                                     \
    }                                                                                              \
    static const qagg P = {                                                                        \
        NAME,         1,           1,    P##_resolve, P##_size, P##_init, P##_update,              \
        P##_finalize, P##_destroy, false}; /* no gain from runs: each value goes through a set */

AG_DISTINCT(ag_d_count, qa_count_def, "count")
AG_DISTINCT(ag_d_sum, qa_sum_def, "sum")
AG_DISTINCT(ag_d_avg, qa_avg_def, "avg")
AG_DISTINCT(ag_d_median, qa_median_def, "median")
AG_DISTINCT(ag_d_stddev, qa_stddev_def, "stddev_samp")
AG_DISTINCT(ag_d_stddev_pop, qa_stddev_pop_def, "stddev_pop")
AG_DISTINCT(ag_d_var, qa_var_def, "var_samp")
AG_DISTINCT(ag_d_var_pop, qa_var_pop_def, "var_pop")

/* ---- the registry ---- */

typedef struct ag_entry {
    const char *name;
    const qa_def *def;
    const qagg *distinct; /* the DISTINCT form, or NULL */
} ag_entry;

static const ag_entry ag_table[] = {
    {"count", &qa_count_def, &ag_d_count},
    {"sum", &qa_sum_def, &ag_d_sum},
    {"avg", &qa_avg_def, &ag_d_avg},
    {"mean", &qa_avg_def, &ag_d_avg},
    /* DISTINCT does not change a minimum or a maximum */
    {"min", &qa_min_def, &qa_min_def.a},
    {"max", &qa_max_def, &qa_max_def.a},
    {"stddev", &qa_stddev_def, &ag_d_stddev},
    {"stddev_samp", &qa_stddev_def, &ag_d_stddev},
    {"stddev_pop", &qa_stddev_pop_def, &ag_d_stddev_pop},
    {"variance", &qa_var_def, &ag_d_var},
    {"var", &qa_var_def, &ag_d_var},
    {"var_samp", &qa_var_def, &ag_d_var},
    {"var_pop", &qa_var_pop_def, &ag_d_var_pop},
    {"median", &qa_median_def, &ag_d_median},
    {"approx_percentile_cont", &qa_percentile_def, NULL},
    {"selector_first", &qa_sel_first_def, NULL},
    {"selector_last", &qa_sel_last_def, NULL},
    {"selector_min", &qa_sel_min_def, NULL},
    {"selector_max", &qa_sel_max_def, NULL},
};

static const ag_entry *ag_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof ag_table / sizeof ag_table[0]; i++)
        if (strcmp(ag_table[i].name, name) == 0)
            return &ag_table[i];
    return NULL;
}

const qagg *qagg_find(const char *name)
{
    const ag_entry *e = ag_lookup(name);
    return e ? &e->def->a : NULL;
}

const qagg *qagg_find_distinct(const char *name)
{
    const ag_entry *e = ag_lookup(name);
    return e ? e->distinct : NULL;
}
