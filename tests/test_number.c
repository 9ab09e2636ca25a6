/* test_number — nn_number_parse against strtod, bit for bit.
 *
 * strtod (glibc, correctly rounded) is the reference: for every string, nn_number_parse must
 * accept it exactly when strtod consumes all of it — for the decimal strings both know; strtod
 * also reads hex, inf and nan, which the alphabet of the random strings leaves out and the edge
 * cases check apart — and then give the same bits. The strings: edge cases (signs, -0, leading
 * zeros, 15–20 significant digits, halfway cases, the largest and smallest normal and subnormal
 * doubles, overflow and underflow, long mantissas, huge exponents), random doubles printed with
 * every precision in %e, %f and %g, random digit strings with random points and exponents, and
 * random strings over the number characters (mostly not numbers).
 */
#include "check.h"
#include "nn_number.h"
#include "nn_rng.h"

#include <stdint.h>
#include <stdlib.h>

/* Checks one string; returns 1 if it agreed with strtod. */
static int agrees(const char *s) {
    size_t n = strlen(s);
    char *end = NULL;
    double ref = strtod(s, &end);
    int ref_ok = n > 0 && end == s + n;
    double got = 12345.0;
    int ok = nn_number_parse(s, n, &got);
    if (ok != ref_ok || (ok && memcmp(&got, &ref, sizeof got) != 0)) {
        fprintf(stderr, "  \"%s\": nn_number_parse %d %.17g (%a), strtod %d %.17g (%a)\n", s, ok,
                got, got, ref_ok, ref, ref);
        return 0;
    }
    return 1;
}

static void test_edge_cases(void) {
    static const char *const cases[] = {"0",
                                        "-0",
                                        "+0",
                                        "0.0",
                                        "-0.0",
                                        "00",
                                        "007",
                                        "-007",
                                        "0e0",
                                        "0e-999999",
                                        "-0e+5",
                                        "1",
                                        "-1",
                                        "+1",
                                        "1.",
                                        ".5",
                                        "-.5",
                                        "+.5e1",
                                        "5.e-1",
                                        "1e5",
                                        "1E5",
                                        "1e+5",
                                        "1e-5",
                                        "1.5e308",
                                        "1.7976931348623157e308",
                                        "1.7976931348623158e308",
                                        "1.7976931348623159e308",
                                        "1e309",
                                        "-1e309",
                                        "1e999999999999",
                                        "2.2250738585072014e-308",
                                        "2.2250738585072011e-308",
                                        "4.9406564584124654e-324",
                                        "4.9e-324",
                                        "5e-324",
                                        "2.4703282292062327e-324",
                                        "2.4703282292062328e-324",
                                        "2.4703282292062326e-324",
                                        "1e-330",
                                        "1e-400",
                                        "9007199254740992",
                                        "9007199254740993",
                                        "9007199254740994",
                                        "9007199254740995",
                                        "18446744073709551615",
                                        "18446744073709551616",
                                        "123456789012345678901234567890",
                                        "0.1",
                                        "0.2",
                                        "0.3",
                                        "0.30000000000000004",
                                        "3.0000000000000004e-1",
                                        "1e22",
                                        "1e23",
                                        "9e22",
                                        "1.7e37",
                                        "123456789e30",
                                        "4503599627370496.5",
                                        "4503599627370497.5",
                                        "0.000000000000000000000000000000000000001",
                                        "100000000000000000000000000000000",
                                        "1.00000000000000011102230246251565404236316680908203125",
                                        "1.00000000000000011102230246251565404236316680908203124",
                                        "1.00000000000000011102230246251565404236316680908203126",
                                        "2.5",
                                        "0.5e1",
                                        "12.34e-2",
                                        "1e",
                                        "1e+",
                                        "1e-",
                                        "e5",
                                        ".",
                                        "-",
                                        "+",
                                        "",
                                        "..5",
                                        "1..5",
                                        "1.5.",
                                        "1e5.5",
                                        "1e5e5",
                                        "--1",
                                        "+-1",
                                        "1-",
                                        "1+1",
                                        "1 ",
                                        "1,5",
                                        "1_000"};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) bad += !agrees(cases[i]);
    CHECK(bad == 0);
    /* strtod reads these; they are not decimal numbers */
    static const char *const not_decimal[] = {"0x10", "0X1p3",  "inf", "-Infinity",
                                              "nan",  "nan(1)", " 1",  "\t-2"};
    for (size_t i = 0; i < sizeof not_decimal / sizeof *not_decimal; i++) {
        double v;
        CHECK(nn_number_parse(not_decimal[i], strlen(not_decimal[i]), &v) == 0);
    }
    /* more than the stack copy: 300 digits */
    char long_num[400];
    memset(long_num, '7', 300);
    memcpy(long_num + 300, ".25e-290", 9);
    CHECK(agrees(long_num));
}

