/* srv_hub.c — the event hub (see srv_hub.h DESIGN). */
#include "srv_hub.h"

#include "srv_ctx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_event {
    int64_t seq;
    char type[16];
    char *data;
} mem_event;

typedef struct hub_run {
    char id[SRV_ID_LEN + 1];
    int open;          /* this process publishes it */
    int64_t next_seq;  /* the number of the next publish */
    int64_t first_seq; /* seq of events[0] */
    mem_event *events; /* (n) */
    size_t n, cap;
    int subs;     /* subscriptions of this run */
    uint64_t gen; /* srv_hub_wake_run calls of this run so far */
    struct hub_run *next;
} hub_run;

struct srv_hub_sub {
    hub_run *run;
    char client[64];
    srv_hub_fn wake;
    void *user;
    int armed;
    uint64_t seen_gen;        /* the run's gen at the subscriber's last read */
    srv_hub_sub *next, *prev; /* every subscription */
};

struct srv_hub {
    pthread_mutex_t mu;
    hub_run *runs;
    srv_hub_sub *subs;
    int n_subs;
};

static hub_run *find_run(srv_hub *hub, const char *id, int create) {
    for (hub_run *r = hub->runs; r; r = r->next)
        if (strcmp(r->id, id) == 0) return r;
    if (!create) return NULL;
    hub_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    (void)snprintf(r->id, sizeof r->id, "%s", id);
    r->first_seq = r->next_seq = 1;
    r->next = hub->runs;
    hub->runs = r;
    return r;
}

static void free_events(hub_run *r) {
    for (size_t i = 0; i < r->n; i++) free(r->events[i].data);
    free(r->events);
    r->events = NULL;
    r->n = r->cap = 0;
    r->first_seq = r->next_seq;
}

static void drop_run_if_idle(srv_hub *hub, hub_run *r) {
    if (r->open || r->subs) return;
    for (hub_run **p = &hub->runs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free_events(r);
    free(r);
}

/* Wakes the armed subscriptions of r (every one when r is NULL); hub->mu held. */
static void wake(srv_hub *hub, const hub_run *r) {
    for (srv_hub_sub *s = hub->subs; s; s = s->next) {
        if (!s->armed || (r && s->run != r)) continue;
        s->armed = 0;
        s->wake(s->user);
    }
}

nn_status srv_hub_create(srv_hub **out, nn_error *err) {
    srv_hub *hub = calloc(1, sizeof *hub);
    if (!hub) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the event hub");
    pthread_mutex_init(&hub->mu, NULL);
    *out = hub;
    return NN_OK;
}

void srv_hub_destroy(srv_hub *hub) {
    if (!hub) return;
    while (hub->runs) {
        hub_run *r = hub->runs;
        hub->runs = r->next;
        free_events(r);
        free(r);
    }
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

void srv_hub_open_run(srv_hub *hub, const char *run_id, int64_t last_seq) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 1);
    if (r) {
        if (!r->open || last_seq + 1 > r->next_seq) { /* start (or move) after the store */
            r->next_seq = last_seq + 1;
            free_events(r);
        }
        r->open = 1;
        wake(hub, r);
    }
    pthread_mutex_unlock(&hub->mu);
}

int64_t srv_hub_publish(srv_hub *hub, const char *run_id, const char *type, const char *data) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 0);
    if (!r || !r->open) {
        pthread_mutex_unlock(&hub->mu);
        return 0;
    }
    int64_t seq = r->next_seq++;
    if (r->n == SRV_HUB_MAX_EVENTS) { /* keep the newer half: older events come from the store */
        size_t keep = SRV_HUB_MAX_EVENTS / 2, drop = r->n - keep;
        for (size_t i = 0; i < drop; i++) free(r->events[i].data);
        memmove(r->events, r->events + drop, keep * sizeof *r->events);
        r->n = keep;
        r->first_seq += (int64_t)drop;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        mem_event *e = realloc(r->events, cap * sizeof *e);
        if (e) {
            r->events = e;
            r->cap = cap;
        }
    }
    char *copy = r->n < r->cap ? strdup(data) : NULL;
    if (copy) {
        mem_event *e = &r->events[r->n++];
        e->seq = seq;
        (void)snprintf(e->type, sizeof e->type, "%s", type);
        e->data = copy;
    } else { /* could not keep it: readers go to the store from here on */
        free_events(r);
    }
    wake(hub, r);
    pthread_mutex_unlock(&hub->mu);
    return seq;
}

