/*
 * http/http.c: libmicrohttpd glue, the route table and the dispatcher.
 *
 * The dispatcher does, once for every route: method/path lookup (404), OPTIONS/CORS,
 * body size cap (413, also for decompressed gzip), Content-Encoding, JSON
 * Content-Type (415), and the common response headers. Handlers get a complete body.
 * One thread per connection: a write handler blocks on the WAL fsync without
 * holding up other connections.
 */
#include "http_int.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

static const http_route routes[] = {
    {"POST", "/api/v3/write_lp", http_write_v3, PERM_WRITE, false},
    {"POST", "/api/v2/write", http_write_v2, PERM_WRITE, false},
    {"POST", "/write", http_write_v1, PERM_WRITE, false},
    {"GET", "/health", http_health, PERM_NONE, false},
    {"GET", "/api/v1/health", http_health, PERM_NONE, false},
    {"GET", "/ping", http_ping, PERM_NONE, false},
    {"POST", "/ping", http_ping, PERM_NONE, false},
    {"GET", "/metrics", http_metrics, PERM_NONE, false},
    {"GET", "/api/v3/configure/database", http_db_list, PERM_ADMIN, false},
    {"POST", "/api/v3/configure/database", http_db_create, PERM_ADMIN, true},
    {"PUT", "/api/v3/configure/database", http_db_update, PERM_ADMIN, true},
    {"DELETE", "/api/v3/configure/database", http_db_delete, PERM_ADMIN, false},
    {"DELETE", "/api/v3/configure/table", http_table_delete, PERM_ADMIN, false},
    {"POST", "/api/v3/configure/database/retention_period", http_db_retention_set, PERM_ADMIN,
     false},
    {"DELETE", "/api/v3/configure/database/retention_period", http_db_retention_clear,
     PERM_ADMIN, false},
    {"POST", "/api/v3/persist", http_persist, PERM_ADMIN, false},
    {"POST", "/api/v3/compact", http_compact, PERM_ADMIN, false},
    /* Core does not check the Content-Type of query bodies: no json_body here. Once
     * tokens exist, a DELETE statement must need an admin token although the route
     * itself needs only read permission. */
    {"GET", "/api/v3/query_sql", http_query_sql_get, PERM_READ, false},
    {"POST", "/api/v3/query_sql", http_query_sql_post, PERM_READ, false},
    /* The processing engine (http/engine.c). DELETE takes its arguments from the query
     * string or a JSON body, so its Content-Type is not checked. */
    {"POST", "/api/v3/configure/processing_engine_trigger", http_trigger_create, PERM_ADMIN,
     true},
    {"DELETE", "/api/v3/configure/processing_engine_trigger", http_trigger_delete, PERM_ADMIN,
     false},
    {"POST", "/api/v3/configure/processing_engine_trigger/enable", http_trigger_enable,
     PERM_ADMIN, false},
    {"POST", "/api/v3/configure/processing_engine_trigger/disable", http_trigger_disable,
     PERM_ADMIN, false},
    {"POST", "/api/v3/plugins/files", http_plugin_file_create, PERM_ADMIN, true},
    {"PUT", "/api/v3/plugins/files", http_plugin_file_update, PERM_ADMIN, true},
    {"PUT", "/api/v3/plugins/directory", http_plugin_dir_update, PERM_ADMIN, true},
    {"POST", "/api/v3/plugin_test/wal", http_plugin_test_wal, PERM_ADMIN, true},
    {"POST", "/api/v3/plugin_test/schedule", http_plugin_test_schedule, PERM_ADMIN, true},
};

/* Every path under /api/v3/engine/ is a request trigger's (the engine says which). */
static const http_route engine_routes[] = {
    {"GET", HTTP_ENGINE_PREFIX, http_engine_request, PERM_WRITE, false},
    {"POST", HTTP_ENGINE_PREFIX, http_engine_request, PERM_WRITE, false},
};

static const http_route *find_route(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, path) == 0 && strcmp(routes[i].method, method) == 0)
            return &routes[i];
    if (strncmp(path, HTTP_ENGINE_PREFIX, sizeof HTTP_ENGINE_PREFIX - 1) == 0 &&
        path[sizeof HTTP_ENGINE_PREFIX - 1])
        for (size_t i = 0; i < sizeof engine_routes / sizeof engine_routes[0]; i++)
            if (strcmp(engine_routes[i].method, method) == 0)
                return &engine_routes[i];
    return NULL;
}

/* ---- helpers shared by the handlers ---- */

const char *http_arg(http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (*(int *)cls)++;
    return MHD_YES;
}

int http_arg_count(http_req *r)
{
    int n = 0;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, count_arg, &n);
    return n;
}

const char *http_header(http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void http_resp_text(http_resp *out, int status, const char *msg)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    vg_buf_reset(&out->body);
    vg_buf_puts(&out->body, msg);
}

