-- The published versions' schedule triggers. `next_fire_at` is NULL until a scheduler first sees
-- the row (and again when its params change): the scheduler computes it from its own clock.
CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    node         TEXT NOT NULL,
    params       TEXT NOT NULL,
    next_fire_at BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workflow_id, node),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX schedules_by_next_fire ON schedules (next_fire_at);

-- Each firing of a schedule, claimed once: whoever inserts the row queues its run.
CREATE TABLE schedule_firings (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    fire_at     BIGINT NOT NULL,
    run_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, fire_at)
);
