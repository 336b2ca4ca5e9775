/* Unit tests for the write buffer: every value type and nulls, columns appearing
 * mid-chunk, chunk rollover, snapshots during appends (also from another thread),
 * tag dictionaries, strings, duplicate values in a row, refcounting, drop_db,
 * rejected rows, allocation failures, and byte accounting back to zero. */
#include "buffer/buffer.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>

/* ---- helpers ---- */

static buffer_value vf(uint32_t col, double f)
{
    buffer_value v = {.col = col, .type = CATALOG_FLOAT};
    v.v.f = f;
    return v;
}

static buffer_value vi(uint32_t col, int64_t i)
{
    buffer_value v = {.col = col, .type = CATALOG_INT};
    v.v.i = i;
    return v;
}

static buffer_value vu(uint32_t col, uint64_t u)
{
    buffer_value v = {.col = col, .type = CATALOG_UINT};
    v.v.u = u;
    return v;
}

static buffer_value vb(uint32_t col, bool b)
{
    buffer_value v = {.col = col, .type = CATALOG_BOOL};
    v.v.b = b;
    return v;
}

static buffer_value vs_(uint32_t col, catalog_type t, const char *s, size_t len)
{
    buffer_value v = {.col = col, .type = t};
    v.v.s.p = s;
    v.v.s.len = (uint32_t)len;
    return v;
}

static buffer_value vtag(uint32_t col, const char *s)
{
    return vs_(col, CATALOG_TAG, s, strlen(s));
}
static buffer_value vstr(uint32_t col, const char *s)
{
    return vs_(col, CATALOG_STRING, s, strlen(s));
}

