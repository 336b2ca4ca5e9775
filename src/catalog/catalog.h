/*
 * catalog: databases, tables, columns and their types; durable.
 *
 * The catalog is an in-memory object graph backed by an append-only log of
 * checksummed records (catalog/README.md). Mutations change memory at once and
 * queue a log record; catalog_commit() appends the queued records and fsyncs, and
 * must be called before any WAL record that relies on the change is written.
 *
 * Objects are never freed while the catalog is open (a deleted database stays, marked
 * deleted and renamed), so pointers to them stay valid. Concurrency: one rwlock.
 * Lookups need the read (or write) lock; mutations and commit need the write lock.
 *
 * Depends on: base.
 */
#ifndef VIGIL_CATALOG_H
#define VIGIL_CATALOG_H

#include "base/base.h"

typedef enum catalog_type {
    CATALOG_TIME = 0,
    CATALOG_TAG,
    CATALOG_FLOAT,
    CATALOG_INT,
    CATALOG_UINT,
    CATALOG_STRING,
    CATALOG_BOOL,
} catalog_type;

/* Core's names: iox::column_type::tag, ::field::float|integer|uinteger|string|boolean,
 * iox::column_type::timestamp. */
const char *catalog_type_iox_name(catalog_type t);
/* Short names used in the API and CLI: tag, float64, int64, uint64, utf8, bool, time. */
const char *catalog_type_name(catalog_type t);

typedef struct catalog_column {
    uint32_t id; /* dense within its table, 0 = time */
    char *name;
    uint32_t name_len;
    catalog_type type;
} catalog_column;

typedef struct catalog_file catalog_file;
typedef struct catalog_tombstone catalog_tombstone;

typedef struct catalog_table {
    uint32_t id; /* dense within its database */
    uint32_t db_id;
    char *name;
    uint32_t name_len;
    catalog_column **cols; /* indexed by column id */
    uint32_t ncols;
    uint32_t ntags;
    uint32_t cols_cap;
    vg_map by_name; /* name -> catalog_column* */
    catalog_file **files; /* live Parquet files, in order of `order` (files.c) */
    uint32_t nfiles;
    uint32_t files_cap;
    catalog_tombstone **tombs; /* row deletes still hiding rows of files (tombstones.c) */
    uint32_t ntombs;
    uint32_t tombs_cap;
    /* Soft delete: renamed "<name>-YYYYMMDDTHHMMSS" and out of the database's
     * by_name; `orig_name` keeps the name it had. WAL records through
     * `deleted_wal_seq` were written before the delete (replay drops their rows). */
    bool deleted;
    int64_t deleted_at_ns;
    uint64_t deleted_wal_seq;
    char *orig_name;
    int64_t hard_delete_at_ns; /* files removed from then on; 0 = never */
} catalog_table;

typedef struct catalog_db {
    uint32_t id; /* unique for the life of the catalog, never reused */
    char *name;  /* after a delete: "<name>-YYYYMMDDTHHMMSS" */
    uint32_t name_len;
    bool deleted;
    int64_t deleted_at_ns;
    int64_t retention_ns; /* 0 = keep forever */
    int64_t hard_delete_at_ns; /* once deleted: files removed from then on; 0 = never */
    uint32_t deleted_tables;   /* how many of its tables are deleted */
    catalog_table **tables; /* indexed by table id */
    uint32_t ntables;
    uint32_t tables_cap;
    vg_map by_name; /* name -> catalog_table* */
} catalog_db;

typedef struct catalog_limits {
    uint32_t max_databases;         /* not counting deleted ones */
    uint32_t max_tables;            /* over all live databases */
    uint32_t max_columns_per_table; /* including time */
    /* A commit checkpoints the log once it is bigger than this and 4x its last
     * image (catalog_checkpoint). 0 = VG_DEFAULT_CATALOG_CHECKPOINT_BYTES. */
    uint64_t checkpoint_floor_bytes;
} catalog_limits;

typedef struct catalog catalog;

/* Opens (creating if needed) the catalog stored under dir, replaying its log. A torn
 * tail of the log is cut with a log line; a corrupt record before the tail is an
 * error (the catalog cannot be guessed). */
