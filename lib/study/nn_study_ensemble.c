/* nn_study_ensemble.c — the ensemble of a study's best trials (Caruana et al., 2004: greedy
 * forward selection with replacement over their out-of-fold predictions, at no extra training)
 * and the rows a study sets aside as its holdout. The contract is nn_study.h. */
#include "nn_study_internal.h"

#include <math.h>
#include <stdlib.h>

/* Whether row i has actual and every prediction. */
static int usable(const double *const *pred, size_t m, const double *actual, size_t i) {
    int ok = isfinite(actual[i]);
    for (size_t j = 0; j < m && ok; j++) ok = isfinite(pred[j][i]);
    return ok;
}

nn_status nn_caruana_select(const double *const *pred, size_t m, const double *actual, size_t n,
                            int rounds, int *counts, double *mse, nn_error *err) {
    if (m == 0 || rounds < 1) return nn_error_set(err, NN_ERR_INVALID, "no models to select from");
    size_t *rows = malloc((n + 1) * sizeof *rows);
    double *sum = calloc(n + 1, sizeof *sum);
    if (!rows || !sum) {
        free(rows);
        free(sum);
        return nn_nomem(err, "ensemble");
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        if (usable(pred, m, actual, i)) rows[used++] = i;
    for (size_t j = 0; j < m; j++) counts[j] = 0;
    double best = NAN;
    if (used == 0) {
        free(rows);
        free(sum);
        return nn_error_set(err, NN_ERR_INVALID, "no row has every model's prediction");
    }
    for (int r = 0; r < rounds; r++) {
        size_t pick = 0;
        best = INFINITY;
        for (size_t j = 0; j < m; j++) {
            double se = 0;
            for (size_t k = 0; k < used; k++) {
                size_t i = rows[k];
                double e = (sum[i] + pred[j][i]) / (r + 1) - actual[i];
                se += e * e;
            }
            se /= (double)used;
            if (se < best) {
                best = se;
                pick = j;
            }
        }
        counts[pick]++;
        for (size_t k = 0; k < used; k++) sum[rows[k]] += pred[pick][rows[k]];
    }
    *mse = best;
    free(rows);
    free(sum);
    return NN_OK;
}

void nn_caruana_r2(const double *const *pred, size_t m, const double *actual, size_t n, double mse,
                   double *r2, double *r2_first, size_t *used) {
    double sum = 0, sst = 0, se_first = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (usable(pred, m, actual, i)) sum += actual[i], k++;
    for (size_t i = 0; i < n && k; i++) {
        if (!usable(pred, m, actual, i)) continue;
        double d = actual[i] - sum / (double)k, e = m ? pred[0][i] - actual[i] : NAN;
        sst += d * d;
        se_first += e * e;
    }
    *used = k;
    *r2 = sst > 0 ? 1 - mse * (double)k / sst : NAN;
    *r2_first = sst > 0 ? 1 - se_first / sst : NAN;
}

double nn_caruana_predict(const double *const *pred, size_t m, const int *counts, size_t i) {
    double s = 0;
    long total = 0;
    for (size_t j = 0; j < m; j++)
        if (counts[j]) {
            s += counts[j] * pred[j][i];
            total += counts[j];
        }
    return total ? s / (double)total : NAN;
}

size_t nn_study_holdout_rows(uint64_t seed, double fraction, size_t n, unsigned char *mask) {
    for (size_t i = 0; i < n; i++) mask[i] = 0;
    if (!(fraction > 0) || n < 2) return 0;
    size_t k = (size_t)llround(fraction * (double)n);
    if (k < 1) k = 1;
    if (k > n - 1) k = n - 1;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return 0;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    nn_rng rng;
    nn_rng_init(&rng, seed, NN_STREAM(0, NN_STREAM_HOLDOUT));
    nn_rng_shuffle(&rng, idx, n);
    for (size_t i = 0; i < k; i++) mask[idx[i]] = 1;
    free(idx);
    return k;
}
