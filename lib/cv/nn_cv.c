/* nn_cv.c — the front door of a cross-validation job: creating it (folds, result slots),
 * running its tasks on threads, destroying it (see nn_cv.h DESIGN). */
#include "nn_cv_internal.h"

#include "nn_clock.h"
#include "nn_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static nn_status alloc_result(nn_cv *cv, nn_error *err) {
    nn_cv_result *r = &cv->res;
    size_t n = cv->data->n_rows, nt = cv->spec->n_targets;
    r->n_rows = n;
    r->n_targets = nt;
    r->n_folds = cv->n_folds;
    size_t nf = (size_t)cv->n_folds;
    r->folds = calloc(nf ? nf : 1, sizeof *r->folds);
    cv->keep = calloc(nf ? nf : 1, sizeof *cv->keep);
    r->oof_fold = malloc((n ? n : 1) * sizeof *r->oof_fold);
    r->oof_pred = malloc((n ? n : 1) * nt * sizeof *r->oof_pred);
    r->actual = malloc((n ? n : 1) * nt * sizeof *r->actual);
    r->skipped = calloc(n ? n : 1, sizeof *r->skipped);
    r->overall = calloc(nt, sizeof *r->overall);
    r->overall_model = calloc(nt, sizeof *r->overall_model);
    r->final.units = calloc(nt, sizeof *r->final.units);
    r->final.model = calloc(nt, sizeof *r->final.model);
    if (!r->folds || !cv->keep || !r->oof_fold || !r->oof_pred || !r->actual || !r->skipped ||
        !r->overall || !r->overall_model || !r->final.units || !r->final.model)
        return nn_nomem(err, "out of memory for the results");
    r->final.fold = -1;
    for (int i = 0; i < cv->n_folds; i++) {
        r->folds[i].fold = i;
        r->folds[i].units = calloc(nt, sizeof *r->folds[i].units);
        r->folds[i].model = calloc(nt, sizeof *r->folds[i].model);
        if (!r->folds[i].units || !r->folds[i].model)
            return nn_nomem(err, "out of memory for the results");
    }
    for (size_t i = 0; i < n * nt; i++) r->oof_pred[i] = NAN;
    return NN_OK;
}

/* Targets must exist as numbers (the plan checked); copies them into res.actual and marks the
 * rows where one is missing as skipped. (A classification's target: nn__cv_class_setup.) */
static nn_status read_targets(nn_cv *cv, nn_error *err) {
    const nn_spec *s = cv->spec;
    size_t n = cv->data->n_rows, nt = s->n_targets;
    cv->target_col = malloc(nt * sizeof *cv->target_col);
    if (!cv->target_col) return nn_nomem(err, "out of memory");
    for (size_t k = 0; k < nt; k++) {
        int c = nn_table_find(cv->data, s->targets[k]);
        if (c < 0 || cv->data->cols[c].type != NN_COL_NUMBER)
            return nn_error_set(err, NN_ERR_SPEC, "/target: no numeric column \"%s\"",
                                s->targets[k]);
        cv->target_col[k] = c;
        const double *v = cv->data->cols[c].num;
        for (size_t i = 0; i < n; i++) {
            cv->res.actual[i * nt + k] = v[i];
            if (isnan(v[i])) cv->res.skipped[i] = 1;
        }
    }
    for (size_t i = 0; i < n; i++) cv->res.n_skipped += cv->res.skipped[i];
    return NN_OK;
}

/* Stratified holdout: the first max(1, min(n_c − 1, round(fraction · n_c))) rows of each class
 * (in the class-ordered shuffle) validate, so both sides hold every class of two rows or more. */
static void stratified_holdout(nn_cv *cv, const size_t *order, size_t n) {
    const nn_labels *l = cv->labels;
    size_t at = 0;
    int cls = -1;
    for (size_t i = 0; i < n; i++) {
        int c = cv->res.actual_class[order[i]];
        if (c != cls) cls = c, at = 0;
        size_t nc = l->counts[c];
        double want = round(cv->spec->holdout * (double)nc);
        size_t nv = nc < 2 ? 0 : want < 1 ? 1 : want > (double)(nc - 1) ? nc - 1 : (size_t)want;
        int f = at++ < nv ? 0 : -1;
        cv->fold_of[order[i]] = cv->res.oof_fold[order[i]] = f;
    }
}

