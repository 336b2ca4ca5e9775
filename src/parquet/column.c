/*
 * parquet/column.c: decodes one column chunk into typed arrays.
 *
 * Walks the chunk's pages (an optional dictionary page, then data pages v1 or v2),
 * checks each page's size, bounds and CRC before touching it, decompresses it into a
 * buffer of the size its header promises (capped), decodes the definition levels,
 * decodes the non-null values densely at the rows' position in the output and then
 * spreads them out backwards to their rows. Values are converted to the column's
 * parquet_type on the way (INT32 widened, FLOAT to double, millis/micros/days to ns,
 * decimals to double).
 *
 * Every failure names the column, the row group and the byte offset of the page.
 */
#include "parquet_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct scratch {
    void *p;
    size_t cap;
};

typedef struct decoder {
    const parquet_file *f;
    const pq_column *c;
    uint32_t col, rg;
    vg_arena *a;
    parquet_column_out *out;
    const parquet_dest *dst; /* the caller's memory for fixed-width values, or NULL */
    vg_err *e;
    int codec;
    size_t elem; /* bytes per output value */
    uint32_t nrows;
    uint32_t done;      /* rows decoded so far */
    size_t chunk_bytes; /* decoded so far, against lim.max_chunk_bytes */
    /* dictionary, converted to the output type */
    bool has_dict;
    bool all_dict; /* every data page so far was dictionary-encoded */
    /* A STRING column read for its ids (parquet_dest.ids): while every data page is
     * dictionary-encoded, ids go to dst->ids and no string per row is made. */
    bool ids_only;
    uint32_t ndict;
    uint8_t *dict;
    /* scratch, vg_malloc'd and reused from page to page; one per use, because a
     * page's bytes, its levels and its ids are all alive at once */
    struct scratch page, tmp, levels, ids;
} decoder;

/* ------------------------------------------------------------------------ */
/* Conversions                                                              */
/* ------------------------------------------------------------------------ */

