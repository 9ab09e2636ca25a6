/* srv_study_runs.c — the runs of a study's work (queued as ordinary runs, read back when they
 * end) and a completed study's results: the best trial and the ensemble of the top trials,
 * selected greedily over their stored out-of-fold predictions (nn_caruana_select). */
#include "srv_study_internal.h"

#include "nn_cv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The trial's spec cut to the rung: "stop_at" the rung's epochs (a prefix of the full run, its
 * schedule over the full count) and no refit before the last rung; canonical. */
static nn_status rung_spec(const srv__active *a, const srv__work *w, nn_spec **out, nn_error *err) {
    const nn_trial *t = nn_study_trial(a->st, w->trial);
    json_t *doc = nn_spec_to_json(t->spec);
    if (!doc) return nn_nomem(err, "out of memory");
    json_t *training = json_object_get(doc, "training");
    int bad = 0;
    if (!w->last) {
        char name[200];
        (void)snprintf(name, sizeof name, "%s rung %d", t->spec->name, w->rung + 1);
        bad |= json_object_set_new(doc, "name", json_string(name));
        bad |= json_object_set_new(training, "stop_at", json_integer(w->until_epoch));
        if (t->spec->validation != NN_VAL_NONE)
            bad |= json_object_set_new(training, "final", json_string("none"));
    }
    nn_spec_errors errs;
    nn_status rc = bad ? nn_nomem(err, "out of memory") : nn_spec_from_json(doc, out, &errs);
    json_decref(doc);
    if (rc == NN_ERR_SPEC)
        return nn_error_set(err, NN_ERR_SPEC, "rung spec: %s: %s", errs.items[0].pointer,
                            errs.items[0].message);
    return rc;
}

