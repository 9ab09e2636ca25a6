/* srv_pg.h — what the PostgreSQL backend's files (srv_pg*.c) share.
 *
 * One libpq connection per srv_store handle (so per thread: srv_stores is the node's connection
 * pool), with keepalives and server-side timeouts set at connect (srv_pg.c). A connection that
 * broke is reset on its next use; while the server cannot be reached calls fail with
 * NN_ERR_UNAVAILABLE. Statements are sent with PQexecParams, their parameters as text
 * (srv_pgq), results read as text (numbers round-trip exactly: PostgreSQL prints the shortest
 * exact form of a float8). A write is a body function run by srv__pg_tx between BEGIN and
 * COMMIT, run again whole when PostgreSQL aborts it for a deadlock or a serialization failure;
 * NOTIFYs the body asks for (srv__pg_notify) are sent after COMMIT, one per channel and run,
 * never inside the writing transaction (a NOTIFY holds a global lock while its transaction
 * commits). Lock order in every transaction: a run's task rows, then its run row.
 * The backend's operations (srv__pg_*) have the meaning of the public functions of the same name.
 */
#ifndef SRV_PG_H
#define SRV_PG_H

#include "srv_store_internal.h"

#include <libpq-fe.h>

#define SRV_PG_CHUNK ((size_t)1 << 20)    /* bytes of a dataset_chunks row */
#define SRV_PG_STATEMENT_TIMEOUT_MS 30000 /* statement_timeout */
#define SRV_PG_LOCK_TIMEOUT_MS 10000      /* lock_timeout: a lock wait past it is "busy" */
#define SRV_PG_IDLE_TX_TIMEOUT_MS                                                                  \
    15000 /* idle_in_transaction_session_timeout: a node that                                      \
             stops mid-transaction (SIGSTOP) releases its locks */
#define SRV_PG_CONNECT_TIMEOUT_S "5"
#define SRV_PG_TX_TRIES 6 /* a transaction aborted by a deadlock or serialization failure */
#define SRV_PGQ_MAX 16    /* parameters of one statement */
#define SRV_PG_NOTIFY_MAX 64

#define SRV_STR_(x) #x
#define SRV_STR(x) SRV_STR_(x)

/* The database's clock in ms, as SQL. */
#define SRV_PG_NOW "nnd_now_ms()"

/* Channels of LISTEN/NOTIFY; the payload is a run id. */
#define SRV_PG_CHANNEL_EVENTS "nnd_events" /* the run has new events */
#define SRV_PG_CHANNEL_TASKS "nnd_tasks"   /* the run has tasks ready */

struct srv_pg {
    PGconn *conn;
    char *url;        /* owned */
    char sqlstate[6]; /* of the last error ("" when none) */
    int in_tx;        /* between srv__pg_tx's BEGIN and its end */
    /* NOTIFYs asked for in the open transaction, sent after its COMMIT: (n_notify) channel kind
       and run id; past SRV_PG_NOTIFY_MAX one NOTIFY with an empty payload ("any run") */
    int notify_kind[SRV_PG_NOTIFY_MAX];
    char notify_run[SRV_PG_NOTIFY_MAX][SRV_ID_LEN + 1];
    int n_notify;
    int notify_any[2];
};

/* Parameters of one statement ($1, $2 … in the order added), as text (or binary for bytea). */
typedef struct srv_pgq {
    const char *v[SRV_PGQ_MAX];
    int len[SRV_PGQ_MAX];
    int fmt[SRV_PGQ_MAX];
    char num[SRV_PGQ_MAX][32];
    int n;
} srv_pgq;

void srv__pgq_init(srv_pgq *q);
void srv__pgq_text(srv_pgq *q, const char *text); /* NULL is SQL NULL */
void srv__pgq_int(srv_pgq *q, int64_t x);
void srv__pgq_real(srv_pgq *q, double x); /* exact; NaN and ±Infinity as PostgreSQL spells them */
void srv__pgq_bin(srv_pgq *q, const void *data, int len);

/* A growable byte buffer (COPY data, array literals). */
typedef struct srv_pgbuf {
    char *p;
    size_t len, cap;
    int nomem;
} srv_pgbuf;

