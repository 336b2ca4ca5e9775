/*
 * query/ctx.c: the per-query context (memory budget, deadline, arena allocation),
 * vector allocation and the Arrow spelling of value types.
 */
#include "exec_int.h"

#include <string.h>

int qctx_charge(qctx *c, size_t bytes)
{
    /* A budget of 0 means "no budget" (unit tests, internal queries). */
    if (c->mem_budget && (bytes > c->mem_budget || c->mem_used > c->mem_budget - bytes))
        return vg_err_set(c->err, VG_ENOMEM,
                          "query exceeded its memory budget of %zu bytes (--exec-mem-pool-bytes)",
                          c->mem_budget);
    c->mem_used += bytes;
    return VG_OK;
}

int qctx_check_deadline(qctx *c)
{
    if (!c->deadline || vg_mono_ns() < c->deadline)
        return VG_OK;
    if (c->timeout_ns <= 0)
        return vg_err_set(c->err, VG_ELIMIT, "query timed out (--query-timeout)");
    char d[64];
    vg_format_duration(c->timeout_ns, d);
    return vg_err_set(c->err, VG_ELIMIT, "query timed out after %s (--query-timeout)", d);
}

void *qctx_alloc(qctx *c, size_t bytes)
{
    if (qctx_charge(c, bytes) != VG_OK)
        return NULL;
    void *p = vg_arena_alloc(c->arena, bytes ? bytes : 1);
    if (!p)
        vg_err_set(c->err, VG_ENOMEM, "out of memory allocating %zu bytes for a query", bytes);
    return p;
}

static size_t ctx_width(qtype t)
{
    switch (t) {
    case QT_BOOL: return 1;
    case QT_STRING: return sizeof(qstr);
    case QT_SELECTOR: return 0;
    case QT_NULL: return sizeof(qstr); /* readable as any type */
    default: return 8;
    }
}

int qvec_alloc(qctx *c, qvec *v, qtype t, uint32_t n)
{
    memset(v, 0, sizeof *v);
    v->type = t;
    v->n = n;
    if (t == QT_SELECTOR) {
        /* The value type is known only to whoever fills the vector: sel[0] is left
         * untyped (QT_NULL, no data) for it; sel[1] holds the times. */
        v->sel = qctx_alloc(c, 2 * sizeof(qvec));
        if (!v->sel)
            return c->err ? c->err->code : VG_ENOMEM;
        memset(v->sel, 0, 2 * sizeof(qvec));
        v->sel[0].n = n;
        return qvec_alloc(c, &v->sel[1], QT_TIMESTAMP, n);
    }
    if (n == 0)
        return VG_OK;
    void *p = qctx_alloc(c, (size_t)n * ctx_width(t));
    if (!p)
        return c->err ? c->err->code : VG_ENOMEM;
    if (t == QT_NULL) {
        memset(p, 0, (size_t)n * ctx_width(t));
        v->v.s = p;
        v->valid = qctx_alloc(c, ((size_t)n + 7) / 8);
        if (!v->valid)
            return c->err ? c->err->code : VG_ENOMEM;
        memset(v->valid, 0, ((size_t)n + 7) / 8);
        return VG_OK;
    }
    v->v.i64 = p; /* every member of the union is a pointer: any one carries it */
    return VG_OK;
}

int qvec_add_validity(qctx *c, qvec *v)
{
    size_t bytes = ((size_t)v->n + 7) / 8;
    uint8_t *b = qctx_alloc(c, bytes);
    if (!b)
        return c->err ? c->err->code : VG_ENOMEM;
    memset(b, 0xff, bytes);
    v->valid = b;
    return VG_OK;
}

const char *qtype_name(qtype t)
{
    switch (t) {
    case QT_NULL: return "Null";
    case QT_BOOL: return "Boolean";
    case QT_INT: return "Int64";
    case QT_UINT: return "UInt64";
    case QT_FLOAT: return "Float64";
    case QT_STRING: return "Utf8";
    case QT_TIMESTAMP: return "Timestamp(Nanosecond, None)";
    case QT_INTERVAL: return "Interval(MonthDayNano)";
    case QT_SELECTOR: return "Struct(value, time)";
    }
    return "Unknown";
}
