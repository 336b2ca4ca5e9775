/* engine/logs.c: plugin logs and the engine's system tables.
 *
 * Owns the ring of log entries behind system.processing_engine_logs (the most recent
 * --plugin-log-size entries, in memory, as in Core), the copy of each entry in the
 * server log, and the fill functions of system.processing_engine_logs,
 * system.processing_engine_triggers, system.processing_engine_trigger_arguments and
 * system.plugin_files, which the query engine calls when a query scans them. */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

const char *eng_level_name(eng_level l)
{
    switch (l) {
    case ENG_WARN: return "WARN";
    case ENG_ERROR: return "ERROR";
    default: return "INFO";
    }
}

int eng_log_init(engine *g, vg_err *e)
{
    g->log_size = g->cfg.log_size;
    g->log = vg_calloc(g->log_size, sizeof *g->log);
    if (!g->log)
        return vg_err_set(e, VG_ENOMEM, "out of memory for the plugin log");
    return VG_OK;
}

void eng_log_free(engine *g)
{
    for (uint32_t i = 0; g->log && i < g->log_size; i++) {
        vg_free(g->log[i].trigger);
        vg_free(g->log[i].text);
    }
    vg_free(g->log);
    g->log = NULL;
}

static void log_entry(engine *g, const char *trigger, eng_level level, const char *text, size_t len,
                      vg_log_level sl)
{
    if (len > ENG_LOG_TEXT_MAX) {
        len = ENG_LOG_TEXT_MAX;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--; /* cut on a UTF-8 character boundary */
    }
    if (vg_log_enabled(sl, ENG_MOD))
        vg_log(sl, ENG_MOD, "processing engine: [%s] %.*s", trigger, (int)len, text);
    char *t = vg_strdup(trigger), *x = vg_strndup(text, len);
    if (!t || !x) {
        vg_free(t);
        vg_free(x);
        return;
    }
    pthread_mutex_lock(&g->log_lock);
    eng_log_entry *en = &g->log[g->log_next];
    vg_free(en->trigger);
    vg_free(en->text);
    *en = (eng_log_entry){vg_now_ns(), t, level, x};
    g->log_next = (g->log_next + 1) % g->log_size;
    if (g->log_count < g->log_size)
        g->log_count++;
    pthread_mutex_unlock(&g->log_lock);
}

static vg_log_level server_level(eng_level level)
{
    return level == ENG_ERROR ? VG_LOG_ERROR : level == ENG_WARN ? VG_LOG_WARN : VG_LOG_INFO;
}

void eng_log_text(engine *g, const char *trigger, eng_level level, const char *text, size_t len)
{
    log_entry(g, trigger, level, text, len, server_level(level));
}

void eng_log_quiet(engine *g, const char *trigger, const char *fmt, ...)
{
    vg_buf b;
    vg_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!b.oom)
        log_entry(g, trigger, ENG_INFO, b.data ? b.data : "", b.len, VG_LOG_DEBUG);
    vg_buf_free(&b);
}

void eng_log(engine *g, const char *trigger, eng_level level, const char *fmt, ...)
{
    vg_buf b;
    vg_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!b.oom)
        eng_log_text(g, trigger, level, b.data ? b.data : "", b.len);
    vg_buf_free(&b);
}

void eng_format_elapsed(int64_t ns, char *out, size_t n)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } units[] = {
        {86400LL * VG_NS_PER_SEC, "d"},
        {3600LL * VG_NS_PER_SEC, "h"},
        {60LL * VG_NS_PER_SEC, "m"},
        {VG_NS_PER_SEC, "s"},
        {VG_NS_PER_MS, "ms"},
        {VG_NS_PER_US, "us"},
        {1, "ns"},
    };
    size_t k = 0;
    out[0] = '\0';
    if (ns <= 0) {
        snprintf(out, n, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && k < n; i++) {
        int64_t q = ns / units[i].ns;
        ns %= units[i].ns;
        if (q)
            k += (size_t)snprintf(out + k, n - k, "%s%lld%s", k ? " " : "", (long long)q,
                                  units[i].unit);
    }
}

/* ---- system tables ---- */

static const query_sys_column log_cols[] = {
    {"event_time", QUERY_ROWS_TIMESTAMP, false},
    {"trigger_name", QUERY_ROWS_STRING, false},
    {"log_level", QUERY_ROWS_STRING, false},
    {"log_text", QUERY_ROWS_STRING, false},
};

static const query_sys_column trigger_cols[] = {
    {"trigger_name", QUERY_ROWS_STRING, false},
    {"plugin_filename", QUERY_ROWS_STRING, false},
    {"trigger_specification", QUERY_ROWS_STRING, false},
    {"disabled", QUERY_ROWS_BOOL, false},
};

