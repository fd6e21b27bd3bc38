-- The backend's own keys (ADR 0018). Keep in step with ../sqlite.

-- The issuer trust root ('issuer_root') and the issuers ('issuer:identity', ...). `holder`
-- 'sealed': `key_ref` is the key sealed (AES-256-GCM) under the key-encryption key, bound to its
-- row id and purpose; 'pkcs11': `key_ref` is the CKA_ID of the key on the token. A kind has
-- several rows after a rotation: the one with the latest `signs_from` not in the future signs;
-- older ones stay in the trust list until the credentials they signed have expired.
-- `origin`: 'generated' (production) or 'fixture' (development: the public fixture keys).
CREATE TABLE backend_keys (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    origin TEXT NOT NULL,
    certificate BYTEA NOT NULL,
    holder TEXT NOT NULL,
    key_ref BYTEA NOT NULL,
    signs_from BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX backend_keys_purpose ON backend_keys (purpose, signs_from);

-- The issuer private keys were kept raw here; they were the public fixtures' keys.
DROP TABLE issuer_keys;
