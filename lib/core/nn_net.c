/* nn_net.c — dense networks: layout, forward, backward, prediction (see nn_net.h DESIGN). */
#include "nn_net.h"

#include "nn_matrix.h"

#include <stdlib.h>
#include <string.h>

typedef struct layer {
    nn_layer_cfg cfg;
    int in, out;
    size_t w_off, b_off; /* offsets into params/grads */
    /* workspace views for the last forward pass, (batch × in) or (batch × out) */
    const nn_float *xin; /* view of the input the last forward pass used (after dropout) */
    nn_float *xdrop;     /* workspace for the input after dropout; NULL when off */
    nn_float *mask;      /* dropout scale per input element: 0 or 1/(1-p); NULL when off */
    nn_float *z, *a;
    int dropped; /* whether the last forward pass applied dropout */
} layer;

struct nn_net {
    int n_inputs, n_layers;
    layer *layers; /* (n_layers) */
    size_t n_params;
    nn_float *params;     /* (n_params) */
    nn_float *grads;      /* (n_params) */
    nn_float *work;       /* one allocation for every workspace view */
    nn_float *scratch[2]; /* (cap × max width) backward ping-pong buffers */
    int cap;              /* batch capacity of the workspace */
    int batch;            /* batch of the last forward pass */
    int max_width;
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
    net->params = calloc(n_params, sizeof *net->params);
    net->grads = calloc(n_params, sizeof *net->grads);
    if (!net->layers || !net->params || !net->grads) goto fail;
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
    }
    net->max_width = width;
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

/* Grows the workspace to hold a batch of `batch` rows: per layer xin, mask (when the layer has
 * dropout), z and a, plus two backward scratch buffers of the widest layer. */
static nn_status reserve(nn_net *net, int batch, nn_error *err) {
    if (batch <= net->cap) return NN_OK;
    if (batch > NN_MAX_BATCH)
        return nn_error_set(err, NN_ERR_LIMIT, "batch of %d rows exceeds %d", batch, NN_MAX_BATCH);
    size_t b = (size_t)batch, total = 2 * b * (size_t)net->max_width;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        if (l->cfg.dropout > 0) total += 2 * b * (size_t)l->in;
        total += 2 * b * (size_t)l->out;
    }
    nn_float *work = malloc(total * sizeof *work);
    if (!work)
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for a batch of %d rows", batch);
    free(net->work);
    net->work = work;
    net->cap = batch;
    nn_float *p = work;
    net->scratch[0] = p;
    p += b * (size_t)net->max_width;
    net->scratch[1] = p;
    p += b * (size_t)net->max_width;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        l->mask = NULL;
        l->xdrop = NULL;
        if (l->cfg.dropout > 0) {
            l->xdrop = p;
            p += b * (size_t)l->in;
            l->mask = p;
            p += b * (size_t)l->in;
        }
        l->z = p;
        p += b * (size_t)l->out;
        l->a = p;
        p += b * (size_t)l->out;
    }
    return NN_OK;
}

/* Sets each of the `rows` rows of z (rows × cols) to b (cols): the first by copy, then by
 * doubling the filled prefix, so a batch takes log2(rows) memcpy calls instead of one per row
 * (the calls for small rows dominated the copying). */
static void fill_rows(nn_float *z, const nn_float *b, size_t cols, size_t rows) {
    memcpy(z, b, cols * sizeof *z);
    for (size_t done = 1; done < rows;) {
        size_t n = done < rows - done ? done : rows - done;
        memcpy(z + done * cols, z, n * cols * sizeof *z);
        done += n;
    }
}

