/*
 * query/func_cast.c: CAST between every pair of scalar types with DataFusion's
 * semantics (errors, not NULLs, for values that do not fit or parse), the text forms of
 * values, and INTERVAL text parsing and rendering.
 */
#include "func_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cst_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

bool qf_cast_supported(qtype from, qtype to)
{
    if (from == to || from == QT_NULL)
        return true;
    if (from == QT_SELECTOR || to == QT_SELECTOR || to == QT_NULL)
        return false;
    if (to == QT_STRING || from == QT_STRING)
        return true;
    switch (to) {
    case QT_BOOL: return from == QT_INT || from == QT_UINT || from == QT_FLOAT;
    case QT_INT:
    case QT_UINT:
    case QT_FLOAT: return from != QT_INTERVAL || to != QT_FLOAT;
    case QT_TIMESTAMP: return from == QT_INT || from == QT_UINT || from == QT_FLOAT;
    case QT_INTERVAL: return from == QT_INT || from == QT_UINT;
    default: return false;
    }
}

/* ---- errors ---- */

static int cst_range_err(qctx *c, const qvec *in, uint32_t r, qtype to)
{
    qvalue v;
    char buf[96];
    qf_vec_value(in, r, &v);
    qf_fmt_value(&v, buf, sizeof buf);
    return vg_err_set(c->err, VG_EINVAL, "Cast error: Can't cast value %s to type %s", buf,
                      qtype_name(to));
}

static int cst_parse_err(qctx *c, qstr s, qtype to)
{
    qvalue v = {.type = QT_STRING};
    char buf[96];
    v.v.s = s;
    qf_fmt_value(&v, buf, sizeof buf);
    if (to == QT_BOOL)
        return vg_err_set(c->err, VG_EINVAL,
                          "Cast error: Cannot cast value '%s' to value of Boolean type", buf);
    return vg_err_set(c->err, VG_EINVAL, "Cast error: Cannot cast string '%s' to value of %s type",
                      buf, qtype_name(to));
}

/* ---- parsing text ---- */

