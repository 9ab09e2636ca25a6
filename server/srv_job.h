/* srv_job.h — one run being trained: loading, reports to events, results to the store. Jobs are
 * scheduled by srv_pool (see its DESIGN for the locking); this module does the rest. */
#ifndef SRV_JOB_H
#define SRV_JOB_H

#include "nn_cv.h"
#include "srv_app.h"

#include <stdatomic.h>

typedef struct srv_pending {
    int64_t seq;
    char type[16];
    char *data;
} srv_pending;

typedef struct srv_job {
    srv_app *app;
    char run_id[SRV_ID_LEN + 1];
    nn_spec *spec;
    nn_table *data;
    nn_cv *cv;
    atomic_int cancel;
    /* task counters, guarded by the pool's mutex */
    int n_folds, has_final;
    int next_fold, final_started, tasks_done, running;
    int pool_share;          /* the most tasks of this job running at once */
    unsigned char *restored; /* (n_folds) folds restored from checkpoints, not to run again */
    int stopping;            /* no new tasks: failed, cancelled or shutting down */
    int shutdown;            /* re-queue the run instead of finishing it */
    nn_status status;        /* why it stopped */
    nn_error err;
    /* events, guarded by evmu (reports come from several training threads) */
    pthread_mutex_t evmu;
    srv_pending *pending;
    size_t n_pending, cap_pending;
    int64_t last_flush_ms;
    int64_t epochs_done, epochs_total;
} srv_job;

/* Loads a claimed run (spec, dataset, job plan). On failure the run is finished as failed and
 * the returned job has no cv (destroy it); NULL only when out of memory. */
srv_job *srv_job_load(srv_app *app, srv_store *s, const char *run_id);
/* Writes the outcome: results (succeeded), failed/cancelled with the reason, or back to the
 * queue on shutdown; stores every pending event and closes the run in the hub. */
void srv_job_finish(srv_job *j);
void srv_job_destroy(srv_job *j);

/* Stores a finished fold's checkpoint (called by the worker that ran it). */
void srv_job_checkpoint(srv_job *j, int task);
/* Stores the pending events now. */
void srv_job_flush(srv_job *j);
/* Publishes an event of the job's run (data_take is consumed). */
void srv_job_event(srv_job *j, const char *type, json_t *data_take);

#endif
