/* srv_pg_studies.c — studies and their runs in PostgreSQL (see srv_studies.h; the same meaning
 * as srv_sqlite_studies.c).
 *
 * DESIGN: several nodes share the studies, and exactly one drives each running study at a time:
 * the one holding its lease (lease_owner, lease_until in the database's clock). Taking and
 * renewing are one conditional UPDATE, so two nodes racing for an expired lease cannot both win
 * (the row lock orders them and the loser's condition no longer holds). The driver's save is
 * fenced by the lease in the same way as a task's writes (srv_pg_queue.c): a node that paused
 * past its lease saves nothing, and its events cannot collide with the new driver's, which
 * numbers them after the stored ones. Times of rows (created_at, finished_at) are the
 * database's clock, like the runs'.
 */
#include "srv_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUDY_COLUMNS                                                                              \
    "id, name, dataset_id, status, doc_json, doc_hash, state_json, board_json, board_csv, "        \
    "result_json, error, cancel_requested, created_at, finished_at, holdout_id"

nn_status srv__pg_study_create(srv_store *s, srv_study *st, nn_error *err) {
    if (!st->id[0] && srv_new_id(st->id, err) != NN_OK) return err ? err->code : NN_ERR_IO;
    if (!st->created_at) st->created_at = srv__now_ms();
    (void)snprintf(st->status, sizeof st->status, "running");
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, st->id);
    srv__pgq_text(&q, st->name);
    srv__pgq_text(&q, st->dataset_id[0] ? st->dataset_id : NULL);
    srv__pgq_text(&q, st->doc_json);
    srv__pgq_text(&q, st->doc_hash);
    srv__pgq_int(&q, st->created_at);
    srv__pgq_text(&q, st->holdout_id[0] ? st->holdout_id : NULL);
    nn_status rc = srv__pg_cmd(s,
                               "INSERT INTO studies (id, name, dataset_id, status, doc_json, "
                               "doc_hash, created_at, holdout_id) "
                               "VALUES ($1, $2, $3, 'running', $4, $5, $6, $7)",
                               &q, NULL, "creating a study", err);
    if (rc == NN_ERR_NOT_FOUND) /* a foreign key naming no row: the dataset is gone */
        return nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", st->dataset_id);
    return rc;
}

nn_status srv__pg_study_get(srv_store *s, const char *id, srv_study *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    PGresult *r = NULL;
    nn_status rc = srv__pg_exec(s, "SELECT " STUDY_COLUMNS " FROM studies WHERE id = $1", &q, &r,
                                "reading a study", err);
    if (rc) return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return nn_error_set(err, NN_ERR_NOT_FOUND, "study %s not found", id);
    }
    srv__pg_copy(r, 0, 0, out->id, sizeof out->id);
    out->name = srv__pg_dup(r, 0, 1);
    srv__pg_copy(r, 0, 2, out->dataset_id, sizeof out->dataset_id);
    srv__pg_copy(r, 0, 3, out->status, sizeof out->status);
    out->doc_json = srv__pg_dup(r, 0, 4);
    srv__pg_copy(r, 0, 5, out->doc_hash, sizeof out->doc_hash);
    int nomem = !out->name || !out->doc_json;
    char **opt[] = {&out->state_json, &out->board_json, &out->board_csv, &out->result_json,
                    &out->error};
    for (int k = 0; k < 5; k++)
        if (!srv__pg_null(r, 0, 6 + k)) nomem |= !(*opt[k] = srv__pg_dup(r, 0, 6 + k));
    out->cancel_requested = (int)srv__pg_int(r, 0, 11);
    out->created_at = srv__pg_int(r, 0, 12);
    out->finished_at = srv__pg_int(r, 0, 13);
    srv__pg_copy(r, 0, 14, out->holdout_id, sizeof out->holdout_id);
    PQclear(r);
    if (nomem) {
        srv_study_free(out);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading study %s", id);
    }
    return NN_OK;
}