/* Over the rows that are not skipped: kfold: shuffled order, position i → fold i mod k.
 * holdout: the first ⌈fraction·n⌉ positions validate (fold 0). none: every row trains only.
 * Stratified (classification): the shuffled order is grouped by class first (nn_cv.h). */
static nn_status assign_folds(nn_cv *cv, nn_error *err) {
    const nn_spec *s = cv->spec;
    size_t n_all = cv->data->n_rows, n = 0;
    cv->fold_of = malloc((n_all ? n_all : 1) * sizeof *cv->fold_of);
    size_t *order = malloc((n_all ? n_all : 1) * sizeof *order);
    if (!cv->fold_of || !order) {
        free(order);
        return nn_nomem(err, "out of memory for folds");
    }
    for (size_t i = 0; i < n_all; i++) {
        cv->fold_of[i] = cv->res.oof_fold[i] = -1;
        if (!cv->res.skipped[i]) order[n++] = i;
    }
    nn_rng rng;
    nn_rng_init(&rng, s->seed, NN_STREAM(0, NN_STREAM_FOLDS));
    nn_rng_shuffle(&rng, order, n);
    int strat = cv->labels && !s->no_stratify && s->validation != NN_VAL_NONE;
    nn_status st = strat ? nn__cv_stratify(cv, order, n, err) : NN_OK;
    if (st != NN_OK || (strat && s->validation == NN_VAL_HOLDOUT)) {
        if (st == NN_OK) stratified_holdout(cv, order, n);
        free(order);
        return st;
    }
    size_t n_val = s->validation == NN_VAL_HOLDOUT ? (size_t)ceil(s->holdout * (double)n) : 0;
    for (size_t i = 0; i < n; i++) {
        int f = -1;
        if (s->validation == NN_VAL_KFOLD)
            f = (int)(i % (size_t)s->k);
        else if (s->validation == NN_VAL_HOLDOUT && i < n_val)
            f = 0;
        cv->fold_of[order[i]] = f;
        cv->res.oof_fold[order[i]] = f;
    }
    free(order);
    return NN_OK;
}

void nn_cv_plan_tasks(const nn_spec *spec, int *n_folds, int *has_final) {
    *n_folds = spec->validation == NN_VAL_KFOLD     ? spec->k
               : spec->validation == NN_VAL_HOLDOUT ? 1
                                                    : 0;
    *has_final = spec->final == NN_FINAL_REFIT || *n_folds == 0;
}

nn_status nn_cv_create(const nn_spec *spec, const nn_table *data, const nn_cv_cfg *cfg, nn_cv **out,
                       nn_spec_errors *errs, nn_error *err) {
    nn_spec_errors local;
    if (!errs) errs = &local;
    memset(errs, 0, sizeof *errs);
    nn_plan *plan = NULL;
    if (nn_pipe_plan(spec, data, &plan, errs) != NN_OK) return nn_spec_errors_to_error(errs, err);
    /* the plan made every check the job would make */
    int n_folds = 0, has_final = 0;
    nn_cv_plan_tasks(spec, &n_folds, &has_final);
    nn_status st = NN_OK;
    nn_cv *cv = calloc(1, sizeof *cv);
    if (!cv) {
        nn_plan_destroy(plan);
        return nn_nomem(err, "out of memory for a job");
    }
    cv->spec = spec;
    cv->data = data;
    cv->task = plan->task;
    cv->loss = nn_spec_loss(spec, cv->task);
    cv->n_out = (int)spec->n_targets;
    if (cfg) cv->cfg = *cfg;
    cv->n_folds = n_folds;
    cv->has_final = has_final;
    pthread_mutex_init(&cv->mu, NULL);
    st = alloc_result(cv, err);
    cv->res.task = cv->task;
    cv->res.n_params = plan->n_params;
    if (st == NN_OK) st = nn_spec_trajectory(spec, cv->traj, err);
    /* every fold's slot now: distinct tasks are handed their states from several threads */
    if (st == NN_OK && !(cv->resume = calloc((size_t)n_folds + 1, sizeof *cv->resume)))
        st = nn_nomem(err, "out of memory for a job");
    if (st == NN_OK)
        st = cv->task == NN_TASK_CLASSIFICATION ? nn__cv_class_setup(cv, plan, err)
                                                : read_targets(cv, err);
    nn_plan_destroy(plan);
    if (st == NN_OK) st = assign_folds(cv, err);
    if (st != NN_OK) {
        nn_cv_destroy(cv);
        return st;
    }
    *out = cv;
    return NN_OK;
}

