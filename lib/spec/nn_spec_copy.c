/* nn_spec_copy.c — deep copies of parsed specs (nn_spec_clone), so a job's final model can own
 * its spec without parsing the canonical text again. Every owned pointer of nn_spec and nn_step
 * is duplicated; plain fields are copied by value. */
#include "nn_spec_internal.h"

#include <stdlib.h>
#include <string.h>

/* A copy of s (NULL stays NULL); sets *bad on allocation failure. */
static char *dup_or_null(const char *s, int *bad) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *bad = 1;
    return d;
}

/* A copy of names[0..n) (n may be 0: NULL); sets *bad on allocation failure. */
static char **dup_names(char *const *names, size_t n, int *bad) {
    if (!names || n == 0) return NULL;
    char **d = calloc(n, sizeof *d);
    if (!d) {
        *bad = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) d[i] = dup_or_null(names[i], bad);
    return d;
}

static void copy_step(const nn_step *from, nn_step *to, int *bad) {
    *to = *from;
    to->cols.names = dup_names(from->cols.names, from->cols.n_names, bad);
    to->cols.except = dup_names(from->cols.except, from->cols.n_except, bad);
    to->format = dup_or_null(from->format, bad);
    to->with_column = dup_or_null(from->with_column, bad);
}

nn_status nn_spec_clone(const nn_spec *spec, nn_spec **out, nn_error *err) {
    nn_spec *c = calloc(1, sizeof *c);
    if (!c) return nn_nomem(err, "out of memory copying a spec");
    *c = *spec;
    int bad = 0;
    /* every pointer below is replaced before nn_spec_destroy could see the borrowed one */
    c->name = dup_or_null(spec->name, &bad);
    c->id = dup_or_null(spec->id, &bad);
    c->positive = dup_or_null(spec->positive, &bad);
    c->cw_labels = dup_names(spec->cw_labels, spec->n_cw, &bad);
    c->cw_values = NULL;
    if (spec->n_cw > 0) {
        c->cw_values = malloc(spec->n_cw * sizeof *c->cw_values);
        if (c->cw_values)
            memcpy(c->cw_values, spec->cw_values, spec->n_cw * sizeof *c->cw_values);
        else
            bad = 1;
    }
    c->canonical = dup_or_null(spec->canonical, &bad);
    c->targets = dup_names(spec->targets, spec->n_targets, &bad);
    c->text_columns = dup_names(spec->text_columns, spec->n_text_columns, &bad);
    c->canonical_json = spec->canonical_json ? json_deep_copy(spec->canonical_json) : NULL;
    bad |= spec->canonical_json && !c->canonical_json;
    c->hidden = NULL;
    if (spec->n_hidden > 0) {
        c->hidden = malloc((size_t)spec->n_hidden * sizeof *c->hidden);
        if (c->hidden)
            memcpy(c->hidden, spec->hidden, (size_t)spec->n_hidden * sizeof *c->hidden);
        else
            bad = 1;
    }
    c->steps = spec->n_steps ? calloc(spec->n_steps, sizeof *c->steps) : NULL;
    c->n_steps = 0;
    if (spec->n_steps && !c->steps) bad = 1;
    for (size_t i = 0; c->steps && i < spec->n_steps; i++, c->n_steps++)
        copy_step(&spec->steps[i], &c->steps[i], &bad);
    if (bad) {
        nn_spec_destroy(c);
        return nn_nomem(err, "out of memory copying a spec");
    }
    *out = c;
    return NN_OK;
}
