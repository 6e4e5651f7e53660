-- Chinese New Year (Spring Festival, first day of the first lunar month) by Gregorian year, from
-- reference/chinese_new_year.csv (Hong Kong Observatory's Gregorian-Lunar calendar conversion
-- tables). The seasonal forecast (sql/marts/export_forecast.sql) moves the holiday's dip with it.
CREATE TABLE core.dim_chinese_new_year (
    year          INTEGER PRIMARY KEY,
    new_year_date DATE NOT NULL,
    zodiac        VARCHAR
);
COMMENT ON TABLE core.dim_chinese_new_year IS 'Chinese New Year by Gregorian year, 2015-2040 (reference/chinese_new_year.csv; Hong Kong Observatory).';
COMMENT ON COLUMN core.dim_chinese_new_year.year IS 'Gregorian year.';
COMMENT ON COLUMN core.dim_chinese_new_year.new_year_date IS 'First day of the first lunar month (Spring Festival), China time.';
COMMENT ON COLUMN core.dim_chinese_new_year.zodiac IS 'The year''s animal (informative).';