int pq_convert_i64(const pq_column *c, int64_t *v, size_t n, vg_err *e)
{
    switch (c->conv) {
    case PQ_CONV_NONE: return VG_OK;
    case PQ_CONV_SCALE:
        for (size_t i = 0; i < n; i++)
            if (__builtin_mul_overflow(v[i], c->scale, &v[i]))
                return vg_err_set(e, VG_EINVAL,
                                  "%s value is outside the nanosecond "
                                  "timestamp range (years 1677 to 2262)",
                                  c->info.logical);
        return VG_OK;
    case PQ_CONV_U32:
        for (size_t i = 0; i < n; i++)
            v[i] = (int64_t)(uint32_t)v[i];
        return VG_OK;
    case PQ_CONV_DECIMAL:
        for (size_t i = 0; i < n; i++) {
            double d = (double)v[i] / c->dec_div;
            memcpy(&v[i], &d, sizeof d);
        }
        return VG_OK;
    }
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Scratch                                                                  */
/* ------------------------------------------------------------------------ */

static void *grow(struct scratch *s, size_t n)
{
    if (n > s->cap || !s->p) {
        void *p = vg_realloc(s->p, n ? n : 1);
        if (!p)
            return NULL;
        s->p = p;
        s->cap = n;
    }
    return s->p;
}

/* The code of the error a callee already recorded. */
static int code(const decoder *d)
{
    return d->e->code != VG_OK ? (int)d->e->code : VG_ECORRUPT;
}

static int oom(decoder *d)
{
    return vg_err_set(d->e, VG_ENOMEM, "out of memory");
}

static int bad(decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(decoder *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->e->msg, sizeof d->e->msg, fmt, ap);
    va_end(ap);
    d->e->code = VG_ECORRUPT;
    return VG_ECORRUPT;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* 2440588 is the Julian day of 1970-01-01. */
static int int96_to_ns(decoder *d, const uint8_t *p, int64_t *out)
{
    int64_t nanos = (int64_t)pq_load_u64(p), day = (int64_t)(int32_t)pq_load_u32(p + 8) - 2440588;
    int64_t ns;
    if (__builtin_mul_overflow(day, 86400 * VG_NS_PER_SEC, &ns) ||
        __builtin_add_overflow(ns, nanos, out))
        return vg_err_set(d->e, VG_EINVAL, "INT96 timestamp is outside the nanosecond range");
    return VG_OK;
}

static int need(decoder *d, size_t len, size_t n, size_t size, const char *what)
{
    if (n > len / size)
        return bad(d, "PLAIN %s: %zu bytes for %zu values", what, len, n);
    return VG_OK;
}

/* PLAIN: n values of the physical type into dst (output type, dense). */
static int decode_plain(decoder *d, const uint8_t *p, size_t len, size_t n, uint8_t *dst)
{
    int64_t *i64 = (int64_t *)dst;
    double *f64 = (double *)dst;
    switch ((int)d->c->info.physical) {
    case PARQUET_PHYS_BOOLEAN: return pq_plain_bools_decode(p, len, dst, n, d->e);
    case PARQUET_PHYS_BYTE_ARRAY: return pq_plain_strings_decode(p, len, (vg_str *)dst, n, d->e);
    case PARQUET_PHYS_INT32:
        if (need(d, len, n, 4, "INT32") != VG_OK)
            return VG_ECORRUPT;
        for (size_t i = 0; i < n; i++)
            i64[i] = (int32_t)pq_load_u32(p + 4 * i);
        return pq_convert_i64(d->c, i64, n, d->e);
    case PARQUET_PHYS_INT64:
        if (need(d, len, n, 8, "INT64") != VG_OK)
            return VG_ECORRUPT;
        for (size_t i = 0; i < n; i++)
            i64[i] = (int64_t)pq_load_u64(p + 8 * i);
        return pq_convert_i64(d->c, i64, n, d->e);
    case PARQUET_PHYS_INT96:
        if (need(d, len, n, 12, "INT96") != VG_OK)
            return VG_ECORRUPT;
        for (size_t i = 0; i < n; i++)
            if (int96_to_ns(d, p + 12 * i, &i64[i]) != VG_OK)
                return VG_EINVAL;
        return VG_OK;
    case PARQUET_PHYS_FLOAT:
        if (need(d, len, n, 4, "FLOAT") != VG_OK)
            return VG_ECORRUPT;
        for (size_t i = 0; i < n; i++) {
            float x;
            memcpy(&x, p + 4 * i, 4);
            f64[i] = x;
        }
        return VG_OK;
    case PARQUET_PHYS_DOUBLE:
        if (need(d, len, n, 8, "DOUBLE") != VG_OK)
            return VG_ECORRUPT;
        memcpy(f64, p, n * 8);
        return VG_OK;
    }
    return vg_err_set(d->e, VG_EINVAL, "unsupported physical type");
}

static int decode_bss(decoder *d, const uint8_t *p, size_t len, size_t n, uint8_t *dst)
{
    int phys = (int)d->c->info.physical;
    if (phys == PARQUET_PHYS_DOUBLE || phys == PARQUET_PHYS_INT64) {
        if (pq_bss_decode(p, len, dst, n, 8, d->e) != VG_OK)
            return VG_ECORRUPT;
        return phys == PARQUET_PHYS_INT64 ? pq_convert_i64(d->c, (int64_t *)dst, n, d->e) : VG_OK;
    }
    if (phys != PARQUET_PHYS_FLOAT && phys != PARQUET_PHYS_INT32)
        return bad(d, "BYTE_STREAM_SPLIT does not apply to this type");
    uint8_t *tmp = grow(&d->tmp, n * 4);
    if (!tmp)
        return oom(d);
    if (pq_bss_decode(p, len, tmp, n, 4, d->e) != VG_OK)
        return VG_ECORRUPT;
    /* the un-split 4-byte values read like PLAIN ones */
    return decode_plain(d, tmp, n * 4, n, dst);
}

static int decode_delta(decoder *d, const uint8_t *p, size_t len, size_t n, uint8_t *dst)
{
    int phys = (int)d->c->info.physical;
    size_t count, used;
    if (phys != PARQUET_PHYS_INT32 && phys != PARQUET_PHYS_INT64)
        return bad(d, "DELTA_BINARY_PACKED does not apply to this type");
    if (pq_delta_decode(p, len, phys == PARQUET_PHYS_INT32 ? 32 : 64, (int64_t *)dst, n, &count,
                        &used, d->e) != VG_OK)
        return VG_ECORRUPT;
    if (count != n)
        return bad(d, "DELTA_BINARY_PACKED holds %zu values, the page %zu", count, n);
    return pq_convert_i64(d->c, (int64_t *)dst, n, d->e);
}

static int decode_rle_bools(decoder *d, const uint8_t *p, size_t len, size_t n, uint8_t *dst)
{
    if (d->c->info.physical != PARQUET_PHYS_BOOLEAN)
        return bad(d, "RLE values apply only to booleans");
    if (len < 4 || pq_load_u32(p) > len - 4)
        return bad(d, "RLE booleans: length prefix runs past the end");
    uint32_t *tmp = grow(&d->tmp, n * sizeof *tmp);
    if (!tmp)
        return oom(d);
    if (pq_rle_decode(p + 4, pq_load_u32(p), 1, tmp, n, d->e) != VG_OK)
        return VG_ECORRUPT;
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)tmp[i];
    return VG_OK;
}

/* Every id below the dictionary's size. A pass without branches first (four ids at
 * a time: a dictionary has at most INT32_MAX entries, so ids compare as signed ones
 * once none has the top bit): the ids of a valid page all pass. */
static int check_ids(decoder *d, const uint32_t *ids, size_t n)
{
    size_t i = 0;
    int over = d->ndict == 0 && n > 0;
#if defined(__SSE2__)
    if (d->ndict > 0) {
        __m128i last = _mm_set1_epi32((int32_t)(d->ndict - 1)), acc = _mm_setzero_si128();
        for (; i + 4 <= n; i += 4) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(ids + i));
            acc = _mm_or_si128(acc, _mm_or_si128(_mm_cmpgt_epi32(x, last), _mm_srai_epi32(x, 31)));
        }
        over |= _mm_movemask_epi8(acc) != 0;
    }
