/* xor — a 2-3-1 tanh network learns XOR with momentum SGD.
 *
 *   xor [SEED]     prints the loss every 100 epochs and the four predictions
 */
#include "nn_net.h"
#include "nn_train.h"

#include <stdio.h>
#include <stdlib.h>

static int report(void *user, nn_net *net, int epoch, double loss, double lr) {
    (void)user, (void)net, (void)lr;
    if ((epoch + 1) % 100 == 0) printf("epoch %4d  mse %.6f\n", epoch + 1, loss);
    return loss < 1e-4;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    const nn_float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const nn_float y[] = {0, 1, 1, 0};
    nn_layer_cfg layers[] = {
        {.units = 3, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
        {.units = 1, .act = NN_ACT_TANH, .weight_init = NN_INIT_GLOROT_UNIFORM},
    };
    nn_net_cfg cfg = {.n_inputs = 2, .n_layers = 2, .layers = layers};
    nn_error err = {0};
    nn_net *net = NULL;
    if (nn_net_create(&cfg, &net, &err) != NN_OK) {
        fprintf(stderr, "xor: %s\n", err.msg);
        return 1;
    }
    nn_net_init(net, seed, NN_STREAM(0, NN_STREAM_INIT));
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = 1000;
    tc.batch_size = 4;
    tc.optim = nn_optim_defaults(NN_OPTIM_MOMENTUM);
    tc.optim.learning_rate = 0.1;
    tc.seed = seed;
    tc.on_epoch = report;
    nn_train_result res;
    if (nn_train_fit(net, x, y, 4, &tc, &res, &err) != NN_OK) {
        fprintf(stderr, "xor: %s\n", err.msg);
        nn_net_destroy(net);
        return 1;
    }
    nn_float p[4];
    if (nn_net_predict(net, x, 4, p, &err) != NN_OK) {
        fprintf(stderr, "xor: %s\n", err.msg);
        nn_net_destroy(net);
        return 1;
    }
    printf("seed %llu: %d epochs, mse %.6f\n", (unsigned long long)seed, res.epochs_run,
           res.last_loss);
    for (int i = 0; i < 4; i++)
        printf("  %g xor %g -> %.4f\n", (double)x[2 * i], (double)x[2 * i + 1], (double)p[i]);
    nn_net_destroy(net);
    return 0;
}
