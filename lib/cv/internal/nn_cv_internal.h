/* nn_cv_internal.h — the job state shared by the files of lib/cv: nn_cv.c (the front door:
 * create, run, destroy), nn_cv_task.c (one fold or the final fit), nn_cv_importance.c,
 * nn_cv_finish.c (aggregation, final model), nn_cv_checkpoint.c and nn_cv_class.c (what a
 * classification adds: classes, stratified folds, targets, class weights, scores). */
#ifndef NN_CV_INTERNAL_H
#define NN_CV_INTERNAL_H

#include "nn_bytes.h"
#include "nn_cv.h"
#include "nn_pipe.h"
#include "nn_train.h"

#include <pthread.h>

/* What a fold keeps for aggregation: its fitted pipeline and network, and the permutation
 * importance drops per feature ((n_features × repeats), NULL when importance is off). */
typedef struct nn__fold_keep {
    nn_pipe *pipe;
    nn_net **nets; /* (spec->ensemble) */
    double *drops;
    unsigned char *state; /* its training state at stop_at (nn_cv_task_state), or NULL */
    size_t state_len;
} nn__fold_keep;

/* A fold state handed to the job for a task's next run (nn_cv_task_resume). */
typedef struct nn__resume {
    unsigned char *p;
    size_t len;
} nn__resume;

/* An ensemble member's trackers between epochs (nn_cv_task.c's epoch callback): the plateau's
 * factor on the learning rate, the early-stopping and plateau monitors' best values and waits,
 * the best epoch, and whether early stopping ended the member's training. */
typedef struct nn__member_track {
    double lr_factor, es_best, rp_best;
    int es_wait, rp_wait, best_epoch, es_stopped;
} nn__member_track;

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
    char traj[65];      /* nn_spec_trajectory of the spec */
    nn__resume *resume; /* (n_folds) states to continue from: slot f is fold f's task's alone */
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

/* ---- fold states (nn_cv_state.c) ---- */

/* The header of fold task's state: format, build (nn_bytes_mark), trajectory, task, epoch,
 * ensemble size, rows and parameters per network; a checksum of what follows it is filled in by
 * nn__state_seal. */
void nn__state_begin(const nn_cv *cv, int task, size_t n_train, size_t n_params, nn_wbuf *out);
void nn__state_seal(nn_wbuf *out);
/* Checks in's header and checksum against cv and task, leaving in at the first member;
 * *n_train, *n_params and *epoch from it. */
nn_status nn__state_open(const nn_cv *cv, int task, nn_rbuf *in, size_t *n_train, size_t *n_params,
                         int *epoch, nn_error *err);
/* One member: done (it trains no further), its trackers, parameters, best parameters (best may
 * be NULL), training state and history rows h[0 … n_h). */
void nn__member_save(nn_wbuf *out, const nn_net *net, const nn_train_state *ts,
                     const nn__member_track *tr, const nn_float *best, int done,
                     const nn_history_row *h, int n_h);
/* Reads one member back into net, ts, tr, best (when not NULL: best weights are kept) and
 * h[0 … *n_h) (at most max_h rows; fold and member are the caller's to set). */
nn_status nn__member_load(nn_rbuf *in, nn_net *net, nn_train_state *ts, nn__member_track *tr,
                          nn_float *best, int *done, nn_history_row *h, int max_h, int *n_h,
                          nn_error *err);
void nn__cv_resume_free(nn_cv *cv);

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
