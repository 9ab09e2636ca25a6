/* event_writer.c — how many run events per second the event writer stores into SQLite: N epoch
 * events of one task (fenced by its lease, with progress), queued as fast as training could,
 * timed until the writer has stored them all. Also the queueing cost a training thread pays per
 * event (srv_evwriter_put).
 *
 *   event_writer [--events N]        default 200000; prints one line per measurement
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "nn_clock.h"
#include "srv_evwriter.h"
#include "srv_queue.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int die(const char *what, const nn_error *err) {
    (void)fprintf(stderr, "event_writer: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv) {
    long n = 200000;
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--events") == 0) n = strtol(argv[i + 1], NULL, 10);
    if (n < 1) n = 1;
    char root[] = "/tmp/nnd-evbench-XXXXXX";
    if (!mkdtemp(root)) return 1;
    srv_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    (void)snprintf(ctx.cfg.data_dir, sizeof ctx.cfg.data_dir, "%s/data", root);
    nn_error err = {0};
    if (srv_random_hex(ctx.node, SRV_NODE_LEN, &err) != NN_OK) return die("node", &err);
    if (srv_store_migrate(NULL, ctx.cfg.data_dir, &err) != NN_OK) return die("migrate", &err);
    if (srv_stores_create(NULL, ctx.cfg.data_dir, &ctx.stores, &err) != NN_OK)
        return die("stores", &err);
    srv_store *s = srv_ctx_store(&ctx, &err);
    if (!s) return die("open", &err);
    srv_run run;
    memset(&run, 0, sizeof run);
    run.spec = json_pack("{s:s}", "name", "bench");
    memset(run.spec_hash, 'e', 64);
    run.n_folds = 1;
    run.n_tasks = 1;
    run.epochs_per_task = n;
    int created = 0;
    if (srv_run_create(s, &run, NULL, NULL, &created, &err) != NN_OK) return die("run", &err);
    srv_claim_cfg cfg = {ctx.node, 600000, 1, 1};
    srv_task_ref ref;
    int found = 0, started = 0;
    if (srv_queue_claim(s, &cfg, &ref, &found, &started, &err) != NN_OK || !found)
        return die("claim", &err);
    srv_evwriter *w = NULL;
    if (srv_evwriter_create(&ctx, NULL, &w, &err) != NN_OK) return die("writer", &err);
    double t0 = nn_clock_seconds();
    for (long i = 1; i <= n; i++) {
        char data[256];
        int len = snprintf(data, sizeof data,
                           "{\"fold\":1,\"member\":1,\"epoch\":%ld,\"epochs\":%ld,\"train_loss\":"
                           "0.0123456789,\"val_loss\":0.0134567891,\"val_r2\":0.8765432109,"
                           "\"lr\":0.001,\"seconds\":%.6f}",
                           i, n, (double)i * 1e-3);
        srv_evwriter_put(w, run.id, i, "epoch", strndup(data, (size_t)len), &ref, i);
    }
    double t1 = nn_clock_seconds();
    if (srv_evwriter_flush(w, 600000, &err) != NN_OK) return die("flush", &err);
    double t2 = nn_clock_seconds();
    srv_evwriter_stats st;
    srv_evwriter_stats_get(w, &st);
    srv_evwriter_destroy(w, 1000);
    printf("events queued by one thread: %.0f /s (%.2f us each)\n", (double)n / (t1 - t0),
           (t1 - t0) * 1e6 / (double)n);
    printf("events stored (fenced, with progress): %.0f /s — %ld events in %.2f s, %lld batches "
           "of up to %d\n",
           (double)n / (t2 - t0), n, t2 - t0, (long long)st.batches, SRV_EVWRITER_BATCH);
    srv_run_free(&run);
    srv_stores_destroy(ctx.stores);
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): the writer has stopped; one thread is left */
    return nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : 1;
}
