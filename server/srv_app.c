/* srv_app.c — starting and stopping the daemon's parts in order (see srv_app.h). */
#include "srv_app.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): at start-up, before any other thread runs */
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

/* With a shared store the node id begins with SRV_NODE_STABLE characters kept in
 * data_dir/node-id: a restarted node knows its earlier process's tasks (nnd.lock, taken before
 * this, proves that process dead) and reclaims them at once instead of waiting for their
 * leases to expire. The rest is random: every start is a new owner, so the old one's fences
 * fail. */
static nn_status node_id(const srv_ctx *ctx, char node[SRV_NODE_LEN + 1], nn_error *err) {
    if (srv_random_hex(node, SRV_NODE_LEN, err) != NN_OK) return err->code;
    if (!srv_stores_shared(ctx->stores)) return NN_OK;
    char path[1100], stable[SRV_NODE_STABLE + 2] = "";
    (void)snprintf(path, sizeof path, "%s/node-id", ctx->cfg.data_dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(stable, 1, SRV_NODE_STABLE, f) : 0;
    if (f) (void)fclose(f);
    stable[n] = '\0';
    if (n != SRV_NODE_STABLE || strspn(stable, "0123456789abcdef") != SRV_NODE_STABLE) {
        memcpy(stable, node, SRV_NODE_STABLE); /* a new data dir: keep this start's */
        stable[SRV_NODE_STABLE] = '\n';
        f = fopen(path, "w");
        int ok = f && fwrite(stable, 1, SRV_NODE_STABLE + 1, f) == SRV_NODE_STABLE + 1;
        if (f && fclose(f) != 0) ok = 0;
        if (!ok) return nn_error_set(err, NN_ERR_IO, "cannot write %s", path);
    }
    memcpy(node, stable, SRV_NODE_STABLE);
    return NN_OK;
}

nn_status srv_app_start(srv_app *app, int *requeued, int *failed, nn_error *err) {
    *requeued = *failed = 0;
    app->lock_fd = -1;
    srv_ctx *ctx = &app->ctx;
    ctx->started_at = srv_now_ms();
    if (srv_store_migrate(ctx->cfg.db, ctx->cfg.data_dir, err) != NN_OK)
        return failed_in("storage", err);
    if (srv_store_lock_dir(ctx->cfg.data_dir, &app->lock_fd, err) != NN_OK)
        return failed_in("storage", err);
    (void)remove_stale_uploads(ctx->cfg.data_dir);
    if (srv_stores_create(ctx->cfg.db, ctx->cfg.data_dir, &ctx->stores, err) != NN_OK)
        return failed_in("storage", err);
    if (node_id(ctx, ctx->node, err) != NN_OK) return failed_in("node id", err);
    if (srv_engine_start(ctx, &app->eng, requeued, failed, err) != NN_OK)
        return failed_in("engine", err);
    app->http.ctx = ctx;
    app->http.eng = app->eng;
    if (srv_http_start(&app->http, err) != NN_OK) return failed_in("http", err);
    return NN_OK;
}

int srv_app_port(const srv_app *app) { return srv_http_port(&app->http); }

void srv_app_stop(srv_app *app) {
    /* From here every new request is answered 503 "shutting down" (the stopping flag) while the
       ones in flight finish. libmicrohttpd's MHD_quiesce_daemon is not used: with a thread pool
       on epoll its caller and the pool's threads both take the listening socket out of the
       epoll sets, and the loser aborts the process (a PANIC seen at SIGTERM in CI). */
    atomic_store(&app->ctx.stopping, 1);
    if (app->eng) srv_hub_wake_all(srv_engine_hub(app->eng)); /* event streams end */
    srv_engine_stop_training(app->eng); /* within a batch; tasks released to the queue */
    srv_http_stop(&app->http);
    srv_engine_destroy(app->eng);
    app->eng = NULL;
    srv_stores_destroy(app->ctx.stores);
    app->ctx.stores = NULL;
    if (app->lock_fd >= 0) (void)close(app->lock_fd);
    app->lock_fd = -1;
}
