/*
 * server/server.c: `vigil serve`. Owns the configuration (flags, each with a VIGIL_*
 * environment variable), start-up (directories, lock, catalog, WAL, buffer, replay,
 * query engine, HTTP), signal handling, and the clean shutdown on SIGINT/SIGTERM.
 *
 * On-disk layout under <data-dir>/<node-id>/:
 *   LOCK            flock()ed while a server runs, so two servers never share a dir
 *   catalog/        the catalog log (catalog/README.md)
 *   wal/            WAL segments (wal/README.md)
 *   dbs/            Parquet files: dbs/<db>-<id>/<table>-<id>/<YYYY-MM-DD>/<HH-MM>/<id>.parquet
 *                   (persist/README.md), the object store's root being <node-id>/
 */
#include "server.h"

#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "persist/persist.h"
#include "query/query.h"
#include "store/store.h"
#include "wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef VIGIL_REVISION
#define VIGIL_REVISION "unknown"
#endif

typedef struct server_config {
    const char *node_id;
    const char *object_store;
    const char *data_dir;
    const char *http_bind;
    const char *max_http_request_size;
    const char *wal_flush_interval;
    const char *wal_compression;
    const char *log_filter;
    const char *max_databases;
    const char *max_tables;
    const char *max_columns_per_table;
    const char *catalog_checkpoint_bytes;
    const char *exec_mem_pool_bytes;
    const char *query_timeout;
    const char *query_log_size;
    const char *gen1_duration;
    const char *max_buffer_bytes;
    const char *row_group_rows;
    const char *compaction_max_file_bytes;
    const char *compaction_min_files;
    const char *compaction_interval;
    const char *compaction_mem_bytes;
    const char *compaction_cold_after;
    const char *hard_delete_default_duration;
    const char *plugin_dir;
    const char *plugin_timeout;
    const char *plugin_workers;
    const char *plugin_queue_size;
    const char *plugin_log_size;
    bool without_auth;
} server_config;

typedef struct flag_def {
    const char *name;
    const char *env;
    const char *dflt; /* NULL for switches */
    size_t offset;    /* into server_config */
    const char *help;
} flag_def;

