/* nn_pipe_internal.h — the fitted pipeline's layout, shared by nn_pipe.c (planning, fitting,
 * transforming), nn_pipe_steps.c (each op's fit and apply) and nn_pipe_json.c (model files). */
#ifndef NN_PIPE_INTERNAL_H
#define NN_PIPE_INTERNAL_H

#include "nn_pipe.h"

/* One one_hot category: a number (text == NULL) or a text value. */
typedef struct nn__cat {
    double num;
    char *text; /* owned, or NULL for number categories */
} nn__cat;

/* One column a step resolved to at fit time, with that column's fitted state. */
typedef struct nn__col {
    char *name; /* owned */
    int is_target;
    nn_col_type type;     /* the column's type when the step was fitted */
    double offset, scale; /* normalize: y = (x − offset) / scale */
    double fill;          /* impute: the value that replaces NaN */
    double lo, hi;        /* filter_outliers: Tukey fences */
    nn__cat *cats;        /* (n_cats) one_hot categories, in output column order; owned */
    size_t n_cats;
} nn__col;

/* One step: the spec's parameters (copied, so the pipe does not borrow the spec) and the
 * columns it resolved to. */
typedef struct nn__step {
    nn_step cfg;   /* cfg.cols unused (empty); cfg.format and cfg.with_column owned */
    nn__col *cols; /* (n_cols) owned */
    size_t n_cols;
} nn__step;

struct nn_pipe {
    nn__step *steps; /* (n_steps) */
    size_t n_steps;
    char **targets; /* (n_targets) owned */
    size_t n_targets;
    char *id;        /* owned, may be NULL */
    char **features; /* (n_features) owned: inputs after the steps, in table order */
    size_t n_features;
};

/* One pass of the steps over a working table: fitting (resolve selectors, fit, apply, filter
 * rows) or applying a fitted pipe. In plan mode (errs != NULL) problems are recorded and the
 * pass goes on; otherwise the first problem stops it. */
typedef struct nn__run {
    nn_pipe *p;
    const nn_spec *spec; /* fitting: the selectors to resolve; borrowed */
    int fitting;
    nn_spec_errors *errs; /* plan mode when not NULL */
    nn_error *err;
    size_t *rows; /* (n_rows of the working table) row in the caller's table, 0-based */
    size_t step;  /* index of the step running, for pointers */
} nn__run;

/* Records a problem. In plan mode adds it to errs (at pointer; data problems use
 * "/preprocess/<step>") and returns NN_OK so the caller skips the item and goes on — except for
 * NN_ERR_NOMEM, always returned. Otherwise sets err to "pointer: message" (spec problems) or
 * the message alone (pointer NULL: data problems) and returns code. */
nn_status nn__problem(nn__run *r, nn_status code, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A pipe for spec with its steps' parameters copied and nothing fitted yet; *out owned. */
nn_status nn__pipe_new(const nn_spec *spec, nn_pipe **out, nn_error *err);

/* Fits step s on t (fitting runs only; s->cols already resolved). */
nn_status nn__step_fit(nn__run *r, nn__step *s, const nn_table *t);
/* Applies step s's fitted state to t in place (columns added/removed, values changed). */
nn_status nn__step_apply(nn__run *r, const nn__step *s, nn_table *t);
/* filter_outliers at fit: removes from *t the rows outside s's fences, updating r->rows. */
nn_status nn__step_filter(nn__run *r, const nn__step *s, nn_table **t);

/* The name of one_hot category c of column col into buf ("<col>=<value>"); numbers use the
 * shortest %.17g-style form that reads back exactly. Returns -1 if it does not fit. */
int nn__cat_name(const char *col, const nn__cat *c, char *buf, size_t size);

/* The shortest decimal form of v that reads back exactly (at most 17 significant digits). */
void nn__fmt_num(double v, char *buf, size_t size);

/* 1-based row number, in the caller's table, of working row i. */
static inline size_t nn__row(const nn__run *r, size_t i) { return (r->rows ? r->rows[i] : i) + 1; }

void nn__col_free(nn__col *c);

#endif
