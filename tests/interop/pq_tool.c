/*
 * tests/interop/pq_tool.c: the C side of the Parquet interoperability tests.
 *
 *   pq_tool write DIR [ROWS]
 *                         writes every kind of file the parquet module produces (each
 *                         codec, each encoding, page v1/v2, nulls, all-null columns,
 *                         empty strings, one row, no rows, many row groups, the widest
 *                         bit widths, int64/uint64 extremes, NaN and infinities) as
 *                         DIR/<case>.parquet, with the rows it wrote as DIR/<case>.jsonl
 *                         (ROWS caps every table: small files for the fuzz corpus)
 *   pq_tool dump FILE     reads any Parquet file with our reader and prints it as JSON
 *                         lines in the same format
 *   pq_tool stats FILE    prints the footer: columns, row groups, chunk statistics
 *
 * JSON lines: a header {"columns": [...], "types": [...]} then one array per row.
 * Integers and timestamps (ns) are decimal strings, doubles JSON numbers (with a
 * fraction or exponent, -0.0 kept) or "NaN" / "Infinity" / "-Infinity", booleans and
 * strings as such, null as null. test_parquet_interop.py compares these lines with
 * what DuckDB and hyparquet read.
 */
#include "parquet/parquet.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* JSON output                                                              */
/* ------------------------------------------------------------------------ */

static void put_double(vg_buf *b, double v)
{
    char tmp[40];
    if (isnan(v)) {
        vg_buf_puts(b, "\"NaN\"");
    } else if (isinf(v)) {
        vg_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
        snprintf(tmp, sizeof tmp, "%.17g", v);
        /* keep it a float for every JSON reader ("-0" would parse as an integer) */
        if (!strpbrk(tmp, ".eEn"))
            strcat(tmp, ".0");
        vg_buf_puts(b, tmp);
    }
}

static void put_value(vg_buf *b, parquet_type t, const parquet_column_out *o, uint32_t r)
{
    char tmp[32];
    if (o->valid && !((o->valid[r >> 3] >> (r & 7)) & 1)) {
        vg_buf_puts(b, "null");
        return;
    }
    switch (t) {
    case PARQUET_TIMESTAMP:
    case PARQUET_INT64:
        vg_buf_putc(b, '"');
        vg_buf_append(b, tmp, vg_fmt_i64(o->v.i64[r], tmp));
        vg_buf_putc(b, '"');
        break;
    case PARQUET_UINT64:
        vg_buf_putc(b, '"');
        vg_buf_append(b, tmp, vg_fmt_u64(o->v.u64[r], tmp));
        vg_buf_putc(b, '"');
        break;
    case PARQUET_DOUBLE: put_double(b, o->v.f64[r]); break;
    case PARQUET_BOOL: vg_buf_puts(b, o->v.b[r] ? "true" : "false"); break;
    case PARQUET_STRING: {
        vg_str s = o->ids ? o->dict[o->ids[r]] : o->v.s[r];
        /* the dictionary form and the slices must agree */
        if (o->ids && (s.len != o->v.s[r].len || memcmp(s.ptr, o->v.s[r].ptr, s.len) != 0)) {
            fprintf(stderr, "pq_tool: dictionary form differs at row %u\n", r);
            exit(2);
        }
        vg_json_str(b, s.ptr, s.len);
        break;
    }
    default: vg_buf_puts(b, "null");
    }
}

static void put_header(vg_buf *b, uint32_t ncols, const char *const *names,
                       const parquet_type *types)
{
    vg_buf_puts(b, "{\"columns\": [");
    for (uint32_t i = 0; i < ncols; i++) {
        if (i)
            vg_buf_puts(b, ", ");
        vg_json_str(b, names[i], strlen(names[i]));
    }
    vg_buf_puts(b, "], \"types\": [");
    for (uint32_t i = 0; i < ncols; i++)
        vg_buf_printf(b, "%s\"%s\"", i ? ", " : "", parquet_type_name(types[i]));
    vg_buf_puts(b, "]}\n");
}

