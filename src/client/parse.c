/* client/parse.c: the incremental HTTP/1.1 response parser and response accessors.
 *
 * The parser is a state machine fed arbitrary slices of the byte stream, so a reply
 * split anywhere by TCP parses the same as one read in full. Body framing follows
 * RFC 9112 section 6.3: no body for HEAD, 1xx, 204 and 304; chunked when
 * Transfer-Encoding ends in "chunked"; else Content-Length; else until the close. */
#include "client.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum {
    P_HEAD = 0,    /* status line and headers, up to the empty line */
    P_BODY_LENGTH, /* Content-Length bytes */
    P_BODY_CLOSE,  /* everything until the peer closes */
    P_CHUNK_SIZE,  /* "1a[;ext]\r\n" */
    P_CHUNK_DATA,
    P_CHUNK_END, /* the CRLF after a chunk's data */
    P_TRAILER,   /* trailer fields after the last chunk, up to the empty line */
    P_DONE,
};

/* A chunk-size line is a handful of hex digits plus rarely-used extensions. */
#define CHUNK_LINE_MAX 4096
/* Content-Length decides how much to reserve up front; past this, grow as it comes. */
#define BODY_RESERVE_MAX (256u << 20)

void client_response_init(client_response *r)
{
    r->status = 0;
    r->reason[0] = '\0';
    vg_buf_init(&r->headers);
    r->nheaders = 0;
    vg_buf_init(&r->body);
}

void client_response_free(client_response *r)
{
    vg_buf_free(&r->headers);
    vg_buf_free(&r->body);
    client_response_init(r);
}

const char *client_response_header(const client_response *r, const char *name)
{
    const char *p = r->headers.data;
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

const char *client_response_content_type(const client_response *r)
{
    const char *v = client_response_header(r, "content-type");
    return v ? v : "";
}

void client_parser_init(client_parser *p, client_response *r, bool head_request)
{
    p->resp = r;
    p->state = P_HEAD;
    p->head_request = head_request;
    vg_buf_init(&p->line);
    p->remaining = 0;
}

void client_parser_free(client_parser *p)
{
    vg_buf_free(&p->line);
}

bool client_parser_done(const client_parser *p)
{
    return p->state == P_DONE;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims optional whitespace (and a CR) from both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (is_ows((*s)[0])))
        (*s)++, (*n)--;
    while (*n > 0 && (is_ows((*s)[*n - 1]) || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static int parse_status_line(client_response *r, const char *s, size_t n, vg_err *e)
{
    /* "HTTP/1.1 200 OK": version, three digits, then an optional reason. */
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ' || !isdigit((unsigned char)s[9]) ||
        !isdigit((unsigned char)s[10]) || !isdigit((unsigned char)s[11]) ||
        (n > 12 && s[12] != ' '))
        return vg_err_set(e, VG_EINVAL, "not an HTTP response (status line '%.*s')",
                          (int)(n > 80 ? 80 : n), s);
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (r->status < 100)
        return vg_err_set(e, VG_EINVAL, "bad HTTP status %d", r->status);
    const char *reason = s + 12;
    size_t rlen = n - 12;
    trim(&reason, &rlen);
    if (rlen >= sizeof r->reason)
        rlen = sizeof r->reason - 1;
    memcpy(r->reason, reason, rlen);
    r->reason[rlen] = '\0';
    return VG_OK;
}

static int add_header(client_response *r, const char *s, size_t n, vg_err *e)
{
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return vg_err_set(e, VG_EINVAL, "malformed response header '%.*s'", (int)(n > 80 ? 80 : n),
                          s);
    size_t nlen = (size_t)(colon - s);
    for (size_t i = 0; i < nlen; i++)
        vg_buf_putc(&r->headers, (char)tolower((unsigned char)s[i]));
    vg_buf_putc(&r->headers, '\0');
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    trim(&v, &vlen);
    vg_buf_append(&r->headers, v, vlen);
    vg_buf_putc(&r->headers, '\0');
    r->nheaders++;
    return VG_OK;
}

/* True when the last transfer coding of a Transfer-Encoding value is "chunked". */
static bool ends_in_chunked(const char *te)
{
    const char *last = strrchr(te, ',');
    last = last ? last + 1 : te;
    size_t n = strlen(last);
    trim(&last, &n);
    return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

/* Content-Length: all digits, no overflow; repeated headers must agree. */
static int content_length(const client_response *r, bool *present, uint64_t *len, vg_err *e)
{
    *present = false;
    const char *p = r->headers.data;
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *value = p + strlen(p) + 1;
        if (strcmp(p, "content-length") == 0) {
            uint64_t v = 0;
            bool ok = *value != '\0';
            for (const char *c = value; ok && *c; c++) {
                ok = isdigit((unsigned char)*c) && v <= (UINT64_MAX - 9) / 10;
                v = v * 10 + (uint64_t)(*c - '0');
            }
            if (!ok || (*present && v != *len))
                return vg_err_set(e, VG_EINVAL, "bad Content-Length '%s' in response", value);
            *present = true;
            *len = v;
        }
        p = value + strlen(value) + 1;
    }
    return VG_OK;
}

/* Decides how the body is framed once the head is in. */
static int start_body(client_parser *p, vg_err *e)
{
    client_response *r = p->resp;
    if (p->head_request || r->status == 204 || r->status == 304 || r->status < 200) {
        p->state = P_DONE;
        return VG_OK;
    }
    const char *te = client_response_header(r, "transfer-encoding");
    if (te) {
        p->state = ends_in_chunked(te) ? P_CHUNK_SIZE : P_BODY_CLOSE;
        return VG_OK;
    }
    bool has_len;
    uint64_t len = 0;
    int rc = content_length(r, &has_len, &len, e);
    if (rc)
        return rc;
    if (!has_len) {
        p->state = P_BODY_CLOSE;
        return VG_OK;
    }
    vg_buf_reserve(&r->body, len < BODY_RESERVE_MAX ? (size_t)len : BODY_RESERVE_MAX);
    p->remaining = len;
    p->state = len ? P_BODY_LENGTH : P_DONE;
    return VG_OK;
}

/* The whole head is in p->line: status line, header lines, empty line. */
static int parse_head(client_parser *p, vg_err *e)
{
    client_response *r = p->resp;
    vg_buf_reset(&r->headers);
    r->nheaders = 0;
    const char *s = p->line.data, *end = s + p->line.len;
    bool first = true;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)(nl - s);
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n == 0)
            break;
        int rc = first ? parse_status_line(r, s, n, e) : add_header(r, s, n, e);
        if (rc)
            return rc;
        first = false;
        s = nl + 1;
    }
    vg_buf_reset(&p->line);
    if (r->headers.oom)
        return vg_err_set(e, VG_ENOMEM, "out of memory reading the response headers");
    /* An interim 1xx (100 Continue, 103 Early Hints) is followed by the real one. */
    if (r->status >= 100 && r->status < 200 && r->status != 101)
        return VG_OK;
    return start_body(p, e);
}

