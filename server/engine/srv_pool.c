/* srv_pool.c — workers, the job cache and a task's end (see srv_pool.h DESIGN). */
#define _GNU_SOURCE /* SCHED_IDLE */
#include "srv_pool.h"

#include "srv_finish.h"
#include "srv_queue.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define END_TRIES 10 /* a busy store is retried this often for a task's end */

typedef struct job_entry {
    char run_id[SRV_ID_LEN + 1];
    srv_job *job; /* NULL while loading */
    int loading;
    int refs;     /* threads using it */
    int over;     /* its run has finished: free it with its last reference */
    int64_t used; /* for least-recently-used eviction */
    struct job_entry *next;
} job_entry;

struct srv_pool {
    srv_job_env env;
    srv_running *running;
    srv_pool_cfg cfg;
    pthread_mutex_t mu;
    pthread_mutex_t claim_mu; /* a claim and its run's announcement entry, taken together */
    pthread_cond_t cond;      /* work may be there; a job finished loading */
    pthread_t *threads;
    int n_threads;
    int stop;
    int busy;
    int64_t tick; /* use counter for the cache */
    job_entry *jobs;
};

/* ---- the job cache ---- */

static job_entry *find_entry(srv_pool *p, const char *run_id) {
    for (job_entry *e = p->jobs; e; e = e->next)
        if (strcmp(e->run_id, run_id) == 0) return e;
    return NULL;
}

static void unlink_entry(srv_pool *p, job_entry *e) {
    for (job_entry **q = &p->jobs; *q; q = &(*q)->next) {
        if (*q == e) {
            *q = e->next;
            return;
        }
    }
}

/* A run was just started (queued → running, start number `attempt`) by claiming ref: its status
 * event, its skipped rows and the folds an earlier start finished, before any task of it trains
 * here (the caller holds the job's loading state, so other threads wait). */
static void announce(srv_job *job, srv_store *s, const srv_task_ref *ref, int attempt) {
    srv_job_event(job, ref, "status",
                  json_pack("{s:s, s:i, s:i, s:I}", "status", "running", "attempt", attempt,
                            "tasks", srv_job_n_tasks(job), "rows",
                            (json_int_t)srv_job_n_rows(job)));
    srv_job_log_skipped(job, ref);
    int restored = 0;
    nn_error err = {0};
    if (srv_job_restore(job, s, ref, &restored, &err) != NN_OK)
        (void)fprintf(stderr, "nnd: run %s: cannot restore its finished folds: %s\n", ref->run_id,
                      err.msg);
}

/* Called (under claim_mu) right after a claim that started ref's run: its entry, referenced and
 * marked loading, so that no other task of the run that this node claims after it can train
 * before acquire has announced the run (they wait for loading to end). NULL when out of memory. */
static job_entry *reserve(srv_pool *p, const char *run_id) {
    pthread_mutex_lock(&p->mu);
    job_entry *e;
    while ((e = find_entry(p, run_id)) && e->loading) pthread_cond_wait(&p->cond, &p->mu);
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        (void)snprintf(e->run_id, sizeof e->run_id, "%s", run_id);
        e->next = p->jobs;
        p->jobs = e;
    }
    if (e) {
        e->loading = 1;
        e->refs++;
        e->used = ++p->tick;
    }
    pthread_mutex_unlock(&p->mu);
    return e;
}

/* Ends the loading state of e: with its job (NULL: none could be loaded, so the entry goes
 * unless another thread holds it with a job) and wakes the threads waiting for it. */
static job_entry *loaded(srv_pool *p, job_entry *e, srv_job *job) {
    pthread_mutex_lock(&p->mu);
    e->loading = 0;
    if (job) e->job = job;
    if (!e->job) {
        unlink_entry(p, e); /* only reserve/acquire's reference: nobody else had it */
        free(e);
        e = NULL;
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return e;
}

/* The loaded job of ref's run with a reference taken, loading it if needed; NULL with err set.
 * mine: the entry reserve made for a claim that started the run (NULL for other claims): its job
 * is loaded if needed and the run announced before the threads waiting for it go on. */
static job_entry *acquire(srv_pool *p, srv_store *s, const srv_task_ref *ref, int run_started,
                          job_entry *mine, nn_error *err) {
    const char *run_id = ref->run_id;
    job_entry *e = mine;
    if (!e) {
        pthread_mutex_lock(&p->mu);
        while ((e = find_entry(p, run_id)) && e->loading) pthread_cond_wait(&p->cond, &p->mu);
        if (e) {
            e->refs++;
            e->used = ++p->tick;
            pthread_mutex_unlock(&p->mu);
            return e;
        }
        e = calloc(1, sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&p->mu);
            (void)nn_error_set(err, NN_ERR_NOMEM, "out of memory");
            return NULL;
        }
        (void)snprintf(e->run_id, sizeof e->run_id, "%s", run_id);
        e->loading = 1;
        e->refs = 1;
        e->used = ++p->tick;
        e->next = p->jobs;
        p->jobs = e;
        pthread_mutex_unlock(&p->mu);
    }
    srv_job *job = e->job; /* set only for a reserved entry that was loaded before */
    nn_status st = job ? NN_OK : srv_job_load(&p->env, s, run_id, &job, err);
    if (st == NN_OK && run_started) announce(job, s, ref, run_started);
    return loaded(p, e, st == NN_OK ? job : NULL);
}

