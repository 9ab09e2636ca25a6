/* nn_study_spec.c — parsing study documents (the contract is nn_study.h): the top-level keys,
 * objective, sampler, pruner, budget, ensemble and holdout, the canonical form and its hash, and
 * applying sampled values to the base spec. The space is nn_study_space.c. */
#include "nn_study_internal.h"

#include "nn_sha256.h"
#include "nn_text.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof(a)[0])
#define MAX_NAME 100 /* a trial's spec name adds " trial N" within the spec's 128 */
#define MAX_SEED ((long long)1 << 53)

NN_ENUM_DEFINE(nn_objective, nn_objective, NN_OBJECTIVE_TABLE, NN_OBJ_COUNT)
NN_ENUM_DEFINE(nn_sampler, nn_sampler_kind, NN_SAMPLER_TABLE, NN_SAMPLER_COUNT)
NN_ENUM_DEFINE(nn_pruner, nn_pruner_kind, NN_PRUNER_TABLE, NN_PRUNER_COUNT)

static const char *const objective_names[] = {NN_OBJECTIVE_TABLE(NN_ENUM_TEXT)};
static const char *const sampler_names[] = {NN_SAMPLER_TABLE(NN_ENUM_TEXT)};
static const char *const pruner_names[] = {NN_PRUNER_TABLE(NN_ENUM_TEXT)};
static const char *const direction_names[] = {"minimize", "maximize"};

double nn_objective_value(nn_objective o, const nn_metrics *m) {
    switch (o) {
    case NN_OBJ_R2:
        return m->r2;
    case NN_OBJ_RMSE:
        return m->rmse;
    case NN_OBJ_MAE:
        return m->mae;
    case NN_OBJ_MAPE:
        return m->mape;
    case NN_OBJ_MSE:
        return m->mse;
    default:
        return NAN;
    }
}

double nn_objective_class_value(nn_objective o, const nn_class_metrics *m) {
    switch (o) {
    case NN_OBJ_ACCURACY:
        return m->accuracy;
    case NN_OBJ_BALANCED_ACCURACY:
        return m->balanced_accuracy;
    case NN_OBJ_LOG_LOSS:
        return m->log_loss;
    case NN_OBJ_ROC_AUC:
        return m->roc_auc;
    case NN_OBJ_F1_MACRO:
        return m->f1_macro;
    case NN_OBJ_BRIER:
        return m->brier;
    default:
        return NAN;
    }
}

int nn_objective_maximized(nn_objective o) {
    return o == NN_OBJ_R2 || o == NN_OBJ_ACCURACY || o == NN_OBJ_BALANCED_ACCURACY ||
           o == NN_OBJ_ROC_AUC || o == NN_OBJ_F1_MACRO;
}

nn_task nn_objective_task(nn_objective o) {
    return o >= NN_OBJ_ACCURACY ? NN_TASK_CLASSIFICATION : NN_TASK_REGRESSION;
}

const char *nn_objective_task_names(nn_task task) {
    return task == NN_TASK_CLASSIFICATION
               ? "accuracy, balanced_accuracy, log_loss, roc_auc, f1_macro, brier"
               : "r2, rmse, mae, mape, mse";
}

const char *const *nn_study_metric_keys(nn_task task) {
    static const char *const regression[] = {"r2", "rmse", "mae", "mape", "mse", NULL};
    static const char *const classification[] = {
        "accuracy", "balanced_accuracy", "log_loss", "roc_auc",
        "pr_auc",   "f1_macro",          "brier",    NULL};
    return task == NN_TASK_CLASSIFICATION ? classification : regression;
}

/* ---- sections ---- */

static void parse_header(nn__sctx *c, const json_t *root, nn_study_spec *s) {
    const json_t *name = json_object_get(root, "name");
    const char *n = name ? json_string_value(name) : "study";
    if (!n || !*n || strlen(n) > MAX_NAME) {
        nn_spec_errors_add(c->errs, "/name", "must be a string of 1 to %d bytes", MAX_NAME);
        n = "study";
    }
    s->name = strdup(n);
    if (!s->name) c->oom = 1;
    long long seed;
    nn__sget_int(c, root, "", "seed", 0, MAX_SEED, 0, &seed);
    s->seed = (uint64_t)seed;
    nn__sget_real(c, root, "", "holdout", 0, 0.5, 0, &s->holdout);
}

