/*
 * parquet/plain.c: the PLAIN encoding's non-trivial cases (length-prefixed byte arrays,
 * bit-packed booleans) and BYTE_STREAM_SPLIT, which scatters byte j of every value
 * into stream j so a compressor sees the slowly changing high bytes of floats side by
 * side.
 */
#include "parquet_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void pq_bss_encode(uint8_t *out, const uint8_t *vals, size_t n, int k)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            out[(size_t)j * n + i] = vals[i * (size_t)k + (size_t)j];
}

/* Doubles from value i on: each value assembled in a register, stored once. */
static void bss8_rest(const uint8_t *p, uint8_t *out, size_t n, size_t i)
{
    for (; i < n; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v |= (uint64_t)p[(size_t)j * n + i] << (8 * j);
        pq_store_u64(out + i * 8, v);
    }
}

#if defined(__SSE2__)
/* Doubles 16 at a time: sixteen bytes of each of the 8 streams, interleaved in three
 * rounds (bytes into pairs, pairs into quads, quads into whole values), which is a
 * transpose of the 8 x 16 byte block. About 2.5 instructions a value where assembling
 * each value from 8 loads takes over 20; the scans' float columns spend most of their
 * decoding here. Returns the values done (a multiple of 16). */
static size_t bss8_blocks(const uint8_t *p, uint8_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a[8], b[8], c[8];
        for (int j = 0; j < 8; j++)
            a[j] = _mm_loadu_si128((const __m128i *)(const void *)(p + (size_t)j * n + i));
        for (int j = 0; j < 4; j++) { /* b[2j]: values 0-7, b[2j+1]: 8-15; bytes 2j, 2j+1 */
            b[2 * j] = _mm_unpacklo_epi8(a[2 * j], a[2 * j + 1]);
            b[2 * j + 1] = _mm_unpackhi_epi8(a[2 * j], a[2 * j + 1]);
        }
        for (int h = 0; h < 2; h++) { /* c[4h + q]: values 4q..4q+3, bytes 4h..4h+3 */
            c[4 * h + 0] = _mm_unpacklo_epi16(b[4 * h + 0], b[4 * h + 2]);
            c[4 * h + 1] = _mm_unpackhi_epi16(b[4 * h + 0], b[4 * h + 2]);
            c[4 * h + 2] = _mm_unpacklo_epi16(b[4 * h + 1], b[4 * h + 3]);
            c[4 * h + 3] = _mm_unpackhi_epi16(b[4 * h + 1], b[4 * h + 3]);
        }
        uint8_t *o = out + i * 8;
        for (int q = 0; q < 4; q++) { /* values 4q, 4q+1, then 4q+2, 4q+3 */
            _mm_storeu_si128((__m128i *)(void *)(o + 32 * q), _mm_unpacklo_epi32(c[q], c[4 + q]));
            _mm_storeu_si128((__m128i *)(void *)(o + 32 * q + 16),
                             _mm_unpackhi_epi32(c[q], c[4 + q]));
        }
    }
    return i;
}
#else
static size_t bss8_blocks(const uint8_t *p, uint8_t *out, size_t n)
{
    return 0; /* bss8_rest does them all */
}
#endif

int pq_bss_decode(const uint8_t *p, size_t len, uint8_t *out, size_t n, int k, vg_err *e)
{
    /* the streams fill the rest of the page exactly */
    if (len != n * (size_t)k)
        return vg_err_set(e, VG_ECORRUPT,
                          "BYTE_STREAM_SPLIT data is %zu bytes, %zu values of "
                          "%d bytes need %zu",
                          len, n, k, n * (size_t)k);
    if (k == 8) {
        size_t i = bss8_blocks(p, out, n);
        bss8_rest(p, out, n, i);
        return VG_OK;
    }
    for (int j = 0; j < k; j++) {
        const uint8_t *s = p + (size_t)j * n;
        for (size_t i = 0; i < n; i++)
            out[i * (size_t)k + (size_t)j] = s[i];
    }
    return VG_OK;
}

int pq_plain_strings_decode(const uint8_t *p, size_t len, vg_str *out, size_t n, vg_err *e)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (len - pos < 4)
            return vg_err_set(e, VG_ECORRUPT, "PLAIN byte array %zu of %zu: length cut short", i,
                              n);
        uint32_t l = pq_load_u32(p + pos);
        pos += 4;
        if (l > len - pos)
            return vg_err_set(e, VG_ECORRUPT,
                              "PLAIN byte array %zu of %zu: %u bytes run past "
                              "the end",
                              i, n, l);
        out[i].ptr = (const char *)p + pos;
        out[i].len = l;
        pos += l;
    }
    return VG_OK;
}

int pq_plain_bools_decode(const uint8_t *p, size_t len, uint8_t *out, size_t n, vg_err *e)
{
    if (len < (n + 7) / 8)
        return vg_err_set(e, VG_ECORRUPT, "PLAIN booleans: %zu bytes for %zu values", len, n);
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i >> 3] >> (i & 7)) & 1;
    return VG_OK;
}
