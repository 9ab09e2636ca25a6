/* test_study_asha.c — rungs, promotions decided in trial order (checked against decisions worked
 * out by hand), the same decisions whatever the number of workers and the order of their
 * reports, failures, and a study restored from its state mid-way. */
#include "check.h"
#include "nn_asha.h"
#include "study_fixture.h"

static void test_asha_rungs(void) {
    int r[NN_STUDY_MAX_RUNGS];
    CHECK(nn_asha_rungs(60, 10, 3, r, NN_STUDY_MAX_RUNGS) == 3);
    CHECK(r[0] == 10 && r[1] == 30 && r[2] == 60);
    CHECK(nn_asha_rungs(27, 3, 3, r, NN_STUDY_MAX_RUNGS) == 3);
    CHECK(r[0] == 3 && r[1] == 9 && r[2] == 27);
    CHECK(nn_asha_rungs(9, 10, 3, r, NN_STUDY_MAX_RUNGS) == 1 && r[0] == 9);
    CHECK(nn_asha_rungs(10, 10, 3, r, NN_STUDY_MAX_RUNGS) == 1 && r[0] == 10);
    CHECK(nn_asha_rungs(100, 1, 2, r, NN_STUDY_MAX_RUNGS) == 8);
    CHECK(r[0] == 1 && r[6] == 64 && r[7] == 100);
    CHECK(nn_asha_rungs(50, 0, 3, r, NN_STUDY_MAX_RUNGS) == 1 && r[0] == 50);
    CHECK(nn_asha_rungs(1000, 1, 2, r, 4) == 4 && r[2] == 4 && r[3] == 1000);
}

static void test_asha_promote(void) {
    /* the top ⌊n/η⌋ (at least 1) of the values so far go on; ties are not "better" */
    double v1[] = {0.5};
    CHECK(nn_asha_promote(v1, 1, 3, 1));
    double v2[] = {0.5, 0.4};
    CHECK(!nn_asha_promote(v2, 2, 3, 1));
    CHECK(nn_asha_promote(v2, 2, 3, 0)); /* minimizing: 0.4 is the best */
    double v3[] = {0.5, 0.5};
    CHECK(nn_asha_promote(v3, 2, 3, 1));
    double v6[] = {0.9, 0.1, 0.2, 0.3, 0.4, 0.8}; /* n 6: the top 2 — 0.8 is second */
    CHECK(nn_asha_promote(v6, 6, 3, 1));
    double v6b[] = {0.9, 0.85, 0.2, 0.3, 0.4, 0.8};
    CHECK(!nn_asha_promote(v6b, 6, 3, 1));
    double vn[] = {0.1, NAN, 0.2};
    CHECK(nn_asha_promote(vn, 3, 3, 1)); /* NaN is never ahead */
    CHECK(!nn_asha_promote(vn, 2, 3, 1));
}

/* A grid of nine unit counts in a fixed order, rungs at 3, 9 and 27 epochs. */
#define NINE                                                                                       \
    "{\"/network/hidden/0/units\": {\"type\": \"categorical\", \"choices\": [64, 16, 48, 128, "    \
    "32, 80, 144, 112, 96]}}"
#define NINE_REST                                                                                  \
    ", \"sampler\": {\"type\": \"grid\"}, \"budget\": {\"max_trials\": 9},"                        \
    " \"pruner\": {\"type\": \"asha\", \"min_epochs\": 3, \"reduction_factor\": 3}"

