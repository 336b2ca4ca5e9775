/* engine/cron.c: cron expressions for `cron:` triggers, and `every:` alignment.
 *
 * The syntax is the Rust `cron` crate's, because that is what InfluxDB 3 Core parses:
 * seconds first, 6 or 7 fields (the 7th is the year), day of week 1-7 from Sunday,
 * names of months and days in any case, `?` as `*`, and both day fields must match.
 * A compiled expression is one bitset per field, so matching is a few AND tests and
 * "next fire time" walks forward field by field (a non-matching month skips the whole
 * month, and so on), all in UTC. */
#include "engine_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct field_def {
    const char *name; /* for messages: "Seconds", "Days of Week", ... */
    int min, max;
    const char *const *names; /* names[i] is value min+i (3-letter prefixes) */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const month_full[] = {"january",  "february", "march",  "april",     "may",
                                         "june",     "july",     "august", "september", "october",
                                         "november", "december", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const char *const day_full[] = {"sunday",   "monday", "tuesday",  "wednesday",
                                       "thursday", "friday", "saturday", NULL};

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR, F_COUNT };

static const field_def fields[F_COUNT] = {
    {"Seconds", 0, 59, NULL},
    {"Minutes", 0, 59, NULL},
    {"Hours", 0, 23, NULL},
    {"Days of Month", 1, 31, NULL},
    {"Months", 1, 12, month_names},
    {"Days of Week", 1, 7, day_names},
    {"Years", ENGINE_CRON_FIRST_YEAR, ENGINE_CRON_LAST_YEAR, NULL},
};

/* A set of allowed values of one field, indexed from the field's min. */
typedef struct vset {
    uint64_t w[3];
} vset;

static void vset_add(vset *s, int i)
{
    s->w[i >> 6] |= 1ull << (i & 63);
}

/* Value of a name ("tue", "Tuesday"), or -1. */
static int name_value(int f, const char *s, size_t n)
{
    const char *const *shortn = f == F_MONTH ? month_names : f == F_DOW ? day_names : NULL;
    const char *const *full = f == F_MONTH ? month_full : f == F_DOW ? day_full : NULL;
    if (!shortn)
        return -1;
    for (int i = 0; shortn[i]; i++)
        if ((n == 3 && strncasecmp(s, shortn[i], 3) == 0) ||
            (n == strlen(full[i]) && strncasecmp(s, full[i], n) == 0))
            return fields[f].min + i;
    /* The cron crate also takes "tues" and "thurs". */
    if (f == F_DOW && n == 4 && strncasecmp(s, "tues", 4) == 0)
        return 3;
    if (f == F_DOW && n == 5 && strncasecmp(s, "thurs", 5) == 0)
        return 5;
    return -1;
}

/* One value: a number or a name. */
static int parse_value(int f, const char *s, size_t n, int *out, vg_err *e)
{
    if (n == 0)
        return vg_err_set(e, VG_EINVAL, "empty value in the %s field", fields[f].name);
    if (isdigit((unsigned char)s[0])) {
        long v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]) || v > 100000)
                return vg_err_set(e, VG_EINVAL, "invalid value '%.*s' in the %s field", (int)n, s,
                                  fields[f].name);
            v = v * 10 + (s[i] - '0');
        }
        if (v < fields[f].min || v > fields[f].max)
            return vg_err_set(e, VG_EINVAL, "value %ld out of range %d-%d in the %s field", v,
                              fields[f].min, fields[f].max, fields[f].name);
        *out = (int)v;
        return VG_OK;
    }
    int v = name_value(f, s, n);
    if (v < 0)
        return vg_err_set(e, VG_EINVAL, "invalid value '%.*s' in the %s field", (int)n, s,
                          fields[f].name);
    *out = v;
    return VG_OK;
}

/* One comma-separated part: "*", "?", "a", "a-b", each optionally "/step". */
static int parse_part(int f, const char *s, size_t n, vset *set, vg_err *e)
{
    const field_def *d = &fields[f];
    const char *slash = memchr(s, '/', n);
    size_t head = slash ? (size_t)(slash - s) : n;
    int lo = d->min, hi = d->max, step = 1;
    if (slash) {
        size_t sn = n - head - 1;
        long v = 0;
        if (sn == 0)
            return vg_err_set(e, VG_EINVAL, "missing step after '/' in the %s field", d->name);
        for (size_t i = 0; i < sn; i++) {
            if (!isdigit((unsigned char)slash[1 + i]) || v > 100000)
                return vg_err_set(e, VG_EINVAL, "invalid step '%.*s' in the %s field", (int)sn,
                                  slash + 1, d->name);
            v = v * 10 + (slash[1 + i] - '0');
        }
        if (v == 0)
            return vg_err_set(e, VG_EINVAL, "step 0 in the %s field", d->name);
        step = (int)(v > 1000 ? 1000 : v);
    }
    if (head == 1 && (s[0] == '*' || s[0] == '?')) {
        /* all values */
    } else {
        const char *dash = memchr(s, '-', head);
        int rc;
        if (dash) {
            if ((rc = parse_value(f, s, (size_t)(dash - s), &lo, e)) ||
                (rc = parse_value(f, dash + 1, head - (size_t)(dash - s) - 1, &hi, e)))
                return rc;
            if (lo > hi)
                return vg_err_set(e, VG_EINVAL, "range %d-%d is backwards in the %s field", lo, hi,
                                  d->name);
        } else {
            if ((rc = parse_value(f, s, head, &lo, e)) != VG_OK)
                return rc;
            /* "a/n" runs from a to the end of the field; a bare "a" is just a. */
            hi = slash ? d->max : lo;
        }
    }
    for (int v = lo; v <= hi; v += step)
        vset_add(set, v - d->min);
    return VG_OK;
}

