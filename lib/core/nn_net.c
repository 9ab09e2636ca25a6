/* nn_net.c — dense networks: layout, forward, backward, prediction (see nn_net.h DESIGN).
 *
 * DESIGN (products and workspace)
 *
 * Plans. A product's kernel is generated for its shape, and the batch is one of its dimensions,
 * so the network keeps, for each batch size it has seen, a plan: the three products of every
 * layer — forward Z = X·W, weight gradient dW = Xᵀ·dZ (accumulated onto λW when the layer has
 * L2), input gradient dX = dZ·Wᵀ — prepared by nn_mm_prepare. NET_PLANS plans are kept (a
 * training loop uses two batch sizes, the full batch and the last partial one, and prediction two
 * more); a new size replaces the least recently used, never the last forward pass's (its
 * backward pass needs it). Preparing a plan looks its kernels up in libxsmm's registry
 * (generating them the first time the process sees a shape) and takes microseconds;
 * nn_train_fit prepares its sizes before the first epoch, so no batch prepares or allocates
 * anything. What depends on a layer's shape alone, the transposition below, is prepared when the
 * network is created.
 *
 * Transposed weights. libxsmm 1.17 generates no kernel that reads its B operand transposed, so
 * where libxsmm serves dX = dZ·Wᵀ the product reads wt, W transposed (out × in), copied from W
 * just before (in·out copies against batch·in·out multiply-adds). Under BLAS it reads W.
 *
 * Forward, backward (and nn_optim_step) run with subnormals flushed to zero (nn_simd.h).
 *
 * In-place activation. Except for gelu, f' is known from a = f(z) (nn_act_in_place), so such a
 * layer keeps only a: the forward product writes into a's buffer and the fused pass turns it
 * into a in place (z and a are the same pointer). Backward, dZ always goes to scratch[1] and dX
 * to scratch[0], so the fused pass never works in place.
 */
#include "nn_net.h"

#include "nn_matrix.h"
#include "nn_simd.h"

#include <stdlib.h>
#include <string.h>

#define NET_PLANS 6
#define ALIGN_BYTES 64
#define ALIGN_FLOATS (ALIGN_BYTES / sizeof(nn_float))

typedef struct layer {
    nn_layer_cfg cfg;
    int in, out;
    size_t w_off, b_off; /* offsets into params/grads */
    /* workspace views for the last forward pass, (batch × in) or (batch × out) */
    const nn_float *xin; /* view of the input the last forward pass used (after dropout) */
    nn_float *xdrop;     /* workspace for the input after dropout; NULL when off */
    nn_float *mask;      /* dropout scale per input element: 0 or 1/(1-p); NULL when off */
    nn_float *z, *a;     /* z == a when the activation works in place */
    int dropped;         /* whether the last forward pass applied dropout */
    nn_tr wt;            /* W (in × out) → wt (out × in), prepared at creation */
} layer;

/* One layer's products for one batch size. */
typedef struct layer_mm {
    nn_mm fwd; /* Z (batch × out) = X (batch × in) · W (in × out) */
    nn_mm dw; /* dW (in × out) = Xᵀ · dZ (batch × out), onto λW when l2 > 0; dw_t: dZᵀ · X */
    nn_mm dx; /* dX (batch × in) = dZ · Wᵀ, reading wt when dx_wt, else W transposed by BLAS */
    int dx_wt, dw_t;
} layer_mm;

typedef struct plan {
    int batch;     /* 0: unused */
    uint64_t used; /* net->clock at the last use, for replacement */
    layer_mm *mm;  /* (n_layers), a view into net->mms */
} plan;

struct nn_net {
    int n_inputs, n_layers;
    layer *layers; /* (n_layers) */
    size_t n_params;
    nn_float *params;     /* (n_params) */
    nn_float *grads;      /* (n_params) */
    nn_float *work;       /* one allocation for every workspace view, 64-byte aligned */
    nn_float *scratch[2]; /* (cap × max width) backward buffers: dX, dZ */
    double *acc;          /* (max width) column sums of the backward pass */
    nn_float *wt;         /* (wt_cap) the transposed weights of the layer being back-propagated */
    size_t wt_cap;
    int cap;   /* batch capacity of the workspace */
    int batch; /* batch of the last forward pass */
    int max_width;
    nn_gemm_path gemm;
    plan plans[NET_PLANS];
    plan *cur;      /* the plan of the last forward pass */
    uint64_t clock; /* counts plan lookups */
    layer_mm *mms;  /* (NET_PLANS × n_layers) */
};

