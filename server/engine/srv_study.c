/* srv_study.c — the study driver's thread and its step of one study (see srv_study.h); the
 * runs it queues and the results it computes are srv_study_runs.c. */
#include "srv_study.h"

#include "srv_study_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_study_driver {
    srv_ctx *ctx;
    srv_study_hooks hooks;
    srv__active *active; /* (n_active) studies held in memory */
    size_t n_active;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop, poked;
    int unreachable; /* the last step could not list the studies (said once, not every step) */
};

static void active_free(srv__active *a) {
    nn_study_destroy(a->st);
    nn_study_spec_destroy(a->spec);
    free(a->work);
    free(a->seen);
    memset(a, 0, sizeof *a);
}

/* Loads a running study into a (the machine rebuilt from its saved record). */
static nn_status load(srv_store *s, const char *id, srv__active *a, char *why, size_t cap,
                      nn_error *err) {
    memset(a, 0, sizeof *a);
    srv_study row;
    nn_status rc = srv_study_get(s, id, &row, err);
    if (rc != NN_OK) return rc;
    (void)snprintf(a->id, sizeof a->id, "%s", id);
    (void)snprintf(a->dataset, sizeof a->dataset, "%s", row.dataset_id);
    (void)snprintf(a->holdout, sizeof a->holdout, "%s", row.holdout_id);
    nn_spec_errors errs;
    if (nn_study_parse(row.doc_json, strlen(row.doc_json), &a->spec, &errs) != NN_OK) {
        (void)snprintf(why, cap, "the stored study does not parse: %s: %s", errs.items[0].pointer,
                       errs.items[0].message);
        srv_study_free(&row);
        return NN_ERR_SPEC;
    }
    rc = nn_study_create(a->spec, &a->st, err);
    if (rc == NN_OK && row.state_json) {
        json_t *state = json_loads(row.state_json, 0, NULL);
        rc = state ? nn_study_restore(a->st, state, err)
                   : nn_error_set(err, NN_ERR_PARSE, "the stored state is not JSON");
        json_decref(state);
        if (rc != NN_OK) (void)snprintf(why, cap, "cannot resume: %s", err->msg);
    }
    srv_study_free(&row);
    int64_t seq = 0;
    if (rc == NN_OK) rc = srv_study_last_seq(s, id, &seq, err);
    if (rc == NN_OK) {
        rc = srv__study_mark(a, seq, err);
        if (!a->seq && !nn_study_n_trials(a->st)) a->seen_status = -1; /* "running" is news */
    }
    if (rc != NN_OK) {
        active_free(a);
        return rc;
    }
    return NN_OK;
}

/* Saves the record, the leaderboard and the status (with results and error when given), while
 * node holds the study's lease. */
