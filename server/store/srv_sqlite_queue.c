/* srv_sqlite_queue.c — the task queue on the tasks table (SQLite backend; see srv_queue.h
 * DESIGN). */
#include "srv_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binds the fence of task t of node at ?1 run, ?2 task, ?3 owner, ?4 attempt. */
static void bind_fence(sqlite3_stmt *st, const char *node, const srv_task_ref *t) {
    srv__bind_text(st, 1, t->run_id);
    sqlite3_bind_int(st, 2, t->task);
    srv__bind_text(st, 3, node);
    sqlite3_bind_int(st, 4, t->attempt);
}

/* Runs a prepared statement that returns no rows; *changed = rows it changed (may be NULL). */
static nn_status run_stmt(srv_store *s, sqlite3_stmt *st, int *changed, nn_error *err,
                          const char *what) {
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc != SQLITE_DONE)
        status = srv__db_error(s, rc, err, "%s", what);
    else if (changed)
        *changed = sqlite3_changes(s->db);
    srv__finish(s, st);
    return status;
}

/* Wraps body in a write transaction: commit on NN_OK, roll back otherwise. */
static nn_status commit_or_rollback(srv_store *s, nn_status status, nn_error *err) {
    if (status) {
        srv__rollback(s);
        return status;
    }
    return srv__commit(s, err);
}

/* ---- claim ---- */

#define CLAIM_SQL                                                                                  \
    "UPDATE tasks SET state = 'running', attempt = attempt + 1, owner = :node, "                   \
    "lease_until = :now + :lease, not_before = 0 "                                                 \
    "WHERE (run_id, task) = (SELECT t.run_id, t.task FROM tasks t JOIN runs r ON r.id = t.run_id " \
    " WHERE t.state = 'ready' AND t.not_before <= :now "                                           \
    "   AND r.status IN ('queued', 'running') AND r.cancel_requested = 0 AND r.error IS NULL "     \
    "   AND (SELECT count(*) FROM tasks m WHERE m.run_id = t.run_id AND m.state = 'running' "      \
    "        AND m.owner = :node) < :per_run "                                                     \
    "   AND (EXISTS (SELECT 1 FROM tasks a WHERE a.run_id = t.run_id AND a.state = 'running' "     \
    "                AND a.owner = :node) "                                                        \
    "        OR (SELECT count(DISTINCT b.run_id) FROM tasks b WHERE b.state = 'running' "          \
    "            AND b.owner = :node) < :max_runs) "                                               \
    " ORDER BY (SELECT count(*) FROM tasks c WHERE c.run_id = t.run_id AND c.state = 'running'), " \
    "          r.created_at, r.id, t.task LIMIT 1) "                                               \
    "RETURNING run_id, task, attempt"

static nn_status claim_locked(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                              int *run_started, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, CLAIM_SQL, &st, err)) return err ? err->code : NN_ERR_IO;
    int64_t now = srv__now_ms();
    srv__bind_text(st, sqlite3_bind_parameter_index(st, ":node"), cfg->node);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":now"), now);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":lease"), cfg->lease_ms);
    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":per_run"), cfg->per_run);
    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":max_runs"), cfg->max_runs);
    int rc = srv__step(st);
    if (rc == SQLITE_ROW) {
        srv__column_copy(st, 0, out->run_id, sizeof out->run_id);
        out->task = sqlite3_column_int(st, 1);
        out->attempt = sqlite3_column_int(st, 2);
        *found = 1;
        rc = sqlite3_step(st);
    }
    srv__finish(s, st);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "claiming a task");
    if (!*found) return NN_OK;
    if (srv__prepare(s,
                     "UPDATE runs SET status = 'running', started_at = ?2, attempts = attempts + 1 "
                     "WHERE id = ?1 AND status = 'queued' RETURNING attempts",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, out->run_id);
    sqlite3_bind_int64(st, 2, now);
    rc = srv__step(st);
    if (rc == SQLITE_ROW) {
        *run_started = sqlite3_column_int(st, 0);
        rc = sqlite3_step(st);
    }
    srv__finish(s, st);
    return rc == SQLITE_DONE ? NN_OK : srv__db_error(s, rc, err, "starting a run");
}

