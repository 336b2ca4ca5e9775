/* query/delete.c: `DELETE FROM t [WHERE ...]`. The parser has checked the shape of
 * the WHERE (an AND of time comparisons and column = / IN with constant values,
 * parser.c); here the table and its columns are resolved, the constants bound and
 * evaluated (`now() - INTERVAL '1 day'`, `$param`, timestamps as strings), and the
 * result, a time range and tag predicates, becomes a tombstone that persist applies
 * to the write buffer and the Parquet files (persist_delete_rows). A WHERE that can
 * match nothing (an empty time range, a NULL value) deletes nothing and records
 * nothing. */
#include "plan_int.h"

#include <string.h>

#define DEL_ONLY "DELETE supports only time ranges and tag equality"

/* What the WHERE comes to. */
typedef struct del_spec {
    const catalog_table *t;
    const char *table_name;
    int64_t min_time, max_time; /* inclusive */
    catalog_tomb_pred *preds;
    uint32_t npreds, cap;
    bool nothing; /* some condition can never hold */
} del_spec;

static int oom(qctx *c)
{
    if (!c->err->code)
        vg_err_set(c->err, VG_ENOMEM, "out of memory planning a DELETE");
    return c->err->code;
}

/* Binds and evaluates a constant (the parser made sure it has no column), as type
 * `to`. A NULL result sets *is_null. */
static int eval_value(qp_binder *b, const ast_expr *x, qtype to, qvalue *out, bool *is_null)
{
    static const qschema none = {0, NULL};
    qp_scope scope = {.schema = &none, .clause = "WHERE"};
    qexpr *qx = NULL;
    int rc = qp_bind_expr(b, &scope, x, &qx);
    if (rc == VG_OK)
        rc = qp_coerce(b, &qx, to, x->pos);
    if (rc == VG_OK)
        rc = qexpr_eval_const(b->c, qx, out);
    *is_null = rc == VG_OK && out->null;
    return rc;
}

/* The catalog column a condition names; "No field named" as in a SELECT otherwise. */
static int find_column(qp_binder *b, del_spec *d, const ast_expr *col, const catalog_column **out)
{
    *out = NULL;
    if (col->qualifier && strcmp(col->qualifier, d->table_name) != 0)
        return qp_err_at(b, VG_EINVAL, col->pos, "Schema error: No field named '%s.%s'",
                         col->qualifier, col->name);
    catalog_read_lock(b->c->cat);
    *out = catalog_column_find((catalog_table *)d->t, col->name, strlen(col->name));
    catalog_read_unlock(b->c->cat);
    if (!*out)
        return qp_err_at(b, VG_EINVAL, col->pos, "Schema error: No field named '%s'", col->name);
    return VG_OK;
}

/* Narrows the time range by `time OP v` (op already turned around when the column
 * was on the right). */
static void narrow(del_spec *d, const char *op, int64_t v)
{
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    if (!strcmp(op, "=")) {
        lo = hi = v;
    } else if (!strcmp(op, ">=")) {
        lo = v;
    } else if (!strcmp(op, "<=")) {
        hi = v;
    } else if (!strcmp(op, ">")) {
        if (v == INT64_MAX)
            d->nothing = true;
        else
            lo = v + 1;
    } else if (!strcmp(op, "<")) {
        if (v == INT64_MIN)
            d->nothing = true;
        else
            hi = v - 1;
    }
    d->min_time = lo > d->min_time ? lo : d->min_time;
    d->max_time = hi < d->max_time ? hi : d->max_time;
}

static const char *flip(const char *op)
{
    if (!strcmp(op, "<"))
        return ">";
    if (!strcmp(op, "<="))
        return ">=";
    if (!strcmp(op, ">"))
        return "<";
    if (!strcmp(op, ">="))
        return "<=";
    return op;
}

static int time_bound(qp_binder *b, del_spec *d, const char *op, const ast_expr *val)
{
    qvalue v;
    bool null;
    int rc = eval_value(b, val, QT_TIMESTAMP, &v, &null);
    if (rc == VG_OK && null)
        d->nothing = true; /* time compared with NULL is never true */
    else if (rc == VG_OK)
        narrow(d, op, v.v.i);
    return rc;
}

