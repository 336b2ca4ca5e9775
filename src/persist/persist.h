/*
 * persist: the write buffer's rows in Parquet files, and readers' view of both.
 *
 * A snapshot seals the buffer (through a callback the server wires to the ingest
 * lock, so the sealed set ends on a WAL record boundary), sorts each table's sealed
 * rows by (tag set, time), merges duplicates (later write wins, field by field),
 * writes one file per table and time partition (`--gen1-duration`) to the object
 * store, records the files and the WAL position in one catalog commit, swaps the
 * sealed chunks for the files under the view lock, and deletes the WAL segments the
 * files cover. A crash between any two steps restarts to the acknowledged data:
 * files not in the catalog are deleted at start-up, and the WAL is replayed only
 * after the catalog's persisted mark.
 *
 * Readers open a view of one table: the files (row groups) and buffer chunks that
 * hold its rows, consistent with each other, in "later wins" order, each flagged
 * when it may share a (tag set, time) with an earlier source. Files stay readable
 * while a view holds them, even if compaction or retention removes them meanwhile.
 *
 * Design note: DESIGN.md's table lets `query` read `buffer`, `parquet` and `store`
 * directly. Readers need files and chunks swapped atomically and files kept alive
 * while in use, which is persist's state, so `query` also includes `persist`
 * (tools/check_deps.sh; src/persist/README.md).
 *
 * Depends on: base, catalog, wal, buffer, parquet, store.
 */
#ifndef VIGIL_PERSIST_H
#define VIGIL_PERSIST_H

#include "base/base.h"
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "store/store.h"
#include "wal/wal.h"

typedef struct persist persist;

/* Seals the buffer with writes stopped (ingest_seal). */
typedef int (*persist_seal_fn)(void *ctx, buffer_chunk ***chunks, size_t *n, uint64_t *wal_seq,
                               vg_err *e);
/* Deletes the buffered rows a tombstone matches, durably (ingest_delete_rows): the
 * WAL record's sequence and the row versions removed. */
typedef int (*persist_delete_fn)(void *ctx, const catalog_tombstone *t, uint64_t *wal_seq,
                                 uint64_t *buffered_rows, vg_err *e);

typedef struct persist_config {
    catalog *cat;
    wal *wal;
    buffer *buf;
    store *store;
    persist_seal_fn seal;
    void *seal_ctx;
    persist_delete_fn delete_rows; /* NULL: row deletes are refused */
    void *delete_ctx;
    int64_t gen1_ns;         /* time partition width; 0 = 10 minutes */
    uint32_t row_group_rows; /* 0 = 131072 */
    uint64_t compaction_max_file_bytes; /* 0 = 100 MiB */
    uint32_t compaction_min_files;      /* an open day's files merged from this many; 0 = 10 */
    uint64_t compaction_mem_bytes;      /* one row group of each input of a merge,
                                           decoded, fits in this; 0 = 256 MiB */
    int64_t compaction_cold_ns;         /* a closed day waits this long after its last
                                           new file (background runs) */
} persist_config;

/* Loads the file list from the catalog and deletes files the catalog does not know
 * (left by a crash before their commit) and stray temporary files. */
int persist_open(const persist_config *cfg, persist **out, vg_err *e);
void persist_close(persist *p);

typedef struct persist_result {
    uint64_t chunks;  /* buffer chunks sealed */
    uint64_t rows_in; /* rows read from them */
    uint64_t rows;    /* rows written (after merging duplicates) */
    uint64_t files;
    uint64_t bytes;
    uint64_t wal_seq; /* persisted through */
} persist_result;

/* Persists everything in the buffer now. Snapshots are serialised: a call waits for
 * one already running and then takes its own. */
int persist_snapshot(persist *p, persist_result *res, vg_err *e);

/* Compaction (compact.c, src/persist/README.md): merges the files of each (table,
 * day) that is due, group by group, with a streaming merge. persist_compact runs now
 * (POST /api/v3/compact): a closed day with two files or more is due at once.
 * persist_compact_due is the background run: a closed day also waits until no file
 * of it was added for compaction_cold_ns; a day with compaction_min_files files is
 * due either way. Snapshots never wait for compaction (a merge waits for a running
 * snapshot before it starts); row deletes wait for the group being merged. */
typedef struct persist_compact_result {
    uint64_t runs; /* groups merged */
    uint64_t files_in;
    uint64_t files_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t rows; /* written */
} persist_compact_result;
int persist_compact(persist *p, int64_t now_ns, persist_compact_result *res, vg_err *e);
int persist_compact_due(persist *p, int64_t now_ns, persist_compact_result *res, vg_err *e);
/* Makes a running compaction return after its current group, and later ones at once
 * (shutdown). */
void persist_compact_stop(persist *p);

/* Removes every file whose rows are all older than its database's retention period
 * (catalog commit first, then the file list; the object itself is deleted once no
 * reader holds it). Queries hide expired rows on their own (query applies the
 * retention floor to every scan), so this only frees space. */
int persist_apply_retention(persist *p, int64_t now_ns, uint64_t *removed, vg_err *e);

/* ---- deletes (deletes.c) ---- */

