/*
 * parquet: Apache Parquet files, written and read by our own code.
 *
 * Owns the Thrift compact codec (footer and page headers), the encodings (PLAIN,
 * RLE/bit-packed hybrid, dictionary, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT), the page codecs (ZSTD, SNAPPY, LZ4_RAW, GZIP,
 * none), a streaming file writer that takes a plain schema struct and typed column
 * arrays, and a reader that exposes the schema, row groups and column-chunk statistics
 * and decodes only the (row group, column) pairs asked for.
 *
 * Flat schemas only: every column is a top-level REQUIRED or OPTIONAL leaf. Files are
 * standard Parquet (DuckDB, pandas, Spark, hyparquet read them). File layout, type
 * mapping and invariants: src/parquet/README.md.
 *
 * Depends on: base.
 */
#ifndef VIGIL_PARQUET_H
#define VIGIL_PARQUET_H

#include "base/base.h"

/* created_by of every file we write. */
#define PARQUET_CREATED_BY "vigil version 0.1.0"
/* Key-value metadata key naming the tag columns, as a JSON list of names. */
#define PARQUET_TAGS_KEY "vigil:tags"

/* The value types both sides speak. The reader maps every Parquet column it can
 * decode onto one of these (README.md has the table). */
typedef enum parquet_type {
    PARQUET_UNSUPPORTED = 0, /* reader only: a column this module cannot decode */
    PARQUET_TIMESTAMP,       /* int64 ns since the Unix epoch; TIMESTAMP(NANOS, UTC) */
    PARQUET_STRING,          /* byte array; STRING (UTF-8) logical type */
    PARQUET_DOUBLE,
    PARQUET_INT64,
    PARQUET_UINT64, /* INT64 with the INTEGER(64, unsigned) logical type */
    PARQUET_BOOL,
} parquet_type;

const char *parquet_type_name(parquet_type t);

/* Page compression. Zero is the default (ZSTD). */
typedef enum parquet_codec {
    PARQUET_ZSTD = 0,
    PARQUET_SNAPPY,
    PARQUET_LZ4_RAW,
    PARQUET_GZIP,
    PARQUET_UNCOMPRESSED,
    PARQUET_CODEC_OTHER, /* reader only: LZO, BROTLI, the old LZ4 framing */
} parquet_codec;

const char *parquet_codec_name(parquet_codec c);

/* Value encoding of a column's data pages (writer). AUTO picks per type:
 * TIMESTAMP/INT64/UINT64 -> DELTA, DOUBLE -> BYTE_STREAM_SPLIT (PLAIN when
 * `plain_doubles` or uncompressed), STRING -> DICT (PLAIN once the dictionary
 * outgrows `dict_bytes`), BOOL -> PLAIN. */
typedef enum parquet_encoding {
    PARQUET_ENC_AUTO = 0,
    PARQUET_ENC_PLAIN,
    PARQUET_ENC_DICT,              /* RLE_DICTIONARY + PLAIN dictionary page: STRING */
    PARQUET_ENC_DELTA,             /* DELTA_BINARY_PACKED: TIMESTAMP, INT64, UINT64 */
    PARQUET_ENC_BYTE_STREAM_SPLIT, /* DOUBLE (the reader also takes integers) */
    PARQUET_ENC_DELTA_LENGTH,      /* DELTA_LENGTH_BYTE_ARRAY: STRING */
    PARQUET_ENC_DELTA_STRINGS,     /* DELTA_BYTE_ARRAY (prefix compression): STRING */
    PARQUET_ENC_RLE,               /* RLE/bit-packed hybrid: BOOL */
} parquet_encoding;

/* Physical (storage) types, numbered as in parquet.thrift. */
typedef enum parquet_physical {
    PARQUET_PHYS_BOOLEAN = 0,
    PARQUET_PHYS_INT32 = 1,
    PARQUET_PHYS_INT64 = 2,
    PARQUET_PHYS_INT96 = 3,
    PARQUET_PHYS_FLOAT = 4,
    PARQUET_PHYS_DOUBLE = 5,
    PARQUET_PHYS_BYTE_ARRAY = 6,
    PARQUET_PHYS_FIXED_LEN_BYTE_ARRAY = 7,
} parquet_physical;

/* One value of a statistic, by parquet_type: TIMESTAMP/INT64 -> i64, UINT64 -> u64,
 * DOUBLE -> f64, BOOL -> b, STRING -> s (bytes owned by the file or the writer). */
typedef union parquet_value {
    int64_t i64;
    uint64_t u64;
    double f64;
    bool b;
    vg_str s;
} parquet_value;

/* Column-chunk (or whole-file) statistics. min/max cover the non-null values in the
 * type's order (unsigned for UINT64, byte-wise for STRING, NaN excluded for DOUBLE).
 * A string bound may be a truncated prefix (min) or a truncated-and-incremented
 * prefix (max): still a bound, but not a value of the column (`*_exact` false). */
