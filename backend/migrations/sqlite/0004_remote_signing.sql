-- Remote signing (issue 6, CSC API v2 subset). Keep in step with ../postgres.

-- The test signing CA: its certificate and its key sealed (AES-256-GCM) under the backend's
-- seal key. One row; the first backend to start creates it.
CREATE TABLE signing_ca (
    id INTEGER PRIMARY KEY,
    certificate BLOB NOT NULL,
    sealed_key BLOB NOT NULL
);

-- One signing credential per account: the key lives in the signer named by `signer`
-- ('software': `key_handle` is the sealed key; 'pkcs11': the token object's CKA_ID).
CREATE TABLE signing_credentials (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts (id),
    signer TEXT NOT NULL,
    key_handle BLOB NOT NULL,
    certificate BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- credentials/getChallenge: one-time, short-lived, bound to the device that asked.
CREATE TABLE signing_challenges (
    challenge BLOB PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES signing_credentials (id),
    device_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

-- Signature activation data: only its SHA-256 is kept, with the hashes it allows.
CREATE TABLE signing_sads (
    sad_hash BLOB PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES signing_credentials (id),
    device_id TEXT NOT NULL,
    hashes_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
