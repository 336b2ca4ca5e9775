/*
 * query/query.c: the engine and the life of one query. Owns query_engine (options,
 * the query log behind system.queries), the cursor (parse into the query arena, set
 * up the context, plan, open, stream formatted output in pieces, close), the mapping
 * of errors to query_error_kind, and the format names and content types.
 *
 * A cursor prefetches the first batch in query_open, so errors of operators that
 * consume their whole input before producing a row (sort, aggregate: memory budget,
 * timeout) still reach the caller before any byte is sent and get a proper status.
 * Pretty output is built whole in query_open for the same reason: it cannot stream
 * anyway (column widths).
 */
#include "ast_int.h"
#include "exec_int.h"
#include "format_int.h"
#include "plan_int.h"
#include "sysext_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Query text kept per log entry: long generated queries are still recognisable
 * from their first 64 KiB, and 1000 entries stay bounded. */
#define QLOG_TEXT_MAX (64u * 1024u)
/* Default number of log entries (Core's --query-log-size). */
#define QLOG_DEFAULT_SIZE 1000u
/* The arena grows in blocks this big: small queries fit in one. */
#define QUERY_ARENA_BLOCK (64u * 1024u)

/* One row of system.queries. While its query runs, the cursor owns it and writes its
 * mutable fields under the engine lock; afterwards the log ring owns it. */
typedef struct qlog_entry {
    char id[37];
    const char *phase; /* "received", "planned", "permit", "success", "fail", "cancel" */
    int64_t issue_time;
    char *text;                              /* owned */
    char *error;                             /* owned, NULL when none */
    int64_t plan_ns, execute_ns, end2end_ns; /* -1 = not reached */
    uint64_t rows;
    uint64_t max_memory;
    uint64_t partitions;
    bool success, running, cancelled;
} qlog_entry;

struct query_engine {
    catalog *cat;
    buffer *buf;
    persist *persist;
    size_t mem_budget;
    int64_t timeout_ns;
    uint32_t log_size;
    uint64_t id_seed;
    pthread_mutex_t lock; /* guards everything below */
    uint64_t next_seq;
    qlog_entry *log; /* ring of log_size entries */
    uint32_t log_next;
    uint32_t log_count;
    query_cursor *running; /* open cursors, newest first */
    qsys_ext *sys_ext;     /* tables other modules registered (sys_ext.c) */
};

struct query_cursor {
    query_engine *eng;
    query_cursor *prev, *next; /* in eng->running */
    qlog_entry entry;
    vg_arena arena;
    qctx ctx;
    vg_err err;
    query_format format;
    const char *content_type; /* set when not the format's (DELETE answers JSON) */
    qop *root;
    bool root_open;
    qfmt fmt;
    bool fmt_ready;
    qbatch *batch;      /* being formatted (the prefetched one first), or NULL */
    uint32_t batch_row; /* its next row to format */
    vg_buf stage;       /* formatted bytes not yet handed out */
    size_t stage_off;
    bool done;      /* the end of the output is in stage */
    bool failed;    /* err holds why */
    bool finished;  /* operators closed, entry in the log */
    bool cancelled; /* the reader gave up (query_run's write failed) */
    query_error_kind fail_kind;
    bool started;
    uint64_t rows;
    int64_t t_start, t_exec, t_end;
};

/* ---- formats ---- */

int query_parse_format(const char *s, query_format *out, vg_err *e)
{
    if (strcmp(s, "json") == 0)
        *out = QUERY_FORMAT_JSON;
    else if (strcmp(s, "jsonl") == 0 || strcmp(s, "json_lines") == 0)
        *out = QUERY_FORMAT_JSONL;
    else if (strcmp(s, "csv") == 0)
        *out = QUERY_FORMAT_CSV;
    else if (strcmp(s, "pretty") == 0)
        *out = QUERY_FORMAT_PRETTY;
    else if (strcmp(s, "parquet") == 0)
        *out = QUERY_FORMAT_PARQUET;
    else
        return vg_err_set(e, VG_EINVAL,
                          "unknown format '%.64s': expected one of json, jsonl, json_lines, csv, "
                          "pretty, parquet",
                          s);
    return VG_OK;
}

