/* nn_spec.c — parsing job specs (the contract is nn_spec.h): the document as a whole, its
 * top-level keys and the "network" section; training and preprocess live in nn_spec_train.c and
 * nn_spec_steps.c, the getters in nn_spec_util.c.
 *
 * DESIGN: one pass over the Jansson tree fills the nn_spec and, alongside, a canonical JSON tree
 * with every default written out. Problems are recorded and parsing continues, so one call
 * reports all of them; the spec is handed out only when there were none. Hidden layers are read
 * twice: first only "units" and "repeat", to bound the layer and parameter counts from the
 * numbers alone; the expanded layer array is allocated only once those bounds hold.
 */
#include "nn_sha256.h"
#include "nn_spec_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof(a)[0])
#define MAX_TARGETS 64
#define MAX_TEXT_COLUMNS ((size_t)1 << 16)
#define MAX_SEED ((long long)1 << 53)

#define NN__TEXT(name, text) text,
static const char *const act_names[] = {NN_ACT_TABLE(NN__TEXT)};
static const char *const init_names[] = {NN_INIT_TABLE(NN__TEXT)};
#undef NN__TEXT

static const nn__key top_keys[] = {
    {"name", 0},     {"seed", 0},         {"target", 0},     {"id", 0},      {"task", 0},
    {"positive", 0}, {"text_columns", 0}, {"preprocess", 0}, {"network", 0}, {"training", 0},
};
static const char *const task_names[] = {NN_TASK_TABLE(NN_ENUM_TEXT)};
static const nn__key network_keys[] = {
    {"hidden", 0}, {"output", 0}, {"init", 0}, {"dropout", 0}, {"l2", 0}};
static const nn__key layer_keys[] = {{"units", 0},   {"activation", 0}, {"repeat", 0},
                                     {"dropout", 0}, {"l2", 0},         {"init", 0}};
static const nn__key output_keys[] = {{"activation", 0}, {"l2", 0}, {"init", 0}};
static const nn__key init_keys[] = {{"weights", 0}, {"biases", 0}};

static const nn__range UNIT_HALF_OPEN = {0, 1, 0, 1};
static const nn__range L2_RANGE = {0, NN_SPEC_MAX_L2, 0, 1}; /* what nn_net_create accepts */

/* Containers nested deeper than NN_SPEC_MAX_DEPTH; the root is depth 1. */
static int check_depth(nn__ctx *c, const json_t *v, const char *ptr, int depth) {
    if (!json_is_object(v) && !json_is_array(v)) return 1;
    if (depth > NN_SPEC_MAX_DEPTH) {
        nn_spec_errors_add(c->errs, ptr, "nested deeper than %d levels", NN_SPEC_MAX_DEPTH);
        return 0;
    }
    char p[NN__PTR];
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            nn__ptr_index(p, ptr, i);
            if (!check_depth(c, json_array_get(v, i), p, depth + 1)) return 0;
        }
        return 1;
    }
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        nn__ptr_key(p, ptr, key);
        if (!check_depth(c, child, p, depth + 1)) return 0;
    }
    return 1;
}

/* Network-wide defaults for every layer. */
typedef struct net_defaults {
    double dropout, l2;
    int weights, biases; /* nn_init */
} net_defaults;

/* "init": {"weights", "biases"} of obj, falling back to def_w/def_b; returns the canonical. */
static json_t *parse_init(nn__ctx *c, const json_t *obj, const char *ptr, int def_w, int def_b,
                          nn_layer_cfg *l) {
    char p[NN__PTR];
    nn__ptr_key(p, ptr, "init");
    const json_t *v = nn__get_obj(c, obj, ptr, "init", NN__OPTIONAL);
    nn__check_keys(c, v, p, init_keys, N_OF(init_keys), NULL);
    int w, b;
    nn__get_name(c, v, p, "weights", "initializer", init_names, NN_INIT_COUNT, def_w, NN__OPTIONAL,
                 &w);
    nn__get_name(c, v, p, "biases", "initializer", init_names, NN_INIT_COUNT, def_b, NN__OPTIONAL,
                 &b);
    w = w < 0 ? def_w : w;
    b = b < 0 ? def_b : b;
    l->weight_init = (nn_init)w;
    l->bias_init = (nn_init)b;
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "weights", json_string(init_names[w]));
    nn__cset(c, canon, "biases", json_string(init_names[b]));
    return canon;
}