static void test_asha_decisions_by_hand(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(NINE, NINE_REST, &e);
    CHECK(s != NULL);
    if (!s) return;
    nn_study *st = NULL;
    nn_error err;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    sim_opts o = {1, 0, 0, 0};
    CHECK(sim_run(st, &o) > 0);
    CHECK(nn_study_get_status(st) == NN_STUDY_COMPLETED);
    /* distance from 64 units (smaller is better): 0 48 16 64 32 16 80 48 32.
       Rung 3: trial 1 goes on; 2, 3, 4, 5 have trial 1 ahead with room for 1; trial 6 (16)
       has only trial 1 strictly ahead with room for ⌊6/3⌋ = 2: on; 7, 8 have more than 2
       ahead; trial 9 (32) has 1, 3 and 6 ahead with room for 3: pruned. Rung 9: trial 1 on,
       trial 6 behind it with room for 1: pruned. */
    static const nn_trial_status want[9] = {NN_TRIAL_COMPLETED, NN_TRIAL_PRUNED, NN_TRIAL_PRUNED,
                                            NN_TRIAL_PRUNED,    NN_TRIAL_PRUNED, NN_TRIAL_PRUNED,
                                            NN_TRIAL_PRUNED,    NN_TRIAL_PRUNED, NN_TRIAL_PRUNED};
    static const int reached[9] = {3, 1, 1, 1, 1, 2, 1, 1, 1};
    CHECK(nn_study_n_trials(st) == 9);
    for (int i = 0; i < 9 && i < nn_study_n_trials(st); i++) {
        const nn_trial *t = nn_study_trial(st, i);
        CHECK(t->status == want[i]);
        CHECK(t->reached == reached[i]);
    }
    /* epochs × folds: 27·3 + 9·3 + 7 · 3·3 */
    CHECK(nn_study_epoch_folds(st) == 81 + 27 + 63);
    /* the leaderboard: completed, then pruned by rungs reached, then value, then number */
    static const int rank[9] = {1, 6, 3, 5, 9, 2, 8, 4, 7};
    json_t *board = nn_study_leaderboard(st);
    CHECK(json_array_size(board) == 9);
    for (size_t k = 0; k < json_array_size(board); k++) {
        json_t *row = json_array_get(board, k);
        CHECK(json_integer_value(json_object_get(row, "trial")) == rank[k]);
        CHECK(json_integer_value(json_object_get(row, "rank")) == (json_int_t)k + 1);
    }
    CHECK(json_integer_value(json_object_get(json_array_get(board, 0), "epochs")) == 27);
    CHECK(json_integer_value(json_object_get(json_array_get(board, 1), "epochs")) == 9);
    json_decref(board);
    CHECK(nn_study_best(st) == 0);
    char *csv = nn_study_leaderboard_csv(st);
    CHECK_CONTAINS(csv, "rank,trial,status,/network/hidden/0/units,objective,objective_sd,");
    CHECK_CONTAINS(csv, "\n1,1,completed,64,");
    CHECK_CONTAINS(csv, "\n2,6,pruned,80,");
    free(csv);
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
}

static void test_asha_any_workers_any_order(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(NINE, NINE_REST, &e);
    nn_study_spec *t = study_of(SPACE2,
                                ", \"sampler\": {\"type\": \"tpe\", \"startup\": 4},"
                                " \"budget\": {\"max_trials\": 16}, \"pruner\": {\"type\": "
                                "\"asha\", \"min_epochs\": 3}",
                                &e);
    CHECK(s && t);
    if (!s || !t) return;
    const nn_study_spec *specs[2] = {s, t};
    for (int k = 0; k < 2; k++) {
        sim_opts o1 = {1, 0, 0, 0}, o2 = {2, 1, 0, 0}, o5 = {5, 1, 0, 0}, o9 = {9, 0, 0, 0};
        char *a = sim_state(specs[k], &o1), *b = sim_state(specs[k], &o2),
             *c = sim_state(specs[k], &o5), *d = sim_state(specs[k], &o9);
        CHECK(a && b && c && d);
        if (a && b && c && d) {
            CHECK(strcmp(a, b) == 0);
            CHECK(strcmp(a, c) == 0);
            CHECK(strcmp(a, d) == 0);
        }
        CHECK_CONTAINS(a, "\"pruned\"");
        free(a);
        free(b);
        free(c);
        free(d);
    }
    nn_study_spec_destroy(s);
    nn_study_spec_destroy(t);
}

