/*
 * parquet/rle.c: LSB-first bit packing and the RLE/bit-packed hybrid that carries
 * definition levels, dictionary ids and RLE booleans.
 *
 * The hybrid is a sequence of runs, each introduced by a ULEB128 header: an even
 * header is a repeat run (count = header >> 1, then the value in ceil(width / 8)
 * little-endian bytes), an odd one a bit-packed run of (header >> 1) groups of 8
 * values. The encoder emits repeat runs for 8 or more equal values and bit-packs the
 * rest; the decoder accepts any valid mix and never reads past its input.
 */
#include "parquet_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

int pq_bit_width(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}

void pq_pack(uint8_t *out, const uint64_t *vals, size_t n, int width)
{
    if (width == 0)
        return;
    uint64_t mask = width == 64 ? ~0ull : (1ull << width) - 1;
    uint64_t bitpos = 0;
    for (size_t i = 0; i < n; i++, bitpos += (uint64_t)width) {
        uint64_t v = vals[i] & mask;
        uint8_t *q = out + (bitpos >> 3);
        int shift = (int)(bitpos & 7), left = width;
        /* the first byte shares bits with the previous value */
        *q++ |= (uint8_t)(v << shift);
        left -= 8 - shift;
        v = shift ? v >> (8 - shift) : v >> 8;
        while (left > 0) {
            *q++ = (uint8_t)v;
            v >>= 8;
            left -= 8;
        }
    }
}

/* One value of `width` (1..64) bits at bit position `bitpos` of `in`, whose
 * last readable byte is in[last]. */
static inline uint64_t get_bits(const uint8_t *in, uint64_t bitpos, int width, size_t nbytes)
{
    size_t byte = (size_t)(bitpos >> 3);
    int shift = (int)(bitpos & 7);
    uint64_t v;
    if (byte + 8 <= nbytes) {
        v = pq_load_u64(in + byte) >> shift;
        if (width + shift > 64) /* the value spills into a ninth byte */
            v |= (uint64_t)in[byte + 8] << (64 - shift);
    } else {
        v = 0;
        for (size_t k = 0; byte + k < nbytes && k < 9; k++)
            v |= k == 0 ? (uint64_t)in[byte] >> shift : (uint64_t)in[byte + k] << (8 * k - shift);
    }
    return width == 64 ? v : v & ((1ull << width) - 1);
}

