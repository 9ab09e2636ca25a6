/* test_srv_hub.c — the event hub without HTTP: numbering after the stored events, fan-out,
 * waking armed subscribers, replay from memory, the memory bound, the per-client limit. */
#include "check.h"
#include "srv_hub.h"

#include <stdio.h>
#include <string.h>

typedef struct sub_state {
    int wakes, sleeps;
    int64_t seen[64];
    int n_seen;
    int stop_after; /* srv_hub_read stops after this many (0 = never) */
} sub_state;

static void on_wake(void *user) { ((sub_state *)user)->wakes++; }
static void on_sleep(void *user) { ((sub_state *)user)->sleeps++; }

static int on_event(void *user, int64_t seq, const char *type, const char *data) {
    sub_state *s = user;
    (void)type, (void)data;
    if (s->stop_after && s->n_seen >= s->stop_after) return 1;
    if (s->n_seen < 64) s->seen[s->n_seen++] = seq;
    return 0;
}

static void test_hub_numbers_after_the_store(void) {
    srv_hub *hub = NULL;
    nn_error err = {0};
    CHECK(srv_hub_create(&hub, &err) == NN_OK);
    CHECK(srv_hub_publish(hub, "r", "log", "{}") == 0); /* not open: nothing numbered */
    srv_hub_open_run(hub, "r", 41);
    CHECK(srv_hub_is_open(hub, "r"));
    CHECK(srv_hub_publish(hub, "r", "log", "{}") == 42);
    CHECK(srv_hub_publish(hub, "r", "log", "{}") == 43);
    srv_hub_open_run(hub, "r", 10); /* open already: the numbering never goes back */
    CHECK(srv_hub_publish(hub, "r", "log", "{}") == 44);
    srv_hub_close_run(hub, "r");
    CHECK(!srv_hub_is_open(hub, "r"));
    srv_hub_open_run(hub, "r", 50); /* reopened after the store */
    CHECK(srv_hub_publish(hub, "r", "log", "{}") == 51);
    srv_hub_close_run(hub, "r");
    srv_hub_destroy(hub);
}

static void test_hub_wakes_and_replays(void) {
    srv_hub *hub = NULL;
    nn_error err = {0};
    CHECK(srv_hub_create(&hub, &err) == NN_OK);
    sub_state a = {0}, b = {0}, other = {0};
    int refused = 0;
    srv_hub_sub *sa = srv_hub_subscribe(hub, "r", "1.1.1.1", 4, on_wake, &a, &refused);
    srv_hub_sub *sb = srv_hub_subscribe(hub, "r", "1.1.1.1", 4, on_wake, &b, &refused);
    srv_hub_sub *so = srv_hub_subscribe(hub, "q", "2.2.2.2", 4, on_wake, &other, &refused);
    CHECK(sa && sb && so && srv_hub_subscribers(hub) == 3);
    int served = -1;
    CHECK(srv_hub_read(hub, sa, 1, on_event, &a, &served) == 0 && served == 0); /* not open */
    srv_hub_open_run(hub, "r", 0);
    CHECK(srv_hub_wait(hub, sa, 1, on_sleep) == 1 && a.sleeps == 1); /* nothing yet: armed */
    CHECK(srv_hub_wait(hub, sb, 1, on_sleep) == 1);
    CHECK(srv_hub_wait(hub, so, 1, on_sleep) == 1);
    CHECK(srv_hub_publish(hub, "r", "epoch", "{\"e\":1}") == 1);
    CHECK(a.wakes == 1 && b.wakes == 1 && other.wakes == 0); /* only the run's subscribers */
    CHECK(srv_hub_publish(hub, "r", "epoch", "{\"e\":2}") == 2);
    CHECK(a.wakes == 1);                            /* woken once per arming */
    CHECK(srv_hub_wait(hub, sa, 1, on_sleep) == 0); /* events there: read, do not sleep */
    CHECK(srv_hub_read(hub, sa, 1, on_event, &a, &served) == 2 && served == 1);
    CHECK(a.n_seen == 2 && a.seen[0] == 1 && a.seen[1] == 2);
    b.stop_after = 1; /* a reader whose buffer fills takes what fits, in order */
    CHECK(srv_hub_read(hub, sb, 1, on_event, &b, &served) == 1 && b.seen[0] == 1);
    CHECK(srv_hub_wait(hub, sa, 3, on_sleep) == 1);
    srv_hub_wake_all(hub);
    CHECK(a.wakes == 2 && other.wakes == 1);
    CHECK(srv_hub_wait(hub, sa, 3, on_sleep) == 1);
    srv_hub_close_run(hub, "r"); /* close wakes: the stream finishes from the store */
    CHECK(a.wakes == 3);
    CHECK(srv_hub_read(hub, sa, 3, on_event, &a, &served) == 0 && served == 0);
    srv_hub_unsubscribe(hub, sa);
    srv_hub_unsubscribe(hub, sb);
    srv_hub_unsubscribe(hub, so);
    CHECK(srv_hub_subscribers(hub) == 0);
    srv_hub_destroy(hub);
}

