/* srv_http.c — libmicrohttpd glue: the access handler, bodies, responses, the request log
 * (see srv_http.h DESIGN). Routes live in srv_routes.c. */
#include "srv_http_internal.h"

#include "srv_events.h"
#include "srv_buf.h"
#include "srv_guard.h"
#include "srv_metrics.h"
#include "srv_tables.h"
#include "srv_work.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdarg.h>
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

const char *srv_query(const srv_req *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_query_n(const srv_req *req, const char *name, size_t *len) {
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      len) != MHD_YES)
        return NULL;
    return v;
}

const char *srv_header(const srv_req *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void srv_client_address(const srv_req *req, char *out, size_t size) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *ok = NULL;
    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                       (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                       (socklen_t)size);
    if (!ok) (void)snprintf(out, size, "?");
}

void srv_text(srv_resp *resp, int status, const char *content_type, char *body_take, size_t len) {
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body_take;
    resp->len = len;
}

void srv_json(srv_resp *resp, int status, json_t *value_take) {
    char *text = value_take ? json_dumps(value_take, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(value_take);
    if (!text) {
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    srv_text(resp, status, "application/json", text, strlen(text));
}

const char *srv__status_title(int status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

/* Copies s into out (size bytes) with every byte that is not part of a valid UTF-8 sequence
 * replaced by '?': a detail may quote a request's path or a message cut at a byte limit, and
 * Jansson refuses invalid UTF-8 (the problem would turn into a 500). */
static void utf8_sanitize(const char *s, char *out, size_t size) {
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p && o + 1 < size) {
        size_t n = *p < 0x80                           ? 1
                   : (*p & 0xE0) == 0xC0 && *p >= 0xC2 ? 2
                   : (*p & 0xF0) == 0xE0               ? 3
                   : (*p & 0xF8) == 0xF0 && *p <= 0xF4 ? 4
                                                       : 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) n = 0;
        if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) n = 0;
        if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))) n = 0;
        if (n == 0 || o + n >= size) {
            out[o++] = '?';
            p++;
            continue;
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
}

static void problem_json(srv_resp *resp, int status, const char *raw_detail, json_t *errors) {
    char detail[512];
    utf8_sanitize(raw_detail, detail, sizeof detail);
    /* "about:blank": the status code says it all (RFC 9457 §4.2.1); spec problems have a type
       of their own because they carry the errors list */
    const char *type = errors ? "urn:nnd:problem:invalid-spec" : "about:blank";
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", srv__status_title(status),
                          "status", status, "detail", detail);
    if (p && errors)
        json_object_set_new(p, "errors", errors);
    else
        json_decref(errors);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text) {
        static const char oom[] = "{\"title\":\"Internal Server Error\",\"status\":500}";
        text = strdup(oom);
        status = 500;
    }
    srv_text(resp, status, "application/problem+json", text, text ? strlen(text) : 0);
}

void srv_problem(srv_resp *resp, int status, const char *detail_fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    (void)vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    problem_json(resp, status, detail, NULL);
}

void srv_problem_spec(srv_resp *resp, const nn_spec_errors *errs, const char *detail) {
    json_t *list = json_array();
    for (size_t i = 0; list && i < errs->n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "pointer", errs->items[i].pointer,
                                              "message", errs->items[i].message));
    char d[512];
    if (!detail) {
        if (errs->n) {
            const nn_spec_error *e = &errs->items[0];
            (void)snprintf(d, sizeof d, "%s%s%s%s", e->pointer, e->pointer[0] ? ": " : "",
                           e->message, errs->n + errs->n_dropped > 1 ? " (and more)" : "");
        } else {
            (void)snprintf(d, sizeof d, "invalid spec");
        }
        detail = d;
    }
    problem_json(resp, 422, detail, list);
}

/* ---- statuses ----
 * The one table from a status code to an HTTP status (and a Retry-After for conditions that
 * pass): handlers and the store say what happened with an nn_status; nothing looks at a
 * message's text. Out of memory and a busy database are the server's passing conditions, not
 * the client's mistakes: 503 with Retry-After. test_srv_http walks every code. */
typedef struct status_http {
    short http;
    short retry_after; /* seconds, 0 = no Retry-After */
} status_http;

