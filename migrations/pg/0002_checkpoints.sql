-- 0002_checkpoints.sql (PostgreSQL) — finished folds of runs still training: the node that
-- trains a run's final fit (or resumes it) restores the folds other nodes trained from these.
-- Deleted when the run finishes.
CREATE TABLE checkpoints (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task       INTEGER NOT NULL,
    json       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, task)
);
