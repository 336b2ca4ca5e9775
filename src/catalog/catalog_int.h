/*
 * catalog_int.h: declarations shared by the files of the catalog module only.
 *
 * catalog.c owns the object graph (apply functions used by both the public
 * mutations and log replay), mutate.c the validated public mutations, log.c the
 * on-disk log (framing, op encoding, replay, commit), names.c the naming rules,
 * files.c the persisted files, tombstones.c the row deletes, checkpoint.c the
 * rewrite of the log as a compact image.
 */
#ifndef VIGIL_CATALOG_INT_H
#define VIGIL_CATALOG_INT_H

#include "catalog.h"

#include <pthread.h>

#define CAT_MOD "catalog"
#define CAT_LOG_NAME "catalog.log"
/* A checkpoint writes its image here, then renames it over the log. */
#define CAT_TMP_NAME "catalog.log.tmp"

/* Record frame: len:u32 crc:u32, then the payload (catalog/README.md). */
#define CAT_FRAME_BYTES 8
/* Payload header: version:u8 seq:u64. */
#define CAT_BATCH_VERSION 1
#define CAT_BATCH_HDR_BYTES 9
/* The smallest well-formed payload: the header and one op kind byte. */
#define CAT_MIN_PAYLOAD (CAT_BATCH_HDR_BYTES + 1)

typedef enum cat_op {
    CAT_OP_CREATED = 1,
    CAT_OP_DB_CREATE = 2,
    CAT_OP_DB_DELETE = 3,
    CAT_OP_DB_RETENTION = 4,
    CAT_OP_TABLE_CREATE = 5,
    CAT_OP_COLUMN_ADD = 6,
    CAT_OP_CHECKPOINT = 7, /* only as the very first op of a file (checkpoint.c) */
    /* persistence: 10-39 */
    CAT_OP_FILE_ADD = 10,
    CAT_OP_FILE_REMOVE = 11,
    CAT_OP_PERSISTED = 12,
    /* deletes: 13-19 */
    CAT_OP_TOMB_ADD = 13,
    CAT_OP_TOMB_REMOVE = 14,
    CAT_OP_TABLE_DELETE = 15,
    CAT_OP_DB_HARD_DELETE = 16,
    CAT_OP_TABLE_HARD_DELETE = 17,
} cat_op;

/* Processing-engine trigger ops (triggers.c): kinds 40..59 are theirs. */
#define CAT_OP_TRIGGER_FIRST 40
#define CAT_OP_TRIGGER_LAST 59

struct catalog {
    pthread_rwlock_t lock;
    char *path;     /* <dir>/catalog.log */
    char *tmp_path; /* <dir>/catalog.log.tmp: a checkpoint's image until renamed */
    char *dir;
    int fd; /* the log, O_APPEND, flock'ed */
    char uuid[37];
    uint8_t uuid_bytes[16]; /* the same, as in the log */
    int64_t created_ns;     /* when the catalog was first created (kept by checkpoints) */
    catalog_limits limits;

    catalog_db **dbs; /* indexed by id, deleted ones included */
    uint32_t ndbs;
    uint32_t dbs_cap;
    vg_map by_name; /* live database name -> catalog_db* */
    uint32_t live_dbs;
    uint32_t live_tables;

    uint64_t next_file_id;
    /* 1 + the largest file or tombstone id any applied change holds (0: none), which
     * is what replaying the log makes next_file_id. Ids handed out but never
     * committed are above it. A checkpoint stores this, so the counter after a
     * reopen is the same with or without one. */
    uint64_t file_id_floor;
    uint64_t persisted_seq;

    uint64_t log_size; /* bytes of intact, durable log */
    uint64_t next_seq; /* sequence number of the next batch */
    vg_buf pending;    /* frame + batch header space, then the queued ops */
    size_t npending;
    bool broken;                   /* a failed append could not be cut off again */
    uint64_t ckpt_base;            /* size of the last image; 0 until the first one */
    uint64_t ckpt_retry_at;        /* after a failed checkpoint: no new try below this size */
    struct cat_triggers *triggers; /* triggers.c */
};

/* ---- catalog.c: the object graph. Each apply either fully succeeds or changes
 * nothing (VG_ENOMEM); callers have validated names, ids and limits. ---- */
int cat_apply_db_create(catalog *c, const char *name, size_t len, int64_t retention_ns,
                        catalog_db **out);
int cat_apply_db_delete(catalog *c, catalog_db *db, const char *new_name, size_t len,
                        int64_t at_ns);
int cat_apply_table_create(catalog *c, catalog_db *db, const char *name, size_t len,
                           catalog_table **out);
int cat_apply_column_add(catalog *c, catalog_table *t, const char *name, size_t len,
                         catalog_type type, catalog_column **out);
int cat_apply_table_delete(catalog *c, catalog_table *t, const char *new_name, size_t len,
                           int64_t at_ns, uint64_t wal_seq);
void cat_free_objects(catalog *c);

/* ---- files.c ---- */
int cat_apply_file_add(catalog *c, const catalog_file *f, catalog_file **out);
/* Takes the file out of t's list; returns it (caller frees) or NULL. */
catalog_file *cat_apply_file_remove(catalog_table *t, uint64_t id);
void cat_file_free(catalog_file *f);

