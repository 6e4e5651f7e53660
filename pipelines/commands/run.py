"""``xborder run``: a thin caller of ``pipelines.runner.run`` (load, gate what is pending, build, publish)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from pipelines.runner import FEEDS

if TYPE_CHECKING:
    from rich.console import Console

    from pipelines.runner import RunResult

EXIT_STRICT = 3  # --strict: published, but this run rejected files or quarantined rows


def command(
    feed: list[str] = typer.Option(None, "--feed", "-f", help=f"Only these feeds ({', '.join(FEEDS)}); repeatable."),
    ingest_only: bool = typer.Option(
        False, "--ingest-only", help="Load new files and gate pending batches; skip the build."
    ),
    build_only: bool = typer.Option(
        False, "--build-only", "--only-build", help="Skip loading; gate pending batches, then build and publish."
    ),
    strict: bool = typer.Option(
        False, "--strict", help=f"Exit {EXIT_STRICT} (after publishing) when this run rejected a file or a row."
    ),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="Build, gate and publish even when nothing is new since the live snapshot (e.g. after a code change).",
    ),
) -> None:
    """Load new landed files into the warehouse, gate them, then build what people read.

    Each feed (reference dims, suppliers, FX, catalogues, sales) processes only files whose
    content is not in audit.load_ledger, so re-running changes nothing. A bad file is rejected
    and a bad row quarantined with a reason; the other files load. Then every pending load
    batch passes its feed gate (fx, catalogues, sales) - this run's and any left failed or
    ungated by an earlier run - and only then the build refreshes the marts, runs the core and
    marts gates, publishes the analysts' snapshot and writes the reports. With nothing new since
    the live snapshot (no file loaded, nothing pending, the same targets file and SQL) the build
    is skipped: the run says "nothing new since <time>" and exits 0 (--rebuild builds anyway).
    Two runs at once take turns. The Airflow DAGs call the same steps (pipelines/runner.py).

    Exit codes: 0 published (rejected or held files and quarantined rows are listed, not fatal:
    the rest of every feed is published); 1 nothing published (a gate failed, or an error: the
    message says what to do); 2 bad command line; 3 with --strict, published but this run
    rejected or held a file or quarantined a row.

    Examples:

      xborder run

      xborder run --feed sales --ingest-only

      xborder run --build-only

      xborder run --strict   # for cron: non-zero when anything was rejected

      xborder run --rebuild  # build and publish again although nothing is new
    """
    from rich.console import Console

    from pipelines import runner
    from pipelines.errors import UserFacingError
    from pipelines.settings import get_settings

    if ingest_only and build_only:
        raise typer.BadParameter("--ingest-only and --build-only exclude each other")
    unknown = sorted(set(feed or []) - set(FEEDS))
    if unknown:
        raise typer.BadParameter(f"unknown feed(s) {unknown}; feeds: {', '.join(FEEDS)}")
    console = Console()
    settings = get_settings()
    with _progress(console) as hook:
        try:
            result = runner.run(
                feed or None,
                ingest=not build_only,
                build_after=not ingest_only,
                settings=settings,
                progress=hook,
                force=rebuild,
            )
        except UserFacingError as exc:
            partial = getattr(exc, "run_result", None)
            if partial is not None:
                show(console, partial, settings.landing_dir)
            raise
    show(console, result, settings.landing_dir)
    if strict and (result.rejected or any(s.rows_quarantined for s in result.summaries)):
        raise typer.Exit(EXIT_STRICT)


class _progress:
    """A rich progress bar; ``hook(step)`` gives the runner a callback for that step."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.fields[step]}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("", total=None, step="run")

    def __enter__(self) -> Any:
        self.bar.__enter__()
        return self.hook

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def hook(self, step: str) -> Any:
        self.bar.update(self.task, step=step, completed=0, total=None, description="")

        def tick(description: str, done: int, total: int) -> None:
            self.bar.update(self.task, description=description, completed=done, total=total)

        return tick


def show(console: Console, result: RunResult, landing: object) -> None:
    """What the run did: files and rows per feed, rejections, gates, build steps."""
    if result.summaries:
        console.print(loaded_table(result.summaries))
    if result.landed_files == 0:
        console.print(
            f"No landed files yet under {landing}: nothing to load, every target reads zero. "
            "Land files there (or `xborder generate` a sample), then run again."
        )
    elif result.summaries and not result.loaded_anything:
        console.print("Nothing new landed since the last run.")
    from rich.markup import escape

    for path, status, message in result.rejected:  # landed names and content: never rich markup
        text = message if message.startswith(path) else f"{path}: {message}"
        console.print(f"[red]✗ {status}[/] {escape(text)}", highlight=False)
    if result.rejected or any(s.rows_quarantined for s in result.summaries):
        console.print(
            'Quarantined rows and rejected files: [bold]xborder sql "SELECT feed, reason, count(*) '
            'FROM audit.quarantine WHERE resolved_at IS NULL GROUP BY ALL"[/]'
        )
    for note in result.pending.get("notes") or []:
        console.print(f"[green]✓[/] {escape(note)}", highlight=False)
    if result.pending.get("waiting"):
        console.print(
            f"{result.pending['waiting']:,} sales event(s) wait for a product version, FX rate or order line "
            "(raw.pending_sales_events): they load by themselves when it lands"
        )
    for name in result.gates:
        console.print(f"[green]✓[/] quality {name}")
    if (since := result.nothing_new_since) is not None:
        console.print(
            f"[green]✓[/] nothing new since {since:%Y-%m-%d %H:%M:%S} UTC: the published snapshot and the "
            "reports are current (no gate, build or publish ran; `xborder run --rebuild` builds anyway)"
        )
        return
    for step, value in result.built.items():
        if step == "feed gates":
            continue
        # publish returns the snapshot path, reports {name: path}; marts a timing detail (not shown)
        paths = [value] if isinstance(value, str) else list(value.values()) if step == "reports" else []
        console.print(f"[green]✓[/] {step}" + (f": {', '.join(map(str, paths))}" if paths else ""))


def loaded_table(summaries: list) -> object:
    """A rich table of ``FeedSummary`` rows: files, rows, quarantined, duplicates, excluded, EUR loaded."""
    from rich.table import Table

    table = Table(title="Loaded", title_justify="left")
    columns = ("feed", "files", "rejected", "rows read", "loaded", "quarantined", "duplicate", "excluded", "EUR loaded")
    for col in columns:
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
            f"{s.rows_excluded:,}",
            "" if s.eur_loaded is None else f"{s.eur_loaded:,.2f}",
        )
    return table
