/* test_rng — seeded streams: deterministic, independent per stream, correctly distributed. */
#include "check.h"
#include "nn_rng.h"

#include <stdlib.h>

static void test_same_seed_and_stream_same_draws(void) {
    nn_rng a, b, c, d;
    nn_rng_init(&a, 42, 1);
    nn_rng_init(&b, 42, 1);
    nn_rng_init(&c, 42, 2);
    nn_rng_init(&d, 43, 1);
    int eq_ab = 1, eq_ac = 0, eq_ad = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = nn_rng_u64(&a), y = nn_rng_u64(&b), z = nn_rng_u64(&c), w = nn_rng_u64(&d);
        eq_ab &= x == y;
        eq_ac += x == z;
        eq_ad += x == w;
    }
    CHECK(eq_ab);
    CHECK(eq_ac == 0);
    CHECK(eq_ad == 0);
}

static void test_uniform_and_normal_moments(void) {
    nn_rng r;
    nn_rng_init(&r, 7, 3);
    enum { N = 200000 };
    double su = 0, su2 = 0, sn = 0, sn2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        double u = nn_rng_uniform(&r), n = nn_rng_normal(&r);
        su += u, su2 += u * u, sn += n, sn2 += n * n;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    CHECK(lo >= 0 && hi < 1);
    CHECK_NEAR(su / N, 0.5, 0.005);
    CHECK_NEAR(su2 / N - (su / N) * (su / N), 1.0 / 12, 0.002);
    CHECK_NEAR(sn / N, 0.0, 0.01);
    CHECK_NEAR(sn2 / N, 1.0, 0.02);
}

static void test_below_and_shuffle(void) {
    nn_rng r;
    nn_rng_init(&r, 1, 1);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t k = nn_rng_below(&r, 7);
        CHECK(k < 7);
        if (k < 7) counts[k]++;
    }
    for (int i = 0; i < 7; i++) CHECK_NEAR(counts[i], 10000, 400);
    size_t idx[100];
    for (size_t i = 0; i < 100; i++) idx[i] = i;
    nn_rng_shuffle(&r, idx, 100);
    int seen[100] = {0}, moved = 0;
    for (size_t i = 0; i < 100; i++) {
        if (idx[i] < 100) seen[idx[i]]++;
        moved += idx[i] != i;
    }
    int perm = 1;
    for (int i = 0; i < 100; i++) perm &= seen[i] == 1;
    CHECK(perm);
    CHECK(moved > 80);
}

int main(void) {
    RUN(test_same_seed_and_stream_same_draws);
    RUN(test_uniform_and_normal_moments);
    RUN(test_below_and_shuffle);
    return check_summary();
}
