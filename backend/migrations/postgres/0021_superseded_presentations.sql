-- Presentation credentials drawn from a registry record that changed since they were issued
-- (issue 18, docs/adr/0062): superseded_at is when the change was made. The status list
-- revokes them, so a copy showing the old values (the licence's old points, the old address)
-- stops verifying; the wallet drops them at its next sync and refills from the new record.
-- Keep in step with ../sqlite.
ALTER TABLE presentation_credentials ADD COLUMN superseded_at BIGINT;
CREATE INDEX presentation_credentials_superseded ON presentation_credentials (superseded_at)
    WHERE superseded_at IS NOT NULL;
