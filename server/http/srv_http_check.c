/* srv_http_check.c — what nnd checks in a request before routing it: the framing of RFC 9112
 * (one Content-Length, no Content-Length beside Transfer-Encoding, no transfer coding but
 * chunked, a Host on HTTP/1.1, no control characters in a header), the request target
 * (absolute-form accepted), media types matched as media types, and the bearer token.
 *
 * DESIGN: libmicrohttpd 0.9.75 is lenient where leniency lets one request be read two ways: it
 * takes the first of two Content-Lengths (the rest of the body became a second request), lets
 * Transfer-Encoding win over Content-Length silently, reads a body of unknown coding until the
 * connection closes, and serves HTTP/1.1 without Host. Every header reaches the access handler
 * before any body byte does, so the first call checks them all and refuses with one 400 (501
 * for an unknown transfer coding) and Connection: close, before routing. What libmicrohttpd
 * refuses itself — a malformed or oversized Content-Length, a request head larger than its
 * connection memory (414, 431), an unknown HTTP version (505) — never reaches the handler, and
 * its own answer is HTML (and, for Content-Length, its status line twice). No option or callback
 * replaces those answers, so nnd interposes MHD_queue_response (below): libmicrohttpd queues its
 * own answers through that exported symbol, which the dynamic linker resolves to the
 * executable's definition first. Answers nnd built carry X-Content-Type-Options and pass through
 * to the library's function; an answer without it is libmicrohttpd's own, and is replaced by an
 * application/problem+json with the same status written to the socket, after which the
 * connection is closed (the queue call fails, which libmicrohttpd handles by closing).
 * A NUL byte in a header value is the one thing the handler cannot see: libmicrohttpd measures
 * values with strlen, so "Authorization: Bearer a\0b" arrives as "Bearer a". nnd interposes
 * recv (libmicrohttpd's only way to read a socket) the same way and notes, per descriptor,
 * whether the bytes of the current request head held a NUL: scanning starts when a connection
 * opens and again when a request completes, and stops at the empty line that ends the head (a
 * request pipelined behind another's body in one read is not scanned). The first call then
 * refuses such a request with a 400 like any other control character.
 * test_hostile_http.py checks each case over a raw socket, so a libmicrohttpd that stops going
 * through these symbols fails the suite instead of silently answering HTML again.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "srv_http_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>

/* ---- framing ---- */

typedef struct head_scan {
    int n_length, n_encoding, n_host;
    const char *encoding;
    int ctl;           /* a header name or value holds a control character (NUL included) */
    char ctl_name[64]; /* the first such header's name (cut) */
} head_scan;

static int has_ctl(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return 1;
    }
    return 0;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    head_scan *h = cls;
    if (!h->ctl && (has_ctl(key, key_size) || (value && has_ctl(value, value_size)))) {
        h->ctl = 1;
        size_t n = strnlen(key, key_size);
        if (n >= sizeof h->ctl_name) n = sizeof h->ctl_name - 1;
        memcpy(h->ctl_name, key, n);
        h->ctl_name[n] = '\0';
    }
    if (strcasecmp(key, "Content-Length") == 0) h->n_length++;
    if (strcasecmp(key, "Host") == 0) h->n_host++;
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        h->n_encoding++;
        h->encoding = value;
    }
    return MHD_YES;
}

/* Whether s (trimmed of spaces and tabs) is token, compared without case. */
static int is_token(const char *s, const char *token) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return n == strlen(token) && strncasecmp(s, token, n) == 0;
}

nn_status srv__check_head(struct MHD_Connection *conn, const char *version, char *detail,
                          size_t size, int *http) {
    head_scan h;
    memset(&h, 0, sizeof h);
    (void)MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &h);
    int http11 = version && strcmp(version, "HTTP/1.0") != 0;
    *http = 400;
    if (h.ctl) {
        (void)snprintf(detail, size, "the header %s holds a control character", h.ctl_name);
        return NN_ERR_INVALID;
    }
    if (h.n_length > 1) {
        (void)snprintf(detail, size, "%d Content-Length headers: a request has at most one",
                       h.n_length);
        return NN_ERR_INVALID;
    }
    if (h.n_length && h.n_encoding) {
        (void)snprintf(detail, size, "Content-Length and Transfer-Encoding together: send one");
        return NN_ERR_INVALID;
    }
    if (h.n_encoding && !http11) {
        (void)snprintf(detail, size, "Transfer-Encoding in an HTTP/1.0 request");
        return NN_ERR_INVALID;
    }
    if (h.n_encoding > 1 || (h.n_encoding && !is_token(h.encoding, "chunked"))) {
        *http = 501; /* RFC 9112 §6.1: an unknown transfer coding is 501 */
        (void)snprintf(detail, size,
                       "Transfer-Encoding: only \"chunked\" is supported, as the only coding");
        return NN_ERR_INVALID;
    }
    if (http11 && h.n_host != 1) {
        (void)snprintf(detail, size, "an HTTP/1.1 request needs exactly one Host header (%d)",
                       h.n_host);
        return NN_ERR_INVALID;
    }
    *http = 0;
    return NN_OK;
}

const char *srv__target_path(const char *url) {
    /* absolute-form "http://host:port/path" (RFC 9112 §3.2.2: a server MUST accept it); the
       authority replaces Host, which nnd does not use otherwise */
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    if (!scheme) return url;
    const char *slash = strchr(url + scheme, '/');
    return slash ? slash : "/";
}

