/* nn_init.c — parameter initializers. */
#include "nn_init.h"

#include <math.h>
#include <string.h>

#define NN__INIT_TEXT(name, text) text,
static const char *const init_names[] = {NN_INIT_TABLE(NN__INIT_TEXT)};
#undef NN__INIT_TEXT

const char *nn_init_name(nn_init init) {
    return (init >= 0 && init < NN_INIT_COUNT) ? init_names[init] : "?";
}

int nn_init_from_name(const char *name, nn_init *out) {
    for (int i = 0; i < NN_INIT_COUNT; i++) {
        if (strcmp(name, init_names[i]) == 0) {
            *out = (nn_init)i;
            return 0;
        }
    }
    return -1;
}

const char *nn_init_names(void) {
    return "zeros, uniform, uniform_signed, glorot_uniform, he_uniform, glorot_normal, he_normal";
}

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
