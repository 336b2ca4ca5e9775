/*
 * query/expr.c: vectorized evaluation of bound expressions (qexpr_eval and friends):
 * argument coercion, constants evaluated once and broadcast, the per-dictionary-entry
 * shortcut for tag predicates, CASE (branches run only on their rows), CAST, IN lists
 * with three-valued logic, and field access on selector structs.
 *
 * Function kernels live in func_*.c; this file decides what they are called with.
 */
#include "func_int.h"

#include <stdlib.h>
#include <string.h>

static int ex_eval(qctx *c, const qexpr *x, const qbatch *in, qvec *out);

static int ex_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* ---- node state ---- */

qf_node *qf_node_get(qctx *c, const qexpr *x)
{
    qf_node *nd = x->fn_state;
    if (nd && nd->owner == x)
        return nd;
    nd = qctx_alloc(c, sizeof *nd);
    if (!nd)
        return NULL;
    memset(nd, 0, sizeof *nd);
    nd->owner = x;
    /* Evaluation state is mutable by design: the tree is const to the operators. */
    ((qexpr *)x)->fn_state = nd;
    return nd;
}

qf_mem *qf_out_mem(qctx *c, const qexpr *x)
{
    qf_node *nd = qf_node_get(c, x);
    return nd ? &nd->mem : NULL;
}

bool qf_arg_const(const qexpr *call, uint32_t i)
{
    const qf_node *nd = call->fn_state;
    return nd && nd->owner == call && nd->args && i < call->nargs && nd->args[i].is_const;
}

bool qexpr_is_const(const qexpr *x)
{
    const qf_node *nd = x->fn_state;
    if (nd && nd->owner == x && nd->konst)
        return nd->konst > 0;
    switch (x->kind) {
    case QX_LITERAL: return true;
    case QX_COLUMN: return false;
    case QX_CALL:
        if (!x->fn || x->fn->volatile_)
            return false;
        break;
    default: break;
    }
    for (uint32_t i = 0; i < x->nargs; i++)
        if (!qexpr_is_const(x->args[i]))
            return false;
    return true;
}

/* ---- entry points ---- */

int qexpr_eval(qctx *c, const qexpr *x, const qbatch *in, qvec *out)
{
    if (x->kind == QX_COLUMN) {
        if (x->col >= in->ncols)
            return vg_err_set(c->err, VG_EINTERNAL,
                              "internal error: column %u of a batch of %u columns", x->col,
                              in->ncols);
        *out = in->cols[x->col];
        out->n = in->nrows;
        return VG_OK;
    }
    qf_node *nd = qf_node_get(c, x);
    if (!nd)
        return ex_err(c);
    if (!nd->konst)
        nd->konst = qexpr_is_const(x) ? 1 : -1;
    if (nd->konst < 0)
        return ex_eval(c, x, in, out);
    /* A constant is computed once per query and then only broadcast. */
    if (!nd->cval_ok) {
        int rc = qexpr_eval_const(c, x, &nd->cval);
        if (rc)
            return rc;
        nd->cval_ok = true;
    }
    int rc = qf_broadcast(c, &nd->cval, nd->cval.type, &nd->bvec, &nd->bcap, in->nrows);
    if (rc)
        return rc;
    *out = nd->bvec;
    return VG_OK;
}

int qexpr_eval_const(qctx *c, const qexpr *x, qvalue *out)
{
    if (x->kind == QX_LITERAL) {
        *out = x->lit;
        if (out->null && x->type != QT_NULL)
            out->type = x->type;
        return VG_OK;
    }
    if (x->kind == QX_COLUMN)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: a column is not a constant");
    qbatch one = {.nrows = 1, .ncols = 0, .cols = NULL};
    qvec v;
    int rc = ex_eval(c, x, &one, &v);
    if (rc)
        return rc;
    if (v.type == QT_SELECTOR)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: a constant struct");
    qf_vec_value(&v, 0, out);
    if (out->null && x->type != QT_NULL)
        out->type = x->type;
    return qf_value_own(c, out);
}

/* ---- arguments ---- */

/* Decides each argument's target type (the function's resolve may ask for casts the
 * binder did not insert) and evaluates constant arguments once. */
