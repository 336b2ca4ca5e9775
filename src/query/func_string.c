/*
 * query/func_string.c: LIKE / ILIKE, || and concat, lower, upper, length, substr,
 * replace, starts_with / ends_with. Lengths and positions count code points.
 *
 * A constant LIKE pattern is compiled once per query into the node's state, and the
 * common shapes ('abc', 'abc%', '%abc', '%abc%') match with memcmp/memmem instead of
 * the general matcher.
 */
#include "func_int.h"

#include <string.h>

static int str_err(qctx *c)
{
    return c->err && c->err->code ? c->err->code : VG_ENOMEM;
}

/* Every argument becomes Utf8 (NULL included); the result is `ret`. */
static int str_all_text(qtype *t, uint32_t n, qtype ret, qtype *out, const char *name, vg_err *e)
{
    for (uint32_t i = 0; i < n; i++) {
        if (t[i] == QT_SELECTOR)
            return qf_nomatch(e, name, t, n, "Utf8 arguments");
        t[i] = QT_STRING;
    }
    *out = ret;
    return VG_OK;
}

/* Arguments that must already be text (NULL is coerced). */
static int str_need_text(qtype *t, uint32_t n, const char *name, const char *cands, vg_err *e)
{
    for (uint32_t i = 0; i < n; i++) {
        if (t[i] == QT_NULL)
            t[i] = QT_STRING;
        if (t[i] != QT_STRING)
            return qf_nomatch(e, name, t, n, cands);
    }
    return VG_OK;
}

static int str_out(qctx *c, const qexpr *call, qvec *args, uint32_t nargs, uint32_t n, qtype t,
                   qvec *out, qf_mem **m)
{
    *m = qf_out_mem(c, call);
    if (!*m)
        return str_err(c);
    int rc = qf_mem_vec(c, *m, out, t, n);
    if (!rc)
        rc = qf_mem_valid_and(c, *m, out, args, nargs);
    return rc;
}

static bool str_row(const qvec *out, uint32_t i)
{
    return !out->valid || qf_bit(out->valid, i);
}

/* ---- LIKE ---- */

enum { PAT_EXACT, PAT_PREFIX, PAT_SUFFIX, PAT_CONTAINS, PAT_ALL, PAT_GENERAL };
enum { EL_BYTE, EL_ONE, EL_ANY };

typedef struct str_pat {
    int kind;
    const char *lit; /* the literal of the simple kinds */
    uint32_t len;
    uint8_t *el; /* PAT_GENERAL: element kinds ... */
    char *byte;  /* ... and bytes */
    uint32_t nel;
} str_pat;

/* Parses pattern p (already lower-cased for ILIKE) into elements: '%' any run, '_' one
 * code point, '\' escapes the next character. el and byte need len entries. */
static void str_pat_compile(const char *p, uint32_t len, uint8_t *el, char *byte, str_pat *pat)
{
    uint32_t n = 0, nany = 0, none = 0;
    for (uint32_t i = 0; i < len; i++) {
        char ch = p[i];
        if (ch == '\\' && i + 1 < len) {
            el[n] = EL_BYTE;
            byte[n++] = p[++i];
        } else if (ch == '%') {
            if (n == 0 || el[n - 1] != EL_ANY) { /* '%%' is '%' */
                el[n++] = EL_ANY;
                nany++;
            }
        } else if (ch == '_') {
            el[n++] = EL_ONE;
            none++;
        } else {
            el[n] = EL_BYTE;
            byte[n++] = ch;
        }
    }
    pat->el = el;
    pat->byte = byte;
    pat->nel = n;
    pat->kind = PAT_GENERAL;
    if (none)
        return;
    bool lead = n > 0 && el[0] == EL_ANY, trail = n > 0 && el[n - 1] == EL_ANY;
    if (nany > (uint32_t)lead + (uint32_t)trail)
        return;
    /* The literal bytes sit together between the optional '%' at each end. */
    pat->lit = byte + lead;
    pat->len = n - lead - (trail && n > 1 ? 1 : 0);
    if (n == 1 && lead)
        pat->kind = PAT_ALL;
    else if (lead && trail)
        pat->kind = PAT_CONTAINS;
    else if (lead)
        pat->kind = PAT_SUFFIX;
    else if (trail)
        pat->kind = PAT_PREFIX;
    else
        pat->kind = PAT_EXACT;
}

