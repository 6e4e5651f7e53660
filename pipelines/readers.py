"""Read a landed file through its contract into canonical text columns.

Every value is read as text (money is never parsed as a float), mapped to canonical field
names, with ``line_number`` (physical line for CSV, sheet row for XLSX, record number for JSON
and Parquet) and ``raw_row`` (the row as landed, JSON) for quarantine. A file whose encoding or
header breaks its contract raises :class:`~pipelines.contracts.ContractError` naming the file,
the line and the rule. Typing and row rules are the feeds' business.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from pipelines.contracts import Contract, ContractError

LINE = "line_number"
RAW = "raw_row"


def _decode(path: Path, encoding: str) -> bytes:
    """The file as UTF-8 bytes without BOM; an undecodable byte names its line."""
    data = path.read_bytes()
    codec = "utf-8-sig" if encoding.startswith("utf-8") else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContractError(
            f"{path}: line {line}: not valid {encoding} (byte {data[exc.start]:#04x} at "
            f"offset {exc.start}); rule: csv.encoding",
            line,
        ) from exc
    return text.encode("utf-8")


def _read_csv(path: Path, c: Contract) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            io.BytesIO(_decode(path, c.encoding)),
            separator=c.delimiter,
            quote_char=c.quote,
            infer_schema=False,
            null_values=[""],
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise ContractError(f"{path}: not parseable as CSV per contract {c.name}: {exc}") from exc
    return frame.with_row_index(LINE, offset=2)


def _read_xlsx(path: Path, c: Contract) -> pl.DataFrame:
    try:
        frame = pl.read_excel(path, sheet_name=c.sheet, engine="calamine", infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own types
        raise ContractError(f"{path}: sheet {c.sheet!r} not readable per contract {c.name}: {exc}") from exc
    return frame.with_row_index(LINE, offset=2)


def _read_json(path: Path, c: Contract) -> pl.DataFrame:
    try:
        doc = json.loads(_decode(path, c.encoding))
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}", exc.lineno) from exc
    records = doc.get(c.json_records_path) if c.json_records_path and isinstance(doc, dict) else doc
    if not isinstance(records, list):
        where = f"key {c.json_records_path!r}" if c.json_records_path else "top level"
        raise ContractError(f"{path}: line 1: expected an array of records at {where}; rule: json", 1)
    frame = pl.from_dicts(records, infer_schema_length=None) if records else pl.DataFrame()
    return frame.with_row_index(LINE, offset=1)


def _read_jsonl(path: Path, c: Contract) -> pl.DataFrame:
    try:
        frame = pl.read_ndjson(io.BytesIO(_decode(path, c.encoding)), infer_schema_length=None)
    except pl.exceptions.PolarsError as exc:
        raise ContractError(f"{path}: not valid JSON lines per contract {c.name}: {exc}") from exc
    return frame.with_row_index(LINE, offset=1)


def _read_parquet(path: Path, c: Contract) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except pl.exceptions.PolarsError as exc:
        raise ContractError(f"{path}: not a readable Parquet file: {exc}") from exc
    return frame.with_row_index(LINE, offset=1)


READERS = {
    "csv": _read_csv,
    "xlsx": _read_xlsx,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "parquet": _read_parquet,
}


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every non-text column as text; timestamps as ISO-8601 with their zone."""
    exprs = []
    for name, dtype in frame.schema.items():
        if name == LINE or dtype == pl.String:
            continue
        if isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f%z" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.f"
            exprs.append(pl.col(name).dt.to_string(fmt))
        else:
            exprs.append(pl.col(name).cast(pl.String))
    return frame.with_columns(exprs) if exprs else frame


def read_landed(path: Path, contract: Contract) -> pl.DataFrame:
    """Canonical text columns + ``line_number`` + ``raw_row`` for one landed file.

    Raises ContractError when the file's structure breaks the contract (encoding, parse
    error, a mapped column missing from the header).
    """
    frame = READERS[contract.format](path, contract)
    present = set(frame.columns)
    missing = [f"{src} ({field})" for field, src in contract.columns.items() if src not in present]
    if missing:
        header = sorted(present - {LINE})
        raise ContractError(
            f"{path}: line 1: column(s) {', '.join(missing)} required by contract "
            f"{contract.name} not found; the file has {header}; rule: columns",
            1,
        )
    frame = _as_text(frame)
    sources = contract.source_columns
    raw = pl.struct([pl.col(s) for s in sources]).struct.json_encode().alias(RAW)
    blank = {src: pl.col(src).str.strip_chars() == "" for src in sources}
    mapped = [  # blank cells are missing values in every format
        pl.when(blank[src]).then(None).otherwise(pl.col(src)).alias(field) for field, src in contract.columns.items()
    ]
    defaults = [
        pl.lit(value, dtype=pl.String).alias(field)
        for field, value in contract.defaults.items()
        if field not in contract.columns
    ]
    return frame.select(pl.col(LINE).cast(pl.Int64), *mapped, *defaults, raw)


# How each declared thousands separator may be written (a space also as a no-break space).
THOUSANDS_MARKS = {",": ",", ".": r"\.", "'": "['\u2019]", " ": "[ \u00a0\u202f]"}
PRECISION = 18  # the warehouse's DECIMAL(18, scale)


def parse_decimal(expr: pl.Expr, decimal_mark: str, scale: int = 4, thousands: str | None = None) -> pl.Expr:
    """Text -> exact Decimal(18, scale) in the contract's convention, or null when the text is not one.

    Strict: an optional leading ``+``/``-``, ASCII digits, then ``decimal_mark`` and 1 to ``scale``
    digits (never rounded). ``thousands`` (``,`` ``.`` ``'`` or a space, when the contract declares
    one) may group the integer digits, and then only in valid groups of three (``1.234,50``; not
    ``1.23,50``). Anything else is null: the other decimal mark (``12,50`` under ``.``), an
    undeclared separator, inner spaces, exponents, currency signs, more integer digits than the
    type holds. Surrounding whitespace (also no-break spaces) is ignored.
    """
    point = r"\." if decimal_mark == "." else ","
    fraction = rf"(?:{point}[0-9]{{1,{scale}}})?" if scale else ""
    whole = "[0-9]+"
    if thousands:
        whole = rf"(?:[0-9]+|[0-9]{{1,3}}(?:{THOUSANDS_MARKS[thousands]}[0-9]{{3}})+)"
    text = expr.str.strip_chars()
    valid = text.str.contains(rf"^[+-]?{whole}{fraction}$")
    plain = text.str.replace_all(THOUSANDS_MARKS[thousands], "") if thousands else text
    plain = plain.str.replace(point, ".") if decimal_mark != "." else plain
    fits = plain.str.contains(rf"^[+-]?0*[0-9]{{1,{PRECISION - scale}}}(?:\.|$)")
    return pl.when(valid & fits).then(plain).cast(pl.Decimal(PRECISION, scale), strict=False)