static int ex_prepare_args(qctx *c, const qexpr *x, qf_node *nd)
{
    uint32_t n = x->nargs;
    nd->args = qctx_alloc(c, (n ? n : 1) * sizeof(qf_arg));
    nd->argv = qctx_alloc(c, (n ? n : 1) * sizeof(qvec));
    qtype *want = qctx_alloc(c, (n ? n : 1) * sizeof(qtype));
    if (!nd->args || !nd->argv || !want)
        return ex_err(c);
    memset(nd->args, 0, (n ? n : 1) * sizeof(qf_arg));
    for (uint32_t i = 0; i < n; i++) {
        want[i] = x->args[i]->type;
        nd->args[i].is_const = qexpr_is_const(x->args[i]);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!nd->args[i].is_const)
            continue;
        int rc = qexpr_eval_const(c, x->args[i], &nd->args[i].cval);
        if (rc)
            return rc;
        if (want[i] == QT_NULL || nd->args[i].cval.null)
            want[i] = nd->args[i].cval.type;
    }
    if (x->kind == QX_CALL && x->fn) {
        qtype ret;
        int rc;
        if (x->fn->resolve_lit) {
            const qvalue **lits = qctx_alloc(c, (n ? n : 1) * sizeof(qvalue *));
            if (!lits)
                return ex_err(c);
            for (uint32_t i = 0; i < n; i++)
                lits[i] = nd->args[i].is_const ? &nd->args[i].cval : NULL;
            rc = x->fn->resolve_lit(want, lits, n, &ret, c->err);
        } else {
            rc = x->fn->resolve(want, n, &ret, c->err);
        }
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        qf_arg *a = &nd->args[i];
        a->want = want[i];
        if (!a->is_const)
            continue;
        if (a->cval.null) {
            a->cval.type = a->want;
        } else if (a->cval.type != a->want && a->want != QT_NULL) {
            qvalue v;
            int rc = qf_cast_value(c, &a->cval, a->want, &v);
            if (rc)
                return rc;
            a->cval = v;
        }
    }
    nd->prepared = true;
    return VG_OK;
}

static int ex_eval_args(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in)
{
    uint32_t n = in->nrows;
    for (uint32_t i = 0; i < x->nargs; i++) {
        qf_arg *a = &nd->args[i];
        qvec *v = &nd->argv[i];
        int rc;
        if (a->is_const) {
            rc = qf_broadcast(c, &a->cval, a->cval.type, &a->bvec, &a->bcap, n);
            *v = a->bvec;
        } else {
            rc = qexpr_eval(c, x->args[i], in, v);
            if (!rc && v->type != a->want && a->want != QT_NULL) {
                qf_mem_str_reset(&a->mem);
                rc = qf_cast(c, &a->mem, v, a->want, v);
            }
        }
        if (rc)
            return rc;
    }
    return VG_OK;
}

/* ---- once per dictionary entry ---- */

/* Computes r (m = dict_n + 1 rows: the entries, then a NULL) for the entry vector e. */
typedef int (*ex_entry_fn)(qctx *c, const qexpr *x, qf_node *nd, const qvec *e, uint32_t m,
                           qvec *r);

static int ex_dict_copy(qctx *c, qf_dict_cache *dc, const qvec *r, uint32_t m)
{
    qvec *d = &dc->res;
    qf_mem_str_reset(&dc->mem);
    int rc = qf_mem_vec(c, &dc->mem, d, r->type, m);
    if (rc)
        return rc;
    if (r->type == QT_STRING) {
        for (uint32_t i = 0; i < m; i++) {
            qstr s = qvec_is_valid(r, i) ? qvec_str(r, i) : (qstr){"", 0};
            char *p = s.len ? qf_mem_str(c, &dc->mem, s.len) : NULL;
            if (s.len && !p)
                return ex_err(c);
            if (s.len)
                memcpy(p, s.p, s.len);
            d->v.s[i] = (qstr){p ? p : "", s.len};
        }
    } else if (r->type != QT_NULL) {
        memcpy(d->v.i64, r->v.i64, (size_t)m * qf_type_width(r->type));
    }
    if (r->valid && r->type != QT_NULL) {
        uint8_t *b = qf_mem_get(c, &dc->mem, QF_SLOT_VALID, qf_bitmap_bytes(m));
        if (!b)
            return ex_err(c);
        memcpy(b, r->valid, qf_bitmap_bytes(m));
        d->valid = b;
    }
    return VG_OK;
}

