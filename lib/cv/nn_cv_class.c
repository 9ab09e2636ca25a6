/* nn_cv_class.c — what a classification adds to a job (see nn_cv.h DESIGN): the classes and each
 * row's class, stratified folds, the network's targets and class weights, validation scores
 * per epoch, out-of-fold probabilities and the metrics made from them. */
#include "nn_cv_internal.h"

#include "nn_loss.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

nn_status nn__cv_class_setup(nn_cv *cv, nn_plan *plan, nn_error *err) {
    nn_cv_result *r = &cv->res;
    size_t n = r->n_rows;
    cv->labels = plan->labels; /* taken: counted on the rows with a label, positive set */
    plan->labels = NULL;
    if (!cv->labels) return nn_error_set(err, NN_ERR_SPEC, "/target: no classes");
    size_t k = cv->labels->n;
    cv->n_out = nn_labels_n_outputs(cv->labels);
    r->labels = cv->labels;
    r->actual_class = malloc((n ? n : 1) * sizeof *r->actual_class);
    r->oof_prob = malloc((n ? n : 1) * k * sizeof *r->oof_prob);
    if (!r->actual_class || !r->oof_prob) return nn_nomem(err, "out of memory for the results");
    for (size_t i = 0; i < n * k; i++) r->oof_prob[i] = NAN;
    int col = nn_table_find(cv->data, cv->spec->targets[0]);
    if (col < 0)
        return nn_error_set(err, NN_ERR_SPEC, "/target: no column \"%s\"", cv->spec->targets[0]);
    for (size_t i = 0; i < n; i++) {
        int c = nn_labels_class(cv->labels, &cv->data->cols[col], i);
        r->actual_class[i] = c >= 0 ? c : -1; /* every label is a class: fitted on all rows */
        r->actual[i] = c >= 0 ? (double)c : NAN;
        r->skipped[i] = c < 0;
        r->n_skipped += c < 0;
    }
    return NN_OK;
}

nn_status nn__cv_stratify(const nn_cv *cv, size_t *order, size_t n, nn_error *err) {
    size_t k = cv->labels->n, *start = calloc(k + 1, sizeof *start);
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!start || !tmp) {
        free(start);
        free(tmp);
        return nn_nomem(err, "out of memory for folds");
    }
    const int *cls = cv->res.actual_class;
    for (size_t i = 0; i < n; i++) start[cls[order[i]] + 1]++;
    for (size_t c = 0; c < k; c++) start[c + 1] += start[c];
    for (size_t i = 0; i < n; i++) tmp[start[cls[order[i]]]++] = order[i];
    memcpy(order, tmp, n * sizeof *order);
    free(start);
    free(tmp);
    return NN_OK;
}

nn_status nn__cv_class_targets(const nn_cv *cv, const size_t *rows, size_t n, nn_float **y,
                               nn_error *err) {
    size_t no = (size_t)cv->n_out;
    nn_float *m = malloc((n ? n : 1) * no * sizeof *m);
    if (!m) return nn_nomem(err, "out of memory for the targets");
    for (size_t i = 0; i < n; i++)
        nn_labels_target(cv->labels, cv->res.actual_class[rows[i]], m + i * no);
    *y = m;
    return NN_OK;
}

int nn__cv_class_weights(const nn_cv *cv, const size_t *rows, size_t n, double *w) {
    const nn_spec *s = cv->spec;
    const nn_labels *l = cv->labels;
    size_t k = l->n;
    if (s->class_weight == NN_CW_NONE) return 0;
    double wc[NN_MAX_CLASSES];
    if (s->class_weight == NN_CW_BALANCED) { /* n / (k · n_c), as scikit-learn's "balanced" */
        size_t count[NN_MAX_CLASSES] = {0};
        for (size_t i = 0; i < n; i++) count[cv->res.actual_class[rows[i]]]++;
        for (size_t c = 0; c < k; c++)
            wc[c] = count[c] ? (double)n / ((double)k * (double)count[c]) : 1.0;
    } else {
        for (size_t c = 0; c < k; c++) wc[c] = 1.0;
        for (size_t i = 0; i < s->n_cw; i++) {
            int c = nn_labels_find(l, s->cw_labels[i]);
            if (c >= 0) wc[c] = s->cw_values[i];
        }
    }
    if (k == 2) { /* network order: [not positive, positive] */
        w[0] = wc[1 - l->positive];
        w[1] = wc[l->positive];
    } else {
        memcpy(w, wc, k * sizeof *w);
    }
    return 1;
}

/* Network probabilities (n × k) turned into class order, in place. */
static void class_order(const nn_labels *l, double *prob, size_t n) {
    if (l->n != 2 || l->positive == 1) return;
    for (size_t i = 0; i < n; i++) {
        double t = prob[2 * i];
        prob[2 * i] = prob[2 * i + 1];
        prob[2 * i + 1] = t;
    }
}

void nn__cv_class_val(const nn_cv *cv, const nn_float *pv, const int *cls, size_t n, double *prob,
                      double *log_loss, double *accuracy) {
    const nn_labels *l = cv->labels;
    size_t k = l->n, ok = 0;
    nn_loss_probs(pv, n, (size_t)cv->n_out, prob);
    class_order(l, prob, n);
    for (size_t i = 0; i < n; i++)
        ok += nn_class_predict(prob + i * k, (int)k, l->positive, 0.5) == cls[i];
    *log_loss = nn_log_loss(cls, prob, n, (int)k);
    *accuracy = n ? (double)ok / (double)n : NAN;
}

