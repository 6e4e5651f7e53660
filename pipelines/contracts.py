"""Contracts: one YAML file per supplier layout, channel or master file (``pipelines/resources/contracts/``).

A contract says how to read a landed file (format, delimiter, decimal mark and thousands
separator, encoding, sheet, JSON shape), how its columns map to the canonical fields, and the
plausibility ceilings its rows are held to (``limits``, with defaults). Onboarding a new layout
is a new contract file, no code. Contracts are loaded with ``yaml.safe_load`` and checked on load.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import polars as pl
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
EVENT_TYPES = {"order", "cancel", "return", "credit"}
SECTIONS = {  # the top-level keys a contract may have (a misspelt one is an error, never ignored)
    "name",
    "description",
    "feed",
    "format",
    "file_glob",
    "columns",
    "defaults",
    "suppliers",
    "channel",
    "csv",
    "xlsx",
    "json",
    "units",
    "hs_code_format",
    "timestamp",
    "event_types",
    "limits",
    "derive",
    "values",
    "country_format",
    "exclude",
    "products",
    "waiting",
}
DERIVE_KINDS = {"template", "position_within", "hash"}
COUNTRY_FIELDS = {"catalogues": ("country_of_origin",), "sales": ("ship_to_country",), "suppliers": ("country",)}

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
class Derivation:
    """A canonical field built from the row: a template, the row's position in a group, or a hash.

    ``template``: ``"{InvoiceNo}-{line_id}"``; placeholders name a canonical field mapped or
    derived before this one, or else a file column. ``position_within``: the file columns whose
    values form the group (1, 2, 3... in file order; no columns: the row's position in the file).
    ``hash``: the columns whose values are hashed (md5, hex).
    """

    field: str
    kind: str
    template: str = ""
    columns: tuple[str, ...] = ()

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names a template refers to, in order."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.template) if name)


@dataclass(frozen=True)
class ValueMap:
    """Landed text -> canonical value for one field (``values``: inline ``map`` and/or a map ``file``).

    ``unmapped``: ``keep`` (the landed value goes on to the rules) or ``null`` (it becomes missing).
    """

    field: str
    mapping: dict[str, str | None]
    unmapped: str = "keep"
    ignore_case: bool = False


@dataclass(frozen=True)
class ExcludeRule:
    """Rows whose ``column`` equals one of ``values``, starts with one of ``prefixes`` or matches ``pattern``."""

    rule: str
    column: str
    values: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    pattern: str | None = None
    ignore_case: bool = False


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
    derive: tuple[Derivation, ...] = ()
    value_maps: tuple[ValueMap, ...] = ()
    country_format: str = "code"  # code | name (README, Contracts)
    exclude: tuple[ExcludeRule, ...] = ()
    products: Products | None = None  # a channel's own product attributes (section products)

    @property
    def source_columns(self) -> list[str]:
        """The file columns the contract reads: mapped ones (in canonical order), then those rules name."""
        named = [c for d in self.derive for c in (*d.columns, *self.file_placeholders(d))]
        named += [r.column for r in self.exclude]
        return list(dict.fromkeys([*self.columns.values(), *named]))

    def file_placeholders(self, derivation: Derivation) -> list[str]:
        """The placeholders of a template that name file columns (not canonical fields defined before it)."""
        before = set(self.columns)
        for d in self.derive:
            if d is derivation:
                break
            before.add(d.field)
        return [name for name in derivation.placeholders if name not in before]

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
    return int(cast(int, value))  # checked by _require above


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


# ---- products: a channel whose products no supplier catalogue describes -----------------------
PRODUCT_ATTRIBUTES = ("country_of_origin", "hs_code", "category", "unit_weight_kg", "title", "brand")
PRODUCT_TEXT_LENGTHS = {"supplier_sku": TEXT_LENGTH_DEFAULT, "title": 500, "brand": 200, "category": 200}
SKU_MAP_MAX_BYTES = 64 * 1024 * 1024
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
_WEIGHT = r"^[0-9]{1,8}(?:\.[0-9]{1,4})?$"  # core.dim_product.unit_weight_kg is DECIMAL(12, 4)


@dataclass(frozen=True)
class Products:
    """A channel's own product attributes (contract section ``products``; ``pipelines/resources/contracts/README.md``).

    ``contract``: the contract's path relative to the contracts dir (``channels/x.yml``), the label
    its defaults are recorded under. ``defaults``: attribute -> normalised text. ``sku_map``: the
    map's path relative to the contracts dir; ``sku_map_rows``: its rows (``supplier_sku``,
    ``line_number`` and one text column per attribute it has, null where the cell is empty).
    ``fingerprint`` changes whenever the defaults, the map's bytes or either path change.
    """

    contract: str
    defaults: dict[str, str] = field(default_factory=dict)
    sku_map: str | None = None
    sku_map_rows: pl.DataFrame | None = field(default=None, compare=False, repr=False)
    fingerprint: str = ""


def _attribute_checks(name: str) -> tuple[pl.Expr, pl.Expr, str]:
    """(normalised value, OK expression, what a bad value is) for product attribute ``name``.

    Empty text is null (an empty map cell falls back to the defaults); null passes.
    """
    col = pl.col(name).str.strip_chars()
    col = pl.when(col != "").then(col)
    if name == "country_of_origin":
        col = col.str.to_uppercase()
        return col, col.str.contains(r"^[A-Z]{2}$"), "not an ISO 3166 alpha-2 country code (two letters, e.g. GB)"
    if name == "hs_code":
        col = col.str.replace_all(r"[\s.]", "")
        return (
            col,
            col.str.contains(r"^[0-9]{6}$"),
            (
                "not a 6-digit HS code (HS codes are text: a spreadsheet that dropped a leading zero "
                "turns 040690 into 40690)"
            ),
        )
    if name == "unit_weight_kg":
        positive = col.cast(pl.Decimal(12, 4), strict=False) > 0
        return (
            col,
            col.str.contains(_WEIGHT) & positive,
            ("not a positive weight in kg ('.' as decimal mark, at most 4 decimals, e.g. 0.25)"),
        )
    limit = PRODUCT_TEXT_LENGTHS[name]
    ok = (col.str.len_chars() <= limit) & ~col.str.contains(_CONTROL)
    return col, ok, f"longer than {limit} characters or holding control characters"


def _checked_attributes(frame: pl.DataFrame, where: Any) -> pl.DataFrame:
    """``frame``'s attribute columns normalised; the first bad value raises (``where(row, column)``)."""
    names = [c for c in ("supplier_sku", *PRODUCT_ATTRIBUTES) if c in frame.columns]
    checks = {name: _attribute_checks(name) for name in names}
    normal = frame.with_columns(**{name: value for name, (value, _, _) in checks.items()})
    verdicts = normal.with_columns(**{f"_ok_{n}": ok.fill_null(True) for n, (_, ok, _) in checks.items()})
    for name, (_, _, why) in checks.items():
        bad = verdicts.filter(~pl.col(f"_ok_{name}"))
        if bad.height:
            value = frame[name][int(bad["_row"][0])]
            more = f" (and {bad.height - 1} more such rows)" if bad.height > 1 else ""
            raise ContractError(f"{where(int(bad['_row'][0]), name)}: {value!r} is {why}{more}")
    return normal


