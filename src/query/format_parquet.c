/*
 * query/format_parquet.c: format=parquet, one Parquet file per query result. Owns the
 * mapping of a result schema onto a Parquet schema, the check that refuses a column
 * Parquet cannot hold (in qfmt_init, so the client gets a 400 before any byte), and
 * the adaptation of qbatch slices (qstr strings, dictionary form, validity bits at any
 * row offset) into the column arrays the parquet writer takes.
 *
 * The writer appends to the formatter's output buffer: "PAR1" at begin, a row group
 * each time one fills (QFMT_PARQUET_GROUP_ROWS rows, or earlier once about
 * QFMT_PARQUET_GROUP_BYTES of values are staged), the footer at end. So a large result
 * leaves the server in pieces and the server holds about one row group at a time.
 *
 * Types: Boolean -> BOOLEAN, Int64 -> INT64, UInt64 -> INT64 (unsigned), Float64 ->
 * DOUBLE, Utf8 -> STRING, Timestamp -> TIMESTAMP(NANOS) with isAdjustedToUTC=false;
 * every column OPTIONAL. Timestamps are written as InfluxDB 3 Core writes them
 * (Arrow Timestamp(ns, None), the type our `time` is): readers keep nanoseconds
 * (DuckDB reads the UTC-adjusted form only as microseconds). Tag columns of the
 * scanned table, when the result column is one unchanged, are listed in the
 * `vigil:tags` metadata.
 */
#include "format_int.h"
#include "parquet/parquet.h"

#include <string.h>

/* Per column, what a slice needs rebuilt: validity re-based to the slice's first row
 * (when it does not start on a byte), string slices, a converted dictionary. */
typedef struct pq_scratch {
    uint8_t *valid;
    vg_str *strs;
    size_t rows_cap; /* rows valid and strs hold */
    vg_str *dict;
    size_t dict_cap;
} pq_scratch;

struct qfmt_parquet {
    parquet_writer *w;
    vg_buf *out;               /* the buffer the writer appends to (borrowed) */
    parquet_column_def *defs;  /* names borrowed from the result schema */
    parquet_column_data *data; /* one per column, refilled per slice */
    pq_scratch *scratch;       /* one per column */
    size_t group_bytes;        /* estimated value bytes staged in the current row group */
    uint64_t written;          /* parquet_writer_bytes() when last looked at */
};

static int pq_oom(vg_err *e)
{
    return vg_err_set(e, VG_ENOMEM, "out of memory formatting the query result");
}

/* ---- schema ---- */

static bool parquet_type_of(qtype t, parquet_type *out)
{
    switch (t) {
    case QT_BOOL: *out = PARQUET_BOOL; return true;
    case QT_INT: *out = PARQUET_INT64; return true;
    case QT_UINT: *out = PARQUET_UINT64; return true;
    case QT_FLOAT: *out = PARQUET_DOUBLE; return true;
    case QT_STRING: *out = PARQUET_STRING; return true;
    case QT_TIMESTAMP: *out = PARQUET_TIMESTAMP; return true;
    case QT_NULL:
    case QT_INTERVAL:
    case QT_SELECTOR: break;
    }
    return false;
}

/* What the user can write instead, for each type Parquet output refuses. */
static const char *unsupported_hint(qtype t)
{
    switch (t) {
    case QT_INTERVAL: return "cast it to BIGINT (nanoseconds) or VARCHAR";
    case QT_SELECTOR: return "select its members with ['value'] and ['time'] instead";
    case QT_NULL: return "cast it to a type, e.g. CAST(NULL AS DOUBLE)";
    default: return "cast it to another type";
    }
}

int qfmt_parquet_check(const qschema *s, vg_err *e)
{
    for (uint32_t c = 0; c < s->n; c++) {
        parquet_type t;
        if (!parquet_type_of(s->f[c].type, &t))
            return vg_err_set(e, VG_EINVAL,
                              "format 'parquet' cannot hold column '%s' of type %s: %s, or "
                              "use another format",
                              s->f[c].name, qtype_name(s->f[c].type),
                              unsupported_hint(s->f[c].type));
    }
    return VG_OK;
}

