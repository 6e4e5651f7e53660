-- core.to_eur, exactly as before (amount / rate rounded half to even at the cent), but in BIGINT
-- arithmetic whenever the values allow it: |amount| < 10^7 and 0 < rate < 10^6 keep amount x 10^8
-- and rate x 10^6 (scale <= 6 each) within 64 bits. DECIMAL(38) arithmetic costs ~6x as much, and
-- the sales load converts every order line. Other values take the HUGEINT path of V001.
CREATE OR REPLACE MACRO core.to_eur(amount, rate) AS (
    CASE
        WHEN abs(amount) < 10000000 AND rate > 0 AND rate < 1000000
        THEN (core.div_half_even((amount * 1000000)::BIGINT * 100, (rate * 1000000)::BIGINT)::DECIMAL(18, 0)
              * 0.01::DECIMAL(3, 2))::DECIMAL(38, 2)
        ELSE core.div_half_even(
            round(amount::DECIMAL(38, 6) * 1000000)::HUGEINT * 100,
            round(rate::DECIMAL(38, 6) * 1000000)::HUGEINT
        )::DECIMAL(38, 0) * 0.01::DECIMAL(3, 2)
    END
);