static nn_status check_cfg(const nn_net_cfg *cfg, size_t *n_params, nn_error *err) {
    if (!cfg || !cfg->layers) return nn_error_set(err, NN_ERR_INVALID, "network config missing");
    if (cfg->n_inputs < 1 || cfg->n_inputs > NN_MAX_UNITS)
        return nn_error_set(err, NN_ERR_INVALID, "inputs: %d is not in 1..%d", cfg->n_inputs,
                            NN_MAX_UNITS);
    if (cfg->n_layers < 1 || cfg->n_layers > NN_MAX_LAYERS)
        return nn_error_set(err, NN_ERR_INVALID, "layers: %d is not in 1..%d", cfg->n_layers,
                            NN_MAX_LAYERS);
    size_t total = 0;
    int in = cfg->n_inputs;
    for (int i = 0; i < cfg->n_layers; i++) {
        const nn_layer_cfg *l = &cfg->layers[i];
        if (l->units < 1 || l->units > NN_MAX_UNITS)
            return nn_error_set(err, NN_ERR_INVALID, "layer %d: units %d is not in 1..%d", i,
                                l->units, NN_MAX_UNITS);
        if ((int)l->act < 0 || l->act >= NN_ACT_COUNT)
            return nn_error_set(err, NN_ERR_INVALID, "layer %d: unknown activation", i);
        if ((int)l->weight_init < 0 || l->weight_init >= NN_INIT_COUNT || (int)l->bias_init < 0 ||
            l->bias_init >= NN_INIT_COUNT)
            return nn_error_set(err, NN_ERR_INVALID, "layer %d: unknown initializer", i);
        if (!(l->dropout >= 0 && l->dropout < 1))
            return nn_error_set(err, NN_ERR_INVALID, "layer %d: dropout %g is not in [0, 1)", i,
                                l->dropout);
        if (!(l->l2 >= 0 && l->l2 < 1e6))
            return nn_error_set(err, NN_ERR_INVALID, "layer %d: l2 %g is not in [0, 1e6)", i,
                                l->l2);
        total += (size_t)in * (size_t)l->units + (size_t)l->units;
        if (total > NN_MAX_PARAMS)
            return nn_error_set(err, NN_ERR_LIMIT, "network has more than %zu parameters",
                                NN_MAX_PARAMS);
        in = l->units;
    }
    *n_params = total;
    return NN_OK;
}

size_t nn_net_cfg_param_count(const nn_net_cfg *cfg) {
    size_t n = 0;
    return check_cfg(cfg, &n, NULL) == NN_OK ? n : 0;
}

nn_status nn_net_create(const nn_net_cfg *cfg, nn_net **out, nn_error *err) {
    size_t n_params = 0;
    nn_status st = check_cfg(cfg, &n_params, err);
    if (st != NN_OK) return st;
    nn_net *net = calloc(1, sizeof *net);
    if (!net) goto fail;
    net->n_inputs = cfg->n_inputs;
    net->n_layers = cfg->n_layers;
    net->n_params = n_params;
    net->layers = calloc((size_t)cfg->n_layers, sizeof *net->layers);
    net->gemm = cfg->gemm == NN_GEMM_BLAS ? NN_GEMM_BLAS : NN_GEMM_AUTO;
    net->params = calloc(n_params ? n_params : 1, sizeof *net->params); /* n_params ≥ 2 */
    net->grads = calloc(n_params ? n_params : 1, sizeof *net->grads);
    net->mms = calloc((size_t)NET_PLANS * (size_t)cfg->n_layers, sizeof *net->mms);
    if (!net->layers || !net->params || !net->grads || !net->mms) goto fail;
    for (int p = 0; p < NET_PLANS; p++) net->plans[p].mm = net->mms + (size_t)p * cfg->n_layers;
    size_t off = 0;
    int in = cfg->n_inputs, width = cfg->n_inputs;
    for (int i = 0; i < cfg->n_layers; i++) {
        layer *l = &net->layers[i];
        l->cfg = cfg->layers[i];
        l->in = in;
        l->out = l->cfg.units;
        l->w_off = off;
        off += (size_t)l->in * (size_t)l->out;
        l->b_off = off;
        off += (size_t)l->out;
        in = l->out;
        if (l->out > width) width = l->out;
        nn_tr_prepare(&l->wt, net->gemm, l->in, l->out);
    }
    net->max_width = width;
    net->acc = malloc((size_t)width * sizeof *net->acc);
    if (!net->acc) goto fail;
    *out = net;
    return NN_OK;
fail:
    nn_net_destroy(net);
    return nn_error_set(err, NN_ERR_NOMEM, "out of memory for a network of %zu parameters",
                        n_params);
}

