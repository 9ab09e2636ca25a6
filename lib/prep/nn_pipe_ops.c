/* nn_pipe_ops.c — the preprocessing ops, one row each in the op table at the end of this file:
 * which column types an op takes, whether it may touch a target, how it fits (statistics from
 * the training values of one column), which training rows it keeps, how many columns it adds,
 * how it applies (the same code for training, validation and new rows), how it reverts on
 * predictions and how its fitted state reads and writes as JSON.
 *
 * Statistics ignore missing values (NaN); applying keeps missing values missing except where
 * the op exists to fill them (impute, replace with equal: null) or encodes them (one_hot: all
 * zeros). Every apply works on any number of rows, zero included: the driver runs the steps on
 * a table of no rows to learn the columns each step leaves. */
#include "nn_pipe_internal.h"

#include "nn_date.h"
#include "nn_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_status nomem(nn__run *r) { return nn_nomem(r->err, "out of memory"); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
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

/* Fitted state as JSON: numbers are json_real; non-finite ones (an open fence) the strings
 * "inf", "-inf", "nan" */

static json_t *num_json(double v) {
    if (isfinite(v)) return json_real(v);
    return json_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

/* Reads a number written by num_json; returns -1 if j is not one. */
static int json_num(const json_t *j, double *v) {
    if (json_is_number(j)) {
        *v = json_number_value(j);
        return 0;
    }
    const char *s = json_string_value(j);
    if (!s) return -1;
    if (strcmp(s, "inf") == 0)
        *v = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *v = -INFINITY;
    else if (strcmp(s, "nan") == 0)
        *v = NAN;
    else
        return -1;
    return 0;
}

static nn_status missing_numbers(nn_error *err) {
    return nn_error_set(err, NN_ERR_PARSE, "pipeline state: a column's fitted numbers are missing");
}

/* Finds column c of a fitted step in t: *idx = -1 when the step may skip it (absent targets,
 * dropped columns already gone). */
static nn_status find_col(nn__run *r, const nn__step *s, const nn__col *c, const nn_table *t,
                          int *idx) {
    *idx = nn_table_find(t, c->name);
    if (*idx < 0) {
        if (c->is_target || s->cfg.op == NN_OP_DROP) return NN_OK;
        return nn__data_problem(r, NN_ERR_DATA, c->name,
                                "no column \"%s\" (preprocess step %zu, %s, needs it)", c->name,
                                r->step, nn_op_name(s->cfg.op));
    }
    if (t->cols[*idx].type != c->type) {
        int i = *idx;
        *idx = -1;
        return nn__data_problem(r, NN_ERR_DATA, c->name,
                                "column \"%s\" is %s, but was %s when fitted", c->name,
                                t->cols[i].type == NN_COL_TEXT ? "text" : "numbers",
                                c->type == NN_COL_TEXT ? "text" : "numbers");
    }
    return NN_OK;
}

typedef nn_status (*col_fn)(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci);

/* Applies fn to every column of the step present in t. */
static nn_status each_col(nn__run *r, const nn__step *s, nn_table *t, col_fn fn) {
    for (size_t j = 0; j < s->n_cols; j++) {
        int ci;
        nn_status st = find_col(r, s, &s->cols[j], t, &ci);
        if (!st && ci >= 0) st = fn(r, s, &s->cols[j], t, ci);
        if (st) return st;
    }
    return NN_OK;
}

/* Appends number column name (taking values); a clash with a present column is a problem. */
static nn_status add_column(nn__run *r, nn_table *t, const char *name, double *values) {
    if (nn_table_find(t, name) >= 0) {
        free(values);
        return nn__data_problem(r, NN_ERR_SPEC, name, "column \"%s\" already exists", name);
    }
    return nn_table_add_number_take(t, name, values, NULL, r->err);
}

static long no_width(const nn__step *s) {
    (void)s;
    return 0;
}

/* ---- drop ---- */

static nn_status drop_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    (void)r, (void)s, (void)c;
    nn_table_remove(t, ci);
    return NN_OK;
}

