-- 0001_init.sql (PostgreSQL) — the initial schema, as migrations/0001_init.sql for SQLite, plus
-- what several nodes on one database need: dataset contents in the database, the database's
-- clock, and per-run event numbers allocated by the inserting transaction.
-- Times are milliseconds since the Unix epoch; ids are 32 lowercase hex characters.

-- The database's clock in ms: leases and the times a node writes use it, never a node's clock.
CREATE FUNCTION nnd_now_ms() RETURNS bigint LANGUAGE sql VOLATILE
AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

-- An uploaded CSV file; its bytes are in dataset_chunks, committed with the row.
CREATE TABLE datasets (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    rows         BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    columns_json TEXT NOT NULL DEFAULT '[]',
    created_at   BIGINT NOT NULL
);
CREATE INDEX datasets_created ON datasets (created_at DESC, id DESC);

-- A dataset's file in pieces of at most 1 MiB, n = 0, 1, 2 … (nodes cache the file by sha256).
CREATE TABLE dataset_chunks (
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    n          INTEGER NOT NULL,
    data       BYTEA NOT NULL,
    PRIMARY KEY (dataset_id, n)
);

-- A training run. last_seq: the number of its last event (events are numbered under this row's
-- lock, in the transaction that inserts them, so commit order is number order).
CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    dataset_id       TEXT REFERENCES datasets (id) ON DELETE SET NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress         DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    spec_json        TEXT NOT NULL,
    spec_hash        TEXT NOT NULL,
    spec_name        TEXT,
    metrics_json     TEXT,
    error            TEXT,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    idem_key         TEXT UNIQUE,
    req_hash         TEXT,
    last_seq         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_status_created ON runs (status, created_at, id);
CREATE INDEX runs_dataset ON runs (dataset_id);
CREATE INDEX runs_created ON runs (created_at DESC, id DESC);

-- A run's event stream (status, epoch, fold, log); seq is 1, 2, 3 … per run.
CREATE TABLE events (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Out-of-fold predictions of a finished run, one row per (data row, target); float8 keeps
-- NaN and -0.0.
CREATE TABLE predictions (
    run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    row       BIGINT NOT NULL,
    target    INTEGER NOT NULL,
    fold      INTEGER NOT NULL,
    id        TEXT,
    actual    DOUBLE PRECISION,
    predicted DOUBLE PRECISION,
    PRIMARY KEY (run_id, row, target)
);

-- The trained model of a succeeded run (nnd-model JSON).
CREATE TABLE models (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    json   TEXT NOT NULL
);