static bool cst_parse_u64(const char *p, size_t n, uint64_t *out)
{
    size_t i = 0;
    if (i < n && p[i] == '+')
        i++;
    if (i == n)
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool cst_parse_i64(const char *p, size_t n, int64_t *out)
{
    bool neg = n > 0 && p[0] == '-';
    uint64_t u;
    if (neg && n > 1 && p[1] == '+')
        return false;
    if (!cst_parse_u64(p + neg, n - neg, &u))
        return false;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

/* Rust's f64 grammar: decimal or exponent notation, inf/infinity/nan in any case, no
 * surrounding spaces, no hexadecimal. */
static bool cst_parse_f64(const char *p, size_t n, double *out)
{
    char small[128];
    if (n == 0 || isspace((unsigned char)p[0]) || isspace((unsigned char)p[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] == 'x' || p[i] == 'X' || p[i] == '(' || p[i] == '\0')
            return false;
    char *buf = n < sizeof small ? small : vg_malloc(n + 1);
    if (!buf)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    bool ok = end == buf + n;
    if (buf != small)
        vg_free(buf);
    if (ok)
        *out = v;
    return ok;
}

static bool cst_word(const char *p, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

static bool cst_parse_bool(const char *p, size_t n, uint8_t *out)
{
    static const char *yes[] = {"true", "t", "yes", "y", "on", "1"};
    static const char *no[] = {"false", "f", "no", "n", "off", "0"};
    for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
        if (cst_word(p, n, yes[k])) {
            *out = 1;
            return true;
        }
        if (cst_word(p, n, no[k])) {
            *out = 0;
            return true;
        }
    }
    return false;
}

/* ---- intervals ---- */

typedef struct cst_unit {
    const char *name;
    int64_t ns;
} cst_unit;

static const cst_unit cst_units[] = {
    {"ns", 1},
    {"nsec", 1},
    {"nsecs", 1},
    {"nanosecond", 1},
    {"nanoseconds", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},
    {"usec", 1000},
    {"usecs", 1000},
    {"microsecond", 1000},
    {"microseconds", 1000},
    {"ms", VG_NS_PER_MS},
    {"msec", VG_NS_PER_MS},
    {"msecs", VG_NS_PER_MS},
    {"millisecond", VG_NS_PER_MS},
    {"milliseconds", VG_NS_PER_MS},
    {"s", VG_NS_PER_SEC},
    {"sec", VG_NS_PER_SEC},
    {"secs", VG_NS_PER_SEC},
    {"second", VG_NS_PER_SEC},
    {"seconds", VG_NS_PER_SEC},
    {"m", 60 * VG_NS_PER_SEC},
    {"min", 60 * VG_NS_PER_SEC},
    {"mins", 60 * VG_NS_PER_SEC},
    {"minute", 60 * VG_NS_PER_SEC},
    {"minutes", 60 * VG_NS_PER_SEC},
    {"h", 3600 * VG_NS_PER_SEC},
    {"hr", 3600 * VG_NS_PER_SEC},
    {"hrs", 3600 * VG_NS_PER_SEC},
    {"hour", 3600 * VG_NS_PER_SEC},
    {"hours", 3600 * VG_NS_PER_SEC},
    {"d", 86400 * VG_NS_PER_SEC},
    {"day", 86400 * VG_NS_PER_SEC},
    {"days", 86400 * VG_NS_PER_SEC},
    {"w", 604800 * VG_NS_PER_SEC},
    {"week", 604800 * VG_NS_PER_SEC},
    {"weeks", 604800 * VG_NS_PER_SEC},
};

static bool cst_calendar_unit(const char *u, size_t n)
{
    static const char *cal[] = {"mo",     "mon",     "mons",    "month",    "months",
                                "y",      "yr",      "yrs",     "year",     "years",
                                "decade", "decades", "century", "centuries"};
    for (size_t k = 0; k < sizeof cal / sizeof cal[0]; k++)
        if (cst_word(u, n, cal[k]))
            return true;
    return false;
}

/* "[-]HH:MM[:SS[.fff]]" */
static bool cst_parse_clock(const char *p, size_t n, int64_t *out)
{
    bool neg = n > 0 && p[0] == '-';
    size_t i = neg;
    int64_t part[3] = {0, 0, 0}, frac = 0;
    int np = 0, fd = 0;
    while (np < 3) {
        size_t d0 = i;
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - d0 < 12)
            part[np] = part[np] * 10 + (p[i++] - '0');
        if (i == d0)
            return false;
        np++;
        if (i < n && p[i] == ':' && np < 3) {
            i++;
            continue;
        }
        break;
    }
    if (np < 2)
        return false;
    if (i < n && p[i] == '.' && np == 3) {
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            if (fd < 9) {
                frac = frac * 10 + (p[i] - '0');
                fd++;
            }
        for (; fd < 9; fd++)
            frac *= 10;
    }
    if (i != n || part[1] > 59 || part[2] > 59)
        return false;
    int64_t ns = (part[0] * 3600 + part[1] * 60 + part[2]) * VG_NS_PER_SEC + frac;
    *out = neg ? -ns : ns;
    return true;
}

int qf_parse_interval(const char *s, size_t len, int64_t *out, vg_err *e)
{
    size_t i = 0, n = len;
    while (i < n && s[i] == ' ')
        i++;
    while (n > i && s[n - 1] == ' ')
        n--;
    if (i == n)
        return vg_err_set(e, VG_EINVAL, "invalid interval '%.*s': empty", (int)len, s);
    if (memchr(s + i, ':', n - i)) {
        if (cst_parse_clock(s + i, n - i, out))
            return VG_OK;
        return vg_err_set(e, VG_EINVAL, "invalid interval '%.*s': expected HH:MM[:SS]", (int)len,
                          s);
    }
    __int128 total = 0;
    bool any = false;
    while (i < n) {
        bool neg = false;
        if (s[i] == '-' || s[i] == '+')
            neg = s[i++] == '-';
        uint64_t whole = 0, frac = 0, scale = 1;
        size_t d0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (whole > UINT64_MAX / 10 - 10)
                return vg_err_set(e, VG_EINVAL, "invalid interval '%.*s': number too large",
                                  (int)len, s);
            whole = whole * 10 + (uint64_t)(s[i++] - '0');
        }
        if (i < n && s[i] == '.') {
            for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                if (scale < 1000000000000000000ULL) {
                    frac = frac * 10 + (uint64_t)(s[i] - '0');
                    scale *= 10;
                }
        }
        if (i == d0 || (i == d0 + 1 && s[d0] == '.'))
            return vg_err_set(e, VG_EINVAL,
                              "invalid interval '%.*s': expected a number at "
                              "position %zu",
                              (int)len, s, d0 + 1);
        while (i < n && s[i] == ' ')
            i++;
        size_t u0 = i;
        while (i < n && (isalpha((unsigned char)s[i]) || ((unsigned char)s[i] & 0x80)))
            i++;
        int64_t mult = -1;
        if (i == u0)
            mult = VG_NS_PER_SEC; /* a bare number is seconds, as in PostgreSQL */
        for (size_t k = 0; mult < 0 && k < sizeof cst_units / sizeof cst_units[0]; k++)
            if (cst_word(s + u0, i - u0, cst_units[k].name))
                mult = cst_units[k].ns;
        if (mult < 0 && cst_calendar_unit(s + u0, i - u0))
            return vg_err_set(e, VG_EINVAL,
                              "invalid interval '%.*s': months and years have no "
                              "fixed length; use days (e.g. '30 days')",
                              (int)len, s);
        if (mult < 0)
            return vg_err_set(e, VG_EINVAL,
                              "invalid interval '%.*s': unknown unit '%.*s' (use "
                              "ns, us, ms, s, m, h, d or w)",
                              (int)len, s, (int)(i - u0), s + u0);
        __int128 v = (__int128)whole * mult + (__int128)frac * mult / scale;
        total += neg ? -v : v;
        if (total > INT64_MAX || total < -(__int128)INT64_MAX)
            return vg_err_set(e, VG_EINVAL, "invalid interval '%.*s': too large", (int)len, s);
        any = true;
        while (i < n && (s[i] == ' ' || s[i] == ','))
            i++;
    }
    if (!any)
        return vg_err_set(e, VG_EINVAL, "invalid interval '%.*s': empty", (int)len, s);
    *out = (int64_t)total;
    return VG_OK;
}

size_t qf_fmt_interval(int64_t ns, char *out)
{
    /* Magnitudes as unsigned so that INT64_MIN formats too. */
    bool neg = ns < 0;
    uint64_t a = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t day = 86400ULL * VG_NS_PER_SEC, hour = 3600ULL * VG_NS_PER_SEC;
    uint64_t min = 60ULL * VG_NS_PER_SEC, sec = VG_NS_PER_SEC;
    uint64_t d = a / day, h = a % day / hour, m = a % hour / min, s = a % min / sec, f = a % sec;
    const char *sg = neg ? "-" : "";
    size_t n = 0;
    out[0] = '\0';
    if (d)
        n += (size_t)sprintf(out + n, "%s%s%llu days", n ? " " : "", sg, (unsigned long long)d);
    if (h)
        n += (size_t)sprintf(out + n, "%s%s%llu hours", n ? " " : "", sg, (unsigned long long)h);
    if (m)
        n += (size_t)sprintf(out + n, "%s%s%llu mins", n ? " " : "", sg, (unsigned long long)m);
    if (f)
        n += (size_t)sprintf(out + n, "%s%s%llu.%09llu secs", n ? " " : "", sg,
                             (unsigned long long)s, (unsigned long long)f);
    else if (s || n == 0)
        n += (size_t)sprintf(out + n, "%s%s%llu secs", n ? " " : "", sg, (unsigned long long)s);
    return n;
}

/* ---- kernels, by target type ---- */

static int cst_to_bool(qctx *c, const qvec *in, qvec *out)
{
    uint32_t n = in->n;
    switch (in->type) {
    case QT_INT:
    case QT_UINT:
        for (uint32_t r = 0; r < n; r++)
            out->v.b[r] = in->v.i64[r] != 0;
        return VG_OK;
    case QT_FLOAT:
        for (uint32_t r = 0; r < n; r++)
            out->v.b[r] = in->v.f64[r] != 0.0;
        return VG_OK;
    case QT_STRING:
        for (uint32_t r = 0; r < n; r++) {
            if (!qvec_is_valid(in, r)) {
                out->v.b[r] = 0;
                continue;
            }
            qstr s = qvec_str(in, r);
            if (!cst_parse_bool(s.p, s.len, &out->v.b[r]))
                return cst_parse_err(c, s, QT_BOOL);
        }
        return VG_OK;
    default: return VG_EINTERNAL;
    }
}

static int cst_to_i64(qctx *c, const qvec *in, qtype to, qvec *out)
{
    uint32_t n = in->n;
    int64_t *o = out->v.i64;
    switch (in->type) {
    case QT_BOOL:
        for (uint32_t r = 0; r < n; r++)
            o[r] = in->v.b[r] != 0;
        return VG_OK;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: memcpy(o, in->v.i64, (size_t)n * 8); return VG_OK;
    case QT_UINT:
        for (uint32_t r = 0; r < n; r++) {
            if (in->v.u64[r] > (uint64_t)INT64_MAX && qvec_is_valid(in, r))
                return cst_range_err(c, in, r, to);
            o[r] = (int64_t)in->v.u64[r];
        }
        return VG_OK;
    case QT_FLOAT:
        for (uint32_t r = 0; r < n; r++) {
            double v = in->v.f64[r];
            /* Not (v in range) also catches NaN. */
            if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) {
                if (qvec_is_valid(in, r))
                    return cst_range_err(c, in, r, to);
                v = 0;
            }
            o[r] = (int64_t)v;
        }
        return VG_OK;
    case QT_STRING:
        for (uint32_t r = 0; r < n; r++) {
            o[r] = 0;
            if (!qvec_is_valid(in, r))
                continue;
            qstr s = qvec_str(in, r);
            if (to == QT_TIMESTAMP) {
                if (vg_parse_timestamp(s.p, s.len, &o[r], NULL) != VG_OK) {
                    qvalue v = {.type = QT_STRING, .v.s = s};
                    char buf[96];
                    qf_fmt_value(&v, buf, sizeof buf);
                    return vg_err_set(c->err, VG_EINVAL,
                                      "Cast error: Error parsing timestamp from '%s': expected "
                                      "RFC 3339, e.g. 2026-01-01T00:00:00Z",
                                      buf);
                }
            } else if (to == QT_INTERVAL) {
                vg_err pe;
                if (qf_parse_interval(s.p, s.len, &o[r], &pe) != VG_OK)
                    return vg_err_set(c->err, VG_EINVAL, "Cast error: %s", pe.msg);
            } else if (!cst_parse_i64(s.p, s.len, &o[r])) {
                return cst_parse_err(c, s, to);
            }
        }
        return VG_OK;
    default: return VG_EINTERNAL;
    }
}

