/*
 * query/func_time.c: date_bin, date_trunc, date_part (EXTRACT), to_timestamp and its
 * unit variants, now(). All in UTC on the proleptic Gregorian calendar; instants before
 * 1970 round down (towards the past), never towards zero.
 */
#include "func_int.h"

#include <string.h>
#include <strings.h>

#define TM_DAY_NS (86400 * VG_NS_PER_SEC)

static int tm_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* ---- calendar arithmetic ---- */

static int64_t tm_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t tm_floor_mod(int64_t a, int64_t b)
{
    return a - tm_floor_div(a, b) * b;
}

/* Days from 1970-01-01 to y-m-d. Counting in 400-year eras that start on March 1st puts
 * the leap day at the end of each year, so day-of-year arithmetic needs no leap test. */
static int64_t tm_days_from_date(int64_t y, int m, int d)
{
    if (m <= 2)
        y--;
    int64_t era = tm_floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] from Mar 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;                            /* 719468: 0000-03-01 to 1970 */
}

typedef struct tm_date {
    int64_t year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
} tm_date;

static tm_date tm_date_from_days(int64_t z)
{
    z += 719468;
    int64_t era = tm_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    tm_date r;
    r.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    r.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    r.year = yoe + era * 400 + (r.month <= 2);
    return r;
}

static bool tm_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Weekday with Monday = 0: 1970-01-01 was a Thursday. */
static int tm_weekday_mon0(int64_t days)
{
    return (int)tm_floor_mod(days + 3, 7);
}

/* ISO 8601 weeks: week 1 holds the year's first Thursday. */
static int tm_iso_weeks_in_year(int64_t y)
{
    int jan1 = tm_weekday_mon0(tm_days_from_date(y, 1, 1));
    return 52 + (jan1 == 3 || (jan1 == 2 && tm_leap(y)));
}

static int tm_iso_week(int64_t days)
{
    tm_date d = tm_date_from_days(days);
    int64_t doy = days - tm_days_from_date(d.year, 1, 1) + 1;
    int wd = tm_weekday_mon0(days) + 1;
    int64_t w = (doy - wd + 10) / 7;
    if (w < 1)
        return tm_iso_weeks_in_year(d.year - 1);
    if (w > tm_iso_weeks_in_year(d.year))
        return 1;
    return (int)w;
}

/* ---- shared resolve pieces ---- */

static bool tm_text_or_null(qtype t)
{
    return t == QT_STRING || t == QT_NULL;
}

/* A timestamp argument: strings are parsed as timestamps, NULL is a NULL timestamp. */
static bool tm_ts_arg(qtype *t)
{
    if (tm_text_or_null(*t))
        *t = QT_TIMESTAMP;
    return *t == QT_TIMESTAMP;
}

/* ---- date_bin ---- */

static int tm_date_bin_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (tm_text_or_null(t[0]))
        t[0] = QT_INTERVAL;
    bool ok = t[0] == QT_INTERVAL && tm_ts_arg(&t[1]) && (n < 3 || tm_ts_arg(&t[2]));
    if (!ok)
        return qf_nomatch(e, "date_bin", t, n,
                          "date_bin(Interval(MonthDayNano), Timestamp(Nanosecond, None)[, "
                          "Timestamp(Nanosecond, None)])");
    *ret = QT_TIMESTAMP;
    return VG_OK;
}

/* origin + floor((t - origin) / stride) * stride, the start of the bin holding t. */
static bool tm_bin_one(int64_t t, int64_t stride, int64_t origin, int64_t *out)
{
    int64_t d, r;
    if (__builtin_sub_overflow(t, origin, &d))
        return false;
    return !__builtin_mul_overflow(tm_floor_div(d, stride), stride, &r) &&
           !__builtin_add_overflow(origin, r, out);
}

/* Constant stride and origin: rows arrive mostly in time order, so consecutive rows
 * tend to share a bin; reusing the last bin's bounds skips the division. */
static int tm_date_bin_runs(qctx *c, int64_t stride, int64_t origin, const qvec *tv, uint32_t n,
                            qvec *out)
{
    const int64_t *ts = tv->v.i64;
    int64_t *o = out->v.i64;
    int64_t lo = 1, hi = 0; /* the current bin [lo, hi), empty at first */
    for (uint32_t i = 0; i < n; i++) {
        int64_t t = ts[i];
        if (t >= lo && t < hi) {
            o[i] = lo;
            continue;
        }
        if (!tm_bin_one(t, stride, origin, &o[i])) {
            o[i] = 0;
            if (out->valid && !qf_bit(out->valid, i))
                continue;
            return vg_err_set(c->err, VG_EINVAL, "date_bin: timestamp out of range");
        }
        lo = o[i];
        if (__builtin_add_overflow(lo, stride, &hi))
            hi = INT64_MAX;
    }
    return VG_OK;
}

