/* test_srv_pool.c — the run engine without HTTP: workers claim tasks and finish runs, several
 * runs share the workers, a cancel reaches a training task within a batch, a task whose lease is
 * taken from it stops, writes nothing, and trains again as a new attempt; events stay
 * contiguous through all of it. */
#include "check.h"
#include "nn_cv.h"
#include "nn_sha256.h"
#include "srv_engine.h"
#include "srv_fixture.h"

#include <time.h>

#define POLL_MS 20
#define WAIT_POLLS 3000 /* 60 s at most for anything to happen, however slow the machine */

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    (void)nanosleep(&ts, NULL);
}

typedef struct engine_fixture {
    char root[64], data[80];
    srv_ctx ctx;
    srv_engine *eng;
    srv_store *s; /* the test thread's own connection */
    char dataset[SRV_ID_LEN + 1];
} engine_fixture;

/* A dataset of n rows: y = 2 x1 − x2 + noise-free, so training has something to learn. */
static void write_dataset(engine_fixture *f, int n) {
    char csv[1 << 16];
    size_t len = (size_t)snprintf(csv, sizeof csv, "x1,x2,y\n");
    for (int i = 0; i < n && len < sizeof csv - 64; i++) {
        double x1 = (i % 17) / 17.0, x2 = (i % 11) / 11.0;
        len +=
            (size_t)snprintf(csv + len, sizeof csv - len, "%.4f,%.4f,%.4f\n", x1, x2, 2 * x1 - x2);
    }
    srv_dataset ds = {0};
    (void)snprintf(ds.name, sizeof ds.name, "synthetic");
    nn_sha256_hex(csv, len, ds.sha256);
    ds.rows = n;
    ds.bytes = (int64_t)len;
    int created = 0;
    nn_error err = {0};
    CHECK(srv_dataset_put(f->s, &ds, &created, &err) == NN_OK);
    memcpy(f->dataset, ds.id, sizeof f->dataset);
    char path[1400];
    srv_dataset_path(f->s, ds.sha256, path, sizeof path);
    FILE *out = fopen(path, "w");
    CHECK(out != NULL);
    if (out) {
        CHECK(fwrite(csv, 1, len, out) == len);
        CHECK(fclose(out) == 0);
    }
    srv_dataset_free(&ds);
}

static int start_with(engine_fixture *f, int workers, int max_active, int lease_seconds,
                      int64_t max_epoch_events) {
    memset(f, 0, sizeof *f);
    if (!fixture_dirs(f->root, f->data)) return 0;
    f->s = fixture_open(f->data);
    if (!f->s) return 0;
    write_dataset(f, 200);
    nn_error err = {0};
    (void)snprintf(f->ctx.cfg.data_dir, sizeof f->ctx.cfg.data_dir, "%s", f->data);
    f->ctx.cfg.workers = workers;
    f->ctx.cfg.max_active = max_active;
    f->ctx.cfg.lease_seconds = lease_seconds;
    f->ctx.cfg.max_epoch_events = max_epoch_events;
    CHECK(srv_random_hex(f->ctx.node, SRV_NODE_LEN, &err) == NN_OK);
    CHECK(srv_stores_create(NULL, f->data, &f->ctx.stores, &err) == NN_OK);
    int requeued = 0, failed = 0;
    CHECK(srv_engine_start(&f->ctx, &f->eng, &requeued, &failed, &err) == NN_OK);
    return f->eng != NULL;
}

static int start(engine_fixture *f, int workers, int max_active, int lease_seconds) {
    return start_with(f, workers, max_active, lease_seconds, 100000);
}

static void stop(engine_fixture *f) {
    atomic_store(&f->ctx.stopping, 1);
    srv_engine_stop_training(f->eng);
    srv_engine_destroy(f->eng);
    srv_stores_destroy(f->ctx.stores);
    srv_store_close(f->s);
    fixture_rm_tree(f->root);
}

