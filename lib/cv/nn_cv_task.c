/* nn_cv_task.c — one task of a job: a fold (fit the pipeline on its training rows, train its
 * networks, score its validation rows) or the final fit (see nn_cv.h DESIGN). */
#include "nn_cv_internal.h"

#include "nn_clock.h"
#include "nn_loss.h"
#include "nn_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t nn__cv_group(int f, int m) { return (uint64_t)(f + 1) + ((uint64_t)m << 24); }

/* Per-network state for the epoch callback. */
typedef struct fold_ctx {
    nn_cv *cv;
    nn_fold_result *fr;
    int member;
    int hist_base;           /* index of this member's first history row */
    const nn_float *xv, *yv; /* validation matrices, model space (yv: the network's targets) */
    nn_float *pv;            /* (nv × n_out) prediction buffer */
    const int *cls;          /* classification: (nv) the validation rows' classes */
    double *prob;            /* classification: (nv × classes) scratch */
    size_t nv, nt;
    double t0;
    nn_monitor es_monitor, rp_monitor;
    int es_patience, rp_patience;
    nn__member_track tr;
    nn_float *best_params; /* (n_params) when restoring the best epoch */
    nn_status status;
    char error[256];
} fold_ctx;

/* The monitored quantity, lower is better. */
static double monitored(const nn_history_row *h, nn_monitor m) {
    switch (m) {
    case NN_MONITOR_VAL_R2:
        return -h->val_r2;
    case NN_MONITOR_VAL_LOSS:
        return h->val_loss;
    case NN_MONITOR_VAL_LOG_LOSS:
        return h->val_log_loss;
    case NN_MONITOR_VAL_ACCURACY:
        return -h->val_accuracy;
    default:
        return h->train_loss;
    }
}

static void track(fold_ctx *c, nn_net *net, const nn_history_row *h, int *stop) {
    const nn_spec *s = c->cv->spec;
    nn__member_track *t = &c->tr;
    if (c->es_patience > 0) {
        double v = monitored(h, c->es_monitor);
        if (h->epoch == 1 || v < t->es_best - s->es_min_delta) {
            t->es_best = v;
            t->es_wait = 0;
            t->best_epoch = h->epoch;
            if (c->best_params)
                memcpy(c->best_params, nn_net_params(net),
                       nn_net_param_count(net) * sizeof *c->best_params);
        } else if (++t->es_wait >= c->es_patience) {
            t->es_stopped = 1;
            *stop = 1;
        }
    } else {
        t->best_epoch = h->epoch;
    }
    if (c->rp_patience > 0) {
        double v = monitored(h, c->rp_monitor);
        if (h->epoch == 1 || v < t->rp_best) {
            t->rp_best = v;
            t->rp_wait = 0;
        } else if (++t->rp_wait >= c->rp_patience) {
            double base = h->lr / t->lr_factor;
            t->lr_factor *= s->rp_factor;
            if (base * t->lr_factor < s->rp_min_lr) t->lr_factor = s->rp_min_lr / base;
            t->rp_wait = 0;
        }
    }
}

static void report_epoch(fold_ctx *c, const nn_history_row *h) {
    if (!c->cv->cfg.report) return;
    nn_cv_event ev = {NN_CV_EPOCH, c->fr->fold, c->cv->n_folds, h, c->fr, 0};
    ev.epochs = c->cv->spec->epochs;
    pthread_mutex_lock(&c->cv->mu);
    c->cv->cfg.report(c->cv->cfg.user, &ev);
    pthread_mutex_unlock(&c->cv->mu);
}

