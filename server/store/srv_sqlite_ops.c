/* srv_sqlite_ops.c — the SQLite backend's operations table and its opening (see
 * srv_store_internal.h). */
#include "srv_sqlite.h"

static const srv_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = srv__sq_close,
    .dataset_put = srv__sq_dataset_put,
    .dataset_file = srv__sq_dataset_file,
    .dataset_get = srv__sq_dataset_get,
    .dataset_list = srv__sq_dataset_list,
    .dataset_delete = srv__sq_dataset_delete,
    .run_create = srv__sq_run_create,
    .run_get = srv__sq_run_get,
    .run_list = srv__sq_run_list,
    .run_finish = srv__sq_run_finish,
    .run_counts = srv__sq_run_counts,
    .events_put = srv__sq_events_put,
    .event_append = srv__sq_event_append,
    .event_list = srv__sq_event_list,
    .event_last_seq = srv__sq_event_last_seq,
    .checkpoint_list = srv__sq_checkpoint_list,
    .fold_state_find = srv__sq_fold_state_find,
    .fold_states_drop = srv__sq_fold_states_drop,
    .prediction_page = srv__sq_prediction_page,
    .history_start = srv__sq_history_start,
    .model_get = srv__sq_model_get,
    .queue_claim = srv__sq_queue_claim,
    .queue_renew = srv__sq_queue_renew,
    .queue_end_task = srv__sq_queue_end_task,
    .queue_cancel_run = srv__sq_queue_cancel_run,
    .queue_release = srv__sq_queue_release,
    .queue_reclaim = srv__sq_queue_reclaim,
    .queue_depth = srv__sq_queue_depth,
    .queue_done_tasks = srv__sq_queue_done_tasks,
    .study_create = srv__sq_study_create,
    .study_get = srv__sq_study_get,
    .study_list = srv__sq_study_list,
    .study_running = srv__sq_study_running,
    .study_put = srv__sq_study_put,
    .study_lease = srv__sq_study_lease,
    .study_lease_release = srv__sq_study_lease_release,
    .study_cancel_requested = srv__sq_study_cancel_requested,
    .study_request_cancel = srv__sq_study_request_cancel,
    .study_delete = srv__sq_study_delete,
    .study_run_get = srv__sq_study_run_get,
    .study_run_put = srv__sq_study_run_put,
    .study_run_ids = srv__sq_study_run_ids,
    .study_last_seq = srv__sq_study_last_seq,
    .study_events = srv__sq_study_events,
};

nn_status srv__sqlite_open(const char *data_dir, srv_store **out, nn_error *err) {
    srv_store *s = NULL;
    nn_status status = srv__sq_connect(data_dir, 0, &s, err);
    if (status) return status;
    s->ops = &sqlite_ops;
    status = srv__sq_check_version(s, err);
    if (status) {
        srv__sq_close(s);
        return status;
    }
    *out = s;
    return NN_OK;
}
