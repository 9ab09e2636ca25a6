/* nn_study_space.c — the space of a study: its entries ("/space/<pointer>": float, int or
 * categorical) checked against the base spec, JSON pointers into specs, sampled values applied
 * to the base, the grid and uniform draws.
 *
 * DESIGN: every parameter has an internal number x: the value itself (float, int), its log
 * (with "log"), or the index of the choice (categorical). Samplers work on x — uniform draws,
 * grid points, TPE's densities — and nn__param_value turns x into the JSON value set in the
 * spec (rounded to the step, clamped to the range, an integer for int). A parameter is checked
 * where it matters: its pointer must name something the canonical base spec has, and the spec
 * must stay valid at both ends of its range and for every choice (the spec parser's own checks,
 * reported at the space entry).
 */
#include "nn_study_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof(a)[0])
#define MAX_GRID_STEPS 1000000.0

NN_ENUM_DEFINE(nn_param_type, nn_param_type, NN_PARAM_TABLE, NN_PARAM_COUNT)
static const char *const type_names[] = {NN_PARAM_TABLE(NN_ENUM_TEXT)};

/* ---- JSON pointers ---- */

/* The next token of pointer p (after a '/') into tok; returns the rest (at '/' or '\0'), or
 * NULL for a bad escape or a token too long. */
static const char *next_token(const char *p, char *tok, size_t cap) {
    size_t n = 0;
    for (; *p && *p != '/'; p++) {
        char ch = *p;
        if (ch == '~') {
            if (p[1] != '0' && p[1] != '1') return NULL;
            ch = p[1] == '0' ? '~' : '/';
            p++;
        }
        if (n + 1 >= cap) return NULL;
        tok[n++] = ch;
    }
    tok[n] = '\0';
    return p;
}

/* An array index token: digits without a leading zero. */
static int array_index(const char *tok, size_t *out) {
    if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9) return 0;
    size_t v = 0;
    for (const char *t = tok; *t; t++) {
        if (*t < '0' || *t > '9') return 0;
        v = v * 10 + (size_t)(*t - '0');
    }
    *out = v;
    return 1;
}

const json_t *nn__pointer_get(const json_t *doc, const char *pointer) {
    const json_t *v = doc;
    const char *p = pointer;
    char tok[NN__SPTR];
    if (*p != '/') return NULL;
    while (v && *p == '/') {
        p = next_token(p + 1, tok, sizeof tok);
        if (!p) return NULL;
        size_t i;
        if (json_is_object(v))
            v = json_object_get(v, tok);
        else if (json_is_array(v) && array_index(tok, &i))
            v = json_array_get(v, i);
        else
            v = NULL;
    }
    return v;
}

/* The result of the final set (Jansson steals the value either way). */
static int set_last(int failed, char *why, size_t cap) {
    if (failed) (void)snprintf(why, cap, "out of memory");
    return failed ? -1 : 0;
}

/* Sets value (stolen) at pointer in doc: objects on the way are created, array elements must
 * exist. Returns 0, or -1 with why. */
static int pointer_set(json_t *doc, const char *pointer, json_t *value, char *why, size_t cap) {
    json_t *v = doc;
    const char *p = pointer;
    char tok[NN__SPTR];
    while (v && *p == '/') {
        p = next_token(p + 1, tok, sizeof tok);
        if (!p) break;
        size_t i = 0;
        int last = *p == '\0';
        if (json_is_object(v)) {
            if (last) return set_last(json_object_set_new(v, tok, value), why, cap);
            json_t *child = json_object_get(v, tok);
            if (!child) {
                child = json_object();
                if (!child || json_object_set_new(v, tok, child)) break;
            }
            v = child;
        } else if (json_is_array(v) && array_index(tok, &i) && i < json_array_size(v)) {
            if (last) return set_last(json_array_set_new(v, i, value), why, cap);
            v = json_array_get(v, i);
        } else {
            break;
        }
    }
    json_decref(value);
    (void)snprintf(why, cap, "cannot set %s in the base spec", pointer);
    return -1;
}

/* ---- values ---- */

static double grid_top(const nn_param *p) {
    return p->low + floor((p->high - p->low) / p->step + 1e-9) * p->step;
}

