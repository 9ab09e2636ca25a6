/* test_srv_store.c — the SQLite store: migrations, datasets, runs, results, events, concurrency.
 * Each test works in a fresh temporary data dir that it removes afterwards. */
#include "check.h"
#include "srv_fixture.h"
#include "srv_studies.h"
#include "srv_queue.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static void exec_sql(const char *data, const char *sql) {
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

static void query_text(const char *data, const char *sql, char out[64]) {
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    (void)snprintf(out, 64, "(none)");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        (void)snprintf(out, 64, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int query_int(const char *data, const char *sql) {
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_store_migrate_is_idempotent(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    nn_error err = {0};
    srv_store *s = NULL;
    CHECK(srv_store_open(NULL, data, &s, &err) != NN_OK); /* nothing migrated yet */
    CHECK(s == NULL);
    CHECK(srv_store_migrate(NULL, data, &err) == NN_OK);
    CHECK(srv_store_migrate(NULL, data, &err) == NN_OK);
    /* every migration applied: datasets, runs, events, predictions, models, checkpoints, tasks,
       studies, study_runs, study_events, fold_states */
    CHECK(query_int(data, "PRAGMA user_version") == srv_store_schema_version());
    CHECK(query_int(data, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'") == 11);
    char path[128];
    (void)snprintf(path, sizeof path, "%s/datasets", data);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat(data, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(srv_store_open(NULL, data, &s, &err) == NN_OK);
    CHECK_STR(srv_store_data_dir(s), data);
    char buf[256];
    srv_dataset_path(s, "abc", buf, sizeof buf);
    CHECK(strstr(buf, "/data/datasets/abc.csv") != NULL);
    srv_store_close(s);
    char mode[64];
    query_text(data, "PRAGMA journal_mode", mode);
    CHECK_STR(mode, "wal");
    fixture_rm_tree(root);
}

static void test_store_refuses_newer_schema(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    nn_error err = {0};
    CHECK(srv_store_migrate(NULL, data, &err) == NN_OK);
    exec_sql(data, "PRAGMA user_version = 999");
    CHECK(srv_store_migrate(NULL, data, &err) == NN_ERR_INVALID);
    char want[128];
    (void)snprintf(want, sizeof want,
                   "nnd.db is at schema version 999 but this nnd knows only up to %d: upgrade nnd",
                   srv_store_schema_version());
    CHECK_STR(err.msg, want);
    srv_store *s = NULL;
    CHECK(srv_store_open(NULL, data, &s, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "upgrade nnd");
    CHECK(query_int(data, "PRAGMA user_version") == 999);
    fixture_rm_tree(root);
}

static void test_store_new_id_is_random_hex(void) {
    char a[SRV_ID_LEN + 1], b[SRV_ID_LEN + 1];
    CHECK(srv_new_id(a, NULL) == NN_OK);
    CHECK(srv_new_id(b, NULL) == NN_OK);
    CHECK(strlen(a) == SRV_ID_LEN);
    CHECK(strspn(a, "0123456789abcdef") == SRV_ID_LEN);
    CHECK(strcmp(a, b) != 0);
}

static void write_file(const char *path) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        CHECK(fputs("a,b\n1,2\n", f) >= 0);
        CHECK(fclose(f) == 0);
    }
}

static void test_store_dataset_put_dedupes_by_sha(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    srv_dataset ds = {0};
    (void)snprintf(ds.name, sizeof ds.name, "kc.csv");
    fixture_sha(ds.sha256, 'a');
    ds.rows = 21613;
    ds.bytes = 2515206;
    ds.columns =
        json_pack("[{s:s, s:s, s:f}]", "name", "price", "type", "number", "mean", 540088.1);
    int created = -1;
    CHECK(srv_dataset_put(s, &ds, &created, &err) == NN_OK);
    CHECK(created == 1);
    CHECK(strlen(ds.id) == SRV_ID_LEN);
    CHECK(ds.created_at > 0);
    char first_id[SRV_ID_LEN + 1];
    memcpy(first_id, ds.id, sizeof first_id);

    srv_dataset again = {0};
    (void)snprintf(again.name, sizeof again.name, "other name.csv");
    fixture_sha(again.sha256, 'a');
    CHECK(srv_dataset_put(s, &again, &created, &err) == NN_OK);
    CHECK(created == 0);
    CHECK_STR(again.id, first_id);
    CHECK_STR(again.name, "kc.csv"); /* filled from the stored row */
    CHECK(again.rows == 21613);

    srv_dataset got = {0};
    CHECK(srv_dataset_get(s, first_id, &got, &err) == NN_OK);
    CHECK_STR(got.sha256, ds.sha256);
    CHECK(got.bytes == 2515206);
    CHECK(json_equal(got.columns, ds.columns));
    srv_dataset_free(&got);
    CHECK(srv_dataset_get(s, "00000000000000000000000000000000", &got, &err) == NN_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "not found");

    fixture_sha(ds.sha256, 'b');
    ds.id[0] = '\0';
    ds.created_at = again.created_at + 5;
    CHECK(srv_dataset_put(s, &ds, &created, &err) == NN_OK && created == 1);
    json_t *list = NULL;
    CHECK(srv_dataset_list(s, &list, &err) == NN_OK);
    CHECK(json_array_size(list) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "id")), ds.id);
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 1), "id")), first_id);
    CHECK(json_integer_value(json_object_get(json_array_get(list, 1), "rows")) == 21613);
    CHECK(json_object_get(json_array_get(list, 0), "columns") == NULL);
    json_decref(list);
    srv_dataset_free(&ds);
    srv_dataset_free(&again);
    srv_store_close(s);
    fixture_rm_tree(root);
}