static void put_rows(vg_buf *b, uint32_t ncols, const parquet_type *types,
                     const parquet_column_out *cols, uint32_t nrows)
{
    for (uint32_t r = 0; r < nrows; r++) {
        vg_buf_putc(b, '[');
        for (uint32_t i = 0; i < ncols; i++) {
            if (i)
                vg_buf_puts(b, ", ");
            put_value(b, types[i], &cols[i], r);
        }
        vg_buf_puts(b, "]\n");
    }
}

/* ------------------------------------------------------------------------ */
/* dump and stats                                                           */
/* ------------------------------------------------------------------------ */

static int die(const char *what, const vg_err *e)
{
    fprintf(stderr, "pq_tool: %s: %s\n", what, e->msg);
    return 1;
}

static int cmd_dump(const char *path)
{
    vg_err e = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    parquet_file *f;
    if (parquet_open_fd(&f, fd, NULL, &e) != VG_OK)
        return die(path, &e);
    const parquet_meta *m = parquet_file_meta(f);
    const char **names = calloc(m->ncols + 1, sizeof *names);
    parquet_type *types = calloc(m->ncols + 1, sizeof *types);
    parquet_column_out *cols = calloc(m->ncols + 1, sizeof *cols);
    for (uint32_t i = 0; i < m->ncols; i++) {
        names[i] = m->cols[i].name;
        types[i] = m->cols[i].type;
    }
    vg_buf b;
    vg_buf_init(&b);
    put_header(&b, m->ncols, names, types);
    fwrite(b.data, 1, b.len, stdout);
    int rc = 0;
    for (uint32_t g = 0; g < m->nrow_groups && rc == 0; g++) {
        vg_arena a;
        vg_arena_init(&a, 1 << 20);
        for (uint32_t i = 0; i < m->ncols && rc == 0; i++)
            if (parquet_read_column(f, g, i, &a, &cols[i], &e) != VG_OK)
                rc = die(path, &e);
        if (rc == 0) {
            vg_buf_reset(&b);
            put_rows(&b, m->ncols, types, cols, (uint32_t)m->row_groups[g].num_rows);
            fwrite(b.data, 1, b.len, stdout);
        }
        vg_arena_free(&a);
    }
    vg_buf_free(&b);
    free(names);
    free(types);
    free(cols);
    parquet_close(f);
    close(fd);
    return rc;
}

static void put_stat(vg_buf *b, parquet_type t, const parquet_value *v)
{
    parquet_column_out o = {.nrows = 1};
    o.v.b = (uint8_t *)v; /* every union member starts at the value */
    if (t == PARQUET_STRING)
        o.v.s = (vg_str *)&v->s;
    put_value(b, t, &o, 0);
}

