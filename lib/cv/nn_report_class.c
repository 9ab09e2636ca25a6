/* nn_report_class.c — a classification's metrics as JSON and its prediction columns (the
 * classification half of nn_report.h). */
#include "nn_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *labels_array(const nn_labels *l) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++) json_array_append_new(a, json_string(l->names[i]));
    return a;
}

json_t *nn_report_class_metric(const nn_class_metrics *m, const nn_labels *l) {
    size_t k = l->n;
    json_t *o =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "accuracy", num(m->accuracy),
                  "balanced_accuracy", num(m->balanced_accuracy), "log_loss", num(m->log_loss),
                  "roc_auc", num(m->roc_auc), "pr_auc", num(m->pr_auc), "f1_macro",
                  num(m->f1_macro), "brier", num(m->brier), "n", (json_int_t)m->n);
    json_t *matrix = json_array(), *per = json_array();
    for (size_t a = 0; m->confusion && a < k; a++) {
        json_t *row = json_array();
        for (size_t p = 0; p < k; p++)
            json_array_append_new(row, json_integer((json_int_t)m->confusion[a * k + p]));
        json_array_append_new(matrix, row);
        json_array_append_new(per, json_pack("{s:s, s:o, s:o, s:o, s:I}", "label", l->names[a],
                                             "precision", num(m->precision[a]), "recall",
                                             num(m->recall[a]), "f1", num(m->f1[a]), "support",
                                             (json_int_t)m->support[a]));
    }
    json_object_set_new(o, "confusion",
                        json_pack("{s:o, s:o}", "labels", labels_array(l), "matrix", matrix));
    json_object_set_new(o, "per_class", per);
    return o;
}

static json_t *threshold_json(const nn_threshold *t) {
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "threshold", num(t->threshold), "f1", num(t->f1),
                     "precision", num(t->precision), "recall", num(t->recall), "accuracy",
                     num(t->accuracy));
}

void nn_report_class_metrics(json_t *root, const nn_spec *spec, const nn_cv_result *res) {
    const nn_labels *l = res->labels;
    json_object_set_new(root, "target", json_string(spec->targets[0]));
    json_object_set_new(root, "classes", labels_array(l));
    if (l->n == 2) json_object_set_new(root, "positive", json_string(l->names[l->positive]));
    json_t *counts = json_array();
    for (size_t c = 0; c < l->n; c++)
        json_array_append_new(counts, json_integer((json_int_t)l->counts[c]));
    json_object_set_new(root, "class_rows", counts);
    if (res->n_folds == 0) return;
    json_t *overall = nn_report_class_metric(&res->overall_class, l);
    if (overall) json_object_update(root, overall);
    json_decref(overall);
    if (l->n == 2)
        json_object_set_new(root, "threshold",
                            json_pack("{s:o, s:o}", "at_0.5", threshold_json(&res->at_half),
                                      "best_f1", threshold_json(&res->best_f1)));
    json_object_set_new(root, "accuracy_mean", num(res->acc_mean));
    json_object_set_new(root, "accuracy_sd", num(res->acc_sd));
    json_object_set_new(root, "log_loss_mean", num(res->ll_mean));
    json_object_set_new(root, "log_loss_sd", num(res->ll_sd));
    json_object_set_new(root, "roc_auc_mean", num(res->auc_mean));
    json_object_set_new(root, "roc_auc_sd", num(res->auc_sd));
}

/* The labels of classes v (as doubles, NaN = none) as a text column. */
static nn_status add_labels(nn_table *t, const char *name, const nn_labels *l, const double *v,
                            size_t m, nn_error *err) {
    char **s = calloc(m ? m : 1, sizeof *s);
    if (!s) return nn_nomem(err, "out of memory for predictions");
    for (size_t i = 0; i < m; i++) {
        if (isnan(v[i])) continue;
        if (!(s[i] = strdup(l->names[(size_t)v[i]]))) {
            for (size_t j = 0; j < i; j++) free(s[j]);
            free(s);
            return nn_nomem(err, "out of memory for predictions");
        }
    }
    return nn_table_add_text_take(t, name, s, NULL, err);
}

nn_status nn_report_class_columns(nn_table *t, const nn_cv_result *res, const size_t *rows,
                                  size_t m, nn_error *err) {
    const nn_labels *l = res->labels;
    size_t k = l->n;
    double *v = calloc(m ? m : 1, sizeof *v);
    if (!v) return nn_nomem(err, "out of memory for predictions");
    for (size_t i = 0; i < m; i++) v[i] = res->actual[rows[i]];
    nn_status st = add_labels(t, "actual", l, v, m, err);
    for (size_t i = 0; st == NN_OK && i < m; i++) v[i] = res->oof_pred[rows[i]];
    if (st == NN_OK) st = add_labels(t, "predicted", l, v, m, err);
    free(v);
    for (size_t c = 0; st == NN_OK && c < k; c++) {
        char name[NN_MAX_NAME + 8];
        (void)snprintf(name, sizeof name, "p_%s", l->names[c]);
        double *p = malloc((m ? m : 1) * sizeof *p);
        if (!p) return nn_nomem(err, "out of memory for predictions");
        for (size_t i = 0; i < m; i++) p[i] = res->oof_prob[rows[i] * k + c];
        st = nn_table_add_number_take(t, name, p, NULL, err);
    }
    return st;
}
