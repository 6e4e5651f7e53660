"""Draft a contract from a sample file (``xborder contract init``).

The sample is read by the pipeline's own readers (:data:`pipelines.readers.READERS`), so what the
draft declares is what the load will do. Detected: the format (extension, then content), for text
files the encoding (BOM -> ``utf-8-sig``; valid UTF-8 -> ``utf-8``; else ``cp1252`` when a byte
0x80-0x9F occurs, ``latin-1`` when none does), the CSV delimiter (the one of ``, ; TAB |`` that
splits the first lines into the same number of fields, quoted text left out), the decimal mark and
thousands separator (from the columns whose every value looks like a number), and for sales the
timestamp format (the first of :data:`TIMESTAMP_FORMATS` that parses every non-empty value; day and
month ambiguity is noted) and whether it carries an offset. Columns are mapped to canonical fields
by name (normalised: case, accents, spaces and punctuation; :data:`SYNONYMS`).

The heuristics behind the spec's newer sections are simple and said in the draft's comments:
no event/line id column -> ``derive`` (``position_within`` the order column, a template for the
event id); country names instead of ISO codes -> ``country_format: name``; an id column whose
values carry a letter prefix on some rows (``C536379``) -> ``event_types.mode: id_prefix`` with
``default: order``; negative quantities -> ``negative_quantity``; SKU values without a digit where
the other SKUs have digits (``POST``, ``BANK CHARGES``) -> a commented ``exclude`` suggestion.

The YAML is written as text (a template with comments); every value from the file is quoted so
that it reads back as the same string and no file content can end a comment line.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from pipelines.contracts import CANONICAL_FIELDS, REQUIRED_FIELDS, Contract, ContractError
from pipelines.readers import LINE, READERS, RejectedFile, _as_text

INIT_FEEDS = ("sales", "catalogues")
SAMPLE_ROWS = 50_000  # rows the heuristics look at
SNIFF_CHARS = 64 * 1024  # text the delimiter is decided on
SNIFF_LINES = 20
DELIMITERS = (",", ";", "\t", "|")
BOM = b"\xef\xbb\xbf"
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Tried in order; the first that parses every non-empty value wins (``%m/%d`` and ``%d/%m`` are
# then compared, see :func:`detect_timestamp`). Offsets: ``%z`` (``+08:00``) or a literal ``Z``.
TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
)
# Normalised file column names (see :func:`normalise`) per canonical field, best first.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "sales": {
        "event_id": ("eventid", "transactionid", "eventno", "eventnumber", "id"),
        "event_type": ("eventtype", "type", "transactiontype", "status", "kind"),
        "event_ts": (
            "eventts",
            "eventtime",
            "eventtimestamp",
            "timestamp",
            "createdat",
            "placedat",
            "orderedat",
            "invoicedate",
            "orderdate",
            "ordertime",
            "transactiondate",
            "datetime",
            "date",
            "time",
        ),
        "order_id": (
            "orderid",
            "orderref",
            "orderreference",
            "orderno",
            "ordernumber",
            "invoiceno",
            "invoicenumber",
            "invoiceid",
            "invoice",
            "order",
        ),
        "line_id": ("lineid", "line", "lineno", "linenumber", "orderline", "orderlineid", "position"),
        "supplier_id": ("supplierid", "supplier", "suppliercode", "vendorid", "vendor", "vendorcode"),
        "supplier_sku": ("suppliersku", "sku", "skucode", "stockcode", "productcode", "itemcode", "articleno"),
        "quantity": ("quantity", "qty", "units", "quantityordered"),
        "unit_price": ("unitprice", "price", "itemprice", "priceperunit"),
        "currency": ("currency", "currencycode", "ccy"),
        "discount": ("discount", "discountamount"),
        "ship_to_country": (
            "shiptocountry",
            "shipcountry",
            "shippingcountry",
            "deliverycountry",
            "destinationcountry",
            "country",
            "countrycode",
        ),
        "ship_to_region": ("shiptoregion", "shipregion", "shippingregion", "region", "province", "state", "county"),
    },
    "catalogues": {
        "supplier_sku": (
            "suppliersku",
            "sku",
            "skucode",
            "stockcode",
            "itemcode",
            "itemno",
            "articleno",
            "articlenumber",
            "artikelnummer",
            "artikelcode",
            "artikel",
            "referencia",
            "reference",
            "codicearticolo",
            "productcode",
            "partnumber",
        ),
        "gtin": ("gtin", "ean", "eancode", "codeean", "ean13", "gtin13", "barcode", "upc"),
        "title": (
            "title",
            "name",
            "productname",
            "description",
            "bezeichnung",
            "descripcion",
            "designation",
            "descrizione",
            "omschrijving",
        ),
        "brand": ("brand", "marke", "marca", "marque", "marchio", "merk", "manufacturer"),
        "category": ("category", "warengruppe", "categoria", "categorie", "productgroup", "kategorie"),
        "hs_code": (
            "hscode",
            "hs",
            "hs6",
            "tariffcode",
            "commoditycode",
            "zolltarifnummer",
            "zolltarif",
            "codigoarancelario",
            "codesh",
            "codicedoganale",
            "gncode",
            "cncode",
        ),
        "country_of_origin": (
            "countryoforigin",
            "origincountry",
            "origin",
            "coo",
            "ursprungsland",
            "ursprung",
            "paisdeorigen",
            "paysdorigine",
            "paesediorigine",
            "landvanoorsprong",
            "country",
        ),
        "unit_price": (
            "unitprice",
            "price",
            "preis",
            "preisnetto",
            "precio",
            "prix",
            "prixunitaireht",
            "prezzo",
            "prijs",
            "netprice",
        ),
        "currency": ("currency", "currencycode", "ccy", "wahrung", "moneda", "devise", "valuta"),
        "unit_weight": (),  # WEIGHT_NAMES x WEIGHT_SUFFIXES
    },
}
WEIGHT_NAMES = ("unitweight", "weight", "netweight", "gewicht", "peso", "poids")
WEIGHT_SUFFIXES = {"": None, "kg": "kg", "g": "g", "gr": "g", "grams": "g", "gramm": "g", "lb": "lb", "lbs": "lb"}
UNIT_TOKENS = {"kg": "kg", "g": "g", "gr": "g", "gram": "g", "grams": "g", "gramm": "g", "lb": "lb", "lbs": "lb"}
# Fields whose values are codes, ids or dates: their dots and commas say nothing about the decimal mark.
NOT_NUMBERS = {"gtin", "hs_code", "supplier_sku", "event_id", "order_id", "line_id", "supplier_id", "event_ts"}
EVENT_WORDS = {
    "order": ("PAID", "ORDER", "ORDERED", "PLACED", "SALE", "SOLD", "PURCHASE", "PURCHASED"),
    "cancel": ("CANCEL", "CANCELLED", "CANCELED", "CANCELLATION", "VOID", "VOIDED"),
    "return": ("RETURN", "RETURNED", "REFUND", "REFUNDED"),
    "credit": ("CREDIT", "CREDITNOTE", "CREDITED"),
}
PREFIX_KINDS = {"O": "order", "C": "cancel", "R": "return"}  # every id prefixed (O-, C-, R-)
NUMERIC = r"^[+-]?[0-9]+(?:[.,' \u00a0\u202f\u2019][0-9]+)*$"
PLAIN = re.compile(r"\w[\w .()/+-]*(?<! )")
LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]")
QUOTED = re.compile(r'"(?:[^"]|"")*"')
EXAMPLE_CHARS = 60


@dataclass(frozen=True)
class TimestampGuess:
    """How the event timestamps are written."""

    format: str  # strptime, or "native" for typed timestamps
    offset: bool  # values carry their offset (or Z): the timezone does not matter
    ambiguous_with: str | None = None  # another format that parses every value too (day/month)
    example: str | None = None


@dataclass
class Sample:
    """A sample file as read: every column as text, plus what reading it needed."""

    path: Path
    format: str
    frame: pl.DataFrame  # text columns, no line number
    schema: dict[str, pl.DataType]  # the columns' types as read (typed formats)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    records_path: str | None = None
    delimiter_note: str | None = None
    sheet_note: str | None = None


@dataclass
class Draft:
    """A drafted contract: its YAML text and what was detected and left open."""

    text: str
    name: str
    feed: str
    format: str
    encoding: str | None
    delimiter: str | None
    decimal: str
    thousands: str | None
    columns: dict[str, str]  # canonical field -> file column
    unmatched: list[str]  # file columns no field matched
    derive: dict[str, dict[str, Any]] = field(default_factory=dict)
    timestamp: TimestampGuess | None = None
    event_types: dict[str, Any] = field(default_factory=dict)
    country_format: str | None = None
    exclude_candidates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what load_contract would refuse
    todos: dict[str, str] = field(default_factory=dict)  # contract key -> what to decide
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every required part was detected (the TODOs left are reviews, not gaps)."""
        return not self.missing


