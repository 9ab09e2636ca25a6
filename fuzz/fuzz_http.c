/* fuzz_http.c — libFuzzer harness for nnd's HTTP request path: routing, headers, query strings,
 * bodies, every handler.
 *
 * DESIGN: LLVMFuzzerInitialize starts the real daemon once, as main.c does (srv_app_start:
 * migrate, storage key, hub, model cache, a pool of 1 worker, libmicrohttpd on 127.0.0.1 port 0)
 * on a fresh temporary data dir, then uploads a small dataset and trains a small run to the end,
 * so the dataset, run, model, predict and features routes have something to find. Each input is
 * a raw HTTP request: the placeholders $DATASET$$…$ and $RUN$$…$ (32 bytes each, the length of
 * an id, so Content-Length stays right) are replaced with the real ids, and the bytes go to the
 * daemon over a new loopback TCP connection with a 2 s receive timeout. The response must be
 * well-formed — "HTTP/1.1 " and a 3-digit status — and never a 5xx other than 503/507 (or 505,
 * libmicrohttpd's own answer to an unknown HTTP version). No answer at all is allowed: the
 * request may be incomplete (the daemon then waits for more until the timeout). Every 100
 * inputs, GET /healthz must still answer 200. Over real sockets rather than a mock, so the
 * code fuzzed is exactly the code deployed.
 */
#include "fuzz_common.h"
#include "srv_app.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DATASET_MARK "$DATASET$$$$$$$$$$$$$$$$$$$$$$$$"
#define RUN_MARK "$RUN$$$$$$$$$$$$$$$$$$$$$$$$$$$$"
#define MAX_RESPONSE_HEAD 65536

/* Harness state: one daemon for the whole process (libFuzzer calls the entry point serially). */
static srv_app fuzz_app;
static char fuzz_root[64];
static char fuzz_dataset[SRV_ID_LEN + 1];
static char fuzz_run[SRV_ID_LEN + 1];
static unsigned long fuzz_inputs;

/* A response: its status (0 = none) and a copy of its start (NUL-terminated). */
typedef struct response {
    int status;
    char head[512];
    char *body; /* the whole bytes read, owned */
    size_t len;
} response;

static int connect_daemon(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0, strerror(errno));
    struct timeval tv = {.tv_sec = 2};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv_app_port(&fuzz_app));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, strerror(errno));
    return fd;
}

/* Where the head ends ("\r\n\r\n"), or 0 when not yet. */
static size_t head_end(const char *p, size_t n) {
    for (size_t i = 3; i < n; i++)
        if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n') return i + 1;
    return 0;
}

/* The Content-Length of a response head p[0..n), 0 when absent. */
static size_t content_length(const char *p, size_t n) {
    static const char name[] = "\r\ncontent-length:";
    for (size_t i = 0; i + sizeof name - 1 < n; i++)
        if (strncasecmp(p + i, name, sizeof name - 1) == 0)
            return (size_t)strtoull(p + i + sizeof name - 1, NULL, 10);
    return 0;
}

/* Sends req and reads one response: the head, and a Content-Length body when there is one. */
static response exchange(const char *req, size_t len) {
    response r;
    memset(&r, 0, sizeof r);
    int fd = connect_daemon();
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) break; /* the daemon may answer and close before reading everything */
        off += (size_t)w;
    }
    size_t cap = 4096, want = 0;
    r.body = malloc(cap);
    FUZZ_CHECK(r.body != NULL, "malloc");
    for (;;) {
        if (r.len + 1 >= cap) {
            if (cap >= MAX_RESPONSE_HEAD * 64) break;
            cap *= 2;
            r.body = realloc(r.body, cap);
            FUZZ_CHECK(r.body != NULL, "realloc");
        }
        ssize_t n = recv(fd, r.body + r.len, cap - r.len - 1, 0);
        if (n <= 0) break; /* closed, or the 2 s timeout */
        r.len += (size_t)n;
        size_t h = head_end(r.body, r.len);
        if (!h) {
            if (r.len > MAX_RESPONSE_HEAD) break;
            continue;
        }
        if (!want) {
            r.body[r.len] = '\0';
            want = h + content_length(r.body, h);
        }
        if (r.len >= want) break;
    }
    close(fd);
    r.body[r.len] = '\0';
    size_t n = r.len < sizeof r.head - 1 ? r.len : sizeof r.head - 1;
    memcpy(r.head, r.body, n);
    r.head[n] = '\0';
    if (r.len >= 12 && strncmp(r.body, "HTTP/1.1 ", 9) == 0 && r.body[9] >= '1' &&
        r.body[9] <= '5' && r.body[10] >= '0' && r.body[10] <= '9' && r.body[11] >= '0' &&
        r.body[11] <= '9')
        r.status = (r.body[9] - '0') * 100 + (r.body[10] - '0') * 10 + (r.body[11] - '0');
    return r;
}

