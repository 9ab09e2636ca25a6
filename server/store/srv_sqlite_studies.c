/* srv_sqlite_studies.c — studies and their runs in SQLite (see srv_studies.h). One process uses
 * the store, so the driver's lease of a study is always its own (srv__sq_study_lease). */
#include "srv_sqlite.h"
#include "srv_store_internal.h"
#include "srv_studies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUDY_COLUMNS                                                                              \
    "id, name, dataset_id, status, doc_json, doc_hash, state_json, board_json, board_csv, "        \
    "result_json, error, cancel_requested, created_at, finished_at, holdout_id"

nn_status srv__sq_study_create(srv_store *s, srv_study *st, nn_error *err) {
    if (!st->id[0] && srv_new_id(st->id, err) != NN_OK) return err ? err->code : NN_ERR_IO;
    if (!st->created_at) st->created_at = srv__now_ms();
    (void)snprintf(st->status, sizeof st->status, "running");
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "INSERT INTO studies (id, name, dataset_id, status, doc_json, doc_hash, "
                     "created_at, holdout_id) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, st->id);
    srv__bind_text(q, 2, st->name);
    srv__bind_text(q, 3, st->dataset_id[0] ? st->dataset_id : NULL);
    srv__bind_text(q, 4, st->doc_json);
    srv__bind_text(q, 5, st->doc_hash);
    sqlite3_bind_int64(q, 6, st->created_at);
    srv__bind_text(q, 7, st->holdout_id[0] ? st->holdout_id : NULL);
    int rc = srv__step(q);
    srv__finish(s, q);
    if (rc != SQLITE_DONE) {
        nn_status code = srv__db_error(s, rc, err, "creating study");
        if (code == NN_ERR_NOT_FOUND)
            return nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", st->dataset_id);
        return code;
    }
    return NN_OK;
}

