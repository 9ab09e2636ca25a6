/* test_cv_skipped.c — rows without a target, and the plan agreeing with the job: a row whose
 * target is missing is left out of the folds, training and scoring (the other rows get exactly
 * the results of a job on the table without it), counted, and predicted by the final model; and
 * for a table of spec/data pairs, nn_pipe_plan refuses exactly those the job cannot run, at the
 * pointer that says why. */
#include "check.h"
#include "cv_fixture.h"
#include "nn_report.h"

static nn_table *csv_table(const char *text) {
    nn_table *t = NULL;
    nn_error err = {0};
    if (nn_csv_read_mem(text, strlen(text), NULL, &t, &err) != NN_OK) {
        fprintf(stderr, "csv: %s\n", err.msg);
        abort();
    }
    return t;
}

/* t without row `drop` (0-based). */
static nn_table *without_row(const nn_table *t, size_t drop) {
    size_t *rows = malloc(t->n_rows * sizeof *rows), n = 0;
    for (size_t i = 0; rows && i < t->n_rows; i++)
        if (i != drop) rows[n++] = i;
    nn_table *out = NULL;
    nn_error err = {0};
    if (!rows || nn_table_select_rows(t, rows, n, &out, &err) != NN_OK) abort();
    free(rows);
    return out;
}

static void test_cv_rows_without_target_are_left_out_and_predicted(void) {
    nn_table *full = synth(40, 2, -1, 0.5);
    full->cols[nn_table_find(full, "y")].num[6] = NAN; /* row 7, 1-based */
    nn_table *less = without_row(full, 6);
    nn_spec *s = synth_spec(3, "\"hidden\": [{\"units\": 4}]",
                            "\"epochs\": 5, \"batch_size\": 8, \"validation\": {\"type\": "
                            "\"kfold\", \"k\": 4}");
    nn_cv *a = run_ok(s, full, 2), *b = run_ok(s, less, 2);
    if (a && b) {
        const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
        CHECK(ra->n_skipped == 1 && ra->skipped[6] == 1 && ra->oof_fold[6] == -1);
        CHECK(rb->n_skipped == 0);
        /* the other 39 rows: same folds, bit-identical predictions and metrics */
        int same = 1;
        for (size_t i = 0, j = 0; i < 40; i++) {
            if (i == 6) continue;
            same &= ra->oof_fold[i] == rb->oof_fold[j];
            same &= memcmp(&ra->oof_pred[i], &rb->oof_pred[j], sizeof(double)) == 0;
            j++;
        }
        CHECK(same);
        CHECK(memcmp(&ra->overall[0], &rb->overall[0], sizeof ra->overall[0]) == 0);
        CHECK(ra->overall[0].n == 39);
        for (int f = 0; f < 4; f++) CHECK(ra->folds[f].n_train + ra->folds[f].n_val == 39);
        CHECK(ra->final.n_train == 39);
        /* row 7 is predicted by the final model, which predicts it the same way alone */
        nn_model *m = nn_cv_take_model(a);
        size_t seven = 6;
        nn_table *row7 = NULL;
        nn_error err = {0};
        double *p = NULL;
        CHECK(nn_table_select_rows(full, &seven, 1, &row7, &err) == NN_OK);
        CHECK(m && row7 && nn_model_predict(m, row7, &p, &err) == NN_OK);
        CHECK(p && isfinite(ra->oof_pred[6]) && p[0] == ra->oof_pred[6]);
        /* metrics count it; the predictions table has it without fold and actual */
        json_t *metrics = nn_report_metrics(s, ra);
        CHECK(json_integer_value(json_object_get(metrics, "rows_skipped")) == 1);
        CHECK(json_integer_value(json_object_get(metrics, "rows")) == 40);
        json_decref(metrics);
        nn_table *pt = NULL;
        CHECK(nn_report_predictions(s, full, ra, &pt, &err) == NN_OK);
        if (pt) {
            CHECK(pt->n_rows == 40);
            CHECK(pt->cols[nn_table_find(pt, "row")].num[6] == 7);
            CHECK(isnan(pt->cols[nn_table_find(pt, "fold")].num[6]));
            CHECK(isnan(pt->cols[nn_table_find(pt, "actual")].num[6]));
            CHECK(pt->cols[nn_table_find(pt, "predicted")].num[6] == p[0]);
        }
        nn_table_destroy(pt);
        free(p);
        nn_table_destroy(row7);
        nn_model_destroy(m);
    }
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_spec_destroy(s);
    nn_table_destroy(less);
    nn_table_destroy(full);
}

