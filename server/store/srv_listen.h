/* srv_listen.h — what other nodes of a shared store did: LISTEN/NOTIFY turned into callbacks.
 *
 * DESIGN: in a PostgreSQL store each write that others wait for is followed, after its COMMIT,
 * by a NOTIFY (srv_pg.h): nnd_events names a run with new events, nnd_tasks a run with tasks
 * ready. A listener is one thread with its own connection that LISTENs to both and calls fn for
 * each notification (several of one run in one read are passed once). Notifications are not
 * durable — one sent while the listener was reconnecting is gone — so after every (re)connect
 * fn is called with SRV_LISTEN_RESET ("anything may have changed"), and the callers poll
 * besides (streams every second, workers every second): a lost notification costs latency,
 * never an event or a task. For an SQLite store there is nothing to listen to: no thread.
 */
#ifndef SRV_LISTEN_H
#define SRV_LISTEN_H

#include "nn_common.h"

typedef enum srv_listen_what {
    SRV_LISTEN_EVENTS, /* run_id has new events (NULL: some run) */
    SRV_LISTEN_TASKS,  /* run_id has tasks ready (NULL: some run) */
    SRV_LISTEN_RESET,  /* (re)connected: notifications may have been lost (run_id NULL) */
} srv_listen_what;

/* Called on the listener's thread; must not block for long. */
typedef void (*srv_listen_fn)(void *user, srv_listen_what what, const char *run_id);

typedef struct srv_listener srv_listener;

/* Starts listening to the store at db (srv_store.h's location); *out is NULL (and NN_OK) when
 * db is not a shared store. The connection is made on the thread, retried every second while
 * the server is away. */
nn_status srv_listener_create(const char *db, srv_listen_fn fn, void *user, srv_listener **out,
                              nn_error *err);
/* Stops the thread (within a quarter of a second, or the connection attempt in progress:
 * connect_timeout) and closes the connection. */
void srv_listener_destroy(srv_listener *l);
/* Notifications received since the start, and (re)connections made. */
void srv_listener_stats(srv_listener *l, long long *notifications, long long *connects);

#endif
