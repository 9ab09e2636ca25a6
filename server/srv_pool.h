/* srv_pool.h — the training workers.
 *
 * DESIGN (the contract): a fixed pool of `workers` + `max_active` − 1 threads trains runs. A run
 * becomes a job when a thread claims it from the queue (srv_queue_claim) and loads its spec and
 * dataset; a job is split into tasks (one per fold, then the final fit: see nn_cv.h). A job runs
 * at most `workers` tasks at once (`workers` is normally the number of cores), so one 8-fold run
 * keeps every core busy, while the other threads stay free for the next runs: while fewer than
 * `max_active` runs train, a free thread claims a queued run before taking another task, and it
 * takes tasks from the job with the fewest running. Up to `max_active` runs therefore train side
 * by side and the kernel shares the cores among their threads (all at nice SRV_POOL_NICE) —
 * fairly, without waiting for a fold to end; further runs wait in the queue.
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

nn_status srv_pool_create(srv_app *app, int workers, int max_active, srv_pool **out, nn_error *err);
/* A run was queued: wakes an idle worker. */
void srv_pool_wake(srv_pool *pool);
/* Cancels an active job of this process; returns 1 if the run was active here. */
int srv_pool_cancel(srv_pool *pool, const char *run_id);
/* Counts for /metrics. */
void srv_pool_stats(srv_pool *pool, int *active_jobs, int *busy_workers);
/* Stops training (jobs are cancelled and re-queued), joins the workers and frees the pool. */
void srv_pool_destroy(srv_pool *pool);

#endif
