/* test_study_class.c — classification studies: the objectives (values, directions, defaults),
 * an objective of the other task refused at /objective/metric (at parse time when the base says
 * its task, when the study meets its data otherwise), a classification's trial result and
 * leaderboard, and the ensemble's greedy selection over class probabilities checked against a
 * re-computation of log loss and accuracy written out here. */
#include "check.h"
#include "nn_study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a base without "task": its data decides */
#define NO_TASK_BASE                                                                               \
    "{\"target\": \"y\", \"training\": {\"epochs\": 9, \"validation\": {\"type\": \"kfold\", "     \
    "\"k\": 3}}}"

#define CLASS_BASE                                                                                 \
    "{\"target\": \"y\", \"task\": \"classification\", \"network\": {\"hidden\": [{\"units\": "    \
    "8}]}, \"training\": {\"epochs\": 9, \"validation\": {\"type\": \"kfold\", \"k\": 3}}}"
#define REG_BASE                                                                                   \
    "{\"target\": \"y\", \"task\": \"regression\", \"training\": {\"epochs\": 9, "                 \
    "\"validation\": {\"type\": \"kfold\", \"k\": 3}}}"
#define LR_SPACE                                                                                   \
    "{\"/training/optimizer/learning_rate\": {\"type\": \"float\", \"low\": 1e-4, \"high\": "      \
    "1e-1, \"log\": true}}"

static nn_study_spec *parse_with(const char *base, const char *rest, nn_spec_errors *e) {
    char text[4096];
    (void)snprintf(text, sizeof text,
                   "{\"name\": \"c\", \"seed\": 7, \"base\": %s, \"space\": %s%s}", base, LR_SPACE,
                   rest);
    nn_study_spec *s = NULL;
    return nn_study_parse(text, strlen(text), &s, e) == NN_OK ? s : NULL;
}

static void test_class_objectives(void) {
    static const struct {
        const char *name;
        int maximized;
    } want[] = {{"accuracy", 1}, {"balanced_accuracy", 1}, {"log_loss", 0},
                {"roc_auc", 1},  {"f1_macro", 1},          {"brier", 0}};
    nn_class_metrics m;
    memset(&m, 0, sizeof m);
    m.accuracy = 0.1;
    m.balanced_accuracy = 0.2;
    m.log_loss = 0.3;
    m.roc_auc = 0.4;
    m.f1_macro = 0.5;
    m.brier = 0.6;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        nn_objective o;
        CHECK(nn_objective_from_name(want[i].name, &o) == 0);
        CHECK(nn_objective_task(o) == NN_TASK_CLASSIFICATION);
        CHECK(nn_objective_maximized(o) == want[i].maximized);
        CHECK_NEAR(nn_objective_class_value(o, &m), 0.1 * (double)(i + 1), 1e-12);
        /* the same name as in a run's metrics */
        CHECK_STR(nn_objective_name(o), want[i].name);
    }
    CHECK(nn_objective_task(NN_OBJ_R2) == NN_TASK_REGRESSION);
    CHECK(nn_objective_task(NN_OBJ_MSE) == NN_TASK_REGRESSION);
    CHECK(isnan(nn_objective_class_value(NN_OBJ_R2, &m)));
    nn_objective o;
    CHECK(nn_objective_from_name("pr_auc", &o) != 0); /* NaN for more than two classes */
}

