/*
 * query/format_int.h: result formatters (format.c, format_parquet.c), shared by
 * query.c and the unit tests. Private to module query.
 *
 * A formatter turns a stream of qbatches of one schema into the bytes of one output
 * format, appending to a caller's vg_buf piece by piece: qfmt_begin once, qfmt_batch
 * per batch, qfmt_end once. JSON, JSON lines and CSV write every batch out at once;
 * pretty needs every column's width before the first line, so it keeps the rendered
 * cells until qfmt_end, up to QFMT_PRETTY_MAX_BYTES. Parquet (format_parquet.c) appends
 * a row group whenever one fills and the footer at qfmt_end; it must be given the same
 * `out` in every call, and refuses in qfmt_init a column type it cannot hold.
 *
 * Values are rendered as InfluxDB 3 Core (arrow-rs) renders them:
 *   - floats: shortest round-trip digits, always with a '.' or an exponent ("2.0",
 *     "0.1", "1.0e300", "1.0e-7"), exponent form outside 1e-5 .. 1e10 (lexical-core);
 *     NaN and infinities are null in JSON, "NaN" / "inf" / "-inf" elsewhere;
 *   - timestamps: "2026-01-07T17:28:51", fraction of 3, 6 or 9 digits only when
 *     non-zero, no zone;
 *   - intervals (fixed nanoseconds): arrow's MonthDayNano display with days split off,
 *     e.g. "10 mins", "1 days 2 hours", "1.500000000 secs"; zero is "0 secs"
 *     (arrow prints an empty string);
 *   - selectors: JSON {"time":..,"value":..}; text "{time: .., value: ..}";
 *   - NULL: omitted from JSON objects, empty in CSV and pretty.
 */
#ifndef VIGIL_QUERY_FORMAT_INT_H
#define VIGIL_QUERY_FORMAT_INT_H

#include "exec_int.h"

/* Pretty output is for people at a terminal; past this many bytes of cell text the
 * query fails and points at a streaming format instead of holding a huge table. */
#define QFMT_PRETTY_MAX_BYTES (64u << 20)

/* Parquet row groups: 128 Ki rows, near DuckDB's default of 122,880 (good compression
 * and dictionary reuse for readers), cut earlier once about 32 MiB of values are
 * staged, which bounds what the server holds per query whatever the row width. */
#define QFMT_PARQUET_GROUP_ROWS (128u * 1024u)
#define QFMT_PARQUET_GROUP_BYTES ((size_t)32 << 20)

typedef struct qfmt_parquet qfmt_parquet; /* format_parquet.c */

/* Last day rendered, so consecutive timestamps of one day skip the calendar math. */
typedef struct qfmt_day_cache {
    int64_t day; /* days since the epoch, or INT64_MIN when empty */
    char date[16];
} qfmt_day_cache;

typedef struct qfmt {
    query_format format;
    const qschema *schema;
    char **keys; /* JSON: `"name":` per column, escaped once */
    size_t *key_lens;
    qfmt_day_cache days;
    uint64_t rows;
    /* pretty: every cell's text back to back, its end offsets, column widths */
    vg_buf cells;
    size_t *cell_end;
    size_t ncells, cells_cap;
    size_t *widths;
    size_t pretty_max; /* QFMT_PRETTY_MAX_BYTES unless a test lowers it */
    /* parquet: the writer and its scratch; the caps unless a test lowers them */
    qfmt_parquet *parquet;
    uint32_t parquet_group_rows;
    size_t parquet_group_bytes;
} qfmt;

int qfmt_init(qfmt *f, query_format format, const qschema *schema, vg_err *e);
void qfmt_free(qfmt *f);
/* The opening bytes: "[" for JSON, the header line for CSV, nothing otherwise. */
int qfmt_begin(qfmt *f, vg_buf *out, vg_err *e);
/* Formats the rows of b (its columns match the schema); qfmt_rows only rows
 * [from, to), so a caller can bound its output buffer within a batch. */
int qfmt_batch(qfmt *f, const qbatch *b, vg_buf *out, vg_err *e);
int qfmt_rows(qfmt *f, const qbatch *b, uint32_t from, uint32_t to, vg_buf *out, vg_err *e);
/* The closing bytes: "]" for JSON, the whole table for pretty. */
int qfmt_end(qfmt *f, vg_buf *out, vg_err *e);

/* format_parquet.c, called by the functions above: VG_EINVAL naming the first column
 * whose type Parquet output cannot hold (intervals, selector structs, bare NULLs). */
int qfmt_parquet_check(const qschema *s, vg_err *e);
int qfmt_parquet_begin(qfmt *f, vg_buf *out, vg_err *e);
int qfmt_parquet_rows(qfmt *f, const qbatch *b, uint32_t from, uint32_t to, vg_buf *out, vg_err *e);
int qfmt_parquet_end(qfmt *f, vg_buf *out, vg_err *e);
void qfmt_parquet_free(qfmt *f);
/* QUERY_FORMAT_ROWS (format_rows.c): the header, then rows [from, to). */
int qfmt_rows_begin(qfmt *f, vg_buf *out, vg_err *e);
int qfmt_rows_binary(qfmt *f, const qbatch *b, uint32_t from, uint32_t to, vg_buf *out,
                     vg_err *e);

/* Value renderers (no NUL written). */
#define QFMT_F64_MAX 32
#define QFMT_TS_MAX 40
#define QFMT_INTERVAL_MAX 96
size_t qfmt_f64(double v, char *out);
/* The shortest decimal d * 10^exp10 that reads back as v (finite, > 0), closest to v
 * among equally short ones; d has no trailing zeros (dtoa.c). */
uint64_t qfmt_shortest(double v, int *exp10);
size_t qfmt_timestamp(int64_t ns, qfmt_day_cache *cache, char *out);
size_t qfmt_interval(int64_t ns, char *out);

#endif /* VIGIL_QUERY_FORMAT_INT_H */
