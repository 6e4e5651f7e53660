"""Read a landed file through its contract into canonical text columns.

Every value is read as text (money is never parsed as a float), mapped to canonical field
names, with ``line_number`` (physical line for CSV, sheet row for XLSX, record number for JSON
and Parquet) and ``raw_row`` (the row as landed, JSON) for quarantine. Typing and row rules are
the feeds' business. Each file is read and checked on its own (:func:`read_text`); many files of
one contract are then made canonical in one pass (:func:`map_files`), exactly as each alone.

A file that cannot be read whole raises :class:`RejectedFile` (a
:class:`~pipelines.contracts.ContractError`) with a one-line message naming the file, the line
where known and the rule, and a reason code: ``contract_violation`` (undecodable bytes, a mapped
column missing, not parseable per the contract), ``empty_file``, ``truncated_file`` (a CSV whose
last row is cut short, a quoted field left open at the end, no final line break where the contract
requires one), ``json_too_deep``, ``zip_bomb``, ``file_too_large`` or ``unreadable_file`` (any
other failure: a corrupt Parquet or XLSX file, ...). Nothing else escapes :func:`read_landed`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import cast

import polars as pl
import pyarrow as pa

from pipelines.contract_rows import derived_columns, derived_name, excluded_by, map_values, text
from pipelines.contracts import Contract, ContractError

LINE = "line_number"
RAW = "raw_row"
FILE = "__file__"  # which of the files read together a row came from (map_files)
MAX_JSON_DEPTH = 64  # real records nest 2-3 levels; Polars crashes the process at ~1000
JSON_SAMPLE_RECORDS = 1000  # JSON lines records whose value types are inferred first (_ndjson_sampled)
MAX_XLSX_BYTES = 512 * 1024 * 1024  # declared uncompressed size of all parts of a workbook
MAX_ZIP_RATIO = 100  # uncompressed / compressed of one part (sheet XML compresses ~5-20x)
ZIP_RATIO_FROM_BYTES = 1024 * 1024  # parts smaller than this are never a bomb
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as int8
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


class RejectedFile(ContractError):
    """A landed file rejected whole: ``reason`` is its quarantine reason code, ``line`` where."""

    def __init__(self, message: str, line: int | None = None, reason: str = "contract_violation") -> None:
        super().__init__(message, line)
        self.reason = reason


def one_line(exc: BaseException, limit: int = 240) -> str:
    """The first line of an exception's message (library errors append hints and stacks)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decode(path: Path, encoding: str, name: str) -> bytes:
    """The file as UTF-8 bytes without BOM; an undecodable byte names its line."""
    data = path.read_bytes()
    codec = "utf-8-sig" if encoding.startswith("utf-8") else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RejectedFile(
            f"{name}: line {line}: not valid {encoding} (byte {data[exc.start]:#04x} at "
            f"offset {exc.start}); rule: csv.encoding",
            line,
        ) from exc
    if not text.strip():
        raise RejectedFile(f"{name}: line 1: the file is empty; rule: file", 1, "empty_file")
    return text.encode("utf-8")


def _bytes_series(data: bytes, dtype: pa.DataType = pa.uint8()) -> pl.Series:
    """``data`` as a Polars series of bytes (no copy)."""
    return pl.Series(pl.from_arrow(pa.Array.from_buffers(dtype, len(data), [None, pa.py_buffer(data)])))


def _outside_quotes(positions: pl.Series, quotes: pl.Series) -> pl.Series:
    """The positions not inside a quoted field (an even number of quote characters before them)."""
    return positions.filter(quotes.search_sorted(positions) % 2 == 0)


