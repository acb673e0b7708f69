-- Workspaces (the tenants), their members, invitations, API keys, and the hash-chained audit log.
-- Tenant-owned tables lead their indexes with workspace_id and expose UNIQUE (workspace_id, id)
-- so child tables can use composite foreign keys that never cross a workspace.

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    personal   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Soft delete: hidden at once, purged (with everything it owns) after purge_at.
    deleted_at BIGINT,
    purge_at   BIGINT
);
CREATE INDEX workspaces_to_purge ON workspaces (purge_at) WHERE purge_at IS NOT NULL;

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id, workspace_id);

CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash      TEXT NOT NULL UNIQUE,
    created_by_type TEXT NOT NULL,
    created_by_id   TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    accepted_at     BIGINT,
    accepted_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (workspace_id, id)
);
-- One pending invitation per address and workspace; a new one replaces the old.
CREATE UNIQUE INDEX invitations_pending ON invitations (workspace_id, email) WHERE accepted_at IS NULL;

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    -- Space-separated permission names, e.g. 'runs:read runs:write'.
    scopes          TEXT NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by_id   TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    last_used_at    BIGINT,
    revoked_at      BIGINT,
    UNIQUE (workspace_id, id)
);

-- The newest link of each chain: appending locks this row, so one chain grows one entry at a time.
CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    -- The workspace id, or 'account' for events outside any workspace.
    chain        TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    ip           TEXT,
    user_agent   TEXT,
    metadata     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, seq);
