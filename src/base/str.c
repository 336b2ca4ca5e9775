/* base/str.c: string slices, growable byte buffers and number formatting. */
#include "base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vg_str vg_str_c(const char *s) { return (vg_str){s, s ? strlen(s) : 0}; }

bool vg_str_eq(vg_str a, vg_str b) { return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0; }

bool vg_str_eq_c(vg_str a, const char *s) { return vg_str_eq(a, vg_str_c(s)); }

void vg_buf_init(vg_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void vg_buf_free(vg_buf *b)
{
    vg_free(b->data);
    vg_buf_init(b);
}

void vg_buf_reset(vg_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0';
}

bool vg_buf_reserve(vg_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *d = vg_realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void vg_buf_append(vg_buf *b, const void *p, size_t n)
{
    if (!vg_buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void vg_buf_puts(vg_buf *b, const char *s) { vg_buf_append(b, s, strlen(s)); }

void vg_buf_putc(vg_buf *b, char c)
{
    if (b->len + 2 <= b->cap && !b->oom) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return;
    }
    vg_buf_append(b, &c, 1);
}

void vg_buf_vprintf(vg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !vg_buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void vg_buf_printf(vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *vg_buf_steal(vg_buf *b)
{
    char *d = b->data;
    vg_buf_init(b);
    return d;
}

size_t vg_fmt_u64(uint64_t v, char *out)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

size_t vg_fmt_i64(int64_t v, char *out)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + vg_fmt_u64((uint64_t)0 - (uint64_t)v, out + 1);
    }
    return vg_fmt_u64((uint64_t)v, out);
}

/* Writes the shortest digit string that reads back to v, then lays it out in plain
 * decimal notation for exponents in [-7, 21) (as JavaScript does), else as d.ddde±x. */
size_t vg_fmt_f64(double v, char *out)
{
    if (isnan(v))
        return (size_t)sprintf(out, "NaN");
    if (isinf(v))
        return (size_t)sprintf(out, v < 0 ? "-inf" : "inf");
    char sci[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    if (prec > 17)
        prec = 17;
    /* sci is "[-]d[.ddd]e[+-]xx": collect the digits and the exponent. */
    char digits[24];
    int nd = 0, exp10 = 0;
    size_t n = 0;
    const char *p = sci;
    if (*p == '-') {
        out[n++] = '-';
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    if (*p == 'e')
        exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (exp10 < -7 || exp10 >= 21) {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, (size_t)nd - 1);
            n += (size_t)nd - 1;
        }
        return n + (size_t)sprintf(out + n, "e%s%d", exp10 < 0 ? "-" : "+", abs(exp10));
    }
    if (exp10 < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = -1; i > exp10; i--)
            out[n++] = '0';
        memcpy(out + n, digits, (size_t)nd);
        n += (size_t)nd;
    } else {
        for (int i = 0; i <= exp10 || i < nd; i++) {
            if (i == exp10 + 1)
                out[n++] = '.';
            out[n++] = i < nd ? digits[i] : '0';
        }
    }
    out[n] = '\0';
    return n;
}
