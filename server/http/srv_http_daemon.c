/* srv_http_daemon.c — libmicrohttpd glue: routing, the access handler, bodies, sending answers
 * (streamed ones too), work threads for deferred handlers, the request log, start and stop (see
 * srv_http.h DESIGN). Routes live in srv_routes.c; checks before routing in srv_http_check.c. */
#include "srv_http_internal.h"

#include "srv_buf.h"
#include "srv_guard.h"
#include "srv_metrics.h"
#include "srv_stream.h"
#include "srv_tables.h"
#include "srv_work.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- routing ---- */

static int match(const char *pattern, const char *path, char *param) {
    while (*pattern && *path) {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            size_t n = strcspn(path, "/");
            if (!close || n == 0 || n > SRV_ID_LEN) return 0;
            memcpy(param, path, n);
            param[n] = '\0';
            pattern = close + 1;
            path += n;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* Finds the route for method and path (HEAD is served by the GET route); when there is none,
 * allow (size bytes) lists the methods the path has ("" for an unknown path: a 404). */
static const srv_route *find_route(const srv_ctx *app, const char *method, const char *path,
                                   char *param, char *allow, size_t size) {
    size_t n;
    const srv_route *r = srv_routes(&n);
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    size_t used = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!match(r[i].pattern, path, param)) continue;
        if (strcmp(r[i].method, want) == 0) return &r[i];
        int w = snprintf(allow + used, size - used, "%s%s%s", used ? ", " : "", r[i].method,
                         strcmp(r[i].method, "GET") == 0 ? ", HEAD" : "");
        if (w > 0 && (size_t)w < size - used) used += (size_t)w;
    }
    if (used && app->cfg.cors_origin[0]) (void)snprintf(allow + used, size - used, ", OPTIONS");
    return NULL;
}

/* ---- responses to MHD ---- */

static void security_headers(const srv_ctx *app, struct MHD_Response *r, int html) {
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (html) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' "
                                "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    }
    if (app->cfg.cors_origin[0]) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", app->cfg.cors_origin);
        MHD_add_response_header(r, "Access-Control-Expose-Headers", "Location, Retry-After");
        MHD_add_response_header(r, "Vary", "Origin");
    }
}

/* The headers of a CORS preflight answer (RFC: Fetch standard, "CORS-preflight fetch"): without
 * Allow-Methods and Allow-Headers a browser refuses any call that sends the token, a JSON body
 * or a method beyond GET/HEAD/POST. */
static void preflight_headers(struct MHD_Response *r, const char *allow) {
    MHD_add_response_header(r, "Access-Control-Allow-Methods", allow);
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Accept, Idempotency-Key, Last-Event-ID");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
}

/* ---- streamed bodies ---- */

typedef struct gen_reader {
    int (*next)(void *gen, srv_buf *out);
    void (*done)(void *gen);
    void *gen;
    srv_buf buf; /* the current piece */
    size_t off;  /* bytes of it sent */
    int ended;
} gen_reader;

static ssize_t gen_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    gen_reader *g = cls;
    while (g->off == g->buf.len) {
        if (g->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        g->buf.len = g->off = 0;
        int r = g->next(g->gen, &g->buf);
        if (r < 0 || g->buf.failed) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (r == 0) g->ended = 1;
    }
    size_t n = g->buf.len - g->off;
    if (n > max) n = max;
    memcpy(buf, g->buf.p + g->off, n);
    g->off += n;
    return (ssize_t)n;
}

static void gen_free(void *cls) {
    gen_reader *g = cls;
    g->done(g->gen);
    srv_buf_free(&g->buf);
    free(g);
}

static struct MHD_Response *gen_response(srv_resp *resp) {
    gen_reader *g = calloc(1, sizeof *g);
    struct MHD_Response *r = NULL;
    if (g) {
        g->next = resp->next;
        g->done = resp->done;
        g->gen = resp->gen;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t)32 * 1024, gen_read, g,
                                              gen_free);
    }
    if (!r) { /* the generator is freed either way */
        resp->done(resp->gen);
        free(g);
    }
    resp->next = NULL;
    resp->gen = NULL;
    return r;
}

