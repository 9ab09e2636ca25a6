/* srv_api.h — the request handlers behind the routes of srv_routes.c. */
#ifndef SRV_API_H
#define SRV_API_H

#include "nn_model.h"
#include "nn_pipe.h"
#include "nn_spec.h"
#include "nn_table.h"
#include "srv_buf.h"
#include "srv_http.h"
#include "srv_stream.h"
#include "srv_tables.h"

/* datasets and specs (srv_api_data.c) */
void srv_api_dataset_upload(srv_req *req, srv_resp *resp);
void srv_api_dataset_list(srv_req *req, srv_resp *resp);
void srv_api_dataset_get(srv_req *req, srv_resp *resp);
void srv_api_dataset_csv(srv_req *req, srv_resp *resp);
void srv_api_dataset_delete(srv_req *req, srv_resp *resp);
void srv_api_spec_validate(srv_req *req, srv_resp *resp);

/* runs (srv_api_runs.c, srv_api_results.c) */
void srv_api_run_create(srv_req *req, srv_resp *resp);
void srv_api_run_list(srv_req *req, srv_resp *resp);
void srv_api_run_get(srv_req *req, srv_resp *resp);
void srv_api_run_events(srv_req *req, srv_resp *resp);
/* The events of the run or study req->param (checked to exist) after Last-Event-ID or ?after=N,
 * as a stream (srv_stream.h): SSE, or NDJSON with Accept: application/x-ndjson. */
void srv_api_open_events(srv_req *req, srv_resp *resp, srv_stream_kind kind);
void srv_api_run_cancel(srv_req *req, srv_resp *resp);
void srv_api_run_history(srv_req *req, srv_resp *resp);
void srv_api_run_predictions(srv_req *req, srv_resp *resp);
void srv_api_run_model(srv_req *req, srv_resp *resp);
void srv_api_run_predict(srv_req *req, srv_resp *resp);
void srv_api_run_features(srv_req *req, srv_resp *resp);
void srv_api_run_compare(srv_req *req, srv_resp *resp); /* srv_api_compare.c */

/* studies (srv_api_studies.c) */
void srv_api_study_create(srv_req *req, srv_resp *resp);
void srv_api_study_list(srv_req *req, srv_resp *resp);
void srv_api_study_get(srv_req *req, srv_resp *resp);
void srv_api_study_leaderboard(srv_req *req, srv_resp *resp);
void srv_api_study_runs(srv_req *req, srv_resp *resp);
void srv_api_study_cancel(srv_req *req, srv_resp *resp);
void srv_api_study_delete(srv_req *req, srv_resp *resp);
void srv_api_study_events(srv_req *req, srv_resp *resp);
void srv_api_study_predict(srv_req *req, srv_resp *resp);
void srv_api_study_model(srv_req *req, srv_resp *resp);

/* Prediction requests (srv_api_results.c): the body's rows (CSV, or JSON {"rows": [...]}) as
 * a table read for model; the predictions of t's rows (pred: n × nn_model_n_values) as CSV
 * (with the id column when t has it) or JSON {"targets", "predictions"}, a classifier's as
 * labels and class probabilities (srv_class_predict_answer). */
nn_status srv_api_predict_rows(const srv_req *req, nn_model *model, nn_table **t, nn_error *err);
void srv_api_predict_answer(srv_buf *b, int csv, const nn_model *model, const nn_table *t,
                            const double *pred);

/* a classification run's answers (srv_api_class.c), appended to a buffer: the stored
 * predictions' head and rows (classes: the run's metrics' "classes", k of them; first: no row
 * before these), and the prediction of rows t by classifier m (prob: n × classes) */
void srv_class_predictions_head(srv_buf *out, int csv, int has_id, char *const *classes, size_t k);
void srv_class_predictions_rows(srv_buf *out, int csv, int has_id, char *const *classes, size_t k,
                                const srv_prediction *p, size_t n, int first);
