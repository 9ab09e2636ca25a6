/* srv_queue.h — the task queue: which task a worker trains next, and what its end means.
 *
 * DESIGN: a run is split into task rows when it is created (migrations/0003_tasks.sql describes
 * a row's life). Workers claim tasks, not runs, in one statement: UPDATE … WHERE (run_id, task)
 * = (SELECT … ORDER BY … LIMIT 1) RETURNING, taking the ready task of the run with the fewest
 * running tasks first, then the oldest run, so runs share the workers; a node trains at most
 * cfg->per_run tasks of one run and cfg->max_runs runs at once. A claimed task carries a lease
 * (lease_until) that the node's heartbeat renews off the training threads (srv_queue_renew);
 * every write a task makes — its events (srv_store_events.c), its progress, its checkpoint and
 * its end — is fenced by (owner, attempt) and state 'running', so a task that lost its lease can
 * never write. A task's end updates its run's counters under the run row's write lock: the fold
 * that makes folds_done = n_folds promotes the final fit (exactly once), and the end that makes
 * tasks_ended = n_tasks hands the caller the run to finish (srv_task_end.run_over) — exactly one
 * caller gets it, whoever ended last. Leases that expire are reclaimed by any node
 * (srv_queue_reclaim, idempotent): the task is ready again after a backoff until it has been
 * claimed SRV_QUEUE_MAX_ATTEMPTS times, then it fails and fails its run. A clean shutdown
 * releases its tasks without counting the attempt (srv_queue_release).
 *
 * PostgreSQL (several nodes, READ COMMITTED): the claim's inner SELECT takes the task row FOR
 * UPDATE SKIP LOCKED, so concurrent claims never wait for or take the same row, and one node's
 * claims are serialized by a transaction-scoped advisory lock (its per-run and per-node limits
 * hold); leases are in the database's clock (clock_timestamp(), as ms), and the fence also
 * requires lease_until ≥ now, so a lease that expired can write nothing even before another
 * node reclaims it; reclaims lock the expired rows FOR UPDATE SKIP LOCKED, so each expired
 * task is reclaimed by exactly one node. Every transaction locks a run's task rows before its
 * run row, and one that still meets a deadlock or serialization failure is retried whole.
 */
#ifndef SRV_QUEUE_H
#define SRV_QUEUE_H

#include "srv_store.h"

#define SRV_QUEUE_MAX_ATTEMPTS 3
#define SRV_QUEUE_BACKOFF_MS 1000 /* a reclaimed task waits this × its attempts before a claim */

typedef struct srv_claim_cfg {
    const char *node; /* the claiming node (srv_ctx.node) */
    int64_t lease_ms; /* the lease a claim takes */
    int per_run;      /* the most tasks of one run this node runs at once */
    int max_runs;     /* the most runs this node trains at once */
} srv_claim_cfg;

/* Claims the next task for cfg->node: *found = 1 and *out filled, or *found = 0 when no task can
 * be claimed now. *run_started = the run's start count (≥ 1) when the claim moved it from queued
 * to running (its first task, or the first after a release or restart), else 0. */
nn_status srv_queue_claim(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                          int *run_started, nn_error *err);

typedef enum srv_lease_state {
    SRV_LEASE_HELD, /* renewed */
    SRV_LEASE_STOP, /* renewed, but the run is cancelled or failing: stop the task */
    SRV_LEASE_LOST, /* not ours any more: stop the task, write nothing */
} srv_lease_state;

/* Renews t's lease by lease_ms and records its progress (epochs_done ≥ 0; < 0 leaves it). */
nn_status srv_queue_renew(srv_store *s, const char *node, const srv_task_ref *t, int64_t lease_ms,
                          int64_t epochs_done, srv_lease_state *out, nn_error *err);

typedef enum srv_task_result { SRV_TASK_DONE, SRV_TASK_FAILED, SRV_TASK_CANCELLED } srv_task_result;