def _csv_records(data: bytes, c: Contract, name: str) -> pl.Series | None:
    """Physical line of each data record, after checking that no record is cut short.

    Rejects a quoted field left open at the end, a last line without a line break (when the
    contract says ``csv.final_newline: required``) and a record with another field count than
    the header (Polars would pad a short row with nulls). Blank lines are not records.
    """
    s = _bytes_series(data)
    quote = (c.quote or "").encode()
    quotes = (s == quote[0]).arg_true().cast(pl.Int64) if len(quote) == 1 else pl.Series([], dtype=pl.Int64)
    if quotes.len() % 2:
        line = data.count(b"\n", 0, quotes[-1]) + 1
        raise RejectedFile(
            f"{name}: line {line}: a quoted field opened here is still open at the end of the file "
            "(a truncated transfer?); rule: csv.quote",
            line,
            "truncated_file",
        )
    newlines = (s == ord("\n")).arg_true().cast(pl.Int64)
    ends = _outside_quotes(newlines, quotes)
    if not data.endswith(b"\n"):
        if c.final_newline:
            line = newlines.len() + 1
            raise RejectedFile(
                f"{name}: line {line}: the last line does not end with a line break, the file is cut short "
                f"(contract {c.name} requires one); rule: csv.final_newline",
                line,
                "truncated_file",
            )
        ends = ends.append(pl.Series([len(data)], dtype=pl.Int64))
    delimiter = c.delimiter.encode()
    if len(delimiter) != 1 or ends.len() == 0:
        return None  # Polars refuses such a delimiter itself
    starts = pl.concat([pl.Series([0], dtype=pl.Int64), ends.head(-1) + 1])
    delims = _outside_quotes((s == delimiter[0]).arg_true().cast(pl.Int64), quotes)
    records = pl.DataFrame(
        {
            "line": newlines.search_sorted(starts).cast(pl.Int64) + 1,
            "fields": (delims.search_sorted(ends) - delims.search_sorted(starts)).cast(pl.Int64) + 1,
            "length": ends - starts,
            "first": s.gather(starts.clip(upper_bound=max(len(data) - 1, 0))),
        }
    )
    header = records["fields"][0]
    blank = (pl.col("length") == 0) | ((pl.col("length") == 1) & (pl.col("first") == ord("\r")))
    body = records.slice(1).with_row_index("i")
    bad = body.filter(~blank & (pl.col("fields") != header))
    if bad.height:
        i, line, fields = bad["i"][0], bad["line"][0], bad["fields"][0]
        if i == body.height - 1 and fields < header:
            raise RejectedFile(
                f"{name}: line {line}: the last row has {fields} of the header's {header} fields, it is cut short "
                "(a truncated transfer?); rule: csv.fields",
                line,
                "truncated_file",
            )
        raise RejectedFile(f"{name}: line {line}: {fields} fields, the header has {header}; rule: csv.fields", line)
    return body["line"]


def _read_csv(path: Path, c: Contract, name: str) -> pl.DataFrame:
    data = _decode(path, c.encoding, name)
    lines = _csv_records(data, c, name)
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            separator=c.delimiter,
            quote_char=c.quote or None,
            infer_schema=False,
            null_values=[""],
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise RejectedFile(f"{name}: not parseable as CSV per contract {c.name}: {one_line(exc)}; rule: csv") from exc
    if lines is not None and lines.len() == frame.height:  # physical lines, also after quoted line breaks
        return frame.with_columns(lines.alias(LINE))
    return frame.with_row_index(LINE, offset=2)


