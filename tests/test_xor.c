/* test_xor — the XOR example learns: MSE of the predictions < 0.01 within 1000 epochs for at
 * least 9 of 10 seeds. */
#include "check.h"
#include "xor_train.h"

static void test_xor_learns_for_nine_of_ten_seeds(void) {
    int learned = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        nn_float p[4];
        double mse = 1;
        int epochs = 0;
        nn_error err = {0};
        CHECK(xor_train(seed, 1000, p, &mse, &epochs, 0, &err) == NN_OK);
        CHECK(epochs <= 1000);
        fprintf(stderr, "  seed %llu: mse %.2e after %d epochs\n", (unsigned long long)seed, mse,
                epochs);
        learned += mse < 0.01;
    }
    CHECK(learned >= 9);
}

int main(void) {
    RUN(test_xor_learns_for_nine_of_ten_seeds);
    return check_summary();
}
