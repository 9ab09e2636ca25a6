/* srv_running.h — the tasks this node is training now: the pool adds and removes them, training
 * reads their cancel flag between batches, the heartbeat (srv_lease.h) renews their leases and
 * stops the ones whose lease is lost or whose run is cancelled, and a cancel request stops a
 * run's tasks. An entry lives from the claim to the end of its training; flags are atomics, the
 * list is guarded by one mutex, never held while training or storing. */
#ifndef SRV_RUNNING_H
#define SRV_RUNNING_H

#include "srv_store.h"

#include <stdatomic.h>

typedef enum srv_stop_why {
    SRV_STOP_NONE,
    SRV_STOP_CANCEL,   /* the run is cancelled, or another of its tasks failed */
    SRV_STOP_LOST,     /* the lease is lost: another attempt owns the task */
    SRV_STOP_SHUTDOWN, /* nnd is stopping: the task is released, not ended */
} srv_stop_why;

typedef struct srv_running_task {
    srv_task_ref ref;
    atomic_int cancel;        /* nonzero: stop training (read between batches) */
    atomic_int why;           /* srv_stop_why of the first stop */
    atomic_llong epochs_done; /* progress, for the heartbeat */
    struct srv_running_task *next;
} srv_running_task;

typedef struct srv_running srv_running;

nn_status srv_running_create(srv_running **out, nn_error *err);
void srv_running_destroy(srv_running *r);
/* A new entry for claimed task ref (owned by r until srv_running_remove); NULL when out of
 * memory. */
srv_running_task *srv_running_add(srv_running *r, const srv_task_ref *ref);
void srv_running_remove(srv_running *r, srv_running_task *t);
/* Stops the matching tasks (run_id NULL: every run; task < 0: every task; attempt < 0: any)
 * for reason why; returns how many matched. */
int srv_running_stop(srv_running *r, const char *run_id, int task, int attempt, srv_stop_why why);
/* Copies of the running tasks' refs and progress: *refs and *epochs malloc'd, *n of them. */
nn_status srv_running_snapshot(srv_running *r, srv_task_ref **refs, int64_t **epochs, size_t *n,
                               nn_error *err);
/* Tasks running, and distinct runs among them. */
void srv_running_count(srv_running *r, int *tasks, int *runs);

#endif
