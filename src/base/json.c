/* base/json.c: a streaming JSON writer into a vg_buf (commas tracked per depth). */
#include "base.h"

#include <math.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

void vg_json_str(vg_buf *b, const char *s, size_t len)
{
    if (!vg_buf_reserve(b, len + 2))
        return;
    vg_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        vg_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': vg_buf_append(b, "\\\"", 2); break;
        case '\\': vg_buf_append(b, "\\\\", 2); break;
        case '\n': vg_buf_append(b, "\\n", 2); break;
        case '\r': vg_buf_append(b, "\\r", 2); break;
        case '\t': vg_buf_append(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            vg_buf_append(b, u, 6);
        }
        }
    }
    vg_buf_append(b, s + run, len - run);
    vg_buf_putc(b, '"');
}

void vg_jw_init(vg_jw *w, vg_buf *b)
{
    w->b = b;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
}

/* Emits the comma a new value needs, unless it follows its key. */
static void value_prefix(vg_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        vg_buf_putc(w->b, ',');
    w->first[w->depth] = false;
}

static void open(vg_jw *w, char c)
{
    value_prefix(w);
    vg_buf_putc(w->b, c);
    if (w->depth + 1 < VG_JSON_MAX_DEPTH)
        w->depth++;
    w->first[w->depth] = true;
}

static void close_(vg_jw *w, char c)
{
    vg_buf_putc(w->b, c);
    if (w->depth > 0)
        w->depth--;
}

void vg_jw_obj_begin(vg_jw *w) { open(w, '{'); }
void vg_jw_obj_end(vg_jw *w) { close_(w, '}'); }
void vg_jw_arr_begin(vg_jw *w) { open(w, '['); }
void vg_jw_arr_end(vg_jw *w) { close_(w, ']'); }

void vg_jw_key(vg_jw *w, const char *k)
{
    value_prefix(w);
    vg_json_str(w->b, k, strlen(k));
    vg_buf_putc(w->b, ':');
    w->after_key = true;
}

void vg_jw_strn(vg_jw *w, const char *s, size_t len)
{
    value_prefix(w);
    vg_json_str(w->b, s, len);
}

void vg_jw_str(vg_jw *w, const char *s) { vg_jw_strn(w, s, strlen(s)); }

void vg_jw_i64(vg_jw *w, int64_t v)
{
    char tmp[24];
    value_prefix(w);
    vg_buf_append(w->b, tmp, vg_fmt_i64(v, tmp));
}

void vg_jw_u64(vg_jw *w, uint64_t v)
{
    char tmp[24];
    value_prefix(w);
    vg_buf_append(w->b, tmp, vg_fmt_u64(v, tmp));
}

void vg_jw_f64(vg_jw *w, double v)
{
    char tmp[32];
    value_prefix(w);
    if (!isfinite(v)) {
        vg_buf_puts(w->b, "null");
        return;
    }
    vg_buf_append(w->b, tmp, vg_fmt_f64(v, tmp));
}

void vg_jw_bool(vg_jw *w, bool v)
{
    value_prefix(w);
    vg_buf_puts(w->b, v ? "true" : "false");
}

void vg_jw_null(vg_jw *w)
{
    value_prefix(w);
    vg_buf_puts(w->b, "null");
}
