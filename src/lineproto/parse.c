/*
 * lineproto/parse.c: the line-protocol parser (a body in, good lines and bad-line
 * errors out), the unescape helpers, and the exact decimal-to-double conversion
 * the parser uses for float fields.
 *
 * Every line is parsed by one forward pass over byte classes from a 256-entry
 * table. Names and strings come out as slices of the body; escapes are recognised
 * scanning forward (never by looking one byte back) and undone only on demand.
 * README.md beside this file has the grammar, the error texts and where Vigil
 * differs from Core.
 */
#include "lineproto/lineproto.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

/* ------------------------------------------------------------------------ */
/* Byte classes                                                             */
/* ------------------------------------------------------------------------ */

enum {
    C_MEAS = 1 << 0,  /* stops a measurement scan: , SP \t \n NUL, and the escape \ */
    C_KEY = 1 << 1,   /* stops a tag-key or field-key scan: = SP \t \n \ */
    C_TVAL = 1 << 2,  /* stops a tag-value scan: , SP \t \n \ */
    C_STR = 1 << 3,   /* stops a string-field scan: " \ */
    C_ESC_M = 1 << 4, /* escapable after \ in a measurement: , SP \ */
    C_ESC_N = 1 << 5, /* escapable after \ in keys and tag values: , = SP \ */
    C_DIGIT = 1 << 6,
};

static const uint8_t cls[256] = {
    [0] = C_MEAS,
    ['\t'] = C_MEAS | C_KEY | C_TVAL,
    ['\n'] = C_MEAS | C_KEY | C_TVAL,
    [' '] = C_MEAS | C_KEY | C_TVAL | C_ESC_M | C_ESC_N,
    [','] = C_MEAS | C_TVAL | C_ESC_M | C_ESC_N,
    ['='] = C_KEY | C_ESC_N,
    ['"'] = C_STR,
    ['\\'] = C_MEAS | C_KEY | C_TVAL | C_STR | C_ESC_M | C_ESC_N,
    ['0'] = C_DIGIT,
    ['1'] = C_DIGIT,
    ['2'] = C_DIGIT,
    ['3'] = C_DIGIT,
    ['4'] = C_DIGIT,
    ['5'] = C_DIGIT,
    ['6'] = C_DIGIT,
    ['7'] = C_DIGIT,
    ['8'] = C_DIGIT,
    ['9'] = C_DIGIT,
};

#define CLS(c) cls[(uint8_t)(c)]
#define IS_DIGIT(c) ((unsigned)((uint8_t)(c) - '0') < 10u)

/* ------------------------------------------------------------------------ */
/* Unescaping                                                               */
/* ------------------------------------------------------------------------ */

static size_t unescape_with(lp_slice s, char *out, uint8_t escapable)
{
    if (!s.escaped) {
        memcpy(out, s.ptr, s.len);
        return s.len;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\\' && i + 1 < s.len && (CLS(s.ptr[i + 1]) & escapable))
            i++;
        out[n++] = s.ptr[i];
    }
    return n;
}

size_t lp_unescape(lp_slice s, char *out)
{
    return unescape_with(s, out, C_ESC_N);
}

size_t lp_unescape_measurement(lp_slice s, char *out)
{
    return unescape_with(s, out, C_ESC_M);
}

size_t lp_unescape_string_field(lp_slice s, char *out)
{
    if (!s.escaped) {
        memcpy(out, s.ptr, s.len);
        return s.len;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\\' && i + 1 < s.len && (s.ptr[i + 1] == '"' || s.ptr[i + 1] == '\\'))
            i++;
        out[n++] = s.ptr[i];
    }
    return n;
}

/* A forward cursor over the unescaped bytes of a key, so two keys compare without
 * a copy. */
typedef struct key_cursor {
    const char *p, *e;
} key_cursor;

static int key_next(key_cursor *k)
{
    if (k->p == k->e)
        return -1;
    if (k->p[0] == '\\' && k->e - k->p > 1 && (CLS(k->p[1]) & C_ESC_N))
        k->p++;
    return (uint8_t)*k->p++;
}