static void test_asha_failures(void) {
    nn_spec_errors e;
    /* trial 3 (48 units) fails: it no longer holds up the decisions of the trials after it */
    nn_study_spec *s = study_of(NINE, NINE_REST, &e);
    CHECK(s != NULL);
    if (!s) return;
    nn_study *st = NULL;
    nn_error err;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    sim_opts o = {4, 1, 48, 0};
    CHECK(sim_run(st, &o) > 0);
    CHECK(nn_study_get_status(st) == NN_STUDY_COMPLETED);
    CHECK(nn_study_trial(st, 2)->status == NN_TRIAL_FAILED);
    CHECK_STR(nn_study_trial(st, 2)->error, "diverged");
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
    /* more failures than max_failed: the study fails */
    s = study_of(SPACE2,
                 ", \"sampler\": {\"type\": \"random\"}, \"budget\": {\"max_trials\": 30, "
                 "\"max_failed\": 1}",
                 &e);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    sim_opts of = {1, 0, 32, 0};
    CHECK(sim_run(st, &of) > 0);
    CHECK(nn_study_get_status(st) == NN_STUDY_FAILED);
    CHECK_CONTAINS(nn_study_error(st), "more than max_failed 1");
    int failed = 0;
    for (int i = 0; i < nn_study_n_trials(st); i++)
        failed += nn_study_trial(st, i)->status == NN_TRIAL_FAILED;
    CHECK(failed == 2);
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
}

/* A study stopped after a few reports, saved, restored into a new machine and run on ends as
 * the uninterrupted one. */
static void test_study_restore(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2,
                                ", \"sampler\": {\"type\": \"tpe\", \"startup\": 4},"
                                " \"budget\": {\"max_trials\": 14}, \"pruner\": {\"type\": "
                                "\"asha\", \"min_epochs\": 3}",
                                &e);
    CHECK(s != NULL);
    if (!s) return;
    sim_opts full = {3, 1, 0, 0};
    char *want = sim_state(s, &full);
    for (int stop = 1; stop < 25; stop += 4) {
        nn_study *st = NULL, *st2 = NULL;
        nn_error err;
        CHECK(nn_study_create(s, &st, &err) == NN_OK);
        sim_opts part = {3, 1, 0, stop};
        int got_reports = sim_run(st, &part);
        CHECK(got_reports > 0 && got_reports <= stop);
        json_t *saved = nn_study_to_json(st);
        char *text = json_dumps(saved, JSON_COMPACT);
        json_decref(saved);
        nn_study_destroy(st);
        json_t *loaded = json_loads(text, 0, NULL);
        free(text);
        CHECK(nn_study_create(s, &st2, &err) == NN_OK);
        CHECK(nn_study_restore(st2, loaded, &err) == NN_OK);
        json_decref(loaded);
        sim_opts rest = {2, 0, 0, 0};
        CHECK(sim_run(st2, &rest) >= 0);
        json_t *j = nn_study_to_json(st2);
        json_object_del(j, "epoch_folds");
        char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        json_decref(j);
        CHECK(want && got && strcmp(want, got) == 0);
        free(got);
        nn_study_destroy(st2);
    }
    free(want);
    /* a state whose values are not what the study samples is refused */
    nn_study *st = NULL;
    nn_error err;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    json_t *bad = json_pack("{s:[{s:i, s:{s:i, s:f}, s:s, s:[]}]}", "trials", "trial", 0, "values",
                            "/network/hidden/0/units", 16, "/training/optimizer/learning_rate", 0.5,
                            "status", "running", "rungs");
    CHECK(nn_study_restore(st, bad, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "differ");
    json_decref(bad);
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
}

int main(void) {
    RUN(test_asha_rungs);
    RUN(test_asha_promote);
    RUN(test_asha_decisions_by_hand);
    RUN(test_asha_any_workers_any_order);
    RUN(test_asha_failures);
    RUN(test_study_restore);
    return check_summary();
}
