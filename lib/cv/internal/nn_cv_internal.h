/* nn_cv_internal.h — the job state shared by the files of lib/cv: nn_cv.c (the front door:
 * create, run, destroy), nn_cv_task.c (one fold or the final fit), nn_cv_importance.c,
 * nn_cv_finish.c (aggregation, final model) and nn_cv_checkpoint.c. */
#ifndef NN_CV_INTERNAL_H
#define NN_CV_INTERNAL_H

#include "nn_cv.h"
#include "nn_pipe.h"

#include <pthread.h>

/* What a fold keeps for aggregation: its fitted pipeline and network, and the permutation
 * importance drops per feature ((n_features × repeats), NULL when importance is off). */
typedef struct nn__fold_keep {
    nn_pipe *pipe;
    nn_net **nets; /* (spec->ensemble) */
    double *drops;
} nn__fold_keep;

struct nn_cv {
    const nn_spec *spec;
    const nn_table *data;
    nn_cv_cfg cfg;
    int n_folds;
    int has_final;       /* a final refit task exists */
    int *fold_of;        /* (n_rows) validating fold of each row, -1 = training only */
    int *target_col;     /* (n_targets) column index of each target in data */
    nn__fold_keep *keep; /* (n_folds) */
    nn_model *model;
    nn_cv_result res;
    pthread_mutex_t mu;
};

/* Predictions in the targets' units of the rows of a set (rows->data needs the pipe's raw
 * columns) by a pipe and its networks (mean in model space, reverted once): out (n × n_targets,
 * the caller's). tolerant: a row whose inputs cannot be transformed (missing, out of a log's
 * domain …) gets NaN instead of failing the call (nn_model.c). */
nn_status nn__predict_rows(const nn_pipe *pipe, nn_net *const *nets, int n_nets,
                           const nn_row_set *rows, int tolerant, double *out, nn_error *err);

/* The model's networks (nn_model_n_nets of them), borrowed. */
nn_net *const *nn__model_nets(const nn_model *m);

/* Computes importance drops for one fold (validation matrices in model space; nn_cv_importance.c).
 */
nn_status nn__cv_importance(nn_cv *cv, int fold, nn_net *const *nets, const nn_float *x,
                            const nn_float *y, size_t n, size_t nf, nn_error *err);
/* Frees what task left in the job (history, kept pipeline and networks, out-of-fold
 * predictions; the model for the final fit), so it can run or be imported again
 * (nn_cv_task.c). */
void nn__cv_reset_task(nn_cv *cv, int task);
/* Stream group of ensemble member m of task f (f = -1 for the final fit; nn_cv_task.c). */
uint64_t nn__cv_group(int f, int m);
/* Mean and sd over folds of each feature's importance drops, into the result. */
nn_status nn__cv_aggregate_importance(nn_cv *cv, nn_error *err);

#endif
