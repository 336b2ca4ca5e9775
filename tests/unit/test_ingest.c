/* Unit tests for ingest: the write path over a real catalog, WAL and buffer in a
 * temporary directory, line errors, schema extension, and replay equivalence. */
#include "buffer/buffer.h"
#include "catalog/catalog.h"
#include "ingest/ingest.h"
#include "test.h"
#include "wal/wal.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct env {
    char dir[64];
    char cat_dir[96];
    char wal_dir[96];
    catalog *cat;
    wal *w;
    buffer *buf;
    ingest *ig;
} env;

static bool compress_wal;

static void env_open(env *v)
{
    vg_err e;
    catalog_limits lim = {.max_databases = 3, .max_tables = 5, .max_columns_per_table = 6};
    CHECK_INT(catalog_open(v->cat_dir, &lim, &v->cat, &e), VG_OK);
    wal_options wo = {.dir = v->wal_dir};
    CHECK_INT(wal_open(&wo, &v->w, &e), VG_OK);
    v->buf = buffer_new(NULL);
    ingest_config ic = {.cat = v->cat, .wal = v->w, .buf = v->buf, .compress_wal = compress_wal};
    CHECK_INT(ingest_new(&ic, &v->ig, &e), VG_OK);
}

static void env_close(env *v)
{
    ingest_free(v->ig);
    wal_close(v->w);
    buffer_free(v->buf);
    catalog_close(v->cat);
}

static void env_init(env *v)
{
    snprintf(v->dir, sizeof v->dir, "/tmp/vigil-test-ingest-XXXXXX");
    CHECK(mkdtemp(v->dir) != NULL);
    snprintf(v->cat_dir, sizeof v->cat_dir, "%s/catalog", v->dir);
    snprintf(v->wal_dir, sizeof v->wal_dir, "%s/wal", v->dir);
    vg_err e;
    vg_mkdir_p(v->cat_dir, &e);
    env_open(v);
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    return remove(p);
}

static void env_destroy(env *v)
{
    env_close(v);
    nftw(v->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int write_lp(env *v, const char *db, const char *body, bool partial, ingest_result *res,
                    vg_arena *a, vg_err *e)
{
    ingest_request req = {.api = INGEST_API_V3, .db = db, .db_len = strlen(db), .body = body,
                          .body_len = strlen(body), .accept_partial = partial,
                          .now_ns = 1700000000123456789LL};
    return ingest_write(v->ig, &req, a, res, e);
}

static catalog_table *table(env *v, const char *db, const char *t)
{
    catalog_db *d = catalog_db_find(v->cat, db, strlen(db));
    return d ? catalog_table_find(d, t, strlen(t)) : NULL;
}

static uint64_t rows(env *v, const char *db, const char *t)
{
    catalog_db *d = catalog_db_find(v->cat, db, strlen(db));
    catalog_table *tt = d ? catalog_table_find(d, t, strlen(t)) : NULL;
    return tt ? buffer_row_count(v->buf, d->id, tt->id) : 0;
}

static void test_write_creates_schema(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "plant", "cpu,host=a usage=0.5,n=3i 1700000000\n"
                                    "cpu,host=b usage=0.7,n=4i 1700000001\n",
                       true, &res, &a, &e),
              VG_OK);
    CHECK_INT(res.lines_written, 2);
    CHECK_INT(res.nerrors, 0);
    catalog_table *t = table(&v, "plant", "cpu");
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(t->ncols, 4);
        CHECK_INT(catalog_column_find(t, "host", 4)->type, CATALOG_TAG);
        CHECK_INT(catalog_column_find(t, "usage", 5)->type, CATALOG_FLOAT);
        CHECK_INT(catalog_column_find(t, "n", 1)->type, CATALOG_INT);
    }
    CHECK_INT(rows(&v, "plant", "cpu"), 2);
    vg_arena_free(&a);
    env_destroy(&v);
}

static void test_type_conflict_is_a_line_error(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", "m,t=x f=1 1\nm,t=x f=\"s\" 2\nm f=2 3\nm t=1 4\n", true, &res,
                       &a, &e),
              VG_OK);
    CHECK_INT(res.lines_written, 2);
    CHECK_INT(res.nerrors, 2);
    if (res.nerrors == 2) {
        CHECK_INT(res.errors[0].line_no, 2);
        CHECK_STR(res.errors[0].msg, "invalid column type for column 'f', expected "
                                     "iox::column_type::field::float, got "
                                     "iox::column_type::field::string");
        CHECK_INT(res.errors[0].column, 7);
        CHECK_INT(res.errors[1].line_no, 4);
        CHECK_STR(res.errors[1].msg, "invalid column type for column 't', expected "
                                     "iox::column_type::tag, got "
                                     "iox::column_type::field::float");
    }
    CHECK_INT(rows(&v, "db", "m"), 2);
    vg_arena_free(&a);
    env_destroy(&v);
}