/* A tag predicate: `col IN (vals)` or `col = val`. NULL values match nothing. */
static int tag_pred(qp_binder *b, del_spec *d, const ast_expr *cond, const ast_expr *col,
                    ast_expr *const *vals, uint32_t nvals)
{
    const catalog_column *cc;
    int rc = find_column(b, d, col, &cc);
    if (rc != VG_OK)
        return rc;
    if (cc->type != CATALOG_TAG) {
        vg_buf shown;
        vg_buf_init(&shown);
        ast_expr_to_sql(cond, &shown);
        rc = qp_err_at(b, VG_EINVAL, cond->pos, DEL_ONLY ", found %.120s ('%s' is a field, not a "
                       "tag)", shown.data ? shown.data : "", cc->name);
        vg_buf_free(&shown);
        return rc;
    }
    if (d->npreds == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 4;
        catalog_tomb_pred *np = qp_alloc(b->c, cap * sizeof *np);
        if (!np)
            return oom(b->c);
        if (d->npreds)
            memcpy(np, d->preds, d->npreds * sizeof *np);
        d->preds = np;
        d->cap = cap;
    }
    catalog_tomb_pred *p = &d->preds[d->npreds++];
    *p = (catalog_tomb_pred){cc->id, 0, qp_alloc(b->c, (nvals ? nvals : 1) * sizeof(vg_str))};
    if (!p->vals)
        return oom(b->c);
    for (uint32_t i = 0; i < nvals; i++) {
        qvalue v;
        bool null;
        if ((rc = eval_value(b, vals[i], QT_STRING, &v, &null)) != VG_OK)
            return rc;
        if (!null)
            p->vals[p->nvals++] = (vg_str){v.v.s.p, v.v.s.len};
    }
    if (p->nvals == 0)
        d->nothing = true;
    return VG_OK;
}

static int add_cond(qp_binder *b, del_spec *d, const ast_expr *x);

static int add_cmp(qp_binder *b, del_spec *d, const ast_expr *x)
{
    bool left = x->args[0]->kind == AE_COLUMN;
    const ast_expr *col = left ? x->args[0] : x->args[1];
    ast_expr *val = left ? x->args[1] : x->args[0];
    if (strcmp(col->name, "time") != 0)
        return tag_pred(b, d, x, col, &val, 1);
    const catalog_column *cc;
    int rc = find_column(b, d, col, &cc);
    return rc != VG_OK ? rc : time_bound(b, d, left ? x->op : flip(x->op), val);
}

static int add_cond(qp_binder *b, del_spec *d, const ast_expr *x)
{
    switch (x->kind) {
    case AE_BINARY:
        if (!strcmp(x->op, "AND")) {
            int rc = add_cond(b, d, x->args[0]);
            return rc != VG_OK ? rc : add_cond(b, d, x->args[1]);
        }
        return add_cmp(b, d, x);
    case AE_BETWEEN: {
        int rc = time_bound(b, d, ">=", x->args[1]);
        return rc != VG_OK ? rc : time_bound(b, d, "<=", x->args[2]);
    }
    case AE_IN_LIST: return tag_pred(b, d, x, x->args[0], x->list, x->nlist);
    default:
        /* the parser lets nothing else through */
        return vg_err_set(b->c->err, VG_EINTERNAL, "unexpected condition in DELETE");
    }
}

/* The target: a table of the query's database (not a system table). */
static int delete_target(qp_binder *b, const ast_from *f, del_spec *d)
{
    qp_node *n = NULL;
    int rc = qp_from_table(b, f, &n);
    if (rc != VG_OK)
        return rc;
    if (!n || n->kind != QP_SCAN)
        return qp_err_at(b, VG_EINVAL, f->pos, "DELETE works on the tables of a database, not "
                         "on %s.%s", f->schema ? f->schema : "", f->name);
    d->t = n->scan.table;
    d->table_name = f->name;
    return VG_OK;
}

int qdelete_run(qctx *c, const ast_stmt *st, bool *deleted)
{
    *deleted = false;
    qp_binder b = {.c = c};
    del_spec d = {.min_time = INT64_MIN, .max_time = INT64_MAX};
    int rc = delete_target(&b, st->from, &d);
    if (rc == VG_OK && st->where)
        rc = add_cond(&b, &d, st->where);
    if (rc != VG_OK)
        return rc;
    if (d.nothing || d.min_time > d.max_time)
        return VG_OK; /* matches no row: nothing to record */
    if (!c->persist)
        return vg_err_set(c->err, VG_EINTERNAL, "DELETE needs the persistence layer, which is "
                                                "not running");
    catalog_tombstone ts = {.db_id = c->db->id, .table_id = d.t->id, .min_time = d.min_time,
                            .max_time = d.max_time, .npreds = d.npreds, .preds = d.preds};
    rc = persist_delete_rows(c->persist, &ts, NULL, c->err);
    *deleted = rc == VG_OK;
    return rc;
}
