"""What the export-tracking report shows, read from the marts and core of a snapshot."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.report.charts import monthly_chart, progress_chart
from pipelines.report.format import day, eur
from pipelines.targets import scope_label
from pipelines.warehouse import has_tables

TOP_N = 10
TOP = (
    ("hs_chapter", "HS chapters", "Chapter"),
    ("supplier", "Suppliers", "Supplier"),
    ("ship_to_country", "Ship-to countries", "Country"),
    ("ship_to_region", "Ship-to regions", "Region"),
)
CODED = {"hs_chapter", "supplier", "ship_to_country"}  # members that are codes: shown first, then the name
UNKNOWN = "unknown"
STALE_CATALOGUE_DAYS = 45


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def verdict(t: dict[str, Any]) -> str:
    """One plain sentence explaining the status of a target's latest day."""
    if t["date"] is None:
        return f"The window opens on {day(t['window_start'])}; no sales counted yet."
    if t["target_eur"] is None:
        return f"Tracked without a target: {eur(t['cumulative_net_eur'])} net since {day(t['window_start'])}."
    stretch, final = t["stretch_deadline"], t["final_deadline"]
    if t["reached_on"]:
        when = (
            "by the stretch deadline"
            if t["reached_on"] <= stretch
            else "after the stretch deadline, by the final deadline"
            if t["reached_on"] <= final
            else "after the final deadline"
        )
        return f"Target reached on {day(t['reached_on'])}, {when}."
    rate = eur(t["run_rate_30d"], cents=False)
    projected = t["projected_completion_date"]
    if projected is None:
        return f"No projected date: the 30-day run-rate is {rate} a day."
    gap = (projected - stretch).days
    relative = (
        f"{-gap:,} days before the stretch deadline"
        if gap < 0
        else "on the stretch deadline"
        if gap == 0
        else f"{gap:,} days after the stretch deadline"
        + ("" if projected <= final else f" and {(projected - final).days:,} after the final one")
    )
    return f"At the 30-day run-rate of {rate} a day the target is reached on {day(projected)}, {relative}."


def scopes(t: dict[str, Any]) -> tuple[str, str]:
    """(origins, destinations) as they read: ``GB``, ``all origins``, ``all destinations but GB``."""
    return (
        # .get: a snapshot published before the exclude lists existed has none
        scope_label(t["origin_countries"], t.get("origin_exclude") or [], "origins"),
        scope_label(t["destination_countries"], t.get("destination_exclude") or [], "destinations"),
    )


def headline(t: dict[str, Any]) -> str:
    """A target in one sentence, from its definition (targets.yml, as core.dim_target holds it).

    ``EUR 2,200,000,000 of goods of origin GB shipped to CN, 01 Jul 2018 – 30 Jun 2021``.
    """
    origins, destinations = scopes(t)
    goods = f"goods of origin {origins}" if t["origin_countries"] else f"goods of {origins}"
    what = f"{eur(t['target_eur'], cents=False)} of {goods}" if t["target_eur"] is not None else f"Tracking {goods}"
    return f"{what} shipped to {destinations}, {day(t['window_start'])} – {day(t['window_end'])}"


def _tops(con: duckdb.DuckDBPyConnection, target_id: str, total: Decimal) -> list[dict[str, Any]]:
    tables = []
    for dimension, title, header in TOP:
        top = rows(
            con,
            """SELECT member, any_value(label) AS label, sum(net_eur) AS net_eur, sum(gross_eur) AS gross_eur,
                      sum(cancelled_eur) + sum(returned_eur) + sum(credited_eur) AS lost_eur,
                      sum(units) AS units
               FROM marts.export_breakdown_monthly WHERE target_id = ? AND dimension = ?
               GROUP BY member ORDER BY net_eur DESC, member LIMIT ?""",
            [target_id, dimension, TOP_N],
        )
        for r in top:
            _name_member(r, dimension)
            r["share"] = (100 * r["net_eur"] / total).quantize(Decimal("0.1")) if total > 0 else None
            r["bar"] = max(0, min(100, float(r["share"] or 0)))
        tables.append({"dimension": dimension, "title": title, "header": header, "rows": top})
    return tables


