"""``xborder run``: load every new landed file, then build marts, gates, snapshot and reports."""

from __future__ import annotations

import typer

from pipelines.runner import FEEDS

# Feeds with a quality gate of their own, run after they loaded new files (as in the DAGs).
GATED_FEEDS = ("fx", "catalogues", "sales")


def command(
    feed: list[str] = typer.Option(None, "--feed", "-f", help=f"Only these feeds ({', '.join(FEEDS)}); repeatable."),
    ingest_only: bool = typer.Option(False, "--ingest-only", help="Load new files (and gate them); skip the build."),
    build_only: bool = typer.Option(
        False, "--build-only", "--only-build", help="Skip loading; rebuild marts, gates, snapshot, reports."
    ),
) -> None:
    """Load new landed files into the warehouse, then build what people read.

    Each feed (reference dims, suppliers, FX, catalogues, sales) processes only files whose
    checksum is not in audit.load_ledger, so re-running changes nothing. Bad rows go to
    audit.quarantine with a reason; every file's rows balance in the ledger. A feed that loaded
    new files then passes its quality gate (fx, catalogues, sales). The build refreshes the
    marts, runs the core and mart gates, publishes the analysts' snapshot and writes the
    reports. The Airflow DAGs (dags/) run exactly these steps (pipelines/runner.py).

    Examples:

      xborder run

      xborder run --feed sales --ingest-only

      xborder run --build-only
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipelines import runner

    if ingest_only and build_only:
        raise typer.BadParameter("--ingest-only and --build-only exclude each other")
    unknown = sorted(set(feed or []) - set(FEEDS))
    if unknown:
        raise typer.BadParameter(f"unknown feed(s) {unknown}; feeds: {', '.join(FEEDS)}")
    console = Console()
    summaries = []
    gates: list[str] = []
    built = None
    with Progress(
        TextColumn("[bold]{task.fields[step]}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None, step="run")

        def tick(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        if not build_only:
            for name in [f for f in FEEDS if not feed or f in feed]:
                bar.update(task, step=f"load {name}", completed=0, total=None, description="")
                summary = runner.ingest_feed(name, progress=tick)
                summaries.append(summary)
                if name in GATED_FEEDS and summary.files:
                    bar.update(task, step=f"quality {name}", completed=0, total=None, description="")
                    runner.quality_gate(name)
                    gates.append(name)
        if not ingest_only:
            bar.update(task, step="build", completed=0, total=None, description="")
            built = runner.build(progress=tick)
    if summaries:
        console.print(loaded_table(summaries))
        if any(s.rows_quarantined or s.files_rejected for s in summaries):
            console.print(
                'Quarantined rows and reasons: [bold]xborder sql "SELECT feed, reason, count(*) '
                'FROM audit.quarantine WHERE resolved_at IS NULL GROUP BY ALL"[/]'
            )
    for name in gates:
        console.print(f"[green]✓[/] quality {name}")
    for step, result in (built or {}).items():
        # publish returns the snapshot path, reports {name: path}; marts a timing detail (not shown)
        paths = [result] if isinstance(result, str) else list(result.values()) if step == "reports" else []
        console.print(f"[green]✓[/] {step}" + (f": {', '.join(map(str, paths))}" if paths else ""))


def loaded_table(summaries: list) -> object:
    """A rich table of ``FeedSummary`` rows: files, rows, quarantined, duplicates, EUR loaded."""
    from rich.table import Table

    table = Table(title="Loaded", title_justify="left")
    for col in ("feed", "files", "rejected", "rows read", "loaded", "quarantined", "duplicate", "EUR loaded"):
        table.add_column(col, justify="left" if col == "feed" else "right")
    for s in summaries:
        table.add_row(
            s.feed,
            f"{s.files:,}",
            f"{s.files_rejected:,}",
            f"{s.rows_read:,}",
            f"{s.rows_loaded:,}",
            f"{s.rows_quarantined:,}",
            f"{s.rows_duplicate:,}",
            "" if s.eur_loaded is None else f"{s.eur_loaded:,.2f}",
        )
    return table