#define OFF(f) offsetof(server_config, f)
static const flag_def flags[] = {
    {"--node-id", "VIGIL_NODE_ID", "vigil", OFF(node_id),
     "Node identifier; prefixes every path under the data directory"},
    {"--object-store", "VIGIL_OBJECT_STORE", "file", OFF(object_store),
     "Where data lives: 'file' (under --data-dir) or 'memory' (lost at exit)"},
    {"--data-dir", "VIGIL_DATA_DIR", "./data", OFF(data_dir),
     "Data directory for --object-store file"},
    {"--http-bind", "VIGIL_HTTP_BIND", "127.0.0.1:8181", OFF(http_bind),
     "Address the HTTP API listens on (host:port)"},
    {"--max-http-request-size", "VIGIL_MAX_HTTP_REQUEST_SIZE", "10485760",
     OFF(max_http_request_size),
     "Largest request body in bytes (suffixes k, M, G allowed), also after gzip decoding"},
    {"--wal-flush-interval", "VIGIL_WAL_FLUSH_INTERVAL", "0", OFF(wal_flush_interval),
     "Extra time a WAL flush waits to gather concurrent writers (0 = flush as soon as the "
     "previous flush ends; a lone writer never waits)"},
    {"--gen1-duration", "VIGIL_GEN1_DURATION", "10m", OFF(gen1_duration),
     "Width of a time partition: buffered rows are written to Parquet when their "
     "partition closes (each file holds one partition; rows of an already closed day "
     "loaded in bulk are written as one file per day, or a few)"},
    {"--max-buffer-bytes", "VIGIL_MAX_BUFFER_BYTES", "25%", OFF(max_buffer_bytes),
     "Write-buffer memory that triggers a snapshot to Parquet (bytes with k/M/G, or a "
     "percentage of RAM)"},
    {"--parquet-row-group-rows", "VIGIL_PARQUET_ROW_GROUP_ROWS", "131072", OFF(row_group_rows),
     "Rows per row group in the Parquet files Vigil writes"},
    {"--compaction-max-file-bytes", "VIGIL_COMPACTION_MAX_FILE_BYTES", "100M",
     OFF(compaction_max_file_bytes),
     "Compaction merges a day's Parquet files of a table into files of about this size"},
    {"--compaction-min-files", "VIGIL_COMPACTION_MIN_FILES", "10", OFF(compaction_min_files),
     "A day is compacted once it has this many files, even while it still receives "
     "new ones (a closed day with two or more once it is cold: --compaction-cold-after)"},
    {"--compaction-cold-after", "VIGIL_COMPACTION_COLD_AFTER", "30s", OFF(compaction_cold_after),
     "Background compaction merges a closed day's files once the day has received no new "
     "file for this long, so a day still filling is not rewritten after every snapshot "
     "(POST /api/v3/compact does not wait)"},
    {"--compaction-mem-bytes", "VIGIL_COMPACTION_MEM_BYTES", "256M", OFF(compaction_mem_bytes),
     "Memory of one compaction merge: it streams its input files, holding one decoded row "
     "group of each, so a day's files are merged in groups whose row groups fit (files "
     "come out smaller than --compaction-max-file-bytes when this binds first)"},
    {"--compaction-interval", "VIGIL_COMPACTION_INTERVAL", "10s", OFF(compaction_interval),
     "How often background compaction (a thread of its own, at a lower CPU priority than "
     "ingest and snapshots) looks for days to merge, besides after each snapshot (0 = "
     "never in the background; POST /api/v3/compact still works)"},
    {"--hard-delete-default-duration", "VIGIL_HARD_DELETE_DEFAULT_DURATION", "72h",
     OFF(hard_delete_default_duration),
     "How long after a delete (hard_delete_at=default, the default) the files of a deleted "
     "database or table are removed"},
    {"--wal-compression", "VIGIL_WAL_COMPRESSION", "none", OFF(wal_compression),
     "Compress WAL records: 'none' or 'lz4' (about half the WAL bytes, some CPU)"},
    {"--log-filter", "VIGIL_LOG_FILTER", "info", OFF(log_filter),
     "Log level, with optional per-module levels, e.g. 'info,wal=debug'"},
    {"--max-databases", "VIGIL_MAX_DATABASES", "10000", OFF(max_databases),
     "Most live databases (InfluxDB 3 Core: 5)"},
    {"--max-tables", "VIGIL_MAX_TABLES", "1000000", OFF(max_tables),
     "Most tables over all databases (Core: 2000)"},
    {"--max-columns-per-table", "VIGIL_MAX_COLUMNS_PER_TABLE", "10000",
     OFF(max_columns_per_table), "Most columns per table, including time (Core: 500)"},
    {"--catalog-checkpoint-bytes", "VIGIL_CATALOG_CHECKPOINT_BYTES", "8M",
     OFF(catalog_checkpoint_bytes),
     "The catalog log is rewritten as a compact image of the catalog once it is bigger than "
     "this and 4 times its last image (bytes, suffixes k, M, G)"},
    {"--exec-mem-pool-bytes", "VIGIL_EXEC_MEM_POOL_BYTES", "20%", OFF(exec_mem_pool_bytes),
     "Memory one query may use, in bytes (suffixes k, M, G) or as a percentage of RAM "
     "(e.g. 20%); a query over it fails, the server and other queries go on"},
    {"--query-timeout", "VIGIL_QUERY_TIMEOUT", "0", OFF(query_timeout),
     "Longest a query may run, e.g. 30s or 5m (0 = no limit); a query over it fails"},
    {"--query-log-size", "VIGIL_QUERY_LOG_SIZE", "1000", OFF(query_log_size),
     "Finished queries remembered in system.queries"},
    {"--plugin-dir", "VIGIL_PLUGIN_DIR", "", OFF(plugin_dir),
     "Directory of Python plugins; turns the processing engine on (off when empty)"},
    {"--plugin-timeout", "VIGIL_PLUGIN_TIMEOUT", "60s", OFF(plugin_timeout),
     "Longest one plugin call may run; past it the plugin is interrupted and the call "
     "fails (the trigger's error behavior applies)"},
    {"--plugin-workers", "VIGIL_PLUGIN_WORKERS", "2", OFF(plugin_workers),
     "Threads that run plugin calls (Python runs one at a time; more threads let calls "
     "that wait on queries or writes overlap)"},
    {"--plugin-queue-size", "VIGIL_PLUGIN_QUEUE_SIZE", "256M", OFF(plugin_queue_size),
     "Bytes of written rows waiting for write triggers; past it writers wait for "
     "plugins to catch up (bytes, suffixes k, M, G)"},
    {"--plugin-log-size", "VIGIL_PLUGIN_LOG_SIZE", "10000", OFF(plugin_log_size),
     "Entries kept in system.processing_engine_logs"},
    {"--without-auth", "VIGIL_WITHOUT_AUTH", NULL, OFF(without_auth),
     "Accept requests without a token (tokens are not implemented yet, so this is the only "
     "mode today)"},
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static void usage(FILE *f)
{
    fprintf(f, "Usage: vigil serve [OPTIONS]\n\n"
               "Runs the Vigil server: line-protocol writes over HTTP (InfluxDB v1, v2 and v3\n"
               "write APIs), a durable WAL, a columnar write buffer, SQL queries\n"
               "(/api/v3/query_sql), and Python plugins (--plugin-dir).\n\nOptions:\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        const flag_def *d = &flags[i];
        fprintf(f, "  %s%s\n      %s\n      [env: %s]%s%s%s\n", d->name, d->dflt ? " <VALUE>" : "",
                d->help, d->env, d->dflt ? " [default: " : "", d->dflt ? d->dflt : "",
                d->dflt ? "]" : "");
    }
    fprintf(f, "  -h, --help\n      Print this help\n");
}

static const flag_def *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, arg, len) == 0)
            return &flags[i];
    return NULL;
}

