/* Unit tests for wal: round trips across reopen and segment rolls, the on-disk
 * layout, torn and corrupt tails cut at every byte, zero-byte and header-only
 * segments, group commit under 8 threads, replay filtering and bounded memory,
 * segment removal, write failures and allocation failures. Every test works in its
 * own directory under /tmp and removes it. */
#include "test.h"
#include "wal/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers: directories, files, captured log output                         */
/* ------------------------------------------------------------------------ */

typedef struct tdir {
    char path[64];
} tdir;

static tdir make_dir(void)
{
    tdir d;
    snprintf(d.path, sizeof d.path, "/tmp/vigil-wal-XXXXXX");
    if (!mkdtemp(d.path)) {
        perror("mkdtemp");
        abort();
    }
    vg_log_set_filter("warn", NULL);
    return d;
}

static void remove_dir(const tdir *d)
{
    DIR *dh = opendir(d->path);
    if (!dh)
        return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(dh)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", d->path, de->d_name);
        unlink(p);
    }
    closedir(dh);
    rmdir(d->path);
}

static void seg_path(const tdir *d, uint64_t first_seq, char out[128])
{
    snprintf(out, 128, "%s/%020" PRIu64 ".wal", d->path, first_seq);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* First seqs of the segment files in the directory, ascending; returns the count. */
static int list_segs(const tdir *d, uint64_t *out, int max)
{
    DIR *dh = opendir(d->path);
    int n = 0;
    struct dirent *de;
    while (dh && (de = readdir(dh)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len != 24 || strcmp(de->d_name + 20, ".wal") != 0 || n == max)
            continue;
        uint64_t v = strtoull(de->d_name, NULL, 10);
        int k = n++;
        while (k > 0 && out[k - 1] > v) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = v;
    }
    if (dh)
        closedir(dh);
    return n;
}

static long long dir_bytes(const tdir *d)
{
    uint64_t segs[4096];
    int n = list_segs(d, segs, 4096);
    long long total = 0;
    char p[128];
    for (int i = 0; i < n; i++) {
        seg_path(d, segs[i], p);
        total += file_size(p);
    }
    return total;
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, p, n) == (ssize_t)n);
    close(fd);
}

