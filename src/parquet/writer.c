/*
 * parquet/writer.c: the streaming file writer.
 *
 * Rows are staged per column, one data page at a time (definition levels as bytes,
 * values in their plain form, string ids when dictionary-encoding). A full page is
 * encoded, compressed and appended to its column chunk in memory; a full row group
 * writes its chunks out column after column (dictionary page first) and keeps its
 * RowGroup footer entry. finish() writes the footer. Peak memory is therefore one
 * compressed row group plus one page per column.
 *
 * Statistics are gathered while staging: per chunk for the footer, per file for
 * parquet_writer_stats (the catalog records them).
 *
 * With opt.threads >= 2 a helper thread stages and compresses columns beside the
 * caller's thread: columns are independent until their chunks are written, so each
 * batch of rows (and the last page of each chunk) is shared out a column at a time,
 * each thread with its own page scratch. Writing to the file stays in column order
 * on the caller's thread, so the bytes are the same as with one thread.
 */
#include "parquet_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define DEFAULT_ROW_GROUP_ROWS (1u << 20)
#define DEFAULT_PAGE_BYTES (1u << 20)
#define DEFAULT_DICT_BYTES (1u << 20)
/* Rows per page whatever their size: bounds level and id arrays for readers. */
#define MAX_PAGE_ROWS (1u << 20)
/* A double column chunk whose first this many values are over 3/4 distinct drops its
 * dictionary at once. */
#define DICT_PROBE_VALUES 4096u
/* String statistics longer than this are truncated (still valid bounds). */
#define STAT_BYTES 64

typedef struct wstats {
    bool has; /* some non-null (and, for doubles, non-NaN) value was seen */
    uint64_t nulls;
    parquet_value min, max; /* numeric types */
    vg_buf smin, smax;      /* strings */
} wstats;

typedef struct colw {
    parquet_column_def def; /* name owned by the writer */
    parquet_encoding enc;   /* resolved; DICT may fall back to PLAIN per chunk */
    bool dict_on;           /* the current chunk still dictionary-encodes */
    /* AUTO doubles try a dictionary first (sensor readings often repeat a few values)
     * and fall back to `enc` for the chunk when values are mostly distinct */
    bool num_dict;
    uint32_t dict_pages; /* data pages of the chunk written dictionary-encoded */
    uint64_t chunk_vals; /* non-null values staged in the chunk so far */
    /* the page being staged */
    uint32_t rows;  /* nulls included */
    uint32_t nvals; /* non-null values */
    vg_buf defs;    /* one byte per row, nullable columns only */
    vg_buf vals;    /* 8-byte numbers, 1-byte bools, or 4-byte dictionary ids */
    vg_buf lens;    /* strings outside the dictionary: a uint32 length per value */
    vg_buf sbytes;  /* ... and their bytes */
    /* the column chunk of the current row group */
    vg_buf pages;
    uint64_t chunk_uncompressed;
    uint32_t encodings;
    vg_map dict_index; /* string -> id + 1 */
    vg_buf dict_plain; /* the dictionary page body */
    uint32_t ndict;
    wstats chunk_stats;
    wstats file_stats;
} colw;

/* One thread's scratch for encoding a page. */
typedef struct wscratch {
    vg_buf body, levels, comp, hdr;
    uint32_t *remap; /* caller dictionary id -> chunk id + 1, per staged slice */
} wscratch;

/* Work on column `col` with this thread's scratch; a failure fills e. */
typedef int (*column_fn)(parquet_writer *w, uint32_t col, wscratch *s, const void *arg,
                         vg_err *e);

/* The helper thread and the job it shares with the caller (run_columns). */
typedef struct helper {
    bool on;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;
    uint64_t posted, done; /* job generations */
    column_fn fn;
    const void *arg;
    atomic_uint next_col;
    int rc[2];
    uint32_t failed_col[2];
    vg_err err[2];
} helper;

struct parquet_writer {
    int fd;
    vg_buf *mem;
    uint64_t offset;
    parquet_write_options opt;
    parquet_kv *kv; /* copies */
    parquet_schema schema;
    parquet_column_def *defs;
    colw *cols;
    uint32_t rg_rows;
    uint64_t total_rows;
    uint32_t nrgs;
    vg_buf rg_meta; /* RowGroup structs written so far */
    pq_chunk_out *outs;
    wscratch scr[2]; /* [0] the caller's thread, [1] the helper's */
    parquet_column_data *filled; /* parquet_writer_write_filled's columns */
    helper hp;
    bool failed;
    bool finished;
};

