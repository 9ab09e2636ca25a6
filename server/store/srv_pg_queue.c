/* srv_pg_queue.c — the task queue in PostgreSQL: claims, renewals, task ends, cancels and
 * releases (see srv_queue.h DESIGN; reclaims are srv_pg_reclaim.c's).
 *
 * DESIGN: what SQLite gets from one writer at a time, several nodes under READ COMMITTED get
 * from row locks taken in one order — a run's task rows, then its run row:
 * - a claim locks the task it takes FOR UPDATE SKIP LOCKED in its inner SELECT (two nodes never
 *   wait for each other nor take the same row) and holds a transaction-scoped advisory lock on
 *   its node's id, so one node's claims see each other's and its per-run and per-node limits
 *   hold; the run row is touched only when the claim starts a queued run;
 * - every write of a task is fenced by (owner, attempt, state 'running') and by its lease in
 *   the database's clock: lease_until ≥ nnd_now_ms(), so a node that stopped (SIGSTOP, a long
 *   pause) past its lease writes nothing from the moment the lease ends, reclaimed or not;
 * - a task's end updates its run's counters with UPDATE … RETURNING under the run row's lock, so
 *   exactly one end sees the last fold done (and promotes the final fit, whose row it locked
 *   before the run row) and exactly one sees the last task ended (and finishes the run).
 */
#include "srv_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fence_params(srv_pgq *q, const char *node, const srv_task_ref *t) {
    srv__pgq_init(q);
    srv__pgq_text(q, t->run_id);
    srv__pgq_int(q, t->task);
    srv__pgq_text(q, node);
    srv__pgq_int(q, t->attempt);
}

#define FENCE                                                                                      \
    "run_id = $1 AND task = $2 AND owner = $3 AND attempt = $4 AND state = 'running' "             \
    "AND lease_until >= " SRV_PG_NOW

/* ---- claim ---- */

typedef struct claim_arg {
    const srv_claim_cfg *cfg;
    srv_task_ref *out;
    int found, run_started;
} claim_arg;

static nn_status claim_body(srv_store *s, void *arg, nn_error *err) {
    claim_arg *a = arg;
    a->found = a->run_started = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->cfg->node);
    nn_status st = srv__pg_cmd(s, "SELECT pg_advisory_xact_lock(hashtext($1))", &q, NULL,
                               "serializing this node's claims", err);
    srv__pgq_int(&q, a->cfg->lease_ms);
    srv__pgq_int(&q, a->cfg->per_run);
    srv__pgq_int(&q, a->cfg->max_runs);
    PGresult *r = NULL;
    if (!st)
        st = srv__pg_exec(
            s,
            "UPDATE tasks SET state = 'running', attempt = attempt + 1, owner = $1, "
            "lease_until = " SRV_PG_NOW " + $2, not_before = 0 "
            "WHERE (run_id, task) = (SELECT t.run_id, t.task FROM tasks t "
            " JOIN runs r ON r.id = t.run_id "
            " WHERE t.state = 'ready' AND t.not_before <= " SRV_PG_NOW
            "   AND r.status IN ('queued', 'running') AND r.cancel_requested = 0 "
            "   AND r.error IS NULL "
            "   AND (SELECT count(*) FROM tasks m WHERE m.run_id = t.run_id "
            "        AND m.state = 'running' AND m.owner = $1) < $3 "
            "   AND (EXISTS (SELECT 1 FROM tasks x WHERE x.run_id = t.run_id "
            "                AND x.state = 'running' AND x.owner = $1) "
            "        OR (SELECT count(DISTINCT b.run_id) FROM tasks b WHERE b.state = 'running' "
            "            AND b.owner = $1) < $4) "
            " ORDER BY (SELECT count(*) FROM tasks c WHERE c.run_id = t.run_id "
            "           AND c.state = 'running'), r.created_at, r.id, t.task "
            " LIMIT 1 FOR UPDATE OF t SKIP LOCKED) "
            "RETURNING run_id, task, attempt",
            &q, &r, "claiming a task", err);
    if (st) return st;
    if (PQntuples(r) > 0) {
        srv__pg_copy(r, 0, 0, a->out->run_id, sizeof a->out->run_id);
        a->out->task = (int)srv__pg_int(r, 0, 1);
        a->out->attempt = (int)srv__pg_int(r, 0, 2);
        a->found = 1;
    }
    PQclear(r);
    if (!a->found) return NN_OK;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->out->run_id);
    st = srv__pg_exec(s,
                      "UPDATE runs SET status = 'running', started_at = " SRV_PG_NOW ", "
                      "attempts = attempts + 1 WHERE id = $1 AND status = 'queued' "
                      "RETURNING attempts",
                      &q, &r, "starting a run", err);
    if (st) return st;
    if (PQntuples(r) > 0) a->run_started = (int)srv__pg_int(r, 0, 0);
    PQclear(r);
    return NN_OK;
}