static void xor_byte(const char *path, long long off, unsigned char mask)
{
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    unsigned char b;
    CHECK(pread(fd, &b, 1, off) == 1);
    b ^= mask;
    CHECK(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

static void read_at(const char *path, long long off, void *p, size_t n)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK(pread(fd, p, n, off) == (ssize_t)n);
    close(fd);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* A segment header exactly as README.md lays it out. */
static void make_seg_hdr(unsigned char h[32], uint64_t first_seq, uint32_t version)
{
    memset(h, 0, 32);
    memcpy(h, "VIGILWAL", 8);
    put32(h + 8, version);
    put64(h + 16, first_seq);
    put32(h + 24, vg_crc32c(0, h, 24));
}

/* Log capture: stderr goes to a temp file between capture_start and capture_end. */
static int saved_stderr = -1;
static char capture_path[64];

static void capture_start(void)
{
    snprintf(capture_path, sizeof capture_path, "/tmp/vigil-wal-log-XXXXXX");
    int fd = mkstemp(capture_path);
    CHECK(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Returns what was logged (malloc'd; free it). */
static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    long long n = file_size(capture_path);
    char *s = malloc((size_t)(n < 0 ? 0 : n) + 1);
    int fd = open(capture_path, O_RDONLY);
    ssize_t r = fd >= 0 && n > 0 ? read(fd, s, (size_t)n) : 0;
    s[r > 0 ? r : 0] = '\0';
    if (fd >= 0)
        close(fd);
    unlink(capture_path);
    return s;
}

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
        n++;
    return n;
}

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        if (!strstr((hay), (needle))) {                                                            \
            printf("FAIL %s (%s:%d): log does not contain \"%s\"; log was:\n%s\n",                 \
                   test_current_name, __FILE__, __LINE__, (needle), (hay));                        \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Helpers: the log                                                         */
/* ------------------------------------------------------------------------ */

static wal *open_opts(const tdir *d, uint64_t segment_bytes, int64_t flush_interval_ns)
{
    wal_options o = {
        .dir = d->path, .segment_bytes = segment_bytes, .flush_interval_ns = flush_interval_ns};
    wal *w = NULL;
    vg_err e = {0};
    int rc = wal_open(&o, &w, &e);
    if (rc != VG_OK)
        printf("wal_open(%s): %s\n", d->path, e.msg);
    CHECK_INT(rc, VG_OK);
    return w;
}

static wal *open_wal(const tdir *d, uint64_t segment_bytes)
{
    return open_opts(d, segment_bytes, 0);
}

static uint64_t append(wal *w, const void *p, size_t n)
{
    uint64_t seq = 0;
    vg_err e = {0};
    int rc = wal_append(w, p, n, &seq, &e);
    if (rc != VG_OK)
        printf("wal_append: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
    return seq;
}

static void sync_to(wal *w, uint64_t seq)
{
    vg_err e = {0};
    int rc = wal_sync(w, seq, &e);
    if (rc != VG_OK)
        printf("wal_sync: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
}

/* The standard payload of record `seq`: varied sizes, including empty ones and a few
 * hundred KB every 97th, and bytes that depend on the seq. */
static size_t std_len(uint64_t seq)
{
    static const size_t sizes[] = {0, 1, 2, 15, 16, 17, 100, 1000, 4095, 4096, 5000, 0, 33, 3};
    if (seq % 97 == 0)
        return 300000 + (size_t)seq;
    return sizes[seq % (sizeof sizes / sizeof sizes[0])];
}

static void std_fill(unsigned char *p, size_t n, uint64_t seq)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (unsigned char)(seq * 31 + k * 7 + (k >> 9));
}

static uint64_t append_std(wal *w, uint64_t seq)
{
    size_t n = std_len(seq);
    unsigned char *p = malloc(n ? n : 1);
    std_fill(p, n, seq);
    uint64_t got = append(w, p, n);
    free(p);
    return got;
}

/* What a replay delivered: copies of every record. */
typedef struct got_rec {
    uint64_t seq;
    unsigned char *p;
    size_t len;
} got_rec;

typedef struct replay_log {
    got_rec *v;
    size_t n, cap;
    size_t stop_after; /* return VG_EINVAL after this many records (0 = never) */
} replay_log;

static int collect(void *ctx, uint64_t seq, const void *rec, size_t len, vg_err *e)
{
    replay_log *l = ctx;
    if (l->stop_after && l->n == l->stop_after)
        return vg_err_set(e, VG_EINVAL, "stop at seq %" PRIu64, seq);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    got_rec *g = &l->v[l->n++];
    g->seq = seq;
    g->len = len;
    g->p = malloc(len ? len : 1);
    if (len)
        memcpy(g->p, rec, len);
    return VG_OK;
}

static void replay_log_free(replay_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static replay_log replay(wal *w, uint64_t after_seq)
{
    replay_log l = {0};
    vg_err e = {0};
    int rc = wal_replay(w, after_seq, collect, &l, &e);
    if (rc != VG_OK)
        printf("wal_replay: %s\n", e.msg);
    CHECK_INT(rc, VG_OK);
    return l;
}

/* True when the replayed records are exactly the standard records first..last. */
static bool is_std_range(const replay_log *l, uint64_t first, uint64_t last)
{
    if (l->n != last - first + 1)
        return false;
    for (size_t i = 0; i < l->n; i++) {
        uint64_t seq = first + i;
        const got_rec *g = &l->v[i];
        if (g->seq != seq || g->len != std_len(seq))
            return false;
        unsigned char *want = malloc(g->len ? g->len : 1);
        std_fill(want, g->len, seq);
        bool same = memcmp(want, g->p, g->len) == 0;
        free(want);
        if (!same)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

static void test_round_trip_reopen_and_rolls(void)
{
    tdir d = make_dir();
    wal *w = open_wal(&d, 64 * 1024);
    CHECK_INT(wal_last_seq(w), 0);
    CHECK_INT(wal_durable_seq(w), 0);
    const uint64_t n = 400;
    for (uint64_t s = 1; s <= n; s++) {
        CHECK_INT(append_std(w, s), s);
        if (s % 7 == 0) {
            sync_to(w, s);
            CHECK(wal_durable_seq(w) >= s);
        }
    }
    CHECK_INT(wal_last_seq(w), n);
    sync_to(w, n);
    CHECK_INT(wal_durable_seq(w), n);
    wal_stats st;
    wal_get_stats(w, &st);
    CHECK_INT(st.records, n);
    CHECK(st.syncs >= 2 && st.syncs <= n / 7 + 1);
    CHECK(st.segments > 5);
    CHECK_INT(st.bytes, dir_bytes(&d));
    uint64_t segs_before = st.segments;
    wal_close(w);

    w = open_wal(&d, 64 * 1024);
    CHECK_INT(wal_last_seq(w), n);
    CHECK_INT(wal_durable_seq(w), n);
    wal_get_stats(w, &st);
    CHECK_INT(st.segments, segs_before);
    CHECK_INT(st.records, 0);
    CHECK_INT(st.syncs, 0);
    replay_log l = replay(w, 0);
    CHECK(is_std_range(&l, 1, n));
    replay_log_free(&l);
    /* Seqs continue after a reopen. */
    for (uint64_t s = n + 1; s <= n + 50; s++)
        CHECK_INT(append_std(w, s), s);
    wal_close(w); /* close syncs what is pending */

    w = open_wal(&d, 64 * 1024);
    CHECK_INT(wal_last_seq(w), n + 50);
    l = replay(w, 0);
    CHECK(is_std_range(&l, 1, n + 50));
    replay_log_free(&l);
    wal_close(w);
    remove_dir(&d);
}

/* The on-disk layout of README.md: names, segment headers, record headers. */
static void test_on_disk_layout(void)
{
    tdir d = make_dir();
    /* Past 40 bytes a segment rolls: after its first batch here. */
    wal *w = open_wal(&d, 40);
    uint64_t a = append(w, "abc", 3);
    sync_to(w, a);
    uint64_t b = append(w, "", 0);
    uint64_t c = append(w, "hello", 5);
    sync_to(w, c);
    CHECK_INT(b, 2);
    wal_close(w);

    uint64_t segs[8];
    CHECK_INT(list_segs(&d, segs, 8), 2);
    CHECK_INT(segs[0], 1);
    CHECK_INT(segs[1], 2);
    char p[128];
    seg_path(&d, 1, p);
    CHECK_INT(file_size(p), 32 + 16 + 3);
    unsigned char h[32], want[32], r[16];
    read_at(p, 0, h, 32);
    make_seg_hdr(want, 1, 1);
    CHECK(memcmp(h, want, 32) == 0);
    read_at(p, 32, r, 16);
    CHECK_INT(le32(r), 3);
    CHECK_INT(le64(r + 8), 1);
    unsigned char lenseq[12];
    memcpy(lenseq, r, 4);
    memcpy(lenseq + 4, r + 8, 8);
    CHECK_INT(le32(r + 4), vg_crc32c(vg_crc32c(0, "abc", 3), lenseq, 12));

    /* Records 2 and 3 were one batch: one segment, written back to back. */
    seg_path(&d, 2, p);
    CHECK_INT(file_size(p), 32 + 16 + 0 + 16 + 5);
    read_at(p, 0, h, 32);
    make_seg_hdr(want, 2, 1);
    CHECK(memcmp(h, want, 32) == 0);
    read_at(p, 32 + 16, r, 16);
    CHECK_INT(le32(r), 5);
    CHECK_INT(le64(r + 8), 3);
    remove_dir(&d);
}

static void test_appendv_equals_append(void)
{
    tdir d1 = make_dir(), d2 = make_dir();
    wal *w1 = open_wal(&d1, 0), *w2 = open_wal(&d2, 0);
    const char *whole = "hello, world!";
    CHECK_INT(append(w1, whole, strlen(whole)), 1);
    CHECK_INT(append(w1, NULL, 0), 2);
    vg_str parts[] = {VG_STR("hello"), VG_STR(", "), VG_STR(""), VG_STR("world!")};
    uint64_t seq = 0;
    vg_err e;
    CHECK_INT(wal_appendv(w2, parts, 4, &seq, &e), VG_OK);
    CHECK_INT(seq, 1);
    CHECK_INT(wal_appendv(w2, NULL, 0, &seq, &e), VG_OK);
    CHECK_INT(seq, 2);
    wal_close(w1);
    wal_close(w2);

    char p1[128], p2[128];
    seg_path(&d1, 1, p1);
    seg_path(&d2, 1, p2);
    long long n = file_size(p1);
    CHECK_INT(n, 32 + 16 + 13 + 16);
    CHECK_INT(file_size(p2), n);
    unsigned char b1[128], b2[128];
    read_at(p1, 0, b1, (size_t)n);
    read_at(p2, 0, b2, (size_t)n);
    CHECK(memcmp(b1, b2, (size_t)n) == 0);

    w2 = open_wal(&d2, 0);
    replay_log l = replay(w2, 0);
    CHECK_INT(l.n, 2);
    CHECK_MEM(l.v[0].p, l.v[0].len, "hello, world!");
    CHECK_INT(l.v[1].len, 0);
    replay_log_free(&l);
    wal_close(w2);
    remove_dir(&d1);
    remove_dir(&d2);
}

/* ------------------------------------------------------------------------ */
/* Torn and corrupt tails                                                   */
/* ------------------------------------------------------------------------ */

/* 12 records of 40 bytes ("record-<seq>" padded), synced one by one into 256-byte
 * segments: four records per segment, so segments 1, 5 and 9. */
#define SMALL_LEN 40
#define SMALL_RECS 12
#define SMALL_REC_BYTES (16 + SMALL_LEN)

static void small_payload(uint64_t seq, char out[SMALL_LEN])
{
    memset(out, '.', SMALL_LEN);
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "record-%" PRIu64, seq);
    memcpy(out, tmp, (size_t)n);
}

static void build_small(const tdir *d)
{
    wal *w = open_wal(d, 256);
    for (uint64_t s = 1; s <= SMALL_RECS; s++) {
        char p[SMALL_LEN];
        small_payload(s, p);
        CHECK_INT(append(w, p, SMALL_LEN), s);
        sync_to(w, s);
    }
    wal_close(w);
}

/* The log holds exactly small records 1..last. */
static void check_small(wal *w, uint64_t last)
{
    CHECK_INT(wal_last_seq(w), last);
    replay_log l = replay(w, 0);
    CHECK_INT(l.n, last);
    for (size_t i = 0; i < l.n && i < last; i++) {
        char p[SMALL_LEN];
        small_payload(i + 1, p);
        CHECK_INT(l.v[i].seq, i + 1);
        CHECK(l.v[i].len == SMALL_LEN && memcmp(l.v[i].p, p, SMALL_LEN) == 0);
    }
    replay_log_free(&l);
}

/* After a cut at `last`, an append gets seq last + 1 and survives a reopen. */
static void check_append_after_cut(const tdir *d, uint64_t last)
{
    wal *w = open_wal(d, 256);
    CHECK_INT(append(w, "after-cut", 9), last + 1);
    sync_to(w, last + 1);
    wal_close(w);
    w = open_wal(d, 256);
    CHECK_INT(wal_last_seq(w), last + 1);
    replay_log l = replay(w, last);
    CHECK_INT(l.n, 1);
    if (l.n == 1) {
        CHECK_INT(l.v[0].seq, last + 1);
        CHECK_MEM(l.v[0].p, l.v[0].len, "after-cut");
    }
    replay_log_free(&l);
    wal_close(w);
}

static void test_torn_tail_every_offset(void)
{
    const long long seg_size = 32 + 4 * SMALL_REC_BYTES, rec_off = seg_size - SMALL_REC_BYTES;
    for (long long cut = rec_off; cut < seg_size; cut++) {
        tdir d = make_dir();
        build_small(&d);
        char last[128];
        seg_path(&d, 9, last);
        CHECK_INT(file_size(last), seg_size);
        CHECK(truncate(last, cut) == 0);

        capture_start();
        wal *w = open_wal(&d, 256);
        char *log = capture_end();
        check_small(w, SMALL_RECS - 1);
        CHECK_INT(file_size(last), rec_off);
        wal_close(w);

        char want[256];
        long long left = cut - rec_off;
        if (left == 0)
            CHECK(strstr(log, "cutting") == NULL);
        else if (left < 16)
            snprintf(want, sizeof want,
                     "WARN  wal: 00000000000000000009.wal: torn record header at offset %lld "
                     "(header needs 16 bytes, %lld left); cutting the log here\n",
                     rec_off, left);
        else
            snprintf(want, sizeof want,
                     "WARN  wal: 00000000000000000009.wal: torn record at offset %lld (payload "
                     "needs 40 bytes, %lld left); cutting the log here\n",
                     rec_off, left - 16);
        if (left > 0) {
            CHECK_CONTAINS(log, want);
            CHECK_INT(count_substr(log, "WARN"), 1);
        }
        free(log);
        check_append_after_cut(&d, SMALL_RECS - 1);
        remove_dir(&d);
    }
}

/* Damages the last record (seq 12 in segment 9) and checks the cut; the warning
 * must start with `msg` and end with "; cutting the log here". */
static void check_last_record_damage(long long field_off, unsigned char mask, const char *msg)
{
    tdir d = make_dir();
    build_small(&d);
    char last[128];
    seg_path(&d, 9, last);
    const long long rec_off = 32 + 3 * SMALL_REC_BYTES;
    xor_byte(last, rec_off + field_off, mask);
    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    check_small(w, SMALL_RECS - 1);
    CHECK_INT(file_size(last), rec_off);
    wal_close(w);
    char want[256];
    snprintf(want, sizeof want, "WARN  wal: 00000000000000000009.wal: %s", msg);
    CHECK_CONTAINS(log, want);
    CHECK_CONTAINS(log, "; cutting the log here\n");
    CHECK_INT(count_substr(log, "WARN"), 1);
    free(log);
    check_append_after_cut(&d, SMALL_RECS - 1);
    remove_dir(&d);
}

static void test_flipped_bytes_in_last_record(void)
{
    /* Record 12 starts at offset 32 + 3 * 56 = 200 of segment 9. */
    char p[SMALL_LEN];
    small_payload(12, p);
    unsigned char lenseq[12];
    put32(lenseq, SMALL_LEN);
    put64(lenseq + 4, 12);
    uint32_t crc = vg_crc32c(vg_crc32c(0, p, SMALL_LEN), lenseq, 12);
    char msg[200];
    /* Payload: the checksum catches it, and the stored value is the original. */
    snprintf(msg, sizeof msg,
             "checksum mismatch in record at offset 200 (stored 0x%08x, computed 0x", crc);
    check_last_record_damage(16 + 5, 0xff, msg);
    check_last_record_damage(16 + SMALL_LEN - 1, 0x01, msg);
    /* The CRC field itself. */
    check_last_record_damage(4 + 2, 0xff, "checksum mismatch in record at offset 200");
    /* The seq field: covered by the checksum too. */
    check_last_record_damage(8 + 0, 0x01, "checksum mismatch in record at offset 200");
    check_last_record_damage(8 + 7, 0x80, "checksum mismatch in record at offset 200");
    /* Length shrunk: the checksum catches it. */
    check_last_record_damage(0, 0x08, "checksum mismatch in record at offset 200");
    /* Length grown past the end of the file. */
    check_last_record_damage(0, 0xff,
                             "torn record at offset 200 (payload needs 215 bytes, 40 "
                             "left); cutting the log here\n");
    /* Length past the record size limit. */
    check_last_record_damage(3, 0xff,
                             "record at offset 200 has length 4278190120, over the "
                             "1073741824-byte limit (corrupt length); cutting the log "
                             "here\n");
}

/* A record with a valid checksum but the wrong seq (a stale or duplicated record). */
static void test_valid_crc_wrong_seq(void)
{
    tdir d = make_dir();
    build_small(&d);
    char last[128];
    seg_path(&d, 9, last);
    unsigned char rec[16 + 3];
    put32(rec, 3);
    put64(rec + 8, 99);
    memcpy(rec + 16, "bad", 3);
    unsigned char lenseq[12];
    memcpy(lenseq, rec, 4);
    memcpy(lenseq + 4, rec + 8, 8);
    put32(rec + 4, vg_crc32c(vg_crc32c(0, "bad", 3), lenseq, 12));
    int fd = open(last, O_WRONLY | O_APPEND);
    CHECK(write(fd, rec, sizeof rec) == (ssize_t)sizeof rec);
    close(fd);

    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    check_small(w, SMALL_RECS);
    CHECK_INT(file_size(last), 32 + 4 * SMALL_REC_BYTES);
    wal_close(w);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000009.wal: record at offset 256 has seq 99, "
                        "expected 13; cutting the log here\n");
    free(log);
    check_append_after_cut(&d, SMALL_RECS);
    remove_dir(&d);
}

static void test_flipped_byte_in_middle_record(void)
{
    tdir d = make_dir();
    build_small(&d);
    char first[128], p[128];
    seg_path(&d, 1, first);
    const long long rec2 = 32 + SMALL_REC_BYTES;
    xor_byte(first, rec2 + 16 + 10, 0x20);
    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    check_small(w, 1);
    wal_stats st;
    wal_get_stats(w, &st);
    CHECK_INT(st.segments, 1);
    wal_close(w);
    CHECK_INT(file_size(first), rec2);
    seg_path(&d, 5, p);
    CHECK_INT(file_size(p), -1);
    seg_path(&d, 9, p);
    CHECK_INT(file_size(p), -1);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000001.wal: checksum mismatch in record at "
                        "offset 88 (stored 0x");
    CHECK_CONTAINS(log, "); cutting the log here\n");
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000005.wal: removing this segment (256 "
                        "bytes): it comes after the cut\n");
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000009.wal: removing this segment (256 "
                        "bytes): it comes after the cut\n");
    CHECK_INT(count_substr(log, "WARN"), 3);
    free(log);
    check_append_after_cut(&d, 1);
    remove_dir(&d);
}

/* A missing middle segment is a hole in the seqs: the log is cut before it. */
static void test_missing_middle_segment(void)
{
    tdir d = make_dir();
    build_small(&d);
    char p[128];
    seg_path(&d, 5, p);
    CHECK(unlink(p) == 0);
    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    check_small(w, 4);
    wal_close(w);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000009.wal: segment starts at seq 9 but the log "
                        "before it ends at seq 4; cutting the log here, removing this segment\n");
    seg_path(&d, 9, p);
    CHECK_INT(file_size(p), -1);
    free(log);
    check_append_after_cut(&d, 4);
    remove_dir(&d);
}

/* ------------------------------------------------------------------------ */
/* Zero-byte, header-only and bad-header segments                           */
/* ------------------------------------------------------------------------ */

static void test_zero_byte_only_segment(void)
{
    tdir d = make_dir();
    char p[128];
    seg_path(&d, 1, p);
    write_file(p, "", 0);
    capture_start();
    wal *w = open_wal(&d, 0);
    char *log = capture_end();
    CHECK(w != NULL);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000001.wal: 0 bytes, shorter than the 32-byte "
                        "segment header (a crash while creating it); writing a fresh header\n");
    free(log);
    CHECK_INT(file_size(p), 32);
    CHECK_INT(wal_last_seq(w), 0);
    CHECK_INT(append(w, "x", 1), 1);
    wal_close(w);
    w = open_wal(&d, 0);
    replay_log l = replay(w, 0);
    CHECK_INT(l.n, 1);
    CHECK_MEM(l.v[0].p, l.v[0].len, "x");
    replay_log_free(&l);
    wal_close(w);
    remove_dir(&d);
}

/* A crash between creating a new segment and writing its header. */
static void test_zero_byte_last_segment_after_records(void)
{
    tdir d = make_dir();
    build_small(&d);
    char p[128];
    seg_path(&d, 13, p);
    write_file(p, "", 0);
    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000013.wal: 0 bytes, shorter than the 32-byte "
                        "segment header (a crash while creating it); writing a fresh header\n");
    free(log);
    check_small(w, SMALL_RECS);
    CHECK_INT(file_size(p), 32);
    CHECK_INT(append(w, "next", 4), 13);
    wal_close(w);
    CHECK_INT(file_size(p), 32 + 16 + 4);
    w = open_wal(&d, 256);
    CHECK_INT(wal_last_seq(w), 13);
    wal_close(w);
    remove_dir(&d);
}

static void test_zero_byte_middle_segment(void)
{
    tdir d = make_dir();
    build_small(&d);
    char p[128];
    seg_path(&d, 3, p);
    write_file(p, "", 0);
    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    check_small(w, SMALL_RECS);
    wal_close(w);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000003.wal: 0 bytes, shorter than the 32-byte "
                        "segment header; it holds no records, removing it\n");
    CHECK_INT(count_substr(log, "WARN"), 1);
    CHECK_INT(file_size(p), -1);
    free(log);
    remove_dir(&d);
}

static void test_header_only_segments(void)
{
    tdir d = make_dir();
    /* A log opened and closed with nothing in it. */
    wal *w = open_wal(&d, 256);
    wal_close(w);
    char p[128];
    seg_path(&d, 1, p);
    CHECK_INT(file_size(p), 32);
    capture_start();
    w = open_wal(&d, 256);
    char *log = capture_end();
    CHECK_INT(count_substr(log, "WARN"), 0);
    free(log);
    CHECK_INT(wal_last_seq(w), 0);
    replay_log l = replay(w, 0);
    CHECK_INT(l.n, 0);
    replay_log_free(&l);
    wal_close(w);
    remove_dir(&d);

    /* A header-only segment after records: a crash right after a roll. */
    d = make_dir();
    build_small(&d);
    unsigned char h[32];
    make_seg_hdr(h, 13, 1);
    seg_path(&d, 13, p);
    write_file(p, h, 32);
    capture_start();
    w = open_wal(&d, 256);
    log = capture_end();
    CHECK_INT(count_substr(log, "WARN"), 0);
    free(log);
    check_small(w, SMALL_RECS);
    CHECK_INT(append(w, "x", 1), 13);
    wal_close(w);
    CHECK_INT(file_size(p), 32 + 16 + 1);
    remove_dir(&d);
}

static void test_bad_segment_headers(void)
{
    tdir d = make_dir();
    build_small(&d);
    char p[128];
    seg_path(&d, 13, p);
    unsigned char h[32];
    memset(h, 'x', 32);
    write_file(p, h, 32);
    capture_start();
    wal *w = open_wal(&d, 256);
    char *log = capture_end();
    check_small(w, SMALL_RECS);
    wal_close(w);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000013.wal: segment header does not start with "
                        "VIGILWAL; cutting the log here, removing this segment\n");
    CHECK_INT(file_size(p), -1);
    free(log);

    /* Checksum mismatch in the header. */
    make_seg_hdr(h, 13, 1);
    h[20] ^= 1;
    write_file(p, h, 32);
    capture_start();
    w = open_wal(&d, 256);
    log = capture_end();
    check_small(w, SMALL_RECS);
    wal_close(w);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000013.wal: segment header checksum mismatch; "
                        "cutting the log here, removing this segment\n");
    free(log);

    /* Header and name disagree. */
    make_seg_hdr(h, 14, 1);
    write_file(p, h, 32);
    capture_start();
    w = open_wal(&d, 256);
    log = capture_end();
    check_small(w, SMALL_RECS);
    wal_close(w);
    CHECK_CONTAINS(log, "WARN  wal: 00000000000000000013.wal: segment header says first seq 14 "
                        "but the file name says 13; cutting the log here, removing this "
                        "segment\n");
    free(log);

    /* A newer format version is refused, not cut: the files stay as they are. */
    make_seg_hdr(h, 13, 2);
    write_file(p, h, 32);
    wal_options o = {.dir = d.path};
    wal *w2 = (wal *)1;
    vg_err e;
    CHECK_INT(wal_open(&o, &w2, &e), VG_ECORRUPT);
    CHECK(w2 == NULL);
    char want[256];
    snprintf(want, sizeof want,
             "wal: %s has segment format version 2, but this build reads only version 1; use a "
             "newer Vigil",
             p);
    CHECK_STR(e.msg, want);
    CHECK_INT(file_size(p), 32);
    remove_dir(&d);
}

