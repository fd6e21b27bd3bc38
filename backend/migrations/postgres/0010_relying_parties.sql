-- Relying parties of the OpenID4VP hub and their metering (issue 16, ADR 0036). Keep in step
-- with ../sqlite.

-- One row per registered relying party. `client_id` is `x509_san_dns:<dns_name>`;
-- `response_uris` and `purposes` are JSON (purposes with their claim paths);
-- `public_key` the SEC1 point its access certificate certifies; `status` 'active' or
-- 'suspended' (a suspended one leaves the published registry, its row stays for the metering).
CREATE TABLE relying_parties (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    legal_name TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    logo_url TEXT,
    dns_name TEXT NOT NULL,
    response_uris TEXT NOT NULL,
    purposes TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    access_certificate BYTEA NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    suspended_at BIGINT
);

-- Billable events: counts per relying party, purpose, kind and UTC day (days since 1970-01-01).
-- No claim value and no citizen identifier is ever stored here.
CREATE TABLE billable_events (
    rp_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    kind TEXT NOT NULL,
    day BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (rp_id, purpose, kind, day)
);
CREATE INDEX billable_events_day ON billable_events (day);
