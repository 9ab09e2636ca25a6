/* srv_lease.c — the heartbeat thread (see srv_lease.h DESIGN). */
#include "srv_lease.h"

#include "nn_clock.h"
#include "srv_finish.h"
#include "srv_queue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_lease {
    srv_job_env env;
    srv_running *running;
    int64_t lease_ms;
    srv_lease_wake_fn wake;
    void *user;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    int stop;
    int64_t last_ok; /* monotonic ms of the last renewal round the store answered */
};

nn_status srv_lease_recover(const srv_job_env *env, srv_store *s, int all, int *readied, int *ended,
                            nn_error *err) {
    *readied = *ended = 0;
    srv_reclaimed *r = NULL;
    size_t n = 0;
    srv_reclaim_cfg cfg = {all, env->ctx->node, (int64_t)env->ctx->cfg.lease_seconds * 1000};
    nn_status st = srv_queue_reclaim(s, &cfg, &r, &n, err);
    if (st != NN_OK) return st;
    for (size_t i = 0; i < n; i++) {
        const srv_reclaimed *x = &r[i];
        char msg[200];
        if (x->task.task < 0) { /* a run that was stopping: its pending tasks ended */
            (void)snprintf(msg, sizeof msg, "the tasks that had not started are cancelled");
        } else if (x->to == SRV_TASK_DONE) {
            int seen = 0; /* count runs, not tasks */
            for (size_t k = 0; k < i && !seen; k++)
                seen = r[k].to == SRV_TASK_DONE && strcmp(r[k].task.run_id, x->task.run_id) == 0;
            *readied += !seen;
            (void)snprintf(msg, sizeof msg,
                           "task %d will train again: attempt %d stopped without finishing "
                           "(its lease expired)",
                           x->task.task + 1, x->task.attempt);
        } else {
            (void)snprintf(msg, sizeof msg, "task %d %s after attempt %d stopped without finishing",
                           x->task.task + 1, x->to == SRV_TASK_FAILED ? "failed" : "cancelled",
                           x->task.attempt);
        }
        srv_run_event(env, s, x->task.run_id, "log",
                      json_pack("{s:s, s:i, s:i}", "message", msg, "task", x->task.task + 1,
                                "attempt", x->task.attempt));
        if (x->end.run_over) {
            (*ended)++;
            srv_finish_run(env, s, x->task.run_id, &x->end, NULL);
        }
    }
    free(r);
    return NN_OK;
}

/* One heartbeat: renew this node's leases, then reclaim expired ones. */
static void beat(srv_lease *l) {
    nn_error err = {0};
    srv_store *s = srv_ctx_store(l->env.ctx, &err);
    srv_task_ref *refs = NULL;
    int64_t *epochs = NULL;
    size_t n = 0;
    int answered = s != NULL;
    if (s && srv_running_snapshot(l->running, &refs, &epochs, &n, &err) == NN_OK) {
        for (size_t i = 0; i < n; i++) {
            srv_lease_state state;
            if (srv_queue_renew(s, l->env.ctx->node, &refs[i], l->lease_ms, epochs[i], &state,
                                &err) != NN_OK) {
                answered = 0;
                break;
            }
            if (state != SRV_LEASE_HELD)
                (void)srv_running_stop(l->running, refs[i].run_id, refs[i].task, refs[i].attempt,
                                       state == SRV_LEASE_LOST ? SRV_STOP_LOST : SRV_STOP_CANCEL);
        }
    }
    free(refs);
    free(epochs);
    int64_t now = nn_clock_mono_ms();
    if (answered) {
        l->last_ok = now;
    } else if (now - l->last_ok >= l->lease_ms) {
        int k = srv_running_stop(l->running, NULL, -1, -1, SRV_STOP_LOST);
        if (k)
            (void)fprintf(stderr,
                          "nnd: the database did not answer for %lld ms (%s): %d task(s) "
                          "stopped, their leases are lost\n",
                          (long long)(now - l->last_ok), err.msg, k);
    }
    int readied = 0, ended = 0;
    if (s && srv_lease_recover(&l->env, s, 0, &readied, &ended, &err) != NN_OK)
        (void)fprintf(stderr, "nnd: reclaiming leases: %s\n", err.msg);
    if (readied && l->wake) l->wake(l->user);
}

static void *lease_main(void *arg) {
    srv_lease *l = arg;
    int64_t period = l->lease_ms / 3 > 50 ? l->lease_ms / 3 : 50;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += period / 1000;
        ts.tv_nsec += (long)(period % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        (void)pthread_cond_timedwait(&l->cond, &l->mu, &ts);
        if (l->stop) break;
        pthread_mutex_unlock(&l->mu);
        beat(l);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

nn_status srv_lease_create(const srv_job_env *env, srv_running *running, int64_t lease_ms,
                           srv_lease_wake_fn wake, void *user, srv_lease **out, nn_error *err) {
    srv_lease *l = calloc(1, sizeof *l);
    if (!l) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the heartbeat");
    l->env = *env;
    l->running = running;
    l->lease_ms = lease_ms;
    l->wake = wake;
    l->user = user;
    l->last_ok = nn_clock_mono_ms();
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    if (pthread_create(&l->thread, NULL, lease_main, l) != 0) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cond);
        free(l);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start the heartbeat thread");
    }
    *out = l;
    return NN_OK;
}

void srv_lease_destroy(srv_lease *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    free(l);
}
