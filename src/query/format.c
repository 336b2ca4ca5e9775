/*
 * query/format.c: the result formats of query_sql (JSON array, JSON lines, CSV,
 * pretty table; Parquet is format_parquet.c, dispatched from here) over qbatches, and
 * the value renderers they share. See
 * format_int.h for the exact renderings; they follow InfluxDB 3 Core, whose output
 * comes from arrow-json, arrow-csv and arrow's pretty printer.
 *
 * JSON is the hot path of large results: column keys are escaped once per query,
 * values are written straight into the output buffer after one capacity check, floats
 * take a fast exact path for the short decimals sensors produce, and timestamps reuse
 * the date of the previous row.
 */
#include "format_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output buffer ---- */

/* Room for n more bytes plus the NUL vg_buf keeps; false once out of memory. */
static inline bool room(vg_buf *b, size_t n)
{
    return (!b->oom && b->cap - b->len > n) || vg_buf_reserve(b, n);
}

static inline void put_raw(vg_buf *b, const char *s, size_t n)
{
    if (n) /* memcpy from a NULL empty string is undefined */
        memcpy(b->data + b->len, s, n);
    b->len += n;
}

static inline bool put(vg_buf *b, const char *s, size_t n)
{
    if (n == 0)
        return !b->oom;
    if (!room(b, n))
        return false;
    put_raw(b, s, n);
    return true;
}

