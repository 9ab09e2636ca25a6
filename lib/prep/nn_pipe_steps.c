/* nn_pipe_steps.c — each preprocessing op's fit (statistics from the working training rows)
 * and apply (the same code for training, validation and new rows). Statistics ignore missing
 * values (NaN); applying keeps missing values missing except where the op exists to fill them
 * (impute, replace with equal: null) or encodes them (one_hot: all zeros). */
#include "nn_pipe_internal.h"
#include "nn_metrics.h"

#include "nn_date.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_status nomem(nn__run *r) { return nn_error_set(r->err, NN_ERR_NOMEM, "out of memory"); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void nn__fmt_num(double v, char *buf, size_t size) {
    if (v == floor(v) && fabs(v) < 1e15) { /* integers as integers: "zipcode=98010" */
        (void)snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        (void)snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

int nn__cat_name(const char *col, const nn__cat *c, char *buf, size_t size) {
    char num[32];
    if (!c->text) nn__fmt_num(c->num, num, sizeof num);
    int w = snprintf(buf, size, "%s=%s", col, c->text ? c->text : num);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* The sorted non-missing values of number column v (n rows) into a malloc'd *out. */
static nn_status present_sorted(nn__run *r, const double *v, size_t n, double **out, size_t *m) {
    double *s = malloc((n + 1) * sizeof *s);
    if (!s) return nomem(r);
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) s[(*m)++] = v[i];
    qsort(s, *m, sizeof *s, cmp_double);
    *out = s;
    return NN_OK;
}

static void fit_normalize(const nn_step *cfg, nn__col *c, const double *v, size_t n) {
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) continue;
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
        sum += v[i];
        m++;
    }
    c->offset = 0;
    c->scale = 1;
    if (!m) return; /* nothing to learn from: identity */
    if (cfg->method == NN_NORM_MINMAX) {
        c->offset = lo;
        c->scale = hi > lo ? hi - lo : 1;
        return;
    }
    double mean = sum / (double)m, ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) ss += (v[i] - mean) * (v[i] - mean);
    double sd = sqrt(ss / (double)m);
    c->offset = mean;
    c->scale = sd > 0 ? sd : 1;
}

static nn_status fit_impute(nn__run *r, const nn_step *cfg, nn__col *c, const double *v, size_t n) {
    if (cfg->strategy == NN_IMPUTE_CONSTANT) {
        c->fill = cfg->value;
        return NN_OK;
    }
    double *s = NULL;
    size_t m = 0;
    nn_status st = present_sorted(r, v, n, &s, &m);
    if (st) return st;
    if (!m) {
        free(s);
        c->fill = NAN;
        return nn__problem(r, NN_ERR_DATA, NULL,
                           "column \"%s\": every training value is missing; impute has nothing to "
                           "compute a %s from (use strategy \"constant\")",
                           c->name, nn_impute_name(cfg->strategy));
    }
    double sum = 0;
    for (size_t i = 0; i < m; i++) sum += s[i];
    c->fill = cfg->strategy == NN_IMPUTE_MEAN ? sum / (double)m : nn_quantile_sorted(s, m, 0.5);
    free(s);
    return NN_OK;
}

static nn_status fit_fences(nn__run *r, const nn_step *cfg, nn__col *c, const double *v, size_t n) {
    double *s = NULL;
    size_t m = 0;
    nn_status st = present_sorted(r, v, n, &s, &m);
    if (st) return st;
    c->lo = -INFINITY;
    c->hi = INFINITY;
    if (m) {
        double q1 = nn_quantile_sorted(s, m, 0.25), q3 = nn_quantile_sorted(s, m, 0.75);
        c->lo = q1 - cfg->k * (q3 - q1);
        c->hi = q3 + cfg->k * (q3 - q1);
    }
    free(s);
    return NN_OK;
}

/* Orders categories by value (numbers numerically, text bytewise). */
static int cmp_cat(const void *a, const void *b) {
    const nn__cat *x = a, *y = b;
    if (x->text) return strcmp(x->text, y->text);
    return (x->num > y->num) - (x->num < y->num);
}

typedef struct counted {
    nn__cat cat; /* text borrowed from the table while counting */
    size_t count;
} counted;

/* Orders by count, most frequent first, then by value. */
static int cmp_counted(const void *a, const void *b) {
    const counted *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return cmp_cat(&x->cat, &y->cat);
}

