/* srv_pool.c — workers, task scheduling and job lifecycles (see srv_pool.h DESIGN). */
#include "srv_pool.h"

#include "nn_csv.h"
#include "nn_cv.h"
#include "nn_report.h"
#include "srv_events.h"
#include "srv_job.h"
#include "srv_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct srv_pool {
    srv_app *app;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t *threads;
    int n_threads;  /* workers + max_active − 1 */
    int workers;    /* the most threads one job uses at once */
    int max_active; /* the most jobs at once */
    int stop;
    int claiming;    /* a worker is claiming/loading a run */
    int queue_empty; /* the last claim found nothing; reset by srv_pool_wake and timeouts */
    int busy;        /* workers running a task */
    srv_job **jobs;  /* (n_jobs) active jobs */
    int n_jobs;
    int rr; /* round-robin cursor */
};

/* Whether job j has a task to give now; pool->mu held. */
static int has_task(srv_job *j) {
    if (j->stopping || j->running >= j->pool_share) return 0;
    while (j->next_fold < j->n_folds && j->restored && j->restored[j->next_fold]) j->next_fold++;
    if (j->next_fold < j->n_folds) return 1;
    return j->has_final && !j->final_started && j->tasks_done == j->n_folds;
}

/* Picks the next task: from the active job with the fewest tasks running (so runs share the
 * workers), ties broken round-robin; pool->mu held. */
static srv_job *pick_task(srv_pool *p, int *task) {
    srv_job *best = NULL;
    int best_k = 0;
    for (int k = 0; k < p->n_jobs; k++) {
        srv_job *j = p->jobs[(p->rr + k) % p->n_jobs];
        if (!has_task(j)) continue;
        if (!best || j->running < best->running) {
            best = j;
            best_k = k;
        }
    }
    if (!best) return NULL;
    if (best->next_fold < best->n_folds) {
        *task = best->next_fold++;
    } else {
        best->final_started = 1;
        *task = best->n_folds;
    }
    p->rr = (p->rr + best_k + 1) % p->n_jobs;
    return best;
}

static void remove_job(srv_pool *p, srv_job *j) {
    for (int i = 0; i < p->n_jobs; i++) {
        if (p->jobs[i] == j) {
            p->jobs[i] = p->jobs[--p->n_jobs];
            break;
        }
    }
    if (p->n_jobs)
        p->rr %= p->n_jobs;
    else
        p->rr = 0;
}

/* A job is over when no task runs and none is left (or it is stopping). */
static int job_over(const srv_job *j) {
    if (j->running > 0) return 0;
    if (j->stopping) return 1;
    return j->tasks_done == j->n_folds + j->has_final;
}

