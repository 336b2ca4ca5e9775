/* Unit tests for the catalog: persistence round trip, Core's name rules and limit
 * messages, reserved columns, soft delete, torn-tail cutting, corruption refusal,
 * lost uncommitted changes, and allocation failures mid-mutation. */
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
    catalog_limits lim = {2, 3, 4};
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
    catalog_limits tiny = {1, 1, 2};
    c = open_ok(dir, &tiny);
    CHECK_INT(catalog_live_db_count(c), 2);
    CHECK_INT(catalog_table_count(c), 3);
    catalog_close(c);
    rm_dir(dir);
}

static void test_default_limits(void)
{
    char *dir = tmp_dir();
    catalog_limits lim = {0, 0, 1};
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

TEST_MAIN(test_type_names, test_roundtrip, test_db_name_rules, test_table_and_column_rules,
          test_limits, test_default_limits, test_soft_delete, test_torn_tail, test_corrupt_middle,
          test_uncommitted_lost, test_single_opener, test_alloc_failures, test_tombstones,
          test_table_delete)
