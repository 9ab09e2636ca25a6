/* test_srv_http.c — the one table from status codes to HTTP statuses, and the problems built
 * from it. */
#include "check.h"
#include "srv_http.h"

#include <stdlib.h>

/* Every status code has a row: a new code added to NN_STATUS_TABLE without one fails here. */
static void test_every_status_has_an_http_status(void) {
    for (int c = 0; c < NN_STATUS_COUNT; c++) {
        int retry = -1;
        int http = srv_http_status((nn_status)c, &retry);
        CHECK(http >= 200 && http <= 599);
        CHECK(retry >= 0);
        if (c != NN_OK) CHECK(http >= 400);
        if (http == 503 || http == 429) CHECK(retry > 0); /* a passing condition says when */
        if (!(http >= 400 && http <= 599) && c != NN_OK)
            fprintf(stderr, "status %d (%s) has no HTTP status\n", c, nn_status_str((nn_status)c));
        CHECK(strcmp(nn_status_str((nn_status)c), "unknown status") != 0);
    }
    /* out of range: a server error, never a success */
    CHECK(srv_http_status(NN_STATUS_COUNT, NULL) == 500);
    CHECK(srv_http_status((nn_status)-1, NULL) == 500);
}

static void test_statuses_say_what_happened(void) {
    int retry = 0;
    CHECK(srv_http_status(NN_OK, NULL) == 200);
    CHECK(srv_http_status(NN_ERR_NOT_FOUND, NULL) == 404);
    CHECK(srv_http_status(NN_ERR_CONFLICT, NULL) == 409);
    CHECK(srv_http_status(NN_ERR_BUSY, &retry) == 503 && retry > 0);
    CHECK(srv_http_status(NN_ERR_FULL, &retry) == 507 && retry == 0);
    /* out of memory is the server's condition: not a 4xx, and it passes */
    CHECK(srv_http_status(NN_ERR_NOMEM, &retry) == 503 && retry > 0);
    CHECK(srv_http_status(NN_ERR_SPEC, NULL) == 422);
    CHECK(srv_http_status(NN_ERR_PARSE, NULL) == 422);
    CHECK(srv_http_status(NN_ERR_LIMIT, NULL) == 413);
    CHECK(srv_http_status(NN_ERR_TOO_MANY, &retry) == 429 && retry > 0);
    CHECK(srv_http_status(NN_ERR_UNAVAILABLE, &retry) == 503 && retry > 0);
    CHECK(srv_http_status(NN_ERR_INVALID, NULL) == 400);
    CHECK(srv_http_status(NN_ERR_IO, NULL) == 500);
}

static void test_problem_from_uses_the_code_not_the_text(void) {
    srv_resp resp = {.fd = -1};
    /* a message that reads like another condition does not change the status */
    nn_error err = {.code = NN_ERR_CONFLICT};
    (void)snprintf(err.msg, sizeof err.msg, "dataset 42 not found; database is busy; No space");
    srv_problem_from(&resp, &err);
    CHECK(resp.status == 409);
    CHECK(resp.retry_after == 0);
    CHECK_STR(resp.content_type, "application/problem+json");
    CHECK_CONTAINS(resp.body, "\"status\":409");
    CHECK_CONTAINS(resp.body, "\"title\":\"Conflict\"");
    free(resp.body);

    srv_resp busy = {.fd = -1};
    err.code = NN_ERR_BUSY;
    srv_problem_from(&busy, &err);
    CHECK(busy.status == 503 && busy.retry_after > 0);
    free(busy.body);

    srv_resp full = {.fd = -1};
    srv_problem_code(&full, NN_ERR_FULL, "the server's disk is full");
    CHECK(full.status == 507);
    CHECK_CONTAINS(full.body, "Insufficient Storage");
    free(full.body);
}

static void test_plan_failures_by_status(void) {
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_spec_errors_add(&errs, "/training/epochs", "must be ≥ 1");
    srv_resp spec = {.fd = -1};
    srv_problem_plan(&spec, NN_ERR_SPEC, &errs);
    CHECK(spec.status == 422);
    CHECK_CONTAINS(spec.body, "\"pointer\":\"/training/epochs\"");
    free(spec.body);

    /* out of memory while planning: 503 with Retry-After, not "invalid spec" */
    nn_spec_errors oom;
    memset(&oom, 0, sizeof oom);
    nn_spec_errors_add(&oom, "", "out of memory");
    srv_resp nomem = {.fd = -1};
    srv_problem_plan(&nomem, NN_ERR_NOMEM, &oom);
    CHECK(nomem.status == 503 && nomem.retry_after > 0);
    CHECK(strstr(nomem.body, "invalid-spec") == NULL);
    free(nomem.body);
}

int main(void) {
    RUN(test_every_status_has_an_http_status);
    RUN(test_statuses_say_what_happened);
    RUN(test_problem_from_uses_the_code_not_the_text);
    RUN(test_plan_failures_by_status);
    return check_summary();
}
