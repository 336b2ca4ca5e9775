/*
 * persist_int.h: declarations shared by the files of the persist module only.
 *
 * persist.c owns the module's state: the live files of every table (refcounted
 * handles), the view lock, start-up clean-up, views and loading row groups.
 * snapshot.c owns taking a snapshot: seal, sort and merge, write, commit, publish.
 */
#ifndef VIGIL_PERSIST_INT_H
#define VIGIL_PERSIST_INT_H

#include "persist.h"

#include "parquet/parquet.h"

#include <pthread.h>

#define PERSIST_MOD "persist"
#define PERSIST_DEFAULT_GEN1_NS (600LL * 1000000000LL)
#define PERSIST_DEFAULT_ROW_GROUP_ROWS 65536u

struct persist_file {
    int refs; /* atomic; the table list holds one */
    persist *p;
    uint64_t id;
    uint64_t order;
    uint32_t db_id;
    uint32_t table_id;
    char *path;
    uint64_t bytes;
    uint64_t rows;
    int64_t min_time;
    int64_t max_time;
    bool removed; /* out of the catalog: the object goes when the last reader does */

    pthread_mutex_t open_mu;
    bool opened;
    store_obj obj;
    parquet_file *pq;
    int time_col;
    int64_t (*rg_time)[2]; /* per row group: min, max time */
};

typedef struct ptable {
    uint32_t db_id;
    uint32_t table_id;
    persist_file **files; /* by order */
    uint32_t n;
    uint32_t cap;
} ptable;

struct persist {
    persist_config cfg;
    pthread_rwlock_t view_lock; /* the table lists, and the swap chunks -> files */
    pthread_mutex_t snap_mu;    /* one snapshot at a time */
    vg_map tables;              /* "db_id/table_id" -> ptable* */
    uint64_t snapshots;         /* atomic */
    int64_t last_snapshot_ns;
};

/* persist.c */
persist_file *pfile_new(persist *p, const catalog_file *f);
void pfile_unref(persist_file *f);
/* Adds a file to its table's list (view lock held for writing). */
int ptable_add(persist *p, persist_file *f);

/* A test hook: exits abruptly when VIGIL_CRASH_AT names this point. */
void persist_crash_point(const char *point);

#endif /* VIGIL_PERSIST_INT_H */
