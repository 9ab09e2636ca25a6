/* nn_report.c — metrics JSON, prediction and history tables of a finished job. */
#include "nn_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *nn_report_metric(const nn_metrics *m) {
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "r2", num(m->r2), "rmse", num(m->rmse),
                     "mae", num(m->mae), "mape", num(m->mape), "mse", num(m->mse), "n",
                     (json_int_t)m->n);
}

static json_t *fold_json(const nn_spec *spec, const nn_cv_result *res, const nn_fold_result *fr) {
    json_t *units = json_object(), *model = json_object();
    for (size_t k = 0; k < spec->n_targets; k++) {
        json_object_set_new(units, spec->targets[k], nn_report_metric(&fr->units[k]));
        json_object_set_new(model, spec->targets[k], nn_report_metric(&fr->model[k]));
    }
    json_t *f = json_pack("{s:i, s:I, s:I, s:i, s:i, s:o, s:o, s:o}", "fold", fr->fold + 1,
                          "n_train", (json_int_t)fr->n_train, "n_val", (json_int_t)fr->n_val,
                          "epochs_run", fr->epochs_run, "best_epoch", fr->best_epoch, "seconds",
                          num(fr->seconds), "units", units, "model", model);
    if (f && fr->n_val && res->labels) {
        json_t *c = nn_report_class_metric(&fr->cls, res->labels);
        if (c) json_object_update(f, c);
        json_decref(c);
        json_object_del(f, "units");
        json_object_del(f, "model");
    } else if (f && fr->n_val && spec->n_targets) {
        json_object_set_new(f, "r2", num(fr->units[0].r2));
        json_object_set_new(f, "rmse", num(fr->units[0].rmse));
        json_object_set_new(f, "mae", num(fr->units[0].mae));
    }
    return f;
}

json_t *nn_report_metrics(const nn_spec *spec, const nn_cv_result *res) {
    json_t *root = json_object();
    if (!root) return NULL;
    json_object_set_new(root, "name", json_string(spec->name));
    json_object_set_new(root, "spec_hash", json_string(spec->hash));
    json_object_set_new(root, "task", json_string(nn_task_name(res->task)));
    json_object_set_new(root, "rows", json_integer((json_int_t)res->n_rows));
    json_object_set_new(root, "rows_skipped", json_integer((json_int_t)res->n_skipped));
    json_object_set_new(root, "n_folds", json_integer(res->n_folds));
    if (res->labels) nn_report_class_metrics(root, spec, res);
    if (res->n_folds > 0 && !res->labels) {
        const nn_metrics *m = &res->overall[0];
        json_object_set_new(root, "r2", num(m->r2));
        json_object_set_new(root, "rmse", num(m->rmse));
        json_object_set_new(root, "mae", num(m->mae));
        json_object_set_new(root, "mape", num(m->mape));
        json_object_set_new(root, "mse", num(m->mse));
        json_object_set_new(root, "r2_model", num(res->overall_model[0].r2));
        json_object_set_new(root, "r2_mean", num(res->r2_mean));
        json_object_set_new(root, "r2_sd", num(res->r2_sd));
        json_object_set_new(root, "rmse_mean", num(res->rmse_mean));
        json_object_set_new(root, "rmse_sd", num(res->rmse_sd));
        json_object_set_new(root, "mae_mean", num(res->mae_mean));
        json_object_set_new(root, "mae_sd", num(res->mae_sd));
    }
    json_t *targets = json_object();
    for (size_t k = 0; k < spec->n_targets && res->n_folds > 0 && !res->labels; k++)
        json_object_set_new(targets, spec->targets[k],
                            json_pack("{s:o, s:o}", "units", nn_report_metric(&res->overall[k]),
                                      "model", nn_report_metric(&res->overall_model[k])));
    json_object_set_new(root, "targets", targets);
    json_t *folds = json_array();
    for (int f = 0; f < res->n_folds; f++)
        json_array_append_new(folds, fold_json(spec, res, &res->folds[f]));
    json_object_set_new(root, "folds", folds);
    if (res->has_final_fit)
        json_object_set_new(root, "final_fit",
                            json_pack("{s:I, s:i, s:o}", "n_train", (json_int_t)res->final.n_train,
                                      "epochs_run", res->final.epochs_run, "seconds",
                                      num(res->final.seconds)));
    if (res->importance) {
        json_t *imp = json_array();
        for (size_t i = 0; i < res->n_importance; i++)
            json_array_append_new(
                imp, json_pack("{s:s, s:o, s:o}", "feature", res->importance[i].feature, "mean",
                               num(res->importance[i].mean), "sd", num(res->importance[i].sd)));
        json_object_set_new(root, "importance", imp);
    }
    json_object_set_new(root, "train_seconds", num(res->train_seconds));
    json_object_set_new(root, "params", json_integer((json_int_t)res->n_params));
    return root;
}

static double *new_col(size_t n) { return malloc((n ? n : 1) * sizeof(double)); }

static nn_status add_pair(nn_table *t, const nn_spec *spec, size_t k, const nn_cv_result *res,
                          const size_t *rows, size_t m, nn_error *err) {
    char a[NN_MAX_NAME + 16], p[NN_MAX_NAME + 16];
    if (spec->n_targets == 1) {
        (void)snprintf(a, sizeof a, "actual");
        (void)snprintf(p, sizeof p, "predicted");
    } else {
        (void)snprintf(a, sizeof a, "actual_%s", spec->targets[k]);
        (void)snprintf(p, sizeof p, "predicted_%s", spec->targets[k]);
    }
    size_t nt = res->n_targets;
    double *va = new_col(m), *vp = new_col(m);
    if (!va || !vp) {
        free(va);
        free(vp);
        return nn_nomem(err, "out of memory for predictions");
    }
    for (size_t i = 0; i < m; i++) {
        va[i] = res->actual[rows[i] * nt + k];
        vp[i] = res->oof_pred[rows[i] * nt + k];
    }
    nn_status st = nn_table_add_number_take(t, a, va, NULL, err);
    if (st == NN_OK)
        st = nn_table_add_number_take(t, p, vp, NULL, err);
    else
        free(vp);
    return st;
}

