/*
 * http/http_int.h: declarations shared by the files of module http only.
 */
#ifndef VIGIL_HTTP_INT_H
#define VIGIL_HTTP_INT_H

#include "http.h"

#include <microhttpd.h>

typedef enum http_perm {
    PERM_NONE = 0, /* health, ping: open */
    PERM_WRITE,
    PERM_READ,
    PERM_ADMIN,
} http_perm;

typedef struct http_req http_req;

/* A response under construction. */
typedef struct http_resp {
    int status;
    const char *content_type; /* static string or NULL */
    vg_buf body;
    char extra_headers[512];  /* "Name: value\n" lines */
    /* A streamed body (MHD_create_response_from_callback) sent instead of `body`;
     * the dispatcher adds the common headers and hands it to libmicrohttpd. */
    struct MHD_Response *stream;
} http_resp;

typedef void (*http_handler)(http_server *s, http_req *r, http_resp *out);

typedef struct http_route {
    const char *method;
    const char *path;
    http_handler handler;
    http_perm perm; /* checked by the dispatcher once auth lands */
    bool json_body; /* requires Content-Type: application/json */
} http_route;

struct http_server {
    http_config cfg;
    struct MHD_Daemon *daemon;
    uint16_t port;
    char process_id[40];
};

/* Request triggers live under this prefix: every GET or POST below it goes to the
 * processing engine (http/engine.c). */
#define HTTP_ENGINE_PREFIX "/api/v3/engine/"

struct http_req {
    struct MHD_Connection *conn;
    const char *url; /* the path, as libmicrohttpd gives it */
    const http_route *route;
    const char *method;
    vg_buf body;
    size_t received; /* raw bytes received, even when discarded */
    bool too_big;
    bool dispatched;
    vg_arena arena;
};

/* Query-string access. NULL when absent; "" for `?key` without value. */
const char *http_arg(http_req *r, const char *key);
/* Number of query-string arguments (0 = no query string at all). */
int http_arg_count(http_req *r);
const char *http_header(http_req *r, const char *name);

void http_resp_text(http_resp *out, int status, const char *msg);
void http_resp_json_error(http_resp *out, int status, const char *msg);
void http_resp_add_header(http_resp *out, const char *name, const char *value);
/* Parses a boolean query value ("true"/"false"); missing = dflt. */
int http_bool_arg(http_req *r, const char *key, bool dflt, bool *out, http_resp *resp);

/* Route handlers. */
void http_write_v3(http_server *s, http_req *r, http_resp *out);
void http_write_v2(http_server *s, http_req *r, http_resp *out);
void http_write_v1(http_server *s, http_req *r, http_resp *out);
void http_health(http_server *s, http_req *r, http_resp *out);
void http_metrics(http_server *s, http_req *r, http_resp *out);
void http_ping(http_server *s, http_req *r, http_resp *out);
void http_db_list(http_server *s, http_req *r, http_resp *out);
void http_db_create(http_server *s, http_req *r, http_resp *out);
void http_db_update(http_server *s, http_req *r, http_resp *out);
void http_db_delete(http_server *s, http_req *r, http_resp *out);
void http_table_delete(http_server *s, http_req *r, http_resp *out);
void http_db_retention_set(http_server *s, http_req *r, http_resp *out);
void http_db_retention_clear(http_server *s, http_req *r, http_resp *out);
void http_query_sql_get(http_server *s, http_req *r, http_resp *out);
void http_query_sql_post(http_server *s, http_req *r, http_resp *out);
void http_persist(http_server *s, http_req *r, http_resp *out);
void http_compact(http_server *s, http_req *r, http_resp *out);

/* The processing engine (http/engine.c). */
void http_trigger_create(http_server *s, http_req *r, http_resp *out);
void http_trigger_delete(http_server *s, http_req *r, http_resp *out);
void http_trigger_enable(http_server *s, http_req *r, http_resp *out);
void http_trigger_disable(http_server *s, http_req *r, http_resp *out);
void http_plugin_file_create(http_server *s, http_req *r, http_resp *out);
void http_plugin_file_update(http_server *s, http_req *r, http_resp *out);
void http_plugin_dir_update(http_server *s, http_req *r, http_resp *out);
void http_plugin_test_wal(http_server *s, http_req *r, http_resp *out);
void http_plugin_test_schedule(http_server *s, http_req *r, http_resp *out);
void http_engine_request(http_server *s, http_req *r, http_resp *out);

/* A UUID (v4 random, or v7 time-ordered) as 36 characters + NUL. */
void http_uuid_v4(char out[37]);
void http_uuid_v7(char out[37]);

#endif
