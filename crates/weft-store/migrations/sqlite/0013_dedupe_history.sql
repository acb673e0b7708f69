-- The values a `remove_duplicates` node with `across_runs` has let through, per workflow and
-- history (the node's name, or '' for one shared by the workflow), so that later runs drop the
-- items seen before. `value` is the SHA-256 of the item's value; `let_through_by` is the node
-- activation that first let it through (`<run>:<activation>`), whose repeated attempts let it
-- through again.
CREATE TABLE dedupe_history (
    workspace_id TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    history      TEXT NOT NULL,
    value        TEXT NOT NULL,
    let_through_by TEXT NOT NULL,
    seen_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, workflow_id, history, value),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX dedupe_history_by_age ON dedupe_history (workspace_id, workflow_id, history, seen_at);
