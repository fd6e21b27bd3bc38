-- QR presentation (issue 5). Keep in step with ../sqlite.

-- Presentation credentials issued to a device: each has its own status list entry, revoked with
-- the device's binding and suspended while the account is locked, like documents. The
-- credentials themselves are not kept (single-use, the wallet holds them).
CREATE TABLE presentation_credentials (
    serial TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    profile TEXT NOT NULL,
    status_index BIGINT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX presentation_credentials_device ON presentation_credentials (device_id);

-- Verifier devices (airport desks, clinic receptions) registered by an administrator, and the
-- profiles each may redeem (comma-separated profile names).
CREATE TABLE verifiers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    profiles TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Online tokens already redeemed: the primary key makes redemption one-time. Rows go once the
-- token has expired (App::prune).
CREATE TABLE redeemed_tokens (
    token_id BYTEA PRIMARY KEY,
    verifier_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT NOT NULL
);
CREATE INDEX redeemed_tokens_expiry ON redeemed_tokens (expires_at);