static void test_class_defaults_and_errors(void) {
    nn_spec_errors e;
    /* the base says classification: log_loss, minimized, written out in the canonical form */
    nn_study_spec *s = parse_with(CLASS_BASE, "", &e);
    CHECK(s != NULL);
    if (s) {
        CHECK(s->objective == NN_OBJ_LOG_LOSS && s->maximize == 0);
        CHECK(s->task_known && s->task == NN_TASK_CLASSIFICATION);
        CHECK_CONTAINS(s->canonical, "\"metric\":\"log_loss\"");
        CHECK_CONTAINS(s->canonical, "\"direction\":\"minimize\"");
    }
    nn_study_spec_destroy(s);
    s = parse_with(CLASS_BASE, ", \"objective\": {\"metric\": \"accuracy\"}", &e);
    CHECK(s && s->objective == NN_OBJ_ACCURACY && s->maximize == 1);
    nn_study_spec_destroy(s);
    s = parse_with(CLASS_BASE,
                   ", \"objective\": {\"metric\": \"roc_auc\", \"direction\": "
                   "\"minimize\"}",
                   &e);
    CHECK(s && s->objective == NN_OBJ_ROC_AUC && s->maximize == 0);
    nn_study_spec_destroy(s);
    /* a regression's objective on a classification, and the other way round */
    s = parse_with(CLASS_BASE, ", \"objective\": {\"metric\": \"rmse\"}", &e);
    CHECK(s == NULL);
    CHECK(e.n == 1);
    if (e.n) {
        CHECK_STR(e.items[0].pointer, "/objective/metric");
        CHECK_CONTAINS(e.items[0].message, "\"rmse\" is a regression objective");
        CHECK_CONTAINS(e.items[0].message,
                       "accuracy, balanced_accuracy, log_loss, roc_auc, f1_macro, brier");
    }
    s = parse_with(REG_BASE, ", \"objective\": {\"metric\": \"log_loss\"}", &e);
    CHECK(s == NULL);
    if (e.n) {
        CHECK_STR(e.items[0].pointer, "/objective/metric");
        CHECK_CONTAINS(e.items[0].message, "r2, rmse, mae, mape, mse");
    }
    s = parse_with(REG_BASE, "", &e);
    CHECK(s && s->objective == NN_OBJ_R2 && s->maximize == 1);
    nn_study_spec_destroy(s);
    s = parse_with(CLASS_BASE, ", \"objective\": {\"metric\": \"acuracy\"}", &e);
    CHECK(s == NULL);
    if (e.n) CHECK_CONTAINS(e.items[0].message, "unknown metric \"acuracy\"");
}

/* Without "task" in the base the data decides: nn_study_resolve_task. */
static void test_class_resolve_task(void) {
    nn_spec_errors e;
    nn_study_spec *s = parse_with(NO_TASK_BASE, "", &e); /* BASE_SPEC: no task */
    CHECK(s != NULL);
    if (!s) return;
    CHECK(!s->task_known && s->objective == NN_OBJ_R2);
    char before[65];
    memcpy(before, s->hash, sizeof before);
    CHECK(nn_study_resolve_task(s, NN_TASK_CLASSIFICATION, &e) == NN_OK);
    CHECK(s->objective == NN_OBJ_LOG_LOSS && s->maximize == 0 && s->task_known);
    CHECK(strcmp(before, s->hash) != 0);
    CHECK_CONTAINS(s->canonical, "\"metric\":\"log_loss\"");
    /* the canonical form parses back to the same study (nnd stores it and reloads it) */
    nn_study_spec *again = NULL;
    CHECK(nn_study_parse(s->canonical, strlen(s->canonical), &again, &e) == NN_OK);
    if (again) {
        CHECK(again->objective == NN_OBJ_LOG_LOSS && again->maximize == 0);
        CHECK_STR(again->hash, s->hash);
    }
    nn_study_spec_destroy(again);
    nn_study_spec_destroy(s);
    /* a regression's default stays r2 and the hash the same */
    s = parse_with(NO_TASK_BASE, "", &e);
    if (!s) return;
    memcpy(before, s->hash, sizeof before);
    CHECK(nn_study_resolve_task(s, NN_TASK_REGRESSION, &e) == NN_OK);
    CHECK(s->objective == NN_OBJ_R2);
    CHECK_STR(s->hash, before);
    nn_study_spec_destroy(s);
    /* a written objective of the other task: refused, the study unchanged */
    s = parse_with(NO_TASK_BASE, ", \"objective\": {\"metric\": \"accuracy\"}", &e);
    CHECK(s != NULL);
    if (!s) return;
    memcpy(before, s->hash, sizeof before);
    CHECK(nn_study_resolve_task(s, NN_TASK_REGRESSION, &e) == NN_ERR_SPEC);
    CHECK(e.n == 1);
    if (e.n) {
        CHECK_STR(e.items[0].pointer, "/objective/metric");
        CHECK_CONTAINS(e.items[0].message, "\"accuracy\" is a classification objective");
    }
    CHECK(s->objective == NN_OBJ_ACCURACY && !s->task_known);
    CHECK_STR(s->hash, before);
    CHECK(nn_study_resolve_task(s, NN_TASK_CLASSIFICATION, &e) == NN_OK);
    CHECK(s->objective == NN_OBJ_ACCURACY && s->maximize == 1);
    nn_study_spec_destroy(s);
}