typedef struct parquet_stats {
    bool has_min_max;
    bool min_exact;
    bool max_exact;
    bool has_null_count;
    uint64_t null_count;
    parquet_value min;
    parquet_value max;
} parquet_stats;

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct parquet_column_def {
    const char *name;
    parquet_type type;
    bool nullable;             /* OPTIONAL; else REQUIRED (a null is an error) */
    bool tag;                  /* listed in the PARQUET_TAGS_KEY metadata */
    parquet_encoding encoding; /* AUTO unless a test or a caller knows better */
} parquet_column_def;

typedef struct parquet_schema {
    const parquet_column_def *cols;
    uint32_t ncols;
} parquet_schema;

typedef struct parquet_kv {
    const char *key;
    const char *value;
} parquet_kv;

/* All-zero options are the defaults. */
typedef struct parquet_write_options {
    parquet_codec codec;     /* ZSTD */
    int level;               /* codec level; 0 = the codec's default (zstd 3, gzip 6) */
    uint32_t row_group_rows; /* 0 = 1,048,576 */
    uint32_t page_bytes;     /* target encoded bytes of a data page; 0 = 1 MiB */
    uint32_t dict_bytes;     /* a string dictionary larger than this falls back to
                                PLAIN; 0 = 1 MiB */
    bool plain_doubles;      /* AUTO doubles: PLAIN instead of BYTE_STREAM_SPLIT */
    bool data_page_v2;       /* DATA_PAGE_V2 pages instead of v1 */
    bool local_timestamps;   /* TIMESTAMP(NANOS) with isAdjustedToUTC=false, as InfluxDB 3
                                writes it: DuckDB reads that as TIMESTAMP_NS, but the UTC
                                form only as microseconds (it has no TIMESTAMPTZ_NS) */
    const parquet_kv *kv;    /* extra key-value metadata, written after ours */
    uint32_t nkv;
    uint32_t threads;        /* 2: a helper thread stages and compresses columns beside
                                the caller's (same bytes); 0 or 1: the caller's only */
} parquet_write_options;

/* The values of one column for a batch of rows. `valid` is an LSB-first bitmap (bit i
 * set = row i has a value), NULL when every row has one. Arrays are indexed by row;
 * the entries of null rows are ignored. Exactly the member of the column's type is set:
 *   TIMESTAMP, INT64 -> i64    UINT64 -> u64    DOUBLE -> f64
 *   BOOL -> b (one byte per row, 0 or 1)
 *   STRING -> one of: strs (a slice per row); offsets + bytes (row i is
 *             bytes[offsets[i] .. offsets[i + 1]), nrows + 1 offsets); ids + dict
 *             (row i is dict[ids[i]], ids < ndict). */
typedef struct parquet_column_data {
    const uint8_t *valid;
    const int64_t *i64;
    const uint64_t *u64;
    const double *f64;
    const uint8_t *b;
    const vg_str *strs;
    const uint32_t *offsets;
    const char *bytes;
    const uint32_t *ids;
    const vg_str *dict;
    uint32_t ndict;
} parquet_column_data;

typedef struct parquet_writer parquet_writer;

/* Starts a file written to `fd` (from its current position, with write(2)) or
 * appended to `out`. The schema and options are copied. */
int parquet_writer_open_fd(parquet_writer **w, int fd, const parquet_schema *schema,
                           const parquet_write_options *opt, vg_err *e);
int parquet_writer_open_buf(parquet_writer **w, vg_buf *out, const parquet_schema *schema,
                            const parquet_write_options *opt, vg_err *e);
/* Appends nrows rows: cols[i] holds schema column i. Row groups are cut every
 * row_group_rows rows and written out as they fill. After an error the writer only
 * accepts parquet_writer_free. */
int parquet_writer_write(parquet_writer *w, const parquet_column_data *cols, uint32_t nrows,
                         vg_err *e);
/* The same, with the caller filling column `col`'s data on demand (out is zeroed
 * first): fill runs once per column, on whichever thread stages that column (the
 * helper's, with opt.threads = 2), so it may touch only that column's state. The
 * data must stay valid until the call returns. Lets a caller's gathering of values
 * run in parallel too. */
typedef void (*parquet_fill_fn)(void *ctx, uint32_t col, parquet_column_data *out);
int parquet_writer_write_filled(parquet_writer *w, uint32_t nrows, parquet_fill_fn fill, void *ctx,
                                vg_err *e);
/* Ends the current row group early (no-op when it is empty). */
int parquet_writer_flush(parquet_writer *w, vg_err *e);
/* Writes the last row group and the footer. The caller fsyncs/publishes. */
int parquet_writer_finish(parquet_writer *w, vg_err *e);
/* Bytes written so far (the file size after finish). */
uint64_t parquet_writer_bytes(const parquet_writer *w);
uint64_t parquet_writer_rows(const parquet_writer *w);
/* Whole-file statistics of column `col` over the row groups written so far (string
 * bounds are valid until the writer is freed). */
void parquet_writer_stats(const parquet_writer *w, uint32_t col, parquet_stats *out);
void parquet_writer_free(parquet_writer *w);

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

/* Caps for untrusted input; zero fields take the limits of base.h. A file that needs
 * more is refused with VG_ELIMIT (the fuzz target lowers them). */
