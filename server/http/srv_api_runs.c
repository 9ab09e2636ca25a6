/* srv_api_runs.c — creating, listing, reading, streaming and cancelling runs. */
#include "srv_api.h"

#include "nn_pipe.h"
#include "nn_sha256.h"
#include "nn_cv.h"
#include "srv_queue.h"
#include "srv_stream.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_create_work(srv_req *req, srv_resp *resp);

void srv_api_run_create(srv_req *req, srv_resp *resp) {
    if (!srv_api_spec_size_ok(req, resp)) return;
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    /* a full queue is refused before the cost of planning; the insert checks again, atomically */
    int64_t depth = 0, active = 0;
    nn_error qerr = {0};
    if (srv_queue_depth(s, &depth, &active, &qerr) == NN_OK && depth >= req->ctx->cfg.max_queued) {
        srv_problem_code(resp, NN_ERR_TOO_MANY, "%lld runs are waiting already", (long long)depth);
        resp->retry_after = 10; /* a run takes a while */
        return;
    }
    srv_defer(resp, run_create_work); /* parsing and planning: off the HTTP threads */
}

/* On a work thread: the spec planned on its dataset, then the run queued. */
static void run_create_work(srv_req *req, srv_resp *resp) {
    nn_spec *spec = NULL;
    char *dataset = NULL;
    if (srv_api_spec_request(req, resp, 1, &spec, &dataset) != NN_OK) return;
    srv_store *s = srv_api_store(req, resp);
    if (!s || srv_api_plan(req, s, dataset, spec, NULL, resp) != 0) {
        nn_spec_destroy(spec);
        free(dataset);
        return;
    }
    nn_error err = {0};
    const char *key = srv_header(req, "Idempotency-Key");
    char req_hash[65];
    nn_sha256_hex(req->body, req->body_len, req_hash);
    srv_run run;
    memset(&run, 0, sizeof run);
    (void)snprintf(run.dataset_id, sizeof run.dataset_id, "%s", dataset);
    run.spec = nn_spec_to_json(spec);
    (void)snprintf(run.spec_hash, sizeof run.spec_hash, "%s", spec->hash);
    run.spec_name = strdup(spec->name);
    int has_final = 0;
    nn_cv_plan_tasks(spec, &run.n_folds, &has_final);
    run.n_tasks = run.n_folds + has_final;
    run.epochs_per_task = (int64_t)spec->epochs * spec->ensemble;
    nn_spec_destroy(spec);
    free(dataset);
    int created = 0;
    if (key && (strlen(key) == 0 || strlen(key) > 255)) {
        srv_run_free(&run);
        srv_problem(resp, 400, "Idempotency-Key: 1 to 255 characters");
        return;
    }
    if (srv_run_create_queued(s, &run, key, req_hash, req->ctx->cfg.max_queued, &created, &err) !=
        NN_OK) {
        srv_run_free(&run);
        if (err.code == NN_ERR_NOT_FOUND) { /* the dataset was deleted since it was planned on */
            nn_spec_errors errs;
            memset(&errs, 0, sizeof errs);
            nn_spec_errors_add(&errs, "/dataset", "no dataset \"%s\"", run.dataset_id);
            srv_problem_spec(resp, &errs, NULL);
        } else if (err.code == NN_ERR_CONFLICT) {
            /* the key names another request: 422, as the Idempotency-Key draft asks */
            srv_problem(resp, 422, "%s", err.msg);
        } else {
            srv_problem_from(resp, &err);
            if (err.code == NN_ERR_TOO_MANY) resp->retry_after = 10; /* a run takes a while */
        }
        return;
    }
    (void)snprintf(resp->location, sizeof resp->location, "/v1/runs/%s", run.id);
    srv_json(resp, 202,
             json_pack("{s:s, s:s}", "id", run.id, "status", srv_run_status_name(run.status)));
    srv_run_free(&run);
    if (created) srv_engine_wake(req->eng);
}

static void ms_or_null(srv_buf *b, const char *key, int64_t ms) {
    if (ms)
        srv_bprintf(b, ",\"%s\":%lld", key, (long long)ms);
    else
        srv_bprintf(b, ",\"%s\":null", key);
}

/* A run as JSON text, written straight into a buffer (Jansson's object building and dumping were
 * a fifth of GET /v1/runs/{id}'s CPU); the stored spec and metrics JSON are spliced in as they
 * are (the largest part, valid JSON when stored). */
