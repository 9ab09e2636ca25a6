/* srv_queue.h — the job queue: which run a worker trains next.
 *
 * DESIGN: the queue is durable and lives in the store (for SQLite, the runs table: a queued run
 * is a row with status 'queued'), so that a restart loses no submitted run and several nnd
 * processes can later share one PostgreSQL queue (claim there becomes SELECT … FOR UPDATE SKIP
 * LOCKED). Claiming is atomic: one UPDATE … RETURNING moves the oldest queued run to 'running'
 * and stamps the claim, so two workers never take the same run. At start-up srv_queue_recover
 * handles runs left 'running' by a process that died: each is re-queued (training is
 * deterministic, so a rerun reproduces the same numbers) until it has been claimed
 * SRV_QUEUE_MAX_ATTEMPTS times, after which it fails with a reason.
 */
#ifndef SRV_QUEUE_H
#define SRV_QUEUE_H

#include "srv_store.h"

#define SRV_QUEUE_MAX_ATTEMPTS 3

/* Claims the oldest queued run: *found = 1 and run_id filled, or *found = 0 when empty. */
nn_status srv_queue_claim(srv_store *s, char run_id[SRV_ID_LEN + 1], int *found, nn_error *err);
/* Number of queued runs. */
nn_status srv_queue_depth(srv_store *s, int64_t *depth, nn_error *err);
/* Re-queues or fails runs left running by a dead process; *requeued and *failed count them. A
 * run whose cancel had been requested ends cancelled instead, and counts as failed. */
nn_status srv_queue_recover(srv_store *s, int *requeued, int *failed, nn_error *err);

/* Puts a running run back in the queue without counting the attempt: nnd is shutting down
 * cleanly and the run will start again at the next start. */
nn_status srv_queue_release(srv_store *s, const char *run_id, nn_error *err);

#endif