nn_status nn__cv_class_score(nn_cv *cv, int f, nn_net *const *nets, const nn_float *xv,
                             const size_t *va, size_t n, nn_error *err) {
    const nn_labels *l = cv->labels;
    size_t k = l->n;
    double *prob = malloc((n ? n : 1) * k * sizeof *prob);
    if (!prob) return nn_nomem(err, "out of memory for predictions");
    nn_status st = nn_ensemble_probs(nets, cv->spec->ensemble, l, xv, n, prob, err);
    for (size_t i = 0; st == NN_OK && i < n; i++) {
        const double *p = prob + i * k;
        for (size_t c = 0; c < k && st == NN_OK; c++)
            if (!isfinite(p[c]))
                st = nn_error_set(err, NN_ERR_DIVERGED,
                                  "the probabilities of row %zu are not finite", va[i] + 1);
        if (st != NN_OK) break;
        memcpy(cv->res.oof_prob + va[i] * k, p, k * sizeof *p);
        cv->res.oof_pred[va[i]] = (double)nn_class_predict(p, (int)k, l->positive, 0.5);
    }
    free(prob);
    return st == NN_OK ? nn__cv_class_fold_metrics(cv, f, err) : st;
}

/* The classes, probabilities and predicted classes of the rows where keep(cv, i, f). */
typedef struct gathered {
    int *y, *pred;
    double *prob;
    size_t n;
} gathered;

static nn_status gather(const nn_cv *cv, int f, gathered *g, nn_error *err) {
    const nn_cv_result *r = &cv->res;
    size_t k = cv->labels->n, n = r->n_rows;
    g->n = 0;
    g->y = malloc((n ? n : 1) * sizeof *g->y);
    g->pred = malloc((n ? n : 1) * sizeof *g->pred);
    g->prob = malloc((n ? n : 1) * k * sizeof *g->prob);
    if (!g->y || !g->pred || !g->prob) return nn_nomem(err, "out of memory for metrics");
    for (size_t i = 0; i < n; i++) {
        if (r->oof_fold[i] < 0 || (f >= 0 && r->oof_fold[i] != f) || isnan(r->oof_pred[i]))
            continue;
        g->y[g->n] = r->actual_class[i];
        g->pred[g->n] = (int)r->oof_pred[i];
        memcpy(g->prob + g->n * k, r->oof_prob + i * k, k * sizeof *g->prob);
        g->n++;
    }
    return NN_OK;
}

static void gathered_free(gathered *g) {
    free(g->y);
    free(g->pred);
    free(g->prob);
}

nn_status nn__cv_class_fold_metrics(nn_cv *cv, int f, nn_error *err) {
    nn_fold_result *fr = &cv->res.folds[f];
    gathered g = {0};
    nn_status st = gather(cv, f, &g, err);
    nn_class_metrics_free(&fr->cls);
    if (st == NN_OK)
        st = nn_class_metrics_compute(g.y, g.prob, g.pred, g.n, (int)cv->labels->n,
                                      cv->labels->positive, &fr->cls, err);
    gathered_free(&g);
    return st;
}

/* Mean and sd of a fold statistic over the folds where it is defined. */
static void fold_stat(const nn_cv *cv, size_t off, double *mean, double *sd) {
    double v[NN_SPEC_MAX_K];
    size_t m = 0;
    for (int f = 0; f < cv->n_folds; f++) {
        double x = *(const double *)((const char *)&cv->res.folds[f].cls + off);
        if (isfinite(x)) v[m++] = x;
    }
    if (m == 0) {
        *mean = *sd = NAN;
        return;
    }
    nn_mean_sd(v, m, mean, sd);
}

nn_status nn__cv_class_finish(nn_cv *cv, nn_error *err) {
    nn_cv_result *r = &cv->res;
    const nn_labels *l = cv->labels;
    gathered g = {0};
    nn_status st = gather(cv, -1, &g, err);
    nn_class_metrics_free(&r->overall_class);
    if (st == NN_OK)
        st = nn_class_metrics_compute(g.y, g.prob, g.pred, g.n, (int)l->n, l->positive,
                                      &r->overall_class, err);
    if (st == NN_OK && l->n == 2) {
        unsigned char *pos = malloc(g.n ? g.n : 1);
        double *s = malloc((g.n ? g.n : 1) * sizeof *s);
        if (!pos || !s) st = nn_nomem(err, "out of memory for metrics");
        for (size_t i = 0; st == NN_OK && i < g.n; i++) {
            pos[i] = g.y[i] == l->positive;
            s[i] = g.prob[i * 2 + (size_t)l->positive];
        }
        if (st == NN_OK) {
            r->at_half = nn_threshold_at(pos, s, g.n, 0.5);
            if (nn_threshold_best_f1(pos, s, g.n, &r->best_f1) != 0)
                st = nn_nomem(err, "out of memory for metrics");
        }
        free(pos);
        free(s);
    }
    gathered_free(&g);
    fold_stat(cv, offsetof(nn_class_metrics, accuracy), &r->acc_mean, &r->acc_sd);
    fold_stat(cv, offsetof(nn_class_metrics, log_loss), &r->ll_mean, &r->ll_sd);
    fold_stat(cv, offsetof(nn_class_metrics, roc_auc), &r->auc_mean, &r->auc_sd);
    return st;
}

void nn__cv_class_free(nn_cv *cv) {
    nn_cv_result *r = &cv->res;
    free(r->actual_class);
    free(r->oof_prob);
    nn_class_metrics_free(&r->overall_class);
    nn_labels_destroy(cv->labels);
    cv->labels = NULL;
    r->labels = NULL;
}
