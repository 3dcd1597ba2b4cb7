-- The web UI's sessions: the cookie carries a random secret, the database only its SHA-256,
-- so that a copy of the database does not log anyone in.
CREATE TABLE web_sessions (
    id_hash      TEXT    PRIMARY KEY,
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL
);
CREATE INDEX web_sessions_seen ON web_sessions (last_seen_at);

-- Every saved definition of a workflow: the config file seeds it (source 'config'), the UI
-- adds versions (source 'ui'); the newest version of a workflow is the one that runs.
CREATE TABLE workflow_versions (
    workflow_id TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    yaml        TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    enabled     INTEGER NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (workflow_id, version)
);