# --- detection ---------------------------------------------------------------------------------


def normalise(name: str) -> str:
    """A column name for matching: accents, case, spaces and punctuation dropped (``Währung`` -> ``wahrung``)."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]", "", plain)


def detect_format(path: Path, head: bytes) -> str:
    """csv | json | jsonl | xlsx | parquet, from the extension, else from the first bytes."""
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        if head.startswith(b"PAR1"):
            fmt = "parquet"
        elif head.startswith(b"PK\x03\x04"):
            fmt = "xlsx"
        elif head.lstrip(BOM + b" \t\r\n").startswith((b"{", b"[")):
            fmt = "json"
        else:
            fmt = "csv"
    return fmt


def detect_encoding(data: bytes) -> str:
    """utf-8-sig (BOM), utf-8 (valid UTF-8, ASCII too), else cp1252 when a byte 0x80-0x9F occurs, else latin-1.

    Bytes 0x80-0x9F are printable only in cp1252 (``€``, ``–``, ``“``); without them cp1252 and
    latin-1 read the file alike. Bytes cp1252 leaves undefined (0x81, 0x8D, ...) mean latin-1.
    """
    if data.startswith(BOM):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\x80-\x9f]", data):
        try:
            data.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"
    return "latin-1"


def detect_delimiter(text: str) -> tuple[str, str | None]:
    """The delimiter of ``, ; TAB |`` that splits the first lines alike, and a note when unsure.

    Quoted text is left out first (a quoted ``;`` or line break does not count). Among the
    candidates that give every line the same count (> 0), the one with most fields wins.
    """
    head = text[:SNIFF_CHARS]
    plain = QUOTED.sub('""', head)
    lines = [line for line in plain.splitlines() if line.strip()]
    if len(head) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sniff window
    lines = lines[:SNIFF_LINES]
    counts = {d: [line.count(d) for line in lines] for d in DELIMITERS}
    consistent = [d for d in DELIMITERS if counts[d] and counts[d][0] > 0 and len(set(counts[d])) == 1]
    if consistent:
        return max(consistent, key=lambda d: counts[d][0]), None
    header = {d: (counts[d][0] if counts[d] else 0) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: header[d])
    if header[best] == 0:
        return ",", "the first lines hold no , ; TAB or | outside quotes: one column?"
    return best, f"{best!r} is the header's most frequent delimiter, but the first lines split unevenly on it"


def detect_numbers(frame: pl.DataFrame, columns: list[str]) -> tuple[str, str | None, str | None]:
    """(decimal mark, thousands separator or None, a note when unsure) from numeric-looking columns.

    A column counts when every non-empty value looks like a number. A mark followed by other
    than three digits (``12,50``, ``0,125``) or after a grouped number (``1.234,50``) is a decimal
    mark; the other mark grouping digits in threes (``1.234``) is then the thousands separator.
    """
    values = []
    for name in columns:
        text = frame[name].str.strip_chars()
        text = text.filter(text.is_not_null() & (text != ""))
        if text.len() and text.str.contains(NUMERIC).all():
            values.append(text)
    if not values:
        return ".", None, None
    numbers = pl.concat(values)

    def votes(point: str, group: str) -> int:
        p, g = re.escape(point), re.escape(group)
        plain = rf"[0-9]+{p}(?:[0-9]{{1,2}}|[0-9]{{4,}})|0{p}[0-9]+"  # 12,50  1,2345  0,125
        grouped = rf"[0-9]{{1,3}}(?:{g}[0-9]{{3}})+{p}[0-9]+"  # 1.234,50
        pattern = rf"^[+-]?(?:{plain}|{grouped})$"
        return int(numbers.str.contains(pattern).sum())

    comma, point = votes(",", "."), votes(".", ",")
    decimal = "," if comma > point else "."
    note = None
    if comma and point:
        note = f"numbers with a decimal comma ({comma}) and a decimal point ({point}) both occur; chose {decimal!r}"
    other = "." if decimal == "," else ","
    d = re.escape(decimal)
    thousands = None
    for mark, pattern in ((other, re.escape(other)), (" ", "[ \u00a0\u202f]"), ("'", "['\u2019]")):
        if numbers.str.contains(rf"^[+-]?[0-9]{{1,3}}(?:{pattern}[0-9]{{3}})+(?:{d}[0-9]+)?$").any():
            thousands = mark
            break
    if thousands == other and not (comma or point):
        note = (
            f"only numbers like 1{other}250 occur: {other!r} is read as a thousands separator; "
            f"if it is a decimal mark, set csv.decimal: {other!r} and drop csv.thousands"
        )
    return decimal, thousands, note


def _parses_all(text: pl.Series, fmt: str) -> pl.Series | None:
    zone = "UTC" if "%z" in fmt else None
    parsed = text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone=zone)
    return parsed if parsed.null_count() == 0 else None


def _span(parsed: pl.Series) -> int:
    low, high = parsed.min(), parsed.max()
    return int((high - low).total_seconds()) if isinstance(low, datetime) and isinstance(high, datetime) else 0


def detect_timestamp(values: pl.Series, dtype: pl.DataType | None = None) -> TimestampGuess | None:
    """How timestamps are written: ``native`` for a typed column (``dtype``, as read), else the first
    of TIMESTAMP_FORMATS that parses every non-empty text value; None when none does.

    When both ``%m/%d`` and ``%d/%m`` parse every value, the reading that keeps the sample's dates
    closest together (a daily export spans days, not months) wins, and ``ambiguous_with`` names
    the other.
    """
    if isinstance(dtype, pl.Datetime):
        return TimestampGuess("native", offset=dtype.time_zone is not None)
    text = values.cast(pl.String).str.strip_chars()
    text = text.filter(text.is_not_null() & (text != ""))
    if text.len() == 0:
        return None
    example = str(text[0])
    for fmt in TIMESTAMP_FORMATS:
        parsed = _parses_all(text, fmt)
        if parsed is None:
            continue
        offset = "%z" in fmt or fmt.endswith("Z")
        swapped = _swap_day_month(fmt)
        other = _parses_all(text, swapped) if swapped else None
        if other is None:
            return TimestampGuess(fmt, offset, None, example)
        if _span(other) < _span(parsed):
            return TimestampGuess(swapped, offset, fmt, example)  # type: ignore[arg-type]
        return TimestampGuess(fmt, offset, swapped, example)
    return None


def _swap_day_month(fmt: str) -> str | None:
    if "%m/%d" in fmt:
        return fmt.replace("%m/%d", "%d/%m")
    if "%d/%m" in fmt:
        return fmt.replace("%d/%m", "%m/%d")
    return None


def weight_unit(column: str) -> str | None:
    """kg, g or lb as a weight column's name says (``Gewicht (g)``, ``weight_kg``, ``UnitWeightLb``)."""
    tokens = [t.lower() for t in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", column)]
    return next((UNIT_TOKENS[t] for t in reversed(tokens) if t in UNIT_TOKENS), None)


def map_columns(columns: list[str], feed: str) -> dict[str, str]:
    """canonical field -> file column, by normalised name (the field's own name, then its synonyms)."""
    by_name: dict[str, str] = {}
    for col in columns:
        by_name.setdefault(normalise(col), col)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for fld in CANONICAL_FIELDS[feed]:
        names = [normalise(fld), *SYNONYMS[feed][fld]]
        if fld == "unit_weight":
            names += [base + suffix for base in WEIGHT_NAMES for suffix in WEIGHT_SUFFIXES]
        for name in names:
            hit = by_name.get(name)
            if hit is not None and hit not in taken:
                mapping[fld] = hit
                taken.add(hit)
                break
    return mapping


def guess_from_path(path: Path) -> tuple[str | None, str | None, str | None]:
    """(feed, channel, supplier) from a landing path: ``sales/<channel>/...`` or ``catalogues/<supplier>/...``."""
    parts = path.parts[:-1]
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "sales":
            return "sales", (parts[i + 1] if i + 1 < len(parts) else None), None
        if parts[i] == "catalogues":
            return "catalogues", None, (parts[i + 1] if i + 1 < len(parts) else None)
    return None, None, None


# --- reading -----------------------------------------------------------------------------------


def _records_path(text: str) -> tuple[str | None, bool]:
    """(key of the records array in a JSON document, is JSON lines)."""
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        return None, exc.msg == "Extra data"
    except RecursionError:
        return None, False
    if isinstance(doc, dict):
        arrays = {
            k: len(v) for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)
        }
        if arrays:
            return max(arrays, key=lambda k: arrays[k]), False
    return None, False


