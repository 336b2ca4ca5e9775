/*
 * tests/unit/test_parquet.c: the parquet module: Thrift compact codec, bit packing,
 * the RLE/bit-packed hybrid, the delta encodings, byte-stream split, codecs, writer
 * and reader round trips for every type and encoding (nulls, all nulls, empty strings,
 * one row, many row groups, widest bit widths, int64 extremes), statistics, type
 * conversions of foreign files, and the errors of corrupt input.
 */
#include "parquet/parquet.h"
#include "parquet/parquet_int.h"
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng = 1;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------ */
/* Thrift compact protocol                                                  */
/* ------------------------------------------------------------------------ */

static void test_thrift_round_trip(void)
{
    vg_buf b;
    vg_buf_init(&b);
    tc_writer w;
    pq_tw_init(&w, &b);
    pq_tw_i32(&w, 1, -7);
    pq_tw_i64(&w, 2, INT64_MIN);
    pq_tw_i64(&w, 3, INT64_MAX);
    pq_tw_bool(&w, 4, true);
    pq_tw_bool(&w, 5, false);
    pq_tw_bin(&w, 6, "hello", 5);
    pq_tw_struct(&w, 40); /* a jump of more than 15 ids: long field header */
    pq_tw_i32(&w, 1, INT32_MIN);
    pq_tw_end(&w);
    pq_tw_list(&w, 41, TC_I32, 20); /* more than 14 elements: long list header */
    for (int i = 0; i < 20; i++)
        pq_tw_elem_i32(&w, i * 1000 - 5);
    pq_tw_i8(&w, 42, -3);
    pq_tw_i16(&w, 43, 300);
    pq_tw_end(&w);
    CHECK(!b.oom);

    tc_reader r;
    vg_err e = {0};
    pq_tr_init(&r, b.data, b.len, 0, &e);
    const char *saved;
    CHECK(pq_tr_enter(&r, "Test", &saved) == 0);
    int16_t last = 0, id;
    int type, n = 0;
    while (pq_tr_field(&r, &last, &id, &type) == 1) {
        int32_t v32;
        int64_t v64;
        bool bv;
        const uint8_t *p;
        uint32_t len;
        n++;
        switch (id) {
        case 1: CHECK(pq_tr_i32(&r, type, &v32) == 0 && v32 == -7); break;
        case 2: CHECK(pq_tr_i64(&r, type, &v64) == 0 && v64 == INT64_MIN); break;
        case 3: CHECK(pq_tr_i64(&r, type, &v64) == 0 && v64 == INT64_MAX); break;
        case 4: CHECK(pq_tr_bool(&r, type, &bv) == 0 && bv); break;
        case 5: CHECK(pq_tr_bool(&r, type, &bv) == 0 && !bv); break;
        case 6:
            CHECK(pq_tr_bin(&r, type, &p, &len) == 0);
            CHECK_MEM(p, len, "hello");
            break;
        case 40: {
            const char *s2;
            int16_t l2 = 0, id2;
            int t2;
            CHECK(type == TC_STRUCT && pq_tr_enter(&r, "Inner", &s2) == 0);
            CHECK(pq_tr_field(&r, &l2, &id2, &t2) == 1 && id2 == 1);
            CHECK(pq_tr_i32(&r, t2, &v32) == 0 && v32 == INT32_MIN);
            CHECK(pq_tr_field(&r, &l2, &id2, &t2) == 0);
            pq_tr_leave(&r, s2);
            break;
        }
        case 41: {
            int et;
            uint32_t cnt;
            CHECK(pq_tr_list(&r, type, &et, &cnt) == 0 && et == TC_I32 && cnt == 20);
            for (uint32_t i = 0; i < cnt; i++)
                CHECK(pq_tr_elem_i32(&r, et, &v32) == 0 && v32 == (int32_t)i * 1000 - 5);
            break;
        }
        case 42: {
            int8_t v8;
            CHECK(pq_tr_i8(&r, type, &v8) == 0 && v8 == -3);
            break;
        }
        case 43: CHECK(pq_tr_i32(&r, type, &v32) == 0 && v32 == 300); break;
        default: CHECK(0);
        }
    }
    CHECK_INT(n, 10);
    CHECK(!r.failed && r.p == r.end);
    vg_buf_free(&b);
}

/* Unknown fields of every type are skipped, whatever they hold. */
static void test_thrift_skip(void)
{
    static const uint8_t msg[] = {
        0x17, 1,    2,    3,    4,    5, 6, 7, 8, /* field 1: double */
        0x1b, 0x02, 0x55, 2,    4,    5, 4,       /* field 2: map<i32,i32> {1: 2, -3: 2} */
        0x1a, 0x29, 0x21, 0x01, 0x02, /* field 3: set of 2 lists of bools: [true, false] */
        0x12, 0x01,                   /*   ... and [true] */
        0x19, 0x1c, 0x15, 0x02, 0x00, /* field 4: list of 1 struct {1: i32 1} */
        0x13, 0xff,                   /* field 5: i8 */
        0x15, 0x2a,                   /* field 6: i32 21 */
        0x00,
    };
    tc_reader r;
    vg_err e = {0};
    pq_tr_init(&r, msg, sizeof msg, 100, &e);
    int16_t last = 0, id;
    int type, rc;
    int32_t v = 0;
    while ((rc = pq_tr_field(&r, &last, &id, &type)) == 1) {
        if (id == 6)
            CHECK(pq_tr_i32(&r, type, &v) == 0);
        else
            CHECK(pq_tr_skip(&r, type, false) == 0);
    }
    CHECK_INT(rc, 0);
    CHECK_INT(v, 21);
    CHECK(!r.failed);
}

