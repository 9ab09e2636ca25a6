/* test_srv_queue.c — the task queue: tasks as rows, claims (order, fairness, limits, exclusive
 * across connections), leases (renew, stop, lost), fenced ends, the final fit promoted exactly
 * once, the run's end decided once, cancel, release, reclaim, fenced event writes, and the
 * migration that gives an older store's runs their task rows. */
#include "check.h"
#include "srv_fixture.h"

#include <pthread.h>
#include <time.h>

static void exec_sql(const char *data, const char *sql) {
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "exec_sql: %s\n", msg ? msg : "?");
    CHECK(rc == SQLITE_OK);
    sqlite3_free(msg);
    sqlite3_close(db);
}

static int query_int(const char *data, const char *sql) {
    char path[128];
    (void)snprintf(path, sizeof path, "%s/nnd.db", data);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static srv_claim_cfg cfg_of(const char *node, int per_run, int max_runs) {
    srv_claim_cfg c = {node, 60000, per_run, max_runs};
    return c;
}

static int claim(srv_store *s, const srv_claim_cfg *c, srv_task_ref *t, int *started) {
    nn_error err = {0};
    int found = 0, st = 0;
    CHECK(srv_queue_claim(s, c, t, &found, &st, &err) == NN_OK);
    if (started) *started = st;
    return found;
}

static srv_task_end end_task(srv_store *s, const char *node, const srv_task_ref *t,
                             srv_task_result r, const char *cp, const char *error) {
    nn_error err = {0};
    srv_task_end e;
    srv_task_output out = {.checkpoint = cp};
    CHECK(srv_queue_end_task(s, node, t, r, &out, error, &e, &err) == NN_OK);
    return e;
}

/* Claims follow the run order (oldest first, its tasks in order) while the fewest-running rule
 * ties; the final fit waits for every fold; the last fold promotes it once. */
static void test_queue_claim_order_and_final(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char a[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1000, "a", a) == NN_OK);
    CHECK(query_int(data, "SELECT count(*) FROM tasks") == 3);
    CHECK(query_int(data,
                    "SELECT count(*) FROM tasks WHERE state = 'waiting' AND kind = 'final'") == 1);
    srv_claim_cfg c = cfg_of("n1", 4, 4);
    srv_task_ref t0, t1, t;
    int started = 0;
    CHECK(claim(s, &c, &t0, &started) && t0.task == 0 && t0.attempt == 1 && started == 1);
    CHECK(claim(s, &c, &t1, &started) && t1.task == 1 && started == 0);
    CHECK(!claim(s, &c, &t, NULL)); /* the final fit waits for the folds */
    srv_run run = {0};
    nn_error err = {0};
    CHECK(srv_run_get(s, a, &run, &err) == NN_OK && run.status == SRV_RUN_RUNNING &&
          run.attempts == 1);
    srv_run_free(&run);
    srv_task_end e = end_task(s, "n1", &t0, SRV_TASK_DONE, "{\"task\":0}", NULL);
    CHECK(!e.fenced_out && !e.run_over);
    CHECK(!claim(s, &c, &t, NULL)); /* one fold still running */
    e = end_task(s, "n1", &t1, SRV_TASK_DONE, "{\"task\":1}", NULL);
    CHECK(!e.run_over);
    CHECK(claim(s, &c, &t, NULL) && t.task == 2); /* promoted by the last fold */
    e = end_task(s, "n1", &t, SRV_TASK_DONE, NULL, NULL);
    CHECK(e.run_over && e.outcome == SRV_RUN_SUCCEEDED);
    /* the checkpoints came with the folds' ends */
    srv_checkpoint *cp = NULL;
    size_t n = 0;
    CHECK(srv_checkpoint_list(s, a, &cp, &n, &err) == NN_OK && n == 2);
    if (n == 2) CHECK_STR(cp[1].json, "{\"task\":1}");
    srv_checkpoints_free(cp, n);
    int *done = NULL;
    CHECK(srv_queue_done_tasks(s, a, &done, &n, &err) == NN_OK && n == 3);
    free(done);
    /* finishing drops the task rows and checkpoints */
    CHECK(fixture_finish(s, a, SRV_RUN_SUCCEEDED, NULL, NULL, NULL, 0, NULL, &err) == NN_OK);
    CHECK(query_int(data, "SELECT count(*) FROM tasks") == 0);
    CHECK(query_int(data, "SELECT count(*) FROM checkpoints") == 0);
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* Fairness: a free worker takes a task of the run with the fewest running tasks first; a node
 * runs at most per_run tasks of one run and max_runs runs. */
static void test_queue_fairness_and_limits(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char a[SRV_ID_LEN + 1], b[SRV_ID_LEN + 1], c3[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1000, "a", a) == NN_OK);
    CHECK(fixture_run(s, NULL, 2000, "b", b) == NN_OK);
    CHECK(fixture_run(s, NULL, 3000, "c", c3) == NN_OK);
    srv_claim_cfg c = cfg_of("n1", 2, 2);
    srv_task_ref t[4];
    CHECK(claim(s, &c, &t[0], NULL));
    CHECK(claim(s, &c, &t[1], NULL));
    CHECK_STR(t[0].run_id, a);
    CHECK_STR(t[1].run_id, b); /* b has none running: it goes before a's second fold */
    CHECK(claim(s, &c, &t[2], NULL));
    CHECK_STR(t[2].run_id, a); /* a tie: the oldest */
    CHECK(claim(s, &c, &t[3], NULL));
    CHECK_STR(t[3].run_id, b);
    srv_task_ref x;
    CHECK(!claim(s, &c, &x, NULL)); /* per_run 2 and max_runs 2: c waits */
    srv_claim_cfg other = cfg_of("n2", 2, 2);
    CHECK(claim(s, &other, &x, NULL)); /* another node has room */
    CHECK_STR(x.run_id, c3);
    srv_store_close(s);
    fixture_rm_tree(root);
}

