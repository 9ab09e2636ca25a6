/* srv_study_class.c — a classification study's results: the ensemble selected over the top
 * trials' stored out-of-fold class probabilities (nn_caruana_select_class, by the study's
 * objective), and the best trial's and the ensemble's scores on the holdout rows (their models'
 * class probabilities, the ensemble's averaged with its weights as its weighted model predicts). */
#include "srv_study_internal.h"

#include "nn_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *or_null(json_t *v) { return v ? v : json_null(); }

/* The classes of a run's metrics: their count into *k and the positive one's index (two
 * classes) into *positive. */
static nn_status classes(const json_t *metrics, int *k, int *positive, nn_error *err) {
    const json_t *list = json_object_get(metrics, "classes");
    const char *pos = json_string_value(json_object_get(metrics, "positive"));
    *k = (int)json_array_size(list);
    *positive = *k == 2 ? 1 : -1;
    if (*k < 2) return nn_error_set(err, NN_ERR_INVALID, "the runs have no classes");
    for (int c = 0; pos && c < *k; c++) {
        const char *label = json_string_value(json_array_get(list, (size_t)c));
        if (label && strcmp(pos, label) == 0) *positive = c;
    }
    return NN_OK;
}

/* The out-of-fold class probabilities of run_id (validated rows, n_rows × k; NaN where none)
 * and, when actual is not NULL, the rows' classes (−1 where none). */
static nn_status oof_probs(srv_store *s, const char *run_id, double *prob, int *actual,
                           size_t n_rows, int k, nn_error *err) {
    srv_prediction *p = NULL;
    size_t n = 0;
    nn_status rc = srv_prediction_list(s, run_id, &p, &n, err);
    if (rc != NN_OK) return rc;
    for (size_t i = 0; i < n; i++) {
        if (p[i].target != 0 || p[i].fold < 1 || p[i].row < 1 || (size_t)p[i].row > n_rows ||
            !p[i].probs)
            continue;
        size_t r = (size_t)p[i].row - 1;
        json_t *a = json_loads(p[i].probs, JSON_DECODE_ANY, NULL);
        if (json_array_size(a) == (size_t)k)
            for (int c = 0; c < k; c++) {
                const json_t *v = json_array_get(a, (size_t)c);
                prob[r * (size_t)k + (size_t)c] = json_is_number(v) ? json_number_value(v) : NAN;
            }
        json_decref(a);
        if (actual)
            actual[r] = isfinite(p[i].actual) && p[i].actual >= 0 && p[i].actual < k
                            ? (int)p[i].actual
                            : -1;
    }
    srv_predictions_free(p, n);
    return NN_OK;
}

/* The members list of either task's ensemble (srv_study_runs.c calls into this file, never
 * back). */