static void test_reserved_time_and_limits(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", "m time=1 1\nm a=1,b=2,c=3,d=4,e=5,g=6 2\n", true, &res, &a, &e),
              VG_OK);
    CHECK_INT(res.nerrors, 2);
    if (res.nerrors == 2) {
        CHECK_STR(res.errors[0].msg, "'time' is a reserved column");
        CHECK(!res.errors[0].limit);
        CHECK_STR(res.errors[1].msg, "Update to schema would exceed number of columns per table "
                                     "limit of 6 columns");
        CHECK(res.errors[1].limit);
    }
    vg_arena_free(&a);
    env_destroy(&v);
}

static void test_reject_whole_batch(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", "m f=1 1\nm f= 2\n", false, &res, &a, &e), VG_OK);
    CHECK(res.rejected_all);
    CHECK_INT(res.lines_written, 0);
    CHECK_INT(res.nerrors, 1);
    CHECK_INT(rows(&v, "db", "m"), 0);
    CHECK_INT(write_lp(&v, "db", "# only a comment\n\n", true, &res, &a, &e), VG_EINVAL);
    CHECK_STR(e.msg, "incoming write was empty");
    vg_arena_free(&a);
    env_destroy(&v);
}

static void test_replay_restores_rows(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", "m,t=a f=1 1\nm,t=a f=\"bad\" 2\nm,t=b f=3\n", true, &res, &a,
                       &e),
              VG_OK);
    CHECK_INT(write_lp(&v, "other", "x v=1i 5\n", true, &res, &a, &e), VG_OK);
    CHECK_INT(ingest_delete_database(v.ig, "other", 5, 0, &e), VG_OK);
    CHECK_INT(ingest_delete_database(v.ig, "other", 5, 0, &e), VG_ENOTFOUND);
    CHECK_STR(e.msg, "database not found: other");
    env_close(&v);
    env_open(&v);
    uint64_t n = 0;
    CHECK_INT(ingest_replay(v.ig, &n, &e), VG_OK);
    CHECK_INT(n, 1); /* the deleted database's record is skipped */
    CHECK_INT(rows(&v, "db", "m"), 2);
    catalog_db *d = catalog_db_find(v.cat, "db", 2);
    buffer_chunk **chunks;
    size_t nc;
    CHECK_INT(buffer_snapshot(v.buf, d->id, table(&v, "db", "m")->id, &chunks, &nc, &e), VG_OK);
    CHECK_INT(nc, 1);
    if (nc == 1) {
        /* Line 3 had no timestamp: replay must reuse the server time of the write. */
        CHECK_INT(chunks[0]->cols[0].v.i64[1], 1700000000123456789LL);
        CHECK_INT(chunks[0]->cols[0].v.i64[0], 1000000000LL); /* auto: 1 is seconds */
    }
    buffer_snapshot_release(chunks, nc);
    vg_arena_free(&a);
    env_destroy(&v);
}

/* A big body goes into the WAL LZ4-compressed and replays to the same rows. */
static void test_compressed_wal_replays(void)
{
    compress_wal = true;
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    vg_buf body;
    vg_buf_init(&body);
    for (int i = 0; i < 2000; i++)
        vg_buf_printf(&body, "fleet,site=s%d,device=d%d f0=%d.5,f1=%di %d\n", i % 10, i % 100,
                      i, i * 3, 1000 + i);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", body.data, true, &res, &a, &e), VG_OK);
    CHECK_INT(res.lines_written, 2000);
    wal_stats ws;
    wal_get_stats(v.w, &ws);
    CHECK(ws.bytes < body.len / 2); /* compressed well below the text */
    env_close(&v);
    env_open(&v);
    uint64_t n = 0;
    CHECK_INT(ingest_replay(v.ig, &n, &e), VG_OK);
    CHECK_INT(n, 1);
    CHECK_INT(rows(&v, "db", "fleet"), 2000);
    catalog_db *d = catalog_db_find(v.cat, "db", 2);
    buffer_chunk **chunks;
    size_t nc;
    CHECK_INT(buffer_snapshot(v.buf, d->id, table(&v, "db", "fleet")->id, &chunks, &nc, &e), VG_OK);
    if (nc == 1) {
        catalog_column *f1 = catalog_column_find(table(&v, "db", "fleet"), "f1", 2);
        CHECK_INT(chunks[0]->cols[f1->id].v.i64[1999], 1999 * 3);
        CHECK_INT(chunks[0]->cols[0].v.i64[1999], (1000 + 1999) * 1000000000LL);
    }
    buffer_snapshot_release(chunks, nc);
    vg_buf_free(&body);
    vg_arena_free(&a);
    env_destroy(&v);
    compress_wal = false;
}

static uint64_t replay_ok(env *v)
{
    vg_err e;
    uint64_t n = 0;
    CHECK_INT(ingest_replay(v->ig, &n, &e), VG_OK);
    return n;
}

/* Row deletes rewrite the buffer and write a WAL record; replay re-applies it at its
 * place (rows written after it stay) and records the tombstone in the catalog when a
 * crash came before the delete could (once). */
