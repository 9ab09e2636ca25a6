-- Finished folds of runs still training: a restarted nnd resumes a run from these instead of
-- training its finished folds again. Deleted when the run finishes.
CREATE TABLE checkpoints (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task       INTEGER NOT NULL,
    json       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, task)
) WITHOUT ROWID;