const char *query_format_content_type(query_format f)
{
    switch (f) {
    case QUERY_FORMAT_JSONL: return "application/jsonl";
    case QUERY_FORMAT_CSV: return "text/csv";
    case QUERY_FORMAT_PRETTY: return "text/plain; charset=utf-8";
    case QUERY_FORMAT_PARQUET: return "application/vnd.apache.parquet";
    default: return "application/json";
    }
}

/* ---- the engine ---- */

static size_t default_mem_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return (size_t)1 << 30; /* cannot tell: 1 GiB */
    return (size_t)pages / 5 * (size_t)page;
}

void query_engine_set_persist(query_engine *q, persist *p)
{
    q->persist = p;
}

int query_engine_new(catalog *cat, buffer *buf, const query_options *opt, query_engine **out,
                     vg_err *e)
{
    query_engine *q = vg_calloc(1, sizeof *q);
    if (!q)
        return vg_err_set(e, VG_ENOMEM, "out of memory creating the query engine");
    q->cat = cat;
    q->buf = buf;
    q->mem_budget = opt && opt->mem_budget_bytes ? opt->mem_budget_bytes : default_mem_budget();
    q->timeout_ns = opt ? opt->timeout_ns : 0;
    q->log_size = opt && opt->query_log_size ? opt->query_log_size : QLOG_DEFAULT_SIZE;
    q->log = vg_calloc(q->log_size, sizeof *q->log);
    if (!q->log) {
        vg_free(q);
        return vg_err_set(e, VG_ENOMEM, "out of memory creating the query log");
    }
    q->id_seed = (uint64_t)vg_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)q;
    pthread_mutex_init(&q->lock, NULL);
    *out = q;
    return VG_OK;
}

static void entry_free(qlog_entry *en)
{
    vg_free(en->text);
    vg_free(en->error);
    memset(en, 0, sizeof *en);
}

void query_engine_free(query_engine *q)
{
    if (!q)
        return;
    for (uint32_t i = 0; i < q->log_size; i++)
        entry_free(&q->log[i]);
    vg_free(q->log);
    qsys_ext_free(q->sys_ext);
    pthread_mutex_destroy(&q->lock);
    vg_free(q);
}

qsys_ext **qengine_sys_ext(query_engine *q)
{
    return &q->sys_ext;
}

/* ---- the query log ---- */

