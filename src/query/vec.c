/*
 * query/vec.c: helpers over vectors and values for the evaluator, the functions and
 * the aggregates: reusable per-node memory, gather/scatter, value access, orders,
 * value formatting for messages, UTF-8 and simple case mapping.
 */
#include "func_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reusable memory ---- */

void *qf_mem_get(qctx *c, qf_mem *m, int slot, size_t bytes)
{
    if (m->cap[slot] >= bytes && m->slot[slot])
        return m->slot[slot];
    /* Doubling bounds what the arena keeps of outgrown buffers by the final size. */
    size_t cap = m->cap[slot] * 2;
    if (cap < bytes)
        cap = bytes;
    if (cap < 64)
        cap = 64;
    void *p = qctx_alloc(c, cap);
    if (!p)
        return NULL;
    m->slot[slot] = p;
    m->cap[slot] = cap;
    return p;
}

size_t qf_type_width(qtype t)
{
    switch (t) {
    case QT_BOOL: return 1;
    case QT_STRING:
    case QT_NULL: return sizeof(qstr);
    case QT_SELECTOR: return 0;
    default: return 8;
    }
}

int qf_mem_vec(qctx *c, qf_mem *m, qvec *v, qtype t, uint32_t n)
{
    memset(v, 0, sizeof *v);
    v->type = t;
    v->n = n;
    if (t == QT_SELECTOR)
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: struct vector from scratch");
    size_t bytes = (size_t)(n ? n : 1) * qf_type_width(t);
    void *p = qf_mem_get(c, m, QF_SLOT_DATA, bytes);
    if (!p)
        return c->err->code;
    v->v.i64 = p;
    if (t == QT_NULL) {
        memset(p, 0, bytes);
        uint8_t *b = qf_mem_get(c, m, QF_SLOT_VALID, qf_bitmap_bytes(n ? n : 1));
        if (!b)
            return c->err->code;
        memset(b, 0, qf_bitmap_bytes(n ? n : 1));
        v->valid = b;
    }
    return VG_OK;
}

uint8_t *qf_mem_valid(qctx *c, qf_mem *m, qvec *v)
{
    size_t bytes = qf_bitmap_bytes(v->n ? v->n : 1);
    uint8_t *b = qf_mem_get(c, m, QF_SLOT_VALID, bytes);
    if (b)
        memset(b, 0xff, bytes);
    v->valid = b;
    return b;
}

int qf_mem_valid_and(qctx *c, qf_mem *m, qvec *v, const qvec *args, uint32_t nargs)
{
    /* Always a copy, never a borrowed bitmap: kernels clear bits of their result. */
    uint8_t *b = NULL;
    size_t bytes = qf_bitmap_bytes(v->n ? v->n : 1);
    for (uint32_t a = 0; a < nargs; a++) {
        if (!args[a].valid)
            continue;
        if (!b) {
            b = qf_mem_get(c, m, QF_SLOT_VALID, bytes);
            if (!b)
                return c->err->code;
            memcpy(b, args[a].valid, bytes);
        } else {
            for (size_t k = 0; k < bytes; k++)
                b[k] &= args[a].valid[k];
        }
    }
    v->valid = b;
    return VG_OK;
}

char *qf_mem_str(qctx *c, qf_mem *m, size_t len)
{
    m->sb_round += len;
    if (m->sb && m->sb_cap - m->sb_used >= len) {
        char *p = m->sb + m->sb_used;
        m->sb_used += len;
        return p;
    }
    size_t cap = m->sb_next > m->sb_cap * 2 ? m->sb_next : m->sb_cap * 2;
    if (cap < len)
        cap = len;
    if (cap < 1024)
        cap = 1024;
    char *p = qctx_alloc(c, cap);
    if (!p)
        return NULL;
    m->sb = p;
    m->sb_cap = cap;
    m->sb_used = len;
    return p;
}

void qf_mem_str_reset(qf_mem *m)
{
    if (m->sb_round > m->sb_cap) {
        /* The last round needed several blocks: start the next one with a block that
         * fits it whole, so steady state allocates nothing. */
        m->sb_next = m->sb_round + m->sb_round / 2;
        m->sb = NULL;
        m->sb_cap = 0;
    }
    m->sb_used = 0;
    m->sb_round = 0;
}

/* ---- vectors ---- */

