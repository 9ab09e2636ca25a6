/* cmd_use.c — `nn predict` (a model on new rows) and `nn validate` (a spec, with or without
 * data). */
#include "cli.h"
#include "cli_util.h"

#include "nn_csv.h"
#include "nn_metrics_class.h"
#include "nn_model.h"
#include "nn_pipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char predict_usage[] =
    "usage: nn predict MODEL DATA [--out FILE]\n"
    "  MODEL       a model.json written by nn train (or downloaded from nnd)\n"
    "  DATA        a CSV with the columns the model reads (model.json \"inputs\"); the target,\n"
    "              the id and the columns the spec drops may be absent, others are ignored\n"
    "  --out FILE  where to write the predictions CSV (default standard output): the id column\n"
    "              when the spec names one, then predicted (or predicted_<target> for each);\n"
    "              a classifier's: predicted (the label), then p_<label> for every class.\n"
    "              When DATA has a classifier's target, its accuracy there is printed on\n"
    "              standard error, and labels never seen in training are counted\n";

/* A copy of column c (n rows) into t. */
static nn_status copy_column(nn_table *t, const nn_column *c, size_t n, nn_error *err) {
    if (c->type == NN_COL_NUMBER) return nn_table_add_number_copy(t, c->name, c->num, NULL, err);
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (c->text[i] && !(v[i] = strdup(c->text[i]))) {
            for (size_t k = 0; k < i; k++) free(v[k]);
            free(v);
            return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        }
    }
    return nn_table_add_text_take(t, c->name, v, NULL, err);
}

/* A classifier's columns: predicted (the label) and p_<label> for each class. */
static nn_status class_columns(nn_table *t, const nn_labels *l, const double *prob, size_t n,
                               nn_error *err) {
    char **lab = calloc(n ? n : 1, sizeof *lab);
    if (!lab) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int c = nn_class_predict(prob + i * l->n, (int)l->n, l->positive, 0.5);
        if (!(lab[i] = strdup(l->names[c]))) {
            for (size_t k = 0; k < i; k++) free(lab[k]);
            free(lab);
            return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        }
    }
    nn_status st = nn_table_add_text_take(t, "predicted", lab, NULL, err);
    for (size_t c = 0; st == NN_OK && c < l->n; c++) {
        double *col = malloc((n ? n : 1) * sizeof *col);
        if (!col) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) col[i] = prob[i * l->n + c];
        char name[NN_MAX_NAME + 8];
        (void)snprintf(name, sizeof name, "p_%s", l->names[c]);
        st = nn_table_add_number_take(t, name, col, NULL, err);
    }
    return st;
}

/* Builds the output table: id (when present in rows) then one column per target (a
 * classifier's: the label and the class probabilities). */
static nn_status predictions_table(const nn_model *model, const nn_table *rows, const double *pred,
                                   nn_table **out, nn_error *err) {
    const nn_spec *spec = nn_model_spec(model);
    size_t n = rows->n_rows, nt = nn_model_labels(model) ? 0 : spec->n_targets;
    nn_table *t = NULL;
    nn_status st = nn_table_create(n, &t, err);
    int idc = spec->id ? nn_table_find(rows, spec->id) : -1;
    if (st == NN_OK && idc >= 0) st = copy_column(t, &rows->cols[idc], n, err);
    if (st == NN_OK && nn_model_labels(model))
        st = class_columns(t, nn_model_labels(model), pred, n, err);
    for (size_t k = 0; st == NN_OK && k < nt; k++) {
        double *col = malloc((n ? n : 1) * sizeof *col);
        if (!col) {
            st = nn_error_set(err, NN_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < n; i++) col[i] = pred[i * nt + k];
        char name[NN_MAX_NAME + 16];
        (void)snprintf(name, sizeof name, nt == 1 ? "predicted" : "predicted_%s", spec->targets[k]);
        st = nn_table_add_number_take(t, name, col, NULL, err);
    }
    if (st != NN_OK) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

int cmd_predict(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return (void)fputs(predict_usage, stdout), CLI_OK;
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' || n_pos == 2) {
            (void)fprintf(stderr, "nn predict: unexpected argument \"%s\"\n%s", argv[i],
                          predict_usage);
            return CLI_USAGE;
        } else
            pos[n_pos++] = argv[i];
    }
    if (n_pos != 2) return (void)fputs(predict_usage, stderr), CLI_USAGE;
    nn_error err = {0};
    nn_model *model = NULL;
    if (nn_model_load(pos[0], &model, &err) != NN_OK) {
        (void)fprintf(stderr, "%s\n", err.msg);
        return CLI_USAGE;
    }
    const nn_spec *spec = nn_model_spec(model);
    nn_table *rows = NULL, *t = NULL;
    nn_csv_source src = {.path = pos[1]};
    double *pred = NULL;
    int rc = CLI_OK;
    if (nn_model_read_csv(model, &src, &rows, &err) != NN_OK) {
        (void)fprintf(stderr, "%s\n", err.msg);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK && nn_model_predict(model, rows, &pred, &err) != NN_OK) {
        (void)fprintf(stderr, "%s: %s\n", pos[1], err.msg);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK && predictions_table(model, rows, pred, &t, &err) != NN_OK) rc = CLI_FAIL;
    nn_label_check chk;
    if (rc == CLI_OK) nn_model_check_labels(model, rows, pred, &chk);
    if (rc == CLI_OK && chk.has_target) {
        if (chk.known)
            (void)fprintf(stderr, "%s: accuracy %.4f on the %zu rows with a known \"%s\"\n", pos[1],
                          (double)chk.correct / (double)chk.known, chk.known, spec->targets[0]);
        if (chk.unseen)
            (void)fprintf(stderr,
                          "%s: %zu row%s with a \"%s\" never seen in training (first: row %zu, "
                          "\"%s\"); predicted, not scored\n",
                          pos[1], chk.unseen, chk.unseen == 1 ? "" : "s", spec->targets[0],
                          chk.first_unseen + 1, chk.first_label);
    }
    if (rc == CLI_OK) {
        nn_status st = out ? nn_csv_write_file(out, t, &err) : nn_csv_write(stdout, t, &err);
        if (st != NN_OK) {
            (void)fprintf(stderr, "nn predict: %s\n", err.msg);
            rc = CLI_FAIL;
        }
    }
    free(pred);
    nn_table_destroy(t);
    nn_table_destroy(rows);
    nn_model_destroy(model);
    return rc;
}

