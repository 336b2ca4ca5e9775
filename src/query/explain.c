/*
 * query/explain.c: EXPLAIN and EXPLAIN ANALYZE.
 *
 * Renders expressions and plans as text the way DataFusion prints them (so users of
 * InfluxDB 3 read familiar plans), in two forms: the logical plan (TableScan,
 * Projection, Aggregate, ...) and the physical one (the operators that run), where a
 * scan also says how many write-buffer chunks its time bounds and tag sets would
 * skip. EXPLAIN ANALYZE runs the plan with every operator wrapped in a metrics
 * operator and reports rows and time per operator, and the scans' chunk counters.
 */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>

static int oom(qctx *c)
{
    if (!c->err->code)
        vg_err_set(c->err, VG_ENOMEM, "out of memory while explaining the query");
    return c->err->code;
}

/* ---- expressions ---- */

typedef struct infix_op {
    const char *fn;
    const char *text;
    int prec; /* higher binds tighter */
} infix_op;

static const infix_op infix_ops[] = {
    {QP_FN_OR, "OR", 1},
    {QP_FN_AND, "AND", 2},
    {"=", "=", 4},
    {"<>", "<>", 4},
    {"<", "<", 4},
    {"<=", "<=", 4},
    {">", ">", 4},
    {">=", ">=", 4},
    {QP_FN_LIKE, "LIKE", 4},
    {QP_FN_ILIKE, "ILIKE", 4},
    {QP_FN_NOT_LIKE, "NOT LIKE", 4},
    {QP_FN_NOT_ILIKE, "NOT ILIKE", 4},
    {"||", "||", 5},
    {"+", "+", 6},
    {"-", "-", 6},
    {"*", "*", 7},
    {"/", "/", 7},
    {"%", "%", 7},
};

static const infix_op *find_infix(const qexpr *x)
{
    if (x->kind != QX_CALL || x->nargs != 2)
        return NULL;
    for (size_t i = 0; i < sizeof infix_ops / sizeof infix_ops[0]; i++)
        if (strcmp(infix_ops[i].fn, x->fn->name) == 0)
            return &infix_ops[i];
    return NULL;
}

static void render_string(const char *p, size_t n, vg_buf *out)
{
    vg_buf_putc(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\'')
            vg_buf_putc(out, '\'');
        vg_buf_putc(out, p[i]);
    }
    vg_buf_putc(out, '\'');
}

static void render_ts(int64_t ns, vg_buf *out)
{
    char ts[48];
    vg_format_timestamp(ns, false, ts);
    vg_buf_puts(out, ts);
}

static void render_value(const qvalue *v, vg_buf *out)
{
    char tmp[64];
    if (v->null) {
        vg_buf_puts(out, "NULL");
        return;
    }
    switch (v->type) {
    case QT_BOOL: vg_buf_puts(out, v->v.b ? "true" : "false"); break;
    case QT_INT: vg_buf_append(out, tmp, vg_fmt_i64(v->v.i, tmp)); break;
    case QT_UINT: vg_buf_append(out, tmp, vg_fmt_u64(v->v.u, tmp)); break;
    case QT_FLOAT: vg_buf_append(out, tmp, vg_fmt_f64(v->v.f, tmp)); break;
    case QT_STRING: render_string(v->v.s.p, v->v.s.len, out); break;
    case QT_TIMESTAMP:
        vg_buf_puts(out, "TIMESTAMP '");
        render_ts(v->v.i, out);
        vg_buf_putc(out, '\'');
        break;
    case QT_INTERVAL:
        vg_buf_puts(out, v->v.i < 0 ? "INTERVAL '-" : "INTERVAL '");
        vg_buf_append(out, tmp, vg_format_duration(v->v.i < 0 ? -v->v.i : v->v.i, tmp));
        vg_buf_putc(out, '\'');
        break;
    default: vg_buf_puts(out, "?");
    }
}

