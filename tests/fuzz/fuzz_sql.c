/*
 * tests/fuzz/fuzz_sql.c: libFuzzer target for the SQL lexer, parser and renderer
 * (also linked with tests/fuzz/replay.c to replay the corpus without libFuzzer).
 *
 * For any input it checks, and abort()s when one fails:
 *  - a failed parse returns VG_EINVAL with a "SQL syntax error at line L, column C: "
 *    message whose position lies inside the input (or "SQL text is too long", or a
 *    DELETE's "... found <what> at line L, column C");
 *  - every node of a successful parse has a position inside the input;
 *  - every expression rendered with ast_expr_to_sql parses back inside
 *    `SELECT <rendering>`, and renders again to the same text (so the rendering
 *    keeps the tree: precedence, quoting, literals). Only a tree close to the
 *    nesting limit may fail to parse back, and only with the nesting error, since
 *    the rendering may add parentheses.
 */
#include "query/ast_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sql: %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct input {
    uint32_t lines; /* number of lines in the input */
} input;

static void check_query(const input *in, const ast_query *q);

static void check_pos(const input *in, ast_pos pos)
{
    REQUIRE(pos.line >= 1 && pos.line <= in->lines);
    REQUIRE(pos.col >= 1);
}

/* The height of an expression tree, counting a subquery as two levels. */
static int height(const ast_expr *x)
{
    if (!x)
        return 0;
    int h = 0;
    for (uint32_t i = 0; i < x->nargs; i++) {
        int k = height(x->args[i]);
        h = k > h ? k : h;
    }
    for (uint32_t i = 0; i < x->nwhens; i++) {
        int a = height(x->whens[i]), b = height(x->thens[i]);
        h = a > h ? a : h;
        h = b > h ? b : h;
    }
    for (uint32_t i = 0; i < x->nlist; i++) {
        int k = height(x->list[i]);
        h = k > h ? k : h;
    }
    int a = height(x->case_operand), b = height(x->case_else);
    h = a > h ? a : h;
    h = b > h ? b : h;
    if (x->query)
        h += 2;
    return h + 1;
}

/* Renders x, parses `SELECT <rendering>`, and renders the result again. */
static void check_round_trip(const ast_expr *x)
{
    vg_buf r1, sql, r2;
    vg_buf_init(&r1);
    vg_buf_init(&sql);
    vg_buf_init(&r2);
    ast_expr_to_sql(x, &r1);
    REQUIRE(!r1.oom && r1.len > 0);
    vg_buf_puts(&sql, "SELECT ");
    vg_buf_append(&sql, r1.data, r1.len);
    REQUIRE(!sql.oom);

    vg_arena a;
    vg_arena_init(&a, 0);
    vg_err e = {0};
    ast_stmt *st = NULL;
    int rc = ast_parse(sql.data, sql.len, &a, &st, &e);
    if (rc != VG_OK) {
        if (!(strstr(e.msg, "nested too deeply") && height(x) > VG_LIMIT_SQL_DEPTH / 4)) {
            fprintf(stderr, "fuzz_sql: rendering does not parse: %s\n  rendering: %s\n", e.msg,
                    r1.data);
            abort();
        }
    } else {
        REQUIRE(st->kind == AS_QUERY && st->query->nselects == 1);
        REQUIRE(st->query->selects[0]->nitems == 1 && !st->query->selects[0]->items[0].alias);
        ast_expr_to_sql(st->query->selects[0]->items[0].expr, &r2);
        REQUIRE(!r2.oom);
        if (r1.len != r2.len || memcmp(r1.data, r2.data, r1.len) != 0) {
            fprintf(stderr, "fuzz_sql: rendering changes on a round trip:\n  %s\n  %s\n", r1.data,
                    r2.data);
            abort();
        }
    }
    vg_arena_free(&a);
    vg_buf_free(&r1);
    vg_buf_free(&sql);
    vg_buf_free(&r2);
}