static const char validate_usage[] =
    "usage: nn validate SPEC [DATA]\n"
    "  Checks SPEC; with DATA (a CSV) also checks every column it names and prints the input\n"
    "  features after preprocessing, the input width and the network's parameter count.\n"
    "  Every problem is printed as SPEC: /json/pointer: message. Exit status 2 on problems.\n";

int cmd_validate(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return (void)fputs(validate_usage, stdout), CLI_OK;
    if (argc < 2 || argc > 3) return (void)fputs(validate_usage, stderr), CLI_USAGE;
    nn_spec *spec = cli_load_spec(argv[1], 0, 0);
    if (!spec) return CLI_USAGE;
    (void)printf("%s: spec \"%s\" is valid (sha256 %s)\n", argv[1], spec->name, spec->hash);
    (void)printf("network: %d hidden layer%s, %zu output%s; %d epochs, batch %d\n", spec->n_hidden,
                 spec->n_hidden == 1 ? "" : "s", spec->n_targets, spec->n_targets == 1 ? "" : "s",
                 spec->epochs, spec->batch_size);
    if (argc == 2) {
        (void)printf("input width depends on the data: run nn validate %s DATA\n", argv[1]);
        nn_spec_destroy(spec);
        return CLI_OK;
    }
    nn_table *data = cli_read_csv(argv[2], spec);
    int rc = data ? CLI_OK : CLI_USAGE;
    nn_plan *plan = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    if (rc == CLI_OK && nn_pipe_plan(spec, data, &plan, &errs) != NN_OK) {
        cli_print_errors(argv[1], &errs);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) {
        (void)printf("data: %zu rows, %zu columns\n", data->n_rows, data->n_cols);
        if (plan->n_skipped)
            (void)printf("%zu row%s without a target: left out of training and scoring, "
                         "predicted by the final model\n",
                         plan->n_skipped, plan->n_skipped == 1 ? "" : "s");
        (void)printf("inputs (%zu):", plan->n_features);
        for (size_t i = 0; i < plan->n_features; i++)
            (void)printf("%s %s", i ? "," : "", plan->features[i]);
        (void)printf("\ninput width %zu, %zu parameters; %zu rows × %zu inputs (%.1f MB of "
                     "matrices)\n",
                     plan->n_features, plan->n_params, plan->n_rows, plan->n_features,
                     (double)plan->bytes / 1e6);
        const nn_labels *l = plan->labels;
        (void)printf("task: %s", nn_task_name(plan->task));
        for (size_t c = 0; l && c < l->n; c++)
            (void)printf("%s%s (%zu)", c ? ", " : "; classes ", l->names[c], l->counts[c]);
        if (l && l->n == 2) (void)printf("; positive \"%s\"", l->names[l->positive]);
        (void)printf("\n");
    }
    nn_plan_destroy(plan);
    nn_table_destroy(data);
    nn_spec_destroy(spec);
    return rc;
}