/* ------------------------------------------------------------------------ */
/* Group commit                                                             */
/* ------------------------------------------------------------------------ */

#define GC_THREADS 8
#define GC_RECORDS 2000

typedef struct gc_arg {
    wal *w;
    uint32_t thread;
    uint32_t count;
    uint64_t *seqs; /* seq each record got */
    int failures;
} gc_arg;

static void *gc_writer(void *p)
{
    gc_arg *a = p;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < a->count; i++) {
        unsigned char rec[8 + 24];
        put32(rec, a->thread);
        put32(rec + 4, i);
        memset(rec + 8, (int)('a' + a->thread), (i % 3) * 12);
        uint64_t seq = 0;
        vg_err e;
        if (wal_append(a->w, rec, 8 + (i % 3) * 12, &seq, &e) != VG_OK ||
            wal_sync(a->w, seq, &e) != VG_OK || seq <= prev || wal_durable_seq(a->w) < seq)
            a->failures++;
        a->seqs[i] = seq;
        prev = seq;
    }
    return NULL;
}

static void run_group_commit(int64_t flush_interval_ns, uint32_t per_thread, uint64_t segment_bytes)
{
    tdir d = make_dir();
    wal *w = open_opts(&d, segment_bytes, flush_interval_ns);
    gc_arg args[GC_THREADS];
    pthread_t th[GC_THREADS];
    for (uint32_t t = 0; t < GC_THREADS; t++) {
        args[t] = (gc_arg){w, t, per_thread, calloc(per_thread, sizeof(uint64_t)), 0};
        CHECK_INT(pthread_create(&th[t], NULL, gc_writer, &args[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK_INT(args[t].failures, 0);
    }
    const uint64_t total = (uint64_t)GC_THREADS * per_thread;
    wal_stats st;
    wal_get_stats(w, &st);
    CHECK_INT(st.records, total);
    CHECK(st.syncs < total);
    CHECK(st.segments > 1);
    CHECK_INT(wal_last_seq(w), total);
    CHECK_INT(wal_durable_seq(w), total);
    printf("  group commit (interval %lld ns): %" PRIu64 " records, %" PRIu64
           " fdatasyncs, %" PRIu64 " segments\n",
           (long long)flush_interval_ns, st.records, st.syncs, st.segments);
    wal_close(w);

    w = open_wal(&d, segment_bytes);
    replay_log l = replay(w, 0);
    CHECK_INT(l.n, total);
    unsigned char *seen = calloc(total, 1);
    size_t bad = 0;
    for (size_t k = 0; k < l.n; k++) {
        const got_rec *g = &l.v[k];
        if (g->seq != k + 1 || g->len < 8) {
            bad++;
            continue;
        }
        uint32_t t = le32(g->p), i = le32(g->p + 4);
        if (t >= GC_THREADS || i >= per_thread || args[t].seqs[i] != g->seq ||
            g->len != 8 + (i % 3) * 12 || seen[(size_t)t * per_thread + i]++)
            bad++;
    }
    CHECK_INT(bad, 0);
    free(seen);
    replay_log_free(&l);
    wal_close(w);
    for (int t = 0; t < GC_THREADS; t++)
        free(args[t].seqs);
    remove_dir(&d);
}

static void test_group_commit_8_threads(void)
{
    run_group_commit(0, GC_RECORDS, 64 * 1024);
}

static void test_group_commit_with_flush_interval(void)
{
    run_group_commit(200 * VG_NS_PER_US, 200, 8 * 1024);
}

/* ------------------------------------------------------------------------ */
/* Replay, removal                                                          */
/* ------------------------------------------------------------------------ */

static void test_replay_after_seq(void)
{
    tdir d = make_dir();
    wal *w = open_wal(&d, 512);
    for (uint64_t s = 1; s <= 100; s++) {
        append_std(w, s);
        if (s % 5 == 0)
            sync_to(w, s);
    }
    replay_log l = replay(w, 0);
    CHECK(is_std_range(&l, 1, 100));
    replay_log_free(&l);
    l = replay(w, 37);
    CHECK(is_std_range(&l, 38, 100));
    replay_log_free(&l);
    l = replay(w, 99);
    CHECK(is_std_range(&l, 100, 100));
    replay_log_free(&l);
    l = replay(w, 100);
    CHECK_INT(l.n, 0);
    replay_log_free(&l);
    l = replay(w, 5000);
    CHECK_INT(l.n, 0);
    replay_log_free(&l);

    /* Records not yet synced are not on disk, so replay does not see them. */
    CHECK_INT(append_std(w, 101), 101);
    l = replay(w, 0);
    CHECK_INT(l.n, 100);
    replay_log_free(&l);

    /* A callback error stops replay and comes back unchanged. */
    replay_log stop = {.stop_after = 50};
    vg_err e;
    CHECK_INT(wal_replay(w, 0, collect, &stop, &e), VG_EINVAL);
    CHECK_STR(e.msg, "stop at seq 51");
    CHECK_INT(stop.n, 50);
    replay_log_free(&stop);
    wal_close(w);
    remove_dir(&d);
}

static size_t peak_mem, base_mem;

static int track_mem(void *ctx, uint64_t seq, const void *rec, size_t len, vg_err *e)
{
    size_t used = vg_mem_used() - base_mem;
    if (used > peak_mem)
        peak_mem = used;
    return VG_OK;
}

/* 40 records of 200 KB in one segment (8 MB): replay holds one window, not the log. */
static void test_replay_bounded_memory(void)
{
    tdir d = make_dir();
    wal *w = open_wal(&d, 0);
    unsigned char *p = calloc(200 * 1024, 1);
    for (int i = 0; i < 40; i++)
        append(w, p, 200 * 1024);
    free(p);
    sync_to(w, 40);
    wal_close(w);
    w = open_wal(&d, 0);
    base_mem = vg_mem_used();
    peak_mem = 0;
    vg_err e;
    CHECK_INT(wal_replay(w, 0, track_mem, NULL, &e), VG_OK);
    CHECK(peak_mem <= (1u << 20) + 4096);
    CHECK(peak_mem >= (1u << 20));
    wal_close(w);
    remove_dir(&d);
}

static void test_remove_through(void)
{
    tdir d = make_dir();
    build_small(&d); /* segments 1 (1-4), 5 (5-8), 9 (9-12) */
    wal *w = open_wal(&d, 256);
    for (uint64_t s = 13; s <= 20; s++) {
        char p[SMALL_LEN];
        small_payload(s, p);
        append(w, p, SMALL_LEN);
        sync_to(w, s);
    }
    uint64_t segs[16];
    CHECK_INT(list_segs(&d, segs, 16), 5);
    CHECK_INT(segs[4], 17);
    vg_err e;
    CHECK_INT(wal_remove_through(w, 0, &e), VG_OK);
    CHECK_INT(wal_remove_through(w, 3, &e), VG_OK);
    CHECK_INT(list_segs(&d, segs, 16), 5);
    CHECK_INT(wal_remove_through(w, 4, &e), VG_OK);
    CHECK_INT(list_segs(&d, segs, 16), 4);
    CHECK_INT(segs[0], 5);
    CHECK_INT(wal_remove_through(w, 11, &e), VG_OK);
    CHECK_INT(list_segs(&d, segs, 16), 3);
    CHECK_INT(segs[0], 9);
    wal_stats st;
    wal_get_stats(w, &st);
    CHECK_INT(st.segments, 3);
    CHECK_INT(st.bytes, dir_bytes(&d));
    replay_log l = replay(w, 0);
    CHECK_INT(l.n, 12);
    CHECK_INT(l.v[0].seq, 9);
    replay_log_free(&l);
    /* The active segment stays, whatever `upto` says. */
    CHECK_INT(wal_remove_through(w, UINT64_MAX, &e), VG_OK);
    CHECK_INT(list_segs(&d, segs, 16), 1);
    CHECK_INT(segs[0], 17);
    wal_close(w);

    /* Seqs keep growing after everything before the active segment is gone. */
    w = open_wal(&d, 256);
    CHECK_INT(wal_last_seq(w), 20);
    l = replay(w, 0);
    CHECK_INT(l.n, 4);
    CHECK_INT(l.v[0].seq, 17);
    replay_log_free(&l);
    CHECK_INT(append(w, "x", 1), 21);
    wal_close(w);
    remove_dir(&d);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static void test_argument_errors(void)
{
    tdir d = make_dir();
    wal *w = open_wal(&d, 0);
    append(w, "a", 1);
    vg_err e;
    CHECK_INT(wal_sync(w, 0, &e), VG_OK);
    CHECK_INT(wal_sync(w, 2, &e), VG_EINVAL);
    CHECK_STR(e.msg, "wal: cannot sync seq 2: the last record appended is 1");
    uint64_t seq = 0;
    static const char dummy[1];
    CHECK_INT(wal_append(w, dummy, (size_t)VG_LIMIT_WAL_RECORD_BYTES + 1, &seq, &e), VG_ETOOBIG);
    CHECK_STR(e.msg, "wal: a record may hold at most 1073741824 bytes");
    vg_str parts[] = {{dummy, VG_LIMIT_WAL_RECORD_BYTES}, {dummy, 1}};
    CHECK_INT(wal_appendv(w, parts, 2, &seq, &e), VG_ETOOBIG);
    CHECK_INT(wal_last_seq(w), 1);
    wal_close(w);

    wal_options o = {.dir = ""};
    CHECK_INT(wal_open(&o, &w, &e), VG_EINVAL);
    CHECK_STR(e.msg, "wal: no directory given");
    char file[128];
    snprintf(file, sizeof file, "%s/plainfile", d.path);
    write_file(file, "x", 1);
    o.dir = file;
    CHECK_INT(wal_open(&o, &w, &e), VG_EIO);
    char want[256];
    snprintf(want, sizeof want, "wal: cannot list directory %s: Not a directory", file);
    CHECK_STR(e.msg, want);
    remove_dir(&d);
}

typedef struct fail_arg {
    wal *w;
    int rc;
    char msg[VG_ERR_MSG_BYTES];
} fail_arg;

static void *fail_writer(void *p)
{
    fail_arg *a = p;
    char rec[800];
    memset(rec, 'w', sizeof rec);
    uint64_t seq;
    vg_err e = {0};
    a->rc = wal_append(a->w, rec, sizeof rec, &seq, &e);
    if (a->rc == VG_OK)
        a->rc = wal_sync(a->w, seq, &e);
    memcpy(a->msg, e.msg, sizeof a->msg);
    return NULL;
}

/* A write error (here: the file-size limit) fails every waiter of the batch, later
 * appends too, and leaves the file as it was before the batch. */
static void test_write_failure(void)
{
    tdir d = make_dir();
    wal *w = open_wal(&d, 0);
    for (uint64_t s = 1; s <= 10; s++)
        append(w, "0123456789", 10);
    sync_to(w, 10);
    char p[128];
    seg_path(&d, 1, p);
    const long long good = 32 + 10 * 26;
    CHECK_INT(file_size(p), good);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1024;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    capture_start();
    fail_arg args[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (fail_arg){.w = w};
        pthread_create(&th[t], NULL, fail_writer, &args[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK_INT(args[t].rc, VG_EIO);
        CHECK(strstr(args[t].msg, "wal: cannot write ") == args[t].msg);
        CHECK(strstr(args[t].msg, "00000000000000000001.wal (write failed: File too large); the "
                                  "log takes no more writes until the server restarts") != NULL);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    char *log = capture_end();
    CHECK_INT(count_substr(log, "ERROR wal: cannot write "), 1);
    free(log);
    CHECK_INT(file_size(p), good);
    CHECK_INT(wal_durable_seq(w), 10);
    vg_err e;
    CHECK_INT(wal_sync(w, 10, &e), VG_OK);
    uint64_t seq;
    CHECK_INT(wal_append(w, "x", 1, &seq, &e), VG_EIO);
    CHECK(strstr(e.msg, "wal: cannot write ") == e.msg);
    capture_start();
    wal_close(w);
    log = capture_end();
    CHECK_INT(count_substr(log, "ERROR wal: closing "), 1);
    free(log);

    w = open_wal(&d, 0);
    CHECK_INT(wal_last_seq(w), 10);
    replay_log l = replay(w, 0);
    CHECK_INT(l.n, 10);
    replay_log_free(&l);
    CHECK_INT(append(w, "again", 5), 11);
    wal_close(w);
    remove_dir(&d);
}

/* Every allocation wal_open makes may fail; each failure is reported and frees what
 * was taken. */
static void test_open_allocation_failures(void)
{
    tdir d = make_dir();
    build_small(&d);
    int successes = 0;
    for (long n = 1; n < 100 && successes == 0; n++) {
        size_t before = vg_mem_used();
        wal_options o = {.dir = d.path, .segment_bytes = 256};
        wal *w = NULL;
        vg_err e = {0};
        vg_mem_fail_after(n);
        int rc = wal_open(&o, &w, &e);
        vg_mem_fail_after(0);
        if (rc == VG_OK) {
            successes++;
            check_small(w, SMALL_RECS);
            wal_close(w);
        } else {
            CHECK_INT(rc, VG_ENOMEM);
            CHECK(strstr(e.msg, "wal: out of memory") == e.msg);
            CHECK(w == NULL);
        }
        CHECK_INT(vg_mem_used(), before);
    }
    CHECK_INT(successes, 1);

    /* An append that cannot grow the pending buffer fails alone. */
    wal *w = open_wal(&d, 256);
    vg_err e;
    uint64_t seq;
    static char big[1 << 20];
    vg_mem_fail_after(1);
    CHECK_INT(wal_append(w, big, sizeof big, &seq, &e), VG_ENOMEM);
    vg_mem_fail_after(0);
    CHECK_STR(e.msg, "wal: out of memory queuing a 1048576-byte record");
    CHECK_INT(append(w, "ok", 2), SMALL_RECS + 1);
    wal_close(w);
    remove_dir(&d);
}

TEST_MAIN(test_round_trip_reopen_and_rolls, test_on_disk_layout, test_appendv_equals_append,
          test_torn_tail_every_offset, test_flipped_bytes_in_last_record, test_valid_crc_wrong_seq,
          test_flipped_byte_in_middle_record, test_missing_middle_segment,
          test_zero_byte_only_segment, test_zero_byte_last_segment_after_records,
          test_zero_byte_middle_segment, test_header_only_segments, test_bad_segment_headers,
          test_group_commit_8_threads, test_group_commit_with_flush_interval, test_replay_after_seq,
          test_replay_bounded_memory, test_remove_through, test_argument_errors, test_write_failure,
          test_open_allocation_failures)