void qf_vec_value(const qvec *v, uint32_t r, qvalue *out)
{
    memset(out, 0, sizeof *out);
    out->type = v->type;
    out->null = !qvec_is_valid(v, r);
    if (out->null)
        return;
    switch (v->type) {
    case QT_NULL: out->null = true; break;
    case QT_BOOL: out->v.b = v->v.b[r] != 0; break;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: out->v.i = v->v.i64[r]; break;
    case QT_UINT: out->v.u = v->v.u64[r]; break;
    case QT_FLOAT: out->v.f = v->v.f64[r]; break;
    case QT_STRING: out->v.s = qvec_str(v, r); break;
    case QT_SELECTOR: out->null = true; break;
    }
}

static void vec_gather_valid(const uint8_t *in, const uint32_t *rows, uint32_t n, uint8_t *out)
{
    memset(out, 0, qf_bitmap_bytes(n));
    for (uint32_t j = 0; j < n; j++)
        out[j >> 3] |= (uint8_t)(qf_bit(in, rows[j]) << (j & 7));
}

int qf_vec_gather(qctx *c, qf_mem *m, const qvec *in, const uint32_t *rows, uint32_t n, qvec *out)
{
    qtype t = in->type;
    int rc = qf_mem_vec(c, m, out, t, n);
    if (rc)
        return rc;
    switch (t) {
    case QT_NULL: return VG_OK;
    case QT_BOOL:
        for (uint32_t j = 0; j < n; j++)
            out->v.b[j] = in->v.b[rows[j]];
        break;
    case QT_STRING:
        if (in->ids) {
            /* Null rows may carry any id: read the dictionary only where valid. */
            for (uint32_t j = 0; j < n; j++)
                out->v.s[j] =
                    qvec_is_valid(in, rows[j]) ? in->dict[in->ids[rows[j]]] : (qstr){"", 0};
        } else {
            for (uint32_t j = 0; j < n; j++)
                out->v.s[j] = in->v.s[rows[j]];
        }
        break;
    case QT_SELECTOR:
        return vg_err_set(c->err, VG_EINTERNAL, "internal error: gather of a struct vector");
    default:
        for (uint32_t j = 0; j < n; j++)
            out->v.i64[j] = in->v.i64[rows[j]];
        break;
    }
    if (in->valid) {
        uint8_t *b = qf_mem_get(c, m, QF_SLOT_VALID, qf_bitmap_bytes(n ? n : 1));
        if (!b)
            return c->err->code;
        vec_gather_valid(in->valid, rows, n, b);
        out->valid = b;
    }
    return VG_OK;
}

void qf_vec_scatter(const qvec *src, const uint32_t *rows, uint32_t n, qvec *dst)
{
    for (uint32_t j = 0; j < n; j++) {
        uint32_t r = rows[j];
        if (src->type == QT_NULL || !qvec_is_valid(src, j)) {
            qf_bit_clear(dst->valid, r);
            continue;
        }
        qf_bit_set(dst->valid, r);
        switch (dst->type) {
        case QT_BOOL: dst->v.b[r] = src->v.b[j]; break;
        case QT_STRING: dst->v.s[r] = qvec_str(src, j); break;
        default: dst->v.i64[r] = src->v.i64[j]; break;
        }
    }
}

int qf_broadcast(qctx *c, const qvalue *v, qtype t, qvec *bv, uint32_t *cap, uint32_t n)
{
    if (*cap < n || !bv->v.i64) {
        uint32_t rows = n > Q_BATCH_ROWS ? n : Q_BATCH_ROWS;
        size_t w = qf_type_width(t);
        void *p = qctx_alloc(c, (size_t)rows * w);
        uint8_t *b = NULL;
        if (!p)
            return c->err->code;
        if (v->null || t == QT_NULL) {
            b = qctx_alloc(c, qf_bitmap_bytes(rows));
            if (!b)
                return c->err->code;
            memset(b, 0, qf_bitmap_bytes(rows));
            memset(p, 0, (size_t)rows * w);
        } else {
            for (uint32_t r = 0; r < rows; r++) {
                switch (t) {
                case QT_BOOL: ((uint8_t *)p)[r] = v->v.b; break;
                case QT_STRING: ((qstr *)p)[r] = v->v.s; break;
                case QT_UINT: ((uint64_t *)p)[r] = v->v.u; break;
                case QT_FLOAT: ((double *)p)[r] = v->v.f; break;
                default: ((int64_t *)p)[r] = v->v.i; break;
                }
            }
        }
        memset(bv, 0, sizeof *bv);
        bv->type = t;
        bv->v.i64 = p;
        bv->valid = b;
        *cap = rows;
    }
    bv->n = n;
    return VG_OK;
}