static void check_expr_pos(const input *in, const ast_expr *x)
{
    if (!x)
        return;
    check_pos(in, x->pos);
    for (uint32_t i = 0; i < x->nargs; i++)
        check_expr_pos(in, x->args[i]);
    for (uint32_t i = 0; i < x->nwhens; i++) {
        check_expr_pos(in, x->whens[i]);
        check_expr_pos(in, x->thens[i]);
    }
    for (uint32_t i = 0; i < x->nlist; i++)
        check_expr_pos(in, x->list[i]);
    check_expr_pos(in, x->case_operand);
    check_expr_pos(in, x->case_else);
    if (x->query)
        check_query(in, x->query);
}

static void check_expr(const input *in, const ast_expr *x)
{
    if (!x)
        return;
    check_expr_pos(in, x);
    check_round_trip(x);
}

static void check_from(const input *in, const ast_from *f)
{
    check_pos(in, f->pos);
    if (f->kind == AF_SUBQUERY)
        check_query(in, f->query);
    else
        REQUIRE(f->name != NULL);
}

static void check_select(const input *in, const ast_select *s)
{
    check_pos(in, s->pos);
    REQUIRE(s->nitems > 0);
    for (uint32_t i = 0; i < s->nitems; i++) {
        check_pos(in, s->items[i].pos);
        check_expr(in, s->items[i].expr);
    }
    if (s->from)
        check_from(in, s->from);
    check_expr(in, s->where);
    for (uint32_t i = 0; i < s->ngroup_by; i++)
        check_expr(in, s->group_by[i]);
    check_expr(in, s->having);
}

static void check_query(const input *in, const ast_query *q)
{
    check_pos(in, q->pos);
    REQUIRE(q->nselects > 0);
    for (uint32_t i = 0; i < q->nctes; i++)
        check_query(in, q->ctes[i].query);
    for (uint32_t i = 0; i < q->nselects; i++)
        check_select(in, q->selects[i]);
    for (uint32_t i = 0; i < q->norder_by; i++)
        check_expr(in, q->order_by[i].expr);
    check_expr(in, q->limit);
    check_expr(in, q->offset);
}

/* A DELETE whose WHERE has another shape: "DELETE supports only time ranges and tag
 * equality, found <what> at line L, column C", the position last. */
static void check_delete_error(const input *in, const char *msg)
{
    const char *at = NULL;
    for (const char *p = strstr(msg, " at line "); p; p = strstr(p + 1, " at line "))
        at = p;
    REQUIRE(at != NULL && at > msg + strlen("DELETE supports only time ranges and tag "
                                            "equality, found "));
    unsigned line = 0, col = 0;
    int used = 0;
    REQUIRE(sscanf(at, " at line %u, column %u%n", &line, &col, &used) == 2);
    REQUIRE(at[used] == '\0');
    REQUIRE(line >= 1 && line <= in->lines && col >= 1);
}

/* "SQL syntax error at line L, column C: ..." with L inside the input. */
static void check_error(const input *in, int rc, const vg_err *e)
{
    REQUIRE(rc == VG_EINVAL);
    if (strncmp(e->msg, "SQL text is too long", 20) == 0)
        return;
    if (strncmp(e->msg, "DELETE supports only", 20) == 0) {
        check_delete_error(in, e->msg);
        return;
    }
    unsigned line = 0, col = 0;
    int used = 0;
    REQUIRE(sscanf(e->msg, "SQL syntax error at line %u, column %u: %n", &line, &col, &used) == 2);
    REQUIRE(used > 0 && e->msg[used] != '\0');
    REQUIRE(line >= 1 && line <= in->lines && col >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {1};
    for (size_t i = 0; i < size; i++)
        in.lines += data[i] == '\n';

    vg_arena a;
    vg_arena_init(&a, 0);
    vg_err e = {0};
    ast_stmt *st = NULL;
    int rc = ast_parse((const char *)data, size, &a, &st, &e);
    if (rc != VG_OK) {
        REQUIRE(st == NULL);
        check_error(&in, rc, &e);
    } else {
        REQUIRE(st != NULL);
        check_pos(&in, st->pos);
        if (st->query)
            check_query(&in, st->query);
        if (st->from)
            check_from(&in, st->from);
        check_expr(&in, st->where);
    }
    vg_arena_free(&a);
    return 0;
}
