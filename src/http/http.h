/*
 * http: the HTTP server (libmicrohttpd) and the route table of the v1, v2 and v3
 * APIs. Routes are rows of (method, path, handler, body limit, JSON body); the
 * dispatcher checks method, size, encoding and content type once, so handlers only
 * see a complete, decompressed body. The wire contract is docs/http-api.md.
 *
 * Depends on: base, ingest, catalog, query, engine (later persist, auth).
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include "base/base.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "ingest/ingest.h"
#include "persist/persist.h"
#include "query/query.h"

typedef struct http_config {
    const char *bind;          /* "host:port"; port 0 picks a free one */
    size_t max_request_bytes;  /* body cap, also for decompressed bodies */
    catalog *cat;
    ingest *ingest;
    query_engine *query;       /* serves /api/v3/query_sql; NULL answers 500 */
    persist *persist;          /* serves /api/v3/persist; NULL answers 500 */
    int64_t hard_delete_default_ns; /* hard_delete_at=default: files go this long after */
    engine *engine;            /* the processing engine; NULL without --plugin-dir */
    const char *version;       /* Vigil's version for /ping */
    const char *revision;
    /* Appends the server's metrics (Prometheus text, without the final "# EOF") for
     * GET /metrics; NULL serves only "# EOF". */
    void (*metrics)(void *ctx, vg_buf *out);
    void *metrics_ctx;
} http_config;

typedef struct http_server http_server;

int http_start(const http_config *cfg, http_server **out, vg_err *e);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const http_server *s);
/* Stops accepting, finishes in-flight requests, frees the server. */
void http_stop(http_server *s);

#endif /* VIGIL_HTTP_H */
