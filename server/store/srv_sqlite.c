/* srv_sqlite.c — the SQLite backend: opening, migrating and the helpers the other srv_sqlite*.c
 * files share (see srv_store.h and srv_sqlite.h).
 *
 * DESIGN: busy handling has two layers. sqlite3_busy_timeout makes SQLite itself wait up to
 * SRV_BUSY_TIMEOUT_MS for a lock; when it still reports SQLITE_BUSY/SQLITE_LOCKED (the wait ran
 * out, or SQLite declined to wait to avoid a deadlock), srv__step resets the statement and tries
 * again up to SRV_BUSY_RETRIES times with growing sleeps before reporting "database is busy" —
 * but only while the whole step has taken less than the busy timeout, so a caller waits about
 * SRV_BUSY_TIMEOUT_MS at most, not once per retry.
 * Write transactions start with BEGIN IMMEDIATE, so the write lock is taken (or waited for) at the
 * start and never requested halfway through a transaction, where WAL mode could only fail.
 */
#include "srv_migrations.h"
#include "srv_sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SRV_BUSY_TIMEOUT_MS 5000
#define SRV_BUSY_RETRIES 4
#define SRV_BUSY_SLEEP_MS 25 /* × attempt number */
#define SRV_DB_FILE "nnd.db"

static int is_busy(int rc) {
    rc &= 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* What an SQLite result code means for the caller (rc may be an extended code). */
static nn_status db_status(srv_store *s, int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return NN_ERR_BUSY; /* another connection or process held the lock past the wait */
    case SQLITE_FULL:
        return NN_ERR_FULL;
    case SQLITE_NOMEM:
        return NN_ERR_NOMEM;
    case SQLITE_IOERR: /* a write that failed for want of space is a full disk too */
        return s->db && (sqlite3_system_errno(s->db) == ENOSPC ||
                         sqlite3_system_errno(s->db) == EDQUOT)
                   ? NN_ERR_FULL
                   : NN_ERR_IO;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return NN_ERR_NOT_FOUND; /* the row referred to */
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return NN_ERR_CONFLICT; /* the key exists already */
        return NN_ERR_INVALID;
    default:
        return NN_ERR_IO;
    }
}

nn_status srv__db_error(srv_store *s, int rc, nn_error *err, const char *fmt, ...) {
    char context[160];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    nn_status code = db_status(s, rc);
    if (code == NN_ERR_BUSY)
        return nn_error_set(err, code, "%s: database is busy (%s)", context, msg);
    return nn_error_set(err, code, "%s: %s", context, msg);
}

/* DESIGN: prepared statements are kept per connection. srv__prepare looks the SQL text up in the
 * connection's cache (a hash, then the text) and hands out a statement that is not in use;
 * srv__finish resets it (ending its read of the WAL snapshot) and clears its bindings for the
 * next caller. Parsing and planning a statement cost more than running it: on GET
 * /v1/runs/{id}, sqlite3_prepare_v2 and sqlite3_finalize were half of nnd's CPU. A statement
 * already in use (a caller that nests the same SQL) or one past SRV_STMT_CACHE gets a fresh,
 * uncached statement that srv__finish finalizes. SQLite re-prepares cached statements itself
 * after a schema change (a migration). */
#define SRV_STMT_CACHE 128

typedef struct srv_sq_stmt {
    sqlite3_stmt *st;
    char *sql; /* owned copy: callers may pass text built in a buffer */
    uint32_t hash;
    int busy;
} srv_sq_stmt;

struct srv_sq_stmts {
    srv_sq_stmt slot[SRV_STMT_CACHE];
    int n;
};

static uint32_t sql_hash(const char *sql) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

nn_status srv__prepare(srv_store *s, const char *sql, sqlite3_stmt **out, nn_error *err) {
    struct srv_sq_stmts *c = s->stmts;
    uint32_t h = sql_hash(sql);
    if (c) {
        for (int i = 0; i < c->n; i++) {
            srv_sq_stmt *e = &c->slot[i];
            if (e->hash == h && !e->busy && strcmp(e->sql, sql) == 0) {
                e->busy = 1;
                *out = e->st;
                return NN_OK;
            }
        }
    }
    int keep = c && c->n < SRV_STMT_CACHE;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return srv__db_error(s, rc, err, "preparing \"%.60s\"", sql);
    }
    char *copy = keep ? srv__strdup(sql) : NULL;
    if (copy) c->slot[c->n++] = (srv_sq_stmt){*out, copy, h, 1};
    return NN_OK;
}