typedef struct {
    const char *data;
    char node[16];
    int claimed;
} claimer;

static void *claim_all(void *arg) {
    claimer *c = arg;
    srv_store *s = NULL;
    nn_error err = {0};
    if (srv_store_open(NULL, c->data, &s, &err) != NN_OK) return NULL;
    srv_claim_cfg cfg = cfg_of(c->node, 100, 100);
    for (;;) {
        srv_task_ref t;
        int found = 0, started = 0;
        if (srv_queue_claim(s, &cfg, &t, &found, &started, &err) != NN_OK) continue; /* busy */
        if (!found) break;
        c->claimed++;
    }
    srv_store_close(s);
    return NULL;
}

/* Four connections claiming at once never take the same task. */
static void test_queue_claims_are_exclusive(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char id[SRV_ID_LEN + 1];
    for (int i = 0; i < 10; i++) CHECK(fixture_run(s, NULL, 1000 + i, "r", id) == NN_OK);
    claimer c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (claimer){data, "", 0};
        (void)snprintf(c[i].node, sizeof c[i].node, "n%d", i);
        CHECK(pthread_create(&th[i], NULL, claim_all, &c[i]) == 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += c[i].claimed;
    }
    CHECK(total == 20); /* 10 runs × 2 folds; the final fits wait */
    CHECK(query_int(data, "SELECT count(*) FROM tasks WHERE state = 'running'") == 20);
    CHECK(query_int(data, "SELECT max(attempt) FROM tasks") == 1);
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* Leases: renewal holds, a cancelled run says stop, a task reclaimed from under its owner is
 * lost, and a lost task's end and events are not kept. */
static void test_queue_leases_and_fences(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char a[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1000, "a", a) == NN_OK);
    srv_claim_cfg c = cfg_of("n1", 2, 2);
    c.lease_ms = 1; /* expires at once */
    srv_task_ref t0, t1;
    CHECK(claim(s, &c, &t0, NULL) && claim(s, &c, &t1, NULL));
    nn_error err = {0};
    srv_lease_state ls;
    CHECK(srv_queue_renew(s, "n1", &t1, 60000, 2, &ls, &err) == NN_OK && ls == SRV_LEASE_HELD);
    CHECK(query_int(data, "SELECT epochs_done FROM tasks WHERE task = 1") == 2);
    struct timespec five_ms = {0, 5000000};
    (void)nanosleep(&five_ms, NULL);
    srv_reclaimed *r = NULL;
    size_t n = 0;
    CHECK(srv_queue_reclaim(s, &(srv_reclaim_cfg){0, FIXTURE_NODE, 60000}, &r, &n, &err) == NN_OK &&
          n == 1); /* t0 only: t1 renewed */
    if (n == 1) CHECK(r[0].task.task == 0 && r[0].to == SRV_TASK_DONE && !r[0].end.run_over);
    free(r);
    CHECK(srv_queue_reclaim(s, &(srv_reclaim_cfg){0, FIXTURE_NODE, 60000}, &r, &n, &err) == NN_OK &&
          n == 0); /* idempotent */
    free(r);
    CHECK(srv_queue_renew(s, "n1", &t0, 60000, 1, &ls, &err) == NN_OK && ls == SRV_LEASE_LOST);
    /* its late events become stand-ins, its end is not kept */
    srv_event_put ev[2] = {{a, 1, "epoch", "{\"e\":1}", &t0, 3, 0},
                           {a, 2, "epoch", "{\"e\":2}", &t1, 3, 0}};
    size_t dropped = 0;
    CHECK(srv_events_put(s, "n1", ev, 2, &dropped, &err) == NN_OK && dropped == 1);
    srv_event *got = NULL;
    CHECK(srv_event_list(s, a, 0, 10, &got, &n, &err) == NN_OK && n == 2);
    if (n == 2) {
        CHECK_STR(got[0].type, "log");
        CHECK_CONTAINS(got[0].data, "dropped");
        CHECK_STR(got[1].type, "epoch");
    }
    srv_events_free(got, n);
    CHECK(query_int(data, "SELECT epochs_done FROM tasks WHERE task = 0") == 0);
    CHECK(query_int(data, "SELECT epochs_done FROM tasks WHERE task = 1") == 3);
    srv_task_end e = end_task(s, "n1", &t0, SRV_TASK_DONE, "{}", NULL);
    CHECK(e.fenced_out);
    /* the reclaimed task waits for its backoff, then goes to the next claim as attempt 2 */
    srv_task_ref again;
    CHECK(!claim(s, &c, &again, NULL));
    exec_sql(data, "UPDATE tasks SET not_before = 0");
    CHECK(claim(s, &c, &again, NULL) && again.task == 0 && again.attempt == 2);
    /* cancel: renewals say stop; the running tasks end cancelled; the last end decides */
    srv_run_status was;
    CHECK(srv_queue_cancel_run(s, a, &was, &e, &err) == NN_OK && was == SRV_RUN_RUNNING);
    CHECK(!e.run_over); /* two tasks still run */
    CHECK(srv_queue_renew(s, "n1", &t1, 60000, -1, &ls, &err) == NN_OK && ls == SRV_LEASE_STOP);
    e = end_task(s, "n1", &t1, SRV_TASK_CANCELLED, NULL, "cancelled");
    CHECK(!e.run_over);
    e = end_task(s, "n1", &again, SRV_TASK_CANCELLED, NULL, "cancelled");
    CHECK(e.run_over && e.outcome == SRV_RUN_CANCELLED);
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* A failed task fails its run: its pending tasks are cancelled, the running one is told to stop,
 * and the first failure's reason is the run's. */
static void test_queue_failure_fails_the_run(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char a[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1000, "a", a) == NN_OK);
    srv_claim_cfg c = cfg_of("n1", 2, 2);
    srv_task_ref t0, t1;
    CHECK(claim(s, &c, &t0, NULL) && claim(s, &c, &t1, NULL));
    srv_task_end e = end_task(s, "n1", &t0, SRV_TASK_FAILED, NULL, "fold 1: diverged");
    CHECK(!e.run_over);
    CHECK(query_int(data, "SELECT count(*) FROM tasks WHERE state = 'cancelled'") == 1);
    nn_error err = {0};
    srv_lease_state ls;
    CHECK(srv_queue_renew(s, "n1", &t1, 60000, -1, &ls, &err) == NN_OK && ls == SRV_LEASE_STOP);
    srv_task_ref x;
    CHECK(!claim(s, &c, &x, NULL));
    e = end_task(s, "n1", &t1, SRV_TASK_FAILED, NULL, "fold 2: diverged too");
    CHECK(e.run_over && e.outcome == SRV_RUN_FAILED);
    CHECK_STR(e.error, "fold 1: diverged");
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* Cancel of a queued run ends it at once; release gives tasks back without their attempt;
 * reclaim past the attempts fails the run; a restart reclaims every running task at once. */
static void test_queue_cancel_release_reclaim(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char q[SRV_ID_LEN + 1], r1[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1000, "q", q) == NN_OK);
    nn_error err = {0};
    srv_run_status was;
    srv_task_end e;
    CHECK(srv_queue_cancel_run(s, q, &was, &e, &err) == NN_OK && was == SRV_RUN_QUEUED);
    CHECK(e.run_over && e.outcome == SRV_RUN_CANCELLED);
    CHECK(srv_queue_cancel_run(s, "nope", &was, &e, &err) != NN_OK);
    CHECK(fixture_finish(s, q, SRV_RUN_CANCELLED, NULL, "x", NULL, 0, NULL, &err) == NN_OK);

    CHECK(fixture_run(s, NULL, 2000, "r", r1) == NN_OK);
    srv_claim_cfg c = cfg_of("n1", 2, 2);
    srv_task_ref t0, t1;
    CHECK(claim(s, &c, &t0, NULL) && claim(s, &c, &t1, NULL));
    int released = 0;
    CHECK(srv_queue_release(s, "n1", &released, &err) == NN_OK && released == 2);
    srv_run run = {0};
    CHECK(srv_run_get(s, r1, &run, &err) == NN_OK && run.status == SRV_RUN_QUEUED &&
          run.attempts == 0);
    srv_run_free(&run);
    CHECK(query_int(data, "SELECT max(attempt) FROM tasks") == 0);
    /* three attempts that never renew, reclaimed at a restart (all = 1) */
    for (int i = 1; i <= SRV_QUEUE_MAX_ATTEMPTS; i++) {
        exec_sql(data, "UPDATE tasks SET not_before = 0");
        CHECK(claim(s, &c, &t0, NULL) && t0.attempt == i);
        srv_reclaimed *r = NULL;
        size_t n = 0;
        CHECK(srv_queue_reclaim(s, &(srv_reclaim_cfg){1, FIXTURE_NODE, 60000}, &r, &n, &err) ==
                  NN_OK &&
              n == 1);
        if (n == 1 && i < SRV_QUEUE_MAX_ATTEMPTS) CHECK(r[0].to == SRV_TASK_DONE);
        if (n == 1 && i == SRV_QUEUE_MAX_ATTEMPTS) {
            CHECK(r[0].to == SRV_TASK_FAILED && r[0].end.run_over);
            CHECK(r[0].end.outcome == SRV_RUN_FAILED);
            CHECK_CONTAINS(r[0].end.error, "stopped 3 times");
        }
        free(r);
    }
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* A store written before task rows existed: migration 0003 gives its queued and running runs
 * their tasks from the stored spec, folds with checkpoints done. */
static void test_queue_migration_of_old_runs(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    srv_store_close(s);
    exec_sql(data,
             "DELETE FROM tasks; PRAGMA user_version = 2;"
             "INSERT INTO runs (id, status, spec_json, spec_hash, created_at) VALUES "
             "('r1', 'running', '{\"training\": {\"epochs\": 5, \"ensemble\": 2, \"final\": "
             "\"refit\", \"validation\": {\"type\": \"kfold\", \"k\": 3}}}', 'h', 1),"
             "('r2', 'queued', '{\"training\": {\"epochs\": 5, \"ensemble\": 1, \"final\": "
             "\"refit\", \"validation\": {\"type\": \"none\"}}}', 'h', 2);"
             "INSERT INTO checkpoints VALUES ('r1', 0, '{}', 1), ('r1', 2, '{}', 1);"
             "ALTER TABLE runs DROP COLUMN n_folds; ALTER TABLE runs DROP COLUMN n_tasks;"
             "ALTER TABLE runs DROP COLUMN folds_done; ALTER TABLE runs DROP COLUMN tasks_ended;"
             "DROP TABLE tasks;");
    s = fixture_open(data);
    if (!s) return;
    CHECK(query_int(data, "SELECT count(*) FROM tasks WHERE run_id = 'r1'") == 4);
    CHECK(query_int(data, "SELECT count(*) FROM tasks WHERE run_id = 'r1' AND state = 'done'") ==
          2);
    CHECK(query_int(data, "SELECT epochs_total FROM tasks WHERE run_id = 'r1' AND task = 3") == 10);
    CHECK(query_int(data, "SELECT count(*) FROM tasks WHERE run_id = 'r2' AND state = 'ready' "
                          "AND kind = 'final'") == 1);
    CHECK(query_int(data, "SELECT folds_done FROM runs WHERE id = 'r1'") == 2);
    CHECK(query_int(data, "SELECT status = 'queued' FROM runs WHERE id = 'r1'") == 1);
    srv_store_close(s);
    fixture_rm_tree(root);
}

#define BOUND_THREADS 8
#define BOUND_TRIES 5
#define BOUND_MAX 5

struct submitter {
    const char *data;
    int accepted, refused, failures;
};

/* Creates runs through its own connection with the queue bound BOUND_MAX. */
static void *submitter_main(void *arg) {
    struct submitter *c = arg;
    srv_store *s = NULL;
    nn_error err = {0};
    if (srv_store_open(NULL, c->data, &s, &err) != NN_OK) {
        c->failures++;
        return NULL;
    }
    for (int i = 0; i < BOUND_TRIES; i++) {
        srv_run run = {0};
        run.n_tasks = 1;
        run.spec = json_pack("{s:s}", "name", "bounded");
        fixture_sha(run.spec_hash, 'e');
        int created = 0;
        nn_status st = srv_run_create_queued(s, &run, NULL, NULL, BOUND_MAX, &created, &err);
        if (st == NN_OK && created)
            c->accepted++;
        else if (st == NN_ERR_TOO_MANY)
            c->refused++;
        else
            c->failures++;
        srv_run_free(&run);
    }
    srv_store_close(s);
    return NULL;
}

/* The count of queued runs and the insert are one transaction: 8 threads × 5 creations racing
 * against a bound of 5 queue exactly 5 runs. */
static void test_queue_bound_holds_under_concurrency(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    struct submitter c[BOUND_THREADS];
    pthread_t t[BOUND_THREADS];
    memset(c, 0, sizeof c);
    for (int i = 0; i < BOUND_THREADS; i++) {
        c[i].data = data;
        CHECK(pthread_create(&t[i], NULL, submitter_main, &c[i]) == 0);
    }
    int accepted = 0, refused = 0, failures = 0;
    for (int i = 0; i < BOUND_THREADS; i++) {
        pthread_join(t[i], NULL);
        accepted += c[i].accepted;
        refused += c[i].refused;
        failures += c[i].failures;
    }
    CHECK(failures == 0);
    CHECK(accepted == BOUND_MAX);
    CHECK(refused == BOUND_THREADS * BOUND_TRIES - BOUND_MAX);
    nn_error err = {0};
    int64_t depth = -1;
    int64_t active = -1;
    CHECK(srv_queue_depth(s, &depth, &active, &err) == NN_OK && depth == BOUND_MAX);
    /* an idempotent replay is not a new run: never refused by the bound */
    srv_run first = {0};
    first.n_tasks = 1;
    first.spec = json_pack("{s:s}", "name", "k");
    fixture_sha(first.spec_hash, 'e');
    int created = -1;
    CHECK(srv_run_create(s, &first, "key", "h", &created, &err) == NN_OK && created == 1);
    srv_run again = {0};
    again.n_tasks = 1;
    again.spec = json_pack("{s:s}", "name", "k");
    CHECK(srv_run_create_queued(s, &again, "key", "h", 1, &created, &err) == NN_OK);
    CHECK(created == 0);
    CHECK_STR(again.id, first.id);
    srv_run_free(&first);
    srv_run_free(&again);
    srv_store_close(s);
    fixture_rm_tree(root);
}

/* At a restart: a failing run whose running task was released (shutdown) has that task
 * cancelled and ends; a run whose every task ended but that was never finished (a crash in
 * between) gets its last task back, to train again and finish. */
static void test_queue_restart_sweeps_unfinished_runs(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char a[SRV_ID_LEN + 1], b[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1000, "a", a) == NN_OK);
    srv_claim_cfg c = cfg_of("n1", 2, 1);
    srv_task_ref t0, t1;
    CHECK(claim(s, &c, &t0, NULL) && claim(s, &c, &t1, NULL));
    srv_task_end e = end_task(s, "n1", &t0, SRV_TASK_FAILED, NULL, "fold 1: boom");
    CHECK(!e.run_over);
    nn_error err = {0};
    int released = 0;
    CHECK(srv_queue_release(s, "n1", &released, &err) == NN_OK && released == 1);
    srv_reclaimed *r = NULL;
    size_t n = 0;
    CHECK(srv_queue_reclaim(s, &(srv_reclaim_cfg){1, FIXTURE_NODE, 60000}, &r, &n, &err) == NN_OK &&
          n == 1);
    if (n == 1) {
        CHECK_STR(r[0].task.run_id, a);
        CHECK(r[0].end.run_over && r[0].end.outcome == SRV_RUN_FAILED);
        CHECK_STR(r[0].end.error, "fold 1: boom");
    }
    free(r);
    CHECK(fixture_finish(s, a, SRV_RUN_FAILED, NULL, "fold 1: boom", NULL, 0, NULL, &err) == NN_OK);

    CHECK(fixture_run(s, NULL, 2000, "b", b) == NN_OK);
    srv_task_ref t[3];
    CHECK(claim(s, &c, &t[0], NULL) && claim(s, &c, &t[1], NULL));
    (void)end_task(s, "n1", &t[0], SRV_TASK_DONE, "{}", NULL);
    (void)end_task(s, "n1", &t[1], SRV_TASK_DONE, "{}", NULL);
    CHECK(claim(s, &c, &t[2], NULL) && t[2].task == 2);
    e = end_task(s, "n1", &t[2], SRV_TASK_DONE, NULL, NULL);
    CHECK(e.run_over && e.outcome == SRV_RUN_SUCCEEDED); /* … and the process dies here */
    CHECK(srv_queue_reclaim(s, &(srv_reclaim_cfg){1, FIXTURE_NODE, 60000}, &r, &n, &err) == NN_OK &&
          n == 0);
    free(r);
    srv_task_ref again;
    CHECK(claim(s, &c, &again, NULL) && again.task == 2 && again.attempt == 2);
    e = end_task(s, "n1", &again, SRV_TASK_DONE, NULL, NULL);
    CHECK(e.run_over && e.outcome == SRV_RUN_SUCCEEDED);
    srv_store_close(s);
    fixture_rm_tree(root);
}

int main(void) {
    RUN(test_queue_claim_order_and_final);
    RUN(test_queue_fairness_and_limits);
    RUN(test_queue_claims_are_exclusive);
    RUN(test_queue_leases_and_fences);
    RUN(test_queue_failure_fails_the_run);
    RUN(test_queue_cancel_release_reclaim);
    RUN(test_queue_migration_of_old_runs);
    RUN(test_queue_restart_sweeps_unfinished_runs);
    RUN(test_queue_bound_holds_under_concurrency);
    return check_summary();
}
