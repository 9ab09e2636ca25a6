/* test_optim — three steps of each optimizer on a fixed gradient sequence equal values worked
 * out by hand from the formulas in nn_optim.h.
 *
 * Setup for every case: p0 = (1, -2), lr = 0.1, gradients g1 = (0.5, -1), g2 = (0.25, 0.5),
 * g3 = (-1, 2). Tolerances allow for float storage of params and state (1e-6 relative).
 */
#include "check.h"
#include "nn_optim.h"

static const nn_float g_seq[3][2] = {{0.5f, -1.0f}, {0.25f, 0.5f}, {-1.0f, 2.0f}};

static void run3(nn_optim_cfg cfg, double expect[3][2]) {
    nn_optim *o = NULL;
    nn_error err = {0};
    CHECK(nn_optim_create(&cfg, 2, &o, &err) == NN_OK);
    if (!o) return;
    nn_float p[2] = {1.0f, -2.0f};
    for (int t = 0; t < 3; t++) {
        nn_optim_step(o, p, g_seq[t], 0.1);
        CHECK_REL(p[0], expect[t][0], 1e-6);
        CHECK_REL(p[1], expect[t][1], 1e-6);
    }
    CHECK(nn_optim_steps(o) == 3);
    nn_optim_destroy(o);
}

/* sgd: p ← p − lr·g
 *   p1 = (1 − 0.05, −2 + 0.1)        = (0.95, −1.9)
 *   p2 = (0.95 − 0.025, −1.9 − 0.05) = (0.925, −1.95)
 *   p3 = (0.925 + 0.1, −1.95 − 0.2)  = (1.025, −2.15) */
static void test_sgd_three_steps(void) {
    double e[3][2] = {{0.95, -1.9}, {0.925, -1.95}, {1.025, -2.15}};
    run3(nn_optim_defaults(NN_OPTIM_SGD), e);
}

/* momentum μ = 0.9: b ← μb + g; p ← p − lr·b
 *   b1 = (0.5, −1)                          p1 = (0.95, −1.9)
 *   b2 = (0.45 + 0.25, −0.9 + 0.5) = (0.7, −0.4)       p2 = (0.95 − 0.07, −1.9 + 0.04) = (0.88,
 * −1.86) b3 = (0.63 − 1, −0.36 + 2) = (−0.37, 1.64)         p3 = (0.88 + 0.037, −1.86 − 0.164) =
 * (0.917, −2.024) */
static void test_momentum_three_steps(void) {
    double e[3][2] = {{0.95, -1.9}, {0.88, -1.86}, {0.917, -2.024}};
    run3(nn_optim_defaults(NN_OPTIM_MOMENTUM), e);
}

/* Nesterov: same b, p ← p − lr·(g + μb)
 *   d1 = (0.5 + 0.45, −1 − 0.9) = (0.95, −1.9)            p1 = (0.905, −1.81)
 *   d2 = (0.25 + 0.63, 0.5 − 0.36) = (0.88, 0.14)         p2 = (0.817, −1.824)
 *   d3 = (−1 − 0.333, 2 + 1.476) = (−1.333, 3.476)        p3 = (0.9503, −2.1716) */
static void test_nesterov_three_steps(void) {
    nn_optim_cfg c = nn_optim_defaults(NN_OPTIM_MOMENTUM);
    c.nesterov = 1;
    double e[3][2] = {{0.905, -1.81}, {0.817, -1.824}, {0.9503, -2.1716}};
    run3(c, e);
}

/* adam β1 = 0.9, β2 = 0.999, ε = 1e-8:
 *   t=1: m = (0.05, −0.1), v = (0.00025, 0.001); m̂ = g1, v̂ = g1², step = lr·g/(|g| + ε)
 *        p1 = (1 − 0.1·0.5/0.50000001, −2 + 0.1·1/1.00000001) = (0.900000002, −1.900000001)
 *   t=2: m = (0.07, −0.04), v = (0.00031225, 0.001249); bc1 = 0.19, bc2 = 0.001999
 *        m̂ = (0.368421053, −0.210526316), √v̂ = (0.395225381, 0.790450762)
 *        p2 = p1 − 0.1·m̂/(√v̂ + ε) = (0.806782040477, −1.873366297371)
 *   t=3: m = (−0.037, 0.164), v = (0.00131193775, 0.005247751); bc1 = 0.271, bc2 = 0.002997001
 *        p3 = (0.827417742885, −1.919099476026) */
static void test_adam_three_steps(void) {
    double e[3][2] = {{0.900000002, -1.900000001},
                      {0.806782040477, -1.873366297371},
                      {0.827417742885, -1.919099476026}};
    run3(nn_optim_defaults(NN_OPTIM_ADAM), e);
}

/* adamw wd = 0.01: adam's step plus p ← p − lr·wd·p (p before the step), i.e. −0.001·p:
 *   p1 = 0.900000002 − 0.001·1 = 0.899000002,  −1.900000001 + 0.002 = −1.898000001
 *   p2 = (0.804883040475, −1.869468297370),    p3 = (0.824713859843, −1.913332007728) */
static void test_adamw_three_steps(void) {
    double e[3][2] = {{0.899000002, -1.898000001},
                      {0.804883040475, -1.869468297370},
                      {0.824713859843, -1.913332007728}};
    run3(nn_optim_defaults(NN_OPTIM_ADAMW), e);
}

static void test_reset_restarts_bias_correction(void) {
    nn_optim_cfg c = nn_optim_defaults(NN_OPTIM_ADAM);
    nn_optim *o = NULL;
    CHECK(nn_optim_create(&c, 2, &o, NULL) == NN_OK);
    if (!o) return;
    nn_float p[2] = {1.0f, -2.0f};
    nn_optim_step(o, p, g_seq[0], 0.1);
    nn_optim_reset(o);
    CHECK(nn_optim_steps(o) == 0);
    nn_float q[2] = {1.0f, -2.0f};
    nn_optim_step(o, q, g_seq[0], 0.1);
    CHECK(q[0] == p[0] && q[1] == p[1]);
    nn_optim_destroy(o);
}

static void test_bad_configs_rejected(void) {
    nn_error err = {0};
    nn_optim *o = NULL;
    nn_optim_cfg c = nn_optim_defaults(NN_OPTIM_ADAM);
    c.learning_rate = 0;
    CHECK(nn_optim_create(&c, 2, &o, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "learning_rate");
    c = nn_optim_defaults(NN_OPTIM_MOMENTUM);
    c.momentum = 1.0;
    CHECK(nn_optim_create(&c, 2, &o, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "momentum");
    c = nn_optim_defaults(NN_OPTIM_ADAM);
    c.eps = 0;
    CHECK(nn_optim_create(&c, 2, &o, &err) == NN_ERR_INVALID);
    CHECK(o == NULL);
    nn_optim_kind k;
    CHECK(nn_optim_from_name("adamw", &k) == 0 && k == NN_OPTIM_ADAMW);
    CHECK(nn_optim_from_name("adm", &k) == -1);
}

int main(void) {
    RUN(test_sgd_three_steps);
    RUN(test_momentum_three_steps);
    RUN(test_nesterov_three_steps);
    RUN(test_adam_three_steps);
    RUN(test_adamw_three_steps);
    RUN(test_reset_restarts_bias_correction);
    RUN(test_bad_configs_rejected);
    return check_summary();
}
