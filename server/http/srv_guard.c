/* srv_guard.c — deadlines for slow clients and per-client upload counts (see srv_guard.h
 * DESIGN). */
#include "srv_guard.h"

#include "srv_http_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define GUARD_TICK_MS 250
#define GUARD_ADDRESS_MAX 64 /* text of an IPv6 address with room to spare */

typedef struct guard_conn {
    int fd;
    srv_guard_phase phase;
    int64_t since_ms;     /* HEAD: waiting since; BODY: the current window's start (monotonic) */
    int64_t window_bytes; /* BODY: bytes received in the current window */
    struct guard_conn *prev, *next;
} guard_conn;

typedef struct guard_client {
    char address[GUARD_ADDRESS_MAX];
    int uploads; /* in progress */
    struct guard_client *next;
} guard_client;

struct srv_guard {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled to stop the thread */
    pthread_t thread;
    int stop;
    int64_t timeout_ms;
    int64_t window_min;    /* bytes a BODY window of timeout_ms must bring */
    guard_conn *head;      /* every open connection */
    guard_client *clients; /* addresses with uploads in progress */
    atomic_llong dropped_head, dropped_body;
};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Shuts down the connections past their deadline; g->mu held. */
static void sweep(srv_guard *g, int64_t now) {
    for (guard_conn *c = g->head; c; c = c->next) {
        if (c->fd < 0 || c->phase == SRV_GUARD_DONE || now - c->since_ms < g->timeout_ms) continue;
        if (c->phase == SRV_GUARD_BODY && c->window_bytes >= g->window_min) {
            c->since_ms = now; /* fast enough: a new window */
            c->window_bytes = 0;
            continue;
        }
        (void)shutdown(c->fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
        atomic_fetch_add(c->phase == SRV_GUARD_HEAD ? &g->dropped_head : &g->dropped_body, 1);
        c->phase = SRV_GUARD_DONE;
    }
}

static void *guard_main(void *arg) {
    srv_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&g->cond, &g->mu, &until);
        if (rc != 0 && rc != ETIMEDOUT) break;
        sweep(g, mono_ms());
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

nn_status srv_guard_create(int timeout_s, int64_t min_rate, srv_guard **out, nn_error *err) {
    srv_guard *g = calloc(1, sizeof *g);
    if (!g) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    g->timeout_ms = (int64_t)timeout_s * 1000;
    g->window_min = min_rate * timeout_s;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        pthread_cond_destroy(&g->cond);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return nn_error_set(err, NN_ERR_IO, "cannot start the connection guard thread");
    }
    *out = g;
    return NN_OK;
}

void srv_guard_destroy(srv_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    while (g->head) { /* none left once the daemon has stopped; freed in case */
        guard_conn *c = g->head;
        g->head = c->next;
        free(c);
    }
    while (g->clients) {
        guard_client *c = g->clients;
        g->clients = c->next;
        free(c);
    }
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void srv_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code) {
    srv_guard *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        guard_conn *c = calloc(1, sizeof *c);
        *socket_context = c;
        if (!c) return; /* unguarded: the idle timeout still applies */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = ci ? (int)ci->connect_fd : -1;
        c->phase = SRV_GUARD_HEAD;
        c->since_ms = mono_ms();
        srv__head_begin(c->fd); /* a new connection: its first head is scanned for NUL bytes */
        pthread_mutex_lock(&g->mu);
        c->next = g->head;
        if (g->head) g->head->prev = c;
        g->head = c;
        pthread_mutex_unlock(&g->mu);
        return;
    }
    guard_conn *c = *socket_context;
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&g->mu);
    free(c);
    *socket_context = NULL;
}

static guard_conn *conn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void srv_guard_mark(srv_guard *g, struct MHD_Connection *conn, srv_guard_phase phase) {
    guard_conn *c = conn_of(conn);
    if (!g || !c) return;
    pthread_mutex_lock(&g->mu);
    c->phase = phase;
    c->since_ms = mono_ms();
    c->window_bytes = 0;
    pthread_mutex_unlock(&g->mu);
}

void srv_guard_body(srv_guard *g, struct MHD_Connection *conn, size_t n) {
    guard_conn *c = conn_of(conn);
    if (!g || !c) return;
    pthread_mutex_lock(&g->mu);
    c->window_bytes += (int64_t)n;
    pthread_mutex_unlock(&g->mu);
}

int srv_guard_upload_begin(srv_guard *g, const char *address, int max) {
    pthread_mutex_lock(&g->mu);
    guard_client *c = g->clients;
    while (c && strcmp(c->address, address) != 0) c = c->next;
    int ok = 0;
    if (c && c->uploads < max) {
        c->uploads++;
        ok = 1;
    } else if (!c && max > 0 && (c = calloc(1, sizeof *c)) != NULL) {
        size_t n = strnlen(address, sizeof c->address - 1);
        memcpy(c->address, address, n);
        c->uploads = 1;
        c->next = g->clients;
        g->clients = c;
        ok = 1;
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void srv_guard_upload_end(srv_guard *g, const char *address) {
    pthread_mutex_lock(&g->mu);
    for (guard_client **p = &g->clients; *p; p = &(*p)->next) {
        guard_client *c = *p;
        if (strcmp(c->address, address) != 0) continue;
        if (--c->uploads <= 0) { /* the list holds only addresses with uploads in progress */
            *p = c->next;
            free(c);
        }
        break;
    }
    pthread_mutex_unlock(&g->mu);
}

void srv_guard_dropped(srv_guard *g, long long *head, long long *body) {
    if (head) *head = g ? atomic_load(&g->dropped_head) : 0;
    if (body) *body = g ? atomic_load(&g->dropped_body) : 0;
}
