-- Accommodation notices (issue 18, docs/adr/0048). Keep in step with ../postgres.

-- A stay a host (a verifier registered for the accommodation profile) recorded after checking
-- the guest's accommodation QR. What the police need to find who stayed where and when: the
-- host, the guest's ID number (the police read the name, date of birth and address from the
-- population registry by it; they are not copied here), the dates (days since 1970-01-01) and
-- when it was recorded. The signed receipt is kept to answer a retry with the same receipt and
-- to show the guest (their wallet's notices, found through accounts.id_number). One stay per
-- host and QR (the digest of its canonical text). Rows go STAY_RETENTION_DAYS after check-out
-- (App::prune).
CREATE TABLE accommodation_stays (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt_id TEXT NOT NULL UNIQUE,
    host_id TEXT NOT NULL REFERENCES verifiers (id),
    presentation_digest TEXT NOT NULL,
    id_number TEXT NOT NULL,
    check_in_day BIGINT NOT NULL,
    check_out_day BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    receipt BLOB NOT NULL,
    UNIQUE (host_id, presentation_digest)
);
CREATE INDEX accommodation_stays_id_number ON accommodation_stays (id_number, seq);
CREATE INDEX accommodation_stays_check_out ON accommodation_stays (check_out_day);
