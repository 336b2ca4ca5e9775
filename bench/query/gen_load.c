/*
 * gen_load: the query benchmark's data generator and loader. Generates the IoT fleet
 * table row by row and POSTs it as line protocol over keep-alive HTTP/1.1 connections,
 * one thread per connection:
 *
 *     fleet,device=d0042,site=s2 f0=123.45,f1=...,f9=... <ts>
 *
 * Row i is device (i % devices) at step (i / devices): all devices report every
 * --step-s seconds from --start-ns, in time order. Field k of (device d, step t) is
 *
 *     x = (d*7919 + t*104729 + k*1299709) % 1000003
 *     y = (x * 48271) % 2147483647
 *     f_k = (y % 100000) / 100.0
 *
 * integer arithmetic that bench/query/driver.py repeats in DuckDB SQL, so both systems
 * hold bit-identical rows (a two-decimal text parses to the same double as n / 100.0).
 *
 *   gen_load --port P [--host 127.0.0.1] [--path '/api/v3/write_lp?db=bench&precision=ns']
 *            [--rows 10000000] [--devices 1000] [--sites 10] [--step-s 10]
 *            [--start-ns 1767225600000000000] [--lines 10000] [--connections 2]
 *            [--rate ROWS_PER_S]  (pace the load; default as fast as possible)
 *
 * Exits non-zero on the first non-2xx answer. The last line is machine-readable:
 * RESULT rows=... requests=... elapsed_s=... rows_per_s=... mb=...
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NFIELDS 10
#define LINE_MAX_BYTES 256

typedef struct opts {
    const char *host;
    int port;
    const char *path;
    int64_t rows;
    int64_t devices;
    int64_t sites;
    int64_t step_ns;
    int64_t start_ns;
    int64_t lines;
    int connections;
    double rate; /* rows per second over all connections; 0 = as fast as possible */
    double t0;   /* mono_s() at the start, for pacing */
} opts;

typedef struct worker {
    const opts *o;
    int id;
    pthread_t thread;
    int64_t requests;
    int64_t bytes;
    int failed;
    char error[512];
} worker;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Field k of device d at step t, in hundredths (0 .. 99999). */
static int64_t field_centi(int64_t d, int64_t t, int k)
{
    int64_t x = (d * 7919 + t * 104729 + (int64_t)k * 1299709) % 1000003;
    int64_t y = (x * 48271) % 2147483647;
    return y % 100000;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Appends the line of row i; returns the new end. */
static char *put_row(const opts *o, int64_t i, char *p)
{
    int64_t d = i % o->devices, t = i / o->devices;
    p += sprintf(p, "fleet,device=d%04lld,site=s%lld ", (long long)d, (long long)(d % o->sites));
    for (int k = 0; k < NFIELDS; k++) {
        int64_t c = field_centi(d, t, k);
        *p++ = 'f';
        *p++ = (char)('0' + k);
        *p++ = '=';
        p = put_u64(p, (uint64_t)(c / 100));
        *p++ = '.';
        *p++ = (char)('0' + (c % 100) / 10);
        *p++ = (char)('0' + c % 10);
        *p++ = k + 1 < NFIELDS ? ',' : ' ';
    }
    p = put_u64(p, (uint64_t)(o->start_ns + t * o->step_ns));
    *p++ = '\n';
    return p;
}

static int connect_to(const opts *o)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status, or -1. The body (Content-Length only; the
 * write API answers 204 or a short error) is copied into err when not 2xx. */
static int read_response(int fd, char *err, size_t errlen)
{
    char buf[8192];
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == sizeof buf - 1)
            return -1;
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t clen = 0;
    for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "content-length:", 15) == 0)
            clen = strtoul(h + 17, NULL, 10);
    }
    size_t body_have = have - (size_t)(end + 4 - buf);
    char *body = end + 4;
    while (body_have < clen) {
        char sink[8192];
        size_t want = clen - body_have < sizeof sink ? clen - body_have : sizeof sink;
        ssize_t r = recv(fd, sink, want, 0);
        if (r <= 0)
            return -1;
        body_have += (size_t)r;
    }
    if (status / 100 != 2)
        snprintf(err, errlen, "HTTP %d: %.*s", status, (int)(clen < 300 ? clen : 300), body);
    return status;
}

