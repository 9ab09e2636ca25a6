/* test_metrics_class — classification metrics against hand-computed values (each also what
 * scikit-learn 1.2 gives: roc_auc_score, average_precision_score, log_loss, brier_score_loss,
 * balanced_accuracy_score, f1_score(average="macro")). tests/integration/test_classify_sklearn.py
 * checks whole runs against scikit-learn directly. */
#include "check.h"
#include "nn_metrics_class.h"

#include <stdlib.h>

/* y = (0, 0, 1, 1), p(1) = (0.1, 0.4, 0.35, 0.8): at 0.5 the predictions are (0, 0, 0, 1).
 *   roc_auc: positive pairs above negative ones 3 of 4 = 0.75
 *   average precision: thresholds 0.8 (R ½, P 1), 0.4 (½, ½), 0.35 (1, ⅔), 0.1 (1, ½)
 *     = ½·1 + 0 + ½·⅔ = 0.8333
 *   log loss: −(ln 0.9 + ln 0.6 + ln 0.35 + ln 0.8)/4 = 0.4722879538
 *   brier: (0.01 + 0.16 + 0.4225 + 0.04)/4 = 0.158125
 *   confusion [[2, 0], [1, 1]]; recall (1, ½) → balanced 0.75; F1 (0.8, ⅔) → macro 0.7333 */
static void test_binary_metrics(void) {
    int y[] = {0, 0, 1, 1}, pred[4];
    double s[] = {0.1, 0.4, 0.35, 0.8}, prob[8];
    for (int i = 0; i < 4; i++) {
        prob[2 * i] = 1 - s[i];
        prob[2 * i + 1] = s[i];
        pred[i] = nn_class_predict(prob + 2 * i, 2, 1, 0.5);
    }
    CHECK(pred[0] == 0 && pred[1] == 0 && pred[2] == 0 && pred[3] == 1);
    nn_class_metrics m;
    CHECK(nn_class_metrics_compute(y, prob, pred, 4, 2, 1, &m, NULL) == NN_OK);
    CHECK_NEAR(m.accuracy, 0.75, 1e-15);
    CHECK_NEAR(m.balanced_accuracy, 0.75, 1e-15);
    CHECK_NEAR(m.roc_auc, 0.75, 1e-15);
    CHECK_NEAR(m.pr_auc, 0.8333333333333333, 1e-15);
    CHECK_NEAR(m.log_loss, 0.47228795380917615, 1e-15);
    CHECK_NEAR(m.brier, 0.158125, 1e-15);
    CHECK_NEAR(m.f1_macro, 0.7333333333333334, 1e-15);
    CHECK(m.confusion[0] == 2 && m.confusion[1] == 0 && m.confusion[2] == 1 && m.confusion[3] == 1);
    CHECK(m.support[0] == 2 && m.support[1] == 2);
    CHECK_NEAR(m.precision[0], 2.0 / 3, 1e-15);
    CHECK_NEAR(m.recall[1], 0.5, 1e-15);
    nn_class_metrics_free(&m);
}

/* The best-F1 threshold over the same scores: 0.35 (F1 0.8, precision ⅔, recall 1, accuracy
 * ¾); at 0.5: F1 ⅔, precision 1, recall ½, accuracy ¾. */
static void test_best_f1_threshold(void) {
    unsigned char pos[] = {0, 0, 1, 1};
    double s[] = {0.1, 0.4, 0.35, 0.8};
    nn_threshold b;
    CHECK(nn_threshold_best_f1(pos, s, 4, &b) == 0);
    CHECK_NEAR(b.threshold, 0.35, 0);
    CHECK_NEAR(b.f1, 0.8, 1e-15);
    CHECK_NEAR(b.precision, 2.0 / 3, 1e-15);
    CHECK_NEAR(b.recall, 1, 0);
    CHECK_NEAR(b.accuracy, 0.75, 0);
    nn_threshold h = nn_threshold_at(pos, s, 4, 0.5);
    CHECK_NEAR(h.f1, 2.0 / 3, 1e-15);
    CHECK_NEAR(h.precision, 1, 0);
    CHECK_NEAR(h.recall, 0.5, 0);
    CHECK_NEAR(h.accuracy, 0.75, 0);
}

/* Tied scores count half in the AUC and as one threshold in average precision:
 * y = (0, 1, 0, 1), s = (0.5, 0.5, 0.2, 0.9) → AUC 3.5/4, AP ½·1 + ½·⅔. */