static void parse_base(nn__sctx *c, const json_t *root, nn_study_spec *s) {
    const json_t *base = json_object_get(root, "base");
    if (!json_is_object(base)) {
        nn_spec_errors_add(c->errs, "/base", base ? "must be an object (a spec)" : "required");
        return;
    }
    nn_spec_errors sub;
    memset(&sub, 0, sizeof sub);
    if (nn_spec_from_json(base, &s->spec, &sub) != NN_OK) {
        for (size_t i = 0; i < sub.n; i++) {
            char p[NN__SPTR + 8]; /* nn_spec_errors_add truncates to its own size */
            (void)snprintf(p, sizeof p, "/base%s", sub.items[i].pointer);
            nn_spec_errors_add(c->errs, p, "%s", sub.items[i].message);
        }
        c->errs->n_dropped += sub.n_dropped;
        return;
    }
    s->base = json_deep_copy(base);
    if (!s->base) c->oom = 1;
}

static void parse_objective(nn__sctx *c, const json_t *root, nn_study_spec *s) {
    static const char *const keys[] = {"metric", "direction"};
    const json_t *o = nn__sget_obj(c, root, "", "objective");
    nn__scheck_keys(c, o, "/objective", keys, N_OF(keys));
    int m, d;
    s->objective_given = nn__sget_name(c, o, "/objective", "metric", "metric", objective_names,
                                       NN_OBJ_COUNT, NN_OBJ_R2, &m);
    s->objective = (nn_objective)m;
    s->direction_given =
        nn__sget_name(c, o, "/objective", "direction", "direction", direction_names, 2,
                      nn_objective_maximized(s->objective), &d);
    s->maximize = d;
}

/* The objective against the base's task: its default, or a problem when it is the other's. */
static void fit_task(nn_spec_errors *errs, nn_study_spec *s, nn_task task) {
    if (!s->objective_given) {
        s->objective = task == NN_TASK_CLASSIFICATION ? NN_OBJ_LOG_LOSS : NN_OBJ_R2;
        if (!s->direction_given) s->maximize = nn_objective_maximized(s->objective);
    } else if (nn_objective_task(s->objective) != task) {
        nn_spec_errors_add(errs, "/objective/metric",
                           "\"%s\" is a %s objective and the base spec is a %s; a %s study's "
                           "objectives are %s",
                           nn_objective_name(s->objective),
                           nn_task_name(nn_objective_task(s->objective)), nn_task_name(task),
                           nn_task_name(task), nn_objective_task_names(task));
        return;
    }
    s->task = task;
    s->task_known = 1;
}

static void parse_sampler(nn__sctx *c, const json_t *root, nn_study_spec *s) {
    static const char *const keys[] = {"type", "startup", "lag", "candidates", "gamma"};
    const char *ptr = "/sampler";
    const json_t *o = nn__sget_obj(c, root, "", "sampler");
    nn__scheck_keys(c, o, ptr, keys, N_OF(keys));
    int t;
    nn__sget_name(c, o, ptr, "type", "sampler", sampler_names, NN_SAMPLER_COUNT, NN_SAMPLER_TPE,
                  &t);
    s->sampler = (nn_sampler_kind)t;
    long long v;
    nn__sget_int(c, o, ptr, "startup", 1, NN_STUDY_MAX_TRIALS, 10, &v);
    s->startup = (int)v;
    nn__sget_int(c, o, ptr, "lag", 0, 64, 1, &v);
    s->lag = (int)v;
    nn__sget_int(c, o, ptr, "candidates", 1, 1000, 24, &v);
    s->candidates = (int)v;
    nn__sget_real(c, o, ptr, "gamma", 0.01, 0.99, 0.25, &s->gamma);
    for (size_t i = 1; i < N_OF(keys); i++)
        if (o && json_object_get(o, keys[i]) && s->sampler != NN_SAMPLER_TPE) {
            char p[NN__SPTR];
            nn__sptr_key(p, ptr, keys[i]);
            nn_spec_errors_add(c->errs, p, "only for type tpe");
        }
}

static void parse_pruner(nn__sctx *c, const json_t *root, nn_study_spec *s) {
    static const char *const keys[] = {"type", "min_epochs", "reduction_factor"};
    const char *ptr = "/pruner";
    const json_t *o = nn__sget_obj(c, root, "", "pruner");
    nn__scheck_keys(c, o, ptr, keys, N_OF(keys));
    int t;
    nn__sget_name(c, o, ptr, "type", "pruner", pruner_names, NN_PRUNER_COUNT, NN_PRUNER_NONE, &t);
    s->pruner = (nn_pruner_kind)t;
    long long v;
    int has_min = nn__sget_int(c, o, ptr, "min_epochs", 1, NN_SPEC_MAX_EPOCHS, 10, &v);
    s->min_epochs = (int)v;
    int has_eta = nn__sget_int(c, o, ptr, "reduction_factor", 2, 100, 3, &v);
    s->reduction_factor = (int)v;
    if (s->pruner == NN_PRUNER_NONE && (has_min || has_eta))
        nn_spec_errors_add(c->errs, has_min ? "/pruner/min_epochs" : "/pruner/reduction_factor",
                           "only for type asha");
}

