/*
 * load: the ingest benchmark's HTTP load client. Plain sockets, keep-alive HTTP/1.1,
 * one thread per connection. Each thread builds one body of IoT lines up front
 *
 *     m,site=s<k>,device=d<n> f0=..,f1=..,...,f9=.. <ts>
 *
 * and before every request rewrites only the fixed-width timestamps in place, so
 * every point of the run is unique (no overwrites) and the client costs next to
 * nothing. Runs for a fixed duration and reports lines/s, field values/s, MB/s and
 * request latency percentiles.
 *
 *   load --port P --path '/api/v3/write_lp?db=bench&precision=ns'
 *        [--host 127.0.0.1] [--connections 2] [--lines 5000] [--duration 15]
 *        [--mode batch|single]
 *
 * --mode single: one connection, one-line writes (latency of a lone writer).
 * The last output line is machine-readable: RESULT key=value ...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FIELDS_PER_LINE 10
#define TS_DIGITS 19
#define TS_BASE 1700000000000000000LL
#define TS_SINGLE_OFFSET 100000000000000000LL
#define SITES 10
#define DEVICES 100

typedef struct config {
    const char *host;
    int port;
    const char *path;
    int connections;
    int lines;
    double duration_s;
    bool single;
} config;

typedef struct worker {
    const config *cfg;
    int id;
    pthread_t thread;
    char *body;
    size_t body_len;
    size_t *ts_off; /* offset of each line's timestamp in body */
    uint64_t requests, ok, errors, lines_ok, bytes_ok;
    double *lat_us;
    size_t nlat, lat_cap;
    char first_error[512];
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "load: out of memory\n");
        exit(1);
    }
    return p;
}

/* Builds the thread's body with placeholder timestamps. */
static void build_body(worker *w)
{
    int n = w->cfg->lines;
    size_t cap = (size_t)n * 200 + 64;
    w->body = xmalloc(cap);
    w->ts_off = xmalloc((size_t)n * sizeof *w->ts_off);
    unsigned seed = 12345u + (unsigned)w->id * 7919u;
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int series = (w->id * n + i) % (SITES * DEVICES);
        len += (size_t)snprintf(w->body + len, cap - len, "m,site=s%d,device=d%d ",
                                series / DEVICES, series % DEVICES);
        for (int f = 0; f < FIELDS_PER_LINE; f++) {
            seed = seed * 1103515245u + 12345u;
            unsigned v = (seed >> 8) % 100000u;
            len += (size_t)snprintf(w->body + len, cap - len, "%sf%d=%u.%02u", f ? "," : "", f,
                                    v / 100u, v % 100u);
        }
        w->body[len++] = ' ';
        w->ts_off[i] = len;
        memset(w->body + len, '0', TS_DIGITS);
        len += TS_DIGITS;
        w->body[len++] = '\n';
    }
    w->body_len = len;
}