static const query_sys_column arg_cols[] = {
    {"trigger_name", QUERY_ROWS_STRING, false},
    {"argument_key", QUERY_ROWS_STRING, false},
    {"argument_value", QUERY_ROWS_STRING, false},
};

static const query_sys_column file_cols[] = {
    {"plugin_name", QUERY_ROWS_STRING, false}, {"file_name", QUERY_ROWS_STRING, false},
    {"file_path", QUERY_ROWS_STRING, false},   {"size_bytes", QUERY_ROWS_INT, false},
    {"last_modified", QUERY_ROWS_INT, false},
};

/* The log is copied under its lock, then handed to the sink (which allocates). */
static int fill_logs(void *ctx, const char *db, query_sys_sink *sink)
{
    engine *g = ctx;
    pthread_mutex_lock(&g->log_lock);
    uint32_t n = g->log_count;
    eng_log_entry *copy = vg_calloc(n + 1, sizeof *copy);
    for (uint32_t i = 0; copy && i < n; i++) {
        const eng_log_entry *en = &g->log[(g->log_next + g->log_size - n + i) % g->log_size];
        copy[i] = (eng_log_entry){en->time, vg_strdup(en->trigger), en->level, vg_strdup(en->text)};
    }
    pthread_mutex_unlock(&g->log_lock);
    if (!copy)
        return VG_ENOMEM;
    int rc = VG_OK;
    for (uint32_t i = 0; i < n; i++) {
        if (rc == VG_OK && (!copy[i].trigger || !copy[i].text))
            rc = VG_ENOMEM;
        if (rc == VG_OK) {
            query_sys_cell cells[4] = {{.v.i = copy[i].time},
                                       {.v.s = copy[i].trigger},
                                       {.v.s = eng_level_name(copy[i].level)},
                                       {.v.s = copy[i].text}};
            rc = query_sys_add_row(sink, cells);
        }
        vg_free(copy[i].trigger);
        vg_free(copy[i].text);
    }
    vg_free(copy);
    return rc;
}

/* Calls fn for each live trigger of the query's database, under the catalog lock:
 * the sink only copies, it does not call back into the catalog. */
static int each_trigger(engine *g, const char *db, query_sys_sink *sink,
                        int (*fn)(query_sys_sink *, const catalog_trigger *))
{
    if (!db)
        return VG_OK;
    catalog *cat = g->cfg.cat;
    int rc = VG_OK;
    catalog_read_lock(cat);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(cat, &n);
    catalog_db *d = catalog_db_find(cat, db, strlen(db));
    for (uint32_t i = 0; d && i < n && rc == VG_OK; i++)
        if (!all[i]->deleted && all[i]->db_id == d->id)
            rc = fn(sink, all[i]);
    catalog_read_unlock(cat);
    return rc;
}

static int trigger_row(query_sys_sink *sink, const catalog_trigger *t)
{
    query_sys_cell cells[4] = {
        {.v.s = t->name}, {.v.s = t->plugin}, {.v.s = t->spec}, {.v.b = t->disabled}};
    return query_sys_add_row(sink, cells);
}

static int arg_rows(query_sys_sink *sink, const catalog_trigger *t)
{
    for (uint32_t i = 0; i < t->nargs; i++) {
        query_sys_cell cells[3] = {
            {.v.s = t->name}, {.v.s = t->args[i].key}, {.v.s = t->args[i].value}};
        int rc = query_sys_add_row(sink, cells);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static int fill_triggers(void *ctx, const char *db, query_sys_sink *sink)
{
    return each_trigger(ctx, db, sink, trigger_row);
}

static int fill_args(void *ctx, const char *db, query_sys_sink *sink)
{
    return each_trigger(ctx, db, sink, arg_rows);
}

static int fill_files(void *ctx, const char *db, query_sys_sink *sink)
{
    return eng_plugin_files_fill(ctx, sink);
}

#define NCOLS(a) ((uint32_t)(sizeof a / sizeof a[0]))

int eng_register_tables(engine *g, vg_err *e)
{
    query_engine *q = g->cfg.query;
    int rc = query_register_system_table(q, "processing_engine_logs", log_cols, NCOLS(log_cols),
                                         fill_logs, g, e);
    if (rc == VG_OK)
        rc = query_register_system_table(q, "processing_engine_triggers", trigger_cols,
                                         NCOLS(trigger_cols), fill_triggers, g, e);
    if (rc == VG_OK)
        rc = query_register_system_table(q, "processing_engine_trigger_arguments", arg_cols,
                                         NCOLS(arg_cols), fill_args, g, e);
    if (rc == VG_OK)
        rc = query_register_system_table(q, "plugin_files", file_cols, NCOLS(file_cols), fill_files,
                                         g, e);
    return rc;
}