/* Queues a run of a small network for `epochs` epochs on k folds (+ the refit). */
static void create_run(engine_fixture *f, int epochs, int k, char id[SRV_ID_LEN + 1]) {
    char text[512];
    (void)snprintf(text, sizeof text,
                   "{\"name\": \"t\", \"seed\": 3, \"target\": \"y\", \"network\": {\"hidden\": "
                   "[{\"units\": 4, \"activation\": \"tanh\"}]}, \"training\": {\"epochs\": %d, "
                   "\"batch_size\": 16, \"validation\": {\"type\": \"kfold\", \"k\": %d}}}",
                   epochs, k);
    nn_spec *spec = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    CHECK(nn_spec_parse(text, strlen(text), &spec, &errs) == NN_OK);
    if (!spec) return;
    srv_run run = {0};
    memcpy(run.dataset_id, f->dataset, sizeof run.dataset_id);
    json_error_t jerr;
    run.spec = json_loads(spec->canonical, 0, &jerr);
    memcpy(run.spec_hash, spec->hash, sizeof run.spec_hash);
    run.spec_name = strdup(spec->name);
    int has_final = 0;
    nn_cv_plan_tasks(spec, &run.n_folds, &has_final);
    run.n_tasks = run.n_folds + has_final;
    run.epochs_per_task = (int64_t)spec->epochs * spec->ensemble;
    nn_spec_destroy(spec);
    int created = 0;
    nn_error err = {0};
    CHECK(srv_run_create(f->s, &run, NULL, NULL, &created, &err) == NN_OK && created);
    memcpy(id, run.id, SRV_ID_LEN + 1);
    srv_run_free(&run);
    srv_engine_wake(f->eng);
}

static srv_run_status status_of(engine_fixture *f, const char *id) {
    srv_run run = {0};
    nn_error err = {0};
    srv_run_status st = SRV_RUN_FAILED;
    if (srv_run_get(f->s, id, &run, &err) == NN_OK) st = run.status;
    srv_run_free(&run);
    return st;
}

static srv_run_status wait_end(engine_fixture *f, const char *id) {
    for (int i = 0; i < WAIT_POLLS; i++) {
        srv_run_status st = status_of(f, id);
        if (st != SRV_RUN_QUEUED && st != SRV_RUN_RUNNING) return st;
        pause_ms(POLL_MS);
    }
    return SRV_RUN_RUNNING;
}

