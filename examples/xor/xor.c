/* xor — a 2-3-1 tanh network learns XOR with momentum SGD.
 *
 *   xor [SEED]     prints the loss every 100 epochs and the four predictions
 */
#include "xor_train.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    nn_float p[4];
    double mse = 0;
    int epochs = 0;
    nn_error err = {0};
    if (xor_train(seed, 1000, p, &mse, &epochs, 1, &err) != NN_OK) {
        fprintf(stderr, "xor: %s\n", err.msg);
        return 1;
    }
    printf("seed %llu: %d epochs, mse of predictions %.6f\n", (unsigned long long)seed, epochs,
           mse);
    for (int i = 0; i < 4; i++)
        printf("  %g xor %g -> %.4f\n", (double)xor_x[2 * i], (double)xor_x[2 * i + 1],
               (double)p[i]);
    return mse < 0.01 ? 0 : 1;
}
