/* srv_stream.h — a run's or a study's events as an HTTP stream: Server-Sent Events or NDJSON.
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
 *
 * A study's stream works the same way over the study's stored events (srv_study_events): they
 * are never in the hub's memory, its subscription (under the study's id) only sleeps, and the
 * study driver wakes it after each save that stored events (srv_hub_wake_run with the study's
 * id); on a shared store other nodes' saves are seen by the ticker's poll. It ends once the
 * study has ended and every event has been sent.
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
typedef enum srv_stream_kind { SRV_STREAM_RUN, SRV_STREAM_STUDY } srv_stream_kind;

/* The ticker of every stream of this process: wakes them every poll_ms (≤ 0: every
 * SRV_STREAM_TICK seconds). */
nn_status srv_streams_create(srv_hub *hub, int poll_ms, srv_streams **out, nn_error *err);
void srv_streams_destroy(srv_streams *ss);

/* A stream of the events of run or study `id` after sequence number `after` for client (its
 * address). NULL when out of memory, or with *refused = 1 when that client has max_per_client
 * streams open. */
srv_stream *srv_stream_create(srv_ctx *ctx, srv_hub *hub, srv_stream_kind kind, const char *id,
                              int64_t after, srv_stream_format format, const char *client,
                              int max_per_client, int *refused);
/* The MHD response reading the stream (takes the stream). */
struct MHD_Response *srv_stream_response(srv_stream *st, struct MHD_Connection *conn);

#endif