const char *parquet_type_name(parquet_type t)
{
    switch (t) {
    case PARQUET_UNSUPPORTED: return "unsupported";
    case PARQUET_TIMESTAMP: return "timestamp";
    case PARQUET_STRING: return "string";
    case PARQUET_DOUBLE: return "double";
    case PARQUET_INT64: return "int64";
    case PARQUET_UINT64: return "uint64";
    case PARQUET_BOOL: return "bool";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */
/* ------------------------------------------------------------------------ */

static void stats_init(wstats *s)
{
    memset(s, 0, sizeof *s);
    vg_buf_init(&s->smin);
    vg_buf_init(&s->smax);
}

static void stats_reset(wstats *s)
{
    s->has = false;
    s->nulls = 0;
    vg_buf_reset(&s->smin);
    vg_buf_reset(&s->smax);
}

static void stats_free(wstats *s)
{
    vg_buf_free(&s->smin);
    vg_buf_free(&s->smax);
}

/* Byte-wise comparison, a prefix sorting first: Parquet's order for strings. */
static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = an && bn ? memcmp(a, b, an < bn ? an : bn) : 0;
    return c ? c : (an > bn) - (an < bn);
}

static void stats_str(wstats *s, const char *p, size_t n)
{
    if (!s->has || str_cmp(p, n, s->smin.data, s->smin.len) < 0) {
        vg_buf_reset(&s->smin);
        vg_buf_append(&s->smin, p, n);
    }
    if (!s->has || str_cmp(p, n, s->smax.data, s->smax.len) > 0) {
        vg_buf_reset(&s->smax);
        vg_buf_append(&s->smax, p, n);
    }
    s->has = true;
}

static void stats_i64(wstats *s, int64_t v)
{
    if (!s->has || v < s->min.i64)
        s->min.i64 = v;
    if (!s->has || v > s->max.i64)
        s->max.i64 = v;
    s->has = true;
}

static void stats_u64(wstats *s, uint64_t v)
{
    if (!s->has || v < s->min.u64)
        s->min.u64 = v;
    if (!s->has || v > s->max.u64)
        s->max.u64 = v;
    s->has = true;
}

static void stats_f64(wstats *s, double v)
{
    if (isnan(v)) /* NaN has no place in an order; readers expect it left out */
        return;
    /* zeros need no sign care here: stats_out writes -0.0 / +0.0 as the format asks */
    if (!s->has || v < s->min.f64)
        s->min.f64 = v;
    if (!s->has || v > s->max.f64)
        s->max.f64 = v;
    s->has = true;
}

static void stats_bool(wstats *s, bool v)
{
    if (!s->has || v < s->min.b)
        s->min.b = v;
    if (!s->has || v > s->max.b)
        s->max.b = v;
    s->has = true;
}

/* Folds chunk statistics into the file's. */
static void stats_merge(wstats *f, const wstats *c, parquet_type t)
{
    f->nulls += c->nulls;
    if (!c->has)
        return;
    switch (t) {
    case PARQUET_STRING:
        stats_str(f, c->smin.data, c->smin.len);
        stats_str(f, c->smax.data, c->smax.len);
        break;
    case PARQUET_UINT64:
        stats_u64(f, c->min.u64);
        stats_u64(f, c->max.u64);
        break;
    case PARQUET_DOUBLE:
        stats_f64(f, c->min.f64);
        stats_f64(f, c->max.f64);
        break;
    case PARQUET_BOOL:
        stats_bool(f, c->min.b);
        stats_bool(f, c->max.b);
        break;
    default: stats_i64(f, c->min.i64); stats_i64(f, c->max.i64);
    }
}

/* PLAIN-encoded bounds for the footer, into buf (>= 2 * STAT_BYTES). */
static void stats_out(const wstats *s, parquet_type t, uint8_t *buf, pq_chunk_out *o)
{
    o->null_count = (int64_t)s->nulls;
    o->has_min_max = s->has;
    o->min_exact = o->max_exact = true;
    if (!s->has)
        return;
    uint8_t *mn = buf, *mx = buf + STAT_BYTES;
    o->min = mn;
    o->max = mx;
    o->min_len = o->max_len = 8;
    switch (t) {
    case PARQUET_STRING: {
        o->min = s->smin.data ? s->smin.data : "";
        o->min_len = (uint32_t)s->smin.len;
        o->max = s->smax.data ? s->smax.data : "";
        o->max_len = (uint32_t)s->smax.len;
        if (o->min_len > STAT_BYTES) {
            o->min_len = STAT_BYTES; /* a prefix is <= the value */
            o->min_exact = false;
        }
        if (o->max_len > STAT_BYTES) {
            /* a prefix with its last non-0xff byte incremented is > the value */
            memcpy(mx, s->smax.data, STAT_BYTES);
            int k = STAT_BYTES - 1;
            while (k >= 0 && mx[k] == 0xff)
                k--;
            if (k < 0) {
                o->has_min_max = false;
                return;
            }
            mx[k]++;
            o->max = mx;
            o->max_len = (uint32_t)k + 1;
            o->max_exact = false;
        }
        return;
    }
    case PARQUET_DOUBLE: {
        /* the format asks for -0.0 as a zero min and +0.0 as a zero max */
        double a = s->min.f64 == 0 ? -0.0 : s->min.f64, b = s->max.f64 == 0 ? 0.0 : s->max.f64;
        memcpy(mn, &a, 8);
        memcpy(mx, &b, 8);
        return;
    }
    case PARQUET_BOOL:
        mn[0] = s->min.b;
        mx[0] = s->max.b;
        o->min_len = o->max_len = 1;
        return;
    default: pq_store_u64(mn, s->min.u64); pq_store_u64(mx, s->max.u64);
    }
}

static void stats_public(const wstats *s, parquet_type t, parquet_stats *out)
{
    memset(out, 0, sizeof *out);
    out->has_null_count = true;
    out->null_count = s->nulls;
    out->has_min_max = s->has;
    out->min_exact = out->max_exact = true;
    if (!s->has)
        return;
    if (t == PARQUET_STRING) {
        out->min.s = (vg_str){s->smin.data ? s->smin.data : "", s->smin.len};
        out->max.s = (vg_str){s->smax.data ? s->smax.data : "", s->smax.len};
    } else {
        out->min = s->min;
        out->max = s->max;
    }
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static int sink(parquet_writer *w, const void *p, size_t n, vg_err *e)
{
    if (w->mem) {
        vg_buf_append(w->mem, p, n);
        if (w->mem->oom)
            return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    } else if (vg_write_all(w->fd, p, n, e) != VG_OK) {
        return VG_EIO;
    }
    w->offset += n;
    return VG_OK;
}

static int fail(parquet_writer *w, int rc)
{
    w->failed = true;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Pages                                                                    */
/* ------------------------------------------------------------------------ */

static int value_encoding(const colw *c)
{
    if (c->dict_on && c->ndict > 0)
        return PQ_ENC_RLE_DICTIONARY;
    switch (c->enc) {
    case PARQUET_ENC_DELTA: return PQ_ENC_DELTA_BINARY_PACKED;
    case PARQUET_ENC_BYTE_STREAM_SPLIT: return PQ_ENC_BYTE_STREAM_SPLIT;
    case PARQUET_ENC_DELTA_LENGTH: return PQ_ENC_DELTA_LENGTH_BYTE_ARRAY;
    case PARQUET_ENC_DELTA_STRINGS: return PQ_ENC_DELTA_BYTE_ARRAY;
    case PARQUET_ENC_RLE: return PQ_ENC_RLE;
    default: return PQ_ENC_PLAIN;
    }
}

static void encode_plain(const colw *c, vg_buf *out)
{
    if (c->def.type == PARQUET_BOOL) {
        size_t nbytes = (c->nvals + 7) / 8;
        if (!vg_buf_reserve(out, nbytes))
            return;
        uint8_t *q = (uint8_t *)out->data + out->len;
        memset(q, 0, nbytes);
        for (uint32_t i = 0; i < c->nvals; i++)
            q[i >> 3] |= (uint8_t)(((const uint8_t *)c->vals.data)[i] << (i & 7));
        out->len += nbytes;
    } else if (c->def.type == PARQUET_STRING) {
        const uint32_t *lens = (const uint32_t *)c->lens.data;
        const char *p = c->sbytes.data;
        for (uint32_t i = 0; i < c->nvals; i++) {
            uint8_t l[4];
            pq_store_u32(l, lens[i]);
            vg_buf_append(out, l, 4);
            vg_buf_append(out, p, lens[i]);
            p += lens[i];
        }
    } else {
        vg_buf_append(out, c->vals.data, c->vals.len);
    }
}

static void encode_values(const colw *c, int enc, vg_buf *out)
{
    switch (enc) {
    case PQ_ENC_RLE_DICTIONARY: {
        int width = pq_bit_width(c->ndict - 1);
        if (width == 0)
            width = 1; /* some readers mishandle width 0 */
        vg_buf_putc(out, (char)width);
        pq_rle_encode(out, c->vals.data, 4, c->nvals, width);
        return;
    }
    case PQ_ENC_DELTA_BINARY_PACKED:
        pq_delta_encode(out, (const int64_t *)c->vals.data, c->nvals);
        return;
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (!vg_buf_reserve(out, c->vals.len))
            return;
        pq_bss_encode((uint8_t *)out->data + out->len, (const uint8_t *)c->vals.data, c->nvals, 8);
        out->len += c->vals.len;
        return;
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        pq_delta_length_encode(out, (const uint32_t *)c->lens.data, c->sbytes.data, c->nvals);
        return;
    case PQ_ENC_DELTA_BYTE_ARRAY:
        pq_delta_strings_encode(out, (const uint32_t *)c->lens.data, c->sbytes.data, c->nvals);
        return;
    case PQ_ENC_RLE: {
        /* booleans: a 4-byte length, then the hybrid at width 1 */
        size_t at = out->len;
        vg_buf_append(out, "\0\0\0\0", 4);
        pq_rle_encode(out, c->vals.data, 1, c->nvals, 1);
        if (!out->oom)
            pq_store_u32((uint8_t *)out->data + at, (uint32_t)(out->len - at - 4));
        return;
    }
    default: encode_plain(c, out);
    }
}

/* Definition levels as the hybrid at width 1; v1 pages prefix their length. */
static void encode_levels(const colw *c, vg_buf *out, bool prefix)
{
    size_t at = out->len;
    if (prefix)
        vg_buf_append(out, "\0\0\0\0", 4);
    pq_rle_encode(out, c->defs.data, 1, c->rows, 1);
    if (prefix && !out->oom)
        pq_store_u32((uint8_t *)out->data + at, (uint32_t)(out->len - at - 4));
}

static void reset_stage(colw *c)
{
    c->rows = c->nvals = 0;
    vg_buf_reset(&c->defs);
    vg_buf_reset(&c->vals);
    vg_buf_reset(&c->lens);
    vg_buf_reset(&c->sbytes);
}

/* The staged page of a dictionary-trying double column goes back to raw values:
 * ids looked up in the dictionary. The dictionary itself stays only if earlier
 * pages of the chunk use it. */
static void undict_doubles(colw *c)
{
    uint32_t *ids = (uint32_t *)c->vals.data;
    const uint8_t *dict = (const uint8_t *)c->dict_plain.data;
    size_t n = c->vals.len / 4;
    vg_buf raw;
    vg_buf_init(&raw);
    if (vg_buf_reserve(&raw, n * 8 + 8)) {
        for (size_t i = 0; i < n; i++)
            memcpy(raw.data + i * 8, dict + (size_t)ids[i] * 8, 8);
        raw.len = n * 8;
    }
    vg_buf_free(&c->vals);
    c->vals = raw; /* an OOM here surfaces as vals.oom at the next check */
    c->dict_on = false;
    if (c->dict_pages == 0) {
        vg_map_free(&c->dict_index);
        vg_map_init(&c->dict_index);
        vg_buf_reset(&c->dict_plain);
        c->ndict = 0;
    }
}

static int flush_page(parquet_writer *w, wscratch *s, colw *c, vg_err *e)
{
    if (c->rows == 0)
        return VG_OK;
    /* mostly distinct values: the dictionary would cost more than it saves */
    if (c->num_dict && c->dict_on && (uint64_t)c->ndict * 2 > c->chunk_vals)
        undict_doubles(c);
    if (c->vals.oom)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    int enc = value_encoding(c);
    if (enc == PQ_ENC_RLE_DICTIONARY)
        c->dict_pages++;
    bool v2 = w->opt.data_page_v2;
    pq_page_header h = {.num_values = (int32_t)c->rows, .encoding = enc, .has_crc = true};
    vg_buf_reset(&s->body);
    vg_buf_reset(&s->levels);
    vg_buf_reset(&s->comp);
    vg_buf_reset(&s->hdr);
    if (c->def.nullable)
        encode_levels(c, v2 ? &s->levels : &s->body, !v2);
    encode_values(c, enc, &s->body);
    if (s->body.oom || s->levels.oom || c->pages.oom)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    size_t raw = s->levels.len + s->body.len;
    if (raw > (size_t)INT32_MAX)
        return vg_err_set(e, VG_ELIMIT, "parquet: column '%s': page of %zu bytes", c->def.name,
                          raw);
    /* v2 keeps the levels outside the compressed part */
    vg_buf_append(&s->comp, s->levels.data, s->levels.len);
    if (pq_compress(w->opt.codec, w->opt.level, s->body.data, s->body.len, &s->comp, e) != VG_OK)
        return e ? e->code : VG_EINTERNAL;
    if (s->comp.oom || s->comp.len > (size_t)INT32_MAX)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    h.uncompressed_size = (int32_t)raw;
    h.compressed_size = (int32_t)s->comp.len;
    h.crc = pq_crc32(s->comp.data, s->comp.len);
    if (v2) {
        h.type = PQ_PAGE_DATA_V2;
        h.num_nulls = (int32_t)(c->rows - c->nvals);
        h.num_rows = (int32_t)c->rows;
        h.def_len = (int32_t)s->levels.len;
        h.is_compressed = w->opt.codec != PARQUET_UNCOMPRESSED;
    } else {
        h.type = PQ_PAGE_DATA;
        h.def_encoding = h.rep_encoding = PQ_ENC_RLE;
    }
    pq_write_page_header(&s->hdr, &h);
    vg_buf_append(&c->pages, s->hdr.data, s->hdr.len);
    vg_buf_append(&c->pages, s->comp.data, s->comp.len);
    if (c->pages.oom || s->hdr.oom)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    c->chunk_uncompressed += s->hdr.len + raw;
    c->encodings |= 1u << enc;
    if (c->def.nullable)
        c->encodings |= 1u << PQ_ENC_RLE;
    reset_stage(c);
    return VG_OK;
}

static size_t staged_bytes(const colw *c)
{
    return c->vals.len + c->lens.len + c->sbytes.len + c->defs.len / 8;
}

static int maybe_flush(parquet_writer *w, wscratch *s, colw *c, vg_err *e)
{
    if (c->rows >= MAX_PAGE_ROWS || staged_bytes(c) >= w->opt.page_bytes)
        return flush_page(w, s, c, e);
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Staging                                                                  */
/* ------------------------------------------------------------------------ */

static inline bool row_valid(const parquet_column_data *d, size_t r)
{
    return !d->valid || (d->valid[r >> 3] >> (r & 7)) & 1;
}

static inline vg_str row_str(const parquet_column_data *d, size_t r)
{
    if (d->strs)
        return d->strs[r];
    if (d->offsets)
        return (vg_str){d->bytes + d->offsets[r], d->offsets[r + 1] - d->offsets[r]};
    return d->dict[d->ids[r]];
}

static void stage_plain_str(colw *c, vg_str s)
{
    uint32_t l = (uint32_t)s.len;
    vg_buf_append(&c->lens, &l, sizeof l);
    vg_buf_append(&c->sbytes, s.ptr, s.len);
    stats_str(&c->chunk_stats, s.ptr, s.len);
}

/* The chunk id of s, adding it to the dictionary; UINT32_MAX when the dictionary
 * would outgrow its budget (the caller then falls back to PLAIN). */
static uint32_t dict_id(parquet_writer *w, colw *c, vg_str s)
{
    void *v = vg_map_get(&c->dict_index, s.ptr, s.len);
    if (v)
        return (uint32_t)((uintptr_t)v - 1);
    if (c->dict_plain.len + 4 + s.len > w->opt.dict_bytes || c->ndict == INT32_MAX)
        return UINT32_MAX;
    uint32_t id = c->ndict;
    if (vg_map_put(&c->dict_index, s.ptr, s.len, (void *)(uintptr_t)(id + 1)) != VG_OK) {
        c->dict_plain.oom = true;
        return 0;
    }
    uint8_t l[4];
    pq_store_u32(l, (uint32_t)s.len);
    vg_buf_append(&c->dict_plain, l, 4);
    vg_buf_append(&c->dict_plain, s.ptr, s.len);
    c->ndict++;
    stats_str(&c->chunk_stats, s.ptr, s.len);
    return id;
}

static int stage_str(parquet_writer *w, wscratch *sc, colw *c, const parquet_column_data *d,
                     size_t r, vg_err *e)
{
    vg_str s = row_str(d, r);
    if (c->dict_on) {
        uint32_t id;
        if (d->ids && sc->remap[d->ids[r]])
            id = sc->remap[d->ids[r]] - 1;
        else
            id = dict_id(w, c, s);
        if (id != UINT32_MAX) {
            if (d->ids)
                sc->remap[d->ids[r]] = id + 1;
            vg_buf_append(&c->vals, &id, sizeof id);
            return VG_OK;
        }
        /* the dictionary is full: what is staged stays dictionary-encoded, the rest
         * of the chunk is PLAIN */
        int rc = flush_page(w, sc, c, e);
        if (rc != VG_OK)
            return rc;
        c->dict_on = false;
    }
    stage_plain_str(c, s);
    return VG_OK;
}

/* Stats over the non-null values just staged at vals[from ..). */
static void stats_span(colw *c, size_t from)
{
    wstats *st = &c->chunk_stats;
    const uint8_t *v = (const uint8_t *)c->vals.data;
    size_t end = c->vals.len;
    switch (c->def.type) {
    case PARQUET_BOOL:
        for (size_t i = from; i < end; i++)
            stats_bool(st, v[i]);
        break;
    case PARQUET_DOUBLE:
        for (size_t i = from; i < end; i += 8) {
            double x;
            memcpy(&x, v + i, 8);
            stats_f64(st, x);
        }
        break;
    case PARQUET_UINT64:
        for (size_t i = from; i < end; i += 8) {
            uint64_t x;
            memcpy(&x, v + i, 8);
            stats_u64(st, x);
        }
        break;
    default:
        for (size_t i = from; i < end; i += 8) {
            int64_t x;
            memcpy(&x, v + i, 8);
            stats_i64(st, x);
        }
    }
}

/* The chunk id of a double (by bit pattern, so -0.0, 0.0 and NaNs stay apart),
 * adding it; UINT32_MAX when the dictionary is full. */
static uint32_t num_dict_id(parquet_writer *w, colw *c, double x)
{
    char key[8];
    memcpy(key, &x, 8);
    void *v = vg_map_get(&c->dict_index, key, 8);
    if (v)
        return (uint32_t)((uintptr_t)v - 1);
    if (c->dict_plain.len + 8 > w->opt.dict_bytes || c->ndict == INT32_MAX)
        return UINT32_MAX;
    uint32_t id = c->ndict;
    if (vg_map_put(&c->dict_index, key, 8, (void *)(uintptr_t)(id + 1)) != VG_OK) {
        c->dict_plain.oom = true;
        return 0;
    }
    vg_buf_append(&c->dict_plain, key, 8);
    c->ndict++;
    return id;
}

/* Doubles while the chunk tries a dictionary: ids staged, one value at a time. */
static int stage_dict_doubles(parquet_writer *w, wscratch *s, colw *c, const parquet_column_data *d,
                              size_t *r, size_t end, vg_err *e)
{
    for (; *r < end && c->dict_on; (*r)++) {
        /* Mostly distinct so far: give up early, before the hash map costs more than
         * the whole encoding (the final say is at the page flush, flush_page). */
        if (c->chunk_vals == DICT_PROBE_VALUES && c->ndict * 4 > c->chunk_vals * 3) {
            undict_doubles(c);
            break;
        }
        bool ok = row_valid(d, *r);
        if (ok) {
            double x = d->f64[*r];
            uint32_t id = num_dict_id(w, c, x);
            if (id == UINT32_MAX) { /* full: raw values from here on */
                undict_doubles(c);
                break;
            }
            vg_buf_append(&c->vals, &id, sizeof id);
            stats_f64(&c->chunk_stats, x);
            c->nvals++;
            c->chunk_vals++;
        } else {
            c->chunk_stats.nulls++;
        }
        if (c->def.nullable)
            vg_buf_putc(&c->defs, ok ? 1 : 0);
        c->rows++;
        int rc = maybe_flush(w, s, c, e);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* Fixed-width values go in spans that fill the page at most: no per-value calls. */
static int stage_fixed(parquet_writer *w, wscratch *s, colw *c, const parquet_column_data *d,
                       size_t from, size_t n, vg_err *e)
{
    if (c->num_dict && c->dict_on) {
        size_t r = from;
        int rc = stage_dict_doubles(w, s, c, d, &r, from + n, e);
        if (rc != VG_OK || r == from + n)
            return rc;
        n -= r - from;
        from = r;
    }
    bool is_bool = c->def.type == PARQUET_BOOL;
    size_t width = is_bool ? 1 : 8;
    const uint8_t *src = is_bool                         ? d->b
                         : c->def.type == PARQUET_DOUBLE ? (const uint8_t *)d->f64
                         : c->def.type == PARQUET_UINT64 ? (const uint8_t *)d->u64
                                                         : (const uint8_t *)d->i64;
    for (size_t r = from, end = from + n; r < end;) {
        size_t staged = staged_bytes(c), take = end - r;
        size_t room = staged < w->opt.page_bytes ? (w->opt.page_bytes - staged) / width + 1 : 1;
        take = take < room ? take : room;
        take = take < MAX_PAGE_ROWS - c->rows ? take : MAX_PAGE_ROWS - c->rows;
        if (!vg_buf_reserve(&c->vals, take * width) || !vg_buf_reserve(&c->defs, take))
            return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
        uint8_t *vals = (uint8_t *)c->vals.data, *defs = (uint8_t *)c->defs.data;
        size_t at = c->vals.len, start = at, nd = c->defs.len;
        for (size_t i = r; i < r + take; i++) {
            bool ok = row_valid(d, i);
            if (c->def.nullable)
                defs[nd++] = ok;
            if (!ok)
                continue;
            if (is_bool)
                vals[at] = src[i] ? 1 : 0;
            else
                memcpy(vals + at, src + i * 8, 8);
            at += width;
        }
        c->vals.len = at;
        c->defs.len = nd;
        size_t nn = (at - start) / width;
        c->chunk_stats.nulls += take - nn;
        c->nvals += (uint32_t)nn;
        c->chunk_vals += nn;
        c->rows += (uint32_t)take;
        stats_span(c, start);
        r += take;
        int rc = maybe_flush(w, s, c, e);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static int stage_strings(parquet_writer *w, wscratch *s, colw *c, const parquet_column_data *d,
                         size_t from, size_t n, vg_err *e)
{
    int rc = VG_OK;
    for (size_t r = from; r < from + n; r++) {
        bool ok = row_valid(d, r);
        /* the value first: a dictionary overflow flushes the page staged before it */
        if (!ok)
            c->chunk_stats.nulls++;
        else if ((rc = stage_str(w, s, c, d, r, e)) != VG_OK)
            break;
        if (c->def.nullable)
            vg_buf_putc(&c->defs, ok ? 1 : 0);
        c->rows++;
        c->nvals += ok;
        if ((rc = maybe_flush(w, s, c, e)) != VG_OK)
            break;
    }
    return rc;
}

static int stage(parquet_writer *w, wscratch *s, colw *c, const parquet_column_data *d,
                 size_t from, size_t n, vg_err *e)
{
    int rc;
    if (c->def.type != PARQUET_STRING) {
        rc = stage_fixed(w, s, c, d, from, n, e);
    } else {
        if (d->ids && !(s->remap = vg_calloc(d->ndict ? d->ndict : 1, sizeof *s->remap)))
            return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
        rc = stage_strings(w, s, c, d, from, n, e);
        vg_free(s->remap);
        s->remap = NULL;
    }
    if (rc == VG_OK && (c->defs.oom || c->vals.oom || c->lens.oom || c->sbytes.oom ||
                        c->dict_plain.oom || c->chunk_stats.smin.oom || c->chunk_stats.smax.oom))
        rc = vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Sharing columns with the helper thread                                   */
/* ------------------------------------------------------------------------ */

/* Takes columns in turn until none is left or one fails: thread t's share. */
static void work_columns(parquet_writer *w, int t)
{
    helper *h = &w->hp;
    h->rc[t] = VG_OK;
    for (;;) {
        uint32_t i = atomic_fetch_add(&h->next_col, 1);
        if (i >= w->schema.ncols)
            return;
        vg_err_clear(&h->err[t]);
        int rc = h->fn(w, i, &w->scr[t], h->arg, &h->err[t]);
        if (rc != VG_OK) {
            h->rc[t] = rc;
            h->failed_col[t] = i;
            return;
        }
    }
}

static void *helper_main(void *arg)
{
    parquet_writer *w = arg;
    helper *h = &w->hp;
    uint64_t seen = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->quit && h->posted == seen)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->quit)
            break;
        seen = h->posted;
        pthread_mutex_unlock(&h->mu);
        work_columns(w, 1);
        pthread_mutex_lock(&h->mu);
        h->done = seen;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Starts the helper; without one (a failed start included) the caller's thread does
 * every column. */
static void helper_start(parquet_writer *w)
{
    helper *h = &w->hp;
    if (w->opt.threads < 2 || w->schema.ncols < 2)
        return;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, helper_main, w) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        return;
    }
    h->on = true;
}

static void helper_stop(parquet_writer *w)
{
    helper *h = &w->hp;
    if (!h->on)
        return;
    pthread_mutex_lock(&h->mu);
    h->quit = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    h->on = false;
}

/* fn over every column, shared with the helper when there is one. A failure reports
 * the lowest failing column, as the one-thread loop would. */
static int run_columns(parquet_writer *w, column_fn fn, const void *arg, vg_err *e)
{
    helper *h = &w->hp;
    if (!h->on) {
        for (uint32_t i = 0; i < w->schema.ncols; i++) {
            int rc = fn(w, i, &w->scr[0], arg, e);
            if (rc != VG_OK)
                return rc;
        }
        return VG_OK;
    }
    h->fn = fn;
    h->arg = arg;
    atomic_store(&h->next_col, 0);
    pthread_mutex_lock(&h->mu);
    uint64_t job = ++h->posted;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    work_columns(w, 0);
    pthread_mutex_lock(&h->mu);
    while (h->done != job)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    int t = 1;
    if (h->rc[0] != VG_OK && (h->rc[1] == VG_OK || h->failed_col[0] < h->failed_col[1]))
        t = 0;
    if (h->rc[t] != VG_OK && e)
        *e = h->err[t];
    return h->rc[t];
}

typedef struct stage_job {
    const parquet_column_data *cols;
    size_t from, n;
} stage_job;

static int stage_column(parquet_writer *w, uint32_t col, wscratch *s, const void *arg, vg_err *e)
{
    const stage_job *j = arg;
    return stage(w, s, &w->cols[col], &j->cols[col], j->from, j->n, e);
}

static int flush_column(parquet_writer *w, uint32_t col, wscratch *s, const void *arg, vg_err *e)
{
    (void)arg;
    return flush_page(w, s, &w->cols[col], e);
}

/* ------------------------------------------------------------------------ */
/* Row groups                                                               */
/* ------------------------------------------------------------------------ */

static int write_dict_page(parquet_writer *w, colw *c, vg_err *e)
{
    pq_page_header h = {.type = PQ_PAGE_DICT,
                        .num_values = (int32_t)c->ndict,
                        .encoding = PQ_ENC_PLAIN,
                        .has_crc = true};
    wscratch *s = &w->scr[0]; /* chunks are written on the caller's thread */
    vg_buf_reset(&s->comp);
    vg_buf_reset(&s->hdr);
    if (c->dict_plain.len > (size_t)INT32_MAX)
        return vg_err_set(e, VG_ELIMIT, "parquet: dictionary too large");
    int rc =
        pq_compress(w->opt.codec, w->opt.level, c->dict_plain.data, c->dict_plain.len, &s->comp, e);
    if (rc != VG_OK)
        return rc;
    if (s->comp.oom || s->comp.len > (size_t)INT32_MAX)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    h.uncompressed_size = (int32_t)c->dict_plain.len;
    h.compressed_size = (int32_t)s->comp.len;
    h.crc = pq_crc32(s->comp.data, s->comp.len);
    pq_write_page_header(&s->hdr, &h);
    if (s->hdr.oom)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    c->chunk_uncompressed += s->hdr.len + c->dict_plain.len;
    c->encodings |= 1u << PQ_ENC_PLAIN;
    if ((rc = sink(w, s->hdr.data, s->hdr.len, e)) != VG_OK)
        return rc;
    return sink(w, s->comp.data, s->comp.len, e);
}

static int write_chunk(parquet_writer *w, uint32_t i, uint8_t *statbuf, vg_err *e)
{
    colw *c = &w->cols[i];
    pq_chunk_out *o = &w->outs[i];
    int rc;
    uint64_t start = w->offset;
    memset(o, 0, sizeof *o);
    o->dict_page_offset = -1;
    if (c->ndict > 0) {
        o->dict_page_offset = (int64_t)start;
        if ((rc = write_dict_page(w, c, e)) != VG_OK)
            return rc;
    }
    o->data_page_offset = (int64_t)w->offset;
    if ((rc = sink(w, c->pages.data, c->pages.len, e)) != VG_OK)
        return rc;
    static const int32_t physical[] = {
        [PARQUET_TIMESTAMP] = PARQUET_PHYS_INT64, [PARQUET_STRING] = PARQUET_PHYS_BYTE_ARRAY,
        [PARQUET_DOUBLE] = PARQUET_PHYS_DOUBLE,   [PARQUET_INT64] = PARQUET_PHYS_INT64,
        [PARQUET_UINT64] = PARQUET_PHYS_INT64,    [PARQUET_BOOL] = PARQUET_PHYS_BOOLEAN,
    };
    o->physical = physical[c->def.type];
    o->encodings = c->encodings;
    o->codec = pq_codec_to_thrift(w->opt.codec);
    o->num_values = w->rg_rows;
    o->total_uncompressed = (int64_t)c->chunk_uncompressed;
    o->total_compressed = (int64_t)(w->offset - start);
    o->name = c->def.name;
    stats_out(&c->chunk_stats, c->def.type, statbuf, o);
    return VG_OK;
}

static void reset_chunk(colw *c)
{
    vg_buf_reset(&c->pages);
    c->chunk_uncompressed = 0;
    c->encodings = 0;
    vg_map_free(&c->dict_index);
    vg_map_init(&c->dict_index);
    vg_buf_reset(&c->dict_plain);
    c->ndict = 0;
    c->dict_on = c->enc == PARQUET_ENC_DICT || c->num_dict;
    c->dict_pages = 0;
    c->chunk_vals = 0;
    stats_reset(&c->chunk_stats);
}

static int flush_row_group(parquet_writer *w, vg_err *e)
{
    if (w->rg_rows == 0)
        return VG_OK;
    int rc = run_columns(w, flush_column, NULL, e); /* each chunk's last page */
    if (rc != VG_OK)
        return rc;
    uint64_t start = w->offset;
    uint8_t *statbuf = vg_malloc((size_t)w->schema.ncols * 2 * STAT_BYTES);
    if (!statbuf)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    for (uint32_t i = 0; i < w->schema.ncols && rc == VG_OK; i++)
        rc = write_chunk(w, i, statbuf + (size_t)i * 2 * STAT_BYTES, e);
    if (rc == VG_OK) {
        pq_write_row_group(&w->rg_meta, w->outs, w->schema.ncols, w->rg_rows, (int64_t)start,
                           (int)w->nrgs);
        if (w->rg_meta.oom)
            rc = vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    }
    vg_free(statbuf);
    if (rc != VG_OK)
        return rc;
    for (uint32_t i = 0; i < w->schema.ncols; i++) {
        colw *c = &w->cols[i];
        stats_merge(&c->file_stats, &c->chunk_stats, c->def.type);
        reset_chunk(c);
    }
    w->nrgs++;
    w->total_rows += w->rg_rows;
    w->rg_rows = 0;
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */
/* ------------------------------------------------------------------------ */

static bool encoding_fits(parquet_type t, parquet_encoding enc)
{
    switch (enc) {
    case PARQUET_ENC_AUTO:
    case PARQUET_ENC_PLAIN: return true;
    case PARQUET_ENC_DICT:
    case PARQUET_ENC_DELTA_LENGTH:
    case PARQUET_ENC_DELTA_STRINGS: return t == PARQUET_STRING;
    case PARQUET_ENC_DELTA:
        return t == PARQUET_TIMESTAMP || t == PARQUET_INT64 || t == PARQUET_UINT64;
    case PARQUET_ENC_BYTE_STREAM_SPLIT:
        /* integers too since format 2.11, but DuckDB 1.5 reads it for floats only */
        return t == PARQUET_DOUBLE;
    case PARQUET_ENC_RLE: return t == PARQUET_BOOL;
    }
    return false;
}

static parquet_encoding auto_encoding(const parquet_write_options *o, parquet_type t)
{
    switch (t) {
    case PARQUET_STRING: return PARQUET_ENC_DICT;
    case PARQUET_DOUBLE:
        /* splitting bytes only pays when a compressor follows */
        return o->plain_doubles || o->codec == PARQUET_UNCOMPRESSED ? PARQUET_ENC_PLAIN
                                                                    : PARQUET_ENC_BYTE_STREAM_SPLIT;
    case PARQUET_BOOL: return PARQUET_ENC_PLAIN;
    default: return PARQUET_ENC_DELTA;
    }
}

static int check_schema(const parquet_schema *s, const parquet_write_options *o, vg_err *e)
{
    if (s->ncols == 0)
        return vg_err_set(e, VG_EINVAL, "parquet: a file needs at least one column");
    if (o->codec > PARQUET_UNCOMPRESSED)
        return vg_err_set(e, VG_EINVAL, "parquet: unknown codec %d", (int)o->codec);
    for (uint32_t i = 0; i < s->ncols; i++) {
        const parquet_column_def *c = &s->cols[i];
        if (!c->name || !c->name[0])
            return vg_err_set(e, VG_EINVAL, "parquet: column %u has no name", i);
        if (c->type <= PARQUET_UNSUPPORTED || c->type > PARQUET_BOOL)
            return vg_err_set(e, VG_EINVAL, "parquet: column '%s' has no valid type", c->name);
        if (!encoding_fits(c->type, c->encoding))
            return vg_err_set(e, VG_EINVAL,
                              "parquet: column '%s': encoding %d does not fit "
                              "type %s",
                              c->name, (int)c->encoding, parquet_type_name(c->type));
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(s->cols[j].name, c->name) == 0)
                return vg_err_set(e, VG_EINVAL, "parquet: column '%s' appears twice", c->name);
    }
    return VG_OK;
}

static int copy_options(parquet_writer *w, const parquet_write_options *o)
{
    w->opt = *o;
    if (!w->opt.row_group_rows)
        w->opt.row_group_rows = DEFAULT_ROW_GROUP_ROWS;
    if (!w->opt.page_bytes)
        w->opt.page_bytes = DEFAULT_PAGE_BYTES;
    if (!w->opt.dict_bytes)
        w->opt.dict_bytes = DEFAULT_DICT_BYTES;
    w->opt.kv = NULL;
    w->opt.nkv = 0;
    if (o->nkv) {
        w->kv = vg_calloc(o->nkv, sizeof *w->kv);
        if (!w->kv)
            return VG_ENOMEM;
        w->opt.nkv = o->nkv;
        for (uint32_t i = 0; i < o->nkv; i++) {
            w->kv[i].key = vg_strdup(o->kv[i].key ? o->kv[i].key : "");
            w->kv[i].value = vg_strdup(o->kv[i].value ? o->kv[i].value : "");
            if (!w->kv[i].key || !w->kv[i].value)
                return VG_ENOMEM;
        }
    }
    return VG_OK;
}

static int copy_schema(parquet_writer *w, const parquet_schema *s)
{
    w->defs = vg_calloc(s->ncols, sizeof *w->defs);
    w->cols = vg_calloc(s->ncols, sizeof *w->cols);
    w->outs = vg_calloc(s->ncols, sizeof *w->outs);
    if (!w->defs || !w->cols || !w->outs)
        return VG_ENOMEM;
    w->schema.cols = w->defs;
    w->schema.ncols = s->ncols;
    for (uint32_t i = 0; i < s->ncols; i++) {
        colw *c = &w->cols[i];
        w->defs[i] = s->cols[i];
        w->defs[i].name = vg_strdup(s->cols[i].name);
        if (!w->defs[i].name)
            return VG_ENOMEM;
        c->def = w->defs[i];
        c->enc = c->def.encoding ? c->def.encoding : auto_encoding(&w->opt, c->def.type);
        vg_buf_init(&c->defs);
        vg_buf_init(&c->vals);
        vg_buf_init(&c->lens);
        vg_buf_init(&c->sbytes);
        vg_buf_init(&c->pages);
        vg_buf_init(&c->dict_plain);
        vg_map_init(&c->dict_index);
        stats_init(&c->chunk_stats);
        stats_init(&c->file_stats);
        c->num_dict = !c->def.encoding && c->def.type == PARQUET_DOUBLE &&
                      w->opt.codec != PARQUET_UNCOMPRESSED && !w->opt.plain_doubles;
        c->dict_on = c->enc == PARQUET_ENC_DICT || c->num_dict;
    }
    return VG_OK;
}

static int writer_open(parquet_writer **out, int fd, vg_buf *mem, const parquet_schema *s,
                       const parquet_write_options *opt, vg_err *e)
{
    static const parquet_write_options defaults;
    *out = NULL;
    if (!opt)
        opt = &defaults;
    int rc = check_schema(s, opt, e);
    if (rc != VG_OK)
        return rc;
    parquet_writer *w = vg_calloc(1, sizeof *w);
    if (!w)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    w->fd = fd;
    w->mem = mem;
    vg_buf_init(&w->rg_meta);
    for (int t = 0; t < 2; t++) {
        vg_buf_init(&w->scr[t].body);
        vg_buf_init(&w->scr[t].levels);
        vg_buf_init(&w->scr[t].comp);
        vg_buf_init(&w->scr[t].hdr);
    }
    if (copy_options(w, opt) != VG_OK || copy_schema(w, s) != VG_OK) {
        parquet_writer_free(w);
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    }
    helper_start(w);
    if ((rc = sink(w, "PAR1", 4, e)) != VG_OK) {
        parquet_writer_free(w);
        return rc;
    }
    *out = w;
    return VG_OK;
}

int parquet_writer_open_fd(parquet_writer **w, int fd, const parquet_schema *schema,
                           const parquet_write_options *opt, vg_err *e)
{
    return writer_open(w, fd, NULL, schema, opt, e);
}

int parquet_writer_open_buf(parquet_writer **w, vg_buf *out, const parquet_schema *schema,
                            const parquet_write_options *opt, vg_err *e)
{
    return writer_open(w, -1, out, schema, opt, e);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

/* Checks a batch before any of it is staged, so a bad batch leaves no trace. */
static int check_column(const colw *c, const parquet_column_data *d, uint32_t nrows, vg_err *e)
{
    const char *name = c->def.name;
    const void *vals = NULL;
    if (nrows == 0)
        return VG_OK;
    switch (c->def.type) {
    case PARQUET_TIMESTAMP:
    case PARQUET_INT64: vals = d->i64; break;
    case PARQUET_UINT64: vals = d->u64; break;
    case PARQUET_DOUBLE: vals = d->f64; break;
    case PARQUET_BOOL: vals = d->b; break;
    case PARQUET_STRING:
        vals = d->strs      ? (const void *)d->strs
               : d->offsets ? (const void *)d->offsets
                            : (const void *)d->ids;
        if (d->ids && !d->dict && d->ndict)
            vals = NULL;
        if (d->offsets && !d->bytes)
            vals = NULL;
        break;
    default: break;
    }
    if (!vals)
        return vg_err_set(e, VG_EINVAL, "parquet: column '%s': no %s values given", name,
                          parquet_type_name(c->def.type));
    for (uint32_t r = 0; r < nrows; r++) {
        bool ok = row_valid(d, r);
        if (!ok && !c->def.nullable)
            return vg_err_set(e, VG_EINVAL,
                              "parquet: column '%s' is REQUIRED but row %u is "
                              "null",
                              name, r);
        if (c->def.type != PARQUET_STRING)
            continue;
        if (d->offsets && d->offsets[r + 1] < d->offsets[r])
            return vg_err_set(e, VG_EINVAL,
                              "parquet: column '%s': offsets go backwards at row "
                              "%u",
                              name, r);
        if (ok && !d->strs && !d->offsets && d->ids[r] >= d->ndict)
            return vg_err_set(e, VG_EINVAL,
                              "parquet: column '%s': row %u has dictionary id %u "
                              "of %u",
                              name, r, d->ids[r], d->ndict);
        vg_str s = ok ? row_str(d, r) : (vg_str){"", 0};
        if (s.len > (size_t)INT32_MAX || (s.len && !s.ptr))
            return vg_err_set(e, VG_EINVAL, "parquet: column '%s': bad string at row %u", name, r);
    }
    return VG_OK;
}

/* Stages checked columns, cutting row groups as they fill. */
static int write_checked(parquet_writer *w, const parquet_column_data *cols, uint32_t nrows,
                         vg_err *e)
{
    for (uint32_t done = 0; done < nrows;) {
        uint32_t take = w->opt.row_group_rows - w->rg_rows;
        if (take > nrows - done)
            take = nrows - done;
        stage_job job = {.cols = cols, .from = done, .n = take};
        int rc = run_columns(w, stage_column, &job, e);
        if (rc != VG_OK)
            return fail(w, rc);
        w->rg_rows += take;
        done += take;
        if (w->rg_rows == w->opt.row_group_rows && (rc = flush_row_group(w, e)) != VG_OK)
            return fail(w, rc);
    }
    return VG_OK;
}

int parquet_writer_write(parquet_writer *w, const parquet_column_data *cols, uint32_t nrows,
                         vg_err *e)
{
    if (w->failed || w->finished)
        return vg_err_set(e, VG_EINVAL, "parquet: writer is %s", w->failed ? "failed" : "finished");
    for (uint32_t i = 0; i < w->schema.ncols; i++) {
        int rc = check_column(&w->cols[i], &cols[i], nrows, e);
        if (rc != VG_OK)
            return rc;
    }
    return write_checked(w, cols, nrows, e);
}

typedef struct fill_job {
    parquet_fill_fn fill;
    void *ctx;
    uint32_t nrows;
} fill_job;

static int fill_column(parquet_writer *w, uint32_t col, wscratch *s, const void *arg, vg_err *e)
{
    (void)s;
    const fill_job *j = arg;
    memset(&w->filled[col], 0, sizeof w->filled[col]);
    j->fill(j->ctx, col, &w->filled[col]);
    return check_column(&w->cols[col], &w->filled[col], j->nrows, e);
}

int parquet_writer_write_filled(parquet_writer *w, uint32_t nrows, parquet_fill_fn fill, void *ctx,
                                vg_err *e)
{
    if (w->failed || w->finished)
        return vg_err_set(e, VG_EINVAL, "parquet: writer is %s", w->failed ? "failed" : "finished");
    if (!w->filled && !(w->filled = vg_calloc(w->schema.ncols, sizeof *w->filled)))
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    fill_job job = {.fill = fill, .ctx = ctx, .nrows = nrows};
    int rc = run_columns(w, fill_column, &job, e);
    return rc == VG_OK ? write_checked(w, w->filled, nrows, e) : rc;
}

int parquet_writer_flush(parquet_writer *w, vg_err *e)
{
    if (w->failed || w->finished)
        return vg_err_set(e, VG_EINVAL, "parquet: writer is %s", w->failed ? "failed" : "finished");
    int rc = flush_row_group(w, e);
    return rc == VG_OK ? rc : fail(w, rc);
}

int parquet_writer_finish(parquet_writer *w, vg_err *e)
{
    int rc = parquet_writer_flush(w, e);
    if (rc != VG_OK)
        return rc;
    vg_buf footer;
    vg_buf_init(&footer);
    pq_write_file_meta(&footer, &w->schema, !w->opt.local_timestamps, (int64_t)w->total_rows,
                       &w->rg_meta, w->nrgs, w->kv, w->opt.nkv);
    if (footer.oom || footer.len > UINT32_MAX) {
        vg_buf_free(&footer);
        return fail(w, vg_err_set(e, VG_ENOMEM, "parquet: out of memory"));
    }
    uint8_t tail[8];
    pq_store_u32(tail, (uint32_t)footer.len);
    memcpy(tail + 4, "PAR1", 4);
    rc = sink(w, footer.data, footer.len, e);
    if (rc == VG_OK)
        rc = sink(w, tail, 8, e);
    vg_buf_free(&footer);
    if (rc != VG_OK)
        return fail(w, rc);
    w->finished = true;
    return VG_OK;
}

uint64_t parquet_writer_bytes(const parquet_writer *w)
{
    return w->offset;
}

uint64_t parquet_writer_rows(const parquet_writer *w)
{
    return w->total_rows + w->rg_rows;
}

void parquet_writer_stats(const parquet_writer *w, uint32_t col, parquet_stats *out)
{
    if (VG_NEVER(col >= w->schema.ncols)) {
        memset(out, 0, sizeof *out);
        return;
    }
    const colw *c = &w->cols[col];
    stats_public(&c->file_stats, c->def.type, out);
}

void parquet_writer_free(parquet_writer *w)
{
    if (!w)
        return;
    helper_stop(w);
    for (uint32_t i = 0; w->cols && i < w->schema.ncols; i++) {
        colw *c = &w->cols[i];
        vg_buf_free(&c->defs);
        vg_buf_free(&c->vals);
        vg_buf_free(&c->lens);
        vg_buf_free(&c->sbytes);
        vg_buf_free(&c->pages);
        vg_buf_free(&c->dict_plain);
        vg_map_free(&c->dict_index);
        stats_free(&c->chunk_stats);
        stats_free(&c->file_stats);
    }
    for (uint32_t i = 0; w->defs && i < w->schema.ncols; i++)
        vg_free((char *)w->defs[i].name);
    for (uint32_t i = 0; w->kv && i < w->opt.nkv; i++) {
        vg_free((char *)w->kv[i].key);
        vg_free((char *)w->kv[i].value);
    }
    vg_free(w->kv);
    vg_free(w->defs);
    vg_free(w->cols);
    vg_free(w->outs);
    vg_free(w->filled);
    vg_buf_free(&w->rg_meta);
    for (int t = 0; t < 2; t++) {
        vg_buf_free(&w->scr[t].body);
        vg_buf_free(&w->scr[t].levels);
        vg_buf_free(&w->scr[t].comp);
        vg_buf_free(&w->scr[t].hdr);
        vg_free(w->scr[t].remap);
    }
    vg_free(w);
}
