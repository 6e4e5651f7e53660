"""The GX project's suites, assets and checkpoints, written as reviewable Python.

``pipelines/resources/great_expectations/`` (committed) is generated from this module: run
``python -m pipelines.quality.suites`` after changing a rule; a test fails while the committed
JSON differs from what this module writes. Each rule has a stable name (``meta.rule``, the
``rule`` column of ``audit.dq_results``), a severity and a note saying why it matters.

Severities: ``critical`` rules state what must never happen (a failure stops the build before
the snapshot is published); ``warning`` rules state what should be rare, mostly as GX
``mostly`` ratios, and are recorded and shown in Data Docs. GX's ``mostly`` is over the non-NULL
values for between / in set / not in set, so a rate over all rows is written over a column that
is never NULL (the landed rows' ``outcome``), not over one that is NULL for most rows. Business rules GX cannot express
as a column expectation are SQL (``unexpected_rows_expectation``); the gate counts the rows
returned, and a failed rule's message shows the first of them. Gates evaluate every rule as
SQL with GX's semantics (``pipelines.quality.evaluate``); GX stores the results and renders
the Data Docs (``pipelines.quality.validations``).

Feed stages validate only the rows of load batches no passed gate has validated yet
(``audit.dq_pending_batches``), so their cost follows the new data; ``core`` and ``marts``
validate whole tables.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STAGES = ("fx", "catalogues", "sales", "core", "marts")
FEEDS = ("fx", "catalogues", "sales")
DATASOURCE = "warehouse"
BATCH_DEFINITION = "all"
GX_VERSION = "1.24.1"
# Every dimension of marts.export_breakdown_monthly (each adds up to the target's net per month).
BREAKDOWN_DIMENSIONS = (
    "hs_section",
    "hs_chapter",
    "category",
    "supplier",
    "supplier_country",
    "channel",
    "ship_to_region",
    "origin_country",
    "ship_to_country",
)
# GX's LegacyDiagnosticRendererType.META_PROPERTIES: a suite's meta.notes in this format makes its
# validation pages add a column per key, read from each expectation's meta.attributes.
META_PROPERTIES = "renderer.diagnostic.meta_properties"
_NAMESPACE = uuid.UUID("5b0f1c2e-7a51-4f0e-9b7e-3c2d1e0a9f11")


def stable_id(*parts: str) -> str:
    """A deterministic id, so regenerating the project changes only what changed."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Asset:
    """Something GX validates: a table, or a query over the warehouse (``query``)."""

    name: str
    table: str  # the table it describes (audit.dq_results.table_name)
    scope: str  # which rows, in words
    query: str | None = None


@dataclass(frozen=True)
class Rule:
    rule: str
    type: str
    severity: str
    notes: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    stage: str
    asset: str
    rules: tuple[Rule, ...]


def critical(rule: str, type_: str, notes: str, **kwargs: Any) -> Rule:
    return Rule(rule, type_, "critical", notes, kwargs)


def warning(rule: str, type_: str, notes: str, **kwargs: Any) -> Rule:
    return Rule(rule, type_, "warning", notes, kwargs)


def sql(rule: str, severity: str, description: str, query: str, notes: str) -> Rule:
    """A rule as SQL returning the offending rows; ``{batch}`` is the validated rows."""
    return Rule(
        rule,
        "unexpected_rows_expectation",
        severity,
        notes,
        {"unexpected_rows_query": " ".join(query.split())},
        description,
    )


def where(column: str, value: str) -> dict[str, str]:
    """GX row condition: only rows where ``column`` equals ``value``."""
    return {"row_condition": f'col("{column}")=="{value}"', "condition_parser": "great_expectations"}


def _pending(feed: str) -> str:
    return f"batch_id IN (SELECT batch_id FROM audit.dq_pending_batches WHERE feed = '{feed}')"


RAW_TABLES = {"fx": "raw.fx_rates", "catalogues": "raw.catalogue_items", "sales": "raw.sales_events"}
EVENT_TYPES = ["order", "cancel", "return", "credit"]  # pipelines.contracts.EVENT_TYPES, in docs/design.md order
PENDING_SCOPE = "rows of load batches no passed quality gate has validated yet"
# A landed row's outcome: 'loaded', or the reason code it was quarantined for. Never NULL, so a
# reason-rate rule (not in set, with ``mostly``) takes its share over every landed row: GX skips
# NULLs in between / in set / not in set, and over ``reason`` (NULL for every loaded row) the share
# would be over the quarantined rows only (1 unknown product among 2,000 rows read 100 %).
LOADED = "loaded"
OUTCOME = "outcome"


# Sales rows waiting in raw.pending_sales_events (for a product version, an FX rate or their order
# line) are late, not broken: the broken-feed rules (mostly_loaded, file_mostly_loaded) do not count
# them, nor rows that loaded later; the reason-rate warnings (known_products, ...) still do.
WAITING = {"sales": "quarantine_id IN (SELECT quarantine_id FROM raw.pending_sales_events)"}
LATE = {
    "sales": "(SELECT count(*) FROM audit.quarantine q WHERE q.sha256 = l.sha256 AND q.path = l.path "
    "AND (q.resolved_at IS NOT NULL OR q.quarantine_id IN (SELECT quarantine_id FROM raw.pending_sales_events)))"
}


def _feed_assets(feed: str) -> tuple[Asset, ...]:
    raw = RAW_TABLES[feed]
    return (
        Asset(f"{feed}_rows", raw, PENDING_SCOPE, f"SELECT * FROM {raw} WHERE {_pending(feed)}"),
        Asset(
            f"{feed}_landed",
            f"{raw} + audit.quarantine",
            "every row of the loaded files of the pending batches: loaded (reason NULL, outcome 'loaded') or "
            "quarantined (reason and outcome the reason code; waiting: still waiting to load); files rejected "
            "whole are judged by the files rules",
            f"SELECT source_file, line_number, NULL::VARCHAR AS column_name, NULL::VARCHAR AS reason, "
            f"'{LOADED}' AS outcome, FALSE AS waiting FROM {raw} WHERE {_pending(feed)} "
            f"UNION ALL SELECT path, line_number, column_name, reason, reason AS outcome, "
            f"{WAITING.get(feed, 'FALSE')} AS waiting "
            f"FROM audit.quarantine WHERE feed = '{feed}' AND resolved_at IS NULL AND {_pending(feed)} "
            f"AND path IN (SELECT path FROM audit.load_ledger WHERE feed = '{feed}' AND status = 'loaded')",
        ),
        Asset(
            f"{feed}_files",
            "audit.load_ledger",
            "one row per landed file of the pending batches (quarantined_share: rows quarantined for good, "
            "over the rows not excluded by contract rules)",
            "SELECT path, source, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_excluded, "
            f"(rows_quarantined - {LATE.get(feed, '0')}) / greatest(rows_read - rows_excluded, 1) "
            "AS quarantined_share, "
            "rows_duplicate / greatest(rows_read - rows_excluded, 1) AS duplicate_share, message "
            f"FROM audit.load_ledger l WHERE feed = '{feed}' AND {_pending(feed)}",
        ),
    )