def _default_values(raw: object, path: Path) -> dict[str, str]:
    """``products.defaults``: known attributes, as text (YAML numbers and booleans refused where they bite)."""
    _require(isinstance(raw, dict), path, "products.defaults must map attribute -> value")
    unknown = sorted(set(cast(dict, raw)) - set(PRODUCT_ATTRIBUTES))  # a dict: checked by _require above
    _require(not unknown, path, f"products.defaults: unknown attributes {unknown}; known: {list(PRODUCT_ATTRIBUTES)}")
    out: dict[str, str] = {}
    for name, value in cast(dict, raw).items():
        if value is None:
            continue
        if name == "hs_code":
            _require(
                isinstance(value, str),
                path,
                f'products.defaults.hs_code must be quoted text, e.g. "950300": YAML reads unquoted digits as a '
                f"number (got {value!r}), dropping leading zeros and reading 010120 as the octal number 4176",
            )
        elif name == "unit_weight_kg":
            _require(
                isinstance(value, str | int | float) and not isinstance(value, bool),
                path,
                f"products.defaults.unit_weight_kg must be a decimal number of kg, got {value!r}",
            )
        else:
            _require(
                isinstance(value, str),
                path,
                f"products.defaults.{name} must be quoted text, got {value!r}"
                + (
                    ' (YAML reads NO, YES, ON, OFF as booleans: quote it, e.g. "NO")' if isinstance(value, bool) else ""
                ),
            )
        out[str(name)] = str(value)
    frame = pl.DataFrame({k: [v] for k, v in out.items()}, schema=dict.fromkeys(out, pl.String)).with_row_index("_row")
    frame = _checked_attributes(frame, lambda _row, column: f"contract {path}: products.defaults.{column}")
    return {k: v for k, v in frame.drop("_row").row(0, named=True).items() if v is not None} if out else {}