/* The results' best trial without its spec (json null when there is none). */
static json_t *best_of(const PGresult *r, int row, int col) {
    json_t *res = srv__pg_null(r, row, col)
                      ? NULL
                      : json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
    json_t *best = json_object_get(res, "best");
    json_t *out = json_is_object(best) ? json_deep_copy(best) : NULL;
    json_decref(res);
    if (!out) return json_null();
    (void)json_object_del(out, "spec");
    return out;
}

nn_status srv__pg_study_list(srv_store *s, json_t **out, nn_error *err) {
    PGresult *r = NULL;
    nn_status rc = srv__pg_exec(s,
                                "SELECT id, name, dataset_id, status, "
                                "coalesce(json_array_length(board_json::json), 0), created_at, "
                                "finished_at, result_json FROM studies "
                                "ORDER BY created_at DESC, id DESC",
                                NULL, &r, "listing studies", err);
    if (rc) return rc;
    json_t *list = json_array();
    int nomem = !list;
    for (int i = 0; !nomem && i < PQntuples(r); i++) {
        json_t *o = json_pack(
            "{s:s, s:s, s:s?, s:s, s:I, s:I, s:o, s:o}", "id", PQgetvalue(r, i, 0), "name",
            PQgetvalue(r, i, 1), "dataset", srv__pg_null(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
            "status", PQgetvalue(r, i, 3), "trials", (json_int_t)srv__pg_int(r, i, 4), "created_at",
            (json_int_t)srv__pg_int(r, i, 5), "finished_at",
            srv__pg_null(r, i, 6) ? json_null() : json_integer((json_int_t)srv__pg_int(r, i, 6)),
            "best", best_of(r, i, 7));
        nomem = !o || json_array_append_new(list, o) != 0;
    }
    PQclear(r);
    if (nomem) {
        json_decref(list);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory listing studies");
    }
    *out = list;
    return NN_OK;
}

/* The first column of sql's rows (one text parameter) as ids (*ids malloc'd). */
static nn_status id_rows(srv_store *s, const char *sql, const char *param, char **ids, size_t *n,
                         const char *what, nn_error *err) {
    *ids = NULL;
    *n = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    if (param) srv__pgq_text(&q, param);
    PGresult *r = NULL;
    nn_status rc = srv__pg_exec(s, sql, &q, &r, what, err);
    if (rc) return rc;
    size_t count = (size_t)PQntuples(r);
    char *buf = malloc((count ? count : 1) * (SRV_ID_LEN + 1));
    for (size_t i = 0; buf && i < count; i++)
        srv__pg_copy(r, (int)i, 0, buf + i * (SRV_ID_LEN + 1), SRV_ID_LEN + 1);
    PQclear(r);
    if (!buf) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    *ids = buf;
    *n = count;
    return NN_OK;
}

nn_status srv__pg_study_running(srv_store *s, char **ids, size_t *n, nn_error *err) {
    return id_rows(s, "SELECT id FROM studies WHERE status = 'running' ORDER BY created_at, id",
                   NULL, ids, n, "listing running studies", err);
}

nn_status srv__pg_study_run_ids(srv_store *s, const char *study_id, char **ids, size_t *n,
                                nn_error *err) {
    return id_rows(s, "SELECT run_id FROM study_runs WHERE study_id = $1 ORDER BY trial, rung",
                   study_id, ids, n, "listing the runs of a study", err);
}

/* ---- the driver's save, fenced by its lease ---- */

typedef struct put_arg {
    const char *id;
    const srv_study_save *v;
} put_arg;

static nn_status put_body(srv_store *s, void *arg, nn_error *err) {
    const put_arg *a = arg;
    const srv_study_save *v = a->v;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, v->status);
    srv__pgq_text(&q, v->state_json);
    srv__pgq_text(&q, v->board_json);
    srv__pgq_text(&q, v->board_csv);
    srv__pgq_text(&q, v->result_json);
    srv__pgq_text(&q, v->error);
    srv__pgq_text(&q, a->id);
    srv__pgq_text(&q, v->node);
    int changed = 0;
    nn_status rc = srv__pg_cmd(
        s,
        "UPDATE studies SET status = $1::text, state_json = coalesce($2, state_json), "
        "board_json = coalesce($3, board_json), board_csv = coalesce($4, board_csv), "
        "result_json = coalesce($5, result_json), error = $6, "
        "finished_at = CASE WHEN $1::text = 'running' THEN NULL "
        "ELSE coalesce(finished_at, " SRV_PG_NOW ") END WHERE id = $7 "
        "AND ($8::text IS NULL OR (lease_owner = $8 AND lease_until >= " SRV_PG_NOW "))",
        &q, &changed, "saving a study", err);
    if (rc) return rc;
    if (!changed && v->node)
        return nn_error_set(err, NN_ERR_CONFLICT,
                            "study %s: this node no longer holds its lease (not saved)", a->id);
    for (size_t i = 0; rc == NN_OK && i < v->n_events; i++) {
        srv__pgq_init(&q);
        srv__pgq_text(&q, a->id);
        srv__pgq_int(&q, v->events[i].seq);
        srv__pgq_text(&q, v->events[i].type);
        srv__pgq_text(&q, v->events[i].data);
        rc = srv__pg_cmd(s,
                         "INSERT INTO study_events (study_id, seq, type, data, created_at) "
                         "VALUES ($1, $2, $3, $4, " SRV_PG_NOW ")",
                         &q, NULL, "storing a study's event", err);
    }
    return rc;
}

