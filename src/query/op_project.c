/* query/op_project.c: the Projection operator: one output column per expression,
 * evaluated over each input batch.
 *
 *   qop_project(ctx, input, exprs, schema)   schema->n expressions
 *   open   opens the input
 *   next   evaluates every expression over the next non-empty input batch; a bare
 *          column reference passes the input vector through without a copy
 *   close  closes the input
 */
#include "op_int.h"

typedef struct project_state {
    qexpr **exprs;
    qbatch out;
} project_state;

static int project_open(qop *op, qctx *c)
{
    project_state *s = op->state;
    uint32_t n = op->schema.n;
    s->out.cols = qctx_alloc(c, (n ? n : 1) * sizeof *s->out.cols);
    if (!s->out.cols)
        return qop_err(c);
    s->out.ncols = n;
    return op->input->vt->open(op->input, c);
}

static int project_next(qop *op, qctx *c, qbatch **out)
{
    project_state *s = op->state;
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
        for (uint32_t i = 0; i < s->out.ncols; i++) {
            rc = qexpr_eval(c, s->exprs[i], in, &s->out.cols[i]);
            if (rc != VG_OK)
                return rc;
        }
        s->out.nrows = in->nrows;
        *out = &s->out;
        return VG_OK;
    }
}

static void project_close(qop *op, qctx *c)
{
    op->input->vt->close(op->input, c);
}

static const qop_vt project_vt = {"Projection", project_open, project_next, project_close};

qop *qop_project_passthrough(qop *op, uint32_t col, uint32_t *src)
{
    if (op->vt != &project_vt || col >= op->schema.n)
        return NULL;
    const qexpr *x = ((project_state *)op->state)->exprs[col];
    if (x->kind != QX_COLUMN)
        return NULL;
    *src = x->col;
    return op->input;
}

qop *qop_project(qctx *c, qop *input, qexpr **exprs, const qschema *schema)
{
    qop *op = qctx_alloc(c, sizeof *op);
    project_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    *s = (project_state){.exprs = exprs};
    *op = (qop){.vt = &project_vt, .schema = *schema, .input = input, .state = s};
    return op;
}
