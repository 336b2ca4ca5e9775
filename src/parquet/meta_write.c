/*
 * parquet/meta_write.c: encodes the Thrift structs the writer emits: PageHeader,
 * RowGroup (with its ColumnChunks and Statistics) and FileMetaData (schema, key-value
 * metadata, column orders). Field ids are parquet.thrift's.
 */
#include "parquet_int.h"

#include <string.h>

void pq_write_page_header(vg_buf *out, const pq_page_header *h)
{
    tc_writer w;
    pq_tw_init(&w, out);
    pq_tw_i32(&w, 1, h->type);
    pq_tw_i32(&w, 2, h->uncompressed_size);
    pq_tw_i32(&w, 3, h->compressed_size);
    if (h->has_crc)
        pq_tw_i32(&w, 4, (int32_t)h->crc);
    switch (h->type) {
    case PQ_PAGE_DATA:
        pq_tw_struct(&w, 5);
        pq_tw_i32(&w, 1, h->num_values);
        pq_tw_i32(&w, 2, h->encoding);
        pq_tw_i32(&w, 3, h->def_encoding);
        pq_tw_i32(&w, 4, h->rep_encoding);
        pq_tw_end(&w);
        break;
    case PQ_PAGE_DICT:
        pq_tw_struct(&w, 7);
        pq_tw_i32(&w, 1, h->num_values);
        pq_tw_i32(&w, 2, h->encoding);
        pq_tw_end(&w);
        break;
    case PQ_PAGE_DATA_V2:
        pq_tw_struct(&w, 8);
        pq_tw_i32(&w, 1, h->num_values);
        pq_tw_i32(&w, 2, h->num_nulls);
        pq_tw_i32(&w, 3, h->num_rows);
        pq_tw_i32(&w, 4, h->encoding);
        pq_tw_i32(&w, 5, h->def_len);
        pq_tw_i32(&w, 6, h->rep_len);
        pq_tw_bool(&w, 7, h->is_compressed);
        pq_tw_end(&w);
        break;
    }
    pq_tw_end(&w);
}

static void write_stats(tc_writer *w, const pq_chunk_out *c)
{
    pq_tw_struct(w, 12);
    pq_tw_i64(w, 3, c->null_count);
    if (c->has_min_max) {
        pq_tw_bin(w, 5, c->max, c->max_len);
        pq_tw_bin(w, 6, c->min, c->min_len);
        pq_tw_bool(w, 7, c->max_exact);
        pq_tw_bool(w, 8, c->min_exact);
    }
    pq_tw_end(w);
}

static void write_column_meta(tc_writer *w, const pq_chunk_out *c)
{
    uint32_t nenc = 0;
    for (int i = 0; i <= PQ_ENC_MAX; i++)
        nenc += (c->encodings >> i) & 1;
    pq_tw_struct(w, 3);
    pq_tw_i32(w, 1, c->physical);
    pq_tw_list(w, 2, TC_I32, nenc);
    for (int i = 0; i <= PQ_ENC_MAX; i++)
        if ((c->encodings >> i) & 1)
            pq_tw_elem_i32(w, i);
    pq_tw_list(w, 3, TC_BINARY, 1);
    pq_tw_elem_bin(w, c->name, strlen(c->name));
    pq_tw_i32(w, 4, c->codec);
    pq_tw_i64(w, 5, c->num_values);
    pq_tw_i64(w, 6, c->total_uncompressed);
    pq_tw_i64(w, 7, c->total_compressed);
    pq_tw_i64(w, 9, c->data_page_offset);
    if (c->dict_page_offset >= 0)
        pq_tw_i64(w, 11, c->dict_page_offset);
    write_stats(w, c);
    pq_tw_end(w);
}

void pq_write_row_group(vg_buf *out, const pq_chunk_out *cols, uint32_t ncols, int64_t num_rows,
                        int64_t file_offset, int ordinal)
{
    tc_writer w;
    int64_t uncompressed = 0, compressed = 0;
    pq_tw_init(&w, out);
    pq_tw_list(&w, 1, TC_STRUCT, ncols);
    for (uint32_t i = 0; i < ncols; i++) {
        const pq_chunk_out *c = &cols[i];
        int64_t start = c->dict_page_offset >= 0 ? c->dict_page_offset : c->data_page_offset;
        pq_tw_elem_struct(&w);
        /* file_offset is deprecated; readers use the page offsets. The chunk's start
         * is what current writers put there. */
        pq_tw_i64(&w, 2, start);
        write_column_meta(&w, c);
        pq_tw_end(&w);
        uncompressed += c->total_uncompressed;
        compressed += c->total_compressed;
    }
    pq_tw_i64(&w, 2, uncompressed);
    pq_tw_i64(&w, 3, num_rows);
    pq_tw_i64(&w, 5, file_offset);
    pq_tw_i64(&w, 6, compressed);
    if (ordinal <= INT16_MAX)
        pq_tw_i16(&w, 7, (int16_t)ordinal);
    pq_tw_end(&w);
}

