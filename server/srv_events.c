/* srv_events.c — the event hub and event streams (see srv_events.h DESIGN). */
#include "srv_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct mem_event {
    int64_t seq;
    char type[16];
    char *data;
} mem_event;

typedef struct hub_run {
    char id[SRV_ID_LEN + 1];
    int active;        /* a job in this process publishes it */
    int64_t first_seq; /* seq of events[0] */
    mem_event *events; /* (n) */
    size_t n, cap;
    srv_stream **waiters; /* suspended streams of this run */
    size_t n_waiters, cap_waiters;
    struct hub_run *next;
} hub_run;

struct srv_hub {
    srv_app *app;
    pthread_mutex_t mu;
    pthread_cond_t tick_cond;
    pthread_t tick;
    int stop;
    hub_run *runs;
    srv_stream *all; /* every stream, for the tick (linked by next_all) */
};

struct srv_stream {
    srv_hub *hub;
    char run_id[SRV_ID_LEN + 1];
    char client[64]; /* the client's address, for the per-client limit */
    int64_t next_seq;
    srv_stream_format format;
    struct MHD_Connection *conn;
    int suspended; /* guarded by hub->mu */
    int waiting;   /* registered in a run's waiters */
    int finished;
    int ticks; /* keep-alives owed */
    char *out; /* pending bytes */
    size_t out_len, out_pos, out_cap;
    srv_stream *next_all, *prev_all;
};

/* ---- hub ---- */

static hub_run *find_run(srv_hub *hub, const char *id, int create) {
    for (hub_run *r = hub->runs; r; r = r->next)
        if (strcmp(r->id, id) == 0) return r;
    if (!create) return NULL;
    hub_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    (void)snprintf(r->id, sizeof r->id, "%s", id);
    r->first_seq = 1;
    r->next = hub->runs;
    hub->runs = r;
    return r;
}

static void wake_all(hub_run *r) {
    for (size_t i = 0; i < r->n_waiters; i++) {
        srv_stream *st = r->waiters[i];
        st->waiting = 0;
        if (st->suspended) {
            st->suspended = 0;
            MHD_resume_connection(st->conn);
        }
    }
    r->n_waiters = 0;
}

static void free_events(hub_run *r) {
    for (size_t i = 0; i < r->n; i++) free(r->events[i].data);
    free(r->events);
    r->events = NULL;
    r->n = r->cap = 0;
}

static void remove_run_if_idle(srv_hub *hub, hub_run *r) {
    if (r->active || r->n_waiters) return;
    for (hub_run **p = &hub->runs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free_events(r);
    free(r->waiters);
    free(r);
}

void srv_hub_open_run(srv_hub *hub, const char *run_id, int64_t last_seq) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 1);
    if (r) {
        free_events(r);
        r->active = 1;
        r->first_seq = last_seq + 1;
        wake_all(r);
    }
    pthread_mutex_unlock(&hub->mu);
}

int64_t srv_hub_publish(srv_hub *hub, const char *run_id, const char *type, const char *data) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 1);
    int64_t seq = 0;
    if (r) {
        seq = r->first_seq + (int64_t)r->n;
        if (r->n == SRV_HUB_MAX_EVENTS) { /* the store has them: keep memory bounded */
            free_events(r);
            r->first_seq = seq;
        }
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 256;
            mem_event *e = realloc(r->events, cap * sizeof *e);
            if (e) {
                r->events = e;
                r->cap = cap;
            }
        }
        if (r->n < r->cap) {
            mem_event *e = &r->events[r->n];
            e->seq = seq;
            (void)snprintf(e->type, sizeof e->type, "%s", type);
            e->data = strdup(data);
            if (e->data) r->n++;
        }
        if (r->first_seq + (int64_t)r->n !=
            seq + 1) { /* could not keep it: readers use the store */
            free_events(r);
            r->first_seq = seq + 1;
        }
        wake_all(r);
    }
    pthread_mutex_unlock(&hub->mu);
    return seq;
}

void srv_hub_close_run(srv_hub *hub, const char *run_id) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 0);
    if (r) {
        r->active = 0;
        free_events(r);
        wake_all(r);
        remove_run_if_idle(hub, r);
    }
    pthread_mutex_unlock(&hub->mu);
}

void srv_hub_wake_all(srv_hub *hub) {
    pthread_mutex_lock(&hub->mu);
    for (srv_stream *st = hub->all; st; st = st->next_all) {
        st->waiting = 0;
        if (st->suspended) {
            st->suspended = 0;
            MHD_resume_connection(st->conn);
        }
    }
    for (hub_run *r = hub->runs; r; r = r->next) r->n_waiters = 0;
    pthread_mutex_unlock(&hub->mu);
}

