/* catalog/log.c: the catalog's durable log (format in catalog/README.md).
 *
 * Owns record framing (length, CRC32C), the encoding of ops, the queue of ops
 * waiting for a commit, the commit itself (one write, one fsync), and replay at
 * open, which tells a torn tail (cut, with a warning) from corruption in the middle
 * (refused). Every commit is one record, so a crash can never leave half a commit. */
#include "catalog_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- little-endian encoding ---- */

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint32_t record_crc(const uint8_t *frame, const uint8_t *payload, size_t len)
{
    return vg_crc32c(vg_crc32c(0, frame, 4), payload, len);
}

/* The queue reserves its space before memory changes, so these never fail. */
static void put_u8(vg_buf *b, uint8_t v)
{
    vg_buf_append(b, &v, 1);
}

static void put_u32(vg_buf *b, uint32_t v)
{
    uint8_t t[4];
    wr32(t, v);
    vg_buf_append(b, t, 4);
}

static void put_u64(vg_buf *b, uint64_t v)
{
    uint8_t t[8];
    wr64(t, v);
    vg_buf_append(b, t, 8);
}

static void put_str(vg_buf *b, const char *s, uint32_t len)
{
    put_u32(b, len);
    vg_buf_append(b, s, len);
}

/* ---- the queue ---- */

void cat_queue_init(vg_buf *b)
{
    static const uint8_t zeros[CAT_FRAME_BYTES + CAT_BATCH_HDR_BYTES];
    vg_buf_init(b);
    vg_buf_append(b, zeros, sizeof zeros);
}

void cat_queue_reset(catalog *c)
{
    c->pending.len = CAT_FRAME_BYTES + CAT_BATCH_HDR_BYTES;
    c->npending = 0;
}

size_t cat_op_size(cat_op op, size_t name_len)
{
    size_t str = 4 + name_len;
    switch (op) {
    case CAT_OP_CREATED: return 1 + 16 + 8;
    case CAT_OP_DB_CREATE: return 1 + 4 + 8 + str;
    case CAT_OP_DB_DELETE: return 1 + 4 + 8 + str;
    case CAT_OP_DB_RETENTION: return 1 + 4 + 8;
    case CAT_OP_TABLE_CREATE: return 1 + 4 + 4 + str;
    case CAT_OP_COLUMN_ADD: return 1 + 4 + 4 + 4 + 1 + str;
    case CAT_OP_CHECKPOINT: return 1 + 16 + 8 + 8;
    case CAT_OP_FILE_ADD: /* cat_file_op_size */
    case CAT_OP_FILE_REMOVE: return 1 + 8 + 4 + 4;
    case CAT_OP_PERSISTED: return 1 + 8;
    case CAT_OP_TOMB_ADD: /* 1 + catalog_tombstone_encoded_size */
    case CAT_OP_TOMB_REMOVE: return 1 + 8 + 4 + 4;
    case CAT_OP_TABLE_DELETE: return 1 + 4 + 4 + 8 + 8 + str;
    case CAT_OP_DB_HARD_DELETE: return 1 + 4 + 8;
    case CAT_OP_TABLE_HARD_DELETE: return 1 + 4 + 4 + 8;
    }
    return 0;
}

int cat_queue_reserve(catalog *c, size_t op_bytes, vg_err *e)
{
    if (c->pending.len - CAT_FRAME_BYTES + op_bytes > VG_LIMIT_CATALOG_RECORD_BYTES)
        return vg_err_set(e, VG_ELIMIT,
                          "too many catalog changes in one commit (over %u bytes); commit "
                          "them in smaller batches",
                          (unsigned)VG_LIMIT_CATALOG_RECORD_BYTES);
    if (!vg_buf_reserve(&c->pending, op_bytes)) {
        c->pending.oom = false; /* the queued ops are intact; a later reserve may succeed */
        return vg_err_set(e, VG_ENOMEM, "out of memory queueing a catalog change");
    }
    return VG_OK;
}

void cat_queue_db_create(catalog *c, const catalog_db *db)
{
    put_u8(&c->pending, CAT_OP_DB_CREATE);
    put_u32(&c->pending, db->id);
    put_u64(&c->pending, (uint64_t)db->retention_ns);
    put_str(&c->pending, db->name, db->name_len);
    c->npending++;
}

void cat_queue_db_delete(catalog *c, const catalog_db *db)
{
    put_u8(&c->pending, CAT_OP_DB_DELETE);
    put_u32(&c->pending, db->id);
    put_u64(&c->pending, (uint64_t)db->deleted_at_ns);
    put_str(&c->pending, db->name, db->name_len);
    c->npending++;
}

