/* test_study.c — study documents: parsing, errors at their pointers, sampled values applied to
 * the base spec, and the samplers (grid, random, TPE) with their determinism. */
#include "check.h"
#include "study_fixture.h"

static const char *first_error(const nn_spec_errors *e, char *buf, size_t cap) {
    if (e->n == 0) return "";
    (void)snprintf(buf, cap, "%s: %s", e->items[0].pointer, e->items[0].message);
    return buf;
}

static void test_study_parse_defaults(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2, "", &e);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(s->n_params == 2);
    /* sorted by pointer whatever the order written */
    CHECK_STR(s->params[0].pointer, "/network/hidden/0/units");
    CHECK_STR(s->params[1].pointer, "/training/optimizer/learning_rate");
    CHECK(s->params[0].type == NN_PARAM_INT && s->params[0].step == 16);
    CHECK(s->params[1].log == 1);
    CHECK(s->sampler == NN_SAMPLER_TPE);
    CHECK(s->pruner == NN_PRUNER_NONE);
    CHECK(s->objective == NN_OBJ_R2 && s->maximize == 1);
    CHECK(s->max_trials == 20 && s->max_failed == 5 && s->ensemble_top == 5);
    CHECK(strlen(s->hash) == 64);
    /* the canonical form does not depend on the order of the space's keys */
    nn_study_spec *s2 = study_of(
        "{\"/network/hidden/0/units\": {\"type\": \"int\", \"low\": 16, \"high\": 128, \"step\": "
        "16}, \"/training/optimizer/learning_rate\": {\"type\": \"float\", \"low\": 1e-4, "
        "\"high\": 1e-1, \"log\": true}}",
        "", &e);
    CHECK(s2 != NULL);
    if (s2) CHECK_STR(s2->hash, s->hash);
    nn_study_spec_destroy(s2);
    nn_study_spec_destroy(s);
}

/* One study with one problem; the first error must be "pointer: message…". */
static void expect_error(const char *space, const char *rest, const char *want) {
    nn_spec_errors e;
    char buf[512];
    nn_study_spec *s = study_of(space, rest, &e);
    CHECK(s == NULL);
    nn_study_spec_destroy(s);
    CHECK_CONTAINS(first_error(&e, buf, sizeof buf), want);
}

static void test_study_errors_at_pointers(void) {
    expect_error("{\"/network/l3\": {\"type\": \"float\", \"low\": 0, \"high\": 1}}", "",
                 "/space/~1network~1l3: the base spec has nothing at /network/l3");
    expect_error("{\"/network/l2\": {\"type\": \"float\", \"low\": 0, \"high\": 1, \"log\": true}}",
                 "", "/space/~1network~1l2/low: must be > 0 with \"log\"");
    expect_error(
        "{\"/network/l2\": {\"type\": \"float\", \"low\": -1, \"high\": 1, \"log\": true}}", "",
        "/space/~1network~1l2/low: must be > 0");
    expect_error("{\"/network/hidden/0/units\": {\"type\": \"int\", \"low\": 1, \"high\": 64}}",
                 ", \"sampler\": {\"type\": \"grid\"}, \"budget\": {\"max_trials\": 40}",
                 "/budget/max_trials: the grid has 64 points, more than max_trials 40");
    expect_error("{\"/network/l2\": {\"type\": \"float\", \"low\": 0, \"high\": 1}}",
                 ", \"sampler\": {\"type\": \"grid\"}",
                 "/space/~1network~1l2: a grid needs a \"step\"");
    expect_error("{\"/network/l2\": {\"type\": \"categorical\", \"choices\": []}}", "",
                 "/space/~1network~1l2/choices: must be a list");
    expect_error("{\"/network/l2\": {\"type\": \"categorical\", \"choices\": [0, -1]}}", "",
                 "/space/~1network~1l2/choices/1: gives an invalid spec: /network/l2");
    expect_error("{\"/training/epochs\": {\"type\": \"int\", \"low\": 0, \"high\": 10}}", "",
                 "/space/~1training~1epochs/low: gives an invalid spec: /training/epochs");
    expect_error("{\"/network/l2\": {\"type\": \"flaot\", \"low\": 0, \"high\": 1}}", "",
                 "/space/~1network~1l2/type: unknown type \"flaot\"");
    expect_error(SPACE2, ", \"samplr\": {}", "/samplr: unknown key \"samplr\" (did you mean");
    expect_error(SPACE2, ", \"objective\": {\"metric\": \"r3\"}",
                 "/objective/metric: unknown metric \"r3\"");
    expect_error(SPACE2, ", \"sampler\": {\"type\": \"random\", \"gamma\": 0.2}",
                 "/sampler/gamma: only for type tpe");
    expect_error("{}", "", "/space: must be an object of 1 to");
    expect_error("{\"/training/validation/k\": {\"type\": \"int\", \"low\": 3, \"high\": 5}}", "",
                 "/space/~1training~1validation~1k: /training/validation is the same for every "
                 "trial");
    expect_error("{\"/seed\": {\"type\": \"int\", \"low\": 1, \"high\": 5}}", "",
                 "/space/~1seed: /seed is the same for every trial");
    expect_error("{\"/network/l2\": {\"type\": \"float\", \"low\": 0, \"high\": 1},"
                 " \"network/l2\": {\"type\": \"float\", \"low\": 0, \"high\": 1}}",
                 "", "/space/network~1l2: must be a JSON pointer");
    /* the base spec's own problems at /base/… */
    nn_spec_errors e;
    char buf[512];
    const char *text = "{\"base\": {\"target\": \"y\", \"training\": {\"epochs\": 0}}, \"space\": "
                       "{\"/training/epochs\": {\"type\": \"int\", \"low\": 1, \"high\": 3}}}";
    nn_study_spec *s = NULL;
    CHECK(nn_study_parse(text, strlen(text), &s, &e) == NN_ERR_SPEC);
    CHECK_CONTAINS(first_error(&e, buf, sizeof buf), "/base/training/epochs: ");
    nn_study_spec_destroy(s);
}