int qf_value_own(qctx *c, qvalue *v)
{
    if (v->null || v->type != QT_STRING || v->v.s.len == 0)
        return VG_OK;
    char *p = qctx_alloc(c, v->v.s.len);
    if (!p)
        return c->err->code;
    memcpy(p, v->v.s.p, v->v.s.len);
    v->v.s.p = p;
    return VG_OK;
}

/* ---- orders ---- */

int qf_cmp_str(qstr a, qstr b)
{
    uint32_t n = a.len < b.len ? a.len : b.len;
    int r = n ? memcmp(a.p, b.p, n) : 0;
    if (r)
        return r < 0 ? -1 : 1;
    return a.len < b.len ? -1 : a.len > b.len;
}

int qf_value_cmp(const qvalue *a, const qvalue *b)
{
    switch (a->type) {
    case QT_BOOL: return (int)a->v.b - (int)b->v.b;
    case QT_UINT: return a->v.u < b->v.u ? -1 : a->v.u > b->v.u;
    case QT_FLOAT: return qf_cmp_f64(a->v.f, b->v.f);
    case QT_STRING: return qf_cmp_str(a->v.s, b->v.s);
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    default: return 0;
    }
}

/* ---- formatting ---- */

size_t qf_fmt_f64(double v, char *out)
{
    if (isnan(v))
        return (size_t)sprintf(out, "NaN");
    if (isinf(v))
        return (size_t)sprintf(out, v < 0 ? "-inf" : "inf");
    if (v == 0)
        return (size_t)sprintf(out, signbit(v) ? "-0.0" : "0.0");
    /* Shortest digits that read back to v, as d.ddde±x. */
    char e[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    double a = fabs(v);
    if (a < 1e-4 || a >= 1e16) {
        /* Rust's {:?} switches to scientific notation outside [1e-4, 1e16). */
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, nd - 1);
            n += nd - 1;
        }
        n += (size_t)sprintf(out + n, "e%d", exp);
        return n;
    }
    if (exp < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int k = 0; k < -exp - 1; k++)
            out[n++] = '0';
        memcpy(out + n, digits, nd);
        n += nd;
    } else {
        for (int k = 0; k <= exp; k++)
            out[n++] = (size_t)k < nd ? digits[k] : '0';
        out[n++] = '.';
        if ((size_t)exp + 1 < nd) {
            memcpy(out + n, digits + exp + 1, nd - (size_t)exp - 1);
            n += nd - (size_t)exp - 1;
        } else {
            out[n++] = '0';
        }
    }
    out[n] = '\0';
    return n;
}

void qf_fmt_value(const qvalue *v, char *buf, size_t size)
{
    char tmp[96];
    if (v->null) {
        snprintf(buf, size, "NULL");
        return;
    }
    switch (v->type) {
    case QT_BOOL: snprintf(buf, size, "%s", v->v.b ? "true" : "false"); break;
    case QT_INT: snprintf(buf, size, "%lld", (long long)v->v.i); break;
    case QT_UINT: snprintf(buf, size, "%llu", (unsigned long long)v->v.u); break;
    case QT_FLOAT:
        qf_fmt_f64(v->v.f, tmp);
        snprintf(buf, size, "%s", tmp);
        break;
    case QT_TIMESTAMP:
        vg_format_timestamp(v->v.i, false, tmp);
        snprintf(buf, size, "%s", tmp);
        break;
    case QT_INTERVAL:
        qf_fmt_interval(v->v.i, tmp);
        snprintf(buf, size, "%s", tmp);
        break;
    case QT_STRING: {
        /* Cut long strings at a code-point boundary. */
        uint32_t len = v->v.s.len;
        bool cut = len > 64;
        if (cut) {
            len = 64;
            while (len > 0 && ((unsigned char)v->v.s.p[len] & 0xC0) == 0x80)
                len--;
        }
        snprintf(buf, size, "%.*s%s", (int)len, v->v.s.p, cut ? "..." : "");
        break;
    }
    default: snprintf(buf, size, "?"); break;
    }
}

/* ---- UTF-8 ---- */

size_t qf_utf8_count(const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)p[i] & 0xC0) != 0x80;
    return k;
}

