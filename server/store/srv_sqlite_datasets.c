/* srv_sqlite_datasets.c — the datasets table and the CSV files next to it (SQLite backend; see
 * srv_store.h). */
#include "srv_sqlite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATASET_COLUMNS "id, name, sha256, rows, bytes, columns_json, created_at"

/* Fills out from a row of DATASET_COLUMNS. */
static nn_status read_dataset(sqlite3_stmt *st, srv_dataset *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    srv__column_copy(st, 0, out->id, sizeof out->id);
    srv__column_copy(st, 1, out->name, sizeof out->name);
    srv__column_copy(st, 2, out->sha256, sizeof out->sha256);
    out->rows = sqlite3_column_int64(st, 3);
    out->bytes = sqlite3_column_int64(st, 4);
    out->created_at = sqlite3_column_int64(st, 6);
    const char *text = (const char *)sqlite3_column_text(st, 5);
    json_error_t jerr;
    out->columns = json_loads(text ? text : "[]", 0, &jerr);
    if (!out->columns)
        return nn_error_set(err, NN_ERR_IO, "dataset %s: stored columns are not JSON: %s", out->id,
                            jerr.text);
    return NN_OK;
}

/* Reads the dataset whose id (by_sha = 0) or sha256 (by_sha = 1) is key. */
static nn_status fetch_dataset(srv_store *s, int by_sha, const char *key, srv_dataset *out,
                               nn_error *err) {
    const char *sql = by_sha ? "SELECT " DATASET_COLUMNS " FROM datasets WHERE sha256 = ?"
                             : "SELECT " DATASET_COLUMNS " FROM datasets WHERE id = ?";
    sqlite3_stmt *st;
    if (srv__prepare(s, sql, &st, err)) return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, key);
    int rc = srv__step(st);
    nn_status status;
    if (rc == SQLITE_ROW)
        status = read_dataset(st, out, err);
    else if (rc == SQLITE_DONE)
        status = nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s not found", key);
    else
        status = srv__db_error(s, rc, err, "reading dataset %s", key);
    srv__finish(s, st);
    return status;
}

nn_status srv__sq_dataset_get(srv_store *s, const char *id, srv_dataset *out, nn_error *err) {
    srv_dataset tmp = {0};
    nn_status status = fetch_dataset(s, 0, id, &tmp, err);
    if (status) {
        srv_dataset_free(&tmp);
        return status;
    }
    *out = tmp;
    return NN_OK;
}

/* Inserts ds unless its sha256 is stored; *created = whether it inserted. */
static nn_status insert_dataset(srv_store *s, const srv_dataset *ds, int *created, nn_error *err) {
    char *columns = ds->columns ? json_dumps(ds->columns, JSON_COMPACT) : strdup("[]");
    if (!columns) return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing a dataset");
    sqlite3_stmt *st;
    nn_status status = srv__prepare(s,
                                    "INSERT INTO datasets (" DATASET_COLUMNS ") "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                                    &st, err);
    if (status) {
        free(columns);
        return status;
    }
    srv__bind_text(st, 1, ds->id);
    srv__bind_text(st, 2, ds->name);
    srv__bind_text(st, 3, ds->sha256);
    sqlite3_bind_int64(st, 4, ds->rows);
    sqlite3_bind_int64(st, 5, ds->bytes);
    srv__bind_text(st, 6, columns);
    sqlite3_bind_int64(st, 7, ds->created_at);
    int rc = srv__step(st);
    if (rc == SQLITE_DONE)
        *created = sqlite3_changes(s->db) > 0;
    else
        status = srv__db_error(s, rc, err, "storing dataset %s", ds->name);
    srv__finish(s, st);
    free(columns);
    return status;
}

/* Stores the row (or finds the same content's); ds filled from the stored row. */
static nn_status put_row(srv_store *s, srv_dataset *ds, int *created, nn_error *err) {
    if (strlen(ds->sha256) != 64)
        return nn_error_set(err, NN_ERR_INVALID, "dataset sha256 must be 64 hex characters");
    if (!ds->id[0] && srv_new_id(ds->id, err)) return err ? err->code : NN_ERR_IO;
    if (!ds->created_at) ds->created_at = srv__now_ms();
    nn_status status = srv__begin(s, err);
    if (status) return status;
    int made = 0;
    srv_dataset stored = {0};
    status = insert_dataset(s, ds, &made, err);
    if (!status) status = fetch_dataset(s, 1, ds->sha256, &stored, err);
    if (status) {
        srv_dataset_free(&stored);
        srv__rollback(s);
        return status;
    }
    status = srv__commit(s, err);
    if (status) {
        srv_dataset_free(&stored);
        return status;
    }
    srv_dataset_free(ds);
    *ds = stored;
    *created = made;
    return NN_OK;
}

