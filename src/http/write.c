/*
 * http/write.c: the three write endpoints (v3 write_lp, v2 write, v1 write) and
 * their error bodies, which differ per API generation exactly as in Core
 * (docs/http-api.md).
 */
#include "http_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Formats a request-level error in the shape of the API generation. */
static void api_error(ingest_api api, http_resp *out, int status, const char *msg)
{
    if (api == INGEST_API_V3) {
        http_resp_text(out, status, msg);
        return;
    }
    if (api == INGEST_API_V1) {
        http_resp_json_error(out, status, msg);
        return;
    }
    out->status = status;
    out->content_type = "application/json";
    vg_buf_reset(&out->body);
    vg_buf_puts(&out->body, status == 413 ? "{\"code\":\"request too large\",\"message\":"
                            : status >= 500 ? "{\"code\":\"internal error\",\"message\":"
                            : status == 404 ? "{\"code\":\"not found\",\"message\":"
                                            : "{\"code\":\"invalid\",\"message\":");
    vg_json_str(&out->body, msg, strlen(msg));
    vg_buf_putc(&out->body, '}');
}

/* Returns the offset of the first byte that is not valid UTF-8, or -1. */
static long invalid_utf8_at(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (len == 0 || c > 0xf4 || i + len > n)
            return (long)i;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return (long)i;
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
            return (long)i;
        i += len;
    }
    return -1;
}

/* The first up-to-20 bytes of a line, cut at a UTF-8 character boundary (Core). */
static size_t truncated_len(const char *s, size_t n)
{
    if (n <= VG_LIMIT_ERROR_ORIGINAL_LINE_BYTES)
        return n;
    size_t k = VG_LIMIT_ERROR_ORIGINAL_LINE_BYTES;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

static void error_message(vg_buf *b, const ingest_line_error *le)
{
    vg_buf_printf(b, "%s at column %u", le->msg, le->column);
}

static void line_error_object(vg_jw *w, const ingest_line_error *le)
{
    vg_buf msg;
    vg_buf_init(&msg);
    error_message(&msg, le);
    vg_jw_obj_begin(w);
    vg_jw_key(w, "error_message");
    vg_jw_strn(w, msg.data ? msg.data : "", msg.len);
    vg_jw_key(w, "line_number");
    vg_jw_u64(w, le->line_no);
    vg_jw_key(w, "original_line");
    vg_jw_strn(w, le->text, truncated_len(le->text, le->text_len));
    vg_jw_obj_end(w);
    vg_buf_free(&msg);
}

static bool any_limit(const ingest_result *res)
{
    for (size_t i = 0; i < res->nerrors; i++)
        if (res->errors[i].limit)
            return true;
    return false;
}

/* Body of a rejected batch (accept_partial=false): the first bad line only. */
static void rejected_batch(ingest_api api, const ingest_result *res, http_resp *out)
{
    const ingest_line_error *le = &res->errors[0];
    int status = le->limit ? 422 : 400;
    if (api == INGEST_API_V2) {
        vg_buf msg;
        vg_buf_init(&msg);
        vg_buf_printf(&msg, "write buffer error: line protocol parse failed: line %u: ",
                      le->line_no);
        error_message(&msg, le);
        api_error(api, out, status, msg.data);
        vg_buf_free(&msg);
        return;
    }
    out->status = status;
    out->content_type = "application/json";
    vg_jw w;
    vg_jw_init(&w, &out->body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "error");
    vg_jw_str(&w, "line protocol parsing error");
    vg_jw_key(&w, "data");
    line_error_object(&w, le);
    vg_jw_obj_end(&w);
}

static void partial_write(const ingest_result *res, http_resp *out)
{
    out->status = any_limit(res) ? 422 : 400;
    out->content_type = "application/json";
    vg_jw w;
    vg_jw_init(&w, &out->body);
    vg_jw_obj_begin(&w);
    vg_jw_key(&w, "error");
    vg_jw_str(&w, "partial write of line protocol occurred");
    vg_jw_key(&w, "data");
    vg_jw_arr_begin(&w);
    for (size_t i = 0; i < res->nerrors; i++)
        line_error_object(&w, &res->errors[i]);
    vg_jw_arr_end(&w);
    vg_jw_obj_end(&w);
}

static int status_of(vg_code code)
{
    switch (code) {
    case VG_EINVAL: return 400;
    case VG_ENOTFOUND: return 404;
    case VG_EEXISTS: return 409;
    case VG_ELIMIT: return 422;
    case VG_ETOOBIG: return 413;
    default: return 500;
    }
}

/* Runs a write once the database name and options are known. */
static void do_write(http_server *s, http_req *r, ingest_api api, const char *db, http_resp *out)
{
    vg_err e;
    if (catalog_validate_db_name(db, strlen(db), &e) != VG_OK) {
        if (api == INGEST_API_V3)
            http_resp_json_error(out, 400, e.msg);
        else
            api_error(api, out, 400, e.msg);
        return;
    }
    long bad = invalid_utf8_at((const unsigned char *)r->body.data, r->body.len);
    if (bad >= 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "body content is not valid utf8: invalid byte at offset %ld",
                 bad);
        api_error(api, out, 400, msg);
        return;
    }
    ingest_request req = {.api = api, .db = db, .db_len = strlen(db),
                          .body = r->body.data ? r->body.data : "", .body_len = r->body.len,
                          .precision = http_arg(r, "precision"), .accept_partial = false};
    if (api == INGEST_API_V3 &&
        (http_bool_arg(r, "accept_partial", true, &req.accept_partial, out) != VG_OK ||
         http_bool_arg(r, "no_sync", false, &req.no_sync, out) != VG_OK))
        return;
    ingest_result res;
    int rc = ingest_write(s->cfg.ingest, &req, &r->arena, &res, &e);
    if (rc == VG_ELIMIT) {
        if (api == INGEST_API_V2)
            api_error(api, out, 422, e.msg);
        else
            http_resp_json_error(out, 422, e.msg);
        return;
    }
    if (rc != VG_OK) {
        api_error(api, out, status_of((vg_code)rc), e.msg);
        return;
    }
    if (res.rejected_all)
        rejected_batch(api, &res, out);
    else if (res.nerrors)
        partial_write(&res, out);
    else
        out->status = 204;
}

