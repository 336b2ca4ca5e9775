/*
 * parquet_int.h: declarations shared by the files of the parquet module (and its unit
 * test), never included by another module.
 *
 *   thrift.c      Thrift compact protocol: writer into a vg_buf, bounded reader
 *   meta_write.c  PageHeader and FileMetaData encoding
 *   meta_read.c   FileMetaData and PageHeader decoding, schema interpretation
 *   rle.c         bit packing, RLE/bit-packed hybrid, ULEB128/zigzag varints
 *   delta.c       DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
 *   plain.c       PLAIN and BYTE_STREAM_SPLIT
 *   codec.c       page compression
 *   writer.c      the file writer
 *   reader.c      opening a file, the footer, statistics
 *   column.c      decoding one column chunk (pages, levels, values)
 */
#ifndef VIGIL_PARQUET_INT_H
#define VIGIL_PARQUET_INT_H

#include "parquet.h"

/* ------------------------------------------------------------------------ */
/* On-disk enums (parquet.thrift)                                           */
/* ------------------------------------------------------------------------ */

enum {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
    PQ_ENC_MAX = 31, /* encodings are kept in a 32-bit mask */
};

enum {
    PQ_CODEC_UNCOMPRESSED = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_LZO = 3,
    PQ_CODEC_BROTLI = 4,
    PQ_CODEC_LZ4 = 5,
    PQ_CODEC_ZSTD = 6,
    PQ_CODEC_LZ4_RAW = 7,
};

enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICT = 2, PQ_PAGE_DATA_V2 = 3 };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };

/* ConvertedType values we interpret. */
enum {
    PQ_CT_UTF8 = 0,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
};

/* parquet_codec <-> CompressionCodec */
int pq_codec_to_thrift(parquet_codec c);
parquet_codec pq_codec_from_thrift(int32_t c);

/* ------------------------------------------------------------------------ */
/* Little-endian access                                                     */
/* ------------------------------------------------------------------------ */

static inline uint32_t pq_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t pq_load_u64(const uint8_t *p)
{
    return (uint64_t)pq_load_u32(p) | (uint64_t)pq_load_u32(p + 4) << 32;
}

static inline void pq_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void pq_store_u64(uint8_t *p, uint64_t v)
{
    pq_store_u32(p, (uint32_t)v);
    pq_store_u32(p + 4, (uint32_t)(v >> 32));
}

