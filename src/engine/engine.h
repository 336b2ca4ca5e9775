/*
 * engine: the processing engine. Python plugins, written for InfluxDB 3's plugin API,
 * run inside the server and react to data: on writes (`table:<t>`, `all_tables`), on
 * a schedule (`every:<duration>`, `cron:<expr>`) and on HTTP requests
 * (`request:<path>`, served at /api/v3/engine/<path>).
 *
 * CPython is embedded (one interpreter, initialised by engine_new); only py.c
 * includes Python.h. Plugins run on engine worker threads, never on HTTP or ingest
 * threads; the GIL is released while the engine runs a query or a write for a plugin.
 * Trigger definitions live in the catalog (engine validates, catalog stores).
 *
 * Calls that must go "up" come in through engine_on_batch, which `server` registers
 * as ingest's batch hook.
 *
 * Depends on: base, catalog, ingest, query.
 */
#ifndef VIGIL_ENGINE_H
#define VIGIL_ENGINE_H

#include "base/base.h"
#include "catalog/catalog.h"
#include "ingest/ingest.h"
#include "query/query.h"

/* ------------------------------------------------------------------------ */
/* Trigger specifications (spec.c) and cron expressions (cron.c)             */
/* ------------------------------------------------------------------------ */

typedef enum engine_spec_kind {
    ENGINE_SPEC_TABLE = 0, /* table:<name>: process_writes with that table's rows */
    ENGINE_SPEC_ALL_TABLES,
    ENGINE_SPEC_EVERY,   /* every:<duration>: process_scheduled_call, aligned */
    ENGINE_SPEC_CRON,    /* cron:<6 or 7 fields>: process_scheduled_call */
    ENGINE_SPEC_REQUEST, /* request:<path>: process_request */
} engine_spec_kind;

/* A compiled cron expression: one bit per allowed value of each field (UTC). */
typedef struct engine_cron {
    uint64_t sec, min; /* bit n = n */
    uint32_t hour;     /* bit n = n */
    uint32_t dom;      /* bit n = day n+1 */
    uint16_t month;    /* bit n = month n+1 */
    uint8_t dow;       /* bit n = day n, 0 = Sunday */
    bool any_year;
    uint64_t years[3]; /* bit n = year ENGINE_CRON_FIRST_YEAR + n, when !any_year */
} engine_cron;

/* The cron crate's year range (the optional seventh field). */
#define ENGINE_CRON_FIRST_YEAR 1970
#define ENGINE_CRON_LAST_YEAR 2099

typedef struct engine_spec {
    engine_spec_kind kind;
    char text[VG_ERR_MSG_BYTES]; /* the trimmed specification, as stored */
    const char *arg;             /* table name, path or cron text: inside text */
    int64_t every_ns;            /* ENGINE_SPEC_EVERY */
    engine_cron cron;            /* ENGINE_SPEC_CRON */
} engine_spec;

/* Longest `every:` interval (Core: "must be ≤ 1 year"). */
#define ENGINE_EVERY_MAX_NS (365LL * 24 * 3600 * VG_NS_PER_SEC)

/* Parses a trigger specification (trimmed first). VG_EINVAL with Core's message
 * "failed to parse trigger from <spec>: expect one of the following forms: ..." for an
 * unknown form, and a precise reason for a bad duration, cron expression or name. */
int engine_spec_parse(const char *s, engine_spec *out, vg_err *e);
/* True for every: and cron: (process_scheduled_call). */
bool engine_spec_is_schedule(const engine_spec *s);
bool engine_spec_is_wal(const engine_spec *s);

/* Parses 6 fields (sec min hour dom month dow) or 7 (and year), or @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight, @hourly. Fields take *, ?, numbers,
 * names (JAN-DEC, SUN-SAT, full names, any case), ranges a-b, lists a,b and steps
 * x/n. Day of week counts 1-7 from Sunday, as the Rust cron crate that Core uses; a
 * time matches when both day of month and day of week match. */
int engine_cron_parse(const char *s, engine_cron *out, vg_err *e);
/* The first matching second strictly after `after_s` (Unix seconds, UTC), or -1
 * when there is none before the end of ENGINE_CRON_LAST_YEAR. */
int64_t engine_cron_next(const engine_cron *c, int64_t after_s);
/* The next boundary of an `every:` interval strictly after now: intervals are
 * aligned to the Unix epoch, so every:1h fires on the hour. */
int64_t engine_every_next(int64_t every_ns, int64_t now_ns);

/* Trigger arguments on the command line: "k=v,k2=v2"; each pair splits at its first
 * '=' (so values may hold '='). Returns the number of pairs or -1 with e set; keys
 * and values are vg_malloc'd into *keys / *vals (free with engine_args_free). */
int engine_args_parse(const char *s, char ***keys, char ***vals, vg_err *e);
void engine_args_free(char **keys, char **vals, int n);

/* ------------------------------------------------------------------------ */
/* The engine                                                               */
/* ------------------------------------------------------------------------ */

typedef struct engine engine;

typedef struct engine_config {
    const char *plugin_dir;    /* required; created when missing */
    int64_t plugin_timeout_ns; /* one call's limit; 0 = ENGINE_DEFAULT_TIMEOUT_NS */
    uint32_t workers;          /* worker threads; 0 = ENGINE_DEFAULT_WORKERS */
    size_t queue_bytes;        /* write batches waiting for plugins; 0 = default */
    uint32_t log_size;         /* rows kept in system.processing_engine_logs */
    catalog *cat;
    ingest *ingest;
    query_engine *query; /* plugins' queries; the engine's system tables */
} engine_config;

