/* srv_models.c — the model cache (see srv_models.h DESIGN). */
#include "srv_models.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct srv_model_ref {
    char run_id[SRV_ID_LEN + 1];
    nn_model *model;
    pthread_mutex_t use; /* held while predicting (the networks' workspace) */
    int refs;            /* guarded by the cache's mutex */
    int64_t last_used;
    int evicted;
};

struct srv_models {
    pthread_mutex_t mu;
    srv_model_ref *slots[SRV_MODELS_MAX];
};

nn_status srv_models_create(srv_models **out, nn_error *err) {
    srv_models *m = calloc(1, sizeof *m);
    if (!m) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the model cache");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return NN_OK;
}

static void ref_free(srv_model_ref *r) {
    nn_model_destroy(r->model);
    pthread_mutex_destroy(&r->use);
    free(r);
}

void srv_models_destroy(srv_models *m) {
    if (!m) return;
    for (int i = 0; i < SRV_MODELS_MAX; i++)
        if (m->slots[i]) ref_free(m->slots[i]);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Looks run_id up and takes a reference; m->mu held. */
static srv_model_ref *lookup(srv_models *m, const char *run_id) {
    for (int i = 0; i < SRV_MODELS_MAX; i++) {
        srv_model_ref *r = m->slots[i];
        if (r && strcmp(r->run_id, run_id) == 0) {
            r->refs++;
            r->last_used = srv_now_ms();
            return r;
        }
    }
    return NULL;
}

/* Puts r in a free slot or evicts the least recently used unreferenced entry; m->mu held. */
static void insert(srv_models *m, srv_model_ref *r) {
    int slot = -1;
    for (int i = 0; i < SRV_MODELS_MAX && slot < 0; i++)
        if (!m->slots[i]) slot = i;
    for (int i = 0; i < SRV_MODELS_MAX && slot < 0; i++) {
        if (m->slots[i]->refs) continue;
        if (slot < 0 || m->slots[i]->last_used < m->slots[slot]->last_used) slot = i;
    }
    if (slot < 0) { /* every entry in use: this one lives only for its caller */
        r->evicted = 1;
        return;
    }
    if (m->slots[slot]) ref_free(m->slots[slot]);
    m->slots[slot] = r;
}

nn_status srv_models_acquire(srv_models *m, srv_store *s, const char *run_id, srv_model_ref **out,
                             nn_error *err) {
    pthread_mutex_lock(&m->mu);
    srv_model_ref *r = lookup(m, run_id);
    pthread_mutex_unlock(&m->mu);
    if (!r) {
        char *text = NULL;
        nn_status st = srv_model_get(s, run_id, &text, err);
        if (st != NN_OK) return st;
        nn_model *model = NULL;
        st = nn_model_from_json(text, strlen(text), &model, err);
        free(text);
        if (st != NN_OK) return st;
        r = calloc(1, sizeof *r);
        if (!r) {
            nn_model_destroy(model);
            return nn_error_set(err, NN_ERR_NOMEM, "out of memory for a model");
        }
        memcpy(r->run_id, run_id, strlen(run_id) + 1);
        r->model = model;
        r->refs = 1;
        r->last_used = srv_now_ms();
        pthread_mutex_init(&r->use, NULL);
        pthread_mutex_lock(&m->mu);
        srv_model_ref *again = lookup(m, run_id); /* loaded meanwhile by another request */
        if (again) {
            pthread_mutex_unlock(&m->mu);
            ref_free(r);
            r = again;
        } else {
            insert(m, r);
            pthread_mutex_unlock(&m->mu);
        }
    }
    *out = r;
    return NN_OK;
}

nn_model *srv_model_ref_model(srv_model_ref *ref) { return ref->model; }

nn_status srv_model_ref_predict(srv_model_ref *ref, const nn_table *rows, double **out,
                                nn_error *err) {
    pthread_mutex_lock(&ref->use);
    nn_status st = nn_model_predict(ref->model, rows, out, err);
    pthread_mutex_unlock(&ref->use);
    return st;
}

void srv_models_release(srv_models *m, srv_model_ref *ref) {
    pthread_mutex_lock(&m->mu);
    ref->refs--;
    int drop = ref->evicted && ref->refs == 0;
    pthread_mutex_unlock(&m->mu);
    if (drop) ref_free(ref);
}
