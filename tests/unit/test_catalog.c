/* Unit tests for the catalog: persistence round trip, Core's name rules and limit
 * messages, reserved columns, soft delete, torn-tail cutting, corruption refusal,
 * lost uncommitted changes, allocation failures mid-mutation, and checkpoints (the
 * log rewritten as an image: same state after reopen, split records, leftover
 * temporary files, replay rules, torn tails after an image, the automatic trigger,
 * allocation failures). */
#include "catalog/catalog.h"
#include "test.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *tmp_dir(void)
{
    char *d = strdup("/tmp/vigil-cat-XXXXXX");
    if (!mkdtemp(d))
        abort();
    return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void rm_dir(char *d)
{
    nftw(d, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static char *log_path(const char *dir)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/catalog.log", dir);
    return p;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static char *read_all(const char *path, long *n)
{
    *n = file_size(path);
    char *b = malloc((size_t)*n + 1);
    FILE *f = fopen(path, "rb");
    if (!b || !f || fread(b, 1, (size_t)*n, f) != (size_t)*n)
        abort();
    fclose(f);
    return b;
}

static void write_all(const char *path, const char *b, long n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
}

static void flip_byte(const char *path, long off)
{
    long n;
    char *b = read_all(path, &n);
    b[off] ^= 0x5a;
    write_all(path, b, n);
    free(b);
}

/* A text picture of the whole catalog, to compare states exactly. */
static char *dump(catalog *c)
{
    vg_buf b;
    vg_buf_init(&b);
    vg_buf_printf(&b, "uuid %s live %u tables %u\n", catalog_uuid(c), catalog_live_db_count(c),
                  catalog_table_count(c));
    uint32_t n;
    catalog_db **dbs = catalog_dbs(c, &n);
    for (uint32_t i = 0; i < n; i++) {
        catalog_db *db = dbs[i];
        vg_buf_printf(&b, "db %u %s del=%d at=%lld ret=%lld hard=%lld\n", db->id, db->name,
                      db->deleted, (long long)db->deleted_at_ns, (long long)db->retention_ns,
                      (long long)db->hard_delete_at_ns);
        for (uint32_t t = 0; t < db->ntables; t++) {
            catalog_table *tb = db->tables[t];
            vg_buf_printf(&b, " table %u/%u %s ntags=%u\n", tb->db_id, tb->id, tb->name, tb->ntags);
            if (tb->deleted)
                vg_buf_printf(&b, "  deleted %s at=%lld wal=%llu hard=%lld\n", tb->orig_name,
                              (long long)tb->deleted_at_ns, (unsigned long long)tb->deleted_wal_seq,
                              (long long)tb->hard_delete_at_ns);
            for (uint32_t k = 0; k < tb->ntombs; k++) {
                const catalog_tombstone *ts = tb->tombs[k];
                vg_buf_printf(&b, "  tomb %llu wal=%llu [%lld, %lld]", (unsigned long long)ts->id,
                              (unsigned long long)ts->wal_seq, (long long)ts->min_time,
                              (long long)ts->max_time);
                for (uint32_t p = 0; p < ts->npreds; p++) {
                    vg_buf_printf(&b, " col%u in", ts->preds[p].col_id);
                    for (uint32_t v = 0; v < ts->preds[p].nvals; v++)
                        vg_buf_printf(&b, " '%.*s'", (int)ts->preds[p].vals[v].len,
                                      ts->preds[p].vals[v].ptr);
                }
                vg_buf_putc(&b, '\n');
            }
            for (uint32_t k = 0; k < tb->ncols; k++)
                vg_buf_printf(&b, "  col %u %s %s\n", tb->cols[k]->id, tb->cols[k]->name,
                              catalog_type_name(tb->cols[k]->type));
        }
    }
    char *out = strdup(b.data);
    vg_buf_free(&b);
    return out;
}

static catalog *open_ok(const char *dir, const catalog_limits *lim)
{
    catalog *c = NULL;
    vg_err e;
    vg_err_clear(&e);
    int rc = catalog_open(dir, lim, &c, &e);
    if (rc != VG_OK)
        printf("catalog_open: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
    return c;
}

static catalog_db *mk_db(catalog *c, const char *name)
{
    catalog_db *db = NULL;
    vg_err e;
    CHECK_INT(catalog_db_create(c, name, strlen(name), 0, &db, &e), VG_OK);
    return db;
}

static catalog_table *mk_table(catalog *c, catalog_db *db, const char *name)
{
    catalog_table *t = NULL;
    vg_err e;
    CHECK_INT(catalog_table_create(c, db, name, strlen(name), &t, &e), VG_OK);
    return t;
}

static catalog_column *mk_col(catalog *c, catalog_table *t, const char *name, catalog_type ty)
{
    catalog_column *col = NULL;
    vg_err e;
    CHECK_INT(catalog_column_add(c, t, name, strlen(name), ty, &col, &e), VG_OK);
    return col;
}

static void commit_ok(catalog *c)
{
    vg_err e;
    int rc = catalog_commit(c, &e);
    if (rc != VG_OK)
        printf("catalog_commit: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
}

/* ---- tests ---- */

static void test_type_names(void)
{
    CHECK_STR(catalog_type_iox_name(CATALOG_TAG), "iox::column_type::tag");
    CHECK_STR(catalog_type_iox_name(CATALOG_FLOAT), "iox::column_type::field::float");
    CHECK_STR(catalog_type_iox_name(CATALOG_INT), "iox::column_type::field::integer");
    CHECK_STR(catalog_type_iox_name(CATALOG_UINT), "iox::column_type::field::uinteger");
    CHECK_STR(catalog_type_iox_name(CATALOG_STRING), "iox::column_type::field::string");
    CHECK_STR(catalog_type_iox_name(CATALOG_BOOL), "iox::column_type::field::boolean");
    CHECK_STR(catalog_type_iox_name(CATALOG_TIME), "iox::column_type::timestamp");
    CHECK_STR(catalog_type_name(CATALOG_TAG), "tag");
    CHECK_STR(catalog_type_name(CATALOG_FLOAT), "float64");
    CHECK_STR(catalog_type_name(CATALOG_INT), "int64");
    CHECK_STR(catalog_type_name(CATALOG_UINT), "uint64");
    CHECK_STR(catalog_type_name(CATALOG_STRING), "utf8");
    CHECK_STR(catalog_type_name(CATALOG_BOOL), "bool");
    CHECK_STR(catalog_type_name(CATALOG_TIME), "time");
}

static void test_roundtrip(void)
{
    size_t mem0 = vg_mem_used();
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    const char *uuid = catalog_uuid(c);
    CHECK_INT(strlen(uuid), 36);
    CHECK(uuid[14] == '4');
    CHECK(strchr("89ab", uuid[19]) != NULL);
    CHECK_INT(uuid[8], '-');
    CHECK_INT(catalog_pending(c), 0);

    catalog_write_lock(c);
    vg_err e;
    catalog_db *db = NULL;
    CHECK_INT(catalog_db_create(c, "mydb", 4, 3600 * VG_NS_PER_SEC, &db, &e), VG_OK);
    catalog_table *cpu = mk_table(c, db, "cpu");
    CHECK_INT(cpu->id, 0);
    CHECK_INT(cpu->ncols, 1);
    CHECK_STR(cpu->cols[0]->name, "time");
    CHECK_INT(cpu->cols[0]->type, CATALOG_TIME);
    CHECK_INT(mk_col(c, cpu, "host", CATALOG_TAG)->id, 1);
    CHECK_INT(mk_col(c, cpu, "usage", CATALOG_FLOAT)->id, 2);
    CHECK_INT(mk_col(c, cpu, "region", CATALOG_TAG)->id, 3);
    mk_col(c, cpu, "count", CATALOG_INT);
    mk_col(c, cpu, "ucount", CATALOG_UINT);
    mk_col(c, cpu, "msg", CATALOG_STRING);
    mk_col(c, cpu, "ok", CATALOG_BOOL);
    CHECK_INT(cpu->ntags, 2);
    catalog_table *mem = mk_table(c, db, "mem");
    CHECK_INT(mem->id, 1);
    mk_col(c, mem, "free", CATALOG_INT);
    catalog_db *other = mk_db(c, "other/autogen");
    CHECK_INT(other->id, 1);
    CHECK_INT(catalog_pending(c), 12);
    commit_ok(c);
    CHECK_INT(catalog_pending(c), 0);
    CHECK_INT(catalog_live_db_count(c), 2);
    CHECK_INT(catalog_table_count(c), 2);
    catalog_write_unlock(c);

    char *before = dump(c);
    char uuid_before[37];
    snprintf(uuid_before, sizeof uuid_before, "%s", catalog_uuid(c));
    catalog_close(c);

    c = open_ok(dir, NULL);
    catalog_read_lock(c);
    CHECK_STR(catalog_uuid(c), uuid_before);
    char *after = dump(c);
    CHECK_STR(after, before);
    db = catalog_db_find(c, "mydb", 4);
    CHECK(db != NULL && db->id == 0 && db->retention_ns == 3600 * VG_NS_PER_SEC);
    cpu = catalog_table_find(db, "cpu", 3);
    CHECK(cpu != NULL && cpu->ncols == 8 && cpu->ntags == 2);
    catalog_column *col = catalog_column_find(cpu, "msg", 3);
    CHECK(col != NULL && col->id == 6 && col->type == CATALOG_STRING);
    CHECK(catalog_column_find(cpu, "time", 4) == cpu->cols[0]);
    CHECK(catalog_column_find(cpu, "nope", 4) == NULL);
    CHECK(catalog_db_find(c, "other/autogen", 13) == catalog_db_get(c, 1));
    CHECK(catalog_db_get(c, 2) == NULL);
    catalog_read_unlock(c);

    /* Ids continue densely after a reopen. */
    catalog_write_lock(c);
    CHECK_INT(mk_col(c, cpu, "extra", CATALOG_FLOAT)->id, 8);
    CHECK_INT(mk_table(c, db, "disk")->id, 2);
    CHECK_INT(mk_db(c, "third")->id, 2);
    commit_ok(c);
    catalog_write_unlock(c);
    free(before);
    free(after);
    before = dump(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    after = dump(c);
    CHECK_STR(after, before);
    free(before);
    free(after);
    catalog_close(c);
    rm_dir(dir);
    CHECK_INT(vg_mem_used(), mem0);
}

static void check_db_name(const char *name, size_t len, const char *msg)
{
    vg_err e;
    vg_err_clear(&e);
    int rc = catalog_validate_db_name(name, len, &e);
    if (!msg) {
        if (rc != VG_OK)
            printf("unexpected error for '%.*s': %s\n", (int)len, name, e.msg);
        CHECK_INT(rc, VG_OK);
        return;
    }
    CHECK_INT(rc, VG_EINVAL);
    CHECK_STR(e.msg, msg);
}

static void test_db_name_rules(void)
{
    const char *empty = "db name cannot be empty";
    const char *start = "db name did not start with a number or letter";
    const char *chr = "invalid character in database or rp name: must be ASCII, containing only "
                      "letters, numbers, underscores, or hyphens";
    const char *rp = "db name with invalid retention policy, if providing a retention policy "
                     "name, must be of form '<db_name>/<rp_name>'";
    check_db_name("", 0, empty);
    check_db_name("-", 1, start);
    check_db_name("_a/b/c", 6, start);
    check_db_name("?this_is_fine", 13, start);
    check_db_name("a.b", 3, chr);
    check_db_name("h\xc3\xa9llo", 6, chr);
    check_db_name("\xc3\xa9", 2, chr);
    check_db_name("a b", 3, chr);
    check_db_name("a.b/", 4, chr);
    check_db_name("\r\nab", 4, chr);
    check_db_name("x/", 2, rp);
    check_db_name("a//b", 4, rp);
    check_db_name("a/b/c", 5, rp);
    check_db_name("a", 1, NULL);
    check_db_name("1abc", 4, NULL);
    check_db_name("Ab-c_d", 6, NULL);
    check_db_name("db/rp", 5, NULL);
    char big[600];
    memset(big, 'a', sizeof big);
    check_db_name(big, 511, NULL);
    check_db_name(big, 512, "db name too long: max 511");

    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    vg_err e;
    catalog_db *db = NULL;
    CHECK_INT(catalog_db_create(c, "a.b", 3, 0, &db, &e), VG_EINVAL);
    CHECK_STR(e.msg, chr);
    CHECK_INT(catalog_db_create(c, "ok", 2, -1, &db, &e), VG_EINVAL);
    CHECK_STR(e.msg, "retention period cannot be negative");
    CHECK_INT(catalog_pending(c), 0);
    CHECK_INT(catalog_db_create(c, "ok", 2, 0, &db, &e), VG_OK);
    CHECK_INT(catalog_db_create(c, "ok", 2, 0, &db, &e), VG_EEXISTS);
    CHECK_STR(e.msg, "database 'ok' already exists");
    CHECK_INT(catalog_pending(c), 1);
    catalog_close(c);
    rm_dir(dir);
}

static void test_table_and_column_rules(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    vg_err e;
    catalog_db *db = mk_db(c, "db");
    catalog_table *t = NULL;
    CHECK_INT(catalog_table_create(c, db, "", 0, &t, &e), VG_EINVAL);
    CHECK_STR(e.msg, "table name cannot be empty");
    char *big = malloc(VG_LIMIT_NAME_BYTES + 1);
    memset(big, 'x', VG_LIMIT_NAME_BYTES + 1);
    CHECK_INT(catalog_table_create(c, db, big, VG_LIMIT_NAME_BYTES + 1, &t, &e), VG_EINVAL);
    CHECK_STR(e.msg, "table name too long: max 65536 bytes");
    CHECK_INT(catalog_table_create(c, db, big, VG_LIMIT_NAME_BYTES, &t, &e), VG_OK);
    CHECK_INT(t->name_len, VG_LIMIT_NAME_BYTES);
    t = mk_table(c, db, "cpu");
    CHECK_INT(catalog_table_create(c, db, "cpu", 3, &t, &e), VG_EEXISTS);
    CHECK_STR(e.msg, "table 'cpu' already exists in database 'db'");
    t = catalog_table_find(db, "cpu", 3);

    catalog_column *col = NULL;
    CHECK_INT(catalog_column_add(c, t, "time", 4, CATALOG_FLOAT, &col, &e), VG_EINVAL);
    CHECK_STR(e.msg, "'time' is a reserved column");
    CHECK_INT(catalog_column_add(c, t, "time", 4, CATALOG_TAG, &col, &e), VG_EINVAL);
    CHECK_STR(e.msg, "'time' is a reserved column");
    CHECK_INT(catalog_column_add(c, t, "__chunk_order", 13, CATALOG_INT, &col, &e), VG_EINVAL);
    CHECK_STR(e.msg, "'__chunk_order' is a reserved column");
    CHECK_INT(catalog_column_add(c, t, "", 0, CATALOG_INT, &col, &e), VG_EINVAL);
    CHECK_STR(e.msg, "column name cannot be empty");
    CHECK_INT(catalog_column_add(c, t, big, VG_LIMIT_NAME_BYTES + 1, CATALOG_INT, &col, &e),
              VG_EINVAL);
    CHECK_STR(e.msg, "column name too long: max 65536 bytes");
    CHECK_INT(catalog_column_add(c, t, "x", 1, CATALOG_TIME, &col, &e), VG_EINVAL);
    CHECK_STR(e.msg, "invalid type 0 for column 'x'");
    CHECK_INT(catalog_column_add(c, t, "x", 1, (catalog_type)42, &col, &e), VG_EINVAL);
    mk_col(c, t, "host", CATALOG_TAG);
    /* A tag and a field cannot share a name: one name, one column. */
    CHECK_INT(catalog_column_add(c, t, "host", 4, CATALOG_FLOAT, &col, &e), VG_EEXISTS);
    CHECK_STR(e.msg, "column 'host' already exists in table 'cpu'");
    CHECK_INT(catalog_column_add(c, t, "host", 4, CATALOG_TAG, &col, &e), VG_EEXISTS);
    CHECK_INT(t->ncols, 2);
    CHECK_INT(t->ntags, 1);
    /* "Time" differs from "time": names are case-sensitive. */
    CHECK_INT(mk_col(c, t, "Time", CATALOG_INT)->id, 2);
    free(big);
    catalog_close(c);
    rm_dir(dir);
}

static void test_limits(void)
{
    char *dir = tmp_dir();
    catalog_limits lim = {2, 3, 4, 0};
    catalog *c = open_ok(dir, &lim);
    vg_err e;
    catalog_db *a = mk_db(c, "a"), *b = mk_db(c, "b"), *x = NULL;
    CHECK_INT(catalog_db_create(c, "c", 1, 0, &x, &e), VG_ELIMIT);
    CHECK_STR(e.msg, "Adding a new database would exceed limit of 2 databases");

    mk_table(c, a, "t1");
    mk_table(c, a, "t2");
    catalog_table *t3 = mk_table(c, b, "t3");
    catalog_table *t = NULL;
    CHECK_INT(catalog_table_create(c, b, "t4", 2, &t, &e), VG_ELIMIT);
    CHECK_STR(e.msg, "Update to schema would exceed number of tables limit: attempted to create "
                     "table but already have 3 table(s) (limit: 3)");

    /* The column limit counts time. */
    mk_col(c, t3, "c1", CATALOG_TAG);
    mk_col(c, t3, "c2", CATALOG_FLOAT);
    mk_col(c, t3, "c3", CATALOG_BOOL);
    catalog_column *col = NULL;
    CHECK_INT(catalog_column_add(c, t3, "c4", 2, CATALOG_INT, &col, &e), VG_ELIMIT);
    CHECK_STR(e.msg, "Update to schema would exceed number of columns per table limit of 4 "
                     "columns");
    CHECK_INT(t3->ncols, 4);

    /* Deleted databases and their tables do not count. */
    CHECK_INT(catalog_db_delete(c, a, &e), VG_OK);
    CHECK_INT(catalog_live_db_count(c), 1);
    CHECK_INT(catalog_table_count(c), 1);
    x = mk_db(c, "c");
    mk_table(c, x, "t4");
    mk_table(c, x, "t5");
    CHECK_INT(catalog_table_create(c, x, "t6", 2, &t, &e), VG_ELIMIT);
    CHECK_STR(e.msg, "Update to schema would exceed number of tables limit: attempted to create "
                     "table but already have 3 table(s) (limit: 3)");
    CHECK_INT(catalog_db_create(c, "d", 1, 0, &x, &e), VG_ELIMIT);
    commit_ok(c);
    catalog_close(c);

    /* Limits apply to new objects only: lower limits still load a bigger catalog. */
    catalog_limits tiny = {1, 1, 2, 0};
    c = open_ok(dir, &tiny);
    CHECK_INT(catalog_live_db_count(c), 2);
    CHECK_INT(catalog_table_count(c), 3);
    catalog_close(c);
    rm_dir(dir);
}

static void test_default_limits(void)
{
    char *dir = tmp_dir();
    catalog_limits lim = {0, 0, 1, 0};
    catalog *c = open_ok(dir, &lim);
    vg_err e;
    catalog_db *db = mk_db(c, "db");
    catalog_table *t = mk_table(c, db, "t");
    catalog_column *col;
    CHECK_INT(catalog_column_add(c, t, "f", 1, CATALOG_FLOAT, &col, &e), VG_ELIMIT);
    CHECK_STR(e.msg, "Update to schema would exceed number of columns per table limit of 1 "
                     "columns");
    for (int i = 1; i < VG_DEFAULT_MAX_DATABASES; i++) {
        char name[32];
        snprintf(name, sizeof name, "db%d", i);
        CHECK_INT(catalog_db_create(c, name, strlen(name), 0, &db, &e), VG_OK);
    }
    CHECK_INT(catalog_db_create(c, "last", 4, 0, &db, &e), VG_ELIMIT);
    CHECK_STR(e.msg, "Adding a new database would exceed limit of 10000 databases");
    catalog_close(c);
    rm_dir(dir);
}

static void test_soft_delete(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    vg_err e;
    catalog_db *foo = mk_db(c, "foo");
    mk_table(c, foo, "cpu");
    mk_db(c, "bar");
    commit_ok(c);

    int64_t t0 = vg_now_ns();
    CHECK_INT(catalog_db_delete(c, foo, &e), VG_OK);
    int64_t t1 = vg_now_ns();
    CHECK(foo->deleted);
    CHECK(foo->deleted_at_ns >= t0 && foo->deleted_at_ns <= t1);
    time_t secs = (time_t)(foo->deleted_at_ns / VG_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char want[64];
    strftime(want, sizeof want, "foo-%Y%m%dT%H%M%S", &tm);
    CHECK_STR(foo->name, want);
    CHECK_INT(foo->name_len, strlen(want));
    CHECK_INT(strlen(want), 3 + 1 + 15);
    CHECK(catalog_db_find(c, "foo", 3) == NULL);
    CHECK(catalog_db_find(c, want, strlen(want)) == NULL);
    CHECK(catalog_db_get(c, 0) == foo);

    /* A deleted database refuses changes. */
    CHECK_INT(catalog_db_delete(c, foo, &e), VG_EEXISTS);
    CHECK_INT(catalog_table_create(c, foo, "mem", 3, NULL, &e), VG_ENOTFOUND);
    CHECK_INT(catalog_column_add(c, foo->tables[0], "x", 1, CATALOG_INT, NULL, &e), VG_ENOTFOUND);
    CHECK_INT(catalog_db_set_retention(c, foo, 1, &e), VG_ENOTFOUND);

    /* The name is free again, with a new id. */
    catalog_db *foo2 = mk_db(c, "foo");
    CHECK_INT(foo2->id, 2);
    CHECK(catalog_db_find(c, "foo", 3) == foo2);
    CHECK_INT(catalog_db_set_retention(c, foo2, 7 * 24 * 3600 * VG_NS_PER_SEC, &e), VG_OK);
    commit_ok(c);
    char *before = dump(c);
    catalog_close(c);

    c = open_ok(dir, NULL);
    char *after = dump(c);
    CHECK_STR(after, before);
    CHECK(catalog_db_get(c, 0)->deleted);
    CHECK_STR(catalog_db_get(c, 0)->name, want);
    CHECK(catalog_db_find(c, "foo", 3) == catalog_db_get(c, 2));
    /* Ids are never reused, even for the newest database after it is deleted. */
    CHECK_INT(catalog_db_delete(c, catalog_db_get(c, 2), &e), VG_OK);
    commit_ok(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    CHECK_INT(mk_db(c, "foo")->id, 3);
    CHECK_INT(catalog_live_db_count(c), 2);
    free(before);
    free(after);
    catalog_close(c);
    rm_dir(dir);
}

/* Tombstones: added with their predicates, found by WAL record, encoded and decoded,
 * removed, and all of it survives a reopen; their ids push file ids past them. */
static void test_tombstones(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    vg_err e;
    catalog_db *db = mk_db(c, "plant");
    catalog_table *t = mk_table(c, db, "temp");
    mk_col(c, t, "machine", CATALOG_TAG);
    mk_col(c, t, "celsius", CATALOG_FLOAT);
    mk_col(c, t, "line", CATALOG_TAG);
    commit_ok(c);

    vg_str machines[2] = {VG_STR("m1"), VG_STR("")};
    vg_str lines[1] = {VG_STR("l,0 'x'")};
    catalog_tomb_pred preds[2] = {{1, 2, machines}, {3, 1, lines}};
    catalog_tombstone ts = {.db_id = db->id, .table_id = t->id, .wal_seq = 17,
                            .min_time = -5, .max_time = INT64_MAX, .npreds = 2, .preds = preds};
    ts.id = catalog_file_id_next(c);
    CHECK_INT(ts.id, 1);
    CHECK_INT(catalog_tombstone_add(c, &ts, &e), VG_OK);
    catalog_tombstone all = {.id = catalog_file_id_next(c), .db_id = db->id, .table_id = t->id,
                             .min_time = INT64_MIN, .max_time = 99};
    CHECK_INT(catalog_tombstone_add(c, &all, &e), VG_OK);
    /* a predicate on a field, or an unknown table, is refused */
    catalog_tomb_pred on_field = {2, 1, machines};
    catalog_tombstone bad = {.id = 9, .db_id = db->id, .table_id = t->id, .npreds = 1,
                             .preds = &on_field};
    CHECK_INT(catalog_tombstone_add(c, &bad, &e), VG_EINVAL);
    bad.table_id = 7;
    bad.npreds = 0;
    CHECK_INT(catalog_tombstone_add(c, &bad, &e), VG_ENOTFOUND);
    commit_ok(c);
    CHECK_INT(t->ntombs, 2);
    CHECK(catalog_tombstone_by_wal(t, 17) == t->tombs[0]);
    CHECK(catalog_tombstone_by_wal(t, 0) == NULL);
    CHECK(catalog_tombstone_by_wal(t, 18) == NULL);

    /* the byte form round-trips, and a byte short or long is corrupt */
    size_t n = catalog_tombstone_encoded_size(&ts);
    uint8_t *bytes = malloc(n + 1);
    catalog_tombstone_encode(&ts, bytes);
    catalog_tombstone *back = NULL;
    CHECK_INT(catalog_tombstone_decode(bytes, n, &back), VG_OK);
    CHECK(back && back->id == 1 && back->wal_seq == 17 && back->min_time == -5 &&
          back->max_time == INT64_MAX && back->npreds == 2);
    if (back && back->npreds == 2) {
        CHECK_INT(back->preds[0].nvals, 2);
        CHECK_MEM(back->preds[0].vals[0].ptr, back->preds[0].vals[0].len, "m1");
        CHECK_INT(back->preds[0].vals[1].len, 0);
        CHECK_MEM(back->preds[1].vals[0].ptr, back->preds[1].vals[0].len, "l,0 'x'");
    }
    catalog_tombstone_free(back);
    back = NULL;
    CHECK_INT(catalog_tombstone_decode(bytes, n - 1, &back), VG_ECORRUPT);
    CHECK_INT(catalog_tombstone_decode(bytes, n + 1, &back), VG_ECORRUPT);
    CHECK(back == NULL);
    free(bytes);

    char *before = dump(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    char *after = dump(c);
    CHECK_STR(after, before);
    CHECK(strstr(after, "  tomb 1 wal=17 [-5, 9223372036854775807] col1 in 'm1' '' col3 in "
                        "'l,0 'x''\n") != NULL);
    /* file ids continue after the tombstones' */
    catalog_write_lock(c);
    CHECK_INT(catalog_file_id_next(c), 3);
    t = catalog_db_get(c, 0)->tables[0];
    CHECK_INT(catalog_tombstone_remove(c, t, 1, &e), VG_OK);
    CHECK_INT(catalog_tombstone_remove(c, t, 1, &e), VG_ENOTFOUND);
    catalog_write_unlock(c);
    commit_ok(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    t = catalog_db_get(c, 0)->tables[0];
    CHECK_INT(t->ntombs, 1);
    CHECK_INT(t->tombs[0]->id, 2);
    CHECK_INT(t->tombs[0]->npreds, 0);
    free(before);
    free(after);
    catalog_close(c);
    rm_dir(dir);
}

/* A table's soft delete frees its name, keeps its id and files, remembers the WAL
 * position; hard-delete times of tables and databases are durable. */
static void test_table_delete(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    vg_err e;
    catalog_db *db = mk_db(c, "plant");
    catalog_table *t = mk_table(c, db, "temp");
    mk_col(c, t, "machine", CATALOG_TAG);
    mk_table(c, db, "other");
    commit_ok(c);
    CHECK_INT(catalog_table_count(c), 2);
    CHECK_INT(catalog_table_set_hard_delete(c, t, 5, &e), VG_EINVAL);
    CHECK_INT(catalog_table_delete(c, t, 42, &e), VG_OK);
    CHECK_INT(catalog_table_delete(c, t, 43, &e), VG_EEXISTS);
    CHECK(t->deleted && t->deleted_wal_seq == 42);
    CHECK_STR(t->orig_name, "temp");
    CHECK(strncmp(t->name, "temp-", 5) == 0 && strlen(t->name) == 4 + 1 + 15);
    CHECK(catalog_table_find(db, "temp", 4) == NULL);
    CHECK(catalog_table_find(db, t->name, t->name_len) == NULL);
    CHECK_INT(catalog_table_count(c), 1);
    CHECK(catalog_table_deleted_after(db, "temp", 4, 42));
    CHECK(catalog_table_deleted_after(db, "temp", 4, 1));
    CHECK(!catalog_table_deleted_after(db, "temp", 4, 43));
    CHECK(!catalog_table_deleted_after(db, "other", 5, 1));
    CHECK_INT(catalog_column_add(c, t, "x", 1, CATALOG_INT, NULL, &e), VG_ENOTFOUND);
    CHECK_INT(catalog_table_set_hard_delete(c, t, 1234, &e), VG_OK);
    /* the name is free again: a new table with a new id */
    catalog_table *t2 = mk_table(c, db, "temp");
    CHECK_INT(t2->id, 2);
    CHECK_INT(catalog_db_set_hard_delete(c, db, 5, &e), VG_EINVAL);
    commit_ok(c);
    CHECK_INT(catalog_db_delete(c, db, &e), VG_OK);
    CHECK_INT(catalog_table_count(c), 0);
    CHECK_INT(catalog_table_delete(c, t2, 50, &e), VG_ENOTFOUND);
    CHECK_INT(catalog_db_set_hard_delete(c, db, 777, &e), VG_OK);
    commit_ok(c);
    char *before = dump(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    char *after = dump(c);
    CHECK_STR(after, before);
    db = catalog_db_get(c, 0);
    CHECK_INT(db->hard_delete_at_ns, 777);
    CHECK_INT(db->tables[0]->hard_delete_at_ns, 1234);
    CHECK(db->tables[0]->deleted && !db->tables[2]->deleted);
    CHECK_INT(catalog_table_count(c), 0);
    CHECK(catalog_table_deleted_after(db, "temp", 4, 42));
    free(before);
    free(after);
    catalog_close(c);
    rm_dir(dir);
}

/* Builds a committed state, then one more commit; returns the log sizes before and
 * after that last commit, and the dump of the state before it. */
static char *two_states(const char *dir, long *size_a, long *size_b, char **dump_b)
{
    catalog *c = open_ok(dir, NULL);
    catalog_db *db = mk_db(c, "db");
    catalog_table *t = mk_table(c, db, "cpu");
    mk_col(c, t, "host", CATALOG_TAG);
    commit_ok(c);
    mk_col(c, t, "usage", CATALOG_FLOAT);
    commit_ok(c);
    char *state_a = dump(c);
    *size_a = file_size(log_path(dir));
    catalog_db *db2 = mk_db(c, "db2");
    catalog_table *t2 = mk_table(c, db2, "mem");
    mk_col(c, t2, "free", CATALOG_INT);
    mk_col(c, t, "region", CATALOG_TAG);
    CHECK_INT(catalog_db_delete(c, db, NULL), VG_OK);
    commit_ok(c);
    *dump_b = dump(c);
    *size_b = file_size(log_path(dir));
    catalog_close(c);
    return state_a;
}

static void test_torn_tail(void)
{
    vg_log_set_filter("error", NULL);
    char *dir = tmp_dir();
    const char *path = log_path(dir);
    long size_a, size_b;
    char *state_b;
    char *state_a = two_states(dir, &size_a, &size_b, &state_b);
    CHECK(size_b > size_a + 8);
    long n;
    char *full = read_all(path, &n);
    CHECK_INT(n, size_b);

    for (long cut = size_a; cut < size_b; cut++) {
        write_all(path, full, cut);
        catalog *c = open_ok(dir, NULL);
        if (!c)
            break;
        char *got = dump(c);
        CHECK_STR(got, state_a);
        CHECK_INT(catalog_pending(c), 0);
        catalog_close(c);
        free(got);
        CHECK_INT(file_size(path), size_a);
    }

    /* The whole log gives the later state. */
    write_all(path, full, n);
    catalog *c = open_ok(dir, NULL);
    char *got = dump(c);
    CHECK_STR(got, state_b);
    catalog_close(c);
    free(got);

    /* A tail of zeros (a file extended but never written) is cut too. */
    char *padded = calloc(1, (size_t)n + 4096);
    memcpy(padded, full, (size_t)n);
    write_all(path, padded, n + 4096);
    c = open_ok(dir, NULL);
    got = dump(c);
    CHECK_STR(got, state_b);
    CHECK_INT(file_size(path), size_b);
    catalog_close(c);
    free(got);
    free(padded);

    /* So is a long tail of random bytes, quickly. */
    long junk = 4 << 20;
    char *noisy = malloc((size_t)(n + junk));
    memcpy(noisy, full, (size_t)n);
    uint64_t x = 88172645463325252ull;
    for (long i = n; i < n + junk; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noisy[i] = (char)x;
    }
    write_all(path, noisy, n + junk);
    int64_t t0 = vg_mono_ns();
    c = open_ok(dir, NULL);
    CHECK(vg_mono_ns() - t0 < 2 * VG_NS_PER_SEC);
    got = dump(c);
    CHECK_STR(got, state_b);
    CHECK_INT(file_size(path), size_b);
    catalog_close(c);
    free(got);
    free(noisy);

    /* A damaged byte in the last record cuts that whole commit. */
    write_all(path, full, n);
    flip_byte(path, size_b - 3);
    c = open_ok(dir, NULL);
    got = dump(c);
    CHECK_STR(got, state_a);
    CHECK_INT(file_size(path), size_a);
    free(got);

    /* Commits after a cut land where the cut was, and survive a reopen. */
    mk_db(c, "after");
    commit_ok(c);
    char *state_c = dump(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    got = dump(c);
    CHECK_STR(got, state_c);
    catalog_close(c);
    free(got);
    free(state_c);

    /* A log cut inside its very first record starts over with a new UUID. */
    write_all(path, full, 10);
    c = open_ok(dir, NULL);
    CHECK_INT(catalog_live_db_count(c), 0);
    CHECK_INT(strlen(catalog_uuid(c)), 36);
    catalog_close(c);

    free(full);
    free(state_a);
    free(state_b);
    rm_dir(dir);
    vg_log_set_filter("info", NULL);
}

static void test_corrupt_middle(void)
{
    char *dir = tmp_dir();
    const char *path = log_path(dir);
    long size_a, size_b;
    char *state_b;
    char *state_a = two_states(dir, &size_a, &size_b, &state_b);
    long n;
    char *full = read_all(path, &n);

    /* The record before the last: find its start by walking the lengths. */
    long off = 0, prev = 0;
    while (off < size_a) {
        uint32_t len;
        memcpy(&len, full + off, 4);
        prev = off;
        off += 8 + (long)len;
    }
    CHECK_INT(off, size_a);

    char want[4400];
    snprintf(want, sizeof want, "catalog log '%s' is corrupt at offset %ld (checksum mismatch)",
             path, prev);
    flip_byte(path, prev + 12);
    catalog *c = NULL;
    vg_err e;
    CHECK_INT(catalog_open(dir, NULL, &c, &e), VG_ECORRUPT);
    CHECK(c == NULL);
    CHECK(strncmp(e.msg, want, strlen(want)) == 0);
    CHECK(strstr(e.msg, "not a torn write") != NULL);
    CHECK_INT(file_size(path), size_b); /* refused, not cut */

    /* A damaged length field is caught the same way. */
    write_all(path, full, n);
    flip_byte(path, prev + 1);
    CHECK_INT(catalog_open(dir, NULL, &c, &e), VG_ECORRUPT);
    snprintf(want, sizeof want, "catalog log '%s' is corrupt at offset %ld (", path, prev);
    CHECK(strncmp(e.msg, want, strlen(want)) == 0);
    CHECK_INT(file_size(path), size_b);

    /* So is a checksum-valid record that breaks the catalog's rules: a second log
     * glued onto the first starts with another catalog-created change. */
    write_all(path, full, n);
    char *twice = malloc((size_t)n * 2);
    memcpy(twice, full, (size_t)n);
    memcpy(twice + n, full, (size_t)n);
    write_all(path, twice, n * 2);
    CHECK_INT(catalog_open(dir, NULL, &c, &e), VG_ECORRUPT);
    snprintf(want, sizeof want, "catalog log '%s' is corrupt at offset %ld (commit 1, change 0)",
             path, n);
    CHECK(strncmp(e.msg, want, strlen(want)) == 0);
    free(twice);

    free(full);
    free(state_a);
    free(state_b);
    rm_dir(dir);
}

static void test_uncommitted_lost(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    catalog_db *db = mk_db(c, "kept");
    commit_ok(c);
    long size = file_size(log_path(dir));
    commit_ok(c); /* nothing queued: no write */
    CHECK_INT(file_size(log_path(dir)), size);
    char *state = dump(c);
    mk_table(c, db, "lost_table");
    mk_db(c, "lost");
    CHECK_INT(catalog_db_set_retention(c, db, 5, NULL), VG_OK);
    CHECK_INT(catalog_pending(c), 3);
    catalog_close(c);
    c = open_ok(dir, NULL);
    char *got = dump(c);
    CHECK_STR(got, state);
    CHECK(catalog_db_find(c, "lost", 4) == NULL);
    catalog_close(c);
    free(state);
    free(got);
    rm_dir(dir);
}

static void test_single_opener(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL), *c2 = NULL;
    vg_err e;
    CHECK_INT(catalog_open(dir, NULL, &c2, &e), VG_EIO);
    CHECK(strstr(e.msg, "in use by another process") != NULL);
    catalog_close(c);
    c2 = open_ok(dir, NULL);
    catalog_close(c2);
    rm_dir(dir);
}

/* Fails each allocation of a run of mutations in turn: every mutation either
 * succeeds or changes nothing, so what was committed always replays identically. */
static void test_alloc_failures(void)
{
    size_t mem0 = vg_mem_used();
    for (long fail = 1; fail < 60; fail++) {
        char *dir = tmp_dir();
        catalog *c = open_ok(dir, NULL);
        vg_mem_fail_after(fail);
        catalog_db *db = NULL;
        catalog_table *t = NULL;
        catalog_column *col;
        for (int i = 0; i < 3; i++) {
            char name[16];
            snprintf(name, sizeof name, "db%d", i);
            if (catalog_db_create(c, name, strlen(name), 0, &db, NULL) != VG_OK)
                db = catalog_db_find(c, name, strlen(name));
            if (!db)
                continue;
            if (catalog_table_create(c, db, "t", 1, &t, NULL) != VG_OK)
                t = catalog_table_find(db, "t", 1);
            if (!t)
                continue;
            catalog_column_add(c, t, "a", 1, CATALOG_TAG, &col, NULL);
            catalog_column_add(c, t, "b", 1, CATALOG_FLOAT, &col, NULL);
            vg_str vals[2] = {VG_STR("x"), VG_STR("yy")};
            catalog_tomb_pred pred = {1, 2, vals};
            catalog_tombstone ts = {.id = 100 + (uint64_t)i, .db_id = db->id, .table_id = t->id,
                                    .min_time = 1, .max_time = 2, .npreds = 1, .preds = &pred};
            if (t->ncols > 1 && t->cols[1]->type == CATALOG_TAG)
                catalog_tombstone_add(c, &ts, NULL);
            if (i == 1)
                catalog_table_delete(c, t, 9, NULL);
        }
        if (db)
            catalog_db_delete(c, db, NULL);
        vg_mem_fail_after(0);
        commit_ok(c);
        char *state = dump(c);
        catalog_close(c);
        c = open_ok(dir, NULL);
        char *got = dump(c);
        CHECK_STR(got, state);
        free(state);
        free(got);
        catalog_close(c);
        rm_dir(dir);
    }
    CHECK_INT(vg_mem_used(), mem0);
}

/* ---- checkpoints ---- */

static char *tmp_log_path(const char *dir)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/catalog.log.tmp", dir);
    return p;
}

/* (log_path and tmp_log_path return static buffers: the source is read first.) */
static void copy_file(const char *from, const char *to)
{
    long n;
    char *b = read_all(from, &n);
    char dst[4200];
    snprintf(dst, sizeof dst, "%s", to);
    write_all(dst, b, n);
    free(b);
}

/* dump() plus what it leaves out: files with every field and statistic, the
 * persisted mark, triggers. */
static char *dump_full(catalog *c)
{
    char *base = dump(c);
    vg_buf b;
    vg_buf_init(&b);
    vg_buf_puts(&b, base);
    free(base);
    vg_buf_printf(&b, "persisted %llu\n", (unsigned long long)catalog_persisted_seq(c));
    uint32_t n;
    catalog_db **dbs = catalog_dbs(c, &n);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t t = 0; t < dbs[i]->ntables; t++) {
            catalog_table *tb = dbs[i]->tables[t];
            for (uint32_t k = 0; k < tb->nfiles; k++) {
                const catalog_file *f = tb->files[k];
                vg_buf_printf(
                    &b, "file %llu %u/%u order=%llu [%lld, %lld] rows=%llu bytes=%llu %s\n",
                    (unsigned long long)f->id, f->db_id, f->table_id, (unsigned long long)f->order,
                    (long long)f->min_time, (long long)f->max_time, (unsigned long long)f->rows,
                    (unsigned long long)f->bytes, f->path);
                for (uint32_t s = 0; s < f->nstats; s++) {
                    const catalog_col_stats *st = &f->stats[s];
                    vg_buf_printf(&b, " stat col%u type=%d nulls=%llu mm=%d", st->col_id,
                                  (int)st->type, (unsigned long long)st->null_count,
                                  st->has_minmax);
                    if (st->has_minmax && (st->type == CATALOG_TAG || st->type == CATALOG_STRING))
                        vg_buf_printf(&b, " '%.*s' '%.*s'", (int)st->smin_len, st->smin,
                                      (int)st->smax_len, st->smax);
                    else if (st->has_minmax)
                        vg_buf_printf(&b, " %016llx %016llx", (unsigned long long)st->min.u,
                                      (unsigned long long)st->max.u);
                    vg_buf_putc(&b, '\n');
                }
            }
        }
    }
    catalog_trigger **tr = catalog_triggers(c, &n);
    for (uint32_t i = 0; i < n; i++) {
        const catalog_trigger *t = tr[i];
        vg_buf_printf(&b, "trigger %u db=%u %s %s %s async=%d eb=%d disabled=%d deleted=%d", t->id,
                      t->db_id, t->name, t->plugin, t->spec, t->run_async, (int)t->error_behavior,
                      t->disabled, t->deleted);
        for (uint32_t a = 0; a < t->nargs; a++)
            vg_buf_printf(&b, " %s='%s'", t->args[a].key, t->args[a].value);
        vg_buf_putc(&b, '\n');
    }
    char *out = strdup(b.data);
    vg_buf_free(&b);
    return out;
}

/* Closes c and opens its directory again: the same state (the log replays to what
 * memory held). */
static void closes_and_reopens_the_same(catalog *c, const char *dir)
{
    char *before = dump_full(c);
    catalog_close(c);
    c = open_ok(dir, NULL);
    char *after = dump_full(c);
    CHECK_STR(after, before);
    free(before);
    free(after);
    catalog_close(c);
}

static int checkpoint_now(catalog *c, vg_err *e)
{
    catalog_write_lock(c);
    int rc = catalog_checkpoint(c, e);
    catalog_write_unlock(c);
    return rc;
}

/* A file of table t with one statistic of every kind: numbers of each type, strings
 * (one empty), a column with no min/max. */
static uint64_t add_file(catalog *c, catalog_table *t, uint64_t order, const char *path)
{
    catalog_col_stats st[6];
    memset(st, 0, sizeof st);
    st[0] = (catalog_col_stats){.col_id = 0, .type = CATALOG_TIME, .has_minmax = true};
    st[0].min.i = -7;
    st[0].max.i = INT64_MAX;
    st[1] = (catalog_col_stats){.col_id = 1,
                                .type = CATALOG_TAG,
                                .null_count = 3,
                                .has_minmax = true,
                                .smin = "",
                                .smin_len = 0,
                                .smax = "zz",
                                .smax_len = 2};
    st[2] = (catalog_col_stats){.col_id = 2, .type = CATALOG_FLOAT, .has_minmax = true};
    st[2].min.f = -1.5;
    st[2].max.f = 1e300;
    st[3] = (catalog_col_stats){.col_id = 4, .type = CATALOG_UINT, .has_minmax = true};
    st[3].min.u = 1;
    st[3].max.u = UINT64_MAX;
    st[4] = (catalog_col_stats){
        .col_id = 5, .type = CATALOG_STRING, .null_count = 9, .has_minmax = false};
    st[5] = (catalog_col_stats){.col_id = 6, .type = CATALOG_BOOL, .has_minmax = true};
    st[5].max.u = 1;
    uint64_t id = catalog_file_id_next(c);
    catalog_file f = {.id = id,
                      .db_id = t->db_id,
                      .table_id = t->id,
                      .order = order ? order : id,
                      .min_time = -7,
                      .max_time = (int64_t)id * 1000,
                      .rows = id * 10,
                      .bytes = id * 100,
                      .path = (char *)path,
                      .nstats = 6,
                      .stats = st};
    vg_err e;
    CHECK_INT(catalog_file_add(c, &f, &e), VG_OK);
    return id;
}

static void add_trigger(catalog *c, catalog_db *db, const char *name, bool disabled,
                        catalog_trigger **out)
{
    catalog_trigger_arg args[2] = {{"threshold", "90"}, {"empty", ""}};
    catalog_trigger_def def = {.name = name,
                               .plugin = "p.py",
                               .spec = "every:10s",
                               .args = args,
                               .nargs = 2,
                               .run_async = !disabled,
                               .error_behavior = CATALOG_ON_ERROR_RETRY,
                               .disabled = disabled};
    vg_err e;
    CHECK_INT(catalog_trigger_create(c, db, &def, out, &e), VG_OK);
}

/* Builds a catalog with something of everything: live, soft- and hard-deleted
 * databases, a deleted table and one re-created under its name, columns of every
 * type, files (some removed, the newest among them), tombstones (one removed),
 * triggers (one disabled, one deleted and its name taken again), retention, the
 * persisted mark, and a log made long by churn. Returns with everything committed. */
static void build_rich(catalog *c, int churn)
{
    vg_err e;
    catalog_write_lock(c);
    catalog_db *alpha = mk_db(c, "alpha");
    CHECK_INT(catalog_db_set_retention(c, alpha, 3600 * VG_NS_PER_SEC, &e), VG_OK);
    catalog_db *beta = mk_db(c, "beta");
    catalog_db *gamma = mk_db(c, "gamma");
    catalog_table *cpu = mk_table(c, alpha, "cpu");
    mk_col(c, cpu, "host", CATALOG_TAG);
    mk_col(c, cpu, "usage", CATALOG_FLOAT);
    mk_col(c, cpu, "count", CATALOG_INT);
    mk_col(c, cpu, "bytes", CATALOG_UINT);
    mk_col(c, cpu, "msg", CATALOG_STRING);
    mk_col(c, cpu, "up", CATALOG_BOOL);
    mk_col(c, cpu, "region", CATALOG_TAG);
    catalog_table *mem = mk_table(c, alpha, "mem");
    mk_col(c, mem, "free", CATALOG_INT);
    catalog_table *disk = mk_table(c, beta, "disk");
    mk_col(c, disk, "dev", CATALOG_TAG);
    mk_table(c, gamma, "g");
    commit_ok(c);

    uint64_t f1 = add_file(c, cpu, 0, "alpha/cpu/1.parquet");
    uint64_t f2 = add_file(c, cpu, 0, "alpha/cpu/2.parquet");
    add_file(c, cpu, 0, "alpha/cpu/3.parquet");
    add_file(c, mem, 0, "alpha/mem/4.parquet");
    add_file(c, disk, 0, "beta/disk/5.parquet");
    CHECK_INT(catalog_set_persisted_seq(c, 100, &e), VG_OK);
    commit_ok(c);
    /* A compaction: 1 and 2 become one file with 2's order. */
    add_file(c, cpu, f2, "alpha/cpu/6.parquet");
    CHECK_INT(catalog_file_remove(c, cpu, f1, &e), VG_OK);
    CHECK_INT(catalog_file_remove(c, cpu, f2, &e), VG_OK);
    commit_ok(c);

    vg_str hosts[2] = {VG_STR("a"), VG_STR("")};
    catalog_tomb_pred pred = {1, 2, hosts};
    for (int i = 0; i < 3; i++) {
        catalog_tombstone ts = {.id = catalog_file_id_next(c),
                                .db_id = alpha->id,
                                .table_id = cpu->id,
                                .wal_seq = 50 + (uint64_t)i,
                                .min_time = -1 - i,
                                .max_time = 99 + i,
                                .npreds = i == 1 ? 0 : 1,
                                .preds = &pred};
        CHECK_INT(catalog_tombstone_add(c, &ts, &e), VG_OK);
    }
    CHECK_INT(catalog_tombstone_remove(c, cpu, cpu->tombs[1]->id, &e), VG_OK);
    catalog_tombstone mt = {.id = catalog_file_id_next(c),
                            .db_id = alpha->id,
                            .table_id = mem->id,
                            .wal_seq = 60,
                            .min_time = 0,
                            .max_time = 5};
    CHECK_INT(catalog_tombstone_add(c, &mt, &e), VG_OK);
    commit_ok(c);

    catalog_trigger *t1, *t2, *t3, *t4;
    add_trigger(c, alpha, "t1", false, &t1);
    add_trigger(c, alpha, "t2", false, &t2);
    add_trigger(c, alpha, "t3", false, &t3);
    add_trigger(c, beta, "tb", false, &t4);
    CHECK_INT(catalog_trigger_set_disabled(c, t2, true, &e), VG_OK);
    CHECK_INT(catalog_trigger_delete(c, t3, &e), VG_OK);
    commit_ok(c);
    add_trigger(c, alpha, "t3", true, &t4); /* the deleted trigger's name, taken again */
    commit_ok(c);

    /* Churn that a checkpoint drops: files written and compacted away, the mark. */
    for (int i = 0; i < churn; i++) {
        char path[64];
        snprintf(path, sizeof path, "alpha/cpu/churn-%d.parquet", i);
        uint64_t id = add_file(c, cpu, 0, path);
        CHECK_INT(catalog_set_persisted_seq(c, 200 + (uint64_t)i, &e), VG_OK);
        commit_ok(c);
        CHECK_INT(catalog_file_remove(c, cpu, id, &e), VG_OK);
        commit_ok(c);
    }
    /* The newest file goes too: the file id counter is above every live id. */
    uint64_t last = add_file(c, mem, 0, "alpha/mem/last.parquet");
    commit_ok(c);
    CHECK_INT(catalog_file_remove(c, mem, last, &e), VG_OK);

    /* Deletes: a table (re-created under its name), a database soft-deleted and one
     * hard-deleted; a new database under the soft-deleted one's name. */
    CHECK_INT(catalog_table_delete(c, mem, 42, &e), VG_OK);
    CHECK_INT(catalog_table_set_hard_delete(c, mem, 1234, &e), VG_OK);
    mk_col(c, mk_table(c, alpha, "mem"), "used", CATALOG_FLOAT);
    CHECK_INT(catalog_db_delete(c, beta, &e), VG_OK);
    CHECK_INT(catalog_db_delete(c, gamma, &e), VG_OK);
    CHECK_INT(catalog_db_set_hard_delete(c, gamma, 777, &e), VG_OK);
    mk_db(c, "beta");
    commit_ok(c);
    catalog_write_unlock(c);
}

/* A checkpoint shrinks the log and changes nothing: the reopened catalog is the one
 * the old log gives, down to the UUID, the file id counter and the ids that new
 * objects get; commits after it append and replay. */
static void test_checkpoint_roundtrip(void)
{
    size_t mem0 = vg_mem_used();
    char *dir = tmp_dir(), *old_dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    build_rich(c, 200);
    char *state = dump_full(c);
    long before = file_size(log_path(dir));
    char old_log[4200];
    snprintf(old_log, sizeof old_log, "%s", log_path(old_dir));
    copy_file(log_path(dir), old_log); /* the same catalog, never checkpointed */

    vg_err e;
    CHECK_INT(checkpoint_now(c, &e), VG_OK);
    long after = file_size(log_path(dir));
    CHECK(after > 0 && after * 10 < before);
    CHECK_INT(file_size(tmp_log_path(dir)), -1);
    char *got = dump_full(c);
    CHECK_STR(got, state);
    free(got);
    /* Twice in a row: the image of an image is the same size. */
    CHECK_INT(checkpoint_now(c, &e), VG_OK);
    CHECK_INT(file_size(log_path(dir)), after);
    catalog_close(c);

    c = open_ok(dir, NULL);
    catalog *old = open_ok(old_dir, NULL);
    got = dump_full(c);
    CHECK_STR(got, state);
    free(got);
    got = dump_full(old);
    CHECK_STR(got, state);
    free(got);
    CHECK(strstr(state, "trigger 2 db=0 t3 p.py every:10s async=1 eb=1 disabled=0 deleted=1") !=
          NULL);
    CHECK(strstr(state, "trigger 1 db=0 t2 p.py every:10s async=1 eb=1 disabled=1 deleted=0") !=
          NULL);
    CHECK(strstr(state, "db 1 beta-") != NULL && strstr(state, "db 3 beta ") != NULL);
    /* An image of a catalog replayed from an image keeps the counter too. */
    CHECK_INT(checkpoint_now(c, &e), VG_OK);
    catalog_close(c);
    c = open_ok(dir, NULL);

    /* What comes next is the same with and without the checkpoint. */
    catalog *both[2] = {c, old};
    uint64_t ids[2][6];
    for (int k = 0; k < 2; k++) {
        catalog *x = both[k];
        catalog_write_lock(x);
        catalog_db *alpha = catalog_db_find(x, "alpha", 5);
        catalog_table *cpu = catalog_table_find(alpha, "cpu", 3);
        ids[k][0] = add_file(x, cpu, 0, "alpha/cpu/next.parquet");
        ids[k][1] = mk_db(x, "epsilon")->id;
        ids[k][2] = mk_table(x, alpha, "net")->id;
        ids[k][3] = mk_col(x, cpu, "extra", CATALOG_INT)->id;
        catalog_trigger *t;
        add_trigger(x, alpha, "t5", false, &t);
        ids[k][4] = t->id;
        CHECK_INT(catalog_set_persisted_seq(x, 9999, &e), VG_OK);
        commit_ok(x);
        ids[k][5] = catalog_persisted_seq(x);
        catalog_write_unlock(x);
    }
    for (int i = 0; i < 6; i++)
        CHECK_INT(ids[0][i], ids[1][i]);
    CHECK_INT(ids[0][0], 5 + 3 + 1 + 200 + 1 + 1 + 1); /* after every id ever used */
    char *state2 = dump_full(old);
    catalog_close(old);
    catalog_close(c);
    c = open_ok(dir, NULL);
    got = dump_full(c);
    CHECK_STR(got, state2);
    free(got);
    catalog_close(c);

    free(state);
    free(state2);
    rm_dir(dir);
    rm_dir(old_dir);
    CHECK_INT(vg_mem_used(), mem0);
}

/* Walks the records of a log: how many, and whether their numbers follow on. */
static int count_records(const char *path, uint64_t *first_seq, bool *consecutive)
{
    long n;
    char *b = read_all(path, &n);
    long off = 0;
    int count = 0;
    uint64_t prev = 0;
    *first_seq = 0;
    *consecutive = true;
    while (off + 17 <= n) {
        uint32_t len;
        uint64_t seq;
        memcpy(&len, b + off, 4);
        memcpy(&seq, b + off + 9, 8);
        if (count == 0)
            *first_seq = seq;
        else if (seq != prev + 1)
            *consecutive = false;
        prev = seq;
        off += 8 + (long)len;
        count++;
    }
    CHECK_INT(off, n);
    free(b);
    return count;
}

/* An image bigger than a record (about 1 MiB) is split into records numbered on
 * from the old log's, and replays whole. */
static void test_checkpoint_split(void)
{
    char *dir = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    catalog_write_lock(c);
    catalog_db *db = mk_db(c, "big");
    catalog_table *t = mk_table(c, db, "t");
    mk_col(c, t, "host", CATALOG_TAG);
    commit_ok(c);
    char path[1100];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    for (int i = 0; i < 30; i++) {
        for (int k = 0; k < 100; k++) {
            snprintf(path, 20, "%05d", i * 100 + k);
            path[5] = 'p';
            add_file(c, t, 0, path);
        }
        commit_ok(c);
    }
    catalog_write_unlock(c);
    uint64_t seq0;
    bool consecutive;
    CHECK_INT(count_records(log_path(dir), &seq0, &consecutive), 32);
    char *state = dump_full(c);
    vg_err e;
    CHECK_INT(checkpoint_now(c, &e), VG_OK);
    int nrec = count_records(log_path(dir), &seq0, &consecutive);
    CHECK(nrec >= 3 && nrec <= 5);
    CHECK_INT(seq0, 33);
    CHECK(consecutive);
    catalog_close(c);
    c = open_ok(dir, NULL);
    char *got = dump_full(c);
    CHECK_STR(got, state);
    free(got);
    catalog_write_lock(c);
    mk_db(c, "after");
    commit_ok(c);
    catalog_write_unlock(c);
    CHECK_INT(count_records(log_path(dir), &seq0, &consecutive), nrec + 1);
    CHECK(consecutive);
    closes_and_reopens_the_same(c, dir);
    free(state);
    rm_dir(dir);
}

/* A catalog.log.tmp left by a crash before the rename is deleted at open, and the
 * log it would have replaced is used, whatever the temporary file holds. */
static void test_checkpoint_stale_tmp(void)
{
    vg_log_set_filter("error", NULL);
    char *dir = tmp_dir(), *other = tmp_dir();
    catalog *c = open_ok(dir, NULL);
    build_rich(c, 3);
    char *state = dump_full(c);
    catalog_close(c);
    /* A whole, valid log of another catalog as the leftover */
    c = open_ok(other, NULL);
    catalog_write_lock(c);
    mk_db(c, "elsewhere");
    commit_ok(c);
    catalog_write_unlock(c);
    catalog_close(c);
    copy_file(log_path(other), tmp_log_path(dir));
    c = open_ok(dir, NULL);
    CHECK_INT(file_size(tmp_log_path(dir)), -1);
    char *got = dump_full(c);
    CHECK_STR(got, state);
    free(got);
    catalog_close(c);
    /* and garbage */
    write_all(tmp_log_path(dir), "garbage", 7);
    c = open_ok(dir, NULL);
    CHECK_INT(file_size(tmp_log_path(dir)), -1);
    got = dump_full(c);
    CHECK_STR(got, state);
    free(got);

    /* A temporary file that cannot be created fails the checkpoint cleanly: the old
     * log stays in use and commits go on. */
    long n;
    char *log_before = read_all(log_path(dir), &n);
    CHECK_INT(mkdir(tmp_log_path(dir), 0755), 0);
    vg_err e;
    CHECK_INT(checkpoint_now(c, &e), VG_EIO);
    CHECK(strstr(e.msg, "cannot create") != NULL && strstr(e.msg, "catalog.log.tmp") != NULL);
    long n2;
    char *log_after = read_all(log_path(dir), &n2);
    CHECK(n2 == n && memcmp(log_before, log_after, (size_t)n) == 0);
    rmdir(tmp_log_path(dir));
    catalog_write_lock(c);
    mk_db(c, "still");
    commit_ok(c);
    catalog_write_unlock(c);
    closes_and_reopens_the_same(c, dir);
    free(log_before);
    free(log_after);
    free(state);
    rm_dir(dir);
    rm_dir(other);
    vg_log_set_filter("info", NULL);
}

/* ---- hand-made logs ---- */

static void put_le(vg_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        vg_buf_putc(b, (char)(uint8_t)(v >> (8 * i)));
}

/* Appends a framed record numbered seq holding ops. */
static void put_record(vg_buf *log, uint64_t seq, const vg_buf *ops)
{
    vg_buf p;
    vg_buf_init(&p);
    put_le(&p, 1, 1);
    put_le(&p, seq, 8);
    vg_buf_append(&p, ops->data, ops->len);
    uint8_t len[4];
    for (int i = 0; i < 4; i++)
        len[i] = (uint8_t)(p.len >> (8 * i));
    uint32_t crc = vg_crc32c(vg_crc32c(0, len, 4), p.data, p.len);
    vg_buf_append(log, len, 4);
    put_le(log, crc, 4);
    vg_buf_append(log, p.data, p.len);
    vg_buf_free(&p);
}

static void op_checkpoint(vg_buf *b, uint64_t next_file_id)
{
    put_le(b, 7, 1);
    for (int i = 0; i < 16; i++)
        put_le(b, (uint64_t)(0x10 + i), 1);
    put_le(b, 1700000000000000000ull, 8);
    put_le(b, next_file_id, 8);
}

static void op_created(vg_buf *b)
{
    put_le(b, 1, 1);
    for (int i = 0; i < 16; i++)
        put_le(b, (uint64_t)(0x10 + i), 1);
    put_le(b, 1700000000000000000ull, 8);
}

static void op_db_create(vg_buf *b, uint32_t id, const char *name)
{
    put_le(b, 2, 1);
    put_le(b, id, 4);
    put_le(b, 0, 8);
    put_le(b, strlen(name), 4);
    vg_buf_puts(b, name);
}

/* Opens a catalog whose log is exactly the given bytes. */
static int open_crafted(const char *dir, const vg_buf *log, catalog **out, vg_err *e)
{
    write_all(log_path(dir), log->data, (long)log->len);
    *out = NULL;
    return catalog_open(dir, NULL, out, e);
}

/* The log must be refused as corrupt; a catalog opened by mistake is closed again. */
static int open_refused(const char *dir, const vg_buf *log, vg_err *e)
{
    catalog *c = NULL;
    int rc = open_crafted(dir, log, &c, e);
    catalog_close(c);
    return rc;
}

/* Replay accepts a log that starts at a number above 1 only with a checkpoint first,
 * refuses kind 7 anywhere else and a log that starts with neither kind 1 nor 7. */
static void test_checkpoint_replay_rules(void)
{
    char *dir = tmp_dir();
    vg_buf log, ops;
    vg_buf_init(&log);
    vg_buf_init(&ops);
    catalog *c = NULL;
    vg_err e;
    char want[4400];

    /* valid: a checkpoint at 5, then commit 6 */
    op_checkpoint(&ops, 10);
    op_db_create(&ops, 0, "x");
    put_record(&log, 5, &ops);
    vg_buf_reset(&ops);
    op_db_create(&ops, 1, "y");
    put_record(&log, 6, &ops);
    CHECK_INT(open_crafted(dir, &log, &c, &e), VG_OK);
    if (c) {
        CHECK_STR(catalog_uuid(c), "10111213-1415-1617-1819-1a1b1c1d1e1f");
        CHECK_INT(catalog_live_db_count(c), 2);
        catalog_write_lock(c);
        CHECK_INT(catalog_file_id_next(c), 10);
        CHECK_INT(mk_db(c, "z")->id, 2);
        commit_ok(c);
        catalog_write_unlock(c);
        catalog_close(c);
        uint64_t seq0;
        bool consecutive;
        CHECK_INT(count_records(log_path(dir), &seq0, &consecutive), 3);
        CHECK(seq0 == 5 && consecutive);
        c = open_ok(dir, NULL);
        CHECK_INT(catalog_live_db_count(c), 3);
        catalog_close(c);
    }

    /* a log whose first change is neither kind 1 nor kind 7 */
    vg_buf_reset(&log);
    vg_buf_reset(&ops);
    op_db_create(&ops, 0, "x");
    put_record(&log, 1, &ops);
    CHECK_INT(open_refused(dir, &log, &e), VG_ECORRUPT);
    CHECK(strstr(e.msg, "(commit 1, change 0): the log does not start with a catalog-created "
                        "or checkpoint change") != NULL);

    /* ... nor at a later number */
    vg_buf_reset(&log);
    put_record(&log, 5, &ops);
    CHECK_INT(open_refused(dir, &log, &e), VG_ECORRUPT);
    CHECK(strstr(e.msg, "commit number 5 out of order (expected 1)") != NULL);

    /* kind 1 at a later number */
    vg_buf_reset(&log);
    vg_buf_reset(&ops);
    op_created(&ops);
    put_record(&log, 5, &ops);
    CHECK_INT(open_refused(dir, &log, &e), VG_ECORRUPT);
    CHECK(strstr(e.msg, "commit number 5 out of order (expected 1)") != NULL);

    /* kind 7 in the second record */
    vg_buf_reset(&log);
    put_record(&log, 1, &ops);
    size_t second = log.len;
    vg_buf_reset(&ops);
    op_checkpoint(&ops, 3);
    put_record(&log, 2, &ops);
    CHECK_INT(open_refused(dir, &log, &e), VG_ECORRUPT);
    snprintf(want, sizeof want,
             "catalog log '%s' is corrupt at offset %zu (commit 2, change 0): checkpoint change "
             "after the start of the log",
             log_path(dir), second);
    CHECK_STR(e.msg, want);

    /* kind 7 as the second change of the first record */
    vg_buf_reset(&log);
    vg_buf_reset(&ops);
    op_checkpoint(&ops, 3);
    op_checkpoint(&ops, 3);
    put_record(&log, 5, &ops);
    CHECK_INT(open_refused(dir, &log, &e), VG_ECORRUPT);
    CHECK(strstr(e.msg, "(commit 5, change 1): checkpoint change after the start of the log") !=
          NULL);

    /* a gap after the checkpoint */
    vg_buf_reset(&log);
    vg_buf_reset(&ops);
    op_checkpoint(&ops, 3);
    put_record(&log, 5, &ops);
    vg_buf_reset(&ops);
    op_db_create(&ops, 0, "x");
    put_record(&log, 7, &ops);
    CHECK_INT(open_refused(dir, &log, &e), VG_ECORRUPT);
    CHECK(strstr(e.msg, "commit number 7 out of order (expected 6)") != NULL);

    vg_buf_free(&log);
    vg_buf_free(&ops);
    rm_dir(dir);
}

/* A deleted database whose new name "<name>-YYYYMMDDTHHMMSS" is a live database's
 * name (a user may pick such a name) is re-created under its old name, so the image
 * replays. */
static void test_checkpoint_deleted_name_taken(void)
{
    char *dir = tmp_dir();
    vg_buf log, ops;
    vg_buf_init(&log);
    vg_buf_init(&ops);
    op_created(&ops);
    op_db_create(&ops, 0, "x-20260101T000000");
    op_db_create(&ops, 1, "x");
    /* kind 3: db 1 deleted at 2026-01-01T00:00:00Z */
    put_le(&ops, 3, 1);
    put_le(&ops, 1, 4);
    put_le(&ops, 1767225600000000000ull, 8);
    put_le(&ops, 17, 4);
    vg_buf_puts(&ops, "x-20260101T000000");
    put_record(&log, 1, &ops);
    catalog *c = NULL;
    vg_err e;
    CHECK_INT(open_crafted(dir, &log, &c, &e), VG_OK);
    if (c) {
        char *state = dump_full(c);
        CHECK(strstr(state, "db 0 x-20260101T000000 del=0") != NULL);
        CHECK(strstr(state, "db 1 x-20260101T000000 del=1") != NULL);
        CHECK_INT(checkpoint_now(c, &e), VG_OK);
        catalog_close(c);
        c = open_ok(dir, NULL);
        char *got = c ? dump_full(c) : NULL;
        CHECK_STR(got, state);
        catalog_close(c);
        free(got);
        free(state);
    }
    vg_buf_free(&log);
    vg_buf_free(&ops);
    rm_dir(dir);
}

/* After a checkpoint a torn tail is cut as before; damage in the image's first record
 * is refused, not cut (cutting it would start an empty catalog). */
static void test_checkpoint_torn_tail(void)
{
    vg_log_set_filter("error", NULL);
    char *dir = tmp_dir();
    const char *path = log_path(dir);
    catalog *c = open_ok(dir, NULL);
    /* Enough commits that the image's number (above 400) is far beyond what its
     * few bytes could hold from 1 on. */
    build_rich(c, 200);
    vg_err e;
    CHECK_INT(checkpoint_now(c, &e), VG_OK);
    long image = file_size(path);
    catalog_write_lock(c);
    mk_db(c, "one");
    commit_ok(c);
    char *state_a = dump_full(c);
    long size_a = file_size(path);
    catalog_db *two = mk_db(c, "two");
    mk_col(c, mk_table(c, two, "t"), "f", CATALOG_FLOAT);
    commit_ok(c);
    catalog_write_unlock(c);
    char *state_b = dump_full(c);
    long size_b = file_size(path);
    catalog_close(c);
    long n;
    char *full = read_all(path, &n);

    for (long cut = size_a; cut < size_b; cut++) {
        write_all(path, full, cut);
        c = open_ok(dir, NULL);
        if (!c)
            break;
        char *got = dump_full(c);
        CHECK_STR(got, state_a);
        catalog_close(c);
        free(got);
        CHECK_INT(file_size(path), size_a);
    }
    /* cut right after the image: the image alone */
    write_all(path, full, image + 5);
    c = open_ok(dir, NULL);
    CHECK_INT(file_size(path), image);
    CHECK(catalog_db_find(c, "one", 3) == NULL && catalog_db_find(c, "alpha", 5) != NULL);
    catalog_close(c);

    write_all(path, full, n);
    c = open_ok(dir, NULL);
    char *got = dump_full(c);
    CHECK_STR(got, state_b);
    catalog_close(c);
    free(got);

    /* a damaged byte in the checkpoint record (in the UUID), with nothing after it */
    write_all(path, full, image);
    flip_byte(path, 20);
    CHECK_INT(catalog_open(dir, NULL, &c, &e), VG_ECORRUPT);
    char want[4400];
    snprintf(want, sizeof want,
             "catalog log '%s' is corrupt at offset 0 (checksum mismatch): its first record, a "
             "checkpoint, was written whole",
             path);
    CHECK(strncmp(e.msg, want, strlen(want)) == 0);
    CHECK_INT(file_size(path), image);
    /* its kind byte damaged: an intact record follows, at whatever number */
    write_all(path, full, n);
    flip_byte(path, 17);
    CHECK_INT(catalog_open(dir, NULL, &c, &e), VG_ECORRUPT);
    CHECK(strstr(e.msg, "is corrupt at offset 0 (checksum mismatch) and an intact record "
                        "follows") != NULL);
    CHECK_INT(file_size(path), n);

    free(full);
    free(state_a);
    free(state_b);
    rm_dir(dir);
    vg_log_set_filter("info", NULL);
}

/* With a low floor, commits checkpoint by themselves: the log stays bounded, and the
 * state survives a reopen. */
static void test_checkpoint_auto(void)
{
    vg_log_set_filter("warn", NULL);
    char *dir = tmp_dir();
    catalog_limits lim = {.checkpoint_floor_bytes = 4096};
    catalog *c = open_ok(dir, &lim);
    catalog_write_lock(c);
    catalog_db *db = mk_db(c, "auto");
    catalog_table *t = mk_table(c, db, "t");
    mk_col(c, t, "host", CATALOG_TAG);
    commit_ok(c);
    long max_size = 0, prev = file_size(log_path(dir));
    int shrinks = 0;
    uint64_t live = 0;
    vg_err e;
    for (int i = 0; i < 600; i++) {
        uint64_t id = add_file(c, t, 0, "auto/t/x.parquet");
        if (live)
            CHECK_INT(catalog_file_remove(c, t, live, &e), VG_OK);
        live = id;
        CHECK_INT(catalog_set_persisted_seq(c, (uint64_t)i + 1, &e), VG_OK);
        commit_ok(c);
        long size = file_size(log_path(dir));
        if (size < prev)
            shrinks++;
        if (size > max_size)
            max_size = size;
        prev = size;
    }
    catalog_write_unlock(c);
    CHECK(shrinks >= 20);
    CHECK(max_size <= 4096 + 512);
    CHECK_INT(file_size(tmp_log_path(dir)), -1);
    char *state = dump_full(c);
    catalog_close(c);
    c = open_ok(dir, &lim);
    char *got = dump_full(c);
    CHECK_STR(got, state);
    catalog_write_lock(c);
    CHECK_INT(catalog_file_id_next(c), live + 1);
    catalog_write_unlock(c);
    free(got);
    free(state);
    catalog_close(c);

    /* A log that grew big with checkpoints off (a floor above it, as before
     * checkpoints existed) is rewritten at the first commit after a start with a
     * floor below it, not only once it has quadrupled again. */
    catalog_limits off = {.checkpoint_floor_bytes = 1u << 30};
    c = open_ok(dir, &off);
    catalog_write_lock(c);
    t = catalog_table_find(catalog_db_find(c, "auto", 4), "t", 1);
    CHECK(t != NULL);
    for (int i = 0; t && i < 300; i++) {
        add_file(c, t, 0, "auto/t/x.parquet");
        commit_ok(c);
    }
    catalog_write_unlock(c);
    catalog_close(c);
    long big = file_size(log_path(dir));
    CHECK(big > 4 * 4096);
    c = open_ok(dir, &lim);
    catalog_write_lock(c);
    CHECK_INT(catalog_set_persisted_seq(c, 1000, &e), VG_OK);
    commit_ok(c);
    catalog_write_unlock(c);
    CHECK(file_size(log_path(dir)) < big);
    catalog_close(c);
    rm_dir(dir);
    vg_log_set_filter("info", NULL);
}

/* Every allocation of a checkpoint fails in turn: it succeeds, or fails with the old
 * log untouched and the catalog working; either way the state reopens the same. An
 * automatic checkpoint that fails never costs the commit that set it off. */
static void test_checkpoint_alloc_failures(void)
{
    vg_log_set_filter("error", NULL);
    size_t mem0 = vg_mem_used();
    char *src = tmp_dir();
    catalog *c = open_ok(src, NULL);
    build_rich(c, 2);
    char *state = dump_full(c);
    catalog_close(c);
    long n;
    char *log0 = read_all(log_path(src), &n);
    int failed = 0, succeeded = 0;
    for (long fail = 1; fail < 200 && succeeded < 3; fail++) {
        char *dir = tmp_dir();
        write_all(log_path(dir), log0, n);
        c = open_ok(dir, NULL);
        vg_err e;
        catalog_write_lock(c);
        vg_mem_fail_after(fail);
        int rc = catalog_checkpoint(c, &e);
        vg_mem_fail_after(0);
        catalog_write_unlock(c);
        if (rc == VG_OK) {
            succeeded++;
            CHECK(file_size(log_path(dir)) < n);
        } else {
            failed++;
            CHECK_INT(rc, VG_ENOMEM);
            long n2;
            char *now = read_all(log_path(dir), &n2);
            CHECK(n2 == n && memcmp(now, log0, (size_t)n) == 0);
            free(now);
        }
        CHECK_INT(file_size(tmp_log_path(dir)), -1);
        char *got = dump_full(c);
        CHECK_STR(got, state);
        free(got);
        /* the catalog still commits */
        catalog_write_lock(c);
        mk_db(c, "later");
        commit_ok(c);
        catalog_write_unlock(c);
        closes_and_reopens_the_same(c, dir);
        rm_dir(dir);
    }
    CHECK(failed >= 5);
    CHECK_INT(succeeded, 3);

    /* An automatic checkpoint that runs out of memory: the commit stands. */
    char *dir = tmp_dir();
    write_all(log_path(dir), log0, n);
    catalog_limits lim = {.checkpoint_floor_bytes = 1024};
    c = open_ok(dir, &lim);
    catalog_write_lock(c);
    catalog_db *db = catalog_db_find(c, "alpha", 5);
    /* Past 4x its size at open, each commit's checkpoint fails at its first
     * allocation; the log grows on, with every commit. */
    int i = 0;
    for (; file_size(log_path(dir)) <= 4 * n; i++) {
        char name[32];
        snprintf(name, sizeof name, "pad%d", i);
        mk_table(c, db, name);
        vg_mem_fail_after(1);
        commit_ok(c);
        vg_mem_fail_after(0);
    }
    long grown = file_size(log_path(dir));
    CHECK(grown > 4 * n);
    /* A later commit (once the log has grown by another quarter) checkpoints. */
    long size = grown;
    for (; size >= grown && i < 3000; i++) {
        char name[32];
        snprintf(name, sizeof name, "pad%d", i);
        mk_table(c, db, name);
        commit_ok(c);
        size = file_size(log_path(dir));
    }
    catalog_write_unlock(c);
    CHECK(size < grown);
    char *state3 = dump_full(c);
    catalog_close(c);
    c = open_ok(dir, &lim);
    char *got = dump_full(c);
    CHECK_STR(got, state3);
    free(got);
    free(state3);
    catalog_close(c);
    rm_dir(dir);

    free(log0);
    free(state);
    rm_dir(src);
    CHECK_INT(vg_mem_used(), mem0);
    vg_log_set_filter("info", NULL);
}

TEST_MAIN(test_type_names, test_roundtrip, test_db_name_rules, test_table_and_column_rules,
          test_limits, test_default_limits, test_soft_delete, test_torn_tail, test_corrupt_middle,
          test_uncommitted_lost, test_single_opener, test_alloc_failures, test_tombstones,
          test_table_delete, test_checkpoint_roundtrip, test_checkpoint_split,
          test_checkpoint_stale_tmp, test_checkpoint_replay_rules,
          test_checkpoint_deleted_name_taken, test_checkpoint_torn_tail,
          test_checkpoint_auto, test_checkpoint_alloc_failures)
