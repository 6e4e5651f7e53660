"""Contracts: one YAML file per supplier layout, channel or master file (``contracts/``).

A contract says how to read a landed file (format, delimiter, decimal mark and thousands
separator, encoding, sheet, JSON shape), how its columns map to the canonical fields, and the
plausibility ceilings its rows are held to (``limits``, with defaults). Onboarding a new layout
is a new contract file, no code. Contracts are loaded with ``yaml.safe_load`` and checked on load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from pipelines.errors import UserFacingError

FORMATS = {"csv", "xlsx", "json", "jsonl", "parquet"}
ENCODINGS = {"utf-8", "utf-8-sig", "cp1252", "latin-1"}
FEEDS = {"catalogues", "sales", "suppliers"}
EVENT_TYPE_MODES = {"column", "negative_quantity", "id_prefix"}
# order | cancel | return (refer to an order line) | credit (a standalone negative line: valued as itself)
EVENT_TYPES = {"order", "cancel", "return", "credit"}
WAIT_DAYS_BOUND = 3650  # waiting.max_days: at most ten years
WEIGHT_UNITS = {"g": "0.001", "kg": "1", "lb": "0.45359237"}
THOUSANDS = {",", ".", " ", "'"}

CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "catalogues": (
        "supplier_sku",
        "gtin",
        "title",
        "brand",
        "category",
        "hs_code",
        "country_of_origin",
        "unit_price",
        "currency",
        "unit_weight",
    ),
    "sales": (
        "event_id",
        "event_type",
        "event_ts",
        "order_id",
        "line_id",
        "supplier_id",
        "supplier_sku",
        "quantity",
        "unit_price",
        "currency",
        "discount",
        "ship_to_country",
        "ship_to_region",
    ),
    "suppliers": ("supplier_id", "legal_name", "country", "vat_id", "currency"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "catalogues": ("supplier_sku", "title", "hs_code", "country_of_origin", "unit_price", "currency"),
    "sales": ("event_id", "event_ts", "order_id", "line_id", "quantity"),
    "suppliers": ("supplier_id", "legal_name", "country", "currency"),
}


# Text fields held to a maximum length and free of control characters (canonical names), and
# their default maximum lengths in characters (TEXT_LENGTH_DEFAULT for the others).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "catalogues": ("supplier_sku", "gtin", "title", "brand", "category", "hs_code", "country_of_origin", "currency"),
    "sales": (
        "event_id",
        "order_id",
        "line_id",
        "supplier_id",
        "supplier_sku",
        "currency",
        "ship_to_country",
        "ship_to_region",
    ),
    "suppliers": (),
}
TEXT_LENGTH_DEFAULT = 100
TEXT_LENGTHS = {"title": 500, "brand": 200, "category": 200, "ship_to_region": 200}
# Upper bounds of the ceilings themselves: what the warehouse types hold. quantity x unit weight
# (DECIMAL(12,4), < 10^8 kg) must fit DECIMAL(18,4), as must a line's value.
QUANTITY_BOUND = 1_000_000
MONEY_BOUND = Decimal("1e14")
LIMIT_FIELDS: dict[str, set[str]] = {
    "catalogues": {"max_unit_price", "max_text_length", "max_delist_share", "delist_min_products"},
    "sales": {"max_quantity", "max_unit_price", "max_line_value", "max_text_length"},
    "suppliers": set(),
}


class ContractError(UserFacingError, ValueError):
    """A contract file, or a landed file checked against it, is invalid (``line``: where)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Limits:
    """Plausibility ceilings of a contract's rows (contract section ``limits``; README, Contracts)."""

    max_quantity: int = 10_000
    max_unit_price: Decimal = Decimal("1000000")
    max_line_value: Decimal = Decimal("10000000")
    max_text_length: dict[str, int] = field(default_factory=dict)  # field -> characters (overrides)
    max_delist_share: Decimal = Decimal("0.5")
    delist_min_products: int = 20

    def text_length(self, name: str) -> int:
        """Maximum characters of text field ``name``."""
        return self.max_text_length.get(name, TEXT_LENGTHS.get(name, TEXT_LENGTH_DEFAULT))


@dataclass(frozen=True)
class Contract:
    """A parsed contract file."""

    name: str
    path: Path
    feed: str
    format: str
    file_glob: str
    columns: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)
    description: str = ""
    suppliers: tuple[str, ...] = ()
    channel: str | None = None
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"
    quote: str = '"'
    final_newline: bool = False  # csv.final_newline: required -> a last line without one is a truncated file
    sheet: str | None = None
    json_records_path: str | None = None
    weight_unit: str = "kg"
    hs_code_format: str = "digits"
    timestamp_format: str | None = None
    timezone: str = "UTC"
    event_types: dict[str, Any] = field(default_factory=dict)
    wait_days: int | None = None  # waiting.max_days (None: settings.wait_days)
    limits: Limits = field(default_factory=Limits)

    @property
    def source_columns(self) -> list[str]:
        """The file columns the contract maps (in canonical order)."""
        return list(dict.fromkeys(self.columns.values()))

    @property
    def weight_factor(self) -> str:
        """Multiplier from the file's weight unit to kg, as an exact decimal string."""
        return WEIGHT_UNITS[self.weight_unit]


