/* srv_app.h — the daemon composed: the context, the run engine and the HTTP layer, started and
 * stopped in order. main.c (and the HTTP fuzz harness) use it; nothing below calls back into it.
 *
 * Threads: libmicrohttpd's pool threads run the HTTP handlers; the engine's workers train, its
 * writer stores events and its heartbeat keeps leases. Each thread gets its own storage
 * connection on first use (srv_ctx_store), closed when the thread exits. Lock order, where
 * several are held: pool → job events → hub → writer.
 */
#ifndef SRV_APP_H
#define SRV_APP_H

#include "srv_http.h"

typedef struct srv_app {
    srv_ctx ctx;     /* ctx.cfg is filled by the caller before srv_app_start */
    srv_engine *eng; /* from srv_app_start */
    srv_http http;
    int lock_fd; /* the data dir's nnd.lock, held for the process's life */
} srv_app;

/* Starts the daemon on app->ctx.cfg: locks and migrates the data dir, removes partial uploads of
 * dead processes, starts the engine (which recovers what a dead process left: *requeued tasks
 * ready again, *failed runs ended) and then the HTTP daemon. On failure returns the status with
 * the failing part named in err ("storage: …", "http: …"); what was started stays for
 * srv_app_stop. app must outlive srv_app_stop: threads hold pointers into it. */
nn_status srv_app_start(srv_app *app, int *requeued, int *failed, nn_error *err);
/* The TCP port the HTTP daemon listens on. */
int srv_app_port(const srv_app *app);
/* Stops in order: no new connections, event streams end, training stops and this node's tasks
 * are released (to train again at the next start), the HTTP daemon, the engine, storage. */
void srv_app_stop(srv_app *app);

#endif
