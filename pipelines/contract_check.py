"""Check a sample landed file against a contract before loading (``xborder contract check``).

One code path with the load: the file is read by the pipeline's own reader
(:func:`pipelines.ingest.batch.read_batch` -> :func:`pipelines.readers.read_landed`) and its rows
go through the feed's own rules (``catalogues.checked``, ``sales.checked``, ``suppliers.checked``).
The reference codes (HS 2022 subheadings, ISO countries and currencies) come from the repo's
``pipelines/resources/reference/`` files, built by the reference loader's own functions. The warehouse is never
opened and nothing is written; the file's content never reaches SQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import duckdb
import polars as pl

from pipelines.contracts import Contract, ContractError, load_contract
from pipelines.ingest import catalogues, sales, suppliers
from pipelines.ingest.batch import read_batch
from pipelines.ingest.reference import DIMENSIONS
from pipelines.landing import sha256_file

FOLDERS = {"catalogues": "catalogues", "sales": "channels", "suppliers": "suppliers"}
EXAMPLES = 3
SNIFF_BYTES = 4 << 20
DELIMITERS = (",", ";", "\t", "|")
# Decided at load time against the warehouse (history, products, FX), so not checked here.
SALES_LOAD_TIME_REASONS = (
    "event_id_conflict",
    "unknown_product",
    "fx_rate_missing",
    "orphan_reference",
    "already_cancelled",
    "already_returned",
    "return_exceeds_quantity",
)
EXAMPLE_CHARS = 200  # an example value longer than this (text_too_long) is shown cut, with its length


@dataclass(frozen=True)
class ReferenceCodes:
    """The codes the row rules look up (what ``core.dim_*`` holds after the reference load)."""

    hs6: pl.Series
    countries: pl.Series
    currencies: pl.Series


@dataclass
class Example:
    line: int | None
    column: str | None  # canonical field
    file_column: str | None  # the file's column (per the contract); None for a default
    value: str | None  # as landed


@dataclass
class ReasonCount:
    reason: str
    rows: int
    examples: list[Example] = field(default_factory=list)


@dataclass
class Rejection:
    reason: str  # contract_violation
    message: str  # names the file, the line and the rule
    line: int | None
    rule: str
    rows: int  # data lines counted as read and quarantined with the file (text formats)


@dataclass
class CheckResult:
    file: str
    contract: str
    contract_path: str
    feed: str
    format: str
    encoding_declared: str | None
    encoding_detected: str | None
    delimiter_declared: str | None
    delimiter_detected: str | None
    rows_read: int = 0
    rows_would_load: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_excluded: int = 0
    reasons: list[ReasonCount] = field(default_factory=list)
    exclusions: list[ReasonCount] = field(default_factory=list)  # per exclude rule (reason = the rule's name)
    rows_would_wait: int = 0  # sales: of the rows that would load, those that would wait (against a snapshot)
    waits: list[ReasonCount] = field(default_factory=list)  # unknown_product, fx_rate_missing, orphan_reference
    waits_against: str | None = None  # the snapshot the waits were judged against
    rejection: Rejection | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        """The file would be loaded (possibly with some rows quarantined)."""
        return self.rejection is None

    def exit_code(self, strict: bool = False) -> int:
        """0 when the file fits; 1 when it would be rejected whole (or, strict, any row quarantined)."""
        return 0 if self.fits and not (strict and self.rows_quarantined) else 1

    def to_dict(self, strict: bool = False) -> dict:
        doc = asdict(self)
        doc["status"] = "rejected" if self.rejection else "fits"
        doc["exit_code"] = self.exit_code(strict)
        doc["strict"] = strict
        return doc


def resolve_contract(spec: str, contracts_dir: Path) -> Contract:
    """A contract by name (``layout_semicolon``, ``tmall_global``) or by the path of a YAML file."""
    path = Path(spec)
    if path.suffix in {".yml", ".yaml"} or "/" in spec or path.is_file():
        if not path.is_file():
            raise ContractError(f"contract file {spec} not found")
        return load_contract(path)
    candidates = [p for folder in FOLDERS.values() for p in sorted((contracts_dir / folder).glob("*.yml"))]
    for p in candidates:
        if p.stem == spec:
            return load_contract(p)
    for p in candidates:  # a contract whose name differs from its file stem
        try:
            c = load_contract(p)
        except ContractError:
            continue
        if c.name == spec:
            return c
    known = ", ".join(sorted(p.stem for p in candidates))
    raise ContractError(f"no contract named {spec!r} under {contracts_dir}; known: {known} (or give a YAML path)")


def reference_codes(reference_dir: Path) -> ReferenceCodes:
    """HS 6-digit codes, countries and currencies from the reference files, as the reference loader builds them."""

    def build(dimension: str) -> pl.DataFrame:
        file_name, _table, builder = DIMENSIONS[dimension]
        return builder(reference_dir / file_name)

    return ReferenceCodes(
        hs6=build("hs_codes").filter(pl.col("level") == 6)["hs_code"],
        countries=build("countries")["country_code"],
        currencies=build("currencies")["currency_code"],
    )


def sniff(path: Path, contract: Contract) -> tuple[str | None, str | None]:
    """(encoding, delimiter) as the file's first bytes suggest; None where not applicable."""
    if contract.format not in {"csv", "json", "jsonl"}:
        return None, None
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    complete = len(head) < SNIFF_BYTES
    bom = head.startswith(b"\xef\xbb\xbf")
    try:
        text = head.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError as exc:
        utf8 = not complete and exc.start >= len(head) - 3  # a character cut by the sniff window
        text = head.decode("utf-8", errors="replace") if utf8 else head.decode("cp1252", errors="replace")
    if bom:
        encoding = "utf-8-sig"
    elif utf8:
        encoding = "ascii" if head.isascii() else "utf-8"
    else:  # bytes 0x80-0x9f are printable only in cp1252
        encoding = "cp1252" if any(0x80 <= b <= 0x9F for b in head) else "cp1252 or latin-1"
    delimiter = None
    if contract.format == "csv":
        header = text.lstrip("\ufeff").split("\n", 1)[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        delimiter = best if counts[best] else None
    return encoding, delimiter


def _rule(message: str, contract: Contract) -> str:
    found = re.search(r"rule: ([\w.]+)", message)
    if found:
        return found.group(1)
    return {"xlsx": "xlsx.sheet", "jsonl": "json"}.get(contract.format, contract.format)


def _file_column(contract: Contract, column: str | None) -> str | None:
    if column is None:
        return None
    if column == "event_type" and column not in contract.columns and contract.event_types.get("mode") == "id_prefix":
        column = "event_id"  # the event type is read from the event id's prefix
    return contract.columns.get(column)


def _examples(contract: Contract, rows: pl.DataFrame) -> list[Example]:
    out = []
    for row in rows.select("line_number", "column_name", "raw_row").iter_rows(named=True):
        src = _file_column(contract, row["column_name"])
        if src is not None:
            value = json.loads(row["raw_row"]).get(src) if row["raw_row"] else None
        else:
            value = contract.defaults.get(row["column_name"] or "")
        out.append(Example(row["line_number"], row["column_name"], src, None if value is None else _shown(str(value))))
    return out


def _exclusions(contract: Contract, excluded: pl.DataFrame, examples: int) -> list[ReasonCount]:
    """Rows left out per exclude rule (in the contract's order), with the first lines as examples."""
    out = []
    for rule in contract.exclude:
        hit = excluded.filter(pl.col("excluded_by") == rule.rule).sort("line_number") if excluded.height else excluded
        if hit.height == 0:
            continue
        shown = [
            Example(row["line_number"], None, rule.column, _shown(str(json.loads(row["raw_row"]).get(rule.column))))
            for row in hit.head(examples).select("line_number", "raw_row").iter_rows(named=True)
        ]
        out.append(ReasonCount(rule.rule, hit.height, shown))
    return out


def _shown(value: str) -> str:
    if len(value) <= EXAMPLE_CHARS:
        return value
    return f"{value[:EXAMPLE_CHARS]}... ({len(value):,} characters)"


def _rows_checked(frame: pl.DataFrame, contract: Contract, source: str, codes: ReferenceCodes) -> pl.DataFrame:
    """The feed's own typing and row rules: ``reason``, ``column_name`` and ``duplicate`` per row."""
    if contract.feed == "catalogues":
        rows = catalogues.checked(
            catalogues.canonical(frame, {source: contract}), codes.hs6, codes.countries, codes.currencies
        )
    elif contract.feed == "sales":
        rows = sales.checked(sales.canonical(frame, contract, str(contract.channel)), codes.countries, codes.currencies)
    else:
        rows = suppliers.checked(frame, codes.countries, codes.currencies)
    if "duplicate" not in rows.columns:
        rows = rows.with_columns(duplicate=pl.lit(False))
    return rows


def _notes(path: Path, contract: Contract, result: CheckResult) -> list[str]:
    notes = []
    enc = result.encoding_detected
    if contract.encoding in {"cp1252", "latin-1"} and enc in {"utf-8", "utf-8-sig"}:
        notes.append(
            f"the file looks UTF-8 but contract {contract.name} declares csv.encoding {contract.encoding}: "
            "accented text would be read wrongly (e.g. 'MÃ¼ller' for 'Müller')"
        )
    delim = result.delimiter_detected
    if result.delimiter_declared and delim and delim != result.delimiter_declared:
        notes.append(
            f"the header looks {delim!r}-separated; contract {contract.name} declares csv.delimiter "
            f"{result.delimiter_declared!r}"
        )
    if contract.feed == "catalogues":
        if not (path.match(contract.file_glob) and catalogues.DATE_NAME.match(path.stem)):
            notes.append(
                f"land it as catalogues/<supplier_id>/<YYYY-MM-DD>{contract.file_glob.lstrip('*')}: under another "
                "name the load rejects it (bad_file_name)"
            )
        if contract.suppliers:
            notes.append(f"suppliers on this contract: {', '.join(contract.suppliers)}")
        notes.append(
            "at load a snapshot that lacks more than "
            f"{contract.limits.max_delist_share:.0%} of the products of its supplier's previous snapshot is held "
            f"for review (implausible_delisting; limits.max_delist_share), which needs the warehouse"
        )
    elif contract.feed == "sales":
        if not path.match(contract.file_glob):
            notes.append(
                f"the load reads only files matching {contract.file_glob!r} under "
                f"sales/{contract.channel}/<YYYY-MM-DD>/; this name would be ignored"
            )
        notes.append(
            "'would load' counts rows that pass the row rules; at load the warehouse also decides repeats of "
            f"loaded events and {', '.join(SALES_LOAD_TIME_REASONS)} (the rows that would wait are previewed "
            "against the published snapshot when there is one)"
        )
    elif not path.match(contract.file_glob):
        notes.append(f"the load reads only files matching {contract.file_glob!r} under suppliers/")
    return notes


def check_file(
    path: Path,
    contract: Contract,
    reference_dir: Path,
    examples: int = EXAMPLES,
    snapshot: Path | None = None,
    lookback_days: int = 7,
) -> CheckResult:
    """What loading ``path`` through ``contract`` would do, without a warehouse.

    With ``snapshot`` (a published, read-only snapshot), sales rows that pass the rules are also
    judged against its products, ECB rates and order lines: those that would wait are counted.
    """
    path = path.resolve()
    encoding, delimiter = sniff(path, contract)
    text_format = contract.format in {"csv", "json", "jsonl"}
    result = CheckResult(
        file=str(path),
        contract=contract.name,
        contract_path=str(contract.path),
        feed=contract.feed,
        format=contract.format,
        encoding_declared=contract.encoding if text_format else None,
        encoding_detected=encoding,
        delimiter_declared=contract.delimiter if contract.format == "csv" else None,
        delimiter_detected=delimiter,
    )
    result.notes = _notes(path, contract, result)
    source = contract.channel or contract.name
    batch = read_batch([(path, sha256_file(path), source, contract)], path.parent, contract.feed, absolute_names=True)
    if batch.rejected:
        rejected, row = batch.rejected[0], batch.rejections[0]
        message = str(row["detail"])
        result.rows_read = result.rows_quarantined = rejected.rows_read
        result.rejection = Rejection(
            str(row["reason"]),
            message,
            cast("int | None", row["line_number"]),
            _rule(message, contract),
            rejected.rows_read,
        )
        return result
    frame = batch.frame
    result.rows_excluded = batch.excluded.height
    result.rows_read = frame.height + result.rows_excluded
    result.exclusions = _exclusions(contract, batch.excluded, examples)
    if frame.height == 0 and result.rows_excluded:
        result.notes.append("every row is excluded by the contract's exclude rules")
        return result
    if frame.height == 0:
        result.notes.append("the file has a header but no rows")
        return result
    rows = _rows_checked(frame, contract, source, reference_codes(reference_dir))
    bad = rows.filter(pl.col("reason").is_not_null()).sort("line_number")
    result.rows_quarantined = bad.height
    result.rows_duplicate = rows.filter(pl.col("reason").is_null() & pl.col("duplicate")).height
    result.rows_would_load = frame.height - result.rows_quarantined - result.rows_duplicate
    result.reasons = _per_reason(contract, bad, examples)
    if contract.feed == "sales" and snapshot is not None:
        good = rows.filter(pl.col("reason").is_null() & ~pl.col("duplicate"))
        waiting = would_wait(good, contract, snapshot, lookback_days)
        result.rows_would_wait, result.waits_against = waiting.height, snapshot.name
        result.waits = _per_reason(contract, waiting.sort("line_number"), examples)
    return result


def _per_reason(contract: Contract, bad: pl.DataFrame, examples: int) -> list[ReasonCount]:
    counts = bad.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return [
        ReasonCount(reason, n, _examples(contract, bad.filter(pl.col("reason") == reason).head(examples)))
        for reason, n in counts.iter_rows()
    ]


WAIT_SQL = """
SELECT r.line_number, r.raw_row,
    CASE
        WHEN r.event_type IN ('order', 'credit') AND NOT getvariable('own_products') AND NOT EXISTS (
            SELECT 1 FROM core.dim_product p WHERE p.supplier_id = r.supplier_id AND p.supplier_sku = r.supplier_sku
              AND p.valid_from <= r.event_ts::DATE AND r.event_ts::DATE < p.valid_to) THEN 'unknown_product'
        WHEN r.event_type IN ('order', 'credit') AND r.currency <> 'EUR' AND NOT EXISTS (
            SELECT 1 FROM core.fx_rate x WHERE x.currency = r.currency AND x.rate_date <= r.event_ts::DATE
              AND r.event_ts::DATE - x.rate_date <= getvariable('lookback')) THEN 'fx_rate_missing'
        WHEN r.event_type IN ('cancel', 'return') AND NOT EXISTS (
            SELECT 1 FROM core.fct_sales_event f WHERE f.channel = r.channel AND f.order_id = r.order_id
              AND f.line_id = r.line_id AND f.event_type = 'order')
          AND NOT EXISTS (
            SELECT 1 FROM check_rows o WHERE o.event_type = 'order' AND o.order_id = r.order_id
              AND o.line_id = r.line_id) THEN 'orphan_reference'
    END AS reason,
    CASE WHEN r.event_type IN ('cancel', 'return') THEN 'order_id'
         WHEN r.currency <> 'EUR' THEN 'currency' ELSE 'supplier_sku' END AS column_name
FROM check_rows r
"""


def would_wait(rows: pl.DataFrame, contract: Contract, snapshot: Path, lookback_days: int) -> pl.DataFrame:
    """The rows that would wait at load (reason, column_name), judged read-only against ``snapshot``.

    A preview of the load's own decisions (``pipelines/resources/sql/core/fct_sales_event_load.sql``): no product
    version valid on the event's UTC date (unless the contract describes its own products), no
    ECB rate within the look-back, a cancel or return whose order line is neither loaded nor in
    the file. The file's content reaches DuckDB only as a registered Arrow table.
    """
    columns = ["line_number", "raw_row", "channel", "event_type", "event_ts", "order_id", "line_id"]
    columns += ["supplier_id", "supplier_sku", "currency"]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        con.register("check_rows", rows.select(columns).to_arrow())
        con.execute("SET VARIABLE own_products = ?", [contract.products is not None])
        con.execute("SET VARIABLE lookback = ?", [lookback_days])
        decided = con.sql(WAIT_SQL).pl()
    return decided.filter(pl.col("reason").is_not_null())
