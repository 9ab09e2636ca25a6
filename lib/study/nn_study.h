/* nn_study.h — hyperparameter studies: a base spec, a space of values at JSON pointers into it,
 * a sampler, a pruner and a budget; trials are ordinary cross-validated jobs of sampled specs.
 *
 * DESIGN: a study document is parsed and checked like a spec (nn_study_parse: every problem at
 * its JSON pointer; the base spec's own problems at "/base/…"). A space key is a JSON pointer
 * into the spec: it must name something the canonical base spec has (a key with a default counts
 * even where the written base leaves it out). A trial's spec is the written base with each
 * sampled value set at its pointer (objects on the way created, array elements never), parsed
 * by nn_spec_from_json — so every sampled spec is validated at its pointers like any other.
 * Parameters are handled in the order of their pointers, so the order the keys were written in
 * never matters.
 *
 * nn_study (the state machine) decides everything that makes a study's results reproducible,
 * and nothing else: it samples trial i from the stream (study seed, i) — grid points in order,
 * random draws, or TPE conditioned only on the trials 0 … i − 1 − lag, all finished, waiting for
 * them (so the number of workers never changes what is sampled) — and it decides rungs in trial
 * order: trial i's promotion at rung r uses only trials ≤ i at rung r and waits until each of
 * them has reported at r or is known never to reach it (nn_asha.h). Drivers (nn tune's threads,
 * nnd's engine) ask for work (nn_study_next), train it however they like, and report rung
 * values, completions and failures in any order; the decisions come out the same. The state is
 * a list of trial records (nn_study_to_json) from which nn_study_restore rebuilds the machine,
 * so a study resumes after a kill with the same trials. Not thread-safe: drivers serialize calls.
 */
#ifndef NN_STUDY_H
#define NN_STUDY_H

#include "nn_common.h"
#include "nn_metrics.h"
#include "nn_metrics_class.h"
#include "nn_spec.h"

#include <jansson.h>

#define NN_STUDY_MAX_PARAMS 64
#define NN_STUDY_MAX_CHOICES 1024
#define NN_STUDY_MAX_TRIALS 10000
#define NN_STUDY_MAX_RUNGS 32
#define NN_STUDY_MAX_TOP 64 /* trials an ensemble may select from */

/* The objective: a metric of the cross-validated job, out of fold per fold (first target), with
 * the direction it improves in by default. The first five are a regression's (nn_metrics.h), the
 * rest a classification's, named as its metrics are in a run's metrics (nn_metrics_class.h):
 * maximized are r2, accuracy, balanced_accuracy, roc_auc and f1_macro. pr_auc is not one (it is
 * NaN for more than two classes, which only the data says). Without "objective" a study of a
 * regression optimizes r2, of a classification log_loss (a proper scoring rule: continuous
 * where accuracy ties across trials on a few hundred rows, and what the networks train on). */
#define NN_OBJECTIVE_TABLE(X)                                                                      \
    X(NN_OBJ_R2, "r2")                                                                             \
    X(NN_OBJ_RMSE, "rmse")                                                                         \
    X(NN_OBJ_MAE, "mae")                                                                           \
    X(NN_OBJ_MAPE, "mape")                                                                         \
    X(NN_OBJ_MSE, "mse")                                                                           \
    X(NN_OBJ_ACCURACY, "accuracy")                                                                 \
    X(NN_OBJ_BALANCED_ACCURACY, "balanced_accuracy")                                               \
    X(NN_OBJ_LOG_LOSS, "log_loss")                                                                 \
    X(NN_OBJ_ROC_AUC, "roc_auc")                                                                   \
    X(NN_OBJ_F1_MACRO, "f1_macro")                                                                 \
    X(NN_OBJ_BRIER, "brier")
typedef enum nn_objective { NN_OBJECTIVE_TABLE(NN_ENUM_ITEM) NN_OBJ_COUNT } nn_objective;
const char *nn_objective_name(nn_objective v);
int nn_objective_from_name(const char *name, nn_objective *out);
const char *nn_objective_names(void);
/* The objective's value in m (a regression objective; NaN otherwise). */
double nn_objective_value(nn_objective o, const nn_metrics *m);
/* The objective's value in m (a classification objective; NaN otherwise). */
double nn_objective_class_value(nn_objective o, const nn_class_metrics *m);
/* 1 when o is maximized by default (r2, accuracy, balanced_accuracy, roc_auc, f1_macro). */
int nn_objective_maximized(nn_objective o);
/* The task o measures. */
nn_task nn_objective_task(nn_objective o);
/* The objectives of a task, ", "-separated (static text). */
const char *nn_objective_task_names(nn_task task);

