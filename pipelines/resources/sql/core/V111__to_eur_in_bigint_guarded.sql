-- core.to_eur of V110, with its BIGINT branch guarded inside: DuckDB folds a call on constants by
-- evaluating every branch of the CASE, and the unguarded BIGINT branch overflowed for an amount
-- or rate outside its range (100,000,012.50 at 2500) although the HUGEINT branch was the one taken.
CREATE OR REPLACE MACRO core.to_eur(amount, rate) AS (
    CASE
        WHEN abs(amount) < 10000000 AND rate > 0 AND rate < 1000000
        THEN (core.div_half_even(
                  (CASE WHEN abs(amount) < 10000000 THEN amount ELSE 0 END * 1000000)::BIGINT * 100,
                  (CASE WHEN rate > 0 AND rate < 1000000 THEN rate ELSE 1 END * 1000000)::BIGINT
              )::DECIMAL(18, 0) * 0.01::DECIMAL(3, 2))::DECIMAL(38, 2)
        ELSE core.div_half_even(
            round(amount::DECIMAL(38, 6) * 1000000)::HUGEINT * 100,
            round(rate::DECIMAL(38, 6) * 1000000)::HUGEINT
        )::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2)
    END
);
