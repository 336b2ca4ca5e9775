/* tests/unit/test_query_format_parquet.c: format=parquet (query/format_parquet.c) over
 * hand-made batches, read back with our own Parquet reader: the schema (types, OPTIONAL,
 * tags, the timestamp flavour), exact values of every type with NULLs, dictionary and
 * plain strings, slices that do not start on a byte of the validity bitmap, an empty
 * result, row groups cut by rows and by bytes as batches arrive, the refused types, and
 * allocation failures. */
#include "parquet/parquet.h"
#include "query/format_int.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

static qstr S(const char *s)
{
    return (qstr){s, (uint32_t)strlen(s)};
}

/* A bitmap for n rows with the rows in `nulls` (ended by -1) cleared. */
static void set_nulls(uint8_t *bits, size_t nbytes, const int *nulls)
{
    memset(bits, 0xff, nbytes);
    for (int i = 0; nulls[i] >= 0; i++)
        bits[nulls[i] >> 3] &= (uint8_t) ~(1u << (nulls[i] & 7));
}

/* ---- writing ---- */

typedef struct pq_run {
    uint32_t group_rows;      /* 0 = the formatter's default */
    size_t group_bytes;       /* 0 = the formatter's default */
    uint32_t slice;           /* 0 = whole batches (qfmt_batch), else qfmt_rows in slices */
    size_t bytes_after_first; /* output size after the first batch */
} pq_run;

/* Formats the batches as Parquet into out. */
static int render_pq(const qschema *s, const qbatch *bs, int nb, pq_run *run, vg_buf *out,
                     vg_err *e)
{
    qfmt f;
    int rc = qfmt_init(&f, QUERY_FORMAT_PARQUET, s, e);
    if (run && run->group_rows)
        f.parquet_group_rows = run->group_rows;
    if (run && run->group_bytes)
        f.parquet_group_bytes = run->group_bytes;
    if (rc == VG_OK)
        rc = qfmt_begin(&f, out, e);
    for (int i = 0; rc == VG_OK && i < nb; i++) {
        uint32_t step = run && run->slice ? run->slice : bs[i].nrows;
        for (uint32_t from = 0; rc == VG_OK && from < bs[i].nrows; from += step) {
            uint32_t to = bs[i].nrows - from > step ? from + step : bs[i].nrows;
            rc = qfmt_rows(&f, &bs[i], from, to, out, e);
        }
        if (run && i == 0)
            run->bytes_after_first = out->len;
    }
    if (rc == VG_OK)
        rc = qfmt_end(&f, out, e);
    qfmt_free(&f);
    return rc;
}

/* ---- reading back ---- */

static void put_cell(vg_buf *b, const parquet_column_out *o, uint32_t r)
{
    char tmp[40];
    if (o->valid && !((o->valid[r >> 3] >> (r & 7)) & 1)) {
        vg_buf_puts(b, "NULL");
        return;
    }
    switch (o->type) {
    case PARQUET_TIMESTAMP:
    case PARQUET_INT64: vg_buf_printf(b, "%" PRId64, o->v.i64[r]); break;
    case PARQUET_UINT64: vg_buf_printf(b, "%" PRIu64, o->v.u64[r]); break;
    case PARQUET_DOUBLE:
        if (isnan(o->v.f64[r]))
            vg_buf_puts(b, "NaN");
        else {
            snprintf(tmp, sizeof tmp, "%.17g", o->v.f64[r]);
            vg_buf_puts(b, tmp);
        }
        break;
    case PARQUET_BOOL: vg_buf_puts(b, o->v.b[r] ? "true" : "false"); break;
    case PARQUET_STRING:
        vg_buf_putc(b, '\'');
        for (size_t i = 0; i < o->v.s[r].len; i++) /* a NUL byte shows as \0 */
            if (o->v.s[r].ptr[i])
                vg_buf_putc(b, o->v.s[r].ptr[i]);
            else
                vg_buf_puts(b, "\\0");
        vg_buf_putc(b, '\'');
        break;
    default: vg_buf_puts(b, "?"); break;
    }
}

/* The file as text: "name type [tag]" per column, a line per row group, then one line
 * per row ("a|1|NULL"). Strings in quotes, doubles in %.17g. */