void pq_unpack(const uint8_t *in, uint64_t *out, size_t n, int width)
{
    if (width == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    size_t nbytes = (n * (size_t)width + 7) / 8;
    for (size_t i = 0; i < n; i++)
        out[i] = get_bits(in, (uint64_t)i * (uint64_t)width, width, nbytes);
}

void pq_unpack32(const uint8_t *in, uint32_t *out, size_t n, int width)
{
    if (width == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    size_t nbytes = (n * (size_t)width + 7) / 8;
    if (width == 1) {
        /* levels and booleans: the common case, one bit each */
        for (size_t i = 0; i < n; i++)
            out[i] = (in[i >> 3] >> (i & 7)) & 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (uint32_t)get_bits(in, (uint64_t)i * (uint64_t)width, width, nbytes);
}

/* ------------------------------------------------------------------------ */
/* Encoder                                                                  */
/* ------------------------------------------------------------------------ */

/* Longest bit-packed run we emit: 63 groups keep the header one byte, as other
 * writers do (readers accept longer ones). */
#define MAX_PACKED_GROUPS 63

static inline uint32_t val_at(const void *vals, int elem_size, size_t i)
{
    return elem_size == 1 ? ((const uint8_t *)vals)[i] : ((const uint32_t *)vals)[i];
}

static void emit_packed(vg_buf *out, const void *vals, int elem_size, size_t from, size_t n,
                        int width)
{
    uint64_t tmp[MAX_PACKED_GROUPS * 8];
    while (n > 0) {
        size_t take = n < MAX_PACKED_GROUPS * 8 ? n : MAX_PACKED_GROUPS * 8;
        size_t groups = (take + 7) / 8;
        for (size_t i = 0; i < groups * 8; i++)
            tmp[i] = i < take ? val_at(vals, elem_size, from + i) : 0; /* zero padding */
        pq_put_uleb(out, groups << 1 | 1);
        size_t nbytes = groups * (size_t)width; /* 8 values * width bits = width bytes */
        if (!vg_buf_reserve(out, nbytes))
            return;
        memset(out->data + out->len, 0, nbytes);
        pq_pack((uint8_t *)out->data + out->len, tmp, groups * 8, width);
        out->len += nbytes;
        from += take;
        n -= take;
    }
}

static void emit_repeat(vg_buf *out, uint32_t v, size_t count, int width)
{
    uint8_t bytes[4];
    int nb = (width + 7) / 8;
    pq_store_u32(bytes, v);
    while (count > 0) {
        size_t take = count < 0x7fffffff ? count : 0x7fffffff;
        pq_put_uleb(out, (uint64_t)take << 1);
        vg_buf_append(out, bytes, (size_t)nb);
        count -= take;
    }
}

void pq_rle_encode(vg_buf *out, const void *vals, int elem_size, size_t n, int width)
{
    size_t lit = 0, i = 0; /* values [lit, i) wait to be bit-packed */
    while (i < n) {
        uint32_t v = val_at(vals, elem_size, i);
        size_t run = 1;
        while (i + run < n && val_at(vals, elem_size, i + run) == v)
            run++;
        if (run < 8) {
            i += run;
            continue;
        }
        /* a bit-packed run in the middle must hold whole groups of 8: lend it the
         * first values of the repeat when it has a partial group */
        size_t partial = (i - lit) % 8;
        if (partial) {
            size_t lend = 8 - partial;
            if (run - lend < 8) {
                i += run;
                continue;
            }
            i += lend;
            run -= lend;
        }
        if (i > lit)
            emit_packed(out, vals, elem_size, lit, i - lit, width);
        emit_repeat(out, v, run, width);
        i += run;
        lit = i;
    }
    if (n > lit)
        emit_packed(out, vals, elem_size, lit, n - lit, width);
}

/* ------------------------------------------------------------------------ */
/* Decoder                                                                  */
/* ------------------------------------------------------------------------ */

/* n copies of v (a repeat run: a sorted tag's id for thousands of rows). */
static void fill32(uint32_t *out, uint32_t v, size_t n)
{
    size_t k = 0;
#if defined(__SSE2__)
    __m128i x = _mm_set1_epi32((int32_t)v);
    for (; k + 8 <= n; k += 8) {
        _mm_storeu_si128((__m128i *)(void *)(out + k), x);
        _mm_storeu_si128((__m128i *)(void *)(out + k + 4), x);
    }
#endif
    for (; k < n; k++)
        out[k] = v;
}

int pq_rle_decode(const uint8_t *p, size_t len, int width, uint32_t *out, size_t n, vg_err *e)
{
    const uint8_t *start = p, *end = p + len;
    size_t got = 0;
    if (width < 0 || width > 32)
        return vg_err_set(e, VG_ECORRUPT, "RLE bit width %d is over 32", width);
    int vbytes = (width + 7) / 8;
    while (got < n) {
        uint64_t h;
        size_t at = (size_t)(p - start);
        if (p >= end)
            return vg_err_set(e, VG_ECORRUPT, "RLE data ends after %zu of %zu values", got, n);
        if (pq_get_uleb(&p, end, &h) != 0 || h >> 1 == 0 || h >> 1 > 0x7fffffff)
            return vg_err_set(e, VG_ECORRUPT, "bad RLE run header at byte %zu", at);
        if (h & 1) {
            size_t values = (size_t)(h >> 1) * 8;
            size_t take = values < n - got ? values : n - got;
            size_t need = (take * (size_t)width + 7) / 8;
            /* the last run may stop short of its declared groups: only what we use
             * must be there */
            if (need > (size_t)(end - p))
                return vg_err_set(e, VG_ECORRUPT, "bit-packed run at byte %zu runs past the end",
                                  at);
            pq_unpack32(p, out + got, take, width);
            size_t full = (values * (size_t)width) / 8;
            p += full < (size_t)(end - p) ? full : (size_t)(end - p);
            got += take;
        } else {
            size_t count = (size_t)(h >> 1);
            if ((size_t)(end - p) < (size_t)vbytes)
                return vg_err_set(e, VG_ECORRUPT, "repeat run at byte %zu runs past the end", at);
            uint32_t v = 0;
            for (int k = 0; k < vbytes; k++)
                v |= (uint32_t)p[k] << (8 * k);
            if (width < 32 && v >> width)
                return vg_err_set(e, VG_ECORRUPT,
                                  "repeat run at byte %zu: value %u is wider "
                                  "than %d bits",
                                  at, v, width);
            p += vbytes;
            size_t take = count < n - got ? count : n - got;
            fill32(out + got, v, take);
            got += take;
        }
    }
    return VG_OK;
}
