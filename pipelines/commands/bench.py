"""``xborder bench``: the pipeline's stages timed against a plain-DuckDB reference on the same files."""

from __future__ import annotations

import sys

import typer

STAGE_NAMES = ("load", "marts", "quality", "publish", "increment")


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
        help=f"Only these stages ({', '.join(STAGE_NAMES)}; comma-separated or repeated). load always runs.",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the run's warehouse, snapshot and reference database."),
) -> None:
    """Benchmark the pipeline against a plain DuckDB SQL reference, on the same files, in the same run.

    Generates the sample once per seed and size (cached under $XBORDER_HOME/bench/data), then
    runs each stage a user waits for in a fresh process with its own XBORDER_HOME: the full load
    of every feed without the last sales day, the marts refresh, the quality gates, the snapshot
    publish, and the last day as a one-day increment. The reference
    (pipelines/bench/reference.sql: read the sales files, FX as-of, product origin, daily
    cumulative progress) runs on the same files. For every stage it reports wall time, rows/s
    and peak memory (RSS of the process tree), the pipeline ÷ reference ratio, whether the
    targets are met, and writes JSON to $XBORDER_HOME/bench/results/ (and bench/latest.json).
    Both sides must agree on the tracked target's EUR total to the cent, or the run fails
    (exit 1) and lists the events that differ. See docs/benchmark.md.

    Examples:

      xborder bench                                  # 1M order lines

      xborder bench -n 10000000 --stages load,increment

      XBORDER_HOME=/srv/bench xborder bench -n 100000000 --keep
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.bench.harness import BenchOptions, run_bench
    from pipelines.bench.report import render
    from pipelines.settings import get_settings

    chosen = tuple(s.strip() for item in (stages or []) for s in item.split(",") if s.strip()) or STAGE_NAMES
    unknown = sorted(set(chosen) - set(STAGE_NAMES))
    if unknown:
        raise typer.BadParameter(f"unknown stage(s) {unknown}; stages: {', '.join(STAGE_NAMES)}")
    options = BenchOptions(home=get_settings().home, order_lines=order_lines, seed=seed, stages=chosen, keep=keep)
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
