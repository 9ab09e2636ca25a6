/* srv_evwriter.h — the event writer: run events into the store, off the training threads.
 *
 * DESIGN: as redis's bio.c keeps slow disk work off the serving thread, training threads never
 * wait for the database: a report is numbered and fanned out by the hub (srv_hub.h) and queued
 * here (srv_evwriter_put, a mutex and a list append), and one writer thread stores what is
 * queued in batches — gathered for SRV_EVWRITER_LINGER_MS, unless someone waits in a flush —
 * one transaction per batch, grouped by the task that published them so the
 * lease fence is checked once per task (srv_events_put). When the store cannot be written (busy,
 * full, gone) the batch stays at the head of the queue and is retried with a growing pause, so
 * events are late but never lost or reordered; a task whose lease was lost meanwhile has its
 * events stored as `log` stand-ins (the store says why), so sequence numbers stay contiguous.
 * srv_evwriter_flush waits until everything queued before it is stored — a task's end and a
 * run's final status are written only after their events. The queue holds at most
 * SRV_EVWRITER_MAX_QUEUED events; beyond that srv_evwriter_put waits (back-pressure is the only
 * way training can wait for the disk, and only after that many events are pending).
 *
 * With a shared store (PostgreSQL) events are queued unnumbered (seq 0) and in the order they
 * happened; the store numbers them in the transaction that inserts them, and after each stored
 * batch the writer wakes this node's streams of its runs (srv_hub_wake_run). A batch whose
 * commit was not acknowledged is retried like any other: the store recognizes it by the
 * writer's numbers of its events (srv_event_put.gen) and does not store it twice.
 */
#ifndef SRV_EVWRITER_H
#define SRV_EVWRITER_H

#include "srv_hub.h"
#include "srv_store.h"

#define SRV_EVWRITER_MAX_QUEUED 1000000
#define SRV_EVWRITER_BATCH 2000   /* events per transaction at most */
#define SRV_EVWRITER_LINGER_MS 20 /* a batch gathers this long before it is stored */

typedef struct srv_evwriter srv_evwriter;

typedef struct srv_evwriter_stats {
    int64_t queued;  /* waiting now */
    int64_t written; /* stored since the start */
    int64_t dropped; /* stored as stand-ins: their task had lost its lease */
    int64_t batches; /* transactions */
    int64_t retries; /* batches that had to wait for the store */
} srv_evwriter_stats;

/* Starts the writer thread; it stores through its own connection from ctx->stores and wakes
 * hub's subscribers after storing events of a shared store (hub may be NULL). */
nn_status srv_evwriter_create(srv_ctx *ctx, srv_hub *hub, srv_evwriter **out, nn_error *err);
/* Stores what is queued (waiting at most wait_ms for a store that does not answer), stops the
 * thread and frees the writer. */
void srv_evwriter_destroy(srv_evwriter *w, int wait_ms);

/* Queues an event of run_id numbered seq (0 for a shared store; data_take: malloc'd JSON text,
 * consumed). fence: the task that published it (copied; NULL for an event of the run itself);
 * epochs_done its progress (< 0: none). */
void srv_evwriter_put(srv_evwriter *w, const char *run_id, int64_t seq, const char *type,
                      char *data_take, const srv_task_ref *fence, int64_t epochs_done);
/* Waits until every event queued before the call is stored: NN_OK, or NN_ERR_IO when wait_ms
 * passed first (the events stay queued). */
nn_status srv_evwriter_flush(srv_evwriter *w, int wait_ms, nn_error *err);
void srv_evwriter_stats_get(srv_evwriter *w, srv_evwriter_stats *out);

#endif
