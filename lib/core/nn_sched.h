/* nn_sched.h — learning-rate schedules, evaluated per epoch e = 0, 1, 2, …
 *
 * With lr0 the optimizer's learning rate:
 *   constant            lr = lr0
 *   inverse_time_decay  lr = lr0 / (1 + rate · e / steps)      staircase: floor(e / steps)
 *   exponential_decay   lr = lr0 · rate^(e / steps)            staircase: floor(e / steps)
 *   piecewise_constant  lr = values[i], i = number of boundaries b with e ≥ b
 *                       (values has one more entry than boundaries, which strictly increase)
 *   cosine              lr = min_lr + (lr0 − min_lr) · (1 + cos(π · min(e, steps) / steps)) / 2
 * These are the Keras formulas indexed by epoch (Keras indexes them by step).
 */
#ifndef NN_SCHED_H
#define NN_SCHED_H

#include "nn_common.h"

#define NN_SCHED_MAX_BOUNDARIES 64

#define NN_SCHED_TABLE(X)                                                                          \
    X(NN_SCHED_CONSTANT, "constant")                                                               \
    X(NN_SCHED_INVERSE_TIME, "inverse_time_decay")                                                 \
    X(NN_SCHED_EXPONENTIAL, "exponential_decay")                                                   \
    X(NN_SCHED_PIECEWISE, "piecewise_constant")                                                    \
    X(NN_SCHED_COSINE, "cosine")

#define NN__SCHED_ENUM(name, text) name,
typedef enum nn_sched_kind { NN_SCHED_TABLE(NN__SCHED_ENUM) NN_SCHED_COUNT } nn_sched_kind;
#undef NN__SCHED_ENUM

typedef struct nn_sched {
    nn_sched_kind kind;
    double rate;  /* decay rate: inverse_time (> 0), exponential (in (0, 1]) */
    double steps; /* decay steps in epochs (> 0); cosine: epochs to reach min_lr */
    int staircase;
    double min_lr; /* cosine floor, ≥ 0 */
    int n_boundaries;
    int boundaries[NN_SCHED_MAX_BOUNDARIES];
    double values[NN_SCHED_MAX_BOUNDARIES + 1];
} nn_sched;

const char *nn_sched_name(nn_sched_kind kind);
int nn_sched_from_name(const char *name, nn_sched_kind *out);
const char *nn_sched_names(void);

/* A constant schedule. */
nn_sched nn_sched_constant(void);
nn_status nn_sched_check(const nn_sched *s, nn_error *err);
/* The learning rate at epoch (0-based) for a base rate lr0. */
double nn_sched_lr(const nn_sched *s, double lr0, int epoch);

#endif
