/* nn_metrics.c — regression metrics (definitions in nn_metrics.h). */
#include "nn_metrics.h"

#include <math.h>
#include <stdlib.h>

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

double nn_quantile_sorted(const double *v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n) return v[n - 1];
    double t = pos - (double)lo, a = v[lo], b = v[lo + 1];
    /* numpy's _lerp: exact at both ends and monotone */
    return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int nn_summarize(const double *x, size_t n, nn_summary *out) {
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return -1;
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        s[m++] = x[i];
        sum += x[i];
    }
    out->n = m;
    out->missing = n - m;
    if (m == 0) {
        out->min = out->q1 = out->median = out->q3 = out->max = out->mean = out->sd = NAN;
        free(s);
        return 0;
    }
    qsort(s, m, sizeof *s, cmp_double);
    out->min = s[0];
    out->max = s[m - 1];
    out->q1 = nn_quantile_sorted(s, m, 0.25);
    out->median = nn_quantile_sorted(s, m, 0.5);
    out->q3 = nn_quantile_sorted(s, m, 0.75);
    out->mean = sum / (double)m;
    double v = 0;
    for (size_t i = 0; i < m; i++) v += (s[i] - out->mean) * (s[i] - out->mean);
    out->sd = sqrt(v / (double)m);
    free(s);
    return 0;
}

double nn_r2_column(const nn_float *y, const nn_float *p, size_t n, size_t stride) {
    double s = 0, res = 0, tot = 0;
    for (size_t i = 0; i < n; i++) s += y[i * stride];
    double mean = n ? s / (double)n : 0;
    for (size_t i = 0; i < n; i++) {
        double r = (double)y[i * stride] - (double)p[i * stride], d = (double)y[i * stride] - mean;
        res += r * r;
        tot += d * d;
    }
    return tot > 0 ? 1.0 - res / tot : NAN;
}
