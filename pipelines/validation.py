"""Row rules shared by the feeds, as Polars expressions (vectorised, no row loops)."""

from __future__ import annotations

from typing import cast

import polars as pl

from pipelines.contracts import Limits

# Control characters no real text field carries: C0 (U+0000-U+001F, tab and line breaks
# included), DEL and C1 (U+0080-U+009F: in a latin-1 file, the sign of cp1252 bytes).
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"

# VAT identifier shapes per country (EU VIES formats; GB after HMRC).
VAT_PATTERNS = {
    "GB": r"^GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})$",
    "FR": r"^FR[0-9A-HJ-NP-Z]{2}\d{9}$",
    "DE": r"^DE\d{9}$",
    "IT": r"^IT\d{11}$",
    "ES": r"^ES[0-9A-Z]\d{7}[0-9A-Z]$",
    "NL": r"^NL\d{9}B\d{2}$",
    "IE": r"^IE(\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W])$",
    "BE": r"^BE[01]\d{9}$",
    "DK": r"^DK\d{8}$",
    "AT": r"^ATU\d{8}$",
    "PT": r"^PT\d{9}$",
    "SE": r"^SE\d{12}$",
    "PL": r"^PL\d{10}$",
}


def gtin_valid(col: str) -> pl.Expr:
    """True when a GTIN-8/12/13/14 has a correct GS1 check digit (null GTIN -> null)."""
    code = pl.col(col).str.strip_chars()
    padded = code.str.zfill(14)
    digits = [padded.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(14)]
    weighted = cast(pl.Expr, sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits[:13])))  # 0 + Expr
    check_ok = (10 - weighted % 10) % 10 == digits[13]
    shape_ok = code.str.contains(r"^(\d{8}|\d{12}|\d{13}|\d{14})$")
    return pl.when(code.is_null()).then(None).otherwise(shape_ok & check_ok.fill_null(False))


def vat_valid(vat: str, country: str) -> pl.Expr:
    """True when the VAT id has its country's shape (countries without a rule: any non-empty id)."""
    expr = pl.lit(None, dtype=pl.Boolean)
    for code, pattern in VAT_PATTERNS.items():
        expr = pl.when(pl.col(country) == code).then(pl.col(vat).str.contains(pattern)).otherwise(expr)
    return pl.when(pl.col(vat).is_null()).then(False).otherwise(expr.fill_null(pl.col(vat).str.len_chars() > 2))


def text_rules(fields: list[str] | tuple[str, ...], limit: str = "limit_{}") -> list[tuple[str, str, pl.Expr]]:
    """``text_too_long`` and ``control_characters`` rules for text ``fields`` (null passes).

    The maximum length of field ``f`` is the per-row column ``limit.format(f)`` (a row's contract).
    """
    rules = []
    for name in fields:
        col = pl.col(name)
        rules.append(("text_too_long", name, col.is_null() | (col.str.len_chars() <= pl.col(limit.format(name)))))
        rules.append(("control_characters", name, col.is_null() | ~col.str.contains(CONTROL_CHARACTERS)))
    return rules


def limit_columns(limits: Limits, fields: list[str] | tuple[str, ...]) -> dict[str, pl.Expr]:
    """Per-row limit columns (``limit_<field>``, ``limit_unit_price``...) of one contract's rows."""
    money = pl.Decimal(18, 4)
    return {
        **{f"limit_{name}": pl.lit(limits.text_length(name), dtype=pl.Int64) for name in fields},
        "limit_quantity": pl.lit(limits.max_quantity, dtype=pl.Int64),
        "limit_unit_price": pl.lit(limits.max_unit_price, dtype=money),
        "limit_line_value": pl.lit(limits.max_line_value, dtype=money),
    }


def first_failure(rules: list[tuple[str, str, pl.Expr]]) -> tuple[pl.Expr, pl.Expr]:
    """(reason, column) of the first rule that fails per row; nulls when the row passes.

    ``rules`` are (reason code, column, expression that is True when the row is OK).
    """
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    column: pl.Expr = pl.lit(None, dtype=pl.String)
    for code, col, ok in reversed(rules):
        failed = ~ok.fill_null(False)
        reason = pl.when(failed).then(pl.lit(code)).otherwise(reason)
        column = pl.when(failed).then(pl.lit(col)).otherwise(column)
    return reason, column
