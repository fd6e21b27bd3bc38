-- Remote signing (issue 6, CSC API v2 subset). Keep in step with ../sqlite.

-- The test signing CA: its certificate and its key sealed (AES-256-GCM) under the backend's
-- seal key. One row; the first backend to start creates it.
CREATE TABLE signing_ca (
    id BIGINT PRIMARY KEY,
    certificate BYTEA NOT NULL,
    sealed_key BYTEA NOT NULL
);

-- One signing credential per account: the key lives in the signer named by `signer`
-- ('software': `key_handle` is the sealed key; 'pkcs11': the token object's CKA_ID).
CREATE TABLE signing_credentials (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts (id),
    signer TEXT NOT NULL,
    key_handle BYTEA NOT NULL,
    certificate BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- credentials/getChallenge: one-time, short-lived, bound to the device that asked.
CREATE TABLE signing_challenges (
    challenge BYTEA PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES signing_credentials (id),
    device_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Signature activation data: only its SHA-256 is kept, with the hashes it allows.
CREATE TABLE signing_sads (
    sad_hash BYTEA PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES signing_credentials (id),
    device_id TEXT NOT NULL,
    hashes_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