static int on_epoch(void *user, nn_net *net, int epoch, double train_loss, double lr) {
    fold_ctx *c = user;
    nn_history_row *h = &c->fr->history[c->hist_base + epoch];
    h->fold = c->fr->fold;
    h->epoch = epoch + 1;
    h->member = c->member;
    h->train_loss = train_loss;
    h->lr = lr;
    h->val_loss = h->val_r2 = h->val_log_loss = h->val_accuracy = NAN;
    if (c->nv) {
        nn_error err = {0};
        if (nn_net_predict(net, c->xv, c->nv, c->pv, &err) != NN_OK) {
            c->status = err.code;
            memcpy(c->error, err.msg, sizeof c->error);
            return 1;
        }
        if (c->cls) { /* the loss without class weights (as Keras), then the plain scores */
            h->val_loss =
                nn_loss_batch(&c->cv->loss, c->pv, c->yv, c->nv, (size_t)c->cv->n_out, NULL);
            nn__cv_class_val(c->cv, c->pv, c->cls, c->nv, c->prob, &h->val_log_loss,
                             &h->val_accuracy);
        } else {
            h->val_loss = nn_loss_eval(&c->cv->loss, c->pv, c->yv, c->nv * c->nt, NULL, 1);
            h->val_r2 = nn_r2_column(c->yv, c->pv, c->nv, c->nt);
        }
        if (!isfinite(h->val_loss)) {
            c->status = NN_ERR_DIVERGED;
            (void)snprintf(c->error, sizeof c->error,
                           "validation loss is not finite at epoch %d: training diverged",
                           epoch + 1);
            return 1;
        }
    }
    h->seconds = nn_clock_seconds() - c->t0;
    c->fr->n_history = c->hist_base + epoch + 1;
    if (epoch + 1 > c->fr->epochs_run) c->fr->epochs_run = epoch + 1;
    int stop = c->cv->spec->stop_at > 0 && epoch + 1 >= c->cv->spec->stop_at;
    track(c, net, h, &stop);
    report_epoch(c, h);
    return stop;
}

static void report_fold(nn_cv *cv, nn_cv_event_kind kind, nn_fold_result *fr) {
    if (!cv->cfg.report) return;
    nn_cv_event ev = {
        kind, fr->fold, cv->n_folds, NULL, kind == NN_CV_FOLD_END ? fr : NULL, cv->spec->epochs};
    pthread_mutex_lock(&cv->mu);
    cv->cfg.report(cv->cfg.user, &ev);
    pthread_mutex_unlock(&cv->mu);
}

/* Everything a task allocates, released in one place: row lists and float matrices, never a
 * copy of the table. */
typedef struct task_mem {
    size_t *tr, *va, *kept; /* training rows, validation rows, training rows after filters */
    nn_float *xt, *yt, *xv, *yv, *pv, *best;
    int *cls_v;     /* classification: (n_val) the validation rows' classes */
    double *prob_v; /* classification: (n_val × classes) scratch */
    double *cw;     /* classification: (classes) class weights in network order, or NULL */
    nn_pipe *pipe;
    nn_net **nets; /* (n_nets) */
    int n_nets;
    nn_layer_cfg *layers;
    const atomic_int *cancel; /* the task's cancel flag */
    nn_wbuf state;            /* the fold's state at stop_at, being written */
} task_mem;

static void free_nets(nn_net **nets, int n) {
    for (int i = 0; nets && i < n; i++) nn_net_destroy(nets[i]);
    free(nets);
}

static void task_mem_free(task_mem *m) {
    free(m->tr);
    free(m->va);
    free(m->kept);
    free(m->xt);
    free(m->yt);
    free(m->xv);
    free(m->yv);
    free(m->pv);
    free(m->best);
    free(m->cls_v);
    free(m->prob_v);
    free(m->cw);
    nn_pipe_destroy(m->pipe);
    free_nets(m->nets, m->n_nets);
    free(m->layers);
    free(m->state.p);
}

/* Splits rows into training and validation for task f (f < 0: all rows train); skipped rows
 * (a target missing) are in neither. */
static nn_status split_rows(const nn_cv *cv, int f, task_mem *m, size_t *ntr, size_t *nva,
                            nn_error *err) {
    size_t n = cv->data->n_rows;
    m->tr = malloc((n ? n : 1) * sizeof *m->tr);
    m->va = malloc((n ? n : 1) * sizeof *m->va);
    if (!m->tr || !m->va) return nn_nomem(err, "out of memory for fold rows");
    *ntr = *nva = 0;
    for (size_t i = 0; i < n; i++) {
        if (cv->res.skipped[i]) continue;
        if (f >= 0 && cv->fold_of[i] == f)
            m->va[(*nva)++] = i;
        else
            m->tr[(*ntr)++] = i;
    }
    return NN_OK;
}