nn_status srv__work_run(srv_store *s, const srv__active *a, srv__work *w, int *created,
                        nn_error *err) {
    *created = 0;
    nn_status rc = srv_study_run_get(s, a->id, w->trial, w->rung, w->run_id, err);
    if (rc != NN_ERR_NOT_FOUND) return rc;
    nn_spec *spec = NULL;
    if ((rc = rung_spec(a, w, &spec, err)) != NN_OK) return rc;
    if (!spec) return nn_nomem(err, "out of memory");
    srv_run run;
    memset(&run, 0, sizeof run);
    (void)snprintf(run.dataset_id, sizeof run.dataset_id, "%s", a->dataset);
    run.spec = nn_spec_to_json(spec);
    (void)snprintf(run.spec_hash, sizeof run.spec_hash, "%s", spec->hash);
    run.spec_name = strdup(spec->name);
    int has_final = 0;
    nn_cv_plan_tasks(spec, &run.n_folds, &has_final);
    run.n_tasks = run.n_folds + has_final;
    run.epochs_per_task = (int64_t)(spec->stop_at ? spec->stop_at : spec->epochs) * spec->ensemble;
    nn_spec_destroy(spec);
    if (!run.spec || !run.spec_name) {
        srv_run_free(&run);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    int made = 0;
    rc = srv_run_create(s, &run, NULL, NULL, &made, err);
    if (rc == NN_OK) rc = srv_study_run_put(s, a->id, w->trial, w->rung, run.id, err);
    if (rc == NN_OK) (void)snprintf(w->run_id, sizeof w->run_id, "%s", run.id);
    srv_run_free(&run);
    *created = rc == NN_OK && made;
    return rc;
}

nn_status srv__work_report(srv_store *s, srv__active *a, const srv__work *w, int *ended,
                           nn_error *err) {
    *ended = 0;
    srv_run run;
    memset(&run, 0, sizeof run);
    nn_status rc = srv_run_get(s, w->run_id, &run, err);
    if (rc == NN_ERR_NOT_FOUND) {
        *ended = 1;
        return nn_study_report_failed(a->st, w->trial, "its run was deleted", err);
    }
    if (rc != NN_OK) return rc;
    if (run.status == SRV_RUN_QUEUED || run.status == SRV_RUN_RUNNING) {
        srv_run_free(&run);
        return NN_OK;
    }
    *ended = 1;
    if (run.status != SRV_RUN_SUCCEEDED) {
        char why[300];
        (void)snprintf(why, sizeof why, "run %s %s%s%s", run.id, srv_run_status_name(run.status),
                       run.error ? ": " : "", run.error ? run.error : "");
        srv_run_free(&run);
        return nn_study_report_failed(a->st, w->trial, why, err);
    }
    double v[NN_SPEC_MAX_K + 1];
    int n = nn_study_fold_objective(a->spec, run.metrics, v, NN_SPEC_MAX_K + 1);
    rc = n > 0 ? nn_study_report_rung(a->st, w->trial, w->rung, v, n, err)
               : nn_study_report_failed(a->st, w->trial, "the run has no validated folds", err);
    if (rc == NN_OK && w->last && nn_study_trial(a->st, w->trial)->status == NN_TRIAL_RUNNING) {
        nn_trial_result res;
        rc = nn_study_result_from_metrics(a->spec, run.metrics, &res, err);
        if (rc == NN_OK) {
            rc = nn_study_report_complete(a->st, w->trial, &res, err);
            json_decref(res.metrics);
        }
    }
    srv_run_free(&run);
    return rc;
}

/* ---- results ---- */

/* The out-of-fold predictions (first target, validated rows) of run_id into pred[0 … n_rows)
 * (NaN where none) and, when actual is not NULL, the actual values. */
static nn_status oof(srv_store *s, const char *run_id, double *pred, double *actual, size_t n_rows,
                     nn_error *err) {
    srv_prediction *p = NULL;
    size_t n = 0;
    nn_status rc = srv_prediction_list(s, run_id, &p, &n, err);
    if (rc != NN_OK) return rc;
    for (size_t i = 0; i < n; i++) {
        if (p[i].target != 0 || p[i].fold < 1 || p[i].row < 1 || (size_t)p[i].row > n_rows)
            continue;
        pred[p[i].row - 1] = p[i].predicted;
        if (actual) actual[p[i].row - 1] = p[i].actual;
    }
    srv_predictions_free(p, n);
    return NN_OK;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The ensemble of the top completed trials (by rank) as JSON, or json null when there are
 * none. */
static json_t *ensemble(srv_store *s, const srv__active *a, const int *order, int n_order,
                        nn_error *err) {
    const nn_study_spec *spec = a->spec;
    int members[NN_STUDY_MAX_TOP];
    char runs[NN_STUDY_MAX_TOP][SRV_ID_LEN + 1];
    int m = 0;
    for (int k = 0; k < n_order && m < spec->ensemble_top; k++) {
        const nn_trial *t = nn_study_trial(a->st, order[k]);
        if (t->status != NN_TRIAL_COMPLETED) break;
        if (srv_study_run_get(s, a->id, t->index, t->n_rungs - 1, runs[m], err) != NN_OK)
            return NULL;
        members[m++] = t->index;
    }
    if (m == 0) return json_null();
    if (nn_objective_task(spec->objective) == NN_TASK_CLASSIFICATION)
        return srv__ensemble_class(s, a, members, runs, m, err);
    srv_run run;
    memset(&run, 0, sizeof run);
    if (srv_run_get(s, runs[0], &run, err) != NN_OK) return NULL;
    size_t n_rows = (size_t)json_integer_value(json_object_get(run.metrics, "rows"));
    srv_run_free(&run);
    double *buf = malloc(((size_t)m + 1) * (n_rows + 1) * sizeof *buf);
    if (!buf) {
        (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory for the ensemble");
        return NULL;
    }
    for (size_t i = 0; i < ((size_t)m + 1) * (n_rows + 1); i++) buf[i] = NAN;
    double *actual = buf + (size_t)m * (n_rows + 1);
    const double *pred[NN_STUDY_MAX_TOP];
    nn_status rc = NN_OK;
    for (int j = 0; j < m && rc == NN_OK; j++) {
        pred[j] = buf + (size_t)j * (n_rows + 1);
        rc = oof(s, runs[j], buf + (size_t)j * (n_rows + 1), j == 0 ? actual : NULL, n_rows, err);
    }
    int counts[NN_STUDY_MAX_TOP];
    double mse = NAN;
    if (rc == NN_OK)
        rc = nn_caruana_select(pred, (size_t)m, actual, n_rows, spec->ensemble_rounds, counts, &mse,
                               err);
    if (rc != NN_OK) {
        free(buf);
        return NULL;
    }
    /* scores on the rows every member predicted: the ensemble's and the best trial's alone */
    double r2, r2_best;
    size_t used;
    nn_caruana_r2(pred, (size_t)m, actual, n_rows, mse, &r2, &r2_best, &used);
    free(buf);
    json_t *list = srv__ensemble_members(spec, members, runs, counts, m);
    return json_pack("{s:o, s:i, s:i, s:I, s:o, s:o, s:o, s:o}", "members", list, "candidates", m,
                     "rounds", spec->ensemble_rounds, "rows", (json_int_t)used, "oof_mse", num(mse),
                     "oof_rmse", num(sqrt(mse)), "oof_r2", num(r2), "best_trial_oof_r2",
                     num(r2_best));
}

char *srv__study_results(srv_store *s, const srv__active *a, nn_error *err) {
    int *order = NULL;
    int n = nn_study_ranking(a->st, &order, err);
    if (n < 0) return NULL;
    json_t *out = json_pack("{s:i, s:I}", "trials", nn_study_n_trials(a->st), "epoch_folds",
                            (json_int_t)nn_study_epoch_folds(a->st));
    int b = nn_study_best(a->st);
    if (out && b >= 0) {
        const nn_trial *t = nn_study_trial(a->st, b);
        char run_id[SRV_ID_LEN + 1] = "";
        if (srv_study_run_get(s, a->id, b, t->n_rungs - 1, run_id, err) != NN_OK) run_id[0] = 0;
        json_t *best =
            json_pack("{s:i, s:s, s:O, s:s, s:o, s:o, s:o, s:o}", "trial", b + 1, "run", run_id,
                      "values", t->values, "metric", nn_objective_name(a->spec->objective),
                      "objective", num(t->result.mean), "objective_sd", num(t->result.sd),
                      "objective_oof", num(t->result.oof), "spec", nn_spec_to_json(t->spec));
        if (!best || json_object_set_new(out, "best", best)) {
            json_decref(out);
            out = NULL;
        }
    } else if (out) {
        (void)json_object_set_new(out, "best", json_null());
    }
    json_t *ens = out && a->spec->ensemble_top > 0 ? ensemble(s, a, order, n, err) : json_null();
    if (!ens && out) ens = json_pack("{s:s}", "error", err->msg); /* the study still completes */
    free(order);
    if (!ens || !out || json_object_set_new(out, "ensemble", ens)) {
        json_decref(out);
        if (!err->msg[0]) (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (a->holdout[0]) {
        nn_error herr = {0};
        json_t *h = srv__study_holdout(s, a, out, &herr);
        (void)json_object_set_new(out, "holdout", h ? h : json_pack("{s:s}", "error", herr.msg));
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(out);
    if (!text) (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    return text;
}
