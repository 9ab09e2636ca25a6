/* nn_cv_internal.h — state shared by nn_cv.c (tasks, orchestration) and nn_cv_finish.c
 * (aggregation, importance, final model). */
#ifndef NN_CV_INTERNAL_H
#define NN_CV_INTERNAL_H

#include "nn_cv.h"
#include "nn_pipe.h"

#include <pthread.h>

/* What a fold keeps for aggregation: its fitted pipeline and network, and the permutation
 * importance drops per feature ((n_features × repeats), NULL when importance is off). */
typedef struct nn__fold_keep {
    nn_pipe *pipe;
    nn_net **nets; /* (spec->ensemble) */
    double *drops;
} nn__fold_keep;

struct nn_cv {
    const nn_spec *spec;
    const nn_table *data;
    nn_cv_cfg cfg;
    int n_folds;
    int has_final;       /* a final refit task exists */
    int *fold_of;        /* (n_rows) validating fold of each row, -1 = training only */
    int *target_col;     /* (n_targets) column index of each target in data */
    nn__fold_keep *keep; /* (n_folds) */
    nn_model *model;
    nn_cv_result res;
    pthread_mutex_t mu;
};

double nn__now(void);
/* Computes importance drops for one fold (validation matrices in model space). */
nn_status nn__cv_importance(nn_cv *cv, int fold, nn_net *const *nets, const nn_float *x,
                            const nn_float *y, size_t n, size_t nf, nn_error *err);
/* Stream group of ensemble member m of task f (f = -1 for the final fit). */
uint64_t nn__cv_group(int f, int m);
/* R² of the first target in model space over n rows. */
double nn__r2_first(const nn_float *y, const nn_float *p, size_t n, size_t nt);

#endif
