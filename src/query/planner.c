/*
 * query/planner.c: statements to logical plans, and plans to operators.
 *
 * One SELECT becomes, bottom up: its FROM (a scan, a built-in relation, a subquery or
 * a CTE under an alias), Filter (WHERE), Aggregate + Filter (HAVING) when the query
 * groups or aggregates, Projection (the select list plus hidden ORDER BY columns),
 * Distinct, Sort, Limit, and a last Projection that drops the hidden columns. A
 * UNION ALL plans each SELECT, casts the branches to common column types and sorts
 * and limits the union. qplan_build() is the module's entry point: it dispatches on
 * the statement, runs the optimizer and builds the operator tree.
 */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>

/* Subqueries and CTEs nest at most this deep: far beyond real queries, and it keeps
 * a hostile query from exhausting the stack. */
#define QP_MAX_DEPTH 32

static const qschema empty_schema = {0, NULL};

static int oom(qctx *c)
{
    if (!c->err->code)
        vg_err_set(c->err, VG_ENOMEM, "out of memory while planning the query");
    return c->err->code;
}

qp_node *qp_node_new(qctx *c, qp_kind kind, qp_node *input)
{
    qp_node *n = qp_alloc(c, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->limit = UINT64_MAX;
    if (input) {
        if (!(n->in = qp_alloc(c, sizeof *n->in)))
            return NULL;
        n->in[0] = input;
        n->nin = 1;
        n->schema = input->schema;
    }
    return n;
}

/* ---- FROM ---- */

static int alias_node(qp_binder *b, qp_node *in, const char *alias, qp_node **out)
{
    if (!alias) {
        *out = in;
        return VG_OK;
    }
    qp_node *n = qp_node_new(b->c, QP_ALIAS, in);
    qfield *f = qp_alloc(b->c, (in->schema.n + 1) * sizeof *f);
    if (!n || !f)
        return oom(b->c);
    for (uint32_t i = 0; i < in->schema.n; i++) {
        f[i] = in->schema.f[i];
        f[i].qualifier = alias;
    }
    n->schema.f = f;
    n->alias = alias;
    *out = n;
    return VG_OK;
}

static int plan_from(qp_binder *b, const ast_from *f, qp_node **out)
{
    qp_node *n;
    int rc;
    if (f->kind == AF_SUBQUERY) {
        if ((rc = qp_plan_query(b, f->query, &n)))
            return rc;
        return alias_node(b, n, f->alias, out);
    }
    if (!f->schema) {
        for (qp_cte *cte = b->ctes; cte; cte = cte->next) {
            if (strcmp(cte->name, f->name) != 0)
                continue;
            /* A CTE sees only the CTEs defined before it. */
            qp_cte *saved = b->ctes;
            b->ctes = cte->next;
            rc = qp_plan_query(b, cte->query, &n);
            b->ctes = saved;
            if (rc)
                return rc;
            return alias_node(b, n, f->alias ? f->alias : f->name, out);
        }
    }
    return qp_from_table(b, f, out);
}

/* SELECT without FROM reads one row of no columns. */
static int empty_relation(qp_binder *b, qp_node **out)
{
    qp_node *n = qp_node_new(b->c, QP_VALUES, NULL);
    qbatch *batch = qp_alloc(b->c, sizeof *batch);
    if (!n || !batch)
        return oom(b->c);
    batch->nrows = 1;
    n->label = "EmptyRelation";
    n->batches = batch;
    n->nbatches = 1;
    *out = n;
    return VG_OK;
}

/* ---- the select list ---- */

typedef struct sel_item {
    const ast_expr *expr;
    const char *alias;
} sel_item;

static int expand_star(qp_binder *b, const ast_expr *star, const qschema *from, sel_item *items,
                       uint32_t *n)
{
    uint32_t added = 0;
    for (uint32_t i = 0; i < from->n; i++) {
        const qfield *f = &from->f[i];
        if (star->qualifier && (!f->qualifier || strcmp(f->qualifier, star->qualifier) != 0))
            continue;
        ast_expr *col = qp_alloc(b->c, sizeof *col);
        if (!col)
            return oom(b->c);
        col->kind = AE_COLUMN;
        col->pos = star->pos;
        col->qualifier = f->qualifier;
        col->name = f->name;
        items[(*n)++] = (sel_item){col, NULL};
        added++;
    }
    if (star->qualifier && !added)
        return qp_err_at(b, VG_EINVAL, star->pos, "Invalid qualifier '%s'", star->qualifier);
    return VG_OK;
}

static int expand_items(qp_binder *b, const ast_select *sel, const qschema *from, sel_item **out,
                        uint32_t *nout)
{
    uint32_t cap = 0;
    for (uint32_t i = 0; i < sel->nitems; i++)
        cap += sel->items[i].expr->kind == AE_STAR ? from->n : 1;
    sel_item *items = qp_alloc(b->c, (cap + 1) * sizeof *items);
    if (!items)
        return oom(b->c);
    uint32_t n = 0;
    for (uint32_t i = 0; i < sel->nitems; i++) {
        const ast_select_item *it = &sel->items[i];
        if (it->expr->kind != AE_STAR) {
            items[n++] = (sel_item){it->expr, it->alias};
            continue;
        }
        if (!sel->from)
            return qp_err_at(b, VG_EINVAL, it->expr->pos,
                             "SELECT * with no tables specified is not valid");
        int rc = expand_star(b, it->expr, from, items, &n);
        if (rc)
            return rc;
    }
    *out = items;
    *nout = n;
    return VG_OK;
}

/* ---- one SELECT ---- */

/* Everything one SELECT binds before its nodes are built: the aggregate scope must
 * have seen every aggregate call (select list, HAVING, ORDER BY) first. */
typedef struct sel_ctx {
    qp_binder *b;
    const ast_select *sel;
    qp_node *input;
    qp_scope from;
    qp_scope scope; /* = from, or the aggregate scope */
    qp_aggscope agg;
    bool is_agg;
    sel_item *items;
    uint32_t nitems;
    qexpr **exprs; /* select list, then hidden ORDER BY columns */
    const char **names;
    uint32_t nexprs;
    qexpr *having;
    qsort_key *keys;
    uint32_t nkeys;
} sel_ctx;

static int bind_bool(qp_binder *b, const qp_scope *s, const ast_expr *x, const char *clause,
                     qexpr **out)
{
    int rc = qp_bind_expr(b, s, x, out);
    if (rc || ((*out)->type == QT_NULL && (rc = qp_coerce(b, out, QT_BOOL, x->pos))))
        return rc;
    if ((*out)->type != QT_BOOL)
        return qp_err_at(b, VG_EINVAL, x->pos, "%s must be a Boolean expression, not %s", clause,
                         qtype_name((*out)->type));
    return VG_OK;
}

static bool resolves_in(const qschema *s, const char *name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->f[i].name, name) == 0)
            return true;
    return false;
}