static void run_task(srv_pool *p, srv_job *j, int task) {
    nn_error err = {0};
    nn_status st = nn_cv_run_task(j->cv, task, &err);
    if (st == NN_OK && task < j->n_folds) srv_job_checkpoint(j, task);
    pthread_mutex_lock(&p->mu);
    j->running--;
    if (st == NN_OK) {
        j->tasks_done++;
    } else if (!j->stopping) {
        j->stopping = 1;
        j->status = st;
        j->err = err;
        atomic_store(&j->cancel, 1); /* the other folds stop within a batch */
    }
    int over = job_over(j);
    if (over) remove_job(p, j);
    pthread_mutex_unlock(&p->mu);
    if (over) {
        srv_job_finish(j);
        srv_job_destroy(j);
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Claims and loads a run; returns the job or NULL when the queue is empty. */
static srv_job *claim(srv_pool *p) {
    nn_error err = {0};
    srv_store *s = srv_app_store(p->app, &err);
    if (!s) {
        fprintf(stderr, "nnd: worker has no storage connection: %s\n", err.msg);
        return NULL;
    }
    char run_id[SRV_ID_LEN + 1];
    int found = 0;
    if (srv_queue_claim(s, run_id, &found, &err) != NN_OK) {
        fprintf(stderr, "nnd: cannot claim a run: %s\n", err.msg);
        return NULL;
    }
    return found ? srv_job_load(p->app, s, run_id) : NULL;
}

/* Claims and loads a run into the pool (pool->mu held, released while loading); returns 1 if a
 * job was added or finished, 0 when the queue was empty. */
static int claim_into_pool(srv_pool *p) {
    p->claiming = 1;
    pthread_mutex_unlock(&p->mu);
    srv_job *nj = claim(p);
    pthread_mutex_lock(&p->mu);
    p->claiming = 0;
    if (!nj) {
        p->queue_empty = 1;
        return 0;
    }
    if (nj->cv && !job_over(nj)) {
        nj->pool_share = p->workers;
        p->jobs[p->n_jobs++] = nj;
        pthread_cond_broadcast(&p->cond);
        return 1;
    }
    /* failed while loading (already finished as failed), or every task restored */
    pthread_mutex_unlock(&p->mu);
    if (nj->cv) srv_job_finish(nj);
    srv_job_destroy(nj);
    pthread_mutex_lock(&p->mu);
    return 1;
}

static void *worker_main(void *arg) {
    srv_pool *p = arg;
    /* Training yields to the HTTP threads: reads stay fast while the cores are busy training.
       On Linux nice is per thread and who = 0 names the calling thread. */
    (void)setpriority(PRIO_PROCESS, 0, SRV_POOL_NICE);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        /* Fairness: a free worker first takes another queued run while fewer runs are active
           than workers, so two runs train side by side instead of one after the other. */
        if (!p->claiming && !p->queue_empty && p->n_jobs < p->max_active && claim_into_pool(p))
            continue;
        int task = -1;
        srv_job *j = pick_task(p, &task);
        if (j) {
            j->running++;
            p->busy++;
            pthread_mutex_unlock(&p->mu);
            run_task(p, j, task);
            pthread_mutex_lock(&p->mu);
            p->busy--;
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) != 0)
            p->queue_empty = 0; /* look again: runs queued by another process */
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

nn_status srv_pool_create(srv_app *app, int workers, int max_active, srv_pool **out,
                          nn_error *err) {
    int threads = workers + max_active - 1;
    srv_pool *p = calloc(1, sizeof *p);
    if (!p) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the worker pool");
    p->app = app;
    p->workers = workers;
    p->max_active = max_active;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    p->jobs = calloc((size_t)max_active, sizeof *p->jobs);
    if (!p->threads || !p->jobs) {
        free(p->threads);
        free(p->jobs);
        free(p);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the worker pool");
    }
    pthread_mutex_init(&p->mu, NULL);
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
    p->queue_empty = 0;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

int srv_pool_cancel(srv_pool *p, const char *run_id) {
    int found = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n_jobs; i++) {
        srv_job *j = p->jobs[i];
        if (strcmp(j->run_id, run_id) != 0) continue;
        found = 1;
        if (!j->stopping) {
            j->stopping = 1;
            j->status = NN_ERR_CANCELLED;
            nn_error_set(&j->err, NN_ERR_CANCELLED, "cancelled by request");
        }
        atomic_store(&j->cancel, 1);
        if (job_over(j)) { /* loaded but no task running: finish it here */
            remove_job(p, j);
            pthread_mutex_unlock(&p->mu);
            srv_job_finish(j);
            srv_job_destroy(j);
            return 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

void srv_pool_stats(srv_pool *p, int *active_jobs, int *busy_workers) {
    pthread_mutex_lock(&p->mu);
    *active_jobs = p->n_jobs;
    *busy_workers = p->busy;
    pthread_mutex_unlock(&p->mu);
}

void srv_pool_destroy(srv_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    for (int i = 0; i < p->n_jobs; i++) {
        srv_job *j = p->jobs[i];
        if (!j->stopping) {
            j->stopping = 1;
            j->status = NN_ERR_CANCELLED;
            j->shutdown = 1;
        }
        atomic_store(&j->cancel, 1);
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    /* jobs whose last task ended during shutdown were finished by their workers; the rest had
       no task running */
    for (int i = 0; i < p->n_jobs; i++) {
        srv_job_finish(p->jobs[i]);
        srv_job_destroy(p->jobs[i]);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p->threads);
    free(p->jobs);
    free(p);
}
