-- Runs started by a trigger node name it (NULL: the first manual trigger). A webhook run whose
-- trigger answers from a `respond_to_webhook` node keeps that answer until the request takes it.
ALTER TABLE runs ADD COLUMN trigger_node TEXT;
ALTER TABLE runs ADD COLUMN response TEXT;

-- One row per webhook trigger node a workflow has had in a saved version: its URL token stays
-- the same across versions, so publishing again does not move the URL.
CREATE TABLE hooks (
    token        TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    node         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workflow_id, node),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);

-- A webhook request's Idempotency-Key, remembered for 24 hours with the run it started.
CREATE TABLE hook_requests (
    token           TEXT NOT NULL REFERENCES hooks (token) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (token, idempotency_key)
);
CREATE INDEX hook_requests_by_age ON hook_requests (created_at);

-- The published versions' event triggers: an event of this type in this workspace starts a run
-- of the workflow at the node.
CREATE TABLE event_subscriptions (
    workspace_id TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    node         TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    PRIMARY KEY (workflow_id, node, event_type),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX event_subscriptions_by_type ON event_subscriptions (workspace_id, event_type);