nn_status srv__pg_study_put(srv_store *s, const char *id, const srv_study_save *v, nn_error *err) {
    put_arg a = {id, v};
    return srv__pg_tx(s, put_body, &a, err);
}

nn_status srv__pg_study_lease(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                              int *held, nn_error *err) {
    *held = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    srv__pgq_text(&q, node);
    srv__pgq_int(&q, lease_ms);
    srv__pgq_int(&q, SRV_NODE_STABLE);
    int changed = 0;
    nn_status rc =
        srv__pg_cmd(s,
                    "UPDATE studies SET lease_owner = $2, lease_until = " SRV_PG_NOW
                    " + $3 WHERE id = $1 AND status = 'running' AND "
                    "(lease_owner IS NULL OR lease_owner = $2 OR lease_until < " SRV_PG_NOW
                    " OR left(lease_owner, $4) = left($2, $4))",
                    &q, &changed, "taking a study's lease", err);
    if (rc) return rc;
    *held = changed > 0;
    return NN_OK;
}

nn_status srv__pg_study_lease_release(srv_store *s, const char *node, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, node);
    return srv__pg_cmd(s,
                       "UPDATE studies SET lease_owner = NULL, lease_until = NULL "
                       "WHERE lease_owner = $1",
                       &q, NULL, "releasing study leases", err);
}

/* ---- events ---- */

nn_status srv__pg_study_last_seq(srv_store *s, const char *id, int64_t *seq, nn_error *err) {
    *seq = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    PGresult *r = NULL;
    nn_status rc =
        srv__pg_exec(s, "SELECT coalesce(max(seq), 0) FROM study_events WHERE study_id = $1", &q,
                     &r, "reading a study's last event", err);
    if (rc) return rc;
    *seq = srv__pg_int(r, 0, 0);
    PQclear(r);
    return NN_OK;
}

