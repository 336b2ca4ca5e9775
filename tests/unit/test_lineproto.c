/* Unit tests for lineproto: every grammar rule and escape, every error message with
 * its line and column, precision scaling, the builder and its round trip, memory
 * failure, and float parsing checked bit for bit against strtod. */
#include "lineproto/lineproto.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

static vg_arena arena;

static void fresh(void)
{
    vg_arena_free(&arena);
    vg_arena_init(&arena, 0);
}

static lp_batch parse_n(const char *body, size_t n, bool stop)
{
    lp_batch b;
    lp_options opt = {.stop_at_first_error = stop};
    int rc = lp_parse(body, n, &opt, &arena, &b);
    CHECK_INT(rc, VG_OK);
    return b;
}

static lp_batch parse(const char *body)
{
    return parse_n(body, strlen(body), false);
}

/* Unescaped copies of slices, as C strings (rotating buffers so a CHECK can use two). */
static char *slot(void)
{
    static char bufs[4][256];
    static int k;
    return bufs[k++ & 3];
}

static const char *meas(lp_slice s)
{
    char *b = slot();
    b[lp_unescape_measurement(s, b)] = '\0';
    return b;
}

static const char *name(lp_slice s)
{
    char *b = slot();
    b[lp_unescape(s, b)] = '\0';
    return b;
}

static const char *strval(lp_slice s)
{
    char *b = slot();
    b[lp_unescape_string_field(s, b)] = '\0';
    return b;
}

/* Parses a body that must hold exactly one good line. */
static const lp_line *one_at(int at, const char *body)
{
    lp_batch b = parse(body);
    if (b.nlines != 1 || b.nerrors != 0) {
        printf("FAIL %s (%s:%d): \"%.80s\": %zu lines, %zu errors%s%s\n", test_current_name,
               __FILE__, at, body, b.nlines, b.nerrors, b.nerrors ? ": " : "",
               b.nerrors ? b.errors[0].msg : "");
        test_failures_in_current++;
        return NULL;
    }
    return &b.lines[0];
}
#define ONE(body) one_at(__LINE__, body)

/* Parses a body that must hold exactly one bad line with this message and column. */
static void err_at(int at, const char *body, size_t n, const char *msg, uint32_t col)
{
    lp_batch b = parse_n(body, n, false);
    if (b.nlines == 0 && b.nerrors == 1 && strcmp(b.errors[0].msg, msg) == 0 &&
        b.errors[0].column == col && b.errors[0].line_no == 1)
        return;
    printf("FAIL %s (%s:%d): \"%.80s\"\n    got %zu lines, %zu errors", test_current_name, __FILE__,
           at, body, b.nlines, b.nerrors);
    if (b.nerrors)
        printf(", line %u col %u \"%s\"", b.errors[0].line_no, b.errors[0].column, b.errors[0].msg);
    printf("\n    expected col %u \"%s\"\n", col, msg);
    test_failures_in_current++;
}
#define ERR(body, msg, col) err_at(__LINE__, body, strlen(body), msg, col)
#define ERRN(body, msg, col) err_at(__LINE__, body, sizeof(body) - 1, msg, col)

#define TRAIL "Could not parse entire line. Found trailing content: "
#define NOFIELDS "No fields were provided"
#define BACKSLASH "Measurements, tag keys and values, and field keys may not end with a backslash"

/* ---- grammar ---- */

static void test_full_line(void)
{
    fresh();
    const lp_line *l = ONE("cpu,host=a,region=west usage=1.5,count=-3i,ok=t,name=\"x y\",big=5u "
                           "1700000000000000000");
    if (!l)
        return;
    CHECK_INT(l->line_no, 1);
    CHECK_STR(meas(l->measurement), "cpu");
    CHECK(!l->measurement.escaped);
    CHECK_INT(l->ntags, 2);
    CHECK_STR(name(l->tags[0].key), "host");
    CHECK_STR(name(l->tags[0].val), "a");
    CHECK_STR(name(l->tags[1].key), "region");
    CHECK_STR(name(l->tags[1].val), "west");
    CHECK_INT(l->nfields, 5);
    CHECK_STR(name(l->fields[0].key), "usage");
    CHECK_INT(l->fields[0].type, LP_FLOAT);
    CHECK(l->fields[0].v.f == 1.5);
    CHECK_INT(l->fields[1].type, LP_INT);
    CHECK_INT(l->fields[1].v.i, -3);
    CHECK_INT(l->fields[2].type, LP_BOOL);
    CHECK(l->fields[2].v.b);
    CHECK_INT(l->fields[3].type, LP_STRING);
    CHECK_STR(strval(l->fields[3].v.s), "x y");
    CHECK_INT(l->fields[4].type, LP_UINT);
    CHECK_INT(l->fields[4].v.u, 5);
    CHECK(l->has_time);
    CHECK_INT(l->time, 1700000000000000000LL);
    CHECK_INT(l->text_len, strlen(l->text));
}

static void test_minimal_and_spacing(void)
{
    fresh();
    const lp_line *l = ONE("m f=1");
    if (l) {
        CHECK_INT(l->ntags, 0);
        CHECK(l->tags == NULL);
        CHECK_INT(l->nfields, 1);
        CHECK(!l->has_time);
        CHECK_MEM(l->text, l->text_len, "m f=1");
    }
    /* several spaces between sections, trailing spaces, negative timestamp */
    l = ONE("m    f=1    -5   ");
    if (l) {
        CHECK(l->has_time);
        CHECK_INT(l->time, -5);
    }
    l = ONE("m f=1   ");
    if (l)
        CHECK(!l->has_time);
    /* leading spaces and tabs are skipped but stay in the line's text */
    l = ONE(" \t m f=1 5");
    if (l) {
        CHECK_MEM(l->text, l->text_len, " \t m f=1 5");
        CHECK_STR(meas(l->measurement), "m");
    }
    /* quotes mean nothing in names */
    l = ONE("m\"x,\"k\"=\"v\" \"f\"=1i 1");
    if (l) {
        CHECK_STR(meas(l->measurement), "m\"x");
        CHECK_STR(name(l->tags[0].key), "\"k\"");
        CHECK_STR(name(l->tags[0].val), "\"v\"");
        CHECK_STR(name(l->fields[0].key), "\"f\"");
    }
    /* a comma may start or sit in a tag key or field key; '=' may sit in a tag value */
    l = ONE("m,,t=1,t,u=2,v=a=b f=1,,g=2,h,i=3");
    if (l) {
        CHECK_INT(l->ntags, 3);
        CHECK_STR(name(l->tags[0].key), ",t");
        CHECK_STR(name(l->tags[1].key), "t,u");
        CHECK_STR(name(l->tags[2].val), "a=b");
        CHECK_INT(l->nfields, 3);
        CHECK_STR(name(l->fields[1].key), ",g");
        CHECK_STR(name(l->fields[2].key), "h,i");
    }
    /* a carriage return inside a line is an ordinary byte */
    l = ONE("m,t=a\rb v=1i 5");
    if (l)
        CHECK_STR(name(l->tags[0].val), "a\rb");
    /* a tab inside a string is kept */
    l = ONE("m s=\"a\tb\"");
    if (l)
        CHECK_STR(strval(l->fields[0].v.s), "a\tb");
}