/* A SchemaElement for one leaf: physical type, repetition, and the converted and
 * logical types that make readers see what we mean. */
static void write_leaf(tc_writer *w, const parquet_column_def *c, bool utc)
{
    static const int32_t physical[] = {
        [PARQUET_TIMESTAMP] = PARQUET_PHYS_INT64, [PARQUET_STRING] = PARQUET_PHYS_BYTE_ARRAY,
        [PARQUET_DOUBLE] = PARQUET_PHYS_DOUBLE,   [PARQUET_INT64] = PARQUET_PHYS_INT64,
        [PARQUET_UINT64] = PARQUET_PHYS_INT64,    [PARQUET_BOOL] = PARQUET_PHYS_BOOLEAN,
    };
    pq_tw_elem_struct(w);
    pq_tw_i32(w, 1, physical[c->type]);
    pq_tw_i32(w, 3, c->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
    pq_tw_str(w, 4, c->name);
    if (c->type == PARQUET_STRING)
        pq_tw_i32(w, 6, PQ_CT_UTF8);
    else if (c->type == PARQUET_UINT64)
        pq_tw_i32(w, 6, PQ_CT_UINT_64);
    /* TIMESTAMP(NANOS) has no converted type: old readers see a plain INT64 */
    if (c->type == PARQUET_STRING) {
        pq_tw_struct(w, 10);
        pq_tw_struct(w, 1); /* StringType */
        pq_tw_end(w);
        pq_tw_end(w);
    } else if (c->type == PARQUET_TIMESTAMP) {
        pq_tw_struct(w, 10);
        pq_tw_struct(w, 8); /* TimestampType */
        pq_tw_bool(w, 1, utc);
        pq_tw_struct(w, 2); /* TimeUnit */
        pq_tw_struct(w, 3); /* NanoSeconds */
        pq_tw_end(w);
        pq_tw_end(w);
        pq_tw_end(w);
        pq_tw_end(w);
    } else if (c->type == PARQUET_UINT64) {
        pq_tw_struct(w, 10);
        pq_tw_struct(w, 10); /* IntType */
        pq_tw_i8(w, 1, 64);
        pq_tw_bool(w, 2, false);
        pq_tw_end(w);
        pq_tw_end(w);
    }
    pq_tw_end(w);
}

/* "vigil:tags": the tag columns as a JSON list of names. */
static void tags_json(vg_buf *b, const parquet_schema *s)
{
    bool first = true;
    vg_buf_putc(b, '[');
    for (uint32_t i = 0; i < s->ncols; i++) {
        if (!s->cols[i].tag)
            continue;
        if (!first)
            vg_buf_putc(b, ',');
        vg_json_str(b, s->cols[i].name, strlen(s->cols[i].name));
        first = false;
    }
    vg_buf_putc(b, ']');
}

static void write_kv(tc_writer *w, const char *key, const char *value)
{
    pq_tw_elem_struct(w);
    pq_tw_str(w, 1, key);
    pq_tw_str(w, 2, value);
    pq_tw_end(w);
}

void pq_write_file_meta(vg_buf *out, const parquet_schema *s, bool utc, int64_t num_rows,
                        const vg_buf *rg_bytes, uint32_t nrgs, const parquet_kv *kv, uint32_t nkv)
{
    tc_writer w;
    vg_buf tags;
    vg_buf_init(&tags);
    tags_json(&tags, s);
    pq_tw_init(&w, out);
    pq_tw_i32(&w, 1, 2);
    pq_tw_list(&w, 2, TC_STRUCT, s->ncols + 1);
    pq_tw_elem_struct(&w);
    pq_tw_str(&w, 4, "schema");
    pq_tw_i32(&w, 5, (int32_t)s->ncols);
    pq_tw_end(&w);
    for (uint32_t i = 0; i < s->ncols; i++)
        write_leaf(&w, &s->cols[i], utc);
    pq_tw_i64(&w, 3, num_rows);
    /* the RowGroup structs were encoded as each group was written */
    pq_tw_list(&w, 4, TC_STRUCT, nrgs);
    vg_buf_append(out, rg_bytes->data, rg_bytes->len);
    pq_tw_list(&w, 5, TC_STRUCT, nkv + 1);
    write_kv(&w, PARQUET_TAGS_KEY, tags.oom ? "[]" : tags.data);
    for (uint32_t i = 0; i < nkv; i++)
        write_kv(&w, kv[i].key, kv[i].value ? kv[i].value : "");
    pq_tw_str(&w, 6, PARQUET_CREATED_BY);
    /* ColumnOrder TYPE_ORDER: min_value/max_value follow each type's sort order */
    pq_tw_list(&w, 7, TC_STRUCT, s->ncols);
    for (uint32_t i = 0; i < s->ncols; i++) {
        pq_tw_elem_struct(&w);
        pq_tw_struct(&w, 1);
        pq_tw_end(&w);
        pq_tw_end(&w);
    }
    pq_tw_end(&w);
    if (tags.oom)
        out->oom = true;
    vg_buf_free(&tags);
}