/* Writes v as exactly TS_DIGITS decimal digits. */
static void put_ts(char *p, int64_t v)
{
    for (int i = TS_DIGITS - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Request number `req` of this worker: timestamps unique over all workers, and the
 * single-line mode uses its own range so both modes can share one database. */
static void stamp(worker *w, uint64_t req)
{
    int64_t base = TS_BASE + (w->cfg->single ? TS_SINGLE_OFFSET : 0);
    int64_t first = ((int64_t)req * w->cfg->connections + w->id) * w->cfg->lines;
    for (int i = 0; i < w->cfg->lines; i++)
        put_ts(w->body + w->ts_off[i], base + (first + i) * 1000);
}

static int connect_to(const config *cfg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t k = writev(fd, iov, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* A connection's receive buffer. */
typedef struct rbuf {
    char data[65536];
    size_t len;
} rbuf;

static int fill(int fd, rbuf *rb)
{
    if (rb->len == sizeof rb->data)
        return -1;
    for (;;) {
        ssize_t k = read(fd, rb->data + rb->len, sizeof rb->data - rb->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        rb->len += (size_t)k;
        return 0;
    }
}

static void consume(rbuf *rb, size_t n)
{
    memmove(rb->data, rb->data + n, rb->len - n);
    rb->len -= n;
}

static const char *find_header(const char *hdr, size_t hlen, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl < hlen; i++) {
        if ((i == 0 || hdr[i - 1] == '\n') && strncasecmp(hdr + i, name, nl) == 0 &&
            hdr[i + nl] == ':')
            return hdr + i + nl + 1;
    }
    return NULL;
}

/* Reads one response; *status receives the code, the body (truncated) goes to err
 * when the status is not 2xx. Returns -1 on a broken connection; *close_after is set
 * when the server asked to close. */
static int read_response(int fd, rbuf *rb, int *status, bool *close_after, char *err,
                         size_t err_cap)
{
    char *end;
    while ((end = memmem(rb->data, rb->len, "\r\n\r\n", 4)) == NULL)
        if (fill(fd, rb) != 0)
            return -1;
    size_t hlen = (size_t)(end - rb->data) + 4;
    if (hlen < 12 || memcmp(rb->data, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(rb->data + 9);
    const char *cl = find_header(rb->data, hlen, "Content-Length");
    const char *te = find_header(rb->data, hlen, "Transfer-Encoding");
    const char *conn = find_header(rb->data, hlen, "Connection");
    *close_after = conn != NULL && strncasecmp(conn + strspn(conn, " "), "close", 5) == 0;
    bool chunked = te != NULL && strncasecmp(te + strspn(te, " "), "chunked", 7) == 0;
    size_t body_len = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
    consume(rb, hlen);
    if (err_cap > 0)
        err[0] = '\0';
    if (chunked) {
        for (;;) {
            char *eol;
            while ((eol = memmem(rb->data, rb->len, "\r\n", 2)) == NULL)
                if (fill(fd, rb) != 0)
                    return -1;
            size_t sz = (size_t)strtoull(rb->data, NULL, 16);
            consume(rb, (size_t)(eol - rb->data) + 2);
            while (rb->len < sz + 2)
                if (fill(fd, rb) != 0)
                    return -1;
            if (sz > 0 && err_cap > 0 && err[0] == '\0')
                snprintf(err, err_cap, "%.*s", (int)(sz < err_cap ? sz : err_cap - 1), rb->data);
            consume(rb, sz + 2);
            if (sz == 0)
                break;
        }
        return 0;
    }
    while (body_len > 0) {
        if (rb->len == 0 && fill(fd, rb) != 0)
            return -1;
        size_t take = rb->len < body_len ? rb->len : body_len;
        if (err_cap > 0 && err[0] == '\0')
            snprintf(err, err_cap, "%.*s", (int)(take < err_cap ? take : err_cap - 1), rb->data);
        consume(rb, take);
        body_len -= take;
    }
    return 0;
}

static void record_latency(worker *w, double us)
{
    if (w->nlat == w->lat_cap) {
        w->lat_cap = w->lat_cap ? w->lat_cap * 2 : 4096;
        w->lat_us = realloc(w->lat_us, w->lat_cap * sizeof *w->lat_us);
        if (w->lat_us == NULL) {
            fprintf(stderr, "load: out of memory\n");
            exit(1);
        }
    }
    w->lat_us[w->nlat++] = us;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    const config *cfg = w->cfg;
    rbuf *rb = xmalloc(sizeof *rb);
    rb->len = 0;
    char head[1024];
    int fd = -1;
    double deadline = now_s() + cfg->duration_s;
    uint64_t req = 0;
    while (now_s() < deadline) {
        if (fd < 0) {
            fd = connect_to(cfg);
            rb->len = 0;
            if (fd < 0) {
                w->errors++;
                usleep(10000);
                continue;
            }
        }
        stamp(w, req++);
        int hl = snprintf(head, sizeof head,
                          "POST %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: vigil-bench-load\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          cfg->path, cfg->host, cfg->port, w->body_len);
        struct iovec iov[2] = {{head, (size_t)hl}, {w->body, w->body_len}};
        double t0 = now_s();
        int status = 0;
        bool close_after = false;
        char err[sizeof w->first_error];
        if (send_all(fd, iov, 2) != 0 ||
            read_response(fd, rb, &status, &close_after, err, sizeof err) != 0) {
            w->errors++;
            close(fd);
            fd = -1;
            continue;
        }
        double t1 = now_s();
        w->requests++;
        if (status >= 200 && status < 300) {
            w->ok++;
            w->lines_ok += (uint64_t)cfg->lines;
            w->bytes_ok += w->body_len;
            record_latency(w, (t1 - t0) * 1e6);
        } else {
            if (w->errors++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "HTTP %d: %s", status, err);
        }
        if (close_after) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(rb);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void usage(void)
{
    fprintf(stderr, "usage: load --port P --path PATH [--host H] [--connections N] "
                    "[--lines L] [--duration S] [--mode batch|single]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    config cfg = {.host = "127.0.0.1", .connections = 2, .lines = 5000, .duration_s = 15};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--host") == 0)
            cfg.host = v;
        else if (strcmp(a, "--port") == 0)
            cfg.port = atoi(v);
        else if (strcmp(a, "--path") == 0)
            cfg.path = v;
        else if (strcmp(a, "--connections") == 0)
            cfg.connections = atoi(v);
        else if (strcmp(a, "--lines") == 0)
            cfg.lines = atoi(v);
        else if (strcmp(a, "--duration") == 0)
            cfg.duration_s = atof(v);
        else if (strcmp(a, "--mode") == 0 && strcmp(v, "single") == 0)
            cfg.single = true;
        else if (strcmp(a, "--mode") == 0 && strcmp(v, "batch") == 0)
            cfg.single = false;
        else
            usage();
        i++;
    }
    if (cfg.single) {
        cfg.connections = 1;
        cfg.lines = 1;
    }
    if (cfg.port <= 0 || cfg.path == NULL || cfg.connections < 1 || cfg.lines < 1 ||
        cfg.duration_s <= 0)
        usage();

    worker *ws = calloc((size_t)cfg.connections, sizeof *ws);
    if (ws == NULL)
        return 1;
    for (int i = 0; i < cfg.connections; i++) {
        ws[i].cfg = &cfg;
        ws[i].id = i;
        build_body(&ws[i]);
    }
    double t0 = now_s();
    for (int i = 0; i < cfg.connections; i++)
        if (pthread_create(&ws[i].thread, NULL, run_worker, &ws[i]) != 0) {
            fprintf(stderr, "load: pthread_create failed\n");
            return 1;
        }
    for (int i = 0; i < cfg.connections; i++)
        pthread_join(ws[i].thread, NULL);
    double elapsed = now_s() - t0;

    uint64_t requests = 0, ok = 0, errors = 0, lines = 0, bytes = 0;
    size_t nlat = 0;
    for (int i = 0; i < cfg.connections; i++) {
        requests += ws[i].requests;
        ok += ws[i].ok;
        errors += ws[i].errors;
        lines += ws[i].lines_ok;
        bytes += ws[i].bytes_ok;
        nlat += ws[i].nlat;
        if (ws[i].first_error[0])
            fprintf(stderr, "load: connection %d: first error: %s\n", i, ws[i].first_error);
    }
    double *lat = xmalloc((nlat ? nlat : 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < cfg.connections; i++) {
        memcpy(lat + k, ws[i].lat_us, ws[i].nlat * sizeof *lat);
        k += ws[i].nlat;
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = percentile(lat, nlat, 0.50) / 1000.0;
    double p99 = percentile(lat, nlat, 0.99) / 1000.0;
    double lps = (double)lines / elapsed;

    printf("%s: %d connection(s) x %d line(s)/request, %.1f s\n",
           cfg.single ? "single-line" : "batch", cfg.connections, cfg.lines, elapsed);
    printf("  requests ok      %llu (%.1f/s), errors %llu\n", (unsigned long long)ok,
           (double)ok / elapsed, (unsigned long long)errors);
    printf("  lines/s          %.0f\n", lps);
    printf("  field values/s   %.0f\n", lps * FIELDS_PER_LINE);
    printf("  MB/s             %.1f\n", (double)bytes / elapsed / 1e6);
    printf("  latency p50/p99  %.3f / %.3f ms\n", p50, p99);
    printf("RESULT lines_per_s=%.0f fields_per_s=%.0f mb_per_s=%.2f p50_ms=%.3f p99_ms=%.3f "
           "requests=%llu errors=%llu elapsed_s=%.2f\n",
           lps, lps * FIELDS_PER_LINE, (double)bytes / elapsed / 1e6, p50, p99,
           (unsigned long long)requests, (unsigned long long)errors, elapsed);

    for (int i = 0; i < cfg.connections; i++) {
        free(ws[i].body);
        free(ws[i].ts_off);
        free(ws[i].lat_us);
    }
    free(ws);
    free(lat);
    return errors > 0 && lines == 0 ? 1 : 0;
}