static void test_thrift_errors(void)
{
    vg_err e = {0};
    tc_reader r;
    int16_t last = 0, id;
    int type, et;
    uint32_t n;
    /* a list claiming more elements than bytes */
    static const uint8_t lie[] = {0x19, 0xf5, 0xff, 0xff, 0x03, 0x02};
    pq_tr_init(&r, lie, sizeof lie, 1000, &e);
    CHECK(pq_tr_field(&r, &last, &id, &type) == 1);
    CHECK(pq_tr_list(&r, type, &et, &n) == -1);
    CHECK_STR(e.msg, "byte 1005 (): list of 65535 elements runs past the end");
    /* a varint of eleven bytes */
    static const uint8_t longvar[] = {0x15, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    int32_t v;
    last = 0;
    pq_tr_init(&r, longvar, sizeof longvar, 0, &e);
    CHECK(pq_tr_field(&r, &last, &id, &type) == 1);
    CHECK(pq_tr_i32(&r, type, &v) == -1);
    CHECK_STR(e.msg, "byte 1 (): bad varint");
    /* an i32 field holding a value too big for it */
    static const uint8_t big[] = {0x15, 0x80, 0x80, 0x80, 0x80, 0x20};
    last = 0;
    pq_tr_init(&r, big, sizeof big, 0, &e);
    CHECK(pq_tr_field(&r, &last, &id, &type) == 1);
    CHECK(pq_tr_i32(&r, type, &v) == -1);
    CHECK_STR(e.msg, "byte 6 (): value 4294967296 does not fit an i32");
    /* wrong type for a known field */
    static const uint8_t wrong[] = {0x18, 0x00};
    last = 0;
    pq_tr_init(&r, wrong, sizeof wrong, 0, &e);
    CHECK(pq_tr_field(&r, &last, &id, &type) == 1);
    CHECK(pq_tr_i64(&r, type, (int64_t *)&v) == -1);
    CHECK_STR(e.msg, "byte 1 (): expected i64, got binary");
    /* structs nested past the limit, skipped as an unknown field */
    uint8_t deep[100];
    for (int i = 0; i < 99; i++)
        deep[i] = 0x1c;
    deep[99] = 0;
    last = 0;
    pq_tr_init(&r, deep, sizeof deep, 0, &e);
    CHECK(pq_tr_field(&r, &last, &id, &type) == 1);
    CHECK(pq_tr_skip(&r, type, false) == -1);
    CHECK(strstr(e.msg, "structs nested deeper than 32") != NULL);
    /* a truncated binary */
    static const uint8_t cut[] = {0x18, 0x05, 'a', 'b'};
    const uint8_t *p;
    last = 0;
    pq_tr_init(&r, cut, sizeof cut, 0, &e);
    CHECK(pq_tr_field(&r, &last, &id, &type) == 1);
    CHECK(pq_tr_bin(&r, type, &p, &n) == -1);
    CHECK_STR(e.msg, "byte 2 (): binary of 5 bytes runs past the end");
}

/* ------------------------------------------------------------------------ */
/* Bit packing and the hybrid                                               */
/* ------------------------------------------------------------------------ */

static void test_bitpack_widths(void)
{
    uint64_t in[77], out[77];
    uint8_t buf[77 * 8 + 8];
    for (int w = 0; w <= 64; w++) {
        uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
        for (int i = 0; i < 77; i++)
            in[i] = (i % 5 == 0 ? ~0ull : rnd()) & mask;
        memset(buf, 0, sizeof buf);
        pq_pack(buf, in, 77, w);
        pq_unpack(buf, out, 77, w);
        CHECK(memcmp(in, out, sizeof in) == 0);
    }
    /* the format's own example: 0..7 at width 3 */
    uint64_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    memset(buf, 0, sizeof buf);
    pq_pack(buf, seq, 8, 3);
    CHECK(buf[0] == 0x88 && buf[1] == 0xc6 && buf[2] == 0xfa);
    CHECK_INT(pq_bit_width(0), 0);
    CHECK_INT(pq_bit_width(1), 1);
    CHECK_INT(pq_bit_width(~0ull), 64);
}

static void rle_round_trip(const uint32_t *vals, size_t n, int width)
{
    vg_buf b;
    vg_buf_init(&b);
    pq_rle_encode(&b, vals, 4, n, width);
    uint32_t *out = calloc(n + 1, 4);
    vg_err e = {0};
    CHECK(pq_rle_decode((const uint8_t *)b.data, b.len, width, out, n, &e) == VG_OK);
    CHECK(n == 0 || memcmp(vals, out, n * 4) == 0);
    free(out);
    vg_buf_free(&b);
}

static void test_rle_hybrid(void)
{
    uint32_t v[3000];
    for (int w = 0; w <= 32; w++) {
        uint32_t mask = w == 32 ? ~0u : (1u << w) - 1;
        for (size_t n = 0; n < 40; n++) {
            for (size_t i = 0; i < n; i++)
                v[i] = (uint32_t)rnd() & mask;
            rle_round_trip(v, n, w);
        }
        /* runs of every length around the 8-value group edge, mixed with literals */
        size_t n = 0;
        for (int run = 1; run < 40 && n < 2900; run++) {
            uint32_t x = (uint32_t)rnd() & mask;
            for (int k = 0; k < run; k++)
                v[n++] = x;
            v[n++] = (uint32_t)rnd() & mask;
        }
        rle_round_trip(v, n, w);
    }
    /* one long run and levels as bytes */
    for (int i = 0; i < 3000; i++)
        v[i] = 1;
    rle_round_trip(v, 3000, 1);
    uint8_t lv[20] = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0};
    vg_buf b;
    vg_buf_init(&b);
    pq_rle_encode(&b, lv, 1, 20, 1);
    uint32_t out[20];
    vg_err e = {0};
    CHECK(pq_rle_decode((const uint8_t *)b.data, b.len, 1, out, 20, &e) == VG_OK);
    for (int i = 0; i < 20; i++)
        CHECK_INT(out[i], lv[i]);
    vg_buf_free(&b);
    /* a hand-made stream: repeat 5 x 3, then one bit-packed group at width 3 */
    static const uint8_t s[] = {0x0a, 0x03, 0x03, 0x88, 0xc6, 0xfa};
    uint32_t o[13];
    CHECK(pq_rle_decode(s, sizeof s, 3, o, 13, &e) == VG_OK);
    CHECK(o[0] == 3 && o[4] == 3 && o[5] == 0 && o[6] == 1 && o[12] == 7);
    /* errors */
    CHECK(pq_rle_decode(s, sizeof s, 3, o, 14, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "RLE data ends after 13 of 14 values");
    static const uint8_t zero[] = {0x00, 0x01};
    CHECK(pq_rle_decode(zero, sizeof zero, 1, o, 1, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "bad RLE run header at byte 0");
    static const uint8_t shortpack[] = {0x03, 0xff};
    CHECK(pq_rle_decode(shortpack, sizeof shortpack, 3, o, 8, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "bit-packed run at byte 0 runs past the end");
    CHECK(pq_rle_decode(s, sizeof s, 33, o, 1, &e) == VG_ECORRUPT);
    static const uint8_t wide[] = {0x02, 0xff}; /* a repeat of 255 at width 1 */
    CHECK(pq_rle_decode(wide, sizeof wide, 1, o, 1, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "repeat run at byte 0: value 255 is wider than 1 bits");
}

/* ------------------------------------------------------------------------ */
/* Delta encodings                                                          */
/* ------------------------------------------------------------------------ */

static void delta_round_trip(const int64_t *vals, size_t n)
{
    vg_buf b;
    vg_buf_init(&b);
    pq_delta_encode(&b, vals, n);
    int64_t *out = calloc(n + 1, 8);
    size_t count, used;
    vg_err e = {0};
    CHECK(pq_delta_decode((const uint8_t *)b.data, b.len, 64, out, n, &count, &used, &e) == VG_OK);
    CHECK(count == n && used == b.len);
    CHECK(n == 0 || memcmp(vals, out, n * 8) == 0);
    free(out);
    vg_buf_free(&b);
}

static void test_delta_binary_packed(void)
{
    int64_t v[1000];
    for (size_t n = 0; n <= 300; n++) { /* every length around block and miniblock edges */
        for (size_t i = 0; i < n; i++)
            v[i] = (int64_t)(rnd() % 1000) - 500;
        delta_round_trip(v, n);
    }
    for (int i = 0; i < 1000; i++) /* negative deltas: a falling series */
        v[i] = 1000000 - i * 37;
    delta_round_trip(v, 1000);
    for (int i = 0; i < 1000; i++) /* the extremes: deltas need all 64 bits */
        v[i] = i % 2 ? INT64_MAX : INT64_MIN;
    delta_round_trip(v, 1000);
    for (int i = 0; i < 1000; i++)
        v[i] = (int64_t)rnd();
    delta_round_trip(v, 1000);
    for (int i = 0; i < 1000; i++) /* nanosecond timestamps */
        v[i] = 1767225600000000000LL + i * 1000000000LL + (int64_t)(rnd() % 1000);
    delta_round_trip(v, 1000);
    for (int i = 0; i < 1000; i++) /* series of steady steps (zero-width miniblocks) */
        v[i] = 1767225600000000000LL + (i % 301) * 10000000000LL - (i / 301) * 7;
    delta_round_trip(v, 1000);
    /* the exact bytes for 1..5: header, then min delta 1 and four zero widths */
    int64_t five[5] = {1, 2, 3, 4, 5};
    vg_buf b;
    vg_buf_init(&b);
    pq_delta_encode(&b, five, 5);
    static const uint8_t want[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    CHECK(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
    vg_buf_free(&b);
}

static void test_delta_int32_wraps(void)
{
    /* INT32_MIN then INT32_MAX: the delta is -1 in 32-bit arithmetic */
    static const uint8_t s[] = {0x80, 0x01, 0x04, 0x02, 0xff, 0xff, 0xff,
                                0xff, 0x0f, 0x01, 0,    0,    0,    0};
    int64_t out[2];
    size_t count, used;
    vg_err e = {0};
    CHECK(pq_delta_decode(s, sizeof s, 32, out, 2, &count, &used, &e) == VG_OK);
    CHECK(count == 2 && out[0] == INT32_MIN && out[1] == INT32_MAX);
    /* a width over 32 is corrupt for INT32 */
    static const uint8_t w[] = {0x80, 0x01, 0x04, 0x02, 0x00, 0x00, 33, 0, 0, 0};
    CHECK(pq_delta_decode(w, sizeof w, 32, out, 2, &count, &used, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "DELTA_BINARY_PACKED bit width 33 is over 32");
    /* more values than the page has */
    CHECK(pq_delta_decode(s, sizeof s, 32, out, 1, &count, &used, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "DELTA_BINARY_PACKED claims 2 values, at most 1 expected");
    static const uint8_t bad_block[] = {0x40, 0x04, 0x02, 0x00};
    CHECK(pq_delta_decode(bad_block, sizeof bad_block, 64, out, 2, &count, &used, &e) ==
          VG_ECORRUPT);
    CHECK_STR(e.msg, "DELTA_BINARY_PACKED block size 64 is not a multiple of 128");
}

static void test_delta_strings(void)
{
    const char *words[] = {"", "axis", "axle", "babble", "babyhood", "", "b", "b", "bb", ""};
    uint32_t lens[10];
    vg_buf bytes, enc;
    vg_buf_init(&bytes);
    for (int i = 0; i < 10; i++) {
        lens[i] = (uint32_t)strlen(words[i]);
        vg_buf_puts(&bytes, words[i]);
    }
    vg_arena a;
    vg_arena_init(&a, 0);
    vg_err e = {0};
    vg_str out[10];
    for (int kind = 0; kind < 2; kind++) {
        vg_buf_init(&enc);
        if (kind == 0)
            pq_delta_length_encode(&enc, lens, bytes.data, 10);
        else
            pq_delta_strings_encode(&enc, lens, bytes.data, 10);
        int rc = kind == 0
                     ? pq_delta_length_decode((const uint8_t *)enc.data, enc.len, out, 10, &a, &e)
                     : pq_delta_strings_decode((const uint8_t *)enc.data, enc.len, out, 10, 1 << 20,
                                               &a, &e);
        CHECK(rc == VG_OK);
        for (int i = 0; i < 10; i++)
            CHECK_MEM(out[i].ptr, out[i].len, words[i]);
        /* cut anywhere: an error, never a crash */
        for (size_t cut = 0; cut + 1 < enc.len; cut++) {
            rc = kind == 0 ? pq_delta_length_decode((const uint8_t *)enc.data, cut, out, 10, &a, &e)
                           : pq_delta_strings_decode((const uint8_t *)enc.data, cut, out, 10,
                                                     1 << 20, &a, &e);
            CHECK(rc != VG_OK);
        }
        vg_buf_free(&enc);
    }
    /* prefixes that describe a huge output are refused before any allocation */
    vg_buf_init(&enc);
    int64_t pre[3] = {0, 1000, 1000}, suf[3] = {1000, 0, 0};
    pq_delta_encode(&enc, pre, 3);
    pq_delta_encode(&enc, suf, 3);
    for (int i = 0; i < 1000; i++)
        vg_buf_putc(&enc, 'x');
    CHECK(pq_delta_strings_decode((const uint8_t *)enc.data, enc.len, out, 3, 2500, &a, &e) ==
          VG_ELIMIT);
    CHECK_STR(e.msg, "DELTA_BYTE_ARRAY values exceed 2500 bytes");
    vg_buf_free(&enc);
    vg_buf_free(&bytes);
    vg_arena_free(&a);
}

static void test_byte_stream_split(void)
{
    double in[5] = {1.5, -0.0, NAN, INFINITY, 1e-300}, out[5];
    uint8_t buf[40];
    vg_err e = {0};
    pq_bss_encode(buf, (const uint8_t *)in, 5, 8);
    CHECK(pq_bss_decode(buf, 40, (uint8_t *)out, 5, 8, &e) == VG_OK);
    CHECK(memcmp(in, out, sizeof in) == 0);
    CHECK(buf[0] == ((const uint8_t *)in)[0] && buf[1] == ((const uint8_t *)in)[8]);
    CHECK(pq_bss_decode(buf, 39, (uint8_t *)out, 5, 8, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "BYTE_STREAM_SPLIT data is 39 bytes, 5 values of 8 bytes need 40");

    /* doubles go 16 at a time, the rest one by one: every count around the blocks,
     * random bytes (every byte position distinct), against the definition */
    enum { MAXN = 300 };
    static uint8_t vals[MAXN * 8], split[MAXN * 8], back[MAXN * 8 + 8];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < sizeof vals; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vals[i] = (uint8_t)x;
    }
    uint32_t bad = 0;
    for (size_t n = 0; n <= MAXN; n += n < 40 ? 1 : 13) {
        pq_bss_encode(split, vals, n, 8);
        for (size_t j = 0; j < 8 && n; j++) /* stream j holds byte j of every value */
            bad += split[j * n + n - 1] != vals[(n - 1) * 8 + j];
        memset(back, 0xa5, sizeof back);
        CHECK(pq_bss_decode(split, n * 8, back, n, 8, &e) == VG_OK);
        bad += memcmp(back, vals, n * 8) != 0 || back[n * 8] != 0xa5;
    }
    CHECK_INT(bad, 0);
}

static void test_codecs(void)
{
    char src[5000];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)("sensor temp=21.5 "[i % 17] + (i % 1000 == 0));
    static const int thrift[] = {PQ_CODEC_ZSTD, PQ_CODEC_SNAPPY, PQ_CODEC_LZ4_RAW, PQ_CODEC_GZIP,
                                 PQ_CODEC_UNCOMPRESSED};
    for (parquet_codec c = PARQUET_ZSTD; c <= PARQUET_UNCOMPRESSED; c++) {
        for (size_t n = 0; n <= sizeof src; n += sizeof src) {
            vg_buf b;
            vg_buf_init(&b);
            vg_err e = {0};
            char out[5001];
            CHECK(pq_compress(c, 0, src, n, &b, &e) == VG_OK);
            CHECK_INT(pq_codec_to_thrift(c), thrift[c]);
            CHECK(pq_decompress(thrift[c], (const uint8_t *)b.data, b.len, (uint8_t *)out, n, &e) ==
                  VG_OK);
            CHECK(memcmp(out, src, n) == 0);
            /* a size other than the header's is corruption */
            if (n)
                CHECK(pq_decompress(thrift[c], (const uint8_t *)b.data, b.len, (uint8_t *)out,
                                    n - 1, &e) == VG_ECORRUPT);
            if (n && b.len > 8) { /* damaged data */
                b.data[b.len / 2] ^= 0x55;
                b.data[3] ^= 0x33;
                int rc =
                    pq_decompress(thrift[c], (const uint8_t *)b.data, b.len, (uint8_t *)out, n, &e);
                CHECK(rc == VG_ECORRUPT || (rc == VG_OK && c == PARQUET_UNCOMPRESSED) ||
                      rc == VG_OK);
            }
            vg_buf_free(&b);
        }
    }
    vg_err e = {0};
    uint8_t x[4];
    CHECK(pq_decompress(PQ_CODEC_BROTLI, x, 1, x, 1, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "compression BROTLI is not supported");
}

/* ------------------------------------------------------------------------ */
/* Writer and reader                                                        */
/* ------------------------------------------------------------------------ */

#define NCOLS 8

/* A generated table in the writer's input form. */
typedef struct gen {
    uint32_t n;
    parquet_column_def defs[NCOLS];
    parquet_column_data data[NCOLS];
    uint8_t valid[NCOLS][4096];
    int64_t i64[NCOLS][32768];
    uint8_t b[32768];
    vg_str s[NCOLS][32768];
} gen;

static gen G;

static const char *const WORDS[] = {"", "alpha", "beta", "Zürich", "東京", "a\0b", "zz", "a"};

/* Columns: time, tag, temp, count, ucount, ok, note, flag-per-option. */
static void make_gen(uint32_t n, int null_pct, parquet_encoding str_enc, parquet_encoding int_enc,
                     parquet_encoding dbl_enc, parquet_encoding bool_enc)
{
    memset(&G, 0, sizeof G);
    G.n = n;
    static const char *names[] = {"time", "tag", "temp", "count", "ucount", "ok", "note", "big"};
    static const parquet_type types[] = {PARQUET_TIMESTAMP, PARQUET_STRING, PARQUET_DOUBLE,
                                         PARQUET_INT64,     PARQUET_UINT64, PARQUET_BOOL,
                                         PARQUET_STRING,    PARQUET_INT64};
    for (int c = 0; c < NCOLS; c++) {
        parquet_encoding enc = types[c] == PARQUET_STRING   ? str_enc
                               : types[c] == PARQUET_DOUBLE ? dbl_enc
                               : types[c] == PARQUET_BOOL   ? bool_enc
                                                            : int_enc;
        G.defs[c] = (parquet_column_def){names[c], types[c], c > 0, c == 1, enc};
        G.data[c] = (parquet_column_data){.valid = c > 0 ? G.valid[c] : NULL,
                                          .i64 = G.i64[c],
                                          .u64 = (uint64_t *)G.i64[c],
                                          .f64 = (double *)G.i64[c],
                                          .b = G.b,
                                          .strs = G.s[c]};
    }
    for (uint32_t r = 0; r < n; r++) {
        for (int c = 1; c < NCOLS; c++)
            if ((int)(rnd() % 100) >= null_pct)
                G.valid[c][r >> 3] |= (uint8_t)(1u << (r & 7));
        G.i64[0][r] = 1767225600000000000LL + (int64_t)r * 1000000000LL - (int64_t)(rnd() % 7);
        G.s[1][r] = (vg_str){WORDS[r % 5], strlen(WORDS[r % 5])};
        double d = (double)(int64_t)(rnd() % 100000) / 100.0 - 300;
        memcpy(&G.i64[2][r], &d, 8);
        G.i64[3][r] = (int64_t)(rnd() % 2001) - 1000;
        G.i64[4][r] = (int64_t)(r % 3 == 0 ? ~0ull - r : r);
        G.b[r] = (uint8_t)(rnd() & 1);
        int w = (int)(rnd() % 8);
        G.s[6][r] = (vg_str){WORDS[w], w == 5 ? 3 : strlen(WORDS[w])};
        G.i64[7][r] = r % 2 ? INT64_MIN + (int64_t)r : INT64_MAX - (int64_t)r;
    }
}

static bool is_valid(const uint8_t *valid, uint32_t r)
{
    return !valid || (valid[r >> 3] >> (r & 7)) & 1;
}

/* Reads every row group back and compares with G. */
static void check_file(const void *data, size_t len, uint32_t expect_groups)
{
    parquet_file *f;
    vg_err e = {0};
    int rc = parquet_open_mem(&f, data, len, NULL, &e);
    CHECK(rc == VG_OK);
    if (rc != VG_OK) {
        printf("  %s\n", e.msg);
        return;
    }
    const parquet_meta *m = parquet_file_meta(f);
    CHECK_INT(m->ncols, NCOLS);
    CHECK_INT(m->num_rows, G.n);
    if (expect_groups)
        CHECK_INT(m->nrow_groups, expect_groups);
    CHECK_STR(m->created_by, PARQUET_CREATED_BY);
    CHECK(m->cols[1].tag && !m->cols[2].tag);
    CHECK(!m->cols[0].nullable && m->cols[3].nullable);
    uint32_t row = 0;
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        vg_arena a;
        vg_arena_init(&a, 0);
        uint32_t n = (uint32_t)m->row_groups[g].num_rows;
        for (uint32_t c = 0; c < NCOLS; c++) {
            parquet_column_out o;
            rc = parquet_read_column(f, g, c, &a, &o, &e);
            CHECK(rc == VG_OK);
            if (rc != VG_OK) {
                printf("  %s\n", e.msg);
                continue;
            }
            CHECK_INT(o.nrows, n);
            CHECK_INT(o.type, G.defs[c].type);
            uint32_t nulls = 0;
            for (uint32_t r = 0; r < n; r++) {
                bool want = is_valid(G.data[c].valid, row + r);
                bool got = is_valid(o.valid, r);
                CHECK(want == got);
                nulls += !want;
                if (!want || !got)
                    continue;
                switch (G.defs[c].type) {
                case PARQUET_STRING: {
                    vg_str s = G.s[c][row + r];
                    CHECK(o.v.s[r].len == s.len && memcmp(o.v.s[r].ptr, s.ptr, s.len) == 0);
                    if (o.ids)
                        CHECK(o.dict[o.ids[r]].ptr == o.v.s[r].ptr);
                    break;
                }
                case PARQUET_BOOL: CHECK_INT(o.v.b[r], G.b[row + r]); break;
                default: CHECK(o.v.i64[r] == G.i64[c][row + r]);
                }
            }
            CHECK_INT(o.null_count, nulls);
            CHECK((o.valid == NULL) == (nulls == 0));
        }
        row += n;
        vg_arena_free(&a);
    }
    CHECK_INT(row, G.n);
    parquet_close(f);
}

static void write_gen(vg_buf *out, const parquet_write_options *opt, uint32_t batch)
{
    parquet_schema s = {G.defs, NCOLS};
    parquet_writer *w;
    vg_err e = {0};
    CHECK(parquet_writer_open_buf(&w, out, &s, opt, &e) == VG_OK);
    for (uint32_t from = 0; from < G.n; from += batch) {
        uint32_t n = G.n - from < batch ? G.n - from : batch;
        parquet_column_data d[NCOLS];
        static uint8_t valid[NCOLS][4096];
        for (int c = 0; c < NCOLS; c++) {
            d[c] = G.data[c];
            d[c].i64 += from;
            d[c].u64 += from;
            d[c].f64 += from;
            d[c].b += from;
            d[c].strs += from;
            if (G.data[c].valid) {
                memset(valid[c], 0, sizeof valid[c]);
                for (uint32_t r = 0; r < n; r++)
                    if (is_valid(G.data[c].valid, from + r))
                        valid[c][r >> 3] |= (uint8_t)(1u << (r & 7));
                d[c].valid = valid[c];
            }
        }
        int rc = parquet_writer_write(w, d, n, &e);
        CHECK(rc == VG_OK);
        if (rc != VG_OK)
            printf("  %s\n", e.msg);
    }
    CHECK(parquet_writer_finish(w, &e) == VG_OK);
    CHECK_INT(parquet_writer_bytes(w), out->len);
    CHECK_INT(parquet_writer_rows(w), G.n);
    parquet_writer_free(w);
}

static void round_trip(uint32_t n, int null_pct, parquet_encoding str_enc, parquet_encoding int_enc,
                       parquet_encoding dbl_enc, parquet_encoding bool_enc,
                       const parquet_write_options *opt, uint32_t batch, uint32_t expect_groups)
{
    make_gen(n, null_pct, str_enc, int_enc, dbl_enc, bool_enc);
    vg_buf out;
    vg_buf_init(&out);
    write_gen(&out, opt, batch);
    check_file(out.data, out.len, expect_groups);
    vg_buf_free(&out);
}

static void test_round_trip_encodings(void)
{
    static const parquet_encoding strs[] = {PARQUET_ENC_AUTO, PARQUET_ENC_PLAIN, PARQUET_ENC_DICT,
                                            PARQUET_ENC_DELTA_LENGTH, PARQUET_ENC_DELTA_STRINGS};
    static const parquet_encoding ints[] = {PARQUET_ENC_AUTO, PARQUET_ENC_PLAIN, PARQUET_ENC_DELTA};
    static const parquet_encoding dbls[] = {PARQUET_ENC_AUTO, PARQUET_ENC_PLAIN,
                                            PARQUET_ENC_BYTE_STREAM_SPLIT};
    static const parquet_encoding bools[] = {PARQUET_ENC_PLAIN, PARQUET_ENC_RLE};
    for (int v2 = 0; v2 < 2; v2++)
        for (int i = 0; i < 5; i++) {
            parquet_write_options o = {.data_page_v2 = v2, .page_bytes = 2000};
            round_trip(3000, 20, strs[i], ints[i % 3], dbls[i % 3], bools[i % 2], &o, 1000, 1);
        }
}

static void test_round_trip_codecs(void)
{
    for (parquet_codec c = PARQUET_ZSTD; c <= PARQUET_UNCOMPRESSED; c++) {
        parquet_write_options o = {.codec = c};
        round_trip(2000, 10, 0, 0, 0, 0, &o, 2000, 1);
        o.data_page_v2 = true;
        round_trip(2000, 10, 0, 0, 0, 0, &o, 2000, 1);
    }
}

static void test_round_trip_edges(void)
{
    parquet_write_options o = {0};
    round_trip(1, 0, 0, 0, 0, 0, &o, 1, 1);        /* one row */
    round_trip(1, 100, 0, 0, 0, 0, &o, 1, 1);      /* one null row */
    round_trip(0, 0, 0, 0, 0, 0, &o, 1, 0);        /* no rows, no row groups */
    round_trip(2000, 100, 0, 0, 0, 0, &o, 700, 1); /* every value null */
    round_trip(2000, 100, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN, PARQUET_ENC_PLAIN,
               PARQUET_ENC_PLAIN, &o, 2000, 1);
    round_trip(2000, 0, 0, 0, 0, 0, &o, 2000, 1); /* no nulls: valid is NULL */
    parquet_write_options groups = {.row_group_rows = 7, .page_bytes = 50};
    round_trip(1000, 30, 0, 0, 0, 0, &groups, 13, 143);    /* many row groups and pages */
    parquet_write_options small_dict = {.dict_bytes = 10}; /* dictionary falls back */
    round_trip(3000, 10, 0, 0, 0, 0, &small_dict, 500, 1);
    parquet_write_options v2 = {.data_page_v2 = true, .row_group_rows = 1000};
    round_trip(32768, 5, 0, 0, 0, 0, &v2, 32768, 33);
}

/* A helper thread sharing the columns writes the very same bytes: over several
 * shapes (pages and row groups cut mid-batch, a dictionary that overflows, v2
 * pages), and with strings given as ids + dictionary in two columns at once (each
 * thread remaps its own). */
static void write_to_mem(const parquet_schema *sc, const parquet_write_options *wo,
                         const parquet_column_data *data, uint32_t nrows, vg_buf *out);

static void fill_from_gen(void *ctx, uint32_t col, parquet_column_data *out)
{
    (void)ctx;
    *out = G.data[col];
}

static void fill_with_null(void *ctx, uint32_t col, parquet_column_data *out)
{
    (void)ctx;
    (void)col;
    static const int64_t v[3] = {1, 2, 3};
    static const uint8_t valid[1] = {0x05}; /* row 1 null */
    out->i64 = v;
    out->valid = valid;
}

static void test_threaded_writer_same_bytes(void)
{
    parquet_write_options opts[] = {{.page_bytes = 2000},
                                    {.row_group_rows = 7, .page_bytes = 50},
                                    {.dict_bytes = 10},
                                    {.data_page_v2 = true, .row_group_rows = 1000}};
    static const uint32_t batches[] = {1000, 13, 500, 4096};
    for (int i = 0; i < 4; i++) {
        make_gen(3000, 20, 0, 0, 0, 0);
        vg_buf one, two;
        vg_buf_init(&one);
        vg_buf_init(&two);
        write_gen(&one, &opts[i], batches[i]);
        opts[i].threads = 2;
        write_gen(&two, &opts[i], batches[i]);
        CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
        check_file(two.data, two.len, 0);
        vg_buf_free(&one);
        vg_buf_free(&two);
    }

    /* parquet_writer_write_filled: the same bytes again, columns gathered on demand
     * by whichever thread writes them; a filled column that breaks the schema is
     * refused with the writer's message and nothing written */
    make_gen(3000, 20, 0, 0, 0, 0);
    vg_buf whole;
    vg_buf_init(&whole);
    write_gen(&whole, &opts[0], 3000);
    for (uint32_t threads = 0; threads <= 2; threads += 2) {
        vg_buf two;
        vg_buf_init(&two);
        parquet_schema gs = {G.defs, NCOLS};
        parquet_write_options o = opts[0];
        o.threads = threads;
        parquet_writer *w;
        vg_err e = {0};
        CHECK(parquet_writer_open_buf(&w, &two, &gs, &o, &e) == VG_OK);
        CHECK(parquet_writer_write_filled(w, 3000, fill_from_gen, NULL, &e) == VG_OK);
        CHECK(parquet_writer_finish(w, &e) == VG_OK);
        parquet_writer_free(w);
        CHECK(whole.len == two.len && memcmp(whole.data, two.data, whole.len) == 0);
        vg_buf_free(&two);
    }
    vg_buf_free(&whole);
    {
        parquet_column_def req = {"r", PARQUET_INT64, false, false, PARQUET_ENC_AUTO};
        parquet_schema rs = {&req, 1};
        parquet_write_options o = {.threads = 2};
        vg_buf out;
        vg_buf_init(&out);
        parquet_writer *w;
        vg_err e = {0};
        CHECK(parquet_writer_open_buf(&w, &out, &rs, &o, &e) == VG_OK);
        CHECK(parquet_writer_write_filled(w, 3, fill_with_null, NULL, &e) == VG_EINVAL);
        CHECK_STR(e.msg, "parquet: column 'r' is REQUIRED but row 1 is null");
        CHECK_INT(parquet_writer_rows(w), 0);
        parquet_writer_free(w);
        vg_buf_free(&out);
    }

    enum { N = 5000, NDICT = 300 };
    static vg_str dict[NDICT];
    static char names[NDICT][16];
    static uint32_t ids_a[N], ids_b[N];
    for (int k = 0; k < NDICT; k++) {
        snprintf(names[k], sizeof names[k], "d%03d", k);
        dict[k] = (vg_str){names[k], 4};
    }
    for (int r = 0; r < N; r++) {
        ids_a[r] = (uint32_t)(r * 7) % NDICT;
        ids_b[r] = (uint32_t)(r * 13 + 5) % NDICT;
    }
    parquet_column_def defs[] = {{"a", PARQUET_STRING, false, true, PARQUET_ENC_AUTO},
                                 {"b", PARQUET_STRING, false, true, PARQUET_ENC_AUTO}};
    parquet_schema sc = {defs, 2};
    parquet_column_data data[] = {{.ids = ids_a, .dict = dict, .ndict = NDICT},
                                  {.ids = ids_b, .dict = dict, .ndict = NDICT}};
    parquet_write_options o = {.row_group_rows = 1024, .page_bytes = 256};
    vg_buf one, two;
    write_to_mem(&sc, &o, data, N, &one);
    o.threads = 2;
    write_to_mem(&sc, &o, data, N, &two);
    CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
    vg_buf_free(&one);
    vg_buf_free(&two);
}

/* Empty strings only, in each string encoding. */
static void test_empty_strings(void)
{
    static const parquet_encoding encs[] = {PARQUET_ENC_DICT, PARQUET_ENC_PLAIN,
                                            PARQUET_ENC_DELTA_LENGTH, PARQUET_ENC_DELTA_STRINGS};
    for (int i = 0; i < 4; i++) {
        make_gen(500, 10, encs[i], 0, 0, 0);
        for (uint32_t r = 0; r < 500; r++)
            G.s[1][r] = G.s[6][r] = (vg_str){"", 0};
        vg_buf out;
        vg_buf_init(&out);
        write_gen(&out, NULL, 500);
        check_file(out.data, out.len, 1);
        vg_buf_free(&out);
    }
}

/* Strings given as offsets + bytes and as ids + dictionary. */
static void test_string_inputs(void)
{
    parquet_column_def def = {"s", PARQUET_STRING, true, true, PARQUET_ENC_AUTO};
    parquet_schema s = {&def, 1};
    static const uint32_t offsets[] = {0, 1, 3, 3, 6};
    static const uint8_t valid[] = {0x0b}; /* row 2 null */
    static const vg_str dict[] = {{"xyz", 3}, {"a", 1}, {"bc", 2}, {"unused", 6}};
    static const uint32_t ids[] = {1, 2, 3, 0};
    vg_buf out;
    vg_buf_init(&out);
    parquet_writer *w;
    vg_err e = {0};
    CHECK(parquet_writer_open_buf(&w, &out, &s, NULL, &e) == VG_OK);
    parquet_column_data d1 = {.valid = valid, .offsets = offsets, .bytes = "abcxyz"};
    parquet_column_data d2 = {.valid = valid, .ids = ids, .dict = dict, .ndict = 4};
    CHECK(parquet_writer_write(w, &d1, 4, &e) == VG_OK);
    CHECK(parquet_writer_write(w, &d2, 4, &e) == VG_OK);
    CHECK(parquet_writer_finish(w, &e) == VG_OK);
    parquet_stats st;
    parquet_writer_stats(w, 0, &st);
    CHECK(st.has_min_max && st.null_count == 2);
    CHECK_MEM(st.min.s.ptr, st.min.s.len, "a");
    CHECK_MEM(st.max.s.ptr, st.max.s.len, "xyz");
    parquet_writer_free(w);

    parquet_file *f;
    CHECK(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    vg_arena a;
    vg_arena_init(&a, 0);
    parquet_column_out o;
    CHECK(parquet_read_column(f, 0, 0, &a, &o, &e) == VG_OK);
    static const char *want[] = {"a", "bc", NULL, "xyz", "a", "bc", NULL, "xyz"};
    for (int r = 0; r < 8; r++) {
        CHECK(is_valid(o.valid, (uint32_t)r) == (want[r] != NULL));
        if (want[r])
            CHECK_MEM(o.v.s[r].ptr, o.v.s[r].len, want[r]);
    }
    /* dictionary form: three distinct values, ids into them */
    CHECK(o.ids != NULL && o.ndict == 3);
    CHECK(o.ids[0] == o.ids[4] && o.ids[3] == o.ids[7] && o.ids[2] == 0);
    const parquet_chunk_info *ci = &parquet_file_meta(f)->row_groups[0].chunks[0];
    CHECK(ci->encodings & (1u << PQ_ENC_RLE_DICTIONARY));
    CHECK_INT(ci->codec, PARQUET_ZSTD);
    vg_arena_free(&a);
    parquet_close(f);
    vg_buf_free(&out);
}

/* Writes n doubles (every 5th null) in one chunk and reads them back exactly;
 * returns the chunk's encoding bits. */
static uint32_t doubles_round_trip(const double *v, uint32_t n, uint32_t dict_bytes)
{
    parquet_column_def def = {"d", PARQUET_DOUBLE, true, false, PARQUET_ENC_AUTO};
    parquet_schema s = {&def, 1};
    uint8_t *valid = calloc((n + 7) / 8, 1);
    for (uint32_t r = 0; r < n; r++)
        if (r % 5 != 4)
            valid[r >> 3] |= (uint8_t)(1u << (r & 7));
    vg_buf out;
    vg_buf_init(&out);
    parquet_writer *w;
    vg_err e = {0};
    parquet_write_options opt = {.dict_bytes = dict_bytes, .page_bytes = 4096};
    CHECK(parquet_writer_open_buf(&w, &out, &s, &opt, &e) == VG_OK);
    parquet_column_data d = {.valid = valid, .f64 = v};
    CHECK(parquet_writer_write(w, &d, n, &e) == VG_OK);
    CHECK(parquet_writer_finish(w, &e) == VG_OK);
    parquet_writer_free(w);
    parquet_file *f;
    CHECK(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    vg_arena a;
    vg_arena_init(&a, 0);
    parquet_column_out o;
    CHECK(parquet_read_column(f, 0, 0, &a, &o, &e) == VG_OK);
    CHECK_INT(o.nrows, n);
    for (uint32_t r = 0; r < n; r++) {
        CHECK(is_valid(o.valid, r) == (r % 5 != 4));
        if (r % 5 != 4)
            CHECK(memcmp(&o.v.f64[r], &v[r], 8) == 0);
    }
    uint32_t enc = parquet_file_meta(f)->row_groups[0].chunks[0].encodings;
    vg_arena_free(&a);
    parquet_close(f);
    vg_buf_free(&out);
    free(valid);
    return enc;
}

/* AUTO doubles: a dictionary when values repeat, byte-stream split when they do not
 * (decided per chunk), and a dictionary that fills up mid-chunk hands over to
 * byte-stream split with every value intact. */
static void test_double_dictionary(void)
{
    enum { N = 20000 };
    double *v = malloc(N * sizeof *v);
    for (uint32_t r = 0; r < N; r++) /* 37 distinct values, -0.0 and NaN among them */
        v[r] = r % 37 == 0 ? -0.0 : r % 37 == 1 ? 0.0 : r % 37 == 2 ? NAN : (double)(r % 37) / 8;
    uint32_t enc = doubles_round_trip(v, N, 0);
    CHECK(enc & (1u << PQ_ENC_RLE_DICTIONARY));
    CHECK(!(enc & (1u << PQ_ENC_BYTE_STREAM_SPLIT)));
    for (uint32_t r = 0; r < N; r++) /* all distinct */
        v[r] = r * 1.0001 + 0.5;
    enc = doubles_round_trip(v, N, 0);
    CHECK(enc & (1u << PQ_ENC_BYTE_STREAM_SPLIT));
    CHECK(!(enc & (1u << PQ_ENC_RLE_DICTIONARY)));
    for (uint32_t r = 0; r < N; r++) /* repeats first, then new values past a tiny dict */
        v[r] = r < N / 2 ? (double)(r % 3) : r * 3.25;
    enc = doubles_round_trip(v, N, 64);
    CHECK(enc & (1u << PQ_ENC_RLE_DICTIONARY));
    CHECK(enc & (1u << PQ_ENC_BYTE_STREAM_SPLIT));
    free(v);
}

/* Writes nrows rows of data as one Parquet file into *out (initialized here). */
static void write_to_mem(const parquet_schema *sc, const parquet_write_options *wo,
                         const parquet_column_data *data, uint32_t nrows, vg_buf *out)
{
    vg_buf_init(out);
    parquet_writer *w;
    vg_err e = {0};
    CHECK(parquet_writer_open_buf(&w, out, sc, wo, &e) == VG_OK);
    CHECK(parquet_writer_write(w, data, nrows, &e) == VG_OK);
    CHECK(parquet_writer_finish(w, &e) == VG_OK);
    parquet_writer_free(w);
}

static void test_statistics(void)
{
    parquet_column_def defs[] = {
        {"i", PARQUET_INT64, true, false, 0},   {"u", PARQUET_UINT64, true, false, 0},
        {"d", PARQUET_DOUBLE, true, false, 0},  {"s", PARQUET_STRING, true, false, 0},
        {"b", PARQUET_BOOL, true, false, 0},    {"n", PARQUET_DOUBLE, true, false, 0},
        {"z", PARQUET_DOUBLE, false, false, 0}, {"t", PARQUET_TIMESTAMP, false, false, 0},
    };
    int64_t i[5] = {-5, 7, INT64_MIN, 3, 99};
    uint64_t u[5] = {5, 1ull << 63, ~0ull, 0, 9}; /* unsigned order: 0 .. 2^64-1 */
    double d[5] = {NAN, -1.5, 2.5, INFINITY, 0.5};
    vg_str s[5] = {{"a", 1}, {"Z", 1}, {"é", 2}, {"ab", 2}, {"", 0}}; /* byte order */
    uint8_t b[5] = {1, 1, 1, 1, 1};
    double nan5[5] = {NAN, NAN, NAN, NAN, NAN};
    double z[5] = {0.0, -0.0, 0.0, 0.0, -0.0};
    int64_t t[5] = {5, 4, 3, 2, 1};
    uint8_t valid[1] = {0x1e}; /* row 0 null */
    parquet_column_data data[] = {{.valid = valid, .i64 = i},
                                  {.valid = valid, .u64 = u},
                                  {.f64 = d},
                                  {.valid = valid, .strs = s},
                                  {.valid = valid, .b = b},
                                  {.f64 = nan5},
                                  {.f64 = z},
                                  {.i64 = t}};
    parquet_schema sc = {defs, 8};
    vg_buf out;
    vg_err e = {0};
    write_to_mem(&sc, NULL, data, 5, &out);
    parquet_file *f;
    CHECK(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    const parquet_chunk_info *ch = parquet_file_meta(f)->row_groups[0].chunks;
    CHECK(ch[0].stats.has_min_max && ch[0].stats.min.i64 == INT64_MIN &&
          ch[0].stats.max.i64 == 99 && ch[0].stats.null_count == 1);
    CHECK(ch[1].stats.min.u64 == 0 && ch[1].stats.max.u64 == ~0ull);
    CHECK(ch[2].stats.min.f64 == -1.5 && isinf(ch[2].stats.max.f64) && ch[2].stats.null_count == 0);
    CHECK_MEM(ch[3].stats.min.s.ptr, ch[3].stats.min.s.len, "");
    CHECK_MEM(ch[3].stats.max.s.ptr, ch[3].stats.max.s.len, "é");
    CHECK(ch[4].stats.min.b == true && ch[4].stats.max.b == true);
    CHECK(!ch[5].stats.has_min_max && ch[5].stats.has_null_count);        /* only NaN: no bounds */
    CHECK(signbit(ch[6].stats.min.f64) && !signbit(ch[6].stats.max.f64)); /* -0.0, +0.0 */
    CHECK(ch[7].stats.min.i64 == 1 && ch[7].stats.max.i64 == 5);
    parquet_close(f);
    vg_buf_free(&out);
}

/* parquet_read_column_into: fixed-width values and validity land in the caller's
 * memory (a column without nulls, whose levels are one run of ones, and one with
 * nulls); strings and a dst of the wrong row count fall back to the arena, with the
 * same values either way. */
static void test_read_into_caller_memory(void)
{
    enum { N = 1000 };
    parquet_column_def defs[] = {{"full", PARQUET_DOUBLE, true, false, 0},
                                 {"holes", PARQUET_INT64, true, false, 0},
                                 {"s", PARQUET_STRING, true, false, 0}};
    static double fv[N];
    static int64_t iv[N];
    static vg_str sv[N];
    static uint8_t hv[(N + 7) / 8];
    for (uint32_t r = 0; r < N; r++) {
        fv[r] = r * 0.5;
        iv[r] = (int64_t)r * 3 - 7;
        sv[r] = (vg_str){r % 2 ? "odd" : "even", r % 2 ? 3u : 4u};
        if (r % 5)
            hv[r >> 3] |= (uint8_t)(1u << (r & 7)); /* every fifth row null */
    }
    parquet_column_data data[] = {{.f64 = fv}, {.valid = hv, .i64 = iv}, {.strs = sv}};
    parquet_schema sc = {defs, 3};
    vg_buf out;
    vg_err e = {0};
    write_to_mem(&sc, NULL, data, N, &out);
    parquet_file *f;
    CHECK(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    vg_arena a;
    vg_arena_init(&a, 4096);
    static double fdst[N];
    static int64_t idst[N];
    static uint8_t vdst[(N + 7) / 8];
    parquet_column_out o;

    parquet_dest d0 = {fdst, vdst, N, NULL};
    CHECK(parquet_read_column_into(f, 0, 0, &a, &d0, &o, &e) == VG_OK);
    CHECK(o.v.f64 == fdst);
    CHECK(o.valid == NULL && o.null_count == 0);
    CHECK(fdst[0] == 0.0 && fdst[999] == 499.5);

    memset(vdst, 0, sizeof vdst);
    parquet_dest d1 = {idst, vdst, N, NULL};
    CHECK(parquet_read_column_into(f, 0, 1, &a, &d1, &o, &e) == VG_OK);
    CHECK(o.v.i64 == idst && o.valid == vdst);
    CHECK_INT(o.null_count, N / 5);
    uint32_t bad = 0;
    for (uint32_t r = 0; r < N; r++) {
        bool valid = (vdst[r >> 3] >> (r & 7)) & 1;
        bad += valid != (r % 5 != 0) || (valid && idst[r] != (int64_t)r * 3 - 7);
    }
    CHECK_INT(bad, 0);

    parquet_dest wrong = {idst, vdst, N - 1, NULL}; /* not the row group's size: arena */
    CHECK(parquet_read_column_into(f, 0, 1, &a, &wrong, &o, &e) == VG_OK);
    CHECK(o.v.i64 != idst && o.v.i64[3] == 2);

    CHECK(parquet_read_column_into(f, 0, 2, &a, &d1, &o, &e) == VG_OK); /* strings */
    CHECK((void *)o.v.s != (void *)idst);
    CHECK_MEM(o.v.s[7].ptr, o.v.s[7].len, "odd");
    vg_arena_free(&a);
    parquet_close(f);
    vg_buf_free(&out);
}

/* parquet_dest.ids: a STRING column read for its ids. "few" stays dictionary-encoded
 * over many pages (ids land in the caller's array, no strings are made, null rows have
 * id 0); "many" outgrows a small dictionary, so its first pages are dictionary-encoded
 * and the rest PLAIN: it comes back as strings, the early rows' made from their ids.
 * Both must equal what parquet_read_column gives, row for row. */
static void test_read_ids_only(void)
{
    enum { N = 6000 };
    parquet_column_def defs[] = {{"few", PARQUET_STRING, true, false, 0},
                                 {"many", PARQUET_STRING, true, false, 0}};
    static vg_str few[N], many[N];
    static char mbuf[N][16];
    static uint8_t hv[(N + 7) / 8];
    static const char *names[] = {"alpha", "beta", "gamma", "delta", "epsilon"};
    for (uint32_t r = 0; r < N; r++) {
        const char *nm = names[(r / 700) % 5]; /* long runs, as sorted tags */
        few[r] = (vg_str){nm, strlen(nm)};
        int len = snprintf(mbuf[r], sizeof mbuf[r], "m%u", r / 3);
        many[r] = (vg_str){mbuf[r], (size_t)len};
        if (r % 7)
            hv[r >> 3] |= (uint8_t)(1u << (r & 7)); /* every seventh row null */
    }
    parquet_column_data data[] = {{.valid = hv, .strs = few}, {.valid = hv, .strs = many}};
    parquet_schema sc = {defs, 2};
    parquet_write_options wo = {.page_bytes = 512, .dict_bytes = 2048};
    vg_buf out;
    vg_err e = {0};
    write_to_mem(&sc, &wo, data, N, &out);
    parquet_file *f;
    CHECK(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    const parquet_chunk_info *ch = parquet_file_meta(f)->row_groups[0].chunks;
    CHECK(ch[1].encodings & (1u << PQ_ENC_RLE_DICTIONARY)); /* dictionary pages first ... */
    CHECK(ch[1].encodings & (1u << PQ_ENC_PLAIN));          /* ... then PLAIN ones */
    vg_arena a;
    vg_arena_init(&a, 4096);
    static uint32_t ids[N];
    parquet_dest d = {.rows = N, .ids = ids};
    parquet_column_out o, ref;

    memset(ids, 0xee, sizeof ids);
    CHECK(parquet_read_column_into(f, 0, 0, &a, &d, &o, &e) == VG_OK);
    CHECK(parquet_read_column(f, 0, 0, &a, &ref, &e) == VG_OK);
    CHECK(o.ids == ids && o.v.s == NULL && o.ndict == 5);
    CHECK_INT(o.null_count, ref.null_count);
    uint32_t bad = 0;
    for (uint32_t r = 0; r < N; r++) {
        bool valid = (o.valid[r >> 3] >> (r & 7)) & 1;
        vg_str got = o.dict[ids[r]];
        bad += valid != (r % 7 != 0) || (!valid && ids[r] != 0) ||
               (valid && (got.len != ref.v.s[r].len || memcmp(got.ptr, ref.v.s[r].ptr, got.len)));
    }
    CHECK_INT(bad, 0);

    CHECK(parquet_read_column_into(f, 0, 1, &a, &d, &o, &e) == VG_OK);
    CHECK(parquet_read_column(f, 0, 1, &a, &ref, &e) == VG_OK);
    CHECK(o.ids == NULL && o.v.s != NULL);
    bad = 0;
    for (uint32_t r = 0; r < N; r++) {
        bool valid = (o.valid[r >> 3] >> (r & 7)) & 1;
        bad += valid != (r % 7 != 0) || o.v.s[r].len != ref.v.s[r].len ||
               memcmp(o.v.s[r].ptr, ref.v.s[r].ptr, o.v.s[r].len) ||
               (valid &&
                (o.v.s[r].len != many[r].len || memcmp(o.v.s[r].ptr, many[r].ptr, many[r].len)));
    }
    CHECK_INT(bad, 0);

    parquet_dest wrong = {.rows = N - 1, .ids = ids}; /* not the row group's size */
    CHECK(parquet_read_column_into(f, 0, 0, &a, &wrong, &o, &e) == VG_OK);
    CHECK(o.ids != ids && o.v.s != NULL && o.v.s[1].len == 5);
    vg_arena_free(&a);
    parquet_close(f);
    vg_buf_free(&out);
}

/* Dictionary ids at or past the dictionary's size are corruption, wherever they are
 * (read for ids only, parquet_dest.ids): in the part checked four at a time and in
 * the tail. 42 rows cycle through 5 strings
 * (ids of 3 bits, bit-packed in groups of 8, 3 bytes each, the last group at the end
 * of the page): a group's first byte set to 0xff makes its first two ids 7. */
static void test_dictionary_id_out_of_range(void)
{
    enum { N = 42 };
    parquet_column_def defs[] = {{"s", PARQUET_STRING, false, false, PARQUET_ENC_DICT}};
    static const char *names[] = {"a", "b", "c", "d", "e"};
    vg_str sv[N];
    for (uint32_t r = 0; r < N; r++)
        sv[r] = (vg_str){names[r % 5], 1};
    parquet_column_data data[] = {{.strs = sv}};
    parquet_schema sc = {defs, 1};
    parquet_write_options wo = {.codec = PARQUET_UNCOMPRESSED};
    parquet_read_options ro = {.no_crc_check = true};
    static const struct {
        size_t back;   /* bytes before the end of the column chunk */
        uint32_t from; /* the first id made 7 */
    } at[] = {{3, 40}, {9, 24}, {0, 0}};
    for (int t = 0; t < 3; t++) {
        vg_buf out;
        vg_err e = {0};
        write_to_mem(&sc, &wo, data, N, &out);
        parquet_file *f;
        CHECK(parquet_open_mem(&f, out.data, out.len, &ro, &e) == VG_OK);
        const parquet_chunk_info *ci = &parquet_file_meta(f)->row_groups[0].chunks[0];
        if (at[t].back) /* the file is in memory: the footer was read already */
            out.data[ci->offset + ci->compressed_bytes - at[t].back] = (char)0xff;
        vg_arena a;
        vg_arena_init(&a, 4096);
        parquet_column_out o;
        uint32_t ids[N];
        parquet_dest d = {.rows = N, .ids = ids}; /* ids only: no gather checks them */
        int rc = parquet_read_column_into(f, 0, 0, &a, &d, &o, &e);
        if (at[t].back) {
            char want[96];
            snprintf(want, sizeof want, "dictionary id 7 of value %u is not below", at[t].from);
            CHECK(rc == VG_ECORRUPT && strstr(e.msg, want) != NULL);
        } else {
            CHECK(rc == VG_OK && o.ids == ids && ids[41] == 1 && ids[24] == 4);
        }
        vg_arena_free(&a);
        parquet_close(f);
        vg_buf_free(&out);
    }
}

static void test_file_descriptor(void)
{
    char path[] = "/tmp/vigil-test-parquet-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    make_gen(5000, 15, 0, 0, 0, 0);
    parquet_schema s = {G.defs, NCOLS};
    parquet_write_options o = {.row_group_rows = 2000};
    parquet_writer *w;
    vg_err e = {0};
    CHECK(parquet_writer_open_fd(&w, fd, &s, &o, &e) == VG_OK);
    CHECK(parquet_writer_write(w, G.data, 5000, &e) == VG_OK);
    CHECK(parquet_writer_finish(w, &e) == VG_OK);
    /* whole-file statistics for the catalog */
    parquet_stats st;
    parquet_writer_stats(w, 0, &st);
    CHECK(st.has_min_max && st.null_count == 0);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int r = 0; r < 5000; r++) {
        lo = G.i64[0][r] < lo ? G.i64[0][r] : lo;
        hi = G.i64[0][r] > hi ? G.i64[0][r] : hi;
    }
    CHECK(st.min.i64 == lo && st.max.i64 == hi);
    parquet_writer_free(w);

    parquet_file *f;
    CHECK(parquet_open_fd(&f, fd, NULL, &e) == VG_OK);
    const parquet_meta *m = parquet_file_meta(f);
    CHECK_INT(m->nrow_groups, 3);
    CHECK_INT(parquet_find_column(f, "ucount"), 4);
    CHECK_INT(parquet_find_column(f, "nope"), -1);
    vg_arena a;
    vg_arena_init(&a, 0);
    parquet_column_out out;
    CHECK(parquet_read_column(f, 2, 6, &a, &out, &e) == VG_OK);
    CHECK_INT(out.nrows, 1000);
    for (uint32_t r = 0; r < 1000; r++)
        if (is_valid(out.valid, r))
            CHECK(out.v.s[r].len == G.s[6][4000 + r].len &&
                  memcmp(out.v.s[r].ptr, G.s[6][4000 + r].ptr, out.v.s[r].len) == 0);
    CHECK(parquet_read_column(f, 3, 0, &a, &out, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: no column 0 in row group 3 (the file has 8 columns, 3 row groups)");
    vg_arena_free(&a);
    parquet_close(f);
    close(fd);
    unlink(path);
}

static void test_writer_errors(void)
{
    vg_buf out;
    vg_buf_init(&out);
    parquet_writer *w;
    vg_err e = {0};
    parquet_column_def dup[] = {{"a", PARQUET_INT64, false, false, 0},
                                {"a", PARQUET_INT64, false, false, 0}};
    parquet_schema s = {dup, 2};
    CHECK(parquet_writer_open_buf(&w, &out, &s, NULL, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'a' appears twice");
    parquet_column_def bad = {"x", PARQUET_BOOL, false, false, PARQUET_ENC_DELTA};
    s = (parquet_schema){&bad, 1};
    CHECK(parquet_writer_open_buf(&w, &out, &s, NULL, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'x': encoding 3 does not fit type bool");
    parquet_column_def req = {"r", PARQUET_STRING, false, false, 0};
    s = (parquet_schema){&req, 1};
    CHECK(parquet_writer_open_buf(&w, &out, &s, NULL, &e) == VG_OK);
    static const uint8_t valid[] = {0x05};
    vg_str strs[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
    parquet_column_data d = {.valid = valid, .strs = strs};
    CHECK(parquet_writer_write(w, &d, 3, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'r' is REQUIRED but row 1 is null");
    static const uint32_t ids[] = {0, 5};
    parquet_column_data d2 = {.ids = ids, .dict = strs, .ndict = 3};
    CHECK(parquet_writer_write(w, &d2, 2, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'r': row 1 has dictionary id 5 of 3");
    parquet_column_data d3 = {0};
    CHECK(parquet_writer_write(w, &d3, 2, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'r': no string values given");
    /* rejected batches leave no trace: the file has no rows */
    CHECK(parquet_writer_finish(w, &e) == VG_OK);
    CHECK_INT(parquet_writer_rows(w), 0);
    CHECK(parquet_writer_write(w, &d, 0, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: writer is finished");
    parquet_writer_free(w);
    parquet_file *f;
    CHECK(parquet_open_mem(&f, out.data, out.len, NULL, &e) == VG_OK);
    CHECK_INT(parquet_file_meta(f)->num_rows, 0);
    parquet_close(f);
    vg_buf_free(&out);
}

/* Allocation failures anywhere in writing and reading: an error, never a crash. */
static void test_out_of_memory(void)
{
    make_gen(300, 10, 0, 0, 0, 0);
    vg_buf file;
    vg_buf_init(&file);
    write_gen(&file, NULL, 300);
    for (long k = 1; k < 400; k++) {
        vg_buf out;
        vg_buf_init(&out);
        parquet_schema s = {G.defs, NCOLS};
        parquet_writer *w = NULL;
        vg_err e = {0};
        /* odd k: a helper thread shares the columns, and either thread may fail */
        parquet_write_options wo = {.threads = k % 2 ? 2 : 0};
        vg_mem_fail_after(k);
        int rc = parquet_writer_open_buf(&w, &out, &s, &wo, &e);
        if (rc == VG_OK) {
            rc = parquet_writer_write(w, G.data, 300, &e);
            if (rc == VG_OK)
                rc = parquet_writer_finish(w, &e);
            parquet_writer_free(w);
        }
        vg_mem_fail_after(0);
        CHECK(rc == VG_OK || rc == VG_ENOMEM);
        if (rc != VG_OK && rc != VG_ENOMEM)
            printf("  write, failure %ld: %s\n", k, e.msg);
        vg_buf_free(&out);

        parquet_file *f;
        vg_mem_fail_after(k);
        rc = parquet_open_mem(&f, file.data, file.len, NULL, &e);
        if (rc == VG_OK) {
            vg_arena a;
            vg_arena_init(&a, 0);
            parquet_column_out o;
            for (uint32_t c = 0; c < NCOLS && rc == VG_OK; c++)
                rc = parquet_read_column(f, 0, c, &a, &o, &e);
            vg_arena_free(&a);
            parquet_close(f);
        }
        vg_mem_fail_after(0);
        CHECK(rc == VG_OK || rc == VG_ENOMEM);
        if (rc != VG_OK && rc != VG_ENOMEM)
            printf("  read, failure %ld: %s\n", k, e.msg);
    }
    vg_buf_free(&file);
}

/* ------------------------------------------------------------------------ */
/* Foreign files: hand-built footers with the types other writers use       */
/* ------------------------------------------------------------------------ */

typedef struct leaf {
    const char *name;
    int physical;
    int repetition;
    int converted; /* -1: none */
    int logical;   /* LogicalType union id, 0: none */
    int unit;      /* TIMESTAMP/TIME unit, INTEGER bit width, DECIMAL scale */
    bool flag;     /* TIMESTAMP utc, INTEGER signed */
} leaf;

static void put_logical(tc_writer *w, const leaf *l)
{
    pq_tw_struct(w, 10);
    pq_tw_struct(w, (int16_t)l->logical);
    if (l->logical == 8 || l->logical == 7) {
        pq_tw_bool(w, 1, l->flag);
        pq_tw_struct(w, 2);
        pq_tw_struct(w, (int16_t)l->unit);
        pq_tw_end(w);
        pq_tw_end(w);
    } else if (l->logical == 10) {
        pq_tw_i8(w, 1, (int8_t)l->unit);
        pq_tw_bool(w, 2, l->flag);
    } else if (l->logical == 5) {
        pq_tw_i32(w, 1, l->unit);
        pq_tw_i32(w, 2, 9);
    }
    pq_tw_end(w);
    pq_tw_end(w);
}

/* A one-column, one-row-group file whose only data page (v1, uncompressed) holds
 * `page` as its body and `nvals` values; `nested` puts the leaf inside a group. */
static void build_file(vg_buf *out, const leaf *l, const void *page, size_t plen, int nvals,
                       int encoding, int def_encoding, bool nested)
{
    vg_buf_append(out, "PAR1", 4);
    pq_page_header h = {.type = PQ_PAGE_DATA,
                        .uncompressed_size = (int32_t)plen,
                        .compressed_size = (int32_t)plen,
                        .num_values = nvals,
                        .encoding = encoding,
                        .def_encoding = def_encoding,
                        .rep_encoding = PQ_ENC_RLE};
    size_t start = out->len;
    pq_write_page_header(out, &h);
    vg_buf_append(out, page, plen);
    size_t end = out->len;
    vg_buf footer;
    vg_buf_init(&footer);
    tc_writer w;
    pq_tw_init(&w, &footer);
    pq_tw_i32(&w, 1, 1);
    pq_tw_list(&w, 2, TC_STRUCT, nested ? 3 : 2);
    pq_tw_elem_struct(&w);
    pq_tw_str(&w, 4, "schema");
    pq_tw_i32(&w, 5, 1);
    pq_tw_end(&w);
    if (nested) {
        pq_tw_elem_struct(&w);
        pq_tw_i32(&w, 3, PQ_OPTIONAL);
        pq_tw_str(&w, 4, "group");
        pq_tw_i32(&w, 5, 1);
        pq_tw_end(&w);
    }
    pq_tw_elem_struct(&w);
    pq_tw_i32(&w, 1, l->physical);
    if (l->physical == PARQUET_PHYS_FIXED_LEN_BYTE_ARRAY)
        pq_tw_i32(&w, 2, 16);
    pq_tw_i32(&w, 3, l->repetition);
    pq_tw_str(&w, 4, l->name);
    if (l->converted >= 0)
        pq_tw_i32(&w, 6, l->converted);
    if (l->logical)
        put_logical(&w, l);
    pq_tw_end(&w);
    pq_tw_i64(&w, 3, nvals);
    pq_tw_list(&w, 4, TC_STRUCT, 1);
    pq_tw_elem_struct(&w);
    pq_tw_list(&w, 1, TC_STRUCT, 1);
    pq_tw_elem_struct(&w);
    pq_tw_i64(&w, 2, (int64_t)start);
    pq_tw_struct(&w, 3);
    pq_tw_i32(&w, 1, l->physical);
    pq_tw_list(&w, 2, TC_I32, 1);
    pq_tw_elem_i32(&w, encoding);
    pq_tw_list(&w, 3, TC_BINARY, 1);
    pq_tw_elem_bin(&w, l->name, strlen(l->name));
    pq_tw_i32(&w, 4, PQ_CODEC_UNCOMPRESSED);
    pq_tw_i64(&w, 5, nvals);
    pq_tw_i64(&w, 6, (int64_t)(end - start));
    pq_tw_i64(&w, 7, (int64_t)(end - start));
    pq_tw_i64(&w, 9, (int64_t)start);
    pq_tw_end(&w);
    pq_tw_end(&w);
    pq_tw_i64(&w, 2, (int64_t)(end - start));
    pq_tw_i64(&w, 3, nvals);
    pq_tw_end(&w);
    pq_tw_end(&w);
    uint8_t tail[8];
    pq_store_u32(tail, (uint32_t)footer.len);
    memcpy(tail + 4, "PAR1", 4);
    vg_buf_append(out, footer.data, footer.len);
    vg_buf_append(out, tail, 8);
    vg_buf_free(&footer);
}

/* Reads the single column of a built file; returns the code. */
static int read_built(const vg_buf *file, vg_arena *a, parquet_column_out *o, vg_err *e,
                      parquet_type *type, const char **logical)
{
    parquet_file *f;
    int rc = parquet_open_mem(&f, file->data, file->len, NULL, e);
    if (rc != VG_OK)
        return rc;
    *type = parquet_file_meta(f)->cols[0].type;
    *logical = parquet_file_meta(f)->cols[0].logical;
    static char saved[64];
    snprintf(saved, sizeof saved, "%s", *logical);
    *logical = saved;
    rc = parquet_read_column(f, 0, 0, a, o, e);
    parquet_close(f);
    return rc;
}

static void test_foreign_types(void)
{
    vg_arena a;
    vg_arena_init(&a, 0);
    vg_err e = {0};
    parquet_column_out o;
    parquet_type t;
    const char *logical;
    struct {
        leaf l;
        uint8_t page[24];
        size_t plen;
        parquet_type want_type;
        const char *want_logical;
        int64_t want0, want1; /* the two values, as int64 bits */
    } cases[] = {
        {{"d", PARQUET_PHYS_INT32, PQ_REQUIRED, PQ_CT_DATE, 6, 0, 0},
         {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
         8,
         PARQUET_TIMESTAMP,
         "DATE",
         86400 * VG_NS_PER_SEC,
         -86400 * VG_NS_PER_SEC},
        {{"ms", PARQUET_PHYS_INT64, PQ_REQUIRED, PQ_CT_TIMESTAMP_MILLIS, 0, 0, 0},
         {0xe8, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         16,
         PARQUET_TIMESTAMP,
         "TIMESTAMP(MILLIS,UTC)",
         1000 * VG_NS_PER_MS,
         -VG_NS_PER_MS},
        {{"us", PARQUET_PHYS_INT64, PQ_REQUIRED, -1, 8, 2, false},
         {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0},
         16,
         PARQUET_TIMESTAMP,
         "TIMESTAMP(MICROS,local)",
         1000,
         2000},
        {{"u32", PARQUET_PHYS_INT32, PQ_REQUIRED, PQ_CT_UINT_32, 10, 32, false},
         {0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0},
         8,
         PARQUET_UINT64,
         "INTEGER(32,unsigned)",
         0xffffffffLL,
         7},
        {{"i32", PARQUET_PHYS_INT32, PQ_REQUIRED, -1, 0, 0, false},
         {0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f},
         8,
         PARQUET_INT64,
         "",
         INT32_MIN,
         INT32_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_buf file;
        vg_buf_init(&file);
        build_file(&file, &cases[i].l, cases[i].page, cases[i].plen, 2, PQ_ENC_PLAIN, PQ_ENC_RLE,
                   false);
        int rc = read_built(&file, &a, &o, &e, &t, &logical);
        CHECK(rc == VG_OK);
        if (rc != VG_OK)
            printf("  %s\n", e.msg);
        CHECK_INT(t, cases[i].want_type);
        CHECK_STR(logical, cases[i].want_logical);
        if (rc == VG_OK)
            CHECK(o.v.i64[0] == cases[i].want0 && o.v.i64[1] == cases[i].want1);
        vg_buf_free(&file);
    }
    /* FLOAT widens exactly; DECIMAL(9, 2) in INT64 becomes a double */
    float fl[2] = {1.25f, -3.25e38f};
    leaf lf = {"f", PARQUET_PHYS_FLOAT, PQ_REQUIRED, -1, 0, 0, false};
    vg_buf file;
    vg_buf_init(&file);
    build_file(&file, &lf, fl, 8, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, false);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_OK);
    CHECK(t == PARQUET_DOUBLE && o.v.f64 && o.v.f64[0] == 1.25 && o.v.f64[1] == (double)-3.25e38f);
    vg_buf_reset(&file);
    int64_t cents[2] = {12345, -5};
    leaf ld = {"m", PARQUET_PHYS_INT64, PQ_REQUIRED, PQ_CT_DECIMAL, 5, 2, false};
    build_file(&file, &ld, cents, 16, 2, PQ_ENC_PLAIN, PQ_ENC_RLE, false);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_OK);
    CHECK(t == PARQUET_DOUBLE && o.v.f64 && o.v.f64[0] == 123.45 && o.v.f64[1] == -0.05);
    CHECK_STR(logical, "DECIMAL(9,2)");
    /* INT96: nanoseconds of the day, then the Julian day */
    vg_buf_reset(&file);
    uint8_t i96[12];
    pq_store_u64(i96, 1000);
    pq_store_u32(i96 + 8, 2440589); /* 1970-01-02 */
    leaf l96 = {"legacy", PARQUET_PHYS_INT96, PQ_REQUIRED, -1, 0, 0, false};
    build_file(&file, &l96, i96, 12, 1, PQ_ENC_PLAIN, PQ_ENC_RLE, false);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_OK);
    CHECK(t == PARQUET_TIMESTAMP && o.v.i64 && o.v.i64[0] == 86400 * VG_NS_PER_SEC + 1000);
    /* BIT_PACKED (MSB-first) definition levels of an OPTIONAL column */
    vg_buf_reset(&file);
    uint8_t bp[1 + 16] = {0xa0, 5, 0, 0, 0, 0, 0, 0, 0, 6}; /* levels 1,0,1; values 5, 6 */
    leaf lo = {"opt", PARQUET_PHYS_INT64, PQ_OPTIONAL, -1, 0, 0, false};
    build_file(&file, &lo, bp, sizeof bp, 3, PQ_ENC_PLAIN, PQ_ENC_BIT_PACKED, false);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_OK);
    CHECK(o.valid && is_valid(o.valid, 0) && !is_valid(o.valid, 1) && is_valid(o.valid, 2));
    CHECK(o.v.i64 && o.v.i64[0] == 5 && o.v.i64[2] == 6 && o.null_count == 1);
    /* unsupported and nested columns */
    vg_buf_reset(&file);
    leaf flba = {"uuid", PARQUET_PHYS_FIXED_LEN_BYTE_ARRAY, PQ_REQUIRED, -1, 14, 0, false};
    uint8_t sixteen[16] = {0};
    build_file(&file, &flba, sixteen, 16, 1, PQ_ENC_PLAIN, PQ_ENC_RLE, false);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'uuid': FIXED_LEN_BYTE_ARRAY columns are not supported");
    vg_buf_reset(&file);
    build_file(&file, &lo, bp, sizeof bp, 3, PQ_ENC_PLAIN, PQ_ENC_RLE, true);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: column 'group' is a group: nested schemas are not supported");
    /* a millisecond timestamp beyond the nanosecond range */
    vg_buf_reset(&file);
    int64_t far[1] = {INT64_MAX / 1000};
    leaf lms = {"ms", PARQUET_PHYS_INT64, PQ_REQUIRED, PQ_CT_TIMESTAMP_MILLIS, 0, 0, false};
    build_file(&file, &lms, far, 8, 1, PQ_ENC_PLAIN, PQ_ENC_RLE, false);
    CHECK(read_built(&file, &a, &o, &e, &t, &logical) == VG_EINVAL);
    CHECK(strstr(e.msg, "outside the nanosecond timestamp range") != NULL);
    vg_buf_free(&file);
    vg_arena_free(&a);
}

/* ------------------------------------------------------------------------ */
/* Corrupt input                                                            */
/* ------------------------------------------------------------------------ */

static int open_and_read_all(const void *p, size_t n, vg_err *e)
{
    parquet_file *f;
    parquet_read_options lim = {.max_row_group_rows = 100000, .max_page_bytes = 1 << 20};
    int rc = parquet_open_mem(&f, p, n, &lim, e);
    if (rc != VG_OK)
        return rc;
    const parquet_meta *m = parquet_file_meta(f);
    for (uint32_t g = 0; g < m->nrow_groups && rc == VG_OK; g++)
        for (uint32_t c = 0; c < m->ncols && rc == VG_OK; c++) {
            vg_arena a;
            vg_arena_init(&a, 0);
            parquet_column_out o;
            rc = parquet_read_column(f, g, c, &a, &o, e);
            vg_arena_free(&a);
        }
    parquet_close(f);
    return rc;
}

static void test_corrupt_messages(void)
{
    vg_err e = {0};
    CHECK(open_and_read_all("PAR1PAR1", 8, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "parquet: file of 8 bytes is too short");
    CHECK(open_and_read_all("PAR1xxxxxxxxPAR0", 16, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "parquet: not a Parquet file (no PAR1 magic at both ends)");
    CHECK(open_and_read_all("PAR1xxxx\xff\0\0\0PAR1", 16, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "parquet: footer of 255 bytes does not fit a 16-byte file");
    CHECK(open_and_read_all("PAR1xxxx\0\0\0\0PARE", 16, &e) == VG_EINVAL);
    CHECK_STR(e.msg, "parquet: encrypted files are not supported");

    make_gen(200, 10, 0, 0, 0, 0);
    parquet_write_options o = {.codec = PARQUET_UNCOMPRESSED};
    vg_buf file;
    vg_buf_init(&file);
    write_gen(&file, &o, 200);
    CHECK(open_and_read_all(file.data, file.len, &e) == VG_OK);
    /* a flipped byte inside the first page's data: the CRC catches it */
    vg_buf bad;
    vg_buf_init(&bad);
    vg_buf_append(&bad, file.data, file.len);
    bad.data[40] ^= 1;
    CHECK(open_and_read_all(bad.data, bad.len, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "parquet: column 'time' row group 0: page at offset 4: page checksum "
                     "mismatch");
    /* a footer cut short */
    uint32_t flen = pq_load_u32((const uint8_t *)file.data + file.len - 8);
    vg_buf_reset(&bad);
    vg_buf_append(&bad, file.data, file.len);
    pq_store_u32((uint8_t *)bad.data + bad.len - 8, flen - 30);
    CHECK(open_and_read_all(bad.data, bad.len, &e) == VG_ECORRUPT);
    CHECK(strncmp(e.msg, "parquet: footer: ", 17) == 0);
    /* a page header that is garbage */
    vg_buf_reset(&bad);
    vg_buf_append(&bad, file.data, file.len);
    memset(bad.data + 4, 0xee, 6);
    CHECK(open_and_read_all(bad.data, bad.len, &e) == VG_ECORRUPT);
    CHECK_STR(e.msg, "parquet: column 'time' row group 0: page at offset 4: byte 4 "
                     "(PageHeader): field of unknown type 14");
    /* row groups over the reader's row limit */
    parquet_file *f;
    parquet_read_options lim = {.max_row_group_rows = 100};
    CHECK(parquet_open_mem(&f, file.data, file.len, &lim, &e) == VG_OK);
    vg_arena a;
    vg_arena_init(&a, 0);
    parquet_column_out out;
    CHECK(parquet_read_column(f, 0, 0, &a, &out, &e) == VG_ELIMIT);
    CHECK_STR(e.msg, "parquet: row group 0 has 200 rows, over the limit of 100");
    vg_arena_free(&a);
    parquet_close(f);
    vg_buf_free(&bad);
    vg_buf_free(&file);
}

/* Every single-byte change of small files of each kind: an error or a valid read. */
static void test_corrupt_every_byte(void)
{
    static const parquet_write_options opts[] = {
        {.codec = PARQUET_UNCOMPRESSED},
        {.codec = PARQUET_UNCOMPRESSED, .data_page_v2 = true},
        {.codec = PARQUET_SNAPPY}};
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (size_t k = 0; k < 3; k++) {
        make_gen(24, 25, k == 1 ? PARQUET_ENC_DELTA_STRINGS : 0, k == 2 ? PARQUET_ENC_PLAIN : 0, 0,
                 k == 1 ? PARQUET_ENC_RLE : 0);
        vg_buf file;
        vg_buf_init(&file);
        write_gen(&file, &opts[k], 24);
        uint8_t *copy = malloc(file.len);
        int ok = 0, errs = 0;
        for (size_t i = 0; i < file.len; i++)
            for (size_t j = 0; j < sizeof flips; j++) {
                memcpy(copy, file.data, file.len);
                copy[i] ^= flips[j];
                vg_err e = {0};
                int rc = open_and_read_all(copy, file.len, &e);
                if (rc == VG_OK) {
                    ok++;
                } else {
                    errs++;
                    CHECK(strncmp(e.msg, "parquet: ", 9) == 0);
                }
            }
        CHECK(errs > 0);
        free(copy);
        vg_buf_free(&file);
    }
}

TEST_MAIN(test_thrift_round_trip, test_read_into_caller_memory, test_read_ids_only,
          test_dictionary_id_out_of_range, test_thrift_skip, test_thrift_errors,
          test_bitpack_widths, test_rle_hybrid, test_delta_binary_packed, test_delta_int32_wraps,
          test_delta_strings, test_byte_stream_split, test_codecs, test_round_trip_encodings,
          test_round_trip_codecs, test_round_trip_edges, test_empty_strings, test_string_inputs,
          test_double_dictionary, test_threaded_writer_same_bytes, test_statistics, test_file_descriptor, test_writer_errors,
          test_out_of_memory, test_foreign_types, test_corrupt_messages, test_corrupt_every_byte)
