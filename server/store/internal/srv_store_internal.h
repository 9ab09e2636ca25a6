/* srv_store_internal.h — what the store's backends share: the handle every backend's connection
 * starts with, the table of operations a backend implements, and helpers of srv_store_util.c.
 *
 * DESIGN: srv_store.h is one interface with two backends chosen at run time by the --db
 * location: SQLite (srv_sqlite*.c, the embedded default) and PostgreSQL (srv_pg*.c, several
 * nnd processes on one database). A connection (srv_store) carries its backend's operations
 * table; the public functions (srv_store.c) only dispatch through it, so the two backends never
 * call each other and the engine and HTTP layers never know which one answers. The table below
 * is the whole contract: each entry has the meaning of the public function of the same name
 * in srv_store.h, srv_queue.h or srv_studies.h.
 */
#ifndef SRV_STORE_INTERNAL_H
#define SRV_STORE_INTERNAL_H

#include "srv_queue.h"
#include "srv_store.h"
#include "srv_studies.h"

struct sqlite3;
struct srv_pg;

typedef struct srv_store_ops {
    const char *name; /* "sqlite", "postgresql" */
    void (*close)(srv_store *s);
    /* datasets: file NULL stores the metadata only */
    nn_status (*dataset_put)(srv_store *s, srv_dataset *ds, const char *file, int *created,
                             nn_error *err);
    nn_status (*dataset_file)(srv_store *s, const char *sha256, char *path, size_t size,
                              nn_error *err);
    nn_status (*dataset_get)(srv_store *s, const char *id, srv_dataset *out, nn_error *err);
    nn_status (*dataset_list)(srv_store *s, json_t **out, nn_error *err);
    nn_status (*dataset_delete)(srv_store *s, const char *id, nn_error *err);
    /* runs */
    nn_status (*run_create)(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                            int64_t max_queued, int *created, nn_error *err);
    nn_status (*run_get)(srv_store *s, const char *id, srv_run *out, int as_text, nn_error *err);
    nn_status (*run_list)(srv_store *s, int status, const char *dataset, const char *cursor,
                          int limit, json_t **out, char **next_cursor, nn_error *err);
    nn_status (*run_finish)(srv_store *s, const char *id, const srv_run_outcome *o, nn_error *err);
    nn_status (*run_counts)(srv_store *s, long long counts[5], nn_error *err);
    /* events */
    nn_status (*events_put)(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                            size_t *dropped, nn_error *err);
    nn_status (*event_append)(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                              nn_error *err);
    nn_status (*event_list)(srv_store *s, const char *run_id, int64_t after, int limit,
                            srv_event **out, size_t *n, nn_error *err);
    nn_status (*event_last_seq)(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
    /* results */
    nn_status (*checkpoint_list)(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                                 nn_error *err);
    nn_status (*fold_state_find)(srv_store *s, const char *key, int task, int max_epoch,
                                 unsigned char **state, size_t *len, int *epoch, nn_error *err);
    nn_status (*fold_states_drop)(srv_store *s, const char *study_id, int trial, nn_error *err);
    nn_status (*prediction_page)(srv_store *s, const char *run_id, int64_t after_row, int64_t limit,
                                 srv_prediction **out, size_t *n, nn_error *err);
    nn_status (*history_start)(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
    nn_status (*model_get)(srv_store *s, const char *run_id, char **json_text, nn_error *err);
    /* the task queue */
    nn_status (*queue_claim)(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                             int *run_started, nn_error *err);
    nn_status (*queue_renew)(srv_store *s, const char *node, const srv_task_ref *t,
                             int64_t lease_ms, int64_t epochs_done, srv_lease_state *out,
                             nn_error *err);
    nn_status (*queue_end_task)(srv_store *s, const char *node, const srv_task_ref *t,
                                srv_task_result result, const srv_task_output *out,
                                const char *error, srv_task_end *end, nn_error *err);
    nn_status (*queue_cancel_run)(srv_store *s, const char *run_id, srv_run_status *was,
                                  srv_task_end *end, nn_error *err);
    nn_status (*queue_release)(srv_store *s, const char *node, int *released, nn_error *err);
    nn_status (*queue_reclaim)(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                               size_t *n, nn_error *err);
    nn_status (*queue_depth)(srv_store *s, int64_t *queued, int64_t *active, nn_error *err);
    nn_status (*queue_done_tasks)(srv_store *s, const char *run_id, int **out, size_t *n,
                                  nn_error *err);
    /* studies (srv_studies.h) */
    nn_status (*study_create)(srv_store *s, srv_study *st, nn_error *err);
    nn_status (*study_get)(srv_store *s, const char *id, srv_study *out, nn_error *err);
    nn_status (*study_list)(srv_store *s, json_t **out, nn_error *err);
    nn_status (*study_running)(srv_store *s, char **ids, size_t *n, nn_error *err);
    nn_status (*study_put)(srv_store *s, const char *id, const srv_study_save *v, nn_error *err);
    nn_status (*study_lease)(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                             int *held, nn_error *err);
    nn_status (*study_lease_release)(srv_store *s, const char *node, nn_error *err);
    nn_status (*study_cancel_requested)(srv_store *s, const char *id, int *requested,
                                        nn_error *err);
    nn_status (*study_request_cancel)(srv_store *s, const char *id, int *running, nn_error *err);
    nn_status (*study_delete)(srv_store *s, const char *id, nn_error *err);
    nn_status (*study_run_get)(srv_store *s, const char *study_id, int trial, int rung,
                               char run_id[SRV_ID_LEN + 1], nn_error *err);
    nn_status (*study_run_put)(srv_store *s, const char *study_id, int trial, int rung,
                               const char *run_id, nn_error *err);
    nn_status (*study_run_ids)(srv_store *s, const char *study_id, char **ids, size_t *n,
                               nn_error *err);
    nn_status (*study_last_seq)(srv_store *s, const char *id, int64_t *seq, nn_error *err);
    nn_status (*study_events)(srv_store *s, const char *id, int64_t after, int limit,
                              srv_event **out, size_t *n, nn_error *err);
} srv_store_ops;

/* A connection: its backend's table, the data dir, and the backend's own state (one of db, pg;
 * a handle is used by one thread at a time). */
struct srv_store {
    const srv_store_ops *ops;
    char *data_dir; /* owned */
    int shared;     /* several processes may use the database at once (PostgreSQL) */
    struct sqlite3 *db;
    struct srv_sq_stmts *stmts; /* the SQLite connection's prepared statements (srv_sqlite.c) */
    struct srv_pg *pg;
};

/* ---- srv_store_util.c: helpers of every backend ---- */

/* Milliseconds since the Unix epoch (this machine's clock). */
int64_t srv__now_ms(void);
const char *srv__run_status_sql(srv_run_status st);
/* Creates directory path (0700) unless it exists. */
nn_status srv__make_dir(const char *path, nn_error *err);
/* Creates data_dir and data_dir/datasets. */
nn_status srv__make_data_dir(const char *data_dir, nn_error *err);
/* A malloc'd copy of s (NULL when out of memory). */
char *srv__strdup(const char *s);
/* Whether db names a PostgreSQL database (postgres:// or postgresql://). */
int srv__is_pg_url(const char *db);

/* ---- backends: their entry points (srv_sqlite_ops.c, srv_pg_ops.c) ---- */

nn_status srv__sqlite_migrate(const char *data_dir, nn_error *err);
nn_status srv__sqlite_open(const char *data_dir, srv_store **out, nn_error *err);
nn_status srv__pg_migrate(const char *url, const char *data_dir, nn_error *err);
nn_status srv__pg_open(const char *url, const char *data_dir, srv_store **out, nn_error *err);

#endif
