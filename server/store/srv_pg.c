/* srv_pg.c — the PostgreSQL backend: connections, statements, transactions, the migration and
 * the helpers the other srv_pg*.c files share (see srv_pg.h).
 *
 * DESIGN: a failure is coded by its SQLSTATE, never its text. A connection that broke (the
 * server restarted, the network went away) is noticed by libpq when it is used; the call that
 * meets it fails with NN_ERR_UNAVAILABLE — 503 with Retry-After for a request, a retry later for
 * the engine — and the next use resets it (PQreset, bounded by connect_timeout). A statement
 * sent outside a transaction (a read, a lease renewal, BEGIN) is sent again once right away when
 * its connection turns out to be broken, so the first request after a restart is served; a
 * write is always inside srv__pg_tx and never sent twice by this file: its caller decides (the
 * event writer does, made safe by event_marks). The migration runs in one transaction under an
 * advisory lock, so nodes starting at once apply it once; a schema newer than this nnd's is
 * refused, and so is a build whose migrations/pg/ does not reach the number of migrations/.
 */
#include "srv_migrations.h"
#include "srv_pg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIGRATE_LOCK "7262367001" /* pg_advisory_xact_lock key of the migration ("nnd") */

/* ---- parameters, buffers, columns ---- */

void srv__pgq_init(srv_pgq *q) { q->n = 0; }

static void pgq_put(srv_pgq *q, const char *v, int len, int fmt) {
    if (q->n >= SRV_PGQ_MAX) return; /* a programmer's mistake: the statement will fail */
    q->v[q->n] = v;
    q->len[q->n] = len;
    q->fmt[q->n] = fmt;
    q->n++;
}

void srv__pgq_text(srv_pgq *q, const char *text) { pgq_put(q, text, 0, 0); }

void srv__pgq_int(srv_pgq *q, int64_t x) {
    if (q->n >= SRV_PGQ_MAX) return;
    (void)snprintf(q->num[q->n], sizeof q->num[q->n], "%lld", (long long)x);
    pgq_put(q, q->num[q->n], 0, 0);
}

void srv__pgq_real(srv_pgq *q, double x) {
    if (q->n >= SRV_PGQ_MAX) return;
    char *b = q->num[q->n];
    if (isnan(x))
        (void)snprintf(b, 32, "NaN");
    else if (isinf(x))
        (void)snprintf(b, 32, "%sInfinity", x < 0 ? "-" : "");
    else
        (void)snprintf(b, 32, "%.17g", x);
    pgq_put(q, b, 0, 0);
}

void srv__pgq_bin(srv_pgq *q, const void *data, int len) { pgq_put(q, data, len, 1); }

void srv__pgbuf_add(srv_pgbuf *b, const char *s, size_t n) {
    if (b->nomem) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->nomem = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void srv__pgbuf_str(srv_pgbuf *b, const char *s) { srv__pgbuf_add(b, s, strlen(s)); }

void srv__pgbuf_printf(srv_pgbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        b->nomem = 1; /* only short numbers go through here */
    else
        srv__pgbuf_add(b, tmp, (size_t)n);
}

void srv__pgbuf_copy_field(srv_pgbuf *b, const char *s) {
    if (!s) {
        srv__pgbuf_add(b, "\\N", 2);
        return;
    }
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = *p == '\\'   ? "\\\\"
                          : *p == '\t' ? "\\t"
                          : *p == '\n' ? "\\n"
                          : *p == '\r' ? "\\r"
                                       : NULL;
        if (!esc && *p) continue;
        srv__pgbuf_add(b, run, (size_t)(p - run));
        if (!*p) break;
        srv__pgbuf_add(b, esc, 2);
        run = p + 1;
    }
}

void srv__pgbuf_free(srv_pgbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

int64_t srv__pg_int(const PGresult *r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double srv__pg_real(const PGresult *r, int row, int col) {
    if (PQgetisnull(r, row, col)) return NAN;
    return strtod(PQgetvalue(r, row, col), NULL); /* "NaN", "Infinity" and "-Infinity" too */
}

int srv__pg_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col); }