static void test_cv_skipped_row_without_inputs_gets_no_prediction(void) {
    /* row 3 lacks both its target and an input; no impute step: the job still runs */
    nn_table *t = csv_table("x1,x2,y\n0.1,0.2,1\n0.3,0.1,2\n,0.5,\n0.7,0.2,3\n0.2,0.9,4\n"
                            "0.5,0.5,5\n0.9,0.1,6\n0.4,0.4,7\n");
    nn_spec *s =
        synth_spec(1, "", "\"epochs\": 2, \"validation\": {\"type\": \"kfold\", \"k\": 2}");
    nn_plan *plan = NULL;
    nn_spec_errors errs = {0};
    CHECK(nn_pipe_plan(s, t, &plan, &errs) == NN_OK);
    CHECK(plan && plan->n_rows == 7 && plan->n_skipped == 1);
    CHECK(plan && plan->cells == 7 * 2 && plan->bytes == 7 * 3 * sizeof(nn_float));
    nn_plan_destroy(plan);
    nn_cv *cv = run_ok(s, t, 1);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->n_skipped == 1 && isnan(r->oof_pred[2]));
        nn_table *pt = NULL;
        nn_error err = {0};
        CHECK(nn_report_predictions(s, t, r, &pt, &err) == NN_OK);
        CHECK(pt && pt->n_rows == 7); /* row 3 has no prediction to report */
        nn_table_destroy(pt);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

