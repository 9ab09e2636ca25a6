/* srv_http.c — what handlers use to read a request and answer it: request helpers (query,
 * headers, media types, the bearer token), responses, problems (RFC 9457) and the one table from
 * status codes to HTTP statuses. It calls nothing else of the HTTP layer, so handlers and the
 * libmicrohttpd glue (srv_http_daemon.c) both build on it without a circle. */
#include "srv_http_internal.h"

#include "srv_buf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    [NN_ERR_UNSUPPORTED] = {501, 0},
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

void srv_resp_stream(srv_resp *resp, int (*next)(void *gen, srv_buf *out), void (*done)(void *gen),
                     void *gen) {
    resp->next = next;
    resp->done = done;
    resp->gen = gen;
}

/* ---- media types ---- */

/* The quality (0..1000) with which the media range list (an Accept header) accepts type/sub:
 * exact matches only when exact, else also "type/ *" and "* / *" ranges; -1 when not listed. */
static int accept_quality(const char *list, const char *mime, int exact) {
    const char *slash = strchr(mime, '/');
    size_t tlen = slash ? (size_t)(slash - mime) : strlen(mime);
    int best = -1;
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *end = p + strcspn(p, ",");
        const char *params = p + strcspn(p, ";,");
        const char *q = params;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t')) q--;
        size_t n = (size_t)(q - p);
        int match = (n == strlen(mime) && strncasecmp(p, mime, n) == 0) ||
                    (!exact && n == tlen + 2 && strncasecmp(p, mime, tlen) == 0 &&
                     strncmp(p + tlen, "/*", 2) == 0) ||
                    (!exact && n == 3 && strncmp(p, "*/*", 3) == 0);
        if (match && n > 0) {
            int quality = 1000;
            for (const char *a = params; a < end; a++) { /* ;q=0.5 */
                if (*a != ';') continue;
                a++;
                while (*a == ' ' || *a == '\t') a++;
                if ((*a == 'q' || *a == 'Q') && a[1] == '=') {
                    char *stop = NULL;
                    double v = strtod(a + 2, &stop);
                    quality = stop != a + 2 && v >= 0 && v <= 1 ? (int)(v * 1000 + 0.5) : 0;
                }
            }
            if (quality > best) best = quality;
        }
        p = *end ? end + 1 : end;
    }
    return best;
}

int srv_accepts(const srv_req *req, const char *mime) {
    const char *a = srv_header(req, "Accept");
    if (!a) return 0;
    int want = accept_quality(a, mime, 1);
    int json = accept_quality(a, "application/json", 0);
    return want > 0 && want >= json;
}

int srv_content_type_is(const srv_req *req, const char *mime) {
    const char *ct = srv_header(req, "Content-Type");
    if (!ct) return 0;
    while (*ct == ' ' || *ct == '\t') ct++;
    size_t n = strcspn(ct, "; \t");
    return n == strlen(mime) && strncasecmp(ct, mime, n) == 0;
}

/* ---- the bearer token ---- */

int srv__authorized(const srv_req *req) {
    const char *token = req->ctx->cfg.token;
    if (!token[0]) return 1;
    const char *h = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(req->conn, MHD_HEADER_KIND, "Authorization",
                                      strlen("Authorization"), &h, &len) != MHD_YES ||
        !h || strlen(h) != len) /* a NUL inside is not the end of the token */
        return 0;
    /* credentials = auth-scheme 1*SP token68; the scheme is case-insensitive (RFC 9110 §11.1) */
    if (len < 7 || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ') return 0;
    size_t i = 6;
    while (i < len && h[i] == ' ') i++;
    const char *t = h + i;
    size_t a = len - i, b = strlen(token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t k = 0; k < b; k++) diff |= (unsigned char)(t[k < a ? k : 0] ^ token[k]);
    return diff == 0;
}