static int bind_group_by(sel_ctx *x)
{
    qp_binder *b = x->b;
    const ast_select *sel = x->sel;
    qp_aggscope *a = &x->agg;
    a->input = &x->from;
    a->group = qp_alloc(b->c, (sel->ngroup_by + 1) * sizeof *a->group);
    a->group_names = qp_alloc(b->c, (sel->ngroup_by + 1) * sizeof *a->group_names);
    if (!a->group || !a->group_names)
        return oom(b->c);
    qp_scope gs = x->from;
    gs.clause = "GROUP BY";
    for (uint32_t i = 0; i < sel->ngroup_by; i++) {
        const ast_expr *e = sel->group_by[i];
        if (e->kind == AE_INT) {
            if (e->v.i < 1 || e->v.i > (int64_t)x->nitems)
                return qp_err_at(b, VG_EINVAL, e->pos,
                                 "GROUP BY position %lld is not in select list (it has %u "
                                 "columns)",
                                 (long long)e->v.i, x->nitems);
            e = x->items[e->v.i - 1].expr;
        } else if (e->kind == AE_COLUMN && !e->qualifier && !resolves_in(x->from.schema, e->name)) {
            /* An output alias, when no input column has the name (input columns win, as
             * in PostgreSQL and DataFusion). */
            for (uint32_t k = 0; k < x->nitems; k++)
                if (x->items[k].alias && strcmp(x->items[k].alias, e->name) == 0) {
                    e = x->items[k].expr;
                    break;
                }
        }
        qexpr *g;
        int rc = qp_bind_expr(b, &gs, e, &g);
        if (rc)
            return rc;
        bool dup = false;
        for (uint32_t k = 0; k < a->ngroup && !dup; k++)
            dup = qp_expr_equal(a->group[k], g);
        if (dup)
            continue;
        if ((rc = qp_expr_name(b, &x->from, e, &a->group_names[a->ngroup])))
            return rc;
        a->group[a->ngroup++] = g;
    }
    return VG_OK;
}