nn_status srv__sq_queue_claim(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                              int *run_started, nn_error *err) {
    *found = *run_started = 0;
    nn_status status = srv__begin(s, err);
    if (status) return status;
    status = commit_or_rollback(s, claim_locked(s, cfg, out, found, run_started, err), err);
    if (status) *found = *run_started = 0;
    return status;
}

/* ---- renew ---- */

nn_status srv__sq_queue_renew(srv_store *s, const char *node, const srv_task_ref *t,
                              int64_t lease_ms, int64_t epochs_done, srv_lease_state *out,
                              nn_error *err) {
    *out = SRV_LEASE_LOST;
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE tasks SET lease_until = ?5, "
                     "epochs_done = CASE WHEN ?6 >= 0 THEN min(?6, epochs_total) "
                     "ELSE epochs_done END "
                     "WHERE run_id = ?1 AND task = ?2 AND owner = ?3 AND attempt = ?4 "
                     "AND state = 'running' "
                     "RETURNING (SELECT cancel_requested OR error IS NOT NULL FROM runs "
                     "WHERE runs.id = tasks.run_id)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    bind_fence(st, node, t);
    sqlite3_bind_int64(st, 5, srv__now_ms() + lease_ms);
    sqlite3_bind_int64(st, 6, epochs_done);
    int rc = srv__step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0) ? SRV_LEASE_STOP : SRV_LEASE_HELD;
        rc = sqlite3_step(st);
    }
    srv__finish(s, st);
    return rc == SQLITE_DONE
               ? NN_OK
               : srv__db_error(s, rc, err, "renewing the lease of %s/%d", t->run_id, t->task);
}

/* ---- ends ---- */

/* Inside a write transaction: cancels run_id's tasks that have not started; *n of them. */
static nn_status cancel_pending(srv_store *s, const char *run_id, int *n, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE tasks SET state = 'cancelled' "
                     "WHERE run_id = ? AND state IN ('ready', 'waiting')",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    return run_stmt(s, st, n, err, "cancelling tasks");
}

/* Inside a write transaction: the run's counters after `ended` more tasks ended (`fold_done` of
 * them a fold that succeeded), the final fit promoted when the last fold is done, and what that
 * means in *end. */