static void test_blank_comment_crlf(void)
{
    fresh();
    lp_batch b = parse("\n  # a comment\n\t \n#x\n  m v=1\n\n");
    CHECK_INT(b.nlines, 1);
    CHECK_INT(b.nerrors, 0);
    if (b.nlines) {
        CHECK_INT(b.lines[0].line_no, 5);
        CHECK_MEM(b.lines[0].text, b.lines[0].text_len, "  m v=1");
    }
    b = parse("m v=1 5\r\nm v=2\r\n\r\n  \r\nm v=3\r");
    CHECK_INT(b.nlines, 3);
    CHECK_INT(b.nerrors, 0);
    if (b.nlines == 3) {
        CHECK_MEM(b.lines[0].text, b.lines[0].text_len, "m v=1 5");
        CHECK_INT(b.lines[0].time, 5);
        CHECK_MEM(b.lines[1].text, b.lines[1].text_len, "m v=2");
        CHECK_INT(b.lines[2].line_no, 5);
        CHECK_MEM(b.lines[2].text, b.lines[2].text_len, "m v=3");
    }
    /* only comments and blanks: nothing at all */
    b = parse(" # only a comment");
    CHECK_INT(b.nlines + b.nerrors, 0);
    b = parse("");
    CHECK_INT(b.nlines + b.nerrors, 0);
    CHECK_INT(lp_parse(NULL, 0, NULL, &arena, &b), VG_OK);
    CHECK_INT(b.nlines + b.nerrors, 0);
    /* a bare carriage return mid-line is not stripped */
    ERR("m v=1i\r 1", TRAIL "`\r 1`", 7);
}

/* ---- escapes ---- */

static void test_escapes_measurement(void)
{
    fresh();
    const lp_line *l = ONE("a\\ b\\,c v=1");
    if (l) {
        CHECK(l->measurement.escaped);
        CHECK_STR(meas(l->measurement), "a b,c");
    }
    /* `\=` is no escape in a measurement: both bytes stay */
    l = ONE("a\\=b v=1");
    if (l) {
        CHECK(!l->measurement.escaped);
        CHECK_STR(meas(l->measurement), "a\\=b");
    }
    /* `\\ ` is an escaped backslash, then the real separator */
    l = ONE("a\\\\ v=1");
    if (l) {
        CHECK(l->measurement.escaped);
        CHECK_STR(meas(l->measurement), "a\\");
        CHECK_INT(l->nfields, 1);
    }
    /* `\\,` is an escaped backslash, then a real comma starting the tags */
    l = ONE("a\\\\,t=1 v=1");
    if (l) {
        CHECK_STR(meas(l->measurement), "a\\");
        CHECK_INT(l->ntags, 1);
    }
    /* `\\\,` is an escaped backslash, then an escaped comma */
    l = ONE("a\\\\\\,t=1 v=1");
    if (l) {
        CHECK_STR(meas(l->measurement), "a\\,t=1");
        CHECK_INT(l->ntags, 0);
    }
    /* a backslash before any other byte is literal */
    l = ONE("a\\x\\\"y v=1");
    if (l) {
        CHECK(!l->measurement.escaped);
        CHECK_STR(meas(l->measurement), "a\\x\\\"y");
    }
    /* an escaped leading space belongs to the name */
    l = ONE("\\ m v=1");
    if (l)
        CHECK_STR(meas(l->measurement), " m");
}

static void test_escapes_tags_and_fields(void)
{
    fresh();
    const lp_line *l = ONE("m,k\\ 1=v\\,1,k\\=2=v\\=2,k3=a\\\\,k4=b f\\ x=1,f\\,y=2,f\\=z=3");
    if (l) {
        CHECK_INT(l->ntags, 4);
        CHECK_STR(name(l->tags[0].key), "k 1");
        CHECK_STR(name(l->tags[0].val), "v,1");
        CHECK_STR(name(l->tags[1].key), "k=2");
        CHECK_STR(name(l->tags[1].val), "v=2");
        /* `\\,` in a tag value: escaped backslash, then the real comma */
        CHECK_STR(name(l->tags[2].val), "a\\");
        CHECK(l->tags[2].val.escaped);
        CHECK_STR(name(l->tags[3].key), "k4");
        CHECK(!l->tags[3].key.escaped);
        CHECK_STR(name(l->fields[0].key), "f x");
        CHECK_STR(name(l->fields[1].key), "f,y");
        CHECK_STR(name(l->fields[2].key), "f=z");
    }
    /* `\\\,` in a tag value: escaped backslash, escaped comma */
    l = ONE("m,t=a\\\\\\,b v=1");
    if (l) {
        CHECK_INT(l->ntags, 1);
        CHECK_STR(name(l->tags[0].val), "a\\,b");
    }
    /* literal backslashes */
    l = ONE("m,t=a\\x,u\\\"=\\\" v\\y=1");
    if (l) {
        CHECK_STR(name(l->tags[0].val), "a\\x");
        CHECK_STR(name(l->tags[1].key), "u\\\"");
        CHECK_STR(name(l->tags[1].val), "\\\"");
        CHECK_STR(name(l->fields[0].key), "v\\y");
    }
    /* string fields: \" and \\ are escapes, other backslashes literal, "" allowed */
    l = ONE("m s=\"a\\\"b\\\\c\\d\",e=\"\",q=\"\\\\\",r=\"x,y=z w\"");
    if (l) {
        CHECK_INT(l->nfields, 4);
        CHECK(l->fields[0].v.s.escaped);
        CHECK_STR(strval(l->fields[0].v.s), "a\"b\\c\\d");
        CHECK_INT(l->fields[1].type, LP_STRING);
        CHECK_INT(l->fields[1].v.s.len, 0);
        CHECK_STR(strval(l->fields[2].v.s), "\\");
        CHECK_STR(strval(l->fields[3].v.s), "x,y=z w");
        CHECK(!l->fields[3].v.s.escaped);
    }
}

static lp_slice sl(const char *s)
{
    return (lp_slice){s, (uint32_t)strlen(s), true};
}

static void test_unescape_functions(void)
{
    char out[64];
    const char *s = "a\\,b\\=c\\ d\\\\e\\xf\\";
    CHECK_MEM(out, lp_unescape(sl(s), out), "a,b=c d\\e\\xf\\");
    CHECK_MEM(out, lp_unescape_measurement(sl(s), out), "a,b\\=c d\\e\\xf\\");
    CHECK_MEM(out, lp_unescape_string_field(sl("\\\"q\\\\\\n\\"), out), "\"q\\\\n\\");
    lp_slice u = {"plain", 5, false};
    CHECK_MEM(out, lp_unescape(u, out), "plain");
}

/* ---- values ---- */

static void check_float(int at, const char *text, double want)
{
    char body[128];
    snprintf(body, sizeof body, "m v=%s", text);
    const lp_line *l = one_at(at, body);
    if (!l)
        return;
    if (l->fields[0].type != LP_FLOAT || memcmp(&l->fields[0].v.f, &want, sizeof want) != 0) {
        printf("FAIL %s (%s:%d): %s parsed as type %d value %.17g, expected %.17g\n",
               test_current_name, __FILE__, at, text, l->fields[0].type, l->fields[0].v.f, want);
        test_failures_in_current++;
    }
}
#define FLOAT(text, want) check_float(__LINE__, text, want)