def _sku_map(value: object, path: Path, contracts_dir: Path) -> tuple[str, pl.DataFrame, str]:
    """(path as written, rows, sha256 of its bytes) of ``products.sku_map``, read safely and checked.

    The file must lie inside the contracts dir (no ``..``, no absolute path, no link out), be UTF-8
    CSV of at most ``SKU_MAP_MAX_BYTES`` with a header ``supplier_sku`` plus known attributes, one
    line per SKU and each SKU once. Errors name the map, the line and the column.
    """
    _require(isinstance(value, str) and value.strip() != "", path, "products.sku_map must be a file path")
    rel = str(value).strip()
    root = contracts_dir.resolve()
    target = (root / rel).resolve()
    _require(
        not Path(rel).is_absolute() and target.is_relative_to(root),
        path,
        f"products.sku_map {rel!r} must be a path inside the contracts dir ({root}), relative to it",
    )
    _require(target.is_file(), path, f"products.sku_map {rel!r}: no such file under {root}")
    _require(target.suffix.lower() == ".csv", path, f"products.sku_map {rel!r} must be a .csv file")
    size = target.stat().st_size
    _require(
        size <= SKU_MAP_MAX_BYTES, path, f"products.sku_map {rel!r} is {size:,} bytes (at most {SKU_MAP_MAX_BYTES:,})"
    )
    data = target.read_bytes()
    name = f"contract {path}: products.sku_map {rel}"
    try:
        text = data.decode("utf-8-sig").rstrip("\r\n") + "\n"  # trailing blank lines are no rows
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContractError(f"{name}: line {line}: not valid UTF-8 (byte {data[exc.start]:#04x})", line) from exc
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False, quote_char='"')
    except pl.exceptions.PolarsError as exc:
        raise ContractError(f"{name}: not readable as CSV: {str(exc).splitlines()[0]}") from exc
    columns = frame.columns
    unknown = [c for c in columns if c not in ("supplier_sku", *PRODUCT_ATTRIBUTES)]
    _require(
        "supplier_sku" in columns and not unknown,
        path,
        f"products.sku_map {rel}: line 1: the header must be supplier_sku plus any of {list(PRODUCT_ATTRIBUTES)}; "
        f"got {columns}",
    )
    lines = pl.Series(text[:-1].split("\n")).str.strip_chars()
    if lines.len() != frame.height + 1:  # line numbers must be exact: one line per SKU
        blank = (lines == "").arg_true()
        where = f"line {blank[0] + 1} is blank" if blank.len() else "a quoted field spans lines"
        raise ContractError(f"{name}: {where}; write one line per SKU")
    frame = frame.with_row_index("_row").with_columns(line_number=pl.col("_row").cast(pl.Int64) + 2)
    frame = _checked_attributes(frame, lambda row, column: f"{name}: line {row + 2}, column {column}")
    missing = frame.filter(pl.col("supplier_sku").is_null())
    if missing.height:
        raise ContractError(
            f"{name}: line {missing['line_number'][0]}, column supplier_sku: empty (every line names a SKU)",
            missing["line_number"][0],
        )
    twice = frame.filter(pl.col("supplier_sku").is_duplicated()).sort("line_number")
    if twice.height:
        sku = twice["supplier_sku"][0]
        at = twice.filter(pl.col("supplier_sku") == sku)["line_number"].to_list()
        raise ContractError(f"{name}: lines {at[0]} and {at[1]}, column supplier_sku: {sku!r} is listed twice", at[1])
    return rel, frame.drop("_row"), hashlib.sha256(data).hexdigest()


