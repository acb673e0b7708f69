-- A run started by another run's `execute_workflow` node names that run; ending it wakes the
-- parent, which waits without a worker meanwhile.
ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
