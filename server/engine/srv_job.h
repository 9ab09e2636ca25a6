/* srv_job.h — one run loaded on this node: its spec, its dataset and its nn_cv job; trains its
 * tasks, turns their reports into events, exports checkpoints and, at the end, its results.
 *
 * DESIGN: a job is opaque. The pool (srv_pool.h) loads it when it claims a task of a run it does
 * not hold and keeps it while tasks of that run may come (several tasks of one job train at
 * once on different threads: nn_cv lets distinct tasks run concurrently). Reports arrive on the
 * training threads under nn_cv's mutex; each becomes an event that is numbered and fanned out by
 * the hub and queued for the event writer — both in memory, so training never waits for the
 * database — under the job's event lock, so a run's events reach the writer in number order.
 * Epoch events are thinned to about --max-epoch-events per run (every stride-th epoch, and the
 * first and last of each network); fold, status and log events are all kept. A job
 * restores the folds it does not hold from their checkpoints before the final fit and before
 * the results (those folds may have trained in an earlier process, or on another node).
 * With a shared store events are queued unnumbered (the store numbers them) and the run is not
 * opened in the hub.
 */
#ifndef SRV_JOB_H
#define SRV_JOB_H

#include "srv_evwriter.h"
#include "srv_hub.h"
#include "srv_queue.h"
#include "srv_running.h"

#include <jansson.h>

#define SRV_JOB_MAX_EPOCH_EVENTS 100000 /* default of --max-epoch-events */

typedef struct srv_job srv_job;

/* What a job publishes through. */
typedef struct srv_job_env {
    srv_ctx *ctx;
    srv_hub *hub;
    srv_evwriter *writer;
} srv_job_env;

/* Loads run_id: its stored spec and dataset (fetched from a shared store into this node's cache
 * when missing), its nn_cv job; opens the run in the hub after its stored events (unless the
 * store is shared). A spec or dataset that cannot be read is an error naming it. */
nn_status srv_job_load(const srv_job_env *env, srv_store *s, const char *run_id, srv_job **out,
                       nn_error *err);
void srv_job_destroy(srv_job *j);
const char *srv_job_run_id(const srv_job *j);
int srv_job_n_folds(const srv_job *j);
int srv_job_n_tasks(const srv_job *j);
size_t srv_job_n_rows(const srv_job *j);

/* Publishes an event of the run (data_take consumed), fenced by task fence (NULL: the run's). */
void srv_job_event(srv_job *j, const srv_task_ref *fence, const char *type, json_t *data_take);
/* A "log" event counting the rows without a target (left out, predicted), if there are any. */
void srv_job_log_skipped(srv_job *j, const srv_task_ref *fence);

/* Imports the checkpoints of the run's done tasks that this job does not hold; *restored counts
 * them (a `log` event, fenced by fence, names them). */
nn_status srv_job_restore(srv_job *j, srv_store *s, const srv_task_ref *fence, int *restored,
                          nn_error *err);

/* Before fold task fence->task trains: hands the job the furthest fold state stored under the
 * run's key (dataset and trajectory) at or before the epoch it trains to, so that it continues
 * from there; a "log" event (fenced by fence) says from which epoch, or why a stored state was
 * not used (the fold then trains from epoch 1; the result is the same). */
void srv_job_continue(srv_job *j, srv_store *s, const srv_task_ref *fence);
/* A done fold's state for its end (nn_cv_task_state): out->state malloc'd (the caller frees
 * it), out->state_key the job's; 0 when the fold has none. */
int srv_job_state(srv_job *j, int task, srv_task_output *out);

/* Trains claimed task rt->ref (reading rt->cancel between batches, counting rt->epochs_done). */
nn_status srv_job_train(srv_job *j, srv_running_task *rt, nn_error *err);

/* The checkpoint of fold task `task` that ran or was restored here (malloc'd JSON text). */
char *srv_job_checkpoint(srv_job *j, int task, nn_error *err);

/* What a succeeded run stores. */
typedef struct srv_job_results {
    json_t *metrics;
    srv_prediction *preds; /* (n_preds) */
    size_t n_preds;
    char **ids; /* the id column's values the predictions point into, owned */
    size_t n_ids;
    char **probs; /* a classification's probabilities (JSON) the predictions point into, owned */
    size_t n_probs;
    char *model_json; /* NULL with "final": "none" */
} srv_job_results;

/* Aggregates every task (nn_cv_finish) into metrics, out-of-fold predictions and the model. */
nn_status srv_job_results_get(srv_job *j, srv_job_results *out, nn_error *err);
void srv_job_results_free(srv_job_results *r);

#endif
