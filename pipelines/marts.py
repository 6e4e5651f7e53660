"""Build the marts (``pipelines/resources/sql/marts/*.sql``) from core for every target in the targets file.

Incremental by construction. Facts are insert-only and carry a ``batch_id``, so the base
aggregates (``marts.agg_*``) are kept between builds and only the facts of batches not yet
added are aggregated and merged into them (sums are additive). ``audit.mart_batches`` records
each batch added with a fingerprint (rows, EUR, units); ``audit.mart_state`` records each part
(a target, or the built-in all-goods view) with the fingerprint of its definition and of the
aggregation SQL. Then:

* a new or changed target (or changed aggregation SQL) is rebuilt from all facts, alone;
* a removed target's rows are deleted;
* a batch whose fingerprint changed or vanished (core was rewritten) forces a full rebuild;
* ``invalidate(con)`` (a retraction, facts re-pointed by a late catalogue) forces one too;
* the published marts are re-derived from the aggregates (days x targets: cheap).

``build_marts(con, settings, full=True)`` rebuilds everything; a test proves both agree.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from pipelines.ledger import insert_frame
from pipelines.settings import Settings
from pipelines.targets import Target, TargetsError, load_targets
from pipelines.warehouse import has_tables, transaction

AGGREGATE = "aggregate.sql"
# Published marts, derived from the aggregates in this order (a model may read the ones before it).
MODELS = (
    "export_progress_daily.sql",
    "export_progress_latest.sql",
    "export_breakdown_monthly.sql",
    "export_all_goods_monthly.sql",
    "export_forecast.sql",  # seasonal Monte Carlo + back-test (docs/forecast.md); seed and sims below
)
FORECAST = "export_forecast.sql"
FORECAST_PART = "forecast"  # audit.mart_state: the forecast's inputs when last built (skipped if unchanged)
FORECAST_TABLES = ("export_forecast", "export_forecast_fan", "export_forecast_backtest")
COUNTED = ("export_progress_daily", "export_breakdown_monthly", "agg_all_goods_monthly")
ALL_GOODS = "all_goods"
# target fields that change no number: editing them does not rebuild the target's aggregates
DESCRIPTIVE = ("position", "name", "scaled_from", "scale_note")


def targets_frame(targets: list[Target]) -> pl.DataFrame:
    """``core.dim_target`` rows for validated targets."""
    return pl.DataFrame(
        [
            {
                "position": i,
                "target_id": t.id,
                "name": t.name,
                "amount": t.amount,
                "origin_countries": t.origins,  # empty: every origin but origin_exclude
                "origin_exclude": t.origin_exclude,
                "destination_countries": t.destinations,  # empty: every destination but destination_exclude
                "destination_exclude": t.destination_exclude,
                "window_start": t.window_start,
                "window_end": t.window_end,
                "stretch_deadline": t.deadlines.stretch,
                "final_deadline": t.deadlines.final,
                "scaled_from": t.scaled_from,
                "scale_note": t.scale_note,
            }
            for i, t in enumerate(targets)
        ],
        schema_overrides={
            "position": pl.Int32,
            "amount": pl.Decimal(18, 2),
            "scaled_from": pl.Decimal(18, 2),
            "origin_countries": pl.List(pl.String),
            "origin_exclude": pl.List(pl.String),
            "destination_countries": pl.List(pl.String),
            "destination_exclude": pl.List(pl.String),
        },
    )


def _fingerprint(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode()).hexdigest()


def _check_countries(con: duckdb.DuckDBPyConnection, targets: list[Target], settings: Settings) -> None:
    """Country codes must be known ISO codes (once the reference dims are loaded)."""
    known = {r[0] for r in con.execute("SELECT country_code FROM core.dim_country").fetchall()}
    if not known:
        return
    for i, t in enumerate(targets):
        for field, codes in (
            ("origin_countries", t.origins),
            ("origin_exclude", t.origin_exclude),
            ("destination_countries", t.destinations),
            ("destination_exclude", t.destination_exclude),
        ):
            unknown = sorted(set(codes) - known)
            if unknown:
                raise TargetsError(
                    f"{settings.targets_path}: targets[{i}] ({t.id}).{field}: unknown ISO 3166 code(s) {unknown}"
                )


def _plan(con: duckdb.DuckDBPyConnection, parts: dict[str, str], full: bool) -> tuple[set[str], bool]:
    """(parts to rebuild from all facts, whether new batches need adding to the other parts)."""
    con.execute("""CREATE OR REPLACE TEMP TABLE mart_batches_now AS
                   SELECT batch_id, count(*) AS events, sum(eur_amount)::DECIMAL(38, 2) AS eur_amount,
                          sum(quantity)::HUGEINT AS quantity
                   FROM core.fct_sales_event GROUP BY batch_id""")
    ((rewritten,),) = con.execute("""SELECT count(*) FROM audit.mart_batches m
                                     LEFT JOIN mart_batches_now n USING (batch_id)
                                     WHERE n.batch_id IS NULL OR (n.events, n.eur_amount, n.quantity)
                                           IS DISTINCT FROM (m.events, m.eur_amount, m.quantity)""").fetchall()
    con.execute("""CREATE OR REPLACE TEMP TABLE mart_new_batches AS
                   SELECT batch_id FROM mart_batches_now ANTI JOIN audit.mart_batches USING (batch_id)""")
    ((new_batches,),) = con.execute("SELECT count(*) FROM mart_new_batches").fetchall()
    if full or rewritten:
        return set(parts), False
    built = dict(con.execute("SELECT part, fingerprint FROM audit.mart_state").fetchall())
    return {p for p, fp in parts.items() if built.get(p) != fp}, new_batches > 0


def _aggregate(con: duckdb.DuckDBPyConnection, sql: str, source: str, targets: list[str], all_goods: bool) -> None:
    """Run the aggregation SQL over ``source`` (a SELECT of facts) for these targets."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW mart_source AS {source}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE mart_scope AS SELECT * FROM core.dim_target WHERE list_contains(?, target_id)",
        [targets],
    )
    con.execute("SET VARIABLE mart_all_goods = ?", [all_goods])
    con.execute(sql)