/* HAVING and ORDER BY expressions may name select-list aliases where no input column
 * has the name (DataFusion resolves them so): the alias stands for its expression. */
static ast_expr *alias_column(qp_binder *b, void *ctx, const ast_expr *col)
{
    const sel_ctx *x = ctx;
    if (!col->qualifier && !resolves_in(x->from.schema, col->name))
        for (uint32_t k = 0; k < x->nitems; k++)
            if (x->items[k].alias && strcmp(x->items[k].alias, col->name) == 0)
                return (ast_expr *)x->items[k].expr;
    return (ast_expr *)col;
}

static int subst_aliases(sel_ctx *x, const ast_expr *e, const ast_expr **out)
{
    *out = qp_ast_rewrite(x->b, e, alias_column, x);
    return *out ? VG_OK : oom(x->b->c);
}

static bool order_has_agg(const ast_order_item *order, uint32_t norder)
{
    for (uint32_t i = 0; i < norder; i++)
        if (order[i].expr->kind != AE_INT && qp_ast_has_agg(order[i].expr))
            return true;
    return false;
}

static int bind_items(sel_ctx *x, uint32_t norder)
{
    qp_binder *b = x->b;
    uint32_t cap = x->nitems + norder + 1;
    x->exprs = qp_alloc(b->c, cap * sizeof *x->exprs);
    x->names = qp_alloc(b->c, cap * sizeof *x->names);
    if (!x->exprs || !x->names)
        return oom(b->c);
    for (uint32_t i = 0; i < x->nitems; i++) {
        const sel_item *it = &x->items[i];
        int rc = qp_bind_expr(b, &x->scope, it->expr, &x->exprs[i]);
        if (rc)
            return rc;
        if (it->alias)
            x->names[i] = it->alias;
        else if ((rc = qp_expr_name(b, &x->scope, it->expr, &x->names[i])))
            return rc;
    }
    x->nexprs = x->nitems;
    return VG_OK;
}

