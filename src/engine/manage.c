/* engine/manage.c: triggers as the HTTP API manages them, request triggers, dry runs.
 *
 * Owns loading the catalog's triggers at start-up (they resume as they were), create
 * (validate the specification and the plugin, then the catalog stores it), delete
 * (refused for an enabled trigger without force, as Core), enable and disable, the
 * hand-off of an HTTP request to its trigger's plugin, and the dry runs behind
 * `vigil test wal_plugin` and `vigil test schedule_plugin`.
 *
 * Every change goes catalog first (durable), engine second, under one mutex so two
 * changes of the same trigger cannot interleave. */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int eng_load_triggers(engine *g, vg_err *e)
{
    catalog *cat = g->cfg.cat;
    int rc = VG_OK;
    catalog_read_lock(cat);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(cat, &n);
    for (uint32_t i = 0; i < n && rc == VG_OK; i++) {
        catalog_trigger *ct = all[i];
        catalog_db *db = catalog_db_get(cat, ct->db_id);
        if (ct->deleted || !db || db->deleted)
            continue;
        vg_err te;
        eng_trigger *t = eng_trigger_from_catalog(g, ct, db->name, &te);
        if (!t) {
            if (te.code == VG_ENOMEM)
                rc = vg_err_set(e, VG_ENOMEM, "%s", te.msg);
            else /* a specification this version no longer takes: keep the server up */
                VG_ERROR(ENG_MOD, "trigger %s of database %s cannot run: %s", ct->name, db->name,
                         te.msg);
            continue;
        }
        pthread_mutex_lock(&g->lock);
        if (eng_registry_add(g, t))
            eng_set_enabled(g, t, !ct->disabled);
        pthread_mutex_unlock(&g->lock);
    }
    catalog_read_unlock(cat);
    return rc;
}

static int parse_error_behavior(const char *s, catalog_error_behavior *out, vg_err *e)
{
    if (!s || !strcmp(s, "log") || !strcmp(s, "Log"))
        *out = CATALOG_ON_ERROR_LOG;
    else if (!strcmp(s, "retry") || !strcmp(s, "Retry"))
        *out = CATALOG_ON_ERROR_RETRY;
    else if (!strcmp(s, "disable") || !strcmp(s, "Disable"))
        *out = CATALOG_ON_ERROR_DISABLE;
    else
        return vg_err_set(e, VG_EINVAL,
                          "invalid error behavior '%s': expected one of log, retry, disable", s);
    return VG_OK;
}

/* The live request trigger serving path, or NULL (catalog lock held). */
static catalog_trigger *request_owner(catalog *cat, const char *path)
{
    uint32_t n;
    catalog_trigger **all = catalog_triggers(cat, &n);
    for (uint32_t i = 0; i < n; i++) {
        catalog_db *d = catalog_db_get(cat, all[i]->db_id);
        if (all[i]->deleted || !d || d->deleted || strncmp(all[i]->spec, "request:", 8) != 0)
            continue;
        if (!strcmp(all[i]->spec + 8, path))
            return all[i];
    }
    return NULL;
}

