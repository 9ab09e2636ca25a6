/* srv_fixture.h — helpers the store and queue tests share: a fresh temporary data dir with a
 * migrated nnd.db, its removal, and canned datasets and runs. */
#ifndef SRV_FIXTURE_H
#define SRV_FIXTURE_H

#include "srv_queue.h"
#include "srv_store.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes path and, when it is a directory, everything under it. */
static inline void fixture_rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char sub[1024];
            if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
                fixture_rm_tree(sub);
        }
        if (d) (void)closedir(d);
        (void)rmdir(path);
    } else {
        (void)unlink(path);
    }
}

/* A new empty temporary directory in root (64 bytes) and its data dir "<root>/data" (not yet
 * created) in data (80 bytes). */
static inline int fixture_dirs(char root[64], char data[80]) {
    (void)snprintf(root, 64, "/tmp/nnd-test-XXXXXX");
    if (!mkdtemp(root)) return 0;
    (void)snprintf(data, 80, "%s/data", root);
    return 1;
}

/* Migrates data and opens a store on it; NULL (with a message on stderr) on failure. */
static inline srv_store *fixture_open(const char *data) {
    nn_error err = {0};
    srv_store *s = NULL;
    if (srv_store_migrate(NULL, data, &err) != NN_OK ||
        srv_store_open(NULL, data, &s, &err) != NN_OK) {
        fprintf(stderr, "fixture_open: %s\n", err.msg);
        return NULL;
    }
    return s;
}

/* A sha256-shaped string of 64 copies of c. */
static inline void fixture_sha(char out[65], char c) {
    memset(out, c, 64);
    out[64] = '\0';
}

/* Stores a dataset named name with sha256 64×c; its id in id. */
static inline nn_status fixture_dataset(srv_store *s, const char *name, char c,
                                        char id[SRV_ID_LEN + 1]) {
    srv_dataset ds = {0};
    (void)snprintf(ds.name, sizeof ds.name, "%s", name);
    fixture_sha(ds.sha256, c);
    ds.rows = 10;
    ds.bytes = 100;
    int created = 0;
    nn_error err = {0};
    nn_status st = srv_dataset_put(s, &ds, &created, &err);
    if (st) fprintf(stderr, "fixture_dataset: %s\n", err.msg);
    memcpy(id, ds.id, SRV_ID_LEN + 1);
    srv_dataset_free(&ds);
    return st;
}

#define FIXTURE_FOLDS 2
#define FIXTURE_NODE "node-a"

/* Claims a task as node FIXTURE_NODE (a long lease, 2 per run, 4 runs): 1 and *t, or 0. */
static inline int fixture_claim(srv_store *s, srv_task_ref *t, nn_error *err) {
    srv_claim_cfg cfg = {FIXTURE_NODE, 60000, 2, 4};
    int found = 0, started = 0;
    if (srv_queue_claim(s, &cfg, t, &found, &started, err) != NN_OK) return 0;
    return found;
}

/* srv_run_finish with the outcome's fields as arguments. */
static inline nn_status fixture_finish(srv_store *s, const char *id, srv_run_status status,
                                       const json_t *metrics, const char *error,
                                       const srv_prediction *preds, size_t n_preds,
                                       const char *model_json, nn_error *err) {
    srv_run_outcome o = {status, metrics, error, preds, n_preds, model_json, NULL};
    return srv_run_finish(s, id, &o, err);
}

/* Creates a queued run (NULL = none) created at created_at (0 = now); its id in id. */
static inline nn_status fixture_run(srv_store *s, const char *dataset, int64_t created_at,
                                    const char *name, char id[SRV_ID_LEN + 1]) {
    srv_run run = {0};
    if (dataset) (void)snprintf(run.dataset_id, sizeof run.dataset_id, "%s", dataset);
    run.spec = json_pack("{s:s, s:{s:i}}", "name", name ? name : "", "training", "epochs", 3);
    fixture_sha(run.spec_hash, 'e');
    run.spec_name = name ? strdup(name) : NULL;
    run.created_at = created_at;
    run.n_folds = FIXTURE_FOLDS; /* tasks 0, 1: folds; task 2: the final fit */
    run.n_tasks = FIXTURE_FOLDS + 1;
    run.epochs_per_task = 3;
    int created = 0;
    nn_error err = {0};
    nn_status st = srv_run_create(s, &run, NULL, NULL, &created, &err);
    if (st) fprintf(stderr, "fixture_run: %s\n", err.msg);
    memcpy(id, run.id, SRV_ID_LEN + 1);
    srv_run_free(&run);
    return st;
}

/* The result of PRAGMA integrity_check on data/nnd.db ("ok" when sound), in out (64 bytes). */
static inline void fixture_integrity(const char *data, char out[64]) {
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    (void)snprintf(out, 64, "cannot check");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        (void)snprintf(out, 64, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

#endif
