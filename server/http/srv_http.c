/* srv_http.c — libmicrohttpd glue: the access handler, bodies, responses, the request log
 * (see srv_http.h DESIGN). Routes live in srv_routes.c. */
#include "srv_http.h"

#include "srv_guard.h"
#include "srv_stream.h"

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

int srv_accepts(const srv_req *req, const char *mime) {
    const char *a = srv_header(req, "Accept");
    return a && strstr(a, mime) != NULL;
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
        srv_problem(resp, 500, "out of memory");
        return;
    }
    srv_text(resp, status, "application/json", text, strlen(text));
}

static const char *status_title(int status) {
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
    case 503:
        return "Service Unavailable";
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
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", status_title(status),
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

void srv_problem_from(srv_resp *resp, const nn_error *err) {
    int status = 500;
    switch (err->code) {
    case NN_ERR_INVALID:
        status = strstr(err->msg, "not found") ? 404 : 400;
        break;
    case NN_ERR_PARSE:
    case NN_ERR_SPEC:
    case NN_ERR_DATA:
    case NN_ERR_DOMAIN:
        status = 422;
        break;
    case NN_ERR_LIMIT:
        status = strstr(err->msg, "in use") || strstr(err->msg, "used by") ? 409 : 413;
        break;
    case NN_ERR_IO:
        /* ENOSPC is "No space left on device"; SQLITE_FULL is "database or disk is full" */
        if (strstr(err->msg, "No space") || strstr(err->msg, "disk full") ||
            strstr(err->msg, "disk is full"))
            status = 507;
        else if (strstr(err->msg, "database is busy"))
            status = 503; /* another process held the lock past the bounded wait: transient */
        else
            status = 500;
        break;
    default:
        status = 500;
    }
    srv_problem(resp, status, "%s", err->msg);
    if (status == 503) resp->retry_after = 2;
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

/* Finds the route for method and path; *path_known tells a 405 from a 404. */
static const srv_route *find_route(const char *method, const char *path, char *param,
                                   int *path_known) {
    size_t n;
    const srv_route *r = srv_routes(&n);
    *path_known = 0;
    for (size_t i = 0; i < n; i++) {
        if (!match(r[i].pattern, path, param)) continue;
        *path_known = 1;
        if (strcmp(r[i].method, method) == 0) return &r[i];
    }
    return NULL;
}

/* Constant-time comparison of the bearer token. */
static int authorized(const srv_req *req) {
    const char *token = req->ctx->cfg.token;
    if (!token[0]) return 1;
    const char *h = srv_header(req, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    h += 7;
    size_t a = strlen(h), b = strlen(token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < b; i++) diff |= (unsigned char)(h[i < a ? i : 0] ^ token[i]);
    return diff == 0;
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
        MHD_add_response_header(r, "Vary", "Origin");
    }
}

static enum MHD_Result send_resp(srv_req *req, srv_resp *resp) {
    struct MHD_Response *r = NULL;
    if (resp->stream) {
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

static enum MHD_Result answer_problem(srv_req *req, int status, const char *detail) {
    srv_resp resp = {.fd = -1};
    srv_problem(&resp, status, "%s", detail);
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

/* Consumes one chunk of body; returns 0, or an HTTP status to answer with. */
static int take_body(srv_req *req, const char *data, size_t n) {
    const srv_config *cfg = &req->ctx->cfg;
    if (req->route->body == SRV_BODY_NONE) return 0;
    if (req->route->body == SRV_BODY_UPLOAD) {
        if (req->upload_bytes + (int64_t)n > cfg->max_upload) return 413;
        if (req->upload_fd < 0 && open_upload(req) != 0) return 500;
        if (write_all(req->upload_fd, data, n) != 0) return errno == ENOSPC ? 507 : 500;
        nn_sha256_update(&req->upload_sha, data, n);
        req->upload_bytes += (int64_t)n;
        atomic_fetch_add(&req->ctx->counters.bytes_uploaded, (long long)n);
        return 0;
    }
    if ((int64_t)(req->body_len + n) > cfg->max_body) return 413;
    return append_body(req, data, n) == 0 ? 0 : 500;
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

static enum MHD_Result first_call(srv_http *h, struct MHD_Connection *conn, const char *url,
                                  const char *method, void **con_cls) {
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
    srv_guard_mark(h->guard, conn, 0); /* the headers are all here */
    atomic_fetch_add(&h->ctx->counters.requests, 1);
    if (strlen(url) >= sizeof req->path) return answer_problem(req, 414, "the URL is too long");
    parse_path(req, url);
    if (!strcmp(method, "OPTIONS") && app->cfg.cors_origin[0]) {
        req->answered = 1;
        srv_resp resp = {.status = 204, .fd = -1};
        return send_resp(req, &resp);
    }
    int known = 0;
    req->route = find_route(method, req->path, req->param, &known);
    if (!req->route) {
        if (known) return answer_problem(req, 405, "this path does not support that method");
        return answer_problem(req, 404, "no such resource");
    }
    if (req->route->auth && !authorized(req))
        return answer_problem(req, 401, "missing or wrong bearer token (Authorization: Bearer …)");
    const char *cl = srv_header(req, "Content-Length");
    if (cl && req->route->body != SRV_BODY_NONE) {
        long long len = strtoll(cl, NULL, 10);
        int64_t cap = req->route->body == SRV_BODY_UPLOAD ? app->cfg.max_upload : app->cfg.max_body;
        if (len > cap)
            return answer_problem(req, 413, "the body is larger than this server accepts");
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    srv_http *h = cls;
    srv_req *req = *con_cls;
    if (!req) return first_call(h, conn, url, method, con_cls);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->rejected) return MHD_YES;
        /* MHD cannot queue a response while the body is arriving: remember the status, discard
           the rest of the body, answer at the final call */
        req->reject_status = take_body(req, upload_data, n);
        if (req->reject_status) req->rejected = 1;
        return MHD_YES;
    }
    if (req->reject_status && !req->answered) {
        int status = req->reject_status;
        return answer_problem(req, status,
                              status == 413   ? "the body is larger than this server accepts"
                              : status == 507 ? "the server's disk is full"
                                              : "cannot receive the body");
    }
    if (req->answered) return MHD_YES;
    req->answered = 1;
    if (req->upload_fd >= 0 && fsync(req->upload_fd) != 0)
        return answer_problem(req, errno == ENOSPC ? 507 : 500, "cannot store the upload");
    srv_resp resp = {.status = 200, .fd = -1};
    req->route->handler(req, &resp);
    enum MHD_Result ok = send_resp(req, &resp);
    free(resp.body);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)toe;
    srv_http *h = cls;
    srv_req *req = *con_cls;
    srv_guard_mark(h->guard, conn, 1); /* a kept-alive connection waits for its next request */
    if (!req) return;
    if (!h->ctx->cfg.quiet) {
        double ms = (double)(now_us() - req->t0_us) / 1000.0;
        fprintf(stderr, "%s %s %d %lld %.1fms\n", req->method, req->path, req->status,
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
    if (!h->guard && srv_guard_create(app->cfg.timeout, &h->guard, err) != NN_OK)
        return err->code;
    if (!h->streams && srv_streams_create(srv_engine_hub(h->eng), &h->streams, err) != NN_OK)
        return err->code;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | /* needed by MHD_quiesce_daemon */
                     MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)app->cfg.port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->cfg.http_threads, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, h, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, srv_guard_notify, h->guard, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)app->cfg.timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
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

void srv_http_quiesce(srv_http *h) {
    if (!h->daemon) return;
    MHD_socket s = MHD_quiesce_daemon(h->daemon);
    if (s != MHD_INVALID_SOCKET) close(s);
}

void srv_http_stop(srv_http *h) {
    if (h->daemon) MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    srv_streams_destroy(h->streams);
    h->streams = NULL;
    srv_guard_destroy(h->guard);
    h->guard = NULL;
}