static void test_delete_rows_replay(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", "m,t=a f=1 1\nm,t=b f=2 1\nm,t=a f=3 2\nm f=4 2\n", true, &res,
                       &a, &e), VG_OK);
    catalog_table *m = table(&v, "db", "m");
    catalog_column *tag = catalog_column_find(m, "t", 1);
    vg_str vals[1] = {VG_STR("a")};
    catalog_tomb_pred pred = {tag->id, 1, vals};
    catalog_tombstone t = {.db_id = m->db_id, .table_id = m->id, .min_time = INT64_MIN,
                           .max_time = INT64_MAX, .npreds = 1, .preds = &pred};
    uint64_t seq = 0, removed = 0;
    CHECK_INT(ingest_delete_rows(v.ig, &t, &seq, &removed, &e), VG_OK);
    CHECK_INT(seq, 2);
    CHECK_INT(removed, 2);
    CHECK_INT(rows(&v, "db", "m"), 2);
    /* the same (tag set, time) written after the delete stays */
    CHECK_INT(write_lp(&v, "db", "m,t=a f=9 1\n", true, &res, &a, &e), VG_OK);
    CHECK_INT(rows(&v, "db", "m"), 3);
    CHECK_INT(m->ntombs, 0); /* persist records it; here that never happened */

    env_close(&v);
    env_open(&v);
    CHECK_INT(replay_ok(&v), 3);
    CHECK_INT(rows(&v, "db", "m"), 3);
    m = table(&v, "db", "m");
    CHECK_INT(m->ntombs, 1);
    if (m->ntombs == 1) {
        CHECK_INT(m->tombs[0]->wal_seq, 2);
        CHECK_INT(m->tombs[0]->id, 1);
        CHECK_INT(m->tombs[0]->npreds, 1);
    }
    catalog_db *d = catalog_db_find(v.cat, "db", 2);
    buffer_chunk **ch;
    size_t nc;
    CHECK_INT(buffer_snapshot(v.buf, d->id, m->id, &ch, &nc, &e), VG_OK);
    double sum = 0;
    for (size_t i = 0; i < nc; i++)
        for (uint32_t r = 0; r < ch[i]->nrows; r++)
            sum += ch[i]->cols[catalog_column_find(m, "f", 1)->id].v.f64[r];
    CHECK(sum == 2 + 4 + 9);
    buffer_snapshot_release(ch, nc);
    /* a second replay finds the tombstone there already */
    env_close(&v);
    env_open(&v);
    CHECK_INT(replay_ok(&v), 3);
    CHECK_INT(table(&v, "db", "m")->ntombs, 1);
    CHECK_INT(rows(&v, "db", "m"), 3);

    /* a delete of a table that is gone is refused and writes nothing */
    t.table_id = 9;
    CHECK_INT(ingest_delete_rows(v.ig, &t, &seq, &removed, &e), VG_ENOTFOUND);
    vg_arena_free(&a);
    env_destroy(&v);
}

/* A deleted table's rows do not come back by replay, not even into a new table of
 * the same name; rows written to that new table after the delete do. */
static void test_delete_table_replay(void)
{
    env v;
    env_init(&v);
    vg_arena a;
    vg_arena_init(&a, 4096);
    ingest_result res;
    vg_err e;
    CHECK_INT(write_lp(&v, "db", "gone v=1 1\nkeep v=1 1\n", true, &res, &a, &e), VG_OK);
    CHECK_INT(ingest_delete_table(v.ig, "db", "gone", 0, &e), VG_OK);
    CHECK_INT(ingest_delete_table(v.ig, "db", "gone", 0, &e), VG_ENOTFOUND);
    CHECK_STR(e.msg, "table not found: gone");
    CHECK_INT(ingest_delete_table(v.ig, "nodb", "gone", 0, &e), VG_ENOTFOUND);
    CHECK_STR(e.msg, "database not found: nodb");
    CHECK(table(&v, "db", "gone") == NULL);
    CHECK_INT(write_lp(&v, "db", "gone v=2 2\ngone v=3 3\n", true, &res, &a, &e), VG_OK);
    CHECK_INT(rows(&v, "db", "gone"), 2);
    CHECK_INT(table(&v, "db", "gone")->id, 2);
    env_close(&v);
    env_open(&v);
    CHECK_INT(replay_ok(&v), 2);
    CHECK_INT(rows(&v, "db", "gone"), 2);
    CHECK_INT(rows(&v, "db", "keep"), 1);
    catalog_db *d = catalog_db_find(v.cat, "db", 2);
    CHECK_INT(buffer_row_count(v.buf, d->id, 0), 0);
    CHECK_INT(catalog_table_count(v.cat), 2);
    vg_arena_free(&a);
    env_destroy(&v);
}

TEST_MAIN(test_write_creates_schema, test_type_conflict_is_a_line_error,
          test_reserved_time_and_limits, test_reject_whole_batch, test_replay_restores_rows,
          test_compressed_wal_replays, test_delete_rows_replay, test_delete_table_replay)
