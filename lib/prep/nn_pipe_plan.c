/* nn_pipe_plan.c — the plan: everything a job would refuse, found before it runs.
 *
 * DESIGN: a plan is a fitting run in plan mode over the rows that have a target (rows without
 * one are counted and left out, as training leaves them out): every problem is recorded with its
 * JSON pointer and the run goes on (skipping the offending column), so one call reports them
 * all. Gathering passes are quiet; then one checking pass applies the fitted steps to every row
 * with a target, block by block — every such row is a validation row in some fold — and records
 * each value problem once per step and column: dates that do not parse, logs out of domain, a
 * step that gives an infinite value (which stops the plan at that step), and at the end inputs
 * that are missing or too large for nn_float. Last come the job's own checks: enough rows with
 * a target for the folds or the holdout, and the network's parameters for the real input width
 * within NN_SPEC_MAX_PARAMS. A classification's classes are counted over the rows with a label
 * (the folds are drawn from them): two classes at least, every class in every fold, the
 * "positive" and class weights naming classes. nn_cv_create plans first, so a spec and data that
 * plan are a job that starts. */
#include "nn_pipe_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_plan_destroy(nn_plan *plan) {
    if (!plan) return;
    for (size_t i = 0; i < plan->n_features; i++) free(plan->features[i]);
    free(plan->features);
    nn_labels_destroy(plan->labels);
    free(plan);
}

/* Rows of data where every target present as a number column has a value; *n_out of them. */
static size_t *rows_with_targets(const nn_spec *spec, const nn_table *data, size_t *n_out) {
    size_t *rows = malloc((data->n_rows + 1) * sizeof *rows), n = 0;
    if (!rows) return NULL;
    for (size_t i = 0; i < data->n_rows; i++) {
        int ok = 1;
        for (size_t k = 0; k < spec->n_targets && ok; k++) {
            int c = nn_table_find(data, spec->targets[k]);
            if (c >= 0 && data->cols[c].type == NN_COL_TEXT)
                ok = data->cols[c].text[i] != NULL;
            else
                ok = c < 0 || !isnan(data->cols[c].num[i]);
        }
        if (ok) rows[n++] = i;
    }
    *n_out = n;
    return rows;
}

/* What the checking pass learns of one input or target column. */
typedef struct col_check {
    size_t missing, first_missing; /* count, and the first one's row (1-based) */
    size_t big_row;                /* first value too large for nn_float (1-based), 0 if none */
    double big;
} col_check;

/* Block t holds rows[0..m) of the data. */
static void check_block(const nn_table *t, const char *name, const size_t *rows, size_t m,
                        col_check *c) {
    int ci = nn_table_find(t, name);
    if (ci < 0 || t->cols[ci].type != NN_COL_NUMBER || t->n_rows != m) return;
    const double *v = t->cols[ci].num;
    for (size_t i = 0; i < m; i++) {
        if (isnan(v[i])) {
            if (!c->missing++) c->first_missing = rows[i] + 1;
        } else if (!c->big_row && !isfinite((nn_float)v[i])) {
            c->big_row = rows[i] + 1;
            c->big = v[i];
        }
    }
}

/* Records the value problems of column name (a target's missing values are not reported:
 * those rows were left out, so only a step could have made them, and it said so). */
static void report_values(nn_spec_errors *errs, const char *name, const col_check *c,
                          int is_target) {
    if (c->big_row) {
        nn_spec_errors_add(errs, "/preprocess",
                           "column \"%s\", row %zu: %g is %s after preprocessing; scale, log or "
                           "clip it",
                           name, c->big_row, c->big,
                           isfinite(c->big) ? "too large for a " NN_FLOAT_NAME : "infinite");
    } else if (c->missing && !is_target) {
        nn_spec_errors_add(errs, "/preprocess",
                           "column \"%s\" has %zu missing value%s (first in row %zu); add an "
                           "impute step or remove those rows",
                           name, c->missing, c->missing > 1 ? "s" : "", c->first_missing);
    }
}

/* The checking pass over rows[0..n) of data (see DESIGN). */
static nn_status check_rows(nn__run *r, const nn_table *data, const size_t *rows, size_t n,
                            size_t width) {
    const nn_pipe *p = r->p;
    size_t nc = p->n_features + p->n_targets, block = nn__block_rows(width);
    col_check *cc = calloc(nc + 1, sizeof *cc);
    if (!cc) return nn_nomem(r->err, "out of memory");
    nn_status st = NN_OK;
    for (size_t b = 0; b < n && !st; b += block) {
        size_t m = n - b < block ? n - b : block;
        nn_table *t = NULL;
        st = nn__apply_rows(r, data, rows + b, m, p->n_steps, 1, &t);
        for (size_t j = 0; !st && j < nc; j++)
            check_block(t, j < p->n_features ? p->features[j] : p->targets[j - p->n_features],
                        rows + b, m, &cc[j]);
        nn_table_destroy(t);
    }
    if (!st && r->errs->n == 0) {
        for (size_t j = 0; j < nc; j++)
            report_values(r->errs,
                          j < p->n_features ? p->features[j] : p->targets[j - p->n_features],
                          &cc[j], j >= p->n_features);
    }
    free(cc);
    return st;
}

