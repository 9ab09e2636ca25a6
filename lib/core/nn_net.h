/* nn_net.h — dense feed-forward networks.
 *
 * DESIGN: a network is a stack of dense layers, each Y = act(D(X)·W + b) where X is the layer's
 * input (batch × in, row-major), D is optional inverted dropout on that input (training only:
 * kept units are scaled by 1/(1-p)), W is in × out and b is out. All parameters live in one
 * allocation, params[], laid out layer by layer as [W₀ b₀ W₁ b₁ …]; gradients live in a second
 * allocation grads[] with the same layout, so an optimizer walks one flat array and a checkpoint
 * is one copy. nn_net_layer() hands out named views into both. Activations of the last forward
 * pass are kept in a workspace (one allocation, grown to the largest batch seen, capped by
 * NN_MAX_BATCH) for the backward pass. A network is used by one thread at a time; parallel
 * training uses one network per thread.
 *
 * Backward pass for layer l, given dA = ∂L/∂A (batch × out):
 *   dZ = dA ⊙ act'(Z)        dW = Dᵀ·dZ + λW        db = Σ_rows dZ        dX = (dZ·Wᵀ) ⊙ mask
 * where λ is the layer's L2 weight decay (loss term λ/2·ΣW², weights only).
 *
 * The products run as prepared kernels (nn_matrix.h): for each batch size a network sees, the
 * three products of every layer are prepared once — libxsmm kernels for the shapes it serves,
 * BLAS otherwise — and kept in the network (nn_net.c says how).
 */
#ifndef NN_NET_H
#define NN_NET_H

#include "nn_act.h"
#include "nn_common.h"
#include "nn_init.h"
#include "nn_matrix.h"
#include "nn_rng.h"

#define NN_MAX_LAYERS 256
#define NN_MAX_UNITS 65536
#define NN_MAX_PARAMS ((size_t)1 << 28) /* 268M parameters: 1 GiB of floats */
#define NN_MAX_BATCH (1 << 20)
#define NN_PREDICT_CHUNK 1024

typedef struct nn_layer_cfg {
    int units; /* outputs of this layer, 1..NN_MAX_UNITS */
    nn_act act;
    double dropout;      /* drop rate p on this layer's input, 0 ≤ p < 1; 0 = off */
    double l2;           /* L2 weight decay λ ≥ 0 on this layer's weights */
    nn_init weight_init; /* default (zero-initialized cfg) is zeros: set it */
    nn_init bias_init;
} nn_layer_cfg;

typedef struct nn_net_cfg {
    int n_inputs;
    int n_layers;               /* hidden layers plus the output layer */
    const nn_layer_cfg *layers; /* n_layers entries, borrowed; the last is the output layer */
    nn_gemm_path gemm;          /* NN_GEMM_AUTO (the zero default) or NN_GEMM_BLAS */
} nn_net_cfg;

/* A named view of one layer's parameters and gradients inside the flat arrays. */
typedef struct nn_layer_view {
    int in, out;
    nn_float *w;  /* (in, out) */
    nn_float *b;  /* (out) */
    nn_float *dw; /* (in, out) */
    nn_float *db; /* (out) */
} nn_layer_view;

typedef struct nn_net nn_net;

/* Validates cfg (sizes, rates, parameter count ≤ NN_MAX_PARAMS) and creates a network with all
 * parameters zero. Writes *out (owned by the caller) only on success. */
nn_status nn_net_create(const nn_net_cfg *cfg, nn_net **out, nn_error *err);
void nn_net_destroy(nn_net *net);

/* Computes the parameter count of cfg without allocating; returns 0 if cfg is invalid. */
size_t nn_net_cfg_param_count(const nn_net_cfg *cfg);

/* Draws every layer's weights then biases, in layer order, from stream (seed, stream). */
void nn_net_init(nn_net *net, uint64_t seed, uint64_t stream);

int nn_net_n_inputs(const nn_net *net);
int nn_net_n_outputs(const nn_net *net);
int nn_net_n_layers(const nn_net *net);
const nn_layer_cfg *nn_net_layer_cfg(const nn_net *net, int i);
size_t nn_net_param_count(const nn_net *net);
nn_float *nn_net_params(nn_net *net); /* (param_count), owned by net */
nn_float *nn_net_grads(nn_net *net);  /* (param_count), owned by net */
const nn_float *nn_net_params_const(const nn_net *net);
void nn_net_layer(nn_net *net, int i, nn_layer_view *view);

/* Makes the network ready for batches of `batch` rows: grows the workspace and prepares the
 * layers' products for that size. nn_net_forward does it on first sight of a batch size; a
 * training loop calls it up front for its batch sizes so that nothing is prepared or allocated
 * once training runs. */
nn_status nn_net_reserve(nn_net *net, int batch, nn_error *err);

/* How many of the network's products for batches of `batch` rows run as libxsmm kernels, out of
 * *total (3 per layer, 2 for the first); prepares them if needed. For tests and benchmarks. */
int nn_net_xsmm_products(nn_net *net, int batch, int *total);

/* Forward pass over x (batch × n_inputs), which must stay valid until nn_net_backward. With
 * dropout_rng (training) dropout masks are drawn from it; with NULL (inference) dropout is the
 * identity. *out points into the network's workspace (batch × n_outputs) and stays valid until the
 * next forward call. */
nn_status nn_net_forward(nn_net *net, const nn_float *x, int batch, nn_rng *dropout_rng,
                         const nn_float **out, nn_error *err);

/* Backward pass for the last forward call: dout = ∂L/∂output (batch × n_outputs). Overwrites
 * grads with ∂L/∂params including the L2 terms. */
void nn_net_backward(nn_net *net, const nn_float *dout);

/* Σ over layers of λ/2 · ΣW² (the L2 part of the loss). */
double nn_net_l2_penalty(const nn_net *net);

/* Predicts y (n × n_outputs) for x (n × n_inputs) in chunks of NN_PREDICT_CHUNK rows, without
 * dropout. */
nn_status nn_net_predict(nn_net *net, const nn_float *x, size_t n, nn_float *y, nn_error *err);

#endif