static int tm_date_bin(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return tm_err(c);
    int rc = qf_mem_vec(c, m, out, QT_TIMESTAMP, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, na);
    if (rc)
        return rc;
    bool sc = qf_arg_const(call, 0), oc = na < 3 || qf_arg_const(call, 2);
    if (sc && oc && n > 0 && a[0].v.i64[0] > 0)
        return tm_date_bin_runs(c, a[0].v.i64[0], na < 3 ? 0 : a[2].v.i64[0], &a[1], n, out);
    const int64_t *ts = a[1].v.i64;
    int64_t *o = out->v.i64;
    for (uint32_t i = 0; i < n; i++) {
        int64_t stride = a[0].v.i64[sc ? 0 : i];
        int64_t origin = na < 3 ? 0 : a[2].v.i64[oc ? 0 : i];
        if (stride <= 0) {
            o[i] = 0;
            if (out->valid && !qf_bit(out->valid, i))
                continue;
            return vg_err_set(c->err, VG_EINVAL,
                              stride == 0 ? "DATE_BIN stride must be non-zero"
                                          : "DATE_BIN stride must be positive");
        }
        if (!tm_bin_one(ts[i], stride, origin, &o[i])) {
            o[i] = 0;
            if (!out->valid || qf_bit(out->valid, i))
                return vg_err_set(c->err, VG_EINVAL, "date_bin: timestamp out of range");
        }
    }
    return VG_OK;
}

/* ---- date_trunc ---- */

enum { TR_US, TR_MS, TR_SEC, TR_MIN, TR_HOUR, TR_DAY, TR_WEEK, TR_MONTH, TR_QUARTER, TR_YEAR };
static const char *const tm_trunc_units[] = {"microsecond", "millisecond", "second", "minute",
                                             "hour",        "day",         "week",   "month",
                                             "quarter",     "year"};
#define TM_NTRUNC (int)(sizeof tm_trunc_units / sizeof tm_trunc_units[0])

static int tm_trunc_unit(qstr s)
{
    for (int k = 0; k < TM_NTRUNC; k++)
        if (strlen(tm_trunc_units[k]) == s.len && strncasecmp(tm_trunc_units[k], s.p, s.len) == 0)
            return k;
    return -1;
}

static int tm_trunc_unit_err(vg_err *e, qstr s)
{
    return vg_err_set(e, VG_EINVAL,
                      "Unsupported date_trunc granularity: '%.*s'. Supported: microsecond, "
                      "millisecond, second, minute, hour, day, week, month, quarter, year",
                      (int)(s.len > 64 ? 64 : s.len), s.p);
}

static int tm_date_trunc_resolve_lit(qtype *t, const qvalue *const *lits, uint32_t n, qtype *ret,
                                     vg_err *e)
{
    if (n != 2 || !tm_text_or_null(t[0]) || !tm_ts_arg(&t[1]))
        return qf_nomatch(e, "date_trunc", t, n, "date_trunc(Utf8, Timestamp(Nanosecond, None))");
    t[0] = QT_STRING;
    if (lits && lits[0] && !lits[0]->null && lits[0]->type == QT_STRING &&
        tm_trunc_unit(lits[0]->v.s) < 0)
        return tm_trunc_unit_err(e, lits[0]->v.s);
    *ret = QT_TIMESTAMP;
    return VG_OK;
}

static int tm_date_trunc_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    return tm_date_trunc_resolve_lit(t, NULL, n, ret, e);
}

static bool tm_trunc_one(int unit, int64_t t, int64_t *out)
{
    static const int64_t fixed[] = {VG_NS_PER_US,       VG_NS_PER_MS,         VG_NS_PER_SEC,
                                    60 * VG_NS_PER_SEC, 3600 * VG_NS_PER_SEC, TM_DAY_NS};
    if (unit <= TR_DAY)
        return !__builtin_mul_overflow(tm_floor_div(t, fixed[unit]), fixed[unit], out);
    int64_t days = tm_floor_div(t, TM_DAY_NS);
    if (unit == TR_WEEK) {
        days -= tm_weekday_mon0(days);
    } else {
        tm_date d = tm_date_from_days(days);
        int month = unit == TR_MONTH ? d.month : unit == TR_QUARTER ? (d.month - 1) / 3 * 3 + 1 : 1;
        days = tm_days_from_date(d.year, month, 1);
    }
    return !__builtin_mul_overflow(days, TM_DAY_NS, out);
}