static void set_flag(server_config *c, const flag_def *d, const char *value)
{
    char *base = (char *)c;
    if (!d->dflt) {
        bool on = !value || strcmp(value, "") == 0 || strcmp(value, "true") == 0 ||
                  strcmp(value, "1") == 0;
        memcpy(base + d->offset, &on, sizeof on);
    } else {
        memcpy(base + d->offset, &value, sizeof value);
    }
}

/* Defaults, then environment, then command line. Returns 0, 1 for --help, -1 error. */
static int parse_flags(int argc, char **argv, server_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NFLAGS; i++) {
        if (flags[i].dflt)
            set_flag(c, &flags[i], flags[i].dflt);
        const char *env = getenv(flags[i].env);
        if (env)
            set_flag(c, &flags[i], env);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const flag_def *d = find_flag(a, len);
        if (!d) {
            fprintf(stderr, "error: unknown option '%.*s' for 'vigil serve'\n"
                            "Run 'vigil serve --help' for the list of options.\n",
                    (int)len, a);
            return -1;
        }
        if (!d->dflt) {
            set_flag(c, d, eq ? eq + 1 : NULL);
            continue;
        }
        if (!eq && i + 1 >= argc) {
            fprintf(stderr, "error: option '%s' needs a value\n", d->name);
            return -1;
        }
        set_flag(c, d, eq ? eq + 1 : argv[++i]);
    }
    return 0;
}

/* Parses a byte size with an optional k/M/G (binary) suffix. */
static int parse_size(const char *s, const char *flag, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024;
    else if (*end == 'M' || *end == 'm')
        mult = 1024 * 1024;
    else if (*end == 'G' || *end == 'g')
        mult = 1024ull * 1024 * 1024;
    if (mult != 1)
        end++;
    if (*end == 'i' && mult != 1)
        end++;
    if (*end == 'B')
        end++;
    if (errno || end == s || *end || v == 0 || v > (SIZE_MAX / mult) || s[0] == '-') {
        fprintf(stderr, "error: invalid value '%s' for %s: expected a positive number of bytes\n",
                s, flag);
        return -1;
    }
    *out = (size_t)(v * mult);
    return 0;
}

/* A byte size, or a percentage of physical memory ("20%", as Core takes it). */
static int parse_mem_size(const char *s, const char *flag, size_t *out)
{
    size_t len = strlen(s);
    if (len == 0 || s[len - 1] != '%')
        return parse_size(s, flag, out);
    char *end;
    errno = 0;
    double pct = strtod(s, &end);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (errno || end != s + len - 1 || !(pct > 0 && pct <= 100) || pages <= 0 || page <= 0) {
        fprintf(stderr, "error: invalid value '%s' for %s: expected bytes (e.g. 512M) or a "
                        "percentage of RAM between 0%% and 100%% (e.g. 20%%)\n",
                s, flag);
        return -1;
    }
    double bytes = (double)pages * (double)page * pct / 100.0;
    *out = bytes < 1 ? 1 : (size_t)bytes;
    return 0;
}

