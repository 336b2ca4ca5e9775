/*
 * http/query.c: GET and POST /api/v3/query_sql. Reads the request (query string or
 * JSON body), resolves the output format (explicit `format`, else the Accept header,
 * as Core), opens the query so that every error before output gets its status and
 * Core's body, then streams the result: libmicrohttpd pulls 64 KiB blocks through
 * query_read, and the cursor is closed when libmicrohttpd frees the response (at the
 * end, or when the client goes away).
 */
#include "http_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes libmicrohttpd asks for at a time: big enough to amortise a syscall, small
 * enough that a slow client never makes the server hold much. */
#define QUERY_BLOCK_BYTES (64u * 1024u)

typedef struct sql_request {
    const char *db;
    const char *q;
    size_t q_len;
    const char *format; /* NULL = from the Accept header */
    json_t *params;     /* an object, or NULL */
} sql_request;

/* Core's QueryFormat::from_accept_header: exact values first, then substrings. */
static int format_from_accept(const char *accept, query_format *out, http_resp *resp)
{
    if (!accept || strcmp(accept, "application/json") == 0 || strcmp(accept, "*/*") == 0 ||
        strstr(accept, "text/html") || strstr(accept, "*/*")) {
        *out = QUERY_FORMAT_JSON;
        return VG_OK;
    }
    if (strcmp(accept, "text/csv") == 0) {
        *out = QUERY_FORMAT_CSV;
        return VG_OK;
    }
    if (strcmp(accept, "text/plain") == 0) {
        *out = QUERY_FORMAT_PRETTY;
        return VG_OK;
    }
    if (strcmp(accept, "application/vnd.apache.parquet") == 0) {
        *out = QUERY_FORMAT_PARQUET;
        return VG_OK;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "invalid mime type (%.256s)", accept);
    http_resp_text(resp, 400, msg);
    return VG_EINVAL;
}

static int resolve_format(http_req *r, const sql_request *sr, query_format *out, http_resp *resp)
{
    if (!sr->format)
        return format_from_accept(http_header(r, "Accept"), out, resp);
    vg_err e;
    if (query_parse_format(sr->format, out, &e) != VG_OK) {
        http_resp_text(resp, 400, e.msg);
        return VG_EINVAL;
    }
    return VG_OK;
}

/* `params` as query_param rows: each value rendered back to JSON text, in r's arena. */
static int convert_params(http_req *r, json_t *obj, query_param **out, size_t *n, http_resp *resp)
{
    *out = NULL;
    *n = 0;
    if (!obj || json_object_size(obj) == 0)
        return VG_OK;
    query_param *p = vg_arena_alloc(&r->arena, json_object_size(obj) * sizeof *p);
    if (!p) {
        http_resp_text(resp, 500, "out of memory reading query parameters");
        return VG_ENOMEM;
    }
    const char *key;
    json_t *val;
    size_t k = 0;
    json_object_foreach(obj, key, val)
    {
        if (json_is_object(val) || json_is_array(val)) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "invalid params: '%.200s' must be a string, number, boolean or null", key);
            http_resp_text(resp, 400, msg);
            return VG_EINVAL;
        }
        char *text = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
        p[k].name = vg_arena_strndup(&r->arena, key, strlen(key));
        p[k].json_value = text ? vg_arena_strndup(&r->arena, text, strlen(text)) : NULL;
        free(text);
        if (!p[k].name || !p[k].json_value) {
            http_resp_text(resp, 500, "out of memory reading query parameters");
            return VG_ENOMEM;
        }
        k++;
    }
    *out = p;
    *n = k;
    return VG_OK;
}

/* ---- streaming ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    vg_err e;
    long n = query_read(cls, buf, max, &e);
    if (n < 0) {
        /* Too late for a status: the body ends early, as Core's does. */
        VG_WARN("http", "query failed while streaming its result: %s", e.msg);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free(void *cls)
{
    query_outcome oc;
    query_close(cls, &oc);
}

static void error_response(http_resp *out, query_error_kind kind, const char *msg)
{
    switch (kind) {
    case QUERY_ERR_DB_NOT_FOUND: http_resp_json_error(out, 404, msg); break;
    /* (Vigil) Core answers these in plain text; the product asks for a JSON body so
     * clients can always parse an error: {"error":"..."} with the position inside. */
    case QUERY_ERR_USER: http_resp_json_error(out, 400, msg); break;
    case QUERY_ERR_UNSUPPORTED: http_resp_json_error(out, 405, msg); break;
    default: http_resp_json_error(out, 500, msg); break;
    }
}

