/* nnd — the training daemon. Process-wide setup lives here and nowhere else: BLAS threads,
 * signals, the storage migration, and the order in which the parts start and stop.
 *
 * Start: parse the configuration, then srv_app_start: migrate the database, recover runs a dead
 * process left running, start the run engine and then the HTTP daemon. Stop
 * (SIGINT/SIGTERM), srv_app_stop: stop accepting connections, end the event streams, cancel
 * training (runs go back to the queue, to restart at the next start), stop the HTTP daemon,
 * exit 0. */
#include "nn_matrix.h"
#include "srv_app.h"

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wait_for_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
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
    if (srv_config_parse(&app.ctx.cfg, argc, argv, &help, &version, &err) != NN_OK) {
        (void)fprintf(stderr, "nnd: %s\n", err.msg);
        return 2;
    }
    if (help) return (void)fputs(srv_config_usage(), stdout), 0;
    if (version) {
        (void)printf("nnd %s (nn_float = %s, %s)\n", NN_VERSION, NN_FLOAT_NAME, nn_blas_config());
        return 0;
    }
    int requeued = 0, failed = 0;
    if (srv_app_start(&app, &requeued, &failed, &err) != NN_OK) {
        (void)fprintf(stderr, "nnd: %s\n", err.msg); /* "storage: …", "http: …" */
        return 1;
    }
    if (requeued || failed)
        (void)fprintf(stderr, "nnd: %d interrupted run(s) queued again, %d given up\n", requeued,
                      failed);
    (void)fprintf(stderr, "nnd %s listening on http://%s:%d (data in %s, %d workers%s)\n",
                  NN_VERSION, app.ctx.cfg.listen_host, srv_app_port(&app), app.ctx.cfg.data_dir,
                  app.ctx.cfg.workers, app.ctx.cfg.token[0] ? ", token required" : "");

    int sig = wait_for_signal();
    (void)fprintf(stderr, "nnd: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv_app_stop(&app); /* training stops within a batch; runs go back to the queue */
    (void)fprintf(stderr, "nnd: stopped\n");
    return 0;
}
