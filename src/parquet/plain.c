/*
 * parquet/plain.c: the PLAIN encoding's non-trivial cases (length-prefixed byte arrays,
 * bit-packed booleans) and BYTE_STREAM_SPLIT, which scatters byte j of every value
 * into stream j so a compressor sees the slowly changing high bytes of floats side by
 * side.
 */
#include "parquet_int.h"

#include <string.h>

void pq_bss_encode(uint8_t *out, const uint8_t *vals, size_t n, int k)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            out[(size_t)j * n + i] = vals[i * (size_t)k + (size_t)j];
}

int pq_bss_decode(const uint8_t *p, size_t len, uint8_t *out, size_t n, int k, vg_err *e)
{
    /* the streams fill the rest of the page exactly */
    if (len != n * (size_t)k)
        return vg_err_set(e, VG_ECORRUPT,
                          "BYTE_STREAM_SPLIT data is %zu bytes, %zu values of "
                          "%d bytes need %zu",
                          len, n, k, n * (size_t)k);
    if (k == 8) { /* doubles: assemble each value in a register, store it once */
        for (size_t i = 0; i < n; i++) {
            uint64_t v = 0;
            for (int j = 0; j < 8; j++)
                v |= (uint64_t)p[(size_t)j * n + i] << (8 * j);
            pq_store_u64(out + i * 8, v);
        }
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
