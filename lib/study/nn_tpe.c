/* nn_tpe.c — the tree-structured Parzen estimator (Bergstra et al., 2011), one parameter at a
 * time.
 *
 * DESIGN: the observed trials are split into good (the best ⌈γ·n⌉ by the study's ranking) and
 * the rest. For each parameter, l(x) is a Parzen density of the good trials' internal numbers
 * and g(x) of the others', each a mixture of equal-weight Gaussians — one per observation with
 * the larger gap to its neighbours as bandwidth (clipped, see build), plus a prior component
 * centred in the range with the whole range as its width — and categorical parameters get smoothed
 * frequencies (count + 1) / (n + K). `candidates` draws from l are scored by log l − log g and
 * the best is kept (the first on ties). Every draw comes from the trial's own stream, so the
 * sample is a function of (study seed, trial, observations) alone.
 */
#include "nn_study_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct parzen {
    double *mu, *sigma; /* (n) the observations, then the prior's centre */
    size_t n;
} parzen;

static double log_density(const parzen *p, double x) {
    double sum = 0;
    for (size_t i = 0; i < p->n; i++) {
        double z = (x - p->mu[i]) / p->sigma[i];
        sum += exp(-0.5 * z * z) / p->sigma[i];
    }
    return log(sum / (double)p->n + 1e-300);
}

/* A draw from the mixture truncated to [lo, hi] (redrawn when outside, clamped after 16 tries:
 * clamping alone would pile the mass of the tails onto the bounds). */
static double draw(const parzen *p, nn_rng *rng, double lo, double hi) {
    double x = lo;
    for (int tries = 0; tries < 16; tries++) {
        size_t i = (size_t)nn_rng_below(rng, p->n);
        x = p->mu[i] + p->sigma[i] * nn_rng_normal(rng);
        if (x >= lo && x <= hi) return x;
    }
    return x < lo ? lo : x > hi ? hi : x;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The Parzen mixture of the observations with good == want in dimension d (mu and sigma
 * preallocated, n + 1 each): each point's bandwidth is the larger gap to its neighbours (the
 * bounds count as neighbours), clipped to [range / min(100, m + 1), range]; the prior is
 * centred with the whole range as its bandwidth (Bergstra et al.'s "magic clip"). */
static void build(parzen *p, const nn__tpe_obs *obs, size_t n, size_t d, int want, double lo,
                  double hi, double *mu, double *sigma) {
    p->mu = mu;
    p->sigma = sigma;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (obs[i].good == want) mu[m++] = obs[i].x[d];
    qsort(mu, m, sizeof *mu, by_value);
    double range = hi - lo;
    double min_sigma = range / (m + 1 < 100 ? (double)(m + 1) : 100.0);
    for (size_t i = 0; i < m; i++) {
        double left = mu[i] - (i ? mu[i - 1] : lo), right = (i + 1 < m ? mu[i + 1] : hi) - mu[i];
        double sg = left > right ? left : right;
        sigma[i] = sg < min_sigma ? min_sigma : sg > range ? range : sg;
    }
    mu[m] = (lo + hi) / 2;
    sigma[m] = range;
    p->n = m + 1;
}

static double categorical(const nn_param *par, const nn__tpe_obs *obs, size_t n, size_t d,
                          nn_rng *rng, int candidates) {
    size_t k = par->n_choices;
    double best_x = 0, best_score = -INFINITY;
    double ng = 0, nb = 0;
    for (size_t i = 0; i < n; i++) *(obs[i].good ? &ng : &nb) += 1;
    for (int c = 0; c < candidates; c++) {
        /* a draw from the good trials' smoothed frequencies */
        double u = nn_rng_uniform(rng) * (ng + (double)k), acc = 0;
        size_t pick = k - 1;
        for (size_t v = 0; v < k; v++) {
            double cnt = 1;
            for (size_t i = 0; i < n; i++)
                if (obs[i].good && (size_t)obs[i].x[d] == v) cnt += 1;
            acc += cnt;
            if (u < acc) {
                pick = v;
                break;
            }
        }
        double cg = 1, cb = 1;
        for (size_t i = 0; i < n; i++)
            if ((size_t)obs[i].x[d] == pick) *(obs[i].good ? &cg : &cb) += 1;
        double score = log(cg / (ng + (double)k)) - log(cb / (nb + (double)k));
        if (score > best_score) {
            best_score = score;
            best_x = (double)pick;
        }
    }
    return best_x;
}

nn_status nn__tpe_sample(const nn_study_spec *s, const nn__tpe_obs *obs, size_t n, nn_rng *rng,
                         double *x, nn_error *err) {
    int candidates = s->candidates;
    double *mu = malloc((4 * n + 4) * sizeof *mu);
    if (!mu) return nn_nomem(err, "tpe");
    double *sg = mu + 2 * n + 2;
    for (size_t d = 0; d < s->n_params; d++) {
        const nn_param *par = &s->params[d];
        if (par->type == NN_PARAM_CATEGORICAL) {
            x[d] = categorical(par, obs, n, d, rng, candidates);
            continue;
        }
        double lo, hi, spacing;
        nn__param_bounds(par, &lo, &hi, &spacing);
        parzen good, bad;
        build(&good, obs, n, d, 1, lo, hi, mu, sg);
        build(&bad, obs, n, d, 0, lo, hi, mu + n + 1, sg + n + 1);
        double best_x = lo, best_score = -INFINITY;
        for (int c = 0; c < candidates; c++) {
            double cx = nn__param_snap(par, draw(&good, rng, lo, hi));
            double score = log_density(&good, cx) - log_density(&bad, cx);
            if (score > best_score) {
                best_score = score;
                best_x = cx;
            }
        }
        x[d] = best_x;
    }
    free(mu);
    return NN_OK;
}
