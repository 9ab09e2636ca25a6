/* nn_model.c — model files and prediction (see nn_model.h DESIGN). */
#include "nn_cv_internal.h"

#include "nn_loss.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_model {
    nn_spec *spec;
    nn_pipe *pipe;
    nn_net **nets; /* (n_nets) */
    int n_nets;
    nn_labels *labels; /* classification: the classes; NULL for regression (and for a weighted
                          model, whose members hold theirs: nn_model_labels) */
    /* a weighted model: its members (owned) and weights (summing to 1); spec, pipe and nets are
       then the first member's, borrowed */
    nn_model **members;
    double *weights;
    int n_members;
};

/* Whether two models predict the same values: the same targets, and for a classification the
 * same classes in the same order. */
static int same_outputs(const nn_model *a, const nn_model *b) {
    if (nn_pipe_n_targets(a->pipe) != nn_pipe_n_targets(b->pipe)) return 0;
    const nn_labels *la = nn_model_labels(a), *lb = nn_model_labels(b);
    if (!la || !lb) return !la && !lb;
    if (la->n != lb->n || la->positive != lb->positive) return 0;
    for (size_t c = 0; c < la->n; c++)
        if (strcmp(la->names[c], lb->names[c]) != 0) return 0;
    return 1;
}

nn_status nn_model_create_weighted_take(nn_model **members, const double *weights, int n,
                                        nn_model **out, nn_error *err) {
    double total = 0;
    int ok = n > 0;
    for (int i = 0; ok && i < n; i++) {
        ok = members[i] && isfinite(weights[i]) && weights[i] >= 0 &&
             same_outputs(members[i], members[0]);
        if (ok) total += weights[i];
    }
    nn_model *m = ok && total > 0 ? calloc(1, sizeof *m) : NULL;
    double *w = m ? malloc((size_t)n * sizeof *w) : NULL;
    if (!w) {
        for (int i = 0; i < n; i++) nn_model_destroy(members[i]);
        free(members);
        free(m);
        if (!ok || !(total > 0))
            return nn_error_set(err, NN_ERR_INVALID,
                                "a weighted model needs members with the same targets (and "
                                "classes) and weights ≥ 0 summing above 0");
        return nn_nomem(err, "out of memory for a model");
    }
    for (int i = 0; i < n; i++) w[i] = weights[i] / total;
    m->members = members;
    m->weights = w;
    m->n_members = n;
    m->spec = members[0]->spec;
    m->pipe = members[0]->pipe;
    m->nets = members[0]->nets;
    m->n_nets = members[0]->n_nets;
    *out = m;
    return NN_OK;
}

int nn_model_n_members(const nn_model *m) { return m->n_members; }

nn_status nn_model_create_ensemble_take(nn_spec *spec, nn_pipe *pipe, nn_net **nets, int n,
                                        nn_model **out, nn_error *err) {
    nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        nn_spec_destroy(spec);
        nn_pipe_destroy(pipe);
        for (int i = 0; i < n; i++) nn_net_destroy(nets[i]);
        free(nets);
        return nn_nomem(err, "out of memory for a model");
    }
    m->spec = spec;
    m->pipe = pipe;
    m->nets = nets;
    m->n_nets = n;
    *out = m;
    return NN_OK;
}

nn_status nn_model_create_take(nn_spec *spec, nn_pipe *pipe, nn_net *net, nn_model **out,
                               nn_error *err) {
    nn_net **nets = malloc(sizeof(nn_net *));
    if (!nets) {
        nn_spec_destroy(spec);
        nn_pipe_destroy(pipe);
        nn_net_destroy(net);
        return nn_nomem(err, "out of memory for a model");
    }
    nets[0] = net;
    return nn_model_create_ensemble_take(spec, pipe, nets, 1, out, err);
}

void nn_model_destroy(nn_model *m) {
    if (!m) return;
    if (m->members) {
        for (int i = 0; i < m->n_members; i++) nn_model_destroy(m->members[i]);
        free(m->members);
        free(m->weights);
        free(m);
        return;
    }
    nn_spec_destroy(m->spec);
    nn_pipe_destroy(m->pipe);
    for (int i = 0; i < m->n_nets; i++) nn_net_destroy(m->nets[i]);
    free(m->nets);
    nn_labels_destroy(m->labels);
    free(m);
}

