/*
 * query/dtoa.c: the shortest decimal that reads back as a given double, closest to it
 * among equally short ones (what lexical-core, Ryu and Dragonbox produce), computed
 * with integers only. Results print floats; snprintf + strtod loops cost ~1 us per
 * value, this ~30 ns.
 *
 * The method is Giulietti's Schubfach, derived here as follows. A double v = c * 2^q
 * rounds-to-nearest from every real in its rounding interval R = [c - 1/2, c + 1/2] *
 * 2^q (open when c is odd; [c - 1/4, ...] below a power of two). Pick k with
 * 1 <= |R| * 10^-k < 10. In units of 10^k, R holds at least one integer and at most
 * one multiple of 10. With V = v * 10^-k, s = floor(V), t = s + 1:
 *   1. if exactly one of the multiples of 10 around V (10 * floor(s / 10) and the
 *      next) lies in R, it is the shortest;
 *   2. else if exactly one of s, t lies in R, it is;
 *   3. else both do: the closer to V, ties to even.
 * Everything is compared at 4x scale (4V and the interval ends 4c +- 2 or 4c - 1, all
 * times 2^q * 10^-k) with "round to odd" values: floor(x) with bit 0 set when x is not
 * an integer. Against even integers, such a value compares exactly as x does, so every
 * test above is exact once floor(x) and "x is an integer" are known.
 *
 * Those come from x = C * g * 2^-(r - q), where g = floor(10^-k * 2^r) + 1 has 192 bits
 * and C < 2^56. The excess of g makes the product too big by less than C, i.e. below
 * bit 56 of the 256-bit product, while x itself sits at bit ~190: an integer x keeps
 * zero fraction bits above 56, and a non-integer x is never within 2^-130 of an integer
 * (its distance to integers is bounded far above that for doubles; Ryu and Schubfach
 * need only ~2^-70), so the floor and the integer test read off bits 56 and up are
 * exact. The 618 values of g are computed once, with exact big-integer arithmetic.
 */
#include "format_int.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* 10^K for K in [K_MIN, K_MAX]: K = -k for every k a double's exponent asks for. */
#define K_MIN (-292)
#define K_MAX 325

typedef struct g192 {
    uint64_t w[3]; /* little-endian: w[2] holds bits 128..191, bit 191 set */
    int r;         /* g = floor(10^-k * 2^r) + 1 */
} g192;

static g192 g_table[K_MAX - K_MIN + 1];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* ---- exact big integers, only for building the table ---- */

#define BIG_WORDS 48 /* 1536 bits: 10^325 and 2^1280 fit */

typedef struct big {
    uint32_t w[BIG_WORDS]; /* little-endian */
    int n;                 /* words in use */
} big;

static void big_mul_small(big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t x = (uint64_t)b->w[i] * m + carry;
        b->w[i] = (uint32_t)x;
        carry = x >> 32;
    }
    if (carry)
        b->w[b->n++] = (uint32_t)carry;
}

static void big_div_small(big *b, uint32_t d)
{
    uint64_t rem = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        uint64_t x = (rem << 32) | b->w[i];
        b->w[i] = (uint32_t)(x / d);
        rem = x % d;
    }
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
}

static int big_bitlen(const big *b)
{
    if (b->n == 0)
        return 0;
    uint32_t top = b->w[b->n - 1];
    int bits = 0;
    while (top) {
        bits++;
        top >>= 1;
    }
    return (b->n - 1) * 32 + bits;
}

static int big_bit(const big *b, int i)
{
    return i >= 0 && i / 32 < b->n ? (int)((b->w[i / 32] >> (i % 32)) & 1) : 0;
}

/* Sets e to floor(b * 2^(192 - bitlen(b))) + 1: b's top 192 bits, plus one. */
static void top192_plus_one(const big *b, g192 *e)
{
    int len = big_bitlen(b);
    memset(e->w, 0, sizeof e->w);
    for (int i = 0; i < 192; i++)
        if (big_bit(b, len - 192 + i))
            e->w[i / 64] |= 1ull << (i % 64);
    for (int i = 0; i < 3 && ++e->w[i] == 0; i++)
        ;
}