nn_status srv__sq_study_get(srv_store *s, const char *id, srv_study *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q;
    if (srv__prepare(s, "SELECT " STUDY_COLUMNS " FROM studies WHERE id = ?", &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    int rc = srv__step(q);
    if (rc != SQLITE_ROW) {
        srv__finish(s, q);
        if (rc == SQLITE_DONE) return nn_error_set(err, NN_ERR_NOT_FOUND, "study %s not found", id);
        return srv__db_error(s, rc, err, "reading study %s", id);
    }
    srv__column_copy(q, 0, out->id, sizeof out->id);
    out->name = srv__column_dup(q, 1);
    srv__column_copy(q, 2, out->dataset_id, sizeof out->dataset_id);
    srv__column_copy(q, 3, out->status, sizeof out->status);
    out->doc_json = srv__column_dup(q, 4);
    srv__column_copy(q, 5, out->doc_hash, sizeof out->doc_hash);
    out->state_json = srv__column_dup(q, 6);
    out->board_json = srv__column_dup(q, 7);
    out->board_csv = srv__column_dup(q, 8);
    out->result_json = srv__column_dup(q, 9);
    out->error = srv__column_dup(q, 10);
    out->cancel_requested = sqlite3_column_int(q, 11);
    out->created_at = sqlite3_column_int64(q, 12);
    out->finished_at = sqlite3_column_int64(q, 13);
    srv__column_copy(q, 14, out->holdout_id, sizeof out->holdout_id);
    srv__finish(s, q);
    if (!out->name || !out->doc_json) {
        srv_study_free(out);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading study %s", id);
    }
    return NN_OK;
}

nn_status srv__sq_study_list(srv_store *s, json_t **out, nn_error *err) {
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "SELECT id, name, dataset_id, status, "
                     "coalesce(json_array_length(board_json), 0), created_at, finished_at, "
                     "json_remove(json_extract(result_json, '$.best'), '$.spec') FROM studies "
                     "ORDER BY created_at DESC, id DESC",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    json_t *list = json_array();
    int rc = list ? srv__step(q) : SQLITE_NOMEM;
    for (; rc == SQLITE_ROW; rc = sqlite3_step(q)) {
        const char *best = (const char *)sqlite3_column_text(q, 7);
        json_t *b = best ? json_loads(best, JSON_DECODE_ANY, NULL) : NULL;
        json_t *o = json_pack(
            "{s:s, s:s, s:s?, s:s, s:I, s:I, s:o, s:o}", "id", sqlite3_column_text(q, 0), "name",
            sqlite3_column_text(q, 1), "dataset", sqlite3_column_text(q, 2), "status",
            sqlite3_column_text(q, 3), "trials", (json_int_t)sqlite3_column_int64(q, 4),
            "created_at", (json_int_t)sqlite3_column_int64(q, 5), "finished_at",
            sqlite3_column_type(q, 6) == SQLITE_NULL
                ? json_null()
                : json_integer((json_int_t)sqlite3_column_int64(q, 6)),
            "best", b ? b : json_null());
        if (!o || json_array_append_new(list, o) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    srv__finish(s, q);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        if (rc == SQLITE_NOMEM) return nn_error_set(err, NN_ERR_NOMEM, "out of memory listing");
        return srv__db_error(s, rc, err, "listing studies");
    }
    *out = list;
    return NN_OK;
}

/* The first column of q's rows as ids (*ids malloc'd); finalizes q. */
static nn_status id_rows(srv_store *s, sqlite3_stmt *q, char **ids, size_t *n, nn_error *err) {
    char *buf = NULL;
    size_t count = 0, cap = 0;
    int rc = srv__step(q);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(q)) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char *nb = realloc(buf, ncap * (SRV_ID_LEN + 1));
            if (!nb) {
                rc = SQLITE_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        srv__column_copy(q, 0, buf + count * (SRV_ID_LEN + 1), SRV_ID_LEN + 1);
        count++;
    }
    srv__finish(s, q);
    if (rc != SQLITE_DONE) {
        free(buf);
        if (rc == SQLITE_NOMEM) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        return srv__db_error(s, rc, err, "listing studies");
    }
    *ids = buf;
    *n = count;
    return NN_OK;
}

nn_status srv__sq_study_running(srv_store *s, char **ids, size_t *n, nn_error *err) {
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *q;
    if (srv__prepare(s, "SELECT id FROM studies WHERE status = 'running' ORDER BY created_at, id",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    return id_rows(s, q, ids, n, err);
}

nn_status srv__sq_study_run_ids(srv_store *s, const char *study_id, char **ids, size_t *n,
                                nn_error *err) {
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *q;
    if (srv__prepare(s, "SELECT run_id FROM study_runs WHERE study_id = ? ORDER BY trial, rung", &q,
                     err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, study_id);
    return id_rows(s, q, ids, n, err);
}

static nn_status insert_event(srv_store *s, const char *id, const srv_event *e, nn_error *err) {
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "INSERT INTO study_events (study_id, seq, type, data, created_at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    sqlite3_bind_int64(q, 2, e->seq);
    srv__bind_text(q, 3, e->type);
    srv__bind_text(q, 4, e->data);
    sqlite3_bind_int64(q, 5, srv__now_ms());
    int rc = srv__step(q);
    srv__finish(s, q);
    if (rc != SQLITE_DONE)
        return srv__db_error(s, rc, err, "study %s: storing event %lld", id, (long long)e->seq);
    return NN_OK;
}

static nn_status update_study(srv_store *s, const char *id, const srv_study_save *v,
                              nn_error *err) {
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "UPDATE studies SET status = ?1, state_json = coalesce(?2, state_json), "
                     "board_json = coalesce(?3, board_json), board_csv = coalesce(?4, board_csv), "
                     "result_json = coalesce(?5, result_json), error = ?6, "
                     "finished_at = CASE WHEN ?1 = 'running' THEN NULL "
                     "ELSE coalesce(finished_at, ?7) END WHERE id = ?8",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, v->status);
    srv__bind_text(q, 2, v->state_json);
    srv__bind_text(q, 3, v->board_json);
    srv__bind_text(q, 4, v->board_csv);
    srv__bind_text(q, 5, v->result_json);
    srv__bind_text(q, 6, v->error);
    sqlite3_bind_int64(q, 7, srv__now_ms());
    srv__bind_text(q, 8, id);
    int rc = srv__step(q);
    srv__finish(s, q);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "saving study %s", id);
    return NN_OK;
}

nn_status srv__sq_study_put(srv_store *s, const char *id, const srv_study_save *v, nn_error *err) {
    nn_status st = srv__begin(s, err);
    if (st != NN_OK) return st;
    st = update_study(s, id, v, err);
    for (size_t i = 0; st == NN_OK && i < v->n_events; i++)
        st = insert_event(s, id, &v->events[i], err);
    if (st != NN_OK) {
        srv__rollback(s);
        return st;
    }
    return srv__commit(s, err);
}

nn_status srv__sq_study_last_seq(srv_store *s, const char *id, int64_t *seq, nn_error *err) {
    *seq = 0;
    sqlite3_stmt *q;
    if (srv__prepare(s, "SELECT coalesce(max(seq), 0) FROM study_events WHERE study_id = ?", &q,
                     err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    int rc = srv__step(q);
    if (rc == SQLITE_ROW) *seq = sqlite3_column_int64(q, 0);
    srv__finish(s, q);
    if (rc != SQLITE_ROW) return srv__db_error(s, rc, err, "study %s: last event", id);
    return NN_OK;
}

nn_status srv__sq_study_events(srv_store *s, const char *id, int64_t after, int limit,
                               srv_event **out, size_t *n, nn_error *err) {
    *out = NULL;
    *n = 0;
    if (limit <= 0 || limit > SRV_MAX_EVENT_PAGE) limit = SRV_MAX_EVENT_PAGE;
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "SELECT seq, type, data FROM study_events WHERE study_id = ? AND seq > ? "
                     "ORDER BY seq LIMIT ?",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int(q, 3, limit);
    srv_event *ev = calloc((size_t)limit, sizeof *ev);
    size_t count = 0;
    int rc = ev ? srv__step(q) : SQLITE_NOMEM;
    for (; rc == SQLITE_ROW && count < (size_t)limit; rc = sqlite3_step(q)) {
        ev[count].seq = sqlite3_column_int64(q, 0);
        srv__column_copy(q, 1, ev[count].type, sizeof ev[count].type);
        ev[count].data = srv__column_dup(q, 2);
        if (!ev[count++].data) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    srv__finish(s, q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        srv_events_free(ev, count);
        if (rc == SQLITE_NOMEM) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        return srv__db_error(s, rc, err, "study %s: reading events", id);
    }
    *out = ev;
    *n = count;
    return NN_OK;
}

nn_status srv__sq_study_cancel_requested(srv_store *s, const char *id, int *requested,
                                         nn_error *err) {
    *requested = 0;
    sqlite3_stmt *q;
    if (srv__prepare(s, "SELECT cancel_requested FROM studies WHERE id = ?", &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    int rc = srv__step(q);
    if (rc == SQLITE_ROW) *requested = sqlite3_column_int(q, 0);
    srv__finish(s, q);
    if (rc == SQLITE_ROW) return NN_OK;
    if (rc == SQLITE_DONE) return nn_error_set(err, NN_ERR_NOT_FOUND, "study %s not found", id);
    return srv__db_error(s, rc, err, "reading study %s", id);
}

nn_status srv__sq_study_request_cancel(srv_store *s, const char *id, int *running, nn_error *err) {
    *running = 0;
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "UPDATE studies SET cancel_requested = 1 WHERE id = ? AND status = 'running'",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    int rc = srv__step(q);
    int changed = sqlite3_changes(s->db);
    srv__finish(s, q);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "cancelling study %s", id);
    *running = changed > 0;
    return NN_OK;
}

nn_status srv__sq_study_delete(srv_store *s, const char *id, nn_error *err) {
    sqlite3_stmt *q;
    if (srv__prepare(s, "DELETE FROM studies WHERE id = ? AND status != 'running'", &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, id);
    int rc = srv__step(q);
    int changed = sqlite3_changes(s->db);
    srv__finish(s, q);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "deleting study %s", id);
    if (changed) return NN_OK;
    srv_study row;
    nn_status st = srv__sq_study_get(s, id, &row, err);
    if (st != NN_OK) return st;
    srv_study_free(&row);
    return nn_error_set(err, NN_ERR_CONFLICT, "study %s is running: cancel it first", id);
}

nn_status srv__sq_study_run_get(srv_store *s, const char *study_id, int trial, int rung,
                                char run_id[SRV_ID_LEN + 1], nn_error *err) {
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "SELECT run_id FROM study_runs WHERE study_id = ? AND trial = ? AND rung = ?",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, study_id);
    sqlite3_bind_int(q, 2, trial);
    sqlite3_bind_int(q, 3, rung);
    int rc = srv__step(q);
    if (rc == SQLITE_ROW) srv__column_copy(q, 0, run_id, SRV_ID_LEN + 1);
    srv__finish(s, q);
    if (rc == SQLITE_ROW) return NN_OK;
    if (rc == SQLITE_DONE)
        return nn_error_set(err, NN_ERR_NOT_FOUND, "no run for trial %d rung %d", trial + 1, rung);
    return srv__db_error(s, rc, err, "reading the runs of study %s", study_id);
}

nn_status srv__sq_study_run_put(srv_store *s, const char *study_id, int trial, int rung,
                                const char *run_id, nn_error *err) {
    sqlite3_stmt *q;
    if (srv__prepare(s,
                     "INSERT OR REPLACE INTO study_runs (study_id, trial, rung, run_id) "
                     "VALUES (?, ?, ?, ?)",
                     &q, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(q, 1, study_id);
    sqlite3_bind_int(q, 2, trial);
    sqlite3_bind_int(q, 3, rung);
    srv__bind_text(q, 4, run_id);
    int rc = srv__step(q);
    srv__finish(s, q);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "storing a run of study %s", study_id);
    return NN_OK;
}

nn_status srv__sq_study_lease(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                              int *held, nn_error *err) {
    (void)s, (void)id, (void)node, (void)lease_ms, (void)err;
    *held = 1; /* the only process */
    return NN_OK;
}

nn_status srv__sq_study_lease_release(srv_store *s, const char *node, nn_error *err) {
    (void)s, (void)node, (void)err;
    return NN_OK;
}
