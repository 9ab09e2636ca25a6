/* xor_train.c — a 2-3-1 tanh network learns XOR (see xor_train.h). */
#include "xor_train.h"

#include "nn_net.h"
#include "nn_train.h"

#include <stdio.h>

const nn_float xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
const nn_float xor_y[4] = {0, 1, 1, 0};

static int report(void *user, nn_net *net, int epoch, double loss, double lr) {
    (void)net, (void)lr;
    if (*(int *)user && (epoch + 1) % 100 == 0) printf("epoch %4d  mse %.6f\n", epoch + 1, loss);
    return loss < 1e-4;
}

nn_status xor_train(uint64_t seed, int max_epochs, nn_float pred[4], double *mse, int *epochs,
                    int verbose, nn_error *err) {
    nn_layer_cfg layers[] = {
        {.units = 3, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
        {.units = 1, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
    };
    nn_net_cfg cfg = {.n_inputs = 2, .n_layers = 2, .layers = layers};
    nn_net *net = NULL;
    nn_status st = nn_net_create(&cfg, &net, err);
    if (st != NN_OK) return st;
    nn_net_init(net, seed, NN_STREAM(0, NN_STREAM_INIT));
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = max_epochs;
    tc.batch_size = 4;
    tc.optim = nn_optim_defaults(NN_OPTIM_MOMENTUM);
    tc.optim.learning_rate = 0.1;
    tc.seed = seed;
    tc.on_epoch = report;
    tc.user = &verbose;
    nn_train_result res;
    st = nn_train_fit(net, xor_x, xor_y, 4, &tc, &res, err);
    if (st == NN_OK) st = nn_net_predict(net, xor_x, 4, pred, err);
    if (st == NN_OK) {
        double s = 0;
        for (int i = 0; i < 4; i++)
            s += ((double)pred[i] - xor_y[i]) * ((double)pred[i] - xor_y[i]);
        *mse = s / 4;
        *epochs = res.epochs_run;
    }
    nn_net_destroy(net);
    return st;
}