size_t nn__param_grid_size(const nn_param *p) {
    if (p->type == NN_PARAM_CATEGORICAL) return p->n_choices;
    if (p->step <= 0) return 0;
    return (size_t)floor((p->high - p->low) / p->step + 1e-9) + 1;
}

static double to_x(const nn_param *p, double v) { return p->log ? log(v) : v; }

/* The value of x in the parameter's own units, rounded and clamped. */
static double value_of(const nn_param *p, double x) {
    double v = p->log ? exp(x) : x;
    /* exp(log(low)) may be low plus a rounding error: the bounds are the bounds as written */
    if (fabs(v - p->low) <= 1e-12 * fabs(p->low)) v = p->low;
    if (fabs(v - p->high) <= 1e-12 * fabs(p->high)) v = p->high;
    if (p->step > 0) {
        double k = round((v - p->low) / p->step);
        double top = grid_top(p);
        v = p->low + k * p->step;
        v = v < p->low ? p->low : v > top ? top : v;
    } else {
        v = v < p->low ? p->low : v > p->high ? p->high : v;
    }
    return v;
}

json_t *nn__param_value(const nn_param *p, double x) {
    if (p->type == NN_PARAM_CATEGORICAL) {
        double k = x < 0 ? 0 : x >= (double)p->n_choices ? (double)p->n_choices - 1 : floor(x);
        return json_deep_copy(json_array_get(p->choices, (size_t)k));
    }
    double v = value_of(p, x);
    return p->type == NN_PARAM_INT ? json_integer((json_int_t)llround(v)) : json_real(v);
}

double nn__param_snap(const nn_param *p, double x) {
    if (p->type == NN_PARAM_CATEGORICAL)
        return x < 0 ? 0 : x >= (double)p->n_choices ? (double)p->n_choices - 1 : floor(x);
    double v = value_of(p, x);
    if (p->type == NN_PARAM_INT) v = (double)llround(v);
    return to_x(p, v);
}

double nn__param_x(const nn_param *p, const json_t *v) {
    if (p->type == NN_PARAM_CATEGORICAL) {
        for (size_t i = 0; i < p->n_choices; i++)
            if (json_equal(json_array_get(p->choices, i), (json_t *)v)) return (double)i;
        return NAN;
    }
    if (p->type == NN_PARAM_INT ? !json_is_integer(v) : !json_is_number(v)) return NAN;
    double x = json_number_value(v);
    if (!(x >= p->low && x <= p->high)) return NAN;
    return to_x(p, x);
}

void nn__param_bounds(const nn_param *p, double *lo, double *hi, double *spacing) {
    *spacing = 0;
    if (p->type == NN_PARAM_CATEGORICAL) {
        *lo = 0;
        *hi = (double)p->n_choices;
    } else if (p->log && p->type == NN_PARAM_INT) {
        *lo = log(p->low - 0.5);
        *hi = log(p->high + 0.5);
    } else if (p->log) {
        *lo = log(p->low);
        *hi = log(p->high);
    } else if (p->step > 0) {
        *lo = p->low - p->step / 2;
        *hi = grid_top(p) + p->step / 2;
        *spacing = p->step;
    } else {
        *lo = p->low;
        *hi = p->high;
    }
}

void nn__grid_point(const nn_study_spec *s, size_t i, double *x) {
    for (size_t d = s->n_params; d-- > 0;) {
        const nn_param *p = &s->params[d];
        size_t n = nn__param_grid_size(p);
        if (n == 0) { /* not in a grid study (parsing refuses a float without a step) */
            x[d] = to_x(p, p->low);
            continue;
        }
        size_t k = i % n;
        i /= n;
        x[d] = p->type == NN_PARAM_CATEGORICAL ? (double)k : to_x(p, p->low + (double)k * p->step);
    }
}

void nn__random_point(const nn_study_spec *s, nn_rng *rng, double *x) {
    for (size_t d = 0; d < s->n_params; d++) {
        const nn_param *p = &s->params[d];
        size_t n = nn__param_grid_size(p);
        if (p->type == NN_PARAM_CATEGORICAL || (n > 0 && !p->log)) {
            double k = (double)nn_rng_below(rng, n);
            x[d] = p->type == NN_PARAM_CATEGORICAL ? k : p->low + k * p->step;
        } else {
            double lo, hi, sp;
            nn__param_bounds(p, &lo, &hi, &sp);
            x[d] = nn__param_snap(p, lo + (hi - lo) * nn_rng_uniform(rng));
        }
    }
}

