/* test_net — forward values against hand computation, parameter layout, dropout semantics,
 * limits and batched prediction. */
#include "check.h"
#include "nn_loss.h"
#include "nn_net.h"
#include "nn_train.h"

#include <stdlib.h>

/* 2 → 2 (relu) → 1 (linear) with hand-set weights:
 *   W0 = [[1, -1], [2, 0.5]] (in × out), b0 = (0.5, -1); W1 = [[3], [-2]], b1 = 0.25
 *   x = (1, 2): z0 = (1 + 4 + 0.5, -1 + 1 - 1) = (5.5, -1) → a0 = (5.5, 0) → y = 16.5 + 0.25
 * = 16.75 x = (-1, 0): z0 = (-1 + 0.5, 1 - 1) = (-0.5, 0) → a0 = (0, 0) → y = 0.25 */
static void test_forward_matches_hand_computation(void) {
    nn_layer_cfg layers[2] = {{.units = 2, .act = NN_ACT_RELU}, {.units = 1, .act = NN_ACT_LINEAR}};
    nn_net_cfg cfg = {.n_inputs = 2, .n_layers = 2, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    if (!net) return;
    CHECK(nn_net_param_count(net) == 2 * 2 + 2 + 2 * 1 + 1);
    nn_layer_view v0, v1;
    nn_net_layer(net, 0, &v0);
    nn_net_layer(net, 1, &v1);
    CHECK(v0.w == nn_net_params(net) && v0.b == v0.w + 4 && v1.w == v0.b + 2 && v1.b == v1.w + 2);
    CHECK(v0.dw == nn_net_grads(net) && v1.db == nn_net_grads(net) + 8);
    const nn_float w0[] = {1, -1, 2, 0.5f}, b0[] = {0.5f, -1}, w1[] = {3, -2}, b1[] = {0.25f};
    memcpy(v0.w, w0, sizeof w0);
    memcpy(v0.b, b0, sizeof b0);
    memcpy(v1.w, w1, sizeof w1);
    memcpy(v1.b, b1, sizeof b1);
    const nn_float x[] = {1, 2, -1, 0};
    nn_float y[2];
    CHECK(nn_net_predict(net, x, 2, y, NULL) == NN_OK);
    CHECK_NEAR(y[0], 16.75, 1e-5);
    CHECK_NEAR(y[1], 0.25, 1e-6);
    /* backward of L = y0 (dout = 1, 0) on the first row only: dW1 = a0ᵀ·1 = (5.5, 0) */
    const nn_float *out;
    CHECK(nn_net_forward(net, x, 1, NULL, &out, NULL) == NN_OK);
    nn_float dout = 1;
    nn_net_backward(net, &dout);
    CHECK_NEAR(v1.dw[0], 5.5, 1e-6);
    CHECK_NEAR(v1.dw[1], 0, 0);
    CHECK_NEAR(v1.db[0], 1, 0);
    /* dA0 = W1ᵀ = (3, -2); relu' = (1, 0) → dZ0 = (3, 0); dW0 = xᵀ·dZ0 = [[3, 0], [6, 0]] */
    CHECK_NEAR(v0.dw[0], 3, 1e-6);
    CHECK_NEAR(v0.dw[1], 0, 0);
    CHECK_NEAR(v0.dw[2], 6, 1e-6);
    CHECK_NEAR(v0.db[0], 3, 1e-6);
    nn_net_destroy(net);
}

/* Inverted dropout: with p = 0.25 on the input of a linear identity-like layer, training outputs
 * are either 0 or x/(1-p); about 25% are dropped; inference is the identity. */
static void test_inverted_dropout(void) {
    enum { N = 4000, W = 8 };
    nn_layer_cfg layers[1] = {{.units = W, .act = NN_ACT_LINEAR, .dropout = 0.25}};
    nn_net_cfg cfg = {.n_inputs = W, .n_layers = 1, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    if (!net) return;
    nn_layer_view v;
    nn_net_layer(net, 0, &v);
    for (int i = 0; i < W; i++) v.w[i * W + i] = 1; /* identity weights, zero bias */
    nn_float *x = malloc(sizeof *x * N * W);
    for (int i = 0; i < N * W; i++) x[i] = 2;
    nn_rng rng;
    nn_rng_init(&rng, 1, NN_STREAM_DROPOUT);
    const nn_float *out;
    CHECK(nn_net_forward(net, x, N, &rng, &out, NULL) == NN_OK);
    size_t dropped = 0, bad = 0;
    for (int i = 0; i < N * W; i++) {
        if (out[i] == 0)
            dropped++;
        else if (fabs((double)out[i] - 2.0 / 0.75) > 1e-6)
            bad++;
    }
    CHECK(bad == 0);
    double frac = (double)dropped / (N * W);
    CHECK_NEAR(frac, 0.25, 0.015);
    CHECK(nn_net_forward(net, x, N, NULL, &out, NULL) == NN_OK);
    size_t not_identity = 0;
    for (int i = 0; i < N * W; i++) not_identity += out[i] != 2;
    CHECK(not_identity == 0);
    free(x);
    nn_net_destroy(net);
}

/* Sizes are refused from the config alone: a billion-unit layer is never allocated. */
static void test_absurd_sizes_refused(void) {
    nn_error err = {0};
    nn_net *net = NULL;
    nn_layer_cfg big[2] = {{.units = 65536, .act = NN_ACT_RELU}, {.units = 65536}};
    nn_net_cfg cfg = {.n_inputs = 65536, .n_layers = 2, .layers = big};
    CHECK(nn_net_create(&cfg, &net, &err) == NN_ERR_LIMIT);
    CHECK_CONTAINS(err.msg, "parameters");
    CHECK(net == NULL);
    CHECK(nn_net_cfg_param_count(&cfg) == 0);
    nn_layer_cfg huge[1] = {{.units = 1000000000}};
    cfg.n_layers = 1;
    cfg.layers = huge;
    CHECK(nn_net_create(&cfg, &net, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "units");
    nn_layer_cfg drop[1] = {{.units = 1, .dropout = 1.0}};
    cfg.layers = drop;
    CHECK(nn_net_create(&cfg, &net, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "dropout");
    cfg.layers = NULL;
    CHECK(nn_net_create(&cfg, &net, &err) == NN_ERR_INVALID);
}

/* Prediction in chunks of NN_PREDICT_CHUNK rows equals one big forward pass. */
static void test_predict_in_chunks(void) {
    enum { N = NN_PREDICT_CHUNK * 2 + 37 };
    nn_layer_cfg layers[2] = {
        {.units = 7, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
        {.units = 2, .act = NN_ACT_LINEAR, .weight_init = NN_INIT_GLOROT_UNIFORM}};
    nn_net_cfg cfg = {.n_inputs = 3, .n_layers = 2, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    if (!net) return;
    nn_net_init(net, 3, NN_STREAM_INIT);
    nn_float *x = malloc(sizeof *x * N * 3), *y = malloc(sizeof *y * N * 2);
    nn_rng rng;
    nn_rng_init(&rng, 4, 9);
    for (int i = 0; i < N * 3; i++) x[i] = (nn_float)nn_rng_normal(&rng);
    CHECK(nn_net_predict(net, x, N, y, NULL) == NN_OK);
    const nn_float *out;
    CHECK(nn_net_forward(net, x, N, NULL, &out, NULL) == NN_OK);
    size_t diff = 0;
    for (int i = 0; i < N * 2; i++) diff += fabs((double)out[i] - (double)y[i]) > 1e-6;
    CHECK(diff == 0);
    free(x);
    free(y);
    nn_net_destroy(net);
}

/* One network through many batch sizes — more than it keeps prepared products for — agrees with
 * the same network on BLAS, forward and backward, and a backward pass after other batch sizes
 * were prepared still uses its own forward pass's. */
static void test_many_batch_sizes_and_both_paths(void) {
    enum { IN = 34, MAXB = 40 };
    nn_layer_cfg layers[3] = {
        {.units = 16, .act = NN_ACT_RELU, .l2 = 0.01, .weight_init = NN_INIT_HE_NORMAL},
        {.units = 16, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
        {.units = 1, .act = NN_ACT_LINEAR, .weight_init = NN_INIT_GLOROT_UNIFORM}};
    nn_net_cfg cfg = {.n_inputs = IN, .n_layers = 3, .layers = layers};
    nn_net *a = NULL, *b = NULL;
    CHECK(nn_net_create(&cfg, &a, NULL) == NN_OK);
    cfg.gemm = NN_GEMM_BLAS;
    CHECK(nn_net_create(&cfg, &b, NULL) == NN_OK);
    if (!a || !b) return;
    nn_net_init(a, 5, NN_STREAM_INIT);
    nn_net_init(b, 5, NN_STREAM_INIT);
    nn_float x[MAXB * IN], dout[MAXB];
    nn_rng rng;
    nn_rng_init(&rng, 6, 1);
    for (int i = 0; i < MAXB * IN; i++) x[i] = (nn_float)nn_rng_normal(&rng);
    for (int i = 0; i < MAXB; i++) dout[i] = (nn_float)nn_rng_normal(&rng);
    size_t np = nn_net_param_count(a), bad = 0;
    for (int batch = 1; batch <= MAXB; batch += 3) {
        const nn_float *oa, *ob;
        CHECK(nn_net_forward(a, x, batch, NULL, &oa, NULL) == NN_OK);
        CHECK(nn_net_forward(b, x, batch, NULL, &ob, NULL) == NN_OK);
        for (int i = 0; i < batch; i++) bad += fabs((double)oa[i] - (double)ob[i]) > 1e-5;
        int total = 0; /* prepares other sizes between forward and backward */
        for (int other = 50; other < 58; other++) (void)nn_net_xsmm_products(a, other, &total);
        nn_net_backward(a, dout);
        nn_net_backward(b, dout);
        for (size_t k = 0; k < np; k++)
            bad += fabs((double)nn_net_grads(a)[k] - (double)nn_net_grads(b)[k]) >
                   1e-4 * (1 + fabs((double)nn_net_grads(b)[k]));
    }
    CHECK(bad == 0);
    nn_net_destroy(a);
    nn_net_destroy(b);
}

/* A mean-gradient loss makes the step independent of batch size: the gradient of a batch of
 * identical rows equals the gradient of one of them. */
static void test_gradient_is_batch_mean(void) {
    nn_layer_cfg layers[1] = {{.units = 1, .act = NN_ACT_LINEAR, .weight_init = NN_INIT_UNIFORM}};
    nn_net_cfg cfg = {.n_inputs = 2, .n_layers = 1, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    if (!net) return;
    nn_net_init(net, 1, NN_STREAM_INIT);
    nn_loss loss = {.kind = NN_LOSS_MSE, .delta = 1};
    nn_float x[16], y[8], dout[8], g1[3];
    for (int i = 0; i < 8; i++) x[2 * i] = 1, x[2 * i + 1] = -2, y[i] = 3;
    const nn_float *out;
    nn_net_forward(net, x, 1, NULL, &out, NULL);
    nn_loss_eval(&loss, out, y, 1, dout, 1);
    nn_net_backward(net, dout);
    memcpy(g1, nn_net_grads(net), sizeof g1);
    nn_net_forward(net, x, 8, NULL, &out, NULL);
    nn_loss_eval(&loss, out, y, 8, dout, 8);
    nn_net_backward(net, dout);
    for (int i = 0; i < 3; i++) CHECK_REL(nn_net_grads(net)[i], g1[i], 1e-6);
    nn_net_destroy(net);
}

static void test_loss_values(void) {
    /* residuals r = p − y = (1, −3, 0.2); mse = (1 + 9 + 0.04)/3; mae = 4.2/3;
     * huber δ=1: 0.5 + (3 − 0.5) + 0.02 = 3.02 → /3 */
    const nn_float p[] = {2, -1, 0.7f}, y[] = {1, 2, 0.5f};
    nn_float g[3];
    nn_loss mse = {.kind = NN_LOSS_MSE, .delta = 1}, mae = {.kind = NN_LOSS_MAE, .delta = 1},
            hub = {.kind = NN_LOSS_HUBER, .delta = 1};
    CHECK_NEAR(nn_loss_eval(&mse, p, y, 3, g, 3), 10.04 / 3, 1e-6);
    CHECK_NEAR(g[1], 2 * -3.0 / 3, 1e-6);
    CHECK_NEAR(nn_loss_eval(&mae, p, y, 3, g, 3), 4.2 / 3, 1e-6);
    CHECK_NEAR(g[0], 1.0 / 3, 1e-7);
    CHECK_NEAR(g[1], -1.0 / 3, 1e-7);
    CHECK_NEAR(nn_loss_eval(&hub, p, y, 3, g, 3), 3.02 / 3, 1e-6);
    CHECK_NEAR(g[1], -1.0 / 3, 1e-7);
    CHECK_NEAR(g[2], 0.2 / 3, 1e-7);
}

static void test_training_diverges_with_message(void) {
    nn_layer_cfg layers[1] = {{.units = 1, .act = NN_ACT_LINEAR, .weight_init = NN_INIT_UNIFORM}};
    nn_net_cfg cfg = {.n_inputs = 1, .n_layers = 1, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    if (!net) return;
    nn_float x[4] = {1e3f, -1e3f, 2e3f, 5e2f}, y[4] = {1, 2, 3, 4};
    nn_train_cfg tc = nn_train_defaults();
    tc.optim = nn_optim_defaults(NN_OPTIM_SGD);
    tc.optim.learning_rate = 10;
    tc.epochs = 1000;
    tc.batch_size = 2;
    nn_error err = {0};
    CHECK(nn_train_fit(net, x, y, 4, &tc, NULL, &err) == NN_ERR_DIVERGED);
    CHECK_CONTAINS(err.msg, "diverged at epoch");
    nn_net_destroy(net);
}

static void test_cancel_flag_stops_between_batches(void) {
    nn_layer_cfg layers[1] = {{.units = 1, .act = NN_ACT_LINEAR}};
    nn_net_cfg cfg = {.n_inputs = 1, .n_layers = 1, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    if (!net) return;
    nn_float x[4] = {1, 2, 3, 4}, y[4] = {1, 2, 3, 4};
    atomic_int cancel = 1;
    nn_train_cfg tc = nn_train_defaults();
    tc.cancel = &cancel;
    nn_error err = {0};
    nn_train_result res;
    CHECK(nn_train_fit(net, x, y, 4, &tc, &res, &err) == NN_ERR_CANCELLED);
    CHECK(res.epochs_run == 0);
    CHECK_CONTAINS(err.msg, "cancelled");
    nn_net_destroy(net);
}

int main(void) {
    RUN(test_forward_matches_hand_computation);
    RUN(test_inverted_dropout);
    RUN(test_absurd_sizes_refused);
    RUN(test_predict_in_chunks);
    RUN(test_many_batch_sizes_and_both_paths);
    RUN(test_gradient_is_batch_mean);
    RUN(test_loss_values);
    RUN(test_training_diverges_with_message);
    RUN(test_cancel_flag_stops_between_batches);
    return check_summary();
}