#define ENGINE_DEFAULT_TIMEOUT_NS (60LL * VG_NS_PER_SEC)
#define ENGINE_DEFAULT_WORKERS 2
#define ENGINE_DEFAULT_QUEUE_BYTES ((size_t)256 << 20)
#define ENGINE_DEFAULT_LOG_SIZE 10000

/* Initialises the interpreter, checks the plugin directory, loads the triggers of the
 * catalog (they resume where they were: enabled ones run), registers the system
 * tables with the query engine and starts the worker, scheduler and watchdog threads.
 * Call from the main thread (CPython's finalisation must run there too). */
int engine_new(const engine_config *cfg, engine **out, vg_err *e);
/* Begins shutting down: no new calls, pending ones dropped (their HTTP callers answered
 * at once), running ones cancelled. Call before stopping the HTTP server, so no
 * request waits for a plugin while the server stops. Idempotent. */
void engine_stop(engine *g);
/* Stops the threads (a run still going past the plugin timeout is abandoned) and
 * finalises the interpreter. Call from the thread that called engine_new. */
void engine_free(engine *g);
/* A database was deleted: its triggers stop (the catalog keeps them with it). */
void engine_forget_deleted_databases(engine *g);

/* ingest's batch hook (ingest_set_batch_hook): rows that became durable. Copies what
 * triggers need and returns; it may wait when plugins are far behind (back-pressure),
 * except on the engine's own threads. */
void engine_on_batch(void *g, const ingest_batch *b);

/* ---- trigger management (the HTTP API). Errors carry Core's messages; codes:
 * VG_EINVAL bad input, VG_ENOTFOUND no such database/trigger/plugin, VG_EEXISTS name
 * taken, VG_ELIMIT for "Cannot delete running plugin" (HTTP maps them). ---- */

typedef struct engine_trigger_request {
    const char *db;
    const char *name;
    const char *plugin;
    const char *spec;
    const char *const *arg_keys;
    const char *const *arg_values;
    uint32_t nargs;
    bool run_async;
    const char *error_behavior; /* "log", "retry", "disable"; NULL = log */
    bool disabled;
} engine_trigger_request;

int engine_trigger_create(engine *g, const engine_trigger_request *r, vg_err *e);
int engine_trigger_delete(engine *g, const char *db, const char *name, bool force, vg_err *e);
int engine_trigger_set_enabled(engine *g, const char *db, const char *name, bool enabled,
                               vg_err *e);

/* ---- plugin files (plugins.c) ---- */

/* Writes <plugin-dir>/<name> (creating directories under it). A name that would
 * leave the plugin directory is refused with Core's "Path traversal detected: ...". */
int engine_plugin_write(engine *g, const char *name, const char *content, size_t len, vg_err *e);
/* Replaces the code of a trigger's plugin: the file, or __init__.py of a directory
 * plugin. db may be NULL when the trigger name is unique over all databases. */
int engine_plugin_update(engine *g, const char *db, const char *trigger, const char *content,
                         size_t len, vg_err *e);
/* Replaces a directory plugin's files at once (written aside, then renamed over). */
typedef struct engine_plugin_file {
    const char *relative_path;
    const char *content;
    size_t len;
} engine_plugin_file;
int engine_plugin_update_dir(engine *g, const char *db, const char *trigger,
                             const engine_plugin_file *files, size_t nfiles, vg_err *e);

/* ---- dry runs (POST /api/v3/plugin_test/wal|schedule): the plugin runs once, its
 * writes are validated but not applied; the result is Core's JSON object. ---- */

typedef struct engine_test_request {
    const char *filename;
    const char *database;
    const char *input_lp; /* wal test */
    const char *schedule; /* schedule test: a cron expression; NULL = "* * * * * *" */
    const char *cache_name;
    const char *const *arg_keys;
    const char *const *arg_values;
    uint32_t nargs;
} engine_test_request;

int engine_test_wal(engine *g, const engine_test_request *r, vg_buf *json, vg_err *e);
int engine_test_schedule(engine *g, const engine_test_request *r, vg_buf *json, vg_err *e);

/* ---- request triggers (GET/POST /api/v3/engine/<path>) ---- */

typedef struct engine_kv {
    const char *key;
    const char *value;
} engine_kv;

typedef struct engine_http_request {
    const char *path; /* after /api/v3/engine/ */
    const char *method;
    const engine_kv *query;
    size_t nquery;
    const engine_kv *headers; /* names as sent; the engine lower-cases them */
    size_t nheaders;
    const char *body;
    size_t body_len;
} engine_http_request;

typedef struct engine_http_response {
    int status;
    vg_buf body;
    vg_buf headers; /* "Name: value\n" lines, Content-Type among them */
} engine_http_response;

/* VG_ENOTFOUND when no enabled request trigger serves the path (HTTP 404); otherwise
 * VG_OK with the plugin's response, a 500 {"error": ...} one included. The caller
 * initialises and frees resp's buffers. */
int engine_request(engine *g, const engine_http_request *req, engine_http_response *resp,
                   vg_err *e);

#endif /* VIGIL_ENGINE_H */