def read_sample(path: Path) -> Sample:
    """Read a sample with the pipeline's readers after detecting how; every column as text."""
    data = path.read_bytes()
    if not data.strip():
        raise ContractError(f"{path}: the sample is empty")
    fmt = detect_format(path, data[:8])
    encoding = delimiter = sheet = records_path = delimiter_note = sheet_note = None
    if fmt in {"csv", "json", "jsonl"}:
        encoding = detect_encoding(data)
    if fmt == "json":
        records_path, lines = _records_path(data.decode(encoding or "utf-8-sig", errors="replace"))
        if lines:
            fmt = "jsonl"
    if fmt == "csv":
        delimiter, delimiter_note = detect_delimiter(data.decode(encoding or "utf-8").lstrip("\ufeff"))
    if fmt == "xlsx":
        sheet, sheet_note = _first_sheet(path)
    contract = Contract(
        name="draft",
        path=path,
        feed="sales",
        format=fmt,
        file_glob="*",
        columns={},
        delimiter=delimiter or ",",
        encoding=encoding or "utf-8",
        sheet=sheet,
        json_records_path=records_path,
    )
    try:
        frame = READERS[fmt](path, contract, str(path))
    except RejectedFile as exc:
        raise ContractError(f"the sample cannot be read as {fmt}: {exc}") from exc
    except Exception as exc:  # a corrupt Parquet or XLSX file raises the library's own types
        raise ContractError(f"{path}: the sample cannot be read as {fmt}: {type(exc).__name__}: {exc}") from exc
    frame = frame.drop(LINE).head(SAMPLE_ROWS)
    if frame.width == 0:
        raise ContractError(f"{path}: the sample has no columns")
    schema = dict(frame.schema)
    return Sample(
        path, fmt, _as_text(frame), schema, encoding, delimiter, sheet, records_path, delimiter_note, sheet_note
    )


