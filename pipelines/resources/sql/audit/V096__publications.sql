-- Publications (pipelines/runner.py publish_snapshot): what each published snapshot was built
-- from, so a run with nothing new can tell that the published snapshot is already current and
-- skip the gates, the mart refresh, the publish and the reports (pipelines/state.py up_to_date).
CREATE TABLE audit.publications (
    run_id       VARCHAR PRIMARY KEY,  -- the publish step (audit.runs)
    published_at TIMESTAMP NOT NULL,   -- UTC
    snapshot     VARCHAR NOT NULL,     -- the snapshot file published
    data_state   VARCHAR NOT NULL,     -- pipelines.state.data_state when it was published
    build_inputs VARCHAR NOT NULL      -- pipelines.state.build_inputs: targets file, SQL, version
);
COMMENT ON TABLE audit.publications IS 'One row per published snapshot: its file, the data state and the build inputs it was built from (a run with nothing new since skips the build).';