static int cmd_stats(const char *path)
{
    vg_err e = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    parquet_file *f;
    if (parquet_open_fd(&f, fd, NULL, &e) != VG_OK)
        return die(path, &e);
    const parquet_meta *m = parquet_file_meta(f);
    vg_buf b;
    vg_buf_init(&b);
    vg_buf_printf(&b, "{\"rows\": \"%llu\", \"created_by\": ", (unsigned long long)m->num_rows);
    vg_json_str(&b, m->created_by, strlen(m->created_by));
    vg_buf_puts(&b, ", \"columns\": [");
    for (uint32_t i = 0; i < m->ncols; i++) {
        const parquet_column_info *c = &m->cols[i];
        vg_buf_printf(&b, "%s{\"name\": ", i ? ", " : "");
        vg_json_str(&b, c->name, strlen(c->name));
        vg_buf_printf(&b, ", \"type\": \"%s\", \"nullable\": %s, \"tag\": %s, \"logical\": \"%s\"}",
                      parquet_type_name(c->type), c->nullable ? "true" : "false",
                      c->tag ? "true" : "false", c->logical);
    }
    vg_buf_puts(&b, "], \"row_groups\": [");
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        const parquet_row_group_info *rg = &m->row_groups[g];
        vg_buf_printf(&b, "%s{\"rows\": \"%llu\", \"chunks\": [", g ? ", " : "",
                      (unsigned long long)rg->num_rows);
        for (uint32_t i = 0; i < m->ncols; i++) {
            const parquet_chunk_info *ci = &rg->chunks[i];
            const parquet_stats *s = &ci->stats;
            vg_buf_printf(&b, "%s{\"codec\": \"%s\", \"encodings\": %u", i ? ", " : "",
                          parquet_codec_name(ci->codec), ci->encodings);
            if (s->has_null_count)
                vg_buf_printf(&b, ", \"nulls\": %llu", (unsigned long long)s->null_count);
            if (s->has_min_max) {
                vg_buf_puts(&b, ", \"min\": ");
                put_stat(&b, m->cols[i].type, &s->min);
                vg_buf_puts(&b, ", \"max\": ");
                put_stat(&b, m->cols[i].type, &s->max);
                vg_buf_printf(&b, ", \"exact\": %s",
                              s->min_exact && s->max_exact ? "true" : "false");
            }
            vg_buf_putc(&b, '}');
        }
        vg_buf_puts(&b, "]}");
    }
    vg_buf_puts(&b, "], \"kv\": {");
    for (uint32_t i = 0; i < m->nkv; i++) {
        vg_buf_puts(&b, i ? ", " : "");
        vg_json_str(&b, m->kv[i].key, strlen(m->kv[i].key));
        vg_buf_puts(&b, ": ");
        vg_json_str(&b, m->kv[i].value, strlen(m->kv[i].value));
    }
    vg_buf_puts(&b, "}}\n");
    fwrite(b.data, 1, b.len, stdout);
    vg_buf_free(&b);
    parquet_close(f);
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Generated tables                                                         */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define MAXC 8

/* A table in the writer's input form, kept to print the expected rows too. */
typedef struct table {
    uint32_t ncols, nrows;
    parquet_column_def defs[MAXC];
    parquet_column_data data[MAXC];
    uint8_t *valid[MAXC];
    int64_t *i64[MAXC];
    double *f64[MAXC];
    uint8_t *b[MAXC];
    vg_str *s[MAXC];
    vg_buf strbytes; /* backing for generated strings: reserved once, never moves */
} table;

#define STRBYTES (16u << 20)

static void init_table(table *t, uint32_t nrows)
{
    memset(t, 0, sizeof *t);
    vg_buf_init(&t->strbytes);
    if (!vg_buf_reserve(&t->strbytes, STRBYTES))
        abort();
    t->nrows = nrows;
}

/* Slices point into strbytes, so it must never grow past its first reservation. */
static void check_room(table *t)
{
    if (t->strbytes.len + 100000 > STRBYTES) {
        fprintf(stderr, "pq_tool: generated strings outgrow their buffer\n");
        exit(2);
    }
}

static void set_valid(table *t, int c, uint32_t r, bool ok)
{
    if (ok)
        t->valid[c][r >> 3] |= (uint8_t)(1u << (r & 7));
}

static const char *const words[] = {"",         "alpha",       "beta",       "gamma",
                                    "Zürich",   "東京",        "naïve café", "a,b;c",
                                    "quote\"d", "back\\slash", "tab\there",  "line\nfeed",
                                    "x",        "y",           "z",          "emoji 🚀"};