int srv_hub_is_open(srv_hub *hub, const char *run_id) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 0);
    int open = r && r->open;
    pthread_mutex_unlock(&hub->mu);
    return open;
}

void srv_hub_close_run(srv_hub *hub, const char *run_id) {
    pthread_mutex_lock(&hub->mu);
    hub_run *r = find_run(hub, run_id, 0);
    if (r) {
        r->open = 0;
        free_events(r);
        wake(hub, r);
        drop_run_if_idle(hub, r);
    }
    pthread_mutex_unlock(&hub->mu);
}

srv_hub_sub *srv_hub_subscribe(srv_hub *hub, const char *run_id, const char *client,
                               int max_per_client, srv_hub_fn wake_fn, void *user, int *refused) {
    *refused = 0;
    srv_hub_sub *sub = calloc(1, sizeof *sub);
    if (!sub) return NULL;
    (void)snprintf(sub->client, sizeof sub->client, "%s", client);
    sub->wake = wake_fn;
    sub->user = user;
    pthread_mutex_lock(&hub->mu);
    int same = 0; /* a walk over the open subscriptions, bounded by the HTTP layer's cap */
    for (const srv_hub_sub *o = hub->subs; o; o = o->next) same += strcmp(o->client, client) == 0;
    hub_run *r = same < max_per_client ? find_run(hub, run_id, 1) : NULL;
    if (!r) {
        pthread_mutex_unlock(&hub->mu);
        *refused = same >= max_per_client;
        free(sub);
        return NULL;
    }
    sub->run = r;
    r->subs++;
    sub->next = hub->subs;
    if (hub->subs) hub->subs->prev = sub;
    hub->subs = sub;
    hub->n_subs++;
    pthread_mutex_unlock(&hub->mu);
    return sub;
}

void srv_hub_unsubscribe(srv_hub *hub, srv_hub_sub *sub) {
    if (!sub) return;
    pthread_mutex_lock(&hub->mu);
    if (sub->prev)
        sub->prev->next = sub->next;
    else
        hub->subs = sub->next;
    if (sub->next) sub->next->prev = sub->prev;
    hub->n_subs--;
    sub->run->subs--;
    drop_run_if_idle(hub, sub->run);
    pthread_mutex_unlock(&hub->mu);
    free(sub);
}

/* Whether memory can serve seq `from` of r (it may not have arrived yet). */
static int serves(const hub_run *r, int64_t from) { return r->open && from >= r->first_seq; }

size_t srv_hub_read(srv_hub *hub, srv_hub_sub *sub, int64_t from, srv_hub_event_fn fn, void *user,
                    int *served) {
    size_t taken = 0;
    pthread_mutex_lock(&hub->mu);
    const hub_run *r = sub->run;
    sub->seen_gen = r->gen;
    *served = serves(r, from);
    if (*served) {
        for (int64_t q = from; q < r->first_seq + (int64_t)r->n; q++) {
            const mem_event *e = &r->events[q - r->first_seq];
            if (fn(user, e->seq, e->type, e->data) != 0) break;
            taken++;
        }
    }
    pthread_mutex_unlock(&hub->mu);
    return taken;
}

int srv_hub_wait(srv_hub *hub, srv_hub_sub *sub, int64_t from, srv_hub_fn sleep) {
    pthread_mutex_lock(&hub->mu);
    const hub_run *r = sub->run;
    int ready = (serves(r, from) && from < r->first_seq + (int64_t)r->n) || sub->seen_gen != r->gen;
    if (!ready) {
        sub->armed = 1;
        sleep(sub->user);
    }
    pthread_mutex_unlock(&hub->mu);
    return !ready;
}

void srv_hub_wake_run(srv_hub *hub, const char *run_id) {
    pthread_mutex_lock(&hub->mu);
    if (!run_id) {
        for (hub_run *r = hub->runs; r; r = r->next) r->gen++;
        wake(hub, NULL);
    } else {
        hub_run *r = find_run(hub, run_id, 0);
        if (r) { /* no subscriber, no memory: nobody to tell */
            r->gen++;
            wake(hub, r);
        }
    }
    pthread_mutex_unlock(&hub->mu);
}

void srv_hub_wake_all(srv_hub *hub) {
    pthread_mutex_lock(&hub->mu);
    wake(hub, NULL);
    pthread_mutex_unlock(&hub->mu);
}

int srv_hub_subscribers(srv_hub *hub) {
    pthread_mutex_lock(&hub->mu);
    int n = hub->n_subs;
    pthread_mutex_unlock(&hub->mu);
    return n;
}