static nn_status count_ends(srv_store *s, const char *run_id, int ended, int fold_done,
                            srv_task_end *end, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE runs SET tasks_ended = tasks_ended + ?2, folds_done = folds_done + ?3 "
                     "WHERE id = ?1 RETURNING tasks_ended, n_tasks, folds_done, n_folds, "
                     "cancel_requested, error",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    sqlite3_bind_int(st, 2, ended);
    sqlite3_bind_int(st, 3, fold_done);
    int rc = srv__step(st);
    int promote = 0;
    if (rc == SQLITE_ROW) {
        int tasks_ended = sqlite3_column_int(st, 0), n_tasks = sqlite3_column_int(st, 1);
        int folds_done = sqlite3_column_int(st, 2), n_folds = sqlite3_column_int(st, 3);
        int cancelled = sqlite3_column_int(st, 4);
        int failed = sqlite3_column_type(st, 5) != SQLITE_NULL;
        if (failed) srv__column_copy(st, 5, end->error, sizeof end->error);
        end->run_over = tasks_ended >= n_tasks;
        end->outcome = failed ? SRV_RUN_FAILED : cancelled ? SRV_RUN_CANCELLED : SRV_RUN_SUCCEEDED;
        promote = fold_done && folds_done == n_folds && !failed && !cancelled;
        rc = sqlite3_step(st);
    }
    srv__finish(s, st);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "counting the tasks of %s", run_id);
    if (!promote) return NN_OK;
    if (srv__prepare(s,
                     "UPDATE tasks SET state = 'ready', not_before = 0 "
                     "WHERE run_id = ? AND kind = 'final' AND state = 'waiting'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    return run_stmt(s, st, NULL, err, "promoting the final fit");
}

/* Inside a write transaction: records a task failure on its run (the first one wins) and
 * cancels the run's tasks that have not started; *cancelled of them. */
static nn_status fail_run_locked(srv_store *s, const char *run_id, const char *error,
                                 int *cancelled, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "UPDATE runs SET error = coalesce(error, ?2) WHERE id = ?1", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    srv__bind_text(st, 2, error && error[0] ? error : "a task failed");
    nn_status status = run_stmt(s, st, NULL, err, "failing a run");
    return status ? status : cancel_pending(s, run_id, cancelled, err);
}

static nn_status put_checkpoint(srv_store *s, const srv_task_ref *t, const char *json,
                                nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "INSERT OR REPLACE INTO checkpoints (run_id, task, json, created_at) "
                     "VALUES (?, ?, ?, ?)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, t->run_id);
    sqlite3_bind_int(st, 2, t->task);
    srv__bind_text(st, 3, json);
    sqlite3_bind_int64(st, 4, srv__now_ms());
    return run_stmt(s, st, NULL, err, "storing a checkpoint");
}

/* A fold's state at stop_at (srv_task_output), replacing an earlier attempt's. */
static nn_status put_state(srv_store *s, const srv_task_ref *t, const srv_task_output *out,
                           nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "INSERT OR REPLACE INTO fold_states (run_id, task, key, epoch, state, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, t->run_id);
    sqlite3_bind_int(st, 2, t->task);
    srv__bind_text(st, 3, out->state_key);
    sqlite3_bind_int(st, 4, out->state_epoch);
    sqlite3_bind_blob64(st, 5, out->state, (sqlite3_uint64)out->state_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, srv__now_ms());
    return run_stmt(s, st, NULL, err, "storing a fold state");
}

static const char *const result_state[] = {"done", "failed", "cancelled"};

static nn_status end_locked(srv_store *s, const char *node, const srv_task_ref *t,
                            srv_task_result result, const srv_task_output *out, const char *error,
                            srv_task_end *end, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE tasks SET state = ?5, owner = NULL, lease_until = NULL, error = ?6, "
                     "epochs_done = CASE WHEN ?5 = 'done' THEN epochs_total ELSE epochs_done END "
                     "WHERE run_id = ?1 AND task = ?2 AND owner = ?3 AND attempt = ?4 "
                     "AND state = 'running' RETURNING kind = 'fold'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    bind_fence(st, node, t);
    srv__bind_text(st, 5, result_state[result]);
    srv__bind_text(st, 6, result == SRV_TASK_DONE ? NULL : error);
    int rc = srv__step(st), is_fold = 0;
    if (rc == SQLITE_ROW) {
        is_fold = sqlite3_column_int(st, 0);
        rc = sqlite3_step(st);
    } else if (rc == SQLITE_DONE) {
        end->fenced_out = 1;
    }
    srv__finish(s, st);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "ending %s/%d", t->run_id, t->task);
    if (end->fenced_out) return NN_OK;
    nn_status status = NN_OK;
    int cancelled = 0;
    if (result == SRV_TASK_DONE && is_fold && out && out->checkpoint)
        status = put_checkpoint(s, t, out->checkpoint, err);
    if (!status && result == SRV_TASK_DONE && is_fold && out && out->state_len && out->state_key)
        status = put_state(s, t, out, err);
    if (!status && result == SRV_TASK_FAILED)
        status = fail_run_locked(s, t->run_id, error, &cancelled, err);
    if (!status)
        status =
            count_ends(s, t->run_id, 1 + cancelled, result == SRV_TASK_DONE && is_fold, end, err);
    return status;
}

nn_status srv__sq_queue_end_task(srv_store *s, const char *node, const srv_task_ref *t,
                                 srv_task_result result, const srv_task_output *out,
                                 const char *error, srv_task_end *end, nn_error *err) {
    memset(end, 0, sizeof *end);
    nn_status status = srv__begin(s, err);
    if (status) return status;
    status = end_locked(s, node, t, result, out, error, end, err);
    if (end->fenced_out && !status) {
        srv__rollback(s);
        return NN_OK;
    }
    status = commit_or_rollback(s, status, err);
    if (status) memset(end, 0, sizeof *end);
    return status;
}

