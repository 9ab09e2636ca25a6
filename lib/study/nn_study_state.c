/* nn_study_state.c — the study's state machine (the contract is nn_study.h): sampling trials in
 * order, handing out rungs, taking reports in any order and deciding promotions in trial order.
 *
 * DESIGN: two rules make a study's trials a function of the study document alone.
 * Sampling: trial i draws from the stream (study seed, NN_STREAM(i + 1, NN_STREAM_SAMPLE)); a
 * grid takes point i; TPE (from trial `startup` on) conditions on trials 0 … i − 1 − lag and is
 * sampled only once every one of them has ended (completed, pruned or failed), so what it sees
 * never depends on which trial finished first. Promotion: trial i's decision at rung r waits
 * until every trial j < i has reported rung r or has ended, and compares with exactly those
 * values (nn_asha.h). A failed or pruned trial has ended; so has a completed one.
 */
#include "nn_asha.h"
#include "nn_cv.h"
#include "nn_study_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nn__trial_folds(const nn_trial *t) {
    if (!t->spec) return 0;
    int folds, has_final;
    nn_cv_plan_tasks(t->spec, &folds, &has_final);
    return folds;
}

nn_status nn_study_create(const nn_study_spec *spec, nn_study **out, nn_error *err) {
    nn_study *st = calloc(1, sizeof *st);
    if (!st) return nn_nomem(err, "study");
    st->spec = spec;
    st->status = NN_STUDY_RUNNING;
    *out = st;
    return NN_OK;
}

static void trial_free(nn_trial *t) {
    json_decref(t->values);
    free(t->x);
    nn_spec_destroy(t->spec);
    json_decref(t->result.metrics);
}

void nn_study_destroy(nn_study *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) trial_free(&st->trials[i]);
    free(st->trials);
    free(st);
}

static int ended(const nn_trial *t) { return t->status != NN_TRIAL_RUNNING; }

/* ---- decisions ---- */

/* Decides what can be decided, trial by trial in order. Returns NN_ERR_NOMEM or NN_OK. */
static nn_status decide(nn_study *st, nn_error *err) {
    const nn_study_spec *s = st->spec;
    double *vals = malloc(((size_t)st->n + 1) * sizeof *vals);
    if (!vals) return nn_nomem(err, "study decisions");
    for (int i = 0; i < st->n; i++) {
        nn_trial *t = &st->trials[i];
        while (t->status == NN_TRIAL_RUNNING && t->decided < t->reached &&
               t->decided < t->n_rungs - 1) {
            int r = t->decided, ready = 1;
            size_t n = 0;
            for (int j = 0; j < i && ready; j++) {
                const nn_trial *o = &st->trials[j];
                if (o->reached > r)
                    vals[n++] = o->rung_value[r];
                else if (!ended(o))
                    ready = 0;
            }
            if (!ready) break;
            vals[n++] = t->rung_value[r];
            t->decided = r + 1;
            if (!nn_asha_promote(vals, n, s->reduction_factor, s->maximize))
                t->status = NN_TRIAL_PRUNED;
        }
    }
    free(vals);
    return NN_OK;
}

static void update_status(nn_study *st) {
    if (st->status != NN_STUDY_RUNNING) return;
    if (st->n_failed > st->spec->max_failed) {
        st->status = NN_STUDY_FAILED;
        (void)snprintf(st->error, sizeof st->error, "%d trials failed, more than max_failed %d",
                       st->n_failed, st->spec->max_failed);
    }
}

/* ---- sampling ---- */

/* The trials TPE conditions on for trial i: all ended (1) or not yet (0). */
static int tpe_ready(const nn_study *st, int i) {
    for (int j = 0; j < i - st->spec->lag; j++)
        if (!ended(&st->trials[j])) return 0;
    return 1;
}

static int uses_tpe(const nn_study_spec *s, int i) {
    return s->sampler == NN_SAMPLER_TPE && i >= s->startup;
}

