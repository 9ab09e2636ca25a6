/* srv_stream.c — SSE and NDJSON streams of run and study events (see srv_stream.h DESIGN). */
#include "srv_stream.h"

#include "srv_studies.h"

#include "nn_clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_CHUNK ((size_t)256 * 1024) /* format at most this much before sending */
#define STORE_PAGE 500

struct srv_stream {
    srv_ctx *ctx;
    srv_hub *hub;
    srv_hub_sub *sub;
    srv_stream_kind kind;
    char run_id[SRV_ID_LEN + 1]; /* the run's or the study's id */
    int64_t next_seq;
    srv_stream_format format;
    struct MHD_Connection *conn;
    int suspended; /* guarded by the hub's lock (set and cleared in its callbacks) */
    int finished;
    int64_t last_sent_ms; /* for keep-alives */
    char *out;            /* formatted bytes not sent yet */
    size_t out_len, out_pos, out_cap;
};

struct srv_streams {
    srv_hub *hub;
    int poll_ms; /* between wake-ups of every armed stream */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    int stop;
};

/* ---- the ticker ---- */

static void *tick_main(void *arg) {
    srv_streams *ss = arg;
    pthread_mutex_lock(&ss->mu);
    while (!ss->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ss->poll_ms / 1000;
        ts.tv_nsec += (long)(ss->poll_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        (void)pthread_cond_timedwait(&ss->cond, &ss->mu, &ts);
        if (!ss->stop) srv_hub_wake_all(ss->hub);
    }
    pthread_mutex_unlock(&ss->mu);
    return NULL;
}

nn_status srv_streams_create(srv_hub *hub, int poll_ms, srv_streams **out, nn_error *err) {
    srv_streams *ss = calloc(1, sizeof *ss);
    if (!ss) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the stream ticker");
    ss->hub = hub;
    ss->poll_ms = poll_ms > 0 ? poll_ms : SRV_STREAM_TICK * 1000;
    pthread_mutex_init(&ss->mu, NULL);
    pthread_cond_init(&ss->cond, NULL);
    if (pthread_create(&ss->thread, NULL, tick_main, ss) != 0) {
        pthread_mutex_destroy(&ss->mu);
        pthread_cond_destroy(&ss->cond);
        free(ss);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start the stream ticker");
    }
    *out = ss;
    return NN_OK;
}

void srv_streams_destroy(srv_streams *ss) {
    if (!ss) return;
    pthread_mutex_lock(&ss->mu);
    ss->stop = 1;
    pthread_cond_signal(&ss->cond);
    pthread_mutex_unlock(&ss->mu);
    pthread_join(ss->thread, NULL);
    pthread_mutex_destroy(&ss->mu);
    pthread_cond_destroy(&ss->cond);
    free(ss);
}

/* ---- one stream ---- */

/* Hub callbacks (under the hub's lock). */
static void on_wake(void *user) {
    srv_stream *st = user;
    if (!st->suspended) return;
    st->suspended = 0;
    MHD_resume_connection(st->conn);
}

static void on_sleep(void *user) {
    srv_stream *st = user;
    st->suspended = 1;
    MHD_suspend_connection(st->conn);
}

srv_stream *srv_stream_create(srv_ctx *ctx, srv_hub *hub, srv_stream_kind kind, const char *id,
                              int64_t after, srv_stream_format format, const char *client,
                              int max_per_client, int *refused) {
    *refused = 0;
    srv_stream *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->ctx = ctx;
    st->hub = hub;
    st->kind = kind;
    (void)snprintf(st->run_id, sizeof st->run_id, "%s", id);
    st->next_seq = after + 1;
    st->format = format;
    st->last_sent_ms = nn_clock_mono_ms();
    st->sub = srv_hub_subscribe(hub, id, client, max_per_client, on_wake, st, refused);
    if (!st->sub) {
        free(st);
        return NULL;
    }
    atomic_fetch_add(&ctx->counters.streams_open, 1);
    return st;
}

static void stream_free(void *cls) {
    srv_stream *st = cls;
    srv_hub_unsubscribe(st->hub, st->sub);
    atomic_fetch_sub(&st->ctx->counters.streams_open, 1);
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

/* Formats one event into st->out; returns nonzero to stop (buffer full or out of memory). */
static int format_event(void *user, int64_t seq, const char *type, const char *data) {
    srv_stream *st = user;
    if (st->out_len >= (size_t)STREAM_CHUNK) return 1;
    size_t need = strlen(type) + strlen(data) + 96;
    char *buf = malloc(need);
    if (!buf) return 1;
    int n =
        st->format == SRV_STREAM_SSE
            ? snprintf(buf, need, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)seq, type, data)
            : snprintf(buf, need, "{\"id\":%lld,\"event\":\"%s\",\"data\":%s}\n", (long long)seq,
                       type, data);
    int rc = n > 0 ? out_append(st, buf, (size_t)n) : -1;
    free(buf);
    if (rc != 0) return 1;
    st->next_seq = seq + 1;
    return 0;
}

/* Formats the events after next_seq - 1 from the store (a page); returns how many, or -1 on
 * errors. */
static int page_from_store(srv_stream *st, srv_store *s) {
    nn_error err = {0};
    srv_event *ev = NULL;
    size_t n = 0;
    nn_status rc =
        st->kind == SRV_STREAM_STUDY
            ? srv_study_events(s, st->run_id, st->next_seq - 1, STORE_PAGE, &ev, &n, &err)
            : srv_event_list(s, st->run_id, st->next_seq - 1, STORE_PAGE, &ev, &n, &err);
    if (rc != NN_OK) return -1;
    int taken = 0;
    for (size_t i = 0; i < n; i++) {
        if (format_event(st, ev[i].seq, ev[i].type, ev[i].data) != 0) break;
        taken++;
    }
    srv_events_free(ev, n);
    return n > 0 && taken == 0 ? -1 : taken;
}

/* 1 when the run or study has ended, 0 when not, -1 on errors. */
static int has_ended(srv_stream *st, srv_store *s) {
    nn_error err = {0};
    if (st->kind == SRV_STREAM_STUDY) { /* the running studies' ids: no study row is read */
        char *ids = NULL;
        size_t n = 0;
        if (srv_study_running(s, &ids, &n, &err) != NN_OK) return -1;
        int ended = 1;
        for (size_t i = 0; i < n && ended; i++)
            ended = strcmp(ids + i * (SRV_ID_LEN + 1), st->run_id) != 0;
        free(ids);
        return ended;
    }
    srv_run run;
    memset(&run, 0, sizeof run);
    if (srv_run_get(s, st->run_id, &run, &err) != NN_OK) return -1;
    int ended = run.status != SRV_RUN_QUEUED && run.status != SRV_RUN_RUNNING;
    srv_run_free(&run);
    return ended;
}

/* Formats events from the store; returns how many, or -1 on errors; *finished tells whether
 * the run (study) has ended with every event sent. The end commits with the last events, but
 * another node may commit it between the read of the events and the read of the status: a run
 * seen ended is read once more, so its last events are not lost to that race. */
static int fill_from_store(srv_stream *st, int *finished) {
    nn_error err = {0};
    srv_store *s = srv_ctx_store(st->ctx, &err);
    if (!s) return -1;
    int got = page_from_store(st, s);
    if (got != 0) return got;
    int ended = has_ended(st, s);
    if (ended <= 0) return ended;
    got = page_from_store(st, s); /* read after the end was seen: everything is there */
    *finished = got == 0;
    return got;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_stream *st = cls;
    for (;;) {
        if (st->out_pos < st->out_len) {
            size_t n = st->out_len - st->out_pos;
            if (n > max) n = max;
            memcpy(buf, st->out + st->out_pos, n);
            st->out_pos += n;
            if (st->out_pos == st->out_len) st->out_pos = st->out_len = 0;
            st->last_sent_ms = nn_clock_mono_ms();
            return (ssize_t)n;
        }
        if (st->finished || atomic_load(&st->ctx->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        int served = 0;
        if (srv_hub_read(st->hub, st->sub, st->next_seq, format_event, st, &served) > 0) continue;
        if (!served) {
            int finished = 0, got = fill_from_store(st, &finished);
            if (got < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
            if (got > 0) continue;
            if (finished) {
                st->finished = 1;
                return MHD_CONTENT_READER_END_OF_STREAM;
            }
        }
        if (st->format == SRV_STREAM_SSE &&
            nn_clock_mono_ms() - st->last_sent_ms >= (int64_t)SRV_STREAM_TICK * 1000) {
            if (out_append(st, ": keep-alive\n\n", 14) != 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        if (srv_hub_wait(st->hub, st->sub, st->next_seq, on_sleep)) return 0; /* suspended */
    }
}

struct MHD_Response *srv_stream_response(srv_stream *st, struct MHD_Connection *conn) {
    st->conn = conn;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t)16 * 1024,
                                                               stream_read, st, stream_free);
    if (!r) stream_free(st);
    return r;
}