static int build_defs(qfmt_parquet *p, const qschema *s, vg_err *e)
{
    size_t n = s->n ? s->n : 1;
    p->defs = vg_calloc(n, sizeof *p->defs);
    p->data = vg_calloc(n, sizeof *p->data);
    p->scratch = vg_calloc(n, sizeof *p->scratch);
    if (!p->defs || !p->data || !p->scratch)
        return pq_oom(e);
    for (uint32_t c = 0; c < s->n; c++) {
        parquet_column_def *d = &p->defs[c];
        d->name = s->f[c].name;
        if (VG_NEVER(!parquet_type_of(s->f[c].type, &d->type)))
            return vg_err_set(e, VG_EINTERNAL, "column '%s' has no Parquet type", d->name);
        /* Results may hold nulls wherever the plan says otherwise (outer expressions,
         * aggregates over nothing): OPTIONAL always, as Core's nullable Arrow fields. */
        d->nullable = true;
        d->tag = s->f[c].is_tag && s->f[c].type == QT_STRING;
    }
    return VG_OK;
}

/* ---- slices ---- */

static int scratch_rows(pq_scratch *sc, size_t n, vg_err *e)
{
    if (n <= sc->rows_cap)
        return VG_OK;
    uint8_t *valid = vg_realloc(sc->valid, (n + 7) / 8);
    if (!valid)
        return pq_oom(e);
    sc->valid = valid;
    vg_str *strs = vg_realloc(sc->strs, n * sizeof *strs);
    if (!strs)
        return pq_oom(e);
    sc->strs = strs;
    sc->rows_cap = n;
    return VG_OK;
}

/* The validity of rows [from, from + n) as a bitmap starting at bit 0: a pointer into
 * the vector when `from` falls on a byte, else a shifted copy. */
static const uint8_t *slice_valid(const qvec *v, uint32_t from, uint32_t n, pq_scratch *sc)
{
    if (!v->valid)
        return NULL;
    if (from % 8 == 0)
        return v->valid + from / 8;
    memset(sc->valid, 0, (n + 7) / 8);
    for (uint32_t i = 0; i < n; i++)
        if (qvec_is_valid(v, from + i))
            sc->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    return sc->valid;
}

/* A dictionary-form vector goes to the writer as ids when its dictionary is no larger
 * than the slice (converting it costs less than hashing every row's string); otherwise
 * the strings go row by row. Returns the estimated bytes the writer stages. */
static size_t slice_strings(const qvec *v, uint32_t from, uint32_t n, pq_scratch *sc,
                            parquet_column_data *d, vg_err *e, int *rc)
{
    *rc = VG_OK;
    if (v->ids && v->dict_n <= n) {
        if (v->dict_n > sc->dict_cap) {
            vg_str *dict = vg_realloc(sc->dict, v->dict_n * sizeof *dict);
            if (!dict) {
                *rc = pq_oom(e);
                return 0;
            }
            sc->dict = dict;
            sc->dict_cap = v->dict_n;
        }
        for (uint32_t k = 0; k < v->dict_n; k++)
            sc->dict[k] = (vg_str){v->dict[k].p, v->dict[k].len};
        d->ids = v->ids + from;
        d->dict = sc->dict;
        d->ndict = v->dict_n;
        return (size_t)n * 4; /* the writer stages a 4-byte id per row */
    }
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!qvec_is_valid(v, from + i)) {
            sc->strs[i] = (vg_str){"", 0};
            continue;
        }
        qstr s = qvec_str(v, from + i);
        sc->strs[i] = (vg_str){s.len ? s.p : "", s.len};
        bytes += s.len + 4;
    }
    d->strs = sc->strs;
    return bytes;
}

