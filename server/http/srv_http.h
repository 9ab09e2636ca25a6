/* srv_http.h — nnd's HTTP layer on libmicrohttpd: routing, bodies, responses, problems, logs.
 *
 * DESIGN: one table of routes (method, path pattern with {id} segments, body kind, handler).
 * libmicrohttpd runs an internal thread pool with epoll and suspend/resume. For each request the
 * access handler is called repeatedly: the first call matches the route, checks auth and the
 * declared size, and may answer at once (401, 404, 405, 413); the next calls receive the body —
 * uploads stream into a temporary file with a running SHA-256 and size cap, JSON bodies into
 * memory up to max_body — and the last call runs the handler, which fills an srv_resp: a JSON
 * value, a problem (RFC 9457 application/problem+json), raw text, a file, or an event stream.
 * A completion callback logs one line per request (method, path, status, bytes, ms) and frees
 * the request. Handlers run on the HTTP threads and must not block for long; training runs on
 * the worker pool.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "nn_sha256.h"
#include "nn_spec.h"
#include "srv_engine.h"
#include "srv_stream.h"

#include <jansson.h>
#include <microhttpd.h>

typedef struct srv_guard srv_guard;

/* The HTTP layer of a process: what its handlers reach (the context below, the engine) and its
 * own parts. */
typedef struct srv_http {
    srv_ctx *ctx;
    srv_engine *eng;
    struct MHD_Daemon *daemon;
    srv_guard *guard;       /* the request-header deadline of the daemon's connections */
    srv_streams *streams;   /* the keep-alive ticker of event streams */
} srv_http;

typedef enum srv_body_kind {
    SRV_BODY_NONE,   /* a body is ignored */
    SRV_BODY_JSON,   /* into memory, up to max_body */
    SRV_BODY_UPLOAD, /* streamed to a temporary file, up to max_upload */
    SRV_BODY_MEMORY, /* JSON or CSV into memory, up to max_body (predict) */
} srv_body_kind;

typedef struct srv_req {
    srv_http *http;
    srv_ctx *ctx;    /* = http->ctx */
    srv_engine *eng; /* = http->eng */
    struct MHD_Connection *conn;
    const char *method;
    char path[512];
    char param[SRV_ID_LEN + 1]; /* the {id} of the path, when the route has one */
    const struct srv_route *route;
    int64_t t0_us;
    /* body */
    char *body; /* NUL-terminated, owned */
    size_t body_len, body_cap;
    int upload_fd; /* -1 when none */
    char upload_path[1100];
    int64_t upload_bytes;
    nn_sha256 upload_sha;
    int rejected;      /* an early answer was queued, or the body is being discarded */
    int reject_status; /* the status to answer once a refused body has been read */
    int answered;
    /* for the log */
    int status;
    int64_t bytes_out;
} srv_req;

typedef struct srv_resp {
    int status;
    const char *content_type; /* static string */
    char *body;               /* owned */
    size_t len;
    int fd; /* a file to send instead of body when ≥ 0 */
    int64_t fd_size;
    char location[256];
    int retry_after;         /* seconds, 0 = none */
    const char *disposition; /* Content-Disposition, static or NULL */
    srv_stream *stream;      /* an event stream instead of a body */
    int no_store;            /* Cache-Control: no-store */
} srv_resp;

typedef void (*srv_handler)(srv_req *req, srv_resp *resp);

typedef struct srv_route {
    const char *method;
    const char *pattern; /* e.g. "/v1/runs/{id}/events" */
    srv_body_kind body;
    srv_handler handler;
    int auth; /* needs the token when one is configured */
} srv_route;

/* Starts the daemon on ctx->cfg's address with its connection guard (srv_guard.h) and stream
 * ticker; h->ctx and h->eng must be set. */
nn_status srv_http_start(srv_http *h, nn_error *err);
/* The TCP port the daemon listens on (the one picked when the configured port is 0). */
int srv_http_port(const srv_http *h);
/* Stops accepting new connections (for a clean shutdown). */
void srv_http_quiesce(srv_http *h);
/* Stops the daemon, the ticker and the guard. */
void srv_http_stop(srv_http *h);

/* The routes, for /openapi.json checks and the auth test. */
const srv_route *srv_routes(size_t *n);

/* Request helpers. */
const char *srv_query(const srv_req *req, const char *name);
/* The same with the decoded value's length in *len (it may hold a NUL: "%00"). */
const char *srv_query_n(const srv_req *req, const char *name, size_t *len);
const char *srv_header(const srv_req *req, const char *name);
/* The client's IP address as text ("?" when unknown). */
void srv_client_address(const srv_req *req, char *out, size_t size);
/* Whether the Accept header prefers mime (e.g. "text/csv") over JSON. */
int srv_accepts(const srv_req *req, const char *mime);

/* Response helpers: each replaces resp's body. */
void srv_json(srv_resp *resp, int status, json_t *value_take);
void srv_text(srv_resp *resp, int status, const char *content_type, char *body_take, size_t len);
void srv_problem(srv_resp *resp, int status, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A 422 problem listing every spec error as {pointer, message}. */
void srv_problem_spec(srv_resp *resp, const nn_spec_errors *errs, const char *detail);
/* Maps an nn_error from the library or the store to a problem with a fitting status. */
void srv_problem_from(srv_resp *resp, const nn_error *err);

#endif
