/*
 * lineproto/precision.c: timestamp precision names and scaling a written timestamp
 * to nanoseconds, with Core's `auto` guess and its overflow message.
 */
#include "lineproto/lineproto.h"

#include <string.h>

static const struct {
    const char *name;
    lp_precision p;
} prec_names[] = {
    {"auto", LP_PREC_AUTO},      {"s", LP_PREC_S},
    {"second", LP_PREC_S},       {"ms", LP_PREC_MS},
    {"millisecond", LP_PREC_MS}, {"us", LP_PREC_US},
    {"u", LP_PREC_US},           {"microsecond", LP_PREC_US},
    {"ns", LP_PREC_NS},          {"n", LP_PREC_NS},
    {"nanosecond", LP_PREC_NS},
};

int lp_parse_precision(const char *s, size_t len, bool allow_auto, lp_precision *out, vg_err *e)
{
    for (size_t i = 0; i < sizeof prec_names / sizeof prec_names[0]; i++) {
        const char *n = prec_names[i].name;
        if (strlen(n) != len || memcmp(n, s, len) != 0)
            continue;
        if (prec_names[i].p == LP_PREC_AUTO && !allow_auto)
            break;
        *out = prec_names[i].p;
        return VG_OK;
    }
    /* serde's wording, which is what Core answers for a bad `precision=`. */
    int shown = len > 64 ? 64 : (int)len;
    return vg_err_set(e, VG_EINVAL, "unknown variant `%.*s%s`, expected one of %s%s", shown, s,
                      len > 64 ? "..." : "", allow_auto ? "`auto`, " : "",
                      "`second`, `millisecond`, `microsecond`, `nanosecond` "
                      "(or `s`, `ms`, `us`, `u`, `ns`, `n`)");
}

/* Core prints its Precision enum with Debug formatting in messages. */
const char *lp_precision_name(lp_precision p)
{
    switch (p) {
    case LP_PREC_AUTO: return "Auto";
    case LP_PREC_NS: return "Nanosecond";
    case LP_PREC_US: return "Microsecond";
    case LP_PREC_MS: return "Millisecond";
    case LP_PREC_S: return "Second";
    }
    return "Unknown";
}

static int64_t multiplier(lp_precision p)
{
    switch (p) {
    case LP_PREC_S: return VG_NS_PER_SEC;
    case LP_PREC_MS: return VG_NS_PER_MS;
    case LP_PREC_US: return VG_NS_PER_US;
    default: return 1;
    }
}

/* Core's guess works on |t| / 1e9 in integers: < 5 seconds, < 5000 milliseconds,
 * < 5e6 microseconds, else nanoseconds. So a guessed scale never overflows. */
static lp_precision infer(int64_t t)
{
    uint64_t v = (t < 0 ? 0 - (uint64_t)t : (uint64_t)t) / 1000000000u;
    if (v < 5)
        return LP_PREC_S;
    if (v < 5000)
        return LP_PREC_MS;
    if (v < 5000000)
        return LP_PREC_US;
    return LP_PREC_NS;
}

int lp_scale_time(int64_t t, lp_precision p, int64_t *ns, vg_err *e)
{
    lp_precision q = p == LP_PREC_AUTO ? infer(t) : p;
    if (__builtin_mul_overflow(t, multiplier(q), ns))
        return vg_err_set(e, VG_EINVAL, "timestamp, %lld, out of range for precision: %s",
                          (long long)t, lp_precision_name(p));
    return VG_OK;
}

int64_t lp_default_time(int64_t now_ns, lp_precision p)
{
    if (p == LP_PREC_AUTO)
        return now_ns;
    int64_t m = multiplier(p);
    return now_ns / m * m; /* C division truncates toward zero, as Core does */
}
