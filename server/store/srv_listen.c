/* srv_listen.c — the LISTEN thread of a PostgreSQL store (see srv_listen.h DESIGN). */
#include "srv_listen.h"

#include "srv_pg.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LISTEN_POLL_MS 250       /* the stop flag is looked at this often */
#define LISTEN_RECONNECT_MS 1000 /* between attempts while the server is away */

struct srv_listener {
    char *url;
    srv_listen_fn fn;
    void *user;
    pthread_t thread;
    atomic_int stop;
    atomic_llong notifications, connects;
};

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A connection LISTENing to both channels, or NULL. */
static PGconn *connect_listen(const char *url) {
    const char *keys[12], *values[12];
    srv__pg_conninfo(url, keys, values);
    PGconn *c = PQconnectdbParams(keys, values, 1);
    srv__pg_quiet(c);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "LISTEN " SRV_PG_CHANNEL_EVENTS "; LISTEN " SRV_PG_CHANNEL_TASKS);
        int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (ok) return c;
    }
    PQfinish(c);
    return NULL;
}

/* Delivers what arrived; returns 0 when the connection broke. */
static int drain(srv_listener *l, PGconn *c) {
    if (!PQconsumeInput(c)) return 0;
    PGnotify *n;
    char last_run[SRV_ID_LEN + 1] = "";
    int last_what = -1;
    while ((n = PQnotifies(c)) != NULL) {
        int what =
            strcmp(n->relname, SRV_PG_CHANNEL_TASKS) == 0 ? SRV_LISTEN_TASKS : SRV_LISTEN_EVENTS;
        const char *run = n->extra && n->extra[0] ? n->extra : NULL;
        /* a burst of one run's notifications is delivered once */
        if (!(what == last_what && run && strcmp(run, last_run) == 0)) {
            atomic_fetch_add(&l->notifications, 1);
            l->fn(l->user, (srv_listen_what)what, run);
        }
        last_what = what;
        (void)snprintf(last_run, sizeof last_run, "%s", run ? run : "");
        PQfreemem(n);
    }
    return PQstatus(c) == CONNECTION_OK;
}

static void *listen_main(void *arg) {
    srv_listener *l = arg;
    PGconn *c = NULL;
    while (!atomic_load(&l->stop)) {
        if (!c) {
            c = connect_listen(l->url);
            for (int t = 0; !c && t < LISTEN_RECONNECT_MS && !atomic_load(&l->stop);
                 t += LISTEN_POLL_MS)
                pause_ms(LISTEN_POLL_MS);
            if (!c) continue;
            atomic_fetch_add(&l->connects, 1);
            l->fn(l->user, SRV_LISTEN_RESET, NULL); /* what was missed meanwhile */
        }
        struct pollfd p = {PQsocket(c), POLLIN, 0};
        int rc = poll(&p, 1, LISTEN_POLL_MS);
        if (rc < 0 && errno != EINTR) rc = 1; /* let libpq find out */
        if (rc > 0 && !drain(l, c)) {
            PQfinish(c);
            c = NULL;
        }
    }
    PQfinish(c);
    return NULL;
}

nn_status srv_listener_create(const char *db, srv_listen_fn fn, void *user, srv_listener **out,
                              nn_error *err) {
    *out = NULL;
    if (!srv__is_pg_url(db)) return NN_OK;
    srv_listener *l = calloc(1, sizeof *l);
    if (l) l->url = srv__strdup(db);
    if (!l || !l->url) {
        free(l);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the listener");
    }
    l->fn = fn;
    l->user = user;
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        free(l->url);
        free(l);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start the listener's thread");
    }
    *out = l;
    return NN_OK;
}

void srv_listener_destroy(srv_listener *l) {
    if (!l) return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    free(l->url);
    free(l);
}

void srv_listener_stats(srv_listener *l, long long *notifications, long long *connects) {
    *notifications = l ? atomic_load(&l->notifications) : 0;
    *connects = l ? atomic_load(&l->connects) : 0;
}