nn_status srv__pg_queue_claim(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                              int *run_started, nn_error *err) {
    claim_arg a = {cfg, out, 0, 0};
    nn_status st = srv__pg_tx(s, claim_body, &a, err);
    if (st) return st;
    *found = a.found;
    *run_started = a.run_started;
    return NN_OK;
}

/* ---- renew ---- */

nn_status srv__pg_queue_renew(srv_store *s, const char *node, const srv_task_ref *t,
                              int64_t lease_ms, int64_t epochs_done, srv_lease_state *out,
                              nn_error *err) {
    srv_pgq q;
    fence_params(&q, node, t);
    srv__pgq_int(&q, lease_ms);
    srv__pgq_int(&q, epochs_done);
    PGresult *r = NULL;
    /* one statement outside a transaction: sent again as it is if the connection broke */
    nn_status st = srv__pg_exec(
        s,
        "UPDATE tasks SET lease_until = " SRV_PG_NOW " + $5, "
        "epochs_done = CASE WHEN $6 >= 0 THEN LEAST($6, epochs_total) ELSE epochs_done END "
        "WHERE " FENCE " RETURNING (SELECT (cancel_requested <> 0 OR error IS NOT NULL)::int "
        "FROM runs WHERE runs.id = tasks.run_id)",
        &q, &r, "renewing a lease", err);
    if (st) return st;
    if (PQntuples(r) > 0) *out = srv__pg_int(r, 0, 0) ? SRV_LEASE_STOP : SRV_LEASE_HELD;
    PQclear(r);
    return NN_OK;
}

/* ---- ends ---- */

nn_status srv__pg_cancel_pending(srv_store *s, const char *run_id, int *n, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    *n = 0;
    return srv__pg_cmd(s,
                       "UPDATE tasks SET state = 'cancelled' "
                       "WHERE run_id = $1 AND state IN ('ready', 'waiting')",
                       &q, n, "cancelling tasks", err);
}

nn_status srv__pg_count_ends(srv_store *s, const char *run_id, int ended, int fold_done,
                             srv_task_end *end, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    srv__pgq_int(&q, ended);
    srv__pgq_int(&q, fold_done);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(
        s,
        "UPDATE runs SET tasks_ended = tasks_ended + $2, folds_done = folds_done + $3, "
        "ended_at = CASE WHEN tasks_ended + $2 >= n_tasks THEN coalesce(ended_at, " SRV_PG_NOW
        ") END WHERE id = $1 "
        "RETURNING tasks_ended, n_tasks, folds_done, n_folds, cancel_requested, error",
        &q, &r, "counting the tasks of a run", err);
    if (st) return st;
    int promote = 0;
    if (PQntuples(r) > 0) {
        int failed = !srv__pg_null(r, 0, 5);
        int cancelled = srv__pg_int(r, 0, 4) != 0;
        if (failed) srv__pg_copy(r, 0, 5, end->error, sizeof end->error);
        end->run_over = srv__pg_int(r, 0, 0) >= srv__pg_int(r, 0, 1);
        end->outcome = failed ? SRV_RUN_FAILED : cancelled ? SRV_RUN_CANCELLED : SRV_RUN_SUCCEEDED;
        promote =
            fold_done > 0 && srv__pg_int(r, 0, 2) == srv__pg_int(r, 0, 3) && !failed && !cancelled;
    }
    PQclear(r);
    if (!promote) return NN_OK;
    int changed = 0;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    st = srv__pg_cmd(s,
                     "UPDATE tasks SET state = 'ready', not_before = 0 "
                     "WHERE run_id = $1 AND kind = 'final' AND state = 'waiting'",
                     &q, &changed, "promoting the final fit", err);
    if (!st && changed) srv__pg_notify(s, SRV_PG_TASKS, run_id);
    return st;
}

static const char *const result_state[] = {"done", "failed", "cancelled"};

typedef struct end_arg {
    const char *node;
    const srv_task_ref *t;
    srv_task_result result;
    const srv_task_output *out;
    const char *error;
    srv_task_end *end;
} end_arg;

static nn_status fail_run(srv_store *s, const char *run_id, const char *error, int *cancelled,
                          nn_error *err) {
    nn_status st = srv__pg_cancel_pending(s, run_id, cancelled, err); /* tasks before the run */
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    srv__pgq_text(&q, error && error[0] ? error : "a task failed");
    if (!st)
        st = srv__pg_cmd(s, "UPDATE runs SET error = coalesce(error, $2) WHERE id = $1", &q, NULL,
                         "failing a run", err);
    return st;
}