/* Raises file_id_floor (and next_file_id) past id: a file or tombstone id is applied. */
void cat_file_id_seen(catalog *c, uint64_t id);

/* ---- tombstones.c ---- */
/* Adds a deep copy of src to its table; VG_ENOTFOUND for an unknown table. */
int cat_apply_tomb_add(catalog *c, const catalog_tombstone *src, catalog_tombstone **out);
/* Takes the tombstone out of t's list; returns it (caller frees) or NULL. */
catalog_tombstone *cat_apply_tomb_remove(catalog_table *t, uint64_t id);
/* Decodes one tombstone from the start of p[0..n) (catalog_tombstone_free), telling
 * how many bytes it took. VG_ECORRUPT, VG_ENOMEM. */
int cat_tomb_decode_prefix(const void *p, size_t n, catalog_tombstone **out, size_t *used);

/* ---- log.c ---- */
/* Replays the log file (already open in c->fd), cutting a torn tail. */
int cat_log_replay(catalog *c, vg_err *e);
/* Starts a new log: a fresh UUID in the first, durable record. */
int cat_log_create(catalog *c, vg_err *e);
/* Queues ops: reserve space first (the only step that can fail), then mutate memory,
 * then encode into the reserved space. */
int cat_queue_reserve(catalog *c, size_t op_bytes, vg_err *e);
void cat_queue_db_create(catalog *c, const catalog_db *db);
void cat_queue_db_delete(catalog *c, const catalog_db *db);
void cat_queue_db_retention(catalog *c, const catalog_db *db);
void cat_queue_table_create(catalog *c, const catalog_table *t);
void cat_queue_column_add(catalog *c, const catalog_table *t, const catalog_column *col);
size_t cat_file_op_size(const catalog_file *f);
void cat_queue_file_add(catalog *c, const catalog_file *f);
void cat_queue_file_remove(catalog *c, const catalog_file *f);
void cat_queue_persisted(catalog *c, uint64_t seq);
void cat_queue_tomb_add(catalog *c, const catalog_tombstone *t);
void cat_queue_tomb_remove(catalog *c, const catalog_tombstone *t);
void cat_queue_table_delete(catalog *c, const catalog_table *t);
void cat_queue_db_hard_delete(catalog *c, const catalog_db *db);
void cat_queue_table_hard_delete(catalog *c, const catalog_table *t);
/* Encoded size of one op of the given kind carrying a name of name_len bytes. */
size_t cat_op_size(cat_op op, size_t name_len);
void cat_queue_init(vg_buf *b);
/* Empties the queue (keeps the room for the frame and header). */
void cat_queue_reset(catalog *c);
/* Fills in the frame and header of the queued ops as the record numbered seq: the
 * buffer's len bytes are then that whole record. */
void cat_queue_frame(catalog *c, uint64_t seq);
/* Kind 7: the first op of a checkpoint image (the catalog's UUID, creation time,
 * file_id_floor). */
void cat_queue_checkpoint(catalog *c);
int cat_log_commit(catalog *c, vg_err *e);

/* ---- checkpoint.c ---- */
/* Reserves room for an op of op_bytes in an image being written; may first close
 * the record being filled and start the next. */
typedef int (*cat_reserve_fn)(void *ctx, size_t op_bytes);
/* After a successful commit: checkpoints when the log has grown enough (catalog.h,
 * catalog_checkpoint). A failure is logged and leaves the old log in use. */
void cat_checkpoint_maybe(catalog *c);
/* At open, before replay: deletes a catalog.log.tmp a crash left behind. */
void cat_checkpoint_remove_stale(catalog *c);

/* ---- triggers.c ---- */
/* Replays one trigger op (kind in CAT_OP_TRIGGER_FIRST..LAST) from p[0..n): *used
 * receives the bytes it took. VG_ECORRUPT with a reason in why when the op is
 * malformed or breaks a rule; VG_ENOMEM. */
int cat_trigger_replay(catalog *c, uint8_t kind, const uint8_t *p, size_t n, size_t *used,
                       char *why, size_t why_len);
void cat_trigger_free_all(catalog *c);
/* For a checkpoint image: queues the ops that re-create trigger t as it stands (a
 * create carrying its disabled flag, then a delete if it is deleted), with room
 * reserved through reserve(ctx, bytes) first. VG_ENOMEM (in e) or reserve's code. */
int cat_trigger_image(catalog *c, const catalog_trigger *t, cat_reserve_fn reserve, void *ctx,
                      vg_err *e);

/* ---- names.c ---- */
bool cat_type_is_field(catalog_type t);
bool cat_type_valid(catalog_type t);
/* Formats "<name>-YYYYMMDDTHHMMSS" (UTC) into a vg_malloc'd string. */
char *cat_deleted_name(const char *name, size_t len, int64_t at_ns, size_t *out_len);
int cat_make_uuid(uint8_t out[16], vg_err *e);
void cat_format_uuid(const uint8_t u[16], char out[37]);

#endif /* VIGIL_CATALOG_INT_H */
