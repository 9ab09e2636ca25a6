-- 0007_fold_states.sql — where a fold stopped: a run whose spec has "stop_at" (a study's rung)
-- stores each done fold's training state (nn_cv_task_state: parameters, optimizer, row order,
-- streams, trackers, history) with the fold's end, under key = the dataset and the spec's
-- trajectory (srv_fold_state_key). A later run of the same key that trains further continues
-- each fold from the furthest state at or before its own stop (srv_fold_state_find) instead of
-- training those epochs again. The study that made them drops them when the trial ends; a run's
-- states go with the run.
CREATE TABLE fold_states (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    state      BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, task)
) WITHOUT ROWID;
CREATE INDEX fold_states_key ON fold_states (key, task, epoch);
