/* srv_evwriter.c — the event writer thread (see srv_evwriter.h DESIGN). */
#include "srv_evwriter.h"

#include "nn_clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct item {
    struct item *next;
    int64_t gen; /* 1, 2, 3 … in put order */
    char run_id[SRV_ID_LEN + 1];
    int64_t seq;
    char type[16];
    char *data;
    int fenced;
    srv_task_ref fence;
    int64_t epochs_done;
} item;

struct srv_evwriter {
    srv_ctx *ctx;
    srv_hub *hub; /* woken after a batch is stored (shared stores; may be NULL) */
    int shared;   /* the store numbers events: keep put order, wake the hub after storing */
    pthread_mutex_t mu;
    pthread_cond_t work; /* items arrived, or stop */
    pthread_cond_t done; /* a batch was stored, or room freed */
    pthread_t thread;
    item *head, *tail;
    int64_t n_queued;
    int64_t put_gen, done_gen;
    int flushers; /* threads waiting in srv_evwriter_flush: no lingering for them */
    int stop;
    int give_up_ms; /* when stopping: how long to keep trying a store that does not answer */
    srv_evwriter_stats stats;
};

static void free_items(item *it) {
    while (it) {
        item *next = it->next;
        free(it->data);
        free(it);
        it = next;
    }
}

static int cmp_items(const void *a, const void *b) {
    const item *x = *(item *const *)a, *y = *(item *const *)b;
    int c = strcmp(x->run_id, y->run_id);
    if (c) return c;
    if (x->fenced != y->fenced) return x->fenced - y->fenced;
    if (x->fenced && x->fence.task != y->fence.task) return x->fence.task - y->fence.task;
    if (x->fenced && x->fence.attempt != y->fence.attempt)
        return x->fence.attempt - y->fence.attempt;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int same_fence(const item *a, const item *b) {
    return a->fenced && b->fenced && strcmp(a->run_id, b->run_id) == 0 &&
           a->fence.task == b->fence.task && a->fence.attempt == b->fence.attempt;
}

/* Stores the batch (a list of n items) in one transaction. Numbered events (SQLite) are
 * grouped by fence, so the lease fence is checked once per task; unnumbered ones (a shared
 * store) keep their put order, which is the order their numbers are given in. */
static nn_status store_batch(srv_evwriter *w, item *batch, size_t n, size_t *dropped,
                             nn_error *err) {
    item **v = malloc(n * sizeof(item *));
    srv_event_put *ev = malloc(n * sizeof *ev);
    if (!v || !ev) {
        free(v);
        free(ev);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory storing events");
    }
    size_t k = 0;
    for (item *it = batch; it; it = it->next) v[k++] = it;
    if (!w->shared) qsort(v, n, sizeof(item *), cmp_items);
    const srv_task_ref *group = NULL; /* one fence pointer per task, so it is checked once */
    for (size_t i = 0; i < n; i++) {
        const item *it = v[i];
        if (it->fenced && (w->shared || i == 0 || !same_fence(v[i - 1], it))) group = &it->fence;
        ev[i] =
            (srv_event_put){it->run_id,      it->seq, it->type, it->data, it->fenced ? group : NULL,
                            it->epochs_done, it->gen};
    }
    nn_status st = NN_ERR_IO;
    srv_store *s = srv_ctx_store(w->ctx, err);
    if (s) st = srv_events_put(s, w->ctx->node, ev, n, dropped, err);
    free(v);
    free(ev);
    return st;
}

/* After a batch of a shared store was stored: this node's streams of its runs read again
 * (other nodes' learn it from the store's NOTIFY). */
static void wake_readers(srv_evwriter *w, const item *batch) {
    if (!w->shared || !w->hub) return;
    const char *last = NULL;
    for (const item *it = batch; it; it = it->next) {
        if (last && strcmp(last, it->run_id) == 0) continue;
        srv_hub_wake_run(w->hub, it->run_id);
        last = it->run_id;
    }
}

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void *writer_main(void *arg) {
    srv_evwriter *w = arg;
    long backoff = 0;
    int64_t stop_since = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop) pthread_cond_wait(&w->work, &w->mu);
        if (!w->head) break; /* stopping and nothing left */
        if (!w->stop && !w->flushers && w->n_queued < SRV_EVWRITER_BATCH) {
            /* linger a little so a batch gathers: fewer, larger transactions */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += SRV_EVWRITER_LINGER_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
            (void)pthread_cond_timedwait(&w->work, &w->mu, &until);
        }
        /* take up to a batch from the head; it stays queued (counted) until stored */
        item *batch = w->head, *last = w->head;
        size_t n = 1;
        while (last->next && n < SRV_EVWRITER_BATCH) last = last->next, n++;
        w->head = last->next;
        if (!w->head) w->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->mu);

        nn_error err = {0};
        size_t dropped = 0;
        nn_status st = store_batch(w, batch, n, &dropped, &err);

        pthread_mutex_lock(&w->mu);
        if (st == NN_OK || !srv_store_transient(st)) {
            if (st != NN_OK) /* a bug, not the disk: retrying cannot help */
                (void)fprintf(stderr, "nnd: events not stored: %s\n", err.msg);
            w->done_gen = last->gen;
            w->n_queued -= (int64_t)n;
            w->stats.written += st == NN_OK ? (int64_t)n : 0;
            w->stats.dropped += (int64_t)dropped;
            w->stats.batches++;
            backoff = 0;
            pthread_cond_broadcast(&w->done);
            pthread_mutex_unlock(&w->mu);
            if (st == NN_OK) wake_readers(w, batch);
            free_items(batch);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        /* the store did not take it: back to the head, try again after a pause */
        last->next = w->head;
        w->head = batch;
        if (!w->tail) w->tail = last;
        w->stats.retries++;
        if (w->stop) {
            int64_t now = nn_clock_mono_ms();
            if (!stop_since) stop_since = now;
            if (now - stop_since >= w->give_up_ms) {
                (void)fprintf(stderr, "nnd: %lld events not stored at shutdown: %s\n",
                              (long long)w->n_queued, err.msg);
                break;
            }
        } else if (backoff == 0 || backoff >= 1000) {
            (void)fprintf(stderr, "nnd: storing events: %s (retrying)\n", err.msg);
        }
        backoff = backoff ? (backoff * 2 > 1000 ? 1000 : backoff * 2) : 20;
        pthread_mutex_unlock(&w->mu);
        pause_ms(backoff);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

nn_status srv_evwriter_create(srv_ctx *ctx, srv_hub *hub, srv_evwriter **out, nn_error *err) {
    srv_evwriter *w = calloc(1, sizeof *w);
    if (!w) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the event writer");
    w->ctx = ctx;
    w->hub = hub;
    w->shared = ctx->stores && srv_stores_shared(ctx->stores);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->done);
        free(w);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start the event writer's thread");
    }
    *out = w;
    return NN_OK;
}

