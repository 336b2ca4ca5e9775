/* Unit tests for client: URL parsing, query encoding, the response parser over bytes,
 * and real requests against a tiny loopback server running in a thread. */
#include "client/client.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* URLs                                                                     */
/* ------------------------------------------------------------------------ */

static void check_url(const char *in, const char *host, unsigned port, const char *path,
                      const char *formatted)
{
    client_url u;
    vg_err e = {0};
    int rc = client_url_parse(in, &u, &e);
    CHECK_INT(rc, VG_OK);
    if (rc) {
        printf("  %s: %s\n", in, e.msg);
        return;
    }
    CHECK_STR(u.host, host);
    CHECK_INT(u.port, port);
    CHECK_STR(u.path, path);
    vg_buf b;
    vg_buf_init(&b);
    client_url_format(&u, &b);
    CHECK_STR(b.data, formatted);
    vg_buf_free(&b);
}

static void check_url_err(const char *in, const char *msg)
{
    client_url u;
    vg_err e = {0};
    CHECK_INT(client_url_parse(in, &u, &e), VG_EINVAL);
    CHECK_STR(e.msg, msg);
}

static void test_url_parse(void)
{
    check_url("http://127.0.0.1:8181", "127.0.0.1", 8181, "", "http://127.0.0.1:8181");
    check_url("http://localhost", "localhost", 80, "", "http://localhost:80");
    check_url("HTTP://Example.com:80/", "Example.com", 80, "", "http://Example.com:80");
    check_url("localhost:8181", "localhost", 8181, "", "http://localhost:8181");
    check_url("http://h:1/base/path//", "h", 1, "/base/path", "http://h:1/base/path");
    check_url("http://[::1]:8181", "::1", 8181, "", "http://[::1]:8181");
    check_url("http://[fe80::1%eth0]", "fe80::1%eth0", 80, "", "http://[fe80::1%eth0]:80");
    check_url("http://my_host-1.local:65535", "my_host-1.local", 65535, "",
              "http://my_host-1.local:65535");
}

static void test_url_errors(void)
{
    check_url_err("", "empty host URL (expected http://host:port)");
    check_url_err("https://h:8181", "invalid host URL 'https://h:8181': https is not supported "
                                    "yet; use http://");
    check_url_err("ftp://h", "invalid host URL 'ftp://h': unsupported scheme 'ftp' (expected "
                             "http://host:port)");
    check_url_err("http://:8181", "invalid host URL 'http://:8181': no host name");
    check_url_err("http://h:0", "invalid host URL 'http://h:0': bad port '0' (expected 1-65535)");
    check_url_err("http://h:65536",
                  "invalid host URL 'http://h:65536': bad port '65536' (expected 1-65535)");
    check_url_err("http://h:", "invalid host URL 'http://h:': bad port '' (expected 1-65535)");
    check_url_err("http://h:81x", "invalid host URL 'http://h:81x': bad port '81x' (expected "
                                  "1-65535)");
    check_url_err("http://u:p@h", "invalid host URL 'http://u:p@h': credentials in the URL are "
                                  "not supported; use --token");
    check_url_err("http://h/x?y=1",
                  "invalid host URL 'http://h/x?y=1': a query or fragment is not allowed here");
    check_url_err("http://[::1", "invalid host URL 'http://[::1': missing ']'");
    check_url_err("http://h st", "invalid host URL 'http://h st': bad character ' ' in host");
}

static void test_query_encoding(void)
{
    vg_buf q;
    vg_buf_init(&q);
    client_url_encode(&q, "aZ09-._~", 8);
    CHECK_STR(q.data, "aZ09-._~");
    vg_buf_reset(&q);
    client_url_encode(&q, "a b&c=d/é%+", 12);
    CHECK_STR(q.data, "a%20b%26c%3Dd%2F%C3%A9%25%2B");
    vg_buf_reset(&q);
    client_query_add(&q, "db", "my db");
    client_query_add(&q, "precision", "ns");
    client_query_add(&q, "q", "SELECT * FROM \"cpu\" WHERE x='1'");
    CHECK_STR(q.data, "db=my%20db&precision=ns&q=SELECT%20%2A%20FROM%20%22cpu%22%20WHERE%20x%3D"
                      "%271%27");
    vg_buf_reset(&q);
    client_query_add(&q, "empty", "");
    CHECK_STR(q.data, "empty=");
    vg_buf_free(&q);
}