/* The id column of data at rows[0..m) into t (a copy of that one column). */
static nn_status add_id(nn_table *t, const nn_column *c, const size_t *rows, size_t m,
                        nn_error *err) {
    if (c->type == NN_COL_NUMBER) {
        double *v = new_col(m);
        if (!v) return nn_nomem(err, "out of memory for predictions");
        for (size_t i = 0; i < m; i++) v[i] = c->num[rows[i]];
        return nn_table_add_number_take(t, c->name, v, NULL, err);
    }
    char **v = calloc(m ? m : 1, sizeof *v);
    if (!v) return nn_nomem(err, "out of memory for predictions");
    for (size_t i = 0; i < m; i++) {
        const char *s = c->text[rows[i]];
        if (s && !(v[i] = strdup(s))) {
            for (size_t k = 0; k < i; k++) free(v[k]);
            free(v);
            return nn_nomem(err, "out of memory for predictions");
        }
    }
    return nn_table_add_text_take(t, c->name, v, NULL, err);
}

/* 1 when row i is in the predictions: validated, or skipped with a prediction. */
static int reported(const nn_cv_result *res, size_t i) {
    if (res->oof_fold[i] >= 0) return 1;
    if (!res->skipped || !res->skipped[i]) return 0;
    for (size_t k = 0; k < res->n_targets; k++)
        if (!isnan(res->oof_pred[i * res->n_targets + k])) return 1;
    return 0;
}

nn_status nn_report_predictions(const nn_spec *spec, const nn_table *data, const nn_cv_result *res,
                                nn_table **out, nn_error *err) {
    size_t n = res->n_rows, m = 0;
    size_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) return nn_nomem(err, "out of memory for predictions");
    for (size_t i = 0; i < n; i++)
        if (reported(res, i)) rows[m++] = i;
    nn_table *t = NULL;
    nn_status st = nn_table_create(m, &t, err);
    double *row = st == NN_OK ? new_col(m) : NULL, *fold = st == NN_OK ? new_col(m) : NULL;
    if (st == NN_OK && (!row || !fold)) st = nn_nomem(err, "out of memory");
    for (size_t i = 0; st == NN_OK && i < m; i++) {
        row[i] = (double)(rows[i] + 1);
        fold[i] = res->oof_fold[rows[i]] >= 0 ? (double)(res->oof_fold[rows[i]] + 1) : NAN;
    }
    if (st == NN_OK) st = nn_table_add_number_take(t, "row", row, NULL, err), row = NULL;
    if (st == NN_OK) st = nn_table_add_number_take(t, "fold", fold, NULL, err), fold = NULL;
    int idc = spec->id ? nn_table_find(data, spec->id) : -1;
    if (st == NN_OK && idc >= 0) st = add_id(t, &data->cols[idc], rows, m, err);
    if (st == NN_OK && res->labels) st = nn_report_class_columns(t, res, rows, m, err);
    for (size_t k = 0; st == NN_OK && !res->labels && k < spec->n_targets; k++)
        st = add_pair(t, spec, k, res, rows, m, err);
    free(row);
    free(fold);
    free(rows);
    if (st != NN_OK) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

nn_status nn_report_history(const nn_cv_result *res, nn_table **out, nn_error *err) {
    size_t m = 0;
    for (int f = 0; f < res->n_folds; f++) m += (size_t)res->folds[f].n_history;
    if (res->has_final_fit) m += (size_t)res->final.n_history;
    static const char *const names[] = {"fold",     "member", "epoch", "train_loss",
                                        "val_loss", "val_r2", "lr",    "seconds"};
    static const char *const class_names[] = {"fold",         "member",   "epoch",
                                              "train_loss",   "val_loss", "val_log_loss",
                                              "val_accuracy", "lr",       "seconds"};
    enum { NC = 9 };
    int nc = res->labels ? 9 : 8;
    double *cols[NC] = {0};
    nn_status st = NN_OK;
    for (int c = 0; c < nc; c++)
        if (!(cols[c] = new_col(m))) st = nn_nomem(err, "out of memory");
    size_t i = 0;
    for (int f = -1; st == NN_OK && f < res->n_folds; f++) {
        const nn_fold_result *fr =
            f < 0 ? (res->has_final_fit ? &res->final : NULL) : &res->folds[f];
        for (int e = 0; fr && e < fr->n_history; e++, i++) {
            const nn_history_row *h = &fr->history[e];
            double v[NC] = {f + 1,       h->member + 1, h->epoch, h->train_loss,
                            h->val_loss, h->val_r2,     h->lr,    h->seconds};
            double w[NC] = {f + 1,           h->member + 1,   h->epoch, h->train_loss, h->val_loss,
                            h->val_log_loss, h->val_accuracy, h->lr,    h->seconds};
            for (int c = 0; c < nc; c++) cols[c][i] = res->labels ? w[c] : v[c];
        }
    }
    nn_table *t = NULL;
    if (st == NN_OK) st = nn_table_create(m, &t, err);
    for (int c = 0; c < nc; c++) {
        if (st == NN_OK)
            st = nn_table_add_number_take(t, res->labels ? class_names[c] : names[c], cols[c], NULL,
                                          err);
        else
            free(cols[c]);
    }
    if (st != NN_OK) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}