static void test_study_apply(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2, "", &e);
    CHECK(s != NULL);
    if (!s) return;
    json_t *v = json_pack("{s:f, s:i}", "/training/optimizer/learning_rate", 0.003,
                          "/network/hidden/0/units", 48);
    nn_spec *spec = NULL;
    CHECK(nn_study_apply(s, v, 4, &spec, &e) == NN_OK);
    if (spec) {
        CHECK_NEAR(spec->optim.learning_rate, 0.003, 1e-12);
        CHECK(spec->hidden[0].units == 48);
        CHECK_STR(spec->name, "t trial 5");
        CHECK(spec->epochs == 27);
    }
    nn_spec_destroy(spec);
    /* a value the spec refuses is reported at the spec's pointer */
    json_object_set_new(v, "/network/hidden/0/units", json_integer(0));
    spec = NULL;
    CHECK(nn_study_apply(s, v, 0, &spec, &e) == NN_ERR_SPEC);
    CHECK(e.n > 0);
    if (e.n) CHECK_STR(e.items[0].pointer, "/network/hidden/0/units");
    nn_spec_destroy(spec);
    json_decref(v);
    nn_study_spec_destroy(s);
}

/* The example study parses, and its space reaches into the preprocessing: bins per column. */
static void test_study_example_reaches_preprocessing(void) {
    nn_spec_errors e = {0};
    nn_study_spec *s = NULL;
    char buf[512];
    CHECK(nn_study_parse_file("../examples/kc_house_study.json", &s, &e) == NN_OK);
    CHECK_STR(first_error(&e, buf, sizeof buf), "");
    if (!s) return;
    json_t *v =
        json_pack("{s:i, s:f, s:i, s:i, s:f, s:i}", "/preprocess/4/bins", 64,
                  "/training/optimizer/learning_rate", 0.001, "/network/hidden/0/units", 32,
                  "/network/hidden/0/repeat", 2, "/network/l2", 0.001, "/training/batch_size", 64);
    nn_spec *spec = NULL;
    CHECK(nn_study_apply(s, v, 0, &spec, &e) == NN_OK);
    CHECK_STR(first_error(&e, buf, sizeof buf), "");
    CHECK(spec && spec->steps[4].op == NN_OP_BINS && spec->steps[4].bins == 64);
    nn_spec_destroy(spec);
    json_decref(v);
    nn_study_spec_destroy(s);
}

