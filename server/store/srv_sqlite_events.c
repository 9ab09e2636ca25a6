/* srv_sqlite_events.c — a run's event stream in the events table (see srv_store.h): fenced puts
 * from the event writer, unfenced appends, reads (SQLite backend). */
#include "srv_sqlite.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nn_status srv__sq_event_last_seq(srv_store *s, const char *run_id, int64_t *seq, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "SELECT coalesce(max(seq), 0) FROM events WHERE run_id = ?", &st, err))
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

static nn_status check_event(const char *run_id, const srv_event *e, int64_t want, nn_error *err) {
    size_t len = strnlen(e->type, sizeof e->type);
    if (len == 0 || len == sizeof e->type)
        return nn_error_set(err, NN_ERR_INVALID, "run %s: event %lld has no valid type", run_id,
                            (long long)e->seq);
    if (!e->data)
        return nn_error_set(err, NN_ERR_INVALID, "run %s: event %lld has no data", run_id,
                            (long long)e->seq);
    if (e->seq != want)
        return nn_error_set(err, NN_ERR_INVALID, "run %s: event seq %lld does not follow %lld",
                            run_id, (long long)e->seq, (long long)(want - 1));
    return NN_OK;
}

nn_status srv__insert_event(srv_store *s, const char *run_id, const srv_event *e, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "INSERT INTO events (run_id, seq, type, data, created_at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 2, e->seq);
    srv__bind_text(st, 3, e->type);
    srv__bind_text(st, 4, e->data);
    sqlite3_bind_int64(st, 5, srv__now_ms());
    int rc = srv__step(st);
    srv__finish(s, st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return nn_error_set(err, NN_ERR_INVALID, "run %s: event %lld is stored already", run_id,
                            (long long)e->seq);
    return rc == SQLITE_DONE
               ? NN_OK
               : srv__db_error(s, rc, err, "run %s: storing event %lld", run_id, (long long)e->seq);
}

/* Inside a write transaction: inserts events after the run's last seq. */
static nn_status insert_events(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                               nn_error *err) {
    int64_t last = 0;
    nn_status status = srv__sq_event_last_seq(s, run_id, &last, err);
    sqlite3_stmt *st;
    if (status || srv__prepare(s,
                               "INSERT INTO events (run_id, seq, type, data, created_at) "
                               "VALUES (?, ?, ?, ?, ?)",
                               &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 5, srv__now_ms());
    for (size_t i = 0; i < n && !status; i++) {
        status = check_event(run_id, &events[i], last + 1 + (int64_t)i, err);
        if (status) break;
        sqlite3_bind_int64(st, 2, events[i].seq);
        srv__bind_text(st, 3, events[i].type);
        srv__bind_text(st, 4, events[i].data);
        int rc = srv__step(st);
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            status = nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", run_id);
        else if (rc != SQLITE_DONE)
            status = srv__db_error(s, rc, err, "run %s: appending event %lld", run_id,
                                   (long long)events[i].seq);
        sqlite3_reset(st);
    }
    srv__finish(s, st);
    return status;
}

nn_status srv__sq_event_append(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                               nn_error *err) {
    nn_status status = srv__begin(s, err);
    if (status) return status;
    status = insert_events(s, run_id, events, n, err);
    if (status) {
        srv__rollback(s);
        return status;
    }
    return srv__commit(s, err);
}

nn_status srv__sq_event_list(srv_store *s, const char *run_id, int64_t after, int limit,
                             srv_event **out, size_t *n, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT seq, type, data FROM events WHERE run_id = ? AND seq > ? "
                     "ORDER BY seq LIMIT ?",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, limit);
    srv_event *ev = NULL;
    size_t count = 0, cap = 0;
    int rc = srv__step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            srv_event *ne = realloc(ev, ncap * sizeof *ne);
            if (!ne) break;
            ev = ne;
            cap = ncap;
        }
        ev[count].seq = sqlite3_column_int64(st, 0);
        srv__column_copy(st, 1, ev[count].type, sizeof ev[count].type);
        if (!(ev[count].data = srv__column_dup(st, 2))) break;
        count++;
    }
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW)
        status = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading events of %s", run_id);
    else if (rc != SQLITE_DONE)
        status = srv__db_error(s, rc, err, "reading the events of run %s", run_id);
    srv__finish(s, st);
    if (status) {
        srv_events_free(ev, count);
        return status;
    }
    *out = ev;
    *n = count;
    return NN_OK;
}

