/*
 * wal/wal.c: the running log. Owns the pending batch and group commit (append,
 * sync), rolling to new segments, replay, removal of persisted segments, and stats.
 * Start-up validation lives in recover.c, the byte layout in format.c.
 *
 * Locking: `mu` guards everything below it in struct wal except the active-segment
 * fields, which belong to whichever thread is the flush leader (`flushing` is set
 * under `mu`, so there is at most one) and to open and close, when no other thread
 * may use the log. Disk I/O is never done while holding `mu`, so appenders keep
 * filling the next batch while the leader writes and syncs the current one.
 */
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define WAL_DEFAULT_SEGMENT_BYTES (64ull << 20)
/* A leader keeps flushing for followers that still wait, which saves a hand-off
 * wake-up per batch; after this many rounds it passes the job on, so its own caller
 * is not held hostage by a steady stream of writers. */
#define WAL_LEADER_MAX_ROUNDS 4
/* A flushed batch buffer is kept for reuse unless it grew past this (one huge
 * record should not pin its memory for the life of the process). */
#define WAL_KEEP_BUFFER_BYTES (8u << 20)

/* Encoded records waiting to be written. */
typedef struct wal_batch {
    unsigned char *p;
    size_t len, cap;
} wal_batch;

struct wal {
    char *dir;
    int64_t flush_interval_ns;
    uint64_t segment_bytes;
    bool roll_next; /* atomic: the next batch starts a new segment (wal_roll_next) */

    pthread_mutex_t mu;
    pthread_cond_t cv;     /* durable_seq moved, a flush ended, or the log broke */
    pthread_mutex_t rm_mu; /* serializes wal_remove_through */

    /* Guarded by mu. */
    wal_batch pending; /* appended, not yet taken by a leader */
    wal_batch spare;   /* empty buffer to swap in; taken while a flush runs */
    uint64_t next_seq; /* seq the next append gets */
    uint64_t durable_seq;
    uint64_t wanted_seq; /* highest seq a waiting follower needs */
    bool flushing;       /* a leader is writing; followers wait */
    bool broken;         /* a write failed: no more appends or syncs (see README) */
    vg_err broken_err;
    wal_seg *segs; /* in seq order; the last one is active */
    size_t nsegs, segs_cap;
    uint64_t syncs, records;

    /* Owned by the flush leader. */
    int active_fd;
    char *active_path;
    uint64_t active_bytes; /* bytes written to the active segment */
};

