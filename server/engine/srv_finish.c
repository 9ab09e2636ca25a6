/* srv_finish.c — finishing runs (see srv_finish.h DESIGN). */
#include "srv_finish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_WAIT_MS 2000
#define FINISH_TRIES 20 /* a busy store is retried this often (each waits the busy timeout) */

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Waits for the writer until it has stored everything queued, or nnd is stopping. */
static void flush_all(const srv_job_env *env) {
    nn_error err = {0};
    while (srv_evwriter_flush(env->writer, FLUSH_WAIT_MS, &err) != NN_OK) {
        if (atomic_load(&env->ctx->stopping)) return;
        (void)fprintf(stderr, "nnd: %s (still waiting)\n", err.msg);
    }
}

/* Opens run_id in the hub after its stored events, if this process does not publish it (and
 * numbers events: not with a shared store). */
static void ensure_open(const srv_job_env *env, srv_store *s, const char *run_id) {
    if (srv_store_shared(s) || srv_hub_is_open(env->hub, run_id)) return;
    flush_all(env);
    int64_t last = 0;
    nn_error err = {0};
    if (srv_event_last_seq(s, run_id, &last, &err) != NN_OK)
        (void)fprintf(stderr, "nnd: run %s: %s\n", run_id, err.msg);
    else
        srv_hub_open_run(env->hub, run_id, last);
}

void srv_run_event(const srv_job_env *env, srv_store *s, const char *run_id, const char *type,
                   json_t *data_take) {
    char *text = data_take ? json_dumps(data_take, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(data_take);
    if (!text) return;
    ensure_open(env, s, run_id);
    int shared = srv_store_shared(s); /* the store numbers it */
    int64_t seq = shared ? 0 : srv_hub_publish(env->hub, run_id, type, text);
    if (seq > 0 || shared)
        srv_evwriter_put(env->writer, run_id, seq, type, text, NULL, -1);
    else
        free(text);
}

/* metrics' train_seconds: the run's wall time since it (last) started, as `nn train` reports the
 * wall time of its cross-validation (libnn cannot: here the run's tasks train on any thread of
 * any node). */
static void set_train_seconds(srv_store *s, const char *run_id, json_t *metrics) {
    srv_run run;
    memset(&run, 0, sizeof run);
    nn_error err = {0};
    if (metrics && srv_run_get(s, run_id, &run, &err) == NN_OK && run.started_at != 0)
        (void)json_object_set_new(metrics, "train_seconds",
                                  json_real((double)(srv_now_ms() - run.started_at) / 1000.0));
    srv_run_free(&run);
}

/* The reason a cancelled run gives. */
static const char *cancel_reason(srv_store *s, const char *run_id) {
    srv_run run;
    memset(&run, 0, sizeof run);
    nn_error err = {0};
    int started = srv_run_get(s, run_id, &run, &err) == NN_OK && run.started_at != 0;
    srv_run_free(&run);
    return started ? "cancelled by request" : "cancelled before it started";
}

void srv_finish_run(const srv_job_env *env, srv_store *s, const char *run_id,
                    const srv_task_end *end, srv_job *job) {
    flush_all(env);
    srv_run_outcome o = {.status = end->outcome};
    srv_job_results res;
    memset(&res, 0, sizeof res);
    char failure[300] = "";
    nn_error err = {0};
    if (o.status == SRV_RUN_SUCCEEDED) {
        int restored = 0;
        nn_status st = job ? srv_job_restore(job, s, NULL, &restored, &err)
                           : nn_error_set(&err, NN_ERR_INVALID, "the run is not loaded here");
        if (st == NN_OK) st = srv_job_results_get(job, &res, &err);
        if (st == NN_OK) set_train_seconds(s, run_id, res.metrics);
        if (st != NN_OK) {
            o.status = SRV_RUN_FAILED;
            (void)snprintf(failure, sizeof failure, "cannot aggregate the results: %s", err.msg);
        }
    } else if (o.status == SRV_RUN_FAILED) {
        (void)snprintf(failure, sizeof failure, "%s", end->error[0] ? end->error : "a task failed");
    } else {
        (void)snprintf(failure, sizeof failure, "%s", cancel_reason(s, run_id));
    }
    o.error = o.status == SRV_RUN_SUCCEEDED ? NULL : failure;
    o.metrics = res.metrics;
    o.preds = res.preds;
    o.n_preds = res.n_preds;
    o.model_json = res.model_json;
    json_t *ev = json_pack("{s:s}", "status", srv_run_status_name(o.status));
    if (ev && o.error) (void)json_object_set_new(ev, "error", json_string(o.error));
    if (ev && res.metrics) { /* r2, rmse, mae (accuracy, log loss, AUC): only with folds */
        static const char *const keys[] = {"r2", "rmse", "mae", "accuracy", "log_loss", "roc_auc"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(res.metrics, keys[i]);
            if (v) (void)json_object_set(ev, keys[i], v);
        }
    }
    char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(ev);
    ensure_open(env, s, run_id);
    srv_event final = {0};
    (void)snprintf(final.type, sizeof final.type, "status");
    final.data = text;
    int shared = srv_store_shared(s); /* numbered by the store, in the finishing transaction */
    final.seq = text && !shared ? srv_hub_publish(env->hub, run_id, "status", text) : 0;
    o.final_event = final.seq > 0 || (text && shared) ? &final : NULL;
    nn_status st = NN_ERR_IO;
    for (int i = 0; i < FINISH_TRIES; i++) {
        st = srv_run_finish(s, run_id, &o, &err);
        /* finished already after a try whose answer was lost (a broken connection): ours */
        if (st == NN_ERR_CONFLICT && i > 0) st = NN_OK;
        if (st == NN_OK || !srv_store_transient(st) || atomic_load(&env->ctx->stopping)) break;
        pause_ms(100L * (i + 1));
    }
    if (st != NN_OK)
        (void)fprintf(stderr, "nnd: run %s: cannot record the outcome: %s\n", run_id, err.msg);
    free(text);
    srv_job_results_free(&res);
    srv_hub_close_run(env->hub, run_id);
    if (shared) srv_hub_wake_run(env->hub, run_id); /* its streams read the end */
}