nn_status nn_model_set_labels(nn_model *m, const nn_labels *labels, nn_error *err) {
    nn_labels *copy = NULL;
    nn_status st = nn_labels_clone(labels, &copy, err);
    if (st != NN_OK) return st;
    nn_labels_destroy(m->labels);
    m->labels = copy;
    return NN_OK;
}

const nn_labels *nn_model_labels(const nn_model *m) {
    return m->members ? nn_model_labels(m->members[0]) : m->labels;
}

size_t nn_model_n_values(const nn_model *m) {
    const nn_labels *l = nn_model_labels(m);
    return l ? l->n : nn_pipe_n_targets(m->pipe);
}

const nn_spec *nn_model_spec(const nn_model *m) { return m->spec; }
const nn_pipe *nn_model_pipe(const nn_model *m) { return m->pipe; }
nn_net *nn_model_net(nn_model *m) { return m->nets[0]; }
int nn_model_n_nets(const nn_model *m) { return m->n_nets; }
nn_net *nn_model_net_i(nn_model *m, int i) { return m->nets[i]; }
nn_net *const *nn__model_nets(const nn_model *m) { return m->nets; }

nn_status nn_ensemble_predict(nn_net *const *nets, int n_nets, const nn_float *x, size_t n,
                              nn_float *y, nn_float *scratch, nn_error *err) {
    nn_status st = nn_net_predict(nets[0], x, n, y, err);
    if (st != NN_OK || n_nets == 1) return st;
    size_t len = n * (size_t)nn_net_n_outputs(nets[0]);
    for (int k = 1; k < n_nets; k++) {
        st = nn_net_predict(nets[k], x, n, scratch, err);
        if (st != NN_OK) return st;
        for (size_t i = 0; i < len; i++) y[i] += scratch[i];
    }
    for (size_t i = 0; i < len; i++) y[i] = (nn_float)(y[i] / (nn_float)n_nets);
    return NN_OK;
}

nn_status nn_ensemble_probs(nn_net *const *nets, int n_nets, const nn_labels *labels,
                            const nn_float *x, size_t n, double *prob, nn_error *err) {
    size_t k = labels->n, no = (size_t)nn_labels_n_outputs(labels);
    nn_float *z = malloc((n ? n : 1) * no * sizeof *z);
    double *p = malloc((n ? n : 1) * k * sizeof *p);
    nn_status st = z && p ? NN_OK : nn_nomem(err, "out of memory for predictions");
    for (int m = 0; st == NN_OK && m < n_nets; m++) {
        st = nn_net_predict(nets[m], x, n, z, err);
        if (st != NN_OK) break;
        nn_loss_probs(z, n, no, p);
        for (size_t i = 0; i < n; i++) { /* the network's order into class order, summed */
            const double *q = p + i * k;
            double *to = prob + i * k;
            for (size_t c = 0; c < k; c++) {
                double v = k == 2 ? q[(int)c == labels->positive ? 1 : 0] : q[c];
                to[c] = m == 0 ? v : to[c] + v;
            }
        }
    }
    for (size_t i = 0; st == NN_OK && n_nets > 1 && i < n * k; i++) prob[i] /= (double)n_nets;
    free(z);
    free(p);
    return st;
}

static json_t *string_array(size_t n, const char *(*get)(const nn_pipe *, size_t),
                            const nn_pipe *p) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(get(p, i)));
    return a;
}