/* What a task's end means for its run. */
typedef struct srv_task_end {
    int fenced_out;         /* the task did not hold its lease: nothing was written */
    int run_over;           /* every task of the run has ended: the caller finishes the run */
    srv_run_status outcome; /* when run_over: succeeded, failed or cancelled */
    char error[256];        /* when failed: the first task failure's reason */
} srv_task_end;

/* What a done fold task leaves: its checkpoint (nn_cv_task_export as JSON), and, when its spec
 * stops at "stop_at", its fold state (nn_cv_task_state) under key (srv_fold_state_key), which a
 * longer run of the same trajectory continues from (srv_fold_state_find). */
typedef struct srv_task_output {
    const char *checkpoint; /* NULL: none (the final fit) */
    const unsigned char *state;
    size_t state_len; /* 0: no state */
    int state_epoch;
    const char *state_key;
} srv_task_output;

/* Ends running task t of node: done (a fold's output stored with it; out may be NULL), failed
 * (error; the run's other tasks that have not started are cancelled and the ones running are told
 * to stop at their next renewal) or cancelled. Fenced: nothing is written when t no longer holds
 * its lease (end->fenced_out). */
nn_status srv_queue_end_task(srv_store *s, const char *node, const srv_task_ref *t,
                             srv_task_result result, const srv_task_output *out, const char *error,
                             srv_task_end *end, nn_error *err);

/* Cancels run_id: cancel requested, its tasks that are not running are cancelled (a running
 * task stops at its owner's next look). *was = the run's status before; end->run_over when no
 * task of it is running any more (the caller finishes it). A finished run is left alone. */
nn_status srv_queue_cancel_run(srv_store *s, const char *run_id, srv_run_status *was,
                               srv_task_end *end, nn_error *err);

/* Puts node's running tasks back as ready without counting their attempt (a clean shutdown; they
 * will train from the start); runs left with no task running go back to queued and give back
 * their start. */
nn_status srv_queue_release(srv_store *s, const char *node, int *released, nn_error *err);

/* A task reclaimed by srv_queue_reclaim. */
typedef struct srv_reclaimed {
    srv_task_ref task;  /* its run, number and the attempt that expired */
    srv_task_result to; /* DONE here means "ready again"; FAILED: over the attempt limit;
                           CANCELLED: its run is cancelled or failing */
    srv_task_end end;   /* end.run_over: this reclaim ended the run (the caller finishes it) */
} srv_reclaimed;

/* How srv_queue_reclaim looks. */
typedef struct srv_reclaim_cfg {
    int restart;      /* at this process's start, before it claims anything */
    const char *node; /* this process's node id (srv_ctx.node) */
    int64_t lease_ms; /* the lease */
} srv_reclaim_cfg;

/* Reclaims running tasks whose lease has expired. At a restart it also reclaims, at once and
 * without a backoff, the tasks of this data dir's earlier processes: every running task for
 * SQLite (the only process), for a shared store those whose owner begins with the same
 * SRV_NODE_STABLE characters as cfg->node (nnd.lock proves that process dead); runs left with
 * nothing running then go back to queued, so their next start is counted. *out (malloc'd, *n of
 * them, NULL when none) lists what happened to each. Idempotent: a task is reclaimed by one
 * caller. A shared store also gives back their last task to runs whose every task ended more
 * than 2 × lease_ms ago without being finished (the node that was to finish them is gone), as
 * SQLite does for all of them at a restart. */
nn_status srv_queue_reclaim(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                            size_t *n, nn_error *err);

/* Number of queued runs (not started), and of runs queued or running. */
nn_status srv_queue_depth(srv_store *s, int64_t *queued, int64_t *active, nn_error *err);

/* The run's tasks that are done (for restoring their checkpoints): *out malloc'd task numbers. */
nn_status srv_queue_done_tasks(srv_store *s, const char *run_id, int **out, size_t *n,
                               nn_error *err);

#endif
