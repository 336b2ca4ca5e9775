/* Unit tests for the processing engine's pure parts: trigger specifications (every
 * form, Core's error message, trimming, limits), cron expressions (fields, names,
 * ranges, steps, lists, the optional year, shortcuts, next fire times across months,
 * leap days and years, day-of-month AND day-of-week), `every:` alignment to interval
 * boundaries, and trigger arguments ("k=v,k2=v2"). */
#include "engine/engine.h"
#include "test.h"

/* Unix seconds of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    int64_t ns;
    char buf[64];
    vg_err e;
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
    if (vg_parse_timestamp(buf, strlen(buf), &ns, &e) != VG_OK)
        return -2;
    return ns / VG_NS_PER_SEC;
}

static int64_t next_of(const char *expr, int64_t after)
{
    engine_cron c;
    vg_err e;
    if (engine_cron_parse(expr, &c, &e) != VG_OK) {
        printf("parse %s: %s\n", expr, e.msg);
        return -3;
    }
    return engine_cron_next(&c, after);
}

static void test_spec_forms(void)
{
    engine_spec s;
    vg_err e;
    CHECK_INT(engine_spec_parse("  table:cpu ", &s, &e), VG_OK);
    CHECK_INT(s.kind, ENGINE_SPEC_TABLE);
    CHECK_STR(s.arg, "cpu");
    CHECK_STR(s.text, "table:cpu");
    CHECK(engine_spec_is_wal(&s) && !engine_spec_is_schedule(&s));
    CHECK_INT(engine_spec_parse("all_tables", &s, &e), VG_OK);
    CHECK_INT(s.kind, ENGINE_SPEC_ALL_TABLES);
    CHECK_INT(engine_spec_parse("every:10s", &s, &e), VG_OK);
    CHECK_INT(s.kind, ENGINE_SPEC_EVERY);
    CHECK_INT(s.every_ns, 10 * VG_NS_PER_SEC);
    CHECK(engine_spec_is_schedule(&s));
    CHECK_INT(engine_spec_parse("every:1h30m", &s, &e), VG_OK);
    CHECK_INT(s.every_ns, 5400 * VG_NS_PER_SEC);
    CHECK_INT(engine_spec_parse("every:1 minute", &s, &e), VG_OK);
    CHECK_INT(s.every_ns, 60 * VG_NS_PER_SEC);
    CHECK_INT(engine_spec_parse("cron:0 0 8 * * *", &s, &e), VG_OK);
    CHECK_INT(s.kind, ENGINE_SPEC_CRON);
    CHECK_STR(s.arg, "0 0 8 * * *");
    CHECK_INT(engine_spec_parse("request:alerts/v1", &s, &e), VG_OK);
    CHECK_INT(s.kind, ENGINE_SPEC_REQUEST);
    CHECK_STR(s.arg, "alerts/v1");
}

static void test_spec_errors(void)
{
    engine_spec s;
    vg_err e;
    const char *forms = "expect one of the following forms: 'table:<TABLE_NAME>', 'all_tables', "
                        "'cron:<CRON_EXPRESSION>', 'every:<DURATION>', or 'request:<PATH>'";
    char want[600];
    CHECK_INT(engine_spec_parse("bogus", &s, &e), VG_EINVAL);
    snprintf(want, sizeof want, "failed to parse trigger from bogus: %s", forms);
    CHECK_STR(e.msg, want);
    CHECK_INT(engine_spec_parse("table:", &s, &e), VG_EINVAL);
    snprintf(want, sizeof want, "failed to parse trigger from table:: %s", forms);
    CHECK_STR(e.msg, want);
    CHECK_INT(engine_spec_parse("all_tables:x", &s, &e), VG_EINVAL);
    CHECK_INT(engine_spec_parse("every:0s", &s, &e), VG_EINVAL);
    CHECK_STR(e.msg,
              "failed to parse trigger from every:0s: the interval must be longer than zero");
    CHECK_INT(engine_spec_parse("every:2y", &s, &e), VG_EINVAL);
    CHECK_STR(e.msg, "failed to parse trigger from every:2y: schedule duration cannot be greater "
                     "than 1 year");
    CHECK_INT(engine_spec_parse("every:1y", &s, &e), VG_OK);
    CHECK_INT(engine_spec_parse("every:soon", &s, &e), VG_EINVAL);
    CHECK(strncmp(e.msg, "failed to parse trigger from every:soon: ", 41) == 0);
    CHECK_INT(engine_spec_parse("cron:0 0 8 * *", &s, &e), VG_EINVAL);
    CHECK_STR(e.msg, "failed to parse trigger from cron:0 0 8 * *: invalid cron syntax: expected 6 "
                     "or 7 fields (seconds, minutes, hours, day of month, month, day of week[, "
                     "year]), found 5");
    CHECK_INT(engine_spec_parse("cron:0 0 0 30 2 *", &s, &e), VG_EINVAL);
    CHECK_STR(e.msg,
              "failed to parse trigger from cron:0 0 0 30 2 *: cron schedule never triggers");
    CHECK_INT(engine_spec_parse("request:/abs", &s, &e), VG_EINVAL);
    CHECK_INT(engine_spec_parse("request:a/../b", &s, &e), VG_EINVAL);
    CHECK_STR(e.msg, "failed to parse trigger from request:a/../b: request trigger path "
                     "'a/../b' has an empty, '.' or '..' segment");
    CHECK_INT(engine_spec_parse("request:a b", &s, &e), VG_EINVAL);
}

static void test_cron_fields(void)
{
    engine_cron c;
    vg_err e;
    CHECK_INT(engine_cron_parse("*/15 0-5,30 8 1,15 May-Aug Mon,Wed,Fri", &c, &e), VG_OK);
    CHECK(c.sec == (1ull << 0 | 1ull << 15 | 1ull << 30 | 1ull << 45));
    CHECK(c.min == (0x3Full | 1ull << 30));
    CHECK_INT(c.hour, 1u << 8);
    CHECK_INT(c.dom, 1u << 0 | 1u << 14);
    CHECK_INT(c.month, 0xF << 4);
    CHECK_INT(c.dow, 1 << 1 | 1 << 3 | 1 << 5);
    CHECK(c.any_year);
    CHECK_INT(engine_cron_parse("0 0 0 ? * SUNDAY", &c, &e), VG_OK);
    CHECK_INT(c.dow, 1);
    CHECK_INT(c.dom, 0x7FFFFFFF);
    /* 1-7 count from Sunday, as the Rust cron crate (Core) does. */
    CHECK_INT(engine_cron_parse("0 0 0 * * 2", &c, &e), VG_OK);
    CHECK_INT(c.dow, 1 << 1);
    CHECK_INT(engine_cron_parse("5/20 * * * * *", &c, &e), VG_OK);
    CHECK(c.sec == (1ull << 5 | 1ull << 25 | 1ull << 45));
    CHECK_INT(engine_cron_parse("0 0 0 1 1 * 2030/2", &c, &e), VG_OK);
    CHECK(!c.any_year);
    CHECK_INT(engine_cron_parse("60 * * * * *", &c, &e), VG_EINVAL);
    CHECK_STR(e.msg, "value 60 out of range 0-59 in the Seconds field");
    CHECK_INT(engine_cron_parse("0 0 0 * * 0", &c, &e), VG_EINVAL);
    CHECK_STR(e.msg, "value 0 out of range 1-7 in the Days of Week field");
    CHECK_INT(engine_cron_parse("0 0 0 * Foo *", &c, &e), VG_EINVAL);
    CHECK_STR(e.msg, "invalid value 'Foo' in the Months field");
    CHECK_INT(engine_cron_parse("0 0 5-1 * * *", &c, &e), VG_EINVAL);
    CHECK_STR(e.msg, "range 5-1 is backwards in the Hours field");
    CHECK_INT(engine_cron_parse("*/0 * * * * *", &c, &e), VG_EINVAL);
    CHECK_INT(engine_cron_parse("* * * * * * * *", &c, &e), VG_EINVAL);
    CHECK_INT(engine_cron_parse("@daily", &c, &e), VG_OK);
    CHECK(c.sec == 1 && c.min == 1 && c.hour == 1);
}