static int cst_to_u64(qctx *c, const qvec *in, qvec *out)
{
    uint32_t n = in->n;
    uint64_t *o = out->v.u64;
    switch (in->type) {
    case QT_BOOL:
        for (uint32_t r = 0; r < n; r++)
            o[r] = in->v.b[r] != 0;
        return VG_OK;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL:
        for (uint32_t r = 0; r < n; r++) {
            if (in->v.i64[r] < 0 && qvec_is_valid(in, r))
                return cst_range_err(c, in, r, QT_UINT);
            o[r] = (uint64_t)in->v.i64[r];
        }
        return VG_OK;
    case QT_FLOAT:
        for (uint32_t r = 0; r < n; r++) {
            double v = in->v.f64[r];
            if (!(v > -1.0 && v < 18446744073709551616.0)) {
                if (qvec_is_valid(in, r))
                    return cst_range_err(c, in, r, QT_UINT);
                v = 0;
            }
            o[r] = (uint64_t)v;
        }
        return VG_OK;
    case QT_STRING:
        for (uint32_t r = 0; r < n; r++) {
            o[r] = 0;
            if (!qvec_is_valid(in, r))
                continue;
            qstr s = qvec_str(in, r);
            if (!cst_parse_u64(s.p, s.len, &o[r]))
                return cst_parse_err(c, s, QT_UINT);
        }
        return VG_OK;
    default: return VG_EINTERNAL;
    }
}

