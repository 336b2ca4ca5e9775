/*
 * buffer_int.h: declarations shared by the files of the buffer module only.
 *
 * chunk.c owns one chunk: its column vectors, tag dictionaries, the two-phase row
 * append, freezing and freeing. buffer.c owns the registry of tables, their locks,
 * and the public entry points.
 */
#ifndef VIGIL_BUFFER_INT_H
#define VIGIL_BUFFER_INT_H

#include "buffer.h"

#define BUF_MOD "buffer"
#define BUF_DEFAULT_CHUNK_ROWS 65536u
/* Row capacity of one chunk at most: the vectors of a chunk are allocated whole. */
#define BUF_MAX_CHUNK_ROWS (1u << 24)
/* Returned by chunk_prepare_row when the row cannot go into this chunk (a string
 * column would pass 4 GiB, the reach of its u32 offsets): freeze and retry. */
#define BUF_CHUNK_FULL (-1)

/* Byte accounting shared by a buffer and all its chunks. Refcounted because a
 * reader may hold chunks after the buffer itself is freed. */
typedef struct buf_acct {
    size_t bytes; /* atomic */
    int refs;     /* atomic */
} buf_acct;

/* Tag strings of a chunk live in a few blocks rather than one malloc each. */
typedef struct str_block str_block;

/* A chunk as allocated; readers see only `pub`. */
typedef struct chunk_int {
    buffer_chunk pub; /* first, so the two pointer types convert */
    buf_acct *acct;
    str_block *blocks;
} chunk_int;

static inline chunk_int *chunk_of(buffer_chunk *c)
{
    return (chunk_int *)c;
}

void buf_acct_ref(buf_acct *a);
void buf_acct_unref(buf_acct *a);

/* A new, empty, active chunk with the time column allocated; refs = 1. */
buffer_chunk *chunk_new(buf_acct *acct, uint32_t db_id, uint32_t table_id, uint64_t seq,
                        uint32_t cap, uint32_t ncols);
void chunk_free(buffer_chunk *c);
/* Makes room for columns [0, ncols). */
int chunk_grow_cols(buffer_chunk *c, uint32_t ncols);
/* Phase 1 of an append: checks every value, gives new columns their vectors, puts
 * tag values in the dictionary and reserves string bytes. Can fail (VG_EINVAL,
 * VG_ENOMEM, BUF_CHUNK_FULL) without making the row visible. */
int chunk_prepare_row(buffer_chunk *c, const buffer_value *vals, uint32_t nvals, vg_err *e);
/* Phase 2: writes the row prepared by phase 1. Cannot fail. */
void chunk_write_row(buffer_chunk *c, int64_t time, const buffer_value *vals, uint32_t nvals,
                     uint64_t wal_seq);
/* Makes the chunk immutable: null slots zeroed, string offsets completed, vectors
 * shrunk to the rows held. */
void chunk_freeze(buffer_chunk *c);

#endif /* VIGIL_BUFFER_INT_H */