static void test_store_dataset_delete(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char ds[SRV_ID_LEN + 1], run[SRV_ID_LEN + 1], sha[65], path[256];
    CHECK(fixture_dataset(s, "d.csv", 'c', ds) == NN_OK);
    fixture_sha(sha, 'c');
    srv_dataset_path(s, sha, path, sizeof path);
    write_file(path);
    CHECK(fixture_run(s, ds, 0, "r", run) == NN_OK);

    CHECK(srv_dataset_delete(s, ds, &err) == NN_ERR_CONFLICT);
    char want[128];
    (void)snprintf(want, sizeof want, "dataset is used by run %s (status queued)", run);
    CHECK_STR(err.msg, want);
    CHECK(access(path, F_OK) == 0); /* refused: the file stays */

    srv_task_ref got_ref;
    CHECK(fixture_claim(s, &got_ref, &err));
    CHECK(srv_dataset_delete(s, ds, &err) == NN_ERR_CONFLICT);
    CHECK_CONTAINS(err.msg, "(status running)");

    CHECK(fixture_finish(s, run, SRV_RUN_FAILED, NULL, "boom", NULL, 0, NULL, &err) == NN_OK);
    CHECK(srv_dataset_delete(s, ds, &err) == NN_OK);
    CHECK(access(path, F_OK) != 0);
    srv_dataset d = {0};
    CHECK(srv_dataset_get(s, ds, &d, &err) == NN_ERR_NOT_FOUND);
    CHECK(srv_dataset_delete(s, ds, &err) == NN_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "not found");
    srv_run r = {0};
    CHECK(srv_run_get(s, run, &r, &err) == NN_OK);
    CHECK_STR(r.dataset_id, ""); /* the finished run keeps its results, loses the link */
    CHECK_STR(r.error, "boom");
    srv_run_free(&r);
    srv_store_close(s);
    fixture_rm_tree(root);
}

