-- Registry changes pushed to wallets (issue 18, docs/adr/0056). Every admin change is kept (who
-- changed what kind of record, when, and why: the citizen's ID number and the change's type, no
-- document values); suspensions (a licence taken away until a date) are what the status list
-- marks suspended for every credential of that record.
CREATE TABLE registry_changes (
    seq BIGSERIAL PRIMARY KEY,
    id_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    change_type TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX registry_changes_record ON registry_changes (id_number, kind);
CREATE TABLE registry_suspensions (
    id_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    until BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id_number, kind)
);
