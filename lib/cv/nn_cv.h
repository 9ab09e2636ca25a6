/* nn_cv.h — cross-validated training: folds, per-epoch reports, out-of-fold predictions,
 * metrics, the final model.
 *
 * DESIGN: a job is split into tasks: one per fold (k for kfold, 1 for holdout, 0 for none) and,
 * when the spec asks for a refit (or there is no validation), one final task. nn_cv_create plans
 * the spec against the data and assigns rows to folds with the (seed, NN_STREAM_FOLDS) stream:
 * a shuffled order, row at position i going to fold i mod k. Each fold task fits the pipeline on
 * its training rows only, transforms its validation rows with that fitted state, trains a fresh
 * network whose initialization, shuffling and dropout streams belong to group fold + 1, and
 * records per-epoch history, early-stopping state and out-of-fold predictions reverted to the
 * target's units. With "ensemble": N a task trains N networks one after the other (member m
 * draws from stream group (fold + 1) + m·2^24; member 0 is the plain single network) and
 * averages their predictions in model space. Because every random draw is tied to its fold, results
 * are bit-identical whatever the number of threads and whichever thread runs which fold. Tasks
 * write only their own slots of the result, so distinct tasks run concurrently without locks; the
 * report callback is called under the job's mutex, so callers need no locking of their own. The
 * final task must run after all fold tasks (a refit after early stopping trains for the folds' mean
 * best epoch). nn_cv_finish aggregates: out-of-fold metrics over every validated row, per-fold
 * metrics with mean ± sd, permutation importance, and the final model (refit, or the best fold's).
 *
 * Rows whose target is missing are *skipped*: they are in no fold, neither train nor score, and
 * the shuffle that makes the folds runs over the other rows only (so a table without such rows
 * gets the folds it always got). nn_cv_finish predicts them with the final model, or with the
 * mean of the fold models when "final" is "none"; a row whose inputs cannot be transformed gets
 * no prediction. A task holds no copy of the table: the pipeline is fitted and applied block by
 * block on the job's one table, straight into the task's float matrices.
 *
 * Classification (the spec's task on the data, nn_spec_task): the classes are the target's
 * labels over the rows that have one (nn_labels), found before the folds; k-fold and holdout
 * folds are stratified unless "stratify" is false — the shuffled rows are ordered by class
 * (keeping the shuffled order within a class) and dealt out, so every fold holds each class in
 * proportion. The network ends in logits (one for two classes, one per class otherwise) and
 * trains with cross-entropy (class weights "balanced" come from each fold's training rows).
 * Predictions are class probabilities computed in double from the logits, averaged over the
 * ensemble's members; the predicted class is the most probable one (for two classes: the
 * positive one when its probability is ≥ 0.5). Out of fold, each validated row has its
 * probabilities (oof_prob) and predicted class (oof_pred); metrics are nn_class_metrics, per
 * fold and over every validated row, and for two classes the threshold maximizing F1 out of
 * fold next to the results at 0.5.
 */
#ifndef NN_CV_H
#define NN_CV_H

#include "nn_common.h"
#include "nn_labels.h"
#include "nn_metrics.h"
#include "nn_metrics_class.h"
#include "nn_model.h"
#include "nn_spec.h"
#include "nn_table.h"

#include <jansson.h>
#include <stdatomic.h>

typedef enum nn_cv_event_kind {
    NN_CV_FOLD_START,
    NN_CV_EPOCH,
    NN_CV_FOLD_END,
} nn_cv_event_kind;

typedef struct nn_history_row {
    int fold;                          /* 0-based; -1 for the final refit */
    int epoch;                         /* 1-based */
    int member;                        /* 0-based network of the fold's ensemble */
    double train_loss;                 /* model space, mean over the epoch */
    double val_loss;                   /* model space; NaN without validation */
    double val_r2;                     /* model space, first target; NaN without validation or for a
                                          classification */
    double val_log_loss, val_accuracy; /* classification on the validation rows; NaN else */
    double lr;
    double seconds; /* since the task started */
} nn_history_row;