void nn_net_destroy(nn_net *net) {
    if (!net) return;
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->work);
    free(net->acc);
    free(net->wt);
    free(net->mms);
    free(net);
}

void nn_net_init(nn_net *net, uint64_t seed, uint64_t stream) {
    nn_rng rng;
    nn_rng_init(&rng, seed, stream);
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        nn_init_fill(l->cfg.weight_init, net->params + l->w_off, (size_t)l->in * (size_t)l->out,
                     l->in, l->out, &rng);
        nn_init_fill(l->cfg.bias_init, net->params + l->b_off, (size_t)l->out, l->in, l->out, &rng);
    }
}

int nn_net_n_inputs(const nn_net *net) { return net->n_inputs; }
int nn_net_n_outputs(const nn_net *net) { return net->layers[net->n_layers - 1].out; }
int nn_net_n_layers(const nn_net *net) { return net->n_layers; }
const nn_layer_cfg *nn_net_layer_cfg(const nn_net *net, int i) { return &net->layers[i].cfg; }
size_t nn_net_param_count(const nn_net *net) { return net->n_params; }
nn_float *nn_net_params(nn_net *net) { return net->params; }
nn_float *nn_net_grads(nn_net *net) { return net->grads; }
const nn_float *nn_net_params_const(const nn_net *net) { return net->params; }

void nn_net_layer(nn_net *net, int i, nn_layer_view *view) {
    layer *l = &net->layers[i];
    view->in = l->in;
    view->out = l->out;
    view->w = net->params + l->w_off;
    view->b = net->params + l->b_off;
    view->dw = net->grads + l->w_off;
    view->db = net->grads + l->b_off;
}

/* n rounded up to whole 64-byte lines of nn_float. */
static size_t aligned_len(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* Grows the workspace to hold a batch of `batch` rows: per layer xdrop and mask (when the layer
 * has dropout), z (when the activation does not work in place) and a, plus the two backward
 * scratch buffers of the widest layer. */
static nn_status grow_workspace(nn_net *net, int batch, nn_error *err) {
    if (batch <= net->cap) return NN_OK;
    if (batch > NN_MAX_BATCH)
        return nn_error_set(err, NN_ERR_LIMIT, "batch of %d rows exceeds %d", batch, NN_MAX_BATCH);
    size_t b = (size_t)batch, wide = aligned_len(b * (size_t)net->max_width), total = 2 * wide;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        size_t n_in = aligned_len(b * (size_t)l->in), n_out = aligned_len(b * (size_t)l->out);
        if (l->cfg.dropout > 0) total += 2 * n_in;
        total += nn_act_in_place(l->cfg.act) ? n_out : 2 * n_out;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, ALIGN_BYTES, total * sizeof(nn_float)) != 0)
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for a batch of %d rows", batch);
    free(net->work);
    net->work = mem;
    net->cap = batch;
    nn_float *p = net->work;
    net->scratch[0] = p;
    p += wide;
    net->scratch[1] = p;
    p += wide;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        size_t n_in = aligned_len(b * (size_t)l->in), n_out = aligned_len(b * (size_t)l->out);
        l->mask = NULL;
        l->xdrop = NULL;
        if (l->cfg.dropout > 0) {
            l->xdrop = p;
            p += n_in;
            l->mask = p;
            p += n_in;
        }
        l->a = p;
        p += n_out;
        l->z = l->a;
        if (!nn_act_in_place(l->cfg.act)) {
            l->z = p;
            p += n_out;
        }
    }
    return NN_OK;
}

