/* test_cv_final.c — cross-validated jobs, continued: the three "final" modes, report events,
 * permutation importance, errors against the data, and resuming from fold checkpoints. Rows
 * without a target: test_cv_skipped.c. */
#include "check.h"
#include "cv_fixture.h"

static nn_table *kc; /* the King County slice, read once in main */

/* ---- final model ---- */

static double r2_of(const double *y, const double *p, size_t n) {
    double s = 0, res = 0, tot = 0;
    for (size_t i = 0; i < n; i++) s += y[i];
    for (size_t i = 0; i < n; i++) {
        res += (y[i] - p[i]) * (y[i] - p[i]);
        tot += (y[i] - s / (double)n) * (y[i] - s / (double)n);
    }
    return 1 - res / tot;
}

static void test_cv_final_refit_predicts_well(void) {
    nn_spec *s =
        kc_spec(5, "\"epochs\": 25, \"batch_size\": 32,"
                   " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.005},"
                   " \"validation\": {\"type\": \"kfold\", \"k\": 3}, \"final\": \"refit\"");
    nn_cv *cv = run_ok(s, kc, 3);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->has_final_fit);
        CHECK(r->final.fold == -1);
        CHECK(r->final.n_train == 1500);
        CHECK(r->final.epochs_run == 25);
        nn_model *m = nn_cv_take_model(cv);
        CHECK(m != NULL);
        double *p = NULL;
        nn_error err = {0};
        if (m) CHECK(nn_model_predict(m, kc, &p, &err) == NN_OK);
        if (p) {
            int finite = 1;
            for (size_t i = 0; i < 1500; i++)
                if (!isfinite(p[i]) || p[i] < 1e4 || p[i] > 1e8) finite = 0;
            CHECK(finite);
            double r2 = r2_of(r->actual, p, 1500);
            CHECK(r2 > 0.5);
            CHECK(r2 < 1);
        }
        free(p);
        nn_model_destroy(m);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

static void test_cv_final_best_fold_is_that_folds_model(void) {
    nn_spec *s = kc_spec(6, "\"epochs\": 6, \"batch_size\": 32,"
                            " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.01},"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3},"
                            " \"final\": \"best_fold\"");
    nn_cv *cv = run_ok(s, kc, 3);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(!r->has_final_fit);
        CHECK(nn_cv_n_tasks(cv) == 3);
        int best = 0;
        for (int f = 1; f < 3; f++)
            if (r->folds[f].model[0].r2 > r->folds[best].model[0].r2) best = f;
        nn_model *m = nn_cv_take_model(cv);
        CHECK(m != NULL);
        double *p = NULL;
        nn_error err = {0};
        if (m) CHECK(nn_model_predict(m, kc, &p, &err) == NN_OK);
        if (p) {
            /* the model reproduces the best fold's out-of-fold predictions, and only those */
            size_t match[3] = {0}, count[3] = {0};
            for (size_t i = 0; i < 1500; i++) {
                int f = r->oof_fold[i];
                count[f]++;
                match[f] += fabs(p[i] - r->oof_pred[i]) <= 1e-6 * fabs(r->oof_pred[i]);
            }
            CHECK(match[best] == count[best]);
            for (int f = 0; f < 3; f++)
                if (f != best) CHECK(match[f] < count[f] / 10);
        }
        free(p);
        nn_model_destroy(m);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

