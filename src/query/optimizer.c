/*
 * query/optimizer.c: rewrites of the logical plan before it becomes operators.
 *
 *   1. Constant folding: constant subexpressions (`now() - INTERVAL '10m'`, casts of
 *      literals) are evaluated once, here, so the pushdown sees plain literals.
 *   2. Filter pushdown: filters merge, move below aliases, below projections of plain
 *      columns and into union branches, and end in the scan. There, comparisons of
 *      `time` with constants become the scan's time bounds, and tag equality, IN lists
 *      and ORs of them become its tag_eq sets: what lets the scan skip whole chunks.
 *      Everything else stays as the scan's residual filter.
 *   3. Projection pruning: every node asks its input only for the columns it uses, so
 *      a scan reads nothing else (`SELECT count(*)` reads `time` alone).
 *   4. Top-K: a LIMIT right above a sort makes the sort keep only limit + offset rows.
 */
#include "plan_int.h"

#include <string.h>

static int oom(qctx *c)
{
    if (!c->err->code)
        vg_err_set(c->err, VG_ENOMEM, "out of memory while optimizing the query");
    return c->err->code;
}

static bool is_fn(const qexpr *x, const char *name)
{
    return x->kind == QX_CALL && x->fn && strcmp(x->fn->name, name) == 0;
}

static bool is_bool_lit(const qexpr *x, bool v)
{
    return x->kind == QX_LITERAL && x->lit.type == QT_BOOL && !x->lit.null && x->lit.v.b == v;
}

/* ---- 1. constant folding ---- */

/* x AND TRUE = x, x AND FALSE = FALSE, x OR TRUE = TRUE, x OR FALSE = x (three-valued
 * logic agrees: NULL AND FALSE is FALSE, NULL OR TRUE is TRUE). */
static void simplify_logic(qexpr **xp)
{
    qexpr *x = *xp;
    bool is_and = is_fn(x, QP_FN_AND);
    if ((!is_and && !is_fn(x, QP_FN_OR)) || x->nargs != 2)
        return;
    for (int i = 0; i < 2; i++) {
        if (is_bool_lit(x->args[i], is_and)) { /* the neutral element */
            *xp = x->args[1 - i];
            return;
        }
        if (is_bool_lit(x->args[i], !is_and)) { /* the absorbing element */
            *xp = x->args[i];
            return;
        }
    }
}

static int fold_expr(qctx *c, qexpr **xp)
{
    qexpr *x = *xp;
    bool all_lit = true;
    for (uint32_t i = 0; i < x->nargs; i++) {
        int rc = fold_expr(c, &x->args[i]);
        if (rc)
            return rc;
        all_lit &= x->args[i]->kind == QX_LITERAL;
    }
    if (x->kind == QX_LITERAL || x->kind == QX_COLUMN || x->kind == QX_FIELD ||
        x->type == QT_SELECTOR || (x->kind == QX_CALL && x->fn->volatile_))
        return VG_OK;
    if (!all_lit) {
        simplify_logic(xp);
        return VG_OK;
    }
    /* A constant that fails (1/0) is left for execution, as DataFusion does: the
     * query only fails if a row ever evaluates it. */
    vg_err saved = *c->err;
    qvalue v;
    int rc = qexpr_eval_const(c, x, &v);
    if (rc == VG_ENOMEM)
        return rc;
    if (rc) {
        *c->err = saved;
        return VG_OK;
    }
    v.type = x->type;
    qexpr *lit = qp_lit(c, &v);
    if (!lit)
        return oom(c);
    *xp = lit;
    return VG_OK;
}

static int fold_node(qctx *c, qp_node *n)
{
    int rc = VG_OK;
    if (n->pred)
        rc = fold_expr(c, &n->pred);
    if (n->scan.filter && !rc)
        rc = fold_expr(c, &n->scan.filter);
    if (n->kind == QP_PROJECT)
        for (uint32_t i = 0; i < n->schema.n && !rc; i++)
            rc = fold_expr(c, &n->exprs[i]);
    for (uint32_t i = 0; i < n->ngroup && !rc; i++)
        rc = fold_expr(c, &n->group[i]);
    for (uint32_t i = 0; i < n->naggs && !rc; i++)
        for (uint32_t k = 0; k < n->aggs[i].nargs && !rc; k++)
            rc = fold_expr(c, &n->aggs[i].args[k]);
    for (uint32_t i = 0; i < n->nkeys && !rc; i++)
        rc = fold_expr(c, &n->keys[i].expr);
    for (uint32_t i = 0; i < n->nin && !rc; i++)
        rc = fold_node(c, n->in[i]);
    return rc;
}