static const status_http http_of[NN_STATUS_COUNT] = {
    [NN_OK] = {200, 0},
    [NN_ERR_NOMEM] = {503, 5},
    [NN_ERR_INVALID] = {400, 0},
    [NN_ERR_IO] = {500, 0},
    [NN_ERR_PARSE] = {422, 0},
    [NN_ERR_SPEC] = {422, 0},
    [NN_ERR_DATA] = {422, 0},
    [NN_ERR_DOMAIN] = {422, 0},
    [NN_ERR_LIMIT] = {413, 0},
    [NN_ERR_CANCELLED] = {409, 0},
    [NN_ERR_DIVERGED] = {422, 0},
    [NN_ERR_NOT_FOUND] = {404, 0},
    [NN_ERR_CONFLICT] = {409, 0},
    [NN_ERR_BUSY] = {503, 2},
    [NN_ERR_FULL] = {507, 0},
    [NN_ERR_TOO_MANY] = {429, 5},
    [NN_ERR_UNAVAILABLE] = {503, 5},
};

int srv_http_status(nn_status code, int *retry_after) {
    int ok = (int)code >= 0 && code < NN_STATUS_COUNT && http_of[code].http != 0;
    if (retry_after) *retry_after = ok ? http_of[code].retry_after : 0;
    return ok ? http_of[code].http : 500;
}

void srv_problem_code(srv_resp *resp, nn_status code, const char *detail_fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    (void)vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    int retry = 0;
    int status = srv_http_status(code, &retry);
    problem_json(resp, status, detail, NULL);
    resp->retry_after = retry;
}

void srv_problem_from(srv_resp *resp, const nn_error *err) {
    srv_problem_code(resp, err->code, "%s", err->msg[0] ? err->msg : nn_status_str(err->code));
}

void srv_problem_plan(srv_resp *resp, nn_status st, const nn_spec_errors *errs) {
    if (st == NN_ERR_SPEC || (st == NN_OK && errs->n)) {
        srv_problem_spec(resp, errs, NULL);
        return;
    }
    /* out of memory while parsing or planning: the server's condition, not the spec's */
    srv_problem_code(resp, st, "%s", errs->n ? errs->items[0].message : nn_status_str(st));
}

void srv_defer(srv_resp *resp, void (*fn)(srv_req *req, srv_resp *resp)) { resp->defer = fn; }