static int tm_date_trunc(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return tm_err(c);
    int rc = qf_mem_vec(c, m, out, QT_TIMESTAMP, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, na);
    if (rc)
        return rc;
    bool uc = qf_arg_const(call, 0);
    int unit = -1;
    for (uint32_t i = 0; i < n; i++) {
        out->v.i64[i] = 0;
        if (out->valid && !qf_bit(out->valid, i))
            continue;
        if (unit < 0 || !uc) {
            qstr s = qvec_str(&a[0], i);
            if ((unit = tm_trunc_unit(s)) < 0)
                return tm_trunc_unit_err(c->err, s);
        }
        if (!tm_trunc_one(unit, a[1].v.i64[i], &out->v.i64[i]))
            return vg_err_set(c->err, VG_EINVAL, "date_trunc: timestamp out of range");
    }
    return VG_OK;
}

/* ---- date_part ---- */

enum {
    PT_YEAR,
    PT_QUARTER,
    PT_MONTH,
    PT_WEEK,
    PT_DAY,
    PT_DOW,
    PT_DOY,
    PT_HOUR,
    PT_MINUTE,
    PT_SECOND,
    PT_MS,
    PT_US,
    PT_NS,
    PT_EPOCH,
    PT_ISODOW,
};

typedef struct tm_part_name {
    const char *name;
    int part;
} tm_part_name;

static const tm_part_name tm_parts[] = {
    {"year", PT_YEAR},      {"years", PT_YEAR},      {"quarter", PT_QUARTER},
    {"month", PT_MONTH},    {"months", PT_MONTH},    {"week", PT_WEEK},
    {"weeks", PT_WEEK},     {"day", PT_DAY},         {"days", PT_DAY},
    {"dow", PT_DOW},        {"dayofweek", PT_DOW},   {"doy", PT_DOY},
    {"dayofyear", PT_DOY},  {"hour", PT_HOUR},       {"hours", PT_HOUR},
    {"minute", PT_MINUTE},  {"minutes", PT_MINUTE},  {"second", PT_SECOND},
    {"seconds", PT_SECOND}, {"millisecond", PT_MS},  {"milliseconds", PT_MS},
    {"microsecond", PT_US}, {"microseconds", PT_US}, {"nanosecond", PT_NS},
    {"nanoseconds", PT_NS}, {"epoch", PT_EPOCH},     {"isodow", PT_ISODOW},
};

static int tm_part(qstr s)
{
    for (size_t k = 0; k < sizeof tm_parts / sizeof tm_parts[0]; k++)
        if (strlen(tm_parts[k].name) == s.len && strncasecmp(tm_parts[k].name, s.p, s.len) == 0)
            return tm_parts[k].part;
    return -1;
}

static int tm_part_err(vg_err *e, qstr s)
{
    return vg_err_set(e, VG_EINVAL,
                      "Unsupported date_part field: '%.*s'. Supported: year, quarter, month, week, "
                      "day, dow, doy, hour, minute, second, millisecond, microsecond, nanosecond, "
                      "epoch, isodow",
                      (int)(s.len > 64 ? 64 : s.len), s.p);
}

/* second and epoch carry a fraction: Float64; every other field is a whole Int64. When
 * the field is not a literal the type cannot depend on it, and Float64 holds them all. */
static int tm_date_part_resolve_lit(qtype *t, const qvalue *const *lits, uint32_t n, qtype *ret,
                                    vg_err *e)
{
    if (n != 2 || !tm_text_or_null(t[0]) || !tm_ts_arg(&t[1]))
        return qf_nomatch(e, "date_part", t, n, "date_part(Utf8, Timestamp(Nanosecond, None))");
    t[0] = QT_STRING;
    *ret = QT_FLOAT;
    if (lits && lits[0] && !lits[0]->null && lits[0]->type == QT_STRING) {
        int p = tm_part(lits[0]->v.s);
        if (p < 0)
            return tm_part_err(e, lits[0]->v.s);
        *ret = p == PT_EPOCH ? QT_FLOAT : QT_INT;
    }
    return VG_OK;
}

static int tm_date_part_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    return tm_date_part_resolve_lit(t, NULL, n, ret, e);
}