size_t qf_utf8_skip(const char *p, size_t n, size_t k)
{
    size_t i = 0;
    while (k > 0 && i < n) {
        i++;
        while (i < n && ((unsigned char)p[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

uint32_t qf_utf8_decode(const char *s, size_t n, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = p[0];
    size_t need = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (need == 0 || need >= n) {
        *len = 1;
        return c;
    }
    uint32_t cp = c & (0x3F >> need);
    for (size_t k = 1; k <= need; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *len = 1;
            return c;
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    *len = need + 1;
    return cp;
}

size_t qf_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Blocks where upper and lower case alternate: even (or odd) code point upper case. */
typedef struct vec_pairs {
    uint32_t lo, hi;
    bool upper_even;
} vec_pairs;

static const vec_pairs vec_alternating[] = {
    {0x0100, 0x012F, true}, {0x0132, 0x0137, true},  {0x0139, 0x0148, false},
    {0x014A, 0x0177, true}, {0x0179, 0x017E, false}, {0x0460, 0x0481, true},
    {0x048A, 0x04BF, true}, {0x04C1, 0x04CE, false}, {0x04D0, 0x052F, true},
};

/* Blocks of upper case letters whose lower case is at a fixed distance. */
typedef struct vec_shift {
    uint32_t lo, hi;
    int32_t delta;
} vec_shift;

static const vec_shift vec_shifts[] = {
    {0x00C0, 0x00D6, 0x20}, {0x00D8, 0x00DE, 0x20}, {0x0388, 0x038A, 0x25}, {0x038E, 0x038F, 0x3F},
    {0x0391, 0x03A1, 0x20}, {0x03A3, 0x03AB, 0x20}, {0x0400, 0x040F, 0x50}, {0x0410, 0x042F, 0x20},
};

uint32_t qf_cp_lower(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    for (size_t k = 0; k < sizeof vec_shifts / sizeof vec_shifts[0]; k++)
        if (cp >= vec_shifts[k].lo && cp <= vec_shifts[k].hi)
            return cp + (uint32_t)vec_shifts[k].delta;
    for (size_t k = 0; k < sizeof vec_alternating / sizeof vec_alternating[0]; k++)
        if (cp >= vec_alternating[k].lo && cp <= vec_alternating[k].hi)
            return ((cp & 1) == 0) == vec_alternating[k].upper_even ? cp + 1 : cp;
    switch (cp) {
    case 0x0178: return 0x00FF; /* Ÿ */
    case 0x0386: return 0x03AC; /* Ά */
    case 0x038C: return 0x03CC; /* Ό */
    default: return cp;
    }
}

uint32_t qf_cp_upper(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    for (size_t k = 0; k < sizeof vec_shifts / sizeof vec_shifts[0]; k++) {
        uint32_t lo = vec_shifts[k].lo + (uint32_t)vec_shifts[k].delta;
        uint32_t hi = vec_shifts[k].hi + (uint32_t)vec_shifts[k].delta;
        if (cp >= lo && cp <= hi)
            return cp - (uint32_t)vec_shifts[k].delta;
    }
    for (size_t k = 0; k < sizeof vec_alternating / sizeof vec_alternating[0]; k++)
        if (cp >= vec_alternating[k].lo && cp <= vec_alternating[k].hi)
            return ((cp & 1) == 0) == vec_alternating[k].upper_even ? cp : cp - 1;
    switch (cp) {
    case 0x00B5: return 0x039C; /* µ */
    case 0x00FF: return 0x0178; /* ÿ */
    case 0x0131: return 'I';    /* dotless ı */
    case 0x017F: return 'S';    /* long ſ */
    case 0x03C2: return 0x03A3; /* final ς */
    case 0x03AC: return 0x0386;
    case 0x03CC: return 0x038C;
    default: return cp;
    }
}

size_t qf_utf8_map(const char *p, size_t n, bool upper, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char b = (unsigned char)p[i];
        if (b < 0x80) {
            if (upper)
                out[o++] = (char)(b >= 'a' && b <= 'z' ? b - 32 : b);
            else
                out[o++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            i++;
            continue;
        }
        size_t len;
        uint32_t cp = qf_utf8_decode(p + i, n - i, &len);
        if (upper && cp == 0xDF) { /* ß has no one-letter capital: "SS", same 2 bytes */
            out[o++] = 'S';
            out[o++] = 'S';
            i += len;
            continue;
        }
        uint32_t m = upper ? qf_cp_upper(cp) : qf_cp_lower(cp);
        if (m == cp || len == 1) {
            memcpy(out + o, p + i, len);
            o += len;
        } else {
            o += qf_utf8_encode(m, out + o); /* never longer: the tables keep or shrink */
        }
        i += len;
    }
    return o;
}