static inline bool put_c(vg_buf *b, char c)
{
    if (!room(b, 1))
        return false;
    b->data[b->len++] = c;
    return true;
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

static int out_of_memory(vg_buf *b, vg_err *e)
{
    if (b->data)
        b->data[b->len] = '\0';
    return vg_err_set(e, VG_ENOMEM, "out of memory formatting the query result");
}

static int finish(vg_buf *b, vg_err *e)
{
    if (b->oom)
        return out_of_memory(b, e);
    if (b->data)
        b->data[b->len] = '\0';
    return VG_OK;
}

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

static inline void two_digits(char *out, unsigned v)
{
    out[0] = digit_pairs[2 * v];
    out[1] = digit_pairs[2 * v + 1];
}

/* Decimal digits of v, two at a time (half the divisions of base's vg_fmt_u64: this
 * prints every number of a result). Returns the count; out needs 20 bytes. */
static size_t u64_digits(uint64_t v, char *out)
{
    char tmp[20];
    size_t i = sizeof tmp;
    while (v >= 100) {
        i -= 2;
        two_digits(tmp + i, (unsigned)(v % 100));
        v /= 100;
    }
    if (v >= 10) {
        i -= 2;
        two_digits(tmp + i, (unsigned)v);
    } else {
        tmp[--i] = (char)('0' + v);
    }
    memcpy(out, tmp + i, sizeof tmp - i);
    return sizeof tmp - i;
}

static size_t i64_digits(int64_t v, char *out)
{
    if (v >= 0)
        return u64_digits((uint64_t)v, out);
    out[0] = '-';
    return 1 + u64_digits((uint64_t)0 - (uint64_t)v, out + 1);
}

/* Exactly `width` digits of v, zero-padded. */
static void fixed_digits(char *out, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* ---- floats ---- */

/* lexical-core's layout: plain notation for exponents -5..9, else d.ddde±x, and
 * always a fractional part or an exponent so the value reads as a float. */
size_t qfmt_f64(double v, char *out)
{
    if (isnan(v)) {
        memcpy(out, "NaN", 3);
        return 3;
    }
    size_t k = 0;
    if (signbit(v)) {
        out[k++] = '-';
        v = -v;
    }
    if (isinf(v)) {
        memcpy(out + k, "inf", 3);
        return k + 3;
    }
    if (v == 0) {
        memcpy(out + k, "0.0", 3);
        return k + 3;
    }
    int e10;
    char d[24];
    int n = (int)u64_digits(qfmt_shortest(v, &e10), d);
    int sci = n - 1 + e10; /* the power of ten of the first digit */
    if (sci < -5 || sci > 9) {
        out[k++] = d[0];
        out[k++] = '.';
        if (n == 1)
            out[k++] = '0';
        for (int i = 1; i < n; i++)
            out[k++] = d[i];
        out[k++] = 'e';
        return k + i64_digits(sci, out + k);
    }
    if (sci < 0) {
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -sci - 1; i++)
            out[k++] = '0';
        memcpy(out + k, d, (size_t)n);
        return k + (size_t)n;
    }
    int whole = sci + 1;
    for (int i = 0; i < whole; i++)
        out[k++] = i < n ? d[i] : '0';
    out[k++] = '.';
    if (n <= whole) {
        out[k++] = '0';
        return k;
    }
    memcpy(out + k, d + whole, (size_t)(n - whole));
    return k + (size_t)(n - whole);
}

/* ---- timestamps ---- */

/* Proleptic Gregorian date of a day number (days since 1970-01-01), computed in
 * 400-year eras of 146097 days counted from 0000-03-01, so that leap days fall at
 * the end of each year of the era. */
static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

size_t qfmt_timestamp(int64_t ns, qfmt_day_cache *cache, char *out)
{
    int64_t secs = ns / VG_NS_PER_SEC, frac = ns % VG_NS_PER_SEC;
    if (frac < 0) {
        frac += VG_NS_PER_SEC;
        secs--;
    }
    int64_t day = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        day--;
    }
    qfmt_day_cache local = {INT64_MIN, {0}};
    if (!cache)
        cache = &local;
    if (cache->day != day) {
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        if (y < 0 || y > 9999) /* rare: keep base's rendering of far years */
            return vg_format_timestamp(ns, false, out);
        fixed_digits(cache->date, (uint64_t)y, 4);
        cache->date[4] = '-';
        two_digits(cache->date + 5, m);
        cache->date[7] = '-';
        two_digits(cache->date + 8, d);
        cache->day = day;
    }
    memcpy(out, cache->date, 10);
    out[10] = 'T';
    two_digits(out + 11, (unsigned)(sod / 3600));
    out[13] = ':';
    two_digits(out + 14, (unsigned)(sod / 60 % 60));
    out[16] = ':';
    two_digits(out + 17, (unsigned)(sod % 60));
    size_t n = 19;
    if (frac) {
        out[n++] = '.';
        if (frac % 1000000 == 0) {
            fixed_digits(out + n, (uint64_t)(frac / 1000000), 3);
            n += 3;
        } else if (frac % 1000 == 0) {
            fixed_digits(out + n, (uint64_t)(frac / 1000), 6);
            n += 6;
        } else {
            fixed_digits(out + n, (uint64_t)frac, 9);
            n += 9;
        }
    }
    return n;
}

/* ---- intervals ---- */

#define NS_PER_DAY (86400 * VG_NS_PER_SEC)

size_t qfmt_interval(int64_t ns, char *out)
{
    if (ns == 0) {
        memcpy(out, "0 secs", 6);
        return 6;
    }
    int64_t days = ns / NS_PER_DAY, rest = ns % NS_PER_DAY;
    int64_t secs = rest / VG_NS_PER_SEC, nanos = rest % VG_NS_PER_SEC;
    int64_t mins = secs / 60, hours = mins / 60;
    secs -= mins * 60;
    mins -= hours * 60;
    int n = 0;
    const char *sep = "";
    if (days) {
        n += snprintf(out + n, QFMT_INTERVAL_MAX - (size_t)n, "%lld days", (long long)days);
        sep = " ";
    }
    if (hours) {
        n +=
            snprintf(out + n, QFMT_INTERVAL_MAX - (size_t)n, "%s%lld hours", sep, (long long)hours);
        sep = " ";
    }
    if (mins) {
        n += snprintf(out + n, QFMT_INTERVAL_MAX - (size_t)n, "%s%lld mins", sep, (long long)mins);
        sep = " ";
    }
    if (secs || nanos)
        n += snprintf(out + n, QFMT_INTERVAL_MAX - (size_t)n, "%s%s%lld.%09lld secs", sep,
                      secs < 0 || nanos < 0 ? "-" : "", (long long)llabs(secs),
                      (long long)llabs(nanos));
    return (size_t)n;
}