/* The log line adds the module name itself. */
static const char *log_text(const char *msg)
{
    return strncmp(msg, "wal: ", 5) == 0 ? msg + 5 : msg;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */
/* ------------------------------------------------------------------------ */

static int open_active(wal *w, vg_err *e)
{
    char name[WAL_SEG_NAME_BYTES];
    wal_seg *last = &w->segs[w->nsegs - 1];
    wal_seg_name(last->first_seq, name);
    w->active_path = vg_path_join(w->dir, name);
    if (!w->active_path)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", w->dir);
    w->active_fd = open(w->active_path, O_WRONLY | O_CLOEXEC);
    if (w->active_fd < 0)
        return vg_err_errno(e, VG_EIO, errno, "wal: cannot open %s", w->active_path);
    if (lseek(w->active_fd, (off_t)last->bytes, SEEK_SET) < 0)
        return vg_err_errno(e, VG_EIO, errno, "wal: cannot seek in %s", w->active_path);
    /* A previous process may have written records it never synced; they are in the
     * page cache, recovery saw them, so make them durable before counting them so. */
    vg_fsync_or_die(w->active_fd, w->active_path);
    w->active_bytes = last->bytes;
    return VG_OK;
}

static void free_wal(wal *w)
{
    if (w->active_fd >= 0)
        close(w->active_fd);
    vg_free(w->active_path);
    vg_free(w->pending.p);
    vg_free(w->spare.p);
    vg_free(w->segs);
    vg_free(w->dir);
    vg_free(w);
}

int wal_open(const wal_options *opt, wal **out, vg_err *e)
{
    *out = NULL;
    if (!opt || !opt->dir || !opt->dir[0])
        return vg_err_set(e, VG_EINVAL, "wal: no directory given");
    wal *w = vg_calloc(1, sizeof *w);
    if (!w)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", opt->dir);
    w->active_fd = -1;
    w->flush_interval_ns = opt->flush_interval_ns > 0 ? opt->flush_interval_ns : 0;
    w->segment_bytes = opt->segment_bytes ? opt->segment_bytes : WAL_DEFAULT_SEGMENT_BYTES;
    int rc;
    w->dir = vg_strdup(opt->dir);
    if (!w->dir) {
        rc = vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", opt->dir);
        goto free_log;
    }
    rc = vg_mkdir_p(w->dir, e);
    if (rc != VG_OK)
        goto free_log;
    rc = wal_recover(w->dir, opt->min_next_seq, &w->segs, &w->nsegs, &w->next_seq, e);
    if (rc != VG_OK)
        goto free_log;
    w->segs_cap = w->nsegs;
    w->durable_seq = w->next_seq - 1;
    rc = open_active(w, e);
    if (rc != VG_OK)
        goto free_log;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        rc = vg_err_set(e, VG_ENOMEM, "wal: cannot create a mutex for %s", w->dir);
        goto free_log;
    }
    if (pthread_mutex_init(&w->rm_mu, NULL) != 0) {
        rc = vg_err_set(e, VG_ENOMEM, "wal: cannot create a mutex for %s", w->dir);
        goto destroy_mu;
    }
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        rc = vg_err_set(e, VG_ENOMEM, "wal: cannot create a condition variable for %s", w->dir);
        goto destroy_rm_mu;
    }
    VG_INFO("wal", "opened %s: %zu segment(s), next seq %" PRIu64, w->dir, w->nsegs, w->next_seq);
    *out = w;
    return VG_OK;

destroy_rm_mu:
    pthread_mutex_destroy(&w->rm_mu);
destroy_mu:
    pthread_mutex_destroy(&w->mu);
free_log:
    free_wal(w);
    return rc;
}

static int sync_locked(wal *w, uint64_t seq, vg_err *e);

void wal_close(wal *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    uint64_t last = w->next_seq - 1;
    vg_err err;
    if (last > w->durable_seq && sync_locked(w, last, &err) != VG_OK)
        VG_ERROR("wal", "closing %s: records after seq %" PRIu64 " were not written: %s", w->dir,
                 w->durable_seq, log_text(err.msg));
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->rm_mu);
    pthread_mutex_destroy(&w->mu);
    free_wal(w);
}

/* ------------------------------------------------------------------------ */
/* Append                                                                   */
/* ------------------------------------------------------------------------ */

static bool batch_reserve(wal_batch *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return true;
    size_t want = b->len + extra, cap = b->cap ? b->cap : 64 * 1024;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    unsigned char *p = vg_realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

int wal_appendv(wal *w, const vg_str *parts, size_t nparts, uint64_t *seq, vg_err *e)
{
    size_t len = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len > VG_LIMIT_WAL_RECORD_BYTES - len)
            return vg_err_set(e, VG_ETOOBIG, "wal: a record may hold at most %u bytes",
                              VG_LIMIT_WAL_RECORD_BYTES);
        len += parts[i].len;
    }
    /* Checksum the payload before taking the lock: it is the costly part, and the
     * header fields it is later combined with are only known under the lock. */
    uint32_t crc = 0;
    for (size_t i = 0; i < nparts; i++)
        crc = vg_crc32c(crc, parts[i].ptr, parts[i].len);

    int rc = VG_OK;
    pthread_mutex_lock(&w->mu);
    if (w->broken) {
        rc = vg_err_set(e, w->broken_err.code, "%s", w->broken_err.msg);
        goto unlock;
    }
    if (!batch_reserve(&w->pending, WAL_REC_HDR_BYTES + len)) {
        rc = vg_err_set(e, VG_ENOMEM, "wal: out of memory queuing a %zu-byte record", len);
        goto unlock;
    }
    uint64_t s = w->next_seq++;
    unsigned char *p = w->pending.p + w->pending.len;
    wal_encode_rec_hdr(p, (uint32_t)len, wal_rec_crc(crc, (uint32_t)len, s), s);
    p += WAL_REC_HDR_BYTES;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len)
            memcpy(p, parts[i].ptr, parts[i].len);
        p += parts[i].len;
    }
    w->pending.len += WAL_REC_HDR_BYTES + len;
    w->records++;
    *seq = s;