static char *run_text(const srv_run *r, size_t *len) {
    srv_buf b = {0};
    srv_bputs(&b, "{\"id\":");
    srv_bjson_str(&b, r->id);
    srv_bputs(&b, ",\"dataset\":");
    if (r->dataset_id[0])
        srv_bjson_str(&b, r->dataset_id);
    else
        srv_bputs(&b, "null");
    srv_bprintf(&b, ",\"status\":\"%s\",\"progress\":", srv_run_status_name(r->status));
    srv_bnum(&b, isfinite(r->progress) ? r->progress : 0.0);
    srv_bputs(&b, ",\"name\":");
    if (r->spec_name)
        srv_bjson_str(&b, r->spec_name);
    else
        srv_bputs(&b, "null");
    srv_bputs(&b, ",\"spec_hash\":");
    srv_bjson_str(&b, r->spec_hash);
    ms_or_null(&b, "created_at", r->created_at);
    ms_or_null(&b, "started_at", r->started_at);
    ms_or_null(&b, "finished_at", r->finished_at);
    srv_bprintf(&b, ",\"attempts\":%d", r->attempts);
    int64_t end = r->finished_at ? r->finished_at : srv_now_ms();
    if (r->started_at)
        srv_bprintf(&b, ",\"duration_ms\":%lld", (long long)(end - r->started_at));
    else
        srv_bputs(&b, ",\"duration_ms\":null");
    srv_bputs(&b, ",\"error\":");
    if (r->error)
        srv_bjson_str(&b, r->error);
    else
        srv_bputs(&b, "null");
    const char *spec = r->spec_text ? r->spec_text : "null";
    const char *metrics = r->metrics_text ? r->metrics_text : "null";
    srv_bputs(&b, ",\"spec\":");
    srv_bput(&b, spec, strlen(spec));
    srv_bputs(&b, ",\"metrics\":");
    srv_bput(&b, metrics, strlen(metrics));
    srv_bputs(&b, "}");
    if (b.failed) {
        srv_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void srv_api_run_get(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    srv_run run;
    memset(&run, 0, sizeof run);
    nn_error err = {0};
    if (srv_run_get_text(s, req->param, &run, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    size_t len = 0;
    char *text = run_text(&run, &len);
    srv_run_free(&run);
    if (!text)
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
    else
        srv_text(resp, 200, "application/json", text, len);
}

void srv_api_run_list(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    int status = -1;
    const char *st = srv_query(req, "status");
    if (st) {
        srv_run_status v;
        if (!srv_run_status_from_name(st, &v)) {
            srv_problem(resp, 400, "status: one of queued, running, succeeded, failed, cancelled");
            return;
        }
        status = (int)v;
    }
    const char *lim = srv_query(req, "limit");
    int limit = 50;
    if (lim) {
        char *end = NULL;
        long v = strtol(lim, &end, 10);
        if (!*lim || *end || v < 1 || v > 200) {
            srv_problem(resp, 400, "limit: an integer in 1..200");
            return;
        }
        limit = (int)v;
    }
    json_t *list = NULL;
    char *next = NULL;
    nn_error err = {0};
    if (srv_run_list(s, status, srv_query(req, "dataset"), srv_query(req, "cursor"), limit, &list,
                     &next, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    srv_json(resp, 200, json_pack("{s:o, s:s?}", "runs", list, "next_cursor", next));
    free(next);
}

void srv_api_run_events(srv_req *req, srv_resp *resp) {
    srv_run run;
    srv_store *s = srv_api_run(req, resp, &run);
    if (!s) return;
    srv_run_free(&run);
    srv_api_open_events(req, resp, SRV_STREAM_RUN);
}

void srv_api_open_events(srv_req *req, srv_resp *resp, srv_stream_kind kind) {
    const char *after = srv_header(req, "Last-Event-ID");
    if (!after) after = srv_query(req, "after");
    long long a = 0;
    if (after) {
        char *end = NULL;
        errno = 0;
        a = strtoll(after, &end, 10);
        if (!*after || *end || errno || a < 0) {
            srv_problem(resp, 400, "Last-Event-ID / after: a non-negative integer");
            return;
        }
    }
    if (atomic_load(&req->ctx->counters.streams_open) >= req->ctx->cfg.max_streams) {
        srv_problem_code(resp, NN_ERR_TOO_MANY, "too many open event streams");
        resp->retry_after = 5;
        return;
    }
    int nd = srv_accepts(req, "application/x-ndjson");
    if (srv_is_head(req)) { /* the headers of the stream, without opening one */
        srv_text(resp, 200, nd ? "application/x-ndjson" : "text/event-stream", NULL, 0);
        resp->no_store = 1;
        return;
    }
    char client[64];
    srv_client_address(req, client, sizeof client);
    int refused = 0;
    srv_stream *st = srv_stream_create(req->ctx, srv_engine_hub(req->eng), kind, req->param, a,
                                       nd ? SRV_STREAM_NDJSON : SRV_STREAM_SSE, client,
                                       req->ctx->cfg.max_streams_per_client, &refused);
    if (refused) {
        srv_problem(resp, 429, "%d event streams are open from %s already",
                    req->ctx->cfg.max_streams_per_client, client);
        resp->retry_after = 5;
        return;
    }
    if (!st) {
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    resp->status = 200;
    resp->content_type = nd ? "application/x-ndjson" : "text/event-stream";
    resp->stream = st;
}

void srv_api_run_cancel(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    nn_error err = {0};
    srv_run_status was = SRV_RUN_QUEUED;
    if (srv_engine_cancel(req->eng, s, req->param, &was, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    srv_run run;
    memset(&run, 0, sizeof run);
    if (srv_run_get(s, req->param, &run, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    if (was != SRV_RUN_QUEUED && was != SRV_RUN_RUNNING &&
        (run.status != SRV_RUN_CANCELLED || !run.cancel_requested)) {
        srv_problem(resp, 409, "run %s has already finished (%s)", run.id,
                    srv_run_status_name(run.status));
        srv_run_free(&run);
        return;
    }
    srv_json(resp, 202,
             json_pack("{s:s, s:s}", "id", run.id, "status", srv_run_status_name(run.status)));
    srv_run_free(&run);
}
