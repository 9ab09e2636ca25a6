/* nn_study_board.c — ranking, the leaderboard (JSON and CSV) and the state as JSON.
 *
 * DESIGN: one order for everything that ranks trials (the leaderboard, the best trial, TPE's
 * good trials, the ensemble's candidates): completed trials by their objective's fold mean in
 * the study's direction, then running ones, then pruned ones by rungs reached (more first) and
 * the value at their last rung, then failed ones; a NaN objective ranks after the numbers of its
 * group, and ties go to the lower trial number, so the order is total and reproducible.
 */
#include "nn_study_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

NN_ENUM_DEFINE(nn_trial_status, nn_trial_status, NN_TRIAL_STATUS_TABLE, NN_TRIAL_STATUS_COUNT)
NN_ENUM_DEFINE(nn_study_status, nn_study_status, NN_STUDY_STATUS_TABLE, NN_STUDY_STATUS_COUNT)

static int group(const nn_trial *t) {
    switch (t->status) {
    case NN_TRIAL_COMPLETED:
        return 0;
    case NN_TRIAL_RUNNING:
        return 1;
    case NN_TRIAL_PRUNED:
        return 2;
    default:
        return 3;
    }
}

/* -1 when a is better than b in the direction, 1 when worse, 0 when equal (NaN worst). */
static int cmp_value(double a, double b, int maximize) {
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    if (a == b) return 0;
    return (maximize ? a > b : a < b) ? -1 : 1;
}

static int cmp_trials(const nn_trial *a, const nn_trial *b, int maximize) {
    int ga = group(a), gb = group(b), c = 0;
    if (ga != gb) return ga < gb ? -1 : 1;
    if (ga == 0) {
        c = cmp_value(a->result.mean, b->result.mean, maximize);
    } else if (ga == 2) {
        if (a->reached != b->reached) return a->reached > b->reached ? -1 : 1;
        if (a->reached > 0)
            c = cmp_value(a->rung_value[a->reached - 1], b->rung_value[b->reached - 1], maximize);
    }
    if (c) return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

int nn__rank(const nn_study *st, int n, int **order) {
    *order = NULL;
    if (n < 0) return -1;
    int *o = malloc(((size_t)n + 1) * sizeof *o);
    if (!o) return -1;
    /* insertion sort: stable, n is small (≤ NN_STUDY_MAX_TRIALS) and mostly sorted */
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && cmp_trials(&st->trials[i], &st->trials[o[j - 1]], st->spec->maximize) < 0) {
            o[j] = o[j - 1];
            j--;
        }
        o[j] = i;
    }
    *order = o;
    return n;
}

int nn_study_ranking(const nn_study *st, int **order, nn_error *err) {
    int n = nn__rank(st, st->n, order);
    if (n < 0) (void)nn_nomem(err, "ranking");
    return n;
}

int nn_study_best(const nn_study *st) {
    int best = -1;
    for (int i = 0; i < st->n; i++)
        if (st->trials[i].status == NN_TRIAL_COMPLETED &&
            (best < 0 || cmp_trials(&st->trials[i], &st->trials[best], st->spec->maximize) < 0))
            best = i;
    return best;
}

static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static int epochs_reached(const nn_trial *t) {
    return t->reached > 0 ? t->rung_epochs[t->reached - 1] : 0;
}

/* ---- the state ---- */

