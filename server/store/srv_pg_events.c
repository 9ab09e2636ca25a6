/* srv_pg_events.c — a run's events in PostgreSQL: numbered by the inserting transaction,
 * fenced by their task's lease, NOTIFY after commit (see srv_store.h).
 *
 * DESIGN: several nodes write events of one run (its folds train on different nodes), so the
 * numbers cannot come from one node's memory. A batch (srv__pg_events_put) checks each task's
 * fence once and records its progress in the same statement (UPDATE … WHERE the lease is held,
 * which also locks the task row), then for each run, in run id order, takes the numbers it needs
 * with UPDATE runs SET last_seq = last_seq + k … RETURNING: the run row stays locked until
 * COMMIT, so another batch of the run gets the numbers after ours and commits after ours —
 * commit order is number order, and a reader that has seen number n will never later find a
 * smaller one appear (a global serial would hand out numbers in one order and commit them in
 * another). Events of a task that lost its lease are left out, not stood in for: nothing has
 * numbered them yet. The node's writer mark (event_marks) records the highest writer number
 * stored, so a batch retried after a commit whose answer was lost is recognized and not stored
 * twice. After COMMIT one NOTIFY per run wakes streams on every node (srv_listen.h).
 */
#include "srv_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv__pg_event_row(srv_pgbuf *buf, const char *run_id, int64_t seq, const char *type,
                       const char *data) {
    srv__pgbuf_str(buf, run_id);
    srv__pgbuf_printf(buf, "\t%lld\t", (long long)seq);
    srv__pgbuf_copy_field(buf, type);
    srv__pgbuf_add(buf, "\t", 1);
    srv__pgbuf_copy_field(buf, data);
    srv__pgbuf_printf(buf, "\t%lld\n", (long long)srv__now_ms());
}

nn_status srv__pg_alloc_seq(srv_store *s, const char *run_id, int64_t n, int64_t *first,
                            nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    srv__pgq_int(&q, n);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "UPDATE runs SET last_seq = last_seq + $2 WHERE id = $1 "
                                "RETURNING last_seq",
                                &q, &r, "numbering events", err);
    if (st) return st;
    if (PQntuples(r) == 0)
        st = nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", run_id);
    else
        *first = srv__pg_int(r, 0, 0) - n + 1;
    PQclear(r);
    return st;
}

/* srv__pg_alloc_seq for a run still queued or running: *first = 0 when it has finished. */
static nn_status alloc_live(srv_store *s, const char *run_id, int64_t n, int64_t *first,
                            nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    srv__pgq_int(&q, n);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "UPDATE runs SET last_seq = last_seq + $2 WHERE id = $1 "
                                "AND status IN ('queued', 'running') RETURNING last_seq",
                                &q, &r, "numbering events", err);
    if (st) return st;
    int live = PQntuples(r) > 0;
    *first = live ? srv__pg_int(r, 0, 0) - n + 1 : 0;
    PQclear(r);
    if (live) return NN_OK;
    srv_pgq k;
    srv__pgq_init(&k);
    srv__pgq_text(&k, run_id);
    st = srv__pg_exec(s, "SELECT 1 FROM runs WHERE id = $1", &k, &r, "reading a run", err);
    if (st) return st;
    int known = PQntuples(r) > 0;
    PQclear(r);
    return known ? NN_OK : nn_error_set(err, NN_ERR_NOT_FOUND, "run %s not found", run_id);
}

static int valid_type(const char *type) {
    size_t tl = type ? strnlen(type, 16) : 0;
    return tl > 0 && tl < 16;
}

typedef struct put_arg {
    const char *node;
    const srv_event_put *ev;
    size_t n;
    size_t dropped;
    int64_t *seq; /* (n) the number given to each event, 0 when left out */
} put_arg;

static int same_fence(const srv_task_ref *a, const srv_task_ref *b) {
    return a == b || (a && b && a->task == b->task && a->attempt == b->attempt &&
                      strcmp(a->run_id, b->run_id) == 0);
}

/* Checks the fence of every task in the batch and records its progress (its last event's);
 * marks the events of a task that lost its lease with seq −1. */
