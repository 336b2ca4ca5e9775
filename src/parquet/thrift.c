/*
 * parquet/thrift.c: the Thrift compact protocol, the serialization of Parquet's
 * footer and page headers.
 *
 * Writer: field headers carry the id as a 4-bit delta from the previous id when it
 * fits, booleans live in the field header's type nibble, integers are zigzag ULEB128.
 * Reader: written for hostile bytes. Every length is checked against the bytes left
 * before anything is touched or allocated, nesting is capped so skipping unknown
 * fields cannot recurse without bound, and the first error sticks.
 */
#include "parquet_int.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Varints                                                                  */
/* ------------------------------------------------------------------------ */

void pq_put_uleb(vg_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    vg_buf_append(b, tmp, n);
}

void pq_put_zigzag(vg_buf *b, int64_t v)
{
    pq_put_uleb(b, ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)));
}

int pq_get_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t c = *p++;
        /* the tenth byte may only hold the 64th bit */
        if (shift == 63 && c > 1)
            return -1;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

int pq_get_zigzag(const uint8_t **pp, const uint8_t *end, int64_t *v)
{
    uint64_t u = 0;
    if (pq_get_uleb(pp, end, &u) != 0)
        return -1;
    *v = (int64_t)((u >> 1) ^ (0 - (u & 1)));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

void pq_tw_init(tc_writer *w, vg_buf *b)
{
    w->b = b;
    w->depth = 0;
    w->last[0] = 0;
}

static void field_header(tc_writer *w, int16_t id, int type)
{
    int16_t *last = &w->last[w->depth];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        vg_buf_putc(w->b, (char)(delta << 4 | type));
    } else {
        vg_buf_putc(w->b, (char)type);
        pq_put_zigzag(w->b, id);
    }
    *last = id;
}

static void push(tc_writer *w)
{
    /* Our own structs nest at most 5 deep; deeper is a bug in this file. */
    if (VG_NEVER(w->depth + 1 >= VG_LIMIT_PARQUET_THRIFT_DEPTH)) {
        w->b->oom = true;
        return;
    }
    w->last[++w->depth] = 0;
}

void pq_tw_end(tc_writer *w)
{
    vg_buf_putc(w->b, TC_STOP);
    if (w->depth > 0)
        w->depth--;
}

void pq_tw_i32(tc_writer *w, int16_t id, int32_t v)
{
    field_header(w, id, TC_I32);
    pq_put_zigzag(w->b, v);
}

void pq_tw_i64(tc_writer *w, int16_t id, int64_t v)
{
    field_header(w, id, TC_I64);
    pq_put_zigzag(w->b, v);
}

void pq_tw_i16(tc_writer *w, int16_t id, int16_t v)
{
    field_header(w, id, TC_I16);
    pq_put_zigzag(w->b, v);
}

void pq_tw_i8(tc_writer *w, int16_t id, int8_t v)
{
    field_header(w, id, TC_I8);
    vg_buf_putc(w->b, (char)v);
}

void pq_tw_bool(tc_writer *w, int16_t id, bool v)
{
    field_header(w, id, v ? TC_TRUE : TC_FALSE);
}

void pq_tw_bin(tc_writer *w, int16_t id, const void *p, size_t n)
{
    field_header(w, id, TC_BINARY);
    pq_put_uleb(w->b, n);
    vg_buf_append(w->b, p, n);
}

void pq_tw_str(tc_writer *w, int16_t id, const char *s)
{
    pq_tw_bin(w, id, s, strlen(s));
}

void pq_tw_struct(tc_writer *w, int16_t id)
{
    field_header(w, id, TC_STRUCT);
    push(w);
}

void pq_tw_list(tc_writer *w, int16_t id, int elem_type, uint32_t n)
{
    field_header(w, id, TC_LIST);
    if (n < 15) {
        vg_buf_putc(w->b, (char)(n << 4 | (uint32_t)elem_type));
    } else {
        vg_buf_putc(w->b, (char)(0xf0 | elem_type));
        pq_put_uleb(w->b, n);
    }
}

void pq_tw_elem_i32(tc_writer *w, int32_t v)
{
    pq_put_zigzag(w->b, v);
}

void pq_tw_elem_bin(tc_writer *w, const void *p, size_t n)
{
    pq_put_uleb(w->b, n);
    vg_buf_append(w->b, p, n);
}