static int cst_to_f64(qctx *c, const qvec *in, qvec *out)
{
    uint32_t n = in->n;
    double *o = out->v.f64;
    switch (in->type) {
    case QT_BOOL:
        for (uint32_t r = 0; r < n; r++)
            o[r] = in->v.b[r] != 0;
        return VG_OK;
    case QT_INT:
    case QT_TIMESTAMP:
        for (uint32_t r = 0; r < n; r++)
            o[r] = (double)in->v.i64[r];
        return VG_OK;
    case QT_UINT:
        for (uint32_t r = 0; r < n; r++)
            o[r] = (double)in->v.u64[r];
        return VG_OK;
    case QT_STRING:
        for (uint32_t r = 0; r < n; r++) {
            o[r] = 0;
            if (!qvec_is_valid(in, r))
                continue;
            qstr s = qvec_str(in, r);
            if (!cst_parse_f64(s.p, s.len, &o[r]))
                return cst_parse_err(c, s, QT_FLOAT);
        }
        return VG_OK;
    default: return VG_EINTERNAL;
    }
}

/* Integers and floats become timestamps as nanoseconds (Arrow's numeric cast). */
static int cst_to_time(qctx *c, const qvec *in, qtype to, qvec *out)
{
    if (in->type == QT_INT || in->type == QT_STRING || in->type == QT_UINT || in->type == QT_FLOAT)
        return cst_to_i64(c, in, to, out);
    return VG_EINTERNAL;
}

