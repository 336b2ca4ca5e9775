/*
 * http/engine.c: the processing engine's endpoints: trigger management
 * (/api/v3/configure/processing_engine_trigger and its enable/disable), plugin files
 * (/api/v3/plugins/files, /api/v3/plugins/directory), dry runs (/api/v3/plugin_test/wal,
 * .../schedule) and request triggers (GET/POST /api/v3/engine/<path>). Bodies and error texts are
 * Core's (docs/http-api.md); the engine does the work (engine.h).
 */
#include "http_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Without --plugin-dir there is no engine: Core's NoPluginDir. */
static engine *engine_or_answer(http_server *s, http_resp *out)
{
    if (!s->cfg.engine)
        http_resp_text(out, 500, "Node not configured with plugin directory");
    return s->cfg.engine;
}

static void engine_error(http_resp *out, int rc, const vg_err *e)
{
    switch (rc) {
    case VG_EINVAL: http_resp_text(out, 400, e->msg); break;
    case VG_ENOTFOUND: http_resp_text(out, 404, e->msg); break;
    case VG_EEXISTS:
        /* Core answers a taken trigger name with an unmapped catalog error (500). */
        http_resp_text(out, strncmp(e->msg, "Cannot overwrite", 16) == 0 ? 500 : 409, e->msg);
        break;
    default: http_resp_text(out, 500, e->msg);
    }
}

