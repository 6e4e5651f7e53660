-- Targets may count every origin or destination but some (targets.yml: `all` + `*_exclude`),
-- stored as include and exclude lists and tested by membership (no expansion to every country).
-- A fact counts for a target iff core.in_country_scope(country_of_origin, origin_countries,
-- origin_exclude) and core.in_country_scope(ship_to_country, destination_countries,
-- destination_exclude) and its event_date is in the window.

ALTER TABLE core.dim_target ADD COLUMN origin_exclude VARCHAR[] DEFAULT [];
ALTER TABLE core.dim_target ADD COLUMN destination_exclude VARCHAR[] DEFAULT [];
COMMENT ON COLUMN core.dim_target.origin_countries IS 'Countries of origin (ISO alpha-2) of the product version valid at order time; empty = every origin (all goods) but origin_exclude.';
COMMENT ON COLUMN core.dim_target.origin_exclude IS 'With every origin (origin_countries empty): the origins left out (targets.yml origin_exclude); else empty.';
COMMENT ON COLUMN core.dim_target.destination_countries IS 'Ship-to countries (ISO alpha-2; Hong Kong HK and Macao MO count only if listed); empty = every destination (targets.yml destination_countries: all) but destination_exclude.';
COMMENT ON COLUMN core.dim_target.destination_exclude IS 'With every destination (destination_countries empty): the ship-to countries left out (targets.yml destination_exclude, e.g. [GB]); else empty.';

-- Whether a country code is in a target's scope: listed (or the list is empty = every country)
-- and not excluded. A NULL code is in no scope.
CREATE OR REPLACE MACRO core.in_country_scope(code, countries, excluded) AS (
    code IS NOT NULL
    AND (len(countries) = 0 OR list_contains(countries, code))
    AND NOT list_contains(coalesce(excluded, []), code)
);