static void parse_budget(nn__sctx *c, const json_t *root, nn_study_spec *s) {
    static const char *const bkeys[] = {"max_trials", "max_failed"};
    static const char *const ekeys[] = {"top", "rounds"};
    const json_t *b = nn__sget_obj(c, root, "", "budget");
    nn__scheck_keys(c, b, "/budget", bkeys, N_OF(bkeys));
    long long v;
    nn__sget_int(c, b, "/budget", "max_trials", 1, NN_STUDY_MAX_TRIALS, 20, &v);
    s->max_trials = (int)v;
    nn__sget_int(c, b, "/budget", "max_failed", 0, NN_STUDY_MAX_TRIALS, 5, &v);
    s->max_failed = (int)v;
    const json_t *e = nn__sget_obj(c, root, "", "ensemble");
    nn__scheck_keys(c, e, "/ensemble", ekeys, N_OF(ekeys));
    nn__sget_int(c, e, "/ensemble", "top", 0, NN_STUDY_MAX_TOP, 5, &v);
    s->ensemble_top = (int)v;
    nn__sget_int(c, e, "/ensemble", "rounds", 1, 1000, 20, &v);
    s->ensemble_rounds = (int)v;
}

size_t nn_study_grid_size(const nn_study_spec *s) {
    size_t n = 1;
    for (size_t i = 0; i < s->n_params; i++) {
        size_t k = nn__param_grid_size(&s->params[i]);
        if (k == 0) return 0;
        n = n > (NN_STUDY_MAX_TRIALS + 1) / k ? NN_STUDY_MAX_TRIALS + 1 : n * k;
    }
    return n;
}

static void check_grid(nn__sctx *c, nn_study_spec *s) {
    if (s->sampler != NN_SAMPLER_GRID || c->errs->n) return;
    for (size_t i = 0; i < s->n_params; i++)
        if (nn__param_grid_size(&s->params[i]) == 0) {
            char p[NN__SPTR];
            nn__sptr_key(p, "/space", s->params[i].pointer);
            nn_spec_errors_add(c->errs, p, "a grid needs a \"step\" for a float parameter");
            return;
        }
    size_t g = nn_study_grid_size(s);
    if (g > (size_t)s->max_trials)
        nn_spec_errors_add(
            c->errs, "/budget/max_trials", "the grid has %s%zu points, more than max_trials %d",
            g > NN_STUDY_MAX_TRIALS ? "over " : "",
            g > NN_STUDY_MAX_TRIALS ? (size_t)NN_STUDY_MAX_TRIALS : g, s->max_trials);
}

