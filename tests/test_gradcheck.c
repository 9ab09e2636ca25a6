/* test_gradcheck — backpropagation against central finite differences.
 *
 * For every activation × loss, a 3-layer network (5 → 4 → 3 → 2, the activation on every
 * layer) is evaluated on a fixed batch (cross-entropy: 3 outputs, softmax, one-hot targets; and
 * on its own, from logits, with 1 output (sigmoid) and 3, label smoothing and class weights); each
 * parameter's analytic gradient from nn_net_backward is compared with (L(θ + h) − L(θ − h)) / 2h,
 * where L = loss + L2 penalty is computed in double. The error measure is the norm-wise relative
 * error ‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖). The double build must reach < 1e-6; the float build (whose L
 * is only accurate to ~1e-7) checks the same thing at h = 1e-2 with tolerance 1e-2, which still
 * catches any wrong formula.
 *
 * Every check runs on both product paths: libxsmm kernels (NN_GEMM_AUTO, in a build with
 * libxsmm; the test says whether the kernels were really used) and BLAS (NN_GEMM_BLAS). A wider
 * network (34 → 16 → 16 → 1, batch 37) covers the shapes of the seed network, an odd batch, the
 * single-output layer's own weight-gradient product, and blocks of 16 columns.
 */
#include "check.h"
#include "nn_loss.h"
#include "nn_net.h"

#include <stdlib.h>

#ifdef NN_DOUBLE
#define H 1e-6
#define TOL 1e-6
#else
#define H 1e-2
#define TOL 1e-2
#endif

enum { MAX_BATCH = 37, MAX_IN = 34, MAX_OUT = 3 };

/* The network: the small one (5 → 4 → 3 → 2, batch 6) or the wide one (34 → 16 → 16 → 1,
 * batch 37). */
typedef struct shape {
    int batch, n_in, h1, h2, n_out;
} shape;
static const shape SMALL = {6, 5, 4, 3, 2}, WIDE = {37, 34, 16, 16, 1};

static nn_gemm_path path = NN_GEMM_AUTO; /* the product path under test */

typedef struct fixture {
    nn_net *net;
    nn_loss loss;
    shape s;
    nn_float x[MAX_BATCH * MAX_IN];
    nn_float y[MAX_BATCH * MAX_OUT];
    nn_rng drop; /* dropout stream, restored before every evaluation so the mask is fixed */
    int dropout;
} fixture;

static double loss_at(fixture *f) {
    const nn_float *out;
    nn_rng r = f->drop;
    if (nn_net_forward(f->net, f->x, f->s.batch, f->dropout ? &r : NULL, &out, NULL) != NN_OK)
        return NAN;
    return nn_loss_batch(&f->loss, out, f->y, (size_t)f->s.batch, (size_t)f->s.n_out, NULL) +
           nn_net_l2_penalty(f->net);
}

