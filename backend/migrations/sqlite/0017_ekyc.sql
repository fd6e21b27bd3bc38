-- Bank eKYC by chip (docs/adr/0054): the single-use challenges a relying party's desk has the
-- chip sign. Not secret (the desk sends them to the chip), but used once and only until
-- expires_at; expired rows are deleted at the next issue.
CREATE TABLE ekyc_challenges (
    id TEXT PRIMARY KEY,
    rp_id TEXT NOT NULL REFERENCES relying_parties (id),
    challenge BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX ekyc_challenges_expiry ON ekyc_challenges (expires_at);