static int parse_field(int f, const char *s, size_t n, vset *set, vg_err *e)
{
    memset(set, 0, sizeof *set);
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        int rc = parse_part(f, s + start, i - start, set, e);
        if (rc != VG_OK)
            return rc;
        start = i + 1;
    }
    return VG_OK;
}

static const struct {
    const char *name, *expr;
} shortcuts[] = {
    {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
    {"@weekly", "0 0 0 * * 1"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
    {"@hourly", "0 0 * * * *"},
};

int engine_cron_parse(const char *s, engine_cron *out, vg_err *e)
{
    memset(out, 0, sizeof *out);
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    for (size_t i = 0; i < sizeof shortcuts / sizeof shortcuts[0]; i++)
        if (len == strlen(shortcuts[i].name) && strncasecmp(s, shortcuts[i].name, len) == 0)
            return engine_cron_parse(shortcuts[i].expr, out, e);
    const char *tok[F_COUNT + 1];
    size_t tlen[F_COUNT + 1];
    int nf = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        if (i >= len)
            break;
        size_t j = i;
        while (j < len && !isspace((unsigned char)s[j]))
            j++;
        if (nf == F_COUNT)
            return vg_err_set(e, VG_EINVAL,
                              "too many fields: a cron expression has 6 or 7 (seconds, minutes, "
                              "hours, day of month, month, day of week[, year])");
        tok[nf] = s + i;
        tlen[nf++] = j - i;
        i = j;
    }
    if (nf < 6)
        return vg_err_set(e, VG_EINVAL,
                          "expected 6 or 7 fields (seconds, minutes, hours, day of month, month, "
                          "day of week[, year]), found %d",
                          nf);
    vset sets[F_COUNT];
    for (int f = 0; f < nf; f++) {
        int rc = parse_field(f, tok[f], tlen[f], &sets[f], e);
        if (rc != VG_OK)
            return rc;
    }
    out->sec = sets[F_SEC].w[0];
    out->min = sets[F_MIN].w[0];
    out->hour = (uint32_t)sets[F_HOUR].w[0];
    out->dom = (uint32_t)sets[F_DOM].w[0];
    out->month = (uint16_t)sets[F_MONTH].w[0];
    out->dow = (uint8_t)sets[F_DOW].w[0]; /* bit 0 = value 1 = Sunday */
    out->any_year = nf == 6;
    if (nf == 7) {
        out->years[0] = sets[F_YEAR].w[0];
        out->years[1] = sets[F_YEAR].w[1];
        out->years[2] = sets[F_YEAR].w[2];
    }
    return VG_OK;
}

/* ---- civil calendar (proleptic Gregorian, UTC) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static bool year_ok(const engine_cron *c, int64_t y)
{
    if (y < ENGINE_CRON_FIRST_YEAR || y > ENGINE_CRON_LAST_YEAR)
        return false;
    if (c->any_year)
        return true;
    int i = (int)(y - ENGINE_CRON_FIRST_YEAR);
    return (c->years[i >> 6] >> (i & 63)) & 1;
}

int64_t engine_cron_next(const engine_cron *c, int64_t after_s)
{
    int64_t t = after_s + 1;
    if (t < 0)
        t = 0;
    /* Each step below jumps to the start of the next candidate year, month, day, hour
     * or minute, so even an expression that never fires ends after ~50k day steps. */
    for (;;) {
        int64_t days = t / 86400, sod = t % 86400;
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y > ENGINE_CRON_LAST_YEAR)
            return -1;
        if (!year_ok(c, y)) {
            t = days_from_civil(y + 1, 1, 1) * 86400;
            continue;
        }
        if (!((c->month >> (m - 1)) & 1)) {
            t = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) * 86400;
            continue;
        }
        unsigned dow = (unsigned)((days % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
        if (d > days_in_month(y, m) || !((c->dom >> (d - 1)) & 1) || !((c->dow >> dow) & 1)) {
            t = (days + 1) * 86400;
            continue;
        }
        unsigned h = (unsigned)(sod / 3600), mi = (unsigned)(sod / 60 % 60),
                 s = (unsigned)(sod % 60);
        if (!((c->hour >> h) & 1)) {
            t = days * 86400 + (int64_t)(h + 1) * 3600;
            continue;
        }
        if (!((c->min >> mi) & 1)) {
            t = days * 86400 + (int64_t)h * 3600 + (int64_t)(mi + 1) * 60;
            continue;
        }
        if (!((c->sec >> s) & 1)) {
            t++;
            continue;
        }
        return t;
    }
}

int64_t engine_every_next(int64_t every_ns, int64_t now_ns)
{
    if (every_ns <= 0)
        return now_ns;
    int64_t q = now_ns / every_ns;
    if (now_ns < 0 && now_ns % every_ns)
        q--; /* floor, not truncation, before the epoch */
    return (q + 1) * every_ns;
}
