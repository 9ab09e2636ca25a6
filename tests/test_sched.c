/* test_sched — schedule values at chosen epochs equal the formulas in nn_sched.h. */
#include "check.h"
#include "nn_sched.h"

static void test_constant(void) {
    nn_sched s = nn_sched_constant();
    CHECK(nn_sched_check(&s, NULL) == NN_OK);
    CHECK_NEAR(nn_sched_lr(&s, 0.128, 0), 0.128, 0);
    CHECK_NEAR(nn_sched_lr(&s, 0.128, 299), 0.128, 0);
}

/* lr0 = 0.1, rate 0.5, steps 10: e = 25 → 0.1 / (1 + 0.5·2.5) = 0.1 / 2.25 = 0.0444…;
 * staircase: floor(2.5) = 2 → 0.1 / 2 = 0.05; e = 0 → 0.1; e = 10 → 0.1/1.5 either way. */
static void test_inverse_time_decay(void) {
    nn_sched s = nn_sched_constant();
    s.kind = NN_SCHED_INVERSE_TIME;
    s.rate = 0.5;
    s.steps = 10;
    CHECK(nn_sched_check(&s, NULL) == NN_OK);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 0), 0.1, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 25), 0.1 / 2.25, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 10), 0.1 / 1.5, 1e-15);
    s.staircase = 1;
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 25), 0.05, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 9), 0.1, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 10), 0.1 / 1.5, 1e-15);
}

/* lr0 = 1, rate 0.5, steps 4: e = 2 → 0.5^0.5 = 0.7071…; e = 8 → 0.25; staircase e = 7 → 0.5. */
static void test_exponential_decay(void) {
    nn_sched s = nn_sched_constant();
    s.kind = NN_SCHED_EXPONENTIAL;
    s.rate = 0.5;
    s.steps = 4;
    CHECK(nn_sched_check(&s, NULL) == NN_OK);
    CHECK_NEAR(nn_sched_lr(&s, 1.0, 2), 0.70710678118654752, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 1.0, 8), 0.25, 1e-15);
    s.staircase = 1;
    CHECK_NEAR(nn_sched_lr(&s, 1.0, 7), 0.5, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 1.0, 3), 1.0, 1e-15);
}

/* boundaries (10, 20), values (0.1, 0.01, 0.001): epochs 0..9 → 0.1, 10..19 → 0.01, 20.. → 0.001.
 */
static void test_piecewise_constant_boundaries(void) {
    nn_sched s = nn_sched_constant();
    s.kind = NN_SCHED_PIECEWISE;
    s.n_boundaries = 2;
    s.boundaries[0] = 10;
    s.boundaries[1] = 20;
    s.values[0] = 0.1;
    s.values[1] = 0.01;
    s.values[2] = 0.001;
    CHECK(nn_sched_check(&s, NULL) == NN_OK);
    CHECK_NEAR(nn_sched_lr(&s, 9.9, 0), 0.1, 0);
    CHECK_NEAR(nn_sched_lr(&s, 9.9, 9), 0.1, 0);
    CHECK_NEAR(nn_sched_lr(&s, 9.9, 10), 0.01, 0);
    CHECK_NEAR(nn_sched_lr(&s, 9.9, 19), 0.01, 0);
    CHECK_NEAR(nn_sched_lr(&s, 9.9, 20), 0.001, 0);
    CHECK_NEAR(nn_sched_lr(&s, 9.9, 1000), 0.001, 0);
    s.boundaries[1] = 10;
    nn_error err = {0};
    CHECK(nn_sched_check(&s, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "increasing");
}

/* lr0 = 0.1, min 0.001, steps 100: e = 50 → 0.001 + 0.099·0.5·(1 + cos(π/2)) = 0.0505;
 * e = 100 and beyond → 0.001; e = 25 → 0.001 + 0.0495·(1 + √2/2). */
static void test_cosine(void) {
    nn_sched s = nn_sched_constant();
    s.kind = NN_SCHED_COSINE;
    s.steps = 100;
    s.min_lr = 0.001;
    CHECK(nn_sched_check(&s, NULL) == NN_OK);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 0), 0.1, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 50), 0.0505, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 25), 0.001 + 0.0495 * (1 + 0.70710678118654752), 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 100), 0.001, 1e-15);
    CHECK_NEAR(nn_sched_lr(&s, 0.1, 500), 0.001, 1e-15);
}

static void test_names_round_trip(void) {
    for (int i = 0; i < NN_SCHED_COUNT; i++) {
        nn_sched_kind k;
        CHECK(nn_sched_from_name(nn_sched_name((nn_sched_kind)i), &k) == 0 && (int)k == i);
    }
    nn_sched_kind k;
    CHECK(nn_sched_from_name("linear", &k) == -1);
}

int main(void) {
    RUN(test_constant);
    RUN(test_inverse_time_decay);
    RUN(test_exponential_decay);
    RUN(test_piecewise_constant_boundaries);
    RUN(test_cosine);
    RUN(test_names_round_trip);
    return check_summary();
}