/* One field of instant t: whole fields in *iv, fractional ones in *fv (is_float). */
static void tm_part_one(int part, int64_t t, int64_t *iv, double *fv, bool *is_float)
{
    int64_t days = tm_floor_div(t, TM_DAY_NS), tod = t - days * TM_DAY_NS;
    int64_t sec_of_min = tod / VG_NS_PER_SEC % 60, sub = tod % VG_NS_PER_SEC;
    *is_float = false;
    switch (part) {
    case PT_HOUR: *iv = tod / (3600 * VG_NS_PER_SEC); return;
    case PT_MINUTE: *iv = tod / (60 * VG_NS_PER_SEC) % 60; return;
    case PT_SECOND: *iv = sec_of_min; return; /* whole seconds, as DataFusion and DuckDB */
    case PT_MS: *iv = sec_of_min * 1000 + sub / VG_NS_PER_MS; return;
    case PT_US: *iv = sec_of_min * 1000000 + sub / VG_NS_PER_US; return;
    case PT_NS: *iv = sec_of_min * VG_NS_PER_SEC + sub; return;
    case PT_EPOCH:
        *is_float = true;
        *fv = (double)tm_floor_div(t, VG_NS_PER_SEC) + (double)tm_floor_mod(t, VG_NS_PER_SEC) / 1e9;
        return;
    case PT_DOW: *iv = (tm_weekday_mon0(days) + 1) % 7; return; /* Sunday = 0 */
    case PT_ISODOW: *iv = tm_weekday_mon0(days) + 1; return;    /* Monday = 1 */
    case PT_WEEK: *iv = tm_iso_week(days); return;
    default: break;
    }
    tm_date d = tm_date_from_days(days);
    switch (part) {
    case PT_YEAR: *iv = d.year; return;
    case PT_QUARTER: *iv = (d.month - 1) / 3 + 1; return;
    case PT_MONTH: *iv = d.month; return;
    case PT_DAY: *iv = d.day; return;
    default: *iv = days - tm_days_from_date(d.year, 1, 1) + 1; return; /* PT_DOY */
    }
}

static int tm_date_part(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return tm_err(c);
    qtype rt = call->type == QT_INT ? QT_INT : QT_FLOAT;
    int rc = qf_mem_vec(c, m, out, rt, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, na);
    if (rc)
        return rc;
    bool pc = qf_arg_const(call, 0);
    int part = -1;
    for (uint32_t i = 0; i < n; i++) {
        out->v.i64[i] = 0;
        if (out->valid && !qf_bit(out->valid, i))
            continue;
        if (part < 0 || !pc) {
            qstr s = qvec_str(&a[0], i);
            if ((part = tm_part(s)) < 0)
                return tm_part_err(c->err, s);
        }
        int64_t iv = 0;
        double fv = 0;
        bool is_float;
        tm_part_one(part, a[1].v.i64[i], &iv, &fv, &is_float);
        if (rt == QT_FLOAT)
            out->v.f64[i] = is_float ? fv : (double)iv;
        else
            out->v.i64[i] = is_float ? (int64_t)fv : iv;
    }
    return VG_OK;
}

/* ---- to_timestamp ---- */

static int tm_to_ts_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (t[0] == QT_NULL)
        t[0] = QT_STRING;
    if (n != 1 || !(t[0] == QT_STRING || qf_is_numeric(t[0]) || t[0] == QT_TIMESTAMP))
        return qf_nomatch(e, "to_timestamp", t, n,
                          "to_timestamp(Utf8), to_timestamp(Int64), to_timestamp(UInt64), "
                          "to_timestamp(Float64), to_timestamp(Timestamp(Nanosecond, None))");
    *ret = QT_TIMESTAMP;
    return VG_OK;
}

/* Numbers count `unit` nanoseconds (to_timestamp(int) is seconds, as DataFusion); the
 * result is truncated to `trunc` nanoseconds (the unit of to_timestamp_seconds & co). */
static int tm_to_ts_row(qctx *c, const qvec *a, uint32_t i, int64_t unit, int64_t trunc, int64_t *o)
{
    char buf[96];
    qvalue v;
    switch (a->type) {
    case QT_STRING: {
        qstr s = qvec_str(a, i);
        if (vg_parse_timestamp(s.p, s.len, o, NULL) != VG_OK) {
            qf_vec_value(a, i, &v);
            qf_fmt_value(&v, buf, sizeof buf);
            return vg_err_set(c->err, VG_EINVAL,
                              "Error parsing timestamp from '%s': expected "
                              "RFC 3339, e.g. 2026-01-01T00:00:00Z",
                              buf);
        }
        break;
    }
    case QT_INT:
        if (__builtin_mul_overflow(a->v.i64[i], unit, o))
            goto range;
        break;
    case QT_UINT:
        if (a->v.u64[i] > (uint64_t)INT64_MAX ||
            __builtin_mul_overflow((int64_t)a->v.u64[i], unit, o))
            goto range;
        break;
    case QT_FLOAT: {
        double f = a->v.f64[i] * (double)unit;
        if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
            goto range;
        *o = (int64_t)f;
        break;
    }
    default: *o = a->v.i64[i]; break;
    }
    *o = tm_floor_div(*o, trunc) * trunc;
    return VG_OK;
range:
    qf_vec_value(a, i, &v);
    qf_fmt_value(&v, buf, sizeof buf);
    return vg_err_set(c->err, VG_EINVAL, "Cast error: Can't cast value %s to type %s", buf,
                      qtype_name(QT_TIMESTAMP));
}

