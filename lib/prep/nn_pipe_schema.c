/* nn_pipe_schema.c — the raw columns a fitted pipe reads, and new rows made to fit them.
 *
 * DESIGN: the inputs are derived from the fitted steps alone, so a pipe read from any model
 * file has them. Walking the steps in order with the set of names the steps have created so
 * far: a column a step names (or replace's with_column) that no earlier step created is a raw
 * column — read (with the type it had when fitted) unless the step is a drop, which makes it
 * dropped unless something read it before; features no step created are raw number columns.
 * Targets and the id column are never inputs. With that, rows to predict are made to fit: a
 * column that was text when fitted is text even if the new rows look numeric (an id without its
 * leading zero, a zip code), a number column given as text is read as numbers, and everything
 * else (id, targets, dropped or unknown columns) is left out, so it may be absent or hold
 * anything. */
#include "nn_pipe_internal.h"

#include "nn_text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set of names (borrowed), linear: pipes have tens of columns, a one_hot thousands at most,
 * and this runs once per fit or load. */
typedef struct names {
    const char **v;
    size_t n, cap;
} names;

static int names_has(const names *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0) return 1;
    return 0;
}

static int names_add(names *s, const char *name) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        const char **v = realloc((void *)s->v, cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = name;
    return 0;
}

static int add_input(nn_pipe *p, const char *name, nn_col_type type) {
    for (size_t i = 0; i < p->n_inputs; i++)
        if (strcmp(p->inputs[i].name, name) == 0) return 0;
    nn__input *v = realloc(p->inputs, (p->n_inputs + 1) * sizeof *v);
    if (!v) return -1;
    p->inputs = v;
    if (!(v[p->n_inputs].name = strdup(name))) return -1;
    v[p->n_inputs++].type = type;
    return 0;
}

static int add_dropped(nn_pipe *p, const char *name) {
    for (size_t i = 0; i < p->n_inputs; i++)
        if (strcmp(p->inputs[i].name, name) == 0) return 0; /* read before it was dropped */
    char **v = realloc(p->dropped, (p->n_dropped + 1) * sizeof *v);
    if (!v) return -1;
    p->dropped = v;
    if (!(v[p->n_dropped] = strdup(name))) return -1;
    p->n_dropped++;
    return 0;
}

/* Records the names step s creates (into made; the strings are generated into pool). */
static int step_creates(const nn__step *s, names *made, names *pool) {
    for (size_t j = 0; j < s->n_cols; j++) {
        const nn__col *c = &s->cols[j];
        size_t k_max = s->cfg.op == NN_OP_ONE_HOT  ? c->n_cats
                       : s->cfg.op == NN_OP_DATE   ? (size_t)NN_DATE_PART_COUNT
                       : s->cfg.op == NN_OP_SQUARE ? 1
                       : s->cfg.op == NN_OP_BINS   ? (c->n_edges > 1 ? c->n_edges - 1 : 0)
                                                   : 0;
        for (size_t k = 0; k < k_max; k++) {
            char buf[NN_MAX_NAME];
            if (s->cfg.op == NN_OP_ONE_HOT) {
                if (nn__cat_name(c->name, &c->cats[k], buf, sizeof buf)) continue;
            } else if (s->cfg.op == NN_OP_DATE) {
                unsigned extract = s->cfg.extract ? s->cfg.extract : (unsigned)NN_DATE_TIMESTAMP;
                if (!((extract >> k) & 1u)) continue;
                (void)snprintf(buf, sizeof buf, "%s_%s", c->name,
                               nn_date_part_name((nn_date_part)k));
            } else if (s->cfg.op == NN_OP_BINS) {
                (void)snprintf(buf, sizeof buf, "%s_bin%zu", c->name, k);
            } else {
                (void)snprintf(buf, sizeof buf, "%s^2", c->name);
            }
            char *copy = strdup(buf);
            if (!copy || names_add(pool, copy)) {
                free(copy);
                return -1;
            }
            if (names_add(made, copy)) return -1; /* copy is the pool's now */
        }
    }
    return 0;
}

nn_status nn__derive_inputs(nn_pipe *p, nn_error *err) {
    names made = {0}, pool = {0};
    int bad = 0;
    for (size_t i = 0; i < p->n_steps && !bad; i++) {
        const nn__step *s = &p->steps[i];
        for (size_t j = 0; j < s->n_cols && !bad; j++) {
            const nn__col *c = &s->cols[j];
            if (c->is_target || nn__is_id(p, c->name) || names_has(&made, c->name)) continue;
            bad =
                s->cfg.op == NN_OP_DROP ? add_dropped(p, c->name) : add_input(p, c->name, c->type);
        }
        if (!bad && s->cfg.with_column && !names_has(&made, s->cfg.with_column))
            bad = add_input(p, s->cfg.with_column, NN_COL_NUMBER);
        if (!bad) bad = step_creates(s, &made, &pool);
    }
    for (size_t f = 0; f < p->n_features && !bad; f++)
        if (!names_has(&made, p->features[f])) bad = add_input(p, p->features[f], NN_COL_NUMBER);
    for (size_t i = 0; i < pool.n; i++) free((char *)pool.v[i]);
    free((void *)pool.v);
    free((void *)made.v);
    return bad ? nn_nomem(err, "out of memory") : NN_OK;
}