#endif
    for (; i < n; i++)
        over |= ids[i] >= d->ndict;
    if (!over)
        return VG_OK;
    for (i = 0; i < n; i++)
        if (ids[i] >= d->ndict)
            return bad(d, "dictionary id %u of value %zu is not below the dictionary's %u", ids[i],
                       i, d->ndict);
    return VG_OK;
}

/* Dictionary ids: a bit-width byte and the hybrid, then a gather. For strings the
 * ids also land in out->ids (at the same dense position, spread later); a column read
 * for its ids alone (ids_only) skips the gather. */
static int decode_dict_ids(decoder *d, const uint8_t *p, size_t len, size_t n, uint8_t *dst)
{
    if (!d->has_dict)
        return bad(d, "dictionary-encoded page without a dictionary page");
    if (len < 1)
        return bad(d, "dictionary page ids: no bit width");
    uint32_t *ids = d->out->ids ? d->out->ids + d->done : grow(&d->ids, n * sizeof *ids);
    if (!ids)
        return oom(d);
    if (pq_rle_decode(p + 1, len - 1, p[0], ids, n, d->e) != VG_OK)
        return VG_ECORRUPT;
    if (d->ids_only && d->out->ids)
        return check_ids(d, ids, n);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= d->ndict)
            return bad(d, "dictionary id %u of value %zu is not below the dictionary's %u", ids[i],
                       i, d->ndict);
        memcpy(dst + i * d->elem, d->dict + (size_t)ids[i] * d->elem, d->elem);
    }
    return VG_OK;
}