typedef struct parquet_read_options {
    size_t max_footer_bytes;     /* VG_LIMIT_PARQUET_FOOTER_BYTES */
    size_t max_page_bytes;       /* VG_LIMIT_PARQUET_PAGE_BYTES */
    size_t max_chunk_bytes;      /* VG_LIMIT_PARQUET_CHUNK_BYTES */
    uint64_t max_row_group_rows; /* VG_LIMIT_PARQUET_ROW_GROUP_ROWS */
    bool no_crc_check;           /* ignore page CRCs: lets a fuzzer reach the decoders */
} parquet_read_options;

typedef struct parquet_column_info {
    const char *name;
    parquet_type type; /* what parquet_read_column returns */
    bool nullable;     /* OPTIONAL */
    bool tag;          /* named in PARQUET_TAGS_KEY */
    parquet_physical physical;
    const char *logical;     /* e.g. "TIMESTAMP(NANOS,UTC)", "STRING", "" for none */
    const char *unsupported; /* why, when type == PARQUET_UNSUPPORTED */
} parquet_column_info;

typedef struct parquet_chunk_info {
    parquet_codec codec;
    uint32_t encodings; /* bit (1 << e) for each Parquet Encoding enum value e */
    uint64_t num_values;
    uint64_t offset; /* first page */
    uint64_t compressed_bytes;
    uint64_t uncompressed_bytes;
    parquet_stats stats; /* converted to the column's parquet_type */
} parquet_chunk_info;

typedef struct parquet_row_group_info {
    uint64_t num_rows;
    uint64_t compressed_bytes;
    const parquet_chunk_info *chunks; /* one per column */
} parquet_row_group_info;

/* Everything the footer says, in a form that needs no further parsing. */
typedef struct parquet_meta {
    uint32_t ncols;
    const parquet_column_info *cols;
    uint64_t num_rows;
    uint32_t nrow_groups;
    const parquet_row_group_info *row_groups;
    uint32_t nkv;
    const parquet_kv *kv;
    const char *created_by; /* "" when absent */
    uint64_t file_bytes;
} parquet_meta;

typedef struct parquet_file parquet_file;

/* Opens a file held in memory (borrowed: it must outlive the parquet_file) or one
 * read with pread(2) from fd (not closed by parquet_close). Reads and checks the
 * footer only. A parquet_file is immutable: several threads may read columns from
 * it at once, each with its own arena. */
int parquet_open_mem(parquet_file **f, const void *data, size_t len,
                     const parquet_read_options *opt, vg_err *e);
int parquet_open_fd(parquet_file **f, int fd, const parquet_read_options *opt, vg_err *e);
void parquet_close(parquet_file *f);

const parquet_meta *parquet_file_meta(const parquet_file *f);
/* Index of the column named `name`, or -1. */
int parquet_find_column(const parquet_file *f, const char *name);

/* One decoded column chunk. `valid` is NULL when no row is null. Null rows hold 0,
 * false or an empty string. For a STRING chunk whose data pages are all
 * dictionary-encoded, ids/dict/ndict give the dictionary form too (ids of null rows
 * are 0; check `valid`). Memory comes from the caller's arena. */
typedef struct parquet_column_out {
    parquet_type type;
    uint32_t nrows;
    uint32_t null_count;
    uint8_t *valid;
    union {
        int64_t *i64;
        uint64_t *u64;
        double *f64;
        uint8_t *b; /* one byte per row, 0 or 1 */
        vg_str *s;
    } v;
    uint32_t *ids;
    vg_str *dict;
    uint32_t ndict;
} parquet_column_out;

/* Decodes column `col` of row group `rg`. A malformed chunk is VG_ECORRUPT with a
 * message naming the column, row group and byte offset. */
int parquet_read_column(const parquet_file *f, uint32_t rg, uint32_t col, vg_arena *arena,
                        parquet_column_out *out, vg_err *e);

/* Where parquet_read_column_into puts a fixed-width column (every type but strings):
 * room for `rows` values of the output type, and a zeroed bitmap of `rows` bits.
 * `ids`, for a STRING column: room for `rows` dictionary ids, or NULL. */
typedef struct parquet_dest {
    void *values;
    uint8_t *valid;
    uint32_t rows;
    uint32_t *ids;
} parquet_dest;

/* parquet_read_column, decoding the values and validity straight into dst when the
 * column is fixed-width and has dst->rows rows (out->v and out->valid then point
 * there; out->valid is NULL when no row is null, as always), so a reader that keeps
 * the values saves a copy. For a STRING column with dst->ids set and dst->rows rows
 * whose data pages are all dictionary-encoded, only the dictionary form is made:
 * out->ids points to dst->ids, out->dict/ndict hold the dictionary, and out->v.s is
 * NULL (a tag column, read by id, then costs no string per row). A STRING column
 * that is not all dictionary-encoded comes back with out->v.s as usual and ids NULL.
 * Otherwise exactly parquet_read_column. */
int parquet_read_column_into(const parquet_file *f, uint32_t rg, uint32_t col, vg_arena *arena,
                             const parquet_dest *dst, parquet_column_out *out, vg_err *e);

#endif /* VIGIL_PARQUET_H */
