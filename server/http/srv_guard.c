/* srv_guard.c — the request-header deadline (see srv_guard.h DESIGN). */
#include "srv_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define GUARD_TICK_MS 250

typedef struct guard_conn {
    int fd;
    int64_t since_ms; /* waiting for a request since (monotonic); 0 = headers complete */
    struct guard_conn *prev, *next;
} guard_conn;

struct srv_guard {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled to stop the thread */
    pthread_t thread;
    int stop;
    int64_t timeout_ms;
    guard_conn *head; /* every open connection */
    atomic_llong dropped;
};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
        int64_t now = mono_ms();
        for (guard_conn *c = g->head; c; c = c->next) {
            if (!c->since_ms || now - c->since_ms <= g->timeout_ms || c->fd < 0) continue;
            (void)shutdown(c->fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
            c->since_ms = 0;
            atomic_fetch_add(&g->dropped, 1);
        }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

nn_status srv_guard_create(int timeout_s, srv_guard **out, nn_error *err) {
    srv_guard *g = calloc(1, sizeof *g);
    if (!g) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    g->timeout_ms = (int64_t)timeout_s * 1000;
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
        c->since_ms = mono_ms();
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

void srv_guard_mark(srv_guard *g, struct MHD_Connection *conn, int waiting) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    guard_conn *c = ci ? ci->socket_context : NULL;
    if (!g || !c) return;
    pthread_mutex_lock(&g->mu);
    c->since_ms = waiting ? mono_ms() : 0;
    pthread_mutex_unlock(&g->mu);
}

long long srv_guard_dropped(srv_guard *g) { return g ? atomic_load(&g->dropped) : 0; }
