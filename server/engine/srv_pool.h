/* srv_pool.h — the training workers.
 *
 * DESIGN (the contract): a fixed pool of `workers` + `max_active` − 1 threads, each looping:
 * claim a task (srv_queue_claim: one statement; the run with the fewest running tasks first,
 * then the oldest; at most `workers` tasks of one run and `max_active` runs on this node), get
 * its run's job (loaded on first use and kept, least recently used first out, while tasks of the
 * run may come), train it, then end it in the store (fenced: a task that lost its lease writes
 * nothing) and — when it was the run's last task — finish the run (srv_finish.h). Nothing else
 * decides a task's end. A task trains with its own cancel flag (srv_running.h), which a cancel
 * request, the failure of another task of the run, the heartbeat (lease lost, run cancelled) or
 * shutdown sets; training reads it between batches. Workers run as SCHED_IDLE threads (nice
 * SRV_POOL_NICE where that is refused), so request handling, the event writer and the heartbeat
 * always go first: a busy API slows training, training does not slow the API.
 * The claim that starts a run (queued → running) announces it — its `status` event, its skipped
 * rows — before any other task of the run claimed on this node trains: claims are taken under
 * pool->claim_mu, and that claim marks the run's job entry loading before the lock is let go, so
 * later tasks of the run wait for the announcement (on several nodes another node's task may
 * still report an epoch first: events of one run are ordered per node).
 *
 * Ownership and locking: the pool owns its jobs; pool->mu guards the job cache (entries,
 * references, loading) and is never held while training, loading or storing. A job in use by a
 * thread holds a reference and is freed only when its last reference goes and it is evicted or
 * its run is over. Lock order: claim → pool → (job events) → hub → writer; claim_mu is held over
 * the claim statement only.
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include "srv_job.h"
#include "srv_running.h"

#define SRV_POOL_NICE 10 /* workers' nice where SCHED_IDLE is refused */

typedef struct srv_pool srv_pool;

typedef struct srv_pool_cfg {
    int workers;      /* the most tasks of one run at once (normally the number of cores) */
    int max_active;   /* the most runs at once */
    int64_t lease_ms; /* the lease of a claim */
} srv_pool_cfg;

/* Starts the threads; env and running are borrowed and must outlive the pool. */
nn_status srv_pool_create(const srv_job_env *env, srv_running *running, const srv_pool_cfg *cfg,
                          srv_pool **out, nn_error *err);
/* Tasks may be ready (a run was queued, a lease reclaimed): idle workers look now. */
void srv_pool_wake(srv_pool *pool);
/* Jobs loaded and workers training, for /metrics. */
void srv_pool_stats(srv_pool *pool, int *jobs, int *busy);
/* Stops: running tasks are stopped as for shutdown (left running in the store, to be released
 * by the caller), the threads joined, the jobs freed. */
void srv_pool_destroy(srv_pool *pool);

#endif
