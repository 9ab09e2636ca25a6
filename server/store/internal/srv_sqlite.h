/* srv_sqlite.h — what the SQLite backend's files (srv_sqlite*.c) share.
 *
 * Statements come from the connection's cache (srv__prepare) and go back to it (srv__finish, never
 * sqlite3_finalize); every write of more than one row runs between srv__begin (BEGIN IMMEDIATE, so
 * the write lock is taken up front and a WAL reader never has to be upgraded) and srv__commit, and
 * error paths call srv__rollback. srv__step retries SQLITE_BUSY/SQLITE_LOCKED a few times after the
 * busy timeout, so it must only be used for a statement's first step (a retry resets the
 * statement).
 * The backend's operations (srv__sq_*) have the meaning of the public functions of the same name.
 */
#ifndef SRV_SQLITE_H
#define SRV_SQLITE_H

#include "srv_store_internal.h"

#include <sqlite3.h>

/* Sets err from the connection's last error: "<context>: <sqlite3_errmsg>". The code says what
 * happened: SQLITE_BUSY/LOCKED → NN_ERR_BUSY ("database is busy"), SQLITE_FULL (or an I/O error
 * from ENOSPC/EDQUOT) → NN_ERR_FULL, SQLITE_NOMEM → NN_ERR_NOMEM, a foreign key that names no
 * row → NN_ERR_NOT_FOUND, a unique or primary key taken → NN_ERR_CONFLICT, other constraints →
 * NN_ERR_INVALID, anything else NN_ERR_IO. Returns the status. */