int catalog_open(const char *dir, const catalog_limits *limits, catalog **out, vg_err *e);
void catalog_close(catalog *c);

void catalog_read_lock(catalog *c);
void catalog_read_unlock(catalog *c);
void catalog_write_lock(catalog *c);
void catalog_write_unlock(catalog *c);

/* A UUID made when the catalog was first created (the `cluster-uuid` header). */
const char *catalog_uuid(const catalog *c);

/* ---- lookups (read lock) ---- */
/* Live (not deleted) database by name, or NULL. */
catalog_db *catalog_db_find(catalog *c, const char *name, size_t len);
/* Any database by id, deleted ones included, or NULL. */
catalog_db *catalog_db_get(catalog *c, uint32_t id);
/* All databases (deleted ones included), in id order. */
catalog_db **catalog_dbs(catalog *c, uint32_t *n);
/* A live table by name (deleted tables are not found). */
catalog_table *catalog_table_find(catalog_db *db, const char *name, size_t len);
/* True when a table of db named `name` was deleted after WAL record wal_seq was
 * written (so that record's rows of `name` belong to the deleted table). */
bool catalog_table_deleted_after(const catalog_db *db, const char *name, size_t len,
                                 uint64_t wal_seq);
catalog_column *catalog_column_find(catalog_table *t, const char *name, size_t len);
uint32_t catalog_live_db_count(catalog *c);
uint32_t catalog_table_count(catalog *c); /* over live databases */

/* ---- validation ---- */
/* Core's database-name rules, with Core's messages:
 *   "db name cannot be empty", "db name did not start with a number or letter",
 *   "invalid character in database or rp name: must be ASCII, containing only
 *   letters, numbers, underscores, or hyphens", "db name too long: max 511",
 *   "db name with invalid retention policy, if providing a retention policy name, must
 *   be of form '<db_name>/<rp_name>'" (a second '/' or a trailing one). */
int catalog_validate_db_name(const char *name, size_t len, vg_err *e);

/* ---- mutations (write lock); queued until catalog_commit ---- */
/* VG_EEXISTS if a live database has the name; VG_ELIMIT with
 * "Adding a new database would exceed limit of N databases". */
int catalog_db_create(catalog *c, const char *name, size_t len, int64_t retention_ns,
                      catalog_db **out, vg_err *e);
/* Soft delete: renamed "<name>-YYYYMMDDTHHMMSS", marked deleted, name free again. */
int catalog_db_delete(catalog *c, catalog_db *db, vg_err *e);
int catalog_db_set_retention(catalog *c, catalog_db *db, int64_t retention_ns, vg_err *e);
/* When the files of a deleted database are removed (0 = never). VG_EINVAL for a live
 * database. */
int catalog_db_set_hard_delete(catalog *c, catalog_db *db, int64_t at_ns, vg_err *e);
/* Creates a table with its `time` column (id 0). VG_ELIMIT with Core's message
 * "Update to schema would exceed number of tables limit: attempted to create table
 * but already have N table(s) (limit: M)". */
int catalog_table_create(catalog *c, catalog_db *db, const char *name, size_t len,
                         catalog_table **out, vg_err *e);
/* Adds a column. VG_EINVAL for "'time' is a reserved column" (also
 * "__chunk_order"); VG_EEXISTS if the name exists; VG_ELIMIT with "Update to schema
 * would exceed number of columns per table limit of N columns". */
int catalog_column_add(catalog *c, catalog_table *t, const char *name, size_t len,
                       catalog_type type, catalog_column **out, vg_err *e);

/* Soft-deletes a table: renamed "<name>-YYYYMMDDTHHMMSS", out of lookups by name (the
 * name is free again), its id kept. wal_seq: the last WAL record written before the
 * delete. VG_EEXISTS when already deleted, VG_ENOTFOUND in a deleted database. */
int catalog_table_delete(catalog *c, catalog_table *t, uint64_t wal_seq, vg_err *e);
/* When the files of a deleted table are removed (0 = never). VG_EINVAL for a live
 * table. */
