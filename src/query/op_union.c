/* query/op_union.c: the Union operator (UNION ALL): the batches of each input in
 * turn. The planner casts the inputs to one schema, so batches pass untouched.
 *
 *   qop_union_all(ctx, inputs, n, schema)
 *   open   opens every input (so close can close every input)
 *   next   the next batch of the current input; moves on when it ends
 *   close  closes every input that was opened
 */
#include "op_int.h"

typedef struct union_state {
    qop **inputs;
    uint32_t n;
    uint32_t opened; /* inputs opened so far: close closes exactly these */
    uint32_t cur;
} union_state;

static int union_open(qop *op, qctx *c)
{
    union_state *s = op->state;
    s->cur = 0;
    for (; s->opened < s->n; s->opened++) {
        int rc = s->inputs[s->opened]->vt->open(s->inputs[s->opened], c);
        if (rc != VG_OK) {
            s->opened++; /* a failed open may hold resources its close releases */
            return rc;
        }
    }
    return VG_OK;
}

static int union_next(qop *op, qctx *c, qbatch **out)
{
    union_state *s = op->state;
    *out = NULL;
    while (s->cur < s->n) {
        int rc = qctx_check_deadline(c);
        if (rc != VG_OK)
            return rc;
        qop *in = s->inputs[s->cur];
        rc = in->vt->next(in, c, out);
        if (rc != VG_OK)
            return rc;
        if (*out && (*out)->nrows > 0)
            return VG_OK;
        if (!*out)
            s->cur++;
    }
    *out = NULL;
    return VG_OK;
}

static void union_close(qop *op, qctx *c)
{
    union_state *s = op->state;
    for (uint32_t i = 0; i < s->opened; i++)
        s->inputs[i]->vt->close(s->inputs[i], c);
    s->opened = 0;
}

static const qop_vt union_vt = {"Union", union_open, union_next, union_close};

qop *qop_union_all(qctx *c, qop **inputs, uint32_t n, const qschema *schema)
{
    qop *op = qctx_alloc(c, sizeof *op);
    union_state *s = qctx_alloc(c, sizeof *s);
    if (!op || !s)
        return NULL;
    *s = (union_state){.inputs = inputs, .n = n};
    *op = (qop){.vt = &union_vt, .schema = *schema, .input = n ? inputs[0] : NULL, .state = s};
    return op;
}
