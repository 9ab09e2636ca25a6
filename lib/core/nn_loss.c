/* nn_loss.c — regression losses. */
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
