/*
 * buffer: the in-memory, columnar write buffer.
 *
 * Per table, rows are appended to an active chunk: typed column vectors indexed by
 * catalog column id (0 = time, int64 ns), a validity bitmap per column, tags as ids
 * into the chunk's own tag dictionaries, strings as offsets into one byte array.
 * A chunk is frozen (made immutable) when it fills or when a reader asks for a
 * snapshot; frozen chunks are reference-counted so readers hold them while writes
 * continue into a new active chunk. Chunks of a table are ordered by `seq`, and rows
 * inside a chunk by arrival, so "later write wins" for duplicate (tag set, time) is
 * well defined: the row with the higher (chunk seq, row index) wins, field by field.
 *
 * Depends on: base, catalog (column types and ids).
 */
#ifndef VIGIL_BUFFER_H
#define VIGIL_BUFFER_H

#include "base/base.h"
#include "catalog/catalog.h"

/* A chunk's dictionary of one tag column: id -> string, ids dense from 0. */
typedef struct buffer_dict {
    uint32_t n;
    uint32_t cap;
    const char **strs; /* NUL-terminated, owned by the chunk */
    uint32_t *lens;
    vg_map index; /* string -> (id + 1) */
} buffer_dict;

typedef struct buffer_column {
    bool present;   /* false: the column has no vector in this chunk (all null) */
    catalog_type type;
    uint8_t *valid; /* bit i set = row i has a value */
    union {
        int64_t *i64;  /* CATALOG_TIME, CATALOG_INT */
        uint64_t *u64; /* CATALOG_UINT */
        double *f64;   /* CATALOG_FLOAT */
        uint8_t *b;    /* CATALOG_BOOL: one byte per row, 0 or 1 */
        uint32_t *ids; /* CATALOG_TAG: ids into dict */
        uint32_t *off; /* CATALOG_STRING: nrows + 1 offsets into str */
    } v;
    buffer_dict *dict; /* CATALOG_TAG */
    char *str;         /* CATALOG_STRING bytes */
    size_t str_len;
    size_t str_cap;
} buffer_column;

typedef struct buffer_chunk {
    int refs;         /* atomic; owner of the memory is the last holder */
    uint32_t db_id;
    uint32_t table_id;
    uint64_t seq;     /* order of chunks within the table (later = newer writes) */
    bool frozen;
    uint32_t nrows;
    uint32_t cap;     /* row capacity */
    int64_t min_time;
    int64_t max_time;
    uint64_t max_wal_seq; /* highest WAL sequence of any row in the chunk */
    /* Some row of this chunk may duplicate the (tag set, time) of an earlier row, in
     * this chunk or an older one: every duplicate's later row is in a flagged chunk.
     * Rows that merely arrive out of order, a little, are told apart from duplicates
     * (buffer.c keeps a small window of recent times per series), so with the usual
     * traffic no chunk is flagged and readers skip deduplication entirely. */
    bool may_have_dups;
    /* With may_have_dups: the least and greatest time of the rows that set it. Only
     * there can a row of this chunk repeat one of an older chunk, so readers merge
     * across chunks only in that range, not in the whole chunk's. */
    int64_t dup_min;
    int64_t dup_max;
    uint32_t ncols;       /* columns known when the chunk was last appended to */
    buffer_column *cols;  /* indexed by catalog column id */
    size_t mem_bytes;
} buffer_chunk;

static inline bool buffer_is_valid(const buffer_column *c, uint32_t row)
{
    return c->present && (c->valid[row >> 3] >> (row & 7)) & 1;
}

/* One value of a row to append. Strings are already unescaped. */
typedef struct buffer_value {
    uint32_t col; /* catalog column id (not 0: time is given separately) */
    catalog_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        struct {
            const char *p;
            uint32_t len;
        } s; /* CATALOG_TAG and CATALOG_STRING */
    } v;
} buffer_value;

typedef struct buffer buffer;

typedef struct buffer_options {
    uint32_t chunk_rows; /* rows per chunk before it is frozen; 0 = 65536 */
} buffer_options;

buffer *buffer_new(const buffer_options *opt);
void buffer_free(buffer *b);

/* Appends one row to (db_id, table_id). ncols is the table's column count in the
 * catalog now (so new columns get vectors, earlier rows null). Rows of one table
 * must be appended by one thread at a time (ingest serialises them). */
int buffer_append(buffer *b, uint32_t db_id, uint32_t table_id, uint32_t ncols, int64_t time,
                  const buffer_value *vals, uint32_t nvals, uint64_t wal_seq, vg_err *e);

/* Snapshot for a reader: freezes the active chunk (if it has rows) and returns
 * references to every chunk of the table, oldest first, in a vg_malloc'd array.
 * Release with buffer_snapshot_release. *n = 0 (and *out = NULL) for an empty or
 * unknown table. Never blocks writers for longer than the freeze. */
int buffer_snapshot(buffer *b, uint32_t db_id, uint32_t table_id, buffer_chunk ***out,
                    size_t *n, vg_err *e);