/* ---- JSON ---- */

/* serde_json's escapes (arrow-json writes strings with serde_json): 0 = as is. */
static const char json_escape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b',         't',           'n', 'u',
    'f', 'r', 'u', 'u', 'u', 'u', 'u', 'u', 'u',         'u',           'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', ['"'] = '"', ['\\'] = '\\',
};

static bool put_json_str(vg_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!room(b, n + 2))
        return false;
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc = json_escape[c];
        if (!esc)
            continue;
        if (!room(b, (i - run) + 6 + (n - i) + 1))
            return false;
        put_raw(b, s + run, i - run);
        run = i + 1;
        b->data[b->len++] = '\\';
        if (esc != 'u') {
            b->data[b->len++] = esc;
            continue;
        }
        char u[5] = {'u', '0', '0', hex[c >> 4], hex[c & 15]};
        put_raw(b, u, 5);
    }
    if (!room(b, n - run + 1))
        return false;
    put_raw(b, s + run, n - run);
    b->data[b->len++] = '"';
    return true;
}

static bool put_i64(vg_buf *b, int64_t v)
{
    if (!room(b, 24))
        return false;
    b->len += i64_digits(v, b->data + b->len);
    return true;
}

static bool put_u64(vg_buf *b, uint64_t v)
{
    if (!room(b, 24))
        return false;
    b->len += u64_digits(v, b->data + b->len);
    return true;
}

static bool put_f64(vg_buf *b, double v)
{
    if (!room(b, QFMT_F64_MAX))
        return false;
    b->len += qfmt_f64(v, b->data + b->len);
    return true;
}

static bool put_ts(vg_buf *b, int64_t ns, qfmt_day_cache *days, bool quoted)
{
    if (!room(b, QFMT_TS_MAX + 2))
        return false;
    if (quoted)
        b->data[b->len++] = '"';
    b->len += qfmt_timestamp(ns, days, b->data + b->len);
    if (quoted)
        b->data[b->len++] = '"';
    return true;
}

static bool put_interval(vg_buf *b, int64_t ns, bool quoted)
{
    if (!room(b, QFMT_INTERVAL_MAX + 2))
        return false;
    if (quoted)
        b->data[b->len++] = '"';
    b->len += qfmt_interval(ns, b->data + b->len);
    if (quoted)
        b->data[b->len++] = '"';
    return true;
}

static inline bool row_valid(const qvec *v, uint32_t r)
{
    return v->type != QT_NULL && qvec_is_valid(v, r);
}

static bool json_value(qfmt *f, vg_buf *b, const qvec *v, uint32_t r);

/* {"time":..,"value":..}, members that are null left out as arrow-json does. */
static bool json_selector(qfmt *f, vg_buf *b, const qvec *v, uint32_t r)
{
    const qvec *val = &v->sel[0], *time = &v->sel[1];
    bool ok = put_c(b, '{');
    bool any = false;
    if (row_valid(time, r)) {
        ok = ok && PUT_LIT(b, "\"time\":") && put_ts(b, time->v.i64[r], &f->days, true);
        any = true;
    }
    if (row_valid(val, r)) {
        ok = ok && (!any || put_c(b, ',')) && PUT_LIT(b, "\"value\":") && json_value(f, b, val, r);
    }
    return ok && put_c(b, '}');
}

