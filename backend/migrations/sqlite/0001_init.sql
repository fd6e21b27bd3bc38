-- The backend's schema, SQLite flavour (BLOB, INTEGER). Keep in step with ../postgres.

-- Synthetic population registry: citizens and the files of their chips, so chip evidence
-- can be matched byte for byte.
CREATE TABLE citizens (
    id_number TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    full_name TEXT NOT NULL,
    dg1 BLOB NOT NULL,
    dg13 BLOB NOT NULL,
    dg15 BLOB NOT NULL,
    sod BLOB NOT NULL
);
CREATE INDEX citizens_phone ON citizens (phone);

-- Each document model as its authority signed it for the registry (see registry.rs).
CREATE TABLE registry_records (
    id_number TEXT NOT NULL REFERENCES citizens (id_number),
    kind TEXT NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (id_number, kind)
);

-- Issuer signing keys, one per document kind (a deployment keeps HSM handles here).
CREATE TABLE issuer_keys (
    kind TEXT PRIMARY KEY,
    certificate BLOB NOT NULL,
    private_key BLOB NOT NULL
);

-- 'issuer_root': CA of the credential issuers; 'csca': CA of the chips' document signers.
CREATE TABLE trust_anchors (
    purpose TEXT NOT NULL,
    certificate BLOB NOT NULL,
    PRIMARY KEY (purpose, certificate)
);

CREATE TABLE activations (
    id TEXT PRIMARY KEY,
    id_number TEXT NOT NULL,
    phone TEXT NOT NULL,
    matched INTEGER NOT NULL,
    code_hash BLOB NOT NULL,
    challenge BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE INDEX activations_id_number ON activations (id_number, created_at);
CREATE INDEX activations_phone ON activations (phone, created_at);

-- Development SMS gateway.
CREATE TABLE sms_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    id_number TEXT NOT NULL UNIQUE REFERENCES citizens (id_number),
    level INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    public_key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX devices_account ON devices (account_id);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    kind TEXT NOT NULL,
    credential BLOB NOT NULL,
    status_index INTEGER NOT NULL UNIQUE,
    seq INTEGER NOT NULL,
    removed_seq INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (device_id, kind)
);

-- Monotonic counters: 'seq' orders document changes (sync cursor), 'status_index' numbers
-- status list entries.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 0), ('status_index', 0);

-- First answers of POSTs by client_request_id.
CREATE TABLE idempotency (
    endpoint TEXT NOT NULL,
    scope TEXT NOT NULL,
    client_request_id TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint, scope, client_request_id)
);
