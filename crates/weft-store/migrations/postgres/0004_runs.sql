-- Runs and their steps. The runs table is also the queue workers claim from: a run is queued,
-- then running under a worker's lease, possibly waiting (no lease) until its wake time, and
-- finally succeeded, failed, cancelled or timed_out. A step is one attempt of one activation of
-- a node; the recorded steps are what a worker taking over an expired lease resumes from.

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    workflow_id      TEXT NOT NULL,
    version          BIGINT NOT NULL,
    status           TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    -- JSON.
    input            TEXT NOT NULL,
    output           TEXT,
    error            TEXT,
    -- What started the run: manual, webhook, schedule, …
    trigger          TEXT NOT NULL,
    -- 0/1: a cancel arrived while a worker held the run; the worker sees it when it renews.
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    -- How many times a worker has claimed the run. A claim is fenced by its number, so a worker
    -- whose lease expired cannot write even after it claims the same run again.
    claims           BIGINT NOT NULL DEFAULT 0,
    wake_at          BIGINT,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    updated_at       BIGINT NOT NULL,
    -- Also the index for a workspace's runs by id (newest first), and the target of steps' key.
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
-- A workflow's runs, by id; also serves the cascade when a workflow is deleted.
CREATE INDEX runs_by_workflow ON runs (workspace_id, workflow_id, id);
-- The queue, oldest first.
CREATE INDEX runs_queued ON runs (created_at, id) WHERE status = 'queued';
-- Waits that are due.
CREATE INDEX runs_waiting ON runs (wake_at) WHERE status = 'waiting';
-- Expired leases, and the running count per workspace that the claim's fairness cap reads.
CREATE INDEX runs_running ON runs (lease_expires_at) WHERE status = 'running';

CREATE TABLE steps (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    node         TEXT NOT NULL,
    -- The planner's key for one activation of the node (a loop runs a node more than once).
    activation   TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    -- JSON.
    input        TEXT,
    output       TEXT,
    error        TEXT,
    logs         TEXT,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    UNIQUE (run_id, activation, attempt),
    FOREIGN KEY (workspace_id, run_id) REFERENCES runs (workspace_id, id) ON DELETE CASCADE
);