/* The job's checks on the number of rows with a target. */
static void check_job(const nn_spec *s, size_t n, nn_spec_errors *errs) {
    if (n == 0 && s->n_targets) {
        nn_spec_errors_add(errs, s->n_targets > 1 ? "/target/0" : "/target",
                           "no row has a value for every target; nothing to train on");
        return;
    }
    if (s->validation == NN_VAL_KFOLD && n < (size_t)s->k)
        nn_spec_errors_add(errs, "/training/validation/k",
                           "%d folds need at least %d rows with a target; the data has %zu", s->k,
                           s->k, n);
    if (s->validation == NN_VAL_HOLDOUT && (n < 2 || ceil(s->holdout * (double)n) >= (double)n))
        nn_spec_errors_add(errs, "/training/validation/fraction",
                           "leaves no training rows out of %zu with a target", n);
}

/* "a", "b", "c", … (the first classes) into buf. */
static void class_list(const nn_labels *l, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used + 8 < size; i++) {
        int w = snprintf(buf + used, size - used, "%s\"%.40s\"", i ? ", " : "", l->names[i]);
        if (w < 0) break;
        used += (size_t)w;
        if (i == 5 && l->n > 7) {
            (void)snprintf(buf + used, size - used, ", … (%zu in all)", l->n);
            break;
        }
    }
}

/* Per-class checks: every class needs k rows for k folds (two for a holdout: one to train on,
 * one to validate). One problem names the class and its count; several classes short are one
 * problem listing the first of them (a text column of ids would otherwise give thousands). */
