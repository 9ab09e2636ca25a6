/* srv_job.c — a run loaded on this node (see srv_job.h DESIGN). */
#include "srv_job.h"

#include "nn_csv.h"
#include "nn_cv.h"
#include "nn_report.h"
#include "srv_queue.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct srv_job {
    srv_job_env env;
    char run_id[SRV_ID_LEN + 1];
    nn_spec *spec;
    nn_table *data;
    nn_cv *cv;
    int n_folds, n_tasks;
    int shared;               /* the store numbers events (several nodes write them) */
    int epoch_stride;         /* publish every stride-th epoch event */
    int classify;             /* the run is a classification */
    srv_running_task **slots; /* (n_tasks) the running entry of each task training here */
    char state_key[SRV_FOLD_KEY_LEN + 1]; /* its folds' states' key (srv_fold_state_key) */
    pthread_mutex_t evmu; /* publish + queue of one event, so the writer sees run order */
};

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

const char *srv_job_run_id(const srv_job *j) { return j->run_id; }
int srv_job_n_folds(const srv_job *j) { return j->n_folds; }
int srv_job_n_tasks(const srv_job *j) { return j->n_tasks; }
size_t srv_job_n_rows(const srv_job *j) { return j->data->n_rows; }

void srv_job_event(srv_job *j, const srv_task_ref *fence, const char *type, json_t *data_take) {
    char *text = data_take ? json_dumps(data_take, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(data_take);
    if (!text) return;
    const srv_running_task *rt = fence ? j->slots[fence->task] : NULL;
    int64_t epochs = rt && rt->ref.attempt == fence->attempt ? atomic_load(&rt->epochs_done) : -1;
    pthread_mutex_lock(&j->evmu);
    /* a shared store numbers events when it stores them; the hub, when this node alone does */
    int64_t seq = j->shared ? 0 : srv_hub_publish(j->env.hub, j->run_id, type, text);
    if (seq > 0 || j->shared)
        srv_evwriter_put(j->env.writer, j->run_id, seq, type, text, fence, epochs);
    else
        free(text);
    pthread_mutex_unlock(&j->evmu);
}

static json_t *fold_end_json(const nn_fold_result *fr, int attempt) {
    int f = fr->fold + 1;
    if (fr->status != NN_OK)
        return json_pack("{s:i, s:s, s:s, s:i}", "fold", f, "state", "failed", "error", fr->error,
                         "attempt", attempt);
    json_t *o = json_pack("{s:i, s:s, s:i, s:i, s:o, s:I, s:I, s:i}", "fold", f, "state",
                          "finished", "epochs_run", fr->epochs_run, "best_epoch", fr->best_epoch,
                          "seconds", num(fr->seconds), "n_train", (json_int_t)fr->n_train, "n_val",
                          (json_int_t)fr->n_val, "attempt", attempt);
    if (o && fr->n_val && fr->cls.k) {
        (void)json_object_set_new(o, "accuracy", num(fr->cls.accuracy));
        (void)json_object_set_new(o, "log_loss", num(fr->cls.log_loss));
        (void)json_object_set_new(o, "roc_auc", num(fr->cls.roc_auc));
    } else if (o && fr->n_val) {
        (void)json_object_set_new(o, "r2", num(fr->units[0].r2));
        (void)json_object_set_new(o, "rmse", num(fr->units[0].rmse));
        (void)json_object_set_new(o, "mae", num(fr->units[0].mae));
        (void)json_object_set_new(o, "r2_model", num(fr->model[0].r2));
    }
    return o;
}

/* nn_cv's report callback: on a training thread, under nn_cv's mutex. */
static void on_report(void *user, const nn_cv_event *ev) {
    srv_job *j = user;
    int task = ev->fold >= 0 ? ev->fold : j->n_folds;
    srv_running_task *rt = task < j->n_tasks ? j->slots[task] : NULL;
    if (!rt) return; /* not a task of this node's (a checkpoint being imported) */
    const srv_task_ref *ref = &rt->ref;
    if (ev->kind == NN_CV_FOLD_START) {
        srv_job_event(j, ref, "fold",
                      json_pack("{s:i, s:s, s:i, s:i}", "fold", ev->fold + 1, "state", "started",
                                "folds", ev->n_folds, "attempt", ref->attempt));
    } else if (ev->kind == NN_CV_EPOCH) {
        const nn_history_row *h = ev->epoch;
        atomic_fetch_add(&rt->epochs_done, 1);
        if (ev->result)
            atomic_fetch_add(&j->env.ctx->counters.samples_trained, (long long)ev->result->n_train);
        if (h->epoch != 1 && h->epoch != ev->epochs && h->epoch % j->epoch_stride != 0) return;
        json_t *e = json_pack("{s:i, s:i, s:i, s:i, s:o, s:o, s:o, s:o}", "fold", ev->fold + 1,
                              "member", h->member + 1, "epoch", h->epoch, "epochs", ev->epochs,
                              "train_loss", num(h->train_loss), "val_loss", num(h->val_loss), "lr",
                              num(h->lr), "seconds", num(h->seconds));
        if (e && j->classify) { /* a classification's scores in place of R² */
            (void)json_object_set_new(e, "val_log_loss", num(h->val_log_loss));
            (void)json_object_set_new(e, "val_accuracy", num(h->val_accuracy));
        } else if (e) {
            (void)json_object_set_new(e, "val_r2", num(h->val_r2));
        }
        srv_job_event(j, ref, "epoch", e);
    } else {
        atomic_store(&rt->epochs_done, (long long)ev->epochs * j->spec->ensemble);
        srv_job_event(j, ref, "fold", fold_end_json(ev->result, ref->attempt));
    }
}

static nn_status read_spec(srv_job *j, const srv_run *run, nn_error *err) {
    nn_spec_errors errs;
    nn_status st = nn_spec_from_json(run->spec, &j->spec, &errs);
    if (st == NN_OK) return NN_OK;
    (void)nn_spec_errors_to_error(&errs, err);
    return nn_error_prefix(err, "the stored spec is invalid: ");
}

static nn_status read_data(srv_job *j, srv_store *s, const char *dataset_id, nn_error *err) {
    if (!dataset_id[0]) return nn_error_set(err, NN_ERR_INVALID, "the run's dataset was deleted");
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (srv_dataset_get(s, dataset_id, &ds, err) != NN_OK) return err->code;
    char path[1400];
    nn_status st = srv_dataset_file(s, ds.sha256, path, sizeof path, err);
    srv_dataset_free(&ds);
    if (st != NN_OK) return st;
    nn_csv_source src = {.path = path, .name = "dataset"};
    return nn_spec_read_csv(j->spec, &src, &j->data, err);
}

nn_status srv_job_load(const srv_job_env *env, srv_store *s, const char *run_id, srv_job **out,
                       nn_error *err) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return nn_error_set(err, NN_ERR_NOMEM, "out of memory loading a run");
    j->env = *env;
    pthread_mutex_init(&j->evmu, NULL);
    (void)snprintf(j->run_id, sizeof j->run_id, "%s", run_id);
    srv_run run;
    memset(&run, 0, sizeof run);
    nn_status st = srv_run_get(s, run_id, &run, err);
    if (st == NN_OK) st = read_spec(j, &run, err);
    if (st == NN_OK) st = read_data(j, s, run.dataset_id, err);
    char trajectory[65];
    if (st == NN_OK && (st = nn_spec_trajectory(j->spec, trajectory, err)) == NN_OK)
        srv_fold_state_key(run.dataset_id, trajectory, j->state_key);
    srv_run_free(&run);
    if (st == NN_OK) {
        nn_cv_cfg cfg = {on_report, j, NULL};
        nn_spec_errors errs;
        st = nn_cv_create(j->spec, j->data, &cfg, &j->cv, &errs, err);
    }
    if (st == NN_OK) {
        j->n_folds = nn_cv_n_folds(j->cv);
        j->classify = nn_cv_result_get(j->cv)->labels != NULL;
        j->n_tasks = nn_cv_n_tasks(j->cv);
        int64_t total = (int64_t)j->n_tasks * j->spec->ensemble * j->spec->epochs;
        int64_t cap = env->ctx->cfg.max_epoch_events > 0 ? env->ctx->cfg.max_epoch_events
                                                         : SRV_JOB_MAX_EPOCH_EVENTS;
        int64_t stride = (total + cap - 1) / cap;
        j->epoch_stride = stride > 1 ? (int)stride : 1;
        j->slots = calloc((size_t)j->n_tasks, sizeof(srv_running_task *));
        if (!j->slots) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory loading a run");
    }
    int64_t last = 0;
    j->shared = srv_store_shared(s);
    if (st == NN_OK && !j->shared) st = srv_event_last_seq(s, run_id, &last, err);
    if (st != NN_OK) {
        srv_job_destroy(j);
        return st;
    }
    if (!j->shared) srv_hub_open_run(env->hub, run_id, last);
    *out = j;
    return NN_OK;
}

