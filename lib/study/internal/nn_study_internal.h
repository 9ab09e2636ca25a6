/* nn_study_internal.h — what the files of lib/study share: the parse context and getters of the
 * study document (nn_study_get.c), JSON pointers, the sampled values
 * (nn_study_space.c), TPE (nn_tpe.c) and the state machine's struct (nn_study_state.c,
 * nn_study_board.c). Not public. */
#ifndef NN_STUDY_INTERNAL_H
#define NN_STUDY_INTERNAL_H

#include "nn_rng.h"
#include "nn_study.h"

#include <jansson.h>

#define NN__SPTR 128 /* = sizeof ((nn_spec_error *)0)->pointer */

/* Stream purposes of a study's draws, in the stream group of the trial (trial + 1) or 0. */
enum { NN_STREAM_SAMPLE = 16, NN_STREAM_HOLDOUT = 17 };

typedef struct nn__sctx {
    nn_spec_errors *errs;
    int oom;
} nn__sctx;

/* base + "/" + key with ~ and / escaped (RFC 6901); truncated at NN__SPTR. */
void nn__sptr_key(char out[NN__SPTR], const char *base, const char *key);

/* Reports keys of obj not in names[0..n) (with a did-you-mean). obj may be NULL. */
void nn__scheck_keys(nn__sctx *c, const json_t *obj, const char *ptr, const char *const *names,
                     size_t n);
/* Getters: obj[key] at ptr/key (obj may be NULL: the default); invalid values are recorded and
 * give the default. Return 1 when present and valid. */
int nn__sget_int(nn__sctx *c, const json_t *obj, const char *ptr, const char *key, long long lo,
                 long long hi, long long def, long long *out);
int nn__sget_real(nn__sctx *c, const json_t *obj, const char *ptr, const char *key, double lo,
                  double hi, double def, double *out);
int nn__sget_bool(nn__sctx *c, const json_t *obj, const char *ptr, const char *key, int def,
                  int *out);
/* One of the names of a table ("unknown <what> \"x\" (expected one of …)"). */
int nn__sget_name(nn__sctx *c, const json_t *obj, const char *ptr, const char *key,
                  const char *what, const char *const *names, int n, int def, int *out);
const json_t *nn__sget_obj(nn__sctx *c, const json_t *obj, const char *ptr, const char *key);

/* ---- the space (nn_study_space.c) ---- */

/* Parses "space" into s->params (sorted by pointer), checking each entry against the base. */
void nn__parse_space(nn__sctx *c, const json_t *space, nn_study_spec *s);
/* The canonical form of the space (a new reference). */
json_t *nn__space_json(const nn_study_spec *s);
/* The value at a JSON pointer of doc, or NULL (malformed pointer, nothing there). */
const json_t *nn__pointer_get(const json_t *doc, const char *pointer);
/* The number of values a parameter takes in a grid (0: a float without a step). */
size_t nn__param_grid_size(const nn_param *p);
/* Parameter p's value as a JSON value (a new reference) for internal number x. */
json_t *nn__param_value(const nn_param *p, double x);
/* The internal number of a parameter's JSON value (-1 … NaN when it is not one of its values). */
double nn__param_x(const nn_param *p, const json_t *v);
/* The internal range [*lo, *hi] TPE samples in, and the grid spacing (0 = continuous). */
void nn__param_bounds(const nn_param *p, double *lo, double *hi, double *spacing);
/* Snaps an internal number to the parameter's values (rounding to its step, clamping). */
double nn__param_snap(const nn_param *p, double x);
/* The i-th grid point's internal numbers (x, n_params), dimension 0 varying slowest. */
void nn__grid_point(const nn_study_spec *s, size_t i, double *x);
/* A uniform draw of every parameter. */
void nn__random_point(const nn_study_spec *s, nn_rng *rng, double *x);

/* ---- TPE (nn_tpe.c) ---- */

/* One observation: its internal numbers (n_params) and whether it is among the good. */
typedef struct nn__tpe_obs {
    const double *x;
    int good;
} nn__tpe_obs;

/* Draws x (n_params) by TPE from obs[0..n) (independent per parameter). Returns NN_ERR_NOMEM
 * or NN_OK. */
nn_status nn__tpe_sample(const nn_study_spec *s, const nn__tpe_obs *obs, size_t n, nn_rng *rng,
                         double *x, nn_error *err);

/* ---- ranking (nn_study_board.c) ---- */

/* Trials 0 … n − 1 by rank (see nn_study_ranking) into *order (malloc'd); returns n or -1. */
int nn__rank(const nn_study *st, int n, int **order);

/* ---- the state machine (nn_study_state.c) ---- */

struct nn_study {
    const nn_study_spec *spec;
    nn_trial *trials; /* (n) of cap */
    int n, cap;
    nn_study_status status;
    int n_failed;
    long long epoch_folds;
    char error[256];
};

/* The fold count of a trial's spec (k, 1 for a holdout, 0 without validation). */
int nn__trial_folds(const nn_trial *t);

#endif
