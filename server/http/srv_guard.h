/* srv_guard.h — deadlines for slow clients, and how many uploads one client sends at once.
 *
 * DESIGN: libmicrohttpd's connection timeout (--timeout) counts idle time only, so a client that
 * sends its request one byte a second is never idle and keeps its connection (and, for an upload,
 * a temporary file) forever; a few hundred such clients hold every connection slot (slowloris).
 * The guard keeps a list of the open connections, each in one of three phases:
 *   HEAD  waiting for a request's headers, since a time (at accept, and again when a request on
 *         a kept-alive connection completes): the whole head must arrive within the timeout;
 *   BODY  receiving a request's body: at least min_rate bytes a second must arrive, counted over
 *         windows of the timeout (a window that ends short drops the connection), so a large
 *         upload may take long but a trickle may not;
 *   DONE  the request is read (its handler runs, or its answer is being sent): no deadline here,
 *         the idle timeout covers a client that stops reading.
 * The access handler moves a connection between phases and reports body bytes. A thread wakes
 * every quarter second and shuts down (shutdown(2)) each connection past its deadline:
 * libmicrohttpd then reads the end of the stream and closes it (an upload's temporary file is
 * removed as for any ended request).
 * Uploads in progress are counted per client address, and srv_guard_upload_begin refuses one
 * beyond the cap (the handler answers 429 before reading the body), so one address cannot hold
 * more than that many temporary files or push the others out of the connection table.
 * Locking: one mutex over the list and the counts. libmicrohttpd reports a connection CLOSED
 * before it closes its socket, and the callback removes it under the mutex, so the thread never
 * shuts down a descriptor that has been closed and reused.
 */
#ifndef SRV_GUARD_H
#define SRV_GUARD_H

#include "nn_common.h"

#include <microhttpd.h>
#include <stdatomic.h>

typedef struct srv_guard srv_guard;

typedef enum srv_guard_phase { SRV_GUARD_HEAD, SRV_GUARD_BODY, SRV_GUARD_DONE } srv_guard_phase;

/* A guard dropping connections that have not sent a whole request head within timeout_s seconds,
 * or send a body slower than min_rate bytes a second over windows of timeout_s; its thread runs
 * until srv_guard_destroy. */
nn_status srv_guard_create(int timeout_s, int64_t min_rate, srv_guard **out, nn_error *err);
/* Stops the thread and frees the guard; call after the HTTP daemon has stopped. NULL is a no-op. */
void srv_guard_destroy(srv_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls = the guard). */
void srv_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* The connection enters a phase: HEAD when it waits for its next request, BODY once a request's
 * headers are complete, DONE once the request has been read. */
void srv_guard_mark(srv_guard *g, struct MHD_Connection *conn, srv_guard_phase phase);
/* n bytes of the connection's request body arrived. */
void srv_guard_body(srv_guard *g, struct MHD_Connection *conn, size_t n);
/* Counts an upload of the client at address (text) unless max are in progress already:
 * 1 when counted (end it with srv_guard_upload_end), 0 when refused. */
int srv_guard_upload_begin(srv_guard *g, const char *address, int max);
void srv_guard_upload_end(srv_guard *g, const char *address);
/* Connections shut down so far for sending their request heads too slowly (*head), and their
 * bodies (*body); either may be NULL. */
void srv_guard_dropped(srv_guard *g, long long *head, long long *body);

#endif