int engine_trigger_create(engine *g, const engine_trigger_request *r, vg_err *e)
{
    engine_spec spec;
    catalog_error_behavior eb = CATALOG_ON_ERROR_LOG;
    char *path = NULL;
    bool is_dir;
    int rc;
    if (!r->name || !*r->name)
        return vg_err_set(e, VG_EINVAL, "trigger name cannot be empty");
    if (!r->db || !*r->db)
        return vg_err_set(e, VG_EINVAL, "database name cannot be empty");
    if ((rc = engine_spec_parse(r->spec ? r->spec : "", &spec, e)) != VG_OK ||
        (rc = parse_error_behavior(r->error_behavior, &eb, e)) != VG_OK)
        return rc;
    if ((rc = eng_plugin_path(g, r->plugin ? r->plugin : "", &path, &is_dir, e)) != VG_OK)
        return rc;
    vg_free(path);
    catalog_trigger_arg *args = vg_calloc(r->nargs + 1, sizeof *args);
    if (!args)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < r->nargs; i++)
        args[i] = (catalog_trigger_arg){(char *)r->arg_keys[i], (char *)r->arg_values[i]};
    catalog_trigger_def def = {.name = r->name,
                               .plugin = r->plugin,
                               .spec = spec.text,
                               .args = args,
                               .nargs = r->nargs,
                               .run_async = r->run_async,
                               .error_behavior = eb,
                               .disabled = r->disabled};
    catalog *cat = g->cfg.cat;
    eng_trigger *t = NULL;
    pthread_mutex_lock(&g->catalog_mutation);
    catalog_write_lock(cat);
    catalog_db *db = catalog_db_find(cat, r->db, strlen(r->db));
    catalog_trigger *ct = NULL, *owner;
    if (!db) {
        rc = vg_err_set(e, VG_ENOTFOUND, "database not found: %s", r->db);
    } else if (spec.kind == ENGINE_SPEC_REQUEST && (owner = request_owner(cat, spec.arg)) &&
               !(owner->db_id == db->id && !strcmp(owner->name, r->name))) {
        catalog_db *od = catalog_db_get(cat, owner->db_id);
        rc = vg_err_set(e, VG_EEXISTS,
                        "a request trigger for path '%s' already exists (trigger %s in database "
                        "%s)",
                        spec.arg, owner->name, od ? od->name : "?");
    } else {
        rc = catalog_trigger_create(cat, db, &def, &ct, e);
        if (rc == VG_OK)
            rc = catalog_commit(cat, e);
        if (rc == VG_OK)
            t = eng_trigger_from_catalog(g, ct, db->name, e);
        if (rc == VG_OK && !t)
            rc = e->code;
    }
    catalog_write_unlock(cat);
    if (t) {
        pthread_mutex_lock(&g->lock);
        if (eng_registry_add(g, t))
            eng_set_enabled(g, t, !r->disabled);
        pthread_mutex_unlock(&g->lock);
        VG_INFO(ENG_MOD, "created trigger %s in database %s: %s, plugin %s%s", r->name, r->db,
                spec.text, r->plugin, r->disabled ? " (disabled)" : "");
    }
    pthread_mutex_unlock(&g->catalog_mutation);
    vg_free(args);
    return rc;
}

/* Finds a live trigger by database and name (catalog lock held). */
static int find_trigger(catalog *cat, const char *db, const char *name, catalog_db **dbo,
                        catalog_trigger **out, vg_err *e)
{
    catalog_db *d = db ? catalog_db_find(cat, db, strlen(db)) : NULL;
    if (!d)
        return vg_err_set(e, VG_ENOTFOUND, "database not found: %s", db ? db : "");
    catalog_trigger *t = catalog_trigger_find(cat, d, name ? name : "");
    if (!t)
        return vg_err_set(e, VG_ENOTFOUND, "Processing Engine Trigger %s not found in database %s",
                          name ? name : "", d->name);
    *dbo = d;
    *out = t;
    return VG_OK;
}

int engine_trigger_delete(engine *g, const char *db, const char *name, bool force, vg_err *e)
{
    catalog *cat = g->cfg.cat;
    catalog_db *d;
    catalog_trigger *ct;
    pthread_mutex_lock(&g->catalog_mutation);
    catalog_write_lock(cat);
    int rc = find_trigger(cat, db, name, &d, &ct, e);
    uint32_t db_id = 0;
    if (rc == VG_OK && !ct->disabled && !force)
        rc = vg_err_set(e, VG_ELIMIT,
                        "Cannot delete running plugin %s. Disable it first or use --force.", name);
    if (rc == VG_OK) {
        db_id = d->id;
        rc = catalog_trigger_delete(cat, ct, e);
        if (rc == VG_OK)
            rc = catalog_commit(cat, e);
    }
    catalog_write_unlock(cat);
    if (rc == VG_OK) {
        pthread_mutex_lock(&g->lock);
        eng_trigger *t = eng_registry_find(g, db_id, name);
        if (t) {
            eng_set_enabled(g, t, false);
            t->deleted = true;
            eng_cancel_calls(g, t, "the trigger was deleted");
            /* Its cache goes too: a worker drops it (that needs the interpreter). */
            eng_job *j = vg_calloc(1, sizeof *j);
            if (j) {
                j->kind = ENG_JOB_DROP_CACHE;
                j->trig = t;
                t->refs++;
                eng_enqueue_adhoc(g, j);
            }
            eng_registry_remove(g, t);
        }
        pthread_mutex_unlock(&g->lock);
        VG_INFO(ENG_MOD, "deleted trigger %s of database %s", name, db);
    }
    pthread_mutex_unlock(&g->catalog_mutation);
    return rc;
}