static void append_ok(buffer *b, uint32_t db, uint32_t t, uint32_t ncols, int64_t time,
                      const buffer_value *vals, uint32_t n, uint64_t seq)
{
    vg_err e;
    vg_err_clear(&e);
    int rc = buffer_append(b, db, t, ncols, time, vals, n, seq, &e);
    if (rc != VG_OK)
        printf("buffer_append: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
}

static buffer_chunk **snap(buffer *b, uint32_t db, uint32_t t, size_t *n)
{
    buffer_chunk **chunks = NULL;
    CHECK_INT(buffer_snapshot(b, db, t, &chunks, n, NULL), VG_OK);
    return chunks;
}

/* A string cell as (pointer, length). */
static const char *str_at(const buffer_chunk *c, uint32_t col, uint32_t row, uint32_t *len)
{
    const buffer_column *bc = &c->cols[col];
    *len = bc->v.off[row + 1] - bc->v.off[row];
    return bc->str + bc->v.off[row];
}

static const char *tag_at(const buffer_chunk *c, uint32_t col, uint32_t row)
{
    const buffer_column *bc = &c->cols[col];
    return bc->dict->strs[bc->v.ids[row]];
}

/* ---- tests ---- */

static void test_all_types_and_nulls(void)
{
    size_t mem0 = vg_mem_used();
    buffer *b = buffer_new(NULL);
    CHECK_INT(buffer_mem_bytes(b), 0);
    buffer_value r0[] = {vtag(1, "dev1"),   vf(2, 1.5),       vi(3, -7),
                         vu(4, UINT64_MAX), vstr(5, "hello"), vb(6, true)};
    buffer_value r1[] = {vf(2, -0.25)};
    buffer_value r2[] = {vb(6, false), vstr(5, ""), vtag(1, "dev2"), vi(3, INT64_MIN)};
    append_ok(b, 0, 0, 7, 300, r0, 6, 11);
    append_ok(b, 0, 0, 7, 100, r1, 1, 12);
    append_ok(b, 0, 0, 7, 200, r2, 4, 10);
    CHECK(buffer_mem_bytes(b) > 0);
    CHECK_INT(buffer_row_count(b, 0, 0), 3);
    CHECK_INT(buffer_row_count(b, 0, 1), 0);
    CHECK_INT(buffer_row_count(b, 5, 0), 0);

    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    CHECK_INT(n, 1);
    buffer_chunk *c = cs[0];
    CHECK(c->frozen);
    CHECK_INT(c->nrows, 3);
    CHECK_INT(c->ncols, 7);
    CHECK_INT(c->seq, 0);
    CHECK_INT(c->db_id, 0);
    CHECK_INT(c->table_id, 0);
    CHECK_INT(c->min_time, 100);
    CHECK_INT(c->max_time, 300);
    CHECK_INT(c->max_wal_seq, 12);
    CHECK_INT(c->refs, 2);
    CHECK(c->mem_bytes > 0);

    const buffer_column *tm = &c->cols[0];
    CHECK_INT(tm->type, CATALOG_TIME);
    CHECK_INT(tm->v.i64[0], 300);
    CHECK_INT(tm->v.i64[1], 100);
    CHECK_INT(tm->v.i64[2], 200);
    for (uint32_t r = 0; r < 3; r++)
        CHECK(buffer_is_valid(tm, r));

    /* Row 0 has everything; row 1 only the float; row 2 all but the float and uint. */
    CHECK(buffer_is_valid(&c->cols[1], 0) && !buffer_is_valid(&c->cols[1], 1) &&
          buffer_is_valid(&c->cols[1], 2));
    CHECK_STR(tag_at(c, 1, 0), "dev1");
    CHECK_STR(tag_at(c, 1, 2), "dev2");
    CHECK_INT(c->cols[1].v.ids[1], 0); /* null cells hold zero */

    CHECK(buffer_is_valid(&c->cols[2], 0) && buffer_is_valid(&c->cols[2], 1) &&
          !buffer_is_valid(&c->cols[2], 2));
    CHECK(c->cols[2].v.f64[0] == 1.5 && c->cols[2].v.f64[1] == -0.25);
    CHECK(c->cols[2].v.f64[2] == 0.0);

    CHECK_INT(c->cols[3].v.i64[0], -7);
    CHECK(!buffer_is_valid(&c->cols[3], 1));
    CHECK_INT(c->cols[3].v.i64[1], 0);
    CHECK(c->cols[3].v.i64[2] == INT64_MIN);

    CHECK(c->cols[4].v.u64[0] == UINT64_MAX);
    CHECK(!buffer_is_valid(&c->cols[4], 1) && !buffer_is_valid(&c->cols[4], 2));
    CHECK(c->cols[4].v.u64[1] == 0 && c->cols[4].v.u64[2] == 0);

    uint32_t len;
    const char *s = str_at(c, 5, 0, &len);
    CHECK_MEM(s, len, "hello");
    CHECK(!buffer_is_valid(&c->cols[5], 1));
    str_at(c, 5, 1, &len);
    CHECK_INT(len, 0);
    CHECK(buffer_is_valid(&c->cols[5], 2)); /* an empty string is a value, not null */
    str_at(c, 5, 2, &len);
    CHECK_INT(len, 0);
    CHECK_INT(c->cols[5].v.off[3], 5);

    CHECK(buffer_is_valid(&c->cols[6], 0) && c->cols[6].v.b[0] == 1);
    CHECK(!buffer_is_valid(&c->cols[6], 1) && c->cols[6].v.b[1] == 0);
    CHECK(buffer_is_valid(&c->cols[6], 2) && c->cols[6].v.b[2] == 0);

    buffer_snapshot_release(cs, n);
    buffer_free(b);
    CHECK_INT(vg_mem_used(), mem0);
}

static void test_new_column_mid_chunk(void)
{
    buffer *b = buffer_new(NULL);
    for (int i = 0; i < 3; i++) {
        buffer_value r[] = {vf(1, i)};
        append_ok(b, 2, 3, 2, i, r, 1, 1);
    }
    /* The catalog grew: columns 2 (tag) and 3 (string) appear at row 3; 4 is known
     * but never written. */
    buffer_value r3[] = {vf(1, 3), vtag(2, "x"), vstr(3, "late")};
    append_ok(b, 2, 3, 5, 3, r3, 3, 2);
    buffer_value r4[] = {vf(1, 4)};
    append_ok(b, 2, 3, 5, 4, r4, 1, 3);
    size_t n;
    buffer_chunk **cs = snap(b, 2, 3, &n);
    CHECK_INT(n, 1);
    buffer_chunk *c = cs[0];
    CHECK_INT(c->ncols, 5);
    CHECK_INT(c->nrows, 5);
    for (uint32_t r = 0; r < 5; r++) {
        CHECK(buffer_is_valid(&c->cols[1], r));
        CHECK(c->cols[1].v.f64[r] == (double)r);
        CHECK(buffer_is_valid(&c->cols[2], r) == (r == 3));
        CHECK(buffer_is_valid(&c->cols[3], r) == (r == 3));
        CHECK(!buffer_is_valid(&c->cols[4], r));
    }
    CHECK(c->cols[2].present && c->cols[3].present && !c->cols[4].present);
    CHECK_STR(tag_at(c, 2, 3), "x");
    uint32_t len;
    const char *s = str_at(c, 3, 3, &len);
    CHECK_MEM(s, len, "late");
    for (uint32_t r = 0; r <= 3; r++)
        CHECK_INT(c->cols[3].v.off[r], 0);
    CHECK_INT(c->cols[3].v.off[4], 4);
    CHECK_INT(c->cols[3].v.off[5], 4);
    buffer_snapshot_release(cs, n);
    buffer_free(b);
}

static void test_rollover(void)
{
    buffer_options opt = {.chunk_rows = 4};
    buffer *b = buffer_new(&opt);
    for (int i = 0; i < 10; i++) {
        buffer_value r[] = {vi(1, i * 10), vtag(2, i % 2 ? "odd" : "even")};
        append_ok(b, 1, 0, 3, 1000 + i, r, 2, (uint64_t)i);
    }
    CHECK_INT(buffer_row_count(b, 1, 0), 10);
    size_t n;
    buffer_chunk **cs = snap(b, 1, 0, &n);
    CHECK_INT(n, 3);
    int row = 0;
    for (size_t k = 0; k < n; k++) {
        buffer_chunk *c = cs[k];
        CHECK(c->frozen);
        CHECK_INT(c->seq, k);
        CHECK_INT(c->nrows, k < 2 ? 4 : 2);
        CHECK_INT(c->min_time, 1000 + row);
        CHECK_INT(c->max_time, 1000 + row + c->nrows - 1);
        CHECK_INT(c->max_wal_seq, row + c->nrows - 1);
        /* Each chunk has its own dictionary, ids from 0 in order of first sight. */
        CHECK_INT(c->cols[2].dict->n, 2);
        CHECK_STR(c->cols[2].dict->strs[0], "even");
        for (uint32_t r = 0; r < c->nrows; r++, row++) {
            CHECK_INT(c->cols[0].v.i64[r], 1000 + row);
            CHECK_INT(c->cols[1].v.i64[r], row * 10);
            CHECK_STR(tag_at(c, 2, r), row % 2 ? "odd" : "even");
        }
    }
    CHECK_INT(row, 10);
    buffer_snapshot_release(cs, n);

    /* A second snapshot with nothing new returns the same chunks. */
    size_t n2;
    buffer_chunk **cs2 = snap(b, 1, 0, &n2);
    CHECK_INT(n2, 3);
    CHECK(cs2[0]->refs == 2);
    buffer_snapshot_release(cs2, n2);
    buffer_free(b);
}

static void test_snapshot_while_appending(void)
{
    buffer *b = buffer_new(NULL);
    for (int i = 0; i < 5; i++) {
        buffer_value r[] = {vf(1, i), vstr(2, "abc")};
        append_ok(b, 0, 7, 3, i, r, 2, 1);
    }
    size_t n1;
    buffer_chunk **s1 = snap(b, 0, 7, &n1);
    CHECK_INT(n1, 1);
    for (int i = 5; i < 12; i++) {
        buffer_value r[] = {vf(1, i), vstr(2, "defgh"), vtag(3, "new")};
        append_ok(b, 0, 7, 4, i, r, 3, 2);
    }
    /* The first snapshot is untouched by the later appends. */
    buffer_chunk *c = s1[0];
    CHECK_INT(c->nrows, 5);
    CHECK_INT(c->ncols, 3);
    CHECK_INT(c->max_time, 4);
    for (uint32_t r = 0; r < 5; r++) {
        uint32_t len;
        const char *s = str_at(c, 2, r, &len);
        CHECK_MEM(s, len, "abc");
        CHECK(c->cols[1].v.f64[r] == r);
    }
    size_t n2;
    buffer_chunk **s2 = snap(b, 0, 7, &n2);
    CHECK_INT(n2, 2);
    CHECK(s2[0] == s1[0]);
    CHECK_INT(s2[0]->refs, 3);
    CHECK_INT(s2[1]->nrows, 7);
    CHECK_INT(s2[1]->seq, 1);
    CHECK_INT(s2[1]->cols[0].v.i64[6], 11);
    buffer_snapshot_release(s1, n1);
    CHECK_INT(s2[0]->refs, 2);
    buffer_snapshot_release(s2, n2);
    /* An empty or unknown table gives nothing. */
    size_t n3 = 99;
    buffer_chunk **s3 = snap(b, 0, 8, &n3);
    CHECK(s3 == NULL && n3 == 0);
    s3 = snap(b, 40, 0, &n3);
    CHECK(s3 == NULL && n3 == 0);
    buffer_free(b);
}

static void test_dictionary_ids(void)
{
    buffer *b = buffer_new(NULL);
    const char *vals[] = {"a", "b", "a", "c", "b", "", "a"};
    uint32_t want[] = {0, 1, 0, 2, 1, 3, 0};
    for (int i = 0; i < 7; i++) {
        buffer_value r[] = {vtag(1, vals[i]), vtag(2, "same")};
        append_ok(b, 0, 0, 3, i, r, 2, 0);
    }
    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    buffer_chunk *c = cs[0];
    const buffer_dict *d = c->cols[1].dict;
    CHECK_INT(d->n, 4);
    for (uint32_t r = 0; r < 7; r++)
        CHECK_INT(c->cols[1].v.ids[r], want[r]);
    CHECK_STR(d->strs[2], "c");
    CHECK_INT(d->lens[2], 1);
    CHECK_STR(d->strs[3], "");
    CHECK_INT(d->lens[3], 0);
    CHECK(vg_map_get(&d->index, "b", 1) == (void *)(uintptr_t)2);
    CHECK(vg_map_get(&d->index, "zz", 2) == NULL);
    CHECK_INT(c->cols[2].dict->n, 1);
    for (uint32_t r = 0; r < 7; r++)
        CHECK_INT(c->cols[2].v.ids[r], 0);
    buffer_snapshot_release(cs, n);

    /* Many distinct values: ids stay dense and stable while the dictionary grows. */
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "device-%d", i % 1000);
        buffer_value r[] = {vtag(1, name)};
        append_ok(b, 0, 1, 2, i, r, 1, 0);
    }
    cs = snap(b, 0, 1, &n);
    c = cs[0];
    CHECK_INT(c->cols[1].dict->n, 1000);
    for (uint32_t r = 0; r < 3000; r++) {
        CHECK_INT(c->cols[1].v.ids[r], r % 1000);
        snprintf(name, sizeof name, "device-%u", r % 1000);
        if (strcmp(tag_at(c, 1, r), name) != 0) {
            CHECK_STR(tag_at(c, 1, r), name);
            break;
        }
    }
    buffer_snapshot_release(cs, n);
    buffer_free(b);
}