#define CLASS_METRICS                                                                              \
    "{\"task\": \"classification\", \"accuracy\": 0.9, \"balanced_accuracy\": 0.85, "              \
    "\"log_loss\": 0.25, \"roc_auc\": 0.97, \"pr_auc\": 0.96, \"f1_macro\": 0.88, \"brier\": "     \
    "0.07, \"accuracy_mean\": 0.9, \"accuracy_sd\": 0.02, \"log_loss_mean\": 0.26, "               \
    "\"log_loss_sd\": 0.03, \"train_seconds\": 1.5, \"params\": 42, \"folds\": ["                  \
    "{\"fold\": 1, \"accuracy\": 0.8, \"log_loss\": 0.3}, {\"fold\": 2, \"accuracy\": 0.9, "       \
    "\"log_loss\": 0.2}, {\"fold\": 3, \"accuracy\": 1.0, \"log_loss\": 0.28}]}"

static void test_class_result_and_leaderboard(void) {
    nn_spec_errors e;
    nn_study_spec *s = parse_with(CLASS_BASE,
                                  ", \"sampler\": {\"type\": \"random\"}, "
                                  "\"budget\": {\"max_trials\": 2}",
                                  &e);
    CHECK(s != NULL);
    if (!s) return;
    json_t *m = json_loads(CLASS_METRICS, 0, NULL);
    double v[8];
    CHECK(nn_study_fold_objective(s, m, v, 8) == 3);
    CHECK(v[0] == 0.3 && v[1] == 0.2 && v[2] == 0.28);
    nn_trial_result r;
    nn_error err;
    CHECK(nn_study_result_from_metrics(s, m, &r, &err) == NN_OK);
    CHECK_NEAR(r.mean, (0.3 + 0.2 + 0.28) / 3, 1e-12);
    CHECK_NEAR(r.oof, 0.25, 1e-12);
    CHECK(r.n_params == 42);
    CHECK_NEAR(json_number_value(json_object_get(r.metrics, "accuracy")), 0.9, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(r.metrics, "pr_auc")), 0.96, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(r.metrics, "log_loss_sd")), 0.03, 1e-12);
    CHECK(json_object_get(r.metrics, "r2") == NULL);
    /* one trial through the machine: the leaderboard carries the classification's metrics */
    nn_study *st = NULL;
    CHECK(nn_study_create(s, &st, &err) == NN_OK);
    nn_study_work w;
    CHECK(nn_study_next(st, &w, &err) == NN_OK && w.kind == NN_WORK_TRAIN && w.last);
    CHECK(nn_study_report_rung(st, w.trial, w.rung, v, 3, &err) == NN_OK);
    CHECK(nn_study_report_complete(st, w.trial, &r, &err) == NN_OK);
    json_decref(r.metrics);
    char *csv = nn_study_leaderboard_csv(st);
    CHECK(csv != NULL);
    if (csv) {
        CHECK_CONTAINS(csv, "objective,objective_sd,objective_oof,accuracy,balanced_accuracy,"
                            "log_loss,roc_auc,pr_auc,f1_macro,brier,epochs,seconds,params,error\n");
        CHECK_CONTAINS(csv, ",0.25,0.9,0.85,0.25,0.97,0.96,0.88,0.07,9,1.5,42,\n");
    }
    free(csv);
    json_t *board = nn_study_leaderboard(st);
    json_t *row = json_array_get(board, 0);
    CHECK_STR(json_string_value(json_object_get(row, "metric")), "log_loss");
    CHECK_NEAR(json_number_value(json_object_get(row, "objective")), 0.26, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(json_object_get(row, "metrics"), "roc_auc")), 0.97,
               1e-12);
    json_decref(board);
    nn_study_destroy(st);
    json_decref(m);
    nn_study_spec_destroy(s);
}

/* ---- the ensemble, against sums written out here ---- */

/* The class of a row of probabilities: two classes, class 1 (the positive) when p1 ≥ 0.5;
 * more, the first most probable. */
static int argmax(const double *p, int k) {
    if (k == 2) return p[1] >= 0.5;
    int b = 0;
    for (int c = 1; c < k; c++)
        if (p[c] > p[b]) b = c;
    return b;
}