static double gradcheck_loss(shape sh, nn_act act, nn_loss loss, double l2, double dropout) {
    nn_layer_cfg layers[3] = {
        {.units = sh.h1,
         .act = act,
         .l2 = l2,
         .dropout = dropout,
         .weight_init = NN_INIT_GLOROT_NORMAL,
         .bias_init = NN_INIT_UNIFORM_SIGNED},
        {.units = sh.h2,
         .act = act,
         .dropout = dropout,
         .weight_init = NN_INIT_GLOROT_NORMAL,
         .bias_init = NN_INIT_UNIFORM_SIGNED},
        {.units = sh.n_out,
         .act = act,
         .l2 = l2,
         .weight_init = NN_INIT_GLOROT_NORMAL,
         .bias_init = NN_INIT_UNIFORM_SIGNED},
    };
    nn_net_cfg cfg = {.n_inputs = sh.n_in, .n_layers = 3, .layers = layers, .gemm = path};
    fixture f;
    memset(&f, 0, sizeof f);
    f.s = sh;
    int batch = sh.batch, n_x = batch * sh.n_in, n_y = batch * sh.n_out;
    f.loss = loss;
    f.dropout = dropout > 0;
    if (nn_net_create(&cfg, &f.net, NULL) != NN_OK) return INFINITY;
    nn_net_init(f.net, 7, NN_STREAM(0, NN_STREAM_INIT));
    nn_rng data;
    nn_rng_init(&data, 99, 1);
    for (int i = 0; i < n_x; i++) f.x[i] = (nn_float)(2 * nn_rng_uniform(&data) - 1);
    for (int i = 0; i < n_y; i++) f.y[i] = (nn_float)(2 * nn_rng_uniform(&data) - 1);
    if (loss.kind == NN_LOSS_CROSS_ENTROPY) /* 0/1 (one output) or one-hot rows */
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < sh.n_out; j++)
                f.y[i * sh.n_out + j] =
                    sh.n_out == 1 ? (nn_float)(i % 2) : (nn_float)(j == i % sh.n_out);
    nn_rng_init(&f.drop, 5, NN_STREAM(0, NN_STREAM_DROPOUT));

    /* analytic */
    const nn_float *out;
    nn_rng r = f.drop;
    nn_float dout[MAX_BATCH * MAX_OUT];
    nn_net_forward(f.net, f.x, batch, f.dropout ? &r : NULL, &out, NULL);
    nn_loss_batch(&f.loss, out, f.y, (size_t)batch, (size_t)sh.n_out, dout);
    nn_net_backward(f.net, dout);
    size_t n = nn_net_param_count(f.net);
    nn_float *p = nn_net_params(f.net);
    double *ga = malloc(n * sizeof *ga);
    for (size_t i = 0; i < n; i++) ga[i] = nn_net_grads(f.net)[i];

    double diff = 0, na = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        nn_float keep = p[i];
        p[i] = (nn_float)(keep + H);
        double hp = (double)p[i] - (double)keep;
        double lp = loss_at(&f);
        p[i] = (nn_float)(keep - H);
        double hm = (double)keep - (double)p[i];
        double lm = loss_at(&f);
        p[i] = keep;
        double gn = (lp - lm) / (hp + hm);
        diff += (ga[i] - gn) * (ga[i] - gn);
        na += ga[i] * ga[i];
        nn += gn * gn;
    }
    free(ga);
    nn_net_destroy(f.net);
    if (na + nn == 0) return 0;
    return sqrt(diff) / (sqrt(na) + sqrt(nn));
}

static double gradcheck_shape(shape sh, nn_act act, nn_loss_kind kind, double l2, double dropout) {
    nn_loss loss = {.kind = kind, .delta = 0.3};
    if (kind == NN_LOSS_CROSS_ENTROPY) sh.n_out = 3;
    return gradcheck_loss(sh, act, loss, l2, dropout);
}

static double gradcheck(nn_act act, nn_loss_kind loss, double l2, double dropout) {
    return gradcheck_shape(SMALL, act, loss, l2, dropout);
}

static void test_every_activation_and_loss(void) {
    for (int a = 0; a < NN_ACT_COUNT; a++) {
        for (int l = 0; l < NN_LOSS_COUNT; l++) {
            double rel = gradcheck((nn_act)a, (nn_loss_kind)l, 0.0, 0.0);
            if (getenv("NN_VERBOSE") || !(rel < TOL))
                fprintf(stderr, "  %s × %s: relative error %.3g\n", nn_act_name((nn_act)a),
                        nn_loss_name((nn_loss_kind)l), rel);
            CHECK(rel < TOL);
        }
    }
}

static void test_l2_weight_decay_gradient(void) {
    CHECK(gradcheck(NN_ACT_TANH, NN_LOSS_MSE, 0.05, 0.0) < TOL);
    CHECK(gradcheck(NN_ACT_SIGMOID, NN_LOSS_HUBER, 0.5, 0.0) < TOL);
}

/* With the dropout stream restored before each evaluation the mask is a fixed function, so
 * the gradient through the masked, rescaled inputs must match finite differences too. */
