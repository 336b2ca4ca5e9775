/*
 * wal/format.c: the on-disk layout of the log (see README.md): segment file names,
 * the segment header, the record header and its checksum, creating a segment file
 * durably, and the reader that walks the records of one segment and says which check
 * a bad record failed.
 */
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Records are read through a window this big, so replay and recovery use bounded
 * memory whatever the size of the log; a record bigger than the window is read into
 * a buffer of its own (bounded by VG_LIMIT_WAL_RECORD_BYTES). */
#define WAL_READ_WINDOW (1u << 20)

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void wal_seg_name(uint64_t first_seq, char out[WAL_SEG_NAME_BYTES])
{
    snprintf(out, WAL_SEG_NAME_BYTES, "%020" PRIu64 ".wal", first_seq);
}

bool wal_parse_seg_name(const char *name, uint64_t *first_seq)
{
    if (strlen(name) != WAL_SEG_NAME_BYTES - 1 || strcmp(name + 20, ".wal") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v == 0)
        return false;
    *first_seq = v;
    return true;
}

/* Header layout: magic[8] version:u32 reserved:u32 first_seq:u64 crc:u32 reserved:u32,
 * the CRC covering the first 24 bytes. */
void wal_encode_seg_hdr(uint64_t first_seq, unsigned char out[WAL_SEG_HDR_BYTES])
{
    memset(out, 0, WAL_SEG_HDR_BYTES);
    memcpy(out, WAL_MAGIC, 8);
    put_u32(out + 8, WAL_VERSION);
    put_u64(out + 16, first_seq);
    put_u32(out + 24, vg_crc32c(0, out, 24));
}

wal_hdr_check wal_decode_seg_hdr(const unsigned char in[WAL_SEG_HDR_BYTES], uint64_t *first_seq,
                                 uint32_t *version)
{
    if (memcmp(in, WAL_MAGIC, 8) != 0)
        return WAL_HDR_BAD_MAGIC;
    if (get_u32(in + 24) != vg_crc32c(0, in, 24))
        return WAL_HDR_BAD_CRC;
    *version = get_u32(in + 8);
    *first_seq = get_u64(in + 16);
    return *version == WAL_VERSION ? WAL_HDR_OK : WAL_HDR_BAD_VERSION;
}

uint32_t wal_rec_crc(uint32_t payload_crc, uint32_t len, uint64_t seq)
{
    unsigned char b[12];
    put_u32(b, len);
    put_u64(b + 4, seq);
    return vg_crc32c(payload_crc, b, sizeof b);
}

void wal_encode_rec_hdr(unsigned char out[WAL_REC_HDR_BYTES], uint32_t len, uint32_t crc,
                        uint64_t seq)
{
    put_u32(out, len);
    put_u32(out + 4, crc);
    put_u64(out + 8, seq);
}

int wal_seg_create(const char *dir, uint64_t first_seq, int *fd_out, char **path_out, vg_err *e)
{
    char name[WAL_SEG_NAME_BYTES];
    wal_seg_name(first_seq, name);
    char *path = vg_path_join(dir, name);
    if (!path)
        return vg_err_set(e, VG_ENOMEM, "wal: out of memory creating a segment in %s", dir);
    int rc;
    /* O_EXCL: a file of that name would be a leftover that recovery should have
     * removed; writing over it silently could hide a bug. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = vg_err_errno(e, VG_EIO, errno, "wal: cannot create segment %s", path);
        goto free_path;
    }
    unsigned char hdr[WAL_SEG_HDR_BYTES];
    wal_encode_seg_hdr(first_seq, hdr);
    vg_err ioerr;
    if (vg_write_all(fd, hdr, sizeof hdr, &ioerr) != VG_OK) {
        rc = vg_err_set(e, VG_EIO, "wal: cannot write the header of %s (%s)", path, ioerr.msg);
        goto remove_file;
    }
    /* The file and its directory entry must be durable before any record in it is
     * acknowledged, or a crash could lose the whole segment. */
    vg_fsync_or_die(fd, path);
    vg_fsync_dir_or_die(dir);
    *fd_out = fd;
    *path_out = path;
    return VG_OK;

remove_file:
    close(fd);
    unlink(path);
free_path:
    vg_free(path);
    return rc;
}

void wal_reader_init(wal_reader *r, int fd, uint64_t start, uint64_t end, uint64_t first_seq)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->off = start;
    r->end = end;
    r->expect_seq = first_seq;
}

void wal_reader_free(wal_reader *r)
{
    vg_free(r->win);
    vg_free(r->big);
    r->win = r->big = NULL;
}

/* Points *p at bytes [off, off + n) of the file, refilling the window if needed.
 * The caller has checked that the bytes lie before r->end and that n fits. */