static bool json_value(qfmt *f, vg_buf *b, const qvec *v, uint32_t r)
{
    switch (v->type) {
    case QT_BOOL: return v->v.b[r] ? PUT_LIT(b, "true") : PUT_LIT(b, "false");
    case QT_INT: return put_i64(b, v->v.i64[r]);
    case QT_UINT: return put_u64(b, v->v.u64[r]);
    case QT_FLOAT: return isfinite(v->v.f64[r]) ? put_f64(b, v->v.f64[r]) : PUT_LIT(b, "null");
    case QT_STRING: {
        qstr s = qvec_str(v, r);
        return put_json_str(b, s.p, s.len);
    }
    case QT_TIMESTAMP: return put_ts(b, v->v.i64[r], &f->days, true);
    case QT_INTERVAL: return put_interval(b, v->v.i64[r], true);
    case QT_SELECTOR: return json_selector(f, b, v, r);
    case QT_NULL: break;
    }
    return PUT_LIT(b, "null");
}

static bool json_row(qfmt *f, vg_buf *b, const qbatch *batch, uint32_t r)
{
    if (!put_c(b, '{'))
        return false;
    bool first = true;
    for (uint32_t c = 0; c < batch->ncols; c++) {
        const qvec *v = &batch->cols[c];
        if (!row_valid(v, r))
            continue;
        if (!room(b, f->key_lens[c] + 1))
            return false;
        if (!first)
            b->data[b->len++] = ',';
        put_raw(b, f->keys[c], f->key_lens[c]);
        first = false;
        if (!json_value(f, b, v, r))
            return false;
    }
    return put_c(b, '}');
}

static int json_rows(qfmt *f, const qbatch *batch, uint32_t from, uint32_t to, vg_buf *b, vg_err *e)
{
    bool lines = f->format == QUERY_FORMAT_JSONL;
    for (uint32_t r = from; r < to; r++) {
        if (!lines && f->rows + (r - from) > 0 && !put_c(b, ','))
            return out_of_memory(b, e);
        if (!json_row(f, b, batch, r) || (lines && !put_c(b, '\n')))
            return out_of_memory(b, e);
    }
    return VG_OK;
}

/* ---- text (CSV, pretty) ---- */

static bool text_value(qfmt *f, vg_buf *b, const qvec *v, uint32_t r);

static bool text_selector(qfmt *f, vg_buf *b, const qvec *v, uint32_t r)
{
    bool ok = PUT_LIT(b, "{time: ");
    if (row_valid(&v->sel[1], r))
        ok = ok && put_ts(b, v->sel[1].v.i64[r], &f->days, false);
    ok = ok && PUT_LIT(b, ", value: ");
    if (row_valid(&v->sel[0], r))
        ok = ok && text_value(f, b, &v->sel[0], r);
    return ok && put_c(b, '}');
}

/* The value as arrow's display renders it; a null is empty. */
static bool text_value(qfmt *f, vg_buf *b, const qvec *v, uint32_t r)
{
    if (!row_valid(v, r))
        return true;
    switch (v->type) {
    case QT_BOOL: return v->v.b[r] ? PUT_LIT(b, "true") : PUT_LIT(b, "false");
    case QT_INT: return put_i64(b, v->v.i64[r]);
    case QT_UINT: return put_u64(b, v->v.u64[r]);
    case QT_FLOAT: return put_f64(b, v->v.f64[r]);
    case QT_STRING: {
        qstr s = qvec_str(v, r);
        return put(b, s.p, s.len);
    }
    case QT_TIMESTAMP: return put_ts(b, v->v.i64[r], &f->days, false);
    case QT_INTERVAL: return put_interval(b, v->v.i64[r], false);
    case QT_SELECTOR: return text_selector(f, b, v, r);
    case QT_NULL: break;
    }
    return true;
}

/* RFC 4180 as the csv crate writes it (QuoteStyle::Necessary): a field holding a
 * comma, quote, CR or LF is quoted with inner quotes doubled; so is an empty field
 * that is a record's only field, or the record would be an empty line. */
static bool csv_quote_from(vg_buf *b, size_t start, bool only_field)
{
    size_t n = b->len - start, quotes = 0;
    bool need = n == 0 && only_field;
    for (size_t i = start; i < b->len; i++) {
        char c = b->data[i];
        quotes += c == '"';
        need |= c == ',' || c == '"' || c == '\n' || c == '\r';
    }
    if (!need)
        return true;
    if (!room(b, quotes + 2))
        return false;
    char *s = b->data + start;
    size_t w = n + quotes + 2;
    s[--w] = '"';
    for (size_t i = n; i-- > 0;) {
        s[--w] = s[i];
        if (s[i] == '"')
            s[--w] = '"';
    }
    s[0] = '"';
    b->len = start + n + quotes + 2;
    return true;
}

