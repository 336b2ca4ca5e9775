/* cli/write.c: `vigil write`: line protocol from arguments, a file or stdin, sent to
 * /api/v3/write_lp in requests of at most --max-request-size bytes, split at line
 * boundaries; rejected lines are reported with their line number in the whole input. */
#include "cli_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const cli_opt opt_file = {
    .name = "file",
    .short_name = 'f',
    .metavar = "FILE",
    .help = "Read line protocol from FILE ('-' for standard input)",
};
static const cli_opt opt_precision = {
    .name = "precision",
    .short_name = 'p',
    .metavar = "PRECISION",
    .def = "auto",
    .help = "Unit of the timestamps: auto, ns, us, ms or s (auto guesses from their size)",
};
static const cli_opt opt_accept_partial = {
    .name = "accept-partial",
    .help = "Write the good lines even when some lines are bad (by default the first bad "
            "line rejects the whole request)",
};
static const cli_opt opt_no_sync = {
    .name = "no-sync",
    .help = "Do not wait for the write to be durable in the WAL before acknowledging",
};
static const cli_opt opt_gzip = {
    .name = "gzip",
    .help = "Compress each request body with gzip",
};
static const cli_opt opt_max_request_size = {
    .name = "max-request-size",
    .metavar = "BYTES",
    .def = "10485760",
    .help = "Split the input into requests of at most BYTES (suffixes K, M, G = KiB, MiB, "
            "GiB); match the server's --max-http-request-size",
};

const cli_opt *const cli_write_opts[] = {
    &cli_opt_database,     &cli_opt_host,
    &cli_opt_token,        &opt_file,
    &opt_precision,        &opt_accept_partial,
    &opt_no_sync,          &opt_gzip,
    &opt_max_request_size, NULL,
};

/* A request's worth of whole lines: input bytes [off, off + len), whose first line
 * is line `first_line` (1-based) of the whole input. */
typedef struct chunk {
    size_t off, len;
    size_t first_line;
} chunk;

typedef struct write_job {
    const cli_args *a;
    const char *db;
    const char *in; /* the whole input */
    size_t in_len;
    chunk *chunks;
    size_t nchunks;
    size_t data_lines; /* lines that are neither blank nor comments */
    size_t rejected;
    size_t seek_line, seek_off; /* where input_line last stopped */
} write_job;

/* The server's spellings, so a typo fails here rather than after reading a big file. */
static const char *const precisions[] = {
    "auto", "ns",         "us",          "ms",          "s",      "n",
    "u",    "nanosecond", "microsecond", "millisecond", "second", NULL,
};

static bool valid_precision(const char *p)
{
    for (int i = 0; precisions[i]; i++)
        if (strcmp(p, precisions[i]) == 0)
            return true;
    return false;
}

/* "10485760", "512K", "10M", "1G" (binary multiples). 0 on a bad value. */
static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return 0;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift) {
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
    }
    /* zlib counts a body in 32 bits; no server takes a 4 GiB request anyway. */
    if (*end || v > (UINT32_MAX >> shift))
        return 0;
    return (size_t)(v << shift);
}

/* Fills b with the input: the arguments (one line each), a file, or stdin. */
static int read_input(const cli_args *a, vg_buf *b)
{
    const char *file = cli_get(a, "file");
    if (file && a->npos > 0)
        return cli_usage_error(a->cmd,
                               "give line protocol either as arguments or with --file, not both");
    if (a->npos > 0) {
        for (int i = 0; i < a->npos; i++) {
            vg_buf_puts(b, a->pos[i]);
            vg_buf_putc(b, '\n');
        }
        return b->oom ? cli_fail("out of memory") : CLI_EXIT_OK;
    }
    if (file && strcmp(file, "-") != 0) {
        vg_err e = {0};
        if (vg_read_file(file, b, &e) != VG_OK)
            return cli_fail("cannot read line protocol: %s", e.msg);
        return CLI_EXIT_OK;
    }
    if (!file && isatty(STDIN_FILENO))
        return cli_usage_error(a->cmd, "no line protocol given: pass it as an argument, with "
                                       "--file, or on standard input");
    return cli_read_stdin(b);
}

/* A line that carries no point: the server skips blank lines and comments. */
static bool is_data_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    return i < n && s[i] != '#';
}

static int push_chunk(write_job *j, size_t *cap, chunk c)
{
    if (j->nchunks == *cap) {
        size_t n = *cap ? 2 * *cap : 8;
        chunk *grown = vg_realloc(j->chunks, n * sizeof *grown);
        if (!grown)
            return cli_fail("out of memory");
        j->chunks = grown;
        *cap = n;
    }
    j->chunks[j->nchunks++] = c;
    return CLI_EXIT_OK;
}

