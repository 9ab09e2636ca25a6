/* srv_study_events.c — a study's events: what changed in its state machine since the last save,
 * in trial order (trial started, rung reported, promoted, pruned, completed, failed, the study's
 * status), stored with the record they lead to. */
#include "srv_study_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct evbuf {
    srv_event *ev;
    size_t n, cap;
    int64_t seq;
    int failed;
} evbuf;

static void add(evbuf *b, const char *type, json_t *data_take) {
    char *text = data_take ? json_dumps(data_take, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(data_take);
    if (text && b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        srv_event *ne = realloc(b->ev, cap * sizeof *ne);
        if (ne) {
            b->ev = ne;
            b->cap = cap;
        }
    }
    if (!text || b->n == b->cap) {
        free(text);
        b->failed = 1;
        return;
    }
    srv_event *e = &b->ev[b->n++];
    memset(e, 0, sizeof *e);
    e->seq = ++b->seq;
    (void)snprintf(e->type, sizeof e->type, "%s", type);
    e->data = text;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

nn_status srv__study_diff(const srv__active *a, srv_event **out, size_t *n, nn_error *err) {
    evbuf b = {NULL, 0, 0, a->seq, 0};
    *out = NULL;
    *n = 0;
    int count = nn_study_n_trials(a->st);
    for (int i = 0; i < count && !b.failed; i++) {
        const nn_trial *t = nn_study_trial(a->st, i);
        int seen = i < a->seen_n;
        int reached = seen ? a->seen[i].reached : 0, decided = seen ? a->seen[i].decided : 0;
        nn_trial_status was = seen ? (nn_trial_status)a->seen[i].status : NN_TRIAL_RUNNING;
        if (!seen) {
            json_t *rungs = json_array();
            for (int r = 0; rungs && r < t->n_rungs; r++)
                (void)json_array_append_new(rungs, json_integer(t->rung_epochs[r]));
            add(&b, "trial",
                json_pack("{s:i, s:O, s:o}", "trial", i + 1, "values", t->values, "rungs",
                          rungs ? rungs : json_array()));
        }
        for (int r = reached; r < t->reached; r++)
            add(&b, "rung",
                json_pack("{s:i, s:i, s:i, s:o}", "trial", i + 1, "rung", r + 1, "epochs",
                          t->rung_epochs[r], "value", num(t->rung_value[r])));
        int last_promoted = t->status == NN_TRIAL_PRUNED ? t->decided - 1 : t->decided;
        for (int r = decided; r < last_promoted && r + 1 < t->n_rungs; r++)
            add(&b, "promoted",
                json_pack("{s:i, s:i, s:i}", "trial", i + 1, "rung", r + 2, "epochs",
                          t->rung_epochs[r + 1]));
        if (t->status == was) continue;
        if (t->status == NN_TRIAL_PRUNED)
            add(&b, "pruned",
                json_pack("{s:i, s:i, s:i}", "trial", i + 1, "rung", t->reached, "epochs",
                          t->reached ? t->rung_epochs[t->reached - 1] : 0));
        else if (t->status == NN_TRIAL_COMPLETED)
            add(&b, "completed",
                json_pack("{s:i, s:o, s:o, s:o}", "trial", i + 1, "objective", num(t->result.mean),
                          "objective_sd", num(t->result.sd), "objective_oof", num(t->result.oof)));
        else if (t->status == NN_TRIAL_FAILED)
            add(&b, "failed", json_pack("{s:i, s:s}", "trial", i + 1, "error", t->error));
    }
    nn_study_status st = nn_study_get_status(a->st);
    if ((int)st != a->seen_status && !b.failed)
        add(&b, "status",
            json_pack("{s:s, s:s}", "status", nn_study_status_name(st), "error",
                      nn_study_error(a->st)));
    if (b.failed) {
        srv_events_free(b.ev, b.n);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the study's events");
    }
    *out = b.ev;
    *n = b.n;
    return NN_OK;
}

nn_status srv__study_mark(srv__active *a, int64_t seq, nn_error *err) {
    int count = nn_study_n_trials(a->st);
    if (count > a->seen_cap) {
        srv__seen *ns = realloc(a->seen, (size_t)count * sizeof *ns);
        if (!ns) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        a->seen = ns;
        a->seen_cap = count;
    }
    for (int i = 0; i < count; i++) {
        const nn_trial *t = nn_study_trial(a->st, i);
        a->seen[i] = (srv__seen){(int)t->status, t->reached, t->decided};
    }
    a->seen_n = count;
    a->seen_status = (int)nn_study_get_status(a->st);
    a->seq = seq;
    return NN_OK;
}