static void add_col(table *t, const char *name, parquet_type type, bool nullable, bool tag,
                    parquet_encoding enc)
{
    uint32_t c = t->ncols++;
    t->defs[c] = (parquet_column_def){name, type, nullable, tag, enc};
    t->valid[c] = calloc(t->nrows / 8 + 1, 1);
    t->i64[c] = calloc(t->nrows + 1, 8);
    t->f64[c] = (double *)t->i64[c];
    t->b[c] = calloc(t->nrows + 1, 1);
    t->s[c] = calloc(t->nrows + 1, sizeof(vg_str));
    t->data[c].valid = nullable ? t->valid[c] : NULL;
    t->data[c].i64 = t->i64[c];
    t->data[c].u64 = (uint64_t *)t->i64[c];
    t->data[c].f64 = t->f64[c];
    t->data[c].b = t->b[c];
    t->data[c].strs = t->s[c];
}

/* Fills column c by a generator: mode picks the value distribution, null_pct the
 * share of nulls (nullable columns only). */
enum { G_TIME, G_SMALL, G_WIDE, G_TAG, G_TEXT, G_EMPTY, G_DOUBLE, G_SPECIAL, G_BOOL, G_LONG };

static void fill(table *t, int c, int mode, int null_pct)
{
    int64_t ts = 1767225600000000000LL; /* 2026-01-01 */
    for (uint32_t r = 0; r < t->nrows; r++) {
        bool ok = !t->defs[c].nullable || (int)(rnd() % 100) >= null_pct;
        set_valid(t, c, r, ok);
        if (!t->defs[c].nullable)
            set_valid(t, c, r, true);
        uint64_t x = rnd();
        switch (mode) {
        case G_TIME:
            ts += 1000000000LL + (int64_t)(x % 1000) - 500; /* ns jitter, sometimes backwards */
            t->i64[c][r] = ts;
            break;
        case G_SMALL: t->i64[c][r] = (int64_t)(x % 2001) - 1000; break;
        case G_WIDE: {
            static const uint64_t edge[] = {0,
                                            1,
                                            0x7fffffffffffffffull,
                                            0x8000000000000000ull,
                                            0xffffffffffffffffull,
                                            0x8000000000000001ull};
            t->i64[c][r] = (int64_t)(x % 3 == 0 ? edge[(x >> 8) % 6] : rnd());
            break;
        }
        case G_TAG: t->s[c][r] = (vg_str){words[x % 6], strlen(words[x % 6])}; break;
        case G_TEXT: {
            check_room(t);
            const char *w = words[x % 16];
            size_t at = t->strbytes.len;
            vg_buf_printf(&t->strbytes, "%s-%u", w, (unsigned)(x >> 40) % 5000);
            t->s[c][r] = (vg_str){t->strbytes.data + at, t->strbytes.len - at};
            break;
        }
        case G_EMPTY: t->s[c][r] = (vg_str){"", 0}; break;
        case G_DOUBLE: t->f64[c][r] = 20.0 + (double)(int64_t)(x % 100000) / 1000.0; break;
        case G_SPECIAL: {
            static const double sp[] = {NAN,
                                        INFINITY,
                                        -INFINITY,
                                        -0.0,
                                        0.0,
                                        5e-324,
                                        1.7976931348623157e308,
                                        -1.7976931348623157e308,
                                        1.5,
                                        -2.25,
                                        1e-300,
                                        123456789.123456789};
            t->f64[c][r] = sp[x % 12];
            break;
        }
        case G_BOOL: t->b[c][r] = x & 1; break;
        case G_LONG: {
            check_room(t);
            size_t at = t->strbytes.len, len = 60 + x % 200;
            for (size_t k = 0; k < len; k++)
                vg_buf_putc(&t->strbytes, (char)('a' + (rnd() % 26)));
            if (r % 97 == 0) /* now and then a big one */
                for (size_t k = 0; k < 70000; k++)
                    vg_buf_putc(&t->strbytes, (char)('A' + k % 26));
            t->s[c][r] = (vg_str){t->strbytes.data + at, t->strbytes.len - at};
            break;
        }
        }
    }
}

