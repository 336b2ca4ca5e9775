/*
 * query/agg_selector.c: InfluxDB's selector_first / selector_last / selector_min /
 * selector_max(value, time), which return a struct {value, time}: the row with the
 * earliest or latest time, or with the smallest or largest value.
 *
 * Ties: first keeps the earliest row seen among equal times and last the latest row
 * seen; min and max take the earliest time among equal values. Rows whose value or time
 * is NULL are skipped (as InfluxQL's FIRST/LAST do).
 */
#include "func_int.h"

#include <stdio.h>

static int sl_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

enum { SL_FIRST, SL_LAST, SL_MIN, SL_MAX };

typedef struct sl_state {
    union {
        int64_t i;
        uint64_t u;
        double f;
    } v;
    char *s; /* strings: an owned copy */
    uint32_t slen;
    uint32_t scap;
    int64_t time;
    uint8_t seen;
    uint8_t type; /* the value's qtype, for finalize */
} sl_state;

static int sl_resolve(const char *name, qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n == 2 && (t[1] == QT_NULL || t[1] == QT_STRING))
        t[1] = QT_TIMESTAMP;
    if (n != 2 || t[0] == QT_SELECTOR || t[0] == QT_NULL || t[1] != QT_TIMESTAMP) {
        char cand[128];
        snprintf(cand, sizeof cand, "%s(<any scalar>, Timestamp(Nanosecond, None))", name);
        return qf_nomatch(e, name, t, n, cand);
    }
    *ret = QT_SELECTOR;
    return VG_OK;
}

/* Compares row r's value with the kept one: <0, 0, >0. */
static int sl_cmp(const qvec *v, uint32_t r, const sl_state *s)
{
    switch (v->type) {
    case QT_UINT: return v->v.u64[r] < s->v.u ? -1 : v->v.u64[r] > s->v.u;
    case QT_FLOAT: return qf_cmp_f64(v->v.f64[r], s->v.f);
    case QT_BOOL: return (int)(v->v.b[r] != 0) - (int)s->v.i;
    case QT_STRING: return qf_cmp_str(qvec_str(v, r), (qstr){s->s, s->slen});
    default: return v->v.i64[r] < s->v.i ? -1 : v->v.i64[r] > s->v.i;
    }
}

static int sl_keep(qctx *c, sl_state *s, const qvec *v, uint32_t r, int64_t t)
{
    s->time = t;
    s->seen = 1;
    s->type = (uint8_t)v->type;
    switch (v->type) {
    case QT_UINT: s->v.u = v->v.u64[r]; return VG_OK;
    case QT_FLOAT: s->v.f = v->v.f64[r]; return VG_OK;
    case QT_BOOL: s->v.i = v->v.b[r] != 0; return VG_OK;
    case QT_STRING: break;
    default: s->v.i = v->v.i64[r]; return VG_OK;
    }
    qstr x = qvec_str(v, r);
    if (x.len > s->scap) {
        uint32_t cap = x.len < 16 ? 16 : x.len;
        if (qa_charge(c, cap - s->scap))
            return sl_err(c);
        char *p = vg_realloc(s->s, cap);
        if (!p)
            return vg_err_set(c->err, VG_ENOMEM, "out of memory keeping a selector value");
        s->s = p;
        s->scap = cap;
    }
    if (x.len)
        memcpy(s->s, x.p, x.len);
    s->slen = x.len;
    return VG_OK;
}

/* first/last over a run of one group (no group ids): the row the row-by-row updates
 * would keep last is found first, and only it is kept. last: the latest row among the
 * greatest times, taken when that time is not below the kept one's; first: the earliest
 * row among the least times, taken when that time is below the kept one's. */
static int sl_run(qctx *c, sl_state *s, const qvec *v, const qvec *tv, uint32_t nr, int kind)
{
    const int64_t *t = tv->v.i64;
    uint32_t best = UINT32_MAX;
    int64_t bt = 0;
    for (uint32_t r = 0; r < nr; r++) {
        if (!qvec_is_valid(v, r) || !qvec_is_valid(tv, r))
            continue;
        if (best == UINT32_MAX || (kind == SL_LAST ? t[r] >= bt : t[r] < bt)) {
            best = r;
            bt = t[r];
        }
    }
    if (best == UINT32_MAX || (s->seen && (kind == SL_LAST ? bt < s->time : bt >= s->time)))
        return VG_OK;
    return sl_keep(c, s, v, best, bt);
}

