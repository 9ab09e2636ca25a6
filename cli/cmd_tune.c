/* cmd_tune.c — `nn tune`: a hyperparameter study (lib/study) on a CSV, trained here.
 *
 * The study's state machine hands out rungs one at a time; each is a cross-validated job of the
 * trial's spec cut to the rung ("stop_at": the rung's epochs of the full run, "final": "none"
 * before the last rung), its folds on --threads threads, reported back. A promoted trial's next
 * rung continues each fold from the state its last rung ended in (nn_cv_task_resume), held here
 * until the trial ends, so no epoch is trained twice. With "holdout" the rows are split first (the
 * study's holdout stream) and the best trial's model and the ensemble are scored on the rows set
 * aside. The trials, their values and the pruning are the same as nnd's for the same study and
 * data: both follow the machine's order. */
#include "cli.h"
#include "cli_util.h"

#include "nn_cv.h"
#include "nn_report.h"
#include "nn_study.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A trial's fold states after its last rung (nn_cv_task_state). */
typedef struct trial_states {
    unsigned char *p[NN_SPEC_MAX_K];
    size_t len[NN_SPEC_MAX_K];
    int n;
} trial_states;

static void states_free(trial_states *s) {
    for (int i = 0; i < s->n; i++) free(s->p[i]);
    memset(s, 0, sizeof *s);
}

typedef struct tune {
    const nn_study_spec *s;
    nn_study *st;
    const nn_table *data; /* the rows searched */
    int threads, quiet;
    nn_model **models; /* (max_trials) completed trials' final models */
    double **oof;      /* (max_trials) completed trials' out-of-fold predictions, first target;
                          a classification's class probabilities (n_rows × k) */
    double *actual;    /* (n_rows) the first target of the rows searched */
    size_t n_rows;
    int classify, k, positive; /* a classification: its classes and the positive one's index */
    int *cls;                  /* (n_rows) a classification's class of each row (-1: none) */
    trial_states *states;      /* (max_trials) */
    long long trained;         /* epoch × fold trained (resumed epochs not counted) */
} tune;

/* The trial's spec cut to the rung: the first until_epoch epochs of the full run. */
static nn_spec *rung_spec(const nn_trial *t, const nn_study_work *w, nn_error *err) {
    json_t *doc = nn_spec_to_json(t->spec);
    if (!doc) {
        (void)nn_nomem(err, "spec");
        return NULL;
    }
    if (!w->last) {
        json_t *training = json_object_get(doc, "training");
        (void)json_object_set_new(training, "stop_at", json_integer(w->until_epoch));
        if (t->spec->validation != NN_VAL_NONE)
            (void)json_object_set_new(training, "final", json_string("none"));
    }
    nn_spec *spec = NULL;
    nn_spec_errors errs;
    if (nn_spec_from_json(doc, &spec, &errs) != NN_OK)
        (void)nn_error_set(err, NN_ERR_SPEC, "%s: %s", errs.items[0].pointer,
                           errs.items[0].message);
    json_decref(doc);
    return spec;
}

/* A classification trial's out-of-fold class probabilities (NaN where not validated) and the
 * rows' classes. */
static void keep_probs(tune *tu, int trial, const nn_cv_result *r) {
    size_t k = r->labels->n;
    if (tu->k == 0) {
        tu->k = (int)k;
        tu->positive = k == 2 ? r->labels->positive : -1;
    }
    if ((int)k != tu->k) return; /* other classes: not a candidate */
    double *p = malloc((tu->n_rows * k + 1) * sizeof *p);
    for (size_t i = 0; p && i < tu->n_rows; i++) {
        for (size_t c = 0; c < k; c++)
            p[i * k + c] = r->oof_fold[i] >= 0 ? r->oof_prob[i * k + c] : NAN;
        tu->cls[i] = r->actual_class[i];
    }
    tu->oof[trial] = p;
}

