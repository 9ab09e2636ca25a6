/* nn_cv_importance.c — permutation importance: computed by each fold task on its validation
 * rows, aggregated over folds by nn_cv_finish. */
#include "nn_cv_internal.h"

#include "nn_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What a fold scores its predictions of x by, higher being better: R² (model space, first
 * target) for a regression, minus the log loss for a classification. */
typedef struct scorer {
    nn_cv *cv;
    nn_net *const *nets;
    const nn_float *y;
    const int *cls; /* classification: (n) classes */
    nn_float *p;    /* regression: (2 × n × nt) predictions and scratch */
    double *prob;   /* classification: (n × classes) */
    size_t n;
} scorer;

static double skill(scorer *s, const nn_float *x, nn_status *st, nn_error *err) {
    nn_cv *cv = s->cv;
    int ne = cv->spec->ensemble;
    if (cv->labels) {
        *st = nn_ensemble_probs(s->nets, ne, cv->labels, x, s->n, s->prob, err);
        return *st == NN_OK ? -nn_log_loss(s->cls, s->prob, s->n, (int)cv->labels->n) : NAN;
    }
    size_t nt = cv->spec->n_targets;
    *st = nn_ensemble_predict(s->nets, ne, x, s->n, s->p, s->p + s->n * nt, err);
    return *st == NN_OK ? nn_r2_column(s->y, s->p, s->n, nt) : NAN;
}

/* Permutation importance for one fold: for each feature j and repeat r, the validation skill
 * (R², or minus the log loss) with column j shuffled by the (seed, NN_STREAM(fold + 1,
 * NN_STREAM_PERMUTE)) stream, subtracted from the unshuffled skill. */
nn_status nn__cv_importance(nn_cv *cv, int fold, nn_net *const *nets, const nn_float *x,
                            const nn_float *y, const size_t *rows, size_t n, size_t nf,
                            nn_error *err) {
    int reps = cv->spec->importance_repeats;
    size_t nt = cv->spec->n_targets, k = cv->labels ? cv->labels->n : 1;
    nn_float *xp = malloc(n * nf * sizeof *xp);
    size_t *idx = malloc(n * sizeof *idx);
    double *drops = malloc(nf * (size_t)reps * sizeof *drops);
    scorer sc = {cv, nets, y, NULL, NULL, NULL, n};
    int *cls = cv->labels ? malloc(n * sizeof *cls) : NULL;
    if (cv->labels)
        sc.prob = malloc(n * k * sizeof *sc.prob);
    else
        sc.p = malloc(2 * n * nt * sizeof *sc.p);
    nn_status st = NN_OK;
    if (!xp || !idx || !drops || (cv->labels ? !cls || !sc.prob : !sc.p))
        st = nn_nomem(err, "out of memory");
    for (size_t i = 0; st == NN_OK && cls && i < n; i++) cls[i] = cv->res.actual_class[rows[i]];
    sc.cls = cls;
    double base = st == NN_OK ? skill(&sc, x, &st, err) : NAN;
    nn_rng rng;
    nn_rng_init(&rng, cv->spec->seed, NN_STREAM(fold + 1, NN_STREAM_PERMUTE));
    if (st == NN_OK) memcpy(xp, x, n * nf * sizeof *xp);
    for (size_t j = 0; j < nf && st == NN_OK; j++) {
        for (int r = 0; r < reps && st == NN_OK; r++) {
            for (size_t i = 0; i < n; i++) idx[i] = i;
            nn_rng_shuffle(&rng, idx, n);
            for (size_t i = 0; i < n; i++) xp[i * nf + j] = x[idx[i] * nf + j];
            drops[j * (size_t)reps + (size_t)r] = base - skill(&sc, xp, &st, err);
        }
        for (size_t i = 0; i < n; i++) xp[i * nf + j] = x[i * nf + j];
    }
    free(xp);
    free(sc.p);
    free(sc.prob);
    free(cls);
    free(idx);
    if (st != NN_OK) {
        free(drops);
        return st;
    }
    cv->keep[fold].drops = drops;
    return NN_OK;
}

static int cmp_importance(const void *a, const void *b) {
    double x = ((const nn_importance *)a)->mean, y = ((const nn_importance *)b)->mean;
    return (x < y) - (x > y);
}

/* Mean and sd of the drops of each feature name over every fold that has it. */
nn_status nn__cv_aggregate_importance(nn_cv *cv, nn_error *err) {
    int reps = cv->spec->importance_repeats;
    if (reps <= 0 || cv->n_folds == 0) return NN_OK;
    const nn_pipe *p0 = cv->keep[0].pipe;
    size_t nf = nn_pipe_n_features(p0);
    nn_cv_result *r = &cv->res;
    r->importance = calloc(nf ? nf : 1, sizeof *r->importance);
    double *vals = malloc((size_t)cv->n_folds * (size_t)reps * sizeof *vals);
    if (!r->importance || !vals) {
        free(vals);
        return nn_nomem(err, "out of memory for importance");
    }
    for (size_t j = 0; j < nf; j++) {
        const char *name = nn_pipe_feature(p0, j);
        size_t nv = 0;
        for (int f = 0; f < cv->n_folds; f++) {
            const nn_pipe *pf = cv->keep[f].pipe;
            for (size_t k = 0; k < nn_pipe_n_features(pf); k++) {
                if (strcmp(nn_pipe_feature(pf, k), name) != 0) continue;
                for (int q = 0; q < reps; q++) vals[nv++] = cv->keep[f].drops[k * reps + q];
                break;
            }
        }
        r->importance[j].feature = strdup(name);
        if (!r->importance[j].feature) {
            free(vals);
            return nn_nomem(err, "out of memory for importance");
        }
        r->n_importance = j + 1;
        nn_mean_sd(vals, nv, &r->importance[j].mean, &r->importance[j].sd);
    }
    free(vals);
    qsort(r->importance, nf, sizeof *r->importance, cmp_importance);
    return NN_OK;
}