typedef struct nn_fold_result {
    int fold;              /* -1 for the final refit */
    size_t n_train, n_val; /* n_train after filter_outliers */
    int epochs_run;        /* of the longest-running ensemble member */
    int resumed_epoch;     /* the epoch its training continued from (nn_cv_task_resume); 0 when
                              it trained from the start */
    int best_epoch;        /* 1-based best epoch by the monitor (the last without early
                              stopping; the rounded mean over ensemble members); its weights
                              are kept when restore_best is on */
    double seconds;
    nn_metrics *units;       /* (n_targets) validation metrics in the targets' units, of the
                                ensemble's mean prediction */
    nn_metrics *model;       /* (n_targets) in model space */
    nn_class_metrics cls;    /* classification: the validation rows' metrics (arrays owned) */
    nn_history_row *history; /* (n_history) every member's epochs, member by member */
    int n_history;
    nn_status status;
    char error[256];
} nn_fold_result;

typedef struct nn_cv_event {
    nn_cv_event_kind kind;
    int fold; /* -1 for the final refit */
    int n_folds;
    const nn_history_row *epoch;  /* NN_CV_EPOCH */
    const nn_fold_result *result; /* NN_CV_FOLD_END: the fold's result; NN_CV_EPOCH: the result
                                     so far (n_train, n_val are set) */
    int epochs;                   /* planned epochs */
} nn_cv_event;

typedef void (*nn_cv_report_fn)(void *user, const nn_cv_event *ev);

typedef struct nn_cv_cfg {
    nn_cv_report_fn report; /* may be NULL; called under the job's mutex */
    void *user;
    const atomic_int *cancel; /* may be NULL */
} nn_cv_cfg;

typedef struct nn_importance {
    char *feature;   /* owned by the result */
    double mean, sd; /* drop in validation R² (model space) when the feature is permuted */
} nn_importance;

typedef struct nn_cv_result {
    size_t n_rows, n_targets;
    int n_folds;
    nn_fold_result *folds; /* (n_folds) */
    nn_fold_result final;  /* the refit, when there was one (fold = -1) */
    int has_final_fit;
    nn_task task;
    int *oof_fold;    /* (n_rows) fold that validated the row, -1 if none */
    double *oof_pred; /* (n_rows × n_targets) in units; NaN where not validated; for
                         skipped rows the final model's prediction (the folds' mean
                         without one), NaN when their inputs allow none. Classification:
                         the predicted class's index */
    double *actual;   /* (n_rows × n_targets) the targets as given (NaN = missing);
                         classification: the class index */
    /* classification only (NULL/empty for regression) */
    const nn_labels *labels; /* the classes (borrowed from the job) */
    int *actual_class;       /* (n_rows) class of each row's label, -1 where missing */
    double *oof_prob;        /* (n_rows × labels->n) class probabilities, NaN where oof_pred is */
    nn_class_metrics overall_class; /* out of fold */
    nn_threshold at_half, best_f1;  /* two classes, out of fold: at 0.5 and at the best F1 */
    double acc_mean, acc_sd, ll_mean, ll_sd, auc_mean, auc_sd; /* across folds */
    unsigned char *skipped; /* (n_rows) 1 where a target is missing: the row is left out
                               of training and scoring (never in a fold) */
    size_t n_skipped;
    nn_metrics *overall;       /* (n_targets) out-of-fold, units */
    nn_metrics *overall_model; /* (n_targets) out-of-fold, model space */
    double r2_mean, r2_sd, rmse_mean, rmse_sd, mae_mean, mae_sd; /* across folds, first target */
    nn_importance *importance; /* (n_importance) sorted by mean, descending; NULL if off */
    size_t n_importance;
    double train_seconds; /* wall time of nn_cv_run */
    size_t n_params;      /* parameters of one network (the plan's count) */
} nn_cv_result;

typedef struct nn_cv nn_cv;

/* Plans and prepares a job; spec and data are borrowed and must outlive the job. Spec problems
 * found against the data come back as NN_ERR_SPEC with the first problem's pointer in err and
 * all of them in errs (errs may be NULL). */
