/* srv_store.c — the SQLite store: opening, migrating, ids and the helpers the other store files
 * share (see srv_store.h and srv_store_internal.h).
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
#include "srv_store_internal.h"
#include "srv_migrations.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SRV_BUSY_TIMEOUT_MS 5000
#define SRV_BUSY_RETRIES 4
#define SRV_BUSY_SLEEP_MS 25 /* × attempt number */
#define SRV_DB_FILE "nnd.db"

static const char *const run_status_names[] = {"queued", "running", "succeeded", "failed",
                                               "cancelled"};

const char *srv_run_status_name(srv_run_status s) {
    if ((int)s < 0 || (int)s > (int)SRV_RUN_CANCELLED) return "unknown";
    return run_status_names[s];
}

int srv_run_status_from_name(const char *name, srv_run_status *out) {
    for (int i = 0; name && i <= (int)SRV_RUN_CANCELLED; i++) {
        if (strcmp(name, run_status_names[i]) == 0) {
            *out = (srv_run_status)i;
            return 1;
        }
    }
    return 0;
}

const char *srv__run_status_sql(srv_run_status st) { return srv_run_status_name(st); }

int64_t srv__now_ms(void) { return srv_now_ms(); }

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

int srv_store_transient(nn_status st) {
    return st == NN_ERR_BUSY || st == NN_ERR_FULL || st == NN_ERR_IO || st == NN_ERR_NOMEM ||
           st == NN_ERR_UNAVAILABLE;
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

nn_status srv__prepare(srv_store *s, const char *sql, sqlite3_stmt **out, nn_error *err) {
    int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return srv__db_error(s, rc, err, "preparing \"%.60s\"", sql);
    }
    return NN_OK;
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
    sqlite3_finalize(st);
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

nn_status srv_new_id(char out[SRV_ID_LEN + 1], nn_error *err) {
    return srv_random_hex(out, SRV_ID_LEN, err);
}

const char *srv_store_data_dir(const srv_store *s) { return s->data_dir; }

void srv_dataset_path(const srv_store *s, const char *sha256, char *buf, size_t size) {
    (void)snprintf(buf, size, "%s/datasets/%s.csv", s->data_dir, sha256);
}

static nn_status make_dir(const char *path, nn_error *err) {
    if (mkdir(path, 0700) == 0) return NN_OK;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return NN_OK;
    char buf[128];
    return nn_error_set(err, NN_ERR_IO, "cannot create directory %s: %s", path,
                        strerror_r(e, buf, sizeof buf) == 0 ? buf : "error");
}

/* Opens data_dir/nnd.db with the per-connection settings; *out owned by the caller. */
static nn_status open_handle(const char *data_dir, int create, srv_store **out, nn_error *err) {
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
        srv_store_close(s);
        (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory opening the store");
        return NN_ERR_NOMEM;
    }
    memcpy(s->data_dir, data_dir, n + 1);
    (void)snprintf(path, n + sizeof "/" SRV_DB_FILE, "%s/" SRV_DB_FILE, data_dir);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        nn_status status = srv__db_error(s, rc, err, "cannot open %s", path);
        free(path);
        srv_store_close(s);
        return status ? status : NN_ERR_IO;
    }
    free(path);
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, SRV_BUSY_TIMEOUT_MS);
    nn_status status = srv__exec(s, "PRAGMA foreign_keys = ON", err);
    if (!status) status = srv__exec(s, "PRAGMA synchronous = NORMAL", err);
    if (status) {
        srv_store_close(s);
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
    sqlite3_finalize(st);
    return status;
}