/* The pipe's input schema: "inputs" [{"name", "type"}] and "dropped" [names]. */
static int schema_json(json_t *root, const nn_pipe *p) {
    json_t *inputs = json_array(), *dropped = json_array();
    int bad = !inputs || !dropped;
    for (size_t i = 0; !bad && i < nn_pipe_n_inputs(p); i++) {
        nn_col_type type;
        const char *name = nn_pipe_input(p, i, &type);
        bad |= json_array_append_new(inputs, json_pack("{s:s, s:s}", "name", name, "type",
                                                       type == NN_COL_TEXT ? "text" : "number"));
    }
    for (size_t i = 0; !bad && i < nn_pipe_n_dropped(p); i++)
        bad |= json_array_append_new(dropped, json_string(nn_pipe_dropped(p, i)));
    bad |= json_object_set_new(root, "inputs", inputs);
    bad |= json_object_set_new(root, "dropped", dropped);
    return bad;
}

/* A stored schema must be the one the pipeline reads (files before it had none: derived). */
static nn_status check_schema(const json_t *inputs, const nn_pipe *p, nn_error *err) {
    if (!inputs) return NN_OK;
    if (!json_is_array(inputs) || json_array_size(inputs) != nn_pipe_n_inputs(p))
        return nn_error_set(err, NN_ERR_PARSE, "/inputs: does not match the pipeline");
    for (size_t i = 0; i < nn_pipe_n_inputs(p); i++) {
        const json_t *o = json_array_get(inputs, i);
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *type = json_string_value(json_object_get(o, "type"));
        nn_col_type want;
        const char *have = nn_pipe_input(p, i, &want);
        if (!name || !type || strcmp(name, have) != 0 ||
            strcmp(type, want == NN_COL_TEXT ? "text" : "number") != 0)
            return nn_error_set(err, NN_ERR_PARSE, "/inputs/%zu: does not match the pipeline", i);
    }
    return NN_OK;
}

/* "task": "classification" and the classes' keys into root (nonzero when out of memory). */
static int add_labels(json_t *root, const nn_labels *l) {
    json_t *o = nn_labels_to_json(l);
    if (!o) return -1;
    int bad = json_object_set_new(root, "task", json_string("classification"));
    bad |= json_object_update(root, o);
    json_decref(o);
    return bad;
}

static json_t *model_json(const nn_model *m);

/* A weighted model: {"format": "nnd-weighted-model", "version": 1, "targets", "members":
 * [{"weight", "model"}]}, each member a model file of its own. */
static json_t *weighted_json(const nn_model *m) {
    json_t *list = json_array();
    for (int i = 0; list && i < m->n_members; i++) {
        json_t *one = model_json(m->members[i]);
        if (!one || json_array_append_new(
                        list, json_pack("{s:f, s:o}", "weight", m->weights[i], "model", one))) {
            json_decref(list);
            list = NULL;
        }
    }
    if (!list) return NULL;
    return json_pack("{s:s, s:i, s:o, s:o}", "format", "nnd-weighted-model", "version", 1,
                     "targets", string_array(nn_pipe_n_targets(m->pipe), nn_pipe_target, m->pipe),
                     "members", list);
}

char *nn_model_to_json(const nn_model *m) {
    json_t *root = model_json(m);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    return text;
}

static json_t *model_json(const nn_model *m) {
    if (m->members) return weighted_json(m);
    json_t *spec = nn_spec_to_json(m->spec);
    json_t *params = json_array();
    for (int k = 0; k < m->n_nets; k++) {
        size_t n = nn_net_param_count(m->nets[k]);
        const nn_float *p = nn_net_params_const(m->nets[k]);
        for (size_t i = 0; params && i < n; i++)
            json_array_append_new(params, json_real((double)p[i]));
    }
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "format", "nnd-model", "version", 1,
        "nn_float", NN_FLOAT_NAME, "spec", spec ? spec : json_null(), "spec_hash", m->spec->hash,
        "features", string_array(nn_pipe_n_features(m->pipe), nn_pipe_feature, m->pipe), "targets",
        string_array(nn_pipe_n_targets(m->pipe), nn_pipe_target, m->pipe), "pipeline",
        nn_pipe_to_json(m->pipe), "params", params ? params : json_null());
    if (!root || schema_json(root, m->pipe) || (m->labels && add_labels(root, m->labels))) {
        json_decref(root);
        return NULL;
    }
    return root;
}

