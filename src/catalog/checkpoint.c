/* catalog/checkpoint.c: rewriting the log as a compact image of the catalog
 * (catalog/README.md, "Checkpoints").
 *
 * The log only grows: every snapshot, compaction and delete appends to it, and
 * start-up replays all of it. A checkpoint writes the catalog as it stands as a new
 * log: a checkpoint change (kind 7) in place of the catalog-created one, then the
 * ordinary ops that build the current state, numbered on from the old log. It goes to
 * catalog.log.tmp, is fsynced, renamed over catalog.log, the directory fsynced, and
 * commits append to it from then on. A crash at any point leaves the old log or the
 * new one, each whole; open deletes a leftover catalog.log.tmp.
 *
 * The image goes through the commit queue and the encoders commits use (log.c,
 * triggers.c), so it cannot encode an op differently from a commit; replay checks it
 * by the same rules. Its records are written to the file as each one fills. */
#include "catalog_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* An image record is closed once it holds about this much. Records stream to the
 * file one at a time, so this bounds the memory a checkpoint takes, whatever the
 * catalog's size; it is far below VG_LIMIT_CATALOG_RECORD_BYTES, which replay
 * enforces. */
#define CKPT_RECORD_BYTES (1u << 20)
/* A log is checkpointed once it is this many times its last image (and above the
 * floor), so rewriting costs at most a third more writing than appending did. */
#define CKPT_GROWTH 4

/* An image being written. */
typedef struct image {
    catalog *c;
    int fd;           /* catalog.log.tmp, O_APPEND, flock'ed; -1 once handed on */
    uint64_t seq;     /* number of the record being filled */
    uint64_t bytes;   /* written so far */
    uint32_t records; /* written so far */
    vg_err *e;
} image;

/* Test hook, as persist's: VIGIL_CRASH_AT=<point> exits abruptly (as SIGKILL would)
 * at "checkpoint-written" (the image whole in catalog.log.tmp, not yet renamed) or
 * "checkpoint-renamed" (the image is catalog.log; the catalog still holds the old
 * file). tests/crash restarts from each. */
static void crash_point(const char *point)
{
    const char *at = getenv("VIGIL_CRASH_AT");
    if (at && strcmp(at, point) == 0) {
        VG_WARN(CAT_MOD, "VIGIL_CRASH_AT=%s: exiting abruptly", point);
        _exit(137);
    }
}

/* ---- records ---- */

/* Frames the ops queued so far as the next record and writes it. */
static int img_flush(image *im)
{
    catalog *c = im->c;
    cat_queue_frame(c, im->seq);
    vg_err werr;
    vg_err_clear(&werr);
    if (vg_write_all(im->fd, c->pending.data, c->pending.len, &werr) != VG_OK)
        return vg_err_set(im->e, VG_EIO, "cannot write '%s': %s", c->tmp_path, werr.msg);
    im->bytes += c->pending.len;
    im->records++;
    im->seq++;
    cat_queue_reset(c);
    return VG_OK;
}

/* Room for one op; a full record is written first. A cat_reserve_fn. */
static int img_reserve(void *ctx, size_t op_bytes)
{
    image *im = ctx;
    catalog *c = im->c;
    if (c->npending > 0 && c->pending.len - CAT_FRAME_BYTES + op_bytes > CKPT_RECORD_BYTES) {
        int rc = img_flush(im);
        if (rc != VG_OK)
            return rc;
    }
    return cat_queue_reserve(c, op_bytes, im->e);
}

/* ---- the state, as ops ---- */

/* The length of the name a deleted database had before its delete renamed it
 * "<name>-YYYYMMDDTHHMMSS" (cat_deleted_name). Re-created under that name it cannot
 * meet a database created before it: those were live, under the same names, when
 * it was first created. Under its new name it could (a user may name a database
 * "x-20260101T000000"). */
static int deleted_db_name_len(const catalog_db *db, uint32_t *len, vg_err *e)
{
    size_t slen;
    char *suffix = cat_deleted_name("", 0, db->deleted_at_ns, &slen);
    if (!suffix)
        return vg_err_set(e, VG_ENOMEM, "out of memory writing database '%s'", db->name);
    *len = db->name_len;
    if (slen < db->name_len && memcmp(db->name + db->name_len - slen, suffix, slen) == 0)
        *len = db->name_len - (uint32_t)slen;
    vg_free(suffix);
    return VG_OK;
}

/* A table's files (in their order, which replay keeps) and tombstones (in id
 * order, likewise). */
