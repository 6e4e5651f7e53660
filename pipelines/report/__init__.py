"""The export-tracking report: one self-contained HTML file (inline CSS and SVG, no network)."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.report.charts import monthly_chart, progress_chart
from pipelines.settings import Settings
from pipelines.snapshot import current_snapshot

REPORT = "export_tracking.html"
TOP = (
    ("hs_chapter", "Top HS chapters", "chapter"),
    ("supplier", "Top suppliers", "supplier"),
    ("ship_to_region", "Top ship-to regions", "region"),
)


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def report_data(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything the report shows, read from the marts and core of a warehouse/snapshot."""
    targets = _dicts(
        con,
        """SELECT l.*, t.window_start FROM marts.export_progress_latest l
                             JOIN core.dim_target t USING (target_id) ORDER BY l.target_id""",
    )
    series = defaultdict(list)
    for r in _dicts(con, "SELECT target_id, date, cumulative_net_eur FROM marts.export_progress_daily ORDER BY date"):
        series[r["target_id"]].append((r["date"], r["cumulative_net_eur"]))
    monthly = defaultdict(list)
    for r in _dicts(
        con,
        """SELECT target_id, date_trunc('month', date)::DATE AS month, sum(gross_eur) g,
                                   sum(cancelled_eur) c, sum(returned_eur) r
                            FROM marts.export_progress_daily GROUP BY ALL ORDER BY month""",
    ):
        monthly[r["target_id"]].append((r["month"], r["g"], r["c"], r["r"]))
    for t in targets:
        tid = t["target_id"]
        t["chart"] = (
            progress_chart(
                series[tid],
                t["window_start"],
                t["stretch_deadline"],
                t["final_deadline"],
                t["target_eur"],
                t["projected_completion_date"],
                t["name"],
            )
            if t["target_eur"]
            else ""
        )
        t["monthly"] = monthly_chart(monthly[tid], f"{t['name']}: monthly")
        t["top"] = []
        for dimension, title, header in TOP:
            rows = _dicts(
                con,
                """SELECT coalesce(label, member) AS label, sum(net_eur) AS net_eur
                                  FROM marts.export_breakdown_monthly WHERE target_id = ? AND dimension = ?
                                  GROUP BY ALL ORDER BY net_eur DESC LIMIT 10""",
                [tid, dimension],
            )
            total = sum(r["net_eur"] for r in rows) or 1
            for r in rows:
                r["share"] = 100 * r["net_eur"] / total if t["cumulative_net_eur"] else 0
                r["label"] = str(r["label"])[:60]
            t["top"].append((title, {"header": header, "rows": rows}))
    freshness = _dicts(
        con,
        """SELECT max(event_ts) AS latest_event, max(event_date) AS latest_event_date,
                                      (SELECT max(rate_date) FROM core.fx_rate) AS latest_fx,
                                      (SELECT count(*) FROM audit.quarantine WHERE resolved_at IS NULL) AS quarantined,
                                      (SELECT count(*) FROM raw.pending_sales_events) AS pending
                               FROM core.fct_sales_event""",
    )[0]
    freshness["reasons"] = _dicts(
        con,
        """SELECT feed, reason, count(*) AS n FROM audit.quarantine
                                          WHERE resolved_at IS NULL GROUP BY ALL ORDER BY n DESC""",
    )
    freshness["catalogues"] = _dicts(
        con,
        """SELECT s.supplier_id, s.legal_name, max(c.snapshot_date) AS latest
           FROM core.dim_supplier s LEFT JOIN raw.catalogue_items c USING (supplier_id)
           GROUP BY ALL ORDER BY latest NULLS FIRST, s.supplier_id""",
    )
    return {"targets": targets, "freshness": freshness}


def render(data: dict, snapshot: str, quality_link: str | None) -> str:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2", "html"]))
    return env.get_template("template.html.j2").render(
        **data,
        snapshot=snapshot,
        quality_link=quality_link,
        generated=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    )


def write_report(settings: Settings) -> Path:
    """Write the report (and the headline chart as SVG for e-mail) from the published snapshot."""
    snapshot = current_snapshot(settings)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        data = report_data(con)
    out = settings.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    docs = settings.gx_output_dir / "data_docs" / "index.html"
    link = os.path.relpath(docs, out) if docs.exists() else None
    path = out / REPORT
    path.write_text(render(data, snapshot.name, link), encoding="utf-8")
    headline = next((t for t in data["targets"] if t["chart"]), None)
    if headline:
        (out / f"{headline['target_id']}_progress.svg").write_text(headline["chart"], encoding="utf-8")
    return path
