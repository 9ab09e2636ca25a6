/* test_cv_class.c — classification jobs: spec and plan errors at their pointers (naming the class
 * and its count), stratified folds, results bit-identical whatever the number of threads,
 * checkpoints and model files that give back the same probabilities, class weights, label
 * smoothing and the new monitors. The metrics themselves are checked against scikit-learn in
 * tests/integration/test_classify_sklearn.py and by hand in test_metrics_class.c. */
#include "check.h"
#include "cv_fixture.h"
#include "nn_report.h"

static nn_spec *class_spec(const char *extra_top, const char *training) {
    char buf[2048];
    (void)snprintf(buf, sizeof buf,
                   "{\"name\": \"cls\", \"seed\": 5, \"target\": \"label\"%s,"
                   " \"preprocess\": [{\"op\": \"normalize\", \"columns\": \"inputs\"}],"
                   " \"network\": {\"hidden\": [{\"units\": 6}]}, \"training\": {%s}}",
                   extra_top, training);
    return parse(buf);
}

static int starts(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The first problem of parsing doc (NULL: it parsed). */
static const char *parse_problem(const char *doc, char *buf, size_t size) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    if (nn_spec_parse(doc, strlen(doc), &s, &errs) == NN_OK) {
        nn_spec_destroy(s);
        return NULL;
    }
    (void)snprintf(buf, size, "%s: %s", errs.items[0].pointer, errs.items[0].message);
    return buf;
}

/* The first problem of planning spec on data ("" when it plans). */
static void plan_problem(const nn_spec *s, const nn_table *t, char *buf, size_t size, size_t *n) {
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_plan *plan = NULL;
    buf[0] = '\0';
    if (n) *n = 0;
    if (nn_pipe_plan(s, t, &plan, &errs) != NN_OK && errs.n) {
        (void)snprintf(buf, size, "%s: %s", errs.items[0].pointer, errs.items[0].message);
        if (n) *n = errs.n;
    }
    nn_plan_destroy(plan);
}