def _read_xlsx(path: Path, c: Contract, name: str) -> pl.DataFrame:
    _check_zip(path, name)
    try:
        frame = pl.read_excel(path, sheet_name=c.sheet, engine="calamine", infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own types
        raise RejectedFile(
            f"{name}: sheet {c.sheet!r} not readable per contract {c.name}: {one_line(exc)}; rule: xlsx.sheet"
        ) from exc
    return frame.with_row_index(LINE, offset=2)


def _check_zip(path: Path, name: str) -> None:
    """An XLSX file is a zip: its declared sizes are checked before anything is decompressed."""
    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RejectedFile(
            f"{name}: not an XLSX workbook (not a readable zip: {one_line(exc)}); rule: xlsx", None, "unreadable_file"
        ) from exc
    total = sum(p.file_size for p in parts)
    if total > MAX_XLSX_BYTES:
        raise RejectedFile(
            f"{name}: the workbook unpacks to {total:,} bytes, over the limit of {MAX_XLSX_BYTES:,}; rule: xlsx.size",
            None,
            "file_too_large",
        )
    for p in parts:
        if p.file_size >= ZIP_RATIO_FROM_BYTES and p.file_size > MAX_ZIP_RATIO * max(p.compress_size, 1):
            raise RejectedFile(
                f"{name}: part {p.filename} unpacks {p.compress_size:,} bytes to {p.file_size:,} "
                f"(over {MAX_ZIP_RATIO}x: a zip bomb?); rule: xlsx.zip",
                None,
                "zip_bomb",
            )


def _depth_walk(steps: pl.Series) -> pl.Series:
    """Nesting depth after each bracket (+1 / -1), never below 0 (a stray closer does not hide depth)."""
    total = steps.cast(pl.Int32).cum_sum()
    return total - total.clip(upper_bound=0).cum_min()


def _check_depth(data: bytes, name: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH before any parser sees it.

    Fast bound: every bracket counts, also inside strings. Only when it exceeds the limit is the
    exact depth computed (brackets inside strings left out) and the line found.
    """
    brackets = data.translate(None, _NOT_BRACKETS)
    top = _depth_walk(_bytes_series(brackets.translate(_BRACKETS), pa.int8())).max() if brackets else 0
    if cast(int, top) <= MAX_JSON_DEPTH:  # an Int32 series: its max is an int
        return
    plain = data.replace(b"\\\\", b"  ").replace(b'\\"', b"  ")  # escapes out: every '"' left opens or closes
    s = _bytes_series(plain)
    at = _outside_quotes(s.is_in(list(b"[]{}")).arg_true().cast(pl.Int64), (s == ord('"')).arg_true().cast(pl.Int64))
    steps = pl.select(pl.when(s.gather(at).is_in(list(b"[{"))).then(1).otherwise(-1)).to_series()
    deep = (_depth_walk(steps) > MAX_JSON_DEPTH).arg_true()
    if deep.len():
        line = plain.count(b"\n", 0, at[deep[0]]) + 1
        raise RejectedFile(
            f"{name}: line {line}: JSON nested deeper than {MAX_JSON_DEPTH} levels; rule: json.depth",
            line,
            "json_too_deep",
        )


def _read_json(path: Path, c: Contract, name: str) -> pl.DataFrame:
    data = _decode(path, c.encoding, name)
    _check_depth(data, name)
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise RejectedFile(f"{name}: line {exc.lineno}: not valid JSON: {exc.msg}; rule: json", exc.lineno) from exc
    records = doc.get(c.json_records_path) if c.json_records_path and isinstance(doc, dict) else doc
    if not isinstance(records, list):
        where = f"key {c.json_records_path!r}" if c.json_records_path else "top level"
        raise RejectedFile(f"{name}: line 1: expected an array of records at {where}; rule: json", 1)
    if not records:
        return pl.DataFrame().with_row_index(LINE, offset=1)
    try:  # Polars' JSON reader refuses a record whose value types differ (from_dicts would null them)
        frame = pl.read_json(io.BytesIO(json.dumps(records).encode("utf-8")), infer_schema_length=None)
    except pl.exceptions.PolarsError as exc:
        raise RejectedFile(f"{name}: records not readable per contract {c.name}: {one_line(exc)}; rule: json") from exc
    return frame.with_row_index(LINE, offset=1)


def _read_jsonl(path: Path, c: Contract, name: str) -> pl.DataFrame:
    data = _decode(path, c.encoding, name)
    _check_depth(data, name)
    frame = _ndjson_sampled(data, c)
    if frame is None:
        try:
            frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        except pl.exceptions.PolarsError as exc:
            raise RejectedFile(
                f"{name}: not valid JSON lines per contract {c.name}: {one_line(exc)}; rule: json"
            ) from exc
    return frame.with_row_index(LINE, offset=1)


def _ndjson_sampled(data: bytes, c: Contract) -> pl.DataFrame | None:
    """JSON lines read in one pass with the types of the first ``JSON_SAMPLE_RECORDS`` records, when
    that is provably what inferring them from every record gives; else None.

    It is when every column the contract reads was seen as text or as Int64: a later value of
    another type makes Polars raise for an Int64 column, a text column takes any value as the text
    full inference gives it, and only keys first seen later (which no rule reads) are left out.
    """
    try:
        frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=JSON_SAMPLE_RECORDS)
    except pl.exceptions.PolarsError:
        return None
    schema = frame.schema
    return frame if all(schema.get(col) in (pl.String, pl.Int64) for col in c.source_columns) else None


def _read_parquet(path: Path, c: Contract, name: str) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except pl.exceptions.PolarsError as exc:
        raise RejectedFile(
            f"{name}: not a readable Parquet file: {one_line(exc)}; rule: parquet", None, "unreadable_file"
        ) from exc
    return frame.with_row_index(LINE, offset=1)


READERS = {
    "csv": _read_csv,
    "xlsx": _read_xlsx,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "parquet": _read_parquet,
}


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every non-text column as text; timestamps as ISO-8601 with their zone, nested values as JSON."""
    exprs = []
    for name, dtype in frame.schema.items():
        if name == LINE or dtype == pl.String:
            continue
        if isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f%z" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.f"
            exprs.append(pl.col(name).dt.to_string(fmt))
        elif dtype.is_nested():
            json_text = pl.struct(pl.col(name).alias("v")).struct.json_encode()
            exprs.append(json_text.str.strip_prefix('{"v":').str.strip_suffix("}").alias(name))
        else:
            exprs.append(pl.col(name).cast(pl.String))
    return frame.with_columns(exprs) if exprs else frame


def read_landed(path: Path, contract: Contract, name: str | None = None, *, raw_json: bool = True) -> pl.DataFrame:
    """Canonical text columns + ``line_number`` + ``raw_row`` for one landed file.

    ``name`` is how messages call the file (default: ``path``). ``raw_json=False`` leaves
    ``raw_row`` a struct of the landed texts, for a caller that encodes (:func:`raw_json`) only the
    rows it quarantines. Raises :class:`RejectedFile` when the file cannot be read whole through
    the contract; never any other error (but MemoryError).
    """
    name = name or str(path)
    frame = read_text(path, contract, name)
    try:
        return map_files([frame], contract, raw_json=raw_json).drop(FILE)
    except MemoryError:
        raise
    except (Exception, pl.exceptions.PanicException) as exc:
        raise unreadable(name, contract, exc) from exc


def read_text(path: Path, contract: Contract, name: str) -> pl.DataFrame:
    """A landed file's columns as its reader gives them, checked to hold every column the contract reads.

    The first half of :func:`read_landed`: :func:`map_files` makes them canonical, for many files
    at once. Raises :class:`RejectedFile` (never another error but MemoryError).
    """
    try:
        if path.stat().st_size == 0:
            raise RejectedFile(f"{name}: line 1: the file is empty; rule: file", 1, "empty_file")
        frame = READERS[contract.format](path, contract, name)
    except (RejectedFile, MemoryError):
        raise
    except (Exception, pl.exceptions.PanicException) as exc:
        raise unreadable(name, contract, exc) from exc
    _require_columns(frame, contract, name)
    return frame


def unreadable(name: str, contract: Contract, exc: BaseException) -> RejectedFile:
    """The rejection of a file whose reading or mapping failed in a way no rule names."""
    return RejectedFile(
        f"{name}: not readable per contract {contract.name}: {type(exc).__name__}: {one_line(exc)}; "
        f"rule: {contract.format}",
        None,
        "unreadable_file",
    )


def _require_columns(frame: pl.DataFrame, contract: Contract, name: str) -> None:
    present = set(frame.columns)
    needed = {src: f"{src} ({field})" for field, src in contract.columns.items()}
    for col in contract.source_columns:
        needed.setdefault(col, f"{col} (named by a derive or exclude rule)")
    missing = [what for col, what in needed.items() if col not in present]
    if missing:
        header = sorted(present - {LINE})
        raise RejectedFile(
            f"{name}: line 1: column(s) {', '.join(missing)} required by contract "
            f"{contract.name} not found; the file has {header}; rule: columns",
            1,
        )


def map_files(
    frames: list[pl.DataFrame], contract: Contract, *, raw_json: bool = True, positions: list[int] | None = None
) -> pl.DataFrame:
    """Files' columns (:func:`read_text`, one contract) -> canonical text columns + ``raw_row``, in one pass.

    Rows keep their files' order; column ``FILE`` says which file each came from (its index in
    ``frames``, or in ``positions``). Files with the same columns are made text together, and the
    contract's rules run once over all of them (a row position counts within its file).
    """
    at = positions or list(range(len(frames)))
    groups: dict[tuple, list[int]] = {}
    for i, frame in enumerate(frames):
        if frame.height:
            groups.setdefault(tuple(frame.schema.items()), []).append(i)
    parts = [_stacked([frames[i] for i in group], [at[i] for i in group]) for group in groups.values()]
    if not parts:  # no rows at all: the first file's columns
        parts = [_as_text(frames[0]).with_columns(pl.col(LINE).cast(pl.Int64), pl.lit(None, pl.UInt32).alias(FILE))]
    frame = pl.concat(parts, how="diagonal") if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        frame = frame.sort(FILE, maintain_order=True)
    return _mapped(frame, contract, raw_json)


def _stacked(frames: list[pl.DataFrame], files: list[int]) -> pl.DataFrame:
    """Frames with the same columns, one under the other, as text, with ``FILE`` and ``line_number`` as Int64."""
    heights = pl.Series([f.height for f in frames], dtype=pl.UInt32)
    file = pl.Series(FILE, files, dtype=pl.UInt32).repeat_by(heights).explode()
    stacked = pl.concat(frames, how="vertical", rechunk=False) if len(frames) > 1 else frames[0]
    return _as_text(stacked).with_columns(pl.col(LINE).cast(pl.Int64), file)


def _mapped(frame: pl.DataFrame, contract: Contract, as_json: bool = True) -> pl.DataFrame:
    """Text columns of files (with ``FILE``) -> canonical text columns (mapped, derived, defaulted, value-mapped)."""
    frame = derived_columns(frame, contract, within=[FILE])
    sources = contract.source_columns
    raw = pl.struct([pl.col(s) for s in sources])
    raw = (raw_json(raw) if as_json else raw).alias(RAW)
    blank = _has_blanks(frame, list(dict.fromkeys(contract.columns.values())))
    # blank cells: missing (a column without any is taken as it is, not copied)
    mapped = [(text(src) if blank[src] else pl.col(src)).alias(field) for field, src in contract.columns.items()]
    derived = [pl.col(derived_name(d.field)).alias(d.field) for d in contract.derive]
    defaults = [
        pl.lit(value, dtype=pl.String).alias(field)
        for field, value in contract.defaults.items()
        if field not in contract.columns
    ]
    extra = [excluded_by(contract)] if contract.exclude else []
    out = frame.select(pl.col(LINE), *mapped, *derived, *defaults, raw, *extra, pl.col(FILE))
    return map_values(out, contract)


def raw_json(raw: pl.Expr) -> pl.Expr:
    """A ``raw_row`` struct of landed texts as its JSON text (what ``read_landed`` gives by default)."""
    return raw.struct.json_encode()


def _has_blanks(frame: pl.DataFrame, columns: list[str]) -> dict[str, bool]:
    """Whether each text column holds a blank cell (empty or only whitespace)."""
    if not columns or frame.height == 0:
        return dict.fromkeys(columns, False)
    return frame.select([(pl.col(c).str.strip_chars() == "").any().alias(c) for c in columns]).row(0, named=True)


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
