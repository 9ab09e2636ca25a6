-- 0005_studies.sql (PostgreSQL) — the tables of migrations/0005_studies.sql, so that both
-- backends keep one schema version (server/store/srv_pg_studies.c keeps studies here; who drives
-- one is 0006_study_lease.sql).
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
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX studies_status ON studies (status);
CREATE INDEX studies_created ON studies (created_at DESC, id DESC);

CREATE TABLE study_runs (
    study_id TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    trial    INTEGER NOT NULL,
    rung     INTEGER NOT NULL,
    run_id   TEXT NOT NULL,
    PRIMARY KEY (study_id, trial, rung)
);

CREATE TABLE study_events (
    study_id   TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (study_id, seq)
);
