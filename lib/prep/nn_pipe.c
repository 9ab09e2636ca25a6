/* nn_pipe.c — planning, fitting, applying and reverting preprocessing pipelines.
 *
 * DESIGN: one engine, three uses. A *run* (nn__run) walks the spec's steps over a working copy
 * of a table. A fitting run, for each step in order, (1) resolves the step's selector against
 * the columns present at that point into a fixed list of names (checking names, types, targets,
 * the id column), (2) fits that step's state on the working rows (min/max, mean/sd, fences,
 * categories, fill values), (3) applies the state with the very same code that transforms new
 * rows later, and (4) for filter_outliers, drops the working rows outside the fences. An
 * applying run (nn_pipe_transform) does only (3), with the names and state recorded at fit time,
 * so validation rows and rows to predict never influence anything fitted, and a model file
 * replays exactly what training saw. nn_pipe_plan is a fitting run over the whole dataset in
 * "plan mode": every problem is recorded with its JSON pointer and the run goes on (skipping the
 * offending column), so one call reports all of them; it also yields the expanded feature list,
 * whose shape can depend on values (one_hot categories).
 *
 * Selectors. A list names columns; problems point at "/preprocess/<i>/columns/<j>" (also when
 * the spec wrote "column": "x", which the parsed struct cannot tell apart; j is then 0).
 * "inputs" / "all" / "target" take the present columns of the type the op works on (numbers,
 * or text for date; both for drop and one_hot) in table order, never the id column; "all" skips
 * targets for ops that cannot be reverted (so "impute all" never invents target values), while
 * a list or "target" naming a target for such an op is an error. "except" names must exist
 * ("/preprocess/<i>/columns/except/<j>").
 *
 * Revert: each step that touched target t is undone in reverse order (normalize, then 10^x, …);
 * filter_outliers only removes rows and has nothing to undo.
 */
#include "nn_pipe_internal.h"

#include "nn_date.h"
#include "nn_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTR_MAX 128

nn_status nn__problem(nn__run *r, nn_status code, const char *pointer, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->errs && code != NN_ERR_NOMEM) {
        char ptr[PTR_MAX];
        if (!pointer) (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu", r->step);
        nn_spec_errors_add(r->errs, pointer ? pointer : ptr, "%s", msg);
        return NN_OK;
    }
    if (pointer) return nn_error_set(r->err, code, "%s: %s", pointer, msg);
    return nn_error_set(r->err, code, "%s", msg);
}

static int is_target(const nn_pipe *p, const char *name) {
    for (size_t i = 0; i < p->n_targets; i++)
        if (strcmp(p->targets[i], name) == 0) return 1;
    return 0;
}

static int is_id(const nn_pipe *p, const char *name) { return p->id && strcmp(p->id, name) == 0; }

static const char *column_name_at(const void *cols, size_t i) {
    return ((const nn_column *)cols)[i].name;
}

/* " (did you mean \"x\"?)" for the closest column within distance 2 (first in table order on
 * ties), or "". */
static void suggest(const nn_table *t, const char *name, char *buf, size_t size) {
    long best = nn_closest(name, t->cols, t->n_cols, column_name_at);
    buf[0] = '\0';
    if (best >= 0) (void)snprintf(buf, size, " (did you mean \"%s\"?)", t->cols[best].name);
}

static nn_status no_column(nn__run *r, const nn_table *t, const char *pointer, const char *name) {
    char hint[NN_MAX_NAME + 32];
    suggest(t, name, hint, sizeof hint);
    return nn__problem(r, NN_ERR_SPEC, pointer, "no column \"%s\"%s", name, hint);
}

static int op_invertible(nn_op_kind op) {
    return op == NN_OP_LOG10 || op == NN_OP_LOG || op == NN_OP_LOG1P || op == NN_OP_NORMALIZE ||
           op == NN_OP_FILTER_OUTLIERS;
}

