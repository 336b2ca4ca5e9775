/* client/http.c: one request over one TCP connection: resolve, connect with a timeout,
 * send the request, read and parse the response, close.
 *
 * Sockets are non-blocking and every wait is a poll() with the configured timeout,
 * so a dead server or a black-holed address costs seconds, not forever. */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct client {
    client_url url;
    char *base;     /* "http://host:port/prefix" for messages */
    char *host_hdr; /* value of the Host header */
    char *auth_hdr; /* "Authorization: Bearer ..." or NULL */
    char *user_agent;
    int connect_timeout_ms;
    int io_timeout_ms;
};

/* A header value must not smuggle in a second header or a second request. */
static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static char *dup_buf(vg_buf *b)
{
    if (b->oom || !b->data) {
        vg_buf_free(b);
        return NULL;
    }
    return vg_buf_steal(b);
}

int client_new(const client_config *cfg, client **out, vg_err *e)
{
    *out = NULL;
    client *c = vg_calloc(1, sizeof *c);
    if (!c)
        return vg_err_set(e, VG_ENOMEM, "out of memory creating the HTTP client");
    int rc = client_url_parse(cfg->url, &c->url, e);
    if (rc)
        goto free_client;
    if (cfg->token && has_crlf(cfg->token)) {
        rc = vg_err_set(e, VG_EINVAL, "the token contains a line break");
        goto free_client;
    }
    vg_buf b;
    vg_buf_init(&b);
    client_url_format(&c->url, &b);
    c->base = dup_buf(&b);
    if (c->url.ipv6)
        vg_buf_printf(&b, "[%s]", c->url.host);
    else
        vg_buf_puts(&b, c->url.host);
    if (c->url.port != 80)
        vg_buf_printf(&b, ":%u", (unsigned)c->url.port);
    c->host_hdr = dup_buf(&b);
    if (cfg->token && *cfg->token) {
        vg_buf_printf(&b, "Authorization: Bearer %s", cfg->token);
        c->auth_hdr = dup_buf(&b);
    }
    c->user_agent = vg_strdup(cfg->user_agent ? cfg->user_agent : "vigil-client");
    if (!c->base || !c->host_hdr || !c->user_agent || (cfg->token && *cfg->token && !c->auth_hdr)) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory creating the HTTP client");
        goto free_client;
    }
    c->connect_timeout_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
    c->io_timeout_ms = cfg->io_timeout_ms ? cfg->io_timeout_ms : CLIENT_DEFAULT_IO_TIMEOUT_MS;
    *out = c;
    return VG_OK;

free_client:
    client_free(c);
    return rc;
}

void client_free(client *c)
{
    if (!c)
        return;
    vg_free(c->base);
    vg_free(c->host_hdr);
    vg_free(c->auth_hdr);
    vg_free(c->user_agent);
    vg_free(c);
}

const char *client_base_url(const client *c)
{
    return c->base;
}

/* Waits for `events` on fd. Returns 1 when ready, 0 on timeout, -1 with errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -1;
    }
}

static void format_seconds(int ms, char *out, size_t n)
{
    if (ms % 1000 == 0)
        snprintf(out, n, "%ds", ms / 1000);
    else
        snprintf(out, n, "%dms", ms);
}

/* Connects one address. Returns the fd, or -1 with *err = errno (ETIMEDOUT on
 * timeout). */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *err)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            *err = errno;
            goto close_fd;
        }
        int ready = wait_fd(fd, POLLOUT, timeout_ms);
        if (ready <= 0) {
            *err = ready == 0 ? ETIMEDOUT : errno;
            goto close_fd;
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            *err = soerr ? soerr : errno;
            goto close_fd;
        }
    }
    /* The request goes out in one sendmsg; Nagle could only delay its tail. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;

close_fd:
    close(fd);
    return -1;
}

static int connect_server(client *c, int *out_fd, vg_err *e)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)c->url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(c->url.host, port, &hints, &res);
    if (gai != 0)
        return vg_err_set(e, VG_EIO, "cannot resolve host '%s' of %s: %s", c->url.host, c->base,
                          gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
    int err = ECONNREFUSED;
    int fd = -1;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai, c->connect_timeout_ms, &err);
    freeaddrinfo(res);
    if (fd >= 0) {
        *out_fd = fd;
        return VG_OK;
    }
    if (err == ECONNREFUSED)
        return vg_err_set(e, VG_EIO,
                          "cannot connect to %s: %s (is the server running? start it with "
                          "'vigil serve')",
                          c->base, strerror(err));
    if (err == ETIMEDOUT) {
        char t[32];
        format_seconds(c->connect_timeout_ms, t, sizeof t);
        return vg_err_set(e, VG_EIO, "cannot connect to %s: timed out after %s", c->base, t);
    }
    return vg_err_set(e, VG_EIO, "cannot connect to %s: %s", c->base, strerror(err));
}

static void build_head(client *c, const client_request *req, vg_buf *h)
{
    vg_buf_printf(h, "%s %s%s", req->method, c->url.path, req->path);
    if (req->query && *req->query)
        vg_buf_printf(h, "?%s", req->query);
    vg_buf_printf(h,
                  " HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                  "Connection: close\r\n",
                  c->host_hdr, c->user_agent);
    if (c->auth_hdr)
        vg_buf_printf(h, "%s\r\n", c->auth_hdr);
    if (req->content_type)
        vg_buf_printf(h, "Content-Type: %s\r\n", req->content_type);
    for (const char *const *x = req->headers; x && *x; x++)
        vg_buf_printf(h, "%s\r\n", *x);
    /* Methods that carry a body always say how long it is, even when empty. */
    bool bodyless = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
                    strcmp(req->method, "DELETE") == 0 || strcmp(req->method, "OPTIONS") == 0;
    if (req->body_len > 0 || !bodyless)
        vg_buf_printf(h, "Content-Length: %zu\r\n", req->body_len);
    vg_buf_puts(h, "\r\n");
}