/* Fills d with rows [from, from + n) of v; adds the bytes the writer will stage. */
static int slice_column(const qvec *v, uint32_t from, uint32_t n, pq_scratch *sc,
                        parquet_column_data *d, size_t *bytes, vg_err *e)
{
    int rc = scratch_rows(sc, n, e);
    if (rc != VG_OK)
        return rc;
    memset(d, 0, sizeof *d);
    d->valid = slice_valid(v, from, n, sc);
    switch (v->type) {
    case QT_BOOL:
        d->b = v->v.b + from;
        *bytes += n;
        return VG_OK;
    case QT_INT:
    case QT_TIMESTAMP: d->i64 = v->v.i64 + from; break;
    case QT_UINT: d->u64 = v->v.u64 + from; break;
    case QT_FLOAT: d->f64 = v->v.f64 + from; break;
    case QT_STRING: *bytes += slice_strings(v, from, n, sc, d, e, &rc); return rc;
    default:
        return vg_err_set(e, VG_EINTERNAL, "a %s vector reached the Parquet formatter",
                          qtype_name(v->type));
    }
    *bytes += (size_t)n * 8;
    return VG_OK;
}

/* Ends the row group early once its staged values pass the byte cap, so wide rows
 * (long strings) cannot make the server hold a huge row group. The writer cuts row
 * groups by row count itself; any output since the last look means it just did, and
 * the estimate starts over (off by at most one slice). */
static int maybe_flush(qfmt *f, size_t bytes, vg_err *e)
{
    qfmt_parquet *p = f->parquet;
    uint64_t now = parquet_writer_bytes(p->w);
    p->group_bytes = now != p->written ? 0 : p->group_bytes + bytes;
    p->written = now;
    if (p->group_bytes < f->parquet_group_bytes)
        return VG_OK;
    int rc = parquet_writer_flush(p->w, e);
    p->group_bytes = 0;
    p->written = parquet_writer_bytes(p->w);
    return rc;
}

/* ---- the formatter ---- */

int qfmt_parquet_begin(qfmt *f, vg_buf *out, vg_err *e)
{
    qfmt_parquet *p = vg_calloc(1, sizeof *p);
    if (!p)
        return pq_oom(e);
    f->parquet = p; /* owned by f from here: qfmt_parquet_free releases it */
    p->out = out;
    int rc = build_defs(p, f->schema, e);
    if (rc != VG_OK)
        return rc;
    parquet_schema schema = {p->defs, f->schema->n};
    parquet_write_options opt = {
        .row_group_rows = f->parquet_group_rows,
        /* Timestamp(ns, None) as Core writes it; see the top of the file. */
        .local_timestamps = true,
    };
    rc = parquet_writer_open_buf(&p->w, out, &schema, &opt, e);
    if (rc == VG_OK)
        p->written = parquet_writer_bytes(p->w);
    return rc;
}

int qfmt_parquet_rows(qfmt *f, const qbatch *b, uint32_t from, uint32_t to, vg_buf *out, vg_err *e)
{
    qfmt_parquet *p = f->parquet;
    if (VG_NEVER(!p || !p->w || out != p->out))
        return vg_err_set(e, VG_EINTERNAL, "the Parquet formatter was not begun on this buffer");
    if (from == to)
        return VG_OK;
    size_t bytes = 0;
    for (uint32_t c = 0; c < b->ncols; c++) {
        int rc = slice_column(&b->cols[c], from, to - from, &p->scratch[c], &p->data[c], &bytes, e);
        if (rc != VG_OK)
            return rc;
    }
    int rc = parquet_writer_write(p->w, p->data, to - from, e);
    return rc != VG_OK ? rc : maybe_flush(f, bytes, e);
}

int qfmt_parquet_end(qfmt *f, vg_buf *out, vg_err *e)
{
    qfmt_parquet *p = f->parquet;
    if (VG_NEVER(!p || !p->w || out != p->out))
        return vg_err_set(e, VG_EINTERNAL, "the Parquet formatter was not begun on this buffer");
    return parquet_writer_finish(p->w, e);
}

void qfmt_parquet_free(qfmt *f)
{
    qfmt_parquet *p = f->parquet;
    if (!p)
        return;
    parquet_writer_free(p->w);
    for (uint32_t c = 0; p->scratch && c < f->schema->n; c++) {
        vg_free(p->scratch[c].valid);
        vg_free(p->scratch[c].strs);
        vg_free(p->scratch[c].dict);
    }
    vg_free(p->scratch);
    vg_free(p->data);
    vg_free(p->defs);
    vg_free(p);
    f->parquet = NULL;
}