static int tm_to_ts(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, int64_t unit,
                    int64_t trunc)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return tm_err(c);
    int rc = qf_mem_vec(c, m, out, QT_TIMESTAMP, n);
    if (!rc)
        rc = qf_mem_valid_and(c, m, out, a, 1);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.i64[i] = 0;
        if (out->valid && !qf_bit(out->valid, i))
            continue;
        if ((rc = tm_to_ts_row(c, &a[0], i, unit, trunc, &out->v.i64[i])))
            return rc;
    }
    return VG_OK;
}

static int tm_to_ts_s(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return tm_to_ts(c, x, a, n, o, VG_NS_PER_SEC, VG_NS_PER_SEC);
}
static int tm_to_ts_ms(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return tm_to_ts(c, x, a, n, o, VG_NS_PER_MS, VG_NS_PER_MS);
}
static int tm_to_ts_us(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return tm_to_ts(c, x, a, n, o, VG_NS_PER_US, VG_NS_PER_US);
}
static int tm_to_ts_ns(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return tm_to_ts(c, x, a, n, o, 1, 1);
}

/* to_timestamp: InfluxDB 3 overrides DataFusion's version so that integers are
 * nanoseconds (as everywhere in InfluxDB, and as CAST(int AS TIMESTAMP)); floats stay
 * seconds with their fraction, as DataFusion. */
static int tm_to_timestamp(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    bool integer = a[0].type == QT_INT || a[0].type == QT_UINT;
    return tm_to_ts(c, x, a, n, o, integer ? 1 : VG_NS_PER_SEC, 1);
}

/* ---- now() ---- */

static int tm_now_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    if (n != 0)
        return qf_nomatch(e, "now", t, n, "now()");
    *ret = QT_TIMESTAMP;
    return VG_OK;
}

static int tm_now(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return tm_err(c);
    int rc = qf_mem_vec(c, m, out, QT_TIMESTAMP, n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        out->v.i64[i] = c->now_ns;
    return VG_OK;
}

#define TM_FN(NAME, MIN, MAX, RES, EXEC, LIT)                                                      \
    {                                                                                              \
        {NAME, MIN, MAX, RES, EXEC, false, LIT}, QF_STRICT                                         \
    }

const qf_def qf_time_defs[] = {
    TM_FN("date_bin", 2, 3, tm_date_bin_resolve, tm_date_bin, NULL),
    TM_FN("date_trunc", 2, 2, tm_date_trunc_resolve, tm_date_trunc, tm_date_trunc_resolve_lit),
    TM_FN("datetrunc", 2, 2, tm_date_trunc_resolve, tm_date_trunc, tm_date_trunc_resolve_lit),
    TM_FN("date_part", 2, 2, tm_date_part_resolve, tm_date_part, tm_date_part_resolve_lit),
    TM_FN("datepart", 2, 2, tm_date_part_resolve, tm_date_part, tm_date_part_resolve_lit),
    TM_FN("extract", 2, 2, tm_date_part_resolve, tm_date_part, tm_date_part_resolve_lit),
    TM_FN("to_timestamp", 1, 1, tm_to_ts_resolve, tm_to_timestamp, NULL),
    TM_FN("to_timestamp_seconds", 1, 1, tm_to_ts_resolve, tm_to_ts_s, NULL),
    TM_FN("to_timestamp_millis", 1, 1, tm_to_ts_resolve, tm_to_ts_ms, NULL),
    TM_FN("to_timestamp_micros", 1, 1, tm_to_ts_resolve, tm_to_ts_us, NULL),
    TM_FN("to_timestamp_nanos", 1, 1, tm_to_ts_resolve, tm_to_ts_ns, NULL),
    TM_FN("now", 0, 0, tm_now_resolve, tm_now, NULL),
    TM_FN("current_timestamp", 0, 0, tm_now_resolve, tm_now, NULL),
};
const size_t qf_time_ndefs = sizeof qf_time_defs / sizeof qf_time_defs[0];
