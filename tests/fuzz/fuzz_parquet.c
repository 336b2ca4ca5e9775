/*
 * tests/fuzz/fuzz_parquet.c: libFuzzer target for the Parquet reader, footer and pages
 * (also linked with tests/fuzz/replay.c to replay the corpus without libFuzzer).
 *
 * For any input it checks, and abort()s when one fails:
 *  - opening either succeeds or fails with a "parquet: " message and a code that is
 *    corruption, an unsupported feature, a limit or memory, never a crash; the limits
 *    are lowered so that no input can make the reader allocate much;
 *  - the footer view is consistent: row counts add up, statistics' string bounds lie
 *    inside the input, names are found by parquet_find_column;
 *  - every (row group, column) either fails the same way or decodes into arrays whose
 *    validity, null count, booleans, string slices and dictionary ids are sane;
 *  - a file that decodes completely is written again with our writer, and that file
 *    reads back to the same values.
 */
#include "parquet/parquet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_parquet: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const parquet_read_options LIMITS = {
    .max_footer_bytes = 1 << 20,
    .max_page_bytes = 4 << 20,
    .max_chunk_bytes = 16 << 20,
    .max_row_group_rows = 100000,
    .no_crc_check = true, /* else a changed page never gets past its checksum */
};

#define MAX_COLS 64

static void check_error(int rc, const vg_err *e)
{
    REQUIRE(rc == VG_ECORRUPT || rc == VG_EINVAL || rc == VG_ELIMIT || rc == VG_ENOMEM);
    REQUIRE((int)e->code == rc);
    REQUIRE(memchr(e->msg, '\0', sizeof e->msg) != NULL);
    REQUIRE(strncmp(e->msg, "parquet: ", 9) == 0);
}

static bool inside(const char *p, size_t n, const uint8_t *lo, size_t size)
{
    return n == 0 || ((const uint8_t *)p >= lo && n <= size &&
                      (const uint8_t *)p - lo <= (ptrdiff_t)(size - n));
}

static void check_meta(const parquet_file *f, const uint8_t *data, size_t size)
{
    const parquet_meta *m = parquet_file_meta(f);
    uint64_t rows = 0;
    REQUIRE(m->file_bytes == size);
    for (uint32_t i = 0; i < m->ncols; i++) {
        const parquet_column_info *c = &m->cols[i];
        REQUIRE(c->name && c->logical && c->unsupported);
        int k = parquet_find_column(f, c->name);
        REQUIRE(k >= 0 && (uint32_t)k <= i);
        REQUIRE(c->type <= PARQUET_BOOL);
    }
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        const parquet_row_group_info *rg = &m->row_groups[g];
        rows += rg->num_rows;
        for (uint32_t i = 0; i < m->ncols; i++) {
            const parquet_chunk_info *ci = &rg->chunks[i];
            REQUIRE(ci->num_values == rg->num_rows);
            REQUIRE(rg->num_rows == 0 ||
                    (ci->offset >= 4 && ci->offset + ci->compressed_bytes <= size));
            const parquet_stats *s = &ci->stats;
            if (s->has_min_max && m->cols[i].type == PARQUET_STRING) {
                REQUIRE(inside(s->min.s.ptr, s->min.s.len, data, size));
                REQUIRE(inside(s->max.s.ptr, s->max.s.len, data, size));
            }
        }
    }
    REQUIRE(rows == m->num_rows);
}

static bool valid_at(const parquet_column_out *o, uint32_t r)
{
    return !o->valid || ((o->valid[r >> 3] >> (r & 7)) & 1);
}

static void check_column(const parquet_column_out *o, parquet_type t, uint32_t nrows)
{
    REQUIRE(o->type == t && o->nrows == nrows);
    REQUIRE(o->null_count <= nrows);
    REQUIRE((o->valid == NULL) == (o->null_count == 0));
    uint32_t nulls = 0;
    for (uint32_t r = 0; r < nrows; r++) {
        bool ok = valid_at(o, r);
        nulls += !ok;
        switch (t) {
        case PARQUET_BOOL: REQUIRE(o->v.b[r] <= 1); break;
        case PARQUET_STRING:
            REQUIRE(o->v.s[r].ptr != NULL);
            REQUIRE(ok || o->v.s[r].len == 0);
            if (o->v.s[r].len) { /* touch both ends: ASan catches a slice out of bounds */
                volatile char c0 = o->v.s[r].ptr[0], c1 = o->v.s[r].ptr[o->v.s[r].len - 1];
                (void)c0;
                (void)c1;
            }
            if (o->ids && ok) {
                REQUIRE(o->ids[r] < o->ndict);
                REQUIRE(o->dict[o->ids[r]].len == o->v.s[r].len);
            }
            break;
        default:
            if (!ok)
                REQUIRE(o->v.i64[r] == 0);
        }
    }
    REQUIRE(nulls == o->null_count);
}

