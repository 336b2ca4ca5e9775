/* base/time.c: clocks, human durations and RFC 3339 timestamps (always UTC). */
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t vg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * VG_NS_PER_SEC + ts.tv_nsec;
}

int64_t vg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * VG_NS_PER_SEC + ts.tv_nsec;
}

void vg_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {ns / VG_NS_PER_SEC, ns % VG_NS_PER_SEC};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- durations ---- */

typedef struct unit_name {
    const char *name;
    int64_t ns;
} unit_name;

static const unit_name units[] = {
    {"ns", 1}, {"nsec", 1}, {"nanosecond", 1}, {"nanoseconds", 1},
    {"us", 1000}, {"µs", 1000}, {"usec", 1000}, {"microsecond", 1000}, {"microseconds", 1000},
    {"ms", VG_NS_PER_MS}, {"msec", VG_NS_PER_MS}, {"millisecond", VG_NS_PER_MS},
    {"milliseconds", VG_NS_PER_MS},
    {"s", VG_NS_PER_SEC}, {"sec", VG_NS_PER_SEC}, {"secs", VG_NS_PER_SEC},
    {"second", VG_NS_PER_SEC}, {"seconds", VG_NS_PER_SEC},
    {"m", 60 * VG_NS_PER_SEC}, {"min", 60 * VG_NS_PER_SEC}, {"mins", 60 * VG_NS_PER_SEC},
    {"minute", 60 * VG_NS_PER_SEC}, {"minutes", 60 * VG_NS_PER_SEC},
    {"h", 3600 * VG_NS_PER_SEC}, {"hr", 3600 * VG_NS_PER_SEC}, {"hrs", 3600 * VG_NS_PER_SEC},
    {"hour", 3600 * VG_NS_PER_SEC}, {"hours", 3600 * VG_NS_PER_SEC},
    {"d", 86400 * VG_NS_PER_SEC}, {"day", 86400 * VG_NS_PER_SEC}, {"days", 86400 * VG_NS_PER_SEC},
    {"w", 7 * 86400 * VG_NS_PER_SEC}, {"week", 7 * 86400 * VG_NS_PER_SEC},
    {"weeks", 7 * 86400 * VG_NS_PER_SEC},
    {"mo", 30 * 86400 * VG_NS_PER_SEC}, {"month", 30 * 86400 * VG_NS_PER_SEC},
    {"months", 30 * 86400 * VG_NS_PER_SEC},
    {"y", 365 * 86400 * VG_NS_PER_SEC}, {"year", 365 * 86400 * VG_NS_PER_SEC},
    {"years", 365 * 86400 * VG_NS_PER_SEC},
};

static bool is_unit_char(char c) { return (c >= 'a' && c <= 'z') || (c & 0x80); }

int vg_parse_duration(const char *s, size_t len, int64_t *out, vg_err *e)
{
    size_t i = 0;
    int64_t total = 0;
    bool any = false;
    while (i < len && s[i] == ' ')
        i++;
    if (len - i == 1 && s[i] == '0') {
        *out = 0;
        return VG_OK;
    }
    while (i < len) {
        if (s[i] < '0' || s[i] > '9')
            return vg_err_set(e, VG_EINVAL,
                              "invalid duration '%.*s': expected a number at position %zu",
                              (int)len, s, i + 1);
        uint64_t n = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n > (uint64_t)INT64_MAX / 10)
                return vg_err_set(e, VG_EINVAL, "invalid duration '%.*s': number too large",
                                  (int)len, s);
            n = n * 10 + (uint64_t)(s[i++] - '0');
        }
        while (i < len && s[i] == ' ')
            i++;
        size_t u0 = i;
        while (i < len && is_unit_char(s[i]))
            i++;
        size_t ulen = i - u0;
        int64_t mult = -1;
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
            if (strlen(units[k].name) == ulen && memcmp(units[k].name, s + u0, ulen) == 0)
                mult = units[k].ns;
        if (mult < 0)
            return vg_err_set(e, VG_EINVAL,
                              "invalid duration '%.*s': unknown unit '%.*s' (use ns, us, ms, s, "
                              "m, h, d, w, mo or y)",
                              (int)len, s, (int)ulen, s + u0);
        if (n > (uint64_t)(INT64_MAX / mult) || total > INT64_MAX - (int64_t)n * mult)
            return vg_err_set(e, VG_EINVAL, "invalid duration '%.*s': too large", (int)len, s);
        total += (int64_t)n * mult;
        any = true;
        while (i < len && s[i] == ' ')
            i++;
    }
    if (!any)
        return vg_err_set(e, VG_EINVAL, "invalid duration '%.*s': empty", (int)len, s);
    *out = total;
    return VG_OK;
}

