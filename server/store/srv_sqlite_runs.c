/* srv_sqlite_runs.c — the runs table (SQLite backend): creation with idempotency keys and task
 * rows, reads, the paginated list (see srv_store.h; the task rows are srv_sqlite_queue.c's, results
 * srv_sqlite_results.c's and events srv_sqlite_events.c's).
 *
 * DESIGN: the run list is paginated by keyset, not offset: rows are ordered newest first by
 * (created_at, id), and the cursor names the last row of the previous page as
 * "<created_at>.<id>", so the next page is the rows strictly below it in that order. Runs created
 * or deleted between two pages cause neither gaps nor duplicates.
 */
#include "srv_sqlite.h"

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
#define CURSOR_MAX 64 /* 20 digits, '.', 32 hex, '\0' */

static json_t *load_json(sqlite3_stmt *st, int col) {
    const char *text = (const char *)sqlite3_column_text(st, col);
    json_error_t jerr;
    return text ? json_loads(text, JSON_DECODE_ANY, &jerr) : NULL;
}

/* Fills out from a row of RUN_COLUMNS; on failure the caller still frees out. */
static nn_status read_run(sqlite3_stmt *st, srv_run *out, int as_text, nn_error *err) {
    memset(out, 0, sizeof *out);
    srv__column_copy(st, 0, out->id, sizeof out->id);
    srv__column_copy(st, 1, out->dataset_id, sizeof out->dataset_id);
    const char *status = (const char *)sqlite3_column_text(st, 2);
    if (!srv_run_status_from_name(status, &out->status))
        return nn_error_set(err, NN_ERR_IO, "run %s: unknown status", out->id);
    out->progress = sqlite3_column_double(st, 3);
    srv__column_copy(st, 5, out->spec_hash, sizeof out->spec_hash);
    out->created_at = sqlite3_column_int64(st, 9);
    out->started_at = sqlite3_column_int64(st, 10);
    out->finished_at = sqlite3_column_int64(st, 11);
    out->attempts = sqlite3_column_int(st, 12);
    out->cancel_requested = sqlite3_column_int(st, 13);
    out->n_folds = sqlite3_column_int(st, 14);
    out->n_tasks = sqlite3_column_int(st, 15);
    int nomem = 0;
    if (as_text) {
        nomem |= !(out->spec_text = srv__column_dup(st, 4));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL)
            nomem |= !(out->metrics_text = srv__column_dup(st, 7));
    } else if (!(out->spec = load_json(st, 4))) {
        return nn_error_set(err, NN_ERR_IO, "run %s: stored spec is not JSON", out->id);
    }
    if (sqlite3_column_type(st, 6) != SQLITE_NULL)
        nomem |= !(out->spec_name = srv__column_dup(st, 6));
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) nomem |= !(out->error = srv__column_dup(st, 8));
    if (nomem) return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading run %s", out->id);
    if (!as_text && sqlite3_column_type(st, 7) != SQLITE_NULL && !(out->metrics = load_json(st, 7)))
        return nn_error_set(err, NN_ERR_IO, "run %s: stored metrics are not JSON", out->id);
    return NN_OK;
}

nn_status srv__sq_run_get(srv_store *s, const char *id, srv_run *out, int as_text, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    srv_run tmp = {0};
    nn_status status;
    if (rc == SQLITE_ROW)
        status = read_run(st, &tmp, as_text, err);
    else if (rc == SQLITE_DONE)
        status = nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", id);
    else
        status = srv__db_error(s, rc, err, "reading run %s", id);
    srv__finish(s, st);
    if (status) {
        srv_run_free(&tmp);
        return status;
    }
    *out = tmp;
    return NN_OK;
}

