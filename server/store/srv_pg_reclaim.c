/* srv_pg_reclaim.c — expired leases and runs left unfinished, reclaimed by any node of a
 * PostgreSQL store (see srv_queue.h).
 *
 * DESIGN: there is no leader: every node's heartbeat calls this, and each expired task is
 * reclaimed by exactly one of them — the SELECT locks the expired rows FOR UPDATE SKIP LOCKED,
 * so concurrent reclaimers split them, and each UPDATE is conditional on the attempt it saw.
 * A reclaimed task is ready again after a backoff in the database's clock, or fails past
 * SRV_QUEUE_MAX_ATTEMPTS, or is cancelled when its run is stopping. Then a sweep repairs what
 * the lack of one writer can leave behind, each repair conditional so it happens once:
 * - a stopping run (cancelled or failing) whose tasks were readied by a reclaim that had not
 *   seen it stop yet: its pending tasks are cancelled (the run ends when they all have);
 * - a run whose every task ended more than 2 × lease ago without being finished: the node that
 *   was finishing it is gone. A stopping one is finished by this caller (it takes the run by
 *   moving ended_at); one that succeeded gets its last task back as ready, since the final
 *   fit's model lived only in the dead node's memory.
 * At a restart the tasks of this data dir's earlier processes are reclaimed too, at once, and
 * runs left with no task running anywhere go back to queued (their next start is counted), as
 * SQLite does at its restart; otherwise nothing here moves a run back to queued.
 */
#include "srv_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const result_state[] = {"done", "failed", "cancelled"};

typedef struct reclaim_arg {
    const srv_reclaim_cfg *cfg;
    srv_reclaimed *r;
    size_t n, cap;
} reclaim_arg;

static srv_reclaimed *add(reclaim_arg *a) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 8;
        srv_reclaimed *r = realloc(a->r, cap * sizeof *r);
        if (!r) return NULL;
        a->r = r;
        a->cap = cap;
    }
    srv_reclaimed *x = &a->r[a->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static nn_status run_stopping(srv_store *s, const char *run_id, int *stopping, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "SELECT (cancel_requested <> 0 OR error IS NOT NULL)::int "
                                "FROM runs WHERE id = $1",
                                &q, &r, "reading a run", err);
    if (st) return st;
    *stopping = PQntuples(r) > 0 && srv__pg_int(r, 0, 0);
    PQclear(r);
    return NN_OK;
}

/* One expired task (locked by this transaction) to ready (after a backoff unless its process is
 * known dead: early), failed or cancelled. */
static nn_status reclaim_one(srv_store *s, srv_reclaimed *x, int early, nn_error *err) {
    if (x->to == SRV_TASK_DONE) {
        int stopping = 0;
        nn_status st = run_stopping(s, x->task.run_id, &stopping, err);
        if (st) return st;
        if (stopping) x->to = SRV_TASK_CANCELLED;
    }
    char error[200];
    (void)snprintf(error, sizeof error,
                   "task %d: its worker stopped %d times while training it (lease expired); "
                   "giving up",
                   x->task.task + 1, x->task.attempt);
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, x->task.run_id);
    srv__pgq_int(&q, x->task.task);
    srv__pgq_int(&q, x->task.attempt);
    srv__pgq_text(&q, x->to == SRV_TASK_DONE ? "ready" : result_state[x->to]);
    srv__pgq_int(&q, early ? 0 : (int64_t)SRV_QUEUE_BACKOFF_MS * x->task.attempt);
    srv__pgq_text(&q, x->to == SRV_TASK_FAILED ? error : NULL);
    int changed = 0;
    nn_status st = srv__pg_cmd(s,
                               "UPDATE tasks SET state = $4, owner = NULL, lease_until = NULL, "
                               "not_before = " SRV_PG_NOW " + $5, error = $6, "
                               "epochs_done = CASE WHEN $4 = 'ready' THEN 0 ELSE epochs_done END "
                               "WHERE run_id = $1 AND task = $2 AND attempt = $3 "
                               "AND state = 'running'",
                               &q, &changed, "reclaiming a task", err);
    if (st || !changed) return st;
    if (x->to == SRV_TASK_DONE) {
        srv__pg_notify(s, SRV_PG_TASKS, x->task.run_id);
        return NN_OK;
    }
    int cancelled = 0;
    if (x->to == SRV_TASK_FAILED) {
        st = srv__pg_cancel_pending(s, x->task.run_id, &cancelled, err);
        srv__pgq_init(&q);
        srv__pgq_text(&q, x->task.run_id);
        srv__pgq_text(&q, error);
        if (!st)
            st = srv__pg_cmd(s, "UPDATE runs SET error = coalesce(error, $2) WHERE id = $1", &q,
                             NULL, "failing a run", err);
    }
    if (!st) st = srv__pg_count_ends(s, x->task.run_id, 1 + cancelled, 0, &x->end, err);
    return st;
}