static nn_status cancel_locked(srv_store *s, const char *run_id, srv_run_status *was,
                               srv_task_end *end, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT status FROM runs WHERE id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    int rc = srv__step(st);
    int known = 0;
    if (rc == SQLITE_ROW)
        known = srv_run_status_from_name((const char *)sqlite3_column_text(st, 0), was);
    srv__finish(s, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return srv__db_error(s, rc, err, "reading run %s", run_id);
    if (!known) return nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", run_id);
    if (*was != SRV_RUN_QUEUED && *was != SRV_RUN_RUNNING) return NN_OK;
    if (srv__prepare(s, "UPDATE runs SET cancel_requested = 1 WHERE id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    nn_status status = run_stmt(s, st, NULL, err, "cancelling a run");
    int cancelled = 0;
    if (!status) status = cancel_pending(s, run_id, &cancelled, err);
    if (!status) status = count_ends(s, run_id, cancelled, 0, end, err);
    return status;
}

nn_status srv__sq_queue_cancel_run(srv_store *s, const char *run_id, srv_run_status *was,
                                   srv_task_end *end, nn_error *err) {
    memset(end, 0, sizeof *end);
    nn_status status = srv__begin(s, err);
    if (status) return status;
    status = commit_or_rollback(s, cancel_locked(s, run_id, was, end, err), err);
    if (status) memset(end, 0, sizeof *end);
    return status;
}

/* ---- release and reclaim ---- */

/* Inside a write transaction: runs left running with no task running go back to queued, their
 * progress recounted (tasks that will train again start from 0); give_back: a clean release
 * does not count the start. */
static nn_status requeue_idle_runs(srv_store *s, int give_back, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE runs SET status = 'queued', started_at = NULL, "
                     "attempts = CASE WHEN ?1 THEN max(attempts - 1, 0) ELSE attempts END, "
                     "progress = (SELECT min(1.0, 1.0 * sum(epochs_done) / max(1, "
                     "sum(epochs_total))) FROM tasks t WHERE t.run_id = runs.id) "
                     "WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM tasks t "
                     "WHERE t.run_id = runs.id AND t.state = 'running')",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    sqlite3_bind_int(st, 1, give_back);
    return run_stmt(s, st, NULL, err, "re-queueing runs");
}

nn_status srv__sq_queue_release(srv_store *s, const char *node, int *released, nn_error *err) {
    *released = 0;
    nn_status status = srv__begin(s, err);
    if (status) return status;
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE tasks SET state = 'ready', owner = NULL, lease_until = NULL, "
                     "attempt = max(attempt - 1, 0), epochs_done = 0 "
                     "WHERE owner = ? AND state = 'running'",
                     &st, err))
        status = err ? err->code : NN_ERR_IO;
    else {
        srv__bind_text(st, 1, node);
        status = run_stmt(s, st, released, err, "releasing tasks");
    }
    if (!status) status = requeue_idle_runs(s, 1, err);
    return commit_or_rollback(s, status, err);
}

/* Inside a write transaction: the expired running tasks (all running ones when all). */
static nn_status expired(srv_store *s, int all, srv_reclaimed **out, size_t *n, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(
            s,
            "SELECT t.run_id, t.task, t.attempt, r.cancel_requested OR r.error IS NOT NULL "
            "FROM tasks t JOIN runs r ON r.id = t.run_id "
            "WHERE t.state = 'running' AND (?1 OR t.lease_until < ?2) "
            "ORDER BY t.run_id, t.task",
            &st, err))
        return err ? err->code : NN_ERR_IO;
    sqlite3_bind_int(st, 1, all);
    sqlite3_bind_int64(st, 2, srv__now_ms());
    srv_reclaimed *r = NULL;
    size_t count = 0, cap = 0;
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            srv_reclaimed *nr = realloc(r, ncap * sizeof *nr);
            if (!nr) break;
            r = nr;
            cap = ncap;
        }
        srv_reclaimed *x = &r[count++];
        memset(x, 0, sizeof *x);
        srv__column_copy(st, 0, x->task.run_id, sizeof x->task.run_id);
        x->task.task = sqlite3_column_int(st, 1);
        x->task.attempt = sqlite3_column_int(st, 2);
        x->to = sqlite3_column_int(st, 3)                   ? SRV_TASK_CANCELLED
                : x->task.attempt >= SRV_QUEUE_MAX_ATTEMPTS ? SRV_TASK_FAILED
                                                            : SRV_TASK_DONE;
    }
    srv__finish(s, st);
    if (rc == SQLITE_ROW) {
        free(r);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reclaiming tasks");
    }
    if (rc != SQLITE_DONE) {
        free(r);
        return srv__db_error(s, rc, err, "finding expired leases");
    }
    *out = r;
    *n = count;
    return NN_OK;
}

