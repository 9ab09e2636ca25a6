/* srv_store_internal.h — what the SQLite store's files (srv_store*.c, srv_queue.c) share.
 *
 * Statements are prepared per call (srv__prepare) and finalized by the caller; every write of
 * more than one row runs between srv__begin (BEGIN IMMEDIATE, so the write lock is taken up front
 * and a WAL reader never has to be upgraded) and srv__commit, and error paths call
 * srv__rollback. srv__step retries SQLITE_BUSY/SQLITE_LOCKED a few times after the busy timeout,
 * so it must only be used for a statement's first step (a retry resets the statement).
 */
#ifndef SRV_STORE_INTERNAL_H
#define SRV_STORE_INTERNAL_H

#include "srv_store.h"

#include <sqlite3.h>

struct srv_store {
    sqlite3 *db;
    char *data_dir; /* owned */
};

/* Milliseconds since the Unix epoch. */
int64_t srv__now_ms(void);

/* Sets err from the connection's last error: "<context>: <sqlite3_errmsg>". The code says what
 * happened: SQLITE_BUSY/LOCKED → NN_ERR_BUSY ("database is busy"), SQLITE_FULL (or an I/O error
 * from ENOSPC/EDQUOT) → NN_ERR_FULL, SQLITE_NOMEM → NN_ERR_NOMEM, a foreign key that names no
 * row → NN_ERR_NOT_FOUND, a unique or primary key taken → NN_ERR_CONFLICT, other constraints →
 * NN_ERR_INVALID, anything else NN_ERR_IO. Returns the status. */
nn_status srv__db_error(srv_store *s, int rc, nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

nn_status srv__prepare(srv_store *s, const char *sql, sqlite3_stmt **out, nn_error *err);
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

const char *srv__run_status_sql(srv_run_status st);

/* Inside a write transaction: inserts one event (srv_store_events.c). */
nn_status srv__insert_event(srv_store *s, const char *run_id, const srv_event *e, nn_error *err);

#endif