int engine_trigger_set_enabled(engine *g, const char *db, const char *name, bool enabled, vg_err *e)
{
    catalog *cat = g->cfg.cat;
    catalog_db *d = NULL;
    catalog_trigger *ct;
    pthread_mutex_lock(&g->catalog_mutation);
    catalog_write_lock(cat);
    int rc = find_trigger(cat, db, name, &d, &ct, e);
    uint32_t db_id = rc == VG_OK ? d->id : 0;
    bool change = rc == VG_OK && ct->disabled == enabled;
    if (change) {
        rc = catalog_trigger_set_disabled(cat, ct, !enabled, e);
        if (rc == VG_OK)
            rc = catalog_commit(cat, e);
    }
    catalog_write_unlock(cat);
    if (rc == VG_OK) {
        pthread_mutex_lock(&g->lock);
        eng_trigger *t = eng_registry_find(g, db_id, name);
        if (t)
            eng_set_enabled(g, t, enabled);
        pthread_mutex_unlock(&g->lock);
        if (change)
            VG_INFO(ENG_MOD, "%s trigger %s of database %s", enabled ? "enabled" : "disabled", name,
                    db);
    }
    pthread_mutex_unlock(&g->catalog_mutation);
    return rc;
}

/* ---- waiting for a job ---- */

/* Waits for a waiter's job (engine lock held); false on timeout. */
static bool wait_done(engine *g, eng_waiter *w, int64_t timeout_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + timeout_ns;
    ts.tv_sec += ns / VG_NS_PER_SEC;
    ts.tv_nsec = ns % VG_NS_PER_SEC;
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &g->lock, &ts) != 0 && !w->done)
            return false;
    return true;
}

static const char *adup(vg_arena *a, const char *s, size_t n)
{
    return s ? vg_arena_strndup(a, s, n) : NULL;
}