/* Classification: the validation rows' targets, classes and a probability scratch. */
static nn_status class_val_rows(nn_cv *cv, task_mem *m, size_t nva, nn_error *err) {
    nn_status st = nn__cv_class_targets(cv, m->va, nva, &m->yv, err);
    m->cls_v = malloc(nva * sizeof *m->cls_v);
    m->prob_v = malloc(nva * cv->labels->n * sizeof *m->prob_v);
    if (st == NN_OK && (!m->cls_v || !m->prob_v)) st = nn_nomem(err, "out of memory");
    for (size_t i = 0; st == NN_OK && i < nva; i++) m->cls_v[i] = cv->res.actual_class[m->va[i]];
    return st;
}

/* Pipeline fitted on the training rows, applied to them and to the validation rows, straight
 * into matrices (a classification's targets from its classes). */
static nn_status prepare(nn_cv *cv, int f, task_mem *m, size_t *ntr, size_t *nva, nn_error *err) {
    nn_status st = split_rows(cv, f, m, ntr, nva, err);
    nn_row_set train = {cv->data, m->tr, *ntr}, kept = {0};
    int classify = cv->labels != NULL; /* the targets are the classes, not the pipe's */
    if (st == NN_OK) st = nn_pipe_fit_rows(cv->spec, &train, &m->pipe, &kept, err);
    m->kept = kept.idx;
    if (st == NN_OK)
        st = nn_pipe_rows_matrices(m->pipe, &kept, &m->xt, classify ? NULL : &m->yt, err);
    if (st == NN_OK && classify) st = nn__cv_class_targets(cv, kept.idx, kept.n, &m->yt, err);
    if (st == NN_OK && *nva) {
        nn_row_set val = {cv->data, m->va, *nva};
        st = nn_pipe_rows_matrices(m->pipe, &val, &m->xv, classify ? NULL : &m->yv, err);
    }
    if (st == NN_OK && *nva && classify) st = class_val_rows(cv, m, *nva, err);
    if (st == NN_OK && classify) {
        m->cw = malloc(cv->labels->n * sizeof *m->cw);
        if (!m->cw) st = nn_nomem(err, "out of memory");
        if (st == NN_OK && !nn__cv_class_weights(cv, kept.idx, kept.n, m->cw)) {
            free(m->cw);
            m->cw = NULL;
        }
    }
    if (st == NN_OK) *ntr = kept.n;
    if (st == NN_OK && *ntr == 0)
        st = nn_error_set(err, NN_ERR_DATA, "no training rows left after preprocessing");
    return st;
}

/* The ensemble's networks, member m initialized from stream group nn__cv_group(f, m). */
static nn_status make_nets(nn_cv *cv, int f, task_mem *m, nn_error *err) {
    const nn_spec *s = cv->spec;
    m->layers = calloc((size_t)s->n_hidden + 1, sizeof *m->layers);
    m->nets = calloc((size_t)s->ensemble, sizeof(nn_net *));
    if (!m->layers || !m->nets) return nn_nomem(err, "out of memory for the network");
    m->n_nets = s->ensemble;
    nn_net_cfg cfg;
    nn_spec_net_cfg(s, (int)nn_pipe_n_features(m->pipe), cv->n_out, m->layers, &cfg);
    for (int k = 0; k < s->ensemble; k++) {
        nn_status st = nn_net_create(&cfg, &m->nets[k], err);
        if (st != NN_OK) return st;
        nn_net_init(m->nets[k], s->seed, NN_STREAM(nn__cv_group(f, k), NN_STREAM_INIT));
    }
    return NN_OK;
}

/* The refit trains for the folds' mean best epoch when early stopping chose it. */
static int refit_epochs(const nn_cv *cv) {
    const nn_spec *s = cv->spec;
    if (s->es_patience <= 0 || s->es_monitor == NN_MONITOR_TRAIN_LOSS || cv->n_folds == 0)
        return s->epochs;
    double sum = 0;
    for (int i = 0; i < cv->n_folds; i++) sum += cv->res.folds[i].best_epoch;
    int e = (int)lround(sum / cv->n_folds);
    return e < 1 ? 1 : e;
}

/* Member k's training so far from a fold state (in, at the member's part): its parameters,
 * training state, trackers and history, whose rows are reported again as epochs. */
