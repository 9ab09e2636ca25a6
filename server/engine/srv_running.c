/* srv_running.c — the list of tasks this node trains (see srv_running.h). */
#include "srv_running.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct srv_running {
    pthread_mutex_t mu;
    srv_running_task *head;
};

nn_status srv_running_create(srv_running **out, nn_error *err) {
    srv_running *r = calloc(1, sizeof *r);
    if (!r) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return NN_OK;
}

void srv_running_destroy(srv_running *r) {
    if (!r) return;
    while (r->head) {
        srv_running_task *t = r->head;
        r->head = t->next;
        free(t);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

srv_running_task *srv_running_add(srv_running *r, const srv_task_ref *ref) {
    srv_running_task *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ref = *ref;
    atomic_init(&t->cancel, 0);
    atomic_init(&t->why, SRV_STOP_NONE);
    atomic_init(&t->epochs_done, 0);
    pthread_mutex_lock(&r->mu);
    t->next = r->head;
    r->head = t;
    pthread_mutex_unlock(&r->mu);
    return t;
}

void srv_running_remove(srv_running *r, srv_running_task *t) {
    pthread_mutex_lock(&r->mu);
    for (srv_running_task **p = &r->head; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    free(t);
}

int srv_running_stop(srv_running *r, const char *run_id, int task, int attempt, srv_stop_why why) {
    int n = 0;
    pthread_mutex_lock(&r->mu);
    for (srv_running_task *t = r->head; t; t = t->next) {
        if (run_id && strcmp(t->ref.run_id, run_id) != 0) continue;
        if (task >= 0 && t->ref.task != task) continue;
        if (attempt >= 0 && t->ref.attempt != attempt) continue;
        int none = SRV_STOP_NONE;
        (void)atomic_compare_exchange_strong(&t->why, &none, (int)why);
        atomic_store(&t->cancel, 1);
        n++;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

nn_status srv_running_snapshot(srv_running *r, srv_task_ref **refs, int64_t **epochs, size_t *n,
                               nn_error *err) {
    *refs = NULL;
    *epochs = NULL;
    *n = 0;
    pthread_mutex_lock(&r->mu);
    size_t count = 0;
    for (srv_running_task *t = r->head; t; t = t->next) count++;
    srv_task_ref *rf = malloc((count ? count : 1) * sizeof *rf);
    int64_t *ep = malloc((count ? count : 1) * sizeof *ep);
    if (!rf || !ep) {
        pthread_mutex_unlock(&r->mu);
        free(rf);
        free(ep);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    size_t i = 0;
    for (srv_running_task *t = r->head; t; t = t->next, i++) {
        rf[i] = t->ref;
        ep[i] = atomic_load(&t->epochs_done);
    }
    pthread_mutex_unlock(&r->mu);
    *refs = rf;
    *epochs = ep;
    *n = count;
    return NN_OK;
}

void srv_running_count(srv_running *r, int *tasks, int *runs) {
    *tasks = *runs = 0;
    pthread_mutex_lock(&r->mu);
    for (srv_running_task *t = r->head; t; t = t->next) {
        (*tasks)++;
        int seen = 0;
        for (srv_running_task *u = r->head; u != t && !seen; u = u->next)
            seen = strcmp(u->ref.run_id, t->ref.run_id) == 0;
        *runs += !seen;
    }
    pthread_mutex_unlock(&r->mu);
}
