/* nn_pipe.h — preprocessing pipelines: planned against a dataset, fitted on training rows,
 * applied to any rows, reverted on predictions.
 *
 * DESIGN: a spec's "preprocess" steps run in order over a table. nn_pipe_plan is a dry run over
 * column names and types that reports every problem with its JSON pointer
 * ("/preprocess/3/columns/1: no column \"sqft_livng\" (did you mean \"sqft_living\"?)") and
 * the expanded feature list. nn_pipe_fit fits each step on the *training rows only* (the output of
 * the previous steps applied to those rows; filter_outliers removes training rows from what later
 * steps see), recording the fitted state (min/max, mean/sd, quartiles, categories, imputed values).
 * nn_pipe_transform applies that state to any table — a fold's validation rows, new rows to
 * predict — without refitting, so nothing leaks from validation into training. Row filters apply
 * only when transforming training rows. Steps that touch a target are invertible (log, normalize
 * …) and nn_pipe_revert undoes them in reverse order, turning model-space predictions into the
 * target's own units. The fitted state serializes to JSON for model files.
 *
 * After the steps, the inputs are every remaining number column except the targets and the id
 * column, in table order; any remaining text column (other than the id) is a plan error.
 */
#ifndef NN_PIPE_H
#define NN_PIPE_H

#include "nn_common.h"
#include "nn_spec.h"
#include "nn_table.h"

#include <jansson.h>

typedef struct nn_pipe nn_pipe;

/* The expanded shape of a spec on a dataset. */
typedef struct nn_plan {
    char **features; /* (n_features) input names in matrix column order, owned */
    size_t n_features;
    size_t n_params; /* parameters of the spec's network for this many inputs */
} nn_plan;

/* Dry-runs spec's steps over data's columns (using data's values only where the shape depends
 * on them: one_hot categories). Returns NN_OK and *out (owned), or NN_ERR_SPEC with every
 * problem in errs. */
nn_status nn_pipe_plan(const nn_spec *spec, const nn_table *data, nn_plan **out,
                       nn_spec_errors *errs);
void nn_plan_destroy(nn_plan *plan);

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

/* Maps model-space values of target t back to the target's units, in place. */
void nn_pipe_revert(const nn_pipe *p, size_t t, double *values, size_t n);

/* The fitted state as JSON (new reference), and back. from_json needs the same spec. */
json_t *nn_pipe_to_json(const nn_pipe *p);
nn_status nn_pipe_from_json(const nn_spec *spec, const json_t *state, nn_pipe **out, nn_error *err);

#endif