/* Appends bytes up to and including the next '\n' to p->line; *line_done when the
 * newline arrived. */
static int take_line(client_parser *p, const char *d, size_t n, size_t cap, const char *what,
                     size_t *used, bool *line_done, vg_err *e)
{
    const char *nl = memchr(d, '\n', n);
    size_t take = nl ? (size_t)(nl - d) + 1 : n;
    if (p->line.len + take > cap)
        return vg_err_set(e, VG_EINVAL, "%s in response is larger than %zu bytes", what, cap);
    vg_buf_append(&p->line, d, take);
    if (p->line.oom)
        return vg_err_set(e, VG_ENOMEM, "out of memory reading the response");
    *used = take;
    *line_done = nl != NULL;
    return VG_OK;
}

/* The line just completed is empty when the buffer ends "\n\n" or "\n\r\n". */
static bool ends_with_empty_line(const vg_buf *b)
{
    const char *d = b->data;
    size_t n = b->len;
    return (n >= 2 && d[n - 2] == '\n') || (n >= 3 && d[n - 3] == '\n' && d[n - 2] == '\r');
}

static bool is_blank_line(const vg_buf *b)
{
    return (b->len == 1) || (b->len == 2 && b->data[0] == '\r');
}

static int feed_head(client_parser *p, const char *d, size_t n, size_t *used, vg_err *e)
{
    bool done = false;
    int rc = take_line(p, d, n, CLIENT_MAX_HEAD_BYTES, "the header block", used, &done, e);
    if (rc || !done)
        return rc;
    if (is_blank_line(&p->line)) { /* stray empty lines before the status line */
        vg_buf_reset(&p->line);
        return VG_OK;
    }
    return ends_with_empty_line(&p->line) ? parse_head(p, e) : VG_OK;
}

