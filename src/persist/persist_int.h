/*
 * persist_int.h: declarations shared by the files of the persist module only.
 *
 * persist.c owns the module's state: the live files of every table (refcounted
 * handles), the view lock, start-up clean-up, views and loading row groups.
 * snapshot.c owns taking a snapshot: seal, sort and merge, write, commit, publish.
 * compact.c owns compaction (when, which files, the swap), merge.c its streaming
 * merge of a group of files into one; deletes.c row deletes (tombstones) and hard
 * deletes.
 */
#ifndef VIGIL_PERSIST_INT_H
#define VIGIL_PERSIST_INT_H

#include "persist.h"

#include "parquet/parquet.h"

#include <pthread.h>

#define PERSIST_MOD "persist"
#define PERSIST_DEFAULT_GEN1_NS (600LL * 1000000000LL)
#define PERSIST_DEFAULT_ROW_GROUP_ROWS 131072u

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
    int64_t added_mono_ns; /* when this process first listed it (compaction's "cold") */

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
    /* One compaction group at a time, and none while a row delete commits (deletes
     * take it before snap_mu): a group's output never misses a delete made while it
     * was being merged. Snapshots do not take it, so they never wait for a merge. */
    pthread_mutex_t compact_mu;
    bool compact_stop; /* atomic: persist_compact_stop, checked between groups */
    uint32_t views_open;      /* atomic: table views open (queries reading) */
    uint32_t compact_waiters; /* atomic: row deletes waiting for compact_mu */
};

/* persist.c */
persist_file *pfile_new(persist *p, const catalog_file *f);
void pfile_unref(persist_file *f);
/* The file list of a table, or NULL (view lock held). */
ptable *ptable_lookup(persist *p, uint32_t db_id, uint32_t table_id);
/* Adds a file to its table's list (view lock held for writing). */
int ptable_add(persist *p, persist_file *f);

void ptable_drop(persist *p, uint32_t db_id, uint32_t table_id, uint64_t id);
/* Maps the file and reads its footer (once). */
int pfile_open(persist_file *f, vg_err *e);

/* snapshot.c: sorting, merging and writing one table's rows, shared with compaction.
 * starts NULL: one file per gen1 partition, each file's order its id; else one file
 * per group of times [starts[i], starts[i + 1]), every file with `order`. */
typedef struct snap snap;
snap *snap_new(persist *p, const int64_t *starts, size_t nstarts, uint64_t order);
/* Writes the rows of one table's chunks ch[0..n) (later chunks win). */
int snap_write_table(snap *s, buffer_chunk **ch, size_t n, vg_err *e);
size_t snap_nfiles(const snap *s);
const catalog_file *snap_file_at(const snap *s, size_t i);
uint64_t snap_rows(const snap *s);
uint64_t snap_bytes(const snap *s);
/* delete_files: also delete the objects written (the work is abandoned). */
void snap_free(snap *s, bool delete_files);
/* The object path of a table's file (snapshot and compaction outputs alike):
 * dbs/<db>-<id>/<table>-<id>/<YYYY-MM-DD>/<HH-MM>/<id>.parquet, the folders named by
 * part_start. NULL when out of memory. */
char *pfile_object_path(const char *db_name, uint32_t db_id, const char *table_name,
                        uint32_t table_id, int64_t part_start, uint64_t id);
/* The Parquet type a column of this catalog type is written as. */
parquet_type pcol_parquet_type(catalog_type t);
/* A written column chunk's statistics as the catalog records them; string bounds
 * point into ps (catalog_file_add copies them) and are left out when inexact. */
void pstats_to_catalog(const parquet_stats *ps, catalog_type t, uint32_t col,
                       catalog_col_stats *cs);

/* merge.c: one compaction group's files in[0..n) (later-wins order: a later input's
 * values win) merged by a streaming k-way merge into one new file of `order`, put in
 * the store but not yet in the catalog. */
typedef struct pmerge_result {
    catalog_file cf; /* the output; cf.path NULL when no row was left (or on error) */
    uint64_t rows_in;         /* rows read, after deletes */
    uint64_t rows_out;        /* rows written */
    uint64_t row_groups;      /* input row groups decoded */
    uint64_t series_runs;     /* runs of one series in one input, over all inputs */
    uint64_t rows_in_bulk;    /* rows copied run by run (runs disjoint in time) */
    uint64_t rows_one_by_one; /* rows merged by time (overlapping runs) */
    uint64_t rows_merged;     /* of those, rows merged into an earlier one (duplicates) */
    int64_t paused_ns;        /* time spent stepping aside for queries */
    bool unsorted;   /* an input is out of (tag set, time) order: nothing written */
    bool table_gone; /* the table was deleted meanwhile: nothing written */
} pmerge_result;
/* pace: background work, which steps aside while queries read (pmerge_pace). */
int pmerge_files(persist *p, persist_file **in, size_t n, const persist_tombs *tombs,
                 int64_t start, uint64_t order, bool pace, pmerge_result *res, vg_err *e);
/* Frees the result's output description; delete_object also deletes the output. */
void pmerge_result_free(persist *p, pmerge_result *res, bool delete_object);

/* deletes.c: the tombstones of one table with an id above min_file_id (so hiding rows
 * of some file at or above it) and meeting [tmin, tmax], copied; *out = NULL when
 * there are none. Takes the catalog read lock. */
int ptombs_load(persist *p, uint32_t db_id, uint32_t table_id, uint64_t min_file_id,
                int64_t tmin, int64_t tmax, persist_tombs **out, vg_err *e);
void ptombs_free(persist_tombs *ts);
/* A tombstone written after file_id, without tag predicates, covers [min, max]. */
bool ptombs_hide_all(const persist_tombs *ts, uint64_t file_id, int64_t min, int64_t max);
/* A tombstone written after file_id meets [min, max]. */
bool ptombs_touch(const persist_tombs *ts, uint64_t file_id, int64_t min, int64_t max);
/* Leaves out of *c (decoded from file source s) the rows s->tombs match: *c is
 * replaced by a chunk without them. */
int ptombs_apply(const persist_source *s, buffer_chunk **c, vg_err *e);

/* A test hook: exits abruptly when VIGIL_CRASH_AT names this point. */
void persist_crash_point(const char *point);

#endif /* VIGIL_PERSIST_INT_H */
