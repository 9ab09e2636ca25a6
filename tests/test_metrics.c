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

int main(void) {
    RUN(test_hand_computed_metrics);
    RUN(test_r2_is_not_symmetric);
    RUN(test_stride_and_degenerate);
    return check_summary();
}
