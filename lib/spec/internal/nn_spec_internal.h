/* nn_spec_internal.h — helpers shared by the spec parser's files (nn_spec*.c); not public.
 *
 * DESIGN: every section parser takes the parse context, the JSON object of its section (NULL
 * when absent: getters then yield defaults, so an absent section and {} behave the same), the
 * section's JSON pointer, and the nn_spec fields to fill. Each also returns (or sets into its
 * parent) the section's canonical JSON: the same keys with every default filled in, real-valued
 * keys always as reals and integer keys as integers, so that "1" and "1.0" hash alike. Getters
 * record a problem and keep going; the caller looks at errs->n at the end.
 */
#ifndef NN_SPEC_INTERNAL_H
#define NN_SPEC_INTERNAL_H

#include "nn_spec.h"

#include <jansson.h>

#define NN__PTR 128      /* = sizeof ((nn_spec_error *)0)->pointer; longer pointers are truncated */
#define NN__MAX_NAME 128 /* bytes in a spec's name */

typedef struct nn__ctx {
    nn_spec_errors *errs;
    int oom; /* an allocation failed: the result is unusable, report NN_ERR_NOMEM */
} nn__ctx;

typedef enum nn__req { NN__OPTIONAL, NN__REQUIRED } nn__req;

/* A closed or open numeric interval for real-valued keys; hi = INFINITY for none. */
typedef struct nn__range {
    double lo, hi;
    int lo_open, hi_open;
} nn__range;

/* A known key; `only` is a bitmask of the variants (types, ops, strategies) it belongs to,
 * 0 meaning every variant. */
typedef struct nn__key {
    const char *name;
    unsigned only;
} nn__key;

/* The variant an object is ("type": "momentum"), for "only for type momentum" messages;
 * current < 0 when the variant itself is invalid (then only unknown keys are reported). */
typedef struct nn__variant {
    const char *label;        /* "type", "op", "strategy" */
    const char *const *names; /* (n) */
    int n;
    int current;
} nn__variant;

/* JSON pointers (RFC 6901): base + "/" + key with ~ and / escaped, or base + "/" + index. */
void nn__ptr_key(char out[NN__PTR], const char *base, const char *key);
void nn__ptr_index(char out[NN__PTR], const char *base, size_t i);

/* Reports every key of obj that is not in keys (with a did-you-mean when a known key is within
 * edit distance 2) or that does not belong to v's current variant. obj may be NULL. */
void nn__check_keys(nn__ctx *c, const json_t *obj, const char *ptr, const nn__key *keys,
                    size_t n_keys, const nn__variant *v);

/* Getters read obj[key] (obj may be NULL) at pointer ptr + "/" + key. When the key is absent
 * they store the default (or record "required"); when it is invalid they record the problem
 * and store the default. They return 1 when the key was present and valid, else 0. */
int nn__get_int(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, long long lo,
                long long hi, long long def, nn__req req, long long *out);
int nn__get_real(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, nn__range r,
                 double def, nn__req req, double *out);
int nn__get_bool(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, int def,
                 int *out);
/* A non-empty string, borrowed from obj. */
int nn__get_str(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, nn__req req,
                const char **out);
/* One of names[0..n) ("unknown <what> \"x\" (expected one of a, b)"); *out is its index. */
int nn__get_name(nn__ctx *c, const json_t *obj, const char *ptr, const char *key, const char *what,
                 const char *const *names, int n, int def, nn__req req, int *out);
/* obj[key] if it is an object; NULL (recording "must be an object" or "required") otherwise. */
const json_t *nn__get_obj(nn__ctx *c, const json_t *obj, const char *ptr, const char *key,
                          nn__req req);
/* A non-empty array of distinct non-empty strings at value v (pointer ptr), at most max of
 * them; on success *out is owned by the caller. */
int nn__names(nn__ctx *c, const json_t *v, const char *ptr, size_t max, char ***out, size_t *n);
void nn__free_names(char **names, size_t n);
/* A copy of s, recording out-of-memory in c. */
char *nn__strdup(nn__ctx *c, const char *s);

/* Canonical-form builders: they record out-of-memory in c instead of failing. nn__cset steals
 * v; with obj NULL it only releases v. */
json_t *nn__cobj(nn__ctx *c);
void nn__cset(nn__ctx *c, json_t *obj, const char *key, json_t *v);
json_t *nn__cnames(nn__ctx *c, char *const *names, size_t n);

/* Section parsers (nn_spec_train.c, nn_spec_steps.c): fill spec from the section (NULL when
 * absent) and return its canonical JSON (a new reference; NULL only when out of memory). */
json_t *nn__parse_training(nn__ctx *c, const json_t *obj, nn_spec *spec);
json_t *nn__parse_steps(nn__ctx *c, const json_t *arr, nn_spec *spec);
void nn__free_step(nn_step *step);

#endif
