-- The dashboard counts a workspace's runs by creation time and outcome; this covers those
-- counts, so they read the index alone instead of every run row of the workspace.
CREATE INDEX runs_by_workspace_created ON runs (workspace_id, created_at, status);