static void test_numbers(void)
{
    fresh();
    FLOAT("1", 1.0);
    FLOAT("-1.5", -1.5);
    FLOAT("1e10", 1e10);
    FLOAT("1.5E-3", 1.5e-3);
    FLOAT("1E+3", 1000.0);
    FLOAT("007", 7.0);
    FLOAT("-0", -0.0);
    FLOAT("0.0", 0.0);
    FLOAT("0.1", 0.1);
    FLOAT("123456789012345678", 123456789012345678.0);
    FLOAT("1234567890123456789012345", 1234567890123456789012345.0);
    FLOAT("000000000000000000000000000001.5", 1.5);
    FLOAT("1.7976931348623157e308", 1.7976931348623157e308);
    FLOAT("4.9e-324", 4.9e-324);
    FLOAT("2.2250738585072014e-308", 2.2250738585072014e-308);
    FLOAT("1e-400", 0.0);
    FLOAT("0e99999", 0.0);
    FLOAT("9007199254740993", 9007199254740993.0);
    FLOAT("1e23", 1e23);
    FLOAT("8.5e30", 8.5e30);

    const lp_line *l = ONE("m a=9223372036854775807i,b=-9223372036854775808i,c=0i,d=-0i,"
                           "e=0000000000000000000000042i,f=18446744073709551615u,g=0u,"
                           "h=00000000000000000000018446744073709551615u");
    if (l) {
        CHECK_INT(l->fields[0].type, LP_INT);
        CHECK(l->fields[0].v.i == INT64_MAX);
        CHECK(l->fields[1].v.i == INT64_MIN);
        CHECK_INT(l->fields[2].v.i, 0);
        CHECK_INT(l->fields[3].v.i, 0);
        CHECK_INT(l->fields[4].v.i, 42);
        CHECK_INT(l->fields[5].type, LP_UINT);
        CHECK(l->fields[5].v.u == UINT64_MAX);
        CHECK(l->fields[6].v.u == 0);
        CHECK(l->fields[7].v.u == UINT64_MAX);
    }
    l = ONE("m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE");
    if (l) {
        for (int i = 0; i < 10; i++) {
            CHECK_INT(l->fields[i].type, LP_BOOL);
            CHECK_INT(l->fields[i].v.b, i < 5);
        }
    }
    l = ONE("m v=1 9223372036854775807");
    if (l)
        CHECK(l->time == INT64_MAX);
    l = ONE("m v=1 -9223372036854775808");
    if (l)
        CHECK(l->time == INT64_MIN);
    l = ONE("m v=1 000000000000000000000000001");
    if (l)
        CHECK_INT(l->time, 1);
}

static void test_value_errors(void)
{
    fresh();
    ERR("m v=9223372036854775808i", "Unable to parse integer value `9223372036854775808`", 5);
    ERR("m v=-9223372036854775809i", "Unable to parse integer value `-9223372036854775809`", 5);
    ERR("m v=123456789012345678901234i", "Unable to parse integer value `123456789012345678901234`",
        5);
    ERR("m v=18446744073709551616u",
        "Unable to parse unsigned integer value `18446744073709551616`", 5);
    ERR("m v=1e999", "Unable to parse floating-point value `1e999`", 5);
    ERR("m a=1,v=-1.5e400", "Unable to parse floating-point value `-1.5e400`", 9);
    ERR("m v=1 99999999999999999999", "Unable to parse timestamp value `99999999999999999999`", 7);
    ERR("m v=1 -9223372036854775809", "Unable to parse timestamp value `-9223372036854775809`", 7);
    /* what is not a value at all fails the field: the first field is "no fields" */
    const char *not_values[] = {".5",  "-.5", "+5",    "+1i",   "NaN", "inf", "-inf", "--1",
                                ".e3", "x",   "\"abc", "abc\"", "",    " 1",  "-"};
    for (size_t i = 0; i < sizeof not_values / sizeof not_values[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "m v=%s", not_values[i]);
        ERR(body, NOFIELDS, 5);
    }
    /* a number or bool is the longest match; what follows is trailing content */
    ERR("m v=5.", TRAIL "`.`", 6);
    ERR("m v=1.e3", TRAIL "`.e3`", 6);
    ERR("m v=1e", TRAIL "`e`", 6);
    ERR("m v=1e+", TRAIL "`e+`", 6);
    ERR("m v=0x10", TRAIL "`x10`", 6);
    ERR("m v=1.5.5", TRAIL "`.5`", 8);
    ERR("m v=1i2", TRAIL "`2`", 7);
    ERR("m v=1.0i", TRAIL "`i`", 8);
    ERR("m v=1e3i", TRAIL "`i`", 8);
    ERR("m v=-7u", TRAIL "`u`", 7);
    ERR("m v=1.5u", TRAIL "`u`", 8);
    ERR("m v=true1", TRAIL "`1`", 9);
    ERR("m v=tRUE", TRAIL "`RUE`", 6);
    ERR("m v=TrUe", TRAIL "`rUe`", 6);
    ERR("m v=tru", TRAIL "`ru`", 6);
    ERR("m v=\"a\"b\"", TRAIL "`b\"`", 8);
    ERR("m v=1x 5", TRAIL "`x 5`", 6);
    /* after the fields: spaces and a timestamp, then nothing but spaces */
    ERR("m v=1 abc", TRAIL "` abc`", 7);
    ERR("m v=1 1.5", TRAIL "`.5`", 8);
    ERR("m v=1 +5", TRAIL "` +5`", 7);
    ERR("m v=1 -", TRAIL "` -`", 7);
    ERR("m v=1 1e3", TRAIL "`e3`", 8);
    ERR("m v=1 5 6 7", TRAIL "`6 7`", 9);
    ERR("m v=1 5abc", TRAIL "`abc`", 8);
    ERR("m v=1 5,6", TRAIL "`,6`", 8);
    ERR("m v=1\t5", TRAIL "`\t5`", 6);
    ERR("m v=1 5\t", TRAIL "`\t`", 8);
    ERR("m v=1 ,w=2", TRAIL "` ,w=2`", 7);
    ERR("m v=1 abcdefghijklmnop", TRAIL "` abcdefghi...`", 7);
    /* ten characters are counted as UTF-8 characters, not bytes */
    ERR("m v=1 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
        TRAIL "` \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...`", 7);
    /* string cap: exactly 1 MiB is fine, one byte more is not */
    size_t n = VG_LIMIT_LP_STRING_BYTES;
    char *big = malloc(n + 16);
    memcpy(big, "m s=\"", 5);
    memset(big + 5, 'x', n);
    memcpy(big + 5 + n, "\"", 2);
    lp_batch b = parse(big);
    CHECK_INT(b.nlines, 1);
    if (b.nlines)
        CHECK_INT(b.lines[0].fields[0].v.s.len, n);
    memset(big + 5, 'x', n + 1);
    memcpy(big + 6 + n, "\"", 2);
    err_at(__LINE__, big, strlen(big), "String is greater than 1MB", 5);
    free(big);
}