/* log loss or accuracy of the count-weighted average of the models' probabilities over the
 * rows with a class. */
static double score_of(const double *const *prob, int m, const int *counts, const int *y, int n,
                       int k, int accuracy) {
    double s = 0;
    int used = 0, total = 0;
    for (int j = 0; j < m; j++) total += counts[j];
    for (int i = 0; i < n; i++) {
        if (y[i] < 0) continue;
        double p[8] = {0};
        for (int c = 0; c < k; c++)
            for (int j = 0; j < m; j++) p[c] += counts[j] * prob[j][i * k + c] / total;
        s += accuracy ? (argmax(p, k) == y[i]) : -log(p[y[i]]);
        used++;
    }
    return s / used;
}

/* Greedy forward selection written out: each round the first model whose addition scores best. */
static double greedy(const double *const *prob, int m, const int *y, int n, int k, int rounds,
                     int accuracy, int *counts) {
    double best = 0;
    for (int j = 0; j < m; j++) counts[j] = 0;
    for (int r = 0; r < rounds; r++) {
        int pick = 0;
        for (int j = 0; j < m; j++) {
            counts[j]++;
            double v = score_of(prob, m, counts, y, n, k, accuracy);
            counts[j]--;
            if (j == 0 || (accuracy ? v > best : v < best)) {
                best = v;
                pick = j;
            }
        }
        counts[pick]++;
    }
    return best;
}

static void test_class_ensemble_hand_made(void) {
    /* two classes, four rows of classes 1, 1, 0, 0: a is sure and right on the first two and
       unsure on the rest, b the reverse, c lukewarm everywhere */
    enum { N = 4, K = 2 };
    int y[N] = {1, 1, 0, 0};
    double a[N * K] = {0.05, 0.95, 0.05, 0.95, 0.45, 0.55, 0.45, 0.55};
    double b[N * K] = {0.45, 0.55, 0.45, 0.55, 0.95, 0.05, 0.95, 0.05};
    double c[N * K] = {0.4, 0.6, 0.4, 0.6, 0.6, 0.4, 0.6, 0.4};
    const double *prob[3] = {a, b, c};
    int counts[3], want[3];
    double v = NAN;
    nn_error err;
    /* by log loss: alone a scores (−ln .95 − ln .45)/2 = 0.4249, b (−ln .55 − ln .95)/2 =
       0.3246, c −ln .6 = 0.5108, so b first; then b + a averages to .75 on the first two rows
       and .7 on the rest: (−ln .75 − ln .7)/2 = 0.3222, better than b again or b + c (0.404) */
    CHECK(nn_caruana_select_class(prob, 3, y, N, K, 1, NN_OBJ_LOG_LOSS, 0, 2, counts, &v, &err) ==
          NN_OK);
    CHECK(counts[0] == 1 && counts[1] == 1 && counts[2] == 0);
    CHECK_NEAR(v, (-log(0.75) - log(0.7)) / 2, 1e-12);
    double w = greedy(prob, 3, y, N, K, 2, 0, want);
    CHECK_NEAR(v, w, 1e-12);
    /* by accuracy: a is wrong on the last two rows (0.55 ≥ 0.5 says class 1): 0.5; b and c are
       right everywhere: 1, and b comes first; then every addition keeps 1 and a, the first,
       wins the ties */
    CHECK(nn_caruana_select_class(prob, 3, y, N, K, 1, NN_OBJ_ACCURACY, 1, 3, counts, &v, &err) ==
          NN_OK);
    w = greedy(prob, 3, y, N, K, 3, 1, want);
    CHECK(counts[0] == want[0] && counts[1] == want[1] && counts[2] == want[2]);
    CHECK(counts[0] == 2 && counts[1] == 1 && counts[2] == 0);
    CHECK_NEAR(v, 1, 1e-12);
    CHECK_NEAR(v, w, 1e-12);
    /* the average of the selection and its scores */
    int sel[3] = {1, 1, 0};
    double avg[N * K];
    nn_caruana_average(prob, 3, sel, K, N, avg);
    CHECK_NEAR(avg[1], 0.75, 1e-12);
    CHECK_NEAR(avg[4], 0.7, 1e-12);
    json_t *sc = nn_study_class_score(y, avg, N, K, 1);
    CHECK(sc != NULL);
    CHECK_NEAR(json_number_value(json_object_get(sc, "log_loss")), (-log(0.75) - log(0.7)) / 2,
               1e-12);
    CHECK_NEAR(json_number_value(json_object_get(sc, "accuracy")), 1, 1e-12);
    CHECK(json_integer_value(json_object_get(sc, "rows")) == N);
    json_decref(sc);
    /* not a classification's objective */
    CHECK(nn_caruana_select_class(prob, 3, y, N, K, 1, NN_OBJ_R2, 1, 2, counts, &v, &err) ==
          NN_ERR_INVALID);
}

