/* nn_model.h — trained models: a spec, its fitted pipeline and a network, saved as one JSON file.
 *
 * DESIGN: a model file is self-contained JSON:
 *   {"format": "nnd-model", "version": 1, "nn_float": "float", "spec": {canonical spec},
 *    "spec_hash": "…", "features": [...], "targets": [...], "pipeline": {fitted state},
 *    "inputs": [{"name": "bedrooms", "type": "number"}, …], "dropped": ["zipcode", …],
 *    "params": [every parameter in nn_net layout order, network after network]}
 * and for a classification "task": "classification", "classes": [labels in class order],
 * "numeric" (the labels were numbers) and, for two classes, "positive" (nn_labels_to_json); a
 * file without "task" is a regression's.
 * "inputs" are the raw columns the pipeline reads with their types when fitted and "dropped"
 * those it drops unread (nn_pipe_schema.c derives both from the fitted steps; one_hot
 * categories are in the pipeline's state). Files written before "inputs" existed load the same,
 * their schema derived; a stored one must agree with the pipeline. New rows are read and
 * predicted by that schema, not by how their values look.
 * A model holds the spec's `ensemble` networks (1 by default); its prediction is their mean in
 * model space, reverted once.
 * Loading re-parses the spec, rebuilds the network shape from it and the feature count, and
 * checks every array length and value, so a truncated or edited file is refused with the JSON
 * pointer of the problem rather than predicting garbage. Predictions run the fitted pipeline on
 * the new rows, the network, and the pipeline's revert, so they come out in the target's units.
 * Parameters are written with 17 significant digits and round-trip exactly.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include "nn_common.h"
#include "nn_net.h"
#include "nn_pipe.h"
#include "nn_spec.h"
#include "nn_table.h"

#define NN_MODEL_MAX_BYTES ((size_t)1 << 30)

typedef struct nn_model nn_model;

/* Builds a model from its parts, taking ownership of spec, pipe and net even on failure. */
nn_status nn_model_create_take(nn_spec *spec, nn_pipe *pipe, nn_net *net, nn_model **out,
                               nn_error *err);
/* The same for an ensemble: takes spec, pipe, the n networks and the nets array (malloc'd). */
nn_status nn_model_create_ensemble_take(nn_spec *spec, nn_pipe *pipe, nn_net **nets, int n,
                                        nn_model **out, nn_error *err);
/* A weighted model (a study's ensemble): it predicts the members' predictions in the targets'
 * units, averaged with the weights (normalized to sum to 1). Takes members (malloc'd, n ≥ 1, the
 * same number of targets) even on failure; weights are copied. Its spec, pipeline, input schema
 * and networks are the first member's; its file is {"format": "nnd-weighted-model", "members":
 * [{"weight", "model"}]}, each member a model file of its own, and loads like any model. */
nn_status nn_model_create_weighted_take(nn_model **members, const double *weights, int n,
                                        nn_model **out, nn_error *err);
/* The members of a weighted model, 0 for a plain one. */
int nn_model_n_members(const nn_model *m);
void nn_model_destroy(nn_model *m);
/* Makes m a classification model with a copy of labels (its networks have
 * nn_labels_n_outputs(labels) outputs). */
nn_status nn_model_set_labels(nn_model *m, const nn_labels *labels, nn_error *err);
/* The classes (NULL for a regression model), borrowed from m. */
const nn_labels *nn_model_labels(const nn_model *m);
/* Values nn_model_predict gives per row: the number of targets, or of classes. */
size_t nn_model_n_values(const nn_model *m);

const nn_spec *nn_model_spec(const nn_model *m);
const nn_pipe *nn_model_pipe(const nn_model *m);
nn_net *nn_model_net(nn_model *m); /* the first network */
int nn_model_n_nets(const nn_model *m);
nn_net *nn_model_net_i(nn_model *m, int i);

/* Predicts x (n × n_inputs, model space) with every network and writes their mean (n ×
 * n_outputs) into y; scratch needs n × n_outputs values. */
nn_status nn_ensemble_predict(nn_net *const *nets, int n_nets, const nn_float *x, size_t n,
                              nn_float *y, nn_float *scratch, nn_error *err);
/* Classification: the class probabilities (n × labels->n, class order, in double) of x by the
 * networks (logits → probabilities per network, then their mean). */
nn_status nn_ensemble_probs(nn_net *const *nets, int n_nets, const nn_labels *labels,
                            const nn_float *x, size_t n, double *prob, nn_error *err);

/* The model as JSON text (malloc'd, caller frees). */
char *nn_model_to_json(const nn_model *m);
nn_status nn_model_save(const nn_model *m, const char *path, nn_error *err);
nn_status nn_model_from_json(const char *text, size_t len, nn_model **out, nn_error *err);
nn_status nn_model_load(const char *path, nn_model **out, nn_error *err);

/* Reads rows to predict for m (*out owned): a column the model read as text when it was fitted
 * is read as text whatever the new values look like (an id without its leading zero, a zip
 * code), as are the spec's text columns and id, each where the header has it. */
/* A classification model's rows that carry the target column (an evaluation column): the rows
 * with a label it knows and how many of those prob (nn_model_predict's) gets right, and the rows
 * with a label it never saw in training — reported, never an error. */
typedef struct nn_label_check {
    int has_target;        /* the rows have the target column */
    size_t known, correct; /* rows with a known label; of those, predicted right */
    size_t unseen;         /* rows with a label that is not a class */
    size_t first_unseen;   /* the first of those (0-based) */
    char first_label[64];  /* its label (truncated) */
} nn_label_check;
void nn_model_check_labels(const nn_model *m, const nn_table *rows, const double *prob,
                           nn_label_check *out);

nn_status nn_model_read_csv(const nn_model *m, const nn_csv_source *src, nn_table **out,
                            nn_error *err);

/* Predicts rows (borrowed) following the model's input schema (nn_pipe_conform): every input
 * column must be present (NN_ERR_DATA naming the first that is not); the id, the targets,
 * dropped and unknown columns may be absent or hold anything. *out receives a malloc'd (n_rows
 * × nn_model_n_values) array: the targets in their units, or a classification's class
 * probabilities (class order, each row summing to 1). Not thread-safe on one model. */
nn_status nn_model_predict(nn_model *m, const nn_table *rows, double **out, nn_error *err);

#endif