/* Trial i's internal numbers into x. */
static nn_status sample(const nn_study *st, int i, double *x, nn_error *err) {
    const nn_study_spec *s = st->spec;
    nn_rng rng;
    nn_rng_init(&rng, s->seed, NN_STREAM((uint64_t)i + 1, NN_STREAM_SAMPLE));
    if (s->sampler == NN_SAMPLER_GRID) {
        nn__grid_point(s, (size_t)i, x);
        return NN_OK;
    }
    int n_obs = i - s->lag;
    if (!uses_tpe(s, i) || n_obs < 2) {
        nn__random_point(s, &rng, x);
        return NN_OK;
    }
    int *order = NULL;
    nn__tpe_obs *obs = malloc((size_t)n_obs * sizeof *obs);
    int n_ranked = obs ? nn__rank(st, n_obs, &order) : -1;
    if (n_ranked < 0) {
        free(obs);
        return nn_nomem(err, "tpe");
    }
    int n_good = (int)ceil(s->gamma * n_obs);
    if (n_good < 1) n_good = 1;
    for (int k = 0; k < n_obs; k++) {
        obs[k].x = st->trials[order[k]].x;
        obs[k].good = k < n_good && st->trials[order[k]].status != NN_TRIAL_FAILED;
    }
    nn_status rc = nn__tpe_sample(s, obs, (size_t)n_obs, &rng, x, err);
    free(order);
    free(obs);
    return rc;
}

/* Makes trial st->n from x (values, spec, rungs). A spec that does not parse fails the trial. */
static nn_status add_trial(nn_study *st, double *x_take, nn_error *err) {
    const nn_study_spec *s = st->spec;
    if (st->n == st->cap) {
        int cap = st->cap ? st->cap * 2 : 16;
        nn_trial *t = realloc(st->trials, (size_t)cap * sizeof *t);
        if (!t) {
            free(x_take);
            return nn_nomem(err, "study trials");
        }
        st->trials = t;
        st->cap = cap;
    }
    nn_trial *t = &st->trials[st->n];
    memset(t, 0, sizeof *t);
    t->index = st->n;
    t->x = x_take;
    st->n++; /* from here on the trial (and x) is the machine's */
    t->values = json_object();
    if (!t->values) return nn_nomem(err, "study values");
    for (size_t d = 0; d < s->n_params; d++)
        if (json_object_set_new(t->values, s->params[d].pointer,
                                nn__param_value(&s->params[d], t->x[d])))
            return nn_nomem(err, "study values");
    nn_spec_errors errs;
    nn_status rc = nn_study_apply(s, t->values, t->index, &t->spec, &errs);
    if (rc == NN_ERR_NOMEM) return nn_nomem(err, "trial spec");
    if (rc != NN_OK) {
        t->status = NN_TRIAL_FAILED;
        char why[sizeof errs.items[0].pointer + sizeof errs.items[0].message + 32];
        (void)snprintf(why, sizeof why, "invalid spec: %s%s%s", errs.items[0].pointer,
                       *errs.items[0].pointer ? ": " : "", errs.items[0].message);
        (void)snprintf(t->error, sizeof t->error, "%.*s", (int)sizeof t->error - 1, why);
        st->n_failed++;
        update_status(st);
        return NN_OK;
    }
    int min_epochs = s->pruner == NN_PRUNER_ASHA ? s->min_epochs : 0;
    t->n_rungs = nn_asha_rungs(t->spec->epochs, min_epochs, s->reduction_factor, t->rung_epochs,
                               NN_STUDY_MAX_RUNGS);
    return NN_OK;
}

static int budget_left(const nn_study *st) {
    const nn_study_spec *s = st->spec;
    if (st->n >= s->max_trials) return 0;
    if (s->sampler == NN_SAMPLER_GRID && (size_t)st->n >= nn_study_grid_size(s)) return 0;
    return 1;
}

/* Samples the next trial when allowed: 1 when one was added, 0 when it must wait or the budget
 * is spent, -1 on error. */
static int new_trial(nn_study *st, nn_error *err) {
    if (!budget_left(st)) return 0;
    int i = st->n;
    if (uses_tpe(st->spec, i) && !tpe_ready(st, i)) return 0;
    double *x = calloc(st->spec->n_params + 1, sizeof *x);
    if (!x) {
        (void)nn_nomem(err, "study sample");
        return -1;
    }
    if (sample(st, i, x, err) != NN_OK) {
        free(x);
        return -1;
    }
    return add_trial(st, x, err) == NN_OK ? 1 : -1;
}

/* ---- work ---- */

static int in_progress(const nn_study *st) {
    for (int i = 0; i < st->n; i++)
        if (st->trials[i].handed_out) return 1;
    return 0;
}