def _first_sheet(path: Path) -> tuple[str | None, str | None]:
    try:
        import fastexcel
    except ImportError as exc:  # pragma: no cover - fastexcel is in requirements.lock
        raise ContractError("reading XLSX needs fastexcel (pip install fastexcel)") from exc
    try:
        names = list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:
        raise ContractError(f"{path}: not a readable XLSX workbook: {exc}") from exc
    if not names:
        raise ContractError(f"{path}: the workbook has no sheets")
    note = f"the workbook has sheets {names}: drafted from the first" if len(names) > 1 else None
    return names[0], note


# --- heuristics over the values ----------------------------------------------------------------


def _values(frame: pl.DataFrame, column: str) -> pl.Series:
    text = frame[column].str.strip_chars()
    return text.filter(text.is_not_null() & (text != ""))


def _country_names(values: pl.Series) -> list[str]:
    """Up to three values that are not 2-letter codes (empty when every value is one)."""
    names = values.filter(~values.str.contains(r"^[A-Za-z]{2}$"))
    return names.value_counts(sort=True)[values.name].head(3).to_list() if names.len() else []


def _id_prefixes(values: pl.Series) -> tuple[dict[str, int], bool]:
    """(letter prefix -> rows, whether the other rows are plain digits) when prefixes mark event types.

    Either some ids carry one of at most three letter prefixes and the rest are digits
    (``C536379`` next to ``536365``), or every id carries one of two to five prefixes (``O-1``,
    ``C-1``). Anything else (one shared prefix, many) is not an event marker: empty.
    """
    prefix = values.str.extract(r"^([A-Za-z]+[-_]?)[0-9]", 1)
    found = prefix.drop_nulls().value_counts(name="n")
    counts = dict(found.sort(["n", found.columns[0]], descending=[True, False]).iter_rows())
    if not counts:
        return {}, False
    digits = values.str.contains(r"^[0-9]+$")
    has = prefix.is_not_null()
    if (has | digits).all() and not has.all() and len(counts) <= 3:
        return counts, True
    if has.all() and 2 <= len(counts) <= 5:
        return counts, False
    return {}, False