/* The runs of a[first..] with no task running any more go back to queued (a restart: their
 * next start is counted, as with SQLite). */
static nn_status requeue_idle(srv_store *s, reclaim_arg *a, size_t first, nn_error *err) {
    srv_pgbuf ids = {0};
    srv__pgbuf_str(&ids, "{");
    for (size_t i = first; i < a->n; i++)
        srv__pgbuf_printf(&ids, "%s%.32s", i > first ? "," : "", a->r[i].task.run_id);
    srv__pgbuf_str(&ids, "}");
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, ids.p);
    nn_status st = ids.nomem ? nn_error_set(err, NN_ERR_NOMEM, "out of memory")
                             : srv__pg_cmd(s,
                                           "UPDATE runs SET status = 'queued', started_at = NULL, "
                                           "progress = (SELECT LEAST(1.0, 1.0 * sum(epochs_done) / "
                                           "GREATEST(1, sum(epochs_total))) FROM tasks t "
                                           "WHERE t.run_id = runs.id) "
                                           "WHERE id = ANY($1::text[]) AND status = 'running' "
                                           "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE "
                                           "t.run_id = runs.id AND t.state = 'running')",
                                           &q, NULL, "re-queueing runs", err);
    srv__pgbuf_free(&ids);
    return st;
}

/* The expired tasks, and at a restart those of this data dir's earlier processes ("early":
 * their lease has not run out, but nnd.lock proves their owner dead). */
static nn_status expired(srv_store *s, reclaim_arg *a, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_int(&q, a->cfg->restart && a->cfg->node);
    srv__pgq_text(&q, a->cfg->node ? a->cfg->node : "");
    srv__pgq_int(&q, SRV_NODE_STABLE);
    PGresult *r = NULL;
    nn_status st =
        srv__pg_exec(s,
                     "SELECT run_id, task, attempt, (lease_until >= " SRV_PG_NOW ")::int "
                     "FROM tasks WHERE state = 'running' AND (lease_until < " SRV_PG_NOW
                     " OR ($1 = 1 AND left(owner, $3) = left($2, $3) AND owner <> $2)) "
                     "ORDER BY run_id, task FOR UPDATE SKIP LOCKED",
                     &q, &r, "finding expired leases", err);
    if (st) return st;
    size_t first = a->n;
    int *early = calloc((size_t)PQntuples(r) + 1, sizeof *early);
    for (int i = 0; early && i < PQntuples(r); i++) {
        srv_reclaimed *x = add(a);
        if (!x) break;
        srv__pg_copy(r, i, 0, x->task.run_id, sizeof x->task.run_id);
        x->task.task = (int)srv__pg_int(r, i, 1);
        x->task.attempt = (int)srv__pg_int(r, i, 2);
        x->to = x->task.attempt >= SRV_QUEUE_MAX_ATTEMPTS ? SRV_TASK_FAILED : SRV_TASK_DONE;
        early[i] = (int)srv__pg_int(r, i, 3);
    }
    int complete = early && a->n - first == (size_t)PQntuples(r);
    PQclear(r);
    if (!complete) {
        free(early);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reclaiming tasks");
    }
    for (size_t i = first; !st && i < a->n; i++)
        st = reclaim_one(s, &a->r[i], early[i - first], err);
    free(early);
    if (!st && a->cfg->restart && a->n > first) st = requeue_idle(s, a, first, err);
    return st;
}

