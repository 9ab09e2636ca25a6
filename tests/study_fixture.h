/* study_fixture.h — what the study tests share: a small study document, a simulated objective
 * (a function of the sampled values, the epoch and the fold, so every "training" is
 * deterministic) and a driver that runs a study with W simulated workers that report in an
 * order of their own (last handed out first, or shuffled by a fixed LCG). */
#ifndef STUDY_FIXTURE_H
#define STUDY_FIXTURE_H

#include "nn_study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_SPEC                                                                                  \
    "{\"target\": \"y\", \"network\": {\"hidden\": [{\"units\": 8}], \"l2\": 0.001},"              \
    " \"training\": {\"epochs\": 27, \"optimizer\": {\"type\": \"adam\", \"learning_rate\": "      \
    "0.01}, \"validation\": {\"type\": \"kfold\", \"k\": 3}}}"

/* A study of BASE_SPEC with `rest` (more top-level keys, starting with a comma). */
static nn_study_spec *study_of(const char *space, const char *rest, nn_spec_errors *errs) {
    char text[4096];
    (void)snprintf(text, sizeof text,
                   "{\"name\": \"t\", \"seed\": 7, \"base\": %s, \"space\": %s%s}", BASE_SPEC,
                   space, rest);
    nn_study_spec *s = NULL;
    if (nn_study_parse(text, strlen(text), &s, errs) != NN_OK) return NULL;
    return s;
}

#define SPACE2                                                                                     \
    "{\"/training/optimizer/learning_rate\": {\"type\": \"float\", \"low\": 1e-4, \"high\": 1e-1," \
    " \"log\": true}, \"/network/hidden/0/units\": {\"type\": \"int\", \"low\": 16, \"high\": "    \
    "128, \"step\": 16}}"

/* The sampled value at ptr, or the base spec's (def) when ptr is not searched. */
static double value_or(const nn_trial *t, const char *ptr, double def) {
    const json_t *v = json_object_get(t->values, ptr);
    return v ? json_number_value(v) : def;
}
static double value_num(const nn_trial *t, const char *ptr) { return value_or(t, ptr, NAN); }

/* The simulated objective (r2-like, maximized): best near lr 10^-2.5 and 64 units, rising
 * with the epochs, a little different per fold. */
static double sim_objective(const nn_trial *t, int epoch, int fold) {
    double lr = value_or(t, "/training/optimizer/learning_rate", 0.01);
    double units = value_or(t, "/network/hidden/0/units", 8) + value_or(t, "/network/l2", 0);
    double q = 1 - pow(log10(lr) + 2.5, 2) / 4 - pow((units - 64) / 128, 2);
    return q * (1 - 0.5 * exp(-epoch / 8.0)) + 0.01 * fold;
}

typedef struct sim_opts {
    int workers;
    int shuffle;    /* 0: report the last handed out first; 1: an LCG picks */
    int fail_units; /* trials with this many units fail (0: none) */
    int stop_after; /* > 0: stop after this many reports (for restore tests) */
} sim_opts;

/* Runs st until done (or stop_after reports); returns the number of reports. */
static int sim_run(nn_study *st, const sim_opts *o) {
    nn_study_work pending[64];
    int n_pending = 0, reports = 0;
    unsigned lcg = 12345;
    for (;;) {
        int done = 0;
        while (n_pending < o->workers) {
            nn_study_work w;
            nn_error err;
            if (nn_study_next(st, &w, &err) != NN_OK) return -1;
            if (w.kind != NN_WORK_TRAIN) {
                done = w.kind == NN_WORK_DONE;
                break;
            }
            pending[n_pending++] = w;
        }
        if (n_pending == 0) {
            if (done) break;
            return -2; /* waiting with nothing in progress: a deadlock */
        }
        int k = n_pending - 1;
        if (o->shuffle) {
            lcg = lcg * 1103515245u + 12345u;
            k = (int)((lcg >> 16) % (unsigned)n_pending);
        }
        nn_study_work w = pending[k];
        pending[k] = pending[--n_pending];
        const nn_trial *t = nn_study_trial(st, w.trial);
        nn_error err;
        if (o->fail_units && value_num(t, "/network/hidden/0/units") == o->fail_units) {
            (void)nn_study_report_failed(st, w.trial, "diverged", &err);
        } else {
            double v[3], sum = 0, ss = 0;
            for (int f = 0; f < 3; f++) {
                v[f] = sim_objective(t, w.until_epoch, f);
                sum += v[f];
            }
            (void)nn_study_report_rung(st, w.trial, w.rung, v, 3, &err);
            if (w.last && nn_study_trial(st, w.trial)->status == NN_TRIAL_RUNNING) {
                for (int f = 0; f < 3; f++) ss += pow(v[f] - sum / 3, 2);
                nn_trial_result r = {sum / 3, sqrt(ss / 2), sum / 3, NULL, 1.0, 100};
                (void)nn_study_report_complete(st, w.trial, &r, &err);
            }
        }
        reports++;
        if (o->stop_after > 0 && reports >= o->stop_after) {
            for (int i = 0; i < n_pending; i++) nn_study_release(st, pending[i].trial);
            break;
        }
    }
    return reports;
}

/* The state of a study run to the end as compact JSON text (malloc'd). */
static char *sim_state(const nn_study_spec *s, const sim_opts *o) {
    nn_study *st = NULL;
    nn_error err;
    if (nn_study_create(s, &st, &err) != NN_OK) return NULL;
    char *text = NULL;
    if (sim_run(st, o) >= 0) {
        json_t *j = nn_study_to_json(st);
        json_object_del(j, "epoch_folds");
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        json_decref(j);
    }
    nn_study_destroy(st);
    return text;
}

#endif
