/* srv_guard.h — the request-header deadline: slow clients lose their connection.
 *
 * DESIGN: libmicrohttpd's connection timeout (--timeout) counts idle time only, so a client that
 * sends its request headers one byte a second is never idle and keeps its connection forever; a
 * few hundred such clients hold every connection slot (slowloris). The guard keeps a list of the
 * open connections with the time each started waiting for its request (at accept, and again when
 * a request on a kept-alive connection completes); the access handler clears it when the headers
 * are complete. A thread wakes every quarter second and shuts down (shutdown(2)) each connection
 * that has waited longer than the timeout: libmicrohttpd then reads the end of the stream and
 * closes it. Bodies are not under the deadline (a large upload may take long); the idle timeout
 * covers a body that stops arriving.
 * Locking: one mutex over the list. libmicrohttpd reports a connection CLOSED before it closes
 * its socket, and the callback removes it under the mutex, so the thread never shuts down a
 * descriptor that has been closed and reused.
 */
#ifndef SRV_GUARD_H
#define SRV_GUARD_H

#include "nn_common.h"

#include <microhttpd.h>
#include <stdatomic.h>

typedef struct srv_guard srv_guard;

/* A guard dropping connections that have not sent a whole request header within timeout_s
 * seconds; its thread runs until srv_guard_destroy. */
nn_status srv_guard_create(int timeout_s, srv_guard **out, nn_error *err);
/* Stops the thread and frees the guard; call after the HTTP daemon has stopped. NULL is a no-op. */
void srv_guard_destroy(srv_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls = the guard). */
void srv_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* The connection's request headers are complete (waiting = 0) or it waits for the next request
 * (waiting = 1). */
void srv_guard_mark(srv_guard *g, struct MHD_Connection *conn, int waiting);
/* Connections shut down so far for sending their headers too slowly. */
long long srv_guard_dropped(srv_guard *g);

#endif