void srv_class_predict_answer(srv_buf *b, int csv, const nn_model *m, const nn_table *t,
                              const double *prob);

/* the service (srv_api_sys.c) */
void srv_api_healthz(srv_req *req, srv_resp *resp);
void srv_api_metrics(srv_req *req, srv_resp *resp);
void srv_api_openapi(srv_req *req, srv_resp *resp);
void srv_api_static(srv_req *req, srv_resp *resp);

/* Shared helpers (srv_api_data.c). */
/* A dataset's column summary: name, type, missing, and for numbers min, max, mean, sd
 * (population). */
json_t *srv_api_column_stats(const nn_table *t);
srv_store *srv_api_store(srv_req *req, srv_resp *resp);
/* The store and the run named by the path's {id} in *run (free with srv_run_free); answers
 * 404/503 and returns NULL when either is missing. */
srv_store *srv_api_run(srv_req *req, srv_resp *resp, srv_run *run);
/* Whether len bytes at s are a name fit to show people: valid UTF-8 without control characters
 * (C0, DEL, C1), bidirectional controls, line or paragraph separators or a byte order mark
 * (srv_api_data.c: dataset names, run names). */
int srv_label_ok(const char *s, size_t len);
/* Answers a failed model lookup of the path's run (err from srv_model_get or
 * srv_models_acquire): 404 for an unknown run or one that succeeded without a model ("final":
 * "none"), 409 with its status and reason for a run that has not succeeded (queued, running,
 * failed, cancelled); other errors by their code. */
void srv_api_no_model(srv_req *req, srv_resp *resp, srv_store *s, const nn_error *err);

/* spec requests (srv_api_specs.c) */
/* Parses a JSON body; answers 400 with the position on failure and returns NULL. */
json_t *srv_api_json_body(srv_req *req, srv_resp *resp);
/* The message of a JSON parse error (a NUL in a string said in words, not as a parser flag). */
void srv_api_json_error(const json_error_t *jerr, char *out, size_t size);
/* Whether the body of a spec request (POST /v1/runs, /v1/specs/validate) is within
 * --max-spec-bytes; answers 413 and returns 0 when it is not. */
int srv_api_spec_size_ok(srv_req *req, srv_resp *resp);
/* Parses and checks a spec request's body {"spec", "dataset"}: its size, JSON, keys (unknown ones
 * are 422 with a suggestion), the spec and its name; "dataset" required when need_dataset. On
 * NN_OK *spec (destroy) and *dataset (free; NULL when absent) are the caller's; otherwise the
 * problem is answered. */
nn_status srv_api_spec_request(srv_req *req, srv_resp *resp, int need_dataset, nn_spec **spec,
                               char **dataset);
/* Plans spec on the dataset's (cached) table with every check that needs the data (columns,
 * plan, --max-params, rows for the validation); fills out (may be NULL) with features,
 * input_width, parameters and rows. 0, or -1 with the problem answered (422 at pointers). */
int srv_api_plan(srv_req *req, srv_store *s, const char *dataset, const nn_spec *spec, json_t *out,
                 srv_resp *resp);
/* A reference to the dataset's table read with the spec's text columns and id (spec may be
 * NULL), from the table cache; release with srv_tables_release(req->app->tables, *out).
 * NN_ERR_SPEC with problems in errs for an unknown dataset (/dataset) or column
 * (/text_columns/N, /id); other statuses in err. */
nn_status srv_api_table(srv_req *req, srv_store *s, const char *dataset_id, const nn_spec *spec,
                        nn_spec_errors *errs, srv_table_ref **out, nn_error *err);
/* srv_api_table with its problems answered (422 at pointers, or the status's): the reference,
 * or NULL when resp holds the answer. */
srv_table_ref *srv_api_table_or_answer(srv_req *req, srv_store *s, const char *dataset,
                                       const nn_spec *spec, srv_resp *resp);

#endif