/* Prepares the three products of layer l for batches of `batch` rows (see DESIGN). */
static void prepare_layer(const nn_net *net, const layer *l, int batch, layer_mm *mm) {
    int in = l->in, out = l->out;
    nn_mm_prepare(&mm->fwd, net->gemm, 0, 0, batch, out, in, in, out, out, 0);
    if (out == 1) /* dW (in × 1) is stored as dWᵀ (1 × in) = dZᵀ · X: a faster kernel shape */
        nn_mm_prepare(&mm->dw, net->gemm, 0, 0, 1, in, batch, batch, in, in, l->cfg.l2 > 0);
    else
        nn_mm_prepare(&mm->dw, net->gemm, 1, 0, in, out, batch, in, out, out, l->cfg.l2 > 0);
    mm->dw_t = out == 1;
    nn_mm_prepare(&mm->dx, net->gemm, 0, 0, batch, in, out, out, in, in, 0);
    mm->dx_wt = nn_mm_is_xsmm(&mm->dx);
    if (!mm->dx_wt) nn_mm_prepare(&mm->dx, NN_GEMM_BLAS, 0, 1, batch, in, out, out, out, in, 0);
}

/* The plan for batches of `batch` rows, prepared into the least recently used slot if new. */
static nn_status plan_for(nn_net *net, int batch, plan **out, nn_error *err) {
    plan *p = NULL;
    net->clock++;
    for (int i = 0; i < NET_PLANS && !p; i++)
        if (net->plans[i].batch == batch) p = &net->plans[i];
    if (!p) {
        for (int i = 0; i < NET_PLANS; i++) /* the last forward pass's plan stays for backward */
            if (&net->plans[i] != net->cur && (!p || net->plans[i].used < p->used))
                p = &net->plans[i];
        size_t wt = 0;
        for (int i = 0; i < net->n_layers; i++) {
            layer *l = &net->layers[i];
            prepare_layer(net, l, batch, &p->mm[i]);
            if (i > 0 && p->mm[i].dx_wt && (size_t)l->in * (size_t)l->out > wt)
                wt = (size_t)l->in * (size_t)l->out;
        }
        if (wt > net->wt_cap) {
            nn_float *grown = realloc(net->wt, wt * sizeof *grown);
            if (!grown) {
                p->batch = 0;
                return nn_error_set(err, NN_ERR_NOMEM, "out of memory for transposed weights");
            }
            net->wt = grown;
            net->wt_cap = wt;
        }
        p->batch = batch;
    }
    p->used = net->clock;
    *out = p;
    return NN_OK;
}

nn_status nn_net_reserve(nn_net *net, int batch, nn_error *err) {
    if (batch < 1) return nn_error_set(err, NN_ERR_INVALID, "batch must be ≥ 1");
    nn_status st = grow_workspace(net, batch, err);
    plan *p = NULL;
    if (st == NN_OK) st = plan_for(net, batch, &p, err);
    return st;
}

int nn_net_xsmm_products(nn_net *net, int batch, int *total) {
    plan *p = NULL;
    *total = 0;
    if (batch < 1 || plan_for(net, batch, &p, NULL) != NN_OK) return 0;
    int n = 0;
    for (int i = 0; i < net->n_layers; i++) {
        n += nn_mm_is_xsmm(&p->mm[i].fwd) + nn_mm_is_xsmm(&p->mm[i].dw);
        *total += 2;
        if (i > 0) {
            n += nn_mm_is_xsmm(&p->mm[i].dx);
            *total += 1;
        }
    }
    return n;
}

/* Draws layer l's dropout mask for its input in (batch × in) and writes the dropped input. */
static const nn_float *drop_input(layer *l, const nn_float *in, size_t n_in, nn_rng *rng) {
    double p = l->cfg.dropout;
    nn_float keep = (nn_float)(1.0 / (1.0 - p));
    for (size_t k = 0; k < n_in; k++) {
        l->mask[k] = nn_rng_uniform(rng) < p ? 0 : keep;
        l->xdrop[k] = in[k] * l->mask[k];
    }
    l->dropped = 1;
    return l->xdrop;
}