/* The training column's distinct values with their counts, most frequent first. */
static nn_status count_values(nn__run *r, const nn_column *col, size_t n, counted **out,
                              size_t *n_out) {
    nn__cat *v = malloc((n + 1) * sizeof *v);
    counted *d = malloc((n + 1) * sizeof *d);
    if (!v || !d) {
        free(v);
        free(d);
        return nomem(r);
    }
    size_t m = 0, nd = 0;
    for (size_t i = 0; i < n; i++) {
        if (col->type == NN_COL_TEXT ? !col->text[i] : isnan(col->num[i])) continue;
        v[m].num = col->type == NN_COL_TEXT ? 0 : col->num[i];
        v[m++].text = col->type == NN_COL_TEXT ? col->text[i] : NULL;
    }
    qsort(v, m, sizeof *v, cmp_cat);
    for (size_t i = 0; i < m; i++) {
        if (nd && cmp_cat(&d[nd - 1].cat, &v[i]) == 0) {
            d[nd - 1].count++;
            continue;
        }
        d[nd].cat = v[i];
        d[nd++].count = 1;
    }
    free(v);
    qsort(d, nd, sizeof *d, cmp_counted);
    *out = d;
    *n_out = nd;
    return NN_OK;
}

static nn_status fit_one_hot(nn__run *r, const nn_step *cfg, nn__col *c, const nn_column *col,
                             size_t n) {
    counted *d = NULL;
    size_t nd = 0;
    nn_status st = count_values(r, col, n, &d, &nd);
    if (st) return st;
    size_t keep = cfg->max_categories > 0 && (size_t)cfg->max_categories < nd
                      ? (size_t)cfg->max_categories
                      : nd;
    c->cats = calloc(keep + 1, sizeof *c->cats);
    if (!c->cats) st = nomem(r);
    for (size_t i = 0; !st && i < keep; i++) {
        c->cats[i].num = d[i].cat.num;
        if (d[i].cat.text && !(c->cats[i].text = strdup(d[i].cat.text))) st = nomem(r);
        c->n_cats = i + 1;
    }
    free(d);
    if (!st) qsort(c->cats, c->n_cats, sizeof *c->cats, cmp_cat); /* output columns by value */
    return st;
}

nn_status nn__step_fit(nn__run *r, nn__step *s, const nn_table *t) {
    for (size_t j = 0; j < s->n_cols; j++) {
        nn__col *c = &s->cols[j];
        const nn_column *col = &t->cols[nn_table_find(t, c->name)];
        nn_status st = NN_OK;
        switch (s->cfg.op) {
        case NN_OP_NORMALIZE:
            fit_normalize(&s->cfg, c, col->num, t->n_rows);
            break;
        case NN_OP_IMPUTE:
            st = fit_impute(r, &s->cfg, c, col->num, t->n_rows);
            break;
        case NN_OP_FILTER_OUTLIERS:
            st = fit_fences(r, &s->cfg, c, col->num, t->n_rows);
            break;
        case NN_OP_ONE_HOT:
            st = fit_one_hot(r, &s->cfg, c, col, t->n_rows);
            break;
        default:
            break; /* stateless */
        }
        if (st) return st;
    }
    return NN_OK;
}

nn_status nn__step_filter(nn__run *r, const nn__step *s, nn_table **t) {
    nn_table *in = *t;
    size_t *idx = malloc((in->n_rows + 1) * sizeof *idx), n = 0;
    int *cols = malloc((s->n_cols + 1) * sizeof *cols);
    if (!idx || !cols) {
        free(idx);
        free(cols);
        return nomem(r);
    }
    for (size_t j = 0; j < s->n_cols; j++) cols[j] = nn_table_find(in, s->cols[j].name);
    for (size_t i = 0; i < in->n_rows; i++) {
        int keep = 1;
        for (size_t j = 0; j < s->n_cols && keep; j++) {
            double x = in->cols[cols[j]].num[i]; /* missing values cannot be judged: kept */
            keep = isnan(x) || (x >= s->cols[j].lo && x <= s->cols[j].hi);
        }
        if (keep) idx[n++] = i;
    }
    free(cols);
    nn_table *out;
    nn_status st = nn_table_select_rows(in, idx, n, &out, r->err);
    if (!st) {
        for (size_t i = 0; i < n; i++) r->rows[i] = r->rows[idx[i]];
        nn_table_destroy(in);
        *t = out;
    }
    free(idx);
    return st;
}

