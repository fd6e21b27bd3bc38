-- Citizen consent for remote actions (docs/adr/0017). Keep in step with ../postgres.

-- The backend's OPAQUE ServerSetup (OPRF seed and key-exchange key pair), sealed under the
-- backend's seal key; one row, made on first start.
CREATE TABLE consent_setup (
    id INTEGER PRIMARY KEY,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- The OPAQUE record of the citizen's passcode per device binding. The credential identifier is
-- the device id and the generation, so no registration or evaluation is ever reused.
CREATE TABLE consent_records (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    generation INTEGER NOT NULL,
    record BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A registration the activation opened: the binding's first record is accepted only until
-- expires_at and only once (a record the device key alone could register later would let whoever
-- holds a copy of that key log in without the passcode).
CREATE TABLE consent_pending (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    expires_at INTEGER NOT NULL
);

-- Consent logins started and not finished correctly, per account, and the lock they set.
CREATE TABLE consent_attempts (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    failures INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);

-- Started consent logins: the sealed server state, single use, valid until expires_at. A
-- login started for a passcode change also names the generation it evaluated for.
CREATE TABLE consent_sessions (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    account_id TEXT NOT NULL,
    state BLOB NOT NULL,
    change_generation INTEGER,
    expires_at INTEGER NOT NULL
);
CREATE INDEX consent_sessions_expiry ON consent_sessions (expires_at);

-- Online tokens the wallet registered with the citizen's consent: only these redeem.
CREATE TABLE registered_tokens (
    token_id BLOB PRIMARY KEY,
    account_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX registered_tokens_expiry ON registered_tokens (expires_at);
