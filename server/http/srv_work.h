/* srv_work.h — a few threads for expensive request work, off the HTTP threads.
 *
 * DESIGN: parsing an upload, planning a spec on a dataset (POST /v1/specs/validate, POST
 * /v1/runs) and summarizing a run's features cost from milliseconds to seconds of CPU each.
 * Run on libmicrohttpd's few threads, eight of them at once held every thread and /healthz
 * waited seconds. Instead the access handler suspends such a request's connection and queues
 * it here; a work thread runs the handler and resumes the connection, and libmicrohttpd calls
 * the access handler again to send the answer. The HTTP threads stay free for health, reads
 * and event streams however many expensive requests run, and the work threads run at nice
 * SRV_WORK_NICE so that the request threads are scheduled first when the cores are busy. The
 * queue is bounded: beyond max_queue waiting requests a submission is refused (the handler
 * answers 503 with Retry-After) rather than piling up connections and memory. A cap alone (503
 * past N concurrent plans) would answer the dashboard's validations while typing with errors;
 * the queue makes them wait their turn and refuses only a flood. Every request that is not a
 * read (POST, DELETE) runs here too, whatever it costs: it may wait for the database's write
 * lock (up to the busy timeout while another process or node holds it), and a read never does
 * (WAL), so the HTTP threads never wait for a lock and one of them is enough on two cores.
 * Ownership: a job's argument belongs to the submitter; srv_work runs fn(arg, 0) once on a work
 * thread, or fn(arg, 1) on the destroying thread for a job still queued when the pool stops.
 * Locking: one mutex over the queue; fn runs without it.
 */
#ifndef SRV_WORK_H
#define SRV_WORK_H

#include "nn_common.h"

#define SRV_WORK_NICE 5

typedef struct srv_work srv_work;
/* A job: cancelled = 1 when the pool stopped before it ran (answer, don't work). */
typedef void (*srv_work_fn)(void *arg, int cancelled);

/* threads threads (≥ 1), at most max_queue jobs waiting. */
nn_status srv_work_create(int threads, int max_queue, srv_work **out, nn_error *err);
/* Refuses new jobs from now on (srv_work_submit fails), calls fn(arg, 1) for the queued ones and
 * waits for the running ones; the pool stays valid to submit to (and be refused) until
 * srv_work_destroy. NULL is a no-op; a second call does nothing. */
void srv_work_stop(srv_work *w);
/* srv_work_stop, then frees. NULL is a no-op. */
void srv_work_destroy(srv_work *w);
/* Queues fn(arg); 0, or -1 (nothing queued) when max_queue jobs wait already or the pool
 * stops. */
int srv_work_submit(srv_work *w, srv_work_fn fn, void *arg);
/* Jobs running and waiting now. */
void srv_work_stats(srv_work *w, int *running, int *queued);

#endif