def _require(cond: bool, path: Path, message: str) -> None:
    if not cond:
        raise ContractError(f"contract {path}: {message}")


def _number(value: object, path: Path, name: str, low: Decimal, high: Decimal) -> Decimal:
    """A ceiling from YAML (int, float or text) as an exact Decimal in (low, high]."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    _require(number.is_finite() and low < number <= high, path, f"limits.{name} must be a number > {low} and <= {high}")
    return number


def _integer(value: object, path: Path, name: str, low: int, high: int) -> int:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
        path,
        f"limits.{name} must be a whole number from {low} to {high:,}",
    )
    return int(value)  # type: ignore[arg-type]


def _limits(doc: dict, feed: str, path: Path) -> Limits:
    """The contract's ``limits`` section over the defaults; unknown or out-of-range values are errors."""
    raw = doc.get("limits") or {}
    _require(isinstance(raw, dict), path, "limits must be a mapping")
    known = sorted(LIMIT_FIELDS[feed])
    unknown = set(raw) - LIMIT_FIELDS[feed]
    _require(not unknown, path, f"unknown limits {sorted(unknown)} for feed {feed}; known: {known}")
    out: dict[str, Any] = {}
    if "max_quantity" in raw:
        out["max_quantity"] = _integer(raw["max_quantity"], path, "max_quantity", 1, QUANTITY_BOUND)
    for name in ("max_unit_price", "max_line_value"):
        if name in raw:
            out[name] = _number(raw[name], path, name, Decimal(0), MONEY_BOUND - 1)
    if "max_delist_share" in raw:
        out["max_delist_share"] = _number(raw["max_delist_share"], path, "max_delist_share", Decimal(0), Decimal(1))
    if "delist_min_products" in raw:
        out["delist_min_products"] = _integer(raw["delist_min_products"], path, "delist_min_products", 0, 10**9)
    if "max_text_length" in raw:
        lengths = raw["max_text_length"]
        fields = TEXT_FIELDS[feed]
        if not isinstance(lengths, dict):  # one number for every text field
            lengths = dict.fromkeys(fields, lengths)
        unknown = set(lengths) - set(fields)
        _require(not unknown, path, f"limits.max_text_length: unknown text fields {sorted(unknown)}; known: {fields}")
        out["max_text_length"] = {
            str(k): _integer(v, path, f"max_text_length.{k}", 1, 10**7) for k, v in lengths.items()
        }
    return Limits(**out)


def _event_type_values(event_types: dict, path: Path) -> None:
    """The event types a ``values`` or ``prefixes`` map (or the id_prefix ``default``) names must be known."""
    named = [*(event_types.get("values") or {}).values(), *(event_types.get("prefixes") or {}).values()]
    if event_types.get("default") is not None:
        named.append(event_types["default"])
    unknown = sorted({str(v) for v in named} - EVENT_TYPES)
    _require(not unknown, path, f"event_types: unknown event types {unknown}; known: {sorted(EVENT_TYPES)}")


def _wait_days(doc: dict, path: Path) -> int | None:
    """``waiting: {max_days: N}``: how long a sale waits for its product version, FX rate or order line."""
    raw = doc.get("waiting")
    if raw is None:
        return None
    _require(isinstance(raw, dict) and set(raw) <= {"max_days"}, path, "waiting must be a mapping {max_days: N}")
    if "max_days" not in raw:
        return None
    days = raw["max_days"]
    _require(
        isinstance(days, int) and not isinstance(days, bool) and 0 <= days <= WAIT_DAYS_BOUND,
        path,
        f"waiting.max_days must be a whole number of days from 0 (do not wait) to {WAIT_DAYS_BOUND}",
    )
    return int(days)


