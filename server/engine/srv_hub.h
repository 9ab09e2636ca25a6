/* srv_hub.h — run events in memory: sequence numbers, live fan-out to subscribers, replay.
 *
 * DESIGN: every report of a run (status, fold, epoch, log) is an event with a per-run sequence
 * number 1, 2, 3 …. A run is open in the hub while this process trains it: srv_hub_open_run
 * starts its numbering after the last stored event, srv_hub_publish numbers an event, keeps it in
 * memory (the last SRV_HUB_MAX_EVENTS of the run) and wakes the run's waiting subscribers; the
 * event writer (srv_evwriter.h) stores it later, off the training threads, in the same order.
 * A subscriber (an SSE or NDJSON stream of the HTTP layer — the hub knows nothing of HTTP) reads
 * what memory holds with srv_hub_read and, when it has nothing new, arms itself with
 * srv_hub_wait: under the hub's lock either an event it has not seen is there already (read
 * again) or its `sleep` callback runs and the next publish or close calls its `wake` callback —
 * so no publish falls between looking and sleeping. Events the hub no longer holds, and runs
 * trained elsewhere, come from the store. Callbacks run under the hub's lock: they may only
 * suspend or resume, never call back into the hub.
 *
 * With a shared store (PostgreSQL: several nodes write events of one run) the hub numbers
 * nothing and holds no events: numbers come from the store, runs are never open here, and every
 * subscriber reads the store. The hub is then only where subscribers sleep: srv_hub_wake_run
 * wakes a run's subscribers after this node's event writer stored events of it, or when another
 * node's NOTIFY says it did (srv_listen.h). A wake that comes between a subscriber's read of the
 * store and its srv_hub_wait is not lost: each srv_hub_wake_run counts a generation of the run,
 * srv_hub_read records the generation the subscriber read at, and srv_hub_wait does not sleep
 * when it moved.
 */
#ifndef SRV_HUB_H
#define SRV_HUB_H

#include "nn_common.h"

#include <stddef.h>
#include <stdint.h>

#define SRV_HUB_MAX_EVENTS                                                                         \
    50000 /* events kept in memory per run; older ones come from the store                         \
           */

typedef struct srv_hub srv_hub;
typedef struct srv_hub_sub srv_hub_sub;

/* Called under the hub's lock with the subscriber's user pointer. */
typedef void (*srv_hub_fn)(void *user);
/* Receives one event from srv_hub_read (under the hub's lock); returns 0 to go on, nonzero to
 * stop (e.g. the reader's buffer is full). */
typedef int (*srv_hub_event_fn)(void *user, int64_t seq, const char *type, const char *data);

nn_status srv_hub_create(srv_hub **out, nn_error *err);
/* Every subscription must have been removed. */
void srv_hub_destroy(srv_hub *hub);

/* This process starts publishing run_id, whose stored events end at last_seq. A run already open
 * keeps its numbering (a later last_seq only moves it forward). */
void srv_hub_open_run(srv_hub *hub, const char *run_id, int64_t last_seq);
/* Numbers an event of an open run (data is JSON text, copied) and wakes its waiters; returns its
 * sequence number, or 0 when the run is not open here. */
int64_t srv_hub_publish(srv_hub *hub, const char *run_id, const char *type, const char *data);
/* Whether run_id is open here. */
int srv_hub_is_open(srv_hub *hub, const char *run_id);
/* The run has ended here (its events are stored, or it left this process): drops its memory and
 * wakes its waiters so they finish from the store. */
void srv_hub_close_run(srv_hub *hub, const char *run_id);

/* A subscriber of run_id from client (an address; at most max_per_client subscriptions per
 * client: NULL with *refused = 1 beyond, NULL with *refused = 0 when out of memory). */
srv_hub_sub *srv_hub_subscribe(srv_hub *hub, const char *run_id, const char *client,
                               int max_per_client, srv_hub_fn wake, void *user, int *refused);
void srv_hub_unsubscribe(srv_hub *hub, srv_hub_sub *sub);
/* Calls fn for the events of sub's run from seq `from` on that memory holds, in order, until fn
 * returns nonzero; returns how many fn accepted. *served = 0 when memory cannot serve `from`
 * (the run is not open here, or `from` is older than what it keeps): read the store. */
size_t srv_hub_read(srv_hub *hub, srv_hub_sub *sub, int64_t from, srv_hub_event_fn fn, void *user,
                    int *served);
/* Arms sub for the next publish, close or wake of its run, unless memory already has an event
 * from seq `from` on or srv_hub_wake_run woke the run since sub's last srv_hub_read (returns 0:
 * read again).
 * When it arms (returns 1), sleep(user) has been called under the lock, before any wake can
 * come. Armed subscriptions are also woken by srv_hub_wake_all. */
int srv_hub_wait(srv_hub *hub, srv_hub_sub *sub, int64_t from, srv_hub_fn sleep);
/* The run has new events in the store (run_id NULL: some run, maybe several): its subscribers
 * read again. */
void srv_hub_wake_run(srv_hub *hub, const char *run_id);
/* Wakes every armed subscription (keep-alive ticks, shutdown). */
void srv_hub_wake_all(srv_hub *hub);
/* Subscriptions open. */
int srv_hub_subscribers(srv_hub *hub);

#endif