/* Compares two decoded columns value by value (doubles bit for bit). */
static void same_column(const parquet_column_out *a, const parquet_column_out *b)
{
    REQUIRE(a->nrows == b->nrows && a->null_count == b->null_count);
    for (uint32_t r = 0; r < a->nrows; r++) {
        REQUIRE(valid_at(a, r) == valid_at(b, r));
        if (!valid_at(a, r))
            continue;
        switch (a->type) {
        case PARQUET_BOOL: REQUIRE(a->v.b[r] == b->v.b[r]); break;
        case PARQUET_STRING:
            REQUIRE(a->v.s[r].len == b->v.s[r].len &&
                    memcmp(a->v.s[r].ptr, b->v.s[r].ptr, a->v.s[r].len) == 0);
            break;
        default: REQUIRE(a->v.i64[r] == b->v.i64[r]);
        }
    }
}

static parquet_column_data as_input(const parquet_column_out *o)
{
    parquet_column_data d = {.valid = o->valid};
    switch (o->type) {
    case PARQUET_STRING: d.strs = o->v.s; break;
    case PARQUET_BOOL: d.b = o->v.b; break;
    case PARQUET_DOUBLE: d.f64 = o->v.f64; break;
    case PARQUET_UINT64: d.u64 = o->v.u64; break;
    default: d.i64 = o->v.i64;
    }
    return d;
}

/* Writes one decoded row group again and reads it back. */
static void rewrite(const parquet_meta *m, const parquet_column_out *cols, uint32_t nrows)
{
    parquet_column_def defs[MAX_COLS];
    parquet_column_data data[MAX_COLS];
    for (uint32_t i = 0; i < m->ncols; i++) {
        defs[i] = (parquet_column_def){m->cols[i].name, m->cols[i].type, m->cols[i].nullable,
                                       m->cols[i].tag, PARQUET_ENC_AUTO};
        data[i] = as_input(&cols[i]);
    }
    parquet_schema s = {defs, m->ncols};
    parquet_write_options o = {.codec = nrows % 2 ? PARQUET_SNAPPY : PARQUET_ZSTD,
                               .data_page_v2 = nrows % 3 == 0,
                               .page_bytes = 256};
    vg_buf out;
    vg_buf_init(&out);
    parquet_writer *w;
    vg_err e;
    if (parquet_writer_open_buf(&w, &out, &s, &o, &e) != VG_OK) {
        REQUIRE(e.code == VG_EINVAL); /* names a writer refuses (empty, duplicated) */
        vg_buf_free(&out);
        return;
    }
    REQUIRE(parquet_writer_write(w, data, nrows, &e) == VG_OK);
    REQUIRE(parquet_writer_finish(w, &e) == VG_OK);
    parquet_writer_free(w);
    parquet_file *f;
    REQUIRE(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    vg_arena a;
    vg_arena_init(&a, 0);
    for (uint32_t i = 0; i < m->ncols; i++) {
        parquet_column_out back;
        REQUIRE(parquet_read_column(f, 0, i, &a, &back, &e) == VG_OK);
        same_column(&cols[i], &back);
    }
    vg_arena_free(&a);
    parquet_close(f);
    vg_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parquet_file *f;
    vg_err e;
    int rc = parquet_open_mem(&f, data, size, &LIMITS, &e);
    if (rc != VG_OK) {
        check_error(rc, &e);
        return 0;
    }
    check_meta(f, data, size);
    const parquet_meta *m = parquet_file_meta(f);
    parquet_column_out cols[MAX_COLS];
    for (uint32_t g = 0; g < m->nrow_groups && g < 16; g++) {
        vg_arena a;
        vg_arena_init(&a, 0);
        bool all = m->ncols > 0 && m->ncols <= MAX_COLS;
        for (uint32_t i = 0; i < m->ncols && i < 256; i++) {
            parquet_column_out o;
            rc = parquet_read_column(f, g, i, &a, &o, &e);
            if (rc != VG_OK) {
                check_error(rc, &e);
                all = false;
                continue;
            }
            check_column(&o, m->cols[i].type, (uint32_t)m->row_groups[g].num_rows);
            if (i < MAX_COLS)
                cols[i] = o;
        }
        if (all && m->row_groups[g].num_rows <= 20000)
            rewrite(m, cols, (uint32_t)m->row_groups[g].num_rows);
        vg_arena_free(&a);
    }
    parquet_close(f);
    return 0;
}