nn_status nn_model_save(const nn_model *m, const char *path, nn_error *err) {
    char *text = nn_model_to_json(m);
    if (!text) return nn_nomem(err, "out of memory writing the model");
    FILE *f = fopen(path, "wb");
    if (!f) {
        char buf[128];
        int e = errno;
        free(text);
        return nn_error_set(err, NN_ERR_IO, "cannot write %s: %s", path,
                            strerror_r(e, buf, sizeof buf) == 0 ? buf : "error");
    }
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    ok &= fputc('\n', f) != EOF;
    ok &= fclose(f) == 0;
    free(text);
    if (!ok) return nn_error_set(err, NN_ERR_IO, "cannot write %s: write failed", path);
    return NN_OK;
}

/* Fills the networks from the "params" array, checking its length and every value. */
static nn_status load_params(const json_t *params, nn_net **nets, int n_nets, nn_error *err) {
    size_t n = nn_net_param_count(nets[0]);
    if (!json_is_array(params))
        return nn_error_set(err, NN_ERR_PARSE, "/params: must be an array of numbers");
    if (json_array_size(params) != n * (size_t)n_nets)
        return nn_error_set(err, NN_ERR_PARSE, "/params: has %zu values, the network%s need%s %zu",
                            json_array_size(params), n_nets > 1 ? "s" : "", n_nets > 1 ? "" : "s",
                            n * (size_t)n_nets);
    for (int k = 0; k < n_nets; k++) {
        nn_float *p = nn_net_params(nets[k]);
        for (size_t i = 0; i < n; i++) {
            size_t at = (size_t)k * n + i;
            const json_t *v = json_array_get(params, at);
            double d = json_number_value(v);
            if (!json_is_number(v) || !isfinite(d))
                return nn_error_set(err, NN_ERR_PARSE, "/params/%zu: not a finite number", at);
            if (!isfinite((double)(nn_float)d)) /* it would not be written back */
                return nn_error_set(err, NN_ERR_PARSE, "/params/%zu: %g is out of %s's range", at,
                                    d, NN_FLOAT_NAME);
            p[i] = (nn_float)d;
        }
    }
    return NN_OK;
}

static nn_status build(json_t *root, nn_model **out, nn_error *err);

/* A weighted model's members, each built as a model file of its own. */
static nn_status build_weighted(json_t *root, nn_model **out, nn_error *err) {
    json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return nn_error_set(err, NN_ERR_PARSE, "/version: unsupported model version");
    json_t *list = json_object_get(root, "members");
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n == 0 || n > 1024)
        return nn_error_set(err, NN_ERR_PARSE, "/members: a list of 1 to 1024 models");
    nn_model **members = calloc(n, sizeof(nn_model *));
    double *w = calloc(n, sizeof *w);
    nn_status st = members && w ? NN_OK : nn_nomem(err, "out of memory reading the model");
    for (size_t i = 0; st == NN_OK && i < n; i++) {
        json_t *one = json_object_get(json_array_get(list, i), "model");
        const char *format = json_string_value(json_object_get(one, "format"));
        w[i] = json_number_value(json_object_get(json_array_get(list, i), "weight"));
        if (!json_is_object(one) || !format || strcmp(format, "nnd-model") != 0)
            st = nn_error_set(err, NN_ERR_PARSE, "/members/%zu/model: not an nnd model", i);
        else if ((st = build(one, &members[i], err)) != NN_OK)
            (void)nn_error_prefix(err, "/members/%zu/model", i);
    }
    if (st != NN_OK) {
        for (size_t i = 0; members && i < n; i++) nn_model_destroy(members[i]);
        free(members);
        free(w);
        return st;
    }
    st = nn_model_create_weighted_take(members, w, (int)n, out, err);
    free(w);
    return st;
}

