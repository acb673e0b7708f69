-- A retried run names the run it retries; retrying from the failed step copies that run's
-- succeeded steps, so the new run resumes where the old one failed.
ALTER TABLE runs ADD COLUMN retry_of TEXT;