def _event_values(values: pl.Series) -> dict[str, str | None]:
    """file value -> event type guessed from the word (None when no guess), for mode column."""
    out: dict[str, str | None] = {}
    for value in values.unique(maintain_order=True).head(20).to_list():
        word = normalise(value).upper()
        out[value] = next((kind for kind, words in EVENT_WORDS.items() if word in words), None)
    return out


def _fee_skus(values: pl.Series) -> list[str]:
    """SKU values without a digit, when most SKUs have one (postage, fees), most frequent first."""
    digit = values.str.contains(r"[0-9]")
    if values.len() == 0 or digit.mean() < 0.5:  # type: ignore[operator]
        return []
    counts = values.filter(~digit).value_counts(name="n")
    return counts.sort(["n", values.name], descending=[True, False])[values.name].head(12).to_list()


# --- YAML text ---------------------------------------------------------------------------------


def q(value: object) -> str:
    """One YAML scalar on one line: plain when that reads back the same, else double-quoted."""
    if isinstance(value, str):
        if PLAIN.fullmatch(value) and _reads_back(value):
            return value
        return yaml.safe_dump(value, default_style='"', allow_unicode=True, width=2**31 - 1).strip()
    text = yaml.safe_dump(value, width=2**31 - 1).strip()
    return text.removesuffix("...").strip()


