/* check.h — the test harness: CHECK macros that print file:line and both values, count
 * failures, and a main-style summary. Each test executable runs its test_* functions in order. */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double check_a_ = (double)(a), check_b_ = (double)(b);                                     \
        check_count++;                                                                             \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                               \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.17g, %s = %.17g, tol %g\n",          \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_, (double)(tol));                \
        }                                                                                          \
    } while (0)

/* Relative closeness: |a − b| ≤ tol · max(1, |a|, |b|). */
#define CHECK_REL(a, b, tol)                                                                       \
    do {                                                                                           \
        double check_a_ = (double)(a), check_b_ = (double)(b);                                     \
        double check_s_ = fmax(1.0, fmax(fabs(check_a_), fabs(check_b_)));                         \
        check_count++;                                                                             \
        if (!(fabs(check_a_ - check_b_) <= (tol)*check_s_)) {                                      \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_REL failed: %s = %.17g, %s = %.17g, tol %g\n", __FILE__, \
                    __LINE__, #a, check_a_, #b, check_b_, (double)(tol));                          \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        check_count++;                                                                             \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__,     \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");               \
        }                                                                                          \
    } while (0)

/* Substring check for error messages. */
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *check_h_ = (hay), *check_n_ = (needle);                                        \
        check_count++;                                                                             \
        if (!check_h_ || !strstr(check_h_, check_n_)) {                                            \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: \"%s\" does not contain \"%s\"\n",      \
                    __FILE__, __LINE__, check_h_ ? check_h_ : "(null)", check_n_);                 \
        }                                                                                          \
    } while (0)

#define RUN(test)                                                                                  \
    do {                                                                                           \
        int check_before_ = check_failures;                                                        \
        test();                                                                                    \
        fprintf(stderr, "%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL", #test);      \
    } while (0)

static int check_summary(void) {
    fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : (check_count ? 0 : 1);
}

#endif
