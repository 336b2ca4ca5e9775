/* query/prefetch.c: decoding a scan's Parquet row groups ahead, on a second thread.
 *
 * A scan over persisted files spends most of its time decompressing and decoding
 * row groups (persist_source_load), work that does not depend on what the scan does
 * with the rows. So while the scan's thread filters, merges and aggregates source i,
 * one helper thread decodes the next sources in the scan's reading order, at most
 * `ahead` of them past the last one the scan took: memory stays bounded by that many
 * decoded row groups, and a query that stops early (LIMIT) wastes at most those.
 *
 * Each source is decoded exactly once, by whichever thread gets to it first: the
 * helper marks a slot LOADING before it starts; the scan takes a DONE one, and decodes
 * an IDLE one itself (marking it TAKEN so the helper skips it). Decoding costs several
 * times what a plain aggregate does with the rows, so a scan that finds its source
 * still LOADING does not just wait: it decodes the next IDLE source within the window
 * itself (LOADING, then DONE, as the helper would), and both cores decode. Buffer chunks
 * need no decoding and are left to the scan. A decoding error is handed to the scan
 * when it takes that source, as if it had decoded it. */
#include "op_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { SLOT_IDLE, SLOT_LOADING, SLOT_DONE, SLOT_TAKEN } slot_state;

typedef struct pf_slot {
    slot_state state;
    int rc;
    buffer_chunk *chunk;
    vg_err *err; /* rc != VG_OK: what went wrong (vg_malloc'd; NULL if that failed too) */
} pf_slot;

struct qop_prefetch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the helper waits for room ahead or stop */
    pthread_cond_t done; /* the scan waits for a LOADING slot */
    const persist_source *src;
    const uint32_t *order;
    uint32_t n;
    qop_load_args args;
    uint32_t ahead;
    uint32_t next;  /* the helper's next order index to consider */
    uint32_t taken; /* the scan's last order index taken */
    bool stop;      /* set after a failure too: nothing after it matters */
    pf_slot *slots; /* by order index */
};

static int decode(const qop_load_args *a, const persist_source *src, buffer_chunk **out,
                  vg_err *e)
{
    qop_load_fn load = a->load ? a->load : persist_source_load;
    return load(src, a->db_id, a->table_id, a->ncols_table, a->cols, a->ncols, out, e);
}

/* The next order index the helper should decode, waiting for room; UINT32_MAX when
 * it is done (mu held). */
static uint32_t next_to_decode(qop_prefetch *p)
{
    for (;;) {
        while (!p->stop && p->next < p->n &&
               (p->slots[p->next].state != SLOT_IDLE || p->src[p->order[p->next]].chunk))
            p->next++;
        if (p->stop || p->next >= p->n)
            return UINT32_MAX;
        if (p->next <= p->taken + p->ahead)
            return p->next++;
        pthread_cond_wait(&p->wake, &p->mu);
    }
}

/* Decodes slot i, already marked LOADING by the caller (mu held; released while
 * decoding), and makes it DONE. */
static void load_slot(qop_prefetch *p, uint32_t i)
{
    vg_err e = {0};
    pthread_mutex_unlock(&p->mu);
    buffer_chunk *c = NULL;
    int rc = decode(&p->args, &p->src[p->order[i]], &c, &e);
    vg_err *err = NULL;
    if (rc != VG_OK && (err = vg_malloc(sizeof *err)) != NULL)
        *err = e;
    pthread_mutex_lock(&p->mu);
    p->slots[i] = (pf_slot){SLOT_DONE, rc, c, err};
    if (rc != VG_OK)
        p->stop = true; /* the scan fails at this source; nothing after it matters */
    pthread_cond_broadcast(&p->done);
}

static void *helper_main(void *arg)
{
    qop_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (uint32_t i; (i = next_to_decode(p)) != UINT32_MAX;) {
        p->slots[i].state = SLOT_LOADING;
        load_slot(p, i);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* A file source after i, within the window, that no thread has started; UINT32_MAX
 * when there is none (mu held). */
static uint32_t idle_ahead(const qop_prefetch *p, uint32_t i)
{
    if (p->stop)
        return UINT32_MAX;
    uint32_t end = p->taken + p->ahead < p->n - 1 ? p->taken + p->ahead : p->n - 1;
    for (uint32_t j = i + 1; j <= end; j++)
        if (p->slots[j].state == SLOT_IDLE && !p->src[p->order[j]].chunk)
            return j;
    return UINT32_MAX;
}

static uint32_t file_sources(const persist_source *src, const uint32_t *order, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += src[order[i]].chunk == NULL;
    return k;
}

qop_prefetch *qop_prefetch_start(const persist_source *src, const uint32_t *order, uint32_t n,
                                 const qop_load_args *args, uint32_t ahead)
{
    static long ncpu_cached;
    long ncpu = __atomic_load_n(&ncpu_cached, __ATOMIC_RELAXED);
    if (!ncpu) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        __atomic_store_n(&ncpu_cached, ncpu, __ATOMIC_RELAXED);
    }
    if (getenv("VIGIL_NO_PREFETCH") || ncpu < 2 || ahead == 0 || file_sources(src, order, n) < 2)
        return NULL; /* nothing to overlap, or no second core to do it on */
    qop_prefetch *p = vg_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->slots = vg_calloc(n, sizeof *p->slots);
    if (!p->slots) {
        vg_free(p);
        return NULL;
    }
    p->src = src;
    p->order = order;
    p->n = n;
    p->args = *args;
    p->ahead = ahead;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (pthread_create(&p->thread, NULL, helper_main, p) != 0) {
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        vg_free(p->slots);
        vg_free(p);
        return NULL; /* the scan decodes everything itself */
    }
    return p;
}

int qop_prefetch_take(qop_prefetch *p, uint32_t i, buffer_chunk **out, vg_err *e)
{
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    if (i > p->taken) {
        p->taken = i;
        pthread_cond_signal(&p->wake);
    }
    while (p->slots[i].state == SLOT_LOADING) {
        uint32_t j = idle_ahead(p, i);
        if (j == UINT32_MAX) {
            pthread_cond_wait(&p->done, &p->mu);
            continue;
        }
        p->slots[j].state = SLOT_LOADING; /* the helper's work, done here meanwhile */
        load_slot(p, j);
    }
    pf_slot got = p->slots[i];
    p->slots[i] = (pf_slot){SLOT_TAKEN, VG_OK, NULL, NULL};
    pthread_mutex_unlock(&p->mu);
    if (got.state == SLOT_DONE && got.rc != VG_OK) {
        if (e)
            *e = got.err
                     ? *got.err
                     : (vg_err){.code = (vg_code)got.rc, .msg = "out of memory reporting an error"};
        vg_free(got.err);
    }
    if (got.state == SLOT_DONE) {
        *out = got.chunk;
        return got.rc;
    }
    return decode(&p->args, &p->src[p->order[i]], out, e);
}

void qop_prefetch_stop(qop_prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->slots[i].state == SLOT_DONE && p->slots[i].chunk)
            buffer_chunk_unref(p->slots[i].chunk);
        vg_free(p->slots[i].err);
    }
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    vg_free(p->slots);
    vg_free(p);
}