/* Inside a write transaction: whether t is held by node (fence). */
static nn_status task_held(srv_store *s, const char *node, const srv_task_ref *t, int *held,
                           nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT 1 FROM tasks WHERE run_id = ? AND task = ? AND owner = ? "
                     "AND attempt = ? AND state = 'running'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, t->run_id);
    sqlite3_bind_int(st, 2, t->task);
    srv__bind_text(st, 3, node);
    sqlite3_bind_int(st, 4, t->attempt);
    int rc = srv__step(st);
    *held = rc == SQLITE_ROW;
    nn_status status =
        (rc == SQLITE_ROW || rc == SQLITE_DONE)
            ? NN_OK
            : srv__db_error(s, rc, err, "checking the lease of %s/%d", t->run_id, t->task);
    srv__finish(s, st);
    return status;
}

/* Inside a write transaction: task t's epochs_done and its run's progress (fenced by the
 * caller's check). */
static nn_status put_progress(srv_store *s, const srv_task_ref *t, int64_t epochs, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "UPDATE tasks SET epochs_done = min(?3, epochs_total) "
                     "WHERE run_id = ?1 AND task = ?2",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, t->run_id);
    sqlite3_bind_int(st, 2, t->task);
    sqlite3_bind_int64(st, 3, epochs);
    int rc = srv__step(st);
    srv__finish(s, st);
    if (rc != SQLITE_DONE) return srv__db_error(s, rc, err, "progress of %s", t->run_id);
    if (srv__prepare(s,
                     "UPDATE runs SET progress = (SELECT min(1.0, 1.0 * sum(epochs_done) / "
                     "max(1, sum(epochs_total))) FROM tasks WHERE run_id = ?1) "
                     "WHERE id = ?1 AND status = 'running'",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, t->run_id);
    rc = srv__step(st);
    srv__finish(s, st);
    return rc == SQLITE_DONE ? NN_OK : srv__db_error(s, rc, err, "progress of %s", t->run_id);
}

/* The data of the log event that stands in for a dropped one. */
static char *dropped_data(const srv_event_put *e) {
    json_t *o = json_pack("{s:s, s:s, s:i, s:i}", "message",
                          "dropped: its task no longer held its lease (another attempt trains it)",
                          "dropped", e->type, "task", e->fence->task, "attempt", e->fence->attempt);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static nn_status put_locked(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                            size_t *dropped, nn_error *err) {
    sqlite3_stmt *ins;
    if (srv__prepare(s,
                     "INSERT INTO events (run_id, seq, type, data, created_at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     &ins, err))
        return err ? err->code : NN_ERR_IO;
    sqlite3_bind_int64(ins, 5, srv__now_ms());
    nn_status status = NN_OK;
    const srv_task_ref *checked = NULL; /* the last fence checked, and its answer */
    int held = 0;
    for (size_t i = 0; i < n && !status; i++) {
        const srv_event_put *e = &ev[i];
        size_t tl = e->type ? strnlen(e->type, 16) : 0;
        if (tl == 0 || tl == 16 || !e->data) {
            status = nn_error_set(err, NN_ERR_INVALID, "run %s: event %lld is malformed", e->run_id,
                                  (long long)e->seq);
            break;
        }
        if (e->fence && e->fence != checked) {
            status = task_held(s, node, e->fence, &held, err);
            checked = e->fence;
            if (status) break;
        }
        char *stand_in = NULL;
        if (e->fence && !held) {
            if (!(stand_in = dropped_data(e))) {
                status = nn_error_set(err, NN_ERR_NOMEM, "out of memory storing events");
                break;
            }
            (*dropped)++;
        }
        srv__bind_text(ins, 1, e->run_id);
        sqlite3_bind_int64(ins, 2, e->seq);
        srv__bind_text(ins, 3, stand_in ? "log" : e->type);
        srv__bind_text(ins, 4, stand_in ? stand_in : e->data);
        int rc = srv__step(ins);
        free(stand_in);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            status = nn_error_set(err, NN_ERR_INVALID, "run %s: event %lld is stored already",
                                  e->run_id, (long long)e->seq);
        else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            status = nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", e->run_id);
        else if (rc != SQLITE_DONE)
            status = srv__db_error(s, rc, err, "run %s: storing event %lld", e->run_id,
                                   (long long)e->seq);
        sqlite3_reset(ins);
        /* progress: once per task per batch, from its last event */
        int last_of_task = i + 1 == n || ev[i + 1].fence != e->fence;
        if (!status && e->fence && held && e->epochs_done >= 0 && last_of_task)
            status = put_progress(s, e->fence, e->epochs_done, err);
    }
    srv__finish(s, ins);
    return status;
}

nn_status srv__sq_events_put(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                             size_t *dropped, nn_error *err) {
    nn_status status = srv__begin(s, err);
    if (status) return status;
    status = put_locked(s, node, ev, n, dropped, err);
    if (status) {
        srv__rollback(s);
        *dropped = 0;
        return status;
    }
    return srv__commit(s, err);
}
