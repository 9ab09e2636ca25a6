/* srv_metrics.h — the run counts /metrics reports, cached.
 *
 * DESIGN: /metrics is unauthenticated and scraped every few seconds by any number of scrapers.
 * Counting the stored runs by status costs time in proportion to their number (one GROUP BY
 * over the status index: about 2 ms at 15,000 runs); done for every scrape, a few scrapers
 * would hold HTTP threads busy as runs accumulate. The counts are instead taken at most once
 * every SRV_METRICS_REFRESH_MS: the scrape that finds them older counts again (the others
 * meanwhile wait for it on the mutex, then use its result), so the cost of a scrape does not
 * grow with the number of stored runs, and the gauges are at most that old. Counters kept in
 * memory (requests, bytes, samples) are read live.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include "srv_store.h"

#define SRV_METRICS_REFRESH_MS 2000

typedef struct srv_metrics srv_metrics;

nn_status srv_metrics_create(srv_metrics **out, nn_error *err);
void srv_metrics_destroy(srv_metrics *m);
/* Runs by status (indexed by srv_run_status, 5 values), as of at most SRV_METRICS_REFRESH_MS
 * ago; counted through s when older. *age_ms: how old they are. */
nn_status srv_metrics_run_counts(srv_metrics *m, srv_store *s, long long counts[5], int64_t *age_ms,
                                 nn_error *err);
/* Times the counts were taken from the store, since the start. */
long long srv_metrics_refreshes(srv_metrics *m);

#endif