/* Looks up idem_key: *existing gets the run's id ("" when the key is new). */
static nn_status find_idem(srv_store *s, const char *idem_key, const char *req_hash,
                           char existing[SRV_ID_LEN + 1], nn_error *err) {
    sqlite3_stmt *st;
    existing[0] = '\0';
    if (srv__prepare(s, "SELECT id, coalesce(req_hash, '') FROM runs WHERE idem_key = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, idem_key);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(st, 1), req_hash ? req_hash : "") != 0)
            status = nn_error_set(err, NN_ERR_CONFLICT,
                                  "Idempotency-Key reused with a different request");
        else
            srv__column_copy(st, 0, existing, SRV_ID_LEN + 1);
    } else if (rc != SQLITE_DONE) {
        status = srv__db_error(s, rc, err, "looking up an idempotency key");
    }
    srv__finish(s, st);
    return status;
}

static nn_status check_dataset(srv_store *s, const char *id, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT 1 FROM datasets WHERE id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_DONE)
        status = nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", id);
    else if (rc != SQLITE_ROW)
        status = srv__db_error(s, rc, err, "reading dataset %s", id);
    srv__finish(s, st);
    return status;
}

/* Inside a write transaction: the run's task rows (folds ready; the final fit waiting for them,
 * or ready when there are no folds). */
static nn_status insert_tasks(srv_store *s, const srv_run *run, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "INSERT INTO tasks (run_id, task, kind, state, epochs_total) "
                     "VALUES (?1, ?2, CASE WHEN ?2 < ?3 THEN 'fold' ELSE 'final' END, "
                     "CASE WHEN ?2 < ?3 OR ?3 = 0 THEN 'ready' ELSE 'waiting' END, ?4)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run->id);
    sqlite3_bind_int(st, 3, run->n_folds);
    sqlite3_bind_int64(st, 4, run->epochs_per_task);
    nn_status status = NN_OK;
    for (int t = 0; t < run->n_tasks && !status; t++) {
        sqlite3_bind_int(st, 2, t);
        int rc = srv__step(st);
        if (rc != SQLITE_DONE)
            status = srv__db_error(s, rc, err, "creating the tasks of %s", run->id);
        sqlite3_reset(st);
    }
    srv__finish(s, st);
    return status;
}

static nn_status insert_run(srv_store *s, const srv_run *run, const char *spec_text,
                            const char *idem_key, const char *req_hash, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "INSERT INTO runs (id, dataset_id, status, progress, spec_json, spec_hash, "
                     "spec_name, created_at, idem_key, req_hash, n_folds, n_tasks) "
                     "VALUES (?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run->id);
    srv__bind_text(st, 2, run->dataset_id[0] ? run->dataset_id : NULL);
    srv__bind_text(st, 3, spec_text);
    srv__bind_text(st, 4, run->spec_hash);
    srv__bind_text(st, 5, run->spec_name);
    sqlite3_bind_int64(st, 6, run->created_at);
    srv__bind_text(st, 7, idem_key);
    srv__bind_text(st, 8, idem_key ? (req_hash ? req_hash : "") : NULL);
    sqlite3_bind_int(st, 9, run->n_folds);
    sqlite3_bind_int(st, 10, run->n_tasks);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc != SQLITE_DONE) status = srv__db_error(s, rc, err, "creating run %s", run->id);
    srv__finish(s, st);
    return status ? status : insert_tasks(s, run, err);
}

/* NN_ERR_TOO_MANY when max_queued runs are queued (max_queued ≤ 0: no limit). Inside the
 * write transaction of the insert, so concurrent creations cannot all pass the count. */
static nn_status check_queue_room(srv_store *s, int64_t max_queued, nn_error *err) {
    if (max_queued <= 0) return NN_OK;
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT count(*) FROM runs WHERE status = 'queued'", &st, err))
        return err ? err->code : NN_ERR_IO;
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc != SQLITE_ROW)
        status = srv__db_error(s, rc, err, "counting queued runs");
    else if (sqlite3_column_int64(st, 0) >= max_queued)
        status = nn_error_set(err, NN_ERR_TOO_MANY, "%lld runs are waiting already",
                              (long long)sqlite3_column_int64(st, 0));
    srv__finish(s, st);
    return status;
}

