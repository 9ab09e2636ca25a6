/* test_loss — cross-entropy from logits against hand-computed values, its finiteness at logits
 * of ±1000, probabilities from logits, and nn_loss_batch equal to nn_loss_eval for regression. */
#include "check.h"
#include "nn_loss.h"

/* One output, logits (0, 2, −1), targets (1, 0, 1):
 *   ℓ = log(1 + e^−z) for y = 1, log(1 + e^z) for y = 0
 *     = log 2, log(1 + e²), log(1 + e) → mean; ∂ℓ/∂z = σ(z) − y, /3 */
static void test_binary_cross_entropy_values(void) {
    const nn_float z[] = {0, 2, -1}, y[] = {1, 0, 1};
    nn_float g[3];
    nn_loss ce = {.kind = NN_LOSS_CROSS_ENTROPY};
    double want = (log(2.0) + log(1 + exp(2.0)) + log(1 + exp(1.0))) / 3;
    CHECK_NEAR(nn_loss_batch(&ce, z, y, 3, 1, g), want, 1e-7);
    CHECK_NEAR(g[0], (0.5 - 1) / 3, 1e-7);
    CHECK_NEAR(g[1], (1 / (1 + exp(-2.0))) / 3, 1e-7);
    CHECK_NEAR(g[2], (1 / (1 + exp(1.0)) - 1) / 3, 1e-7);
    /* smoothing ε = 0.2: targets 0.9, 0.1, 0.9; class weights (w0, w1) = (2, 0.5) */
    ce.label_smoothing = 0.2;
    const double w[2] = {2, 0.5};
    ce.class_weight = w;
    double l0 = 0.9 * log(2.0) + 0.1 * log(2.0);
    double l1 = 0.1 * log(1 + exp(-2.0)) + 0.9 * log(1 + exp(2.0));
    double l2 = 0.9 * log(1 + exp(1.0)) + 0.1 * log(1 + exp(-1.0));
    CHECK_NEAR(nn_loss_batch(&ce, z, y, 3, 1, g), (0.5 * l0 + 2 * l1 + 0.5 * l2) / 3, 1e-6);
    CHECK_NEAR(g[1], 2 * (1 / (1 + exp(-2.0)) - 0.1) / 3, 1e-7);
}

/* Three outputs, logits (1, 2, 3) for class 2 and (0, 0, 0) for class 0:
 *   ℓ = lse − z_y = log(e + e² + e³) − 3 and log 3; ∂ℓ/∂z = softmax − onehot */
static void test_softmax_cross_entropy_values(void) {
    const nn_float z[] = {1, 2, 3, 0, 0, 0}, y[] = {0, 0, 1, 1, 0, 0};
    nn_float g[6];
    nn_loss ce = {.kind = NN_LOSS_CROSS_ENTROPY};
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    CHECK_NEAR(nn_loss_batch(&ce, z, y, 2, 3, g), ((lse - 3) + log(3.0)) / 2, 1e-6);
    CHECK_NEAR(g[0], exp(1 - lse) / 2, 1e-7);
    CHECK_NEAR(g[2], (exp(3 - lse) - 1) / 2, 1e-7);
    CHECK_NEAR(g[3], (1.0 / 3 - 1) / 2, 1e-7);
    CHECK_NEAR(g[4], (1.0 / 3) / 2, 1e-7);
}

/* Logits of ±1000 (what a diverging network gives) stay finite, and right: a confident right
 * answer costs ~0, a confident wrong one ~1000. */
static void test_extreme_logits_are_finite(void) {
    const nn_float zb[] = {1000, -1000, 1000}, yb[] = {1, 0, 0};
    nn_float g[6];
    nn_loss ce = {.kind = NN_LOSS_CROSS_ENTROPY};
    double l = nn_loss_batch(&ce, zb, yb, 3, 1, g);
    CHECK(isfinite(l));
    CHECK_NEAR(l, 1000.0 / 3, 1e-3);
    for (int i = 0; i < 3; i++) CHECK(isfinite(g[i]));
    CHECK_NEAR(g[2], 1.0 / 3, 1e-7);
    const nn_float zs[] = {1000, -1000, 0, -1000, 1000, 1000}, ys[] = {1, 0, 0, 1, 0, 0};
    l = nn_loss_batch(&ce, zs, ys, 2, 3, g);
    CHECK(isfinite(l));
    CHECK_NEAR(l, (0 + 2000 + log(2.0)) / 2, 1e-3);
    for (int i = 0; i < 6; i++) CHECK(isfinite(g[i]));
    double p[6];
    nn_loss_probs(zs, 2, 3, p);
    CHECK_NEAR(p[0], 1, 1e-15);
    CHECK_NEAR(p[4], 0.5, 1e-15);
    CHECK(p[3] >= 0 && p[3] < 1e-300);
    nn_loss_probs(zb, 3, 1, p);
    CHECK(p[0] == 0 || p[0] < 1e-300);
    CHECK_NEAR(p[1], 1, 0);
    CHECK_NEAR(p[2], 1, 0);
}

/* Probabilities in double sum to 1 within 1e-12 for any logits. */
static void test_probabilities_sum_to_one(void) {
    nn_float z[40];
    for (int i = 0; i < 40; i++) z[i] = (nn_float)(sin(i * 1.7) * 30);
    double p[80];
    nn_loss_probs(z, 8, 5, p);
    for (int i = 0; i < 8; i++) {
        double s = 0;
        for (int j = 0; j < 5; j++) s += p[i * 5 + j];
        CHECK_NEAR(s, 1, 1e-12);
    }
    nn_loss_probs(z, 40, 1, p);
    for (int i = 0; i < 20; i++) CHECK_NEAR(p[2 * i] + p[2 * i + 1], 1, 1e-15);
    CHECK_NEAR(p[1], 0.5, 1e-15); /* z[0] = 0 */
}

/* The regression path through nn_loss_batch gives nn_loss_eval's numbers bit for bit. */
static void test_batch_is_eval_for_regression(void) {
    const nn_float p[] = {2, -1, 0.7f, 3, 0.25f, -4}, y[] = {1, 2, 0.5f, 0, 0, 1};
    for (int k = 0; k < 3; k++) {
        nn_loss l = {.kind = (nn_loss_kind)k, .delta = 1.5};
        nn_float g1[6], g2[6];
        double a = nn_loss_batch(&l, p, y, 3, 2, g1), b = nn_loss_eval(&l, p, y, 6, g2, 6);
        CHECK(a == b);
        CHECK(memcmp(g1, g2, sizeof g1) == 0);
    }
}

int main(void) {
    RUN(test_binary_cross_entropy_values);
    RUN(test_softmax_cross_entropy_values);
    RUN(test_extreme_logits_are_finite);
    RUN(test_probabilities_sum_to_one);
    RUN(test_batch_is_eval_for_regression);
    return check_summary();
}
