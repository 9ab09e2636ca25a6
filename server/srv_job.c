/* srv_job.c — loading a claimed run, turning its reports into events, writing its outcome. */
#include "srv_job.h"

#include "nn_csv.h"
#include "nn_report.h"
#include "srv_events.h"
#include "srv_pool.h"
#include "srv_queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Stores the pending events (and the progress) through the calling thread's connection;
 * j->evmu held. */
static void flush_locked(srv_job *j) {
    if (j->n_pending == 0) return;
    nn_error err = {0};
    srv_store *s = srv_app_store(j->app, &err);
    srv_event ev[SRV_POOL_FLUSH_EVENTS * 2];
    size_t done = 0;
    while (s && done < j->n_pending) {
        size_t n = 0;
        for (; n < sizeof ev / sizeof ev[0] && done + n < j->n_pending; n++) {
            const srv_pending *p = &j->pending[done + n];
            ev[n].seq = p->seq;
            memcpy(ev[n].type, p->type, sizeof ev[n].type);
            ev[n].data = p->data;
        }
        if (srv_event_append(s, j->run_id, ev, n, &err) != NN_OK) {
            fprintf(stderr, "nnd: run %s: cannot store events: %s\n", j->run_id, err.msg);
            break;
        }
        done += n;
    }
    for (size_t i = 0; i < j->n_pending; i++) free(j->pending[i].data);
    j->n_pending = 0;
    j->last_flush_ms = srv_now_ms();
    if (s && j->epochs_total > 0) {
        double progress = (double)j->epochs_done / (double)j->epochs_total;
        (void)srv_run_set_progress(s, j->run_id, progress > 1 ? 1 : progress, &err);
    }
}

void srv_job_event(srv_job *j, const char *type, json_t *data_take) {
    char *text = data_take ? json_dumps(data_take, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(data_take);
    if (!text) return;
    pthread_mutex_lock(&j->evmu);
    int64_t seq = srv_hub_publish(j->app->hub, j->run_id, type, text);
    if (j->n_pending == j->cap_pending) {
        size_t cap = j->cap_pending ? 2 * j->cap_pending : 128;
        srv_pending *p = realloc(j->pending, cap * sizeof *p);
        if (p) {
            j->pending = p;
            j->cap_pending = cap;
        }
    }
    if (j->n_pending < j->cap_pending) {
        srv_pending *p = &j->pending[j->n_pending++];
        p->seq = seq;
        (void)snprintf(p->type, sizeof p->type, "%s", type);
        p->data = text;
        text = NULL;
    }
    free(text);
    int64_t now = srv_now_ms();
    if (j->n_pending >= SRV_POOL_FLUSH_EVENTS || now - j->last_flush_ms >= SRV_POOL_FLUSH_MS)
        flush_locked(j);
    pthread_mutex_unlock(&j->evmu);
}

void srv_job_flush(srv_job *j) {
    pthread_mutex_lock(&j->evmu);
    flush_locked(j);
    pthread_mutex_unlock(&j->evmu);
}

static json_t *fold_end_json(const nn_fold_result *fr) {
    int f = fr->fold + 1;
    if (fr->status != NN_OK)
        return json_pack("{s:i, s:s, s:s}", "fold", f, "state", "failed", "error", fr->error);
    json_t *o = json_pack("{s:i, s:s, s:i, s:i, s:o, s:I, s:I}", "fold", f, "state", "finished",
                          "epochs_run", fr->epochs_run, "best_epoch", fr->best_epoch, "seconds",
                          num(fr->seconds), "n_train", (json_int_t)fr->n_train, "n_val",
                          (json_int_t)fr->n_val);
    if (o && fr->n_val) {
        json_object_set_new(o, "r2", num(fr->units[0].r2));
        json_object_set_new(o, "rmse", num(fr->units[0].rmse));
        json_object_set_new(o, "mae", num(fr->units[0].mae));
        json_object_set_new(o, "r2_model", num(fr->model[0].r2));
    }
    return o;
}

/* nn_cv's report callback: runs on training threads under nn_cv's mutex. */
static void on_report(void *user, const nn_cv_event *ev) {
    srv_job *j = user;
    if (ev->kind == NN_CV_FOLD_START) {
        srv_job_event(j, "fold",
                      json_pack("{s:i, s:s, s:i}", "fold", ev->fold + 1, "state", "started",
                                "folds", ev->n_folds));
    } else if (ev->kind == NN_CV_EPOCH) {
        const nn_history_row *h = ev->epoch;
        j->epochs_done++;
        if (ev->result)
            atomic_fetch_add(&j->app->counters.samples_trained, (long long)ev->result->n_train);
        srv_job_event(j, "epoch",
                      json_pack("{s:i, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:o}", "fold",
                                ev->fold + 1, "member", h->member + 1, "epoch", h->epoch, "epochs",
                                ev->epochs, "train_loss", num(h->train_loss), "val_loss",
                                num(h->val_loss), "val_r2", num(h->val_r2), "lr", num(h->lr),
                                "seconds", num(h->seconds)));
    } else {
        j->epochs_done += (int64_t)ev->epochs * j->spec->ensemble - ev->result->n_history;
        srv_job_event(j, "fold", fold_end_json(ev->result));
        srv_job_flush(j);
    }
}

static void fail_load(srv_job *j, nn_status st, const char *fmt, const char *msg) {
    j->stopping = 1;
    j->status = st;
    nn_error_set(&j->err, st, fmt, msg);
    srv_job_finish(j);
}

static nn_status read_data(srv_job *j, srv_store *s, const char *dataset_id, nn_error *err) {
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (srv_dataset_get(s, dataset_id, &ds, err) != NN_OK) return err->code;
    char path[1400];
    srv_dataset_path(s, ds.sha256, path, sizeof path);
    srv_dataset_free(&ds);
    nn_csv_source src = {.path = path, .name = "dataset"};
    return nn_spec_read_csv(j->spec, &src, &j->data, err);
}

/* Restores the folds a previous attempt finished, so they are not trained again. */
static void restore(srv_job *j, srv_store *s) {
    srv_checkpoint *c = NULL;
    size_t n = 0;
    nn_error err = {0};
    j->restored = calloc((size_t)j->n_folds + 1, 1);
    if (!j->restored || srv_checkpoint_list(s, j->run_id, &c, &n, &err) != NN_OK || n == 0) {
        srv_checkpoints_free(c, n);
        return;
    }
    char list[256] = "";
    size_t len = 0;
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *cp = json_loads(c[i].json, 0, &jerr);
        int t = c[i].task;
        if (cp && t >= 0 && t < j->n_folds && nn_cv_task_import(j->cv, t, cp, &err) == NN_OK) {
            j->restored[t] = 1;
            j->tasks_done++;
            j->epochs_done += (int64_t)j->spec->epochs * j->spec->ensemble;
            count++;
            int w = snprintf(list + len, sizeof list - len, "%s%d", len ? ", " : "", t + 1);
            if (w > 0 && (size_t)w < sizeof list - len) len += (size_t)w;
        }
        json_decref(cp);
    }
    srv_checkpoints_free(c, n);
    if (count) {
        char msg[400];
        (void)snprintf(msg, sizeof msg, "resumed: fold%s %s restored from checkpoints",
                       count > 1 ? "s" : "", list);
        srv_job_event(j, "log", json_pack("{s:s, s:i}", "message", msg, "restored", count));
    }
}

