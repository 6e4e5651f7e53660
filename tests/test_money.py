"""EUR conversion of docs/design.md §4: amount / rate, rounded to the cent half to even, exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def mem() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the migrations (and so the money macros) applied."""
    from pipelines.settings import RESOURCES
    from pipelines.warehouse import migrate

    connection = duckdb.connect()
    migrate(connection, RESOURCES / "sql")
    return connection


def python_eur(amount: Decimal, rate: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return (amount / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def sql_eur(con: duckdb.DuckDBPyConnection, amount: Decimal, rate: Decimal) -> Decimal:
    return con.execute("SELECT core.to_eur(?::DECIMAL(18,4), ?::DECIMAL(18,6))", [amount, rate]).fetchall()[0][0]


def test_half_cent_ties_round_to_even(con: duckdb.DuckDBPyConnection) -> None:
    # 0.125 EUR -> 0.12 (2 is even), 0.135 -> 0.14, 0.145 -> 0.14; negatives mirror.
    cases = {
        ("0.1250", "1"): "0.12",
        ("0.1350", "1"): "0.14",
        ("0.1450", "1"): "0.14",
        ("-0.1250", "1"): "-0.12",
        ("-0.1350", "1"): "-0.14",
        ("0.2500", "10"): "0.02",
        ("0.3500", "10"): "0.04",
        # 7.8753 CNY per EUR: 100 CNY = 12.6979... EUR -> 12.70
        ("100.0000", "7.8753"): "12.70",
        # a tie through a non-trivial rate: 1.00005 * 2 = 2.0001 ... use 0.0125 * 0.8 = 0.01 exact
        ("0.0100", "0.8"): "0.01",  # 0.0125 -> 0.01
        ("0.0300", "0.8"): "0.04",  # 0.0375 -> 0.04
        # large amounts must not overflow: 100,000,012.50 / 2500 = 40,000.005 -> 40,000.00
        ("100000012.5000", "2500"): "40000.00",
        ("99999999999999.9999", "0.000001"): "99999999999999999900.00",
    }
    for (amount, rate), expected in cases.items():
        assert sql_eur(con, Decimal(amount), Decimal(rate)) == Decimal(expected), (amount, rate)


def test_result_is_decimal_not_double(con: duckdb.DuckDBPyConnection) -> None:
    kind = con.execute("SELECT typeof(core.to_eur(1.0::DECIMAL(18,4), 7.1234::DECIMAL(18,6)))").fetchall()[0][0]
    assert kind == "DECIMAL(38,2)"


amounts = st.decimals(min_value=Decimal("-99999999.9999"), max_value=Decimal("99999999.9999"), places=4)
rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("99999.999999"), places=6)


@settings(max_examples=400, deadline=None)
@given(amount=amounts, rate=rates)
def test_sql_matches_python_decimal(mem: duckdb.DuckDBPyConnection, amount: Decimal, rate: Decimal) -> None:
    assert sql_eur(mem, amount, rate) == python_eur(amount, rate)


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=-(10**9), max_value=10**9), rate=rates)
def test_exact_ties_are_half_even(mem: duckdb.DuckDBPyConnection, cents: int, rate: Decimal) -> None:
    # amount = (cents + 0.5) cents * rate gives an exact half-cent tie in EUR when representable.
    eur_tie = (Decimal(cents) + Decimal("0.5")) / 100
    amount = eur_tie * rate
    if amount != amount.quantize(Decimal("0.0001")) or abs(amount) >= Decimal("1e13"):
        return
    assert sql_eur(mem, amount, rate) == python_eur(amount, rate)