static enum MHD_Result send_resp(srv_req *req, srv_resp *resp) {
    struct MHD_Response *r = NULL;
    if (resp->next) {
        r = gen_response(resp);
    } else if (resp->stream) {
        r = srv_stream_response(resp->stream, req->conn);
    } else if (resp->fd >= 0) {
        r = MHD_create_response_from_fd64((uint64_t)resp->fd_size, resp->fd);
        req->bytes_out = resp->fd_size;
    } else {
        char *body = resp->body ? resp->body : strdup("");
        r = MHD_create_response_from_buffer_with_free_callback(resp->body ? resp->len : 0, body,
                                                               free);
        resp->body = NULL;
        req->bytes_out = (int64_t)resp->len;
    }
    if (!r) return MHD_NO;
    if (resp->content_type) MHD_add_response_header(r, "Content-Type", resp->content_type);
    if (resp->location[0]) MHD_add_response_header(r, "Location", resp->location);
    if (resp->disposition) MHD_add_response_header(r, "Content-Disposition", resp->disposition);
    if (resp->no_store || resp->stream) MHD_add_response_header(r, "Cache-Control", "no-store");
    if (resp->status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (resp->allow[0]) MHD_add_response_header(r, "Allow", resp->allow);
    if (resp->link[0]) MHD_add_response_header(r, "Link", resp->link);
    if (resp->preflight) preflight_headers(r, resp->allow);
    if (resp->close) MHD_add_response_header(r, "Connection", "close");
    if (resp->retry_after > 0) {
        char v[16];
        (void)snprintf(v, sizeof v, "%d", resp->retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    security_headers(req->ctx, r,
                     resp->content_type && strncmp(resp->content_type, "text/html", 9) == 0);
    req->status = resp->status;
    if (resp->status >= 500)
        atomic_fetch_add(&req->ctx->counters.responses_5xx, 1);
    else if (resp->status >= 400)
        atomic_fetch_add(&req->ctx->counters.responses_4xx, 1);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Sends a refusal made by one of the answer_* below: the request is answered and its body
 * (if any arrives) is dropped. */
static enum MHD_Result send_refusal(srv_req *req, srv_resp *resp) {
    req->rejected = 1;
    req->answered = 1;
    enum MHD_Result ok = send_resp(req, resp);
    free(resp->body);
    return ok;
}

static enum MHD_Result answer_problem(srv_req *req, int status, const char *detail) {
    srv_resp resp = {.fd = -1};
    srv_problem(&resp, status, "%s", detail);
    return send_refusal(req, &resp);
}

/* A problem and Connection: close (a request whose framing cannot be trusted). */
static enum MHD_Result answer_close(srv_req *req, int status, const char *detail) {
    srv_resp resp = {.fd = -1, .close = 1};
    srv_problem(&resp, status, "%s", detail);
    return send_refusal(req, &resp);
}

static enum MHD_Result answer_code(srv_req *req, nn_status code, const char *detail) {
    srv_resp resp = {.fd = -1};
    srv_problem_code(&resp, code, "%s", detail);
    return send_refusal(req, &resp);
}

/* ---- bodies ---- */

static int append_body(srv_req *req, const char *data, size_t n) {
    size_t need = req->body_len + n + 1;
    if (need > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < need) cap *= 2;
        char *b = realloc(req->body, cap);
        if (!b) return -1;
        req->body = b;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
    return 0;
}

static int open_upload(srv_req *req) {
    /* the pid names the owner: srv_app_start removes the files of processes that died */
    (void)snprintf(req->upload_path, sizeof req->upload_path, "%s/tmp/upload-%ld-XXXXXX",
                   req->ctx->cfg.data_dir, (long)getpid());
    char dir[1100];
    (void)snprintf(dir, sizeof dir, "%s/tmp", req->ctx->cfg.data_dir);
    (void)mkdir(dir, 0700);
    req->upload_fd = mkstemp(req->upload_path);
    nn_sha256_init(&req->upload_sha);
    return req->upload_fd >= 0 ? 0 : -1;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ENOSPC and EDQUOT are a full disk; any other write error is an I/O error. */
static nn_status write_errno_status(int e) {
    return e == ENOSPC || e == EDQUOT ? NN_ERR_FULL : NN_ERR_IO;
}

/* Consumes one chunk of body; returns NN_OK, or the status to answer with. */
static nn_status take_body(srv_req *req, const char *data, size_t n) {
    const srv_config *cfg = &req->ctx->cfg;
    if (req->route->body == SRV_BODY_NONE) return NN_OK;
    if (req->route->body == SRV_BODY_UPLOAD) {
        if (req->upload_bytes + (int64_t)n > cfg->max_upload) return NN_ERR_LIMIT;
        if (req->upload_fd < 0 && open_upload(req) != 0) return write_errno_status(errno);
        if (write_all(req->upload_fd, data, n) != 0) return write_errno_status(errno);
        nn_sha256_update(&req->upload_sha, data, n);
        req->upload_bytes += (int64_t)n;
        atomic_fetch_add(&req->ctx->counters.bytes_uploaded, (long long)n);
        return NN_OK;
    }
    if ((int64_t)(req->body_len + n) > cfg->max_body) return NN_ERR_LIMIT;
    return append_body(req, data, n) == 0 ? NN_OK : NN_ERR_NOMEM;
}

/* ---- the access handler ---- */

static void parse_path(srv_req *req, const char *url) {
    size_t n = strcspn(url, "?");
    if (n >= sizeof req->path) n = sizeof req->path - 1;
    memcpy(req->path, url, n);
    req->path[n] = '\0';
    /* one trailing slash is forgiven, except on "/" itself */
    if (n > 1 && req->path[n - 1] == '/') req->path[n - 1] = '\0';
}

/* On a work thread: the handler (or, when the pool stopped first, a 503), then the connection
 * is resumed and libmicrohttpd calls on_request again to send the answer. */
static void run_offloaded(void *arg, int cancelled) {
    srv_req *req = arg;
    if (cancelled)
        srv_problem_code(&req->work_resp, NN_ERR_UNAVAILABLE, "nnd is shutting down");
    else
        req->work_fn(req, &req->work_resp);
    void (*deferred)(srv_req *, srv_resp *) = req->work_resp.defer;
    req->work_resp.defer = NULL;
    if (deferred && !cancelled) deferred(req, &req->work_resp); /* already off the HTTP threads */
    atomic_store_explicit(&req->work_done, 1, memory_order_release);
    MHD_resume_connection(req->conn);
}

/* Suspends the connection and queues the request for a work thread (srv_work.h DESIGN); when
 * the queue is full, answers 503 + Retry-After through the same path. */
static enum MHD_Result offload(srv_req *req, void (*fn)(srv_req *, srv_resp *)) {
    req->offloaded = 1;
    req->work_fn = fn;
    req->work_resp = (srv_resp){.status = 200, .fd = -1};
    MHD_suspend_connection(req->conn); /* before queueing: the job may resume it at once */
    if (srv_work_submit(req->http->work, run_offloaded, req) != 0) {
        srv_problem_code(&req->work_resp, NN_ERR_UNAVAILABLE,
                         "%d expensive requests (uploads, validations, run creations) are "
                         "waiting already; try again shortly",
                         req->ctx->cfg.max_work_queue);
        atomic_store_explicit(&req->work_done, 1, memory_order_release);
        MHD_resume_connection(req->conn);
    }
    return MHD_YES;
}

/* The first call, with every header: framing and target checks, routing, the token and the
 * declared size; may answer at once. */
static enum MHD_Result first_call(srv_http *h, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, void **con_cls) {
    srv_req *req = calloc(1, sizeof *req);
    if (!req) return MHD_NO;
    req->http = h;
    req->ctx = h->ctx;
    req->eng = h->eng;
    const srv_ctx *app = h->ctx;
    req->conn = conn;
    req->method = method;
    req->upload_fd = -1;
    req->t0_us = now_us();
    *con_cls = req;
    srv_guard_mark(h->guard, conn, SRV_GUARD_BODY); /* the headers are all here */
    atomic_fetch_add(&h->ctx->counters.requests, 1);
    char detail[160];
    int http = 0;
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (fdi && srv__head_had_nul(fdi->connect_fd)) {
        (void)snprintf(detail, sizeof detail, "a header holds a NUL byte");
        http = 400;
    } else {
        (void)srv__check_head(conn, version, detail, sizeof detail, &http);
    }
    if (http) {
        /* one request must not be read two ways: answer once and close */
        (void)snprintf(req->path, sizeof req->path, "%s", "(refused)");
        return answer_close(req, http, detail);
    }
    const char *target = srv__target_path(url);
    if (strlen(target) >= sizeof req->path) return answer_problem(req, 414, "the URL is too long");
    parse_path(req, target);
    srv_resp early = {.fd = -1};
    req->route = find_route(app, method, req->path, req->param, early.allow, sizeof early.allow);
    if (!req->route && !strcmp(method, "OPTIONS") && app->cfg.cors_origin[0] && early.allow[0]) {
        req->answered = 1;
        early.status = 204;
        early.preflight = 1;
        return send_resp(req, &early);
    }
    if (!req->route) {
        if (early.allow[0])
            srv_problem(&early, 405, "%s %s: this path supports %s", method, req->path,
                        early.allow);
        else
            srv_problem(&early, 404, "no such resource");
        req->rejected = req->answered = 1;
        enum MHD_Result ok = send_resp(req, &early);
        free(early.body);
        return ok;
    }
    if (req->route->auth && !srv__authorized(req))
        return answer_problem(req, 401, "missing or wrong bearer token (Authorization: Bearer …)");
    if (req->route->body == SRV_BODY_UPLOAD) {
        srv_client_address(req, req->client, sizeof req->client);
        if (!srv_guard_upload_begin(h->guard, req->client, app->cfg.max_uploads_per_client)) {
            srv_resp busy = {.fd = -1};
            srv_problem(&busy, 429, "%d uploads from %s are in progress already",
                        app->cfg.max_uploads_per_client, req->client);
            busy.retry_after = 5;
            req->rejected = req->answered = 1;
            enum MHD_Result ok = send_resp(req, &busy);
            free(busy.body);
            return ok;
        }
        req->upload_counted = 1;
    }
    const char *cl = srv_header(req, "Content-Length");
    if (cl && req->route->body != SRV_BODY_NONE) {
        long long len = strtoll(cl, NULL, 10);
        int64_t cap = req->route->body == SRV_BODY_UPLOAD ? app->cfg.max_upload : app->cfg.max_body;
        if (len > cap)
            return answer_code(req, NN_ERR_LIMIT, "the body is larger than this server accepts");
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    srv_http *h = cls;
    srv_req *req = *con_cls;
    if (!req) return first_call(h, conn, url, method, version, con_cls);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        srv_guard_body(h->guard, conn, n);
        if (req->rejected) return MHD_YES;
        /* MHD cannot queue a response while the body is arriving: remember the status, discard
           the rest of the body, answer at the final call */
        req->reject_code = take_body(req, upload_data, n);
        if (req->reject_code != NN_OK) req->rejected = 1;
        return MHD_YES;
    }
    if (req->reject_code != NN_OK && !req->answered) {
        nn_status code = req->reject_code;
        return answer_code(req, code,
                           code == NN_ERR_LIMIT  ? "the body is larger than this server accepts"
                           : code == NN_ERR_FULL ? "the server's disk is full"
                                                 : "cannot receive the body");
    }
    if (req->offloaded) { /* called again once the work thread resumed the connection */
        if (!atomic_load_explicit(&req->work_done, memory_order_acquire)) return MHD_YES;
        enum MHD_Result ok = send_resp(req, &req->work_resp);
        free(req->work_resp.body);
        req->work_resp.body = NULL;
        req->offloaded = 0;
        return ok;
    }
    if (req->answered) return MHD_YES;
    req->answered = 1;
    srv_guard_mark(h->guard, conn, SRV_GUARD_DONE); /* read whole: the handler's turn */
    if (req->upload_fd >= 0 && fsync(req->upload_fd) != 0)
        return answer_code(req, write_errno_status(errno), "cannot store the upload");
    /* every request that writes may wait for the database's write lock: a work thread's
       (srv_work.h DESIGN); reads stay here */
    if (h->work && strcmp(req->route->method, "GET") != 0) return offload(req, req->route->handler);
    srv_resp resp = {.status = 200, .fd = -1};
    req->route->handler(req, &resp);
    if (resp.defer && h->work) return offload(req, resp.defer);
    if (resp.defer) resp.defer(req, &resp); /* no work threads: here */
    enum MHD_Result ok = send_resp(req, &resp);
    free(resp.body);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)toe;
    srv_http *h = cls;
    srv_req *req = *con_cls;
    srv_guard_mark(h->guard, conn, SRV_GUARD_HEAD); /* kept alive: waits for its next request */
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (fdi) srv__head_begin(fdi->connect_fd);
    if (!req) return;
    if (req->upload_counted) srv_guard_upload_end(h->guard, req->client);
    if (!h->ctx->cfg.quiet) {
        double ms = (double)(now_us() - req->t0_us) / 1000.0;
        (void)fprintf(stderr, "%s %s %d %lld %.1fms\n", req->method, req->path, req->status,
                      (long long)req->bytes_out, ms);
    }
    if (req->upload_fd >= 0) {
        close(req->upload_fd);
        (void)unlink(req->upload_path); /* handlers rename what they keep */
    }
    free(req->body);
    free(req->work_resp.body); /* answered by a work thread but never sent: the client left */
    free(req);
    *con_cls = NULL;
}

/* Percent-decodes the path and the query arguments like libmicrohttpd does, except that a
 * decoded NUL ("%00") becomes 0x01: as a NUL it would end the C string early, so that
 * "/index.html%00.txt" served index.html; as a control character every check that refuses
 * control characters (paths, ids, dataset names) sees it. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls, (void)conn;
    size_t n = MHD_http_unescape(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0') s[i] = '\x01';
    return n;
}

nn_status srv_http_start(srv_http *h, nn_error *err) {
    const srv_ctx *app = h->ctx;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)app->cfg.port);
    if (inet_pton(AF_INET, app->cfg.listen_host, &addr.sin_addr) != 1) {
        if (strcmp(app->cfg.listen_host, "localhost") != 0)
            return nn_error_set(err, NN_ERR_INVALID, "--listen: \"%s\" is not an IPv4 address",
                                app->cfg.listen_host);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    if (!h->guard &&
        srv_guard_create(app->cfg.timeout, app->cfg.min_body_rate, &h->guard, err) != NN_OK)
        return err->code;
    int poll_ms = app->stores && srv_stores_shared(app->stores) ? SRV_STREAM_POLL_MS : 0;
    if (!h->streams &&
        srv_streams_create(srv_engine_hub(h->eng), poll_ms, &h->streams, err) != NN_OK)
        return err->code;
    if (!h->tables && srv_tables_create(app->cfg.table_cache, &h->tables, err) != NN_OK)
        return err->code;
    if (!h->metrics && srv_metrics_create(&h->metrics, err) != NN_OK) return err->code;
    if (!h->work &&
        srv_work_create(app->cfg.work_threads, app->cfg.max_work_queue, &h->work, err) != NN_OK)
        return err->code;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | /* needed by MHD_quiesce_daemon */
                     MHD_USE_ERROR_LOG;
    /* one HTTP thread: the polling thread alone (a pool of 1 or 0 is refused with a warning) */
    struct MHD_OptionItem pool[] = {
        {app->cfg.http_threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         app->cfg.http_threads, NULL},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)app->cfg.port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_ARRAY, pool, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        srv_guard_notify, h->guard, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)512, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!d)
        return nn_error_set(err, NN_ERR_IO, "cannot listen on %s:%d (in use, or not allowed)",
                            app->cfg.listen_host, app->cfg.port);
    h->daemon = d;
    return NN_OK;
}

int srv_http_port(const srv_http *h) {
    const union MHD_DaemonInfo *info =
        h->daemon ? MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return info && info->port ? (int)info->port : h->ctx->cfg.port;
}

void srv_http_stop(srv_http *h) {
    /* every suspended request answered and resumed first; the pool stays for the HTTP threads
       to submit to (and be refused: 503) until they have stopped */
    srv_work_stop(h->work);
    if (h->daemon) MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    srv_work_destroy(h->work);
    h->work = NULL;
    srv_streams_destroy(h->streams);
    h->streams = NULL;
    srv_guard_destroy(h->guard);
    h->guard = NULL;
    srv_tables_destroy(h->tables);
    h->tables = NULL;
    srv_metrics_destroy(h->metrics);
    h->metrics = NULL;
}