static int img_table_data(image *im, const catalog_table *t)
{
    catalog *c = im->c;
    int rc = VG_OK;
    for (uint32_t i = 0; rc == VG_OK && i < t->nfiles; i++)
        if ((rc = img_reserve(im, cat_file_op_size(t->files[i]))) == VG_OK)
            cat_queue_file_add(c, t->files[i]);
    for (uint32_t i = 0; rc == VG_OK && i < t->ntombs; i++)
        if ((rc = img_reserve(im, 1 + catalog_tombstone_encoded_size(t->tombs[i]))) == VG_OK)
            cat_queue_tomb_add(c, t->tombs[i]);
    return rc;
}

/* A table as its ops would have left it: created (a deleted one under the name it
 * had), its columns, files and tombstones, then its delete. */
static int img_table(image *im, const catalog_table *t)
{
    catalog *c = im->c;
    /* The create op encodes the table's name: a shallow copy carries the old one. */
    catalog_table created = *t;
    if (t->deleted) {
        created.name = t->orig_name;
        created.name_len = (uint32_t)strlen(t->orig_name);
    }
    int rc = img_reserve(im, cat_op_size(CAT_OP_TABLE_CREATE, created.name_len));
    if (rc == VG_OK)
        cat_queue_table_create(c, &created);
    /* Column 0, `time`, comes with the table. */
    for (uint32_t i = 1; rc == VG_OK && i < t->ncols; i++)
        if ((rc = img_reserve(im, cat_op_size(CAT_OP_COLUMN_ADD, t->cols[i]->name_len))) == VG_OK)
            cat_queue_column_add(c, t, t->cols[i]);
    if (rc == VG_OK)
        rc = img_table_data(im, t);
    if (rc == VG_OK && t->deleted &&
        (rc = img_reserve(im, cat_op_size(CAT_OP_TABLE_DELETE, t->name_len))) == VG_OK)
        cat_queue_table_delete(c, t);
    if (rc == VG_OK && t->hard_delete_at_ns &&
        (rc = img_reserve(im, cat_op_size(CAT_OP_TABLE_HARD_DELETE, 0))) == VG_OK)
        cat_queue_table_hard_delete(c, t);
    return rc;
}

/* A database, deleted ones too: ids are dense and never reused, so every id must be
 * created again for the next one to be right. A deleted database is deleted right
 * after its tables, so its name is free again before the next database comes. */
static int img_db(image *im, const catalog_db *db)
{
    catalog *c = im->c;
    /* The create op encodes the name and retention: a shallow copy carries the
     * name it was created with. */
    catalog_db created = *db;
    int rc = db->deleted ? deleted_db_name_len(db, &created.name_len, im->e) : VG_OK;
    if (rc == VG_OK)
        rc = img_reserve(im, cat_op_size(CAT_OP_DB_CREATE, created.name_len));
    if (rc == VG_OK)
        cat_queue_db_create(c, &created);
    for (uint32_t i = 0; rc == VG_OK && i < db->ntables; i++)
        rc = img_table(im, db->tables[i]);
    if (rc == VG_OK && db->deleted &&
        (rc = img_reserve(im, cat_op_size(CAT_OP_DB_DELETE, db->name_len))) == VG_OK)
        cat_queue_db_delete(c, db);
    if (rc == VG_OK && db->hard_delete_at_ns &&
        (rc = img_reserve(im, cat_op_size(CAT_OP_DB_HARD_DELETE, 0))) == VG_OK)
        cat_queue_db_hard_delete(c, db);
    return rc;
}

/* The whole state: the checkpoint change first (it must open the first record),
 * databases in id order, the persisted WAL mark, triggers in id order (after the
 * databases they name). */
static int img_state(image *im)
{
    catalog *c = im->c;
    int rc = img_reserve(im, cat_op_size(CAT_OP_CHECKPOINT, 0));
    if (rc == VG_OK)
        cat_queue_checkpoint(c);
    for (uint32_t i = 0; rc == VG_OK && i < c->ndbs; i++)
        rc = img_db(im, c->dbs[i]);
    if (rc == VG_OK && c->persisted_seq &&
        (rc = img_reserve(im, cat_op_size(CAT_OP_PERSISTED, 0))) == VG_OK)
        cat_queue_persisted(c, c->persisted_seq);
    uint32_t ntriggers;
    catalog_trigger **triggers = catalog_triggers(c, &ntriggers);
    for (uint32_t i = 0; rc == VG_OK && i < ntriggers; i++)
        rc = cat_trigger_image(c, triggers[i], img_reserve, im, im->e);
    if (rc == VG_OK)
        rc = img_flush(im);
    return rc;
}

/* Writes the image through the commit queue, which is empty (all is committed). The
 * queue's buffer is set aside meanwhile and the image gets a fresh one, freed after:
 * the catalog does not keep a record's worth of memory for its next commit. */
