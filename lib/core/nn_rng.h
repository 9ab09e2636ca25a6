/* nn_rng.h — seeded random streams.
 *
 * DESIGN: every random draw in libnn (initialization, shuffling, dropout, fold assignment) comes
 * from an nn_rng that the caller owns and derives from (seed, stream id). The generator is
 * xoshiro256** (Blackman & Vigna, 2018); its 256-bit state is filled by SplitMix64 from
 *     h = splitmix64(seed) XOR (stream * 0xD1B54A32D192ED03)
 * so that streams with different ids are independent for practical purposes. A draw depends only
 * on (seed, stream, number of draws before it), never on threads or timing, which is what makes
 * training bit-reproducible. Uniform doubles take the top 53 bits; normals use Box–Muller with
 * both values of a pair consumed in order.
 */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_rng {
    uint64_t s[4];
    double spare; /* second Box–Muller value, valid when has_spare */
    int has_spare;
} nn_rng;

/* Stream ids: NN_STREAM(group, purpose), group 0 for a whole job, fold + 1 for a fold's own
 * streams, so that each fold draws the same numbers whichever thread runs it. */
#define NN_STREAM(group, purpose) (((uint64_t)(group) << 8) | (uint64_t)(purpose))
enum {
    NN_STREAM_INIT = 1,    /* weight and bias initialization */
    NN_STREAM_SHUFFLE = 2, /* mini-batch order */
    NN_STREAM_DROPOUT = 3, /* dropout masks */
    NN_STREAM_FOLDS = 4,   /* fold assignment */
    NN_STREAM_PERMUTE = 5, /* permutation importance */
};

void nn_rng_init(nn_rng *rng, uint64_t seed, uint64_t stream);
uint64_t nn_rng_u64(nn_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double nn_rng_uniform(nn_rng *rng);
/* Standard normal N(0, 1). */
double nn_rng_normal(nn_rng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias (Lemire's method). */
uint64_t nn_rng_below(nn_rng *rng, uint64_t n);
/* Fisher–Yates shuffle of idx[0..n). */
void nn_rng_shuffle(nn_rng *rng, size_t *idx, size_t n);

#endif