static void test_structure_errors(void)
{
    fresh();
    ERR(",t=1 v=1", "Invalid measurement was provided", 1);
    ERR("  ,", "Invalid measurement was provided", 3);
    ERR("m", "Expected at least one space character, got end of input", 2);
    ERR("m,t=1", "Expected at least one space character, got end of input", 6);
    ERR("m,t=1,u=2", "Expected at least one space character, got end of input", 10);
    ERR("m\tv=1 5", "Expected at least one space character, got `\tv=1 5`", 2);
    ERR("m,t=a\tb v=1", "Expected at least one space character, got `\tb v=1`", 6);
    ERR("zz\tabcdefghijklmnop v=1",
        "Expected at least one space character, got `\tabcdefghijklmnop v=1`", 3);
    ERRN("m\0x v=1", "Expected at least one space character, got `\\0x v=1`", 2);
    ERR("m\x0b", "Expected at least one space character, got end of input", 3);
    ERR("m, v=1", "Expected tag key, got ` v=1`", 3);
    ERR("m,=1 v=1", "Expected tag key, got `=1 v=1`", 3);
    ERR("m,t=1,=2 v=1", "Expected tag key, got `=2 v=1`", 7);
    ERR("m,", "Expected tag key, got end of input", 3);
    ERR("m,t=1,", "Expected tag key, got end of input", 7);
    ERR("m,\tt=1 v=1", "Expected tag key, got `\tt=1 v=1`", 3);
    ERR("zz,=abcdefghijklmnop v=1 5", "Expected tag key, got `=abcdefghi...`", 4);
    ERR("m,t v=1", "Tag set malformed: could not find equals sign in `t v=1`", 4);
    ERR("m,t", "Tag set malformed: could not find equals sign in `t`", 4);
    ERR("m,t=1,u v=1", "Tag set malformed: could not find equals sign in `t=1,u v=1`", 8);
    ERR("m,t=1,u=2,w v=1", "Tag set malformed: could not find equals sign in `t=1,u=2,w ...`", 12);
    ERR("m,,", "Tag set malformed: could not find equals sign in `,`", 4);
    ERR("m,t\tx=1 v=1", "Tag set malformed: could not find equals sign in `t\tx=1 v=1`", 4);
    ERR("m,t= v=1", "Expected tag value, got ` v=1`", 5);
    ERR("m,t=1,u= v=1", "Expected tag value, got ` v=1`", 9);
    ERR("m,t=", "Expected tag value, got end of input", 5);
    ERR("m,t=\t1 v=1", "Expected tag value, got `\t1 v=1`", 5);
    ERR("zz,t= abcdefghijklmnop v=1 5", "Expected tag value, got ` abcdefghi...`", 6);
    /* the first field failing is "no fields"; the column is where it failed */
    ERR("m ", NOFIELDS, 3);
    ERR("m,t=1   ", NOFIELDS, 9);
    ERR("m v", NOFIELDS, 4);
    ERR("m =1", NOFIELDS, 3);
    ERR("m v =1", NOFIELDS, 4);
    ERR("m v= 1", NOFIELDS, 5);
    ERR("m v\t=1", NOFIELDS, 4);
    ERR("m 5", NOFIELDS, 4);
    ERR("cpu,host=a val= 123", NOFIELDS, 16);
    ERR("this is not line protocol!!", NOFIELDS, 8);
    /* a later field failing leaves trailing content: from just after the comma for
     * the second field, from the comma for later ones (as Core quotes it) */
    ERR("m v=1,w=", TRAIL "`w=`", 9);
    ERR("m v=1,w", TRAIL "`w`", 8);
    ERR("m v=1,=2", TRAIL "`=2`", 7);
    ERR("m v=1, w=2", TRAIL "` w=2`", 7);
    ERR("m v=1,", TRAIL "`,`", 7);
    ERR("m v=1,w= 5", TRAIL "`w= 5`", 9);
    ERR("m v=1,w\t=2", TRAIL "`w\t=2`", 8);
    ERR("m v=1,w=2,x=", TRAIL "`,x=`", 13);
    ERR("m v=1,w=2,x", TRAIL "`,x`", 12);
    ERR("m v=1,w=2,", TRAIL "`,`", 11);
    ERR("m v=1,w=2,x=3,y= 5", TRAIL "`,y= 5`", 17);
    ERR("zz v=1,w=abcdefghijklmnop", TRAIL "`w=abcdefgh...`", 10);
}

static void test_backslash_errors(void)
{
    fresh();
    ERR("m\\", BACKSLASH, 2);
    ERR("m\\\tv=1", BACKSLASH, 2);
    ERR("m,t\\", BACKSLASH, 4);
    ERR("m,t=a\\", BACKSLASH, 6);
    ERR("m,t=a\\\t v=1", BACKSLASH, 6);
    ERR("m v\\", BACKSLASH, 4);
    ERR("m v=1i,w\\", BACKSLASH, 9);
    ERR("m,t=\\", BACKSLASH, 5);
    /* an escaped backslash at the end of a name is fine */
    const lp_line *l = ONE("m\\\\,t\\\\=v\\\\ f\\\\=1");
    if (l) {
        CHECK_STR(meas(l->measurement), "m\\");
        CHECK_STR(name(l->tags[0].key), "t\\");
        CHECK_STR(name(l->tags[0].val), "v\\");
        CHECK_STR(name(l->fields[0].key), "f\\");
    }
    /* an unterminated string field */
    ERR("m s=\"abc\\\"", NOFIELDS, 5);
}

static void test_duplicates(void)
{
    fresh();
    ERR("m,t=1,t=2 v=1", "Must not contain duplicate tags, but `t` was repeated", 7);
    ERR("m,t=1,t=1 v=1", "Must not contain duplicate tags, but `t` was repeated", 7);
    /* the same key spelled escaped and unescaped */
    ERR("m,a,b=1,a\\,b=2 v=1", "Must not contain duplicate tags, but `a,b` was repeated", 9);
    ERR("m a=1,a=2", "invalid line protocol - multiple instances of 'a' field found", 7);
    ERR("m,t=1 a=1,b=2,a=3i 5", "invalid line protocol - multiple instances of 'a' field found",
        15);
    ERR("m a,b=1,a\\,b=2", "invalid line protocol - multiple instances of 'a,b' field found", 9);
    /* a parse error comes first */
    ERR("m v=1,v=2 abc", TRAIL "` abc`", 11);
    /* many keys: the hash-table path */
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body, "m");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, ",tag%d=v", i);
    n += (size_t)snprintf(body + n, sizeof body - n, " ");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%sfield%d=%d", i ? "," : "", i, i);
    lp_batch b = parse(body);
    CHECK_INT(b.nlines, 1);
    if (b.nlines) {
        CHECK_INT(b.lines[0].ntags, 40);
        CHECK_INT(b.lines[0].nfields, 100);
    }
    snprintf(body + n, sizeof body - n, ",field\\ 7=1,field7=2,fiel\\d7=3");
    b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors)
        CHECK_STR(b.errors[0].msg,
                  "invalid line protocol - multiple instances of 'field7' field found");
    /* the same tag key spelled two ways, far apart */
    n = (size_t)snprintf(body, sizeof body, "m");
    size_t col = 0;
    for (int i = 0; i < 40; i++) {
        if (i == 35)
            col = n + 2;
        n += (size_t)snprintf(body + n, sizeof body - n,
                              i == 10   ? ",x,y=v"
                              : i == 35 ? ",x\\,y=v"
                                        : ",tag%d=v",
                              i);
    }
    snprintf(body + n, sizeof body - n, " f=1");
    b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors) {
        CHECK_STR(b.errors[0].msg, "Must not contain duplicate tags, but `x,y` was repeated");
        CHECK_INT(b.errors[0].column, col);
    }
}