nn_status srv__pg_study_events(srv_store *s, const char *id, int64_t after, int limit,
                               srv_event **out, size_t *n, nn_error *err) {
    *out = NULL;
    *n = 0;
    if (limit <= 0 || limit > SRV_MAX_EVENT_PAGE) limit = SRV_MAX_EVENT_PAGE;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    srv__pgq_int(&q, after);
    srv__pgq_int(&q, limit);
    PGresult *r = NULL;
    nn_status rc = srv__pg_exec(s,
                                "SELECT seq, type, data FROM study_events WHERE study_id = $1 "
                                "AND seq > $2 ORDER BY seq LIMIT $3",
                                &q, &r, "reading a study's events", err);
    if (rc) return rc;
    size_t count = (size_t)PQntuples(r);
    srv_event *ev = calloc(count ? count : 1, sizeof *ev);
    int nomem = !ev;
    for (size_t i = 0; !nomem && i < count; i++) {
        ev[i].seq = srv__pg_int(r, (int)i, 0);
        srv__pg_copy(r, (int)i, 1, ev[i].type, sizeof ev[i].type);
        nomem = !(ev[i].data = srv__pg_dup(r, (int)i, 2));
    }
    PQclear(r);
    if (nomem) {
        if (ev) srv_events_free(ev, count);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    *out = ev;
    *n = count;
    return NN_OK;
}

/* ---- cancel, delete ---- */

nn_status srv__pg_study_cancel_requested(srv_store *s, const char *id, int *requested,
                                         nn_error *err) {
    *requested = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    PGresult *r = NULL;
    nn_status rc = srv__pg_exec(s, "SELECT cancel_requested FROM studies WHERE id = $1", &q, &r,
                                "reading a study", err);
    if (rc) return rc;
    int found = PQntuples(r) > 0;
    if (found) *requested = (int)srv__pg_int(r, 0, 0);
    PQclear(r);
    return found ? NN_OK : nn_error_set(err, NN_ERR_NOT_FOUND, "study %s not found", id);
}

nn_status srv__pg_study_request_cancel(srv_store *s, const char *id, int *running, nn_error *err) {
    *running = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    int changed = 0;
    nn_status rc = srv__pg_cmd(
        s, "UPDATE studies SET cancel_requested = 1 WHERE id = $1 AND status = 'running'", &q,
        &changed, "cancelling a study", err);
    if (rc) return rc;
    *running = changed > 0;
    return NN_OK;
}

nn_status srv__pg_study_delete(srv_store *s, const char *id, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    int changed = 0;
    nn_status rc = srv__pg_cmd(s, "DELETE FROM studies WHERE id = $1 AND status <> 'running'", &q,
                               &changed, "deleting a study", err);
    if (rc || changed) return rc;
    srv_study row;
    rc = srv__pg_study_get(s, id, &row, err);
    if (rc != NN_OK) return rc;
    srv_study_free(&row);
    return nn_error_set(err, NN_ERR_CONFLICT, "study %s is running: cancel it first", id);
}

/* ---- study_runs ---- */

nn_status srv__pg_study_run_get(srv_store *s, const char *study_id, int trial, int rung,
                                char run_id[SRV_ID_LEN + 1], nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, study_id);
    srv__pgq_int(&q, trial);
    srv__pgq_int(&q, rung);
    PGresult *r = NULL;
    nn_status rc = srv__pg_exec(
        s, "SELECT run_id FROM study_runs WHERE study_id = $1 AND trial = $2 AND rung = $3", &q, &r,
        "reading the runs of a study", err);
    if (rc) return rc;
    int found = PQntuples(r) > 0;
    if (found) srv__pg_copy(r, 0, 0, run_id, SRV_ID_LEN + 1);
    PQclear(r);
    if (found) return NN_OK;
    return nn_error_set(err, NN_ERR_NOT_FOUND, "no run for trial %d rung %d", trial + 1, rung);
}

nn_status srv__pg_study_run_put(srv_store *s, const char *study_id, int trial, int rung,
                                const char *run_id, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, study_id);
    srv__pgq_int(&q, trial);
    srv__pgq_int(&q, rung);
    srv__pgq_text(&q, run_id);
    return srv__pg_cmd(s,
                       "INSERT INTO study_runs (study_id, trial, rung, run_id) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (study_id, trial, rung) "
                       "DO UPDATE SET run_id = EXCLUDED.run_id",
                       &q, NULL, "storing a run of a study", err);
}
