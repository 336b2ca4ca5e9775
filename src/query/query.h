/*
 * query: the SQL engine. Hand-written lexer and recursive-descent parser to an AST,
 * binder, logical plan, optimizer (constant folding, time-range and tag pushdown,
 * projection pruning, top-K), and a vectorized executor over column batches.
 *
 * Results stream: query_run() hands formatted output to a write callback in pieces,
 * so a large result is never built in memory first.
 *
 * Depends on: base, catalog, buffer (later parquet, store).
 */
#ifndef VIGIL_QUERY_H
#define VIGIL_QUERY_H

#include "base/base.h"
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "persist/persist.h"

typedef enum query_format {
    QUERY_FORMAT_JSON = 0, /* a JSON array of row objects, nulls omitted */
    QUERY_FORMAT_JSONL,    /* one JSON object per line */
    QUERY_FORMAT_CSV,      /* header row, then rows */
    QUERY_FORMAT_PRETTY,   /* an ASCII table */
    QUERY_FORMAT_PARQUET,  /* one Parquet file (binary), row groups streamed as they fill */
    QUERY_FORMAT_ROWS,     /* typed binary rows for in-process readers (below) */
} query_format;

/* QUERY_FORMAT_ROWS (format_rows.c), native byte order, never sent over the wire:
 *   u32 ncols, then per column: u8 type (query_rows_type), u32 name length, name;
 *   then per row, per column a cell: u8 present (0 = NULL, nothing follows), then
 *   BOOL u8 | INT, TIMESTAMP, INTERVAL i64 (ns) | UINT u64 | FLOAT f64 |
 *   STRING u32 length + bytes | SELECTOR u8 value type, a cell of it, i64 time.
 * It keeps every type, so the processing engine can hand plugins Python values. */
typedef enum query_rows_type {
    QUERY_ROWS_NULL = 0,
    QUERY_ROWS_BOOL,
    QUERY_ROWS_INT,
    QUERY_ROWS_UINT,
    QUERY_ROWS_FLOAT,
    QUERY_ROWS_STRING,
    QUERY_ROWS_TIMESTAMP,
    QUERY_ROWS_INTERVAL,
    QUERY_ROWS_SELECTOR,
} query_rows_type;

/* Parses "json", "jsonl"/"json_lines", "csv", "pretty", "parquet" (ROWS is in-process
 * only: not parsed). */
int query_parse_format(const char *s, query_format *out, vg_err *e);
const char *query_format_content_type(query_format f);

typedef struct query_engine query_engine;

typedef struct query_options {
    size_t mem_budget_bytes;  /* per query; 0 = 20% of RAM */
    int64_t timeout_ns;       /* per query; 0 = none */
    uint32_t query_log_size;  /* entries kept for system.queries; 0 = 1000 */
} query_options;

int query_engine_new(catalog *cat, buffer *buf, const query_options *opt, query_engine **out,
                     vg_err *e);
void query_engine_free(query_engine *q);
/* Reads Parquet files too, through persist's views (set before the first query). */
void query_engine_set_persist(query_engine *q, persist *p);

/* A named parameter for `$name` placeholders. The value is given as JSON text
 * (a string, number, boolean or null), as the HTTP `params` object carries it. */
typedef struct query_param {
    const char *name;
    const char *json_value;
} query_param;

/* Receives formatted output. Returning non-zero aborts the query (client gone). */
typedef int (*query_write_fn)(void *ctx, const char *data, size_t len);

/* A statement is a query (SELECT, EXPLAIN, SHOW) or `DELETE FROM t [WHERE time
 * ranges AND tag equality]`, which removes rows from the write buffer and, through
 * a tombstone, from the Parquet files (persist_delete_rows). */
typedef struct query_request {
    const char *db; /* database name (NUL-terminated) */
    const char *sql;
    size_t sql_len;
    const query_param *params;
    size_t nparams;
    query_format format;
} query_request;

/* Error classes, for the HTTP status: */
typedef enum query_error_kind {
    QUERY_ERR_NONE = 0,
    QUERY_ERR_DB_NOT_FOUND, /* 404 `{"error":"query error: database not found: foo"}` */
    QUERY_ERR_USER,         /* 400: syntax, unknown table/column, type errors */
    QUERY_ERR_UNSUPPORTED,  /* 405: valid SQL that Vigil does not implement */
    QUERY_ERR_RESOURCES,    /* 500 (Core: resources exhausted): memory budget, timeout */
    QUERY_ERR_INTERNAL,     /* 500 */
} query_error_kind;

typedef struct query_outcome {
    query_error_kind kind;
    bool started;   /* output had begun when the error happened (body is truncated) */
    uint64_t rows;
} query_outcome;

/* Pull-style streaming, for the HTTP server (libmicrohttpd asks for the body piece
 * by piece). query_open parses, plans and opens the statement: every user error
 * (syntax, unknown table, types) surfaces here, before any output, so the caller can
 * still choose the status code. */
typedef struct query_cursor query_cursor;
int query_open(query_engine *q, const query_request *req, query_cursor **out,
               query_outcome *outcome, vg_err *e);
/* The Content-Type of the cursor's output: the format's, or application/json for a
 * DELETE (whose answer is `{"deleted":true}` in every format). */
const char *query_content_type(const query_cursor *cur);
/* Fills buf with up to max (>= 4096) bytes of formatted output. Returns the number of
 * bytes, 0 at the end, or -1 on an error during execution (e set; the output so far
 * is truncated, as in Core). */
long query_read(query_cursor *cur, char *buf, size_t max, vg_err *e);
/* Finishes the query (recording it in system.queries) and frees it. */
void query_close(query_cursor *cur, query_outcome *outcome);

/* Convenience: open + read until the end + close, pushing output to `write`. Errors
 * before any output leave out->started false; e->msg is the user-facing message
 * (positions as line:column). */
int query_run(query_engine *q, const query_request *req, query_write_fn write, void *ctx,
              query_outcome *out, vg_err *e);

/* ---- system tables provided by other modules (sys_ext.c) ----
 * A module above query (the processing engine) registers a table under schema
 * `system`; its fill function is called once per query that scans it, from the
 * querying thread, with the query's database name. Cells are copied: fill may pass
 * pointers to its own memory. Registration happens before the server serves
 * queries; tables stay registered until query_engine_free. */

typedef struct query_sys_column {
    const char *name;
    query_rows_type type; /* BOOL, INT, UINT, FLOAT, STRING or TIMESTAMP */
    bool nullable;
} query_sys_column;

typedef struct query_sys_cell {
    bool null;
    union {
        bool b;
        int64_t i; /* INT, TIMESTAMP (ns) */
        uint64_t u;
        double f;
        const char *s; /* NUL-terminated */
    } v;
} query_sys_cell;

typedef struct query_sys_sink query_sys_sink;
/* Adds one row: ncols cells in column order. VG_OK or VG_ENOMEM. */
int query_sys_add_row(query_sys_sink *sink, const query_sys_cell *cells);
typedef int (*query_sys_fill_fn)(void *ctx, const char *db, query_sys_sink *sink);

/* At most this many registered tables: a handful are planned. */
#define QUERY_SYS_EXT_MAX 16
/* The name is copied; cols must stay valid (static tables). VG_EEXISTS, VG_ELIMIT. */
int query_register_system_table(query_engine *q, const char *name, const query_sys_column *cols,
                                uint32_t ncols, query_sys_fill_fn fill, void *ctx, vg_err *e);

#endif /* VIGIL_QUERY_H */
