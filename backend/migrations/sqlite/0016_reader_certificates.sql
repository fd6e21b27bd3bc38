-- The reader certificates the reader CA issued (docs/adr/0053): serial, validity end, and when
-- (if) the admin revoked it. The CRL at /v1/reader-ca.crl lists the revoked ones until they
-- expire. No name or key: the certificate itself stays with the desk.
CREATE TABLE reader_certificates (
    serial BLOB PRIMARY KEY,
    issued_at INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    revoked_at INTEGER
);
