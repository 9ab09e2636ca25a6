/* nn_spec_task.c — classification or regression: which task a spec has on its data, the loss it
 * trains with, and what in the spec does not fit that task (see nn_spec.h).
 *
 * A spec without "task" is resolved against the data: a text target is classification, a number
 * target regression (ratings 1–5 stay numbers unless "task": "classification" says otherwise).
 * The checks run when the spec is parsed if "task" is given, and again wherever the spec meets
 * its data (nn_pipe_plan), so a spec whose task only the data decides gets the same errors. */
#include "nn_spec.h"

#include <string.h>

NN_ENUM_DEFINE(nn_task, nn_task, NN_TASK_TABLE, NN_TASK_COUNT)

nn_task nn_spec_task(const nn_spec *spec, const nn_table *data) {
    if (spec->task_given) return spec->task;
    if (!data || spec->n_targets != 1) return NN_TASK_REGRESSION;
    int c = nn_table_find(data, spec->targets[0]);
    return c >= 0 && data->cols[c].type == NN_COL_TEXT ? NN_TASK_CLASSIFICATION
                                                       : NN_TASK_REGRESSION;
}

nn_loss nn_spec_loss(const nn_spec *spec, nn_task task) {
    nn_loss l = spec->loss;
    if (!spec->loss_given && task == NN_TASK_CLASSIFICATION) {
        memset(&l, 0, sizeof l);
        l.kind = NN_LOSS_CROSS_ENTROPY;
        l.delta = 1;
    }
    l.class_weight = NULL;
    return l;
}

static void check_monitor(const nn_spec *spec, nn_task task, nn_monitor m, const char *ptr,
                          nn_spec_errors *errs) {
    if (task == NN_TASK_CLASSIFICATION && m == NN_MONITOR_VAL_R2)
        nn_spec_errors_add(errs, ptr,
                           "val_r2 is for regression; a classification monitors val_loss, "
                           "val_log_loss, val_accuracy or train_loss");
    if (task == NN_TASK_REGRESSION &&
        (m == NN_MONITOR_VAL_LOG_LOSS || m == NN_MONITOR_VAL_ACCURACY))
        nn_spec_errors_add(errs, ptr,
                           "%s is for classification; a regression monitors val_loss, val_r2 "
                           "or train_loss",
                           nn_monitor_name(m));
    (void)spec;
}

void nn_spec_check_task(const nn_spec *spec, nn_task task, nn_spec_errors *errs) {
    nn_loss_kind loss = spec->loss.kind;
    if (task == NN_TASK_CLASSIFICATION) {
        if (spec->n_targets > 1)
            nn_spec_errors_add(errs, "/target",
                               "a classification predicts one column; %zu targets given",
                               spec->n_targets);
        if (spec->output.act != NN_ACT_LINEAR)
            nn_spec_errors_add(errs, "/network/output/activation",
                               "a classification network ends in logits: the output must be "
                               "linear (the loss applies the %s)",
                               "sigmoid or softmax");
        if (spec->loss_given && !nn_loss_is_classification(loss))
            nn_spec_errors_add(errs, "/training/loss",
                               "\"%s\" is a regression loss; a classification trains with "
                               "cross_entropy",
                               nn_loss_name(loss));
    } else {
        if (spec->loss_given && nn_loss_is_classification(loss))
            nn_spec_errors_add(errs, "/training/loss",
                               "cross_entropy is for classification and the task is regression (a "
                               "number target is regression unless \"task\": "
                               "\"classification\" says otherwise)");
        if (spec->positive) nn_spec_errors_add(errs, "/positive", "only for classification");
        if (spec->no_stratify)
            nn_spec_errors_add(errs, "/training/validation/stratify",
                               "only for classification (regression folds are not stratified)");
    }
    if (spec->es_patience > 0)
        check_monitor(spec, task, spec->es_monitor, "/training/early_stopping/monitor", errs);
    if (spec->rp_patience > 0)
        check_monitor(spec, task, spec->rp_monitor, "/training/reduce_on_plateau/monitor", errs);
}
