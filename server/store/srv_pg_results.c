/* srv_pg_results.c — what a run leaves when it ends, in PostgreSQL: its status, metrics,
 * predictions (COPY), model and final event in one transaction that also drops its task rows
 * and checkpoints; reading them back (see srv_store.h). */
#include "srv_pg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct finish_arg {
    const char *id;
    const srv_run_outcome *o;
    const char *metrics;
} finish_arg;

/* The run's predictions in COPY's text format. */
static void prediction_rows(srv_pgbuf *b, const char *id, const srv_prediction *p, size_t n) {
    for (size_t i = 0; i < n && !b->nomem; i++) {
        srv__pgbuf_str(b, id);
        srv__pgbuf_printf(b, "\t%lld\t%d\t%d\t", (long long)p[i].row, p[i].target, p[i].fold);
        srv__pgbuf_copy_field(b, p[i].id);
        const double v[2] = {p[i].actual, p[i].predicted};
        for (int k = 0; k < 2; k++) {
            if (isnan(v[k]))
                srv__pgbuf_str(b, "\tNaN");
            else if (isinf(v[k]))
                srv__pgbuf_str(b, v[k] < 0 ? "\t-Infinity" : "\tInfinity");
            else
                srv__pgbuf_printf(b, "\t%.17g", v[k]); /* exact, -0 included */
        }
        srv__pgbuf_add(b, "\t", 1);
        srv__pgbuf_copy_field(b, p[i].probs); /* a classification's, else \N */
        srv__pgbuf_add(b, "\n", 1);
    }
}

