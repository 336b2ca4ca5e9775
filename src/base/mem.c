/* base/mem.c: the counting allocator (with fault injection) and arenas.
 *
 * Every block carries a 16-byte header holding its size, so vg_mem_used() is exact
 * and memory limits and back-pressure can trust it. */
#include "base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16

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

void *vg_malloc(size_t n)
{
    if (injected_failure() || n > SIZE_MAX - HDR)
        return NULL;
    char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
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

void *vg_realloc(void *p, size_t n)
{
    if (!p)
        return vg_malloc(n);
    if (injected_failure() || n > SIZE_MAX - HDR)
        return NULL;
    char *base = (char *)p - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    char *nb = realloc(base, n + HDR);
    if (!nb)
        return NULL;
    memcpy(nb, &n, sizeof n);
    if (n >= old)
        atomic_fetch_add_explicit(&mem_used, n - old, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&mem_used, old - n, memory_order_relaxed);
    return nb + HDR;
}

void vg_free(void *p)
{
    if (!p)
        return;
    char *base = (char *)p - HDR;
    size_t n;
    memcpy(&n, base, sizeof n);
    atomic_fetch_sub_explicit(&mem_used, n, memory_order_relaxed);
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
