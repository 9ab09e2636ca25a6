/* nn_cv_checkpoint.c — a finished fold task to JSON and back (see nn_cv.h). Every double is
 * written as a JSON real (NaN as null) and read back exactly when dumped with 17 digits. A
 * classification's "oof" holds each validation row's class probabilities; its predicted classes
 * and fold metrics are made from them again on import. */
#include "nn_cv_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *real(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static double unreal(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static json_t *metrics_json(const nn_metrics *m, size_t nt) {
    json_t *a = json_array();
    for (size_t k = 0; a && k < nt; k++)
        json_array_append_new(a, json_pack("[o, o, o, o, o, I]", real(m[k].mse), real(m[k].rmse),
                                           real(m[k].mae), real(m[k].mape), real(m[k].r2),
                                           (json_int_t)m[k].n));
    return a;
}

static int metrics_read(const json_t *a, nn_metrics *m, size_t nt) {
    if (json_array_size(a) != nt) return -1;
    for (size_t k = 0; k < nt; k++) {
        const json_t *v = json_array_get(a, k);
        if (json_array_size(v) != 6) return -1;
        m[k].mse = unreal(json_array_get(v, 0));
        m[k].rmse = unreal(json_array_get(v, 1));
        m[k].mae = unreal(json_array_get(v, 2));
        m[k].mape = unreal(json_array_get(v, 3));
        m[k].r2 = unreal(json_array_get(v, 4));
        m[k].n = (size_t)json_integer_value(json_array_get(v, 5));
    }
    return 0;
}

static json_t *history_json(const nn_fold_result *fr) {
    json_t *a = json_array();
    for (int i = 0; a && i < fr->n_history; i++) {
        const nn_history_row *h = &fr->history[i];
        json_array_append_new(a, json_pack("[i, i, o, o, o, o, o, o, o]", h->member, h->epoch,
                                           real(h->train_loss), real(h->val_loss), real(h->val_r2),
                                           real(h->lr), real(h->seconds), real(h->val_log_loss),
                                           real(h->val_accuracy)));
    }
    return a;
}

nn_status nn_cv_task_export(const nn_cv *cv, int task, json_t **out, nn_error *err) {
    if (task < 0 || task >= cv->n_folds || !cv->keep[task].pipe)
        return nn_error_set(err, NN_ERR_INVALID, "task %d has no finished fold to export", task);
    const nn_fold_result *fr = &cv->res.folds[task];
    size_t nt = cv->res.n_targets;
    json_t *oof = json_array(), *params = json_array(), *drops = json_null();
    size_t nk = cv->labels ? cv->labels->n : nt; /* values per row */
    const double *ov = cv->labels ? cv->res.oof_prob : cv->res.oof_pred;
    for (size_t i = 0; oof && i < cv->res.n_rows; i++)
        if (cv->fold_of[i] == task)
            for (size_t k = 0; k < nk; k++) json_array_append_new(oof, real(ov[i * nk + k]));
    for (int m = 0; params && m < cv->spec->ensemble; m++) {
        const nn_net *net = cv->keep[task].nets[m];
        const nn_float *p = nn_net_params_const(net);
        for (size_t i = 0; i < nn_net_param_count(net); i++)
            json_array_append_new(params, json_real((double)p[i]));
    }
    if (cv->keep[task].drops) {
        size_t nd = nn_pipe_n_features(cv->keep[task].pipe) * (size_t)cv->spec->importance_repeats;
        drops = json_array();
        for (size_t i = 0; drops && i < nd; i++)
            json_array_append_new(drops, real(cv->keep[task].drops[i]));
    }
    json_t *o =
        json_pack("{s:i, s:s, s:I, s:I, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "task",
                  task, "spec_hash", cv->spec->hash, "n_train", (json_int_t)fr->n_train, "n_val",
                  (json_int_t)fr->n_val, "epochs_run", fr->epochs_run, "best_epoch", fr->best_epoch,
                  "seconds", real(fr->seconds), "units", metrics_json(fr->units, nt), "model",
                  metrics_json(fr->model, nt), "history", history_json(fr), "oof", oof, "pipeline",
                  nn_pipe_to_json(cv->keep[task].pipe), "params", params, "drops", drops);
    if (!o) return nn_nomem(err, "out of memory for a checkpoint");
    *out = o;
    return NN_OK;
}

static nn_status read_history(const json_t *h, nn_fold_result *fr, nn_error *err) {
    size_t n = json_array_size(h);
    fr->history = calloc(n ? n : 1, sizeof *fr->history);
    if (!fr->history) return nn_nomem(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(h, i);
        size_t nr = json_array_size(r); /* 7 before classification's two */
        if (nr != 7 && nr != 9) return nn_error_set(err, NN_ERR_PARSE, "checkpoint: history");
        nn_history_row *x = &fr->history[i];
        x->fold = fr->fold;
        x->member = (int)json_integer_value(json_array_get(r, 0));
        x->epoch = (int)json_integer_value(json_array_get(r, 1));
        x->train_loss = unreal(json_array_get(r, 2));
        x->val_loss = unreal(json_array_get(r, 3));
        x->val_r2 = unreal(json_array_get(r, 4));
        x->lr = unreal(json_array_get(r, 5));
        x->seconds = unreal(json_array_get(r, 6));
        x->val_log_loss = unreal(json_array_get(r, 7)); /* NaN when absent */
        x->val_accuracy = unreal(json_array_get(r, 8));
    }
    fr->n_history = (int)n;
    return NN_OK;
}