/* ------------------------------------------------------------------------ */
/* The response parser                                                      */
/* ------------------------------------------------------------------------ */

static int parse(const char *raw, bool head, client_response *r, vg_err *e)
{
    client_response_init(r);
    return client_parse_response(raw, strlen(raw), head, r, e);
}

static void test_parse_content_length(void)
{
    client_response r;
    vg_err e = {0};
    const char *raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 7\r\nX-Multi:  a b  \r\n\r\n[1,2,3]TRAILING";
    CHECK_INT(parse(raw, false, &r, &e), VG_OK);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.reason, "OK");
    CHECK_STR(client_response_content_type(&r), "application/json");
    CHECK_STR(client_response_header(&r, "X-MULTI"), "a b");
    CHECK(client_response_header(&r, "nope") == NULL);
    CHECK_INT(r.nheaders, 3);
    CHECK_MEM(r.body.data, r.body.len, "[1,2,3]");
    client_response_free(&r);

    /* Bare LF line ends, no reason phrase, empty body. */
    CHECK_INT(parse("HTTP/1.0 404\nContent-Length: 0\n\n", false, &r, &e), VG_OK);
    CHECK_INT(r.status, 404);
    CHECK_STR(r.reason, "");
    CHECK_INT(r.body.len, 0);
    CHECK_STR(client_response_content_type(&r), "");
    client_response_free(&r);
}

static void test_parse_chunked(void)
{
    client_response r;
    vg_err e = {0};
    const char *raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n"
                      "1;name=value\r\n,\r\n"
                      "0006\r\n world\r\n"
                      "0\r\nX-Trailer: yes\r\n\r\n";
    CHECK_INT(parse(raw, false, &r, &e), VG_OK);
    CHECK_MEM(r.body.data, r.body.len, "hello, world");
    client_response_free(&r);

    /* Upper-case hex, no trailers. */
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                    "A\r\n0123456789\r\n0\r\n\r\n",
                    false, &r, &e),
              VG_OK);
    CHECK_MEM(r.body.data, r.body.len, "0123456789");
    client_response_free(&r);

    CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, &r, &e),
              VG_EINVAL);
    CHECK_STR(e.msg, "bad chunk size line 'zz' in response");
    client_response_free(&r);
    CHECK_INT(
        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", false, &r, &e),
        VG_EINVAL);
    CHECK_STR(e.msg, "chunk data longer than its declared size");
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, &r, &e),
              VG_EIO);
    CHECK_STR(e.msg, "the server closed the connection in the middle of a chunked response body");
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "fffffffffffffffff\r\n",
                    false, &r, &e),
              VG_EINVAL);
    CHECK_STR(e.msg, "chunk size too large in response");
    client_response_free(&r);
}

static void test_parse_framing(void)
{
    client_response r;
    vg_err e = {0};
    /* No length, no chunking: the body runs until the close. */
    CHECK_INT(parse("HTTP/1.1 200 OK\r\n\r\nall of this", false, &r, &e), VG_OK);
    CHECK_MEM(r.body.data, r.body.len, "all of this");
    client_response_free(&r);
    /* 204 and HEAD never have a body, whatever the headers say. */
    CHECK_INT(parse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, &r, &e), VG_OK);
    CHECK_INT(r.status, 204);
    CHECK_INT(r.body.len, 0);
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, &r, &e), VG_OK);
    CHECK_INT(r.body.len, 0);
    client_response_free(&r);
    /* An interim 100 Continue is skipped. */
    CHECK_INT(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                    "\r\nok",
                    false, &r, &e),
              VG_OK);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.reason, "Created");
    CHECK_INT(r.nheaders, 1);
    CHECK_MEM(r.body.data, r.body.len, "ok");
    client_response_free(&r);
    /* Stray empty lines before the status line are tolerated. */
    CHECK_INT(parse("\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", false, &r, &e), VG_OK);
    CHECK_INT(r.status, 200);
    client_response_free(&r);
}