static void test_cron_next(void)
{
    int64_t t = utc(2026, 1, 7, 17, 28, 51);
    CHECK_INT(next_of("* * * * * *", t), t + 1);
    CHECK_INT(next_of("0 * * * * *", t), utc(2026, 1, 7, 17, 29, 0));
    CHECK_INT(next_of("0 0 8 * * *", t), utc(2026, 1, 8, 8, 0, 0));
    CHECK_INT(next_of("30 15 10 1 * *", t), utc(2026, 2, 1, 10, 15, 30));
    /* Strictly after: a matching second is not returned again. */
    CHECK_INT(next_of("51 28 17 * * *", t), utc(2026, 1, 8, 17, 28, 51));
    /* Leap day: next Feb 29 after 2026 is 2028. */
    CHECK_INT(next_of("0 0 0 29 2 *", t), utc(2028, 2, 29, 0, 0, 0));
    /* Day of month AND day of week: the 13th that is a Friday (Feb 2026). */
    CHECK_INT(next_of("0 0 12 13 * Fri", t), utc(2026, 2, 13, 12, 0, 0));
    /* Years. */
    CHECK_INT(next_of("0 0 0 1 1 * 2030", t), utc(2030, 1, 1, 0, 0, 0));
    CHECK_INT(next_of("0 0 0 1 1 * 2020", t), -1);
    CHECK_INT(next_of("0 0 0 1 1 * 2099", t), utc(2099, 1, 1, 0, 0, 0));
    CHECK_INT(next_of("0 0 0 1 1 * 2098-2099", utc(2098, 6, 1, 0, 0, 0)), utc(2099, 1, 1, 0, 0, 0));
    /* End of month and year carry. */
    CHECK_INT(next_of("0 0 0 * * *", utc(2026, 12, 31, 23, 59, 59)), utc(2027, 1, 1, 0, 0, 0));
    CHECK_INT(next_of("0 0 0 31 * *", utc(2026, 4, 1, 0, 0, 0)), utc(2026, 5, 31, 0, 0, 0));
    CHECK_INT(next_of("@hourly", utc(2026, 3, 1, 10, 0, 0)), utc(2026, 3, 1, 11, 0, 0));
    CHECK_INT(next_of("@weekly", t), utc(2026, 1, 11, 0, 0, 0)); /* the next Sunday */
}

