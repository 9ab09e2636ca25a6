/* srv_app.h — the daemon's shared context: configuration, storage connections, the worker pool,
 * the event hub, counters. One srv_app per process, created in main.c and passed to everything;
 * nothing in server/ keeps global state of its own. srv_app_start/srv_app_stop bring the parts
 * up and down in order (main.c uses them; so does the HTTP fuzz harness, fuzz/fuzz_http.c).
 *
 * Threads: libmicrohttpd's pool threads run the HTTP handlers; srv_pool's workers train. Each
 * thread gets its own storage connection on first use (srv_app_store), closed when the thread
 * exits. Lock order, where several are held: pool → job → hub → stream.
 */
#ifndef SRV_APP_H
#define SRV_APP_H

#include "srv_config.h"
#include "srv_store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct srv_pool srv_pool;
typedef struct srv_hub srv_hub;
typedef struct srv_models srv_models;
typedef struct srv_guard srv_guard;
typedef struct srv_work srv_work;
typedef struct srv_tables srv_tables;
typedef struct srv_metrics srv_metrics;
struct MHD_Daemon;

typedef struct srv_counters {
    atomic_llong requests;
    atomic_llong responses_4xx;
    atomic_llong responses_5xx;
    atomic_llong samples_trained;
    atomic_llong rows_predicted;
    atomic_llong bytes_uploaded;
    atomic_int streams_open;
} srv_counters;

typedef struct srv_app {
    srv_config cfg;
    pthread_key_t store_key; /* per-thread srv_store* */
    srv_pool *pool;
    srv_hub *hub;
    srv_models *models;      /* cache of loaded models for predict */
    struct MHD_Daemon *http; /* the HTTP daemon, from srv_app_start */
    srv_guard *guard;        /* the request-header deadline of the HTTP daemon's connections */
    srv_work *work;          /* threads for expensive requests (srv_work.h), from srv_http_start */
    srv_tables *tables;      /* parsed datasets (srv_tables.h), from srv_http_start */
    srv_metrics *metrics;    /* cached run counts for /metrics (srv_metrics.h), likewise */
    srv_counters counters;
    int64_t started_at; /* ms */
    atomic_int stopping;
} srv_app;

/* Starts the daemon on app->cfg (already filled): migrates the database, recovers runs a dead
 * process left running (*requeued of them queued again, *failed given up), starts the event hub,
 * the model cache, the worker pool and then the HTTP daemon. On failure returns the status with
 * the failing part named in err ("storage: …", "http: …"); what was started stays for
 * srv_app_stop. app must outlive srv_app_stop: threads hold pointers into it. */
nn_status srv_app_start(srv_app *app, int *requeued, int *failed, nn_error *err);
/* The TCP port the HTTP daemon listens on (the one picked when the configured port is 0). */
int srv_app_port(const srv_app *app);
/* Stops in order: no new connections, event streams end, training is cancelled (runs go back to
 * the queue), the HTTP daemon, the hub, the model cache, the calling thread's storage. */
void srv_app_stop(srv_app *app);

/* The calling thread's storage connection, opened on first use; NULL with err set on failure. */
srv_store *srv_app_store(srv_app *app, nn_error *err);
/* Milliseconds since the Unix epoch. */
int64_t srv_now_ms(void);

#endif
