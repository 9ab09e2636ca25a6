/* xor_train.h — the XOR example's training, shared by the example program and its test. */
#ifndef XOR_TRAIN_H
#define XOR_TRAIN_H

#include "nn_common.h"

/* Trains a 2-3-1 tanh network on XOR with momentum SGD (lr 0.1, μ 0.9, batch 4) for at most
 * max_epochs epochs (stopping early once the training MSE is below 1e-4). Writes the four
 * predictions and the MSE of those predictions; log (may be NULL) gets every 100th epoch. */
nn_status xor_train(uint64_t seed, int max_epochs, nn_float pred[4], double *mse, int *epochs,
                    int verbose, nn_error *err);

extern const nn_float xor_x[8];
extern const nn_float xor_y[4];

#endif