void buffer_snapshot_release(buffer_chunk **chunks, size_t n);
void buffer_chunk_ref(buffer_chunk *c);
void buffer_chunk_unref(buffer_chunk *c);

/* Drops every chunk of a database (after a delete). Readers' refs stay valid. */
void buffer_drop_db(buffer *b, uint32_t db_id);
/* Drops every chunk of one table (after its delete). Readers' refs stay valid. */
void buffer_drop_table(buffer *b, uint32_t db_id, uint32_t table_id);
/* Bytes held by all chunks (including those only readers still hold). */
size_t buffer_mem_bytes(buffer *b);
/* Total rows held for (db_id, table_id), duplicates included. */
uint64_t buffer_row_count(buffer *b, uint32_t db_id, uint32_t table_id);

/* ---- persistence ----
 *
 * A snapshot seals every chunk in the buffer, writes their rows to files, and then
 * releases them. Sealed chunks stay visible to readers until released, so a reader
 * sees each row exactly once: in a chunk before the release, in a file after it
 * (persist publishes both changes under one lock). */

/* Freezes every active chunk and marks every chunk not yet sealed as sealed.
 * Returns references to them (vg_malloc'd array, ordered by db, table, seq) and the
 * highest WAL sequence of their rows. Call with appends stopped (the ingest lock), so
 * the set ends on a WAL record boundary. At most one sealed set at a time: seal
 * again only after buffer_release_sealed. */
int buffer_seal(buffer *b, buffer_chunk ***out, size_t *n, uint64_t *max_wal_seq, vg_err *e);
/* Takes sealed chunks out of their tables (readers' references stay valid) and drops
 * the caller's references to them; frees the array. */
void buffer_release_sealed(buffer *b, buffer_chunk **chunks, size_t n);
/* Gives up a seal (the snapshot failed): the chunks stay and the next seal takes
 * them again. Drops the caller's references and frees the array. */
void buffer_unseal(buffer *b, buffer_chunk **chunks, size_t n);

/* ---- loaded chunks ----
 * A reader (persist: one Parquet row group) builds a frozen chunk column by column:
 * new_loaded (nrows rows, the time column allocated, every other column absent),
 * buffer_chunk_column for each column present (vectors for nrows rows, all invalid:
 * the caller sets `valid` bits and values; time must be valid in every row), tag
 * values through buffer_chunk_dict_add, string values through
 * buffer_chunk_set_strings after the valid bits, then loaded_finish (min/max time,
 * frozen). Freed by buffer_chunk_unref; not counted in buffer_mem_bytes. */
buffer_chunk *buffer_chunk_new_loaded(uint32_t db_id, uint32_t table_id, uint32_t ncols,
                                      uint32_t nrows);
buffer_column *buffer_chunk_column(buffer_chunk *c, uint32_t col, catalog_type type);
int buffer_chunk_dict_add(buffer_chunk *c, buffer_column *col, const char *s, uint32_t len,
                          uint32_t *id);
int buffer_chunk_set_strings(buffer_chunk *c, buffer_column *col, const vg_str *vals);
void buffer_chunk_loaded_finish(buffer_chunk *c);
/* Frees a loaded chunk's rows but keeps its tag dictionaries: a reader done with the
 * rows may still use a dictionary's address as its identity (query caches keyed by
 * it must not see the address reused). The chunk then has no rows. */
void buffer_chunk_shed(buffer_chunk *c);

/* ---- row deletes ----
 *
 * A delete replaces each chunk holding matching rows by a new frozen chunk without
 * them (same seq, same place in the table), or takes the chunk out when all its rows
 * go; readers holding the old chunk keep it. Two steps so that the caller (ingest) can
 * write its WAL record between them: prepare (can fail, changes nothing), then commit
 * (cannot fail) or abort. Between the two the caller must keep appends to the table
 * out (the ingest lock) and no snapshot may be taken (persist serialises them). */

/* Marks in drop[0..nrows) the rows of c that t matches (time in range, every tag
 * predicate true) and were not marked yet; *n counts them. VG_ENOMEM. */
int buffer_chunk_match(const buffer_chunk *c, const catalog_tombstone *t, uint8_t *drop,
                       uint32_t *n);
/* A new frozen chunk (refs = 1) with the rows of c not marked in drop, in order,
 * with c's seq, flags and byte accounting; NULL when out of memory. */
buffer_chunk *buffer_chunk_without(const buffer_chunk *c, const uint8_t *drop);

typedef struct buffer_delete buffer_delete;
int buffer_delete_prepare(buffer *b, const catalog_tombstone *t, buffer_delete **out, vg_err *e);
/* Rows (versions, duplicates counted) the plan removes. */
uint64_t buffer_delete_rows(const buffer_delete *d);
void buffer_delete_commit(buffer *b, buffer_delete *d);
void buffer_delete_abort(buffer_delete *d);

#endif /* VIGIL_BUFFER_H */