/* Three classes, random probabilities: the selection and its score agree with the written-out
 * greedy, by log loss and by accuracy. */
static void test_class_ensemble_random(void) {
    enum { N = 40, K = 3, M = 4 };
    static double buf[M][N * K];
    int y[N];
    unsigned long long x = 12345;
    for (int trial = 0; trial < 20; trial++) {
        for (int i = 0; i < N; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            y[i] = (int)((x >> 33) % K);
        }
        for (int j = 0; j < M; j++)
            for (int i = 0; i < N; i++) {
                double s = 0;
                for (int c = 0; c < K; c++) {
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                    double u = (double)((x >> 11) & ((1ULL << 52) - 1)) / (double)(1ULL << 52);
                    buf[j][i * K + c] = 0.05 + u + (c == y[i] ? 0.3 * j : 0);
                    s += buf[j][i * K + c];
                }
                for (int c = 0; c < K; c++) buf[j][i * K + c] /= s;
            }
        const double *prob[M] = {buf[0], buf[1], buf[2], buf[3]};
        int rounds = 1 + trial % 6, counts[M], want[M];
        nn_error err;
        for (int acc = 0; acc < 2; acc++) {
            double v = NAN;
            CHECK(nn_caruana_select_class(prob, M, y, N, K, -1,
                                          acc ? NN_OBJ_ACCURACY : NN_OBJ_LOG_LOSS, acc, rounds,
                                          counts, &v, &err) == NN_OK);
            double w = greedy(prob, M, y, N, K, rounds, acc, want);
            CHECK_NEAR(v, w, 1e-9);
            CHECK_NEAR(score_of(prob, M, counts, y, N, K, acc), v, 1e-9);
            int same = 1, total = 0;
            for (int j = 0; j < M; j++) {
                same &= counts[j] == want[j];
                total += counts[j];
            }
            CHECK(same);
            CHECK(total == rounds);
        }
    }
}

/* Rows without a class, or with a probability that is not a number, are left out. */
static void test_class_ensemble_skips(void) {
    enum { N = 4, K = 2 };
    int y[N] = {1, -1, 0, 0};
    double a[N * K] = {0.2, 0.8, 0.5, 0.5, NAN, NAN, 0.9, 0.1};
    double b[N * K] = {0.4, 0.6, 0.5, 0.5, 0.3, 0.7, 0.6, 0.4};
    const double *prob[2] = {a, b};
    int counts[2];
    double v = NAN;
    nn_error err;
    CHECK(nn_caruana_select_class(prob, 2, y, N, K, 1, NN_OBJ_LOG_LOSS, 0, 1, counts, &v, &err) ==
          NN_OK);
    /* rows 1 and 4: a scores (−ln .8 − ln .9)/2, b (−ln .6 − ln .6)/2 */
    CHECK(counts[0] == 1 && counts[1] == 0);
    CHECK_NEAR(v, (-log(0.8) - log(0.9)) / 2, 1e-12);
    int none[N] = {-1, -1, -1, -1};
    CHECK(nn_caruana_select_class(prob, 2, none, N, K, 1, NN_OBJ_LOG_LOSS, 0, 1, counts, &v,
                                  &err) == NN_ERR_INVALID);
    json_t *sc = nn_study_class_score(y, a, N, K, 1);
    CHECK(sc && json_integer_value(json_object_get(sc, "rows")) == 2);
    json_decref(sc);
}

int main(void) {
    RUN(test_class_objectives);
    RUN(test_class_defaults_and_errors);
    RUN(test_class_resolve_task);
    RUN(test_class_result_and_leaderboard);
    RUN(test_class_ensemble_hand_made);
    RUN(test_class_ensemble_random);
    RUN(test_class_ensemble_skips);
    return check_summary();
}