static int parse_u32(const char *s, const char *flag, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > UINT32_MAX || s[0] == '-') {
        fprintf(stderr, "error: invalid value '%s' for %s: expected a positive integer\n", s,
                flag);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* ---- the running server ---- */

typedef struct server {
    server_config cfg;
    char *root;     /* <data-dir>/<node-id> */
    char *mem_dir;  /* temp dir for --object-store memory */
    int lock_fd;
    catalog *cat;
    wal *wal;
    buffer *buf;
    ingest *ig;
    store *store;
    persist *persist;
    int64_t gen1_ns;
    size_t max_buffer_bytes;
    uint32_t row_group_rows;
    size_t compaction_max_file_bytes;
    uint32_t compaction_min_files;
    size_t compaction_mem_bytes;
    int64_t compaction_interval_ns;
    int64_t compaction_cold_ns;
    int64_t hard_delete_default_ns;
    int64_t last_compaction_ns;
    uint64_t snapshots_done; /* atomic: the compaction thread looks after each one */
    pthread_t compactor;
    bool compactor_started;
    int64_t last_partition; /* gen1 partition of the clock at the last snapshot */
    pthread_t persister;
    bool persister_started;
    uint64_t ticks;
    query_engine *query;
    engine *engine;
    http_server *http;
    pthread_t ticker;
    bool ticker_started;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick_cond;
    bool stopping;
    bool started; /* start-up completed: the shutdown snapshot may run */
} server;

/* How often background work runs: makes `no_sync` writes durable within this time
 * even when no other writer forces a WAL flush (Core flushes its WAL every 1 s). */
#define TICK_NS (100 * VG_NS_PER_MS)

/* Waits one tick (or less, when the server starts stopping); false once stopping. */
static bool next_tick(server *s)
{
    pthread_mutex_lock(&s->tick_lock);
    if (!s->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + TICK_NS;
        ts.tv_sec += ns / VG_NS_PER_SEC;
        ts.tv_nsec = ns % VG_NS_PER_SEC;
        pthread_cond_timedwait(&s->tick_cond, &s->tick_lock, &ts);
    }
    bool go = !s->stopping;
    pthread_mutex_unlock(&s->tick_lock);
    return go;
}

static void *ticker_main(void *arg)
{
    server *s = arg;
    pthread_setname_np(pthread_self(), "vigil-wal-flush"); /* top -H, perf, gdb */
    while (next_tick(s)) {
        uint64_t last = wal_last_seq(s->wal);
        vg_err e;
        if (last > wal_durable_seq(s->wal) && wal_sync(s->wal, last, &e) != VG_OK)
            VG_ERROR("server", "background WAL flush failed: %s", e.msg);
    }
    return NULL;
}

static int start_ticker(server *s, vg_err *e)
{
    pthread_mutex_init(&s->tick_lock, NULL);
    pthread_cond_init(&s->tick_cond, NULL);
    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0)
        return vg_err_set(e, VG_EIO, "cannot start the background thread");
    s->ticker_started = true;
    return VG_OK;
}

static void stop_ticker(server *s)
{
    if (!s->ticker_started)
        return;
    pthread_mutex_lock(&s->tick_lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->tick_cond);
    pthread_mutex_unlock(&s->tick_lock);
    pthread_join(s->ticker, NULL);
    if (s->persister_started)
        pthread_join(s->persister, NULL);
    if (s->compactor_started) {
        persist_compact_stop(s->persist); /* returns after the group it is merging */
        pthread_join(s->compactor, NULL);
    }
    pthread_mutex_destroy(&s->tick_lock);
    pthread_cond_destroy(&s->tick_cond);
}

/* ---- snapshots in the background ---- */

/* A snapshot is due when the clock entered a new gen1 partition since the last one
 * (the buffered rows' partition closed) or when the buffer outgrew its budget. */
static bool snapshot_due(server *s)
{
    if (buffer_mem_bytes(s->buf) > s->max_buffer_bytes)
        return true;
    int64_t part = vg_now_ns() / s->gen1_ns;
    if (part == s->last_partition)
        return false;
    if (wal_last_seq(s->wal) <= catalog_persisted_seq(s->cat)) {
        s->last_partition = part; /* nothing written since */
        return false;
    }
    return true;
}

/* Expired files, files of hard-deleted databases and tables, and deletes no file
 * needs any more are looked for every second. */
#define RETENTION_TICKS 10

static void *persister_main(void *arg)
{
    server *s = arg;
    pthread_setname_np(pthread_self(), "vigil-snapshot"); /* top -H, perf, gdb */
    while (next_tick(s)) {
        if (++s->ticks % RETENTION_TICKS == 0) {
            uint64_t removed;
            vg_err e;
            vg_err_clear(&e);
            if (persist_apply_retention(s->persist, vg_now_ns(), &removed, &e) != VG_OK)
                VG_WARN("server", "retention clean-up failed: %s", e.msg);
            vg_err_clear(&e);
            if (persist_purge(s->persist, vg_now_ns(), NULL, &e) != VG_OK)
                VG_WARN("server", "clean-up of deleted data failed: %s", e.msg);
        }
        if (snapshot_due(s)) {
            int64_t part = vg_now_ns() / s->gen1_ns;
            vg_err e;
            vg_err_clear(&e);
            if (persist_snapshot(s->persist, NULL, &e) == VG_OK) {
                s->last_partition = part;
                __atomic_add_fetch(&s->snapshots_done, 1, __ATOMIC_RELAXED);
            } else {
                vg_sleep_ns(VG_NS_PER_SEC); /* logged by persist; retry a little later */
            }
        }
    }
    return NULL;
}

/* ---- compaction in the background ---- */

/* The compaction thread's nice value: under CPU contention ingest and snapshots (nice
 * 0) get about three times its share, so a merge never holds back the writers or the
 * snapshot that bounds the buffer; an idle CPU still runs it at full speed. */
#define COMPACTION_NICE 5

static void lower_thread_priority(void)
{
    /* Linux: setpriority on a thread id affects that thread only */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), COMPACTION_NICE) != 0)
        VG_WARN("server", "cannot lower the compaction thread's priority: %s", strerror(errno));
}