nn_status srv__db_error(srv_store *s, int rc, nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A statement for sql: the connection's cached one when it is free, else a new one. */
nn_status srv__prepare(srv_store *s, const char *sql, sqlite3_stmt **out, nn_error *err);
/* Gives a statement from srv__prepare back: reset for the next caller, or finalized. */
void srv__finish(srv_store *s, sqlite3_stmt *st);
/* The first sqlite3_step of a statement, retried on SQLITE_BUSY/SQLITE_LOCKED. */
int srv__step(sqlite3_stmt *st);
/* Runs one statement without results (e.g. a PRAGMA), with the busy retries. */
nn_status srv__exec(srv_store *s, const char *sql, nn_error *err);

nn_status srv__begin(srv_store *s, nn_error *err);
/* Commits; on failure rolls back and sets err. */
nn_status srv__commit(srv_store *s, nn_error *err);
/* Rolls back the open transaction, if any; never fails (errors are the caller's, already set). */
void srv__rollback(srv_store *s);

/* Binds text, or NULL when text is NULL. */
int srv__bind_text(sqlite3_stmt *st, int idx, const char *text);
/* A malloc'd copy of a text column, or NULL for SQL NULL (and on allocation failure: check
 * sqlite3_column_type first when NULL is a legal value). */
char *srv__column_dup(sqlite3_stmt *st, int col);
/* Copies a text column into buf (truncating), "" for NULL. */
void srv__column_copy(sqlite3_stmt *st, int col, char *buf, size_t size);

/* Inside a write transaction: inserts one event (srv_sqlite_events.c). */
nn_status srv__insert_event(srv_store *s, const char *run_id, const srv_event *e, nn_error *err);

/* srv_sqlite.c: a connection to data_dir/nnd.db with the per-connection settings (create: make
 * the file), and the migration. */
nn_status srv__sq_connect(const char *data_dir, int create, srv_store **out, nn_error *err);
nn_status srv__sq_check_version(srv_store *s, nn_error *err);
void srv__sq_close(srv_store *s);

/* srv_sqlite_datasets.c */
nn_status srv__sq_dataset_put(srv_store *s, srv_dataset *ds, const char *file, int *created,
                              nn_error *err);
nn_status srv__sq_dataset_file(srv_store *s, const char *sha256, char *path, size_t size,
                               nn_error *err);
nn_status srv__sq_dataset_get(srv_store *s, const char *id, srv_dataset *out, nn_error *err);
nn_status srv__sq_dataset_list(srv_store *s, json_t **out, nn_error *err);
nn_status srv__sq_dataset_delete(srv_store *s, const char *id, nn_error *err);
/* srv_sqlite_runs.c */
nn_status srv__sq_run_create(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                             int64_t max_queued, int *created, nn_error *err);
nn_status srv__sq_run_get(srv_store *s, const char *id, srv_run *out, int as_text, nn_error *err);
nn_status srv__sq_run_list(srv_store *s, int status, const char *dataset, const char *cursor,
                           int limit, json_t **out, char **next_cursor, nn_error *err);
nn_status srv__sq_run_counts(srv_store *s, long long counts[5], nn_error *err);
/* srv_sqlite_results.c */
nn_status srv__sq_run_finish(srv_store *s, const char *id, const srv_run_outcome *o, nn_error *err);
nn_status srv__sq_fold_state_find(srv_store *s, const char *key, int task, int max_epoch,
                                  unsigned char **state, size_t *len, int *epoch, nn_error *err);
nn_status srv__sq_fold_states_drop(srv_store *s, const char *study_id, int trial, nn_error *err);
nn_status srv__sq_checkpoint_list(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                                  nn_error *err);
nn_status srv__sq_prediction_page(srv_store *s, const char *run_id, int64_t after_row,
                                  int64_t limit, srv_prediction **out, size_t *n, nn_error *err);
nn_status srv__sq_history_start(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
nn_status srv__sq_model_get(srv_store *s, const char *run_id, char **json_text, nn_error *err);
/* srv_sqlite_events.c */
nn_status srv__sq_events_put(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                             size_t *dropped, nn_error *err);
nn_status srv__sq_event_append(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                               nn_error *err);
nn_status srv__sq_event_list(srv_store *s, const char *run_id, int64_t after, int limit,
                             srv_event **out, size_t *n, nn_error *err);
nn_status srv__sq_event_last_seq(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
/* srv_sqlite_queue.c */
nn_status srv__sq_queue_claim(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                              int *run_started, nn_error *err);
nn_status srv__sq_queue_renew(srv_store *s, const char *node, const srv_task_ref *t,
                              int64_t lease_ms, int64_t epochs_done, srv_lease_state *out,
                              nn_error *err);
nn_status srv__sq_queue_end_task(srv_store *s, const char *node, const srv_task_ref *t,
                                 srv_task_result result, const srv_task_output *out,
                                 const char *error, srv_task_end *end, nn_error *err);
nn_status srv__sq_queue_cancel_run(srv_store *s, const char *run_id, srv_run_status *was,
                                   srv_task_end *end, nn_error *err);
nn_status srv__sq_queue_release(srv_store *s, const char *node, int *released, nn_error *err);
nn_status srv__sq_queue_reclaim(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                                size_t *n, nn_error *err);
nn_status srv__sq_queue_depth(srv_store *s, int64_t *queued, int64_t *active, nn_error *err);
nn_status srv__sq_queue_done_tasks(srv_store *s, const char *run_id, int **out, size_t *n,
                                   nn_error *err);

/* srv_sqlite_studies.c */
nn_status srv__sq_study_create(srv_store *s, srv_study *st, nn_error *err);
nn_status srv__sq_study_get(srv_store *s, const char *id, srv_study *out, nn_error *err);
nn_status srv__sq_study_list(srv_store *s, json_t **out, nn_error *err);
nn_status srv__sq_study_running(srv_store *s, char **ids, size_t *n, nn_error *err);
nn_status srv__sq_study_put(srv_store *s, const char *id, const srv_study_save *v, nn_error *err);
nn_status srv__sq_study_lease(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                              int *held, nn_error *err);
nn_status srv__sq_study_lease_release(srv_store *s, const char *node, nn_error *err);
nn_status srv__sq_study_cancel_requested(srv_store *s, const char *id, int *requested,
                                         nn_error *err);
nn_status srv__sq_study_request_cancel(srv_store *s, const char *id, int *running, nn_error *err);
nn_status srv__sq_study_delete(srv_store *s, const char *id, nn_error *err);
nn_status srv__sq_study_run_get(srv_store *s, const char *study_id, int trial, int rung,
                                char run_id[SRV_ID_LEN + 1], nn_error *err);
nn_status srv__sq_study_run_put(srv_store *s, const char *study_id, int trial, int rung,
                                const char *run_id, nn_error *err);
nn_status srv__sq_study_run_ids(srv_store *s, const char *study_id, char **ids, size_t *n,
                                nn_error *err);
nn_status srv__sq_study_last_seq(srv_store *s, const char *id, int64_t *seq, nn_error *err);
nn_status srv__sq_study_events(srv_store *s, const char *id, int64_t after, int limit,
                               srv_event **out, size_t *n, nn_error *err);

#endif
