/*
 * parquet/meta_read.c: decodes the Thrift structs a reader needs (FileMetaData with
 * its schema, row groups, column chunks and statistics; PageHeader) into the plain
 * pq_raw_* structs, skipping every field it does not use. Interpretation (types,
 * bounds against the file size) happens in reader.c.
 */
#include "parquet_int.h"

#include <string.h>

/* Each decoder loops over the fields of one struct; unknown ids are skipped so newer
 * writers' additions pass through. */
#define FIELDS_BEGIN(r, name)                                                                      \
    const char *saved_;                                                                            \
    if (pq_tr_enter(r, name, &saved_) != 0)                                                        \
        return -1;                                                                                 \
    int16_t last_ = 0, id;                                                                         \
    int type, rc_;                                                                                 \
    while ((rc_ = pq_tr_field(r, &last_, &id, &type)) == 1)

#define FIELDS_END(r)                                                                              \
    if (rc_ < 0)                                                                                   \
        return -1;                                                                                 \
    pq_tr_leave(r, saved_);                                                                        \
    return 0

/* Opens a list of structs. Every element must be able to hold its required fields,
 * which bounds what a short footer can make us allocate for a long claimed list. */
static int struct_list(tc_reader *r, int type, uint32_t *n, unsigned min_bytes, const char *what)
{
    int et;
    if (pq_tr_list(r, type, &et, n) != 0)
        return -1;
    if (*n && et != TC_STRUCT)
        return pq_tr_fail(r, "%s are not structs", what);
    if ((uint64_t)*n * min_bytes > (uint64_t)(r->end - r->p))
        return pq_tr_fail(r, "%u %s cannot fit in the bytes left", *n, what);
    return 0;
}