/* Splits the input at line boundaries into chunks of at most `max` bytes. Chunks with
 * no data line are dropped (the server would answer "incoming write was empty"),
 * unless the whole input has none: then one request gets the server's answer. */
static int split_input(write_job *j, size_t max)
{
    size_t cap = 0;
    chunk cur = {0, 0, 1};
    bool cur_has_data = false;
    size_t line_no = 1;
    for (size_t off = 0; off < j->in_len; line_no++) {
        const char *nl = memchr(j->in + off, '\n', j->in_len - off);
        size_t len = nl ? (size_t)(nl - (j->in + off)) + 1 : j->in_len - off;
        if (len > max)
            return cli_fail("line %zu is %zu bytes with its newline, more than "
                            "--max-request-size (%zu bytes); nothing was written",
                            line_no, len, max);
        if (cur.len + len > max) {
            if (cur_has_data && push_chunk(j, &cap, cur) != CLI_EXIT_OK)
                return CLI_EXIT_FAIL;
            cur = (chunk){off, 0, line_no};
            cur_has_data = false;
        }
        bool data = is_data_line(j->in + off, len - (nl != NULL));
        cur_has_data |= data;
        j->data_lines += data;
        cur.len += len;
        off += len;
    }
    if (cur_has_data)
        return push_chunk(j, &cap, cur);
    if (j->nchunks == 0) /* nothing but blank lines and comments */
        return push_chunk(j, &cap, (chunk){0, j->in_len, 1});
    return CLI_EXIT_OK;
}

