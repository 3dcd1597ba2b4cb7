-- Token buckets shared by every instance: the send rate is global, not per process.
CREATE TABLE rate_limits (
    name       TEXT    PRIMARY KEY,
    tokens     REAL    NOT NULL,
    updated_at INTEGER NOT NULL
);
