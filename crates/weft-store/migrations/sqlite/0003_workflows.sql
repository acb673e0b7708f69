-- Workflows and their immutable, numbered versions. Child tables reference their workflow
-- through (workspace_id, workflow_id), so a row can never point into another workspace.

CREATE TABLE workflows (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    -- JSON array of the tags, for reading; workflow_tags serves filtering.
    tags              TEXT NOT NULL DEFAULT '[]',
    latest_version    BIGINT NOT NULL,
    -- The version triggers run; NULL until one is published.
    published_version BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (workspace_id, id)
);
CREATE INDEX workflows_by_workspace ON workflows (workspace_id, id);

CREATE TABLE workflow_versions (
    workspace_id    TEXT NOT NULL,
    workflow_id     TEXT NOT NULL,
    version         BIGINT NOT NULL,
    -- The definition as JSON: {nodes, connections, settings}.
    definition      TEXT NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by_id   TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, version),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE workflow_tags (
    workspace_id TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    tag          TEXT NOT NULL,
    PRIMARY KEY (workflow_id, tag),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_tags_by_tag ON workflow_tags (workspace_id, tag, workflow_id);