/* Appends number column name (taking values); a clash with a present column is a problem. */
static nn_status add_column(nn__run *r, nn_table *t, const char *name, double *values) {
    if (nn_table_find(t, name) >= 0) {
        free(values);
        return nn__problem(r, NN_ERR_SPEC, NULL, "column \"%s\" already exists", name);
    }
    return nn_table_add_number_take(t, name, values, NULL, r->err);
}

static nn_status apply_date(nn__run *r, const nn__step *s, nn_table *t, const char *name) {
    const nn_column *col = &t->cols[nn_table_find(t, name)];
    unsigned extract = s->cfg.extract ? s->cfg.extract : NN_DATE_TIMESTAMP;
    double *out[6] = {0};
    nn_status st = NN_OK;
    for (int k = 0; k < 6 && !st; k++)
        if ((extract & (1u << k)) && !(out[k] = malloc((t->n_rows + 1) * sizeof *out[k])))
            st = nomem(r);
    int reported = 0;
    for (size_t i = 0; i < t->n_rows && !st; i++) {
        nn_date d = {0};
        int ok = col->text[i] && nn_date_parse(col->text[i], s->cfg.format, &d) == 0;
        if (col->text[i] && !ok && !reported++)
            st = nn__problem(r, NN_ERR_DATA, NULL,
                             "column \"%s\", row %zu: \"%s\" does not match "
                             "format \"%s\"",
                             name, nn__row(r, i), col->text[i], s->cfg.format);
        double part[6] = {(double)d.timestamp, d.year, d.month, d.day, d.weekday, d.yearday};
        for (int k = 0; k < 6; k++)
            if (out[k]) out[k][i] = ok ? part[k] : NAN;
    }
    for (int k = 0; k < 6; k++) {
        char buf[NN_MAX_NAME];
        int w = snprintf(buf, sizeof buf, "%s_%s", name, nn_date_part_name((nn_date_part)k));
        if (!st && out[k] && (w < 0 || (size_t)w >= sizeof buf))
            st = nn__problem(r, NN_ERR_SPEC, NULL, "column name \"%s_%s\" is too long", name,
                             nn_date_part_name((nn_date_part)k));
        if (!st && out[k])
            st = add_column(r, t, buf, out[k]);
        else
            free(out[k]);
        out[k] = NULL;
    }
    if (!st && !s->cfg.keep) nn_table_remove(t, nn_table_find(t, name));
    return st;
}

static nn_status apply_one_hot(nn__run *r, const nn__col *c, nn_table *t) {
    nn_status st = NN_OK;
    for (size_t k = 0; k < c->n_cats && !st; k++) {
        const nn_column *col = &t->cols[nn_table_find(t, c->name)];
        const nn__cat *cat = &c->cats[k];
        char buf[NN_MAX_NAME];
        if (nn__cat_name(c->name, cat, buf, sizeof buf))
            return nn__problem(r, NN_ERR_SPEC, NULL, "one_hot column name for \"%s\" is too long",
                               c->name);
        double *v = malloc((t->n_rows + 1) * sizeof *v);
        if (!v) return nomem(r);
        for (size_t i = 0; i < t->n_rows; i++) {
            if (col->type == NN_COL_TEXT)
                v[i] = cat->text && col->text[i] && strcmp(col->text[i], cat->text) == 0;
            else
                v[i] = !cat->text && col->num[i] == cat->num;
        }
        st = add_column(r, t, buf, v);
    }
    if (!st) nn_table_remove(t, nn_table_find(t, c->name));
    return st;
}

static nn_status apply_log(nn__run *r, nn_op_kind op, const char *name, double *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (isnan(x)) continue;
        if (op == NN_OP_LOG1P ? x <= -1 : x <= 0) {
            char num[32];
            nn__fmt_num(x, num, sizeof num);
            v[i] = NAN;
            nn_status st = nn__problem(
                r, NN_ERR_DOMAIN, NULL,
                op == NN_OP_LOG1P ? "column \"%s\", row %zu: %s of %s is undefined (values must "
                                    "be > -1)"
                                  : "column \"%s\", row %zu: %s of %s is undefined (values must "
                                    "be > 0; log1p handles zeros)",
                name, nn__row(r, i), nn_op_name(op), num);
            return st; /* plan mode: one report per column */
        }
        v[i] = op == NN_OP_LOG10 ? log10(x) : op == NN_OP_LOG ? log(x) : log1p(x);
    }
    return NN_OK;
}

