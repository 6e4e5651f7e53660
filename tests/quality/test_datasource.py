"""The GX datasource over the pipeline's DuckDB connection (pipelines/quality/datasource.py).

GX 1.24's SQL datasource on DuckDB (GX issues 10738 and 11579) returns every expectation failed
with an empty result: the connection is closed, and its transaction rolled back, before the
result is fetched. Through ``bound(con)`` results are real: a rule that must fail fails with
the offending value, one that must pass passes having counted the rows. With the transaction
calls given back to DuckDB, the bug is back: that proves the fix is what makes the difference.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import great_expectations.expectations as gxe
import pytest

from pipelines.quality.context import get_context
from pipelines.quality.datasource import _ReadOnlyConnection, bound
from pipelines.settings import Settings

RATES = [("GBP", 0.8508), ("CNY", 7.8205), ("USD", -1.1234)]  # one rate that must not pass


@pytest.fixture
def rates(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.executemany(
        "INSERT INTO core.fx_rate (currency, rate_date, rate, source_file, batch_id) "
        "VALUES (?, DATE '2019-12-31', ?, 'fx/eurofxref-hist.csv', 'b1')",
        RATES,
    )
    return con


def batch_definition(settings: Settings):  # noqa: ANN201 - a GX BatchDefinition
    return get_context(settings).data_sources.get("warehouse").get_asset("fx_rate").get_batch_definition("all")


MUST_FAIL = gxe.ExpectColumnValuesToBeBetween(column="rate", min_value=0, strict_min=True)
MUST_PASS = gxe.ExpectColumnValuesToNotBeNull(column="currency")
ROW_COUNT = gxe.ExpectTableRowCountToEqual(value=len(RATES))


def validate(con: duckdb.DuckDBPyConnection, settings: Settings) -> list:
    with bound(con):
        batch = batch_definition(settings).get_batch()
        return [batch.validate(e) for e in (MUST_FAIL, MUST_PASS, ROW_COUNT)]


def test_bound_validation_returns_real_results(rates: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    must_fail, must_pass, row_count = validate(rates, settings)

    assert must_fail.success is False
    assert must_fail.exception_info["raised_exception"] is False
    assert (must_fail.result["element_count"], must_fail.result["unexpected_count"]) == (3, 1)
    assert must_fail.result["partial_unexpected_list"] == [Decimal("-1.123400")]

    assert must_pass.success is True
    assert (must_pass.result["element_count"], must_pass.result["unexpected_count"]) == (3, 0)
    assert row_count.success is True and row_count.result["observed_value"] == 3

    assert rates.execute("SELECT count(*) FROM core.fx_rate").fetchall() == [(3,)]  # the pipeline's connection lives on


def test_without_the_fix_every_result_comes_back_empty(
    rates: duckdb.DuckDBPyConnection, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX 10738/11579 reproduced: DuckDB's own rollback on close discards the unfetched result."""
    for name in ("begin", "commit", "rollback"):
        monkeypatch.delattr(_ReadOnlyConnection, name)  # back to duckdb-engine's pass-through to DuckDB

    results = validate(rates, settings)

    assert [r.success for r in results] == [False, False, False]
    assert [r.result for r in results] == [{}, {}, {}]


def test_datasource_refuses_outside_bound(rates: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    definition = batch_definition(settings)
    with pytest.raises(RuntimeError, match=r"wrap the validation in pipelines\.quality\.datasource\.bound\(con\)"):
        definition.get_batch()
    with bound(rates):
        definition.get_batch()
    with pytest.raises(RuntimeError, match=r"bound\(con\)"):  # and again once the block is left
        definition.get_batch()


def test_one_binding_at_a_time_and_checked_variable_names(rates: duckdb.DuckDBPyConnection) -> None:
    with bound(rates), pytest.raises(RuntimeError, match="already bound"), bound(rates):
        pass
    with pytest.raises(ValueError, match="not a variable name"), bound(rates, {"x; DROP TABLE core.fx_rate": 1}):
        pass
    with bound(rates):  # a failed bind left nothing behind
        pass


def test_sql_rules_read_the_bound_variables_and_only_committed_data(
    rates: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    """Rules read session variables on GX's cursor; the cursor sees what the pipeline committed."""
    rule = gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="SELECT * FROM {batch} WHERE rate < getvariable('floor')"
    )
    rates.execute("BEGIN")
    rates.execute("DELETE FROM core.fx_rate")  # not committed: GX must not see it
    try:
        with bound(rates, {"floor": 1}):
            result = batch_definition(settings).get_batch().validate(rule)
    finally:
        rates.execute("ROLLBACK")
    assert result.success is False
    assert result.result["observed_value"] == 2  # GBP 0.8508 and USD -1.1234 are below 1
    assert rates.execute("SELECT count(*) FROM core.fx_rate").fetchall() == [(3,)]