unlock:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_append(wal *w, const void *rec, size_t len, uint64_t *seq, vg_err *e)
{
    vg_str part = {rec, len};
    return wal_appendv(w, &part, 1, seq, e);
}

/* ------------------------------------------------------------------------ */
/* Flushing (the leader's work; runs without mu)                            */
/* ------------------------------------------------------------------------ */

/* Starts segment `first_seq` and makes it the active one. Called only when every
 * record in the old segment is durable, so the old one is complete. */
static int roll(wal *w, uint64_t first_seq, vg_err *e)
{
    pthread_mutex_lock(&w->mu);
    bool room = true;
    if (w->nsegs == w->segs_cap) {
        size_t ncap = w->segs_cap ? w->segs_cap * 2 : 16;
        wal_seg *ns = vg_realloc(w->segs, ncap * sizeof *ns);
        if (ns) {
            w->segs = ns;
            w->segs_cap = ncap;
        } else {
            room = false;
        }
    }
    pthread_mutex_unlock(&w->mu);
    if (!room)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory starting a new segment in %s", w->dir);
    int fd;
    char *path;
    int rc = wal_seg_create(w->dir, first_seq, &fd, &path, e);
    if (rc != VG_OK)
        return rc;
    close(w->active_fd);
    vg_free(w->active_path);
    w->active_fd = fd;
    w->active_path = path;
    w->active_bytes = WAL_SEG_HDR_BYTES;
    pthread_mutex_lock(&w->mu);
    w->segs[w->nsegs++] = (wal_seg){first_seq, WAL_SEG_HDR_BYTES};
    pthread_mutex_unlock(&w->mu);
    return VG_OK;
}

/* Writes and syncs one batch whose first record is `first_seq`. */
static int write_batch(wal *w, const unsigned char *p, size_t n, uint64_t first_seq, vg_err *e)
{
    bool asked = __atomic_exchange_n(&w->roll_next, false, __ATOMIC_ACQ_REL);
    if ((asked || w->active_bytes >= w->segment_bytes) && w->active_bytes > WAL_SEG_HDR_BYTES) {
        int rc = roll(w, first_seq, e);
        if (rc != VG_OK)
            return rc;
    }
    vg_err ioerr;
    if (vg_write_all(w->active_fd, p, n, &ioerr) != VG_OK) {
        /* Take back whatever part of the batch reached the file, so that records
         * reported as failed do not come back at the next start. */
        if (ftruncate(w->active_fd, (off_t)w->active_bytes) == 0 &&
            lseek(w->active_fd, (off_t)w->active_bytes, SEEK_SET) >= 0)
            vg_fdatasync_or_die(w->active_fd, w->active_path);
        return vg_err_set(e, VG_EIO,
                          "wal: cannot write %zu bytes to %s (%s); the log takes no more writes "
                          "until the server restarts",
                          n, w->active_path, ioerr.msg);
    }
    vg_fdatasync_or_die(w->active_fd, w->active_path);
    w->active_bytes += n;
    return VG_OK;
}

/* One round of the leader: take the pending batch, write and sync it without the
 * lock, publish the result. Called and returns with mu held. */
