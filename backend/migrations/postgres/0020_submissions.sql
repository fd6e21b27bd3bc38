-- Citizen-entered data (issue 18, docs/adr/0057). Keep in step with ../sqlite.

-- A citizen's proposed record or change of one document kind, in the queue of the authority the
-- kind's declaration names (its id: health, police, ...). The proposed fields (JSON) are sealed
-- under the KEK, bound to the submission id; the field names are kept in clear for the wallet's
-- list (no values). The clerk's reason is what the citizen sees. One submission per account and
-- client_request_id (a retry long after the idempotency row is pruned still finds it; the digest
-- of the request tells a retry from another submission under the same key).
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    device_id TEXT NOT NULL,
    id_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    authority TEXT NOT NULL,
    state TEXT NOT NULL,
    fields BYTEA NOT NULL,
    field_names TEXT NOT NULL,
    reason TEXT,
    client_request_id TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    seq BIGINT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    UNIQUE (account_id, client_request_id)
);
CREATE INDEX submissions_queue ON submissions (authority, state, seq);
CREATE INDEX submissions_account ON submissions (account_id, seq);
-- Their order of arrival (submissions in one second are still ordered).
INSERT INTO counters (name, value) VALUES ('submission', 0);

-- Its attachments in the order sent, each sealed under the KEK bound to (submission, index).
CREATE TABLE submission_attachments (
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    idx BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    content BYTEA NOT NULL,
    PRIMARY KEY (submission_id, idx)
);