static void test_ties(void) {
    unsigned char pos[] = {0, 1, 0, 1};
    double s[] = {0.5, 0.5, 0.2, 0.9};
    CHECK_NEAR(nn_roc_auc(pos, s, 4), 0.875, 1e-15);
    CHECK_NEAR(nn_average_precision(pos, s, 4), 0.8333333333333333, 1e-15);
}

/* One class only: the AUC is undefined (NaN, reported as null), never a division by zero. */
static void test_one_class_auc_is_nan(void) {
    unsigned char pos[] = {1, 1, 1};
    double s[] = {0.2, 0.5, 0.9};
    CHECK(isnan(nn_roc_auc(pos, s, 3)));
    unsigned char neg[] = {0, 0, 0};
    CHECK(isnan(nn_roc_auc(neg, s, 3)));
    CHECK(isnan(nn_average_precision(neg, s, 3)));
    int y[] = {1, 1, 1}, pred[] = {1, 0, 1};
    double prob[] = {0.8, 0.2, 0.5, 0.5, 0.1, 0.9};
    nn_class_metrics m;
    CHECK(nn_class_metrics_compute(y, prob, pred, 3, 2, 1, &m, NULL) == NN_OK);
    CHECK(isnan(m.roc_auc));
    CHECK_NEAR(m.balanced_accuracy, 2.0 / 3, 1e-15); /* over the classes present */
    nn_class_metrics_free(&m);
}

/* Three classes, y = (0, 1, 2, 2), rows of probabilities below; argmax (0, 1, 2, 1).
 *   accuracy ¾; recall (1, 1, ½) → balanced 0.8333; precision (1, ½, 1), F1 (1, ⅔, ⅔) → 0.7778
 *   log loss −(ln .7 + ln .4 + ln .5 + ln .3)/4 = 0.7925214151746922
 *   brier Σ_k (p − y)² per row: .14 + .54 + .38 + .86 = 1.92 → 0.48
 *   one-vs-rest AUC: class 0: 1; class 1: ⅔; class 2: 3.5/4 → macro 0.8472222 */
static void test_multiclass_metrics(void) {
    int y[] = {0, 1, 2, 2}, pred[4];
    double prob[] = {.7, .2, .1, .3, .4, .3, .2, .3, .5, .1, .6, .3};
    for (int i = 0; i < 4; i++) pred[i] = nn_class_predict(prob + 3 * i, 3, -1, 0.5);
    CHECK(pred[0] == 0 && pred[1] == 1 && pred[2] == 2 && pred[3] == 1);
    nn_class_metrics m;
    CHECK(nn_class_metrics_compute(y, prob, pred, 4, 3, -1, &m, NULL) == NN_OK);
    CHECK_NEAR(m.accuracy, 0.75, 1e-15);
    CHECK_NEAR(m.balanced_accuracy, 0.8333333333333334, 1e-15);
    CHECK_NEAR(m.f1_macro, 0.7777777777777777, 1e-15);
    CHECK_NEAR(m.log_loss, 0.7925214151746922, 1e-15);
    CHECK_NEAR(m.brier, 0.48, 1e-15);
    CHECK_NEAR(m.roc_auc, 0.8472222222222223, 1e-15);
    CHECK(isnan(m.pr_auc));
    CHECK(m.positive == -1);
    size_t want[] = {1, 0, 0, 0, 1, 0, 0, 1, 1};
    CHECK(memcmp(m.confusion, want, sizeof want) == 0);
    nn_class_metrics_free(&m);
}

/* log loss clips probabilities at 1e-15 and renormalizes (as sklearn 1.2): a certain wrong
 * answer costs −ln(1e-15) = 34.54, not infinity. */
static void test_log_loss_clips(void) {
    int y[] = {0};
    double prob[] = {0.0, 1.0};
    CHECK_NEAR(nn_log_loss(y, prob, 1, 2), -log(1e-15 / (1e-15 + (1 - 1e-15))), 1e-9);
    CHECK(isfinite(nn_log_loss(y, prob, 1, 2)));
}

int main(void) {
    RUN(test_binary_metrics);
    RUN(test_best_f1_threshold);
    RUN(test_ties);
    RUN(test_one_class_auc_is_nan);
    RUN(test_multiclass_metrics);
    RUN(test_log_loss_clips);
    return check_summary();
}