static size_t str_cp_len(const char *s, size_t n, size_t i)
{
    size_t k = i + 1;
    while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k++;
    return k - i;
}

/* Iterative wildcard matching: on a mismatch, the last '%' absorbs one more code point. */
static bool str_match_general(const str_pat *p, const char *s, size_t n)
{
    size_t i = 0, j = 0, star_i = 0;
    long star_j = -1;
    while (i < n) {
        if (j < p->nel && p->el[j] == EL_ONE) {
            i += str_cp_len(s, n, i);
            j++;
        } else if (j < p->nel && p->el[j] == EL_BYTE && p->byte[j] == s[i]) {
            i++;
            j++;
        } else if (j < p->nel && p->el[j] == EL_ANY) {
            star_j = (long)j++;
            star_i = i;
        } else if (star_j >= 0) {
            j = (size_t)star_j + 1;
            star_i += str_cp_len(s, n, star_i);
            i = star_i;
        } else {
            return false;
        }
    }
    while (j < p->nel && p->el[j] == EL_ANY)
        j++;
    return j == p->nel;
}

static bool str_match(const str_pat *p, const char *s, size_t n)
{
    switch (p->kind) {
    case PAT_ALL: return true;
    case PAT_EXACT: return n == p->len && (n == 0 || memcmp(s, p->lit, n) == 0);
    case PAT_PREFIX: return n >= p->len && (p->len == 0 || memcmp(s, p->lit, p->len) == 0);
    case PAT_SUFFIX:
        return n >= p->len && (p->len == 0 || memcmp(s + n - p->len, p->lit, p->len) == 0);
    case PAT_CONTAINS: return p->len == 0 || (n && memmem(s, n, p->lit, p->len) != NULL);
    default: return str_match_general(p, s, n);
    }
}

/* Compiles a pattern into memory of the node (tmp slots) or, for a constant pattern,
 * into the query arena once. */
static int str_pat_make(qctx *c, qf_mem *m, bool keep, qstr p, bool ci, str_pat *pat)
{
    size_t len = p.len ? p.len : 1;
    char *low = NULL;
    uint8_t *el;
    char *byte;
    if (keep) {
        low = qctx_alloc(c, len);
        el = qctx_alloc(c, len);
        byte = qctx_alloc(c, len);
    } else {
        low = qf_mem_get(c, m, 3, len);
        el = qf_mem_get(c, m, 4, len);
        byte = qf_mem_get(c, m, 5, len);
    }
    if (!low || !el || !byte)
        return str_err(c);
    if (ci) {
        p.len = (uint32_t)qf_utf8_map(p.p, p.len, false, low);
        p.p = low;
    }
    str_pat_compile(p.p, p.len, el, byte, pat);
    return VG_OK;
}

static int str_like_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    *ret = QT_BOOL;
    return str_need_text(t, n, "like", "like(Utf8, Utf8)", e);
}

static int str_like_exec(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, bool ci,
                         bool neg)
{
    qf_mem *m;
    int rc = str_out(c, call, a, 2, n, QT_BOOL, out, &m);
    if (rc)
        return rc;
    neg = neg != call->negated;
    qf_node *nd = qf_node_get(c, call);
    str_pat *cpat = NULL, row;
    if (qf_arg_const(call, 1)) {
        if (!nd->priv) {
            str_pat *p = qctx_alloc(c, sizeof *p);
            if (!p || str_pat_make(c, m, true, a[1].v.s[0], ci, p))
                return str_err(c);
            nd->priv = p;
        }
        cpat = nd->priv;
    }
    for (uint32_t i = 0; i < n; i++) {
        out->v.b[i] = 0;
        if (!str_row(out, i))
            continue;
        const str_pat *p = cpat;
        if (!p) {
            if ((rc = str_pat_make(c, m, false, qvec_str(&a[1], i), ci, &row)))
                return rc;
            p = &row;
        }
        qstr s = qvec_str(&a[0], i);
        if (ci && s.len) {
            char *low = qf_mem_get(c, m, QF_SLOT_TMP, s.len);
            if (!low)
                return str_err(c);
            s.len = (uint32_t)qf_utf8_map(s.p, s.len, false, low);
            s.p = low;
        }
        out->v.b[i] = str_match(p, s.p, s.len) != neg;
    }
    return VG_OK;
}