/* The projection column an ORDER BY item sorts by, adding a hidden one if needed. */
static int order_column(sel_ctx *x, const ast_expr *e, uint32_t *col)
{
    qp_binder *b = x->b;
    if (e->kind == AE_INT) {
        if (e->v.i < 1 || e->v.i > (int64_t)x->nitems)
            return qp_err_at(b, VG_EINVAL, e->pos,
                             "ORDER BY position %lld is not in select list (it has %u columns)",
                             (long long)e->v.i, x->nitems);
        *col = (uint32_t)(e->v.i - 1);
        return VG_OK;
    }
    if (e->kind == AE_COLUMN && !e->qualifier) {
        /* Output names first (PostgreSQL and DataFusion): ORDER BY an alias. */
        for (uint32_t i = 0; i < x->nitems; i++)
            if (strcmp(x->names[i], e->name) == 0) {
                *col = i;
                return VG_OK;
            }
    }
    qp_scope os = x->scope;
    os.clause = "ORDER BY";
    qexpr *k;
    int rc = subst_aliases(x, e, &e);
    if (rc || (rc = qp_bind_expr(b, &os, e, &k)))
        return rc;
    for (uint32_t i = 0; i < x->nexprs; i++)
        if (qp_expr_equal(x->exprs[i], k)) {
            *col = i;
            return VG_OK;
        }
    if (x->sel->distinct)
        return qp_err_at(b, VG_EINVAL, e->pos,
                         "For SELECT DISTINCT, ORDER BY expressions must appear in select list");
    if ((rc = qp_expr_name(b, &x->scope, e, &x->names[x->nexprs])))
        return rc;
    x->exprs[x->nexprs] = k;
    *col = x->nexprs++;
    return VG_OK;
}

static int bind_order(sel_ctx *x, const ast_order_item *order, uint32_t norder)
{
    x->keys = qp_alloc(x->b->c, (norder + 1) * sizeof *x->keys);
    if (!x->keys)
        return oom(x->b->c);
    for (uint32_t i = 0; i < norder; i++) {
        uint32_t col = 0;
        int rc = order_column(x, order[i].expr, &col);
        if (rc)
            return rc;
        qsort_key *k = &x->keys[x->nkeys++];
        if (!(k->expr = qp_col(x->b->c, col, x->exprs[col]->type)))
            return oom(x->b->c);
        k->desc = order[i].desc;
        k->nulls_first = order[i].nulls_first < 0 ? order[i].desc : order[i].nulls_first != 0;
    }
    return VG_OK;
}

static int check_unique_names(qp_binder *b, const sel_ctx *x, const qfield *f)
{
    for (uint32_t i = 0; i < x->nitems; i++)
        for (uint32_t j = i + 1; j < x->nitems; j++) {
            bool same_q =
                (!f[i].qualifier && !f[j].qualifier) ||
                (f[i].qualifier && f[j].qualifier && strcmp(f[i].qualifier, f[j].qualifier) == 0);
            if (!same_q || strcmp(f[i].name, f[j].name) != 0)
                continue;
            char name[256];
            if (f[i].qualifier)
                snprintf(name, sizeof name, "%s.%s", f[i].qualifier, f[i].name);
            else
                snprintf(name, sizeof name, "%s", f[i].name);
            return qp_err_at(b, VG_EINVAL, x->sel->pos,
                             "Projections require unique expression names but the expression "
                             "\"%s\" at position %u and \"%s\" at position %u have the same "
                             "name. Consider aliasing (\"AS\") one of them",
                             name, i, name, j);
        }
    return VG_OK;
}

static int build_projection(sel_ctx *x, qp_node *input, qp_node **out)
{
    qp_binder *b = x->b;
    qp_node *p = qp_node_new(b->c, QP_PROJECT, input);
    qfield *f = qp_alloc(b->c, (x->nexprs + 1) * sizeof *f);
    if (!p || !f)
        return oom(b->c);
    for (uint32_t i = 0; i < x->nexprs; i++) {
        const qexpr *e = x->exprs[i];
        bool alias = i < x->nitems && x->items[i].alias;
        if (e->kind == QX_COLUMN) {
            /* A column keeps its qualifier and tag-ness; a group expression written
             * differently in the select list (GROUP BY 1) is named as written. */
            f[i] = input->schema.f[e->col];
            if (alias || strcmp(f[i].name, x->names[i]) != 0) {
                f[i].qualifier = NULL;
                f[i].name = x->names[i];
            }
        } else {
            f[i] = (qfield){x->names[i], NULL, e->type, false, true};
        }
    }
    p->exprs = x->exprs;
    p->schema = (qschema){x->nexprs, f};
    *out = p;
    return check_unique_names(b, x, f);
}

