-- A redemption's client_request_id (docs/adr/0045): the same desk retrying the same redemption
-- after its answer was lost gets the fields again; any other redemption stays token_used.
-- NULL for rows redeemed without one (and by desks that send none).
ALTER TABLE redeemed_tokens ADD COLUMN client_request_id TEXT;
