/*
 * ingest/ingest.c: the write path, from a line-protocol body to an acknowledgement,
 * and WAL replay through the very same validate-and-apply code.
 *
 * Order of work for one request (see ingest.h):
 *   parse (no lock) -> [ingest lock + catalog write lock] resolve database, validate
 *   every line and extend the schema, commit the catalog, append the WAL record,
 *   apply rows to the buffer [unlock] -> wait for the WAL fsync -> ack.
 * The ingest lock makes WAL order equal buffer order, which is what makes "later
 * write wins" deterministic, and it is also what replay reproduces.
 */
#include "ingest_int.h"

#include "lineproto/lineproto.h"

#include <lz4.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* WAL record header of an ingest record (ingest/README.md). Little-endian. The
 * first byte tells the kind: written lines, or a row delete (a tombstone). */
#define REC_VERSION 1
#define REC_KIND_DELETE 2
#define REC_HEADER_BYTES 16
/* validate_line: a replayed line of a table deleted after its record was written. */
#define LINE_SKIPPED (-1)
/* Flag in header byte 2: the lines are LZ4-compressed, and a u32 with their
 * uncompressed length follows the header. */
#define REC_FLAG_LZ4 1
/* Bodies smaller than this are stored as they are: too small to be worth it. */
#define REC_COMPRESS_MIN_BYTES 4096

/* The lines of a record, LZ4-compressed (when ingest_config.compress_wal) if that
 * saves at least a tenth. Compressing runs outside every lock and halves the WAL's
 * bytes on typical sensor lines; measured on a 2-core VM it cost ~12% of batch
 * throughput, so it is off by default (bench/README.md). */
typedef struct packed_body {
    const char *data;
    size_t len;
    uint32_t raw_len;
} packed_body;

struct ingest {
    catalog *cat;
    wal *wal;
    buffer *buf;
    bool compress_wal;
    size_t buffer_hard_limit;
    pthread_mutex_t lock;
    ingest_durable_fn on_durable;
    void *on_durable_ctx;
    ingest_batch_fn on_batch;
    void *on_batch_ctx;
    atomic_uint_fast64_t requests, lines, fields, bytes, rejected;
};

/* A line that passed validation, ready for the buffer. */
typedef struct resolved_row {
    uint32_t table_id;
    uint32_t ncols; /* table's column count after this line */
    int64_t time;
    buffer_value *vals;
    uint32_t nvals;
    uint32_t nfields;
} resolved_row;

/* Per-request validation state, including a one-line cache: consecutive lines of
 * the same table with the same keys (the common case) skip every hash lookup. */
typedef struct validator {
    ingest *ig;
    catalog_db *db;
    lp_precision prec;
    int64_t default_time;
    vg_arena *arena;
    const lp_line *prev;
    catalog_table *prev_table;
    catalog_column **prev_cols; /* tags then fields of prev */
    uint64_t replay_seq;        /* replaying WAL record replay_seq; 0 = a live write */
} validator;

int ingest_new(const ingest_config *cfg, ingest **out, vg_err *e)
{
    ingest *ig = vg_calloc(1, sizeof *ig);
    if (!ig)
        return vg_err_set(e, VG_ENOMEM, "out of memory creating the ingest path");
    ig->cat = cfg->cat;
    ig->wal = cfg->wal;
    ig->buf = cfg->buf;
    ig->compress_wal = cfg->compress_wal;
    ig->buffer_hard_limit = cfg->buffer_hard_limit;
    pthread_mutex_init(&ig->lock, NULL);
    *out = ig;
    return VG_OK;
}

void ingest_free(ingest *ig)
{
    if (!ig)
        return;
    pthread_mutex_destroy(&ig->lock);
    vg_free(ig);
}

void ingest_set_on_durable(ingest *ig, ingest_durable_fn fn, void *ctx)
{
    ig->on_durable = fn;
    ig->on_durable_ctx = ctx;
}

catalog *ig_catalog(ingest *ig)
{
    return ig->cat;
}

void ingest_set_batch_hook(ingest *ig, ingest_batch_fn fn, void *ctx)
{
    ig->on_batch = fn;
    ig->on_batch_ctx = ctx;
}

int ingest_sync(ingest *ig, uint64_t seq, vg_err *e)
{
    return wal_sync(ig->wal, seq, e);
}

void ingest_get_stats(ingest *ig, ingest_stats *out)
{
    out->requests = atomic_load(&ig->requests);
    out->lines = atomic_load(&ig->lines);
    out->fields = atomic_load(&ig->fields);
    out->bytes = atomic_load(&ig->bytes);
    out->rejected_lines = atomic_load(&ig->rejected);
}

/* ---- small helpers ---- */

typedef size_t (*unescape_fn)(lp_slice s, char *out);

/* Unescaped bytes of a slice: the slice itself when it has no escapes. */
static const char *unescaped(const lp_slice *s, unescape_fn fn, vg_arena *a, uint32_t *len)
{
    if (!s->escaped) {
        *len = s->len;
        return s->ptr;
    }
    char *out = vg_arena_alloc(a, s->len + 1);
    if (!out)
        return NULL;
    *len = (uint32_t)fn(*s, out);
    out[*len] = '\0';
    return out;
}

/* Tag keys, tag values and field keys. */
static const char *slice_bytes(const lp_slice *s, vg_arena *a, uint32_t *len)
{
    return unescaped(s, lp_unescape, a, len);
}