static void test_every_alignment(void)
{
    int64_t s = VG_NS_PER_SEC;
    CHECK_INT(engine_every_next(10 * s, 123 * s + 5), 130 * s);
    CHECK_INT(engine_every_next(10 * s, 130 * s), 140 * s);
    CHECK_INT(engine_every_next(3600 * s, utc(2026, 1, 7, 17, 28, 51) * s),
              utc(2026, 1, 7, 18, 0, 0) * s);
    CHECK_INT(engine_every_next(86400 * s, utc(2026, 1, 7, 17, 28, 51) * s),
              utc(2026, 1, 8, 0, 0, 0) * s);
    CHECK_INT(engine_every_next(10 * s, -5 * s), 0);
    CHECK_INT(engine_every_next(250 * VG_NS_PER_MS, 1 * s + 1), 1250 * VG_NS_PER_MS);
}

static void test_args(void)
{
    char **k, **v;
    vg_err e;
    int n = engine_args_parse("threshold=90,query_path=/metrics?format=json,empty=", &k, &v, &e);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(k[0], "threshold");
        CHECK_STR(v[0], "90");
        CHECK_STR(k[1], "query_path");
        CHECK_STR(v[1], "/metrics?format=json");
        CHECK_STR(k[2], "empty");
        CHECK_STR(v[2], "");
    }
    engine_args_free(k, v, n);
    n = engine_args_parse("", &k, &v, &e);
    CHECK_INT(n, 0);
    engine_args_free(k, v, n);
    n = engine_args_parse("a=1,,b=2", &k, &v, &e);
    CHECK_INT(n, 2);
    engine_args_free(k, v, n);
    CHECK_INT(engine_args_parse("novalue", &k, &v, &e), -1);
    CHECK_STR(e.msg, "invalid trigger argument 'novalue': expected key=value");
    CHECK_INT(engine_args_parse("=x", &k, &v, &e), -1);
}

TEST_MAIN(test_spec_forms, test_spec_errors, test_cron_fields, test_cron_next, test_every_alignment,
          test_args)