static nn_status check_fences(srv_store *s, put_arg *a, nn_error *err) {
    for (size_t i = 0; i < a->n; i++) {
        const srv_task_ref *f = a->ev[i].fence;
        if (!f || a->seq[i] != 0) continue;
        int64_t epochs = -1; /* the task's last progress in the batch */
        for (size_t k = i; k < a->n; k++)
            if (same_fence(a->ev[k].fence, f) && a->ev[k].epochs_done >= 0)
                epochs = a->ev[k].epochs_done;
        srv_pgq q;
        srv__pgq_init(&q);
        srv__pgq_text(&q, f->run_id);
        srv__pgq_int(&q, f->task);
        srv__pgq_text(&q, a->node);
        srv__pgq_int(&q, f->attempt);
        srv__pgq_int(&q, epochs);
        int held = 0;
        nn_status st = srv__pg_cmd(
            s,
            "UPDATE tasks SET epochs_done = CASE WHEN $5 >= 0 THEN LEAST($5, epochs_total) "
            "ELSE epochs_done END WHERE run_id = $1 AND task = $2 AND owner = $3 "
            "AND attempt = $4 AND state = 'running' AND lease_until >= " SRV_PG_NOW,
            &q, &held, "checking a lease", err);
        if (st) return st;
        for (size_t k = i; k < a->n; k++)
            if (a->seq[k] == 0 && same_fence(a->ev[k].fence, f))
                a->seq[k] = held ? 1 : -1; /* 1: kept, numbered later */
    }
    return NN_OK;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Numbers the kept events run by run (in run id order, the order every writer locks runs in)
 * and updates each run's progress. */
static nn_status number_events(srv_store *s, put_arg *a, nn_error *err) {
    if (a->n == 0) return NN_OK;
    const char **runs = malloc(a->n * sizeof *runs);
    if (!runs) return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing events");
    size_t nr = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->seq[i] >= 0) runs[nr++] = a->ev[i].run_id;
    qsort(runs, nr, sizeof *runs, cmp_str);
    nn_status st = NN_OK;
    for (size_t i = 0; st == NN_OK && i < nr; i++) {
        if (i > 0 && strcmp(runs[i], runs[i - 1]) == 0) continue;
        int64_t k = 0, first = 0;
        int progressed = 0;
        for (size_t e = 0; e < a->n; e++)
            if (a->seq[e] >= 0 && strcmp(a->ev[e].run_id, runs[i]) == 0)
                k++, progressed |= a->ev[e].fence && a->ev[e].epochs_done >= 0;
        st = alloc_live(s, runs[i], k, &first, err);
        for (size_t e = 0; st == NN_OK && e < a->n; e++) {
            if (a->seq[e] < 0 || strcmp(a->ev[e].run_id, runs[i]) != 0) continue;
            if (first > 0) {
                a->seq[e] = first++;
            } else { /* the run has finished: its final status event stays its last */
                a->seq[e] = -1;
                progressed = 0;
            }
        }
        srv_pgq q;
        srv__pgq_init(&q);
        srv__pgq_text(&q, runs[i]);
        if (st == NN_OK && progressed)
            st = srv__pg_cmd(s,
                             "UPDATE runs SET progress = (SELECT LEAST(1.0, 1.0 * sum(epochs_done) "
                             "/ GREATEST(1, sum(epochs_total))) FROM tasks WHERE run_id = $1) "
                             "WHERE id = $1 AND status = 'running'",
                             &q, NULL, "recording progress", err);
        if (st == NN_OK) srv__pg_notify(s, SRV_PG_EVENTS, runs[i]);
    }
    free(runs);
    return st;
}

static nn_status put_body(srv_store *s, void *arg, nn_error *err) {
    put_arg *a = arg;
    a->dropped = 0;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->node);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT gen FROM event_marks WHERE node = $1", &q, &r,
                                "reading the writer's mark", err);
    if (st) return st;
    int64_t mark = PQntuples(r) ? srv__pg_int(r, 0, 0) : 0, top = 0;
    PQclear(r);
    for (size_t i = 0; i < a->n;
         i++) { /* stored by an earlier try whose COMMIT's answer was lost */
        a->seq[i] = a->ev[i].gen > 0 && a->ev[i].gen <= mark ? -2 : 0;
        top = a->ev[i].gen > top ? a->ev[i].gen : top;
    }
    if ((st = check_fences(s, a, err))) return st;
    if ((st = number_events(s, a, err))) return st;
    a->dropped = 0; /* those of a lost lease, and those of a run that has finished */
    for (size_t i = 0; i < a->n; i++) a->dropped += a->seq[i] == -1;
    srv_pgbuf buf = {0};
    for (size_t i = 0; i < a->n; i++)
        if (a->seq[i] > 0)
            srv__pg_event_row(&buf, a->ev[i].run_id, a->seq[i], a->ev[i].type, a->ev[i].data);
    if (buf.nomem) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory storing events");
    if (!st && buf.len)
        st = srv__pg_copy_in(s, SRV_PG_COPY_EVENTS, buf.p, buf.len, "storing events", err);
    srv__pgbuf_free(&buf);
    if (!st && top > mark) {
        srv__pgq_init(&q);
        srv__pgq_text(&q, a->node);
        srv__pgq_int(&q, top);
        st = srv__pg_cmd(s,
                         "INSERT INTO event_marks (node, gen, at) VALUES ($1, $2, " SRV_PG_NOW ") "
                         "ON CONFLICT (node) DO UPDATE SET gen = GREATEST(event_marks.gen, "
                         "EXCLUDED.gen), at = EXCLUDED.at",
                         &q, NULL, "recording the writer's mark", err);
    }
    return st;
}