void srv_job_destroy(srv_job *j) {
    if (!j) return;
    nn_cv_destroy(j->cv);
    nn_table_destroy(j->data);
    nn_spec_destroy(j->spec);
    free(j->slots);
    pthread_mutex_destroy(&j->evmu);
    free(j);
}

void srv_job_log_skipped(srv_job *j, const srv_task_ref *fence) {
    size_t skipped = nn_cv_result_get(j->cv)->n_skipped;
    if (!skipped) return;
    char msg[160];
    (void)snprintf(msg, sizeof msg,
                   "%zu row%s without a target: left out of training and scoring, predicted by "
                   "the final model",
                   skipped, skipped == 1 ? "" : "s");
    srv_job_event(j, fence, "log",
                  json_pack("{s:s, s:I}", "message", msg, "rows_skipped", (json_int_t)skipped));
}

nn_status srv_job_restore(srv_job *j, srv_store *s, const srv_task_ref *fence, int *restored,
                          nn_error *err) {
    *restored = 0;
    int *done = NULL;
    size_t n_done = 0;
    nn_status st = srv_queue_done_tasks(s, j->run_id, &done, &n_done, err);
    int missing = 0;
    for (size_t i = 0; st == NN_OK && i < n_done; i++)
        missing += done[i] < j->n_folds && !nn_cv_task_done(j->cv, done[i]);
    free(done);
    if (st != NN_OK || missing == 0) return st;
    srv_checkpoint *c = NULL;
    size_t n = 0;
    if ((st = srv_checkpoint_list(s, j->run_id, &c, &n, err)) != NN_OK) return st;
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && st == NN_OK; i++) {
        int t = c[i].task;
        if (t < 0 || t >= j->n_folds || nn_cv_task_done(j->cv, t)) continue;
        json_error_t jerr;
        json_t *cp = json_loads(c[i].json, 0, &jerr);
        st = cp ? nn_cv_task_import(j->cv, t, cp, err)
                : nn_error_set(err, NN_ERR_PARSE, "checkpoint of fold %d: %s", t + 1, jerr.text);
        json_decref(cp);
        if (st != NN_OK) break;
        (*restored)++;
        int w = snprintf(list + len, sizeof list - len, "%s%d", len ? ", " : "", t + 1);
        if (w > 0 && (size_t)w < sizeof list - len) len += (size_t)w;
    }
    srv_checkpoints_free(c, n);
    if (*restored) {
        char msg[400];
        (void)snprintf(msg, sizeof msg, "resumed: fold%s %s restored from checkpoints",
                       *restored > 1 ? "s" : "", list);
        srv_job_event(j, fence, "log",
                      json_pack("{s:s, s:i}", "message", msg, "restored", *restored));
    }
    return st;
}

