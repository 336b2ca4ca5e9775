/* engine/spec.c: trigger specifications ("table:cpu", "all_tables", "every:10s",
 * "cron:0 0 8 * * *", "request:hello") and trigger arguments ("k=v,k2=v2").
 *
 * Parsing is the engine's (the catalog stores the text it accepted), with Core's
 * error message for an unknown form and a precise one for a bad duration, cron
 * expression or path. */
#include "engine_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char FORMS[] = "expect one of the following forms: 'table:<TABLE_NAME>', "
                            "'all_tables', 'cron:<CRON_EXPRESSION>', 'every:<DURATION>', or "
                            "'request:<PATH>'";

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Request paths become URL paths under /api/v3/engine/: plain characters only, no
 * empty or dot segments, so one path maps to exactly one trigger. */
static int check_request_path(const char *p, vg_err *e)
{
    if (!*p)
        return vg_err_set(e, VG_EINVAL, "request trigger path cannot be empty");
    if (p[0] == '/')
        return vg_err_set(e, VG_EINVAL,
                          "request trigger path '%s' must not start with '/': it is relative to "
                          "/api/v3/engine/",
                          p);
    for (const char *s = p; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == '~'))
            return vg_err_set(e, VG_EINVAL,
                              "request trigger path '%s' may contain only letters, digits, '-', "
                              "'_', '.', '~' and '/'",
                              p);
    }
    const char *seg = p;
    for (const char *s = p;; s++) {
        if (*s == '/' || *s == '\0') {
            size_t n = (size_t)(s - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return vg_err_set(e, VG_EINVAL,
                                  "request trigger path '%s' has an empty, '.' or '..' segment", p);
            if (!*s)
                break;
            seg = s + 1;
        }
    }
    return VG_OK;
}

int engine_spec_parse(const char *in, engine_spec *out, vg_err *e)
{
    memset(out, 0, sizeof *out);
    while (isspace((unsigned char)*in))
        in++;
    size_t len = strlen(in);
    while (len && isspace((unsigned char)in[len - 1]))
        len--;
    if (len >= sizeof out->text)
        return vg_err_set(e, VG_EINVAL, "trigger specification too long: max %zu bytes",
                          sizeof out->text - 1);
    memcpy(out->text, in, len);
    out->text[len] = '\0';
    const char *s = out->text;
    if (strcmp(s, "all_tables") == 0) {
        out->kind = ENGINE_SPEC_ALL_TABLES;
        return VG_OK;
    }
    if (has_prefix(s, "table:") && s[6]) {
        out->kind = ENGINE_SPEC_TABLE;
        out->arg = s + 6;
        return VG_OK;
    }
    if (has_prefix(s, "every:") && s[6]) {
        out->kind = ENGINE_SPEC_EVERY;
        out->arg = s + 6;
        vg_err de;
        if (vg_parse_duration(out->arg, strlen(out->arg), &out->every_ns, &de) != VG_OK)
            return vg_err_set(e, VG_EINVAL, "failed to parse trigger from %s: %s", s, de.msg);
        if (out->every_ns <= 0)
            return vg_err_set(e, VG_EINVAL,
                              "failed to parse trigger from %s: the interval must "
                              "be longer than zero",
                              s);
        if (out->every_ns > ENGINE_EVERY_MAX_NS)
            return vg_err_set(e, VG_EINVAL,
                              "failed to parse trigger from %s: schedule duration cannot be "
                              "greater than 1 year",
                              s);
        return VG_OK;
    }
    if (has_prefix(s, "cron:") && s[5]) {
        out->kind = ENGINE_SPEC_CRON;
        out->arg = s + 5;
        vg_err ce;
        if (engine_cron_parse(out->arg, &out->cron, &ce) != VG_OK)
            return vg_err_set(e, VG_EINVAL,
                              "failed to parse trigger from %s: invalid cron "
                              "syntax: %s",
                              s, ce.msg);
        if (engine_cron_next(&out->cron, vg_now_ns() / VG_NS_PER_SEC) < 0)
            return vg_err_set(e, VG_EINVAL,
                              "failed to parse trigger from %s: cron schedule "
                              "never triggers",
                              s);
        return VG_OK;
    }
    if (has_prefix(s, "request:") && s[8]) {
        out->kind = ENGINE_SPEC_REQUEST;
        out->arg = s + 8;
        vg_err pe;
        if (check_request_path(out->arg, &pe) != VG_OK)
            return vg_err_set(e, VG_EINVAL, "failed to parse trigger from %s: %s", s, pe.msg);
        return VG_OK;
    }
    return vg_err_set(e, VG_EINVAL, "failed to parse trigger from %s: %s", s, FORMS);
}

bool engine_spec_is_schedule(const engine_spec *s)
{
    return s->kind == ENGINE_SPEC_EVERY || s->kind == ENGINE_SPEC_CRON;
}

bool engine_spec_is_wal(const engine_spec *s)
{
    return s->kind == ENGINE_SPEC_TABLE || s->kind == ENGINE_SPEC_ALL_TABLES;
}

/* ---- arguments ---- */

void engine_args_free(char **keys, char **vals, int n)
{
    for (int i = 0; i < n; i++) {
        vg_free(keys ? keys[i] : NULL);
        vg_free(vals ? vals[i] : NULL);
    }
    vg_free(keys);
    vg_free(vals);
}

int engine_args_parse(const char *s, char ***keys_out, char ***vals_out, vg_err *e)
{
    *keys_out = *vals_out = NULL;
    int cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **keys = vg_calloc((size_t)cap, sizeof *keys),
         **vals = vg_calloc((size_t)cap, sizeof *vals);
    int n = 0;
    if (!keys || !vals)
        goto oom;
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ',');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        if (plen == 0) {
            p += end ? 1 : 0;
            if (!end)
                break;
            continue;
        }
        if (!eq || eq == p) {
            vg_err_set(e, VG_EINVAL, "invalid trigger argument '%.*s': expected key=value",
                       (int)plen, p);
            engine_args_free(keys, vals, n);
            return -1;
        }
        keys[n] = vg_strndup(p, (size_t)(eq - p));
        vals[n] = vg_strndup(eq + 1, plen - (size_t)(eq - p) - 1);
        n++;
        if (!keys[n - 1] || !vals[n - 1])
            goto oom;
        if (!end)
            break;
        p = end + 1;
    }
    *keys_out = keys;
    *vals_out = vals;
    return n;
oom:
    engine_args_free(keys, vals, n);
    vg_err_set(e, VG_ENOMEM, "out of memory parsing trigger arguments");
    return -1;
}