/* Polls an integer query on the test's connection until it is at least want. */
static int wait_query(engine_fixture *f, const char *sql, int want) {
    int v = -1;
    for (int i = 0; i < WAIT_POLLS; i++) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char path[128];
        (void)snprintf(path, sizeof path, "%s/nnd.db", f->data);
        if (sqlite3_open(path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (v >= want) return v;
        pause_ms(POLL_MS);
    }
    return v;
}

/* The run's stored events: ids 1..n with no gap; returns n; the last event's type and data. */
static size_t check_events(engine_fixture *f, const char *id, char last_data[256]) {
    srv_event *ev = NULL;
    size_t n = 0, total = 0;
    nn_error err = {0};
    int64_t after = 0;
    last_data[0] = '\0';
    while (srv_event_list(f->s, id, after, 1000, &ev, &n, &err) == NN_OK && n > 0) {
        for (size_t i = 0; i < n; i++) CHECK(ev[i].seq == (int64_t)(total + i + 1));
        (void)snprintf(last_data, 256, "%s", ev[n - 1].data);
        total += n;
        after = ev[n - 1].seq;
        srv_events_free(ev, n);
    }
    return total;
}

static void test_engine_runs_share_workers_and_succeed(void) {
    engine_fixture f;
    if (!start(&f, 2, 2, 30)) return;
    char a[SRV_ID_LEN + 1], b[SRV_ID_LEN + 1];
    create_run(&f, 300, 2, a);
    create_run(&f, 300, 2, b);
    /* two runs, two workers: the second does not wait for the first */
    CHECK(wait_query(&f, "SELECT count(DISTINCT run_id) FROM tasks WHERE state = 'running'", 2) ==
          2);
    CHECK(wait_end(&f, a) == SRV_RUN_SUCCEEDED);
    CHECK(wait_end(&f, b) == SRV_RUN_SUCCEEDED);
    char last[256];
    CHECK(check_events(&f, a, last) > 10);
    CHECK_CONTAINS(last, "\"succeeded\"");
    srv_run run = {0};
    nn_error err = {0};
    CHECK(srv_run_get(f.s, a, &run, &err) == NN_OK && run.metrics && run.progress == 1.0);
    srv_run_free(&run);
    CHECK(wait_query(&f, "SELECT count(*) = 0 FROM tasks", 1) == 1); /* cleaned up */
    CHECK(wait_query(&f, "SELECT count(*) = 0 FROM checkpoints", 1) == 1);
    stop(&f);
}

static void test_engine_cancel_within_a_batch(void) {
    engine_fixture f;
    if (!start(&f, 2, 2, 30)) return;
    char a[SRV_ID_LEN + 1];
    create_run(&f, 1000000, 2, a); /* would train for a very long time */
    CHECK(wait_query(&f, "SELECT count(*) FROM tasks WHERE state = 'running'", 2) == 2);
    srv_run_status was;
    nn_error err = {0};
    CHECK(srv_engine_cancel(f.eng, f.s, a, &was, &err) == NN_OK && was == SRV_RUN_RUNNING);
    CHECK(wait_end(&f, a) == SRV_RUN_CANCELLED);
    char last[256];
    CHECK(check_events(&f, a, last) > 0);
    CHECK_CONTAINS(last, "\"cancelled\"");
    CHECK(srv_engine_cancel(f.eng, f.s, a, &was, &err) == NN_OK && was == SRV_RUN_CANCELLED);
    stop(&f);
}

static void test_engine_lost_lease_trains_again(void) {
    engine_fixture f;
    /* a 12 s lease, renewed every 4 s: long enough for a heartbeat that waits for the write lock
       on a loaded machine under TSan; the thief's lease is expired from the start, so the next
       heartbeat's reclaim takes the task back whatever the lease */
    if (!start(&f, 1, 1, 12)) return;
    char a[SRV_ID_LEN + 1];
    create_run(&f, 20000, 2, a);
    CHECK(wait_query(&f,
                     "SELECT count(*) FROM tasks WHERE task = 0 AND state = 'running' AND "
                     "epochs_done > 0",
                     1) == 1);
    /* another node takes the task: ours must stop and write nothing; the taker never renews,
       so the lease expires and the task trains again as attempt 2 */
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", f.data);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 30000); /* the engine writes events meanwhile */
    CHECK(sqlite3_exec(db,
                       "UPDATE tasks SET owner = 'thief', lease_until = 0 "
                       "WHERE task = 0 AND state = 'running'",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1); /* taken while it trains */
    sqlite3_close(db);
    CHECK(wait_end(&f, a) == SRV_RUN_SUCCEEDED);
    char last[256];
    size_t n = check_events(&f, a, last);
    CHECK(n > 0);
    CHECK_CONTAINS(last, "\"succeeded\"");
    /* the events say what happened: fold 1 started again as attempt 2 */
    srv_event *ev = NULL;
    size_t got = 0;
    nn_error err = {0};
    int restarted = 0, second = 0;
    for (int64_t after = 0; srv_event_list(f.s, a, after, 1000, &ev, &got, &err) == NN_OK && got;) {
        for (size_t i = 0; i < got; i++) {
            restarted += strstr(ev[i].data, "will train again") != NULL;
            second += strstr(ev[i].data, "\"state\":\"started\"") &&
                      strstr(ev[i].data, "\"fold\":1,") && strstr(ev[i].data, "\"attempt\":2");
        }
        after = ev[got - 1].seq;
        srv_events_free(ev, got);
    }
    CHECK(restarted == 1);
    CHECK(second == 1);
    stop(&f);
}

/* Epoch events past --max-epoch-events are thinned: every n-th epoch and each network's first
 * and last are stored, fold and status events all. */
static void test_engine_epoch_events_are_bounded(void) {
    engine_fixture f;
    if (!start_with(&f, 2, 2, 30, 100)) return;
    char a[SRV_ID_LEN + 1];
    create_run(&f, 400, 2, a); /* 3 tasks × 400 epochs = 1200 epochs: every 12th is stored */
    CHECK(wait_end(&f, a) == SRV_RUN_SUCCEEDED);
    char last[256];
    size_t n = check_events(&f, a, last);
    int epochs = wait_query(&f, "SELECT count(*) FROM events WHERE type = 'epoch'", 0);
    int folds = wait_query(&f, "SELECT count(*) FROM events WHERE type = 'fold'", 0);
    CHECK(epochs >= 100 && epochs <= 100 + 3 * 2);  /* 3 × 33 multiples of 12, + firsts/lasts */
    CHECK(folds == 6);                              /* started and finished of 3 tasks: every one */
    CHECK(n == (size_t)epochs + (size_t)folds + 2); /* + status running, status succeeded */
    stop(&f);
}

int main(void) {
    RUN(test_engine_runs_share_workers_and_succeed);
    RUN(test_engine_cancel_within_a_batch);
    RUN(test_engine_lost_lease_trains_again);
    RUN(test_engine_epoch_events_are_bounded);
    return check_summary();
}
