/* srv_lease.h — the heartbeat: keeps this node's leases, reclaims expired ones of any node.
 *
 * DESIGN: one thread, off the training threads, every lease/3: renews the lease of every task
 * this node trains (srv_running.h) with its progress — a task whose run was cancelled or is
 * failing is told to stop, a task whose lease is gone (another attempt owns it) is stopped and
 * writes nothing more; when the store has not answered for a whole lease, every task here is
 * stopped as lost, since another node may have reclaimed it by now. Then it reclaims expired
 * leases (srv_queue_reclaim): such tasks are ready again after a backoff (a `log` event of the
 * run says so), or fail past their attempts; a reclaim that ends a run finishes it
 * (srv_finish.h). srv_lease_recover does the same at start-up for every task a dead process
 * of this data dir left running, at once: every running task of an SQLite store (the only
 * process), or of a shared store those of this data dir's earlier processes and the expired.
 */
#ifndef SRV_LEASE_H
#define SRV_LEASE_H

#include "srv_job.h"
#include "srv_running.h"

typedef struct srv_lease srv_lease;

/* Tasks may have become ready: called with user after a reclaim that readied some. */
typedef void (*srv_lease_wake_fn)(void *user);

/* Starts the heartbeat with leases of lease_ms. */
nn_status srv_lease_create(const srv_job_env *env, srv_running *running, int64_t lease_ms,
                           srv_lease_wake_fn wake, void *user, srv_lease **out, nn_error *err);
void srv_lease_destroy(srv_lease *l);

/* Reclaims the expired leases now, and at a restart (all = 1) what this data dir's earlier
 * processes left running (srv_queue_reclaim); *readied and *ended count the runs that have
 * tasks ready again and the runs this ended. */
nn_status srv_lease_recover(const srv_job_env *env, srv_store *s, int all, int *readied, int *ended,
                            nn_error *err);

#endif
