-- Catalogue snapshots are identified by path and content: the same bytes under another date are
-- another snapshot (pipelines/ingest/discovery.py, snapshot_key), never a re-delivery.
COMMENT ON COLUMN audit.load_ledger.sha256 IS 'sha256 of the file''s bytes; for catalogue snapshots sha256 of "<path>\0<bytes'' sha256>" (the date is in the path).';
COMMENT ON COLUMN audit.load_ledger.status IS 'loaded | rejected (nothing loaded) | held (a catalogue that would delist an implausible share, until xborder quality --accept) | duplicate (byte-identical copy of another ledger file: all rows duplicate) | retracted (its rows were removed: audit.retractions).';