static char *dump_pq(const vg_buf *file)
{
    vg_buf t;
    vg_buf_init(&t);
    parquet_file *pf;
    vg_err e = {0};
    if (parquet_open_mem(&pf, file->data, file->len, NULL, &e) != VG_OK) {
        vg_buf_printf(&t, "open: %s", e.msg);
        return vg_buf_steal(&t);
    }
    const parquet_meta *m = parquet_file_meta(pf);
    for (uint32_t c = 0; c < m->ncols; c++)
        vg_buf_printf(&t, "%s %s %s%s %s\n", m->cols[c].name, parquet_type_name(m->cols[c].type),
                      m->cols[c].nullable ? "optional" : "required", m->cols[c].tag ? " tag" : "",
                      m->cols[c].logical);
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        vg_arena a;
        vg_arena_init(&a, 0);
        parquet_column_out *cols = vg_arena_calloc(&a, (m->ncols + 1) * sizeof *cols);
        vg_buf_printf(&t, "-- row group %u: %" PRIu64 " rows\n", g, m->row_groups[g].num_rows);
        for (uint32_t c = 0; c < m->ncols; c++)
            if (parquet_read_column(pf, g, c, &a, &cols[c], &e) != VG_OK)
                vg_buf_printf(&t, "read: %s\n", e.msg);
        for (uint32_t r = 0; r < m->row_groups[g].num_rows; r++) {
            for (uint32_t c = 0; c < m->ncols; c++) {
                if (c)
                    vg_buf_putc(&t, '|');
                put_cell(&t, &cols[c], r);
            }
            vg_buf_putc(&t, '\n');
        }
        vg_arena_free(&a);
    }
    parquet_close(pf);
    return vg_buf_steal(&t);
}

/* The value of metadata key `key` of the file, or "(none)". */
static void check_kv(const vg_buf *file, const char *key, const char *want)
{
    parquet_file *pf;
    vg_err e = {0};
    CHECK(parquet_open_mem(&pf, file->data, file->len, NULL, &e) == VG_OK);
    const parquet_meta *m = parquet_file_meta(pf);
    const char *got = "(none)";
    for (uint32_t i = 0; i < m->nkv; i++)
        if (strcmp(m->kv[i].key, key) == 0)
            got = m->kv[i].value;
    CHECK_STR(got, want);
    CHECK_STR(m->created_by, PARQUET_CREATED_BY);
    parquet_close(pf);
}

/* ---- every type ---- */

static qfield fields[8];
static qvec cols[8];

static void test_every_type(void)
{
    static qstr dict[3];
    static uint32_t ids[5] = {2, 0, 1, 2, 7}; /* row 4 is null: its id is never read */
    static int64_t times[5] = {1767806931000000000, 155, -1, 0, INT64_MAX};
    static double usage[5] = {0.9, -0.0 /* null */, 0, INFINITY, 1e-300};
    static int64_t ints[5] = {INT64_MIN, 0, 9223372036854775807, -3, 0};
    static uint64_t uints[5] = {UINT64_MAX, 0, 1, 0, 42};
    static uint8_t bools[5] = {1, 0, 0, 1, 0};
    static qstr notes[5];
    static uint8_t v_host[1], v_usage[1], v_n[1], v_ok[1], v_note[1];
    dict[0] = S("a");
    dict[1] = S("b,\"c\"");
    dict[2] = S("\xc3\xa9t\xc3\xa9");
    notes[0] = S("line1\nline2");
    notes[1] = S("");
    notes[2] = (qstr){"nul\0byte", 8};
    notes[4] = S("last");
    usage[2] = NAN;
    set_nulls(v_host, 1, (int[]){4, -1});
    set_nulls(v_usage, 1, (int[]){1, -1});
    set_nulls(v_n, 1, (int[]){4, -1});
    set_nulls(v_ok, 1, (int[]){0, 2, -1});
    set_nulls(v_note, 1, (int[]){3, -1});
    fields[0] = (qfield){.name = "host", .type = QT_STRING, .is_tag = true};
    fields[1] = (qfield){.name = "time", .type = QT_TIMESTAMP};
    fields[2] = (qfield){.name = "usage", .type = QT_FLOAT, .nullable = true};
    fields[3] = (qfield){.name = "n", .type = QT_INT, .nullable = true};
    fields[4] = (qfield){.name = "u", .type = QT_UINT};
    fields[5] = (qfield){.name = "ok", .type = QT_BOOL, .nullable = true};
    fields[6] = (qfield){.name = "note", .type = QT_STRING, .nullable = true};
    cols[0] =
        (qvec){.type = QT_STRING, .n = 5, .valid = v_host, .ids = ids, .dict = dict, .dict_n = 3};
    cols[1] = (qvec){.type = QT_TIMESTAMP, .n = 5, .v.i64 = times};
    cols[2] = (qvec){.type = QT_FLOAT, .n = 5, .valid = v_usage, .v.f64 = usage};
    cols[3] = (qvec){.type = QT_INT, .n = 5, .valid = v_n, .v.i64 = ints};
    cols[4] = (qvec){.type = QT_UINT, .n = 5, .v.u64 = uints};
    cols[5] = (qvec){.type = QT_BOOL, .n = 5, .valid = v_ok, .v.b = bools};
    cols[6] = (qvec){.type = QT_STRING, .n = 5, .valid = v_note, .v.s = notes};
    qschema s = {7, fields};
    qbatch b = {5, 7, cols};
    vg_buf out;
    vg_buf_init(&out);
    vg_err e = {0};
    CHECK_INT(render_pq(&s, &b, 1, NULL, &out, &e), VG_OK);
    CHECK(out.len > 12 && memcmp(out.data, "PAR1", 4) == 0 &&
          memcmp(out.data + out.len - 4, "PAR1", 4) == 0);
    char *got = dump_pq(&out);
    CHECK_STR(got, "host string optional tag STRING\n"
                   "time timestamp optional TIMESTAMP(NANOS,local)\n"
                   "usage double optional \n"
                   "n int64 optional \n"
                   "u uint64 optional INTEGER(64,unsigned)\n"
                   "ok bool optional \n"
                   "note string optional STRING\n"
                   "-- row group 0: 5 rows\n"
                   "'\xc3\xa9t\xc3\xa9'|1767806931000000000|0.90000000000000002|"
                   "-9223372036854775808|18446744073709551615|NULL|'line1\nline2'\n"
                   "'a'|155|NULL|0|0|false|''\n"
                   "'b,\"c\"'|-1|NaN|9223372036854775807|1|NULL|'nul\\0byte'\n"
                   "'\xc3\xa9t\xc3\xa9'|0|inf|-3|0|true|NULL\n"
                   "NULL|9223372036854775807|1e-300|NULL|42|false|'last'\n");
    vg_free(got);
    check_kv(&out, PARQUET_TAGS_KEY, "[\"host\"]");
    vg_buf_free(&out);
}

