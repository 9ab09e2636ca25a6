/* srv_engine.c — composing the run engine and its API for the HTTP layer (see srv_engine.h). */
#include "srv_engine.h"

#include "srv_finish.h"
#include "srv_lease.h"
#include "srv_listen.h"
#include "srv_pool.h"
#include "srv_queue.h"
#include "srv_study.h"

#include <stdio.h>
#include <stdlib.h>

#define WRITER_SHUTDOWN_WAIT_MS 10000 /* storing queued events at shutdown, at most */

struct srv_engine {
    srv_ctx *ctx;
    srv_job_env env;
    srv_hub *hub;
    srv_evwriter *writer;
    srv_running *running;
    srv_pool *pool;
    srv_lease *lease;
    srv_models *models;
    srv_listener *listener; /* other nodes' notifications (shared stores only) */
    srv_study_driver *studies;
};

static void wake_pool(void *user) {
    srv_engine *e = user;
    if (e->pool) srv_pool_wake(e->pool);
}

/* A notification from another node (or this one) through the shared store: streams of the
 * run read it again, workers look for tasks; after a reconnect, everyone. */
static void on_notify(void *user, srv_listen_what what, const char *run_id) {
    srv_engine *e = user;
    if (what != SRV_LISTEN_TASKS)
        srv_hub_wake_run(e->hub, what == SRV_LISTEN_RESET ? NULL : run_id);
    if (what != SRV_LISTEN_EVENTS) wake_pool(e);
}

/* A study saved new events: its streams read them. */
static void study_saved(void *user, const char *study_id) {
    srv_engine *e = user;
    srv_hub_wake_run(e->hub, study_id);
}

static nn_status cancel_run(void *user, srv_store *s, const char *run_id, nn_error *err) {
    srv_run_status was;
    return srv_engine_cancel(user, s, run_id, &was, err);
}

nn_status srv_engine_start(srv_ctx *ctx, srv_engine **out, int *requeued, int *failed,
                           nn_error *err) {
    *requeued = *failed = 0;
    srv_engine *e = calloc(1, sizeof *e);
    if (!e) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the engine");
    e->ctx = ctx;
    nn_status st = srv_hub_create(&e->hub, err);
    if (st == NN_OK) st = srv_evwriter_create(ctx, e->hub, &e->writer, err);
    if (st == NN_OK) st = srv_running_create(&e->running, err);
    if (st == NN_OK) st = srv_models_create(&e->models, err);
    e->env = (srv_job_env){ctx, e->hub, e->writer};
    srv_store *s = st == NN_OK ? srv_ctx_store(ctx, err) : NULL;
    if (st == NN_OK && !s) st = err->code ? err->code : NN_ERR_IO;
    /* what this data dir's earlier processes left running: everything for SQLite (the only
       process); with a shared store their tasks and the expired leases (the others live) */
    if (st == NN_OK) st = srv_lease_recover(&e->env, s, 1, requeued, failed, err);
    int64_t lease_ms = (int64_t)ctx->cfg.lease_seconds * 1000;
    srv_pool_cfg pc = {ctx->cfg.workers, ctx->cfg.max_active, lease_ms};
    if (st == NN_OK) st = srv_pool_create(&e->env, e->running, &pc, &e->pool, err);
    if (st == NN_OK)
        st = srv_lease_create(&e->env, e->running, lease_ms, wake_pool, e, &e->lease, err);
    if (st == NN_OK) st = srv_listener_create(ctx->cfg.db, on_notify, e, &e->listener, err);
    srv_study_hooks hooks = {wake_pool, cancel_run, study_saved, e};
    /* every node drives studies; with a shared store each study by one node at a time (its
       lease, srv_studies.h) */
    if (st == NN_OK) st = srv_study_driver_start(ctx, &hooks, &e->studies, err);
    if (st != NN_OK) {
        srv_engine_stop_training(e);
        srv_engine_destroy(e);
        return st;
    }
    *out = e;
    return NN_OK;
}

void srv_engine_stop_training(srv_engine *e) {
    if (!e) return;
    srv_study_driver_stop(e->studies); /* no run is queued or cancelled for a study from here */
    e->studies = NULL;
    srv_listener_destroy(e->listener);
    e->listener = NULL;
    srv_pool_destroy(e->pool); /* tasks stop within a batch; threads joined */
    e->pool = NULL;
    srv_lease_destroy(e->lease);
    e->lease = NULL;
    if (e->writer) {
        nn_error err = {0};
        (void)srv_evwriter_flush(e->writer, WRITER_SHUTDOWN_WAIT_MS, &err);
        srv_store *s = srv_ctx_store(e->ctx, &err);
        int released = 0;
        if (!s || srv_queue_release(s, e->ctx->node, &released, &err) != NN_OK)
            (void)fprintf(stderr, "nnd: cannot release this node's tasks: %s\n", err.msg);
        srv_evwriter_destroy(e->writer, WRITER_SHUTDOWN_WAIT_MS);
        e->writer = NULL;
    }
}

void srv_engine_destroy(srv_engine *e) {
    if (!e) return;
    srv_engine_stop_training(e);
    srv_running_destroy(e->running);
    srv_models_destroy(e->models);
    srv_hub_destroy(e->hub);
    free(e);
}

srv_hub *srv_engine_hub(srv_engine *e) { return e->hub; }
srv_models *srv_engine_models(srv_engine *e) { return e->models; }

void srv_engine_wake(srv_engine *e) {
    if (e->pool) srv_pool_wake(e->pool);
}

nn_status srv_engine_cancel(srv_engine *e, srv_store *s, const char *run_id, srv_run_status *was,
                            nn_error *err) {
    srv_task_end end;
    nn_status st = srv_queue_cancel_run(s, run_id, was, &end, err);
    if (st != NN_OK) return st;
    if (*was != SRV_RUN_QUEUED && *was != SRV_RUN_RUNNING) return NN_OK;
    (void)srv_running_stop(e->running, run_id, -1, -1, SRV_STOP_CANCEL);
    if (end.run_over) srv_finish_run(&e->env, s, run_id, &end, NULL);
    return NN_OK;
}

void srv_engine_studies_wake(srv_engine *e) { srv_study_driver_wake(e->studies); }

void srv_engine_stats_get(srv_engine *e, srv_engine_stats *out) {
    out->jobs = out->busy = 0;
    if (e->pool) srv_pool_stats(e->pool, &out->jobs, &out->busy);
    int runs = 0;
    srv_running_count(e->running, &out->tasks, &runs);
    srv_evwriter_stats ws = {0};
    if (e->writer) srv_evwriter_stats_get(e->writer, &ws);
    out->events_queued = ws.queued;
    out->events_written = ws.written;
    out->events_dropped = ws.dropped;
    out->event_batches = ws.batches;
}