int srv_is_head(const srv_req *req) { return strcmp(req->method, "HEAD") == 0; }

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
static const srv_route *find_route(const srv_app *app, const char *method, const char *path,
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

static void security_headers(const srv_app *app, struct MHD_Response *r, int html) {
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

void srv_resp_stream(srv_resp *resp, int (*next)(void *gen, srv_buf *out), void (*done)(void *gen),
                     void *gen) {
    resp->next = next;
    resp->done = done;
    resp->gen = gen;
}

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
    security_headers(req->app, r,
                     resp->content_type && strncmp(resp->content_type, "text/html", 9) == 0);
    req->status = resp->status;
    if (resp->status >= 500)
        atomic_fetch_add(&req->app->counters.responses_5xx, 1);
    else if (resp->status >= 400)
        atomic_fetch_add(&req->app->counters.responses_4xx, 1);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result answer_problem(srv_req *req, int status, const char *detail) {
    srv_resp resp = {.fd = -1};
    srv_problem(&resp, status, "%s", detail);
    req->rejected = 1;
    req->answered = 1;
    enum MHD_Result ok = send_resp(req, &resp);
    free(resp.body);
    return ok;
}

/* A problem and Connection: close (a request whose framing cannot be trusted). */
static enum MHD_Result answer_close(srv_req *req, int status, const char *detail) {
    srv_resp resp = {.fd = -1, .close = 1};
    srv_problem(&resp, status, "%s", detail);
    req->rejected = 1;
    req->answered = 1;
    enum MHD_Result ok = send_resp(req, &resp);
    free(resp.body);
    return ok;
}

static enum MHD_Result answer_code(srv_req *req, nn_status code, const char *detail) {
    srv_resp resp = {.fd = -1};
    srv_problem_code(&resp, code, "%s", detail);
    req->rejected = 1;
    req->answered = 1;
    enum MHD_Result ok = send_resp(req, &resp);
    free(resp.body);
    return ok;
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
                   req->app->cfg.data_dir, (long)getpid());
    char dir[1100];
    (void)snprintf(dir, sizeof dir, "%s/tmp", req->app->cfg.data_dir);
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
    const srv_config *cfg = &req->app->cfg;
    if (req->route->body == SRV_BODY_NONE) return NN_OK;
    if (req->route->body == SRV_BODY_UPLOAD) {
        if (req->upload_bytes + (int64_t)n > cfg->max_upload) return NN_ERR_LIMIT;
        if (req->upload_fd < 0 && open_upload(req) != 0) return write_errno_status(errno);
        if (write_all(req->upload_fd, data, n) != 0) return write_errno_status(errno);
        nn_sha256_update(&req->upload_sha, data, n);
        req->upload_bytes += (int64_t)n;
        atomic_fetch_add(&req->app->counters.bytes_uploaded, (long long)n);
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
    if (srv_work_submit(req->app->work, run_offloaded, req) != 0) {
        srv_problem_code(&req->work_resp, NN_ERR_UNAVAILABLE,
                         "%d expensive requests (uploads, validations, run creations) are "
                         "waiting already; try again shortly",
                         req->app->cfg.max_work_queue);
        atomic_store_explicit(&req->work_done, 1, memory_order_release);
        MHD_resume_connection(req->conn);
    }
    return MHD_YES;
}

/* The first call, with every header: framing and target checks, routing, the token and the
 * declared size; may answer at once. */
static enum MHD_Result first_call(srv_app *app, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, void **con_cls) {
    srv_req *req = calloc(1, sizeof *req);
    if (!req) return MHD_NO;
    req->app = app;
    req->conn = conn;
    req->method = method;
    req->upload_fd = -1;
    req->t0_us = now_us();
    *con_cls = req;
    srv_guard_mark(app->guard, conn, SRV_GUARD_BODY); /* the headers are all here */
    atomic_fetch_add(&app->counters.requests, 1);
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
        if (!srv_guard_upload_begin(app->guard, req->client, app->cfg.max_uploads_per_client)) {
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
    srv_app *app = cls;
    srv_req *req = *con_cls;
    if (!req) return first_call(app, conn, url, method, version, con_cls);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        srv_guard_body(app->guard, conn, n);
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
    srv_guard_mark(app->guard, conn, SRV_GUARD_DONE); /* read whole: the handler's turn */
    if (req->upload_fd >= 0 && fsync(req->upload_fd) != 0)
        return answer_code(req, write_errno_status(errno), "cannot store the upload");
    srv_resp resp = {.status = 200, .fd = -1};
    req->route->handler(req, &resp);
    if (resp.defer && app->work) return offload(req, resp.defer);
    if (resp.defer) resp.defer(req, &resp); /* no work threads: here */
    enum MHD_Result ok = send_resp(req, &resp);
    free(resp.body);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)toe;
    srv_app *app = cls;
    srv_req *req = *con_cls;
    srv_guard_mark(app->guard, conn, SRV_GUARD_HEAD); /* kept alive: waits for its next request */
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (fdi) srv__head_begin(fdi->connect_fd);
    if (!req) return;
    if (req->upload_counted) srv_guard_upload_end(app->guard, req->client);
    if (!app->cfg.quiet) {
        double ms = (double)(now_us() - req->t0_us) / 1000.0;
        (void)fprintf(stderr, "%s %s %d %lld %.1fms\n", req->method, req->path, req->status,
                      (long long)req->bytes_out, ms);
    }
    if (req->upload_fd >= 0) {
        close(req->upload_fd);
        (void)unlink(req->upload_path); /* handlers rename what they keep */
    }
    free(req->body);
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

nn_status srv_http_start(srv_app *app, struct MHD_Daemon **out, nn_error *err) {
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
    if (!app->guard &&
        srv_guard_create(app->cfg.timeout, app->cfg.min_body_rate, &app->guard, err) != NN_OK)
        return err->code;
    if (!app->tables && srv_tables_create(app->cfg.table_cache, &app->tables, err) != NN_OK)
        return err->code;
    if (!app->metrics && srv_metrics_create(&app->metrics, err) != NN_OK) return err->code;
    if (!app->work &&
        srv_work_create(app->cfg.work_threads, app->cfg.max_work_queue, &app->work, err) != NN_OK)
        return err->code;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | /* needed by MHD_quiesce_daemon */
                     MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)app->cfg.port, NULL, NULL, on_request, app, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->cfg.http_threads, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, app, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, srv_guard_notify, app->guard, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)app->cfg.timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!d)
        return nn_error_set(err, NN_ERR_IO, "cannot listen on %s:%d (in use, or not allowed)",
                            app->cfg.listen_host, app->cfg.port);
    *out = d;
    return NN_OK;
}

void srv_http_quiesce(struct MHD_Daemon *d) {
    MHD_socket s = MHD_quiesce_daemon(d);
    if (s != MHD_INVALID_SOCKET) close(s);
}

void srv_http_stop(srv_app *app) {
    srv_work_destroy(app->work); /* every suspended request answered and resumed first */
    app->work = NULL;
    if (app->http) MHD_stop_daemon(app->http);
    app->http = NULL;
    srv_guard_destroy(app->guard);
    app->guard = NULL;
    srv_tables_destroy(app->tables);
    app->tables = NULL;
    srv_metrics_destroy(app->metrics);
    app->metrics = NULL;
}