def _products(doc: dict, path: Path) -> Products | None:
    """The contract's ``products`` section (None when absent); see :class:`Products`."""
    raw = doc.get("products")
    if raw is None:
        return None
    _require(doc.get("feed") == "sales", path, "products is a section of sales channel contracts")
    _require(isinstance(raw, dict) and bool(raw), path, "products must be a mapping with defaults and/or sku_map")
    unknown = sorted(set(raw) - {"defaults", "sku_map"})
    _require(not unknown, path, f"products: unknown keys {unknown}; known: ['defaults', 'sku_map']")
    supplier = (doc.get("defaults") or {}).get("supplier_id")
    _require(
        bool(supplier) or "supplier_id" in (doc.get("columns") or {}),
        path,
        "products needs the supplier id its products are recorded under: defaults.supplier_id "
        "(or a mapped columns.supplier_id)",
    )
    defaults = _default_values(raw.get("defaults") or {}, path)
    contracts_dir = path.parent.parent  # contracts/channels/<name>.yml
    label = f"{path.parent.name}/{path.name}"
    sku_map, rows, digest = None, None, None
    if raw.get("sku_map") is not None:
        sku_map, rows, digest = _sku_map(raw["sku_map"], path, contracts_dir)
    _require(bool(defaults) or sku_map is not None, path, "products needs defaults and/or a sku_map")
    content = {"contract": label, "defaults": defaults, "sku_map": sku_map, "sku_map_sha256": digest}
    fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return Products(label, defaults, sku_map, rows, fingerprint)


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
        from pipelines.yaml_safe import load_yaml  # safe_load with YAML 1.2 booleans: NO stays Norway

        doc = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"contract {path}: not valid YAML: {exc}") from exc
    _require(isinstance(doc, dict), path, "must be a mapping")
    unknown_sections = sorted(set(doc) - SECTIONS)
    _require(not unknown_sections, path, f"unknown sections {unknown_sections}; known: {sorted(SECTIONS)}")
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
    derive = _derive(doc, feed, path, columns, defaults)
    derived = {d.field for d in derive}
    missing = [f for f in REQUIRED_FIELDS[feed] if f not in columns and f not in defaults and f not in derived]
    _require(not missing, path, f"required fields neither mapped, derived nor defaulted: {missing}")
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
            prefixed = event_types.get("column", "event_id")
            _require(
                prefixed in CANONICAL_FIELDS["sales"] and (prefixed in columns or prefixed in derived),
                path,
                "event_types.column must be a canonical field the contract maps or derives (default event_id)",
            )
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
        derive=derive,
        value_maps=_value_maps(doc, feed, path),
        country_format=_country_format(doc, path),
        exclude=_exclude(doc, path),
        products=_products(doc, path),
    )


def _derive(doc: dict, feed: str, path: Path, columns: dict, defaults: dict) -> tuple[Derivation, ...]:
    """The ``derive`` section: canonical field -> {template | position_within | hash}, applied in order."""
    raw = doc.get("derive") or {}
    _require(isinstance(raw, dict), path, "derive must map canonical field -> {template|position_within|hash: ...}")
    out: list[Derivation] = []
    for name, spec in raw.items():
        where = f"derive.{name}"
        _require(name in CANONICAL_FIELDS[feed], path, f"{where}: not a canonical {feed} field")
        _require(name not in columns, path, f"{where}: the field is mapped in columns too; keep one")
        _require(name not in defaults, path, f"{where}: the field has a default too; keep one")
        _require(
            isinstance(spec, dict) and len(spec) == 1 and set(spec) <= DERIVE_KINDS,
            path,
            f"{where}: give exactly one of {sorted(DERIVE_KINDS)}",
        )
        kind, value = next(iter(spec.items()))
        if kind == "template":
            _require(isinstance(value, str) and value != "", path, f"{where}.template must be text")
            try:
                parts = list(string.Formatter().parse(value))
            except ValueError as exc:
                raise ContractError(f"contract {path}: {where}.template: {exc}") from exc
            _require(
                all(not fmt and not conv for _text, name_, fmt, conv in parts if name_ is not None),
                path,
                f"{where}.template: placeholders are plain names, e.g. {{InvoiceNo}}",
            )
            _require(any(n for _, n, _, _ in parts), path, f"{where}.template names no column")
            out.append(Derivation(name, kind, template=value))
        else:
            cols = [value] if isinstance(value, str) else value
            _require(
                isinstance(cols, list) and all(isinstance(c, str) and c for c in cols),
                path,
                f"{where}.{kind} must be a list of file columns",
            )
            _require(kind == "position_within" or bool(cols), path, f"{where}.hash needs at least one column")
            out.append(Derivation(name, kind, columns=tuple(cols)))
    return tuple(out)