/* A filter that folded to TRUE filters nothing. */
static void drop_true_filters(qp_node **slot)
{
    qp_node *n = *slot;
    if (n->kind == QP_FILTER && is_bool_lit(n->pred, true)) {
        *slot = n->in[0];
        drop_true_filters(slot);
        return;
    }
    for (uint32_t i = 0; i < n->nin; i++)
        drop_true_filters(&n->in[i]);
}

/* ---- conjunct lists ---- */

typedef struct xlist {
    qexpr **v;
    uint32_t n;
    uint32_t cap;
} xlist;

static int xl_push(qctx *c, xlist *l, qexpr *x)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 8;
        qexpr **v = qp_alloc(c, cap * sizeof *v);
        if (!v)
            return oom(c);
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return VG_OK;
}

static int split_and(qctx *c, qexpr *x, xlist *out)
{
    if (is_fn(x, QP_FN_AND) && x->nargs == 2) {
        int rc = split_and(c, x->args[0], out);
        return rc ? rc : split_and(c, x->args[1], out);
    }
    return xl_push(c, out, x);
}

/* The conjunction of a list (NULL for an empty one). */
static int and_all(qctx *c, const xlist *l, qexpr **out)
{
    *out = l->n ? l->v[0] : NULL;
    const qfunc *and_fn = qfunc_find(QP_FN_AND);
    if (l->n > 1 && !and_fn)
        return vg_err_set(c->err, VG_EINTERNAL, "the AND operator is not registered");
    for (uint32_t i = 1; i < l->n; i++) {
        qexpr **args = qp_alloc(c, 2 * sizeof *args);
        if (!args)
            return oom(c);
        args[0] = *out;
        args[1] = l->v[i];
        if (!(*out = qp_call(c, and_fn, QT_BOOL, args, 2)))
            return oom(c);
    }
    return VG_OK;
}

static int and2(qctx *c, qexpr *a, qexpr *b, qexpr **out)
{
    xlist l = {0};
    int rc;
    if ((rc = split_and(c, a, &l)) || (rc = split_and(c, b, &l)))
        return rc;
    return and_all(c, &l, out);
}

/* ---- 2. pushdown into the scan ---- */

static void narrow_time(qscan_spec *s, int64_t lo, int64_t hi)
{
    if (lo > s->time_min)
        s->time_min = lo;
    if (hi < s->time_max)
        s->time_max = hi;
}

/* `time op constant` (either side): narrows the scan's inclusive time bounds. */
static bool time_bound(qp_node *scan, const qexpr *x)
{
    static const char *const ops[] = {">", ">=", "<", "<=", "="};
    static const char *const flipped[] = {"<", "<=", ">", ">=", "="};
    if (x->kind != QX_CALL || x->nargs != 2)
        return false;
    int op = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(x->fn->name, ops[i]) == 0)
            op = i;
    const qexpr *col = x->args[0], *lit = x->args[1];
    if (op < 0)
        return false;
    if (col->kind == QX_LITERAL) {
        const qexpr *t = col;
        col = lit;
        lit = t;
        for (int i = 0; i < 5; i++)
            if (strcmp(flipped[op], ops[i]) == 0) {
                op = i;
                break;
            }
    }
    if (col->kind != QX_COLUMN || scan->scan.cols[col->col] != 0 || lit->kind != QX_LITERAL ||
        lit->lit.type != QT_TIMESTAMP || lit->lit.null)
        return false;
    int64_t t = lit->lit.v.i;
    qscan_spec *s = &scan->scan;
    switch (op) {
    case 0: /* time > t */
        if (t == INT64_MAX)
            narrow_time(s, INT64_MAX, INT64_MIN); /* nothing can match */
        else
            narrow_time(s, t + 1, INT64_MAX);
        break;
    case 1: narrow_time(s, t, INT64_MAX); break;
    case 2: /* time < t */
        if (t == INT64_MIN)
            narrow_time(s, INT64_MAX, INT64_MIN);
        else
            narrow_time(s, INT64_MIN, t - 1);
        break;
    case 3: narrow_time(s, INT64_MIN, t); break;
    default: narrow_time(s, t, t);
    }
    return true;
}

typedef struct tag_set {
    int col; /* scan output column, -1 = none yet */
    qstr *values;
    uint32_t n;
    uint32_t cap;
} tag_set;