static bool same_slice(const lp_slice *a, const lp_slice *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static catalog_type field_type(lp_type t)
{
    switch (t) {
    case LP_FLOAT: return CATALOG_FLOAT;
    case LP_INT: return CATALOG_INT;
    case LP_UINT: return CATALOG_UINT;
    case LP_STRING: return CATALOG_STRING;
    case LP_BOOL: return CATALOG_BOOL;
    }
    return CATALOG_FLOAT;
}

static uint32_t column_of(const lp_line *l, const char *p)
{
    return (uint32_t)(p - l->text) + 1;
}

/* The timestamp is the last element of a line: walk back over trailing blanks,
 * then over its digits and sign. */
static uint32_t timestamp_column(const lp_line *l)
{
    uint32_t end = l->text_len;
    while (end > 0 && (l->text[end - 1] == ' ' || l->text[end - 1] == '\r'))
        end--;
    uint32_t start = end;
    while (start > 0 && ((l->text[start - 1] >= '0' && l->text[start - 1] <= '9') ||
                         l->text[start - 1] == '-'))
        start--;
    return start + 1;
}

/* Records a per-line error in the result (message copied into the arena). */
static int add_line_error(ingest_result *res, vg_arena *a, size_t *cap, const lp_line *l,
                          uint32_t column, const char *msg, bool limit)
{
    if (res->nerrors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        ingest_line_error *ne = vg_arena_alloc(a, ncap * sizeof *ne);
        if (!ne)
            return VG_ENOMEM;
        if (res->nerrors)
            memcpy(ne, res->errors, res->nerrors * sizeof *ne);
        res->errors = ne;
        *cap = ncap;
    }
    char *m = vg_arena_strndup(a, msg, strlen(msg));
    if (!m)
        return VG_ENOMEM;
    res->errors[res->nerrors++] = (ingest_line_error){
        .line_no = l->line_no, .column = column, .text = l->text, .text_len = l->text_len,
        .msg = m, .limit = limit};
    return VG_OK;
}

/* ---- validation ---- */

/* Finds or creates a line's table. */
static int resolve_table(validator *v, const lp_line *l, catalog_table **out, vg_err *e)
{
    if (v->prev && same_slice(&v->prev->measurement, &l->measurement)) {
        *out = v->prev_table;
        return VG_OK;
    }
    uint32_t len;
    const char *name = unescaped(&l->measurement, lp_unescape_measurement, v->arena, &len);
    if (!name)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    if (v->replay_seq && catalog_table_deleted_after(v->db, name, len, v->replay_seq))
        return LINE_SKIPPED; /* the rows went with the table they were written to */
    catalog_table *t = catalog_table_find(v->db, name, len);
    if (!t)
        return catalog_table_create(v->ig->cat, v->db, name, len, out, e);
    *out = t;
    return VG_OK;
}

/* True when l has exactly prev's tag and field keys, in the same order. */
static bool same_keys_as_prev(const validator *v, const lp_line *l)
{
    const lp_line *p = v->prev;
    if (!p || p->ntags != l->ntags || p->nfields != l->nfields)
        return false;
    for (uint32_t i = 0; i < l->ntags; i++)
        if (!same_slice(&p->tags[i].key, &l->tags[i].key))
            return false;
    for (uint32_t i = 0; i < l->nfields; i++)
        if (!same_slice(&p->fields[i].key, &l->fields[i].key) ||
            p->fields[i].type != l->fields[i].type)
            return false;
    return true;
}

/* Checks one key against the table; creates the column when missing. On a
 * user-caused problem fills msg/limit and returns VG_EINVAL or VG_ELIMIT. */
static int resolve_column(validator *v, catalog_table *t, const lp_slice *key, catalog_type type,
                          catalog_column **out, char *msg, size_t msgsz, vg_err *e)
{
    uint32_t len;
    const char *name = slice_bytes(key, v->arena, &len);
    if (!name)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    catalog_column *c = catalog_column_find(t, name, len);
    if (c && c->type == CATALOG_TIME) {
        snprintf(msg, msgsz, "'%.*s' is a reserved column", (int)len, name);
        return VG_EINVAL;
    }
    if (c && c->type != type) {
        snprintf(msg, msgsz, "invalid column type for column '%.*s', expected %s, got %s",
                 (int)(len > 200 ? 200 : len), name, catalog_type_iox_name(c->type),
                 catalog_type_iox_name(type));
        return VG_EINVAL;
    }
    if (c) {
        *out = c;
        return VG_OK;
    }
    vg_err ce;
    int rc = catalog_column_add(v->ig->cat, t, name, len, type, out, &ce);
    if (rc == VG_EINVAL || rc == VG_ELIMIT) {
        snprintf(msg, msgsz, "%s", ce.msg);
        return rc;
    }
    if (rc != VG_OK)
        return vg_err_set(e, (vg_code)rc, "%s", ce.msg);
    return VG_OK;
}

/* Checks every key of a line before creating anything, so that a line with a type
 * conflict does not leave new columns behind. Returns the offending key's index in
 * tags-then-fields order, or -1. */
static int first_conflict(validator *v, catalog_table *t, const lp_line *l, char *msg,
                          size_t msgsz)
{
    for (uint32_t i = 0; i < l->ntags + l->nfields; i++) {
        const lp_slice *key = i < l->ntags ? &l->tags[i].key : &l->fields[i - l->ntags].key;
        catalog_type type = i < l->ntags ? CATALOG_TAG : field_type(l->fields[i - l->ntags].type);
        uint32_t len;
        const char *name = slice_bytes(key, v->arena, &len);
        if (!name)
            return -1;
        catalog_column *c = catalog_column_find(t, name, len);
        if (!c)
            continue;
        if (c->type == CATALOG_TIME) {
            snprintf(msg, msgsz, "'%.*s' is a reserved column", (int)len, name);
            return (int)i;
        }
        if (c->type != type) {
            snprintf(msg, msgsz, "invalid column type for column '%.*s', expected %s, got %s",
                     (int)(len > 200 ? 200 : len), name, catalog_type_iox_name(c->type),
                     catalog_type_iox_name(type));
            return (int)i;
        }
    }
    return -1;
}

static const lp_slice *key_at(const lp_line *l, uint32_t i)
{
    return i < l->ntags ? &l->tags[i].key : &l->fields[i - l->ntags].key;
}

/* Resolves the columns of a line into cols (tags then fields). Returns VG_OK, a
 * line-level VG_EINVAL/VG_ELIMIT with msg and *col_at set, or a fatal code in e. */
static int resolve_columns(validator *v, catalog_table *t, const lp_line *l, catalog_column **cols,
                           char *msg, size_t msgsz, uint32_t *col_at, vg_err *e)
{
    if (v->prev && v->prev_table == t && same_keys_as_prev(v, l)) {
        memcpy(cols, v->prev_cols, (l->ntags + l->nfields) * sizeof *cols);
        return VG_OK;
    }
    int bad = first_conflict(v, t, l, msg, msgsz);
    if (bad >= 0) {
        *col_at = column_of(l, key_at(l, (uint32_t)bad)->ptr);
        return VG_EINVAL;
    }
    for (uint32_t i = 0; i < l->ntags + l->nfields; i++) {
        catalog_type type = i < l->ntags ? CATALOG_TAG : field_type(l->fields[i - l->ntags].type);
        int rc = resolve_column(v, t, key_at(l, i), type, &cols[i], msg, msgsz, e);
        if (rc == VG_EINVAL || rc == VG_ELIMIT)
            *col_at = column_of(l, key_at(l, i)->ptr);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static int fill_values(validator *v, const lp_line *l, catalog_column **cols, buffer_value *vals)
{
    for (uint32_t i = 0; i < l->ntags; i++) {
        uint32_t len;
        const char *s = slice_bytes(&l->tags[i].val, v->arena, &len);
        if (!s)
            return VG_ENOMEM;
        vals[i] = (buffer_value){.col = cols[i]->id, .type = CATALOG_TAG};
        vals[i].v.s.p = s;
        vals[i].v.s.len = len;
    }
    for (uint32_t i = 0; i < l->nfields; i++) {
        const lp_field *f = &l->fields[i];
        buffer_value *bv = &vals[l->ntags + i];
        *bv = (buffer_value){.col = cols[l->ntags + i]->id, .type = field_type(f->type)};
        switch (f->type) {
        case LP_FLOAT: bv->v.f = f->v.f; break;
        case LP_INT: bv->v.i = f->v.i; break;
        case LP_UINT: bv->v.u = f->v.u; break;
        case LP_BOOL: bv->v.b = f->v.b; break;
        case LP_STRING: {
            if (!f->v.s.escaped) {
                bv->v.s.p = f->v.s.ptr;
                bv->v.s.len = f->v.s.len;
                break;
            }
            const char *s = unescaped(&f->v.s, lp_unescape_string_field, v->arena, &bv->v.s.len);
            if (!s)
                return VG_ENOMEM;
            bv->v.s.p = s;
            break;
        }
        }
    }
    return VG_OK;
}

/* Validates one line; on success fills row. Line-level problems return VG_EINVAL or
 * VG_ELIMIT with msg/col_at; anything else is fatal for the request. */
static int validate_line(validator *v, const lp_line *l, resolved_row *row, char *msg,
                         size_t msgsz, uint32_t *col_at, vg_err *e)
{
    catalog_table *t;
    vg_err te;
    int rc = resolve_table(v, l, &t, &te);
    if (rc == LINE_SKIPPED)
        return rc;
    if (rc == VG_EINVAL || rc == VG_ELIMIT) {
        snprintf(msg, msgsz, "%s", te.msg);
        *col_at = 1;
        return rc;
    }
    if (rc != VG_OK)
        return vg_err_set(e, (vg_code)rc, "%s", te.msg);

    int64_t t_ns = v->default_time;
    if (l->has_time) {
        vg_err se;
        if (lp_scale_time(l->time, v->prec, &t_ns, &se) != VG_OK) {
            snprintf(msg, msgsz, "%s", se.msg);
            *col_at = timestamp_column(l);
            return VG_EINVAL;
        }
    }

    uint32_t nkeys = l->ntags + l->nfields;
    catalog_column **cols = vg_arena_alloc(v->arena, (nkeys ? nkeys : 1) * sizeof *cols);
    buffer_value *vals = vg_arena_alloc(v->arena, (nkeys ? nkeys : 1) * sizeof *vals);
    if (!cols || !vals)
        return vg_err_set(e, VG_ENOMEM, "out of memory validating line %u", l->line_no);
    rc = resolve_columns(v, t, l, cols, msg, msgsz, col_at, e);
    if (rc != VG_OK)
        return rc;
    if (fill_values(v, l, cols, vals) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory validating line %u", l->line_no);

    v->prev = l;
    v->prev_table = t;
    v->prev_cols = cols;
    *row = (resolved_row){.table_id = t->id, .ncols = t->ncols, .time = t_ns, .vals = vals,
                          .nvals = nkeys, .nfields = l->nfields};
    return VG_OK;
}

/* Validates every good line of a batch. rows[i] is filled for lines that pass and
 * ok[i] says which did. Line errors go to res. */
static int validate_batch(validator *v, const lp_batch *b, bool stop_at_first, resolved_row *rows,
                          bool *ok, ingest_result *res, size_t *errcap, vg_err *e)
{
    for (size_t i = 0; i < b->nlines; i++) {
        char msg[512];
        uint32_t col_at = 1;
        int rc = validate_line(v, &b->lines[i], &rows[i], msg, sizeof msg, &col_at, e);
        ok[i] = rc == VG_OK;
        if (rc == VG_OK || rc == LINE_SKIPPED)
            continue;
        if (rc != VG_EINVAL && rc != VG_ELIMIT)
            return rc;
        v->prev = NULL; /* the cache must not outlive a failed line */
        if (add_line_error(res, v->arena, errcap, &b->lines[i], col_at, msg, rc == VG_ELIMIT))
            return vg_err_set(e, VG_ENOMEM, "out of memory");
        if (stop_at_first)
            return VG_OK;
    }
    return VG_OK;
}

static int apply_rows(ingest *ig, uint32_t db_id, const resolved_row *rows, const bool *ok,
                      size_t n, uint64_t seq, uint64_t *nfields, vg_err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        const resolved_row *r = &rows[i];
        int rc = buffer_append(ig->buf, db_id, r->table_id, r->ncols, r->time, r->vals, r->nvals,
                               seq, e);
        if (rc != VG_OK)
            return rc;
        *nfields += r->nfields;
    }
    return VG_OK;
}

/* ---- WAL record ---- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void encode_header(unsigned char *h, uint32_t db_id, lp_precision prec,
                          int64_t default_time)
{
    memset(h, 0, REC_HEADER_BYTES);
    h[0] = REC_VERSION;
    h[1] = (unsigned char)prec;
    put_u32(h + 4, db_id);
    uint64_t t = (uint64_t)default_time;
    put_u32(h + 8, (uint32_t)t);
    put_u32(h + 12, (uint32_t)(t >> 32));
}

/* Compresses the whole body when it is big enough and compresses well; else
 * pk->data stays NULL and the record keeps the text. */
static void pack_body(const char *body, size_t len, vg_arena *a, packed_body *pk)
{
    pk->data = NULL;
    if (len < REC_COMPRESS_MIN_BYTES || len > (size_t)LZ4_MAX_INPUT_SIZE)
        return;
    int bound = LZ4_compressBound((int)len);
    char *out = vg_arena_alloc(a, (size_t)bound);
    if (!out)
        return; /* not fatal: the text goes in uncompressed */
    int n = LZ4_compress_default(body, out, (int)len, bound);
    if (n <= 0 || (size_t)n > len - len / 10)
        return;
    *pk = (packed_body){out, (size_t)n, (uint32_t)len};
}

/* Appends the WAL record holding the good lines: the whole body when every line is
 * good (compressed, or as is without a copy), else the good lines joined by '\n'. */
static int append_wal_record(ingest *ig, const ingest_request *req, uint32_t db_id,
                             lp_precision prec, int64_t default_time, const lp_batch *b,
                             const bool *ok, bool all_good, const packed_body *pk, vg_arena *a,
                             uint64_t *seq, vg_err *e)
{
    unsigned char hdr[REC_HEADER_BYTES + 4];
    encode_header(hdr, db_id, prec, default_time);
    if (all_good && pk->data) {
        hdr[2] = REC_FLAG_LZ4;
        put_u32(hdr + REC_HEADER_BYTES, pk->raw_len);
        vg_str parts[2] = {{(const char *)hdr, sizeof hdr}, {pk->data, pk->len}};
        return wal_appendv(ig->wal, parts, 2, seq, e);
    }
    if (all_good) {
        vg_str parts[2] = {{(const char *)hdr, REC_HEADER_BYTES}, {req->body, req->body_len}};
        return wal_appendv(ig->wal, parts, 2, seq, e);
    }
    vg_str *parts = vg_arena_alloc(a, (1 + 2 * b->nlines) * sizeof *parts);
    if (!parts)
        return vg_err_set(e, VG_ENOMEM, "out of memory building the WAL record");
    size_t n = 0;
    parts[n++] = (vg_str){(const char *)hdr, REC_HEADER_BYTES};
    for (size_t i = 0; i < b->nlines; i++) {
        if (!ok[i])
            continue;
        parts[n++] = (vg_str){b->lines[i].text, b->lines[i].text_len};
        parts[n++] = (vg_str){"\n", 1};
    }
    return wal_appendv(ig->wal, parts, n, seq, e);
}

/* ---- the write ---- */

static int resolve_precision(const ingest_request *req, lp_precision *prec, vg_err *e)
{
    bool v3 = req->api == INGEST_API_V3;
    const char *p = req->precision ? req->precision : (v3 ? "auto" : "ns");
    vg_err pe;
    if (lp_parse_precision(p, strlen(p), v3, prec, &pe) != VG_OK)
        return vg_err_set(e, VG_EINVAL, "serde error: %s", pe.msg);
    return VG_OK;
}

static int find_or_create_db(ingest *ig, const ingest_request *req, catalog_db **db, vg_err *e)
{
    *db = catalog_db_find(ig->cat, req->db, req->db_len);
    if (*db)
        return VG_OK;
    return catalog_db_create(ig->cat, req->db, req->db_len, 0, db, e);
}

/* The rows a write applied, for the batch hook. */
typedef struct applied_rows {
    uint32_t db_id;
    const resolved_row *rows;
    const bool *ok;
    size_t n;
} applied_rows;

/* Hands the applied rows to the batch hook; only called when one is set. */
static void call_batch_hook(ingest *ig, const applied_rows *ap, uint64_t seq, bool synced,
                            vg_arena *a)
{
    ingest_row *rows = vg_arena_alloc(a, (ap->n ? ap->n : 1) * sizeof *rows);
    if (!rows) {
        VG_ERROR("ingest", "out of memory handing %zu rows to the processing engine", ap->n);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < ap->n; i++)
        if (ap->ok[i])
            rows[n++] = (ingest_row){ap->rows[i].table_id, ap->rows[i].time, ap->rows[i].vals,
                                     ap->rows[i].nvals};
    ingest_batch batch = {ap->db_id, seq, synced, rows, n};
    ig->on_batch(ig->on_batch_ctx, &batch);
}

/* Everything that happens under the ingest lock. */
static int write_locked(ingest *ig, const ingest_request *req, const lp_batch *b,
                        lp_precision prec, int64_t default_time, const packed_body *pk,
                        vg_arena *a, ingest_result *res, size_t *errcap, uint64_t *seq,
                        applied_rows *applied, vg_err *e)
{
    catalog_db *db;
    int rc = find_or_create_db(ig, req, &db, e);
    if (rc != VG_OK)
        return rc;
    resolved_row *rows = vg_arena_alloc(a, (b->nlines ? b->nlines : 1) * sizeof *rows);
    bool *ok = vg_arena_calloc(a, b->nlines ? b->nlines : 1);
    if (!rows || !ok)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    validator v = {.ig = ig, .db = db, .prec = prec, .default_time = default_time, .arena = a};
    size_t parse_errors = res->nerrors;
    rc = validate_batch(&v, b, !req->accept_partial, rows, ok, res, errcap, e);
    if (rc != VG_OK)
        return rc;
    /* Schema changes become durable before any data that uses them. */
    rc = catalog_commit(ig->cat, e);
    if (rc != VG_OK)
        return rc;
    if (!req->accept_partial && res->nerrors > 0) {
        res->rejected_all = true;
        return VG_OK;
    }
    size_t good = b->nlines - (res->nerrors - parse_errors);
    if (good == 0)
        return VG_OK;
    rc = append_wal_record(ig, req, db->id, prec, default_time, b, ok, res->nerrors == 0, pk, a,
                           seq, e);
    if (rc != VG_OK)
        return rc;
    uint64_t nfields = 0;
    rc = apply_rows(ig, db->id, rows, ok, b->nlines, *seq, &nfields, e);
    if (rc != VG_OK)
        return rc;
    *applied = (applied_rows){db->id, rows, ok, b->nlines};
    res->lines_written = good;
    atomic_fetch_add(&ig->fields, nfields);
    return VG_OK;
}

/* Copies the parser's errors into the result. */
static int collect_parse_errors(const lp_batch *b, vg_arena *a, ingest_result *res, size_t *cap)
{
    for (size_t i = 0; i < b->nerrors; i++) {
        const lp_error *pe = &b->errors[i];
        lp_line fake = {.line_no = pe->line_no, .text = pe->text, .text_len = pe->text_len};
        if (add_line_error(res, a, cap, &fake, pe->column, pe->msg, false) != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* Parse errors and validation errors were collected separately; present them in
 * line order, as Core does. */
static void sort_errors(ingest_result *res)
{
    for (size_t i = 1; i < res->nerrors; i++) {
        ingest_line_error x = res->errors[i];
        size_t j = i;
        while (j > 0 && res->errors[j - 1].line_no > x.line_no) {
            res->errors[j] = res->errors[j - 1];
            j--;
        }
        res->errors[j] = x;
    }
}

/* Holds a writer back while the buffer is over its hard limit: the snapshot thread
 * is persisting, and letting writes run ahead of it would grow memory without
 * bound. The TCP connection simply waits, as with a slow disk. */
static void wait_for_room(ingest *ig)
{
    size_t limit = ig->buffer_hard_limit;
    if (!limit || buffer_mem_bytes(ig->buf) <= limit)
        return;
    int64_t t0 = vg_mono_ns();
    while (buffer_mem_bytes(ig->buf) > limit) {
        if (vg_mono_ns() - t0 > INGEST_BACKPRESSURE_MAX_NS) {
            VG_WARN("ingest", "write buffer still over %zu bytes after %lld s: writing anyway",
                    limit, INGEST_BACKPRESSURE_MAX_NS / 1000000000LL);
            return;
        }
        vg_sleep_ns(2 * VG_NS_PER_MS);
    }
}

int ingest_write(ingest *ig, const ingest_request *req, vg_arena *a, ingest_result *res,
                 vg_err *e)
{
    memset(res, 0, sizeof *res);
    wait_for_room(ig);
    lp_precision prec;
    int rc = resolve_precision(req, &prec, e);
    if (rc != VG_OK)
        return rc;
    rc = catalog_validate_db_name(req->db, req->db_len, e);
    if (rc != VG_OK)
        return rc;
    bool accept_partial = req->api == INGEST_API_V3 && req->accept_partial;
    lp_options opt = {.stop_at_first_error = !accept_partial};
    lp_batch b;
    int64_t t_start = vg_mono_ns();
    if (lp_parse(req->body, req->body_len, &opt, a, &b) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory parsing the request body");
    if (b.nlines == 0 && b.nerrors == 0)
        return vg_err_set(e, VG_EINVAL, "incoming write was empty");
    atomic_fetch_add(&ig->requests, 1);
    atomic_fetch_add(&ig->bytes, req->body_len);

    size_t errcap = 0;
    if (collect_parse_errors(&b, a, res, &errcap) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    if (!accept_partial && b.nerrors > 0) {
        res->rejected_all = true;
        atomic_fetch_add(&ig->rejected, 1);
        return VG_OK;
    }
    int64_t now = req->now_ns ? req->now_ns : vg_now_ns();
    int64_t default_time = lp_default_time(now, prec);
    ingest_request r = *req;
    r.accept_partial = accept_partial;

    packed_body pk = {0};
    if (b.nerrors == 0 && ig->compress_wal)
        pack_body(req->body, req->body_len, a, &pk);
    uint64_t seq = 0;
    applied_rows applied = {0};
    int64_t t_parsed = vg_mono_ns();
    pthread_mutex_lock(&ig->lock);
    int64_t t_locked = vg_mono_ns();
    catalog_write_lock(ig->cat);
    rc = write_locked(ig, &r, &b, prec, default_time, &pk, a, res, &errcap, &seq, &applied, e);
    catalog_write_unlock(ig->cat);
    pthread_mutex_unlock(&ig->lock);
    int64_t t_applied = vg_mono_ns();
    if (rc != VG_OK)
        return rc;
    sort_errors(res);
    atomic_fetch_add(&ig->lines, res->lines_written);
    atomic_fetch_add(&ig->rejected, res->rejected_all ? b.nlines + b.nerrors : res->nerrors);
    if (seq == 0)
        return VG_OK;
    if (!req->no_sync) {
        rc = wal_sync(ig->wal, seq, e);
        if (rc != VG_OK)
            return rc;
    }
    if (vg_log_enabled(VG_LOG_DEBUG, "ingest"))
        VG_DEBUG("ingest", "%zu lines: parse %.3f ms, lock wait %.3f ms, apply %.3f ms, sync %.3f ms",
                 b.nlines, (double)(t_parsed - t_start) / 1e6, (double)(t_locked - t_parsed) / 1e6,
                 (double)(t_applied - t_locked) / 1e6, (double)(vg_mono_ns() - t_applied) / 1e6);
    if (ig->on_durable && !req->no_sync)
        ig->on_durable(ig->on_durable_ctx, 0, seq);
    if (ig->on_batch && applied.n)
        call_batch_hook(ig, &applied, seq, !req->no_sync, a);
    return VG_OK;
}

/* ---- replay ---- */

typedef struct replay_ctx {
    ingest *ig;
    uint64_t records;
    uint64_t skipped;
    vg_arena arena;
} replay_ctx;

/* The lines of a record, decompressed into the replay arena when packed. */
static int record_body(replay_ctx *ctx, uint64_t seq, const unsigned char *h, size_t len,
                       const char **body, size_t *body_len, vg_err *e)
{
    if (!(h[2] & REC_FLAG_LZ4)) {
        *body = (const char *)h + REC_HEADER_BYTES;
        *body_len = len - REC_HEADER_BYTES;
        return VG_OK;
    }
    uint32_t raw = len >= REC_HEADER_BYTES + 4 ? get_u32(h + REC_HEADER_BYTES) : 0;
    char *out = raw ? vg_arena_alloc(&ctx->arena, raw) : NULL;
    if (!out)
        return vg_err_set(e, raw ? VG_ENOMEM : VG_ECORRUPT,
                          "WAL record %llu: cannot hold its %u uncompressed bytes",
                          (unsigned long long)seq, raw);
    int n = LZ4_decompress_safe((const char *)h + REC_HEADER_BYTES + 4, out,
                                (int)(len - REC_HEADER_BYTES - 4), (int)raw);
    if (n != (int)raw)
        return vg_err_set(e, VG_ECORRUPT,
                          "WAL record %llu passed its checksum but does not decompress",
                          (unsigned long long)seq);
    *body = out;
    *body_len = raw;
    return VG_OK;
}

static int replay_delete(replay_ctx *ctx, uint64_t seq, const unsigned char *h, size_t len,
                         vg_err *e);

static int replay_record(void *vctx, uint64_t seq, const void *rec, size_t len, vg_err *e)
{
    replay_ctx *ctx = vctx;
    ingest *ig = ctx->ig;
    const unsigned char *h = rec;
    if (len >= REC_HEADER_BYTES && h[0] == REC_KIND_DELETE)
        return replay_delete(ctx, seq, h, len, e);
    if (len < REC_HEADER_BYTES || h[0] != REC_VERSION || h[1] > LP_PREC_S) {
        VG_WARN("ingest", "WAL record %llu is not an ingest record of a known version; skipped",
                (unsigned long long)seq);
        ctx->skipped++;
        return VG_OK;
    }
    lp_precision prec = (lp_precision)h[1];
    uint32_t db_id = get_u32(h + 4);
    int64_t default_time = (int64_t)((uint64_t)get_u32(h + 8) | (uint64_t)get_u32(h + 12) << 32);
    catalog_db *db = catalog_db_get(ig->cat, db_id);
    if (!db || db->deleted) {
        ctx->skipped++;
        return VG_OK; /* the database was deleted after this write */
    }
    vg_arena_reset(&ctx->arena);
    const char *body = NULL;
    size_t body_len = 0;
    int rc = record_body(ctx, seq, h, len, &body, &body_len, e);
    if (rc != VG_OK)
        return rc;
    lp_batch b;
    lp_options opt = {0};
    if (lp_parse(body, body_len, &opt, &ctx->arena, &b) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory replaying WAL record %llu",
                          (unsigned long long)seq);
    ingest_result res = {0};
    size_t errcap = 0;
    resolved_row *rows = vg_arena_alloc(&ctx->arena, (b.nlines ? b.nlines : 1) * sizeof *rows);
    bool *ok = vg_arena_calloc(&ctx->arena, b.nlines ? b.nlines : 1);
    if (!rows || !ok)
        return vg_err_set(e, VG_ENOMEM, "out of memory replaying");
    validator v = {.ig = ig, .db = db, .prec = prec, .default_time = default_time,
                   .arena = &ctx->arena, .replay_seq = seq};
    rc = validate_batch(&v, &b, false, rows, ok, &res, &errcap, e);
    if (rc == VG_OK)
        rc = catalog_commit(ig->cat, e);
    if (rc != VG_OK)
        return rc;
    if (res.nerrors || b.nerrors)
        VG_WARN("ingest", "WAL record %llu: %zu line(s) no longer valid were skipped (first: %s)",
                (unsigned long long)seq, res.nerrors + b.nerrors,
                res.nerrors ? res.errors[0].msg : b.errors[0].msg);
    uint64_t nfields = 0;
    rc = apply_rows(ig, db_id, rows, ok, b.nlines, seq, &nfields, e);
    ctx->records++;
    return rc;
}

/* A delete record: the buffered rows it matched are gone again, and the catalog gets
 * its tombstone if the crash came before the delete could commit it (no file was
 * written in between: the delete holds off snapshots, so every file is older). */
static int replay_delete(replay_ctx *ctx, uint64_t seq, const unsigned char *h, size_t len,
                         vg_err *e)
{
    ingest *ig = ctx->ig;
    catalog_tombstone *t = NULL;
    int rc = catalog_tombstone_decode(h + REC_HEADER_BYTES, len - REC_HEADER_BYTES, &t);
    if (rc != VG_OK)
        return vg_err_set(e, (vg_code)rc, "WAL record %llu passed its checksum but does not hold "
                          "a row delete", (unsigned long long)seq);
    ctx->records++;
    catalog_db *db = catalog_db_get(ig->cat, t->db_id);
    catalog_table *tab = db && !db->deleted && t->table_id < db->ntables
                             ? db->tables[t->table_id] : NULL;
    if (!tab || tab->deleted) {
        ctx->skipped++; /* the whole table or database went afterwards */
        catalog_tombstone_free(t);
        return VG_OK;
    }
    buffer_delete *plan = NULL;
    rc = buffer_delete_prepare(ig->buf, t, &plan, e);
    if (rc == VG_OK)
        buffer_delete_commit(ig->buf, plan);
    if (rc == VG_OK && !catalog_tombstone_by_wal(tab, seq)) {
        t->id = catalog_file_id_next(ig->cat);
        t->wal_seq = seq;
        rc = catalog_tombstone_add(ig->cat, t, e);
        if (rc == VG_OK)
            rc = catalog_commit(ig->cat, e);
        if (rc == VG_OK)
            VG_INFO("ingest", "WAL record %llu: recorded the row delete a crash interrupted",
                    (unsigned long long)seq);
    }
    catalog_tombstone_free(t);
    return rc;
}

int ingest_replay(ingest *ig, uint64_t *records, vg_err *e)
{
    replay_ctx ctx = {.ig = ig};
    vg_arena_init(&ctx.arena, 1 << 20);
    catalog_write_lock(ig->cat);
    /* Records through the persisted mark are in Parquet files already. */
    int rc = wal_replay(ig->wal, catalog_persisted_seq(ig->cat), replay_record, &ctx, e);
    catalog_write_unlock(ig->cat);
    vg_arena_free(&ctx.arena);
    if (records)
        *records = ctx.records;
    return rc;
}

int ingest_seal(ingest *ig, buffer_chunk ***chunks, size_t *n, uint64_t *wal_seq, vg_err *e)
{
    pthread_mutex_lock(&ig->lock);
    uint64_t max_in_chunks;
    int rc = buffer_seal(ig->buf, chunks, n, &max_in_chunks, e);
    /* Every record appended so far is applied (append and apply happen under this
     * lock), so the last one bounds what the sealed chunks cover. */
    *wal_seq = wal_last_seq(ig->wal);
    wal_roll_next(ig->wal); /* records after the seal go to a segment of their own */
    pthread_mutex_unlock(&ig->lock);
    return rc;
}

int ingest_delete_database(ingest *ig, const char *name, size_t len, int64_t hard_delete_at_ns,
                           vg_err *e)
{
    pthread_mutex_lock(&ig->lock);
    catalog_write_lock(ig->cat);
    int rc;
    catalog_db *db = catalog_db_find(ig->cat, name, len);
    if (!db) {
        rc = vg_err_set(e, VG_ENOTFOUND, "database not found: %.*s", (int)len, name);
        goto unlock;
    }
    uint32_t id = db->id;
    rc = catalog_db_delete(ig->cat, db, e);
    if (rc == VG_OK && hard_delete_at_ns)
        rc = catalog_db_set_hard_delete(ig->cat, db, hard_delete_at_ns, e);
    if (rc == VG_OK)
        rc = catalog_commit(ig->cat, e);
    if (rc == VG_OK)
        buffer_drop_db(ig->buf, id);
unlock:
    catalog_write_unlock(ig->cat);
    pthread_mutex_unlock(&ig->lock);
    return rc;
}

int ingest_delete_table(ingest *ig, const char *db_name, const char *table, int64_t hard_delete_at_ns,
                        vg_err *e)
{
    pthread_mutex_lock(&ig->lock);
    catalog_write_lock(ig->cat);
    int rc;
    catalog_db *db = catalog_db_find(ig->cat, db_name, strlen(db_name));
    catalog_table *t = db ? catalog_table_find(db, table, strlen(table)) : NULL;
    if (!db) {
        rc = vg_err_set(e, VG_ENOTFOUND, "database not found: %s", db_name);
        goto unlock;
    }
    if (!t) {
        rc = vg_err_set(e, VG_ENOTFOUND, "table not found: %s", table);
        goto unlock;
    }
    /* Every record appended so far was written before the delete (appends happen
     * under this lock). */
    rc = catalog_table_delete(ig->cat, t, wal_last_seq(ig->wal), e);
    if (rc == VG_OK && hard_delete_at_ns)
        rc = catalog_table_set_hard_delete(ig->cat, t, hard_delete_at_ns, e);
    if (rc == VG_OK)
        rc = catalog_commit(ig->cat, e);
    if (rc == VG_OK)
        buffer_drop_table(ig->buf, db->id, t->id);
unlock:
    catalog_write_unlock(ig->cat);
    pthread_mutex_unlock(&ig->lock);
    return rc;
}

/* The delete record: the ingest header with the kind and the database, then the
 * tombstone's bytes (its id and WAL position are not known yet: zero). */
static int append_delete_record(ingest *ig, const catalog_tombstone *t, uint64_t *seq, vg_err *e)
{
    unsigned char hdr[REC_HEADER_BYTES];
    memset(hdr, 0, sizeof hdr);
    hdr[0] = REC_KIND_DELETE;
    put_u32(hdr + 4, t->db_id);
    catalog_tombstone copy = *t;
    copy.id = 0;
    copy.wal_seq = 0;
    size_t n = catalog_tombstone_encoded_size(&copy);
    uint8_t *body = vg_malloc(n);
    if (!body)
        return vg_err_set(e, VG_ENOMEM, "out of memory writing a delete to the WAL");
    catalog_tombstone_encode(&copy, body);
    vg_str parts[2] = {{(const char *)hdr, sizeof hdr}, {(const char *)body, n}};
    int rc = wal_appendv(ig->wal, parts, 2, seq, e);
    vg_free(body);
    return rc;
}

/* The table must still be there, live, with the predicates' tag columns. */
static int check_delete_target(ingest *ig, const catalog_tombstone *t, vg_err *e)
{
    catalog_read_lock(ig->cat);
    catalog_db *db = catalog_db_get(ig->cat, t->db_id);
    catalog_table *tab = db && !db->deleted && t->table_id < db->ntables
                             ? db->tables[t->table_id] : NULL;
    int rc = tab && !tab->deleted ? VG_OK : VG_ENOTFOUND;
    catalog_read_unlock(ig->cat);
    if (rc != VG_OK)
        return vg_err_set(e, VG_ENOTFOUND, "the table was deleted while its rows were being "
                                           "deleted");
    return VG_OK;
}

int ingest_delete_rows(ingest *ig, const catalog_tombstone *t, uint64_t *wal_seq,
                       uint64_t *buffered_rows, vg_err *e)
{
    *wal_seq = 0;
    *buffered_rows = 0;
    pthread_mutex_lock(&ig->lock);
    buffer_delete *plan = NULL;
    int rc = check_delete_target(ig, t, e);
    if (rc == VG_OK)
        rc = buffer_delete_prepare(ig->buf, t, &plan, e);
    if (rc == VG_OK)
        rc = append_delete_record(ig, t, wal_seq, e);
    if (rc == VG_OK) {
        *buffered_rows = buffer_delete_rows(plan);
        buffer_delete_commit(ig->buf, plan);
    } else {
        buffer_delete_abort(plan);
    }
    pthread_mutex_unlock(&ig->lock);
    /* A delete is acknowledged only once durable, whatever no_sync writes do. */
    if (rc == VG_OK)
        rc = wal_sync(ig->wal, *wal_seq, e);
    return rc;
}
