/* query/op_filter.c: the Filter operator: keeps the rows of its input for which a
 * predicate is true (NULL counts as false).
 *
 *   qop_filter(ctx, input, pred)   output schema = input schema
 *   open   opens the input
 *   next   pulls input batches until one has a surviving row; a batch whose rows
 *          all pass goes out untouched, otherwise the survivors are gathered into
 *          scratch vectors reused from batch to batch (tags keep their dictionary)
 *   close  closes the input
 */
#include "op_int.h"

#include <string.h>

typedef struct filter_state {
    qexpr *pred;
    uint32_t *sel;    /* Q_BATCH_ROWS */
    qop_vecbuf *bufs; /* one per column */
    qbatch out;
} filter_state;

static int filter_open(qop *op, qctx *c)
{
    filter_state *s = op->state;
    uint32_t nc = op->schema.n;
    s->sel = qctx_alloc(c, Q_BATCH_ROWS * sizeof *s->sel);
    s->bufs = qctx_alloc(c, (nc ? nc : 1) * sizeof *s->bufs);
    s->out.cols = qctx_alloc(c, (nc ? nc : 1) * sizeof *s->out.cols);
    if (!s->sel || !s->bufs || !s->out.cols)
        return qop_err(c);
    memset(s->bufs, 0, (nc ? nc : 1) * sizeof *s->bufs);
    return op->input->vt->open(op->input, c);
}

static int filter_next(qop *op, qctx *c, qbatch **out)
{
    filter_state *s = op->state;
    *out = NULL;
    for (;;) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        qbatch *in;
        rc = op->input->vt->next(op->input, c, &in);
        if (rc != VG_OK || !in)
            return rc;
        if (in->nrows == 0)
            continue;
        qvec pred;
        rc = qexpr_eval(c, s->pred, in, &pred);
        if (rc != VG_OK)
            return rc;
        uint32_t k = qop_select(&pred, in->nrows, s->sel);
        if (k == 0)
            continue;
        if (k == in->nrows) {
            *out = in;
            return VG_OK;
        }
        for (uint32_t i = 0; i < in->ncols; i++) {
            rc = qop_gather(c, &s->bufs[i], &in->cols[i], s->sel, k, &s->out.cols[i]);
            if (rc != VG_OK)
                return rc;
        }
        s->out.nrows = k;
        s->out.ncols = in->ncols;
        *out = &s->out;
        return VG_OK;
    }
}

static void filter_close(qop *op, qctx *c)
{
    op->input->vt->close(op->input, c);
}

static const qop_vt filter_vt = {"Filter", filter_open, filter_next, filter_close};

qop *qop_filter_passthrough(qop *op)
{
    return op->vt == &filter_vt ? op->input : NULL;
}

qop *qop_filter(qctx *c, qop *input, qexpr *pred)
{
    qop *op = qctx_alloc(c, sizeof *op);
    filter_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    *s = (filter_state){.pred = pred};
    *op = (qop){.vt = &filter_vt, .schema = input->schema, .input = input, .state = s};
    return op;
}