#define NN_PARAM_TABLE(X)                                                                          \
    X(NN_PARAM_FLOAT, "float") X(NN_PARAM_INT, "int") X(NN_PARAM_CATEGORICAL, "categorical")
typedef enum nn_param_type { NN_PARAM_TABLE(NN_ENUM_ITEM) NN_PARAM_COUNT } nn_param_type;
#define NN_SAMPLER_TABLE(X)                                                                        \
    X(NN_SAMPLER_GRID, "grid") X(NN_SAMPLER_RANDOM, "random") X(NN_SAMPLER_TPE, "tpe")
typedef enum nn_sampler_kind { NN_SAMPLER_TABLE(NN_ENUM_ITEM) NN_SAMPLER_COUNT } nn_sampler_kind;
#define NN_PRUNER_TABLE(X) X(NN_PRUNER_NONE, "none") X(NN_PRUNER_ASHA, "asha")
typedef enum nn_pruner_kind { NN_PRUNER_TABLE(NN_ENUM_ITEM) NN_PRUNER_COUNT } nn_pruner_kind;

/* One dimension of the space: "/space/<pointer>". */
typedef struct nn_param {
    char *pointer; /* RFC 6901 pointer into the spec; owned */
    nn_param_type type;
    double low, high; /* float, int: the closed range */
    double step;      /* float: 0 = continuous; int: ≥ 1 (default 1) */
    int log;          /* sampled uniformly in log(value); needs low > 0 */
    json_t *choices;  /* categorical: the values (owned reference) */
    size_t n_choices;
} nn_param;

typedef struct nn_study_spec {
    char *name;       /* default "study" */
    uint64_t seed;    /* sampling; the trials' training seed is the base spec's */
    json_t *base;     /* the base spec as written (owned) */
    nn_spec *spec;    /* the base parsed */
    nn_param *params; /* (n_params) sorted by pointer */
    size_t n_params;
    nn_objective objective;
    int maximize;
    int objective_given, direction_given; /* "metric", "direction" were written */
    int task_known;                       /* the base's task is known: "task" in the base, or
                                             nn_study_resolve_task */
    nn_task task;                         /* when task_known */
    nn_sampler_kind sampler;
    int startup;    /* tpe: trials sampled at random first (default 10) */
    int lag;        /* tpe: trial i conditions on trials 0 … i − 1 − lag (default 1) */
    int candidates; /* tpe: draws from the good trials' density scored per trial (default 24) */
    double gamma;   /* tpe: fraction of the observed trials that are "good" (default 0.25) */
    nn_pruner_kind pruner;
    int min_epochs, reduction_factor; /* asha: first rung's epochs (default 10), η (default 3) */
    int max_trials, max_failed;       /* default 20 and 5 */
    int ensemble_top;                 /* trials the ensemble selects from (0 = no ensemble;
                                         default 5) */
    int ensemble_rounds;              /* greedy selection steps (default 20) */
    double holdout;                   /* fraction of rows set aside before searching (0 = none) */
    char *canonical;                  /* canonical JSON (defaults filled, sorted keys); owned */
    char hash[65];                    /* SHA-256 of canonical */
} nn_study_spec;

/* Parses and checks a study document; every problem goes to errs with its pointer (the base
 * spec's at "/base/…", a space entry's at "/space/<escaped pointer>/…", a grid larger than the
 * budget at "/budget/max_trials"). *out is the caller's on success. */
nn_status nn_study_parse(const char *text, size_t len, nn_study_spec **out, nn_spec_errors *errs);
nn_status nn_study_from_json(const json_t *doc, nn_study_spec **out, nn_spec_errors *errs);
nn_status nn_study_parse_file(const char *path, nn_study_spec **out, nn_spec_errors *errs);
void nn_study_spec_destroy(nn_study_spec *s);