static void test_study_grid(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(
        "{\"/network/hidden/0/units\": {\"type\": \"int\", \"low\": 8, \"high\": 24, \"step\": 8},"
        " \"/network/l2\": {\"type\": \"categorical\", \"choices\": [0, 0.01]}}",
        ", \"sampler\": {\"type\": \"grid\"}, \"budget\": {\"max_trials\": 10}", &e);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(nn_study_grid_size(s) == 6);
    sim_opts o = {2, 0, 0, 0};
    nn_study *st = NULL;
    nn_error err;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    CHECK(sim_run(st, &o) == 6);
    CHECK(nn_study_n_trials(st) == 6); /* the grid, not max_trials */
    CHECK(nn_study_get_status(st) == NN_STUDY_COMPLETED);
    /* dimensions sorted by pointer ("/network/h…" < "/network/l…"); the first varies slowest */
    static const int units[6] = {8, 8, 16, 16, 24, 24};
    static const double l2[6] = {0, 0.01, 0, 0.01, 0, 0.01};
    for (int i = 0; i < 6; i++) {
        const nn_trial *t = nn_study_trial(st, i);
        CHECK(value_num(t, "/network/hidden/0/units") == units[i]);
        CHECK(value_num(t, "/network/l2") == l2[i]);
        CHECK(t->status == NN_TRIAL_COMPLETED);
    }
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
}

static void test_study_random_in_range_and_seeded(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2, ", \"sampler\": {\"type\": \"random\"}", &e);
    CHECK(s != NULL);
    if (!s) return;
    nn_study *st = NULL;
    nn_error err;
    sim_opts o = {1, 0, 0, 0};
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    CHECK(sim_run(st, &o) == 20);
    int distinct_lr = 0;
    double prev = -1;
    for (int i = 0; i < nn_study_n_trials(st); i++) {
        const nn_trial *t = nn_study_trial(st, i);
        double lr = value_num(t, "/training/optimizer/learning_rate");
        double u = value_num(t, "/network/hidden/0/units");
        CHECK(lr >= 1e-4 && lr <= 1e-1);
        CHECK(u >= 16 && u <= 128 && fmod(u, 16) == 0);
        CHECK(json_is_integer(json_object_get(t->values, "/network/hidden/0/units")));
        distinct_lr += lr != prev;
        prev = lr;
    }
    CHECK(distinct_lr == 20);
    /* trial i's values depend on (seed, i) only: the same with 4 workers in another order */
    char *a = sim_state(s, &o);
    sim_opts o4 = {4, 1, 0, 0};
    char *b = sim_state(s, &o4);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
}

static void test_study_tpe_deterministic(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2,
                                ", \"sampler\": {\"type\": \"tpe\", \"startup\": 5, \"lag\": 2},"
                                " \"budget\": {\"max_trials\": 30}",
                                &e);
    CHECK(s != NULL);
    if (!s) return;
    sim_opts o1 = {1, 0, 0, 0}, o2 = {2, 0, 0, 0}, o3 = {3, 1, 0, 0}, o8 = {8, 1, 0, 0};
    char *a = sim_state(s, &o1), *b = sim_state(s, &o2), *c = sim_state(s, &o3),
         *d = sim_state(s, &o8);
    CHECK(a && b && c && d);
    if (a && b && c && d) {
        CHECK(strcmp(a, b) == 0);
        CHECK(strcmp(a, c) == 0);
        CHECK(strcmp(a, d) == 0);
    }
    free(a);
    free(b);
    free(c);
    free(d);
    /* TPE with lag 2 hands out at most 3 trials at once after its startup */
    nn_study *st = NULL;
    nn_error err;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    nn_study_work w;
    int handed = 0;
    while (nn_study_next(st, &w, &err) == NN_OK && w.kind == NN_WORK_TRAIN) handed++;
    /* the 5 startup trials; trial 5 waits for trials 0 … 5 − 1 − 2 */
    CHECK(handed == 5);
    CHECK(w.kind == NN_WORK_WAIT);
    double v[3] = {0.5, 0.5, 0.5};
    nn_trial_result res = {0.5, 0, 0.5, NULL, 1, 10};
    for (int i = 0; i < 3; i++) {
        CHECK(nn_study_report_rung(st, i, 0, v, 3, &err) == NN_OK);
        CHECK(nn_study_report_complete(st, i, &res, &err) == NN_OK);
    }
    CHECK(nn_study_next(st, &w, &err) == NN_OK && w.kind == NN_WORK_TRAIN && w.trial == 5);
    CHECK(nn_study_next(st, &w, &err) == NN_OK && w.kind == NN_WORK_WAIT);
    CHECK(nn_study_report_failed(st, 3, "diverged", &err) == NN_OK);
    CHECK(nn_study_next(st, &w, &err) == NN_OK && w.kind == NN_WORK_TRAIN && w.trial == 6);
    nn_study_destroy(st);
    nn_study_spec_destroy(s);
}