static void test_cv_final_none_predicts_skipped_rows_with_the_folds(void) {
    nn_table *t = synth(30, 1, 1, 0);
    t->cols[nn_table_find(t, "y")].num[0] = NAN;
    nn_spec *s = synth_spec(2, "",
                            "\"epochs\": 3, \"validation\": {\"type\": \"kfold\", \"k\": 3}, "
                            "\"final\": \"none\"");
    nn_cv *cv = run_ok(s, t, 1);
    if (cv) {
        CHECK(nn_cv_take_model(cv) == NULL);
        CHECK(isfinite(nn_cv_result_get(cv)->oof_pred[0]));
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* ---- the plan and the job agree ---- */

typedef struct pair {
    const char *what;
    const char *spec; /* the "preprocess" list and "training" body, or a whole spec */
    const char *csv;
    const char *pointer; /* the plan's first problem, or NULL when both must succeed */
} pair;

static const char rows8[] = "x,z,y\n1,1,1\n2,2,2\n3,3,3\n4,4,4\n5,5,5\n6,6,6\n7,7,7\n1000,0,8\n";

static const pair pairs[] = {
    {"fewer rows with a target than folds",
     "[], \"training\": {\"epochs\": 1, \"validation\": "
     "{\"type\": \"kfold\", \"k\": 4}}",
     "x,y\n1,1\n2,\n3,\n4,4\n5,5\n", "/training/validation/k"},
    {"holdout leaving no training rows",
     "[], \"training\": {\"epochs\": 1, \"validation\": "
     "{\"type\": \"holdout\", \"fraction\": 0.6}}",
     "x,y\n1,1\n2,\n3,3\n", "/training/validation/fraction"},
    {"every target missing",
     "[], \"training\": {\"epochs\": 1, \"validation\": {\"type\": "
     "\"none\"}}",
     "x,y\n1,\n2,\n", "/target"},
    {"a missing input in a row with a target",
     "[], \"training\": {\"epochs\": 1, "
     "\"validation\": {\"type\": \"kfold\", \"k\": 2}}",
     "x,y\n1,1\n,2\n3,3\n4,4\n", "/preprocess"},
    {"a missing input only where the target is missing",
     "[], \"training\": {\"epochs\": 1, \"validation\": {\"type\": \"kfold\", \"k\": 2}}",
     "x,y\n1,1\n,\n3,3\n4,4\n5,5\n", NULL},
    {"a log of zero only where the target is missing",
     "[{\"op\": \"log10\", \"columns\": [\"x\"]}], \"training\": {\"epochs\": 1, "
     "\"validation\": {\"type\": \"kfold\", \"k\": 2}}",
     "x,y\n1,1\n0,\n3,3\n4,4\n5,5\n", NULL},
    /* the outlier row leaves the fitting rows, but is a validation row of some fold, where the
       log of its z = 0 fails: the plan checks every row with a target */
    {"a log of zero in a row filtered as an outlier",
     "[{\"op\": \"filter_outliers\", \"columns\": [\"x\"]}, {\"op\": \"log10\", \"columns\": "
     "[\"z\"]}], \"training\": {\"epochs\": 1, \"validation\": {\"type\": \"kfold\", \"k\": 2}}",
     rows8, "/preprocess/1"},
    {"a good pair",
     "[{\"op\": \"normalize\", \"columns\": \"all\"}], \"training\": {\"epochs\": "
     "1, \"validation\": {\"type\": \"kfold\", \"k\": 2}}",
     rows8, NULL},
};

static void test_plan_and_job_agree_on_every_pair(void) {
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const pair *pr = &pairs[i];
        char json[1024];
        (void)snprintf(json, sizeof json, "{\"target\": \"y\", \"preprocess\": %s}", pr->spec);
        nn_spec *s = parse(json);
        nn_table *t = csv_table(pr->csv);
        nn_spec_errors errs = {0};
        nn_plan *plan = NULL;
        nn_status planned = nn_pipe_plan(s, t, &plan, &errs);
        nn_plan_destroy(plan);
        nn_cv *cv = NULL;
        nn_error err = {0};
        nn_status ran = run(s, t, 1, NULL, &cv, &err);
        if ((planned == NN_OK) != (ran == NN_OK))
            fprintf(stderr, "%s: plan %s (%s), job %s (%s)\n", pr->what, nn_status_str(planned),
                    errs.n ? errs.items[0].message : "", nn_status_str(ran), err.msg);
        CHECK((planned == NN_OK) == (ran == NN_OK));
        CHECK((planned == NN_OK) == (pr->pointer == NULL));
        if (pr->pointer && errs.n) {
            if (strcmp(errs.items[0].pointer, pr->pointer) != 0)
                fprintf(stderr, "%s: %s: %s\n", pr->what, errs.items[0].pointer,
                        errs.items[0].message);
            CHECK_STR(errs.items[0].pointer, pr->pointer);
        }
        nn_cv_destroy(cv);
        nn_table_destroy(t);
        nn_spec_destroy(s);
    }
}

static void test_spec_refuses_what_needs_validation(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    const char *a = "{\"target\": \"y\", \"training\": {\"epochs\": 1, \"validation\": {\"type\": "
                    "\"none\"}, \"final\": \"best_fold\"}}";
    CHECK(nn_spec_parse(a, strlen(a), &s, &errs) == NN_ERR_SPEC);
    CHECK_STR(errs.items[0].pointer, "/training/final");
    const char *b = "{\"target\": \"y\", \"training\": {\"epochs\": 1, \"validation\": {\"type\": "
                    "\"none\"}, \"early_stopping\": {\"patience\": 2}}}";
    CHECK(nn_spec_parse(b, strlen(b), &s, &errs) == NN_ERR_SPEC);
    CHECK_STR(errs.items[0].pointer, "/training/early_stopping/monitor");
}

static void test_plan_refuses_a_network_too_big_for_its_width(void) {
    /* 1 input × 65536 units passes the parser's bound; 800 inputs make 52 million parameters */
    nn_table *t = NULL;
    nn_error err = {0};
    CHECK(nn_table_create(3, &t, &err) == NN_OK);
    for (int c = 0; c <= 800 && t; c++) {
        char name[16];
        (void)snprintf(name, sizeof name, c == 800 ? "y" : "x%d", c);
        double *v = malloc(3 * sizeof *v);
        for (int i = 0; v && i < 3; i++) v[i] = i + c;
        CHECK(nn_table_add_number_take(t, name, v, NULL, &err) == NN_OK);
    }
    nn_spec *s = parse("{\"target\": \"y\", \"network\": {\"hidden\": [{\"units\": 65536}]}, "
                       "\"training\": {\"epochs\": 1, \"validation\": {\"type\": \"none\"}}}");
    nn_spec_errors errs = {0};
    nn_plan *plan = NULL;
    CHECK(nn_pipe_plan(s, t, &plan, &errs) == NN_ERR_SPEC);
    CHECK(errs.n == 1);
    CHECK_STR(errs.items[0].pointer, "/network/hidden");
    CHECK_STR(errs.items[0].message, "with 800 inputs the network has 52559873 parameters, over "
                                     "the limit of 50000000");
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

int main(void) {
    RUN(test_cv_rows_without_target_are_left_out_and_predicted);
    RUN(test_cv_skipped_row_without_inputs_gets_no_prediction);
    RUN(test_cv_final_none_predicts_skipped_rows_with_the_folds);
    RUN(test_plan_and_job_agree_on_every_pair);
    RUN(test_spec_refuses_what_needs_validation);
    RUN(test_plan_refuses_a_network_too_big_for_its_width);
    return check_summary();
}