static void run_sql(http_server *s, http_req *r, const sql_request *sr, http_resp *out)
{
    query_format fmt;
    if (resolve_format(r, sr, &fmt, out) != VG_OK)
        return;
    query_request req = {.db = sr->db, .sql = sr->q, .sql_len = sr->q_len, .format = fmt};
    query_param *params;
    if (convert_params(r, sr->params, &params, &req.nparams, out) != VG_OK)
        return;
    req.params = params;
    if (!s->cfg.query) {
        http_resp_text(out, 500, "the query engine is not running");
        return;
    }
    query_cursor *cur;
    query_outcome oc;
    vg_err e;
    if (query_open(s->cfg.query, &req, &cur, &oc, &e) != VG_OK) {
        error_response(out, oc.kind, e.msg);
        return;
    }
    out->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, QUERY_BLOCK_BYTES,
                                                    stream_read, cur, stream_free);
    if (!out->stream) {
        query_close(cur, &oc);
        http_resp_text(out, 500, "cannot start the response");
        return;
    }
    out->status = 200;
    out->content_type = query_content_type(cur);
}

/* ---- GET: everything in the query string ---- */

void http_query_sql_get(http_server *s, http_req *r, http_resp *out)
{
    if (http_arg_count(r) == 0) {
        http_resp_text(out, 400, "missing query parameters 'db' and 'q'");
        return;
    }
    sql_request sr = {
        .db = http_arg(r, "db"), .q = http_arg(r, "q"), .format = http_arg(r, "format")};
    if (!sr.db || !sr.q) {
        http_resp_text(out, 400,
                       !sr.db ? "serde error: missing field `db`"
                              : "serde error: missing field `q`");
        return;
    }
    sr.q_len = strlen(sr.q);
    const char *params = http_arg(r, "params");
    if (params) {
        json_error_t je;
        sr.params = json_loads(params, JSON_DECODE_ANY, &je);
        if (!sr.params || !(json_is_object(sr.params) || json_is_null(sr.params))) {
            char msg[400];
            snprintf(msg, sizeof msg, "serde error: invalid params: %s",
                     sr.params ? "expected a JSON object" : je.text);
            json_decref(sr.params);
            http_resp_text(out, 400, msg);
            return;
        }
    }
    run_sql(s, r, &sr, out);
    json_decref(sr.params);
}

/* ---- POST: a JSON body {"db","q","format"?,"params"?} ---- */

/* A string member: absent is NULL (*ok stays true), null counts as absent for the
 * optional ones, anything else is a type error. */
static const char *json_member_str(json_t *root, const char *key, bool optional, http_resp *out,
                                   bool *ok)
{
    json_t *v = json_object_get(root, key);
    if (!v || (optional && json_is_null(v))) {
        if (!optional) {
            char msg[128];
            snprintf(msg, sizeof msg, "serde json error: missing field `%s`", key);
            http_resp_text(out, 400, msg);
            *ok = false;
        }
        return NULL;
    }
    if (!json_is_string(v)) {
        char msg[128];
        snprintf(msg, sizeof msg, "serde json error: invalid type for `%s`: expected a string",
                 key);
        http_resp_text(out, 400, msg);
        *ok = false;
        return NULL;
    }
    return json_string_value(v);
}

void http_query_sql_post(http_server *s, http_req *r, http_resp *out)
{
    json_error_t je;
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    if (!root || !json_is_object(root)) {
        char msg[400];
        if (root)
            snprintf(msg, sizeof msg, "serde json error: expected a JSON object");
        else
            snprintf(msg, sizeof msg, "serde json error: %s at line %d column %d", je.text, je.line,
                     je.column);
        http_resp_text(out, 400, msg);
        json_decref(root);
        return;
    }
    bool ok = true;
    sql_request sr = {0};
    sr.db = json_member_str(root, "db", false, out, &ok);
    if (ok)
        sr.q = json_member_str(root, "q", false, out, &ok);
    if (ok)
        sr.format = json_member_str(root, "format", true, out, &ok);
    json_t *params = json_object_get(root, "params");
    if (ok && params && !json_is_null(params) && !json_is_object(params)) {
        http_resp_text(out, 400,
                       "serde json error: invalid type for `params`: expected an "
                       "object");
        ok = false;
    }
    if (ok) {
        sr.q_len = json_string_length(json_object_get(root, "q"));
        sr.params = json_is_object(params) ? params : NULL;
        run_sql(s, r, &sr, out);
    }
    json_decref(root);
}