nn_status nn_net_forward(nn_net *net, const nn_float *x, int batch, nn_rng *dropout_rng,
                         const nn_float **out, nn_error *err) {
    if (batch < 1) return nn_error_set(err, NN_ERR_INVALID, "batch must be ≥ 1");
    nn_status st = grow_workspace(net, batch, err);
    if (st == NN_OK) st = plan_for(net, batch, &net->cur, err);
    if (st != NN_OK) return st;
    net->batch = batch;
    unsigned fp = nn__fp_enter();
    const nn_float *in = x;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        l->dropped = 0;
        if (dropout_rng && l->cfg.dropout > 0)
            in = drop_input(l, in, (size_t)batch * (size_t)l->in, dropout_rng);
        l->xin = in;
        const nn_float *w = net->params + l->w_off, *b = net->params + l->b_off;
        nn_mm_run(&net->cur->mm[i].fwd, in, w, l->z);
        nn_act_forward_bias(l->cfg.act, b, l->z, l->a, (size_t)batch, (size_t)l->out);
        in = l->a;
    }
    nn__fp_leave(fp);
    *out = in;
    return NN_OK;
}

void nn_net_backward(nn_net *net, const nn_float *dout) {
    if (!net->cur) return; /* no forward pass yet */
    unsigned fp = nn__fp_enter();
    size_t batch = (size_t)net->batch;
    const nn_float *da = dout;   /* ∂L/∂a of the layer at hand */
    const nn_float *mask = NULL; /* the dropout mask of the layer above it, if applied */
    nn_float *dz = net->scratch[1], *dx = net->scratch[0];
    for (int i = net->n_layers - 1; i >= 0; i--) {
        layer *l = &net->layers[i];
        const layer_mm *mm = &net->cur->mm[i];
        nn_float *w = net->params + l->w_off;
        nn_float *dw = net->grads + l->w_off, *db = net->grads + l->b_off;
        nn_act_backward_sum(l->cfg.act, l->z, l->a, da, mask, dz, db, net->acc, batch,
                            (size_t)l->out);
        if (l->cfg.l2 > 0) { /* the product accumulates onto λW */
            nn_float lam = (nn_float)l->cfg.l2;
            size_t n_w = (size_t)l->in * (size_t)l->out;
            for (size_t k = 0; k < n_w; k++) dw[k] = lam * w[k];
        }
        if (mm->dw_t)
            nn_mm_run(&mm->dw, dz, l->xin, dw);
        else
            nn_mm_run(&mm->dw, l->xin, dz, dw);
        if (i == 0) break;
        if (mm->dx_wt) {
            nn_tr_run(&l->wt, w, net->wt);
            nn_mm_run(&mm->dx, dz, net->wt, dx);
        } else {
            nn_mm_run(&mm->dx, dz, w, dx);
        }
        da = dx;
        mask = l->dropped ? l->mask : NULL;
    }
    nn__fp_leave(fp);
}

double nn_net_l2_penalty(const nn_net *net) {
    double total = 0.0;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        if (l->cfg.l2 <= 0) continue;
        const nn_float *w = net->params + l->w_off;
        size_t n_w = (size_t)l->in * (size_t)l->out;
        double s = 0.0;
        for (size_t k = 0; k < n_w; k++) s += (double)w[k] * (double)w[k];
        total += 0.5 * l->cfg.l2 * s;
    }
    return total;
}

nn_status nn_net_predict(nn_net *net, const nn_float *x, size_t n, nn_float *y, nn_error *err) {
    size_t n_in = (size_t)net->n_inputs, n_out = (size_t)nn_net_n_outputs(net);
    for (size_t r = 0; r < n; r += NN_PREDICT_CHUNK) {
        int b = (int)(n - r < NN_PREDICT_CHUNK ? n - r : NN_PREDICT_CHUNK);
        const nn_float *out;
        nn_status st = nn_net_forward(net, x + r * n_in, b, NULL, &out, err);
        if (st != NN_OK) return st;
        memcpy(y + r * n_out, out, (size_t)b * n_out * sizeof *y);
    }
    return NN_OK;
}