static nn_status apply_drop(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, drop_col);
}

static long width_drop(const nn__step *s) { return -(long)s->n_cols; }

/* ---- date ---- */

static nn_status date_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    const nn_column *col = &t->cols[ci];
    unsigned extract = s->cfg.extract ? s->cfg.extract : NN_DATE_TIMESTAMP;
    double *out[NN_DATE_PART_COUNT] = {0};
    nn_status st = NN_OK;
    for (int k = 0; k < NN_DATE_PART_COUNT && !st; k++)
        if ((extract & (1u << k)) && !(out[k] = malloc((t->n_rows + 1) * sizeof *out[k])))
            st = nomem(r);
    int reported = 0;
    for (size_t i = 0; i < t->n_rows && !st; i++) {
        nn_date d = {0};
        int ok = col->text[i] && nn_date_parse(col->text[i], s->cfg.format, &d) == 0;
        if (col->text[i] && !ok && !reported++)
            st = nn__data_problem(r, NN_ERR_DATA, c->name,
                                  "column \"%s\", row %zu: \"%s\" does not match format \"%s\"",
                                  c->name, nn__row(r, i), col->text[i], s->cfg.format);
        double part[NN_DATE_PART_COUNT] = {(double)d.timestamp, d.year,   d.month, d.day,
                                           d.weekday,           d.yearday};
        for (int k = 0; k < NN_DATE_PART_COUNT; k++)
            if (out[k]) out[k][i] = ok ? part[k] : NAN;
    }
    for (int k = 0; k < NN_DATE_PART_COUNT; k++) {
        char buf[NN_MAX_NAME];
        int w = snprintf(buf, sizeof buf, "%s_%s", c->name, nn_date_part_name((nn_date_part)k));
        if (!st && out[k] && (w < 0 || (size_t)w >= sizeof buf)) {
            st = nn__data_problem(r, NN_ERR_SPEC, c->name, "column name \"%s_%s\" is too long",
                                  c->name, nn_date_part_name((nn_date_part)k));
            free(out[k]);
        } else if (!st && out[k]) {
            st = add_column(r, t, buf, out[k]);
        } else {
            free(out[k]);
        }
        out[k] = NULL;
    }
    if (!st && !s->cfg.keep) nn_table_remove(t, nn_table_find(t, c->name));
    return st;
}

static nn_status apply_date(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, date_col);
}

static long width_date(const nn__step *s) {
    unsigned extract = s->cfg.extract ? s->cfg.extract : NN_DATE_TIMESTAMP;
    long parts = 0;
    for (int k = 0; k < NN_DATE_PART_COUNT; k++) parts += (extract >> k) & 1u;
    return (long)s->n_cols * (parts - (s->cfg.keep ? 0 : 1));
}

/* ---- replace: rows matching `equal` (or missing, with equal_missing) take `with` or
 * with_column ---- */

static nn_status replace_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    (void)c;
    const nn_step *cfg = &s->cfg;
    double *v = t->cols[ci].num;
    const double *w = NULL;
    if (cfg->with_column) {
        int wc = nn_table_find(t, cfg->with_column);
        if (wc < 0 || t->cols[wc].type != NN_COL_NUMBER)
            return nn__data_problem(r, NN_ERR_DATA, cfg->with_column,
                                    "no number column \"%s\" (replace needs it)", cfg->with_column);
        w = t->cols[wc].num;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        int hit = cfg->equal_missing ? isnan(v[i]) : v[i] == cfg->equal;
        if (hit) v[i] = w ? w[i] : cfg->with;
    }
    return NN_OK;
}

static nn_status apply_replace(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, replace_col);
}

/* ---- log10, log, log1p ---- */