static int check_request(const client_request *req, vg_err *e)
{
    if (!req->method || !*req->method || strpbrk(req->method, " \r\n"))
        return vg_err_set(e, VG_EINVAL, "bad HTTP method");
    if (!req->path || req->path[0] != '/' || strpbrk(req->path, " \r\n?#"))
        return vg_err_set(e, VG_EINVAL, "bad request path '%s' (must start with '/')",
                          req->path ? req->path : "");
    if (req->body_len > 0 && !req->body)
        return vg_err_set(e, VG_EINVAL, "request body length %zu without a body", req->body_len);
    if (req->query && strpbrk(req->query, " \r\n#"))
        return vg_err_set(e, VG_EINVAL, "bad query string (it must be URL-encoded)");
    if (req->content_type && has_crlf(req->content_type))
        return vg_err_set(e, VG_EINVAL, "bad Content-Type");
    for (const char *const *x = req->headers; x && *x; x++)
        if (has_crlf(*x) || !strchr(*x, ':'))
            return vg_err_set(e, VG_EINVAL, "bad request header '%s'", *x);
    return VG_OK;
}

/* Sends head and body. *err receives errno on failure (ETIMEDOUT on timeout). */
static int send_all(int fd, const vg_buf *head, const client_request *req, int timeout_ms, int *err)
{
    struct iovec iov[2] = {
        {.iov_base = head->data, .iov_len = head->len},
        {.iov_base = (void *)req->body, .iov_len = req->body ? req->body_len : 0},
    };
    struct iovec *v = iov;
    int nv = 2;
    while (nv > 0) {
        struct msghdr msg = {.msg_iov = v, .msg_iovlen = (size_t)nv};
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                *err = errno;
                return -1;
            }
            int ready = wait_fd(fd, POLLOUT, timeout_ms);
            if (ready <= 0) {
                *err = ready == 0 ? ETIMEDOUT : errno;
                return -1;
            }
            continue;
        }
        size_t left = (size_t)n;
        while (nv > 0 && left >= v->iov_len) {
            left -= v->iov_len;
            v++;
            nv--;
        }
        if (nv > 0) {
            v->iov_base = (char *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    return 0;
}

/* Reads until the parser is done or the peer closes. */
static int recv_response(client *c, int fd, client_parser *p, vg_err *e)
{
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_fd(fd, POLLIN, c->io_timeout_ms);
            if (ready == 0) {
                char t[32];
                format_seconds(c->io_timeout_ms, t, sizeof t);
                return vg_err_set(e, VG_EIO, "no response from %s: timed out after %s of silence",
                                  c->base, t);
            }
            if (ready < 0)
                return vg_err_errno(e, VG_EIO, errno, "reading the response from %s", c->base);
            continue;
        }
        if (n < 0)
            return vg_err_errno(e, VG_EIO, errno, "reading the response from %s", c->base);
        int rc = n == 0 ? client_parser_eof(p, e) : client_parser_feed(p, buf, (size_t)n, NULL, e);
        if (rc) {
            /* Say which server sent the bad or short reply. */
            char msg[VG_ERR_MSG_BYTES];
            snprintf(msg, sizeof msg, "%s", e ? e->msg : "");
            return vg_err_set(e, (vg_code)rc, "bad response from %s: %s", c->base, msg);
        }
        if (client_parser_done(p))
            return VG_OK;
    }
}

int client_do(client *c, const client_request *req, client_response *r, vg_err *e)
{
    client_response_free(r); /* a reused response starts empty, whatever happens */
    int rc = check_request(req, e);
    if (rc)
        return rc;
    vg_buf head;
    vg_buf_init(&head);
    build_head(c, req, &head);
    if (head.oom) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory building the request");
        goto free_head;
    }
    int fd = -1;
    rc = connect_server(c, &fd, e);
    if (rc)
        goto free_head;
    int send_err = 0;
    int sent = send_all(fd, &head, req, c->io_timeout_ms, &send_err);
    if (sent != 0 && send_err == ETIMEDOUT) {
        char t[32];
        format_seconds(c->io_timeout_ms, t, sizeof t);
        rc = vg_err_set(e, VG_EIO, "sending the request to %s: timed out after %s", c->base, t);
        goto close_fd;
    }
    /* A server may answer (413, 401) and close before reading the whole body, which
     * makes the send fail; its answer is still worth reading. */
    client_parser p;
    client_parser_init(&p, r, strcmp(req->method, "HEAD") == 0);
    rc = recv_response(c, fd, &p, e);
    client_parser_free(&p);
    if (rc && sent != 0)
        rc = vg_err_errno(e, VG_EIO, send_err,
                          "sending a request of %zu bytes to %s failed before the server "
                          "answered",
                          head.len + req->body_len, c->base);
close_fd:
    close(fd);
free_head:
    vg_buf_free(&head);
    return rc;
}
