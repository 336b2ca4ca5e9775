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
} catalog_table;

typedef struct catalog_db {
    uint32_t id; /* unique for the life of the catalog, never reused */
    char *name;  /* after a delete: "<name>-YYYYMMDDTHHMMSS" */
    uint32_t name_len;
    bool deleted;
    int64_t deleted_at_ns;
    int64_t retention_ns; /* 0 = keep forever */
    catalog_table **tables; /* indexed by table id */
    uint32_t ntables;
    uint32_t tables_cap;
    vg_map by_name; /* name -> catalog_table* */
} catalog_db;

typedef struct catalog_limits {
    uint32_t max_databases;         /* not counting deleted ones */
    uint32_t max_tables;            /* over all live databases */
    uint32_t max_columns_per_table; /* including time */
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
catalog_table *catalog_table_find(catalog_db *db, const char *name, size_t len);
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

/* Makes every queued mutation durable (append + fsync). No-op when nothing queued. */
int catalog_commit(catalog *c, vg_err *e);
/* Number of mutations queued and not yet committed. */
size_t catalog_pending(catalog *c);

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