/* Inside a write transaction: the existing run for idem_key in *existing, or a new row. */
static nn_status create_locked(srv_store *s, srv_run *run, const char *spec_text,
                               const char *idem_key, const char *req_hash, int64_t max_queued,
                               srv_run *existing, int *found, nn_error *err) {
    char id[SRV_ID_LEN + 1] = "";
    nn_status status = idem_key ? find_idem(s, idem_key, req_hash, id, err) : NN_OK;
    if (status) return status;
    if (id[0]) {
        *found = 1;
        return srv__sq_run_get(s, id, existing, 0, err);
    }
    if (run->dataset_id[0] && (status = check_dataset(s, run->dataset_id, err))) return status;
    if (run->n_tasks < 1 || run->n_folds < 0 || run->n_tasks > run->n_folds + 1)
        return nn_error_set(err, NN_ERR_INVALID, "a run needs 1 to n_folds + 1 tasks");
    if ((status = check_queue_room(s, max_queued, err))) return status;
    return insert_run(s, run, spec_text, idem_key, req_hash, err);
}

nn_status srv__sq_run_create(srv_store *s, srv_run *run, const char *idem_key, const char *req_hash,
                             int64_t max_queued, int *created, nn_error *err) {
    if (!run->spec) return nn_error_set(err, NN_ERR_INVALID, "a run needs a spec");
    if (!run->id[0] && srv_new_id(run->id, err)) return err ? err->code : NN_ERR_IO;
    if (!run->created_at) run->created_at = srv__now_ms();
    char *spec_text = json_dumps(run->spec, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!spec_text) return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing a run");
    nn_status status = srv__begin(s, err);
    srv_run existing = {0};
    int found = 0;
    if (!status)
        status = create_locked(s, run, spec_text, idem_key, req_hash, max_queued, &existing, &found,
                               err);
    free(spec_text);
    if (status) {
        srv_run_free(&existing);
        srv__rollback(s);
        return status;
    }
    if ((status = srv__commit(s, err))) {
        srv_run_free(&existing);
        return status;
    }
    if (found) {
        srv_run_free(run);
        *run = existing;
    } else {
        run->status = SRV_RUN_QUEUED;
        run->progress = 0;
        run->started_at = run->finished_at = 0;
        run->attempts = run->cancel_requested = 0;
    }
    *created = !found;
    return NN_OK;
}

/* Parses "<created_at>.<id>"; 0 when malformed. */
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

static json_t *nullable_int(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(st, col));
}

static json_t *nullable_text(sqlite3_stmt *st, int col) {
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? json_string(t) : json_null();
}

static json_t *nullable_number(sqlite3_stmt *st, int col) {
    int type = sqlite3_column_type(st, col);
    double v = sqlite3_column_double(st, col);
    if ((type != SQLITE_FLOAT && type != SQLITE_INTEGER) || !isfinite(v)) return json_null();
    return json_real(v);
}

/* A run summary from a row of the list query. */
static const char *const summary_keys[] = {"id",          "dataset",   "status",     "progress",
                                           "name",        "spec_hash", "created_at", "started_at",
                                           "finished_at", "r2",        "rmse",       "mae",
                                           "accuracy",    "log_loss",  "task"};

