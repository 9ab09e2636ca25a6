/* srv_studies.h — storing hyperparameter studies (migrations/0005_studies.sql and
 * 0006_study_lease.sql; SQLite in srv_sqlite_studies.c, PostgreSQL in srv_pg_studies.c).
 *
 * DESIGN: a study row holds its document, its status and what the study driver
 * (engine/srv_study.h) last saved: the state machine's record, the leaderboard (JSON and CSV)
 * and the results (best trial, ensemble). The driver is the only writer of those; the HTTP layer
 * creates studies, reads them and sets cancel_requested. study_runs maps (study, trial, rung) to
 * the run that trains it.
 *
 * One driver per study: with a shared store (PostgreSQL, several nodes) a node drives a study
 * only while it holds the study's lease (srv_study_lease: owner node and expiry in the
 * database's clock), and its saves are fenced by it (srv_study_save.node): a node that stopped
 * past its lease writes no record, and another node takes the study over from the stored
 * record. An SQLite store has one process: the lease is always its own.
 */
#ifndef SRV_STUDIES_H
#define SRV_STUDIES_H

#include "srv_store.h"

typedef struct srv_study {
    char id[SRV_ID_LEN + 1];
    char dataset_id[SRV_ID_LEN + 1]; /* the rows searched */
    char holdout_id[SRV_ID_LEN + 1]; /* the rows set aside; "" without a holdout */
    char status[16];                 /* running, completed, failed, cancelled */
    char *name;                      /* owned */
    char *doc_json;                  /* owned: the study document (canonical) */
    char doc_hash[65];
    char *state_json;  /* owned; NULL before the driver's first save */
    char *board_json;  /* owned; NULL before the first save */
    char *board_csv;   /* owned; NULL before the first save */
    char *result_json; /* owned; NULL until the study ends */
    char *error;       /* owned; NULL unless failed or cancelled */
    int cancel_requested;
    int64_t created_at, finished_at;
} srv_study;

/* Inserts a running study (an empty id gets a fresh one, created_at now); the dataset must
 * exist (NN_ERR_NOT_FOUND "dataset <id> not found"). */
nn_status srv_study_create(srv_store *s, srv_study *st, nn_error *err);
/* NN_ERR_NOT_FOUND when absent. */
nn_status srv_study_get(srv_store *s, const char *id, srv_study *out, nn_error *err);
/* Newest first: [{"id","name","dataset","status","trials","created_at","finished_at","best"}]
 * (trials: the leaderboard's length; best: the results' best trial without its spec, or null). */
nn_status srv_study_list(srv_store *s, json_t **out, nn_error *err);
/* The ids of the running studies, oldest first; *ids malloc'd ((*n) × (SRV_ID_LEN + 1)). */
nn_status srv_study_running(srv_store *s, char **ids, size_t *n, nn_error *err);
/* What the driver saves, in one transaction: status, state, leaderboard, results and error
 * (NULL leaves a column as it is, except error) and events; finished_at is set when the status
 * is no longer running. */
typedef struct srv_study_save {
    const char *status;
    const char *state_json, *board_json, *board_csv, *result_json, *error;
    const srv_event *events; /* (n_events) appended in the same transaction; seq continues the
                                study's (srv_study_last_seq + 1, + 2 …) */
    size_t n_events;
    const char *node; /* fence: saved only while node holds the study's lease (NULL: no fence) */
} srv_study_save;
/* NN_ERR_CONFLICT "… lease …" when v->node no longer holds the lease (nothing is saved). */
nn_status srv_study_put(srv_store *s, const char *id, const srv_study_save *v, nn_error *err);
/* Takes or renews the lease of running study id for node, until lease_ms from now: when the
 * lease is free, expired, node's already, or held by an earlier process of node's data dir (the
 * same first SRV_NODE_STABLE characters: nnd.lock proves that process dead). *held = whether
 * node holds it now (0 as well when the study is no longer running). SQLite: always held. */
nn_status srv_study_lease(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                          int *held, nn_error *err);
/* Lets go of every study lease node holds (at shutdown: another node takes over at once). */
nn_status srv_study_lease_release(srv_store *s, const char *node, nn_error *err);
/* Whether a cancel was asked for the study (its row's one flag: the driver asks every step). */
nn_status srv_study_cancel_requested(srv_store *s, const char *id, int *requested, nn_error *err);
/* Sets cancel_requested on a running study; *running = whether it was running. */
nn_status srv_study_request_cancel(srv_store *s, const char *id, int *running, nn_error *err);
/* Deletes an ended study (its study_runs with it; the runs and the datasets stay):
 * NN_ERR_NOT_FOUND when absent, NN_ERR_CONFLICT "study <id> is running: cancel it first". */
nn_status srv_study_delete(srv_store *s, const char *id, nn_error *err);
/* The run of (study, trial, rung) into run_id, or NN_ERR_NOT_FOUND. */
nn_status srv_study_run_get(srv_store *s, const char *study_id, int trial, int rung,
                            char run_id[SRV_ID_LEN + 1], nn_error *err);
nn_status srv_study_run_put(srv_store *s, const char *study_id, int trial, int rung,
                            const char *run_id, nn_error *err);
/* The ids of every run of the study (*ids malloc'd, (*n) × (SRV_ID_LEN + 1)). */
nn_status srv_study_run_ids(srv_store *s, const char *study_id, char **ids, size_t *n,
                            nn_error *err);
/* The study's last event number (0 when none). */
nn_status srv_study_last_seq(srv_store *s, const char *id, int64_t *seq, nn_error *err);
/* Events with seq > after, at most limit (≤ 0 or above SRV_MAX_EVENT_PAGE: SRV_MAX_EVENT_PAGE),
 * in order; *out malloc'd (srv_events_free). */
nn_status srv_study_events(srv_store *s, const char *id, int64_t after, int limit, srv_event **out,
                           size_t *n, nn_error *err);
void srv_study_free(srv_study *st);

#endif