/* ---- libmicrohttpd's own answers (see DESIGN) ---- */

typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);

/* The library's MHD_queue_response, found once: a process-wide constant after the first call
 * (pthread_once), the one global of this file. */
static queue_fn real_queue;
static pthread_once_t real_queue_once = PTHREAD_ONCE_INIT;

static void find_real_queue(void) {
    void *f = dlsym(RTLD_NEXT, "MHD_queue_response");
    memcpy(&real_queue, &f, sizeof real_queue); /* object to function pointer, as POSIX allows */
}

static const char *own_detail(unsigned status) {
    switch (status) {
    case 400:
        return "the request is malformed (e.g. its Content-Length is not a number)";
    case 413:
        return "the declared Content-Length is larger than this server accepts";
    case 414:
        return "the request line is longer than this server accepts";
    case 431:
        return "the request's header fields are larger than this server accepts";
    case 505:
        return "this server speaks HTTP/1.0 and HTTP/1.1";
    default:
        return "the request cannot be served";
    }
}

/* Writes a problem for status straight to the connection's socket: libmicrohttpd closes the
 * connection next, so the answer is all that goes out. */
static void write_own_problem(struct MHD_Connection *conn, unsigned status) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return;
    srv_resp resp = {.fd = -1};
    srv_problem(&resp, (int)status, "%s", own_detail(status));
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %u %s\r\nContent-Type: application/problem+json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n"
                     "X-Content-Type-Options: nosniff\r\n\r\n",
                     status, srv__status_title((int)status), resp.len);
    if (n > 0 && (size_t)n < sizeof head && resp.body) {
        /* a few hundred bytes into an idle socket's empty send buffer: one call each */
        (void)send(ci->connect_fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)send(ci->connect_fd, resp.body, resp.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)shutdown(ci->connect_fd, SHUT_WR);
    }
    free(resp.body);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response) {
    (void)pthread_once(&real_queue_once, find_real_queue);
    if (!real_queue) return MHD_NO;
    if (MHD_get_response_header(response, "X-Content-Type-Options") != NULL)
        return real_queue(connection, status_code, response); /* one of nnd's answers */
    write_own_problem(connection, status_code);
    return MHD_NO; /* libmicrohttpd closes the connection */
}

/* ---- NUL bytes in request heads (see DESIGN) ---- */

#define HEAD_FDS 65536 /* descriptors above this are not scanned */
#define HEAD_SCANNING 1u
#define HEAD_NUL 2u
#define HEAD_AT_LF 4u /* the last byte ended a line */
#define HEAD_AT_CR 8u /* ... and a CR followed it */

/* Per descriptor (descriptors are process-wide, so is this table): HEAD_* bits, touched only by
 * the libmicrohttpd thread that serves the descriptor's connection (atomics: a descriptor number
 * is reused by another thread after a close, an order a thread checker cannot see). */
static _Atomic unsigned char head_state[HEAD_FDS];

typedef ssize_t (*recv_fn)(int, void *, size_t, int);
static recv_fn real_recv;
static pthread_once_t real_recv_once = PTHREAD_ONCE_INIT;

static void find_real_recv(void) {
    void *f = dlsym(RTLD_NEXT, "recv");
    memcpy(&real_recv, &f, sizeof real_recv);
}

void srv__head_begin(int fd) {
    if (fd >= 0 && fd < HEAD_FDS)
        atomic_store_explicit(&head_state[fd], HEAD_SCANNING, memory_order_relaxed);
}

int srv__head_had_nul(int fd) {
    return fd >= 0 && fd < HEAD_FDS &&
           (atomic_load_explicit(&head_state[fd], memory_order_relaxed) & HEAD_NUL) != 0;
}

/* Scans n received bytes of descriptor fd while it is in a request head. */
static void scan_head(int fd, const unsigned char *p, size_t n) {
    unsigned st = atomic_load_explicit(&head_state[fd], memory_order_relaxed);
    for (size_t i = 0; i < n && (st & HEAD_SCANNING); i++) {
        unsigned char c = p[i];
        if (c == '\n' && (st & (HEAD_AT_LF | HEAD_AT_CR))) {
            st &= ~(HEAD_SCANNING | HEAD_AT_LF | HEAD_AT_CR); /* the empty line: the head ends */
        } else if (c == '\n') {
            st = (st & ~HEAD_AT_CR) | HEAD_AT_LF;
        } else if (c == '\r' && (st & HEAD_AT_LF)) {
            st = (st & ~HEAD_AT_LF) | HEAD_AT_CR;
        } else {
            st &= ~(HEAD_AT_LF | HEAD_AT_CR);
            if (c == 0) st |= HEAD_NUL;
        }
    }
    atomic_store_explicit(&head_state[fd], (unsigned char)st, memory_order_relaxed);
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
    (void)pthread_once(&real_recv_once, find_real_recv);
    if (!real_recv) {
        errno = ENOSYS;
        return -1;
    }
    ssize_t n = real_recv(fd, buf, len, flags);
    if (n > 0 && !(flags & MSG_PEEK) && fd >= 0 && fd < HEAD_FDS) scan_head(fd, buf, (size_t)n);
    return n;
}
