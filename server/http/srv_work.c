/* srv_work.c — the request work threads (see srv_work.h DESIGN). */
#include "srv_work.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>

typedef struct work_job {
    srv_work_fn fn;
    void *arg;
    struct work_job *next;
} work_job;

struct srv_work {
    pthread_mutex_t mu;
    pthread_cond_t more; /* a job was queued, or the pool stops */
    pthread_t *threads;
    int n_threads, max_queue;
    work_job *head, *tail;
    int queued, running, stop;
};

static void *work_main(void *arg) {
    srv_work *w = arg;
    /* below the request threads: on Linux nice is per thread and who = 0 names this one */
    (void)setpriority(PRIO_PROCESS, 0, SRV_WORK_NICE);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop) pthread_cond_wait(&w->more, &w->mu);
        if (!w->head) break; /* stopping, nothing left */
        work_job *j = w->head;
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        w->running++;
        pthread_mutex_unlock(&w->mu);
        j->fn(j->arg, 0);
        free(j);
        pthread_mutex_lock(&w->mu);
        w->running--;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

nn_status srv_work_create(int threads, int max_queue, srv_work **out, nn_error *err) {
    srv_work *w = calloc(1, sizeof *w);
    if (w) w->threads = calloc((size_t)(threads > 0 ? threads : 1), sizeof *w->threads);
    if (!w || !w->threads) {
        free(w);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the work threads");
    }
    w->max_queue = max_queue;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->more, NULL);
    for (int i = 0; i < (threads > 0 ? threads : 1); i++) {
        if (pthread_create(&w->threads[i], NULL, work_main, w) != 0) {
            srv_work_destroy(w);
            return nn_error_set(err, NN_ERR_IO, "cannot start the work threads");
        }
        w->n_threads++;
    }
    *out = w;
    return NN_OK;
}

void srv_work_stop(srv_work *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    work_job *left = w->head; /* answered here, not run */
    w->head = w->tail = NULL;
    w->queued = 0;
    pthread_cond_broadcast(&w->more);
    pthread_mutex_unlock(&w->mu);
    while (left) {
        work_job *j = left;
        left = j->next;
        j->fn(j->arg, 1);
        free(j);
    }
    for (int i = 0; i < w->n_threads; i++) pthread_join(w->threads[i], NULL);
    w->n_threads = 0; /* joined: a second stop has nothing to wait for */
}

void srv_work_destroy(srv_work *w) {
    if (!w) return;
    srv_work_stop(w);
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w);
}

int srv_work_submit(srv_work *w, srv_work_fn fn, void *arg) {
    work_job *j = malloc(sizeof *j);
    if (!j) return -1;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&w->mu);
    int ok = !w->stop && w->queued < w->max_queue;
    if (ok) {
        if (w->tail)
            w->tail->next = j;
        else
            w->head = j;
        w->tail = j;
        w->queued++;
        pthread_cond_signal(&w->more);
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok) free(j);
    return ok ? 0 : -1;
}

void srv_work_stats(srv_work *w, int *running, int *queued) {
    if (!w) {
        *running = *queued = 0;
        return;
    }
    pthread_mutex_lock(&w->mu);
    *running = w->running;
    *queued = w->queued;
    pthread_mutex_unlock(&w->mu);
}