ASSETS: tuple[Asset, ...] = (
    *(a for feed in FEEDS for a in _feed_assets(feed)),
    Asset("fct_sales_event", "core.fct_sales_event", "whole table"),
    Asset("dim_product", "core.dim_product", "whole table"),
    Asset("fx_rate", "core.fx_rate", "whole table"),
    Asset("dim_supplier", "core.dim_supplier", "whole table"),
    Asset("export_progress_daily", "marts.export_progress_daily", "whole table"),
    Asset("export_breakdown_monthly", "marts.export_breakdown_monthly", "whole table"),
)

BETWEEN = "expect_column_values_to_be_between"
NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
NOT_IN_SET = "expect_column_values_to_not_be_in_set"
IS_NULL = "expect_column_values_to_be_null"


def _landed_rules(feed: str, broken_share: float, normal_share: float) -> tuple[Rule, ...]:
    return (
        sql(
            "mostly_loaded",
            "critical",
            f"files of a batch with more than {broken_share:.0%} of its rows quarantined (largest first)",
            "WITH f AS (SELECT source_file, count(*) AS rows, count(reason) FILTER (WHERE NOT waiting) AS quarantined "
            "FROM {batch} "
            "GROUP BY source_file), t AS (SELECT sum(rows) AS rows, sum(quarantined) AS quarantined FROM f) "
            "SELECT f.source_file, f.quarantined, f.rows, round(100 * t.quarantined / t.rows, 2) AS batch_pct "
            f"FROM f, t WHERE t.quarantined > {broken_share} * t.rows AND f.quarantined > 0 "
            "ORDER BY f.quarantined DESC, f.source_file",
            f"More than {broken_share:.0%} of the landed rows quarantined means the feed itself is broken "
            "(a changed layout, a wrong contract, a bad export), not a few bad rows; the files listed are "
            "the ones responsible. Rows still waiting to load (sales before their catalogue or rate) do not "
            "count.",
        ),
        warning(
            "few_quarantined",
            IS_NULL,
            f"A few bad rows are normal; more than {normal_share:.0%} quarantined deserves a look at "
            f"audit.quarantine (feed '{feed}').",
            column="reason",
            mostly=round(1 - normal_share, 6),
        ),
    )


def _file_mostly_loaded(notes: str) -> Rule:
    return sql(
        "file_mostly_loaded",
        "critical",
        "loaded files with more than half their rows quarantined (rows excluded by contract rules not counted)",
        "SELECT path, rows_quarantined, rows_read FROM {batch} WHERE status = 'loaded' AND quarantined_share > 0.5",
        notes,
    )


def _files_rejected(severity: str, notes: str) -> Rule:
    return sql(
        "no_rejected_files",
        severity,
        "landed files rejected whole (contract broken)",
        "SELECT path, message FROM {batch} WHERE status = 'rejected'",
        notes,
    )


def _price_range(currency: str, low: float, high: float) -> Rule:
    return warning(
        f"price_range_{currency.lower()}",
        BETWEEN,
        f"Consumer goods list at {low:g} to {high:,.0f} {currency} a unit; outside is usually a price in "
        "cents, a pack price or a decimal-mark mix-up.",
        column="unit_price",
        min_value=low,
        max_value=high,
        mostly=0.999,
        **where("currency", currency),
    )