static int str_like(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_like_exec(c, x, a, n, o, false, false);
}
static int str_ilike(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_like_exec(c, x, a, n, o, true, false);
}
static int str_not_like(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_like_exec(c, x, a, n, o, false, true);
}
static int str_not_ilike(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_like_exec(c, x, a, n, o, true, true);
}

/* ---- || and concat ---- */

static int str_concat_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    return str_all_text(t, n, QT_STRING, ret, "concat", e);
}

static int str_pipe_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    return str_all_text(t, n, QT_STRING, ret, "||", e);
}

/* strict: `a || NULL` is NULL; concat() skips NULLs and is never NULL. */
static int str_join(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out,
                    bool strict)
{
    qf_mem *m = qf_out_mem(c, call);
    if (!m)
        return str_err(c);
    int rc = qf_mem_vec(c, m, out, QT_STRING, n);
    if (!rc && strict)
        rc = qf_mem_valid_and(c, m, out, a, na);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.s[i] = (qstr){"", 0};
        if (!str_row(out, i))
            continue;
        size_t len = 0;
        for (uint32_t k = 0; k < na; k++)
            if (qvec_is_valid(&a[k], i))
                len += qvec_str(&a[k], i).len;
        if (len > UINT32_MAX)
            return vg_err_set(c->err, VG_EINVAL, "concat: result longer than 4 GiB");
        char *p = len ? qf_mem_str(c, m, len) : NULL;
        if (len && !p)
            return str_err(c);
        size_t o = 0;
        for (uint32_t k = 0; k < na; k++) {
            if (!qvec_is_valid(&a[k], i))
                continue;
            qstr s = qvec_str(&a[k], i);
            if (s.len)
                memcpy(p + o, s.p, s.len);
            o += s.len;
        }
        out->v.s[i] = (qstr){p ? p : "", (uint32_t)len};
    }
    return VG_OK;
}

static int str_pipe(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_join(c, x, a, na, n, o, true);
}
static int str_concat(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_join(c, x, a, na, n, o, false);
}

/* ---- lower, upper, length ---- */

static int str_text_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    *ret = QT_STRING;
    return str_need_text(t, n, "lower/upper", "lower(Utf8), upper(Utf8)", e);
}

static int str_case(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, bool upper)
{
    qf_mem *m;
    int rc = str_out(c, call, a, 1, n, QT_STRING, out, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.s[i] = (qstr){"", 0};
        if (!str_row(out, i))
            continue;
        qstr s = qvec_str(&a[0], i);
        if (!s.len)
            continue;
        char *p = qf_mem_str(c, m, s.len); /* case mapping never grows the text */
        if (!p)
            return str_err(c);
        out->v.s[i] = (qstr){p, (uint32_t)qf_utf8_map(s.p, s.len, upper, p)};
    }
    return VG_OK;
}

static int str_lower(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_case(c, x, a, n, o, false);
}
static int str_upper(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_case(c, x, a, n, o, true);
}

static int str_length_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    *ret = QT_INT;
    return str_need_text(t, n, "length", "length(Utf8)", e);
}

static int str_lengths(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, bool bytes)
{
    qf_mem *m;
    int rc = str_out(c, call, a, 1, n, QT_INT, out, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.i64[i] = 0;
        if (!str_row(out, i))
            continue;
        qstr s = qvec_str(&a[0], i);
        out->v.i64[i] = bytes ? (int64_t)s.len : (int64_t)qf_utf8_count(s.p, s.len);
    }
    return VG_OK;
}