int catalog_table_set_hard_delete(catalog *c, catalog_table *t, int64_t at_ns, vg_err *e);

/* Makes every queued mutation durable (append + fsync). No-op when nothing queued. */
int catalog_commit(catalog *c, vg_err *e);
/* Number of mutations queued and not yet committed. */
size_t catalog_pending(catalog *c);
/* Rewrites the log as a compact image of the catalog (catalog/README.md,
 * "Checkpoints"), atomically: a crash leaves the old log or the new one, both whole.
 * Queued mutations are committed first. Write lock. On failure the old log stays in
 * use, unchanged. catalog_commit does this by itself when the log has grown past
 * limits.checkpoint_floor_bytes and 4x its last image. */
int catalog_checkpoint(catalog *c, vg_err *e);

/* ---- persisted Parquet files (files.c) ----
 *
 * The catalog is the truth about which files hold a table's persisted rows: a file
 * exists for readers exactly from the commit that adds it to the commit that
 * removes it. `persisted_seq` is the WAL sequence through which every row is in some
 * file, so start-up replays only the records after it. */

/* Min/max of one column of a file, for pruning before the file is opened. */
typedef struct catalog_col_stats {
    uint32_t col_id;
    catalog_type type;
    uint64_t null_count;
    bool has_minmax; /* false: all null, or a string bound too long to keep */
    union {
        int64_t i; /* TIME, INT */
        uint64_t u; /* UINT, BOOL */
        double f;  /* FLOAT */
    } min, max;
    char *smin, *smax; /* TAG, STRING (exact values, at most CATALOG_STAT_STR_MAX bytes) */
    uint32_t smin_len, smax_len;
} catalog_col_stats;

#define CATALOG_STAT_STR_MAX 256

struct catalog_file {
    uint64_t id; /* unique, from catalog_file_id_next; names the file */
    uint32_t db_id;
    uint32_t table_id;
    /* Which of two files holding the same (tag set, time) wins: the higher order.
     * A snapshot file's order is its id; a compacted file takes the highest order
     * of the files it replaces. */
    uint64_t order;
    int64_t min_time;
    int64_t max_time;
    uint64_t rows;
    uint64_t bytes;
    char *path; /* relative to the node directory */
    uint32_t nstats;
    catalog_col_stats *stats;
};

/* A new file id (write lock). Ids of files never committed may be handed out again
 * after a restart: start-up deletes such files first. */
uint64_t catalog_file_id_next(catalog *c);
/* Adds a file to its table (deep copy of f). Write lock; queued until commit.
 * VG_ENOTFOUND for an unknown database or table. */
int catalog_file_add(catalog *c, const catalog_file *f, vg_err *e);
/* Removes a live file of t by id (VG_ENOTFOUND if none). Write lock; queued. */
int catalog_file_remove(catalog *c, catalog_table *t, uint64_t id, vg_err *e);
/* Records that every WAL record through seq is persisted. Write lock; queued. */
int catalog_set_persisted_seq(catalog *c, uint64_t seq, vg_err *e);
uint64_t catalog_persisted_seq(catalog *c);
/* Stats of column col_id in f, or NULL. */
const catalog_col_stats *catalog_file_stats(const catalog_file *f, uint32_t col_id);

/* ---- row deletes (tombstones.c) ----
 *
 * `DELETE FROM t WHERE ...` becomes a tombstone: a time range and tag predicates. The
 * write buffer applies it at once (ingest rewrites the chunks); files written before
 * the delete keep their rows, and readers skip those the tombstone matches, until
 * compaction rewrites the files without them and the tombstone is dropped. */

/* A tag predicate: the row's value of tag column col_id is one of vals (a row
 * without a value for it does not match). */
typedef struct catalog_tomb_pred {
    uint32_t col_id;
    uint32_t nvals;
    vg_str *vals;
} catalog_tomb_pred;

struct catalog_tombstone {
    /* A file id reserved for the tombstone (catalog_file_id_next): it hides rows of
     * the table's files with a smaller id, i.e. files written before the delete. */
    uint64_t id;
    uint32_t db_id;
    uint32_t table_id;
    uint64_t wal_seq;  /* the WAL record of the delete (0 = none) */
    int64_t min_time;  /* inclusive */
    int64_t max_time;  /* inclusive */
    uint32_t npreds;   /* all must match */
    catalog_tomb_pred *preds;
};