void cat_queue_db_retention(catalog *c, const catalog_db *db)
{
    put_u8(&c->pending, CAT_OP_DB_RETENTION);
    put_u32(&c->pending, db->id);
    put_u64(&c->pending, (uint64_t)db->retention_ns);
    c->npending++;
}

void cat_queue_table_create(catalog *c, const catalog_table *t)
{
    put_u8(&c->pending, CAT_OP_TABLE_CREATE);
    put_u32(&c->pending, t->db_id);
    put_u32(&c->pending, t->id);
    put_str(&c->pending, t->name, t->name_len);
    c->npending++;
}

void cat_queue_column_add(catalog *c, const catalog_table *t, const catalog_column *col)
{
    put_u8(&c->pending, CAT_OP_COLUMN_ADD);
    put_u32(&c->pending, t->db_id);
    put_u32(&c->pending, t->id);
    put_u32(&c->pending, col->id);
    put_u8(&c->pending, (uint8_t)col->type);
    put_str(&c->pending, col->name, col->name_len);
    c->npending++;
}

/* ---- persisted files (kind 10-12) ---- */

static bool stat_is_string(catalog_type t)
{
    return t == CATALOG_TAG || t == CATALOG_STRING;
}

size_t cat_file_op_size(const catalog_file *f)
{
    size_t n = 1 + 8 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 4 + strlen(f->path) + 4;
    for (uint32_t i = 0; i < f->nstats; i++) {
        const catalog_col_stats *st = &f->stats[i];
        n += 4 + 1 + 8 + 1;
        if (st->has_minmax)
            n += stat_is_string(st->type) ? 8 + st->smin_len + st->smax_len : 16;
    }
    return n;
}

static void put_bytes(vg_buf *b, const char *s, uint32_t len)
{
    put_u32(b, len);
    vg_buf_append(b, s, len);
}

void cat_queue_file_add(catalog *c, const catalog_file *f)
{
    vg_buf *b = &c->pending;
    put_u8(b, CAT_OP_FILE_ADD);
    put_u64(b, f->id);
    put_u32(b, f->db_id);
    put_u32(b, f->table_id);
    put_u64(b, f->order);
    put_u64(b, (uint64_t)f->min_time);
    put_u64(b, (uint64_t)f->max_time);
    put_u64(b, f->rows);
    put_u64(b, f->bytes);
    put_str(b, f->path, (uint32_t)strlen(f->path));
    put_u32(b, f->nstats);
    for (uint32_t i = 0; i < f->nstats; i++) {
        const catalog_col_stats *st = &f->stats[i];
        put_u32(b, st->col_id);
        put_u8(b, (uint8_t)st->type);
        put_u64(b, st->null_count);
        put_u8(b, st->has_minmax);
        if (!st->has_minmax)
            continue;
        if (stat_is_string(st->type)) {
            put_bytes(b, st->smin, st->smin_len);
            put_bytes(b, st->smax, st->smax_len);
        } else {
            put_u64(b, st->min.u);
            put_u64(b, st->max.u);
        }
    }
    c->npending++;
}

void cat_queue_file_remove(catalog *c, const catalog_file *f)
{
    put_u8(&c->pending, CAT_OP_FILE_REMOVE);
    put_u64(&c->pending, f->id);
    put_u32(&c->pending, f->db_id);
    put_u32(&c->pending, f->table_id);
    c->npending++;
}

void cat_queue_persisted(catalog *c, uint64_t seq)
{
    put_u8(&c->pending, CAT_OP_PERSISTED);
    put_u64(&c->pending, seq);
    c->npending++;
}

/* ---- deletes (kind 13-17) ---- */

void cat_queue_tomb_add(catalog *c, const catalog_tombstone *t)
{
    size_t n = catalog_tombstone_encoded_size(t);
    put_u8(&c->pending, CAT_OP_TOMB_ADD);
    /* the room was reserved: the buffer does not move */
    catalog_tombstone_encode(t, (uint8_t *)c->pending.data + c->pending.len);
    c->pending.len += n;
    c->npending++;
}

void cat_queue_tomb_remove(catalog *c, const catalog_tombstone *t)
{
    put_u8(&c->pending, CAT_OP_TOMB_REMOVE);
    put_u64(&c->pending, t->id);
    put_u32(&c->pending, t->db_id);
    put_u32(&c->pending, t->table_id);
    c->npending++;
}

void cat_queue_table_delete(catalog *c, const catalog_table *t)
{
    put_u8(&c->pending, CAT_OP_TABLE_DELETE);
    put_u32(&c->pending, t->db_id);
    put_u32(&c->pending, t->id);
    put_u64(&c->pending, (uint64_t)t->deleted_at_ns);
    put_u64(&c->pending, t->deleted_wal_seq);
    put_str(&c->pending, t->name, t->name_len);
    c->npending++;
}

