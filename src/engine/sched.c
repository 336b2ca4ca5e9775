/* engine/sched.c: the scheduler and the watchdog.
 *
 * The scheduler thread fires `every:` and `cron:` triggers at their times (wall clock,
 * UTC; `every:` aligned to multiples of its interval since the epoch). A trigger whose
 * previous run is still going (or still queued) when the next is due skips that run
 * and says so in its log: scheduled runs never overlap. Runs missed while the server
 * was down or busy are not made up; the schedule continues from now.
 *
 * The watchdog thread enforces --plugin-timeout: a call past its deadline is
 * cancelled (the plugin API then raises in it) and interrupted with an exception
 * raised into its thread, again every so often if the plugin swallows it. A call that
 * still has not returned ENG_STUCK_GRACE_NS later is stuck in C code; its worker is
 * abandoned and a new one started, so other triggers keep running. */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* How often the watchdog looks. */
#define WATCH_TICK_NS (50 * VG_NS_PER_MS)

void eng_sched_compute_next(eng_trigger *t, int64_t now_ns)
{
    if (t->spec.kind == ENGINE_SPEC_EVERY) {
        t->next_fire_ns = engine_every_next(t->spec.every_ns, now_ns);
        return;
    }
    int64_t next = engine_cron_next(&t->spec.cron, now_ns / VG_NS_PER_SEC);
    t->next_fire_ns = next < 0 ? INT64_MAX : next * VG_NS_PER_SEC;
}

static void format_time(int64_t ns, char *out, size_t n)
{
    char ts[40];
    vg_format_timestamp(ns, true, ts);
    snprintf(out, n, "%s", ts);
}

/* Fires the due triggers (engine lock held); returns the next wake-up (wall ns). */
static int64_t fire_due(engine *g, int64_t now)
{
    int64_t wake = INT64_MAX;
    for (uint32_t i = 0; i < g->ntrigs; i++) {
        eng_trigger *t = g->trigs[i];
        if (!t->enabled || !engine_spec_is_schedule(&t->spec))
            continue;
        if (t->next_fire_ns == 0)
            eng_sched_compute_next(t, now);
        if (t->next_fire_ns <= now) {
            int64_t due = t->next_fire_ns;
            char when[48];
            format_time(due, when, sizeof when);
            if (t->running > 0 || t->head) {
                eng_log(g, t->name, ENG_WARN,
                        "skipped the run due at %s: the previous run is still going", when);
            } else {
                eng_job *j = vg_calloc(1, sizeof *j);
                if (j) {
                    j->kind = ENG_JOB_SCHEDULE;
                    j->call_time_ns = due;
                    j->attempt = 1;
                    eng_enqueue(g, t, j);
                } else {
                    VG_ERROR(ENG_MOD, "out of memory scheduling trigger %s", t->name);
                }
            }
            eng_sched_compute_next(t, now);
        }
        if (t->next_fire_ns < wake)
            wake = t->next_fire_ns;
    }
    return wake;
}

static void *sched_main(void *arg)
{
    engine *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        int64_t now = vg_now_ns();
        int64_t wake = fire_due(g, now);
        /* Wake at the next fire time, and at least once a minute: the wall clock may
         * be set while we sleep. */
        if (wake > now + 60 * VG_NS_PER_SEC)
            wake = now + 60 * VG_NS_PER_SEC;
        struct timespec ts = {.tv_sec = wake / VG_NS_PER_SEC, .tv_nsec = wake % VG_NS_PER_SEC};
        pthread_cond_timedwait(&g->sched_cond, &g->lock, &ts);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* Abandons the worker running c and starts another (engine lock held). */
static void abandon(engine *g, eng_call *c)
{
    for (uint32_t i = 0; i < g->nworkers; i++) {
        eng_worker *w = g->workers[i];
        if (w->call != c || w->abandoned)
            continue;
        w->abandoned = true;
        g->abandoned++;
        eng_log(g, c->trig->name, ENG_ERROR,
                "the plugin of trigger %s did not stop after its timeout (stuck in code that "
                "cannot be interrupted); its worker thread is abandoned%s",
                c->trig->name,
                g->abandoned <= ENG_MAX_ABANDONED ? " and a new one started"
                                                  : "; no more replacements will be started");
        vg_err e;
        if (g->abandoned <= ENG_MAX_ABANDONED && eng_start_worker(g, &e) != VG_OK)
            VG_ERROR(ENG_MOD, "cannot replace a stuck plugin worker: %s", e.msg);
        return;
    }
}

static void watch_once(engine *g, bool final)
{
    int64_t now = vg_mono_ns();
    bool kick = false;
    eng_call *stuck[16];
    int nstuck = 0;
    pthread_mutex_lock(&g->call_lock);
    for (eng_call *c = g->active; c; c = c->next_active) {
        if (atomic_load(&c->finished))
            continue;
        if (!atomic_load(&c->cancelled) && now > c->deadline) {
            c->cancel_why = "timeout";
            atomic_store(&c->cancelled, true);
        }
        if (atomic_load(&c->cancelled) && (final || now - c->last_kick >= ENG_KICK_EVERY_NS))
            kick = true;
        if (!final && now > c->deadline + ENG_STUCK_GRACE_NS && nstuck < 16)
            stuck[nstuck++] = c;
    }
    pthread_mutex_unlock(&g->call_lock);
    if (kick)
        eng_py_interrupt(g, final); /* takes the GIL, then the call lock */
    if (nstuck) {
        pthread_mutex_lock(&g->lock);
        pthread_mutex_lock(&g->call_lock);
        for (int i = 0; i < nstuck; i++) {
            bool still = false;
            for (eng_call *c = g->active; c && !still; c = c->next_active)
                still = c == stuck[i] && !atomic_load(&c->finished);
            if (still)
                abandon(g, stuck[i]);
        }
        pthread_mutex_unlock(&g->call_lock);
        pthread_mutex_unlock(&g->lock);
    }
}

static void *watchdog_main(void *arg)
{
    engine *g = arg;
    for (;;) {
        pthread_mutex_lock(&g->lock);
        bool stop = g->stopping;
        pthread_mutex_unlock(&g->lock);
        if (stop)
            break;
        watch_once(g, false);
        vg_sleep_ns(WATCH_TICK_NS);
    }
    /* Shutdown: interrupt what still runs, so workers can be joined. */
    watch_once(g, true);
    return NULL;
}

int eng_sched_start(engine *g, vg_err *e)
{
    if (pthread_create(&g->sched_thread, NULL, sched_main, g) != 0)
        return vg_err_set(e, VG_EIO, "cannot start the plugin scheduler thread");
    g->sched_started = true;
    if (pthread_create(&g->watchdog_thread, NULL, watchdog_main, g) != 0)
        return vg_err_set(e, VG_EIO, "cannot start the plugin watchdog thread");
    g->watchdog_started = true;
    return VG_OK;
}

void eng_sched_stop(engine *g)
{
    if (g->sched_started)
        pthread_join(g->sched_thread, NULL);
    g->sched_started = false;
    if (g->watchdog_started) {
        /* The watchdog may wait for the GIL, which a plugin stuck in C can hold
         * forever: do not wait for it forever either. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        if (pthread_timedjoin_np(g->watchdog_thread, NULL, &ts) != 0) {
            VG_ERROR(ENG_MOD, "the plugin watchdog did not stop (a plugin holds the Python "
                              "interpreter)");
            pthread_detach(g->watchdog_thread);
        }
    }
    g->watchdog_started = false;
}
