/* nn_compare.h — comparing two cross-validated jobs on the same folds.
 *
 * DESIGN: two jobs on the same data with the same seed, k and validation have the same folds
 * (nn_cv assigns rows from the seed alone), so their fold scores pair up. The folds' training
 * sets overlap, so the differences are correlated and the plain paired t-test is too eager;
 * Nadeau and Bengio (2003) correct its variance by (1/k + n_test/n_train):
 *     t = mean(d) / sqrt((1/k + n_test/n_train) · var(d)),  k − 1 degrees of freedom,
 * var the sample variance (n − 1) of the k differences d = a − b. The p-value is two-sided,
 * from Student's t (through the regularized incomplete beta function).
 */
#ifndef NN_COMPARE_H
#define NN_COMPARE_H

#include "nn_common.h"

typedef struct nn_fold_comparison {
    int k;       /* folds */
    double mean; /* mean of a − b */
    double sd;   /* sample sd of a − b */
    double t;    /* the corrected statistic (±inf when every difference is the same, nonzero) */
    double df;   /* k − 1 */
    double p;    /* two-sided p-value */
} nn_fold_comparison;

/* Compares fold scores a and b (k each, k ≥ 2) of jobs whose folds test n_test and train
 * n_train rows (their ratio is what the correction needs). NN_ERR_INVALID for k < 2, a NaN
 * score or n_train = 0. */
nn_status nn_compare_folds(const double *a, const double *b, int k, double n_test, double n_train,
                           nn_fold_comparison *out, nn_error *err);

/* P(|T| ≥ |t|) for Student's t with df > 0 degrees of freedom. */
double nn_student_t_two_sided(double t, double df);

#endif