size_t nn_pipe_n_inputs(const nn_pipe *p) { return p->n_inputs; }

const char *nn_pipe_input(const nn_pipe *p, size_t i, nn_col_type *type) {
    if (i >= p->n_inputs) return NULL;
    if (type) *type = p->inputs[i].type;
    return p->inputs[i].name;
}

size_t nn_pipe_n_dropped(const nn_pipe *p) { return p->n_dropped; }

const char *nn_pipe_dropped(const nn_pipe *p, size_t i) {
    return i < p->n_dropped ? p->dropped[i] : NULL;
}

static const char *const missing_tokens[] = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"};

/* Text s as a number: 0 and *v on success (missing tokens give NaN), -1 if it is not one. */
static int text_number(const char *s, double *v) {
    *v = NAN;
    if (!s) return 0;
    for (size_t i = 0; i < sizeof missing_tokens / sizeof *missing_tokens; i++)
        if (strcmp(s, missing_tokens[i]) == 0) return 0;
    char *end = NULL;
    errno = 0;
    double x = strtod(s, &end);
    while (end && (*end == ' ' || *end == '\t')) end++;
    if (end == s || !end || *end || errno == ERANGE || !isfinite(x)) return -1;
    *v = x;
    return 0;
}

/* Column col of rows (of length n) converted to type into out. */
static nn_status convert(const nn_column *col, nn_col_type type, size_t n, nn_table *out,
                         nn_error *err) {
    if (type == NN_COL_TEXT) {
        char **v = calloc(n + 1, sizeof *v);
        if (!v) return nn_nomem(err, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char buf[32];
            if (isnan(col->num[i])) continue;
            nn__fmt_num(col->num[i], buf, sizeof buf);
            if (!(v[i] = strdup(buf))) {
                for (size_t k = 0; k < i; k++) free(v[k]);
                free(v);
                return nn_nomem(err, "out of memory");
            }
        }
        return nn_table_add_text_take(out, col->name, v, NULL, err);
    }
    double *v = malloc((n + 1) * sizeof *v);
    if (!v) return nn_nomem(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (text_number(col->text[i], &v[i]) == 0) continue;
        nn_status st = nn_error_set(err, NN_ERR_DATA,
                                    "column \"%s\", row %zu: \"%.40s\" is not a number (the "
                                    "model was fitted on numbers there)",
                                    col->name, i + 1, col->text[i]);
        free(v);
        return st;
    }
    return nn_table_add_number_take(out, col->name, v, NULL, err);
}

/* A copy of text column col (n rows) into out. */
static nn_status convert_text_copy(const nn_column *col, size_t n, nn_table *out, nn_error *err) {
    char **v = calloc(n + 1, sizeof *v);
    if (!v) return nn_nomem(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!col->text[i]) continue;
        if (!(v[i] = strdup(col->text[i]))) {
            for (size_t k = 0; k < i; k++) free(v[k]);
            free(v);
            return nn_nomem(err, "out of memory");
        }
    }
    return nn_table_add_text_take(out, col->name, v, NULL, err);
}

static const char *column_name_at(const void *cols, size_t i) {
    return ((const nn_column *)cols)[i].name;
}

nn_status nn_pipe_conform(const nn_pipe *p, const nn_table *rows, nn_table **out, nn_error *err) {
    nn_table *t = NULL;
    nn_status st = nn_table_create(rows->n_rows, &t, err);
    for (size_t i = 0; st == NN_OK && i < p->n_inputs; i++) {
        const nn__input *in = &p->inputs[i];
        int c = nn_table_find(rows, in->name);
        if (c < 0) {
            long best = nn_closest(in->name, rows->cols, rows->n_cols, column_name_at);
            st = nn_error_set(err, NN_ERR_DATA, "no column \"%s\" (the model reads it)%s%s%s",
                              in->name, best >= 0 ? "; did you mean \"" : "",
                              best >= 0 ? rows->cols[best].name : "", best >= 0 ? "\"?" : "");
        } else if (rows->cols[c].type == in->type) {
            const nn_column *col = &rows->cols[c];
            st = col->type == NN_COL_NUMBER
                     ? nn_table_add_number_copy(t, col->name, col->num, NULL, err)
                     : convert_text_copy(col, rows->n_rows, t, err);
        } else {
            st = convert(&rows->cols[c], in->type, rows->n_rows, t, err);
        }
    }
    if (st != NN_OK) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}