/* A UUID-shaped id, unique per engine: a hash of the engine's seed and a counter. */
static void make_id(query_engine *q, uint64_t seq, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t in[3] = {q->id_seed, seq, 0};
    unsigned char b[16];
    for (int half = 0; half < 2; half++) {
        in[2] = (uint64_t)half;
        uint64_t h = vg_hash(in, sizeof in);
        memcpy(b + 8 * half, &h, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
}

/* Cuts at most max bytes, backing up to a UTF-8 character boundary. */
static char *copy_text(const char *s, size_t n, size_t max)
{
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return vg_strndup(s, n);
}

static void log_begin(query_cursor *cur, const query_request *req)
{
    query_engine *q = cur->eng;
    qlog_entry *en = &cur->entry;
    en->issue_time = vg_now_ns();
    en->phase = "received";
    en->text = copy_text(req->sql ? req->sql : "", req->sql ? req->sql_len : 0, QLOG_TEXT_MAX);
    en->plan_ns = en->execute_ns = en->end2end_ns = -1;
    en->running = true;
    pthread_mutex_lock(&q->lock);
    make_id(q, q->next_seq++, en->id);
    cur->next = q->running;
    if (q->running)
        q->running->prev = cur;
    q->running = cur;
    pthread_mutex_unlock(&q->lock);
}

static void log_phase(query_cursor *cur, const char *phase)
{
    pthread_mutex_lock(&cur->eng->lock);
    cur->entry.phase = phase;
    if (cur->t_exec && cur->entry.plan_ns < 0)
        cur->entry.plan_ns = cur->t_exec - cur->t_start;
    pthread_mutex_unlock(&cur->eng->lock);
}

/* Moves the finished entry from the running list into the ring (lock held), in one
 * step so that a concurrent snapshot sees it exactly once. */
static void log_end_locked(query_cursor *cur)
{
    query_engine *q = cur->eng;
    if (cur->prev)
        cur->prev->next = cur->next;
    else
        q->running = cur->next;
    if (cur->next)
        cur->next->prev = cur->prev;
    qlog_entry *slot = &q->log[q->log_next];
    entry_free(slot);
    *slot = cur->entry;
    q->log_next = (q->log_next + 1) % q->log_size;
    if (q->log_count < q->log_size)
        q->log_count++;
    memset(&cur->entry, 0, sizeof cur->entry);
}

/* ---- system.queries ---- */

enum {
    SQ_ID,
    SQ_PHASE,
    SQ_ISSUE_TIME,
    SQ_QUERY_TYPE,
    SQ_QUERY_TEXT,
    SQ_PARTITIONS,
    SQ_PARQUET_FILES,
    SQ_PLAN,
    SQ_PERMIT,
    SQ_EXECUTE,
    SQ_END2END,
    SQ_COMPUTE,
    SQ_MAX_MEMORY,
    SQ_SUCCESS,
    SQ_RUNNING,
    SQ_CANCELLED,
    SQ_TRACE_ID,
    SQ_ROWS,
    SQ_ERROR,
    SQ_NCOLS
};

/* Core's columns in Core's order (durations are intervals here: Vigil has no
 * Duration type), then Vigil's own: rows returned and the error message. */
static const qfield sq_fields[SQ_NCOLS] = {
    {"id", NULL, QT_STRING, false, false},
    {"phase", NULL, QT_STRING, false, false},
    {"issue_time", NULL, QT_TIMESTAMP, false, false},
    {"query_type", NULL, QT_STRING, false, false},
    {"query_text", NULL, QT_STRING, false, false},
    {"partitions", NULL, QT_INT, false, true},
    {"parquet_files", NULL, QT_INT, false, true},
    {"plan_duration", NULL, QT_INTERVAL, false, true},
    {"permit_duration", NULL, QT_INTERVAL, false, true},
    {"execute_duration", NULL, QT_INTERVAL, false, true},
    {"end2end_duration", NULL, QT_INTERVAL, false, true},
    {"compute_duration", NULL, QT_INTERVAL, false, true},
    {"max_memory", NULL, QT_INT, false, true},
    {"success", NULL, QT_BOOL, false, false},
    {"running", NULL, QT_BOOL, false, false},
    {"cancelled", NULL, QT_BOOL, false, false},
    {"trace_id", NULL, QT_STRING, false, true},
    {"rows", NULL, QT_INT, false, true},
    {"error", NULL, QT_STRING, false, true},
};

static int sq_str(qctx *c, qvec *v, uint32_t r, const char *s)
{
    if (!s) {
        qvec_set_null(v, r);
        v->v.s[r] = (qstr){"", 0};
        return VG_OK;
    }
    size_t n = strlen(s);
    char *p = qctx_alloc(c, n + 1);
    if (!p)
        return c->err->code;
    memcpy(p, s, n + 1);
    v->v.s[r] = (qstr){p, (uint32_t)n};
    return VG_OK;
}

static void sq_int(qvec *v, uint32_t r, int64_t x, bool null)
{
    v->v.i64[r] = null ? 0 : x;
    if (null)
        qvec_set_null(v, r);
}

/* Writes one entry into row r of the batch's columns. */
static int sq_row(qctx *c, qvec *cols, uint32_t r, const qlog_entry *en)
{
    int rc = sq_str(c, &cols[SQ_ID], r, en->id);
    if (rc == VG_OK)
        rc = sq_str(c, &cols[SQ_PHASE], r, en->phase);
    if (rc == VG_OK)
        rc = sq_str(c, &cols[SQ_QUERY_TYPE], r, "sql");
    if (rc == VG_OK)
        rc = sq_str(c, &cols[SQ_QUERY_TEXT], r, en->text ? en->text : "");
    if (rc == VG_OK)
        rc = sq_str(c, &cols[SQ_TRACE_ID], r, NULL);
    if (rc == VG_OK)
        rc = sq_str(c, &cols[SQ_ERROR], r, en->error);
    if (rc != VG_OK)
        return rc;
    cols[SQ_ISSUE_TIME].v.i64[r] = en->issue_time;
    bool planned = en->plan_ns >= 0;
    sq_int(&cols[SQ_PARTITIONS], r, (int64_t)en->partitions, !planned);
    sq_int(&cols[SQ_PARQUET_FILES], r, 0, !planned);
    sq_int(&cols[SQ_PLAN], r, en->plan_ns, !planned);
    sq_int(&cols[SQ_PERMIT], r, 0, !planned);
    sq_int(&cols[SQ_EXECUTE], r, en->execute_ns, en->execute_ns < 0);
    sq_int(&cols[SQ_END2END], r, en->end2end_ns, en->end2end_ns < 0);
    sq_int(&cols[SQ_COMPUTE], r, 0, true);
    sq_int(&cols[SQ_MAX_MEMORY], r, (int64_t)en->max_memory, en->running);
    sq_int(&cols[SQ_ROWS], r, (int64_t)en->rows, en->running);
    cols[SQ_SUCCESS].v.b[r] = en->success;
    cols[SQ_RUNNING].v.b[r] = en->running;
    cols[SQ_CANCELLED].v.b[r] = en->cancelled;
    return VG_OK;
}

static int sq_alloc_batch(qctx *c, qbatch *b, uint32_t n)
{
    b->nrows = n;
    b->ncols = SQ_NCOLS;
    b->cols = qctx_alloc(c, SQ_NCOLS * sizeof *b->cols);
    if (!b->cols)
        return c->err->code;
    for (uint32_t k = 0; k < SQ_NCOLS; k++) {
        int rc = qvec_alloc(c, &b->cols[k], sq_fields[k].type, n);
        if (rc == VG_OK && sq_fields[k].nullable)
            rc = qvec_add_validity(c, &b->cols[k]);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* The entry at position i of a snapshot: ring entries oldest first, then the
 * running queries. */
static const qlog_entry *sq_entry(query_engine *q, uint32_t i, query_cursor **run)
{
    if (i < q->log_count)
        return &q->log[(q->log_next + q->log_size - q->log_count + i) % q->log_size];
    const qlog_entry *en = &(*run)->entry;
    *run = (*run)->next;
    return en;
}

qop *qsys_queries(qctx *c)
{
    query_engine *q = c->engine;
    qschema *schema = qctx_alloc(c, sizeof *schema);
    if (!schema)
        return NULL;
    schema->n = SQ_NCOLS;
    schema->f = (qfield *)sq_fields;
    if (!q)
        return qop_values(c, schema, NULL, 0);
    pthread_mutex_lock(&q->lock);
    uint32_t n = q->log_count;
    for (query_cursor *k = q->running; k; k = k->next)
        n++;
    uint32_t nb = (n + Q_BATCH_ROWS - 1) / Q_BATCH_ROWS;
    qbatch *batches = nb ? qctx_alloc(c, nb * sizeof *batches) : NULL;
    int rc = nb && !batches ? VG_ENOMEM : VG_OK;
    query_cursor *run = q->running;
    for (uint32_t b = 0; rc == VG_OK && b < nb; b++) {
        uint32_t rows = n - b * Q_BATCH_ROWS < Q_BATCH_ROWS ? n - b * Q_BATCH_ROWS : Q_BATCH_ROWS;
        rc = sq_alloc_batch(c, &batches[b], rows);
        for (uint32_t r = 0; rc == VG_OK && r < rows; r++)
            rc = sq_row(c, batches[b].cols, r, sq_entry(q, b * Q_BATCH_ROWS + r, &run));
    }
    pthread_mutex_unlock(&q->lock);
    return rc == VG_OK ? qop_values(c, schema, batches, nb) : NULL;
}

/* ---- errors ---- */

#define NOT_IMPLEMENTED "This feature is not implemented"

static query_error_kind classify(int rc, const char *msg)
{
    if (strncmp(msg, NOT_IMPLEMENTED, sizeof NOT_IMPLEMENTED - 1) == 0)
        return QUERY_ERR_UNSUPPORTED;
    switch (rc) {
    case VG_EINVAL:
    case VG_ENOTFOUND:
    case VG_EEXISTS:
    case VG_ETOOBIG: return QUERY_ERR_USER;
    case VG_ENOMEM:
    case VG_ELIMIT: return QUERY_ERR_RESOURCES;
    default: return QUERY_ERR_INTERNAL;
    }
}

/* Records a failure in the cursor: its kind and a message that is never empty. */
static int fail(query_cursor *cur, int rc, query_error_kind kind)
{
    if (rc == VG_OK)
        rc = VG_EINTERNAL;
    if (!cur->err.msg[0])
        vg_err_set(&cur->err, (vg_code)rc, "internal error (%s) while running the query",
                   vg_code_name((vg_code)rc));
    cur->err.code = (vg_code)rc;
    cur->failed = true;
    cur->fail_kind = kind != QUERY_ERR_NONE ? kind : classify(rc, cur->err.msg);
    return rc;
}

/* ---- opening ---- */

/* Copies the parameters into the arena: the caller's strings need not outlive open. */
static int copy_params(query_cursor *cur, const query_request *req)
{
    if (!req->nparams)
        return VG_OK;
    query_param *p = vg_arena_alloc(&cur->arena, req->nparams * sizeof *p);
    if (!p)
        return vg_err_set(&cur->err, VG_ENOMEM, "out of memory copying query parameters");
    for (size_t i = 0; i < req->nparams; i++) {
        const char *name = req->params[i].name, *val = req->params[i].json_value;
        p[i].name = vg_arena_strndup(&cur->arena, name, strlen(name));
        p[i].json_value = vg_arena_strndup(&cur->arena, val, strlen(val));
        if (!p[i].name || !p[i].json_value)
            return vg_err_set(&cur->err, VG_ENOMEM, "out of memory copying query parameters");
    }
    cur->ctx.params = p;
    cur->ctx.nparams = req->nparams;
    return VG_OK;
}

static int resolve_db(query_cursor *cur, const char *name)
{
    catalog *cat = cur->eng->cat;
    catalog_read_lock(cat);
    cur->ctx.db = catalog_db_find(cat, name, strlen(name));
    catalog_read_unlock(cat);
    /* `_internal` is Core's database for server-wide system tables (`vigil show
     * plugins` queries system.plugin_files there); Vigil has no such database, so the
     * name means "no user tables, system tables only". */
    if (!cur->ctx.db && !strcmp(name, "_internal"))
        return VG_OK;
    if (!cur->ctx.db)
        return fail(
            cur, vg_err_set(&cur->err, VG_ENOTFOUND, "query error: database not found: %s", name),
            QUERY_ERR_DB_NOT_FOUND);
    return VG_OK;
}

static void init_ctx(query_cursor *cur)
{
    query_engine *q = cur->eng;
    qctx *c = &cur->ctx;
    c->arena = &cur->arena;
    c->mem_budget = q->mem_budget;
    c->timeout_ns = q->timeout_ns;
    c->deadline = q->timeout_ns > 0 ? cur->t_start + q->timeout_ns : 0;
    c->now_ns = cur->entry.issue_time;
    c->cat = q->cat;
    c->buf = q->buf;
    c->persist = q->persist;
    c->engine = q;
    c->err = &cur->err;
}

/* Charges the growth of the pretty table's cells to the budget. */
static int charge_pretty(query_cursor *cur, size_t *charged)
{
    size_t now = cur->fmt.cells.cap + cur->fmt.cells_cap * sizeof(size_t);
    if (now <= *charged)
        return VG_OK;
    int rc = qctx_charge(&cur->ctx, now - *charged);
    *charged = now;
    return rc;
}

/* Feeds one batch to the formatter (appending to stage). */
static int format_batch(query_cursor *cur, const qbatch *b)
{
    cur->rows += b->nrows;
    return qfmt_batch(&cur->fmt, b, &cur->stage, &cur->err);
}

static int finish_output(query_cursor *cur)
{
    int rc = qfmt_end(&cur->fmt, &cur->stage, &cur->err);
    if (rc != VG_OK)
        return rc;
    cur->done = true;
    cur->t_end = vg_mono_ns();
    return VG_OK;
}

/* Pretty: every batch into the table now, so any error still gets its status. */
static int drain_pretty(query_cursor *cur)
{
    size_t charged = 0;
    for (;;) {
        qbatch *b = NULL;
        int rc = qctx_check_deadline(&cur->ctx);
        if (rc == VG_OK)
            rc = cur->root->vt->next(cur->root, &cur->ctx, &b);
        if (rc != VG_OK)
            return rc;
        if (!b)
            return finish_output(cur);
        rc = format_batch(cur, b);
        if (rc == VG_OK)
            rc = charge_pretty(cur, &charged);
        if (rc != VG_OK)
            return rc;
    }
}

/* DELETE runs at once; its answer is `{"deleted":true}` whatever the format (it has
 * no rows to format). */
static int run_delete(query_cursor *cur, const ast_stmt *stmt)
{
    bool deleted;
    int rc = qdelete_run(&cur->ctx, stmt, &deleted);
    if (rc != VG_OK)
        return rc;
    cur->t_exec = vg_mono_ns();
    log_phase(cur, "planned");
    vg_buf_puts(&cur->stage, "{\"deleted\":true}");
    if (cur->stage.oom)
        return vg_err_set(&cur->err, VG_ENOMEM, "out of memory answering a DELETE");
    cur->content_type = "application/json";
    cur->done = true;
    cur->t_end = vg_mono_ns();
    return VG_OK;
}

static int plan_and_open(query_cursor *cur, const query_request *req)
{
    char *sql = vg_arena_strndup(&cur->arena, req->sql ? req->sql : "", req->sql_len);
    if (!sql)
        return vg_err_set(&cur->err, VG_ENOMEM, "out of memory copying the query");
    ast_stmt *stmt = NULL;
    int rc = ast_parse(sql, req->sql_len, &cur->arena, &stmt, &cur->err);
    if (rc == VG_OK && stmt->kind == AS_DELETE)
        return run_delete(cur, stmt);
    if (rc == VG_OK)
        rc = qplan_build(&cur->ctx, stmt, &cur->root);
    if (rc != VG_OK)
        return rc;
    if (VG_NEVER(!cur->root))
        return vg_err_set(&cur->err, VG_EINTERNAL, "the planner returned no plan");
    cur->t_exec = vg_mono_ns();
    log_phase(cur, "planned");
    /* Closed even when open fails: a failed open may hold a buffer snapshot. */
    cur->root_open = true;
    rc = cur->root->vt->open(cur->root, &cur->ctx);
    if (rc != VG_OK)
        return rc;
    log_phase(cur, "permit");
    rc = qfmt_init(&cur->fmt, cur->format, &cur->root->schema, &cur->err);
    if (rc != VG_OK)
        return rc;
    cur->fmt_ready = true;
    rc = qfmt_begin(&cur->fmt, &cur->stage, &cur->err);
    if (rc != VG_OK)
        return rc;
    if (cur->format == QUERY_FORMAT_PRETTY)
        return drain_pretty(cur);
    rc = cur->root->vt->next(cur->root, &cur->ctx, &cur->batch);
    if (rc == VG_OK && !cur->batch)
        rc = finish_output(cur);
    return rc;
}

static void close_cursor(query_cursor *cur);
static void finish(query_cursor *cur);

int query_open(query_engine *q, const query_request *req, query_cursor **out,
               query_outcome *outcome, vg_err *e)
{
    *out = NULL;
    memset(outcome, 0, sizeof *outcome);
    query_cursor *cur = vg_calloc(1, sizeof *cur);
    if (!cur) {
        outcome->kind = QUERY_ERR_RESOURCES;
        return vg_err_set(e, VG_ENOMEM, "out of memory starting a query");
    }
    cur->eng = q;
    cur->format = req->format;
    cur->t_start = vg_mono_ns();
    vg_arena_init(&cur->arena, QUERY_ARENA_BLOCK);
    vg_buf_init(&cur->stage);
    log_begin(cur, req);
    init_ctx(cur);
    int rc = resolve_db(cur, req->db ? req->db : "");
    if (rc == VG_OK && req->sql_len > VG_LIMIT_SQL_BYTES)
        rc = fail(cur,
                  vg_err_set(&cur->err, VG_ETOOBIG,
                             "the query is %zu bytes long, more than the limit of %u bytes",
                             req->sql_len, VG_LIMIT_SQL_BYTES),
                  QUERY_ERR_USER);
    if (rc == VG_OK)
        rc = copy_params(cur, req);
    if (rc == VG_OK)
        rc = plan_and_open(cur, req);
    if (rc != VG_OK) {
        if (!cur->failed)
            fail(cur, rc, QUERY_ERR_NONE);
        outcome->kind = cur->fail_kind;
        vg_err_set(e, cur->err.code, "%s", cur->err.msg);
        close_cursor(cur);
        return rc;
    }
    *out = cur;
    return VG_OK;
}

const char *query_content_type(const query_cursor *cur)
{
    return cur->content_type ? cur->content_type : query_format_content_type(cur->format);
}

/* ---- reading ---- */

/* Output is staged this much at a time (plus one row), whatever the batch size and
 * row width, so a cursor holds little memory however the caller reads it. */
#define STAGE_TARGET (64u * 1024u)
#define ROWS_PER_STEP 256u

/* Puts the next piece of output into the (empty) stage. */
static int produce(query_cursor *cur)
{
    if (!cur->batch) {
        int rc = qctx_check_deadline(&cur->ctx);
        if (rc == VG_OK)
            rc = cur->root->vt->next(cur->root, &cur->ctx, &cur->batch);
        if (rc != VG_OK)
            return rc;
        if (!cur->batch)
            return finish_output(cur);
        cur->batch_row = 0;
    }
    const qbatch *b = cur->batch;
    while (cur->batch_row < b->nrows && cur->stage.len < STAGE_TARGET) {
        uint32_t to =
            b->nrows - cur->batch_row > ROWS_PER_STEP ? cur->batch_row + ROWS_PER_STEP : b->nrows;
        int rc = qfmt_rows(&cur->fmt, b, cur->batch_row, to, &cur->stage, &cur->err);
        if (rc != VG_OK)
            return rc;
        cur->rows += to - cur->batch_row;
        cur->batch_row = to;
    }
    if (cur->batch_row >= b->nrows)
        cur->batch = NULL; /* valid until the next next(): done with it */
    return VG_OK;
}

long query_read(query_cursor *cur, char *buf, size_t max, vg_err *e)
{
    size_t n = 0;
    while (n < max) {
        if (cur->stage_off < cur->stage.len) {
            size_t k = cur->stage.len - cur->stage_off;
            if (k > max - n)
                k = max - n;
            memcpy(buf + n, cur->stage.data + cur->stage_off, k);
            cur->stage_off += k;
            n += k;
            continue;
        }
        if (cur->done || cur->failed)
            break;
        vg_buf_reset(&cur->stage);
        cur->stage_off = 0;
        int rc = produce(cur);
        if (rc != VG_OK)
            fail(cur, rc, QUERY_ERR_NONE);
    }
    if (n > 0) {
        cur->started = true;
        return (long)n;
    }
    if (cur->done || cur->failed)
        finish(cur);
    if (cur->failed) {
        vg_err_set(e, cur->err.code, "%s", cur->err.msg);
        return -1;
    }
    return 0;
}

/* ---- closing ---- */

/* Ends the query as soon as its outcome is known (last byte handed out, an error, or
 * the caller giving up): operators closed, buffer snapshots released, the entry moved
 * to the log. Done before the caller sees the end of the output, so a client that
 * asks system.queries right after a response finds that query finished. */
static void finish(query_cursor *cur)
{
    if (cur->finished)
        return;
    cur->finished = true;
    int64_t end = vg_mono_ns();
    qlog_entry *en = &cur->entry;
    if (cur->root_open)
        cur->root->vt->close(cur->root, &cur->ctx);
    cur->root_open = false;
    if (cur->fmt_ready)
        qfmt_free(&cur->fmt);
    cur->fmt_ready = false;
    pthread_mutex_lock(&cur->eng->lock);
    en->running = false;
    en->cancelled = !cur->failed && (cur->cancelled || !cur->done);
    en->success = cur->done && !cur->failed && !en->cancelled;
    en->phase = en->success ? "success" : en->cancelled ? "cancel" : "fail";
    if (cur->t_exec && en->plan_ns < 0)
        en->plan_ns = cur->t_exec - cur->t_start;
    en->execute_ns = cur->t_exec ? (cur->t_end ? cur->t_end : end) - cur->t_exec : -1;
    en->end2end_ns = end - cur->t_start;
    en->rows = cur->rows;
    en->max_memory = cur->ctx.mem_used;
    en->partitions = cur->ctx.chunks_total - cur->ctx.chunks_pruned;
    if (cur->failed)
        en->error = vg_strdup(cur->err.msg);
    log_end_locked(cur);
    pthread_mutex_unlock(&cur->eng->lock);
}

static void close_cursor(query_cursor *cur)
{
    finish(cur);
    vg_buf_free(&cur->stage);
    vg_arena_free(&cur->arena);
    vg_free(cur);
}

void query_close(query_cursor *cur, query_outcome *outcome)
{
    if (outcome)
        memset(outcome, 0, sizeof *outcome);
    if (!cur)
        return;
    if (outcome) {
        outcome->kind = cur->failed ? cur->fail_kind : QUERY_ERR_NONE;
        outcome->started = cur->started;
        outcome->rows = cur->rows;
    }
    close_cursor(cur);
}

/* ---- push-style convenience ---- */

#define RUN_BLOCK (64u * 1024u)

int query_run(query_engine *q, const query_request *req, query_write_fn write, void *ctx,
              query_outcome *out, vg_err *e)
{
    query_cursor *cur;
    int rc = query_open(q, req, &cur, out, e);
    if (rc != VG_OK)
        return rc;
    char *block = vg_malloc(RUN_BLOCK);
    if (!block) {
        query_close(cur, out);
        out->kind = QUERY_ERR_RESOURCES;
        return vg_err_set(e, VG_ENOMEM, "out of memory running a query");
    }
    long n;
    bool aborted = false;
    while ((n = query_read(cur, block, RUN_BLOCK, e)) > 0) {
        if (write(ctx, block, (size_t)n) != 0) {
            aborted = true; /* the reader went away: recorded as cancelled */
            cur->cancelled = true;
            break;
        }
    }
    rc = n < 0 ? (int)e->code : VG_OK;
    vg_free(block);
    query_close(cur, out);
    if (aborted)
        return vg_err_set(e, VG_EIO, "the query was cancelled: its output could not be written");
    return rc;
}
