-- Checksums of landed files by (path, size, mtime): discovery hashes only files that are new or
-- changed since they were last seen, so a run's cost follows the new data, not the landing zone.
CREATE TABLE audit.file_checksum (
    path        VARCHAR NOT NULL,
    size_bytes  BIGINT NOT NULL,
    mtime_ns    BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    hashed_at   TIMESTAMP NOT NULL
);
COMMENT ON TABLE audit.file_checksum IS 'sha256 of each landed file as last hashed, keyed by its path relative to the landing root; reused while size and mtime are unchanged.';
COMMENT ON COLUMN audit.file_checksum.path IS 'Path relative to the landing root (POSIX).';
COMMENT ON COLUMN audit.file_checksum.size_bytes IS 'File size when hashed.';
COMMENT ON COLUMN audit.file_checksum.mtime_ns IS 'Modification time (ns since the epoch) when hashed.';
COMMENT ON COLUMN audit.file_checksum.sha256 IS 'Hex sha256 of the bytes; the ledger identifies files by it.';
COMMENT ON COLUMN audit.file_checksum.hashed_at IS 'When it was hashed (UTC).';