def _reads_back(text: str) -> bool:
    try:
        return yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def flow(mapping: Mapping[str, object]) -> str:
    """A one-line YAML flow mapping (``{a: x, b: "y"}``); lists as flow sequences."""

    def one(v: object) -> str:
        if isinstance(v, dict):
            return flow(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(one(x) for x in v) + "]"
        return q(v)

    return "{" + ", ".join(f"{q(k)}: {one(v)}" for k, v in mapping.items()) + "}"


def comment(text: str) -> str:
    """Text safe inside a ``#`` comment: no line break can end it."""
    return LINE_BREAKS.sub(" ", text)


def _example(values: pl.Series) -> str:
    if values.len() == 0:
        return "(empty in the sample)"
    value = str(values[0])
    return "e.g. " + q(value if len(value) <= EXAMPLE_CHARS else value[:EXAMPLE_CHARS] + "...")


# --- the draft ---------------------------------------------------------------------------------


def draft_contract(
    path: Path,
    feed: str | None = None,
    channel: str | None = None,
    supplier: str | None = None,
    name: str | None = None,
    currency: str | None = None,
) -> Draft:
    """Draft a contract for ``path`` (feed guessed from a ``sales/`` or ``catalogues/`` path when not given)."""
    guessed_feed, guessed_channel, guessed_supplier = guess_from_path(path.resolve())
    feed = feed or guessed_feed
    if feed not in INIT_FEEDS:
        raise ContractError(
            f"{path}: say which feed the sample is (--feed sales or --feed catalogues); "
            "it is guessed only from a path under sales/ or catalogues/"
        )
    channel = channel or (guessed_channel if feed == "sales" else None)
    supplier = supplier or (guessed_supplier if feed == "catalogues" else None)
    sample = read_sample(path)
    frame = sample.frame
    columns = map_columns(frame.columns, feed)
    mapped = set(columns.values())
    numbers = [c for c in frame.columns if c not in {columns.get(f) for f in NOT_NUMBERS}]
    decimal, thousands, number_note = detect_numbers(frame, numbers)
    if name is None:
        name = channel if feed == "sales" and channel else f"{supplier or path.stem}_{sample.format}".lower()
    draft = Draft(
        text="",
        name=name,
        feed=feed,
        format=sample.format,
        encoding=sample.encoding,
        delimiter=sample.delimiter,
        decimal=decimal,
        thousands=thousands,
        columns=columns,
        unmatched=[c for c in frame.columns if c not in mapped],
        notes=[n for n in (sample.delimiter_note, sample.sheet_note) if n],
    )
    if number_note:
        draft.notes.append(number_note)
        draft.todos["csv.decimal"] = number_note
    currency = currency.strip().upper() if currency else None
    w = _Writer(draft, sample, channel, supplier, currency)
    draft.text = w.sales() if feed == "sales" else w.catalogues()
    return draft


class _Writer:
    """Builds the YAML text of a draft, recording detections, TODOs and gaps on it.

    A TODO is a comment line of its own just above the key it is about (``# TODO key: what to
    decide``); file content in comments is quoted (:func:`q`) and can never end the comment.
    """

    def __init__(
        self, draft: Draft, sample: Sample, channel: str | None, supplier: str | None, currency: str | None
    ) -> None:
        self.d, self.s = draft, sample
        self.channel, self.supplier, self.currency = channel, supplier, currency
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def note(self, text: str, indent: str = "") -> None:
        self.add(f"{indent}# {comment(text)}")

    def todo(self, key: str, message: str, indent: str = "") -> None:
        self.d.todos[key] = message
        self.note(f"TODO {key}: {message}", indent)

    def values(self, fld: str) -> pl.Series:
        return _values(self.s.frame, self.d.columns[fld])

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    # shared parts

    def head(self) -> None:
        d, s = self.d, self.s
        folder = "channels" if d.feed == "sales" else "catalogues"
        target = f"contracts/{folder}/{d.name}.yml"
        self.note(f"Draft contract from {s.path.name} (xborder contract init). Review every TODO, then save it")
        self.note(f"as {target} and check the sample against it:")
        self.note(f"  xborder contract check {s.path.name} --contract {target}")
        self.add(f"name: {q(d.name)}")
        self.add(f"description: {q(f'drafted from {s.path.name}')}  # say what this export is")
        self.add(f"feed: {d.feed}")

    def layout(self) -> None:
        d, s = self.d, self.s
        self.add(f"format: {d.format}")
        suffix = s.path.suffix
        self.add(f"file_glob: {q('*' + suffix if suffix and PLAIN.fullmatch(suffix[1:]) else '*')}")
        opts: dict[str, str] = {}
        if d.format == "csv" and d.delimiter:
            opts["delimiter"] = _dq(d.delimiter)
        if d.format == "csv" or d.decimal != "." or d.thousands:
            opts["decimal"] = _dq(d.decimal)
        if d.thousands:
            opts["thousands"] = _dq(d.thousands)
        if d.encoding and (d.format == "csv" or not d.encoding.startswith("utf-8")):
            opts["encoding"] = d.encoding
        if opts:
            if s.delimiter_note:
                self.todo("csv.delimiter", s.delimiter_note)
            if "csv.decimal" in d.todos:
                self.note(f"TODO csv.decimal: {d.todos['csv.decimal']}")
            if d.encoding == "latin-1":
                self.note("latin-1: no byte 0x80-0x9F occurs, so cp1252 would read this sample the same way")
            self.add("csv: {" + ", ".join(f"{k}: {v}" for k, v in opts.items()) + "}")
        if s.sheet is not None:
            if s.sheet_note:
                self.note(s.sheet_note)
            self.add(f"xlsx: {flow({'sheet': s.sheet})}")
        if s.records_path is not None:
            self.add(f"json: {flow({'records_path': s.records_path})}  # the document's array of records")

    def mapped_columns(self, gaps: dict[str, str | None]) -> None:
        """``columns:``; ``gaps``: unmapped field -> TODO (required) or None (optional); then unmatched columns."""
        d = self.d
        self.add("columns:")
        for fld in CANONICAL_FIELDS[d.feed]:
            if fld in d.columns:
                self.add(f"  {fld}: {q(d.columns[fld])}")
        for fld, message in gaps.items():
            if message:
                self.todo(fld, message, "  ")
        optional = [f for f, m in gaps.items() if m is None]
        if optional:
            self.note(f"no column matched (optional): {', '.join(optional)}", "  ")
        if d.unmatched:
            self.note(
                "not mapped (no canonical field matched these file columns; map one above, or leave it out):", "  "
            )
            for col in d.unmatched:
                self.note(f"  {q(col)}: {_example(_values(self.s.frame, col))}", "  ")

    def defaults(self, entries: dict[str, str], todos: dict[str, str]) -> None:
        if not entries and not todos:
            return
        self.add("defaults:")
        for key, message in todos.items():
            self.todo(f"defaults.{key}", message, "  ")
            self.add(f"  # {key}: ...")
        for key, value in entries.items():
            self.add(f"  {key}: {q(value)}")

    # sales

    def sales(self) -> str:
        d = self.d
        self.head()
        if self.channel:
            self.add(f"channel: {q(self.channel)}")
        else:
            d.missing.append("channel")
            self.todo("channel", "the channel name (its folder under landing/sales/): --channel NAME")
            self.add("# channel: ...")
        self.layout()
        self.mapped_columns(self.derive())
        if d.derive:
            ids = " or ".join(f for f in ("line_id", "event_id") if f in d.derive)
            self.note(f"the file has no {ids} column: built per row (review; see contracts/README.md)")
            self.add("derive:")
            for fld, rule in d.derive.items():
                self.add(f"  {fld}: {flow(rule)}")
            if "position_within" in d.derive.get("line_id", {}):
                self.note("positional line ids: identical rows of one file are two events, not a duplicate", "  ")
        self.country()
        self.timestamp()
        self.event_types()
        entries: dict[str, str] = {}
        todos: dict[str, str] = {}
        if "supplier_id" not in d.columns:
            if self.supplier:
                entries["supplier_id"] = self.supplier
            else:
                todos["supplier_id"] = "no supplier column: the supplier of every line (--supplier ID)"
        if "currency" not in d.columns:
            if self.currency:
                entries["currency"] = self.currency
            else:
                todos["currency"] = "no currency column: the currency of the prices (--currency CODE)"
        self.defaults(entries, todos)
        self.exclude()
        if "supplier_id" not in d.columns:
            self.note("products: {defaults: {...}, sku_map: ...} when no supplier catalogue describes this")
            self.note("  channel's products (origin, HS code, category, weight; see contracts/README.md)")
        return self.text()

    def derive(self) -> dict[str, str | None]:
        """Derived ids where the file has no column for them (on the draft); the other unmapped fields."""
        d = self.d
        order, line, event = (d.columns.get(f) for f in ("order_id", "line_id", "event_id"))

        def placeable(col: str | None) -> bool:
            return col is not None and "{" not in col and "}" not in col

        if line is None and order is not None:
            d.derive["line_id"] = {"position_within": [order]}
        if event is None and placeable(order) and (line is None or placeable(line)):
            d.derive["event_id"] = {"template": f"{{{order}}}-{{{line or 'line_id'}}}"}
        gaps: dict[str, str | None] = {}
        for fld in CANONICAL_FIELDS["sales"]:
            if fld in d.columns or fld in d.derive or fld in {"supplier_id", "currency", "event_type"}:
                continue  # supplier and currency: see defaults; the event type: event_types
            if fld not in REQUIRED_FIELDS["sales"]:
                gaps[fld] = None
                continue
            d.missing.append(fld)
            if fld == "event_id" and order is None:
                example = flow({"event_id": {"hash": list(self.s.frame.columns)}})
                gaps[fld] = f"no column matched (required): map one, or derive a content hash: derive: {example}"
            elif fld in {"order_id", "line_id"}:
                gaps[fld] = "no column matched (required): map the file's column, or derive it (derive:)"
            else:
                gaps[fld] = "no column matched (required): map the file's column here"
        return gaps

    def country(self) -> None:
        if "ship_to_country" not in self.d.columns:
            return
        names = _country_names(self.values("ship_to_country"))
        if names:
            self.d.country_format = "name"
            shown = ", ".join(q(n) for n in names)
            col = q(self.d.columns["ship_to_country"])
            self.note(f"{col} holds country names ({shown}), not ISO codes: resolved through reference/")
            self.add("country_format: name")

    def timestamp(self) -> None:
        d = self.d
        if "event_ts" not in d.columns:
            d.missing.append("timestamp.format")
            self.todo("timestamp", "no timestamp column matched: map columns.event_ts, then say its format")
            return
        col = d.columns["event_ts"]
        guess = detect_timestamp(self.s.frame[col], self.s.schema[col])
        self.add("timestamp:")
        if guess is None:
            d.missing.append("timestamp.format")
            values = self.values("event_ts")
            why = f"no known format parses every {q(col)} value ({_example(values)})" if values.len() else ""
            why = why or f"the sample has no {q(col)} values to tell the format by"
            self.todo("timestamp.format", f"{why}: a strptime pattern, or native for typed timestamps", "  ")
            self.add("  # format: ...")
            return
        d.timestamp = guess
        if guess.ambiguous_with:
            self.todo(
                "timestamp.format",
                f"{guess.ambiguous_with} parses every value too (day and month are ambiguous); chosen: the "
                f"reading that keeps the sample's dates closest together ({q(guess.example)} = "
                f"{_reading(guess.example, guess.format)})",
                "  ",
            )
        native = guess.format == "native"
        self.add("  format: native  # typed timestamps" if native else f"  format: {_dq(guess.format)}")
        if guess.offset:
            why = "the values end in Z (UTC)" if guess.format.endswith("Z") else "the values carry their offset"
            self.add(f"  timezone: UTC  # {why}")
        else:
            self.todo(
                "timestamp.timezone", "the values carry no offset: the zone they are in (e.g. Europe/London)", "  "
            )
            self.add("  timezone: UTC")

    def event_types(self) -> None:
        d = self.d
        self.add("event_types:")
        if "event_type" in d.columns:
            col: str | None = d.columns["event_type"]
            guesses = _event_values(self.values("event_type"))
            known = {k: v for k, v in guesses.items() if v}
            unknown = [k for k, v in guesses.items() if not v]
            d.event_types = {"mode": "column", "values": known}
            self.add(f"  mode: column  # {comment(q(col))} names the event type")
            if unknown:
                shown = ", ".join(q(u) for u in unknown)
                self.todo(
                    "event_types.values", f"{shown}: order, cancel, return or credit? (unlisted: quarantined)", "  "
                )
            self.add(f"  values: {flow(known)}")
            return
        col = d.columns.get("event_id")
        if col is None and "event_id" in d.derive:
            col = d.columns.get("order_id")  # the derived event id starts with the order id
        prefixes, mixed = _id_prefixes(_values(self.s.frame, col)) if col else ({}, False)
        negative = "quantity" in d.columns and bool(self.values("quantity").str.starts_with("-").any())
        if col and prefixes:
            self.id_prefix(col, prefixes, mixed)
            return
        d.event_types = {"mode": "negative_quantity", "negative_as": "cancel"}
        if negative:
            self.add("  mode: negative_quantity  # some quantities are negative")
            self.todo(
                "event_types.negative_as",
                "cancel or return (they name the original line), or credit (a standalone credit note)",
                "  ",
            )
        else:
            self.add("  mode: negative_quantity")
            self.todo("event_types", "the sample shows no cancellations: how does this channel mark them?", "  ")
        self.add("  negative_as: cancel")

    def id_prefix(self, col: str, prefixes: dict[str, int], mixed: bool) -> None:
        d = self.d
        if mixed:  # prefixed ids among plain ones: credit notes (C) or returns (R)
            known = {p: "credit" if p[0].upper() == "C" else "return" for p in prefixes if p[0].upper() in "CR"}
            why = "credit = a standalone credit note naming no original line; cancel or return when they name it"
        else:
            known = {p: PREFIX_KINDS[p[0].upper()] for p in prefixes if p[0].upper() in PREFIX_KINDS}
            why = "what each prefix marks (order, cancel, return or credit)"
        d.event_types = {"mode": "id_prefix", "prefixes": known}
        counts = ", ".join(f"{q(p)} {n} of {self.s.frame.height} rows" for p, n in prefixes.items())
        self.add(f"  mode: id_prefix  # {comment(f'{q(col)} values with a letter prefix: {counts}')}")
        self.todo("event_types.prefixes", why, "  ")
        unknown = [p for p in prefixes if p not in known]
        if unknown:
            shown = ", ".join(q(u) for u in unknown)
            self.todo("event_types.unknown_prefixes", f"{shown}: order, cancel, return, credit, or exclude", "  ")
        self.add(f"  prefixes: {flow(known)}")
        if mixed:
            d.event_types["default"] = "order"
            self.add("  default: order  # ids without a listed prefix")

    def exclude(self) -> None:
        d = self.d
        if "supplier_sku" not in d.columns:
            return
        fees = _fee_skus(self.values("supplier_sku"))
        if not fees:
            return
        d.exclude_candidates = fees
        col = d.columns["supplier_sku"]
        self.todo("exclude", f"these {q(col)} values have no digit, unlike the other SKUs: postage, fees? Review,")
        self.note("then uncomment (excluded rows are counted in the ledger, not quarantined):")
        self.note("exclude:")
        self.note(f"  - {flow({'rule': 'non_merchandise', 'column': col, 'values': fees})}")

    # catalogues

    def catalogues(self) -> str:
        d = self.d
        self.head()
        if self.supplier:
            self.add(f"suppliers: [{q(self.supplier)}]")
        else:
            self.todo("suppliers", "the supplier ids that send this layout (--supplier ID)")
            self.add("suppliers: []")
        self.layout()
        if "hs_code" in d.columns and self.values("hs_code").str.contains(r"^[0-9]{4}\.[0-9]{2}").any():
            self.add("hs_code_format: dotted  # HS codes written with a dot (0406.90)")
        gaps: dict[str, str | None] = {}
        for fld in CANONICAL_FIELDS["catalogues"]:
            if fld in d.columns or fld == "currency":
                continue
            if fld in REQUIRED_FIELDS["catalogues"]:
                d.missing.append(fld)
                gaps[fld] = "no column matched (required): map the file's column here"
            else:
                gaps[fld] = None
        self.mapped_columns(gaps)
        if "country_of_origin" in d.columns:
            names = _country_names(self.values("country_of_origin"))
            if names:
                shown = ", ".join(q(n) for n in names)
                self.todo("country_of_origin", f"values are not ISO 2-letter codes ({shown})")
        if "currency" not in d.columns:
            if self.currency:
                self.defaults({"currency": self.currency}, {})
            else:
                d.missing.append("currency")
                self.defaults(
                    {}, {"currency": "no currency column (required): the currency of the prices (--currency)"}
                )
        if "unit_weight" in d.columns:
            named = q(d.columns["unit_weight"])
            unit = weight_unit(d.columns["unit_weight"])
            if unit:
                self.add(f"units: {{weight: {unit}}}  # {comment(f'as the column name {named} says')}")
            else:
                self.todo("units.weight", f"the weight column's name {named} names no unit: kg, g or lb?")
                self.add("units: {weight: kg}")
        return self.text()


def _dq(value: object) -> str:
    """Always double-quoted (delimiters, decimal marks, strptime formats read best so)."""
    return yaml.safe_dump(str(value), default_style='"', allow_unicode=True, width=2**31 - 1).strip()


def _reading(example: str | None, fmt: str) -> str:
    try:
        return datetime.strptime(str(example), fmt.replace("%.f", ".%f")).strftime("%Y-%m-%d")
    except ValueError:
        return "?"
