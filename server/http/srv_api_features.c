/* srv_api_features.c — GET /v1/runs/{id}/features: each input before and after preprocessing.
 *
 * "before" summarizes the dataset's number columns as uploaded; "after" summarizes the model's
 * input features (and targets in model space) computed by the run's own fitted pipeline (the
 * final model's: fitted on every row for a refit, on a fold's training rows for best_fold) over
 * every row of the dataset — the same transform predictions use, so the box plots show what the
 * network actually saw. */
#include "srv_api.h"

#include "nn_metrics.h"
#include "srv_models.h"

#include <math.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *summaries(const nn_table *t, const char *skip) {
    json_t *list = json_array();
    for (size_t c = 0; list && c < t->n_cols; c++) {
        const nn_column *col = &t->cols[c];
        if (col->type != NN_COL_NUMBER || (skip && strcmp(col->name, skip) == 0)) continue;
        nn_summary s;
        if (nn_summarize(col->num, t->n_rows, &s) != 0) continue;
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", col->name,
                            "n", (json_int_t)s.n, "missing", (json_int_t)s.missing, "min",
                            num(s.min), "q1", num(s.q1), "median", num(s.median), "q3", num(s.q3),
                            "max", num(s.max), "mean", num(s.mean), "sd", num(s.sd)));
    }
    return list;
}

static void features_work(srv_req *req, srv_resp *resp);

void srv_api_run_features(srv_req *req, srv_resp *resp) {
    (void)req;
    srv_defer(resp, features_work); /* a transform of the whole dataset: off the HTTP threads */
}

static void features_work(srv_req *req, srv_resp *resp) {
    srv_run run;
    srv_store *s = srv_api_run(req, resp, &run);
    if (!s) return;
    nn_error err = {0};
    char dataset[SRV_ID_LEN + 1];
    memcpy(dataset, run.dataset_id, sizeof dataset);
    srv_run_free(&run);
    if (!dataset[0]) {
        srv_problem(resp, 409, "the run's dataset was deleted");
        return;
    }
    srv_model_ref *ref = NULL;
    if (srv_models_acquire(srv_engine_models(req->eng), s, req->param, &ref, &err) != NN_OK) {
        srv_api_no_model(req, resp, s, &err); /* features after preprocessing need its pipeline */
        return;
    }
    nn_model *model = srv_model_ref_model(ref);
    const nn_spec *spec = nn_model_spec(model);
    nn_table *after = NULL;
    const nn_table *raw = NULL;
    srv_table_ref *table = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_status st = srv_api_table(req, s, dataset, spec, &errs, &table, &err);
    if (st == NN_ERR_SPEC) /* the dataset was deleted since the run was read */
        st = nn_error_set(&err, NN_ERR_CONFLICT, "the run's dataset was deleted");
    if (st == NN_OK) raw = srv_table_ref_table(table);
    if (st == NN_OK) st = nn_pipe_transform(nn_model_pipe(model), raw, &after, &err);
    json_t *out = NULL;
    if (st == NN_OK) {
        json_t *features = json_array();
        const nn_pipe *p = nn_model_pipe(model);
        for (size_t i = 0; i < nn_pipe_n_features(p); i++)
            json_array_append_new(features, json_string(nn_pipe_feature(p, i)));
        out = json_pack("{s:o, s:o, s:o, s:I}", "features", features, "before",
                        summaries(raw, spec->id), "after", summaries(after, spec->id), "rows",
                        (json_int_t)raw->n_rows);
    }
    srv_models_release(srv_engine_models(req->eng), ref);
    srv_tables_release(req->http->tables, table);
    nn_table_destroy(after);
    if (st != NN_OK)
        srv_problem_from(resp, &err);
    else
        srv_json(resp, 200, out);
}