static response request(const char *method, const char *path, const char *type, const char *body) {
    size_t blen = body ? strlen(body) : 0;
    size_t cap = 1024 + blen;
    char *req = malloc(cap);
    FUZZ_CHECK(req != NULL, "malloc");
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     method, path, type ? type : "application/json", blen);
    FUZZ_CHECK(n > 0 && (size_t)n + blen < cap, "request fits");
    if (blen) memcpy(req + n, body, blen);
    response r = exchange(req, (size_t)n + blen);
    free(req);
    return r;
}

/* The "id" member of a JSON response body into id. */
static void json_id(const response *r, char id[SRV_ID_LEN + 1]) {
    const char *p = r->body ? strstr(r->body, "\"id\":\"") : NULL;
    FUZZ_CHECK(p != NULL, r->head);
    p += 6;
    size_t n = strcspn(p, "\"");
    FUZZ_CHECK(n == SRV_ID_LEN, "an id is 32 characters");
    memcpy(id, p, n);
    id[n] = '\0';
}

/* A 60-row dataset: y = 2·x1 − x2 + noise-free, an id and a text category. */
static char *make_csv(void) {
    size_t cap = 8192, len = 0;
    char *csv = malloc(cap);
    FUZZ_CHECK(csv != NULL, "malloc");
    len += (size_t)snprintf(csv, cap, "id,x1,x2,cat,y\n");
    for (int i = 0; i < 60; i++) {
        double x1 = (i % 7) * 0.5, x2 = (i % 5) * 0.25;
        len += (size_t)snprintf(csv + len, cap - len, "r%d,%g,%g,%c,%g\n", i, x1, x2, "abc"[i % 3],
                                2 * x1 - x2);
    }
    return csv;
}