static int decode_values(decoder *d, int enc, const uint8_t *p, size_t len, size_t n, uint8_t *dst)
{
    bool strings = d->c->info.physical == PARQUET_PHYS_BYTE_ARRAY;
    switch (enc) {
    case PQ_ENC_PLAIN: return decode_plain(d, p, len, n, dst);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: return decode_dict_ids(d, p, len, n, dst);
    case PQ_ENC_DELTA_BINARY_PACKED: return decode_delta(d, p, len, n, dst);
    case PQ_ENC_BYTE_STREAM_SPLIT: return decode_bss(d, p, len, n, dst);
    case PQ_ENC_RLE: return decode_rle_bools(d, p, len, n, dst);
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (!strings)
            return bad(d, "DELTA_LENGTH_BYTE_ARRAY applies only to byte arrays");
        return pq_delta_length_decode(p, len, (vg_str *)dst, n, d->a, d->e);
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        if (!strings)
            return bad(d, "DELTA_BYTE_ARRAY applies only to byte arrays");
        size_t left = d->f->lim.max_chunk_bytes - d->chunk_bytes;
        int rc = pq_delta_strings_decode(p, len, (vg_str *)dst, n, left, d->a, d->e);
        for (size_t i = 0; rc == VG_OK && i < n; i++)
            d->chunk_bytes += ((vg_str *)dst)[i].len;
        return rc;
    }
    }
    return vg_err_set(d->e, VG_EINVAL, "encoding %d is not supported", enc);
}

/* ------------------------------------------------------------------------ */
/* Levels and spreading                                                     */
/* ------------------------------------------------------------------------ */