static void test_dropout_gradient_with_fixed_mask(void) {
    CHECK(gradcheck(NN_ACT_TANH, NN_LOSS_MSE, 0.0, 0.3) < TOL);
    CHECK(gradcheck(NN_ACT_GELU, NN_LOSS_MSE, 0.01, 0.5) < TOL);
}

/* The seed network's shapes, with and without L2 and dropout. */
static void test_wide_network_gradient(void) {
#ifdef NN_DOUBLE
    /* in float, h = 1e-2 steps across some of the 37 × 32 ReLU kinks */
    CHECK(gradcheck_shape(WIDE, NN_ACT_RELU, NN_LOSS_MSE, 0.0, 0.0) < TOL);
#endif
    CHECK(gradcheck_shape(WIDE, NN_ACT_SIGMOID, NN_LOSS_MSE, 0.0, 0.0) < TOL);
    CHECK(gradcheck_shape(WIDE, NN_ACT_TANH, NN_LOSS_HUBER, 0.05, 0.0) < TOL);
    CHECK(gradcheck_shape(WIDE, NN_ACT_LEAKY_RELU, NN_LOSS_MSE, 0.01, 0.2) < TOL);
    CHECK(gradcheck_shape(WIDE, NN_ACT_GELU, NN_LOSS_MAE, 0.0, 0.1) < TOL);
}

/* Cross-entropy from logits (a linear output): sigmoid with one output and softmax with three,
 * plain, with label smoothing, with class weights, and both. */
static void test_cross_entropy_gradients(void) {
    const double w2[2] = {0.4, 2.5}, w3[3] = {1.5, 0.3, 0.8};
    for (int n_out = 1; n_out <= 3; n_out += 2) {
        for (int variant = 0; variant < 4; variant++) {
            nn_loss loss = {.kind = NN_LOSS_CROSS_ENTROPY};
            loss.label_smoothing = variant & 1 ? 0.2 : 0.0;
            loss.class_weight = variant & 2 ? (n_out == 1 ? w2 : w3) : NULL;
            shape sh = SMALL;
            sh.n_out = n_out;
            double rel = gradcheck_loss(sh, NN_ACT_LINEAR, loss, 0.01, 0.0);
            if (getenv("NN_VERBOSE") || !(rel < TOL))
                fprintf(stderr, "  cross_entropy, %d output%s, variant %d: relative error %.3g\n",
                        n_out, n_out > 1 ? "s" : "", variant, rel);
            CHECK(rel < TOL);
        }
    }
}

/* Under NN_GEMM_AUTO in a build with libxsmm, the products really are libxsmm kernels. */
static void test_xsmm_kernels_in_use(void) {
    char what[128];
    if (path != NN_GEMM_AUTO || nn_xsmm_config(what, sizeof what) != 0) return;
    nn_layer_cfg layers[2] = {{.units = 16, .act = NN_ACT_RELU}, {.units = 1}};
    nn_net_cfg cfg = {.n_inputs = 34, .n_layers = 2, .layers = layers};
    nn_net *net = NULL;
    CHECK(nn_net_create(&cfg, &net, NULL) == NN_OK);
    int total = 0;
    CHECK(nn_net_xsmm_products(net, 128, &total) == total && total == 5);
    nn_net_destroy(net);
    fprintf(stderr, "  (%s)\n", what);
}

int main(void) {
    nn_gemm_path paths[2] = {NN_GEMM_AUTO, NN_GEMM_BLAS};
    for (int i = 0; i < 2; i++) {
        path = paths[i];
        fprintf(stderr, "products: %s\n", path == NN_GEMM_AUTO ? "auto (libxsmm)" : "BLAS");
        RUN(test_every_activation_and_loss);
        RUN(test_l2_weight_decay_gradient);
        RUN(test_dropout_gradient_with_fixed_mask);
        RUN(test_wide_network_gradient);
        RUN(test_cross_entropy_gradients);
        RUN(test_xsmm_kernels_in_use);
    }
    return check_summary();
}
