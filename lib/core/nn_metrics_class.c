/* nn_metrics_class.c — classification metrics (definitions in nn_metrics_class.h).
 *
 * DESIGN: the ranking metrics (ROC AUC, average precision, the best-F1 threshold) sort (score,
 * label) pairs once and walk them in groups of equal scores, so tied scores count as one
 * threshold exactly as scikit-learn's curves do; everything else is counting. */
#include "nn_metrics_class.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    double s;
    unsigned char pos;
} scored;

static int by_score_desc(const void *a, const void *b) {
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

/* (score, label) pairs sorted by score, highest first; NULL when out of memory. */
static scored *sorted_pairs(const unsigned char *pos, const double *s, size_t n, size_t *n_pos) {
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return NULL;
    *n_pos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = s[i];
        v[i].pos = pos[i] ? 1 : 0;
        *n_pos += v[i].pos;
    }
    qsort(v, n, sizeof *v, by_score_desc);
    return v;
}

double nn_roc_auc(const unsigned char *pos, const double *s, size_t n) {
    size_t np = 0;
    scored *v = sorted_pairs(pos, s, n, &np);
    if (!v) return NAN;
    size_t nneg = n - np;
    if (np == 0 || nneg == 0) {
        free(v);
        return NAN;
    }
    /* ranks from the lowest score (rank 1); a group of ties gets its mean rank */
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, p = 0;
        while (j < n && v[j].s == v[i].s) p += v[j++].pos;
        /* descending positions i..j−1 are ascending ranks n−j+1 .. n−i */
        double mean_rank = ((double)(n - j + 1) + (double)(n - i)) / 2.0;
        rank_sum += mean_rank * (double)p;
        i = j;
    }
    free(v);
    double u = rank_sum - (double)np * ((double)np + 1.0) / 2.0;
    return u / ((double)np * (double)nneg);
}

/* Walks the distinct thresholds from the highest: after each group, tp and fp of "s ≥ t". */
typedef void (*step_fn)(void *user, double t, size_t tp, size_t fp, size_t np, size_t n);

static int walk(const unsigned char *pos, const double *s, size_t n, step_fn fn, void *user) {
    size_t np = 0;
    scored *v = sorted_pairs(pos, s, n, &np);
    if (!v) return -1;
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        for (; j < n && v[j].s == v[i].s; j++) {
            tp += v[j].pos;
            fp += !v[j].pos;
        }
        fn(user, v[i].s, tp, fp, np, n);
        i = j;
    }
    free(v);
    return 0;
}

typedef struct ap_state {
    double ap, last_recall;
} ap_state;

static void ap_step(void *user, double t, size_t tp, size_t fp, size_t np, size_t n) {
    ap_state *a = user;
    (void)t;
    (void)n;
    double recall = (double)tp / (double)np, precision = (double)tp / (double)(tp + fp);
    a->ap += (recall - a->last_recall) * precision;
    a->last_recall = recall;
}

double nn_average_precision(const unsigned char *pos, const double *s, size_t n) {
    size_t np = 0;
    for (size_t i = 0; i < n; i++) np += pos[i] != 0;
    if (np == 0) return NAN;
    ap_state a = {0, 0};
    return walk(pos, s, n, ap_step, &a) == 0 ? a.ap : NAN;
}

static nn_threshold threshold_of(double t, size_t tp, size_t fp, size_t np, size_t n) {
    nn_threshold r;
    r.threshold = t;
    r.precision = tp + fp ? (double)tp / (double)(tp + fp) : 0.0;
    r.recall = np ? (double)tp / (double)np : 0.0;
    r.f1 = 2 * tp + fp + (np - tp) ? 2.0 * (double)tp / (double)(2 * tp + fp + (np - tp)) : 0.0;
    r.accuracy = n ? (double)(tp + (n - np - fp)) / (double)n : NAN;
    return r;
}

static void best_step(void *user, double t, size_t tp, size_t fp, size_t np, size_t n) {
    nn_threshold *best = user, r = threshold_of(t, tp, fp, np, n);
    if (isnan(best->f1) || r.f1 > best->f1) *best = r;
}

int nn_threshold_best_f1(const unsigned char *pos, const double *s, size_t n, nn_threshold *out) {
    nn_threshold best = {NAN, NAN, NAN, NAN, NAN};
    if (walk(pos, s, n, best_step, &best) != 0) return -1;
    *out = best;
    return 0;
}

nn_threshold nn_threshold_at(const unsigned char *pos, const double *s, size_t n, double t) {
    size_t tp = 0, fp = 0, np = 0;
    for (size_t i = 0; i < n; i++) {
        np += pos[i] != 0;
        if (s[i] >= t) {
            tp += pos[i] != 0;
            fp += pos[i] == 0;
        }
    }
    return threshold_of(t, tp, fp, np, n);
}

int nn_class_predict(const double *prob, int k, int positive, double threshold) {
    if (k == 2 && positive >= 0 && positive < 2)
        return prob[positive] >= threshold ? positive : 1 - positive;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (prob[j] > prob[best]) best = j;
    return best;
}

