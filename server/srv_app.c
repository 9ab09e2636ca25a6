/* srv_app.c — starting and stopping the daemon's parts in order, per-thread storage
 * connections, and the clock. */
#include "srv_app.h"

#include "srv_events.h"
#include "srv_http.h"
#include "srv_models.h"
#include "srv_pool.h"
#include "srv_queue.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

srv_store *srv_app_store(srv_app *app, nn_error *err) {
    srv_store *s = pthread_getspecific(app->store_key);
    if (s) return s;
    if (srv_store_open(app->cfg.data_dir, &s, err) != NN_OK) return NULL;
    if (pthread_setspecific(app->store_key, s) != 0) {
        srv_store_close(s);
        nn_error_set(err, NN_ERR_NOMEM, "cannot keep a storage connection for this thread");
        return NULL;
    }
    return s;
}

int64_t srv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_store(void *p) { srv_store_close(p); }

/* Prefixes err's message with the part that failed. */
static nn_status failed_in(const char *what, nn_error *err) {
    char msg[sizeof err->msg];
    size_t n = strlen(what);
    memcpy(msg, err->msg, sizeof msg);
    if (n + 2 < sizeof msg) { /* "what: " then as much of the message as fits */
        memcpy(err->msg, what, n);
        memcpy(err->msg + n, ": ", 2);
        memcpy(err->msg + n + 2, msg, sizeof msg - n - 2);
        err->msg[sizeof err->msg - 1] = '\0';
    }
    return err->code != NN_OK ? err->code : NN_ERR_IO;
}

/* Removes the partial uploads in data_dir/tmp of nnd processes that are gone (killed in the
 * middle of an upload: a clean exit removes its own). Files are named upload-<pid>-XXXXXX; those
 * of a live process, which may share the data dir, are left alone. Returns the number removed. */
static int remove_stale_uploads(const char *data_dir) {
    char dir[1100];
    (void)snprintf(dir, sizeof dir, "%s/tmp", data_dir);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "upload-", 7) != 0) continue;
        char *end = NULL;
        long pid = strtol(e->d_name + 7, &end, 10);
        /* an unparsable name is from before pids were in it: its owner is gone too */
        int stale = end == e->d_name + 7 || *end != '-' || pid <= 0 ||
                    (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        char path[1400];
        (void)snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stale && unlink(path) == 0) removed++;
    }
    closedir(d);
    return removed;
}

nn_status srv_app_start(srv_app *app, int *requeued, int *failed, nn_error *err) {
    *requeued = *failed = 0;
    if (srv_store_migrate(app->cfg.data_dir, err) != NN_OK) return failed_in("storage", err);
    (void)remove_stale_uploads(app->cfg.data_dir);
    pthread_key_create(&app->store_key, close_store);
    app->started_at = srv_now_ms();
    srv_store *s = srv_app_store(app, err);
    if (!s || srv_queue_recover(s, requeued, failed, err) != NN_OK)
        return failed_in("recovering interrupted runs", err);
    if (srv_hub_create(app, &app->hub, err) != NN_OK) return failed_in("events", err);
    if (srv_models_create(&app->models, err) != NN_OK) return failed_in("models", err);
    if (srv_pool_create(app, app->cfg.workers, app->cfg.max_active, &app->pool, err) != NN_OK)
        return failed_in("workers", err);
    if (srv_http_start(app, &app->http, err) != NN_OK) return failed_in("http", err);
    return NN_OK;
}

int srv_app_port(const srv_app *app) {
    const union MHD_DaemonInfo *info =
        app->http ? MHD_get_daemon_info(app->http, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return info && info->port ? (int)info->port : app->cfg.port;
}

void srv_app_stop(srv_app *app) {
    if (app->http) srv_http_quiesce(app->http);
    atomic_store(&app->stopping, 1);
    if (app->hub) srv_hub_wake_all(app->hub); /* event streams end */
    srv_pool_destroy(app->pool); /* training stops within a batch; runs go back to the queue */
    app->pool = NULL;
    srv_http_stop(app);
    srv_hub_destroy(app->hub);
    app->hub = NULL;
    srv_models_destroy(app->models);
    app->models = NULL;
    srv_store_close(pthread_getspecific(app->store_key));
    pthread_setspecific(app->store_key, NULL);
}
