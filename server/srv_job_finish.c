/* srv_job_finish.c — a job's outcome into the store: results, failure, cancel, re-queue. */
#include "srv_job.h"

#include "nn_report.h"
#include "srv_events.h"
#include "srv_queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when row i is stored: validated, or without a target (skipped) and predicted. */
static int stored(const nn_cv_result *res, size_t i) {
    if (res->oof_fold[i] >= 0) return 1;
    for (size_t k = 0; res->skipped[i] && k < res->n_targets; k++)
        if (!isnan(res->oof_pred[i * res->n_targets + k])) return 1;
    return 0;
}

/* The out-of-fold predictions as store rows, and those of rows without a target (fold 0);
 * ids (when the spec names an id column) are copied into *ids_out, which the caller frees with
 * the rows. */
static srv_prediction *prediction_rows(const srv_job *j, const nn_cv_result *res, size_t *n_out,
                                       char ***ids_out) {
    size_t nt = res->n_targets, n = 0;
    for (size_t i = 0; i < res->n_rows; i++) n += stored(res, i);
    srv_prediction *rows = malloc((n ? n : 1) * nt * sizeof *rows);
    char **ids = calloc(n ? n : 1, sizeof *ids);
    if (!rows || !ids) {
        free(rows);
        free(ids);
        return NULL;
    }
    int idc = j->spec->id ? nn_table_find(j->data, j->spec->id) : -1;
    size_t m = 0, r = 0;
    for (size_t i = 0; i < res->n_rows; i++) {
        if (!stored(res, i)) continue;
        if (idc >= 0) {
            const nn_column *c = &j->data->cols[idc];
            char buf[32];
            const char *v = NULL;
            if (c->type == NN_COL_TEXT)
                v = c->text[i];
            else if (!isnan(c->num[i]))
                v = (snprintf(buf, sizeof buf, "%.17g", c->num[i]), buf);
            ids[r] = v ? strdup(v) : NULL;
        }
        for (size_t k = 0; k < nt; k++) {
            srv_prediction *p = &rows[m++];
            p->row = (int64_t)i + 1;
            p->fold = res->oof_fold[i] + 1;
            p->id = ids[r];
            p->target = (int)k;
            p->actual = res->actual[i * nt + k];
            p->predicted = res->oof_pred[i * nt + k];
        }
        r++;
    }
    *n_out = m;
    *ids_out = ids;
    return rows;
}

static void store_success(srv_job *j, srv_store *s) {
    nn_error err = {0};
    const nn_cv_result *res = nn_cv_result_get(j->cv);
    json_t *metrics = nn_report_metrics(j->spec, res);
    nn_model *model = nn_cv_take_model(j->cv);
    char *model_json = model ? nn_model_to_json(model) : NULL;
    nn_model_destroy(model);
    size_t n_preds = 0;
    char **ids = NULL;
    srv_prediction *preds = prediction_rows(j, res, &n_preds, &ids);
    json_t *done = json_pack("{s:s}", "status", "succeeded");
    if (done && res->n_folds > 0) {
        json_object_set(done, "r2", json_object_get(metrics, "r2"));
        json_object_set(done, "rmse", json_object_get(metrics, "rmse"));
        json_object_set(done, "mae", json_object_get(metrics, "mae"));
    }
    srv_job_event(j, "status", done);
    srv_job_flush(j); /* every event stored before the run shows as finished */
    nn_status st = (!metrics || ((res->n_folds > 0 || res->n_skipped > 0) && !preds))
                       ? nn_error_set(&err, NN_ERR_NOMEM, "out of memory for the results")
                       : srv_run_finish(s, j->run_id, SRV_RUN_SUCCEEDED, metrics, NULL, preds,
                                        n_preds, model_json, &err);
    if (st != NN_OK) {
        fprintf(stderr, "nnd: run %s: cannot store the results: %s\n", j->run_id, err.msg);
        char msg[300];
        (void)snprintf(msg, sizeof msg, "cannot store the results: %s", err.msg);
        (void)srv_run_finish(s, j->run_id, SRV_RUN_FAILED, NULL, msg, NULL, 0, NULL, &err);
    }
    for (size_t i = 0; ids && i < (n_preds ? n_preds / res->n_targets : 0); i++) free(ids[i]);
    free(ids);
    free(preds);
    free(model_json);
    json_decref(metrics);
}

void srv_job_finish(srv_job *j) {
    nn_error err = {0};
    srv_store *s = srv_app_store(j->app, &err);
    if (!s) {
        fprintf(stderr, "nnd: run %s: no storage connection: %s\n", j->run_id, err.msg);
        srv_hub_close_run(j->app->hub, j->run_id);
        return;
    }
    if (j->shutdown) {
        srv_job_event(j, "log",
                      json_pack("{s:s}", "message",
                                "nnd is stopping: the run goes back to the queue and "
                                "starts again when nnd restarts"));
        srv_job_event(j, "status", json_pack("{s:s}", "status", "queued"));
    } else if (j->status == NN_OK && j->cv) {
        nn_status st = nn_cv_finish(j->cv, &err);
        if (st == NN_OK) {
            store_success(j, s);
        } else {
            j->status = st;
            j->err = err;
        }
    }
    if (!j->shutdown && j->status != NN_OK) {
        int cancelled = j->status == NN_ERR_CANCELLED;
        const char *msg = j->err.msg[0] ? j->err.msg : nn_status_str(j->status);
        srv_job_event(
            j, "status",
            json_pack("{s:s, s:s}", "status", cancelled ? "cancelled" : "failed", "error", msg));
    }
    srv_job_flush(j); /* every event stored before the run's status changes */
    if (j->shutdown) {
        if (srv_queue_release(s, j->run_id, &err) != NN_OK)
            fprintf(stderr, "nnd: run %s: cannot re-queue: %s\n", j->run_id, err.msg);
    } else if (j->status != NN_OK) {
        int cancelled = j->status == NN_ERR_CANCELLED;
        const char *msg = j->err.msg[0] ? j->err.msg : nn_status_str(j->status);
        if (srv_run_finish(s, j->run_id, cancelled ? SRV_RUN_CANCELLED : SRV_RUN_FAILED, NULL, msg,
                           NULL, 0, NULL, &err) != NN_OK)
            fprintf(stderr, "nnd: run %s: cannot record the outcome: %s\n", j->run_id, err.msg);
    }
    srv_hub_close_run(j->app->hub, j->run_id);
}