/* Pass one over "hidden": checks units and repeat and bounds the layer and parameter counts
 * (1 input, n_targets outputs: a lower bound for any data). Returns the number of expanded
 * hidden layers, or -1 when they must not be allocated. */
static int count_layers(nn__ctx *c, const json_t *hidden, size_t n_targets) {
    const char *ptr = "/network/hidden";
    uint64_t layers = 0, params = 0, in = 1;
    int ok = 1;
    for (size_t i = 0; i < json_array_size(hidden); i++) {
        char p[NN__PTR];
        nn__ptr_index(p, ptr, i);
        const json_t *e = json_array_get(hidden, i);
        if (!json_is_object(e)) {
            nn_spec_errors_add(c->errs, p, "must be an object");
            ok = 0;
            continue;
        }
        long long units, repeat;
        ok &= nn__get_int(c, e, p, "units", 1, NN_MAX_UNITS, 1, NN__REQUIRED, &units);
        int rep_ok = nn__get_int(c, e, p, "repeat", 1, NN_MAX_LAYERS, 1, NN__OPTIONAL, &repeat);
        ok &= rep_ok || !json_object_get(e, "repeat");
        layers += (uint64_t)repeat;
        if (!ok || layers > NN_MAX_LAYERS - 1) continue;
        uint64_t u = (uint64_t)units; /* ≤ 2^16 and ≤ 255 layers: no overflow in uint64 */
        params += in * u + u + (uint64_t)(repeat - 1) * (u * u + u);
        in = u;
    }
    if (layers > NN_MAX_LAYERS - 1) {
        nn_spec_errors_add(c->errs, ptr, "%llu hidden layers after repeat, over the limit of %d",
                           (unsigned long long)layers, NN_MAX_LAYERS - 1);
        return -1;
    }
    if (!ok) return -1;
    params += in * n_targets + n_targets;
    if (params > NN_SPEC_MAX_PARAMS) {
        nn_spec_errors_add(c->errs, ptr,
                           "the network has at least %llu parameters, over the limit of %d",
                           (unsigned long long)params, NN_SPEC_MAX_PARAMS);
        return -1;
    }
    return (int)layers;
}

/* An integer already validated (or reported) by count_layers. */
static long long checked_int(const json_t *obj, const char *key, long long def) {
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

/* Pass two over one hidden entry (an object): every other key; returns its canonical form. */
static json_t *parse_layer(nn__ctx *c, const json_t *e, const char *ptr, const net_defaults *d,
                           nn_layer_cfg *l) {
    nn__check_keys(c, e, ptr, layer_keys, N_OF(layer_keys), NULL);
    int act;
    nn__get_name(c, e, ptr, "activation", "activation", act_names, NN_ACT_COUNT, NN_ACT_RELU,
                 NN__OPTIONAL, &act);
    l->units = (int)checked_int(e, "units", 1);
    l->act = act < 0 ? NN_ACT_RELU : (nn_act)act;
    nn__get_real(c, e, ptr, "dropout", UNIT_HALF_OPEN, d->dropout, NN__OPTIONAL, &l->dropout);
    nn__get_real(c, e, ptr, "l2", L2_RANGE, d->l2, NN__OPTIONAL, &l->l2);
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "init", parse_init(c, e, ptr, d->weights, d->biases, l));
    nn__cset(c, canon, "units", json_integer(l->units));
    nn__cset(c, canon, "repeat", json_integer(checked_int(e, "repeat", 1)));
    nn__cset(c, canon, "activation", json_string(act_names[l->act]));
    nn__cset(c, canon, "dropout", json_real(l->dropout));
    nn__cset(c, canon, "l2", json_real(l->l2));
    return canon;
}

static json_t *parse_hidden(nn__ctx *c, const json_t *net, const net_defaults *d, nn_spec *spec) {
    const char *ptr = "/network/hidden";
    const json_t *hidden = json_object_get(net, "hidden");
    json_t *canon = json_array();
    if (!canon) c->oom = 1;
    if (!hidden) return canon;
    if (!json_is_array(hidden)) {
        nn_spec_errors_add(c->errs, ptr, "must be a list of layers");
        return canon;
    }
    int n = count_layers(c, hidden, spec->n_targets ? spec->n_targets : 1);
    if (n > 0) {
        spec->hidden = calloc((size_t)n, sizeof *spec->hidden);
        if (!spec->hidden) c->oom = 1;
    }
    int k = 0;
    for (size_t i = 0; i < json_array_size(hidden); i++) {
        char p[NN__PTR];
        nn__ptr_index(p, ptr, i);
        const json_t *e = json_array_get(hidden, i);
        if (!json_is_object(e)) continue;
        nn_layer_cfg l;
        json_t *lc = parse_layer(c, e, p, d, &l);
        if (lc && canon && json_array_append_new(canon, lc) != 0) c->oom = 1;
        if (lc && !canon) json_decref(lc);
        for (long long r = checked_int(e, "repeat", 1); spec->hidden && r > 0 && k < n; r--)
            spec->hidden[k++] = l;
    }
    if (spec->hidden) spec->n_hidden = k;
    return canon;
}

