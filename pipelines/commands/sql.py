"""``xborder sql``: ad-hoc SQL on the published read-only snapshot."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def command(
    query: str = typer.Argument(None, help="SQL to run; omit and use --file for a .sql file."),
    file: Path | None = typer.Option(
        None, "--file", "-f", exists=True, dir_okay=False, help="Run the SQL in this file."
    ),
    format: Format = typer.Option(Format.table, "--format", help="table (default), csv or json."),
    limit: int = typer.Option(200, help="Rows to show in table format (csv/json print all)."),
) -> None:
    """Query the analysts' snapshot, read-only: it never blocks or sees a half-built pipeline run.

    Tables: core.fct_sales_event, core.dim_product (SCD2), core.fx_rate, core.dim_*,
    marts.export_progress_daily, marts.export_progress_latest, marts.export_breakdown_monthly,
    audit.load_ledger, audit.quarantine. Ready queries live in sql/examples/.

    Examples:

      xborder sql "SELECT target_id, cumulative_net_eur, pct_of_target, status FROM marts.export_progress_latest"

      xborder sql --file sql/examples/top_chapters.sql --format csv > chapters.csv

    The same file opens in the DuckDB CLI: duckdb -readonly $XBORDER_HOME/snapshot/current.duckdb
    """
    import duckdb
    from rich.console import Console
    from rich.table import Table

    from pipelines.settings import get_settings
    from pipelines.snapshot import current_snapshot

    if (query is None) == (file is None):
        raise typer.BadParameter("give a query or --file (one of them)")
    sql = file.read_text(encoding="utf-8") if file else query
    path = current_snapshot(get_settings())
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            frame = con.sql(sql).pl()
        except duckdb.Error as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from exc
    if format is Format.csv:
        typer.echo(frame.write_csv(), nl=False)
    elif format is Format.json:
        typer.echo(frame.write_json())
    else:
        table = Table(*frame.columns, caption=f"{frame.height:,} row(s) from {path.name}")
        for row in frame.head(limit).iter_rows():
            table.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        Console().print(table)