static void test_parse_errors(void)
{
    client_response r;
    vg_err e = {0};
    CHECK_INT(parse("", false, &r, &e), VG_EIO);
    CHECK_STR(e.msg, "the server closed the connection without a response");
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Le", false, &r, &e), VG_EIO);
    CHECK_STR(e.msg, "the server closed the connection in the middle of the response headers");
    client_response_free(&r);
    CHECK_INT(parse("SSH-2.0-OpenSSH_9.2\r\n\r\n", false, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "not an HTTP response (status line 'SSH-2.0-OpenSSH_9.2')");
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", false, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "malformed response header 'no colon here'");
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "bad Content-Length '1x' in response");
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", false,
                    &r, &e),
              VG_EINVAL);
    client_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, &r, &e), VG_EIO);
    CHECK_STR(e.msg, "the server closed the connection after 3 bytes of the response body, 7 "
                     "short of its Content-Length");
    client_response_free(&r);

    /* A head that never ends is cut off at the cap. */
    vg_buf big;
    vg_buf_init(&big);
    vg_buf_puts(&big, "HTTP/1.1 200 OK\r\n");
    while (big.len <= CLIENT_MAX_HEAD_BYTES)
        vg_buf_puts(&big, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    client_response_init(&r);
    CHECK_INT(client_parse_response(big.data, big.len, false, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "the header block in response is larger than 65536 bytes");
    client_response_free(&r);
    vg_buf_free(&big);
}

/* Every split of the byte stream must parse the same as the whole. */
static void test_parse_byte_by_byte(void)
{
    const char *raws[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n"
        "0\r\nT: 1\r\n\r\n",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nerror",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    };
    const char *bodies[] = {"abcde", "error", ""};
    for (size_t k = 0; k < sizeof raws / sizeof raws[0]; k++) {
        client_response r;
        client_response_init(&r);
        client_parser p;
        client_parser_init(&p, &r, false);
        vg_err e = {0};
        size_t n = strlen(raws[k]);
        for (size_t i = 0; i < n && !client_parser_done(&p); i++) {
            size_t used = 0;
            CHECK_INT(client_parser_feed(&p, raws[k] + i, 1, &used, &e), VG_OK);
            CHECK_INT(used, 1);
        }
        CHECK(client_parser_done(&p));
        CHECK_MEM(r.body.data ? r.body.data : "", r.body.len, bodies[k]);
        client_parser_free(&p);
        client_response_free(&r);
    }
}

/* ------------------------------------------------------------------------ */
/* Real requests against a loopback server thread                           */
/* ------------------------------------------------------------------------ */

enum { SRV_NORMAL, SRV_EARLY, SRV_SILENT };

typedef struct fake_server {
    int lfd;
    uint16_t port;
    pthread_t thread;
    int mode;
    const char *const *parts; /* response, sent piece by piece with pauses */
    vg_buf request;           /* everything the client sent (head and body) */
} fake_server;

static size_t head_end(const vg_buf *b)
{
    const char *p = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
    return p ? (size_t)(p - b->data) + 4 : 0;
}

static size_t declared_length(const vg_buf *b)
{
    const char *p = strstr(b->data, "Content-Length: ");
    return p ? (size_t)strtoull(p + 16, NULL, 10) : 0;
}

static void *server_main(void *arg)
{
    fake_server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[65536];
    size_t he = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        vg_buf_append(&s->request, buf, (size_t)n);
        he = he ? he : head_end(&s->request);
        if (he && (s->mode != SRV_NORMAL || s->request.len >= he + declared_length(&s->request)))
            break;
    }
    /* Silent: say nothing until the client gives up and closes. */
    while (s->mode == SRV_SILENT && recv(fd, buf, sizeof buf, 0) > 0)
        ;
    for (const char *const *p = s->parts; p && *p; p++) {
        send(fd, *p, strlen(*p), MSG_NOSIGNAL);
        usleep(2000);
    }
    /* Close the way real servers do: stop writing, then drain what the client still
     * sends, so unread bytes do not turn the close into a reset. */
    shutdown(fd, SHUT_WR);
    while (recv(fd, buf, sizeof buf, 0) > 0)
        ;
    close(fd);
    return NULL;
}

static void server_start(fake_server *s, int mode, const char *const *parts)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->parts = parts;
    vg_buf_init(&s->request);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s->lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    listen(s->lfd, 4);
    pthread_create(&s->thread, NULL, server_main, s);
}

/* Waits for the connection to finish; s->request stays readable until server_free. */
static void server_stop(fake_server *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static void server_free(fake_server *s)
{
    vg_buf_free(&s->request);
}

static client *new_client(uint16_t port, const char *token, int io_timeout_ms)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    client_config cfg = {
        .url = url, .token = token, .user_agent = "vigil-test/1", .io_timeout_ms = io_timeout_ms};
    client *c = NULL;
    vg_err e = {0};
    CHECK_INT(client_new(&cfg, &c, &e), VG_OK);
    return c;
}

