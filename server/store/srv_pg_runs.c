/* srv_pg_runs.c — the runs table in PostgreSQL: creation with idempotency keys and task rows,
 * reads, the paginated list (see srv_store.h; the list's keyset cursor is srv_sqlite_runs.c's).
 *
 * DESIGN: several nodes create runs at once under READ COMMITTED, so what SQLite gets from its
 * single writer is asked for explicitly: the --max-queued count and the insert hold a
 * transaction-scoped advisory lock (the limit holds however many nodes race), and two creations
 * with one Idempotency-Key meet at the key's unique index — the loser runs again and finds the
 * winner's run.
 */
#include "srv_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_COLUMNS                                                                                \
    "id, dataset_id, status, progress, spec_json, spec_hash, spec_name, metrics_json, error, "     \
    "created_at, started_at, finished_at, attempts, cancel_requested, n_folds, n_tasks"
#define RUN_LIST_DEFAULT 50
#define RUN_LIST_MAX 200
#define CURSOR_MAX 64
#define QUEUE_LOCK "7262367002" /* pg_advisory_xact_lock key of the --max-queued count */

static json_t *load_json(const PGresult *r, int col) {
    json_error_t jerr;
    return srv__pg_null(r, 0, col) ? NULL
                                   : json_loads(PQgetvalue(r, 0, col), JSON_DECODE_ANY, &jerr);
}

/* Fills out from the first row of RUN_COLUMNS; on failure the caller still frees out. */
static nn_status read_run(const PGresult *r, srv_run *out, int as_text, nn_error *err) {
    memset(out, 0, sizeof *out);
    srv__pg_copy(r, 0, 0, out->id, sizeof out->id);
    srv__pg_copy(r, 0, 1, out->dataset_id, sizeof out->dataset_id);
    if (!srv_run_status_from_name(PQgetvalue(r, 0, 2), &out->status))
        return nn_error_set(err, NN_ERR_IO, "run %s: unknown status", out->id);
    out->progress = srv__pg_real(r, 0, 3);
    srv__pg_copy(r, 0, 5, out->spec_hash, sizeof out->spec_hash);
    out->created_at = srv__pg_int(r, 0, 9);
    out->started_at = srv__pg_int(r, 0, 10);
    out->finished_at = srv__pg_int(r, 0, 11);
    out->attempts = (int)srv__pg_int(r, 0, 12);
    out->cancel_requested = (int)srv__pg_int(r, 0, 13);
    out->n_folds = (int)srv__pg_int(r, 0, 14);
    out->n_tasks = (int)srv__pg_int(r, 0, 15);
    int nomem = 0;
    if (as_text) {
        nomem |= !(out->spec_text = srv__pg_dup(r, 0, 4));
        if (!srv__pg_null(r, 0, 7)) nomem |= !(out->metrics_text = srv__pg_dup(r, 0, 7));
    } else if (!(out->spec = load_json(r, 4))) {
        return nn_error_set(err, NN_ERR_IO, "run %s: stored spec is not JSON", out->id);
    }
    if (!srv__pg_null(r, 0, 6)) nomem |= !(out->spec_name = srv__pg_dup(r, 0, 6));
    if (!srv__pg_null(r, 0, 8)) nomem |= !(out->error = srv__pg_dup(r, 0, 8));
    if (nomem) return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading run %s", out->id);
    if (!as_text && !srv__pg_null(r, 0, 7) && !(out->metrics = load_json(r, 7)))
        return nn_error_set(err, NN_ERR_IO, "run %s: stored metrics are not JSON", out->id);
    return NN_OK;
}

nn_status srv__pg_run_get(srv_store *s, const char *id, srv_run *out, int as_text, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, id);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT " RUN_COLUMNS " FROM runs WHERE id = $1", &q, &r,
                                "reading a run", err);
    if (st) return st;
    srv_run tmp = {0};
    if (PQntuples(r) == 0)
        st = nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", id);
    else
        st = read_run(r, &tmp, as_text, err);
    PQclear(r);
    if (st) {
        srv_run_free(&tmp);
        return st;
    }
    *out = tmp;
    return NN_OK;
}

/* ---- creation ---- */

typedef struct create_arg {
    srv_run *run;
    const char *spec_text, *idem_key, *req_hash;
    int64_t max_queued;
    srv_run existing;
    int found;
} create_arg;

/* The run of idem_key into a->existing (a->found), or nothing when the key is new. */
static nn_status find_idem(srv_store *s, create_arg *a, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->idem_key);
    PGresult *r = NULL;
    nn_status st =
        srv__pg_exec(s, "SELECT id, coalesce(req_hash, '') FROM runs WHERE idem_key = $1", &q, &r,
                     "looking up an idempotency key", err);
    if (st) return st;
    char id[SRV_ID_LEN + 1] = "";
    if (PQntuples(r) > 0) {
        if (strcmp(PQgetvalue(r, 0, 1), a->req_hash ? a->req_hash : "") != 0)
            st = nn_error_set(err, NN_ERR_CONFLICT,
                              "Idempotency-Key reused with a different request");
        else
            srv__pg_copy(r, 0, 0, id, sizeof id);
    }
    PQclear(r);
    if (st || !id[0]) return st;
    a->found = 1;
    return srv__pg_run_get(s, id, &a->existing, 0, err);
}

