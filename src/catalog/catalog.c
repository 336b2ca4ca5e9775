/* catalog/catalog.c: the catalog's object graph (databases, tables, columns), its
 * lifetime (open, close, lock) and lookups.
 *
 * The apply functions here are the only code that changes the graph; both the
 * public mutations (mutate.c) and log replay (log.c) go through them, so a replayed
 * catalog is built by exactly the steps that built the original. */
#include "catalog_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Returns the array with room for index n: the same one, a moved one, or NULL on
 * OOM (the old one is then untouched). Objects are separate allocations, so only
 * the array of pointers moves, which readers see under the lock. */
static void *room_for(void *arr, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *na = vg_realloc(arr, (size_t)ncap * elem);
    if (na)
        *cap = ncap;
    return na;
}

static catalog_column *column_new(uint32_t id, const char *name, size_t len, catalog_type type)
{
    catalog_column *col = vg_calloc(1, sizeof *col);
    char *nm = vg_strndup(name, len);
    if (!col || !nm) {
        vg_free(col);
        vg_free(nm);
        return NULL;
    }
    col->id = id;
    col->name = nm;
    col->name_len = (uint32_t)len;
    col->type = type;
    return col;
}

static void column_free(catalog_column *col)
{
    if (!col)
        return;
    vg_free(col->name);
    vg_free(col);
}

static void table_free(catalog_table *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->ncols; i++)
        column_free(t->cols[i]);
    vg_free(t->cols);
    for (uint32_t i = 0; i < t->nfiles; i++)
        cat_file_free(t->files[i]);
    vg_free(t->files);
    for (uint32_t i = 0; i < t->ntombs; i++)
        catalog_tombstone_free(t->tombs[i]);
    vg_free(t->tombs);
    vg_map_free(&t->by_name);
    vg_free(t->orig_name);
    vg_free(t->name);
    vg_free(t);
}

static void db_free(catalog_db *db)
{
    for (uint32_t i = 0; i < db->ntables; i++)
        table_free(db->tables[i]);
    vg_free(db->tables);
    vg_map_free(&db->by_name);
    vg_free(db->name);
    vg_free(db);
}

void cat_free_objects(catalog *c)
{
    for (uint32_t i = 0; i < c->ndbs; i++)
        db_free(c->dbs[i]);
    vg_free(c->dbs);
    vg_map_free(&c->by_name);
    c->dbs = NULL;
    c->ndbs = c->dbs_cap = 0;
}

int cat_apply_db_create(catalog *c, const char *name, size_t len, int64_t retention_ns,
                        catalog_db **out)
{
    catalog_db **dbs = room_for(c->dbs, &c->dbs_cap, c->ndbs, sizeof *dbs);
    if (!dbs)
        return VG_ENOMEM;
    c->dbs = dbs;
    catalog_db *db = vg_calloc(1, sizeof *db);
    char *nm = vg_strndup(name, len);
    if (!db || !nm)
        goto fail;
    db->id = c->ndbs;
    db->name = nm;
    db->name_len = (uint32_t)len;
    db->retention_ns = retention_ns;
    vg_map_init(&db->by_name);
    if (vg_map_put(&c->by_name, name, len, db) != VG_OK)
        goto fail;
    c->dbs[c->ndbs++] = db;
    c->live_dbs++;
    *out = db;
    return VG_OK;
fail:
    vg_free(nm);
    vg_free(db);
    return VG_ENOMEM;
}

int cat_apply_db_delete(catalog *c, catalog_db *db, const char *new_name, size_t len, int64_t at_ns)
{
    char *nm = vg_strndup(new_name, len);
    if (!nm)
        return VG_ENOMEM;
    vg_map_del(&c->by_name, db->name, db->name_len);
    vg_free(db->name);
    db->name = nm;
    db->name_len = (uint32_t)len;
    db->deleted = true;
    db->deleted_at_ns = at_ns;
    c->live_dbs--;
    c->live_tables -= db->ntables - db->deleted_tables;
    return VG_OK;
}

/* The table leaves its database's by_name, so the name is free again and queries no
 * longer find it; the old name stays in orig_name for WAL replay. */
