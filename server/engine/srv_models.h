/* srv_models.h — a small cache of loaded models for POST /v1/runs/{id}/predict.
 *
 * DESIGN: parsing a model file costs far more than predicting a batch, so up to SRV_MODELS_MAX
 * models stay loaded, least recently used evicted. srv_models_acquire takes a reference (the
 * entry is not evicted or freed until srv_models_release); the model's spec is read-only, so
 * any number of requests read it at once, parsing and formatting their rows in parallel. A
 * model's networks keep per-call workspace, so srv_model_ref_predict locks the entry for the
 * prediction itself: one prediction at a time per model. Lock order: the cache's mutex, then
 * never an entry's (an entry is locked only inside srv_model_ref_predict, holding nothing else).
 */
#ifndef SRV_MODELS_H
#define SRV_MODELS_H

#include "nn_model.h"
#include "srv_store.h"

#define SRV_MODELS_MAX 8

typedef struct srv_models srv_models;

typedef struct srv_model_ref srv_model_ref;

nn_status srv_models_create(srv_models **out, nn_error *err);
void srv_models_destroy(srv_models *m);
/* A reference to the model of run_id, loaded from s if needed. */
nn_status srv_models_acquire(srv_models *m, srv_store *s, const char *run_id, srv_model_ref **out,
                             nn_error *err);
/* The model, to read (its spec); predict with srv_model_ref_predict. */
nn_model *srv_model_ref_model(srv_model_ref *ref);
/* nn_model_predict on the entry, one call at a time per entry. */
nn_status srv_model_ref_predict(srv_model_ref *ref, const nn_table *rows, double **out,
                                nn_error *err);
void srv_models_release(srv_models *m, srv_model_ref *ref);

#endif
