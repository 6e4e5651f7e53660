-- The run's state machine (pipelines/runner.py) publishes only data the core and marts gates
-- passed on: each gate run records the fingerprint of the data it validated (runner.data_state:
-- every ledger row and every mart part), and publishing compares it with the data at hand.
ALTER TABLE audit.dq_gate_runs ADD COLUMN data_state VARCHAR;
COMMENT ON COLUMN audit.dq_gate_runs.data_state IS 'Fingerprint of the ledger and mart state the gate validated (pipelines.runner.data_state); publish requires the current state.';
-- audit.runs.status gains 'interrupted': a run left 'running' by a process that died, marked by the next run.
COMMENT ON COLUMN audit.runs.status IS 'running | success | failed | interrupted (the process died mid-run; marked by the next run).';
