-- Unlinkable presentations and replay-proof requests (issue 12, docs/adr/0020). Keep in step
-- with ../sqlite.

-- Every status list index in use, whoever holds it (documents, their tombstones, presentation
-- credentials): indexes are drawn at random, and this key is what makes one taken, across
-- backend instances too.
CREATE TABLE status_indexes (
    idx BIGINT PRIMARY KEY
);
INSERT INTO status_indexes (idx)
    SELECT status_index FROM documents
    UNION SELECT status_index FROM document_tombstones
    UNION SELECT status_index FROM presentation_credentials;

-- Nonces of signed requests that changed state, per signer (account or verifier id): a request
-- whose nonce is here is a replay. Rows go once the timestamp window has passed (App::prune).
CREATE TABLE request_nonces (
    signer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (signer, nonce)
);
CREATE INDEX request_nonces_seen ON request_nonces (seen_at);
