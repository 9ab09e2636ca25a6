/* nn_cv_internal.h — the job state shared by the files of lib/cv: nn_cv.c (the front door:
 * create, run, destroy), nn_cv_task.c (one fold or the final fit), nn_cv_importance.c,
 * nn_cv_finish.c (aggregation, final model), nn_cv_checkpoint.c and nn_cv_class.c (what a
 * classification adds: classes, stratified folds, targets, class weights, scores). */
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
    nn_task task;
    nn_loss loss;      /* what the networks train with (the task's default when not given) */
    nn_labels *labels; /* classification: the classes (positive set); NULL for regression */
    int n_out;         /* the network's outputs */
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

/* Class probabilities (n × labels->n, class order, double) of the rows of a set by a pipe and
 * its networks (their mean); tolerant as nn__predict_rows (NaN rows). */
nn_status nn__predict_probs(const nn_pipe *pipe, nn_net *const *nets, int n_nets,
                            const nn_labels *labels, const nn_row_set *rows, int tolerant,
                            double *out, nn_error *err);

/* The model's networks (nn_model_n_nets of them), borrowed. */
nn_net *const *nn__model_nets(const nn_model *m);

/* Computes importance drops for one fold (validation matrices in model space, the validation
 * rows' indices for a classification's classes; nn_cv_importance.c). */
nn_status nn__cv_importance(nn_cv *cv, int fold, nn_net *const *nets, const nn_float *x,
                            const nn_float *y, const size_t *rows, size_t n, size_t nf,
                            nn_error *err);
/* Frees what task left in the job (history, kept pipeline and networks, out-of-fold
 * predictions; the model for the final fit), so it can run or be imported again
 * (nn_cv_task.c). */
void nn__cv_reset_task(nn_cv *cv, int task);
/* Stream group of ensemble member m of task f (f = -1 for the final fit; nn_cv_task.c). */
uint64_t nn__cv_group(int f, int m);
/* Mean and sd over folds of each feature's importance drops, into the result. */
nn_status nn__cv_aggregate_importance(nn_cv *cv, nn_error *err);

/* ---- classification (nn_cv_class.c) ---- */

/* After planning: the classes (taken from plan), each row's class, skipped rows, result
 * arrays. */
nn_status nn__cv_class_setup(nn_cv *cv, nn_plan *plan, nn_error *err);
/* Stratified fold order: reorders order[0..n) (already shuffled) by class, stably. */
nn_status nn__cv_stratify(const nn_cv *cv, size_t *order, size_t n, nn_error *err);
/* Network targets of rows[0..n) (nn_labels_target): *y (n × n_out) malloc'd. */
nn_status nn__cv_class_targets(const nn_cv *cv, const size_t *rows, size_t n, nn_float **y,
                               nn_error *err);
/* The class weights in network order (2 for one output) for training rows[0..n), into w; 0
 * when the spec has none (w untouched). */
int nn__cv_class_weights(const nn_cv *cv, const size_t *rows, size_t n, double *w);
/* Validation log loss and accuracy of logits pv (n × n_out) against the classes cls[0..n);
 * prob: scratch of n × (labels->n) doubles. */
void nn__cv_class_val(const nn_cv *cv, const nn_float *pv, const int *cls, size_t n, double *prob,
                      double *log_loss, double *accuracy);
/* Scores fold task f: the ensemble's probabilities of the validation rows va[0..n) (matrix xv)
 * into the out-of-fold arrays, and the fold's metrics. */
nn_status nn__cv_class_score(nn_cv *cv, int f, nn_net *const *nets, const nn_float *xv,
                             const size_t *va, size_t n, nn_error *err);
/* The metrics of fold f from the out-of-fold arrays (after scoring or importing it). */
nn_status nn__cv_class_fold_metrics(nn_cv *cv, int f, nn_error *err);
/* Out-of-fold metrics, thresholds and fold means (nn_cv_finish). */
nn_status nn__cv_class_finish(nn_cv *cv, nn_error *err);
/* Frees the classification parts of the result. */
void nn__cv_class_free(nn_cv *cv);

#endif
