/* srv_api.h — the request handlers behind the routes of srv_routes.c. */
#ifndef SRV_API_H
#define SRV_API_H

#include "nn_model.h"
#include "nn_pipe.h"
#include "nn_spec.h"
#include "nn_table.h"
#include "srv_http.h"

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
void srv_api_run_cancel(srv_req *req, srv_resp *resp);
void srv_api_run_history(srv_req *req, srv_resp *resp);
void srv_api_run_predictions(srv_req *req, srv_resp *resp);
void srv_api_run_model(srv_req *req, srv_resp *resp);
void srv_api_run_predict(srv_req *req, srv_resp *resp);
void srv_api_run_features(srv_req *req, srv_resp *resp);

/* a classification run's answers (srv_api_class.c): classes are the run's metrics' "classes" */
char *srv_class_predictions_csv(const srv_prediction *p, size_t n, const json_t *classes,
                                int has_id, size_t *len);
json_t *srv_class_predictions_json(const srv_prediction *p, size_t n, const json_t *classes,
                                   int has_id);
/* Answers a prediction of rows t by classifier m (prob: n × classes). */
void srv_class_predict_answer(srv_resp *resp, int csv, const nn_model *m, const nn_table *t,
                              const double *prob);

/* the service (srv_api_sys.c) */
void srv_api_healthz(srv_req *req, srv_resp *resp);
void srv_api_metrics(srv_req *req, srv_resp *resp);
void srv_api_openapi(srv_req *req, srv_resp *resp);
void srv_api_static(srv_req *req, srv_resp *resp);

/* Shared helpers (srv_api_data.c). */
srv_store *srv_api_store(srv_req *req, srv_resp *resp);
/* The store and the run named by the path's {id} in *run (free with srv_run_free); answers
 * 404/503 and returns NULL when either is missing. */
srv_store *srv_api_run(srv_req *req, srv_resp *resp, srv_run *run);
/* Reads the dataset's CSV with the spec's text columns (spec may be NULL). */
nn_status srv_api_load_table(srv_store *s, const char *dataset_id, const nn_spec *spec,
                             nn_table **out, nn_error *err);
/* Whether the body of a spec request (POST /v1/runs, /v1/specs/validate) is within
 * --max-spec-bytes; answers 413 and returns 0 when it is not. */
int srv_api_spec_size_ok(srv_req *req, srv_resp *resp);
/* Adds an error at /network and returns NN_ERR_SPEC when the planned network's parameters ×
 * ensemble exceed max_params (--max-params). */
nn_status srv_api_check_params(int64_t max_params, const nn_spec *spec, const nn_plan *plan,
                               nn_spec_errors *errs);
/* Parses a JSON body; answers 400 with the position on failure and returns NULL. */
json_t *srv_api_json_body(srv_req *req, srv_resp *resp);

#endif