/* Trains w and reports it to the machine. */
static void train(tune *tu, const nn_study_work *w) {
    const nn_trial *t = nn_study_trial(tu->st, w->trial);
    nn_error err = {0};
    nn_spec *spec = rung_spec(t, w, &err);
    nn_cv *cv = NULL;
    nn_cv_cfg cfg = {NULL, NULL, NULL};
    nn_status rc = spec ? nn_cv_create(spec, tu->data, &cfg, &cv, NULL, &err) : err.code;
    trial_states *ts = &tu->states[w->trial];
    for (int f = 0; rc == NN_OK && w->rung > 0 && f < ts->n; f++) {
        nn_error rerr = {0}; /* a state that does not fit: the fold trains from epoch 1 */
        if (nn_cv_task_resume(cv, f, ts->p[f], ts->len[f], &rerr) != NN_OK && !tu->quiet)
            (void)fprintf(stderr, "trial %d fold %d: %s\n", w->trial + 1, f + 1, rerr.msg);
    }
    if (rc == NN_OK) rc = nn_cv_run(cv, tu->threads, &err);
    states_free(ts);
    if (rc == NN_OK) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        for (int f = 0; f < r->n_folds; f++) {
            tu->trained += r->folds[f].epochs_run - r->folds[f].resumed_epoch;
            int epoch = 0;
            if (!w->last && nn_cv_task_state(cv, f, &ts->p[f], &ts->len[f], &epoch, NULL) == NN_OK)
                ts->n = f + 1;
        }
    }
    json_t *metrics = rc == NN_OK ? nn_report_metrics(spec, nn_cv_result_get(cv)) : NULL;
    if (rc == NN_OK && !metrics) rc = nn_nomem(&err, "metrics");
    double v[NN_SPEC_MAX_K + 1];
    int n = metrics ? nn_study_fold_objective(tu->s, metrics, v, NN_SPEC_MAX_K + 1) : 0;
    if (rc != NN_OK || n <= 0) {
        (void)nn_study_report_failed(tu->st, w->trial, rc != NN_OK ? err.msg : "no folds", &err);
    } else if (nn_study_report_rung(tu->st, w->trial, w->rung, v, n, &err) == NN_OK && w->last &&
               t->status == NN_TRIAL_RUNNING) {
        nn_trial_result res;
        if (nn_study_result_from_metrics(tu->s, metrics, &res, &err) == NN_OK) {
            (void)nn_study_report_complete(tu->st, w->trial, &res, &err);
            json_decref(res.metrics);
            const nn_cv_result *r = nn_cv_result_get(cv);
            tu->models[w->trial] = nn_cv_take_model(cv);
            if (tu->classify && r->labels && r->oof_prob && r->actual_class)
                keep_probs(tu, w->trial, r);
            else if (!tu->classify)
                tu->oof[w->trial] = malloc(tu->n_rows * sizeof(double));
            for (size_t i = 0; !tu->classify && tu->oof[w->trial] && i < tu->n_rows; i++) {
                tu->oof[w->trial][i] = r->oof_fold[i] >= 0 ? r->oof_pred[i * r->n_targets] : NAN;
                tu->actual[i] = r->actual[i * r->n_targets];
            }
        }
    }
    if (t->status != NN_TRIAL_RUNNING) states_free(ts);
    if (!tu->quiet) {
        const char *what =
            t->status == NN_TRIAL_RUNNING ? "promoted" : nn_trial_status_name(t->status);
        (void)fprintf(stderr, "trial %d rung %d (%d epochs): ", w->trial + 1, w->rung + 1,
                      w->until_epoch);
        if (t->status == NN_TRIAL_FAILED)
            (void)fprintf(stderr, "failed: %s\n", t->error);
        else
            (void)fprintf(stderr, "%s %.4f, %s\n", nn_objective_name(tu->s->objective),
                          t->rung_value[w->rung], w->last ? "completed" : what);
    }
    json_decref(metrics);
    nn_cv_destroy(cv);
    nn_spec_destroy(spec);
}