int cat_apply_table_delete(catalog *c, catalog_table *t, const char *new_name, size_t len,
                           int64_t at_ns, uint64_t wal_seq)
{
    catalog_db *db = catalog_db_get(c, t->db_id);
    char *nm = vg_strndup(new_name, len);
    if (!nm || !db) {
        vg_free(nm);
        return VG_ENOMEM;
    }
    vg_map_del(&db->by_name, t->name, t->name_len);
    t->orig_name = t->name;
    t->name = nm;
    t->name_len = (uint32_t)len;
    t->deleted = true;
    t->deleted_at_ns = at_ns;
    t->deleted_wal_seq = wal_seq;
    db->deleted_tables++;
    if (!db->deleted)
        c->live_tables--;
    return VG_OK;
}

int cat_apply_table_create(catalog *c, catalog_db *db, const char *name, size_t len,
                           catalog_table **out)
{
    catalog_table **tables = room_for(db->tables, &db->tables_cap, db->ntables, sizeof *tables);
    if (!tables)
        return VG_ENOMEM;
    db->tables = tables;
    catalog_table *t = vg_calloc(1, sizeof *t);
    if (!t)
        return VG_ENOMEM;
    vg_map_init(&t->by_name);
    t->id = db->ntables;
    t->db_id = db->id;
    t->name = vg_strndup(name, len);
    t->name_len = (uint32_t)len;
    t->cols_cap = 8;
    t->cols = vg_calloc(t->cols_cap, sizeof *t->cols);
    catalog_column *time_col = column_new(0, "time", 4, CATALOG_TIME);
    if (!t->name || !t->cols || !time_col)
        goto fail;
    t->cols[0] = time_col;
    t->ncols = 1;
    time_col = NULL;
    if (vg_map_put(&t->by_name, "time", 4, t->cols[0]) != VG_OK)
        goto fail;
    if (vg_map_put(&db->by_name, name, len, t) != VG_OK)
        goto fail;
    db->tables[db->ntables++] = t;
    if (!db->deleted)
        c->live_tables++;
    *out = t;
    return VG_OK;
fail:
    column_free(time_col);
    table_free(t);
    return VG_ENOMEM;
}

int cat_apply_column_add(catalog *c, catalog_table *t, const char *name, size_t len,
                         catalog_type type, catalog_column **out)
{
    catalog_column **cols = room_for(t->cols, &t->cols_cap, t->ncols, sizeof *cols);
    if (!cols)
        return VG_ENOMEM;
    t->cols = cols;
    catalog_column *col = column_new(t->ncols, name, len, type);
    if (!col)
        return VG_ENOMEM;
    if (vg_map_put(&t->by_name, name, len, col) != VG_OK) {
        column_free(col);
        return VG_ENOMEM;
    }
    t->cols[t->ncols++] = col;
    if (type == CATALOG_TAG)
        t->ntags++;
    *out = col;
    return VG_OK;
}

/* ---- lifetime ---- */

static void limits_resolve(catalog_limits *dst, const catalog_limits *src)
{
    catalog_limits z = {0};
    if (!src)
        src = &z;
    dst->max_databases = src->max_databases ? src->max_databases : VG_DEFAULT_MAX_DATABASES;
    dst->max_tables = src->max_tables ? src->max_tables : VG_DEFAULT_MAX_TABLES;
    dst->max_columns_per_table =
        src->max_columns_per_table ? src->max_columns_per_table : VG_DEFAULT_MAX_COLUMNS_PER_TABLE;
    dst->checkpoint_floor_bytes = src->checkpoint_floor_bytes ? src->checkpoint_floor_bytes
                                                              : VG_DEFAULT_CATALOG_CHECKPOINT_BYTES;
}

/* Opens the log and takes an exclusive flock: two servers appending to one catalog
 * would interleave records and corrupt it. */