static nn_status end_body(srv_store *s, void *arg, nn_error *err) {
    end_arg *a = arg;
    memset(a->end, 0, sizeof *a->end);
    srv_pgq q;
    fence_params(&q, a->node, a->t);
    srv__pgq_text(&q, result_state[a->result]);
    srv__pgq_text(&q, a->result == SRV_TASK_DONE ? NULL : a->error);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "UPDATE tasks SET state = $5, owner = NULL, lease_until = NULL, "
                                "error = $6, epochs_done = CASE WHEN $5 = 'done' THEN "
                                "epochs_total ELSE epochs_done END WHERE " FENCE " "
                                "RETURNING (kind = 'fold')::int",
                                &q, &r, "ending a task", err);
    if (st) return st;
    int fenced_out = PQntuples(r) == 0, is_fold = !fenced_out && srv__pg_int(r, 0, 0);
    PQclear(r);
    if (fenced_out) { /* nothing was written: the COMMIT is empty */
        a->end->fenced_out = 1;
        return NN_OK;
    }
    const char *run_id = a->t->run_id;
    int done_fold = a->result == SRV_TASK_DONE && is_fold, cancelled = 0;
    if (done_fold && a->out && a->out->checkpoint) {
        srv__pgq_init(&q);
        srv__pgq_text(&q, run_id);
        srv__pgq_int(&q, a->t->task);
        srv__pgq_text(&q, a->out->checkpoint);
        st = srv__pg_cmd(s,
                         "INSERT INTO checkpoints (run_id, task, json, created_at) "
                         "VALUES ($1, $2, $3, " SRV_PG_NOW ") ON CONFLICT (run_id, task) "
                         "DO UPDATE SET json = EXCLUDED.json, created_at = EXCLUDED.created_at",
                         &q, NULL, "storing a checkpoint", err);
    }
    const srv_task_output *o = a->out;
    if (!st && done_fold && o && o->state_len && o->state_key && o->state_len <= INT32_MAX) {
        srv__pgq_init(&q);
        srv__pgq_text(&q, run_id);
        srv__pgq_int(&q, a->t->task);
        srv__pgq_text(&q, o->state_key);
        srv__pgq_int(&q, o->state_epoch);
        srv__pgq_bin(&q, o->state, (int)o->state_len);
        st = srv__pg_cmd(s,
                         "INSERT INTO fold_states (run_id, task, key, epoch, state, created_at) "
                         "VALUES ($1, $2, $3, $4, $5, " SRV_PG_NOW ") ON CONFLICT (run_id, task) "
                         "DO UPDATE SET key = EXCLUDED.key, epoch = EXCLUDED.epoch, "
                         "state = EXCLUDED.state, created_at = EXCLUDED.created_at",
                         &q, NULL, "storing a fold state", err);
    }
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    if (!st && done_fold) /* the final fit's row before the run's: it may be promoted */
        st = srv__pg_cmd(s, "SELECT 1 FROM tasks WHERE run_id = $1 AND kind = 'final' FOR UPDATE",
                         &q, NULL, "locking the final fit", err);
    if (!st && a->result == SRV_TASK_FAILED) st = fail_run(s, run_id, a->error, &cancelled, err);
    if (!st) st = srv__pg_count_ends(s, run_id, 1 + cancelled, done_fold, a->end, err);
    return st;
}

nn_status srv__pg_queue_end_task(srv_store *s, const char *node, const srv_task_ref *t,
                                 srv_task_result result, const srv_task_output *out,
                                 const char *error, srv_task_end *end, nn_error *err) {
    end_arg a = {node, t, result, out, error, end};
    return srv__pg_tx(s, end_body, &a, err);
}

/* ---- cancel and release ---- */

typedef struct cancel_arg {
    const char *run_id;
    srv_run_status *was;
    srv_task_end *end;
} cancel_arg;