static bool key_eq(lp_slice a, lp_slice b)
{
    if (!a.escaped && !b.escaped)
        return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
    key_cursor x = {a.ptr, a.ptr + a.len}, y = {b.ptr, b.ptr + b.len};
    for (;;) {
        int cx = key_next(&x), cy = key_next(&y);
        if (cx != cy)
            return false;
        if (cx < 0)
            return true;
    }
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Powers of ten that a double holds exactly. */
static const double pow10_f64[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const uint64_t pow10_u64[] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull};

/* Clinger's fast path: m * 10^e10 correctly rounded with one IEEE operation, which
 * is exact-then-rounded when both operands are exact doubles (m <= 2^53, 10^|e10|
 * for |e10| <= 22). A larger e10 still works when m * 10^(e10-22) stays exact. */
static bool f64_fast(uint64_t m, int e10, double *out)
{
    if (m == 0) {
        *out = 0.0;
        return true;
    }
    if (m > (1ull << 53))
        return false;
    if (e10 < 0) {
        if (e10 < -22)
            return false;
        *out = (double)m / pow10_f64[-e10];
        return true;
    }
    if (e10 <= 22) {
        *out = (double)m * pow10_f64[e10];
        return true;
    }
    if (e10 - 22 > 15 || m > (1ull << 53) / pow10_u64[e10 - 22])
        return false;
    *out = (double)(m * pow10_u64[e10 - 22]) * 1e22;
    return true;
}

/* Set once per process: the C locale for strtod_l, and the seed of the key hash
 * (the kernel's AT_RANDOM bytes), so a client cannot craft keys that pile up in one
 * stretch of the duplicate table and make a wide line quadratic. */
static locale_t c_locale;
static uint64_t hash_seed = 0x2545F4914F6CDD1Dull;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void once_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    const void *r = (const void *)getauxval(AT_RANDOM);
    if (r)
        memcpy(&hash_seed, r, sizeof hash_seed);
}

/* The rare case (over 19 digits, or an exponent out of the fast range) goes to
 * strtod, in the C locale whatever the process locale is. */
static int f64_slow(const char *s, size_t n, double *out)
{
    char stack[128];
    char *buf = n < sizeof stack ? stack : vg_malloc(n + 1);
    if (!buf)
        return VG_ENOMEM;
    memcpy(buf, s, n);
    buf[n] = '\0';
    pthread_once(&once, once_init);
    *out = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
    if (buf != stack)
        vg_free(buf);
    return VG_OK;
}

/* Parses [p, e) digits that did not fit the 19-digit fast loop, with overflow
 * checks. False when the value exceeds u64. */