/* TPE's later trials do clearly better than random search's on the simulated objective. */
static void test_study_tpe_learns(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2,
                                ", \"sampler\": {\"type\": \"tpe\", \"startup\": 10},"
                                " \"budget\": {\"max_trials\": 40}",
                                &e);
    nn_study_spec *r = study_of(SPACE2,
                                ", \"sampler\": {\"type\": \"random\"},"
                                " \"budget\": {\"max_trials\": 40}",
                                &e);
    CHECK(s && r);
    if (!s || !r) return;
    double mean[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        nn_study *st = NULL;
        nn_error err;
        sim_opts o = {1, 0, 0, 0};
        CHECK(nn_study_create(k ? r : s, &st, &err) == NN_OK);
        CHECK(sim_run(st, &o) == 40);
        for (int i = 20; i < 40; i++) mean[k] += nn_study_trial(st, i)->result.mean / 20;
        int best = nn_study_best(st);
        CHECK(best >= 0);
        nn_study_destroy(st);
    }
    /* on this objective (best near lr 10^-2.5, 64 units): ≈ 0.97 against ≈ 0.7 */
    CHECK(mean[0] > mean[1] + 0.1);
    nn_study_spec_destroy(s);
    nn_study_spec_destroy(r);
}

static void test_study_result_from_metrics(void) {
    nn_spec_errors e;
    nn_study_spec *s = study_of(SPACE2, ", \"objective\": {\"metric\": \"rmse\"}", &e);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(s->maximize == 0);
    const char *text =
        "{\"r2\": 0.8, \"rmse\": 2.5, \"mae\": 1, \"train_seconds\": 3.5, \"folds\": ["
        "{\"fold\": 1, \"units\": {\"y\": {\"r2\": 0.7, \"rmse\": 2}}},"
        "{\"fold\": 2, \"units\": {\"y\": {\"r2\": 0.9, \"rmse\": 3}}},"
        "{\"fold\": 3, \"units\": {\"y\": {\"r2\": 0.8, \"rmse\": 4}}}]}";
    json_t *m = json_loads(text, 0, NULL);
    double v[8];
    CHECK(nn_study_fold_objective(s, m, v, 8) == 3);
    CHECK(v[0] == 2 && v[1] == 3 && v[2] == 4);
    nn_trial_result r;
    nn_error err;
    CHECK(nn_study_result_from_metrics(s, m, &r, &err) == NN_OK);
    CHECK_NEAR(r.mean, 3, 1e-12);
    CHECK_NEAR(r.sd, 1, 1e-12); /* sample sd of 2, 3, 4 */
    CHECK_NEAR(r.oof, 2.5, 1e-12);
    CHECK_NEAR(r.seconds, 3.5, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(r.metrics, "r2")), 0.8, 1e-12);
    json_decref(r.metrics);
    json_decref(m);
    m = json_loads("{\"folds\": []}", 0, NULL);
    CHECK(nn_study_result_from_metrics(s, m, &r, &err) == NN_ERR_INVALID);
    json_decref(m);
    nn_study_spec_destroy(s);
}

int main(void) {
    RUN(test_study_parse_defaults);
    RUN(test_study_errors_at_pointers);
    RUN(test_study_apply);
    RUN(test_study_grid);
    RUN(test_study_random_in_range_and_seeded);
    RUN(test_study_tpe_deterministic);
    RUN(test_study_tpe_learns);
    RUN(test_study_result_from_metrics);
    RUN(test_study_example_reaches_preprocessing);
    return check_summary();
}
