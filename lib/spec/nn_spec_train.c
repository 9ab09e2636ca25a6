/* nn_spec_train.c — the "training" section of a spec: loss, optimizer, schedule, validation,
 * callbacks. Keys that belong to another optimizer/schedule/validation type are errors
 * ("only for type momentum"), so a typo'd type cannot silently ignore settings. */
#include "nn_spec_internal.h"

#include <math.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof(a)[0])
#define BIT(x) (1u << (x))

static const char *const loss_names[] = {NN_LOSS_TABLE(NN_ENUM_TEXT)};
static const char *const optim_names[] = {NN_OPTIM_TABLE(NN_ENUM_TEXT)};
static const char *const sched_names[] = {NN_SCHED_TABLE(NN_ENUM_TEXT)};
NN_ENUM_DEFINE(nn_val, nn_val_kind, NN_VAL_TABLE, NN_VAL_COUNT)
NN_ENUM_DEFINE(nn_final, nn_final_kind, NN_FINAL_TABLE, NN_FINAL_COUNT)
NN_ENUM_DEFINE(nn_monitor, nn_monitor, NN_MONITOR_TABLE, NN_MONITOR_COUNT)

static const nn__range POSITIVE = {0, INFINITY, 1, 0};
static const nn__range NONNEG = {0, INFINITY, 0, 0};
static const nn__range UNIT_HALF_OPEN = {0, 1, 0, 1}; /* [0, 1) */
static const nn__range UNIT_OPEN = {0, 1, 1, 1};      /* (0, 1) */

static const nn__key training_keys[] = {
    {"epochs", 0},   {"batch_size", 0}, {"loss", 0},           {"optimizer", 0},
    {"schedule", 0}, {"validation", 0}, {"early_stopping", 0}, {"reduce_on_plateau", 0},
    {"final", 0},    {"importance", 0}, {"ensemble", 0},       {"stop_at", 0},
};
static const nn__key loss_keys[] = {{"type", 0},
                                    {"delta", BIT(NN_LOSS_HUBER)},
                                    {"label_smoothing", BIT(NN_LOSS_CROSS_ENTROPY)},
                                    {"class_weight", BIT(NN_LOSS_CROSS_ENTROPY)}};
#define ADAMS (BIT(NN_OPTIM_ADAM) | BIT(NN_OPTIM_ADAMW))
static const nn__key optim_keys[] = {
    {"type", 0},
    {"learning_rate", 0},
    {"momentum", BIT(NN_OPTIM_MOMENTUM)},
    {"nesterov", BIT(NN_OPTIM_MOMENTUM)},
    {"beta1", ADAMS},
    {"beta2", ADAMS},
    {"epsilon", ADAMS},
    {"weight_decay", BIT(NN_OPTIM_ADAMW)},
};
#define DECAYS (BIT(NN_SCHED_INVERSE_TIME) | BIT(NN_SCHED_EXPONENTIAL))
static const nn__key sched_keys[] = {
    {"type", 0},
    {"decay_rate", DECAYS},
    {"decay_steps", DECAYS | BIT(NN_SCHED_COSINE)},
    {"staircase", DECAYS},
    {"boundaries", BIT(NN_SCHED_PIECEWISE)},
    {"values", BIT(NN_SCHED_PIECEWISE)},
    {"min_lr", BIT(NN_SCHED_COSINE)},
};
static const nn__key val_keys[] = {{"type", 0},
                                   {"k", BIT(NN_VAL_KFOLD)},
                                   {"fraction", BIT(NN_VAL_HOLDOUT)},
                                   {"stratify", BIT(NN_VAL_KFOLD) | BIT(NN_VAL_HOLDOUT)}};
static const nn__key es_keys[] = {
    {"monitor", 0}, {"patience", 0}, {"min_delta", 0}, {"restore_best", 0}};
static const nn__key rp_keys[] = {{"monitor", 0}, {"patience", 0}, {"factor", 0}, {"min_lr", 0}};
static const nn__key importance_keys[] = {{"repeats", 0}};

