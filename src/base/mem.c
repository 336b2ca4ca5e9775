/* base/mem.c: the counting allocator (with fault injection), the big-block cache,
 * and arenas.
 *
 * Every block carries a 16-byte header holding its size, so vg_mem_used() is exact
 * and memory limits and back-pressure can trust it; a big block's header also holds
 * its capacity.
 *
 * Big blocks (256 KiB and up) are recycled: glibc serves them with mmap (the server
 * sets M_MMAP_THRESHOLD so that freed buffer chunks go back to the system), and a
 * fresh mapping costs a page fault and a zeroed page per 4 KiB on first touch. A scan
 * of Parquet files allocates and frees a few such blocks per column per row group,
 * and spent more time in the kernel than decoding. So vg_free keeps big blocks, up to
 * BIG_CACHE_MAX bytes in all, and vg_malloc reuses one whose capacity fits (wasting
 * at most an eighth of what is asked: see fits_block). Under AddressSanitizer the
 * cache is off, so a use after free is still caught. */
#include "base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16
#define BIG_MIN ((size_t)256 * 1024)
#define BIG_CACHE_MAX ((size_t)64 << 20)
#define BIG_CLASSES 64

#if defined(__SANITIZE_ADDRESS__)
#define BIG_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_CACHE 0
#endif
#endif
#ifndef BIG_CACHE
#define BIG_CACHE 1
#endif

static atomic_size_t mem_used;
static atomic_long fail_countdown;

static bool injected_failure(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n <= 0)
        return false;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void vg_mem_fail_after(long n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }

size_t vg_mem_used(void) { return atomic_load_explicit(&mem_used, memory_order_relaxed); }

/* ---- the header: size asked for, then capacity (0 for a block below BIG_MIN) ---- */

static void hdr_set(char *base, size_t n, size_t cap)
{
    memcpy(base, &n, sizeof n);
    memcpy(base + sizeof n, &cap, sizeof cap);
}

static size_t hdr_size(const char *base)
{
    size_t n;
    memcpy(&n, base, sizeof n);
    return n;
}

static size_t hdr_cap(const char *base)
{
    size_t cap;
    memcpy(&cap, base + sizeof(size_t), sizeof cap);
    return cap;
}

/* ---- the big-block cache: free blocks by floor(log2(capacity)), linked through
 * their first bytes after the header ---- */

static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;
static char *big_free[BIG_CLASSES];
static size_t big_cached;

static unsigned size_class(size_t n) { return 63u - (unsigned)__builtin_clzll((unsigned long long)n); }

/* A block of capacity cap may serve total bytes when it wastes at most an eighth of
 * them. A looser fit (it was half) let the buffer's 512 KiB column vectors take the
 * 1 MiB blocks a snapshot had just freed: counted as 512 KiB, resident as 1 MiB, and
 * during a sustained load that hid ~250 MB of RSS from every count. */
static bool fits_block(size_t cap, size_t total) { return cap >= total && cap - total <= total / 8; }

static char **next_of(char *base) { return (char **)(void *)(base + HDR); }

/* A cached block of capacity in [total, total + total / 8], or NULL. */
static char *big_take(size_t total)
{
    if (!BIG_CACHE)
        return NULL;
    char *got = NULL;
    pthread_mutex_lock(&big_mu);
    for (unsigned k = size_class(total); k <= size_class(total) + 1 && k < BIG_CLASSES && !got; k++) {
        for (char **at = &big_free[k]; *at; at = next_of(*at)) {
            size_t cap = hdr_cap(*at);
            if (fits_block(cap, total)) {
                got = *at;
                *at = *next_of(got);
                big_cached -= cap;
                break;
            }
        }
    }
    pthread_mutex_unlock(&big_mu);
    return got;
}

/* Keeps the block if the cache has room; false: the caller frees it. */
static bool big_keep(char *base, size_t cap)
{
    if (!BIG_CACHE)
        return false;
    bool kept = false;
    pthread_mutex_lock(&big_mu);
    if (big_cached + cap <= BIG_CACHE_MAX) {
        unsigned k = size_class(cap);
        *next_of(base) = big_free[k];
        big_free[k] = base;
        big_cached += cap;
        kept = true;
    }
    pthread_mutex_unlock(&big_mu);
    return kept;
}

void *vg_malloc(size_t n)
{
    if (injected_failure() || n > SIZE_MAX - HDR)
        return NULL;
    size_t total = n + HDR, cap = 0;
    char *p = NULL;
    if (total >= BIG_MIN && (p = big_take(total)) != NULL)
        cap = hdr_cap(p);
    else if ((p = malloc(total)) != NULL)
        cap = total >= BIG_MIN ? total : 0;
    if (!p)
        return NULL;
    hdr_set(p, n, cap);
    atomic_fetch_add_explicit(&mem_used, n, memory_order_relaxed);
    return p + HDR;
}

void *vg_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = vg_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

static void count_resize(size_t old, size_t n)
{
    if (n >= old)
        atomic_fetch_add_explicit(&mem_used, n - old, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&mem_used, old - n, memory_order_relaxed);
}

void *vg_realloc(void *p, size_t n)
{
    if (!p)
        return vg_malloc(n);
    if (injected_failure() || n > SIZE_MAX - HDR)
        return NULL;
    char *base = (char *)p - HDR;
    size_t old = hdr_size(base), cap = hdr_cap(base), total = n + HDR;
    if (cap && fits_block(cap, total)) { /* fits the block it has */
        hdr_set(base, n, cap);
        count_resize(old, n);
        return p;
    }
    char *nb = realloc(base, total);
    if (!nb)
        return NULL;
    hdr_set(nb, n, total >= BIG_MIN ? total : 0);
    count_resize(old, n);
    return nb + HDR;
}

void vg_free(void *p)
{
    if (!p)
        return;
    char *base = (char *)p - HDR;
    atomic_fetch_sub_explicit(&mem_used, hdr_size(base), memory_order_relaxed);
    size_t cap = hdr_cap(base);
    if (cap && big_keep(base, cap))
        return;
    free(base);
}

char *vg_strndup(const char *s, size_t n)
{
    char *d = vg_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *vg_strdup(const char *s) { return vg_strndup(s, strlen(s)); }

/* ---- arenas ---- */

struct vg_arena_block {
    vg_arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) char data[];
};

void vg_arena_init(vg_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->used = 0;
}

void *vg_arena_alloc(vg_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    vg_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > a->block_size ? need : a->block_size;
        vg_arena_block *nb = vg_malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        nb->used = 0;
        /* An oversized block goes behind the head so the head keeps its free space. */
        if (b && need > a->block_size) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += n;
    return p;
}

void *vg_arena_calloc(vg_arena *a, size_t n)
{
    void *p = vg_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *vg_arena_strndup(vg_arena *a, const char *s, size_t n)
{
    char *d = vg_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void vg_arena_reset(vg_arena *a)
{
    vg_arena_block *keep = NULL;
    for (vg_arena_block *b = a->head; b;) {
        vg_arena_block *next = b->next;
        if (!keep && b->cap == a->block_size) {
            keep = b;
            keep->used = 0;
        } else {
            vg_free(b);
        }
        b = next;
    }
    if (keep)
        keep->next = NULL;
    a->head = keep;
    a->used = 0;
}

void vg_arena_free(vg_arena *a)
{
    for (vg_arena_block *b = a->head; b;) {
        vg_arena_block *next = b->next;
        vg_free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