static nn_status log_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    nn_op_kind op = s->cfg.op;
    double *v = t->cols[ci].num;
    for (size_t i = 0; i < t->n_rows; i++) {
        double x = v[i];
        if (isnan(x)) continue;
        if (op == NN_OP_LOG1P ? x <= -1 : x <= 0) {
            char num[32];
            nn__fmt_num(x, num, sizeof num);
            v[i] = NAN;
            /* plan mode: one report per column, and the rest of the column left as it is */
            return nn__data_problem(
                r, NN_ERR_DOMAIN, c->name,
                op == NN_OP_LOG1P ? "column \"%s\", row %zu: %s of %s is undefined (values must "
                                    "be > -1)"
                                  : "column \"%s\", row %zu: %s of %s is undefined (values must "
                                    "be > 0; log1p handles zeros)",
                c->name, nn__row(r, i), nn_op_name(op), num);
        }
        v[i] = op == NN_OP_LOG10 ? log10(x) : op == NN_OP_LOG ? log(x) : log1p(x);
    }
    return NN_OK;
}

static nn_status apply_log(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, log_col);
}

static double revert_log10(const nn__col *c, double v) {
    (void)c;
    return pow(10.0, v);
}
static double revert_log(const nn__col *c, double v) {
    (void)c;
    return exp(v);
}
static double revert_log1p(const nn__col *c, double v) {
    (void)c;
    return expm1(v);
}

/* ---- square: "<name>^2" columns after every present column, in selector order ---- */

static nn_status apply_square(nn__run *r, const nn__step *s, nn_table *t) {
    for (size_t j = 0; j < s->n_cols; j++) {
        int ci;
        nn_status st = find_col(r, s, &s->cols[j], t, &ci);
        if (st) return st;
        if (ci < 0) continue;
        char buf[NN_MAX_NAME];
        int w = snprintf(buf, sizeof buf, "%s^2", s->cols[j].name);
        if (w < 0 || (size_t)w >= sizeof buf) {
            st = nn__data_problem(r, NN_ERR_SPEC, s->cols[j].name,
                                  "column name \"%s^2\" is too long", s->cols[j].name);
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

static long width_square(const nn__step *s) { return (long)s->n_cols; }

/* ---- filter_outliers: Tukey's fences from the training rows; only fitting filters ---- */

static nn_status fit_fences(nn__run *r, const nn_step *cfg, nn__col *c, const nn_column *col,
                            size_t n) {
    double *s = NULL;
    size_t m = 0;
    nn_status st = present_sorted(r, col->num, n, &s, &m);
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

/* missing values cannot be judged: kept */
static int keeps_inside(const nn__col *c, double v) {
    return isnan(v) || (v >= c->lo && v <= c->hi);
}

static int fences_out(json_t *o, const nn__col *c) {
    return json_object_set_new(o, "lo", num_json(c->lo)) |
           json_object_set_new(o, "hi", num_json(c->hi));
}

static nn_status fences_in(const json_t *o, nn__col *c, nn_error *err) {
    if (json_num(json_object_get(o, "lo"), &c->lo) || json_num(json_object_get(o, "hi"), &c->hi))
        return missing_numbers(err);
    return NN_OK;
}

/* ---- normalize ---- */

/* normalize fits from running sums, so a step over thousands of columns needs no gathered
 * values: pass 0 counts and sums (acc: n, lo, hi, sum), pass 1 (zscore) the squared
 * deviations from the mean (acc: ss, mean), in row order as one pass over one column would. */
enum { ACC_N, ACC_LO, ACC_HI, ACC_SUM, ACC_SS, ACC_MEAN };

static int normalize_passes(const nn_step *cfg) { return cfg->method == NN_NORM_MINMAX ? 1 : 2; }

static void normalize_accumulate(const nn_step *cfg, double *acc, const double *v, size_t n,
                                 int pass) {
    (void)cfg;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) continue;
        if (pass == 1) {
            acc[ACC_SS] += (v[i] - acc[ACC_MEAN]) * (v[i] - acc[ACC_MEAN]);
            continue;
        }
        acc[ACC_LO] = acc[ACC_N] ? fmin(acc[ACC_LO], v[i]) : v[i];
        acc[ACC_HI] = acc[ACC_N] ? fmax(acc[ACC_HI], v[i]) : v[i];
        acc[ACC_SUM] += v[i];
        acc[ACC_N]++;
    }
}

static void normalize_pass_end(const nn_step *cfg, nn__col *c, double *acc, int pass) {
    double m = acc[ACC_N];
    if (pass == 0) {
        c->offset = 0;
        c->scale = 1;
        if (!m) return; /* nothing to learn from: identity */
        if (cfg->method == NN_NORM_MINMAX) {
            c->offset = acc[ACC_LO];
            c->scale = acc[ACC_HI] > acc[ACC_LO] ? acc[ACC_HI] - acc[ACC_LO] : 1;
        } else {
            acc[ACC_MEAN] = acc[ACC_SUM] / m;
        }
        return;
    }
    if (!m) return;
    double sd = sqrt(acc[ACC_SS] / m);
    c->offset = acc[ACC_MEAN];
    c->scale = sd > 0 ? sd : 1;
}

static nn_status normalize_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t,
                               int ci) {
    (void)r, (void)s;
    double *v = t->cols[ci].num;
    for (size_t i = 0; i < t->n_rows; i++) v[i] = (v[i] - c->offset) / c->scale;
    return NN_OK;
}

static nn_status apply_normalize(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, normalize_col);
}

