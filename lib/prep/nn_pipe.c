/* nn_pipe.c — the pipeline driver: fitting, transforming, matrices and reverting (see nn_pipe.h).
 *
 * DESIGN: one engine, used three ways. The steps run over *working tables*: copies of some rows
 * of the caller's table, never more than a block of NN__BLOCK_CELLS cells at a time, so memory
 * does not grow with rows × width (a one_hot of thousands of categories on a large table is
 * built a block at a time, straight into float matrices).
 *
 * Fitting, step by step: (1) the step's selector is resolved against the *schema* — a table of
 * no rows that the steps so far have been applied to, so it has exactly the columns, names and
 * types the step will see — into a fixed list of names; (2) if the op has state, the training
 * values of those columns, after the steps before it, are gathered (blocks of training rows run
 * through the fitted steps before, the columns copied out; in groups of columns when they are
 * many) and the op fits each column from them (fences, categories, fill) — or, for statistics
 * that running sums give (normalize's min/max, mean/sd), the blocks feed the sums directly;
 * a row filter (filter_outliers) then keeps only the training rows inside the fences for the
 * steps after it; (3) the step's output width is checked against NN_MAX_COLUMNS *before* any
 * table of that width exists (counted from the fitted categories); (4) the fitted step is
 * applied to the schema. Transforming applies the fitted steps, with the names and state
 * recorded at fit time, to blocks of any rows: validation rows and rows to predict never
 * influence anything fitted, and a model file replays exactly what training saw. Applying is the
 * same code in every pass and works row by row, so a row's values do not depend on the block it
 * is in, and statistics are gathered in row order: the results are those of one pass over one
 * table.
 *
 * The driver reaches ops only through the op table (nn__op_of, nn_pipe_ops.c); the plan
 * (nn_pipe_plan.c) is a fitting run in plan mode followed by a checking pass.
 *
 * Revert: each step that touched target t is undone in reverse order (normalize, then 10^x, …);
 * ops without a revert (filter_outliers) only removed rows and have nothing to undo. */
#include "nn_pipe_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn__col_free(nn__col *c) {
    free(c->name);
    for (size_t i = 0; i < c->n_cats; i++) free(c->cats[i].text);
    free(c->cats);
    free(c->edges);
}

void nn_pipe_destroy(nn_pipe *p) {
    if (!p) return;
    for (size_t i = 0; p->steps && i < p->n_steps; i++) {
        for (size_t j = 0; j < p->steps[i].n_cols; j++) nn__col_free(&p->steps[i].cols[j]);
        free(p->steps[i].cols);
        free(p->steps[i].cfg.format);
        free(p->steps[i].cfg.with_column);
    }
    free(p->steps);
    for (size_t i = 0; p->targets && i < p->n_targets; i++) free(p->targets[i]);
    free(p->targets);
    free(p->id);
    for (size_t i = 0; i < p->n_features; i++) free(p->features[i]);
    free(p->features);
    for (size_t i = 0; i < p->n_inputs; i++) free(p->inputs[i].name);
    free(p->inputs);
    for (size_t i = 0; i < p->n_dropped; i++) free(p->dropped[i]);
    free(p->dropped);
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
    if (!p) return nn_nomem(err, "out of memory");
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
            s->cfg.format = NULL;
            goto fail;
        }
    }
    for (; p->n_targets < spec->n_targets; p->n_targets++)
        if (dup_str(spec->targets[p->n_targets], &p->targets[p->n_targets])) goto fail;
    *out = p;
    return NN_OK;
fail:
    nn_pipe_destroy(p);
    return nn_nomem(err, "out of memory");
}

size_t nn__block_rows(size_t width) {
    size_t b = NN__BLOCK_CELLS / (width ? width : 1);
    return b ? b : 1;
}

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
                               t->cols[c].name, nn__row(r, i),
                               nn_op_name(r->p->steps[r->step].cfg.op));
            return NN_ERR_SPEC;
        }
    }
    return NN_OK;
}

