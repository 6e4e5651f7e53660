"""Country names -> ISO 3166 alpha-2, for contracts with ``country_format: name``.

Names come from ``pipelines/resources/reference/country-codes.csv`` (the ISO/UN English short and formal names, the
CLDR display name, the alpha-2 and alpha-3 codes) plus the project's own alias list
``country_aliases.csv`` (``EIRE``, ``RSA``, ``USA``, ``Channel Islands``...). Matching
ignores case, surrounding spaces and repeated inner spaces; a leading "the" is optional.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from pipelines.settings import RESOURCES

REFERENCE_DIR = RESOURCES / "reference"
NAME_COLUMNS = ["CLDR display name", "UNTERM English Short", "UNTERM English Formal", "official_name_en"]
CODE_COLUMNS = ["ISO3166-1-Alpha-2", "ISO3166-1-Alpha-3"]


def normalise(expr: pl.Expr) -> pl.Expr:
    """The form names are matched in: lower case, single spaces, no leading "the"."""
    text = expr.str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")
    return text.str.strip_prefix("the ").str.replace_all(r"\s*\(the\)$", "")


@lru_cache(maxsize=4)
def country_names(reference_dir: Path = REFERENCE_DIR) -> dict[str, str]:
    """normalised name or code -> alpha-2; aliases override ISO names."""
    raw = pl.read_csv(reference_dir / "country-codes.csv", infer_schema=False, null_values=[])
    raw = raw.filter(pl.col("ISO3166-1-Alpha-2") != "")
    iso = pl.concat(
        [
            raw.select(name=pl.col(c), country_code=pl.col("ISO3166-1-Alpha-2"))
            for c in [*CODE_COLUMNS, *NAME_COLUMNS]
            if c in raw.columns
        ]
    )
    aliases = pl.read_csv(reference_dir / "country_aliases.csv", infer_schema=False, null_values=[]).select(
        name="alias", country_code="country_code"
    )
    bare = iso.with_columns(pl.col("name").str.replace(r"\s*\([^)]*\)$", ""))  # "Bolivia (Plurinational State of)"
    pairs = (
        pl.concat([aliases, iso, bare])  # aliases first: they win
        .filter(pl.col("name").str.strip_chars() != "")
        .with_columns(key=normalise(pl.col("name")))
        .unique("key", keep="first", maintain_order=True)
    )
    return dict(zip(pairs["key"], pairs["country_code"], strict=True))


def resolve_names(expr: pl.Expr, reference_dir: Path = REFERENCE_DIR) -> pl.Expr:
    """Country names (or codes) -> alpha-2; a value no name matches is kept as landed (then unknown_country)."""
    mapping = country_names(reference_dir)
    return normalise(expr).replace_strict(mapping, default=expr.str.strip_chars(), return_dtype=pl.String)
