/* srv_pg_datasets.c — datasets in PostgreSQL: the row and the file's bytes in one transaction,
 * each node's cached copy of the file (see srv_store.h).
 *
 * DESIGN: an upload is stored as its row and its bytes in dataset_chunks (1 MiB each) in one
 * transaction, so no node ever sees a dataset without its content; the uploading node then
 * keeps the file as its cached copy, datasets/<sha256>.csv in its data dir. Another node that
 * needs the file (to train, to validate, to send it) fetches the chunks in one snapshot into a
 * temporary file, checks its length and SHA-256 against the row, and renames it into its cache:
 * a cached file is complete or absent, and two threads fetching at once both produce the same
 * bytes. A delete removes the row and its chunks (ON DELETE CASCADE) and the deleting node's
 * cached copy; other nodes' copies stay until their data dir is cleared (content-addressed, so
 * a stale copy can only ever be the right bytes for a dataset of that content).
 */
#include "nn_sha256.h"
#include "srv_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATASET_COLUMNS "id, name, sha256, rows, bytes, columns_json, created_at"

static nn_status errno_status(int e, const char *what, const char *path, nn_error *err) {
    char why[128];
    return nn_error_set(err, e == ENOSPC || e == EDQUOT ? NN_ERR_FULL : NN_ERR_IO, "%s %s: %s",
                        what, path, strerror_r(e, why, sizeof why) == 0 ? why : "error");
}

/* Fills out from row `row` of DATASET_COLUMNS. */
static nn_status read_dataset(const PGresult *r, int row, srv_dataset *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    srv__pg_copy(r, row, 0, out->id, sizeof out->id);
    srv__pg_copy(r, row, 1, out->name, sizeof out->name);
    srv__pg_copy(r, row, 2, out->sha256, sizeof out->sha256);
    out->rows = srv__pg_int(r, row, 3);
    out->bytes = srv__pg_int(r, row, 4);
    out->created_at = srv__pg_int(r, row, 6);
    json_error_t jerr;
    out->columns = json_loads(PQgetvalue(r, row, 5), 0, &jerr);
    if (!out->columns)
        return nn_error_set(err, NN_ERR_IO, "dataset %s: stored columns are not JSON: %s", out->id,
                            jerr.text);
    return NN_OK;
}

static nn_status fetch_dataset(srv_store *s, int by_sha, const char *key, srv_dataset *out,
                               nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, key);
    PGresult *r = NULL;
    nn_status st =
        srv__pg_exec(s,
                     by_sha ? "SELECT " DATASET_COLUMNS " FROM datasets WHERE sha256 = $1"
                            : "SELECT " DATASET_COLUMNS " FROM datasets WHERE id = $1",
                     &q, &r, "reading a dataset", err);
    if (st) return st;
    if (PQntuples(r) == 0)
        st = nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", key);
    else
        st = read_dataset(r, 0, out, err);
    PQclear(r);
    return st;
}

nn_status srv__pg_dataset_get(srv_store *s, const char *id, srv_dataset *out, nn_error *err) {
    srv_dataset tmp = {0};
    nn_status st = fetch_dataset(s, 0, id, &tmp, err);
    if (st) {
        srv_dataset_free(&tmp);
        return st;
    }
    *out = tmp;
    return NN_OK;
}

typedef struct put_arg {
    srv_dataset *ds;
    const char *columns;
    const char *file;
    int created;
    srv_dataset stored;
} put_arg;

/* The file's bytes as chunk rows of dataset id. */
static nn_status put_chunks(srv_store *s, const char *id, const char *file, nn_error *err) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status(errno, "cannot read", file, err);
    char *buf = malloc(SRV_PG_CHUNK);
    nn_status st = buf ? NN_OK : nn_error_set(err, NN_ERR_NOMEM, "out of memory storing a file");
    for (int n = 0; st == NN_OK; n++) {
        size_t got = 0;
        while (got < SRV_PG_CHUNK) {
            ssize_t k = read(fd, buf + got, SRV_PG_CHUNK - got);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) st = errno_status(errno, "cannot read", file, err);
            if (k <= 0) break;
            got += (size_t)k;
        }
        if (st || got == 0) break;
        srv_pgq q;
        srv__pgq_init(&q);
        srv__pgq_text(&q, id);
        srv__pgq_int(&q, n);
        srv__pgq_bin(&q, buf, (int)got);
        st = srv__pg_cmd(s, "INSERT INTO dataset_chunks (dataset_id, n, data) VALUES ($1, $2, $3)",
                         &q, NULL, "storing a dataset's file", err);
        if (got < SRV_PG_CHUNK) break;
    }
    free(buf);
    (void)close(fd);
    return st;
}

