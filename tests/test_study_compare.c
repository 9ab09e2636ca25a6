/* test_study_compare.c — the corrected resampled t-test: the statistic worked out by hand, and
 * Student's t tail checked against a numerical integral of the density (Simpson's rule). */
#include "check.h"
#include "nn_compare.h"

#include <math.h>

static double t_density(double x, double df) {
    return exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / sqrt(df * 3.14159265358979323846) *
           pow(1 + x * x / df, -(df + 1) / 2);
}

/* 2 · ∫_|t|^∞ density, as 1 − 2 · ∫_0^|t| (Simpson, 20000 intervals). */
static double tail_by_integral(double t, double df) {
    int n = 20000;
    double h = fabs(t) / n, s = t_density(0, df) + t_density(fabs(t), df);
    for (int i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * t_density(i * h, df);
    return 1 - 2 * s * h / 3;
}

static void test_student_t_tail(void) {
    static const double ts[] = {0.1, 0.5, 1, 2, 2.776445, 4, 8};
    static const double dfs[] = {1, 2, 4, 7, 30};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        for (size_t j = 0; j < sizeof dfs / sizeof dfs[0]; j++)
            CHECK_NEAR(nn_student_t_two_sided(ts[i], dfs[j]), tail_by_integral(ts[i], dfs[j]),
                       1e-7);
    CHECK_NEAR(nn_student_t_two_sided(2.776445, 4), 0.05, 1e-6); /* the table's t(0.975, 4) */
    CHECK_NEAR(nn_student_t_two_sided(0, 5), 1, 1e-12);
    CHECK_NEAR(nn_student_t_two_sided(-2, 4), nn_student_t_two_sided(2, 4), 1e-15);
    CHECK(nn_student_t_two_sided(INFINITY, 3) == 0);
    /* t with 1 df is Cauchy: p = 1 − 2·atan(t)/π */
    CHECK_NEAR(nn_student_t_two_sided(3, 1), 1 - 2 * atan(3.0) / 3.14159265358979323846, 1e-12);
    /* t with 2 df: p = 1 − t / sqrt(2 + t²) */
    CHECK_NEAR(nn_student_t_two_sided(1.5, 2), 1 - 1.5 / sqrt(2 + 2.25), 1e-12);
}

static void test_compare_folds(void) {
    /* differences 0.01, 0.03, 0.02, 0.04, 0.00: mean 0.02, var 0.00025; 5 folds of 100 rows:
       n_test/n_train = 100/400; t = 0.02 / sqrt((0.2 + 0.25) · 0.00025) */
    double a[5] = {0.81, 0.83, 0.82, 0.84, 0.80}, b[5] = {0.80, 0.80, 0.80, 0.80, 0.80};
    nn_fold_comparison c;
    nn_error err;
    CHECK(nn_compare_folds(a, b, 5, 100, 400, &c, &err) == NN_OK);
    CHECK(c.k == 5 && c.df == 4);
    CHECK_NEAR(c.mean, 0.02, 1e-12);
    CHECK_NEAR(c.sd, sqrt(0.00025), 1e-12);
    double t = 0.02 / sqrt(0.45 * 0.00025);
    CHECK_NEAR(c.t, t, 1e-9);
    CHECK_NEAR(c.p, tail_by_integral(t, 4), 1e-7);
    /* the uncorrected paired t-test would give 0.02 / sqrt(0.00025 / 5) = 2.83: more eager */
    CHECK(c.t < 0.02 / sqrt(0.00025 / 5));
    CHECK(nn_compare_folds(b, a, 5, 100, 400, &c, &err) == NN_OK);
    CHECK_NEAR(c.t, -t, 1e-9);
    double same[2] = {0.5, 0.5};
    CHECK(nn_compare_folds(same, same, 2, 1, 1, &c, &err) == NN_OK);
    CHECK(c.t == 0 && c.p == 1);
    CHECK(nn_compare_folds(a, b, 1, 100, 400, &c, &err) == NN_ERR_INVALID);
    double bad[2] = {NAN, 1};
    CHECK(nn_compare_folds(bad, same, 2, 1, 1, &c, &err) == NN_ERR_INVALID);
}

int main(void) {
    RUN(test_student_t_tail);
    RUN(test_compare_folds);
    return check_summary();
}
