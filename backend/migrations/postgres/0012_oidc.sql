-- "Log in with e-ID": the OpenID Connect facade of the relying-party hub (issue 16,
-- docs/adr/0042). Keep in step with ../sqlite.

-- The facade's secrets (pairwise-subject key, ID token key, request object key, response
-- decryption key), sealed under the backend's key-encryption key; one row, made on first start
-- so every instance on this database signs and derives alike.
CREATE TABLE oidc_secrets (
    id INTEGER PRIMARY KEY,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- An OIDC client: a registered relying party (`rp_id`, its client_id) with its redirect URIs
-- (JSON) and the SHA-256 of its client secret (256 random bits, shown once).
CREATE TABLE oidc_clients (
    rp_id TEXT PRIMARY KEY REFERENCES relying_parties (id),
    redirect_uris TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- One login: the RP's authorization request, the hub's OpenID4VP request to the wallet, and once
-- the wallet answered, the code. `id` names the OpenID4VP request (it is in the QR code);
-- `poll_hash` is the SHA-256 of the browser's own token (never in the QR code); `code_hash` the
-- SHA-256 of the code. `sealed_result` holds the subject and claims for the ID token, sealed,
-- deleted when the code is redeemed. `status`: waiting, answered, refused, redeemed.
CREATE TABLE oidc_sessions (
    id TEXT PRIMARY KEY,
    poll_hash BYTEA NOT NULL,
    rp_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    rp_state TEXT,
    rp_nonce TEXT,
    code_challenge TEXT NOT NULL,
    request_jwt TEXT NOT NULL,
    vp_nonce TEXT NOT NULL,
    status TEXT NOT NULL,
    code_hash BYTEA UNIQUE,
    sealed_result BYTEA,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_sessions_expiry ON oidc_sessions (expires_at);
