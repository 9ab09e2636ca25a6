/* srv_config.h — nnd's configuration from flags and NND_* environment variables (flags win). */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include "nn_common.h"

#include <stdint.h>

typedef struct srv_config {
    char listen_host[64]; /* --listen HOST:PORT, NND_LISTEN; default 127.0.0.1:8080 */
    int port;
    char data_dir[1024]; /* --data-dir, NND_DATA_DIR; default ./nnd-data */
    char db[1024];       /* --db, NND_DB: a PostgreSQL URL; empty = SQLite in data_dir */
    char web_dir[1024];  /* --web-dir, NND_WEB_DIR; default: web/ next to the binary's source */
    int workers;         /* --workers, NND_WORKERS; default: number of cores */
    int max_active;      /* --max-active-runs, NND_MAX_ACTIVE_RUNS: runs training at once;
                            default 2 */
    int http_threads;    /* --http-threads, NND_HTTP_THREADS; default the cores, 2..8 */
    int64_t max_upload;  /* --max-upload BYTES, NND_MAX_UPLOAD; default 256 MiB */
    int64_t max_body;    /* JSON bodies (specs, predict rows): NND_MAX_BODY; default 16 MiB */
    int max_queued;      /* --max-queued, NND_MAX_QUEUED: queued runs before 429; default 64 */
    int max_streams;     /* NND_MAX_STREAMS: open event streams; default 256 */
    int max_streams_per_client; /* --max-streams-per-client, NND_MAX_STREAMS_PER_CLIENT: open
                                   event streams per client IP address; default 16 */
    int64_t max_spec_bytes;     /* --max-spec-bytes, NND_MAX_SPEC_BYTES: the body of POST /v1/runs
                                   and /v1/specs/validate, checked before parsing; default 1 MiB */
    int64_t max_params;         /* --max-params, NND_MAX_PARAMS: a run's network parameters ×
                                   ensemble; default 50,000,000 */
    int timeout;              /* --timeout SECONDS, NND_TIMEOUT: an idle connection (or one sending
                                 its request too slowly) is closed after this; default 30 */
    int64_t max_epoch_events; /* --max-epoch-events, NND_MAX_EPOCH_EVENTS: epoch events stored
                                 per run at most (thinned past it); default 100000 */
    int lease_seconds;        /* --lease SECONDS, NND_LEASE: a claimed task's lease; default 30 */
    int64_t min_body_rate; /* --min-body-rate BYTES, NND_MIN_BODY_RATE: a request body must arrive
                              this fast, per --timeout window; default 1024 */
    int max_uploads_per_client; /* --max-uploads-per-client, NND_MAX_UPLOADS_PER_CLIENT: uploads in
                                   progress from one client address before 429; default 16 */
    int work_threads;    /* --work-threads, NND_WORK_THREADS: threads parsing uploads and planning
                            specs off the HTTP threads; default 2 */
    int max_work_queue;  /* --max-work-queue, NND_MAX_WORK_QUEUE: such requests waiting before 503;
                            default 256 */
    int64_t table_cache; /* --table-cache BYTES, NND_TABLE_CACHE: parsed datasets kept in memory;
                            default 512 MiB */
    char token[256];     /* NND_TOKEN (or --token-file): bearer token for the API; empty = off */
    char cors_origin[256]; /* --cors-origin, NND_CORS_ORIGIN; empty = CORS off */
    int quiet;             /* --quiet: no request log */
} srv_config;

/* Parses argv and the environment. Returns NN_OK, or NN_ERR_INVALID with a message for a bad
 * flag or value; help and version are set when --help/--version was given. */
nn_status srv_config_parse(srv_config *cfg, int argc, char **argv, int *help, int *version,
                           nn_error *err);

/* The --help text. */
const char *srv_config_usage(void);

#endif