static void test_loopback_post(void)
{
    const char *parts[] = {"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                           "Content-Length: 15\r\n\r\n",
                           "{\"error\":", "\"bad\"}", NULL};
    fake_server s;
    server_start(&s, SRV_NORMAL, parts);
    client *c = new_client(s.port, "tok123", 0);
    const char *hdrs[] = {"Content-Encoding: identity", NULL};
    client_request req = {.method = "POST",
                          .path = "/api/v3/write_lp",
                          .query = "db=db1&precision=ns",
                          .content_type = "text/plain",
                          .headers = hdrs,
                          .body = "cpu v=1\n",
                          .body_len = 8};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_OK);
    server_stop(&s);
    server_free(&s);
    CHECK_INT(r.status, 400);
    CHECK_STR(client_response_content_type(&r), "application/json");
    CHECK_MEM(r.body.data, r.body.len, "{\"error\":\"bad\"}");
    client_response_free(&r);
    client_free(c);
}

static void test_loopback_request_bytes(void)
{
    const char *parts[] = {"HTTP/1.1 204 No Content\r\n\r\n", NULL};
    fake_server s;
    server_start(&s, SRV_NORMAL, parts);
    client *c = new_client(s.port, "tok123", 0);
    const char *hdrs[] = {"Content-Encoding: identity", NULL};
    client_request req = {.method = "POST",
                          .path = "/api/v3/write_lp",
                          .query = "db=db1&precision=ns",
                          .content_type = "text/plain",
                          .headers = hdrs,
                          .body = "cpu v=1\n",
                          .body_len = 8};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_OK);
    server_stop(&s);
    CHECK_INT(r.status, 204);
    char expect[512];
    snprintf(expect, sizeof expect,
             "POST /api/v3/write_lp?db=db1&precision=ns HTTP/1.1\r\n"
             "Host: 127.0.0.1:%u\r\nUser-Agent: vigil-test/1\r\nAccept: */*\r\n"
             "Connection: close\r\nAuthorization: Bearer tok123\r\n"
             "Content-Type: text/plain\r\nContent-Encoding: identity\r\n"
             "Content-Length: 8\r\n\r\ncpu v=1\n",
             (unsigned)s.port);
    CHECK_STR(s.request.data, expect);
    server_free(&s);
    client_response_free(&r);
    client_free(c);
}

static void test_loopback_get_chunked(void)
{
    const char *parts[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n",
                           "Content-Type: text/csv\r\n\r\n4\r\n",
                           "a,b\n\r\n",
                           "4\r\n1,2\n\r\n0\r",
                           "\n\r\n",
                           NULL};
    fake_server s;
    server_start(&s, SRV_NORMAL, parts);
    client *c = new_client(s.port, NULL, 0);
    client_request req = {
        .method = "GET", .path = "/api/v3/configure/database", .query = "format=csv"};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_OK);
    server_stop(&s);
    CHECK_INT(r.status, 200);
    CHECK_MEM(r.body.data, r.body.len, "a,b\n1,2\n");
    /* A GET without a body sends no Content-Length and no Authorization. */
    CHECK(strstr(s.request.data, "GET /api/v3/configure/database?format=csv HTTP/1.1\r\n") ==
          s.request.data);
    CHECK(strstr(s.request.data, "Content-Length") == NULL);
    CHECK(strstr(s.request.data, "Authorization") == NULL);
    server_free(&s);
    client_response_free(&r);
    client_free(c);
}

static void test_loopback_until_close_and_big_body(void)
{
    const char *parts[] = {"HTTP/1.1 413 Payload Too Large\r\n\r\n",
                           "max request size (10485760 bytes) exceeded", NULL};
    fake_server s;
    server_start(&s, SRV_EARLY, parts);
    client *c = new_client(s.port, NULL, 0);
    size_t n = 12u << 20;
    char *body = vg_malloc(n);
    memset(body, 'x', n);
    client_request req = {.method = "POST", .path = "/write", .body = body, .body_len = n};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_OK);
    server_stop(&s);
    server_free(&s);
    CHECK_INT(r.status, 413);
    CHECK_STR(r.body.data, "max request size (10485760 bytes) exceeded");
    vg_free(body);
    client_response_free(&r);
    client_free(c);
}