/* Resumes every suspended stream periodically: keep-alives, and runs of other processes. */
static void *tick_main(void *arg) {
    srv_hub *hub = arg;
    pthread_mutex_lock(&hub->mu);
    while (!hub->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += SRV_STREAM_TICK;
        pthread_cond_timedwait(&hub->tick_cond, &hub->mu, &ts);
        if (hub->stop) break;
        for (srv_stream *st = hub->all; st; st = st->next_all) {
            st->ticks++;
            if (st->suspended) {
                st->suspended = 0;
                MHD_resume_connection(st->conn);
            }
        }
        for (hub_run *r = hub->runs; r; r = r->next) r->n_waiters = 0;
        for (srv_stream *st = hub->all; st; st = st->next_all) st->waiting = 0;
    }
    pthread_mutex_unlock(&hub->mu);
    return NULL;
}

nn_status srv_hub_create(srv_app *app, srv_hub **out, nn_error *err) {
    srv_hub *hub = calloc(1, sizeof *hub);
    if (!hub) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the event hub");
    hub->app = app;
    pthread_mutex_init(&hub->mu, NULL);
    pthread_cond_init(&hub->tick_cond, NULL);
    if (pthread_create(&hub->tick, NULL, tick_main, hub) != 0) {
        pthread_mutex_destroy(&hub->mu);
        pthread_cond_destroy(&hub->tick_cond);
        free(hub);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start the event hub's thread");
    }
    *out = hub;
    return NN_OK;
}

void srv_hub_destroy(srv_hub *hub) {
    if (!hub) return;
    pthread_mutex_lock(&hub->mu);
    hub->stop = 1;
    pthread_cond_signal(&hub->tick_cond);
    pthread_mutex_unlock(&hub->mu);
    pthread_join(hub->tick, NULL);
    while (hub->runs) {
        hub_run *r = hub->runs;
        hub->runs = r->next;
        free_events(r);
        free(r->waiters);
        free(r);
    }
    pthread_mutex_destroy(&hub->mu);
    pthread_cond_destroy(&hub->tick_cond);
    free(hub);
}

/* ---- streams ---- */

srv_stream *srv_stream_create(srv_hub *hub, const char *run_id, int64_t after,
                              srv_stream_format format, const char *client, int max_per_client,
                              int *refused) {
    *refused = 0;
    srv_stream *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->hub = hub;
    (void)snprintf(st->run_id, sizeof st->run_id, "%s", run_id);
    (void)snprintf(st->client, sizeof st->client, "%s", client);
    st->next_seq = after + 1;
    st->format = format;
    pthread_mutex_lock(&hub->mu);
    int open = 0; /* a walk over at most --max-streams streams */
    for (const srv_stream *o = hub->all; o; o = o->next_all)
        open += strcmp(o->client, st->client) == 0;
    if (open >= max_per_client) {
        pthread_mutex_unlock(&hub->mu);
        free(st);
        *refused = 1;
        return NULL;
    }
    st->next_all = hub->all;
    if (hub->all) hub->all->prev_all = st;
    hub->all = st;
    pthread_mutex_unlock(&hub->mu);
    atomic_fetch_add(&hub->app->counters.streams_open, 1);
    return st;
}

static void stream_free(void *cls) {
    srv_stream *st = cls;
    srv_hub *hub = st->hub;
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, st->run_id, 0);
    if (r) {
        for (size_t i = 0; i < r->n_waiters; i++) {
            if (r->waiters[i] == st) {
                r->waiters[i] = r->waiters[--r->n_waiters];
                break;
            }
        }
        remove_run_if_idle(hub, r);
    }
    if (st->prev_all)
        st->prev_all->next_all = st->next_all;
    else
        hub->all = st->next_all;
    if (st->next_all) st->next_all->prev_all = st->prev_all;
    pthread_mutex_unlock(&hub->mu);
    atomic_fetch_sub(&hub->app->counters.streams_open, 1);
    free(st->out);
    free(st);
}

static int out_append(srv_stream *st, const char *s, size_t n) {
    if (st->out_len + n > st->out_cap) {
        size_t cap = st->out_cap ? st->out_cap : 4096;
        while (cap < st->out_len + n) cap *= 2;
        char *o = realloc(st->out, cap);
        if (!o) return -1;
        st->out = o;
        st->out_cap = cap;
    }
    memcpy(st->out + st->out_len, s, n);
    st->out_len += n;
    return 0;
}

