/*
 * tests/fuzz/fuzz_lineproto.c: libFuzzer target for the line-protocol parser and
 * builder (also linked with tests/fuzz/replay.c to replay the corpus without
 * libFuzzer).
 *
 * For any input it checks, and abort()s when one fails:
 *  - every good line and error lies inside the input, in line order, with sane
 *    counts, non-empty names, finite floats, and a column inside its line;
 *  - an unescaped slice is its raw bytes;
 *  - stop_at_first_error gives a prefix of the full parse, ending at its first error;
 *  - the round trip: the good lines rebuilt with the builder parse back to the same
 *    lines, with no error;
 *  - an input that reads as a whole float value gets exactly strtod's double.
 */
#include "lineproto/lineproto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_lineproto: %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool inside(const char *p, size_t n, const char *lo, const char *hi)
{
    return p >= lo && p <= hi && n <= (size_t)(hi - p);
}

/* An unescaped copy of a slice, in a malloc'd buffer the caller frees. */
static char *copy_unescaped(lp_slice s, size_t (*un)(lp_slice, char *), size_t *n)
{
    char *buf = malloc(s.len + 1);
    REQUIRE(buf != NULL);
    *n = un(s, buf);
    REQUIRE(*n <= s.len);
    if (!s.escaped)
        REQUIRE(*n == s.len && memcmp(buf, s.ptr, s.len) == 0);
    return buf;
}

