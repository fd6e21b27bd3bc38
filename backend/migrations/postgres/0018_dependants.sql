-- Dependants (docs/adr/0055): children under 14 whose documents their guardian's wallet holds.
-- `ref` is the opaque handle the guardian's wallet sees (never the ID number); the child's
-- registry records are kept apart from the citizens' (a child has no chip to activate with).
-- A dependant's document on a device is a `documents` row whose kind is `KIND/REF`: the
-- unique (device_id, kind) then means one document of a kind per person.
CREATE TABLE dependants (
    ref TEXT PRIMARY KEY,
    guardian_id_number TEXT NOT NULL REFERENCES citizens (id_number),
    id_number TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    birth_date TEXT NOT NULL
);
CREATE INDEX dependants_guardian ON dependants (guardian_id_number);

CREATE TABLE dependant_records (
    id_number TEXT NOT NULL REFERENCES dependants (id_number),
    kind TEXT NOT NULL,
    record BYTEA NOT NULL,
    PRIMARY KEY (id_number, kind)
);