void http_resp_json_error(http_resp *out, int status, const char *msg)
{
    out->status = status;
    out->content_type = "application/json";
    vg_buf_reset(&out->body);
    vg_buf_puts(&out->body, "{\"error\":");
    vg_json_str(&out->body, msg, strlen(msg));
    vg_buf_putc(&out->body, '}');
}

void http_resp_add_header(http_resp *out, const char *name, const char *value)
{
    size_t n = strlen(out->extra_headers);
    snprintf(out->extra_headers + n, sizeof out->extra_headers - n, "%s: %s\n", name, value);
}

int http_bool_arg(http_req *r, const char *key, bool dflt, bool *out, http_resp *resp)
{
    const char *v = http_arg(r, key);
    if (!v) {
        *out = dflt;
        return VG_OK;
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "") == 0) {
        *out = true;
        return VG_OK;
    }
    if (strcmp(v, "false") == 0) {
        *out = false;
        return VG_OK;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "serde error: invalid value '%.64s' for '%s': expected true or false",
             v, key);
    http_resp_text(resp, 400, msg);
    return VG_EINVAL;
}

static void fill_random(unsigned char *p, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd >= 0) {
        while (got < n) {
            ssize_t k = read(fd, p + got, n - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        close(fd);
    }
    for (; got < n; got++) /* /dev/urandom unavailable: still unique enough for ids */
        p[got] = (unsigned char)(vg_mono_ns() >> (got % 8));
}

static void format_uuid(const unsigned char b[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
}

void http_uuid_v4(char out[37])
{
    unsigned char b[16];
    fill_random(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
}

void http_uuid_v7(char out[37])
{
    unsigned char b[16];
    fill_random(b, sizeof b);
    uint64_t ms = (uint64_t)(vg_now_ns() / VG_NS_PER_MS);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
}

/* ---- body decoding ---- */

static void too_big(http_server *s, http_resp *out)
{
    char msg[128];
    snprintf(msg, sizeof msg, "max request size (%zu bytes) exceeded", s->cfg.max_request_bytes);
    http_resp_text(out, 413, msg);
}

/* Inflates a gzip body in place of r->body, capped at the request limit. */
static int gunzip_body(http_server *s, http_req *r, http_resp *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        http_resp_text(out, 500, "cannot initialise gzip decoder");
        return VG_EINTERNAL;
    }
    vg_buf plain;
    vg_buf_init(&plain);
    zs.next_in = (unsigned char *)r->body.data;
    zs.avail_in = (uInt)r->body.len;
    int zrc = Z_OK;
    while (zrc != Z_STREAM_END) {
        if (!vg_buf_reserve(&plain, 64 * 1024)) {
            http_resp_text(out, 500, "out of memory decoding gzip body");
            goto fail;
        }
        zs.next_out = (unsigned char *)plain.data + plain.len;
        zs.avail_out = (uInt)(plain.cap - plain.len - 1);
        size_t before = zs.avail_out;
        zrc = inflate(&zs, Z_NO_FLUSH);
        plain.len += before - zs.avail_out;
        if (plain.len > s->cfg.max_request_bytes) {
            too_big(s, out);
            goto fail;
        }
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK || (zs.avail_in == 0 && before == zs.avail_out)) {
            char msg[256];
            snprintf(msg, sizeof msg, "error decoding gzip stream: %s",
                     zs.msg ? zs.msg : (zs.avail_in == 0 ? "unexpected end of stream"
                                                         : "invalid data"));
            http_resp_text(out, 400, msg);
            goto fail;
        }
    }
    inflateEnd(&zs);
    plain.data[plain.len] = '\0';
    vg_buf_free(&r->body);
    r->body = plain;
    return VG_OK;
fail:
    inflateEnd(&zs);
    vg_buf_free(&plain);
    return VG_EINVAL;
}

static int decode_body(http_server *s, http_req *r, http_resp *out)
{
    const char *enc = http_header(r, "Content-Encoding");
    if (!enc || strcasecmp(enc, "identity") == 0 || enc[0] == '\0')
        return VG_OK;
    if (strcasecmp(enc, "gzip") == 0)
        return gunzip_body(s, r, out);
    char msg[256];
    snprintf(msg, sizeof msg, "unacceptable content-encoding: %.128s", enc);
    http_resp_text(out, 400, msg);
    return VG_EINVAL;
}

static bool is_json_content_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* ---- sending ---- */

static enum MHD_Result send_response(http_server *s, http_req *r, http_resp *out)
{
    struct MHD_Response *resp = out->stream;
    bool streamed = resp != NULL;
    out->stream = NULL; /* destroyed below whatever happens: its free callback runs */
    if (!resp)
        resp = MHD_create_response_from_buffer(
            out->body.len, out->body.len ? out->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (out->content_type && (out->body.len || streamed))
        MHD_add_response_header(resp, "Content-Type", out->content_type);
    MHD_add_response_header(resp, "cluster-uuid", catalog_uuid(s->cfg.cat));
    if (out->status < 400 && !strstr(out->extra_headers, "Access-Control-Allow-Origin:"))
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    char *line = out->extra_headers;
    while (*line) {
        char *nl = strchr(line, '\n');
        char *colon = strchr(line, ':');
        if (!nl || !colon || colon > nl)
            break;
        *nl = '\0';
        *colon = '\0';
        MHD_add_response_header(resp, line, colon + 2);
        line = nl + 1;
    }
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)out->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void options_response(http_resp *out)
{
    out->status = 204;
    http_resp_add_header(out, "Access-Control-Allow-Origin", "*");
    http_resp_add_header(out, "Access-Control-Allow-Methods", "*");
    http_resp_add_header(out, "Access-Control-Allow-Headers", "*");
    http_resp_add_header(out, "Access-Control-Max-Age", "86400");
}

static void dispatch(http_server *s, http_req *r, http_resp *out)
{
    if (r->too_big) {
        too_big(s, out);
        return;
    }
    if (decode_body(s, r, out) != VG_OK)
        return;
    if (r->route->json_body && !is_json_content_type(http_header(r, "Content-Type"))) {
        http_resp_text(out, 415, "unacceptable content-type, expected: application/json");
        return;
    }
    r->route->handler(s, r, out);
}

/* Answers without reading the body: OPTIONS, unknown routes, declared oversize. */
static bool answer_early(http_server *s, http_req *r, const char *method, http_resp *out)
{
    if (strcmp(method, "OPTIONS") == 0) {
        options_response(out);
        return true;
    }
    if (!r->route) {
        http_resp_text(out, 404, "Not found");
        return true;
    }
    const char *cl = http_header(r, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > s->cfg.max_request_bytes) {
        too_big(s, out);
        return true;
    }
    return false;
}

static enum MHD_Result respond(http_server *s, http_req *r, http_resp *out)
{
    r->dispatched = true;
    enum MHD_Result rc = send_response(s, r, out);
    vg_buf_free(&out->body);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_server *s = cls;
    http_req *r = *con_cls;
    http_resp out = {.status = 200};
    vg_buf_init(&out.body);
    if (!r) {
        r = vg_calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->route = find_route(method, url);
        vg_buf_init(&r->body);
        vg_arena_init(&r->arena, 64 * 1024);
        *con_cls = r;
        if (answer_early(s, r, method, &out))
            return respond(s, r, &out);
        const char *cl = http_header(r, "Content-Length");
        if (cl)
            vg_buf_reserve(&r->body, (size_t)strtoull(cl, NULL, 10));
        return MHD_YES;
    }
    if (r->dispatched) {
        *upload_data_size = 0; /* discard what follows an early answer */
        return MHD_YES;
    }
    if (*upload_data_size) {
        r->received += *upload_data_size;
        if (r->received > s->cfg.max_request_bytes)
            r->too_big = true;
        else
            vg_buf_append(&r->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->body.oom) {
        http_resp_text(&out, 500, "out of memory reading the request body");
        return respond(s, r, &out);
    }
    dispatch(s, r, &out);
    return respond(s, r, &out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_req *r = *con_cls;
    if (!r)
        return;
    vg_buf_free(&r->body);
    vg_arena_free(&r->arena);
    vg_free(r);
    *con_cls = NULL;
}

static int parse_bind(const char *bind, struct sockaddr_in *sa, vg_err *e)
{
    const char *colon = strrchr(bind, ':');
    if (!colon)
        return vg_err_set(e, VG_EINVAL, "invalid --http-bind '%s': expected host:port", bind);
    char host[256];
    size_t hl = (size_t)(colon - bind);
    if (hl >= sizeof host)
        return vg_err_set(e, VG_EINVAL, "invalid --http-bind '%s': host too long", bind);
    memcpy(host, bind, hl);
    host[hl] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '\0')
        return vg_err_set(e, VG_EINVAL, "invalid --http-bind '%s': bad port", bind);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (hl == 0 || strcmp(host, "0.0.0.0") == 0) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        return VG_OK;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int grc = getaddrinfo(host, NULL, &hints, &res);
    if (grc != 0)
        return vg_err_set(e, VG_EINVAL, "invalid --http-bind '%s': %s", bind, gai_strerror(grc));
    sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return VG_OK;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    VG_DEBUG("http", "%s", msg);
}

int http_start(const http_config *cfg, http_server **out, vg_err *e)
{
    struct sockaddr_in sa;
    int rc = parse_bind(cfg->bind, &sa, e);
    if (rc != VG_OK)
        return rc;
    http_server *s = vg_calloc(1, sizeof *s);
    if (!s)
        return vg_err_set(e, VG_ENOMEM, "out of memory starting the HTTP server");
    s->cfg = *cfg;
    http_uuid_v4(s->process_id);
    s->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)256 * 1024, MHD_OPTION_CONNECTION_TIMEOUT, 300u, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    if (!s->daemon) {
        vg_free(s);
        return vg_err_set(e, VG_EIO,
                          "cannot listen on %s (is another server using the port?)", cfg->bind);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : ntohs(sa.sin_port);
    *out = s;
    return VG_OK;
}

uint16_t http_port(const http_server *s) { return s->port; }

void http_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    vg_free(s);
}