static bool u64_long(const char *p, const char *e, uint64_t *out)
{
    uint64_t v = 0;
    for (; p < e; p++) {
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

/* ------------------------------------------------------------------------ */
/* The parse context                                                        */
/* ------------------------------------------------------------------------ */

enum { P_OK = 0, P_BAD, P_NOMATCH, P_NOMEM };

#define TAGS_STACK 32
#define FIELDS_STACK 64
/* Up to this many keys (none escaped), duplicates are found with one-byte
 * signatures and a 256-bit filter; past it, with a hash table. */
#define DUP_SIG_MAX 64

typedef struct lp_ctx {
    vg_arena *arena;
    lp_batch *out;
    const char *body_end;
    /* the current physical line: [ls, le) without its "\r\n" */
    const char *ls, *le;
    bool keys_escaped; /* some tag or field key of the line has escapes */
    uint32_t line_no;
    /* the current line's error */
    const char *err_at;
    char msg[sizeof(((lp_error *)0)->msg)];
    /* per-line scratch, on the stack until a line needs more */
    lp_tag *tags;
    uint32_t ntags, tags_cap;
    lp_field *fields;
    uint32_t nfields, fields_cap;
    /* duplicate-key hash table for lines with many keys */
    uint32_t *dup_tab;
    size_t dup_cap;
    /* unescaped copy of a key, for hashing */
    char *key_buf;
    size_t key_cap;
    lp_tag tags_stack[TAGS_STACK];
    lp_field fields_stack[FIELDS_STACK];
} lp_ctx;

static int fail(lp_ctx *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(lp_ctx *c, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    c->err_at = at;
    return P_BAD;
}

/* Core quotes what is left of the line as `...`: ten characters (UTF-8 code points,
 * not bytes) and "..." when more follow, or "end of input". `max_chars` 0 means all
 * of it, within the message buffer. NUL prints as \0 so the message stays a C
 * string. */
static const char *quote(char *buf, size_t cap, const char *p, const char *e, size_t max_chars)
{
    if (p >= e)
        return "end of input";
    size_t room = cap - 5; /* closing "...`" and the NUL */
    size_t n = 0, chars = 0;
    buf[n++] = '`';
    for (; p < e; p++) {
        if (((uint8_t)*p & 0xC0) != 0x80) {
            /* a character starts: stop here if it might not fit whole */
            if ((max_chars && chars == max_chars) || n + 8 > room)
                break;
            chars++;
        } else if (n + 2 > room) {
            break; /* a run of stray continuation bytes */
        }
        if (*p == '\0') {
            buf[n++] = '\\';
            buf[n++] = '0';
        } else {
            buf[n++] = *p;
        }
    }
    if (p < e) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n++] = '`';
    buf[n] = '\0';
    return buf;
}

#define QUOTE_BYTES 128
#define Q10(buf, p, e) quote((buf), sizeof(buf), (p), (e), 10)

/* A name for a message, unescaped, cut to fit. */
static const char *name_for_msg(char *buf, size_t cap, lp_slice s)
{
    key_cursor k = {s.ptr, s.ptr + s.len};
    size_t n = 0;
    int ch;
    while ((ch = key_next(&k)) >= 0) {
        if (n + ((ch & 0xC0) != 0x80 ? 8 : 5) > cap)
            break;
        buf[n++] = ch ? (char)ch : '?';
    }
    if (ch >= 0) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static const char MSG_BACKSLASH[] =
    "Measurements, tag keys and values, and field keys may not end with a backslash";

/* ------------------------------------------------------------------------ */
/* Scanning names                                                           */
/* ------------------------------------------------------------------------ */

/* Scans a name from p up to its first unescaped stop byte. A backslash before an
 * `escapable` byte escapes it; before anything else it is a literal byte, and the
 * scan goes on from the next byte as an ordinary one. A backslash as the last byte
 * of the name (end of line, or an unescapable stop such as a tab) sets *bad. */
static inline const char *scan_name(const char *p, const char *e, uint8_t stop, uint8_t escapable,
                                    bool *escaped, const char **bad)
{
    for (;;) {
        while (p < e && !(CLS(*p) & stop))
            p++;
        if (p == e || *p != '\\')
            return p;
        if (e - p > 1 && (CLS(p[1]) & escapable)) {
            *escaped = true;
            p += 2;
        } else if (e - p == 1 || (CLS(p[1]) & stop)) {
            *bad = p;
            return p + 1;
        } else {
            p++;
        }
    }
}

static inline void set_slice(lp_slice *s, const char *p, const char *e, bool escaped)
{
    s->ptr = p;
    s->len = (uint32_t)(e - p);
    s->escaped = escaped;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* Eight digit values (0..9, the first in the lowest byte) to their number. */
static inline uint64_t swar8(uint64_t x)
{
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFull;
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFull;
    return (x * 10000 + (x >> 32)) & 0xFFFFFFFFull;
}

/* Appends the run of digits at p to *m (m = m * 10^k + run) and returns its end.
 * It reads eight bytes at a time and finds where the run stops without a branch per
 * digit, because the number of digits varies from value to value and a mispredicted
 * loop exit costs more than the arithmetic. A load may cross the line end: the byte
 * there is '\n' or '\r' (never a digit) unless it is the end of the body, which
 * bounds every load. *m is exact only while the total stays within 19 digits; the
 * caller counts digits. */
static inline const char *eat_digits(const char *p, const char *e, const char *body_end,
                                     uint64_t *m)
{
    uint64_t v = *m;
    while (body_end - p >= 8) {
        uint64_t w = load64(p), x = w - 0x3030303030303030ull;
        /* high bit set in every byte below '0' (x wraps) or above '9' (w + 0x46 >= 0x80) */
        uint64_t stop = (x | (w + 0x4646464646464646ull)) & 0x8080808080808080ull;
        if (!stop) {
            v = v * 100000000u + swar8(x);
            p += 8;
            continue;
        }
        int n = __builtin_ctzll(stop) >> 3;
        if (n) {
            v = v * pow10_u64[n] + swar8(x << (64 - 8 * n));
            p += n;
        }
        *m = v;
        return p;
    }
    while (p < e && IS_DIGIT(*p))
        v = v * 10 + (uint64_t)(*p++ - '0');
    *m = v;
    return p;
}

/* The longest number at p: int `-?D+i`, uint `D+u`, else float
 * `-?D+(.D+)?([eE][+-]?D+)?`. What follows it is the caller's business (a stray
 * byte there is trailing content, as in Core). */
static int parse_number(lp_ctx *c, const char *p, const char *e, lp_field *f, const char **endp)
{
    const char *s = p;
    bool neg = *p == '-';
    p += neg;
    const char *ds = p;
    uint64_t m = 0;
    p = eat_digits(p, e, c->body_end, &m);
    if (p == ds)
        return P_NOMATCH;
    const char *de = p;
    bool exact = de - ds <= 19;
    char q[QUOTE_BYTES];

    if (p < e && *p == 'i') {
        if ((!exact && !u64_long(ds, de, &m)) || m > (uint64_t)INT64_MAX + neg)
            return fail(c, s, "Unable to parse integer value %s", quote(q, sizeof q, s, de, 64));
        f->type = LP_INT;
        f->v.i = neg ? (int64_t)(0 - m) : (int64_t)m;
        *endp = p + 1;
        return P_OK;
    }
    if (p < e && *p == 'u' && !neg) {
        if (!exact && !u64_long(ds, de, &m))
            return fail(c, s, "Unable to parse unsigned integer value %s",
                        quote(q, sizeof q, s, de, 64));
        f->type = LP_UINT;
        f->v.u = m;
        *endp = p + 1;
        return P_OK;
    }

    /* A float: the mantissa digits go on accumulating in m through the fraction. */
    int e10 = 0;
    if (e - p > 1 && *p == '.' && IS_DIGIT(p[1])) {
        const char *fs = ++p;
        p = eat_digits(p, e, c->body_end, &m);
        exact = exact && (p - fs) + (de - ds) <= 19;
        if (exact)
            e10 = -(int)(p - fs);
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        const char *x = p + 1;
        bool xneg = false;
        if (x < e && (*x == '+' || *x == '-'))
            xneg = *x++ == '-';
        if (x < e && IS_DIGIT(*x)) {
            int xv = 0;
            for (; x < e && IS_DIGIT(*x); x++)
                if (xv < 100000)
                    xv = xv * 10 + (*x - '0');
            e10 += xneg ? -xv : xv;
            p = x;
        }
    }
    double d;
    f->type = LP_FLOAT;
    *endp = p;
    if (exact && f64_fast(m, e10, &d)) {
        /* the fast path cannot overflow: at most 2^53 * 1e22 */
        f->v.f = neg ? -d : d;
        return P_OK;
    }
    if (f64_slow(ds, (size_t)(p - ds), &d) != VG_OK)
        return P_NOMEM;
    if (isinf(d))
        return fail(c, s, "Unable to parse floating-point value %s", quote(q, sizeof q, s, p, 64));
    f->v.f = neg ? -d : d;
    return P_OK;
}

/* A quoted string: `\"` and `\\` are escapes, any other backslash is literal. */
static int parse_string(lp_ctx *c, const char *p, const char *e, lp_field *f, const char **endp)
{
    const char *s = p + 1, *q = s;
    bool escaped = false;
    for (;;) {
        while (q < e && !(CLS(*q) & C_STR))
            q++;
        if (q == e)
            return P_NOMATCH;
        if (*q == '"')
            break;
        if (e - q > 1 && (q[1] == '"' || q[1] == '\\')) {
            escaped = true;
            q += 2;
        } else {
            q++;
        }
    }
    if ((size_t)(q - s) > VG_LIMIT_LP_STRING_BYTES)
        return fail(c, p, "String is greater than 1MB");
    f->type = LP_STRING;
    set_slice(&f->v.s, s, q, escaped);
    *endp = q + 1;
    return P_OK;
}

/* The longest of t, T, true, True, TRUE, f, F, false, False, FALSE. */
static int parse_bool(const char *p, const char *e, lp_field *f, const char **endp)
{
    size_t n = (size_t)(e - p);
    f->type = LP_BOOL;
    f->v.b = *p == 't' || *p == 'T';
    const char *word = f->v.b ? "true" : "false";
    size_t wl = f->v.b ? 4 : 5;
    size_t len = 1;
    if (n >= wl) {
        if (*p == word[0]) {
            if (memcmp(p + 1, word + 1, wl - 1) == 0)
                len = wl;
        } else {
            /* True / TRUE, False / FALSE */
            bool lower = true, upper = true;
            for (size_t i = 1; i < wl; i++) {
                lower &= p[i] == word[i];
                upper &= p[i] == word[i] - 32;
            }
            if (lower || upper)
                len = wl;
        }
    }
    *endp = p + len;
    return P_OK;
}

static inline int parse_value(lp_ctx *c, const char *p, const char *e, lp_field *f,
                              const char **endp)
{
    if (p == e)
        return P_NOMATCH;
    switch (*p) {
    case '"': return parse_string(c, p, e, f, endp);
    case 't':
    case 'T':
    case 'f':
    case 'F': return parse_bool(p, e, f, endp);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': return parse_number(c, p, e, f, endp);
    default: return P_NOMATCH;
    }
}

/* `-?D+`, i64. */
static int parse_time(lp_ctx *c, const char *p, const char *e, int64_t *t, const char **endp)
{
    const char *s = p;
    bool neg = *p == '-';
    p += neg;
    const char *ds = p;
    uint64_t m = 0;
    p = eat_digits(p, e, c->body_end, &m);
    if (p == ds)
        return P_NOMATCH;
    if ((p - ds > 19 && !u64_long(ds, p, &m)) || m > (uint64_t)INT64_MAX + neg) {
        char q[QUOTE_BYTES];
        return fail(c, s, "Unable to parse timestamp value %s", quote(q, sizeof q, s, p, 64));
    }
    *t = neg ? (int64_t)(0 - m) : (int64_t)m;
    *endp = p;
    return P_OK;
}

/* ------------------------------------------------------------------------ */
/* Per-line scratch                                                         */
/* ------------------------------------------------------------------------ */

static bool grow_scratch(void **arr, uint32_t *cap, size_t size, void *stack)
{
    uint32_t ncap = *cap * 2;
    void *p = vg_malloc(ncap * size);
    if (!p)
        return false;
    memcpy(p, *arr, *cap * size);
    if (*arr != stack)
        vg_free(*arr);
    *arr = p;
    *cap = ncap;
    return true;
}

static inline lp_tag *push_tag(lp_ctx *c)
{
    if (c->ntags == c->tags_cap &&
        !grow_scratch((void **)&c->tags, &c->tags_cap, sizeof(lp_tag), c->tags_stack))
        return NULL;
    return &c->tags[c->ntags++];
}

static inline lp_field *push_field(lp_ctx *c)
{
    if (c->nfields == c->fields_cap &&
        !grow_scratch((void **)&c->fields, &c->fields_cap, sizeof(lp_field), c->fields_stack))
        return NULL;
    return &c->fields[c->nfields++];
}

/* ------------------------------------------------------------------------ */
/* Duplicate keys                                                           */
/* ------------------------------------------------------------------------ */

static uint32_t hash_bytes(const char *p, size_t n)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h = ((n + 1) ^ hash_seed) * k;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8)
            h = (h ^ load64(p + i)) * k;
        h = (h ^ load64(p + n - 8)) * k;
    } else if (n >= 4) {
        h = (h ^ (((uint64_t)load32(p) << 32) | load32(p + n - 4))) * k;
    } else if (n > 0) {
        uint64_t v = ((uint64_t)(uint8_t)p[0] << 16) | ((uint64_t)(uint8_t)p[n / 2] << 8) |
                     (uint8_t)p[n - 1];
        h = (h ^ v) * k;
    }
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

/* Hashes a key by its unescaped bytes, so `a\,b` and `a,b` meet. */
static int key_hash(lp_ctx *c, lp_slice s, uint32_t *h)
{
    if (!s.escaped) {
        *h = hash_bytes(s.ptr, s.len);
        return P_OK;
    }
    if (s.len > c->key_cap) {
        char *nb = vg_malloc(s.len);
        if (!nb)
            return P_NOMEM;
        vg_free(c->key_buf);
        c->key_buf = nb;
        c->key_cap = s.len;
    }
    *h = hash_bytes(c->key_buf, lp_unescape(s, c->key_buf));
    return P_OK;
}

/* A one-byte signature of an unescaped key from its length and its first and last
 * two bytes: far cheaper than hashing the key, and different for the usual families
 * of names (f0..f9, s_1..s_21, host/region/...). Equal keys have equal signatures. */
static inline uint32_t key_sig(lp_slice k)
{
    uint32_t n = k.len, a = (uint8_t)k.ptr[0], z = (uint8_t)k.ptr[n - 1];
    uint32_t y = n > 1 ? (uint8_t)k.ptr[n - 2] : 0;
    return ((n * 0x10001u + (a << 24) + (y << 8) + z) * 0x9E3779B1u) >> 24;
}

#define KEY_AT(base, stride, i) (*(const lp_slice *)((base) + (size_t)(i) * (stride)))

/* The common case: few keys, none escaped. A key is compared with the earlier ones
 * only when its signature's filter bit is already set. */
static long find_dup_small(const char *base, size_t stride, uint32_t n)
{
    uint64_t seen[4] = {0, 0, 0, 0};
    uint8_t sig[DUP_SIG_MAX];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h = key_sig(KEY_AT(base, stride, i));
        uint64_t bit = 1ull << (h & 63);
        sig[i] = (uint8_t)h;
        if (seen[h >> 6] & bit) {
            for (uint32_t j = 0; j < i; j++)
                if (sig[j] == h && key_eq(KEY_AT(base, stride, i), KEY_AT(base, stride, j)))
                    return i;
        }
        seen[h >> 6] |= bit;
    }
    return -1;
}

/* Finds the first key (in line order) equal to an earlier one; *dup = its index or
 * -1. Keys are read through `stride` so tags and fields share the code. */
static int find_dup(lp_ctx *c, const char *base, size_t stride, uint32_t n, long *dup)
{
    if (n <= DUP_SIG_MAX && !c->keys_escaped) {
        *dup = find_dup_small(base, stride, n);
        return P_OK;
    }
    *dup = -1;
    pthread_once(&once, once_init);
    size_t cap = 16;
    while (cap < (size_t)n * 2)
        cap *= 2;
    if (cap > c->dup_cap) {
        uint32_t *t = vg_malloc(cap * 2 * sizeof(uint32_t));
        if (!t)
            return P_NOMEM;
        vg_free(c->dup_tab);
        c->dup_tab = t;
        c->dup_cap = cap;
    }
    /* Slots hold (index + 1, hash); index 0 marks an empty slot. */
    uint32_t *tab = c->dup_tab;
    memset(tab, 0, cap * 2 * sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h;
        if (key_hash(c, KEY_AT(base, stride, i), &h) != P_OK)
            return P_NOMEM;
        size_t slot = h & (cap - 1);
        for (;; slot = (slot + 1) & (cap - 1)) {
            uint32_t idx = tab[slot * 2];
            if (idx == 0) {
                tab[slot * 2] = i + 1;
                tab[slot * 2 + 1] = h;
                break;
            }
            if (tab[slot * 2 + 1] == h &&
                key_eq(KEY_AT(base, stride, i), KEY_AT(base, stride, idx - 1))) {
                *dup = i;
                return P_OK;
            }
        }
    }
    return P_OK;
}

static int check_dups(lp_ctx *c)
{
    long dup;
    char name[96];
    if (c->ntags > 1) {
        if (find_dup(c, (const char *)&c->tags[0].key, sizeof(lp_tag), c->ntags, &dup) != P_OK)
            return P_NOMEM;
        if (dup >= 0) {
            lp_slice k = c->tags[dup].key;
            return fail(c, k.ptr, "Must not contain duplicate tags, but `%s` was repeated",
                        name_for_msg(name, sizeof name, k));
        }
    }
    if (c->nfields > 1) {
        if (find_dup(c, (const char *)&c->fields[0].key, sizeof(lp_field), c->nfields, &dup) !=
            P_OK)
            return P_NOMEM;
        if (dup >= 0) {
            lp_slice k = c->fields[dup].key;
            return fail(c, k.ptr, "invalid line protocol - multiple instances of '%s' field found",
                        name_for_msg(name, sizeof name, k));
        }
    }
    return P_OK;
}

/* ------------------------------------------------------------------------ */
/* One line                                                                 */
/* ------------------------------------------------------------------------ */

static int too_long(lp_ctx *c, const char *what, const char *s, const char *p)
{
    if ((size_t)(p - s) <= VG_LIMIT_LP_STRING_BYTES)
        return P_OK;
    return fail(c, s, "%s is greater than 1MB", what);
}

static int parse_tags(lp_ctx *c, const char **pp, const char *e)
{
    const char *p = *pp, *set = p;
    char q[QUOTE_BYTES];
    for (;;) {
        const char *ks = p, *bad = NULL;
        bool kesc = false, vesc = false;
        p = scan_name(p, e, C_KEY, C_ESC_N, &kesc, &bad);
        if (bad)
            return fail(c, bad, MSG_BACKSLASH);
        if (p == ks)
            return fail(c, ks, "Expected tag key, got %s", Q10(q, ks, e));
        if (p == e || *p != '=')
            return fail(c, p, "Tag set malformed: could not find equals sign in %s",
                        Q10(q, set, e));
        if (too_long(c, "Tag key", ks, p))
            return P_BAD;
        const char *ke = p++, *vs = p;
        p = scan_name(p, e, C_TVAL, C_ESC_N, &vesc, &bad);
        if (bad)
            return fail(c, bad, MSG_BACKSLASH);
        if (p == vs)
            return fail(c, vs, "Expected tag value, got %s", Q10(q, vs, e));
        if (too_long(c, "Tag value", vs, p))
            return P_BAD;
        if (c->ntags == VG_LIMIT_LP_TAGS_PER_LINE)
            return fail(c, ks, "Too many tags: a line may have at most %d",
                        VG_LIMIT_LP_TAGS_PER_LINE);
        lp_tag *t = push_tag(c);
        if (!t)
            return P_NOMEM;
        set_slice(&t->key, ks, ke, kesc);
        set_slice(&t->val, vs, p, vesc);
        c->keys_escaped |= kesc;
        if (p == e || *p != ',')
            break;
        p++;
    }
    *pp = p;
    return P_OK;
}

/* Core's wording when a field does not parse: the first field failing means "no
 * fields"; a later one leaves the rest of the line as trailing content, quoted from
 * just after the comma for the second field and from the comma for later ones. */
static int field_failed(lp_ctx *c, const char *at, const char *comma, const char *e)
{
    char q[QUOTE_BYTES];
    if (c->nfields == 0)
        return fail(c, at, "No fields were provided");
    const char *from = c->nfields == 1 && comma + 1 < e ? comma + 1 : comma;
    return fail(c, at, "Could not parse entire line. Found trailing content: %s", Q10(q, from, e));
}

static int parse_fields(lp_ctx *c, const char **pp, const char *e)
{
    const char *p = *pp, *comma = NULL;
    for (;;) {
        const char *ks = p, *bad = NULL;
        bool kesc = false;
        p = scan_name(p, e, C_KEY, C_ESC_N, &kesc, &bad);
        if (bad)
            return fail(c, bad, MSG_BACKSLASH);
        if (p == ks || p == e || *p != '=')
            return field_failed(c, p, comma, e);
        if (too_long(c, "Field key", ks, p))
            return P_BAD;
        const char *ke = p++;
        if (c->nfields == VG_LIMIT_LP_FIELDS_PER_LINE)
            return fail(c, ks, "Too many fields: a line may have at most %d",
                        VG_LIMIT_LP_FIELDS_PER_LINE);
        lp_field *f = push_field(c);
        if (!f)
            return P_NOMEM;
        int r = parse_value(c, p, e, f, &p);
        if (r != P_OK) {
            c->nfields--;
            return r == P_NOMATCH ? field_failed(c, p, comma, e) : r;
        }
        set_slice(&f->key, ks, ke, kesc);
        c->keys_escaped |= kesc;
        if (p == e || *p != ',')
            break;
        comma = p++;
    }
    *pp = p;
    return P_OK;
}

static int trailing(lp_ctx *c, const char *at, const char *from, const char *e)
{
    char q[QUOTE_BYTES];
    return fail(c, at, "Could not parse entire line. Found trailing content: %s", Q10(q, from, e));
}

/* Parses the content [p, e) of one line (leading whitespace already skipped). */
static int parse_line(lp_ctx *c, const char *p, const char *e, lp_line *ln)
{
    char q[QUOTE_BYTES];
    const char *ms = p, *bad = NULL;
    bool esc = false;
    int r;

    p = scan_name(p, e, C_MEAS, C_ESC_M, &esc, &bad);
    if (bad)
        return fail(c, bad, MSG_BACKSLASH);
    if (p == ms)
        return fail(c, ms, "Invalid measurement was provided");
    if (too_long(c, "Measurement", ms, p))
        return P_BAD;
    set_slice(&ln->measurement, ms, p, esc);

    c->ntags = 0;
    c->nfields = 0;
    c->keys_escaped = false;
    if (p < e && *p == ',') {
        p++;
        if ((r = parse_tags(c, &p, e)) != P_OK)
            return r;
    }
    if (p == e || *p != ' ')
        return fail(c, p, "Expected at least one space character, got %s",
                    quote(q, sizeof q, p, e, 0));
    while (p < e && *p == ' ')
        p++;
    if ((r = parse_fields(c, &p, e)) != P_OK)
        return r;

    ln->has_time = false;
    ln->time = 0;
    if (p < e) {
        if (*p != ' ')
            return trailing(c, p, p, e);
        const char *ws = p;
        while (p < e && *p == ' ')
            p++;
        if (p < e) {
            const char *ts = p;
            r = parse_time(c, p, e, &ln->time, &p);
            if (r == P_NOMATCH)
                return trailing(c, ts, ws, e);
            if (r != P_OK)
                return r;
            ln->has_time = true;
            while (p < e && *p == ' ')
                p++;
            if (p < e)
                return trailing(c, p, p, e);
        }
    }
    return check_dups(c);
}

/* ------------------------------------------------------------------------ */
/* The body                                                                 */
/* ------------------------------------------------------------------------ */

/* Grows an array that lives in the arena by copying it into a block twice the
 * size; the old block stays in the arena until the caller frees it (at most as
 * much again as the final array). */
static bool grow_array(vg_arena *a, void **arr, size_t n, size_t *cap, size_t size, size_t first)
{
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap > SIZE_MAX / size)
        return false;
    void *p = vg_arena_alloc(a, ncap * size);
    if (!p)
        return false;
    if (n)
        memcpy(p, *arr, n * size);
    *arr = p;
    *cap = ncap;
    return true;
}