static void test_long_names_in_messages(void)
{
    fresh();
    /* a wide line of long keys (hash path, 8-byte loads) with a long repeated key */
    char body[8192], key[201];
    memset(key, 'k', 200);
    key[200] = '\0';
    size_t n = (size_t)snprintf(body, sizeof body, "m ");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "a_rather_long_field_name_%d=1,", i);
    size_t col = n + 1;
    snprintf(body + n, sizeof body - n, "%s=1,a_rather_long_field_name_1=2,%s=3", key, key);
    lp_batch b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors) {
        CHECK_STR(b.errors[0].msg, "invalid line protocol - multiple instances of "
                                   "'a_rather_long_field_name_1' field found");
        CHECK_INT(b.errors[0].column, col + 203);
    }
    snprintf(body, sizeof body, "m %s=1,%s=2", key, key);
    b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors) {
        char want[256];
        snprintf(want, sizeof want,
                 "invalid line protocol - multiple instances of '%.89s...' field found", key);
        CHECK_STR(b.errors[0].msg, want);
    }
    /* a long rest of line, in stray UTF-8 continuation bytes, is cut to fit */
    memset(body, 0x80, 400);
    memcpy(body, "m\t", 2);
    body[400] = '\0';
    b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors) {
        const char *m = b.errors[0].msg;
        CHECK(strncmp(m, "Expected at least one space character, got `\t\x80", 45) == 0);
        CHECK(strlen(m) < 200);
        CHECK(strcmp(m + strlen(m) - 4, "...`") == 0);
    }
}

static void test_limits(void)
{
    fresh();
    /* names of 1 MiB are fine, one byte more is not */
    const struct {
        const char *pre, *post, *msg;
        uint32_t col;
    } cases[] = {{"", " v=1", "Measurement is greater than 1MB", 1},
                 {"m,", "=1 v=1", "Tag key is greater than 1MB", 3},
                 {"m,t=", " v=1", "Tag value is greater than 1MB", 5},
                 {"m ", "=1", "Field key is greater than 1MB", 3}};
    char *big = malloc(VG_LIMIT_LP_STRING_BYTES + 64);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t extra = 0; extra < 2; extra++) {
            size_t pl = strlen(cases[i].pre), n = VG_LIMIT_LP_STRING_BYTES + extra;
            memcpy(big, cases[i].pre, pl);
            memset(big + pl, 'x', n);
            strcpy(big + pl + n, cases[i].post);
            if (extra) {
                err_at(__LINE__, big, strlen(big), cases[i].msg, cases[i].col);
            } else {
                lp_batch b = parse(big);
                CHECK_INT(b.nlines, 1);
            }
        }
    }
    free(big);

    /* tags and fields per line: at the cap, and one over */
    size_t cap = 16 * (size_t)VG_LIMIT_LP_FIELDS_PER_LINE;
    char *body = malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "m");
    for (int i = 0; i < VG_LIMIT_LP_TAGS_PER_LINE; i++)
        len += (size_t)snprintf(body + len, cap - len, ",t%d=v", i);
    snprintf(body + len, cap - len, " v=1");
    lp_batch b = parse(body);
    CHECK_INT(b.nlines, 1);
    size_t col = len + 1;
    snprintf(body + len, cap - len, ",x=v v=1");
    b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors) {
        CHECK_STR(b.errors[0].msg, "Too many tags: a line may have at most 4096");
        CHECK_INT(b.errors[0].column, col + 1);
    }
    len = (size_t)snprintf(body, cap, "m ");
    for (int i = 0; i < VG_LIMIT_LP_FIELDS_PER_LINE; i++)
        len += (size_t)snprintf(body + len, cap - len, "%sf%d=1", i ? "," : "", i);
    b = parse(body);
    CHECK_INT(b.nlines, 1);
    if (b.nlines)
        CHECK_INT(b.lines[0].nfields, VG_LIMIT_LP_FIELDS_PER_LINE);
    snprintf(body + len, cap - len, ",x=1");
    b = parse(body);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors) {
        CHECK_STR(b.errors[0].msg, "Too many fields: a line may have at most 65536");
        CHECK_INT(b.errors[0].column, len + 2);
    }
    free(body);
}

static void test_multiline(void)
{
    fresh();
    const char *body = "cpu,host=a usage=1 1\n"
                       "\n"
                       "# comment\n"
                       "cpu,host=b usage=x 2\n"
                       "  mem free=3i 3\r\n"
                       "bad\n"
                       "disk,dev=sda used=0.5,ro=f\n"
                       "cpu,host=c usage=1,usage=2";
    lp_batch b = parse(body);
    CHECK_INT(b.nlines, 3);
    CHECK_INT(b.nerrors, 3);
    if (b.nlines == 3 && b.nerrors == 3) {
        CHECK_INT(b.lines[0].line_no, 1);
        CHECK_INT(b.lines[1].line_no, 5);
        CHECK_MEM(b.lines[1].text, b.lines[1].text_len, "  mem free=3i 3");
        CHECK_INT(b.lines[2].line_no, 7);
        CHECK_STR(meas(b.lines[2].measurement), "disk");
        CHECK_INT(b.lines[2].fields[1].type, LP_BOOL);
        CHECK_INT(b.errors[0].line_no, 4);
        CHECK_INT(b.errors[0].column, 18);
        CHECK_STR(b.errors[0].msg, NOFIELDS);
        CHECK_MEM(b.errors[0].text, b.errors[0].text_len, "cpu,host=b usage=x 2");
        CHECK_INT(b.errors[1].line_no, 6);
        CHECK_INT(b.errors[1].column, 4);
        CHECK_STR(b.errors[1].msg, "Expected at least one space character, got end of input");
        CHECK_INT(b.errors[2].line_no, 8);
        CHECK_INT(b.errors[2].column, 20);
        CHECK_STR(b.errors[2].msg,
                  "invalid line protocol - multiple instances of 'usage' field found");
    }
    b = parse_n(body, strlen(body), true);
    CHECK_INT(b.nlines, 1);
    CHECK_INT(b.nerrors, 1);
    if (b.nerrors)
        CHECK_INT(b.errors[0].line_no, 4);

    /* many lines: the arrays grow */
    size_t cap = 200000 * 24;
    char *big = malloc(cap);
    size_t len = 0;
    for (int i = 0; i < 200000; i++)
        len +=
            (size_t)snprintf(big + len, cap - len, i % 1000 == 7 ? "x%d\n" : "m v=%di %d\n", i, i);
    b = parse_n(big, len, false);
    CHECK_INT(b.nlines, 200000 - 200);
    CHECK_INT(b.nerrors, 200);
    if (b.nlines == 200000 - 200 && b.nerrors == 200) {
        CHECK_INT(b.lines[199799].fields[0].v.i, 199999);
        CHECK_INT(b.lines[199799].line_no, 200000);
        CHECK_INT(b.errors[199].line_no, 199008);
    }
    free(big);
}