static nn_status cancel_body(srv_store *s, void *arg, nn_error *err) {
    cancel_arg *a = arg;
    memset(a->end, 0, sizeof *a->end);
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->run_id);
    nn_status st = srv__pg_cmd(s, "SELECT 1 FROM tasks WHERE run_id = $1 ORDER BY task FOR UPDATE",
                               &q, NULL, "locking the tasks of a run", err);
    PGresult *r = NULL;
    if (!st)
        st = srv__pg_exec(s, "SELECT status FROM runs WHERE id = $1", &q, &r, "reading a run", err);
    if (st) return st;
    int known = PQntuples(r) > 0 && srv_run_status_from_name(PQgetvalue(r, 0, 0), a->was);
    PQclear(r);
    if (!known) return nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", a->run_id);
    if (*a->was != SRV_RUN_QUEUED && *a->was != SRV_RUN_RUNNING) return NN_OK;
    int cancelled = 0;
    st = srv__pg_cancel_pending(s, a->run_id, &cancelled, err);
    if (!st)
        st = srv__pg_cmd(s, "UPDATE runs SET cancel_requested = 1 WHERE id = $1", &q, NULL,
                         "cancelling a run", err);
    if (!st) st = srv__pg_count_ends(s, a->run_id, cancelled, 0, a->end, err);
    return st;
}

nn_status srv__pg_queue_cancel_run(srv_store *s, const char *run_id, srv_run_status *was,
                                   srv_task_end *end, nn_error *err) {
    cancel_arg a = {run_id, was, end};
    return srv__pg_tx(s, cancel_body, &a, err);
}

typedef struct release_arg {
    const char *node;
    int released;
} release_arg;

/* The node's tasks back to the queue, their attempts given back; a run left with no task
 * running anywhere goes back to queued and gives back its start (as with SQLite). A run that
 * other nodes train stays running. */
static nn_status release_body(srv_store *s, void *arg, nn_error *err) {
    release_arg *a = arg;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->node);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "UPDATE tasks SET state = 'ready', owner = NULL, "
                                "lease_until = NULL, attempt = GREATEST(attempt - 1, 0), "
                                "epochs_done = 0 WHERE owner = $1 AND state = 'running' "
                                "RETURNING run_id",
                                &q, &r, "releasing tasks", err);
    if (st) return st;
    a->released = PQntuples(r);
    srv_pgbuf ids = {0};
    srv__pgbuf_str(&ids, "{");
    for (int i = 0; i < a->released; i++) {
        srv__pg_notify(s, SRV_PG_TASKS, PQgetvalue(r, i, 0));
        srv__pgbuf_printf(&ids, "%s%.32s", i ? "," : "", PQgetvalue(r, i, 0));
    }
    srv__pgbuf_str(&ids, "}");
    PQclear(r);
    srv_pgq k;
    srv__pgq_init(&k);
    srv__pgq_text(&k, ids.p);
    st = ids.nomem ? nn_error_set(err, NN_ERR_NOMEM, "out of memory")
                   : srv__pg_cmd(s,
                                 "UPDATE runs SET status = 'queued', started_at = NULL, "
                                 "attempts = GREATEST(attempts - 1, 0), "
                                 "progress = (SELECT LEAST(1.0, 1.0 * sum(epochs_done) / "
                                 "GREATEST(1, sum(epochs_total))) FROM tasks t "
                                 "WHERE t.run_id = runs.id) "
                                 "WHERE id = ANY($1::text[]) AND status = 'running' "
                                 "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE "
                                 "t.run_id = runs.id AND t.state = 'running')",
                                 &k, NULL, "re-queueing runs", err);
    srv__pgbuf_free(&ids);
    if (st) return st;
    return srv__pg_cmd(s, "DELETE FROM event_marks WHERE node = $1", &q, NULL,
                       "dropping the writer's mark", err);
}

nn_status srv__pg_queue_release(srv_store *s, const char *node, int *released, nn_error *err) {
    release_arg a = {node, 0};
    nn_status st = srv__pg_tx(s, release_body, &a, err);
    if (!st) *released = a.released;
    return st;
}

/* ---- reads ---- */

nn_status srv__pg_queue_depth(srv_store *s, int64_t *queued, int64_t *active, nn_error *err) {
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) "
                                "FROM runs WHERE status IN ('queued', 'running')",
                                NULL, &r, "counting queued runs", err);
    if (st) return st;
    *queued = srv__pg_int(r, 0, 0);
    *active = srv__pg_int(r, 0, 1);
    PQclear(r);
    return NN_OK;
}

nn_status srv__pg_queue_done_tasks(srv_store *s, const char *run_id, int **out, size_t *n,
                                   nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "SELECT task FROM tasks WHERE run_id = $1 AND state = 'done' "
                                "ORDER BY task",
                                &q, &r, "reading the tasks of a run", err);
    if (st) return st;
    int rows = PQntuples(r);
    int *t = rows ? malloc((size_t)rows * sizeof *t) : NULL;
    if (rows && !t) {
        PQclear(r);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < rows; i++) t[i] = (int)srv__pg_int(r, i, 0);
    PQclear(r);
    *out = t;
    *n = (size_t)rows;
    return NN_OK;
}