/* replace: rows matching `equal` (or missing, with equal_missing) take `with` or with_column. */
static nn_status apply_replace(nn__run *r, const nn_step *cfg, nn_table *t, double *v) {
    const double *w = NULL;
    if (cfg->with_column) {
        int wc = nn_table_find(t, cfg->with_column);
        if (wc < 0 || t->cols[wc].type != NN_COL_NUMBER)
            return nn__problem(r, NN_ERR_DATA, NULL, "no number column \"%s\" (replace needs it)",
                               cfg->with_column);
        w = t->cols[wc].num;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        int hit = cfg->equal_missing ? isnan(v[i]) : v[i] == cfg->equal;
        if (hit) v[i] = w ? w[i] : cfg->with;
    }
    return NN_OK;
}

/* Finds column c of a fitted step in t: *idx = -1 when the step may skip it (absent targets,
 * dropped columns already gone). */
static nn_status find_col(nn__run *r, const nn__step *s, const nn__col *c, const nn_table *t,
                          int *idx) {
    *idx = nn_table_find(t, c->name);
    if (*idx < 0) {
        if (c->is_target || s->cfg.op == NN_OP_DROP) return NN_OK;
        return nn__problem(r, NN_ERR_DATA, NULL,
                           "no column \"%s\" (preprocess step %zu, %s, "
                           "needs it)",
                           c->name, r->step, nn_op_name(s->cfg.op));
    }
    if (t->cols[*idx].type != c->type) {
        int i = *idx;
        *idx = -1;
        return nn__problem(r, NN_ERR_DATA, NULL, "column \"%s\" is %s, but was %s when fitted",
                           c->name, t->cols[i].type == NN_COL_TEXT ? "text" : "numbers",
                           c->type == NN_COL_TEXT ? "text" : "numbers");
    }
    return NN_OK;
}

/* Applies one column's part of a step. */
static nn_status apply_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    double *v = t->cols[ci].num;
    switch (s->cfg.op) {
    case NN_OP_DROP:
        nn_table_remove(t, ci);
        return NN_OK;
    case NN_OP_DATE:
        return apply_date(r, s, t, c->name);
    case NN_OP_REPLACE:
        return apply_replace(r, &s->cfg, t, v);
    case NN_OP_LOG10:
    case NN_OP_LOG:
    case NN_OP_LOG1P:
        return apply_log(r, s->cfg.op, c->name, v, t->n_rows);
    case NN_OP_NORMALIZE:
        for (size_t i = 0; i < t->n_rows; i++) v[i] = (v[i] - c->offset) / c->scale;
        return NN_OK;
    case NN_OP_IMPUTE:
        for (size_t i = 0; i < t->n_rows; i++)
            if (isnan(v[i])) v[i] = c->fill;
        return NN_OK;
    case NN_OP_ONE_HOT:
        return apply_one_hot(r, c, t);
    default:
        return NN_OK; /* square is applied per step; filter_outliers filters at fit only */
    }
}

/* square: "<name>^2" columns after every present column, in selector order. */
static nn_status apply_square(nn__run *r, const nn__step *s, nn_table *t) {
    for (size_t j = 0; j < s->n_cols; j++) {
        int ci;
        nn_status st = find_col(r, s, &s->cols[j], t, &ci);
        if (st) return st;
        if (ci < 0) continue;
        char buf[NN_MAX_NAME];
        int w = snprintf(buf, sizeof buf, "%s^2", s->cols[j].name);
        if (w < 0 || (size_t)w >= sizeof buf) {
            st = nn__problem(r, NN_ERR_SPEC, NULL, "column name \"%s^2\" is too long",
                             s->cols[j].name);
            if (st) return st;
            continue;
        }
        double *v = malloc((t->n_rows + 1) * sizeof *v);
        if (!v) return nomem(r);
        const double *x = t->cols[ci].num;
        for (size_t i = 0; i < t->n_rows; i++) v[i] = x[i] * x[i];
        st = add_column(r, t, buf, v);
        if (st) return st;
    }
    return NN_OK;
}

nn_status nn__step_apply(nn__run *r, const nn__step *s, nn_table *t) {
    if (s->cfg.op == NN_OP_SQUARE) return apply_square(r, s, t);
    for (size_t j = 0; j < s->n_cols; j++) {
        int ci;
        nn_status st = find_col(r, s, &s->cols[j], t, &ci);
        if (!st && ci >= 0) st = apply_col(r, s, &s->cols[j], t, ci);
        if (st) return st;
    }
    return NN_OK;
}