/* ---- memory failure ---- */

static void test_out_of_memory(void)
{
    const char *body = "cpu,host=a usage=1 1\nbad\ncpu,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10 "
                       "f0=1,f1=2,f2=3,f3=4,f4=5,f5=6,f6=7,f7=8,f8=9,f9=10,f10=11\n"
                       "m v=1.00000000000000000000000000000000000000000000000000000000000000"
                       "000000000000000000000000000000000000000000000000000000000000000000001\n";
    int ok = 0, nomem = 0;
    for (long k = 1; k < 200 && ok == 0; k++) {
        vg_arena a;
        vg_arena_init(&a, 256);
        lp_batch b;
        size_t before = vg_mem_used();
        vg_mem_fail_after(k);
        int rc = lp_parse(body, strlen(body), NULL, &a, &b);
        vg_mem_fail_after(0);
        if (rc == VG_OK) {
            ok++;
            CHECK_INT(b.nlines, 3);
            CHECK_INT(b.nerrors, 1);
        } else {
            CHECK_INT(rc, VG_ENOMEM);
            nomem++;
        }
        vg_arena_free(&a);
        CHECK_INT(vg_mem_used(), before);
    }
    CHECK(nomem > 3);
    CHECK_INT(ok, 1);
}

/* ---- precision ---- */

static void test_precision(void)
{
    lp_precision p;
    vg_err e;
    struct {
        const char *s;
        lp_precision p;
    } ok[] = {{"auto", LP_PREC_AUTO},      {"s", LP_PREC_S},
              {"second", LP_PREC_S},       {"ms", LP_PREC_MS},
              {"millisecond", LP_PREC_MS}, {"us", LP_PREC_US},
              {"u", LP_PREC_US},           {"microsecond", LP_PREC_US},
              {"ns", LP_PREC_NS},          {"n", LP_PREC_NS},
              {"nanosecond", LP_PREC_NS}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(lp_parse_precision(ok[i].s, strlen(ok[i].s), true, &p, &e), VG_OK);
        CHECK_INT(p, ok[i].p);
    }
    CHECK_INT(lp_parse_precision("auto", 4, false, &p, &e), VG_EINVAL);
    CHECK_STR(e.msg, "unknown variant `auto`, expected one of `second`, `millisecond`, "
                     "`microsecond`, `nanosecond` (or `s`, `ms`, `us`, `u`, `ns`, `n`)");
    CHECK_INT(lp_parse_precision("h", 1, true, &p, &e), VG_EINVAL);
    CHECK_STR(e.msg, "unknown variant `h`, expected one of `auto`, `second`, `millisecond`, "
                     "`microsecond`, `nanosecond` (or `s`, `ms`, `us`, `u`, `ns`, `n`)");
    CHECK_INT(lp_parse_precision("S", 1, true, &p, &e), VG_EINVAL);
    CHECK_INT(lp_parse_precision("", 0, true, &p, &e), VG_EINVAL);
    CHECK_INT(lp_parse_precision("sec", 1, true, &p, &e), VG_OK); /* length-bounded: "s" */
    CHECK_INT(p, LP_PREC_S);

    CHECK_STR(lp_precision_name(LP_PREC_AUTO), "Auto");
    CHECK_STR(lp_precision_name(LP_PREC_S), "Second");
    CHECK_STR(lp_precision_name(LP_PREC_MS), "Millisecond");
    CHECK_STR(lp_precision_name(LP_PREC_US), "Microsecond");
    CHECK_STR(lp_precision_name(LP_PREC_NS), "Nanosecond");

    int64_t ns = 0;
    CHECK_INT(lp_scale_time(5, LP_PREC_S, &ns, &e), VG_OK);
    CHECK_INT(ns, 5000000000LL);
    CHECK_INT(lp_scale_time(-5, LP_PREC_MS, &ns, &e), VG_OK);
    CHECK_INT(ns, -5000000LL);
    CHECK_INT(lp_scale_time(7, LP_PREC_US, &ns, &e), VG_OK);
    CHECK_INT(ns, 7000);
    CHECK_INT(lp_scale_time(INT64_MIN, LP_PREC_NS, &ns, &e), VG_OK);
    CHECK(ns == INT64_MIN);
    /* auto: |t| < 5e9 seconds, < 5e12 ms, < 5e15 us, else ns */
    struct {
        int64_t t, want;
    } autos[] = {{0, 0},
                 {1, 1000000000LL},
                 {4999999999LL, 4999999999000000000LL},
                 {-4999999999LL, -4999999999000000000LL},
                 {5000000000LL, 5000000000000000LL},
                 {4999999999999LL, 4999999999999000000LL},
                 {5000000000000LL, 5000000000000000LL},
                 {4999999999999999LL, 4999999999999999000LL},
                 {-4999999999999999LL, -4999999999999999000LL},
                 {5000000000000000LL, 5000000000000000LL},
                 {1700000000000000000LL, 1700000000000000000LL},
                 {INT64_MIN, INT64_MIN}};
    for (size_t i = 0; i < sizeof autos / sizeof autos[0]; i++) {
        CHECK_INT(lp_scale_time(autos[i].t, LP_PREC_AUTO, &ns, &e), VG_OK);
        CHECK_INT(ns, autos[i].want);
    }
    CHECK_INT(lp_scale_time(9300000000000000LL, LP_PREC_MS, &ns, &e), VG_EINVAL);
    CHECK_STR(e.msg, "timestamp, 9300000000000000, out of range for precision: Millisecond");
    CHECK_INT(lp_scale_time(-9223372037LL, LP_PREC_S, &ns, &e), VG_EINVAL);
    CHECK_STR(e.msg, "timestamp, -9223372037, out of range for precision: Second");
    CHECK_INT(lp_scale_time(9223372036854776LL, LP_PREC_US, &ns, &e), VG_EINVAL);
    CHECK_INT(lp_scale_time(9223372036854775LL, LP_PREC_US, &ns, &e), VG_OK);
    CHECK_INT(ns, 9223372036854775000LL);

    int64_t now = 1700000123456789012LL;
    CHECK_INT(lp_default_time(now, LP_PREC_AUTO), now);
    CHECK_INT(lp_default_time(now, LP_PREC_NS), now);
    CHECK_INT(lp_default_time(now, LP_PREC_US), 1700000123456789000LL);
    CHECK_INT(lp_default_time(now, LP_PREC_MS), 1700000123456000000LL);
    CHECK_INT(lp_default_time(now, LP_PREC_S), 1700000123000000000LL);
}

/* ---- builder ---- */