static void flush_round(wal *w)
{
    if (w->pending.len == 0)
        return;
    wal_batch batch = w->pending;
    w->pending = w->spare;
    w->spare = (wal_batch){0};
    uint64_t first = w->durable_seq + 1, last = w->next_seq - 1;
    pthread_mutex_unlock(&w->mu);

    vg_err err;
    int rc = write_batch(w, batch.p, batch.len, first, &err);

    pthread_mutex_lock(&w->mu);
    if (batch.cap > WAL_KEEP_BUFFER_BYTES) {
        vg_free(batch.p);
        batch = (wal_batch){0};
    }
    batch.len = 0;
    w->spare = batch;
    if (rc == VG_OK) {
        w->durable_seq = last;
        w->syncs++;
        w->segs[w->nsegs - 1].bytes = w->active_bytes;
    } else {
        VG_ERROR("wal", "%s", log_text(err.msg));
        w->broken = true;
        w->broken_err = err;
    }
    pthread_cond_broadcast(&w->cv);
}

/* The caller becomes the leader: flushes until its record is durable and, for a
 * bounded number of rounds, while followers still wait. Called with mu held. */
static int lead(wal *w, uint64_t seq, vg_err *e)
{
    w->flushing = true;
    for (int round = 0; round < WAL_LEADER_MAX_ROUNDS; round++) {
        if (w->flush_interval_ns > 0) {
            /* Asked for by configuration: trade latency for bigger batches. */
            pthread_mutex_unlock(&w->mu);
            vg_sleep_ns(w->flush_interval_ns);
            pthread_mutex_lock(&w->mu);
        }
        flush_round(w);
        if (w->broken || w->wanted_seq <= w->durable_seq)
            break;
    }
    w->flushing = false;
    pthread_cond_broadcast(&w->cv);
    if (seq <= w->durable_seq)
        return VG_OK;
    return vg_err_set(e, w->broken_err.code, "%s", w->broken_err.msg);
}

static int sync_locked(wal *w, uint64_t seq, vg_err *e)
{
    if (seq >= w->next_seq)
        return vg_err_set(e, VG_EINVAL,
                          "wal: cannot sync seq %" PRIu64 ": the last record appended is %" PRIu64,
                          seq, w->next_seq - 1);
    for (;;) {
        if (seq <= w->durable_seq)
            return VG_OK;
        if (w->broken)
            return vg_err_set(e, w->broken_err.code, "%s", w->broken_err.msg);
        if (!w->flushing)
            return lead(w, seq, e);
        if (seq > w->wanted_seq)
            w->wanted_seq = seq;
        pthread_cond_wait(&w->cv, &w->mu);
    }
}

int wal_sync(wal *w, uint64_t seq, vg_err *e)
{
    pthread_mutex_lock(&w->mu);
    int rc = sync_locked(w, seq, e);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Replay                                                                   */
/* ------------------------------------------------------------------------ */

/* Copies the segment list (with durable sizes) so replay can read without the lock. */
static int snapshot_segs(wal *w, wal_seg **out, size_t *n, vg_err *e)
{
    pthread_mutex_lock(&w->mu);
    *n = w->nsegs;
    *out = vg_malloc(w->nsegs * sizeof **out);
    if (*out)
        memcpy(*out, w->segs, w->nsegs * sizeof **out);
    pthread_mutex_unlock(&w->mu);
    if (!*out)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory replaying %s", w->dir);
    return VG_OK;
}

static int replay_segment(wal *w, const wal_seg *s, uint64_t after_seq, wal_replay_fn fn, void *ctx,
                          vg_err *e)
{
    char name[WAL_SEG_NAME_BYTES];
    wal_seg_name(s->first_seq, name);
    char *path = vg_path_join(w->dir, name);
    if (!path)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory replaying %s", w->dir);
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = vg_err_errno(e, VG_EIO, errno, "wal: cannot open %s for replay", path);
        goto free_path;
    }
    wal_reader r;
    wal_reader_init(&r, fd, WAL_SEG_HDR_BYTES, s->bytes, s->first_seq);
    wal_rec rec;
    wal_rec_status st;
    while ((rc = wal_reader_next(&r, path, &rec, &st, e)) == VG_OK && st == WAL_REC_OK) {
        if (rec.seq > after_seq && (rc = fn(ctx, rec.seq, rec.payload, rec.len, e)) != VG_OK)
            break;
    }
    /* wal_open validated these bytes; failing now means they changed on disk since. */
    if (rc == VG_OK && st == WAL_REC_BAD)
        rc = vg_err_set(e, VG_ECORRUPT, "wal: %s: %s (the file changed after the log was opened)",
                        path, r.why);
    wal_reader_free(&r);
    close(fd);
free_path:
    vg_free(path);
    return rc;
}

