/*
 * lineproto/build.c: the line-protocol builder, the parser's reverse.
 *
 * It escapes exactly what the parser unescapes, so that parse -> build -> parse is
 * the identity. What line protocol cannot carry at all (NaN and infinite floats,
 * empty names, newlines, tabs in names, a measurement starting with `#`) is noted
 * when it is added and reported by lp_build_end, which then removes the half-built
 * line from the buffer so the lines before it stay usable.
 */
#include "lineproto/lineproto.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum {
    E_MEAS = 1 << 0, /* escaped in a measurement: , SP \ */
    E_NAME = 1 << 1, /* escaped in tag keys, tag values, field keys: , = SP \ */
    E_STR = 1 << 2,  /* escaped in string field values: " \ */
    X_MEAS = 1 << 3, /* cannot appear in a measurement: NUL \t \n */
    X_NAME = 1 << 4, /* cannot appear in keys and tag values: \t \n */
    X_STR = 1 << 5,  /* cannot appear in a string value: \n */
};

static const uint8_t etab[256] = {
    [0] = X_MEAS,
    ['\t'] = X_MEAS | X_NAME,
    ['\n'] = X_MEAS | X_NAME | X_STR,
    [' '] = E_MEAS | E_NAME,
    [','] = E_MEAS | E_NAME,
    ['='] = E_NAME,
    ['"'] = E_STR,
    ['\\'] = E_MEAS | E_NAME | E_STR,
};

static void problem(lp_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keeps the first problem of the line; lp_build_end reports it. */
static void problem(lp_builder *b, const char *fmt, ...)
{
    if (b->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
}

static const char *char_name(uint8_t c)
{
    switch (c) {
    case '\n': return "a newline";
    case '\t': return "a tab";
    default: return "a NUL byte";
    }
}

/* Names in messages are cut short; the caller knows which one it passed. */
#define SHOWN(len) ((int)((len) > 40 ? 40 : (len)))

/* Checks an element before it is written: non-empty (unless it is a string value),
 * no byte from `forbid`, and within the parser's length cap once escaped. */
static bool check(lp_builder *b, const char *what, const char *s, size_t len, uint8_t esc,
                  uint8_t forbid)
{
    if (len == 0 && forbid != X_STR) {
        problem(b, "%s is empty: line protocol needs at least one byte", what);
        return false;
    }
    size_t escaped_len = len;
    for (size_t i = 0; i < len; i++) {
        uint8_t k = etab[(uint8_t)s[i]];
        if (k & forbid) {
            problem(b, "%s `%.*s` contains %s, which line protocol cannot carry", what, SHOWN(len),
                    s, char_name((uint8_t)s[i]));
            return false;
        }
        escaped_len += (k & esc) != 0;
    }
    if (escaped_len > VG_LIMIT_LP_STRING_BYTES) {
        problem(b, "%s `%.*s...` is greater than 1MB", what, SHOWN(len), s);
        return false;
    }
    return true;
}

static void put_escaped(vg_buf *out, const char *s, size_t len, uint8_t esc)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (etab[(uint8_t)s[i]] & esc) {
            vg_buf_append(out, s + run, i - run);
            vg_buf_putc(out, '\\');
            run = i;
        }
    }
    vg_buf_append(out, s + run, len - run);
}

void lp_builder_init(lp_builder *b, vg_buf *out)
{
    memset(b, 0, sizeof *b);
    b->out = out;
}

void lp_build_measurement(lp_builder *b, const char *name, size_t len)
{
    if (b->state != 0) {
        problem(b, "a measurement was started before the previous line was ended");
        return;
    }
    b->line_start = b->out->len;
    b->state = 1;
    b->ntags = 0;
    b->nfields = 0;
    if (b->any_line)
        vg_buf_putc(b->out, '\n');
    if (!check(b, "measurement", name, len, E_MEAS, X_MEAS))
        return;
    if (name[0] == '#') {
        problem(b, "measurement `%.*s` starts with `#`, which line protocol reads as a comment",
                SHOWN(len), name);
        return;
    }
    put_escaped(b->out, name, len, E_MEAS);
}

