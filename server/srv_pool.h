/* srv_pool.h — the training workers.
 *
 * DESIGN (the contract): a fixed pool of worker threads trains runs. A run becomes a job when a
 * worker claims it from the queue (srv_queue_claim) and loads its spec and dataset; a job is
 * split into tasks (one per fold, then the final fit: see nn_cv.h), and workers take tasks from
 * the active jobs in round-robin order, so one 8-fold run keeps every worker busy and several
 * runs share the workers fairly. At most `workers` jobs are active at once; a worker claims a
 * new run only when no active job has a task to give.
 *
 * Ownership and locking: the pool owns its jobs; a job owns its spec, data, nn_cv and pending
 * events. pool->mu guards the job list and every job's task counters; it is never held while
 * training, loading or writing to the store. A job's reports arrive on the training threads
 * under nn_cv's own mutex; they go to the event hub at once and to the store in batches (every
 * SRV_POOL_FLUSH_EVENTS events or SRV_POOL_FLUSH_MS, and at each fold's end) through the
 * calling thread's own store connection. The thread that finishes a job's last task finalizes it:
 * results written in one transaction, the final status event stored, the hub's run closed.
 * Cancel sets the job's flag, which training reads between batches. Shutdown cancels every job
 * and puts its run back in the queue for the next start. Each finished fold is checkpointed
 * (srv_job_checkpoint) by the worker that ran it; a job loaded for a run with checkpoints
 * restores those folds and schedules only the others.
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include "srv_app.h"

#define SRV_POOL_FLUSH_EVENTS 64
#define SRV_POOL_FLUSH_MS 500
#define SRV_POOL_NICE 10 /* workers' nice: training yields to request handling */

nn_status srv_pool_create(srv_app *app, int workers, srv_pool **out, nn_error *err);
/* A run was queued: wakes an idle worker. */
void srv_pool_wake(srv_pool *pool);
/* Cancels an active job of this process; returns 1 if the run was active here. */
int srv_pool_cancel(srv_pool *pool, const char *run_id);
/* Counts for /metrics. */
void srv_pool_stats(srv_pool *pool, int *active_jobs, int *busy_workers);
/* Stops training (jobs are cancelled and re-queued), joins the workers and frees the pool. */
void srv_pool_destroy(srv_pool *pool);

#endif
