/* test_srv_queue.c — the durable job queue: claim order, exclusive claims across connections,
 * recovery of runs left running. Each test works in a fresh temporary data dir. */
#include "check.h"
#include "srv_fixture.h"
#include "srv_queue.h"

#include <pthread.h>

static void test_queue_claims_oldest_first(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char ids[4][SRV_ID_LEN + 1], got[SRV_ID_LEN + 1];
    const int64_t created[4] = {300, 100, 400, 200};
    for (int i = 0; i < 4; i++) CHECK(fixture_run(s, NULL, created[i], "q", ids[i]) == NN_OK);
    int64_t depth = -1;
    CHECK(srv_queue_depth(s, &depth, &err) == NN_OK && depth == 4);
    const int order[4] = {1, 3, 0, 2};
    for (int i = 0; i < 4; i++) {
        int found = 0;
        CHECK(srv_queue_claim(s, got, &found, &err) == NN_OK);
        CHECK(found == 1);
        CHECK_STR(got, ids[order[i]]);
        CHECK(srv_queue_depth(s, &depth, &err) == NN_OK && depth == 3 - i);
    }
    int found = 1;
    CHECK(srv_queue_claim(s, got, &found, &err) == NN_OK && found == 0);
    srv_run r = {0};
    CHECK(srv_run_get(s, ids[1], &r, &err) == NN_OK);
    CHECK(r.status == SRV_RUN_RUNNING && r.attempts == 1 && r.started_at > 0);
    srv_run_free(&r);
    srv_store_close(s);
    fixture_rm_tree(root);
}

#define CLAIM_RUNS 20

struct claimer {
    const char *data;
    char ids[CLAIM_RUNS][SRV_ID_LEN + 1];
    int n, failures;
};

/* Claims through its own connection until the queue is empty. */
static void *claimer_main(void *arg) {
    struct claimer *c = arg;
    srv_store *s = NULL;
    nn_error err = {0};
    if (srv_store_open(c->data, &s, &err) != NN_OK) {
        c->failures++;
        return NULL;
    }
    for (;;) {
        char id[SRV_ID_LEN + 1];
        int found = 0;
        if (srv_queue_claim(s, id, &found, &err) != NN_OK) {
            c->failures++;
            fprintf(stderr, "claim: %s\n", err.msg);
            break;
        }
        if (!found || c->n == CLAIM_RUNS) break;
        memcpy(c->ids[c->n++], id, sizeof id);
    }
    srv_store_close(s);
    return NULL;
}

static void test_queue_claims_are_exclusive(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    char ids[CLAIM_RUNS][SRV_ID_LEN + 1];
    for (int i = 0; i < CLAIM_RUNS; i++) CHECK(fixture_run(s, NULL, 0, "x", ids[i]) == NN_OK);
    struct claimer c[2];
    memset(c, 0, sizeof c);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        c[i].data = data;
        CHECK(pthread_create(&t[i], NULL, claimer_main, &c[i]) == 0);
    }
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(c[0].failures == 0 && c[1].failures == 0);
    CHECK(c[0].n + c[1].n == CLAIM_RUNS);
    for (int i = 0; i < CLAIM_RUNS; i++) { /* each run claimed exactly once */
        int times = 0;
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < c[k].n; j++) times += strcmp(c[k].ids[j], ids[i]) == 0;
        CHECK(times == 1);
    }
    nn_error err = {0};
    int64_t depth = -1;
    CHECK(srv_queue_depth(s, &depth, &err) == NN_OK && depth == 0);
    for (int i = 0; i < CLAIM_RUNS; i++) {
        srv_run r = {0};
        CHECK(srv_run_get(s, ids[i], &r, &err) == NN_OK);
        CHECK(r.status == SRV_RUN_RUNNING && r.attempts == 1);
        srv_run_free(&r);
    }
    srv_store_close(s);
    char integrity[64];
    fixture_integrity(data, integrity);
    CHECK_STR(integrity, "ok");
    fixture_rm_tree(root);
}