static void test_builder(void)
{
    vg_buf out;
    vg_buf_init(&out);
    lp_builder b;
    vg_err e;
    lp_builder_init(&b, &out);
    lp_build_measurement(&b, "c,p u\\=", 7);
    lp_build_tag(&b, "h o,s=t\\", 8, "a b,c=d", 7);
    lp_build_float(&b, "f=1", 3, 1.0);
    lp_build_float(&b, "g", 1, -0.1);
    lp_build_float(&b, "h", 1, 1e300);
    lp_build_int(&b, "i", 1, INT64_MIN);
    lp_build_uint(&b, "u", 1, UINT64_MAX);
    lp_build_bool(&b, "t", 1, true);
    lp_build_bool(&b, "f", 1, false);
    lp_build_string(&b, "s", 1, "say \"hi\" \\ ok", 13);
    lp_build_string(&b, "e", 1, "", 0);
    CHECK_INT(lp_build_end(&b, true, -42, &e), VG_OK);
    lp_build_measurement(&b, "m", 1);
    lp_build_int(&b, "v", 1, 1);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_OK);
    CHECK_STR(out.data, "c\\,p\\ u\\\\=,h\\ o\\,s\\=t\\\\=a\\ b\\,c\\=d f\\=1=1,g=-0.1,h=1e+300,"
                        "i=-9223372036854775808i,u=18446744073709551615u,t=t,f=f,"
                        "s=\"say \\\"hi\\\" \\\\ ok\",e=\"\" -42\n"
                        "m v=1i");

    /* it reads back as written */
    fresh();
    lp_batch pb = parse(out.data);
    CHECK_INT(pb.nlines, 2);
    CHECK_INT(pb.nerrors, 0);
    if (pb.nlines == 2) {
        const lp_line *l = &pb.lines[0];
        CHECK_STR(meas(l->measurement), "c,p u\\=");
        CHECK_STR(name(l->tags[0].key), "h o,s=t\\");
        CHECK_STR(name(l->tags[0].val), "a b,c=d");
        CHECK_STR(name(l->fields[0].key), "f=1");
        CHECK_INT(l->fields[0].type, LP_FLOAT);
        CHECK(l->fields[1].v.f == -0.1);
        CHECK(l->fields[2].v.f == 1e300);
        CHECK(l->fields[3].v.i == INT64_MIN);
        CHECK(l->fields[4].v.u == UINT64_MAX);
        CHECK_STR(strval(l->fields[7].v.s), "say \"hi\" \\ ok");
        CHECK_INT(l->time, -42);
    }

    /* a bad line is reported and dropped; the lines before it stay */
    size_t keep = out.len;
    lp_build_measurement(&b, "m", 1);
    lp_build_float(&b, "v", 1, NAN);
    lp_build_int(&b, "w", 1, 2);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "field `v` is NaN: line protocol cannot carry NaN or infinite floats");
    CHECK_INT(out.len, keep);
    CHECK_INT(strlen(out.data), keep);

    struct {
        int step;
        const char *msg;
    } bad[] = {
        {0, "line has no field: line protocol needs at least one"},
        {1, "field `v` is infinite: line protocol cannot carry NaN or infinite floats"},
        {2, "measurement is empty: line protocol needs at least one byte"},
        {3, "measurement `#m` starts with `#`, which line protocol reads as a comment"},
        {4, "tag value is empty: line protocol needs at least one byte"},
        {5, "tag key `a\tb` contains a tab, which line protocol cannot carry"},
        {6, "string field value `a\nb` contains a newline, which line protocol cannot carry"},
        {7, "tag `t` was added after a field"},
        {8, "field `v` was added before a measurement"},
        {9, "a line was ended before it had a measurement"},
        {10, "measurement `a\nb` contains a newline, which line protocol cannot carry"},
        {11, "field key is empty: line protocol needs at least one byte"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        switch (bad[i].step) {
        case 2: lp_build_measurement(&b, "", 0); break;
        case 3: lp_build_measurement(&b, "#m", 2); break;
        case 8:
        case 9: break;
        case 10: lp_build_measurement(&b, "a\nb", 3); break;
        default: lp_build_measurement(&b, "m", 1); break;
        }
        switch (bad[i].step) {
        case 1: lp_build_float(&b, "v", 1, -INFINITY); break;
        case 4: lp_build_tag(&b, "t", 1, "", 0); break;
        case 5: lp_build_tag(&b, "a\tb", 3, "x", 1); break;
        case 6: lp_build_string(&b, "s", 1, "a\nb", 3); break;
        case 7:
            lp_build_int(&b, "v", 1, 1);
            lp_build_tag(&b, "t", 1, "x", 1);
            break;
        case 8: lp_build_int(&b, "v", 1, 1); break;
        case 11: lp_build_int(&b, "", 0, 1); break;
        default: break;
        }
        if (bad[i].step != 0 && bad[i].step != 9)
            lp_build_int(&b, "z", 1, 1);
        CHECK_INT(lp_build_end(&b, false, 0, &e), VG_EINVAL);
        CHECK_STR(e.msg, bad[i].msg);
        CHECK_INT(out.len, keep);
    }
    /* more refusals: a second measurement, a NUL, an element over 1 MiB escaped */
    lp_build_measurement(&b, "m", 1);
    lp_build_measurement(&b, "n", 1);
    lp_build_int(&b, "v", 1, 1);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "a measurement was started before the previous line was ended");
    CHECK_INT(out.len, keep);
    lp_build_measurement(&b, "a\0b", 3);
    lp_build_int(&b, "v", 1, 1);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "measurement `a` contains a NUL byte, which line protocol cannot carry");
    size_t big = VG_LIMIT_LP_STRING_BYTES / 2 + 1;
    char *val = malloc(big);
    memset(val, ',', big); /* each comma doubles once escaped */
    lp_build_measurement(&b, "m", 1);
    lp_build_tag(&b, "t", 1, val, big);
    lp_build_int(&b, "v", 1, 1);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_EINVAL);
    CHECK_STR(e.msg, "tag value `,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,...` is greater than 1MB");
    lp_build_measurement(&b, "m", 1);
    lp_build_tag(&b, "t", 1, val, big - 1);
    lp_build_int(&b, "v", 1, 1);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_OK);
    CHECK_INT(out.len, keep + 10 + 2 * (big - 1)); /* "\nm,t=" value " v=1i" */
    out.len = keep;
    out.data[keep] = '\0';
    free(val);

    /* still usable afterwards */
    lp_build_measurement(&b, "n", 1);
    lp_build_bool(&b, "ok", 2, true);
    CHECK_INT(lp_build_end(&b, true, 7, &e), VG_OK);
    CHECK_STR(out.data + keep, "\nn ok=t 7");
    vg_buf_free(&out);

    /* a first line that fails leaves no stray newline */
    vg_buf_init(&out);
    lp_builder_init(&b, &out);
    lp_build_measurement(&b, "m", 1);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_EINVAL);
    CHECK_INT(out.len, 0);
    lp_build_measurement(&b, "m", 1);
    lp_build_uint(&b, "u", 1, 3);
    CHECK_INT(lp_build_end(&b, false, 0, &e), VG_OK);
    CHECK_STR(out.data, "m u=3u");
    vg_buf_free(&out);
}

