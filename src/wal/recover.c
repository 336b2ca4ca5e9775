/*
 * wal/recover.c: the start-up scan. Lists the segment files, validates every header
 * and record in order, and cuts the log at the first torn or corrupt spot: the
 * segment holding it is truncated there, later segments are removed, and one warning
 * line per action names the file, the offset and the check that failed. A torn tail
 * is what a crash leaves behind, so none of this is an error; only I/O failures and a
 * segment written by a newer format version stop the open.
 */
#include "wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct recovery {
    const char *dir;
    uint64_t *files; /* first seqs from the file names, ascending */
    size_t nfiles;
    wal_seg *segs; /* survivors */
    size_t nsegs, segs_cap;
    uint64_t expect; /* seq the next record must carry; 0 while not known */
} recovery;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_segments(recovery *rc, vg_err *e)
{
    DIR *d = opendir(rc->dir);
    if (!d)
        return vg_err_errno(e, VG_EIO, errno, "wal: cannot list directory %s", rc->dir);
    size_t cap = 0;
    int ret = VG_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        if (!wal_parse_seg_name(de->d_name, &seq))
            continue; /* not ours: leave it alone */
        if (rc->nfiles == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *nf = vg_realloc(rc->files, ncap * sizeof *nf);
            if (!nf) {
                ret = vg_err_set(e, VG_ENOMEM, "wal: out of memory listing %s", rc->dir);
                goto close_dir;
            }
            rc->files = nf;
            cap = ncap;
        }
        rc->files[rc->nfiles++] = seq;
        errno = 0;
    }
    if (errno != 0)
        ret = vg_err_errno(e, VG_EIO, errno, "wal: cannot list directory %s", rc->dir);
    else if (rc->nfiles > 1)
        qsort(rc->files, rc->nfiles, sizeof *rc->files, cmp_u64);
close_dir:
    closedir(d);
    return ret;
}

static int keep(recovery *rc, uint64_t first_seq, uint64_t bytes, vg_err *e)
{
    if (rc->nsegs == rc->segs_cap) {
        size_t ncap = rc->segs_cap ? rc->segs_cap * 2 : 16;
        wal_seg *ns = vg_realloc(rc->segs, ncap * sizeof *ns);
        if (!ns)
            return vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", rc->dir);
        rc->segs = ns;
        rc->segs_cap = ncap;
    }
    rc->segs[rc->nsegs++] = (wal_seg){first_seq, bytes};
    return VG_OK;
}

static int remove_file(recovery *rc, const char *path, vg_err *e)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return vg_err_errno(e, VG_EIO, errno, "wal: cannot remove %s", path);
    return VG_OK;
}

/* Removes every segment file from index `from` on: they come after the cut. */
static int remove_from(recovery *rc, size_t from, vg_err *e)
{
    for (size_t i = from; i < rc->nfiles; i++) {
        char name[WAL_SEG_NAME_BYTES];
        wal_seg_name(rc->files[i], name);
        char *path = vg_path_join(rc->dir, name);
        if (!path)
            return vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", rc->dir);
        struct stat st;
        long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        VG_WARN("wal", "%s: removing this segment (%lld bytes): it comes after the cut", name,
                size);
        int ret = remove_file(rc, path, e);
        vg_free(path);
        if (ret != VG_OK)
            return ret;
    }
    return VG_OK;
}

/* A file shorter than a header holds no records: a crash hit between creating it and
 * writing its header. As the last file with the expected name it is the segment
 * appends should go to, so it gets its header; anywhere else it is just removed. */
