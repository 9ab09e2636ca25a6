/* srv_queue.c — the job queue on the runs table (see srv_queue.h DESIGN). */
#include "srv_queue.h"
#include "srv_store_internal.h"

nn_status srv_queue_claim(srv_store *s, char run_id[SRV_ID_LEN + 1], int *found, nn_error *err) {
    *found = 0;
    nn_status status = srv__begin(s, err);
    if (status) return status;
    sqlite3_stmt *st;
    status = srv__prepare(s,
                          "UPDATE runs SET status = 'running', started_at = ?, "
                          "attempts = attempts + 1 "
                          "WHERE id = (SELECT id FROM runs WHERE status = 'queued' "
                          "ORDER BY created_at, id LIMIT 1) RETURNING id",
                          &st, err);
    if (!status) {
        sqlite3_bind_int64(st, 1, srv__now_ms());
        int rc = srv__step(st);
        if (rc == SQLITE_ROW) {
            srv__column_copy(st, 0, run_id, SRV_ID_LEN + 1);
            *found = 1;
            rc = sqlite3_step(st);
        }
        if (rc != SQLITE_DONE) status = srv__db_error(s, rc, err, "claiming a queued run");
        sqlite3_finalize(st);
    }
    if (!status)
        status = srv__commit(s, err);
    else
        srv__rollback(s);
    if (status) *found = 0;
    return status;
}

nn_status srv_queue_depth(srv_store *s, int64_t *depth, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT count(*) FROM runs WHERE status = 'queued'", &st, err))
        return err ? err->code : NN_ERR_IO;
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW)
        *depth = sqlite3_column_int64(st, 0);
    else
        status = srv__db_error(s, rc, err, "counting queued runs");
    sqlite3_finalize(st);
    return status;
}

/* Runs one UPDATE with ?1 = now and ?2 = SRV_QUEUE_MAX_ATTEMPTS when it uses them (binding an
 * absent parameter is a harmless SQLITE_RANGE); *changed = rows it changed. */
static nn_status update_running(srv_store *s, const char *sql, int *changed, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, sql, &st, err)) return err ? err->code : NN_ERR_IO;
    sqlite3_bind_int64(st, 1, srv__now_ms());
    sqlite3_bind_int(st, 2, SRV_QUEUE_MAX_ATTEMPTS);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_DONE)
        *changed = sqlite3_changes(s->db);
    else
        status = srv__db_error(s, rc, err, "recovering interrupted runs");
    sqlite3_finalize(st);
    return status;
}

/* A run whose cancel was requested before the process died ends cancelled instead of being
 * re-queued; it is counted with the failed ones. */
nn_status srv_queue_recover(srv_store *s, int *requeued, int *failed, nn_error *err) {
    *requeued = *failed = 0;
    int cancelled = 0, gave_up = 0, again = 0;
    nn_status status = srv__begin(s, err);
    if (status) return status;
    status = update_running(s,
                            "UPDATE runs SET status = 'cancelled', finished_at = ?1, "
                            "error = 'cancelled while nnd was stopped' "
                            "WHERE status = 'running' AND cancel_requested",
                            &cancelled, err);
    if (!status)
        status = update_running(s,
                                "UPDATE runs SET status = 'failed', finished_at = ?1, "
                                "error = printf('nnd stopped %d times while training this run; "
                                "giving up', attempts) "
                                "WHERE status = 'running' AND attempts >= ?2",
                                &gave_up, err);
    if (!status)
        status = update_running(s,
                                "UPDATE runs SET status = 'queued', started_at = NULL, "
                                "progress = 0 WHERE status = 'running'",
                                &again, err);
    if (status) {
        srv__rollback(s);
        return status;
    }
    if ((status = srv__commit(s, err))) return status;
    *requeued = again;
    *failed = cancelled + gave_up;
    return NN_OK;
}

nn_status srv_queue_release(srv_store *s, const char *run_id, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE runs SET status = 'queued', progress = 0, started_at = NULL, "
                     "attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = 'running'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    int rc = srv__step(st);
    nn_status status =
        rc == SQLITE_DONE ? NN_OK : srv__db_error(s, rc, err, "re-queueing run %s", run_id);
    sqlite3_finalize(st);
    return status;
}