size_t vg_format_duration(int64_t ns, char *out)
{
    static const struct {
        const char *name;
        int64_t ns;
    } parts[] = {{"d", 86400 * VG_NS_PER_SEC}, {"h", 3600 * VG_NS_PER_SEC},
                 {"m", 60 * VG_NS_PER_SEC},    {"s", VG_NS_PER_SEC},
                 {"ms", VG_NS_PER_MS},         {"us", VG_NS_PER_US},
                 {"ns", 1}};
    size_t n = 0;
    if (ns <= 0)
        return (size_t)sprintf(out, "0s");
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        if (ns >= parts[k].ns) {
            n += (size_t)sprintf(out + n, "%lld%s", (long long)(ns / parts[k].ns), parts[k].name);
            ns %= parts[k].ns;
        }
    }
    return n;
}

/* ---- timestamps ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
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

static bool read_digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return false;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return true;
}

int vg_parse_timestamp(const char *s, size_t len, int64_t *out, vg_err *e)
{
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    if (!read_digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' ||
        !read_digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-' ||
        !read_digits(s, len, &i, 2, &d))
        goto bad;
    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (!read_digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
            !read_digits(s, len, &i, 2, &mi))
            goto bad;
        if (i < len && s[i] == ':') {
            i++;
            if (!read_digits(s, len, &i, 2, &sec))
                goto bad;
            if (i < len && s[i] == '.') {
                i++;
                int digits = 0;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    if (digits < 9) {
                        frac = frac * 10 + (s[i] - '0');
                        digits++;
                    }
                    i++;
                }
                if (digits == 0)
                    goto bad;
                while (digits++ < 9)
                    frac *= 10;
            }
        }
    }
    int64_t offset_s = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
        if (!read_digits(s, len, &i, 2, &oh))
            goto bad;
        if (i < len && s[i] == ':')
            i++;
        if (i < len && !read_digits(s, len, &i, 2, &om))
            goto bad;
        offset_s = sign * (oh * 3600 + om * 60);
    }
    if (i != len || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        goto bad;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (secs > INT64_MAX / VG_NS_PER_SEC - 1 || secs < INT64_MIN / VG_NS_PER_SEC + 1)
        goto bad;
    *out = secs * VG_NS_PER_SEC + frac;
    return VG_OK;
bad:
    return vg_err_set(e, VG_EINVAL,
                      "invalid timestamp '%.*s': expected RFC 3339, e.g. 2026-01-01T00:00:00Z",
                      (int)(len > 64 ? 64 : len), s);
}

size_t vg_format_timestamp(int64_t ns, bool zulu, char *out)
{
    int64_t secs = ns / VG_NS_PER_SEC, frac = ns % VG_NS_PER_SEC;
    if (frac < 0) {
        frac += VG_NS_PER_SEC;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = sprintf(out, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d, (int)(rem / 3600),
                    (int)(rem % 3600 / 60), (int)(rem % 60));
    if (frac) {
        if (frac % 1000000 == 0)
            n += sprintf(out + n, ".%03lld", (long long)(frac / 1000000));
        else if (frac % 1000 == 0)
            n += sprintf(out + n, ".%06lld", (long long)(frac / 1000));
        else
            n += sprintf(out + n, ".%09lld", (long long)frac);
    }
    if (zulu)
        out[n++] = 'Z';
    out[n] = '\0';
    return (size_t)n;
}
