/* srv_store.h — nnd's storage: datasets, runs, events, predictions and models.
 *
 * DESIGN: one interface, two backends chosen at run time by the database location (--db):
 *
 * - SQLite (the default, embedded): one database file `nnd.db` in the data dir, WAL mode, foreign
 *   keys on, a busy timeout with bounded retries; one nnd process per data dir (nnd.lock).
 *   Uploaded CSV files live next to the database as datasets/<sha256>.csv.
 * - PostgreSQL (`postgres://USER@HOST:PORT/DB`): several nnd processes ("nodes") on several
 *   machines share one database, each serving the whole API and training tasks. Uploaded CSV
 *   files are stored in the database (chunked bytea, committed with their row) and cached by
 *   each node in its data dir as datasets/<sha256>.csv, verified by their SHA-256 when fetched.
 *   Leases are in the database's clock; event numbers are allocated by the inserting
 *   transaction (srv_events_put), so several nodes can write events of one run.
 *
 * Either way a connection (srv_store handle) belongs to one thread at a time; srv_stores keeps
 * one per thread, opened on first use — for PostgreSQL that is the node's connection pool. Schema
 * changes are the numbered files in migrations/ (SQLite) and migrations/pg/ (PostgreSQL, the
 * same numbers), compiled into the binary and applied in order inside one transaction at
 * start-up by srv_store_migrate; a database newer than the binary is refused. Every multi-row
 * write (a batch of events, a run's results) is one transaction, so a crash leaves either all of
 * it or none. Times are milliseconds since the Unix epoch; ids are 32 lowercase hex characters.
 * Backends implement internal/srv_store_internal.h's table; this header is the contract.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include "srv_ctx.h"

#include <jansson.h>
#include <stdint.h>

#define SRV_MAX_DATASET_NAME 128
#define SRV_MAX_EVENT_PAGE 1000 /* most events srv_event_list returns at once */

typedef struct srv_store srv_store;

typedef struct srv_dataset {
    char id[SRV_ID_LEN + 1];
    char name[SRV_MAX_DATASET_NAME + 1];
    char sha256[65];
    int64_t rows;
    int64_t bytes;
    int64_t created_at;
    json_t *columns; /* owned: [{"name","type","missing","min","max","mean","sd"}] */
} srv_dataset;

typedef enum srv_run_status {
    SRV_RUN_QUEUED,
    SRV_RUN_RUNNING,
    SRV_RUN_SUCCEEDED,
    SRV_RUN_FAILED,
    SRV_RUN_CANCELLED,
} srv_run_status;

typedef struct srv_run {
    char id[SRV_ID_LEN + 1];
    char dataset_id[SRV_ID_LEN + 1];
    srv_run_status status;
    double progress; /* 0..1 */
    json_t *spec;    /* owned: canonical spec */
    char spec_hash[65];
    char *spec_name;                             /* owned */
    json_t *metrics;                             /* owned; NULL until succeeded */
    char *error;                                 /* owned; NULL unless failed/cancelled */
    int64_t created_at, started_at, finished_at; /* 0 = not yet */
    int attempts; /* times the run was started (a clean shutdown's release gives one back) */
    int cancel_requested;
    int n_folds, n_tasks;    /* its task rows: folds, then the final fit when there is one */
    int64_t epochs_per_task; /* epochs × ensemble: the most epochs one task trains */
    char *spec_text;         /* owned; filled (and spec/metrics left NULL) by srv_run_get_text */
    char *metrics_text;      /* owned; NULL until succeeded */
} srv_run;

/* A claimed task: the run, the task number and the attempt that fences its writes (the task
 * queue is srv_queue.h). */
typedef struct srv_task_ref {
    char run_id[SRV_ID_LEN + 1];
    int task;
    int attempt;
} srv_task_ref;

typedef struct srv_event {
    int64_t seq;   /* 1, 2, 3 … per run */
    char type[16]; /* status, epoch, fold, log */
    char *data;    /* owned JSON text */
} srv_event;

/* One out-of-fold prediction of one target. */
typedef struct srv_prediction {
    int64_t row;              /* 1-based data row */
    int fold;                 /* 1-based */
    const char *id;           /* the spec's id column value, or NULL */
    int target;               /* 0-based target index */
    double actual, predicted; /* a classification's: class indices (actual NaN without label) */
    const char *probs; /* a classification's class probabilities, a JSON array in class order;
                          NULL for a regression (owned like id: by srv_prediction_list's caller,
                          borrowed when stored) */
} srv_prediction;

const char *srv_run_status_name(srv_run_status s);
/* 1 and *out set when name is a status, 0 otherwise. */
int srv_run_status_from_name(const char *name, srv_run_status *out);

