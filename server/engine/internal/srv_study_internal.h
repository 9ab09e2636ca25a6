/* srv_study_internal.h — what the study driver's files share (srv_study.c steps studies,
 * srv_study_runs.c queues and reads their runs and computes their results, srv_study_holdout.c
 * scores them on the rows set aside, srv_study_class.c does both for a classification,
 * srv_study_events.c says what changed). Not public. */
#ifndef SRV_STUDY_INTERNAL_H
#define SRV_STUDY_INTERNAL_H

#include "nn_study.h"
#include "srv_studies.h"

/* A rung handed out and the run that trains it. */
typedef struct srv__work {
    int trial, rung, last, until_epoch;
    char run_id[SRV_ID_LEN + 1];
} srv__work;

/* What the last save of a trial said (for the events of the next). */
typedef struct srv__seen {
    int status, reached, decided;
} srv__seen;

/* A running study held in memory. */
typedef struct srv__active {
    char id[SRV_ID_LEN + 1];
    char dataset[SRV_ID_LEN + 1];
    char holdout[SRV_ID_LEN + 1]; /* the rows set aside, "" without */
    nn_study_spec *spec;
    nn_study *st;
    srv__work *work; /* (n_work) in progress */
    size_t n_work;
    int fresh;       /* loaded since the last save */
    srv__seen *seen; /* (seen_n) of seen_cap: the trials at the last save */
    int seen_n, seen_cap, seen_status;
    int64_t seq;       /* the last event stored */
    int64_t leased_at; /* when this node last took or renewed the study's lease (monotonic ms) */
} srv__active;

/* The run of w: the one queued before for (study, trial, rung), or a new queued run of the
 * trial's spec cut to the rung (*created = 1). */
nn_status srv__work_run(srv_store *s, const srv__active *a, srv__work *w, int *created,
                        nn_error *err);
/* Reads w's run; when it has ended, reports it to the machine (*ended = 1). */
nn_status srv__work_report(srv_store *s, srv__active *a, const srv__work *w, int *ended,
                           nn_error *err);
/* A completed study's results as JSON text (malloc'd): the best trial (its run, values,
 * objective, spec) and the ensemble of the top trials (members, weights, out-of-fold scores). */
char *srv__study_results(srv_store *s, const srv__active *a, nn_error *err);

/* The best trial's and the ensemble's scores on the holdout dataset (a->holdout), from the
 * results' best run and ensemble members: {"dataset", "rows", "best", "ensemble"}. NULL with
 * err set when they cannot be had. (srv_study_holdout.c) */
json_t *srv__study_holdout(srv_store *s, const srv__active *a, const json_t *results,
                           nn_error *err);

/* A classification study's ensemble of the top trials (members[0 … m) by rank, their last
 * rungs' runs runs[0 … m)): selected by the study's objective over their stored out-of-fold
 * class probabilities; {"members", "candidates", "rounds", "rows", "metric", "objective_oof",
 * "oof" {accuracy, log_loss, …}, "best_trial_oof" {…}}. NULL with err set. */
json_t *srv__ensemble_class(srv_store *s, const srv__active *a, const int *members,
                            char (*runs)[SRV_ID_LEN + 1], int m, nn_error *err);
/* The ensemble's members as JSON: [{trial, run, count, weight}] for each of the m candidates
 * (members: trial indexes, runs: their runs) that greedy selection picked (counts[j] > 0), the
 * weight its share of the rounds. NULL when out of memory. (srv_study_class.c) */
json_t *srv__ensemble_members(const nn_study_spec *spec, const int *members,
                              char (*runs)[SRV_ID_LEN + 1], const int *counts, int m);
/* A classification study's holdout scores of the best run's model and of the ensemble members'
 * class probabilities averaged with their weights: {"rows", "best", "ensemble"}. NULL with err
 * set. (srv_study_class.c) */
json_t *srv__holdout_class(srv_store *s, const char *best, const json_t *members, const char *path,
                           nn_error *err);

/* The events from the last save (srv__study_mark) to the machine now, numbered after a->seq,
 * in trial order; *out malloc'd (srv_events_free). (srv_study_events.c) */
nn_status srv__study_diff(const srv__active *a, srv_event **out, size_t *n, nn_error *err);
/* The machine now is what was saved, up to event seq. */
nn_status srv__study_mark(srv__active *a, int64_t seq, nn_error *err);

#endif
