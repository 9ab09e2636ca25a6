/* srv_sqlite_states.c — fold states (migrations/0007_fold_states.sql) in SQLite: the furthest
 * state of a key's fold, and dropping a study's. A state is written with its task's end
 * (srv_queue_end_task). */
#include "srv_sqlite.h"

#include <stdlib.h>
#include <string.h>

nn_status srv__sq_fold_state_find(srv_store *s, const char *key, int task, int max_epoch,
                                  unsigned char **state, size_t *len, int *epoch, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT state, epoch FROM fold_states WHERE key = ? AND task = ? AND "
                     "epoch <= ? ORDER BY epoch DESC, created_at LIMIT 1",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, key);
    sqlite3_bind_int(st, 2, task);
    sqlite3_bind_int(st, 3, max_epoch);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        *state = malloc(n > 0 ? (size_t)n : 1);
        if (!*state)
            status = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading a fold state");
        else if (n > 0)
            memcpy(*state, p, (size_t)n);
        *len = (size_t)n;
        *epoch = sqlite3_column_int(st, 1);
    } else if (rc == SQLITE_DONE) {
        status = nn_error_set(err, NN_ERR_NOT_FOUND, "no fold state");
    } else {
        status = srv__db_error(s, rc, err, "reading a fold state");
    }
    srv__finish(s, st);
    return status;
}

nn_status srv__sq_fold_states_drop(srv_store *s, const char *study_id, int trial, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "DELETE FROM fold_states WHERE run_id IN (SELECT run_id FROM study_runs "
                     "WHERE study_id = ?1 AND (?2 < 0 OR trial = ?2))",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, study_id);
    sqlite3_bind_int(st, 2, trial);
    int rc = srv__step(st);
    srv__finish(s, st);
    return rc == SQLITE_DONE ? NN_OK : srv__db_error(s, rc, err, "dropping fold states");
}
