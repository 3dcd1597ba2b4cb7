-- Every delivery event as received: a message's status timeline, and the place where an
-- event that arrives before the send's answer waits for its message.
CREATE TABLE message_events (
    id          BIGSERIAL PRIMARY KEY,
    provider_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    code        INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    received_at BIGINT  NOT NULL
);
CREATE INDEX message_events_provider ON message_events (provider_id, id);

ALTER TABLE contacts ADD COLUMN opt_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN code INTEGER NOT NULL DEFAULT 0;