void srv__finish(srv_store *s, sqlite3_stmt *st) {
    struct srv_sq_stmts *c = s->stmts;
    for (int i = 0; c && i < c->n; i++) {
        if (c->slot[i].st == st) {
            (void)sqlite3_reset(st); /* its error, if any, was read from the step already */
            (void)sqlite3_clear_bindings(st);
            c->slot[i].busy = 0;
            return;
        }
    }
    (void)sqlite3_finalize(st);
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int srv__step(sqlite3_stmt *st) {
    int64_t start = monotonic_ms();
    int rc = sqlite3_step(st);
    for (int attempt = 1; is_busy(rc) && attempt <= SRV_BUSY_RETRIES; attempt++) {
        if (monotonic_ms() - start >= SRV_BUSY_TIMEOUT_MS) break; /* SQLite waited already */
        sqlite3_reset(st);
        sleep_ms((long)SRV_BUSY_SLEEP_MS * attempt);
        rc = sqlite3_step(st);
    }
    return rc;
}

nn_status srv__exec(srv_store *s, const char *sql, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, sql, &st, err)) return err ? err->code : NN_ERR_IO;
    int rc = srv__step(st);
    while (rc == SQLITE_ROW) rc = sqlite3_step(st); /* e.g. PRAGMA journal_mode answers a row */
    nn_status status = NN_OK;
    if (rc != SQLITE_DONE) status = srv__db_error(s, rc, err, "%s", sql);
    srv__finish(s, st);
    return status;
}

nn_status srv__begin(srv_store *s, nn_error *err) { return srv__exec(s, "BEGIN IMMEDIATE", err); }

nn_status srv__commit(srv_store *s, nn_error *err) {
    nn_status status = srv__exec(s, "COMMIT", err);
    if (status != NN_OK) srv__rollback(s);
    return status;
}

void srv__rollback(srv_store *s) {
    if (!sqlite3_get_autocommit(s->db)) (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int srv__bind_text(sqlite3_stmt *st, int idx, const char *text) {
    if (!text) return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
}

char *srv__column_dup(sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t) return NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *copy = malloc(n + 1);
    if (!copy) return NULL;
    memcpy(copy, t, n);
    copy[n] = '\0';
    return copy;
}

void srv__column_copy(sqlite3_stmt *st, int col, char *buf, size_t size) {
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n > size - 1) n = size - 1;
    if (n) memcpy(buf, t, n);
    buf[n] = '\0';
}

/* Before SQLite's first use: no global allocation statistics. With them on (SQLite's default)
 * every sqlite3_malloc and sqlite3_free takes one process-wide mutex, which the HTTP threads'
 * connections fought over. Fails harmlessly (SQLITE_MISUSE) if the process used SQLite before. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;
static void sqlite_setup(void) { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

nn_status srv__sq_connect(const char *data_dir, int create, srv_store **out, nn_error *err) {
    srv_store *s = calloc(1, sizeof *s);
    if (!s) {
        (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory opening the store");
        return NN_ERR_NOMEM; /* a constant, so that callers provably never see *out unset */
    }
    size_t n = strlen(data_dir);
    s->data_dir = malloc(n + 1);
    char *path = malloc(n + sizeof "/" SRV_DB_FILE);
    if (!s->data_dir || !path) {
        free(path);
        srv__sq_close(s);
        (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory opening the store");
        return NN_ERR_NOMEM;
    }
    memcpy(s->data_dir, data_dir, n + 1);
    (void)snprintf(path, n + sizeof "/" SRV_DB_FILE, "%s/" SRV_DB_FILE, data_dir);
    (void)pthread_once(&sqlite_once, sqlite_setup);
    s->stmts = calloc(1, sizeof *s->stmts); /* none: every statement is prepared per call */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        nn_status status = srv__db_error(s, rc, err, "cannot open %s", path);
        free(path);
        srv__sq_close(s);
        return status ? status : NN_ERR_IO;
    }
    free(path);
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, SRV_BUSY_TIMEOUT_MS);
    nn_status status = srv__exec(s, "PRAGMA foreign_keys = ON", err);
    if (!status) status = srv__exec(s, "PRAGMA synchronous = NORMAL", err);
    if (status) {
        srv__sq_close(s);
        return status;
    }
    *out = s;
    return NN_OK;
}