/* Inside a write transaction: whether run_id is cancelled or failing. */
static nn_status run_stopping(srv_store *s, const char *run_id, int *stopping, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT cancel_requested OR error IS NOT NULL FROM runs WHERE id = ?", &st,
                     err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    int rc = srv__step(st);
    *stopping = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    srv__finish(s, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? NN_OK
                                                 : srv__db_error(s, rc, err, "reading a run");
}

/* Inside a write transaction, at a restart: runs left between their last task's end and their
 * finish, or stopping with tasks that never started. A stopping run's pending tasks are
 * cancelled (its end in *out, task -1); a run whose every task ended and that succeeded gets its
 * last task back as ready, so a worker trains it again and finishes the run (the final fit's
 * model lives only in memory). */
static nn_status sweep_unfinished(srv_store *s, srv_reclaimed **out, size_t *n, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT id, cancel_requested OR error IS NOT NULL, tasks_ended >= n_tasks "
                     "FROM runs WHERE status IN ('queued', 'running') AND n_tasks > 0 AND "
                     "(((cancel_requested OR error IS NOT NULL) AND EXISTS (SELECT 1 FROM tasks t "
                     "WHERE t.run_id = runs.id AND t.state IN ('ready', 'waiting'))) OR "
                     "tasks_ended >= n_tasks)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    char(*ids)[SRV_ID_LEN + 1] = NULL;
    int *kind = NULL;
    size_t count = 0, cap = 0;
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (count == cap) {
            size_t nc = cap ? 2 * cap : 4;
            void *a = realloc(ids, nc * sizeof *ids), *b = NULL;
            if (a) ids = a;
            if (a) b = realloc(kind, nc * sizeof *kind);
            if (!a || !b) break;
            kind = b;
            cap = nc;
        }
        srv__column_copy(st, 0, ids[count], sizeof ids[count]);
        kind[count++] = sqlite3_column_int(st, 1) ? 1 : sqlite3_column_int(st, 2) ? 2 : 0;
    }
    srv__finish(s, st);
    nn_status status = rc == SQLITE_DONE  ? NN_OK
                       : rc == SQLITE_ROW ? nn_error_set(err, NN_ERR_NOMEM, "out of memory")
                                          : srv__db_error(s, rc, err, "finding unfinished runs");
    for (size_t i = 0; !status && i < count; i++) {
        int reported = 0; /* ended by a reclaim of this batch already */
        for (size_t k = 0; k < *n && !reported; k++)
            reported = (*out)[k].end.run_over && strcmp((*out)[k].task.run_id, ids[i]) == 0;
        if (reported) continue;
        srv_reclaimed x;
        memset(&x, 0, sizeof x);
        (void)snprintf(x.task.run_id, sizeof x.task.run_id, "%s", ids[i]);
        x.task.task = -1;
        x.to = SRV_TASK_CANCELLED;
        if (kind[i] == 1) { /* stopping: its pending tasks end now */
            int cancelled = 0;
            status = cancel_pending(s, ids[i], &cancelled, err);
            if (!status) status = count_ends(s, ids[i], cancelled, 0, &x.end, err);
        } else if (kind[i] == 2) { /* succeeded but not finished: its last task again */
            if (srv__prepare(s,
                             "UPDATE tasks SET state = 'ready', not_before = 0, epochs_done = 0 "
                             "WHERE run_id = ?1 AND task = (SELECT max(task) FROM tasks "
                             "WHERE run_id = ?1) RETURNING kind = 'fold'",
                             &st, err)) {
                status = err ? err->code : NN_ERR_IO;
                break;
            }
            srv__bind_text(st, 1, ids[i]);
            int fold = 0;
            rc = srv__step(st);
            if (rc == SQLITE_ROW) fold = sqlite3_column_int(st, 0), rc = sqlite3_step(st);
            srv__finish(s, st);
            if (rc != SQLITE_DONE) status = srv__db_error(s, rc, err, "reopening a task");
            if (!status) status = count_ends(s, ids[i], -1, fold ? -1 : 0, &x.end, err);
            x.to = SRV_TASK_DONE;
            x.end.run_over = 0;
        }
        if (status || x.to == SRV_TASK_DONE) continue;
        srv_reclaimed *grown = realloc(*out, (*n + 1) * sizeof **out);
        if (!grown) {
            status = nn_error_set(err, NN_ERR_NOMEM, "out of memory");
            break;
        }
        *out = grown;
        (*out)[(*n)++] = x;
    }
    free(ids);
    free(kind);
    return status;
}

