-- 0001_init.sql — the initial schema of nnd.db.
-- Times are milliseconds since the Unix epoch; ids are 32 lowercase hex characters.

-- An uploaded CSV file; the file itself is datasets/<sha256>.csv next to nnd.db.
CREATE TABLE datasets (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    rows         INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    columns_json TEXT NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL
);
CREATE INDEX datasets_created ON datasets (created_at DESC, id DESC);

-- A training run; a row with status 'queued' is also an entry of the job queue.
CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    dataset_id       TEXT REFERENCES datasets (id) ON DELETE SET NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress         REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    spec_json        TEXT NOT NULL,
    spec_hash        TEXT NOT NULL,
    spec_name        TEXT,
    metrics_json     TEXT,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    idem_key         TEXT UNIQUE,
    req_hash         TEXT
);
-- The queue: oldest queued run first.
CREATE INDEX runs_status_created ON runs (status, created_at, id);
-- "Is this dataset used by a queued or running run?" and the dataset filter of the run list.
CREATE INDEX runs_dataset ON runs (dataset_id);
-- The run list: newest first, paginated by the cursor (created_at, id).
CREATE INDEX runs_created ON runs (created_at DESC, id DESC);

-- A run's event stream (status, epoch, fold, log); seq is 1, 2, 3 … per run.
CREATE TABLE events (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Out-of-fold predictions of a finished run, one row per (data row, target).
-- actual/predicted round-trip bit-exactly, except that SQLite stores a NaN as NULL (read back
-- as NaN) and reads -0.0 back as 0.
CREATE TABLE predictions (
    run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    row       INTEGER NOT NULL,
    target    INTEGER NOT NULL,
    fold      INTEGER NOT NULL,
    id        TEXT,
    actual    REAL,
    predicted REAL,
    PRIMARY KEY (run_id, row, target)
) WITHOUT ROWID;

-- The trained model of a succeeded run (nnd-model JSON).
CREATE TABLE models (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    json   TEXT NOT NULL
);