void srv_evwriter_destroy(srv_evwriter *w, int wait_ms) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    w->give_up_ms = wait_ms;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    free_items(w->head);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}

void srv_evwriter_put(srv_evwriter *w, const char *run_id, int64_t seq, const char *type,
                      char *data_take, const srv_task_ref *fence, int64_t epochs_done) {
    item *it = calloc(1, sizeof *it);
    if (!it) {
        (void)fprintf(stderr, "nnd: run %s: out of memory queueing event %lld\n", run_id,
                      (long long)seq);
        free(data_take);
        return;
    }
    (void)snprintf(it->run_id, sizeof it->run_id, "%s", run_id);
    it->seq = seq;
    (void)snprintf(it->type, sizeof it->type, "%s", type);
    it->data = data_take;
    it->fenced = fence != NULL;
    if (fence) it->fence = *fence;
    it->epochs_done = epochs_done;
    pthread_mutex_lock(&w->mu);
    while (w->n_queued >= SRV_EVWRITER_MAX_QUEUED && !w->stop) pthread_cond_wait(&w->done, &w->mu);
    it->gen = ++w->put_gen;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->n_queued++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

nn_status srv_evwriter_flush(srv_evwriter *w, int wait_ms, nn_error *err) {
    pthread_mutex_lock(&w->mu);
    int64_t want = w->put_gen;
    w->flushers++;
    pthread_cond_signal(&w->work); /* stop lingering */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    int timed_out = 0;
    while (w->done_gen < want && !timed_out)
        timed_out = pthread_cond_timedwait(&w->done, &w->mu, &until) != 0;
    int ok = w->done_gen >= want;
    w->flushers--;
    pthread_mutex_unlock(&w->mu);
    if (ok) return NN_OK;
    return nn_error_set(err, NN_ERR_IO,
                        "events are not stored yet: the database did not answer "
                        "for %d ms",
                        wait_ms);
}

void srv_evwriter_stats_get(srv_evwriter *w, srv_evwriter_stats *out) {
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    out->queued = w->n_queued;
    pthread_mutex_unlock(&w->mu);
}