static void test_strings(void)
{
    buffer *b = buffer_new(NULL);
    size_t big_n = 300000;
    char *big = malloc(big_n);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (char)('a' + i % 26);
    const char with_nul[] = {'x', '\0', 'y'};
    buffer_value rows[][1] = {
        {vstr(1, "")},    {vs_(1, CATALOG_STRING, big, big_n)},
        {vstr(1, "")},    {vs_(1, CATALOG_STRING, with_nul, 3)},
        {vstr(1, "end")},
    };
    for (int i = 0; i < 5; i++)
        append_ok(b, 0, 0, 2, i, rows[i], 1, 0);
    append_ok(b, 0, 0, 2, 5, NULL, 0, 0); /* a row with no fields: all null */
    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    buffer_chunk *c = cs[0];
    uint32_t len;
    str_at(c, 1, 0, &len);
    CHECK_INT(len, 0);
    const char *s = str_at(c, 1, 1, &len);
    CHECK_INT(len, big_n);
    CHECK(memcmp(s, big, big_n) == 0);
    str_at(c, 1, 2, &len);
    CHECK_INT(len, 0);
    s = str_at(c, 1, 3, &len);
    CHECK(len == 3 && memcmp(s, with_nul, 3) == 0);
    s = str_at(c, 1, 4, &len);
    CHECK_MEM(s, len, "end");
    CHECK(!buffer_is_valid(&c->cols[1], 5));
    str_at(c, 1, 5, &len);
    CHECK_INT(len, 0);
    CHECK_INT(c->cols[1].str_len, big_n + 6);
    CHECK_INT(c->cols[1].str_cap, big_n + 6); /* shrunk at freeze */
    buffer_snapshot_release(cs, n);
    free(big);
    buffer_free(b);
}

