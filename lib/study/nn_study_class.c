/* nn_study_class.c — a classification study's ensemble and scores: greedy forward selection
 * (Caruana et al., 2004) over the top trials' out-of-fold class probabilities, scored by the
 * study's objective on the averaged probabilities, and the metrics of probabilities against
 * classes (the holdout's). The contract is nn_study.h. */
#include "nn_study_internal.h"

#include <math.h>
#include <stdlib.h>

/* Whether a is better than b (maximize: higher); a NaN is never better, and loses to a number. */
static int better(double a, double b, int maximize) {
    if (isnan(a)) return 0;
    if (isnan(b)) return 1;
    return maximize ? a > b : a < b;
}

/* The objective o of probabilities avg (n × k) against y (both of the rows used). */
static nn_status score(const int *y, const double *avg, int *pred, size_t n, int k, int positive,
                       nn_objective o, double *value, nn_error *err) {
    for (size_t i = 0; i < n; i++)
        pred[i] = nn_class_predict(avg + i * (size_t)k, k, positive, 0.5);
    nn_class_metrics m;
    nn_status st = nn_class_metrics_compute(y, avg, pred, n, k, positive, &m, err);
    if (st != NN_OK) return st;
    *value = nn_objective_class_value(o, &m);
    nn_class_metrics_free(&m);
    return NN_OK;
}

nn_status nn_caruana_select_class(const double *const *prob, size_t m, const int *actual, size_t n,
                                  int k, int positive, nn_objective o, int maximize, int rounds,
                                  int *counts, double *value, nn_error *err) {
    if (m == 0 || rounds < 1 || k < 2)
        return nn_error_set(err, NN_ERR_INVALID, "no models to select from");
    if (nn_objective_task(o) != NN_TASK_CLASSIFICATION)
        return nn_error_set(err, NN_ERR_INVALID, "%s is not a classification objective",
                            nn_objective_name(o));
    size_t kk = (size_t)k;
    size_t *rows = malloc((n + 1) * sizeof *rows);
    int *y = malloc((n + 1) * sizeof *y), *pred = malloc((n + 1) * sizeof *pred);
    double *sum = calloc(n * kk + 1, sizeof *sum), *avg = malloc((n * kk + 1) * sizeof *avg);
    nn_status st = rows && y && pred && sum && avg ? NN_OK : nn_nomem(err, "ensemble");
    size_t used = 0;
    for (size_t i = 0; st == NN_OK && i < n; i++) {
        int ok = actual[i] >= 0 && actual[i] < k;
        for (size_t j = 0; j < m && ok; j++)
            for (size_t c = 0; c < kk && ok; c++) ok = isfinite(prob[j][i * kk + c]);
        if (ok) {
            y[used] = actual[i];
            rows[used++] = i;
        }
    }
    for (size_t j = 0; j < m; j++) counts[j] = 0;
    if (st == NN_OK && used == 0)
        st =
            nn_error_set(err, NN_ERR_INVALID, "no row has a class and every model's probabilities");
    double best = NAN;
    for (int r = 0; st == NN_OK && r < rounds; r++) {
        size_t pick = 0;
        best = NAN;
        for (size_t j = 0; st == NN_OK && j < m; j++) {
            for (size_t u = 0; u < used; u++)
                for (size_t c = 0; c < kk; c++)
                    avg[u * kk + c] = (sum[u * kk + c] + prob[j][rows[u] * kk + c]) / (r + 1);
            double v = NAN;
            st = score(y, avg, pred, used, k, positive, o, &v, err);
            if (st == NN_OK && (j == 0 || better(v, best, maximize))) {
                best = v;
                pick = j;
            }
        }
        counts[pick]++;
        for (size_t u = 0; u < used; u++)
            for (size_t c = 0; c < kk; c++) sum[u * kk + c] += prob[pick][rows[u] * kk + c];
    }
    *value = best;
    free(rows);
    free(y);
    free(pred);
    free(sum);
    free(avg);
    return st;
}

void nn_caruana_average(const double *const *pred, size_t m, const int *counts, size_t width,
                        size_t n, double *out) {
    long total = 0;
    for (size_t j = 0; j < m; j++) total += counts[j];
    for (size_t x = 0; x < n * width; x++) {
        double s = 0;
        for (size_t j = 0; j < m; j++)
            if (counts[j]) s += counts[j] * pred[j][x];
        out[x] = total ? s / (double)total : NAN;
    }
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *nn_study_class_score(const int *y, const double *prob, size_t n, int k, int positive) {
    size_t kk = k > 0 ? (size_t)k : 1, used = 0;
    int *yy = malloc((n + 1) * sizeof *yy), *pred = malloc((n + 1) * sizeof *pred);
    double *p = malloc((n * kk + 1) * sizeof *p);
    json_t *out = NULL;
    nn_class_metrics m;
    nn_error err = {0};
    if (yy && pred && p && k >= 2) {
        for (size_t i = 0; i < n; i++) {
            int ok = y[i] >= 0 && y[i] < k;
            for (size_t c = 0; c < kk && ok; c++) ok = isfinite(prob[i * kk + c]);
            if (!ok) continue;
            for (size_t c = 0; c < kk; c++) p[used * kk + c] = prob[i * kk + c];
            yy[used] = y[i];
            pred[used] = nn_class_predict(p + used * kk, k, positive, 0.5);
            used++;
        }
        if (nn_class_metrics_compute(yy, p, pred, used, k, positive, &m, &err) == NN_OK) {
            out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "accuracy", num(m.accuracy),
                            "balanced_accuracy", num(m.balanced_accuracy), "log_loss",
                            num(m.log_loss), "roc_auc", num(m.roc_auc), "f1_macro", num(m.f1_macro),
                            "brier", num(m.brier), "rows", (json_int_t)used);
            nn_class_metrics_free(&m);
        }
    }
    free(yy);
    free(pred);
    free(p);
    return out;
}