static double revert_normalize(const nn__col *c, double v) { return v * c->scale + c->offset; }

static int normalize_out(json_t *o, const nn__col *c) {
    return json_object_set_new(o, "offset", num_json(c->offset)) |
           json_object_set_new(o, "scale", num_json(c->scale));
}

static nn_status normalize_in(const json_t *o, nn__col *c, nn_error *err) {
    if (json_num(json_object_get(o, "offset"), &c->offset) ||
        json_num(json_object_get(o, "scale"), &c->scale))
        return missing_numbers(err);
    return NN_OK;
}

/* ---- one_hot ---- */

/* Orders categories by value (numbers numerically, text bytewise). */
static int cmp_cat(const void *a, const void *b) {
    const nn__cat *x = a, *y = b;
    if (x->text) return strcmp(x->text, y->text);
    return (x->num > y->num) - (x->num < y->num);
}

typedef struct counted {
    nn__cat cat; /* text borrowed from the column while counting */
    size_t count;
} counted;

/* Orders by count, most frequent first, then by value. */
static int cmp_counted(const void *a, const void *b) {
    const counted *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return cmp_cat(&x->cat, &y->cat);
}

/* The column's distinct values with their counts, most frequent first. */
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

/* The category of row i of col (binary search: cats are in value order), or -1. */
static long find_cat(const nn__col *c, const nn_column *col, size_t i) {
    nn__cat key = {0, NULL};
    if (col->type == NN_COL_TEXT) {
        if (!col->text[i]) return -1;
        key.text = col->text[i];
    } else {
        if (isnan(col->num[i])) return -1;
        key.num = col->num[i];
    }
    const nn__cat *hit = bsearch(&key, c->cats, c->n_cats, sizeof *c->cats, cmp_cat);
    return hit ? (long)(hit - c->cats) : -1;
}

