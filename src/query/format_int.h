/*
 * query/format_int.h: result formatters (format.c), shared by query.c and the unit
 * tests. Private to module query.
 *
 * A formatter turns a stream of qbatches of one schema into the bytes of one output
 * format, appending to a caller's vg_buf piece by piece: qfmt_begin once, qfmt_batch
 * per batch, qfmt_end once. JSON, JSON lines and CSV write every batch out at once;
 * pretty needs every column's width before the first line, so it keeps the rendered
 * cells until qfmt_end, up to QFMT_PRETTY_MAX_BYTES.
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