static void check_class_rows(const nn_spec *s, const nn_labels *l, nn_spec_errors *errs) {
    if (s->validation == NN_VAL_NONE) return;
    size_t need = s->validation == NN_VAL_KFOLD ? (size_t)s->k : 2, short_n = 0, first = 0;
    char list[400] = "";
    size_t used = 0;
    for (size_t c = 0; c < l->n; c++) {
        if (l->counts[c] >= need) continue;
        if (short_n++ == 0) first = c;
        if (short_n <= 5 && used + 8 < sizeof list) {
            int w = snprintf(list + used, sizeof list - used, "%s\"%.40s\" (%zu)", used ? ", " : "",
                             l->names[c], l->counts[c]);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (short_n == 0) return;
    const char *ptr =
        s->validation == NN_VAL_KFOLD ? "/training/validation/k" : "/training/validation";
    char want[64];
    if (s->validation == NN_VAL_KFOLD)
        (void)snprintf(want, sizeof want, "the %d folds (every fold validates every class)", s->k);
    else
        (void)snprintf(want, sizeof want, "the 2 a holdout needs (one to train, one to validate)");
    if (short_n == 1)
        nn_spec_errors_add(errs, ptr,
                           "class \"%.64s\" has %zu row%s, fewer than %s; %s, or merge or drop "
                           "the class",
                           l->names[first], l->counts[first], l->counts[first] == 1 ? "" : "s",
                           want, s->validation == NN_VAL_KFOLD ? "lower k" : "use k-fold");
    else
        nn_spec_errors_add(errs, ptr,
                           "%zu of the %zu classes have fewer rows than %s: %s%s; merge or drop "
                           "them (is \"%s\" a label?)",
                           short_n, l->n, want, list, short_n > 5 ? ", …" : "", s->targets[0]);
}

/* A classification's classes over rows[0..n) of the target, checked (see DESIGN); NULL when
 * they cannot be used (the problems are in errs). */
static nn_labels *check_classes(const nn_spec *s, const nn_table *data, const size_t *rows,
                                size_t n, nn_spec_errors *errs) {
    int col = nn_table_find(data, s->targets[0]);
    if (col < 0 || n == 0) return NULL; /* reported already */
    nn_labels *l = NULL;
    nn_error err;
    if (nn_labels_fit(&data->cols[col], rows, n, &l, &err) != NN_OK) {
        nn_spec_errors_add(errs, "/target", "column \"%s\": %s", s->targets[0], err.msg);
        return NULL;
    }
    char list[400];
    class_list(l, list, sizeof list);
    if (l->n < 2) {
        nn_spec_errors_add(errs, "/target",
                           "column \"%s\" has one class (\"%.64s\", %zu rows); a classification "
                           "needs two or more",
                           s->targets[0], l->names[0], l->counts[0]);
        nn_labels_destroy(l);
        return NULL;
    }
    check_class_rows(s, l, errs);
    if (s->positive && l->n != 2)
        nn_spec_errors_add(errs, "/positive",
                           "a positive class is for two classes; \"%s\" has %zu (%s)",
                           s->targets[0], l->n, list);
    else if (s->positive && nn_labels_set_positive(l, s->positive) != 0)
        nn_spec_errors_add(errs, "/positive", "no class \"%.64s\" (the classes are %s)",
                           s->positive, list);
    for (size_t i = 0; s->class_weight == NN_CW_MAP && i < s->n_cw; i++) {
        if (nn_labels_find(l, s->cw_labels[i]) >= 0) continue;
        char ptr[160] = "/training/loss/class_weight/";
        size_t at = strlen(ptr);
        for (const char *q = s->cw_labels[i]; *q && at + 3 < sizeof ptr; q++) { /* RFC 6901 */
            if (*q == '~' || *q == '/') {
                ptr[at++] = '~';
                ptr[at++] = *q == '~' ? '0' : '1';
            } else {
                ptr[at++] = *q;
            }
        }
        ptr[at] = '\0';
        nn_spec_errors_add(errs, ptr, "no class \"%.64s\" (the classes are %s)", s->cw_labels[i],
                           list);
    }
    return l;
}

/* The plan's copy of p's features, the network's parameter count for them, and the sizes. */
static nn_status make_plan(const nn_spec *spec, const nn_pipe *p, size_t n_rows, size_t skipped,
                           int n_outputs, nn_plan **out, nn_spec_errors *errs) {
    nn_plan *plan = calloc(1, sizeof *plan);
    nn_layer_cfg *layers =
        calloc((size_t)(spec->n_hidden > 0 ? spec->n_hidden : 0) + 1, sizeof *layers);
    if (plan) plan->features = calloc(p->n_features + 1, sizeof *plan->features);
    for (; plan && plan->features && plan->n_features < p->n_features; plan->n_features++)
        if (!(plan->features[plan->n_features] = strdup(p->features[plan->n_features]))) break;
    if (!layers || !plan || !plan->features || plan->n_features < p->n_features) {
        free(layers);
        nn_plan_destroy(plan);
        nn_spec_errors_add(errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    nn_net_cfg cfg;
    nn_spec_net_cfg(spec, (int)p->n_features, n_outputs, layers, &cfg);
    uint64_t params = 0, in = p->n_features; /* counted here: nn_net refuses past NN_MAX_PARAMS */
    for (int i = 0; i < cfg.n_layers; i++) {
        params += in * (uint64_t)cfg.layers[i].units + (uint64_t)cfg.layers[i].units;
        in = (uint64_t)cfg.layers[i].units;
    }
    plan->n_params = (size_t)params;
    free(layers);
    plan->n_rows = n_rows;
    plan->n_skipped = skipped;
    plan->cells = (uint64_t)n_rows * p->n_features;
    plan->bytes = (uint64_t)n_rows * (p->n_features + (uint64_t)n_outputs) * sizeof(nn_float);
    if (plan->n_params > NN_SPEC_MAX_PARAMS) {
        nn_spec_errors_add(errs, "/network/hidden",
                           "with %zu inputs the network has %zu parameters, over the limit of %d",
                           p->n_features, plan->n_params, NN_SPEC_MAX_PARAMS);
        nn_plan_destroy(plan);
        return NN_ERR_SPEC;
    }
    *out = plan;
    return NN_OK;
}

nn_status nn_pipe_plan(const nn_spec *spec, const nn_table *data, nn_plan **out,
                       nn_spec_errors *errs) {
    nn_error err;
    nn_error_clear(&err);
    size_t n = 0, *rows = rows_with_targets(spec, data, &n), *kept = NULL, n_kept = 0;
    nn_pipe *p = NULL;
    nn_table *schema = NULL;
    nn_status st = rows ? nn__pipe_new(spec, &p, &err) : nn_nomem(&err, "out of memory");
    nn__run r = {.p = p, .spec = spec, .errs = errs, .err = &err};
    if (!st && p) st = nn__fit(&r, data, rows, n, &kept, &n_kept, &schema);
    if (!st && p && schema) {
        size_t width = schema->n_cols > data->n_cols ? schema->n_cols : data->n_cols;
        st = check_rows(&r, data, rows, n, width + p->n_features);
    }
    if (!st) check_job(spec, n, errs);
    nn_task task = nn_spec_task(spec, data);
    nn_labels *labels = NULL;
    if (!st) nn_spec_check_task(spec, task, errs);
    if (!st && task == NN_TASK_CLASSIFICATION && spec->n_targets == 1)
        labels = check_classes(spec, data, rows, n, errs);
    if (!st && errs->n) st = NN_ERR_SPEC;
    int n_out = labels ? nn_labels_n_outputs(labels) : (int)spec->n_targets;
    if (!st && p) st = make_plan(spec, p, n, data->n_rows - n, n_out, out, errs);
    if (!st && p) {
        (*out)->task = task;
        (*out)->labels = labels;
        labels = NULL;
    }
    nn_labels_destroy(labels);
    if (st && st != NN_ERR_SPEC && !errs->n) nn_spec_errors_add(errs, "", "%s", err.msg);
    if (st && !errs->n) nn_spec_errors_add(errs, "", "%s", nn_status_str(st));
    nn_pipe_destroy(p);
    nn_table_destroy(schema);
    free(rows);
    free(kept);
    return st ? (st == NN_ERR_NOMEM ? st : NN_ERR_SPEC) : NN_OK;
}