static int img_write(image *im)
{
    catalog *c = im->c;
    vg_buf saved = c->pending;
    cat_queue_init(&c->pending);
    int rc = c->pending.oom
                 ? vg_err_set(im->e, VG_ENOMEM, "out of memory writing a catalog checkpoint")
                 : img_state(im);
    vg_buf_free(&c->pending);
    c->pending = saved;
    cat_queue_reset(c);
    return rc;
}

/* ---- the file ---- */

static int img_open(image *im)
{
    catalog *c = im->c;
    im->fd = open(c->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (im->fd < 0)
        return vg_err_errno(im->e, VG_EIO, errno, "cannot create '%s'", c->tmp_path);
    /* Locked before it is renamed into place, so the log is never without the lock
     * that keeps a second server out (catalog.c, open_log_file). */
    if (flock(im->fd, LOCK_EX | LOCK_NB) != 0)
        return vg_err_errno(im->e, VG_EIO, errno, "cannot lock '%s'", c->tmp_path);
    return VG_OK;
}

/* fsync, rename over the log, fsync of the directory (vg_durable_publish). That
 * closes the descriptor it is given, so a copy is kept first: the flock belongs to
 * the open file and stays held through the copy. */
static int img_publish(image *im, int *new_fd)
{
    catalog *c = im->c;
    int keep = fcntl(im->fd, F_DUPFD_CLOEXEC, 0);
    if (keep < 0)
        return vg_err_errno(im->e, VG_EIO, errno, "cannot duplicate the descriptor of '%s'",
                            c->tmp_path);
    int fd = im->fd;
    im->fd = -1; /* closed by publish, whatever happens; the tmp file removed on failure */
    int rc = vg_durable_publish(fd, c->tmp_path, c->path, im->e);
    if (rc != VG_OK) {
        close(keep);
        return rc;
    }
    *new_fd = keep;
    return VG_OK;
}

static int checkpoint(catalog *c, vg_err *e)
{
    /* The image is of memory, which holds exactly the committed state only when
     * nothing is queued; callers commit first. */
    if (VG_NEVER(c->npending != 0 || c->broken))
        return vg_err_set(e, VG_EINTERNAL, "catalog checkpoint with uncommitted changes");
    int64_t t0 = vg_mono_ns();
    uint64_t before = c->log_size;
    image im = {.c = c, .fd = -1, .seq = c->next_seq, .e = e};
    int new_fd = -1;
    int rc = img_open(&im);
    if (rc == VG_OK)
        rc = img_write(&im);
    if (rc == VG_OK) {
        crash_point("checkpoint-written");
        rc = img_publish(&im, &new_fd);
    }
    if (rc != VG_OK) {
        if (im.fd >= 0) {
            close(im.fd);
            unlink(c->tmp_path);
        }
        return rc;
    }
    crash_point("checkpoint-renamed");
    close(c->fd); /* the old log, unlinked by the rename; this drops its lock */
    c->fd = new_fd;
    c->log_size = im.bytes;
    c->next_seq = im.seq;
    c->ckpt_base = im.bytes;
    c->ckpt_retry_at = 0;
    VG_INFO(CAT_MOD, "catalog log %s checkpointed: %llu -> %llu bytes, %u records, %.1f ms",
            c->path, (unsigned long long)before, (unsigned long long)im.bytes, im.records,
            (double)(vg_mono_ns() - t0) / 1e6);
    return VG_OK;
}

/* ---- entry points ---- */

int catalog_checkpoint(catalog *c, vg_err *e)
{
    int rc = cat_log_commit(c, e);
    return rc == VG_OK ? checkpoint(c, e) : rc;
}

void cat_checkpoint_maybe(catalog *c)
{
    uint64_t size = c->log_size;
    if (size <= c->limits.checkpoint_floor_bytes || size <= CKPT_GROWTH * c->ckpt_base ||
        size < c->ckpt_retry_at)
        return;
    vg_err e;
    vg_err_clear(&e);
    if (checkpoint(c, &e) != VG_OK) {
        /* The commit stands, and so does the old log. The next try waits until the
         * log has grown by another quarter, rather than costing every commit an
         * image while, say, the disk is full. */
        c->ckpt_retry_at = size + size / 4;
        VG_WARN(CAT_MOD, "catalog log %s: checkpoint failed, the log stays in use as it is: %s",
                c->path, e.msg);
    }
}

void cat_checkpoint_remove_stale(catalog *c)
{
    if (unlink(c->tmp_path) == 0) {
        VG_INFO(CAT_MOD, "catalog: removed %s, left by a checkpoint that did not finish",
                c->tmp_path);
        return;
    }
    /* Harmless if it stays: it is never read, and the next checkpoint truncates it. */
    if (errno != ENOENT)
        VG_WARN(CAT_MOD, "catalog: cannot remove %s: %s", c->tmp_path, strerror(errno));
}