static bool csv_field_needs_check(qtype t)
{
    return t == QT_STRING || t == QT_SELECTOR || t == QT_NULL;
}

static int csv_rows(qfmt *f, const qbatch *batch, uint32_t from, uint32_t to, vg_buf *b, vg_err *e)
{
    bool only = batch->ncols == 1;
    for (uint32_t r = from; r < to; r++) {
        for (uint32_t c = 0; c < batch->ncols; c++) {
            const qvec *v = &batch->cols[c];
            if (c > 0 && !put_c(b, ','))
                return out_of_memory(b, e);
            size_t start = b->len;
            if (!text_value(f, b, v, r))
                return out_of_memory(b, e);
            if ((csv_field_needs_check(v->type) || (only && b->len == start)) &&
                !csv_quote_from(b, start, only))
                return out_of_memory(b, e);
        }
        if (!put_c(b, '\n'))
            return out_of_memory(b, e);
    }
    return VG_OK;
}

static int csv_header(qfmt *f, vg_buf *b, vg_err *e)
{
    const qschema *s = f->schema;
    for (uint32_t c = 0; c < s->n; c++) {
        if (c > 0 && !put_c(b, ','))
            return out_of_memory(b, e);
        size_t start = b->len;
        if (!put(b, s->f[c].name, strlen(s->f[c].name)) || !csv_quote_from(b, start, s->n == 1))
            return out_of_memory(b, e);
    }
    if (s->n > 0 && !put_c(b, '\n'))
        return out_of_memory(b, e);
    return VG_OK;
}

/* ---- pretty ---- */

/* Terminal columns of one line: one per UTF-8 code point (no East Asian widths). */
static size_t display_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* A cell is as wide as its widest line: multi-line text (EXPLAIN plans) is drawn
 * line under line, as comfy-table does for DataFusion. */
static size_t cell_width(const char *s, size_t n)
{
    size_t w = 0;
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        size_t len = nl ? (size_t)(nl - s) : n;
        size_t lw = display_width(s, len);
        if (lw > w)
            w = lw;
        if (!nl)
            break;
        n -= len + 1;
        s = nl + 1;
    }
    return w;
}

static int pretty_add_cell(qfmt *f, size_t col, vg_err *e)
{
    if (f->ncells == f->cells_cap) {
        size_t cap = f->cells_cap ? 2 * f->cells_cap : 1024;
        size_t *grown = vg_realloc(f->cell_end, cap * sizeof *grown);
        if (!grown)
            return vg_err_set(e, VG_ENOMEM, "out of memory formatting the query result");
        f->cell_end = grown;
        f->cells_cap = cap;
    }
    size_t start = f->ncells ? f->cell_end[f->ncells - 1] : 0;
    f->cell_end[f->ncells++] = f->cells.len;
    size_t w = f->cells.len > start ? cell_width(f->cells.data + start, f->cells.len - start) : 0;
    if (w > f->widths[col])
        f->widths[col] = w;
    return VG_OK;
}

static int pretty_rows(qfmt *f, const qbatch *batch, uint32_t from, uint32_t to, vg_err *e)
{
    for (uint32_t r = from; r < to; r++) {
        for (uint32_t c = 0; c < batch->ncols; c++) {
            if (!text_value(f, &f->cells, &batch->cols[c], r))
                return out_of_memory(&f->cells, e);
            int rc = pretty_add_cell(f, c, e);
            if (rc != VG_OK)
                return rc;
        }
        if (f->cells.len > f->pretty_max)
            return vg_err_set(e, VG_ELIMIT,
                              "the result is too large for format 'pretty' (more than %zu MiB "
                              "of text); use format json, jsonl or csv for large results",
                              f->pretty_max >> 20);
    }
    return VG_OK;
}

