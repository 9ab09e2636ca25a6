/* nn_number.c — exact decimal parsing (see nn_number.h).
 *
 * DESIGN: one pass over the characters checks strtod's decimal grammar and collects the first
 * MAX_DIGITS significant digits into an integer m and a decimal exponent e, so that the value is
 * m · 10^e exactly when no nonzero digit was dropped. When m ≤ 2^53 (a double holds it exactly)
 * and |e| ≤ 22 (so does 10^|e|), m · 10^e or m / 10^-e is a single IEEE operation on exact
 * operands, hence correctly rounded — the value strtod returns (Clinger, 1990). Larger
 * exponents are tried as (m · 10^(e−22)) · 10^22 when the first product stays exact. Everything
 * else (17–19-digit mantissas, extreme exponents, more than 19 digits) goes to strtod, which
 * glibc rounds correctly; the grammar is checked first, so strtod only ever sees a number.
 */
#include "nn_number.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 19                      /* significant digits an uint64_t always holds */
#define MAX_EXACT_POW10 22                 /* 10^22 is the largest power of ten a double holds */
#define MANTISSA_EXACT ((uint64_t)1 << 53) /* integers up to 2^53 are exact in a double */
#define EXPONENT_CAP 100000                /* |exponent| beyond it is ±∞ or 0 anyway */
#define STACK_COPY 128                     /* bytes of the copy strtod reads, on the stack */

static const double pow10_exact[MAX_EXACT_POW10 + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* strtod on a NUL-terminated copy of s[0..n), which holds a valid decimal number. */
static int by_strtod(const char *s, size_t n, double *out) {
    char stack[STACK_COPY];
    char *copy = n < sizeof stack ? stack : malloc(n + 1);
    if (!copy) return 0;
    memcpy(copy, s, n);
    copy[n] = '\0';
    *out = strtod(copy, NULL);
    if (copy != stack) free(copy);
    return 1;
}

/* m · 10^e exactly rounded, for m ≤ 2^53 without dropped digits; 0 if this needs strtod. */
static int fast_path(uint64_t m, long e, double *v) {
    if (m > MANTISSA_EXACT) return 0;
    if (e >= 0 && e <= MAX_EXACT_POW10) {
        *v = (double)m * pow10_exact[e];
        return 1;
    }
    if (e < 0 && e >= -MAX_EXACT_POW10) {
        *v = (double)m / pow10_exact[-e];
        return 1;
    }
    /* e > 22: m · 10^(e−22) may still be an exact integer below 2^53 */
    if (e > MAX_EXACT_POW10 && e <= MAX_EXACT_POW10 + 15) {
        for (long k = e - MAX_EXACT_POW10; k > 0; k--) {
            m *= 10;
            if (m > MANTISSA_EXACT) return 0;
        }
        *v = (double)m * pow10_exact[MAX_EXACT_POW10];
        return 1;
    }
    return 0;
}

int nn_number_parse(const char *s, size_t n, double *out) {
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    uint64_t m = 0;
    int kept = 0;    /* significant digits in m */
    int dropped = 0; /* a nonzero digit beyond MAX_DIGITS */
    long e = 0;      /* value = m · 10^e (when nothing was dropped) */
    size_t first = i;
    while (i < n && s[i] == '0') i++; /* leading zeros are not significant */
    size_t sig = i;
    for (; i < n && is_digit(s[i]); i++) {
        if (i - sig < MAX_DIGITS) {
            m = m * 10 + (uint64_t)(s[i] - '0');
        } else {
            e++;
            dropped |= s[i] != '0';
        }
    }
    size_t digits = i - first; /* before and after the point */
    kept = (int)(i - sig < MAX_DIGITS ? i - sig : MAX_DIGITS);
    if (i < n && s[i] == '.') {
        size_t point = ++i;
        if (kept == 0)
            while (i < n && s[i] == '0') i++, e--;
        for (; i < n && is_digit(s[i]); i++) {
            if (kept < MAX_DIGITS) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                kept++;
                e--;
            } else {
                dropped |= s[i] != '0';
            }
        }
        digits += i - point;
    }
    if (digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        int eneg = 0;
        if (j < n && (s[j] == '+' || s[j] == '-')) eneg = s[j++] == '-';
        if (j == n || !is_digit(s[j])) return 0; /* strtod would stop before the 'e' */
        long x = 0;
        for (; j < n && is_digit(s[j]); j++)
            if (x < EXPONENT_CAP) x = x * 10 + (s[j] - '0');
        e += eneg ? -x : x;
        i = j;
    }
    if (i != n) return 0;
    if (m == 0) { /* every digit was zero */
        *out = neg ? -0.0 : 0.0;
        return 1;
    }
    double v;
    if (!dropped && fast_path(m, e, &v)) {
        *out = neg ? -v : v;
        return 1;
    }
    return by_strtod(s, n, out);
}
