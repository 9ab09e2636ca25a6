/* nn_train.c — the mini-batch training loop (see nn_train.h DESIGN). */
#include "nn_train.h"

#include "nn_simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

nn_train_cfg nn_train_defaults(void) {
    nn_train_cfg c;
    memset(&c, 0, sizeof c);
    c.epochs = 100;
    c.batch_size = 32;
    c.loss.kind = NN_LOSS_MSE;
    c.loss.delta = 1.0;
    c.optim = nn_optim_defaults(NN_OPTIM_ADAM);
    c.sched = nn_sched_constant();
    return c;
}

typedef struct fit_state {
    size_t *idx;    /* (n) row order */
    nn_float *xb;   /* (batch × n_in) gathered inputs */
    nn_float *yb;   /* (batch × n_out) gathered targets */
    nn_float *dout; /* (batch × n_out) loss gradient */
    nn_optim *opt;
} fit_state;

/* xb (b × n_in) = the rows idx[0..b) of x; a loop rather than a memcpy per row, whose call
 * costs more than the copy for the few dozen columns of a tabular row. */
NN__VECTORIZE
static void gather_rows(const nn_float *restrict x, const size_t *restrict idx, size_t b,
                        size_t n_in, nn_float *restrict xb) {
    for (size_t k = 0; k < b; k++) {
        const nn_float *restrict row = x + idx[k] * n_in;
        nn_float *restrict dst = xb + k * n_in;
        for (size_t j = 0; j < n_in; j++) dst[j] = row[j];
    }
}

static void fit_state_free(fit_state *s) {
    free(s->idx);
    free(s->xb);
    free(s->yb);
    free(s->dout);
    nn_optim_destroy(s->opt);
}

static nn_status check_cfg(const nn_net *net, size_t n, const nn_train_cfg *cfg, nn_error *err) {
    if (n == 0) return nn_error_set(err, NN_ERR_DATA, "no training rows");
    if (cfg->epochs < 1) return nn_error_set(err, NN_ERR_INVALID, "epochs must be ≥ 1");
    if (cfg->batch_size < 1) return nn_error_set(err, NN_ERR_INVALID, "batch_size must be ≥ 1");
    if ((int)cfg->loss.kind < 0 || cfg->loss.kind >= NN_LOSS_COUNT)
        return nn_error_set(err, NN_ERR_INVALID, "unknown loss");
    if (cfg->loss.kind == NN_LOSS_HUBER && !(cfg->loss.delta > 0))
        return nn_error_set(err, NN_ERR_INVALID, "huber delta must be > 0");
    if (!(cfg->loss.label_smoothing >= 0 && cfg->loss.label_smoothing <= NN_LOSS_MAX_SMOOTHING))
        return nn_error_set(err, NN_ERR_INVALID, "label smoothing must be in [0, %g]",
                            NN_LOSS_MAX_SMOOTHING);
    nn_status st = nn_optim_check(&cfg->optim, err);
    if (st == NN_OK) st = nn_sched_check(&cfg->sched, err);
    (void)net;
    return st;
}

nn_status nn_train_fit(nn_net *net, const nn_float *x, const nn_float *y, size_t n,
                       const nn_train_cfg *cfg, nn_train_result *res, nn_error *err) {
    nn_status st = check_cfg(net, n, cfg, err);
    if (st != NN_OK) return st;
    size_t n_in = (size_t)nn_net_n_inputs(net), n_out = (size_t)nn_net_n_outputs(net);
    size_t bs = (size_t)cfg->batch_size < n ? (size_t)cfg->batch_size : n;
    if (bs > NN_MAX_BATCH) bs = NN_MAX_BATCH;
    fit_state s;
    memset(&s, 0, sizeof s);
    s.idx = malloc(n * sizeof *s.idx);
    s.xb = malloc(bs * n_in * sizeof *s.xb);
    s.yb = malloc(bs * n_out * sizeof *s.yb);
    s.dout = malloc(bs * n_out * sizeof *s.dout);
    if (!s.idx || !s.xb || !s.yb || !s.dout) {
        fit_state_free(&s);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for training buffers");
    }
    st = nn_optim_create(&cfg->optim, nn_net_param_count(net), &s.opt, err);
    /* the workspace and kernels for both batch sizes, before the first batch */
    if (st == NN_OK) st = nn_net_reserve(net, (int)bs, err);
    if (st == NN_OK && n % bs) st = nn_net_reserve(net, (int)(n % bs), err);
    if (st != NN_OK) {
        fit_state_free(&s);
        return st;
    }
    nn_rng shuffle, dropout;
    nn_rng_init(&shuffle, cfg->seed, NN_STREAM(cfg->group, NN_STREAM_SHUFFLE));
    nn_rng_init(&dropout, cfg->seed, NN_STREAM(cfg->group, NN_STREAM_DROPOUT));
    for (size_t i = 0; i < n; i++) s.idx[i] = i;

    nn_train_result r = {0, 0.0, 0};
    for (int e = 0; e < cfg->epochs && st == NN_OK; e++) {
        double lr = nn_sched_lr(&cfg->sched, cfg->optim.learning_rate, e);
        if (cfg->lr_factor) lr *= *cfg->lr_factor;
        if (!cfg->no_shuffle) nn_rng_shuffle(&shuffle, s.idx, n);
        double loss_sum = 0.0;
        size_t batch_no = 0;
        for (size_t start = 0; start < n; start += bs, batch_no++) {
            if (cfg->cancel && atomic_load(cfg->cancel)) {
                st = nn_error_set(err, NN_ERR_CANCELLED, "cancelled at epoch %d", e + 1);
                break;
            }
            size_t b = n - start < bs ? n - start : bs;
            gather_rows(x, s.idx + start, b, n_in, s.xb);
            gather_rows(y, s.idx + start, b, n_out, s.yb);
            const nn_float *pred;
            st = nn_net_forward(net, s.xb, (int)b, &dropout, &pred, err);
            if (st != NN_OK) break;
            double loss = nn_loss_batch(&cfg->loss, pred, s.yb, b, n_out, s.dout);
            if (!isfinite(loss)) {
                st = nn_error_set(err, NN_ERR_DIVERGED,
                                  "training diverged at epoch %d, batch %zu: loss is %s", e + 1,
                                  batch_no + 1, isnan(loss) ? "NaN" : "infinite");
                break;
            }
            loss_sum += loss * (double)b;
            nn_net_backward(net, s.dout);
            nn_optim_step(s.opt, nn_net_params(net), nn_net_grads(net), lr);
        }
        if (st != NN_OK) break;
        r.epochs_run = e + 1;
        r.last_loss = loss_sum / (double)n;
        if (cfg->on_epoch && cfg->on_epoch(cfg->user, net, e, r.last_loss, lr)) {
            r.stopped = 1;
            break;
        }
    }
    fit_state_free(&s);
    if (res) *res = r;
    return st;
}
