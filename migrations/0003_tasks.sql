-- 0003_tasks.sql — the run engine's queue: a run is split into task rows when it is created.
-- A task is one fold (task 0 … n_folds − 1) or the final fit (task n_folds). Its life:
--   waiting (the final fit, until every fold is done) → ready → running (claimed: owner and
--   lease_until set) → done | failed | cancelled; a running task whose lease expires goes back
--   to ready (after not_before) until it has been claimed SRV_QUEUE_MAX_ATTEMPTS times.
-- Every write of a running task is fenced by (owner, attempt): a task that lost its lease
-- cannot write. The run's counters are updated under the run row's write lock: the fold that
-- makes folds_done = n_folds promotes the final fit, the task end that makes
-- tasks_ended = n_tasks finishes the run. Task rows and checkpoints of a finished run are
-- deleted with its results.
CREATE TABLE tasks (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task         INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('fold', 'final')),
    state        TEXT NOT NULL
                 CHECK (state IN ('waiting', 'ready', 'running', 'done', 'failed', 'cancelled')),
    attempt      INTEGER NOT NULL DEFAULT 0,
    owner        TEXT,
    lease_until  INTEGER,
    not_before   INTEGER NOT NULL DEFAULT 0,
    epochs_done  INTEGER NOT NULL DEFAULT 0,
    epochs_total INTEGER NOT NULL,
    error        TEXT,
    PRIMARY KEY (run_id, task)
);
-- The claim: ready tasks; renewals, releases and reclaims: running tasks by owner and lease.
CREATE INDEX tasks_state ON tasks (state, run_id);
CREATE INDEX tasks_owner ON tasks (owner, state);

ALTER TABLE runs ADD COLUMN n_folds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN n_tasks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN folds_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN tasks_ended INTEGER NOT NULL DEFAULT 0;

-- Runs an older nnd left queued or running get their task rows now (from the canonical spec).
UPDATE runs SET
    n_folds = CASE json_extract(spec_json, '$.training.validation.type')
                  WHEN 'kfold' THEN json_extract(spec_json, '$.training.validation.k')
                  WHEN 'holdout' THEN 1 ELSE 0 END
WHERE status IN ('queued', 'running');
UPDATE runs SET
    n_tasks = n_folds + (json_extract(spec_json, '$.training.final') = 'refit' OR n_folds = 0),
    status = 'queued', started_at = NULL, progress = 0
WHERE status IN ('queued', 'running');
WITH RECURSIVE t(run_id, task, n_folds, n_tasks, epochs) AS (
    SELECT id, 0, n_folds, n_tasks,
           json_extract(spec_json, '$.training.epochs') * json_extract(spec_json, '$.training.ensemble')
    FROM runs WHERE status = 'queued' AND n_tasks > 0
    UNION ALL
    SELECT run_id, task + 1, n_folds, n_tasks, epochs FROM t WHERE task + 1 < n_tasks
)
INSERT INTO tasks (run_id, task, kind, state, epochs_total)
SELECT run_id, task, CASE WHEN task < n_folds THEN 'fold' ELSE 'final' END,
       CASE WHEN task < n_folds OR n_folds = 0 THEN 'ready' ELSE 'waiting' END, epochs
FROM t;
-- Folds an older nnd checkpointed are done.
UPDATE tasks SET state = 'done', epochs_done = epochs_total
WHERE kind = 'fold'
  AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.run_id = tasks.run_id AND c.task = tasks.task);
UPDATE runs SET
    folds_done = (SELECT count(*) FROM tasks t WHERE t.run_id = runs.id AND t.state = 'done'),
    tasks_ended = (SELECT count(*) FROM tasks t WHERE t.run_id = runs.id AND t.state = 'done')
WHERE status = 'queued' AND n_tasks > 0;
UPDATE tasks SET state = 'ready'
WHERE kind = 'final' AND state = 'waiting'
  AND (SELECT folds_done = n_folds FROM runs WHERE runs.id = tasks.run_id);
