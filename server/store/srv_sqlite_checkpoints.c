/* srv_sqlite_checkpoints.c — reading the finished folds of runs still training (SQLite backend;
 * a checkpoint is written with its task's end, srv_queue_end_task). */
#include "srv_sqlite.h"

#include <stdlib.h>
#include <string.h>

nn_status srv__sq_checkpoint_list(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                                  nn_error *err) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT task, json FROM checkpoints WHERE run_id = ? ORDER BY task", &st,
                     err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    srv_checkpoint *c = NULL;
    size_t count = 0, cap = 0;
    nn_status status = NN_OK;
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            srv_checkpoint *nc = realloc(c, ncap * sizeof *nc);
            if (!nc) {
                status = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading checkpoints");
                break;
            }
            c = nc;
            cap = ncap;
        }
        c[count].task = sqlite3_column_int(st, 0);
        c[count].json = srv__column_dup(st, 1);
        if (!c[count].json) {
            status = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading checkpoints");
            break;
        }
        count++;
    }
    if (status == NN_OK && rc != SQLITE_DONE)
        status = srv__db_error(s, rc, err, "reading checkpoints of run %s", run_id);
    srv__finish(s, st);
    if (status != NN_OK) {
        srv_checkpoints_free(c, count);
        return status;
    }
    *out = c;
    *n = count;
    return NN_OK;
}
