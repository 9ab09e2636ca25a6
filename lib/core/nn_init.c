/* nn_init.c — parameter initializers. */
#include "nn_init.h"

#include <math.h>
#include <string.h>

NN_ENUM_DEFINE(nn_init, nn_init, NN_INIT_TABLE, NN_INIT_COUNT)

static void fill_uniform(nn_float *x, size_t n, double lo, double hi, nn_rng *rng) {
    for (size_t i = 0; i < n; i++) x[i] = (nn_float)(lo + (hi - lo) * nn_rng_uniform(rng));
}

static void fill_normal(nn_float *x, size_t n, double sd, nn_rng *rng) {
    for (size_t i = 0; i < n; i++) x[i] = (nn_float)(sd * nn_rng_normal(rng));
}

void nn_init_fill(nn_init init, nn_float *x, size_t n, int fan_in, int fan_out, nn_rng *rng) {
    double fi = fan_in, fo = fan_out;
    switch (init) {
    case NN_INIT_ZEROS:
        for (size_t i = 0; i < n; i++) x[i] = 0;
        break;
    case NN_INIT_UNIFORM:
        fill_uniform(x, n, 0.0, 1.0, rng);
        break;
    case NN_INIT_UNIFORM_SIGNED:
        fill_uniform(x, n, -1.0, 1.0, rng);
        break;
    case NN_INIT_GLOROT_UNIFORM: {
        double l = sqrt(6.0 / (fi + fo));
        fill_uniform(x, n, -l, l, rng);
        break;
    }
    case NN_INIT_HE_UNIFORM: {
        double l = sqrt(6.0 / fi);
        fill_uniform(x, n, -l, l, rng);
        break;
    }
    case NN_INIT_GLOROT_NORMAL:
        fill_normal(x, n, sqrt(2.0 / (fi + fo)), rng);
        break;
    case NN_INIT_HE_NORMAL:
        fill_normal(x, n, sqrt(2.0 / fi), rng);
        break;
    default:
        break;
    }
}
