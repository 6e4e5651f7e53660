-- The checksum cache is reused only while a file's identity is unchanged: path, size, mtime,
-- ctime and inode (as git's index does). A rewrite that keeps size and mtime (os.utime, cp -p,
-- rsync -t) still changes ctime, which no user can set back, or the inode (a replaced file),
-- so the file is hashed again and changed content is detected by its checksum.
ALTER TABLE audit.file_checksum ADD COLUMN ctime_ns BIGINT;
ALTER TABLE audit.file_checksum ADD COLUMN inode BIGINT;
COMMENT ON TABLE audit.file_checksum IS 'sha256 of each landed file as last hashed, keyed by its path relative to the landing root; reused while size, mtime, ctime and inode are all unchanged.';
COMMENT ON COLUMN audit.file_checksum.ctime_ns IS 'Status-change time (ns since the epoch) when hashed; cannot be set back by a user. NULL (before V076): hashed again.';
COMMENT ON COLUMN audit.file_checksum.inode IS 'Inode number when hashed (a file replaced by another has a new one).';
