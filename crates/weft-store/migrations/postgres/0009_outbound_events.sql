-- Outbound events. `events` is the transactional outbox: a state change inserts its event in its
-- own transaction, together with one pending delivery per subscribed endpoint. The dispatcher
-- claims due deliveries under a lease, sends them, and records each attempt.

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    -- The exact JSON body delivered: {type, timestamp, data}.
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, id)
);
-- The event list, newest first, optionally of one type.
CREATE INDEX events_by_workspace ON events (workspace_id, id);
CREATE INDEX events_by_type ON events (workspace_id, type, id);

CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    -- The event types it receives, each surrounded by spaces (` run.failed workflow.published `)
    -- so the fan-out matches one with LIKE; '' receives every type.
    event_types           TEXT NOT NULL DEFAULT '',
    enabled               BIGINT NOT NULL DEFAULT 1,
    disabled_reason       TEXT,
    -- Deliveries per second; NULL for no limit.
    rate_limit            BIGINT,
    -- `whsec_…`.
    secret                TEXT NOT NULL,
    -- After a rotation the old secret also signs until previous_secret_until.
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    -- When its deliveries started failing without a success since; NULL while healthy.
    failing_since         BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (workspace_id, id)
);
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    -- Held by a dispatcher until then; an outcome is recorded only under the same lease value.
    lease_until     BIGINT,
    -- 0/1: queued by a replay or a test request rather than by the event itself.
    manual          BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, event_id) REFERENCES events (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, endpoint_id) REFERENCES webhook_endpoints (workspace_id, id) ON DELETE CASCADE
);
-- The dispatcher's due query.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (workspace_id, event_id);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (workspace_id, endpoint_id, status);

CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    -- 0/1: a 2xx answer.
    succeeded    BIGINT NOT NULL,
    -- NULL when no response came (connection refused, timeout, refused by the SSRF guard).
    status_code  BIGINT,
    latency_ms   BIGINT NOT NULL,
    -- The first 4 KB of the response body.
    response     TEXT,
    error        TEXT,
    -- 'scheduled' or 'manual' (a replay or a test).
    trigger      TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    created_at   BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, endpoint_id) REFERENCES webhook_endpoints (workspace_id, id) ON DELETE CASCADE
);
-- An endpoint's attempts, newest first.
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (workspace_id, endpoint_id, id);
