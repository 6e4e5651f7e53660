-- Alerts (pipelines/alerts.py): what the team was already told, so an alert is sent once.

-- One row per alert sent (a digest of several rejected files has one row per file).
CREATE TABLE audit.alerts_sent (
    alert_key  VARCHAR PRIMARY KEY,   -- e.g. file:<sha256>:<path>, stale:sales:<last load>, target:<id>:<snapshot>
    kind       VARCHAR NOT NULL,      -- file_rejected | feed_stale | target_status
    subject    VARCHAR NOT NULL,
    recipients VARCHAR NOT NULL,      -- comma-separated
    sent_at    TIMESTAMP NOT NULL     -- UTC
);
COMMENT ON TABLE audit.alerts_sent IS 'Alerts sent by e-mail (rejected files, stale feeds, target status changes): each is sent once.';

-- The status of every target in the last published snapshot the alerts read: the next
-- publication's statuses are compared with these (a move to at_risk or off_track is alerted).
CREATE TABLE audit.alert_target_status (
    target_id   VARCHAR PRIMARY KEY,
    status      VARCHAR,              -- on_track | at_risk | off_track | NULL (no amount, window not started)
    snapshot    VARCHAR NOT NULL,     -- the published snapshot file it was read from
    observed_at TIMESTAMP NOT NULL    -- UTC
);
COMMENT ON TABLE audit.alert_target_status IS 'Target statuses of the last published snapshot the alerts compared (status transitions are alerted relative to it).';
