/*
 * parquet/reader.c: opening a file. Checks the magic bytes and the footer length,
 * decodes the footer, maps each leaf of the (flat) schema onto a parquet_type, checks
 * every row group and column chunk against the schema and the file's size, and
 * converts column-chunk statistics to the column's type, so that by the time
 * parquet_open_* returns, every offset a later read will follow is known to lie
 * inside the file.
 */
#include "parquet_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void pq_err_prefix(vg_err *e, const char *fmt, ...)
{
    if (!e)
        return;
    char pre[VG_ERR_MSG_BYTES], old[VG_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t n = strlen(pre), m = strlen(old);
    if (n > sizeof e->msg - 1)
        n = sizeof e->msg - 1;
    if (m > sizeof e->msg - 1 - n)
        m = sizeof e->msg - 1 - n;
    memcpy(e->msg, pre, n);
    memcpy(e->msg + n, old, m);
    e->msg[n + m] = '\0';
}

static int corrupt(vg_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int corrupt(vg_err *e, const char *fmt, ...)
{
    char msg[VG_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vg_err_set(e, VG_ECORRUPT, "parquet: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */
/* ------------------------------------------------------------------------ */

static const char *unit_name(int unit)
{
    return unit == 1 ? "MILLIS" : unit == 2 ? "MICROS" : unit == 3 ? "NANOS" : "?";
}

/* Maps an INT32/INT64 leaf: timestamps and dates to ns, unsigned to UINT64,
 * decimals to DOUBLE, the rest to INT64. */
static void map_integer(const pq_raw_schema *s, pq_column *c, char *logical, size_t cap)
{
    bool is32 = s->type == PARQUET_PHYS_INT32;
    int ct = s->has_converted ? s->converted : -1;
    c->info.type = PARQUET_INT64;
    if (s->logical == 8 || ct == PQ_CT_TIMESTAMP_MILLIS || ct == PQ_CT_TIMESTAMP_MICROS) {
        int unit = s->logical == 8 ? s->ts_unit : ct == PQ_CT_TIMESTAMP_MILLIS ? 1 : 2;
        bool utc = s->logical == 8 ? s->ts_utc : true;
        static const int64_t scale[] = {0, VG_NS_PER_MS, VG_NS_PER_US, 1};
        if (unit < 1 || unit > 3) {
            c->info.type = PARQUET_UNSUPPORTED;
            c->info.unsupported = "TIMESTAMP with an unknown unit";
            return;
        }
        c->info.type = PARQUET_TIMESTAMP;
        c->conv = unit == 3 ? PQ_CONV_NONE : PQ_CONV_SCALE;
        c->scale = scale[unit];
        snprintf(logical, cap, "TIMESTAMP(%s,%s)", unit_name(unit), utc ? "UTC" : "local");
    } else if (s->logical == 6 || ct == PQ_CT_DATE) {
        c->info.type = PARQUET_TIMESTAMP;
        c->conv = PQ_CONV_SCALE;
        c->scale = 86400 * VG_NS_PER_SEC;
        snprintf(logical, cap, "DATE");
    } else if (s->logical == 5 || ct == PQ_CT_DECIMAL) {
        int32_t scale = s->logical == 5 ? s->dec_scale : s->scale;
        int32_t prec = s->logical == 5 ? s->dec_precision : s->precision;
        c->info.type = PARQUET_DOUBLE;
        c->conv = PQ_CONV_DECIMAL;
        c->dec_div = pow(10.0, scale < 0 || scale > 38 ? 0 : scale);
        snprintf(logical, cap, "DECIMAL(%d,%d)", prec, scale);
    } else if ((s->logical == 10 && !s->int_signed) ||
               (ct >= PQ_CT_UINT_8 && ct <= PQ_CT_UINT_64)) {
        c->info.type = PARQUET_UINT64;
        c->conv = is32 ? PQ_CONV_U32 : PQ_CONV_NONE;
        snprintf(logical, cap, "INTEGER(%d,unsigned)",
                 s->logical == 10 ? s->int_bits : 8 << (ct - PQ_CT_UINT_8));
    } else if (s->logical == 7 || ct == PQ_CT_TIME_MILLIS || ct == PQ_CT_TIME_MICROS) {
        int unit = s->logical == 7 ? s->ts_unit : ct == PQ_CT_TIME_MILLIS ? 1 : 2;
        snprintf(logical, cap, "TIME(%s)", unit_name(unit)); /* raw units since midnight */
    } else if (s->logical == 10 || (ct >= PQ_CT_INT_8 && ct <= PQ_CT_INT_64)) {
        snprintf(logical, cap, "INTEGER(%d,signed)",
                 s->logical == 10 ? s->int_bits : 8 << (ct - PQ_CT_INT_8));
    }
}

static void map_leaf(const pq_raw_schema *s, pq_column *c, char *logical, size_t cap)
{
    logical[0] = '\0';
    c->info.physical = (parquet_physical)s->type;
    c->type_length = s->type_length;
    switch (s->type) {
    case PARQUET_PHYS_BOOLEAN: c->info.type = PARQUET_BOOL; break;
    case PARQUET_PHYS_INT32:
    case PARQUET_PHYS_INT64: map_integer(s, c, logical, cap); break;
    case PARQUET_PHYS_INT96:
        /* legacy Impala/Spark timestamps: nanoseconds of the day and a Julian day */
        c->info.type = PARQUET_TIMESTAMP;
        snprintf(logical, cap, "INT96 timestamp");
        break;
    case PARQUET_PHYS_FLOAT:
    case PARQUET_PHYS_DOUBLE: c->info.type = PARQUET_DOUBLE; break;
    case PARQUET_PHYS_BYTE_ARRAY:
        if (s->logical == 5 || (s->has_converted && s->converted == PQ_CT_DECIMAL)) {
            c->info.type = PARQUET_UNSUPPORTED;
            c->info.unsupported = "DECIMAL stored as a byte array";
            break;
        }
        c->info.type = PARQUET_STRING;
        if (s->logical == 1 || (s->has_converted && s->converted == PQ_CT_UTF8))
            snprintf(logical, cap, "STRING");
        else if (s->logical == 12 || (s->has_converted && s->converted == PQ_CT_JSON))
            snprintf(logical, cap, "JSON");
        else if (s->logical == 4)
            snprintf(logical, cap, "ENUM");
        break;
    case PARQUET_PHYS_FIXED_LEN_BYTE_ARRAY:
        c->info.type = PARQUET_UNSUPPORTED;
        c->info.unsupported = "FIXED_LEN_BYTE_ARRAY columns are not supported";
        break;
    default: c->info.type = PARQUET_UNSUPPORTED; c->info.unsupported = "unknown physical type";
    }
}

static int check_tree(const pq_raw_meta *m, vg_err *e)
{
    if (m->nschema == 0)
        return corrupt(e, "footer: the schema is empty");
    const pq_raw_schema *root = &m->schema[0];
    for (uint32_t i = 1; i < m->nschema; i++) {
        const pq_raw_schema *s = &m->schema[i];
        const char *what = NULL;
        if (s->has_children || !s->has_type)
            what = "is a group";
        else if (s->has_repetition && s->repetition == PQ_REPEATED)
            what = "is repeated";
        if (what)
            return vg_err_set(e, VG_EINVAL,
                              "parquet: column '%.*s' %s: nested schemas are not "
                              "supported",
                              (int)(s->name_len > 200 ? 200 : s->name_len),
                              s->name ? (const char *)s->name : "", what);
    }
    if (root->has_type || !root->has_children || root->num_children != (int32_t)(m->nschema - 1))
        return corrupt(e, "footer: the schema root has %d children but %u columns follow",
                       root->num_children, m->nschema - 1);
    return VG_OK;
}

/* The tag list: a JSON array of strings. Unescapes one string at *p into out. */
static int json_string(const char **p, const char *end, vg_buf *out)
{
    const char *s = *p;
    if (s >= end || *s++ != '"')
        return -1;
    while (s < end && *s != '"') {
        if (*s != '\\') {
            vg_buf_putc(out, *s++);
            continue;
        }
        if (++s >= end)
            return -1;
        char c = *s++;
        const char *simple = strchr("\"\\/bfnrt", c);
        if (simple && c) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            vg_buf_putc(out, map[simple - "\"\\/bfnrt"]);
            continue;
        }
        if (c != 'u' || end - s < 4)
            return -1;
        unsigned cp = 0;
        for (int k = 0; k < 4; k++) {
            char h = *s++;
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0)
                return -1;
            cp = cp << 4 | (unsigned)d;
        }
        /* names are ours (vg_json_str escapes only control bytes): no surrogates */
        if (cp >= 0xd800 && cp <= 0xdfff)
            return -1;
        char u[3];
        int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
        if (n == 1)
            u[0] = (char)cp;
        else if (n == 2) {
            u[0] = (char)(0xc0 | cp >> 6);
            u[1] = (char)(0x80 | (cp & 0x3f));
        } else {
            u[0] = (char)(0xe0 | cp >> 12);
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[2] = (char)(0x80 | (cp & 0x3f));
        }
        vg_buf_append(out, u, (size_t)n);
    }
    if (s >= end)
        return -1;
    *p = s + 1;
    return 0;
}

static void skip_ws(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r'))
        (*p)++;
}

static int mark_tags(parquet_file *f, const char *json, vg_err *e)
{
    const char *p = json, *end = json + strlen(json);
    vg_buf name;
    vg_buf_init(&name);
    skip_ws(&p, end);
    bool ok = p < end && *p++ == '[';
    skip_ws(&p, end);
    if (ok && p < end && *p == ']') {
        p++;
    } else {
        while (ok) {
            vg_buf_reset(&name);
            skip_ws(&p, end);
            ok = json_string(&p, end, &name) == 0 && !name.oom;
            for (uint32_t i = 0; ok && i < f->meta.ncols; i++)
                if (strlen(f->cols[i].info.name) == name.len &&
                    memcmp(f->cols[i].info.name, name.data, name.len) == 0)
                    f->cols[i].info.tag = true;
            skip_ws(&p, end);
            if (!ok || p >= end || *p != ',')
                break;
            p++;
        }
        ok = ok && p < end && *p++ == ']';
    }
    skip_ws(&p, end);
    bool oom = name.oom;
    vg_buf_free(&name);
    if (oom)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    if (!ok || p != end)
        return corrupt(e, "footer: key-value metadata '%s' is not a JSON list of strings",
                       PARQUET_TAGS_KEY);
    return VG_OK;
}

static int build_columns(parquet_file *f, vg_err *e)
{
    const pq_raw_meta *m = &f->raw;
    int rc = check_tree(m, e);
    if (rc != VG_OK)
        return rc;
    uint32_t n = m->nschema - 1;
    f->cols = vg_arena_calloc(&f->arena, (size_t)n * sizeof *f->cols + 1);
    parquet_column_info *infos = vg_arena_calloc(&f->arena, (size_t)n * sizeof *infos + 1);
    if (!f->cols || !infos)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const pq_raw_schema *s = &m->schema[i + 1];
        pq_column *c = &f->cols[i];
        char logical[64];
        map_leaf(s, c, logical, sizeof logical);
        c->info.name =
            vg_arena_strndup(&f->arena, s->name ? (const char *)s->name : "", s->name_len);
        c->info.logical = vg_arena_strndup(&f->arena, logical, strlen(logical));
        if (!c->info.name || !c->info.logical)
            return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
        c->info.nullable = !(s->has_repetition && s->repetition == PQ_REQUIRED);
        c->max_def = c->info.nullable ? 1 : 0;
        if (!c->info.unsupported)
            c->info.unsupported = "";
    }
    f->meta.ncols = n;
    for (uint32_t i = 0; i < m->nkv; i++)
        if (strcmp(m->kv[i].key, PARQUET_TAGS_KEY) == 0 &&
            (rc = mark_tags(f, m->kv[i].value, e)) != VG_OK)
            return rc;
    for (uint32_t i = 0; i < n; i++)
        infos[i] = f->cols[i].info;
    f->meta.cols = infos;
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */
/* ------------------------------------------------------------------------ */

/* One PLAIN-encoded bound as the column's type; false when unusable. */
static bool stat_value(const pq_column *c, const uint8_t *p, uint32_t n, parquet_value *v)
{
    int64_t x;
    switch ((int)c->info.physical) {
    case PARQUET_PHYS_BOOLEAN:
        if (n != 1)
            return false;
        v->b = p[0] & 1;
        return true;
    case PARQUET_PHYS_INT32:
    case PARQUET_PHYS_INT64:
        if (n != (c->info.physical == PARQUET_PHYS_INT32 ? 4u : 8u))
            return false;
        x = n == 4 ? (int64_t)(int32_t)pq_load_u32(p) : (int64_t)pq_load_u64(p);
        if (pq_convert_i64(c, &x, 1, NULL) != VG_OK)
            return false;
        v->i64 = x; /* u64 and f64 share the bits after conversion */
        return c->info.type != PARQUET_DOUBLE || !isnan(v->f64);
    case PARQUET_PHYS_FLOAT: {
        float f;
        if (n != 4)
            return false;
        memcpy(&f, p, 4);
        v->f64 = f;
        return !isnan(f);
    }
    case PARQUET_PHYS_DOUBLE:
        if (n != 8)
            return false;
        memcpy(&v->f64, p, 8);
        return !isnan(v->f64);
    case PARQUET_PHYS_BYTE_ARRAY: v->s = (vg_str){(const char *)p, n}; return true;
    }
    return false; /* INT96 and the rest: no defined order */
}

static void convert_stats(const pq_column *c, const pq_raw_stats *r, parquet_stats *s)
{
    memset(s, 0, sizeof *s);
    if (r->has_null_count && r->null_count >= 0) {
        s->has_null_count = true;
        s->null_count = (uint64_t)r->null_count;
    }
    if (c->info.type == PARQUET_UNSUPPORTED)
        return;
    const uint8_t *mn = r->min_value, *mx = r->max_value;
    uint32_t mnl = r->min_value_len, mxl = r->max_value_len;
    bool have = r->has_min_value && r->has_max_value;
    /* The deprecated min/max were written in signed order: trust them only where
     * that is the type's order. */
    bool old_ok = c->info.type != PARQUET_STRING && c->info.type != PARQUET_UINT64 &&
                  c->info.physical != PARQUET_PHYS_INT96;
    if (!have && old_ok && r->has_min_old && r->has_max_old) {
        mn = r->min_old;
        mx = r->max_old;
        mnl = r->min_old_len;
        mxl = r->max_old_len;
        have = true;
    }
    if (!have || !stat_value(c, mn, mnl, &s->min) || !stat_value(c, mx, mxl, &s->max))
        return;
    s->has_min_max = true;
    s->min_exact = !r->has_min_exact || r->min_exact;
    s->max_exact = !r->has_max_exact || r->max_exact;
}

/* ------------------------------------------------------------------------ */
/* Row groups                                                               */
/* ------------------------------------------------------------------------ */

static int check_chunk(parquet_file *f, uint32_t g, uint32_t i, const pq_raw_chunk *r,
                       parquet_chunk_info *out, vg_err *e)
{
    const pq_column *c = &f->cols[i];
    const char *name = c->info.name;
    if (!r->has_meta || r->encrypted)
        return vg_err_set(e, r->encrypted ? VG_EINVAL : VG_ECORRUPT,
                          "parquet: column '%s' row "
                          "group %u: %s",
                          name, g,
                          r->encrypted ? "encrypted columns are not "
                                         "supported"
                                       : "column chunk has no metadata");
    if (r->type != (int32_t)c->info.physical)
        return corrupt(e, "column '%s' row group %u: chunk type %d differs from the schema's %d",
                       name, g, r->type, (int)c->info.physical);
    if (r->path_depth != 1 || r->path_len != strlen(name) || memcmp(r->path, name, r->path_len))
        return corrupt(e, "column '%s' row group %u: chunk path does not name the column", name, g);
    if (r->num_values != f->raw.rgs[g].num_rows)
        return corrupt(e, "column '%s' row group %u: %lld values in a group of %lld rows", name, g,
                       (long long)r->num_values, (long long)f->raw.rgs[g].num_rows);
    out->codec = pq_codec_from_thrift(r->codec);
    out->encodings = r->encodings;
    out->num_values = (uint64_t)r->num_values;
    out->uncompressed_bytes = r->total_uncompressed > 0 ? (uint64_t)r->total_uncompressed : 0;
    convert_stats(c, &r->stats, &out->stats);
    if (r->num_values == 0)
        return VG_OK; /* an empty group: nothing will be read, wherever it points */
    uint64_t start = (uint64_t)r->data_page_offset;
    if (r->has_dict_offset && r->dict_page_offset > 0 && r->dict_page_offset < r->data_page_offset)
        start = (uint64_t)r->dict_page_offset; /* some writers put 0 here for "none" */
    uint64_t len = r->total_compressed > 0 ? (uint64_t)r->total_compressed : 0;
    if (r->data_page_offset < 4 || len == 0 || len > f->data_end || start > f->data_end - len ||
        (uint64_t)r->data_page_offset >= start + len)
        return corrupt(e,
                       "column '%s' row group %u: pages at %lld (%lld bytes) lie outside the "
                       "data of a %llu-byte file",
                       name, g, (long long)r->data_page_offset, (long long)r->total_compressed,
                       (unsigned long long)f->size);
    out->offset = start;
    out->compressed_bytes = len;
    return VG_OK;
}

static int build_row_groups(parquet_file *f, vg_err *e)
{
    const pq_raw_meta *m = &f->raw;
    uint32_t ncols = f->meta.ncols;
    uint64_t rows = 0;
    f->rgs = vg_arena_calloc(&f->arena, (size_t)m->nrgs * sizeof *f->rgs + 1);
    f->chunks = vg_arena_calloc(&f->arena, (size_t)m->nrgs * ncols * sizeof *f->chunks + 1);
    if (!f->rgs || !f->chunks)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    for (uint32_t g = 0; g < m->nrgs; g++) {
        const pq_raw_rg *r = &m->rgs[g];
        if (r->num_rows < 0 || (uint64_t)r->num_rows > (1ull << 62))
            return corrupt(e, "row group %u: %lld rows", g, (long long)r->num_rows);
        if (r->ncols != ncols)
            return corrupt(e, "row group %u has %u column chunks for %u columns", g, r->ncols,
                           ncols);
        parquet_row_group_info *gi = &f->rgs[g];
        gi->num_rows = (uint64_t)r->num_rows;
        gi->chunks = &f->chunks[(size_t)g * ncols];
        for (uint32_t i = 0; i < ncols; i++) {
            int rc = check_chunk(f, g, i, &r->cols[i], &f->chunks[(size_t)g * ncols + i], e);
            if (rc != VG_OK)
                return rc;
            gi->compressed_bytes += f->chunks[(size_t)g * ncols + i].compressed_bytes;
        }
        rows += gi->num_rows;
    }
    if (m->num_rows < 0 || (uint64_t)m->num_rows != rows)
        return corrupt(e, "footer: file has %lld rows but its row groups hold %llu",
                       (long long)m->num_rows, (unsigned long long)rows);
    f->meta.num_rows = rows;
    f->meta.nrow_groups = m->nrgs;
    f->meta.row_groups = f->rgs;
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */
/* ------------------------------------------------------------------------ */

static parquet_file *file_new(const parquet_read_options *opt)
{
    parquet_file *f = vg_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    vg_arena_init(&f->arena, 16384);
    f->fd = -1;
    if (opt)
        f->lim = *opt;
    if (!f->lim.max_footer_bytes)
        f->lim.max_footer_bytes = VG_LIMIT_PARQUET_FOOTER_BYTES;
    if (!f->lim.max_page_bytes)
        f->lim.max_page_bytes = VG_LIMIT_PARQUET_PAGE_BYTES;
    if (!f->lim.max_chunk_bytes)
        f->lim.max_chunk_bytes = VG_LIMIT_PARQUET_CHUNK_BYTES;
    if (!f->lim.max_row_group_rows)
        f->lim.max_row_group_rows = VG_LIMIT_PARQUET_ROW_GROUP_ROWS;
    return f;
}

/* The last 8 bytes: footer length and magic. Sets f->data_end. */
static int check_tail(parquet_file *f, const uint8_t head[4], const uint8_t tail[8],
                      uint32_t *footer_len, vg_err *e)
{
    if (memcmp(tail + 4, "PARE", 4) == 0)
        return vg_err_set(e, VG_EINVAL, "parquet: encrypted files are not supported");
    if (memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0)
        return corrupt(e, "not a Parquet file (no PAR1 magic at both ends)");
    *footer_len = pq_load_u32(tail);
    if (*footer_len > f->size - 12)
        return corrupt(e, "footer of %u bytes does not fit a %llu-byte file", *footer_len,
                       (unsigned long long)f->size);
    if (*footer_len > f->lim.max_footer_bytes)
        return vg_err_set(e, VG_ELIMIT, "parquet: footer of %u bytes exceeds the %zu-byte limit",
                          *footer_len, f->lim.max_footer_bytes);
    f->data_end = f->size - 8 - *footer_len;
    return VG_OK;
}

static int finish_open(parquet_file *f, const uint8_t *footer, uint32_t len, vg_err *e)
{
    int rc = pq_read_file_meta(footer, len, f->data_end, &f->arena, &f->raw, e);
    if (rc != VG_OK) {
        pq_err_prefix(e, "parquet: ");
        return rc;
    }
    if (f->raw.encrypted)
        return vg_err_set(e, VG_EINVAL, "parquet: encrypted files are not supported");
    if ((rc = build_columns(f, e)) != VG_OK || (rc = build_row_groups(f, e)) != VG_OK)
        return rc;
    f->meta.nkv = f->raw.nkv;
    f->meta.kv = f->raw.kv;
    f->meta.created_by = f->raw.created_by;
    f->meta.file_bytes = f->size;
    return VG_OK;
}

int parquet_open_mem(parquet_file **out, const void *data, size_t len,
                     const parquet_read_options *opt, vg_err *e)
{
    vg_err local;
    if (!e) /* the decoders pass codes along through e */
        e = &local;
    *out = NULL;
    if (len < 12)
        return corrupt(e, "file of %zu bytes is too short", len);
    parquet_file *f = file_new(opt);
    if (!f)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    f->mem = data;
    f->size = len;
    uint32_t flen;
    int rc = check_tail(f, f->mem, f->mem + len - 8, &flen, e);
    if (rc == VG_OK)
        rc = finish_open(f, f->mem + f->data_end, flen, e);
    if (rc != VG_OK) {
        parquet_close(f);
        return rc;
    }
    *out = f;
    return VG_OK;
}

static int pread_exact(int fd, void *p, size_t n, uint64_t off, vg_err *e)
{
    size_t got;
    if (vg_pread_all(fd, p, n, off, &got, e) != VG_OK)
        return VG_EIO;
    if (got != n)
        return corrupt(e, "file shrank while being read (at %llu)", (unsigned long long)off);
    return VG_OK;
}

int parquet_open_fd(parquet_file **out, int fd, const parquet_read_options *opt, vg_err *e)
{
    struct stat st;
    vg_err local;
    if (!e)
        e = &local;
    *out = NULL;
    if (fstat(fd, &st) != 0)
        return vg_err_errno(e, VG_EIO, errno, "parquet: fstat");
    if (st.st_size < 12)
        return corrupt(e, "file of %lld bytes is too short", (long long)st.st_size);
    parquet_file *f = file_new(opt);
    if (!f)
        return vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    uint8_t head[4], tail[8];
    uint32_t flen = 0;
    uint8_t *footer = NULL;
    int rc = pread_exact(fd, head, 4, 0, e);
    if (rc == VG_OK)
        rc = pread_exact(fd, tail, 8, f->size - 8, e);
    if (rc == VG_OK)
        rc = check_tail(f, head, tail, &flen, e);
    if (rc == VG_OK && !(footer = vg_arena_alloc(&f->arena, flen ? flen : 1)))
        rc = vg_err_set(e, VG_ENOMEM, "parquet: out of memory");
    if (rc == VG_OK)
        rc = pread_exact(fd, footer, flen, f->data_end, e);
    if (rc == VG_OK)
        rc = finish_open(f, footer, flen, e);
    if (rc != VG_OK) {
        parquet_close(f);
        return rc;
    }
    *out = f;
    return VG_OK;
}

void parquet_close(parquet_file *f)
{
    if (!f)
        return;
    vg_arena_free(&f->arena);
    vg_free(f);
}

const parquet_meta *parquet_file_meta(const parquet_file *f)
{
    return &f->meta;
}

int parquet_find_column(const parquet_file *f, const char *name)
{
    for (uint32_t i = 0; i < f->meta.ncols; i++)
        if (strcmp(f->meta.cols[i].name, name) == 0)
            return (int)i;
    return -1;
}