/* "class_weight": "balanced" or {"label": weight > 0} (at most NN_MAX_CLASSES labels). */
static json_t *parse_class_weight(nn__ctx *c, const json_t *v, const char *ptr, nn_spec *spec) {
    char p[NN__PTR], q[NN__PTR];
    nn__ptr_key(p, ptr, "class_weight");
    if (json_is_string(v) && strcmp(json_string_value(v), "balanced") == 0) {
        spec->class_weight = NN_CW_BALANCED;
        return json_string("balanced");
    }
    if (!json_is_object(v) || json_object_size(v) == 0 || json_object_size(v) > NN_MAX_CLASSES) {
        nn_spec_errors_add(c->errs, p,
                           "must be \"balanced\" or an object of class labels and weights, e.g. "
                           "{\"yes\": 3}");
        return NULL;
    }
    size_t n = json_object_size(v);
    spec->cw_labels = calloc(n, sizeof *spec->cw_labels);
    spec->cw_values = calloc(n, sizeof *spec->cw_values);
    json_t *canon = nn__cobj(c);
    if (!spec->cw_labels || !spec->cw_values) {
        c->oom = 1;
        return canon;
    }
    const char *label;
    json_t *w;
    json_object_foreach((json_t *)v, label, w) {
        nn__ptr_key(q, p, label);
        double x = json_number_value(w);
        if (!json_is_number(w) || !(x > 0) || !isfinite(x)) {
            nn_spec_errors_add(c->errs, q, "must be a number > 0");
            continue;
        }
        if (!(spec->cw_labels[spec->n_cw] = nn__strdup(c, label))) return canon;
        spec->cw_values[spec->n_cw++] = x;
        nn__cset(c, canon, label, json_real(x));
    }
    spec->class_weight = NN_CW_MAP;
    return canon;
}

/* "loss": a name or {"type", "delta" (huber), "label_smoothing", "class_weight" (cross_entropy)}.
 * Absent, it is the task's default: canonical only when the task is given (see nn_spec.h). */
static json_t *parse_loss(nn__ctx *c, const json_t *t, nn_spec *spec) {
    const char *ptr = "/training/loss";
    const json_t *v = json_object_get(t, "loss");
    nn_loss *loss = &spec->loss;
    int kind = NN_LOSS_MSE;
    memset(loss, 0, sizeof *loss);
    loss->kind = NN_LOSS_MSE;
    loss->delta = 1;
    spec->loss_given = v != NULL;
    json_t *cw = NULL;
    if (!v) {
        kind = spec->task_given && spec->task == NN_TASK_CLASSIFICATION ? NN_LOSS_CROSS_ENTROPY
                                                                        : NN_LOSS_MSE;
    } else if (json_is_string(v)) {
        nn__get_name(c, t, "/training", "loss", "loss", loss_names, NN_LOSS_COUNT, NN_LOSS_MSE,
                     NN__OPTIONAL, &kind);
    } else if (json_is_object(v)) {
        nn__get_name(c, v, ptr, "type", "loss", loss_names, NN_LOSS_COUNT, NN_LOSS_MSE,
                     NN__OPTIONAL, &kind);
        nn__variant var = {"type", loss_names, NN_LOSS_COUNT, kind};
        nn__check_keys(c, v, ptr, loss_keys, N_OF(loss_keys), &var);
        if (kind == NN_LOSS_HUBER)
            nn__get_real(c, v, ptr, "delta", POSITIVE, 1, NN__OPTIONAL, &loss->delta);
        if (kind == NN_LOSS_CROSS_ENTROPY) {
            nn__range smooth = {0, NN_LOSS_MAX_SMOOTHING, 0, 0};
            nn__get_real(c, v, ptr, "label_smoothing", smooth, 0, NN__OPTIONAL,
                         &loss->label_smoothing);
            const json_t *w = json_object_get(v, "class_weight");
            if (w) cw = parse_class_weight(c, w, ptr, spec);
        }
    } else {
        nn_spec_errors_add(c->errs, ptr, "must be a loss name or {\"type\": ..., \"delta\": ...}");
    }
    if (kind < 0) {
        json_decref(cw);
        return NULL;
    }
    loss->kind = (nn_loss_kind)kind;
    if (!v && !spec->task_given) return NULL; /* the target's type decides (nn_spec_loss) */
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "type", json_string(loss_names[kind]));
    if (kind == NN_LOSS_HUBER) nn__cset(c, canon, "delta", json_real(loss->delta));
    if (kind == NN_LOSS_CROSS_ENTROPY)
        nn__cset(c, canon, "label_smoothing", json_real(loss->label_smoothing));
    if (cw) nn__cset(c, canon, "class_weight", cw);
    return canon;
}

