-- Credentials a device held and must delete: replaced by a renewal. `seq` orders them with the
-- documents for the sync cursor; their status entries stay revoked.
CREATE TABLE document_tombstones (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    status_index INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX document_tombstones_device ON document_tombstones (device_id, seq);
