"""Reference dimensions from the real public files in ``pipelines/resources/reference/``.

Countries (ISO 3166; Namibia is ``NA``, never null), currencies (ISO 4217, active and
withdrawn), HS 2022 sections and codes, Chinese New Year dates (for the forecast). Each file's
sha256 is recorded in the ledger (feed ``reference``); a dimension is rebuilt only when its file
changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from pipelines.landing import sha256_file
from pipelines.ledger import FeedSummary, FileOutcome, insert_frame, known_files, record_files
from pipelines.settings import Settings


def countries(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema=False, null_values=[])
    return (
        raw.filter(pl.col("ISO3166-1-Alpha-2") != "")
        .select(
            country_code=pl.col("ISO3166-1-Alpha-2"),
            alpha3=pl.col("ISO3166-1-Alpha-3"),
            numeric_code=pl.col("ISO3166-1-numeric"),
            name=pl.coalesce(pl.col("CLDR display name"), pl.col("official_name_en")),
            region=pl.col("Region Name"),
            sub_region=pl.col("Sub-region Name"),
            currency=pl.col("ISO4217-currency_alphabetic_code"),
        )
        .unique("country_code", keep="first", maintain_order=True)
    )


def currencies(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema=False, null_values=[])
    return (
        raw.filter(pl.col("AlphabeticCode").is_not_null() & (pl.col("AlphabeticCode") != ""))
        .group_by("AlphabeticCode")
        .agg(
            name=pl.col("Currency").sort_by(pl.col("WithdrawalDate").is_null()).last(),
            minor_unit=pl.col("MinorUnit").cast(pl.Int32, strict=False).max(),
            is_active=pl.col("WithdrawalDate").is_null().any(),
        )
        .rename({"AlphabeticCode": "currency_code"})
        .sort("currency_code")
    )


def hs_sections(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema=False, encoding="utf8")  # the file starts with a BOM
    return raw.rename({raw.columns[0]: "section"}).select("section", "name")


def hs_codes(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema=False)
    # section TOTAL holds the statistical "not specified" codes 99/9999/999999, not goods
    return raw.filter((pl.col("hscode") != "TOTAL") & (pl.col("section") != "TOTAL")).select(
        hs_code=pl.col("hscode"),
        level=pl.col("level").cast(pl.Int32),
        description=pl.col("description"),
        parent=pl.col("parent"),
        chapter=pl.col("hscode").str.slice(0, 2),
        section=pl.col("section"),
    )


def chinese_new_year(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False).select(
        year=pl.col("year").cast(pl.Int32),
        new_year_date=pl.col("new_year_date").str.to_date("%Y-%m-%d"),
        zodiac=pl.col("zodiac"),
    )


DIMENSIONS: dict[str, tuple[str, str, Callable[[Path], pl.DataFrame]]] = {
    "countries": ("country-codes.csv", "core.dim_country", countries),
    "currencies": ("iso4217_codes-all.csv", "core.dim_currency", currencies),
    "hs_sections": ("hs_sections.csv", "core.dim_hs_section", hs_sections),
    "hs_codes": ("hs_harmonized-system.csv", "core.dim_hs_code", hs_codes),
    "chinese_new_year": ("chinese_new_year.csv", "core.dim_chinese_new_year", chinese_new_year),
}


def load_reference(con: duckdb.DuckDBPyConnection, settings: Settings) -> FeedSummary:
    """(Re)build each reference dimension whose file is new or changed."""
    summary = FeedSummary(feed="reference")
    for file_name, table, build in DIMENSIONS.values():
        path = settings.reference_dir / file_name
        sha = sha256_file(path)
        if known_files(con, [sha]):
            summary.files_skipped += 1
            continue
        frame = build(path)
        con.execute(f"DELETE FROM {table}")
        insert_frame(con, table, frame)
        con.execute("DELETE FROM audit.load_ledger WHERE feed = 'reference' AND path = ?", [file_name])
        outcome = FileOutcome(
            sha,
            file_name,
            "reference",
            None,
            None,
            rows_read=frame.height,
            rows_loaded=frame.height,
            bytes=path.stat().st_size,
        )
        record_files(con, [outcome], "reference")
        summary.add(outcome)
    return summary
