/* srv_engine.h — the run engine as one piece: the event hub and writer, the worker pool, the
 * heartbeat, the model cache, the study driver. The HTTP layer talks to runs only through this
 * header (and the store); srv_app composes the engine with the HTTP daemon.
 *
 * Start: recover (every task a dead process left running is reclaimed, or with a shared store
 * the expired leases only; runs it ended are finished), then the writer, the pool, the
 * heartbeat and — with a shared store — the listener that turns other nodes' notifications into
 * wake-ups of streams and workers (srv_listen.h). Stop, in two steps so the HTTP
 * daemon can stop in between: srv_engine_stop_training stops the tasks (within a batch), lets
 * the writer store what is queued and releases this node's tasks without counting their
 * attempt; srv_engine_destroy frees the rest (the hub last: streams hold subscriptions).
 */
#ifndef SRV_ENGINE_H
#define SRV_ENGINE_H

#include "srv_hub.h"
#include "srv_models.h"
#include "srv_store.h"

typedef struct srv_engine srv_engine;

typedef struct srv_engine_stats {
    int jobs;  /* runs loaded on this node */
    int busy;  /* workers training */
    int tasks; /* tasks training here */
    int64_t events_queued, events_written, events_dropped, event_batches;
} srv_engine_stats;

/* Starts the engine on ctx (storage migrated and ctx->stores set): *requeued tasks of a dead
 * process are ready again and *failed runs ended by the recovery. */
nn_status srv_engine_start(srv_ctx *ctx, srv_engine **out, int *requeued, int *failed,
                           nn_error *err);
void srv_engine_stop_training(srv_engine *e);
void srv_engine_destroy(srv_engine *e);

srv_hub *srv_engine_hub(srv_engine *e);
srv_models *srv_engine_models(srv_engine *e);

/* A run was queued: idle workers look for its tasks now. */
void srv_engine_wake(srv_engine *e);
/* Cancels run_id: tasks not started are cancelled, running ones here stop within a batch (on
 * other nodes at their next heartbeat); the run is finished when nothing of it runs any more.
 * *was = the run's status before (a finished run is left alone). */
nn_status srv_engine_cancel(srv_engine *e, srv_store *s, const char *run_id, srv_run_status *was,
                            nn_error *err);
void srv_engine_stats_get(srv_engine *e, srv_engine_stats *out);
/* A study was created or cancelled: the study driver (srv_study.h) steps the studies now. */
void srv_engine_studies_wake(srv_engine *e);

#endif
