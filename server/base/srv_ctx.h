/* srv_ctx.h — the small context at the bottom of nnd: configuration, counters, the stopping
 * flag, this process's node id, the clock, and the handle of its storage connections. One per
 * process, created by srv_app (the composition at the top) and passed down to everything; no
 * layer of server/ keeps global state of its own.
 *
 * Layers of server/, each a folder and a static library linking only the ones below it:
 *   base    this context and the configuration                 server/base
 *   store   SQLite storage and the task queue                  server/store
 *   engine  pool, jobs, leases, event hub and writer, models   server/engine
 *   http    routes, handlers, event streams                    server/http
 *   srv_app.c and main.c compose them.
 */
#ifndef SRV_CTX_H
#define SRV_CTX_H

#include "srv_config.h"

#include <stdatomic.h>
#include <stdint.h>

#define SRV_ID_LEN 32      /* ids are 32 lowercase hex characters */
#define SRV_NODE_LEN 32    /* a node id: 32 lowercase hex characters, new at every start */
#define SRV_NODE_STABLE 16 /* with a shared store its first 16 are the data dir's (node-id) */

typedef struct srv_stores srv_stores; /* per-thread storage connections (store/srv_store.h) */

typedef struct srv_counters {
    atomic_llong requests;
    atomic_llong responses_4xx;
    atomic_llong responses_5xx;
    atomic_llong samples_trained;
    atomic_llong rows_predicted;
    atomic_llong bytes_uploaded;
    atomic_int streams_open;
} srv_counters;

typedef struct srv_ctx {
    srv_config cfg;
    srv_counters counters;
    atomic_int stopping;         /* set first at shutdown: streams end, loops exit */
    int64_t started_at;          /* ms since the epoch */
    char node[SRV_NODE_LEN + 1]; /* who owns a claimed task (tasks.owner); with a shared store
                                    the data dir's SRV_NODE_STABLE characters, then random */
    srv_stores *stores;          /* the storage connections (store layer) */
} srv_ctx;

/* Milliseconds since the Unix epoch (nn_clock's wall clock). */
int64_t srv_now_ms(void);

/* A fresh random id of n hex characters into out[n + 1] (from /dev/urandom); NN_ERR_IO when
 * the system has no randomness to give. */
nn_status srv_random_hex(char *out, size_t n, nn_error *err);

#endif