static int sl_update(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,
                     uint32_t na, uint32_t nr, int kind)
{
    const qvec *v = &a[0], *tv = &a[1];
    if (na != 2 || tv->type != QT_TIMESTAMP)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: selector arguments");
    if (v->type == QT_NULL || v->type == QT_SELECTOR)
        return VG_OK;
    if (!g && (kind == SL_FIRST || kind == SL_LAST))
        return sl_run(c, (sl_state *)st, v, tv, nr, kind);
    for (uint32_t r = 0; r < nr; r++) {
        if (!qvec_is_valid(v, r) || !qvec_is_valid(tv, r))
            continue;
        sl_state *s = (sl_state *)(st + (size_t)qa_group(g, r) * stride);
        int64_t t = tv->v.i64[r];
        bool take;
        if (!s->seen) {
            take = true;
        } else if (kind == SL_FIRST) {
            take = t < s->time;
        } else if (kind == SL_LAST) {
            take = t >= s->time;
        } else {
            int cmp = sl_cmp(v, r, s);
            take = (kind == SL_MIN ? cmp < 0 : cmp > 0) || (cmp == 0 && t < s->time);
        }
        if (take) {
            int rc = sl_keep(c, s, v, r, t);
            if (rc)
                return rc;
        }
    }
    return VG_OK;
}

/* out->sel[0] may come typed from the caller; otherwise the first state that saw a row
 * tells the type (an aggregate over no rows leaves it untyped: every value NULL). */
static int sl_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)
{
    if (out->type != QT_SELECTOR || !out->sel)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: selector output");
    qvec *val = &out->sel[0], *tim = &out->sel[1];
    qtype vt = val->type;
    for (uint32_t k = 0; vt == QT_NULL && k < ng; k++) {
        const sl_state *s = (const sl_state *)(st + (size_t)k * stride);
        if (s->seen)
            vt = (qtype)s->type;
    }
    /* Allocated by the caller only when it knew the type. */
    if (val->type != vt || (vt != QT_NULL && !val->v.i64) || (vt == QT_NULL && !val->valid)) {
        if (qvec_alloc(c, val, vt, ng))
            return sl_err(c);
    }
    val->n = tim->n = ng;
    for (uint32_t k = 0; k < ng; k++) {
        const sl_state *s = (const sl_state *)(st + (size_t)k * stride);
        tim->v.i64[k] = s->time;
        if (!s->seen) {
            if (qa_set_null(c, tim, k) || (vt != QT_NULL && qa_set_null(c, val, k)))
                return sl_err(c);
            if (vt == QT_STRING)
                val->v.s[k] = (qstr){"", 0};
            else if (vt == QT_BOOL)
                val->v.b[k] = 0;
            else if (vt != QT_NULL)
                val->v.i64[k] = 0;
            continue;
        }
        switch (vt) {
        case QT_BOOL: val->v.b[k] = (uint8_t)s->v.i; break;
        case QT_STRING:
            if (qa_arena_str(c, s->s, s->slen, &val->v.s[k]))
                return sl_err(c);
            break;
        default: val->v.i64[k] = s->v.i; break;
        }
    }
    return VG_OK;
}

static void sl_destroy_s(char *st, size_t stride, uint32_t ng)
{
    for (uint32_t k = 0; k < ng; k++) {
        sl_state *s = (sl_state *)(st + (size_t)k * stride);
        vg_free(s->s);
        s->s = NULL;
        s->scap = s->slen = 0;
    }
}

static void sl_destroy(void *st, uint32_t ng)
{
    sl_destroy_s(st, sizeof(sl_state), ng);
}

#define SL_KIND(P, KIND, NAME)                                                                     \
    static int P##_resolve(qtype *t, uint32_t n, bool d, qtype *ret, vg_err *e)                    \
    {                                                                                              \
        return sl_resolve(NAME, t, n, ret, e);                                                     \
    }                                                                                              \
    static int P##_update_s(qctx *c, char *st, size_t stride, const uint32_t *g, const qvec *a,    \
                            uint32_t na, uint32_t nr)                                              \
    {                                                                                              \
        return sl_update(c, st, stride, g, a, na, nr, KIND);                                       \
    }                                                                                              \
    static int P##_finalize_s(qctx *c, char *st, size_t stride, uint32_t ng, qvec *out)            \
    {                                                                                              \
        return sl_finalize_s(c, st, stride, ng, out);                                              \
    }                                                                                              \
    QA_PLAIN(P, sizeof(sl_state))                                                                  \
    const qa_def P##_def = {                                                                       \
        {NAME, 2, 2, P##_resolve, P##_size, P##_init, P##_update, P##_finalize, sl_destroy, true}, \
        sizeof(sl_state),                                                                          \
        P##_update_s,                                                                              \
        P##_finalize_s,                                                                            \
        sl_destroy_s};

SL_KIND(qa_sel_first, SL_FIRST, "selector_first")
SL_KIND(qa_sel_last, SL_LAST, "selector_last")
SL_KIND(qa_sel_min, SL_MIN, "selector_min")
SL_KIND(qa_sel_max, SL_MAX, "selector_max")