/* The study meets its data: the base's task there (nn_spec_task). Without "objective" the
 * task's default is taken (r2; log_loss) and the canonical form and hash say so; an objective of
 * the other task is a problem at "/objective/metric" naming the task's objectives (NN_ERR_SPEC,
 * s unchanged). nn_study_parse does the same when the base gives "task". */
nn_status nn_study_resolve_task(nn_study_spec *s, nn_task task, nn_spec_errors *errs);

/* The number of grid points (product of the dimensions' sizes; float parameters need a step),
 * capped at NN_STUDY_MAX_TRIALS + 1. */
size_t nn_study_grid_size(const nn_study_spec *s);

/* The spec of values (an object {pointer: value}, borrowed) applied to the written base: the
 * trial's spec with the name "<study name> trial <trial + 1>" (trial < 0 keeps the base's name).
 * Problems are reported with the spec's pointers. *out is the caller's. */
nn_status nn_study_apply(const nn_study_spec *s, const json_t *values, int trial, nn_spec **out,
                         nn_spec_errors *errs);

/* ---- the state machine ---- */

#define NN_TRIAL_STATUS_TABLE(X)                                                                   \
    X(NN_TRIAL_RUNNING, "running")                                                                 \
    X(NN_TRIAL_COMPLETED, "completed")                                                             \
    X(NN_TRIAL_PRUNED, "pruned")                                                                   \
    X(NN_TRIAL_FAILED, "failed")
typedef enum nn_trial_status {
    NN_TRIAL_STATUS_TABLE(NN_ENUM_ITEM) NN_TRIAL_STATUS_COUNT
} nn_trial_status;
const char *nn_trial_status_name(nn_trial_status v);
int nn_trial_status_from_name(const char *name, nn_trial_status *out);

#define NN_STUDY_STATUS_TABLE(X)                                                                   \
    X(NN_STUDY_RUNNING, "running")                                                                 \
    X(NN_STUDY_COMPLETED, "completed")                                                             \
    X(NN_STUDY_FAILED, "failed")                                                                   \
    X(NN_STUDY_CANCELLED, "cancelled")
typedef enum nn_study_status {
    NN_STUDY_STATUS_TABLE(NN_ENUM_ITEM) NN_STUDY_STATUS_COUNT
} nn_study_status;
const char *nn_study_status_name(nn_study_status v);
int nn_study_status_from_name(const char *name, nn_study_status *out);

/* What a completed trial reports besides its rung values. */
typedef struct nn_trial_result {
    double mean, sd; /* the objective over folds (units, first target) */
    double oof;      /* the objective out of fold over every validated row */
    json_t *metrics; /* other metrics out of fold ({"r2": …, "rmse": …}; a classification's
                        {"accuracy": …, "log_loss": …, "accuracy_mean": …});
                        borrowed by nn_study_report_complete, which keeps a copy */
    double seconds;  /* training time of the trial, all its tasks */
    size_t n_params; /* parameters of one network */
} nn_trial_result;

/* A trial as the machine knows it. */
typedef struct nn_trial {
    int index; /* 0-based */
    nn_trial_status status;
    json_t *values; /* {pointer: value} sampled (owned by the machine) */
    double *x;      /* (n_params) the values as numbers: float/int (log scale when log),
                       categorical index */
    nn_spec *spec;  /* the trial's spec (owned by the machine) */
    int n_rungs;    /* this trial's rung count (its epochs decide the last) */
    int rung_epochs[NN_STUDY_MAX_RUNGS];
    int reached; /* rungs reported (values in rung_value[0 … reached)) */
    double rung_value[NN_STUDY_MAX_RUNGS]; /* mean over folds of the objective at the rung */
    int handed_out;         /* the work of rung `reached` was handed out and not yet reported */
    int decided;            /* rungs whose promotion was decided (≤ reached) */
    nn_trial_result result; /* completed only (metrics owned by the machine) */
    char error[256];        /* failed only */
} nn_trial;

typedef enum nn_work_kind {
    NN_WORK_WAIT, /* nothing to hand out until a report arrives */
    NN_WORK_TRAIN,
    NN_WORK_DONE, /* the study is over */
} nn_work_kind;

/* A rung of a trial to train: every fold from epoch from_epoch to until_epoch (from_epoch 0:
 * from scratch; otherwise resumed from the folds' states at from_epoch). last: until_epoch is
 * the trial's full epoch count — the driver finishes the trial (final fit, results) and reports
 * the rung and then the completion. */
