-- Runs by when they finished, oldest first, for the retention sweep (Store::prune_runs).
CREATE INDEX runs_finished ON runs (finished_at);
