/* query/op_values.c: the Values operator: rows given up front (system tables,
 * information_schema, SHOW, SELECT without FROM), handed out batch by batch.
 *
 *   qop_values(ctx, schema, batches, n)   schema and batches are kept by reference
 *   open   rewinds to the first batch
 *   next   the next non-empty batch as given, or NULL after the last
 *   close  nothing to release (everything lives in the query arena)
 */
#include "op_int.h"

typedef struct values_state {
    qbatch *batches;
    uint32_t nbatches;
    uint32_t pos;
} values_state;

static int values_open(qop *op, qctx *c)
{
    values_state *s = op->state;
    s->pos = 0;
    return VG_OK;
}

static int values_next(qop *op, qctx *c, qbatch **out)
{
    values_state *s = op->state;
    *out = NULL;
    int rc = qctx_check_deadline(c);
    if (rc != VG_OK)
        return rc;
    while (s->pos < s->nbatches) {
        qbatch *b = &s->batches[s->pos++];
        if (b->nrows > 0) {
            *out = b;
            break;
        }
    }
    return VG_OK;
}

static void values_close(qop *op, qctx *c) {}

static const qop_vt values_vt = {"Values", values_open, values_next, values_close};

qop *qop_values(qctx *c, const qschema *schema, qbatch *batches, uint32_t nbatches)
{
    qop *op = qctx_alloc(c, sizeof *op);
    values_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    *s = (values_state){.batches = batches, .nbatches = nbatches};
    *op = (qop){.vt = &values_vt, .schema = *schema, .state = s};
    return op;
}