static int read_stats(tc_reader *r, pq_raw_stats *s)
{
    FIELDS_BEGIN(r, "Statistics")
    {
        int rc;
        switch (id) {
        case 1:
            rc = pq_tr_bin(r, type, &s->max_old, &s->max_old_len);
            s->has_max_old = true;
            break;
        case 2:
            rc = pq_tr_bin(r, type, &s->min_old, &s->min_old_len);
            s->has_min_old = true;
            break;
        case 3:
            rc = pq_tr_i64(r, type, &s->null_count);
            s->has_null_count = true;
            break;
        case 5:
            rc = pq_tr_bin(r, type, &s->max_value, &s->max_value_len);
            s->has_max_value = true;
            break;
        case 6:
            rc = pq_tr_bin(r, type, &s->min_value, &s->min_value_len);
            s->has_min_value = true;
            break;
        case 7:
            rc = pq_tr_bool(r, type, &s->max_exact);
            s->has_max_exact = true;
            break;
        case 8:
            rc = pq_tr_bool(r, type, &s->min_exact);
            s->has_min_exact = true;
            break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_encodings(tc_reader *r, int type, uint32_t *mask)
{
    int et;
    uint32_t n;
    if (pq_tr_list(r, type, &et, &n) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        int32_t v;
        if (pq_tr_elem_i32(r, et, &v) != 0)
            return -1;
        /* an encoding we do not know stays out of the mask; pages using it fail later */
        if (v >= 0 && v <= PQ_ENC_MAX)
            *mask |= 1u << v;
    }
    return 0;
}

static int read_path(tc_reader *r, int type, pq_raw_chunk *c)
{
    int et;
    uint32_t n;
    if (pq_tr_list(r, type, &et, &n) != 0)
        return -1;
    c->path_depth = n;
    for (uint32_t i = 0; i < n; i++)
        if (pq_tr_elem_bin(r, et, &c->path, &c->path_len) != 0)
            return -1;
    return 0;
}

static int read_column_meta(tc_reader *r, pq_raw_chunk *c)
{
    c->has_meta = true;
    c->type = -1;
    c->codec = -1;
    c->data_page_offset = -1;
    FIELDS_BEGIN(r, "ColumnMetaData")
    {
        int rc;
        switch (id) {
        case 1: rc = pq_tr_i32(r, type, &c->type); break;
        case 2: rc = read_encodings(r, type, &c->encodings); break;
        case 3: rc = read_path(r, type, c); break;
        case 4: rc = pq_tr_i32(r, type, &c->codec); break;
        case 5: rc = pq_tr_i64(r, type, &c->num_values); break;
        case 6: rc = pq_tr_i64(r, type, &c->total_uncompressed); break;
        case 7: rc = pq_tr_i64(r, type, &c->total_compressed); break;
        case 9: rc = pq_tr_i64(r, type, &c->data_page_offset); break;
        case 11:
            rc = pq_tr_i64(r, type, &c->dict_page_offset);
            c->has_dict_offset = true;
            break;
        case 12:
            rc = type == TC_STRUCT ? read_stats(r, &c->stats) : pq_tr_skip(r, type, false);
            break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_chunk(tc_reader *r, pq_raw_chunk *c)
{
    FIELDS_BEGIN(r, "ColumnChunk")
    {
        int rc;
        if (id == 3 && type == TC_STRUCT)
            rc = read_column_meta(r, c);
        else if (id == 8 || id == 9) {
            c->encrypted = true;
            rc = pq_tr_skip(r, type, false);
        } else
            rc = pq_tr_skip(r, type, false);
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_chunks(tc_reader *r, int type, vg_arena *a, pq_raw_rg *g)
{
    uint32_t n;
    if (struct_list(r, type, &n, 20, "column chunks") != 0)
        return -1;
    g->cols = vg_arena_calloc(a, (size_t)n * sizeof *g->cols + 1);
    if (!g->cols)
        return pq_tr_oom(r);
    g->ncols = n;
    for (uint32_t i = 0; i < n; i++)
        if (read_chunk(r, &g->cols[i]) != 0)
            return -1;
    return 0;
}

static int read_row_group(tc_reader *r, vg_arena *a, pq_raw_rg *g)
{
    g->num_rows = -1;
    FIELDS_BEGIN(r, "RowGroup")
    {
        int rc;
        switch (id) {
        case 1: rc = read_chunks(r, type, a, g); break;
        case 3: rc = pq_tr_i64(r, type, &g->num_rows); break;
        case 6: rc = pq_tr_i64(r, type, &g->total_compressed); break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

/* TimeUnit: a union of empty structs. */
static int read_time_unit(tc_reader *r, int *unit)
{
    FIELDS_BEGIN(r, "TimeUnit")
    {
        if (id >= 1 && id <= 3)
            *unit = id;
        if (pq_tr_skip(r, type, false) != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_ts_type(tc_reader *r, pq_raw_schema *s)
{
    FIELDS_BEGIN(r, "TimestampType")
    {
        int rc;
        if (id == 1)
            rc = pq_tr_bool(r, type, &s->ts_utc);
        else if (id == 2 && type == TC_STRUCT)
            rc = read_time_unit(r, &s->ts_unit);
        else
            rc = pq_tr_skip(r, type, false);
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_int_type(tc_reader *r, pq_raw_schema *s)
{
    FIELDS_BEGIN(r, "IntType")
    {
        int rc;
        int8_t bits;
        if (id == 1) {
            rc = pq_tr_i8(r, type, &bits);
            s->int_bits = bits;
        } else if (id == 2)
            rc = pq_tr_bool(r, type, &s->int_signed);
        else
            rc = pq_tr_skip(r, type, false);
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_decimal_type(tc_reader *r, pq_raw_schema *s)
{
    FIELDS_BEGIN(r, "DecimalType")
    {
        int rc;
        if (id == 1)
            rc = pq_tr_i32(r, type, &s->dec_scale);
        else if (id == 2)
            rc = pq_tr_i32(r, type, &s->dec_precision);
        else
            rc = pq_tr_skip(r, type, false);
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_logical(tc_reader *r, pq_raw_schema *s)
{
    FIELDS_BEGIN(r, "LogicalType")
    {
        int rc;
        s->logical = id;
        if (type != TC_STRUCT)
            rc = pq_tr_skip(r, type, false);
        else if (id == 8 || id == 7) /* TIMESTAMP, TIME */
            rc = read_ts_type(r, s);
        else if (id == 10)
            rc = read_int_type(r, s);
        else if (id == 5)
            rc = read_decimal_type(r, s);
        else
            rc = pq_tr_skip(r, type, false);
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_schema_elem(tc_reader *r, pq_raw_schema *s)
{
    FIELDS_BEGIN(r, "SchemaElement")
    {
        int rc;
        switch (id) {
        case 1:
            rc = pq_tr_i32(r, type, &s->type);
            s->has_type = true;
            break;
        case 2: rc = pq_tr_i32(r, type, &s->type_length); break;
        case 3:
            rc = pq_tr_i32(r, type, &s->repetition);
            s->has_repetition = true;
            break;
        case 4: rc = pq_tr_bin(r, type, &s->name, &s->name_len); break;
        case 5:
            rc = pq_tr_i32(r, type, &s->num_children);
            s->has_children = true;
            break;
        case 6:
            rc = pq_tr_i32(r, type, &s->converted);
            s->has_converted = true;
            break;
        case 7: rc = pq_tr_i32(r, type, &s->scale); break;
        case 8: rc = pq_tr_i32(r, type, &s->precision); break;
        case 10: rc = type == TC_STRUCT ? read_logical(r, s) : pq_tr_skip(r, type, false); break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_schema(tc_reader *r, int type, vg_arena *a, pq_raw_meta *m)
{
    uint32_t n;
    if (struct_list(r, type, &n, 3, "schema elements") != 0)
        return -1;
    m->schema = vg_arena_calloc(a, (size_t)n * sizeof *m->schema + 1);
    if (!m->schema)
        return pq_tr_oom(r);
    m->nschema = n;
    for (uint32_t i = 0; i < n; i++)
        if (read_schema_elem(r, &m->schema[i]) != 0)
            return -1;
    return 0;
}

static int read_row_groups(tc_reader *r, int type, vg_arena *a, pq_raw_meta *m)
{
    uint32_t n;
    if (struct_list(r, type, &n, 7, "row groups") != 0)
        return -1;
    m->rgs = vg_arena_calloc(a, (size_t)n * sizeof *m->rgs + 1);
    if (!m->rgs)
        return pq_tr_oom(r);
    m->nrgs = n;
    for (uint32_t i = 0; i < n; i++)
        if (read_row_group(r, a, &m->rgs[i]) != 0)
            return -1;
    return 0;
}

static int read_kv(tc_reader *r, vg_arena *a, parquet_kv *kv)
{
    const uint8_t *k = NULL, *v = NULL;
    uint32_t kn = 0, vn = 0;
    FIELDS_BEGIN(r, "KeyValue")
    {
        int rc;
        if (id == 1)
            rc = pq_tr_bin(r, type, &k, &kn);
        else if (id == 2)
            rc = pq_tr_bin(r, type, &v, &vn);
        else
            rc = pq_tr_skip(r, type, false);
        if (rc != 0)
            return -1;
    }
    if (rc_ < 0)
        return -1;
    kv->key = vg_arena_strndup(a, k ? (const char *)k : "", kn);
    kv->value = vg_arena_strndup(a, v ? (const char *)v : "", vn);
    if (!kv->key || !kv->value)
        return pq_tr_oom(r);
    pq_tr_leave(r, saved_);
    return 0;
}

static int read_kvs(tc_reader *r, int type, vg_arena *a, pq_raw_meta *m)
{
    uint32_t n;
    if (struct_list(r, type, &n, 3, "key-value metadata") != 0)
        return -1;
    m->kv = vg_arena_calloc(a, (size_t)n * sizeof *m->kv + 1);
    if (!m->kv)
        return pq_tr_oom(r);
    m->nkv = n;
    for (uint32_t i = 0; i < n; i++)
        if (read_kv(r, a, &m->kv[i]) != 0)
            return -1;
    return 0;
}

static int read_file_meta(tc_reader *r, vg_arena *a, pq_raw_meta *m)
{
    const uint8_t *cb = NULL;
    uint32_t cbn = 0;
    m->num_rows = -1;
    FIELDS_BEGIN(r, "FileMetaData")
    {
        int rc;
        switch (id) {
        case 1: rc = pq_tr_i32(r, type, &m->version); break;
        case 2: rc = read_schema(r, type, a, m); break;
        case 3: rc = pq_tr_i64(r, type, &m->num_rows); break;
        case 4: rc = read_row_groups(r, type, a, m); break;
        case 5: rc = read_kvs(r, type, a, m); break;
        case 6: rc = pq_tr_bin(r, type, &cb, &cbn); break;
        case 8:
            m->encrypted = true;
            rc = pq_tr_skip(r, type, false);
            break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    if (rc_ < 0)
        return -1;
    m->created_by = vg_arena_strndup(a, cb ? (const char *)cb : "", cbn);
    if (!m->created_by)
        return pq_tr_oom(r);
    pq_tr_leave(r, saved_);
    return 0;
}

int pq_read_file_meta(const uint8_t *p, size_t len, uint64_t off, vg_arena *a, pq_raw_meta *m,
                      vg_err *e)
{
    tc_reader r;
    memset(m, 0, sizeof *m);
    pq_tr_init(&r, p, len, off, e);
    if (read_file_meta(&r, a, m) != 0) {
        pq_err_prefix(e, "footer: ");
        return e->code;
    }
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* PageHeader                                                               */
/* ------------------------------------------------------------------------ */

static int read_data_header(tc_reader *r, pq_page_header *h)
{
    FIELDS_BEGIN(r, "DataPageHeader")
    {
        int rc;
        switch (id) {
        case 1: rc = pq_tr_i32(r, type, &h->num_values); break;
        case 2: rc = pq_tr_i32(r, type, &h->encoding); break;
        case 3: rc = pq_tr_i32(r, type, &h->def_encoding); break;
        case 4: rc = pq_tr_i32(r, type, &h->rep_encoding); break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_dict_header(tc_reader *r, pq_page_header *h)
{
    FIELDS_BEGIN(r, "DictionaryPageHeader")
    {
        int rc;
        switch (id) {
        case 1: rc = pq_tr_i32(r, type, &h->num_values); break;
        case 2: rc = pq_tr_i32(r, type, &h->encoding); break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_v2_header(tc_reader *r, pq_page_header *h)
{
    FIELDS_BEGIN(r, "DataPageHeaderV2")
    {
        int rc;
        switch (id) {
        case 1: rc = pq_tr_i32(r, type, &h->num_values); break;
        case 2: rc = pq_tr_i32(r, type, &h->num_nulls); break;
        case 3: rc = pq_tr_i32(r, type, &h->num_rows); break;
        case 4: rc = pq_tr_i32(r, type, &h->encoding); break;
        case 5: rc = pq_tr_i32(r, type, &h->def_len); break;
        case 6: rc = pq_tr_i32(r, type, &h->rep_len); break;
        case 7: rc = pq_tr_bool(r, type, &h->is_compressed); break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

static int read_page_header(tc_reader *r, pq_page_header *h)
{
    FIELDS_BEGIN(r, "PageHeader")
    {
        int rc;
        int32_t crc;
        bool sub = type == TC_STRUCT;
        switch (id) {
        case 1: rc = pq_tr_i32(r, type, &h->type); break;
        case 2: rc = pq_tr_i32(r, type, &h->uncompressed_size); break;
        case 3: rc = pq_tr_i32(r, type, &h->compressed_size); break;
        case 4:
            rc = pq_tr_i32(r, type, &crc);
            h->crc = (uint32_t)crc;
            h->has_crc = true;
            break;
        case 5:
            rc = sub && h->type == PQ_PAGE_DATA ? read_data_header(r, h)
                                                : pq_tr_skip(r, type, false);
            h->has_body |= sub && h->type == PQ_PAGE_DATA;
            break;
        case 7:
            rc = sub && h->type == PQ_PAGE_DICT ? read_dict_header(r, h)
                                                : pq_tr_skip(r, type, false);
            h->has_body |= sub && h->type == PQ_PAGE_DICT;
            break;
        case 8:
            rc = sub && h->type == PQ_PAGE_DATA_V2 ? read_v2_header(r, h)
                                                   : pq_tr_skip(r, type, false);
            h->has_body |= sub && h->type == PQ_PAGE_DATA_V2;
            break;
        default: rc = pq_tr_skip(r, type, false);
        }
        if (rc != 0)
            return -1;
    }
    FIELDS_END(r);
}

int pq_read_page_header(const uint8_t *p, size_t len, uint64_t off, pq_page_header *h, size_t *used,
                        vg_err *e)
{
    tc_reader r;
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncompressed_size = -1;
    h->compressed_size = -1;
    h->is_compressed = true; /* the field's default */
    h->encoding = -1;
    pq_tr_init(&r, p, len, off, e);
    if (read_page_header(&r, h) != 0)
        return e->code;
    *used = (size_t)(r.p - r.base);
    return VG_OK;
}