static int latest_migration(void) {
    return srv_migration_count ? srv_migrations[srv_migration_count - 1].number : 0;
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
    for (int i = 0; !status && i < srv_migration_count; i++) {
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
    sqlite3_finalize(st);
    return status;
}

nn_status srv_store_migrate(const char *data_dir, nn_error *err) {
    for (int i = 1; i < srv_migration_count; i++)
        if (srv_migrations[i].number <= srv_migrations[i - 1].number)
            return nn_error_set(err, NN_ERR_INVALID, "migration %s is out of order",
                                srv_migrations[i].name);
    nn_status status = make_dir(data_dir, err);
    char sub[4096];
    if (!status && snprintf(sub, sizeof sub, "%s/datasets", data_dir) >= (int)sizeof sub)
        status = nn_error_set(err, NN_ERR_INVALID, "data dir path too long");
    if (!status) status = make_dir(sub, err);
    if (status) return status;
    srv_store *s = NULL;
    status = open_handle(data_dir, 1, &s, err);
    if (status) return status;
    int version = 0;
    status = user_version(s, &version, err);
    if (!status) status = check_not_newer(version, err);
    if (!status) status = set_wal(s, err);
    if (!status && version < latest_migration()) status = apply_pending(s, err);
    srv_store_close(s);
    return status;
}

nn_status srv_store_open(const char *data_dir, srv_store **out, nn_error *err) {
    srv_store *s = NULL;
    nn_status status = open_handle(data_dir, 0, &s, err);
    if (status) return status;
    int version = 0;
    status = user_version(s, &version, err);
    if (!status) status = check_not_newer(version, err);
    if (!status && version < latest_migration())
        status = nn_error_set(err, NN_ERR_INVALID,
                              "nnd.db is at schema version %d, not %d: run srv_store_migrate first",
                              version, latest_migration());
    if (status) {
        srv_store_close(s);
        return status;
    }
    *out = s;
    return NN_OK;
}

void srv_store_close(srv_store *s) {
    if (!s) return;
    if (s->db) (void)sqlite3_close(s->db);
    free(s->data_dir);
    free(s);
}

struct srv_stores {
    char *data_dir;
    pthread_key_t key;
};

static void close_thread_store(void *p) { srv_store_close(p); }

nn_status srv_stores_create(const char *data_dir, srv_stores **out, nn_error *err) {
    srv_stores *st = calloc(1, sizeof *st);
    if (st) st->data_dir = strdup(data_dir);
    if (!st || !st->data_dir || pthread_key_create(&st->key, close_thread_store) != 0) {
        if (st) free(st->data_dir);
        free(st);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for storage connections");
    }
    *out = st;
    return NN_OK;
}

srv_store *srv_stores_get(srv_stores *st, nn_error *err) {
    srv_store *s = pthread_getspecific(st->key);
    if (s) return s;
    if (srv_store_open(st->data_dir, &s, err) != NN_OK) return NULL;
    if (pthread_setspecific(st->key, s) != 0) {
        srv_store_close(s);
        (void)nn_error_set(err, NN_ERR_NOMEM, "cannot keep a storage connection for this thread");
        return NULL;
    }
    return s;
}

void srv_stores_destroy(srv_stores *st) {
    if (!st) return;
    srv_store_close(pthread_getspecific(st->key));
    (void)pthread_setspecific(st->key, NULL);
    /* other threads closed theirs when they exited: the composition destroys the stores after
       joining every thread that used them */
    (void)pthread_key_delete(st->key);
    free(st->data_dir);
    free(st);
}

srv_store *srv_ctx_store(srv_ctx *ctx, nn_error *err) {
    if (!ctx->stores) {
        (void)nn_error_set(err, NN_ERR_IO, "storage is not open");
        return NULL;
    }
    return srv_stores_get(ctx->stores, err);
}

nn_status srv_store_lock_dir(const char *data_dir, int *fd, nn_error *err) {
    char path[1100];
    if (snprintf(path, sizeof path, "%s/nnd.lock", data_dir) >= (int)sizeof path)
        return nn_error_set(err, NN_ERR_INVALID, "data dir path too long");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    char why[128];
    if (f < 0)
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", path,
                            strerror_r(errno, why, sizeof why) == 0 ? why : "error");
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(f, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        (void)close(f);
        return nn_error_set(err, NN_ERR_IO, "%s is used by another nnd (pid %s)", data_dir,
                            pid[0] ? pid : "?");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
        (void)close(f);
        return nn_error_set(err, NN_ERR_IO, "cannot write %s: %s", path,
                            strerror_r(errno, why, sizeof why) == 0 ? why : "error");
    }
    *fd = f;
    return NN_OK;
}