/* Every --compaction-interval, and after each snapshot, merges the days that are due
 * (persist_compact_due: cold closed days, days with --compaction-min-files files). */
static void *compactor_main(void *arg)
{
    server *s = arg;
    pthread_setname_np(pthread_self(), "vigil-compact"); /* top -H, perf, gdb */
    lower_thread_priority();
    uint64_t seen = 0;
    while (next_tick(s)) {
        uint64_t done = __atomic_load_n(&s->snapshots_done, __ATOMIC_RELAXED);
        int64_t now_mono = vg_mono_ns();
        if (done == seen && now_mono - s->last_compaction_ns < s->compaction_interval_ns)
            continue;
        seen = done;
        s->last_compaction_ns = now_mono;
        vg_err e;
        vg_err_clear(&e);
        persist_compact_due(s->persist, vg_now_ns(), NULL, &e); /* logs its own failure */
    }
    return NULL;
}

static int start_persister(server *s, vg_err *e)
{
    s->last_partition = vg_now_ns() / s->gen1_ns;
    s->last_compaction_ns = vg_mono_ns();
    if (pthread_create(&s->persister, NULL, persister_main, s) != 0)
        return vg_err_set(e, VG_EIO, "cannot start the snapshot thread");
    s->persister_started = true;
    if (s->compaction_interval_ns <= 0)
        return VG_OK;
    if (pthread_create(&s->compactor, NULL, compactor_main, s) != 0)
        return vg_err_set(e, VG_EIO, "cannot start the compaction thread");
    s->compactor_started = true;
    return VG_OK;
}

static int seal_buffer(void *ctx, buffer_chunk ***chunks, size_t *n, uint64_t *wal_seq, vg_err *e)
{
    return ingest_seal(ctx, chunks, n, wal_seq, e);
}

static int delete_buffered(void *ctx, const catalog_tombstone *t, uint64_t *wal_seq,
                           uint64_t *buffered_rows, vg_err *e)
{
    return ingest_delete_rows(ctx, t, wal_seq, buffered_rows, e);
}

static int open_persist(server *s, vg_err *e)
{
    int rc = store_open(s->root, &s->store, e);
    if (rc != VG_OK)
        return rc;
    persist_config pc = {.cat = s->cat, .wal = s->wal, .buf = s->buf, .store = s->store,
                         .seal = seal_buffer, .seal_ctx = s->ig, .delete_rows = delete_buffered,
                         .delete_ctx = s->ig, .gen1_ns = s->gen1_ns,
                         .row_group_rows = s->row_group_rows,
                         .compaction_max_file_bytes = s->compaction_max_file_bytes,
                         .compaction_min_files = s->compaction_min_files,
                         .compaction_mem_bytes = s->compaction_mem_bytes,
                         .compaction_cold_ns = s->compaction_cold_ns};
    return persist_open(&pc, &s->persist, e);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int lock_root(server *s, vg_err *e)
{
    char *path = vg_path_join(s->root, "LOCK");
    if (!path)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int rc = VG_OK;
    if (s->lock_fd < 0)
        rc = vg_err_errno(e, VG_EIO, errno, "cannot open %s", path);
    else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0)
        rc = vg_err_set(e, VG_EIO,
                        "%s is locked: another vigil server is using this data directory", path);
    vg_free(path);
    return rc;
}

static int open_storage(server *s, const catalog_limits *lim, int64_t flush_ns, vg_err *e)
{
    char *cat_dir = vg_path_join(s->root, "catalog");
    char *wal_dir = vg_path_join(s->root, "wal");
    int rc = VG_ENOMEM;
    if (!cat_dir || !wal_dir) {
        vg_err_set(e, VG_ENOMEM, "out of memory");
        goto out;
    }
    rc = vg_mkdir_p(cat_dir, e);
    if (rc == VG_OK)
        rc = catalog_open(cat_dir, lim, &s->cat, e);
    if (rc != VG_OK)
        goto out;
    /* WAL sequences continue after what the catalog says is persisted, even when a
     * snapshot deleted every segment. */
    wal_options wo = {.dir = wal_dir, .flush_interval_ns = flush_ns,
                      .min_next_seq = catalog_persisted_seq(s->cat) + 1};
    rc = wal_open(&wo, &s->wal, e);
    if (rc != VG_OK)
        goto out;
    s->buf = buffer_new(NULL);
    if (!s->buf) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory creating the write buffer");
        goto out;
    }
    ingest_config ic = {.cat = s->cat, .wal = s->wal, .buf = s->buf,
                        .compress_wal = strcmp(s->cfg.wal_compression, "lz4") == 0,
                        /* writers wait past 1.5x the snapshot trigger (bench/README.md,
                         * sustained: the memory bound) */
                        .buffer_hard_limit = s->max_buffer_bytes + s->max_buffer_bytes / 2};
    rc = ingest_new(&ic, &s->ig, e);
    if (rc == VG_OK)
        rc = open_persist(s, e);