nn_status srv_job_train(srv_job *j, srv_running_task *rt, nn_error *err) {
    int task = rt->ref.task;
    if (task < 0 || task >= j->n_tasks)
        return nn_error_set(err, NN_ERR_INVALID, "no task %d", task);
    pthread_mutex_lock(&j->evmu); /* slots are read by reports under evmu's publish */
    j->slots[task] = rt;
    pthread_mutex_unlock(&j->evmu);
    nn_status st = nn_cv_run_task_cancel(j->cv, task, &rt->cancel, err);
    pthread_mutex_lock(&j->evmu);
    j->slots[task] = NULL;
    pthread_mutex_unlock(&j->evmu);
    return st;
}

void srv_job_continue(srv_job *j, srv_store *s, const srv_task_ref *fence) {
    int task = fence->task;
    if (task >= j->n_folds) return;
    unsigned char *state = NULL;
    size_t len = 0;
    int epoch = 0;
    int until = j->spec->stop_at > 0 ? j->spec->stop_at : j->spec->epochs;
    nn_error err = {0};
    nn_status st = srv_fold_state_find(s, j->state_key, task, until, &state, &len, &epoch, &err);
    if (st == NN_OK) st = nn_cv_task_resume(j->cv, task, state, len, &err);
    free(state);
    char msg[400];
    if (st == NN_OK)
        (void)snprintf(msg, sizeof msg, "fold %d continues from epoch %d (a stored fold state)",
                       task + 1, epoch);
    else if (st != NN_ERR_NOT_FOUND)
        (void)snprintf(msg, sizeof msg, "fold %d trains from epoch 1: its stored state: %s",
                       task + 1, err.msg);
    if (st != NN_ERR_NOT_FOUND)
        srv_job_event(j, fence, "log",
                      json_pack("{s:s, s:i, s:i}", "message", msg, "fold", task + 1,
                                "continued_from", st == NN_OK ? epoch : 0));
}

int srv_job_state(srv_job *j, int task, srv_task_output *out) {
    unsigned char *p = NULL;
    size_t len = 0;
    int epoch = 0;
    if (nn_cv_task_state(j->cv, task, &p, &len, &epoch, NULL) != NN_OK) return 0;
    out->state = p;
    out->state_len = len;
    out->state_epoch = epoch;
    out->state_key = j->state_key;
    return 1;
}