static int gzip_body(const char *p, size_t n, vg_buf *out)
{
    z_stream z = {0};
    /* 15 window bits + 16 = a gzip wrapper, which is what Content-Encoding: gzip means. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return cli_fail("cannot start gzip compression");
    size_t bound = deflateBound(&z, (uLong)n);
    vg_buf_reset(out);
    if (!vg_buf_reserve(out, bound)) {
        deflateEnd(&z);
        return cli_fail("out of memory compressing the request");
    }
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)bound;
    int zrc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return zrc == Z_STREAM_END ? CLI_EXIT_OK : cli_fail("gzip compression failed");
}

/* Line `n` (1-based) of the input, without its line ending. Rejections come in line
 * order, so the scan resumes from the last line found instead of the start. */
static vg_str input_line(write_job *j, size_t n)
{
    if (n < j->seek_line) {
        j->seek_line = 1;
        j->seek_off = 0;
    }
    const char *s = j->in + j->seek_off, *end = j->in + j->in_len;
    for (; j->seek_line < n && s < end; j->seek_line++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    j->seek_off = (size_t)(s - j->in);
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    if (len > 0 && s[len - 1] == '\r')
        len--;
    return (vg_str){s, len};
}

/* Long lines are cut for the terminal; the line number finds the rest. */
#define SHOWN_LINE_BYTES 200

/* Prints "line <n>: <error_message>: <original_line>" for one rejected line. The
 * server numbers lines within its request and echoes only their first 20 bytes; the
 * number is made absolute and the line is shown from the input when it matches. */
static void print_rejected(write_job *j, const chunk *c, json_t *item)
{
    json_t *num = json_object_get(item, "line_number");
    const char *msg = json_string_value(json_object_get(item, "error_message"));
    const char *orig = json_string_value(json_object_get(item, "original_line"));
    size_t n = json_is_integer(num) && json_integer_value(num) > 0
                   ? (size_t)json_integer_value(num) + c->first_line - 1
                   : 0;
    vg_str line = n ? input_line(j, n) : (vg_str){NULL, 0};
    if (!orig ||
        (line.ptr && strlen(orig) <= line.len && memcmp(line.ptr, orig, strlen(orig)) == 0)) {
        int shown = (int)(line.len > SHOWN_LINE_BYTES ? SHOWN_LINE_BYTES : line.len);
        fprintf(stderr, "line %zu: %s: %.*s%s\n", n, msg ? msg : "rejected", shown,
                line.ptr ? line.ptr : "", line.len > SHOWN_LINE_BYTES ? "..." : "");
    } else {
        fprintf(stderr, "line %zu: %s: %s\n", n, msg ? msg : "rejected", orig);
    }
    j->rejected++;
}

/* Nothing of chunk c on was written: say what was. */
static void print_batch_rejected(const write_job *j, const chunk *c)
{
    if (c->first_line == 1)
        fputs("Error: nothing was written: without --accept-partial the server rejects the "
              "whole request at its first bad line\n",
              stderr);
    else
        fprintf(stderr,
                "Error: lines 1-%zu were written; nothing from line %zu on was written: "
                "without --accept-partial the server rejects a whole request at its first bad "
                "line\n",
                c->first_line - 1, c->first_line);
}

/* Handles a non-204 answer. Returns true when the job may go on with the next chunk
 * (bad lines were reported and the good ones kept). */
static bool handle_rejection(write_job *j, const chunk *c, const client_response *r)
{
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    bool go_on = false;
    if (json_is_array(data) && json_array_size(data) > 0) { /* partial write */
        for (size_t i = 0; i < json_array_size(data); i++)
            print_rejected(j, c, json_array_get(data, i));
        go_on = true;
    } else if (json_is_object(data) && json_object_get(data, "line_number")) {
        print_rejected(j, c, data); /* whole batch rejected */
        print_batch_rejected(j, c);
    } else {
        cli_server_error(r, "write to database \"%s\" failed", j->db);
        if (c->first_line > 1)
            fprintf(stderr, "Lines 1-%zu were written before the failure.\n", c->first_line - 1);
    }
    json_decref(root);
    return go_on;
}

static void build_query(const write_job *j, vg_buf *q)
{
    const cli_args *a = j->a;
    client_query_add(q, "db", j->db);
    const char *precision = cli_get(a, "precision");
    if (precision && strcmp(precision, "auto") != 0)
        client_query_add(q, "precision", precision);
    client_query_add(q, "accept_partial", cli_flag(a, "accept-partial") ? "true" : "false");
    if (cli_flag(a, "no-sync"))
        client_query_add(q, "no_sync", "true");
}

static int send_chunks(write_job *j, client *c)
{
    bool gzip = cli_flag(j->a, "gzip");
    const char *gzip_hdr[] = {"Content-Encoding: gzip", NULL};
    vg_buf q, z;
    vg_buf_init(&q);
    vg_buf_init(&z);
    build_query(j, &q);
    client_response r;
    client_response_init(&r);
    int rc = q.oom ? cli_fail("out of memory") : CLI_EXIT_OK;
    for (size_t i = 0; i < j->nchunks && rc == CLI_EXIT_OK; i++) {
        const chunk *ch = &j->chunks[i];
        client_request req = {
            .method = "POST",
            .path = "/api/v3/write_lp",
            .query = q.data,
            .content_type = "text/plain; charset=utf-8",
            .body = j->in + ch->off,
            .body_len = ch->len,
        };
        if (gzip) {
            rc = gzip_body(j->in + ch->off, ch->len, &z);
            req.headers = gzip_hdr;
            req.body = z.data;
            req.body_len = z.len;
        }
        if (rc != CLI_EXIT_OK)
            break;
        rc = cli_send(c, &req, &r);
        if (rc != CLI_EXIT_OK) { /* no answer: the earlier requests did land */
            if (i > 0)
                fprintf(stderr, "Lines 1-%zu were written before the failure.\n",
                        ch->first_line - 1);
            break;
        }
        if (r.status != 204 && r.status != 200 && !handle_rejection(j, ch, &r))
            rc = CLI_EXIT_FAIL;
    }
    client_response_free(&r);
    vg_buf_free(&q);
    vg_buf_free(&z);
    return rc;
}

int cli_write(const cli_args *a)
{
    const char *db = cli_get(a, "database");
    if (!db || !*db)
        return cli_usage_error(a->cmd, "no database given: use --database/-d NAME or set "
                                       "VIGIL_DATABASE_NAME");
    const char *precision = cli_get(a, "precision");
    if (!valid_precision(precision))
        return cli_usage_error(a->cmd, "unknown precision '%s' (expected auto, ns, us, ms or s)",
                               precision);
    size_t max = parse_size(cli_get(a, "max-request-size"));
    if (max == 0)
        return cli_usage_error(a->cmd,
                               "bad --max-request-size '%s' (expected bytes, e.g. 10485760 "
                               "or 10M)",
                               cli_get(a, "max-request-size"));
    client *c = cli_connect(a);
    if (!c)
        return CLI_EXIT_USAGE;
    vg_buf in;
    vg_buf_init(&in);
    write_job j = {.a = a, .db = db, .seek_line = 1};
    int rc = read_input(a, &in);
    if (rc == CLI_EXIT_OK) {
        j.in = in.data ? in.data : "";
        j.in_len = in.len;
        rc = split_input(&j, max);
    }
    if (rc == CLI_EXIT_OK)
        rc = send_chunks(&j, c);
    if (rc == CLI_EXIT_OK && j.rejected > 0) {
        fprintf(stderr, "Error: %zu of %zu lines were rejected; the other lines were written\n",
                j.rejected, j.data_lines);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK)
        fputs("success\n", stderr);
    vg_free(j.chunks);
    vg_buf_free(&in);
    client_free(c);
    return rc;
}