SUITES: tuple[Suite, ...] = (
    # ---- FX: ECB reference rates as landed -------------------------------------------------
    Suite(
        "fx_rates",
        "fx",
        "fx_rows",
        (
            critical(
                "rate_positive",
                BETWEEN,
                "ECB rates are units of currency per EUR; EUR = amount / rate, so a rate must be above zero.",
                column="rate",
                min_value=0,
                strict_min=True,
            ),
            critical(
                "one_rate_per_currency_and_day",
                "expect_compound_columns_to_be_unique",
                "The ECB publishes one reference rate per currency and day; two would make EUR values ambiguous.",
                column_list=["currency", "rate_date"],
            ),
            critical(
                "no_eur_rate",
                NOT_IN_SET,
                "Rates are quoted against the euro; a 'EUR' rate means the file was misread.",
                column="currency",
                value_set=["EUR"],
            ),
            sql(
                "target_business_day",
                "critical",
                "rates dated on a weekend or TARGET holiday",
                "SELECT rate_date, currency, source_file, line_number FROM {batch} "
                "WHERE NOT audit.is_target_business_day(rate_date)",
                "The ECB publishes only on TARGET business days (audit.target_holiday); another date means "
                "a date parsed wrongly (day and month swapped, a wrong year).",
            ),
            sql(
                "gbp_and_cny_known",
                "critical",
                "days with rates but no GBP rate (or no CNY rate, from 2005-04-01)",
                "SELECT d.rate_date FROM (SELECT DISTINCT rate_date FROM {batch}) d "
                "WHERE NOT EXISTS (SELECT 1 FROM core.fx_rate f WHERE f.rate_date = d.rate_date "
                "AND f.currency = 'GBP') "
                "OR (d.rate_date >= DATE '2005-04-01' AND NOT EXISTS (SELECT 1 FROM core.fx_rate f "
                "WHERE f.rate_date = d.rate_date AND f.currency = 'CNY'))",
                "UK goods are priced in GBP and Chinese consumers pay in CNY: every ECB day must have both "
                "(the ECB has quoted CNY since 2005-04-01).",
            ),
            sql(
                "matches_core",
                "critical",
                "landed rates that differ from core.fx_rate",
                "SELECT b.currency, b.rate_date, b.rate, f.rate AS core_rate FROM {batch} b "
                "LEFT JOIN core.fx_rate f USING (currency, rate_date) WHERE f.rate IS DISTINCT FROM b.rate",
                "Every loaded rate is the rate sales are converted at.",
            ),
            sql(
                "not_in_future",
                "critical",
                "rates dated after today",
                "SELECT rate_date, currency, source_file FROM {batch} WHERE rate_date > current_date",
                "The ECB does not publish ahead; a future date is a misread date.",
            ),
            sql(
                "day_on_day_move",
                "warning",
                "rates more than 10% away from the currency's previous ECB rate",
                "WITH r AS (SELECT currency, rate_date, rate, "
                "lag(rate) OVER (PARTITION BY currency ORDER BY rate_date) AS previous FROM core.fx_rate) "
                "SELECT r.currency, r.rate_date, r.rate, r.previous, "
                "round(100 * (r.rate / r.previous - 1), 2) AS move_pct "
                "FROM r JOIN {batch} b USING (currency, rate_date) WHERE abs(r.rate / r.previous - 1) > 0.10",
                "Reference rates rarely move 10% in a day (ISK 2008, RUB 2014 and 2022); such a move is more "
                "often a misplaced decimal.",
            ),
        ),
    ),
    Suite(
        "fx_landed",
        "fx",
        "fx_landed",
        (
            *_landed_rules("fx", 0.10, 0.01),
            warning(
                "no_rate_conflicts",
                NOT_IN_SET,
                "A rate that differs from the one already loaded for that currency and day (fx_rate_conflict) "
                "means the ECB revised it or a file was edited: the loaded rate is kept, someone should know.",
                column=OUTCOME,
                value_set=["fx_rate_conflict"],
            ),
        ),
    ),
    Suite(
        "fx_files",
        "fx",
        "fx_files",
        (
            _files_rejected(
                "warning",
                "A rejected ECB file leaves its days to other files (history and daily overlap); missing rates "
                "show up as fx_rate_missing in sales.",
            ),
        ),
    ),
    # ---- Catalogues: supplier snapshots as landed -------------------------------------------
    Suite(
        "catalogue_items",
        "catalogues",
        "catalogues_rows",
        (
            sql(
                "sku_unique_per_snapshot",
                "critical",
                "SKUs listed twice in one catalogue snapshot",
                "SELECT source_file, supplier_sku, count(*) AS listed FROM {batch} "
                "GROUP BY source_file, supplier_sku HAVING count(*) > 1",
                "A snapshot lists each SKU once; two rows would open two product versions for one day.",
            ),
            sql(
                "gtin_check_digit",
                "critical",
                "GTINs whose GS1 check digit is wrong",
                "SELECT supplier_id, supplier_sku, gtin, source_file, line_number FROM {batch} "
                "SEMI JOIN (SELECT gtin FROM (SELECT gtin, count(*) AS listed FROM {batch} WHERE gtin IS NOT NULL "
                "GROUP BY gtin) WHERE NOT audit.gtin_valid(gtin)) USING (gtin)",
                "Loaded GTINs passed the check digit at ingest (gtin_check_digit); one here is an ingest bug. "
                "(Each distinct GTIN is checked once: a snapshot repeats the catalogue.)",
            ),
            sql(
                "hs_code_in_hs2022",
                "critical",
                "HS codes that are not HS 2022 subheadings",
                "SELECT b.supplier_id, b.supplier_sku, b.hs_code FROM {batch} b "
                "ANTI JOIN (SELECT hs_code FROM core.dim_hs_code WHERE level = 6) h USING (hs_code)",
                "Breakdowns by HS section and chapter need a valid 6-digit HS 2022 code.",
            ),
            sql(
                "origin_is_iso_country",
                "critical",
                "countries of origin that are not ISO 3166 codes",
                "SELECT b.supplier_id, b.supplier_sku, b.country_of_origin FROM {batch} b "
                "ANTI JOIN core.dim_country c ON c.country_code = b.country_of_origin",
                "Targets (targets.yml) count goods by country of origin; it must be a real country.",
            ),
            sql(
                "currency_is_iso",
                "critical",
                "price currencies that are not ISO 4217 codes",
                "SELECT b.supplier_id, b.supplier_sku, b.currency FROM {batch} b "
                "ANTI JOIN core.dim_currency c ON c.currency_code = b.currency",
                "Prices are converted at the ECB rate of their currency.",
            ),
            critical(
                "price_positive",
                BETWEEN,
                "A list price is above zero and at most 1,000,000 a unit (price_absurd at ingest).",
                column="unit_price",
                min_value=0,
                max_value=1_000_000,
                strict_min=True,
            ),
            _price_range("EUR", 0.5, 10_000),
            _price_range("GBP", 0.5, 10_000),
            _price_range("DKK", 4, 75_000),
            _price_range("SEK", 5, 100_000),
            _price_range("CHF", 0.5, 10_000),
            _price_range("PLN", 2, 40_000),
            warning(
                "weight_plausible",
                BETWEEN,
                "Parcel-shippable consumer goods weigh 1 g to 1 t; outside is usually grams given as kg.",
                column="unit_weight_kg",
                min_value=0.001,
                max_value=1000,
                mostly=0.999,
            ),
            warning(
                "gtin_present",
                NOT_NULL,
                "Cross-border platforms ask for a GTIN; most listed goods should carry one.",
                column="gtin",
                mostly=0.9,
            ),
            warning(
                "category_present",
                NOT_NULL,
                "The category breakdown needs a category.",
                column="category",
                mostly=0.95,
            ),
        ),
    ),
    Suite(
        "catalogue_landed",
        "catalogues",
        "catalogues_landed",
        (
            *_landed_rules("catalogues", 0.10, 0.01),
            warning(
                "gtin_validity_rate",
                NOT_IN_SET,
                "At least 99% of landed catalogue rows have a valid GTIN (or none).",
                column=OUTCOME,
                value_set=["gtin_check_digit"],
                mostly=0.99,
            ),
            warning(
                "hs_validity_rate",
                NOT_IN_SET,
                "At least 99% of landed catalogue rows have a valid HS 2022 subheading.",
                column=OUTCOME,
                value_set=["hs_code_unknown"],
                mostly=0.99,
            ),
            warning(
                "origin_validity_rate",
                NOT_IN_SET,
                "At least 99.5% of landed catalogue rows have a valid country of origin.",
                column=OUTCOME,
                value_set=["unknown_country"],
                mostly=0.995,
            ),
            warning(
                "sku_conflict_rate",
                NOT_IN_SET,
                "A SKU listed twice with different values in one snapshot (duplicate_sku) is rare.",
                column=OUTCOME,
                value_set=["duplicate_sku"],
                mostly=0.999,
            ),
        ),
    ),
    Suite(
        "catalogue_files",
        "catalogues",
        "catalogues_files",
        (
            _files_rejected(
                "warning",
                "A rejected catalogue keeps the supplier's previous product versions in force; sales still load.",
            ),
            _file_mostly_loaded(
                "A loaded catalogue file with more than half its rows quarantined is broken: its products would "
                "look delisted.",
            ),
        ),
    ),
    # ---- Sales: channel events as landed ----------------------------------------------------
    Suite(
        "sales_events",
        "sales",
        "sales_rows",
        (
            critical(
                "event_type_known",
                IN_SET,
                "Every event is an order, a cancellation, a return or a standalone credit (docs/design.md, section 4).",
                column="event_type",
                value_set=EVENT_TYPES,
            ),
            sql(
                "event_id_unique_per_channel",
                "critical",
                "event ids loaded twice in a channel",
                "SELECT channel, event_id, count(*) AS loaded FROM {batch} "
                "GROUP BY channel, event_id HAVING count(*) > 1",
                "Event ids are unique within a channel; a repeat would count a sale twice.",
            ),
            critical(
                "quantity_positive",
                BETWEEN,
                "Landed quantities are positive units; the event type carries the direction.",
                column="quantity",
                min_value=1,
            ),
            warning(
                "quantity_plausible",
                BETWEEN,
                "Consumers buy a few units a line; over 100 is a B2B order or a typo.",
                column="quantity",
                min_value=1,
                max_value=100,
                mostly=0.999,
            ),
            critical(
                "order_priced",
                NOT_NULL,
                "An order line's value is quantity x unit price - discount: the price must be there.",
                column="unit_price",
                **where("event_type", "order"),
            ),
            critical(
                "order_has_currency",
                NOT_NULL,
                "An order line is converted to EUR at the ECB rate of its currency.",
                column="currency",
                **where("event_type", "order"),
            ),
            critical(
                "credit_priced",
                NOT_NULL,
                "A standalone credit is valued as itself (quantity x unit price - discount): the price must be there.",
                column="unit_price",
                **where("event_type", "credit"),
            ),
            critical(
                "credit_has_currency",
                NOT_NULL,
                "A standalone credit is converted to EUR at the ECB rate of its own date.",
                column="currency",
                **where("event_type", "credit"),
            ),
            sql(
                "currency_has_rate",
                "critical",
                "orders in a currency without an ECB rate within the look-back",
                "SELECT b.channel, b.event_id, b.currency, b.event_ts FROM {batch} b "
                "SEMI JOIN (SELECT currency, day FROM (SELECT DISTINCT currency, event_ts::DATE AS day FROM {batch} "
                "WHERE event_type IN ('order', 'credit') AND currency <> 'EUR') d ANTI JOIN core.fx_rate r "
                "ON r.currency = d.currency AND r.rate_date BETWEEN d.day - getvariable('fx_lookback_days') AND d.day"
                ") u ON u.currency = b.currency AND u.day IS NOT DISTINCT FROM b.event_ts::DATE "
                "WHERE b.event_type IN ('order', 'credit') AND b.currency <> 'EUR'",
                "Loaded orders and credits were valued at the ECB rate of their date or the latest within the "
                "look-back (settings.fx_lookback_days); one without a rate cannot have a EUR value (it waits). "
                "(Each currency and day is looked up once, not each event.)",
            ),
            sql(
                "ship_to_is_iso_country",
                "critical",
                "ship-to countries that are not ISO 3166 codes",
                "SELECT b.channel, b.event_id, b.ship_to_country FROM {batch} b "
                "ANTI JOIN core.dim_country c ON c.country_code = b.ship_to_country "
                "WHERE b.ship_to_country IS NOT NULL",
                "Targets (targets.yml) count goods by ship-to country; it must be a real country.",
            ),
            warning(
                "ships_to_china",
                IN_SET,
                "The business ships to consumers in mainland China, Hong Kong and Macao; other destinations "
                "should be rare and known.",
                column="ship_to_country",
                value_set=["CN", "HK", "MO"],
                mostly=0.99,
            ),
            sql(
                "event_ts_not_in_future",
                "critical",
                "events timestamped more than an hour after now (UTC)",
                "SELECT channel, event_id, event_ts, source_file FROM {batch} "
                "WHERE event_ts > (get_current_timestamp() AT TIME ZONE 'UTC') + INTERVAL 1 HOUR",
                "Timestamps are stored in UTC; a future one is a wrong time zone or date format in the contract.",
            ),
            warning(
                "event_ts_in_target_window",
                BETWEEN,
                "Sales are tracked from the earliest target window start to the latest window end (targets.yml); "
                "many events outside mean a date misread or a feed for another period.",
                column="event_ts",
                min_value={"$PARAMETER": "window_start"},
                max_value={"$PARAMETER": "window_end"},
                mostly=0.99,
            ),
            sql(
                "discount_within_line",
                "warning",
                "orders and credits whose discount is negative or exceeds quantity x unit price",
                "SELECT channel, event_id, quantity, unit_price, discount FROM {batch} "
                "WHERE event_type IN ('order', 'credit') AND (discount < 0 OR discount > quantity * unit_price)",
                "A discount beyond the line's price gives a negative sale.",
            ),
        ),
    ),
    Suite(
        "sales_landed",
        "sales",
        "sales_landed",
        (
            *_landed_rules("sales", 0.10, 0.02),
            warning(
                "known_products",
                NOT_IN_SET,
                "At least 99.5% of landed sales rows refer to a product in the catalogues (unknown_product: "
                "they wait in raw.pending_sales_events for the snapshot, up to waiting.max_days).",
                column=OUTCOME,
                value_set=["unknown_product"],
                mostly=0.995,
            ),
            warning(
                "rates_available",
                NOT_IN_SET,
                "At least 99.9% of landed sales rows have an ECB rate (fx_rate_missing: they wait for it).",
                column=OUTCOME,
                value_set=["fx_rate_missing"],
                mostly=0.999,
            ),
            warning(
                "references_resolved",
                NOT_IN_SET,
                "Cancellations and returns whose order line has not arrived (orphan_reference) wait in "
                "quarantine; more than 1% of them means an order feed is late or missing.",
                column=OUTCOME,
                value_set=["orphan_reference"],
                mostly=0.99,
            ),
            warning(
                "event_id_conflict_rate",
                NOT_IN_SET,
                "An event id re-delivered with different content (event_id_conflict) is rare.",
                column=OUTCOME,
                value_set=["event_id_conflict"],
                mostly=0.999,
            ),
        ),
    ),
    Suite(
        "sales_files",
        "sales",
        "sales_files",
        (
            _files_rejected(
                "warning",
                "A rejected sales file is a day of a channel's sales missing from the tracking; it is reported "
                "(run summary, report, Data Docs) but does not hold back the other files: fix and land it again.",
            ),
            _file_mostly_loaded(
                "A loaded sales file with more than half its rows quarantined is broken (rows waiting for their "
                "product version, rate or order line, or loaded later, do not count).",
            ),
            warning(
                "redelivery_rate",
                BETWEEN,
                "Channels re-deliver a few events (duplicates are counted, not loaded); in 95% of files at most "
                "5% of the rows are re-deliveries.",
                column="duplicate_share",
                min_value=0,
                max_value=0.05,
                mostly=0.95,
            ),
        ),
    ),
    # ---- Core: conformed dimensions and the fact -------------------------------------------
    Suite(
        "fct_sales_event",
        "core",
        "fct_sales_event",
        (
            critical(
                "event_type_known",
                IN_SET,
                "Every fact is an order, a cancellation, a return or a standalone credit.",
                column="event_type",
                value_set=EVENT_TYPES,
            ),
            sql(
                "event_key_unique",
                "critical",
                "(channel, event_id) keys held by more than one fact",
                "SELECT channel, event_id, count(*) AS facts FROM {batch} "
                "GROUP BY channel, event_id HAVING count(*) > 1",
                "One fact per event: a duplicate key counts a sale twice.",
            ),
            critical(
                "eur_amount_present",
                NOT_NULL,
                "Every fact has its EUR value (a missing rate is quarantined, never a silent zero).",
                column="eur_amount",
            ),
            sql(
                "signs_follow_event_type",
                "critical",
                "facts whose signs contradict their event type",
                "SELECT channel, event_id, event_type, quantity, local_amount, eur_amount FROM {batch} "
                "WHERE (event_type = 'order') <> (quantity > 0) "
                "OR sign(eur_amount) * sign(quantity) < 0 OR sign(local_amount) * sign(quantity) < 0",
                "Orders are positive, cancellations, returns and credits negative, so SUM(eur_amount) is net sales.",
            ),
            sql(
                "product_version_at_order_date",
                "critical",
                "facts not joined to the product version valid on their order date",
                "SELECT f.channel, f.event_id, f.product_sk, f.order_date, p.valid_from, p.valid_to FROM {batch} f "
                "LEFT JOIN core.dim_product p ON p.product_sk = f.product_sk "
                "WHERE p.product_sk IS NULL OR f.order_date < p.valid_from OR f.order_date >= p.valid_to "
                "OR p.supplier_id <> f.supplier_id OR p.supplier_sku <> f.supplier_sku "
                "OR p.country_of_origin <> f.country_of_origin OR p.hs_code <> f.hs_code",
                "Origin and HS code come from the product version valid at order time (SCD2); a fact pointing "
                "elsewhere (e.g. after a late catalogue re-sliced the history) is counted under the wrong origin.",
            ),
            sql(
                "fx_rate_is_ecb_rate",
                "critical",
                "facts whose rate is not the ECB rate of the order date or the latest within the look-back",
                "SELECT f.channel, f.event_id, f.currency, f.order_date, f.fx_rate_date, f.fx_rate, r.rate "
                "FROM {batch} f LEFT JOIN core.fx_rate r ON r.currency = f.currency AND r.rate_date = f.fx_rate_date "
                "WHERE CASE WHEN f.currency = 'EUR' THEN f.fx_rate <> 1 "
                "ELSE r.rate IS DISTINCT FROM f.fx_rate OR f.fx_rate_date > f.order_date "
                "OR f.order_date - f.fx_rate_date > getvariable('fx_lookback_days') END",
                "EUR = amount / ECB rate of the order's UTC date, or the latest before it within the look-back "
                "(docs/design.md, section 4).",
            ),
            sql(
                "order_lines_consistent",
                "critical",
                "order lines with no or several orders, several cancellations, or more returned than ordered",
                "SELECT channel, order_id, line_id, count(*) FILTER (WHERE event_type = 'order') AS orders, "
                "count(*) FILTER (WHERE event_type = 'cancel') AS cancels, sum(quantity) AS net_units "
                "FROM {batch} WHERE event_type <> 'credit' GROUP BY channel, order_id, line_id "
                "HAVING count(*) FILTER (WHERE event_type = 'order') <> 1 "
                "OR count(*) FILTER (WHERE event_type = 'cancel') > 1 OR sum(quantity) < 0",
                "A cancellation or return refers to a loaded order line and never takes away more than it sold "
                "(a standalone credit refers to none).",
            ),
            sql(
                "dates_consistent",
                "critical",
                "facts whose event_date is not the UTC date of event_ts, or dated before their order",
                "SELECT channel, event_id, event_ts, event_date, order_date FROM {batch} "
                "WHERE event_date <> event_ts::DATE OR order_date > event_date",
                "Value counts on the event's UTC date; a cancellation or return comes after its order.",
            ),
            sql(
                "hs_chapter_of_code",
                "critical",
                "facts whose HS chapter is not the first two digits of the HS code",
                "SELECT channel, event_id, hs_code, hs_chapter FROM {batch} WHERE hs_chapter <> left(hs_code, 2)",
                "The chapter breakdown groups by hs_chapter.",
            ),
            warning(
                "category_present",
                NOT_NULL,
                "The category breakdown shows facts without a category as '?'.",
                column="category",
                mostly=0.95,
            ),
            warning(
                "weight_present",
                NOT_NULL,
                "Progress in kg needs the product's weight.",
                column="weight_kg",
                mostly=0.98,
            ),
            warning(
                "eur_amount_plausible",
                BETWEEN,
                "A consumer order line rarely exceeds EUR 100,000.",
                column="eur_amount",
                min_value=-100_000,
                max_value=100_000,
                mostly=0.9999,
            ),
        ),
    ),
    Suite(
        "dim_product",
        "core",
        "dim_product",
        (
            sql(
                "product_sk_unique",
                "critical",
                "product keys held by more than one version",
                "SELECT product_sk, count(*) AS versions FROM {batch} GROUP BY product_sk HAVING count(*) > 1",
                "Facts join to exactly one product version.",
            ),
            sql(
                "versions_do_not_overlap",
                "critical",
                "product versions that overlap the previous version of the same SKU",
                "SELECT supplier_id, supplier_sku, valid_from, valid_to, previous_valid_to FROM ("
                "SELECT *, lag(valid_to) OVER (PARTITION BY supplier_id, supplier_sku ORDER BY valid_from) "
                "AS previous_valid_to FROM {batch}) WHERE valid_from < previous_valid_to",
                "SCD2: at any date a SKU has at most one version, so a fact joins to one origin and price.",
            ),
            sql(
                "valid_range_ordered",
                "critical",
                "product versions that end before they start",
                "SELECT supplier_id, supplier_sku, valid_from, valid_to FROM {batch} WHERE valid_from >= valid_to",
                "valid_from is inclusive and valid_to exclusive: a version covers at least one day.",
            ),
            sql(
                "current_is_open",
                "critical",
                "versions whose is_current flag disagrees with valid_to = 9999-12-31",
                "SELECT supplier_id, supplier_sku, valid_to, is_current FROM {batch} "
                "WHERE is_current <> (valid_to = DATE '9999-12-31')",
                "The open version (valid_to 9999-12-31) is the current one.",
            ),
            sql(
                "hs_code_in_hs2022",
                "critical",
                "product versions whose HS code is not an HS 2022 subheading, or whose chapter disagrees",
                "SELECT p.supplier_id, p.supplier_sku, p.hs_code, p.hs_chapter FROM {batch} p "
                "LEFT JOIN core.dim_hs_code h ON h.hs_code = p.hs_code AND h.level = 6 "
                "WHERE h.hs_code IS NULL OR p.hs_chapter <> left(p.hs_code, 2)",
                "Breakdowns by HS section and chapter need a valid code.",
            ),
            sql(
                "origin_is_iso_country",
                "critical",
                "product versions whose origin is not an ISO 3166 country",
                "SELECT p.supplier_id, p.supplier_sku, p.country_of_origin FROM {batch} p "
                "ANTI JOIN core.dim_country c ON c.country_code = p.country_of_origin",
                "The target counts goods by country of origin.",
            ),
            critical(
                "price_positive",
                BETWEEN,
                "A product version has a positive list price.",
                column="unit_price",
                min_value=0,
                strict_min=True,
            ),
            warning(
                "gtin_present",
                NOT_NULL,
                "Most catalogue products carry a GTIN (a channel's own products, which have no catalogue and "
                "no list price, are not counted).",
                column="gtin",
                mostly=0.9,
                row_condition='col("unit_price").notnull()',
                condition_parser="great_expectations",
            ),
        ),
    ),
    Suite(
        "fx_rate",
        "core",
        "fx_rate",
        (
            critical(
                "rate_positive",
                BETWEEN,
                "EUR = amount / rate: a rate must be above zero.",
                column="rate",
                min_value=0,
                strict_min=True,
            ),
            sql(
                "one_rate_per_currency_and_day",
                "critical",
                "currency and day pairs with more than one rate",
                "SELECT currency, rate_date, count(*) AS rates FROM {batch} "
                "GROUP BY currency, rate_date HAVING count(*) > 1",
                "One ECB reference rate per currency and day.",
            ),
            sql(
                "target_business_day",
                "critical",
                "rates dated on a weekend or TARGET holiday",
                "SELECT currency, rate_date, source_file FROM {batch}"
                " WHERE NOT audit.is_target_business_day(rate_date)",
                "The ECB publishes only on TARGET business days.",
            ),
            sql(
                "gbp_and_cny_every_day",
                "critical",
                "ECB days without a GBP rate (or a CNY rate, from 2005-04-01)",
                "SELECT rate_date, count(*) AS currencies FROM {batch} GROUP BY rate_date "
                "HAVING NOT bool_or(currency = 'GBP') "
                "OR (rate_date >= DATE '2005-04-01' AND NOT bool_or(currency = 'CNY'))",
                "GBP (UK goods) and CNY (Chinese consumers) are quoted every ECB day.",
            ),
            sql(
                "no_gap_beyond_lookback",
                "warning",
                "GBP or CNY rates more than the look-back apart",
                "SELECT currency, previous_date, rate_date FROM ("
                "SELECT currency, rate_date, lag(rate_date) OVER (PARTITION BY currency ORDER BY rate_date) "
                "AS previous_date FROM {batch} WHERE currency IN ('GBP', 'CNY')) "
                "WHERE rate_date - previous_date > getvariable('fx_lookback_days')",
                "Sales on days in such a gap find no rate within the look-back and are quarantined "
                "(fx_rate_missing): a daily file is probably missing.",
            ),
        ),
    ),
    Suite(
        "dim_supplier",
        "core",
        "dim_supplier",
        (
            sql(
                "supplier_id_unique",
                "critical",
                "supplier ids held by more than one row",
                "SELECT supplier_id, count(*) AS rows FROM {batch} GROUP BY supplier_id HAVING count(*) > 1",
                "The supplier breakdown joins on supplier_id.",
            ),
            sql(
                "country_is_iso",
                "critical",
                "suppliers whose country is not an ISO 3166 code",
                "SELECT s.supplier_id, s.country FROM {batch} s ANTI JOIN core.dim_country c "
                "ON c.country_code = s.country",
                "The supplier-country breakdown needs a real country.",
            ),
            sql(
                "currency_is_iso",
                "critical",
                "suppliers whose currency is not an ISO 4217 code",
                "SELECT s.supplier_id, s.currency FROM {batch} s ANTI JOIN core.dim_currency c "
                "ON c.currency_code = s.currency",
                "A supplier's catalogue prices are in its currency.",
            ),
            warning(
                "vat_id_present",
                NOT_NULL,
                "EU and UK suppliers are VAT-registered; export paperwork needs the VAT id.",
                column="vat_id",
                mostly=0.95,
            ),
        ),
    ),
    # ---- Marts: what people read ------------------------------------------------------------
    Suite(
        "export_progress_daily",
        "marts",
        "export_progress_daily",
        (
            sql(
                "one_row_per_target_and_day",
                "critical",
                "target and day pairs with more than one row",
                "SELECT target_id, date, count(*) AS rows FROM {batch} GROUP BY target_id, date HAVING count(*) > 1",
                "The series has one row per target and day.",
            ),
            sql(
                "days_contiguous",
                "critical",
                "days missing from a target's series",
                "SELECT target_id, previous_date, date FROM (SELECT target_id, date, "
                "lag(date) OVER (PARTITION BY target_id ORDER BY date) AS previous_date FROM {batch}) "
                "WHERE date - previous_date <> 1",
                "Days without sales are rows with 0, so run-rates divide by real days.",
            ),
            critical(
                "status_allowed",
                IN_SET,
                "Status is reached, on_track, at_risk or off_track (NULL for a tracking-only target).",
                column="status",
                value_set=["reached", "on_track", "at_risk", "off_track"],
            ),
            sql(
                "reached_is_sticky",
                "critical",
                "days whose reached status disagrees with reached_on, or that fall back from reached",
                "SELECT target_id, date, cumulative_net_eur, target_eur, reached_on, previous_reached_on, status "
                "FROM (SELECT *, lag(reached_on) OVER (PARTITION BY target_id ORDER BY date) AS previous_reached_on "
                "FROM {batch}) WHERE coalesce(status = 'reached', false) <> (reached_on IS NOT NULL) "
                "OR reached_on > date OR (reached_on = date AND cumulative_net_eur < target_eur) "
                "OR (previous_reached_on IS NOT NULL AND reached_on IS DISTINCT FROM previous_reached_on)",
                "Once the cumulative reaches the amount the status is reached and stays so (design §4).",
            ),
            sql(
                "net_is_gross_less_cancellations_and_returns",
                "critical",
                "days whose net EUR is not gross + cancelled + returned + credited",
                "SELECT target_id, date, gross_eur, cancelled_eur, returned_eur, credited_eur, net_eur FROM {batch} "
                "WHERE net_eur <> gross_eur + cancelled_eur + returned_eur + credited_eur",
                "Net sales are orders less cancellations, returns and standalone credits, each on its own date.",
            ),
            critical(
                "gross_not_negative",
                BETWEEN,
                "Orders add value.",
                column="gross_eur",
                min_value=0,
            ),
            critical(
                "cancellations_not_positive",
                BETWEEN,
                "Cancellations remove value.",
                column="cancelled_eur",
                max_value=0,
            ),
            critical(
                "returns_not_positive",
                BETWEEN,
                "Returns remove value.",
                column="returned_eur",
                max_value=0,
            ),
            critical(
                "credits_not_positive",
                BETWEEN,
                "Standalone credits (credit notes, refunds) remove value.",
                column="credited_eur",
                max_value=0,
            ),
            sql(
                "cumulative_is_running_total",
                "critical",
                "days whose cumulative net EUR is not the running total of net EUR",
                "SELECT target_id, date, cumulative_net_eur, running FROM (SELECT target_id, date, "
                "cumulative_net_eur, sum(net_eur) OVER (PARTITION BY target_id ORDER BY date "
                "ROWS UNBOUNDED PRECEDING) AS running FROM {batch}) WHERE cumulative_net_eur <> running",
                "Progress is cumulative net EUR since the window start.",
            ),
            sql(
                "cumulative_falls_only_with_cancellations_or_returns",
                "critical",
                "days on which cumulative net EUR fell without a cancellation, return or credit",
                "SELECT target_id, date, previous, cumulative_net_eur FROM (SELECT *, lag(cumulative_net_eur) "
                "OVER (PARTITION BY target_id ORDER BY date) AS previous FROM {batch}) "
                "WHERE cumulative_net_eur < previous AND cancelled_eur = 0 AND returned_eur = 0 AND credited_eur = 0",
                "Within a target the cumulative series only goes down on days with cancellations, returns or credits.",
            ),
            sql(
                "reconciles_with_core",
                "critical",
                "targets whose total net EUR differs from core.fct_sales_event",
                "WITH mart AS (SELECT target_id, sum(net_eur) AS mart_eur FROM {batch} GROUP BY target_id), "
                "facts AS (SELECT t.target_id, coalesce(sum(f.eur_amount), 0) AS core_eur FROM core.dim_target t "
                "LEFT JOIN core.fct_sales_event f "
                "ON (len(t.origin_countries) = 0 OR list_contains(t.origin_countries, f.country_of_origin)) "
                "AND NOT list_contains(t.origin_exclude, f.country_of_origin) "
                "AND (len(t.destination_countries) = 0 OR list_contains(t.destination_countries, f.ship_to_country)) "
                "AND NOT list_contains(t.destination_exclude, f.ship_to_country) "
                "AND f.event_date BETWEEN t.window_start AND t.window_end GROUP BY t.target_id) "
                "SELECT target_id, core_eur, mart_eur FROM facts FULL JOIN mart USING (target_id) "
                "WHERE coalesce(core_eur, 0) <> coalesce(mart_eur, 0)",
                "The mart's total for a target equals the facts of its origins, destinations and window, "
                "to the cent (a target without sales yet reads zero on both sides; an empty country list is "
                "every country but the excluded).",
            ),
            sql(
                "pct_of_target_consistent",
                "critical",
                "days whose % of target is not cumulative / target",
                "SELECT target_id, date, cumulative_net_eur, target_eur, pct_of_target FROM {batch} "
                "WHERE target_eur IS NOT NULL AND abs(pct_of_target - 100 * cumulative_net_eur / target_eur) > 0.0001",
                "The headline percentage is cumulative net EUR over the target amount.",
            ),
        ),
    ),
    Suite(
        "export_breakdown_monthly",
        "marts",
        "export_breakdown_monthly",
        (
            critical(
                "dimension_allowed",
                IN_SET,
                "Breakdowns are by HS section and chapter, category, supplier, supplier country, channel, "
                "ship-to region, origin country and ship-to country.",
                column="dimension",
                value_set=list(BREAKDOWN_DIMENSIONS),
            ),
            sql(
                "one_row_per_member",
                "critical",
                "target, month, dimension and member combinations with more than one row",
                "SELECT target_id, month, dimension, member, count(*) AS rows FROM {batch} "
                "GROUP BY target_id, month, dimension, member HAVING count(*) > 1",
                "Each member appears once per target, month and dimension.",
            ),
            sql(
                "net_is_sum_of_parts",
                "critical",
                "rows whose net EUR is not gross + cancelled + returned + credited",
                "SELECT target_id, month, dimension, member, gross_eur, cancelled_eur, returned_eur, credited_eur, "
                "net_eur FROM {batch} WHERE net_eur <> gross_eur + cancelled_eur + returned_eur + credited_eur",
                "Net sales are orders less cancellations, returns and standalone credits.",
            ),
            sql(
                "each_dimension_reconciles_with_daily",
                "critical",
                "target, month and dimension totals that differ from the daily progress mart",
                "WITH b AS (SELECT target_id, month, dimension, sum(gross_eur) AS g, sum(cancelled_eur) AS c, "
                "sum(returned_eur) AS r, sum(credited_eur) AS k, sum(net_eur) AS n FROM {batch} "
                "GROUP BY target_id, month, dimension), "
                f"dims AS (SELECT unnest({list(BREAKDOWN_DIMENSIONS)}) AS dimension), "
                "d AS (SELECT target_id, date_trunc('month', date)::DATE AS month, sum(gross_eur) AS g, "
                "sum(cancelled_eur) AS c, sum(returned_eur) AS r, sum(credited_eur) AS k, sum(net_eur) AS n "
                "FROM marts.export_progress_daily GROUP BY ALL), "
                "expected AS (SELECT * FROM d CROSS JOIN dims) "
                "SELECT target_id, month, dimension, expected.n AS daily_net, b.n AS breakdown_net "
                "FROM expected FULL JOIN b USING (target_id, month, dimension) "
                "WHERE coalesce(expected.g, 0) <> coalesce(b.g, 0) OR coalesce(expected.c, 0) <> coalesce(b.c, 0) "
                "OR coalesce(expected.r, 0) <> coalesce(b.r, 0) OR coalesce(expected.k, 0) <> coalesce(b.k, 0) "
                "OR coalesce(expected.n, 0) <> coalesce(b.n, 0)",
                "Every breakdown splits the same monthly totals as the daily series, to the cent.",
            ),
        ),
    ),
)