static nn_status save(srv_store *s, srv__active *a, const char *node, const char *result,
                      const char *error, nn_error *err) {
    json_t *state = nn_study_to_json(a->st), *board = nn_study_leaderboard(a->st);
    char *state_text = state ? json_dumps(state, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    char *board_text = board ? json_dumps(board, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    char *csv = nn_study_leaderboard_csv(a->st);
    json_decref(state);
    json_decref(board);
    srv_event *ev = NULL;
    size_t n_ev = 0;
    nn_status rc = srv__study_diff(a, &ev, &n_ev, err);
    if (rc == NN_OK && (!state_text || !board_text || !csv)) {
        rc = nn_error_set(err, NN_ERR_NOMEM, "out of memory saving study %s", a->id);
    } else if (rc == NN_OK) {
        srv_study_save v = {nn_study_status_name(nn_study_get_status(a->st)),
                            state_text,
                            board_text,
                            csv,
                            result,
                            error,
                            ev,
                            n_ev,
                            node};
        rc = srv_study_put(s, a->id, &v, err);
    }
    if (rc == NN_OK) rc = srv__study_mark(a, a->seq + (int64_t)n_ev, err);
    srv_events_free(ev, n_ev);
    free(state_text);
    free(board_text);
    free(csv);
    return rc;
}

/* Drops the fold states of study a's trial (trial < 0: all), which nothing will continue. */
static void drop_states(srv_store *s, const srv__active *a, int trial) {
    nn_error err = {0};
    if (srv_fold_states_drop(s, a->id, trial, &err) != NN_OK)
        (void)fprintf(stderr, "nnd: study %s: %s\n", a->id, err.msg);
}

/* Reads the runs of the work in progress and reports those that ended (a trial that ended with
 * it drops its fold states); 1 when any did. */
static int collect(srv_study_driver *d, srv_store *s, srv__active *a) {
    int changed = 0;
    for (size_t k = 0; k < a->n_work;) {
        srv__work *w = &a->work[k];
        nn_error err = {0};
        int ended = 0;
        if (srv__work_report(s, a, w, &ended, &err) != NN_OK)
            (void)fprintf(stderr, "nnd: study %s, trial %d: %s\n", a->id, w->trial + 1, err.msg);
        if (!ended) {
            k++;
            continue;
        }
        changed = 1;
        if (nn_study_trial(a->st, w->trial)->status != NN_TRIAL_RUNNING)
            drop_states(s, a, w->trial);
        a->work[k] = a->work[--a->n_work];
    }
    (void)d;
    return changed;
}

/* Hands out work until the machine waits, or until the study has 2 × --workers runs queued or
 * training (a random search of thousands of trials is not thousands of queued runs at once;
 * what is handed out when never changes what is decided); 1 when any was queued. */
static int hand_out(srv_study_driver *d, srv_store *s, srv__active *a) {
    int queued = 0;
    size_t cap = d->ctx->cfg.workers > 1 ? (size_t)d->ctx->cfg.workers * 2 : 2;
    while (a->n_work < cap) {
        nn_study_work w;
        nn_error err = {0};
        if (nn_study_next(a->st, &w, &err) != NN_OK) {
            (void)fprintf(stderr, "nnd: study %s: %s\n", a->id, err.msg);
            break;
        }
        if (w.kind != NN_WORK_TRAIN) break;
        srv__work *nw = realloc(a->work, (a->n_work + 1) * sizeof *nw);
        if (!nw) {
            nn_study_release(a->st, w.trial);
            break;
        }
        a->work = nw;
        srv__work *x = &a->work[a->n_work];
        memset(x, 0, sizeof *x);
        x->trial = w.trial;
        x->rung = w.rung;
        x->last = w.last;
        x->until_epoch = w.until_epoch;
        int created = 0;
        if (srv__work_run(s, a, x, &created, &err) != NN_OK) {
            (void)fprintf(stderr, "nnd: study %s, trial %d: %s\n", a->id, w.trial + 1, err.msg);
            nn_study_release(a->st, w.trial);
            break;
        }
        a->n_work++;
        queued |= created;
    }
    if (queued && d->hooks.wake) d->hooks.wake(d->hooks.user);
    return queued;
}

/* Cancels every run of the study that has not finished (those of the work in progress, and any
 * an earlier process queued: a cancel may have been asked just before a restart). */
static void cancel_work(srv_study_driver *d, srv_store *s, srv__active *a) {
    char *ids = NULL;
    size_t n = 0;
    nn_error err = {0};
    if (srv_study_run_ids(s, a->id, &ids, &n, &err) != NN_OK)
        (void)fprintf(stderr, "nnd: study %s: %s\n", a->id, err.msg);
    for (size_t k = 0; k < n; k++) {
        const char *run = ids + k * (SRV_ID_LEN + 1);
        if (d->hooks.cancel && d->hooks.cancel(d->hooks.user, s, run, &err) != NN_OK &&
            err.code != NN_ERR_NOT_FOUND)
            (void)fprintf(stderr, "nnd: study %s: cancelling run %s: %s\n", a->id, run, err.msg);
    }
    free(ids);
    a->n_work = 0;
}

/* One step of study a; returns 1 when it ended (the caller drops it). */
static int step(srv_study_driver *d, srv_store *s, srv__active *a) {
    nn_error err = {0};
    int cancel = 0;
    if (srv_study_cancel_requested(s, a->id, &cancel, &err) != NN_OK)
        return err.code == NN_ERR_NOT_FOUND;
    int changed = a->fresh;
    a->fresh = 0;
    if (cancel) {
        nn_study_cancel(a->st);
        changed = 1;
    } else {
        changed |= collect(d, s, a);
        changed |= hand_out(d, s, a);
    }
    nn_study_status status = nn_study_get_status(a->st);
    char *result = NULL;
    const char *error = NULL;
    if (status == NN_STUDY_COMPLETED) {
        result = srv__study_results(s, a, &err);
        if (!result) (void)fprintf(stderr, "nnd: study %s: results: %s\n", a->id, err.msg);
    } else if (status == NN_STUDY_FAILED) {
        error = nn_study_error(a->st);
        cancel_work(d, s, a);
    } else if (status == NN_STUDY_CANCELLED) {
        error = "cancelled";
        cancel_work(d, s, a);
    }
    if (changed || status != NN_STUDY_RUNNING) {
        if (save(s, a, d->ctx->node, result, error, &err) != NN_OK) {
            (void)fprintf(stderr, "nnd: study %s: %s\n", a->id, err.msg);
            free(result);
            return 0; /* saved at the next step */
        }
        if (d->hooks.saved) d->hooks.saved(d->hooks.user, a->id);
    }
    if (status != NN_STUDY_RUNNING) drop_states(s, a, -1); /* the pruned trials' */
    free(result);
    return status != NN_STUDY_RUNNING;
}

static srv__active *find(srv_study_driver *d, const char *id) {
    for (size_t i = 0; i < d->n_active; i++)
        if (strcmp(d->active[i].id, id) == 0) return &d->active[i];
    return NULL;
}

static void drop(srv_study_driver *d, srv__active *a) {
    active_free(a);
    *a = d->active[--d->n_active];
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether this node drives study id (a: held in memory, or NULL): it takes the study's lease
 * when it is free or expired, and renews its own every lease/3 (srv_study_lease). A study
 * another node drives, or whose lease this node lost, is not held in memory: taken over later,
 * it is rebuilt from the stored record. */
static int drives(srv_study_driver *d, srv_store *s, const char *id, srv__active *a) {
    int64_t lease_ms = (int64_t)d->ctx->cfg.lease_seconds * 1000, now = mono_ms();
    if (a && now - a->leased_at < lease_ms / 3) return 1;
    nn_error err = {0};
    int held = 0;
    if (srv_study_lease(s, id, d->ctx->node, lease_ms, &held, &err) != NN_OK) {
        (void)fprintf(stderr, "nnd: study %s: %s\n", id, err.msg);
        return 0;
    }
    if (held && a) a->leased_at = now;
    return held;
}

/* Steps every running study of the store. */
static void step_all(srv_study_driver *d) {
    nn_error err = {0};
    srv_store *s = srv_ctx_store(d->ctx, &err);
    char *ids = NULL;
    size_t n = 0;
    if (!s || srv_study_running(s, &ids, &n, &err) != NN_OK) {
        if (!d->unreachable) (void)fprintf(stderr, "nnd: studies: %s\n", err.msg);
        d->unreachable = 1;
        return;
    }
    d->unreachable = 0;
    for (size_t i = 0; i < n && !atomic_load(&d->ctx->stopping); i++) {
        const char *id = ids + i * (SRV_ID_LEN + 1);
        srv__active *a = find(d, id);
        if (!drives(d, s, id, a)) {
            if (a) drop(d, a);
            continue;
        }
        if (!a) {
            srv__active *na = realloc(d->active, (d->n_active + 1) * sizeof *na);
            if (!na) break;
            d->active = na;
            char why[512] = "";
            nn_status rc = load(s, id, &d->active[d->n_active], why, sizeof why, &err);
            if (rc != NN_OK) {
                (void)fprintf(stderr, "nnd: study %s: %s\n", id, why[0] ? why : err.msg);
                if (why[0]) { /* it will never load: it fails */
                    srv_study_save v = {.status = "failed", .error = why, .node = d->ctx->node};
                    if (srv_study_put(s, id, &v, &err) == NN_OK && d->hooks.saved)
                        d->hooks.saved(d->hooks.user, id);
                }
                continue;
            }
            a = &d->active[d->n_active++];
            a->fresh = 1;
            a->leased_at = mono_ms();
        }
        if (step(d, s, a)) drop(d, a);
    }
    /* studies no longer running (ended elsewhere, deleted) are let go */
    for (size_t i = 0; i < d->n_active;) {
        int running = 0;
        for (size_t k = 0; k < n && !running; k++)
            running = strcmp(ids + k * (SRV_ID_LEN + 1), d->active[i].id) == 0;
        if (running)
            i++;
        else
            drop(d, &d->active[i]);
    }
    free(ids);
}

static void *driver_main(void *arg) {
    srv_study_driver *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        if (!d->poked) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)SRV_STUDY_PERIOD_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            (void)pthread_cond_timedwait(&d->cond, &d->mu, &ts);
        }
        d->poked = 0;
        if (d->stop) break;
        pthread_mutex_unlock(&d->mu);
        step_all(d);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

nn_status srv_study_driver_start(srv_ctx *ctx, const srv_study_hooks *hooks, srv_study_driver **out,
                                 nn_error *err) {
    srv_study_driver *d = calloc(1, sizeof *d);
    if (!d) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the study driver");
    d->ctx = ctx;
    d->hooks = *hooks;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cond, NULL);
    if (pthread_create(&d->thread, NULL, driver_main, d) != 0) {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cond);
        free(d);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start the study driver thread");
    }
    *out = d;
    return NN_OK;
}

void srv_study_driver_wake(srv_study_driver *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->poked = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
}

void srv_study_driver_stop(srv_study_driver *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    nn_error err = {0};
    srv_store *s = srv_ctx_store(d->ctx, &err); /* another node takes the studies over at once */
    if (!s || srv_study_lease_release(s, d->ctx->node, &err) != NN_OK)
        (void)fprintf(stderr, "nnd: cannot release this node's studies: %s\n", err.msg);
    for (size_t i = 0; i < d->n_active; i++) active_free(&d->active[i]);
    free(d->active);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cond);
    free(d);
}
