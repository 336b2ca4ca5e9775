/*
 * parquet/codec.c: page compression with Debian's libraries (libzstd, libsnappy's C
 * API, liblz4's raw block format, zlib for GZIP), and the page CRC.
 *
 * Decompression always targets a buffer of exactly the size the page header promises
 * (capped by the reader before it allocates), and any other outcome is corruption: a
 * hostile page can neither overrun the buffer nor make us allocate by its own say-so.
 *
 * zstd's contexts are kept per thread and reused: ZSTD_compress/ZSTD_decompress make
 * and free a context (a few hundred KiB of tables) for every page, which cost a
 * snapshot about a third of its page faults. The output is the same bytes.
 */
#include "parquet_int.h"

#include <limits.h>
#include <pthread.h>
#include <lz4.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

int pq_codec_to_thrift(parquet_codec c)
{
    switch (c) {
    case PARQUET_ZSTD: return PQ_CODEC_ZSTD;
    case PARQUET_SNAPPY: return PQ_CODEC_SNAPPY;
    case PARQUET_LZ4_RAW: return PQ_CODEC_LZ4_RAW;
    case PARQUET_GZIP: return PQ_CODEC_GZIP;
    case PARQUET_UNCOMPRESSED:
    case PARQUET_CODEC_OTHER: break;
    }
    return PQ_CODEC_UNCOMPRESSED;
}

parquet_codec pq_codec_from_thrift(int32_t c)
{
    switch (c) {
    case PQ_CODEC_UNCOMPRESSED: return PARQUET_UNCOMPRESSED;
    case PQ_CODEC_SNAPPY: return PARQUET_SNAPPY;
    case PQ_CODEC_GZIP: return PARQUET_GZIP;
    case PQ_CODEC_ZSTD: return PARQUET_ZSTD;
    case PQ_CODEC_LZ4_RAW: return PARQUET_LZ4_RAW;
    }
    return PARQUET_CODEC_OTHER;
}

const char *parquet_codec_name(parquet_codec c)
{
    switch (c) {
    case PARQUET_ZSTD: return "ZSTD";
    case PARQUET_SNAPPY: return "SNAPPY";
    case PARQUET_LZ4_RAW: return "LZ4_RAW";
    case PARQUET_GZIP: return "GZIP";
    case PARQUET_UNCOMPRESSED: return "UNCOMPRESSED";
    case PARQUET_CODEC_OTHER: break;
    }
    return "OTHER";
}

uint32_t pq_crc32(const void *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const Bytef *b = p;
    while (n > 0) {
        uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
        crc = crc32(crc, b, take);
        b += take;
        n -= take;
    }
    return (uint32_t)crc;
}

/* zlib allocates through the project's counting allocator. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    return vg_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    vg_free(p);
}

/* ------------------------------------------------------------------------ */
/* Compression                                                              */
/* ------------------------------------------------------------------------ */

