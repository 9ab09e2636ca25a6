/* srv_sqlite_results.c — what a run leaves when it ends: its status, metrics, predictions, model
 * and final event, written in one transaction that also drops its task rows and checkpoints
 * (SQLite backend; see srv_store.h). */
#include "srv_sqlite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Inside a write transaction: the status of run id in *status ("" when it does not exist). */
static nn_status read_status(srv_store *s, const char *id, char status[16], nn_error *err) {
    sqlite3_stmt *st;
    status[0] = '\0';
    if (srv__prepare(s, "SELECT status FROM runs WHERE id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    nn_status result = NN_OK;
    if (rc == SQLITE_ROW)
        srv__column_copy(st, 0, status, 16);
    else if (rc != SQLITE_DONE)
        result = srv__db_error(s, rc, err, "reading run %s", id);
    srv__finish(s, st);
    return result;
}

/* Moves a queued or running run to its final status; any other run is an error. */
static nn_status mark_finished(srv_store *s, const char *id, srv_run_status final,
                               const char *metrics, const char *error, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(
            s,
            "UPDATE runs SET status = ?2, finished_at = ?3, metrics_json = ?4, error = ?5, "
            "progress = CASE WHEN ?2 = 'succeeded' THEN 1 ELSE progress END "
            "WHERE id = ?1 AND status IN ('queued', 'running')",
            &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    srv__bind_text(st, 2, srv__run_status_sql(final));
    sqlite3_bind_int64(st, 3, srv__now_ms());
    srv__bind_text(st, 4, metrics);
    srv__bind_text(st, 5, error);
    int rc = srv__step(st);
    srv__finish(s, st);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "finishing run %s", id);
    if (sqlite3_changes(s->db) > 0) return NN_OK;
    char now[16];
    nn_status result = read_status(s, id, now, err);
    if (result) return result;
    if (!now[0]) return nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", id);
    return nn_error_set(err, NN_ERR_CONFLICT, "run %s has already finished (status %s)", id, now);
}

static nn_status insert_predictions(srv_store *s, const char *id, const srv_prediction *p, size_t n,
                                    nn_error *err) {
    if (n == 0) return NN_OK;
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "INSERT INTO predictions (run_id, row, target, fold, id, actual, predicted, "
                     "probs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    nn_status status = NN_OK;
    srv__bind_text(st, 1, id);
    for (size_t i = 0; i < n && !status; i++) {
        sqlite3_bind_int64(st, 2, p[i].row);
        sqlite3_bind_int(st, 3, p[i].target);
        sqlite3_bind_int(st, 4, p[i].fold);
        srv__bind_text(st, 5, p[i].id);
        sqlite3_bind_double(st, 6, p[i].actual); /* NaN is stored as NULL */
        sqlite3_bind_double(st, 7, p[i].predicted);
        srv__bind_text(st, 8, p[i].probs);
        int rc = srv__step(st);
        if (rc != SQLITE_DONE)
            status = srv__db_error(s, rc, err, "run %s: storing the prediction of row %lld", id,
                                   (long long)p[i].row);
        sqlite3_reset(st);
    }
    srv__finish(s, st);
    return status;
}

static nn_status insert_model(srv_store *s, const char *id, const char *json, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "INSERT OR REPLACE INTO models (run_id, json) VALUES (?, ?)", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    srv__bind_text(st, 2, json);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc != SQLITE_DONE) status = srv__db_error(s, rc, err, "run %s: storing the model", id);
    srv__finish(s, st);
    return status;
}

static nn_status drop_checkpoints(srv_store *s, const char *id, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "DELETE FROM checkpoints WHERE run_id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    nn_status status =
        rc == SQLITE_DONE ? NN_OK : srv__db_error(s, rc, err, "dropping checkpoints of %s", id);
    srv__finish(s, st);
    return status;
}

static nn_status drop_tasks(srv_store *s, const char *id, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "DELETE FROM tasks WHERE run_id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    nn_status status =
        rc == SQLITE_DONE ? NN_OK : srv__db_error(s, rc, err, "dropping the tasks of %s", id);
    srv__finish(s, st);
    return status;
}

nn_status srv__sq_run_finish(srv_store *s, const char *id, const srv_run_outcome *o,
                             nn_error *err) {
    char *metrics_text = NULL;
    if (o->metrics && !(metrics_text = json_dumps(o->metrics, JSON_COMPACT | JSON_ENCODE_ANY)))
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing run %s", id);
    nn_status result = srv__begin(s, err);
    if (!result) result = mark_finished(s, id, o->status, metrics_text, o->error, err);
    if (!result) result = insert_predictions(s, id, o->preds, o->n_preds, err);
    if (!result && o->model_json) result = insert_model(s, id, o->model_json, err);
    if (!result) result = drop_checkpoints(s, id, err);
    if (!result) result = drop_tasks(s, id, err);
    if (!result && o->final_event) result = srv__insert_event(s, id, o->final_event, err);
    free(metrics_text);
    if (result) {
        srv__rollback(s);
        return result;
    }
    return srv__commit(s, err);
}

static double column_real(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

nn_status srv__sq_prediction_page(srv_store *s, const char *run_id, int64_t after_row,
                                  int64_t limit, srv_prediction **out, size_t *n, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT row, target, fold, id, actual, predicted, probs FROM predictions "
                     "WHERE run_id = ?1 AND row > ?2 ORDER BY row, target LIMIT ?3",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 2, after_row);
    sqlite3_bind_int64(st, 3, limit); /* negative: no limit */
    srv_prediction *p = NULL;
    size_t count = 0, cap = 0;
    nn_status status = NN_OK;
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            srv_prediction *np = realloc(p, ncap * sizeof *np);
            if (!np) break;
            p = np;
            cap = ncap;
        }
        srv_prediction *q = &p[count];
        q->row = sqlite3_column_int64(st, 0);
        q->target = sqlite3_column_int(st, 1);
        q->fold = sqlite3_column_int(st, 2);
        q->actual = column_real(st, 4);
        q->predicted = column_real(st, 5);
        q->id = srv__column_dup(st, 3);
        q->probs = srv__column_dup(st, 6);
        if ((!q->id && sqlite3_column_type(st, 3) != SQLITE_NULL) ||
            (!q->probs && sqlite3_column_type(st, 6) != SQLITE_NULL)) {
            free((char *)q->id);
            free((char *)q->probs);
            break;
        }
        count++;
    }
    if (rc == SQLITE_ROW)
        status = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading predictions of %s", run_id);
    else if (rc != SQLITE_DONE)
        status = srv__db_error(s, rc, err, "reading predictions of run %s", run_id);
    srv__finish(s, st);
    if (status) {
        srv_predictions_free(p, count);
        return status;
    }
    *out = p;
    *n = count;
    return NN_OK;
}

nn_status srv__sq_model_get(srv_store *s, const char *run_id, char **json_text, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT json FROM models WHERE run_id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW) {
        if (!(*json_text = srv__column_dup(st, 0)))
            status = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading a model");
    } else if (rc == SQLITE_DONE) {
        status = nn_error_set(err, NN_ERR_NOT_FOUND, "model of run %s not found", run_id);
    } else {
        status = srv__db_error(s, rc, err, "reading the model of run %s", run_id);
    }
    srv__finish(s, st);
    return status;
}

nn_status srv__sq_history_start(srv_store *s, const char *run_id, int64_t *seq, nn_error *err) {
    sqlite3_stmt *st;
    /* on the (run_id, seq) key; the JSON is read only for the run's few status events */
    if (srv__prepare(s,
                     "SELECT coalesce(max(seq), 0) FROM events WHERE run_id = ? AND "
                     "CASE WHEN type = 'status' THEN json_extract(data, '$.status') END = "
                     "'running'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(st, 0);
    else
        status = srv__db_error(s, rc, err, "reading the events of run %s", run_id);
    srv__finish(s, st);
    return status;
}
