/*
 * parquet/delta.c: the delta encodings.
 *
 * DELTA_BINARY_PACKED: header <block size> <miniblocks per block> <count> <first value>,
 * then blocks of <min delta> <a bit width per miniblock> <bit-packed miniblocks>,
 * each delta stored as (delta - min delta). All arithmetic wraps (two's complement),
 * in 64 bits for INT64 and 32 bits for INT32, as the format requires.
 * DELTA_LENGTH_BYTE_ARRAY: the lengths as DELTA_BINARY_PACKED, then the bytes.
 * DELTA_BYTE_ARRAY: prefix lengths shared with the previous value, then the suffixes
 * as DELTA_LENGTH_BYTE_ARRAY.
 */
#include "parquet_int.h"

#include <string.h>

#define BLOCK 128
#define MINIBLOCKS 4
#define MINI (BLOCK / MINIBLOCKS)

/* ------------------------------------------------------------------------ */
/* DELTA_BINARY_PACKED                                                      */
/* ------------------------------------------------------------------------ */

static void encode_block(vg_buf *out, const uint64_t *deltas, size_t m)
{
    uint64_t min = deltas[0];
    for (size_t j = 1; j < m; j++)
        if ((int64_t)deltas[j] < (int64_t)min)
            min = deltas[j];
    pq_put_zigzag(out, (int64_t)min);
    uint64_t rel[BLOCK];
    uint8_t widths[MINIBLOCKS];
    for (size_t j = 0; j < m; j++)
        rel[j] = deltas[j] - min;
    for (size_t k = 0; k < MINIBLOCKS; k++) {
        uint64_t any = 0;
        for (size_t j = k * MINI; j < (k + 1) * MINI && j < m; j++)
            any |= rel[j];
        widths[k] = (uint8_t)pq_bit_width(any);
    }
    vg_buf_append(out, widths, MINIBLOCKS);
    for (size_t k = 0; k < MINIBLOCKS && k * MINI < m; k++) {
        uint64_t mini[MINI] = {0}; /* the last miniblock is padded with zeros */
        for (size_t j = 0; j < MINI && k * MINI + j < m; j++)
            mini[j] = rel[k * MINI + j];
        size_t nbytes = (size_t)MINI * widths[k] / 8;
        if (!vg_buf_reserve(out, nbytes))
            return;
        memset(out->data + out->len, 0, nbytes);
        pq_pack((uint8_t *)out->data + out->len, mini, MINI, widths[k]);
        out->len += nbytes;
    }
}

void pq_delta_encode(vg_buf *out, const int64_t *vals, size_t n)
{
    pq_put_uleb(out, BLOCK);
    pq_put_uleb(out, MINIBLOCKS);
    pq_put_uleb(out, n);
    pq_put_zigzag(out, n ? vals[0] : 0);
    uint64_t deltas[BLOCK];
    for (size_t i = 1; i < n;) {
        size_t m = n - i < BLOCK ? n - i : BLOCK;
        for (size_t j = 0; j < m; j++)
            deltas[j] = (uint64_t)vals[i + j] - (uint64_t)vals[i + j - 1];
        encode_block(out, deltas, m);
        i += m;
    }
}