/* Sets validity bits [from, from + n). */
static void set_valid(uint8_t *valid, size_t from, size_t n)
{
    size_t i = from, end = from + n;
    for (; i < end && (i & 7); i++)
        valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    if (end - i >= 8) {
        memset(valid + (i >> 3), 0xff, (end - i) >> 3);
        i += (end - i) & ~(size_t)7;
    }
    for (; i < end; i++)
        valid[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* spread() for ids alone: null rows get id 0. */
static void spread_ids(decoder *d, const uint32_t *levels, size_t n, size_t nn, uint32_t *ids)
{
    uint8_t *valid = d->out->valid;
    size_t src = nn;
    for (size_t i = n; i-- > 0;) {
        if (levels[i]) {
            ids[i] = ids[--src];
            size_t row = d->done + i;
            valid[row >> 3] |= (uint8_t)(1u << (row & 7));
        } else {
            ids[i] = 0;
        }
    }
}

/* Moves the nn dense values at row `done` to their rows, backwards so nothing is
 * overwritten before it moves; null rows get zeros. Also sets the validity bits. */
static void spread(decoder *d, const uint32_t *levels, size_t n, size_t nn)
{
    parquet_column_out *o = d->out;
    uint32_t *ids = o->ids ? o->ids + d->done : NULL;
    if (d->ids_only && ids) { /* no string values to move */
        spread_ids(d, levels, n, nn, ids);
        return;
    }
    uint8_t *base = (uint8_t *)o->v.b + (size_t)d->done * d->elem;
    size_t src = nn;
    for (size_t i = n; i-- > 0;) {
        uint8_t *slot = base + i * d->elem;
        if (levels[i]) {
            src--;
            if (src != i) {
                memcpy(slot, base + src * d->elem, d->elem);
                if (ids)
                    ids[i] = ids[src];
            }
            size_t row = d->done + i;
            o->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
        } else {
            memset(slot, 0, d->elem);
            if (d->elem == sizeof(vg_str))
                ((vg_str *)slot)->ptr = "";
            if (ids)
                ids[i] = 0;
        }
    }
}

/* True when RLE levels of bit width 1 open with one repeated run of at least n ones,
 * as a writer puts a page without nulls: the common case, decoded without expanding
 * a level per row. */
static bool one_run_of_ones(const uint8_t *p, size_t len, size_t n)
{
    uint64_t header = 0;
    size_t i = 0;
    for (int shift = 0; i < len && shift < 64; shift += 7) {
        uint8_t b = p[i++];
        header |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return !(header & 1) && (header >> 1) >= n && i < len && p[i] == 1;
    }
    return false;
}

/* Definition levels (max level 1) of n rows; returns the count of non-null rows in
 * *nn. v1 RLE levels carry a 4-byte length, BIT_PACKED ones are MSB-first. */
static int decode_levels(decoder *d, int enc, const uint8_t *p, size_t len, bool prefixed, size_t n,
                         uint32_t *levels, size_t *used, size_t *nn)
{
    if (enc == PQ_ENC_BIT_PACKED) {
        size_t bytes = (n + 7) / 8;
        if (bytes > len)
            return bad(d, "BIT_PACKED levels run past the end");
        for (size_t i = 0; i < n; i++)
            levels[i] = (p[i >> 3] >> (7 - (i & 7))) & 1;
        *used = bytes;
    } else if (enc == PQ_ENC_RLE) {
        size_t body = len, skip = 0;
        if (prefixed) {
            if (len < 4 || pq_load_u32(p) > len - 4)
                return bad(d, "definition levels: length prefix runs past the end");
            body = pq_load_u32(p);
            skip = 4;
        }
        *used = skip + body;
        if (one_run_of_ones(p + skip, body, n)) {
            *nn = n; /* no nulls: the values are dense; levels are not needed */
            return VG_OK;
        }
        if (pq_rle_decode(p + skip, body, 1, levels, n, d->e) != VG_OK)
            return VG_ECORRUPT;
    } else {
        return bad(d, "definition levels in encoding %d", enc);
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (levels[i] > 1)
            return bad(d, "definition level %u above the column's maximum 1", levels[i]);
        count += levels[i];
    }
    *nn = count;
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Pages                                                                    */
/* ------------------------------------------------------------------------ */

/* The page's bytes after decompression. Strings point into them, so string pages
 * live in the caller's arena; other pages use scratch or the input itself. */
static const uint8_t *page_bytes(decoder *d, const uint8_t *src, size_t n, size_t size,
                                 bool compressed)
{
    bool strings = d->c->info.physical == PARQUET_PHYS_BYTE_ARRAY;
    if (!compressed || d->codec == PQ_CODEC_UNCOMPRESSED) {
        if (n != size) {
            bad(d, "uncompressed page of %zu bytes, header says %zu", n, size);
            return NULL;
        }
        if (!strings)
            return src;
    }
    uint8_t *dst = strings ? vg_arena_alloc(d->a, size ? size : 1) : grow(&d->page, size);
    if (!dst) {
        oom(d);
        return NULL;
    }
    int rc = compressed ? pq_decompress(d->codec, src, n, dst, size, d->e)
                        : (memcpy(dst, src, n), VG_OK);
    return rc == VG_OK ? dst : NULL;
}

static int dict_page(decoder *d, const pq_page_header *h, const uint8_t *src)
{
    if (d->has_dict)
        return bad(d, "a second dictionary page");
    if (d->done > 0)
        return bad(d, "dictionary page after data pages");
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return vg_err_set(d->e, VG_EINVAL, "dictionary page in encoding %d", h->encoding);
    /* every entry takes bytes of the page (4 at least, but booleans), which bounds
     * the allocation below by a small multiple of the capped page size */
    size_t min_bytes = d->c->info.physical == PARQUET_PHYS_BOOLEAN ? 0 : 4;
    if (h->num_values < 0 ||
        (min_bytes ? (size_t)h->num_values > (size_t)h->uncompressed_size / min_bytes
                   : (size_t)h->num_values > (size_t)h->uncompressed_size * 8))
        return bad(d, "dictionary of %d values in %d bytes", h->num_values, h->uncompressed_size);
    const uint8_t *p =
        page_bytes(d, src, (size_t)h->compressed_size, (size_t)h->uncompressed_size, true);
    if (!p)
        return code(d);
    /* the dictionary lives in the arena: string chunks hand it out as out->dict */
    d->dict = vg_arena_alloc(d->a, (size_t)h->num_values * d->elem + 1);
    if (!d->dict)
        return oom(d);
    d->ndict = (uint32_t)h->num_values;
    d->has_dict = true;
    int rc = decode_plain(d, p, (size_t)h->uncompressed_size, d->ndict, d->dict);
    if (rc == VG_OK && d->out->type == PARQUET_STRING) {
        d->out->ids = d->ids_only ? d->dst->ids
                                  : vg_arena_alloc(d->a, (size_t)d->nrows * sizeof(uint32_t) + 4);
        if (!d->out->ids)
            return oom(d);
    }
    return rc;
}

/* The values array of an ids_only column, made when a page needs it. */
static int alloc_values(decoder *d)
{
    d->out->v.b = vg_arena_alloc(d->a, (size_t)d->nrows * d->elem + 16);
    return d->out->v.b ? VG_OK : oom(d);
}

/* An ids_only column met a page that is not dictionary-encoded: the rows decoded so
 * far get their strings from their ids, as if they had been gathered all along. */
static int strings_from_ids(decoder *d)
{
    parquet_column_out *o = d->out;
    if (!o->v.b && alloc_values(d) != VG_OK)
        return VG_ENOMEM;
    const vg_str *dict = (const vg_str *)d->dict;
    for (uint32_t r = 0; r < d->done; r++) {
        bool ok = !o->valid || ((o->valid[r >> 3] >> (r & 7)) & 1);
        o->v.s[r] = ok ? dict[o->ids[r]] : (vg_str){"", 0};
    }
    d->ids_only = false;
    return VG_OK;
}

/* The part common to both page versions once levels and value bytes are known. */
static int data_values(decoder *d, int enc, const uint8_t *p, size_t len, size_t n,
                       const uint32_t *levels, size_t nn)
{
    bool dict = enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_PLAIN_DICTIONARY;
    if (!dict && d->all_dict && d->out->ids) {
        if (d->ids_only && strings_from_ids(d) != VG_OK)
            return VG_ENOMEM;
        d->all_dict = false; /* ids stop meaning anything; the strings still do */
        d->out->ids = NULL;
    }
    bool ids_alone = dict && d->ids_only && d->out->ids;
    if (!ids_alone && !d->out->v.b && alloc_values(d) != VG_OK)
        return VG_ENOMEM;
    uint8_t *dst = ids_alone ? NULL : (uint8_t *)d->out->v.b + (size_t)d->done * d->elem;
    int rc = decode_values(d, enc, p, len, nn, dst);
    if (rc != VG_OK)
        return rc;
    if (levels && nn < n)
        spread(d, levels, n, nn);
    else if (levels) /* no nulls in this page: the values are in place already */
        set_valid(d->out->valid, d->done, n);
    d->out->null_count += (uint32_t)(n - nn);
    d->done += (uint32_t)n;
    return VG_OK;
}

static int data_page_v1(decoder *d, const pq_page_header *h, const uint8_t *src)
{
    size_t n = (size_t)h->num_values, nn = n, used = 0;
    const uint8_t *p =
        page_bytes(d, src, (size_t)h->compressed_size, (size_t)h->uncompressed_size, true);
    if (!p)
        return code(d);
    size_t len = (size_t)h->uncompressed_size;
    uint32_t *levels = NULL;
    if (d->c->max_def > 0) {
        if (!(levels = grow(&d->levels, n * sizeof *levels)))
            return oom(d);
        if (decode_levels(d, h->def_encoding, p, len, true, n, levels, &used, &nn) != VG_OK)
            return VG_ECORRUPT;
    }
    return data_values(d, h->encoding, p + used, len - used, n, levels, nn);
}

static int data_page_v2(decoder *d, const pq_page_header *h, const uint8_t *src)
{
    size_t n = (size_t)h->num_values, nn = n, used;
    size_t csize = (size_t)h->compressed_size, usize = (size_t)h->uncompressed_size;
    if (h->def_len < 0 || h->rep_len < 0 ||
        (size_t)h->def_len + (size_t)h->rep_len > (csize < usize ? csize : usize))
        return bad(d, "v2 levels of %d + %d bytes do not fit the page", h->rep_len, h->def_len);
    size_t lv = (size_t)h->rep_len + (size_t)h->def_len;
    uint32_t *levels = NULL;
    if (d->c->max_def > 0) {
        if (!(levels = grow(&d->levels, n * sizeof *levels)))
            return oom(d);
        if (decode_levels(d, PQ_ENC_RLE, src + h->rep_len, (size_t)h->def_len, false, n, levels,
                          &used, &nn) != VG_OK)
            return VG_ECORRUPT;
    }
    /* the values alone are compressed, and only when the header says so */
    const uint8_t *p = page_bytes(d, src + lv, csize - lv, usize - lv, h->is_compressed);
    if (!p)
        return code(d);
    return data_values(d, h->encoding, p, usize - lv, n, levels, nn);
}

static int check_page(decoder *d, const pq_page_header *h, size_t left)
{
    if (h->compressed_size < 0 || (size_t)h->compressed_size > left)
        return bad(d, "page of %d bytes runs past the column chunk (%zu bytes left)",
                   h->compressed_size, left);
    if (h->uncompressed_size < 0)
        return bad(d, "negative uncompressed size %d", h->uncompressed_size);
    if ((size_t)h->uncompressed_size > d->f->lim.max_page_bytes)
        return vg_err_set(d->e, VG_ELIMIT, "page of %d bytes exceeds the %zu-byte limit",
                          h->uncompressed_size, d->f->lim.max_page_bytes);
    if ((size_t)h->uncompressed_size > d->f->lim.max_chunk_bytes - d->chunk_bytes)
        return vg_err_set(d->e, VG_ELIMIT, "column chunk decodes to more than %zu bytes",
                          d->f->lim.max_chunk_bytes);
    d->chunk_bytes += (size_t)h->uncompressed_size;
    if ((h->type == PQ_PAGE_DATA || h->type == PQ_PAGE_DATA_V2 || h->type == PQ_PAGE_DICT) &&
        !h->has_body)
        return bad(d, "page header of type %d lacks its type's header", h->type);
    if (h->type == PQ_PAGE_DATA || h->type == PQ_PAGE_DATA_V2) {
        if (h->num_values < 0 || (uint32_t)h->num_values > d->nrows - d->done)
            return bad(d, "page of %d values overflows the row group's %u rows (%u done)",
                       h->num_values, d->nrows, d->done);
    }
    return VG_OK;
}

static int one_page(decoder *d, const pq_page_header *h, const uint8_t *body)
{
    if (h->has_crc && !d->f->lim.no_crc_check &&
        pq_crc32(body, (size_t)h->compressed_size) != h->crc)
        return bad(d, "page checksum mismatch");
    switch (h->type) {
    case PQ_PAGE_DICT: return dict_page(d, h, body);
    case PQ_PAGE_DATA: return data_page_v1(d, h, body);
    case PQ_PAGE_DATA_V2: return data_page_v2(d, h, body);
    }
    return VG_OK; /* index pages and unknown kinds carry nothing we need */
}

static int walk_pages(decoder *d, const uint8_t *chunk, size_t len, uint64_t base)
{
    size_t pos = 0;
    while (d->done < d->nrows) {
        pq_page_header h;
        size_t used;
        uint64_t at = base + pos;
        if (pos >= len)
            return vg_err_set(d->e, VG_ECORRUPT,
                              "parquet: column '%s' row group %u: column "
                              "chunk ends after %u of %u rows",
                              d->c->info.name, d->rg, d->done, d->nrows);
        int rc = pq_read_page_header(chunk + pos, len - pos, at, &h, &used, d->e);
        if (rc == VG_OK) {
            pos += used;
            rc = check_page(d, &h, len - pos);
        }
        if (rc == VG_OK) {
            rc = one_page(d, &h, chunk + pos);
            pos += (size_t)h.compressed_size;
        }
        if (rc != VG_OK) {
            pq_err_prefix(d->e, "parquet: column '%s' row group %u: page at offset %llu: ",
                          d->c->info.name, d->rg, (unsigned long long)at);
            return rc;
        }
    }
    return VG_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

static int alloc_out(decoder *d)
{
    parquet_column_out *o = d->out;
    size_t n = d->nrows;
    bool fixed = d->c->info.physical != PARQUET_PHYS_BYTE_ARRAY && d->elem != sizeof(vg_str);
    if (d->dst && fixed && d->dst->rows == n) {
        o->v.b = d->dst->values;
        o->valid = d->c->max_def > 0 ? d->dst->valid : NULL;
        return VG_OK;
    }
    d->ids_only = d->dst && d->dst->ids && d->dst->rows == n && o->type == PARQUET_STRING;
    if (!d->ids_only && alloc_values(d) != VG_OK) /* else made when a page needs it */
        return VG_ENOMEM;
    if (d->c->max_def > 0) {
        o->valid = vg_arena_calloc(d->a, (n + 7) / 8 + 1);
        if (!o->valid)
            return oom(d);
    }
    return VG_OK;
}

/* The chunk's bytes: in place for a file in memory, else read with pread. */
static const uint8_t *chunk_bytes(decoder *d, const parquet_chunk_info *ci, uint8_t **owned)
{
    *owned = NULL;
    if (d->f->mem)
        return d->f->mem + ci->offset;
    uint8_t *p = vg_malloc(ci->compressed_bytes ? (size_t)ci->compressed_bytes : 1);
    size_t got;
    if (!p) {
        oom(d);
        return NULL;
    }
    if (vg_pread_all(d->f->fd, p, (size_t)ci->compressed_bytes, ci->offset, &got, d->e) != VG_OK ||
        got != ci->compressed_bytes) {
        if (got != ci->compressed_bytes && d->e->code == VG_OK)
            bad(d, "file shrank while being read");
        vg_free(p);
        return NULL;
    }
    *owned = p;
    return p;
}

static int start(decoder *d, uint32_t rg, uint32_t col)
{
    const parquet_file *f = d->f;
    if (rg >= f->meta.nrow_groups || col >= f->meta.ncols)
        return vg_err_set(d->e, VG_EINVAL,
                          "parquet: no column %u in row group %u (the file has "
                          "%u columns, %u row groups)",
                          col, rg, f->meta.ncols, f->meta.nrow_groups);
    d->c = &f->cols[col];
    if (d->c->info.type == PARQUET_UNSUPPORTED)
        return vg_err_set(d->e, VG_EINVAL, "parquet: column '%s': %s", d->c->info.name,
                          d->c->info.unsupported);
    uint64_t rows = f->rgs[rg].num_rows;
    if (rows > f->lim.max_row_group_rows || rows > UINT32_MAX)
        return vg_err_set(d->e, VG_ELIMIT,
                          "parquet: row group %u has %llu rows, over the limit "
                          "of %llu",
                          rg, (unsigned long long)rows,
                          (unsigned long long)f->lim.max_row_group_rows);
    d->nrows = (uint32_t)rows;
    d->codec = f->raw.rgs[rg].cols[col].codec;
    switch (d->c->info.type) {
    case PARQUET_STRING: d->elem = sizeof(vg_str); break;
    case PARQUET_BOOL: d->elem = 1; break;
    default: d->elem = 8;
    }
    return VG_OK;
}

int parquet_read_column(const parquet_file *f, uint32_t rg, uint32_t col, vg_arena *arena,
                        parquet_column_out *out, vg_err *e)
{
    return parquet_read_column_into(f, rg, col, arena, NULL, out, e);
}

int parquet_read_column_into(const parquet_file *f, uint32_t rg, uint32_t col, vg_arena *arena,
                             const parquet_dest *dst, parquet_column_out *out, vg_err *e)
{
    vg_err local;
    if (!e)
        e = &local;
    vg_err_clear(e);
    decoder d = {.f = f,   .col = col, .rg = rg, .a = arena, .out = out,
                 .dst = dst, .e = e,   .all_dict = true};
    memset(out, 0, sizeof *out);
    int rc = start(&d, rg, col);
    if (rc != VG_OK)
        return rc;
    out->type = d.c->info.type;
    out->nrows = d.nrows;
    if ((rc = alloc_out(&d)) != VG_OK)
        return rc;
    const parquet_chunk_info *ci = &f->rgs[rg].chunks[col];
    uint8_t *owned = NULL;
    const uint8_t *chunk = d.nrows ? chunk_bytes(&d, ci, &owned) : (const uint8_t *)"";
    if (!chunk)
        rc = e->code != VG_OK ? (int)e->code : VG_EIO;
    else
        rc = walk_pages(&d, chunk, (size_t)ci->compressed_bytes, ci->offset);
    vg_free(owned);
    vg_free(d.page.p);
    vg_free(d.tmp.p);
    vg_free(d.levels.p);
    vg_free(d.ids.p);
    if (rc != VG_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    if (out->null_count == 0)
        out->valid = NULL;
    if (out->ids && d.has_dict) {
        out->dict = (vg_str *)d.dict;
        out->ndict = d.ndict;
    } else {
        out->ids = NULL;
    }
    /* an ids_only column never gathered its strings; a chunk without data pages never
     * made its values array */
    if (d.ids_only && out->ids)
        out->v.s = NULL;
    else if (!out->v.b && alloc_values(&d) != VG_OK)
        rc = VG_ENOMEM;
    if (rc != VG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}