static uint32_t column_of(const lp_ctx *c, const char *at)
{
    size_t col = (size_t)(at - c->ls) + 1;
    return col > UINT32_MAX ? UINT32_MAX : (uint32_t)col;
}

static int add_error(lp_ctx *c)
{
    lp_batch *out = c->out;
    if (out->nerrors == out->caps[1] && !grow_array(c->arena, (void **)&out->errors, out->nerrors,
                                                    &out->caps[1], sizeof(lp_error), 4))
        return VG_ENOMEM;
    lp_error *er = &out->errors[out->nerrors++];
    er->line_no = c->line_no;
    er->column = column_of(c, c->err_at);
    er->text = c->ls;
    er->text_len = (uint32_t)(c->le - c->ls);
    memcpy(er->msg, c->msg, sizeof er->msg);
    return VG_OK;
}

/* Moves the line's tags and fields from scratch into one arena block. */
static bool commit_line(lp_ctx *c, lp_line *ln)
{
    size_t tb = (size_t)c->ntags * sizeof(lp_tag), fb = (size_t)c->nfields * sizeof(lp_field);
    char *mem = vg_arena_alloc(c->arena, tb + fb);
    if (!mem)
        return false;
    memcpy(mem, c->tags, tb);
    memcpy(mem + tb, c->fields, fb);
    ln->tags = c->ntags ? (lp_tag *)mem : NULL;
    ln->ntags = c->ntags;
    ln->fields = (lp_field *)(mem + tb);
    ln->nfields = c->nfields;
    ln->line_no = c->line_no;
    ln->text = c->ls;
    ln->text_len = (uint32_t)(c->le - c->ls);
    c->out->nlines++;
    return true;
}