def build_marts(con: duckdb.DuckDBPyConnection, settings: Settings, *, full: bool = False) -> dict[str, Any]:
    """Reload the targets, bring the aggregates up to date, re-derive every mart (one transaction).

    Returns a JSON-serialisable summary: mode, batches and facts aggregated, targets rebuilt,
    rows per mart and seconds per step.
    """
    started = time.perf_counter()
    targets = load_targets(settings.targets_path)
    _check_countries(con, targets, settings)
    marts_dir = settings.sql_dir / "marts"
    aggregate_sql = (marts_dir / AGGREGATE).read_text(encoding="utf-8")
    sql_version = _fingerprint(aggregate_sql)
    frame = targets_frame(targets)
    parts = {
        f"target:{row['target_id']}": _fingerprint(
            sql_version,
            json.dumps({k: v for k, v in row.items() if k not in DESCRIPTIVE}, default=str),
        )
        for row in frame.iter_rows(named=True)
    }
    parts[ALL_GOODS] = _fingerprint(sql_version, ALL_GOODS)
    result: dict[str, Any] = {"targets_file": str(settings.targets_path), "targets": [t.id for t in targets]}
    timings: dict[str, float] = {}
    with transaction(con):
        con.execute("DELETE FROM core.dim_target")
        insert_frame(con, "core.dim_target", frame)
        t0 = time.perf_counter()
        rebuild, add_new = _plan(con, parts, full)
        everything = rebuild == set(parts)
        rebuilt_targets = sorted(p.removeprefix("target:") for p in rebuild if p.startswith("target:"))
        kept = sorted(t.id for t in targets if t.id not in rebuilt_targets)
        # rows of rebuilt targets and of targets no longer in the file go; kept targets stay
        for table in ("marts.agg_target_daily", "marts.agg_target_monthly"):
            con.execute(f"DELETE FROM {table} WHERE NOT list_contains(?, target_id)", [kept])
        if ALL_GOODS in rebuild:
            con.execute("DELETE FROM marts.agg_all_goods_monthly")
        timings["plan"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        facts_read = 0
        if rebuild:
            _aggregate(con, aggregate_sql, "SELECT * FROM core.fct_sales_event", rebuilt_targets, ALL_GOODS in rebuild)
            facts_read += _events(con, "SELECT batch_id FROM mart_batches_now")
        if add_new and (kept or ALL_GOODS not in rebuild):
            _aggregate(
                con,
                aggregate_sql,
                "SELECT * FROM core.fct_sales_event WHERE batch_id IN (SELECT batch_id FROM mart_new_batches)",
                kept,
                ALL_GOODS not in rebuild,
            )
            facts_read += _events(con, "SELECT batch_id FROM mart_new_batches")
        timings["aggregate"] = time.perf_counter() - t0
        now = datetime.now(UTC).replace(tzinfo=None)
        built_forecast = dict(con.execute("SELECT part, fingerprint FROM audit.mart_state").fetchall()).get(
            FORECAST_PART
        )
        con.execute("DELETE FROM audit.mart_batches")
        con.execute("INSERT INTO audit.mart_batches SELECT * FROM mart_batches_now")
        con.execute(
            "DELETE FROM audit.mart_state WHERE NOT list_contains(?, part) OR list_contains(?, part)",
            [list(parts), sorted(rebuild) or [""]],
        )
        for part in sorted(rebuild):
            con.execute("INSERT INTO audit.mart_state VALUES (?, ?, ?)", [part, parts[part], now])
        con.execute("SET VARIABLE forecast_seed = ?", [settings.forecast_seed])
        con.execute("SET VARIABLE forecast_sims = ?", [settings.forecast_sims])
        for model in MODELS:
            t0 = time.perf_counter()
            sql = (marts_dir / model).read_text(encoding="utf-8")
            if model == FORECAST:
                fingerprint = _forecast_fingerprint(con, sql, settings)
                con.execute("DELETE FROM audit.mart_state WHERE part = ?", [FORECAST_PART])
                con.execute("INSERT INTO audit.mart_state VALUES (?, ?, ?)", [FORECAST_PART, fingerprint, now])
                if not full and fingerprint == built_forecast and has_tables(con, "marts", *FORECAST_TABLES):
                    result["forecast"] = "unchanged"
                    continue
                result["forecast"] = "built"
            con.execute(sql)
            timings[model.removesuffix(".sql")] = time.perf_counter() - t0
    result["mode"] = "full" if everything else "incremental"
    result["targets_rebuilt"] = rebuilt_targets
    result["facts_read"] = facts_read
    for table in COUNTED:
        result[f"{table}_rows"] = con.execute(f"SELECT count(*) FROM marts.{table}").fetchall()[0][0]
    result["step_seconds"] = {k: round(v, 3) for k, v in timings.items()}
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _forecast_fingerprint(con: duckdb.DuckDBPyConnection, sql: str, settings: Settings) -> str:
    """What the forecast reads: the daily series of the targets, their definitions, the Chinese
    New Year dates, its SQL, seed and simulations. Unchanged: the forecast tables stay as built
    (same seed, same data: the same forecast), and neither time nor snapshot bytes are spent."""
    ((series, targets, holidays),) = con.execute(
        """SELECT (SELECT coalesce(sum(hash(target_id, date, net_eur, cumulative_net_eur, run_rate_30d, reached_on)), 0)
                   FROM marts.export_progress_daily)::VARCHAR,
                  (SELECT coalesce(sum(hash(target_id, amount, window_start, window_end, stretch_deadline,
                                            final_deadline)), 0) FROM core.dim_target)::VARCHAR,
                  (SELECT coalesce(sum(hash(year, new_year_date)), 0) FROM core.dim_chinese_new_year)::VARCHAR"""
    ).fetchall()
    return _fingerprint(sql, str(settings.forecast_seed), str(settings.forecast_sims), series, targets, holidays)


def invalidate(con: duckdb.DuckDBPyConnection) -> None:
    """Forget what the aggregates hold, so the next build rebuilds every part from all facts.

    For changes the batch fingerprints cannot see: facts re-pointed at other product versions
    (origin, HS code, category, weight change; rows and EUR do not), or removed by a retraction.
    Part of the caller's transaction: a rollback keeps the aggregates' bookkeeping as it was.
    """
    con.execute("DELETE FROM audit.mart_batches")
    # the forecast's fingerprint is of the rebuilt daily series itself: it stays valid
    con.execute("DELETE FROM audit.mart_state WHERE part <> ?", [FORECAST_PART])


def _events(con: duckdb.DuckDBPyConnection, batches: str) -> int:
    """Fact rows in these batches (from the fingerprints, no scan)."""
    ((events,),) = con.execute(
        f"SELECT coalesce(sum(events), 0) FROM mart_batches_now WHERE batch_id IN ({batches})"
    ).fetchall()
    return int(events)