static void setup_data(void) {
    char *csv = make_csv();
    response r = request("POST", "/v1/datasets?name=fuzz", "text/csv", csv);
    free(csv);
    FUZZ_CHECK(r.status == 201, r.head);
    json_id(&r, fuzz_dataset);
    free(r.body);
    char body[1024];
    (void)snprintf(body, sizeof body,
                   "{\"dataset\":\"%s\",\"spec\":{\"name\":\"fuzz\",\"target\":\"y\",\"id\":\"id\","
                   "\"preprocess\":[{\"op\":\"one_hot\",\"column\":\"cat\"},"
                   "{\"op\":\"normalize\",\"columns\":\"all\"}],"
                   "\"network\":{\"hidden\":[{\"units\":4,\"activation\":\"relu\"}]},"
                   "\"training\":{\"epochs\":3,\"batch_size\":16,"
                   "\"validation\":{\"type\":\"kfold\",\"k\":2}}}}",
                   fuzz_dataset);
    r = request("POST", "/v1/runs", NULL, body);
    FUZZ_CHECK(r.status == 202, r.head);
    json_id(&r, fuzz_run);
    free(r.body);
    char path[128];
    (void)snprintf(path, sizeof path, "/v1/runs/%s", fuzz_run);
    for (int i = 0; i < 600; i++) { /* up to 60 s */
        r = request("GET", path, NULL, NULL);
        int done = r.body && strstr(r.body, "\"status\":\"succeeded\"") != NULL;
        int bad = r.body && (strstr(r.body, "\"status\":\"failed\"") != NULL);
        if (bad) fprintf(stderr, "fuzz_http: the setup run failed: %s\n", r.body);
        free(r.body);
        FUZZ_CHECK(!bad, "the setup run trains");
        if (done) return;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    FUZZ_CHECK(0, "the setup run finishes within 60 s");
}

static void stop_daemon(void) {
    srv_app_stop(&fuzz_app);
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_root);
    if (fuzz_root[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz_http: cannot remove %s\n", fuzz_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    (void)signal(SIGPIPE, SIG_IGN);
    (void)snprintf(fuzz_root, sizeof fuzz_root, "/tmp/nnd-fuzz-XXXXXX");
    FUZZ_CHECK(mkdtemp(fuzz_root) != NULL, strerror(errno));
    char data[96];
    (void)snprintf(data, sizeof data, "%s/data", fuzz_root);
    char *args[] = {"nnd", "--data-dir",   data, "--listen", "127.0.0.1:0", "--workers",
                    "1",   "--max-queued", "4",  "--quiet",  NULL};
    int help = 0, version = 0;
    nn_error err = {0};
    FUZZ_CHECK(srv_config_parse(&fuzz_app.ctx.cfg, 10, args, &help, &version, &err) == NN_OK,
               err.msg);
    fuzz_app.ctx.cfg.http_threads = 2;
    int requeued = 0, failed = 0;
    FUZZ_CHECK(srv_app_start(&fuzz_app, &requeued, &failed, &err) == NN_OK, err.msg);
    FUZZ_CHECK(atexit(stop_daemon) == 0, "atexit");
    setup_data();
    return 0;
}

static int contains(const char *p, size_t n, const char *pat) {
    size_t m = strlen(pat);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(p + i, pat, m) == 0) return 1;
    return 0;
}

/* Replaces every mark in buf[0..len) by id (both 32 bytes). */
static void substitute(char *buf, size_t len, const char *mark, const char *id) {
    size_t m = strlen(mark);
    for (size_t i = 0; i + m <= len; i++)
        if (buf[i] == '$' && memcmp(buf + i, mark, m) == 0) memcpy(buf + i, id, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *req = malloc(size + 4);
    FUZZ_CHECK(req != NULL, "malloc");
    if (size) memcpy(req, data, size);
    substitute(req, size, DATASET_MARK, fuzz_dataset);
    substitute(req, size, RUN_MARK, fuzz_run);
    /* a head without its blank line would only wait for the 2 s timeout: end it, so mutated
       inputs reach the routes instead of stalling (libmicrohttpd does not give up on EOF) */
    size_t len = size;
    if (!contains(req, size, "\r\n\r\n") && !contains(req, size, "\n\n")) {
        memcpy(req + size, "\r\n\r\n", 4);
        len += 4;
    }
    response r = exchange(req, len);
    free(req);
    if (getenv("FUZZ_HTTP_VERBOSE")) /* the status line, to see where seeds land */
        fprintf(stderr, "    -> %.*s\n", (int)strcspn(r.head, "\r\n"), r.head);
    if (r.len > 0) {
        if (!r.status) fprintf(stderr, "fuzz_http: malformed response: %.200s\n", r.head);
        FUZZ_CHECK(r.status >= 100, "a response starts with HTTP/1.1 and a 3-digit status");
        /* the 5xx that say something about the request or the moment, never a failure: 501 (a
           transfer coding other than chunked, RFC 9112), 503 (busy, retry), 505, 507 (disk) */
        int allowed = r.status < 500 || r.status == 501 || r.status == 503 || r.status == 505 ||
                      r.status == 507;
        if (!allowed)
            fprintf(stderr, "fuzz_http: %d for the input; response:\n%.2000s\n", r.status, r.body);
        FUZZ_CHECK(allowed, "no 5xx but 501, 503, 505 and 507");
    }
    free(r.body);
    if (++fuzz_inputs % 100 == 0) {
        response h = request("GET", "/healthz", NULL, NULL);
        if (h.status != 200) fprintf(stderr, "fuzz_http: /healthz answered: %.200s\n", h.head);
        FUZZ_CHECK(h.status == 200, "the daemon still answers /healthz");
        free(h.body);
    }
    return 0;
}
