/* query/op_limit.c: the Limit operator: skips `offset` rows, then passes at most
 * `limit` rows and stops pulling its input as soon as it has them.
 *
 *   qop_limit(ctx, input, limit, offset)   limit UINT64_MAX = no limit
 *   open   opens the input
 *   next   whole batches pass through untouched; the one batch cut by the offset or
 *          the limit is gathered into scratch
 *   close  closes the input
 */
#include "op_int.h"

#include <string.h>

typedef struct limit_state {
    uint64_t limit;  /* rows still to emit */
    uint64_t offset; /* rows still to skip */
    uint32_t *sel;
    qop_vecbuf *bufs;
    qbatch out;
} limit_state;

static int limit_open(qop *op, qctx *c)
{
    limit_state *s = op->state;
    uint32_t nc = op->schema.n ? op->schema.n : 1;
    s->sel = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->sel);
    s->bufs = qctx_alloc(c, nc * sizeof *s->bufs);
    s->out.cols = qctx_alloc(c, nc * sizeof *s->out.cols);
    if (!s->sel || !s->bufs || !s->out.cols)
        return qop_err(c);
    memset(s->bufs, 0, nc * sizeof *s->bufs);
    return op->input->vt->open(op->input, c);
}

static int limit_next(qop *op, qctx *c, qbatch **out)
{
    limit_state *s = op->state;
    *out = NULL;
    while (s->limit > 0) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        qbatch *in;
        rc = op->input->vt->next(op->input, c, &in);
        if (rc != VG_OK || !in)
            return rc;
        if (s->offset >= in->nrows) {
            s->offset -= in->nrows;
            continue;
        }
        uint32_t start = (uint32_t)s->offset;
        uint32_t take = in->nrows - start;
        if (take > s->limit)
            take = (uint32_t)s->limit;
        s->offset = 0;
        s->limit -= take;
        if (start == 0 && take == in->nrows) {
            *out = in;
            return VG_OK;
        }
        for (uint32_t i = 0; i < take; i++)
            s->sel[i] = start + i;
        for (uint32_t i = 0; i < in->ncols; i++) {
            rc = qop_gather(c, &s->bufs[i], &in->cols[i], s->sel, take, &s->out.cols[i]);
            if (rc != VG_OK)
                return rc;
        }
        s->out.nrows = take;
        s->out.ncols = in->ncols;
        *out = &s->out;
        return VG_OK;
    }
    return VG_OK;
}

static void limit_close(qop *op, qctx *c)
{
    op->input->vt->close(op->input, c);
}

static const qop_vt limit_vt = {"Limit", limit_open, limit_next, limit_close};

qop *qop_limit(qctx *c, qop *input, uint64_t limit, uint64_t offset)
{
    qop *op = qctx_alloc(c, sizeof *op);
    limit_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    *s = (limit_state){.limit = limit, .offset = offset};
    *op = (qop){.vt = &limit_vt, .schema = input->schema, .input = input, .state = s};
    return op;
}