static nn_status one_hot_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    (void)s;
    size_t n = t->n_rows, nc = c->n_cats;
    double **v = calloc(nc + 1, sizeof *v);
    nn_status st = v ? NN_OK : nomem(r);
    for (size_t k = 0; !st && k < nc; k++)
        if (!(v[k] = calloc(n + 1, sizeof *v[k]))) st = nomem(r);
    for (size_t i = 0; !st && i < n; i++) {
        long k = find_cat(c, &t->cols[ci], i);
        if (k >= 0) v[k][i] = 1;
    }
    for (size_t k = 0; !st && k < nc; k++) {
        char buf[NN_MAX_NAME];
        if (nn__cat_name(c->name, &c->cats[k], buf, sizeof buf)) {
            free(v[k]);
            st = nn__data_problem(r, NN_ERR_SPEC, c->name,
                                  "one_hot column name for \"%s\" is too long", c->name);
        } else {
            st = add_column(r, t, buf, v[k]);
        }
        v[k] = NULL;
    }
    for (size_t k = 0; v && k < nc; k++) free(v[k]);
    free(v);
    if (!st) nn_table_remove(t, nn_table_find(t, c->name));
    return st;
}

static nn_status apply_one_hot(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, one_hot_col);
}

static long width_one_hot(const nn__step *s) {
    long w = 0;
    for (size_t j = 0; j < s->n_cols; j++) w += (long)s->cols[j].n_cats - 1;
    return w;
}

static int one_hot_out(json_t *o, const nn__col *c) {
    json_t *cats = json_array();
    int bad = !cats;
    for (size_t k = 0; cats && k < c->n_cats; k++)
        bad |= json_array_append_new(cats, c->cats[k].text ? json_string(c->cats[k].text)
                                                           : num_json(c->cats[k].num));
    return bad | json_object_set_new(o, "categories", cats);
}

static nn_status one_hot_in(const json_t *o, nn__col *c, nn_error *err) {
    const json_t *a = json_object_get(o, "categories");
    if (!json_is_array(a))
        return nn_error_set(err, NN_ERR_PARSE,
                            "pipeline state: one_hot categories must be an array");
    c->cats = calloc(json_array_size(a) + 1, sizeof *c->cats);
    if (!c->cats) return nn_nomem(err, "out of memory");
    for (size_t k = 0; k < json_array_size(a); k++) {
        const json_t *v = json_array_get(a, k);
        nn__cat *cat = &c->cats[k];
        if (c->type == NN_COL_TEXT) {
            if (!json_is_string(v))
                return nn_error_set(err, NN_ERR_PARSE,
                                    "pipeline state: a text category must be a string");
            if (!(cat->text = strdup(json_string_value(v)))) return nn_nomem(err, "out of memory");
        } else if (json_num(v, &cat->num)) {
            return nn_error_set(err, NN_ERR_PARSE,
                                "pipeline state: a number category must be a number");
        }
        c->n_cats = k + 1;
    }
    return NN_OK;
}

/* ---- impute ---- */

static nn_status fit_impute(nn__run *r, const nn_step *cfg, nn__col *c, const nn_column *col,
                            size_t n) {
    if (cfg->strategy == NN_IMPUTE_CONSTANT) {
        c->fill = cfg->value;
        return NN_OK;
    }
    double *s = NULL;
    size_t m = 0;
    nn_status st = present_sorted(r, col->num, n, &s, &m);
    if (st) return st;
    if (!m) {
        free(s);
        c->fill = NAN;
        return nn__data_problem(r, NN_ERR_DATA, c->name,
                                "column \"%s\": every training value is missing; impute has "
                                "nothing to compute a %s from (use strategy \"constant\")",
                                c->name, nn_impute_name(cfg->strategy));
    }
    double sum = 0;
    for (size_t i = 0; i < m; i++) sum += s[i];
    c->fill = cfg->strategy == NN_IMPUTE_MEAN ? sum / (double)m : nn_quantile_sorted(s, m, 0.5);
    free(s);
    return NN_OK;
}

static nn_status impute_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    (void)r, (void)s;
    double *v = t->cols[ci].num;
    for (size_t i = 0; i < t->n_rows; i++)
        if (isnan(v[i])) v[i] = c->fill;
    return NN_OK;
}

static nn_status apply_impute(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, impute_col);
}