/* Why no queued or running run id could be finished: absent, or finished already. */
static nn_status not_finishable(srv_store *s, const char *id, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    PGresult *r = NULL;
    nn_status st =
        srv__pg_exec(s, "SELECT status FROM runs WHERE id = $1", &q, &r, "reading a run", err);
    if (st) return st;
    if (PQntuples(r) == 0)
        st = nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", id);
    else
        st = nn_error_set(err, NN_ERR_CONFLICT, "run %s has already finished (status %s)", id,
                          PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

static nn_status finish_body(srv_store *s, void *arg, nn_error *err) {
    const finish_arg *a = arg;
    const srv_run_outcome *o = a->o;
    const srv_event *fe = o->final_event;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->id);
    /* the task rows first: every transaction locks a run's tasks before its row */
    nn_status st = srv__pg_cmd(s, "DELETE FROM tasks WHERE run_id = $1", &q, NULL,
                               "dropping the tasks of a run", err);
    if (!st)
        st = srv__pg_cmd(s, "DELETE FROM checkpoints WHERE run_id = $1", &q, NULL,
                         "dropping the checkpoints of a run", err);
    if (st) return st;
    srv__pgq_text(&q, srv__run_status_sql(o->status));
    srv__pgq_text(&q, a->metrics);
    srv__pgq_text(&q, o->error);
    srv__pgq_int(&q, fe && fe->seq == 0 ? 1 : 0);
    srv__pgq_int(&q, fe ? fe->seq : 0);
    PGresult *r = NULL;
    st = srv__pg_exec(s,
                      "UPDATE runs SET status = $2, finished_at = " SRV_PG_NOW ", "
                      "metrics_json = $3, error = $4, ended_at = NULL, "
                      "progress = CASE WHEN $2 = 'succeeded' THEN 1 ELSE progress END, "
                      "last_seq = GREATEST(last_seq + $5, $6) "
                      "WHERE id = $1 AND status IN ('queued', 'running') RETURNING last_seq",
                      &q, &r, "finishing a run", err);
    if (st) return st;
    int64_t last = PQntuples(r) ? srv__pg_int(r, 0, 0) : -1;
    PQclear(r);
    if (last < 0) return not_finishable(s, a->id, err);
    srv_pgbuf b = {0};
    prediction_rows(&b, a->id, o->preds, o->n_preds);
    if (b.nomem) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory storing predictions");
    if (!st && b.len)
        st = srv__pg_copy_in(
            s,
            "COPY predictions (run_id, row, target, fold, id, actual, predicted, probs) "
            "FROM STDIN",
            b.p, b.len, "storing predictions", err);
    srv__pgbuf_free(&b);
    if (!st && o->model_json) {
        srv__pgq_init(&q);
        srv__pgq_text(&q, a->id);
        srv__pgq_text(&q, o->model_json);
        st = srv__pg_cmd(s,
                         "INSERT INTO models (run_id, json) VALUES ($1, $2) "
                         "ON CONFLICT (run_id) DO UPDATE SET json = EXCLUDED.json",
                         &q, NULL, "storing the model", err);
    }
    if (!st && fe) {
        srv_pgbuf e = {0};
        srv__pg_event_row(&e, a->id, fe->seq ? fe->seq : last, fe->type, fe->data);
        st = e.nomem ? nn_error_set(err, NN_ERR_NOMEM, "out of memory storing an event")
                     : srv__pg_copy_in(s, SRV_PG_COPY_EVENTS, e.p, e.len, "storing an event", err);
        srv__pgbuf_free(&e);
        if (!st) srv__pg_notify(s, SRV_PG_EVENTS, a->id);
    }
    return st;
}

nn_status srv__pg_run_finish(srv_store *s, const char *id, const srv_run_outcome *o,
                             nn_error *err) {
    char *metrics = NULL;
    if (o->metrics && !(metrics = json_dumps(o->metrics, JSON_COMPACT | JSON_ENCODE_ANY)))
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing run %s", id);
    finish_arg a = {id, o, metrics};
    nn_status st = srv__pg_tx(s, finish_body, &a, err);
    free(metrics);
    return st;
}

/* ---- reads ---- */

nn_status srv__pg_checkpoint_list(srv_store *s, const char *run_id, srv_checkpoint **out, size_t *n,
                                  nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    nn_status st =
        srv__pg_exec(s, "SELECT task, json FROM checkpoints WHERE run_id = $1 ORDER BY task", &q,
                     &r, "reading checkpoints", err);
    if (st) return st;
    int rows = PQntuples(r);
    srv_checkpoint *c = rows ? calloc((size_t)rows, sizeof *c) : NULL;
    size_t count = 0;
    for (int i = 0; c && i < rows; i++, count++) {
        c[i].task = (int)srv__pg_int(r, i, 0);
        if (!(c[i].json = srv__pg_dup(r, i, 1))) break;
    }
    PQclear(r);
    if (rows && count < (size_t)rows) {
        srv_checkpoints_free(c, count);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading checkpoints");
    }
    *out = c;
    *n = count;
    return NN_OK;
}

nn_status srv__pg_prediction_page(srv_store *s, const char *run_id, int64_t after_row,
                                  int64_t limit, srv_prediction **out, size_t *n, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    srv__pgq_int(&q, after_row);
    if (limit >= 0)
        srv__pgq_int(&q, limit);
    else
        srv__pgq_text(&q, NULL); /* LIMIT NULL: all */
    PGresult *r = NULL;
    nn_status st =
        srv__pg_exec(s,
                     "SELECT row, target, fold, id, actual, predicted, probs FROM predictions "
                     "WHERE run_id = $1 AND row > $2 ORDER BY row, target LIMIT $3",
                     &q, &r, "reading predictions", err);
    if (st) return st;
    int rows = PQntuples(r);
    srv_prediction *p = rows ? calloc((size_t)rows, sizeof *p) : NULL;
    size_t count = 0;
    for (int i = 0; p && i < rows; i++, count++) {
        p[i].row = srv__pg_int(r, i, 0);
        p[i].target = (int)srv__pg_int(r, i, 1);
        p[i].fold = (int)srv__pg_int(r, i, 2);
        p[i].actual = srv__pg_real(r, i, 4);
        p[i].predicted = srv__pg_real(r, i, 5);
        p[i].id = srv__pg_dup(r, i, 3);
        p[i].probs = srv__pg_dup(r, i, 6);
        if ((!p[i].id && !srv__pg_null(r, i, 3)) || (!p[i].probs && !srv__pg_null(r, i, 6))) {
            free((char *)p[i].id);
            free((char *)p[i].probs);
            break;
        }
    }
    PQclear(r);
    if (rows && count < (size_t)rows) {
        srv_predictions_free(p, count);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading predictions of %s", run_id);
    }
    *out = p;
    *n = count;
    return NN_OK;
}

nn_status srv__pg_model_get(srv_store *s, const char *run_id, char **json_text, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT json FROM models WHERE run_id = $1", &q, &r,
                                "reading a model", err);
    if (st) return st;
    if (PQntuples(r) == 0)
        st = nn_error_set(err, NN_ERR_NOT_FOUND, "model of run %s not found", run_id);
    else if (!(*json_text = srv__pg_dup(r, 0, 0)))
        st = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading a model");
    PQclear(r);
    return st;
}

nn_status srv__pg_history_start(srv_store *s, const char *run_id, int64_t *seq, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    /* on the (run_id, seq) key; the JSON is read only for the run's few status events */
    nn_status st = srv__pg_exec(s,
                                "SELECT coalesce(max(seq), 0) FROM events WHERE run_id = $1 AND "
                                "type = 'status' AND CASE WHEN type = 'status' THEN "
                                "data::json ->> 'status' END = 'running'",
                                &q, &r, "reading the events of a run", err);
    if (st) return st;
    *seq = srv__pg_int(r, 0, 0);
    PQclear(r);
    return NN_OK;
}
