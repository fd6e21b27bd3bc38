-- The hub's registry kept stable across instances, the OIDC UserInfo endpoint and the citizen's
-- disclosure history (issue 16,
-- docs/adr/0050). Keep in step with ../sqlite.

-- The last signed relying-party registry (one row): an instance serves these bytes while what
-- they were signed over (the active relying parties and the signer's certificate, hashed) is
-- unchanged and they are younger than the re-signing age, so every instance and every start
-- answers with the same body and ETag and wallets' conditional syncs stay 304.
CREATE TABLE rp_registry_signed (
    id INTEGER PRIMARY KEY,
    content_hash BYTEA NOT NULL,
    body BYTEA NOT NULL,
    issued_at BIGINT NOT NULL
);

-- An OIDC access token (RFC 6750 Bearer, for UserInfo only): its SHA-256 (256 random bits,
-- never stored), the client it was issued to, and sealed under the facade's key the pairwise
-- subject and the claims of the login's scope; deleted when expired (a few minutes).
CREATE TABLE oidc_access_tokens (
    token_hash BYTEA PRIMARY KEY,
    rp_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_access_tokens_expiry ON oidc_access_tokens (expires_at);

-- The citizen's disclosure history of hub-mediated flows ("Log in with e-ID"): to which
-- relying party, when, for which purpose, which claims it received (names, never values),
-- linked to the account whose identity the wallet presented; synced to the wallet
-- (GET /v1/disclosures, device-signed).
CREATE TABLE hub_disclosures (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    rp_id TEXT NOT NULL,
    rp_client_id TEXT NOT NULL,
    rp_name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    claims TEXT NOT NULL,
    via TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX hub_disclosures_account ON hub_disclosures (account_id, at);