void cat_queue_db_hard_delete(catalog *c, const catalog_db *db)
{
    put_u8(&c->pending, CAT_OP_DB_HARD_DELETE);
    put_u32(&c->pending, db->id);
    put_u64(&c->pending, (uint64_t)db->hard_delete_at_ns);
    c->npending++;
}

void cat_queue_table_hard_delete(catalog *c, const catalog_table *t)
{
    put_u8(&c->pending, CAT_OP_TABLE_HARD_DELETE);
    put_u32(&c->pending, t->db_id);
    put_u32(&c->pending, t->id);
    put_u64(&c->pending, (uint64_t)t->hard_delete_at_ns);
    c->npending++;
}

void cat_queue_checkpoint(catalog *c)
{
    put_u8(&c->pending, CAT_OP_CHECKPOINT);
    vg_buf_append(&c->pending, c->uuid_bytes, 16);
    put_u64(&c->pending, (uint64_t)c->created_ns);
    put_u64(&c->pending, c->file_id_floor);
    c->npending++;
}

/* ---- commit ---- */

void cat_queue_frame(catalog *c, uint64_t seq)
{
    uint8_t *d = (uint8_t *)c->pending.data;
    size_t plen = c->pending.len - CAT_FRAME_BYTES;
    d[CAT_FRAME_BYTES] = CAT_BATCH_VERSION;
    wr64(d + CAT_FRAME_BYTES + 1, seq);
    wr32(d, (uint32_t)plen);
    wr32(d + 4, record_crc(d, d + CAT_FRAME_BYTES, plen));
}

/* Frames the queued ops as one record and appends it durably. A failed write is
 * cut off again, because a later commit appended after a torn record would turn
 * a harmless torn tail into corruption in the middle of the log. */
static int append_queued(catalog *c, vg_err *e)
{
    cat_queue_frame(c, c->next_seq);
    vg_err werr;
    vg_err_clear(&werr);
    if (vg_write_all(c->fd, c->pending.data, c->pending.len, &werr) != VG_OK) {
        if (ftruncate(c->fd, (off_t)c->log_size) != 0) {
            c->broken = true;
            VG_ERROR(CAT_MOD, "cannot cut failed append from catalog log %s at offset %llu: %s",
                     c->path, (unsigned long long)c->log_size, strerror(errno));
        }
        return vg_err_set(e, VG_EIO, "cannot append to catalog log '%s': %s", c->path, werr.msg);
    }
    vg_fsync_or_die(c->fd, c->path);
    c->log_size += c->pending.len;
    c->next_seq++;
    return VG_OK;
}

int cat_log_commit(catalog *c, vg_err *e)
{
    if (c->npending == 0)
        return VG_OK;
    if (c->broken)
        return vg_err_set(e, VG_EIO,
                          "catalog log '%s' was left in an unknown state by a failed write; "
                          "restart the server to recover it",
                          c->path);
    int rc = append_queued(c, e);
    if (rc == VG_OK)
        cat_queue_reset(c);
    return rc;
}

int cat_log_create(catalog *c, vg_err *e)
{
    uint8_t uuid[16];
    int rc = cat_make_uuid(uuid, e);
    if (rc != VG_OK)
        return rc;
    if ((rc = cat_queue_reserve(c, cat_op_size(CAT_OP_CREATED, 0), e)) != VG_OK)
        return rc;
    int64_t now = vg_now_ns();
    put_u8(&c->pending, CAT_OP_CREATED);
    vg_buf_append(&c->pending, uuid, 16);
    put_u64(&c->pending, (uint64_t)now);
    c->npending++;
    if ((rc = append_queued(c, e)) != VG_OK)
        return rc;
    cat_queue_reset(c);
    memcpy(c->uuid_bytes, uuid, 16);
    c->created_ns = now;
    cat_format_uuid(uuid, c->uuid);
    /* The log file may be new: its directory entry must be durable too. */
    vg_fsync_dir_or_die(c->dir);
    return VG_OK;
}

/* ---- replay ---- */

typedef struct reader {
    const uint8_t *p;
    size_t n;
    bool bad;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->bad || r->n < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->n -= n;
    return p;
}

