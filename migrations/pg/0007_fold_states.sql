-- 0007_fold_states.sql (PostgreSQL) — where a fold stopped: a run whose spec has "stop_at" (a
-- study's rung) stores each done fold's training state with the fold's end, under key = the
-- dataset and the spec's trajectory; a later run of that key, on any node, continues each fold
-- from the furthest state at or before its own stop (migrations/0007_fold_states.sql says more).
CREATE TABLE fold_states (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    state      BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, task)
);
CREATE INDEX fold_states_key ON fold_states (key, task, epoch);
