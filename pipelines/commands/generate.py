"""``xborder generate``: the deterministic sample landing zone."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer


def command(
    order_lines: int = typer.Option(
        3_000_000,
        "--order-lines",
        "-n",
        min=1_000,
        max=100_000_000,
        help="Order lines to generate over the window (1,000 .. 100,000,000).",
    ),
    seed: int = typer.Option(2018, help="Random seed: same seed and arguments give byte-identical files."),
    start: datetime = typer.Option("2018-07-01", formats=["%Y-%m-%d"], help="First sales day (UTC)."),
    end: datetime = typer.Option("2021-06-30", formats=["%Y-%m-%d"], help="Last sales day (UTC)."),
    out: Path | None = typer.Option(None, help="Landing folder; default $XBORDER_HOME/landing."),
    suppliers: int | None = typer.Option(None, min=1, max=44, help="Use only the first N of the 44 suppliers."),
    skus_per_supplier: int = typer.Option(250, min=10, help="SKUs in each supplier's catalogue."),
    force: bool = typer.Option(
        False, "--force", help="Overwrite landed files the warehouse has already loaded (they would be new content)."
    ),
) -> None:
    """Generate realistic sample landing files: suppliers, catalogues, ECB rates and sales events.

    Writes the landing layout of docs/design.md §3 under OUT (default $XBORDER_HOME/landing): the
    supplier master, 44 UK/EU suppliers' catalogue snapshots in 8 layouts (CSV with , or ;
    and decimal comma, cp1252/latin-1/UTF-8-BOM, XLSX, JSON, JSON lines, Parquet), the real ECB
    history cut to the window plus daily files, and sales events from three channels with
    cancellations, returns, seasonality and a few realistic defects. It also writes
    $XBORDER_HOME/targets.sample.yml: the EUR 2.2 bn target scaled to the sample.

    Examples:

      xborder generate --order-lines 100000 --start 2020-01-01 --end 2020-12-31

      XBORDER_HOME=/tmp/big xborder generate -n 10000000 --seed 7

    Files the warehouse has already loaded are never overwritten without --force: regenerating
    with other arguments would land changed files at the same paths (each a correction of a
    loaded delivery). Use a new XBORDER_HOME for another sample.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from pipelines.generate import generate
    from pipelines.settings import get_settings

    target = (out or get_settings().landing_dir).resolve()
    if not force:
        _refuse_loaded(target)
    console = Console()
    with Progress(
        TextColumn("[bold]generate[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("suppliers and catalogues", total=None)

        def tick(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        summary = generate(
            target,
            order_lines=order_lines,
            seed=seed,
            start=_day(start),
            end=_day(end),
            suppliers=suppliers,
            skus_per_supplier=skus_per_supplier,
            progress=tick,
        )
    table = Table(title=f"Sample landing zone: {target}", title_justify="left")
    for col in ("feed", "files", "rows", "MB"):
        table.add_column(col, justify="right" if col != "feed" else "left")
    for feed, f in summary.feeds.items():
        table.add_row(feed, f"{f.files:,}", f"{f.rows:,}" if f.rows else "-", f"{f.bytes / 1e6:,.1f}")
    console.print(table)
    rate = summary.order_lines / summary.seconds if summary.seconds else 0
    console.print(
        f"{summary.order_lines:,} order lines, {summary.start} .. {summary.end}, seed {summary.seed}: "
        f"{summary.seconds:,.1f} s ({rate:,.0f} lines/s)\n"
        f"Sample target: EUR {summary.sample_target_eur:,} of UK goods to China "
        f"(the EUR 2.2 bn target scaled to the sample; see {target.parent / 'targets.sample.yml'})\n"
        "Next: [bold]xborder run[/] loads it into the warehouse."
    )


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _refuse_loaded(target: Path) -> None:
    """Stop before overwriting a landing zone the warehouse has loaded files from."""
    from pipelines.errors import UserFacingError
    from pipelines.settings import get_settings
    from pipelines.warehouse import has_tables, session

    settings = get_settings()
    if target != settings.landing_dir or not settings.warehouse_path.exists() or not target.is_dir():
        return
    with session(read_only=True) as con:
        if not has_tables(con, "audit", "load_ledger"):
            return
        paths = [r[0] for r in con.execute("SELECT path FROM audit.load_ledger WHERE status = 'loaded'").fetchall()]
    loaded = [p for p in paths if (target / p).is_file()]
    if loaded:
        raise UserFacingError(
            f"{len(loaded):,} file(s) under {target} are already loaded into {settings.warehouse_path} "
            f"(e.g. {loaded[0]}); generating would overwrite them. Use another XBORDER_HOME, or --force"
        )
