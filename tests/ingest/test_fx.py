"""ECB rates: both file formats, their quirks, the 7-day look-back, overlaps and conflicts.

Values are the real ECB reference rates of those days (pipelines/resources/reference/eurofxref-hist.csv).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipelines.ingest.fx import rate_for
from tests.ingest.conftest import rows

# Newest first, trailing comma, N/A (HRK stopped after 2022-12-30), no weekend/holiday rows
# (2019-12-25/26 Christmas, 2019-04-19/22 Easter, 2023-01-01).
HIST = """Date,USD,GBP,HRK,CNY,
2023-01-09,1.0696,0.88048,N/A,7.2546,
2023-01-02,1.0683,0.8863,N/A,7.3698,
2022-12-30,1.0666,0.88693,7.5365,7.3582,
2019-12-31,1.1234,0.8508,7.4395,7.8205,
2019-12-27,1.1153,0.8513,7.4475,7.8025,
2019-12-24,1.108,0.85533,7.4455,7.7643,
2019-04-23,1.1245,0.8645,7.4245,7.5557,
2019-04-18,1.125,0.8647,7.435,7.5445,
"""
DAILY = "Date, USD, GBP, CNY, \n31 December 2019, 1.1234, 0.8508, 7.8205, \n"


def test_history_file_loads_long_rows(load, wh, landing) -> None:
    landing("fx/eurofxref-hist.csv", HIST)
    summary = load("fx")
    # 8 dates x 4 currencies = 32 values, minus 2 N/A cells (HRK in 2023)
    assert (summary.rows_read, summary.rows_loaded) == (30, 30)
    assert rows(wh, "SELECT rate FROM core.fx_rate WHERE currency = 'CNY' AND rate_date = '2019-12-24'") == [
        (Decimal("7.764300"),)
    ]
    assert rows(wh, "SELECT count(*) FROM core.fx_rate WHERE currency = 'HRK'") == [(6,)]


def test_lookup_rules(load, wh, landing) -> None:
    landing("fx/eurofxref-hist.csv", HIST)
    load("fx")
    cases = {
        ("CNY", date(2019, 12, 28)): (Decimal("7.802500"), date(2019, 12, 27)),  # Saturday -> Friday
        ("CNY", date(2019, 12, 25)): (Decimal("7.764300"), date(2019, 12, 24)),  # Christmas (TARGET holiday)
        ("CNY", date(2019, 12, 26)): (Decimal("7.764300"), date(2019, 12, 24)),
        ("GBP", date(2019, 4, 22)): (Decimal("0.864700"), date(2019, 4, 18)),  # Easter Monday, 4 days back
        ("CNY", date(2019, 12, 31)): (Decimal("7.820500"), date(2019, 12, 31)),
        ("EUR", date(2019, 12, 25)): (Decimal("1"), date(2019, 12, 25)),
        ("HRK", date(2023, 1, 6)): (Decimal("7.536500"), date(2022, 12, 30)),  # stopped: 7 days back is OK
    }
    for (currency, day), expected in cases.items():
        assert rate_for(wh, currency, day) == expected, (currency, day)
    assert rate_for(wh, "HRK", date(2023, 1, 7)) is None  # 8 days after the last quote: missing
    assert rate_for(wh, "CNY", date(2019, 4, 30)) == (Decimal("7.555700"), date(2019, 4, 23))  # 7-day gap
    assert rate_for(wh, "CNY", date(2019, 5, 1)) is None  # 8-day gap


def test_daily_file_and_overlap_change_nothing(load, wh, landing) -> None:
    landing("fx/eurofxref-hist.csv", HIST)
    load("fx")
    before = rows(wh, "SELECT * EXCLUDE (batch_id) FROM core.fx_rate ORDER BY ALL")
    landing("fx/daily/2019-12-31/eurofxref.csv", DAILY)
    summary = load("fx")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (3, 0, 3)
    assert rows(wh, "SELECT * EXCLUDE (batch_id) FROM core.fx_rate ORDER BY ALL") == before
    assert load("fx").files == 0  # re-delivered identical files are skipped by checksum


def test_conflicting_rate_is_reported_not_overwritten(load, wh, landing) -> None:
    landing("fx/eurofxref-hist.csv", HIST)
    load("fx")
    landing("fx/daily/2019-12-31/eurofxref.csv", DAILY.replace("7.8205", "7.9999"))
    summary = load("fx")
    assert (summary.rows_loaded, summary.rows_quarantined, summary.rows_duplicate) == (0, 1, 2)
    assert rate_for(wh, "CNY", date(2019, 12, 31)) == (Decimal("7.820500"), date(2019, 12, 31))
    ((reason, column, detail),) = rows(wh, "SELECT reason, column_name, detail FROM audit.quarantine")
    assert (reason, column) == ("fx_rate_conflict", "CNY")
    assert detail == "loaded 7.820500 from fx/eurofxref-hist.csv; this file says 7.999900"


def test_not_an_ecb_file_is_rejected(load, wh, landing) -> None:
    landing("fx/eurofxref-hist.csv", "Datum;USD\n2019-01-01;1,1\n")
    summary = load("fx")
    assert summary.files_rejected == 1
    assert rows(wh, "SELECT line_number, reason FROM audit.quarantine") == [(1, "contract_violation")]
