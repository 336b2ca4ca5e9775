/*
 * wal_int.h: declarations shared by the files of the wal module and nobody else.
 *
 * format.c owns the on-disk layout (segment names and headers, record headers, the
 * record reader); recover.c owns the start-up scan that cuts a torn or corrupt tail;
 * wal.c owns the running log (append, group commit, rolling, replay, removal).
 * The layout itself is described in wal/README.md.
 */
#ifndef VIGIL_WAL_INT_H
#define VIGIL_WAL_INT_H

#include "wal.h"

#define WAL_MAGIC "VIGILWAL"
#define WAL_VERSION 1u
#define WAL_SEG_HDR_BYTES 32u
#define WAL_REC_HDR_BYTES 16u
/* 20 digits, ".wal", NUL. */
#define WAL_SEG_NAME_BYTES 25u

/* One segment file as the running log knows it. */
typedef struct wal_seg {
    uint64_t first_seq; /* from the name and the header; the seq of its first record */
    uint64_t bytes;     /* valid (durable) bytes, header included */
} wal_seg;

void wal_seg_name(uint64_t first_seq, char out[WAL_SEG_NAME_BYTES]);
/* True when `name` is exactly `<20 digits>.wal` with a non-zero seq. */
bool wal_parse_seg_name(const char *name, uint64_t *first_seq);

void wal_encode_seg_hdr(uint64_t first_seq, unsigned char out[WAL_SEG_HDR_BYTES]);

typedef enum wal_hdr_check {
    WAL_HDR_OK,
    WAL_HDR_BAD_MAGIC,
    WAL_HDR_BAD_CRC,
    WAL_HDR_BAD_VERSION, /* well formed, but a version this build cannot read */
} wal_hdr_check;
wal_hdr_check wal_decode_seg_hdr(const unsigned char in[WAL_SEG_HDR_BYTES], uint64_t *first_seq,
                                 uint32_t *version);

/* The record CRC: CRC32C over the payload, then the length and seq fields (the
 * payload comes first so that appenders can checksum it before taking the lock). */
uint32_t wal_rec_crc(uint32_t payload_crc, uint32_t len, uint64_t seq);
void wal_encode_rec_hdr(unsigned char out[WAL_REC_HDR_BYTES], uint32_t len, uint32_t crc,
                        uint64_t seq);

/* Creates segment `<first_seq>.wal` in dir with its header, fsyncs the file and the
 * directory. On success *fd_out is open for writing at the end of the header and
 * *path_out is a vg_malloc'd path. */
int wal_seg_create(const char *dir, uint64_t first_seq, int *fd_out, char **path_out, vg_err *e);

/* Reads the records of one segment in order through a bounded window (records
 * larger than the window get a buffer of their own), checking every one. */
typedef struct wal_reader {
    int fd;
    uint64_t end;        /* read no further than this offset */
    uint64_t off;        /* offset of the next record */
    uint64_t expect_seq; /* seq the next record must carry */
    unsigned char *win;  /* bytes of the file from win_off */
    size_t win_cap, win_len;
    uint64_t win_off;
    unsigned char *big; /* payload of a record that does not fit the window */
    size_t big_cap;
    char why[200]; /* which check failed, when wal_reader_next says WAL_REC_BAD */
} wal_reader;

typedef enum wal_rec_status {
    WAL_REC_OK,  /* *rec filled in */
    WAL_REC_END, /* clean end: no bytes left */
    WAL_REC_BAD, /* torn or corrupt at r->off; r->why says which check failed */
} wal_rec_status;

typedef struct wal_rec {
    uint64_t seq;
    const void *payload; /* valid until the next call */
    uint32_t len;
} wal_rec;

void wal_reader_init(wal_reader *r, int fd, uint64_t start, uint64_t end, uint64_t first_seq);
void wal_reader_free(wal_reader *r);
/* VG_OK with *status set, or an I/O or memory error (the message names `path`). */
int wal_reader_next(wal_reader *r, const char *path, wal_rec *rec, wal_rec_status *status,
                    vg_err *e);

/* The start-up scan: lists, validates and repairs the segments of dir, as described
 * in README.md. Returns the surviving segments in order (never none: an empty log
 * gets a fresh segment) and the seq the next record will get. */
int wal_recover(const char *dir, uint64_t min_next, wal_seg **segs_out, size_t *nsegs_out,
                uint64_t *next_seq_out, vg_err *e);

#endif /* VIGIL_WAL_INT_H */