nn_status nn_study_next(nn_study *st, nn_study_work *w, nn_error *err) {
    memset(w, 0, sizeof *w);
    w->trial = -1;
    for (;;) {
        if (st->status != NN_STUDY_RUNNING) {
            w->kind = NN_WORK_DONE;
            return NN_OK;
        }
        for (int i = 0; i < st->n; i++) {
            nn_trial *t = &st->trials[i];
            if (t->status != NN_TRIAL_RUNNING || t->handed_out || t->reached != t->decided ||
                t->reached >= t->n_rungs)
                continue;
            t->handed_out = 1;
            w->kind = NN_WORK_TRAIN;
            w->trial = i;
            w->rung = t->reached;
            w->from_epoch = t->reached ? t->rung_epochs[t->reached - 1] : 0;
            w->until_epoch = t->rung_epochs[t->reached];
            w->last = t->reached == t->n_rungs - 1;
            st->epoch_folds +=
                (long long)(w->until_epoch - w->from_epoch) * (long long)nn__trial_folds(t);
            return NN_OK;
        }
        int added = new_trial(st, err);
        if (added < 0) return err ? err->code : NN_ERR_NOMEM;
        if (added > 0) continue; /* hand out its first rung (or it failed: look again) */
        int all_ended = 1;
        for (int i = 0; i < st->n; i++)
            if (!ended(&st->trials[i])) all_ended = 0;
        if (all_ended && !budget_left(st)) {
            st->status = NN_STUDY_COMPLETED;
            continue;
        }
        w->kind = NN_WORK_WAIT;
        return NN_OK;
    }
}

void nn_study_release(nn_study *st, int trial) {
    if (trial >= 0 && trial < st->n) st->trials[trial].handed_out = 0;
}

static nn_status check_trial(nn_study *st, int trial, nn_error *err) {
    if (trial < 0 || trial >= st->n)
        return nn_error_set(err, NN_ERR_INVALID, "no trial %d", trial + 1);
    if (st->trials[trial].status != NN_TRIAL_RUNNING)
        return nn_error_set(err, NN_ERR_CONFLICT, "trial %d has ended (%s)", trial + 1,
                            nn_trial_status_name(st->trials[trial].status));
    return NN_OK;
}

nn_status nn_study_report_rung(nn_study *st, int trial, int rung, const double *fold_values,
                               int n_folds, nn_error *err) {
    nn_status rc = check_trial(st, trial, err);
    if (rc != NN_OK) return rc;
    nn_trial *t = &st->trials[trial];
    if (rung != t->reached || rung >= t->n_rungs)
        return nn_error_set(err, NN_ERR_CONFLICT, "trial %d: rung %d reported, %d expected",
                            trial + 1, rung, t->reached);
    double sum = 0;
    for (int f = 0; f < n_folds; f++) sum += fold_values[f];
    double mean = n_folds > 0 ? sum / n_folds : NAN;
    if (!isfinite(mean))
        return nn_study_report_failed(st, trial, "the objective is not a number (diverged)", err);
    t->rung_value[rung] = mean;
    t->reached = rung + 1;
    t->handed_out = 0;
    return decide(st, err);
}

nn_status nn_study_report_complete(nn_study *st, int trial, const nn_trial_result *res,
                                   nn_error *err) {
    nn_status rc = check_trial(st, trial, err);
    if (rc != NN_OK) return rc;
    nn_trial *t = &st->trials[trial];
    if (t->reached != t->n_rungs)
        return nn_error_set(err, NN_ERR_CONFLICT, "trial %d completed at rung %d of %d", trial + 1,
                            t->reached, t->n_rungs);
    json_t *m = res->metrics ? json_deep_copy(res->metrics) : NULL;
    if (res->metrics && !m) return nn_nomem(err, "trial metrics");
    t->result = *res;
    t->result.metrics = m;
    t->status = NN_TRIAL_COMPLETED;
    t->handed_out = 0;
    return decide(st, err);
}

nn_status nn_study_report_failed(nn_study *st, int trial, const char *why, nn_error *err) {
    nn_status rc = check_trial(st, trial, err);
    if (rc != NN_OK) return rc;
    nn_trial *t = &st->trials[trial];
    t->status = NN_TRIAL_FAILED;
    t->handed_out = 0;
    (void)snprintf(t->error, sizeof t->error, "%s", why ? why : "failed");
    st->n_failed++;
    update_status(st);
    return decide(st, err);
}

