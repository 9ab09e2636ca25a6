/* nn_pipe_internal.h — the fitted pipeline's layout and the op table, shared by the files of
 * lib/prep:
 *
 *   nn_pipe.c          the driver: fitting (passes over row blocks), transforming, matrices,
 *                      reverting — it reaches ops only through nn__op_of()
 *   nn_pipe_select.c   a step's column selector resolved against the columns present
 *   nn_pipe_plan.c     the plan: a fitting run that records problems, checks values and jobs
 *   nn_pipe_ops.c      the op table: one row per op (types taken, targets, fit, width, apply,
 *                      revert, fitted state as JSON) and the ops' code
 *   nn_pipe_problem.c  reporting problems, number and category names (used by all of them)
 *   nn_pipe_json.c     the fitted state as JSON
 *   nn_pipe_schema.c   the raw columns a fitted pipe reads, and new rows made to fit them
 *
 * Ops never call the driver; the driver never names an op's internals. */
#ifndef NN_PIPE_INTERNAL_H
#define NN_PIPE_INTERNAL_H

#include "nn_pipe.h"

/* Cells (rows × columns) of one block of rows the driver transforms at a time: the working
 * memory of fitting and transforming, whatever the number of rows. */
#define NN__BLOCK_CELLS ((size_t)1 << 18)
/* Cells of training values gathered at once to fit one step (its columns in groups). */
#define NN__GATHER_CELLS ((size_t)1 << 22)

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
    double *edges; /* (n_edges) bins: increasing quantile edges, n_edges − 1 bins; owned */
    size_t n_edges;
} nn__col;

/* One step: the spec's parameters (copied, so the pipe does not borrow the spec) and the
 * columns it resolved to. */
typedef struct nn__step {
    nn_step cfg;   /* cfg.cols unused (empty); cfg.format and cfg.with_column owned */
    nn__col *cols; /* (n_cols) owned */
    size_t n_cols;
} nn__step;

/* A raw column a fitted pipe reads (nn_pipe_schema.c). */
typedef struct nn__input {
    char *name; /* owned */
    nn_col_type type;
} nn__input;

struct nn_pipe {
    nn__step *steps; /* (n_steps) */
    size_t n_steps;
    char **targets; /* (n_targets) owned */
    size_t n_targets;
    char *id;        /* owned, may be NULL */
    int classify;    /* fitting: the target is a classification's (its labels are left alone) */
    char **features; /* (n_features) owned: inputs after the steps, in table order */
    size_t n_features;
    nn__input *inputs; /* (n_inputs) raw columns read, derived from the steps; owned */
    size_t n_inputs;
    char **dropped; /* (n_dropped) raw columns dropped unread; owned */
    size_t n_dropped;
};

/* Data problems already reported in plan mode, one per step and column. */
#define NN__MAX_SEEN 64

/* One pass of the steps over working tables: fitting (resolve selectors, fit, apply, filter
 * rows) or applying a fitted pipe. In plan mode (errs != NULL) problems are recorded and the
 * pass goes on; otherwise the first problem stops it. */
typedef struct nn__run {
    nn_pipe *p;
    const nn_spec *spec;  /* fitting: the selectors to resolve; borrowed */
    nn_spec_errors *errs; /* plan mode when not NULL */
    nn_error *err;
    const size_t *rows; /* (n_rows of the working table) row in the caller's table, 0-based;
                           NULL = the same row */
    size_t step;        /* index of the step running, for pointers */
    int quiet;          /* plan mode: data problems are not recorded (a later pass repeats) */
    size_t n_seen;
    size_t seen_step[NN__MAX_SEEN];
    const char *seen_col[NN__MAX_SEEN]; /* borrowed from the pipe's columns */
} nn__run;

/* ---- the op table (nn_pipe_ops.c) ---- */

enum { NN__TAKES_NUMBER = 1u << NN_COL_NUMBER, NN__TAKES_TEXT = 1u << NN_COL_TEXT };

