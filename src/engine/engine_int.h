/*
 * engine/engine_int.h: declarations shared by the files of module engine only.
 *
 *   engine.c    the engine object, the runtime triggers, job queues, worker threads,
 *               error behaviours, the ingest hook and back-pressure
 *   sched.c     the scheduler (every:/cron:) and the watchdog (plugin timeout)
 *   manage.c    create / delete / enable / disable, request calls, dry runs
 *   plugins.c   the plugin directory: path checks, reading, writing, listing
 *   logs.c      the log ring behind system.processing_engine_logs; system tables
 *   py.c        everything that touches CPython (the only file with Python.h)
 *   spec.c      trigger specifications and arguments; cron.c cron expressions
 */
#ifndef VIGIL_ENGINE_INT_H
#define VIGIL_ENGINE_INT_H

#include "engine.h"

#include <pthread.h>
#include <stdatomic.h>

#define ENG_MOD "engine"

/* Writes made by plugins fire other triggers; a chain of plugin writes deeper than
 * this stops (logged): a trigger whose plugin writes to the table it watches would
 * otherwise call itself forever. A client write is depth 0. */
#define ENG_MAX_WRITE_DEPTH 8
/* error behaviour "retry": attempts in all, and the first backoff (doubling). */
#define ENG_RETRY_ATTEMPTS 5
#define ENG_RETRY_FIRST_NS (500 * VG_NS_PER_MS)
#define ENG_RETRY_MAX_NS (30LL * VG_NS_PER_SEC)
/* Lines a plugin may buffer in one call with write()/write_to_db(): a plugin that
 * floods gets an exception rather than the server running out of memory. */
#define ENG_CALL_WRITE_BYTES ((size_t)64 << 20)
/* A run still going this long past its timeout is stuck in C code (where the timeout
 * exception cannot reach it): its worker is abandoned and a new one started. */
#define ENG_STUCK_GRACE_NS (5LL * VG_NS_PER_SEC)
/* How often the watchdog raises again into a cancelled call that swallowed it. */
#define ENG_KICK_EVERY_NS (250 * VG_NS_PER_MS)
/* Workers that may be abandoned in all before the engine stops replacing them. */
#define ENG_MAX_ABANDONED 8
/* A log line longer than this is cut (tracebacks of deep recursion can be huge). */
#define ENG_LOG_TEXT_MAX (64u * 1024u)

typedef struct eng_trigger eng_trigger;
typedef struct eng_job eng_job;
typedef struct eng_batch eng_batch;
uint64_t eng_batch_rows(const eng_batch *b);
typedef struct eng_call eng_call;
typedef struct eng_worker eng_worker;
typedef struct eng_waiter eng_waiter;

/* ---- write batches handed to WAL triggers (copied from ingest's rows) ---- */

typedef struct eng_val {
    uint32_t col;
    catalog_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        struct {
            const char *p;
            uint32_t len;
        } s;
    } v;
} eng_val;

typedef struct eng_row {
    int64_t time;
    const eng_val *vals;
    uint32_t nvals;
} eng_row;

typedef struct eng_table_rows {
    uint32_t table_id;
    const char *name;
    const char **col_names; /* indexed by column id; NULL for ids not used */
    uint32_t ncols;
    eng_row *rows;
    uint32_t nrows;
    uint32_t cap;
} eng_table_rows;

struct eng_batch {
    atomic_int refs;
    uint32_t db_id;
    int depth; /* of the write that made it (0 = a client's) */
    uint64_t wal_seq;
    bool synced;            /* false: wait for the WAL fsync before calling plugins */
    eng_table_rows *tables; /* in order of first appearance */
    uint32_t ntables;
    size_t bytes;   /* charged to the queue */
    vg_arena arena; /* everything above */
};

void eng_batch_unref(eng_batch *b);

/* ---- jobs ---- */

typedef enum eng_job_kind {
    ENG_JOB_WAL = 0,
    ENG_JOB_SCHEDULE,
    ENG_JOB_REQUEST,
    ENG_JOB_TEST_WAL,
    ENG_JOB_TEST_SCHEDULE,
    ENG_JOB_DROP_CACHE, /* a deleted trigger's cache namespace (needs the interpreter) */
} eng_job_kind;

/* Someone (an HTTP thread) waiting for a job's result: request triggers, dry runs. */
struct eng_waiter {
    int refs; /* engine lock: the waiter and the job */
    bool done;
    pthread_cond_t cond;
    vg_arena arena; /* copies of the request: the HTTP thread may give up waiting */
    /* request */
    engine_http_request req;
    int status;
    vg_buf body;
    vg_buf headers;
    /* dry run */
    engine_test_request test;
    vg_buf json;
    int rc;
    char err[VG_ERR_MSG_BYTES];
};

