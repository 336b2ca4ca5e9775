/* engine/engine.c: the engine object and the life of a plugin call.
 *
 * Owns the runtime triggers (a registry mirroring the catalog's live triggers), their
 * job queues, the worker threads that run jobs, what happens after a call (buffered
 * writes committed, error behaviours: log, retry with backoff, disable), the ingest
 * hook that turns durable writes into jobs for WAL triggers, and back-pressure.
 *
 * Locking: g->lock guards triggers, queues and workers; g->call_lock the list of
 * calls in progress; the catalog's lock is never taken while g->lock is held (the
 * ingest hook copies names under the catalog lock first, then takes g->lock). Jobs of
 * one trigger run one at a time, in order, unless the trigger is run_async. */
#include "engine_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local int tls_depth;
static _Thread_local eng_call *tls_call;

int eng_thread_depth(void)
{
    return tls_depth;
}

eng_call *eng_current_call(void)
{
    return tls_call;
}

void eng_set_current_call(eng_call *c)
{
    tls_call = c;
}

/* ---- batches ---- */

uint64_t eng_batch_rows(const eng_batch *b)
{
    uint64_t n = 0;
    for (uint32_t i = 0; b && i < b->ntables; i++)
        n += b->tables[i].nrows;
    return n;
}

void eng_batch_unref(eng_batch *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    vg_arena_free(&b->arena);
    vg_free(b);
}

/* ---- triggers ---- */

static void trigger_free(eng_trigger *t)
{
    engine_args_free(t->arg_keys, t->arg_vals, (int)t->nargs);
    vg_free(t->db_name);
    vg_free(t->name);
    vg_free(t->plugin);
    vg_free(t->cache_ns);
    vg_free(t);
}

void eng_trigger_unref(eng_trigger *t)
{
    if (t && --t->refs == 0)
        trigger_free(t);
}

/* Builds the runtime trigger for a catalog one (catalog lock held by the caller). */
eng_trigger *eng_trigger_from_catalog(engine *g, const catalog_trigger *ct, const char *db_name,
                                      vg_err *e)
{
    eng_trigger *t = vg_calloc(1, sizeof *t);
    if (!t) {
        vg_err_set(e, VG_ENOMEM, "out of memory loading trigger '%s'", ct->name);
        return NULL;
    }
    t->refs = 1;
    t->cat_id = ct->id;
    t->db_id = ct->db_id;
    t->run_async = ct->run_async;
    t->on_error = ct->error_behavior;
    t->db_name = vg_strdup(db_name);
    t->name = vg_strdup(ct->name);
    t->plugin = vg_strdup(ct->plugin);
    char ns[64];
    snprintf(ns, sizeof ns, "trigger:%u", ct->id);
    t->cache_ns = vg_strdup(ns);
    t->arg_keys = vg_calloc(ct->nargs + 1, sizeof *t->arg_keys);
    t->arg_vals = vg_calloc(ct->nargs + 1, sizeof *t->arg_vals);
    bool ok = t->db_name && t->name && t->plugin && t->cache_ns && t->arg_keys && t->arg_vals;
    for (uint32_t i = 0; ok && i < ct->nargs; i++) {
        t->arg_keys[i] = vg_strdup(ct->args[i].key);
        t->arg_vals[i] = vg_strdup(ct->args[i].value);
        t->nargs = i + 1;
        ok = t->arg_keys[i] && t->arg_vals[i];
    }
    if (!ok) {
        vg_err_set(e, VG_ENOMEM, "out of memory loading trigger '%s'", ct->name);
        trigger_free(t);
        return NULL;
    }
    if (engine_spec_parse(ct->spec, &t->spec, e) != VG_OK) {
        trigger_free(t);
        return NULL;
    }
    return t;
}

bool eng_registry_add(engine *g, eng_trigger *t)
{
    if (g->ntrigs == g->trigs_cap) {
        uint32_t cap = g->trigs_cap ? g->trigs_cap * 2 : 16;
        eng_trigger **nt = vg_realloc(g->trigs, cap * sizeof *nt);
        if (!nt) {
            VG_ERROR(ENG_MOD,
                     "out of memory registering trigger %s: it will not run until "
                     "the server restarts",
                     t->name);
            eng_trigger_unref(t);
            return false;
        }
        g->trigs = nt;
        g->trigs_cap = cap;
    }
    g->trigs[g->ntrigs++] = t;
    return true;
}

eng_trigger *eng_registry_find(engine *g, uint32_t db_id, const char *name)
{
    for (uint32_t i = 0; i < g->ntrigs; i++)
        if (g->trigs[i]->db_id == db_id && !strcmp(g->trigs[i]->name, name))
            return g->trigs[i];
    return NULL;
}

void eng_registry_remove(engine *g, eng_trigger *t)
{
    for (uint32_t i = 0; i < g->ntrigs; i++)
        if (g->trigs[i] == t) {
            memmove(&g->trigs[i], &g->trigs[i + 1], (g->ntrigs - i - 1) * sizeof *g->trigs);
            g->ntrigs--;
            eng_trigger_unref(t);
            return;
        }
}

/* ---- waiters ---- */

eng_waiter *eng_waiter_new(void)
{
    eng_waiter *w = vg_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->refs = 2; /* the waiting thread and the job */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* waits are timed on the mono clock */
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    vg_buf_init(&w->body);
    vg_buf_init(&w->headers);
    vg_buf_init(&w->json);
    vg_arena_init(&w->arena, 16 * 1024);
    return w;
}

void eng_waiter_unref(eng_waiter *w)
{
    if (!w || --w->refs > 0)
        return;
    pthread_cond_destroy(&w->cond);
    vg_buf_free(&w->body);
    vg_buf_free(&w->headers);
    vg_buf_free(&w->json);
    vg_arena_free(&w->arena);
    vg_free(w);
}

/* Ends a waiter's job (engine lock held). */
static void waiter_done(eng_waiter *w)
{
    w->done = true;
    pthread_cond_broadcast(&w->cond);
}

/* ---- queues ---- */

