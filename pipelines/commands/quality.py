"""``xborder quality``: run the Great Expectations gates on demand and build the Data Docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # imported in the command so that `xborder --help` stays instant
    from rich.console import Console

    from pipelines.settings import Settings

STAGES = ("fx", "catalogues", "sales", "core", "marts")


def command(
    stage: list[str] = typer.Option(
        None, "--stage", "-s", help=f"Only these stages ({', '.join(STAGES)}); repeatable. Default: all."
    ),
    docs_only: bool = typer.Option(False, "--docs-only", help="Only rebuild the Data Docs from stored results."),
    accept: str = typer.Option(
        None,
        "--accept",
        metavar="RUN_ID|PATH",
        help="After review, let through the batches of a failed feed gate (its run id, in the gate's message) "
        "or a held landed file (its path, in the hold's message): the next run loads it.",
    ),
    note: str = typer.Option(
        "", "--note", help="Why it was accepted (kept in audit.dq_gate_runs or audit.file_acceptance)."
    ),
) -> None:
    """Validate the warehouse with the project's Great Expectations suites, then build the Data Docs.

    Every stage runs through the pipeline's own DuckDB connection (SQL pushed down, no copies):
    fx, catalogues and sales check the load batches no gate has passed yet; core and marts check
    whole tables (keys, SCD2 versions, FX coverage, reconciliation of the marts with core).
    Every result goes to audit.dq_results, one row per expectation, so quality trends with SQL.
    The Data Docs ($XBORDER_HOME/quality/data_docs/index.html, with quarantine.html beside it)
    open offline: no CDN, styles and scripts inline. Exit code 1 when a critical expectation
    failed; warnings are listed and recorded but do not fail.

    Examples:

      xborder quality

      xborder quality --stage core --stage marts

      xborder quality --accept 20210614T101500-ab12cd --note "supplier confirmed the price list"

      xborder quality --accept catalogues/GB003/2021-03-01.csv --note "supplier delisted its winter range"

      xborder sql "SELECT suite, rule, observed_value FROM audit.dq_latest WHERE NOT success"
    """
    from rich.console import Console

    from pipelines.settings import get_settings

    unknown = sorted(set(stage or []) - set(STAGES))
    if unknown:
        raise typer.BadParameter(f"unknown stage(s) {unknown}; stages: {', '.join(STAGES)}")
    console = Console()
    settings = get_settings()
    if accept:
        _accept(console, settings, accept, note)
        return
    failed = False if docs_only else _run_gates(console, settings, [s for s in STAGES if not stage or s in stage])
    from pipelines.quality.docs import build_data_docs

    with console.status("building the Data Docs"):
        index = build_data_docs(settings)
    console.print(f"[green]✓[/] Data Docs: {index}  (quarantine summary: {index.parent / 'quarantine.html'})")
    if failed:
        raise typer.Exit(1)


def _run_gates(console: Console, settings: Settings, stages: list[str]) -> bool:
    """Run each stage's gate (all of them, even after a failure); print a table; True if any failed."""
    from rich.table import Table

    from pipelines import runner
    from pipelines.quality.gates import QualityGateFailed

    table = Table(title="Quality gates", title_justify="left")
    for column in ("stage", "result", "expectations", "critical failed", "warnings", "seconds"):
        table.add_column(column, justify="left" if column in ("stage", "result") else "right")
    problems: list[str] = []
    failed = False
    for name in stages:
        with console.status(f"quality gate {name}"):
            try:
                result = runner.quality_gate(name, settings=settings)
            except QualityGateFailed as exc:
                result = exc.result.to_dict()
                failed = True
        counts = result["counts"]
        shown = "[green]passed[/]" if result["passed"] else "[red]failed[/]"
        table.add_row(
            name,
            shown,
            f"{counts['expectations']:,}",
            f"{counts['failed_critical']:,}",
            f"{counts['failed_warning']:,}",
            f"{result['seconds']:.2f}",
        )
        problems += [f"[red]✗[/] {name}: {text}" for text in result["failures"]]
        problems += [f"[yellow]![/] {name}: {text}" for text in result["warnings"]]
    console.print(table)
    for line in problems:
        console.print(line, highlight=False)
    return failed


def _accept(console: Console, settings: Settings, target: str, note: str) -> None:
    """A gate run id, or (a value with a '/') a held file's path relative to the landing root or not."""
    from rich.markup import escape

    from pipelines.quality.gates import accept, accept_file
    from pipelines.warehouse import session, transaction

    if not note:
        raise typer.BadParameter("say why with --note (it is kept beside what was accepted)")
    if "/" in target:
        path = _landed_path(settings, target)
        with session(settings=settings) as con, transaction(con):
            sha, message = accept_file(con, path, note)
        console.print(f"[green]✓[/] accepted held file {escape(path)} (sha256 {sha[:12]}...); the next run loads it")
        console.print(f"  it was held because: {escape(message)}", highlight=False)
        return
    with session(settings=settings) as con, transaction(con):
        accepted = accept(con, target, note)
    for stage, batches in accepted:
        console.print(f"[green]✓[/] accepted failed gate {target} ({stage}): {batches} batch(es) may now be published")


def _landed_path(settings: Settings, target: str) -> str:
    """The ledger's name of a landed file: as given, or made relative to the landing root when it is a real path."""
    from pathlib import Path

    from pipelines.landing import LandingPathError, relative

    path = Path(target)
    if path.is_absolute() or path.exists():
        try:
            return relative(settings.landing_dir, path.resolve())
        except LandingPathError:
            pass
    return path.as_posix()