/* g_table[K - K_MIN] holds floor(10^K * 2^r) + 1 with bit 191 its top bit. */
static void build_table(void)
{
    /* K >= 0: 10^K is an integer; its top 192 bits. */
    big p = {{1}, 1};
    for (int K = 0; K <= K_MAX; K++) {
        g192 *e = &g_table[K - K_MIN];
        top192_plus_one(&p, e);
        e->r = 192 - big_bitlen(&p);
        big_mul_small(&p, 10);
    }
    /* K < 0: floor(2^R / 10^-K) by exact divisions by 10, with R large enough that
     * more than 192 bits remain. */
    for (int K = -1; K >= K_MIN; K--) {
        int n = -K, R = 192 + (n * 3322 + 999) / 1000 + 8;
        big b;
        memset(&b, 0, sizeof b);
        b.w[R / 32] = 1u << (R % 32);
        b.n = R / 32 + 1;
        for (int i = 0; i < n; i++)
            big_div_small(&b, 10);
        g192 *e = &g_table[K - K_MIN];
        top192_plus_one(&b, e);
        e->r = R + 192 - big_bitlen(&b);
    }
}

/* ---- the conversion ---- */

/* floor(q * log10(2)); the double product is never within 4e-4 of an integer for
 * |q| < 1100 (the nearest is q = 485), far beyond its rounding error. */
static int floor_log10_pow2(int q)
{
    return (int)floor(q * 0.30102999566398119521);
}

/* floor(log10(3/4 * 2^q)), for the narrower interval below a power of two. */
static int floor_log10_three_quarters_pow2(int q)
{
    return (int)floor(q * 0.30102999566398119521 - 0.12493873660829995313);
}

static inline void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
}

/* floor(x) with bit 0 set when x is not an integer, x = C * g / 2^s. */
static uint64_t round_to_odd(uint64_t C, const g192 *g, int s)
{
    uint64_t p[4], h0, l0, h1, l1, h2, l2;
    mul64(C, g->w[0], &h0, &l0);
    mul64(C, g->w[1], &h1, &l1);
    mul64(C, g->w[2], &h2, &l2);
    p[0] = l0;
    unsigned __int128 acc = (unsigned __int128)h0 + l1;
    p[1] = (uint64_t)acc;
    acc = (acc >> 64) + h1 + l2;
    p[2] = (uint64_t)acc;
    p[3] = (uint64_t)((acc >> 64) + h2);
    /* 64 bits from bit s (s is in 180..200, so they lie in p[2..3]). */
    int wi = s / 64, sh = s % 64;
    uint64_t v = sh ? (p[wi] >> sh) | (wi + 1 < 4 ? p[wi + 1] << (64 - sh) : 0) : p[wi];
    /* Fraction bits from 56 up to s, below which lies only the excess of g. */
    uint64_t frac = p[0] >> 56;
    for (int i = 1; i < wi; i++)
        frac |= p[i];
    if (sh)
        frac |= p[wi] & ((1ull << sh) - 1);
    return v | (frac != 0);
}

uint64_t qfmt_shortest(double v, int *exp10)
{
    pthread_once(&g_once, build_table);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t mant = bits & ((1ull << 52) - 1);
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t c = be ? mant | (1ull << 52) : mant;
    int q = be ? be - 1075 : -1074;
    bool below_pow2 = mant == 0 && be > 1;
    uint64_t out = c & 1; /* an odd c has an open interval */
    uint64_t cb = c << 2, cbr = cb + 2, cbl = below_pow2 ? cb - 1 : cb - 2;
    int k = below_pow2 ? floor_log10_three_quarters_pow2(q) : floor_log10_pow2(q);
    const g192 *g = &g_table[-k - K_MIN];
    int s = g->r - q;
    uint64_t vb = round_to_odd(cb, g, s);
    uint64_t vbl = round_to_odd(cbl, g, s);
    uint64_t vbr = round_to_odd(cbr, g, s);
    uint64_t sv = vb >> 2, t = sv + 1;
    uint64_t d;
    uint64_t sp10 = sv / 10 * 10, tp10 = sp10 + 10;
    bool up = vbl + out <= sp10 << 2, wp = (tp10 << 2) + out <= vbr;
    bool u = vbl + out <= sv << 2, w = (t << 2) + out <= vbr;
    if (up != wp)
        d = up ? sp10 : tp10;
    else if (u != w)
        d = u ? sv : t;
    else
        d = vb < ((sv + t) << 1) || (vb == ((sv + t) << 1) && !(sv & 1)) ? sv : t;
    while (d % 10 == 0) {
        d /= 10;
        k++;
    }
    *exp10 = k;
    return d;
}