static int impute_out(json_t *o, const nn__col *c) {
    return json_object_set_new(o, "fill", num_json(c->fill));
}

static nn_status impute_in(const json_t *o, nn__col *c, nn_error *err) {
    return json_num(json_object_get(o, "fill"), &c->fill) ? missing_numbers(err) : NN_OK;
}

/* ---- bins: quantile bins of the training values, encoded piecewise-linearly or one-hot ---- */

/* Edges at the training values' quantiles 0, 1/k … 1, ties merged (so fewer bins when values
 * repeat: a column of three distinct values gets at most two). */
static nn_status fit_bins(nn__run *r, const nn_step *cfg, nn__col *c, const nn_column *col,
                          size_t n) {
    double *s = NULL;
    size_t m = 0;
    nn_status st = present_sorted(r, col->num, n, &s, &m);
    if (st) return st;
    c->edges = malloc(((size_t)cfg->bins + 1) * sizeof *c->edges);
    if (!c->edges) st = nomem(r);
    for (int j = 0; !st && m && j <= cfg->bins; j++) {
        double e = nn_quantile_sorted(s, m, (double)j / cfg->bins);
        if (!c->n_edges || e > c->edges[c->n_edges - 1]) c->edges[c->n_edges++] = e;
    }
    free(s);
    if (!st && c->n_edges < 2)
        st = nn__data_problem(r, NN_ERR_DATA, c->name,
                              "column \"%s\": bins needs at least two distinct training values, "
                              "found %zu",
                              c->name, c->n_edges);
    return st;
}

static size_t n_bins(const nn__col *c) { return c->n_edges > 1 ? c->n_edges - 1 : 0; }