struct eng_job {
    eng_job_kind kind;
    eng_job *next;
    eng_trigger *trig;    /* reference */
    eng_batch *batch;     /* ENG_JOB_WAL: reference */
    int64_t call_time_ns; /* ENG_JOB_SCHEDULE, ENG_JOB_TEST_SCHEDULE */
    int attempt;          /* 1 for the first run */
    int64_t not_before;   /* mono ns: a retry waits for its backoff */
    int depth;            /* writes this job makes are depth + 1 */
    eng_waiter *waiter;   /* request and test jobs */
    bool adhoc;           /* on the engine's ad-hoc queue, not its trigger's */
    /* ENG_JOB_WAL: later writes queued behind this one, run in the same call (as
     * Core hands a plugin everything one WAL flush made durable). Owned. */
    eng_job *merged;
};

/* A call takes at most this many queued writes (and about this many rows) at once:
 * big enough that a plugin behind catches up in few calls, small enough that one
 * call's Python objects stay a few hundred MB at worst. */
#define ENG_MERGE_MAX_JOBS 64
#define ENG_MERGE_MAX_ROWS 200000

/* ---- triggers as the engine runs them ---- */

struct eng_trigger {
    int refs;        /* engine lock: registry + jobs + running calls */
    uint32_t cat_id; /* catalog trigger id; UINT32_MAX for a dry run's */
    uint32_t db_id;
    char *db_name;
    char *name;
    char *plugin; /* relative to the plugin directory */
    engine_spec spec;
    char **arg_keys, **arg_vals;
    uint32_t nargs;
    bool run_async;
    catalog_error_behavior on_error;
    bool enabled;
    bool deleted;
    bool test;      /* a dry run's trigger: not in the registry */
    char *cache_ns; /* the key of its cache namespace */
    /* queue (engine lock) */
    eng_job *head, *tail;
    size_t queued_bytes;
    int running;
    int64_t running_since; /* mono ns of the oldest running call */
    int64_t next_fire_ns;  /* schedule triggers: wall clock */
    bool depth_warned;
};

void eng_trigger_unref(eng_trigger *t); /* engine lock held */

/* ---- one plugin call ---- */

typedef struct eng_write_buf {
    char *db;
    vg_buf lines;
    size_t nlines;
} eng_write_buf;

struct eng_call {
    uint64_t id; /* the handle influxdb3_local carries */
    engine *g;
    eng_trigger *trig;
    eng_job *job;
    bool dry_run;            /* writes are collected, logs go to log_lines */
    unsigned long py_thread; /* CPython thread id, for the timeout exception */
    int64_t started;         /* mono ns */
    int64_t deadline;        /* mono ns */
    atomic_bool cancelled;   /* timeout, shutdown, or the trigger disabled/deleted */
    const char *cancel_why;
    atomic_bool finished;
    int64_t last_kick; /* watchdog: last timeout exception raised */
    /* buffered writes, by database */
    eng_write_buf *writes;
    size_t nwrites;
    size_t write_bytes;
    /* dry run: "INFO: ..." lines, each followed by a NUL */
    vg_buf log_lines;
    /* outcome */
    bool failed;
    vg_buf error; /* the Python traceback or the reason */
    /* request: the response */
    int status;
    vg_buf resp_body;
    vg_buf resp_headers;
    eng_call *next_active; /* engine's list of calls in progress (call lock) */
};

/* ---- workers ---- */

struct eng_worker {
    engine *g;
    pthread_t thread;
    int index;
    bool abandoned; /* stuck past the timeout: a replacement took its place */
    bool exited;
    eng_call *call; /* in progress, or NULL (engine lock) */
};

/* ---- the log ring ---- */

typedef enum eng_level { ENG_INFO = 0, ENG_WARN, ENG_ERROR } eng_level;

typedef struct eng_log_entry {
    int64_t time;
    char *trigger;
    eng_level level;
    char *text;
} eng_log_entry;

/* ---- the engine ---- */

struct engine {
    engine_config cfg;
    char *plugin_dir; /* absolute, resolved */
    int64_t timeout_ns;

    pthread_mutex_t lock;      /* triggers, queues, workers, test jobs */
    pthread_cond_t work_cond;  /* workers: a job may be ready */
    pthread_cond_t space_cond; /* writers: queue room */
    pthread_cond_t sched_cond; /* scheduler: triggers changed or stopping */
    bool stopping;
    eng_trigger **trigs; /* live triggers (registry) */
    uint32_t ntrigs, trigs_cap;
    uint32_t rr;                      /* round-robin start for workers */
    eng_job *adhoc_head, *adhoc_tail; /* dry runs */
    atomic_int wal_triggers;          /* enabled WAL triggers: 0 = the hook returns at once */
    size_t queued_bytes;
    eng_worker **workers;
    uint32_t nworkers, workers_cap;
    uint32_t abandoned;