static void test_hub_memory_is_bounded(void) {
    srv_hub *hub = NULL;
    nn_error err = {0};
    CHECK(srv_hub_create(&hub, &err) == NN_OK);
    srv_hub_open_run(hub, "r", 0);
    sub_state a = {0};
    int refused = 0;
    srv_hub_sub *sa = srv_hub_subscribe(hub, "r", "x", 4, on_wake, &a, &refused);
    int64_t last = 0;
    for (int i = 0; i < SRV_HUB_MAX_EVENTS + 10; i++) last = srv_hub_publish(hub, "r", "e", "{}");
    CHECK(last == SRV_HUB_MAX_EVENTS + 10);
    int served = -1;
    CHECK(srv_hub_read(hub, sa, 1, on_event, &a, &served) == 0 && served == 0); /* the store's */
    a.stop_after = 3;
    CHECK(srv_hub_read(hub, sa, last - 1, on_event, &a, &served) == 2 && served == 1);
    CHECK(a.seen[0] == last - 1 && a.seen[1] == last);
    srv_hub_unsubscribe(hub, sa);
    srv_hub_close_run(hub, "r");
    srv_hub_destroy(hub);
}

static void test_hub_per_client_limit(void) {
    srv_hub *hub = NULL;
    nn_error err = {0};
    CHECK(srv_hub_create(&hub, &err) == NN_OK);
    sub_state s = {0};
    srv_hub_sub *subs[3];
    int refused = 0;
    for (int i = 0; i < 2; i++) {
        subs[i] = srv_hub_subscribe(hub, "r", "10.0.0.1", 2, on_wake, &s, &refused);
        CHECK(subs[i] && !refused);
    }
    CHECK(srv_hub_subscribe(hub, "r", "10.0.0.1", 2, on_wake, &s, &refused) == NULL && refused);
    subs[2] = srv_hub_subscribe(hub, "r", "10.0.0.2", 2, on_wake, &s, &refused);
    CHECK(subs[2] && !refused); /* another client */
    for (int i = 0; i < 3; i++) srv_hub_unsubscribe(hub, subs[i]);
    srv_hub_destroy(hub);
}

/* A shared store: runs are never open here, readers read the store and the hub only wakes
 * them; a wake between a read and the wait is not lost. */
static void test_hub_wake_run_is_not_lost(void) {
    srv_hub *hub = NULL;
    nn_error err = {0};
    CHECK(srv_hub_create(&hub, &err) == NN_OK);
    sub_state a = {0}, other = {0};
    int refused = 0, served = -1;
    srv_hub_sub *sa = srv_hub_subscribe(hub, "r", "x", 4, on_wake, &a, &refused);
    srv_hub_sub *so = srv_hub_subscribe(hub, "q", "y", 4, on_wake, &other, &refused);
    CHECK(srv_hub_read(hub, sa, 1, on_event, &a, &served) == 0 && served == 0); /* the store */
    srv_hub_wake_run(hub, "r"); /* events stored after that read, before the wait */
    CHECK(srv_hub_wait(hub, sa, 1, on_sleep) == 0 && a.sleeps == 0); /* read again */
    CHECK(srv_hub_read(hub, sa, 1, on_event, &a, &served) == 0 && served == 0);
    CHECK(srv_hub_wait(hub, sa, 1, on_sleep) == 1 && a.sleeps == 1); /* nothing new: armed */
    CHECK(srv_hub_wait(hub, so, 1, on_sleep) == 1);
    srv_hub_wake_run(hub, "r");
    CHECK(a.wakes == 1 && other.wakes == 0); /* that run's readers only */
    srv_hub_wake_run(hub, "nobody");         /* a run without readers: nothing to do */
    srv_hub_wake_run(hub, NULL);             /* some run (a lost notification): everyone */
    CHECK(other.wakes == 1);
    srv_hub_unsubscribe(hub, sa);
    srv_hub_unsubscribe(hub, so);
    srv_hub_destroy(hub);
}

int main(void) {
    RUN(test_hub_numbers_after_the_store);
    RUN(test_hub_wakes_and_replays);
    RUN(test_hub_memory_is_bounded);
    RUN(test_hub_per_client_limit);
    RUN(test_hub_wake_run_is_not_lost);
    return check_summary();
}
