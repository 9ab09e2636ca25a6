/* srv_finish.h — the one place that finishes a run, and the run's own events.
 *
 * DESIGN: a run ends when its last task ends (srv_queue.h: exactly one caller learns it, from
 * srv_task_end.run_over) — a worker whose task succeeded, failed or was cancelled, the heartbeat
 * that reclaimed an expired task past its attempts, or a cancel request that found nothing
 * running. Each of them calls srv_finish_run and nothing else writes a run's outcome: the queued
 * events are stored first (srv_evwriter_flush), then the results (when it succeeded: the job
 * aggregates every fold, restoring from checkpoints those trained elsewhere), the final status
 * event, the run's status and the deletion of its task rows and checkpoints go into one
 * transaction, and the hub closes the run so its streams finish from the store.
 */
#ifndef SRV_FINISH_H
#define SRV_FINISH_H

#include "srv_job.h"
#include "srv_queue.h"

/* Finishes run_id as end says (end->run_over must be set). job is the run's loaded job, needed
 * when end->outcome is succeeded (NULL otherwise is fine). */
void srv_finish_run(const srv_job_env *env, srv_store *s, const char *run_id,
                    const srv_task_end *end, srv_job *job);

/* Publishes an event of the run itself (not of a task), opening the run in the hub after its
 * stored events when this process does not publish it yet. data_take is consumed. */
void srv_run_event(const srv_job_env *env, srv_store *s, const char *run_id, const char *type,
                   json_t *data_take);

#endif
