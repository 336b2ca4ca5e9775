/*
 * bench/lp_parse/lp_parse_bench.c: single-core throughput of lp_parse on two data
 * sets, (a) generated IoT lines (2 tags, 10 float fields, ns timestamps) and (b) the
 * NASA C-MAPSS FD001 training set turned into line protocol. Each set is built into a
 * buffer of about 64 MB and parsed in request-sized bodies (1 MiB by default, cut at
 * line ends) with one arena reset per body, as the server does per request. Prints
 * the best of several passes, timed in the thread's CPU time so that other work on a
 * shared machine does not count against the parser.
 *
 * usage: lp_parse_bench [cmapss-file] [body-bytes] [passes] [iot|cmapss|all]
 */
#include "lineproto/lineproto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET_BYTES (64u << 20)

typedef struct dataset {
    const char *name;
    vg_buf text;
    size_t lines;
} dataset;

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* iot,site=site017,device=dev00042 f0=23.456,...,f9=-1.25 1700000000000000000 */
static void build_iot(dataset *d)
{
    int64_t ts = 1700000000000000000LL;
    while (d->text.len < TARGET_BYTES) {
        vg_buf_printf(&d->text, "iot,site=site%03u,device=dev%05u ", (unsigned)(rnd() % 50),
                      (unsigned)(rnd() % 20000));
        for (int f = 0; f < 10; f++) {
            double v = (double)(rnd() % 2000000) / 1000.0 - 500.0;
            vg_buf_printf(&d->text, "%sf%d=%.*f", f ? "," : "", f, (int)(1 + rnd() % 4), v);
        }
        vg_buf_printf(&d->text, " %lld\n", (long long)ts);
        ts += 1000000;
        d->lines++;
    }
}

/* One C-MAPSS row: unit_number time_cycles setting_1..3 s_1..s_21, space separated. */
static int build_cmapss(dataset *d, const char *path)
{
    vg_buf raw;
    vg_buf_init(&raw);
    vg_err e;
    if (vg_read_file(path, &raw, &e) != VG_OK) {
        fprintf(stderr, "lp_parse_bench: %s\n", e.msg);
        return -1;
    }
    static const char *names[] = {"setting_1", "setting_2", "setting_3"};
    int64_t base = 1700000000000000000LL;
    for (int rep = 0; d->text.len < TARGET_BYTES; rep++) {
        const char *p = raw.data, *end = raw.data + raw.len;
        while (p < end && d->text.len < TARGET_BYTES) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            char *tok[32];
            int nt = 0;
            char line[1024];
            size_t n = (size_t)(le - p) < sizeof line - 1 ? (size_t)(le - p) : sizeof line - 1;
            memcpy(line, p, n);
            line[n] = '\0';
            for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && nt < 32;
                 t = strtok_r(NULL, " \t\r", &save))
                tok[nt++] = t;
            p = nl ? nl + 1 : end;
            if (nt != 26)
                continue;
            long unit = atol(tok[0]) + rep * 100L, cycle = atol(tok[1]);
            vg_buf_printf(&d->text, "sensors,unit_number=%ld time_cycles=%ldi", unit, cycle);
            for (int i = 0; i < 3; i++)
                vg_buf_printf(&d->text, ",%s=%s", names[i], tok[2 + i]);
            for (int i = 0; i < 21; i++)
                vg_buf_printf(&d->text, ",s_%d=%s", i + 1, tok[5 + i]);
            vg_buf_printf(&d->text, " %lld\n", (long long)(base + cycle * VG_NS_PER_SEC + unit));
            d->lines++;
        }
    }
    vg_buf_free(&raw);
    return 0;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over the whole buffer, in bodies cut at line ends. */
static double one_pass(const dataset *d, size_t body_bytes, vg_arena *a, size_t *good)
{
    const char *p = d->text.data, *end = p + d->text.len;
    *good = 0;
    double t0 = cpu_seconds();
    while (p < end) {
        const char *cut = p + body_bytes < end ? p + body_bytes : end;
        const char *nl = cut < end ? memchr(cut, '\n', (size_t)(end - cut)) : NULL;
        const char *be = nl ? nl + 1 : end;
        lp_batch b;
        if (lp_parse(p, (size_t)(be - p), NULL, a, &b) != VG_OK) {
            fprintf(stderr, "lp_parse_bench: out of memory\n");
            exit(1);
        }
        if (b.nerrors) {
            fprintf(stderr, "lp_parse_bench: %s line %u: %s\n", d->name, b.errors[0].line_no,
                    b.errors[0].msg);
            exit(1);
        }
        *good += b.nlines;
        vg_arena_reset(a);
        p = be;
    }
    return cpu_seconds() - t0;
}

static void run(const dataset *d, size_t body_bytes, int passes)
{
    vg_arena a;
    vg_arena_init(&a, 1u << 20);
    double best = 1e9;
    size_t good = 0;
    for (int i = 0; i < passes; i++) {
        double s = one_pass(d, body_bytes, &a, &good);
        if (s < best)
            best = s;
    }
    vg_arena_free(&a);
    if (good != d->lines) {
        fprintf(stderr, "lp_parse_bench: %s: %zu good lines of %zu\n", d->name, good, d->lines);
        exit(1);
    }
    printf("%-8s %7.1f MB  %8zu lines  %4zu B/line  best of %d: %7.1f MB/s  %6.2f M lines/s\n",
           d->name, (double)d->text.len / 1e6, d->lines, d->text.len / d->lines, passes,
           (double)d->text.len / 1e6 / best, (double)d->lines / 1e6 / best);
}

int main(int argc, char **argv)
{
    const char *cmapss = argc > 1 ? argv[1] : "tests/data/cmapss/train_FD001.txt";
    size_t body_bytes = argc > 2 ? (size_t)atol(argv[2]) : (1u << 20);
    int passes = argc > 3 ? atoi(argv[3]) : 7;
    const char *which = argc > 4 ? argv[4] : "all";
    bool do_iot = strcmp(which, "cmapss") != 0, do_cm = strcmp(which, "iot") != 0;

    dataset iot = {.name = "iot"}, cm = {.name = "cmapss"};
    vg_buf_init(&iot.text);
    vg_buf_init(&cm.text);
    if (do_iot)
        build_iot(&iot);
    if (do_cm && build_cmapss(&cm, cmapss) != 0)
        return 1;
    printf("lp_parse, one core (thread CPU time), bodies of %zu bytes\n", body_bytes);
    if (do_iot)
        run(&iot, body_bytes, passes);
    if (do_cm)
        run(&cm, body_bytes, passes);
    vg_buf_free(&iot.text);
    vg_buf_free(&cm.text);
    return 0;
}