static int plan_select(qp_binder *b, const ast_select *sel, const ast_order_item *order,
                       uint32_t norder, qp_node **out, uint32_t *nvisible)
{
    qctx *c = b->c;
    sel_ctx x = {.b = b, .sel = sel};
    int rc = sel->from ? plan_from(b, sel->from, &x.input) : empty_relation(b, &x.input);
    if (rc)
        return rc;
    qp_node *node = x.input;
    x.from = (qp_scope){&x.input->schema, NULL, NULL};
    if (sel->where) {
        qp_scope ws = x.from;
        ws.clause = "WHERE";
        qp_node *f = qp_node_new(c, QP_FILTER, node);
        if (!f)
            return oom(c);
        if ((rc = bind_bool(b, &ws, sel->where, "WHERE clause", &f->pred)))
            return rc;
        node = f;
    }
    if ((rc = expand_items(b, sel, x.from.schema, &x.items, &x.nitems)))
        return rc;
    x.is_agg = sel->ngroup_by || sel->having || order_has_agg(order, norder);
    for (uint32_t i = 0; i < x.nitems && !x.is_agg; i++)
        x.is_agg = qp_ast_has_agg(x.items[i].expr);
    x.scope = x.from;
    if (x.is_agg) {
        if ((rc = bind_group_by(&x)))
            return rc;
        x.scope = (qp_scope){NULL, &x.agg, NULL};
    }
    if ((rc = bind_items(&x, norder)))
        return rc;
    if (sel->having) {
        const ast_expr *having;
        if ((rc = subst_aliases(&x, sel->having, &having)) ||
            (rc = bind_bool(b, &x.scope, having, "HAVING clause", &x.having)))
            return rc;
    }
    if ((rc = bind_order(&x, order, norder)))
        return rc;
    if (x.is_agg) {
        qp_node *a = qp_node_new(c, QP_AGGREGATE, node);
        if (!a)
            return oom(c);
        if ((rc = qp_aggscope_schema(b, &x.agg, &a->schema)))
            return rc;
        a->group = x.agg.group;
        a->ngroup = x.agg.ngroup;
        a->aggs = x.agg.aggs;
        a->naggs = x.agg.naggs;
        node = a;
        if (x.having) {
            if (!(node = qp_node_new(c, QP_FILTER, a)))
                return oom(c);
            node->pred = x.having;
        }
    }
    if ((rc = build_projection(&x, node, &node)))
        return rc;
    if (sel->distinct && !(node = qp_node_new(c, QP_DISTINCT, node)))
        return oom(c);
    if (x.nkeys) {
        if (!(node = qp_node_new(c, QP_SORT, node)))
            return oom(c);
        node->keys = x.keys;
        node->nkeys = x.nkeys;
    }
    *out = node;
    *nvisible = x.nitems;
    return VG_OK;
}

/* ---- UNION ALL ---- */

/* Casts the columns of one branch whose type differs from the union's. */
static int cast_branch(qp_binder *b, qp_node **branch, const qtype *types, ast_pos pos)
{
    qctx *c = b->c;
    qp_node *n = *branch;
    bool differs = false;
    for (uint32_t j = 0; j < n->schema.n; j++)
        differs |= n->schema.f[j].type != types[j];
    if (!differs)
        return VG_OK;
    qp_node *p = n;
    if (n->kind != QP_PROJECT) {
        if (!(p = qp_node_new(c, QP_PROJECT, n)) ||
            !(p->exprs = qp_alloc(c, (n->schema.n + 1) * sizeof *p->exprs)))
            return oom(c);
        for (uint32_t j = 0; j < n->schema.n; j++)
            if (!(p->exprs[j] = qp_col(c, j, n->schema.f[j].type)))
                return oom(c);
    }
    qfield *f = qp_alloc(c, (n->schema.n + 1) * sizeof *f);
    if (!f)
        return oom(c);
    for (uint32_t j = 0; j < n->schema.n; j++) {
        f[j] = n->schema.f[j];
        f[j].type = types[j];
        int rc = qp_coerce(b, &p->exprs[j], types[j], pos);
        if (rc)
            return rc;
    }
    p->schema.f = f;
    *branch = p;
    return VG_OK;
}