static engine_kv *copy_kv(vg_arena *a, const engine_kv *kv, size_t n, bool lower)
{
    engine_kv *out = vg_arena_alloc(a, (n + 1) * sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        char *k = vg_arena_strndup(a, kv[i].key, strlen(kv[i].key));
        const char *v =
            adup(a, kv[i].value ? kv[i].value : "", strlen(kv[i].value ? kv[i].value : ""));
        if (!k || !v)
            return NULL;
        for (char *p = k; lower && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        out[i] = (engine_kv){k, v};
    }
    return out;
}

int engine_request(engine *g, const engine_http_request *req, engine_http_response *resp, vg_err *e)
{
    eng_waiter *w = eng_waiter_new();
    if (!w)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    vg_arena *a = &w->arena;
    w->req.path = adup(a, req->path, strlen(req->path));
    w->req.method = adup(a, req->method, strlen(req->method));
    w->req.query = copy_kv(a, req->query, req->nquery, false);
    w->req.nquery = req->nquery;
    w->req.headers = copy_kv(a, req->headers, req->nheaders, true);
    w->req.nheaders = req->nheaders;
    char *body = vg_arena_alloc(a, req->body_len + 1);
    if (body && req->body_len)
        memcpy(body, req->body, req->body_len);
    w->req.body = body;
    w->req.body_len = req->body_len;
    pthread_mutex_lock(&g->lock);
    if (!w->req.path || !w->req.method || !w->req.query || !w->req.headers || !body) {
        w->refs = 1;
        eng_waiter_unref(w);
        pthread_mutex_unlock(&g->lock);
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    }
    eng_trigger *t = NULL;
    for (uint32_t i = 0; i < g->ntrigs && !t; i++)
        if (g->trigs[i]->enabled && g->trigs[i]->spec.kind == ENGINE_SPEC_REQUEST &&
            !strcmp(g->trigs[i]->spec.arg, req->path))
            t = g->trigs[i];
    eng_job *j = t ? vg_calloc(1, sizeof *j) : NULL;
    if (!t || !j) {
        w->refs = 1;
        eng_waiter_unref(w);
        pthread_mutex_unlock(&g->lock);
        vg_free(j);
        return t ? vg_err_set(e, VG_ENOMEM, "out of memory")
                 : vg_err_set(e, VG_ENOTFOUND, "not found");
    }
    j->kind = ENG_JOB_REQUEST;
    j->attempt = 1;
    j->waiter = w;
    eng_enqueue(g, t, j);
    bool done = wait_done(g, w, g->timeout_ns + ENG_STUCK_GRACE_NS);
    if (done) {
        resp->status = w->status;
        vg_buf_append(&resp->body, w->body.data ? w->body.data : "", w->body.len);
        vg_buf_append(&resp->headers, w->headers.data ? w->headers.data : "", w->headers.len);
        if (w->rc != VG_OK && w->err[0]) {
            vg_buf_reset(&resp->body);
            vg_buf_reset(&resp->headers);
            vg_jw jw;
            vg_jw_init(&jw, &resp->body);
            vg_jw_obj_begin(&jw);
            vg_jw_key(&jw, "error");
            vg_jw_str(&jw, w->err);
            vg_jw_obj_end(&jw);
            vg_buf_puts(&resp->headers, "Content-Type: application/json\n");
            resp->status = 500;
        }
    } else {
        resp->status = 500;
        char msg[160];
        snprintf(msg, sizeof msg, "the plugin did not answer within %.3g s (--plugin-timeout)",
                 (double)g->timeout_ns / 1e9);
        vg_jw jw;
        vg_jw_init(&jw, &resp->body);
        vg_jw_obj_begin(&jw);
        vg_jw_key(&jw, "error");
        vg_jw_str(&jw, msg);
        vg_jw_obj_end(&jw);
        vg_buf_puts(&resp->headers, "Content-Type: application/json\n");
    }
    eng_waiter_unref(w);
    pthread_mutex_unlock(&g->lock);
    return VG_OK;
}

/* ---- dry runs ---- */

static int run_test(engine *g, const engine_test_request *r, eng_job_kind kind, vg_buf *json,
                    vg_err *e)
{
    char *path = NULL;
    bool is_dir;
    int rc = eng_plugin_path(g, r->filename ? r->filename : "", &path, &is_dir, e);
    if (rc != VG_OK)
        return rc;
    vg_free(path);
    if (!r->database || !*r->database)
        return vg_err_set(e, VG_EINVAL, "missing database");
    engine_spec spec = {.kind = ENGINE_SPEC_CRON};
    if (kind == ENG_JOB_TEST_SCHEDULE) {
        const char *sched = r->schedule && *r->schedule ? r->schedule : "* * * * * *";
        vg_err ce;
        if (engine_cron_parse(sched, &spec.cron, &ce) != VG_OK)
            return vg_err_set(e, VG_EINVAL, "invalid cron syntax: %s", ce.msg);
        if (engine_cron_next(&spec.cron, vg_now_ns() / VG_NS_PER_SEC) < 0)
            return vg_err_set(e, VG_EINVAL, "cron schedule never triggers: %s", sched);
    } else {
        spec.kind = ENGINE_SPEC_ALL_TABLES;
    }
    eng_trigger *t = vg_calloc(1, sizeof *t);
    eng_waiter *w = eng_waiter_new();
    eng_job *j = vg_calloc(1, sizeof *j);
    if (!t || !w || !j) {
        vg_free(t);
        vg_free(j);
        if (w) {
            w->refs = 1;
            eng_waiter_unref(w);
        }
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    }
    t->refs = 1;
    t->cat_id = UINT32_MAX;
    t->test = true;
    t->enabled = true;
    t->spec = spec;
    t->db_name = vg_strdup(r->database);
    t->name = vg_strdup(r->filename);
    t->plugin = vg_strdup(r->filename);
    char ns[VG_ERR_MSG_BYTES];
    snprintf(ns, sizeof ns, "test:%s",
             r->cache_name && *r->cache_name ? r->cache_name : r->filename);
    t->cache_ns = vg_strdup(ns);
    t->arg_keys = vg_calloc(r->nargs + 1, sizeof *t->arg_keys);
    t->arg_vals = vg_calloc(r->nargs + 1, sizeof *t->arg_vals);
    bool ok = t->db_name && t->name && t->plugin && t->cache_ns && t->arg_keys && t->arg_vals;
    for (uint32_t i = 0; ok && i < r->nargs; i++) {
        t->arg_keys[i] = vg_strdup(r->arg_keys[i]);
        t->arg_vals[i] = vg_strdup(r->arg_values[i]);
        t->nargs = i + 1;
        ok = t->arg_keys[i] && t->arg_vals[i];
    }
    vg_arena *a = &w->arena;
    w->test.database = adup(a, r->database, strlen(r->database));
    w->test.input_lp = r->input_lp ? adup(a, r->input_lp, strlen(r->input_lp)) : "";
    ok = ok && w->test.database && w->test.input_lp;
    pthread_mutex_lock(&g->lock);
    if (!ok) {
        eng_trigger_unref(t);
        w->refs = 1;
        eng_waiter_unref(w);
        vg_free(j);
        pthread_mutex_unlock(&g->lock);
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    }
    j->kind = kind;
    j->trig = t; /* the job owns the only reference */
    j->attempt = 1;
    j->waiter = w;
    j->call_time_ns =
        kind == ENG_JOB_TEST_SCHEDULE
            ? engine_cron_next(&spec.cron, vg_now_ns() / VG_NS_PER_SEC) * VG_NS_PER_SEC
            : 0;
    eng_enqueue_adhoc(g, j);
    bool done = wait_done(g, w, g->timeout_ns + ENG_STUCK_GRACE_NS);
    if (!done)
        rc = vg_err_set(e, VG_EINTERNAL,
                        "the plugin did not finish within %.3g s (--plugin-timeout)",
                        (double)g->timeout_ns / 1e9);
    else if (w->rc != VG_OK)
        rc = vg_err_set(e, (vg_code)w->rc, "%s", w->err);
    else
        vg_buf_append(json, w->json.data ? w->json.data : "", w->json.len);
    eng_waiter_unref(w);
    pthread_mutex_unlock(&g->lock);
    return rc;
}

int engine_test_wal(engine *g, const engine_test_request *r, vg_buf *json, vg_err *e)
{
    if (!r->input_lp)
        return vg_err_set(e, VG_EINVAL, "serde json error: missing field `input_lp`");
    return run_test(g, r, ENG_JOB_TEST_WAL, json, e);
}

int engine_test_schedule(engine *g, const engine_test_request *r, vg_buf *json, vg_err *e)
{
    return run_test(g, r, ENG_JOB_TEST_SCHEDULE, json, e);
}

void engine_forget_deleted_databases(engine *g)
{
    if (!g)
        return;
    /* The catalog first (its lock is never taken under the engine's), then the
     * triggers of databases that are gone stop for good: their rows are gone too. */
    catalog *cat = g->cfg.cat;
    catalog_read_lock(cat);
    uint32_t ndb;
    catalog_db **dbs = catalog_dbs(cat, &ndb);
    bool *deleted = vg_calloc(ndb + 1, sizeof *deleted);
    for (uint32_t i = 0; deleted && i < ndb; i++)
        deleted[i] = dbs[i]->deleted; /* ids are indexes */
    catalog_read_unlock(cat);
    if (!deleted) {
        VG_ERROR(ENG_MOD, "out of memory stopping the triggers of a deleted database");
        return;
    }
    pthread_mutex_lock(&g->lock);
    for (uint32_t i = 0; i < g->ntrigs;) {
        eng_trigger *t = g->trigs[i];
        if (t->db_id >= ndb || !deleted[t->db_id]) {
            i++;
            continue;
        }
        VG_INFO(ENG_MOD, "trigger %s stops: its database %s was deleted", t->name, t->db_name);
        eng_set_enabled(g, t, false);
        t->deleted = true;
        eng_registry_remove(g, t);
    }
    pthread_mutex_unlock(&g->lock);
    vg_free(deleted);
}
