/* nn_optim.c — sgd, momentum, adam, adamw (formulas in nn_optim.h). */
#include "nn_optim.h"

#include "nn_simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct nn_optim {
    nn_optim_cfg cfg;
    size_t n;
    uint64_t t;      /* steps taken */
    nn_float *state; /* (k · n): b, or m then v */
    int k;
};

NN_ENUM_DEFINE(nn_optim, nn_optim_kind, NN_OPTIM_TABLE, NN_OPTIM_COUNT)

nn_optim_cfg nn_optim_defaults(nn_optim_kind kind) {
    nn_optim_cfg c = {kind, 0.001, 0.9, 0, 0.9, 0.999, 1e-8, 0.01};
    return c;
}

nn_status nn_optim_check(const nn_optim_cfg *c, nn_error *err) {
    if ((int)c->kind < 0 || c->kind >= NN_OPTIM_COUNT)
        return nn_error_set(err, NN_ERR_INVALID, "unknown optimizer");
    if (!(c->learning_rate > 0 && isfinite(c->learning_rate)))
        return nn_error_set(err, NN_ERR_INVALID, "learning_rate must be a finite number > 0");
    if (!(c->momentum >= 0 && c->momentum < 1))
        return nn_error_set(err, NN_ERR_INVALID, "momentum must be in [0, 1)");
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
        return nn_error_set(err, NN_ERR_INVALID, "beta1 and beta2 must be in [0, 1)");
    if (!(c->eps > 0 && isfinite(c->eps)))
        return nn_error_set(err, NN_ERR_INVALID, "epsilon must be a finite number > 0");
    if (!(c->weight_decay >= 0 && isfinite(c->weight_decay)))
        return nn_error_set(err, NN_ERR_INVALID, "weight_decay must be a finite number ≥ 0");
    return NN_OK;
}

nn_status nn_optim_create(const nn_optim_cfg *cfg, size_t n_params, nn_optim **out, nn_error *err) {
    nn_status st = nn_optim_check(cfg, err);
    if (st != NN_OK) return st;
    nn_optim *o = calloc(1, sizeof *o);
    if (!o) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the optimizer");
    o->cfg = *cfg;
    o->n = n_params;
    o->k = cfg->kind == NN_OPTIM_SGD ? 0 : cfg->kind == NN_OPTIM_MOMENTUM ? 1 : 2;
    if (o->k > 0) {
        o->state = calloc((size_t)o->k * n_params, sizeof *o->state);
        if (!o->state) {
            free(o);
            return nn_error_set(err, NN_ERR_NOMEM, "out of memory for optimizer state");
        }
    }
    *out = o;
    return NN_OK;
}

void nn_optim_destroy(nn_optim *opt) {
    if (!opt) return;
    free(opt->state);
    free(opt);
}

void nn_optim_reset(nn_optim *opt) {
    opt->t = 0;
    if (opt->state) memset(opt->state, 0, (size_t)opt->k * opt->n * sizeof *opt->state);
}

uint64_t nn_optim_steps(const nn_optim *opt) { return opt->t; }

nn_float *nn_optim_state(nn_optim *opt, size_t *len) {
    *len = (size_t)opt->k * opt->n;
    return opt->state;
}

void nn_optim_set_steps(nn_optim *opt, uint64_t steps) { opt->t = steps; }

/* The update loops: one pass over contiguous arrays each, in double per element as nn_optim.h
 * says, written for the vectorizer (nn_simd.h) — the branches on the optimizer's options are
 * taken outside the loops. */
NN__VECTORIZE
static void step_sgd(size_t n, nn_float *restrict p, const nn_float *restrict g, double lr) {
    for (size_t i = 0; i < n; i++) p[i] = (nn_float)(p[i] - lr * g[i]);
}

NN__VECTORIZE
static void step_momentum(size_t n, nn_float *restrict p, const nn_float *restrict g,
                          nn_float *restrict b, double lr, double mu, int nesterov) {
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            double bi = mu * b[i] + g[i];
            b[i] = (nn_float)bi;
            p[i] = (nn_float)(p[i] - lr * (g[i] + mu * bi));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double bi = mu * b[i] + g[i];
            b[i] = (nn_float)bi;
            p[i] = (nn_float)(p[i] - lr * bi);
        }
    }
}

/* One adam step's constants: p ← p − step · m / (sqrt(v) · inv_sqrt_bc2 + eps), which is
 * lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε) rearranged as PyTorch does, so that each
 * element costs one square root and one division. decay is lr·wd for adamw, else 0. */
typedef struct adam_step {
    double b1, b2, eps, step, inv_sqrt_bc2, decay;
} adam_step;

NN__VECTORIZE
static void step_adam(size_t n, nn_float *restrict p, const nn_float *restrict g,
                      nn_float *restrict m, nn_float *restrict v, const adam_step *c) {
    double b1 = c->b1, b2 = c->b2, eps = c->eps, step = c->step, isb = c->inv_sqrt_bc2;
    double decay = c->decay;
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        double mi = b1 * m[i] + (1.0 - b1) * gi;
        double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
        m[i] = (nn_float)mi;
        v[i] = (nn_float)vi;
        double pi = p[i];
        pi -= step * mi / (sqrt(vi) * isb + eps);
        if (decay > 0) pi -= decay * (double)p[i];
        p[i] = (nn_float)pi;
    }
}

void nn_optim_step(nn_optim *o, nn_float *p, const nn_float *g, double lr) {
    o->t++;
    unsigned fp = nn__fp_enter();
    const nn_optim_cfg *c = &o->cfg;
    switch (c->kind) {
    case NN_OPTIM_SGD:
        step_sgd(o->n, p, g, lr);
        break;
    case NN_OPTIM_MOMENTUM:
        step_momentum(o->n, p, g, o->state, lr, c->momentum, c->nesterov);
        break;
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW: {
        adam_step s = {.b1 = c->beta1,
                       .b2 = c->beta2,
                       .eps = c->eps,
                       .step = lr / (1.0 - pow(c->beta1, (double)o->t)),
                       .inv_sqrt_bc2 = 1.0 / sqrt(1.0 - pow(c->beta2, (double)o->t)),
                       .decay = c->kind == NN_OPTIM_ADAMW ? lr * c->weight_decay : 0.0};
        step_adam(o->n, p, g, o->state, o->state + o->n, &s);
        break;
    }
    default:
        break;
    }
    nn__fp_leave(fp);
}
