/* srv_store_studies.c — the public study calls of srv_studies.h: each goes through the
 * connection's operations table (srv_store_internal.h) to its backend, srv_sqlite_studies.c or
 * srv_pg_studies.c. */
#include "srv_store_internal.h"
#include "srv_studies.h"

#include <stdlib.h>
#include <string.h>

nn_status srv_study_create(srv_store *s, srv_study *st, nn_error *err) {
    return s->ops->study_create(s, st, err);
}

nn_status srv_study_get(srv_store *s, const char *id, srv_study *out, nn_error *err) {
    return s->ops->study_get(s, id, out, err);
}

nn_status srv_study_list(srv_store *s, json_t **out, nn_error *err) {
    return s->ops->study_list(s, out, err);
}

nn_status srv_study_running(srv_store *s, char **ids, size_t *n, nn_error *err) {
    return s->ops->study_running(s, ids, n, err);
}

nn_status srv_study_put(srv_store *s, const char *id, const srv_study_save *v, nn_error *err) {
    return s->ops->study_put(s, id, v, err);
}

nn_status srv_study_lease(srv_store *s, const char *id, const char *node, int64_t lease_ms,
                          int *held, nn_error *err) {
    return s->ops->study_lease(s, id, node, lease_ms, held, err);
}

nn_status srv_study_lease_release(srv_store *s, const char *node, nn_error *err) {
    return s->ops->study_lease_release(s, node, err);
}

nn_status srv_study_cancel_requested(srv_store *s, const char *id, int *requested, nn_error *err) {
    return s->ops->study_cancel_requested(s, id, requested, err);
}

nn_status srv_study_request_cancel(srv_store *s, const char *id, int *running, nn_error *err) {
    return s->ops->study_request_cancel(s, id, running, err);
}

nn_status srv_study_delete(srv_store *s, const char *id, nn_error *err) {
    return s->ops->study_delete(s, id, err);
}

nn_status srv_study_run_get(srv_store *s, const char *study_id, int trial, int rung,
                            char run_id[SRV_ID_LEN + 1], nn_error *err) {
    return s->ops->study_run_get(s, study_id, trial, rung, run_id, err);
}

nn_status srv_study_run_put(srv_store *s, const char *study_id, int trial, int rung,
                            const char *run_id, nn_error *err) {
    return s->ops->study_run_put(s, study_id, trial, rung, run_id, err);
}

nn_status srv_study_run_ids(srv_store *s, const char *study_id, char **ids, size_t *n,
                            nn_error *err) {
    return s->ops->study_run_ids(s, study_id, ids, n, err);
}

nn_status srv_study_last_seq(srv_store *s, const char *id, int64_t *seq, nn_error *err) {
    return s->ops->study_last_seq(s, id, seq, err);
}

nn_status srv_study_events(srv_store *s, const char *id, int64_t after, int limit, srv_event **out,
                           size_t *n, nn_error *err) {
    return s->ops->study_events(s, id, after, limit, out, n, err);
}

void srv_study_free(srv_study *st) {
    free(st->name);
    free(st->doc_json);
    free(st->state_json);
    free(st->board_json);
    free(st->board_csv);
    free(st->result_json);
    free(st->error);
    memset(st, 0, sizeof *st);
}