static int window(wal_reader *r, uint64_t off, size_t n, const unsigned char **p, const char *path,
                  vg_err *e)
{
    if (!r->win) {
        uint64_t left = r->end - r->off;
        r->win_cap = left < WAL_READ_WINDOW ? (size_t)left : WAL_READ_WINDOW;
        r->win = vg_malloc(r->win_cap);
        if (!r->win)
            return vg_err_set(e, VG_ENOMEM, "wal: out of memory reading %s", path);
    }
    if (off >= r->win_off && off + n <= r->win_off + r->win_len) {
        *p = r->win + (off - r->win_off);
        return VG_OK;
    }
    uint64_t left = r->end - off;
    size_t want = left < r->win_cap ? (size_t)left : r->win_cap;
    size_t got;
    vg_err ioerr;
    if (vg_pread_all(r->fd, r->win, want, off, &got, &ioerr) != VG_OK)
        return vg_err_set(e, VG_EIO, "wal: reading %s at offset %" PRIu64 " failed (%s)", path, off,
                          ioerr.msg);
    r->win_off = off;
    r->win_len = got;
    if (got < n)
        return vg_err_set(e, VG_EIO, "wal: %s became shorter while being read (offset %" PRIu64 ")",
                          path, off);
    *p = r->win;
    return VG_OK;
}

static int read_big(wal_reader *r, uint64_t off, uint32_t len, const char *path, vg_err *e)
{
    if (r->big_cap < len) {
        vg_free(r->big);
        r->big_cap = 0;
        r->big = vg_malloc(len);
        if (!r->big)
            return vg_err_set(e, VG_ENOMEM,
                              "wal: out of memory reading a %" PRIu32 "-byte record of %s", len,
                              path);
        r->big_cap = len;
    }
    size_t got;
    vg_err ioerr;
    if (vg_pread_all(r->fd, r->big, len, off, &got, &ioerr) != VG_OK)
        return vg_err_set(e, VG_EIO, "wal: reading %s at offset %" PRIu64 " failed (%s)", path, off,
                          ioerr.msg);
    if (got < len)
        return vg_err_set(e, VG_EIO, "wal: %s became shorter while being read (offset %" PRIu64 ")",
                          path, off);
    return VG_OK;
}

static int bad(wal_reader *r, wal_rec_status *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(wal_reader *r, wal_rec_status *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    *status = WAL_REC_BAD;
    return VG_OK;
}

int wal_reader_next(wal_reader *r, const char *path, wal_rec *rec, wal_rec_status *status,
                    vg_err *e)
{
    uint64_t off = r->off, left = r->end - r->off;
    if (left == 0) {
        *status = WAL_REC_END;
        return VG_OK;
    }
    if (left < WAL_REC_HDR_BYTES)
        return bad(r, status,
                   "torn record header at offset %" PRIu64 " (header needs %u bytes, %" PRIu64
                   " left)",
                   off, WAL_REC_HDR_BYTES, left);
    const unsigned char *h;
    int rc = window(r, off, WAL_REC_HDR_BYTES, &h, path, e);
    if (rc != VG_OK)
        return rc;
    uint32_t len = get_u32(h), stored = get_u32(h + 4);
    uint64_t seq = get_u64(h + 8);
    if (len > VG_LIMIT_WAL_RECORD_BYTES)
        return bad(r, status,
                   "record at offset %" PRIu64 " has length %" PRIu32
                   ", over the %u-byte limit (corrupt length)",
                   off, len, VG_LIMIT_WAL_RECORD_BYTES);
    if (len > left - WAL_REC_HDR_BYTES)
        return bad(r, status,
                   "torn record at offset %" PRIu64 " (payload needs %" PRIu32 " bytes, %" PRIu64
                   " left)",
                   off, len, left - WAL_REC_HDR_BYTES);
    const unsigned char *payload;
    if (WAL_REC_HDR_BYTES + (size_t)len <= r->win_cap) {
        rc = window(r, off, WAL_REC_HDR_BYTES + (size_t)len, &h, path, e);
        payload = h + WAL_REC_HDR_BYTES;
    } else {
        rc = read_big(r, off + WAL_REC_HDR_BYTES, len, path, e);
        payload = r->big;
    }
    if (rc != VG_OK)
        return rc;
    uint32_t computed = wal_rec_crc(vg_crc32c(0, payload, len), len, seq);
    if (computed != stored)
        return bad(r, status,
                   "checksum mismatch in record at offset %" PRIu64 " (stored 0x%08" PRIx32
                   ", computed 0x%08" PRIx32 ")",
                   off, stored, computed);
    if (seq != r->expect_seq)
        return bad(r, status, "record at offset %" PRIu64 " has seq %" PRIu64 ", expected %" PRIu64,
                   off, seq, r->expect_seq);
    rec->seq = seq;
    rec->payload = payload;
    rec->len = len;
    r->off = off + WAL_REC_HDR_BYTES + len;
    r->expect_seq++;
    *status = WAL_REC_OK;
    return VG_OK;
}
