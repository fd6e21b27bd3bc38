-- The activation throttles' token buckets, shared by every instance (docs/adr/0052): one row per
-- client (keyed by a SHA-256 of its address or IPv6 /64, not the address) and one for all clients
-- together. `tokens` as of `at_ms` (milliseconds since the epoch, the instances' clocks); a take
-- refills, takes one and stores the result in one statement, under the row's lock.
CREATE TABLE throttle_buckets (
    key BLOB PRIMARY KEY,
    tokens REAL NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX throttle_buckets_at ON throttle_buckets (at_ms);