static nn_status restore_member(fold_ctx *c, nn_net *net, nn_train_state *ts, nn_rbuf *in,
                                int *done, nn_error *err) {
    nn_fold_result *fr = c->fr;
    nn_history_row *h = fr->history + c->hist_base;
    int n_h = 0, max_h = c->cv->spec->epochs;
    nn_status st = nn__member_load(in, net, ts, &c->tr, c->best_params, done, h, max_h, &n_h, err);
    if (st != NN_OK) return st;
    for (int i = 0; i < n_h; i++) {
        h[i].fold = fr->fold;
        h[i].member = c->member;
        fr->n_history = c->hist_base + i + 1;
        if (h[i].epoch > fr->epochs_run) fr->epochs_run = h[i].epoch;
        report_epoch(c, &h[i]);
    }
    if (n_h) c->t0 -= h[n_h - 1].seconds; /* the clock goes on from the saved run's */
    return NN_OK;
}

/* Trains ensemble member k; its history rows start at c->hist_base. With in, it continues
 * from the member's saved state; with out, its state after training is appended there. */
static nn_status train_member(nn_cv *cv, int f, task_mem *m, int k, size_t ntr, fold_ctx *c,
                              int epochs, nn_rbuf *in, nn_wbuf *out, nn_error *err) {
    const nn_spec *s = cv->spec;
    nn_net *net = m->nets[k];
    size_t np = nn_net_param_count(net);
    int val = c->nv > 0;
    c->es_monitor = s->es_monitor;
    c->es_patience = (val || s->es_monitor == NN_MONITOR_TRAIN_LOSS) ? s->es_patience : 0;
    c->rp_monitor = val ? s->rp_monitor : NN_MONITOR_TRAIN_LOSS;
    c->rp_patience = s->rp_patience;
    c->tr.lr_factor = 1.0;
    if (c->es_patience > 0 && s->es_restore_best) {
        if (!m->best && !(m->best = malloc(np * sizeof *m->best)))
            return nn_nomem(err, "out of memory for best weights");
        c->best_params = m->best;
    }
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = epochs;
    tc.batch_size = s->batch_size;
    tc.loss = cv->loss;
    tc.loss.class_weight = m->cw;
    tc.optim = s->optim;
    tc.sched = s->sched;
    tc.seed = s->seed;
    tc.group = nn__cv_group(f, k);
    tc.on_epoch = on_epoch;
    tc.user = c;
    tc.cancel = m->cancel;
    tc.lr_factor = &c->tr.lr_factor;
    nn_train_state *ts = NULL;
    int done = 0;
    nn_status st = nn_train_begin(net, ntr, &tc, &ts, err);
    if (st == NN_OK && in) st = restore_member(c, net, ts, in, &done, err);
    if (st == NN_OK && !done) st = nn_train_resume(net, m->xt, m->yt, ntr, &tc, ts, NULL, err);
    if (st == NN_OK && c->status != NN_OK) st = nn_error_set(err, c->status, "%s", c->error);
    if (st == NN_OK && out) {
        done = c->tr.es_stopped || nn_train_state_epoch(ts) >= s->epochs;
        nn__member_save(out, net, ts, &c->tr, c->best_params, done, c->fr->history + c->hist_base,
                        nn_train_state_epoch(ts));
    }
    nn_train_state_destroy(ts);
    if (st == NN_OK && c->best_params && c->tr.best_epoch > 0)
        memcpy(nn_net_params(net), c->best_params, np * sizeof *c->best_params);
    return st;
}

/* The fold state to continue from (NULL: none), positioned at its first member. */
static nn_status resume_from(nn_cv *cv, int f, size_t ntr, nn_rbuf *in, int *epoch, nn_error *err) {
    if (f < 0 || !cv->resume || !cv->resume[f].p) return NN_OK;
    *in = (nn_rbuf){cv->resume[f].p, cv->resume[f].len, 0, 0};
    size_t n_train = 0, n_params = 0;
    nn_status st = nn__state_open(cv, f, in, &n_train, &n_params, epoch, err);
    if (st == NN_OK && n_train != ntr)
        st = nn_error_set(err, NN_ERR_INVALID, "the fold state has %zu training rows, not %zu",
                          n_train, ntr);
    else if (st == NN_OK && n_params != cv->res.n_params)
        st = nn_error_set(err, NN_ERR_INVALID,
                          "the fold state's networks have %zu parameters, "
                          "not %zu",
                          n_params, cv->res.n_params);
    return st;
}