static int64_t wrap(uint64_t v, int bits)
{
    return bits == 32 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

static int read_header(const uint8_t **p, const uint8_t *end, uint64_t *block, uint64_t *minis,
                       uint64_t *count, int64_t *first, vg_err *e)
{
    if (pq_get_uleb(p, end, block) != 0 || pq_get_uleb(p, end, minis) != 0 ||
        pq_get_uleb(p, end, count) != 0 || pq_get_zigzag(p, end, first) != 0)
        return vg_err_set(e, VG_ECORRUPT, "DELTA_BINARY_PACKED header is cut short");
    if (*block == 0 || *block % 128 != 0 || *block > (1u << 24))
        return vg_err_set(e, VG_ECORRUPT,
                          "DELTA_BINARY_PACKED block size %llu is not a "
                          "multiple of 128",
                          (unsigned long long)*block);
    if (*minis == 0 || *block % *minis != 0 || (*block / *minis) % 32 != 0)
        return vg_err_set(e, VG_ECORRUPT,
                          "DELTA_BINARY_PACKED has %llu miniblocks in a block "
                          "of %llu",
                          (unsigned long long)*minis, (unsigned long long)*block);
    return VG_OK;
}

int pq_delta_decode(const uint8_t *p, size_t len, int bits, int64_t *out, size_t max, size_t *count,
                    size_t *used, vg_err *e)
{
    const uint8_t *start = p, *end = p + len;
    uint64_t block, minis, total;
    int64_t first;
    if (read_header(&p, end, &block, &minis, &total, &first, e) != VG_OK)
        return VG_ECORRUPT;
    if (total > max)
        return vg_err_set(e, VG_ECORRUPT,
                          "DELTA_BINARY_PACKED claims %llu values, at most %zu "
                          "expected",
                          (unsigned long long)total, max);
    size_t per_mini = (size_t)(block / minis), got = 0;
    uint64_t prev = (uint64_t)wrap((uint64_t)first, bits);
    uint64_t tmp[64];
    if (total > 0)
        out[got++] = (int64_t)prev;
    while (got < total) {
        int64_t min;
        if (pq_get_zigzag(&p, end, &min) != 0)
            return vg_err_set(e, VG_ECORRUPT, "DELTA_BINARY_PACKED block header is cut short");
        if ((uint64_t)(end - p) < minis)
            return vg_err_set(e, VG_ECORRUPT, "DELTA_BINARY_PACKED bit widths are cut short");
        const uint8_t *widths = p;
        p += minis;
        for (uint64_t k = 0; k < minis && got < total; k++) {
            int w = widths[k];
            if (w > bits)
                return vg_err_set(e, VG_ECORRUPT, "DELTA_BINARY_PACKED bit width %d is over %d", w,
                                  bits);
            size_t take = per_mini < total - got ? per_mini : (size_t)(total - got);
            size_t full = per_mini * (size_t)w / 8;
            if ((take * (size_t)w + 7) / 8 > (size_t)(end - p))
                return vg_err_set(e, VG_ECORRUPT,
                                  "DELTA_BINARY_PACKED miniblock runs past the "
                                  "end");
            if (w == 0) { /* every delta is min (a series' steady interval): no chain */
                for (size_t j = 0; j < take; j++)
                    out[got + j] = wrap(prev + (uint64_t)min * (j + 1), bits);
                got += take;
                prev = (uint64_t)out[got - 1];
                continue;
            }
            /* unpack in slices of 64 so the scratch stays on the stack */
            for (size_t done = 0; done < take;) {
                size_t s = take - done < 64 ? take - done : 64;
                /* s * w bits from bit (done * w): done is a multiple of 64, so a byte edge */
                pq_unpack(p + done * (size_t)w / 8, tmp, s, w);
                for (size_t j = 0; j < s; j++) {
                    prev = (uint64_t)wrap(prev + (uint64_t)min + tmp[j], bits);
                    out[got++] = (int64_t)prev;
                }
                done += s;
            }
            p += full < (size_t)(end - p) ? full : (size_t)(end - p);
        }
    }
    *count = (size_t)total;
    *used = (size_t)(p - start);
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY                             */
/* ------------------------------------------------------------------------ */

static void encode_lengths(vg_buf *out, const uint32_t *lens, size_t n)
{
    int64_t *tmp = vg_malloc(n ? n * sizeof *tmp : 1);
    if (!tmp) {
        out->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        tmp[i] = lens[i];
    pq_delta_encode(out, tmp, n);
    vg_free(tmp);
}

void pq_delta_length_encode(vg_buf *out, const uint32_t *lens, const char *bytes, size_t n)
{
    size_t total = 0;
    encode_lengths(out, lens, n);
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    vg_buf_append(out, bytes, total);
}

void pq_delta_strings_encode(vg_buf *out, const uint32_t *lens, const char *bytes, size_t n)
{
    uint32_t *prefix = vg_malloc(n ? n * sizeof *prefix : 1);
    uint32_t *suffix = vg_malloc(n ? n * sizeof *suffix : 1);
    vg_buf sbytes;
    vg_buf_init(&sbytes);
    if (!prefix || !suffix) {
        out->oom = true;
        goto free_arrays;
    }
    const char *prev = bytes, *cur = bytes;
    uint32_t prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = 0, max = lens[i] < prev_len ? lens[i] : prev_len;
        while (k < max && cur[k] == prev[k])
            k++;
        prefix[i] = k;
        suffix[i] = lens[i] - k;
        vg_buf_append(&sbytes, cur + k, suffix[i]);
        prev = cur;
        prev_len = lens[i];
        cur += lens[i];
    }
    encode_lengths(out, prefix, n);
    pq_delta_length_encode(out, suffix, sbytes.data ? sbytes.data : "", n);
    if (sbytes.oom)
        out->oom = true;
free_arrays:
    vg_buf_free(&sbytes);
    vg_free(prefix);
    vg_free(suffix);
}

/* Decodes n lengths; each must be >= 0. */
static int decode_lengths(const uint8_t *p, size_t len, size_t n, int64_t *lens, size_t *used,
                          const char *what, vg_err *e)
{
    size_t count;
    if (pq_delta_decode(p, len, 32, lens, n, &count, used, e) != VG_OK)
        return VG_ECORRUPT;
    if (count != n)
        return vg_err_set(e, VG_ECORRUPT, "%s: %zu lengths for %zu values", what, count, n);
    for (size_t i = 0; i < n; i++)
        if (lens[i] < 0)
            return vg_err_set(e, VG_ECORRUPT, "%s: negative length %lld", what, (long long)lens[i]);
    return VG_OK;
}

int pq_delta_length_decode(const uint8_t *p, size_t len, vg_str *out, size_t n, vg_arena *a,
                           vg_err *e)
{
    size_t used;
    int64_t *lens = vg_arena_alloc(a, (n ? n : 1) * sizeof *lens);
    if (!lens)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    if (decode_lengths(p, len, n, lens, &used, "DELTA_LENGTH_BYTE_ARRAY", e) != VG_OK)
        return VG_ECORRUPT;
    const char *data = (const char *)p + used;
    size_t left = len - used;
    for (size_t i = 0; i < n; i++) {
        if ((uint64_t)lens[i] > left)
            return vg_err_set(e, VG_ECORRUPT,
                              "DELTA_LENGTH_BYTE_ARRAY value %zu runs past the "
                              "end",
                              i);
        out[i].ptr = data;
        out[i].len = (size_t)lens[i];
        data += lens[i];
        left -= (size_t)lens[i];
    }
    return VG_OK;
}

int pq_delta_strings_decode(const uint8_t *p, size_t len, vg_str *out, size_t n, size_t max_bytes,
                            vg_arena *a, vg_err *e)
{
    size_t used;
    int64_t *prefix = vg_arena_alloc(a, (n ? n : 1) * sizeof *prefix);
    if (!prefix)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    if (decode_lengths(p, len, n, prefix, &used, "DELTA_BYTE_ARRAY prefixes", e) != VG_OK)
        return VG_ECORRUPT;
    if (pq_delta_length_decode(p + used, len - used, out, n, a, e) != VG_OK)
        return VG_ECORRUPT;
    /* A prefix repeats earlier bytes, so a small input can describe a huge output:
     * size it first and refuse more than max_bytes. */
    uint64_t total = 0, prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        if ((uint64_t)prefix[i] > prev_len)
            return vg_err_set(e, VG_ECORRUPT,
                              "DELTA_BYTE_ARRAY value %zu: prefix of %lld bytes "
                              "is longer than the previous value",
                              i, (long long)prefix[i]);
        prev_len = (uint64_t)prefix[i] + out[i].len;
        total += prev_len;
        if (total > max_bytes)
            return vg_err_set(e, VG_ELIMIT, "DELTA_BYTE_ARRAY values exceed %zu bytes", max_bytes);
    }
    char *buf = vg_arena_alloc(a, total ? (size_t)total : 1);
    if (!buf)
        return vg_err_set(e, VG_ENOMEM, "out of memory");
    const char *prev = buf;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)prefix[i];
        memcpy(buf, prev, k);
        memcpy(buf + k, out[i].ptr, out[i].len);
        out[i].ptr = buf;
        out[i].len += k;
        prev = buf;
        buf += out[i].len;
    }
    return VG_OK;
}