/* Rebuilds every good line of a parse with the builder. */
static void rebuild(const lp_batch *pb, vg_buf *out)
{
    lp_builder b;
    lp_builder_init(&b, out);
    static char k[4096], v[4096];
    for (size_t i = 0; i < pb->nlines; i++) {
        const lp_line *l = &pb->lines[i];
        lp_build_measurement(&b, k, lp_unescape_measurement(l->measurement, k));
        for (uint32_t t = 0; t < l->ntags; t++) {
            size_t kl = lp_unescape(l->tags[t].key, k);
            lp_build_tag(&b, k, kl, v, lp_unescape(l->tags[t].val, v));
        }
        for (uint32_t f = 0; f < l->nfields; f++) {
            const lp_field *fd = &l->fields[f];
            size_t kl = lp_unescape(fd->key, k);
            switch (fd->type) {
            case LP_FLOAT: lp_build_float(&b, k, kl, fd->v.f); break;
            case LP_INT: lp_build_int(&b, k, kl, fd->v.i); break;
            case LP_UINT: lp_build_uint(&b, k, kl, fd->v.u); break;
            case LP_BOOL: lp_build_bool(&b, k, kl, fd->v.b); break;
            case LP_STRING:
                lp_build_string(&b, k, kl, v, lp_unescape_string_field(fd->v.s, v));
                break;
            }
        }
        vg_err e;
        CHECK_INT(lp_build_end(&b, l->has_time, l->time, &e), VG_OK);
    }
}

static bool same_slice(lp_slice a, lp_slice b, size_t (*un)(lp_slice, char *))
{
    static char x[4096], y[4096];
    size_t n = un(a, x), m = un(b, y);
    return n == m && memcmp(x, y, n) == 0;
}

static void test_round_trip(void)
{
    fresh();
    const char *body = "cpu,host=server\\ 01,region=us\\,west usage_idle=98.5,usage_user=1.25 "
                       "1700000000000000000\n"
                       "a\\\\,t\\\\=v\\\\ f\\\\=1\n"
                       "m\\=x,k=a=b,,c=d s=\"q\\\"uote \\\\ and \\x\",e=\"\",t=T,f=FALSE -1\n"
                       "w\\ eird\\,name,t=\\\\\\, x=1e-300,y=-0,z=123456789.123456789,u=0u,i=-0i\n"
                       "m\"q,\"k\"=\"v\" \"f\"=1.7976931348623157e308,g=4.9e-324,h=0.1 0\n";
    lp_batch p1 = parse(body);
    CHECK_INT(p1.nlines, 5);
    CHECK_INT(p1.nerrors, 0);
    vg_buf out;
    vg_buf_init(&out);
    rebuild(&p1, &out);
    lp_batch p2 = parse(out.data);
    CHECK_INT(p2.nlines, p1.nlines);
    CHECK_INT(p2.nerrors, 0);
    for (size_t i = 0; i < p1.nlines && i < p2.nlines; i++) {
        const lp_line *a = &p1.lines[i], *c = &p2.lines[i];
        CHECK(same_slice(a->measurement, c->measurement, lp_unescape_measurement));
        CHECK_INT(a->ntags, c->ntags);
        CHECK_INT(a->nfields, c->nfields);
        CHECK_INT(a->has_time, c->has_time);
        CHECK_INT(a->time, c->time);
        for (uint32_t t = 0; t < a->ntags && t < c->ntags; t++) {
            CHECK(same_slice(a->tags[t].key, c->tags[t].key, lp_unescape));
            CHECK(same_slice(a->tags[t].val, c->tags[t].val, lp_unescape));
        }
        for (uint32_t f = 0; f < a->nfields && f < c->nfields; f++) {
            const lp_field *x = &a->fields[f], *y = &c->fields[f];
            CHECK(same_slice(x->key, y->key, lp_unescape));
            CHECK_INT(x->type, y->type);
            if (x->type == LP_STRING)
                CHECK(same_slice(x->v.s, y->v.s, lp_unescape_string_field));
            else if (x->type == LP_FLOAT)
                CHECK(memcmp(&x->v.f, &y->v.f, sizeof(double)) == 0);
            else
                CHECK(x->v.u == y->v.u || (x->type == LP_BOOL && x->v.b == y->v.b));
        }
    }
    vg_buf_free(&out);
}

/* ---- floats against strtod ---- */

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random decimal in the float grammar: 1-25 digits, an optional fraction and an
 * optional exponent, sometimes near the edges of double range. */
static size_t random_decimal(char *s)
{
    size_t n = 0;
    if (rnd() & 1)
        s[n++] = '-';
    int nint = 1 + (int)(rnd() % 12), nfrac = (int)(rnd() % 14);
    if (rnd() % 8 == 0)
        nint += (int)(rnd() % 14);
    for (int i = 0; i < nint; i++)
        s[n++] = (char)('0' + (i == 0 && rnd() % 4 ? 1 + rnd() % 9 : rnd() % 10));
    if (nfrac) {
        s[n++] = '.';
        for (int i = 0; i < nfrac; i++)
            s[n++] = (char)('0' + rnd() % 10);
    }
    int kind = (int)(rnd() % 4);
    if (kind) {
        s[n++] = rnd() & 1 ? 'e' : 'E';
        int x = kind == 1   ? (int)(rnd() % 45) - 22
                : kind == 2 ? (int)(rnd() % 80) - 40
                            : (int)(rnd() % 660) - 330;
        if (x >= 0 && rnd() % 3 == 0)
            s[n++] = '+';
        n += (size_t)sprintf(s + n, "%d", x);
    }
    s[n] = '\0';
    return n;
}

static void test_float_vs_strtod(void)
{
    fresh();
    char body[128], num[96];
    int bad = 0, checked = 0;
    for (int i = 0; i < 120000; i++) {
        if (i % 3 == 2) {
            /* the round-trip forms of random doubles */
            uint64_t bits = rnd();
            double d;
            memcpy(&d, &bits, sizeof d);
            if (!isfinite(d))
                continue;
            snprintf(num, sizeof num, i % 2 ? "%.17g" : "%.15g", d);
        } else {
            random_decimal(num);
        }
        double want = strtod(num, NULL);
        snprintf(body, sizeof body, "m v=%s", num);
        lp_batch b = parse(body);
        checked++;
        if (isinf(want)) {
            if (b.nerrors != 1 || strncmp(b.errors[0].msg, "Unable to parse floating-point", 30))
                bad++;
        } else if (b.nlines != 1 || b.lines[0].fields[0].type != LP_FLOAT ||
                   memcmp(&b.lines[0].fields[0].v.f, &want, sizeof want) != 0) {
            if (bad++ < 10)
                printf("FAIL %s: %s parsed as %.17g, strtod says %.17g\n", test_current_name, num,
                       b.nlines ? b.lines[0].fields[0].v.f : 0.0, want);
        }
        if (i % 4096 == 0)
            fresh();
    }
    CHECK_INT(bad, 0);
    CHECK(checked > 100000);
}

TEST_MAIN(test_full_line, test_minimal_and_spacing, test_blank_comment_crlf,
          test_escapes_measurement, test_escapes_tags_and_fields, test_unescape_functions,
          test_numbers, test_value_errors, test_structure_errors, test_backslash_errors,
          test_duplicates, test_long_names_in_messages, test_limits, test_multiline,
          test_out_of_memory, test_precision, test_builder, test_round_trip, test_float_vs_strtod)
