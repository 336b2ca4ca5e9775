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
 * helper marks a slot LOADING before it starts; the scan waits for a LOADING slot,
 * takes a DONE one, and decodes an IDLE one itself (marking it TAKEN so the helper
 * skips it). Buffer chunks need no decoding and are left to the scan. A decoding
 * error is handed to the scan when it takes that source, as if it had decoded it. */
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
    bool stop;
    vg_err err;     /* of the one failed slot (the helper stops after a failure) */
    uint32_t err_at;
    pf_slot *slots; /* by order index */
};

static int decode(const qop_load_args *a, const persist_source *src, buffer_chunk **out,
                  vg_err *e)
{
    return persist_source_load(src, a->db_id, a->table_id, a->ncols_table, a->cols, a->ncols,
                               out, e);
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

static void *helper_main(void *arg)
{
    qop_prefetch *p = arg;
    vg_err e = {0};
    pthread_mutex_lock(&p->mu);
    for (uint32_t i; (i = next_to_decode(p)) != UINT32_MAX;) {
        p->slots[i].state = SLOT_LOADING;
        pthread_mutex_unlock(&p->mu);
        buffer_chunk *c = NULL;
        int rc = decode(&p->args, &p->src[p->order[i]], &c, &e);
        pthread_mutex_lock(&p->mu);
        p->slots[i] = (pf_slot){SLOT_DONE, rc, c};
        if (rc != VG_OK) {
            p->err = e;
            p->err_at = i;
            p->stop = true; /* the scan fails at this source; nothing after it matters */
        }
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
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
    while (p->slots[i].state == SLOT_LOADING)
        pthread_cond_wait(&p->done, &p->mu);
    pf_slot got = p->slots[i];
    p->slots[i].state = SLOT_TAKEN;
    p->slots[i].chunk = NULL;
    if (got.state == SLOT_DONE && got.rc != VG_OK && e && p->err_at == i)
        *e = p->err;
    pthread_mutex_unlock(&p->mu);
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
    for (uint32_t i = 0; i < p->n; i++)
        if (p->slots[i].state == SLOT_DONE && p->slots[i].chunk)
            buffer_chunk_unref(p->slots[i].chunk);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    vg_free(p->slots);
    vg_free(p);
}