static void render_column(uint32_t col, const qschema *in, vg_buf *out)
{
    if (!in || col >= in->n) {
        vg_buf_printf(out, "#%u", col);
        return;
    }
    if (in->f[col].qualifier)
        vg_buf_printf(out, "%s.", in->f[col].qualifier);
    vg_buf_puts(out, in->f[col].name);
}

static void render(const qexpr *x, const qschema *in, vg_buf *out, int parent_prec);

static void render_args(const qexpr *x, uint32_t from, const qschema *in, vg_buf *out)
{
    for (uint32_t i = from; i < x->nargs; i++) {
        if (i > from)
            vg_buf_puts(out, ", ");
        render(x->args[i], in, out, 0);
    }
}

static void render_call(const qexpr *x, const qschema *in, vg_buf *out, int parent_prec)
{
    const char *name = x->fn->name;
    const infix_op *op = find_infix(x);
    if (op) {
        bool paren = op->prec < parent_prec;
        vg_buf_puts(out, paren ? "(" : "");
        render(x->args[0], in, out, op->prec);
        vg_buf_printf(out, " %s ", op->text);
        render(x->args[1], in, out, op->prec + 1);
        vg_buf_puts(out, paren ? ")" : "");
    } else if (!strcmp(name, QP_FN_NOT) && x->nargs == 1) {
        vg_buf_puts(out, parent_prec > 3 ? "(NOT " : "NOT ");
        render(x->args[0], in, out, 3);
        vg_buf_puts(out, parent_prec > 3 ? ")" : "");
    } else if (!strcmp(name, QP_FN_NEG) && x->nargs == 1) {
        vg_buf_puts(out, "(- ");
        render(x->args[0], in, out, 8);
        vg_buf_putc(out, ')');
    } else if ((!strcmp(name, QP_FN_IS_NULL) || !strcmp(name, QP_FN_IS_NOT_NULL)) &&
               x->nargs == 1) {
        render(x->args[0], in, out, 8);
        vg_buf_puts(out, !strcmp(name, QP_FN_IS_NULL) ? " IS NULL" : " IS NOT NULL");
    } else {
        vg_buf_printf(out, "%s(", name);
        render_args(x, 0, in, out);
        vg_buf_putc(out, ')');
    }
}

static void render(const qexpr *x, const qschema *in, vg_buf *out, int parent_prec)
{
    switch (x->kind) {
    case QX_LITERAL: render_value(&x->lit, out); break;
    case QX_COLUMN: render_column(x->col, in, out); break;
    case QX_CALL: render_call(x, in, out, parent_prec); break;
    case QX_CAST:
        vg_buf_puts(out, "CAST(");
        render(x->args[0], in, out, 0);
        vg_buf_printf(out, " AS %s)", qtype_name(x->type));
        break;
    case QX_CASE:
        vg_buf_puts(out, "CASE");
        for (uint32_t i = 0; i + 1 < x->nargs; i += 2) {
            vg_buf_puts(out, " WHEN ");
            render(x->args[i], in, out, 0);
            vg_buf_puts(out, " THEN ");
            render(x->args[i + 1], in, out, 0);
        }
        vg_buf_puts(out, " ELSE ");
        render(x->args[x->nargs - 1], in, out, 0);
        vg_buf_puts(out, " END");
        break;
    case QX_IN_LIST:
        vg_buf_puts(out, parent_prec > 4 ? "(" : "");
        render(x->args[0], in, out, 5);
        vg_buf_puts(out, x->negated ? " NOT IN (" : " IN (");
        render_args(x, 1, in, out);
        vg_buf_puts(out, parent_prec > 4 ? "))" : ")");
        break;
    case QX_FIELD:
        render(x->args[0], in, out, 9);
        vg_buf_puts(out, x->field ? "['time']" : "['value']");
        break;
    }
}

void qp_render_expr(const qexpr *x, const qschema *in, vg_buf *out)
{
    render(x, in, out, 0);
}

/* ---- metrics (EXPLAIN ANALYZE) ---- */