static int write_text(const char *dir, const char *name, const char *text) {
    char path[4096];
    (void)snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The metrics of predictions p of the holdout rows against their first target. */
static json_t *holdout_score(const nn_table *h, const char *target, const double *p) {
    int c = nn_table_find(h, target);
    if (c < 0 || !p) return json_null();
    size_t n = 0;
    double *y = malloc((h->n_rows + 1) * 2 * sizeof *y);
    if (!y) return json_null();
    double *q = y + h->n_rows + 1;
    for (size_t i = 0; i < h->n_rows; i++)
        if (isfinite(h->cols[c].num[i]) && isfinite(p[i])) {
            y[n] = h->cols[c].num[i];
            q[n++] = p[i];
        }
    nn_metrics m = nn_metrics_compute(y, q, n, 1);
    free(y);
    return json_pack("{s:o, s:o, s:o, s:I}", "r2", num(m.r2), "rmse", num(m.rmse), "mae",
                     num(m.mae), "rows", (json_int_t)n);
}

static json_t *or_null(json_t *v) { return v ? v : json_null(); }

static json_t *members_json(const tune *tu, const int *member, const int *c, int m, int *counts) {
    json_t *list = json_array();
    for (int j = 0; j < m; j++) {
        counts[member[j]] = c[j];
        if (c[j])
            (void)json_array_append_new(list, json_pack("{s:i, s:i, s:f}", "trial", member[j] + 1,
                                                        "count", c[j], "weight",
                                                        (double)c[j] / tu->s->ensemble_rounds));
    }
    return list;
}

/* A classification's ensemble: selected by the study's objective over the candidates' class
 * probabilities, scored with the best trial's on the rows every candidate predicted. */
static json_t *ensemble_class(tune *tu, const double *const *prob, const int *member, int m,
                              int *counts) {
    const nn_study_spec *s = tu->s;
    int c[NN_STUDY_MAX_TOP];
    double value = NAN;
    nn_error err = {0};
    size_t k = (size_t)tu->k, n = tu->n_rows;
    if (m == 0 ||
        nn_caruana_select_class(prob, (size_t)m, tu->cls, n, tu->k, tu->positive, s->objective,
                                s->maximize, s->ensemble_rounds, c, &value, &err) != NN_OK)
        return json_null();
    int *y = malloc((n + 1) * sizeof *y);
    double *avg = malloc((n * k + 1) * sizeof *avg);
    json_t *oof = NULL, *best = NULL;
    if (y && avg) {
        for (size_t i = 0; i < n; i++) {
            y[i] = tu->cls[i];
            for (int j = 0; j < m; j++)
                for (size_t q = 0; q < k; q++)
                    if (!isfinite(prob[j][i * k + q])) y[i] = -1;
        }
        nn_caruana_average(prob, (size_t)m, c, k, n, avg);
        oof = nn_study_class_score(y, avg, n, tu->k, tu->positive);
        best = nn_study_class_score(y, prob[0], n, tu->k, tu->positive);
    }
    free(y);
    free(avg);
    return json_pack("{s:o, s:s, s:o, s:o, s:o}", "members", members_json(tu, member, c, m, counts),
                     "metric", nn_objective_name(s->objective), "objective_oof", num(value), "oof",
                     or_null(oof), "best_trial_oof", or_null(best));
}

/* The ensemble (Caruana over the top trials' out-of-fold predictions) into out; counts per
 * trial in counts (max_trials, zeroed). */
static json_t *ensemble(tune *tu, int *counts) {
    const nn_study_spec *s = tu->s;
    int *order = NULL;
    nn_error err = {0};
    int n = nn_study_ranking(tu->st, &order, &err);
    const double *pred[NN_STUDY_MAX_TOP];
    int member[NN_STUDY_MAX_TOP], m = 0;
    for (int k = 0; k < n && m < s->ensemble_top; k++) {
        if (nn_study_trial(tu->st, order[k])->status != NN_TRIAL_COMPLETED) break;
        if (!tu->oof[order[k]]) continue;
        member[m] = order[k];
        pred[m++] = tu->oof[order[k]];
    }
    free(order);
    int c[NN_STUDY_MAX_TOP];
    double mse;
    if (tu->classify) return ensemble_class(tu, pred, member, m, counts);
    if (m == 0 || nn_caruana_select(pred, (size_t)m, tu->actual, tu->n_rows, s->ensemble_rounds, c,
                                    &mse, &err) != NN_OK)
        return json_null();
    double r2, r2_best;
    size_t used;
    nn_caruana_r2(pred, (size_t)m, tu->actual, tu->n_rows, mse, &r2, &r2_best, &used);
    return json_pack("{s:o, s:i, s:i, s:I, s:o, s:o, s:o, s:o}", "members",
                     members_json(tu, member, c, m, counts), "candidates", m, "rounds",
                     s->ensemble_rounds, "rows", (json_int_t)used, "oof_mse", num(mse), "oof_rmse",
                     num(sqrt(mse)), "oof_r2", num(r2), "best_trial_oof_r2", num(r2_best));
}

/* A classification's: the class probabilities of the best trial's model and the ensemble's
 * (its members' averaged with their counts, as its weighted model predicts), scored. */
static json_t *holdout_class(tune *tu, const nn_table *h, const int *counts, int best) {
    size_t n = h->n_rows, k = (size_t)tu->k;
    double *acc = calloc(n * k + 1, sizeof *acc), *p = NULL;
    int *y = malloc((n + 1) * sizeof *y);
    json_t *out = json_object();
    nn_error err = {0};
    int total = 0;
    for (int i = 0; acc && y && i < nn_study_n_trials(tu->st); i++) {
        if (!tu->models[i] || (!counts[i] && i != best)) continue;
        const nn_labels *l = nn_model_labels(tu->models[i]);
        if (!l || l->n != k) continue;
        if (nn_model_predict(tu->models[i], h, &p, &err) != NN_OK) {
            (void)fprintf(stderr, "nn tune: trial %d on the holdout: %s\n", i + 1, err.msg);
            continue;
        }
        int c = nn_table_find(h, tu->s->spec->targets[0]);
        for (size_t r = 0; r < n; r++) {
            int cls = c >= 0 ? nn_labels_class(l, &h->cols[c], r) : -1;
            y[r] = cls >= 0 ? cls : -1;
        }
        if (i == best)
            (void)json_object_set_new(out, "best",
                                      or_null(nn_study_class_score(y, p, n, tu->k, tu->positive)));
        for (size_t r = 0; counts[i] && r < n * k; r++) acc[r] += counts[i] * p[r];
        total += counts[i];
        free(p);
        p = NULL;
    }
    for (size_t r = 0; acc && total && r < n * k; r++) acc[r] /= total;
    if (total && y)
        (void)json_object_set_new(out, "ensemble",
                                  or_null(nn_study_class_score(y, acc, n, tu->k, tu->positive)));
    (void)json_object_set_new(out, "rows", json_integer((json_int_t)n));
    free(acc);
    free(y);
    return out;
}

/* The ensemble's and the best trial's predictions of the holdout rows, scored. */
static json_t *holdout(tune *tu, const nn_table *h, const int *counts, int best) {
    if (tu->classify) return holdout_class(tu, h, counts, best);
    const char *target = tu->s->spec->targets[0];
    double *acc = calloc(h->n_rows + 1, sizeof *acc), *p = NULL;
    json_t *out = json_object();
    nn_error err = {0};
    int total = 0;
    for (int i = 0; acc && i < nn_study_n_trials(tu->st); i++) {
        if (!tu->models[i] || (!counts[i] && i != best)) continue;
        if (nn_model_predict(tu->models[i], h, &p, &err) != NN_OK) {
            (void)fprintf(stderr, "nn tune: trial %d on the holdout: %s\n", i + 1, err.msg);
            continue;
        }
        size_t nt = nn_model_spec(tu->models[i])->n_targets;
        double *first = malloc((h->n_rows + 1) * sizeof *first);
        for (size_t r = 0; first && r < h->n_rows; r++) first[r] = p[r * nt];
        if (i == best) (void)json_object_set_new(out, "best", holdout_score(h, target, first));
        for (size_t r = 0; first && counts[i] && r < h->n_rows; r++) acc[r] += counts[i] * first[r];
        total += counts[i];
        free(first);
        free(p);
        p = NULL;
    }
    for (size_t r = 0; acc && total && r < h->n_rows; r++) acc[r] /= total;
    if (total) (void)json_object_set_new(out, "ensemble", holdout_score(h, target, acc));
    (void)json_object_set_new(out, "rows", json_integer((json_int_t)h->n_rows));
    free(acc);
    return out;
}

/* The holdout rows are set aside before anything is searched: *search and *hold (all itself
 * and NULL without a holdout). */
static int split_holdout(const nn_study_spec *s, nn_table *all, nn_table **search,
                         nn_table **hold) {
    unsigned char *mask = calloc(all->n_rows + 1, 1);
    size_t *rows = malloc((all->n_rows + 1) * sizeof *rows);
    nn_error err = {0};
    int rc = mask && rows ? CLI_OK : CLI_FAIL;
    size_t k = rc == CLI_OK ? nn_study_holdout_rows(s->seed, s->holdout, all->n_rows, mask) : 0;
    if (k > 0) {
        size_t a = 0, b = 0;
        for (size_t i = 0; i < all->n_rows; i++)
            if (!mask[i]) rows[a++] = i;
        for (size_t i = 0; i < all->n_rows; i++)
            if (mask[i]) rows[a + b++] = i;
        if (nn_table_select_rows(all, rows, a, search, &err) != NN_OK ||
            nn_table_select_rows(all, rows + a, b, hold, &err) != NN_OK) {
            (void)fprintf(stderr, "nn tune: %s\n", err.msg);
            rc = CLI_FAIL;
        }
    }
    free(mask);
    free(rows);
    return rc;
}

static const char tune_usage[] =
    "usage: nn tune STUDY DATA [--out DIR] [--threads N] [--quiet]\n"
    "  STUDY        the study (JSON: base spec, space, objective, sampler, pruner, budget …)\n"
    "  DATA         the CSV to search on\n"
    "  --out DIR    where to write leaderboard.csv, best.json, study.json, model.json (the\n"
    "               ensemble) and models/\n"
    "               (default studies/<study name>)\n"
    "  --threads N  folds trained at once (default: the number of cores);\n"
    "               results do not depend on it\n"
    "  --quiet      no progress output\n";

/* The ensemble as one model file, model.json: its members' models (taken from tu) weighted by
 * how often greedy selection chose them. 0, or -1 when it cannot be written. */
static int write_ensemble(tune *tu, const char *dir, const int *counts) {
    int n = 0;
    for (int i = 0; i < nn_study_n_trials(tu->st); i++)
        if (counts[i] && tu->models[i]) n++;
    if (n == 0) return 0;
    nn_model **members = calloc((size_t)n, sizeof(nn_model *));
    double *w = calloc((size_t)n, sizeof *w);
    if (!members || !w) {
        free(members);
        free(w);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < nn_study_n_trials(tu->st); i++)
        if (counts[i] && tu->models[i]) {
            members[k] = tu->models[i];
            tu->models[i] = NULL; /* the ensemble's now */
            w[k++] = counts[i];
        }
    nn_model *m = NULL;
    nn_error err = {0};
    char path[4200];
    (void)snprintf(path, sizeof path, "%s/model.json", dir);
    int rc = nn_model_create_weighted_take(members, w, n, &m, &err) == NN_OK &&
                     nn_model_save(m, path, &err) == NN_OK
                 ? 0
                 : -1;
    if (rc) (void)fprintf(stderr, "nn tune: the ensemble's model: %s\n", err.msg);
    nn_model_destroy(m);
    free(w);
    return rc;
}

/* Writes the outputs; 0 or -1. */
static int write_outputs(tune *tu, const char *dir, const nn_table *hold) {
    int rc = 0;
    char *csv = nn_study_leaderboard_csv(tu->st);
    rc |= !csv || write_text(dir, "leaderboard.csv", csv);
    free(csv);
    int best = nn_study_best(tu->st);
    if (best >= 0) {
        json_t *spec = nn_spec_to_json(nn_study_trial(tu->st, best)->spec);
        char *text = spec ? json_dumps(spec, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(spec);
        rc |= !text || write_text(dir, "best.json", text);
        free(text);
    }
    int *counts = calloc((size_t)tu->s->max_trials + 1, sizeof *counts);
    json_t *ens = counts ? ensemble(tu, counts) : json_null();
    char mdir[4200];
    (void)snprintf(mdir, sizeof mdir, "%s/models", dir);
    if (mkdir(mdir, 0755) != 0 && errno != EEXIST) rc = -1;
    for (int i = 0; counts && i < nn_study_n_trials(tu->st); i++) {
        if (!tu->models[i] || (!counts[i] && i != best)) continue;
        char path[4400];
        nn_error err = {0};
        (void)snprintf(path, sizeof path, "%s/trial-%d.json", mdir, i + 1);
        if (nn_model_save(tu->models[i], path, &err) != NN_OK) rc = -1;
    }
    json_t *out = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I}", "name", tu->s->name, "status",
                            nn_study_status_name(nn_study_get_status(tu->st)), "leaderboard",
                            nn_study_leaderboard(tu->st), "ensemble", ens, "epoch_folds",
                            (json_int_t)nn_study_epoch_folds(tu->st), "trained_epoch_folds",
                            (json_int_t)tu->trained);
    if (out && best >= 0)
        (void)json_object_set_new(out, "best",
                                  json_pack("{s:i, s:o}", "trial", best + 1, "objective",
                                            num(nn_study_trial(tu->st, best)->result.mean)));
    if (out && hold && counts)
        (void)json_object_set_new(out, "holdout", holdout(tu, hold, counts, best));
    char *text = out ? json_dumps(out, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
    rc |= !text || write_text(dir, "study.json", text);
    if (text && !tu->quiet) {
        json_t *h = json_object_get(out, "holdout");
        const char *score = tu->classify ? "accuracy" : "r2";
        if (h)
            (void)fprintf(
                stderr, "holdout (%lld rows): best trial %s %.4f, ensemble %s %.4f\n",
                (long long)json_integer_value(json_object_get(h, "rows")), score,
                json_number_value(json_object_get(json_object_get(h, "best"), score)), score,
                json_number_value(json_object_get(json_object_get(h, "ensemble"), score)));
    }
    free(text);
    json_decref(out);
    if (counts && write_ensemble(tu, dir, counts) != 0) rc = -1;
    free(counts);
    return rc ? -1 : 0;
}

/* The study at study_path (*s) and the CSV at data_path (returned) read and checked: the study
 * like a spec, then its objective against the base's task on the data (*task). NULL, every
 * problem printed, when either is refused. */
static nn_table *read_study(const char *study_path, const char *data_path, nn_study_spec **s,
                            nn_task *task) {
    nn_spec_errors errs;
    if (nn_study_parse_file(study_path, s, &errs) != NN_OK) {
        cli_print_errors(study_path, &errs);
        return NULL;
    }
    nn_table *all = cli_read_csv(data_path, (*s)->spec);
    if (all) {
        *task = nn_spec_task((*s)->spec, all);
        if (nn_study_resolve_task(*s, *task, &errs) == NN_OK) return all;
        cli_print_errors(study_path, &errs);
    }
    nn_table_destroy(all);
    nn_study_spec_destroy(*s);
    *s = NULL;
    return NULL;
}

static void tune_free(tune *tu) {
    for (int i = 0; tu->models && i < tu->s->max_trials; i++) nn_model_destroy(tu->models[i]);
    for (int i = 0; tu->oof && i < tu->s->max_trials; i++) free(tu->oof[i]);
    for (int i = 0; tu->states && i < tu->s->max_trials; i++) states_free(&tu->states[i]);
    free(tu->states);
    free(tu->models);
    free(tu->oof);
    free(tu->actual);
    free(tu->cls);
    nn_study_destroy(tu->st);
}

int cmd_tune(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    int n_pos = 0, quiet = 0;
    long long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return (void)fputs(tune_usage, stdout), CLI_OK;
        if (!strcmp(a, "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if ((threads = cli_parse_int("--threads", argv[++i], 64)) < 1) return CLI_USAGE;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' || n_pos == 2) {
            (void)fprintf(stderr, "nn tune: unexpected argument \"%s\"\n%s", a, tune_usage);
            return CLI_USAGE;
        } else {
            pos[n_pos++] = a;
        }
    }
    if (n_pos != 2) return (void)fputs(tune_usage, stderr), CLI_USAGE;
    nn_study_spec *s = NULL;
    nn_task task = NN_TASK_REGRESSION;
    nn_table *all = read_study(pos[0], pos[1], &s, &task);
    if (!all) return CLI_USAGE;
    nn_table *search = all, *hold = NULL;
    int rc = split_holdout(s, all, &search, &hold);
    nn_error err = {0};
    tune tu = {s,
               NULL,
               search,
               (int)threads,
               quiet,
               NULL,
               NULL,
               NULL,
               search ? search->n_rows : 0,
               task == NN_TASK_CLASSIFICATION,
               0,
               -1,
               NULL,
               NULL,
               0};
    tu.cls = calloc(tu.n_rows + 1, sizeof *tu.cls);
    tu.models = calloc((size_t)s->max_trials + 1, sizeof(nn_model *));
    tu.oof = calloc((size_t)s->max_trials + 1, sizeof(double *));
    tu.actual = calloc(tu.n_rows + 1, sizeof *tu.actual);
    tu.states = calloc((size_t)s->max_trials + 1, sizeof *tu.states);
    if (rc == CLI_OK && (!tu.models || !tu.oof || !tu.actual || !tu.cls || !tu.states ||
                         nn_study_create(s, &tu.st, &err) != NN_OK))
        rc = CLI_FAIL;
    char dir[4096];
    (void)snprintf(dir, sizeof dir, "%s%s", out ? "" : "studies/", out ? out : s->name);
    if (rc == CLI_OK && cli_mkdirs(dir) != 0) {
        (void)fprintf(stderr, "nn tune: cannot create %s\n", dir);
        rc = CLI_FAIL;
    }
    while (rc == CLI_OK) {
        nn_study_work w;
        if (nn_study_next(tu.st, &w, &err) != NN_OK) {
            (void)fprintf(stderr, "nn tune: %s\n", err.msg);
            rc = CLI_FAIL;
        } else if (w.kind == NN_WORK_TRAIN) {
            train(&tu, &w);
        } else {
            break; /* one at a time: the machine never waits on work in progress here */
        }
    }
    if (rc == CLI_OK && write_outputs(&tu, dir, hold) != 0) {
        (void)fprintf(stderr, "nn tune: cannot write the results to %s\n", dir);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        int best = nn_study_best(tu.st);
        (void)printf("%s: %d trials, %s", s->name, nn_study_n_trials(tu.st),
                     nn_study_status_name(nn_study_get_status(tu.st)));
        if (best >= 0)
            (void)printf("; best trial %d: %s %.4f ± %.4f", best + 1,
                         nn_objective_name(s->objective), nn_study_trial(tu.st, best)->result.mean,
                         nn_study_trial(tu.st, best)->result.sd);
        (void)printf("; results in %s\n", dir);
        if (nn_study_get_status(tu.st) == NN_STUDY_FAILED) {
            (void)fprintf(stderr, "nn tune: %s\n", nn_study_error(tu.st));
            rc = CLI_FAIL;
        }
    }
    tune_free(&tu);
    if (search != all) nn_table_destroy(search);
    nn_table_destroy(hold);
    nn_table_destroy(all);
    nn_study_spec_destroy(s);
    return rc;
}