def suites_for(stage: str) -> tuple[Suite, ...]:
    """The suites a stage's checkpoint validates, in order."""
    if stage not in STAGES:
        raise ValueError(f"unknown quality stage {stage!r}; stages: {', '.join(STAGES)}")
    return tuple(s for s in SUITES if s.stage == stage)


def asset(name: str) -> Asset:
    return next(a for a in ASSETS if a.name == name)


# ---- the GX project files -----------------------------------------------------------------

YAML_HEADER = """\
# Great Expectations project of xborder (GX 1.24). GENERATED by `python -m pipelines.quality.suites`
# from pipelines/quality/suites.py: edit the rules there, then regenerate.
#
# Suites (expectations/), validation definitions and checkpoints (one per gate stage) are
# committed. Validation results and Data Docs are written under $XBORDER_HOME/quality
# (${XBORDER_GX_OUTPUT}, set by pipelines.quality.context). The gates evaluate the suites as SQL
# with GX's semantics (pipelines/quality/evaluate.py) and store GX validation results built from
# it (pipelines/quality/validations.py). The `warehouse` datasource (type xborder_duckdb,
# pipelines/quality/datasource.py) lets GX validate inside DuckDB through the pipeline's open
# connection (the tests' oracle). Data Docs use local templates and styles only (pipelines/quality/docs.py).
"""