void eng_job_free(engine *g, eng_job *j)
{
    if (!j)
        return;
    eng_job_free(g, j->merged);
    if (j->batch) {
        if (j->kind == ENG_JOB_WAL) {
            g->queued_bytes -=
                j->batch->bytes < g->queued_bytes ? j->batch->bytes : g->queued_bytes;
            pthread_cond_broadcast(&g->space_cond);
        }
        eng_batch_unref(j->batch);
    }
    if (j->waiter) {
        if (!j->waiter->done) {
            j->waiter->status = 500;
            j->waiter->rc = VG_EINTERNAL;
            snprintf(j->waiter->err, sizeof j->waiter->err, "%s",
                     g->stopping ? "the server is shutting down"
                                 : "the trigger was disabled or deleted before it ran");
            waiter_done(j->waiter);
        }
        eng_waiter_unref(j->waiter);
    }
    eng_trigger_unref(j->trig);
    vg_free(j);
}

void eng_enqueue(engine *g, eng_trigger *t, eng_job *j)
{
    j->trig = t;
    t->refs++;
    j->next = NULL;
    if (t->tail)
        t->tail->next = j;
    else
        t->head = j;
    t->tail = j;
    if (j->kind == ENG_JOB_WAL && j->batch)
        g->queued_bytes += j->batch->bytes;
    pthread_cond_signal(&g->work_cond);
}

void eng_enqueue_adhoc(engine *g, eng_job *j)
{
    j->adhoc = true;
    j->next = NULL;
    if (g->adhoc_tail)
        g->adhoc_tail->next = j;
    else
        g->adhoc_head = j;
    g->adhoc_tail = j;
    pthread_cond_signal(&g->work_cond);
}

void eng_drop_jobs(engine *g, eng_trigger *t)
{
    eng_job *j = t->head;
    t->head = t->tail = NULL;
    while (j) {
        eng_job *next = j->next;
        eng_job_free(g, j);
        j = next;
    }
}

void eng_set_enabled(engine *g, eng_trigger *t, bool enabled)
{
    if (enabled == t->enabled)
        return;
    t->enabled = enabled;
    if (engine_spec_is_wal(&t->spec))
        atomic_fetch_add(&g->wal_triggers, enabled ? 1 : -1);
    if (enabled) {
        t->next_fire_ns = 0; /* the scheduler computes it from now */
        pthread_cond_broadcast(&g->sched_cond);
        return;
    }
    eng_drop_jobs(g, t);
    eng_cancel_calls(g, t, "the trigger was disabled");
}

void eng_cancel_calls(engine *g, eng_trigger *t, const char *why)
{
    pthread_mutex_lock(&g->call_lock);
    for (eng_call *c = g->active; c; c = c->next_active)
        if (!t || c->trig == t) {
            if (!atomic_load(&c->cancelled))
                c->cancel_why = why;
            atomic_store(&c->cancelled, true);
        }
    pthread_mutex_unlock(&g->call_lock);
}

/* The next job a worker may run (engine lock held), or NULL; *wake receives the
 * earliest mono time a delayed retry becomes runnable (INT64_MAX when none). */
static eng_job *pick_job(engine *g, int64_t now, int64_t *wake)
{
    *wake = INT64_MAX;
    if (g->adhoc_head) {
        eng_job *j = g->adhoc_head;
        g->adhoc_head = j->next;
        if (!g->adhoc_head)
            g->adhoc_tail = NULL;
        return j;
    }
    for (uint32_t k = 0; k < g->ntrigs; k++) {
        uint32_t i = (g->rr + k) % g->ntrigs;
        eng_trigger *t = g->trigs[i];
        eng_job *j = t->head;
        if (!j || !t->enabled || (t->running > 0 && !t->run_async))
            continue;
        if (j->not_before > now) {
            if (j->not_before < *wake)
                *wake = j->not_before;
            continue;
        }
        t->head = j->next;
        if (!t->head)
            t->tail = NULL;
        if (t->running++ == 0)
            t->running_since = now;
        g->rr = i + 1;
        /* Writes queued behind this one go in the same call: one call per flush of
         * what piled up, as Core calls a plugin once per WAL flush. Not for async
         * triggers (they run writes side by side) nor retries (they stay alone). */
        eng_job **tail = &j->merged;
        uint64_t rows = j->kind == ENG_JOB_WAL ? eng_batch_rows(j->batch) : 0;
        for (int n = 1; j->kind == ENG_JOB_WAL && !t->run_async && j->attempt == 1 &&
                        n < ENG_MERGE_MAX_JOBS && rows < ENG_MERGE_MAX_ROWS;
             n++) {
            eng_job *m = t->head;
            if (!m || m->kind != ENG_JOB_WAL || m->attempt != 1 || m->not_before > now)
                break;
            t->head = m->next;
            if (!t->head)
                t->tail = NULL;
            m->next = NULL;
            *tail = m;
            tail = &m->merged;
            rows += eng_batch_rows(m->batch);
        }
        return j;
    }
    return NULL;
}

/* ---- after a call ---- */

static const char *failure_context(eng_job_kind k)
{
    switch (k) {
    case ENG_JOB_WAL: return "error executing against batch";
    case ENG_JOB_SCHEDULE: return "error running scheduled plugin";
    case ENG_JOB_REQUEST: return "error running request plugin";
    default: return "error running plugin";
    }
}

static const char *run_context(eng_job_kind k)
{
    switch (k) {
    case ENG_JOB_WAL: return "wal plugin";
    case ENG_JOB_SCHEDULE: return "scheduled plugin";
    case ENG_JOB_REQUEST: return "request plugin";
    default: return "plugin";
    }
}

