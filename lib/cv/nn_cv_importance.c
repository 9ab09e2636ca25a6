/* nn_cv_importance.c — permutation importance: computed by each fold task on its validation
 * rows, aggregated over folds by nn_cv_finish. */
#include "nn_cv_internal.h"

#include "nn_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Permutation importance for one fold: for each feature j and repeat r, the validation R²
 * (model space, first target) with column j shuffled by the (seed, NN_STREAM(fold + 1,
 * NN_STREAM_PERMUTE)) stream, subtracted from the unshuffled R². */
nn_status nn__cv_importance(nn_cv *cv, int fold, nn_net *const *nets, const nn_float *x,
                            const nn_float *y, size_t n, size_t nf, nn_error *err) {
    int reps = cv->spec->importance_repeats, ne = cv->spec->ensemble;
    size_t nt = cv->spec->n_targets;
    nn_float *xp = malloc(n * nf * sizeof *xp), *p = malloc(2 * n * nt * sizeof *p);
    size_t *idx = malloc(n * sizeof *idx);
    double *drops = malloc(nf * (size_t)reps * sizeof *drops);
    nn_status st = NN_OK;
    if (!xp || !p || !idx || !drops) st = nn_nomem(err, "out of memory");
    nn_float *scratch = p ? p + n * nt : NULL;
    if (st == NN_OK) st = nn_ensemble_predict(nets, ne, x, n, p, scratch, err);
    double base = st == NN_OK ? nn_r2_column(y, p, n, nt) : NAN;
    nn_rng rng;
    nn_rng_init(&rng, cv->spec->seed, NN_STREAM(fold + 1, NN_STREAM_PERMUTE));
    if (st == NN_OK) memcpy(xp, x, n * nf * sizeof *xp);
    for (size_t j = 0; j < nf && st == NN_OK; j++) {
        for (int r = 0; r < reps && st == NN_OK; r++) {
            for (size_t i = 0; i < n; i++) idx[i] = i;
            nn_rng_shuffle(&rng, idx, n);
            for (size_t i = 0; i < n; i++) xp[i * nf + j] = x[idx[i] * nf + j];
            st = nn_ensemble_predict(nets, ne, xp, n, p, scratch, err);
            drops[j * (size_t)reps + (size_t)r] = base - nn_r2_column(y, p, n, nt);
        }
        for (size_t i = 0; i < n; i++) xp[i * nf + j] = x[i * nf + j];
    }
    free(xp);
    free(p);
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