static void test_cv_final_none_gives_no_model(void) {
    nn_table *t = synth(50, 1, 2, 3);
    nn_spec *s = synth_spec(1, "",
                            "\"epochs\": 2, \"validation\": {\"type\": \"kfold\", \"k\": 2},"
                            " \"final\": \"none\"");
    nn_cv *cv = run_ok(s, t, 2);
    if (cv) {
        CHECK(nn_cv_n_tasks(cv) == 2);
        CHECK(!nn_cv_result_get(cv)->has_final_fit);
        CHECK(nn_cv_take_model(cv) == NULL);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* ---- report events ---- */

static void test_cv_report_events_counted(void) {
    nn_table *t = synth(90, 1, 2, 3);
    nn_spec *s = synth_spec(1, "\"hidden\": [{\"units\": 3}]",
                            "\"epochs\": 4, \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    for (int threads = 1; threads <= 3; threads += 2) {
        events ev;
        memset(&ev, 0, sizeof ev);
        ev.order_ok = 1;
        nn_cv_cfg cfg = {on_event, &ev, NULL};
        nn_cv *cv = NULL;
        nn_error err = {0};
        CHECK(run(s, t, threads, &cfg, &cv, &err) == NN_OK);
        for (int f = 0; f < 3; f++) {
            CHECK(ev.start[f] == 1);
            CHECK(ev.epoch[f] == 4);
            CHECK(ev.end[f] == 1);
            CHECK(ev.end_status[f] == NN_OK);
        }
        CHECK(ev.start[7] == 1 && ev.epoch[7] == 4 && ev.end[7] == 1);
        CHECK(ev.start[3] == 0);
        CHECK(ev.n_total == 4 * (1 + 4 + 1));
        CHECK(ev.order_ok);
        CHECK(!ev.bad_number);
        CHECK(ev.epochs_planned == 4);
        CHECK(ev.n_folds_seen == 3);
        nn_cv_destroy(cv);
    }
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* ---- importance ---- */

static void test_cv_permutation_importance(void) {
    /* y = 3·x1 exactly; a linear network learns it, x2 is irrelevant */
    nn_table *t = synth(200, 3, 0, 0);
    nn_spec *s = synth_spec(1, "",
                            "\"epochs\": 150, \"batch_size\": 16,"
                            " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.05},"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 2}, \"final\": \"none\","
                            " \"importance\": {\"repeats\": 3}");
    nn_cv *cv = run_ok(s, t, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->overall[0].r2 > 0.999);
        CHECK(r->n_importance == 2);
        if (r->n_importance == 2) {
            CHECK_STR(r->importance[0].feature, "x1");
            CHECK_STR(r->importance[1].feature, "x2");
            CHECK(r->importance[0].mean > 0.5);
            CHECK(fabs(r->importance[1].mean) < 0.05);
            CHECK(r->importance[0].mean >= r->importance[1].mean);
            CHECK(r->importance[0].sd >= 0 && r->importance[1].sd >= 0);
            /* permuting x1 of a perfect model on uniform x1 drops R² by about 2 */
            CHECK(r->importance[0].mean > 1.5 && r->importance[0].mean < 2.5);
        }
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    /* without importance: NULL */
    s = synth_spec(1, "", "\"epochs\": 1, \"validation\": {\"type\": \"kfold\", \"k\": 2}");
    cv = run_ok(s, t, 1);
    if (cv)
        CHECK(nn_cv_result_get(cv)->importance == NULL && nn_cv_result_get(cv)->n_importance == 0);
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* ---- errors against the data ---- */

static void test_cv_spec_errors_against_data(void) {
    nn_table *t = synth(20, 1, 1, 1);
    char buf[512];
    (void)snprintf(buf, sizeof buf,
                   "{\"target\": \"yy\", \"preprocess\": [{\"op\": \"normalize\", \"columns\":"
                   " [\"x1\", \"x3\"]}], \"training\": {\"epochs\": 1}}");
    nn_spec *s = parse(buf);
    nn_spec_errors errs;
    nn_error err = {0};
    nn_cv *cv = NULL;
    CHECK(nn_cv_create(s, t, NULL, &cv, &errs, &err) == NN_ERR_SPEC);
    CHECK(cv == NULL);
    CHECK(err.code == NN_ERR_SPEC);
    CHECK(errs.n >= 2);
    int saw_target = 0, saw_col = 0;
    for (size_t i = 0; i < errs.n; i++) {
        if (strncmp(errs.items[i].pointer, "/target", 7) == 0) {
            saw_target = 1;
            CHECK_CONTAINS(errs.items[i].message, "\"yy\"");
            CHECK_CONTAINS(errs.items[i].message, "did you mean \"y\"");
        }
        if (strcmp(errs.items[i].pointer, "/preprocess/0/columns/1") == 0) {
            saw_col = 1;
            CHECK_CONTAINS(errs.items[i].message, "no column \"x3\"");
        }
    }
    CHECK(saw_target);
    CHECK(saw_col);
    CHECK_CONTAINS(err.msg, errs.items[0].pointer);
    CHECK_CONTAINS(err.msg, "more");
    nn_spec_destroy(s);

    /* more folds than rows */
    s = parse("{\"target\": \"y\", \"training\": {\"epochs\": 1, \"validation\": {\"type\": "
              "\"kfold\", \"k\": 30}}}");
    CHECK(nn_cv_create(s, t, NULL, &cv, &errs, &err) == NN_ERR_SPEC);
    CHECK_STR(err.msg, "/training/validation/k: 30 folds need at least 30 rows with a target; the "
                       "data has 20");
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* Checkpoints: job B restores folds 1 and 2 of job A from their JSON (dumped and reloaded as a
 * store would), runs only fold 3 and the final fit, and ends with exactly A's numbers and
 * model; a checkpoint of another spec is refused and leaves the task runnable. */
static void test_checkpoint_resume_gives_identical_results(void) {
    nn_spec *s = synth_spec(11, "\"hidden\": [{\"units\": 6, \"activation\": \"tanh\"}]",
                            "\"epochs\": 15, \"batch_size\": 8, \"ensemble\": 2,"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3},"
                            " \"importance\": {\"repeats\": 2}");
    nn_table *data = synth(90, 2.0, -1.0, 0.5);
    nn_cv *a = run_ok(s, data, 2), *b = NULL;
    nn_error err = {0};
    nn_spec_errors errs;
    CHECK(a && nn_cv_create(s, data, NULL, &b, &errs, &err) == NN_OK);
    if (!a || !b) {
        nn_cv_destroy(a);
        nn_cv_destroy(b);
        nn_table_destroy(data);
        nn_spec_destroy(s);
        return;
    }
    for (int t = 0; t < 2; t++) {
        json_t *cp = NULL;
        CHECK(nn_cv_task_export(a, t, &cp, &err) == NN_OK);
        char *text = cp ? json_dumps(cp, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(cp);
        json_error_t jerr;
        json_t *back = text ? json_loads(text, 0, &jerr) : NULL;
        free(text);
        CHECK(back && nn_cv_task_import(b, t, back, &err) == NN_OK);
        CHECK(nn_cv_task_import(b, t, back, &err) == NN_ERR_INVALID); /* once only */
        json_decref(back);
    }
    CHECK(nn_cv_run_task(b, 2, &err) == NN_OK);
    CHECK(nn_cv_run_task(b, 3, &err) == NN_OK);
    CHECK(nn_cv_finish(b, &err) == NN_OK);
    const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
    CHECK(memcmp(ra->oof_pred, rb->oof_pred, ra->n_rows * sizeof *ra->oof_pred) == 0);
    CHECK(ra->overall[0].r2 == rb->overall[0].r2 && ra->r2_sd == rb->r2_sd);
    CHECK(ra->folds[0].n_history == rb->folds[0].n_history);
    CHECK(ra->n_importance == rb->n_importance && ra->importance[0].mean == rb->importance[0].mean);
    nn_model *ma = nn_cv_take_model(a), *mb = nn_cv_take_model(b);
    char *ja = ma ? nn_model_to_json(ma) : NULL, *jb = mb ? nn_model_to_json(mb) : NULL;
    CHECK(ja && jb && strcmp(ja, jb) == 0);
    free(ja);
    free(jb);
    nn_model_destroy(ma);
    nn_model_destroy(mb);
    /* a checkpoint from another spec is refused */
    nn_spec *other = synth_spec(12, "\"hidden\": [{\"units\": 6, \"activation\": \"tanh\"}]",
                                "\"epochs\": 15, \"batch_size\": 8, \"ensemble\": 2,"
                                " \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    nn_cv *c = NULL;
    json_t *cp = NULL;
    CHECK(nn_cv_task_export(a, 0, &cp, &err) == NN_OK);
    CHECK(nn_cv_create(other, data, NULL, &c, &errs, &err) == NN_OK);
    CHECK(c && nn_cv_task_import(c, 0, cp, &err) == NN_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "another spec");
    CHECK(c && nn_cv_run_task(c, 0, &err) == NN_OK);
    json_decref(cp);
    nn_cv_destroy(c);
    nn_spec_destroy(other);
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_table_destroy(data);
    nn_spec_destroy(s);
}

int main(void) {
    RUN(test_checkpoint_resume_gives_identical_results);
    kc = read_kc_slice(1500);
    CHECK(kc != NULL);
    if (!kc) return check_summary();
    RUN(test_cv_final_refit_predicts_well);
    RUN(test_cv_final_best_fold_is_that_folds_model);
    RUN(test_cv_final_none_gives_no_model);
    RUN(test_cv_report_events_counted);
    RUN(test_cv_permutation_importance);
    RUN(test_cv_spec_errors_against_data);
    nn_table_destroy(kc);
    return check_summary();
}
