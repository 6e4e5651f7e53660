"""The contract's row language over one file's text columns: derived fields, value maps, row filters.

Applied by the reader (:func:`pipelines.readers.read_landed`) after the file is read as text and
before the feed's typing and rules, vectorised in Polars:

* ``derive``: canonical fields built from the row (a template over columns, the row's position
  within a group, a content hash), in the order the contract lists them;
* ``values`` and ``country_format: name``: landed text -> canonical values (a value no map
  knows stays as landed, so the feed's rule names it: ``unknown_country`` showing the value);
* ``exclude``: the first rule a row matches names it in column ``excluded_by`` (counted in the
  ledger as excluded, never an error).
"""

from __future__ import annotations

import string

import duckdb
import polars as pl

from pipelines.contracts import COUNTRY_FIELDS, Contract, Derivation, ExcludeRule, ValueMap
from pipelines.countries import resolve_names

EXCLUDED = "excluded_by"
_DERIVED = "__derived__"


def text(col: str) -> pl.Expr:
    """A file column's text, blank cells as missing."""
    value = pl.col(col)
    return pl.when(value.str.strip_chars() == "").then(None).otherwise(value)


def derived_columns(frame: pl.DataFrame, contract: Contract, within: list[str] | None = None) -> pl.DataFrame:
    """Add one ``__derived__<field>`` column per derivation (in order: later ones may use earlier).

    ``within``: columns naming the file of each row (several files at once): positions count per file.
    """
    for d in contract.derive:
        frame = frame.with_columns(_derived(frame, contract, d, within or []).alias(_DERIVED + d.field))
    return frame


def derived_name(field: str) -> str:
    return _DERIVED + field


def _source(contract: Contract, name: str, derivation: Derivation) -> pl.Expr:
    """A template placeholder: a canonical field mapped or derived earlier, else a file column."""
    if name in contract.file_placeholders(derivation):
        return text(name)
    if name in contract.columns:
        return text(contract.columns[name])
    return pl.col(_DERIVED + name)


def _derived(frame: pl.DataFrame, contract: Contract, d: Derivation, within: list[str]) -> pl.Expr | pl.Series:
    if d.kind == "template":
        parts: list[pl.Expr] = []
        for literal, name, _, _ in string.Formatter().parse(d.template):
            if literal:
                parts.append(pl.lit(literal))
            if name:
                parts.append(_source(contract, name, d).str.strip_chars())
        return pl.concat_str(parts, ignore_nulls=False)  # a missing part: the field is missing
    if d.kind == "position_within":
        position = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
        groups = [pl.col(c) for c in within] + [text(c).str.strip_chars() for c in d.columns]
        return (position.over(groups) if groups else position).cast(pl.String)
    return _md5(frame, d.columns)


def _md5(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.Series:
    """md5 (hex) of the columns' values joined by the unit separator, missing values as empty text."""
    values = frame.select([text(c).fill_null("").alias(f"c{i}") for i, c in enumerate(columns)])
    with duckdb.connect() as con:  # an in-memory database of its own: readers run in threads
        con.register("v", values.to_arrow())
        joined = " || chr(31) || ".join(f"c{i}" for i in range(len(columns)))  # positional names only
        hashed = con.sql(f"SELECT md5({joined}) AS h FROM v").pl()  # noqa: S608 - no landed names
    return hashed["h"]


def map_values(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Apply the contract's value maps, then country names -> codes, to the canonical columns."""
    exprs = [_value_map(m) for m in contract.value_maps if m.field in frame.columns]
    if exprs:
        frame = frame.with_columns(exprs)
    if contract.country_format == "name":
        fields = [f for f in COUNTRY_FIELDS[contract.feed] if f in frame.columns]
        frame = frame.with_columns([resolve_names(pl.col(f)).alias(f) for f in fields])
    return frame


def _value_map(m: ValueMap) -> pl.Expr:
    key = pl.col(m.field).str.strip_chars()
    if m.ignore_case:
        key = key.str.to_lowercase()
    fallback = pl.col(m.field) if m.unmapped == "keep" else pl.lit(None, dtype=pl.String)
    return key.replace_strict(m.mapping, default=fallback, return_dtype=pl.String).alias(m.field)


def excluded_by(contract: Contract) -> pl.Expr:
    """The name of the first exclude rule the row matches (null: kept)."""
    out = pl.lit(None, dtype=pl.String)
    for rule in reversed(contract.exclude):
        out = pl.when(_matches(rule)).then(pl.lit(rule.rule)).otherwise(out)
    return out.alias(EXCLUDED)


def _matches(rule: ExcludeRule) -> pl.Expr:
    value = pl.col(rule.column).str.strip_chars()
    if rule.ignore_case:
        value = value.str.to_lowercase()
    fold = str.lower if rule.ignore_case else str
    if rule.values:
        hit = value.is_in(pl.Series([fold(v) for v in rule.values], dtype=pl.String).implode())
    elif rule.prefixes:
        hit = pl.any_horizontal([value.str.starts_with(fold(p)) for p in rule.prefixes])
    else:
        hit = pl.col(rule.column).str.contains(rule.pattern or "")
    return hit.fill_null(False)