static int tag_add(qctx *c, tag_set *t, const qvalue *v)
{
    if (v->null)
        return VG_OK; /* `tag = NULL` never holds: adds nothing */
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 4;
        qstr *vals = qp_alloc(c, cap * sizeof *vals);
        if (!vals)
            return oom(c);
        if (t->n)
            memcpy(vals, t->values, t->n * sizeof *vals);
        t->values = vals;
        t->cap = cap;
    }
    t->values[t->n++] = v->v.s;
    return VG_OK;
}

static bool is_tag_col(const qp_node *scan, const qexpr *x, int col)
{
    return x->kind == QX_COLUMN && scan->schema.f[x->col].is_tag && (col < 0 || (int)x->col == col);
}

static bool is_str_lit(const qexpr *x)
{
    return x->kind == QX_LITERAL && (x->lit.type == QT_STRING || x->lit.null);
}

/* The values a tag must take for x to hold: `tag = 'a'`, `tag IN ('a', 'b')`, and ORs
 * of those on one tag. false when x says something else. */
static int tag_values(qctx *c, const qp_node *scan, const qexpr *x, tag_set *t, bool *ok)
{
    *ok = false;
    if (is_fn(x, QP_FN_OR) && x->nargs == 2) {
        int rc = tag_values(c, scan, x->args[0], t, ok);
        if (rc || !*ok)
            return rc;
        return tag_values(c, scan, x->args[1], t, ok);
    }
    if (is_fn(x, "=") && x->nargs == 2) {
        const qexpr *col = x->args[0], *lit = x->args[1];
        if (col->kind == QX_LITERAL) {
            col = x->args[1];
            lit = x->args[0];
        }
        if (!is_tag_col(scan, col, t->col) || !is_str_lit(lit))
            return VG_OK;
        t->col = (int)col->col;
        *ok = true;
        return tag_add(c, t, &lit->lit);
    }
    if (x->kind == QX_IN_LIST && !x->negated && is_tag_col(scan, x->args[0], t->col)) {
        for (uint32_t i = 1; i < x->nargs; i++)
            if (!is_str_lit(x->args[i]))
                return VG_OK;
        t->col = (int)x->args[0]->col;
        for (uint32_t i = 1; i < x->nargs; i++) {
            int rc = tag_add(c, t, &x->args[i]->lit);
            if (rc)
                return rc;
        }
        *ok = true;
    }
    return VG_OK;
}

static bool qstr_in(qstr s, const qstr *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i].len == s.len && memcmp(v[i].p, s.p, s.len) == 0)
            return true;
    return false;
}

/* Adds a tag set to the scan; a second set on the same tag intersects the first. */
static int merge_tag_eq(qctx *c, qp_node *scan, const tag_set *t)
{
    qscan_spec *s = &scan->scan;
    uint32_t col_id = s->cols[t->col];
    for (uint32_t i = 0; i < s->ntag_eq; i++) {
        qscan_tag_eq *e = &s->tag_eq[i];
        if (e->col_id != col_id)
            continue;
        uint32_t k = 0;
        for (uint32_t j = 0; j < e->nvalues; j++)
            if (qstr_in(e->values[j], t->values, t->n))
                e->values[k++] = e->values[j];
        e->nvalues = k;
        return VG_OK;
    }
    qscan_tag_eq *eq = qp_alloc(c, (s->ntag_eq + 1) * sizeof *eq);
    const char **names = qp_alloc(c, (s->ntag_eq + 1) * sizeof *names);
    if (!eq || !names)
        return oom(c);
    if (s->ntag_eq) {
        memcpy(eq, s->tag_eq, s->ntag_eq * sizeof *eq);
        memcpy(names, scan->tag_eq_names, s->ntag_eq * sizeof *names);
    }
    names[s->ntag_eq] = scan->schema.f[t->col].name;
    scan->tag_eq_names = names;
    uint32_t n = 0;
    qstr *vals = qp_alloc(c, (t->n + 1) * sizeof *vals);
    if (!vals)
        return oom(c);
    for (uint32_t j = 0; j < t->n; j++)
        if (!qstr_in(t->values[j], vals, n))
            vals[n++] = t->values[j];
    eq[s->ntag_eq] = (qscan_tag_eq){col_id, vals, n};
    s->tag_eq = eq;
    s->ntag_eq++;
    return VG_OK;
}