    pthread_t sched_thread, watchdog_thread;
    bool sched_started, watchdog_started;

    pthread_mutex_t call_lock; /* the list of active calls */
    eng_call *active;

    pthread_mutex_t log_lock;
    eng_log_entry *log;
    uint32_t log_size, log_next, log_count;

    pthread_mutex_t catalog_mutation; /* serialises trigger create/delete/enable */

    void *py; /* py.c's state */
};

/* engine.c */
eng_trigger *eng_trigger_from_catalog(engine *g, const catalog_trigger *ct, const char *db_name,
                                      vg_err *e);
bool eng_registry_add(engine *g, eng_trigger *t); /* engine lock; false: t was freed */
eng_trigger *eng_registry_find(engine *g, uint32_t db_id, const char *name); /* engine lock */
void eng_registry_remove(engine *g, eng_trigger *t);                         /* engine lock */
void eng_enqueue(engine *g, eng_trigger *t, eng_job *j);                     /* engine lock */
void eng_enqueue_adhoc(engine *g, eng_job *j);                               /* engine lock */
void eng_drop_jobs(engine *g, eng_trigger *t);                               /* engine lock */
void eng_job_free(engine *g, eng_job *j);                                    /* engine lock */
void eng_set_enabled(engine *g, eng_trigger *t, bool enabled);               /* engine lock */
void eng_waiter_unref(eng_waiter *w);                                        /* engine lock */
eng_waiter *eng_waiter_new(void);
/* Cancels the calls of a trigger in progress (disable, delete, shutdown). */
void eng_cancel_calls(engine *g, eng_trigger *t, const char *why);
int eng_start_worker(engine *g, vg_err *e); /* engine lock */
/* The depth of the plugin write running on this thread (0 elsewhere). */
int eng_thread_depth(void);

/* sched.c */
int eng_sched_start(engine *g, vg_err *e);
void eng_sched_stop(engine *g);
void eng_sched_compute_next(eng_trigger *t, int64_t now_ns);

/* manage.c: the catalog side of triggers */
int eng_load_triggers(engine *g, vg_err *e);

/* plugins.c */
/* Resolves a plugin name to an absolute path inside the plugin directory; *is_dir
 * for a directory plugin (it must hold __init__.py). VG_EINVAL for a path that leaves
 * the directory, VG_ENOTFOUND when missing. */
int eng_plugin_path(engine *g, const char *name, char **path, bool *is_dir, vg_err *e);
int eng_plugin_check_name(engine *g, const char *name, char **path, vg_err *e);
int eng_register_tables(engine *g, vg_err *e);
int eng_plugin_files_fill(engine *g, query_sys_sink *sink);

/* logs.c */
void eng_log(engine *g, const char *trigger, eng_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void eng_log_text(engine *g, const char *trigger, eng_level level, const char *text, size_t len);
/* An INFO entry for the table only (the server log gets it at debug level): the
 * engine's own "starting execution" / "finished execution" lines. */
void eng_log_quiet(engine *g, const char *trigger, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int eng_log_init(engine *g, vg_err *e);
void eng_log_free(engine *g);
const char *eng_level_name(eng_level l);
/* "1s 234ms 5us" as Rust's humantime prints durations (Core's log lines). */
void eng_format_elapsed(int64_t ns, char *out, size_t n);

/* py.c */
int eng_py_init(engine *g, vg_err *e);
/* Finalises the interpreter unless a run is stuck inside it (then it is left). */
void eng_py_shutdown(engine *g, bool finalize);
/* Worker threads bracket their life with these (a thread state of their own). */
void *eng_py_thread_enter(engine *g);
void eng_py_thread_leave(engine *g, void *state);
/* Runs one call on the calling worker (takes the GIL). The outcome is in call. */
void eng_py_run(eng_call *call);
/* Raises an exception into every cancelled call still running (all: regardless of
 * when it was last raised): the timeout exception for a timeout, KeyboardInterrupt
 * for a cancellation. Takes the GIL, then the call lock. */
void eng_py_interrupt(engine *g, bool all);
/* Drops the plugin-level cache of a trigger (its namespace in cache). */
void eng_py_drop_cache(engine *g, const char *ns);

/* A log line of a call: into the log table, or the dry run's log_lines. */
void eng_call_log(eng_call *c, eng_level level, const char *text, size_t len);

/* The call running on this thread (py.c's API functions find it here). */
eng_call *eng_current_call(void);
void eng_set_current_call(eng_call *c);

#endif /* VIGIL_ENGINE_INT_H */