static int plan_union(qp_binder *b, const ast_query *q, qp_node **out)
{
    qctx *c = b->c;
    uint32_t ns = q->nselects;
    qp_node *u = qp_node_new(c, QP_UNION, NULL);
    if (!u || !(u->in = qp_alloc(c, ns * sizeof *u->in)))
        return oom(c);
    u->nin = ns;
    uint32_t ncols = 0;
    int rc;
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t nv;
        if ((rc = plan_select(b, q->selects[i], NULL, 0, &u->in[i], &nv)))
            return rc;
        if (i == 0)
            ncols = nv;
        else if (nv != ncols)
            return qp_err_at(b, VG_EINVAL, q->selects[i]->pos,
                             "UNION queries have different number of columns: left has %u "
                             "columns whereas right has %u columns",
                             ncols, nv);
    }
    qtype *types = qp_alloc(c, (ncols + 1) * sizeof *types);
    qfield *f = qp_alloc(c, (ncols + 1) * sizeof *f);
    if (!types || !f)
        return oom(c);
    for (uint32_t j = 0; j < ncols; j++) {
        types[j] = u->in[0]->schema.f[j].type;
        bool nullable = false;
        for (uint32_t i = 0; i < ns; i++) {
            const qfield *fi = &u->in[i]->schema.f[j];
            nullable |= fi->nullable;
            if (!qp_common_type(types[j], fi->type, &types[j]))
                return qp_err_at(b, VG_EINVAL, q->selects[i]->pos,
                                 "UNION ALL column %u ('%s') has incompatible types %s and %s",
                                 j + 1, u->in[0]->schema.f[j].name, qtype_name(types[j]),
                                 qtype_name(fi->type));
        }
        f[j] = (qfield){u->in[0]->schema.f[j].name, NULL, types[j], false, nullable};
    }
    for (uint32_t i = 0; i < ns; i++)
        if ((rc = cast_branch(b, &u->in[i], types, q->selects[i]->pos)))
            return rc;
    u->schema = (qschema){ncols, f};
    *out = u;
    return VG_OK;
}

/* ORDER BY of a union: ordinals and expressions over the union's output columns. */
static int order_union(qp_binder *b, const ast_query *q, qp_node **node)
{
    qctx *c = b->c;
    qp_node *s = qp_node_new(c, QP_SORT, *node);
    if (!s || !(s->keys = qp_alloc(c, q->norder_by * sizeof *s->keys)))
        return oom(c);
    qp_scope os = {&(*node)->schema, NULL, "ORDER BY"};
    for (uint32_t i = 0; i < q->norder_by; i++) {
        const ast_order_item *o = &q->order_by[i];
        qsort_key *k = &s->keys[i];
        int rc;
        if (o->expr->kind == AE_INT) {
            int64_t pos = o->expr->v.i;
            if (pos < 1 || pos > (int64_t)s->schema.n)
                return qp_err_at(b, VG_EINVAL, o->expr->pos,
                                 "ORDER BY position %lld is not in select list (it has %u "
                                 "columns)",
                                 (long long)pos, s->schema.n);
            if (!(k->expr = qp_col(c, (uint32_t)(pos - 1), s->schema.f[pos - 1].type)))
                return oom(c);
        } else if ((rc = qp_bind_expr(b, &os, o->expr, &k->expr))) {
            return rc;
        }
        k->desc = o->desc;
        k->nulls_first = o->nulls_first < 0 ? o->desc : o->nulls_first != 0;
    }
    s->nkeys = q->norder_by;
    *node = s;
    return VG_OK;
}