struct qp_metrics {
    qop *inner;
    uint64_t rows;
    uint64_t batches;
    int64_t ns; /* inside open/next/close of the operator and its inputs */
    uint64_t chunks_total;
    uint64_t chunks_pruned;
    uint64_t rows_scanned;
    uint64_t chunks_flagged;
    uint64_t rows_pooled;
};

typedef struct m_mark {
    int64_t t0;
    uint64_t chunks_total, chunks_pruned, rows_scanned, chunks_flagged, rows_pooled;
} m_mark;

static m_mark m_start(const qctx *c)
{
    return (m_mark){vg_mono_ns(),      c->chunks_total,   c->chunks_pruned,
                    c->rows_scanned,   c->chunks_flagged, c->rows_pooled};
}

/* Counter deltas are only meaningful for scans (leaves): other operators' deltas
 * include their inputs', and are not shown. */
static void m_stop(qp_metrics *m, const qctx *c, const m_mark *k)
{
    m->ns += vg_mono_ns() - k->t0;
    m->chunks_total += c->chunks_total - k->chunks_total;
    m->chunks_pruned += c->chunks_pruned - k->chunks_pruned;
    m->rows_scanned += c->rows_scanned - k->rows_scanned;
    m->chunks_flagged += c->chunks_flagged - k->chunks_flagged;
    m->rows_pooled += c->rows_pooled - k->rows_pooled;
}

static int m_open(qop *op, qctx *c)
{
    qp_metrics *m = op->state;
    m_mark k = m_start(c);
    int rc = m->inner->vt->open(m->inner, c);
    m_stop(m, c, &k);
    return rc;
}

static int m_next(qop *op, qctx *c, qbatch **out)
{
    qp_metrics *m = op->state;
    m_mark k = m_start(c);
    int rc = m->inner->vt->next(m->inner, c, out);
    m_stop(m, c, &k);
    if (!rc && *out) {
        m->rows += (*out)->nrows;
        m->batches++;
    }
    return rc;
}

static void m_close(qop *op, qctx *c)
{
    qp_metrics *m = op->state;
    m_mark k = m_start(c);
    m->inner->vt->close(m->inner, c);
    m_stop(m, c, &k);
}

static const qop_vt metrics_vt = {"Metrics", m_open, m_next, m_close};

qop *qp_instrument(qctx *c, qop *op, qp_node *n)
{
    qp_metrics *m = qp_alloc(c, sizeof *m);
    qop *w = qp_alloc(c, sizeof *w);
    if (!m || !w)
        return NULL;
    m->inner = op;
    w->vt = &metrics_vt;
    w->schema = op->schema;
    w->input = op;
    w->state = m;
    n->metrics = m;
    return w;
}