/* 1 if op works on columns of type ty. */
static int op_takes(nn_op_kind op, nn_col_type ty) {
    if (op == NN_OP_DROP || op == NN_OP_ONE_HOT) return 1;
    if (op == NN_OP_DATE) return ty == NN_COL_TEXT;
    return ty == NN_COL_NUMBER;
}

/* Checks list entry j (column index c in t) for step op; NN_OK and *ok = 1 to select it. */
static nn_status check_listed(nn__run *r, const nn_table *t, nn_op_kind op, size_t j, int c,
                              const int *chosen, size_t n_chosen, int *ok) {
    char ptr[PTR_MAX];
    (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/columns/%zu", r->step, j);
    const char *name = r->spec->steps[r->step].cols.names[j];
    *ok = 0;
    if (c < 0) return no_column(r, t, ptr, name);
    if (is_id(r->p, name))
        return nn__problem(r, NN_ERR_SPEC, ptr,
                           "\"%s\" is the id column, which passes through the steps untouched",
                           name);
    for (size_t k = 0; k < n_chosen; k++)
        if (chosen[k] == c) return nn__problem(r, NN_ERR_SPEC, ptr, "\"%s\" is listed twice", name);
    if (op == NN_OP_SQUARE && is_target(r->p, name))
        return nn__problem(r, NN_ERR_SPEC, ptr,
                           "\"%s\" is a target; squaring it would feed the target to the network",
                           name);
    if (!op_invertible(op) && is_target(r->p, name))
        return nn__problem(r, NN_ERR_SPEC, ptr,
                           "\"%s\" is a target; %s cannot be reverted on predictions", name,
                           nn_op_name(op));
    if (!op_takes(op, t->cols[c].type)) {
        if (op == NN_OP_DATE)
            return nn__problem(r, NN_ERR_SPEC, ptr,
                               "column \"%s\" is a number; date needs text (list it in "
                               "\"text_columns\")",
                               name);
        return nn__problem(r, NN_ERR_SPEC, ptr, "column \"%s\" is text; %s needs numbers", name,
                           nn_op_name(op));
    }
    *ok = 1;
    return NN_OK;
}

/* Appends the columns a broad selector ("inputs", "target", "all") takes from t. */
static nn_status select_broad(nn__run *r, const nn_table *t, const nn_step *cfg, int *chosen,
                              size_t *n_chosen) {
    nn_sel_kind kind = cfg->cols.kind;
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *name = t->cols[c].name;
        int target = is_target(r->p, name);
        if (is_id(r->p, name) || !op_takes(cfg->op, t->cols[c].type)) continue;
        if (target ? kind == NN_SEL_INPUTS : kind == NN_SEL_TARGET) continue;
        if (target && !op_invertible(cfg->op)) {
            if (kind == NN_SEL_ALL) continue;
            char ptr[PTR_MAX];
            (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/columns", r->step);
            nn_status st = nn__problem(r, NN_ERR_SPEC, ptr,
                                       "\"%s\" is a target; %s cannot be reverted on predictions",
                                       name, nn_op_name(cfg->op));
            if (st) return st;
            continue;
        }
        chosen[(*n_chosen)++] = (int)c;
    }
    return NN_OK;
}

/* Removes the "except" names from chosen; each must name a present column. */
static nn_status apply_except(nn__run *r, const nn_table *t, const nn_colsel *sel, int *chosen,
                              size_t *n_chosen) {
    for (size_t j = 0; j < sel->n_except; j++) {
        int c = nn_table_find(t, sel->except[j]);
        if (c < 0) {
            char ptr[PTR_MAX];
            (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/columns/except/%zu", r->step, j);
            nn_status st = no_column(r, t, ptr, sel->except[j]);
            if (st) return st;
            continue;
        }
        size_t m = 0;
        for (size_t k = 0; k < *n_chosen; k++)
            if (chosen[k] != c) chosen[m++] = chosen[k];
        *n_chosen = m;
    }
    return NN_OK;
}

/* Checks the step's own parameters that name columns or formats; *skip = 1 (plan mode) when
 * the step cannot run. */
static nn_status check_params(nn__run *r, const nn_table *t, const nn_step *cfg, int *skip) {
    char ptr[PTR_MAX];
    *skip = 1;
    if (cfg->op == NN_OP_DATE) {
        (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/format", r->step);
        if (!cfg->format) return nn__problem(r, NN_ERR_SPEC, ptr, "date needs a format");
        int bad = nn_date_check_format(cfg->format);
        if (bad) return nn__problem(r, NN_ERR_SPEC, ptr, "unsupported directive %%%c", bad);
    }
    if (cfg->op == NN_OP_REPLACE && cfg->with_column) {
        (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/with_column", r->step);
        int c = nn_table_find(t, cfg->with_column);
        if (c < 0) return no_column(r, t, ptr, cfg->with_column);
        if (is_target(r->p, cfg->with_column))
            return nn__problem(r, NN_ERR_SPEC, ptr,
                               "\"%s\" is a target; copying it into an input would feed the "
                               "target to the network",
                               cfg->with_column);
        if (t->cols[c].type != NN_COL_NUMBER)
            return nn__problem(r, NN_ERR_SPEC, ptr, "column \"%s\" is text; replace needs numbers",
                               cfg->with_column);
    }
    *skip = 0;
    return NN_OK;
}

/* Resolves step r->step's selector against t into s->cols (names and types fixed from now on). */
static nn_status resolve(nn__run *r, const nn_table *t, nn__step *s) {
    const nn_step *cfg = &r->spec->steps[r->step];
    int skip;
    nn_status st = check_params(r, t, cfg, &skip);
    if (st || skip) return st;
    size_t cap = t->n_cols + cfg->cols.n_names + 1, n = 0;
    int *chosen = malloc(cap * sizeof *chosen);
    if (!chosen) return nn_error_set(r->err, NN_ERR_NOMEM, "out of memory");
    if (cfg->cols.kind == NN_SEL_LIST) {
        for (size_t j = 0; j < cfg->cols.n_names && !st; j++) {
            int c = nn_table_find(t, cfg->cols.names[j]), ok = 0;
            st = check_listed(r, t, cfg->op, j, c, chosen, n, &ok);
            if (ok) chosen[n++] = c;
        }
    } else {
        st = select_broad(r, t, cfg, chosen, &n);
    }
    if (!st) st = apply_except(r, t, &cfg->cols, chosen, &n);
    if (!st && n) {
        s->cols = calloc(n, sizeof *s->cols);
        if (!s->cols) st = nn_error_set(r->err, NN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; !st && k < n; k++) {
        const nn_column *col = &t->cols[chosen[k]];
        s->cols[k].name = strdup(col->name);
        s->cols[k].type = col->type;
        s->cols[k].is_target = is_target(r->p, col->name);
        s->cols[k].scale = 1;
        s->n_cols = k + 1;
        if (!s->cols[k].name) st = nn_error_set(r->err, NN_ERR_NOMEM, "out of memory");
    }
    free(chosen);
    return st;
}

/* Checks that the targets and the id column exist and that targets are numbers. */
static nn_status check_columns(nn__run *r, const nn_table *t) {
    const nn_pipe *p = r->p;
    char ptr[PTR_MAX];
    nn_status st = NN_OK;
    for (size_t i = 0; i < p->n_targets && !st; i++) {
        if (p->n_targets == 1)
            (void)snprintf(ptr, sizeof ptr, "/target");
        else
            (void)snprintf(ptr, sizeof ptr, "/target/%zu", i);
        int c = nn_table_find(t, p->targets[i]);
        if (c < 0)
            st = no_column(r, t, ptr, p->targets[i]);
        else if (t->cols[c].type != NN_COL_NUMBER)
            st = nn__problem(r, NN_ERR_SPEC, ptr,
                             "column \"%s\" is text; the target must be numeric", p->targets[i]);
    }
    if (!st && p->id && nn_table_find(t, p->id) < 0) st = no_column(r, t, "/id", p->id);
    if (!st && p->id && is_target(p, p->id))
        st = nn__problem(r, NN_ERR_SPEC, "/id", "\"%s\" is also a target", p->id);
    return st;
}

/* After the steps: no text column but the id may remain; records the features. */
static nn_status finish(nn__run *r, const nn_table *t) {
    nn_pipe *p = r->p;
    char names[200] = "";
    size_t n_text = 0, n_feat = 0, used = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *name = t->cols[c].name;
        if (is_id(p, name) || is_target(p, name)) continue;
        if (t->cols[c].type == NN_COL_NUMBER) {
            n_feat++;
        } else if (used < sizeof names) {
            int w =
                snprintf(names + used, sizeof names - used, "%s\"%s\"", n_text ? ", " : "", name);
            used += w > 0 ? (size_t)w : 0;
            n_text++;
        }
    }
    if (n_text)
        return nn__problem(r, NN_ERR_SPEC, "/preprocess",
                           "text column%s %s remain%s; drop %s, or turn %s into numbers with "
                           "one_hot or date",
                           n_text > 1 ? "s" : "", names, n_text > 1 ? "" : "s",
                           n_text > 1 ? "them" : "it", n_text > 1 ? "them" : "it");
    if (!n_feat) return nn__problem(r, NN_ERR_SPEC, "/preprocess", "no input features remain");
    p->features = calloc(n_feat, sizeof *p->features);
    if (!p->features) return nn_error_set(r->err, NN_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *name = t->cols[c].name;
        if (is_id(p, name) || is_target(p, name) || t->cols[c].type != NN_COL_NUMBER) continue;
        p->features[p->n_features] = strdup(name);
        if (!p->features[p->n_features]) return nn_error_set(r->err, NN_ERR_NOMEM, "out of memory");
        p->n_features++;
    }
    return NN_OK;
}

/* Runs every step over *t (which a row filter may replace). */
/* Plan mode: a step that turned a value infinite (the square of 1e200, the log10 of a huge
 * exponent …) stops the plan at that step, naming the column and the row. */
static nn_status check_finite(nn__run *r, const nn_table *t) {
    for (size_t c = 0; c < t->n_cols; c++) {
        if (t->cols[c].type != NN_COL_NUMBER) continue;
        for (size_t i = 0; i < t->n_rows; i++) {
            if (!isinf(t->cols[c].num[i])) continue;
            char ptr[64];
            (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu", r->step);
            nn_spec_errors_add(r->errs, ptr,
                               "column \"%s\", row %zu: the %s step gives an infinite value; "
                               "scale, log or clip the input first",
                               t->cols[c].name, (r->rows ? r->rows[i] : i) + 1,
                               nn_op_name(r->p->steps[r->step].cfg.op));
            return NN_ERR_SPEC;
        }
    }
    return NN_OK;
}

static nn_status run_steps(nn__run *r, nn_table **t) {
    for (size_t i = 0; i < r->p->n_steps; i++) {
        nn__step *s = &r->p->steps[i];
        r->step = i;
        nn_status st = NN_OK;
        if (r->fitting) st = resolve(r, *t, s);
        if (!st && r->fitting) st = nn__step_fit(r, s, *t);
        if (!st) st = nn__step_apply(r, s, *t);
        if (!st && r->fitting && s->cfg.op == NN_OP_FILTER_OUTLIERS) st = nn__step_filter(r, s, t);
        if (!st && r->errs) st = check_finite(r, *t);
        if (st) return st;
    }
    return NN_OK;
}

void nn__col_free(nn__col *c) {
    free(c->name);
    for (size_t i = 0; i < c->n_cats; i++) free(c->cats[i].text);
    free(c->cats);
}

void nn_pipe_destroy(nn_pipe *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_steps; i++) {
        for (size_t j = 0; j < p->steps[i].n_cols; j++) nn__col_free(&p->steps[i].cols[j]);
        free(p->steps[i].cols);
        free(p->steps[i].cfg.format);
        free(p->steps[i].cfg.with_column);
    }
    free(p->steps);
    for (size_t i = 0; i < p->n_targets; i++) free(p->targets[i]);
    free(p->targets);
    free(p->id);
    for (size_t i = 0; i < p->n_features; i++) free(p->features[i]);
    free(p->features);
    free(p);
}

static int dup_str(const char *s, char **out) {
    *out = NULL;
    if (!s) return 0;
    *out = strdup(s);
    return *out ? 0 : -1;
}

nn_status nn__pipe_new(const nn_spec *spec, nn_pipe **out, nn_error *err) {
    nn_pipe *p = calloc(1, sizeof *p);
    if (!p) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    p->steps = calloc(spec->n_steps + 1, sizeof *p->steps);
    p->targets = calloc(spec->n_targets + 1, sizeof *p->targets);
    if (!p->steps || !p->targets || dup_str(spec->id, &p->id)) goto fail;
    for (; p->n_steps < spec->n_steps; p->n_steps++) {
        nn__step *s = &p->steps[p->n_steps];
        s->cfg = spec->steps[p->n_steps];
        memset(&s->cfg.cols, 0, sizeof s->cfg.cols);
        if (dup_str(spec->steps[p->n_steps].format, &s->cfg.format) ||
            dup_str(spec->steps[p->n_steps].with_column, &s->cfg.with_column)) {
            free(s->cfg.format);
            goto fail;
        }
    }
    for (; p->n_targets < spec->n_targets; p->n_targets++)
        if (dup_str(spec->targets[p->n_targets], &p->targets[p->n_targets])) goto fail;
    *out = p;
    return NN_OK;
fail:
    nn_pipe_destroy(p);
    return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
}

/* A fitting run of spec over data (plan mode when errs is not NULL). On NN_OK (and, in plan
 * mode, no problems) *out, *t_out and *rows_out are the caller's. */
static nn_status fit_run(const nn_spec *spec, const nn_table *data, nn_spec_errors *errs,
                         nn_error *err, nn_pipe **out, nn_table **t_out, size_t **rows_out) {
    nn_pipe *p = NULL;
    nn_table *t = NULL;
    size_t *rows = NULL;
    nn_status st = nn__pipe_new(spec, &p, err);
    if (!st) st = nn_table_clone(data, &t, err);
    if (!st && !(rows = malloc((data->n_rows + 1) * sizeof *rows)))
        st = nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < data->n_rows; i++) rows[i] = i;
    nn__run r = {.p = p, .spec = spec, .fitting = 1, .errs = errs, .err = err, .rows = rows};
    if (!st) st = check_columns(&r, t);
    if (!st) st = run_steps(&r, &t);
    if (!st) st = finish(&r, t);
    if (!st && errs && errs->n) st = NN_ERR_SPEC;
    if (st) {
        nn_pipe_destroy(p);
        nn_table_destroy(t);
        free(rows);
        return st;
    }
    *out = p;
    *t_out = t;
    *rows_out = rows;
    return NN_OK;
}

nn_status nn_pipe_fit(const nn_spec *spec, const nn_table *train, nn_pipe **out,
                      nn_table **train_out, size_t **kept, nn_error *err) {
    nn_pipe *p;
    nn_table *t;
    size_t *rows;
    nn_error_clear(err);
    nn_status st = fit_run(spec, train, NULL, err, &p, &t, &rows);
    if (st) return st;
    *out = p;
    *train_out = t;
    if (kept)
        *kept = rows;
    else
        free(rows);
    return NN_OK;
}

void nn_plan_destroy(nn_plan *plan) {
    if (!plan) return;
    for (size_t i = 0; i < plan->n_features; i++) free(plan->features[i]);
    free(plan->features);
    free(plan);
}

/* The plan's copy of p's features and the network's parameter count for them. */
static nn_status make_plan(const nn_spec *spec, const nn_pipe *p, nn_plan **out,
                           nn_spec_errors *errs) {
    nn_plan *plan = calloc(1, sizeof *plan);
    nn_layer_cfg *layers =
        calloc((size_t)(spec->n_hidden > 0 ? spec->n_hidden : 0) + 1, sizeof *layers);
    if (plan) plan->features = calloc(p->n_features, sizeof *plan->features);
    for (; plan && plan->features && plan->n_features < p->n_features; plan->n_features++)
        if (!(plan->features[plan->n_features] = strdup(p->features[plan->n_features]))) break;
    if (!layers || !plan || !plan->features || plan->n_features < p->n_features) {
        free(layers);
        nn_plan_destroy(plan);
        nn_spec_errors_add(errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    nn_net_cfg cfg;
    nn_spec_net_cfg(spec, (int)p->n_features, layers, &cfg);
    plan->n_params = nn_net_cfg_param_count(&cfg);
    free(layers);
    *out = plan;
    return NN_OK;
}

/* Every input and target after the steps must be a value the network can take: not missing,
 * finite as nn_float. Reports the first bad row of each column (rows numbered as in the data). */
static nn_status check_column(const nn_table *t, const char *name, const size_t *rows,
                              int is_target, nn_spec_errors *errs) {
    int c = nn_table_find(t, name);
    if (c < 0 || t->cols[c].type != NN_COL_NUMBER) return NN_OK;
    const double *v = t->cols[c].num;
    size_t missing = 0, first = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (isnan(v[i])) {
            if (!missing++) first = i;
        } else if (!isfinite((nn_float)v[i])) {
            nn_spec_errors_add(errs, "/preprocess",
                               "column \"%s\", row %zu: %g is %s after preprocessing; scale, "
                               "log or clip it",
                               name, (rows ? rows[i] : i) + 1, v[i],
                               isfinite(v[i]) ? "too large for a " NN_FLOAT_NAME : "infinite");
            return NN_ERR_SPEC;
        }
    }
    if (missing && !is_target) { /* a missing target is the job's to report: a data error */
        nn_spec_errors_add(errs, "/preprocess",
                           "column \"%s\" has %zu missing value%s (first in row %zu); add an "
                           "impute step or remove those rows",
                           name, missing, missing > 1 ? "s" : "", (rows ? rows[first] : first) + 1);
        return NN_ERR_SPEC;
    }
    return NN_OK;
}

static nn_status check_values(const nn_pipe *p, const nn_table *t, const size_t *rows,
                              nn_spec_errors *errs) {
    nn_status st = NN_OK;
    for (size_t j = 0; j < p->n_features; j++)
        if (check_column(t, p->features[j], rows, 0, errs) != NN_OK) st = NN_ERR_SPEC;
    for (size_t j = 0; j < p->n_targets; j++)
        if (check_column(t, p->targets[j], rows, 1, errs) != NN_OK) st = NN_ERR_SPEC;
    return st;
}

nn_status nn_pipe_plan(const nn_spec *spec, const nn_table *data, nn_plan **out,
                       nn_spec_errors *errs) {
    nn_pipe *p;
    nn_table *t;
    size_t *rows;
    nn_error err;
    nn_error_clear(&err);
    nn_status st = fit_run(spec, data, errs, &err, &p, &t, &rows);
    if (st && (st != NN_ERR_SPEC || !errs->n)) nn_spec_errors_add(errs, "", "%s", err.msg);
    if (st) return st;
    st = check_values(p, t, rows, errs);
    if (st == NN_OK) st = make_plan(spec, p, out, errs);
    nn_pipe_destroy(p);
    nn_table_destroy(t);
    free(rows);
    return st;
}

nn_status nn_pipe_transform(const nn_pipe *p, const nn_table *in, nn_table **out, nn_error *err) {
    nn_table *t;
    nn_error_clear(err);
    nn_status st = nn_table_clone(in, &t, err);
    if (st) return st;
    nn__run r = {.p = (nn_pipe *)p, .err = err};
    st = run_steps(&r, &t);
    if (st) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

size_t nn_pipe_n_features(const nn_pipe *p) { return p->n_features; }
const char *nn_pipe_feature(const nn_pipe *p, size_t i) {
    return i < p->n_features ? p->features[i] : NULL;
}
size_t nn_pipe_n_targets(const nn_pipe *p) { return p->n_targets; }
const char *nn_pipe_target(const nn_pipe *p, size_t i) {
    return i < p->n_targets ? p->targets[i] : NULL;
}

/* Copies the named number columns of t into m (n_rows × n, row-major). */
static nn_status copy_columns(const nn_table *t, char *const *names, size_t n, nn_float *m,
                              nn_error *err) {
    for (size_t j = 0; j < n; j++) {
        int c = nn_table_find(t, names[j]);
        if (c < 0) return nn_error_set(err, NN_ERR_DATA, "no column \"%s\"", names[j]);
        if (t->cols[c].type != NN_COL_NUMBER)
            return nn_error_set(err, NN_ERR_DATA, "column \"%s\" is text", names[j]);
        const double *v = t->cols[c].num;
        for (size_t i = 0; i < t->n_rows; i++) {
            if (isnan(v[i]))
                return nn_error_set(err, NN_ERR_DATA,
                                    "column \"%s\", row %zu: missing value (add an impute step)",
                                    names[j], i + 1);
            m[i * n + j] = (nn_float)v[i];
            if (!isfinite(m[i * n + j]))
                return nn_error_set(err, NN_ERR_DATA,
                                    "column \"%s\", row %zu: %g is too large for the network "
                                    "(%s); scale, log or clip it",
                                    names[j], i + 1, v[i], NN_FLOAT_NAME);
        }
    }
    return NN_OK;
}

nn_status nn_pipe_matrices(const nn_pipe *p, const nn_table *transformed, nn_float **x,
                           nn_float **y, nn_error *err) {
    size_t n = transformed->n_rows;
    nn_float *xm = malloc((n * p->n_features + 1) * sizeof *xm);
    nn_float *ym = y ? malloc((n * p->n_targets + 1) * sizeof *ym) : NULL;
    nn_status st = NN_OK;
    if (!xm || (y && !ym)) st = nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    if (!st) st = copy_columns(transformed, p->features, p->n_features, xm, err);
    if (!st && y) st = copy_columns(transformed, p->targets, p->n_targets, ym, err);
    if (st) {
        free(xm);
        free(ym);
        return st;
    }
    *x = xm;
    if (y) *y = ym;
    return NN_OK;
}

void nn_pipe_revert(const nn_pipe *p, size_t t, double *values, size_t n) {
    if (t >= p->n_targets) return;
    for (size_t i = p->n_steps; i-- > 0;) {
        const nn__step *s = &p->steps[i];
        for (size_t j = 0; j < s->n_cols; j++) {
            const nn__col *c = &s->cols[j];
            if (!c->is_target || strcmp(c->name, p->targets[t]) != 0) continue;
            for (size_t k = 0; k < n; k++) {
                double v = values[k];
                switch (s->cfg.op) {
                case NN_OP_LOG10:
                    v = pow(10.0, v);
                    break;
                case NN_OP_LOG:
                    v = exp(v);
                    break;
                case NN_OP_LOG1P:
                    v = expm1(v);
                    break;
                case NN_OP_NORMALIZE:
                    v = v * c->scale + c->offset;
                    break;
                default:
                    break; /* filter_outliers: rows only */
                }
                values[k] = v;
            }
        }
    }
}
