/* nn_report.h — a finished job as JSON and tables: metrics.json, predictions, history.
 * Shared by the nn command and the nnd daemon so both report the same numbers the same way. */
#ifndef NN_REPORT_H
#define NN_REPORT_H

#include "nn_cv.h"
#include "nn_spec.h"
#include "nn_table.h"

#include <jansson.h>

/* Metrics as JSON (new reference): "task", rows and rows_skipped (rows without a target, left
 * out); for a regression top-level r2, rmse, mae, mape, mse out-of-fold in the first target's
 * units, per-target units/model metrics; for a classification "target", "classes",
 * "class_rows", "positive" (two classes), the class metrics out of fold (nn_report_class_metric)
 * and "threshold" {"at_0.5", "best_f1"} (two classes); folds with the same; mean ± sd;
 * importance; timings; params (of one network). */
json_t *nn_report_metrics(const nn_spec *spec, const nn_cv_result *res);

/* One classification metrics record (nn_report_class.c): accuracy, balanced_accuracy, log_loss,
 * roc_auc, pr_auc, f1_macro, brier, n, confusion {"labels", "matrix" (rows = actual)},
 * per_class [{"label", "precision", "recall", "f1", "support"}]; NaN becomes null. */
json_t *nn_report_class_metric(const nn_class_metrics *m, const nn_labels *l);
/* The classification keys of metrics.json into root. */
void nn_report_class_metrics(json_t *root, const nn_spec *spec, const nn_cv_result *res);
/* A classification's prediction columns of rows[0..m) into t: actual and predicted (labels),
 * p_<label> for every class. */
nn_status nn_report_class_columns(nn_table *t, const nn_cv_result *res, const size_t *rows,
                                  size_t m, nn_error *err);

/* One metrics record as JSON {"r2", "rmse", "mae", "mape", "mse", "n"}; NaN becomes null. */
json_t *nn_report_metric(const nn_metrics *m);

/* Out-of-fold predictions: columns row (1-based), fold (1-based), the id column when the spec
 * names one, then actual and predicted (or actual_<t>, predicted_<t> for several targets; for a
 * classification the labels, then p_<label> for each class). Rows
 * without a target (skipped by the job) are in too, with fold and actual missing and the final
 * model's prediction, when they have one. Rows never validated otherwise are left out. */
nn_status nn_report_predictions(const nn_spec *spec, const nn_table *data, const nn_cv_result *res,
                                nn_table **out, nn_error *err);

/* History: fold (1-based; 0 = final refit), member (1-based ensemble member), epoch,
 * train_loss, val_loss, val_r2, lr, seconds; a classification's has val_log_loss and
 * val_accuracy in place of val_r2. */
nn_status nn_report_history(const nn_cv_result *res, nn_table **out, nn_error *err);

#endif