/* Where a store lives: db is NULL or "" for SQLite in data_dir/nnd.db, or a PostgreSQL URL
 * (postgres://USER@HOST:PORT/DB, or postgresql://; libpq's query parameters allowed); data_dir
 * holds the SQLite file or the PostgreSQL node's cache of dataset files, and uploads in tmp/. */

/* Creates the data dir layout if missing and applies pending migrations (PostgreSQL: in one
 * transaction under an advisory lock, so nodes starting together migrate once). Refuses a
 * database whose schema is newer than the binary's last migration. */
nn_status srv_store_migrate(const char *db, const char *data_dir, nn_error *err);
/* The schema version this nnd migrates to (the number of its last migration). */
int srv_store_schema_version(void);
/* Whether a store call that failed with st may succeed when tried again — a busy database, a
 * full disk, an I/O error, out of memory — rather than never (invalid, not found, a conflict
 * with what is stored). Retry loops decide by this, not by a message. */
int srv_store_transient(nn_status st);
/* Opens a connection for the calling thread; *out owned by the caller. A PostgreSQL connection
 * sets keepalives, statement_timeout, lock_timeout and idle_in_transaction_session_timeout, and
 * is reset on its next use when it broke; while the server cannot be reached its calls fail with
 * NN_ERR_UNAVAILABLE (503 + Retry-After). */
nn_status srv_store_open(const char *db, const char *data_dir, srv_store **out, nn_error *err);
void srv_store_close(srv_store *s);
/* Whether several nnd processes may share the store (PostgreSQL): then event numbers come from
 * the store (srv_events_put), a node reclaims only expired leases at start-up, and streams learn
 * of other nodes' events through srv_listen.h. */
int srv_store_shared(const srv_store *s);
/* The backend's name: "sqlite" or "postgresql". */
const char *srv_store_backend(const srv_store *s);

/* Per-thread connections: srv_stores_get returns the calling thread's connection, opened on
 * first use and closed when the thread exits (or by srv_stores_destroy for the thread that
 * calls it). A connection is never shared between threads. */
nn_status srv_stores_create(const char *db, const char *data_dir, srv_stores **out, nn_error *err);
srv_store *srv_stores_get(srv_stores *st, nn_error *err);
void srv_stores_destroy(srv_stores *st);
/* srv_store_shared of the stores' backend. */
int srv_stores_shared(const srv_stores *st);
/* The calling thread's connection of ctx->stores; NULL with err set on failure. */
srv_store *srv_ctx_store(srv_ctx *ctx, nn_error *err);

/* Takes the data dir's lock file (nnd.lock) for this process: one nnd per data dir (the SQLite
 * database, or a PostgreSQL node's dataset cache and uploads).
 * NN_ERR_IO "… is used by another nnd (pid N)" when another process holds it. *fd is kept open
 * for the process's life (the lock goes with it). */
nn_status srv_store_lock_dir(const char *data_dir, int *fd, nn_error *err);
/* A fresh random id (32 hex chars from /dev/urandom). */
nn_status srv_new_id(char out[SRV_ID_LEN + 1], nn_error *err);
/* The path of a dataset's CSV file for sha256 in this node's data dir (caller's buffer); the
 * file may be absent on a PostgreSQL node that has not needed it yet: see srv_dataset_file. */
void srv_dataset_path(const srv_store *s, const char *sha256, char *buf, size_t size);
const char *srv_store_data_dir(const srv_store *s);

/* datasets */
/* Inserts ds, or finds the dataset with the same sha256: *created tells which; ds is filled from
 * the stored row either way (its columns replaced). An empty ds->id gets a fresh id, a zero
 * created_at the current time. Stores the metadata only (tests): see srv_dataset_put_file. */
nn_status srv_dataset_put(srv_store *s, srv_dataset *ds, int *created, nn_error *err);
/* The same with the dataset's content, the file at `file` (ds->sha256 must be its SHA-256): for
 * SQLite it is renamed to srv_dataset_path after the row is stored (a concurrent delete of the
 * same content waits for the insert, so it cannot remove the file); for PostgreSQL it is stored
 * in the database with the row, in one transaction (never half visible), then kept as this
 * node's cached copy. `file` is consumed (renamed or removed) whatever the outcome. */
nn_status srv_dataset_put_file(srv_store *s, srv_dataset *ds, const char *file, int *created,
                               nn_error *err);
/* The dataset file of sha256 in this node's data dir, its path in path[size]: for PostgreSQL
 * fetched from the database into the cache when missing there (written to a temporary file,
 * its SHA-256 checked, then renamed into place). NN_ERR_NOT_FOUND when no stored dataset has
 * that content. */