/* Inside a write transaction: one expired task to ready (after a backoff unless every process
 * that could hold it is gone: restart), failed or cancelled. */
static nn_status reclaim_one(srv_store *s, srv_reclaimed *x, int restart, nn_error *err) {
    sqlite3_stmt *st;
    char error[200];
    (void)snprintf(error, sizeof error,
                   "task %d: its worker stopped %d times while training it (lease expired); "
                   "giving up",
                   x->task.task + 1, x->task.attempt);
    if (srv__prepare(s,
                     "UPDATE tasks SET state = ?4, owner = NULL, lease_until = NULL, "
                     "not_before = ?5, error = ?6, "
                     "epochs_done = CASE WHEN ?4 = 'ready' THEN 0 ELSE epochs_done END "
                     "WHERE run_id = ?1 AND task = ?2 AND attempt = ?3 AND state = 'running'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, x->task.run_id);
    sqlite3_bind_int(st, 2, x->task.task);
    sqlite3_bind_int(st, 3, x->task.attempt);
    srv__bind_text(st, 4, x->to == SRV_TASK_DONE ? "ready" : result_state[x->to]);
    sqlite3_bind_int64(
        st, 5, restart ? 0 : srv__now_ms() + (int64_t)SRV_QUEUE_BACKOFF_MS * x->task.attempt);
    srv__bind_text(st, 6, x->to == SRV_TASK_FAILED ? error : NULL);
    if (x->to == SRV_TASK_DONE) { /* another task of this batch may have failed the run */
        int stopping = 0;
        nn_status rs = run_stopping(s, x->task.run_id, &stopping, err);
        if (rs) {
            srv__finish(s, st);
            return rs;
        }
        if (stopping) {
            x->to = SRV_TASK_CANCELLED;
            srv__bind_text(st, 4, result_state[x->to]);
        }
    }
    int changed = 0;
    nn_status status = run_stmt(s, st, &changed, err, "reclaiming a task");
    if (status || !changed || x->to == SRV_TASK_DONE) return status;
    int cancelled = 0;
    if (x->to == SRV_TASK_FAILED)
        status = fail_run_locked(s, x->task.run_id, error, &cancelled, err);
    if (!status) status = count_ends(s, x->task.run_id, 1 + cancelled, 0, &x->end, err);
    return status;
}

nn_status srv__sq_queue_reclaim(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                                size_t *n, nn_error *err) {
    int all = cfg->restart; /* the only process: every running task is a dead process's */
    *out = NULL;
    *n = 0;
    nn_status status = srv__begin(s, err);
    if (status) return status;
    srv_reclaimed *r = NULL;
    size_t count = 0;
    status = expired(s, all, &r, &count, err);
    for (size_t i = 0; !status && i < count; i++) status = reclaim_one(s, &r[i], all, err);
    if (!status && all) status = sweep_unfinished(s, &r, &count, err);
    if (!status && all) status = requeue_idle_runs(s, 0, err);
    status = commit_or_rollback(s, status, err);
    if (status) {
        free(r);
        return status;
    }
    *out = r;
    *n = count;
    return NN_OK;
}

/* ---- reads ---- */

nn_status srv__sq_queue_depth(srv_store *s, int64_t *queued, int64_t *active, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FROM runs "
                     "WHERE status IN ('queued', 'running')",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW) {
        *queued = sqlite3_column_int64(st, 0);
        *active = sqlite3_column_int64(st, 1);
    } else {
        status = srv__db_error(s, rc, err, "counting queued runs");
    }
    srv__finish(s, st);
    return status;
}

nn_status srv__sq_queue_done_tasks(srv_store *s, const char *run_id, int **out, size_t *n,
                                   nn_error *err) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT task FROM tasks WHERE run_id = ? AND state = 'done' ORDER BY task",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    int *t = NULL;
    size_t count = 0, cap = 0;
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            int *nt = realloc(t, ncap * sizeof *nt);
            if (!nt) break;
            t = nt;
            cap = ncap;
        }
        t[count++] = sqlite3_column_int(st, 0);
    }
    srv__finish(s, st);
    if (rc != SQLITE_DONE) {
        free(t);
        return rc == SQLITE_ROW ? nn_error_set(err, NN_ERR_NOMEM, "out of memory")
                                : srv__db_error(s, rc, err, "reading the tasks of %s", run_id);
    }
    *out = t;
    *n = count;
    return NN_OK;
}