def load_contract(path: Path) -> Contract:
    """Parse and check one contract file; errors name the file and the field."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"contract {path}: not valid YAML: {exc}") from exc
    _require(isinstance(doc, dict), path, "must be a mapping")
    feed = doc.get("feed")
    _require(feed in FEEDS, path, f"feed must be one of {sorted(FEEDS)}, got {feed!r}")
    fmt = doc.get("format")
    _require(fmt in FORMATS, path, f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    columns = doc.get("columns") or {}
    defaults = {k: str(v) for k, v in (doc.get("defaults") or {}).items()}
    _require(isinstance(columns, dict), path, "columns must map canonical field -> file column")
    known = set(CANONICAL_FIELDS[feed])
    unknown = (set(columns) | set(defaults)) - known
    _require(not unknown, path, f"unknown canonical fields {sorted(unknown)}; known: {sorted(known)}")
    missing = [f for f in REQUIRED_FIELDS[feed] if f not in columns and f not in defaults]
    _require(not missing, path, f"required fields neither mapped nor defaulted: {missing}")
    csv = doc.get("csv") or {}
    encoding = str(csv.get("encoding", "utf-8")).lower().replace("_", "-")
    encoding = {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1"}.get(encoding, encoding)
    _require(encoding in ENCODINGS, path, f"csv.encoding must be one of {sorted(ENCODINGS)}")
    decimal = str(csv.get("decimal", "."))
    _require(decimal in {".", ","}, path, "csv.decimal must be '.' or ','")
    final_newline = str(csv.get("final_newline", "optional"))
    _require(final_newline in {"required", "optional"}, path, "csv.final_newline must be required or optional")
    thousands = csv.get("thousands")
    if thousands is not None:
        thousands = str(thousands)
        _require(thousands in THOUSANDS, path, f"csv.thousands must be one of {sorted(THOUSANDS)} (or absent)")
        _require(thousands != decimal, path, "csv.thousands must differ from csv.decimal")
    units = doc.get("units") or {}
    weight_unit = str(units.get("weight", "kg"))
    _require(weight_unit in WEIGHT_UNITS, path, f"units.weight must be one of {sorted(WEIGHT_UNITS)}")
    ts = doc.get("timestamp") or {}
    event_types = doc.get("event_types") or {}
    if feed == "sales":
        _require(bool(doc.get("channel")), path, "sales contracts need a channel")
        mode = event_types.get("mode")
        _require(mode in EVENT_TYPE_MODES, path, f"event_types.mode must be one of {sorted(EVENT_TYPE_MODES)}")
        if mode == "column":
            _require("event_type" in columns, path, "event_types.mode column needs columns.event_type")
            _require(isinstance(event_types.get("values"), dict), path, "event_types.values needed")
        if mode == "negative_quantity":
            _require(
                event_types.get("negative_as") in EVENT_TYPES - {"order"},
                path,
                "event_types.negative_as must be cancel, return or credit",
            )
        if mode == "id_prefix":
            _require(isinstance(event_types.get("prefixes"), dict), path, "event_types.prefixes needed")
        _event_type_values(event_types, path)
        _require(bool(ts.get("format")), path, "timestamp.format needed (or 'native')")
    json_opts = doc.get("json") or {}
    wait_days = _wait_days(doc, path) if feed == "sales" else None
    return Contract(
        name=str(doc.get("name") or path.stem),
        path=path,
        feed=feed,
        format="jsonl" if fmt == "json" and json_opts.get("lines") else fmt,
        file_glob=str(doc.get("file_glob") or "*"),
        columns={str(k): str(v) for k, v in columns.items()},
        defaults=defaults,
        description=str(doc.get("description") or ""),
        suppliers=tuple(str(s) for s in doc.get("suppliers") or ()),
        channel=doc.get("channel"),
        delimiter=str(csv.get("delimiter", ",")),
        decimal=decimal,
        thousands=thousands,
        encoding=encoding,
        quote=str(csv.get("quote", '"')),
        final_newline=final_newline == "required",
        sheet=(doc.get("xlsx") or {}).get("sheet"),
        json_records_path=json_opts.get("records_path"),
        weight_unit=weight_unit,
        hs_code_format=str(doc.get("hs_code_format", "digits")),
        timestamp_format=ts.get("format"),
        timezone=str(ts.get("timezone", "UTC")),
        event_types=event_types,
        wait_days=wait_days,
        limits=_limits(doc, feed, path),
    )


def load_contracts(contracts_dir: Path, feed: str) -> list[Contract]:
    """All contracts of a feed (``catalogues`` -> ``contracts/catalogues/*.yml``)."""
    folder = {"catalogues": "catalogues", "sales": "channels", "suppliers": "suppliers"}[feed]
    contracts = [load_contract(p) for p in sorted((contracts_dir / folder).glob("*.yml"))]
    for c in contracts:
        _require(c.feed == feed, c.path, f"lives under {folder}/ but says feed {c.feed!r}")
    return contracts


def supplier_contracts(contracts: list[Contract]) -> dict[str, Contract]:
    """supplier_id -> its catalogue contract; a supplier listed twice is an error."""
    by_supplier: dict[str, Contract] = {}
    for c in contracts:
        for supplier in c.suppliers:
            if supplier in by_supplier:
                raise ContractError(f"supplier {supplier} is listed in {by_supplier[supplier].path} and {c.path}")
            by_supplier[supplier] = c
    return by_supplier


def channel_contracts(contracts: list[Contract]) -> dict[str, Contract]:
    """channel -> its contract."""
    return {str(c.channel): c for c in contracts}
