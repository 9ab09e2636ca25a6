/* srv_api_compare.c — GET /v1/runs/{id}/compare?with=ID: two succeeded runs on the same folds
 * (same dataset, seed, k-fold validation with the same k) compared fold by fold with the
 * corrected resampled t-test (lib/study nn_compare.h). */
#include "srv_api.h"

#include "nn_compare.h"

#include <math.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Why a and b are not on the same folds, or NULL when they are. */
static const char *not_same_folds(const srv_run *a, const srv_run *b) {
    if (!a->dataset_id[0] || strcmp(a->dataset_id, b->dataset_id) != 0)
        return "they were trained on different datasets";
    const json_t *va = json_object_get(json_object_get(a->spec, "training"), "validation");
    const json_t *vb = json_object_get(json_object_get(b->spec, "training"), "validation");
    const char *ta = json_string_value(json_object_get(va, "type"));
    if (!ta || strcmp(ta, "kfold") != 0 || !json_equal((json_t *)va, (json_t *)vb))
        return "they are not both k-fold with the same k";
    if (!json_equal(json_object_get(a->spec, "seed"), json_object_get(b->spec, "seed")))
        return "their seeds differ, and with them the folds";
    return NULL;
}

void srv_api_run_compare(srv_req *req, srv_resp *resp) {
    const char *with = srv_query(req, "with");
    const char *metric = srv_query(req, "metric");
    if (!metric) metric = "r2";
    if (!with) {
        srv_problem(resp, 400, "with: the id of the run to compare with");
        return;
    }
    if (strcmp(metric, "r2") != 0 && strcmp(metric, "rmse") != 0 && strcmp(metric, "mae") != 0) {
        srv_problem(resp, 400, "metric: r2, rmse or mae");
        return;
    }
    srv_run a, b;
    srv_store *s = srv_api_run(req, resp, &a);
    if (!s) return;
    memset(&b, 0, sizeof b);
    nn_error err = {0};
    if (srv_run_get(s, with, &b, &err) != NN_OK) {
        srv_run_free(&a);
        srv_problem_from(resp, &err);
        return;
    }
    const char *why = NULL;
    if (a.status != SRV_RUN_SUCCEEDED || b.status != SRV_RUN_SUCCEEDED)
        why = "both runs must have succeeded";
    else
        why = not_same_folds(&a, &b);
    const json_t *fa = json_object_get(a.metrics, "folds"),
                 *fb = json_object_get(b.metrics, "folds");
    size_t k = json_array_size(fa);
    if (!why && (k != json_array_size(fb) || k < 2 || k > NN_SPEC_MAX_K))
        why = "the runs do not have the same folds";
    if (why) {
        srv_problem(resp, 409, "runs %s and %s cannot be compared: %s", a.id, b.id, why);
        srv_run_free(&a);
        srv_run_free(&b);
        return;
    }
    double va[NN_SPEC_MAX_K], vb[NN_SPEC_MAX_K], n_test = 0, n_train = 0;
    json_t *folds = json_array();
    for (size_t f = 0; f < k; f++) {
        const json_t *x = json_array_get(fa, f), *y = json_array_get(fb, f);
        va[f] = json_is_number(json_object_get(x, metric))
                    ? json_number_value(json_object_get(x, metric))
                    : NAN;
        vb[f] = json_is_number(json_object_get(y, metric))
                    ? json_number_value(json_object_get(y, metric))
                    : NAN;
        n_test += (double)json_integer_value(json_object_get(x, "n_val")) / (double)k;
        n_train += (double)json_integer_value(json_object_get(x, "n_train")) / (double)k;
        (void)json_array_append_new(folds, json_pack("{s:i, s:o, s:o, s:o}", "fold", (int)f + 1,
                                                     "a", num(va[f]), "b", num(vb[f]), "difference",
                                                     num(va[f] - vb[f])));
    }
    nn_fold_comparison c;
    if (nn_compare_folds(va, vb, (int)k, n_test, n_train, &c, &err) != NN_OK) {
        json_decref(folds);
        srv_problem(resp, 409, "runs %s and %s cannot be compared: %s", a.id, b.id, err.msg);
    } else {
        srv_json(resp, 200,
                 json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:f, s:o, s:f, s:f}", "a",
                           a.id, "b", b.id, "metric", metric, "test",
                           "corrected resampled t-test (Nadeau and Bengio, 2003)", "folds", folds,
                           "mean_difference", num(c.mean), "sd", num(c.sd), "t", num(c.t), "df",
                           c.df, "p", num(c.p), "n_test", n_test, "n_train", n_train));
    }
    srv_run_free(&a);
    srv_run_free(&b);
}
