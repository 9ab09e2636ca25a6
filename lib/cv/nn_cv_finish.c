/* nn_cv_finish.c — aggregation after every task: out-of-fold metrics, fold statistics,
 * importance over folds, the best-fold model. */
#include "nn_cv_internal.h"

#include "nn_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The fold with the best validation R² (model space, first target) — the lowest log loss for
 * a classification — becomes the model. */
static nn_status take_best_fold(nn_cv *cv, nn_error *err) {
    int best = 0;
    const nn_fold_result *fr = cv->res.folds;
    for (int f = 1; f < cv->n_folds; f++)
        if (cv->labels ? fr[f].cls.log_loss < fr[best].cls.log_loss
                       : fr[f].model[0].r2 > fr[best].model[0].r2)
            best = f;
    nn_spec *copy = NULL;
    nn_status st = nn_spec_clone(cv->spec, &copy, err);
    if (st != NN_OK) return st;
    st = nn_model_create_ensemble_take(copy, cv->keep[best].pipe, cv->keep[best].nets,
                                       cv->spec->ensemble, &cv->model, err);
    cv->keep[best].pipe = NULL;
    cv->keep[best].nets = NULL;
    if (st == NN_OK && cv->labels) st = nn_model_set_labels(cv->model, cv->labels, err);
    return st;
}

/* A classification's rows without a label: the mean class probabilities of the final model (or
 * of the fold models) and the class they predict. */
static nn_status predict_skipped_classes(nn_cv *cv, const nn_row_set *set, int n_models,
                                         nn_error *err) {
    nn_cv_result *r = &cv->res;
    size_t n = set->n, k = cv->labels->n;
    double *p = malloc((n ? n : 1) * k * sizeof *p), *sum = calloc((n ? n : 1) * k, sizeof *sum);
    size_t *count = calloc(n ? n : 1, sizeof *count);
    nn_status st = p && sum && count ? NN_OK : nn_nomem(err, "out of memory");
    for (int f = 0; st == NN_OK && f < n_models; f++) {
        if (cv->model)
            st = nn__predict_probs(nn_model_pipe(cv->model), nn__model_nets(cv->model),
                                   nn_model_n_nets(cv->model), cv->labels, set, 1, p, err);
        else if (cv->keep[f].pipe)
            st = nn__predict_probs(cv->keep[f].pipe, cv->keep[f].nets, cv->spec->ensemble,
                                   cv->labels, set, 1, p, err);
        else
            continue;
        for (size_t i = 0; st == NN_OK && i < n; i++) {
            if (!isfinite(p[i * k])) continue;
            for (size_t c = 0; c < k; c++) sum[i * k + c] += p[i * k + c];
            count[i]++;
        }
    }
    for (size_t i = 0; st == NN_OK && i < n; i++) {
        size_t row = set->idx[i];
        if (!count[i]) continue;
        for (size_t c = 0; c < k; c++) r->oof_prob[row * k + c] = sum[i * k + c] / (double)count[i];
        r->oof_pred[row] =
            (double)nn_class_predict(r->oof_prob + row * k, (int)k, cv->labels->positive, 0.5);
    }
    free(p);
    free(sum);
    free(count);
    return st;
}

/* Rows without a target: the final model's predictions, or the mean (in units) of the fold
 * models' when there is no final model. */