static bool slice_eq(lp_slice a, lp_slice b, size_t (*un)(lp_slice, char *))
{
    size_t na, nb;
    char *x = copy_unescaped(a, un, &na), *y = copy_unescaped(b, un, &nb);
    bool eq = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

static void check_slice(lp_slice s, const lp_line *l, bool nonempty, size_t (*un)(lp_slice, char *))
{
    REQUIRE(inside(s.ptr, s.len, l->text, l->text + l->text_len));
    REQUIRE(!nonempty || s.len > 0);
    REQUIRE(s.len <= VG_LIMIT_LP_STRING_BYTES);
    size_t n;
    free(copy_unescaped(s, un, &n));
}

static void check_batch(const char *body, size_t size, const lp_batch *b)
{
    const char *end = body + size;
    uint32_t last = 0;
    size_t li = 0, ei = 0;
    /* lines and errors, merged in line order, have strictly rising line numbers */
    while (li < b->nlines || ei < b->nerrors) {
        bool take_line =
            ei == b->nerrors || (li < b->nlines && b->lines[li].line_no < b->errors[ei].line_no);
        uint32_t no = take_line ? b->lines[li].line_no : b->errors[ei].line_no;
        REQUIRE(no > last);
        last = no;
        if (take_line)
            li++;
        else
            ei++;
    }
    for (size_t i = 0; i < b->nlines; i++) {
        const lp_line *l = &b->lines[i];
        REQUIRE(inside(l->text, l->text_len, body, end));
        REQUIRE(memchr(l->text, '\n', l->text_len) == NULL);
        check_slice(l->measurement, l, true, lp_unescape_measurement);
        REQUIRE(l->ntags <= VG_LIMIT_LP_TAGS_PER_LINE);
        REQUIRE(l->nfields >= 1 && l->nfields <= VG_LIMIT_LP_FIELDS_PER_LINE);
        for (uint32_t t = 0; t < l->ntags; t++) {
            check_slice(l->tags[t].key, l, true, lp_unescape);
            check_slice(l->tags[t].val, l, true, lp_unescape);
        }
        for (uint32_t f = 0; f < l->nfields; f++) {
            const lp_field *fd = &l->fields[f];
            check_slice(fd->key, l, true, lp_unescape);
            REQUIRE(fd->type <= LP_BOOL);
            if (fd->type == LP_STRING)
                check_slice(fd->v.s, l, false, lp_unescape_string_field);
            if (fd->type == LP_FLOAT)
                REQUIRE(isfinite(fd->v.f));
        }
    }
    for (size_t i = 0; i < b->nerrors; i++) {
        const lp_error *e = &b->errors[i];
        REQUIRE(inside(e->text, e->text_len, body, end));
        REQUIRE(e->line_no >= 1);
        REQUIRE(e->column >= 1 && e->column <= e->text_len + 1);
        REQUIRE(memchr(e->msg, '\0', sizeof e->msg) != NULL);
        REQUIRE(e->msg[0] != '\0');
    }
}

static void check_stop_at_first(const char *body, size_t size, const lp_batch *full)
{
    vg_arena a;
    vg_arena_init(&a, 0);
    lp_batch s;
    lp_options opt = {.stop_at_first_error = true};
    REQUIRE(lp_parse(body, size, &opt, &a, &s) == VG_OK);
    REQUIRE(s.nerrors == (full->nerrors ? 1u : 0u));
    if (s.nerrors) {
        REQUIRE(s.errors[0].line_no == full->errors[0].line_no);
        REQUIRE(s.errors[0].column == full->errors[0].column);
        REQUIRE(strcmp(s.errors[0].msg, full->errors[0].msg) == 0);
    }
    REQUIRE(s.nlines <= full->nlines);
    for (size_t i = 0; i < s.nlines; i++) {
        REQUIRE(s.lines[i].line_no == full->lines[i].line_no);
        REQUIRE(!s.nerrors || s.lines[i].line_no < s.errors[0].line_no);
    }
    if (s.nerrors && s.nlines < full->nlines)
        REQUIRE(full->lines[s.nlines].line_no > s.errors[0].line_no);
    vg_arena_free(&a);
}

static void build_line(lp_builder *bd, const lp_line *l)
{
    size_t n, vn;
    char *k = copy_unescaped(l->measurement, lp_unescape_measurement, &n);
    lp_build_measurement(bd, k, n);
    free(k);
    for (uint32_t t = 0; t < l->ntags; t++) {
        k = copy_unescaped(l->tags[t].key, lp_unescape, &n);
        char *v = copy_unescaped(l->tags[t].val, lp_unescape, &vn);
        lp_build_tag(bd, k, n, v, vn);
        free(k);
        free(v);
    }
    for (uint32_t f = 0; f < l->nfields; f++) {
        const lp_field *fd = &l->fields[f];
        k = copy_unescaped(fd->key, lp_unescape, &n);
        switch (fd->type) {
        case LP_FLOAT: lp_build_float(bd, k, n, fd->v.f); break;
        case LP_INT: lp_build_int(bd, k, n, fd->v.i); break;
        case LP_UINT: lp_build_uint(bd, k, n, fd->v.u); break;
        case LP_BOOL: lp_build_bool(bd, k, n, fd->v.b); break;
        case LP_STRING: {
            char *v = copy_unescaped(fd->v.s, lp_unescape_string_field, &vn);
            lp_build_string(bd, k, n, v, vn);
            free(v);
            break;
        }
        }
        free(k);
    }
    vg_err e;
    if (lp_build_end(bd, l->has_time, l->time, &e) != VG_OK) {
        fprintf(stderr, "fuzz_lineproto: builder refused a parsed line: %s\n", e.msg);
        abort();
    }
}

static bool field_eq(const lp_field *x, const lp_field *y)
{
    if (!slice_eq(x->key, y->key, lp_unescape) || x->type != y->type)
        return false;
    switch (x->type) {
    case LP_FLOAT: return memcmp(&x->v.f, &y->v.f, sizeof(double)) == 0;
    case LP_INT: return x->v.i == y->v.i;
    case LP_UINT: return x->v.u == y->v.u;
    case LP_BOOL: return x->v.b == y->v.b;
    case LP_STRING: return slice_eq(x->v.s, y->v.s, lp_unescape_string_field);
    }
    return false;
}

static void check_round_trip(const lp_batch *p1)
{
    vg_buf out;
    vg_buf_init(&out);
    lp_builder bd;
    lp_builder_init(&bd, &out);
    for (size_t i = 0; i < p1->nlines; i++)
        build_line(&bd, &p1->lines[i]);
    REQUIRE(!out.oom);

    vg_arena a;
    vg_arena_init(&a, 0);
    lp_batch p2;
    REQUIRE(lp_parse(out.data, out.len, NULL, &a, &p2) == VG_OK);
    if (p2.nerrors)
        fprintf(stderr, "fuzz_lineproto: rebuilt line %u: %s\n", p2.errors[0].line_no,
                p2.errors[0].msg);
    REQUIRE(p2.nerrors == 0);
    REQUIRE(p2.nlines == p1->nlines);
    for (size_t i = 0; i < p1->nlines; i++) {
        const lp_line *x = &p1->lines[i], *y = &p2.lines[i];
        REQUIRE(y->line_no == i + 1);
        REQUIRE(slice_eq(x->measurement, y->measurement, lp_unescape_measurement));
        REQUIRE(x->ntags == y->ntags && x->nfields == y->nfields);
        REQUIRE(x->has_time == y->has_time && x->time == y->time);
        for (uint32_t t = 0; t < x->ntags; t++) {
            REQUIRE(slice_eq(x->tags[t].key, y->tags[t].key, lp_unescape));
            REQUIRE(slice_eq(x->tags[t].val, y->tags[t].val, lp_unescape));
        }
        for (uint32_t f = 0; f < x->nfields; f++)
            REQUIRE(field_eq(&x->fields[f], &y->fields[f]));
    }
    vg_arena_free(&a);
    vg_buf_free(&out);
}

/* When the whole input is a float value, the parser must agree with strtod. */
static void check_float(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 64)
        return;
    char text[80], line[80];
    memcpy(text, data, size);
    text[size] = '\0';
    if (strspn(text, "0123456789.eE+-") != size)
        return;
    int n = snprintf(line, sizeof line, "m v=%s", text);
    vg_arena a;
    vg_arena_init(&a, 0);
    lp_batch b;
    REQUIRE(lp_parse(line, (size_t)n, NULL, &a, &b) == VG_OK);
    if (b.nlines == 1 && b.lines[0].fields[0].type == LP_FLOAT) {
        double want = strtod(text, NULL);
        REQUIRE(memcmp(&want, &b.lines[0].fields[0].v.f, sizeof want) == 0);
    }
    vg_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    vg_arena a;
    vg_arena_init(&a, 0);
    lp_batch b;
    REQUIRE(lp_parse(body, size, NULL, &a, &b) == VG_OK);
    check_batch(body, size, &b);
    check_stop_at_first(body, size, &b);
    check_round_trip(&b);
    vg_arena_free(&a);
    check_float(data, size);
    return 0;
}