void pq_tw_elem_struct(tc_writer *w)
{
    push(w);
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

void pq_tr_init(tc_reader *r, const void *p, size_t n, uint64_t file_off, vg_err *e)
{
    r->base = p;
    r->p = p;
    r->end = (const uint8_t *)p + n;
    r->file_off = file_off;
    r->depth = 0;
    r->what = "";
    r->e = e;
    r->failed = false;
}

int pq_tr_fail(tc_reader *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    r->failed = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vg_err_set(r->e, VG_ECORRUPT, "byte %llu (%s): %s",
               (unsigned long long)(r->file_off + (uint64_t)(r->p - r->base)), r->what, msg);
    return -1;
}

int pq_tr_oom(tc_reader *r)
{
    if (!r->failed) {
        r->failed = true;
        vg_err_set(r->e, VG_ENOMEM, "out of memory");
    }
    return -1;
}

static const char *type_name(int t)
{
    static const char *names[] = {"stop",   "bool",   "bool", "i8",  "i16", "i32",   "i64",
                                  "double", "binary", "list", "set", "map", "struct"};
    return t >= 0 && t <= TC_STRUCT ? names[t] : "unknown type";
}

int pq_tr_enter(tc_reader *r, const char *what, const char **saved)
{
    *saved = r->what;
    if (r->failed)
        return -1;
    if (r->depth >= VG_LIMIT_PARQUET_THRIFT_DEPTH)
        return pq_tr_fail(r, "structs nested deeper than %d", VG_LIMIT_PARQUET_THRIFT_DEPTH);
    r->depth++;
    r->what = what;
    return 0;
}

void pq_tr_leave(tc_reader *r, const char *saved)
{
    if (r->depth > 0)
        r->depth--;
    r->what = saved;
}

static int get_byte(tc_reader *r, uint8_t *c)
{
    if (r->failed)
        return -1;
    if (r->p >= r->end)
        return pq_tr_fail(r, "ends in the middle of a value");
    *c = *r->p++;
    return 0;
}

static int get_uleb(tc_reader *r, uint64_t *v)
{
    if (r->failed)
        return -1;
    if (pq_get_uleb(&r->p, r->end, v) != 0)
        return pq_tr_fail(r, "bad varint");
    return 0;
}

static int get_zigzag(tc_reader *r, int64_t *v)
{
    if (r->failed)
        return -1;
    if (pq_get_zigzag(&r->p, r->end, v) != 0)
        return pq_tr_fail(r, "bad varint");
    return 0;
}

int pq_tr_field(tc_reader *r, int16_t *last, int16_t *id, int *type)
{
    uint8_t c = 0;
    if (get_byte(r, &c) != 0)
        return -1;
    if (c == TC_STOP)
        return 0;
    *type = c & 0x0f;
    if (*type > TC_STRUCT) {
        r->p--; /* name the header's own byte */
        return pq_tr_fail(r, "field of unknown type %d", *type);
    }
    int delta = c >> 4;
    if (delta) {
        if (*last > INT16_MAX - delta)
            return pq_tr_fail(r, "field id overflows");
        *id = (int16_t)(*last + delta);
    } else {
        int64_t v = 0;
        if (get_zigzag(r, &v) != 0)
            return -1;
        if (v < INT16_MIN || v > INT16_MAX)
            return pq_tr_fail(r, "field id %lld out of range", (long long)v);
        *id = (int16_t)v;
    }
    *last = *id;
    return 1;
}

static int want(tc_reader *r, int type, int expected)
{
    if (r->failed)
        return -1;
    if (type != expected)
        return pq_tr_fail(r, "expected %s, got %s", type_name(expected), type_name(type));
    return 0;
}

int pq_tr_i64(tc_reader *r, int type, int64_t *v)
{
    if (want(r, type, TC_I64) != 0)
        return -1;
    return get_zigzag(r, v);
}

int pq_tr_i32(tc_reader *r, int type, int32_t *v)
{
    /* Some writers widen or narrow integer fields; accept any integer that fits. */
    int64_t x = 0;
    if (type == TC_I8) {
        int8_t b;
        if (pq_tr_i8(r, type, &b) != 0)
            return -1;
        *v = b;
        return 0;
    }
    if (type != TC_I16 && type != TC_I64 && want(r, type, TC_I32) != 0)
        return -1;
    if (get_zigzag(r, &x) != 0)
        return -1;
    if (x < INT32_MIN || x > INT32_MAX)
        return pq_tr_fail(r, "value %lld does not fit an i32", (long long)x);
    *v = (int32_t)x;
    return 0;
}

int pq_tr_i8(tc_reader *r, int type, int8_t *v)
{
    uint8_t c = 0;
    if (want(r, type, TC_I8) != 0 || get_byte(r, &c) != 0)
        return -1;
    *v = (int8_t)c;
    return 0;
}

int pq_tr_bool(tc_reader *r, int type, bool *v)
{
    if (r->failed)
        return -1;
    if (type != TC_TRUE && type != TC_FALSE)
        return pq_tr_fail(r, "expected bool, got %s", type_name(type));
    *v = type == TC_TRUE;
    return 0;
}

static int get_bin(tc_reader *r, const uint8_t **p, uint32_t *n)
{
    uint64_t len = 0;
    if (get_uleb(r, &len) != 0)
        return -1;
    if (len > (uint64_t)(r->end - r->p))
        return pq_tr_fail(r, "binary of %llu bytes runs past the end", (unsigned long long)len);
    *p = r->p;
    *n = (uint32_t)len;
    r->p += len;
    return 0;
}

int pq_tr_bin(tc_reader *r, int type, const uint8_t **p, uint32_t *n)
{
    if (want(r, type, TC_BINARY) != 0)
        return -1;
    return get_bin(r, p, n);
}

int pq_tr_list(tc_reader *r, int type, int *elem_type, uint32_t *n)
{
    uint8_t c = 0;
    if (r->failed)
        return -1;
    if (type != TC_LIST && type != TC_SET)
        return pq_tr_fail(r, "expected list, got %s", type_name(type));
    if (get_byte(r, &c) != 0)
        return -1;
    uint64_t size = c >> 4;
    *elem_type = c & 0x0f;
    if (size == 15 && get_uleb(r, &size) != 0)
        return -1;
    if (*elem_type > TC_STRUCT || (*elem_type == TC_STOP && size > 0))
        return pq_tr_fail(r, "list of unknown element type %d", *elem_type);
    /* every element takes at least one byte, so a longer list is a lie */
    if (size > (uint64_t)(r->end - r->p))
        return pq_tr_fail(r, "list of %llu elements runs past the end", (unsigned long long)size);
    *n = (uint32_t)size;
    return 0;
}

int pq_tr_elem_i32(tc_reader *r, int elem_type, int32_t *v)
{
    return pq_tr_i32(r, elem_type, v);
}

int pq_tr_elem_bin(tc_reader *r, int elem_type, const uint8_t **p, uint32_t *n)
{
    return pq_tr_bin(r, elem_type, p, n);
}

int pq_tr_skip_struct(tc_reader *r)
{
    const char *saved;
    if (pq_tr_enter(r, r->what, &saved) != 0)
        return -1;
    int16_t last = 0, id;
    int type, rc;
    while ((rc = pq_tr_field(r, &last, &id, &type)) == 1)
        if (pq_tr_skip(r, type, false) != 0)
            return -1;
    pq_tr_leave(r, saved);
    return rc;
}

static int skip_map(tc_reader *r)
{
    uint64_t size = 0;
    uint8_t kv = 0;
    if (get_uleb(r, &size) != 0)
        return -1;
    if (size == 0)
        return 0;
    if (get_byte(r, &kv) != 0)
        return -1;
    if (size > (uint64_t)(r->end - r->p))
        return pq_tr_fail(r, "map of %llu entries runs past the end", (unsigned long long)size);
    for (uint64_t i = 0; i < size; i++)
        if (pq_tr_skip(r, kv >> 4, true) != 0 || pq_tr_skip(r, kv & 0x0f, true) != 0)
            return -1;
    return 0;
}

int pq_tr_skip(tc_reader *r, int type, bool elem)
{
    uint8_t c = 0;
    uint64_t u = 0;
    const uint8_t *p;
    uint32_t n;
    if (r->failed)
        return -1;
    switch (type) {
    case TC_TRUE:
    case TC_FALSE:
        /* in a field the value is the type nibble; in a collection it is a byte */
        return elem ? get_byte(r, &c) : 0;
    case TC_I8: return get_byte(r, &c);
    case TC_I16:
    case TC_I32:
    case TC_I64: return get_uleb(r, &u);
    case TC_DOUBLE:
        if (r->end - r->p < 8)
            return pq_tr_fail(r, "ends in the middle of a double");
        r->p += 8;
        return 0;
    case TC_BINARY: return get_bin(r, &p, &n);
    case TC_LIST:
    case TC_SET: {
        int et;
        if (pq_tr_list(r, type, &et, &n) != 0)
            return -1;
        const char *saved;
        if (pq_tr_enter(r, r->what, &saved) != 0)
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (pq_tr_skip(r, et, true) != 0)
                return -1;
        pq_tr_leave(r, saved);
        return 0;
    }
    case TC_MAP: {
        const char *saved;
        if (pq_tr_enter(r, r->what, &saved) != 0)
            return -1;
        if (skip_map(r) != 0)
            return -1;
        pq_tr_leave(r, saved);
        return 0;
    }
    case TC_STRUCT: return pq_tr_skip_struct(r) < 0 ? -1 : 0;
    }
    return pq_tr_fail(r, "cannot skip a value of type %d", type);
}
