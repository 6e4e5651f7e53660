-- What each channel's product defaults and SKU map were when they were applied: a row per change
-- (first use, or a new fingerprint of the defaults, the map's bytes or the paths).
CREATE TABLE audit.channel_product_maps (
    channel         VARCHAR NOT NULL,
    contract        VARCHAR NOT NULL,   -- channels/<name>.yml, relative to the contracts dir
    sku_map         VARCHAR,            -- maps/<name>.csv, relative to the contracts dir
    fingerprint     VARCHAR NOT NULL,   -- sha256 of the defaults, the map's bytes and the paths
    skus            BIGINT NOT NULL,    -- SKUs evaluated
    versions        BIGINT NOT NULL,    -- SKUs that have a version (origin and HS code known)
    changed         BIGINT NOT NULL,    -- versions written, changed or removed
    facts_repointed BIGINT NOT NULL,    -- facts that took the new attributes
    batch_id        VARCHAR NOT NULL,
    applied_at      TIMESTAMP NOT NULL  -- UTC
);
COMMENT ON TABLE audit.channel_product_maps IS 'Each application of a channel contract''s products section (defaults, SKU map) to core.dim_product: first use and every change of content; the latest row per channel is the one in force.';
