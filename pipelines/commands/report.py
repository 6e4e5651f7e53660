"""``xborder report``: the export-tracking report (HTML) from the published snapshot."""

from __future__ import annotations


def command() -> None:
    """Write the export-tracking report from the analysts' snapshot (the last green build).

    One self-contained HTML file, $XBORDER_HOME/reports/export_tracking.html, that opens offline
    in any browser and prints well: for every target in targets.yml the net EUR so far against
    the target, the status (reached / on track / at risk / off track), the forecast's
    probabilities (docs/forecast.md), the cumulative chart with the forecast's fan against the
    straight-line paths to the stretch and final deadlines, monthly
    gross sales with cancellations and returns, the top HS chapters, suppliers and regions;
    then all goods by origin, data freshness and a link to the data-quality report. Beside it,
    <target>_progress.svg and .png: the headline chart for e-mail, and export_tracking.xlsx: the
    marts for finance (money as exact EUR numbers). `xborder run` writes them too.

    Example:

      xborder report && xdg-open data/reports/export_tracking.html
    """
    from rich.console import Console
    from rich.table import Table

    from pipelines.report import WORKBOOK, write_report
    from pipelines.report.format import day, eur, pct
    from pipelines.settings import get_settings
    from pipelines.snapshot import current_snapshot

    settings = get_settings()
    console = Console()
    with console.status("writing the export-tracking report"):
        path = write_report(settings)
    import duckdb

    with duckdb.connect(str(current_snapshot(settings)), read_only=True) as con:
        rows = con.execute(
            """SELECT name, cumulative_net_eur, target_eur, pct_of_target, status,
                      coalesce(reached_on, projected_completion_date), date
               FROM marts.export_progress_latest ORDER BY position"""
        ).fetchall()
    table = Table(title=f"Export tracking · {path}", title_justify="left")
    for column in ("target", "net so far", "target EUR", "%", "status", "reached / projected", "data through"):
        table.add_column(column, justify="right" if column in ("net so far", "target EUR", "%") else "left")
    colours = {"reached": "bold green", "on_track": "green", "at_risk": "yellow", "off_track": "red"}
    for name, net, amount, share, status, projected, through in rows:
        shown = f"[{colours[status]}]{status.replace('_', ' ')}[/]" if status else "tracking only"
        table.add_row(
            name,
            eur(net),
            eur(amount) if amount else "",
            pct(share) if amount else "",
            shown,
            (("reached " if status == "reached" else "projected ") + day(projected)) if projected else "",
            day(through) if through else "",
        )
    console.print(table)
    charts = sorted(p.name for p in path.parent.glob("*_progress.*") if p.suffix in (".svg", ".png"))
    console.print(f"[green]✓[/] {path}" + (f"  (chart for e-mail: {', '.join(charts)})" if charts else ""))
    console.print(f"[green]✓[/] {path.parent / WORKBOOK}  (for finance)")