static void test_store_run_create_idempotency(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char ds[SRV_ID_LEN + 1];
    CHECK(fixture_dataset(s, "d.csv", 'd', ds) == NN_OK);
    srv_run run = {0};
    memcpy(run.dataset_id, ds, sizeof run.dataset_id);
    run.spec = json_pack("{s:s, s:f}", "name", "price", "lr", 0.1);
    fixture_sha(run.spec_hash, 'f');
    run.spec_name = strdup("price");
    run.n_tasks = 1;
    int created = -1;
    CHECK(srv_run_create(s, &run, "key-1", "hash-1", &created, &err) == NN_OK);
    CHECK(created == 1);
    CHECK(run.status == SRV_RUN_QUEUED);
    char id[SRV_ID_LEN + 1];
    memcpy(id, run.id, sizeof id);

    srv_run again = {0};
    memcpy(again.dataset_id, ds, sizeof again.dataset_id);
    again.spec = json_pack("{s:s, s:f}", "name", "price", "lr", 0.1);
    fixture_sha(again.spec_hash, 'f');
    CHECK(srv_run_create(s, &again, "key-1", "hash-1", &created, &err) == NN_OK);
    CHECK(created == 0);
    CHECK_STR(again.id, id);
    CHECK_STR(again.spec_name, "price");
    CHECK(json_equal(again.spec, run.spec));
    srv_run_free(&again);

    srv_run other = {0};
    other.spec = json_object();
    CHECK(srv_run_create(s, &other, "key-1", "hash-2", &created, &err) == NN_ERR_CONFLICT);
    CHECK_STR(err.msg, "Idempotency-Key reused with a different request");
    srv_run_free(&other);

    srv_run bad = {0};
    memcpy(bad.dataset_id, "ffffffffffffffffffffffffffffffff", SRV_ID_LEN + 1);
    bad.spec = json_object();
    CHECK(srv_run_create(s, &bad, NULL, NULL, &created, &err) == NN_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "not found");
    srv_run_free(&bad);

    int64_t depth = 0, active = 0;
    CHECK(srv_queue_depth(s, &depth, &active, &err) == NN_OK);
    CHECK(depth == 1 && active == 1);
    srv_run got = {0};
    CHECK(srv_run_get(s, id, &got, &err) == NN_OK);
    CHECK(json_real_value(json_object_get(got.spec, "lr")) == 0.1);
    CHECK_STR(got.spec_hash, run.spec_hash);
    CHECK(got.metrics == NULL && got.error == NULL && got.started_at == 0);
    srv_run_free(&got);
    srv_run_free(&run);
    CHECK(srv_run_get(s, "nope", &got, &err) == NN_ERR_NOT_FOUND);
    CHECK_STR(err.msg, "run nope not found");
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* Pages through the run list with limit 3; ids in out (in page order), their count returned. */
static int collect_pages(srv_store *s, int status, const char *ds, char out[][SRV_ID_LEN + 1],
                         int max) {
    nn_error err = {0};
    char *cursor = NULL;
    int n = 0, pages = 0;
    do {
        json_t *page = NULL;
        char *next = NULL;
        CHECK(srv_run_list(s, status, ds, cursor, 3, &page, &next, &err) == NN_OK);
        free(cursor);
        cursor = next;
        CHECK(json_array_size(page) <= 3);
        for (size_t i = 0; i < json_array_size(page) && n < max; i++)
            (void)snprintf(out[n++], SRV_ID_LEN + 1, "%s",
                           json_string_value(json_object_get(json_array_get(page, i), "id")));
        json_decref(page);
    } while (cursor && ++pages < 10);
    free(cursor);
    return n;
}

struct keyed {
    int64_t created_at;
    char id[SRV_ID_LEN + 1];
};

static int newest_first(const void *a, const void *b) {
    const struct keyed *x = a, *y = b;
    if (x->created_at != y->created_at) return x->created_at < y->created_at ? 1 : -1;
    return -strcmp(x->id, y->id);
}

static void test_store_run_list_pages(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char ds1[SRV_ID_LEN + 1], ds2[SRV_ID_LEN + 1], ids[7][SRV_ID_LEN + 1];
    CHECK(fixture_dataset(s, "one", '1', ds1) == NN_OK);
    CHECK(fixture_dataset(s, "two", '2', ds2) == NN_OK);
    for (int i = 0; i < 7; i++) /* pairs share a created_at: the id breaks the tie */
        CHECK(fixture_run(s, i < 5 ? ds1 : ds2, 1000 + i / 2, "r", ids[i]) == NN_OK);
    /* expected order: newest first, then id descending */
    struct keyed want[7];
    for (int i = 0; i < 7; i++) {
        want[i].created_at = 1000 + i / 2;
        memcpy(want[i].id, ids[i], SRV_ID_LEN + 1);
    }
    qsort(want, 7, sizeof *want, newest_first);
    char got[10][SRV_ID_LEN + 1];
    int n = collect_pages(s, -1, NULL, got, 10);
    CHECK(n == 7);
    for (int i = 0; i < 7 && i < n; i++) CHECK_STR(got[i], want[i].id);

    CHECK(collect_pages(s, -1, ds2, got, 10) == 2);
    CHECK_STR(got[0], ids[6]);
    CHECK(collect_pages(s, SRV_RUN_QUEUED, ds1, got, 10) == 5);
    srv_task_ref claimed_ref;
    CHECK(fixture_claim(s, &claimed_ref, &err));
    CHECK(collect_pages(s, SRV_RUN_RUNNING, NULL, got, 10) == 1);
    CHECK_STR(got[0], claimed_ref.run_id);
    CHECK(collect_pages(s, SRV_RUN_QUEUED, NULL, got, 10) == 6);

    json_t *page = NULL;
    char *next = (char *)"unset";
    CHECK(srv_run_list(s, -1, NULL, NULL, 7, &page, &next, &err) == NN_OK);
    CHECK(json_array_size(page) == 7 && next == NULL); /* an exactly full page is the last */
    json_decref(page);
    const char *bad[] = {"",
                         "abc",
                         "1000",
                         "1000.",
                         "1000.XYZ",
                         "x1000.0123456789abcdef0123456789abcdef",
                         "1000.0123456789abcdef0123456789abcde",
                         "99999999999999999999.0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        page = NULL;
        CHECK(srv_run_list(s, -1, NULL, bad[i], 3, &page, &next, &err) == NN_ERR_INVALID);
        CHECK_STR(err.msg, "invalid cursor");
        CHECK(page == NULL);
    }
    CHECK(srv_run_list(s, 9, NULL, NULL, 3, &page, &next, &err) == NN_ERR_INVALID);
    srv_store_close(s);
    fixture_rm_tree(root);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_store_run_finish_results(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char id[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 0, "fin", id) == NN_OK);
    srv_task_ref got_ref;
    CHECK(fixture_claim(s, &got_ref, &err));
    srv_prediction p[] = {
        {2, 1, "b", 0, 1.0 / 3.0, 0.1 + 0.2, NULL},
        {1, 2, NULL, 1, -1e-300, 1e300, NULL},
        {1, 2, "a", 0, 540088.12345678901, 4.9406564584124654e-324, "[0.25,0.75]"},
        {2, 1, "b", 1, -2.5e-17, 12345.678, NULL},
    };
    json_t *metrics = json_pack("{s:f, s:f, s:f, s:{s:i}}", "r2", 0.87654321, "rmse", 123.5, "mae",
                                99.25, "folds", "k", 5);
    const char *model = "{\"format\":\"nnd-model\",\"params\":[0.5,-1.25]}";
    CHECK(fixture_finish(s, id, SRV_RUN_SUCCEEDED, metrics, NULL, p, 4, model, &err) == NN_OK);
    srv_run r = {0};
    CHECK(srv_run_get(s, id, &r, &err) == NN_OK);
    CHECK(r.status == SRV_RUN_SUCCEEDED && r.progress == 1 && r.finished_at >= r.started_at);
    CHECK(json_equal(r.metrics, metrics));
    CHECK(r.error == NULL);
    srv_run_free(&r);
    srv_prediction *q = NULL;
    size_t n = 0;
    CHECK(srv_prediction_list(s, id, &q, &n, &err) == NN_OK);
    CHECK(n == 4);
    /* ordered by row then target: p[2], p[1], p[0], p[3] */
    const int order[] = {2, 1, 0, 3};
    for (size_t i = 0; i < n && i < 4; i++) {
        const srv_prediction *w = &p[order[i]];
        CHECK(q[i].row == w->row && q[i].target == w->target && q[i].fold == w->fold);
        CHECK(same_bits(q[i].actual, w->actual));
        CHECK(same_bits(q[i].predicted, w->predicted));
        CHECK((q[i].id == NULL) == (w->id == NULL));
        if (w->id) CHECK_STR(q[i].id, w->id);
        CHECK((q[i].probs == NULL) == (w->probs == NULL)); /* a classification's probabilities */
        if (w->probs) CHECK_STR(q[i].probs, w->probs);
    }
    srv_predictions_free(q, n);
    /* the documented exceptions: NaN is stored as NULL and read back as NaN; -0.0 reads as 0 */
    char id3[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 0, "nan", id3) == NN_OK);
    srv_prediction odd = {1, 1, NULL, 0, NAN, -0.0, NULL};
    CHECK(fixture_finish(s, id3, SRV_RUN_FAILED, NULL, "x", &odd, 1, NULL, &err) == NN_OK);
    CHECK(srv_prediction_list(s, id3, &q, &n, &err) == NN_OK && n == 1);
    CHECK(n == 1 && isnan(q[0].actual) && q[0].predicted == 0);
    srv_predictions_free(q, n);
    char *text = NULL;
    CHECK(srv_model_get(s, id, &text, &err) == NN_OK);
    CHECK_STR(text, model);
    free(text);

    json_t *page = NULL;
    char *next = NULL;
    CHECK(srv_run_list(s, -1, NULL, NULL, 0, &page, &next, &err) == NN_OK);
    json_t *sum = NULL; /* the "fin" run (created in the same millisecond as "nan", maybe) */
    for (size_t i = 0; i < json_array_size(page); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(page, i), "name")), "fin"))
            sum = json_array_get(page, i);
    CHECK(json_real_value(json_object_get(sum, "r2")) == 0.87654321);
    CHECK(json_real_value(json_object_get(sum, "mae")) == 99.25);
    CHECK_STR(json_string_value(json_object_get(sum, "name")), "fin");
    CHECK_STR(json_string_value(json_object_get(sum, "status")), "succeeded");
    CHECK(json_is_null(json_object_get(sum, "dataset")));
    CHECK(json_integer_value(json_object_get(sum, "finished_at")) > 0);
    json_decref(page);

    CHECK(fixture_finish(s, id, SRV_RUN_FAILED, NULL, "late", NULL, 0, NULL, &err) ==
          NN_ERR_CONFLICT);
    CHECK_CONTAINS(err.msg, "already finished (status succeeded)");
    CHECK(fixture_finish(s, "nope", SRV_RUN_FAILED, NULL, "x", NULL, 0, NULL, &err) ==
          NN_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "not found");

    /* a failing prediction write (duplicate row) leaves the run untouched */
    char id2[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 0, "dup", id2) == NN_OK);
    CHECK(fixture_finish(s, id2, SRV_RUN_SUCCEEDED, metrics, NULL, p, 4, model, &err) == NN_OK);
    CHECK(fixture_run(s, NULL, 0, "dup2", id2) == NN_OK);
    srv_prediction twice[] = {p[0], p[0]};
    CHECK(fixture_finish(s, id2, SRV_RUN_SUCCEEDED, metrics, NULL, twice, 2, model, &err) ==
          NN_ERR_CONFLICT); /* the primary key (run, row, target) is taken */
    CHECK(srv_run_get(s, id2, &r, &err) == NN_OK);
    CHECK(r.status == SRV_RUN_QUEUED && r.metrics == NULL && r.finished_at == 0);
    srv_run_free(&r);
    CHECK(srv_prediction_list(s, id2, &q, &n, &err) == NN_OK && n == 0);
    srv_predictions_free(q, n);
    CHECK(srv_model_get(s, id2, &text, &err) == NN_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "not found");
    CHECK(fixture_finish(s, id2, SRV_RUN_RUNNING, NULL, NULL, NULL, 0, NULL, &err) ==
          NN_ERR_INVALID);
    json_decref(metrics);
    srv_store_close(s);
    fixture_rm_tree(root);
}

