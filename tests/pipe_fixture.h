/* pipe_fixture.h — helpers shared by the preprocessing tests (test_pipe.c, test_pipe_bins.c):
 * specs built by hand (no parser), tables from CSV text, fitting, the first plan problem and a
 * fitted pipe's state as text. */
#ifndef PIPE_FIXTURE_H
#define PIPE_FIXTURE_H

#include "check.h"
#include "nn_csv.h"
#include "nn_pipe.h"

#include <stdlib.h>

#define NAMES(...) (char *[]){__VA_ARGS__}, sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)

typedef struct tspec {
    nn_spec s;
    nn_step steps[16];
    char *targets[4];
    nn_layer_cfg hidden[8];
} tspec;

/* A spec with one target (or none if NULL), an optional id and no steps. */
static inline void tspec_init(tspec *t, const char *target, const char *id) {
    memset(t, 0, sizeof *t);
    t->s.steps = t->steps;
    t->s.targets = t->targets;
    if (target) t->targets[t->s.n_targets++] = (char *)target;
    t->s.id = (char *)id;
    t->s.output.units = 1;
}

static inline nn_step *add_step(tspec *t, nn_op_kind op, nn_sel_kind kind, char **names, size_t n) {
    nn_step *s = &t->steps[t->s.n_steps++];
    memset(s, 0, sizeof *s);
    s->op = op;
    s->cols.kind = kind;
    s->cols.names = names;
    s->cols.n_names = n;
    s->extract = NN_DATE_TIMESTAMP;
    s->k = 1.5;
    s->max_categories = 100;
    s->bins = 16;
    return s;
}

static inline nn_step *add_list(tspec *t, nn_op_kind op, char **names, size_t n) {
    return add_step(t, op, NN_SEL_LIST, names, n);
}

static inline nn_table *csv(const char *text) {
    nn_table *t = NULL;
    nn_error err;
    if (nn_csv_read_mem(text, strlen(text), NULL, &t, &err) != NN_OK) {
        fprintf(stderr, "csv: %s\n", err.msg);
        abort();
    }
    return t;
}

static inline const double *col(const nn_table *t, const char *name) {
    int c = nn_table_find(t, name);
    return c >= 0 && t->cols[c].type == NN_COL_NUMBER ? t->cols[c].num : NULL;
}

/* Fits spec on train; returns the pipe (NULL on failure, message in err) and *out. */
static inline nn_pipe *fit(const tspec *t, const nn_table *train, nn_table **out, nn_error *err) {
    nn_pipe *p = NULL;
    size_t *kept = NULL;
    if (nn_pipe_fit(&t->s, train, &p, out, &kept, err) != NN_OK) return NULL;
    free(kept);
    return p;
}

/* The first plan problem as "pointer: message", or "" when the plan succeeds. */
static inline void plan_error(const tspec *t, const nn_table *data, char *buf, size_t size,
                              size_t *n_errors) {
    nn_spec_errors errs = {0};
    nn_plan *plan = NULL;
    buf[0] = '\0';
    if (nn_pipe_plan(&t->s, data, &plan, &errs) != NN_OK && errs.n)
        snprintf(buf, size, "%s: %s", errs.items[0].pointer, errs.items[0].message);
    if (n_errors) *n_errors = errs.n;
    nn_plan_destroy(plan);
}

static inline char *state_text(const nn_pipe *p) {
    json_t *j = nn_pipe_to_json(p);
    char *s = json_dumps(j, JSON_REAL_PRECISION(17) | JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return s;
}

#endif
