/* nn_sched.c — learning-rate schedules (formulas in nn_sched.h). */
#include "nn_sched.h"

#include <math.h>
#include <string.h>

NN_ENUM_DEFINE(nn_sched, nn_sched_kind, NN_SCHED_TABLE, NN_SCHED_COUNT)

nn_sched nn_sched_constant(void) {
    nn_sched s;
    memset(&s, 0, sizeof s);
    s.kind = NN_SCHED_CONSTANT;
    s.steps = 1;
    return s;
}

nn_status nn_sched_check(const nn_sched *s, nn_error *err) {
    switch (s->kind) {
    case NN_SCHED_CONSTANT:
        return NN_OK;
    case NN_SCHED_INVERSE_TIME:
    case NN_SCHED_EXPONENTIAL:
        if (!(s->steps > 0 && isfinite(s->steps)))
            return nn_error_set(err, NN_ERR_INVALID, "decay_steps must be a finite number > 0");
        if (s->kind == NN_SCHED_INVERSE_TIME && !(s->rate >= 0 && isfinite(s->rate)))
            return nn_error_set(err, NN_ERR_INVALID, "decay_rate must be a finite number ≥ 0");
        if (s->kind == NN_SCHED_EXPONENTIAL && !(s->rate > 0 && s->rate <= 1))
            return nn_error_set(err, NN_ERR_INVALID, "decay_rate must be in (0, 1]");
        return NN_OK;
    case NN_SCHED_PIECEWISE:
        if (s->n_boundaries < 0 || s->n_boundaries > NN_SCHED_MAX_BOUNDARIES)
            return nn_error_set(err, NN_ERR_INVALID, "boundaries: at most %d",
                                NN_SCHED_MAX_BOUNDARIES);
        for (int i = 0; i < s->n_boundaries; i++)
            if (s->boundaries[i] < 0 || (i > 0 && s->boundaries[i] <= s->boundaries[i - 1]))
                return nn_error_set(err, NN_ERR_INVALID,
                                    "boundaries must be epochs ≥ 0 in increasing order");
        for (int i = 0; i <= s->n_boundaries; i++)
            if (!(s->values[i] > 0 && isfinite(s->values[i])))
                return nn_error_set(err, NN_ERR_INVALID, "values must be finite numbers > 0");
        return NN_OK;
    case NN_SCHED_COSINE:
        if (!(s->steps > 0 && isfinite(s->steps)))
            return nn_error_set(err, NN_ERR_INVALID, "decay_steps must be a finite number > 0");
        if (!(s->min_lr >= 0 && isfinite(s->min_lr)))
            return nn_error_set(err, NN_ERR_INVALID, "min_lr must be a finite number ≥ 0");
        return NN_OK;
    default:
        return nn_error_set(err, NN_ERR_INVALID, "unknown schedule");
    }
}

double nn_sched_lr(const nn_sched *s, double lr0, int epoch) {
    double e = epoch;
    switch (s->kind) {
    case NN_SCHED_INVERSE_TIME: {
        double x = e / s->steps;
        if (s->staircase) x = floor(x);
        return lr0 / (1.0 + s->rate * x);
    }
    case NN_SCHED_EXPONENTIAL: {
        double x = e / s->steps;
        if (s->staircase) x = floor(x);
        return lr0 * pow(s->rate, x);
    }
    case NN_SCHED_PIECEWISE: {
        int i = 0;
        while (i < s->n_boundaries && epoch >= s->boundaries[i]) i++;
        return s->values[i];
    }
    case NN_SCHED_COSINE: {
        double x = e < s->steps ? e : s->steps;
        return s->min_lr +
               (lr0 - s->min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * x / s->steps));
    }
    case NN_SCHED_CONSTANT:
    default:
        return lr0;
    }
}
