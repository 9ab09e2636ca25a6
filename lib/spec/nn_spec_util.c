/* nn_spec_util.c — the spec parser's building blocks: JSON pointers, typed getters that record
 * problems instead of stopping, key checks with did-you-mean, canonical-form builders. */
#include "nn_spec_internal.h"
#include "nn_text.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn__ptr_key(char out[NN__PTR], const char *base, const char *key) {
    nn_json_ptr_key(out, NN__PTR, base, key);
}

void nn__ptr_index(char out[NN__PTR], const char *base, size_t i) {
    char idx[24];
    (void)snprintf(idx, sizeof idx, "%zu", i);
    nn__ptr_key(out, base, idx);
}

/* "type momentum" or "types adam, adamw" for the variants in mask. */
static void only_for(const nn__variant *v, unsigned mask, char *out, size_t cap) {
    unsigned count = 0;
    for (int i = 0; i < v->n; i++) count += (mask >> i) & 1u;
    size_t len = (size_t)snprintf(out, cap, "only for %s%s ", v->label, count > 1 ? "s" : "");
    for (int i = 0, k = 0; i < v->n && len < cap; i++) {
        if (!((mask >> i) & 1u)) continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", k++ ? ", " : "", v->names[i]);
    }
}

static const char *key_name_at(const void *keys, size_t i) {
    return ((const nn__key *)keys)[i].name;
}

void nn__check_keys(nn__ctx *c, const json_t *obj, const char *ptr, const nn__key *keys,
                    size_t n_keys, const nn__variant *v) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        char p[NN__PTR];
        nn__ptr_key(p, ptr, key);
        size_t i = 0;
        while (i < n_keys && strcmp(keys[i].name, key) != 0) i++;
        if (i < n_keys) {
            if (keys[i].only && v && v->current >= 0 && !((keys[i].only >> v->current) & 1u)) {
                char msg[200];
                only_for(v, keys[i].only, msg, sizeof msg);
                nn_spec_errors_add(c->errs, p, "%s", msg);
            }
            continue;
        }
        long j = nn_closest(key, keys, n_keys, key_name_at);
        const char *best = j >= 0 ? keys[j].name : NULL;
        if (best)
            nn_spec_errors_add(c->errs, p, "unknown key \"%.64s\" (did you mean \"%s\"?)", key,
                               best);
        else
            nn_spec_errors_add(c->errs, p, "unknown key \"%.64s\"", key);
    }
}

/* Looks up obj[key]; records "required" when it is absent and req says so. */
static json_t *lookup(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, nn__req req,
                      char p[NN__PTR]) {
    nn__ptr_key(p, ptr, key);
    json_t *v = json_object_get(obj, key);
    if (!v && req == NN__REQUIRED) nn_spec_errors_add(c->errs, p, "required");
    return v;
}

int nn__get_int(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, long long lo,
                long long hi, long long def, nn__req req, long long *out) {
    char p[NN__PTR];
    json_t *v = lookup(c, obj, ptr, key, req, p);
    *out = def;
    if (!v) return 0;
    long long x = json_is_integer(v) ? json_integer_value(v) : 0;
    if (json_is_integer(v) && x >= lo && x <= hi) {
        *out = x;
        return 1;
    }
    /* too small names the bound that was missed; too big or not an integer, the whole range */
    if ((json_is_integer(v) && x < lo) || hi == LLONG_MAX)
        nn_spec_errors_add(c->errs, p, "must be an integer ≥ %lld", lo);
    else
        nn_spec_errors_add(c->errs, p, "must be an integer in %lld..%lld", lo, hi);
    return 0;
}

static int in_range(double x, nn__range r) {
    if (!isfinite(x)) return 0;
    if (r.lo_open ? !(x > r.lo) : !(x >= r.lo)) return 0;
    if (r.hi_open ? !(x < r.hi) : !(x <= r.hi)) return 0;
    return 1;
}

int nn__get_real(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, nn__range r,
                 double def, nn__req req, double *out) {
    char p[NN__PTR];
    json_t *v = lookup(c, obj, ptr, key, req, p);
    *out = def;
    if (!v) return 0;
    if (json_is_number(v) && in_range(json_number_value(v), r)) {
        *out = json_number_value(v);
        return 1;
    }
    if (isinf(r.lo) && isinf(r.hi))
        nn_spec_errors_add(c->errs, p, "must be a number");
    else if (isinf(r.hi))
        nn_spec_errors_add(c->errs, p, "must be a number %s %g", r.lo_open ? ">" : "≥", r.lo);
    else
        nn_spec_errors_add(c->errs, p, "must be a number in %c%g, %g%c", r.lo_open ? '(' : '[',
                           r.lo, r.hi, r.hi_open ? ')' : ']');
    return 0;
}

