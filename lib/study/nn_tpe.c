/* nn_tpe.c — the tree-structured Parzen estimator (Bergstra et al., 2011), one parameter at a
 * time.
 *
 * DESIGN: the observed trials are split into good (the best ⌈γ·n⌉ by the study's ranking) and
 * the rest. For each parameter, l(x) is a Parzen density of the good trials' internal numbers
 * and g(x) of the others', each a mixture of equal-weight Gaussians — one per observation with
 * bandwidth (hi − lo)·n^(−1/5) (at least 1 % of the range), plus a prior component centred in
 * the range with the whole range as its width — and categorical parameters get smoothed
 * frequencies (count + 1) / (n + K). `candidates` draws from l are scored by log l − log g and
 * the best is kept (the first on ties). Every draw comes from the trial's own stream, so the
 * sample is a function of (study seed, trial, observations) alone.
 */
#include "nn_study_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct parzen {
    double *mu; /* (n) the observations, then the prior's centre */
    size_t n;
    double sigma, prior_sigma;
} parzen;

static double log_density(const parzen *p, double x) {
    double sum = 0;
    for (size_t i = 0; i < p->n; i++) {
        double s = i + 1 == p->n ? p->prior_sigma : p->sigma;
        double z = (x - p->mu[i]) / s;
        sum += exp(-0.5 * z * z) / s;
    }
    return log(sum / (double)p->n + 1e-300);
}

static double draw(const parzen *p, nn_rng *rng, double lo, double hi) {
    size_t i = (size_t)nn_rng_below(rng, p->n);
    double s = i + 1 == p->n ? p->prior_sigma : p->sigma;
    double x = p->mu[i] + s * nn_rng_normal(rng);
    return x < lo ? lo : x > hi ? hi : x;
}

/* The Parzen mixture of the observations with good == want in dimension d (mu preallocated). */
static void build(parzen *p, const nn__tpe_obs *obs, size_t n, size_t d, int want, double lo,
                  double hi, double *mu) {
    p->mu = mu;
    p->n = 0;
    for (size_t i = 0; i < n; i++)
        if (obs[i].good == want) mu[p->n++] = obs[i].x[d];
    size_t m = p->n;
    mu[p->n++] = (lo + hi) / 2;
    double range = hi - lo;
    p->sigma = range * pow((double)(m > 0 ? m : 1), -0.2);
    if (p->sigma < range / 100) p->sigma = range / 100;
    p->prior_sigma = range;
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
    double *mu = malloc((2 * n + 2) * sizeof *mu);
    if (!mu) return nn_nomem(err, "tpe");
    for (size_t d = 0; d < s->n_params; d++) {
        const nn_param *par = &s->params[d];
        if (par->type == NN_PARAM_CATEGORICAL) {
            x[d] = categorical(par, obs, n, d, rng, candidates);
            continue;
        }
        double lo, hi, spacing;
        nn__param_bounds(par, &lo, &hi, &spacing);
        parzen good, bad;
        build(&good, obs, n, d, 1, lo, hi, mu);
        build(&bad, obs, n, d, 0, lo, hi, mu + n + 1);
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
