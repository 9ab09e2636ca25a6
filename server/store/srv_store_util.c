/* srv_store_util.c — what every storage backend shares: status names, what a failure means,
 * ids, the data dir's layout and its lock (see srv_store.h and srv_store_internal.h). */
#include "srv_store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const run_status_names[] = {"queued", "running", "succeeded", "failed",
                                               "cancelled"};

const char *srv_run_status_name(srv_run_status s) {
    if ((int)s < 0 || (int)s > (int)SRV_RUN_CANCELLED) return "unknown";
    return run_status_names[s];
}

int srv_run_status_from_name(const char *name, srv_run_status *out) {
    for (int i = 0; name && i <= (int)SRV_RUN_CANCELLED; i++) {
        if (strcmp(name, run_status_names[i]) == 0) {
            *out = (srv_run_status)i;
            return 1;
        }
    }
    return 0;
}

const char *srv__run_status_sql(srv_run_status st) { return srv_run_status_name(st); }

int64_t srv__now_ms(void) { return srv_now_ms(); }

int srv_store_transient(nn_status st) {
    return st == NN_ERR_BUSY || st == NN_ERR_FULL || st == NN_ERR_IO || st == NN_ERR_NOMEM ||
           st == NN_ERR_UNAVAILABLE;
}

int srv_store_shared(const srv_store *s) { return s->shared; }

const char *srv_store_backend(const srv_store *s) { return s->ops->name; }

char *srv__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

int srv__is_pg_url(const char *db) {
    return db &&
           (strncasecmp(db, "postgres://", 11) == 0 || strncasecmp(db, "postgresql://", 13) == 0);
}

nn_status srv_new_id(char out[SRV_ID_LEN + 1], nn_error *err) {
    return srv_random_hex(out, SRV_ID_LEN, err);
}

const char *srv_store_data_dir(const srv_store *s) { return s->data_dir; }

void srv_dataset_path(const srv_store *s, const char *sha256, char *buf, size_t size) {
    (void)snprintf(buf, size, "%s/datasets/%s.csv", s->data_dir, sha256);
}

nn_status srv__make_dir(const char *path, nn_error *err) {
    if (mkdir(path, 0700) == 0) return NN_OK;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return NN_OK;
    char buf[128];
    return nn_error_set(err, NN_ERR_IO, "cannot create directory %s: %s", path,
                        strerror_r(e, buf, sizeof buf) == 0 ? buf : "error");
}

nn_status srv__make_data_dir(const char *data_dir, nn_error *err) {
    nn_status status = srv__make_dir(data_dir, err);
    char sub[4096];
    if (!status && snprintf(sub, sizeof sub, "%s/datasets", data_dir) >= (int)sizeof sub)
        status = nn_error_set(err, NN_ERR_INVALID, "data dir path too long");
    if (!status) status = srv__make_dir(sub, err);
    return status;
}

nn_status srv_store_lock_dir(const char *data_dir, int *fd, nn_error *err) {
    char path[1100];
    if (snprintf(path, sizeof path, "%s/nnd.lock", data_dir) >= (int)sizeof path)
        return nn_error_set(err, NN_ERR_INVALID, "data dir path too long");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    char why[128];
    if (f < 0)
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", path,
                            strerror_r(errno, why, sizeof why) == 0 ? why : "error");
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(f, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        (void)close(f);
        return nn_error_set(err, NN_ERR_IO, "%s is used by another nnd (pid %s)", data_dir,
                            pid[0] ? pid : "?");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
        (void)close(f);
        return nn_error_set(err, NN_ERR_IO, "cannot write %s: %s", path,
                            strerror_r(errno, why, sizeof why) == 0 ? why : "error");
    }
    *fd = f;
    return NN_OK;
}

/* ---- freeing what the store returns ---- */

void srv_dataset_free(srv_dataset *ds) {
    if (!ds) return;
    json_decref(ds->columns);
    ds->columns = NULL;
}

void srv_run_free(srv_run *run) {
    if (!run) return;
    json_decref(run->spec);
    json_decref(run->metrics);
    free(run->spec_name);
    free(run->error);
    free(run->spec_text);
    free(run->metrics_text);
    run->spec = run->metrics = NULL;
    run->spec_name = run->error = run->spec_text = run->metrics_text = NULL;
}

void srv_events_free(srv_event *events, size_t n) {
    for (size_t i = 0; events && i < n; i++) free(events[i].data);
    free(events);
}

void srv_checkpoints_free(srv_checkpoint *c, size_t n) {
    for (size_t i = 0; c && i < n; i++) free(c[i].json);
    free(c);
}

void srv_predictions_free(srv_prediction *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) {
        free((char *)p[i].id);
        free((char *)p[i].probs);
    }
    free(p);
}