static nn_status check_queue_room(srv_store *s, int64_t max_queued, nn_error *err) {
    nn_status st = srv__pg_cmd(s, "SELECT pg_advisory_xact_lock(" QUEUE_LOCK ")", NULL, NULL,
                               "locking the queue count", err);
    PGresult *r = NULL;
    if (!st)
        st = srv__pg_exec(s, "SELECT count(*) FROM runs WHERE status = 'queued'", NULL, &r,
                          "counting queued runs", err);
    if (st) return st;
    int64_t queued = srv__pg_int(r, 0, 0);
    PQclear(r);
    if (queued >= max_queued)
        return nn_error_set(err, NN_ERR_TOO_MANY, "%lld runs are waiting already",
                            (long long)queued);
    return NN_OK;
}

static nn_status insert_run(srv_store *s, const create_arg *a, nn_error *err) {
    const srv_run *run = a->run;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run->id);
    srv__pgq_text(&q, run->dataset_id[0] ? run->dataset_id : NULL);
    srv__pgq_text(&q, a->spec_text);
    srv__pgq_text(&q, run->spec_hash);
    srv__pgq_text(&q, run->spec_name);
    srv__pgq_int(&q, run->created_at);
    srv__pgq_text(&q, a->idem_key);
    srv__pgq_text(&q, a->idem_key ? (a->req_hash ? a->req_hash : "") : NULL);
    srv__pgq_int(&q, run->n_folds);
    srv__pgq_int(&q, run->n_tasks);
    nn_status st =
        srv__pg_cmd(s,
                    "INSERT INTO runs (id, dataset_id, status, progress, spec_json, "
                    "spec_hash, spec_name, created_at, idem_key, req_hash, n_folds, "
                    "n_tasks) VALUES ($1, $2, 'queued', 0, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &q, NULL, "creating a run", err);
    if (st == NN_ERR_NOT_FOUND)
        return nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", run->dataset_id);
    if (st) return st;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run->id);
    srv__pgq_int(&q, run->n_folds);
    srv__pgq_int(&q, run->n_tasks);
    srv__pgq_int(&q, run->epochs_per_task);
    st = srv__pg_cmd(s,
                     "INSERT INTO tasks (run_id, task, kind, state, epochs_total) "
                     "SELECT $1, g, CASE WHEN g < $2 THEN 'fold' ELSE 'final' END, "
                     "CASE WHEN g < $2 OR $2 = 0 THEN 'ready' ELSE 'waiting' END, $4 "
                     "FROM generate_series(0, $3 - 1) AS g",
                     &q, NULL, "creating the tasks of a run", err);
    if (!st) srv__pg_notify(s, SRV_PG_TASKS, run->id);
    return st;
}

static nn_status create_body(srv_store *s, void *arg, nn_error *err) {
    create_arg *a = arg;
    srv_run_free(&a->existing);
    a->found = 0;
    nn_status st = a->idem_key ? find_idem(s, a, err) : NN_OK;
    if (st || a->found) return st;
    const srv_run *run = a->run;
    if (run->n_tasks < 1 || run->n_folds < 0 || run->n_tasks > run->n_folds + 1)
        return nn_error_set(err, NN_ERR_INVALID, "a run needs 1 to n_folds + 1 tasks");
    if (a->max_queued > 0 && (st = check_queue_room(s, a->max_queued, err))) return st;
    return insert_run(s, a, err);
}

nn_status srv__pg_run_create(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                             int64_t max_queued, int *created, nn_error *err) {
    if (!run->spec) return nn_error_set(err, NN_ERR_INVALID, "a run needs a spec");
    if (!run->id[0] && srv_new_id(run->id, err)) return err ? err->code : NN_ERR_IO;
    if (!run->created_at) run->created_at = srv__now_ms();
    char *spec_text = json_dumps(run->spec, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!spec_text) return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing a run");
    create_arg a = {run, spec_text, idem_key, req_hash, max_queued, {.status = SRV_RUN_QUEUED}, 0};
    nn_status st = srv__pg_tx(s, create_body, &a, err);
    if (st == NN_ERR_CONFLICT && idem_key && !strcmp(s->pg->sqlstate, "23505"))
        st = srv__pg_tx(s, create_body, &a, err); /* the same key raced us: its run is stored */
    free(spec_text);
    if (st) {
        srv_run_free(&a.existing);
        return st;
    }
    if (a.found) {
        srv_run_free(run);
        *run = a.existing;
    } else {
        run->status = SRV_RUN_QUEUED;
        run->progress = 0;
        run->started_at = run->finished_at = 0;
        run->attempts = run->cancel_requested = 0;
    }
    *created = !a.found;
    return NN_OK;
}