out:
    vg_free(cat_dir);
    vg_free(wal_dir);
    return rc;
}

static int replay(server *s, vg_err *e)
{
    int64_t t0 = vg_mono_ns();
    uint64_t records = 0;
    int rc = ingest_replay(s->ig, &records, e);
    if (rc == VG_OK)
        VG_INFO("server", "replayed %llu WAL record(s) in %.1f ms", (unsigned long long)records,
                (double)(vg_mono_ns() - t0) / 1e6);
    return rc;
}

/* A clean shutdown persists the buffer, so the next start replays nothing. */
static void final_snapshot(server *s)
{
    if (!s->persist || !s->ig)
        return;
    vg_err e;
    vg_err_clear(&e);
    if (persist_snapshot(s->persist, NULL, &e) != VG_OK)
        VG_WARN("server", "shutdown snapshot failed (the WAL keeps the rows): %s", e.msg);
}

static void stop_server(server *s)
{
    engine_stop(s->engine); /* no request waits on a plugin while HTTP stops */
    http_stop(s->http);     /* no query runs past this */
    engine_free(s->engine); /* plugins query and write: before both go */
    query_engine_free(s->query);
    stop_ticker(s);
    if (s->started)
        final_snapshot(s);
    persist_close(s->persist);
    store_close(s->store);
    ingest_free(s->ig);
    wal_close(s->wal); /* writes and syncs anything still pending */
    buffer_free(s->buf);
    catalog_close(s->cat);
    if (s->lock_fd > 0)
        close(s->lock_fd);
    if (s->mem_dir) {
        nftw(s->mem_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        vg_free(s->mem_dir);
    }
    vg_free(s->root);
}

static int make_root(server *s, vg_err *e)
{
    const char *dir = s->cfg.data_dir;
    char tmpl[] = "/tmp/vigil-memory-XXXXXX";
    if (strcmp(s->cfg.object_store, "memory") == 0) {
        if (!mkdtemp(tmpl))
            return vg_err_errno(e, VG_EIO, errno, "cannot create a scratch directory");
        s->mem_dir = vg_strdup(tmpl);
        dir = tmpl;
    }
    s->root = vg_path_join(dir, s->cfg.node_id);
    if (!s->root)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    return vg_mkdir_p(s->root, e);
}

static int validate_node_id(const char *id, vg_err *e)
{
    if (!*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return vg_err_set(e, VG_EINVAL,
                          "invalid --node-id '%s': must be non-empty and contain no '/'", id);
    return VG_OK;
}

/* The processing engine, when --plugin-dir is given. */
static int start_engine(server *s, const engine_config *ec, vg_err *e)
{
    if (!ec->plugin_dir)
        return VG_OK;
    engine_config c = *ec;
    c.cat = s->cat;
    c.ingest = s->ig;
    c.query = s->query;
    int rc = engine_new(&c, &s->engine, e);
    if (rc == VG_OK)
        ingest_set_batch_hook(s->ig, engine_on_batch, s->engine);
    return rc;
}

/* ---- GET /metrics ---- */

static void metric(vg_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    vg_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  (unsigned long long)v);
}

/* Resident set size from /proc/self/statm (its second field, in pages); 0 if unreadable. */
static uint64_t resident_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* What an operator watches: memory against its bounds (docs/server.md "Memory"),
 * the WAL against what is persisted, files, and ingest totals. */
static void write_metrics(void *ctx, vg_buf *b)
{
    server *s = ctx;
    ingest_stats is;
    persist_stats ps;
    ingest_get_stats(s->ig, &is);
    persist_get_stats(s->persist, &ps);
    metric(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           resident_bytes());
    metric(b, "vigil_memory_allocated_bytes", "gauge",
           "Bytes the server has allocated (its own count, as the memory limits see it).",
           vg_mem_used());
    metric(b, "vigil_write_buffer_bytes", "gauge", "Bytes held by the in-memory write buffer.",
           buffer_mem_bytes(s->buf));
    metric(b, "vigil_write_buffer_limit_bytes", "gauge",
           "--max-buffer-bytes: a snapshot starts above it, writers wait above 1.5 times it.",
           s->max_buffer_bytes);
    metric(b, "vigil_wal_last_sequence", "gauge", "Sequence number of the last WAL record.",
           wal_last_seq(s->wal));
    metric(b, "vigil_wal_persisted_sequence", "gauge",
           "Last WAL record whose rows are in Parquet files.", catalog_persisted_seq(s->cat));
    metric(b, "vigil_snapshots_total", "counter", "Snapshots taken since start.", ps.snapshots);
    metric(b, "vigil_parquet_files", "gauge", "Live Parquet files.", ps.files);
    metric(b, "vigil_parquet_bytes", "gauge", "Bytes of the live Parquet files.", ps.bytes);
    metric(b, "vigil_write_requests_total", "counter", "Write requests since start.", is.requests);
    metric(b, "vigil_write_lines_total", "counter", "Lines written since start.", is.lines);
    metric(b, "vigil_write_rejected_lines_total", "counter", "Lines rejected since start.",
           is.rejected_lines);
    metric(b, "vigil_write_bytes_total", "counter", "Line protocol bytes received since start.",
           is.bytes);
}


static int start(server *s, const catalog_limits *lim, int64_t flush_ns, size_t max_body,
                 const query_options *qo, const engine_config *ec, vg_err *e)
{
    int rc = validate_node_id(s->cfg.node_id, e);
    if (rc == VG_OK)
        rc = make_root(s, e);
    if (rc == VG_OK)
        rc = lock_root(s, e);
    if (rc == VG_OK)
        rc = open_storage(s, lim, flush_ns, e);
    if (rc == VG_OK)
        rc = replay(s, e);
    if (rc == VG_OK)
        rc = start_ticker(s, e);
    if (rc == VG_OK)
        rc = start_persister(s, e);
    if (rc == VG_OK)
        rc = query_engine_new(s->cat, s->buf, qo, &s->query, e);
    if (rc == VG_OK)
        rc = start_engine(s, ec, e);
    if (rc != VG_OK)
        return rc;
    query_engine_set_persist(s->query, s->persist);
    s->started = true;
    http_config hc = {.bind = s->cfg.http_bind, .max_request_bytes = max_body, .cat = s->cat,
                      .ingest = s->ig, .query = s->query, .persist = s->persist,
                      .hard_delete_default_ns = s->hard_delete_default_ns, .engine = s->engine,
                      .version = VIGIL_VERSION, .revision = VIGIL_REVISION,
                      .metrics = write_metrics, .metrics_ctx = s};
    return http_start(&hc, &s->http, e);
}

/* Blocks the shutdown signals in every thread; the main thread sigwait()s them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int check_query_config(const server_config *c, query_options *qo)
{
    vg_err e;
    memset(qo, 0, sizeof *qo);
    if (parse_mem_size(c->exec_mem_pool_bytes, "--exec-mem-pool-bytes", &qo->mem_budget_bytes) ||
        parse_u32(c->query_log_size, "--query-log-size", &qo->query_log_size))
        return -1;
    if (vg_parse_duration(c->query_timeout, strlen(c->query_timeout), &qo->timeout_ns, &e)) {
        fprintf(stderr, "error: --query-timeout: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int check_engine_config(const server_config *c, engine_config *ec)
{
    vg_err e;
    memset(ec, 0, sizeof *ec);
    ec->plugin_dir = c->plugin_dir && *c->plugin_dir ? c->plugin_dir : NULL;
    if (vg_parse_duration(c->plugin_timeout, strlen(c->plugin_timeout), &ec->plugin_timeout_ns,
                          &e) != VG_OK) {
        fprintf(stderr, "error: --plugin-timeout: %s\n", e.msg);
        return -1;
    }
    if (ec->plugin_timeout_ns <= 0) {
        fprintf(stderr, "error: --plugin-timeout must be longer than zero\n");
        return -1;
    }
    if (parse_u32(c->plugin_workers, "--plugin-workers", &ec->workers) ||
        parse_size(c->plugin_queue_size, "--plugin-queue-size", &ec->queue_bytes) ||
        parse_u32(c->plugin_log_size, "--plugin-log-size", &ec->log_size))
        return -1;
    if (ec->workers > 64) {
        fprintf(stderr, "error: --plugin-workers: at most 64\n");
        return -1;
    }
    return 0;
}

static int check_config(const server_config *c, catalog_limits *lim, int64_t *flush_ns,
                        size_t *max_body)
{
    vg_err e;
    if (strcmp(c->object_store, "file") != 0 && strcmp(c->object_store, "memory") != 0) {
        fprintf(stderr, "error: invalid value '%s' for --object-store: expected 'file' or "
                        "'memory'\n",
                c->object_store);
        return -1;
    }
    if (strcmp(c->wal_compression, "none") != 0 && strcmp(c->wal_compression, "lz4") != 0) {
        fprintf(stderr, "error: invalid value '%s' for --wal-compression: expected 'none' or "
                        "'lz4'\n",
                c->wal_compression);
        return -1;
    }
    if (vg_log_set_filter(c->log_filter, &e) != VG_OK) {
        fprintf(stderr, "error: %s\n", e.msg);
        return -1;
    }
    if (vg_parse_duration(c->wal_flush_interval, strlen(c->wal_flush_interval), flush_ns, &e)) {
        fprintf(stderr, "error: --wal-flush-interval: %s\n", e.msg);
        return -1;
    }
    size_t ckpt_bytes;
    if (parse_size(c->max_http_request_size, "--max-http-request-size", max_body) ||
        parse_size(c->catalog_checkpoint_bytes, "--catalog-checkpoint-bytes", &ckpt_bytes) ||
        parse_u32(c->max_databases, "--max-databases", &lim->max_databases) ||
        parse_u32(c->max_tables, "--max-tables", &lim->max_tables) ||
        parse_u32(c->max_columns_per_table, "--max-columns-per-table",
                  &lim->max_columns_per_table))
        return -1;
    if (lim->max_columns_per_table < 2) {
        fprintf(stderr, "error: --max-columns-per-table must be at least 2 (time and a field)\n");
        return -1;
    }
    lim->checkpoint_floor_bytes = ckpt_bytes;
    return 0;
}

static int check_persist_config(server *s)
{
    vg_err e;
    const server_config *c = &s->cfg;
    if (vg_parse_duration(c->gen1_duration, strlen(c->gen1_duration), &s->gen1_ns, &e)) {
        fprintf(stderr, "error: --gen1-duration: %s\n", e.msg);
        return -1;
    }
    if (s->gen1_ns < VG_NS_PER_SEC) {
        fprintf(stderr, "error: --gen1-duration must be at least 1s\n");
        return -1;
    }
    if (parse_mem_size(c->max_buffer_bytes, "--max-buffer-bytes", &s->max_buffer_bytes) ||
        parse_u32(c->row_group_rows, "--parquet-row-group-rows", &s->row_group_rows) ||
        parse_size(c->compaction_max_file_bytes, "--compaction-max-file-bytes",
                   &s->compaction_max_file_bytes) ||
        parse_u32(c->compaction_min_files, "--compaction-min-files", &s->compaction_min_files) ||
        parse_mem_size(c->compaction_mem_bytes, "--compaction-mem-bytes", &s->compaction_mem_bytes))
        return -1;
    if (vg_parse_duration(c->compaction_interval, strlen(c->compaction_interval),
                          &s->compaction_interval_ns, &e)) {
        fprintf(stderr, "error: --compaction-interval: %s\n", e.msg);
        return -1;
    }
    if (vg_parse_duration(c->compaction_cold_after, strlen(c->compaction_cold_after),
                          &s->compaction_cold_ns, &e)) {
        fprintf(stderr, "error: --compaction-cold-after: %s\n", e.msg);
        return -1;
    }
    if (vg_parse_duration(c->hard_delete_default_duration,
                          strlen(c->hard_delete_default_duration), &s->hard_delete_default_ns,
                          &e)) {
        fprintf(stderr, "error: --hard-delete-default-duration: %s\n", e.msg);
        return -1;
    }
    if (s->compaction_min_files < 2) {
        fprintf(stderr, "error: --compaction-min-files must be at least 2\n");
        return -1;
    }
    if (s->row_group_rows < 1 || s->row_group_rows > (1u << 24)) {
        fprintf(stderr, "error: --parquet-row-group-rows must be between 1 and 16777216\n");
        return -1;
    }
    return 0;
}

int server_serve_main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    int pr = parse_flags(argc, argv, &s.cfg);
    if (pr != 0) {
        if (pr > 0)
            usage(stdout);
        return pr > 0 ? 0 : 2;
    }
    catalog_limits lim;
    int64_t flush_ns;
    size_t max_body;
    query_options qo;
    engine_config ec;
    if (check_config(&s.cfg, &lim, &flush_ns, &max_body) != 0 ||
        check_query_config(&s.cfg, &qo) != 0 || check_persist_config(&s) != 0 ||
        check_engine_config(&s.cfg, &ec) != 0)
        return 2;
    /* glibc raises its mmap threshold each time a big block is freed, after which
     * the buffer's chunk vectors (hundreds of KiB each, freed after every snapshot)
     * come from heap arenas that fragment and never shrink: RSS then grows far past
     * --max-buffer-bytes. A fixed threshold keeps big blocks in mmap, returned to
     * the system when freed; few arenas keep per-thread slack small. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_ARENA_MAX, 4);
    sigset_t set;
    block_signals(&set);
    vg_err e;
    if (start(&s, &lim, flush_ns, max_body, &qo, &ec, &e) != VG_OK) {
        VG_ERROR("server", "cannot start: %s", e.msg);
        stop_server(&s);
        return 1;
    }
    VG_INFO("server", "Vigil %s listening on http://%s (node %s, object store %s, data in %s)",
            VIGIL_VERSION, s.cfg.http_bind, s.cfg.node_id, s.cfg.object_store, s.root);
    int sig = 0;
    sigwait(&set, &sig);
    VG_INFO("server", "received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    stop_server(&s);
    VG_INFO("server", "stopped cleanly");
    return 0;
}