static json_t *canonical(const nn_study_spec *s) {
    json_t *o = json_pack(
        "{s:s, s:I, s:O, s:o, s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:i, s:i}, s:{s:i, s:i}, s:f}",
        "name", s->name, "seed", (json_int_t)s->seed, "base", s->base, "space", nn__space_json(s),
        "objective", "metric", nn_objective_name(s->objective), "direction",
        direction_names[s->maximize], "sampler", "type", nn_sampler_name(s->sampler), "pruner",
        "type", nn_pruner_name(s->pruner), "budget", "max_trials", s->max_trials, "max_failed",
        s->max_failed, "ensemble", "top", s->ensemble_top, "rounds", s->ensemble_rounds, "holdout",
        s->holdout);
    if (!o) return NULL;
    json_t *sampler = json_object_get(o, "sampler"), *pruner = json_object_get(o, "pruner");
    int bad = 0;
    if (s->sampler == NN_SAMPLER_TPE) {
        bad |= json_object_set_new(sampler, "startup", json_integer(s->startup));
        bad |= json_object_set_new(sampler, "lag", json_integer(s->lag));
        bad |= json_object_set_new(sampler, "candidates", json_integer(s->candidates));
        bad |= json_object_set_new(sampler, "gamma", json_real(s->gamma));
    }
    if (s->pruner == NN_PRUNER_ASHA) {
        bad |= json_object_set_new(pruner, "min_epochs", json_integer(s->min_epochs));
        bad |= json_object_set_new(pruner, "reduction_factor", json_integer(s->reduction_factor));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* s->canonical and s->hash from s; 0, or -1 when out of memory. */
static int set_canonical(nn_study_spec *s) {
    json_t *canon = canonical(s);
    char *text =
        canon ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(canon);
    if (!text) return -1;
    free(s->canonical);
    s->canonical = text;
    nn_sha256_hex(s->canonical, strlen(s->canonical), s->hash);
    return 0;
}

nn_status nn_study_resolve_task(nn_study_spec *s, nn_task task, nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    nn_objective objective = s->objective;
    int maximize = s->maximize, known = s->task_known;
    nn_task was = s->task;
    fit_task(errs, s, task);
    if (errs->n) return NN_ERR_SPEC;
    if (set_canonical(s) != 0) {
        s->objective = objective;
        s->maximize = maximize;
        s->task_known = known;
        s->task = was;
        nn_spec_errors_add(errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    return NN_OK;
}

nn_status nn_study_from_json(const json_t *doc, nn_study_spec **out, nn_spec_errors *errs) {
    static const char *const keys[] = {"name",    "seed",   "base",   "space",    "objective",
                                       "sampler", "pruner", "budget", "ensemble", "holdout"};
    memset(errs, 0, sizeof *errs);
    if (!json_is_object(doc)) {
        nn_spec_errors_add(errs, "", "a study must be a JSON object");
        return NN_ERR_SPEC;
    }
    nn_study_spec *s = calloc(1, sizeof *s);
    if (!s) {
        nn_spec_errors_add(errs, "", "out of memory");
        return NN_ERR_NOMEM;
    }
    nn__sctx c = {errs, 0};
    nn__scheck_keys(&c, doc, "", keys, N_OF(keys));
    parse_header(&c, doc, s);
    parse_objective(&c, doc, s);
    parse_sampler(&c, doc, s);
    parse_pruner(&c, doc, s);
    parse_budget(&c, doc, s);
    parse_base(&c, doc, s);
    if (s->spec && s->spec->task_given) fit_task(errs, s, s->spec->task);
    if (s->spec) nn__parse_space(&c, json_object_get(doc, "space"), s);
    check_grid(&c, s);
    if (!c.oom && errs->n == 0 && set_canonical(s) != 0) c.oom = 1;
    if (c.oom || errs->n) {
        if (c.oom) {
            memset(errs, 0, sizeof *errs);
            nn_spec_errors_add(errs, "", "out of memory");
        }
        nn_study_spec_destroy(s);
        return c.oom ? NN_ERR_NOMEM : NN_ERR_SPEC;
    }
    *out = s;
    return NN_OK;
}

nn_status nn_study_parse(const char *text, size_t len, nn_study_spec **out, nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        nn_spec_errors_add(errs, "", "invalid JSON at line %d, column %d: %s", je.line, je.column,
                           je.text);
        return NN_ERR_SPEC;
    }
    nn_status st = nn_study_from_json(doc, out, errs);
    json_decref(doc);
    return st;
}

nn_status nn_study_parse_file(const char *path, nn_study_spec **out, nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    FILE *f = fopen(path, "rb");
    if (!f) {
        char buf[128];
        if (strerror_r(errno, buf, sizeof buf) != 0) (void)snprintf(buf, sizeof buf, "error");
        nn_spec_errors_add(errs, "", "cannot open %s: %s", path, buf);
        return NN_ERR_IO;
    }
    char *text = malloc(NN_SPEC_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, NN_SPEC_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    (void)fclose(f);
    nn_status st;
    if (!text) {
        nn_spec_errors_add(errs, "", "out of memory");
        st = NN_ERR_NOMEM;
    } else if (bad) {
        nn_spec_errors_add(errs, "", "cannot read %s", path);
        st = NN_ERR_IO;
    } else if (n > NN_SPEC_MAX_BYTES) {
        nn_spec_errors_add(errs, "", "%s: over %d bytes", path, NN_SPEC_MAX_BYTES);
        st = NN_ERR_SPEC;
    } else {
        st = nn_study_parse(text, n, out, errs);
    }
    free(text);
    return st;
}

void nn_study_spec_destroy(nn_study_spec *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_params; i++) {
        free(s->params[i].pointer);
        json_decref(s->params[i].choices);
    }
    free(s->params);
    free(s->name);
    json_decref(s->base);
    nn_spec_destroy(s->spec);
    free(s->canonical);
    free(s);
}