typedef struct nn_study_work {
    nn_work_kind kind;
    int trial, rung;
    int from_epoch, until_epoch;
    int last;
} nn_study_work;

typedef struct nn_study nn_study;

/* A new study of spec (borrowed; it must outlive the machine). */
nn_status nn_study_create(const nn_study_spec *spec, nn_study **out, nn_error *err);
void nn_study_destroy(nn_study *st);

/* The next work: the lowest-numbered trial's pending rung, else a new trial (sampled now, when
 * the budget and the sampler's dependencies allow). Handing it out marks it in progress; a
 * driver that cannot finish it calls nn_study_release. Errors: a sampled spec that does not
 * parse (the trial fails with the reason, counted against max_failed; the call still
 * succeeds), out of memory. */
nn_status nn_study_next(nn_study *st, nn_study_work *w, nn_error *err);
/* Gives back work handed out and not reported (a driver stopping): it is handed out again. */
void nn_study_release(nn_study *st, int trial);
/* Trial's rung results: the objective of each of its n folds at the rung's epoch. A NaN value
 * (a fold that could not be scored) fails the trial. */
nn_status nn_study_report_rung(nn_study *st, int trial, int rung, const double *fold_values,
                               int n_folds, nn_error *err);
/* After the last rung's report: the trial's results (res->metrics copied). */
nn_status nn_study_report_complete(nn_study *st, int trial, const nn_trial_result *res,
                                   nn_error *err);
/* The trial failed (diverged, its spec did not fit the data …): counted against max_failed. */
nn_status nn_study_report_failed(nn_study *st, int trial, const char *why, nn_error *err);
/* Stops handing out work; the status becomes cancelled once nothing is in progress. */
void nn_study_cancel(nn_study *st);

nn_study_status nn_study_get_status(const nn_study *st);
/* A failed study's reason ("" otherwise). */
const char *nn_study_error(const nn_study *st);
int nn_study_n_trials(const nn_study *st);
/* Whether work handed out has not been reported yet. */
int nn_study_in_progress(const nn_study *st);
const nn_trial *nn_study_trial(const nn_study *st, int i);
/* Trials by rank: completed by objective's fold mean (best first), then running ones, then pruned
 * by rungs reached (more first) and value at the last, then failed; NaN after numbers, ties by
 * trial number. *order (n_trials, malloc'd) is the caller's. Returns the count, or -1. */
int nn_study_ranking(const nn_study *st, int **order, nn_error *err);
/* Index of the best completed trial, or -1. */
int nn_study_best(const nn_study *st);
/* Epoch × fold budget handed out so far (every rung's epochs beyond its start, times k). */
long long nn_study_epoch_folds(const nn_study *st);

/* The state as JSON (a new reference): every trial's values, status, rung values, results. */
json_t *nn_study_to_json(const nn_study *st);
/* Rebuilds a new machine's state from nn_study_to_json's output of the same study spec:
 * resamples every trial (checking the values agree) and replays its reports. */
nn_status nn_study_restore(nn_study *st, const json_t *state, nn_error *err);

/* The out-of-fold metrics of a task that a trial's result and the leaderboard carry, as a run's
 * metrics name them (NULL-ended, static): r2, rmse, mae, mape, mse; accuracy,
 * balanced_accuracy, log_loss, roc_auc, pr_auc, f1_macro, brier. */
const char *const *nn_study_metric_keys(nn_task task);

/* The leaderboard: one object per trial in ranking order with rank, trial (1-based), status,
 * the sampled values, objective mean and sd, out of fold, the other metrics, epochs reached,
 * seconds and parameters (a new reference). */
json_t *nn_study_leaderboard(const nn_study *st);
/* The same as CSV text (malloc'd): rank, trial, status, one column per parameter (its pointer),
 * objective, objective_sd, objective_oof, the objective's task's out-of-fold metrics
 * (nn_study_metric_keys, blank but for completed trials),
 * epochs, seconds, params, error. */
char *nn_study_leaderboard_csv(const nn_study *st);

/* ---- reading a trial's run (nn_study_result.c) ---- */