/* ---- LIMIT / OFFSET ---- */

static int eval_count(qp_binder *b, const ast_expr *e, const char *what, uint64_t *out)
{
    qp_scope s = {&empty_schema, NULL, what};
    qexpr *x;
    qvalue v;
    int rc = qp_bind_expr(b, &s, e, &x);
    if (rc)
        return rc;
    if (x->type != QT_INT && x->type != QT_UINT && x->type != QT_NULL)
        return qp_err_at(b, VG_EINVAL, e->pos, "%s must be an integer, not %s", what,
                         qtype_name(x->type));
    if ((rc = qexpr_eval_const(b->c, x, &v)))
        return rc;
    if (v.null)
        return VG_OK; /* LIMIT NULL: no limit */
    if (v.type == QT_INT && v.v.i < 0)
        return qp_err_at(b, VG_EINVAL, e->pos, "%s must be >= 0, '%lld' was provided", what,
                         (long long)v.v.i);
    *out = v.type == QT_INT ? (uint64_t)v.v.i : v.v.u;
    return VG_OK;
}

static int plan_limit(qp_binder *b, const ast_query *q, qp_node **node)
{
    uint64_t limit = UINT64_MAX, offset = 0;
    int rc;
    if ((q->limit && (rc = eval_count(b, q->limit, "LIMIT", &limit))) ||
        (q->offset && (rc = eval_count(b, q->offset, "OFFSET", &offset))))
        return rc;
    if (limit == UINT64_MAX && offset == 0)
        return VG_OK;
    qp_node *l = qp_node_new(b->c, QP_LIMIT, *node);
    if (!l)
        return oom(b->c);
    l->limit = limit;
    l->offset = offset;
    *node = l;
    return VG_OK;
}

/* Drops the hidden ORDER BY columns after the sort and limit. */
static int drop_hidden(qp_binder *b, uint32_t nvisible, qp_node **node)
{
    qp_node *in = *node;
    if (in->schema.n <= nvisible)
        return VG_OK;
    qp_node *p = qp_node_new(b->c, QP_PROJECT, in);
    if (!p || !(p->exprs = qp_alloc(b->c, (nvisible + 1) * sizeof *p->exprs)))
        return oom(b->c);
    for (uint32_t i = 0; i < nvisible; i++)
        if (!(p->exprs[i] = qp_col(b->c, i, in->schema.f[i].type)))
            return oom(b->c);
    p->schema.n = nvisible;
    *node = p;
    return VG_OK;
}

/* ---- a query expression ---- */

static int push_ctes(qp_binder *b, const ast_query *q)
{
    for (uint32_t i = 0; i < q->nctes; i++) {
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(q->ctes[k].name, q->ctes[i].name) == 0)
                return qp_err_at(b, VG_EINVAL, q->ctes[i].pos,
                                 "WITH query name \"%s\" specified more than once",
                                 q->ctes[i].name);
        qp_cte *cte = qp_alloc(b->c, sizeof *cte);
        if (!cte)
            return oom(b->c);
        cte->name = q->ctes[i].name;
        cte->query = q->ctes[i].query;
        cte->next = b->ctes;
        b->ctes = cte;
    }
    return VG_OK;
}

static int plan_query_body(qp_binder *b, const ast_query *q, qp_node **out)
{
    qp_node *n = NULL;
    uint32_t nvisible = 0;
    int rc = push_ctes(b, q);
    if (rc)
        return rc;
    if (q->nselects == 1) {
        if ((rc = plan_select(b, q->selects[0], q->order_by, q->norder_by, &n, &nvisible)))
            return rc;
    } else {
        if ((rc = plan_union(b, q, &n)))
            return rc;
        nvisible = n->schema.n;
        if (q->norder_by && (rc = order_union(b, q, &n)))
            return rc;
    }
    if ((rc = plan_limit(b, q, &n)) || (rc = drop_hidden(b, nvisible, &n)))
        return rc;
    *out = n;
    return VG_OK;
}

