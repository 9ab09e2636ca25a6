/* nn_metrics.h — regression metrics.
 *
 * For true values y and predictions p over n rows (sums in double):
 *   mse = Σ(y − p)² / n     rmse = √mse     mae = Σ|y − p| / n
 *   mape = 100 · Σ_{y≠0} |y − p| / |y| / #{y ≠ 0}
 *   r2 = 1 − Σ(y − p)² / Σ(y − ȳ)²      (the standard definition, around the mean of the TRUE
 *                                         values; the seed framework swapped the arguments)
 * r2 is NaN when the true values have no variance.
 */
#ifndef NN_METRICS_H
#define NN_METRICS_H

#include "nn_common.h"

#include <stddef.h>

typedef struct nn_metrics {
    double mse, rmse, mae, mape, r2;
    size_t n;
} nn_metrics;

/* Metrics of p against y, reading element i at y[i * stride] and p[i * stride]. */
nn_metrics nn_metrics_compute(const double *y, const double *p, size_t n, size_t stride);

/* R² of column 0 of p against y in the training type: rows y[i * stride], p[i * stride] for
 * i < n (sums in double); NaN when y has no variance. Used on model-space matrices. */
double nn_r2_column(const nn_float *y, const nn_float *p, size_t n, size_t stride);

/* Mean and sample standard deviation (n − 1) of x[0..n); sd is 0 for n < 2. */
void nn_mean_sd(const double *x, size_t n, double *mean, double *sd);

/* q-quantile (0 ≤ q ≤ 1) of sorted v (n ≥ 1) by linear interpolation (numpy's default). */
double nn_quantile_sorted(const double *v, size_t n, double q);

/* A five-number summary plus mean and sd (population) of x's non-NaN values. */
typedef struct nn_summary {
    size_t n, missing;
    double min, q1, median, q3, max, mean, sd; /* NaN when n = 0 */
} nn_summary;

/* Summarizes x[0..n) (a sorted copy is made; returns -1 when out of memory). */
int nn_summarize(const double *x, size_t n, nn_summary *out);

#endif