static int absorb_into_scan(qctx *c, qp_node *scan, qexpr *pred)
{
    xlist conj = {0}, rest = {0};
    int rc = split_and(c, pred, &conj);
    if (rc)
        return rc;
    if (scan->scan.filter && (rc = split_and(c, scan->scan.filter, &rest)))
        return rc;
    for (uint32_t i = 0; i < conj.n; i++) {
        qexpr *x = conj.v[i];
        /* The scan drops rows outside its time bounds and rows whose tags are not in
         * its tag sets (exec_int.h), so those conjuncts need no residual check. */
        if (time_bound(scan, x))
            continue;
        if (x->kind == QX_LITERAL && (x->lit.null || is_bool_lit(x, false))) {
            narrow_time(&scan->scan, INT64_MAX, INT64_MIN); /* nothing can match */
            continue;
        }
        tag_set t = {.col = -1};
        bool ok;
        if ((rc = tag_values(c, scan, x, &t, &ok)))
            return rc;
        if (ok) {
            if ((rc = merge_tag_eq(c, scan, &t)))
                return rc;
            continue;
        }
        if ((rc = xl_push(c, &rest, x)))
            return rc;
    }
    return and_all(c, &rest, &scan->scan.filter);
}

/* ---- 2. moving filters down ---- */

static int push_filters(qctx *c, qp_node **slot);

/* Filter over a projection: conjuncts that read only plain-column outputs go below it. */
static int push_below_project(qctx *c, qp_node **slot)
{
    qp_node *f = *slot, *p = f->in[0];
    uint32_t n = p->schema.n;
    int32_t *map = qp_alloc(c, (n + 1) * sizeof *map);
    uint8_t *used = qp_alloc(c, n / 8 + 1);
    xlist conj = {0}, down = {0}, keep = {0};
    int rc;
    if (!map || !used)
        return oom(c);
    for (uint32_t i = 0; i < n; i++)
        map[i] = p->exprs[i]->kind == QX_COLUMN ? (int32_t)p->exprs[i]->col : -1;
    if ((rc = split_and(c, f->pred, &conj)))
        return rc;
    for (uint32_t i = 0; i < conj.n; i++) {
        memset(used, 0, n / 8 + 1);
        qp_expr_cols(conj.v[i], used);
        bool plain = true;
        for (uint32_t k = 0; k < n && plain; k++)
            plain = !((used[k >> 3] >> (k & 7)) & 1) || map[k] >= 0;
        if (plain)
            qp_expr_remap(conj.v[i], map);
        if ((rc = xl_push(c, plain ? &down : &keep, conj.v[i])))
            return rc;
    }
    if (!down.n)
        return VG_OK;
    qp_node *below = qp_node_new(c, QP_FILTER, p->in[0]);
    if (!below || (rc = and_all(c, &down, &below->pred)))
        return below ? rc : oom(c);
    p->in[0] = below;
    if (!keep.n) {
        *slot = p;
        return VG_OK;
    }
    return and_all(c, &keep, &f->pred);
}

static int push_into_union(qctx *c, qp_node **slot)
{
    qp_node *f = *slot, *u = f->in[0];
    for (uint32_t i = 0; i < u->nin; i++) {
        qp_node *nf = qp_node_new(c, QP_FILTER, u->in[i]);
        if (!nf || !(nf->pred = qp_expr_copy(c, f->pred)))
            return oom(c);
        u->in[i] = nf;
    }
    *slot = u;
    return VG_OK;
}

/* Moves the filter at *slot one step down where that is safe; the recursion in
 * push_filters then carries it further. */
static int push_one(qctx *c, qp_node **slot)
{
    qp_node *f = *slot, *child = f->in[0];
    switch (child->kind) {
    case QP_FILTER: {
        int rc = and2(c, child->pred, f->pred, &child->pred);
        if (rc)
            return rc;
        *slot = child;
        return push_one(c, slot);
    }
    case QP_ALIAS:
        f->in[0] = child->in[0];
        f->schema = child->in[0]->schema;
        child->in[0] = f;
        *slot = child;
        return VG_OK;
    case QP_PROJECT: return push_below_project(c, slot);
    case QP_UNION: return push_into_union(c, slot);
    case QP_SCAN: {
        int rc = absorb_into_scan(c, child, f->pred);
        if (rc)
            return rc;
        *slot = child;
        return VG_OK;
    }
    default: return VG_OK;
    }
}

static int push_filters(qctx *c, qp_node **slot)
{
    if ((*slot)->kind == QP_FILTER) {
        int rc = push_one(c, slot);
        if (rc)
            return rc;
    }
    qp_node *n = *slot;
    for (uint32_t i = 0; i < n->nin; i++) {
        int rc = push_filters(c, &n->in[i]);
        if (rc)
            return rc;
    }
    return VG_OK;
}