/* The object /training/<key> with a "type" among names (def when absent): its keys are checked
 * against keys for that type. Returns the object (NULL when absent) and the type in *kind (< 0
 * when wrong). */
static const json_t *typed_object(nn__ctx *c, const json_t *t, const char *ptr, const char *what,
                                  const char *const *names, int count, int def, const nn__key *keys,
                                  size_t n_keys, int *kind) {
    const json_t *v = nn__get_obj(c, t, "/training", ptr + strlen("/training/"), NN__OPTIONAL);
    nn__get_name(c, v, ptr, "type", what, names, count, def, NN__OPTIONAL, kind);
    nn__variant var = {"type", names, count, *kind};
    nn__check_keys(c, v, ptr, keys, n_keys, &var);
    return v;
}

static json_t *parse_optimizer(nn__ctx *c, const json_t *t, nn_optim_cfg *o) {
    const char *ptr = "/training/optimizer";
    int kind;
    const json_t *v = typed_object(c, t, ptr, "optimizer", optim_names, NN_OPTIM_COUNT,
                                   NN_OPTIM_ADAM, optim_keys, N_OF(optim_keys), &kind);
    if (kind < 0) return NULL;
    *o = nn_optim_defaults((nn_optim_kind)kind);
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "type", json_string(optim_names[kind]));
    nn__get_real(c, v, ptr, "learning_rate", POSITIVE, o->learning_rate, NN__OPTIONAL,
                 &o->learning_rate);
    nn__cset(c, canon, "learning_rate", json_real(o->learning_rate));
    if (kind == NN_OPTIM_MOMENTUM) {
        nn__get_real(c, v, ptr, "momentum", UNIT_HALF_OPEN, o->momentum, NN__OPTIONAL,
                     &o->momentum);
        nn__get_bool(c, v, ptr, "nesterov", 0, &o->nesterov);
        nn__cset(c, canon, "momentum", json_real(o->momentum));
        nn__cset(c, canon, "nesterov", json_boolean(o->nesterov));
    }
    if (kind == NN_OPTIM_ADAM || kind == NN_OPTIM_ADAMW) {
        nn__get_real(c, v, ptr, "beta1", UNIT_HALF_OPEN, o->beta1, NN__OPTIONAL, &o->beta1);
        nn__get_real(c, v, ptr, "beta2", UNIT_HALF_OPEN, o->beta2, NN__OPTIONAL, &o->beta2);
        nn__get_real(c, v, ptr, "epsilon", POSITIVE, o->eps, NN__OPTIONAL, &o->eps);
        nn__cset(c, canon, "beta1", json_real(o->beta1));
        nn__cset(c, canon, "beta2", json_real(o->beta2));
        nn__cset(c, canon, "epsilon", json_real(o->eps));
    }
    if (kind == NN_OPTIM_ADAMW) {
        nn__get_real(c, v, ptr, "weight_decay", NONNEG, o->weight_decay, NN__OPTIONAL,
                     &o->weight_decay);
        nn__cset(c, canon, "weight_decay", json_real(o->weight_decay));
    }
    return canon;
}