static bool pretty_rule(const qfmt *f, vg_buf *b)
{
    size_t n = f->schema->n;
    for (size_t c = 0; c < n; c++) {
        if (!room(b, f->widths[c] + 3))
            return false;
        b->data[b->len++] = '+';
        memset(b->data + b->len, '-', f->widths[c] + 2);
        b->len += f->widths[c] + 2;
    }
    return PUT_LIT(b, "+\n");
}

/* Line `line` of a cell's text (empty when the cell has fewer lines). */
static vg_str cell_line(const char *s, size_t n, size_t line)
{
    for (;;) {
        const char *nl = memchr(s, '\n', n);
        size_t len = nl ? (size_t)(nl - s) : n;
        if (line == 0)
            return (vg_str){s, len};
        if (!nl)
            return (vg_str){s, 0};
        line--;
        n -= len + 1;
        s = nl + 1;
    }
}

static size_t line_count(const char *s, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    return lines;
}

/* One table row from cells [first, first + ncols). */
static bool pretty_row(const qfmt *f, vg_buf *b, size_t first)
{
    size_t n = f->schema->n, height = 1;
    const char *base = f->cells.data ? f->cells.data : "";
    for (size_t c = 0; c < n; c++) {
        size_t start = first + c ? f->cell_end[first + c - 1] : 0;
        size_t h = line_count(base + start, f->cell_end[first + c] - start);
        if (h > height)
            height = h;
    }
    for (size_t line = 0; line < height; line++) {
        for (size_t c = 0; c < n; c++) {
            size_t start = first + c ? f->cell_end[first + c - 1] : 0;
            vg_str s = cell_line(base + start, f->cell_end[first + c] - start, line);
            size_t pad = f->widths[c] - display_width(s.ptr, s.len);
            if (!room(b, s.len + pad + 3))
                return false;
            put_raw(b, "| ", 2);
            put_raw(b, s.ptr, s.len);
            memset(b->data + b->len, ' ', pad + 1);
            b->len += pad + 1;
        }
        if (!PUT_LIT(b, "|\n"))
            return false;
    }
    return true;
}

static int pretty_end(qfmt *f, vg_buf *b, vg_err *e)
{
    size_t n = f->schema->n;
    if (n == 0)
        return PUT_LIT(b, "++\n++\n") ? VG_OK : out_of_memory(b, e);
    bool ok = pretty_rule(f, b) && pretty_row(f, b, 0) && pretty_rule(f, b);
    for (size_t first = n; ok && first < f->ncells; first += n)
        ok = pretty_row(f, b, first);
    ok = ok && pretty_rule(f, b);
    return ok ? VG_OK : out_of_memory(b, e);
}

/* ---- the formatter ---- */

static int init_keys(qfmt *f, vg_err *e)
{
    const qschema *s = f->schema;
    f->keys = vg_calloc(s->n ? s->n : 1, sizeof *f->keys);
    f->key_lens = vg_calloc(s->n ? s->n : 1, sizeof *f->key_lens);
    if (!f->keys || !f->key_lens)
        return vg_err_set(e, VG_ENOMEM, "out of memory formatting the query result");
    vg_buf k;
    vg_buf_init(&k);
    for (uint32_t c = 0; c < s->n; c++) {
        vg_buf_reset(&k);
        put_json_str(&k, s->f[c].name, strlen(s->f[c].name));
        put_c(&k, ':');
        if (k.oom)
            break;
        f->key_lens[c] = k.len;
        f->keys[c] = vg_buf_steal(&k);
    }
    bool oom = k.oom;
    vg_buf_free(&k);
    return oom ? vg_err_set(e, VG_ENOMEM, "out of memory formatting the query result") : VG_OK;
}