static int parse_chunk_size(client_parser *p, vg_err *e)
{
    const char *s = p->line.data;
    uint64_t v = 0;
    size_t i = 0, digits = 0;
    for (; s[i]; i++, digits++) {
        int c = tolower((unsigned char)s[i]);
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            break;
        if (digits >= 15)
            return vg_err_set(e, VG_EINVAL, "chunk size too large in response");
        v = v * 16 + (uint64_t)d;
    }
    while (is_ows(s[i]))
        i++;
    if (digits == 0 || (s[i] != ';' && s[i] != '\r' && s[i] != '\n'))
        return vg_err_set(e, VG_EINVAL, "bad chunk size line '%.*s' in response",
                          (int)strcspn(s, "\r\n"), s);
    vg_buf_reset(&p->line);
    p->remaining = v;
    p->state = v ? P_CHUNK_DATA : P_TRAILER;
    return VG_OK;
}

static int feed_chunked(client_parser *p, const char *d, size_t n, size_t *used, vg_err *e)
{
    bool done = false;
    int rc;
    switch (p->state) {
    case P_CHUNK_SIZE:
        rc = take_line(p, d, n, CHUNK_LINE_MAX, "a chunk-size line", used, &done, e);
        return rc || !done ? rc : parse_chunk_size(p, e);
    case P_CHUNK_DATA: {
        size_t take = n < p->remaining ? n : (size_t)p->remaining;
        vg_buf_append(&p->resp->body, d, take);
        p->remaining -= take;
        *used = take;
        if (p->remaining == 0)
            p->state = P_CHUNK_END;
        return VG_OK;
    }
    case P_CHUNK_END:
        rc = take_line(p, d, n, CHUNK_LINE_MAX, "a chunk terminator", used, &done, e);
        if (rc || !done)
            return rc;
        if (!is_blank_line(&p->line))
            return vg_err_set(e, VG_EINVAL, "chunk data longer than its declared size");
        vg_buf_reset(&p->line);
        p->state = P_CHUNK_SIZE;
        return VG_OK;
    default: /* P_TRAILER: trailer fields are read and dropped */
        rc = take_line(p, d, n, CLIENT_MAX_HEAD_BYTES, "the trailer block", used, &done, e);
        if (rc || !done)
            return rc;
        if (is_blank_line(&p->line) || ends_with_empty_line(&p->line))
            p->state = P_DONE;
        return VG_OK;
    }
}

int client_parser_feed(client_parser *p, const char *data, size_t len, size_t *used, vg_err *e)
{
    size_t i = 0;
    int rc = VG_OK;
    while (i < len && p->state != P_DONE && rc == VG_OK) {
        size_t n = 0;
        const char *d = data + i;
        size_t avail = len - i;
        switch (p->state) {
        case P_HEAD: rc = feed_head(p, d, avail, &n, e); break;
        case P_BODY_LENGTH:
            n = avail < p->remaining ? avail : (size_t)p->remaining;
            vg_buf_append(&p->resp->body, d, n);
            p->remaining -= n;
            if (p->remaining == 0)
                p->state = P_DONE;
            break;
        case P_BODY_CLOSE:
            n = avail;
            vg_buf_append(&p->resp->body, d, n);
            break;
        default: rc = feed_chunked(p, d, avail, &n, e); break;
        }
        i += n;
    }
    if (used)
        *used = i;
    if (rc == VG_OK && p->resp->body.oom)
        rc = vg_err_set(e, VG_ENOMEM, "out of memory reading a response body of %zu+ bytes",
                        p->resp->body.len);
    return rc;
}

int client_parser_eof(client_parser *p, vg_err *e)
{
    switch (p->state) {
    case P_DONE: return VG_OK;
    case P_BODY_CLOSE: p->state = P_DONE; return VG_OK;
    case P_HEAD:
        if (p->line.len == 0 && p->resp->status == 0)
            return vg_err_set(e, VG_EIO, "the server closed the connection without a response");
        return vg_err_set(e, VG_EIO,
                          "the server closed the connection in the middle of the "
                          "response headers");
    case P_BODY_LENGTH:
        return vg_err_set(e, VG_EIO,
                          "the server closed the connection after %zu bytes of the response "
                          "body, %llu short of its Content-Length",
                          p->resp->body.len, (unsigned long long)p->remaining);
    default:
        return vg_err_set(e, VG_EIO,
                          "the server closed the connection in the middle of a "
                          "chunked response body");
    }
}

int client_parse_response(const char *data, size_t len, bool head_request, client_response *r,
                          vg_err *e)
{
    client_parser p;
    client_parser_init(&p, r, head_request);
    int rc = client_parser_feed(&p, data, len, NULL, e);
    if (rc == VG_OK && !client_parser_done(&p))
        rc = client_parser_eof(&p, e);
    client_parser_free(&p);
    return rc;
}