/* piecewise_constant: "boundaries" (strictly increasing epochs) and "values" (one more). */
static void parse_piecewise(nn__ctx *c, const json_t *v, const char *ptr, nn_sched *s,
                            json_t *canon) {
    const json_t *b = json_object_get(v, "boundaries"), *vals = json_object_get(v, "values");
    char pb[NN__PTR], pv[NN__PTR], p[NN__PTR];
    nn__ptr_key(pb, ptr, "boundaries");
    nn__ptr_key(pv, ptr, "values");
    if (!b)
        nn_spec_errors_add(c->errs, pb, "required");
    else if (!json_is_array(b) || json_array_size(b) > NN_SCHED_MAX_BOUNDARIES)
        nn_spec_errors_add(c->errs, pb, "must be a list of at most %d epochs",
                           NN_SCHED_MAX_BOUNDARIES);
    if (!vals)
        nn_spec_errors_add(c->errs, pv, "required");
    else if (!json_is_array(vals))
        nn_spec_errors_add(c->errs, pv, "must be a list of learning rates");
    if (!json_is_array(b) || json_array_size(b) > NN_SCHED_MAX_BOUNDARIES || !json_is_array(vals))
        return;
    size_t nb = json_array_size(b), nv = json_array_size(vals);
    s->n_boundaries = (int)nb;
    json_t *cb = json_array(), *cv = json_array();
    for (size_t i = 0; i < nb; i++) {
        nn__ptr_index(p, pb, i);
        const json_t *e = json_array_get(b, i);
        long long prev = i ? s->boundaries[i - 1] : -1;
        if (!json_is_integer(e) || json_integer_value(e) <= prev ||
            json_integer_value(e) > NN_SPEC_MAX_EPOCHS) {
            nn_spec_errors_add(c->errs, p,
                               i ? "must be an integer epoch above the previous one"
                                 : "must be an integer epoch ≥ 0");
            continue;
        }
        s->boundaries[i] = (int)json_integer_value(e);
        if (json_array_append_new(cb, json_integer(s->boundaries[i])) != 0) c->oom = 1;
    }
    if (nv != nb + 1) {
        nn_spec_errors_add(c->errs, pv,
                           "must have one more entry than boundaries (%zu values for %zu "
                           "boundaries)",
                           nv, nb);
        nv = 0;
    }
    for (size_t i = 0; i < nv; i++) {
        nn__ptr_index(p, pv, i);
        const json_t *e = json_array_get(vals, i);
        if (!json_is_number(e) || !(json_number_value(e) > 0)) {
            nn_spec_errors_add(c->errs, p, "must be a number > 0");
            continue;
        }
        s->values[i] = json_number_value(e);
        if (json_array_append_new(cv, json_real(s->values[i])) != 0) c->oom = 1;
    }
    nn__cset(c, canon, "boundaries", cb);
    nn__cset(c, canon, "values", cv);
}

static json_t *parse_schedule(nn__ctx *c, const json_t *t, int epochs, nn_sched *s) {
    const char *ptr = "/training/schedule";
    int kind;
    const json_t *v = typed_object(c, t, ptr, "schedule", sched_names, NN_SCHED_COUNT,
                                   NN_SCHED_CONSTANT, sched_keys, N_OF(sched_keys), &kind);
    *s = nn_sched_constant();
    if (kind < 0) return NULL;
    s->kind = (nn_sched_kind)kind;
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "type", json_string(sched_names[kind]));
    if (kind == NN_SCHED_INVERSE_TIME || kind == NN_SCHED_EXPONENTIAL) {
        nn__range rate = kind == NN_SCHED_EXPONENTIAL ? (nn__range){0, 1, 1, 0} : NONNEG;
        nn__get_real(c, v, ptr, "decay_rate", rate, 0, NN__REQUIRED, &s->rate);
        nn__get_real(c, v, ptr, "decay_steps", POSITIVE, 1, NN__REQUIRED, &s->steps);
        nn__get_bool(c, v, ptr, "staircase", 0, &s->staircase);
        nn__cset(c, canon, "decay_rate", json_real(s->rate));
        nn__cset(c, canon, "decay_steps", json_real(s->steps));
        nn__cset(c, canon, "staircase", json_boolean(s->staircase));
    } else if (kind == NN_SCHED_COSINE) {
        nn__get_real(c, v, ptr, "decay_steps", POSITIVE, epochs, NN__OPTIONAL, &s->steps);
        nn__get_real(c, v, ptr, "min_lr", NONNEG, 0, NN__OPTIONAL, &s->min_lr);
        nn__cset(c, canon, "decay_steps", json_real(s->steps));
        nn__cset(c, canon, "min_lr", json_real(s->min_lr));
    } else if (kind == NN_SCHED_PIECEWISE) {
        parse_piecewise(c, v, ptr, s, canon);
    }
    return canon;
}