static int short_segment(recovery *rc, size_t i, int fd, const char *path, const char *name,
                         uint64_t size, vg_err *e)
{
    uint64_t seq = rc->files[i];
    bool last = i + 1 == rc->nfiles;
    if (!last || (rc->expect != 0 && seq != rc->expect)) {
        VG_WARN("wal",
                "%s: %" PRIu64 " bytes, shorter than the %u-byte segment header; it "
                "holds no records, removing it",
                name, size, WAL_SEG_HDR_BYTES);
        return remove_file(rc, path, e);
    }
    VG_WARN("wal",
            "%s: %" PRIu64 " bytes, shorter than the %u-byte segment header (a crash "
            "while creating it); writing a fresh header",
            name, size, WAL_SEG_HDR_BYTES);
    unsigned char hdr[WAL_SEG_HDR_BYTES];
    wal_encode_seg_hdr(seq, hdr);
    vg_err ioerr;
    if (ftruncate(fd, 0) != 0)
        return vg_err_errno(e, VG_EIO, errno, "wal: cannot truncate %s", path);
    if (lseek(fd, 0, SEEK_SET) != 0)
        return vg_err_errno(e, VG_EIO, errno, "wal: cannot seek in %s", path);
    if (vg_write_all(fd, hdr, sizeof hdr, &ioerr) != VG_OK)
        return vg_err_set(e, VG_EIO, "wal: cannot write the header of %s (%s)", path, ioerr.msg);
    vg_fsync_or_die(fd, path);
    rc->expect = seq;
    return keep(rc, seq, WAL_SEG_HDR_BYTES, e);
}

/* Checks the header of segment i: *ok says whether the log may go on into it, and
 * when not, `why` says which check failed. */
static int check_header(recovery *rc, size_t i, int fd, const char *path, bool *ok, char *why,
                        size_t why_len, vg_err *e)
{
    unsigned char hdr[WAL_SEG_HDR_BYTES];
    size_t got;
    vg_err ioerr;
    if (vg_pread_all(fd, hdr, sizeof hdr, 0, &got, &ioerr) != VG_OK || got != sizeof hdr)
        return vg_err_set(e, VG_EIO, "wal: cannot read the header of %s", path);
    uint64_t first = 0, name_seq = rc->files[i];
    uint32_t version = 0;
    *ok = false;
    switch (wal_decode_seg_hdr(hdr, &first, &version)) {
    case WAL_HDR_BAD_MAGIC:
        snprintf(why, why_len, "segment header does not start with %s", WAL_MAGIC);
        return VG_OK;
    case WAL_HDR_BAD_CRC: snprintf(why, why_len, "segment header checksum mismatch"); return VG_OK;
    case WAL_HDR_BAD_VERSION:
        /* Cutting would destroy data a newer build wrote; refuse instead. */
        return vg_err_set(e, VG_ECORRUPT,
                          "wal: %s has segment format version %" PRIu32
                          ", but this build reads only version %u; use a newer Vigil",
                          path, version, WAL_VERSION);
    case WAL_HDR_OK: break;
    }
    if (first != name_seq)
        snprintf(why, why_len,
                 "segment header says first seq %" PRIu64 " but the file name says %" PRIu64, first,
                 name_seq);
    else if (rc->expect != 0 && first != rc->expect)
        snprintf(why, why_len,
                 "segment starts at seq %" PRIu64 " but the log before it ends at seq %" PRIu64,
                 first, rc->expect - 1);
    else
        *ok = true;
    return VG_OK;
}

/* Walks the records of a segment whose header is good; a bad record cuts the file
 * there (truncate + fsync) and sets *cut. */
static int scan_records(recovery *rc, size_t i, int fd, const char *path, const char *name,
                        uint64_t size, bool *cut, vg_err *e)
{
    wal_reader r;
    wal_reader_init(&r, fd, WAL_SEG_HDR_BYTES, size, rc->files[i]);
    wal_rec rec;
    wal_rec_status st;
    int ret;
    while ((ret = wal_reader_next(&r, path, &rec, &st, e)) == VG_OK && st == WAL_REC_OK) {
    }
    if (ret != VG_OK)
        goto free_reader;
    if (st == WAL_REC_BAD) {
        VG_WARN("wal", "%s: %s; cutting the log here", name, r.why);
        if (ftruncate(fd, (off_t)r.off) != 0) {
            ret = vg_err_errno(e, VG_EIO, errno, "wal: cannot truncate %s to %" PRIu64 " bytes",
                               path, r.off);
            goto free_reader;
        }
        vg_fsync_or_die(fd, path);
        *cut = true;
    }
    rc->expect = r.expect_seq;
    ret = keep(rc, rc->files[i], r.off, e);
free_reader:
    wal_reader_free(&r);
    return ret;
}

