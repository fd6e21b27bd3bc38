-- Online tokens (VNT2) no longer name the account: redemption finds the account and the device
-- from the registration, which binds the token's id to the registering device and to a digest
-- of the whole token (profile, expiry, signature). Rows registered before carry neither and
-- never redeem (their VNT1 tokens are refused and lived a minute).
ALTER TABLE registered_tokens ADD COLUMN device_id TEXT;
ALTER TABLE registered_tokens ADD COLUMN token_digest BYTEA;