/* The fold's networks from the flat "params" array. */
static nn_status read_nets(nn_cv *cv, int task, const json_t *params, nn_error *err) {
    const nn_spec *s = cv->spec;
    nn__fold_keep *k = &cv->keep[task];
    nn_layer_cfg *layers = calloc((size_t)s->n_hidden + 1, sizeof *layers);
    k->nets = calloc((size_t)s->ensemble, sizeof(nn_net *));
    if (!layers || !k->nets) {
        free(layers);
        return nn_nomem(err, "out of memory");
    }
    nn_net_cfg cfg;
    nn_spec_net_cfg(s, (int)nn_pipe_n_features(k->pipe), cv->n_out, layers, &cfg);
    nn_status st = NN_OK;
    size_t at = 0;
    for (int m = 0; st == NN_OK && m < s->ensemble; m++) {
        st = nn_net_create(&cfg, &k->nets[m], err);
        if (st != NN_OK) break;
        size_t np = nn_net_param_count(k->nets[m]);
        if (json_array_size(params) < at + np) {
            st = nn_error_set(err, NN_ERR_PARSE, "checkpoint: too few parameters");
            break;
        }
        nn_float *p = nn_net_params(k->nets[m]);
        for (size_t i = 0; i < np; i++) p[i] = (nn_float)unreal(json_array_get(params, at++));
    }
    if (st == NN_OK && at != json_array_size(params))
        st = nn_error_set(err, NN_ERR_PARSE, "checkpoint: too many parameters");
    free(layers);
    return st;
}

static nn_status read_task(nn_cv *cv, int task, const json_t *in, nn_error *err) {
    nn_fold_result *fr = &cv->res.folds[task];
    size_t nt = cv->res.n_targets;
    const char *hash = json_string_value(json_object_get(in, "spec_hash"));
    if (!hash || strcmp(hash, cv->spec->hash) != 0 ||
        json_integer_value(json_object_get(in, "task")) != task)
        return nn_error_set(err, NN_ERR_INVALID, "checkpoint of another spec or task");
    fr->n_train = (size_t)json_integer_value(json_object_get(in, "n_train"));
    fr->n_val = (size_t)json_integer_value(json_object_get(in, "n_val"));
    fr->epochs_run = (int)json_integer_value(json_object_get(in, "epochs_run"));
    fr->best_epoch = (int)json_integer_value(json_object_get(in, "best_epoch"));
    fr->seconds = unreal(json_object_get(in, "seconds"));
    if (metrics_read(json_object_get(in, "units"), fr->units, nt) ||
        metrics_read(json_object_get(in, "model"), fr->model, nt))
        return nn_error_set(err, NN_ERR_PARSE, "checkpoint: metrics");
    nn_status st = read_history(json_object_get(in, "history"), fr, err);
    if (st != NN_OK) return st;
    const json_t *oof = json_object_get(in, "oof");
    size_t j = 0, nk = cv->labels ? cv->labels->n : nt;
    double *ov = cv->labels ? cv->res.oof_prob : cv->res.oof_pred;
    for (size_t i = 0; i < cv->res.n_rows; i++) {
        if (cv->fold_of[i] != task) continue;
        for (size_t k = 0; k < nk; k++) ov[i * nk + k] = unreal(json_array_get(oof, j++));
        if (cv->labels)
            cv->res.oof_pred[i] =
                (double)nn_class_predict(ov + i * nk, (int)nk, cv->labels->positive, 0.5);
    }
    if (j != json_array_size(oof)) return nn_error_set(err, NN_ERR_PARSE, "checkpoint: rows");
    if (cv->labels && (st = nn__cv_class_fold_metrics(cv, task, err)) != NN_OK) return st;
    st = nn_pipe_from_json(cv->spec, json_object_get(in, "pipeline"), &cv->keep[task].pipe, err);
    if (st == NN_OK) st = read_nets(cv, task, json_object_get(in, "params"), err);
    const json_t *drops = json_object_get(in, "drops");
    if (st == NN_OK && json_is_array(drops)) {
        size_t nd = json_array_size(drops);
        cv->keep[task].drops = malloc((nd ? nd : 1) * sizeof(double));
        if (!cv->keep[task].drops) return nn_nomem(err, "out of memory");
        for (size_t i = 0; i < nd; i++) cv->keep[task].drops[i] = unreal(json_array_get(drops, i));
    }
    return st;
}

nn_status nn_cv_task_import(nn_cv *cv, int task, const json_t *in, nn_error *err) {
    if (task < 0 || task >= cv->n_folds || cv->keep[task].pipe)
        return nn_error_set(err, NN_ERR_INVALID, "task %d cannot be restored", task);
    nn_status st = read_task(cv, task, in, err);
    if (st != NN_OK) { /* leave the task as if never run */
        nn_fold_result *fr = &cv->res.folds[task];
        free(fr->history);
        fr->history = NULL;
        fr->n_history = 0;
        nn_pipe_destroy(cv->keep[task].pipe);
        cv->keep[task].pipe = NULL;
        for (int m = 0; cv->keep[task].nets && m < cv->spec->ensemble; m++)
            nn_net_destroy(cv->keep[task].nets[m]);
        free(cv->keep[task].nets);
        cv->keep[task].nets = NULL;
        free(cv->keep[task].drops);
        cv->keep[task].drops = NULL;
        nn__cv_reset_task(cv, task);
        return nn_error_prefix(err, "fold %d: ", task + 1);
    }
    return NN_OK;
}