static nn_status put_body(srv_store *s, void *arg, nn_error *err) {
    put_arg *a = arg;
    const srv_dataset *ds = a->ds;
    a->created = 0;
    srv_dataset_free(&a->stored);
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, ds->id);
    srv__pgq_text(&q, ds->name);
    srv__pgq_text(&q, ds->sha256);
    srv__pgq_int(&q, ds->rows);
    srv__pgq_int(&q, ds->bytes);
    srv__pgq_text(&q, a->columns);
    srv__pgq_int(&q, ds->created_at);
    int changed = 0;
    nn_status st =
        srv__pg_cmd(s,
                    "INSERT INTO datasets (" DATASET_COLUMNS ") "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING",
                    &q, &changed, "storing a dataset", err);
    a->created = changed > 0;
    if (!st && a->created && a->file) st = put_chunks(s, ds->id, a->file, err);
    if (!st) st = fetch_dataset(s, 1, ds->sha256, &a->stored, err);
    return st;
}

/* Keeps file as this node's cached copy of sha256 (or removes it when one is there). */
static void keep_cached(srv_store *s, const char *sha256, const char *file) {
    char path[4200];
    srv_dataset_path(s, sha256, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) == 0 || rename(file, path) != 0) (void)unlink(file);
}

nn_status srv__pg_dataset_put(srv_store *s, srv_dataset *ds, const char *file, int *created,
                              nn_error *err) {
    nn_status st = NN_OK;
    if (strlen(ds->sha256) != 64)
        st = nn_error_set(err, NN_ERR_INVALID, "dataset sha256 must be 64 hex characters");
    if (!st && !ds->id[0]) st = srv_new_id(ds->id, err);
    if (!ds->created_at) ds->created_at = srv__now_ms();
    char *columns = NULL;
    if (!st) {
        columns = ds->columns ? json_dumps(ds->columns, JSON_COMPACT) : srv__strdup("[]");
        if (!columns) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory storing a dataset");
    }
    put_arg a = {ds, columns, file, 0, {.rows = 0}};
    if (!st) st = srv__pg_tx(s, put_body, &a, err);
    free(columns);
    if (st) {
        srv_dataset_free(&a.stored);
        if (file) (void)unlink(file);
        return st;
    }
    if (file) keep_cached(s, a.stored.sha256, file);
    srv_dataset_free(ds);
    *ds = a.stored;
    *created = a.created;
    return NN_OK;
}

/* ---- a node's cached copy ---- */

typedef struct fetch_arg {
    const char *sha256;
    int fd;          /* the temporary file */
    const char *tmp; /* its path */
    int64_t bytes;   /* the row's length */
} fetch_arg;

static nn_status fetch_body(srv_store *s, void *arg, nn_error *err) {
    fetch_arg *a = arg;
    if (ftruncate(a->fd, 0) != 0 || lseek(a->fd, 0, SEEK_SET) != 0)
        return errno_status(errno, "cannot write", a->tmp, err);
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->sha256);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s, "SELECT id, bytes FROM datasets WHERE sha256 = $1", &q, &r,
                                "reading a dataset", err);
    if (st) return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return nn_error_set(err, NN_ERR_NOT_FOUND, "no dataset has the content %.12s…", a->sha256);
    }
    char id[SRV_ID_LEN + 1];
    srv__pg_copy(r, 0, 0, id, sizeof id);
    a->bytes = srv__pg_int(r, 0, 1);
    PQclear(r);
    for (int n = 0; st == NN_OK; n++) { /* one chunk at a time: memory stays at a chunk */
        srv__pgq_init(&q);
        srv__pgq_text(&q, id);
        srv__pgq_int(&q, n);
        st = srv__pg_exec_bin(s, "SELECT data FROM dataset_chunks WHERE dataset_id = $1 AND n = $2",
                              &q, &r, "reading a dataset's file", err);
        if (st) break;
        if (PQntuples(r) == 0) {
            PQclear(r);
            break;
        }
        const char *p = PQgetvalue(r, 0, 0);
        size_t len = (size_t)PQgetlength(r, 0, 0);
        for (size_t off = 0; st == NN_OK && off < len;) {
            ssize_t w = write(a->fd, p + off, len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) st = errno_status(errno, "cannot write", a->tmp, err);
            if (w > 0) off += (size_t)w;
        }
        PQclear(r);
    }
    return st;
}

