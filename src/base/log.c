/* base/log.c: leveled logging to stderr with a `--log-filter` of per-module levels.
 *
 * Lines look like `2026-11-21T22:40:01.123Z INFO  wal: message`. One write(2) per
 * line, so lines from threads never interleave. */
#include "base.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_OVERRIDES 16

typedef struct module_level {
    char module[32];
    vg_log_level level;
} module_level;

static vg_log_level default_level = VG_LOG_INFO;
static module_level overrides[MAX_OVERRIDES];
static int n_overrides;

static const char *level_names[] = {"error", "warn", "info", "debug", "trace"};

static int parse_level(const char *s, size_t n, vg_log_level *out)
{
    for (int i = 0; i <= VG_LOG_TRACE; i++)
        if (strlen(level_names[i]) == n && strncmp(level_names[i], s, n) == 0) {
            *out = (vg_log_level)i;
            return VG_OK;
        }
    return VG_EINVAL;
}

int vg_log_set_filter(const char *filter, vg_err *e)
{
    vg_log_level def = VG_LOG_INFO;
    module_level ov[MAX_OVERRIDES];
    int nov = 0;
    const char *p = filter;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq) {
            if (parse_level(p, n, &def) != VG_OK)
                goto bad;
        } else {
            size_t mlen = (size_t)(eq - p);
            if (nov == MAX_OVERRIDES || mlen == 0 || mlen >= sizeof ov[0].module ||
                parse_level(eq + 1, n - mlen - 1, &ov[nov].level) != VG_OK)
                goto bad;
            memcpy(ov[nov].module, p, mlen);
            ov[nov].module[mlen] = '\0';
            nov++;
        }
        p += n + (end ? 1 : 0);
    }
    default_level = def;
    memcpy(overrides, ov, sizeof ov);
    n_overrides = nov;
    return VG_OK;
bad:
    return vg_err_set(e, VG_EINVAL,
                      "invalid log filter '%s': expected a level (error, warn, info, debug, "
                      "trace) optionally followed by module=level pairs, e.g. 'info,wal=debug'",
                      filter);
}

bool vg_log_enabled(vg_log_level level, const char *module)
{
    for (int i = 0; i < n_overrides; i++)
        if (strcmp(overrides[i].module, module) == 0)
            return level <= overrides[i].level;
    return level <= default_level;
}

void vg_log(vg_log_level level, const char *module, const char *fmt, ...)
{
    if (!vg_log_enabled(level, module))
        return;
    char line[2048];
    size_t n = vg_format_timestamp(vg_now_ns() / VG_NS_PER_MS * VG_NS_PER_MS, true, line);
    static const char *tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};
    n += (size_t)snprintf(line + n, sizeof line - n, " %s %s: ", tags[level], module);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
