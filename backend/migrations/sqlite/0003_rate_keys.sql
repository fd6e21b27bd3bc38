-- One row per ID number and per phone that started an activation (keyed by a SHA-256 of
-- "id:<number>" or "phone:<number>", not the number). A start upserts its two rows before it
-- counts the recent activations: on PostgreSQL the upsert holds their row locks until commit,
-- so concurrent starts for one ID or phone count and insert one after the other (SQLite has one
-- writer at a time anyway).
CREATE TABLE rate_keys (
    key BLOB PRIMARY KEY,
    touched_at INTEGER NOT NULL
);
CREATE INDEX rate_keys_touched ON rate_keys (touched_at);
