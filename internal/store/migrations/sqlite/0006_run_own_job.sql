-- A run that several runs' shared job handed to a job of its own (to retry or wait later):
-- the shared job, run again after a crash, leaves it to that job.
ALTER TABLE runs ADD COLUMN own_job INTEGER NOT NULL DEFAULT 0;