def project_files() -> dict[str, str]:
    """Every file of the GX project, by path relative to the project folder."""
    config = yaml.dump(_project_config(), Dumper=_NoAliasDumper, sort_keys=False, width=120, allow_unicode=True)
    files: dict[str, str] = {"great_expectations.yml": YAML_HEADER + config}
    files[".gitignore"] = "uncommitted/\n"
    for suite in SUITES:
        files[f"expectations/{suite.name}.json"] = _dump(_suite_json(suite))
        files[f"validation_definitions/{suite.name}.json"] = _dump(_validation_definition_json(suite))
    for stage in STAGES:
        files[f"checkpoints/{stage}.json"] = _dump(_checkpoint_json(stage))
    return files


def write_project(folder: Path) -> list[Path]:
    """Write the project into ``folder``; remove generated JSON no longer defined. Returns paths written."""
    files = project_files()
    for sub in ("expectations", "validation_definitions", "checkpoints"):
        for stale in (folder / sub).glob("*.json"):
            if f"{sub}/{stale.name}" not in files:
                stale.unlink()
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def _store(base_directory: str) -> dict[str, Any]:
    return {
        "class_name": "TupleFilesystemStoreBackend",
        "suppress_store_backend_id": True,
        "base_directory": base_directory,
    }


def _project_config() -> dict[str, Any]:
    docs = "pipelines.quality.docs"
    offline_view = {"module_name": docs, "class_name": "OfflinePageView"}
    return {
        "config_version": 4.0,
        "config_variables_file_path": None,
        "plugins_directory": None,
        "analytics_enabled": False,
        "data_context_id": stable_id("data_context"),
        "progress_bars": {"globally": False, "metric_calculations": False},
        "stores": {
            "expectations_store": {"class_name": "ExpectationsStore", "store_backend": _store("expectations/")},
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": _store("${XBORDER_GX_OUTPUT}/validations/"),
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": _store("checkpoints/")},
            "validation_definition_store": {
                "class_name": "ValidationDefinitionStore",
                "store_backend": _store("validation_definitions/"),
            },
        },
        "expectations_store_name": "expectations_store",
        "validation_results_store_name": "validation_results_store",
        "checkpoint_store_name": "checkpoint_store",
        "data_docs_sites": {
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": "${XBORDER_GX_OUTPUT}/data_docs/",
                },
                "site_index_builder": {
                    "module_name": docs,
                    "class_name": "XborderSiteIndexBuilder",
                    "validation_results_limit": 300,
                    "renderer": {"module_name": docs, "class_name": "XborderIndexPageRenderer"},
                    "view": {"module_name": docs, "class_name": "OfflineIndexPageView"},
                },
                "site_section_builders": {
                    "expectations": {"view": offline_view},
                    "validations": {
                        "view": offline_view,
                        "renderer": {
                            "module_name": docs,
                            "class_name": "XborderValidationResultsPageRenderer",
                            "column_section_renderer": {
                                "class_name": "ValidationResultsColumnSectionRenderer",
                                "table_renderer": {"module_name": docs, "class_name": "XborderValidationResultsTable"},
                            },
                        },
                    },
                    "profiling": {"view": offline_view},
                },
            }
        },
        "fluent_datasources": {
            DATASOURCE: {
                "type": "xborder_duckdb",
                "id": stable_id("datasource", DATASOURCE),
                "assets": {a.name: _asset_config(a) for a in ASSETS},
            }
        },
    }