static json_t *parse_validation(nn__ctx *c, const json_t *t, nn_spec *spec) {
    const char *ptr = "/training/validation";
    int kind;
    const json_t *v = typed_object(c, t, ptr, "validation type", nn_val__texts, N_OF(nn_val__texts),
                                   NN_VAL_KFOLD, val_keys, N_OF(val_keys), &kind);
    spec->k = 5;
    spec->holdout = 0.2;
    if (kind < 0) return NULL;
    spec->validation = (nn_val_kind)kind;
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "type", json_string(nn_val__texts[kind]));
    if (kind == NN_VAL_KFOLD) {
        long long k;
        nn__get_int(c, v, ptr, "k", 2, NN_SPEC_MAX_K, 5, NN__OPTIONAL, &k);
        spec->k = (int)k;
        nn__cset(c, canon, "k", json_integer(k));
    } else if (kind == NN_VAL_HOLDOUT) {
        nn__get_real(c, v, ptr, "fraction", UNIT_OPEN, 0.2, NN__OPTIONAL, &spec->holdout);
        nn__cset(c, canon, "fraction", json_real(spec->holdout));
    }
    spec->no_stratify = 0;
    if (kind != NN_VAL_NONE) {
        int stratify = 1;
        nn__get_bool(c, v, ptr, "stratify", 1, &stratify);
        spec->no_stratify = !stratify;
        if (!stratify) nn__cset(c, canon, "stratify", json_false());
    }
    return canon;
}

/* "monitor" of a callback; val_* monitors need a validation split. */
static nn_monitor parse_monitor(nn__ctx *c, const json_t *v, const char *ptr, const nn_spec *spec,
                                json_t *canon) {
    int m;
    if (nn__get_name(c, v, ptr, "monitor", "monitor", nn_monitor__texts, N_OF(nn_monitor__texts),
                     NN_MONITOR_VAL_LOSS, NN__OPTIONAL, &m) == 0 &&
        m < 0)
        return NN_MONITOR_VAL_LOSS;
    if (m != NN_MONITOR_TRAIN_LOSS && spec->validation == NN_VAL_NONE) {
        char p[NN__PTR];
        nn__ptr_key(p, ptr, "monitor");
        nn_spec_errors_add(c->errs, p, "\"%s\" needs validation (validation type is none)",
                           nn_monitor__texts[m]);
    }
    nn__cset(c, canon, "monitor", json_string(nn_monitor__texts[m]));
    return (nn_monitor)m;
}

/* early_stopping and reduce_on_plateau; absent means off (patience 0), no canonical key. */
static void parse_callbacks(nn__ctx *c, const json_t *t, nn_spec *spec, json_t *tc) {
    const char *pe = "/training/early_stopping", *pr = "/training/reduce_on_plateau";
    const json_t *es = nn__get_obj(c, t, "/training", "early_stopping", NN__OPTIONAL);
    long long pat;
    spec->es_restore_best = 1;
    if (es) {
        json_t *canon = nn__cobj(c);
        nn__check_keys(c, es, pe, es_keys, N_OF(es_keys), NULL);
        spec->es_monitor = parse_monitor(c, es, pe, spec, canon);
        nn__get_int(c, es, pe, "patience", 1, NN_SPEC_MAX_EPOCHS, 0, NN__REQUIRED, &pat);
        spec->es_patience = (int)pat;
        nn__get_real(c, es, pe, "min_delta", NONNEG, 0, NN__OPTIONAL, &spec->es_min_delta);
        nn__get_bool(c, es, pe, "restore_best", 1, &spec->es_restore_best);
        nn__cset(c, canon, "patience", json_integer(pat));
        nn__cset(c, canon, "min_delta", json_real(spec->es_min_delta));
        nn__cset(c, canon, "restore_best", json_boolean(spec->es_restore_best));
        nn__cset(c, tc, "early_stopping", canon);
    }
    const json_t *rp = nn__get_obj(c, t, "/training", "reduce_on_plateau", NN__OPTIONAL);
    spec->rp_factor = 0.5;
    if (rp) {
        json_t *canon = nn__cobj(c);
        nn__check_keys(c, rp, pr, rp_keys, N_OF(rp_keys), NULL);
        spec->rp_monitor = parse_monitor(c, rp, pr, spec, canon);
        nn__get_int(c, rp, pr, "patience", 1, NN_SPEC_MAX_EPOCHS, 0, NN__REQUIRED, &pat);
        spec->rp_patience = (int)pat;
        nn__get_real(c, rp, pr, "factor", UNIT_OPEN, 0.5, NN__OPTIONAL, &spec->rp_factor);
        nn__get_real(c, rp, pr, "min_lr", NONNEG, 0, NN__OPTIONAL, &spec->rp_min_lr);
        nn__cset(c, canon, "patience", json_integer(pat));
        nn__cset(c, canon, "factor", json_real(spec->rp_factor));
        nn__cset(c, canon, "min_lr", json_real(spec->rp_min_lr));
        nn__cset(c, tc, "reduce_on_plateau", canon);
    }
}

