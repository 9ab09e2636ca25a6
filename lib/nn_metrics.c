/* nn_metrics.c — regression metrics (definitions in nn_metrics.h). */
#include "nn_metrics.h"

#include <math.h>

nn_metrics nn_metrics_compute(const double *y, const double *p, size_t n, size_t stride) {
    nn_metrics m = {NAN, NAN, NAN, NAN, NAN, n};
    if (n == 0) return m;
    double sy = 0;
    for (size_t i = 0; i < n; i++) sy += y[i * stride];
    double mean = sy / (double)n;
    double ss_res = 0, ss_tot = 0, sabs = 0, sape = 0;
    size_t n_ape = 0;
    for (size_t i = 0; i < n; i++) {
        double yi = y[i * stride], r = yi - p[i * stride];
        ss_res += r * r;
        ss_tot += (yi - mean) * (yi - mean);
        sabs += fabs(r);
        if (yi != 0) {
            sape += fabs(r) / fabs(yi);
            n_ape++;
        }
    }
    m.mse = ss_res / (double)n;
    m.rmse = sqrt(m.mse);
    m.mae = sabs / (double)n;
    m.mape = n_ape ? 100.0 * sape / (double)n_ape : NAN;
    m.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : NAN;
    return m;
}

void nn_mean_sd(const double *x, size_t n, double *mean, double *sd) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double mu = n ? s / (double)n : NAN;
    double v = 0;
    for (size_t i = 0; i < n; i++) v += (x[i] - mu) * (x[i] - mu);
    *mean = mu;
    *sd = n > 1 ? sqrt(v / (double)(n - 1)) : 0.0;
}