int wal_replay(wal *w, uint64_t after_seq, wal_replay_fn fn, void *ctx, vg_err *e)
{
    wal_seg *segs;
    size_t n;
    int rc = snapshot_segs(w, &segs, &n, e);
    if (rc != VG_OK)
        return rc;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        /* Skip segments that end at or before after_seq without reading them. */
        if (i + 1 < n && segs[i + 1].first_seq - 1 <= after_seq)
            continue;
        rc = replay_segment(w, &segs[i], after_seq, fn, ctx, e);
    }
    vg_free(segs);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Removal and stats                                                        */
/* ------------------------------------------------------------------------ */

static int unlink_segment(wal *w, uint64_t first_seq, vg_err *e)
{
    char name[WAL_SEG_NAME_BYTES];
    wal_seg_name(first_seq, name);
    char *path = vg_path_join(w->dir, name);
    if (!path)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory removing segments of %s", w->dir);
    int rc = VG_OK;
    if (unlink(path) != 0 && errno != ENOENT)
        rc = vg_err_errno(e, VG_EIO, errno, "wal: cannot remove %s", path);
    vg_free(path);
    return rc;
}

void wal_roll_next(wal *w)
{
    __atomic_store_n(&w->roll_next, true, __ATOMIC_RELEASE);
}

int wal_remove_through(wal *w, uint64_t upto, vg_err *e)
{
    pthread_mutex_lock(&w->rm_mu);
    /* Only this function drops segments, so the ones counted here stay at the front
     * of the list while the files go (without mu: removal is slow-ish, appends not). */
    pthread_mutex_lock(&w->mu);
    size_t n = 0;
    while (n + 1 < w->nsegs && w->segs[n + 1].first_seq - 1 <= upto)
        n++;
    uint64_t *victims = n ? vg_malloc(n * sizeof *victims) : NULL;
    for (size_t i = 0; victims && i < n; i++)
        victims[i] = w->segs[i].first_seq;
    pthread_mutex_unlock(&w->mu);
    int rc = VG_OK;
    if (n && !victims) {
        rc = vg_err_set(e, VG_ENOMEM, "wal: out of memory removing segments of %s", w->dir);
        goto unlock_rm;
    }
    size_t done = 0;
    /* Oldest first, each removal durable before the next: after a crash the files
     * left are always a contiguous tail of the log, never a log with a hole. */
    while (done < n) {
        rc = unlink_segment(w, victims[done], e);
        if (rc != VG_OK)
            break;
        vg_fsync_dir_or_die(w->dir);
        done++;
    }
    pthread_mutex_lock(&w->mu);
    memmove(w->segs, w->segs + done, (w->nsegs - done) * sizeof *w->segs);
    w->nsegs -= done;
    pthread_mutex_unlock(&w->mu);
    vg_free(victims);
unlock_rm:
    pthread_mutex_unlock(&w->rm_mu);
    return rc;
}

uint64_t wal_last_seq(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->next_seq - 1;
    pthread_mutex_unlock(&w->mu);
    return s;
}

uint64_t wal_durable_seq(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->durable_seq;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void wal_get_stats(wal *w, wal_stats *out)
{
    pthread_mutex_lock(&w->mu);
    out->segments = w->nsegs;
    out->bytes = 0;
    for (size_t i = 0; i < w->nsegs; i++)
        out->bytes += w->segs[i].bytes;
    out->syncs = w->syncs;
    out->records = w->records;
    pthread_mutex_unlock(&w->mu);
}