/* Maps the per-entry results to the rows. entries_valid: no entry's result is NULL
 * (only, perhaps, the result for a NULL input). */
static int ex_dict_gather(qctx *c, qf_node *nd, const qvec *dv, const qvec *res, bool entries_valid,
                          uint32_t n, qvec *out)
{
    uint32_t dn = dv->dict_n;
    int rc = qf_mem_vec(c, &nd->mem, out, res->type, n);
    if (rc || res->type == QT_NULL)
        return rc;
    const uint32_t *ids = dv->ids;
    uint32_t *idx = NULL;
    if (dv->valid) {
        /* Null rows take the last result: the function applied to NULL. */
        idx = qf_mem_get(c, &nd->mem, QF_SLOT_TMP, (size_t)n * sizeof(uint32_t));
        if (!idx)
            return ex_err(c);
        for (uint32_t i = 0; i < n; i++)
            idx[i] = qf_bit(dv->valid, i) ? ids[i] : dn;
        ids = idx;
    }
    switch (res->type) {
    case QT_BOOL:
        for (uint32_t i = 0; i < n; i++)
            out->v.b[i] = res->v.b[ids[i]];
        break;
    case QT_STRING:
        for (uint32_t i = 0; i < n; i++)
            out->v.s[i] = res->v.s[ids[i]];
        break;
    default:
        for (uint32_t i = 0; i < n; i++)
            out->v.i64[i] = res->v.i64[ids[i]];
        break;
    }
    if (!res->valid || (entries_valid && qf_bit(res->valid, dn)))
        return VG_OK; /* nothing can be NULL */
    uint8_t *b = qf_mem_get(c, &nd->mem, QF_SLOT_VALID, qf_bitmap_bytes(n));
    if (!b)
        return ex_err(c);
    if (entries_valid) {
        /* NULL exactly where the input is (a strict function over a tag) */
        if (!dv->valid) {
            out->valid = NULL;
            return VG_OK;
        }
        memcpy(b, dv->valid, qf_bitmap_bytes(n));
    } else {
        memset(b, 0, qf_bitmap_bytes(n));
        for (uint32_t i = 0; i < n; i++)
            b[i >> 3] |= (uint8_t)(qf_bit(res->valid, ids[i]) << (i & 7));
    }
    out->valid = b;
    return VG_OK;
}

/* Whether evaluating per dictionary entry pays: always when the result is cached from an
 * earlier batch of the same dictionary, and when the dictionary is not much larger than
 * the batch (or will be reused: it has an id). */
static bool ex_dict_worth(const qf_node *nd, const qvec *dv, uint32_t n)
{
    const qf_dict_cache *dc = nd->dict;
    if (dc && dc->ok && dv->dict_id && dc->dict_id == dv->dict_id && dc->dict == dv->dict &&
        dc->dict_n == dv->dict_n)
        return true;
    return dv->dict_n <= n || (dv->dict_id && dv->dict_n <= 8 * Q_BATCH_ROWS);
}

static int ex_dict_eval(qctx *c, const qexpr *x, qf_node *nd, const qvec *dv, ex_entry_fn fn,
                        uint32_t n, qvec *out)
{
    if (!nd->dict) {
        nd->dict = qctx_alloc(c, sizeof *nd->dict);
        if (!nd->dict)
            return ex_err(c);
        memset(nd->dict, 0, sizeof *nd->dict);
    }
    qf_dict_cache *dc = nd->dict;
    bool hit = dc->ok && dv->dict_id && dc->dict_id == dv->dict_id && dc->dict == dv->dict &&
               dc->dict_n == dv->dict_n;
    if (!hit) {
        uint32_t dn = dv->dict_n, m = dn + 1;
        qvec e, r;
        int rc = qf_mem_vec(c, &dc->emem, &e, QT_STRING, m);
        if (rc)
            return rc;
        if (dn)
            memcpy(e.v.s, dv->dict, (size_t)dn * sizeof(qstr));
        e.v.s[dn] = (qstr){"", 0};
        if (!qf_mem_valid(c, &dc->emem, &e))
            return ex_err(c);
        qf_bit_clear(e.valid, dn);
        dc->ok = false;
        rc = fn(c, x, nd, &e, m, &r);
        if (!rc)
            rc = ex_dict_copy(c, dc, &r, m);
        if (rc)
            return rc;
        dc->entries_valid = true;
        for (uint32_t i = 0; dc->res.valid && i < dn; i++)
            dc->entries_valid = dc->entries_valid && qf_bit(dc->res.valid, i);
        dc->ok = dv->dict_id != 0;
        dc->dict_id = dv->dict_id;
        dc->dict = dv->dict;
        dc->dict_n = dn;
    }
    return ex_dict_gather(c, nd, dv, &dc->res, dc->entries_valid, n, out);
}