/* ---- 3. projection pruning ---- */

static uint8_t *bits_new(qctx *c, uint32_t n)
{
    return qp_alloc(c, n / 8 + 1);
}

static bool bit(const uint8_t *b, uint32_t i)
{
    return (b[i >> 3] >> (i & 7)) & 1;
}

static void bit_set(uint8_t *b, uint32_t i)
{
    b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* `need` over n outputs, or every bit when need is NULL. */
static uint8_t *bits_copy(qctx *c, const uint8_t *need, uint32_t n)
{
    uint8_t *b = bits_new(c, n);
    if (b)
        for (uint32_t i = 0; i < n; i++)
            if (!need || bit(need, i))
                bit_set(b, i);
    return b;
}

static int prune(qctx *c, qp_node *n, const uint8_t *need, int32_t **map);

static int prune_scan(qctx *c, qp_node *n, const uint8_t *need, int32_t **map)
{
    uint32_t cnt = n->schema.n, kept = 0;
    uint8_t *used = bits_copy(c, need, cnt);
    int32_t *m = qp_alloc(c, (cnt + 1) * sizeof *m);
    if (!used || !m)
        return oom(c);
    if (n->scan.filter)
        qp_expr_cols(n->scan.filter, used);
    for (uint32_t i = 0; i < cnt; i++)
        kept += bit(used, i);
    if (kept == cnt)
        return VG_OK;
    if (!kept) {
        /* Nothing is read (count(*)): the scan still needs rows, and `time` is the
         * cheapest column that every row has. */
        uint32_t t = 0;
        for (uint32_t i = 0; i < cnt; i++)
            if (n->scan.cols[i] == 0)
                t = i;
        bit_set(used, t);
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        m[i] = bit(used, i) ? (int32_t)k : -1;
        if (m[i] >= 0) {
            n->scan.cols[k] = n->scan.cols[i];
            n->schema.f[k] = n->schema.f[i];
            k++;
        }
    }
    n->scan.ncols = n->schema.n = k;
    if (n->scan.filter)
        qp_expr_remap(n->scan.filter, m);
    *map = m;
    return VG_OK;
}

static int prune_project(qctx *c, qp_node *n, const uint8_t *need, int32_t **map)
{
    uint32_t cnt = n->schema.n, kept = 0;
    uint8_t *keep = bits_copy(c, need, cnt);
    uint8_t *child_need = bits_new(c, n->in[0]->schema.n);
    if (!keep || !child_need)
        return oom(c);
    for (uint32_t i = 0; i < cnt; i++)
        kept += bit(keep, i);
    if (!kept)
        bit_set(keep, 0); /* keep one column: batches still carry their row count */
    for (uint32_t i = 0; i < cnt; i++)
        if (bit(keep, i))
            qp_expr_cols(n->exprs[i], child_need);
    int32_t *cm = NULL;
    int rc = prune(c, n->in[0], child_need, &cm);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < cnt && cm; i++)
        if (bit(keep, i))
            qp_expr_remap(n->exprs[i], cm);
    if (kept == cnt)
        return VG_OK;
    int32_t *m = qp_alloc(c, (cnt + 1) * sizeof *m);
    qfield *f = qp_alloc(c, (cnt + 1) * sizeof *f);
    if (!m || !f)
        return oom(c);
    uint32_t k = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        m[i] = bit(keep, i) ? (int32_t)k : -1;
        if (m[i] >= 0) {
            n->exprs[k] = n->exprs[i];
            f[k++] = n->schema.f[i];
        }
    }
    n->schema = (qschema){k, f};
    *map = m;
    return VG_OK;
}

static int prune_aggregate(qctx *c, qp_node *n)
{
    uint8_t *child_need = bits_new(c, n->in[0]->schema.n);
    if (!child_need)
        return oom(c);
    for (uint32_t i = 0; i < n->ngroup; i++)
        qp_expr_cols(n->group[i], child_need);
    for (uint32_t i = 0; i < n->naggs; i++)
        for (uint32_t k = 0; k < n->aggs[i].nargs; k++)
            qp_expr_cols(n->aggs[i].args[k], child_need);
    int32_t *cm = NULL;
    int rc = prune(c, n->in[0], child_need, &cm);
    if (rc || !cm)
        return rc;
    for (uint32_t i = 0; i < n->ngroup; i++)
        qp_expr_remap(n->group[i], cm);
    for (uint32_t i = 0; i < n->naggs; i++)
        for (uint32_t k = 0; k < n->aggs[i].nargs; k++)
            qp_expr_remap(n->aggs[i].args[k], cm);
    return VG_OK;
}

