/*
 * ingest: the write path from a line-protocol body to an acknowledgement.
 *
 * parse (no lock) -> under the ingest lock: resolve the database (created on first
 * write), validate every line against the catalog and extend the schema, commit the
 * catalog, append one WAL record holding the good lines, apply the rows to the write
 * buffer -> unlock -> wait for the WAL fsync (unless no_sync) -> ack.
 *
 * The WAL record is ingest's own format (ingest/README.md): a small header (db id,
 * precision, the server time used for lines without a timestamp) followed by the
 * good lines verbatim, so replay re-runs exactly the same parse and apply.
 *
 * Depends on: base, lineproto, catalog, wal, buffer.
 */
#ifndef VIGIL_INGEST_H
#define VIGIL_INGEST_H

#include "base/base.h"
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "wal/wal.h"

typedef enum ingest_api {
    INGEST_API_V3 = 0, /* /api/v3/write_lp: partial writes, precision auto */
    INGEST_API_V2,     /* /api/v2/write: whole batch rejected at first bad line */
    INGEST_API_V1,     /* /write: same as v2 */
} ingest_api;

typedef struct ingest_request {
    ingest_api api;
    const char *db; /* database name, not NUL-terminated */
    size_t db_len;
    const char *body;
    size_t body_len;
    const char *precision; /* NUL-terminated name or NULL for the API's default */
    bool accept_partial;   /* v3 only; v1/v2 force false */
    bool no_sync;
    int64_t now_ns;        /* server time for lines without timestamp; 0 = now */
} ingest_request;

typedef struct ingest_line_error {
    uint32_t line_no;
    uint32_t column;
    const char *text; /* whole original line (slice of the body) */
    uint32_t text_len;
    const char *msg;  /* arena-owned */
    bool limit;       /* a schema/database limit error (HTTP 422) */
} ingest_line_error;

typedef struct ingest_result {
    size_t lines_written;
    ingest_line_error *errors; /* arena-owned, in line order */
    size_t nerrors;
    bool rejected_all; /* accept_partial=false and a bad line: nothing written */
} ingest_result;

typedef struct ingest ingest;

typedef struct ingest_config {
    catalog *cat;
    wal *wal;
    buffer *buf;
    /* LZ4-compress request bodies in WAL records (`--wal-compression lz4`): about half
     * the WAL bytes for ~1.5 ms of CPU per MB, which costs throughput when the disk is
     * not the bottleneck. Replay reads both forms whatever this says. */
    bool compress_wal;
    /* Backpressure: a write waits (before parsing) while the buffer holds more than
     * this many bytes, so that snapshots catch up and memory stays bounded; after
     * INGEST_BACKPRESSURE_MAX_NS it goes ahead anyway. 0 = never wait. */
    size_t buffer_hard_limit;
} ingest_config;

#define INGEST_BACKPRESSURE_MAX_NS (30LL * 1000000000LL)

int ingest_new(const ingest_config *cfg, ingest **out, vg_err *e);
void ingest_free(ingest *ig);

/* Writes a body. Returns VG_OK when the request was processed (look at res for line
 * errors); request-level failures return a code with a message:
 *   VG_EINVAL "incoming write was empty", bad precision, bad database name,
 *   VG_ELIMIT database limit. Per-line data lives in `arena`. */
int ingest_write(ingest *ig, const ingest_request *req, vg_arena *arena, ingest_result *res,
                 vg_err *e);

/* Replays the WAL into the buffer (start-up). *records receives how many records
 * were applied. */
int ingest_replay(ingest *ig, uint64_t *records, vg_err *e);

/* Seals the write buffer for a snapshot (buffer_seal) with writes stopped, and gives
 * the WAL sequence through which the sealed chunks hold every row. */
int ingest_seal(ingest *ig, buffer_chunk ***chunks, size_t *n, uint64_t *wal_seq, vg_err *e);
/* Soft-deletes a live database (catalog rename, made durable) and drops its
 * buffered rows, under the ingest lock so no write races with it. A non-zero
 * hard_delete_at_ns records when its files are to be removed (persist does it).
 * VG_ENOTFOUND "database not found: <name>" when there is none. */
int ingest_delete_database(ingest *ig, const char *name, size_t len, int64_t hard_delete_at_ns,
                           vg_err *e);
/* Soft-deletes a live table the same way (renamed, name free, buffered rows dropped;
 * WAL records written before it no longer replay into the name). VG_ENOTFOUND
 * "database not found: <db>" or "table not found: <table>". */
int ingest_delete_table(ingest *ig, const char *db, const char *table, int64_t hard_delete_at_ns,
                        vg_err *e);
/* Deletes the buffered rows a tombstone matches, with writes stopped: the buffer's
 * chunks are rewritten and a delete record is appended to the WAL in between (replay
 * re-applies it at the same point, so rows written after it stay), then waits for
 * that record to be durable. *wal_seq is the record's sequence, *buffered_rows the
 * row versions removed. t->id and t->wal_seq are ignored. VG_ENOTFOUND when the table
 * is gone. Callers serialise this with snapshots (persist_delete_rows). */
int ingest_delete_rows(ingest *ig, const catalog_tombstone *t, uint64_t *wal_seq,
                       uint64_t *buffered_rows, vg_err *e);

/* Called (outside every lock) after rows became durable; for the processing engine.
 * The server registers it. */
typedef void (*ingest_durable_fn)(void *ctx, uint32_t db_id, uint64_t wal_seq);
void ingest_set_on_durable(ingest *ig, ingest_durable_fn fn, void *ctx);

typedef struct ingest_stats {
    uint64_t requests;
    uint64_t lines;
    uint64_t fields;
    uint64_t bytes;
    uint64_t rejected_lines;
} ingest_stats;
void ingest_get_stats(ingest *ig, ingest_stats *out);

#endif /* VIGIL_INGEST_H */
