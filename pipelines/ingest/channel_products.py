"""A channel's own products: product versions for a channel no supplier catalogue describes.

A sales channel contract may have a ``products`` section (``pipelines/resources/contracts/README.md``, *Channels
without a catalogue*): ``defaults`` (country_of_origin, hs_code, category, unit_weight_kg, title,
brand) and/or a ``sku_map`` CSV (``supplier_sku`` plus any of those attributes; an empty cell
falls back to the default). Before a sales chunk of such a channel is conformed,
:func:`ensure_products` makes sure every (supplier_id, supplier_sku) of the chunk has its version
in ``core.dim_product`` (``pipelines/resources/sql/core/dim_product_channel.sql``):

* attributes from the SKU's map row, else the defaults; the title is the SKU itself when neither
  gives one; ``attribute_source`` says where each came from (``sku_map:<path>``,
  ``contract:<path>``, ``supplier_sku``); ``source_file`` is ``contract:<contract path>``;
* one version per SKU, valid 1900-01-01 to 9999-12-31 (a map is no dated snapshot); a SKU whose
  origin or HS code is still unknown gets none, so its sales are ``unknown_product`` and wait;
* HS codes and countries are checked against ``core.dim_hs_code`` / ``core.dim_country``: a value
  that is not a real code makes the whole section a :class:`~pipelines.contracts.ContractError`
  naming the file, the line and the column (the contract is wrong; loading some SKUs and letting
  others wait without saying why would hide the typo), so the channel's sales do not load until
  it is fixed;
* products of catalogue suppliers come from their catalogues only: a contract whose
  ``defaults.supplier_id`` is a catalogue supplier is an error, and rows of a mapped supplier
  column that name one are left to the catalogue. So catalogue rebuilds, which delete by
  supplier, never meet a channel's products (and keep ``contract:`` rows regardless).

Cost per chunk follows the chunk's new SKUs. When the section's content changes (its fingerprint:
defaults, the map's bytes, the paths), every SKU the channel has products, held facts or waiting
sales for is evaluated again once, the versions that changed are rewritten, the facts pointing at
them take the new origin, HS code, chapter, category and weight
(``pipelines/resources/sql/core/fct_sales_event_repoint.sql``), the marts are invalidated, and the change is recorded
in ``audit.channel_product_maps``. :func:`refresh_products` does the same without a sales chunk.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl

from pipelines.contracts import (
    PRODUCT_ATTRIBUTES,
    Contract,
    ContractError,
    Products,
    load_contracts,
    supplier_contracts,
)
from pipelines.ingest.catalogues import repoint_facts
from pipelines.settings import Settings

CHANNEL_SQL = "core/dim_product_channel.sql"
OWNED = "contract:"  # source_file prefix of a channel's own products
KEYS = ["supplier_id", "supplier_sku"]
CODES = {
    "hs_code": ("SELECT hs_code AS code FROM core.dim_hs_code WHERE level = 6", "an HS 2022 subheading"),
    "country_of_origin": ("SELECT country_code AS code FROM core.dim_country", "an ISO 3166 country"),
}


def ensure_products(
    con: duckdb.DuckDBPyConnection, settings: Settings, contract: Contract, events: pl.DataFrame, batch_id: str
) -> list[str]:
    """Give the (supplier_id, supplier_sku) pairs of ``events`` their channel product versions.

    Part of the caller's transaction. A no-op for a contract without ``products``. Returns notes
    for the load summary.
    """
    if contract.products is None:
        return []
    pairs = _pairs(events)
    if _applied(con, contract) != contract.products.fingerprint:
        return _apply(con, settings, contract, pairs, batch_id)
    con.register("cp_pairs", pairs.to_arrow())
    try:
        missing = con.sql("SELECT * FROM cp_pairs ANTI JOIN core.dim_product USING (supplier_id, supplier_sku)").pl()
    finally:
        con.unregister("cp_pairs")
    missing = _own(con, settings, contract, missing)
    if missing.height == 0:
        return []
    return _write(con, settings, contract, missing, batch_id)[1]


def refresh_products(
    con: duckdb.DuckDBPyConnection, settings: Settings, contract: Contract, batch_id: str
) -> list[str]:
    """Apply a changed ``products`` section without new sales (nothing happens when it is unchanged).

    Re-evaluates the SKUs the channel has products, held facts or waiting sales for; a pending
    pass can call it before re-evaluating the channel's waiting sales.
    """
    if contract.products is None or _applied(con, contract) == contract.products.fingerprint:
        return []
    return _apply(con, settings, contract, pl.DataFrame(schema=dict.fromkeys(KEYS, pl.String)), batch_id)


def attributes(products: Products, pairs: pl.DataFrame) -> pl.DataFrame:
    """(supplier_id, supplier_sku) pairs with each attribute and ``src_<attribute>``: map row, else defaults.

    Pure. The map is keyed by ``supplier_sku`` (the same SKU of any supplier the channel records).
    """
    frame = pairs.select(KEYS)
    rows = products.sku_map_rows
    mapped = [c for c in PRODUCT_ATTRIBUTES if rows is not None and c in rows.columns]
    if rows is not None and mapped:
        frame = frame.join(rows.select("supplier_sku", *mapped), on="supplier_sku", how="left")
    out = []
    for name in PRODUCT_ATTRIBUTES:
        own = pl.col(name) if name in mapped else pl.lit(None, dtype=pl.String)
        default = pl.lit(products.defaults.get(name), dtype=pl.String)
        fallback = pl.col("supplier_sku") if name == "title" else pl.lit(None, dtype=pl.String)
        source = (
            pl.when(own.is_not_null())
            .then(pl.lit(f"sku_map:{products.sku_map}"))
            .when(default.is_not_null())
            .then(pl.lit(f"contract:{products.contract}"))
            .when(fallback.is_not_null())
            .then(pl.lit("supplier_sku"))
        )
        out += [pl.coalesce(own, default, fallback).alias(name), source.alias(f"src_{name}")]
    return frame.select(*KEYS, *out)


def _pairs(events: pl.DataFrame) -> pl.DataFrame:
    present = pl.col("supplier_id").is_not_null() & pl.col("supplier_sku").is_not_null()
    present = present & (pl.col("supplier_id") != "") & (pl.col("supplier_sku") != "")
    return events.select(KEYS).filter(present).unique().sort(KEYS)


def _applied(con: duckdb.DuckDBPyConnection, contract: Contract) -> str | None:
    """The fingerprint of the channel's products section last applied (None: never)."""
    found = con.execute(
        "SELECT arg_max(fingerprint, applied_at) FROM audit.channel_product_maps WHERE channel = ?",
        [contract.channel],
    ).fetchall()
    return found[0][0] if found else None


