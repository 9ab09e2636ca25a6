/* nn_optim.h — optimizers over a flat parameter array.
 *
 * DESIGN: an optimizer owns its per-parameter state in one allocation (k · n_params values, k = 0
 * for sgd, 1 for momentum, 2 for adam/adamw) and updates params in place from grads, with the
 * learning rate of the current epoch passed to each step. With g the gradient and t the step
 * count (1 at the first step):
 *   sgd       p ← p − lr·g
 *   momentum  b ← μ·b + g;  p ← p − lr·b            (PyTorch form; Nesterov: p ← p − lr·(g + μ·b))
 *   adam      m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *             p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
 *   adamw     adam, then p ← p − lr·wd·p (decoupled weight decay, on every parameter as PyTorch)
 * With a constant learning rate, momentum equals the seed's v ← μv + lr·g; p ← p − v.
 * Arithmetic is done in double per element and stored as nn_float.
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include "nn_common.h"

#define NN_OPTIM_TABLE(X)                                                                          \
    X(NN_OPTIM_SGD, "sgd")                                                                         \
    X(NN_OPTIM_MOMENTUM, "momentum")                                                               \
    X(NN_OPTIM_ADAM, "adam")                                                                       \
    X(NN_OPTIM_ADAMW, "adamw")

#define NN__OPTIM_ENUM(name, text) name,
typedef enum nn_optim_kind { NN_OPTIM_TABLE(NN__OPTIM_ENUM) NN_OPTIM_COUNT } nn_optim_kind;
#undef NN__OPTIM_ENUM

typedef struct nn_optim_cfg {
    nn_optim_kind kind;
    double learning_rate; /* lr0, > 0; the schedule scales it per epoch */
    double momentum;      /* μ in [0, 1); default 0.9 */
    int nesterov;         /* momentum only */
    double beta1, beta2;  /* in [0, 1); defaults 0.9, 0.999 */
    double eps;           /* > 0; default 1e-8 */
    double weight_decay;  /* adamw only, ≥ 0; default 0.01 */
} nn_optim_cfg;

typedef struct nn_optim nn_optim;

const char *nn_optim_name(nn_optim_kind kind);
int nn_optim_from_name(const char *name, nn_optim_kind *out);
const char *nn_optim_names(void);

/* The defaults above for kind, with learning rate 0.001. */
nn_optim_cfg nn_optim_defaults(nn_optim_kind kind);
nn_status nn_optim_check(const nn_optim_cfg *cfg, nn_error *err);

/* Creates an optimizer with zeroed state for n_params parameters; *out owned by the caller. */
nn_status nn_optim_create(const nn_optim_cfg *cfg, size_t n_params, nn_optim **out, nn_error *err);
void nn_optim_destroy(nn_optim *opt);
/* One update of params from grads with learning rate lr. */
void nn_optim_step(nn_optim *opt, nn_float *params, const nn_float *grads, double lr);
/* Zeroes the state and the step count. */
void nn_optim_reset(nn_optim *opt);
uint64_t nn_optim_steps(const nn_optim *opt);
/* Its state, to save a training in progress and continue it (nn_train.h): the k · n_params
 * values (k = 0, 1 or 2 as above; *len = 0 for sgd) and the step count. */
nn_float *nn_optim_state(nn_optim *opt, size_t *len);
void nn_optim_set_steps(nn_optim *opt, uint64_t steps);

#endif