static void test_store_events(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char id[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 0, "ev", id) == NN_OK);
    int64_t last = -1;
    CHECK(srv_event_last_seq(s, id, &last, &err) == NN_OK && last == 0);
    srv_event ev[3] = {{1, "status", "{\"status\":\"running\"}"},
                       {2, "epoch", "{\"epoch\":1,\"loss\":0.5}"},
                       {3, "log", "\"hello\""}};
    CHECK(srv_event_append(s, id, ev, 3, &err) == NN_OK);
    CHECK(srv_event_last_seq(s, id, &last, &err) == NN_OK && last == 3);
    srv_event *out = NULL;
    size_t n = 0;
    CHECK(srv_event_list(s, id, 0, 100, &out, &n, &err) == NN_OK);
    CHECK(n == 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        CHECK(out[i].seq == ev[i].seq);
        CHECK_STR(out[i].type, ev[i].type);
        CHECK_STR(out[i].data, ev[i].data);
    }
    srv_events_free(out, n);
    CHECK(srv_event_list(s, id, 1, 1, &out, &n, &err) == NN_OK);
    CHECK(n == 1 && out[0].seq == 2);
    srv_events_free(out, n);
    CHECK(srv_event_list(s, id, 3, 0, &out, &n, &err) == NN_OK && n == 0);
    srv_events_free(out, n);

    /* 4 and 5 are fine, the third repeats 4: nothing of the batch is kept */
    srv_event dup[3] = {{4, "log", "\"a\""}, {5, "log", "\"b\""}, {4, "log", "\"c\""}};
    CHECK(srv_event_append(s, id, dup, 3, &err) == NN_ERR_INVALID);
    CHECK(srv_event_last_seq(s, id, &last, &err) == NN_OK && last == 3);
    srv_event again = {3, "log", "\"again\""};
    CHECK(srv_event_append(s, id, &again, 1, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "does not follow");
    srv_event gap = {7, "log", "\"gap\""};
    CHECK(srv_event_append(s, id, &gap, 1, &err) == NN_ERR_INVALID);
    srv_event notype = {4, "", "\"x\""};
    CHECK(srv_event_append(s, id, &notype, 1, &err) == NN_ERR_INVALID);
    srv_event orphan = {1, "log", "\"x\""};
    CHECK(srv_event_append(s, "ffffffffffffffffffffffffffffffff", &orphan, 1, &err) ==
          NN_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "not found");
    CHECK(srv_event_list(s, id, 0, 100, &out, &n, &err) == NN_OK && n == 3);
    srv_events_free(out, n);
    srv_store_close(s);
    fixture_rm_tree(root);
}