/* Filter, sort, limit, distinct and alias pass their input's columns through. */
static int prune_passthrough(qctx *c, qp_node *n, const uint8_t *need, int32_t **map)
{
    uint8_t *child_need = NULL;
    if (n->kind != QP_DISTINCT && need) {
        if (!(child_need = bits_copy(c, need, n->schema.n)))
            return oom(c);
        if (n->pred)
            qp_expr_cols(n->pred, child_need);
        for (uint32_t i = 0; i < n->nkeys; i++)
            qp_expr_cols(n->keys[i].expr, child_need);
    }
    int32_t *cm = NULL;
    int rc = prune(c, n->in[0], child_need, &cm);
    if (rc || !cm)
        return rc;
    if (n->pred)
        qp_expr_remap(n->pred, cm);
    for (uint32_t i = 0; i < n->nkeys; i++)
        qp_expr_remap(n->keys[i].expr, cm);
    if (n->kind == QP_ALIAS) {
        qfield *f = qp_alloc(c, (n->schema.n + 1) * sizeof *f);
        if (!f)
            return oom(c);
        uint32_t k = 0;
        for (uint32_t i = 0; i < n->schema.n; i++)
            if (cm[i] >= 0)
                f[k++] = n->schema.f[i];
        n->schema = (qschema){k, f};
    } else {
        n->schema = n->in[0]->schema;
    }
    *map = cm;
    return VG_OK;
}

/* Prunes the columns of n that nothing above reads. need marks the outputs the parent
 * reads (NULL = all). *map, when set, maps n's old output indices to new ones (-1 =
 * dropped); NULL means the outputs did not change. */
static int prune(qctx *c, qp_node *n, const uint8_t *need, int32_t **map)
{
    *map = NULL;
    switch (n->kind) {
    case QP_SCAN: return prune_scan(c, n, need, map);
    case QP_PROJECT: return prune_project(c, n, need, map);
    case QP_AGGREGATE: return prune_aggregate(c, n);
    case QP_FILTER:
    case QP_SORT:
    case QP_LIMIT:
    case QP_DISTINCT:
    case QP_ALIAS: return prune_passthrough(c, n, need, map);
    case QP_UNION:
        for (uint32_t i = 0; i < n->nin; i++) {
            int32_t *m;
            int rc = prune(c, n->in[i], NULL, &m);
            if (rc)
                return rc;
        }
        return VG_OK;
    default: /* values, system tables: materialized already */ return VG_OK;
    }
}

/* ---- 4. top-K ---- */

static void topk(qp_node *n)
{
    for (uint32_t i = 0; i < n->nin; i++)
        topk(n->in[i]);
    if (n->kind != QP_LIMIT || n->in[0]->kind != QP_SORT || n->limit == UINT64_MAX)
        return;
    uint64_t k = n->limit + n->offset;
    if (k < n->limit)
        k = UINT64_MAX;
    qp_node *s = n->in[0];
    if (k > 0 && (s->fetch == 0 || k < s->fetch))
        s->fetch = k;
}

/* ---- 5. count(*) from row counts ---- */

/* An aggregate of only count(*) with no GROUP BY straight over a scan with no
 * residual filter and no tag filter reads nothing but the number of rows. */
static void count_only(qp_node *n)
{
    for (uint32_t i = 0; i < n->nin; i++)
        count_only(n->in[i]);
    if (n->kind != QP_AGGREGATE || n->ngroup != 0 || n->nin != 1 || n->in[0]->kind != QP_SCAN ||
        n->naggs == 0)
        return;
    for (uint32_t i = 0; i < n->naggs; i++)
        if (strcmp(n->aggs[i].agg->name, "count") != 0 || n->aggs[i].nargs != 0 ||
            n->aggs[i].distinct)
            return;
    qscan_spec *s = &n->in[0]->scan;
    if (s->filter || s->ntag_eq)
        return;
    s->count_only = true;
}

int qp_optimize(qctx *c, qp_node **root)
{
    int32_t *map;
    int rc;
    if ((rc = fold_node(c, *root)))
        return rc;
    drop_true_filters(root);
    if ((rc = push_filters(c, root)) || (rc = prune(c, *root, NULL, &map)))
        return rc;
    topk(*root);
    count_only(*root);
    return VG_OK;
}
