-- The running count per workspace that every claim reads (its fairness cap). Without this index
-- SQLite counts through every run of the workspace, so claims slowed down as runs accumulated.
CREATE INDEX runs_running_by_workspace ON runs (workspace_id) WHERE status = 'running';
