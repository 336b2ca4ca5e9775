/* catalog/mutate.c: the public mutations. Each one checks the user's input against
 * the rules and limits (with Core's messages), reserves room for its log op, then
 * applies the change and queues the op; so a failure leaves memory and the queue
 * exactly as they were. */
#include "catalog_int.h"

#include <string.h>

static int refuse_deleted(const catalog_db *db, vg_err *e)
{
    return vg_err_set(e, VG_ENOTFOUND, "database '%s' has been deleted", db->name);
}

static int check_name(const char *what, const char *name, size_t len, vg_err *e)
{
    if (len == 0)
        return vg_err_set(e, VG_EINVAL, "%s name cannot be empty", what);
    if (len > VG_LIMIT_NAME_BYTES)
        return vg_err_set(e, VG_EINVAL, "%s name too long: max %u bytes", what,
                          (unsigned)VG_LIMIT_NAME_BYTES);
    return VG_OK;
}

static int check_retention(int64_t retention_ns, vg_err *e)
{
    if (retention_ns < 0)
        return vg_err_set(e, VG_EINVAL, "retention period cannot be negative");
    return VG_OK;
}

int catalog_db_create(catalog *c, const char *name, size_t len, int64_t retention_ns,
                      catalog_db **out, vg_err *e)
{
    int rc = catalog_validate_db_name(name, len, e);
    if (rc != VG_OK || (rc = check_retention(retention_ns, e)) != VG_OK)
        return rc;
    if (catalog_db_find(c, name, len))
        return vg_err_set(e, VG_EEXISTS, "database '%.*s' already exists", (int)len, name);
    if (c->live_dbs >= c->limits.max_databases)
        return vg_err_set(e, VG_ELIMIT, "Adding a new database would exceed limit of %u databases",
                          c->limits.max_databases);
    if ((rc = cat_queue_reserve(c, cat_op_size(CAT_OP_DB_CREATE, len), e)) != VG_OK)
        return rc;
    catalog_db *db;
    if (cat_apply_db_create(c, name, len, retention_ns, &db) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory creating database '%.*s'", (int)len, name);
    cat_queue_db_create(c, db);
    if (out)
        *out = db;
    return VG_OK;
}

int catalog_db_delete(catalog *c, catalog_db *db, vg_err *e)
{
    if (db->deleted)
        return vg_err_set(e, VG_EEXISTS, "database '%s' is already deleted", db->name);
    int64_t now = vg_now_ns();
    size_t len;
    char *new_name = cat_deleted_name(db->name, db->name_len, now, &len);
    if (!new_name)
        return vg_err_set(e, VG_ENOMEM, "out of memory deleting database '%s'", db->name);
    int rc = cat_queue_reserve(c, cat_op_size(CAT_OP_DB_DELETE, len), e);
    if (rc == VG_OK && cat_apply_db_delete(c, db, new_name, len, now) != VG_OK)
        rc = vg_err_set(e, VG_ENOMEM, "out of memory deleting database '%s'", db->name);
    if (rc == VG_OK)
        cat_queue_db_delete(c, db);
    vg_free(new_name);
    return rc;
}

int catalog_db_set_retention(catalog *c, catalog_db *db, int64_t retention_ns, vg_err *e)
{
    if (db->deleted)
        return refuse_deleted(db, e);
    int rc = check_retention(retention_ns, e);
    if (rc != VG_OK || (rc = cat_queue_reserve(c, cat_op_size(CAT_OP_DB_RETENTION, 0), e)))
        return rc;
    db->retention_ns = retention_ns;
    cat_queue_db_retention(c, db);
    return VG_OK;
}

int catalog_table_create(catalog *c, catalog_db *db, const char *name, size_t len,
                         catalog_table **out, vg_err *e)
{
    if (db->deleted)
        return refuse_deleted(db, e);
    int rc = check_name("table", name, len, e);
    if (rc != VG_OK)
        return rc;
    if (catalog_table_find(db, name, len))
        return vg_err_set(e, VG_EEXISTS, "table '%.*s' already exists in database '%s'", (int)len,
                          name, db->name);
    if (c->live_tables >= c->limits.max_tables)
        return vg_err_set(e, VG_ELIMIT,
                          "Update to schema would exceed number of tables limit: attempted to "
                          "create table but already have %u table(s) (limit: %u)",
                          c->live_tables, c->limits.max_tables);
    if ((rc = cat_queue_reserve(c, cat_op_size(CAT_OP_TABLE_CREATE, len), e)) != VG_OK)
        return rc;
    catalog_table *t;
    if (cat_apply_table_create(c, db, name, len, &t) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory creating table '%.*s'", (int)len, name);
    cat_queue_table_create(c, t);
    if (out)
        *out = t;
    return VG_OK;
}

static bool is_reserved_column(const char *name, size_t len)
{
    return (len == 4 && memcmp(name, "time", 4) == 0) ||
           (len == 13 && memcmp(name, "__chunk_order", 13) == 0);
}

int catalog_column_add(catalog *c, catalog_table *t, const char *name, size_t len,
                       catalog_type type, catalog_column **out, vg_err *e)
{
    catalog_db *db = catalog_db_get(c, t->db_id);
    if (VG_NEVER(!db))
        return vg_err_set(e, VG_EINTERNAL, "table '%s' has no database", t->name);
    if (db->deleted)
        return refuse_deleted(db, e);
    if (t->deleted)
        return vg_err_set(e, VG_ENOTFOUND, "table '%s' has been deleted", t->name);
    if (is_reserved_column(name, len))
        return vg_err_set(e, VG_EINVAL, "'%.*s' is a reserved column", (int)len, name);
    int rc = check_name("column", name, len, e);
    if (rc != VG_OK)
        return rc;
    if (type != CATALOG_TAG && !cat_type_is_field(type))
        return vg_err_set(e, VG_EINVAL, "invalid type %d for column '%.*s'", (int)type, (int)len,
                          name);
    if (catalog_column_find(t, name, len))
        return vg_err_set(e, VG_EEXISTS, "column '%.*s' already exists in table '%s'", (int)len,
                          name, t->name);
    if (t->ncols >= c->limits.max_columns_per_table)
        return vg_err_set(e, VG_ELIMIT,
                          "Update to schema would exceed number of columns per table limit of "
                          "%u columns",
                          c->limits.max_columns_per_table);
    if ((rc = cat_queue_reserve(c, cat_op_size(CAT_OP_COLUMN_ADD, len), e)) != VG_OK)
        return rc;
    catalog_column *col;
    if (cat_apply_column_add(c, t, name, len, type, &col) != VG_OK)
        return vg_err_set(e, VG_ENOMEM, "out of memory adding column '%.*s'", (int)len, name);
    cat_queue_column_add(c, t, col);
    if (out)
        *out = col;
    return VG_OK;
}

int catalog_db_set_hard_delete(catalog *c, catalog_db *db, int64_t at_ns, vg_err *e)
{
    if (!db->deleted)
        return vg_err_set(e, VG_EINVAL, "database '%s' is not deleted: delete it first",
                          db->name);
    int rc = cat_queue_reserve(c, cat_op_size(CAT_OP_DB_HARD_DELETE, 0), e);
    if (rc != VG_OK)
        return rc;
    db->hard_delete_at_ns = at_ns;
    cat_queue_db_hard_delete(c, db);
    return VG_OK;
}

int catalog_table_delete(catalog *c, catalog_table *t, uint64_t wal_seq, vg_err *e)
{
    catalog_db *db = catalog_db_get(c, t->db_id);
    if (VG_NEVER(!db))
        return vg_err_set(e, VG_EINTERNAL, "table '%s' has no database", t->name);
    if (db->deleted)
        return refuse_deleted(db, e);
    if (t->deleted)
        return vg_err_set(e, VG_EEXISTS, "table '%s' is already deleted", t->name);
    int64_t now = vg_now_ns();
    size_t len;
    char *new_name = cat_deleted_name(t->name, t->name_len, now, &len);
    if (!new_name)
        return vg_err_set(e, VG_ENOMEM, "out of memory deleting table '%s'", t->name);
    int rc = cat_queue_reserve(c, cat_op_size(CAT_OP_TABLE_DELETE, len), e);
    if (rc == VG_OK && cat_apply_table_delete(c, t, new_name, len, now, wal_seq) != VG_OK)
        rc = vg_err_set(e, VG_ENOMEM, "out of memory deleting table '%s'", t->name);
    if (rc == VG_OK)
        cat_queue_table_delete(c, t);
    vg_free(new_name);
    return rc;
}

int catalog_table_set_hard_delete(catalog *c, catalog_table *t, int64_t at_ns, vg_err *e)
{
    if (!t->deleted)
        return vg_err_set(e, VG_EINVAL, "table '%s' is not deleted: delete it first", t->name);
    int rc = cat_queue_reserve(c, cat_op_size(CAT_OP_TABLE_HARD_DELETE, 0), e);
    if (rc != VG_OK)
        return rc;
    t->hard_delete_at_ns = at_ns;
    cat_queue_table_hard_delete(c, t);
    return VG_OK;
}
