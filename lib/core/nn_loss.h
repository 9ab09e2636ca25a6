/* nn_loss.h — regression losses, averaged over every element of the batch.
 *
 * For predictions p and targets y of shape batch × outputs (N = batch · outputs elements):
 *   mse     L = (1/N) Σ (p - y)²                 dL/dp = 2 (p - y) / N
 *   mae     L = (1/N) Σ |p - y|                  dL/dp = sign(p - y) / N
 *   huber   L = (1/N) Σ h(p - y), h(r) = r²/2 if |r| ≤ δ else δ(|r| - δ/2)
 *                                                dL/dp = clamp(p - y, -δ, δ) / N
 * The gradient is the mean over the batch, as in Keras and PyTorch. Frameworks that summed the
 * per-sample gradients (the seed framework did) need learning rate × batch size to match ours.
 */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include "nn_common.h"

#define NN_LOSS_TABLE(X)                                                                           \
    X(NN_LOSS_MSE, "mse")                                                                          \
    X(NN_LOSS_MAE, "mae")                                                                          \
    X(NN_LOSS_HUBER, "huber")

#define NN__LOSS_ENUM(name, text) name,
typedef enum nn_loss_kind { NN_LOSS_TABLE(NN__LOSS_ENUM) NN_LOSS_COUNT } nn_loss_kind;
#undef NN__LOSS_ENUM

typedef struct nn_loss {
    nn_loss_kind kind;
    double delta; /* huber threshold δ (> 0); default 1 */
} nn_loss;

const char *nn_loss_name(nn_loss_kind kind);
int nn_loss_from_name(const char *name, nn_loss_kind *out);
const char *nn_loss_names(void);

/* Returns L over n elements; when grad is not NULL writes dL/dp scaled by 1/grad_den into it
 * (grad_den is normally n, the batch's element count). Sums are accumulated in double. */
double nn_loss_eval(const nn_loss *loss, const nn_float *pred, const nn_float *y, size_t n,
                    nn_float *grad, double grad_den);

#endif
