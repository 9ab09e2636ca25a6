/* srv_study_holdout.c — a completed study's scores on the rows it set aside before searching:
 * the best trial's model and the ensemble (its members' models averaged with their weights)
 * predict the holdout dataset, scored against its first target. */
#include "srv_study_internal.h"

#include "nn_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The first target's predictions of run_id's model for the holdout CSV at path (malloc'd, n
 * rows), and the actual values into *actual (malloc'd) when it is not NULL. */
static double *predict(srv_store *s, const char *run_id, const char *path, const char *target,
                       size_t *n, double **actual, nn_error *err) {
    char *text = NULL;
    nn_model *m = NULL;
    nn_table *t = NULL;
    double *p = NULL, *first = NULL;
    nn_status st = srv_model_get(s, run_id, &text, err);
    if (st == NN_OK) st = nn_model_from_json(text, strlen(text), &m, err);
    free(text);
    nn_csv_source src = {path, NULL, 0, "holdout", NULL, NULL};
    if (st == NN_OK) st = nn_model_read_csv(m, &src, &t, err);
    if (st == NN_OK && t->n_rows > 0) st = nn_model_predict(m, t, &p, err);
    if (st == NN_OK) {
        size_t nt = nn_model_spec(m)->n_targets;
        *n = t->n_rows;
        first = malloc((*n + 1) * sizeof *first);
        for (size_t i = 0; first && i < *n; i++) first[i] = p[i * nt];
        int c = nn_table_find(t, target);
        if (actual) *actual = malloc((*n + 1) * sizeof **actual);
        for (size_t i = 0; actual && *actual && i < *n; i++)
            (*actual)[i] = c >= 0 && t->cols[c].type == NN_COL_NUMBER ? t->cols[c].num[i] : NAN;
    }
    free(p);
    nn_table_destroy(t);
    nn_model_destroy(m);
    return first;
}

static json_t *score(const double *y, const double *p, size_t n) {
    double *a = malloc((2 * n + 2) * sizeof *a);
    if (!a) return json_null();
    double *b = a + n + 1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i]) && isfinite(p[i])) {
            a[k] = y[i];
            b[k++] = p[i];
        }
    nn_metrics m = nn_metrics_compute(a, b, k, 1);
    free(a);
    return json_pack("{s:o, s:o, s:o, s:I}", "r2", num(m.r2), "rmse", num(m.rmse), "mae",
                     num(m.mae), "rows", (json_int_t)k);
}

json_t *srv__study_holdout(srv_store *s, const srv__active *a, const json_t *results,
                           nn_error *err) {
    srv_dataset ds;
    if (srv_dataset_get(s, a->holdout, &ds, err) != NN_OK) return NULL;
    char path[1400];
    srv_dataset_path(s, ds.sha256, path, sizeof path);
    srv_dataset_free(&ds);
    const char *target = a->spec->spec->targets[0];
    const char *best = json_string_value(json_object_get(json_object_get(results, "best"), "run"));
    const json_t *members = json_object_get(json_object_get(results, "ensemble"), "members");
    if (nn_objective_task(a->spec->objective) == NN_TASK_CLASSIFICATION) {
        json_t *h = srv__holdout_class(s, best, members, path, err);
        if (h && json_object_set_new(h, "dataset", json_string(a->holdout))) {
            json_decref(h);
            h = NULL;
            (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        }
        return h;
    }
    size_t n = 0;
    double *actual = NULL;
    double *pb = best && best[0] ? predict(s, best, path, target, &n, &actual, err) : NULL;
    if (!pb) {
        free(actual);
        if (!err->msg[0]) (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:I, s:o}", "dataset", a->holdout, "rows", (json_int_t)n, "best",
                            score(actual, pb, n));
    double *acc = calloc(n + 1, sizeof *acc);
    double total = 0;
    size_t j;
    const json_t *mem;
    json_array_foreach(members, j, mem) {
        const char *run = json_string_value(json_object_get(mem, "run"));
        double w = json_number_value(json_object_get(mem, "weight"));
        size_t nm = 0;
        double *p = run && acc ? predict(s, run, path, target, &nm, NULL, err) : NULL;
        for (size_t i = 0; p && nm == n && i < n; i++) acc[i] += w * p[i];
        if (p && nm == n) total += w;
        free(p);
    }
    if (out && acc && total > 0) {
        for (size_t i = 0; i < n; i++) acc[i] /= total;
        (void)json_object_set_new(out, "ensemble", score(actual, acc, n));
    }
    free(acc);
    free(actual);
    free(pb);
    return out;
}
