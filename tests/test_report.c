/* test_report.c — a finished job as tables and JSON: the predictions table's columns and values
 * (single and several targets, with and without an id, holdout rows left out), the history
 * table's rows and columns, and metrics.json's numbers against the result they come from. */
#include "check.h"
#include "cv_fixture.h"
#include "nn_csv.h"
#include "nn_cv.h"
#include "nn_report.h"

#include <stdlib.h>

/* n rows: id ("h<i>", text), num_id (1000 + i), x1, x2 from an LCG, y = 2·x1 − x2 + 1,
 * z = x1·x2 + 5. */
static nn_table *make_table(size_t n) {
    nn_table *t = NULL;
    if (nn_table_create(n, &t, NULL) != NN_OK) abort();
    char **ids = malloc(n * sizeof *ids);
    double *nid = malloc(n * sizeof *nid), *x1 = malloc(n * sizeof *x1),
           *x2 = malloc(n * sizeof *x2), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    if (!ids || !nid || !x1 || !x2 || !y || !z) abort();
    uint64_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x1[i] = (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x2[i] = (double)(s >> 11) / 9007199254740992.0;
        y[i] = 2 * x1[i] - x2[i] + 1;
        z[i] = x1[i] * x2[i] + 5;
        nid[i] = 1000.0 + (double)i;
        ids[i] = malloc(24);
        if (!ids[i]) abort();
        (void)snprintf(ids[i], 24, "h%zu", i);
    }
    if (nn_table_add_text_take(t, "id", ids, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "num_id", nid, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "x1", x1, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "x2", x2, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "y", y, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "z", z, NULL, NULL) != NN_OK)
        abort();
    return t;
}

/* Column names of t joined by commas into buf. */
static const char *header(const nn_table *t, char *buf, size_t size) {
    buf[0] = '\0';
    size_t used = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        int w = snprintf(buf + used, size - used, "%s%s", c ? "," : "", t->cols[c].name);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
    }
    return buf;
}