typedef struct nn__op {
    unsigned takes;         /* NN__TAKES_* : column types the op works on */
    int on_targets;         /* 1: may name a target (reverted on predictions, or rows only) */
    const char *not_target; /* why it may not, after "\"x\" is a target; " (NULL: "<op> cannot be
                               reverted on predictions") */
    /* Fits column c from its training values (col: n values after the steps before); NULL for
       stateless ops. */
    nn_status (*fit)(nn__run *r, const nn_step *cfg, nn__col *c, const nn_column *col, size_t n);
    /* 1 to keep a training row whose value of c is v (row filters); NULL keeps every row. */
    int (*keeps)(const nn__col *c, double v);
    /* Columns the fitted step adds to a table (negative: removes). */
    long (*width)(const nn__step *s);
    /* Applies the fitted step to t in place (columns added/removed, values changed). */
    nn_status (*apply)(nn__run *r, const nn__step *s, nn_table *t);
    /* Maps a model-space value of a target column back (NULL: nothing to undo). */
    double (*revert)(const nn__col *c, double v);
    /* The column's fitted state into JSON object o (nonzero when out of memory), and back. */
    int (*state_out)(json_t *o, const nn__col *c);
    nn_status (*state_in)(const json_t *o, nn__col *c, nn_error *err);
    /* Instead of fit, for statistics that running sums give (no gathered values, whatever the
       number of columns): `passes` passes over the training values in row order, block by
       block, each column with NN__ACC zeroed doubles of its own; pass_end after each pass. */
    int (*passes)(const nn_step *cfg);
    void (*accumulate)(const nn_step *cfg, double *acc, const double *v, size_t n, int pass);
    void (*pass_end)(const nn_step *cfg, nn__col *c, double *acc, int pass);
} nn__op;

#define NN__ACC 8 /* doubles of running sums per column (accumulate) */

const nn__op *nn__op_of(nn_op_kind op);

/* ---- shared helpers (nn_pipe_problem.c) ---- */

/* Records a problem. In plan mode adds it to errs (at pointer; NULL means "/preprocess/<step>")
 * and returns NN_OK so the caller skips the item and goes on — except for NN_ERR_NOMEM, always
 * returned. Otherwise sets err to "pointer: message" (or the message alone for pointer NULL)
 * and returns code. */
nn_status nn__problem(nn__run *r, nn_status code, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A problem in the values of column col (a date that does not parse, a log of a negative …):
 * as nn__problem at "/preprocess/<step>", but in plan mode recorded once per step and column,
 * and not at all in a quiet pass. */
nn_status nn__data_problem(nn__run *r, nn_status code, const char *col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "no column \"name\"" with a did-you-mean from t's columns, at pointer. */
nn_status nn__no_column(nn__run *r, const nn_table *t, const char *pointer, const char *name);

/* 1-based row number, in the caller's table, of working row i. */
static inline size_t nn__row(const nn__run *r, size_t i) { return (r->rows ? r->rows[i] : i) + 1; }

/* The name of one_hot category c of column col into buf ("<col>=<value>"); numbers use the
 * shortest %.17g-style form that reads back exactly. Returns -1 if it does not fit. */
int nn__cat_name(const char *col, const nn__cat *c, char *buf, size_t size);
/* The shortest decimal form of v that reads back exactly (at most 17 significant digits). */
void nn__fmt_num(double v, char *buf, size_t size);

/* ---- the driver's pieces (nn_pipe.c, nn_pipe_select.c) ---- */

/* A pipe for spec with its steps' parameters copied and nothing fitted yet; *out owned. */
nn_status nn__pipe_new(const nn_spec *spec, nn_pipe **out, nn_error *err);
void nn__col_free(nn__col *c);

int nn__is_target(const nn_pipe *p, const char *name);
int nn__is_id(const nn_pipe *p, const char *name);
/* Resolves step r->step's selector against the columns of t into s->cols. */
nn_status nn__resolve(nn__run *r, const nn_table *t, nn__step *s);
/* Checks that the targets, the id column and the text columns exist and targets are numbers. */
nn_status nn__check_columns(nn__run *r, const nn_table *t);
/* After the steps (t: the columns left): no text column but the id may remain; records the
 * features into r->p. */
nn_status nn__finish(nn__run *r, const nn_table *t);

/* Fits every step of r->p on the rows train[0..n) of data (plan mode when r->errs): *kept
 * (malloc'd) the rows left by row filters, *schema (owned) the columns after the steps (0 rows). */
nn_status nn__fit(nn__run *r, const nn_table *data, const size_t *train, size_t n, size_t **kept,
                  size_t *n_kept, nn_table **schema);
/* Rows rows[0..n) of data with the fitted steps [0, upto) applied: *out owned. With check set
 * (plan mode), a step that gives an infinite value stops with a problem naming it. */
nn_status nn__apply_rows(nn__run *r, const nn_table *data, const size_t *rows, size_t n,
                         size_t upto, int check, nn_table **out);
/* Rows of a block for tables up to width columns wide. */
size_t nn__block_rows(size_t width);

/* Derives p->inputs and p->dropped from the fitted steps and features (nn_pipe_schema.c). */
nn_status nn__derive_inputs(nn_pipe *p, nn_error *err);

#endif