static void test_random_doubles_in_every_format(void) {
    nn_rng rng;
    nn_rng_init(&rng, 2024, 1);
    int bad = 0;
    char buf[128];
    for (int k = 0; k < 20000; k++) {
        uint64_t bits = nn_rng_u64(&rng);
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x)) continue;
        if (k % 3 == 0) x = (nn_rng_uniform(&rng) - 0.5) * pow(10, (double)nn_rng_below(&rng, 40));
        int prec = (int)nn_rng_below(&rng, 20);
        switch (k % 3) {
        case 0:
            (void)snprintf(buf, sizeof buf, "%.*g", prec + 1, x);
            break;
        case 1:
            (void)snprintf(buf, sizeof buf, "%.*e", prec, x);
            break;
        default:
            if (fabs(x) > 1e60) continue;
            (void)snprintf(buf, sizeof buf, "%.*f", prec, x);
            break;
        }
        bad += !agrees(buf);
    }
    CHECK(bad == 0);
}

static void test_random_digit_strings(void) {
    nn_rng rng;
    nn_rng_init(&rng, 7, 2);
    int bad = 0;
    char buf[128];
    for (int k = 0; k < 50000; k++) {
        size_t len = 0;
        if (nn_rng_below(&rng, 4) == 0) buf[len++] = nn_rng_below(&rng, 2) ? '-' : '+';
        size_t digits = 1 + nn_rng_below(&rng, 25), point = nn_rng_below(&rng, digits + 2);
        for (size_t d = 0; d < digits; d++) {
            if (d == point) buf[len++] = '.';
            /* runs of zeros and nines make halfway and carry cases */
            uint64_t r = nn_rng_below(&rng, 10);
            buf[len++] = (char)(r < 3 ? '0' : r < 5 ? '9' : '0' + (int)nn_rng_below(&rng, 10));
        }
        if (nn_rng_below(&rng, 2)) {
            len += (size_t)snprintf(buf + len, sizeof buf - len, "e%d",
                                    (int)nn_rng_below(&rng, 700) - 350);
        }
        buf[len] = '\0';
        bad += !agrees(buf);
    }
    CHECK(bad == 0);
}

static void test_random_strings_of_number_characters(void) {
    static const char alphabet[] = "0123456789+-.eE";
    nn_rng rng;
    nn_rng_init(&rng, 11, 3);
    int bad = 0, numbers = 0;
    char buf[32];
    for (int k = 0; k < 100000; k++) {
        size_t len = 1 + nn_rng_below(&rng, 12);
        for (size_t i = 0; i < len; i++) buf[i] = alphabet[nn_rng_below(&rng, sizeof alphabet - 1)];
        buf[len] = '\0';
        double v;
        numbers += nn_number_parse(buf, len, &v);
        bad += !agrees(buf);
    }
    CHECK(bad == 0);
    CHECK(numbers > 1000); /* the test did see numbers */
}

/* The string need not be terminated: what follows it is not read. */
static void test_length_bounds_the_string(void) {
    double v = 0;
    CHECK(nn_number_parse("12345", 3, &v) == 1 && v == 123);
    CHECK(nn_number_parse("1.5e3x", 5, &v) == 1 && v == 1.5e3);
    CHECK(nn_number_parse("1e", 1, &v) == 1 && v == 1);
    v = 7;
    CHECK(nn_number_parse("1e", 2, &v) == 0 && v == 7);
}

int main(void) {
    RUN(test_edge_cases);
    RUN(test_random_doubles_in_every_format);
    RUN(test_random_digit_strings);
    RUN(test_random_strings_of_number_characters);
    RUN(test_length_bounds_the_string);
    return check_summary();
}