/* The last line of a traceback ("ZeroDivisionError: division by zero"). */
static void last_line(const vg_buf *b, char *out, size_t n)
{
    size_t end = b->len;
    while (end && (b->data[end - 1] == '\n' || b->data[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start && b->data[start - 1] != '\n')
        start--;
    snprintf(out, n, "%.*s", (int)(end - start), b->data ? b->data + start : "");
}

/* Commits the writes a successful call buffered, through the normal write path. */
static void commit_writes(engine *g, eng_call *c)
{
    for (size_t i = 0; i < c->nwrites; i++) {
        eng_write_buf *w = &c->writes[i];
        if (!w->lines.len)
            continue;
        vg_arena a;
        vg_arena_init(&a, 64 * 1024);
        ingest_request req = {.api = INGEST_API_V3,
                              .db = w->db,
                              .db_len = strlen(w->db),
                              .body = w->lines.data,
                              .body_len = w->lines.len,
                              .precision = "ns",
                              .accept_partial = true};
        ingest_result res;
        vg_err e;
        int rc = ingest_write(g->cfg.ingest, &req, &a, &res, &e);
        const char *ctx = run_context(c->job->kind);
        if (rc != VG_OK) {
            eng_log(g, c->trig->name, ENG_ERROR,
                    "error running %s: error writing back lines to %s: %s", ctx, w->db, e.msg);
        } else {
            for (size_t k = 0; k < res.nerrors && k < 10; k++)
                eng_log(g, c->trig->name, ENG_ERROR,
                        "error running %s: error writing back lines to %s: line %u: %s: %.*s", ctx,
                        w->db, res.errors[k].line_no, res.errors[k].msg,
                        (int)(res.errors[k].text_len > 200 ? 200 : res.errors[k].text_len),
                        res.errors[k].text);
            if (res.nerrors > 10)
                eng_log(g, c->trig->name, ENG_ERROR,
                        "error running %s: error writing back lines to %s: %zu more lines rejected",
                        ctx, w->db, res.nerrors - 10);
        }
        vg_arena_free(&a);
    }
}

/* Persists a trigger's disabling after an error (error behaviour "disable"). Takes
 * the catalog lock: called without g->lock. */
static void disable_after_error(engine *g, eng_trigger *t)
{
    pthread_mutex_lock(&g->catalog_mutation);
    catalog *cat = g->cfg.cat;
    vg_err e;
    int rc = VG_OK;
    catalog_write_lock(cat);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(cat, &n);
    catalog_trigger *ct = t->cat_id < n ? all[t->cat_id] : NULL;
    if (ct && !ct->deleted && !ct->disabled) {
        rc = catalog_trigger_set_disabled(cat, ct, true, &e);
        if (rc == VG_OK)
            rc = catalog_commit(cat, &e);
    }
    catalog_write_unlock(cat);
    pthread_mutex_lock(&g->lock);
    if (!t->deleted)
        eng_set_enabled(g, t, false);
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&g->catalog_mutation);
    if (rc != VG_OK)
        eng_log(g, t->name, ENG_ERROR, "could not record the disabling of trigger %s: %s", t->name,
                e.msg);
    else
        eng_log(g, t->name, ENG_WARN,
                "trigger %s disabled after an error (error behavior 'disable'); enable it again "
                "with 'vigil enable trigger'",
                t->name);
}

static int64_t backoff_ns(int attempt)
{
    int64_t ns = ENG_RETRY_FIRST_NS;
    for (int i = 1; i < attempt && ns < ENG_RETRY_MAX_NS; i++)
        ns *= 2;
    return ns < ENG_RETRY_MAX_NS ? ns : ENG_RETRY_MAX_NS;
}

/* Fills a request's response (engine lock held). */
static void answer_request(eng_call *c, eng_waiter *w)
{
    if (!c->failed) {
        w->status = c->status;
        vg_buf_append(&w->body, c->resp_body.data ? c->resp_body.data : "", c->resp_body.len);
        vg_buf_append(&w->headers, c->resp_headers.data ? c->resp_headers.data : "",
                      c->resp_headers.len);
        return;
    }
    char msg[VG_ERR_MSG_BYTES];
    if (c->cancelled && c->cancel_why && !strcmp(c->cancel_why, "timeout"))
        snprintf(msg, sizeof msg, "plugin timed out after %.3g s (--plugin-timeout)",
                 (double)c->g->timeout_ns / 1e9);
    else
        last_line(&c->error, msg, sizeof msg);
    w->status = 500;
    vg_jw jw;
    vg_jw_init(&jw, &w->body);
    vg_jw_obj_begin(&jw);
    vg_jw_key(&jw, "error");
    vg_jw_str(&jw, msg);
    vg_jw_obj_end(&jw);
    vg_buf_puts(&w->headers, "Content-Type: application/json\n");
}

void eng_call_log(eng_call *c, eng_level level, const char *text, size_t len)
{
    if (!c->dry_run) {
        eng_log_text(c->g, c->trig->name, level, text, len);
        return;
    }
    vg_buf_puts(&c->log_lines, eng_level_name(level));
    vg_buf_puts(&c->log_lines, ": ");
    vg_buf_append(&c->log_lines, text, len);
    vg_buf_putc(&c->log_lines, '\0');
}

/* The engine's own "starting/finished execution" lines: quiet in the server log. */
static void call_note(eng_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void call_note(eng_call *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->dry_run)
        eng_call_log(c, ENG_INFO, msg, strlen(msg));
    else
        eng_log_quiet(c->g, c->trig->name, "%s", msg);
}

/* After a successful call: its writes, the closing log line, the response. */
static void after_success(engine *g, eng_call *c, eng_job *j)
{
    commit_writes(g, c);
    char el[64];
    eng_format_elapsed(vg_mono_ns() - c->started, el, sizeof el);
    call_note(c, "finished execution in %s", el);
    if (j->waiter) {
        pthread_mutex_lock(&g->lock);
        answer_request(c, j->waiter);
        waiter_done(j->waiter);
        pthread_mutex_unlock(&g->lock);
    }
}

/* Logs a failure and applies the trigger's error behaviour. */
static bool handle_failure(engine *g, eng_call *c, eng_job *j)
{
    eng_trigger *t = j->trig;
    vg_buf msg;
    vg_buf_init(&msg);
    vg_buf_printf(&msg, "%s: ", failure_context(j->kind));
    vg_buf_append(&msg, c->error.data ? c->error.data : "", c->error.len);
    eng_log_text(g, t->name, ENG_ERROR, msg.data ? msg.data : "", msg.len);
    vg_buf_free(&msg);
    if (j->waiter) {
        pthread_mutex_lock(&g->lock);
        answer_request(c, j->waiter);
        waiter_done(j->waiter);
        pthread_mutex_unlock(&g->lock);
    }
    if (t->on_error == CATALOG_ON_ERROR_DISABLE && !g->stopping) {
        disable_after_error(g, t);
        return false;
    }
    if (t->on_error != CATALOG_ON_ERROR_RETRY || j->kind == ENG_JOB_REQUEST || g->stopping ||
        (c->cancelled && c->cancel_why && strcmp(c->cancel_why, "timeout") != 0))
        return false;
    if (j->attempt >= ENG_RETRY_ATTEMPTS) {
        eng_log(g, t->name, ENG_ERROR, "giving up after %d attempts", j->attempt);
        return false;
    }
    int64_t wait = backoff_ns(j->attempt);
    char el[64];
    eng_format_elapsed(wait, el, sizeof el);
    eng_log(g, t->name, ENG_WARN, "retrying in %s (attempt %d of %d)", el, j->attempt + 1,
            ENG_RETRY_ATTEMPTS);
    pthread_mutex_lock(&g->lock);
    bool keep = t->enabled && !t->deleted;
    if (keep) {
        j->attempt++;
        j->not_before = vg_mono_ns() + wait;
        /* Back at the head: the retry comes before anything queued after it. */
        j->next = t->head;
        t->head = j;
        if (!t->tail)
            t->tail = j;
        pthread_cond_signal(&g->work_cond);
    }
    pthread_mutex_unlock(&g->lock);
    return keep;
}

/* ---- running a job ---- */

static void call_free(eng_call *c)
{
    for (size_t i = 0; i < c->nwrites; i++) {
        vg_free(c->writes[i].db);
        vg_buf_free(&c->writes[i].lines);
    }
    vg_free(c->writes);
    vg_buf_free(&c->log_lines);
    vg_buf_free(&c->error);
    vg_buf_free(&c->resp_body);
    vg_buf_free(&c->resp_headers);
    vg_free(c);
}

/* ---- dry runs ---- */

/* The rows of a wal test's input, as a batch the plugin sees like a real write. */
static eng_batch *batch_from_lp(engine *g, const char *db, const char *lp, vg_buf *errors)
{
    eng_batch *b = vg_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->synced = true;
    vg_arena_init(&b->arena, 64 * 1024);
    vg_arena *a = &b->arena;
    ingest_preview pv;
    vg_err e;
    if (ingest_preview_write(g->cfg.ingest, db, lp, strlen(lp), "ns", 0, a, &pv, &e) != VG_OK) {
        vg_buf_printf(errors, "%s", e.msg);
        vg_buf_putc(errors, '\0');
        return b;
    }
    for (size_t i = 0; i < pv.nerrors; i++) {
        vg_buf_printf(errors, "input line %u: %s", pv.errors[i].line_no, pv.errors[i].msg);
        vg_buf_putc(errors, '\0');
    }
    for (size_t i = 0; i < pv.nlines; i++) {
        const ingest_preview_line *pl = &pv.lines[i];
        eng_table_rows *tr = NULL;
        for (uint32_t k = 0; k < b->ntables && !tr; k++)
            if (strlen(b->tables[k].name) == pl->table_len &&
                !memcmp(b->tables[k].name, pl->table, pl->table_len))
                tr = &b->tables[k];
        if (!tr) {
            eng_table_rows *nt = vg_arena_alloc(a, (b->ntables + 1) * sizeof *nt);
            if (!nt)
                return b;
            if (b->ntables)
                memcpy(nt, b->tables, b->ntables * sizeof *nt);
            b->tables = nt;
            tr = &nt[b->ntables++];
            memset(tr, 0, sizeof *tr);
            tr->table_id = b->ntables - 1;
            tr->name = pl->table;
        }
        /* Column "ids" of a test batch are positions in the table's own name list. */
        eng_val *vals = vg_arena_alloc(a, (pl->nvals + 1) * sizeof *vals);
        if (!vals)
            return b;
        for (uint32_t k = 0; k < pl->nvals; k++) {
            const ingest_preview_value *pvv = &pl->vals[k];
            uint32_t col = UINT32_MAX;
            for (uint32_t c = 0; c < tr->ncols && col == UINT32_MAX; c++)
                if (strlen(tr->col_names[c]) == pvv->key_len &&
                    !memcmp(tr->col_names[c], pvv->key, pvv->key_len))
                    col = c;
            if (col == UINT32_MAX) {
                const char **names = vg_arena_alloc(a, (tr->ncols + 1) * sizeof *names);
                if (!names)
                    return b;
                if (tr->ncols)
                    memcpy(names, tr->col_names, tr->ncols * sizeof *names);
                names[tr->ncols] = pvv->key;
                tr->col_names = names;
                col = tr->ncols++;
            }
            vals[k] = (eng_val){.col = col, .type = pvv->v.type};
            memcpy(&vals[k].v, &pvv->v.v, sizeof vals[k].v);
        }
        if (tr->nrows == tr->cap) {
            uint32_t cap = tr->cap ? tr->cap * 2 : 16;
            eng_row *nr = vg_arena_alloc(a, cap * sizeof *nr);
            if (!nr)
                return b;
            if (tr->nrows)
                memcpy(nr, tr->rows, tr->nrows * sizeof *nr);
            tr->rows = nr;
            tr->cap = cap;
        }
        tr->rows[tr->nrows++] = (eng_row){pl->time, vals, pl->nvals};
    }
    return b;
}

static void json_nul_list(vg_jw *w, const vg_buf *b)
{
    vg_jw_arr_begin(w);
    for (size_t off = 0; b->data && off < b->len;) {
        size_t n = strlen(b->data + off);
        vg_jw_strn(w, b->data + off, n);
        off += n + 1;
    }
    vg_jw_arr_end(w);
}

/* Checks the lines a dry run would write, as the write would (nothing is written). */
static void check_test_writes(engine *g, const eng_call *c, vg_buf *errors)
{
    for (size_t i = 0; i < c->nwrites; i++) {
        const eng_write_buf *wb = &c->writes[i];
        vg_arena a;
        vg_arena_init(&a, 16 * 1024);
        ingest_preview pv;
        vg_err e;
        vg_err ne;
        if (catalog_validate_db_name(wb->db, strlen(wb->db), &ne) != VG_OK) {
            vg_buf_printf(errors, "database name %s is invalid: %s", wb->db, ne.msg);
            vg_buf_putc(errors, '\0');
        } else if (ingest_preview_write(g->cfg.ingest, wb->db, wb->lines.data ? wb->lines.data : "",
                                        wb->lines.len, "ns", 0, &a, &pv, &e) != VG_OK) {
            vg_buf_printf(errors, "Failed to validate output lines to db %s: %s", wb->db, e.msg);
            vg_buf_putc(errors, '\0');
        } else {
            for (size_t k = 0; k < pv.nerrors; k++) {
                vg_buf_printf(errors, "invalid line written to db %s: line %u: %s: %.*s", wb->db,
                              pv.errors[k].line_no, pv.errors[k].msg, (int)pv.errors[k].text_len,
                              pv.errors[k].text);
                vg_buf_putc(errors, '\0');
            }
        }
        vg_arena_free(&a);
    }
}

/* The dry run's answer, in Core's shape. */
static void test_json(engine *g, eng_call *c, eng_job *j, vg_buf *errors, vg_buf *out)
{
    if (c->failed) {
        vg_buf_append(errors, c->error.data ? c->error.data : "", c->error.len);
        vg_buf_putc(errors, '\0');
    } else {
        check_test_writes(g, c, errors);
    }
    vg_jw w;
    vg_jw_init(&w, out);
    vg_jw_obj_begin(&w);
    if (j->kind == ENG_JOB_TEST_SCHEDULE) {
        char ts[48];
        vg_format_timestamp(j->call_time_ns, true, ts);
        vg_jw_key(&w, "trigger_time");
        vg_jw_str(&w, ts);
    }
    vg_jw_key(&w, "log_lines");
    json_nul_list(&w, &c->log_lines);
    vg_jw_key(&w, "database_writes");
    vg_jw_obj_begin(&w);
    for (size_t i = 0; i < c->nwrites; i++) {
        const eng_write_buf *wb = &c->writes[i];
        vg_jw_key(&w, wb->db);
        vg_jw_arr_begin(&w);
        const char *p = wb->lines.data, *end = p ? p + wb->lines.len : NULL;
        while (p && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            vg_jw_strn(&w, p, n);
            p += n + 1;
        }
        vg_jw_arr_end(&w);
    }
    vg_jw_obj_end(&w);
    vg_jw_key(&w, "errors");
    json_nul_list(&w, errors);
    vg_jw_obj_end(&w);
}

static void run_job(eng_worker *w, eng_job *j)
{
    engine *g = w->g;
    if (j->kind == ENG_JOB_DROP_CACHE) {
        eng_py_drop_cache(g, j->trig->cache_ns);
        pthread_mutex_lock(&g->lock);
        eng_job_free(g, j);
        pthread_mutex_unlock(&g->lock);
        return;
    }
    eng_call *c = vg_calloc(1, sizeof *c);
    if (!c) {
        VG_ERROR(ENG_MOD, "out of memory starting a call of trigger %s", j->trig->name);
        pthread_mutex_lock(&g->lock);
        if (!j->adhoc)
            j->trig->running--;
        eng_job_free(g, j);
        pthread_mutex_unlock(&g->lock);
        return;
    }
    static atomic_uint_fast64_t next_id = 1;
    c->id = atomic_fetch_add(&next_id, 1);
    c->g = g;
    c->trig = j->trig;
    c->job = j;
    c->dry_run = j->kind == ENG_JOB_TEST_WAL || j->kind == ENG_JOB_TEST_SCHEDULE;
    c->status = 200;
    vg_buf_init(&c->log_lines);
    vg_buf_init(&c->error);
    vg_buf_init(&c->resp_body);
    vg_buf_init(&c->resp_headers);
    vg_buf test_errors;
    vg_buf_init(&test_errors);
    if (j->kind == ENG_JOB_TEST_WAL && !j->batch)
        j->batch =
            batch_from_lp(g, j->waiter->test.database, j->waiter->test.input_lp, &test_errors);
    /* A no_sync write is handed over before its fsync: wait for it here, on the
     * worker, so a plugin never acts on rows a crash could still lose. */
    for (eng_job *k = j; j->kind == ENG_JOB_WAL && k; k = k->merged) {
        vg_err e;
        if (k->batch && !k->batch->synced &&
            ingest_sync(g->cfg.ingest, k->batch->wal_seq, &e) != VG_OK)
            VG_ERROR(ENG_MOD, "waiting for the WAL before trigger %s: %s", j->trig->name, e.msg);
    }
    c->started = vg_mono_ns();
    if (j->kind == ENG_JOB_WAL || j->kind == ENG_JOB_TEST_WAL) {
        call_note(c, "starting execution of wal plugin.");
    } else if (j->kind == ENG_JOB_REQUEST) {
        call_note(c, "starting execution of request plugin.");
    } else {
        char ts[48];
        vg_format_timestamp(j->call_time_ns / VG_NS_PER_SEC * VG_NS_PER_SEC, false, ts);
        char *tee = strchr(ts, 'T');
        if (tee)
            *tee = ' ';
        call_note(c, "starting execution with scheduled time %s UTC", ts);
    }
    c->deadline = c->started + g->timeout_ns;
    pthread_mutex_lock(&g->call_lock);
    c->next_active = g->active;
    g->active = c;
    pthread_mutex_unlock(&g->call_lock);
    pthread_mutex_lock(&g->lock);
    w->call = c;
    pthread_mutex_unlock(&g->lock);

    tls_depth = j->depth + 1;
    eng_py_run(c);

    pthread_mutex_lock(&g->call_lock);
    for (eng_call **p = &g->active; *p; p = &(*p)->next_active)
        if (*p == c) {
            *p = c->next_active;
            break;
        }
    pthread_mutex_unlock(&g->call_lock);

    bool retried = false;
    if (c->dry_run) {
        if (!c->failed) {
            char el[64];
            eng_format_elapsed(vg_mono_ns() - c->started, el, sizeof el);
            call_note(c, "finished execution in %s", el);
        }
        vg_buf out;
        vg_buf_init(&out);
        test_json(g, c, j, &test_errors, &out);
        pthread_mutex_lock(&g->lock);
        if (out.oom || test_errors.oom) {
            j->waiter->rc = VG_ENOMEM;
            snprintf(j->waiter->err, sizeof j->waiter->err, "out of memory");
        } else {
            vg_buf_append(&j->waiter->json, out.data ? out.data : "", out.len);
        }
        waiter_done(j->waiter);
        pthread_mutex_unlock(&g->lock);
        vg_buf_free(&out);
    } else if (!c->failed) {
        after_success(g, c, j);
    } else {
        retried = handle_failure(g, c, j);
    }
    tls_depth = 0;
    pthread_mutex_lock(&g->lock);
    w->call = NULL;
    eng_trigger *t = j->trig;
    if (!j->adhoc && --t->running > 0)
        t->running_since = vg_mono_ns();
    if (!retried)
        eng_job_free(g, j);
    pthread_cond_broadcast(&g->work_cond);
    pthread_mutex_unlock(&g->lock);
    vg_buf_free(&test_errors);
    call_free(c);
}

static void *worker_main(void *arg)
{
    eng_worker *w = arg;
    engine *g = w->g;
    void *py = eng_py_thread_enter(g);
    pthread_mutex_lock(&g->lock);
    while (!g->stopping && !w->abandoned) {
        int64_t now = vg_mono_ns(), wake;
        eng_job *j = pick_job(g, now, &wake);
        if (!j) {
            struct timespec ts;
            if (wake == INT64_MAX) {
                pthread_cond_wait(&g->work_cond, &g->lock);
                continue;
            }
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = ts.tv_nsec + (wake - now);
            ts.tv_sec += ns / VG_NS_PER_SEC;
            ts.tv_nsec = ns % VG_NS_PER_SEC;
            pthread_cond_timedwait(&g->work_cond, &g->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&g->lock);
        run_job(w, j);
        pthread_mutex_lock(&g->lock);
    }
    bool abandoned = w->abandoned;
    pthread_mutex_unlock(&g->lock);
    eng_py_thread_leave(g, py);
    pthread_mutex_lock(&g->lock);
    w->exited = true;
    pthread_mutex_unlock(&g->lock);
    (void)abandoned;
    return NULL;
}

int eng_start_worker(engine *g, vg_err *e)
{
    if (g->nworkers == g->workers_cap) {
        uint32_t cap = g->workers_cap ? g->workers_cap * 2 : 8;
        eng_worker **nw = vg_realloc(g->workers, cap * sizeof *nw);
        if (!nw)
            return vg_err_set(e, VG_ENOMEM, "out of memory starting a plugin worker");
        g->workers = nw;
        g->workers_cap = cap;
    }
    eng_worker *w = vg_calloc(1, sizeof *w);
    if (!w)
        return vg_err_set(e, VG_ENOMEM, "out of memory starting a plugin worker");
    w->g = g;
    w->index = (int)g->nworkers;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        vg_free(w);
        return vg_err_set(e, VG_EIO, "cannot start a plugin worker thread");
    }
    g->workers[g->nworkers++] = w;
    return VG_OK;
}

/* ---- the ingest hook ---- */

/* Copies what WAL triggers need from one write (catalog read lock held). */
typedef struct copy_ctx {
    eng_batch *b;
    catalog_db *db;
    bool all_tables;
    const char *const *want; /* table names wanted when !all_tables */
    uint32_t nwant;
    eng_table_rows *last;
} copy_ctx;

static eng_table_rows *table_slot(copy_ctx *cc, uint32_t table_id)
{
    eng_batch *b = cc->b;
    if (cc->last && cc->last->table_id == table_id)
        return cc->last;
    for (uint32_t i = 0; i < b->ntables; i++)
        if (b->tables[i].table_id == table_id)
            return cc->last = &b->tables[i];
    catalog_table *ct = table_id < cc->db->ntables ? cc->db->tables[table_id] : NULL;
    if (!ct)
        return NULL;
    bool wanted = cc->all_tables;
    for (uint32_t i = 0; !wanted && i < cc->nwant; i++)
        wanted =
            strlen(cc->want[i]) == ct->name_len && !memcmp(cc->want[i], ct->name, ct->name_len);
    if (!wanted)
        return NULL;
    eng_table_rows *nt = vg_arena_alloc(&b->arena, (b->ntables + 1) * sizeof *nt);
    if (!nt)
        return NULL;
    if (b->ntables)
        memcpy(nt, b->tables, b->ntables * sizeof *nt);
    b->tables = nt;
    eng_table_rows *tr = &nt[b->ntables];
    memset(tr, 0, sizeof *tr);
    tr->table_id = table_id;
    tr->name = vg_arena_strndup(&b->arena, ct->name, ct->name_len);
    tr->ncols = ct->ncols;
    tr->col_names = vg_arena_calloc(&b->arena, (ct->ncols + 1) * sizeof *tr->col_names);
    if (!tr->name || !tr->col_names)
        return NULL;
    b->ntables++;
    return cc->last = tr;
}

static int copy_row(copy_ctx *cc, const ingest_row *r)
{
    eng_table_rows *tr = table_slot(cc, r->table_id);
    if (!tr)
        return cc->b->arena.head ? VG_OK : VG_OK; /* not wanted (or an id unknown: skip) */
    vg_arena *a = &cc->b->arena;
    if (tr->nrows == tr->cap) {
        uint32_t cap = tr->cap ? tr->cap * 2 : 64;
        eng_row *nr = vg_arena_alloc(a, cap * sizeof *nr);
        if (!nr)
            return VG_ENOMEM;
        if (tr->nrows)
            memcpy(nr, tr->rows, tr->nrows * sizeof *nr);
        tr->rows = nr;
        tr->cap = cap;
    }
    eng_val *vals = vg_arena_alloc(a, (r->nvals ? r->nvals : 1) * sizeof *vals);
    if (!vals)
        return VG_ENOMEM;
    catalog_table *ct = cc->db->tables[r->table_id];
    for (uint32_t i = 0; i < r->nvals; i++) {
        const buffer_value *bv = &r->vals[i];
        eng_val *v = &vals[i];
        v->col = bv->col;
        v->type = bv->type;
        if (bv->col < tr->ncols && !tr->col_names[bv->col] && bv->col < ct->ncols) {
            const catalog_column *col = ct->cols[bv->col];
            tr->col_names[bv->col] = vg_arena_strndup(a, col->name, col->name_len);
            if (!tr->col_names[bv->col])
                return VG_ENOMEM;
        }
        switch (bv->type) {
        case CATALOG_TAG:
        case CATALOG_STRING: {
            char *s = vg_arena_strndup(a, bv->v.s.p, bv->v.s.len);
            if (!s)
                return VG_ENOMEM;
            v->v.s.p = s;
            v->v.s.len = bv->v.s.len;
            break;
        }
        case CATALOG_FLOAT: v->v.f = bv->v.f; break;
        case CATALOG_INT: v->v.i = bv->v.i; break;
        case CATALOG_UINT: v->v.u = bv->v.u; break;
        case CATALOG_BOOL: v->v.b = bv->v.b; break;
        case CATALOG_TIME: v->v.i = bv->v.i; break;
        }
    }
    tr->rows[tr->nrows++] = (eng_row){r->time, vals, r->nvals};
    return VG_OK;
}

static eng_batch *copy_batch(engine *g, const ingest_batch *ib, bool all_tables,
                             const char *const *want, uint32_t nwant)
{
    eng_batch *b = vg_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->db_id = ib->db_id;
    b->wal_seq = ib->wal_seq;
    b->synced = ib->synced;
    b->depth = tls_depth;
    vg_arena_init(&b->arena, 64 * 1024);
    int rc = VG_OK;
    catalog_read_lock(g->cfg.cat);
    copy_ctx cc = {.b = b,
                   .db = catalog_db_get(g->cfg.cat, ib->db_id),
                   .all_tables = all_tables,
                   .want = want,
                   .nwant = nwant};
    for (size_t i = 0; cc.db && i < ib->nrows && rc == VG_OK; i++)
        rc = copy_row(&cc, &ib->rows[i]);
    catalog_read_unlock(g->cfg.cat);
    b->bytes = b->arena.used + sizeof *b;
    if (rc != VG_OK) {
        eng_batch_unref(b);
        return NULL;
    }
    return b;
}

static bool has_table(const eng_batch *b, const char *name)
{
    for (uint32_t i = 0; i < b->ntables; i++)
        if (b->tables[i].nrows && !strcmp(b->tables[i].name, name))
            return true;
    return false;
}

/* A trigger whose call has run past the timeout cannot be waited for. */
static bool stalled(const engine *g, const eng_trigger *t, int64_t now)
{
    return t->running > 0 && now - t->running_since > g->timeout_ns;
}

void engine_on_batch(void *ctx, const ingest_batch *ib)
{
    engine *g = ctx;
    if (atomic_load(&g->wal_triggers) == 0 || ib->nrows == 0 || g->stopping)
        return;
    /* Which triggers want this write, and which tables they need. */
    enum { MAXT = 64 };
    const char *want[MAXT];
    char *want_copy[MAXT];
    uint32_t nwant = 0, nmatch = 0;
    bool all = false;
    pthread_mutex_lock(&g->lock);
    for (uint32_t i = 0; i < g->ntrigs; i++) {
        eng_trigger *t = g->trigs[i];
        if (!t->enabled || t->db_id != ib->db_id || !engine_spec_is_wal(&t->spec))
            continue;
        nmatch++;
        if (t->spec.kind == ENGINE_SPEC_ALL_TABLES || nwant == MAXT)
            all = true;
        else if ((want_copy[nwant] = vg_strdup(t->spec.arg)))
            want[nwant] = want_copy[nwant], nwant++;
        else
            all = true;
    }
    pthread_mutex_unlock(&g->lock);
    if (nmatch == 0)
        goto out;
    int depth = tls_depth;
    if (depth > ENG_MAX_WRITE_DEPTH) {
        pthread_mutex_lock(&g->lock);
        for (uint32_t i = 0; i < g->ntrigs; i++) {
            eng_trigger *t = g->trigs[i];
            if (t->enabled && t->db_id == ib->db_id && engine_spec_is_wal(&t->spec))
                eng_log(g, t->name, ENG_WARN,
                        "not running trigger %s for a write made by a plugin %d levels deep (a "
                        "trigger whose plugin writes to a table it watches?): the chain stops here",
                        t->name, depth);
        }
        pthread_mutex_unlock(&g->lock);
        goto out;
    }
    eng_batch *b = copy_batch(g, ib, all, want, nwant);
    if (!b) {
        VG_ERROR(ENG_MOD, "out of memory copying %zu rows for the processing engine", ib->nrows);
        goto out;
    }
    if (b->ntables == 0) {
        eng_batch_unref(b);
        goto out;
    }
    pthread_mutex_lock(&g->lock);
    size_t limit = g->cfg.queue_bytes;
    /* Back-pressure: a client write waits while plugins are far behind, unless one of
     * them is stuck (then waiting would hang writers; its batches are dropped below).
     * Writes made by plugins never wait: their worker is what drains the queue. */
    int64_t until = vg_mono_ns() + g->timeout_ns;
    while (depth == 0 && !g->stopping && g->queued_bytes + b->bytes > limit &&
           vg_mono_ns() < until) {
        bool any_stalled = false;
        int64_t now = vg_mono_ns();
        for (uint32_t i = 0; i < g->ntrigs && !any_stalled; i++)
            any_stalled = g->trigs[i]->head && stalled(g, g->trigs[i], now);
        if (any_stalled)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * VG_NS_PER_MS;
        if (ts.tv_nsec >= VG_NS_PER_SEC) {
            ts.tv_sec++;
            ts.tv_nsec -= VG_NS_PER_SEC;
        }
        pthread_cond_timedwait(&g->space_cond, &g->lock, &ts);
    }
    int64_t now = vg_mono_ns();
    for (uint32_t i = 0; i < g->ntrigs; i++) {
        eng_trigger *t = g->trigs[i];
        if (!t->enabled || t->db_id != ib->db_id || !engine_spec_is_wal(&t->spec))
            continue;
        if (t->spec.kind == ENGINE_SPEC_TABLE && !has_table(b, t->spec.arg))
            continue;
        if (g->queued_bytes + b->bytes > 2 * limit || (stalled(g, t, now) && t->head)) {
            size_t rows = 0;
            for (uint32_t k = 0; k < b->ntables; k++)
                rows += b->tables[k].nrows;
            eng_log(g, t->name, ENG_WARN,
                    "dropped a write of %zu rows for trigger %s: its plugin is too far behind "
                    "(%zu bytes queued, --plugin-queue-size %zu)%s",
                    rows, t->name, g->queued_bytes, limit,
                    stalled(g, t, now) ? "; a call has been running past the plugin timeout" : "");
            continue;
        }
        eng_job *j = vg_calloc(1, sizeof *j);
        if (!j) {
            VG_ERROR(ENG_MOD, "out of memory queueing a write for trigger %s", t->name);
            continue;
        }
        j->kind = ENG_JOB_WAL;
        j->attempt = 1;
        j->depth = depth;
        atomic_fetch_add(&b->refs, 1);
        j->batch = b;
        eng_enqueue(g, t, j);
    }
    pthread_mutex_unlock(&g->lock);
    eng_batch_unref(b);
out:
    for (uint32_t i = 0; i < nwant; i++)
        vg_free(want_copy[i]);
}

/* ---- life ---- */

static int resolve_plugin_dir(engine *g, vg_err *e)
{
    const char *d = g->cfg.plugin_dir;
    if (!d || !*d)
        return vg_err_set(e, VG_EINVAL, "--plugin-dir is empty");
    int rc = vg_mkdir_p(d, e);
    if (rc != VG_OK)
        return rc;
    char *real = realpath(d, NULL);
    if (!real)
        return vg_err_errno(e, VG_EIO, errno, "cannot resolve --plugin-dir '%s'", d);
    g->plugin_dir = vg_strdup(real);
    free(real);
    if (!g->plugin_dir)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    return VG_OK;
}

int engine_new(const engine_config *cfg, engine **out, vg_err *e)
{
    *out = NULL;
    engine *g = vg_calloc(1, sizeof *g);
    if (!g)
        return vg_err_set(e, VG_ENOMEM, "out of memory creating the processing engine");
    g->cfg = *cfg;
    g->timeout_ns = cfg->plugin_timeout_ns > 0 ? cfg->plugin_timeout_ns : ENGINE_DEFAULT_TIMEOUT_NS;
    if (!g->cfg.workers)
        g->cfg.workers = ENGINE_DEFAULT_WORKERS;
    if (!g->cfg.queue_bytes)
        g->cfg.queue_bytes = ENGINE_DEFAULT_QUEUE_BYTES;
    if (!g->cfg.log_size)
        g->cfg.log_size = ENGINE_DEFAULT_LOG_SIZE;
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->call_lock, NULL);
    pthread_mutex_init(&g->log_lock, NULL);
    pthread_mutex_init(&g->catalog_mutation, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->work_cond, &ca);
    pthread_cond_init(&g->space_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&g->sched_cond, NULL); /* wall clock: fire times are wall clock */
    int rc = resolve_plugin_dir(g, e);
    if (rc == VG_OK)
        rc = eng_log_init(g, e);
    if (rc == VG_OK)
        rc = eng_py_init(g, e);
    if (rc == VG_OK && g->cfg.query)
        rc = eng_register_tables(g, e);
    if (rc == VG_OK)
        rc = eng_load_triggers(g, e);
    pthread_mutex_lock(&g->lock);
    for (uint32_t i = 0; rc == VG_OK && i < g->cfg.workers; i++)
        rc = eng_start_worker(g, e);
    pthread_mutex_unlock(&g->lock);
    if (rc == VG_OK)
        rc = eng_sched_start(g, e);
    if (rc != VG_OK) {
        engine_free(g);
        return rc;
    }
    VG_INFO(ENG_MOD,
            "processing engine started: plugin directory %s, %u worker(s), plugin "
            "timeout %.3g s, %u trigger(s)",
            g->plugin_dir, g->cfg.workers, (double)g->timeout_ns / 1e9, g->ntrigs);
    *out = g;
    return VG_OK;
}

