-- PostgreSQL twin of sqlite/0001_init.sql: the same tables and columns, ids as BIGSERIAL and
-- every time as BIGINT milliseconds since the epoch, so that the store's SQL is one.

-- Events as received: the raw body is kept unchanged so that a fixed workflow can be replayed.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    trigger     TEXT    NOT NULL,
    external_id TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL,
    duplicate_of BIGINT,
    received_at BIGINT  NOT NULL
);
-- One original per (trigger, external id); repeats are stored with duplicate_of set.
CREATE UNIQUE INDEX events_external ON events (trigger, external_id)
    WHERE external_id <> '' AND duplicate_of IS NULL;
CREATE INDEX events_trigger ON events (trigger, id);

CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    event_id    BIGINT  NOT NULL REFERENCES events (id),
    workflow    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    replay_of   BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX runs_event ON runs (event_id);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_workflow ON runs (workflow, id);

-- once_per keys: the first run that claims a key owns it.
CREATE TABLE once_keys (
    workflow   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    run_id     BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (workflow, key)
);

-- A run's finished steps: a retried run resumes after the last one.
CREATE TABLE run_steps (
    run_id     BIGINT  NOT NULL REFERENCES runs (id),
    idx        INTEGER NOT NULL,
    step_id    TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    output     TEXT    NOT NULL DEFAULT '{}',
    error      TEXT    NOT NULL DEFAULT '',
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE messages (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT  NOT NULL,
    step_idx    INTEGER NOT NULL,
    workflow    TEXT    NOT NULL,
    to_phone    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    template    TEXT    NOT NULL DEFAULT '',
    params      TEXT    NOT NULL DEFAULT '[]',
    status      TEXT    NOT NULL,
    provider_id TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX messages_step ON messages (run_id, step_idx);
CREATE INDEX messages_provider ON messages (provider_id);
CREATE INDEX messages_to ON messages (to_phone, id);

-- opted_out stays an integer (0 or 1), as in SQLite, so that one Scan reads both.
CREATE TABLE contacts (
    phone           TEXT PRIMARY KEY,
    opted_out       INTEGER NOT NULL DEFAULT 0,
    last_inbound_at BIGINT,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE tasks (
    number      BIGSERIAL PRIMARY KEY,
    run_id      BIGINT  NOT NULL,
    step_idx    INTEGER NOT NULL,
    to_phone    TEXT    NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    closed_at   BIGINT
);
CREATE UNIQUE INDEX tasks_step ON tasks (run_id, step_idx);
CREATE INDEX tasks_status ON tasks (status, number);
