/* nn_pipe_json.c — a fitted pipeline's state as JSON, for model files.
 *
 * Layout: {"version": 1, "targets": [..], "id": "id" | null, "features": [..],
 *          "steps": [{"op": "normalize", "columns": [{"name": "x", "type": "number",
 *                     "target": false, "offset": 3.5, "scale": 2.0}, ..]}, ..]}
 * Per op a column carries its fitted state, written and read by the op's row of the op table
 * (nn_pipe_ops.c): normalize offset/scale, impute fill, filter_outliers lo/hi, one_hot
 * categories (numbers or strings, in output column order). The steps' parameters (formats,
 * constants) are not stored: nn_pipe_from_json takes them from the same spec and checks that
 * the ops line up. Numbers are json_real; non-finite ones (an open fence) are the strings
 * "inf", "-inf", "nan". Round trips are exact only when the caller dumps with
 * JSON_REAL_PRECISION(17). The raw columns the pipe reads are derived from the steps on
 * loading (nn_pipe_schema.c), not stored here.
 */
#include "nn_pipe_internal.h"

#include <stdlib.h>
#include <string.h>

#define STATE_VERSION 1

static json_t *strings_json(char *const *s, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(s[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *step_json(const nn__step *s) {
    json_t *o = json_object(), *cols = json_array();
    int bad = !o || !cols;
    for (size_t j = 0; !bad && j < s->n_cols; j++) {
        const nn__col *c = &s->cols[j];
        json_t *co = json_object();
        bad |= !co;
        bad |= json_object_set_new(co, "name", json_string(c->name));
        bad |= json_object_set_new(co, "type",
                                   json_string(c->type == NN_COL_TEXT ? "text" : "number"));
        bad |= json_object_set_new(co, "target", json_boolean(c->is_target));
        int (*out)(json_t *, const nn__col *) = nn__op_of(s->cfg.op)->state_out;
        if (co && out) bad |= out(co, c);
        bad |= json_array_append_new(cols, co);
    }
    bad |= json_object_set_new(o, "op", json_string(nn_op_name(s->cfg.op)));
    bad |= json_object_set_new(o, "columns", cols);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *nn_pipe_to_json(const nn_pipe *p) {
    json_t *o = json_object(), *steps = json_array();
    int bad = !o || !steps;
    for (size_t i = 0; !bad && i < p->n_steps; i++)
        bad |= json_array_append_new(steps, step_json(&p->steps[i]));
    bad |= json_object_set_new(o, "version", json_integer(STATE_VERSION));
    bad |= json_object_set_new(o, "targets", strings_json(p->targets, p->n_targets));
    bad |= json_object_set_new(o, "id", p->id ? json_string(p->id) : json_null());
    bad |= json_object_set_new(o, "features", strings_json(p->features, p->n_features));
    bad |= json_object_set_new(o, "steps", steps);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static nn_status bad_state(nn_error *err, const char *what) {
    return nn_error_set(err, NN_ERR_PARSE, "pipeline state: %s", what);
}

static nn_status col_from_json(const json_t *o, nn_op_kind op, nn__col *c, nn_error *err) {
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!name || !type || !json_is_boolean(json_object_get(o, "target")))
        return bad_state(err, "a column needs name, type and target");
    if (!(c->name = strdup(name))) return nn_nomem(err, "out of memory");
    c->type = strcmp(type, "text") == 0 ? NN_COL_TEXT : NN_COL_NUMBER;
    c->is_target = json_is_true(json_object_get(o, "target"));
    c->scale = 1;
    nn_status (*in)(const json_t *, nn__col *, nn_error *) = nn__op_of(op)->state_in;
    return in ? in(o, c, err) : NN_OK;
}

static nn_status step_from_json(const json_t *o, nn__step *s, nn_error *err) {
    const char *op = json_string_value(json_object_get(o, "op"));
    const json_t *cols = json_object_get(o, "columns");
    if (!op || strcmp(op, nn_op_name(s->cfg.op)) != 0 || !json_is_array(cols))
        return bad_state(err, "steps do not match the spec");
    s->cols = calloc(json_array_size(cols) + 1, sizeof *s->cols);
    if (!s->cols) return nn_nomem(err, "out of memory");
    for (size_t j = 0; j < json_array_size(cols); j++) {
        s->n_cols = j + 1;
        nn_status st = col_from_json(json_array_get(cols, j), s->cfg.op, &s->cols[j], err);
        if (st) return st;
    }
    return NN_OK;
}

static nn_status features_from_json(const json_t *a, nn_pipe *p, nn_error *err) {
    if (!json_is_array(a) || !json_array_size(a)) return bad_state(err, "features missing");
    p->features = calloc(json_array_size(a), sizeof *p->features);
    if (!p->features) return nn_nomem(err, "out of memory");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s) return bad_state(err, "a feature name must be a string");
        if (!(p->features[i] = strdup(s))) return nn_nomem(err, "out of memory");
        p->n_features = i + 1;
    }
    return NN_OK;
}

static nn_status check_targets(const json_t *a, const nn_pipe *p, nn_error *err) {
    if (!json_is_array(a) || json_array_size(a) != p->n_targets)
        return bad_state(err, "targets do not match the spec");
    for (size_t i = 0; i < p->n_targets; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || strcmp(s, p->targets[i]) != 0)
            return bad_state(err, "targets do not match the spec");
    }
    return NN_OK;
}

nn_status nn_pipe_from_json(const nn_spec *spec, const json_t *state, nn_pipe **out,
                            nn_error *err) {
    nn_pipe *p;
    nn_status st = nn__pipe_new(spec, &p, err);
    if (st) return st;
    const json_t *steps = json_object_get(state, "steps");
    if (json_integer_value(json_object_get(state, "version")) != STATE_VERSION)
        st = bad_state(err, "unknown version");
    else if (!json_is_array(steps) || json_array_size(steps) != p->n_steps)
        st = bad_state(err, "steps do not match the spec");
    if (!st) st = check_targets(json_object_get(state, "targets"), p, err);
    if (!st) st = features_from_json(json_object_get(state, "features"), p, err);
    for (size_t i = 0; !st && i < p->n_steps; i++)
        st = step_from_json(json_array_get(steps, i), &p->steps[i], err);
    if (!st) st = nn__derive_inputs(p, err);
    if (st) {
        nn_pipe_destroy(p);
        return st;
    }
    *out = p;
    return NN_OK;
}