static void test_duplicate_values_in_row(void)
{
    buffer *b = buffer_new(NULL);
    buffer_value r0[] = {vstr(1, "first-long-value"),
                         vf(2, 1),
                         vtag(3, "t1"),
                         vstr(1, "2nd"),
                         vf(2, 2),
                         vtag(3, "t2")};
    append_ok(b, 0, 0, 4, 0, r0, 6, 0);
    buffer_value r1[] = {vstr(1, "next")};
    append_ok(b, 0, 0, 4, 1, r1, 1, 0);
    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    buffer_chunk *c = cs[0];
    uint32_t len;
    const char *s = str_at(c, 1, 0, &len);
    CHECK_MEM(s, len, "2nd");
    s = str_at(c, 1, 1, &len);
    CHECK_MEM(s, len, "next");
    CHECK_INT(c->cols[1].str_len, 7);
    CHECK(c->cols[2].v.f64[0] == 2);
    CHECK_STR(tag_at(c, 3, 0), "t2");
    buffer_snapshot_release(cs, n);
    buffer_free(b);
}

static void test_rejected_rows(void)
{
    buffer *b = buffer_new(NULL);
    vg_err e;
    buffer_value ok[] = {vf(1, 1), vtag(2, "a")};
    append_ok(b, 0, 0, 3, 0, ok, 2, 0);
    buffer_value bad_col0[] = {vf(0, 1)};
    CHECK_INT(buffer_append(b, 0, 0, 3, 1, bad_col0, 1, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "column id 0 out of range (table has 3 columns)");
    buffer_value bad_range[] = {vf(1, 5), vf(3, 1)};
    CHECK_INT(buffer_append(b, 0, 0, 3, 1, bad_range, 2, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "column id 3 out of range (table has 3 columns)");
    buffer_value bad_type[] = {vtag(2, "b"), vi(1, 1)};
    CHECK_INT(buffer_append(b, 0, 0, 3, 1, bad_type, 2, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "column 1 holds float64 values, got a int64 value");
    buffer_value bad_time[] = {{.col = 1, .type = CATALOG_TIME}};
    CHECK_INT(buffer_append(b, 0, 0, 4, 1, bad_time, 1, 0, &e), VG_EINVAL);
    buffer_value bad_new[] = {{.col = 3, .type = CATALOG_TIME}};
    CHECK_INT(buffer_append(b, 0, 0, 4, 1, bad_new, 1, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "invalid value type 0 for column 3");
    CHECK_INT(buffer_row_count(b, 0, 0), 1);
    /* Rejected rows leave nothing behind: the next row has no float and no tag. */
    buffer_value next[] = {vi(3, 9)};
    append_ok(b, 0, 0, 4, 2, next, 1, 0);
    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    buffer_chunk *c = cs[0];
    CHECK_INT(c->nrows, 2);
    CHECK(!buffer_is_valid(&c->cols[1], 1));
    CHECK(!buffer_is_valid(&c->cols[2], 1));
    CHECK(buffer_is_valid(&c->cols[3], 1) && c->cols[3].v.i64[1] == 9);
    CHECK_INT(c->cols[0].v.i64[1], 2);
    buffer_snapshot_release(cs, n);
    buffer_free(b);
}

static void test_refcount_and_drop_db(void)
{
    size_t mem0 = vg_mem_used();
    buffer_options opt = {.chunk_rows = 8};
    buffer *b = buffer_new(&opt);
    for (int i = 0; i < 20; i++) {
        buffer_value r[] = {vtag(1, "h"), vf(2, i), vstr(3, "payload")};
        append_ok(b, 1, 0, 4, i, r, 3, 0);
        append_ok(b, 1, 1, 4, i, r, 3, 0);
        append_ok(b, 2, 0, 4, i, r, 3, 0);
    }
    size_t n_held;
    buffer_chunk **held = snap(b, 1, 0, &n_held);
    CHECK_INT(n_held, 3);
    size_t all = buffer_mem_bytes(b);
    CHECK(all > 0);

    buffer_drop_db(b, 1);
    CHECK_INT(buffer_row_count(b, 1, 0), 0);
    CHECK_INT(buffer_row_count(b, 1, 1), 0);
    CHECK_INT(buffer_row_count(b, 2, 0), 20);
    size_t n;
    buffer_chunk **none = snap(b, 1, 1, &n);
    CHECK(none == NULL && n == 0);
    buffer_drop_db(b, 77); /* unknown: nothing to do */

    /* Chunks a reader holds outlive the drop. */
    CHECK(buffer_mem_bytes(b) < all);
    for (size_t k = 0; k < n_held; k++) {
        CHECK_INT(held[k]->refs, 1);
        for (uint32_t r = 0; r < held[k]->nrows; r++)
            CHECK(held[k]->cols[2].v.f64[r] == (double)(k * 8 + r));
    }
    size_t with_held = buffer_mem_bytes(b);
    buffer_snapshot_release(held, n_held);
    CHECK(buffer_mem_bytes(b) < with_held);

    /* The dropped database can be written again (a new database with a reused id
     * never happens, but the buffer does not care). */
    buffer_value r[] = {vf(2, 1)};
    append_ok(b, 1, 0, 4, 0, r, 1, 0);
    CHECK_INT(buffer_row_count(b, 1, 0), 1);

    /* Held past buffer_free: still readable, freed by the last unref. */
    buffer_chunk **late = snap(b, 2, 0, &n);
    CHECK_INT(n, 3);
    buffer_drop_db(b, 1);
    buffer_drop_db(b, 2);
    CHECK(buffer_mem_bytes(b) > 0);
    buffer_free(b);
    CHECK_INT(late[2]->nrows, 4);
    CHECK(late[2]->cols[2].v.f64[3] == 19.0);
    buffer_snapshot_release(late, n);
    CHECK_INT(vg_mem_used(), mem0);

    /* Accounting returns to zero once every chunk is gone. */
    b = buffer_new(&opt);
    for (int i = 0; i < 50; i++) {
        buffer_value rr[] = {vtag(1, i % 2 ? "x" : "y"), vstr(3, "s")};
        append_ok(b, 3, (uint32_t)(i % 3), 4, i, rr, 2, 0);
    }
    buffer_chunk **s = snap(b, 3, 1, &n);
    buffer_drop_db(b, 3);
    CHECK(buffer_mem_bytes(b) > 0);
    buffer_snapshot_release(s, n);
    CHECK_INT(buffer_mem_bytes(b), 0);
    buffer_free(b);
    CHECK_INT(vg_mem_used(), mem0);
}

/* Every allocation of a run of appends fails in turn: an append either lands whole
 * or not at all, and nothing leaks. */
static void test_alloc_failures(void)
{
    size_t mem0 = vg_mem_used();
    for (long fail = 1; fail < 40; fail++) {
        buffer_options opt = {.chunk_rows = 4};
        buffer *b = buffer_new(&opt);
        if (!b)
            continue;
        int64_t landed[16];
        int nland = 0;
        vg_mem_fail_after(fail);
        for (int i = 0; i < 10; i++) {
            char tag[16];
            snprintf(tag, sizeof tag, "t%d", i);
            buffer_value r[] = {vtag(1, tag), vstr(2, "str"), vf(3, i)};
            if (buffer_append(b, 0, 0, 4, i, r, 3, 0, NULL) == VG_OK)
                landed[nland++] = i;
        }
        vg_mem_fail_after(0);
        size_t n;
        buffer_chunk **cs = snap(b, 0, 0, &n);
        int k = 0;
        for (size_t j = 0; j < n; j++) {
            buffer_chunk *c = cs[j];
            for (uint32_t r = 0; r < c->nrows; r++, k++) {
                CHECK_INT(c->cols[0].v.i64[r], landed[k]);
                CHECK(buffer_is_valid(&c->cols[1], r) && buffer_is_valid(&c->cols[2], r) &&
                      buffer_is_valid(&c->cols[3], r));
                CHECK(c->cols[3].v.f64[r] == (double)landed[k]);
                uint32_t len;
                const char *s = str_at(c, 2, r, &len);
                CHECK_MEM(s, len, "str");
            }
        }
        CHECK_INT(k, nland);
        CHECK_INT(buffer_row_count(b, 0, 0), nland);
        buffer_snapshot_release(cs, n);
        buffer_drop_db(b, 0);
        CHECK_INT(buffer_mem_bytes(b), 0);
        buffer_free(b);
    }
    CHECK_INT(vg_mem_used(), mem0);
}

/* A writer appends while a reader keeps taking snapshots and checking them. */
typedef struct race {
    buffer *b;
    int rows;
    int started; /* the reader is running: the writer waits so the two overlap */
    int done;
    int bad;
} race;

static void *race_writer(void *arg)
{
    race *r = arg;
    char tag[16];
    while (!__atomic_load_n(&r->started, __ATOMIC_ACQUIRE))
        ;
    for (int i = 0; i < r->rows; i++) {
        snprintf(tag, sizeof tag, "d%d", i % 50);
        buffer_value v[] = {vtag(1, tag), vf(2, i), vi(3, -i), vstr(4, tag)};
        if (buffer_append(r->b, 0, 0, 5, i, v, 4, (uint64_t)i, NULL) != VG_OK)
            r->bad++;
    }
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int check_chunks(buffer_chunk **cs, size_t n)
{
    int64_t expect = 0;
    char tag[16];
    for (size_t j = 0; j < n; j++) {
        buffer_chunk *c = cs[j];
        if (!c->frozen)
            return 1;
        for (uint32_t r = 0; r < c->nrows; r++, expect++) {
            snprintf(tag, sizeof tag, "d%d", (int)(expect % 50));
            uint32_t len;
            const char *s = str_at(c, 4, r, &len);
            if (c->cols[0].v.i64[r] != expect || c->cols[2].v.f64[r] != (double)expect ||
                c->cols[3].v.i64[r] != -expect || strcmp(tag_at(c, 1, r), tag) != 0 ||
                len != strlen(tag) || memcmp(s, tag, len) != 0)
                return 1;
        }
    }
    return 0;
}

static void test_concurrent_snapshots(void)
{
    buffer_options opt = {.chunk_rows = 1000};
    race r = {buffer_new(&opt), 50000, 0, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, race_writer, &r);
    int snaps = 0, bad = 0;
    __atomic_store_n(&r.started, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
        size_t n;
        buffer_chunk **cs = NULL;
        if (buffer_snapshot(r.b, 0, 0, &cs, &n, NULL) != VG_OK)
            bad++;
        bad += check_chunks(cs, n);
        buffer_snapshot_release(cs, n);
        snaps++;
    }
    pthread_join(th, NULL);
    size_t n;
    buffer_chunk **cs = snap(r.b, 0, 0, &n);
    bad += check_chunks(cs, n);
    uint64_t total = 0;
    for (size_t j = 0; j < n; j++)
        total += cs[j]->nrows;
    CHECK_INT(total, 50000);
    buffer_snapshot_release(cs, n);
    CHECK_INT(bad, 0);
    CHECK_INT(r.bad, 0);
    CHECK(snaps > 0);
    buffer_free(r.b);
}

/* Appends one row of series `dev` (tag column 1, field column 2) at time t, then
 * reports whether its chunk is flagged may_have_dups. The snapshot freezes that
 * chunk, so every call's row gets a chunk of its own. */
static bool flagged_after(buffer *b, const char *dev, int64_t t)
{
    buffer_value v[2] = {vtag(1, dev), vf(2, 1.0)};
    append_ok(b, 0, 0, 3, t, v, 2, 1);
    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    bool flagged = n > 0 && cs[n - 1]->may_have_dups;
    buffer_snapshot_release(cs, n);
    return flagged;
}

static void test_may_have_dups(void)
{
    buffer_options o = {.chunk_rows = 1024};
    buffer *b = buffer_new(&o);
    /* In order, two series interleaved: nothing to flag. */
    CHECK(!flagged_after(b, "a", 10));
    CHECK(!flagged_after(b, "b", 10));
    CHECK(!flagged_after(b, "a", 20));
    /* Late but distinct: every series remembers its latest times from the start. */
    CHECK(!flagged_after(b, "a", 15));
    CHECK(!flagged_after(b, "b", 5));
    /* An exact repeat is flagged. */
    CHECK(flagged_after(b, "a", 15));
    CHECK(flagged_after(b, "a", 20));
    CHECK(!flagged_after(b, "b", 20)); /* another series: new */
    buffer_free(b);

    /* A time older than the window remembers is flagged (it may repeat one that was
     * pushed out), and then the window grows so that this disorder fits next time. */
    b = buffer_new(&o);
    for (int64_t t = 1; t <= 20; t++) /* 16 kept: 5 .. 20; 1 .. 4 pushed out */
        CHECK(!flagged_after(b, "a", t * 10));
    CHECK(flagged_after(b, "a", 25));   /* before the window starts: unknown */
    CHECK(!flagged_after(b, "a", 55));  /* inside it, new */
    CHECK(flagged_after(b, "a", 50));   /* inside it, a repeat */
    for (int64_t t = 21; t <= 40; t++) /* the window now holds 32 */
        CHECK(!flagged_after(b, "a", t * 10));
    CHECK(!flagged_after(b, "a", 105)); /* 30 places back: remembered since the growth */
    CHECK(flagged_after(b, "a", 100));
    buffer_free(b);

    /* A flagged chunk records the times of the rows that flagged it. */
    o.chunk_rows = 64;
    b = buffer_new(&o);
    for (int64_t t = 1; t <= 8; t++) {
        buffer_value v[2] = {vtag(1, "a"), vf(2, 1.0)};
        append_ok(b, 0, 0, 3, t * 10, v, 2, 1);
    }
    int64_t again[] = {80, 30, 50, 95};
    for (int i = 0; i < 4; i++) {
        buffer_value v[2] = {vtag(1, "a"), vf(2, 1.0)};
        append_ok(b, 0, 0, 3, again[i], v, 2, 1);
    }
    size_t n;
    buffer_chunk **cs = snap(b, 0, 0, &n);
    CHECK_INT(n, 1);
    CHECK(cs[0]->may_have_dups);
    CHECK_INT(cs[0]->dup_min, 30);
    CHECK_INT(cs[0]->dup_max, 80);
    buffer_snapshot_release(cs, n);
    buffer_free(b);
}

/* Appends n rows to table (1, 0): host tag h<i % 3>, a float, a string on even rows,
 * times 0..n-1; chunks of 8 rows. */
static buffer *delete_fixture(int n)
{
    buffer_options opt = {.chunk_rows = 8};
    buffer *b = buffer_new(&opt);
    for (int i = 0; i < n; i++) {
        char host[8];
        snprintf(host, sizeof host, "h%d", i % 3);
        buffer_value r[] = {vtag(1, host), vf(2, i), vstr(3, "s")};
        append_ok(b, 1, 0, 4, i, r, i % 2 ? 2 : 3, (uint64_t)i + 1);
    }
    return b;
}

static int delete_ok(buffer *b, const catalog_tombstone *t)
{
    buffer_delete *d = NULL;
    vg_err e;
    CHECK_INT(buffer_delete_prepare(b, t, &d, &e), VG_OK);
    int rows = (int)buffer_delete_rows(d);
    buffer_delete_commit(b, d);
    return rows;
}

/* Concatenates "host:value" of every buffered row, in table order. */
static void rows_of(buffer *b, char *out, size_t cap)
{
    size_t n;
    buffer_chunk **ch = snap(b, 1, 0, &n);
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < ch[i]->nrows; r++) {
            uint32_t len = 0;
            bool has_s = buffer_is_valid(&ch[i]->cols[3], r);
            if (has_s)
                str_at(ch[i], 3, r, &len);
            k += (size_t)snprintf(out + k, cap - k, "%s:%g%s ", tag_at(ch[i], 1, r),
                                  ch[i]->cols[2].v.f64[r], has_s && len == 1 ? "s" : "");
        }
    buffer_snapshot_release(ch, n);
}

/* Deletes by time range and tags rewrite the chunks in place: other rows, their
 * nulls and strings stay, chunks emptied go, readers keep the chunks they hold. */
static void test_delete_rows(void)
{
    size_t mem0 = vg_mem_used();
    buffer *b = delete_fixture(20);
    size_t n_held;
    buffer_chunk **held = snap(b, 1, 0, &n_held);
    CHECK_INT(n_held, 3);

    vg_str h1[1] = {VG_STR("h1")};
    catalog_tomb_pred p1 = {1, 1, h1};
    catalog_tombstone t = {.db_id = 1, .table_id = 0, .min_time = 3, .max_time = 12,
                           .npreds = 1, .preds = &p1};
    CHECK_INT(delete_ok(b, &t), 3); /* times 4, 7, 10 */
    CHECK_INT(buffer_row_count(b, 1, 0), 17);
    char got[1024];
    rows_of(b, got, sizeof got);
    CHECK_STR(got, "h0:0s h1:1 h2:2s h0:3 h2:5 h0:6s h2:8s h0:9 h2:11 h0:12s h1:13 h2:14s "
                   "h0:15 h1:16s h2:17 h0:18s h1:19 ");
    /* the held snapshot still has every row */
    CHECK_INT(held[0]->nrows + held[1]->nrows + held[2]->nrows, 20);
    buffer_snapshot_release(held, n_held);

    /* no match: nothing changes; a predicate value unknown to the chunk */
    vg_str nope[1] = {VG_STR("zz")};
    catalog_tomb_pred p2 = {1, 1, nope};
    catalog_tombstone none = {.db_id = 1, .table_id = 0, .min_time = INT64_MIN,
                              .max_time = INT64_MAX, .npreds = 1, .preds = &p2};
    CHECK_INT(delete_ok(b, &none), 0);
    /* a predicate on a column the table lacks matches nothing either */
    catalog_tomb_pred p3 = {9, 1, h1};
    none.preds = &p3;
    CHECK_INT(delete_ok(b, &none), 0);
    /* an unknown table: an empty plan */
    none.table_id = 5;
    CHECK_INT(delete_ok(b, &none), 0);

    /* the whole second chunk (times 8..15) goes; rows after it keep their order */
    catalog_tombstone mid = {.db_id = 1, .table_id = 0, .min_time = 8, .max_time = 15};
    CHECK_INT(delete_ok(b, &mid), 7);
    rows_of(b, got, sizeof got);
    CHECK_STR(got, "h0:0s h1:1 h2:2s h0:3 h2:5 h0:6s h1:16s h2:17 h0:18s h1:19 ");
    size_t n;
    buffer_chunk **ch = snap(b, 1, 0, &n);
    CHECK_INT(n, 2);
    CHECK(ch[0]->seq == 0 && ch[1]->seq == 2);
    CHECK(ch[0]->min_time == 0 && ch[0]->max_time == 6 && ch[1]->min_time == 16);
    buffer_snapshot_release(ch, n);

    /* rows written after a delete at the same (tags, time) stay */
    buffer_value r[] = {vtag(1, "h0"), vf(2, 100)};
    append_ok(b, 1, 0, 4, 0, r, 2, 50);
    catalog_tombstone all = {.db_id = 1, .table_id = 0, .min_time = INT64_MIN,
                             .max_time = INT64_MAX};
    CHECK_INT(delete_ok(b, &all), 11);
    CHECK_INT(buffer_row_count(b, 1, 0), 0);
    append_ok(b, 1, 0, 4, 0, r, 2, 51);
    rows_of(b, got, sizeof got);
    CHECK_STR(got, "h0:100 ");
    buffer_free(b);
    CHECK_INT(vg_mem_used(), mem0);
}

/* Every allocation of a delete fails in turn: the buffer is untouched, nothing
 * leaks; an aborted plan changes nothing either. */
static void test_delete_alloc_failures(void)
{
    size_t mem0 = vg_mem_used();
    vg_str h[2] = {VG_STR("h1"), VG_STR("h2")};
    catalog_tomb_pred p = {1, 2, h};
    catalog_tombstone t = {.db_id = 1, .table_id = 0, .min_time = 2, .max_time = 30,
                           .npreds = 1, .preds = &p};
    char want[1024], got[1024];
    for (long fail = 1; fail < 60; fail++) {
        buffer *b = delete_fixture(20);
        rows_of(b, want, sizeof want);
        buffer_delete *d = NULL;
        vg_err e;
        vg_mem_fail_after(fail);
        int rc = buffer_delete_prepare(b, &t, &d, &e);
        vg_mem_fail_after(0);
        rows_of(b, got, sizeof got);
        CHECK_STR(got, want);
        if (rc == VG_OK) {
            buffer_delete_abort(d);
            rows_of(b, got, sizeof got);
            CHECK_STR(got, want);
        } else {
            CHECK_INT(rc, VG_ENOMEM);
            CHECK(d == NULL);
        }
        buffer_free(b);
    }
    CHECK_INT(vg_mem_used(), mem0);
}

/* drop_table empties one table, readers keep what they hold. */
static void test_drop_table(void)
{
    size_t mem0 = vg_mem_used();
    buffer *b = delete_fixture(10);
    buffer_value r[] = {vf(2, 1)};
    append_ok(b, 1, 1, 4, 0, r, 1, 1);
    size_t n;
    buffer_chunk **held = snap(b, 1, 0, &n);
    buffer_drop_table(b, 1, 0);
    buffer_drop_table(b, 1, 7);
    CHECK_INT(buffer_row_count(b, 1, 0), 0);
    CHECK_INT(buffer_row_count(b, 1, 1), 1);
    CHECK_INT(held[0]->nrows, 8);
    buffer_snapshot_release(held, n);
    buffer_free(b);
    CHECK_INT(vg_mem_used(), mem0);
}

/* A loaded chunk (buffer_chunk_new_loaded ... loaded_finish): its time bounds wherever
 * the least and greatest times are (each lane of the four-way loop, the tail), and
 * NULL rows of a column zeroed when frozen, wherever they are (before, inside and after
 * runs of whole bytes of valid rows). */
static void test_loaded_chunk(void)
{
    for (uint32_t n = 1; n <= 23; n++) {
        for (uint32_t at = 0; at < n; at++) {
            buffer_chunk *c = buffer_chunk_new_loaded(1, 2, 2, n);
            CHECK(c != NULL);
            if (!c)
                return;
            buffer_column *t = &c->cols[0];
            for (uint32_t r = 0; r < n; r++) {
                t->v.i64[r] = 1000 + (int64_t)((r * 7) % 5);
                t->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
            }
            t->v.i64[at] = -5;             /* the least here ... */
            t->v.i64[n - 1 - at] += 50000; /* ... the greatest there (maybe the same row) */
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (uint32_t r = 0; r < n; r++) {
                lo = t->v.i64[r] < lo ? t->v.i64[r] : lo;
                hi = t->v.i64[r] > hi ? t->v.i64[r] : hi;
            }
            buffer_chunk_loaded_finish(c);
            CHECK(c->min_time == lo && c->max_time == hi && c->frozen);
            buffer_chunk_unref(c);
        }
    }
    enum { N = 200 };
    buffer_chunk *c = buffer_chunk_new_loaded(1, 2, 2, N);
    buffer_column *t = &c->cols[0], *v = buffer_chunk_column(c, 1, CATALOG_INT);
    CHECK(v != NULL);
    for (uint32_t r = 0; r < N; r++) {
        t->v.i64[r] = r;
        t->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
        v->v.i64[r] = 77; /* garbage where the row is NULL */
        bool null = r == 3 || r == 100 || r == 101 || r == 199;
        if (!null)
            v->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
    }
    buffer_chunk_loaded_finish(c);
    uint32_t bad = 0;
    for (uint32_t r = 0; r < N; r++) {
        bool null = r == 3 || r == 100 || r == 101 || r == 199;
        bad += v->v.i64[r] != (null ? 0 : 77);
    }
    CHECK_INT(bad, 0);
    buffer_chunk_unref(c);
}

TEST_MAIN(test_all_types_and_nulls, test_new_column_mid_chunk, test_rollover,
          test_snapshot_while_appending, test_dictionary_ids, test_strings,
          test_duplicate_values_in_row, test_rejected_rows, test_refcount_and_drop_db,
          test_alloc_failures, test_concurrent_snapshots, test_may_have_dups, test_delete_rows,
          test_delete_alloc_failures, test_drop_table, test_loaded_chunk)