static void free_table(table *t)
{
    for (uint32_t c = 0; c < t->ncols; c++) {
        free(t->valid[c]);
        free(t->i64[c]);
        free(t->b[c]);
        free(t->s[c]);
    }
    vg_buf_free(&t->strbytes);
}

static int write_expected(const char *path, table *t)
{
    const char *names[MAXC];
    parquet_type types[MAXC];
    parquet_column_out cols[MAXC];
    for (uint32_t c = 0; c < t->ncols; c++) {
        names[c] = t->defs[c].name;
        types[c] = t->defs[c].type;
        cols[c] = (parquet_column_out){.nrows = t->nrows, .valid = t->valid[c]};
        cols[c].v.i64 = t->i64[c];
        if (types[c] == PARQUET_BOOL)
            cols[c].v.b = t->b[c];
        if (types[c] == PARQUET_STRING)
            cols[c].v.s = t->s[c];
    }
    vg_buf b;
    vg_buf_init(&b);
    put_header(&b, t->ncols, names, types);
    put_rows(&b, t->ncols, types, cols, t->nrows);
    vg_err e;
    int rc = vg_durable_write_file(path, b.data, b.len, &e);
    vg_buf_free(&b);
    return rc == VG_OK ? 0 : die(path, &e);
}

typedef enum { IN_SLICES, IN_OFFSETS, IN_IDS } str_input;

