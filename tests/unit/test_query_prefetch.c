/* Unit tests for decoding a scan's file sources ahead (query/prefetch.c), with a fake
 * loader in place of persist_source_load: every file source is decoded exactly once
 * and taken in order with its own chunk; buffer chunks are left alone; the scan's
 * thread decodes later sources itself while the helper is busy with the one it wants
 * (a scan that only waited would hang on a loader that waits for a second thread);
 * a failure reaches the scan at that source with its message, and stopping early
 * drops what was decoded but not taken (ASan would see a leak). */
#include "query/op_int.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

enum { NSRC = 48 };

static persist_source g_src[NSRC];
static atomic_int g_calls[NSRC];
static atomic_int g_first_started; /* a decode has started ... */
static pthread_t g_first_thread;   /* ... on this thread */
static atomic_int g_first_ready;   /* g_first_thread is set */
static atomic_int g_other_ran;     /* a decode ran on another thread meanwhile */
static atomic_int g_first_waited_out;
static int g_fail_at = -1;

static void reset(void)
{
    for (int i = 0; i < NSRC; i++)
        atomic_store(&g_calls[i], 0);
    atomic_store(&g_first_started, 0);
    atomic_store(&g_first_ready, 0);
    atomic_store(&g_other_ran, 0);
    atomic_store(&g_first_waited_out, 0);
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* The first decode waits (up to 5 s) until some decode runs on another thread. */
static void first_waits_for_another(void)
{
    int expect = 0;
    if (atomic_compare_exchange_strong(&g_first_started, &expect, 1)) {
        g_first_thread = pthread_self();
        atomic_store(&g_first_ready, 1);
        for (int t = 0; t < 50000 && !atomic_load(&g_other_ran); t++)
            sleep_us(100);
        if (!atomic_load(&g_other_ran))
            atomic_store(&g_first_waited_out, 1);
        return;
    }
    while (!atomic_load(&g_first_ready))
        sleep_us(10);
    if (!pthread_equal(g_first_thread, pthread_self()))
        atomic_store(&g_other_ran, 1);
}

/* A chunk of i + 1 rows for source i, so the scan can tell whose chunk it got. */
static int fake_load(const persist_source *s, uint32_t db_id, uint32_t table_id,
                     uint32_t ncols_table, const persist_col *cols, uint32_t ncols,
                     buffer_chunk **out, vg_err *e)
{
    int i = (int)(s - g_src);
    atomic_fetch_add(&g_calls[i], 1);
    first_waits_for_another();
    sleep_us(50 + (i * 37) % 200);
    if (i == g_fail_at)
        return vg_err_set(e, VG_ECORRUPT, "fake failure at %d", i);
    *out = buffer_chunk_new_loaded(db_id, table_id, 1, (uint32_t)i + 1);
    return *out ? VG_OK : vg_err_set(e, VG_ENOMEM, "out of memory");
}

/* Sources 5, 6 and 30 are buffer chunks (never decoded); order is reversed halves,
 * so order index and source index differ. */
static void setup(uint32_t *order, buffer_chunk **bufs)
{
    memset(g_src, 0, sizeof g_src);
    for (int i = 0; i < 3; i++) {
        int k = i < 2 ? 5 + i : 30;
        bufs[i] = buffer_chunk_new_loaded(0, 0, 1, 1);
        g_src[k].chunk = bufs[i];
    }
    for (uint32_t j = 0; j < NSRC; j++)
        order[j] = j < NSRC / 2 ? NSRC / 2 - 1 - j : j;
}

static void test_every_source_once_in_order(void)
{
    uint32_t order[NSRC];
    buffer_chunk *bufs[3];
    setup(order, bufs);
    reset();
    g_fail_at = -1;
    qop_load_args a = {.ncols_table = 1, .load = fake_load};
    qop_prefetch *p = qop_prefetch_start(g_src, order, NSRC, &a, 4);
    CHECK(p != NULL || sysconf(_SC_NPROCESSORS_ONLN) < 2);
    if (!p)
        goto out;
    uint32_t wrong = 0;
    for (uint32_t j = 0; j < NSRC; j++) {
        if (g_src[order[j]].chunk)
            continue; /* the scan has buffer chunks already */
        buffer_chunk *c = NULL;
        vg_err e = {0};
        CHECK(qop_prefetch_take(p, j, &c, &e) == VG_OK);
        wrong += !c || c->nrows != order[j] + 1;
        if (c)
            buffer_chunk_unref(c);
    }
    qop_prefetch_stop(p);
    CHECK_INT(wrong, 0);
    uint32_t not_once = 0;
    for (int i = 0; i < NSRC; i++)
        not_once += atomic_load(&g_calls[i]) != (g_src[i].chunk ? 0 : 1);
    CHECK_INT(not_once, 0);
    CHECK(atomic_load(&g_other_ran));
    CHECK(!atomic_load(&g_first_waited_out));
out:
    for (int i = 0; i < 3; i++)
        buffer_chunk_unref(bufs[i]);
}

static void test_failure_and_early_stop(void)
{
    uint32_t order[NSRC];
    buffer_chunk *bufs[3];
    setup(order, bufs);
    reset();
    atomic_store(&g_other_ran, 1); /* no waiting in this test */
    g_fail_at = (int)order[9];
    qop_load_args a = {.ncols_table = 1, .load = fake_load};
    qop_prefetch *p = qop_prefetch_start(g_src, order, NSRC, &a, 4);
    if (!p)
        goto out;
    for (uint32_t j = 0; j <= 9; j++) {
        buffer_chunk *c = NULL;
        vg_err e = {0};
        int rc = qop_prefetch_take(p, j, &c, &e);
        if (j < 9) {
            CHECK(rc == VG_OK && c && c->nrows == order[j] + 1);
        } else {
            char want[64];
            snprintf(want, sizeof want, "fake failure at %d", g_fail_at);
            CHECK(rc == VG_ECORRUPT && c == NULL);
            CHECK_STR(e.msg, want);
        }
        if (c)
            buffer_chunk_unref(c);
    }
    qop_prefetch_stop(p); /* sources decoded past the failure are dropped */

    /* stopping right after the start, with sources decoded and none taken */
    g_fail_at = -1;
    reset();
    atomic_store(&g_other_ran, 1);
    p = qop_prefetch_start(g_src, order, NSRC, &a, 4);
    if (p) {
        sleep_us(3000);
        qop_prefetch_stop(p);
    }
out:
    for (int i = 0; i < 3; i++)
        buffer_chunk_unref(bufs[i]);
}

TEST_MAIN(test_every_source_once_in_order, test_failure_and_early_stop)