nn_status nn_net_forward(nn_net *net, const nn_float *x, int batch, nn_rng *dropout_rng,
                         const nn_float **out, nn_error *err) {
    if (batch < 1) return nn_error_set(err, NN_ERR_INVALID, "batch must be ≥ 1");
    nn_status st = reserve(net, batch, err);
    if (st != NN_OK) return st;
    net->batch = batch;
    const nn_float *in = x;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        size_t n_in = (size_t)batch * (size_t)l->in;
        l->dropped = 0;
        if (dropout_rng && l->cfg.dropout > 0) {
            double p = l->cfg.dropout;
            nn_float keep = (nn_float)(1.0 / (1.0 - p));
            for (size_t k = 0; k < n_in; k++) {
                l->mask[k] = nn_rng_uniform(dropout_rng) < p ? 0 : keep;
                l->xdrop[k] = in[k] * l->mask[k];
            }
            l->dropped = 1;
            in = l->xdrop;
        }
        l->xin = in;
        const nn_float *w = net->params + l->w_off, *b = net->params + l->b_off;
        fill_rows(l->z, b, (size_t)l->out, (size_t)batch);
        nn_gemm(0, 0, batch, l->out, l->in, 1, in, l->in, w, l->out, 1, l->z, l->out);
        nn_act_forward(l->cfg.act, l->z, l->a, (size_t)batch * (size_t)l->out);
        in = l->a;
    }
    *out = in;
    return NN_OK;
}

/* db[j] = Σ_r dz[r][j] for dz (rows × cols), accumulated in double in row order. Columns go in
 * blocks of COLSUM_BLOCK with local accumulators, which -O2 vectorizes (the sums per column are
 * the same additions in the same order as a plain row-by-row loop). */
#define COLSUM_BLOCK 8
static void column_sums(const nn_float *dz, size_t rows, size_t cols, nn_float *db) {
    size_t j = 0;
    for (; j + COLSUM_BLOCK <= cols; j += COLSUM_BLOCK) {
        double acc[COLSUM_BLOCK] = {0};
        for (size_t r = 0; r < rows; r++) {
            const nn_float *row = dz + r * cols + j;
            for (int k = 0; k < COLSUM_BLOCK; k++) acc[k] += (double)row[k];
        }
        for (int k = 0; k < COLSUM_BLOCK; k++) db[j + k] = (nn_float)acc[k];
    }
    for (; j < cols; j++) {
        double acc = 0.0;
        for (size_t r = 0; r < rows; r++) acc += (double)dz[r * cols + j];
        db[j] = (nn_float)acc;
    }
}

void nn_net_backward(nn_net *net, const nn_float *dout) {
    int batch = net->batch;
    const nn_float *da = dout;
    int which = 0;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        layer *l = &net->layers[i];
        size_t n_out = (size_t)batch * (size_t)l->out;
        nn_float *dz = net->scratch[which];
        nn_act_backward(l->cfg.act, l->z, l->a, da, dz, n_out);
        nn_float *w = net->params + l->w_off;
        nn_float *dw = net->grads + l->w_off, *db = net->grads + l->b_off;
        /* dW (in × out) = xinᵀ (in × batch) · dZ (batch × out) */
        nn_gemm(1, 0, l->in, l->out, batch, 1, l->xin, l->in, dz, l->out, 0, dw, l->out);
        if (l->cfg.l2 > 0) {
            nn_float lam = (nn_float)l->cfg.l2;
            size_t n_w = (size_t)l->in * (size_t)l->out;
            for (size_t k = 0; k < n_w; k++) dw[k] += lam * w[k];
        }
        column_sums(dz, (size_t)batch, (size_t)l->out, db);
        if (i == 0) break;
        /* dX (batch × in) = dZ (batch × out) · Wᵀ (out × in) */
        nn_float *dx = net->scratch[1 - which];
        nn_gemm(0, 1, batch, l->in, l->out, 1, dz, l->out, w, l->out, 0, dx, l->in);
        if (l->dropped) {
            size_t n_in = (size_t)batch * (size_t)l->in;
            for (size_t k = 0; k < n_in; k++) dx[k] *= l->mask[k];
        }
        da = dx;
        which = 1 - which;
    }
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