static void free_fold(nn_fold_result *fr) {
    free(fr->units);
    free(fr->model);
    free(fr->history);
    nn_class_metrics_free(&fr->cls);
}

int nn_cv_task_done(const nn_cv *cv, int task) {
    if (task < 0 || task > cv->n_folds) return 0;
    if (task == cv->n_folds) return cv->has_final && cv->model != NULL;
    return cv->keep[task].pipe != NULL;
}

void nn_cv_destroy(nn_cv *cv) {
    if (!cv) return;
    nn_cv_result *r = &cv->res;
    for (int i = 0; cv->keep && i < cv->n_folds; i++) nn__cv_reset_task(cv, i);
    for (int i = 0; r->folds && i < cv->n_folds; i++) free_fold(&r->folds[i]);
    free_fold(&r->final);
    free(r->folds);
    free(cv->keep);
    free(r->oof_fold);
    free(r->oof_pred);
    free(r->actual);
    free(r->skipped);
    free(r->overall);
    free(r->overall_model);
    for (size_t i = 0; r->importance && i < r->n_importance; i++) free(r->importance[i].feature);
    free(r->importance);
    free(cv->fold_of);
    free(cv->target_col);
    nn__cv_class_free(cv);
    nn__cv_resume_free(cv);
    nn_model_destroy(cv->model);
    pthread_mutex_destroy(&cv->mu);
    free(cv);
}

int nn_cv_n_tasks(const nn_cv *cv) { return cv->n_folds + cv->has_final; }
int nn_cv_n_folds(const nn_cv *cv) { return cv->n_folds; }
const nn_cv_result *nn_cv_result_get(const nn_cv *cv) { return &cv->res; }

nn_model *nn_cv_take_model(nn_cv *cv) {
    nn_model *m = cv->model;
    cv->model = NULL;
    return m;
}

/* Worker threads take fold tasks from a shared counter; the first failure stops new starts. */
typedef struct runner {
    nn_cv *cv;
    pthread_mutex_t mu;
    int next;
    nn_status st;
    nn_error err;
} runner;

static void *worker(void *arg) {
    runner *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int task = r->st == NN_OK && r->next < r->cv->n_folds ? r->next++ : -1;
        pthread_mutex_unlock(&r->mu);
        if (task < 0) return NULL;
        nn_error err = {0};
        nn_status st = nn_cv_run_task(r->cv, task, &err);
        if (st != NN_OK) {
            pthread_mutex_lock(&r->mu);
            if (r->st == NN_OK) {
                r->st = st;
                r->err = err;
            }
            pthread_mutex_unlock(&r->mu);
        }
    }
}

nn_status nn_cv_run(nn_cv *cv, int threads, nn_error *err) {
    double t0 = nn_clock_seconds();
    runner r;
    memset(&r, 0, sizeof r);
    r.cv = cv;
    pthread_mutex_init(&r.mu, NULL);
    if (threads < 1) threads = 1;
    if (threads > cv->n_folds) threads = cv->n_folds;
    pthread_t th[64];
    if (threads > 64) threads = 64;
    int started = 0;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&th[started], NULL, worker, &r) == 0) started++;
    if (cv->n_folds > 0) worker(&r);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&r.mu);
    if (r.st != NN_OK) {
        if (err) *err = r.err;
        return r.st;
    }
    nn_status st = cv->has_final ? nn_cv_run_task(cv, cv->n_folds, err) : NN_OK;
    if (st == NN_OK) st = nn_cv_finish(cv, err);
    cv->res.train_seconds = nn_clock_seconds() - t0;
    return st;
}
