/* nn_pipe.h — preprocessing pipelines: planned against a dataset, fitted on training rows,
 * applied to any rows, reverted on predictions.
 *
 * DESIGN: a spec's "preprocess" steps run in order over a table. nn_pipe_plan is a dry run that
 * reports every problem with its JSON pointer ("/preprocess/3/columns/1: no column
 * \"sqft_livng\" (did you mean \"sqft_living\"?)"), checks that the values the network would
 * get are usable and that the job can run (folds, holdout), and gives the expanded feature list
 * and the job's size (rows × width). nn_pipe_fit fits each step on the *training rows only* (the
 * output of the previous steps applied to those rows; filter_outliers removes training rows from
 * what later steps see), recording the fitted state (min/max, mean/sd, quartiles, categories,
 * imputed values). nn_pipe_transform applies that state to any table — a fold's validation rows,
 * new rows to predict — without refitting, so nothing leaks from validation into training. Row
 * filters apply only when fitting. Steps that touch a target are invertible (log, normalize …)
 * and nn_pipe_revert undoes them in reverse order, turning model-space predictions into the
 * target's own units. The fitted state serializes to JSON for model files.
 *
 * Rows whose target (any of them) is missing are left out of the plan and of training: a job
 * counts them (nn_plan.n_skipped) and predicts them, but neither fits nor scores on them.
 *
 * After the steps, the inputs are every remaining number column except the targets and the id
 * column, in table order; any remaining text column (other than the id) is a plan error.
 *
 * Memory: fitting and transforming work through blocks of rows (nn_pipe.c DESIGN), so they
 * never hold a table of rows × width; the matrices are the only full-size result.
 */
#ifndef NN_PIPE_H
#define NN_PIPE_H

#include "nn_common.h"
#include "nn_labels.h"
#include "nn_spec.h"
#include "nn_table.h"

#include <jansson.h>

typedef struct nn_pipe nn_pipe;

/* The expanded shape of a spec on a dataset. */
typedef struct nn_plan {
    char **features; /* (n_features) input names in matrix column order, owned */
    size_t n_features;
    nn_task task;      /* the spec's task on this data */
    nn_labels *labels; /* classification: the target's classes with their row counts (and the
                          positive class); NULL for regression; owned */
    size_t n_params;   /* parameters of the spec's network for this many inputs */
    size_t n_rows;     /* rows trained and scored on: those with every target */
    size_t n_skipped;  /* rows left out because a target is missing */
    uint64_t cells;    /* n_rows × n_features: the input matrix of every row */
    uint64_t bytes;    /* n_rows × (n_features + targets) × sizeof(nn_float): the matrices of
                          the final refit; a fold holds about as much (training + validation)
                          while it trains, so a job on T threads about T times this */
} nn_plan;

/* Dry-runs spec's steps over data's columns (using data's values only where the shape depends
 * on them: one_hot categories; and to check the values). Returns NN_OK and *out (owned), or
 * NN_ERR_SPEC with every problem in errs (problems are appended). Everything nn_cv_create and
 * the job's tasks would refuse about this spec on this data is refused here, at its pointer:
 * unknown or mistyped columns, a step wider than NN_MAX_COLUMNS (at that step, before anything
 * that wide is built), values the network cannot take, too few rows with a target for the
 * folds, a network over NN_SPEC_MAX_PARAMS for this input width; for a classification, a target
 * with fewer than two classes, a class with fewer rows than folds, a "positive" or a class
 * weight naming no class, and whatever does not fit the task (nn_spec_check_task). */
nn_status nn_pipe_plan(const nn_spec *spec, const nn_table *data, nn_plan **out,
                       nn_spec_errors *errs);
void nn_plan_destroy(nn_plan *plan);

/* Some rows of a table: idx[0..n) (indices into data, in order; may repeat), or every row when
 * idx is NULL. Borrowed by the functions that take it. */
typedef struct nn_row_set {
    const nn_table *data;
    size_t *idx;
    size_t n;
} nn_row_set;