nn_status srv_dataset_file(srv_store *s, const char *sha256, char *path, size_t size,
                           nn_error *err);
/* NN_ERR_NOT_FOUND when absent. */
nn_status srv_dataset_get(srv_store *s, const char *id, srv_dataset *out, nn_error *err);
/* Newest first; a JSON array (new reference) of dataset summaries without columns. */
nn_status srv_dataset_list(srv_store *s, json_t **out, nn_error *err);
/* Deletes the dataset and its file; NN_ERR_NOT_FOUND when absent, NN_ERR_CONFLICT ("dataset is
 * used by run <id> (status queued)") when a queued or running run uses it; runs that finished keep
 * their results and lose only the dataset link. A file that cannot be removed (other than already
 * missing) is NN_ERR_IO and the dataset stays. */
nn_status srv_dataset_delete(srv_store *s, const char *id, nn_error *err);
void srv_dataset_free(srv_dataset *ds);

/* runs */
/* Creates a queued run with its task rows (run->n_folds folds, then a final fit when
 * run->n_tasks > n_folds; each of run->epochs_per_task epochs). An empty run->id gets a fresh
 * id, a zero created_at the current time; an empty dataset_id means none, any other must name
 * a stored dataset (NN_ERR_NOT_FOUND "dataset <id> not found").
 * With an idempotency key: the same key and request hash returns the existing run (*created = 0,
 * and *run is replaced by the stored row, its owned fields freed first); the same key with
 * another request hash is NN_ERR_CONFLICT ("Idempotency-Key reused with a different request"). */
nn_status srv_run_create(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                         int *created, nn_error *err);
/* The same, refusing a new run with NN_ERR_TOO_MANY when max_queued runs (> 0) are queued
 * already: the count and the insert are one transaction, so the limit holds however many
 * requests race. A replay of an idempotency key is never refused. */
nn_status srv_run_create_queued(srv_store *s, srv_run *run, const char *idem_key,
                                const char *req_hash, int64_t max_queued, int *created,
                                nn_error *err);
/* NN_ERR_NOT_FOUND when absent. */
nn_status srv_run_get(srv_store *s, const char *id, srv_run *out, nn_error *err);
/* The same with the spec and metrics as their stored JSON text instead of parsed values (for
 * answers that pass them through: no parse and re-print on every read). */
nn_status srv_run_get_text(srv_store *s, const char *id, srv_run *out, nn_error *err);
/* Newest first, optionally filtered by status (-1 = any) and dataset (NULL = any), starting after
 * the cursor (an opaque string from a previous page, or NULL; a malformed one is NN_ERR_INVALID
 * "invalid cursor"); limit ≤ 0 means 50, above 200 means 200. *out is a JSON array of run
 * summaries {"id","dataset","status","progress","name","spec_hash","created_at","started_at",
 * "finished_at","r2","rmse","mae","accuracy","log_loss","task"} (null where unset; r2, rmse, mae,
 * accuracy, log_loss and task are the metrics' top-level values) and *next_cursor (malloc'd, or
 * NULL when this page is the last). */
nn_status srv_run_list(srv_store *s, int status, const char *dataset, const char *cursor, int limit,
                       json_t **out, char **next_cursor, nn_error *err);
/* How a run ended, for srv_run_finish. */
typedef struct srv_run_outcome {
    srv_run_status status;       /* succeeded, failed or cancelled */
    const json_t *metrics;       /* succeeded; may be NULL */
    const char *error;           /* failed, cancelled; may be NULL */
    const srv_prediction *preds; /* (n_preds) out-of-fold predictions; may be NULL */
    size_t n_preds;
    const char *model_json;       /* may be NULL */
    const srv_event *final_event; /* stored in the same transaction; may be NULL */
} srv_run_outcome;

/* Marks a queued or running run finished with its outcome, atomically with its predictions,
 * model and final event (numbered by the store when its seq is 0: shared stores), and deletes
 * its task rows and checkpoints; finished_at is now,
 * progress becomes 1 on success. A run that has already finished is NN_ERR_CONFLICT ("… has
 * already finished (status …)"), an unknown run NN_ERR_NOT_FOUND, and nothing is written. */
nn_status srv_run_finish(srv_store *s, const char *id, const srv_run_outcome *o, nn_error *err);
/* Runs by status (indexed by srv_run_status). */
nn_status srv_run_counts(srv_store *s, long long counts[5], nn_error *err);
void srv_run_free(srv_run *run);

/* events */
/* One event to store: its run and sequence number (0 in a shared store: numbered when stored),
 * type and JSON data, and the task of node that published it (fence; NULL for an event of the
 * run itself) with that task's progress (epochs_done; < 0 when the event says nothing about
 * it). */
