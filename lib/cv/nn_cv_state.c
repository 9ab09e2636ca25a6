/* nn_cv_state.c — a fold's training state at its spec's stop_at as bytes, and back (see nn_cv.h,
 * "Fold states"). Layout: an 8-byte magic, the build's mark (nn_bytes_mark), a checksum
 * (FNV-1a, 64 bits) and the length of everything after these four words; then the trajectory,
 * task, epoch, ensemble size, rows and parameters per network; then each member's part. */
#include "nn_cv_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = "nnfold1";
enum { SEAL_AT = 16, BODY_AT = 32 };

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

void nn__state_begin(const nn_cv *cv, int task, size_t n_train, size_t n_params, nn_wbuf *out) {
    nn_wbuf_put(out, magic, sizeof magic);
    nn_wbuf_u64(out, nn_bytes_mark());
    nn_wbuf_u64(out, 0); /* checksum, sealed at the end */
    nn_wbuf_u64(out, 0); /* length */
    nn_wbuf_put(out, cv->traj, 64);
    nn_wbuf_i32(out, task);
    nn_wbuf_i32(out, cv->spec->stop_at);
    nn_wbuf_i32(out, cv->spec->ensemble);
    nn_wbuf_u64(out, n_train);
    nn_wbuf_u64(out, n_params);
}

void nn__state_seal(nn_wbuf *out) {
    if (out->failed || out->len < BODY_AT) return;
    uint64_t sum = fnv1a(out->p + BODY_AT, out->len - BODY_AT), len = out->len - BODY_AT;
    memcpy(out->p + SEAL_AT, &sum, sizeof sum);
    memcpy(out->p + SEAL_AT + 8, &len, sizeof len);
}

nn_status nn__state_open(const nn_cv *cv, int task, nn_rbuf *in, size_t *n_train, size_t *n_params,
                         int *epoch, nn_error *err) {
    char m[8], traj[64];
    nn_rbuf_get(in, m, sizeof m);
    uint64_t mark = nn_rbuf_u64(in), sum = nn_rbuf_u64(in), len = nn_rbuf_u64(in);
    if (in->failed || memcmp(m, magic, sizeof m) != 0)
        return nn_error_set(err, NN_ERR_INVALID, "not a fold state");
    if (mark != nn_bytes_mark())
        return nn_error_set(err, NN_ERR_INVALID,
                            "the fold state was written by a build with another byte order or "
                            "float width");
    if (len != in->len - in->pos || fnv1a(in->p + in->pos, in->len - in->pos) != sum)
        return nn_error_set(err, NN_ERR_INVALID, "the fold state is cut short or corrupt");
    nn_rbuf_get(in, traj, sizeof traj);
    int t = nn_rbuf_i32(in);
    *epoch = nn_rbuf_i32(in);
    int ensemble = nn_rbuf_i32(in);
    *n_train = (size_t)nn_rbuf_u64(in);
    *n_params = (size_t)nn_rbuf_u64(in);
    if (in->failed) return nn_error_set(err, NN_ERR_INVALID, "the fold state is cut short");
    if (memcmp(traj, cv->traj, sizeof traj) != 0)
        return nn_error_set(err, NN_ERR_INVALID,
                            "the fold state is of another spec (its trajectory differs)");
    if (t != task) return nn_error_set(err, NN_ERR_INVALID, "the state is of task %d", t);
    if (ensemble != cv->spec->ensemble)
        return nn_error_set(err, NN_ERR_INVALID, "the state has %d networks, not %d", ensemble,
                            cv->spec->ensemble);
    int until = cv->spec->stop_at > 0 ? cv->spec->stop_at : cv->spec->epochs;
    if (*epoch < 1 || *epoch > until)
        return nn_error_set(err, NN_ERR_INVALID,
                            "the state is at epoch %d, past the %d this job trains", *epoch, until);
    return NN_OK;
}

static void row_save(nn_wbuf *out, const nn_history_row *h) {
    nn_wbuf_i32(out, h->epoch);
    nn_wbuf_f64(out, h->train_loss);
    nn_wbuf_f64(out, h->val_loss);
    nn_wbuf_f64(out, h->val_r2);
    nn_wbuf_f64(out, h->val_log_loss);
    nn_wbuf_f64(out, h->val_accuracy);
    nn_wbuf_f64(out, h->lr);
    nn_wbuf_f64(out, h->seconds);
}

static void row_load(nn_rbuf *in, nn_history_row *h) {
    h->epoch = nn_rbuf_i32(in);
    h->train_loss = nn_rbuf_f64(in);
    h->val_loss = nn_rbuf_f64(in);
    h->val_r2 = nn_rbuf_f64(in);
    h->val_log_loss = nn_rbuf_f64(in);
    h->val_accuracy = nn_rbuf_f64(in);
    h->lr = nn_rbuf_f64(in);
    h->seconds = nn_rbuf_f64(in);
}

