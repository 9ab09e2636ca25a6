/* srv_metrics.c — cached run counts for /metrics (see srv_metrics.h DESIGN). */
#include "srv_metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_metrics {
    pthread_mutex_t mu;
    int64_t at_ms; /* when counted (monotonic); 0 = never */
    long long counts[5];
    long long refreshes;
};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

nn_status srv_metrics_create(srv_metrics **out, nn_error *err) {
    srv_metrics *m = calloc(1, sizeof *m);
    if (!m) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the metrics");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return NN_OK;
}

void srv_metrics_destroy(srv_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

nn_status srv_metrics_run_counts(srv_metrics *m, srv_store *s, long long counts[5], int64_t *age_ms,
                                 nn_error *err) {
    nn_status st = NN_OK;
    pthread_mutex_lock(&m->mu);
    int64_t now = mono_ms();
    if (!m->at_ms || now - m->at_ms >= SRV_METRICS_REFRESH_MS) {
        long long fresh[5];
        st = srv_run_counts(s, fresh, err);
        if (st == NN_OK) {
            memcpy(m->counts, fresh, sizeof fresh);
            m->at_ms = now;
            m->refreshes++;
        }
    }
    memcpy(counts, m->counts, sizeof m->counts);
    *age_ms = m->at_ms ? now - m->at_ms : 0;
    pthread_mutex_unlock(&m->mu);
    return st;
}

long long srv_metrics_refreshes(srv_metrics *m) {
    pthread_mutex_lock(&m->mu);
    long long n = m->refreshes;
    pthread_mutex_unlock(&m->mu);
    return n;
}