/* A run that succeeded but was not finished: its last task again (once: conditional on its
 * state), its counters taken back. */
static nn_status reopen_last(srv_store *s, const char *run_id, srv_reclaimed *x, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "UPDATE tasks SET state = 'ready', not_before = 0, epochs_done = 0 "
                                "WHERE run_id = $1 AND state IN ('done', 'failed', 'cancelled') "
                                "AND task = (SELECT max(task) FROM tasks WHERE run_id = $1) "
                                "RETURNING (kind = 'fold')::int",
                                &q, &r, "reopening a task", err);
    if (st) return st;
    int changed = PQntuples(r) > 0, fold = changed && srv__pg_int(r, 0, 0);
    PQclear(r);
    if (!changed) return NN_OK;
    x->to = SRV_TASK_DONE;
    st = srv__pg_count_ends(s, run_id, -1, fold ? -1 : 0, &x->end, err);
    x->end.run_over = 0;
    srv__pg_notify(s, SRV_PG_TASKS, run_id);
    return st;
}

static nn_status sweep(srv_store *s, reclaim_arg *a, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_int(&q, 2 * a->cfg->lease_ms);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(
        s,
        "SELECT id, (cancel_requested <> 0 OR error IS NOT NULL)::int, "
        "(tasks_ended >= n_tasks AND ended_at < " SRV_PG_NOW " - $1)::int "
        "FROM runs WHERE status IN ('queued', 'running') AND n_tasks > 0 AND "
        "(((cancel_requested <> 0 OR error IS NOT NULL) AND EXISTS (SELECT 1 FROM tasks t "
        "WHERE t.run_id = runs.id AND t.state IN ('ready', 'waiting'))) OR "
        "(tasks_ended >= n_tasks AND ended_at < " SRV_PG_NOW " - $1))",
        &q, &r, "finding unfinished runs", err);
    if (st) return st;
    int rows = PQntuples(r);
    for (int i = 0; !st && i < rows; i++) {
        const char *id = PQgetvalue(r, i, 0);
        int stopping = (int)srv__pg_int(r, i, 1), stale = (int)srv__pg_int(r, i, 2);
        srv_reclaimed x;
        memset(&x, 0, sizeof x);
        (void)snprintf(x.task.run_id, sizeof x.task.run_id, "%s", id);
        x.task.task = -1;
        x.to = SRV_TASK_CANCELLED;
        if (stopping) {
            int cancelled = 0, taken = 0;
            st = srv__pg_cancel_pending(s, id, &cancelled, err);
            srv__pgq_init(&q);
            srv__pgq_text(&q, id);
            srv__pgq_int(&q, 2 * a->cfg->lease_ms);
            if (!st && stale) /* finish it here: move its timer so no other node does */
                st = srv__pg_cmd(s,
                                 "UPDATE runs SET ended_at = " SRV_PG_NOW " WHERE id = $1 "
                                 "AND ended_at < " SRV_PG_NOW " - $2",
                                 &q, &taken, "taking an unfinished run", err);
            if (!st) st = srv__pg_count_ends(s, id, cancelled, 0, &x.end, err);
            x.end.run_over = x.end.run_over && (cancelled > 0 || taken > 0);
            if (!cancelled && !taken) continue;
        } else {
            st = reopen_last(s, id, &x, err);
            continue; /* readied: nothing for the caller to finish */
        }
        srv_reclaimed *y = st ? NULL : add(a);
        if (!st && !y) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        if (y) *y = x;
    }
    PQclear(r);
    return st;
}

static nn_status reclaim_body(srv_store *s, void *arg, nn_error *err) {
    reclaim_arg *a = arg;
    a->n = 0;
    nn_status st = expired(s, a, err);
    if (!st) st = sweep(s, a, err);
    return st;
}

nn_status srv__pg_queue_reclaim(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                                size_t *n, nn_error *err) {
    reclaim_arg a = {cfg, NULL, 0, 0};
    nn_status st = srv__pg_tx(s, reclaim_body, &a, err);
    if (st) {
        free(a.r);
        return st;
    }
    *out = a.r;
    *n = a.n;
    return NN_OK;
}
