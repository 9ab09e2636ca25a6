/* nn_loss.c — regression losses and cross-entropy from logits (formulas in nn_loss.h). */
#include "nn_loss.h"

#include <math.h>
#include <string.h>

NN_ENUM_DEFINE(nn_loss, nn_loss_kind, NN_LOSS_TABLE, NN_LOSS_COUNT)

double nn_loss_eval(const nn_loss *loss, const nn_float *pred, const nn_float *y, size_t n,
                    nn_float *grad, double grad_den) {
    if (n == 0) return 0.0;
    double sum = 0.0;
    double delta = loss->delta > 0 ? loss->delta : 1.0;
    for (size_t i = 0; i < n; i++) {
        double r = (double)pred[i] - (double)y[i];
        double g;
        switch (loss->kind) {
        case NN_LOSS_MAE:
            sum += fabs(r);
            g = (r > 0) - (r < 0);
            break;
        case NN_LOSS_HUBER:
            if (fabs(r) <= delta) {
                sum += 0.5 * r * r;
                g = r;
            } else {
                sum += delta * (fabs(r) - 0.5 * delta);
                g = r > 0 ? delta : -delta;
            }
            break;
        case NN_LOSS_MSE:
        default:
            sum += r * r;
            g = 2.0 * r;
            break;
        }
        if (grad) grad[i] = (nn_float)(g / grad_den);
    }
    return sum / (double)n;
}

/* σ(z) without overflow: e^−|z| is never above 1. */
static double sigmoid(double z) {
    double e = exp(-fabs(z));
    return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* One output: ℓ of logit z against y ∈ {0, 1}; *g = scale · ∂ℓ/∂z when g is not NULL. */
static double binary_row(const nn_loss *loss, double z, double y, double scale, nn_float *g) {
    double eps = loss->label_smoothing;
    double t = y * (1.0 - eps) + 0.5 * eps;
    if (g) *g = (nn_float)(scale * (sigmoid(z) - t));
    return fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)));
}

/* K outputs: ℓ of logits z against one-hot y; g (k values) = scale · ∂ℓ/∂z when not NULL. */
static double softmax_row(const nn_loss *loss, const nn_float *z, const nn_float *y, size_t k,
                          double scale, nn_float *g) {
    double m = (double)z[0];
    for (size_t j = 1; j < k; j++) m = fmax(m, (double)z[j]);
    double s = 0;
    for (size_t j = 0; j < k; j++) s += exp((double)z[j] - m);
    double lse = m + log(s), eps = loss->label_smoothing, l = 0;
    for (size_t j = 0; j < k; j++) {
        double t = (double)y[j] * (1.0 - eps) + eps / (double)k;
        l += t * (lse - (double)z[j]);
        if (g) g[j] = (nn_float)(scale * (exp((double)z[j] - lse) - t));
    }
    return l;
}

/* The weight of a row: its class's (the one set in y). */
static double row_weight(const nn_loss *loss, const nn_float *y, size_t n_out) {
    if (!loss->class_weight) return 1.0;
    if (n_out == 1) return loss->class_weight[y[0] > 0.5 ? 1 : 0];
    for (size_t j = 0; j < n_out; j++)
        if (y[j] > 0.5) return loss->class_weight[j];
    return 1.0;
}

static double cross_entropy(const nn_loss *loss, const nn_float *out, const nn_float *y,
                            size_t rows, size_t n_out, nn_float *grad) {
    double sum = 0.0, inv = 1.0 / (double)rows;
    for (size_t i = 0; i < rows; i++) {
        const nn_float *z = out + i * n_out, *yi = y + i * n_out;
        nn_float *g = grad ? grad + i * n_out : NULL;
        double w = row_weight(loss, yi, n_out);
        double l = n_out == 1 ? binary_row(loss, (double)z[0], (double)yi[0], w * inv, g)
                              : softmax_row(loss, z, yi, n_out, w * inv, g);
        sum += w * l;
    }
    return sum * inv;
}

double nn_loss_batch(const nn_loss *loss, const nn_float *out, const nn_float *y, size_t rows,
                     size_t n_out, nn_float *grad) {
    if (rows == 0 || n_out == 0) return 0.0;
    if (loss->kind == NN_LOSS_CROSS_ENTROPY) return cross_entropy(loss, out, y, rows, n_out, grad);
    return nn_loss_eval(loss, out, y, rows * n_out, grad, (double)(rows * n_out));
}

void nn_loss_probs(const nn_float *logits, size_t rows, size_t n_out, double *prob) {
    for (size_t i = 0; i < rows; i++) {
        const nn_float *z = logits + i * n_out;
        if (n_out == 1) {
            prob[2 * i + 1] = sigmoid((double)z[0]);
            prob[2 * i] = sigmoid(-(double)z[0]);
            continue;
        }
        double m = (double)z[0], s = 0;
        for (size_t j = 1; j < n_out; j++) m = fmax(m, (double)z[j]);
        double *p = prob + i * n_out;
        for (size_t j = 0; j < n_out; j++) s += (p[j] = exp((double)z[j] - m));
        for (size_t j = 0; j < n_out; j++) p[j] /= s;
    }
}
