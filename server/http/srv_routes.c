/* srv_routes.c — the route table: every endpoint of nnd, in one place. /openapi.json documents
 * the same list and a test checks that the two agree. Columns: method, path, body, handler,
 * needs the token. */
#include "srv_api.h"

static const srv_route routes[] = {
    {"POST", "/v1/datasets", SRV_BODY_UPLOAD, srv_api_dataset_upload, 1},
    {"GET", "/v1/datasets", SRV_BODY_NONE, srv_api_dataset_list, 1},
    {"GET", "/v1/datasets/{id}", SRV_BODY_NONE, srv_api_dataset_get, 1},
    {"DELETE", "/v1/datasets/{id}", SRV_BODY_NONE, srv_api_dataset_delete, 1},
    {"GET", "/v1/datasets/{id}/csv", SRV_BODY_NONE, srv_api_dataset_csv, 1},
    {"POST", "/v1/specs/validate", SRV_BODY_JSON, srv_api_spec_validate, 1},
    {"POST", "/v1/runs", SRV_BODY_JSON, srv_api_run_create, 1},
    {"GET", "/v1/runs", SRV_BODY_NONE, srv_api_run_list, 1},
    {"GET", "/v1/runs/{id}", SRV_BODY_NONE, srv_api_run_get, 1},
    {"GET", "/v1/runs/{id}/events", SRV_BODY_NONE, srv_api_run_events, 1},
    {"GET", "/v1/runs/{id}/history", SRV_BODY_NONE, srv_api_run_history, 1},
    {"GET", "/v1/runs/{id}/predictions", SRV_BODY_NONE, srv_api_run_predictions, 1},
    {"POST", "/v1/runs/{id}/cancel", SRV_BODY_NONE, srv_api_run_cancel, 1},
    {"GET", "/v1/runs/{id}/model", SRV_BODY_NONE, srv_api_run_model, 1},
    {"POST", "/v1/runs/{id}/predict", SRV_BODY_MEMORY, srv_api_run_predict, 1},
    {"GET", "/v1/runs/{id}/features", SRV_BODY_NONE, srv_api_run_features, 1},
    {"GET", "/v1/runs/{id}/compare", SRV_BODY_NONE, srv_api_run_compare, 1},
    {"POST", "/v1/studies", SRV_BODY_JSON, srv_api_study_create, 1},
    {"GET", "/v1/studies", SRV_BODY_NONE, srv_api_study_list, 1},
    {"GET", "/v1/studies/{id}", SRV_BODY_NONE, srv_api_study_get, 1},
    {"DELETE", "/v1/studies/{id}", SRV_BODY_NONE, srv_api_study_delete, 1},
    {"GET", "/v1/studies/{id}/leaderboard", SRV_BODY_NONE, srv_api_study_leaderboard, 1},
    {"GET", "/v1/studies/{id}/events", SRV_BODY_NONE, srv_api_study_events, 1},
    {"GET", "/v1/studies/{id}/runs", SRV_BODY_NONE, srv_api_study_runs, 1},
    {"POST", "/v1/studies/{id}/cancel", SRV_BODY_NONE, srv_api_study_cancel, 1},
    {"POST", "/v1/studies/{id}/predict", SRV_BODY_MEMORY, srv_api_study_predict, 1},
    {"GET", "/v1/studies/{id}/model", SRV_BODY_NONE, srv_api_study_model, 1},
    {"GET", "/healthz", SRV_BODY_NONE, srv_api_healthz, 0},
    {"GET", "/metrics", SRV_BODY_NONE, srv_api_metrics, 0},
    {"GET", "/openapi.json", SRV_BODY_NONE, srv_api_openapi, 0},
    {"GET", "/", SRV_BODY_NONE, srv_api_static, 0},
    {"GET", "/{id}", SRV_BODY_NONE, srv_api_static, 0},
    {"GET", "/assets/{id}", SRV_BODY_NONE, srv_api_static, 0},
    {"GET", "/vendor/{id}", SRV_BODY_NONE, srv_api_static, 0},
};

const srv_route *srv_routes(size_t *n) {
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
