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
 *
 * Between two epochs a training is its network's parameters and an nn_train_state: the
 * optimizer's state and step count, the row order (each epoch shuffles the previous epoch's
 * order), the two streams and the next epoch. nn_train_fit is nn_train_begin, nn_train_resume
 * and nn_train_state_destroy. A caller that keeps the state — in memory, or saved to bytes and
 * loaded in another process — continues the training later, and the parameters after epoch N
 * are bit-identical to an uninterrupted run's (tests/test_cv_resume.c checks it through the folds
 * that save and load it).
 */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include "nn_bytes.h"
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

/* A training about to run its first epoch, for net (its parameter count) on n rows; *out owned
 * by the caller. */
typedef struct nn_train_state nn_train_state;
nn_status nn_train_begin(const nn_net *net, size_t n, const nn_train_cfg *cfg, nn_train_state **out,
                         nn_error *err);
/* Runs epochs nn_train_state_epoch(state) … cfg->epochs − 1 (0-based) of the training state
 * belongs to (the same net, rows and cfg), updating net and state; res->epochs_run counts
 * every epoch since the start. */
nn_status nn_train_resume(nn_net *net, const nn_float *x, const nn_float *y, size_t n,
                          const nn_train_cfg *cfg, nn_train_state *state, nn_train_result *res,
                          nn_error *err);
/* The next epoch to run (0-based): the epochs done so far. */
int nn_train_state_epoch(const nn_train_state *s);
void nn_train_state_destroy(nn_train_state *s);
/* The state as bytes, and back into a state from nn_train_begin with the same net, n and cfg
 * (NN_ERR_INVALID when the bytes are short or do not fit it). */
void nn_train_state_save(const nn_train_state *s, nn_wbuf *out);
nn_status nn_train_state_load(nn_train_state *s, nn_rbuf *in, nn_error *err);

#endif
