/* srv_api_sys.c — health, Prometheus metrics, the OpenAPI document and the dashboard's files. */
#include "srv_api.h"

#include "srv_buf.h"
#include "srv_guard.h"
#include "srv_metrics.h"
#include "srv_queue.h"
#include "srv_tables.h"
#include "srv_work.h"

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

/* One metric: its HELP and TYPE lines, then the sample. */
static void metric(srv_buf *b, const char *name, const char *type, const char *help) {
    srv_bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void srv_api_metrics(srv_req *req, srv_resp *resp) {
    const srv_ctx *app = req->ctx;
    srv_http *h = req->http;
    nn_error err = {0};
    srv_store *s = srv_ctx_store(req->ctx, &err);
    srv_buf b = {0};
    const srv_counters *c = &app->counters;
    metric(&b, "nnd_requests_total", "counter", "HTTP requests received.");
    srv_bprintf(&b, "nnd_requests_total %lld\n", (long long)atomic_load(&c->requests));
    metric(&b, "nnd_responses_total", "counter", "HTTP error responses by class.");
    srv_bprintf(&b, "nnd_responses_total{class=\"4xx\"} %lld\n",
                (long long)atomic_load(&c->responses_4xx));
    srv_bprintf(&b, "nnd_responses_total{class=\"5xx\"} %lld\n",
                (long long)atomic_load(&c->responses_5xx));
    /* counted at most every SRV_METRICS_REFRESH_MS, whatever the number of scrapes or runs */
    long long runs[5] = {0};
    int64_t age = 0;
    if (s) (void)srv_metrics_run_counts(h->metrics, s, runs, &age, &err);
    metric(&b, "nnd_runs", "gauge", "Runs by status (counted at most every 2 s).");
    for (int i = 0; i < 5; i++)
        srv_bprintf(&b, "nnd_runs{status=\"%s\"} %lld\n", srv_run_status_name((srv_run_status)i),
                    runs[i]);
    int64_t depth = 0, active = 0;
    if (s) (void)srv_queue_depth(s, &depth, &active, &err); /* on the status index */
    srv_engine_stats es;
    srv_engine_stats_get(req->eng, &es);
    int jobs = es.jobs, busy = es.busy;
    metric(&b, "nnd_queue_depth", "gauge", "Runs waiting for a worker.");
    srv_bprintf(&b, "nnd_queue_depth %lld\n", (long long)depth);
    metric(&b, "nnd_workers_busy", "gauge", "Workers training now.");
    srv_bprintf(&b, "nnd_workers_busy %d\nnnd_workers %d\nnnd_jobs_active %d\n", busy,
                app->cfg.workers, jobs);
    metric(&b, "nnd_samples_trained_total", "counter",
           "Training samples processed (rows × epochs).");
    srv_bprintf(&b, "nnd_samples_trained_total %lld\n",
                (long long)atomic_load(&c->samples_trained));
    srv_bprintf(&b, "# TYPE nnd_rows_predicted_total counter\nnnd_rows_predicted_total %lld\n",
                (long long)atomic_load(&c->rows_predicted));
    srv_bprintf(&b, "# TYPE nnd_upload_bytes_total counter\nnnd_upload_bytes_total %lld\n",
                (long long)atomic_load(&c->bytes_uploaded));
    srv_bprintf(&b, "# TYPE nnd_event_streams gauge\nnnd_event_streams %d\n",
                atomic_load(&c->streams_open));
    metric(&b, "nnd_events_written_total", "counter", "Run events stored by the event writer.");
    srv_bprintf(&b,
                "nnd_events_written_total %lld\n"
                "# TYPE nnd_events_queued gauge\nnnd_events_queued %lld\n"
                "# TYPE nnd_event_batches_total counter\nnnd_event_batches_total %lld\n",
                (long long)es.events_written, (long long)es.events_queued,
                (long long)es.event_batches);
    long long slow_head = 0, slow_body = 0;
    srv_guard_dropped(h->guard, &slow_head, &slow_body);
    metric(&b, "nnd_slow_connections_dropped_total", "counter",
           "Connections closed for sending their request head within --timeout, or their body "
           "slower than --min-body-rate.");
    srv_bprintf(&b,
                "nnd_slow_connections_dropped_total{part=\"head\"} %lld\n"
                "nnd_slow_connections_dropped_total{part=\"body\"} %lld\n",
                slow_head, slow_body);
    int running = 0, waiting = 0;
    srv_work_stats(h->work, &running, &waiting);
    metric(&b, "nnd_work_requests", "gauge",
           "Expensive requests (uploads, validations, run creations) on the work threads.");
    srv_bprintf(&b, "nnd_work_requests{state=\"running\"} %d\n", running);
    srv_bprintf(&b, "nnd_work_requests{state=\"waiting\"} %d\n", waiting);
    int64_t cached = 0;
    long long hits = 0, misses = 0;
    srv_tables_stats(h->tables, &cached, &hits, &misses);
    metric(&b, "nnd_table_cache_bytes", "gauge", "Parsed datasets kept in memory.");
    srv_bprintf(&b, "nnd_table_cache_bytes %lld\n", (long long)cached);
    metric(&b, "nnd_table_cache_lookups_total", "counter",
           "Dataset tables found parsed (hit) or parsed from the file (miss).");
    srv_bprintf(&b, "nnd_table_cache_lookups_total{result=\"hit\"} %lld\n", hits);
    srv_bprintf(&b, "nnd_table_cache_lookups_total{result=\"miss\"} %lld\n", misses);
    metric(&b, "nnd_metrics_run_counts_total", "counter", "Times the runs were counted by status.");
    srv_bprintf(&b, "nnd_metrics_run_counts_total %lld\n", srv_metrics_refreshes(h->metrics));
    srv_bprintf(&b, "# TYPE nnd_uptime_seconds gauge\nnnd_uptime_seconds %.3f\n",
                (double)(srv_now_ms() - app->started_at) / 1000.0);
    if (b.failed) {
        srv_buf_free(&b);
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    srv_text(resp, 200, "text/plain; version=0.0.4", b.p, b.len);
    resp->no_store = 1;
}

void srv_api_openapi(srv_req *req, srv_resp *resp) {
    (void)req;
    char *text = strdup(srv_openapi_json);
    if (!text) {
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
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
