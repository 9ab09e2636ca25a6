/* srv_store.c — the store's one entry: a location opens its backend, and every public call of
 * srv_store.h and srv_queue.h goes through the connection's operations table (see
 * srv_store_internal.h). Per-thread connections (srv_stores) live here too. */
#include "srv_store_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- opening ---- */

nn_status srv_store_migrate(const char *db, const char *data_dir, nn_error *err) {
    if (srv__is_pg_url(db)) return srv__pg_migrate(db, data_dir, err);
    if (db && db[0])
        return nn_error_set(err, NN_ERR_INVALID,
                            "--db: expected postgres://USER@HOST:PORT/DB (or nothing for SQLite "
                            "in the data dir), got \"%.60s\"",
                            db);
    return srv__sqlite_migrate(data_dir, err);
}

nn_status srv_store_open(const char *db, const char *data_dir, srv_store **out, nn_error *err) {
    if (srv__is_pg_url(db)) return srv__pg_open(db, data_dir, out, err);
    if (db && db[0]) return nn_error_set(err, NN_ERR_INVALID, "--db: not a postgres:// URL");
    return srv__sqlite_open(data_dir, out, err);
}

void srv_store_close(srv_store *s) {
    if (s) s->ops->close(s);
}

/* ---- per-thread connections ---- */

struct srv_stores {
    char *db; /* NULL for SQLite */
    char *data_dir;
    int shared;
    pthread_key_t key;
};

static void close_thread_store(void *p) { srv_store_close(p); }

nn_status srv_stores_create(const char *db, const char *data_dir, srv_stores **out, nn_error *err) {
    srv_stores *st = calloc(1, sizeof *st);
    int ok = st != NULL;
    if (ok) st->data_dir = srv__strdup(data_dir);
    if (ok && db && db[0]) st->db = srv__strdup(db);
    ok = ok && st->data_dir && (!db || !db[0] || st->db);
    if (!ok || pthread_key_create(&st->key, close_thread_store) != 0) {
        if (st) free(st->data_dir), free(st->db);
        free(st);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for storage connections");
    }
    st->shared = srv__is_pg_url(st->db);
    *out = st;
    return NN_OK;
}

srv_store *srv_stores_get(srv_stores *st, nn_error *err) {
    srv_store *s = pthread_getspecific(st->key);
    if (s) return s;
    if (srv_store_open(st->db, st->data_dir, &s, err) != NN_OK) return NULL;
    if (pthread_setspecific(st->key, s) != 0) {
        srv_store_close(s);
        (void)nn_error_set(err, NN_ERR_NOMEM, "cannot keep a storage connection for this thread");
        return NULL;
    }
    return s;
}

int srv_stores_shared(const srv_stores *st) { return st->shared; }

void srv_stores_destroy(srv_stores *st) {
    if (!st) return;
    srv_store_close(pthread_getspecific(st->key));
    (void)pthread_setspecific(st->key, NULL);
    /* other threads closed theirs when they exited: the composition destroys the stores after
       joining every thread that used them */
    (void)pthread_key_delete(st->key);
    free(st->data_dir);
    free(st->db);
    free(st);
}

srv_store *srv_ctx_store(srv_ctx *ctx, nn_error *err) {
    if (!ctx->stores) {
        (void)nn_error_set(err, NN_ERR_IO, "storage is not open");
        return NULL;
    }
    return srv_stores_get(ctx->stores, err);
}

/* ---- datasets ---- */

nn_status srv_dataset_put(srv_store *s, srv_dataset *ds, int *created, nn_error *err) {
    return s->ops->dataset_put(s, ds, NULL, created, err);
}

nn_status srv_dataset_put_file(srv_store *s, srv_dataset *ds, const char *file, int *created,
                               nn_error *err) {
    return s->ops->dataset_put(s, ds, file, created, err);
}

nn_status srv_dataset_file(srv_store *s, const char *sha256, char *path, size_t size,
                           nn_error *err) {
    return s->ops->dataset_file(s, sha256, path, size, err);
}

nn_status srv_dataset_get(srv_store *s, const char *id, srv_dataset *out, nn_error *err) {
    return s->ops->dataset_get(s, id, out, err);
}

nn_status srv_dataset_list(srv_store *s, json_t **out, nn_error *err) {
    return s->ops->dataset_list(s, out, err);
}

nn_status srv_dataset_delete(srv_store *s, const char *id, nn_error *err) {
    return s->ops->dataset_delete(s, id, err);
}

/* ---- runs ---- */

nn_status srv_run_create(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                         int *created, nn_error *err) {
    return s->ops->run_create(s, run, idem_key, req_hash, 0, created, err);
}

nn_status srv_run_create_queued(srv_store *s, srv_run *run, const char *idem_key,
                                const char *req_hash, int64_t max_queued, int *created,
                                nn_error *err) {
    return s->ops->run_create(s, run, idem_key, req_hash, max_queued, created, err);
}

nn_status srv_run_get(srv_store *s, const char *id, srv_run *out, nn_error *err) {
    return s->ops->run_get(s, id, out, 0, err);
}

nn_status srv_run_get_text(srv_store *s, const char *id, srv_run *out, nn_error *err) {
    return s->ops->run_get(s, id, out, 1, err);
}

nn_status srv_run_list(srv_store *s, int status, const char *dataset, const char *cursor, int limit,
                       json_t **out, char **next_cursor, nn_error *err) {
    return s->ops->run_list(s, status, dataset, cursor, limit, out, next_cursor, err);
}