/* Cross-checks the parsed optimizer and schedule with their own validators; these only fire if
 * this parser and nn_optim/nn_sched disagree about a range. */
static void recheck(nn__ctx *c, const nn_spec *spec) {
    nn_error err = {0};
    if (nn_optim_check(&spec->optim, &err) != NN_OK)
        nn_spec_errors_add(c->errs, "/training/optimizer", "%s", err.msg);
    if (nn_sched_check(&spec->sched, &err) != NN_OK)
        nn_spec_errors_add(c->errs, "/training/schedule", "%s", err.msg);
}

json_t *nn__parse_training(nn__ctx *c, const json_t *t, nn_spec *spec) {
    const char *ptr = "/training";
    nn__check_keys(c, t, ptr, training_keys, N_OF(training_keys), NULL);
    size_t errs_before = c->errs->n + c->errs->n_dropped;
    json_t *canon = nn__cobj(c);
    long long n;
    nn__get_int(c, t, ptr, "epochs", 1, NN_SPEC_MAX_EPOCHS, 0, NN__REQUIRED, &n);
    spec->epochs = (int)n;
    nn__cset(c, canon, "epochs", json_integer(n));
    if (json_object_get(t, "stop_at")) {
        nn__get_int(c, t, ptr, "stop_at", 1, NN_SPEC_MAX_EPOCHS, 0, NN__OPTIONAL, &n);
        if (n > spec->epochs && spec->epochs > 0)
            nn_spec_errors_add(c->errs, "/training/stop_at", "must be at most epochs (%d)",
                               spec->epochs);
        else if (n > 0)
            nn__cset(c, canon, "stop_at", json_integer(n));
        spec->stop_at = n > spec->epochs ? 0 : (int)n;
    }
    nn__get_int(c, t, ptr, "batch_size", 1, NN_MAX_BATCH, 32, NN__OPTIONAL, &n);
    spec->batch_size = (int)n;
    nn__cset(c, canon, "batch_size", json_integer(n));
    nn__get_int(c, t, ptr, "ensemble", 1, NN_SPEC_MAX_ENSEMBLE, 1, NN__OPTIONAL, &n);
    spec->ensemble = (int)n;
    nn__cset(c, canon, "ensemble", json_integer(n));
    json_t *loss = parse_loss(c, t, spec);
    if (loss) nn__cset(c, canon, "loss", loss);
    nn__cset(c, canon, "optimizer", parse_optimizer(c, t, &spec->optim));
    nn__cset(c, canon, "schedule", parse_schedule(c, t, spec->epochs, &spec->sched));
    nn__cset(c, canon, "validation", parse_validation(c, t, spec));
    parse_callbacks(c, t, spec, canon);
    int final;
    nn__get_name(c, t, ptr, "final", "final", nn_final__texts, N_OF(nn_final__texts),
                 NN_FINAL_REFIT, NN__OPTIONAL, &final);
    spec->final = final < 0 ? NN_FINAL_REFIT : (nn_final_kind) final;
    nn__cset(c, canon, "final", json_string(nn_final__texts[spec->final]));
    const json_t *imp = nn__get_obj(c, t, ptr, "importance", NN__OPTIONAL);
    nn__check_keys(c, imp, "/training/importance", importance_keys, 1, NULL);
    nn__get_int(c, imp, "/training/importance", "repeats", 0, 100, 0,
                imp ? NN__REQUIRED : NN__OPTIONAL, &n);
    spec->importance_repeats = (int)n;
    json_t *ic = nn__cobj(c);
    nn__cset(c, ic, "repeats", json_integer(n));
    nn__cset(c, canon, "importance", ic);
    if (spec->validation == NN_VAL_NONE && spec->es_patience > 0 &&
        spec->es_monitor != NN_MONITOR_TRAIN_LOSS)
        nn_spec_errors_add(c->errs, "/training/early_stopping/monitor",
                           "validation is none, so only train_loss can be monitored");
    if (spec->validation == NN_VAL_NONE && spec->final == NN_FINAL_BEST_FOLD)
        nn_spec_errors_add(c->errs, "/training/final", "best_fold needs validation");
    if (c->errs->n + c->errs->n_dropped == errs_before) recheck(c, spec);
    return canon;
}