nn_status nn_cv_create(const nn_spec *spec, const nn_table *data, const nn_cv_cfg *cfg, nn_cv **out,
                       nn_spec_errors *errs, nn_error *err);
void nn_cv_destroy(nn_cv *cv);

/* The tasks a spec's job has, from the spec alone: *n_folds fold tasks (k, 1 for holdout, 0 for
 * none) and *has_final (a final fit after the folds: "final": "refit", or no validation). */
void nn_cv_plan_tasks(const nn_spec *spec, int *n_folds, int *has_final);

int nn_cv_n_tasks(const nn_cv *cv);
int nn_cv_n_folds(const nn_cv *cv);
/* Runs task i (0..n_folds-1 folds, n_folds the final fit). Distinct tasks may run concurrently.
 * A task that ran (or was imported) before is reset first, so a task can run again after an
 * attempt whose outcome was not kept. */
nn_status nn_cv_run_task(nn_cv *cv, int task, nn_error *err);
/* The same with the task's own cancel flag (read between batches) instead of the job's. */
nn_status nn_cv_run_task_cancel(nn_cv *cv, int task, const atomic_int *cancel, nn_error *err);
/* Whether task's outcome is in this job (it ran here, or its checkpoint was imported). */
int nn_cv_task_done(const nn_cv *cv, int task);
/* After every task: aggregates results and builds the final model. */
nn_status nn_cv_finish(nn_cv *cv, nn_error *err);
/* Runs every task on `threads` threads (≥ 1), then nn_cv_finish. */
nn_status nn_cv_run(nn_cv *cv, int threads, nn_error *err);

/* Checkpoints: a finished fold task as JSON (its result, history, out-of-fold predictions,
 * fitted pipeline, networks and importance drops; new reference, dump it with
 * JSON_REAL_PRECISION(17)), and back into a job built from the same spec and data, which then
 * counts the task as done without running it. This lets a restarted daemon resume a run from
 * its finished folds; the numbers are the same as if the task had run (training is
 * deterministic). */
nn_status nn_cv_task_export(const nn_cv *cv, int task, json_t **out, nn_error *err);
nn_status nn_cv_task_import(nn_cv *cv, int task, const json_t *in, nn_error *err);

/* Fold states: a fold of a job whose spec has "stop_at" N is a prefix of the longer job of the
 * same trajectory (nn_spec_trajectory: the spec but for its name, stop_at and final). After
 * such a fold has run, nn_cv_task_state gives its training state at epoch N as bytes: per
 * ensemble member the parameters, the optimizer's state, the row order and random streams
 * (nn_train_state), the early-stopping and plateau trackers, the best weights and the history.
 * Handed to a job of the same trajectory and data that trains further (nn_cv_task_resume), the
 * fold continues from epoch N — its history so far reported again as epochs — and everything it
 * produces is bit-identical to training from epoch 1 (tests/test_cv_resume.c). This is how a
 * study promotes a trial from one rung to the next without training the rung again.
 *
 * *out (malloc'd, the caller's) and *len; *epoch = N. NN_ERR_NOT_FOUND when the task has no
 * state: it is not a fold, did not run here, or its spec has no stop_at. */
nn_status nn_cv_task_state(const nn_cv *cv, int task, unsigned char **out, size_t *len, int *epoch,
                           nn_error *err);
/* Validates state (copied) for fold task and keeps it for the task's next run (distinct tasks
 * may be handed theirs concurrently, as they run). NN_ERR_INVALID
 * with the reason when it is corrupt, of another build, trajectory or fold, or further than
 * this job trains; the task then trains from epoch 1 as before. */
nn_status nn_cv_task_resume(nn_cv *cv, int task, const unsigned char *state, size_t len,
                            nn_error *err);
const nn_cv_result *nn_cv_result_get(const nn_cv *cv);
/* The final model (NULL with "final": "none"); ownership passes to the caller. */
nn_model *nn_cv_take_model(nn_cv *cv);

#endif