/* Drops a reference; frees the entry when its run is over, and evicts the least recently used
 * idle jobs beyond max_active + 1 loaded. */
static void release(srv_pool *p, job_entry *e, int run_over) {
    srv_job *free_now[8];
    int n_free = 0;
    pthread_mutex_lock(&p->mu);
    e->refs--;
    e->over |= run_over;
    if (e->over && e->refs == 0) {
        unlink_entry(p, e);
        free_now[n_free++] = e->job;
        free(e);
    }
    for (;;) {
        int loaded = 0;
        job_entry *lru = NULL;
        for (job_entry *x = p->jobs; x; x = x->next) {
            loaded++;
            if (x->refs == 0 && !x->loading && (!lru || x->used < lru->used)) lru = x;
        }
        if (loaded <= p->cfg.max_active + 1 || !lru || n_free == 8) break;
        unlink_entry(p, lru);
        free_now[n_free++] = lru->job;
        free(lru);
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n_free; i++) srv_job_destroy(free_now[i]);
}

/* ---- a task ---- */

/* Ends the task in the store (retrying a busy store) and finishes the run when it was the last;
 * returns whether the run is over. */
static int end_task(srv_pool *p, srv_store *s, srv_job *job, const srv_task_ref *ref,
                    srv_task_result result, const char *error) {
    nn_error err = {0};
    srv_task_output out = {0};
    char *checkpoint = NULL;
    if (result == SRV_TASK_DONE && job && ref->task < srv_job_n_folds(job)) {
        out.checkpoint = checkpoint = srv_job_checkpoint(job, ref->task, &err);
        (void)srv_job_state(job, ref->task, &out);
        if (!checkpoint) {
            result = SRV_TASK_FAILED;
            error = err.msg;
        }
    }
    nn_error flush_err = {0};
    (void)srv_evwriter_flush(p->env.writer, 5000, &flush_err); /* its events before its end */
    srv_task_end end;
    nn_status st = NN_ERR_IO;
    for (int i = 0; i < END_TRIES && st != NN_OK; i++) {
        if (i > 0) { /* a busy or restarting database: a growing pause, 5.5 s in all */
            struct timespec ts = {0, 100000000L * i};
            while (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            (void)nanosleep(&ts, NULL);
        }
        st = srv_queue_end_task(s, p->env.ctx->node, ref, result, &out, error, &end, &err);
        if (st != NN_OK && (atomic_load(&p->env.ctx->stopping) || !srv_store_transient(st))) break;
    }
    free(checkpoint);
    free((void *)out.state);
    if (st != NN_OK) { /* its lease runs out and another attempt trains it */
        (void)fprintf(stderr, "nnd: run %s task %d: cannot record its end: %s\n", ref->run_id,
                      ref->task, err.msg);
        return 0;
    }
    if (end.fenced_out) {
        (void)fprintf(stderr, "nnd: run %s task %d attempt %d: lease lost, its end not kept\n",
                      ref->run_id, ref->task, ref->attempt);
        return 0;
    }
    if (result == SRV_TASK_FAILED) /* the run's other tasks here stop within a batch */
        (void)srv_running_stop(p->running, ref->run_id, -1, -1, SRV_STOP_CANCEL);
    if (end.run_over) srv_finish_run(&p->env, s, ref->run_id, &end, job);
    srv_pool_wake(p); /* a final fit may be ready, a run slot free */
    return end.run_over;
}

/* Gives back an entry of reserve that will not be used: its reference dropped, its loading
 * state ended, and the entry freed when it has no job or its run is over and nobody uses it. */
static void unreserve(srv_pool *p, job_entry *e) {
    srv_job *job = NULL;
    pthread_mutex_lock(&p->mu);
    e->refs--;
    e->loading = 0;
    if (!e->job || (e->over && e->refs == 0)) {
        job = e->job;
        unlink_entry(p, e);
        free(e);
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    if (job) srv_job_destroy(job);
}

static void run_claimed(srv_pool *p, srv_store *s, const srv_task_ref *ref, int run_started,
                        job_entry *mine) {
    nn_error err = {0};
    srv_running_task *rt = srv_running_add(p->running, ref);
    if (!rt && mine) {
        unreserve(p, mine);
        mine = NULL;
    }
    pthread_mutex_lock(&p->mu);
    int stopping = p->stop; /* set before srv_pool_destroy stops the running tasks */
    pthread_mutex_unlock(&p->mu);
    if (rt && stopping)
        (void)srv_running_stop(p->running, ref->run_id, ref->task, ref->attempt, SRV_STOP_SHUTDOWN);
    job_entry *e = rt ? acquire(p, s, ref, run_started, mine, &err) : NULL;
    if (!e) {
        char msg[300];
        (void)snprintf(msg, sizeof msg, "cannot load the run: %s", rt ? err.msg : "out of memory");
        if (rt) srv_running_remove(p->running, rt);
        (void)end_task(p, s, NULL, ref, SRV_TASK_FAILED, msg);
        return;
    }
    srv_job *job = e->job;
    int restored = 0;
    nn_status st = NN_OK;
    if (ref->task >= srv_job_n_folds(job)) /* the final fit needs every fold */
        st = srv_job_restore(job, s, ref, &restored, &err);
    else
        srv_job_continue(job, s, ref);
    if (st == NN_OK) st = srv_job_train(job, rt, &err);
    srv_stop_why why = (srv_stop_why)atomic_load(&rt->why);
    srv_running_remove(p->running, rt);
    int over = 0;
    if (why == SRV_STOP_LOST)
        (void)fprintf(stderr, "nnd: run %s task %d attempt %d: lease lost; stopped\n", ref->run_id,
                      ref->task, ref->attempt);
    else if (why != SRV_STOP_SHUTDOWN || st == NN_OK)
        over = end_task(p, s, job, ref,
                        st == NN_OK              ? SRV_TASK_DONE
                        : st == NN_ERR_CANCELLED ? SRV_TASK_CANCELLED
                                                 : SRV_TASK_FAILED,
                        err.msg);
    release(p, e, over);
}

static void *worker_main(void *arg) {
    srv_pool *p = arg;
    /* Training yields to the HTTP threads: reads stay fast while the cores are busy training.
       SCHED_IDLE: a worker runs when no thread of normal priority wants the core (the HTTP
       threads, the event writer, the heartbeat); nice 10 where the kernel refuses it (on Linux
       nice is per thread and who = 0 names the calling thread). */
    struct sched_param idle = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0)
        (void)setpriority(PRIO_PROCESS, 0, SRV_POOL_NICE); /* where SCHED_IDLE is refused */
    srv_claim_cfg claim = {p->env.ctx->node, p->cfg.lease_ms, p->cfg.workers, p->cfg.max_active};
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        nn_error err = {0};
        srv_store *s = srv_ctx_store(p->env.ctx, &err);
        srv_task_ref ref;
        int found = 0, started = 0;
        job_entry *mine = NULL;
        /* A claim that starts a run reserves its entry before any other worker here can claim
           a task of it: the run's status event comes before their epochs. */
        pthread_mutex_lock(&p->claim_mu);
        if (s && srv_queue_claim(s, &claim, &ref, &found, &started, &err) != NN_OK)
            (void)fprintf(stderr, "nnd: cannot claim a task: %s\n", err.msg);
        if (found && started) mine = reserve(p, ref.run_id);
        pthread_mutex_unlock(&p->claim_mu);
        pthread_mutex_lock(&p->mu);
        if (found && !p->stop) {
            p->busy++;
            pthread_mutex_unlock(&p->mu);
            run_claimed(p, s, &ref, started, mine);
            pthread_mutex_lock(&p->mu);
            p->busy--;
            continue;
        }
        if (found) { /* stopping: the claim is released with the others */
            pthread_mutex_unlock(&p->mu);
            if (mine) unreserve(p, mine);
            pthread_mutex_lock(&p->mu);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1; /* look again: leases reclaimed, runs queued by another process */
        (void)pthread_cond_timedwait(&p->cond, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

nn_status srv_pool_create(const srv_job_env *env, srv_running *running, const srv_pool_cfg *cfg,
                          srv_pool **out, nn_error *err) {
    int threads = cfg->workers + cfg->max_active - 1;
    srv_pool *p = calloc(1, sizeof *p);
    if (!p) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the worker pool");
    p->env = *env;
    p->running = running;
    p->cfg = *cfg;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the worker pool");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->claim_mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_mutex_lock(&p->mu); /* workers read n_threads under the lock */
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) break;
        p->n_threads++;
    }
    int started = p->n_threads;
    pthread_mutex_unlock(&p->mu);
    if (started == 0) {
        srv_pool_destroy(p);
        return nn_error_set(err, NN_ERR_NOMEM, "cannot start worker threads");
    }
    *out = p;
    return NN_OK;
}

void srv_pool_wake(srv_pool *p) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void srv_pool_stats(srv_pool *p, int *jobs, int *busy) {
    pthread_mutex_lock(&p->mu);
    *jobs = 0;
    for (job_entry *e = p->jobs; e; e = e->next) (*jobs)++;
    *busy = p->busy;
    pthread_mutex_unlock(&p->mu);
}

void srv_pool_destroy(srv_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    (void)srv_running_stop(p->running, NULL, -1, -1, SRV_STOP_SHUTDOWN);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    while (p->jobs) {
        job_entry *e = p->jobs;
        p->jobs = e->next;
        srv_job_destroy(e->job);
        free(e);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->claim_mu);
    pthread_cond_destroy(&p->cond);
    free(p->threads);
    free(p);
}
