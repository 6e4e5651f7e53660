"""``xborder bench``: the pipeline's stages timed against a plain-DuckDB reference on the same files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

STAGE_NAMES = ("load", "marts", "quality", "publish", "run", "noop", "increment", "day")
DEFAULT_STAGES = ("run", "noop", "increment", "day")


def command(
    order_lines: int = typer.Option(
        1_000_000,
        "--order-lines",
        "-n",
        min=1_000,
        max=100_000_000,
        help="Size of the sample (order lines over three years); 1M takes a few minutes, 100M hours.",
    ),
    seed: int = typer.Option(2018, help="Sample seed; the generated files are cached per (seed, size)."),
    stages: list[str] = typer.Option(
        None,
        "--stages",
        "-s",
        help=f"Stages ({', '.join(STAGE_NAMES)}; comma-separated or repeated); default "
        f"{','.join(DEFAULT_STAGES)}. load..publish are one runner step each, in a warehouse of their own.",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the run's warehouse, snapshot and reference database."),
    day_events: int | None = typer.Option(
        None,
        "--day-events",
        min=1_000,
        help="Order lines of the same-size day (default 1,500 up to 1M lines, 100,000 above).",
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", exists=True, dir_okay=False, help="A 1M result JSON for the same-size-day target."
    ),
) -> None:
    """Benchmark the pipeline against a plain DuckDB SQL reference, on the same files, in the same run.

    Generates the sample once per seed and size (cached under $XBORDER_HOME/bench/data), then
    runs each stage in a fresh process with its own XBORDER_HOME: a whole `xborder run` from an
    empty warehouse without the last sales day (run), the same run with nothing new (noop), the
    last day (increment) and a same-size day generated for the day after (day), each a run;
    optionally the runner's steps one at a time (load, marts, quality, publish). Two plain
    DuckDB references run on the same files: the single pass (pipelines/bench/single_pass.sql,
    one statement: the speed limit) and the month-by-month script (reference.sql: the rules
    batch by batch). For every stage it reports wall time, rows/s and peak memory (RSS of the
    process tree), the ratio to each reference, each run's steps from audit.runs, every target of
    issue 14 with its figure, and writes JSON to $XBORDER_HOME/bench/results/ (and
    bench/latest.json). The warehouse and both references must agree on the tracked target's EUR
    to the cent, or the run fails (exit 1) and lists what differs. See docs/benchmark.md.

    Examples:

      xborder bench                                  # 1M order lines

      xborder bench -n 10000000 --stages run,increment

      xborder bench -n 1000000 --day-events 100000 --stages run,day   # the 1M side of a 100M day

      XBORDER_HOME=/srv/bench xborder bench -n 100000000 --keep
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.bench.harness import BenchOptions, run_bench
    from pipelines.bench.report import render
    from pipelines.settings import get_settings

    chosen = tuple(s.strip() for item in (stages or []) for s in item.split(",") if s.strip()) or DEFAULT_STAGES
    unknown = sorted(set(chosen) - set(STAGE_NAMES))
    if unknown:
        raise typer.BadParameter(f"unknown stage(s) {unknown}; stages: {', '.join(STAGE_NAMES)}")
    options = BenchOptions(
        home=get_settings().home,
        order_lines=order_lines,
        seed=seed,
        stages=chosen,
        keep=keep,
        day_events=day_events,
        baseline=baseline,
    )
    console = Console(width=None if sys.stdout.isatty() else 170)  # logs and CI: the whole table, not cut at 80
    with Progress(
        SpinnerColumn(), TextColumn("[bold]bench[/] {task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("starting", total=None)
        result = run_bench(options, progress=lambda text: bar.update(task, description=text))
        bar.update(task, description="done")
    render(result, console)
    if not result["ok"]:
        raise typer.Exit(1)
