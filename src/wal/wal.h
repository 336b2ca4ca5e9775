/*
 * wal: the write-ahead log. Segment files of length-prefixed, CRC32C-checksummed
 * opaque records, with group commit and replay.
 *
 * Records are numbered by a sequence that grows by one per record and never goes
 * back (across restarts too). wal_append() copies a record into the pending batch
 * and returns its sequence; wal_sync() returns once that record is on disk. Writers
 * waiting at the same moment share one fdatasync (group commit): the first waiter
 * becomes the leader, writes everything pending, syncs, and wakes the others; a
 * lone writer never waits for a timer. See wal/README.md for the file format.
 *
 * Depends on: base.
 */
#ifndef VIGIL_WAL_H
#define VIGIL_WAL_H

#include "base/base.h"

typedef struct wal wal;

typedef struct wal_options {
    const char *dir;            /* created if missing */
    int64_t flush_interval_ns;  /* leader waits this long to gather more writers; 0 = none */
    uint64_t segment_bytes;     /* roll to a new segment past this size; 0 = 64 MiB */
    /* Sequences continue at least from here: the catalog's persisted mark + 1. When
     * every surviving record is older, the segments are removed (all persisted). */
    uint64_t min_next_seq;
} wal_options;

/* Opens the log: scans the segments, validates every record, and cuts a torn or
 * corrupt tail (logging the file and byte offset), so that appends continue after
 * the last good record. Records are not delivered here; see wal_replay. */
int wal_open(const wal_options *opt, wal **out, vg_err *e);
/* Closes the log after writing and syncing anything pending. */
void wal_close(wal *w);

/* Called for each record in sequence order. Returning non-VG_OK stops replay and is
 * returned by wal_replay. `rec` is valid only during the call. */
typedef int (*wal_replay_fn)(void *ctx, uint64_t seq, const void *rec, size_t len, vg_err *e);
/* Delivers every good record with seq > after_seq. */
int wal_replay(wal *w, uint64_t after_seq, wal_replay_fn fn, void *ctx, vg_err *e);

/* Queues a copy of the record; *seq receives its sequence number. Thread-safe. */
int wal_append(wal *w, const void *rec, size_t len, uint64_t *seq, vg_err *e);
/* Same, for a record made of several parts laid end to end (no copy beforehand). */
int wal_appendv(wal *w, const vg_str *parts, size_t nparts, uint64_t *seq, vg_err *e);
/* Waits until every record up to seq is durable (group commit). Thread-safe. */
int wal_sync(wal *w, uint64_t seq, vg_err *e);

/* Highest sequence appended so far (0 if none ever). */
uint64_t wal_last_seq(wal *w);
/* Highest sequence known durable. */
uint64_t wal_durable_seq(wal *w);
/* The next batch written starts a new segment. A snapshot asks for it when it seals
 * the buffer, so that the segment holding the sealed records ends there and can be
 * deleted once they are persisted (the active segment never is). */
void wal_roll_next(wal *w);
/* Deletes segment files whose records all have seq <= upto (after persistence). */
int wal_remove_through(wal *w, uint64_t upto, vg_err *e);

typedef struct wal_stats {
    uint64_t segments;
    uint64_t bytes;       /* total size of segment files */
    uint64_t syncs;       /* fdatasync calls since open */
    uint64_t records;     /* records appended since open */
} wal_stats;
void wal_get_stats(wal *w, wal_stats *out);

#endif /* VIGIL_WAL_H */