def _apply(
    con: duckdb.DuckDBPyConnection, settings: Settings, contract: Contract, pairs: pl.DataFrame, batch_id: str
) -> list[str]:
    """A new or changed section: check its codes, re-evaluate every SKU the channel has, record it."""
    assert contract.products is not None
    _check_codes(con, contract)
    known = con.sql(
        """SELECT supplier_id, supplier_sku FROM core.dim_product WHERE source_file = $source
           UNION SELECT supplier_id, supplier_sku FROM core.fct_sales_event_held WHERE channel = $channel
           UNION SELECT supplier_id, supplier_sku FROM raw.pending_sales_events WHERE channel = $channel""",
        params={"source": _source(contract), "channel": contract.channel},
    ).pl()
    universe = _own(con, settings, contract, _pairs(pl.concat([pairs.select(KEYS), known.select(KEYS)])))
    counts, notes = _write(con, settings, contract, universe, batch_id)
    con.execute(
        "INSERT INTO audit.channel_product_maps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            contract.channel,
            contract.products.contract,
            contract.products.sku_map,
            contract.products.fingerprint,
            counts["skus"],
            counts["versions"],
            counts["changed"],
            counts["repointed"],
            batch_id,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    return (
        [
            f"{contract.channel}: products section applied ({counts['versions']} of {counts['skus']} SKU(s) "
            f"with a version, {counts['changed']} changed)",
            *notes,
        ]
        if counts["skus"]
        else notes
    )


def _source(contract: Contract) -> str:
    return f"{OWNED}{contract.products.contract}"  # type: ignore[union-attr]


def _check_codes(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """HS codes and countries of the defaults and the map must be real codes (ContractError naming where)."""
    products = contract.products
    assert products is not None
    for name, (query, what) in CODES.items():
        known = con.sql(query).pl()["code"]
        value = products.defaults.get(name)
        if value is not None and not (known == value).any():
            raise ContractError(f"contract {contract.path}: products.defaults.{name}: {value!r} is not {what}")
        rows = products.sku_map_rows
        if rows is None or name not in rows.columns:
            continue
        bad = rows.filter(pl.col(name).is_not_null() & ~pl.col(name).is_in(known.implode())).sort("line_number")
        if bad.height:
            line, value = bad["line_number"][0], bad[name][0]
            more = f" (and {bad.height - 1} more such lines)" if bad.height > 1 else ""
            raise ContractError(
                f"contract {contract.path}: products.sku_map {products.sku_map}: line {line}, column {name}: "
                f"{value!r} is not {what}{more}",
                line,
            )


def _own(con: duckdb.DuckDBPyConnection, settings: Settings, contract: Contract, pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs whose products this channel describes: catalogue suppliers' are their catalogue's.

    A ``defaults.supplier_id`` that is a catalogue supplier, or a SKU whose version belongs to
    another channel contract that still exists, is a ContractError.
    """
    catalogue = supplier_contracts(load_contracts(settings.contracts_dir, "catalogues"))
    supplier = contract.defaults.get("supplier_id")
    if supplier in catalogue and "supplier_id" not in contract.columns:
        raise ContractError(
            f"contract {contract.path}: products: defaults.supplier_id {supplier} is a catalogue supplier (contract "
            f"{catalogue[supplier].path}); its products come from its catalogue: record this channel's products "
            "under a supplier id of their own"
        )
    if pairs.height == 0:
        return pairs
    con.register("cp_pairs", pairs.to_arrow())
    try:
        built = con.sql(
            "SELECT DISTINCT supplier_id FROM core.dim_product SEMI JOIN (SELECT DISTINCT supplier_id FROM cp_pairs) "
            "USING (supplier_id) WHERE NOT starts_with(source_file, 'contract:')"
        ).pl()["supplier_id"]
        others = con.execute(
            "SELECT DISTINCT source_file, supplier_id, supplier_sku FROM core.dim_product SEMI JOIN cp_pairs "
            "USING (supplier_id, supplier_sku) WHERE starts_with(source_file, 'contract:') AND source_file <> ?",
            [_source(contract)],
        ).fetchall()
    finally:
        con.unregister("cp_pairs")
    for owner, supplier_id, sku in others:  # one per other contract at most before raising
        if (settings.contracts_dir / owner.removeprefix(OWNED)).is_file():
            raise ContractError(
                f"contract {contract.path}: products: {supplier_id}/{sku} is already described by contract "
                f"{owner.removeprefix(OWNED)}; two channels cannot describe the same products"
            )
    excluded = pl.Series(list(catalogue), dtype=pl.String).append(built)
    return pairs.filter(~pl.col("supplier_id").is_in(excluded.implode()))


def _write(
    con: duckdb.DuckDBPyConnection, settings: Settings, contract: Contract, pairs: pl.DataFrame, batch_id: str
) -> tuple[dict[str, int], list[str]]:
    """Write the pairs' versions; re-point the facts on versions that changed (and restore held ones)."""
    assert contract.products is not None
    con.register("channel_products", attributes(contract.products, pairs).to_arrow())
    try:
        con.execute("SET VARIABLE product_source = ?", [_source(contract)])
        con.execute((settings.sql_dir / CHANNEL_SQL).read_text(encoding="utf-8"))
    finally:
        con.unregister("channel_products")
    ((skus, versions, changed, replaced, held),) = con.execute("SELECT * FROM cp_counts").fetchall()
    counts = {"skus": skus, "versions": versions, "changed": changed, "repointed": 0}
    notes = []
    if replaced or held:
        notes = _repoint(con, settings, sorted(set(pairs["supplier_id"])), batch_id, counts)
    con.execute("DROP TABLE IF EXISTS rp_before")
    return counts, notes


def _repoint(
    con: duckdb.DuckDBPyConnection, settings: Settings, suppliers: list[str], batch_id: str, counts: dict[str, int]
) -> list[str]:
    """Facts of these suppliers follow their rewritten versions (temp table rp_before: the versions before)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE affected_suppliers AS SELECT unnest(?::VARCHAR[]) AS supplier_id", [suppliers]
    )
    counts["repointed"], notes = repoint_facts(
        con,
        settings,
        batch_id,
        repointed_to="the channel's changed product attributes",
        held_because="their SKU has no origin or HS code any more (unknown_product, in "
        "core.fct_sales_event_held until the contract gives one)",
        restored_because="the channel's products cover them",
    )
    con.execute("DROP TABLE affected_suppliers")
    return notes
