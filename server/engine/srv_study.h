/* srv_study.h — the study driver: the one owner of every study's decisions.
 *
 * DESIGN: one thread, off the HTTP and training threads, wakes every SRV_STUDY_PERIOD_MS (or
 * when told: a study created or cancelled) and steps each running study of the store: it keeps
 * the study's state machine (lib/study nn_study) in memory, reads the runs of the work it handed
 * out, reports what ended (a rung's fold values, a completion, a failure), asks the machine for
 * more work and queues each piece as an ordinary run (any worker trains it), then saves the
 * machine's record, the leaderboard and, at the end, the results (best trial, ensemble). The
 * machine decides in trial order, so what is saved does not depend on which run ends first, on
 * the number of workers, or on restarts: a restarted nnd rebuilds the machine from the saved
 * record, and work it hands out again finds the run queued before (study_runs) instead of
 * queueing a new one.
 *
 * One driver per study: each node runs this thread, and it steps only the studies whose lease
 * it holds (srv_study_lease, renewed every --lease/3; on SQLite always its own). The others are
 * not held in memory; a study whose driver died is taken over once its lease has expired, the
 * machine rebuilt from the stored record as after a restart. Stopping lets the leases go.
 *
 * Rungs: rung r of a trial is a run of the trial's spec with "stop_at" set to the rung's epochs
 * (the first epochs of the full run, bit for bit: its schedule is over the full count) and
 * "final": "none" before the last rung (no refit for a rung that may be pruned). The engine keeps
 * no checkpoint of a fold in the middle of its training, so a promoted trial trains its next
 * rung from scratch: a trial costs the sum of its rungs' epochs rather than the last's.
 */
#ifndef SRV_STUDY_H
#define SRV_STUDY_H

#include "srv_studies.h"

#define SRV_STUDY_PERIOD_MS 300

typedef struct srv_study_driver srv_study_driver;

/* What the driver needs of the engine (which owns it). */
typedef struct srv_study_hooks {
    void (*wake)(void *user); /* runs were queued */
    /* cancels a run (srv_engine_cancel) */
    nn_status (*cancel)(void *user, srv_store *s, const char *run_id, nn_error *err);
    /* the study's record and its new events were stored (its event streams read them) */
    void (*saved)(void *user, const char *study_id);
    void *user;
} srv_study_hooks;

nn_status srv_study_driver_start(srv_ctx *ctx, const srv_study_hooks *hooks, srv_study_driver **out,
                                 nn_error *err);
/* Steps the studies now. */
void srv_study_driver_wake(srv_study_driver *d);
void srv_study_driver_stop(srv_study_driver *d);

#endif