/* Validates segment i. Sets *cut when the log ends here (everything after goes). */
static int check_segment(recovery *rc, size_t i, bool *cut, vg_err *e)
{
    char name[WAL_SEG_NAME_BYTES];
    wal_seg_name(rc->files[i], name);
    char *path = vg_path_join(rc->dir, name);
    if (!path)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", rc->dir);
    int ret;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        ret = vg_err_errno(e, VG_EIO, errno, "wal: cannot open %s", path);
        goto free_path;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ret = vg_err_errno(e, VG_EIO, errno, "wal: cannot stat %s", path);
        goto close_fd;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < WAL_SEG_HDR_BYTES) {
        ret = short_segment(rc, i, fd, path, name, size, e);
        goto close_fd;
    }
    char why[160];
    bool hdr_ok = false;
    ret = check_header(rc, i, fd, path, &hdr_ok, why, sizeof why, e);
    if (ret != VG_OK)
        goto close_fd;
    if (!hdr_ok) {
        VG_WARN("wal", "%s: %s; cutting the log here, removing this segment", name, why);
        /* With no good segment before it, the name is the best floor for the next seq. */
        if (rc->expect == 0)
            rc->expect = rc->files[i];
        *cut = true;
        ret = remove_file(rc, path, e);
        goto close_fd;
    }
    ret = scan_records(rc, i, fd, path, name, size, cut, e);
close_fd:
    close(fd);
free_path:
    vg_free(path);
    return ret;
}

static void free_recovery(recovery *rc)
{
    vg_free(rc->files);
    vg_free(rc->segs);
}

/* Every record left is at or before what the caller already persisted elsewhere
 * (after a snapshot deleted the segments it covered, the sequence must still go on
 * from there, or new records would hide behind the persisted mark). */
static int drop_persisted(recovery *rc, uint64_t min_next, vg_err *e)
{
    for (size_t i = 0; i < rc->nsegs; i++) {
        char name[WAL_SEG_NAME_BYTES];
        wal_seg_name(rc->segs[i].first_seq, name);
        char *path = vg_path_join(rc->dir, name);
        if (!path)
            return vg_err_set(e, VG_ENOMEM, "wal: out of memory opening %s", rc->dir);
        VG_INFO("wal", "%s: removing this segment: its records are persisted", name);
        int ret = remove_file(rc, path, e);
        vg_free(path);
        if (ret != VG_OK)
            return ret;
    }
    rc->nsegs = 0;
    rc->expect = min_next;
    return VG_OK;
}

int wal_recover(const char *dir, uint64_t min_next, wal_seg **segs_out, size_t *nsegs_out,
                uint64_t *next_seq_out, vg_err *e)
{
    recovery rc = {.dir = dir};
    int ret = list_segments(&rc, e);
    if (ret != VG_OK)
        goto fail;
    for (size_t i = 0; i < rc.nfiles; i++) {
        bool cut = false;
        ret = check_segment(&rc, i, &cut, e);
        if (ret == VG_OK && cut)
            ret = remove_from(&rc, i + 1, e);
        if (ret != VG_OK)
            goto fail;
        if (cut)
            break;
    }
    /* Once for everything: removals above, and also the entry of any segment the
     * last process created but crashed before syncing the directory: records we
     * acknowledge in it must not vanish with its name. */
    vg_fsync_dir_or_die(dir);
    if (rc.expect == 0)
        rc.expect = 1;
    if (min_next > rc.expect && (ret = drop_persisted(&rc, min_next, e)) != VG_OK)
        goto fail;
    if (rc.nsegs == 0) {
        int fd;
        char *path;
        ret = wal_seg_create(dir, rc.expect, &fd, &path, e);
        if (ret != VG_OK)
            goto fail;
        close(fd);
        vg_free(path);
        ret = keep(&rc, rc.expect, WAL_SEG_HDR_BYTES, e);
        if (ret != VG_OK)
            goto fail;
    }
    vg_free(rc.files);
    *segs_out = rc.segs;
    *nsegs_out = rc.nsegs;
    *next_seq_out = rc.expect;
    return VG_OK;
fail:
    free_recovery(&rc);
    return ret;
}