int qp_plan_query(qp_binder *b, const ast_query *q, qp_node **out)
{
    if (b->depth >= QP_MAX_DEPTH)
        return qp_err_at(b, VG_EINVAL, q->pos,
                         "query nested too deeply (more than %d levels of subqueries)",
                         QP_MAX_DEPTH);
    qp_cte *saved = b->ctes;
    b->depth++;
    int rc = plan_query_body(b, q, out);
    b->depth--;
    b->ctes = saved;
    return rc;
}

/* ---- operators ---- */

static int lower_inputs(qctx *c, qp_node *n, bool analyze, qop ***ops)
{
    *ops = qp_alloc(c, (n->nin + 1) * sizeof **ops);
    if (!*ops)
        return oom(c);
    for (uint32_t i = 0; i < n->nin; i++) {
        int rc = qp_lower(c, n->in[i], analyze, &(*ops)[i]);
        if (rc)
            return rc;
    }
    return VG_OK;
}

int qp_lower(qctx *c, qp_node *n, bool analyze, qop **out)
{
    qop **in = NULL, *op = NULL;
    int rc = lower_inputs(c, n, analyze, &in);
    if (rc)
        return rc;
    switch (n->kind) {
    case QP_SCAN:
        /* The scan reads the table's column array, which a schema change may move. */
        catalog_read_lock(c->cat);
        op = qop_scan(c, &n->scan);
        catalog_read_unlock(c->cat);
        break;
    case QP_VALUES: op = qop_values(c, &n->schema, n->batches, n->nbatches); break;
    case QP_SYSTEM: op = n->op; break;
    case QP_FILTER: op = qop_filter(c, in[0], n->pred); break;
    case QP_PROJECT: op = qop_project(c, in[0], n->exprs, &n->schema); break;
    case QP_AGGREGATE:
        op = qop_aggregate(c, in[0], n->group, n->ngroup, n->aggs, n->naggs, &n->schema);
        break;
    case QP_SORT: op = qop_sort(c, in[0], n->keys, n->nkeys, n->fetch); break;
    case QP_LIMIT: op = qop_limit(c, in[0], n->limit, n->offset); break;
    case QP_DISTINCT: op = qop_distinct(c, in[0]); break;
    case QP_UNION: op = qop_union_all(c, in, n->nin, &n->schema); break;
    case QP_ALIAS:
        *out = in[0]; /* names only: no operator */
        return VG_OK;
    }
    if (!op)
        return c->err->code ? (int)c->err->code
                            : vg_err_set(c->err, VG_EINTERNAL, "could not build an operator");
    if (analyze && !(op = qp_instrument(c, op, n)))
        return oom(c);
    *out = op;
    return VG_OK;
}

/* ---- entry point ---- */

int qplan_build(qctx *c, const ast_stmt *stmt, qop **root)
{
    qp_binder b = {.c = c};
    qp_node *n = NULL;
    int rc;
    switch (stmt->kind) {
    case AS_QUERY:
        if ((rc = qp_plan_query(&b, stmt->query, &n)) || (rc = qp_optimize(c, &n)))
            return rc;
        break;
    case AS_EXPLAIN: return qp_explain(&b, stmt, root);
    case AS_SHOW_TABLES:
        if ((rc = qp_show_tables(&b, &n)))
            return rc;
        break;
    case AS_SHOW_COLUMNS:
        if ((rc = qp_show_columns(&b, stmt->from, &n)))
            return rc;
        break;
    case AS_DELETE: /* query.c runs it (qdelete_run): it has no plan */
        return vg_err_set(c->err, VG_EINTERNAL, "a DELETE has no query plan");
    default: return vg_err_set(c->err, VG_EINTERNAL, "unknown statement kind %d", (int)stmt->kind);
    }
    return qp_lower(c, n, false, root);
}
