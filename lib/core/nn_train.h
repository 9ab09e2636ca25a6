/* nn_train.h — the mini-batch training loop.
 *
 * DESIGN: nn_train_fit runs `epochs` epochs over (x, y). Each epoch draws a fresh permutation of
 * the rows from the shuffle stream (seed, NN_STREAM(group, NN_STREAM_SHUFFLE)), cuts it into
 * batches of batch_size rows (the last partial batch is kept), and for each batch gathers the rows,
 * runs forward (dropout masks from (seed, NN_STREAM(group, NN_STREAM_DROPOUT))), the loss
 * gradient (mean over the batch), backward, and one optimizer step with the epoch's learning
 * rate from the schedule. The cancel flag is read between batches. After each epoch the callback
 * receives the epoch, the mean training loss over the epoch's samples (data loss, without the
 * L2 term) and the learning rate, and may stop training by returning nonzero. A non-finite batch
 * loss stops training with NN_ERR_DIVERGED naming the epoch and batch. Nothing here depends on
 * threads or time, so the same inputs give bit-identical parameters.
 */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include "nn_common.h"
#include "nn_loss.h"
#include "nn_net.h"
#include "nn_optim.h"
#include "nn_sched.h"

#include <stdatomic.h>

/* Called after each epoch; return nonzero to stop training (not an error). */
typedef int (*nn_epoch_fn)(void *user, nn_net *net, int epoch, double train_loss, double lr);

typedef struct nn_train_cfg {
    int epochs;     /* ≥ 1 */
    int batch_size; /* ≥ 1; larger than n means full batch */
    nn_loss loss;
    nn_optim_cfg optim;
    nn_sched sched;
    uint64_t seed;
    uint64_t group;       /* stream group: 0 for a single training, fold + 1 for a fold */
    int no_shuffle;       /* keep row order (for tests and debugging) */
    nn_epoch_fn on_epoch; /* may be NULL */
    void *user;
    const atomic_int *cancel; /* may be NULL; nonzero cancels between batches */
    const double *lr_factor;  /* may be NULL; multiplies the schedule's rate, read per epoch
                                 (the callback may lower it: reduce-on-plateau) */
} nn_train_cfg;

typedef struct nn_train_result {
    int epochs_run;
    double last_loss; /* training loss of the last epoch run */
    int stopped;      /* the callback stopped training */
} nn_train_result;

/* Defaults: 100 epochs, batch 32, mse, adam (lr 0.001), constant schedule, seed 0, group 0. */
nn_train_cfg nn_train_defaults(void);

/* Trains net on x (n × n_inputs) and y (n × n_outputs), both borrowed. The network's parameters
 * are trained in place from their current values (initialize them first). res may be NULL. */
nn_status nn_train_fit(nn_net *net, const nn_float *x, const nn_float *y, size_t n,
                       const nn_train_cfg *cfg, nn_train_result *res, nn_error *err);

#endif
