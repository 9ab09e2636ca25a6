/* srv_http.h — nnd's HTTP layer on libmicrohttpd: routing, bodies, responses, problems, logs.
 *
 * DESIGN: one table of routes (method, path pattern with {id} segments, body kind, handler).
 * libmicrohttpd runs an internal thread pool with epoll and suspend/resume. For each request the
 * access handler is called repeatedly: the first call matches the route, checks auth and the
 * declared size, and may answer at once (401, 404, 405, 413); the next calls receive the body —
 * uploads stream into a temporary file with a running SHA-256 and size cap, JSON bodies into
 * memory up to max_body — and the last call runs the handler, which fills an srv_resp: a JSON
 * value, a problem (RFC 9457 application/problem+json), raw text, a file, or an event stream.
 * A handler with expensive work (parsing, planning) does its cheap checks and then calls
 * srv_defer: the last call suspends the connection and queues the rest on srv_work's threads,
 * the work thread resumes it when the answer is ready, and the call after that sends it. Checks of
 * the request head that come before routing are in srv_http_check.c. A completion callback logs one
 * line per request (method, path, status, bytes, ms) and frees the request. Other handlers run on
 * the HTTP threads and must not block for long; training runs on the worker pool.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "nn_sha256.h"
#include "nn_spec.h"
#include "srv_engine.h"
#include "srv_stream.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

struct srv_buf;
struct srv_req;
typedef struct srv_guard srv_guard;
typedef struct srv_work srv_work;
typedef struct srv_tables srv_tables;
typedef struct srv_metrics srv_metrics;

/* The HTTP layer of a process: what its handlers reach (the context below, the engine) and its
 * own parts. */
typedef struct srv_http {
    srv_ctx *ctx;
    srv_engine *eng;
    struct MHD_Daemon *daemon;
    srv_guard *guard;     /* deadlines for slow heads and bodies, uploads per client */
    srv_streams *streams; /* the keep-alive ticker of event streams */
    srv_work *work;       /* threads for expensive requests (srv_work.h) */
    srv_tables *tables;   /* parsed datasets (srv_tables.h) */
    srv_metrics *metrics; /* cached run counts for /metrics (srv_metrics.h) */
} srv_http;

typedef enum srv_body_kind {
    SRV_BODY_NONE,   /* a body is ignored */
    SRV_BODY_JSON,   /* into memory, up to max_body */
    SRV_BODY_UPLOAD, /* streamed to a temporary file, up to max_upload */
    SRV_BODY_MEMORY, /* JSON or CSV into memory, up to max_body (predict) */
} srv_body_kind;

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
    int close;               /* Connection: close (a request whose framing cannot be trusted) */
    int preflight;           /* a CORS preflight answer: allow lists the methods */
    char allow[64];          /* Allow (405 answers, preflights) */
    char link[192];          /* Link (the next page of a paged answer) */
    /* a body made piece by piece and streamed (chunked) instead of body: next(gen, out)
       appends the next piece to out and returns 1, 0 at the end, -1 on an error (the answer
       is then cut short and the connection closed); done(gen) frees gen. See srv_resp_stream. */
    int (*next)(void *gen, struct srv_buf *out);
    void (*done)(void *gen);
    void *gen;
    /* set by srv_defer: the rest of the request runs on a work thread */
    void (*defer)(struct srv_req *req, struct srv_resp *resp);
} srv_resp;

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
    int rejected;          /* an early answer was queued, or the body is being discarded */
    nn_status reject_code; /* the status to answer once a refused body has been read */
    int answered;
    int upload_counted; /* counted in the guard's uploads of client */
    char client[64];    /* the client's address, for uploads */
    /* a request whose handler runs on a work thread (srv_work.h): its answer, and whether it
       is ready (written by the work thread before it resumes the connection) */
    int offloaded;
    void (*work_fn)(struct srv_req *req, srv_resp *resp);
    srv_resp work_resp;
    atomic_int work_done;
    /* for the log */
    int status;
    int64_t bytes_out;
} srv_req;

typedef void (*srv_handler)(srv_req *req, srv_resp *resp);

typedef struct srv_route {
    const char *method;
    const char *pattern; /* e.g. "/v1/runs/{id}/events" */
    srv_body_kind body;
    srv_handler handler;
    int auth; /* needs the token when one is configured */
} srv_route;

/* Starts the daemon on ctx->cfg's address with its connection guard (srv_guard.h), stream
 * ticker, work threads (srv_work.h), table cache (srv_tables.h) and metrics cache
 * (srv_metrics.h); h->ctx and h->eng must be set. */
nn_status srv_http_start(srv_http *h, nn_error *err);
/* The TCP port the daemon listens on (the one picked when the configured port is 0). */
int srv_http_port(const srv_http *h);
/* Stops the work threads (answering what waits), the daemon, the ticker, the guard and the
 * caches. */
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
/* Whether the Accept header lists mime (e.g. "text/csv"; media types compare without case,
 * parameters aside) with a quality above 0 and at least that of JSON. */
int srv_accepts(const srv_req *req, const char *mime);
/* Whether the Content-Type is mime (without case; parameters such as charset aside). */
int srv_content_type_is(const srv_req *req, const char *mime);
/* Whether the request is a HEAD (served by the GET route; the body is not sent). */
int srv_is_head(const srv_req *req);

/* The rest of the request is expensive: fn(req, resp) runs on a work thread (srv_work.h) once
 * the handler returns, with a fresh resp, while the HTTP threads serve others; when the work
 * queue is full the answer is 503 + Retry-After instead. Call last, with nothing else in resp. */
void srv_defer(srv_resp *resp, void (*fn)(struct srv_req *req, srv_resp *resp));

/* Response helpers: each replaces resp's body. */
/* A streamed body (see srv_resp.next): takes gen, which done frees whatever happens (also
 * when the request ends before the body is sent). next runs on the thread serving the
 * connection, one call at a time. */
void srv_resp_stream(srv_resp *resp, int (*next)(void *gen, struct srv_buf *out),
                     void (*done)(void *gen), void *gen);
void srv_json(srv_resp *resp, int status, json_t *value_take);
void srv_text(srv_resp *resp, int status, const char *content_type, char *body_take, size_t len);
void srv_problem(srv_resp *resp, int status, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A 422 problem listing every spec error as {pointer, message}. */
void srv_problem_spec(srv_resp *resp, const nn_spec_errors *errs, const char *detail);
/* The HTTP status for a status code (the one table, in srv_http.c) and, through retry_after
 * (may be NULL), the Retry-After seconds it carries (0 = none). */
int srv_http_status(nn_status code, int *retry_after);
/* A problem with the HTTP status of code (and its Retry-After) and a printf-style detail. */
void srv_problem_code(srv_resp *resp, nn_status code, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with err's code and message. */
void srv_problem_from(srv_resp *resp, const nn_error *err);
/* The answer to a failed nn_spec_parse/nn_pipe_plan (status st, problems in errs): a 422 with
 * every problem for NN_ERR_SPEC, the table's status otherwise (out of memory: 503). */
void srv_problem_plan(srv_resp *resp, nn_status st, const nn_spec_errors *errs);

#endif