/* Whether the file at path has sha256 and bytes bytes. */
static nn_status verify(const char *path, const char *sha256, int64_t bytes, nn_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status(errno, "cannot read", path, err);
    nn_sha256 h;
    nn_sha256_init(&h);
    char buf[65536];
    int64_t total = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR)) {
        if (k < 0) continue;
        nn_sha256_update(&h, buf, (size_t)k);
        total += k;
    }
    (void)close(fd);
    unsigned char d[32];
    nn_sha256_final(&h, d);
    char hex[65];
    for (size_t i = 0; i < 32; i++) (void)snprintf(hex + 2 * i, 3, "%02x", d[i]);
    if (k < 0 || total != bytes || strcmp(hex, sha256) != 0)
        return nn_error_set(err, NN_ERR_IO,
                            "the stored file of dataset content %.12s… is damaged (%lld bytes, "
                            "sha256 %.12s…; expected %lld bytes)",
                            sha256, (long long)total, hex, (long long)bytes);
    return NN_OK;
}

nn_status srv__pg_dataset_file(srv_store *s, const char *sha256, char *path, size_t size,
                               nn_error *err) {
    srv_dataset_path(s, sha256, path, size);
    struct stat sb;
    if (stat(path, &sb) == 0) return NN_OK;
    char tmp[4200];
    (void)snprintf(tmp, sizeof tmp, "%s/datasets/.fetch-%ld-XXXXXX", s->data_dir, (long)getpid());
    fetch_arg a = {sha256, mkstemp(tmp), tmp, 0};
    if (a.fd < 0) return errno_status(errno, "cannot create", tmp, err);
    nn_status st = srv__pg_read_tx(s, fetch_body, &a, err);
    if (!st && fsync(a.fd) != 0) st = errno_status(errno, "cannot write", tmp, err);
    (void)close(a.fd);
    if (!st) st = verify(tmp, sha256, a.bytes, err);
    if (!st && rename(tmp, path) != 0) st = errno_status(errno, "cannot keep", path, err);
    if (st) (void)unlink(tmp);
    return st;
}

/* ---- list and delete ---- */

nn_status srv__pg_dataset_list(srv_store *s, json_t **out, nn_error *err) {
    PGresult *r = NULL;
    nn_status st = srv__pg_exec(s,
                                "SELECT id, name, sha256, rows, bytes, created_at FROM datasets "
                                "ORDER BY created_at DESC, id DESC",
                                NULL, &r, "listing datasets", err);
    if (st) return st;
    json_t *list = json_array();
    for (int i = 0; list && i < PQntuples(r); i++) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", PQgetvalue(r, i, 0), "name",
                      PQgetvalue(r, i, 1), "sha256", PQgetvalue(r, i, 2), "rows",
                      (json_int_t)srv__pg_int(r, i, 3), "bytes", (json_int_t)srv__pg_int(r, i, 4),
                      "created_at", (json_int_t)srv__pg_int(r, i, 5));
        if (!o || json_array_append_new(list, o) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    PQclear(r);
    if (!list) return nn_error_set(err, NN_ERR_NOMEM, "out of memory listing");
    *out = list;
    return NN_OK;
}

typedef struct delete_arg {
    const char *id;
    char sha256[65];
} delete_arg;

static nn_status delete_body(srv_store *s, void *arg, nn_error *err) {
    delete_arg *a = arg;
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, a->id);
    PGresult *r = NULL;
    /* the row's lock first: a run created on it now waits, then finds it gone */
    nn_status st = srv__pg_exec(s, "SELECT sha256 FROM datasets WHERE id = $1 FOR UPDATE", &q, &r,
                                "reading a dataset", err);
    if (st) return st;
    int found = PQntuples(r) > 0;
    if (found) srv__pg_copy(r, 0, 0, a->sha256, sizeof a->sha256);
    PQclear(r);
    if (!found) return nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", a->id);
    st = srv__pg_exec(s,
                      "SELECT id, status FROM runs WHERE dataset_id = $1 "
                      "AND status IN ('queued', 'running') ORDER BY created_at LIMIT 1",
                      &q, &r, "checking the runs of a dataset", err);
    if (st) return st;
    if (PQntuples(r) > 0)
        st = nn_error_set(err, NN_ERR_CONFLICT, "dataset is used by run %s (status %s)",
                          PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    if (!st)
        st = srv__pg_cmd(s, "DELETE FROM datasets WHERE id = $1", &q, NULL, "deleting a dataset",
                         err);
    return st;
}

nn_status srv__pg_dataset_delete(srv_store *s, const char *id, nn_error *err) {
    delete_arg a = {id, ""};
    nn_status st = srv__pg_tx(s, delete_body, &a, err);
    if (st) return st;
    char path[4200]; /* this node's copy; one left behind is only disk, never wrong bytes */
    srv_dataset_path(s, a.sha256, path, sizeof path);
    (void)unlink(path);
    return NN_OK;
}
