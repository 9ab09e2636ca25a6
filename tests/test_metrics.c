/* test_metrics — metrics against values computed by hand. */
#include "check.h"
#include "nn_metrics.h"

/* y = (1, 2, 3, 4), p = (1.5, 2, 2, 5): residuals (−0.5, 0, 1, −1)
 *   mse = (0.25 + 0 + 1 + 1)/4 = 0.5625, rmse = 0.75, mae = 2.5/4 = 0.625
 *   mape = 100·(0.5/1 + 0 + 1/3 + 1/4)/4 = 27.0833…
 *   ȳ = 2.5, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5 → r2 = 1 − 2.25/5 = 0.55 */
static void test_hand_computed_metrics(void) {
    double y[] = {1, 2, 3, 4}, p[] = {1.5, 2, 2, 5};
    nn_metrics m = nn_metrics_compute(y, p, 4, 1);
    CHECK_NEAR(m.mse, 0.5625, 1e-15);
    CHECK_NEAR(m.rmse, 0.75, 1e-15);
    CHECK_NEAR(m.mae, 0.625, 1e-15);
    CHECK_NEAR(m.mape, 100.0 * (0.5 + 1.0 / 3 + 0.25) / 4, 1e-12);
    CHECK_NEAR(m.r2, 0.55, 1e-15);
    CHECK(m.n == 4);
}

/* R² is normalized by the variance of the TRUE values: swapping arguments changes it. */
static void test_r2_is_not_symmetric(void) {
    double y[] = {1, 2, 3, 4}, p[] = {1.5, 2, 2, 5};
    nn_metrics a = nn_metrics_compute(y, p, 4, 1), b = nn_metrics_compute(p, y, 4, 1);
    CHECK(fabs(a.r2 - b.r2) > 0.01);
}

static void test_stride_and_degenerate(void) {
    double yp[] = {1, 9, 2, 9, 3, 9}; /* y at even, junk at odd */
    nn_metrics m = nn_metrics_compute(yp, yp, 3, 2);
    CHECK_NEAR(m.mse, 0, 0);
    CHECK_NEAR(m.r2, 1, 0);
    double c[] = {5, 5, 5};
    CHECK(isnan(nn_metrics_compute(c, c, 3, 1).r2));
    double mean, sd;
    double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    nn_mean_sd(x, 8, &mean, &sd);
    CHECK_NEAR(mean, 5, 1e-15);
    CHECK_NEAR(sd, sqrt(32.0 / 7), 1e-15);
}

/* x = (1, NaN, 4, 2, 3): sorted (1, 2, 3, 4); numpy-linear quartiles at positions 0.75, 1.5,
 * 2.25 → 1.75, 2.5, 3.25; mean 2.5; population sd √((2.25 + 0.25 + 0.25 + 2.25)/4) = √1.25. */
static void test_summary_five_numbers(void) {
    double x[] = {1, NAN, 4, 2, 3};
    nn_summary s;
    CHECK(nn_summarize(x, 5, &s) == 0);
    CHECK(s.n == 4 && s.missing == 1);
    CHECK_NEAR(s.min, 1, 0);
    CHECK_NEAR(s.q1, 1.75, 1e-15);
    CHECK_NEAR(s.median, 2.5, 1e-15);
    CHECK_NEAR(s.q3, 3.25, 1e-15);
    CHECK_NEAR(s.max, 4, 0);
    CHECK_NEAR(s.mean, 2.5, 1e-15);
    CHECK_NEAR(s.sd, sqrt(1.25), 1e-15);
    double none[] = {NAN, NAN};
    CHECK(nn_summarize(none, 2, &s) == 0);
    CHECK(s.n == 0 && s.missing == 2 && isnan(s.median));
}

int main(void) {
    RUN(test_summary_five_numbers);
    RUN(test_hand_computed_metrics);
    RUN(test_r2_is_not_symmetric);
    RUN(test_stride_and_degenerate);
    return check_summary();
}