static int cst_put(qctx *c, qf_mem *m, qvec *out, uint32_t r, const char *p, size_t len)
{
    char *d = qf_mem_str(c, m, len ? len : 1);
    if (!d)
        return cst_err(c);
    memcpy(d, p, len);
    out->v.s[r] = (qstr){d, (uint32_t)len};
    return VG_OK;
}

static int cst_to_string(qctx *c, qf_mem *m, const qvec *in, qvec *out)
{
    char buf[96];
    for (uint32_t r = 0; r < in->n; r++) {
        out->v.s[r] = (qstr){"", 0};
        if (!qvec_is_valid(in, r))
            continue;
        size_t len;
        switch (in->type) {
        case QT_BOOL: out->v.s[r] = in->v.b[r] ? (qstr){"true", 4} : (qstr){"false", 5}; continue;
        case QT_INT: len = vg_fmt_i64(in->v.i64[r], buf); break;
        case QT_UINT: len = vg_fmt_u64(in->v.u64[r], buf); break;
        case QT_FLOAT: len = qf_fmt_f64(in->v.f64[r], buf); break;
        case QT_TIMESTAMP: len = vg_format_timestamp(in->v.i64[r], false, buf); break;
        case QT_INTERVAL: len = qf_fmt_interval(in->v.i64[r], buf); break;
        default: return VG_EINTERNAL;
        }
        int rc = cst_put(c, m, out, r, buf, len);
        if (rc)
            return rc;
    }
    return VG_OK;
}

int qf_cast(qctx *c, qf_mem *m, const qvec *in_, qtype to, qvec *out)
{
    qvec in = *in_; /* out may be the same vector as in */
    if (in.type == to) {
        *out = in;
        return VG_OK;
    }
    if (!qf_cast_supported(in.type, to))
        return vg_err_set(c->err, VG_EINVAL, "Unsupported CAST from %s to %s", qtype_name(in.type),
                          qtype_name(to));
    int rc = qf_mem_vec(c, m, out, to, in.n);
    if (rc)
        return rc;
    if (in.type == QT_NULL) {
        /* Every row NULL, typed. */
        memset(out->v.i64, 0, (size_t)(in.n ? in.n : 1) * qf_type_width(to));
        if (!qf_mem_valid(c, m, out))
            return cst_err(c);
        memset(out->valid, 0, qf_bitmap_bytes(in.n ? in.n : 1));
        return VG_OK;
    }
    rc = qf_mem_valid_and(c, m, out, &in, 1);
    if (rc)
        return rc;
    switch (to) {
    case QT_BOOL: rc = cst_to_bool(c, &in, out); break;
    case QT_INT:
    case QT_INTERVAL: rc = cst_to_i64(c, &in, to, out); break;
    case QT_UINT: rc = cst_to_u64(c, &in, out); break;
    case QT_FLOAT: rc = cst_to_f64(c, &in, out); break;
    case QT_TIMESTAMP: rc = cst_to_time(c, &in, to, out); break;
    case QT_STRING: rc = cst_to_string(c, m, &in, out); break;
    default: rc = VG_EINTERNAL; break;
    }
    if (rc == VG_EINTERNAL)
        return vg_err_set(c->err, VG_EINVAL, "Unsupported CAST from %s to %s", qtype_name(in.type),
                          qtype_name(to));
    return rc;
}

int qf_cast_value(qctx *c, const qvalue *in, qtype to, qvalue *out)
{
    if (in->null || in->type == to) {
        *out = *in;
        out->type = to;
        return VG_OK;
    }
    qf_mem m;
    memset(&m, 0, sizeof m);
    qvec v = {.type = in->type, .n = 1}, r;
    uint8_t b;
    qstr s;
    int64_t i;
    if (in->type == QT_BOOL) {
        b = in->v.b;
        v.v.b = &b;
    } else if (in->type == QT_STRING) {
        s = in->v.s;
        v.v.s = &s;
    } else {
        memcpy(&i, &in->v, 8); /* the 8 bytes of an int, uint or float alike */
        v.v.i64 = &i;
    }
    int rc = qf_cast(c, &m, &v, to, &r);
    if (rc)
        return rc;
    qf_vec_value(&r, 0, out);
    return qf_value_own(c, out);
}