#define WRITER_EVENTS 500

struct writer {
    const char *data;
    char run[SRV_ID_LEN + 1];
    int failures;
    nn_error err;
};

/* Appends WRITER_EVENTS events one transaction at a time through its own connection. */
static void *writer_main(void *arg) {
    struct writer *w = arg;
    srv_store *s = NULL;
    if (srv_store_open(NULL, w->data, &s, &w->err) != NN_OK) {
        w->failures = WRITER_EVENTS;
        return NULL;
    }
    for (int i = 1; i <= WRITER_EVENTS; i++) {
        srv_event e = {i, "epoch", "{\"loss\":0.25}"};
        nn_error err = {0};
        if (srv_event_append(s, w->run, &e, 1, &err) != NN_OK) {
            w->failures++;
            w->err = err;
        }
    }
    srv_store_close(s);
    return NULL;
}

static void test_store_concurrent_writers(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    struct writer w[2] = {{data, "", 0, {0}}, {data, "", 0, {0}}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(fixture_run(s, NULL, 0, "w", w[i].run) == NN_OK);
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, writer_main, &w[i]) == 0);
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    nn_error err = {0};
    for (int i = 0; i < 2; i++) {
        CHECK(w[i].failures == 0);
        if (w[i].failures) fprintf(stderr, "writer %d: %s\n", i, w[i].err.msg);
        int64_t last = 0;
        CHECK(srv_event_last_seq(s, w[i].run, &last, &err) == NN_OK);
        CHECK(last == WRITER_EVENTS);
    }
    srv_store_close(s);
    char integrity[64];
    fixture_integrity(data, integrity);
    CHECK_STR(integrity, "ok");
    CHECK(query_int(data, "SELECT count(*) FROM events") == 2 * WRITER_EVENTS);
    fixture_rm_tree(root);
}