/* ---- calls ---- */

static int ex_all_null(qctx *c, qf_mem *m, qtype t, uint32_t n, qvec *out)
{
    int rc = qf_mem_vec(c, m, out, t, n);
    if (rc)
        return rc;
    if (!out->valid && !qf_mem_valid(c, m, out))
        return ex_err(c);
    memset(out->valid, 0, qf_bitmap_bytes(n ? n : 1));
    return VG_OK;
}

static int ex_call_entries(qctx *c, const qexpr *x, qf_node *nd, const qvec *e, uint32_t m, qvec *r)
{
    qvec *av = qf_mem_get(c, &nd->dict->emem, QF_SLOT_TMP, x->nargs * sizeof(qvec));
    if (!av)
        return ex_err(c);
    for (uint32_t i = 0; i < x->nargs; i++) {
        qf_arg *a = &nd->args[i];
        if (!a->is_const) {
            av[i] = *e;
            continue;
        }
        int rc = qf_broadcast(c, &a->cval, a->cval.type, &a->bvec, &a->bcap, m);
        if (rc)
            return rc;
        av[i] = a->bvec;
    }
    qf_mem_str_reset(&nd->mem);
    return x->fn->exec(c, x, av, x->nargs, m, r);
}

/* The single non-constant argument when it is dictionary-encoded, else -1. */
static int ex_dict_arg(const qexpr *x, const qf_node *nd)
{
    int k = -1;
    for (uint32_t i = 0; i < x->nargs; i++) {
        if (nd->args[i].is_const)
            continue;
        if (k >= 0 || !nd->argv[i].ids)
            return -1;
        k = (int)i;
    }
    return k;
}

static int ex_call(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in, qvec *out)
{
    if (!x->fn)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: a call without a function");
    if (!nd->prepared) {
        int rc = ex_prepare_args(c, x, nd);
        if (rc)
            return rc;
    }
    int rc = ex_eval_args(c, x, nd, in);
    if (rc)
        return rc;
    uint32_t n = in->nrows;
    unsigned flags = qf_def_of(x->fn)->flags;
    if (flags & QF_STRICT) {
        for (uint32_t i = 0; i < x->nargs; i++)
            if (nd->argv[i].type == QT_NULL)
                return ex_all_null(c, &nd->mem, x->type, n, out);
    }
    if ((flags & QF_DICT) && n > 0) {
        int k = ex_dict_arg(x, nd);
        if (k >= 0 && ex_dict_worth(nd, &nd->argv[k], n))
            return ex_dict_eval(c, x, nd, &nd->argv[k], ex_call_entries, n, out);
    }
    qf_mem_str_reset(&nd->mem);
    return x->fn->exec(c, x, nd->argv, x->nargs, n, out);
}

/* ---- CAST ---- */

static int ex_cast(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in, qvec *out)
{
    if (x->nargs != 1)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: CAST takes one argument");
    qvec v;
    int rc = qexpr_eval(c, x->args[0], in, &v);
    if (rc)
        return rc;
    qf_mem_str_reset(&nd->mem);
    return qf_cast(c, &nd->mem, &v, x->type, out);
}

/* ---- FIELD ---- */

static int ex_field(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in, qvec *out)
{
    qvec s;
    int rc = qexpr_eval(c, x->args[0], in, &s);
    if (rc)
        return rc;
    if (s.type != QT_SELECTOR || !s.sel || x->field < 0 || x->field > 1)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: field access on %s",
                          qtype_name(s.type));
    *out = s.sel[x->field];
    out->n = in->nrows;
    if (out->type == QT_NULL && x->type != QT_NULL) /* a selector over no rows at all */
        return ex_all_null(c, &nd->mem, x->type, in->nrows, out);
    if (s.valid) {
        /* A NULL struct has NULL fields. */
        qvec both[2] = {*out, s};
        qvec r = *out;
        rc = qf_mem_valid_and(c, &nd->mem, &r, both, 2);
        if (rc)
            return rc;
        out->valid = r.valid;
    }
    return VG_OK;
}