nn_status nn__apply_rows(nn__run *r, const nn_table *data, const size_t *rows, size_t n,
                         size_t upto, int check, nn_table **out) {
    nn_table *t = NULL;
    nn_status st =
        rows ? nn_table_select_rows(data, rows, n, &t, r->err) : nn_table_clone(data, &t, r->err);
    if (st) return st;
    const size_t *saved_rows = r->rows;
    size_t saved_step = r->step;
    r->rows = rows;
    for (size_t j = 0; j < upto && !st; j++) {
        const nn__op *op = nn__op_of(r->p->steps[j].cfg.op);
        r->step = j;
        if (op->apply) st = op->apply(r, &r->p->steps[j], t);
        if (!st && check && r->errs) st = check_finite(r, t);
    }
    r->rows = saved_rows;
    r->step = saved_step;
    if (st) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

/* Empty columns to gather the training values of s->cols[g0..g1) into, n rows each. */
static nn_status gather_new(nn__run *r, const nn__step *s, size_t g0, size_t g1, size_t n,
                            nn_column **out) {
    nn_column *v = calloc(g1 - g0, sizeof *v);
    if (!v) return nn_nomem(r->err, "out of memory");
    nn_status st = NN_OK;
    for (size_t j = g0; j < g1 && !st; j++) {
        nn_column *c = &v[j - g0];
        c->name = s->cols[j].name; /* borrowed */
        c->type = s->cols[j].type;
        if (c->type == NN_COL_TEXT)
            c->text = calloc(n + 1, sizeof *c->text);
        else
            c->num = malloc((n + 1) * sizeof *c->num);
        if (!c->text && !c->num) st = nn_nomem(r->err, "out of memory");
    }
    *out = v;
    return st;
}

static void gather_free(nn_column *v, size_t m, size_t n) {
    for (size_t j = 0; v && j < m; j++) {
        for (size_t i = 0; v[j].text && i < n; i++) free(v[j].text[i]);
        free(v[j].text);
        free(v[j].num);
    }
    free(v);
}

/* Copies (text: moves) the block t's values of the gathered columns into rows at..at+t->n_rows. */
static void gather_block(nn_column *v, size_t m, nn_table *t, size_t at) {
    for (size_t j = 0; j < m; j++) {
        int ci = nn_table_find(t, v[j].name);
        nn_column *src = ci >= 0 && t->cols[ci].type == v[j].type ? &t->cols[ci] : NULL;
        for (size_t i = 0; i < t->n_rows; i++) {
            if (v[j].type == NN_COL_TEXT) {
                v[j].text[at + i] = src ? src->text[i] : NULL;
                if (src) src->text[i] = NULL;
            } else {
                v[j].num[at + i] = src ? src->num[i] : NAN;
            }
        }
    }
}

/* Fits step s (index r->step) on the training rows (*kept)[0..*n_kept) of data; a row filter
 * shrinks *kept. width: the widest working table so far (for the block size). */
static nn_status fit_step(nn__run *r, const nn_table *data, nn__step *s, size_t *kept,
                          size_t *n_kept, size_t width) {
    const nn__op *op = nn__op_of(s->cfg.op);
    size_t n = *n_kept, block = nn__block_rows(width);
    size_t group = NN__GATHER_CELLS / (n ? n : 1);
    if (group == 0) group = 1;
    unsigned char *out = op->keeps ? calloc(n + 1, 1) : NULL;
    if (op->keeps && !out) return nn_nomem(r->err, "out of memory");
    nn_status st = NN_OK;
    for (size_t g0 = 0; g0 < s->n_cols && !st; g0 += group) {
        size_t g1 = g0 + group < s->n_cols ? g0 + group : s->n_cols;
        nn_column *v = NULL;
        st = gather_new(r, s, g0, g1, n, &v);
        int quiet = r->quiet;
        r->quiet = 1; /* plan mode: the checking pass reports these rows' problems */
        for (size_t b = 0; b < n && !st; b += block) {
            nn_table *t = NULL;
            size_t m = n - b < block ? n - b : block;
            st = nn__apply_rows(r, data, kept + b, m, r->step, 0, &t);
            if (!st) gather_block(v, g1 - g0, t, b);
            nn_table_destroy(t);
        }
        r->quiet = quiet;
        for (size_t j = g0; j < g1 && !st; j++) {
            st = op->fit(r, &s->cfg, &s->cols[j], &v[j - g0], n);
            for (size_t i = 0; out && !st && i < n; i++)
                if (!op->keeps(&s->cols[j], v[j - g0].num[i])) out[i] = 1;
        }
        gather_free(v, g1 - g0, n);
    }
    if (!st && out) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!out[i]) kept[m++] = kept[i];
        *n_kept = m;
    }
    free(out);
    return st;
}

