/* srv_models.h — a small cache of loaded models for POST /v1/runs/{id}/predict.
 *
 * DESIGN: parsing a model file costs far more than predicting a batch, so up to SRV_MODELS_MAX
 * models stay loaded, least recently used evicted. A model's networks keep per-call workspace,
 * so one prediction at a time uses a model: srv_models_acquire returns the entry locked and
 * srv_models_release unlocks it. Lock order: the cache's mutex, then never an entry's (acquire
 * takes a reference under the cache's mutex and locks the entry after releasing it).
 */
#ifndef SRV_MODELS_H
#define SRV_MODELS_H

#include "nn_model.h"
#include "srv_app.h"

#define SRV_MODELS_MAX 8

typedef struct srv_model_ref srv_model_ref;

nn_status srv_models_create(srv_models **out, nn_error *err);
void srv_models_destroy(srv_models *m);
/* The model of run_id, loaded from s if needed, locked for the caller. */
nn_status srv_models_acquire(srv_models *m, srv_store *s, const char *run_id,
                             srv_model_ref **out, nn_error *err);
nn_model *srv_model_ref_model(srv_model_ref *ref);
void srv_models_release(srv_models *m, srv_model_ref *ref);

#endif