static int open_log_file(catalog *c, vg_err *e)
{
    c->fd = open(c->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->fd < 0)
        return vg_err_errno(e, VG_EIO, errno, "cannot open catalog log '%s'", c->path);
    if (flock(c->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return vg_err_set(e, VG_EIO,
                              "catalog log '%s' is in use by another process (is another "
                              "server running on this data directory?)",
                              c->path);
        return vg_err_errno(e, VG_EIO, errno, "cannot lock catalog log '%s'", c->path);
    }
    return VG_OK;
}

int catalog_open(const char *dir, const catalog_limits *limits, catalog **out, vg_err *e)
{
    *out = NULL;
    catalog *c = vg_calloc(1, sizeof *c);
    if (!c)
        return vg_err_set(e, VG_ENOMEM, "out of memory opening the catalog");
    c->fd = -1;
    c->next_seq = 1;
    vg_map_init(&c->by_name);
    cat_queue_init(&c->pending);
    limits_resolve(&c->limits, limits);
    pthread_rwlock_init(&c->lock, NULL);
    int rc;
    c->dir = vg_strdup(dir);
    c->path = vg_path_join(dir, CAT_LOG_NAME);
    c->tmp_path = vg_path_join(dir, CAT_TMP_NAME);
    if (!c->dir || !c->path || !c->tmp_path || c->pending.oom) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory opening the catalog");
        goto fail;
    }
    if ((rc = vg_mkdir_p(dir, e)) != VG_OK)
        goto fail;
    if ((rc = open_log_file(c, e)) != VG_OK)
        goto fail;
    /* Only now: the lock says no other server is midway through a checkpoint. */
    cat_checkpoint_remove_stale(c);
    if ((rc = cat_log_replay(c, e)) != VG_OK)
        goto fail;
    if (c->log_size == 0 && (rc = cat_log_create(c, e)) != VG_OK)
        goto fail;
    /* The last image's size is unknown here: the floor alone decides, so a log that
     * is already big (from before checkpoints, say) is rewritten at its next commit
     * rather than only once it has quadrupled. */
    c->ckpt_base = 0;
    *out = c;
    return VG_OK;
fail:
    catalog_close(c);
    return rc;
}

void catalog_close(catalog *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd); /* also drops the flock */
    cat_free_objects(c);
    cat_trigger_free_all(c);
    vg_buf_free(&c->pending);
    vg_free(c->path);
    vg_free(c->tmp_path);
    vg_free(c->dir);
    pthread_rwlock_destroy(&c->lock);
    vg_free(c);
}

void catalog_read_lock(catalog *c)
{
    pthread_rwlock_rdlock(&c->lock);
}
void catalog_read_unlock(catalog *c)
{
    pthread_rwlock_unlock(&c->lock);
}
void catalog_write_lock(catalog *c)
{
    pthread_rwlock_wrlock(&c->lock);
}
void catalog_write_unlock(catalog *c)
{
    pthread_rwlock_unlock(&c->lock);
}

const char *catalog_uuid(const catalog *c)
{
    return c->uuid;
}

/* ---- lookups ---- */

catalog_db *catalog_db_find(catalog *c, const char *name, size_t len)
{
    return vg_map_get(&c->by_name, name, len);
}

catalog_db *catalog_db_get(catalog *c, uint32_t id)
{
    return id < c->ndbs ? c->dbs[id] : NULL;
}

catalog_db **catalog_dbs(catalog *c, uint32_t *n)
{
    *n = c->ndbs;
    return c->dbs;
}

catalog_table *catalog_table_find(catalog_db *db, const char *name, size_t len)
{
    return vg_map_get(&db->by_name, name, len);
}

bool catalog_table_deleted_after(const catalog_db *db, const char *name, size_t len,
                                 uint64_t wal_seq)
{
    for (uint32_t i = 0; db->deleted_tables && i < db->ntables; i++) {
        const catalog_table *t = db->tables[i];
        if (t->deleted && t->deleted_wal_seq >= wal_seq && strlen(t->orig_name) == len &&
            memcmp(t->orig_name, name, len) == 0)
            return true;
    }
    return false;
}

catalog_column *catalog_column_find(catalog_table *t, const char *name, size_t len)
{
    return vg_map_get(&t->by_name, name, len);
}

uint32_t catalog_live_db_count(catalog *c)
{
    return c->live_dbs;
}

uint32_t catalog_table_count(catalog *c)
{
    return c->live_tables;
}

size_t catalog_pending(catalog *c)
{
    return c->npending;
}

/* The checkpoint comes after the commit is durable, so its failure cannot lose it. */
int catalog_commit(catalog *c, vg_err *e)
{
    int rc = cat_log_commit(c, e);
    if (rc == VG_OK)
        cat_checkpoint_maybe(c);
    return rc;
}