static void test_negative_zero_and_plain_strings(void)
{
    static double d[3] = {-0.0, 0.0, -1.5};
    static qstr strs[3];
    strs[0] = S("x");
    strs[1] = S("y");
    strs[2] = S("x");
    qfield f[2] = {{.name = "d", .type = QT_FLOAT}, {.name = "s", .type = QT_STRING}};
    qvec v[2] = {{.type = QT_FLOAT, .n = 3, .v.f64 = d}, {.type = QT_STRING, .n = 3, .v.s = strs}};
    qschema s = {2, f};
    qbatch b = {3, 2, v};
    vg_buf out;
    vg_buf_init(&out);
    vg_err e = {0};
    CHECK_INT(render_pq(&s, &b, 1, NULL, &out, &e), VG_OK);
    char *got = dump_pq(&out);
    CHECK_STR(got, "d double optional \n"
                   "s string optional STRING\n"
                   "-- row group 0: 3 rows\n"
                   "-0|'x'\n"
                   "0|'y'\n"
                   "-1.5|'x'\n");
    vg_free(got);
    /* No tag columns: the list is empty, not absent. */
    check_kv(&out, PARQUET_TAGS_KEY, "[]");
    vg_buf_free(&out);
}

/* ---- empty results ---- */

static void test_empty_result(void)
{
    qfield f[2] = {{.name = "host", .type = QT_STRING, .is_tag = true},
                   {.name = "v", .type = QT_FLOAT}};
    qschema s = {2, f};
    static double none_d[1];
    static qstr none_s[1];
    qvec v[2] = {{.type = QT_STRING, .n = 0, .v.s = none_s},
                 {.type = QT_FLOAT, .n = 0, .v.f64 = none_d}};
    qbatch empty = {0, 2, v};
    const char *want = "host string optional tag STRING\n"
                       "v double optional \n";
    for (int nb = 0; nb < 2; nb++) { /* no batch at all, then one batch of no rows */
        vg_buf out;
        vg_buf_init(&out);
        vg_err e = {0};
        CHECK_INT(render_pq(&s, &empty, nb, NULL, &out, &e), VG_OK);
        char *got = dump_pq(&out);
        CHECK_STR(got, want);
        vg_free(got);
        parquet_file *pf;
        CHECK(parquet_open_mem(&pf, out.data, out.len, NULL, &e) == VG_OK);
        CHECK_INT(parquet_file_meta(pf)->num_rows, 0);
        CHECK_INT(parquet_file_meta(pf)->nrow_groups, 0);
        parquet_close(pf);
        vg_buf_free(&out);
    }
}

/* ---- many batches, row groups, slices ---- */

#define BIG_BATCHES 10
#define BIG_ROWS 1000