static nn_status train(nn_cv *cv, int f, task_mem *m, size_t ntr, size_t nva, nn_fold_result *fr,
                       nn_error *err) {
    const nn_spec *s = cv->spec;
    size_t nt = s->n_targets;
    int epochs = f < 0 ? refit_epochs(cv) : s->epochs;
    fr->history = calloc((size_t)epochs * (size_t)s->ensemble, sizeof *fr->history);
    if (nva) m->pv = malloc(2 * nva * (size_t)cv->n_out * sizeof *m->pv);
    if (!fr->history || (nva && !m->pv))
        return nn_nomem(err, "out of memory for the training history");
    nn_rbuf in = {0};
    int from = 0;
    /* a state that does not fit these rows: the fold trains from epoch 1, to the same result */
    if (resume_from(cv, f, ntr, &in, &from, NULL) != NN_OK) in.p = NULL;
    nn_rbuf *pin = in.p ? &in : NULL;
    nn_status st = NN_OK;
    nn_wbuf *out = f >= 0 && s->stop_at > 0 ? &m->state : NULL;
    if (out) nn__state_begin(cv, f, ntr, cv->res.n_params, out);
    fr->resumed_epoch = pin ? from : 0;
    double best_sum = 0;
    for (int k = 0; k < s->ensemble && st == NN_OK; k++) {
        fold_ctx c;
        memset(&c, 0, sizeof c);
        c.cv = cv, c.fr = fr, c.member = k, c.hist_base = fr->n_history;
        c.xv = m->xv, c.yv = m->yv, c.pv = m->pv, c.nv = nva, c.nt = nt;
        c.cls = m->cls_v, c.prob = m->prob_v;
        c.t0 = nn_clock_seconds();
        st = train_member(cv, f, m, k, ntr, &c, epochs, pin, out, err);
        best_sum += c.tr.best_epoch;
    }
    fr->best_epoch = (int)lround(best_sum / s->ensemble);
    if (st == NN_OK && out) {
        nn__state_seal(out);
        if (out->failed) st = nn_nomem(err, "out of memory for the fold state");
    }
    return st;
}

/* Validation predictions in units into the out-of-fold arrays, and the fold's metrics. */
static nn_status score(nn_cv *cv, int f, task_mem *m, size_t nva, nn_fold_result *fr,
                       nn_error *err) {
    size_t nt = cv->spec->n_targets;
    if (cv->labels) {
        nn_status st = nn__cv_class_score(cv, f, m->nets, m->xv, m->va, nva, err);
        if (st == NN_OK && cv->spec->importance_repeats > 0)
            st = nn__cv_importance(cv, f, m->nets, m->xv, m->yv, m->va, nva,
                                   nn_pipe_n_features(m->pipe), err);
        return st;
    }
    nn_status st =
        nn_ensemble_predict(m->nets, m->n_nets, m->xv, nva, m->pv, m->pv + nva * nt, err);
    if (st != NN_OK) return st;
    double *col = malloc(nva * 2 * sizeof *col);
    if (!col) return nn_nomem(err, "out of memory for predictions");
    double *ym = col + nva;
    for (size_t k = 0; k < nt && st == NN_OK; k++) {
        for (size_t i = 0; i < nva; i++) {
            col[i] = (double)m->pv[i * nt + k];
            ym[i] = (double)m->yv[i * nt + k];
        }
        fr->model[k] = nn_metrics_compute(ym, col, nva, 1);
        nn_pipe_revert(m->pipe, k, col, nva);
        for (size_t i = 0; i < nva; i++) {
            if (!isfinite(col[i])) {
                st = nn_error_set(err, NN_ERR_DIVERGED,
                                  "prediction for row %zu is not finite in the target's units",
                                  m->va[i] + 1);
                break;
            }
            cv->res.oof_pred[m->va[i] * nt + k] = col[i];
            ym[i] = cv->res.actual[m->va[i] * nt + k];
        }
        fr->units[k] = nn_metrics_compute(ym, col, nva, 1);
    }
    free(col);
    if (st == NN_OK && cv->spec->importance_repeats > 0)
        st = nn__cv_importance(cv, f, m->nets, m->xv, m->yv, m->va, nva,
                               nn_pipe_n_features(m->pipe), err);
    return st;
}

/* Hands the task's pipeline and networks to the job: a fold keeps them, the final fit becomes
 * the model. */