/* The objective of each fold from a job's metrics (nn_report_metrics: folds[f].units[first
 * target][metric]) into out (at most max); returns the count, 0 when there are no folds. A fold
 * without the metric gives NaN. */
int nn_study_fold_objective(const nn_study_spec *s, const json_t *metrics, double *out, int max);
/* A completed trial's result from its job's metrics: the folds' objective mean and sd, the
 * objective out of fold (the top-level metric), the top-level metrics copied (r2, rmse, mae,
 * mape, mse; a classification's nn_study_metric_keys and
 * accuracy, log_loss, roc_auc fold means and sds; a new reference in out->metrics, the
 * caller's), train_seconds. NN_ERR_INVALID when the metrics have no folds. A classification
 * objective is read from folds[f][metric], a regression's from folds[f].units[target][metric]. */
nn_status nn_study_result_from_metrics(const nn_study_spec *s, const json_t *metrics,
                                       nn_trial_result *out, nn_error *err);

/* ---- the ensemble and the holdout (nn_study_ensemble.c) ---- */

/* Caruana et al.'s greedy forward selection with replacement: `rounds` times, adds to the
 * ensemble the model (of m, each pred[j] n predictions of the first target) whose addition
 * gives the equal-weight average of the selected models the lowest mean squared error against
 * actual (the first such model on ties). Rows where actual or any prediction is not a number
 * are left out. counts[j] (m) is how often model j was selected (weights counts / rounds);
 * *mse the ensemble's mean squared error. NN_ERR_INVALID when no row is usable. */
nn_status nn_caruana_select(const double *const *pred, size_t m, const double *actual, size_t n,
                            int rounds, int *counts, double *mse, nn_error *err);
/* The R² of the ensemble whose mean squared error nn_caruana_select gave (*r2) and of the first
 * model alone (*r2_first), over the rows it used (*used: actual and every prediction numbers);
 * NaN when those rows' actual values do not vary. */
void nn_caruana_r2(const double *const *pred, size_t m, const double *actual, size_t n, double mse,
                   double *r2, double *r2_first, size_t *used);
/* The ensemble's prediction of row i: Σ counts[j] pred[j][i] / Σ counts. */
double nn_caruana_predict(const double *const *pred, size_t m, const int *counts, size_t i);

/* A classification's selection (nn_study_class.c): prob[j] is model j's n × k class
 * probabilities (row-major, class order), actual[i] the class of row i (< 0: none). The same
 * greedy forward selection with replacement, each step scored by the classification objective o
 * of the equal-weight average of the selected models' probabilities (better: higher when
 * maximize), a row's class taken from its averaged probabilities as a single model's predict
 * does (nn_class_predict at 0.5: the positive class of two when its probability is ≥ 0.5, else
 * the first most probable). The first such model on ties; a NaN score loses to any number. Rows
 * without a class or with a probability that is not a number are left out. *value is the
 * ensemble's objective. NN_ERR_INVALID when no row is usable or o is not a classification's. */
nn_status nn_caruana_select_class(const double *const *prob, size_t m, const int *actual, size_t n,
                                  int k, int positive, nn_objective o, int maximize, int rounds,
                                  int *counts, double *value, nn_error *err);
/* The count-weighted average of the models' rows: out[i·width + c] = Σ counts[j]
 * pred[j][i·width + c] / Σ counts for i < n, c < width (NaN when every count is 0). */
void nn_caruana_average(const double *const *pred, size_t m, const int *counts, size_t width,
                        size_t n, double *out);
/* The classification metrics of probabilities prob (n × k) against the classes y, over the rows
 * with a class (≥ 0) and finite probabilities: {"accuracy", "balanced_accuracy", "log_loss",
 * "roc_auc", "f1_macro", "brier", "rows"} (NaN as null) — a new reference, NULL when out of
 * memory. The predicted class is nn_class_predict's at 0.5. */
json_t *nn_study_class_score(const int *y, const double *prob, size_t n, int k, int positive);

/* Marks the rows set aside as the study's holdout: round(fraction · n) rows (at least one when
 * fraction > 0 and n > 1, never all), chosen by a shuffle of the (seed, NN_STREAM_HOLDOUT)
 * stream. mask (n) gets 1 for a holdout row. Returns the count. */
size_t nn_study_holdout_rows(uint64_t seed, double fraction, size_t n, unsigned char *mask);

#endif