void nn_study_cancel(nn_study *st) {
    if (st->status == NN_STUDY_RUNNING) st->status = NN_STUDY_CANCELLED;
}

nn_study_status nn_study_get_status(const nn_study *st) { return st->status; }
const char *nn_study_error(const nn_study *st) { return st->error; }
int nn_study_n_trials(const nn_study *st) { return st->n; }
const nn_trial *nn_study_trial(const nn_study *st, int i) {
    return i >= 0 && i < st->n ? &st->trials[i] : NULL;
}
long long nn_study_epoch_folds(const nn_study *st) { return st->epoch_folds; }
int nn_study_in_progress(const nn_study *st) { return in_progress(st); }

/* ---- restore ---- */

static nn_status restore_trial(nn_study *st, const json_t *rec, nn_error *err) {
    int i = st->n;
    double *x = calloc(st->spec->n_params + 1, sizeof *x);
    if (!x) return nn_nomem(err, "study restore");
    nn_status rc = sample(st, i, x, err);
    if (rc != NN_OK) {
        free(x);
        return rc;
    }
    if ((rc = add_trial(st, x, err)) != NN_OK) return rc;
    nn_trial *t = &st->trials[i];
    if (!json_equal(t->values, json_object_get(rec, "values")))
        return nn_error_set(err, NN_ERR_INVALID,
                            "trial %d: the stored values differ from the sampled ones", i + 1);
    nn_trial_status status;
    const char *sname = json_string_value(json_object_get(rec, "status"));
    if (!sname || nn_trial_status_from_name(sname, &status) != 0)
        return nn_error_set(err, NN_ERR_INVALID, "trial %d: bad status", i + 1);
    if (t->status == NN_TRIAL_FAILED) return NN_OK; /* its spec did not parse, again */
    const json_t *rungs = json_object_get(rec, "rungs");
    size_t k;
    const json_t *v;
    json_array_foreach(rungs, k, v) {
        if ((int)k >= t->n_rungs) break;
        t->rung_value[k] = json_number_value(v);
        t->reached = (int)k + 1;
    }
    t->status = status;
    if (status == NN_TRIAL_FAILED) {
        st->n_failed++;
        const char *e = json_string_value(json_object_get(rec, "error"));
        (void)snprintf(t->error, sizeof t->error, "%s", e ? e : "failed");
    }
    t->decided = status == NN_TRIAL_PRUNED      ? t->reached
                 : status == NN_TRIAL_COMPLETED ? t->n_rungs - 1
                 : t->reached > 0               ? t->reached - 1
                                                : 0;
    if (status == NN_TRIAL_COMPLETED) {
        const json_t *r = json_object_get(rec, "result");
        t->result.mean = json_is_number(json_object_get(r, "mean"))
                             ? json_number_value(json_object_get(r, "mean"))
                             : NAN;
        t->result.sd = json_is_number(json_object_get(r, "sd"))
                           ? json_number_value(json_object_get(r, "sd"))
                           : NAN;
        t->result.oof = json_is_number(json_object_get(r, "oof"))
                            ? json_number_value(json_object_get(r, "oof"))
                            : NAN;
        t->result.seconds = json_number_value(json_object_get(r, "seconds"));
        t->result.n_params = (size_t)json_integer_value(json_object_get(r, "params"));
        t->result.metrics = json_deep_copy(json_object_get(r, "metrics"));
    }
    return NN_OK;
}

nn_status nn_study_restore(nn_study *st, const json_t *state, nn_error *err) {
    if (st->n != 0) return nn_error_set(err, NN_ERR_INVALID, "restore into a new study only");
    const json_t *trials = json_object_get(state, "trials");
    if (!json_is_array(trials)) return nn_error_set(err, NN_ERR_INVALID, "no \"trials\" list");
    size_t i;
    const json_t *rec;
    json_array_foreach(trials, i, rec) {
        nn_status rc = restore_trial(st, rec, err);
        if (rc != NN_OK) return rc;
    }
    st->epoch_folds = json_integer_value(json_object_get(state, "epoch_folds"));
    update_status(st);
    const char *s = json_string_value(json_object_get(state, "status"));
    if (s && strcmp(s, "cancelled") == 0) nn_study_cancel(st);
    return decide(st, err);
}