/* Adds a tombstone (deep copy) to its table. Write lock; queued until commit.
 * VG_ENOTFOUND for an unknown database or table, VG_EINVAL for a predicate on a
 * column that is not a tag. Later file ids are above t->id. */
int catalog_tombstone_add(catalog *c, const catalog_tombstone *t, vg_err *e);
/* Drops a tombstone of table t by id (VG_ENOTFOUND if none). Write lock; queued. */
int catalog_tombstone_remove(catalog *c, catalog_table *t, uint64_t id, vg_err *e);
/* The tombstone of t made by WAL record wal_seq, or NULL. */
const catalog_tombstone *catalog_tombstone_by_wal(const catalog_table *t, uint64_t wal_seq);

/* The tombstone as bytes (the body of its catalog op, also carried by ingest's
 * delete WAL records): encoded_size, then encode into that many bytes. */
size_t catalog_tombstone_encoded_size(const catalog_tombstone *t);
void catalog_tombstone_encode(const catalog_tombstone *t, uint8_t *out);
/* Decodes exactly n bytes into a new tombstone (catalog_tombstone_free).
 * VG_ECORRUPT when they are not one, VG_ENOMEM. */
int catalog_tombstone_decode(const void *p, size_t n, catalog_tombstone **out);
void catalog_tombstone_free(catalog_tombstone *t);
/* ---- processing-engine triggers (triggers.c; catalog/README.md) ----
 * The catalog stores trigger definitions and keeps them durable; it does not parse
 * the specification (the engine validates it before creating). Triggers belong to a
 * database; names are unique among the live triggers of one database. Objects are
 * never freed while the catalog is open (a deleted trigger is marked, not freed). */

typedef enum catalog_error_behavior {
    CATALOG_ON_ERROR_LOG = 0,     /* log the error, go on */
    CATALOG_ON_ERROR_RETRY = 1,   /* run the same call again, with backoff */
    CATALOG_ON_ERROR_DISABLE = 2, /* disable the trigger until re-enabled */
} catalog_error_behavior;

typedef struct catalog_trigger_arg {
    char *key;
    char *value;
} catalog_trigger_arg;

typedef struct catalog_trigger {
    uint32_t id;    /* unique for the life of the catalog, never reused */
    uint32_t db_id;
    char *name;
    char *plugin;   /* path relative to the plugin directory */
    char *spec;     /* "every:10s", "table:cpu", ... as validated by the engine */
    catalog_trigger_arg *args; /* in the order given */
    uint32_t nargs;
    bool run_async;
    catalog_error_behavior error_behavior;
    bool disabled;
    bool deleted;
} catalog_trigger;

/* What a create needs; the catalog copies every string. */
typedef struct catalog_trigger_def {
    const char *name;
    const char *plugin;
    const char *spec;
    const catalog_trigger_arg *args;
    uint32_t nargs;
    bool run_async;
    catalog_error_behavior error_behavior;
    bool disabled;
} catalog_trigger_def;

/* Lookups (read lock). A live trigger of a live database by name, or NULL. */
catalog_trigger *catalog_trigger_find(catalog *c, const catalog_db *db, const char *name);
/* Every trigger ever created, deleted ones included, in id order. */
catalog_trigger **catalog_triggers(catalog *c, uint32_t *n);
/* Mutations (write lock; queued until catalog_commit). VG_EEXISTS with Core's
 * "Cannot overwrite Processing Engine Trigger <t> in Database <d>". */
int catalog_trigger_create(catalog *c, catalog_db *db, const catalog_trigger_def *def,
                           catalog_trigger **out, vg_err *e);
int catalog_trigger_set_disabled(catalog *c, catalog_trigger *t, bool disabled, vg_err *e);
int catalog_trigger_delete(catalog *c, catalog_trigger *t, vg_err *e);

#endif /* VIGIL_CATALOG_H */
