/* nn_labels.h — the classes of a classification target, and the mapping between labels and
 * class indices.
 *
 * DESIGN: the classes are the distinct labels of the target's rows that have one, in sorted
 * order — text labels by bytes (strcmp), number labels by value — and are named by their label
 * text everywhere (a number label by its shortest decimal form: "1", "2.5"). A job finds them on
 * every row with a label before drawing folds, so every fold's network has the same outputs and
 * out-of-fold probabilities line up. With two classes one is *positive* (the second in sorted
 * order unless the spec's "positive" says otherwise): the network has one output, the logit of
 * the positive class; with k > 2 it has k, in class order. Model files store the classes, so a
 * model maps its outputs back to labels, and rows to predict may carry labels it never saw (they
 * are reported, not refused).
 */
#ifndef NN_LABELS_H
#define NN_LABELS_H

#include "nn_common.h"
#include "nn_spec.h"
#include "nn_table.h"

#include <jansson.h>

typedef struct nn_labels {
    size_t n;        /* classes, ≥ 1 */
    char **names;    /* (n) labels in class order, owned */
    double *values;  /* (n) a number target's labels in class order; NULL for a text target */
    size_t *counts;  /* (n) rows of each class where fitted; 0 when read from JSON */
    size_t *by_name; /* (n) class indices in strcmp order of their names, for lookups */
    int positive;    /* two classes: the positive class; −1 for other counts */
} nn_labels;

/* The classes of column col over rows[0..n) (rows NULL: every row of the column, n of them);
 * missing values (NaN, NULL) are skipped. More than NN_MAX_CLASSES classes is NN_ERR_LIMIT. *out
 * owned by the caller. */
nn_status nn_labels_fit(const nn_column *col, const size_t *rows, size_t n, nn_labels **out,
                        nn_error *err);
void nn_labels_destroy(nn_labels *l);
nn_status nn_labels_clone(const nn_labels *l, nn_labels **out, nn_error *err);

/* The class named label, or −1. */
int nn_labels_find(const nn_labels *l, const char *label);
/* The class of row `row` of col (either type; a number is matched by value, or by its text form
 * against text labels): 0..n−1, −1 when missing, −2 for a label that is not a class. */
int nn_labels_class(const nn_labels *l, const nn_column *col, size_t row);
/* Makes label the positive class (two classes only); −1 when it is not a class. */
int nn_labels_set_positive(nn_labels *l, const char *label);
/* The network's outputs: 1 for two classes, n otherwise. */
static inline int nn_labels_n_outputs(const nn_labels *l) { return l->n == 2 ? 1 : (int)l->n; }

/* Network targets of one row of class c into y (nn_labels_n_outputs values): 0/1 for "is the
 * positive class" with two classes, one-hot otherwise. */
void nn_labels_target(const nn_labels *l, int c, nn_float *y);
/* Class probabilities (n values, class order) from the network's probabilities in its own order
 * (nn_loss_probs: [1 − σ, σ] for one output, where σ is the positive class's). */
void nn_labels_probs(const nn_labels *l, const double *net_prob, double *prob);

/* {"classes": [labels], "numeric": bool, "positive": label (two classes)}; new reference. */
json_t *nn_labels_to_json(const nn_labels *l);
/* From that object; errors name the key. */
nn_status nn_labels_from_json(const json_t *o, nn_labels **out, nn_error *err);

#endif