static void render_ns(int64_t ns, vg_buf *out)
{
    if (ns < 1000)
        vg_buf_printf(out, "%lldns", (long long)ns);
    else if (ns < 1000000)
        vg_buf_printf(out, "%.3fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        vg_buf_printf(out, "%.3fms", (double)ns / 1e6);
    else
        vg_buf_printf(out, "%.3fs", (double)ns / 1e9);
}

/* Time of the inputs' operators (through aliases, which have none). */
static int64_t inputs_ns(const qp_node *n)
{
    int64_t t = 0;
    for (uint32_t i = 0; i < n->nin; i++)
        t += n->in[i]->metrics ? n->in[i]->metrics->ns : inputs_ns(n->in[i]);
    return t;
}

static void render_metrics(const qp_node *n, vg_buf *out)
{
    const qp_metrics *m = n->metrics;
    vg_buf_printf(out, " metrics=[output_rows=%llu", (unsigned long long)m->rows);
    if (n->kind == QP_SCAN)
        vg_buf_printf(out, ", rows_scanned=%llu, chunks=%llu, chunks_pruned=%llu",
                      (unsigned long long)m->rows_scanned, (unsigned long long)m->chunks_total,
                      (unsigned long long)m->chunks_pruned);
    if (n->kind == QP_SCAN && m->chunks_flagged)
        vg_buf_printf(out, ", chunks_flagged=%llu, rows_pooled=%llu",
                      (unsigned long long)m->chunks_flagged, (unsigned long long)m->rows_pooled);
    vg_buf_puts(out, ", elapsed=");
    int64_t self = m->ns - inputs_ns(n);
    render_ns(self > 0 ? self : 0, out);
    vg_buf_putc(out, ']');
}

/* ---- scans ---- */

static void render_scan_spec(const qp_node *n, vg_buf *out)
{
    const qscan_spec *s = &n->scan;
    vg_buf_puts(out, " projection=[");
    for (uint32_t i = 0; i < n->schema.n; i++)
        vg_buf_printf(out, "%s%s", i ? ", " : "", n->schema.f[i].name);
    vg_buf_putc(out, ']');
    if (s->time_min > s->time_max) {
        vg_buf_puts(out, " time=empty");
    } else if (s->time_min != INT64_MIN || s->time_max != INT64_MAX) {
        vg_buf_puts(out, " time=");
        if (s->time_min == INT64_MIN) {
            vg_buf_puts(out, "(-inf");
        } else {
            vg_buf_putc(out, '[');
            render_ts(s->time_min, out);
        }
        vg_buf_puts(out, ", ");
        if (s->time_max == INT64_MAX) {
            vg_buf_puts(out, "+inf)");
        } else {
            render_ts(s->time_max, out);
            vg_buf_putc(out, ']');
        }
    }
    if (s->ntag_eq) {
        vg_buf_puts(out, " tag_eq=[");
        for (uint32_t i = 0; i < s->ntag_eq; i++) {
            vg_buf_printf(out, "%s%s IN (", i ? ", " : "", n->tag_eq_names[i]);
            for (uint32_t k = 0; k < s->tag_eq[i].nvalues; k++) {
                if (k)
                    vg_buf_puts(out, ", ");
                render_string(s->tag_eq[i].values[k].p, s->tag_eq[i].values[k].len, out);
            }
            vg_buf_putc(out, ')');
        }
        vg_buf_putc(out, ']');
    }
    if (s->filter) {
        vg_buf_puts(out, " filter=");
        qp_render_expr(s->filter, &n->schema, out);
    }
}

/* Whether a chunk can hold a row whose tags are in every tag_eq set: a tag absent
 * from the chunk's dictionary appears in none of its rows. */
static bool chunk_tags_match(const buffer_chunk *ch, const qscan_spec *s)
{
    for (uint32_t i = 0; i < s->ntag_eq; i++) {
        const qscan_tag_eq *t = &s->tag_eq[i];
        if (t->col_id >= ch->ncols || !ch->cols[t->col_id].present || !ch->cols[t->col_id].dict)
            return false;
        bool any = false;
        for (uint32_t k = 0; k < t->nvalues && !any; k++)
            any = vg_map_get(&ch->cols[t->col_id].dict->index, t->values[k].p, t->values[k].len) !=
                  NULL;
        if (!any)
            return false;
    }
    return true;
}

/* Whether a source can hold a row whose tags are in every tag_eq set: a buffer
 * chunk's dictionaries, a file row group's statistics. */
static bool source_tags_match(const qp_node *n, const persist_source *src)
{
    if (src->chunk)
        return chunk_tags_match(src->chunk, &n->scan);
    for (uint32_t i = 0; i < n->scan.ntag_eq; i++) {
        const qscan_tag_eq *t = &n->scan.tag_eq[i];
        const char *name = n->scan.table->cols[t->col_id]->name;
        bool any = false;
        for (uint32_t k = 0; k < t->nvalues && !any; k++)
            any = persist_source_may_hold(src, name, t->values[k].p, t->values[k].len);
        if (!any)
            return false;
    }
    return true;
}

/* What the scan's pruning would skip now, with persistence: Parquet files skipped by
 * their time range, then row groups and buffer chunks by time and tags. */
static void render_view_estimate(qctx *c, const qp_node *n, vg_buf *out)
{
    persist_view *v = NULL;
    vg_err e = {0};
    if (persist_view_open(c->persist, n->scan.db_id, n->scan.table_id, INT64_MIN, INT64_MAX, &v,
                          &e) != VG_OK)
        return;
    uint64_t by_time = 0, by_tags = 0, rows = 0;
    size_t files = 0;
    const persist_file *last = NULL;
    for (size_t i = 0; i < v->n; i++) {
        const persist_source *src = &v->src[i];
        if (src->file && src->file != last) {
            files++;
            last = src->file;
        }
        if (src->max_time < n->scan.time_min || src->min_time > n->scan.time_max)
            by_time++;
        else if (!source_tags_match(n, src))
            by_tags++;
        else
            rows += src->nrows;
    }
    vg_buf_printf(out, " files=%zu chunks=%zu pruned=%llu (time %llu, tags %llu) rows<=%llu",
                  files, v->n, (unsigned long long)(by_time + by_tags),
                  (unsigned long long)by_time, (unsigned long long)by_tags,
                  (unsigned long long)rows);
    persist_view_close(v);
}

/* What the scan's pruning would skip now: the same tests the scan applies to the
 * write-buffer chunks, on a snapshot taken for the purpose. */
static void render_scan_estimate(qctx *c, const qp_node *n, vg_buf *out)
{
    if (c->persist) {
        render_view_estimate(c, n, out);
        return;
    }
    buffer_chunk **chunks = NULL;
    size_t nch = 0;
    vg_err e = {0};
    if (!c->buf || buffer_snapshot(c->buf, n->scan.db_id, n->scan.table_id, &chunks, &nch, &e))
        return;
    uint64_t by_time = 0, by_tags = 0, rows = 0;
    for (size_t i = 0; i < nch; i++) {
        const buffer_chunk *ch = chunks[i];
        if (ch->max_time < n->scan.time_min || ch->min_time > n->scan.time_max)
            by_time++;
        else if (!chunk_tags_match(ch, &n->scan))
            by_tags++;
        else
            rows += ch->nrows;
    }
    buffer_snapshot_release(chunks, nch);
    vg_buf_printf(out, " chunks=%zu pruned=%llu (time %llu, tags %llu) rows<=%llu", nch,
                  (unsigned long long)(by_time + by_tags), (unsigned long long)by_time,
                  (unsigned long long)by_tags, (unsigned long long)rows);
}

/* ---- plans ---- */

static uint64_t values_rows(const qp_node *n)
{
    uint64_t rows = 0;
    for (uint32_t i = 0; i < n->nbatches; i++)
        rows += n->batches[i].nrows;
    return rows;
}

static void render_projection(const qp_node *n, vg_buf *out)
{
    const qschema *in = &n->in[0]->schema;
    for (uint32_t i = 0; i < n->schema.n; i++) {
        if (i)
            vg_buf_puts(out, ", ");
        size_t start = out->len;
        qp_render_expr(n->exprs[i], in, out);
        const char *name = n->schema.f[i].name;
        const qexpr *x = n->exprs[i];
        bool same = x->kind == QX_COLUMN ? strcmp(in->f[x->col].name, name) == 0
                                         : !out->oom && strcmp(out->data + start, name) == 0;
        if (!same)
            vg_buf_printf(out, " AS %s", name);
    }
}

static void render_aggregate(const qp_node *n, bool physical, vg_buf *out)
{
    const qschema *in = &n->in[0]->schema;
    vg_buf_puts(out, physical ? "AggregateExec: gby=[" : "Aggregate: groupBy=[");
    /* Groups by the names the projection above refers to them by. */
    for (uint32_t i = 0; i < n->ngroup; i++) {
        if (i)
            vg_buf_puts(out, ", ");
        if (n->group[i]->kind == QX_COLUMN)
            qp_render_expr(n->group[i], in, out);
        else
            vg_buf_puts(out, n->schema.f[i].name);
    }
    vg_buf_puts(out, "], aggr=[");
    for (uint32_t i = 0; i < n->naggs; i++)
        vg_buf_printf(out, "%s%s", i ? ", " : "", n->schema.f[n->ngroup + i].name);
    vg_buf_putc(out, ']');
}

static void render_sort_keys(const qp_node *n, vg_buf *out)
{
    for (uint32_t i = 0; i < n->nkeys; i++) {
        if (i)
            vg_buf_puts(out, ", ");
        qp_render_expr(n->keys[i].expr, &n->in[0]->schema, out);
        vg_buf_printf(out, " %s NULLS %s", n->keys[i].desc ? "DESC" : "ASC",
                      n->keys[i].nulls_first ? "FIRST" : "LAST");
    }
}

static void render_limit(const qp_node *n, bool physical, vg_buf *out)
{
    vg_buf_printf(out, "%s: skip=%llu, fetch=", physical ? "LimitExec" : "Limit",
                  (unsigned long long)n->offset);
    if (n->limit == UINT64_MAX)
        vg_buf_puts(out, "None");
    else
        vg_buf_printf(out, "%llu", (unsigned long long)n->limit);
}

static void render_line(qctx *c, const qp_node *n, bool physical, vg_buf *out)
{
    switch (n->kind) {
    case QP_SCAN:
        vg_buf_printf(out, "%s: %s", physical ? "ScanExec" : "TableScan", n->table_name);
        render_scan_spec(n, out);
        if (physical && !n->metrics)
            render_scan_estimate(c, n, out);
        break;
    case QP_VALUES:
        if (!physical && !strcmp(n->label, "EmptyRelation"))
            vg_buf_puts(out, "EmptyRelation");
        else
            vg_buf_printf(out, "%s: %s rows=%llu", physical ? "ValuesExec" : "Values", n->label,
                          (unsigned long long)values_rows(n));
        break;
    case QP_SYSTEM:
        vg_buf_printf(out, "%s: %s", physical ? "SystemTableExec" : "SystemTable", n->label);
        break;
    case QP_FILTER:
        vg_buf_puts(out, physical ? "FilterExec: " : "Filter: ");
        qp_render_expr(n->pred, &n->in[0]->schema, out);
        break;
    case QP_PROJECT:
        vg_buf_puts(out, physical ? "ProjectionExec: expr=[" : "Projection: ");
        render_projection(n, out);
        vg_buf_puts(out, physical ? "]" : "");
        break;
    case QP_AGGREGATE: render_aggregate(n, physical, out); break;
    case QP_SORT:
        if (physical && n->fetch)
            vg_buf_printf(out, "SortExec: TopK(fetch=%llu), expr=[", (unsigned long long)n->fetch);
        else
            vg_buf_puts(out, physical ? "SortExec: expr=[" : "Sort: ");
        render_sort_keys(n, out);
        if (physical)
            vg_buf_putc(out, ']');
        else if (n->fetch)
            vg_buf_printf(out, ", fetch=%llu", (unsigned long long)n->fetch);
        break;
    case QP_LIMIT: render_limit(n, physical, out); break;
    case QP_DISTINCT: vg_buf_puts(out, physical ? "DistinctExec" : "Distinct:"); break;
    case QP_UNION: vg_buf_puts(out, physical ? "UnionExec" : "Union"); break;
    case QP_ALIAS: vg_buf_printf(out, "SubqueryAlias: %s", n->alias); break;
    }
    if (n->metrics)
        render_metrics(n, out);
}

static void render_tree(qctx *c, const qp_node *n, bool physical, int depth, vg_buf *out)
{
    /* An alias is a name, not an operator: the physical plan has no line for it. */
    if (!(physical && n->kind == QP_ALIAS)) {
        if (out->len)
            vg_buf_putc(out, '\n');
        for (int i = 0; i < depth; i++)
            vg_buf_puts(out, "  ");
        render_line(c, n, physical, out);
        depth++;
    }
    for (uint32_t i = 0; i < n->nin; i++)
        render_tree(c, n->in[i], physical, depth, out);
}

int qp_render_plan(qctx *c, const qp_node *n, bool physical, vg_buf *out)
{
    render_tree(c, n, physical, 0, out);
    return out->oom ? vg_err_set(c->err, VG_ENOMEM, "out of memory while explaining the query")
                    : VG_OK;
}

/* ---- EXPLAIN statements ---- */

static int run_to_end(qctx *c, qop *op)
{
    /* Closed even when open fails: a failed open may hold a buffer snapshot. */
    int rc = op->vt->open(op, c);
    qbatch *b = NULL;
    while (!rc) {
        rc = op->vt->next(op, c, &b);
        if (!b)
            break;
    }
    op->vt->close(op, c);
    return rc;
}

static int explain_analyze(qctx *c, qp_node *n, vg_buf *out)
{
    qop *op;
    int rc = qp_lower(c, n, true, &op);
    if (rc)
        return rc;
    int64_t t0 = vg_mono_ns();
    if ((rc = run_to_end(c, op)))
        return rc;
    int64_t elapsed = vg_mono_ns() - t0;
    if ((rc = qp_render_plan(c, n, true, out)))
        return rc;
    const qp_metrics *root = n->metrics;
    for (const qp_node *k = n; !root && k->nin; k = k->in[0])
        root = k->in[0]->metrics; /* the root may be an alias */
    vg_buf_printf(out,
                  "\nTotals: output_rows=%llu, rows_scanned=%llu, chunks=%llu, "
                  "chunks_pruned=%llu, elapsed=",
                  (unsigned long long)(root ? root->rows : 0), (unsigned long long)c->rows_scanned,
                  (unsigned long long)c->chunks_total, (unsigned long long)c->chunks_pruned);
    render_ns(elapsed, out);
    return out->oom ? oom(c) : VG_OK;
}

static void free_bufs(vg_buf *b, int n)
{
    for (int i = 0; i < n; i++)
        vg_buf_free(&b[i]);
}

int qp_explain(qp_binder *b, const ast_stmt *stmt, qop **root)
{
    static const char *const names[] = {"plan_type", "plan"};
    qctx *c = b->c;
    vg_buf text[3];
    const char *cells[6];
    uint32_t nrows = 0;
    qp_node *n, *vn;
    int rc;
    for (int i = 0; i < 3; i++)
        vg_buf_init(&text[i]);
    if ((rc = qp_plan_query(b, stmt->query, &n)))
        goto done;
    if (stmt->verbose) {
        if ((rc = qp_render_plan(c, n, false, &text[0])))
            goto done;
        cells[2 * nrows] = "initial_logical_plan";
        cells[2 * nrows++ + 1] = text[0].data ? text[0].data : "";
    }
    if ((rc = qp_optimize(c, &n)) || (rc = qp_render_plan(c, n, false, &text[1])))
        goto done;
    cells[2 * nrows] = "logical_plan";
    cells[2 * nrows++ + 1] = text[1].data ? text[1].data : "";
    rc = stmt->analyze ? explain_analyze(c, n, &text[2]) : qp_render_plan(c, n, true, &text[2]);
    if (rc)
        goto done;
    cells[2 * nrows] = stmt->analyze ? "Plan with Metrics" : "physical_plan";
    cells[2 * nrows++ + 1] = text[2].data ? text[2].data : "";
    if (stmt->analyze && !stmt->verbose) {
        /* DataFusion's EXPLAIN ANALYZE is the one row with the metrics. */
        cells[0] = cells[2];
        cells[1] = cells[3];
        nrows = 1;
    }
    if (!(rc = qp_values_strings(c, "EXPLAIN", names, 2, cells, nrows, &vn)))
        rc = qp_lower(c, vn, false, root);
done:
    free_bufs(text, 3);
    return rc;
}