static const double *num(const nn_table *t, const char *name) {
    int c = nn_table_find(t, name);
    return c >= 0 && t->cols[c].type == NN_COL_NUMBER ? t->cols[c].num : NULL;
}

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_report_predictions_kfold_with_text_id(void) {
    nn_table *data = make_table(40);
    nn_spec *s = parse("{\"seed\": 2, \"target\": \"y\", \"id\": \"id\", \"preprocess\":"
                       " [{\"op\": \"drop\", \"columns\": [\"num_id\"]}, {\"op\": \"drop\","
                       " \"columns\": [\"z\"]}, {\"op\": \"normalize\", \"columns\": \"all\"}],"
                       " \"training\": {\"epochs\": 2, \"validation\": {\"type\": \"kfold\","
                       " \"k\": 3}}}");
    nn_cv *cv = run_ok(s, data, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        nn_table *t = NULL;
        nn_error err = {0};
        char buf[256];
        CHECK(nn_report_predictions(s, data, r, &t, &err) == NN_OK);
        if (t) {
            CHECK_STR(header(t, buf, sizeof buf), "row,fold,id,actual,predicted");
            CHECK(t->n_rows == 40);
            const double *row = num(t, "row"), *fold = num(t, "fold"), *act = num(t, "actual"),
                         *pred = num(t, "predicted");
            int c = nn_table_find(t, "id");
            CHECK(c >= 0 && t->cols[c].type == NN_COL_TEXT);
            int ok_row = 1, ok_fold = 1, ok_id = 1, ok_act = 1, ok_pred = 1;
            const double *y = num(data, "y");
            for (size_t i = 0; row && fold && act && pred && c >= 0 && i < 40; i++) {
                char want[16];
                (void)snprintf(want, sizeof want, "h%zu", i);
                ok_row &= row[i] == (double)(i + 1);
                ok_fold &= fold[i] == (double)(r->oof_fold[i] + 1) && fold[i] >= 1 && fold[i] <= 3;
                ok_id &= t->cols[c].text[i] && strcmp(t->cols[c].text[i], want) == 0;
                ok_act &= same_double(act[i], y[i]);
                ok_pred &= same_double(pred[i], r->oof_pred[i]) && isfinite(pred[i]);
            }
            CHECK(ok_row && ok_fold && ok_id && ok_act && ok_pred);
            /* and it survives a CSV round trip */
            nn_table *back = NULL;
            FILE *f = tmpfile();
            CHECK(f != NULL);
            if (f) {
                CHECK(nn_csv_write(f, t, &err) == NN_OK);
                long len = ftell(f);
                rewind(f);
                char *text = len > 0 ? malloc((size_t)len) : NULL;
                if (text && fread(text, 1, (size_t)len, f) == (size_t)len) {
                    CHECK(strncmp(text, "row,fold,id,actual,predicted\n1,", 31) == 0);
                    CHECK(nn_csv_read_mem(text, (size_t)len, NULL, &back, &err) == NN_OK);
                }
                free(text);
                (void)fclose(f);
            }
            if (back) {
                const double *bp = num(back, "predicted");
                CHECK(bp && memcmp(bp, pred, 40 * sizeof *bp) == 0);
                nn_table_destroy(back);
            }
            nn_table_destroy(t);
        }
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(data);
}

static void test_report_predictions_holdout_numeric_id_and_no_id(void) {
    nn_table *data = make_table(30);
    const char *tr = "\"training\": {\"epochs\": 2, \"validation\": {\"type\": \"holdout\","
                     " \"fraction\": 0.3}}";
    char buf[1024];
    (void)snprintf(buf, sizeof buf,
                   "{\"seed\": 4, \"target\": \"y\", \"id\": \"num_id\", \"preprocess\":"
                   " [{\"op\": \"drop\", \"columns\": [\"id\", \"z\"]}], %s}",
                   tr);
    nn_spec *s = parse(buf);
    nn_cv *cv = run_ok(s, data, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        nn_table *t = NULL;
        nn_error err = {0};
        char h[256];
        CHECK(nn_report_predictions(s, data, r, &t, &err) == NN_OK);
        if (t) {
            CHECK_STR(header(t, h, sizeof h), "row,fold,num_id,actual,predicted");
            CHECK(t->n_rows == 9); /* ⌈0.3 · 30⌉ */
            const double *row = num(t, "row"), *fold = num(t, "fold"), *id = num(t, "num_id"),
                         *pred = num(t, "predicted");
            int ok = row && fold && id && pred;
            for (size_t i = 0; ok && i < t->n_rows; i++) {
                size_t k = (size_t)row[i] - 1;
                ok &= k < 30 && r->oof_fold[k] == 0 && fold[i] == 1 && id[i] == 1000.0 + (double)k;
                ok &= same_double(pred[i], r->oof_pred[k]);
                if (i > 0) ok &= row[i] > row[i - 1]; /* in data order */
            }
            CHECK(ok);
            nn_table_destroy(t);
        }
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    /* no id in the spec: no id column */
    (void)snprintf(buf, sizeof buf,
                   "{\"seed\": 4, \"target\": \"y\", \"preprocess\":"
                   " [{\"op\": \"drop\", \"columns\": [\"id\", \"num_id\", \"z\"]}], %s}",
                   tr);
    s = parse(buf);
    cv = run_ok(s, data, 2);
    if (cv) {
        nn_table *t = NULL;
        nn_error err = {0};
        char h[256];
        CHECK(nn_report_predictions(s, data, nn_cv_result_get(cv), &t, &err) == NN_OK);
        if (t) CHECK_STR(header(t, h, sizeof h), "row,fold,actual,predicted");
        nn_table_destroy(t);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(data);
}

static void test_report_predictions_several_targets(void) {
    nn_table *data = make_table(36);
    nn_spec *s = parse("{\"seed\": 5, \"target\": [\"y\", \"z\"], \"id\": \"id\","
                       " \"preprocess\": [{\"op\": \"drop\", \"columns\": [\"num_id\"]},"
                       " {\"op\": \"log\", \"column\": \"z\"},"
                       " {\"op\": \"normalize\", \"columns\": \"all\", \"method\": \"zscore\"}],"
                       " \"network\": {\"hidden\": [{\"units\": 4}]},"
                       " \"training\": {\"epochs\": 3, \"validation\": {\"type\": \"kfold\","
                       " \"k\": 4}}}");
    nn_cv *cv = run_ok(s, data, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->n_targets == 2);
        nn_table *t = NULL;
        nn_error err = {0};
        char h[256];
        CHECK(nn_report_predictions(s, data, r, &t, &err) == NN_OK);
        if (t) {
            CHECK_STR(header(t, h, sizeof h),
                      "row,fold,id,actual_y,predicted_y,actual_z,predicted_z");
            CHECK(t->n_rows == 36);
            const double *ay = num(t, "actual_y"), *py = num(t, "predicted_y"),
                         *az = num(t, "actual_z"), *pz = num(t, "predicted_z");
            const double *y = num(data, "y"), *z = num(data, "z");
            int ok = ay && py && az && pz;
            for (size_t i = 0; ok && i < 36; i++) {
                ok &= same_double(ay[i], y[i]) && same_double(az[i], z[i]);
                ok &= same_double(py[i], r->oof_pred[i * 2]) &&
                      same_double(pz[i], r->oof_pred[i * 2 + 1]);
                ok &= same_double(r->actual[i * 2 + 1], z[i]);
                /* z reverted through log and zscore: back near its units (4.9 .. 6.1) */
                ok &= pz[i] > 3 && pz[i] < 8;
            }
            CHECK(ok);
            nn_table_destroy(t);
        }
        /* metrics JSON: top level is the first target; "targets" has both */
        json_t *m = nn_report_metrics(s, r);
        CHECK(m != NULL);
        if (m) {
            json_t *tg = json_object_get(m, "targets");
            CHECK(json_object_size(tg) == 2);
            json_t *zu = json_object_get(json_object_get(json_object_get(tg, "z"), "units"), "r2");
            CHECK(zu && json_real_value(zu) == r->overall[1].r2);
            CHECK(json_real_value(json_object_get(m, "r2")) == r->overall[0].r2);
            json_decref(m);
        }
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(data);
}

static void test_report_history_rows_and_columns(void) {
    nn_table *data = make_table(60);
    nn_spec *s = parse("{\"seed\": 6, \"target\": \"y\", \"preprocess\":"
                       " [{\"op\": \"drop\", \"columns\": [\"id\", \"num_id\", \"z\"]},"
                       " {\"op\": \"normalize\", \"columns\": \"all\"}],"
                       " \"network\": {\"hidden\": [{\"units\": 4}]},"
                       " \"training\": {\"epochs\": 40, \"batch_size\": 8,"
                       " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.05},"
                       " \"validation\": {\"type\": \"kfold\", \"k\": 3},"
                       " \"early_stopping\": {\"patience\": 2}}}");
    nn_cv *cv = run_ok(s, data, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        size_t want = (size_t)r->final.epochs_run;
        for (int f = 0; f < 3; f++) want += (size_t)r->folds[f].epochs_run;
        nn_table *t = NULL;
        nn_error err = {0};
        char h[256];
        CHECK(nn_report_history(r, &t, &err) == NN_OK);
        if (t) {
            CHECK_STR(header(t, h, sizeof h),
                      "fold,member,epoch,train_loss,val_loss,val_r2,lr,seconds");
            CHECK(t->n_rows == want);
            const double *fold = num(t, "fold"), *ep = num(t, "epoch"), *tl = num(t, "train_loss"),
                         *vl = num(t, "val_loss"), *vr = num(t, "val_r2"), *lr = num(t, "lr"),
                         *sec = num(t, "seconds");
            /* the final refit first (fold 0), then folds 1..3, each epoch 1..epochs_run */
            size_t i = 0;
            int ok = fold && ep && tl && vl && vr && lr && sec;
            for (int f = -1; ok && f < 3; f++) {
                const nn_fold_result *fr = f < 0 ? &r->final : &r->folds[f];
                for (int e = 0; ok && e < fr->epochs_run; e++, i++) {
                    const nn_history_row *hr = &fr->history[e];
                    ok &= fold[i] == f + 1 && ep[i] == e + 1;
                    ok &= same_double(tl[i], hr->train_loss) && same_double(lr[i], hr->lr);
                    ok &= same_double(sec[i], hr->seconds) && sec[i] >= 0;
                    if (f < 0)
                        ok &= isnan(vl[i]) && isnan(vr[i]);
                    else
                        ok &= same_double(vl[i], hr->val_loss) && same_double(vr[i], hr->val_r2);
                }
            }
            CHECK(ok);
            CHECK(i == want);
            nn_table_destroy(t);
        }
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(data);
}

static double jnum(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_report_metrics_json_matches_result(void) {
    nn_table *data = make_table(50);
    nn_spec *s = parse("{\"name\": \"rep\", \"seed\": 7, \"target\": \"y\", \"id\": \"id\","
                       " \"preprocess\": [{\"op\": \"drop\", \"columns\": [\"num_id\", \"z\"]},"
                       " {\"op\": \"normalize\", \"columns\": \"all\"}],"
                       " \"training\": {\"epochs\": 3, \"validation\": {\"type\": \"kfold\","
                       " \"k\": 5}, \"importance\": {\"repeats\": 2}}}");
    nn_cv *cv = run_ok(s, data, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        json_t *m = nn_report_metrics(s, r);
        CHECK(m != NULL);
        if (m) {
            const nn_metrics *o = &r->overall[0];
            CHECK(jnum(m, "r2") == o->r2);
            CHECK(jnum(m, "rmse") == o->rmse);
            CHECK(jnum(m, "mae") == o->mae);
            CHECK(jnum(m, "mape") == o->mape);
            CHECK(jnum(m, "mse") == o->mse);
            CHECK(jnum(m, "r2_model") == r->overall_model[0].r2);
            CHECK(jnum(m, "r2_mean") == r->r2_mean && jnum(m, "r2_sd") == r->r2_sd);
            CHECK(jnum(m, "rmse_mean") == r->rmse_mean && jnum(m, "mae_sd") == r->mae_sd);
            CHECK(jnum(m, "rows") == 50 && jnum(m, "n_folds") == 5);
            CHECK_STR(json_string_value(json_object_get(m, "name")), "rep");
            CHECK_STR(json_string_value(json_object_get(m, "spec_hash")), s->hash);
            json_t *folds = json_object_get(m, "folds");
            CHECK(json_array_size(folds) == 5);
            for (size_t f = 0; f < json_array_size(folds) && f < 5; f++) {
                const json_t *fj = json_array_get(folds, f);
                const nn_fold_result *fr = &r->folds[f];
                CHECK(jnum(fj, "fold") == (double)f + 1);
                CHECK(jnum(fj, "n_val") == 10 && jnum(fj, "n_train") == 40);
                CHECK(jnum(fj, "epochs_run") == fr->epochs_run);
                CHECK(jnum(fj, "best_epoch") == fr->best_epoch);
                CHECK(jnum(fj, "r2") == fr->units[0].r2);
                CHECK(jnum(fj, "rmse") == fr->units[0].rmse);
                const json_t *mu = json_object_get(json_object_get(fj, "model"), "y");
                CHECK(jnum(mu, "r2") == fr->model[0].r2);
                CHECK(jnum(mu, "n") == 10);
            }
            json_t *ff = json_object_get(m, "final_fit");
            CHECK(ff != NULL);
            CHECK(jnum(ff, "n_train") == 50 && jnum(ff, "epochs_run") == 3);
            json_t *imp = json_object_get(m, "importance");
            CHECK(json_array_size(imp) == 2 && r->n_importance == 2);
            for (size_t i = 0; i < json_array_size(imp) && i < r->n_importance; i++) {
                CHECK_STR(json_string_value(json_object_get(json_array_get(imp, i), "feature")),
                          r->importance[i].feature);
                CHECK(jnum(json_array_get(imp, i), "mean") == r->importance[i].mean);
            }
            CHECK(jnum(m, "train_seconds") >= 0);
            json_decref(m);
        }
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    /* validation none: no out-of-fold numbers, no folds */
    s = parse("{\"seed\": 7, \"target\": \"y\", \"preprocess\": [{\"op\": \"drop\", \"columns\":"
              " [\"id\", \"num_id\", \"z\"]}], \"training\": {\"epochs\": 2,"
              " \"validation\": {\"type\": \"none\"}}}");
    cv = run_ok(s, data, 2);
    if (cv) {
        json_t *m = nn_report_metrics(s, nn_cv_result_get(cv));
        CHECK(m && !json_object_get(m, "r2") && !json_object_get(m, "rmse"));
        CHECK(m && json_array_size(json_object_get(m, "folds")) == 0);
        CHECK(m && json_object_get(m, "final_fit") && !json_object_get(m, "importance"));
        json_decref(m);
        /* and the predictions table is empty but well-formed */
        nn_table *t = NULL;
        nn_error err = {0};
        CHECK(nn_report_predictions(s, data, nn_cv_result_get(cv), &t, &err) == NN_OK);
        if (t) CHECK(t->n_rows == 0 && t->n_cols == 4);
        nn_table_destroy(t);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(data);
}

static void test_report_metric_nan_is_null(void) {
    nn_metrics m = {4.0, 2.0, 1.5, NAN, NAN, 3};
    json_t *j = nn_report_metric(&m);
    CHECK(j != NULL);
    if (!j) return;
    CHECK(json_is_null(json_object_get(j, "r2")));
    CHECK(json_is_null(json_object_get(j, "mape")));
    CHECK(jnum(j, "mse") == 4.0 && jnum(j, "rmse") == 2.0 && jnum(j, "mae") == 1.5);
    CHECK(json_is_integer(json_object_get(j, "n")) && jnum(j, "n") == 3);
    CHECK(json_object_size(j) == 6);
    json_decref(j);
}

int main(void) {
    RUN(test_report_predictions_kfold_with_text_id);
    RUN(test_report_predictions_holdout_numeric_id_and_no_id);
    RUN(test_report_predictions_several_targets);
    RUN(test_report_history_rows_and_columns);
    RUN(test_report_metrics_json_matches_result);
    RUN(test_report_metric_nan_is_null);
    return check_summary();
}
