/*
 * tests/fuzz/fuzz_trigger_spec.c: libFuzzer target for the processing engine's parsers
 * of untrusted text: trigger specifications (with cron expressions and durations) and
 * trigger arguments (also linked with tests/fuzz/replay.c to replay the corpus).
 *
 * For any input it checks, and abort()s when one fails:
 *  - engine_spec_parse either succeeds with a kind whose argument lies inside the
 *    stored text, or fails with VG_EINVAL and a message starting "failed to parse
 *    trigger from " (or the length message);
 *  - a parsed cron expression's next fire time is strictly after the start and
 *    matches again when asked from one second before it (the walk is consistent);
 *  - an every: interval is positive, at most a year, and its next boundary is an
 *    exact multiple after the start;
 *  - engine_args_parse returns -1 with a message, or n pairs with non-empty keys.
 */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_trigger_spec: %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_spec(const char *s)
{
    engine_spec sp;
    vg_err e = {0};
    int rc = engine_spec_parse(s, &sp, &e);
    if (rc != VG_OK) {
        REQUIRE(rc == VG_EINVAL);
        REQUIRE(strncmp(e.msg, "failed to parse trigger from ", 29) == 0 ||
                strncmp(e.msg, "trigger specification too long", 30) == 0);
        return;
    }
    size_t n = strlen(sp.text);
    if (sp.kind != ENGINE_SPEC_ALL_TABLES)
        REQUIRE(sp.arg && sp.arg > sp.text && sp.arg <= sp.text + n && *sp.arg);
    if (sp.kind == ENGINE_SPEC_EVERY) {
        REQUIRE(sp.every_ns > 0 && sp.every_ns <= ENGINE_EVERY_MAX_NS);
        int64_t start = 1767806931123456789LL;
        int64_t next = engine_every_next(sp.every_ns, start);
        REQUIRE(next > start && next % sp.every_ns == 0 && next - start <= sp.every_ns);
    }
    if (sp.kind == ENGINE_SPEC_CRON) {
        int64_t start = 1767806931; /* 2026-01-07 17:28:51 UTC */
        int64_t next = engine_cron_next(&sp.cron, start);
        if (next >= 0) {
            REQUIRE(next > start);
            REQUIRE(engine_cron_next(&sp.cron, next - 1) == next);
        }
    }
}

static void check_args(const char *s)
{
    char **k, **v;
    vg_err e = {0};
    int n = engine_args_parse(s, &k, &v, &e);
    if (n < 0) {
        REQUIRE(e.msg[0]);
        return;
    }
    for (int i = 0; i < n; i++)
        REQUIRE(k[i] && k[i][0] && v[i]);
    engine_args_free(k, v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* the parsers take C strings: stop at an embedded NUL */
    check_spec(s);
    check_args(s);
    /* The same text as a cron expression and as a duration. */
    char *c = malloc(size + 8);
    if (c) {
        snprintf(c, size + 8, "cron:%s", s);
        check_spec(c);
        snprintf(c, size + 8, "every:%s", s);
        check_spec(c);
        free(c);
    }
    free(s);
    return 0;
}