static void test_store_failed_migration_rolls_back(void) {
    char root[64], data[80], path[128];
    CHECK(fixture_dirs(root, data));
    CHECK(mkdir(data, 0700) == 0);
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE models (x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    nn_error err = {0};
    CHECK(srv_store_migrate(NULL, data, &err) == NN_ERR_IO);
    CHECK_CONTAINS(err.msg, "migration 0001_init.sql failed");
    CHECK_CONTAINS(err.msg, "already exists");
    CHECK(query_int(data, "PRAGMA user_version") == 0);
    CHECK(query_int(data, "SELECT count(*) FROM sqlite_schema WHERE name = 'runs'") == 0);
    fixture_rm_tree(root);
}

static void test_store_busy_is_reported(void) {
    char root[64], data[80], path[128];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    char id[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 0, "busy", id) == NN_OK);
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL; /* another writer holds the write lock throughout */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    srv_event e = {1, "log", "\"x\""};
    nn_error err = {0};
    struct timespec t0, t1;
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(srv_event_append(s, id, &e, 1, &err) == NN_ERR_BUSY);
    (void)clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_CONTAINS(err.msg, "database is busy");
    double waited = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(waited >= 4.5 && waited < 8); /* the busy timeout, not once per retry */
    srv_run r = {0};                    /* readers are not blocked by the writer in WAL mode */
    CHECK(srv_run_get(s, id, &r, &err) == NN_OK);
    srv_run_free(&r);
    CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(srv_event_append(s, id, &e, 1, &err) == NN_OK);
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* Checkpoints: put/replace/list by task for a running run; finishing the run drops them; a
 * finished run takes no new ones. */
static void test_store_studies(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char ds[SRV_ID_LEN + 1], hold[SRV_ID_LEN + 1], run[SRV_ID_LEN + 1];
    CHECK(fixture_dataset(s, "d.csv", 'd', ds) == NN_OK);
    CHECK(fixture_dataset(s, "h.csv", 'e', hold) == NN_OK);
    srv_study st;
    memset(&st, 0, sizeof st);
    (void)snprintf(st.dataset_id, sizeof st.dataset_id, "%s", ds);
    (void)snprintf(st.holdout_id, sizeof st.holdout_id, "%s", hold);
    st.name = "s";
    st.doc_json = "{}";
    CHECK(srv_study_create(s, &st, &err) == NN_OK);
    CHECK(strlen(st.id) == SRV_ID_LEN);
    srv_study bad = st;
    bad.id[0] = '\0';
    (void)snprintf(bad.dataset_id, sizeof bad.dataset_id, "%032d", 0);
    bad.holdout_id[0] = '\0';
    CHECK(srv_study_create(s, &bad, &err) == NN_ERR_NOT_FOUND);
    char *ids = NULL;
    size_t n = 0;
    CHECK(srv_study_running(s, &ids, &n, &err) == NN_OK && n == 1);
    if (n == 1) CHECK_STR(ids, st.id);
    free(ids);
    srv_event evs[2] = {{1, "trial", "{\"trial\":1}"}, {2, "rung", "{\"trial\":1,\"rung\":1}"}};
    srv_study_save v = {
        "running", "{\"trials\":[]}", "[{\"trial\":1}]", "rank\n", NULL, NULL, evs, 2, NULL};
    int held = 0; /* one process: the lease is always this one's, whoever asks */
    CHECK(srv_study_lease(s, st.id, "node-a", 1000, &held, &err) == NN_OK && held == 1);
    CHECK(srv_study_lease(s, st.id, "node-b", 1000, &held, &err) == NN_OK && held == 1);
    CHECK(srv_study_lease_release(s, "node-a", &err) == NN_OK);
    CHECK(srv_study_put(s, st.id, &v, &err) == NN_OK);
    CHECK(fixture_run(s, ds, 0, "r", run) == NN_OK);
    CHECK(srv_study_run_put(s, st.id, 0, 1, run, &err) == NN_OK);
    char got[SRV_ID_LEN + 1] = "";
    CHECK(srv_study_run_get(s, st.id, 0, 1, got, &err) == NN_OK);
    CHECK_STR(got, run);
    CHECK(srv_study_run_get(s, st.id, 0, 2, got, &err) == NN_ERR_NOT_FOUND);
    int running = 0, asked = -1;
    CHECK(srv_study_cancel_requested(s, st.id, &asked, &err) == NN_OK && asked == 0);
    CHECK(srv_study_request_cancel(s, st.id, &running, &err) == NN_OK && running == 1);
    CHECK(srv_study_cancel_requested(s, st.id, &asked, &err) == NN_OK && asked == 1);
    CHECK(srv_study_cancel_requested(s, "0123", &asked, &err) == NN_ERR_NOT_FOUND);
    int64_t seq = 0;
    CHECK(srv_study_last_seq(s, st.id, &seq, &err) == NN_OK && seq == 2);
    CHECK(srv_study_put(s, st.id, &v, &err) != NN_OK); /* the same events again: nothing kept */
    srv_event *got_ev = NULL;
    size_t n_ev = 0;
    CHECK(srv_study_events(s, st.id, 1, 0, &got_ev, &n_ev, &err) == NN_OK && n_ev == 1);
    if (n_ev == 1) CHECK(got_ev[0].seq == 2 && strcmp(got_ev[0].type, "rung") == 0);
    srv_events_free(got_ev, n_ev);
    srv_study_save end = {"cancelled", NULL, NULL, NULL, "{\"best\":null}",
                          "cancelled", NULL, 0,    NULL};
    CHECK(srv_study_put(s, st.id, &end, &err) == NN_OK);
    srv_study row;
    CHECK(srv_study_get(s, st.id, &row, &err) == NN_OK);
    CHECK_STR(row.status, "cancelled");
    CHECK_STR(row.holdout_id, hold);
    CHECK_STR(row.state_json, "{\"trials\":[]}"); /* NULL leaves a column as it was */
    CHECK_STR(row.board_csv, "rank\n");
    CHECK_STR(row.error, "cancelled");
    CHECK(row.cancel_requested == 1 && row.finished_at > 0);
    srv_study_free(&row);
    CHECK(srv_study_request_cancel(s, st.id, &running, &err) == NN_OK && running == 0);
    json_t *list = NULL;
    CHECK(srv_study_list(s, &list, &err) == NN_OK && json_array_size(list) == 1);
    CHECK(json_integer_value(json_object_get(json_array_get(list, 0), "trials")) == 1);
    json_decref(list);
    CHECK(srv_study_get(s, "0123", &row, &err) == NN_ERR_NOT_FOUND);
    srv_store_close(s);
}

int main(void) {
    RUN(test_store_migrate_is_idempotent);
    RUN(test_store_refuses_newer_schema);
    RUN(test_store_failed_migration_rolls_back);
    RUN(test_store_new_id_is_random_hex);
    RUN(test_store_dataset_put_dedupes_by_sha);
    RUN(test_store_dataset_delete);
    RUN(test_store_run_create_idempotency);
    RUN(test_store_run_list_pages);
    RUN(test_store_run_finish_results);
    RUN(test_store_events);
    RUN(test_store_concurrent_writers);
    RUN(test_store_busy_is_reported);
    RUN(test_store_studies);
    return check_summary();
}