int qfmt_init(qfmt *f, query_format format, const qschema *schema, vg_err *e)
{
    memset(f, 0, sizeof *f);
    f->format = format;
    f->schema = schema;
    f->days.day = INT64_MIN;
    f->pretty_max = QFMT_PRETTY_MAX_BYTES;
    f->parquet_group_rows = QFMT_PARQUET_GROUP_ROWS;
    f->parquet_group_bytes = QFMT_PARQUET_GROUP_BYTES;
    vg_buf_init(&f->cells);
    if (format == QUERY_FORMAT_JSON || format == QUERY_FORMAT_JSONL)
        return init_keys(f, e);
    if (format == QUERY_FORMAT_PARQUET)
        return qfmt_parquet_check(schema, e);
    if (format != QUERY_FORMAT_PRETTY)
        return VG_OK;
    f->widths = vg_calloc(schema->n ? schema->n : 1, sizeof *f->widths);
    if (!f->widths)
        return vg_err_set(e, VG_ENOMEM, "out of memory formatting the query result");
    for (uint32_t c = 0; c < schema->n; c++) {
        if (!put(&f->cells, schema->f[c].name, strlen(schema->f[c].name)))
            return out_of_memory(&f->cells, e);
        int rc = pretty_add_cell(f, c, e);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

void qfmt_free(qfmt *f)
{
    for (uint32_t c = 0; f->keys && c < f->schema->n; c++)
        vg_free(f->keys[c]);
    vg_free(f->keys);
    vg_free(f->key_lens);
    vg_free(f->widths);
    vg_free(f->cell_end);
    vg_buf_free(&f->cells);
    qfmt_parquet_free(f);
    memset(f, 0, sizeof *f);
}

int qfmt_begin(qfmt *f, vg_buf *out, vg_err *e)
{
    if (f->format == QUERY_FORMAT_PARQUET)
        return qfmt_parquet_begin(f, out, e);
    if (f->format == QUERY_FORMAT_ROWS)
        return qfmt_rows_begin(f, out, e);
    if (f->format == QUERY_FORMAT_JSON && !put_c(out, '['))
        return out_of_memory(out, e);
    if (f->format == QUERY_FORMAT_CSV) {
        int rc = csv_header(f, out, e);
        if (rc != VG_OK)
            return rc;
    }
    return finish(out, e);
}

int qfmt_rows(qfmt *f, const qbatch *b, uint32_t from, uint32_t to, vg_buf *out, vg_err *e)
{
    if (VG_NEVER(b->ncols != f->schema->n || from > to || to > b->nrows))
        return vg_err_set(e, VG_EINTERNAL,
                          "rows %u..%u of a batch of %u rows and %u columns "
                          "for a schema of %u columns",
                          from, to, b->nrows, b->ncols, f->schema->n);
    int rc;
    switch (f->format) {
    case QUERY_FORMAT_JSON:
    case QUERY_FORMAT_JSONL: rc = json_rows(f, b, from, to, out, e); break;
    case QUERY_FORMAT_CSV: rc = csv_rows(f, b, from, to, out, e); break;
    case QUERY_FORMAT_PARQUET: rc = qfmt_parquet_rows(f, b, from, to, out, e); break;
    case QUERY_FORMAT_ROWS: rc = qfmt_rows_binary(f, b, from, to, out, e); break;
    default: rc = pretty_rows(f, b, from, to, e); break;
    }
    f->rows += to - from;
    return rc != VG_OK ? rc : finish(out, e);
}

int qfmt_batch(qfmt *f, const qbatch *b, vg_buf *out, vg_err *e)
{
    return qfmt_rows(f, b, 0, b->nrows, out, e);
}

int qfmt_end(qfmt *f, vg_buf *out, vg_err *e)
{
    if (f->format == QUERY_FORMAT_PARQUET)
        return qfmt_parquet_end(f, out, e);
    if (f->format == QUERY_FORMAT_JSON && !put_c(out, ']'))
        return out_of_memory(out, e);
    if (f->format == QUERY_FORMAT_PRETTY) {
        int rc = pretty_end(f, out, e);
        if (rc != VG_OK)
            return rc;
    }
    return finish(out, e);
}