/* ---- CASE ---- */

typedef struct ex_case_state {
    uint32_t *cols; /* input columns the branches read */
    uint32_t ncols;
    qf_mem *colmem;
    qf_mem rows;
    qf_mem cast;
    qbatch sub;
} ex_case_state;

static void ex_collect_cols(const qexpr *x, uint32_t *cols, uint32_t *n, uint32_t cap)
{
    if (x->kind == QX_COLUMN) {
        for (uint32_t i = 0; i < *n; i++)
            if (cols[i] == x->col)
                return;
        if (*n < cap)
            cols[(*n)++] = x->col;
        return;
    }
    for (uint32_t i = 0; i < x->nargs; i++)
        ex_collect_cols(x->args[i], cols, n, cap);
}

static uint32_t ex_count_cols(const qexpr *x)
{
    if (x->kind == QX_COLUMN)
        return 1;
    uint32_t n = 0;
    for (uint32_t i = 0; i < x->nargs; i++)
        n += ex_count_cols(x->args[i]);
    return n;
}

static int ex_case_prepare(qctx *c, const qexpr *x, qf_node *nd)
{
    ex_case_state *st = qctx_alloc(c, sizeof *st);
    if (!st)
        return ex_err(c);
    memset(st, 0, sizeof *st);
    uint32_t cap = ex_count_cols(x);
    st->cols = qctx_alloc(c, (cap ? cap : 1) * sizeof(uint32_t));
    if (!st->cols)
        return ex_err(c);
    ex_collect_cols(x, st->cols, &st->ncols, cap);
    st->colmem = qctx_alloc(c, (st->ncols ? st->ncols : 1) * sizeof(qf_mem));
    if (!st->colmem)
        return ex_err(c);
    memset(st->colmem, 0, (st->ncols ? st->ncols : 1) * sizeof(qf_mem));
    nd->priv = st;
    nd->prepared = true;
    return VG_OK;
}

/* The input restricted to rows[0..m) (only the columns the CASE reads are gathered). */
static int ex_case_sub(qctx *c, ex_case_state *st, const qbatch *in, const uint32_t *rows,
                       uint32_t m, const qbatch **out)
{
    if (!rows) {
        *out = in;
        return VG_OK;
    }
    if (!st->sub.cols || st->sub.ncols < in->ncols) {
        st->sub.cols = qf_mem_get(c, &st->rows, 3, (in->ncols ? in->ncols : 1) * sizeof(qvec));
        if (!st->sub.cols)
            return ex_err(c);
    }
    if (in->ncols)
        memcpy(st->sub.cols, in->cols, in->ncols * sizeof(qvec));
    st->sub.ncols = in->ncols;
    st->sub.nrows = m;
    for (uint32_t k = 0; k < st->ncols; k++) {
        uint32_t col = st->cols[k];
        if (col >= in->ncols)
            continue; /* qexpr_eval reports it */
        int rc = qf_vec_gather(c, &st->colmem[k], &in->cols[col], rows, m, &st->sub.cols[col]);
        if (rc)
            return rc;
    }
    *out = &st->sub;
    return VG_OK;
}

/* Evaluates branch b on rows (NULL = all n) and stores the result at those rows. */
static int ex_case_branch(qctx *c, const qexpr *x, ex_case_state *st, const qexpr *b,
                          const qbatch *in, const uint32_t *rows, uint32_t m, qvec *out)
{
    const qbatch *sub;
    int rc = ex_case_sub(c, st, in, rows, m, &sub);
    if (rc)
        return rc;
    qvec t;
    rc = qexpr_eval(c, b, sub, &t);
    if (rc)
        return rc;
    if (t.type != out->type && t.type != QT_NULL) {
        qf_mem_str_reset(&st->cast);
        rc = qf_cast(c, &st->cast, &t, out->type, &t);
        if (rc)
            return rc;
    }
    if (rows) {
        qf_vec_scatter(&t, rows, m, out);
        return VG_OK;
    }
    uint32_t *all = qf_mem_get(c, &st->rows, 2, (size_t)(m ? m : 1) * sizeof(uint32_t));
    if (!all)
        return ex_err(c);
    for (uint32_t i = 0; i < m; i++)
        all[i] = i;
    qf_vec_scatter(&t, all, m, out);
    return VG_OK;
}