/* Fits step s from running sums (the op's accumulate): passes over the training rows, block by
 * block; memory NN__ACC doubles per column. */
static nn_status fit_stream(nn__run *r, const nn_table *data, nn__step *s, const size_t *kept,
                            size_t n, size_t width) {
    const nn__op *op = nn__op_of(s->cfg.op);
    size_t block = nn__block_rows(width);
    double *acc = calloc(s->n_cols * NN__ACC + 1, sizeof *acc);
    int *at = malloc((s->n_cols + 1) * sizeof *at);
    nn_status st = acc && at ? NN_OK : nn_nomem(r->err, "out of memory");
    int quiet = r->quiet;
    r->quiet = 1; /* plan mode: the checking pass reports these rows' problems */
    for (int pass = 0; !st && pass < op->passes(&s->cfg); pass++) {
        for (size_t b = 0; b < n && !st; b += block) {
            nn_table *t = NULL;
            size_t m = n - b < block ? n - b : block;
            st = nn__apply_rows(r, data, kept + b, m, r->step, 0, &t);
            for (size_t j = 0; !st && j < s->n_cols; j++) {
                if (b == 0) at[j] = nn_table_find(t, s->cols[j].name); /* same in every block */
                if (at[j] >= 0 && t->cols[at[j]].type == NN_COL_NUMBER)
                    op->accumulate(&s->cfg, acc + j * NN__ACC, t->cols[at[j]].num, m, pass);
            }
            nn_table_destroy(t);
        }
        for (size_t j = 0; !st && j < s->n_cols; j++)
            op->pass_end(&s->cfg, &s->cols[j], acc + j * NN__ACC, pass);
    }
    r->quiet = quiet;
    free(acc);
    free(at);
    return st;
}