/* ---- applying values ---- */

/* The written base with values set (and, for a trial, its name); NULL with why. */
static json_t *applied(const nn_study_spec *s, const json_t *values, int trial, char *why,
                       size_t cap) {
    json_t *doc = json_deep_copy(s->base);
    if (!doc) {
        (void)snprintf(why, cap, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < s->n_params; i++) {
        json_t *v = json_object_get(values, s->params[i].pointer);
        if (!v) {
            (void)snprintf(why, cap, "no value for %s", s->params[i].pointer);
            json_decref(doc);
            return NULL;
        }
        if (pointer_set(doc, s->params[i].pointer, json_deep_copy(v), why, cap) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    if (trial >= 0) {
        char name[160];
        (void)snprintf(name, sizeof name, "%s trial %d", s->name, trial + 1);
        if (json_object_set_new(doc, "name", json_string(name))) {
            json_decref(doc);
            (void)snprintf(why, cap, "out of memory");
            return NULL;
        }
    }
    return doc;
}

nn_status nn_study_apply(const nn_study_spec *s, const json_t *values, int trial, nn_spec **out,
                         nn_spec_errors *errs) {
    memset(errs, 0, sizeof *errs);
    char why[200];
    json_t *doc = applied(s, values, trial, why, sizeof why);
    if (!doc) {
        nn_spec_errors_add(errs, "", "%s", why);
        return NN_ERR_SPEC;
    }
    nn_status st = nn_spec_from_json(doc, out, errs);
    json_decref(doc);
    return st;
}

/* ---- parsing ---- */

/* Checks that the base stays a valid spec with v (stolen) at p's pointer; problems at ptr. */
static void check_value(nn__sctx *c, const nn_study_spec *s, const nn_param *p, json_t *v,
                        const char *ptr) {
    if (!v) {
        c->oom = 1;
        return;
    }
    char why[200];
    json_t *doc = json_deep_copy(s->base);
    if (!doc) {
        json_decref(v);
        c->oom = 1;
        return;
    }
    if (pointer_set(doc, p->pointer, v, why, sizeof why) != 0) {
        nn_spec_errors_add(c->errs, ptr, "%s", why);
        json_decref(doc);
        return;
    }
    nn_spec_errors sub;
    nn_spec *spec = NULL;
    if (nn_spec_from_json(doc, &spec, &sub) != NN_OK && sub.n > 0)
        nn_spec_errors_add(c->errs, ptr, "gives an invalid spec: %s%s%s", sub.items[0].pointer,
                           *sub.items[0].pointer ? ": " : "", sub.items[0].message);
    nn_spec_destroy(spec);
    json_decref(doc);
}

static void parse_range(nn__sctx *c, const json_t *e, const char *ptr, nn_param *p) {
    int is_int = p->type == NN_PARAM_INT;
    char lp[NN__SPTR], hp[NN__SPTR];
    nn__sptr_key(lp, ptr, "low");
    nn__sptr_key(hp, ptr, "high");
    const json_t *lo = json_object_get(e, "low"), *hi = json_object_get(e, "high");
    int ok = 1;
    if (!lo || (is_int ? !json_is_integer(lo) : !json_is_number(lo)) ||
        !isfinite(json_number_value(lo))) {
        nn_spec_errors_add(c->errs, lp,
                           lo ? (is_int ? "must be an integer" : "must be a number") : "required");
        ok = 0;
    }
    if (!hi || (is_int ? !json_is_integer(hi) : !json_is_number(hi)) ||
        !isfinite(json_number_value(hi))) {
        nn_spec_errors_add(c->errs, hp,
                           hi ? (is_int ? "must be an integer" : "must be a number") : "required");
        ok = 0;
    }
    nn__sget_bool(c, e, ptr, "log", 0, &p->log);
    if (is_int) {
        long long st;
        nn__sget_int(c, e, ptr, "step", 1, 1LL << 30, 1, &st);
        p->step = (double)st;
    } else {
        nn__sget_real(c, e, ptr, "step", 0, INFINITY, 0, &p->step);
        if (json_object_get(e, "step") && !(p->step > 0))
            nn_spec_errors_add(c->errs, ptr, "step must be > 0");
    }
    if (!ok) return;
    p->low = json_number_value(lo);
    p->high = json_number_value(hi);
    if (is_int ? p->low > p->high : !(p->low < p->high))
        nn_spec_errors_add(c->errs, hp, "must be %s low", is_int ? "≥" : ">");
    else if (p->log && p->low <= 0)
        nn_spec_errors_add(c->errs, lp, "must be > 0 with \"log\"");
    else if (p->log && ((!is_int && p->step > 0) || (is_int && p->step != 1)))
        nn_spec_errors_add(c->errs, ptr, "\"log\" and \"step\" do not go together%s",
                           is_int ? " (an int with log takes every integer)" : "");
    else if (p->step > 0 && (p->high - p->low) / p->step > MAX_GRID_STEPS)
        nn_spec_errors_add(c->errs, ptr, "over %.0f steps from low to high", MAX_GRID_STEPS);
}

static void parse_entry(nn__sctx *c, const nn_study_spec *s, const char *key, const json_t *e,
                        nn_param *p) {
    static const char *const keys[] = {"type", "low", "high", "step", "log", "choices"};
    char ptr[NN__SPTR];
    nn__sptr_key(ptr, "/space", key);
    p->pointer = strdup(key);
    if (!p->pointer) {
        c->oom = 1;
        return;
    }
    if (!json_is_object(e)) {
        nn_spec_errors_add(c->errs, ptr, "must be an object");
        return;
    }
    nn__scheck_keys(c, e, ptr, keys, N_OF(keys));
    int t;
    if (!json_object_get(e, "type")) nn_spec_errors_add(c->errs, ptr, "\"type\" is required");
    if (!nn__sget_name(c, e, ptr, "type", "type", type_names, NN_PARAM_COUNT, 0, &t)) return;
    p->type = (nn_param_type)t;
    size_t before = c->errs->n;
    if (p->type == NN_PARAM_CATEGORICAL) {
        static const char *const numeric[] = {"low", "high", "step", "log"};
        for (size_t i = 0; i < N_OF(numeric); i++)
            if (json_object_get(e, numeric[i])) {
                char kp[NN__SPTR];
                nn__sptr_key(kp, ptr, numeric[i]);
                nn_spec_errors_add(c->errs, kp, "only for types float, int");
            }
        const json_t *ch = json_object_get(e, "choices");
        size_t n = json_array_size(ch);
        if (!json_is_array(ch) || n == 0 || n > NN_STUDY_MAX_CHOICES) {
            nn__sptr_key(ptr, ptr, "choices");
            nn_spec_errors_add(c->errs, ptr, "must be a list of 1 to %d values",
                               NN_STUDY_MAX_CHOICES);
            return;
        }
        p->choices = json_deep_copy(ch);
        p->n_choices = n;
        if (!p->choices) c->oom = 1;
    } else {
        if (json_object_get(e, "choices")) {
            char kp[NN__SPTR];
            nn__sptr_key(kp, ptr, "choices");
            nn_spec_errors_add(c->errs, kp, "only for type categorical");
        }
        parse_range(c, e, ptr, p);
    }
    if (c->errs->n != before || c->oom) return;
    char vp[NN__SPTR];
    if (p->type == NN_PARAM_CATEGORICAL) {
        for (size_t i = 0; i < p->n_choices && c->errs->n == before; i++) {
            char cp[NN__SPTR + 32];
            (void)snprintf(cp, sizeof cp, "%s/choices/%zu", ptr, i);
            check_value(c, s, p, json_deep_copy(json_array_get(p->choices, i)), cp);
        }
    } else {
        nn__sptr_key(vp, ptr, "low");
        check_value(c, s, p, nn__param_value(p, to_x(p, p->low)), vp);
        nn__sptr_key(vp, ptr, "high");
        check_value(c, s, p, nn__param_value(p, to_x(p, p->high)), vp);
    }
}

static int by_pointer(const void *a, const void *b) {
    return strcmp(((const nn_param *)a)->pointer, ((const nn_param *)b)->pointer);
}

/* Whether pointer is, or lies inside, what makes trials comparable: their target and rows, id
 * and name, and their folds (seed, validation) — every trial's out-of-fold predictions are of
 * the same rows on the same folds, which the ranking, the ensemble and the paired test rely on. */
static const char *fixed_part(const char *pointer) {
    static const char *const fixed[] = {"/target", "/id",           "/name",
                                        "/seed",   "/text_columns", "/training/validation"};
    for (size_t i = 0; i < N_OF(fixed); i++) {
        size_t n = strlen(fixed[i]);
        if (strncmp(pointer, fixed[i], n) == 0 && (pointer[n] == '\0' || pointer[n] == '/'))
            return fixed[i];
    }
    return NULL;
}

/* A pointer must name something the canonical base has, outside what keeps the trials
 * comparable; none may lie inside another. */
static void check_pointers(nn__sctx *c, const nn_study_spec *s) {
    json_t *canon = nn_spec_to_json(s->spec);
    if (!canon) {
        c->oom = 1;
        return;
    }
    for (size_t i = 0; i < s->n_params; i++) {
        const char *ptr = s->params[i].pointer;
        char p[NN__SPTR];
        nn__sptr_key(p, "/space", ptr);
        if (ptr[0] != '/')
            nn_spec_errors_add(c->errs, p, "must be a JSON pointer (\"/training/epochs\")");
        else if (fixed_part(ptr))
            nn_spec_errors_add(c->errs, p,
                               "%s is the same for every trial (their folds and rows are "
                               "compared): it cannot be searched",
                               fixed_part(ptr));
        else if (!nn__pointer_get(canon, ptr))
            nn_spec_errors_add(c->errs, p, "the base spec has nothing at %s", ptr);
        for (size_t j = 0; j < i; j++) {
            size_t n = strlen(s->params[j].pointer);
            if (strncmp(ptr, s->params[j].pointer, n) == 0 && ptr[n] == '/')
                nn_spec_errors_add(c->errs, p, "lies inside %s, which is searched too",
                                   s->params[j].pointer);
        }
    }
    json_decref(canon);
}

void nn__parse_space(nn__sctx *c, const json_t *space, nn_study_spec *s) {
    size_t n = json_object_size(space);
    if (!json_is_object(space) || n == 0 || n > NN_STUDY_MAX_PARAMS) {
        nn_spec_errors_add(c->errs, "/space",
                           space ? "must be an object of 1 to %d parameters" : "required",
                           NN_STUDY_MAX_PARAMS);
        return;
    }
    s->params = calloc(n, sizeof *s->params);
    if (!s->params) {
        c->oom = 1;
        return;
    }
    const char *key;
    json_t *e;
    json_object_foreach((json_t *)space, key, e) {
        s->params[s->n_params].pointer = strdup(key);
        if (!s->params[s->n_params++].pointer) c->oom = 1;
    }
    if (c->oom) return;
    qsort(s->params, s->n_params, sizeof *s->params, by_pointer);
    size_t before = c->errs->n;
    check_pointers(c, s);
    if (c->errs->n != before) return;
    for (size_t i = 0; i < s->n_params && !c->oom; i++) {
        char *k = s->params[i].pointer;
        s->params[i].pointer = NULL;
        parse_entry(c, s, k, json_object_get(space, k), &s->params[i]);
        free(k);
    }
}

json_t *nn__space_json(const nn_study_spec *s) {
    json_t *o = json_object();
    for (size_t i = 0; o && i < s->n_params; i++) {
        const nn_param *p = &s->params[i];
        json_t *e;
        if (p->type == NN_PARAM_CATEGORICAL)
            e = json_pack("{s:s, s:O}", "type", "categorical", "choices", p->choices);
        else if (p->type == NN_PARAM_INT)
            e = json_pack("{s:s, s:I, s:I, s:I, s:b}", "type", "int", "low", (json_int_t)p->low,
                          "high", (json_int_t)p->high, "step", (json_int_t)p->step, "log", p->log);
        else
            e = json_pack("{s:s, s:f, s:f, s:b}", "type", "float", "low", p->low, "high", p->high,
                          "log", p->log);
        if (e && p->type == NN_PARAM_FLOAT && p->step > 0 &&
            json_object_set_new(e, "step", json_real(p->step))) {
            json_decref(e);
            e = NULL;
        }
        if (!e || json_object_set_new(o, p->pointer, e)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
