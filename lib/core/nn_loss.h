/* nn_loss.h — losses, averaged over the batch.
 *
 * Regression, for predictions p and targets y of shape batch × outputs (N = batch · outputs
 * elements):
 *   mse     L = (1/N) Σ (p - y)²                 dL/dp = 2 (p - y) / N
 *   mae     L = (1/N) Σ |p - y|                  dL/dp = sign(p - y) / N
 *   huber   L = (1/N) Σ h(p - y), h(r) = r²/2 if |r| ≤ δ else δ(|r| - δ/2)
 *                                                dL/dp = clamp(p - y, -δ, δ) / N
 * Classification, from logits z (the network's linear output) of B rows:
 *   cross_entropy with one output (two classes, sigmoid): target t = y(1 − ε) + ε/2 for y ∈ {0, 1}
 *     ℓ = max(z, 0) − z·t + log(1 + e^−|z|)          ∂ℓ/∂z = σ(z) − t
 *   cross_entropy with K ≥ 2 outputs (softmax): y one-hot, t_k = y_k(1 − ε) + ε/K
 *     ℓ = Σ_k t_k (lse(z) − z_k), lse(z) = m + log Σ_k e^(z_k − m), m = max z    ∂ℓ/∂z_k = s_k −
 * t_k L = (1/B) Σ_rows w_c ℓ, w_c the weight of the row's class (1 without class weights). Both
 * forms never exponentiate a positive number, so logits of ±1000 give finite losses and gradients.
 * ε is the label smoothing. The gradient is the mean over the batch, as in Keras and PyTorch.
 * Frameworks that summed the per-sample gradients (the seed framework did) need learning rate ×
 * batch size to match ours.
 */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include "nn_common.h"

#define NN_LOSS_TABLE(X)                                                                           \
    X(NN_LOSS_MSE, "mse")                                                                          \
    X(NN_LOSS_MAE, "mae")                                                                          \
    X(NN_LOSS_HUBER, "huber")                                                                      \
    X(NN_LOSS_CROSS_ENTROPY, "cross_entropy")

#define NN__LOSS_ENUM(name, text) name,
typedef enum nn_loss_kind { NN_LOSS_TABLE(NN__LOSS_ENUM) NN_LOSS_COUNT } nn_loss_kind;
#undef NN__LOSS_ENUM

#define NN_LOSS_MAX_SMOOTHING 0.5

typedef struct nn_loss {
    nn_loss_kind kind;
    double delta;               /* huber threshold δ (> 0); default 1 */
    double label_smoothing;     /* cross_entropy: ε in [0, NN_LOSS_MAX_SMOOTHING]; default 0 */
    const double *class_weight; /* cross_entropy: (classes: 2 for one output, else outputs)
                                   weight of each class, borrowed; NULL = every class 1 */
} nn_loss;

const char *nn_loss_name(nn_loss_kind kind);
int nn_loss_from_name(const char *name, nn_loss_kind *out);
const char *nn_loss_names(void);

/* 1 for losses on logits (classification). */
static inline int nn_loss_is_classification(nn_loss_kind kind) {
    return kind == NN_LOSS_CROSS_ENTROPY;
}

/* Regression losses only: returns L over n elements; when grad is not NULL writes dL/dp scaled
 * by 1/grad_den into it (grad_den is normally n, the batch's element count). Sums are
 * accumulated in double. */
double nn_loss_eval(const nn_loss *loss, const nn_float *pred, const nn_float *y, size_t n,
                    nn_float *grad, double grad_den);

/* The loss of a batch: out and y are (rows × n_out); for cross_entropy y holds 0/1 (one output)
 * or one-hot rows. Returns L (the mean over the batch, as above) and, when grad is not NULL,
 * writes dL/dout (rows × n_out). For regression losses this is nn_loss_eval over rows · n_out
 * elements with grad_den = rows · n_out, the same numbers. */
double nn_loss_batch(const nn_loss *loss, const nn_float *out, const nn_float *y, size_t rows,
                     size_t n_out, nn_float *grad);

/* Class probabilities from logits (rows × n_out), in double: prob is (rows × k), k = 2 for one
 * output ([1 − σ(z), σ(z)]) and n_out otherwise (softmax). Each row sums to 1 within a few ulps. */
void nn_loss_probs(const nn_float *logits, size_t rows, size_t n_out, double *prob);

#endif