/* Writes t with opt, in batches of `batch` rows, giving strings as `in`. */
static int write_table(const char *dir, const char *name, table *t,
                       const parquet_write_options *opt, uint32_t batch, str_input in)
{
    char path[512];
    vg_err e = {0};
    snprintf(path, sizeof path, "%s/%s.parquet", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    parquet_schema schema = {t->defs, t->ncols};
    parquet_writer *w;
    if (parquet_writer_open_fd(&w, fd, &schema, opt, &e) != VG_OK)
        return die(name, &e);
    uint32_t *offsets[MAXC] = {0}, *ids[MAXC] = {0};
    vg_str *dicts[MAXC] = {0};
    for (uint32_t c = 0; c < t->ncols; c++) {
        if (t->defs[c].type != PARQUET_STRING || in == IN_SLICES)
            continue;
        offsets[c] = calloc(t->nrows + 1, 4);
        ids[c] = calloc(t->nrows + 1, 4);
        dicts[c] = calloc(t->nrows + 1, sizeof(vg_str));
    }
    int rc = 0;
    for (uint32_t from = 0; from < t->nrows && rc == 0; from += batch) {
        uint32_t n = t->nrows - from < batch ? t->nrows - from : batch;
        parquet_column_data d[MAXC];
        vg_buf packed;
        vg_buf_init(&packed);
        for (uint32_t c = 0; c < t->ncols; c++) {
            d[c] = (parquet_column_data){.i64 = t->i64[c] + from,
                                         .u64 = (uint64_t *)t->i64[c] + from,
                                         .f64 = t->f64[c] + from,
                                         .b = t->b[c] + from,
                                         .strs = t->s[c] + from};
            /* the validity bitmap must start at the batch's first row: copy it */
            if (t->defs[c].nullable) {
                uint8_t *v = calloc(n / 8 + 1, 1);
                for (uint32_t r = 0; r < n; r++)
                    if ((t->valid[c][(from + r) >> 3] >> ((from + r) & 7)) & 1)
                        v[r >> 3] |= (uint8_t)(1u << (r & 7));
                d[c].valid = v;
            }
            if (t->defs[c].type != PARQUET_STRING || in == IN_SLICES)
                continue;
            d[c].strs = NULL;
            if (in == IN_OFFSETS) {
                /* one byte array per batch, nulls as empty spans */
                size_t base = packed.len;
                for (uint32_t r = 0; r < n; r++) {
                    offsets[c][r] = (uint32_t)(packed.len - base);
                    vg_buf_append(&packed, t->s[c][from + r].ptr, t->s[c][from + r].len);
                }
                offsets[c][n] = (uint32_t)(packed.len - base);
                d[c].offsets = offsets[c];
                d[c].bytes = (const char *)(uintptr_t)base; /* fixed below */
            } else {
                /* a dictionary with duplicates and unused entries, ids in reverse */
                for (uint32_t r = 0; r < n; r++) {
                    dicts[c][n - 1 - r] = t->s[c][from + r];
                    ids[c][r] = n - 1 - r;
                }
                d[c].ids = ids[c];
                d[c].dict = dicts[c];
                d[c].ndict = n;
            }
        }
        for (uint32_t c = 0; c < t->ncols; c++)
            if (d[c].offsets)
                d[c].bytes = packed.data + (uintptr_t)d[c].bytes;
        if (parquet_writer_write(w, d, n, &e) != VG_OK)
            rc = die(name, &e);
        for (uint32_t c = 0; c < t->ncols; c++)
            if (t->defs[c].nullable)
                free((void *)d[c].valid);
        vg_buf_free(&packed);
    }
    if (rc == 0 && parquet_writer_finish(w, &e) != VG_OK)
        rc = die(name, &e);
    parquet_writer_free(w);
    close(fd);
    for (uint32_t c = 0; c < t->ncols; c++) {
        free(offsets[c]);
        free(ids[c]);
        free(dicts[c]);
    }
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
    return write_expected(path, t);
}

/* The standard sensor table: time, two tags, and one field of each type. */
static void sensor_table(table *t, uint32_t nrows, int null_pct, bool nullable,
                         parquet_encoding time_enc, parquet_encoding str_enc,
                         parquet_encoding num_enc, parquet_encoding dbl_enc,
                         parquet_encoding bool_enc)
{
    init_table(t, nrows);
    rng_state = 42;
    add_col(t, "time", PARQUET_TIMESTAMP, false, false, time_enc);
    add_col(t, "host", PARQUET_STRING, nullable, true, str_enc);
    add_col(t, "region", PARQUET_STRING, nullable, true, str_enc);
    add_col(t, "temp", PARQUET_DOUBLE, nullable, false, dbl_enc);
    add_col(t, "count", PARQUET_INT64, nullable, false, num_enc);
    add_col(t, "ucount", PARQUET_UINT64, nullable, false, num_enc);
    add_col(t, "ok", PARQUET_BOOL, nullable, false, bool_enc);
    add_col(t, "note", PARQUET_STRING, nullable, false, str_enc);
    fill(t, 0, G_TIME, 0);
    fill(t, 1, G_TAG, null_pct);
    fill(t, 2, G_TAG, null_pct);
    fill(t, 3, G_DOUBLE, null_pct);
    fill(t, 4, G_SMALL, null_pct);
    fill(t, 5, G_WIDE, null_pct);
    fill(t, 6, G_BOOL, null_pct);
    fill(t, 7, G_TEXT, null_pct);
}

typedef struct wcase {
    const char *name;
    uint32_t nrows;
    int null_pct;
    bool nullable;
    parquet_encoding time_enc, str_enc, num_enc, dbl_enc, bool_enc;
    parquet_write_options opt;
    uint32_t batch;
    str_input in;
} wcase;

/* `write DIR ROWS` caps every table at ROWS rows: small files for the fuzz corpus. */
static uint32_t row_cap = UINT32_MAX;

static uint32_t capped(uint32_t n)
{
    return n < row_cap ? n : row_cap;
}

static int write_cases(const char *dir)
{
    static const parquet_kv kv[] = {{"origin", "pq_tool"}, {"empty", ""}};
    const wcase cases[] = {
        {"default_zstd", 5000, 10, true, .opt = {.row_group_rows = 3000}, .batch = 1000},
        {"codec_snappy", 3000, 10, true, .opt = {.codec = PARQUET_SNAPPY}, .batch = 3000},
        {"codec_lz4_raw", 3000, 10, true, .opt = {.codec = PARQUET_LZ4_RAW}, .batch = 3000},
        {"codec_gzip", 3000, 10, true, .opt = {.codec = PARQUET_GZIP}, .batch = 3000},
        {"codec_none", 3000, 10, true, .opt = {.codec = PARQUET_UNCOMPRESSED}, .batch = 3000},
        {"zstd_level19", 2000, 10, true, .opt = {.level = 19}, .batch = 2000},
        {"enc_plain", 3000, 10, true, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN,
         PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, .batch = 3000},
        {"enc_delta_length", 3000, 10, true, .str_enc = PARQUET_ENC_DELTA_LENGTH, .batch = 3000},
        {"enc_delta_strings", 3000, 10, true, .str_enc = PARQUET_ENC_DELTA_STRINGS, .batch = 3000},
        {"enc_rle_bool", 3000, 10, true, .bool_enc = PARQUET_ENC_RLE, .batch = 3000},
        {"page_v2", 4000, 10, true, .opt = {.data_page_v2 = true, .page_bytes = 4096},
         .batch = 4000},
        {"page_v2_none", 3000, 10, true, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN,
         PARQUET_ENC_PLAIN, PARQUET_ENC_RLE,
         .opt = {.data_page_v2 = true, .codec = PARQUET_UNCOMPRESSED}, .batch = 3000},
        {"page_v2_delta", 3000, 30, true, .str_enc = PARQUET_ENC_DELTA_STRINGS,
         .bool_enc = PARQUET_ENC_RLE, .opt = {.data_page_v2 = true, .codec = PARQUET_SNAPPY},
         .batch = 3000},
        {"plain_doubles", 2000, 10, true, .opt = {.plain_doubles = true}, .batch = 2000},
        {"nulls_heavy", 3000, 90, true, .batch = 700},
        {"all_null", 500, 100, true, .batch = 500},
        {"all_null_plain", 300, 100, true, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN,
         PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, .batch = 300},
        {"all_null_v2", 300, 100, true, .opt = {.data_page_v2 = true}, .batch = 300},
        {"required", 3000, 0, false, .batch = 3000},
        {"one_row", 1, 0, true, .batch = 1},
        {"one_row_null", 1, 100, true, .batch = 1},
        {"no_rows", 0, 0, true, .batch = 1},
        {"many_row_groups", 1000, 20, true,
         .opt = {.row_group_rows = 7, .page_bytes = 64, .codec = PARQUET_SNAPPY}, .batch = 13},
        {"small_pages", 5000, 10, true, .opt = {.page_bytes = 100}, .batch = 5000},
        {"dict_fallback", 4000, 5, true, .opt = {.dict_bytes = 2000}, .batch = 500},
        {"input_offsets", 3000, 10, true, .batch = 999, .in = IN_OFFSETS},
        {"input_ids", 3000, 10, true, .batch = 1000, .in = IN_IDS},
        {"input_ids_plain", 3000, 10, true, .str_enc = PARQUET_ENC_PLAIN, .batch = 1000,
         .in = IN_IDS},
        {"kv_metadata", 100, 10, true, .opt = {.kv = kv, .nkv = 2}, .batch = 100},
        {"local_time", 3000, 10, true, .opt = {.local_timestamps = true}, .batch = 3000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wcase *k = &cases[i];
        table t;
        sensor_table(&t, capped(k->nrows), k->null_pct, k->nullable, k->time_enc, k->str_enc,
                     k->num_enc, k->dbl_enc, k->bool_enc);
        int rc = write_table(dir, k->name, &t, &k->opt, k->batch ? k->batch : 1000, k->in);
        free_table(&t);
        if (rc)
            return rc;
    }
    return 0;
}

/* Tables whose columns stress one thing each. */
static int write_special(const char *dir)
{
    struct {
        const char *name;
        uint32_t nrows;
        int modes[4];
        parquet_type types[4];
        parquet_encoding encs[4];
        bool local;
    } cases[] = {
#define WIDE                                                                                       \
    {                                                                                              \
        G_TIME, G_WIDE, G_WIDE, G_WIDE                                                             \
    }
#define WIDE_T                                                                                     \
    {                                                                                              \
        PARQUET_TIMESTAMP, PARQUET_INT64, PARQUET_UINT64, PARQUET_TIMESTAMP                        \
    }
#define STR_T                                                                                      \
    {                                                                                              \
        PARQUET_TIMESTAMP, PARQUET_STRING, PARQUET_STRING, PARQUET_STRING                          \
    }
#define DBL_T                                                                                      \
    {                                                                                              \
        PARQUET_TIMESTAMP, PARQUET_DOUBLE, PARQUET_DOUBLE, PARQUET_DOUBLE                          \
    }
        /* random 64-bit values and the extremes: delta bit widths up to 64 */
        {.name = "wide_ints", .nrows = 2000, .modes = WIDE, .types = WIDE_T},
        {.name = "wide_ints_local", .nrows = 2000, .modes = WIDE, .types = WIDE_T, .local = true},
        {.name = "wide_ints_plain",
         .nrows = 500,
         .modes = WIDE,
         .types = WIDE_T,
         .encs = {PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN}},
        {.name = "doubles_special",
         .nrows = 1000,
         .modes = {G_TIME, G_SPECIAL, G_SPECIAL, G_DOUBLE},
         .types = DBL_T,
         .encs = {0, PARQUET_ENC_PLAIN, PARQUET_ENC_BYTE_STREAM_SPLIT, 0}},
        {.name = "empty_strings",
         .nrows = 1000,
         .modes = {G_TIME, G_EMPTY, G_EMPTY, G_EMPTY},
         .types = STR_T,
         .encs = {0, PARQUET_ENC_DICT, PARQUET_ENC_PLAIN, PARQUET_ENC_DELTA_STRINGS}},
        {.name = "long_strings",
         .nrows = 300,
         .modes = {G_TIME, G_LONG, G_LONG, G_LONG},
         .types = STR_T,
         .encs = {0, PARQUET_ENC_DICT, PARQUET_ENC_DELTA_LENGTH, PARQUET_ENC_DELTA_STRINGS}},
        {.name = "unicode_text",
         .nrows = 2000,
         .modes = {G_TIME, G_TEXT, G_TEXT, G_TAG},
         .types = STR_T,
         .encs = {0, PARQUET_ENC_PLAIN, PARQUET_ENC_DELTA_STRINGS, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        table t;
        init_table(&t, capped(cases[i].nrows));
        rng_state = 7 + i;
        static const char *names[] = {"time", "a", "b", "c"};
        for (int c = 0; c < 4; c++)
            add_col(&t, names[c], cases[i].types[c], c > 0, false, cases[i].encs[c]);
        for (int c = 0; c < 4; c++)
            fill(&t, c, cases[i].modes[c], c > 0 ? 5 : 0);
        parquet_write_options opt = {.local_timestamps = cases[i].local};
        int rc = write_table(dir, cases[i].name, &t, &opt, 700, IN_SLICES);
        free_table(&t);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "write") == 0) {
        if (argc == 4)
            row_cap = (uint32_t)strtoul(argv[3], NULL, 10);
        vg_err e;
        if (vg_mkdir_p(argv[2], &e) != VG_OK)
            return die(argv[2], &e);
        return write_cases(argv[2]) || write_special(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "dump") == 0)
        return cmd_dump(argv[2]);
    if (argc == 3 && strcmp(argv[1], "stats") == 0)
        return cmd_stats(argv[2]);
    fprintf(stderr, "usage: pq_tool write DIR [ROWS] | dump FILE | stats FILE\n");
    return 2;
}