nn_status srv_run_finish(srv_store *s, const char *id, const srv_run_outcome *o, nn_error *err) {
    if (o->status != SRV_RUN_SUCCEEDED && o->status != SRV_RUN_FAILED &&
        o->status != SRV_RUN_CANCELLED)
        return nn_error_set(err, NN_ERR_INVALID, "run %s: %s is not a final status", id,
                            srv_run_status_name(o->status));
    return s->ops->run_finish(s, id, o, err);
}

nn_status srv_run_counts(srv_store *s, long long counts[5], nn_error *err) {
    return s->ops->run_counts(s, counts, err);
}

/* ---- events ---- */

nn_status srv_events_put(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                         size_t *dropped, nn_error *err) {
    *dropped = 0;
    if (n == 0) return NN_OK;
    return s->ops->events_put(s, node, ev, n, dropped, err);
}

nn_status srv_event_append(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                           nn_error *err) {
    if (n == 0) return NN_OK;
    return s->ops->event_append(s, run_id, events, n, err);
}

nn_status srv_event_list(srv_store *s, const char *run_id, int64_t after, int limit,
                         srv_event **out, size_t *n, nn_error *err) {
    if (limit <= 0 || limit > SRV_MAX_EVENT_PAGE) limit = SRV_MAX_EVENT_PAGE;
    *out = NULL;
    *n = 0;
    return s->ops->event_list(s, run_id, after, limit, out, n, err);
}

nn_status srv_event_last_seq(srv_store *s, const char *run_id, int64_t *seq, nn_error *err) {
    return s->ops->event_last_seq(s, run_id, seq, err);
}

/* ---- results ---- */

nn_status srv_checkpoint_list(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                              nn_error *err) {
    *out = NULL;
    *n = 0;
    return s->ops->checkpoint_list(s, run_id, out, n, err);
}

void srv_fold_state_key(const char *dataset_id, const char *trajectory, char *out) {
    (void)snprintf(out, SRV_FOLD_KEY_LEN + 1, "%.*s/%.64s", SRV_ID_LEN, dataset_id, trajectory);
}

nn_status srv_fold_state_find(srv_store *s, const char *key, int task, int max_epoch,
                              unsigned char **state, size_t *len, int *epoch, nn_error *err) {
    *state = NULL;
    *len = 0;
    *epoch = 0;
    nn_status st = s->ops->fold_state_find(s, key, task, max_epoch, state, len, epoch, err);
    if (st) {
        free(*state);
        *state = NULL;
        *len = 0;
    }
    return st;
}

nn_status srv_fold_states_drop(srv_store *s, const char *study_id, int trial, nn_error *err) {
    return s->ops->fold_states_drop(s, study_id, trial, err);
}

nn_status srv_prediction_list(srv_store *s, const char *run_id, srv_prediction **out, size_t *n,
                              nn_error *err) {
    return srv_prediction_page(s, run_id, 0, -1, out, n, err);
}

nn_status srv_prediction_page(srv_store *s, const char *run_id, int64_t after_row, int64_t limit,
                              srv_prediction **out, size_t *n, nn_error *err) {
    *out = NULL;
    *n = 0;
    return s->ops->prediction_page(s, run_id, after_row, limit, out, n, err);
}

nn_status srv_history_start(srv_store *s, const char *run_id, int64_t *seq, nn_error *err) {
    return s->ops->history_start(s, run_id, seq, err);
}

nn_status srv_model_get(srv_store *s, const char *run_id, char **json_text, nn_error *err) {
    return s->ops->model_get(s, run_id, json_text, err);
}

/* ---- the task queue (srv_queue.h) ---- */

nn_status srv_queue_claim(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                          int *run_started, nn_error *err) {
    *found = *run_started = 0;
    nn_status st = s->ops->queue_claim(s, cfg, out, found, run_started, err);
    if (st) *found = *run_started = 0;
    return st;
}

nn_status srv_queue_renew(srv_store *s, const char *node, const srv_task_ref *t, int64_t lease_ms,
                          int64_t epochs_done, srv_lease_state *out, nn_error *err) {
    *out = SRV_LEASE_LOST;
    return s->ops->queue_renew(s, node, t, lease_ms, epochs_done, out, err);
}

nn_status srv_queue_end_task(srv_store *s, const char *node, const srv_task_ref *t,
                             srv_task_result result, const srv_task_output *out, const char *error,
                             srv_task_end *end, nn_error *err) {
    memset(end, 0, sizeof *end);
    nn_status st = s->ops->queue_end_task(s, node, t, result, out, error, end, err);
    if (st) memset(end, 0, sizeof *end);
    return st;
}

nn_status srv_queue_cancel_run(srv_store *s, const char *run_id, srv_run_status *was,
                               srv_task_end *end, nn_error *err) {
    memset(end, 0, sizeof *end);
    nn_status st = s->ops->queue_cancel_run(s, run_id, was, end, err);
    if (st) memset(end, 0, sizeof *end);
    return st;
}

nn_status srv_queue_release(srv_store *s, const char *node, int *released, nn_error *err) {
    *released = 0;
    return s->ops->queue_release(s, node, released, err);
}

nn_status srv_queue_reclaim(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                            size_t *n, nn_error *err) {
    *out = NULL;
    *n = 0;
    return s->ops->queue_reclaim(s, cfg, out, n, err);
}

nn_status srv_queue_depth(srv_store *s, int64_t *queued, int64_t *active, nn_error *err) {
    return s->ops->queue_depth(s, queued, active, err);
}

nn_status srv_queue_done_tasks(srv_store *s, const char *run_id, int **out, size_t *n,
                               nn_error *err) {
    *out = NULL;
    *n = 0;
    return s->ops->queue_done_tasks(s, run_id, out, n, err);
}
