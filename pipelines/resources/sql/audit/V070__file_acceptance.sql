-- Landed files let through a plausibility hold after review (xborder quality --accept <path>).
-- A catalogue snapshot that would delist an implausible share of a supplier's products is held
-- (ledger status 'held', one audit.quarantine row with reason implausible_delisting); accepting
-- it records the decision here and forgets the held ledger row, so the next run loads the file
-- without the delisting check (its sha256 is here).
CREATE TABLE audit.file_acceptance (
    sha256      VARCHAR NOT NULL,          -- the accepted content (ledger key)
    path        VARCHAR NOT NULL,          -- relative to the landing root
    feed        VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,          -- the hold released, e.g. implausible_delisting
    detail      VARCHAR,                   -- the hold's message (share and counts)
    accepted_at TIMESTAMP NOT NULL,
    note        VARCHAR NOT NULL,          -- why (--note)
    PRIMARY KEY (sha256, path)
);
COMMENT ON TABLE audit.file_acceptance IS 'Held landed files released after review (xborder quality --accept <path> --note ...): loaded by the next run without the plausibility check that held them.';
