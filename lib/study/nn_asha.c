/* nn_asha.c — rung epochs and promotion decisions (see nn_asha.h). */
#include "nn_asha.h"

#include <math.h>

int nn_asha_rungs(int epochs, int min_epochs, int eta, int *out, int max) {
    int n = 0;
    if (min_epochs > 0 && eta >= 2)
        for (long long e = min_epochs; e < epochs && n < max - 1; e *= eta) out[n++] = (int)e;
    if (n < max) out[n++] = epochs;
    return n;
}

/* a better than b in the direction (NaN is never better). */
static int better(double a, double b, int maximize) { return maximize ? a > b : a < b; }

int nn_asha_promote(const double *values, size_t n, int eta, int maximize) {
    if (n == 0 || isnan(values[n - 1])) return 0;
    double v = values[n - 1];
    size_t k = n / (size_t)eta; /* promote the top k; at least the best */
    if (k == 0) k = 1;
    /* v is promoted when fewer than k values are strictly better than it */
    size_t ahead = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (!isnan(values[i]) && better(values[i], v, maximize)) ahead++;
    return ahead < k;
}