static int format_event(srv_stream *st, int64_t seq, const char *type, const char *data) {
    size_t need = strlen(type) + strlen(data) + 96;
    char *buf = malloc(need);
    if (!buf) return -1;
    int n =
        st->format == SRV_STREAM_SSE
            ? snprintf(buf, need, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)seq, type, data)
            : snprintf(buf, need, "{\"id\":%lld,\"event\":\"%s\",\"data\":%s}\n", (long long)seq,
                       type, data);
    int rc = n > 0 ? out_append(st, buf, (size_t)n) : -1;
    free(buf);
    st->next_seq = seq + 1;
    return rc;
}

/* Fills st->out from the hub's memory; returns 1 if anything was added; hub->mu held. */
static int fill_from_memory(srv_stream *st, hub_run *r) {
    int added = 0;
    while (r && r->n && st->next_seq >= r->first_seq &&
           st->next_seq < r->first_seq + (int64_t)r->n && st->out_len < 256 * 1024) {
        const mem_event *e = &r->events[st->next_seq - r->first_seq];
        if (format_event(st, e->seq, e->type, e->data) != 0) break;
        added = 1;
    }
    return added;
}

/* Fills st->out from the store; returns 1 if anything was added, 0 if none, -1 on errors;
 * *finished tells whether the run has ended. */
static int fill_from_store(srv_stream *st, int *finished) {
    nn_error err = {0};
    srv_store *s = srv_app_store(st->hub->app, &err);
    if (!s) return -1;
    srv_event *ev = NULL;
    size_t n = 0;
    if (srv_event_list(s, st->run_id, st->next_seq - 1, 500, &ev, &n, &err) != NN_OK) return -1;
    for (size_t i = 0; i < n; i++) format_event(st, ev[i].seq, ev[i].type, ev[i].data);
    srv_events_free(ev, n);
    if (n > 0) return 1;
    srv_run run;
    memset(&run, 0, sizeof run);
    if (srv_run_get(s, st->run_id, &run, &err) != NN_OK) return -1;
    *finished = run.status != SRV_RUN_QUEUED && run.status != SRV_RUN_RUNNING;
    srv_run_free(&run);
    return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_stream *st = cls;
    srv_hub *hub = st->hub;
    for (;;) {
        if (st->out_pos < st->out_len) {
            size_t n = st->out_len - st->out_pos;
            if (n > max) n = max;
            memcpy(buf, st->out + st->out_pos, n);
            st->out_pos += n;
            if (st->out_pos == st->out_len) st->out_pos = st->out_len = 0;
            return (ssize_t)n;
        }
        if (st->finished || atomic_load(&hub->app->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&hub->mu);
        hub_run *r = find_run(hub, st->run_id, 0);
        int from_memory = r && r->active && st->next_seq >= r->first_seq;
        int added = from_memory ? fill_from_memory(st, r) : 0;
        if (!added && from_memory) { /* nothing new: wait for a publish (lock still held) */
            if (st->ticks > 0 && st->format == SRV_STREAM_SSE) {
                st->ticks = 0;
                out_append(st, ": keep-alive\n\n", 14);
                pthread_mutex_unlock(&hub->mu);
                continue;
            }
            goto suspend;
        }
        pthread_mutex_unlock(&hub->mu);
        if (added) continue;
        int finished = 0;
        int got = fill_from_store(st, &finished);
        if (got < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (got > 0) continue;
        if (finished) {
            st->finished = 1;
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        pthread_mutex_lock(&hub->mu);
        r = find_run(hub, st->run_id, 1);
        if (r && r->active && st->next_seq >= r->first_seq &&
            st->next_seq < r->first_seq + (int64_t)r->n) {
            pthread_mutex_unlock(&hub->mu); /* published meanwhile */
            continue;
        }
        if (st->ticks > 0 && st->format == SRV_STREAM_SSE) {
            st->ticks = 0;
            out_append(st, ": keep-alive\n\n", 14);
            pthread_mutex_unlock(&hub->mu);
            continue;
        }
    suspend:
        if (r && !st->waiting) {
            if (r->n_waiters == r->cap_waiters) {
                size_t cap = r->cap_waiters ? 2 * r->cap_waiters : 8;
                srv_stream **w = realloc(r->waiters, cap * sizeof *w);
                if (!w) {
                    pthread_mutex_unlock(&hub->mu);
                    return MHD_CONTENT_READER_END_WITH_ERROR;
                }
                r->waiters = w;
                r->cap_waiters = cap;
            }
            r->waiters[r->n_waiters++] = st;
            st->waiting = 1;
        }
        st->suspended = 1;
        st->ticks = 0;
        MHD_suspend_connection(st->conn);
        pthread_mutex_unlock(&hub->mu);
        return 0;
    }
}

struct MHD_Response *srv_stream_response(srv_stream *st, struct MHD_Connection *conn) {
    st->conn = conn;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                               stream_read, st, stream_free);
    if (!r) stream_free(st);
    return r;
}
