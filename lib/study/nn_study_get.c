/* nn_study_get.c — reading a study document: JSON pointers of its keys and the checked getters
 * every section's parser uses (the contract is nn_study_internal.h). */
#include "nn_study_internal.h"

#include "nn_text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void nn__sptr_key(char out[NN__SPTR], const char *base, const char *key) {
    nn_json_ptr_key(out, NN__SPTR, base, key);
}

static const char *name_at(const void *names, size_t i) { return ((const char *const *)names)[i]; }

void nn__scheck_keys(nn__sctx *c, const json_t *obj, const char *ptr, const char *const *names,
                     size_t n) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        size_t i = 0;
        while (i < n && strcmp(names[i], key) != 0) i++;
        if (i < n) continue;
        char p[NN__SPTR];
        nn__sptr_key(p, ptr, key);
        long j = nn_closest(key, names, n, name_at);
        if (j >= 0)
            nn_spec_errors_add(c->errs, p, "unknown key \"%.64s\" (did you mean \"%s\"?)", key,
                               names[j]);
        else
            nn_spec_errors_add(c->errs, p, "unknown key \"%.64s\"", key);
    }
}

int nn__sget_int(nn__sctx *c, const json_t *obj, const char *ptr, const char *key, long long lo,
                 long long hi, long long def, long long *out) {
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v) return 0;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *out = json_integer_value(v);
        return 1;
    }
    char p[NN__SPTR];
    nn__sptr_key(p, ptr, key);
    nn_spec_errors_add(c->errs, p, "must be an integer in %lld..%lld", lo, hi);
    return 0;
}

int nn__sget_real(nn__sctx *c, const json_t *obj, const char *ptr, const char *key, double lo,
                  double hi, double def, double *out) {
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v) return 0;
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (isfinite(x) && x >= lo && x <= hi) {
        *out = x;
        return 1;
    }
    char p[NN__SPTR];
    nn__sptr_key(p, ptr, key);
    nn_spec_errors_add(c->errs, p, "must be a number in [%g, %g]", lo, hi);
    return 0;
}

int nn__sget_bool(nn__sctx *c, const json_t *obj, const char *ptr, const char *key, int def,
                  int *out) {
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v) return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 1;
    }
    char p[NN__SPTR];
    nn__sptr_key(p, ptr, key);
    nn_spec_errors_add(c->errs, p, "must be true or false");
    return 0;
}

int nn__sget_name(nn__sctx *c, const json_t *obj, const char *ptr, const char *key,
                  const char *what, const char *const *names, int n, int def, int *out) {
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v) return 0;
    char p[NN__SPTR];
    nn__sptr_key(p, ptr, key);
    const char *s = json_string_value(v);
    if (!s) {
        nn_spec_errors_add(c->errs, p, "must be a string");
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return 1;
        }
    char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    nn_spec_errors_add(c->errs, p, "unknown %s \"%.64s\" (expected one of %s)", what, s, list);
    return 0;
}

const json_t *nn__sget_obj(nn__sctx *c, const json_t *obj, const char *ptr, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_object(v)) return v;
    char p[NN__SPTR];
    nn__sptr_key(p, ptr, key);
    nn_spec_errors_add(c->errs, p, "must be an object");
    return NULL;
}