def _map_file(path: Path, name: str, where: str) -> dict[str, str | None]:
    """A shared value-map file next to the contracts (YAML mapping, or CSV with columns from,to)."""
    contracts_dir = path.parent.parent
    target = (contracts_dir / name).resolve()
    _require(target.is_relative_to(contracts_dir.resolve()), path, f"{where}: {name} leaves the contracts folder")
    _require(target.is_file(), path, f"{where}: map file {name} not found under {contracts_dir}")
    if target.suffix == ".csv":
        frame = pl.read_csv(target, infer_schema=False, null_values=[])
        _require({"from", "to"} <= set(frame.columns), path, f"{where}: {name} needs columns from,to")
        return {k: (v if v != "" else None) for k, v in zip(frame["from"], frame["to"], strict=True)}
    try:
        mapping = yaml.safe_load(target.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContractError(f"contract {path}: {where}: {name} is not valid YAML: {exc}") from exc
    _require(isinstance(mapping, dict), path, f"{where}: {name} must be a mapping from -> to")
    return mapping


def _value_maps(doc: dict, feed: str, path: Path) -> tuple[ValueMap, ...]:
    """The ``values`` section: canonical field -> {map, file, unmapped, ignore_case}."""
    raw = doc.get("values") or {}
    _require(isinstance(raw, dict), path, "values must map canonical field -> {map: ..., file: ...}")
    out = []
    for name, spec in raw.items():
        where = f"values.{name}"
        _require(name in CANONICAL_FIELDS[feed], path, f"{where}: not a canonical {feed} field")
        _require(isinstance(spec, dict), path, f"{where} must be a mapping with map and/or file")
        unknown = set(spec) - {"map", "file", "unmapped", "ignore_case"}
        _require(not unknown, path, f"{where}: unknown keys {sorted(unknown)}")
        mapping: dict[Any, Any] = {}
        if "file" in spec:
            mapping.update(_map_file(path, str(spec["file"]), where))
        inline = spec.get("map") or {}
        _require(isinstance(inline, dict), path, f"{where}.map must be a mapping from -> to")
        mapping.update(inline)
        _require(bool(mapping), path, f"{where}: an empty map")
        for key, value in mapping.items():
            _require(
                isinstance(key, str | int)
                and not isinstance(key, bool)
                and (value is None or (isinstance(value, str | int) and not isinstance(value, bool))),
                path,
                f"{where}: {key!r}: {value!r}: keys and values are text (quote yes/no/on/off: YAML reads booleans)",
            )
        unmapped = str(spec.get("unmapped", "keep"))
        _require(unmapped in {"keep", "null"}, path, f"{where}.unmapped must be keep or null")
        ignore_case = spec.get("ignore_case", False) is True
        fold = str.casefold if ignore_case else str
        out.append(
            ValueMap(
                name,
                {fold(str(k).strip()): (None if v is None else str(v)) for k, v in mapping.items()},
                unmapped,
                ignore_case,
            )
        )
    return tuple(out)


def _country_format(doc: dict, path: Path) -> str:
    value = str(doc.get("country_format", "code"))
    _require(value in {"code", "name"}, path, "country_format must be code (ISO alpha-2) or name (English names)")
    return value


def _exclude(doc: dict, path: Path) -> tuple[ExcludeRule, ...]:
    """The ``exclude`` section: rules that leave non-merchandise rows out (counted, never errors)."""
    raw = doc.get("exclude") or []
    _require(isinstance(raw, list), path, "exclude must be a list of rules")
    out: list[ExcludeRule] = []
    for i, spec in enumerate(raw):
        where = f"exclude[{i}]"
        _require(isinstance(spec, dict), path, f"{where} must be a mapping")
        unknown = set(spec) - {"rule", "column", "values", "prefixes", "pattern", "ignore_case"}
        _require(not unknown, path, f"{where}: unknown keys {sorted(unknown)}")
        rule = spec.get("rule")
        _require(
            isinstance(rule, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,62}", rule) is not None,
            path,
            f"{where}.rule: a name in lower case (letters, digits, _)",
        )
        _require(isinstance(spec.get("column"), str) and spec["column"] != "", path, f"{where}.column: a file column")
        kinds = [k for k in ("values", "prefixes", "pattern") if k in spec]
        _require(len(kinds) == 1, path, f"{where}: give exactly one of values, prefixes, pattern")
        texts: tuple[str, ...] = ()
        pattern = None
        if kinds[0] == "pattern":
            pattern = str(spec["pattern"])
            try:
                pl.Series([""]).str.contains(pattern)
            except pl.exceptions.PolarsError as exc:
                raise ContractError(f"contract {path}: {where}.pattern is not a valid pattern: {exc}") from exc
        else:
            items = spec[kinds[0]]
            _require(
                isinstance(items, list)
                and bool(items)
                and all(isinstance(v, str | int) and not isinstance(v, bool) for v in items),
                path,
                f"{where}.{kinds[0]}: a list of texts (quote yes/no/on/off)",
            )
            texts = tuple(str(v) for v in items)
        _require(rule not in {r.rule for r in out}, path, f"{where}: rule {rule!r} listed twice")
        out.append(
            ExcludeRule(
                rule,
                spec["column"],
                values=texts if kinds[0] == "values" else (),
                prefixes=texts if kinds[0] == "prefixes" else (),
                pattern=pattern,
                ignore_case=spec.get("ignore_case", False) is True,
            )
        )
    return tuple(out)


def load_contracts(contracts_dir: Path, feed: str) -> list[Contract]:
    """All contracts of a feed (``catalogues`` -> ``pipelines/resources/contracts/catalogues/*.yml``)."""
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