static json_t *trial_json(const nn_trial *t) {
    json_t *rungs = json_array();
    for (int r = 0; rungs && r < t->reached; r++)
        if (json_array_append_new(rungs, json_real(t->rung_value[r]))) {
            json_decref(rungs);
            rungs = NULL;
        }
    json_t *o = json_pack("{s:i, s:O, s:s, s:o}", "trial", t->index, "values", t->values, "status",
                          nn_trial_status_name(t->status), "rungs", rungs);
    if (!o) return NULL;
    int bad = 0;
    if (t->status == NN_TRIAL_COMPLETED) {
        json_t *r =
            json_pack("{s:o, s:o, s:o, s:f, s:I}", "mean", number_or_null(t->result.mean), "sd",
                      number_or_null(t->result.sd), "oof", number_or_null(t->result.oof), "seconds",
                      t->result.seconds, "params", (json_int_t)t->result.n_params);
        if (r && t->result.metrics) bad |= json_object_set(r, "metrics", t->result.metrics);
        bad |= !r || json_object_set_new(o, "result", r);
    }
    if (t->status == NN_TRIAL_FAILED) bad |= json_object_set_new(o, "error", json_string(t->error));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *nn_study_to_json(const nn_study *st) {
    json_t *trials = json_array();
    for (int i = 0; trials && i < st->n; i++)
        if (json_array_append_new(trials, trial_json(&st->trials[i]))) {
            json_decref(trials);
            trials = NULL;
        }
    return json_pack("{s:s, s:I, s:o}", "status", nn_study_status_name(st->status), "epoch_folds",
                     (json_int_t)st->epoch_folds, "trials", trials);
}

/* ---- the leaderboard ---- */

static json_t *board_row(const nn_study *st, const nn_trial *t, int rank) {
    json_t *o = json_pack("{s:i, s:i, s:s, s:O, s:i, s:i}", "rank", rank, "trial", t->index + 1,
                          "status", nn_trial_status_name(t->status), "values", t->values, "epochs",
                          epochs_reached(t), "rungs", t->reached);
    if (!o) return NULL;
    int bad = 0;
    const char *obj = nn_objective_name(st->spec->objective);
    bad |= json_object_set_new(o, "metric", json_string(obj));
    if (t->status == NN_TRIAL_COMPLETED) {
        bad |= json_object_set_new(o, "objective", number_or_null(t->result.mean));
        bad |= json_object_set_new(o, "objective_sd", number_or_null(t->result.sd));
        bad |= json_object_set_new(o, "objective_oof", number_or_null(t->result.oof));
        bad |= json_object_set_new(o, "seconds", json_real(t->result.seconds));
        bad |= json_object_set_new(o, "params", json_integer((json_int_t)t->result.n_params));
        if (t->result.metrics) bad |= json_object_set(o, "metrics", t->result.metrics);
    } else if (t->reached > 0) {
        bad |= json_object_set_new(o, "objective", number_or_null(t->rung_value[t->reached - 1]));
    }
    if (t->status == NN_TRIAL_FAILED) bad |= json_object_set_new(o, "error", json_string(t->error));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *nn_study_leaderboard(const nn_study *st) {
    int *order = NULL;
    if (nn__rank(st, st->n, &order) < 0) return NULL;
    json_t *a = json_array();
    for (int k = 0; a && k < st->n; k++)
        if (json_array_append_new(a, board_row(st, &st->trials[order[k]], k + 1))) {
            json_decref(a);
            a = NULL;
        }
    free(order);
    return a;
}

/* Appends printf output to a growing buffer; returns 0 or -1 (out of memory). */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_add(sbuf *b, const char *text, size_t len) {
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + len;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, text, len);
    b->n += len;
    b->p[b->n] = '\0';
    return 0;
}

/* A CSV field: quoted when it has a comma, quote or line break. */
static int sb_field(sbuf *b, const char *text, int comma) {
    int bad = comma ? sb_add(b, ",", 1) : 0;
    if (!strpbrk(text, ",\"\r\n")) return bad | sb_add(b, text, strlen(text));
    bad |= sb_add(b, "\"", 1);
    for (const char *c = text; *c; c++) bad |= sb_add(b, c, 1) | (*c == '"' ? sb_add(b, c, 1) : 0);
    return bad | sb_add(b, "\"", 1);
}

static double number_of(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static int sb_num(sbuf *b, double v) {
    char t[40] = "";
    if (isfinite(v)) (void)snprintf(t, sizeof t, "%.10g", v);
    return sb_field(b, t, 1);
}

char *nn_study_leaderboard_csv(const nn_study *st) {
    const nn_study_spec *s = st->spec;
    int *order = NULL;
    if (nn__rank(st, st->n, &order) < 0) return NULL;
    sbuf b = {0};
    int bad = sb_add(&b, "rank,trial,status", 17);
    for (size_t d = 0; d < s->n_params; d++) bad |= sb_field(&b, s->params[d].pointer, 1);
    bad |= sb_add(&b, ",objective,objective_sd,objective_oof", 37);
    const char *const *keys = nn_study_metric_keys(nn_objective_task(s->objective));
    for (size_t q = 0; keys[q]; q++) bad |= sb_field(&b, keys[q], 1);
    bad |= sb_add(&b, ",epochs,seconds,params,error\n", 29);
    for (int k = 0; k < st->n && !bad; k++) {
        const nn_trial *t = &st->trials[order[k]];
        char head[64];
        int n = snprintf(head, sizeof head, "%d,%d,%s", k + 1, t->index + 1,
                         nn_trial_status_name(t->status));
        bad |= sb_add(&b, head, (size_t)n);
        for (size_t d = 0; d < s->n_params; d++) {
            char *v = json_dumps(json_object_get(t->values, s->params[d].pointer),
                                 JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
            bad |= !v || sb_field(&b, v, 1);
            free(v);
        }
        int done = t->status == NN_TRIAL_COMPLETED;
        double obj = done ? t->result.mean : t->reached ? t->rung_value[t->reached - 1] : NAN;
        bad |= sb_num(&b, obj) | sb_num(&b, done ? t->result.sd : NAN) |
               sb_num(&b, done ? t->result.oof : NAN);
        for (size_t q = 0; keys[q]; q++)
            bad |= sb_num(&b, done ? number_of(json_object_get(t->result.metrics, keys[q])) : NAN);
        bad |= sb_num(&b, epochs_reached(t)) | sb_num(&b, done ? t->result.seconds : NAN) |
               sb_num(&b, done ? (double)t->result.n_params : NAN) |
               sb_field(&b, t->status == NN_TRIAL_FAILED ? t->error : "", 1) | sb_add(&b, "\n", 1);
    }
    free(order);
    if (bad) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