static void test_queue_recover_requeues_then_fails(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char id[SRV_ID_LEN + 1], got[SRV_ID_LEN + 1], done[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 1, "crashy", id) == NN_OK);
    CHECK(fixture_run(s, NULL, 2, "done", done) == NN_OK);
    int found = 0, requeued = -1, failed = -1;
    for (int attempt = 1; attempt <= SRV_QUEUE_MAX_ATTEMPTS; attempt++) {
        CHECK(srv_queue_claim(s, got, &found, &err) == NN_OK && found);
        CHECK_STR(got, id);
        CHECK(srv_run_set_progress(s, id, 0.5, &err) == NN_OK);
        /* the process "dies" here; the next start recovers */
        CHECK(srv_queue_recover(s, &requeued, &failed, &err) == NN_OK);
        srv_run r = {0};
        CHECK(srv_run_get(s, id, &r, &err) == NN_OK);
        CHECK(r.attempts == attempt);
        if (attempt < SRV_QUEUE_MAX_ATTEMPTS) {
            CHECK(requeued == 1 && failed == 0);
            CHECK(r.status == SRV_RUN_QUEUED && r.progress == 0 && r.started_at == 0);
        } else {
            CHECK(requeued == 0 && failed == 1);
            CHECK(r.status == SRV_RUN_FAILED && r.finished_at > 0);
            CHECK_STR(r.error, "nnd stopped 3 times while training this run; giving up");
        }
        srv_run_free(&r);
    }
    /* the other run was never touched by recovery */
    CHECK(srv_queue_claim(s, got, &found, &err) == NN_OK && found);
    CHECK_STR(got, done);
    CHECK(srv_run_finish(s, done, SRV_RUN_SUCCEEDED, NULL, NULL, NULL, 0, NULL, &err) == NN_OK);
    CHECK(srv_queue_recover(s, &requeued, &failed, &err) == NN_OK);
    CHECK(requeued == 0 && failed == 0);
    srv_run r = {0};
    CHECK(srv_run_get(s, done, &r, &err) == NN_OK && r.status == SRV_RUN_SUCCEEDED);
    srv_run_free(&r);
    srv_store_close(s);
    fixture_rm_tree(root);
}

static void test_queue_recover_honours_cancel(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    CHECK(s != NULL);
    if (!s) return;
    nn_error err = {0};
    char id[SRV_ID_LEN + 1], got[SRV_ID_LEN + 1];
    CHECK(fixture_run(s, NULL, 0, "c", id) == NN_OK);
    int found = 0, now = -1, requeued = -1, failed = -1;
    CHECK(srv_queue_claim(s, got, &found, &err) == NN_OK && found);
    CHECK(srv_run_request_cancel(s, id, &now, &err) == NN_OK && now == 0);
    CHECK(srv_queue_recover(s, &requeued, &failed, &err) == NN_OK);
    CHECK(requeued == 0 && failed == 1);
    srv_run r = {0};
    CHECK(srv_run_get(s, id, &r, &err) == NN_OK);
    CHECK(r.status == SRV_RUN_CANCELLED && r.finished_at > 0);
    srv_run_free(&r);
    int64_t depth = -1;
    CHECK(srv_queue_depth(s, &depth, &err) == NN_OK && depth == 0);
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
    if (srv_store_open(c->data, &s, &err) != NN_OK) {
        c->failures++;
        return NULL;
    }
    for (int i = 0; i < BOUND_TRIES; i++) {
        srv_run run = {0};
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
    CHECK(srv_queue_depth(s, &depth, &err) == NN_OK && depth == BOUND_MAX);
    /* an idempotent replay is not a new run: never refused by the bound */
    srv_run first = {0};
    first.spec = json_pack("{s:s}", "name", "k");
    fixture_sha(first.spec_hash, 'e');
    int created = -1;
    CHECK(srv_run_create(s, &first, "key", "h", &created, &err) == NN_OK && created == 1);
    srv_run again = {0};
    again.spec = json_pack("{s:s}", "name", "k");
    CHECK(srv_run_create_queued(s, &again, "key", "h", 1, &created, &err) == NN_OK);
    CHECK(created == 0);
    CHECK_STR(again.id, first.id);
    srv_run_free(&first);
    srv_run_free(&again);
    srv_store_close(s);
    fixture_rm_tree(root);
}

int main(void) {
    RUN(test_queue_claims_oldest_first);
    RUN(test_queue_claims_are_exclusive);
    RUN(test_queue_recover_requeues_then_fails);
    RUN(test_queue_recover_honours_cancel);
    RUN(test_queue_bound_holds_under_concurrency);
    return check_summary();
}
