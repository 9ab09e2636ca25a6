/* nn_loss.c — regression losses. */
#include "nn_loss.h"

#include <math.h>
#include <string.h>

#define NN__LOSS_TEXT(name, text) text,
static const char *const loss_names[] = {NN_LOSS_TABLE(NN__LOSS_TEXT)};
#undef NN__LOSS_TEXT

const char *nn_loss_name(nn_loss_kind kind) {
    return (kind >= 0 && kind < NN_LOSS_COUNT) ? loss_names[kind] : "?";
}

int nn_loss_from_name(const char *name, nn_loss_kind *out) {
    for (int i = 0; i < NN_LOSS_COUNT; i++) {
        if (strcmp(name, loss_names[i]) == 0) {
            *out = (nn_loss_kind)i;
            return 0;
        }
    }
    return -1;
}

const char *nn_loss_names(void) { return "mse, mae, huber"; }

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
