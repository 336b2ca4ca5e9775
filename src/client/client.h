/*
 * client: a small blocking HTTP/1.1 client over POSIX sockets, for the `vigil` CLI and
 * for tests.
 *
 * One request per connection (`Connection: close`): the CLI sends few, large requests,
 * so keep-alive would buy nothing and cost stale-connection retries. Plain `http://`
 * only; `https://` is refused with a clear message until TLS arrives.
 *
 * Pieces, usable on their own:
 *   - client_url_*: parse and format a base URL `http://host[:port][/prefix]`;
 *   - client_url_encode / client_query_add: build query strings;
 *   - client_parser_*: an incremental HTTP/1.1 response parser over bytes
 *     (Content-Length, chunked, or until close), so it can be tested without sockets;
 *   - client_new / client_do: resolve, connect with a timeout, send, read, parse.
 *
 * Depends on: base.
 */
#ifndef VIGIL_CLIENT_H
#define VIGIL_CLIENT_H

#include "base/base.h"

/* Waiting for the TCP handshake: a server on a reachable host answers in
 * milliseconds; 10 s covers a slow network without hanging a script for minutes. */
#define CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 10000
/* Silence on an open connection: a write waits for an fsync and a big query can
 * think for a while, so this is generous; it bounds a hung server, not a slow one. */
#define CLIENT_DEFAULT_IO_TIMEOUT_MS 300000
/* A response head (status line and headers) larger than this is not a sane reply. */
#define CLIENT_MAX_HEAD_BYTES (64u * 1024u)

/* ------------------------------------------------------------------------ */
/* URLs and query strings                                                   */
/* ------------------------------------------------------------------------ */

typedef struct client_url {
    char host[256];  /* name or address; an IPv6 literal without its brackets */
    uint16_t port;   /* 80 when the URL gives none */
    char path[1024]; /* base path, "" or "/prefix" without a trailing '/' */
    bool ipv6;       /* host is an IPv6 literal (printed in brackets) */
} client_url;

/* Parses `http://host[:port][/path]`. A URL without a scheme is taken as http.
 * Errors (VG_EINVAL) name the URL and what is wrong with it. */
int client_url_parse(const char *s, client_url *u, vg_err *e);
/* Appends "http://host:port/path" (always with the port) to b. */
void client_url_format(const client_url *u, vg_buf *b);

/* Appends s percent-encoded: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX, so
 * the result is safe as a query value or a path segment. */
void client_url_encode(vg_buf *b, const char *s, size_t len);
/* Appends "key=value" (value encoded) to a query string, after a '&' when q is not
 * empty. The key is written as given: keys are the caller's literals. */
void client_query_add(vg_buf *q, const char *key, const char *value);

/* ------------------------------------------------------------------------ */
/* Responses and the response parser                                        */
/* ------------------------------------------------------------------------ */

typedef struct client_response {
    int status;      /* 200, 404, ... */
    char reason[64]; /* reason phrase as sent (may be empty, truncated if long) */
    vg_buf headers;  /* "name\0value\0" pairs; names lowercased, values trimmed */
    size_t nheaders;
    vg_buf body; /* decoded body (chunked framing removed), NUL-terminated */
} client_response;

void client_response_init(client_response *r);
void client_response_free(client_response *r);
/* The value of the first header named `name` (case-insensitive), or NULL. */
const char *client_response_header(const client_response *r, const char *name);
/* The Content-Type header, or "" when there is none. */
const char *client_response_content_type(const client_response *r);

typedef struct client_parser {
    client_response *resp;
    int state;
    bool head_request;  /* a response to HEAD never has a body */
    vg_buf line;        /* the head, a chunk-size line or a trailer line, as it arrives */
    uint64_t remaining; /* body or chunk bytes still to come */
} client_parser;

void client_parser_init(client_parser *p, client_response *r, bool head_request);
void client_parser_free(client_parser *p);
/* Consumes bytes of the response. *used receives how many were consumed: all of
 * them unless the response completed first (the rest belongs to no one). Errors are
 * VG_EINVAL (malformed response) and VG_ENOMEM. */
int client_parser_feed(client_parser *p, const char *data, size_t len, size_t *used, vg_err *e);
/* The peer closed the connection. Completes a body framed by the close; an error
 * (VG_EIO) when the response was cut short. */
int client_parser_eof(client_parser *p, vg_err *e);
bool client_parser_done(const client_parser *p);

/* Parses a whole response held in memory: feed everything, then EOF. */
int client_parse_response(const char *data, size_t len, bool head_request, client_response *r,
                          vg_err *e);

/* ------------------------------------------------------------------------ */
/* Requests over a socket                                                   */
/* ------------------------------------------------------------------------ */

typedef struct client_config {
    const char *url;        /* base URL, see client_url_parse */
    const char *token;      /* sent as "Authorization: Bearer <token>"; NULL/"" = none */
    const char *user_agent; /* NULL = "vigil-client" */
    int connect_timeout_ms; /* 0 = CLIENT_DEFAULT_CONNECT_TIMEOUT_MS */
    int io_timeout_ms;      /* 0 = CLIENT_DEFAULT_IO_TIMEOUT_MS; < 0 = wait forever */
} client_config;

typedef struct client client;

int client_new(const client_config *cfg, client **out, vg_err *e);
void client_free(client *c);
/* "http://host:port/prefix", as used in messages. */
const char *client_base_url(const client *c);

typedef struct client_request {
    const char *method;         /* "GET", "POST", "PUT", "DELETE", "HEAD", ... */
    const char *path;           /* "/api/v3/write_lp", appended to the base path */
    const char *query;          /* encoded, without '?'; NULL or "" = none */
    const char *content_type;   /* NULL = no Content-Type header */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
    const void *body;
    size_t body_len;
} client_request;

/* Sends one request and reads the whole response into r (which the caller has
 * initialised and frees; its previous contents are dropped, so one response can serve
 * many requests). Any HTTP status is success here: the caller judges it.
 * Errors are transport errors (VG_EIO), bad arguments (VG_EINVAL), a malformed
 * response (VG_EINVAL) or VG_ENOMEM, with a message that names the server and says
 * what to do, e.g. "cannot connect to http://127.0.0.1:8181: Connection refused (is
 * the server running? start it with 'vigil serve')". */
int client_do(client *c, const client_request *req, client_response *r, vg_err *e);

#endif /* VIGIL_CLIENT_H */