typedef struct persist_delete_result {
    uint64_t wal_seq;       /* the delete's WAL record */
    uint64_t buffered_rows; /* row versions removed from the write buffer */
    uint64_t files;         /* files written before it that it may hide rows of */
} persist_delete_result;

/* `DELETE FROM t WHERE ...`: t names the table, the time range and the tag
 * predicates (its id and wal_seq are filled in here). Serialised with snapshots and
 * compaction; under the view lock the buffered rows go (the delete callback: WAL
 * record, chunks rewritten, fsync) and the tombstone is committed to the catalog, so
 * a query sees the delete whole or not at all. From then on readers skip the rows it
 * matches in files written before it, and compaction drops them. */
int persist_delete_rows(persist *p, const catalog_tombstone *t, persist_delete_result *res,
                        vg_err *e);

typedef struct persist_purge_result {
    uint64_t files;      /* files of hard-deleted databases and tables removed */
    uint64_t tombstones; /* tombstones that no longer hide any row, dropped */
} persist_purge_result;

/* Background clean-up (the server runs it every second, and right after a delete with
 * hard_delete_at = now): removes every file of a deleted database or table whose
 * hard-delete time has come (catalog commit first; each object goes when the last
 * query holding it lets go), and drops tombstones no live file needs any more (every
 * file written before them and overlapping their time range is gone: compacted,
 * expired or deleted). Serialised with snapshots and compaction. */
int persist_purge(persist *p, int64_t now_ns, persist_purge_result *res, vg_err *e);

/* Test hook: VIGIL_CRASH_AT=<point> makes the process exit abruptly (_exit, as
 * SIGKILL would) at that point of a snapshot: "files-written", "catalog-committed",
 * "published", "wal-removed", of a compaction: "compaction-written",
 * "compaction-committed", and of a row delete: "delete-logged" (WAL record durable,
 * buffer rewritten, tombstone not committed). */

/* ---- readers ---- */

typedef struct persist_file persist_file;
/* The tombstones a view found for its table (deletes.c). */
typedef struct persist_tombs persist_tombs;

typedef struct persist_source {
    int64_t min_time;
    int64_t max_time;
    uint32_t nrows;
    /* May hold a (tag set, time) that an earlier source also holds: if so, one
     * whose time is in [dup_min, dup_max]. */
    bool flagged;
    int64_t dup_min;
    int64_t dup_max;
    buffer_chunk *chunk; /* a buffer chunk (the view holds a reference), or NULL */
    persist_file *file;  /* else: row group `rg` of this file */
    uint32_t rg;
    /* Deletes that may hide rows of this file source (those written after the file):
     * persist_source_load leaves the rows they match out. NULL: none. */
    const persist_tombs *tombs;
} persist_source;

typedef struct persist_view {
    persist_source *src; /* later wins: files by order, then buffer chunks by seq */
    size_t n;
    uint32_t files_total;  /* files of the table ... */
    uint32_t files_pruned; /* ... skipped by their time range */
    persist *p_;
} persist_view;

/* The sources of (db, table) that may hold rows with time in [tmin, tmax]. */
int persist_view_open(persist *p, uint32_t db_id, uint32_t table_id, int64_t tmin, int64_t tmax,
                      persist_view **out, vg_err *e);
void persist_view_close(persist_view *v);

/* False when the statistics of a file source prove that no row has `value` in the
 * string column `name` (a tag). Always true for buffer chunks. */
bool persist_source_may_hold(const persist_source *s, const char *name, const char *value,
                             size_t len);

/* A column a reader wants from a file: the catalog's id, name and type. */
typedef struct persist_col {
    uint32_t id;
    const char *name;
    catalog_type type;
} persist_col;

/* Decodes a file source into a new frozen chunk (the caller unrefs it) holding the
 * time column and the given columns; a column the file lacks (or holds with another
 * type) is absent, i.e. NULL. ncols_table sizes the chunk's column array. Rows that
 * the source's tombstones match are left out, so the chunk may hold fewer rows than
 * s->nrows (even none; its time range stays the source's). */
int persist_source_load(const persist_source *s, uint32_t db_id, uint32_t table_id,
                        uint32_t ncols_table, const persist_col *cols, uint32_t ncols,
                        buffer_chunk **out, vg_err *e);

/* ---- system.parquet_files ---- */
typedef struct persist_file_info {
    uint32_t db_id;
    uint32_t table_id;
    uint64_t id;
    char path[512];
    uint64_t bytes;
    uint64_t rows;
    int64_t min_time;
    int64_t max_time;
} persist_file_info;
/* Every live file of a database (all databases when db_id is UINT32_MAX), in a
 * vg_malloc'd array. */
int persist_list_files(persist *p, uint32_t db_id, persist_file_info **out, size_t *n, vg_err *e);

typedef struct persist_stats {
    uint64_t snapshots;
    uint64_t files;  /* live */
    uint64_t bytes;  /* of live files */
    int64_t last_snapshot_ns;
} persist_stats;
void persist_get_stats(persist *p, persist_stats *out);

#endif /* VIGIL_PERSIST_H */
