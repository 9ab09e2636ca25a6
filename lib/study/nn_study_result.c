/* nn_study_result.c — a trial's objective read from its cross-validated job's metrics (the JSON
 * of nn_report_metrics), so that every driver reads them the same way. */
#include "nn_study_internal.h"

#include <math.h>

static double number(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

int nn_study_fold_objective(const nn_study_spec *s, const json_t *metrics, double *out, int max) {
    const json_t *folds = json_object_get(metrics, "folds");
    const char *metric = nn_objective_name(s->objective);
    const char *target = s->spec && s->spec->n_targets ? s->spec->targets[0] : "";
    int n = 0;
    size_t i;
    const json_t *f;
    int cls = nn_objective_task(s->objective) == NN_TASK_CLASSIFICATION;
    json_array_foreach(folds, i, f) {
        if (n >= max) break;
        /* a classification's fold carries its metrics itself; a regression's per target */
        const json_t *units = cls ? f : json_object_get(json_object_get(f, "units"), target);
        out[n++] = number(json_object_get(units, metric));
    }
    return n;
}

nn_status nn_study_result_from_metrics(const nn_study_spec *s, const json_t *metrics,
                                       nn_trial_result *out, nn_error *err) {
    double v[NN_SPEC_MAX_K + 1];
    int n = nn_study_fold_objective(s, metrics, v, NN_SPEC_MAX_K + 1);
    if (n <= 0) return nn_error_set(err, NN_ERR_INVALID, "the job has no validated folds");
    nn_mean_sd(v, (size_t)n, &out->mean, &out->sd); /* as the job's r2_mean, r2_sd */
    out->oof = number(json_object_get(metrics, nn_objective_name(s->objective)));
    out->seconds = number(json_object_get(metrics, "train_seconds"));
    if (!isfinite(out->seconds)) out->seconds = 0;
    out->n_params = (size_t)json_integer_value(json_object_get(metrics, "params"));
    out->metrics = json_object();
    if (!out->metrics) return nn_nomem(err, "trial metrics");
    static const char *const spread[] = {"accuracy_mean", "accuracy_sd",  "log_loss_mean",
                                         "log_loss_sd",   "roc_auc_mean", "roc_auc_sd"};
    nn_task task = nn_objective_task(s->objective);
    const char *const *oof = nn_study_metric_keys(task);
    const char *keys[16];
    size_t n_keys = 0;
    while (oof[n_keys]) keys[n_keys] = oof[n_keys], n_keys++;
    for (size_t k = 0; task == NN_TASK_CLASSIFICATION && k < sizeof spread / sizeof *spread; k++)
        keys[n_keys++] = spread[k];
    for (size_t k = 0; k < n_keys; k++) {
        json_t *m = json_object_get(metrics, keys[k]);
        if (m && json_object_set(out->metrics, keys[k], m)) {
            json_decref(out->metrics);
            out->metrics = NULL;
            return nn_nomem(err, "trial metrics");
        }
    }
    return NN_OK;
}