double nn_log_loss(const int *y, const double *prob, size_t n, int k) {
    if (n == 0) return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const double *p = prob + i * (size_t)k;
        double total = 0, mine = 0;
        for (int j = 0; j < k; j++) {
            double c = fmin(fmax(p[j], NN_LOG_LOSS_EPS), 1.0 - NN_LOG_LOSS_EPS);
            total += c;
            if (j == y[i]) mine = c;
        }
        sum -= log(mine / total);
    }
    return sum / (double)n;
}

double nn_accuracy(const int *y, const int *pred, size_t n) {
    if (n == 0) return NAN;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += y[i] == pred[i];
    return (double)ok / (double)n;
}

void nn_class_metrics_free(nn_class_metrics *m) {
    if (!m) return;
    free(m->confusion);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->support);
    m->confusion = NULL;
    m->precision = m->recall = m->f1 = NULL;
    m->support = NULL;
}

/* Per-class precision, recall, F1 and the macro, balanced and accuracy rates from the confusion
 * matrix. */
static void from_confusion(nn_class_metrics *m) {
    size_t k = (size_t)m->k, ok = 0, nb = 0, nf = 0;
    double bal = 0, f1 = 0;
    for (size_t c = 0; c < k; c++) {
        size_t tp = m->confusion[c * k + c], actual = 0, predicted = 0;
        for (size_t j = 0; j < k; j++) {
            actual += m->confusion[c * k + j];
            predicted += m->confusion[j * k + c];
        }
        ok += tp;
        m->support[c] = actual;
        m->precision[c] = predicted ? (double)tp / (double)predicted : 0.0;
        m->recall[c] = actual ? (double)tp / (double)actual : 0.0;
        double d = m->precision[c] + m->recall[c];
        m->f1[c] = d > 0 ? 2.0 * m->precision[c] * m->recall[c] / d : 0.0;
        if (actual) bal += m->recall[c], nb++;
        if (actual || predicted) f1 += m->f1[c], nf++;
    }
    m->accuracy = m->n ? (double)ok / (double)m->n : NAN;
    m->balanced_accuracy = nb ? bal / (double)nb : NAN;
    m->f1_macro = nf ? f1 / (double)nf : NAN;
}

/* ROC AUC (binary, or macro one-vs-rest), average precision and Brier score. */
static int ranking(const int *y, const double *prob, nn_class_metrics *m) {
    size_t n = m->n, k = (size_t)m->k;
    unsigned char *pos = malloc(n ? n : 1);
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!pos || !s) {
        free(pos);
        free(s);
        return -1;
    }
    double brier = 0, auc = 0;
    if (k == 2) {
        size_t c = (size_t)m->positive;
        for (size_t i = 0; i < n; i++) {
            pos[i] = (size_t)y[i] == c;
            s[i] = prob[i * k + c];
            brier += (s[i] - pos[i]) * (s[i] - pos[i]);
        }
        m->roc_auc = nn_roc_auc(pos, s, n);
        m->pr_auc = nn_average_precision(pos, s, n);
    } else {
        for (size_t c = 0; c < k; c++) {
            for (size_t i = 0; i < n; i++) {
                pos[i] = (size_t)y[i] == c;
                s[i] = prob[i * k + c];
                brier += (s[i] - pos[i]) * (s[i] - pos[i]);
            }
            auc += nn_roc_auc(pos, s, n); /* NaN stays NaN: a class absent or alone */
        }
        m->roc_auc = auc / (double)k;
        m->pr_auc = NAN;
    }
    m->brier = n ? brier / (double)n : NAN;
    free(pos);
    free(s);
    return 0;
}

nn_status nn_class_metrics_compute(const int *y, const double *prob, const int *pred, size_t n,
                                   int k, int positive, nn_class_metrics *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    if (k < 2) return nn_error_set(err, NN_ERR_INVALID, "classification needs two classes");
    size_t kk = (size_t)k;
    out->n = n;
    out->k = k;
    out->positive = k == 2 ? (positive == 0 ? 0 : 1) : -1;
    out->confusion = calloc(kk * kk, sizeof *out->confusion);
    out->precision = calloc(kk, sizeof *out->precision);
    out->recall = calloc(kk, sizeof *out->recall);
    out->f1 = calloc(kk, sizeof *out->f1);
    out->support = calloc(kk, sizeof *out->support);
    if (!out->confusion || !out->precision || !out->recall || !out->f1 || !out->support) {
        nn_class_metrics_free(out);
        return nn_nomem(err, "out of memory for metrics");
    }
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0 && y[i] < k && pred[i] >= 0 && pred[i] < k)
            out->confusion[(size_t)y[i] * kk + (size_t)pred[i]]++;
    from_confusion(out);
    out->log_loss = nn_log_loss(y, prob, n, k);
    if (ranking(y, prob, out) != 0) {
        nn_class_metrics_free(out);
        return nn_nomem(err, "out of memory for metrics");
    }
    return NN_OK;
}