void srv__pgbuf_add(srv_pgbuf *b, const char *s, size_t n);
void srv__pgbuf_str(srv_pgbuf *b, const char *s);
void srv__pgbuf_printf(srv_pgbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A field of COPY's text format: backslash, tab, newline and carriage return escaped; NULL is
 * \N. */
void srv__pgbuf_copy_field(srv_pgbuf *b, const char *s);
void srv__pgbuf_free(srv_pgbuf *b);

/* Sets err from a failed result (or the connection's error when res is NULL): "<what>: <the
 * server's message>", coded by SQLSTATE: a broken connection or a server shutting down or
 * starting → NN_ERR_UNAVAILABLE, lock and statement timeouts → NN_ERR_BUSY, disk full →
 * NN_ERR_FULL, out of memory → NN_ERR_NOMEM, a unique key taken → NN_ERR_CONFLICT, a foreign key
 * naming no row → NN_ERR_NOT_FOUND, other constraints → NN_ERR_INVALID, anything else
 * NN_ERR_IO. Remembers the SQLSTATE (for srv__pg_tx). Returns the status. */
nn_status srv__pg_error(srv_store *s, const PGresult *res, const char *what, nn_error *err);

/* The connection, reset when it broke; NN_ERR_UNAVAILABLE when the server cannot be reached. */
nn_status srv__pg_ready(srv_store *s, nn_error *err);
/* Runs sql with q's parameters (q may be NULL). On success *out (may be NULL: cleared) is the
 * result, to PQclear. Outside a transaction a statement whose connection broke before it ran is
 * sent again once on a fresh connection (reads and BEGIN only are sent so). */
nn_status srv__pg_exec(srv_store *s, const char *sql, const srv_pgq *q, PGresult **out,
                       const char *what, nn_error *err);
/* The same for a statement whose result columns are read in binary (bytea). */
nn_status srv__pg_exec_bin(srv_store *s, const char *sql, const srv_pgq *q, PGresult **out,
                           const char *what, nn_error *err);
/* A statement without rows to read; *changed = rows it changed (may be NULL). */
nn_status srv__pg_cmd(srv_store *s, const char *sql, const srv_pgq *q, int *changed,
                      const char *what, nn_error *err);
/* COPY … FROM STDIN with data in COPY's text format. */
nn_status srv__pg_copy_in(srv_store *s, const char *sql, const char *data, size_t len,
                          const char *what, nn_error *err);

/* Runs body(s, arg, err) in a transaction (see the DESIGN above): commits when it returns
 * NN_OK, rolls back otherwise. */
typedef nn_status (*srv_pg_body)(srv_store *s, void *arg, nn_error *err);
nn_status srv__pg_tx(srv_store *s, srv_pg_body body, void *arg, nn_error *err);
/* The same in a read-only REPEATABLE READ transaction: a consistent snapshot. */
nn_status srv__pg_read_tx(srv_store *s, srv_pg_body body, void *arg, nn_error *err);
/* Inside a body: after COMMIT, notify channel kind (SRV_PG_EVENTS, SRV_PG_TASKS) of run_id
 * (once per transaction however often asked). */
enum { SRV_PG_EVENTS, SRV_PG_TASKS };
void srv__pg_notify(srv_store *s, int kind, const char *run_id);

/* Result columns. */
int64_t srv__pg_int(const PGresult *r, int row, int col); /* 0 for NULL */
double srv__pg_real(const PGresult *r, int row, int col); /* NaN for NULL */
int srv__pg_null(const PGresult *r, int row, int col);
void srv__pg_copy(const PGresult *r, int row, int col, char *buf, size_t size); /* "" for NULL */
char *srv__pg_dup(const PGresult *r, int row, int col); /* malloc'd; NULL for NULL or no memory */

/* srv_pg.c: connections and the migration */
nn_status srv__pg_connect(const char *url, const char *data_dir, srv_store **out, nn_error *err);
nn_status srv__pg_check_version(srv_store *s, nn_error *err);
nn_status srv__pg_do_migrate(srv_store *s, nn_error *err);
void srv__pg_close(srv_store *s);
/* Drops the server's notices (libpq prints them on stderr otherwise). */
void srv__pg_quiet(PGconn *conn);
/* libpq connection keywords and values for url (NULL-terminated, static; url last). */
void srv__pg_conninfo(const char *url, const char *keys[12], const char *values[12]);

/* srv_pg_datasets.c */
nn_status srv__pg_dataset_put(srv_store *s, srv_dataset *ds, const char *file, int *created,
                              nn_error *err);
nn_status srv__pg_dataset_file(srv_store *s, const char *sha256, char *path, size_t size,
                               nn_error *err);
nn_status srv__pg_dataset_get(srv_store *s, const char *id, srv_dataset *out, nn_error *err);
nn_status srv__pg_dataset_list(srv_store *s, json_t **out, nn_error *err);
nn_status srv__pg_dataset_delete(srv_store *s, const char *id, nn_error *err);
/* srv_pg_runs.c */
nn_status srv__pg_run_create(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                             int64_t max_queued, int *created, nn_error *err);
nn_status srv__pg_run_get(srv_store *s, const char *id, srv_run *out, int as_text, nn_error *err);
nn_status srv__pg_run_list(srv_store *s, int status, const char *dataset, const char *cursor,
                           int limit, json_t **out, char **next_cursor, nn_error *err);
nn_status srv__pg_run_counts(srv_store *s, long long counts[5], nn_error *err);
/* srv_pg_results.c */
nn_status srv__pg_run_finish(srv_store *s, const char *id, const srv_run_outcome *o, nn_error *err);
nn_status srv__pg_fold_state_find(srv_store *s, const char *key, int task, int max_epoch,
                                  unsigned char **state, size_t *len, int *epoch, nn_error *err);
nn_status srv__pg_fold_states_drop(srv_store *s, const char *study_id, int trial, nn_error *err);
nn_status srv__pg_checkpoint_list(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                                  nn_error *err);
nn_status srv__pg_prediction_page(srv_store *s, const char *run_id, int64_t after_row,
                                  int64_t limit, srv_prediction **out, size_t *n, nn_error *err);
nn_status srv__pg_history_start(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
nn_status srv__pg_model_get(srv_store *s, const char *run_id, char **json_text, nn_error *err);
/* srv_pg_events.c */
nn_status srv__pg_events_put(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                             size_t *dropped, nn_error *err);
nn_status srv__pg_event_append(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                               nn_error *err);
nn_status srv__pg_event_list(srv_store *s, const char *run_id, int64_t after, int limit,
                             srv_event **out, size_t *n, nn_error *err);
nn_status srv__pg_event_last_seq(srv_store *s, const char *run_id, int64_t *seq, nn_error *err);
/* Inside a transaction: numbers n events of run_id (*first = the first number) under its row
 * lock; NN_ERR_NOT_FOUND for an unknown run. */
nn_status srv__pg_alloc_seq(srv_store *s, const char *run_id, int64_t n, int64_t *first,
                            nn_error *err);
/* Inside a transaction: appends one event row to buf in COPY format for "COPY events (run_id,
 * seq, type, data, created_at)". */
void srv__pg_event_row(srv_pgbuf *buf, const char *run_id, int64_t seq, const char *type,
                       const char *data);
#define SRV_PG_COPY_EVENTS "COPY events (run_id, seq, type, data, created_at) FROM STDIN"
/* srv_pg_queue.c */
nn_status srv__pg_queue_claim(srv_store *s, const srv_claim_cfg *cfg, srv_task_ref *out, int *found,
                              int *run_started, nn_error *err);
nn_status srv__pg_queue_renew(srv_store *s, const char *node, const srv_task_ref *t,
                              int64_t lease_ms, int64_t epochs_done, srv_lease_state *out,
                              nn_error *err);
nn_status srv__pg_queue_end_task(srv_store *s, const char *node, const srv_task_ref *t,
                                 srv_task_result result, const srv_task_output *out,
                                 const char *error, srv_task_end *end, nn_error *err);
nn_status srv__pg_queue_cancel_run(srv_store *s, const char *run_id, srv_run_status *was,
                                   srv_task_end *end, nn_error *err);
nn_status srv__pg_queue_release(srv_store *s, const char *node, int *released, nn_error *err);
nn_status srv__pg_queue_depth(srv_store *s, int64_t *queued, int64_t *active, nn_error *err);
nn_status srv__pg_queue_done_tasks(srv_store *s, const char *run_id, int **out, size_t *n,
                                   nn_error *err);
/* srv_pg_reclaim.c */
nn_status srv__pg_queue_reclaim(srv_store *s, const srv_reclaim_cfg *cfg, srv_reclaimed **out,
                                size_t *n, nn_error *err);
/* srv_pg_queue.c, for srv_pg_reclaim.c: inside a transaction */
nn_status srv__pg_cancel_pending(srv_store *s, const char *run_id, int *n, nn_error *err);
nn_status srv__pg_count_ends(srv_store *s, const char *run_id, int ended, int fold_done,
                             srv_task_end *end, nn_error *err);

/* srv_pg_studies.c */
nn_status srv__pg_study_create(srv_store *s, srv_study *st, nn_error *err);
nn_status srv__pg_study_get(srv_store *s, const char *id, srv_study *out, nn_error *err);
nn_status srv__pg_study_list(srv_store *s, json_t **out, nn_error *err);
nn_status srv__pg_study_running(srv_store *s, char **ids, size_t *n, nn_error *err);
nn_status srv__pg_study_put(srv_store *s, const char *id, const srv_study_save *v, nn_error *err);
nn_status srv__pg_study_lease(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                              int *held, nn_error *err);
nn_status srv__pg_study_lease_release(srv_store *s, const char *node, nn_error *err);
nn_status srv__pg_study_cancel_requested(srv_store *s, const char *id, int *requested,
                                         nn_error *err);
nn_status srv__pg_study_request_cancel(srv_store *s, const char *id, int *running, nn_error *err);
nn_status srv__pg_study_delete(srv_store *s, const char *id, nn_error *err);
nn_status srv__pg_study_run_get(srv_store *s, const char *study_id, int trial, int rung,
                                char run_id[SRV_ID_LEN + 1], nn_error *err);
nn_status srv__pg_study_run_put(srv_store *s, const char *study_id, int trial, int rung,
                                const char *run_id, nn_error *err);
nn_status srv__pg_study_run_ids(srv_store *s, const char *study_id, char **ids, size_t *n,
                                nn_error *err);
nn_status srv__pg_study_last_seq(srv_store *s, const char *id, int64_t *seq, nn_error *err);
nn_status srv__pg_study_events(srv_store *s, const char *id, int64_t after, int limit,
                               srv_event **out, size_t *n, nn_error *err);

#endif