/* Prepends a printf-formatted context to e->msg ("column 'x': " + old message). */
void pq_err_prefix(vg_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Thrift compact protocol (thrift.c)                                       */
/* ------------------------------------------------------------------------ */

enum {
    TC_STOP = 0,
    TC_TRUE = 1,
    TC_FALSE = 2,
    TC_I8 = 3,
    TC_I16 = 4,
    TC_I32 = 5,
    TC_I64 = 6,
    TC_DOUBLE = 7,
    TC_BINARY = 8,
    TC_LIST = 9,
    TC_SET = 10,
    TC_MAP = 11,
    TC_STRUCT = 12,
};

/* Writer: appends to a vg_buf (whose oom flag carries allocation failure). Structs
 * nest with pq_tw_struct / pq_tw_elem_struct ... pq_tw_end. */
typedef struct tc_writer {
    vg_buf *b;
    int depth;
    int16_t last[VG_LIMIT_PARQUET_THRIFT_DEPTH];
} tc_writer;

void pq_tw_init(tc_writer *w, vg_buf *b); /* and opens the top-level struct */
void pq_tw_end(tc_writer *w);             /* closes the innermost struct */
void pq_tw_i32(tc_writer *w, int16_t id, int32_t v);
void pq_tw_i64(tc_writer *w, int16_t id, int64_t v);
void pq_tw_i16(tc_writer *w, int16_t id, int16_t v);
void pq_tw_i8(tc_writer *w, int16_t id, int8_t v);
void pq_tw_bool(tc_writer *w, int16_t id, bool v);
void pq_tw_bin(tc_writer *w, int16_t id, const void *p, size_t n);
void pq_tw_str(tc_writer *w, int16_t id, const char *s);
void pq_tw_struct(tc_writer *w, int16_t id);
void pq_tw_list(tc_writer *w, int16_t id, int elem_type, uint32_t n);
void pq_tw_elem_i32(tc_writer *w, int32_t v);
void pq_tw_elem_bin(tc_writer *w, const void *p, size_t n);
void pq_tw_elem_struct(tc_writer *w);
/* Raw varints, shared with the encodings. */
void pq_put_uleb(vg_buf *b, uint64_t v);
void pq_put_zigzag(vg_buf *b, int64_t v);

/* Reader over untrusted bytes: every read is bounds-checked, struct nesting is
 * limited, list and string lengths cannot exceed the bytes left. The first error
 * sticks (later calls fail fast), and its message carries the absolute file offset
 * and the struct being read. */
typedef struct tc_reader {
    const uint8_t *base; /* first byte of the buffer */
    const uint8_t *p;
    const uint8_t *end;
    uint64_t file_off; /* file offset of base */
    int depth;
    const char *what; /* struct being decoded, for messages */
    vg_err *e;
    bool failed;
} tc_reader;

void pq_tr_init(tc_reader *r, const void *p, size_t n, uint64_t file_off, vg_err *e);
int pq_tr_fail(tc_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pq_tr_oom(tc_reader *r); /* the first error is VG_ENOMEM, not corruption */
/* Enters a struct (checks depth); pq_tr_leave leaves it. */
int pq_tr_enter(tc_reader *r, const char *what, const char **saved);
void pq_tr_leave(tc_reader *r, const char *saved);
/* Next field header of the current struct: 1 with *id and *type set, 0 at STOP,
 * -1 on error. *last carries the previous field id between calls (start at 0). */
int pq_tr_field(tc_reader *r, int16_t *last, int16_t *id, int *type);
int pq_tr_i32(tc_reader *r, int type, int32_t *v);
int pq_tr_i64(tc_reader *r, int type, int64_t *v);
int pq_tr_i8(tc_reader *r, int type, int8_t *v);
int pq_tr_bool(tc_reader *r, int type, bool *v); /* a field's boolean */
int pq_tr_bin(tc_reader *r, int type, const uint8_t **p, uint32_t *n);
/* List (or set) header; *n <= bytes left. */
int pq_tr_list(tc_reader *r, int type, int *elem_type, uint32_t *n);
int pq_tr_elem_i32(tc_reader *r, int elem_type, int32_t *v);
int pq_tr_elem_bin(tc_reader *r, int elem_type, const uint8_t **p, uint32_t *n);
/* Skips a value of the given type (a field's, or a collection element's). */
int pq_tr_skip(tc_reader *r, int type, bool elem);
/* Skips a whole struct body up to and including its STOP. */
int pq_tr_skip_struct(tc_reader *r);
/* Raw varint helpers (bounded). */
int pq_get_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v);
int pq_get_zigzag(const uint8_t **p, const uint8_t *end, int64_t *v);

/* ------------------------------------------------------------------------ */
/* Bit packing and RLE/bit-packed hybrid (rle.c)                            */
/* ------------------------------------------------------------------------ */

/* Bits needed for v (0 for 0). */
int pq_bit_width(uint64_t v);
/* Packs n values of `width` bits LSB-first into out, which must hold
 * (n * width + 7) / 8 zeroed bytes. */
void pq_pack(uint8_t *out, const uint64_t *vals, size_t n, int width);
/* Unpacks n values of `width` (<= 64) bits; `in` must hold (n * width + 7) / 8 bytes. */
void pq_unpack(const uint8_t *in, uint64_t *out, size_t n, int width);
void pq_unpack32(const uint8_t *in, uint32_t *out, size_t n, int width);

/* Encodes n values (elem_size 1 or 4 bytes each) of `width` bits as the hybrid. */
void pq_rle_encode(vg_buf *out, const void *vals, int elem_size, size_t n, int width);
/* Decodes exactly n values of `width` (0..32) bits from [p, p + len). Bytes after
 * the last needed value are ignored. */
int pq_rle_decode(const uint8_t *p, size_t len, int width, uint32_t *out, size_t n, vg_err *e);

/* ------------------------------------------------------------------------ */
/* Delta encodings (delta.c)                                                */
/* ------------------------------------------------------------------------ */

/* DELTA_BINARY_PACKED with blocks of 128 values in 4 miniblocks; arithmetic wraps
 * in 64 bits, so it serves INT64 and UINT64 alike. */
void pq_delta_encode(vg_buf *out, const int64_t *vals, size_t n);
/* Decodes a DELTA_BINARY_PACKED stream whose value count must be at most `max`;
 * bits is 32 (INT32: arithmetic wraps in 32 bits, values sign-extended) or 64.
 * Sets *count and *used (bytes consumed). */
int pq_delta_decode(const uint8_t *p, size_t len, int bits, int64_t *out, size_t max, size_t *count,
                    size_t *used, vg_err *e);
void pq_delta_length_encode(vg_buf *out, const uint32_t *lens, const char *bytes, size_t n);
void pq_delta_strings_encode(vg_buf *out, const uint32_t *lens, const char *bytes, size_t n);
/* The string decoders need scratch and output memory: from the arena. Slices point
 * into `p` (DELTA_LENGTH) or into arena memory (DELTA_BYTE_ARRAY); max_bytes caps
 * the decoded size of the latter. */
int pq_delta_length_decode(const uint8_t *p, size_t len, vg_str *out, size_t n, vg_arena *a,
                           vg_err *e);
int pq_delta_strings_decode(const uint8_t *p, size_t len, vg_str *out, size_t n, size_t max_bytes,
                            vg_arena *a, vg_err *e);

/* ------------------------------------------------------------------------ */
/* PLAIN and BYTE_STREAM_SPLIT (plain.c)                                    */
/* ------------------------------------------------------------------------ */

/* Byte-stream split of n values of k bytes: out gets n * k bytes. */
void pq_bss_encode(uint8_t *out, const uint8_t *vals, size_t n, int k);
int pq_bss_decode(const uint8_t *p, size_t len, uint8_t *out, size_t n, int k, vg_err *e);
/* PLAIN byte arrays: slices point into p. */
int pq_plain_strings_decode(const uint8_t *p, size_t len, vg_str *out, size_t n, vg_err *e);
/* PLAIN booleans (bit-packed LSB-first) into one byte per value. */
int pq_plain_bools_decode(const uint8_t *p, size_t len, uint8_t *out, size_t n, vg_err *e);

/* ------------------------------------------------------------------------ */
/* Page compression (codec.c)                                               */
/* ------------------------------------------------------------------------ */

/* Appends the compressed form of [src, src + n) to out. */
int pq_compress(parquet_codec c, int level, const void *src, size_t n, vg_buf *out, vg_err *e);
/* Decompresses into exactly dst_len bytes; anything else is VG_ECORRUPT. */
int pq_decompress(int thrift_codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                  vg_err *e);
uint32_t pq_crc32(const void *p, size_t n); /* the page-header CRC (zlib's CRC-32) */

/* ------------------------------------------------------------------------ */
/* Page headers (meta_write.c, meta_read.c)                                 */
/* ------------------------------------------------------------------------ */

typedef struct pq_page_header {
    int32_t type;
    int32_t uncompressed_size;
    int32_t compressed_size;
    bool has_crc;
    uint32_t crc;
    /* DATA_PAGE, DATA_PAGE_V2, DICTIONARY_PAGE */
    int32_t num_values;
    int32_t encoding;
    int32_t def_encoding; /* v1 */
    int32_t rep_encoding; /* v1 */
    /* v2 */
    int32_t num_nulls;
    int32_t num_rows;
    int32_t def_len;
    int32_t rep_len;
    bool is_compressed;
    bool has_body; /* the header for `type` was present */
} pq_page_header;

/* Appends a PageHeader. */
void pq_write_page_header(vg_buf *out, const pq_page_header *h);
/* Parses a PageHeader at [p, p + len) whose first byte is at file offset off; sets
 * *used to its size. */
int pq_read_page_header(const uint8_t *p, size_t len, uint64_t off, pq_page_header *h, size_t *used,
                        vg_err *e);

/* The footer, as decoded (slices point into the footer bytes). */
typedef struct pq_raw_stats {
    const uint8_t *min_value, *max_value, *min_old, *max_old;
    uint32_t min_value_len, max_value_len, min_old_len, max_old_len;
    bool has_min_value, has_max_value, has_min_old, has_max_old;
    bool has_null_count;
    int64_t null_count;
    bool has_min_exact, has_max_exact;
    bool min_exact, max_exact;
} pq_raw_stats;

typedef struct pq_raw_chunk {
    bool has_meta;
    int32_t type;
    uint32_t encodings;
    int32_t codec;
    int64_t num_values;
    int64_t total_uncompressed;
    int64_t total_compressed;
    int64_t data_page_offset;
    bool has_dict_offset;
    int64_t dict_page_offset;
    const uint8_t *path; /* last path element */
    uint32_t path_len;
    uint32_t path_depth;
    bool encrypted;
    pq_raw_stats stats;
} pq_raw_chunk;

typedef struct pq_raw_rg {
    int64_t num_rows;
    int64_t total_compressed;
    uint32_t ncols;
    pq_raw_chunk *cols;
} pq_raw_rg;

typedef struct pq_raw_schema {
    bool has_type;
    int32_t type;
    int32_t type_length;
    bool has_repetition;
    int32_t repetition;
    const uint8_t *name;
    uint32_t name_len;
    bool has_children;
    int32_t num_children;
    bool has_converted;
    int32_t converted;
    int32_t scale;
    int32_t precision;
    /* logicalType: union member id (0 = absent) and its parameters */
    int16_t logical;
    bool ts_utc;
    int ts_unit; /* 1 millis, 2 micros, 3 nanos */
    int int_bits;
    bool int_signed;
    int32_t dec_scale;
    int32_t dec_precision;
} pq_raw_schema;

typedef struct pq_raw_meta {
    int32_t version;
    uint32_t nschema;
    pq_raw_schema *schema;
    int64_t num_rows;
    uint32_t nrgs;
    pq_raw_rg *rgs;
    uint32_t nkv;
    parquet_kv *kv; /* NUL-terminated copies in the arena */
    const char *created_by;
    bool encrypted;
} pq_raw_meta;

/* Decodes FileMetaData from the footer bytes (file offset `off`) into arena memory. */
int pq_read_file_meta(const uint8_t *p, size_t len, uint64_t off, vg_arena *a, pq_raw_meta *m,
                      vg_err *e);

/* Writer-side column chunk description for the footer. */
typedef struct pq_chunk_out {
    int32_t physical;
    uint32_t encodings;
    int32_t codec;
    int64_t num_values;
    int64_t total_uncompressed;
    int64_t total_compressed;
    int64_t data_page_offset;
    int64_t dict_page_offset; /* -1: none */
    const char *name;
    /* statistics (PLAIN-encoded bounds) */
    bool has_min_max;
    const void *min;
    const void *max;
    uint32_t min_len;
    uint32_t max_len;
    bool min_exact;
    bool max_exact;
    int64_t null_count;
} pq_chunk_out;

/* Appends one RowGroup struct (a list element) to out. */
void pq_write_row_group(vg_buf *out, const pq_chunk_out *cols, uint32_t ncols, int64_t num_rows,
                        int64_t file_offset, int ordinal);
/* Appends the FileMetaData: rg_bytes holds nrgs RowGroup structs back to back. */
void pq_write_file_meta(vg_buf *out, const parquet_schema *s, bool utc, int64_t num_rows,
                        const vg_buf *rg_bytes, uint32_t nrgs, const parquet_kv *kv, uint32_t nkv);

/* ------------------------------------------------------------------------ */
/* The open file (reader.c, column.c)                                       */
/* ------------------------------------------------------------------------ */

/* How physical values become the column's parquet_type. */
typedef enum pq_conv {
    PQ_CONV_NONE,
    PQ_CONV_SCALE,   /* int64 * `scale` (TIMESTAMP millis/micros, DATE days) */
    PQ_CONV_U32,     /* zero-extend an INT32 holding an unsigned value */
    PQ_CONV_DECIMAL, /* int64 / 10^scale as double */
} pq_conv;

typedef struct pq_column {
    parquet_column_info info;
    int max_def; /* 0 REQUIRED, 1 OPTIONAL */
    pq_conv conv;
    int64_t scale;
    double dec_div;
    int32_t type_length;
} pq_column;

struct parquet_file {
    vg_arena arena;     /* everything below */
    const uint8_t *mem; /* whole file (open_mem) or NULL (open_fd) */
    int fd;
    uint64_t size;
    uint64_t data_end; /* first byte of the footer: pages lie in [4, data_end) */
    parquet_read_options lim;
    pq_raw_meta raw;
    pq_column *cols;
    parquet_row_group_info *rgs;
    parquet_chunk_info *chunks; /* rg * ncols + col */
    parquet_meta meta;
};

/* Value conversions shared by statistics and pages (column.c). */
int pq_convert_i64(const pq_column *c, int64_t *v, size_t n, vg_err *e);

#endif /* VIGIL_PARQUET_INT_H */