static nn_status build(json_t *root, nn_model **out, nn_error *err) {
    const char *format = json_string_value(json_object_get(root, "format"));
    if (format && strcmp(format, "nnd-weighted-model") == 0) return build_weighted(root, out, err);
    if (!format || strcmp(format, "nnd-model") != 0)
        return nn_error_set(err, NN_ERR_PARSE, "/format: not an nnd model file");
    json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return nn_error_set(err, NN_ERR_PARSE, "/version: unsupported model version");
    json_t *spec_json = json_object_get(root, "spec");
    if (!json_is_object(spec_json)) return nn_error_set(err, NN_ERR_PARSE, "/spec: missing");
    nn_spec *spec = NULL;
    nn_spec_errors errs;
    nn_status st = nn_spec_from_json(spec_json, &spec, &errs);
    if (st != NN_OK) {
        nn_spec_errors_to_error(&errs, err);
        return nn_error_prefix(err, "/spec: ");
    }
    nn_pipe *pipe = NULL;
    st = nn_pipe_from_json(spec, json_object_get(root, "pipeline"), &pipe, err);
    if (st != NN_OK) {
        nn_spec_destroy(spec);
        return nn_error_prefix(err, "/pipeline: ");
    }
    st = check_schema(json_object_get(root, "inputs"), pipe, err);
    if (st != NN_OK) {
        nn_spec_destroy(spec);
        nn_pipe_destroy(pipe);
        return st;
    }
    nn_labels *labels = NULL;
    const char *task = json_string_value(json_object_get(root, "task"));
    if (task && strcmp(task, "classification") == 0)
        st = nn_labels_from_json(root, &labels, err);
    else if (task && strcmp(task, "regression") != 0)
        st = nn_error_set(err, NN_ERR_PARSE, "/task: unknown task");
    if (st != NN_OK) {
        nn_spec_destroy(spec);
        nn_pipe_destroy(pipe);
        return st;
    }
    int n_nets = spec->ensemble > 0 ? spec->ensemble : 1;
    int n_out = labels ? nn_labels_n_outputs(labels) : (int)spec->n_targets;
    nn_layer_cfg *layers = calloc((size_t)spec->n_hidden + 1, sizeof *layers);
    nn_net **nets = calloc((size_t)n_nets, sizeof(nn_net *));
    if (!layers || !nets) st = nn_nomem(err, "out of memory reading the model");
    for (int k = 0; st == NN_OK && k < n_nets; k++) {
        nn_net_cfg cfg;
        nn_spec_net_cfg(spec, (int)nn_pipe_n_features(pipe), n_out, layers, &cfg);
        st = nn_net_create(&cfg, &nets[k], err);
    }
    free(layers);
    if (st == NN_OK) st = load_params(json_object_get(root, "params"), nets, n_nets, err);
    if (st != NN_OK) {
        nn_spec_destroy(spec);
        nn_pipe_destroy(pipe);
        for (int k = 0; nets && k < n_nets; k++) nn_net_destroy(nets[k]);
        free(nets);
        nn_labels_destroy(labels);
        return st;
    }
    st = nn_model_create_ensemble_take(spec, pipe, nets, n_nets, out, err);
    if (st == NN_OK)
        (*out)->labels = labels;
    else
        nn_labels_destroy(labels);
    return st;
}

nn_status nn_model_from_json(const char *text, size_t len, nn_model **out, nn_error *err) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return nn_error_set(err, NN_ERR_PARSE, "invalid JSON at line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    nn_status st = json_is_object(root) ? build(root, out, err)
                                        : nn_error_set(err, NN_ERR_PARSE, "not an nnd model file");
    json_decref(root);
    return st;
}

