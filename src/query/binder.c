/*
 * query/binder.c: names and types of expressions.
 *
 * Turns AST expressions into typed qexprs over the columns of a scope: resolves column
 * references (with a "did you mean" for near misses), substitutes $parameters, types
 * calls through the function and aggregate registries and inserts a cast wherever a
 * resolver coerced an argument. Literals that must be intervals or timestamps are
 * converted here, once, instead of per row. In an aggregate query, expressions bind
 * over the aggregate's output: a subexpression equal to a GROUP BY expression becomes
 * a reference to that group column, an aggregate call becomes a reference to its
 * result, and any other column is an error.
 */
#include "plan_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation and errors ---- */

void *qp_alloc(qctx *c, size_t n)
{
    void *p = qctx_alloc(c, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

char *qp_strdup(qctx *c, const char *s, size_t n)
{
    char *p = qctx_alloc(c, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int oom(qctx *c)
{
    /* qctx_alloc has set the budget message; make sure there is one regardless. */
    if (!c->err->code)
        vg_err_set(c->err, VG_ENOMEM, "out of memory while planning the query");
    return c->err->code;
}

int qp_err_at(qp_binder *b, vg_code code, ast_pos pos, const char *fmt, ...)
{
    char msg[VG_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vg_err_set(b->c->err, code, "%s at line %u, column %u", msg, pos.line, pos.col);
}

int qp_err_hint(qp_binder *b, const char *suggestion)
{
    vg_err *e = b->c->err;
    if (suggestion) {
        size_t len = strlen(e->msg);
        snprintf(e->msg + len, sizeof e->msg - len, ". Did you mean '%s'?", suggestion);
    }
    return e->code;
}

/* ---- "did you mean": Levenshtein distance, case-insensitive ---- */

#define QP_SUGGEST_MAX_LEN 64

static uint32_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > QP_SUGGEST_MAX_LEN || lb > QP_SUGGEST_MAX_LEN)
        return UINT32_MAX;
    uint32_t prev[QP_SUGGEST_MAX_LEN + 1], cur[QP_SUGGEST_MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (uint32_t)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (uint32_t)i;
        for (size_t j = 1; j <= lb; j++) {
            uint32_t sub = prev[j - 1] +
                           (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            uint32_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

const char *qp_suggest(const char *name, const char *const *cands, uint32_t n)
{
    size_t len = strlen(name);
    /* Short names tolerate one typo, longer ones a few: "tmp" finds "temp", but "id"
     * does not suggest every two-letter column. */
    uint32_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    uint32_t best_d = limit + 1;
    for (uint32_t i = 0; i < n; i++) {
        if (!cands[i] || strcmp(cands[i], name) == 0)
            continue;
        uint32_t d = edit_distance(name, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

/* ---- expression constructors and walkers ---- */

static qexpr *new_expr(qctx *c, qexpr_kind k, qtype t)
{
    qexpr *x = qp_alloc(c, sizeof *x);
    if (x) {
        x->kind = k;
        x->type = t;
    }
    return x;
}

static qexpr **new_args(qctx *c, uint32_t n)
{
    return qp_alloc(c, (n ? n : 1) * sizeof(qexpr *));
}

qexpr *qp_col(qctx *c, uint32_t idx, qtype t)
{
    qexpr *x = new_expr(c, QX_COLUMN, t);
    if (x)
        x->col = idx;
    return x;
}

qexpr *qp_lit(qctx *c, const qvalue *v)
{
    qexpr *x = new_expr(c, QX_LITERAL, v->type);
    if (x)
        x->lit = *v;
    return x;
}

qexpr *qp_call(qctx *c, const qfunc *fn, qtype ret, qexpr **args, uint32_t nargs)
{
    qexpr *x = new_expr(c, QX_CALL, ret);
    if (x) {
        x->fn = fn;
        x->args = args;
        x->nargs = nargs;
    }
    return x;
}

static qexpr *null_lit(qctx *c, qtype t)
{
    qvalue v = {.type = t, .null = true};
    return qp_lit(c, &v);
}

qexpr *qp_expr_copy(qctx *c, const qexpr *x)
{
    qexpr *y = new_expr(c, x->kind, x->type);
    if (!y)
        return NULL;
    *y = *x;
    y->fn_state = NULL; /* evaluation state belongs to the node it was built for */
    if (x->nargs) {
        if (!(y->args = new_args(c, x->nargs)))
            return NULL;
        for (uint32_t i = 0; i < x->nargs; i++)
            if (!(y->args[i] = qp_expr_copy(c, x->args[i])))
                return NULL;
    }
    return y;
}

static bool value_equal(const qvalue *a, const qvalue *b)
{
    if (a->type != b->type || a->null != b->null)
        return false;
    if (a->null)
        return true;
    switch (a->type) {
    case QT_BOOL: return a->v.b == b->v.b;
    case QT_INT:
    case QT_TIMESTAMP:
    case QT_INTERVAL: return a->v.i == b->v.i;
    case QT_UINT: return a->v.u == b->v.u;
    case QT_FLOAT: return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    case QT_STRING: return a->v.s.len == b->v.s.len && memcmp(a->v.s.p, b->v.s.p, a->v.s.len) == 0;
    default: return false;
    }
}

bool qp_expr_equal(const qexpr *a, const qexpr *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind || a->type != b->type || a->negated != b->negated ||
        a->nargs != b->nargs)
        return false;
    switch (a->kind) {
    case QX_LITERAL: return value_equal(&a->lit, &b->lit);
    case QX_COLUMN: return a->col == b->col;
    case QX_CALL:
        if (a->fn != b->fn)
            return false;
        break;
    case QX_FIELD:
        if (a->field != b->field)
            return false;
        break;
    default: break;
    }
    for (uint32_t i = 0; i < a->nargs; i++)
        if (!qp_expr_equal(a->args[i], b->args[i]))
            return false;
    return true;
}

void qp_expr_remap(qexpr *x, const int32_t *map)
{
    if (x->kind == QX_COLUMN) {
        if (!VG_NEVER(map[x->col] < 0))
            x->col = (uint32_t)map[x->col];
        return;
    }
    for (uint32_t i = 0; i < x->nargs; i++)
        qp_expr_remap(x->args[i], map);
}

void qp_expr_cols(const qexpr *x, uint8_t *used)
{
    if (x->kind == QX_COLUMN)
        used[x->col >> 3] |= (uint8_t)(1u << (x->col & 7));
    for (uint32_t i = 0; i < x->nargs; i++)
        qp_expr_cols(x->args[i], used);
}

static bool has_cols(const qexpr *x)
{
    if (x->kind == QX_COLUMN)
        return true;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (has_cols(x->args[i]))
            return true;
    return false;
}

static bool is_string_lit(const qexpr *x)
{
    return x->kind == QX_LITERAL && x->lit.type == QT_STRING && !x->lit.null;
}

/* ---- types ---- */

bool qp_common_type(qtype a, qtype b, qtype *out)
{
    bool an = a == QT_INT || a == QT_UINT || a == QT_FLOAT;
    bool bn = b == QT_INT || b == QT_UINT || b == QT_FLOAT;
    if (a == b || b == QT_NULL)
        *out = a;
    else if (a == QT_NULL)
        *out = b;
    else if (an && bn)
        *out = (a == QT_FLOAT || b == QT_FLOAT) ? QT_FLOAT : QT_INT;
    else if ((a == QT_TIMESTAMP || a == QT_INTERVAL) && b == QT_STRING)
        *out = a;
    else if ((b == QT_TIMESTAMP || b == QT_INTERVAL) && a == QT_STRING)
        *out = b;
    else if ((a == QT_STRING || b == QT_STRING) && a != QT_SELECTOR && b != QT_SELECTOR)
        *out = QT_STRING; /* DataFusion: a number or Boolean meeting a string is a string */
    else
        return false;
    return true;
}

typedef struct type_alias {
    const char *name;
    qtype type;
} type_alias;

/* SQL type names as DataFusion's parser accepts them (without length or precision). */
static const type_alias type_aliases[] = {
    {"bigint", QT_INT},
    {"int", QT_INT},
    {"integer", QT_INT},
    {"int8", QT_INT},
    {"int4", QT_INT},
    {"int2", QT_INT},
    {"smallint", QT_INT},
    {"tinyint", QT_INT},
    {"int64", QT_INT},
    {"int32", QT_INT},
    {"signed", QT_INT},
    {"bigint unsigned", QT_UINT},
    {"unsigned bigint", QT_UINT},
    {"int unsigned", QT_UINT},
    {"integer unsigned", QT_UINT},
    {"ubigint", QT_UINT},
    {"uint64", QT_UINT},
    {"unsigned", QT_UINT},
    {"double", QT_FLOAT},
    {"double precision", QT_FLOAT},
    {"float", QT_FLOAT},
    {"float8", QT_FLOAT},
    {"float4", QT_FLOAT},
    {"real", QT_FLOAT},
    {"float64", QT_FLOAT},
    {"decimal", QT_FLOAT},
    {"numeric", QT_FLOAT},
    {"varchar", QT_STRING},
    {"text", QT_STRING},
    {"string", QT_STRING},
    {"char", QT_STRING},
    {"character", QT_STRING},
    {"character varying", QT_STRING},
    {"utf8", QT_STRING},
    {"bpchar", QT_STRING},
    {"boolean", QT_BOOL},
    {"bool", QT_BOOL},
    {"timestamp", QT_TIMESTAMP},
    {"timestamptz", QT_TIMESTAMP},
    {"timestamp with time zone", QT_TIMESTAMP},
    {"timestamp without time zone", QT_TIMESTAMP},
    {"datetime", QT_TIMESTAMP},
    {"date", QT_TIMESTAMP},
    {"interval", QT_INTERVAL},
};

static bool type_from_name(const char *name, qtype *out)
{
    size_t n = strcspn(name, "("); /* varchar(20), decimal(10,2) */
    while (n > 0 && name[n - 1] == ' ')
        n--;
    for (size_t i = 0; i < sizeof type_aliases / sizeof type_aliases[0]; i++) {
        if (strlen(type_aliases[i].name) == n && strncmp(type_aliases[i].name, name, n) == 0) {
            *out = type_aliases[i].type;
            return true;
        }
    }
    return false;
}

/* ---- literals ---- */

/* Months and years have no fixed length, and intervals here are plain nanoseconds
 * (README: "intervals"), so they are refused rather than guessed at. */
static bool has_calendar_unit(const char *s, size_t n)
{
    static const char *const words[] = {"mo", "mon", "mons", "month", "months",
                                        "y",  "yr",  "yrs",  "year",  "years"};
    for (size_t i = 0; i < n;) {
        if (!isalpha((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && isalpha((unsigned char)s[j]))
            j++;
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
            if (strlen(words[k]) == j - i && memcmp(words[k], s + i, j - i) == 0)
                return true;
        i = j;
    }
    return false;
}

static int parse_interval(qp_binder *b, const char *s, size_t len, ast_pos pos, int64_t *out)
{
    char buf[128];
    size_t i = 0, n = 0;
    bool neg = false;
    while (i < len && s[i] == ' ')
        i++;
    while (len > i && s[len - 1] == ' ')
        len--;
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    if (len - i >= sizeof buf)
        return qp_err_at(b, VG_EINVAL, pos, "Cannot parse '%.*s' as an interval: too long",
                         (int)(len > 60 ? 60 : len), s);
    for (; i < len; i++)
        buf[n++] = (char)tolower((unsigned char)s[i]);
    buf[n] = '\0';
    if (has_calendar_unit(buf, n))
        return qp_err_at(b, VG_EINVAL, pos,
                         "This feature is not implemented: interval '%.*s' uses months or "
                         "years, which have no fixed length; use days or weeks",
                         (int)len, s);
    int64_t ns;
    vg_err e2 = {0};
    if (n > 0 && strspn(buf, "0123456789") == n) {
        /* A bare number is seconds, as DataFusion reads INTERVAL '10'. */
        char tmp[sizeof buf + 2];
        snprintf(tmp, sizeof tmp, "%ss", buf);
        if (vg_parse_duration(tmp, n + 1, &ns, &e2) != VG_OK)
            goto bad;
    } else if (vg_parse_duration(buf, n, &ns, &e2) != VG_OK) {
        goto bad;
    }
    *out = neg ? -ns : ns;
    return VG_OK;
bad:
    return qp_err_at(b, VG_EINVAL, pos,
                     "Cannot parse '%.*s' as an interval (expected a number and a unit: ns, "
                     "us, ms, s, m, h, d or w, e.g. '10 minutes' or '1h30m')",
                     (int)len, s);
}

static int parse_timestamp(qp_binder *b, const char *s, size_t len, ast_pos pos, int64_t *out)
{
    vg_err e2 = {0};
    if (vg_parse_timestamp(s, len, out, &e2) != VG_OK)
        return qp_err_at(b, VG_EINVAL, pos,
                         "Cannot parse '%.*s' as a timestamp (expected RFC 3339, e.g. "
                         "'2026-01-01T00:00:00Z')",
                         (int)(len > 100 ? 100 : len), s);
    return VG_OK;
}

int qp_coerce(qp_binder *b, qexpr **xp, qtype to, ast_pos pos)
{
    qctx *c = b->c;
    qexpr *x = *xp;
    if (x->type == to || to == QT_NULL)
        return VG_OK;
    if (x->kind == QX_LITERAL) {
        qvalue *v = &x->lit;
        if (v->null) {
            v->type = x->type = to;
            return VG_OK;
        }
        if (v->type == QT_STRING && (to == QT_INTERVAL || to == QT_TIMESTAMP)) {
            int64_t ns;
            int rc = to == QT_INTERVAL ? parse_interval(b, v->v.s.p, v->v.s.len, pos, &ns)
                                       : parse_timestamp(b, v->v.s.p, v->v.s.len, pos, &ns);
            if (rc)
                return rc;
            v->type = x->type = to;
            v->v.i = ns;
            return VG_OK;
        }
        if ((v->type == QT_INT || v->type == QT_UINT) && to == QT_FLOAT) {
            v->v.f = v->type == QT_INT ? (double)v->v.i : (double)v->v.u;
            v->type = x->type = to;
            return VG_OK;
        }
        if (v->type == QT_UINT && to == QT_INT && v->v.u <= (uint64_t)INT64_MAX) {
            v->v.i = (int64_t)v->v.u;
            v->type = x->type = to;
            return VG_OK;
        }
        if (v->type == QT_INT && to == QT_UINT && v->v.i >= 0) {
            v->v.u = (uint64_t)v->v.i;
            v->type = x->type = to;
            return VG_OK;
        }
    }
    qexpr *cast = new_expr(c, QX_CAST, to);
    if (!cast || !(cast->args = new_args(c, 1)))
        return oom(c);
    cast->args[0] = x;
    cast->nargs = 1;
    *xp = cast;
    return VG_OK;
}

static int bind_param(qp_binder *b, const ast_expr *x, qexpr **out)
{
    qctx *c = b->c;
    const query_param *p = NULL;
    for (size_t i = 0; i < c->nparams && !p; i++)
        if (c->params[i].name && strlen(c->params[i].name) == x->v.s.len &&
            memcmp(c->params[i].name, x->v.s.ptr, x->v.s.len) == 0)
            p = &c->params[i];
    if (!p || !p->json_value)
        return vg_err_set(c->err, VG_EINVAL, "No value found for placeholder $%.*s",
                          (int)x->v.s.len, x->v.s.ptr);
    json_error_t je;
    json_t *j = json_loads(p->json_value, JSON_DECODE_ANY, &je);
    if (!j)
        return qp_err_at(b, VG_EINVAL, x->pos, "invalid JSON value for placeholder $%.*s: %s",
                         (int)x->v.s.len, x->v.s.ptr, je.text);
    qvalue v = {0};
    int rc = VG_OK;
    switch (json_typeof(j)) {
    case JSON_STRING: {
        size_t n = json_string_length(j);
        char *s = qp_strdup(c, json_string_value(j), n);
        if (!s) {
            rc = oom(c);
            break;
        }
        v.type = QT_STRING;
        v.v.s = (qstr){s, (uint32_t)n};
        break;
    }
    case JSON_INTEGER:
        v.type = QT_INT;
        v.v.i = (int64_t)json_integer_value(j);
        break;
    case JSON_REAL:
        v.type = QT_FLOAT;
        v.v.f = json_real_value(j);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        v.type = QT_BOOL;
        v.v.b = json_is_true(j);
        break;
    case JSON_NULL:
        v.type = QT_NULL;
        v.null = true;
        break;
    default:
        rc = qp_err_at(b, VG_EINVAL, x->pos,
                       "placeholder $%.*s must be a string, number, boolean or null",
                       (int)x->v.s.len, x->v.s.ptr);
    }
    json_decref(j);
    if (rc)
        return rc;
    return (*out = qp_lit(c, &v)) ? VG_OK : oom(c);
}

static int bind_literal(qp_binder *b, const ast_expr *x, qexpr **out)
{
    qvalue v = {0};
    int rc;
    switch (x->kind) {
    case AE_NULL:
        v.type = QT_NULL;
        v.null = true;
        break;
    case AE_BOOL:
        v.type = QT_BOOL;
        v.v.b = x->v.b;
        break;
    case AE_INT:
        v.type = QT_INT;
        v.v.i = x->v.i;
        break;
    case AE_UINT:
        v.type = QT_UINT;
        v.v.u = x->v.u;
        break;
    case AE_FLOAT:
        v.type = QT_FLOAT;
        v.v.f = x->v.f;
        break;
    case AE_STRING:
        v.type = QT_STRING;
        v.v.s = (qstr){x->v.s.ptr, (uint32_t)x->v.s.len};
        break;
    case AE_INTERVAL:
        v.type = QT_INTERVAL;
        if ((rc = parse_interval(b, x->v.s.ptr, x->v.s.len, x->pos, &v.v.i)))
            return rc;
        break;
    default: /* AE_TYPED_STRING */ {
        qtype t;
        if (!x->type_name || !type_from_name(x->type_name, &t))
            return qp_err_at(b, VG_EINVAL, x->pos,
                             "This feature is not implemented: Unsupported SQL type '%s'",
                             x->type_name ? x->type_name : "?");
        v.type = QT_STRING;
        v.v.s = (qstr){x->v.s.ptr, (uint32_t)x->v.s.len};
        if (!(*out = qp_lit(b->c, &v)))
            return oom(b->c);
        return qp_coerce(b, out, t, x->pos);
    }
    }
    return (*out = qp_lit(b->c, &v)) ? VG_OK : oom(b->c);
}

/* ---- columns ---- */

static bool field_matches(const qfield *f, const char *qual, const char *name)
{
    return strcmp(f->name, name) == 0 &&
           (!qual || (f->qualifier && strcmp(f->qualifier, qual) == 0));
}

static int unknown_column(qp_binder *b, const qschema *s, const ast_expr *x)
{
    const char **names = qp_alloc(b->c, (s->n + 1) * sizeof *names);
    if (!names)
        return oom(b->c);
    const char *hint = NULL;
    char *qualified = NULL;
    if (x->qualifier) {
        /* `s.temp` when the table is `sensors`: point at the right qualifier. */
        for (uint32_t i = 0; i < s->n && !hint; i++) {
            if (strcmp(s->f[i].name, x->name) == 0 && s->f[i].qualifier) {
                size_t n = strlen(s->f[i].qualifier) + strlen(x->name) + 2;
                if (!(qualified = qp_alloc(b->c, n)))
                    return oom(b->c);
                snprintf(qualified, n, "%s.%s", s->f[i].qualifier, x->name);
                hint = qualified;
            }
        }
    }
    if (!hint) {
        for (uint32_t i = 0; i < s->n; i++)
            names[i] = s->f[i].name;
        hint = qp_suggest(x->name, names, s->n);
    }
    if (x->qualifier)
        qp_err_at(b, VG_EINVAL, x->pos, "Schema error: No field named '%s.%s'", x->qualifier,
                  x->name);
    else
        qp_err_at(b, VG_EINVAL, x->pos, "Schema error: No field named '%s'", x->name);
    return qp_err_hint(b, hint);
}

static int bind_column(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    static const qschema empty = {0, NULL};
    const qschema *sc = s->schema ? s->schema : &empty;
    int found = -1;
    for (uint32_t i = 0; i < sc->n; i++) {
        if (!field_matches(&sc->f[i], x->qualifier, x->name))
            continue;
        if (found >= 0)
            return qp_err_at(b, VG_EINVAL, x->pos,
                             "Schema error: Ambiguous reference to unqualified field '%s'",
                             x->name);
        found = (int)i;
    }
    if (found < 0)
        return unknown_column(b, sc, x);
    return (*out = qp_col(b->c, (uint32_t)found, sc->f[found].type)) ? VG_OK : oom(b->c);
}

/* ---- calls ---- */

static int arity_error(qp_binder *b, ast_pos pos, const char *name, int min, int max, uint32_t got)
{
    char want[64];
    if (min == max)
        snprintf(want, sizeof want, "%d argument%s", min, min == 1 ? "" : "s");
    else if (max < 0)
        snprintf(want, sizeof want, "at least %d argument%s", min, min == 1 ? "" : "s");
    else
        snprintf(want, sizeof want, "%d to %d arguments", min, max);
    return qp_err_at(b, VG_EINVAL, pos, "function '%s' takes %s, got %u", name, want, got);
}

/* Runs a resolver and applies its coercions to the arguments. */
static int apply_resolve(qp_binder *b, int rc, const vg_err *e2, ast_pos pos, qexpr **args,
                         const qtype *types, const ast_pos *apos, uint32_t n)
{
    if (rc)
        return qp_err_at(b, e2->code ? e2->code : VG_EINVAL, pos, "%s", e2->msg);
    for (uint32_t i = 0; i < n; i++)
        if (types[i] != args[i]->type && (rc = qp_coerce(b, &args[i], types[i], apos[i])))
            return rc;
    return VG_OK;
}

static int call_fn(qp_binder *b, const char *name, ast_pos pos, qexpr **args, const ast_pos *apos,
                   uint32_t n, qexpr **out)
{
    qctx *c = b->c;
    const qfunc *fn = qfunc_find(name);
    if (!fn)
        return qp_err_at(b, VG_EINVAL, pos, "Invalid function '%s'", name);
    if ((int)n < fn->min_args || (fn->max_args >= 0 && (int)n > fn->max_args))
        return arity_error(b, pos, name, fn->min_args, fn->max_args, n);
    qtype *types = qp_alloc(c, (n + 1) * sizeof *types);
    if (!types)
        return oom(c);
    for (uint32_t i = 0; i < n; i++)
        types[i] = args[i]->type;
    qtype ret = QT_NULL;
    vg_err e2 = {0};
    int rc;
    if (fn->resolve_lit) {
        /* Functions whose result type depends on a literal argument's value. */
        const qvalue **lits = qp_alloc(c, (n + 1) * sizeof *lits);
        if (!lits)
            return oom(c);
        for (uint32_t i = 0; i < n; i++)
            lits[i] = args[i]->kind == QX_LITERAL ? &args[i]->lit : NULL;
        rc = fn->resolve_lit(types, lits, n, &ret, &e2);
    } else {
        rc = fn->resolve(types, n, &ret, &e2);
    }
    if ((rc = apply_resolve(b, rc, &e2, pos, args, types, apos, n)))
        return rc;
    return (*out = qp_call(c, fn, ret, args, n)) ? VG_OK : oom(c);
}

static int call1(qp_binder *b, const char *name, ast_pos pos, qexpr *a, qexpr **out)
{
    qexpr **args = new_args(b->c, 1);
    if (!args)
        return oom(b->c);
    args[0] = a;
    return call_fn(b, name, pos, args, &pos, 1, out);
}

static int call2(qp_binder *b, const char *name, ast_pos pos, qexpr *l, ast_pos lpos, qexpr *r,
                 ast_pos rpos, qexpr **out)
{
    qexpr **args = new_args(b->c, 2);
    if (!args)
        return oom(b->c);
    args[0] = l;
    args[1] = r;
    ast_pos apos[2] = {lpos, rpos};
    return call_fn(b, name, pos, args, apos, 2, out);
}

static bool is_comparison(const char *op)
{
    return !strcmp(op, "=") || !strcmp(op, "<>") || !strcmp(op, "<") || !strcmp(op, "<=") ||
           !strcmp(op, ">") || !strcmp(op, ">=");
}

/* A string literal next to a timestamp or interval is read as one (README: "String
 * literals compare with timestamps by parsing them as timestamps"; `now() - '1h'`),
 * at bind time, so a bad literal is reported with its position and never re-parsed
 * per row. In arithmetic the literal only becomes an interval when it reads as one. */
static int precoerce_pair(qp_binder *b, qexpr **l, ast_pos lpos, qexpr **r, ast_pos rpos,
                          bool comparison)
{
    for (int side = 0; side < 2; side++) {
        qexpr **typed = side ? r : l, **lit = side ? l : r;
        ast_pos pos = side ? lpos : rpos;
        qtype t = (*typed)->type;
        if (!is_string_lit(*lit) || (t != QT_TIMESTAMP && t != QT_INTERVAL))
            continue;
        if (comparison)
            return qp_coerce(b, lit, t, pos);
        int64_t ns;
        vg_err saved = *b->c->err;
        if (parse_interval(b, (*lit)->lit.v.s.p, (*lit)->lit.v.s.len, pos, &ns) == VG_OK)
            return qp_coerce(b, lit, QT_INTERVAL, pos);
        *b->c->err = saved;
    }
    return VG_OK;
}

/* ---- the AST walk ---- */

static int bind_node(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out);

static bool is_agg_call(const ast_expr *x)
{
    return x->kind == AE_FUNC && qagg_find(x->name) != NULL;
}

bool qp_ast_has_agg(const ast_expr *x)
{
    if (!x)
        return false;
    if (is_agg_call(x))
        return true;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (qp_ast_has_agg(x->args[i]))
            return true;
    for (uint32_t i = 0; i < x->nwhens; i++)
        if (qp_ast_has_agg(x->whens[i]) || qp_ast_has_agg(x->thens[i]))
            return true;
    for (uint32_t i = 0; i < x->nlist; i++)
        if (qp_ast_has_agg(x->list[i]))
            return true;
    return qp_ast_has_agg(x->case_operand) || qp_ast_has_agg(x->case_else);
}

static int bind_binary(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qexpr *l, *r;
    int rc;
    if ((rc = qp_bind_expr(b, s, x->args[0], &l)) || (rc = qp_bind_expr(b, s, x->args[1], &r)))
        return rc;
    const char *name = x->op;
    if (!strcmp(x->op, "AND"))
        name = QP_FN_AND;
    else if (!strcmp(x->op, "OR"))
        name = QP_FN_OR;
    ast_pos lp = x->args[0]->pos, rp = x->args[1]->pos;
    bool cmp = is_comparison(x->op);
    if ((cmp || !strcmp(x->op, "+") || !strcmp(x->op, "-")) &&
        (rc = precoerce_pair(b, &l, lp, &r, rp, cmp)))
        return rc;
    return call2(b, name, x->pos, l, lp, r, rp, out);
}

static int negate_literal(qp_binder *b, const ast_expr *x, qexpr *a, qexpr **out)
{
    qvalue *v = &a->lit;
    switch (v->type) {
    case QT_INT:
    case QT_INTERVAL:
        if (v->v.i == INT64_MIN)
            return qp_err_at(b, VG_EINVAL, x->pos, "Arithmetic overflow");
        v->v.i = -v->v.i;
        break;
    case QT_UINT:
        /* -9223372036854775808 arrives as minus an unsigned literal. */
        if (v->v.u == (uint64_t)INT64_MAX + 1) {
            v->type = a->type = QT_INT;
            v->v.i = INT64_MIN;
        } else {
            v->type = a->type = QT_FLOAT;
            v->v.f = -(double)v->v.u;
        }
        break;
    default: /* QT_FLOAT */ v->v.f = -v->v.f;
    }
    *out = a;
    return VG_OK;
}

static int bind_unary(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qexpr *a;
    int rc = qp_bind_expr(b, s, x->args[0], &a);
    if (rc)
        return rc;
    if (!strcmp(x->op, "NOT"))
        return call1(b, QP_FN_NOT, x->pos, a, out);
    bool numeric_lit =
        a->kind == QX_LITERAL && !a->lit.null &&
        (a->type == QT_INT || a->type == QT_UINT || a->type == QT_FLOAT || a->type == QT_INTERVAL);
    if (!strcmp(x->op, "+")) {
        *out = a;
        return VG_OK;
    }
    if (numeric_lit)
        return negate_literal(b, x, a, out);
    return call1(b, QP_FN_NEG, x->pos, a, out);
}

static int bind_is_bool(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    static const char *const names[2][2] = {{"is_false", "is_not_false"},
                                            {"is_true", "is_not_true"}};
    qexpr *a;
    int rc = qp_bind_expr(b, s, x->args[0], &a);
    if (rc || (a->type == QT_NULL && (rc = qp_coerce(b, &a, QT_BOOL, x->args[0]->pos))))
        return rc;
    if (a->type != QT_BOOL)
        return qp_err_at(b, VG_EINVAL, x->pos, "IS %s%s needs a Boolean operand, not %s",
                         x->negated ? "NOT " : "", x->v.b ? "TRUE" : "FALSE", qtype_name(a->type));
    const char *name = names[x->v.b][x->negated];
    if (qfunc_find(name))
        return call1(b, name, x->pos, a, out);
    /* Without dedicated functions: IS TRUE = coalesce(x, false), IS NOT TRUE = NOT
     * coalesce(x, false), IS FALSE = coalesce(NOT x, false), IS NOT FALSE =
     * coalesce(x, true). */
    if (!x->v.b && !x->negated && (rc = call1(b, QP_FN_NOT, x->pos, a, &a)))
        return rc;
    qvalue dv = {.type = QT_BOOL};
    dv.v.b = !x->v.b && x->negated;
    qexpr *d = qp_lit(b->c, &dv);
    if (!d)
        return oom(b->c);
    if ((rc = call2(b, "coalesce", x->pos, a, x->pos, d, x->pos, out)))
        return rc;
    if (x->v.b && x->negated)
        return call1(b, QP_FN_NOT, x->pos, *out, out);
    return VG_OK;
}

static int bind_in_list(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qctx *c = b->c;
    qexpr **args = new_args(c, x->nlist + 1);
    if (!args)
        return oom(c);
    int rc = qp_bind_expr(b, s, x->args[0], &args[0]);
    for (uint32_t i = 0; i < x->nlist && !rc; i++)
        rc = qp_bind_expr(b, s, x->list[i], &args[i + 1]);
    if (rc)
        return rc;
    /* The common type is what "=" would compare each item with x in. */
    const qfunc *eq = qfunc_find("=");
    if (!eq)
        return qp_err_at(b, VG_EINTERNAL, x->pos, "the '=' operator is not registered");
    qtype t = args[0]->type;
    for (uint32_t i = 1; i <= x->nlist; i++) {
        if ((rc =
                 precoerce_pair(b, &args[0], x->args[0]->pos, &args[i], x->list[i - 1]->pos, true)))
            return rc;
        qtype types[2] = {t, args[i]->type}, ret;
        vg_err e2 = {0};
        if (eq->resolve(types, 2, &ret, &e2))
            return qp_err_at(b, e2.code ? e2.code : VG_EINVAL, x->list[i - 1]->pos, "%s", e2.msg);
        t = types[0] != QT_NULL ? types[0] : types[1];
    }
    for (uint32_t i = 0; i <= x->nlist; i++)
        if ((rc = qp_coerce(b, &args[i], t, i ? x->list[i - 1]->pos : x->args[0]->pos)))
            return rc;
    qexpr *in = new_expr(c, QX_IN_LIST, QT_BOOL);
    if (!in)
        return oom(c);
    in->args = args;
    in->nargs = x->nlist + 1;
    in->negated = x->negated;
    *out = in;
    return VG_OK;
}

static int bind_between(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    /* x BETWEEN lo AND hi is x >= lo AND x <= hi: the form the scan pushdown reads. */
    qexpr *x1, *x2, *lo, *hi, *ge, *le;
    int rc;
    if ((rc = qp_bind_expr(b, s, x->args[0], &x1)) || (rc = qp_bind_expr(b, s, x->args[1], &lo)) ||
        (rc = qp_bind_expr(b, s, x->args[2], &hi)))
        return rc;
    if (!(x2 = qp_expr_copy(b->c, x1)))
        return oom(b->c);
    ast_pos px = x->args[0]->pos, pl = x->args[1]->pos, ph = x->args[2]->pos;
    if ((rc = precoerce_pair(b, &x1, px, &lo, pl, true)) ||
        (rc = precoerce_pair(b, &x2, px, &hi, ph, true)) ||
        (rc = call2(b, ">=", x->pos, x1, px, lo, pl, &ge)) ||
        (rc = call2(b, "<=", x->pos, x2, px, hi, ph, &le)) ||
        (rc = call2(b, QP_FN_AND, x->pos, ge, x->pos, le, x->pos, out)))
        return rc;
    return x->negated ? call1(b, QP_FN_NOT, x->pos, *out, out) : VG_OK;
}

static int bind_case(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qctx *c = b->c;
    uint32_t n = x->nwhens;
    qexpr **args = new_args(c, 2 * n + 1);
    if (!args)
        return oom(c);
    int rc;
    qtype t = QT_NULL;
    for (uint32_t i = 0; i < n; i++) {
        qexpr *w;
        if ((rc = qp_bind_expr(b, s, x->whens[i], &w)))
            return rc;
        if (x->case_operand) {
            qexpr *op;
            ast_pos opos = x->case_operand->pos, wpos = x->whens[i]->pos;
            if ((rc = qp_bind_expr(b, s, x->case_operand, &op)) ||
                (rc = precoerce_pair(b, &op, opos, &w, wpos, true)) ||
                (rc = call2(b, "=", wpos, op, opos, w, wpos, &w)))
                return rc;
        }
        if (w->type == QT_NULL && (rc = qp_coerce(b, &w, QT_BOOL, x->whens[i]->pos)))
            return rc;
        if (w->type != QT_BOOL)
            return qp_err_at(b, VG_EINVAL, x->whens[i]->pos,
                             "CASE WHEN condition must be Boolean, not %s", qtype_name(w->type));
        args[2 * i] = w;
        if ((rc = qp_bind_expr(b, s, x->thens[i], &args[2 * i + 1])))
            return rc;
    }
    if (x->case_else && (rc = qp_bind_expr(b, s, x->case_else, &args[2 * n])))
        return rc;
    for (uint32_t i = 0; i <= n; i++) {
        const qexpr *v = args[i < n ? 2 * i + 1 : 2 * n];
        if (v && !qp_common_type(t, v->type, &t))
            return qp_err_at(b, VG_EINVAL, x->pos,
                             "CASE branches have incompatible types %s and %s", qtype_name(t),
                             qtype_name(v->type));
    }
    if (!args[2 * n] && !(args[2 * n] = null_lit(c, t)))
        return oom(c);
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t k = i < n ? 2 * i + 1 : 2 * n;
        ast_pos p = i < n ? x->thens[i]->pos : (x->case_else ? x->case_else->pos : x->pos);
        if ((rc = qp_coerce(b, &args[k], t, p)))
            return rc;
    }
    qexpr *cs = new_expr(c, QX_CASE, t);
    if (!cs)
        return oom(c);
    cs->args = args;
    cs->nargs = 2 * n + 1;
    *out = cs;
    return VG_OK;
}

static int bind_cast(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qtype t;
    if (!x->type_name || !type_from_name(x->type_name, &t))
        return qp_err_at(b, VG_EINVAL, x->pos,
                         "This feature is not implemented: Unsupported SQL type '%s'",
                         x->type_name ? x->type_name : "?");
    int rc = qp_bind_expr(b, s, x->args[0], out);
    if (rc)
        return rc;
    if ((*out)->type == t)
        return VG_OK;
    if (is_string_lit(*out) && (t == QT_INTERVAL || t == QT_TIMESTAMP))
        return qp_coerce(b, out, t, x->args[0]->pos);
    qexpr *cast = new_expr(b->c, QX_CAST, t);
    if (!cast || !(cast->args = new_args(b->c, 1)))
        return oom(b->c);
    cast->args[0] = *out;
    cast->nargs = 1;
    *out = cast;
    return VG_OK;
}

/* The value type of a selector struct: known when the struct comes straight from an
 * aggregate call of this query (its first argument's type). */
static bool selector_value_type(const qp_scope *s, const qexpr *a, qtype *out)
{
    const qp_aggscope *ag = s->agg;
    if (!ag || a->kind != QX_COLUMN || a->col < ag->ngroup || a->col - ag->ngroup >= ag->naggs)
        return false;
    const qagg_call *call = &ag->aggs[a->col - ag->ngroup];
    if (call->nargs < 1)
        return false;
    *out = call->args[0]->type;
    return true;
}

static int bind_subscript(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qexpr *a;
    int rc = qp_bind_expr(b, s, x->args[0], &a);
    if (rc)
        return rc;
    if (a->type != QT_SELECTOR)
        return qp_err_at(b, VG_EINVAL, x->pos,
                         "cannot access field '%.*s' of a %s value: only the struct of "
                         "selector_first/last/min/max has fields",
                         (int)x->v.s.len, x->v.s.ptr, qtype_name(a->type));
    int field;
    qtype t;
    if (vg_str_eq_c(x->v.s, "value")) {
        field = 0;
        if (!selector_value_type(s, a, &t))
            return qp_err_at(b, VG_EINVAL, x->pos,
                             "This feature is not implemented: field access on a selector "
                             "struct that does not come from an aggregate of the same SELECT");
    } else if (vg_str_eq_c(x->v.s, "time")) {
        field = 1;
        t = QT_TIMESTAMP;
    } else {
        return qp_err_at(b, VG_EINVAL, x->pos,
                         "field '%.*s' not found in the selector struct: it has 'value' and "
                         "'time'",
                         (int)x->v.s.len, x->v.s.ptr);
    }
    qexpr *f = new_expr(b->c, QX_FIELD, t);
    if (!f || !(f->args = new_args(b->c, 1)))
        return oom(b->c);
    f->args[0] = a;
    f->nargs = 1;
    f->field = field;
    *out = f;
    return VG_OK;
}

static int bind_func(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qctx *c = b->c;
    if (qagg_find(x->name)) {
        if (s->clause)
            return qp_err_at(b, VG_EINVAL, x->pos, "aggregate functions are not allowed in %s",
                             s->clause);
        return qp_err_at(b, VG_EINVAL, x->pos, "aggregate function calls cannot be nested");
    }
    if (x->star)
        return qp_err_at(b, VG_EINVAL, x->pos, "'*' is only allowed in count(*)");
    if (x->distinct)
        return qp_err_at(b, VG_EINVAL, x->pos,
                         "DISTINCT is only allowed in aggregate functions, not in '%s'", x->name);
    qexpr **args = new_args(c, x->nargs);
    ast_pos *apos = qp_alloc(c, (x->nargs + 1) * sizeof *apos);
    if (!args || !apos)
        return oom(c);
    for (uint32_t i = 0; i < x->nargs; i++) {
        int rc = qp_bind_expr(b, s, x->args[i], &args[i]);
        if (rc)
            return rc;
        apos[i] = x->args[i]->pos;
    }
    return call_fn(b, x->name, x->pos, args, apos, x->nargs, out);
}

static int bind_extract(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qexpr *a;
    int rc = qp_bind_expr(b, s, x->args[0], &a);
    if (rc)
        return rc;
    qvalue v = {.type = QT_STRING};
    v.v.s = (qstr){x->v.s.ptr, (uint32_t)x->v.s.len};
    qexpr *field = qp_lit(b->c, &v);
    if (!field)
        return oom(b->c);
    return call2(b, "date_part", x->pos, field, x->pos, a, x->args[0]->pos, out);
}

static int bind_like(qp_binder *b, const ast_expr *x, qexpr *l, qexpr *r, qexpr **out)
{
    const char *name = x->ilike ? QP_FN_ILIKE : QP_FN_LIKE;
    const char *negated = x->ilike ? QP_FN_NOT_ILIKE : QP_FN_NOT_LIKE;
    ast_pos lp = x->args[0]->pos, rp = x->args[1]->pos;
    if (x->negated && qfunc_find(negated))
        return call2(b, negated, x->pos, l, lp, r, rp, out);
    int rc = call2(b, name, x->pos, l, lp, r, rp, out);
    return rc || !x->negated ? rc : call1(b, QP_FN_NOT, x->pos, *out, out);
}

static int bind_node(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    int rc;
    switch (x->kind) {
    case AE_NULL:
    case AE_BOOL:
    case AE_INT:
    case AE_UINT:
    case AE_FLOAT:
    case AE_STRING:
    case AE_INTERVAL:
    case AE_TYPED_STRING: return bind_literal(b, x, out);
    case AE_PARAM: return bind_param(b, x, out);
    case AE_COLUMN: return bind_column(b, s, x, out);
    case AE_STAR:
        return qp_err_at(b, VG_EINVAL, x->pos,
                         "'*' is only allowed in a select list or in count(*)");
    case AE_UNARY: return bind_unary(b, s, x, out);
    case AE_BINARY: return bind_binary(b, s, x, out);
    case AE_FUNC: return bind_func(b, s, x, out);
    case AE_CASE: return bind_case(b, s, x, out);
    case AE_CAST: return bind_cast(b, s, x, out);
    case AE_IN_LIST: return bind_in_list(b, s, x, out);
    case AE_BETWEEN: return bind_between(b, s, x, out);
    case AE_LIKE: {
        qexpr *l, *r;
        if ((rc = qp_bind_expr(b, s, x->args[0], &l)) ||
            (rc = qp_bind_expr(b, s, x->args[1], &r)) || (rc = bind_like(b, x, l, r, out)))
            return rc;
        return VG_OK;
    }
    case AE_IS_NULL: {
        qexpr *a;
        if ((rc = qp_bind_expr(b, s, x->args[0], &a)))
            return rc;
        return call1(b, x->negated ? QP_FN_IS_NOT_NULL : QP_FN_IS_NULL, x->pos, a, out);
    }
    case AE_IS_BOOL: return bind_is_bool(b, s, x, out);
    case AE_SUBSCRIPT: return bind_subscript(b, s, x, out);
    case AE_EXTRACT: return bind_extract(b, s, x, out);
    case AE_SUBQUERY:
        return qp_err_at(b, VG_EINVAL, x->pos,
                         "This feature is not implemented: scalar subqueries are not supported "
                         "yet");
    }
    return qp_err_at(b, VG_EINTERNAL, x->pos, "unknown expression kind %d", (int)x->kind);
}

/* ---- aggregate scopes ---- */

static int grow_aggs(qctx *c, qp_aggscope *a)
{
    if (a->naggs < a->cap)
        return VG_OK;
    uint32_t cap = a->cap ? a->cap * 2 : 8;
    qagg_call *aggs = qp_alloc(c, cap * sizeof *aggs);
    const char **names = qp_alloc(c, cap * sizeof *names);
    if (!aggs || !names)
        return oom(c);
    if (a->naggs) {
        memcpy(aggs, a->aggs, a->naggs * sizeof *aggs);
        memcpy(names, a->agg_names, a->naggs * sizeof *names);
    }
    a->aggs = aggs;
    a->agg_names = names;
    a->cap = cap;
    return VG_OK;
}

static int bind_agg_call(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    qctx *c = b->c;
    qp_aggscope *a = s->agg;
    const qagg *agg = qagg_find(x->name);
    qp_scope in = *a->input;
    in.clause = NULL; /* an aggregate inside these arguments is a nested aggregate */
    if (x->star && strcmp(x->name, "count") != 0)
        return qp_err_at(b, VG_EINVAL, x->pos, "'*' is only allowed in count(*)");
    uint32_t n = x->star ? 0 : x->nargs;
    if ((int)n < agg->min_args || (agg->max_args >= 0 && (int)n > agg->max_args)) {
        if (!strcmp(x->name, "count") && n == 0)
            return qp_err_at(b, VG_EINVAL, x->pos, "count() needs an argument or '*'");
        return arity_error(b, x->pos, x->name, agg->min_args, agg->max_args, n);
    }
    qexpr **args = new_args(c, n);
    ast_pos *apos = qp_alloc(c, (n + 1) * sizeof *apos);
    qtype *types = qp_alloc(c, (n + 1) * sizeof *types);
    if (!args || !apos || !types)
        return oom(c);
    int rc;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = qp_bind_expr(b, &in, x->args[i], &args[i])))
            return rc;
        apos[i] = x->args[i]->pos;
        types[i] = args[i]->type;
    }
    qtype ret = QT_NULL;
    vg_err e2 = {0};
    rc = agg->resolve(types, n, x->distinct, &ret, &e2);
    if ((rc = apply_resolve(b, rc, &e2, x->pos, args, types, apos, n)))
        return rc;
    for (uint32_t k = 0; k < a->naggs; k++) {
        const qagg_call *o = &a->aggs[k];
        bool same = o->agg == agg && o->distinct == x->distinct && o->nargs == n;
        for (uint32_t i = 0; same && i < n; i++)
            same = qp_expr_equal(o->args[i], args[i]);
        if (same)
            return (*out = qp_col(c, a->ngroup + k, o->ret)) ? VG_OK : oom(c);
    }
    const char *name;
    if ((rc = qp_expr_name(b, a->input, x, &name)) || (rc = grow_aggs(c, a)))
        return rc;
    a->aggs[a->naggs] = (qagg_call){agg, args, n, x->distinct, ret};
    a->agg_names[a->naggs] = name;
    a->naggs++;
    return (*out = qp_col(c, a->ngroup + a->naggs - 1, ret)) ? VG_OK : oom(c);
}

static int bind_in_aggscope(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out,
                            bool *done)
{
    qp_aggscope *a = s->agg;
    *done = true;
    if (is_agg_call(x))
        return bind_agg_call(b, s, x, out);
    if (!qp_ast_has_agg(x)) {
        qexpr *plain;
        int rc = qp_bind_expr(b, a->input, x, &plain);
        if (rc)
            return rc;
        for (uint32_t g = 0; g < a->ngroup; g++)
            if (qp_expr_equal(plain, a->group[g]))
                return (*out = qp_col(b->c, g, plain->type)) ? VG_OK : oom(b->c);
        if (!has_cols(plain)) {
            *out = plain;
            return VG_OK;
        }
        if (x->kind == AE_COLUMN) {
            if (x->qualifier)
                return qp_err_at(b, VG_EINVAL, x->pos,
                                 "column \"%s.%s\" must appear in the GROUP BY clause or be "
                                 "used in an aggregate function",
                                 x->qualifier, x->name);
            return qp_err_at(b, VG_EINVAL, x->pos,
                             "column \"%s\" must appear in the GROUP BY clause or be used in "
                             "an aggregate function",
                             x->name);
        }
    }
    *done = false; /* bind the node itself, its children in the aggregate scope */
    return VG_OK;
}

int qp_bind_expr(qp_binder *b, const qp_scope *s, const ast_expr *x, qexpr **out)
{
    if (s->agg) {
        bool done;
        int rc = bind_in_aggscope(b, s, x, out, &done);
        if (rc || done)
            return rc;
    }
    return bind_node(b, s, x, out);
}

int qp_aggscope_schema(qp_binder *b, qp_aggscope *a, qschema *out)
{
    uint32_t n = a->ngroup + a->naggs;
    qfield *f = qp_alloc(b->c, (n + 1) * sizeof *f);
    if (!f)
        return oom(b->c);
    const qschema *in = a->input->schema;
    for (uint32_t g = 0; g < a->ngroup; g++) {
        const qexpr *x = a->group[g];
        if (x->kind == QX_COLUMN) {
            f[g] = in->f[x->col];
        } else {
            f[g] = (qfield){a->group_names[g], NULL, x->type, false, true};
        }
    }
    for (uint32_t k = 0; k < a->naggs; k++)
        f[a->ngroup + k] = (qfield){a->agg_names[k], NULL, a->aggs[k].ret, false, true};
    out->n = n;
    out->f = f;
    return VG_OK;
}

/* ---- output names ---- */

ast_expr *qp_ast_rewrite(qp_binder *b, const ast_expr *x, qp_column_fn fn, void *ctx)
{
    if (!x)
        return NULL;
    if (x->kind == AE_COLUMN)
        return fn(b, ctx, x);
    ast_expr *y = qp_alloc(b->c, sizeof *y);
    if (!y)
        return NULL;
    *y = *x;
    if (x->kind == AE_SUBQUERY)
        return y;
    ast_expr ***lists[] = {&y->args, &y->whens, &y->thens, &y->list};
    uint32_t counts[] = {x->nargs, x->nwhens, x->nwhens, x->nlist};
    for (int l = 0; l < 4; l++) {
        if (!counts[l])
            continue;
        ast_expr **src = *lists[l], **dst = qp_alloc(b->c, counts[l] * sizeof *dst);
        if (!dst)
            return NULL;
        for (uint32_t i = 0; i < counts[l]; i++)
            if (!(dst[i] = qp_ast_rewrite(b, src[i], fn, ctx)))
                return NULL;
        *lists[l] = dst;
    }
    if ((x->case_operand && !(y->case_operand = qp_ast_rewrite(b, x->case_operand, fn, ctx))) ||
        (x->case_else && !(y->case_else = qp_ast_rewrite(b, x->case_else, fn, ctx))))
        return NULL;
    return y;
}

/* A column qualified by the table it resolves to, so that ast_expr_to_sql prints
 * DataFusion's `avg(sensors.s_2)`. */
static ast_expr *qualify_column(qp_binder *b, void *ctx, const ast_expr *x)
{
    const qschema *sc = ctx;
    ast_expr *y = qp_alloc(b->c, sizeof *y);
    if (!y)
        return NULL;
    *y = *x;
    if (x->qualifier || !sc)
        return y;
    const char *q = NULL;
    int hits = 0;
    for (uint32_t i = 0; i < sc->n; i++)
        if (strcmp(sc->f[i].name, x->name) == 0) {
            q = sc->f[i].qualifier;
            hits++;
        }
    if (hits == 1)
        y->qualifier = q;
    return y;
}

int qp_expr_name(qp_binder *b, const qp_scope *s, const ast_expr *x, const char **out)
{
    if (x->kind == AE_COLUMN) {
        *out = x->name;
        return VG_OK;
    }
    const qp_scope *in = s->agg ? s->agg->input : s;
    ast_expr *q = qp_ast_rewrite(b, x, qualify_column, (void *)in->schema);
    if (!q)
        return oom(b->c);
    vg_buf buf;
    vg_buf_init(&buf);
    ast_expr_to_sql(q, &buf);
    char *name = buf.oom ? NULL : qp_strdup(b->c, buf.data ? buf.data : "", buf.len);
    vg_buf_free(&buf);
    if (!name)
        return oom(b->c);
    *out = name;
    return VG_OK;
}