int nn__get_bool(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, int def,
                 int *out) {
    char p[NN__PTR];
    json_t *v = lookup(c, obj, ptr, key, NN__OPTIONAL, p);
    *out = def;
    if (!v) return 0;
    if (!json_is_boolean(v)) {
        nn_spec_errors_add(c->errs, p, "must be true or false");
        return 0;
    }
    *out = json_is_true(v);
    return 1;
}

int nn__get_str(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, nn__req req,
                const char **out) {
    char p[NN__PTR];
    json_t *v = lookup(c, obj, ptr, key, req, p);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_string(v)) {
        nn_spec_errors_add(c->errs, p, "must be a string");
        return 0;
    }
    if (json_string_length(v) == 0) {
        nn_spec_errors_add(c->errs, p, "must not be empty");
        return 0;
    }
    *out = json_string_value(v);
    return 1;
}

int nn__get_name(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, const char *what,
                 const char *const *names, int n, int def, nn__req req, int *out) {
    char p[NN__PTR];
    json_t *v = lookup(c, obj, ptr, key, req, p);
    *out = def;
    if (!v) return 0;
    if (!json_is_string(v)) {
        nn_spec_errors_add(c->errs, p, "must be a string");
        return 0;
    }
    const char *s = json_string_value(v);
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 1;
        }
    }
    char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    nn_spec_errors_add(c->errs, p, "unknown %s \"%.64s\" (expected one of %s)", what, s, list);
    *out = -1;
    return 0;
}

const json_t *nn__get_obj(nn__ctx *c, const json_t *obj, const char *ptr, const char *key,
                          nn__req req) {
    char p[NN__PTR];
    json_t *v = lookup(c, obj, ptr, key, req, p);
    if (v && !json_is_object(v)) {
        nn_spec_errors_add(c->errs, p, "must be an object");
        return NULL;
    }
    return v;
}

char *nn__strdup(nn__ctx *c, const char *s) {
    char *d = strdup(s);
    if (!d) c->oom = 1;
    return d;
}

void nn__free_names(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* Checks that v is a non-empty array of distinct non-empty strings (at most max). */
static int check_names(nn__ctx *c, const json_t *v, const char *ptr, size_t max) {
    if (!json_is_array(v)) {
        nn_spec_errors_add(c->errs, ptr, "must be a list of names");
        return 0;
    }
    size_t n = json_array_size(v);
    if (n == 0) {
        nn_spec_errors_add(c->errs, ptr, "must not be empty");
        return 0;
    }
    if (n > max) {
        nn_spec_errors_add(c->errs, ptr, "must have at most %zu names", max);
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        char p[NN__PTR];
        nn__ptr_index(p, ptr, i);
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || json_string_length(e) == 0) {
            nn_spec_errors_add(c->errs, p, "must be a non-empty string");
            ok = 0;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const json_t *f = json_array_get(v, j);
            if (json_is_string(f) && json_equal((json_t *)e, (json_t *)f)) {
                nn_spec_errors_add(c->errs, p, "duplicate name \"%.64s\"", json_string_value(e));
                ok = 0;
                break;
            }
        }
    }
    return ok;
}

int nn__names(nn__ctx *c, const json_t *v, const char *ptr, size_t max, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!check_names(c, v, ptr, max)) return 0;
    size_t m = json_array_size(v);
    char **names = calloc(m, sizeof *names);
    if (!names) {
        c->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < m; i++) {
        names[i] = nn__strdup(c, json_string_value(json_array_get(v, i)));
        if (!names[i]) {
            nn__free_names(names, i);
            return 0;
        }
    }
    *out = names;
    *n = m;
    return 1;
}

json_t *nn__cobj(nn__ctx *c) {
    json_t *o = json_object();
    if (!o) c->oom = 1;
    return o;
}

void nn__cset(nn__ctx *c, json_t *obj, const char *key, json_t *v) {
    if (!v || !obj) {
        c->oom |= !v;
        json_decref(v);
        return;
    }
    if (json_object_set_new(obj, key, v) != 0) c->oom = 1;
}

json_t *nn__cnames(nn__ctx *c, char *const *names, size_t n) {
    json_t *a = json_array();
    if (!a) {
        c->oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, json_string(names[i])) != 0) c->oom = 1;
    return a;
}