static json_t *parse_output(nn__ctx *c, const json_t *net, const net_defaults *d, nn_spec *spec) {
    const char *ptr = "/network/output";
    const json_t *o = nn__get_obj(c, net, "/network", "output", NN__OPTIONAL);
    nn__check_keys(c, o, ptr, output_keys, N_OF(output_keys), NULL);
    nn_layer_cfg *l = &spec->output;
    int act;
    nn__get_name(c, o, ptr, "activation", "activation", act_names, NN_ACT_COUNT, NN_ACT_LINEAR,
                 NN__OPTIONAL, &act);
    l->act = act < 0 ? NN_ACT_LINEAR : (nn_act)act;
    l->units = (int)spec->n_targets;
    l->dropout = 0;
    nn__get_real(c, o, ptr, "l2", L2_RANGE, d->l2, NN__OPTIONAL, &l->l2);
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "init", parse_init(c, o, ptr, d->weights, d->biases, l));
    nn__cset(c, canon, "activation", json_string(act_names[l->act]));
    nn__cset(c, canon, "l2", json_real(l->l2));
    return canon;
}

static json_t *parse_network(nn__ctx *c, const json_t *net, nn_spec *spec) {
    const char *ptr = "/network";
    nn__check_keys(c, net, ptr, network_keys, N_OF(network_keys), NULL);
    net_defaults d;
    nn_layer_cfg l;
    nn__get_real(c, net, ptr, "dropout", UNIT_HALF_OPEN, 0, NN__OPTIONAL, &d.dropout);
    nn__get_real(c, net, ptr, "l2", L2_RANGE, 0, NN__OPTIONAL, &d.l2);
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "init", parse_init(c, net, ptr, NN_INIT_GLOROT_UNIFORM, NN_INIT_ZEROS, &l));
    d.weights = l.weight_init;
    d.biases = l.bias_init;
    nn__cset(c, canon, "dropout", json_real(d.dropout));
    nn__cset(c, canon, "l2", json_real(d.l2));
    nn__cset(c, canon, "hidden", parse_hidden(c, net, &d, spec));
    nn__cset(c, canon, "output", parse_output(c, net, &d, spec));
    return canon;
}

/* "target": a name or a list of 1..64 distinct names. */
static void parse_target(nn__ctx *c, const json_t *root, nn_spec *spec, json_t *canon) {
    const json_t *v = json_object_get(root, "target");
    if (json_is_string(v)) {
        const char *name;
        if (!nn__get_str(c, root, "", "target", NN__REQUIRED, &name)) return;
        spec->targets = calloc(1, sizeof *spec->targets);
        if (!spec->targets || !(spec->targets[0] = nn__strdup(c, name))) {
            c->oom = 1;
            return;
        }
        spec->n_targets = 1;
    } else if (json_is_array(v)) {
        if (!nn__names(c, v, "/target", MAX_TARGETS, &spec->targets, &spec->n_targets)) return;
    } else {
        nn_spec_errors_add(c->errs, "/target",
                           v ? "must be a column name or a list of names" : "required");
        return;
    }
    nn__cset(c, canon, "target", nn__cnames(c, spec->targets, spec->n_targets));
}