static nn_status predict_skipped(nn_cv *cv, nn_error *err) {
    nn_cv_result *r = &cv->res;
    size_t n = 0, nt = r->n_targets, cells = r->n_skipped * nt;
    int n_models = cv->model ? 1 : cv->n_folds;
    if (!r->n_skipped || n_models == 0) return NN_OK;
    size_t *rows = malloc(r->n_skipped * sizeof *rows), *count = calloc(cells, sizeof *count);
    double *p = malloc(cells * sizeof *p), *sum = calloc(cells, sizeof *sum);
    nn_status st = rows && p && sum && count ? NN_OK : nn_nomem(err, "out of memory");
    for (size_t i = 0; st == NN_OK && i < r->n_rows; i++)
        if (r->skipped[i]) rows[n++] = i;
    nn_row_set set = {cv->data, rows, n};
    if (st == NN_OK && cv->labels) {
        st = predict_skipped_classes(cv, &set, n_models, err);
        free(rows);
        free(p);
        free(sum);
        free(count);
        return st;
    }
    for (int f = 0; st == NN_OK && f < n_models; f++) {
        if (cv->model)
            st = nn__predict_rows(nn_model_pipe(cv->model), nn__model_nets(cv->model),
                                  nn_model_n_nets(cv->model), &set, 1, p, err);
        else if (cv->keep[f].pipe)
            st = nn__predict_rows(cv->keep[f].pipe, cv->keep[f].nets, cv->spec->ensemble, &set, 1,
                                  p, err);
        else
            continue;
        for (size_t i = 0; st == NN_OK && i < cells; i++)
            if (isfinite(p[i])) sum[i] += p[i], count[i]++;
    }
    for (size_t i = 0; st == NN_OK && i < n; i++)
        for (size_t k = 0; k < nt; k++)
            r->oof_pred[rows[i] * nt + k] =
                count[i * nt + k] ? sum[i * nt + k] / (double)count[i * nt + k] : NAN;
    free(rows);
    free(p);
    free(sum);
    free(count);
    return st;
}

nn_status nn_cv_finish(nn_cv *cv, nn_error *err) {
    nn_cv_result *r = &cv->res;
    size_t n = r->n_rows, nt = r->n_targets;
    nn_status st = NN_OK;
    if (cv->n_folds > 0 && cv->labels) {
        st = nn__cv_class_finish(cv, err);
        if (st == NN_OK) st = nn__cv_aggregate_importance(cv, err);
    } else if (cv->n_folds > 0) {
        double *y = malloc(n * 2 * sizeof *y);
        if (!y) return nn_nomem(err, "out of memory for metrics");
        double *p = y + n;
        for (size_t k = 0; k < nt; k++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                if (r->oof_fold[i] < 0) continue;
                y[m] = r->actual[i * nt + k];
                p[m++] = r->oof_pred[i * nt + k];
            }
            r->overall[k] = nn_metrics_compute(y, p, m, 1);
        }
        double *v = y;
        int nf = cv->n_folds;
        for (int f = 0; f < nf; f++) v[f] = r->folds[f].units[0].r2;
        nn_mean_sd(v, (size_t)nf, &r->r2_mean, &r->r2_sd);
        for (int f = 0; f < nf; f++) v[f] = r->folds[f].units[0].rmse;
        nn_mean_sd(v, (size_t)nf, &r->rmse_mean, &r->rmse_sd);
        for (int f = 0; f < nf; f++) v[f] = r->folds[f].units[0].mae;
        nn_mean_sd(v, (size_t)nf, &r->mae_mean, &r->mae_sd);
        /* model-space out-of-fold metrics: the mean over folds of each fold's (folds are
           transformed with different fitted states, so rows are not comparable across them) */
        for (size_t k = 0; k < nt; k++) {
            nn_metrics a = {0, 0, 0, 0, 0, 0};
            for (int f = 0; f < nf; f++) {
                const nn_metrics *b = &r->folds[f].model[k];
                a.mse += b->mse / nf, a.rmse += b->rmse / nf, a.mae += b->mae / nf;
                a.mape += b->mape / nf, a.r2 += b->r2 / nf, a.n += b->n;
            }
            r->overall_model[k] = a;
        }
        free(y);
        st = nn__cv_aggregate_importance(cv, err);
    }
    r->has_final_fit = cv->has_final && cv->model != NULL;
    if (st == NN_OK && cv->spec->final == NN_FINAL_BEST_FOLD && cv->n_folds > 0)
        st = take_best_fold(cv, err);
    if (st == NN_OK) st = predict_skipped(cv, err);
    return st;
}