void srv__pg_copy(const PGresult *r, int row, int col, char *buf, size_t size) {
    size_t n = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    if (n > size - 1) n = size - 1;
    if (n) memcpy(buf, PQgetvalue(r, row, col), n);
    buf[n] = '\0';
}

char *srv__pg_dup(const PGresult *r, int row, int col) {
    if (PQgetisnull(r, row, col)) return NULL;
    size_t n = (size_t)PQgetlength(r, row, col);
    char *c = malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, PQgetvalue(r, row, col), n);
    c[n] = '\0';
    return c;
}

/* ---- errors ---- */

static nn_status sqlstate_status(const char *code, int broken) {
    if (broken || !code[0]) return broken ? NN_ERR_UNAVAILABLE : NN_ERR_IO;
    if (strncmp(code, "08", 2) == 0) return NN_ERR_UNAVAILABLE; /* connection exception */
    if (!strcmp(code, "57P01") || !strcmp(code, "57P02") || !strcmp(code, "57P03") ||
        !strcmp(code, "53300") || !strcmp(code, "25P03")) /* shutting down, starting up, too */
        return NN_ERR_UNAVAILABLE; /* many connections, an idle transaction ended */
    if (!strcmp(code, "55P03") || !strcmp(code, "57014") || !strcmp(code, "40P01") ||
        !strcmp(code, "40001"))
        return NN_ERR_BUSY; /* lock or statement timeout, deadlock, serialization */
    if (!strcmp(code, "53100")) return NN_ERR_FULL;
    if (!strcmp(code, "53200")) return NN_ERR_NOMEM;
    if (!strcmp(code, "23505")) return NN_ERR_CONFLICT;
    if (!strcmp(code, "23503")) return NN_ERR_NOT_FOUND;
    if (strncmp(code, "23", 2) == 0 || strncmp(code, "22", 2) == 0) return NN_ERR_INVALID;
    return NN_ERR_IO;
}

nn_status srv__pg_error(srv_store *s, const PGresult *res, const char *what, nn_error *err) {
    struct srv_pg *pg = s->pg;
    const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    (void)snprintf(pg->sqlstate, sizeof pg->sqlstate, "%s", code ? code : "");
    int broken = !pg->conn || PQstatus(pg->conn) != CONNECTION_OK;
    const char *msg = res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                      : pg->conn                          ? PQerrorMessage(pg->conn)
                                                          : "no connection";
    char text[200];
    (void)snprintf(text, sizeof text, "%s", msg);
    text[strcspn(text, "\n")] = '\0';
    nn_status st = sqlstate_status(pg->sqlstate, broken);
    if (st == NN_ERR_UNAVAILABLE)
        return nn_error_set(err, st, "%s: the database is unavailable (%s)", what, text);
    if (st == NN_ERR_BUSY) return nn_error_set(err, st, "%s: database is busy (%s)", what, text);
    return nn_error_set(err, st, "%s: %s", what, text);
}

/* ---- connections ---- */

void srv__pg_conninfo(const char *url, const char *keys[12], const char *values[12]) {
    static const char options[] =
        "-c statement_timeout=" SRV_STR(SRV_PG_STATEMENT_TIMEOUT_MS) " -c lock_timeout=" SRV_STR(
            SRV_PG_LOCK_TIMEOUT_MS) " -c idle_in_transaction_session_timeout=" SRV_STR(SRV_PG_IDLE_TX_TIMEOUT_MS) " -c TimeZone=UTC";
    /* ours first: the URL's own parameters, last, win */
    const char *k[] = {"application_name",
                       "connect_timeout",
                       "keepalives",
                       "keepalives_idle",
                       "keepalives_interval",
                       "keepalives_count",
                       "tcp_user_timeout",
                       "options",
                       "client_encoding",
                       "dbname",
                       NULL};
    const char *v[] = {
        "nnd", SRV_PG_CONNECT_TIMEOUT_S, "1", "10", "3", "3", "20000", options, "UTF8", url, NULL};
    for (int i = 0; i < 11; i++) keys[i] = k[i], values[i] = v[i];
}

/* The server's notices ("terminating connection due to immediate shutdown command") are not
 * errors of nnd's: what they mean reaches the caller as a status. */
static void ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

void srv__pg_quiet(PGconn *conn) {
    if (conn) (void)PQsetNoticeProcessor(conn, ignore_notice, NULL);
}

