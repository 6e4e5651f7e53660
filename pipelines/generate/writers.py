"""Write frames in the layouts contracts describe (CSV variants, XLSX, JSON, JSON lines, Parquet).

Every writer is deterministic: same frame, same bytes (XLSX gets a fixed creation time).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from pipelines.contracts import Contract

FIXED_TIME = datetime(2000, 1, 1)


def money_text(cents: pl.Expr, decimal_mark: str = ".") -> pl.Expr:
    """Integer cents -> '1234.50' (or '1234,50'), exact."""
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (cents.abs() // 100).cast(pl.String)
    frac = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str([sign, whole, pl.lit(decimal_mark), frac])


def write_frame(frame: pl.DataFrame, path: Path, contract: Contract, document: dict | None = None) -> int:
    """Write ``frame`` (already in the file's own column names and text/typed values); return bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if contract.format == "csv":
        text = frame.write_csv(separator=contract.delimiter, quote_style="necessary")
        codec = "utf-8-sig" if contract.encoding == "utf-8-sig" else contract.encoding
        path.write_bytes(text.encode(codec))
    elif contract.format == "xlsx":
        _write_xlsx(frame, path, contract.sheet or "Sheet1")
    elif contract.format == "json":
        body = json.dumps(
            {**(document or {}), contract.json_records_path or "items": frame.to_dicts()},
            ensure_ascii=False,
            indent=1,
        )
        path.write_text(body + "\n", encoding="utf-8")
    elif contract.format == "jsonl":
        path.write_text(frame.write_ndjson(), encoding="utf-8")
    elif contract.format == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=False)
    else:
        raise ValueError(f"no writer for format {contract.format}")
    return path.stat().st_size


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_TIME, "author": "xborder generator"})
    sheet_ = workbook.add_worksheet(sheet)
    for col, name in enumerate(frame.columns):
        sheet_.write_string(0, col, name)
        sheet_.write_column(1, col, [("" if v is None else v) for v in frame[name].to_list()])
    workbook.close()