json_t *srv__ensemble_members(const nn_study_spec *spec, const int *members,
                              char (*runs)[SRV_ID_LEN + 1], const int *counts, int m) {
    json_t *list = json_array();
    for (int j = 0; j < m && list; j++) {
        if (!counts[j]) continue;
        if (json_array_append_new(list, json_pack("{s:i, s:s, s:i, s:f}", "trial", members[j] + 1,
                                                  "run", runs[j], "count", counts[j], "weight",
                                                  (double)counts[j] / spec->ensemble_rounds))) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

json_t *srv__ensemble_class(srv_store *s, const srv__active *a, const int *members,
                            char (*runs)[SRV_ID_LEN + 1], int m, nn_error *err) {
    const nn_study_spec *spec = a->spec;
    srv_run run;
    memset(&run, 0, sizeof run);
    if (srv_run_get(s, runs[0], &run, err) != NN_OK) return NULL;
    size_t n_rows = (size_t)json_integer_value(json_object_get(run.metrics, "rows"));
    int k = 0, positive = -1;
    nn_status rc = classes(run.metrics, &k, &positive, err);
    json_t *labels = json_deep_copy(json_object_get(run.metrics, "classes"));
    srv_run_free(&run);
    /* every member must have the same classes in the same order */
    for (int j = 1; rc == NN_OK && j < m; j++) {
        memset(&run, 0, sizeof run);
        rc = srv_run_get(s, runs[j], &run, err);
        if (rc == NN_OK && !json_equal(labels, json_object_get(run.metrics, "classes")))
            rc = nn_error_set(err, NN_ERR_INVALID, "trial %d's run has other classes",
                              members[j] + 1);
        srv_run_free(&run);
    }
    json_decref(labels);
    if (rc != NN_OK) return NULL;
    size_t width = (size_t)k, cells = n_rows * width + 1;
    double *buf = malloc(((size_t)m + 1) * cells * sizeof *buf);
    int *actual = malloc((n_rows + 1) * sizeof *actual);
    if (!buf || !actual) {
        free(buf);
        free(actual);
        (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory for the ensemble");
        return NULL;
    }
    for (size_t i = 0; i < ((size_t)m + 1) * cells; i++) buf[i] = NAN;
    for (size_t i = 0; i < n_rows; i++) actual[i] = -1;
    const double *prob[NN_STUDY_MAX_TOP];
    for (int j = 0; j < m && rc == NN_OK; j++) {
        prob[j] = buf + (size_t)j * cells;
        rc = oof_probs(s, runs[j], buf + (size_t)j * cells, j == 0 ? actual : NULL, n_rows, k, err);
    }
    int counts[NN_STUDY_MAX_TOP];
    double value = NAN;
    if (rc == NN_OK)
        rc = nn_caruana_select_class(prob, (size_t)m, actual, n_rows, k, positive, spec->objective,
                                     spec->maximize, spec->ensemble_rounds, counts, &value, err);
    if (rc != NN_OK) {
        free(buf);
        free(actual);
        return NULL;
    }
    /* the scores on the rows every candidate predicted: the ensemble's and the best trial's */
    for (size_t i = 0; i < n_rows; i++)
        for (int j = 0; j < m && actual[i] >= 0; j++)
            for (size_t c = 0; c < width; c++)
                if (!isfinite(prob[j][i * width + c])) actual[i] = -1;
    double *ens = buf + (size_t)m * cells;
    nn_caruana_average(prob, (size_t)m, counts, width, n_rows, ens);
    json_t *oof = nn_study_class_score(actual, ens, n_rows, k, positive);
    json_t *best = nn_study_class_score(actual, prob[0], n_rows, k, positive);
    free(buf);
    free(actual);
    json_t *list = srv__ensemble_members(spec, members, runs, counts, m);
    json_int_t used = json_integer_value(json_object_get(oof, "rows"));
    json_t *out = json_pack("{s:o, s:i, s:i, s:I, s:s, s:o, s:o, s:o}", "members", list,
                            "candidates", m, "rounds", spec->ensemble_rounds, "rows", used,
                            "metric", nn_objective_name(spec->objective), "objective_oof",
                            num(value), "oof", or_null(oof), "best_trial_oof", or_null(best));
    if (!out) (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory for the ensemble");
    return out;
}

/* ---- the holdout ---- */

/* The class probabilities (malloc'd, *n rows × *k) of run_id's model for the holdout CSV at
 * path, and when y is not NULL the rows' classes (malloc'd; −1 without a known label). */
static double *predict_probs(srv_store *s, const char *run_id, const char *path, size_t *n, int *k,
                             int *positive, int **y, nn_error *err) {
    char *text = NULL;
    nn_model *m = NULL;
    nn_table *t = NULL;
    double *p = NULL;
    nn_status st = srv_model_get(s, run_id, &text, err);
    if (st == NN_OK) st = nn_model_from_json(text, strlen(text), &m, err);
    free(text);
    const nn_labels *l = st == NN_OK ? nn_model_labels(m) : NULL;
    if (st == NN_OK && !l) st = nn_error_set(err, NN_ERR_INVALID, "not a classification's model");
    nn_csv_source src = {path, NULL, 0, "holdout", NULL, NULL};
    if (st == NN_OK) st = nn_model_read_csv(m, &src, &t, err);
    if (st == NN_OK && t->n_rows > 0) st = nn_model_predict(m, t, &p, err);
    if (st == NN_OK && p && l) {
        *n = t->n_rows;
        *k = (int)l->n;
        *positive = l->n == 2 ? l->positive : -1;
        int c = nn_table_find(t, nn_model_spec(m)->targets[0]);
        if (y) *y = malloc((*n + 1) * sizeof **y);
        for (size_t i = 0; y && *y && i < *n; i++) {
            int cls = c >= 0 ? nn_labels_class(l, &t->cols[c], i) : -1;
            (*y)[i] = cls >= 0 ? cls : -1;
        }
    }
    nn_table_destroy(t);
    nn_model_destroy(m);
    return p;
}

json_t *srv__holdout_class(srv_store *s, const char *best, const json_t *members, const char *path,
                           nn_error *err) {
    size_t n = 0;
    int k = 0, positive = -1, *y = NULL;
    double *pb = best && best[0] ? predict_probs(s, best, path, &n, &k, &positive, &y, err) : NULL;
    if (!pb || !y) {
        free(pb);
        free(y);
        if (!err->msg[0]) (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    json_t *out = json_pack("{s:I, s:o}", "rows", (json_int_t)n, "best",
                            or_null(nn_study_class_score(y, pb, n, k, positive)));
    size_t cells = n * (size_t)k;
    double *acc = calloc(cells + 1, sizeof *acc), total = 0;
    size_t j;
    const json_t *mem;
    json_array_foreach(members, j, mem) {
        const char *run = json_string_value(json_object_get(mem, "run"));
        double w = json_number_value(json_object_get(mem, "weight"));
        size_t nm = 0;
        int km = 0, pm = -1;
        double *p = run && acc ? predict_probs(s, run, path, &nm, &km, &pm, NULL, err) : NULL;
        int fits = p && nm == n && km == k && pm == positive;
        for (size_t i = 0; fits && i < cells; i++) acc[i] += w * p[i];
        if (fits) total += w;
        free(p);
    }
    if (out && acc && total > 0) {
        for (size_t i = 0; i < cells; i++) acc[i] /= total;
        (void)json_object_set_new(out, "ensemble",
                                  or_null(nn_study_class_score(y, acc, n, k, positive)));
    }
    free(acc);
    free(y);
    free(pb);
    return out;
}