static void *work(void *arg)
{
    worker *w = arg;
    const opts *o = w->o;
    size_t cap = (size_t)o->lines * LINE_MAX_BYTES + 512;
    char *req = malloc(cap);
    if (!req) {
        snprintf(w->error, sizeof w->error, "out of memory");
        w->failed = 1;
        return NULL;
    }
    int fd = connect_to(o);
    if (fd < 0) {
        snprintf(w->error, sizeof w->error, "cannot connect to %s:%d", o->host, o->port);
        w->failed = 1;
        free(req);
        return NULL;
    }
    int64_t nreq = (o->rows + o->lines - 1) / o->lines;
    for (int64_t r = w->id; r < nreq; r += o->connections) {
        int64_t lo = r * o->lines, hi = lo + o->lines < o->rows ? lo + o->lines : o->rows;
        if (o->rate > 0) { /* paced: request r leaves when its first row is due */
            double wait = o->t0 + (double)lo / o->rate - mono_s();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        char *body = req + 256; /* the header goes in front of the body */
        char *p = body;
        for (int64_t i = lo; i < hi; i++)
            p = put_row(o, i, p);
        size_t blen = (size_t)(p - body);
        char head[256];
        int hlen = snprintf(head, sizeof head,
                            "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/plain\r\n"
                            "Content-Length: %zu\r\n\r\n",
                            o->path, o->host, o->port, blen);
        if (hlen <= 0 || hlen > 256) {
            snprintf(w->error, sizeof w->error, "request path too long");
            w->failed = 1;
            break;
        }
        memcpy(body - hlen, head, (size_t)hlen);
        int status = -1;
        if (send_all(fd, body - hlen, (size_t)hlen + blen) == 0)
            status = read_response(fd, w->error, sizeof w->error);
        if (status < 0) {
            snprintf(w->error, sizeof w->error, "connection failed on request %lld", (long long)r);
            w->failed = 1;
            break;
        }
        if (status / 100 != 2) {
            w->failed = 1;
            break;
        }
        w->requests++;
        w->bytes += (int64_t)blen;
    }
    close(fd);
    free(req);
    return NULL;
}

static int64_t arg_i64(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "gen_load: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return strtoll(argv[++*i], NULL, 10);
}

int main(int argc, char **argv)
{
    opts o = {.host = "127.0.0.1", .port = 0, .path = "/api/v3/write_lp?db=bench&precision=ns",
              .rows = 10000000, .devices = 1000, .sites = 10, .step_ns = 10000000000LL,
              .start_ns = 1767225600000000000LL, .lines = 10000, .connections = 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--host") == 0 && i + 1 < argc)
            o.host = argv[++i];
        else if (strcmp(a, "--path") == 0 && i + 1 < argc)
            o.path = argv[++i];
        else if (strcmp(a, "--port") == 0)
            o.port = (int)arg_i64(argc, argv, &i);
        else if (strcmp(a, "--rows") == 0)
            o.rows = arg_i64(argc, argv, &i);
        else if (strcmp(a, "--devices") == 0)
            o.devices = arg_i64(argc, argv, &i);
        else if (strcmp(a, "--sites") == 0)
            o.sites = arg_i64(argc, argv, &i);
        else if (strcmp(a, "--step-s") == 0)
            o.step_ns = arg_i64(argc, argv, &i) * 1000000000LL;
        else if (strcmp(a, "--start-ns") == 0)
            o.start_ns = arg_i64(argc, argv, &i);
        else if (strcmp(a, "--lines") == 0)
            o.lines = arg_i64(argc, argv, &i);
        else if (strcmp(a, "--connections") == 0)
            o.connections = (int)arg_i64(argc, argv, &i);
        else if (strcmp(a, "--rate") == 0)
            o.rate = (double)arg_i64(argc, argv, &i);
        else {
            fprintf(stderr, "gen_load: unknown argument %s (see the comment at the top of "
                            "bench/query/gen_load.c)\n", a);
            return 2;
        }
    }
    if (o.port <= 0 || o.rows <= 0 || o.devices <= 0 || o.devices > 10000 || o.sites <= 0 ||
        o.lines <= 0 || o.connections <= 0) {
        fprintf(stderr, "gen_load: need --port, and positive --rows, --lines, --connections, "
                        "--sites, --devices (at most 10000)\n");
        return 2;
    }
    worker *ws = calloc((size_t)o.connections, sizeof *ws);
    if (!ws)
        return 1;
    double t0 = mono_s();
    o.t0 = t0;
    for (int i = 0; i < o.connections; i++) {
        ws[i].o = &o;
        ws[i].id = i;
        if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "gen_load: cannot start a thread\n");
            return 1;
        }
    }
    int64_t requests = 0, bytes = 0;
    int failed = 0;
    for (int i = 0; i < o.connections; i++) {
        pthread_join(ws[i].thread, NULL);
        requests += ws[i].requests;
        bytes += ws[i].bytes;
        if (ws[i].failed) {
            fprintf(stderr, "gen_load: connection %d: %s\n", i, ws[i].error);
            failed = 1;
        }
    }
    double el = mono_s() - t0;
    free(ws);
    if (failed)
        return 1;
    printf("RESULT rows=%lld requests=%lld elapsed_s=%.2f rows_per_s=%.0f mb=%.1f\n",
           (long long)o.rows, (long long)requests, el, (double)o.rows / el, (double)bytes / 1e6);
    return 0;
}
