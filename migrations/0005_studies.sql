-- 0005_studies.sql — hyperparameter studies (lib/study, server/engine/srv_study.c). A study's
-- trials are ordinary runs; study_runs says which run trained which rung of which trial, so a
-- restarted nnd finds the runs it queued before instead of queueing them again. state_json is
-- the state machine's record (nn_study_to_json): the study resumes from it with the same trials.
-- With a holdout, dataset_id is the rows searched and holdout_id the rows set aside (both
-- datasets made from the uploaded one when the study was created).
CREATE TABLE studies (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    dataset_id       TEXT REFERENCES datasets (id) ON DELETE SET NULL,
    holdout_id       TEXT REFERENCES datasets (id) ON DELETE SET NULL,
    doc_json         TEXT NOT NULL,
    doc_hash         TEXT NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    state_json       TEXT,
    board_json       TEXT,
    board_csv        TEXT,
    result_json      TEXT,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX studies_status ON studies (status);
CREATE INDEX studies_created ON studies (created_at DESC, id DESC);

CREATE TABLE study_runs (
    study_id TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    trial    INTEGER NOT NULL,
    rung     INTEGER NOT NULL,
    run_id   TEXT NOT NULL,
    PRIMARY KEY (study_id, trial, rung)
) WITHOUT ROWID;

-- What happened in a study, in order (trial started, rung, promoted, pruned, completed, failed,
-- status), stored with the record it led to (srv_study_put), for GET /v1/studies/{id}/events.
CREATE TABLE study_events (
    study_id   TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (study_id, seq)
) WITHOUT ROWID;