static int parse_body(lp_ctx *c, const char *body, size_t len, bool stop_at_first_error)
{
    lp_batch *out = c->out;
    const char *p = body, *end = body + len;
    /* A first guess at the line count keeps array regrowth to a step or two. */
    size_t first = len / 128 + 16;
    if (first > 65536)
        first = 65536;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r')
            le--;
        c->line_no++;
        c->ls = p;
        c->le = le;
        p = nl ? nl + 1 : end;

        const char *s = c->ls;
        while (s < le && (*s == ' ' || *s == '\t'))
            s++;
        if (s == le || *s == '#')
            continue;

        if (out->nlines == out->caps[0] && !grow_array(c->arena, (void **)&out->lines, out->nlines,
                                                       &out->caps[0], sizeof(lp_line), first))
            return VG_ENOMEM;
        lp_line *ln = &out->lines[out->nlines];
        int r = parse_line(c, s, le, ln);
        if (r == P_OK) {
            if (!commit_line(c, ln))
                return VG_ENOMEM;
            continue;
        }
        if (r == P_NOMEM || add_error(c) != VG_OK)
            return VG_ENOMEM;
        if (stop_at_first_error)
            break;
    }
    return VG_OK;
}

int lp_parse(const char *body, size_t len, const lp_options *opt, vg_arena *arena, lp_batch *out)
{
    memset(out, 0, sizeof *out);
    lp_ctx ctx, *c = &ctx;
    memset(c, 0, offsetof(lp_ctx, tags_stack));
    c->arena = arena;
    c->out = out;
    c->body_end = len ? body + len : body; /* NULL + 0 is undefined */
    c->tags = c->tags_stack;
    c->tags_cap = TAGS_STACK;
    c->fields = c->fields_stack;
    c->fields_cap = FIELDS_STACK;

    int rc = len ? parse_body(c, body, len, opt && opt->stop_at_first_error) : VG_OK;

    if (c->tags != c->tags_stack)
        vg_free(c->tags);
    if (c->fields != c->fields_stack)
        vg_free(c->fields);
    vg_free(c->dup_tab);
    vg_free(c->key_buf);
    return rc;
}