static int gzip_compress(int level, const void *src, size_t n, vg_buf *out, vg_err *e)
{
    z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
    if (deflateInit2(&zs, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return vg_err_set(e, VG_ENOMEM, "gzip: cannot start a stream");
    size_t bound = deflateBound(&zs, (uLong)n) + 32;
    int rc = VG_OK;
    if (!vg_buf_reserve(out, bound)) {
        rc = vg_err_set(e, VG_ENOMEM, "out of memory");
        goto end;
    }
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        rc = vg_err_set(e, VG_EINTERNAL, "gzip: compression did not finish");
        goto end;
    }
    out->len += zs.total_out;
end:
    deflateEnd(&zs);
    return rc;
}

static pthread_once_t zstd_keys_once = PTHREAD_ONCE_INIT;
static pthread_key_t cctx_key, dctx_key;

static void free_cctx(void *p) { ZSTD_freeCCtx(p); }
static void free_dctx(void *p) { ZSTD_freeDCtx(p); }

static void make_zstd_keys(void)
{
    pthread_key_create(&cctx_key, free_cctx);
    pthread_key_create(&dctx_key, free_dctx);
}

/* This thread's compression context, made on first use; NULL when out of memory. */
static ZSTD_CCtx *thread_cctx(void)
{
    pthread_once(&zstd_keys_once, make_zstd_keys);
    ZSTD_CCtx *c = pthread_getspecific(cctx_key);
    if (!c && (c = ZSTD_createCCtx()) != NULL && pthread_setspecific(cctx_key, c) != 0) {
        ZSTD_freeCCtx(c);
        c = NULL;
    }
    return c;
}

static ZSTD_DCtx *thread_dctx(void)
{
    pthread_once(&zstd_keys_once, make_zstd_keys);
    ZSTD_DCtx *d = pthread_getspecific(dctx_key);
    if (!d && (d = ZSTD_createDCtx()) != NULL && pthread_setspecific(dctx_key, d) != 0) {
        ZSTD_freeDCtx(d);
        d = NULL;
    }
    return d;
}

int pq_compress(parquet_codec c, int level, const void *src, size_t n, vg_buf *out, vg_err *e)
{
    if (n > INT_MAX)
        return vg_err_set(e, VG_ELIMIT, "page of %zu bytes is too large", n);
    if (!src)
        src = ""; /* an empty vg_buf has no data pointer; the libraries want one */
    switch (c) {
    case PARQUET_UNCOMPRESSED:
        vg_buf_append(out, src, n);
        return out->oom ? vg_err_set(e, VG_ENOMEM, "out of memory") : VG_OK;
    case PARQUET_ZSTD: {
        size_t bound = ZSTD_compressBound(n);
        if (!vg_buf_reserve(out, bound))
            return vg_err_set(e, VG_ENOMEM, "out of memory");
        ZSTD_CCtx *cx = thread_cctx();
        if (!cx)
            return vg_err_set(e, VG_ENOMEM, "out of memory");
        size_t r = ZSTD_compressCCtx(cx, out->data + out->len, bound, src, n, level ? level : 3);
        if (ZSTD_isError(r))
            return vg_err_set(e, VG_EINTERNAL, "zstd: %s", ZSTD_getErrorName(r));
        out->len += r;
        return VG_OK;
    }
    case PARQUET_SNAPPY: {
        size_t bound = snappy_max_compressed_length(n);
        if (!vg_buf_reserve(out, bound))
            return vg_err_set(e, VG_ENOMEM, "out of memory");
        if (snappy_compress(src, n, out->data + out->len, &bound) != SNAPPY_OK)
            return vg_err_set(e, VG_EINTERNAL, "snappy: compression failed");
        out->len += bound;
        return VG_OK;
    }
    case PARQUET_LZ4_RAW: {
        int bound = LZ4_compressBound((int)n);
        if (bound <= 0 || !vg_buf_reserve(out, (size_t)bound))
            return vg_err_set(e, VG_ENOMEM, "out of memory");
        int r = LZ4_compress_default(src, out->data + out->len, (int)n, bound);
        if (r <= 0 && n > 0)
            return vg_err_set(e, VG_EINTERNAL, "lz4: compression failed");
        out->len += (size_t)(r > 0 ? r : 0);
        if (n == 0 && r <= 0)
            vg_buf_putc(out, 0); /* LZ4's encoding of nothing: one empty literal token */
        return VG_OK;
    }
    case PARQUET_GZIP: return gzip_compress(level, src, n, out, e);
    case PARQUET_CODEC_OTHER: break;
    }
    return vg_err_set(e, VG_EINVAL, "cannot write codec %s", parquet_codec_name(c));
}

/* ------------------------------------------------------------------------ */
/* Decompression                                                            */
/* ------------------------------------------------------------------------ */

static int gzip_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, vg_err *e)
{
    z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
    if (n > UINT_MAX || dst_len > UINT_MAX)
        return vg_err_set(e, VG_ECORRUPT, "gzip page too large");
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header, detected */
        return vg_err_set(e, VG_ENOMEM, "gzip: cannot start a stream");
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)dst_len;
    int zr = inflate(&zs, Z_FINISH);
    size_t got = zs.total_out;
    inflateEnd(&zs);
    if (zr != Z_STREAM_END)
        return vg_err_set(e, VG_ECORRUPT, "gzip: %s",
                          zr == Z_BUF_ERROR ? "more data than the "
                                              "page header says, or cut short"
                                            : "malformed stream");
    if (got != dst_len)
        return vg_err_set(e, VG_ECORRUPT, "gzip: %zu bytes, page header says %zu", got, dst_len);
    return VG_OK;
}

int pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, vg_err *e)
{
    switch (codec) {
    case PQ_CODEC_ZSTD: {
        ZSTD_DCtx *dx = thread_dctx();
        if (!dx)
            return vg_err_set(e, VG_ENOMEM, "out of memory");
        size_t r = ZSTD_decompressDCtx(dx, dst, dst_len, src, n);
        if (ZSTD_isError(r))
            return vg_err_set(e, VG_ECORRUPT, "zstd: %s", ZSTD_getErrorName(r));
        if (r != dst_len)
            return vg_err_set(e, VG_ECORRUPT, "zstd: %zu bytes, page header says %zu", r, dst_len);
        return VG_OK;
    }
    case PQ_CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
            return vg_err_set(e, VG_ECORRUPT, "snappy: malformed length");
        if (len != dst_len)
            return vg_err_set(e, VG_ECORRUPT, "snappy: %zu bytes, page header says %zu", len,
                              dst_len);
        if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK ||
            len != dst_len)
            return vg_err_set(e, VG_ECORRUPT, "snappy: malformed data");
        return VG_OK;
    }
    case PQ_CODEC_LZ4_RAW: {
        if (n > INT_MAX || dst_len > INT_MAX)
            return vg_err_set(e, VG_ECORRUPT, "lz4: page too large");
        int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_len);
        if (r < 0)
            return vg_err_set(e, VG_ECORRUPT, "lz4: malformed data");
        if ((size_t)r != dst_len)
            return vg_err_set(e, VG_ECORRUPT, "lz4: %d bytes, page header says %zu", r, dst_len);
        return VG_OK;
    }
    case PQ_CODEC_GZIP: return gzip_decompress(src, n, dst, dst_len, e);
    case PQ_CODEC_UNCOMPRESSED:
        if (n != dst_len)
            return vg_err_set(e, VG_ECORRUPT, "uncompressed page of %zu bytes, header says %zu", n,
                              dst_len);
        memcpy(dst, src, n);
        return VG_OK;
    }
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                  "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return vg_err_set(e, VG_EINVAL, "compression %s is not supported",
                      codec >= 0 && codec <= 7 ? names[codec] : "unknown");
}
