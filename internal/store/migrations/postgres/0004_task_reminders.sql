-- What a task needs to be re-sent: its rendered content, when, how often, and to whom after
-- escalation.
ALTER TABLE tasks ADD COLUMN workflow TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN content TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN remind_after_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN escalate_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN escalate_to TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN next_remind_at BIGINT;
CREATE INDEX tasks_due ON tasks (status, next_remind_at);