static nn_status user_version(srv_store *s, int *version, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "PRAGMA user_version", &st, err)) return err ? err->code : NN_ERR_IO;
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    else
        status = srv__db_error(s, rc, err, "reading the schema version");
    srv__finish(s, st);
    return status;
}

static int latest_migration(void) {
    return srv_migrations_count ? srv_migrations[srv_migrations_count - 1].number : 0;
}

int srv_store_schema_version(void) { return latest_migration(); }

static nn_status check_not_newer(int version, nn_error *err) {
    if (version > latest_migration())
        return nn_error_set(err, NN_ERR_INVALID,
                            "nnd.db is at schema version %d but this nnd knows only up to %d: "
                            "upgrade nnd",
                            version, latest_migration());
    return NN_OK;
}

/* Applies the migrations after the current user_version in one transaction. */
static nn_status apply_pending(srv_store *s, nn_error *err) {
    nn_status status = srv__begin(s, err);
    if (status) return status;
    int version = 0;
    /* read inside the write transaction: another process may have migrated meanwhile */
    status = user_version(s, &version, err);
    if (!status) status = check_not_newer(version, err);
    for (int i = 0; !status && i < srv_migrations_count; i++) {
        const srv_migration *m = &srv_migrations[i];
        if (m->number <= version) continue;
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            status = nn_error_set(err, NN_ERR_IO, "migration %s failed: %s", m->name,
                                  msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            break;
        }
        char pragma[64];
        (void)snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->number);
        status = srv__exec(s, pragma, err);
        if (status) nn_error_prefix(err, "migration %s: ", m->name);
    }
    if (status) {
        srv__rollback(s);
        return status;
    }
    return srv__commit(s, err);
}

/* WAL is a property of the file, so setting it once here holds for every later connection. */
static nn_status set_wal(srv_store *s, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "PRAGMA journal_mode = WAL", &st, err)) return err ? err->code : NN_ERR_IO;
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc != SQLITE_ROW)
        status = srv__db_error(s, rc, err, "switching nnd.db to WAL mode");
    else {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || sqlite3_stricmp(mode, "wal") != 0)
            status = nn_error_set(err, NN_ERR_IO, "cannot switch nnd.db to WAL mode (mode %s)",
                                  mode ? mode : "unknown");
    }
    srv__finish(s, st);
    return status;
}

nn_status srv__sqlite_migrate(const char *data_dir, nn_error *err) {
    for (int i = 1; i < srv_migrations_count; i++)
        if (srv_migrations[i].number <= srv_migrations[i - 1].number)
            return nn_error_set(err, NN_ERR_INVALID, "migration %s is out of order",
                                srv_migrations[i].name);
    nn_status status = srv__make_data_dir(data_dir, err);
    if (status) return status;
    srv_store *s = NULL;
    status = srv__sq_connect(data_dir, 1, &s, err);
    if (status) return status;
    int version = 0;
    status = user_version(s, &version, err);
    if (!status) status = check_not_newer(version, err);
    if (!status) status = set_wal(s, err);
    if (!status && version < latest_migration()) status = apply_pending(s, err);
    srv__sq_close(s);
    return status;
}

nn_status srv__sq_check_version(srv_store *s, nn_error *err) {
    int version = 0;
    nn_status status = user_version(s, &version, err);
    if (!status) status = check_not_newer(version, err);
    if (!status && version < latest_migration())
        status = nn_error_set(err, NN_ERR_INVALID,
                              "nnd.db is at schema version %d, not %d: run srv_store_migrate first",
                              version, latest_migration());
    return status;
}

void srv__sq_close(srv_store *s) {
    if (!s) return;
    if (s->stmts) {
        for (int i = 0; i < s->stmts->n; i++) {
            (void)sqlite3_finalize(s->stmts->slot[i].st);
            free(s->stmts->slot[i].sql);
        }
        free(s->stmts);
    }
    if (s->db) (void)sqlite3_close(s->db);
    free(s->data_dir);
    free(s);
}