typedef struct srv_event_put {
    const char *run_id;
    int64_t seq;
    const char *type; /* non-empty, shorter than 16 */
    const char *data;
    const srv_task_ref *fence;
    int64_t epochs_done;
    int64_t gen; /* the writer's number of the event: increasing per node, 0 = none; a shared
                    store keeps the node's highest stored, so a batch retried after a commit that
                    was not acknowledged (the connection broke) is not stored twice */
} srv_event_put;

/* Stores events in one transaction, with the progress they carry (the task's epochs_done and
 * the run's progress). An event whose task no longer holds its lease writes nothing of its own:
 * with numbers given (SQLite) it is stored as a `log` event saying it was dropped, so a run's
 * sequence numbers stay contiguous; unnumbered (shared stores) it is left out and the others
 * get the next numbers of their runs, allocated in this transaction (commit order is number
 * order), after which other nodes are notified (srv_listen.h). *dropped counts them. A sequence
 * number already stored is NN_ERR_INVALID and nothing of the batch is written. */
nn_status srv_events_put(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                         size_t *dropped, nn_error *err);
/* Appends unfenced events to a run in one transaction; seq numbers must continue the run's
 * sequence (last seq + 1, + 2 …) and types be non-empty and shorter than 16: otherwise
 * NN_ERR_INVALID and nothing of the batch is written. An unknown run is NN_ERR_NOT_FOUND. */
nn_status srv_event_append(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                           nn_error *err);
/* Events with seq > after, at most limit (≤ 0 or above SRV_MAX_EVENT_PAGE means
 * SRV_MAX_EVENT_PAGE), in order; *out malloc'd array of *n events (NULL when none). A run
 * without events, or an unknown run, gives none. */
nn_status srv_event_list(srv_store *s, const char *run_id, int64_t after, int limit,
                         srv_event **out, size_t *n, nn_error *err);
nn_status srv_event_last_seq(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
void srv_events_free(srv_event *events, size_t n);

/* checkpoints: finished folds of a run still training (see nn_cv_task_export); written with
 * the task's completion (srv_queue_end_task) */
typedef struct srv_checkpoint {
    int task;
    char *json; /* owned */
} srv_checkpoint;

/* The run's checkpoints by task; *out malloc'd (free with srv_checkpoints_free). */
nn_status srv_checkpoint_list(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                              nn_error *err);
void srv_checkpoints_free(srv_checkpoint *c, size_t n);

/* fold states (migrations/0007_fold_states.sql): where the folds of a run with "stop_at" stopped,
 * stored with their task's end (srv_task_output) under a key of the dataset and the spec's
 * trajectory (nn_spec_trajectory), written by srv_fold_state_key into SRV_FOLD_KEY_LEN + 1
 * bytes. */
#define SRV_FOLD_KEY_LEN (SRV_ID_LEN + 1 + 64)
void srv_fold_state_key(const char *dataset_id, const char *trajectory, char *out);
/* The furthest state of key's fold task at an epoch ≤ max_epoch: *state (malloc'd) of *len
 * bytes at *epoch; NN_ERR_NOT_FOUND when there is none. */
nn_status srv_fold_state_find(srv_store *s, const char *key, int task, int max_epoch,
                              unsigned char **state, size_t *len, int *epoch, nn_error *err);
/* Drops the fold states of the runs of study_id's trial (trial < 0: of all its trials). */
nn_status srv_fold_states_drop(srv_store *s, const char *study_id, int trial, nn_error *err);

/* results */
/* Predictions of a run ordered by row then target; rows of *out are malloc'd (ids included).
 * Values come back bit-exact as stored by srv_run_finish, except that a NaN comes back as a
 * quiet NaN and -0.0 as 0 (SQLite's REAL storage). */
nn_status srv_prediction_list(srv_store *s, const char *run_id, srv_prediction **out, size_t *n,
                              nn_error *err);
/* The same for the rows after after_row, at most limit entries (limit < 0: all): a page. */
nn_status srv_prediction_page(srv_store *s, const char *run_id, int64_t after_row, int64_t limit,
                              srv_prediction **out, size_t *n, nn_error *err);
void srv_predictions_free(srv_prediction *p, size_t n);
/* The sequence number of the run's last "running" status event (the start of its last
 * attempt; a run restarted after a crash trains again from scratch), 0 when none. */
nn_status srv_history_start(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
/* The model JSON text (malloc'd) or NN_ERR_NOT_FOUND. */
nn_status srv_model_get(srv_store *s, const char *run_id, char **json_text, nn_error *err);

#endif