/* Encodes x into bins b (nb of them); a missing x stays missing in every bin. */
static void encode_bins(const nn__col *c, nn_bins_encode enc, double x, double **b, size_t i) {
    size_t nb = n_bins(c);
    const double *e = c->edges;
    if (nb == 0) return; /* a plan's column without two distinct values: no bins */
    if (isnan(x)) {
        for (size_t j = 0; j < nb; j++) b[j][i] = NAN;
        return;
    }
    if (enc == NN_ENCODE_PIECEWISE) {
        for (size_t j = 0; j < nb; j++) {
            double v = (x - e[j]) / (e[j + 1] - e[j]);
            b[j][i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        return;
    }
    size_t lo = 0, hi = nb - 1; /* the last bin whose lower edge is <= x (values outside the
                                   training range fall in the first or last bin) */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (e[mid] <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    for (size_t j = 0; j < nb; j++) b[j][i] = j == lo;
}

static nn_status bins_col(nn__run *r, const nn__step *s, const nn__col *c, nn_table *t, int ci) {
    size_t n = t->n_rows, nb = n_bins(c);
    double **b = calloc(nb + 1, sizeof *b);
    nn_status st = b ? NN_OK : nomem(r);
    for (size_t j = 0; !st && j < nb; j++)
        if (!(b[j] = malloc((n + 1) * sizeof *b[j]))) st = nomem(r);
    for (size_t i = 0; !st && i < n; i++) encode_bins(c, s->cfg.encode, t->cols[ci].num[i], b, i);
    for (size_t j = 0; !st && j < nb; j++) {
        char buf[NN_MAX_NAME];
        int w = snprintf(buf, sizeof buf, "%s_bin%zu", c->name, j);
        if (w < 0 || (size_t)w >= sizeof buf) {
            st = nn__data_problem(r, NN_ERR_SPEC, c->name,
                                  "bins column name for \"%s\" is too long", c->name);
            break;
        }
        st = add_column(r, t, buf, b[j]);
        b[j] = NULL;
    }
    for (size_t j = 0; b && j < nb; j++) free(b[j]);
    free(b);
    if (!st && !s->cfg.keep) nn_table_remove(t, nn_table_find(t, c->name));
    return st;
}

static nn_status apply_bins(nn__run *r, const nn__step *s, nn_table *t) {
    return each_col(r, s, t, bins_col);
}

static long width_bins(const nn__step *s) {
    long w = 0;
    for (size_t j = 0; j < s->n_cols; j++) w += (long)n_bins(&s->cols[j]) - (s->cfg.keep ? 0 : 1);
    return w;
}

static int bins_out(json_t *o, const nn__col *c) {
    json_t *e = json_array();
    int bad = !e;
    for (size_t k = 0; e && k < c->n_edges; k++)
        bad |= json_array_append_new(e, json_real(c->edges[k]));
    return bad | json_object_set_new(o, "edges", e);
}

static nn_status bins_in(const json_t *o, nn__col *c, nn_error *err) {
    const json_t *a = json_object_get(o, "edges");
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n < 2)
        return nn_error_set(err, NN_ERR_PARSE,
                            "pipeline state: bins edges must be an array of at least two");
    if (!(c->edges = malloc(n * sizeof *c->edges))) return nn_nomem(err, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(a, k);
        if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
            (k && json_number_value(v) <= c->edges[k - 1]))
            return nn_error_set(err, NN_ERR_PARSE,
                                "pipeline state: bins edges must be increasing finite numbers");
        c->edges[k] = json_number_value(v);
        c->n_edges = k + 1;
    }
    return NN_OK;
}

/* ---- the table ---- */

#define NUM NN__TAKES_NUMBER
#define TEXT NN__TAKES_TEXT
static const nn__op ops[NN_OP_COUNT] = {
    /*                 takes       targets why not   fit            keeps         width
                       apply           revert            state out      state in */
    [NN_OP_DROP] = {NUM | TEXT, 0, NULL, NULL, NULL, width_drop, apply_drop, NULL, NULL, NULL},
    [NN_OP_DATE] = {TEXT, 0, NULL, NULL, NULL, width_date, apply_date, NULL, NULL, NULL},
    [NN_OP_REPLACE] = {NUM, 0, NULL, NULL, NULL, no_width, apply_replace, NULL, NULL, NULL},
    [NN_OP_LOG10] = {NUM, 1, NULL, NULL, NULL, no_width, apply_log, revert_log10, NULL, NULL},
    [NN_OP_LOG] = {NUM, 1, NULL, NULL, NULL, no_width, apply_log, revert_log, NULL, NULL},
    [NN_OP_LOG1P] = {NUM, 1, NULL, NULL, NULL, no_width, apply_log, revert_log1p, NULL, NULL},
    [NN_OP_SQUARE] = {NUM, 0, "squaring it would feed the target to the network", NULL, NULL,
                      width_square, apply_square, NULL, NULL, NULL},
    [NN_OP_FILTER_OUTLIERS] = {NUM, 1, NULL, fit_fences, keeps_inside, no_width, NULL, NULL,
                               fences_out, fences_in},
    [NN_OP_NORMALIZE] = {NUM, 1, NULL, NULL, NULL, no_width, apply_normalize, revert_normalize,
                         normalize_out, normalize_in, normalize_passes, normalize_accumulate,
                         normalize_pass_end},
    [NN_OP_ONE_HOT] = {NUM | TEXT, 0, NULL, fit_one_hot, NULL, width_one_hot, apply_one_hot, NULL,
                       one_hot_out, one_hot_in},
    [NN_OP_IMPUTE] = {NUM, 0, NULL, fit_impute, NULL, no_width, apply_impute, NULL, impute_out,
                      impute_in},
    [NN_OP_BINS] = {NUM, 0, "binning it would feed the target to the network", fit_bins, NULL,
                    width_bins, apply_bins, NULL, bins_out, bins_in},
};
#undef NUM
#undef TEXT

const nn__op *nn__op_of(nn_op_kind op) { return &ops[op]; }