/* The row first, then the file renamed into place (unless the same content is there already):
 * a concurrent delete of the same content takes the write lock first or after us, so it cannot
 * remove the file our caller is told is kept. */
nn_status srv__sq_dataset_put(srv_store *s, srv_dataset *ds, const char *file, int *created,
                              nn_error *err) {
    nn_status status = put_row(s, ds, created, err);
    if (status || !file) {
        if (file) (void)unlink(file);
        return status;
    }
    char path[4200];
    srv_dataset_path(s, ds->sha256, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) == 0) {
        (void)unlink(file); /* the same content is kept already */
        return NN_OK;
    }
    if (rename(file, path) == 0) return NN_OK;
    int e = errno;
    (void)unlink(file);
    nn_error ignored = {0};
    if (*created) (void)srv__sq_dataset_delete(s, ds->id, &ignored);
    char why[128];
    return nn_error_set(err, e == ENOSPC || e == EDQUOT ? NN_ERR_FULL : NN_ERR_IO,
                        "cannot keep the upload: %s",
                        strerror_r(e, why, sizeof why) == 0 ? why : "error");
}

nn_status srv__sq_dataset_file(srv_store *s, const char *sha256, char *path, size_t size,
                               nn_error *err) {
    (void)err; /* the file goes only with its row (srv__sq_dataset_delete) */
    srv_dataset_path(s, sha256, path, size);
    return NN_OK;
}

nn_status srv__sq_dataset_list(srv_store *s, json_t **out, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT id, name, sha256, rows, bytes, created_at FROM datasets "
                     "ORDER BY created_at DESC, id DESC",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    json_t *list = json_array();
    int rc = list ? srv__step(st) : SQLITE_NOMEM;
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", sqlite3_column_text(st, 0), "name",
                      sqlite3_column_text(st, 1), "sha256", sqlite3_column_text(st, 2), "rows",
                      (json_int_t)sqlite3_column_int64(st, 3), "bytes",
                      (json_int_t)sqlite3_column_int64(st, 4), "created_at",
                      (json_int_t)sqlite3_column_int64(st, 5));
        if (!o || json_array_append_new(list, o) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    srv__finish(s, st);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        if (rc == SQLITE_NOMEM) return nn_error_set(err, NN_ERR_NOMEM, "out of memory listing");
        return srv__db_error(s, rc, err, "listing datasets");
    }
    *out = list;
    return NN_OK;
}

/* NN_ERR_CONFLICT when a queued or running run uses dataset id. */
static nn_status check_unused(srv_store *s, const char *id, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s,
                     "SELECT id, status FROM runs WHERE dataset_id = ? "
                     "AND status IN ('queued', 'running') ORDER BY created_at LIMIT 1",
                     &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc == SQLITE_ROW)
        status = nn_error_set(err, NN_ERR_CONFLICT, "dataset is used by run %s (status %s)",
                              (const char *)sqlite3_column_text(st, 0),
                              (const char *)sqlite3_column_text(st, 1));
    else if (rc != SQLITE_DONE)
        status = srv__db_error(s, rc, err, "checking the runs of dataset %s", id);
    srv__finish(s, st);
    return status;
}

/* Deletes the row of dataset id (runs keep their results; their dataset_id becomes NULL). */
static nn_status delete_row(srv_store *s, const char *id, nn_error *err) {
    sqlite3_stmt *st;
    if (srv__prepare(s, "DELETE FROM datasets WHERE id = ?", &st, err))
        return err ? err->code : NN_ERR_IO;
    srv__bind_text(st, 1, id);
    int rc = srv__step(st);
    nn_status status = NN_OK;
    if (rc != SQLITE_DONE) status = srv__db_error(s, rc, err, "deleting dataset %s", id);
    srv__finish(s, st);
    return status;
}

/* The file is unlinked inside the transaction, before COMMIT: a concurrent srv_dataset_put of the
 * same content waits for our write lock, so the file its caller moves into place afterwards (see
 * srv_dataset_put) cannot be removed by this delete. */
nn_status srv__sq_dataset_delete(srv_store *s, const char *id, nn_error *err) {
    nn_status status = srv__begin(s, err);
    if (status) return status;
    srv_dataset ds = {0};
    status = fetch_dataset(s, 0, id, &ds, err);
    if (!status) status = check_unused(s, id, err);
    if (!status) status = delete_row(s, id, err);
    if (!status) {
        char path[4200];
        srv_dataset_path(s, ds.sha256, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            char buf[128];
            int e = errno;
            status = nn_error_set(err, NN_ERR_IO, "cannot remove %s: %s", path,
                                  strerror_r(e, buf, sizeof buf) == 0 ? buf : "error");
        }
    }
    srv_dataset_free(&ds);
    if (status) {
        srv__rollback(s);
        return status;
    }
    return srv__commit(s, err);
}