static nn_status connect_now(srv_store *s, nn_error *err) {
    struct srv_pg *pg = s->pg;
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) return NN_OK;
    if (pg->conn) {
        PQreset(pg->conn);
    } else {
        const char *keys[12], *values[12];
        srv__pg_conninfo(pg->url, keys, values);
        pg->conn = PQconnectdbParams(keys, values, 1);
        srv__pg_quiet(pg->conn);
    }
    if (!pg->conn) return nn_error_set(err, NN_ERR_NOMEM, "out of memory connecting");
    if (PQstatus(pg->conn) == CONNECTION_OK) return NN_OK;
    char msg[200];
    (void)snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg->conn));
    msg[strcspn(msg, "\n")] = '\0';
    return nn_error_set(err, NN_ERR_UNAVAILABLE, "the database is unavailable (%s)", msg);
}

static void rollback(srv_store *s) {
    PGconn *c = s->pg->conn;
    if (c && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
}

nn_status srv__pg_ready(srv_store *s, nn_error *err) {
    nn_status st = connect_now(s, err);
    if (st == NN_OK) rollback(s); /* nothing is left open between two calls */
    return st;
}

static nn_status exec_as(srv_store *s, const char *sql, const srv_pgq *q, int binary,
                         PGresult **out, const char *what, nn_error *err) {
    if (out) *out = NULL;
    struct srv_pg *pg = s->pg;
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        if (pg->in_tx) return srv__pg_error(s, NULL, what, err); /* the transaction died */
        nn_status st = connect_now(s, err);
        if (st) return st;
    }
    int outside = !pg->in_tx;
    for (int attempt = 0;; attempt++) {
        PGresult *r = PQexecParams(pg->conn, sql, q ? q->n : 0, NULL, q ? q->v : NULL,
                                   q ? q->len : NULL, q ? q->fmt : NULL, binary);
        ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (t == PGRES_TUPLES_OK || t == PGRES_COMMAND_OK) {
            pg->sqlstate[0] = '\0';
            if (out)
                *out = r;
            else
                PQclear(r);
            return NN_OK;
        }
        nn_status st = srv__pg_error(s, r, what, err);
        PQclear(r);
        if (!outside || attempt > 0 || PQstatus(pg->conn) == CONNECTION_OK) return st;
        PQreset(pg->conn); /* broken before it could run: once more on a fresh connection */
        if (PQstatus(pg->conn) != CONNECTION_OK) return st;
    }
}

nn_status srv__pg_exec(srv_store *s, const char *sql, const srv_pgq *q, PGresult **out,
                       const char *what, nn_error *err) {
    return exec_as(s, sql, q, 0, out, what, err);
}

nn_status srv__pg_exec_bin(srv_store *s, const char *sql, const srv_pgq *q, PGresult **out,
                           const char *what, nn_error *err) {
    return exec_as(s, sql, q, 1, out, what, err);
}

nn_status srv__pg_cmd(srv_store *s, const char *sql, const srv_pgq *q, int *changed,
                      const char *what, nn_error *err) {
    PGresult *r = NULL;
    nn_status st = exec_as(s, sql, q, 0, &r, what, err);
    if (st == NN_OK && changed) *changed = atoi(PQcmdTuples(r));
    PQclear(r);
    return st;
}

