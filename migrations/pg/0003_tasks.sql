-- 0003_tasks.sql (PostgreSQL) — the task queue, as migrations/0003_tasks.sql for SQLite (a row's
-- life is described there). Leases are in the database's clock (nnd_now_ms()); claims take a
-- ready row FOR UPDATE SKIP LOCKED (server/store/srv_queue.h).
CREATE TABLE tasks (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task         INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('fold', 'final')),
    state        TEXT NOT NULL
                 CHECK (state IN ('waiting', 'ready', 'running', 'done', 'failed', 'cancelled')),
    attempt      INTEGER NOT NULL DEFAULT 0,
    owner        TEXT,
    lease_until  BIGINT,
    not_before   BIGINT NOT NULL DEFAULT 0,
    epochs_done  BIGINT NOT NULL DEFAULT 0,
    epochs_total BIGINT NOT NULL,
    error        TEXT,
    PRIMARY KEY (run_id, task)
);
CREATE INDEX tasks_state ON tasks (state, run_id);
CREATE INDEX tasks_owner ON tasks (owner, state);

ALTER TABLE runs ADD COLUMN n_folds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN n_tasks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN folds_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN tasks_ended INTEGER NOT NULL DEFAULT 0;
-- When tasks_ended reached n_tasks (database clock): a run left unfinished that long after its
-- last task ended lost the node that was finishing it, and its last task is given back.
ALTER TABLE runs ADD COLUMN ended_at BIGINT;

-- Each node's event writer: the number of the last event it stored, so a batch retried after a
-- commit whose answer was lost (a broken connection) is not stored twice. A row per node
-- process; a clean stop deletes its own.
CREATE TABLE event_marks (
    node TEXT PRIMARY KEY,
    gen  BIGINT NOT NULL,
    at   BIGINT NOT NULL
);