void srv_job_checkpoint(srv_job *j, int task) {
    json_t *cp = NULL;
    nn_error err = {0};
    srv_store *s = srv_app_store(j->app, &err);
    if (!s || nn_cv_task_export(j->cv, task, &cp, &err) != NN_OK) return;
    char *text = json_dumps(cp, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(cp);
    if (text && srv_checkpoint_put(s, j->run_id, task, text, &err) != NN_OK)
        fprintf(stderr, "nnd: run %s: cannot store the checkpoint of fold %d: %s\n", j->run_id,
                task + 1, err.msg);
    free(text);
}

srv_job *srv_job_load(srv_app *app, srv_store *s, const char *run_id) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->app = app;
    pthread_mutex_init(&j->evmu, NULL);
    (void)snprintf(j->run_id, sizeof j->run_id, "%s", run_id);
    j->last_flush_ms = srv_now_ms();
    nn_error err = {0};
    int64_t last_seq = 0;
    (void)srv_event_last_seq(s, run_id, &last_seq, &err);
    srv_hub_open_run(app->hub, run_id, last_seq);
    srv_run run;
    memset(&run, 0, sizeof run);
    if (srv_run_get(s, run_id, &run, &err) != NN_OK) {
        fail_load(j, err.code, "cannot read the run: %s", err.msg);
        return j;
    }
    nn_spec_errors errs;
    nn_status st = nn_spec_from_json(run.spec, &j->spec, &errs);
    if (st != NN_OK) {
        nn_spec_errors_to_error(&errs, &err);
        srv_run_free(&run);
        fail_load(j, NN_ERR_SPEC, "the stored spec is invalid: %s", err.msg);
        return j;
    }
    st = read_data(j, s, run.dataset_id, &err);
    int attempt = run.attempts;
    srv_run_free(&run);
    if (st != NN_OK) {
        fail_load(j, st, "cannot read the dataset: %s", err.msg);
        return j;
    }
    nn_cv_cfg cfg = {on_report, j, &j->cancel};
    nn_cv *cv = NULL;
    if (nn_cv_create(j->spec, j->data, &cfg, &cv, &errs, &err) != NN_OK) {
        fail_load(j, err.code, "%s", err.msg);
        return j;
    }
    j->n_folds = nn_cv_n_folds(cv);
    j->has_final = nn_cv_n_tasks(cv) - j->n_folds;
    j->epochs_total = (int64_t)j->spec->epochs * j->spec->ensemble * nn_cv_n_tasks(cv);
    j->cv = cv;
    srv_job_event(j, "status",
                  json_pack("{s:s, s:i, s:i, s:I}", "status", "running", "attempt", attempt,
                            "tasks", nn_cv_n_tasks(cv), "rows", (json_int_t)j->data->n_rows));
    size_t skipped = nn_cv_result_get(cv)->n_skipped;
    if (skipped) {
        char msg[160];
        (void)snprintf(msg, sizeof msg,
                       "%zu row%s without a target: left out of training and scoring, predicted "
                       "by the final model",
                       skipped, skipped == 1 ? "" : "s");
        srv_job_event(j, "log",
                      json_pack("{s:s, s:I}", "message", msg, "rows_skipped", (json_int_t)skipped));
    }
    restore(j, s);
    return j;
}

void srv_job_destroy(srv_job *j) {
    if (!j) return;
    nn_cv_destroy(j->cv);
    nn_table_destroy(j->data);
    nn_spec_destroy(j->spec);
    free(j->restored);
    for (size_t i = 0; i < j->n_pending; i++) free(j->pending[i].data);
    free(j->pending);
    pthread_mutex_destroy(&j->evmu);
    free(j);
}