static void test_loopback_timeout(void)
{
    fake_server s;
    server_start(&s, SRV_SILENT, NULL);
    client *c = new_client(s.port, NULL, 200);
    client_request req = {.method = "GET", .path = "/health"};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_EIO);
    char expect[128];
    snprintf(expect, sizeof expect,
             "no response from http://127.0.0.1:%u: timed out after 200ms of silence",
             (unsigned)s.port);
    CHECK_STR(e.msg, expect);
    client_free(c); /* the connection is closed: the server thread sees EOF */
    server_stop(&s);
    server_free(&s);
    client_response_free(&r);
}

static void test_connection_refused(void)
{
    /* A port that was just free: bind, read the number, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    client *c = new_client(ntohs(a.sin_port), NULL, 0);
    client_request req = {.method = "GET", .path = "/health"};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_EIO);
    char expect[200];
    snprintf(expect, sizeof expect,
             "cannot connect to http://127.0.0.1:%u: Connection refused (is the server "
             "running? start it with 'vigil serve')",
             (unsigned)ntohs(a.sin_port));
    CHECK_STR(e.msg, expect);
    client_free(c);
}

static void test_client_new_errors(void)
{
    client *c = (client *)1;
    vg_err e = {0};
    client_config cfg = {.url = "https://x"};
    CHECK_INT(client_new(&cfg, &c, &e), VG_EINVAL);
    CHECK(c == NULL);
    client_config cfg2 = {.url = "http://x", .token = "a\r\nX-Evil: 1"};
    CHECK_INT(client_new(&cfg2, &c, &e), VG_EINVAL);
    CHECK_STR(e.msg, "the token contains a line break");
    /* Name resolution failures are not tested: they depend on the machine's DNS. */
    client_config cfg3 = {.url = "http://127.0.0.1:1"};
    CHECK_INT(client_new(&cfg3, &c, &e), VG_OK);
    CHECK_STR(client_base_url(c), "http://127.0.0.1:1");
    client_response r;
    client_response_init(&r);
    client_request bad = {.method = "GET", .path = "health"};
    CHECK_INT(client_do(c, &bad, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "bad request path 'health' (must start with '/')");
    client_request bad_query = {.method = "GET", .path = "/x", .query = "q=a b"};
    CHECK_INT(client_do(c, &bad_query, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "bad query string (it must be URL-encoded)");
    const char *hdrs[] = {"NoColon", NULL};
    client_request bad_hdr = {.method = "GET", .path = "/x", .headers = hdrs};
    CHECK_INT(client_do(c, &bad_hdr, &r, &e), VG_EINVAL);
    CHECK_STR(e.msg, "bad request header 'NoColon'");
    client_free(c);
}

static void test_loopback_bad_response(void)
{
    const char *parts[] = {"SSH-2.0-OpenSSH_9.2\r\n", NULL};
    fake_server s;
    server_start(&s, SRV_NORMAL, parts);
    client *c = new_client(s.port, NULL, 0);
    client_request req = {.method = "GET", .path = "/health"};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_EIO);
    char expect[160];
    snprintf(expect, sizeof expect,
             "bad response from http://127.0.0.1:%u: the server closed the connection in the "
             "middle of the response headers",
             (unsigned)s.port);
    CHECK_STR(e.msg, expect);
    server_stop(&s);
    server_free(&s);
    client_response_free(&r);
    client_free(c);
}

/* HEAD: the Content-Length describes a body that never comes; do not wait for it. */
static void test_loopback_head(void)
{
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", NULL};
    fake_server s;
    server_start(&s, SRV_NORMAL, parts);
    client *c = new_client(s.port, NULL, 2000);
    client_request req = {.method = "HEAD", .path = "/health"};
    client_response r;
    client_response_init(&r);
    vg_err e = {0};
    CHECK_INT(client_do(c, &req, &r, &e), VG_OK);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 0);
    server_stop(&s);
    server_free(&s);
    client_response_free(&r);
    client_free(c);
}

TEST_MAIN(test_url_parse, test_url_errors, test_query_encoding, test_parse_content_length,
          test_parse_chunked, test_parse_framing, test_parse_errors, test_parse_byte_by_byte,
          test_loopback_post, test_loopback_request_bytes, test_loopback_get_chunked,
          test_loopback_until_close_and_big_body, test_loopback_timeout, test_connection_refused,
          test_client_new_errors, test_loopback_bad_response, test_loopback_head)