char *srv_job_checkpoint(srv_job *j, int task, nn_error *err) {
    json_t *cp = NULL;
    if (nn_cv_task_export(j->cv, task, &cp, err) != NN_OK) return NULL;
    char *text = json_dumps(cp, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(cp);
    if (!text) (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory writing a checkpoint");
    return text;
}

/* 1 when row i is stored: validated, or without a target (skipped) and predicted. */
static int stored(const nn_cv_result *res, size_t i) {
    if (res->oof_fold[i] >= 0) return 1;
    for (size_t k = 0; res->skipped[i] && k < res->n_targets; k++)
        if (!isnan(res->oof_pred[i * res->n_targets + k])) return 1;
    return 0;
}

/* A classification's class probabilities of row i as a JSON array (17 significant digits, so
 * they read back exactly); malloc'd, NULL when out of memory. */
static char *probs_json(const nn_cv_result *res, size_t i) {
    size_t k = res->labels->n, cap = k * 26 + 3, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[len++] = '[';
    for (size_t c = 0; c < k; c++) {
        double p = res->oof_prob[i * k + c];
        int w = isfinite(p) ? snprintf(s + len, cap - len, "%s%.17g", c ? "," : "", p)
                            : snprintf(s + len, cap - len, "%snull", c ? "," : "");
        if (w < 0 || (size_t)w >= cap - len) {
            free(s);
            return NULL;
        }
        len += (size_t)w;
    }
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

/* The out-of-fold predictions as store rows, and those of rows without a target (fold 0); the
 * id column's values are copied into r->ids, a classification's probabilities into r->probs. */
static nn_status prediction_rows(const srv_job *j, const nn_cv_result *res, srv_job_results *r,
                                 nn_error *err) {
    size_t nt = res->n_targets, n = 0;
    for (size_t i = 0; i < res->n_rows; i++) n += stored(res, i);
    r->preds = malloc((n ? n : 1) * nt * sizeof *r->preds);
    r->ids = calloc(n ? n : 1, sizeof *r->ids);
    r->probs = res->labels ? calloc(n ? n : 1, sizeof *r->probs) : NULL;
    if (!r->preds || !r->ids || (res->labels && !r->probs))
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    int idc = j->spec->id ? nn_table_find(j->data, j->spec->id) : -1;
    size_t m = 0;
    for (size_t i = 0; i < res->n_rows; i++) {
        if (!stored(res, i)) continue;
        const char *id = NULL;
        if (idc >= 0) {
            const nn_column *c = &j->data->cols[idc];
            char buf[32];
            if (c->type == NN_COL_TEXT)
                id = c->text[i];
            else if (!isnan(c->num[i]) && snprintf(buf, sizeof buf, "%.17g", c->num[i]) > 0)
                id = buf;
            if (id && !(r->ids[r->n_ids] = strdup(id)))
                return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
            id = r->ids[r->n_ids];
            r->n_ids++;
        }
        const char *probs = NULL;
        if (res->labels) {
            if (!(r->probs[r->n_probs] = probs_json(res, i)))
                return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
            probs = r->probs[r->n_probs++];
        }
        for (size_t k = 0; k < nt; k++) {
            srv_prediction *p = &r->preds[m++];
            p->row = (int64_t)i + 1;
            p->fold = res->oof_fold[i] + 1;
            p->id = id;
            p->target = (int)k;
            p->actual = res->actual[i * nt + k];
            p->predicted = res->oof_pred[i * nt + k];
            p->probs = probs;
        }
    }
    r->n_preds = m;
    return NN_OK;
}

nn_status srv_job_results_get(srv_job *j, srv_job_results *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    nn_status st = nn_cv_finish(j->cv, err);
    if (st != NN_OK) return st;
    const nn_cv_result *res = nn_cv_result_get(j->cv);
    out->metrics = nn_report_metrics(j->spec, res);
    if (!out->metrics) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the metrics");
    if ((res->n_folds > 0 || res->n_skipped > 0) &&
        (st = prediction_rows(j, res, out, err)) != NN_OK) {
        srv_job_results_free(out);
        return st;
    }
    nn_model *model = nn_cv_take_model(j->cv);
    if (model) {
        out->model_json = nn_model_to_json(model);
        nn_model_destroy(model);
        if (!out->model_json) {
            srv_job_results_free(out);
            return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the model");
        }
    }
    return NN_OK;
}

void srv_job_results_free(srv_job_results *r) {
    json_decref(r->metrics);
    free(r->preds);
    for (size_t i = 0; r->ids && i < r->n_ids; i++) free(r->ids[i]);
    free(r->ids);
    for (size_t i = 0; r->probs && i < r->n_probs; i++) free(r->probs[i]);
    free(r->probs);
    free(r->model_json);
    memset(r, 0, sizeof *r);
}
