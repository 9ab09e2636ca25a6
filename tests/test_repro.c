/* test_repro — same seed, same data → byte-identical parameters and losses, whatever threads
 * run around the training; a different seed gives different parameters. Both product paths
 * (libxsmm kernels where built with them, and BLAS) are checked, each against itself. */
#include "check.h"
#include "nn_net.h"
#include "nn_train.h"

#include <pthread.h>
#include <stdlib.h>

enum { N = 300, N_IN = 6 };

typedef struct job {
    uint64_t seed;
    nn_gemm_path gemm;
    nn_float *params; /* out: malloc'd copy */
    size_t n_params;
    double losses[20];
} job;

static int record(void *user, nn_net *net, int epoch, double loss, double lr) {
    (void)net, (void)lr;
    ((job *)user)->losses[epoch] = loss;
    return 0;
}

static void *train_job(void *arg) {
    job *j = arg;
    nn_float x[N * N_IN], y[N];
    nn_rng data;
    nn_rng_init(&data, 1234, 77);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int k = 0; k < N_IN; k++) {
            x[i * N_IN + k] = (nn_float)nn_rng_uniform(&data);
            s += sin(3 * x[i * N_IN + k]);
        }
        y[i] = (nn_float)s;
    }
    nn_layer_cfg layers[] = {
        {.units = 16, .act = NN_ACT_RELU, .dropout = 0.1, .weight_init = NN_INIT_HE_NORMAL},
        {.units = 16, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
        {.units = 1, .act = NN_ACT_LINEAR, .weight_init = NN_INIT_GLOROT_UNIFORM}};
    nn_net_cfg cfg = {.n_inputs = N_IN, .n_layers = 3, .layers = layers, .gemm = j->gemm};
    nn_net *net = NULL;
    if (nn_net_create(&cfg, &net, NULL) != NN_OK) return NULL;
    nn_net_init(net, j->seed, NN_STREAM(1, NN_STREAM_INIT));
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = 20;
    tc.batch_size = 32;
    tc.seed = j->seed;
    tc.group = 1;
    tc.on_epoch = record;
    tc.user = j;
    if (nn_train_fit(net, x, y, N, &tc, NULL, NULL) == NN_OK) {
        j->n_params = nn_net_param_count(net);
        j->params = malloc(j->n_params * sizeof *j->params);
        memcpy(j->params, nn_net_params(net), j->n_params * sizeof *j->params);
    }
    nn_net_destroy(net);
    return NULL;
}

static int same(const job *a, const job *b) {
    return a->params && b->params && a->n_params == b->n_params &&
           memcmp(a->params, b->params, a->n_params * sizeof *a->params) == 0 &&
           memcmp(a->losses, b->losses, sizeof a->losses) == 0;
}

static void same_seed_identical_bytes_across_threads(nn_gemm_path gemm) {
    job seq = {.seed = 42, .gemm = gemm};
    job par[3] = {
        {.seed = 42, .gemm = gemm}, {.seed = 42, .gemm = gemm}, {.seed = 43, .gemm = gemm}};
    train_job(&seq);
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, train_job, &par[i]);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    CHECK(seq.params != NULL);
    CHECK(same(&seq, &par[0]));
    CHECK(same(&seq, &par[1]));
    CHECK(!same(&seq, &par[2]));
    CHECK(seq.losses[19] < seq.losses[0]);
    free(seq.params);
    for (int i = 0; i < 3; i++) free(par[i].params);
}

static void test_same_seed_identical_bytes_across_threads(void) {
    same_seed_identical_bytes_across_threads(NN_GEMM_AUTO);
}

static void test_same_seed_identical_bytes_across_threads_blas(void) {
    same_seed_identical_bytes_across_threads(NN_GEMM_BLAS);
}

int main(void) {
    RUN(test_same_seed_identical_bytes_across_threads);
    RUN(test_same_seed_identical_bytes_across_threads_blas);
    return check_summary();
}
