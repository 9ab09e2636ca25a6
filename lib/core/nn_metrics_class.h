/* nn_metrics_class.h — classification metrics, as scikit-learn defines them.
 *
 * Inputs: n rows, the true class y[i] ∈ 0..k−1, the predicted probabilities prob (n × k, rows
 * summing to 1) and the predicted class pred[i]. Sums are accumulated in double.
 *   accuracy           #{pred = y} / n
 *   balanced_accuracy  mean over classes present in y of recall (sklearn balanced_accuracy_score)
 *   log_loss           −(1/n) Σ log p̂_{i,y_i}, p̂ the row clipped to [1e-15, 1 − 1e-15] and
 *                      renormalized (sklearn log_loss)
 *   roc_auc            two classes: the area under the ROC curve of the positive class's
 *                      probability (ties counted half: the Mann–Whitney statistic, equal to
 *                      sklearn's trapezoidal roc_auc_score); more: the macro mean over classes
 *                      of one-vs-rest AUCs. NaN when a class is absent or is every row.
 *   pr_auc             two classes: average precision of the positive class, Σ (R_j − R_{j−1}) P_j
 *                      over distinct thresholds (sklearn average_precision_score); NaN for more
 *                      classes or without positives
 *   f1_macro           mean F1 over the classes present in y or pred (sklearn f1_score macro;
 *                      a class never predicted has precision 0)
 *   brier              two classes: (1/n) Σ (p_pos − [y = pos])²; more: (1/n) Σ_i Σ_k
 *                      (p_ik − [y_i = k])² (sklearn ≥ 1.7 brier_score_loss: [0, 1] for binary,
 *                      [0, 2] for multiclass)
 *   confusion          (k × k) counts, rows = actual, columns = predicted
 *   per class          precision, recall, F1 (0 where undefined, as sklearn's zero_division)
 *                      and support
 */
#ifndef NN_METRICS_CLASS_H
#define NN_METRICS_CLASS_H

#include "nn_common.h"

#define NN_LOG_LOSS_EPS 1e-15

typedef struct nn_class_metrics {
    size_t n;     /* rows scored */
    int k;        /* classes */
    int positive; /* two classes: the positive one; −1 otherwise */
    double accuracy, balanced_accuracy, log_loss, roc_auc, pr_auc, f1_macro, brier;
    size_t *confusion;               /* (k × k) owned */
    double *precision, *recall, *f1; /* (k) owned */
    size_t *support;                 /* (k) owned */
} nn_class_metrics;

/* Computes every metric into *out (its arrays malloc'd; free with nn_class_metrics_free). With
 * n = 0 the rates are NaN and the counts 0. positive is ignored for k ≠ 2. */
nn_status nn_class_metrics_compute(const int *y, const double *prob, const int *pred, size_t n,
                                   int k, int positive, nn_class_metrics *out, nn_error *err);
void nn_class_metrics_free(nn_class_metrics *m);

/* The predicted class of one row of probabilities (k values): for two classes the positive one
 * when its probability is ≥ threshold, else the other; for more, the first most probable. */
int nn_class_predict(const double *prob, int k, int positive, double threshold);

/* log loss and accuracy alone (as above; NaN for n = 0). */
double nn_log_loss(const int *y, const double *prob, size_t n, int k);
double nn_accuracy(const int *y, const int *pred, size_t n);

/* Two-class building blocks over scores s[0..n) and labels pos[i] ∈ {0, 1}. */
double nn_roc_auc(const unsigned char *pos, const double *s, size_t n);
double nn_average_precision(const unsigned char *pos, const double *s, size_t n);

/* The positive-class results of the rule "positive when s ≥ threshold". */
typedef struct nn_threshold {
    double threshold, f1, precision, recall, accuracy;
} nn_threshold;

/* At a given threshold. */
nn_threshold nn_threshold_at(const unsigned char *pos, const double *s, size_t n, double t);
/* The threshold among the distinct scores that maximizes F1 (the highest such on ties); -1 when
 * out of memory, 0 otherwise. */
int nn_threshold_best_f1(const unsigned char *pos, const double *s, size_t n, nn_threshold *out);

#endif