void http_write_v3(http_server *s, http_req *r, http_resp *out)
{
    if (http_arg_count(r) == 0) {
        http_resp_text(out, 400, "missing query parameter 'db'");
        return;
    }
    const char *db = http_arg(r, "db");
    if (!db) {
        http_resp_text(out, 400, "serde error: missing field `db`");
        return;
    }
    do_write(s, r, INGEST_API_V3, db, out);
}

void http_write_v2(http_server *s, http_req *r, http_resp *out)
{
    const char *bucket = http_arg(r, "bucket");
    if (!bucket || !*bucket) {
        api_error(INGEST_API_V2, out, 400, "missing bucket value");
        return;
    }
    do_write(s, r, INGEST_API_V2, bucket, out);
}

/* v1 names the database "db/rp" unless rp is empty, autogen or default. */
void http_write_v1(http_server *s, http_req *r, http_resp *out)
{
    if (http_arg_count(r) == 0) {
        http_resp_json_error(out, 400, "no db destination provided");
        return;
    }
    const char *db = http_arg(r, "db");
    if (!db) {
        http_resp_json_error(out, 400,
                             "failed to deserialize db/rp/precision in request: missing field "
                             "`db`");
        return;
    }
    const char *rp = http_arg(r, "rp");
    if (!rp || !*rp || strcmp(rp, "''") == 0 || strcasecmp(rp, "autogen") == 0 ||
        strcasecmp(rp, "default") == 0) {
        do_write(s, r, INGEST_API_V1, db, out);
        return;
    }
    size_t n = strlen(db) + 1 + strlen(rp) + 1;
    char *name = vg_arena_alloc(&r->arena, n);
    if (!name) {
        http_resp_json_error(out, 500, "out of memory");
        return;
    }
    snprintf(name, n, "%s/%s", db, rp);
    for (char *p = name + strlen(db) + 1; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    do_write(s, r, INGEST_API_V1, name, out);
}
