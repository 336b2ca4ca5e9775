/* query/format_rows.c: QUERY_FORMAT_ROWS, the typed binary encoding of a result for
 * in-process readers (layout in query.h). The processing engine reads it to build
 * Python values without the round trip through text that would lose types: JSON
 * cannot tell a timestamp from a string, nor 1.0 from 1. */
#include "format_int.h"

#include <string.h>

_Static_assert((int)QUERY_ROWS_BOOL == (int)QT_BOOL && (int)QUERY_ROWS_STRING == (int)QT_STRING &&
                   (int)QUERY_ROWS_SELECTOR == (int)QT_SELECTOR,
               "query_rows_type mirrors qtype");

static void put_u8(vg_buf *b, uint8_t v)
{
    vg_buf_append(b, &v, 1);
}

static void put_u32(vg_buf *b, uint32_t v)
{
    vg_buf_append(b, &v, 4);
}

static void put_8(vg_buf *b, const void *p)
{
    vg_buf_append(b, p, 8);
}

static int done(vg_buf *b, vg_err *e)
{
    if (b->oom)
        return vg_err_set(e, VG_ENOMEM, "out of memory encoding the query result");
    return VG_OK;
}

int qfmt_rows_begin(qfmt *f, vg_buf *out, vg_err *e)
{
    const qschema *s = f->schema;
    put_u32(out, s->n);
    for (uint32_t c = 0; c < s->n; c++) {
        size_t n = strlen(s->f[c].name);
        put_u8(out, (uint8_t)s->f[c].type);
        put_u32(out, (uint32_t)n);
        vg_buf_append(out, s->f[c].name, n);
    }
    return done(out, e);
}

/* One cell of vector v at row r (the type is the vector's). */
static void put_cell(vg_buf *b, const qvec *v, uint32_t r)
{
    if (v->type == QT_NULL || !qvec_is_valid(v, r)) {
        put_u8(b, 0);
        return;
    }
    put_u8(b, 1);
    switch (v->type) {
    case QT_BOOL: put_u8(b, v->v.b[r] ? 1 : 0); break;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: put_8(b, &v->v.i64[r]); break;
    case QT_UINT: put_8(b, &v->v.u64[r]); break;
    case QT_FLOAT: put_8(b, &v->v.f64[r]); break;
    case QT_STRING: {
        qstr s = qvec_str(v, r);
        put_u32(b, s.len);
        vg_buf_append(b, s.p, s.len);
        break;
    }
    case QT_SELECTOR:
        put_u8(b, (uint8_t)v->sel[0].type);
        put_cell(b, &v->sel[0], r);
        put_8(b, &v->sel[1].v.i64[r]);
        break;
    case QT_NULL: break;
    }
}

int qfmt_rows_binary(qfmt *f, const qbatch *b, uint32_t from, uint32_t to, vg_buf *out, vg_err *e)
{
    for (uint32_t r = from; r < to; r++)
        for (uint32_t c = 0; c < b->ncols; c++)
            put_cell(out, &b->cols[c], r);
    return done(out, e);
}