static int ex_case(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in, qvec *out)
{
    if (!nd->prepared) {
        int rc = ex_case_prepare(c, x, nd);
        if (rc)
            return rc;
    }
    ex_case_state *st = nd->priv;
    uint32_t n = in->nrows, nw = x->nargs / 2;
    int rc = qf_mem_vec(c, &nd->mem, out, x->type, n);
    if (rc || x->type == QT_NULL)
        return rc;
    if (!qf_mem_valid(c, &nd->mem, out))
        return ex_err(c);
    memset(out->valid, 0, qf_bitmap_bytes(n ? n : 1));
    /* rem: rows no WHEN has taken yet (NULL = all of them); hit / miss: the split. */
    uint32_t *rem = NULL, nrem = n;
    uint32_t *bufs[2];
    for (int k = 0; k < 2; k++) {
        bufs[k] = qf_mem_get(c, &st->rows, k, (size_t)(n ? n : 1) * sizeof(uint32_t));
        if (!bufs[k])
            return ex_err(c);
    }
    uint32_t *hit = qf_mem_get(c, &nd->mem, QF_SLOT_TMP, (size_t)(n ? n : 1) * sizeof(uint32_t));
    if (!hit)
        return ex_err(c);
    int cur = 0;
    for (uint32_t w = 0; w < nw && nrem > 0; w++) {
        const qbatch *sub;
        qvec cond;
        rc = ex_case_sub(c, st, in, rem, nrem, &sub);
        if (!rc)
            rc = qexpr_eval(c, x->args[2 * w], sub, &cond);
        if (rc)
            return rc;
        if (cond.type != QT_BOOL && cond.type != QT_NULL)
            return vg_err_set(c->err, VG_EINVAL, "CASE WHEN condition must be Boolean, not %s",
                              qtype_name(cond.type));
        uint32_t *miss = bufs[cur];
        uint32_t nhit = 0, nmiss = 0;
        for (uint32_t j = 0; j < nrem; j++) {
            uint32_t r = rem ? rem[j] : j;
            bool t = cond.type == QT_BOOL && qvec_is_valid(&cond, j) && cond.v.b[j];
            if (t)
                hit[nhit++] = r;
            else
                miss[nmiss++] = r;
        }
        if (nhit) {
            bool all = !rem && nhit == n;
            rc = ex_case_branch(c, x, st, x->args[2 * w + 1], in, all ? NULL : hit, nhit, out);
            if (rc)
                return rc;
        }
        rem = miss;
        nrem = nmiss;
        cur ^= 1;
    }
    if (nrem > 0 && (x->nargs & 1))
        return ex_case_branch(c, x, st, x->args[x->nargs - 1], in, rem, nrem, out);
    return VG_OK;
}

/* ---- IN (list) ---- */

typedef struct ex_in_state {
    qtype t;        /* the type values are compared in */
    bool all_const; /* every list item is a constant */
    bool has_null;  /* a constant NULL in the list */
    qvalue *vals;   /* sorted, non-null constants */
    uint32_t nvals;
    qf_mem xmem;  /* cast of the probe */
    qf_mem *imem; /* casts of non-constant items */
} ex_in_state;

static int ex_in_cmp(const void *a, const void *b)
{
    return qf_value_cmp((const qvalue *)a, (const qvalue *)b);
}

/* The type a probe of type a and an item of type b are compared in, per "=". */
static qtype ex_in_type(qtype a, qtype b)
{
    if (a == b || b == QT_NULL)
        return a;
    if (a == QT_NULL)
        return b;
    qtype t[2] = {a, b}, ret;
    const qfunc *eq = qfunc_find("=");
    if (!eq || eq->resolve(t, 2, &ret, NULL) != VG_OK)
        return a;
    return t[0] == t[1] ? t[0] : a; /* Int64 against UInt64: compare in the probe's type */
}