nn_status nn_model_load(const char *path, nn_model **out, nn_error *err) {
    char buf[128];
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", path,
                            strerror_r(errno, buf, sizeof buf) == 0 ? buf : "error");
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    nn_status st = NN_OK;
    while (text) {
        if (len == cap) {
            if (cap >= NN_MODEL_MAX_BYTES) {
                st = nn_error_set(err, NN_ERR_LIMIT, "%s: larger than %zu bytes", path,
                                  NN_MODEL_MAX_BYTES);
                break;
            }
            char *t = realloc(text, cap * 2);
            if (!t) break;
            text = t;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (st == NN_OK && (!text || ferror(f)))
        st = text ? nn_error_set(err, NN_ERR_IO, "cannot read %s", path)
                  : nn_nomem(err, "out of memory reading a model");
    (void)fclose(f);
    if (st == NN_OK) {
        st = nn_model_from_json(text, len, out, err);
        if (st != NN_OK) nn_error_prefix(err, "%s: ", path);
    }
    free(text);
    return st;
}

/* Model-space predictions of n rows already in matrix x, reverted into out (n × nt). */
static nn_status predict_matrix(const nn_pipe *pipe, nn_net *const *nets, int n_nets,
                                const nn_float *x, size_t n, double *out, nn_error *err) {
    size_t nt = nn_pipe_n_targets(pipe);
    nn_float *y = malloc((n ? n : 1) * nt * sizeof *y);
    nn_float *scratch = malloc((n ? n : 1) * nt * sizeof *scratch);
    double *col = malloc((n ? n : 1) * sizeof *col);
    nn_status st = y && scratch && col ? nn_ensemble_predict(nets, n_nets, x, n, y, scratch, err)
                                       : nn_nomem(err, "out of memory for predictions");
    for (size_t k = 0; st == NN_OK && k < nt; k++) {
        for (size_t i = 0; i < n; i++) col[i] = (double)y[i * nt + k];
        nn_pipe_revert(pipe, k, col, n);
        for (size_t i = 0; i < n; i++) out[i * nt + k] = col[i];
    }
    free(y);
    free(scratch);
    free(col);
    return st;
}

nn_status nn__predict_rows(const nn_pipe *pipe, nn_net *const *nets, int n_nets,
                           const nn_row_set *rows, int tolerant, double *out, nn_error *err) {
    size_t n = rows->idx ? rows->n : rows->data->n_rows, nt = nn_pipe_n_targets(pipe);
    nn_float *x = NULL;
    nn_status st = nn_pipe_rows_matrices(pipe, rows, &x, NULL, err);
    if (st == NN_OK) st = predict_matrix(pipe, nets, n_nets, x, n, out, err);
    free(x);
    if (st == NN_OK || !tolerant || st == NN_ERR_NOMEM) return st;
    /* some row cannot be transformed: one row at a time, NaN for those that fail */
    nn_error row_err;
    for (size_t i = 0; i < n; i++) {
        size_t at = rows->idx ? rows->idx[i] : i;
        nn_row_set one = {rows->data, &at, 1};
        x = NULL;
        st = nn_pipe_rows_matrices(pipe, &one, &x, NULL, &row_err);
        if (st == NN_OK) st = predict_matrix(pipe, nets, n_nets, x, 1, out + i * nt, &row_err);
        free(x);
        if (st == NN_ERR_NOMEM) return nn_error_set(err, st, "%s", row_err.msg);
        for (size_t k = 0; st != NN_OK && k < nt; k++) out[i * nt + k] = NAN;
    }
    nn_error_clear(err);
    return NN_OK;
}

nn_status nn__predict_probs(const nn_pipe *pipe, nn_net *const *nets, int n_nets,
                            const nn_labels *labels, const nn_row_set *rows, int tolerant,
                            double *out, nn_error *err) {
    size_t n = rows->idx ? rows->n : rows->data->n_rows, k = labels->n;
    nn_float *x = NULL;
    nn_status st = nn_pipe_rows_matrices(pipe, rows, &x, NULL, err);
    if (st == NN_OK) st = nn_ensemble_probs(nets, n_nets, labels, x, n, out, err);
    free(x);
    if (st == NN_OK || !tolerant || st == NN_ERR_NOMEM) return st;
    nn_error row_err; /* some row cannot be transformed: one at a time, NaN for those */
    for (size_t i = 0; i < n; i++) {
        size_t at = rows->idx ? rows->idx[i] : i;
        nn_row_set one = {rows->data, &at, 1};
        x = NULL;
        st = nn_pipe_rows_matrices(pipe, &one, &x, NULL, &row_err);
        if (st == NN_OK) st = nn_ensemble_probs(nets, n_nets, labels, x, 1, out + i * k, &row_err);
        free(x);
        if (st == NN_ERR_NOMEM) return nn_error_set(err, st, "%s", row_err.msg);
        for (size_t c = 0; st != NN_OK && c < k; c++) out[i * k + c] = NAN;
    }
    nn_error_clear(err);
    return NN_OK;
}

/* Each member's predictions weighted. */
static nn_status predict_weighted(nn_model *m, const nn_table *rows, double **out, nn_error *err) {
    size_t len = rows->n_rows * nn_model_n_values(m);
    double *acc = calloc(len ? len : 1, sizeof *acc);
    if (!acc) return nn_nomem(err, "out of memory for predictions");
    for (int i = 0; i < m->n_members; i++) {
        double *p = NULL;
        nn_status st = nn_model_predict(m->members[i], rows, &p, err);
        if (st != NN_OK) {
            free(acc);
            return st;
        }
        for (size_t k = 0; k < len; k++) acc[k] += m->weights[i] * p[k];
        free(p);
    }
    *out = acc;
    return NN_OK;
}

nn_status nn_model_predict(nn_model *m, const nn_table *rows, double **out, nn_error *err) {
    if (m->members) {
        *out = NULL;
        return predict_weighted(m, rows, out, err);
    }
    size_t n = rows->n_rows, nt = nn_model_n_values(m);
    nn_table *t = NULL;
    *out = NULL;
    nn_status st = nn_pipe_conform(m->pipe, rows, &t, err);
    double *pred = st == NN_OK ? calloc((n ? n : 1) * nt + 1, sizeof *pred) : NULL;
    if (st == NN_OK && !pred) st = nn_nomem(err, "out of memory for predictions");
    nn_row_set all = {t, NULL, 0};
    if (st == NN_OK && m->labels)
        st = nn__predict_probs(m->pipe, m->nets, m->n_nets, m->labels, &all, 0, pred, err);
    else if (st == NN_OK)
        st = nn__predict_rows(m->pipe, m->nets, m->n_nets, &all, 0, pred, err);
    nn_table_destroy(t);
    if (st != NN_OK) {
        free(pred);
        return st;
    }
    *out = pred;
    return NN_OK;
}

nn_status nn_model_read_csv(const nn_model *m, const nn_csv_source *src, nn_table **out,
                            nn_error *err) {
    size_t n = nn_pipe_n_inputs(m->pipe), k = 0, extra = 0;
    while (src->text && src->text[extra]) extra++;
    const char **text = calloc(n + extra + 1, sizeof *text);
    if (!text) return nn_nomem(err, "out of memory reading rows");
    for (size_t i = 0; i < n; i++) {
        nn_col_type type;
        const char *name = nn_pipe_input(m->pipe, i, &type);
        if (type == NN_COL_TEXT) text[k++] = name;
    }
    for (size_t i = 0; i < extra; i++) text[k++] = src->text[i];
    nn_csv_source with = *src;
    with.text = text;
    nn_status st = nn_spec_read_csv(m->spec, &with, out, err);
    free(text);
    return st;
}

void nn_model_check_labels(const nn_model *m, const nn_table *rows, const double *prob,
                           nn_label_check *out) {
    memset(out, 0, sizeof *out);
    const nn_labels *l = nn_model_labels(m);
    int col = l ? nn_table_find(rows, m->spec->targets[0]) : -1;
    if (col < 0) return;
    out->has_target = 1;
    const nn_column *c = &rows->cols[col];
    for (size_t i = 0; i < rows->n_rows; i++) {
        int cls = nn_labels_class(l, c, i);
        if (cls >= 0) {
            out->known++;
            out->correct += nn_class_predict(prob + i * l->n, (int)l->n, l->positive, 0.5) == cls;
        } else if (cls == -2 && out->unseen++ == 0) {
            out->first_unseen = i;
            if (c->type == NN_COL_TEXT)
                (void)snprintf(out->first_label, sizeof out->first_label, "%s", c->text[i]);
            else
                (void)snprintf(out->first_label, sizeof out->first_label, "%.17g", c->num[i]);
        }
    }
}