static json_t *load_json(http_req *r, http_resp *out)
{
    json_error_t je;
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    if (!root) {
        char msg[400];
        snprintf(msg, sizeof msg, "serde json error: %s at line %d column %d", je.text, je.line,
                 je.column);
        http_resp_text(out, 400, msg);
        return NULL;
    }
    if (!json_is_object(root)) {
        http_resp_text(out, 400, "serde json error: expected a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* A string member: required ones answer "missing field" themselves. */
static const char *str_member(json_t *o, const char *key, bool required, bool *bad, http_resp *out)
{
    json_t *v = json_object_get(o, key);
    char msg[160];
    if (!v || json_is_null(v)) {
        if (required && !*bad) {
            snprintf(msg, sizeof msg, "serde json error: missing field `%s`", key);
            http_resp_text(out, 400, msg);
            *bad = true;
        }
        return NULL;
    }
    if (!json_is_string(v)) {
        if (!*bad) {
            snprintf(msg, sizeof msg, "serde json error: invalid type for `%s`: expected a string",
                     key);
            http_resp_text(out, 400, msg);
        }
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

static bool bool_member(json_t *o, const char *key, bool *bad, http_resp *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return false;
    if (!json_is_boolean(v)) {
        char msg[160];
        snprintf(msg, sizeof msg, "serde json error: invalid type for `%s`: expected a boolean",
                 key);
        if (!*bad)
            http_resp_text(out, 400, msg);
        *bad = true;
        return false;
    }
    return json_is_true(v);
}

/* {"k": "v", ...} as two arrays in the request arena; values must be strings. */
static int string_map(http_req *r, json_t *obj, const char *field, const char ***keys,
                      const char ***vals, uint32_t *n, http_resp *out)
{
    *keys = *vals = NULL;
    *n = 0;
    if (!obj || json_is_null(obj))
        return VG_OK;
    char msg[200];
    if (!json_is_object(obj)) {
        snprintf(msg, sizeof msg, "serde json error: invalid type for `%s`: expected an object",
                 field);
        http_resp_text(out, 400, msg);
        return VG_EINVAL;
    }
    size_t cnt = json_object_size(obj);
    *keys = vg_arena_alloc(&r->arena, (cnt + 1) * sizeof **keys);
    *vals = vg_arena_alloc(&r->arena, (cnt + 1) * sizeof **vals);
    if (!*keys || !*vals) {
        http_resp_text(out, 500, "out of memory");
        return VG_ENOMEM;
    }
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (!json_is_string(v)) {
            snprintf(msg, sizeof msg,
                     "serde json error: invalid type for `%s.%.64s`: expected a string", field, k);
            http_resp_text(out, 400, msg);
            return VG_EINVAL;
        }
        (*keys)[*n] = k;
        (*vals)[*n] = json_string_value(v);
        (*n)++;
    }
    return VG_OK;
}

void http_trigger_create(http_server *s, http_req *r, http_resp *out)
{
    engine *g = engine_or_answer(s, out);
    json_t *root = g ? load_json(r, out) : NULL;
    if (!root)
        return;
    bool bad = false;
    engine_trigger_request tr = {0};
    tr.db = str_member(root, "db", true, &bad, out);
    tr.plugin = str_member(root, "plugin_filename", true, &bad, out);
    tr.name = str_member(root, "trigger_name", true, &bad, out);
    tr.spec = str_member(root, "trigger_specification", true, &bad, out);
    tr.disabled = bool_member(root, "disabled", &bad, out);
    json_t *settings = json_object_get(root, "trigger_settings");
    if (settings && json_is_object(settings)) {
        tr.run_async = bool_member(settings, "run_async", &bad, out);
        tr.error_behavior = str_member(settings, "error_behavior", false, &bad, out);
    } else if (settings && !json_is_null(settings) && !bad) {
        http_resp_text(out, 400,
                       "serde json error: invalid type for `trigger_settings`: expected an object");
        bad = true;
    }
    if (!bad && string_map(r, json_object_get(root, "trigger_arguments"), "trigger_arguments",
                           (const char ***)&tr.arg_keys, (const char ***)&tr.arg_values, &tr.nargs,
                           out) != VG_OK)
        bad = true;
    if (!bad) {
        vg_err e;
        int rc = engine_trigger_create(g, &tr, &e);
        if (rc != VG_OK)
            engine_error(out, rc, &e);
        else
            out->status = 200;
    }
    json_decref(root);
}

/* db, trigger_name (and force) from the query string, else from a JSON body. */
static bool trigger_target(http_req *r, http_resp *out, json_t **root, const char **db,
                           const char **name, bool *force)
{
    *root = NULL;
    *db = http_arg(r, "db");
    *name = http_arg(r, "trigger_name");
    *force = false;
    if (force && http_arg(r, "force")) {
        if (http_bool_arg(r, "force", false, force, out) != VG_OK)
            return false;
    }
    if (!*db && !*name && r->body.len) {
        if (!(*root = load_json(r, out)))
            return false;
        bool bad = false;
        *db = str_member(*root, "db", true, &bad, out);
        *name = str_member(*root, "trigger_name", true, &bad, out);
        if (!bad)
            *force = bool_member(*root, "force", &bad, out);
        return !bad;
    }
    if (!*db) {
        http_resp_text(out, 400, "serde error: missing field `db`");
        return false;
    }
    if (!*name) {
        http_resp_text(out, 400, "serde error: missing field `trigger_name`");
        return false;
    }
    return true;
}

void http_trigger_delete(http_server *s, http_req *r, http_resp *out)
{
    engine *g = engine_or_answer(s, out);
    json_t *root;
    const char *db, *name;
    bool force;
    if (!g || !trigger_target(r, out, &root, &db, &name, &force)) {
        json_decref(root);
        return;
    }
    vg_err e;
    int rc = engine_trigger_delete(g, db, name, force, &e);
    if (rc != VG_OK)
        engine_error(out, rc, &e);
    else
        out->status = 200;
    json_decref(root);
}

static void set_enabled(http_server *s, http_req *r, http_resp *out, bool enabled)
{
    engine *g = engine_or_answer(s, out);
    json_t *root;
    const char *db, *name;
    bool force;
    if (!g || !trigger_target(r, out, &root, &db, &name, &force)) {
        json_decref(root);
        return;
    }
    vg_err e;
    int rc = engine_trigger_set_enabled(g, db, name, enabled, &e);
    if (rc != VG_OK)
        engine_error(out, rc, &e);
    else
        out->status = 200;
    json_decref(root);
}

void http_trigger_enable(http_server *s, http_req *r, http_resp *out)
{
    set_enabled(s, r, out, true);
}

void http_trigger_disable(http_server *s, http_req *r, http_resp *out)
{
    set_enabled(s, r, out, false);
}

/* ---- plugin files ---- */

void http_plugin_file_create(http_server *s, http_req *r, http_resp *out)
{
    engine *g = engine_or_answer(s, out);
    json_t *root = g ? load_json(r, out) : NULL;
    if (!root)
        return;
    bool bad = false;
    const char *name = str_member(root, "plugin_name", true, &bad, out);
    const char *content = str_member(root, "content", true, &bad, out);
    if (!bad) {
        vg_err e;
        int rc = engine_plugin_write(g, name, content,
                                     json_string_length(json_object_get(root, "content")), &e);
        if (rc != VG_OK)
            engine_error(out, rc, &e);
        else
            out->status = 200;
    }
    json_decref(root);
}

void http_plugin_file_update(http_server *s, http_req *r, http_resp *out)
{
    engine *g = engine_or_answer(s, out);
    json_t *root = g ? load_json(r, out) : NULL;
    if (!root)
        return;
    bool bad = false;
    const char *trigger = str_member(root, "plugin_name", true, &bad, out);
    const char *content = str_member(root, "content", true, &bad, out);
    const char *db = str_member(root, "db", false, &bad, out);
    if (!bad) {
        vg_err e;
        int rc = engine_plugin_update(g, db, trigger, content,
                                      json_string_length(json_object_get(root, "content")), &e);
        if (rc != VG_OK)
            engine_error(out, rc, &e);
        else
            out->status = 200;
    }
    json_decref(root);
}

void http_plugin_dir_update(http_server *s, http_req *r, http_resp *out)
{
    engine *g = engine_or_answer(s, out);
    json_t *root = g ? load_json(r, out) : NULL;
    if (!root)
        return;
    bool bad = false;
    const char *trigger = str_member(root, "plugin_name", true, &bad, out);
    const char *db = str_member(root, "db", false, &bad, out);
    json_t *files = json_object_get(root, "files");
    if (!bad && !json_is_array(files)) {
        http_resp_text(out, 400,
                       files ? "serde json error: invalid type for `files`: expected "
                               "an array"
                             : "serde json error: missing field `files`");
        bad = true;
    }
    size_t n = bad ? 0 : json_array_size(files);
    engine_plugin_file *pf = bad ? NULL : vg_arena_alloc(&r->arena, (n + 1) * sizeof *pf);
    if (!bad && !pf) {
        http_resp_text(out, 500, "out of memory");
        bad = true;
    }
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *f = json_array_get(files, i);
        if (!json_is_object(f)) {
            http_resp_text(out, 400,
                           "serde json error: each file is an object with "
                           "`relative_path` and `content`");
            bad = true;
            break;
        }
        pf[i].relative_path = str_member(f, "relative_path", true, &bad, out);
        pf[i].content = str_member(f, "content", true, &bad, out);
        pf[i].len = pf[i].content ? json_string_length(json_object_get(f, "content")) : 0;
    }
    if (!bad) {
        vg_err e;
        int rc = engine_plugin_update_dir(g, db, trigger, pf, n, &e);
        if (rc != VG_OK)
            engine_error(out, rc, &e);
        else
            out->status = 200;
    }
    json_decref(root);
}

/* ---- dry runs ---- */

static void plugin_test(http_server *s, http_req *r, http_resp *out, bool is_wal)
{
    engine *g = engine_or_answer(s, out);
    json_t *root = g ? load_json(r, out) : NULL;
    if (!root)
        return;
    bool bad = false;
    engine_test_request tr = {0};
    tr.filename = str_member(root, "filename", true, &bad, out);
    tr.database = str_member(root, "database", true, &bad, out);
    if (is_wal)
        tr.input_lp = str_member(root, "input_lp", true, &bad, out);
    else
        tr.schedule = str_member(root, "schedule", false, &bad, out);
    tr.cache_name = str_member(root, "cache_name", false, &bad, out);
    if (!bad && string_map(r, json_object_get(root, "input_arguments"), "input_arguments",
                           (const char ***)&tr.arg_keys, (const char ***)&tr.arg_values, &tr.nargs,
                           out) != VG_OK)
        bad = true;
    if (!bad) {
        vg_err e;
        vg_buf_reset(&out->body);
        int rc = is_wal ? engine_test_wal(g, &tr, &out->body, &e)
                        : engine_test_schedule(g, &tr, &out->body, &e);
        if (rc != VG_OK) {
            engine_error(out, rc, &e);
        } else {
            out->status = 200;
            out->content_type = "application/json";
        }
    }
    json_decref(root);
}

void http_plugin_test_wal(http_server *s, http_req *r, http_resp *out)
{
    plugin_test(s, r, out, true);
}

void http_plugin_test_schedule(http_server *s, http_req *r, http_resp *out)
{
    plugin_test(s, r, out, false);
}

/* ---- request triggers ---- */

typedef struct kv_list {
    http_req *r;
    engine_kv *kv;
    size_t n, cap;
    bool oom;
} kv_list;

static enum MHD_Result add_kv(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    kv_list *l = cls;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        engine_kv *nk = vg_arena_alloc(&l->r->arena, cap * sizeof *nk);
        if (!nk) {
            l->oom = true;
            return MHD_NO;
        }
        if (l->n)
            memcpy(nk, l->kv, l->n * sizeof *nk);
        l->kv = nk;
        l->cap = cap;
    }
    l->kv[l->n++] = (engine_kv){k, v ? v : ""};
    return MHD_YES;
}

void http_engine_request(http_server *s, http_req *r, http_resp *out)
{
    engine *g = s->cfg.engine;
    const char *path = r->url + strlen(HTTP_ENGINE_PREFIX);
    if (!g) {
        http_resp_text(out, 404, "{error: \"not found\"}");
        return;
    }
    kv_list q = {.r = r}, h = {.r = r};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_kv, &q);
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_kv, &h);
    if (q.oom || h.oom) {
        http_resp_text(out, 500, "out of memory");
        return;
    }
    engine_http_request req = {.path = path,
                               .method = r->method,
                               .query = q.kv,
                               .nquery = q.n,
                               .headers = h.kv,
                               .nheaders = h.n,
                               .body = r->body.data ? r->body.data : "",
                               .body_len = r->body.len};
    engine_http_response resp = {0};
    vg_buf_init(&resp.body);
    vg_buf_init(&resp.headers);
    vg_err e;
    int rc = engine_request(g, &req, &resp, &e);
    if (rc == VG_ENOTFOUND) {
        /* Core's body, which is not valid JSON (sic). */
        http_resp_text(out, 404, "{error: \"not found\"}");
    } else if (rc != VG_OK) {
        http_resp_text(out, 500, e.msg);
    } else {
        struct MHD_Response *mr = MHD_create_response_from_buffer(
            resp.body.len, resp.body.len ? resp.body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
        if (!mr) {
            http_resp_text(out, 500, "out of memory");
        } else {
            /* The plugin's headers, as many as it set: they go straight onto the
             * response, not through the fixed-size header buffer. */
            char *line = resp.headers.data;
            while (line && *line) {
                char *nl = strchr(line, '\n');
                char *colon = strchr(line, ':');
                if (!nl || !colon || colon > nl)
                    break;
                *nl = '\0';
                *colon = '\0';
                const char *val = colon[1] == ' ' ? colon + 2 : colon + 1;
                if (!strcasecmp(line, "Content-Type"))
                    out->content_type = vg_arena_strndup(&r->arena, val, strlen(val));
                else
                    MHD_add_response_header(mr, line, val);
                line = nl + 1;
            }
            out->status = resp.status;
            out->stream = mr;
            if (!out->content_type)
                out->content_type = "text/plain; charset=utf-8";
        }
    }
    vg_buf_free(&resp.body);
    vg_buf_free(&resp.headers);
}
