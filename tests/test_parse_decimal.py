"""``parse_decimal``: numbers strictly in the contract's convention (decimal mark, thousands separator).

Examples pin each rule; Hypothesis properties show that any Decimal written in a convention reads
back exactly, and that a value written in another convention never reads as a different number.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipelines.readers import parse_decimal

# (decimal mark, thousands separator) pairs a contract may declare
CONVENTIONS = [(d, t) for d in (".", ",") for t in (None, ",", ".", " ", "'") if t != d]
SPELLINGS = {",": [","], ".": ["."], " ": [" ", "\u00a0", "\u202f"], "'": ["'", "\u2019"]}


def parse(values: list[str | None], decimal: str, thousands: str | None = None, scale: int = 4) -> list:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(parse_decimal(pl.col("v"), decimal, scale, thousands)).to_series().to_list()


@pytest.mark.parametrize(
    ("decimal", "thousands", "text", "expected"),
    [
        (".", None, "12.50", "12.5"),
        (".", None, "12,50", None),  # the other convention's decimal mark: today's 1250.00
        (".", None, "1,250.00", None),  # a separator the contract does not declare
        (",", None, "12,50", "12.5"),
        (",", None, "12.50", None),  # today's 1250.00
        (",", None, "1.234,50", None),
        (",", ".", "1.234,50", "1234.5"),
        (",", ".", "1234,50", "1234.5"),  # grouping is optional
        (",", ".", "1.234.567,8901", "1234567.8901"),
        (",", ".", "1.23,50", None),  # groups of three digits only
        (",", ".", "12.50", None),
        (",", ".", "1234.567,00", None),
        (".", ",", "1,234.50", "1234.5"),
        (".", ",", "12,50", None),
        (",", " ", "1 234,50", "1234.5"),
        (",", " ", "1\u00a0234,50", "1234.5"),  # no-break space
        (",", " ", "1\u202f234,50", "1234.5"),  # narrow no-break space
        (".", "'", "1'234.50", "1234.5"),
        (".", None, "  -7.25\u00a0", "-7.25"),  # surrounding whitespace, also no-break
        (".", None, "+3", "3"),
        (".", None, "- 7.25", None),  # sign apart from the digits
        (".", None, "7.25-", None),  # trailing sign
        (".", None, "\u22127.25", None),  # minus sign U+2212
        (".", None, "(7.25)", None),
        (".", None, "1 234.50", None),  # inner space without a declared space separator
        (".", None, "5.", None),
        (".", None, ".5", None),
        (".", None, "1e3", None),
        (".", None, "EUR 12.50", None),
        (".", None, "\u0661\u0662", None),  # Arabic-Indic digits
        (".", None, "0.12345", None),  # more decimals than the column holds: never rounded
        (".", None, "99999999999999.9999", "99999999999999.9999"),  # DECIMAL(18,4) at its largest
        (".", None, "100000000000000", None),  # one digit more: bad_number, not a crash
        (".", None, "00000000000000000012.5", "12.5"),  # leading zeros do not count
        (".", None, "", None),
        (".", None, None, None),
    ],
)
def test_examples(decimal: str, thousands: str | None, text: str | None, expected: str | None) -> None:
    assert parse([text], decimal, thousands) == [None if expected is None else Decimal(expected)]


def test_scale_zero_reads_whole_numbers_only() -> None:
    assert parse(["12", "-3", "1.000", "1,000", "12.0", "999999999999999999"], ".", ",", scale=0) == [
        Decimal(12),
        Decimal(-3),
        None,
        Decimal(1000),
        None,
        Decimal("999999999999999999"),
    ]


def test_an_undeclared_dot_grouping_is_the_one_thing_the_contract_must_say() -> None:
    """'1.234' is 1.234 under a '.'-decimal contract and 1234 under ',' with '.' thousands: only the
    contract can tell, which is why thousands separators are read only where it declares them."""
    assert parse(["1.234"], ".") == [Decimal("1.234")]
    assert parse(["1.234"], ",", ".") == [Decimal(1234)]
    assert parse(["1.234"], ",") == [None]


@st.composite
def numbers(draw: st.DrawFn, scale: int = 4) -> tuple[Decimal, str, str, bool]:
    """(value, integer digits, fraction digits, negative) of a value DECIMAL(18, scale) holds."""
    whole = draw(st.integers(min_value=0, max_value=10 ** (18 - scale) - 1))
    fraction = draw(st.text("0123456789", min_size=0, max_size=scale))
    negative = draw(st.booleans())
    value = Decimal(f"{whole}.{fraction or '0'}")
    return (-value if negative else value), str(whole), fraction, negative


def written(number: tuple[Decimal, str, str, bool], decimal: str, thousands: str | None, draw: st.DrawFn) -> str:
    """``number`` as a file in that convention might carry it (grouped or not, signed, padded)."""
    _, whole, fraction, negative = number
    if thousands and draw(st.booleans()):
        mark = draw(st.sampled_from(SPELLINGS[thousands]))
        groups = [whole[max(0, i - 3) : i] for i in range(len(whole), 0, -3)][::-1]
        whole = mark.join(groups)
    sign = "-" if negative else draw(st.sampled_from(["", "+"]))
    pad = draw(st.sampled_from(["", " ", "\u00a0", "\t"]))
    return f"{pad}{sign}{whole}{decimal + fraction if fraction else ''}{pad}"


@settings(max_examples=300, deadline=None)
@given(data=st.data(), convention=st.sampled_from(CONVENTIONS))
def test_any_value_written_in_the_convention_reads_back_exactly(data: st.DataObject, convention: tuple) -> None:
    decimal, thousands = convention
    values = data.draw(st.lists(numbers(), min_size=1, max_size=20))
    texts = [written(v, decimal, thousands, data.draw) for v in values]
    assert parse(texts, decimal, thousands) == [v[0] for v in values]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), reader=st.sampled_from(CONVENTIONS), writer=st.sampled_from(CONVENTIONS))
def test_a_value_in_another_convention_never_reads_as_another_number(
    data: st.DataObject, reader: tuple, writer: tuple
) -> None:
    """Null (bad_number) or the same number; never 12,50 read as 1250.

    Excluded: a writer whose thousands separator is the reader's decimal mark, or whose decimal
    mark is the reader's thousands separator ('1.234' above): no parser can tell those apart.
    """
    assume(writer[0] != reader[0] and writer[1] != reader[0] and writer[0] != reader[1])
    values = data.draw(st.lists(numbers(), min_size=1, max_size=20))
    texts = [written(v, writer[0], writer[1], data.draw) for v in values]
    for (value, *_), got in zip(values, parse(texts, *reader), strict=True):
        assert got is None or got == value


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(max_size=30), min_size=1, max_size=20), convention=st.sampled_from(CONVENTIONS))
def test_any_text_is_a_number_the_column_holds_or_null(texts: list[str], convention: tuple) -> None:
    for got in parse(texts, *convention):
        assert got is None or (isinstance(got, Decimal) and abs(got) < Decimal("1e14"))