/* An integer constant out of the probe's range cannot equal any probe value. */
static bool ex_in_unreachable(qtype t, const qvalue *v)
{
    return (t == QT_INT && v->type == QT_UINT && v->v.u > (uint64_t)INT64_MAX) ||
           (t == QT_UINT && v->type == QT_INT && v->v.i < 0);
}

static int ex_in_prepare(qctx *c, const qexpr *x, qf_node *nd)
{
    ex_in_state *st = qctx_alloc(c, sizeof *st);
    if (!st)
        return ex_err(c);
    memset(st, 0, sizeof *st);
    uint32_t nitems = x->nargs - 1;
    st->t = x->args[0]->type;
    st->all_const = true;
    for (uint32_t i = 1; i < x->nargs; i++) {
        st->t = ex_in_type(st->t, x->args[i]->type);
        st->all_const = st->all_const && qexpr_is_const(x->args[i]);
    }
    st->imem = qctx_alloc(c, (nitems ? nitems : 1) * sizeof(qf_mem));
    st->vals = qctx_alloc(c, (nitems ? nitems : 1) * sizeof(qvalue));
    if (!st->imem || !st->vals)
        return ex_err(c);
    memset(st->imem, 0, (nitems ? nitems : 1) * sizeof(qf_mem));
    if (st->all_const) {
        for (uint32_t i = 1; i < x->nargs; i++) {
            qvalue v, cv;
            int rc = qexpr_eval_const(c, x->args[i], &v);
            if (rc)
                return rc;
            if (v.null) {
                st->has_null = true;
                continue;
            }
            if (ex_in_unreachable(st->t, &v))
                continue;
            if (v.type != st->t) {
                rc = qf_cast_value(c, &v, st->t, &cv);
                if (rc)
                    return rc;
                v = cv;
            }
            st->vals[st->nvals++] = v;
        }
        qsort(st->vals, st->nvals, sizeof(qvalue), ex_in_cmp);
    }
    nd->priv = st;
    nd->prepared = true;
    return VG_OK;
}

