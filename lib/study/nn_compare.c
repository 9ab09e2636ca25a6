/* nn_compare.c — the corrected resampled t-test of two jobs' fold scores (see nn_compare.h). */
#include "nn_compare.h"

#include <math.h>

/* log Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 digits); libm's lgamma writes the global
 * signgam, so it is not thread-safe. */
static double log_gamma(double x) {
    static const double c[9] = {0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
                                771.32342877765313,   -176.61502916214059,   12.507343278686905,
                                -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
    if (x < 0.5) /* reflection: Γ(x)Γ(1 − x) = π / sin(πx) */
        return log(3.14159265358979323846 / fabs(sin(3.14159265358979323846 * x))) -
               log_gamma(1 - x);
    x -= 1;
    double a = c[0], t = x + 7.5;
    for (int i = 1; i < 9; i++) a += c[i] / (x + i);
    return 0.91893853320467274178 + (x + 0.5) * log(t) - t + log(a); /* ½ log 2π + … */
}

/* The continued fraction of the incomplete beta function (Lentz's method). */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b). */
static double beta_reg(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = log_gamma(a + b) - log_gamma(a) - log_gamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double nn_student_t_two_sided(double t, double df) {
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return 0;
    return beta_reg(df / 2, 0.5, df / (df + t * t));
}

nn_status nn_compare_folds(const double *a, const double *b, int k, double n_test, double n_train,
                           nn_fold_comparison *out, nn_error *err) {
    if (k < 2) return nn_error_set(err, NN_ERR_INVALID, "a comparison needs 2 folds or more");
    if (!(n_train > 0) || !(n_test > 0))
        return nn_error_set(err, NN_ERR_INVALID, "the folds' row counts are unknown");
    double sum = 0, ss = 0;
    for (int f = 0; f < k; f++) {
        if (!isfinite(a[f]) || !isfinite(b[f]))
            return nn_error_set(err, NN_ERR_INVALID, "fold %d has no score", f + 1);
        sum += a[f] - b[f];
    }
    double mean = sum / k;
    for (int f = 0; f < k; f++) ss += (a[f] - b[f] - mean) * (a[f] - b[f] - mean);
    double var = ss / (k - 1);
    out->k = k;
    out->mean = mean;
    out->sd = sqrt(var);
    out->df = k - 1;
    double se = sqrt((1.0 / k + n_test / n_train) * var);
    out->t = se > 0 ? mean / se : mean == 0 ? 0 : copysign(INFINITY, mean);
    out->p = nn_student_t_two_sided(out->t, out->df);
    return NN_OK;
}
