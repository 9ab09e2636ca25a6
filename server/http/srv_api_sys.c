/* srv_api_sys.c — health, Prometheus metrics, the OpenAPI document and the dashboard's files. */
#include "srv_api.h"

#include "srv_guard.h"
#include "srv_queue.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char srv_openapi_json[]; /* generated from server/openapi.json */

void srv_api_healthz(srv_req *req, srv_resp *resp) {
    nn_error err = {0};
    srv_store *s = srv_ctx_store(req->ctx, &err);
    int64_t depth = 0, active = 0;
    if (!s || srv_queue_depth(s, &depth, &active, &err) != NN_OK) {
        srv_json(resp, 503, json_pack("{s:s, s:s}", "status", "unavailable", "detail", err.msg));
        return;
    }
    srv_json(resp, 200,
             json_pack("{s:s, s:s, s:I}", "status", "ok", "version", NN_VERSION, "queued",
                       (json_int_t)depth));
    resp->no_store = 1;
}

void srv_api_metrics(srv_req *req, srv_resp *resp) {
    const srv_ctx *app = req->ctx;
    nn_error err = {0};
    srv_store *s = srv_ctx_store(req->ctx, &err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        srv_problem(resp, 500, "out of memory");
        return;
    }
    const srv_counters *c = &app->counters;
    fprintf(
        f,
        "# HELP nnd_requests_total HTTP requests received.\n# TYPE nnd_requests_total counter\n");
    fprintf(f, "nnd_requests_total %lld\n", (long long)atomic_load(&c->requests));
    fprintf(f, "# HELP nnd_responses_total HTTP error responses by class.\n# TYPE "
               "nnd_responses_total counter\n");
    fprintf(f, "nnd_responses_total{class=\"4xx\"} %lld\n",
            (long long)atomic_load(&c->responses_4xx));
    fprintf(f, "nnd_responses_total{class=\"5xx\"} %lld\n",
            (long long)atomic_load(&c->responses_5xx));
    fprintf(f, "# HELP nnd_runs Runs by status.\n# TYPE nnd_runs gauge\n");
    static const char *const st[] = {"queued", "running", "succeeded", "failed", "cancelled"};
    for (int i = 0; s && i < 5; i++) {
        json_t *list = NULL;
        char *next = NULL;
        long long count = 0;
        for (char *cursor = NULL;;) {
            if (srv_run_list(s, i, NULL, cursor, 200, &list, &next, &err) != NN_OK) break;
            count += (long long)json_array_size(list);
            json_decref(list);
            free(cursor);
            cursor = next;
            if (!cursor) break;
        }
        fprintf(f, "nnd_runs{status=\"%s\"} %lld\n", st[i], count);
    }
    int64_t depth = 0, active = 0;
    if (s) (void)srv_queue_depth(s, &depth, &active, &err);
    srv_engine_stats es;
    srv_engine_stats_get(req->eng, &es);
    int jobs = es.jobs, busy = es.busy;
    fprintf(f, "# HELP nnd_queue_depth Runs waiting for a worker.\n# TYPE nnd_queue_depth gauge\n");
    fprintf(f, "nnd_queue_depth %lld\n", (long long)depth);
    fprintf(f, "# HELP nnd_workers_busy Workers training now.\n# TYPE nnd_workers_busy gauge\n");
    fprintf(f, "nnd_workers_busy %d\nnnd_workers %d\nnnd_jobs_active %d\n", busy, app->cfg.workers,
            jobs);
    fprintf(f, "# HELP nnd_samples_trained_total Training samples processed (rows × epochs).\n"
               "# TYPE nnd_samples_trained_total counter\n");
    fprintf(f, "nnd_samples_trained_total %lld\n", (long long)atomic_load(&c->samples_trained));
    fprintf(f, "# TYPE nnd_rows_predicted_total counter\nnnd_rows_predicted_total %lld\n",
            (long long)atomic_load(&c->rows_predicted));
    fprintf(f, "# TYPE nnd_upload_bytes_total counter\nnnd_upload_bytes_total %lld\n",
            (long long)atomic_load(&c->bytes_uploaded));
    fprintf(f, "# TYPE nnd_event_streams gauge\nnnd_event_streams %d\n",
            atomic_load(&c->streams_open));
    fprintf(f,
            "# HELP nnd_events_written_total Run events stored by the event writer.\n"
            "# TYPE nnd_events_written_total counter\nnnd_events_written_total %lld\n"
            "# TYPE nnd_events_queued gauge\nnnd_events_queued %lld\n"
            "# TYPE nnd_event_batches_total counter\nnnd_event_batches_total %lld\n",
            (long long)es.events_written, (long long)es.events_queued,
            (long long)es.event_batches);
    fprintf(f,
            "# HELP nnd_slow_connections_dropped_total Connections closed for sending their "
            "request headers slower than --timeout.\n"
            "# TYPE nnd_slow_connections_dropped_total counter\n"
            "nnd_slow_connections_dropped_total %lld\n",
            srv_guard_dropped(req->http->guard));
    fprintf(f, "# TYPE nnd_uptime_seconds gauge\nnnd_uptime_seconds %.3f\n",
            (double)(srv_now_ms() - app->started_at) / 1000.0);
    if (fclose(f) != 0 || !text) {
        free(text);
        srv_problem(resp, 500, "out of memory");
        return;
    }
    srv_text(resp, 200, "text/plain; version=0.0.4", text, len);
}

void srv_api_openapi(srv_req *req, srv_resp *resp) {
    (void)req;
    char *text = strdup(srv_openapi_json);
    if (!text) {
        srv_problem(resp, 500, "out of memory");
        return;
    }
    srv_text(resp, 200, "application/json", text, strlen(text));
}

static const char *mime_of(const char *path) {
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".csv", "text/csv; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(dot, map[i][0]) == 0) return map[i][1];
    return "application/octet-stream";
}

/* Serves a file under web_dir. Paths with "..", hidden files or other characters than
 * [A-Za-z0-9._/-] are refused, so nothing outside web/ can be reached. */
void srv_api_static(srv_req *req, srv_resp *resp) {
    const char *p = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    if (strstr(p, "..") || strstr(p, "/.") || strlen(p) > 200) {
        srv_problem(resp, 404, "no such file");
        return;
    }
    for (const char *c = p; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("._/-", *c))) {
            srv_problem(resp, 404, "no such file");
            return;
        }
    }
    char path[sizeof req->ctx->cfg.web_dir + sizeof req->path];
    (void)snprintf(path, sizeof path, "%s%s", req->ctx->cfg.web_dir, p);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        srv_problem(resp, 404, "no such file");
        return;
    }
    resp->status = 200;
    resp->content_type = mime_of(path);
    resp->fd = fd;
    resp->fd_size = sb.st_size;
}
