/*
 * store: the object store that Parquet files live in. Objects are named by
 * slash-separated relative paths (`dbs/3/0/2026-11-22/10-20/000042.parquet`).
 *
 * One backend today: a local directory. `--object-store memory` is the same backend
 * on a temporary directory that the server removes at exit (server.c), so both modes
 * run the same code. A put is atomic and durable (temporary file, fsync, rename,
 * fsync of the directory): an object either exists whole or not at all.
 *
 * Depends on: base.
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include "base/base.h"

typedef struct store store;

/* Opens the store rooted at dir (created if missing). */
int store_open(const char *dir, store **out, vg_err *e);
void store_close(store *s);
const char *store_root(const store *s);

/* Writes the object atomically and durably, creating parent directories. */
int store_put(store *s, const char *path, const void *data, size_t len, vg_err *e);

/* A put written as it is produced (a Parquet file streamed row group by row group),
 * so the object never sits whole in memory; as atomic and durable as store_put. Write
 * to `fd` (a temporary file next to the object); commit publishes the object and
 * reports its size; abort removes the temporary file. After open, exactly one of
 * commit and abort must be called. */
typedef struct store_writer {
    int fd;
    char *full_; /* the object's file */
    char *tmp_;  /* "<full>.tmp" */
} store_writer;
int store_writer_open(store *s, const char *path, store_writer *w, vg_err *e);
int store_writer_commit(store_writer *w, uint64_t *bytes, vg_err *e);
void store_writer_abort(store_writer *w);

/* A read-only view of an object's bytes (memory-mapped). */
typedef struct store_obj {
    const void *data;
    size_t len;
    void *map_;
    size_t map_len_;
} store_obj;
/* VG_ENOTFOUND when the object does not exist. */
int store_get(store *s, const char *path, store_obj *out, vg_err *e);
void store_obj_release(store_obj *o);
/* The bytes [off, off + len) will not be needed again soon: their pages leave the
 * process's resident set (the system keeps them cached; reading them again brings
 * them back), so a scan over many files does not grow the server's RSS by every
 * page it read. Other readers of the object are unaffected but for that re-read. */
void store_obj_drop_pages(const store_obj *o, size_t off, size_t len);

/* Deletes the object (no error if it is already gone) and then its parent
 * directories that became empty, up to the root. */
int store_delete(store *s, const char *path, vg_err *e);

/* Calls fn for every object under prefix ("" = all), with its relative path and
 * size, in no particular order. Temporary files of interrupted puts are reported too
 * (their names end in ".tmp"). Returning non-zero from fn stops the walk. */
typedef int (*store_list_fn)(void *ctx, const char *path, uint64_t size);
int store_list(store *s, const char *prefix, store_list_fn fn, void *ctx, vg_err *e);

/* Bytes of every object under prefix. */
uint64_t store_bytes(store *s, const char *prefix);

#endif /* VIGIL_STORE_H */