static void test_cv_class_spec_errors_at_their_pointers(void) {
    char b[512];
    const char *p;
    p = parse_problem("{\"target\": \"y\", \"task\": \"classification\", \"network\": {\"output\":"
                      " {\"activation\": \"sigmoid\"}}, \"training\": {\"epochs\": 1}}",
                      b, sizeof b);
    CHECK(p && starts(p, "/network/output/activation: a classification network ends in logits"));
    p = parse_problem("{\"target\": [\"y\", \"z\"], \"task\": \"classification\", \"training\":"
                      " {\"epochs\": 1}}",
                      b, sizeof b);
    CHECK_STR(p, "/target: a classification predicts one column; 2 targets given");
    p = parse_problem("{\"target\": \"y\", \"task\": \"classification\", \"training\": {\"epochs\":"
                      " 1, \"loss\": \"huber\"}}",
                      b, sizeof b);
    CHECK_STR(p, "/training/loss: \"huber\" is a regression loss; a classification trains with "
                 "cross_entropy");
    p = parse_problem("{\"target\": \"y\", \"task\": \"classification\", \"training\": {\"epochs\":"
                      " 1, \"early_stopping\": {\"monitor\": \"val_r2\", \"patience\": 2}}}",
                      b, sizeof b);
    CHECK(p && starts(p, "/training/early_stopping/monitor: val_r2 is for regression"));
    p = parse_problem("{\"target\": \"y\", \"task\": \"regression\", \"training\": {\"epochs\": 1,"
                      " \"reduce_on_plateau\": {\"monitor\": \"val_accuracy\", \"patience\": 2}}}",
                      b, sizeof b);
    CHECK(p && starts(p, "/training/reduce_on_plateau/monitor: val_accuracy is for "
                         "classification"));
    p = parse_problem("{\"target\": \"y\", \"training\": {\"epochs\": 1, \"loss\": {\"type\":"
                      " \"cross_entropy\", \"label_smoothing\": 0.7}}}",
                      b, sizeof b);
    CHECK(p && starts(p, "/training/loss/label_smoothing: "));
    p = parse_problem("{\"target\": \"y\", \"training\": {\"epochs\": 1, \"loss\": {\"type\":"
                      " \"cross_entropy\", \"class_weight\": {\"a\": -1}}}}",
                      b, sizeof b);
    CHECK_STR(p, "/training/loss/class_weight/a: must be a number > 0");
    p = parse_problem("{\"target\": \"y\", \"training\": {\"epochs\": 1, \"loss\": {\"type\":"
                      " \"mse\", \"label_smoothing\": 0.1}}}",
                      b, sizeof b);
    CHECK(p && strstr(p, "/training/loss/label_smoothing") == p);
    p = parse_problem("{\"target\": \"y\", \"task\": \"sorting\", \"training\": {\"epochs\": 1}}",
                      b, sizeof b);
    CHECK(p && starts(p, "/task: unknown task \"sorting\""));
    /* a number target is regression: a classification loss or key is refused at plan time */
    nn_table *t = synth(30, 1, 1, 0);
    nn_spec *s = parse("{\"target\": \"y\", \"training\": {\"epochs\": 1, \"loss\":"
                       " \"cross_entropy\"}}");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK(starts(b, "/training/loss: cross_entropy is for classification"));
    nn_spec_destroy(s);
    s = parse("{\"target\": \"y\", \"positive\": 1, \"training\": {\"epochs\": 1}}");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK_STR(b, "/positive: only for classification");
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

static void test_cv_class_plan_names_the_class_and_its_count(void) {
    char b[512];
    size_t n;
    nn_table *t = labelled(40, 2, 0);
    /* one class: every label "lo" */
    int c = nn_table_find(t, "label");
    nn_table *one = NULL;
    CHECK(nn_table_clone(t, &one, NULL) == NN_OK);
    for (size_t i = 0; one && i < one->n_rows; i++)
        one->cols[c].text[i][0] = 'l', one->cols[c].text[i][1] = 'o';
    nn_spec *s = class_spec("", "\"epochs\": 1");
    plan_problem(s, one, b, sizeof b, NULL);
    CHECK_STR(b, "/target: column \"label\" has one class (\"lo\", 40 rows); a classification "
                 "needs two or more");
    nn_table_destroy(one);
    /* a class with fewer rows than folds: 3 rows of "mid" and k = 5 */
    for (size_t i = 0; i < 3; i++) {
        free(t->cols[c].text[i]);
        t->cols[c].text[i] = strdup("mid");
    }
    plan_problem(s, t, b, sizeof b, &n);
    CHECK_STR(b, "/training/validation/k: class \"mid\" has 3 rows, fewer than the 5 folds (every "
                 "fold validates every class); lower k, or merge or drop the class");
    nn_spec_destroy(s);
    s = class_spec("", "\"epochs\": 1, \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK_STR(b, "");
    nn_spec_destroy(s);
    s = class_spec(", \"positive\": \"hi\"", "\"epochs\": 1, \"validation\": {\"k\": 3}");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK_STR(b, "/positive: a positive class is for two classes; \"label\" has 3 (\"hi\", \"lo\", "
                 "\"mid\")");
    nn_spec_destroy(s);
    s = class_spec("", "\"epochs\": 1, \"validation\": {\"k\": 3}, \"loss\": {\"type\":"
                       " \"cross_entropy\", \"class_weight\": {\"hi\": 2, \"high\": 3}}");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK_STR(b, "/training/loss/class_weight/high: no class \"high\" (the classes are \"hi\", "
                 "\"lo\", \"mid\")");
    nn_spec_destroy(s);
    /* a text target with "task": "regression" */
    s = class_spec(", \"task\": \"regression\"", "\"epochs\": 1");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK(starts(b, "/target: column \"label\" is text; a regression target must be numeric"));
    nn_spec_destroy(s);
    /* steps may not touch a classification target */
    s = parse("{\"target\": \"label\", \"preprocess\": [{\"op\": \"one_hot\", \"columns\": "
              "[\"label\"]}], \"training\": {\"epochs\": 1, \"validation\": {\"k\": 3}}}");
    plan_problem(s, t, b, sizeof b, NULL);
    CHECK_STR(b, "/preprocess/0/columns/0: \"label\" is the classification target: its labels are "
                 "the classes, which no step changes");
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* Stratified k-fold: every fold holds each class within one row of its share; holdout: both
 * sides hold every class. Unstratified folds are the regression's shuffle. */
static void test_cv_class_stratified_folds(void) {
    nn_table *t = labelled(103, 3, 0);
    nn_spec *s = class_spec("", "\"epochs\": 1, \"validation\": {\"type\": \"kfold\", \"k\": 4}");
    nn_cv *cv = NULL;
    nn_spec_errors errs;
    CHECK(nn_cv_create(s, t, NULL, &cv, &errs, NULL) == NN_OK);
    const nn_cv_result *r = cv ? nn_cv_result_get(cv) : NULL;
    for (int c = 0; r && c < 3; c++) {
        size_t per[4] = {0};
        for (size_t i = 0; i < t->n_rows; i++)
            if (r->actual_class[i] == c) per[r->oof_fold[i]]++;
        size_t lo = per[0], hi = per[0];
        for (int f = 1; f < 4; f++) lo = per[f] < lo ? per[f] : lo, hi = per[f] > hi ? per[f] : hi;
        CHECK(hi - lo <= 1);
    }
    size_t sizes[4] = {0};
    for (size_t i = 0; r && i < t->n_rows; i++) sizes[r->oof_fold[i]]++;
    CHECK(sizes[0] >= 25 && sizes[0] <= 26 && sizes[3] >= 25 && sizes[3] <= 26);
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    s = class_spec("", "\"epochs\": 1, \"validation\": {\"type\": \"holdout\", \"fraction\": 0.1}");
    CHECK(nn_cv_create(s, t, NULL, &cv, &errs, NULL) == NN_OK);
    r = cv ? nn_cv_result_get(cv) : NULL;
    for (int c = 0; r && c < 3; c++) {
        size_t val = 0, tr = 0;
        for (size_t i = 0; i < t->n_rows; i++)
            if (r->actual_class[i] == c) r->oof_fold[i] == 0 ? val++ : tr++;
        CHECK(val >= 3 && val <= 4 && tr > val);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

static int probs_equal(const nn_cv_result *a, const nn_cv_result *b) {
    size_t k = a->labels->n;
    return a->n_rows == b->n_rows &&
           memcmp(a->oof_prob, b->oof_prob, a->n_rows * k * sizeof *a->oof_prob) == 0 &&
           memcmp(a->oof_pred, b->oof_pred, a->n_rows * sizeof *a->oof_pred) == 0;
}

/* Bit-identical probabilities, histories and metrics on 1 and 3 threads, three classes with an
 * ensemble, and two with class weights and label smoothing. */
static void test_cv_class_results_do_not_depend_on_threads(void) {
    nn_table *t3 = labelled(90, 3, 0), *t2 = labelled(90, 2, 4);
    nn_spec *s3 = class_spec("", "\"epochs\": 6, \"batch_size\": 8, \"ensemble\": 2, "
                                 "\"optimizer\": {\"learning_rate\": 0.05},"
                                 " \"validation\": {\"k\": 3}");
    nn_spec *s2 = class_spec(", \"positive\": \"lo\"",
                             "\"epochs\": 6, \"batch_size\": 8, \"validation\": {\"k\": 3}, "
                             "\"optimizer\": {\"learning_rate\": 0.05},"
                             " \"loss\": {\"type\": \"cross_entropy\", \"label_smoothing\": 0.1,"
                             " \"class_weight\": \"balanced\"}");
    const nn_spec *specs[2] = {s3, s2};
    const nn_table *tabs[2] = {t3, t2};
    for (int j = 0; j < 2; j++) {
        nn_cv *a = run_ok(specs[j], tabs[j], 1), *b = run_ok(specs[j], tabs[j], 3);
        if (a && b) {
            const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
            CHECK(probs_equal(ra, rb));
            for (int f = 0; f < 3; f++) {
                CHECK(history_equal(&ra->folds[f], &rb->folds[f]));
                CHECK(memcmp(&ra->folds[f].cls.log_loss, &rb->folds[f].cls.log_loss,
                             sizeof(double)) == 0);
                const nn_history_row *h = &ra->folds[f].history[5];
                CHECK(isfinite(h->val_log_loss) && isfinite(h->val_accuracy) && isnan(h->val_r2));
            }
            if (!(ra->overall_class.accuracy > 0.7))
                fprintf(stderr, "accuracy %g\n", ra->overall_class.accuracy);
            CHECK(ra->overall_class.accuracy > 0.7);
            CHECK(memcmp(&ra->overall_class.log_loss, &rb->overall_class.log_loss,
                         sizeof(double)) == 0);
        }
        nn_cv_destroy(a);
        nn_cv_destroy(b);
    }
    nn_spec_destroy(s3);
    nn_spec_destroy(s2);
    nn_table_destroy(t3);
    nn_table_destroy(t2);
}

/* A fold exported and imported into a fresh job gives back its probabilities, classes and
 * metrics; the final model written and read gives the probabilities it gave before, summing to 1.
 */
static void test_cv_class_checkpoint_and_model_round_trip(void) {
    nn_table *t = labelled(60, 3, 0);
    nn_spec *s = class_spec("", "\"epochs\": 4, \"validation\": {\"k\": 3}");
    nn_cv *a = run_ok(s, t, 2), *b = NULL;
    nn_spec_errors errs;
    nn_error err = {0};
    CHECK(nn_cv_create(s, t, NULL, &b, &errs, &err) == NN_OK);
    json_t *cp = NULL;
    CHECK(a && b && nn_cv_task_export(a, 1, &cp, &err) == NN_OK);
    char *text = cp ? json_dumps(cp, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(cp);
    json_t *back = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    CHECK(back && nn_cv_task_import(b, 1, back, &err) == NN_OK);
    json_decref(back);
    if (a && b) {
        const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
        int same = 1;
        for (size_t i = 0; i < t->n_rows; i++) {
            if (ra->oof_fold[i] != 1) continue;
            same &= memcmp(ra->oof_prob + i * 3, rb->oof_prob + i * 3, 3 * sizeof(double)) == 0;
            same &= ra->oof_pred[i] == rb->oof_pred[i];
        }
        CHECK(same);
        CHECK(ra->folds[1].cls.log_loss == rb->folds[1].cls.log_loss);
        CHECK(ra->folds[1].cls.accuracy == rb->folds[1].cls.accuracy);
    }
    nn_model *m = a ? nn_cv_take_model(a) : NULL, *m2 = NULL;
    char *mj = m ? nn_model_to_json(m) : NULL;
    CHECK(mj && strstr(mj, "\"classes\"") && strstr(mj, "\"task\": \"classification\""));
    CHECK(mj && nn_model_from_json(mj, strlen(mj), &m2, &err) == NN_OK);
    double *p1 = NULL, *p2 = NULL;
    CHECK(m && nn_model_predict(m, t, &p1, &err) == NN_OK);
    CHECK(m2 && nn_model_predict(m2, t, &p2, &err) == NN_OK);
    CHECK(m2 && nn_model_n_values(m2) == 3 && nn_model_labels(m2)->n == 3);
    if (p1 && p2) {
        CHECK(memcmp(p1, p2, t->n_rows * 3 * sizeof *p1) == 0);
        double worst = 0;
        for (size_t i = 0; i < t->n_rows; i++)
            worst = fmax(worst, fabs(p1[3 * i] + p1[3 * i + 1] + p1[3 * i + 2] - 1));
        CHECK(worst < 1e-12);
    }
    free(p1);
    free(p2);
    free(mj);
    nn_model_destroy(m);
    nn_model_destroy(m2);
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* On a set with one "hi" in four of those x1 + x2 > 1 would give (the rest "lo"), balanced class
 * weights raise the recall of "hi"; label smoothing ε keeps probabilities off 0 and 1. */
static void test_cv_class_weights_and_smoothing_do_what_they_say(void) {
    nn_table *t = labelled(400, 2, 4);
    nn_spec *plain = class_spec("", "\"epochs\": 30, \"validation\": {\"k\": 4},"
                                    " \"optimizer\": {\"learning_rate\": 0.01}");
    nn_spec *bal = class_spec("", "\"epochs\": 30, \"validation\": {\"k\": 4},"
                                  " \"optimizer\": {\"learning_rate\": 0.01},"
                                  " \"loss\": {\"type\": \"cross_entropy\","
                                  " \"class_weight\": \"balanced\"}");
    nn_spec *smooth = class_spec("", "\"epochs\": 30, \"validation\": {\"k\": 4},"
                                     " \"optimizer\": {\"learning_rate\": 0.01},"
                                     " \"loss\": {\"type\": \"cross_entropy\","
                                     " \"label_smoothing\": 0.4}");
    nn_cv *a = run_ok(plain, t, 2), *b = run_ok(bal, t, 2), *c = run_ok(smooth, t, 2);
    if (a && b && c) {
        const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
        const nn_cv_result *rc = nn_cv_result_get(c);
        int hi = nn_labels_find(ra->labels, "hi");
        CHECK(rb->overall_class.recall[hi] > ra->overall_class.recall[hi] + 0.1);
        double top_a = 0, top_c = 0;
        for (size_t i = 0; i < t->n_rows; i++) {
            top_a = fmax(top_a, fmax(ra->oof_prob[2 * i], ra->oof_prob[2 * i + 1]));
            top_c = fmax(top_c, fmax(rc->oof_prob[2 * i], rc->oof_prob[2 * i + 1]));
        }
        CHECK(top_c < 0.85 && top_a > top_c); /* ε = 0.4: the best answer is 0.8 */
    }
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_cv_destroy(c);
    nn_spec_destroy(plain);
    nn_spec_destroy(bal);
    nn_spec_destroy(smooth);
    nn_table_destroy(t);
}

/* Early stopping on val_accuracy (higher is better) and val_log_loss: the best epoch is the one
 * the history says, and the refit trains for the folds' mean best epoch. */
static void test_cv_class_monitors(void) {
    nn_table *t = labelled(60, 2, 0);
    const char *mons[2] = {"val_accuracy", "val_log_loss"};
    for (int j = 0; j < 2; j++) {
        char tr[512];
        (void)snprintf(tr, sizeof tr,
                       "\"epochs\": 40, \"validation\": {\"k\": 3}, \"optimizer\": "
                       "{\"learning_rate\": 0.05}, \"early_stopping\": {\"monitor\": \"%s\","
                       " \"patience\": 3}",
                       mons[j]);
        nn_spec *s = class_spec("", tr);
        nn_cv *cv = run_ok(s, t, 2);
        const nn_cv_result *r = cv ? nn_cv_result_get(cv) : NULL;
        for (int f = 0; r && f < 3; f++) {
            const nn_fold_result *fr = &r->folds[f];
            int best = 1;
            for (int e = 1; e <= fr->n_history; e++) {
                const nn_history_row *h = &fr->history[e - 1], *hb = &fr->history[best - 1];
                if (j == 0 ? h->val_accuracy > hb->val_accuracy
                           : h->val_log_loss < hb->val_log_loss)
                    best = e;
            }
            CHECK(fr->best_epoch == best);
            CHECK(fr->epochs_run <= 40);
        }
        nn_cv_destroy(cv);
        nn_spec_destroy(s);
    }
    nn_table_destroy(t);
}

int main(void) {
    RUN(test_cv_class_spec_errors_at_their_pointers);
    RUN(test_cv_class_plan_names_the_class_and_its_count);
    RUN(test_cv_class_stratified_folds);
    RUN(test_cv_class_results_do_not_depend_on_threads);
    RUN(test_cv_class_checkpoint_and_model_round_trip);
    RUN(test_cv_class_weights_and_smoothing_do_what_they_say);
    RUN(test_cv_class_monitors);
    return check_summary();
}
