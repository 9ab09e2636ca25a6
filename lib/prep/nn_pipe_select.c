/* nn_pipe_select.c — naming columns: a step's selector resolved against the columns present at
 * that step, the targets, id and text columns checked against the data, and the features left
 * after the steps.
 *
 * Selectors. A list names columns; problems point at "/preprocess/<i>/columns/<j>" (also when
 * the spec wrote "column": "x", which the parsed struct cannot tell apart; j is then 0).
 * "inputs" / "all" / "target" take the present columns of the types the op takes (the op
 * table's `takes`) in table order, never the id column; "all" skips targets for ops that may
 * not touch them (so "impute all" never invents target values), while a list or "target"
 * naming a target for such an op is an error. A classification target is never touched: "all"
 * skips it for every op, and naming it is an error. "except" names must exist
 * ("/preprocess/<i>/columns/except/<j>"). */
#include "nn_pipe_internal.h"

#include "nn_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTR_MAX 128

int nn__is_target(const nn_pipe *p, const char *name) {
    for (size_t i = 0; i < p->n_targets; i++)
        if (strcmp(p->targets[i], name) == 0) return 1;
    return 0;
}

int nn__is_id(const nn_pipe *p, const char *name) { return p->id && strcmp(p->id, name) == 0; }

static int takes(nn_op_kind op, nn_col_type ty) { return (int)((nn__op_of(op)->takes >> ty) & 1u); }

/* "\"x\" is a target; <why op may not touch it>" at ptr. */
static nn_status target_refused(nn__run *r, const char *ptr, nn_op_kind op, const char *name) {
    const char *why = nn__op_of(op)->not_target;
    if (why) return nn__problem(r, NN_ERR_SPEC, ptr, "\"%s\" is a target; %s", name, why);
    return nn__problem(r, NN_ERR_SPEC, ptr,
                       "\"%s\" is a target; %s cannot be reverted on predictions", name,
                       nn_op_name(op));
}

static nn_status class_target_refused(nn__run *r, const char *ptr, const char *name) {
    return nn__problem(r, NN_ERR_SPEC, ptr,
                       "\"%s\" is the classification target: its labels are the classes, "
                       "which no step changes",
                       name);
}

/* Checks list entry j (column index c in t) for step op; NN_OK and *ok = 1 to select it. */
static nn_status check_listed(nn__run *r, const nn_table *t, nn_op_kind op, size_t j, int c,
                              const int *chosen, size_t n_chosen, int *ok) {
    char ptr[PTR_MAX];
    (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/columns/%zu", r->step, j);
    const char *name = r->spec->steps[r->step].cols.names[j];
    *ok = 0;
    if (c < 0) return nn__no_column(r, t, ptr, name);
    if (nn__is_id(r->p, name))
        return nn__problem(r, NN_ERR_SPEC, ptr,
                           "\"%s\" is the id column, which passes through the steps untouched",
                           name);
    for (size_t k = 0; k < n_chosen; k++)
        if (chosen[k] == c) return nn__problem(r, NN_ERR_SPEC, ptr, "\"%s\" is listed twice", name);
    if (r->p->classify && nn__is_target(r->p, name)) return class_target_refused(r, ptr, name);
    if (!nn__op_of(op)->on_targets && nn__is_target(r->p, name))
        return target_refused(r, ptr, op, name);
    if (!takes(op, t->cols[c].type)) {
        if (takes(op, NN_COL_TEXT))
            return nn__problem(r, NN_ERR_SPEC, ptr,
                               "column \"%s\" is a number; %s needs text (list it in "
                               "\"text_columns\")",
                               name, nn_op_name(op));
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
        int target = nn__is_target(r->p, name);
        if (target && r->p->classify && kind != NN_SEL_INPUTS) {
            if (kind == NN_SEL_ALL) continue;
            char ptr[PTR_MAX];
            (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/columns", r->step);
            nn_status st = class_target_refused(r, ptr, name);
            if (st) return st;
            continue;
        }
        if (nn__is_id(r->p, name) || !takes(cfg->op, t->cols[c].type)) continue;
        if (target ? kind == NN_SEL_INPUTS : kind == NN_SEL_TARGET) continue;
        if (target && !nn__op_of(cfg->op)->on_targets) {
            if (kind == NN_SEL_ALL) continue;
            char ptr[PTR_MAX];
            (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/columns", r->step);
            nn_status st = target_refused(r, ptr, cfg->op, name);
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
            nn_status st = nn__no_column(r, t, ptr, sel->except[j]);
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
        if (c < 0) return nn__no_column(r, t, ptr, cfg->with_column);
        if (nn__is_target(r->p, cfg->with_column))
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

nn_status nn__resolve(nn__run *r, const nn_table *t, nn__step *s) {
    const nn_step *cfg = &r->spec->steps[r->step];
    int skip;
    nn_status st = check_params(r, t, cfg, &skip);
    if (st || skip) return st;
    size_t cap = t->n_cols + cfg->cols.n_names + 1, n = 0;
    int *chosen = malloc(cap * sizeof *chosen);
    if (!chosen) return nn_nomem(r->err, "out of memory");
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
        if (!s->cols) st = nn_nomem(r->err, "out of memory");
    }
    for (size_t k = 0; !st && k < n; k++) {
        const nn_column *col = &t->cols[chosen[k]];
        s->cols[k].name = strdup(col->name);
        s->cols[k].type = col->type;
        s->cols[k].is_target = nn__is_target(r->p, col->name);
        s->cols[k].scale = 1;
        s->n_cols = k + 1;
        if (!s->cols[k].name) st = nn_nomem(r->err, "out of memory");
    }
    free(chosen);
    return st;
}

nn_status nn__check_columns(nn__run *r, const nn_table *t) {
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
            st = nn__no_column(r, t, ptr, p->targets[i]);
        else if (t->cols[c].type != NN_COL_NUMBER && !p->classify)
            st = nn__problem(r, NN_ERR_SPEC, ptr,
                             "column \"%s\" is text; a regression target must be numeric (leave "
                             "out \"task\" or set it to \"classification\" to predict its "
                             "labels)",
                             p->targets[i]);
    }
    if (!st && p->id && nn_table_find(t, p->id) < 0) st = nn__no_column(r, t, "/id", p->id);
    if (!st && p->id && nn__is_target(p, p->id))
        st = nn__problem(r, NN_ERR_SPEC, "/id", "\"%s\" is also a target", p->id);
    for (size_t i = 0; !st && r->spec && i < r->spec->n_text_columns; i++) {
        if (nn_table_find(t, r->spec->text_columns[i]) >= 0) continue;
        (void)snprintf(ptr, sizeof ptr, "/text_columns/%zu", i);
        st = nn__no_column(r, t, ptr, r->spec->text_columns[i]);
    }
    return st;
}

nn_status nn__finish(nn__run *r, const nn_table *t) {
    nn_pipe *p = r->p;
    char names[200] = "";
    size_t n_text = 0, n_feat = 0, used = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *name = t->cols[c].name;
        if (nn__is_id(p, name) || nn__is_target(p, name)) continue;
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
    if (!p->features) return nn_nomem(r->err, "out of memory");
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *name = t->cols[c].name;
        if (nn__is_id(p, name) || nn__is_target(p, name) || t->cols[c].type != NN_COL_NUMBER)
            continue;
        p->features[p->n_features] = strdup(name);
        if (!p->features[p->n_features]) return nn_nomem(r->err, "out of memory");
        p->n_features++;
    }
    return NN_OK;
}