/* Fits the spec's steps on the rows train (nothing is copied but blocks of rows). Writes *out
 * (owned) and, when kept is not NULL, *kept: the training rows left after row filters, over
 * train->data, with kept->idx malloc'd (the caller frees it). */
nn_status nn_pipe_fit_rows(const nn_spec *spec, const nn_row_set *train, nn_pipe **out,
                           nn_row_set *kept, nn_error *err);

/* Transforms the rows of a set block by block straight into row-major matrices: *x (n ×
 * n_features) and, when y is not NULL, *y (n × n_targets), both malloc'd. Errors as for
 * nn_pipe_matrices, rows numbered as in rows->data. */
nn_status nn_pipe_rows_matrices(const nn_pipe *p, const nn_row_set *rows, nn_float **x,
                                nn_float **y, nn_error *err);

/* Fits the spec's steps on train (borrowed; a fold's training rows). Writes *out (the fitted
 * pipeline, owned) and *train_out (train transformed, owned; rows removed by filter_outliers are
 * gone) on success. If kept is not NULL, *kept receives a malloc'd array of train_out's rows'
 * indices in train. Domain problems (log of a value ≤ 0) are errors naming the column, row and
 * value. */
nn_status nn_pipe_fit(const nn_spec *spec, const nn_table *train, nn_pipe **out,
                      nn_table **train_out, size_t **kept, nn_error *err);
void nn_pipe_destroy(nn_pipe *p);

/* Applies the fitted steps to in (borrowed) without row filtering; *out owned by the caller.
 * Target columns may be absent from in (rows to predict); steps skip them then. */
nn_status nn_pipe_transform(const nn_pipe *p, const nn_table *in, nn_table **out, nn_error *err);

/* Input features after the steps, in matrix column order. */
size_t nn_pipe_n_features(const nn_pipe *p);
const char *nn_pipe_feature(const nn_pipe *p, size_t i);
size_t nn_pipe_n_targets(const nn_pipe *p);
const char *nn_pipe_target(const nn_pipe *p, size_t i);

/* Copies a transformed table into row-major matrices: *x (n_rows × n_features) and, when y is
 * not NULL, *y (n_rows × n_targets), both malloc'd. A missing value is an error naming the column
 * and row ("column \"bedrooms\", row 17: missing value (add an impute step)"). */
nn_status nn_pipe_matrices(const nn_pipe *p, const nn_table *transformed, nn_float **x,
                           nn_float **y, nn_error *err);

/* The raw columns a fitted pipe reads (nn_pipe_schema.c): input i's name and its type when
 * fitted (a one_hot or date column keeps its type; every other input is a number). Targets and
 * the id column are not inputs. Columns the steps dropped without reading them are listed
 * apart; new rows may lack them or hold anything there. Both are derived from the fitted steps,
 * so pipes read from old model files have them too. */
size_t nn_pipe_n_inputs(const nn_pipe *p);
const char *nn_pipe_input(const nn_pipe *p, size_t i, nn_col_type *type);
size_t nn_pipe_n_dropped(const nn_pipe *p);
const char *nn_pipe_dropped(const nn_pipe *p, size_t i);

/* New rows made to fit the inputs: a table (*out, owned) of exactly the inputs, in order, each
 * of its fitted type — numbers of a text input become their shortest decimal text ("98001"), a
 * number input's text is read as a number (missing tokens NA, N/A, NaN, nan, null, NULL or
 * empty give NaN). Other columns (the id, targets, dropped or unknown ones) are left out. An
 * absent input is NN_ERR_DATA naming it ("no column \"sqft_living\" (the model reads it)"); a
 * text value that is not a number, NN_ERR_DATA naming column, row and value. */
nn_status nn_pipe_conform(const nn_pipe *p, const nn_table *rows, nn_table **out, nn_error *err);

/* Maps model-space values of target t back to the target's units, in place. */
void nn_pipe_revert(const nn_pipe *p, size_t t, double *values, size_t n);

/* The fitted state as JSON (new reference), and back. from_json needs the same spec. */
json_t *nn_pipe_to_json(const nn_pipe *p);
nn_status nn_pipe_from_json(const nn_spec *spec, const json_t *state, nn_pipe **out, nn_error *err);

#endif