/* Ten batches of 1000 rows: id (int, every 7th null), host (dictionary of 5, every 11th
 * null), name (plain strings), t (timestamps). The dump lines are built alongside. */
typedef struct big {
    int64_t id[BIG_BATCHES][BIG_ROWS], t[BIG_BATCHES][BIG_ROWS];
    uint32_t ids[BIG_BATCHES][BIG_ROWS];
    qstr names[BIG_BATCHES][BIG_ROWS];
    char name_text[BIG_BATCHES][BIG_ROWS][16];
    uint8_t v_id[BIG_BATCHES][BIG_ROWS / 8 + 1], v_host[BIG_BATCHES][BIG_ROWS / 8 + 1];
    qvec cols[BIG_BATCHES][4];
    qbatch b[BIG_BATCHES];
    qfield f[4];
    qschema s;
    qstr dict[5];
} big;

static void big_fill(big *g, vg_buf *rows)
{
    static const char *hosts[5] = {"h0", "h1", "h2", "h3", "h4"};
    for (int k = 0; k < 5; k++)
        g->dict[k] = S(hosts[k]);
    g->f[0] = (qfield){.name = "id", .type = QT_INT};
    g->f[1] = (qfield){.name = "host", .type = QT_STRING, .is_tag = true};
    g->f[2] = (qfield){.name = "name", .type = QT_STRING};
    g->f[3] = (qfield){.name = "t", .type = QT_TIMESTAMP};
    g->s = (qschema){4, g->f};
    for (int i = 0; i < BIG_BATCHES; i++) {
        memset(g->v_id[i], 0xff, sizeof g->v_id[i]);
        memset(g->v_host[i], 0xff, sizeof g->v_host[i]);
        for (int r = 0; r < BIG_ROWS; r++) {
            int64_t row = (int64_t)i * BIG_ROWS + r;
            bool id_null = row % 7 == 3, host_null = row % 11 == 5;
            g->id[i][r] = row * 1000003 - 5000000;
            g->t[i][r] = 1767806931000000000 + row * 1000000007;
            g->ids[i][r] = (uint32_t)(row * 3 % 5);
            int len = snprintf(g->name_text[i][r], 16, "n%lld", (long long)(row * 7919 % 10007));
            g->names[i][r] = (qstr){g->name_text[i][r], (uint32_t)len};
            if (id_null)
                g->v_id[i][r >> 3] &= (uint8_t) ~(1u << (r & 7));
            if (host_null)
                g->v_host[i][r >> 3] &= (uint8_t) ~(1u << (r & 7));
            if (id_null)
                vg_buf_puts(rows, "NULL|");
            else
                vg_buf_printf(rows, "%lld|", (long long)g->id[i][r]);
            if (host_null)
                vg_buf_puts(rows, "NULL|");
            else
                vg_buf_printf(rows, "'%s'|", hosts[g->ids[i][r]]);
            vg_buf_printf(rows, "'%s'|%lld\n", g->name_text[i][r], (long long)g->t[i][r]);
        }
        g->cols[i][0] =
            (qvec){.type = QT_INT, .n = BIG_ROWS, .valid = g->v_id[i], .v.i64 = g->id[i]};
        g->cols[i][1] = (qvec){.type = QT_STRING,
                               .n = BIG_ROWS,
                               .valid = g->v_host[i],
                               .ids = g->ids[i],
                               .dict = g->dict,
                               .dict_n = 5};
        g->cols[i][2] = (qvec){.type = QT_STRING, .n = BIG_ROWS, .v.s = g->names[i]};
        g->cols[i][3] = (qvec){.type = QT_TIMESTAMP, .n = BIG_ROWS, .v.i64 = g->t[i]};
        g->b[i] = (qbatch){BIG_ROWS, 4, g->cols[i]};
    }
}

/* The rows of the dump without its schema and row-group lines; the group sizes. */
static void split_dump(const char *dump, vg_buf *rows, vg_buf *groups)
{
    for (const char *p = dump; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        unsigned g;
        unsigned long long cnt;
        if (sscanf(p, "-- row group %u: %llu rows", &g, &cnt) == 2)
            vg_buf_printf(groups, "%s%llu", groups->len ? "," : "", cnt);
        else if (memchr(p, '|', n))
            vg_buf_append(rows, p, n);
        p += n;
    }
}