static bool ex_in_find(const ex_in_state *st, const qvalue *v)
{
    uint32_t lo = 0, hi = st->nvals;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = qf_value_cmp(&st->vals[mid], v);
        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool ex_in_find_i64(const ex_in_state *st, int64_t v)
{
    uint32_t lo = 0, hi = st->nvals;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t m = st->vals[mid].v.i;
        if (m == v)
            return true;
        if (m < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Three-valued result of one row: found -> TRUE; else NULL in the list -> NULL; else
 * FALSE (all flipped by NOT IN, NULL staying NULL). */
static void ex_in_set(qvec *out, uint32_t r, bool found, bool null_seen, bool negated)
{
    if (!found && null_seen) {
        qf_bit_clear(out->valid, r);
        out->v.b[r] = 0;
        return;
    }
    out->v.b[r] = (uint8_t)(found != negated);
}

/* Constant list against probe vector v (m rows). */
static int ex_in_const_kernel(qctx *c, const qexpr *x, qf_node *nd, const qvec *v, uint32_t m,
                              qvec *out)
{
    ex_in_state *st = nd->priv;
    int rc = qf_mem_vec(c, &nd->mem, out, QT_BOOL, m);
    if (rc)
        return rc;
    qvec probe[1] = {*v};
    rc = qf_mem_valid_and(c, &nd->mem, out, probe, 1);
    if (rc)
        return rc;
    if (!out->valid && !qf_mem_valid(c, &nd->mem, out))
        return ex_err(c);
    bool ints = st->t == QT_INT || st->t == QT_TIMESTAMP || st->t == QT_INTERVAL;
    for (uint32_t r = 0; r < m; r++) {
        if (!qvec_is_valid(v, r)) {
            out->v.b[r] = 0;
            continue;
        }
        bool found;
        if (ints) {
            found = ex_in_find_i64(st, v->v.i64[r]);
        } else {
            qvalue pv;
            qf_vec_value(v, r, &pv);
            found = ex_in_find(st, &pv);
        }
        ex_in_set(out, r, found, st->has_null, x->negated);
    }
    return VG_OK;
}

static int ex_in_entries(qctx *c, const qexpr *x, qf_node *nd, const qvec *e, uint32_t m, qvec *r)
{
    qf_mem_str_reset(&nd->mem);
    return ex_in_const_kernel(c, x, nd, e, m, r);
}

static int ex_in_general(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in, const qvec *v,
                         qvec *out)
{
    ex_in_state *st = nd->priv;
    uint32_t n = in->nrows;
    int rc = qf_mem_vec(c, &nd->mem, out, QT_BOOL, n);
    if (rc)
        return rc;
    uint8_t *found = qf_mem_get(c, &nd->mem, QF_SLOT_TMP, n ? n : 1);
    uint8_t *nulls = qf_mem_get(c, &nd->mem, QF_SLOT_TMP + 1, n ? n : 1);
    if (!found || !nulls || !qf_mem_valid(c, &nd->mem, out))
        return ex_err(c);
    memset(found, 0, n ? n : 1);
    memset(nulls, 0, n ? n : 1);
    for (uint32_t i = 1; i < x->nargs; i++) {
        qvec it;
        rc = qexpr_eval(c, x->args[i], in, &it);
        if (!rc && it.type != st->t && it.type != QT_NULL) {
            qf_mem_str_reset(&st->imem[i - 1]);
            rc = qf_cast(c, &st->imem[i - 1], &it, st->t, &it);
        }
        if (rc)
            return rc;
        for (uint32_t r = 0; r < n; r++) {
            if (found[r] || !qvec_is_valid(v, r))
                continue;
            if (it.type == QT_NULL || !qvec_is_valid(&it, r)) {
                nulls[r] = 1;
                continue;
            }
            qvalue a, b;
            qf_vec_value(v, r, &a);
            qf_vec_value(&it, r, &b);
            found[r] = qf_value_cmp(&a, &b) == 0;
        }
    }
    for (uint32_t r = 0; r < n; r++) {
        if (!qvec_is_valid(v, r)) {
            qf_bit_clear(out->valid, r);
            out->v.b[r] = 0;
            continue;
        }
        ex_in_set(out, r, found[r], nulls[r], x->negated);
    }
    return VG_OK;
}

static int ex_in(qctx *c, const qexpr *x, qf_node *nd, const qbatch *in, qvec *out)
{
    if (x->nargs < 1)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: IN without a probe");
    if (!nd->prepared) {
        int rc = ex_in_prepare(c, x, nd);
        if (rc)
            return rc;
    }
    ex_in_state *st = nd->priv;
    qvec v;
    int rc = qexpr_eval(c, x->args[0], in, &v);
    if (rc)
        return rc;
    if (v.type == QT_NULL)
        return ex_all_null(c, &nd->mem, QT_BOOL, in->nrows, out);
    if (v.type != st->t) {
        qf_mem_str_reset(&st->xmem);
        rc = qf_cast(c, &st->xmem, &v, st->t, &v);
        if (rc)
            return rc;
    }
    if (!st->all_const)
        return ex_in_general(c, x, nd, in, &v, out);
    if (v.ids && in->nrows > 0 && ex_dict_worth(nd, &v, in->nrows))
        return ex_dict_eval(c, x, nd, &v, ex_in_entries, in->nrows, out);
    return ex_in_const_kernel(c, x, nd, &v, in->nrows, out);
}

/* ---- dispatch ---- */

static int ex_eval(qctx *c, const qexpr *x, const qbatch *in, qvec *out)
{
    qf_node *nd = qf_node_get(c, x);
    if (!nd)
        return ex_err(c);
    switch (x->kind) {
    case QX_LITERAL: {
        qvalue v = x->lit;
        if (v.null && x->type != QT_NULL)
            v.type = x->type;
        int rc = qf_broadcast(c, &v, v.type, &nd->bvec, &nd->bcap, in->nrows);
        *out = nd->bvec;
        return rc;
    }
    case QX_COLUMN: return qexpr_eval(c, x, in, out);
    case QX_CALL: return ex_call(c, x, nd, in, out);
    case QX_CASE: return ex_case(c, x, nd, in, out);
    case QX_CAST: return ex_cast(c, x, nd, in, out);
    case QX_IN_LIST: return ex_in(c, x, nd, in, out);
    case QX_FIELD: return ex_field(c, x, nd, in, out);
    }
    return vg_err_set(c->err, VG_EINTERNAL, "internal error: expression kind %d", (int)x->kind);
}