static uint8_t get_u8(reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

static uint32_t get_u32(reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? rd32(p) : 0;
}

static uint64_t get_u64(reader *r)
{
    const uint8_t *p = take(r, 8);
    return p ? rd64(p) : 0;
}

static const char *get_str(reader *r, uint32_t *len)
{
    *len = get_u32(r);
    const uint8_t *p = take(r, *len);
    if (p && *len == 0)
        r->bad = true; /* no name in the catalog is empty */
    return (const char *)p;
}

/* Context of one record being replayed, for error messages. */
typedef struct replay {
    catalog *c;
    uint64_t rec_off;
    uint64_t seq;
    unsigned op_index;
    vg_err *e;
} replay;

static int corrupt(replay *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int corrupt(replay *rp, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return vg_err_set(rp->e, VG_ECORRUPT,
                      "catalog log '%s' is corrupt at offset %llu (commit %llu, change %u): %s",
                      rp->c->path, (unsigned long long)rp->rec_off, (unsigned long long)rp->seq,
                      rp->op_index, detail);
}

static int oom(replay *rp)
{
    return vg_err_set(rp->e, VG_ENOMEM, "out of memory replaying catalog log '%s'", rp->c->path);
}

static int replay_created(replay *rp, reader *r)
{
    const uint8_t *uuid = take(r, 16);
    int64_t created = (int64_t)get_u64(r); /* for people reading the log, and checkpoints */
    if (r->bad)
        return corrupt(rp, "truncated catalog-created change");
    if (rp->seq != 1 || rp->op_index != 0)
        return corrupt(rp, "catalog-created change after the start of the log");
    memcpy(rp->c->uuid_bytes, uuid, 16);
    rp->c->created_ns = created;
    cat_format_uuid(uuid, rp->c->uuid);
    return VG_OK;
}

/* Kind 7 stands in for kind 1 at the start of a log rewritten by a checkpoint; it
 * also carries the file id counter, which the ops after it cannot restore (the ids
 * of removed files appear nowhere in the image). */
static int replay_checkpoint(replay *rp, reader *r)
{
    const uint8_t *uuid = take(r, 16);
    int64_t created = (int64_t)get_u64(r);
    uint64_t file_id_floor = get_u64(r);
    if (r->bad)
        return corrupt(rp, "truncated checkpoint change");
    if (rp->rec_off != 0 || rp->op_index != 0)
        return corrupt(rp, "checkpoint change after the start of the log");
    catalog *c = rp->c;
    memcpy(c->uuid_bytes, uuid, 16);
    c->created_ns = created;
    cat_format_uuid(uuid, c->uuid);
    c->file_id_floor = file_id_floor;
    c->next_file_id = file_id_floor;
    return VG_OK;
}

static catalog_db *replay_db(replay *rp, uint32_t id)
{
    catalog_db *db = catalog_db_get(rp->c, id);
    if (!db)
        corrupt(rp, "unknown database id %u", id);
    return db;
}

static int replay_db_create(replay *rp, reader *r)
{
    catalog *c = rp->c;
    uint32_t id = get_u32(r), len;
    int64_t retention = (int64_t)get_u64(r);
    const char *name = get_str(r, &len);
    if (r->bad)
        return corrupt(rp, "truncated database change");
    if (id != c->ndbs)
        return corrupt(rp, "database id %u out of order (expected %u)", id, c->ndbs);
    if (catalog_db_find(c, name, len))
        return corrupt(rp, "database '%.*s' created twice", (int)len, name);
    catalog_db *db;
    return cat_apply_db_create(c, name, len, retention, &db) == VG_OK ? VG_OK : oom(rp);
}

static int replay_db_delete(replay *rp, reader *r)
{
    uint32_t id = get_u32(r), len;
    int64_t at = (int64_t)get_u64(r);
    const char *name = get_str(r, &len);
    if (r->bad)
        return corrupt(rp, "truncated database change");
    catalog_db *db = replay_db(rp, id);
    if (!db)
        return VG_ECORRUPT;
    if (db->deleted)
        return corrupt(rp, "database id %u deleted twice", id);
    return cat_apply_db_delete(rp->c, db, name, len, at) == VG_OK ? VG_OK : oom(rp);
}

static int replay_db_retention(replay *rp, reader *r)
{
    uint32_t id = get_u32(r);
    int64_t retention = (int64_t)get_u64(r);
    if (r->bad)
        return corrupt(rp, "truncated database change");
    catalog_db *db = replay_db(rp, id);
    if (!db)
        return VG_ECORRUPT;
    db->retention_ns = retention;
    return VG_OK;
}

static int replay_table_create(replay *rp, reader *r)
{
    uint32_t db_id = get_u32(r), id = get_u32(r), len;
    const char *name = get_str(r, &len);
    if (r->bad)
        return corrupt(rp, "truncated table change");
    catalog_db *db = replay_db(rp, db_id);
    if (!db)
        return VG_ECORRUPT;
    if (id != db->ntables)
        return corrupt(rp, "table id %u out of order (expected %u)", id, db->ntables);
    if (catalog_table_find(db, name, len))
        return corrupt(rp, "table '%.*s' created twice", (int)len, name);
    catalog_table *t;
    return cat_apply_table_create(rp->c, db, name, len, &t) == VG_OK ? VG_OK : oom(rp);
}

static int replay_column_add(replay *rp, reader *r)
{
    uint32_t db_id = get_u32(r), table_id = get_u32(r), id = get_u32(r), len;
    catalog_type type = (catalog_type)get_u8(r);
    const char *name = get_str(r, &len);
    if (r->bad)
        return corrupt(rp, "truncated column change");
    catalog_db *db = replay_db(rp, db_id);
    if (!db)
        return VG_ECORRUPT;
    if (table_id >= db->ntables)
        return corrupt(rp, "unknown table id %u in database id %u", table_id, db_id);
    catalog_table *t = db->tables[table_id];
    if (id != t->ncols)
        return corrupt(rp, "column id %u out of order (expected %u)", id, t->ncols);
    if (!cat_type_valid(type) || type == CATALOG_TIME)
        return corrupt(rp, "invalid column type %d", (int)type);
    if (catalog_column_find(t, name, len))
        return corrupt(rp, "column '%.*s' added twice", (int)len, name);
    catalog_column *col;
    return cat_apply_column_add(rp->c, t, name, len, type, &col) == VG_OK ? VG_OK : oom(rp);
}

/* A byte string that may be empty (a string statistic). */
static const char *get_bytes(reader *r, uint32_t *len)
{
    *len = get_u32(r);
    return (const char *)take(r, *len);
}

static int replay_stat(replay *rp, reader *r, catalog_col_stats *st, char **strs)
{
    st->col_id = get_u32(r);
    st->type = (catalog_type)get_u8(r);
    st->null_count = get_u64(r);
    st->has_minmax = get_u8(r) != 0;
    if (!cat_type_valid(st->type))
        return corrupt(rp, "invalid statistics type %d", (int)st->type);
    if (!st->has_minmax)
        return VG_OK;
    if (!stat_is_string(st->type)) {
        st->min.u = get_u64(r);
        st->max.u = get_u64(r);
        return VG_OK;
    }
    const char *mn = get_bytes(r, &st->smin_len);
    const char *mx = get_bytes(r, &st->smax_len);
    if (r->bad)
        return VG_OK;
    strs[0] = vg_strndup(mn ? mn : "", st->smin_len);
    strs[1] = vg_strndup(mx ? mx : "", st->smax_len);
    if (!strs[0] || !strs[1])
        return oom(rp);
    st->smin = strs[0];
    st->smax = strs[1];
    return VG_OK;
}

static int replay_file_add(replay *rp, reader *r)
{
    catalog_file f;
    memset(&f, 0, sizeof f);
    f.id = get_u64(r);
    f.db_id = get_u32(r);
    f.table_id = get_u32(r);
    f.order = get_u64(r);
    f.min_time = (int64_t)get_u64(r);
    f.max_time = (int64_t)get_u64(r);
    f.rows = get_u64(r);
    f.bytes = get_u64(r);
    uint32_t plen;
    const char *path = get_str(r, &plen);
    uint32_t nstats = get_u32(r);
    if (r->bad || nstats > r->n)
        return corrupt(rp, "truncated file change");
    char *pathz = vg_strndup(path, plen);
    catalog_col_stats *stats = nstats ? vg_calloc(nstats, sizeof *stats) : NULL;
    char **strs = nstats ? vg_calloc((size_t)nstats * 2, sizeof *strs) : NULL;
    int rc = VG_OK;
    if (!pathz || (nstats && (!stats || !strs)))
        rc = oom(rp);
    for (uint32_t i = 0; rc == VG_OK && i < nstats; i++)
        rc = replay_stat(rp, r, &stats[i], strs + 2 * i);
    if (rc == VG_OK && r->bad)
        rc = corrupt(rp, "truncated file change");
    if (rc == VG_OK) {
        f.path = pathz;
        f.stats = stats;
        f.nstats = nstats;
        int arc = cat_apply_file_add(rp->c, &f, NULL);
        if (arc == VG_ENOTFOUND)
            rc = corrupt(rp, "file %llu of unknown table id %u in database id %u",
                         (unsigned long long)f.id, f.table_id, f.db_id);
        else if (arc != VG_OK)
            rc = oom(rp);
    }
    for (uint32_t i = 0; strs && i < 2 * nstats; i++)
        vg_free(strs[i]);
    vg_free(strs);
    vg_free(stats);
    vg_free(pathz);
    return rc;
}

static int replay_file_remove(replay *rp, reader *r)
{
    uint64_t id = get_u64(r);
    uint32_t db_id = get_u32(r), table_id = get_u32(r);
    if (r->bad)
        return corrupt(rp, "truncated file change");
    catalog_db *db = catalog_db_get(rp->c, db_id);
    catalog_file *f = db && table_id < db->ntables
                          ? cat_apply_file_remove(db->tables[table_id], id)
                          : NULL;
    if (!f)
        return corrupt(rp, "removal of unknown file %llu", (unsigned long long)id);
    cat_file_free(f);
    return VG_OK;
}

static int replay_persisted(replay *rp, reader *r)
{
    uint64_t seq = get_u64(r);
    if (r->bad)
        return corrupt(rp, "truncated persisted-through change");
    rp->c->persisted_seq = seq;
    return VG_OK;
}

/* The table of an op, or NULL after recording the corruption. */
static catalog_table *replay_table(replay *rp, uint32_t db_id, uint32_t table_id)
{
    catalog_db *db = replay_db(rp, db_id);
    if (!db)
        return NULL;
    if (table_id >= db->ntables) {
        corrupt(rp, "unknown table id %u in database id %u", table_id, db_id);
        return NULL;
    }
    return db->tables[table_id];
}

static int replay_tomb_add(replay *rp, reader *r)
{
    /* The tombstone's own encoding runs to the end of the record or the next op:
     * decode it from the rest, then advance by its size. */
    catalog_tombstone *t = NULL;
    size_t used = 0;
    int rc = cat_tomb_decode_prefix(r->p, r->n, &t, &used);
    if (rc == VG_ENOMEM)
        return oom(rp);
    if (rc != VG_OK)
        return corrupt(rp, "truncated or malformed tombstone");
    take(r, used);
    catalog_tombstone *added;
    int arc = cat_apply_tomb_add(rp->c, t, &added);
    catalog_tombstone_free(t);
    if (arc == VG_ENOTFOUND)
        return corrupt(rp, "tombstone of unknown table");
    return arc == VG_OK ? VG_OK : oom(rp);
}

static int replay_tomb_remove(replay *rp, reader *r)
{
    uint64_t id = get_u64(r);
    uint32_t db_id = get_u32(r), table_id = get_u32(r);
    if (r->bad)
        return corrupt(rp, "truncated tombstone change");
    catalog_table *t = replay_table(rp, db_id, table_id);
    if (!t)
        return VG_ECORRUPT;
    catalog_tombstone *gone = cat_apply_tomb_remove(t, id);
    if (!gone)
        return corrupt(rp, "removal of unknown tombstone %llu", (unsigned long long)id);
    catalog_tombstone_free(gone);
    return VG_OK;
}

static int replay_table_delete(replay *rp, reader *r)
{
    uint32_t db_id = get_u32(r), table_id = get_u32(r), len;
    int64_t at = (int64_t)get_u64(r);
    uint64_t wal_seq = get_u64(r);
    const char *name = get_str(r, &len);
    if (r->bad)
        return corrupt(rp, "truncated table change");
    catalog_table *t = replay_table(rp, db_id, table_id);
    if (!t)
        return VG_ECORRUPT;
    if (t->deleted)
        return corrupt(rp, "table id %u of database id %u deleted twice", table_id, db_id);
    return cat_apply_table_delete(rp->c, t, name, len, at, wal_seq) == VG_OK ? VG_OK : oom(rp);
}

static int replay_db_hard_delete(replay *rp, reader *r)
{
    uint32_t id = get_u32(r);
    int64_t at = (int64_t)get_u64(r);
    if (r->bad)
        return corrupt(rp, "truncated database change");
    catalog_db *db = replay_db(rp, id);
    if (!db)
        return VG_ECORRUPT;
    db->hard_delete_at_ns = at;
    return VG_OK;
}

static int replay_table_hard_delete(replay *rp, reader *r)
{
    uint32_t db_id = get_u32(r), table_id = get_u32(r);
    int64_t at = (int64_t)get_u64(r);
    if (r->bad)
        return corrupt(rp, "truncated table change");
    catalog_table *t = replay_table(rp, db_id, table_id);
    if (!t)
        return VG_ECORRUPT;
    t->hard_delete_at_ns = at;
    return VG_OK;
}

/* Trigger ops are decoded by triggers.c, which owns their layout. */
static int replay_trigger(replay *rp, reader *r, uint8_t kind)
{
    char why[200];
    size_t used = 0;
    int rc = cat_trigger_replay(rp->c, kind, r->p, r->n, &used, why, sizeof why);
    if (rc == VG_ENOMEM)
        return oom(rp);
    if (rc != VG_OK)
        return corrupt(rp, "%s", why);
    take(r, used);
    return VG_OK;
}

static int replay_op(replay *rp, reader *r)
{
    uint8_t kind = get_u8(r);
    if (rp->rec_off == 0 && rp->op_index == 0 && kind != CAT_OP_CREATED &&
        kind != CAT_OP_CHECKPOINT)
        return corrupt(rp, "the log does not start with a catalog-created or checkpoint change");
    switch ((cat_op)kind) {
    case CAT_OP_CREATED: return replay_created(rp, r);
    case CAT_OP_CHECKPOINT: return replay_checkpoint(rp, r);
    case CAT_OP_DB_CREATE: return replay_db_create(rp, r);
    case CAT_OP_DB_DELETE: return replay_db_delete(rp, r);
    case CAT_OP_DB_RETENTION: return replay_db_retention(rp, r);
    case CAT_OP_TABLE_CREATE: return replay_table_create(rp, r);
    case CAT_OP_COLUMN_ADD: return replay_column_add(rp, r);
    case CAT_OP_FILE_ADD: return replay_file_add(rp, r);
    case CAT_OP_FILE_REMOVE: return replay_file_remove(rp, r);
    case CAT_OP_PERSISTED: return replay_persisted(rp, r);
    case CAT_OP_TOMB_ADD: return replay_tomb_add(rp, r);
    case CAT_OP_TOMB_REMOVE: return replay_tomb_remove(rp, r);
    case CAT_OP_TABLE_DELETE: return replay_table_delete(rp, r);
    case CAT_OP_DB_HARD_DELETE: return replay_db_hard_delete(rp, r);
    case CAT_OP_TABLE_HARD_DELETE: return replay_table_hard_delete(rp, r);
    }
    if (kind >= CAT_OP_TRIGGER_FIRST && kind <= CAT_OP_TRIGGER_LAST)
        return replay_trigger(rp, r, kind);
    return corrupt(rp, "unknown change kind %u (written by a newer Vigil?)", kind);
}

/* Applies one record whose checksum held; anything wrong inside it now is not a torn
 * write but a bug or a foreign file, so it is corruption. */
static int replay_record(catalog *c, const uint8_t *payload, size_t len, uint64_t off, vg_err *e)
{
    replay rp = {c, off, 0, 0, e};
    reader r = {payload, len, false};
    uint8_t version = get_u8(&r);
    rp.seq = get_u64(&r);
    if (r.bad || version != CAT_BATCH_VERSION)
        return corrupt(&rp, "unsupported record version %u (written by a newer Vigil?)", version);
    /* A log rewritten by a checkpoint goes on counting where the old one was: its
     * first record may have any number, provided it starts with the checkpoint
     * (replay_op refuses kind 7 anywhere else). */
    if (off == 0 && rp.seq >= 1 && r.n > 0 && r.p[0] == CAT_OP_CHECKPOINT)
        c->next_seq = rp.seq;
    if (rp.seq != c->next_seq)
        return corrupt(&rp, "commit number %llu out of order (expected %llu)",
                       (unsigned long long)rp.seq, (unsigned long long)c->next_seq);
    for (; r.n > 0; rp.op_index++) {
        int rc = replay_op(&rp, &r);
        if (rc != VG_OK)
            return rc;
    }
    c->next_seq++;
    return VG_OK;
}

/* NULL if a whole record with a good checksum starts at off, else why not. */
static const char *check_record(const uint8_t *d, size_t size, size_t off, size_t *plen)
{
    if (size - off < CAT_FRAME_BYTES)
        return "record header cut short";
    uint32_t len = rd32(d + off);
    if (len < CAT_MIN_PAYLOAD || len > VG_LIMIT_CATALOG_RECORD_BYTES)
        return "record length out of range";
    if (size - off - CAT_FRAME_BYTES < len)
        return "record cut short";
    if (record_crc(d + off, d + off + CAT_FRAME_BYTES, len) != rd32(d + off + 4))
        return "checksum mismatch";
    *plen = len;
    return NULL;
}

/* Looks for an intact record of this log anywhere after a bad one. Only a commit
 * number that could follow the last good one counts (at least the next expected,
 * and at most one more per smallest possible record in the bytes left). That keeps
 * bytes which merely look like a record (say inside a name) from being taken for
 * one, and keeps the scan of a long garbage tail from checksumming at every offset:
 * random bytes almost never pass the number test. */
static bool valid_record_after(const catalog *c, const uint8_t *d, size_t size, size_t bad_off,
                               size_t *found)
{
    const size_t min_rec = CAT_FRAME_BYTES + CAT_MIN_PAYLOAD;
    uint64_t max_seq = c->next_seq + (size - bad_off) / min_rec + 1;
    /* Before any good record the number to expect is unknown: a log rewritten by a
     * checkpoint starts at any number. A bad first record is rare (a torn first
     * commit of a new catalog, or damage), so any number is accepted then. */
    if (bad_off == 0)
        max_seq = UINT64_MAX;
    for (size_t p = bad_off + 1; p + min_rec <= size; p++) {
        size_t plen;
        uint32_t len = rd32(d + p);
        if (len < CAT_MIN_PAYLOAD || len > size - p - CAT_FRAME_BYTES ||
            d[p + CAT_FRAME_BYTES] != CAT_BATCH_VERSION)
            continue;
        uint64_t seq = rd64(d + p + CAT_FRAME_BYTES + 1);
        if (seq < c->next_seq || seq > max_seq)
            continue;
        if (check_record(d, size, p, &plen) == NULL) {
            *found = p;
            return true;
        }
    }
    return false;
}

/* A checkpoint's image is written whole and fsynced before it replaces the log, so a
 * bad first record that starts with a checkpoint change was damaged, never torn:
 * cutting it would start an empty catalog in place of the whole one. */
static bool damaged_checkpoint(const uint8_t *d, size_t size, size_t off)
{
    const size_t kind_at = CAT_FRAME_BYTES + CAT_BATCH_HDR_BYTES;
    return off == 0 && size > kind_at && d[CAT_FRAME_BYTES] == CAT_BATCH_VERSION &&
           d[kind_at] == CAT_OP_CHECKPOINT;
}

static int handle_bad_record(catalog *c, const uint8_t *d, size_t size, size_t off, const char *why,
                             vg_err *e)
{
    size_t next;
    if (damaged_checkpoint(d, size, off))
        return vg_err_set(e, VG_ECORRUPT,
                          "catalog log '%s' is corrupt at offset 0 (%s): its first record, a "
                          "checkpoint, was written whole before it was used, so this is not a "
                          "torn write; restore the catalog from a backup",
                          c->path, why);
    if (valid_record_after(c, d, size, off, &next))
        return vg_err_set(e, VG_ECORRUPT,
                          "catalog log '%s' is corrupt at offset %zu (%s) and an intact record "
                          "follows at offset %zu, so this is not a torn write; restore the "
                          "catalog from a backup, or cut the file at offset %zu to lose the "
                          "changes after it",
                          c->path, off, why, next, off);
    VG_WARN(CAT_MOD,
            "catalog log %s: cutting a torn tail at offset %zu (%s; %zu bytes dropped), "
            "left by a commit that a crash interrupted",
            c->path, off, why, size - off);
    if (ftruncate(c->fd, (off_t)off) != 0)
        return vg_err_errno(e, VG_EIO, errno, "cannot cut the torn tail of catalog log '%s'",
                            c->path);
    vg_fsync_or_die(c->fd, c->path);
    return VG_OK;
}

static int read_log(catalog *c, uint8_t **data, size_t *size, vg_err *e)
{
    struct stat st;
    *data = NULL;
    if (fstat(c->fd, &st) != 0)
        return vg_err_errno(e, VG_EIO, errno, "cannot stat catalog log '%s'", c->path);
    *size = (size_t)st.st_size;
    if (*size == 0)
        return VG_OK;
    *data = vg_malloc(*size);
    if (!*data)
        return vg_err_set(e, VG_ENOMEM, "out of memory reading catalog log '%s'", c->path);
    size_t got;
    vg_err rerr;
    if (vg_pread_all(c->fd, *data, *size, 0, &got, &rerr) != VG_OK)
        return vg_err_set(e, VG_EIO, "cannot read catalog log '%s': %s", c->path, rerr.msg);
    *size = got;
    return VG_OK;
}

int cat_log_replay(catalog *c, vg_err *e)
{
    uint8_t *d;
    size_t size = 0, off = 0;
    int rc = read_log(c, &d, &size, e);
    const char *why = NULL;
    while (rc == VG_OK && off < size) {
        size_t plen = 0;
        if ((why = check_record(d, size, off, &plen)) != NULL)
            break;
        rc = replay_record(c, d + off + CAT_FRAME_BYTES, plen, off, e);
        if (rc == VG_OK)
            off += CAT_FRAME_BYTES + plen;
    }
    if (rc == VG_OK && why)
        rc = handle_bad_record(c, d, size, off, why, e);
    if (rc == VG_OK)
        c->log_size = off;
    vg_free(d);
    return rc;
}