/* "task" and "positive" (a label: a string, or a number written as its shortest decimal). */
static void parse_task(nn__ctx *c, const json_t *root, nn_spec *spec, json_t *canon) {
    int task = -1;
    if (json_object_get(root, "task")) {
        nn__get_name(c, root, "", "task", "task", task_names, NN_TASK_COUNT, NN_TASK_REGRESSION,
                     NN__OPTIONAL, &task);
        if (task >= 0) {
            spec->task = (nn_task)task;
            spec->task_given = 1;
            nn__cset(c, canon, "task", json_string(task_names[task]));
        }
    }
    const json_t *pos = json_object_get(root, "positive");
    if (!pos) return;
    char buf[64];
    const char *label = NULL;
    if (json_is_string(pos) && json_string_length(pos) > 0) {
        label = json_string_value(pos);
    } else if (json_is_number(pos) && isfinite(json_number_value(pos))) {
        double v = json_number_value(pos);
        for (int prec = 15; prec <= 17; prec++) { /* the shortest form that reads back */
            (void)snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
        label = buf;
    } else {
        nn_spec_errors_add(c->errs, "/positive", "must be a class label (a string or a number)");
        return;
    }
    spec->positive = nn__strdup(c, label);
    nn__cset(c, canon, "positive", json_string(label));
}

/* name, seed, target, id, text_columns. */
static void parse_header(nn__ctx *c, const json_t *root, nn_spec *spec, json_t *canon) {
    const char *name = "unnamed", *id;
    if (nn__get_str(c, root, "", "name", NN__OPTIONAL, &name)) {
        size_t chars = 0;
        for (const char *s = name; *s; s++) chars += ((unsigned char)*s & 0xC0) != 0x80;
        if (chars > NN__MAX_NAME)
            nn_spec_errors_add(c->errs, "/name", "must be 1..%d characters", NN__MAX_NAME);
    }
    spec->name = nn__strdup(c, name ? name : "unnamed");
    nn__cset(c, canon, "name", json_string(spec->name ? spec->name : ""));
    long long seed;
    nn__get_int(c, root, "", "seed", 0, MAX_SEED, 0, NN__OPTIONAL, &seed);
    spec->seed = (uint64_t)seed;
    nn__cset(c, canon, "seed", json_integer(seed));
    parse_target(c, root, spec, canon);
    if (nn__get_str(c, root, "", "id", NN__OPTIONAL, &id)) {
        for (size_t i = 0; i < spec->n_targets; i++)
            if (strcmp(id, spec->targets[i]) == 0)
                nn_spec_errors_add(c->errs, "/id", "\"%.64s\" is also a target", id);
        spec->id = nn__strdup(c, id);
        nn__cset(c, canon, "id", json_string(id));
    }
    const json_t *tc = json_object_get(root, "text_columns");
    if (tc && !(json_is_array(tc) && json_array_size(tc) == 0)) /* [] is the default */
        nn__names(c, tc, "/text_columns", MAX_TEXT_COLUMNS, &spec->text_columns,
                  &spec->n_text_columns);
    nn__cset(c, canon, "text_columns", nn__cnames(c, spec->text_columns, spec->n_text_columns));
}

/* Parses a root object into spec, its canonical tree and text; returns NN_OK or
 * NN_ERR_SPEC/NOMEM. */
static nn_status parse_root(nn__ctx *c, const json_t *root, nn_spec *spec) {
    json_t *canon = nn__cobj(c);
    nn__check_keys(c, root, "", top_keys, N_OF(top_keys), NULL);
    parse_header(c, root, spec, canon);
    parse_task(c, root, spec, canon);
    nn__cset(c, canon, "preprocess", nn__parse_steps(c, json_object_get(root, "preprocess"), spec));
    const json_t *net = nn__get_obj(c, root, "", "network", NN__OPTIONAL);
    nn__cset(c, canon, "network", parse_network(c, net, spec));
    const json_t *tr = nn__get_obj(c, root, "", "training", NN__OPTIONAL);
    nn__cset(c, canon, "training", nn__parse_training(c, tr, spec));
    if (spec->task_given && c->errs->n == 0) nn_spec_check_task(spec, spec->task, c->errs);
    if (c->errs->n == 0 && !c->oom) {
        spec->canonical =
            json_dumps(canon, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (spec->canonical) {
            nn_sha256_hex(spec->canonical, strlen(spec->canonical), spec->hash);
            spec->canonical_json = canon;
            canon = NULL;
        } else {
            c->oom = 1;
        }
    }
    json_decref(canon);
    if (c->errs->n) return NN_ERR_SPEC;
    if (c->oom) {
        nn_spec_errors_add(c->errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    return NN_OK;
}

nn_status nn_spec_from_json(const json_t *doc, nn_spec **out, nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    nn__ctx c = {errs, 0};
    if (!check_depth(&c, doc, "", 1)) return NN_ERR_SPEC;
    if (!json_is_object(doc)) {
        nn_spec_errors_add(errs, "", "must be an object");
        return NN_ERR_SPEC;
    }
    nn_spec *spec = calloc(1, sizeof *spec);
    if (!spec) {
        nn_spec_errors_add(errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    nn_status st = parse_root(&c, doc, spec);
    if (st != NN_OK) {
        nn_spec_destroy(spec);
        return st;
    }
    *out = spec;
    return NN_OK;
}

nn_status nn_spec_parse(const char *text, size_t len, nn_spec **out, nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    if (len > NN_SPEC_MAX_BYTES) {
        nn_spec_errors_add(errs, "", "the document is %zu bytes, over the limit of %d bytes", len,
                           NN_SPEC_MAX_BYTES);
        return NN_ERR_SPEC;
    }
    json_error_t je;
    json_t *root = json_loadb(text ? text : "", text ? len : 0, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        nn_spec_errors_add(errs, "", "invalid JSON at line %d, column %d: %s", je.line, je.column,
                           je.text);
        return NN_ERR_SPEC;
    }
    nn_status st = nn_spec_from_json(root, out, errs);
    json_decref(root);
    return st;
}

nn_status nn_spec_parse_file(const char *path, nn_spec **out, nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    char why[128];
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (strerror_r(e, why, sizeof why) != 0) (void)snprintf(why, sizeof why, "error %d", e);
        nn_spec_errors_add(errs, "", "cannot open %s: %s", path, why);
        return NN_ERR_IO;
    }
    char *buf = malloc((size_t)NN_SPEC_MAX_BYTES + 1);
    if (!buf) {
        (void)fclose(f);
        nn_spec_errors_add(errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, (size_t)NN_SPEC_MAX_BYTES + 1, f);
    int failed = ferror(f);
    int e = errno;
    (void)fclose(f);
    nn_status st;
    if (failed) {
        if (strerror_r(e, why, sizeof why) != 0) (void)snprintf(why, sizeof why, "error %d", e);
        nn_spec_errors_add(errs, "", "cannot read %s: %s", path, why);
        st = NN_ERR_IO;
    } else if (n > NN_SPEC_MAX_BYTES) {
        nn_spec_errors_add(errs, "", "%s: the document is over the limit of %d bytes", path,
                           NN_SPEC_MAX_BYTES);
        st = NN_ERR_SPEC;
    } else {
        st = nn_spec_parse(buf, n, out, errs);
    }
    free(buf);
    return st;
}

void nn_spec_destroy(nn_spec *spec) {
    if (!spec) return;
    free(spec->name);
    nn__free_names(spec->targets, spec->n_targets);
    free(spec->id);
    free(spec->positive);
    nn__free_names(spec->cw_labels, spec->n_cw);
    free(spec->cw_values);
    nn__free_names(spec->text_columns, spec->n_text_columns);
    for (size_t i = 0; i < spec->n_steps; i++) nn__free_step(&spec->steps[i]);
    free(spec->steps);
    free(spec->hidden);
    free(spec->canonical);
    json_decref(spec->canonical_json);
    free(spec);
}

json_t *nn_spec_to_json(const nn_spec *spec) {
    return spec->canonical_json ? json_deep_copy(spec->canonical_json) : NULL;
}

nn_status nn_spec_trajectory(const nn_spec *spec, char out[65], nn_error *err) {
    json_t *doc = nn_spec_to_json(spec);
    if (!doc)
        return spec->canonical_json ? nn_error_set(err, NN_ERR_NOMEM, "out of memory")
                                    : nn_error_set(err, NN_ERR_INVALID, "the spec was not parsed");
    (void)json_object_del(doc, "name");
    json_t *t = json_object_get(doc, "training");
    (void)json_object_del(t, "stop_at");
    (void)json_object_del(t, "final");
    char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(doc);
    if (!text) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    nn_sha256_hex(text, strlen(text), out);
    free(text);
    return NN_OK;
}

void nn_spec_net_cfg(const nn_spec *spec, int n_inputs, int n_outputs, nn_layer_cfg *layers,
                     nn_net_cfg *cfg) {
    for (int i = 0; i < spec->n_hidden; i++) layers[i] = spec->hidden[i];
    layers[spec->n_hidden] = spec->output;
    layers[spec->n_hidden].units = n_outputs;
    cfg->n_inputs = n_inputs;
    cfg->n_layers = spec->n_hidden + 1;
    cfg->layers = layers;
}
