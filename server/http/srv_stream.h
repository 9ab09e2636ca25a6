/* srv_stream.h — a run's events as an HTTP stream: Server-Sent Events or NDJSON.
 *
 * DESIGN: a stream is a libmicrohttpd callback response over a hub subscription (srv_hub.h).
 * Each time libmicrohttpd asks for bytes, the stream sends what it has formatted, else formats
 * the next events: from the hub's memory when it holds them, from the store otherwise. With
 * nothing new it arms its subscription and suspends its connection inside srv_hub_wait (under
 * the hub's lock, so no publish falls in between); a publish or close of the run resumes it.
 * The ticker (srv_streams) resumes every armed stream every SRV_STREAM_TICK seconds, so SSE
 * streams send a keep-alive comment and runs trained by another process are seen in the store.
 * With a shared store (PostgreSQL) every stream reads the store, woken by this node's event
 * writer and other nodes' NOTIFYs (srv_hub_wake_run), and the ticker polls every
 * SRV_STREAM_POLL_MS besides: a lost notification costs that much latency, never an event.
 * A stream ends after its run has finished and every event up to its last has been sent, or
 * when nnd stops.
 */
#ifndef SRV_STREAM_H
#define SRV_STREAM_H

#include "srv_engine.h"

#include <microhttpd.h>

#define SRV_STREAM_TICK 15      /* seconds between keep-alives */
#define SRV_STREAM_POLL_MS 1000 /* a shared store's streams look at it at least this often */

typedef struct srv_stream srv_stream;
typedef struct srv_streams srv_streams;

typedef enum srv_stream_format { SRV_STREAM_SSE, SRV_STREAM_NDJSON } srv_stream_format;

/* The ticker of every stream of this process: wakes them every poll_ms (≤ 0: every
 * SRV_STREAM_TICK seconds). */
nn_status srv_streams_create(srv_hub *hub, int poll_ms, srv_streams **out, nn_error *err);
void srv_streams_destroy(srv_streams *ss);

/* A stream of run_id's events after sequence number `after` for client (its address). NULL
 * when out of memory, or with *refused = 1 when that client has max_per_client streams open. */
srv_stream *srv_stream_create(srv_ctx *ctx, srv_hub *hub, const char *run_id, int64_t after,
                              srv_stream_format format, const char *client, int max_per_client,
                              int *refused);
/* The MHD response reading the stream (takes the stream). */
struct MHD_Response *srv_stream_response(srv_stream *st, struct MHD_Connection *conn);

#endif