static nn_status keep_result(nn_cv *cv, int f, task_mem *m, nn_error *err) {
    nn_status st = NN_OK;
    if (f >= 0) {
        cv->keep[f].pipe = m->pipe;
        cv->keep[f].nets = m->nets;
        cv->keep[f].state = m->state.p;
        cv->keep[f].state_len = m->state.len;
        m->state.p = NULL;
    } else {
        nn_spec *copy = NULL;
        st = nn_spec_clone(cv->spec, &copy, err);
        if (st != NN_OK) {
            nn_pipe_destroy(m->pipe);
            free_nets(m->nets, m->n_nets);
        } else {
            st = nn_model_create_ensemble_take(copy, m->pipe, m->nets, m->n_nets, &cv->model, err);
            if (st == NN_OK && cv->labels) st = nn_model_set_labels(cv->model, cv->labels, err);
        }
    }
    m->pipe = NULL;
    m->nets = NULL;
    return st;
}

void nn__cv_reset_task(nn_cv *cv, int task) {
    nn_cv_result *r = &cv->res;
    if (task >= cv->n_folds) {
        free(r->final.history);
        r->final.history = NULL;
        r->final.n_history = 0;
        r->final.status = NN_OK;
        r->final.error[0] = '\0';
        nn_model_destroy(cv->model);
        cv->model = NULL;
        return;
    }
    if (!r->folds || !cv->keep) return;
    nn_fold_result *fr = &r->folds[task];
    free(fr->history);
    fr->history = NULL;
    fr->n_history = 0;
    fr->status = NN_OK;
    fr->resumed_epoch = 0;
    fr->error[0] = '\0';
    nn__fold_keep *k = &cv->keep[task];
    nn_pipe_destroy(k->pipe);
    for (int m = 0; k->nets && m < cv->spec->ensemble; m++) nn_net_destroy(k->nets[m]);
    free(k->nets);
    free(k->drops);
    free(k->state);
    memset(k, 0, sizeof *k);
    nn_class_metrics_free(&fr->cls);
    for (size_t i = 0; r->oof_pred && cv->fold_of && i < r->n_rows; i++) {
        if (cv->fold_of[i] != task) continue;
        for (size_t t = 0; t < r->n_targets; t++) r->oof_pred[i * r->n_targets + t] = NAN;
        for (size_t c = 0; r->oof_prob && c < r->labels->n; c++)
            r->oof_prob[i * r->labels->n + c] = NAN;
    }
}

nn_status nn_cv_run_task(nn_cv *cv, int task, nn_error *err) {
    return nn_cv_run_task_cancel(cv, task, cv->cfg.cancel, err);
}

nn_status nn_cv_run_task_cancel(nn_cv *cv, int task, const atomic_int *cancel, nn_error *err) {
    if (task < 0 || task >= cv->n_folds + cv->has_final)
        return nn_error_set(err, NN_ERR_INVALID, "no task %d", task);
    int f = task < cv->n_folds ? task : -1;
    nn_fold_result *fr = f >= 0 ? &cv->res.folds[f] : &cv->res.final;
    nn__cv_reset_task(cv, task);
    task_mem m;
    memset(&m, 0, sizeof m);
    m.cancel = cancel;
    size_t ntr = 0, nva = 0;
    double t0 = nn_clock_seconds();
    report_fold(cv, NN_CV_FOLD_START, fr);
    nn_status st = prepare(cv, f, &m, &ntr, &nva, err);
    if (st == NN_OK) st = make_nets(cv, f, &m, err);
    fr->n_train = ntr;
    fr->n_val = nva;
    if (st == NN_OK) st = train(cv, f, &m, ntr, nva, fr, err);
    if (st == NN_OK && nva) st = score(cv, f, &m, nva, fr, err);
    if (st == NN_OK) st = keep_result(cv, f, &m, err);
    fr->seconds = nn_clock_seconds() - t0;
    if (st != NN_OK) {
        if (f >= 0)
            nn_error_prefix(err, "fold %d: ", f + 1);
        else
            nn_error_prefix(err, "final fit: ");
        fr->status = st;
        if (err) memcpy(fr->error, err->msg, sizeof fr->error);
    }
    report_fold(cv, NN_CV_FOLD_END, fr);
    task_mem_free(&m);
    return st;
}
