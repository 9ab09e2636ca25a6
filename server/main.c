/* nnd — the training daemon. Process-wide setup lives here and nowhere else: BLAS threads,
 * signals, the storage migration, and the order in which the parts start and stop.
 *
 * Start: parse the configuration, migrate the database, recover runs a dead process left
 * running, start the event hub, the worker pool and then the HTTP daemon. Stop (SIGINT/SIGTERM):
 * stop accepting connections, end the event streams, cancel training (runs go back to the
 * queue, to restart at the next start), stop the HTTP daemon, exit 0. */
#include "nn_matrix.h"
#include "srv_api.h"
#include "srv_events.h"
#include "srv_models.h"
#include "srv_pool.h"
#include "srv_queue.h"

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void close_store(void *p) { srv_store_close(p); }

static int wait_for_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

static int fail(const char *what, const nn_error *err) {
    fprintf(stderr, "nnd: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv) {
    openblas_set_num_threads(1); /* parallelism is across folds and runs */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits this */

    static srv_app app; /* lives for the whole process; threads hold pointers into it */
    int help = 0, version = 0;
    nn_error err = {0};
    if (srv_config_parse(&app.cfg, argc, argv, &help, &version, &err) != NN_OK) {
        fprintf(stderr, "nnd: %s\n", err.msg);
        return 2;
    }
    if (help) return fputs(srv_config_usage(), stdout), 0;
    if (version) {
        printf("nnd %s (nn_float = %s, %s)\n", NN_VERSION, NN_FLOAT_NAME, nn_blas_config());
        return 0;
    }
    if (srv_store_migrate(app.cfg.data_dir, &err) != NN_OK) return fail("storage", &err);
    pthread_key_create(&app.store_key, close_store);
    app.started_at = srv_now_ms();
    srv_store *s = srv_app_store(&app, &err);
    int requeued = 0, failed = 0;
    if (!s || srv_queue_recover(s, &requeued, &failed, &err) != NN_OK)
        return fail("recovering interrupted runs", &err);
    if (requeued || failed)
        fprintf(stderr, "nnd: %d interrupted run(s) queued again, %d given up\n", requeued, failed);
    if (srv_hub_create(&app, &app.hub, &err) != NN_OK) return fail("events", &err);
    if (srv_models_create(&app.models, &err) != NN_OK) return fail("models", &err);
    if (srv_pool_create(&app, app.cfg.workers, &app.pool, &err) != NN_OK)
        return fail("workers", &err);
    struct MHD_Daemon *d = NULL;
    if (srv_http_start(&app, &d, &err) != NN_OK) return fail("http", &err);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info && info->port ? (int)info->port : app.cfg.port; /* --listen HOST:0 picks one */
    fprintf(stderr, "nnd %s listening on http://%s:%d (data in %s, %d workers%s)\n", NN_VERSION,
            app.cfg.listen_host, port, app.cfg.data_dir, app.cfg.workers,
            app.cfg.token[0] ? ", token required" : "");

    int sig = wait_for_signal();
    fprintf(stderr, "nnd: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv_http_quiesce(d);
    atomic_store(&app.stopping, 1);
    srv_hub_wake_all(app.hub); /* event streams end */
    srv_pool_destroy(app.pool); /* training stops within a batch; runs go back to the queue */
    app.pool = NULL;
    srv_http_stop(d);
    srv_hub_destroy(app.hub);
    srv_models_destroy(app.models);
    srv_store_close(pthread_getspecific(app.store_key));
    pthread_setspecific(app.store_key, NULL);
    fprintf(stderr, "nnd: stopped\n");
    return 0;
}