/* The step's output width against NN_MAX_COLUMNS, before anything of that width exists. */
static nn_status check_width(nn__run *r, const nn_table *schema, const nn__step *s) {
    long after = (long)schema->n_cols + nn__op_of(s->cfg.op)->width(s);
    if (after <= NN_MAX_COLUMNS) return NN_OK;
    char ptr[96];
    nn_status st;
    if (s->cfg.op == NN_OP_ONE_HOT) {
        size_t cats = 0;
        for (size_t j = 0; j < s->n_cols; j++) cats += s->cols[j].n_cats;
        (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu/max_categories", r->step);
        st = nn__problem(r, NN_ERR_LIMIT, ptr,
                         "one_hot makes %zu columns, so the table would have %ld, over the limit "
                         "of %d; lower max_categories",
                         cats, after, NN_MAX_COLUMNS);
    } else {
        (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu", r->step);
        st = nn__problem(r, NN_ERR_LIMIT, ptr,
                         "%s makes the table %ld columns wide, over the limit of %d",
                         nn_op_name(s->cfg.op), after, NN_MAX_COLUMNS);
    }
    return st ? st : NN_ERR_SPEC; /* plan mode too: later steps would see half a table */
}

nn_status nn__fit(nn__run *r, const nn_table *data, const size_t *train, size_t n, size_t **kept,
                  size_t *n_kept, nn_table **schema) {
    nn_table *sch = NULL;
    size_t *k = malloc((n + 1) * sizeof *k), nk = n;
    if (!k) return nn_nomem(r->err, "out of memory");
    if (n) memcpy(k, train, n * sizeof *k);
    nn_status st = nn_table_select_rows(data, k, 0, &sch, r->err);
    if (r->spec) r->p->classify = nn_spec_task(r->spec, data) == NN_TASK_CLASSIFICATION;
    if (!st) st = nn__check_columns(r, sch);
    size_t width = data->n_cols;
    for (size_t i = 0; !st && i < r->p->n_steps; i++) {
        nn__step *s = &r->p->steps[i];
        const nn__op *op = nn__op_of(s->cfg.op);
        r->step = i;
        st = nn__resolve(r, sch, s);
        if (!st && op->fit && s->n_cols) st = fit_step(r, data, s, k, &nk, width);
        if (!st && op->accumulate && s->n_cols) st = fit_stream(r, data, s, k, nk, width);
        if (!st) st = check_width(r, sch, s);
        if (!st && op->apply) st = op->apply(r, s, sch);
        if (sch->n_cols > width) width = sch->n_cols;
    }
    if (!st) st = nn__finish(r, sch);
    if (st) {
        free(k);
        nn_table_destroy(sch);
        return st;
    }
    *kept = k;
    *n_kept = nk;
    *schema = sch;
    return NN_OK;
}

/* 0..n-1, malloc'd. */
static size_t *all_rows(size_t n, nn_error *err) {
    size_t *rows = malloc((n + 1) * sizeof *rows);
    if (!rows) {
        nn_nomem(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) rows[i] = i;
    return rows;
}

nn_status nn_pipe_fit_rows(const nn_spec *spec, const nn_row_set *train, nn_pipe **out,
                           nn_row_set *kept, nn_error *err) {
    nn_error_clear(err);
    size_t n = train->idx ? train->n : train->data->n_rows;
    size_t *own = train->idx ? NULL : all_rows(n, err), *k = NULL, nk = 0;
    if (!train->idx && !own) return NN_ERR_NOMEM;
    nn_pipe *p = NULL;
    nn_table *schema = NULL;
    nn_status st = nn__pipe_new(spec, &p, err);
    nn__run r = {.p = p, .spec = spec, .err = err};
    if (!st) st = nn__fit(&r, train->data, train->idx ? train->idx : own, n, &k, &nk, &schema);
    if (!st) st = nn__derive_inputs(p, err);
    free(own);
    nn_table_destroy(schema);
    if (st) {
        free(k);
        nn_pipe_destroy(p);
        return st;
    }
    *out = p;
    if (kept) {
        *kept = (nn_row_set){.data = train->data, .idx = k, .n = nk};
    } else {
        free(k);
    }
    return NN_OK;
}

nn_status nn_pipe_fit(const nn_spec *spec, const nn_table *train, nn_pipe **out,
                      nn_table **train_out, size_t **kept, nn_error *err) {
    nn_row_set all = {.data = train}, k = {0};
    nn_pipe *p = NULL;
    nn_status st = nn_pipe_fit_rows(spec, &all, &p, &k, err);
    if (st) return st;
    nn_table *t = NULL;
    nn__run r = {.p = p, .err = err};
    st = nn__apply_rows(&r, train, k.idx, k.n, p->n_steps, 0, &t);
    if (st) {
        free(k.idx);
        nn_pipe_destroy(p);
        return st;
    }
    *out = p;
    *train_out = t;
    if (kept)
        *kept = k.idx;
    else
        free(k.idx);
    return NN_OK;
}

nn_status nn_pipe_transform(const nn_pipe *p, const nn_table *in, nn_table **out, nn_error *err) {
    nn_error_clear(err);
    nn__run r = {.p = (nn_pipe *)p, .err = err};
    return nn__apply_rows(&r, in, NULL, in->n_rows, p->n_steps, 0, out);
}

size_t nn_pipe_n_features(const nn_pipe *p) { return p->n_features; }
const char *nn_pipe_feature(const nn_pipe *p, size_t i) {
    return i < p->n_features ? p->features[i] : NULL;
}
size_t nn_pipe_n_targets(const nn_pipe *p) { return p->n_targets; }
const char *nn_pipe_target(const nn_pipe *p, size_t i) {
    return i < p->n_targets ? p->targets[i] : NULL;
}

/* Copies the named number columns of t (n_rows rows) into m (n_rows × stride, row-major);
 * rows (may be NULL) maps t's rows to the caller's for messages. */
static nn_status copy_columns(const nn_table *t, size_t n_rows, char *const *names, size_t n,
                              nn_float *m, size_t stride, const size_t *rows, nn_error *err) {
    if (t->n_rows != n_rows) return nn_error_set(err, NN_ERR_INVALID, "a block of the wrong size");
    for (size_t j = 0; j < n; j++) {
        int c = nn_table_find(t, names[j]);
        if (c < 0) return nn_error_set(err, NN_ERR_DATA, "no column \"%s\"", names[j]);
        if (t->cols[c].type != NN_COL_NUMBER)
            return nn_error_set(err, NN_ERR_DATA, "column \"%s\" is text", names[j]);
        const double *v = t->cols[c].num;
        for (size_t i = 0; i < n_rows; i++) {
            size_t row = (rows ? rows[i] : i) + 1;
            if (isnan(v[i]))
                return nn_error_set(err, NN_ERR_DATA,
                                    "column \"%s\", row %zu: missing value (add an impute step)",
                                    names[j], row);
            m[i * stride + j] = (nn_float)v[i];
            if (!isfinite(m[i * stride + j]))
                return nn_error_set(err, NN_ERR_DATA,
                                    "column \"%s\", row %zu: %g is too large for the network "
                                    "(%s); scale, log or clip it",
                                    names[j], row, v[i], NN_FLOAT_NAME);
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
    if (!xm || (y && !ym)) st = nn_nomem(err, "out of memory");
    if (!st)
        st = copy_columns(transformed, n, p->features, p->n_features, xm, p->n_features, NULL, err);
    if (!st && y)
        st = copy_columns(transformed, n, p->targets, p->n_targets, ym, p->n_targets, NULL, err);
    if (st) {
        free(xm);
        free(ym);
        return st;
    }
    *x = xm;
    if (y) *y = ym;
    return NN_OK;
}

nn_status nn_pipe_rows_matrices(const nn_pipe *p, const nn_row_set *rows, nn_float **x,
                                nn_float **y, nn_error *err) {
    const nn_table *data = rows->data;
    size_t n = rows->idx ? rows->n : data->n_rows, nf = p->n_features, nt = p->n_targets;
    size_t block = nn__block_rows(data->n_cols + nf + 1);
    size_t *own = rows->idx ? NULL : all_rows(n, err);
    const size_t *idx = rows->idx ? rows->idx : own;
    nn_float *xm = malloc((n * nf + 1) * sizeof *xm);
    nn_float *ym = y ? malloc((n * nt + 1) * sizeof *ym) : NULL;
    nn_status st = NN_OK;
    if (!idx || !xm || (y && !ym)) st = nn_nomem(err, "out of memory");
    nn__run r = {.p = (nn_pipe *)p, .err = err};
    for (size_t b = 0; b < n && !st; b += block) {
        size_t m = n - b < block ? n - b : block;
        nn_table *t = NULL;
        st = nn__apply_rows(&r, data, idx + b, m, p->n_steps, 0, &t);
        if (!st) st = copy_columns(t, m, p->features, nf, xm + b * nf, nf, idx + b, err);
        if (!st && y) st = copy_columns(t, m, p->targets, nt, ym + b * nt, nt, idx + b, err);
        nn_table_destroy(t);
    }
    free(own);
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
        double (*revert)(const nn__col *, double) = nn__op_of(s->cfg.op)->revert;
        for (size_t j = 0; revert && j < s->n_cols; j++) {
            const nn__col *c = &s->cols[j];
            if (!c->is_target || strcmp(c->name, p->targets[t]) != 0) continue;
            for (size_t k = 0; k < n; k++) values[k] = revert(c, values[k]);
        }
    }
}
