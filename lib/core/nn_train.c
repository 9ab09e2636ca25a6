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

struct nn_train_state {
    size_t n;    /* rows */
    size_t *idx; /* (n) row order after the last epoch's shuffle */
    nn_optim *opt;
    nn_rng shuffle, dropout;
    int epoch; /* the next epoch to run */
};

/* One call's scratch. */
typedef struct fit_state {
    nn_float *xb;   /* (batch × n_in) gathered inputs */
    nn_float *yb;   /* (batch × n_out) gathered targets */
    nn_float *dout; /* (batch × n_out) loss gradient */
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
    free(s->xb);
    free(s->yb);
    free(s->dout);
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

nn_status nn_train_begin(const nn_net *net, size_t n, const nn_train_cfg *cfg, nn_train_state **out,
                         nn_error *err) {
    *out = NULL;
    nn_status st = check_cfg(net, n, cfg, err);
    if (st != NN_OK) return st;
    nn_train_state *t = calloc(1, sizeof *t);
    if (!t || !(t->idx = malloc(n * sizeof *t->idx))) {
        free(t);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the training state");
    }
    st = nn_optim_create(&cfg->optim, nn_net_param_count(net), &t->opt, err);
    if (st != NN_OK) {
        nn_train_state_destroy(t);
        return st;
    }
    t->n = n;
    for (size_t i = 0; i < n; i++) t->idx[i] = i;
    nn_rng_init(&t->shuffle, cfg->seed, NN_STREAM(cfg->group, NN_STREAM_SHUFFLE));
    nn_rng_init(&t->dropout, cfg->seed, NN_STREAM(cfg->group, NN_STREAM_DROPOUT));
    *out = t;
    return NN_OK;
}

void nn_train_state_destroy(nn_train_state *t) {
    if (!t) return;
    free(t->idx);
    nn_optim_destroy(t->opt);
    free(t);
}

int nn_train_state_epoch(const nn_train_state *t) { return t->epoch; }

static void rng_save(const nn_rng *r, nn_wbuf *out) {
    for (int i = 0; i < 4; i++) nn_wbuf_u64(out, r->s[i]);
    nn_wbuf_f64(out, r->spare);
    nn_wbuf_i32(out, r->has_spare);
}

static void rng_load(nn_rng *r, nn_rbuf *in) {
    for (int i = 0; i < 4; i++) r->s[i] = nn_rbuf_u64(in);
    r->spare = nn_rbuf_f64(in);
    r->has_spare = nn_rbuf_i32(in);
}

/* n, epoch, step count, the optimizer's values, the streams, then the row order as 32-bit row
 * numbers when they fit (a tabular fold's rows do). */
void nn_train_state_save(const nn_train_state *t, nn_wbuf *out) {
    size_t len;
    const nn_float *v = nn_optim_state(t->opt, &len);
    nn_wbuf_u64(out, t->n);
    nn_wbuf_i32(out, t->epoch);
    nn_wbuf_u64(out, nn_optim_steps(t->opt));
    nn_wbuf_u64(out, len);
    nn_wbuf_put(out, v, len * sizeof *v);
    rng_save(&t->shuffle, out);
    rng_save(&t->dropout, out);
    int narrow = t->n <= UINT32_MAX;
    nn_wbuf_i32(out, narrow);
    for (size_t i = 0; i < t->n; i++) {
        if (narrow) {
            uint32_t r = (uint32_t)t->idx[i];
            nn_wbuf_put(out, &r, sizeof r);
        } else {
            nn_wbuf_u64(out, t->idx[i]);
        }
    }
}

nn_status nn_train_state_load(nn_train_state *t, nn_rbuf *in, nn_error *err) {
    size_t len;
    nn_float *v = nn_optim_state(t->opt, &len);
    uint64_t n = nn_rbuf_u64(in);
    int epoch = nn_rbuf_i32(in);
    uint64_t steps = nn_rbuf_u64(in);
    if (in->failed || n != t->n || epoch < 0 || nn_rbuf_u64(in) != len)
        return nn_error_set(err, NN_ERR_INVALID,
                            "the training state does not fit this network and rows");
    nn_rbuf_get(in, v, len * sizeof *v);
    rng_load(&t->shuffle, in);
    rng_load(&t->dropout, in);
    int narrow = nn_rbuf_i32(in);
    for (size_t i = 0; i < t->n && !in->failed; i++) {
        if (narrow) {
            uint32_t r;
            nn_rbuf_get(in, &r, sizeof r);
            t->idx[i] = r;
        } else {
            t->idx[i] = (size_t)nn_rbuf_u64(in);
        }
        if (t->idx[i] >= t->n) in->failed = 1;
    }
    if (in->failed)
        return nn_error_set(err, NN_ERR_INVALID, "the training state is cut short or corrupt");
    t->epoch = epoch;
    nn_optim_set_steps(t->opt, steps);
    return NN_OK;
}

nn_status nn_train_fit(nn_net *net, const nn_float *x, const nn_float *y, size_t n,
                       const nn_train_cfg *cfg, nn_train_result *res, nn_error *err) {
    nn_train_state *t = NULL;
    nn_status st = nn_train_begin(net, n, cfg, &t, err);
    if (st == NN_OK && t) st = nn_train_resume(net, x, y, n, cfg, t, res, err);
    nn_train_state_destroy(t);
    return st;
}

nn_status nn_train_resume(nn_net *net, const nn_float *x, const nn_float *y, size_t n,
                          const nn_train_cfg *cfg, nn_train_state *t, nn_train_result *res,
                          nn_error *err) {
    nn_status st = check_cfg(net, n, cfg, err);
    if (st != NN_OK) return st;
    if (!t || t->n != n)
        return nn_error_set(err, NN_ERR_INVALID, "the training state has other rows");
    size_t n_in = (size_t)nn_net_n_inputs(net), n_out = (size_t)nn_net_n_outputs(net);
    size_t bs = (size_t)cfg->batch_size < n ? (size_t)cfg->batch_size : n;
    if (bs > NN_MAX_BATCH) bs = NN_MAX_BATCH;
    fit_state s;
    memset(&s, 0, sizeof s);
    s.xb = malloc(bs * n_in * sizeof *s.xb);
    s.yb = malloc(bs * n_out * sizeof *s.yb);
    s.dout = malloc(bs * n_out * sizeof *s.dout);
    if (!s.xb || !s.yb || !s.dout) {
        fit_state_free(&s);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for training buffers");
    }
    /* the workspace and kernels for both batch sizes, before the first batch */
    st = nn_net_reserve(net, (int)bs, err);
    if (st == NN_OK && n % bs) st = nn_net_reserve(net, (int)(n % bs), err);
    if (st != NN_OK) {
        fit_state_free(&s);
        return st;
    }
    nn_train_result r = {t->epoch, 0.0, 0};
    for (int e = t->epoch; e < cfg->epochs && st == NN_OK; e++) {
        double lr = nn_sched_lr(&cfg->sched, cfg->optim.learning_rate, e);
        if (cfg->lr_factor) lr *= *cfg->lr_factor;
        if (!cfg->no_shuffle) nn_rng_shuffle(&t->shuffle, t->idx, n);
        double loss_sum = 0.0;
        size_t batch_no = 0;
        for (size_t start = 0; start < n; start += bs, batch_no++) {
            if (cfg->cancel && atomic_load(cfg->cancel)) {
                st = nn_error_set(err, NN_ERR_CANCELLED, "cancelled at epoch %d", e + 1);
                break;
            }
            size_t b = n - start < bs ? n - start : bs;
            gather_rows(x, t->idx + start, b, n_in, s.xb);
            gather_rows(y, t->idx + start, b, n_out, s.yb);
            const nn_float *pred;
            st = nn_net_forward(net, s.xb, (int)b, &t->dropout, &pred, err);
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
            nn_optim_step(t->opt, nn_net_params(net), nn_net_grads(net), lr);
        }
        if (st != NN_OK) break;
        t->epoch = e + 1;
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