static int str_length(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_lengths(c, x, a, n, o, false);
}
static int str_octet_length(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_lengths(c, x, a, n, o, true);
}

/* ---- substr ---- */

static int str_substr_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    static const char cands[] = "substr(Utf8, Int64), substr(Utf8, Int64, Int64)";
    if (t[0] == QT_NULL)
        t[0] = QT_STRING;
    for (uint32_t i = 1; i < n; i++)
        if (t[i] == QT_NULL || t[i] == QT_UINT)
            t[i] = QT_INT;
    if (t[0] != QT_STRING || t[1] != QT_INT || (n == 3 && t[2] != QT_INT))
        return qf_nomatch(e, "substr", t, n, cands);
    *ret = QT_STRING;
    return VG_OK;
}

/* PostgreSQL: characters [start, start + len) of a 1-based string, where positions
 * before 1 simply do not exist (substr('abc', 0, 2) = 'a'). */
static int str_substr(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m;
    int rc = str_out(c, call, a, na, n, QT_STRING, out, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.s[i] = (qstr){"", 0};
        if (!str_row(out, i))
            continue;
        qstr s = qvec_str(&a[0], i);
        __int128 from = a[1].v.i64[i], to = (__int128)INT64_MAX + 1;
        if (na == 3) {
            if (a[2].v.i64[i] < 0)
                return vg_err_set(c->err, VG_EINVAL, "negative substring length not allowed");
            to = from + a[2].v.i64[i];
        }
        if (from < 1)
            from = 1;
        if (to <= from)
            continue;
        size_t b0 = qf_utf8_skip(s.p, s.len, (size_t)(from - 1));
        size_t want = to - from > (__int128)s.len ? s.len : (size_t)(to - from);
        size_t b1 = b0 + qf_utf8_skip(s.p + b0, s.len - b0, want);
        /* Borrowed: the result is a slice of the input, which outlives it. */
        out->v.s[i] = (qstr){s.p + b0, (uint32_t)(b1 - b0)};
    }
    return VG_OK;
}

/* ---- replace, starts_with, ends_with ---- */

static int str_replace_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    *ret = QT_STRING;
    return str_need_text(t, n, "replace", "replace(Utf8, Utf8, Utf8)", e);
}

/* Rust's str::replace, as DataFusion: an empty `from` matches between every character
 * (replace('ab', '', '-') = '-a-b-'). */
static int str_replace_one(qctx *c, qf_mem *m, qstr s, qstr f, qstr t, qstr *out)
{
    size_t count = 0;
    if (f.len == 0) {
        count = qf_utf8_count(s.p, s.len) + 1;
    } else {
        for (const char *p = s.p, *end = s.p + s.len;
             (p = memmem(p, (size_t)(end - p), f.p, f.len)) != NULL; p += f.len)
            count++;
    }
    if (count == 0) {
        *out = s;
        return VG_OK;
    }
    size_t len = s.len + count * t.len - (f.len ? count * f.len : 0);
    if (len > UINT32_MAX)
        return vg_err_set(c->err, VG_EINVAL, "replace: result longer than 4 GiB");
    char *o = len ? qf_mem_str(c, m, len) : NULL;
    if (len && !o)
        return str_err(c);
    size_t k = 0, i = 0;
    while (i <= s.len) {
        const char *hit;
        if (f.len == 0) {
            memcpy(o + k, t.p, t.len);
            k += t.len;
            if (i == s.len)
                break;
            size_t cl = str_cp_len(s.p, s.len, i);
            memcpy(o + k, s.p + i, cl);
            k += cl;
            i += cl;
            continue;
        }
        hit = memmem(s.p + i, s.len - i, f.p, f.len);
        size_t stop = hit ? (size_t)(hit - s.p) : s.len;
        memcpy(o + k, s.p + i, stop - i);
        k += stop - i;
        if (!hit)
            break;
        memcpy(o + k, t.p, t.len);
        k += t.len;
        i = stop + f.len;
    }
    *out = (qstr){o ? o : "", (uint32_t)len};
    return VG_OK;
}