static json_t *run_summary(sqlite3_stmt *st) {
    json_t *o = json_object();
    for (int i = 0; o && i < 15; i++) {
        json_t *v;
        if (i == 3)
            v = json_real(sqlite3_column_double(st, i));
        else if (i >= 6 && i <= 8)
            v = nullable_int(st, i);
        else if (i >= 9 && i <= 13)
            v = nullable_number(st, i);
        else
            v = nullable_text(st, i);
        if (json_object_set_new(o, summary_keys[i], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static nn_status bind_list(sqlite3_stmt *st, int status, const char *dataset, const char *cursor,
                           int limit, nn_error *err) {
    if (status != -1 && (status < 0 || status > (int)SRV_RUN_CANCELLED))
        return nn_error_set(err, NN_ERR_INVALID, "invalid run status %d", status);
    if (status != -1) srv__bind_text(st, 1, srv__run_status_sql((srv_run_status)status));
    srv__bind_text(st, 2, dataset);
    if (cursor) {
        int64_t t;
        char id[SRV_ID_LEN + 1];
        if (!parse_cursor(cursor, &t, id))
            return nn_error_set(err, NN_ERR_INVALID, "invalid cursor");
        sqlite3_bind_int64(st, 3, t);
        srv__bind_text(st, 4, id);
    }
    sqlite3_bind_int(st, 5, limit + 1); /* one more tells whether there is a next page */
    return NN_OK;
}

static char *make_cursor(int64_t created_at, const char *id) {
    char *c = malloc(CURSOR_MAX);
    if (c) (void)snprintf(c, CURSOR_MAX, "%" PRId64 ".%s", created_at, id);
    return c;
}

nn_status srv__sq_run_list(srv_store *s, int status, const char *dataset, const char *cursor,
                           int limit, json_t **out, char **next_cursor, nn_error *err) {
    if (limit <= 0) limit = RUN_LIST_DEFAULT;
    if (limit > RUN_LIST_MAX) limit = RUN_LIST_MAX;
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT id, dataset_id, status, progress, spec_name, spec_hash, created_at, "
                     "started_at, finished_at, json_extract(metrics_json, '$.r2'), "
                     "json_extract(metrics_json, '$.rmse'), json_extract(metrics_json, '$.mae'), "
                     "json_extract(metrics_json, '$.accuracy'), "
                     "json_extract(metrics_json, '$.log_loss'), "
                     "json_extract(metrics_json, '$.task') "
                     "FROM runs WHERE (?1 IS NULL OR status = ?1) "
                     "AND (?2 IS NULL OR dataset_id = ?2) "
                     "AND (?3 IS NULL OR (created_at, id) < (?3, ?4)) "
                     "ORDER BY created_at DESC, id DESC LIMIT ?5",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    nn_status result = bind_list(st, status, dataset, cursor, limit, err);
    json_t *list = result ? NULL : json_array();
    char *next = NULL;
    int rc = list ? srv__step(st) : SQLITE_NOMEM, n = 0;
    for (; rc == SQLITE_ROW && !result; rc = sqlite3_step(st), n++) {
        if (n == limit) {
            json_t *last = json_array_get(list, (size_t)n - 1);
            next = make_cursor(json_integer_value(json_object_get(last, "created_at")),
                               json_string_value(json_object_get(last, "id")));
            if (!next) result = nn_error_set(err, NN_ERR_NOMEM, "out of memory listing runs");
            rc = SQLITE_DONE;
            break;
        }
        json_t *o = run_summary(st);
        if (!o || json_array_append_new(list, o) != 0)
            result = nn_error_set(err, NN_ERR_NOMEM, "out of memory listing runs");
    }
    if (!result && rc != SQLITE_DONE) result = srv__db_error(s, rc, err, "listing runs");
    srv__finish(s, st);
    if (result) {
        json_decref(list);
        free(next);
        return result;
    }
    *out = list;
    *next_cursor = next;
    return NN_OK;
}

/* One pass over the status index. */
nn_status srv__sq_run_counts(srv_store *s, long long counts[5], nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT status, count(*) FROM runs GROUP BY status", &st, err))
        return err ? err->code : NN_ERR_IO;
    memset(counts, 0, 5 * sizeof *counts);
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        srv_run_status status;
        if (srv_run_status_from_name((const char *)sqlite3_column_text(st, 0), &status))
            counts[status] = sqlite3_column_int64(st, 1);
    }
    nn_status result = NN_OK;
    if (rc != SQLITE_DONE) result = srv__db_error(s, rc, err, "counting runs");
    srv__finish(s, st);
    return result;
}
