/* srv_pg_ops.c — the PostgreSQL backend's operations table and its opening (see
 * srv_store_internal.h and srv_pg.h). */
#include "srv_pg.h"

static const srv_store_ops pg_ops = {
    .name = "postgresql",
    .close = srv__pg_close,
    .dataset_put = srv__pg_dataset_put,
    .dataset_file = srv__pg_dataset_file,
    .dataset_get = srv__pg_dataset_get,
    .dataset_list = srv__pg_dataset_list,
    .dataset_delete = srv__pg_dataset_delete,
    .run_create = srv__pg_run_create,
    .run_get = srv__pg_run_get,
    .run_list = srv__pg_run_list,
    .run_finish = srv__pg_run_finish,
    .run_counts = srv__pg_run_counts,
    .events_put = srv__pg_events_put,
    .event_append = srv__pg_event_append,
    .event_list = srv__pg_event_list,
    .event_last_seq = srv__pg_event_last_seq,
    .checkpoint_list = srv__pg_checkpoint_list,
    .fold_state_find = srv__pg_fold_state_find,
    .fold_states_drop = srv__pg_fold_states_drop,
    .prediction_page = srv__pg_prediction_page,
    .history_start = srv__pg_history_start,
    .model_get = srv__pg_model_get,
    .queue_claim = srv__pg_queue_claim,
    .queue_renew = srv__pg_queue_renew,
    .queue_end_task = srv__pg_queue_end_task,
    .queue_cancel_run = srv__pg_queue_cancel_run,
    .queue_release = srv__pg_queue_release,
    .queue_reclaim = srv__pg_queue_reclaim,
    .queue_depth = srv__pg_queue_depth,
    .queue_done_tasks = srv__pg_queue_done_tasks,
    .study_create = srv__pg_study_create,
    .study_get = srv__pg_study_get,
    .study_list = srv__pg_study_list,
    .study_running = srv__pg_study_running,
    .study_put = srv__pg_study_put,
    .study_lease = srv__pg_study_lease,
    .study_lease_release = srv__pg_study_lease_release,
    .study_cancel_requested = srv__pg_study_cancel_requested,
    .study_request_cancel = srv__pg_study_request_cancel,
    .study_delete = srv__pg_study_delete,
    .study_run_get = srv__pg_study_run_get,
    .study_run_put = srv__pg_study_run_put,
    .study_run_ids = srv__pg_study_run_ids,
    .study_last_seq = srv__pg_study_last_seq,
    .study_events = srv__pg_study_events,
};

nn_status srv__pg_migrate(const char *url, const char *data_dir, nn_error *err) {
    nn_status st = srv__make_data_dir(data_dir, err);
    srv_store *s = NULL;
    if (!st) st = srv__pg_connect(url, data_dir, &s, err);
    if (st) return st;
    s->ops = &pg_ops;
    st = srv__pg_do_migrate(s, err);
    srv__pg_close(s);
    return st;
}

nn_status srv__pg_open(const char *url, const char *data_dir, srv_store **out, nn_error *err) {
    srv_store *s = NULL;
    nn_status st = srv__pg_connect(url, data_dir, &s, err);
    if (st) return st;
    s->ops = &pg_ops;
    st = srv__pg_check_version(s, err);
    if (st) {
        srv__pg_close(s);
        return st;
    }
    *out = s;
    return NN_OK;
}