static int str_replace(qctx *c, const qexpr *call, qvec *a, uint32_t na, uint32_t n, qvec *out)
{
    qf_mem *m;
    int rc = str_out(c, call, a, 3, n, QT_STRING, out, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.s[i] = (qstr){"", 0};
        if (!str_row(out, i))
            continue;
        rc = str_replace_one(c, m, qvec_str(&a[0], i), qvec_str(&a[1], i), qvec_str(&a[2], i),
                             &out->v.s[i]);
        if (rc)
            return rc;
    }
    return VG_OK;
}

static int str_affix_resolve(qtype *t, uint32_t n, qtype *ret, vg_err *e)
{
    *ret = QT_BOOL;
    return str_need_text(t, n, "starts_with", "starts_with(Utf8, Utf8), ends_with(Utf8, Utf8)", e);
}

static int str_affix(qctx *c, const qexpr *call, qvec *a, uint32_t n, qvec *out, bool end)
{
    qf_mem *m;
    int rc = str_out(c, call, a, 2, n, QT_BOOL, out, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        out->v.b[i] = 0;
        if (!str_row(out, i))
            continue;
        qstr s = qvec_str(&a[0], i), p = qvec_str(&a[1], i);
        out->v.b[i] = s.len >= p.len &&
                      (p.len == 0 || memcmp(end ? s.p + s.len - p.len : s.p, p.p, p.len) == 0);
    }
    return VG_OK;
}

static int str_starts_with(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_affix(c, x, a, n, o, false);
}
static int str_ends_with(qctx *c, const qexpr *x, qvec *a, uint32_t na, uint32_t n, qvec *o)
{
    return str_affix(c, x, a, n, o, true);
}

#define STR_FN(NAME, MIN, MAX, RES, EXEC, FLAGS)                                                   \
    {                                                                                              \
        {NAME, MIN, MAX, RES, EXEC, false, NULL}, FLAGS                                            \
    }
#define STR_PURE (QF_STRICT | QF_DICT)

const qf_def qf_string_defs[] = {
    STR_FN("like", 2, 2, str_like_resolve, str_like, STR_PURE),
    STR_FN("ilike", 2, 2, str_like_resolve, str_ilike, STR_PURE),
    STR_FN("not_like", 2, 2, str_like_resolve, str_not_like, STR_PURE),
    STR_FN("not_ilike", 2, 2, str_like_resolve, str_not_ilike, STR_PURE),
    STR_FN("||", 2, 2, str_pipe_resolve, str_pipe, STR_PURE),
    STR_FN("concat", 1, -1, str_concat_resolve, str_concat, QF_DICT),
    STR_FN("lower", 1, 1, str_text_resolve, str_lower, STR_PURE),
    STR_FN("upper", 1, 1, str_text_resolve, str_upper, STR_PURE),
    STR_FN("length", 1, 1, str_length_resolve, str_length, STR_PURE),
    STR_FN("char_length", 1, 1, str_length_resolve, str_length, STR_PURE),
    STR_FN("character_length", 1, 1, str_length_resolve, str_length, STR_PURE),
    STR_FN("octet_length", 1, 1, str_length_resolve, str_octet_length, STR_PURE),
    /* substr fails only on a negative length, which per dictionary entry means a
     * constant one: an error on every row anyway. */
    STR_FN("substr", 2, 3, str_substr_resolve, str_substr, STR_PURE),
    STR_FN("substring", 2, 3, str_substr_resolve, str_substr, STR_PURE),
    STR_FN("replace", 3, 3, str_replace_resolve, str_replace, STR_PURE),
    STR_FN("starts_with", 2, 2, str_affix_resolve, str_starts_with, STR_PURE),
    STR_FN("ends_with", 2, 2, str_affix_resolve, str_ends_with, STR_PURE),
};
const size_t qf_string_ndefs = sizeof qf_string_defs / sizeof qf_string_defs[0];