nn_status srv__pg_copy_in(srv_store *s, const char *sql, const char *data, size_t len,
                          const char *what, nn_error *err) {
    PGconn *c = s->pg->conn;
    PGresult *r = PQexec(c, sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        nn_status st = srv__pg_error(s, r, what, err);
        PQclear(r);
        return st;
    }
    PQclear(r);
    int ok = 1;
    for (size_t off = 0; ok && off < len;) {
        size_t n = len - off > ((size_t)1 << 20) ? ((size_t)1 << 20) : len - off;
        ok = PQputCopyData(c, data + off, (int)n) == 1;
        off += n;
    }
    ok = PQputCopyEnd(c, ok ? NULL : "nnd: sending the rows failed") == 1 && ok;
    nn_status st = NN_OK;
    while ((r = PQgetResult(c)) != NULL) {
        if (st == NN_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            st = srv__pg_error(s, r, what, err);
        PQclear(r);
    }
    if (st == NN_OK && !ok) st = srv__pg_error(s, NULL, what, err);
    return st;
}

/* ---- transactions ---- */

void srv__pg_notify(srv_store *s, int kind, const char *run_id) {
    struct srv_pg *pg = s->pg;
    for (int i = 0; i < pg->n_notify; i++)
        if (pg->notify_kind[i] == kind && strcmp(pg->notify_run[i], run_id) == 0) return;
    if (pg->n_notify == SRV_PG_NOTIFY_MAX) {
        pg->notify_any[kind] = 1;
        return;
    }
    pg->notify_kind[pg->n_notify] = kind;
    (void)snprintf(pg->notify_run[pg->n_notify], sizeof pg->notify_run[0], "%s", run_id);
    pg->n_notify++;
}

/* The NOTIFYs of the transaction that just committed, as one statement of their own: a lost
 * one costs a stream a poll's latency, so errors are ignored. */
static void send_notifies(srv_store *s) {
    struct srv_pg *pg = s->pg;
    srv_pgbuf b = {0};
    static const char *const channel[] = {SRV_PG_CHANNEL_EVENTS, SRV_PG_CHANNEL_TASKS};
    for (int i = 0; i < pg->n_notify; i++) /* run ids are 32 hex characters */
        if (!pg->notify_any[pg->notify_kind[i]])
            srv__pgbuf_printf(&b, "NOTIFY %s, '%.32s';", channel[pg->notify_kind[i]],
                              pg->notify_run[i]);
    for (int k = 0; k < 2; k++)
        if (pg->notify_any[k]) srv__pgbuf_printf(&b, "NOTIFY %s, '';", channel[k]);
    if (b.len && !b.nomem) PQclear(PQexec(pg->conn, b.p));
    srv__pgbuf_free(&b);
    pg->n_notify = 0;
    pg->notify_any[0] = pg->notify_any[1] = 0;
}

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static nn_status run_tx(srv_store *s, const char *begin, srv_pg_body body, void *arg,
                        nn_error *err) {
    struct srv_pg *pg = s->pg;
    nn_status st = srv__pg_ready(s, err);
    for (int attempt = 1; st == NN_OK; attempt++) {
        pg->n_notify = 0;
        pg->notify_any[0] = pg->notify_any[1] = 0;
        st = srv__pg_cmd(s, begin, NULL, NULL, "BEGIN", err);
        if (st) break;
        pg->in_tx = 1;
        st = body(s, arg, err);
        if (st == NN_OK) st = srv__pg_cmd(s, "COMMIT", NULL, NULL, "COMMIT", err);
        pg->in_tx = 0;
        if (st == NN_OK) {
            send_notifies(s);
            return NN_OK;
        }
        rollback(s);
        int again = !strcmp(pg->sqlstate, "40P01") || !strcmp(pg->sqlstate, "40001");
        if (!again || attempt == SRV_PG_TX_TRIES) break;
        pause_ms(5L * attempt + (long)(srv__now_ms() % 7)); /* apart from the other party */
        st = NN_OK;
    }
    pg->n_notify = 0;
    return st;
}

nn_status srv__pg_tx(srv_store *s, srv_pg_body body, void *arg, nn_error *err) {
    return run_tx(s, "BEGIN", body, arg, err);
}

nn_status srv__pg_read_tx(srv_store *s, srv_pg_body body, void *arg, nn_error *err) {
    return run_tx(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body, arg, err);
}

/* ---- opening and migrating ---- */

nn_status srv__pg_connect(const char *url, const char *data_dir, srv_store **out, nn_error *err) {
    srv_store *s = calloc(1, sizeof *s);
    struct srv_pg *pg = calloc(1, sizeof *pg);
    if (s) s->pg = pg;
    if (s) s->data_dir = srv__strdup(data_dir);
    if (pg) pg->url = srv__strdup(url);
    if (!s || !pg || !s->data_dir || !pg->url) {
        srv__pg_close(s);
        if (!s) free(pg);
        (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory opening the store");
        return NN_ERR_NOMEM;
    }
    s->shared = 1;
    nn_status st = connect_now(s, err);
    if (st) {
        srv__pg_close(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

void srv__pg_close(srv_store *s) {
    if (!s) return;
    if (s->pg) {
        if (s->pg->conn) PQfinish(s->pg->conn);
        free(s->pg->url);
        free(s->pg);
    }
    free(s->data_dir);
    free(s);
}

static int latest(const srv_migration *m, int count) { return count ? m[count - 1].number : 0; }

/* The schema version recorded in the database (0 when it has none yet). */
static nn_status read_version(srv_store *s, int *version, nn_error *err) {
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT to_regclass('nnd_schema') IS NOT NULL", NULL, &r,
                                "reading the schema version", err);
    if (st) return st;
    int exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    *version = 0;
    if (!exists) return NN_OK;
    st = srv__pg_exec(s, "SELECT coalesce(max(version), 0) FROM nnd_schema", NULL, &r,
                      "reading the schema version", err);
    if (st) return st;
    *version = (int)srv__pg_int(r, 0, 0);
    PQclear(r);
    return NN_OK;
}

static nn_status check_not_newer(int version, nn_error *err) {
    int mine = latest(srv_pg_migrations, srv_pg_migrations_count);
    if (version > mine)
        return nn_error_set(err, NN_ERR_INVALID,
                            "the database is at schema version %d but this nnd knows only up to "
                            "%d: upgrade nnd",
                            version, mine);
    return NN_OK;
}

static nn_status migrate_body(srv_store *s, void *arg, nn_error *err) {
    (void)arg;
    nn_status st = srv__pg_cmd(s, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL, NULL,
                               "locking the migration", err);
    if (!st)
        st = srv__pg_cmd(s, "CREATE TABLE IF NOT EXISTS nnd_schema (version INTEGER NOT NULL)",
                         NULL, NULL, "creating nnd_schema", err);
    int version = 0; /* read under the lock: another node may have migrated meanwhile */
    if (!st) st = read_version(s, &version, err);
    if (!st) st = check_not_newer(version, err);
    for (int i = 0; !st && i < srv_pg_migrations_count; i++) {
        const srv_migration *m = &srv_pg_migrations[i];
        if (m->number <= version) continue;
        PGresult *r = PQexec(s->pg->conn, m->sql);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            st = srv__pg_error(s, r, m->name, err);
            nn_error_prefix(err, "migration ");
        }
        PQclear(r);
        srv_pgq q;
        srv__pgq_init(&q);
        srv__pgq_int(&q, m->number);
        if (!st)
            st = srv__pg_cmd(s, "INSERT INTO nnd_schema (version) VALUES ($1)", &q, NULL,
                             "recording the schema version", err);
    }
    return st;
}

nn_status srv__pg_do_migrate(srv_store *s, nn_error *err) {
    for (int i = 1; i < srv_pg_migrations_count; i++)
        if (srv_pg_migrations[i].number <= srv_pg_migrations[i - 1].number)
            return nn_error_set(err, NN_ERR_INVALID, "migration pg/%s is out of order",
                                srv_pg_migrations[i].name);
    int pg_last = latest(srv_pg_migrations, srv_pg_migrations_count);
    int sq_last = latest(srv_migrations, srv_migrations_count);
    if (pg_last != sq_last)
        return nn_error_set(err, NN_ERR_INVALID,
                            "this nnd was built with SQLite migrations up to %d but PostgreSQL "
                            "migrations up to %d: migrations/pg/ must have the same numbers",
                            sq_last, pg_last);
    int version = 0;
    nn_status st = read_version(s, &version, err);
    if (!st) st = check_not_newer(version, err);
    if (!st && version < pg_last) st = srv__pg_tx(s, migrate_body, NULL, err);
    return st;
}

nn_status srv__pg_check_version(srv_store *s, nn_error *err) {
    int version = 0;
    nn_status st = read_version(s, &version, err);
    if (!st) st = check_not_newer(version, err);
    int mine = latest(srv_pg_migrations, srv_pg_migrations_count);
    if (!st && version < mine)
        st = nn_error_set(err, NN_ERR_INVALID,
                          "the database is at schema version %d, not %d: run srv_store_migrate "
                          "first",
                          version, mine);
    return st;
}