void lp_build_tag(lp_builder *b, const char *key, size_t klen, const char *val, size_t vlen)
{
    if (b->state != 1) {
        problem(b, "tag `%.*s` was added %s", SHOWN(klen), key,
                b->state == 0 ? "before a measurement" : "after a field");
        return;
    }
    if (b->err[0] || !check(b, "tag key", key, klen, E_NAME, X_NAME) ||
        !check(b, "tag value", val, vlen, E_NAME, X_NAME))
        return;
    if (b->ntags == VG_LIMIT_LP_TAGS_PER_LINE) {
        problem(b, "too many tags: a line may have at most %d", VG_LIMIT_LP_TAGS_PER_LINE);
        return;
    }
    b->ntags++;
    vg_buf_putc(b->out, ',');
    put_escaped(b->out, key, klen, E_NAME);
    vg_buf_putc(b->out, '=');
    put_escaped(b->out, val, vlen, E_NAME);
}

/* Writes the separator and `key=` of a field; false when the line is already bad. */
static bool field_begin(lp_builder *b, const char *key, size_t klen)
{
    if (b->state == 0) {
        problem(b, "field `%.*s` was added before a measurement", SHOWN(klen), key);
        return false;
    }
    if (b->err[0] || !check(b, "field key", key, klen, E_NAME, X_NAME))
        return false;
    if (b->nfields == VG_LIMIT_LP_FIELDS_PER_LINE) {
        problem(b, "too many fields: a line may have at most %d", VG_LIMIT_LP_FIELDS_PER_LINE);
        return false;
    }
    vg_buf_putc(b->out, b->nfields ? ',' : ' ');
    put_escaped(b->out, key, klen, E_NAME);
    vg_buf_putc(b->out, '=');
    b->state = 2;
    b->nfields++;
    return true;
}

void lp_build_float(lp_builder *b, const char *key, size_t klen, double v)
{
    if (!isfinite(v)) {
        problem(b, "field `%.*s` is %s: line protocol cannot carry NaN or infinite floats",
                SHOWN(klen), key, isnan(v) ? "NaN" : "infinite");
        return;
    }
    if (!field_begin(b, key, klen))
        return;
    /* Shortest round-trip form; "%g" never writes ".5" or "5.", and "1" reads back as
     * a float because floats carry no suffix. */
    char num[32];
    vg_buf_append(b->out, num, vg_fmt_f64(v, num));
}

void lp_build_int(lp_builder *b, const char *key, size_t klen, int64_t v)
{
    if (!field_begin(b, key, klen))
        return;
    char num[24];
    size_t n = vg_fmt_i64(v, num);
    num[n++] = 'i';
    vg_buf_append(b->out, num, n);
}

void lp_build_uint(lp_builder *b, const char *key, size_t klen, uint64_t v)
{
    if (!field_begin(b, key, klen))
        return;
    char num[24];
    size_t n = vg_fmt_u64(v, num);
    num[n++] = 'u';
    vg_buf_append(b->out, num, n);
}

void lp_build_bool(lp_builder *b, const char *key, size_t klen, bool v)
{
    if (field_begin(b, key, klen))
        vg_buf_putc(b->out, v ? 't' : 'f');
}

void lp_build_string(lp_builder *b, const char *key, size_t klen, const char *v, size_t vlen)
{
    if (b->state != 0 && !check(b, "string field value", v, vlen, E_STR, X_STR))
        return;
    if (!field_begin(b, key, klen))
        return;
    vg_buf_putc(b->out, '"');
    put_escaped(b->out, v, vlen, E_STR);
    vg_buf_putc(b->out, '"');
}

int lp_build_end(lp_builder *b, bool has_time, int64_t time, vg_err *e)
{
    if (!b->err[0]) {
        if (b->state == 0)
            problem(b, "a line was ended before it had a measurement");
        else if (b->nfields == 0)
            problem(b, "line has no field: line protocol needs at least one");
    }
    if (b->err[0]) {
        /* Drop the half-built line (and the '\n' before it). */
        if (b->state != 0) {
            b->out->len = b->line_start;
            if (b->out->data)
                b->out->data[b->out->len] = '\0';
        }
        b->state = 0;
        vg_err_set(e, VG_EINVAL, "%s", b->err);
        b->err[0] = '\0';
        return VG_EINVAL;
    }
    if (has_time) {
        char num[24];
        num[0] = ' ';
        vg_buf_append(b->out, num, 1 + vg_fmt_i64(time, num + 1));
    }
    b->state = 0;
    if (b->out->oom)
        return vg_err_set(e, VG_ENOMEM, "out of memory building line protocol");
    b->any_line = true;
    return VG_OK;
}