void nn__member_save(nn_wbuf *out, const nn_net *net, const nn_train_state *ts,
                     const nn__member_track *tr, const nn_float *best, int done,
                     const nn_history_row *h, int n_h) {
    size_t np = nn_net_param_count(net);
    nn_wbuf_i32(out, done);
    nn_wbuf_f64(out, tr->lr_factor);
    nn_wbuf_f64(out, tr->es_best);
    nn_wbuf_f64(out, tr->rp_best);
    nn_wbuf_i32(out, tr->es_wait);
    nn_wbuf_i32(out, tr->rp_wait);
    nn_wbuf_i32(out, tr->best_epoch);
    nn_wbuf_i32(out, tr->es_stopped);
    nn_wbuf_put(out, nn_net_params_const(net), np * sizeof(nn_float));
    nn_wbuf_i32(out, best != NULL);
    if (best) nn_wbuf_put(out, best, np * sizeof *best);
    nn_train_state_save(ts, out);
    nn_wbuf_i32(out, n_h);
    for (int i = 0; i < n_h; i++) row_save(out, &h[i]);
}

nn_status nn__member_load(nn_rbuf *in, nn_net *net, nn_train_state *ts, nn__member_track *tr,
                          nn_float *best, int *done, nn_history_row *h, int max_h, int *n_h,
                          nn_error *err) {
    size_t np = nn_net_param_count(net);
    *done = nn_rbuf_i32(in);
    tr->lr_factor = nn_rbuf_f64(in);
    tr->es_best = nn_rbuf_f64(in);
    tr->rp_best = nn_rbuf_f64(in);
    tr->es_wait = nn_rbuf_i32(in);
    tr->rp_wait = nn_rbuf_i32(in);
    tr->best_epoch = nn_rbuf_i32(in);
    tr->es_stopped = nn_rbuf_i32(in);
    nn_rbuf_get(in, nn_net_params(net), np * sizeof(nn_float));
    int has_best = nn_rbuf_i32(in);
    if (in->failed || has_best != (best != NULL))
        return nn_error_set(err, NN_ERR_INVALID, "the fold state's member does not fit the spec");
    if (best) nn_rbuf_get(in, best, np * sizeof *best);
    nn_status st = nn_train_state_load(ts, in, err);
    if (st != NN_OK) return st;
    *n_h = nn_rbuf_i32(in);
    if (in->failed || *n_h < 0 || *n_h > max_h || *n_h != nn_train_state_epoch(ts))
        return nn_error_set(err, NN_ERR_INVALID, "the fold state's history does not fit");
    for (int i = 0; i < *n_h; i++) row_load(in, &h[i]);
    if (in->failed) return nn_error_set(err, NN_ERR_INVALID, "the fold state is cut short");
    return NN_OK;
}

nn_status nn_cv_task_state(const nn_cv *cv, int task, unsigned char **out, size_t *len, int *epoch,
                           nn_error *err) {
    *out = NULL;
    *len = 0;
    if (task < 0 || task >= cv->n_folds || !cv->keep || !cv->keep[task].state)
        return nn_error_set(err, NN_ERR_NOT_FOUND, "task %d has no fold state", task);
    const nn__fold_keep *k = &cv->keep[task];
    *out = malloc(k->state_len);
    if (!*out) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for a fold state");
    memcpy(*out, k->state, k->state_len);
    *len = k->state_len;
    *epoch = cv->spec->stop_at;
    return NN_OK;
}

nn_status nn_cv_task_resume(nn_cv *cv, int task, const unsigned char *state, size_t len,
                            nn_error *err) {
    if (task < 0 || task >= cv->n_folds)
        return nn_error_set(err, NN_ERR_INVALID, "task %d is not a fold", task);
    nn_rbuf in = {state, len, 0, 0};
    size_t n_train = 0, n_params = 0;
    int epoch = 0;
    nn_status st = nn__state_open(cv, task, &in, &n_train, &n_params, &epoch, err);
    if (st != NN_OK) return st;
    if (n_params != cv->res.n_params)
        return nn_error_set(err, NN_ERR_INVALID,
                            "the state's networks have %zu parameters, not %zu", n_params,
                            cv->res.n_params);
    unsigned char *copy = malloc(len);
    if (!copy) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for a fold state");
    memcpy(copy, state, len);
    free(cv->resume[task].p);
    cv->resume[task].p = copy;
    cv->resume[task].len = len;
    return NN_OK;
}

void nn__cv_resume_free(nn_cv *cv) {
    for (int i = 0; cv->resume && i < cv->n_folds; i++) free(cv->resume[i].p);
    free(cv->resume);
    cv->resume = NULL;
}