def _asset_config(a: Asset) -> dict[str, Any]:
    config: dict[str, Any] = {"type": "query" if a.query else "table", "id": stable_id("asset", a.name)}
    if a.query:
        config["query"] = a.query
    else:
        schema, table = a.table.split(".")
        config["table_name"] = table
        config["schema_name"] = schema
    config["batch_metadata"] = {"table": a.table, "scope": a.scope}
    config["batch_definitions"] = {BATCH_DEFINITION: {"id": stable_id("batch_definition", a.name), "partitioner": None}}
    return config


def expectation_json(suite: Suite, rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": stable_id("expectation", suite.name, rule.rule),
        "type": rule.type,
        "kwargs": gx_kwargs(rule.kwargs),
        # meta.attributes: what GX's validation pages show in their Rule and Severity columns
        "meta": {"rule": rule.rule, "attributes": {"rule": rule.rule, "severity": rule.severity}},
        "notes": rule.notes,
        "severity": rule.severity,
    }
    if rule.description:
        out["description"] = rule.description
    return out


def gx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Row conditions in the structured form GX 1.24 stores (it parses the legacy string on load)."""
    out = dict(kwargs)
    condition = out.get("row_condition")
    if isinstance(condition, str) and condition.endswith(".notnull()"):  # col("x").notnull()
        column = condition.removeprefix('col("').removesuffix('").notnull()')
        out["row_condition"] = {"column": {"name": column}, "is_null": False, "type": "nullity"}
    elif isinstance(condition, str):
        column, value = condition.removeprefix('col("').removesuffix('"').split('")=="')
        out["row_condition"] = {"column": {"name": column}, "operator": "==", "parameter": value, "type": "comparison"}
    return out


def _suite_json(suite: Suite) -> dict[str, Any]:
    a = asset(suite.asset)
    return {
        "name": suite.name,
        "id": stable_id("suite", suite.name),
        "expectations": [expectation_json(suite, r) for r in suite.rules],
        "meta": {
            "great_expectations_version": GX_VERSION,
            "stage": suite.stage,
            "table": a.table,
            "scope": a.scope,
            "notes": {"format": META_PROPERTIES, "content": {"Rule": "rule", "Severity": "severity"}},
        },
        "notes": f"Gate stage '{suite.stage}': {a.table} ({a.scope}).",
    }


def _validation_definition_json(suite: Suite) -> dict[str, Any]:
    return {
        "name": suite.name,
        "id": stable_id("validation_definition", suite.name),
        "data": {
            "datasource": {"name": DATASOURCE, "id": stable_id("datasource", DATASOURCE)},
            "asset": {"name": suite.asset, "id": stable_id("asset", suite.asset)},
            "batch_definition": {"name": BATCH_DEFINITION, "id": stable_id("batch_definition", suite.asset)},
        },
        "suite": {"name": suite.name, "id": stable_id("suite", suite.name)},
    }


def _checkpoint_json(stage: str) -> dict[str, Any]:
    return {
        "name": stage,
        "id": stable_id("checkpoint", stage),
        "actions": [],
        "result_format": "SUMMARY",
        "validation_definitions": [
            {"name": s.name, "id": stable_id("validation_definition", s.name)} for s in suites_for(stage)
        ],
    }


if __name__ == "__main__":
    from pipelines.settings import get_settings

    target = get_settings().gx_dir
    paths = write_project(target)
    rules = sum(len(s.rules) for s in SUITES)
    print(f"wrote {len(paths)} files to {target}: {len(SUITES)} suites, {rules} rules, {len(STAGES)} checkpoints")