/* ---- the list ---- */

static int parse_cursor(const char *cursor, int64_t *created_at, char id[SRV_ID_LEN + 1]) {
    if (cursor[0] < '0' || cursor[0] > '9') return 0;
    char *end;
    errno = 0;
    long long t = strtoll(cursor, &end, 10);
    if (errno || *end != '.' || strlen(end + 1) != SRV_ID_LEN) return 0;
    for (const char *p = end + 1; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    *created_at = t;
    memcpy(id, end + 1, SRV_ID_LEN + 1);
    return 1;
}

static const char *const summary_keys[] = {"id",          "dataset",   "status",     "progress",
                                           "name",        "spec_hash", "created_at", "started_at",
                                           "finished_at", "r2",        "rmse",       "mae",
                                           "accuracy",    "log_loss",  "task"};

static json_t *run_summary(const PGresult *r, int row) {
    json_t *o = json_object();
    for (int i = 0; o && i < 15; i++) {
        json_t *v;
        if (i == 3)
            v = json_real(srv__pg_real(r, row, i));
        else if (srv__pg_null(r, row, i))
            v = json_null();
        else if (i >= 6 && i <= 8)
            v = json_integer((json_int_t)srv__pg_int(r, row, i));
        else if (i >= 9 && i <= 13)
            v = isfinite(srv__pg_real(r, row, i)) ? json_real(srv__pg_real(r, row, i))
                                                  : json_null();
        else
            v = json_string(PQgetvalue(r, row, i));
        if (json_object_set_new(o, summary_keys[i], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

#define METRIC(k)                                                                                  \
    "CASE WHEN json_typeof(metrics_json::json -> '" k "') = 'number' "                             \
    "THEN (metrics_json::json ->> '" k "')::float8 END"

nn_status srv__pg_run_list(srv_store *s, int status, const char *dataset, const char *cursor,
                           int limit, json_t **out, char **next_cursor, nn_error *err) {
    if (limit <= 0) limit = RUN_LIST_DEFAULT;
    if (limit > RUN_LIST_MAX) limit = RUN_LIST_MAX;
    if (status != -1 && (status < 0 || status > (int)SRV_RUN_CANCELLED))
        return nn_error_set(err, NN_ERR_INVALID, "invalid run status %d", status);
    int64_t t = 0;
    char id[SRV_ID_LEN + 1] = "";
    if (cursor && !parse_cursor(cursor, &t, id))
        return nn_error_set(err, NN_ERR_INVALID, "invalid cursor");
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, status != -1 ? srv__run_status_sql((srv_run_status)status) : NULL);
    srv__pgq_text(&q, dataset);
    if (cursor)
        srv__pgq_int(&q, t);
    else
        srv__pgq_text(&q, NULL);
    srv__pgq_text(&q, cursor ? id : NULL);
    srv__pgq_int(&q, limit + 1); /* one more tells whether there is a next page */
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(
        s,
        "SELECT id, dataset_id, status, progress, spec_name, spec_hash, created_at, started_at, "
        "finished_at, " METRIC("r2") ", " METRIC("rmse") ", " METRIC("mae") ", " METRIC(
            "accuracy") ", " METRIC("log_loss") ", metrics_json::json ->> 'task' FROM runs "
                                                "WHERE ($1::text IS NULL OR status = $1) AND "
                                                "($2::text IS NULL OR dataset_id = "
                                                "$2) "
                                                "AND ($3::bigint IS NULL OR (created_at, id) < "
                                                "($3, $4::text)) "
                                                "ORDER BY created_at DESC, id DESC LIMIT $5",
        &q, &r, "listing runs", err);
    if (st) return st;
    json_t *list = json_array();
    char *next = NULL;
    int n = PQntuples(r), nomem = !list;
    for (int i = 0; !nomem && i < n && i < limit; i++) {
        json_t *o = run_summary(r, i);
        nomem = !o || json_array_append_new(list, o) != 0;
    }
    if (!nomem && n > limit) {
        next = malloc(CURSOR_MAX);
        if (next)
            (void)snprintf(next, CURSOR_MAX, "%" PRId64 ".%s", srv__pg_int(r, limit - 1, 6),
                           PQgetvalue(r, limit - 1, 0));
        nomem = !next;
    }
    PQclear(r);
    if (nomem) {
        json_decref(list);
        free(next);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory listing runs");
    }
    *out = list;
    *next_cursor = next;
    return NN_OK;
}

nn_status srv__pg_run_counts(srv_store *s, long long counts[5], nn_error *err) {
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT status, count(*) FROM runs GROUP BY status", NULL, &r,
                                "counting runs", err);
    if (st) return st;
    memset(counts, 0, 5 * sizeof *counts);
    for (int i = 0; i < PQntuples(r); i++) {
        srv_run_status status;
        if (srv_run_status_from_name(PQgetvalue(r, i, 0), &status))
            counts[status] = srv__pg_int(r, i, 1);
    }
    PQclear(r);
    return NN_OK;
}