def _name_member(r: dict[str, Any], dimension: str) -> None:
    """``code`` (shown first, so two long names that start alike never read the same) and ``name``
    (the full label, ``unknown`` for the marts' ``?`` or no member) of a top-10 row."""
    known = r["member"] not in (None, "?")
    r["code"] = r["member"] if known and dimension in CODED else None
    r["name"] = (r["label"] if r["label"] not in (None, "?") else r["member"]) if known else UNKNOWN
    r["unknown"] = not known


def weight_coverage(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Per target: the lines it counts and how many of them have a catalogue weight.

    The marts count a line without a weight as 0 kg, so the report shows the weight only as far
    as it is known (every line, or the share that has one).
    """
    found = rows(
        con,
        """SELECT t.target_id, count(f.event_id) AS lines, count(f.weight_kg) AS weighed
           FROM core.dim_target t
           LEFT JOIN core.fct_sales_event f
                  ON f.event_date BETWEEN t.window_start AND t.window_end
                 AND core.in_country_scope(f.ship_to_country, t.destination_countries, t.destination_exclude)
                 AND core.in_country_scope(f.country_of_origin, t.origin_countries, t.origin_exclude)
           GROUP BY t.target_id""",
    )
    return {r["target_id"]: {"lines": r["lines"], "weighed": r["weighed"]} for r in found}


def forecasts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per target: its row of marts.export_forecast, the fan (day, P10, P50, P90), the back-test
    rows and their summary per horizon (coverage of the P10-P90 band, mean absolute errors)."""
    if not has_tables(con, "marts", "export_forecast"):  # a snapshot published before the forecast
        return {}
    found = {r["target_id"]: r for r in rows(con, "SELECT * FROM marts.export_forecast")}
    for r in found.values():
        r["fan"] = []
        r["backtest"] = []
        r["backtest_summary"] = []
    for target_id, d, p10, p50, p90 in con.execute(
        """SELECT target_id, date, cumulative_p10_eur, cumulative_p50_eur, cumulative_p90_eur
           FROM marts.export_forecast_fan ORDER BY target_id, date"""
    ).fetchall():
        if target_id in found:
            found[target_id]["fan"].append((d, p10, p50, p90))
    for r in rows(con, "SELECT * FROM marts.export_forecast_backtest ORDER BY target_id, horizon_days, cutoff_date"):
        if r["target_id"] in found:
            found[r["target_id"]]["backtest"].append(r)
    for r in rows(
        con,
        """SELECT target_id, horizon_days, count(*) AS cutoffs,
                  count(*) FILTER (WHERE inside_p10_p90) AS inside,
                  (100 * count(*) FILTER (WHERE inside_p10_p90) / count(*))::DECIMAL(5, 1) AS coverage_pct,
                  avg(p50_abs_error_eur)::DECIMAL(18, 2) AS p50_mae_eur,
                  avg(straight_line_abs_error_eur)::DECIMAL(18, 2) AS straight_line_mae_eur,
                  (100 * avg(p50_abs_error_eur / nullif(actual_cumulative_eur - cumulative_at_cutoff_eur, 0)))
                      ::DECIMAL(8, 1) AS p50_mape_pct,
                  (100 * avg(straight_line_abs_error_eur / nullif(actual_cumulative_eur - cumulative_at_cutoff_eur, 0)))
                      ::DECIMAL(8, 1) AS straight_line_mape_pct
           FROM marts.export_forecast_backtest GROUP BY ALL ORDER BY target_id, horizon_days""",
    ):
        if r["target_id"] in found:
            found[r["target_id"]]["backtest_summary"].append(r)
    return found


def targets(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every target's headline, charts, monthly table and top breakdowns (targets.yml order)."""
    found = rows(con, "SELECT * FROM marts.export_progress_latest ORDER BY position, target_id")
    forecast = forecasts(con)
    series: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for target_id, d, cumulative in con.execute(
        "SELECT target_id, date, cumulative_net_eur FROM marts.export_progress_daily ORDER BY target_id, date"
    ).fetchall():
        series[target_id].append((d, cumulative))
    monthly: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(
        con,
        """SELECT target_id, date_trunc('month', date)::DATE AS month, sum(order_lines) AS order_lines,
                  sum(gross_eur) AS gross_eur, sum(cancelled_eur) AS cancelled_eur,
                  sum(returned_eur) AS returned_eur, sum(credited_eur) AS credited_eur, sum(net_eur) AS net_eur,
                  sum(units) AS units,
                  arg_max(cumulative_net_eur, date) AS cumulative_net_eur
           FROM marts.export_progress_daily GROUP BY ALL ORDER BY target_id, month""",
    ):
        monthly[r["target_id"]].append(r)
    for i, t in enumerate(found):
        tid = t["target_id"]
        t["forecast"] = forecast.get(tid)
        t["verdict"] = verdict(t)
        t["origins"], t["destinations"] = scopes(t)
        t["headline"] = headline(t)
        t["chart"] = progress_chart(
            series[tid],
            start=t["window_start"],
            stretch=t["stretch_deadline"],
            final=t["final_deadline"],
            amount=t["target_eur"],
            projected=t["projected_completion_date"],
            title=f"{t['name']}: cumulative net sales against the paths to the deadlines",
            uid=f"p{i}",
            fan=t["forecast"]["fan"] if t["forecast"] else None,
        )
        t["monthly"] = monthly[tid]
        t["monthly_chart"] = monthly_chart(
            [
                (m["month"], m["gross_eur"], m["cancelled_eur"], m["returned_eur"], m["credited_eur"], m["net_eur"])
                for m in monthly[tid]
            ],
            title=f"{t['name']}: monthly gross sales, cancellations, returns and credits",
            uid=f"m{i}",
        )
        t["totals"] = {
            k: sum((m[k] for m in monthly[tid]), Decimal(0))
            for k in ("gross_eur", "cancelled_eur", "returned_eur", "credited_eur", "net_eur")
        }
        t["tops"] = _tops(con, tid, t["cumulative_net_eur"])
        t["progress_bar"] = min(float(t["pct_of_target"] or 0), 100.0)
        t["elapsed"] = _share_of_window(t, t["date"]) if t["date"] else 0.0
    return found


def _share_of_window(t: dict[str, Any], d: date) -> float:
    """Share of the window elapsed by the end of a day, in % (the time mark on the progress bar)."""
    span = (t["window_end"] - t["window_start"]).days + 1
    return round(100 * ((d - t["window_start"]).days + 1) / span, 1)


def all_goods(con: duckdb.DuckDBPyConnection, headline_target: dict[str, Any] | None = None) -> dict[str, Any]:
    """The built-in view: every sale by country of origin (any destination), and how much of it
    went to the headline target's destinations (any date)."""
    scope = headline_target or {"destination_countries": [], "destination_exclude": []}
    origins = rows(
        con,
        """SELECT country_of_origin, any_value(origin_name) AS name, sum(net_eur) AS net_eur,
                  sum(net_eur) FILTER (WHERE (len($countries::VARCHAR[]) = 0
                                              OR list_contains($countries::VARCHAR[], ship_to_country))
                                         AND NOT list_contains($excluded::VARCHAR[], ship_to_country))
                      AS to_headline_eur,
                  sum(order_lines) AS order_lines
           FROM marts.export_all_goods_monthly GROUP BY country_of_origin ORDER BY net_eur DESC, country_of_origin""",
        {"countries": list(scope["destination_countries"]), "excluded": list(scope.get("destination_exclude") or [])},
    )
    total = sum((r["net_eur"] for r in origins), Decimal(0))
    for r in origins:
        r["share"] = (100 * r["net_eur"] / total).quantize(Decimal("0.1")) if total > 0 else None
        r["bar"] = max(0, min(100, float(r["share"] or 0)))
    return {
        "origins": origins[:TOP_N],
        "more": max(len(origins) - TOP_N, 0),
        "total": total,
        "headline_destinations": scopes(headline_target)[1] if headline_target else None,
    }


def stale_feeds(latest_event: date | None, latest_fx: date | None, run_date: date, days: int) -> list[dict[str, Any]]:
    """Warnings for a latest sales event or ECB rate date more than ``days`` before ``run_date``."""
    out: list[dict[str, Any]] = []
    for feed, label, latest in (("sales", "sales event", latest_event), ("fx", "ECB rate", latest_fx)):
        if latest is None:
            out.append({"feed": feed, "age": None, "text": f"No {label} loaded yet: the figures are not current."})
        elif (run_date - latest).days > days:
            age = (run_date - latest).days
            out.append(
                {
                    "feed": feed,
                    "age": age,
                    "text": f"Stale data: the latest {label} is from {day(latest)}, {age:,} days before this run "
                    f"({day(run_date)}; warning after {days} days, XBORDER_STALE_DAYS). The figures are as of "
                    "that date, not today.",
                }
            )
    return out


def freshness(con: duckdb.DuckDBPyConnection, run_date: date | None = None, stale_days: int = 7) -> dict[str, Any]:
    """Latest event, FX date and catalogue per supplier; quarantine, rejected files, late data waiting;
    staleness warnings relative to ``run_date`` (default today, UTC)."""
    (facts,) = rows(
        con,
        """SELECT max(event_ts) AS latest_event, max(event_date) AS latest_event_date, count(*) AS events,
                  (SELECT max(rate_date) FROM core.fx_rate) AS latest_fx,
                  (SELECT count(DISTINCT currency) FROM core.fx_rate) AS currencies,
                  (SELECT count(*) FROM audit.quarantine WHERE resolved_at IS NULL) AS quarantined,
                  (SELECT count(*) FROM raw.pending_sales_events) AS pending
           FROM core.fct_sales_event""",
    )
    facts["reasons"] = rows(
        con,
        """SELECT feed, reason, count(*) AS n FROM audit.quarantine WHERE resolved_at IS NULL
           GROUP BY ALL ORDER BY n DESC, feed, reason""",
    )
    facts["excluded"] = rows(
        con,
        """SELECT feed, source, rule, sum(rows) AS n FROM audit.load_exclusions
           GROUP BY ALL ORDER BY n DESC, feed, source, rule""",
    )
    facts["rejected"] = rows(
        con,
        """SELECT l.path, l.feed, l.status, l.loaded_at,
                  CASE WHEN starts_with(l.message, l.path || ': ') THEN l.message[length(l.path) + 3:]
                       ELSE l.message END AS message
           FROM audit.load_ledger l
           WHERE l.status IN ('rejected', 'held')
             AND NOT EXISTS (SELECT 1 FROM audit.load_ledger n
                             WHERE n.path = l.path AND n.status = 'loaded' AND n.loaded_at > l.loaded_at)
           ORDER BY l.loaded_at DESC, l.path""",
    )
    facts["catalogues"] = rows(
        con,
        """SELECT s.supplier_id, s.legal_name, s.country, c.latest,
                  ?::DATE - c.latest AS age_days
           FROM core.dim_supplier s
           LEFT JOIN (SELECT supplier_id, max(snapshot_date) AS latest FROM raw.catalogue_items GROUP BY 1) c
                  USING (supplier_id)
           ORDER BY c.latest NULLS FIRST, s.supplier_id""",
        [facts["latest_event_date"]],
    )
    facts["stale"] = [
        c for c in facts["catalogues"] if c["latest"] is None or (c["age_days"] or 0) > STALE_CATALOGUE_DAYS
    ]
    facts["stale_days"] = STALE_CATALOGUE_DAYS
    today = run_date or datetime.now(UTC).date()
    event_day = facts["latest_event_date"]
    fx_day = facts["latest_fx"].date() if isinstance(facts["latest_fx"], datetime) else facts["latest_fx"]
    facts["stale_feeds"] = stale_feeds(event_day, fx_day, today, stale_days)
    facts["stale_age_days"] = stale_days
    return facts


def report_data(con: duckdb.DuckDBPyConnection, run_date: date | None = None, stale_days: int = 7) -> dict[str, Any]:
    """Everything the report shows (``run_date``, default today: what staleness is measured against)."""
    found = targets(con)
    coverage = weight_coverage(con)
    for t in found:
        t["weight"] = coverage.get(t["target_id"], {"lines": 0, "weighed": 0})
    return {
        "targets": found,
        "headline": found[0]["headline"] if found else None,
        "all_goods": all_goods(con, found[0] if found else None),
        "freshness": freshness(con, run_date, stale_days),
    }
