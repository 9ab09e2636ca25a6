/* srv_events.h — run events: published by training jobs, streamed to clients live.
 *
 * DESIGN: every report of a run (status, fold, epoch, log) is an event with a per-run sequence
 * number 1, 2, 3 …. The training job publishes each event to the hub, which keeps the events of
 * runs training in this process in memory and wakes the streams waiting on that run; the job
 * also writes them to the store in batches, always before it closes the run, so that the store
 * holds every event of every finished run. A stream (SSE or NDJSON) is an MHD callback response
 * that reads from the hub's memory when it holds the next event, from the store otherwise. When
 * it has nothing to send it registers with the hub and suspends its connection (no polling, no
 * busy loop); publish and close resume every waiting connection of the run. A tick thread also
 * resumes every waiting stream every SRV_STREAM_TICK seconds so SSE streams send a keep-alive
 * comment and runs trained by another nnd process are seen. A stream ends after the run has
 * finished and every event up to its last has been sent.
 */
#ifndef SRV_EVENTS_H
#define SRV_EVENTS_H

#include "srv_app.h"

#include <jansson.h>
#include <microhttpd.h>

#define SRV_STREAM_TICK 15
#define SRV_HUB_MAX_EVENTS                                                                         \
    200000 /* events kept in memory per run; older ones come from the store */

typedef struct srv_stream srv_stream;

nn_status srv_hub_create(srv_app *app, srv_hub **out, nn_error *err);
void srv_hub_destroy(srv_hub *hub);

/* A job starts publishing a run whose stored events end at last_seq. */
void srv_hub_open_run(srv_hub *hub, const char *run_id, int64_t last_seq);
/* Publishes an event (data JSON text copied); returns its sequence number. */
int64_t srv_hub_publish(srv_hub *hub, const char *run_id, const char *type, const char *data);
/* The run's events are all in the store and the run has finished (or left this process):
 * drops the memory and wakes its streams so they finish from the store. */
void srv_hub_close_run(srv_hub *hub, const char *run_id);

/* Resumes every waiting stream (at shutdown, after app->stopping is set, so they end). */
void srv_hub_wake_all(srv_hub *hub);

typedef enum srv_stream_format { SRV_STREAM_SSE, SRV_STREAM_NDJSON } srv_stream_format;

/* A stream of run_id's events after sequence number `after` for the client at address `client`
 * (text, e.g. "127.0.0.1"). NULL when out of memory, or with *refused = 1 when that client has
 * max_per_client streams open already (counted and registered under the hub's lock, so
 * concurrent requests cannot overshoot). */
srv_stream *srv_stream_create(srv_hub *hub, const char *run_id, int64_t after,
                              srv_stream_format format, const char *client, int max_per_client,
                              int *refused);
/* The MHD response reading the stream (takes the stream). */
struct MHD_Response *srv_stream_response(srv_stream *st, struct MHD_Connection *conn);

#endif