nn_status srv__pg_events_put(srv_store *s, const char *node, const srv_event_put *ev, size_t n,
                             size_t *dropped, nn_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (!valid_type(ev[i].type) || !ev[i].data)
            return nn_error_set(err, NN_ERR_INVALID, "run %s: event %zu is malformed", ev[i].run_id,
                                i);
        if (ev[i].seq != 0)
            return nn_error_set(err, NN_ERR_INVALID,
                                "run %s: a shared store numbers its events itself (seq 0)",
                                ev[i].run_id);
    }
    *dropped = 0;
    if (n == 0) return NN_OK;
    put_arg a = {node, ev, n, 0, calloc(n, sizeof(int64_t))};
    if (!a.seq) return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing events");
    nn_status st = srv__pg_tx(s, put_body, &a, err);
    free(a.seq);
    *dropped = st ? 0 : a.dropped;
    return st;
}

typedef struct append_arg {
    const char *run_id;
    const srv_event *events;
    size_t n;
} append_arg;

static nn_status append_body(srv_store *s, void *arg, nn_error *err) {
    const append_arg *a = arg;
    int64_t first = 0;
    nn_status st = srv__pg_alloc_seq(s, a->run_id, (int64_t)a->n, &first, err);
    srv_pgbuf buf = {0};
    for (size_t i = 0; !st && i < a->n; i++) {
        const srv_event *e = &a->events[i];
        if (!valid_type(e->type) || !e->data)
            st = nn_error_set(err, NN_ERR_INVALID, "run %s: event %lld has no valid type or data",
                              a->run_id, (long long)e->seq);
        else if (e->seq != first + (int64_t)i)
            st = nn_error_set(err, NN_ERR_INVALID, "run %s: event seq %lld does not follow %lld",
                              a->run_id, (long long)e->seq, (long long)(first + (int64_t)i - 1));
        else
            srv__pg_event_row(&buf, a->run_id, e->seq, e->type, e->data);
    }
    if (!st && buf.nomem) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory storing events");
    if (!st) st = srv__pg_copy_in(s, SRV_PG_COPY_EVENTS, buf.p, buf.len, "appending events", err);
    srv__pgbuf_free(&buf);
    if (!st) srv__pg_notify(s, SRV_PG_EVENTS, a->run_id);
    return st;
}

nn_status srv__pg_event_append(srv_store *s, const char *run_id, const srv_event *events, size_t n,
                               nn_error *err) {
    append_arg a = {run_id, events, n};
    return srv__pg_tx(s, append_body, &a, err);
}

nn_status srv__pg_event_list(srv_store *s, const char *run_id, int64_t after, int limit,
                             srv_event **out, size_t *n, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    srv__pgq_int(&q, after);
    srv__pgq_int(&q, limit);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "SELECT seq, type, data FROM events WHERE run_id = $1 AND seq > $2 "
                                "ORDER BY seq LIMIT $3",
                                &q, &r, "reading events", err);
    if (st) return st;
    int rows = PQntuples(r);
    srv_event *ev = rows ? calloc((size_t)rows, sizeof *ev) : NULL;
    size_t count = 0;
    for (int i = 0; ev && i < rows; i++, count++) {
        ev[i].seq = srv__pg_int(r, i, 0);
        srv__pg_copy(r, i, 1, ev[i].type, sizeof ev[i].type);
        if (!(ev[i].data = srv__pg_dup(r, i, 2))) break;
    }
    PQclear(r);
    if (rows && count < (size_t)rows) {
        srv_events_free(ev, count);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory reading events of %s", run_id);
    }
    *out = ev;
    *n = count;
    return NN_OK;
}

nn_status srv__pg_event_last_seq(srv_store *s, const char *run_id, int64_t *seq, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, run_id);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT coalesce(max(seq), 0) FROM events WHERE run_id = $1", &q,
                                &r, "reading the events of a run", err);
    if (st) return st;
    *seq = srv__pg_int(r, 0, 0);
    PQclear(r);
    return NN_OK;
}
