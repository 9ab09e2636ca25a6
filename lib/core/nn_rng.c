/* nn_rng.c — xoshiro256** seeded by SplitMix64; see nn_rng.h for the derivation. */
#include "nn_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void nn_rng_init(nn_rng *rng, uint64_t seed, uint64_t stream) {
    uint64_t x = seed;
    uint64_t h = splitmix64(&x) ^ (stream * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&h);
    rng->spare = 0.0;
    rng->has_spare = 0;
}

uint64_t nn_rng_u64(nn_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nn_rng_uniform(nn_rng *rng) { return (double)(nn_rng_u64(rng) >> 11) * 0x1.0p-53; }

double nn_rng_normal(nn_rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u1 = 1.0 - nn_rng_uniform(rng); /* (0, 1]: log is finite */
    double u2 = nn_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double a = 6.283185307179586476925286766559 * u2;
    rng->spare = r * sin(a);
    rng->has_spare = 1;
    return r * cos(a);
}

uint64_t nn_rng_below(nn_rng *rng, uint64_t n) {
    /* Lemire, "Fast random integer generation in an interval" (2019). */
    unsigned __int128 m = (unsigned __int128)nn_rng_u64(rng) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            m = (unsigned __int128)nn_rng_u64(rng) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void nn_rng_shuffle(nn_rng *rng, size_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nn_rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
