-- Targets from targets.yml, reloaded on every mart build.
CREATE TABLE core.dim_target (
    target_id             VARCHAR PRIMARY KEY,
    name                  VARCHAR NOT NULL,
    amount                DECIMAL(18, 2),        -- EUR; NULL = tracking only
    origin_countries      VARCHAR[] NOT NULL,    -- empty = all goods
    destination_countries VARCHAR[] NOT NULL,
    window_start          DATE NOT NULL,
    window_end            DATE NOT NULL,
    stretch_deadline      DATE NOT NULL,
    final_deadline        DATE NOT NULL,
    scaled_from           DECIMAL(18, 2),
    scale_note            VARCHAR
);
COMMENT ON TABLE core.dim_target IS 'Export targets (targets.yml): amount in EUR, origins, destinations, window, deadlines.';