/* Renders the big table with `run` and checks every row and the group sizes. */
static void check_big(pq_run *run, const char *want_groups)
{
    big *g = calloc(1, sizeof *g);
    vg_buf want, out, rows, groups;
    vg_buf_init(&want);
    vg_buf_init(&out);
    vg_buf_init(&rows);
    vg_buf_init(&groups);
    big_fill(g, &want);
    vg_err e = {0};
    CHECK_INT(render_pq(&g->s, g->b, BIG_BATCHES, run, &out, &e), VG_OK);
    char *dump = dump_pq(&out);
    split_dump(dump, &rows, &groups);
    CHECK(rows.len == want.len && memcmp(rows.data, want.data, want.len) == 0);
    CHECK_STR(groups.data ? groups.data : "", want_groups);
    check_kv(&out, PARQUET_TAGS_KEY, "[\"host\"]");
    vg_free(dump);
    vg_buf_free(&want);
    vg_buf_free(&out);
    vg_buf_free(&rows);
    vg_buf_free(&groups);
    free(g);
}

static void test_row_groups_by_rows(void)
{
    /* Default: one row group, nothing but "PAR1" before the end. */
    pq_run run = {0};
    check_big(&run, "10000");
    CHECK_INT(run.bytes_after_first, 4);
    /* 2500-row groups: each goes out as it fills, before the footer. */
    run = (pq_run){.group_rows = 2500};
    check_big(&run, "2500,2500,2500,2500");
    CHECK_INT(run.bytes_after_first, 4);
    run = (pq_run){.group_rows = 700};
    check_big(&run, "700,700,700,700,700,700,700,700,700,700,700,700,700,700,200");
    CHECK(run.bytes_after_first > 4); /* the first group left during the first batch */
}

static void test_row_groups_by_bytes(void)
{
    /* Each batch stages 1000 * (8 + 4 + ~10 + 8) bytes: a 20,000-byte cap ends a group
     * after every batch. */
    pq_run run = {.group_bytes = 20000};
    check_big(&run, "1000,1000,1000,1000,1000,1000,1000,1000,1000,1000");
    CHECK(run.bytes_after_first > 4);
}

static void test_unaligned_slices(void)
{
    /* Slices of 3 and 13 rows: validity bitmaps shifted by every bit offset, and the
     * dictionary column (5 entries) sent both as ids (slice >= 5) and as strings (3). */
    pq_run run = {.slice = 3, .group_rows = 4000};
    check_big(&run, "4000,4000,2000");
    run = (pq_run){.slice = 13};
    check_big(&run, "10000");
}

/* ---- refused types ---- */

static void check_refused(qtype t, const char *want)
{
    qfield f[2] = {{.name = "time", .type = QT_TIMESTAMP}, {.name = "x y", .type = t}};
    qschema s = {2, f};
    qfmt fmt;
    vg_err e = {0};
    CHECK_INT(qfmt_init(&fmt, QUERY_FORMAT_PARQUET, &s, &e), VG_EINVAL);
    CHECK_STR(e.msg, want);
    qfmt_free(&fmt);
}

static void test_refused_types(void)
{
    check_refused(QT_INTERVAL, "format 'parquet' cannot hold column 'x y' of type "
                               "Interval(MonthDayNano): cast it to BIGINT (nanoseconds) or "
                               "VARCHAR, or use another format");
    check_refused(QT_SELECTOR, "format 'parquet' cannot hold column 'x y' of type Struct(value, "
                               "time): select its members with ['value'] and ['time'] instead, "
                               "or use another format");
    check_refused(QT_NULL, "format 'parquet' cannot hold column 'x y' of type Null: cast it to a "
                           "type, e.g. CAST(NULL AS DOUBLE), or use another format");
}

/* ---- allocation failures ---- */

static void test_allocation_failures(void)
{
    big *g = calloc(1, sizeof *g);
    vg_buf want;
    vg_buf_init(&want);
    big_fill(g, &want);
    vg_buf_free(&want);
    size_t base = vg_mem_used();
    bool done = false;
    for (long k = 1; k < 5000 && !done; k++) {
        vg_buf out;
        vg_buf_init(&out);
        vg_err e = {0};
        pq_run run = {.group_rows = 2500};
        vg_mem_fail_after(k);
        int rc = render_pq(&g->s, g->b, 3, &run, &out, &e);
        vg_mem_fail_after(0);
        if (rc == VG_OK)
            done = true;
        else
            CHECK(rc == VG_ENOMEM && strstr(e.msg, "out of memory") != NULL);
        vg_buf_free(&out);
        CHECK_INT(vg_mem_used(), base);
    }
    CHECK(done);
    free(g);
}

TEST_MAIN(test_every_type, test_negative_zero_and_plain_strings, test_empty_result,
          test_row_groups_by_rows, test_row_groups_by_bytes, test_unaligned_slices,
          test_refused_types, test_allocation_failures)