/* Joins a worker, giving up after a while (it may be stuck in C code). */
static bool join_worker(eng_worker *w, int64_t wait_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + wait_ns;
    ts.tv_sec += ns / VG_NS_PER_SEC;
    ts.tv_nsec = ns % VG_NS_PER_SEC;
    return pthread_timedjoin_np(w->thread, NULL, &ts) == 0;
}

void engine_stop(engine *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    bool was = g->stopping;
    g->stopping = true;
    pthread_cond_broadcast(&g->work_cond);
    pthread_cond_broadcast(&g->space_cond);
    pthread_cond_broadcast(&g->sched_cond);
    /* Whoever waits for a job (an HTTP request, a dry run) is answered now. */
    for (uint32_t i = 0; i < g->ntrigs; i++)
        eng_drop_jobs(g, g->trigs[i]);
    while (g->adhoc_head) {
        eng_job *j = g->adhoc_head;
        g->adhoc_head = j->next;
        eng_job_free(g, j);
    }
    g->adhoc_tail = NULL;
    pthread_mutex_unlock(&g->lock);
    if (!was)
        eng_cancel_calls(g, NULL, "the server is shutting down");
}

void engine_free(engine *g)
{
    if (!g)
        return;
    engine_stop(g);
    eng_sched_stop(g); /* the watchdog interrupts the calls still running first */
    bool stuck = false;
    for (uint32_t i = 0; i < g->nworkers; i++) {
        eng_worker *w = g->workers[i];
        pthread_mutex_lock(&g->lock);
        bool abandoned = w->abandoned, exited = w->exited;
        pthread_mutex_unlock(&g->lock);
        if (abandoned && !exited) {
            stuck = true;
            continue;
        }
        if (abandoned) {
            pthread_join(w->thread, NULL);
            continue;
        }
        if (!join_worker(w, g->timeout_ns + ENG_STUCK_GRACE_NS)) {
            VG_ERROR(ENG_MOD, "a plugin worker did not stop: a plugin is stuck in a call that "
                              "cannot be interrupted");
            stuck = true;
        }
    }
    if (stuck) {
        /* A thread still inside a plugin may touch the engine and the interpreter at
         * any moment: leave both alone (the process is exiting). */
        VG_ERROR(ENG_MOD, "leaving the Python interpreter running: a plugin is stuck");
        return;
    }
    pthread_mutex_lock(&g->lock);
    for (uint32_t i = 0; i < g->ntrigs; i++)
        eng_drop_jobs(g, g->trigs[i]);
    while (g->adhoc_head) {
        eng_job *j = g->adhoc_head;
        g->adhoc_head = j->next;
        eng_job_free(g, j);
    }
    g->adhoc_tail = NULL;
    for (uint32_t i = 0; i < g->ntrigs; i++)
        eng_trigger_unref(g->trigs[i]);
    g->ntrigs = 0;
    pthread_mutex_unlock(&g->lock);
    eng_py_shutdown(g, true);
    for (uint32_t i = 0; i < g->nworkers; i++)
        vg_free(g->workers[i]);
    vg_free(g->workers);
    vg_free(g->trigs);
    eng_log_free(g);
    vg_free(g->plugin_dir);
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->call_lock);
    pthread_mutex_destroy(&g->log_lock);
    pthread_mutex_destroy(&g->catalog_mutation);
    pthread_cond_destroy(&g->work_cond);
    pthread_cond_destroy(&g->space_cond);
    pthread_cond_destroy(&g->sched_cond);
    vg_free(g);
}
