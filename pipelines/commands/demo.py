"""``xborder demo``: the sample data through the real Airflow DAGs, then where everything is."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

# 1M order lines: generation, Airflow and the loads fit in well under 10 minutes on 2 cores.
# (The generator's own default, 3M lines over three years, takes about three times as long.)
DEMO_ORDER_LINES = 1_000_000


def command(
    order_lines: int = typer.Option(
        DEMO_ORDER_LINES,
        "--order-lines",
        "-n",
        min=1_000,
        max=100_000_000,
        help="Sample size when the sample is generated (order lines over 2018-07-01..2021-06-30).",
    ),
    seed: int = typer.Option(2018, help="Generator seed: the same seed and size give byte-identical files."),
    regenerate: bool = typer.Option(
        False, "--regenerate", help="Generate the sample even if the landing zone already has sales files."
    ),
) -> None:
    """Generate the sample data, run the real Airflow DAGs over it, and show progress to the target.

    1. `xborder generate` into $XBORDER_HOME/landing (skipped when it already holds sales files).
    2. Airflow in a project-local $AIRFLOW_HOME (default ./airflow_home): `airflow db migrate`
       and the one-slot pool xborder_warehouse.
    3. The DAGs of pipelines/dags/, each run for real with dag.test(): fx_rates, supplier_catalogues,
       sales_events (the feeds, whose assets schedule the build), then warehouse_build.
    4. A summary: EUR to date against each target, where the warehouse, the analysts' snapshot,
       the report and the Data Docs are, and how to query them.

    Running it again is safe: every file is loaded once (checksums in audit.load_ledger).
    Airflow's task logs go to $AIRFLOW_HOME/logs/demo-<time>.log. `make demo` runs this.

    Examples:

      xborder demo

      XBORDER_HOME=/tmp/small xborder demo --order-lines 100000
    """
    from pipelines import airflow_setup
    from pipelines.settings import get_settings, reset_settings

    env = airflow_setup.configure()  # before anything imports Airflow; XBORDER_HOME made absolute
    reset_settings()
    settings = get_settings()
    log_path = Path(env["AIRFLOW_HOME"]) / "logs" / f"demo-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    started = time.perf_counter()
    with terminal_only(log_path) as console:
        try:
            outcomes = _run(console, settings, order_lines, seed, regenerate)
        except airflow_setup.AirflowSetupError as exc:
            raise airflow_setup.AirflowSetupError(
                f"{exc}\n{task_errors(log_path)}\nAirflow's whole output: {log_path}"
            ) from exc
        console.print(summary(settings, env, outcomes, log_path, time.perf_counter() - started))


def _run(console: Any, settings: Any, order_lines: int, seed: int, regenerate: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines import airflow_setup

    outcomes: dict[str, Any] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        if regenerate or not _has_sales(settings.landing_dir):
            from pipelines.generate import generate

            step = bar.add_task(f"generate {order_lines:,} order lines", total=None, detail="")
            t0 = time.perf_counter()
            generate(
                settings.landing_dir,
                order_lines=order_lines,
                seed=seed,
                progress=lambda detail, done, total: bar.update(step, completed=done, total=total, detail=detail),
            )
            bar.update(step, detail="")
            bar.stop_task(step)
            console.print(f"[green]✓[/] sample generated in {settings.landing_dir} ({time.perf_counter() - t0:,.0f} s)")
        else:
            console.print(
                f"[green]✓[/] using the landing zone already in {settings.landing_dir} (--regenerate to redo)"
            )
        step = bar.add_task("Airflow: db migrate, pool", total=None, detail="")
        airflow_setup.setup()
        dags = airflow_setup.load_dags()
        bar.remove_task(step)
        console.print(f"[green]✓[/] Airflow ready ({len(dags)} DAGs, pool {airflow_setup.POOL})")
        for dag_id in airflow_setup.DAG_ORDER:
            step = bar.add_task(f"DAG {dag_id}", total=None, detail="")
            t0 = time.perf_counter()
            outcomes[dag_id] = airflow_setup.run_dag(dags[dag_id])
            bar.remove_task(step)
            console.print(
                f"[green]✓[/] DAG [bold]{dag_id}[/] ({time.perf_counter() - t0:,.0f} s): {describe(outcomes[dag_id])}"
            )
    return outcomes


def _has_sales(landing: Path) -> bool:
    sales = landing / "sales"
    return sales.is_dir() and any(p.is_file() for p in sales.rglob("*"))


def describe(outcome: Any) -> str:
    """One line about a DAG run: its tasks (mapped ones counted) and what its feed loaded."""
    states = outcome.states()
    parts = [
        f"{task_id} x{len(s)}" if len(s) > 1 else task_id + ("" if s[0] == "success" else f" ({s[0]})")
        for task_id, s in states.items()
    ]
    text = ", ".join(parts)
    for result in (r for t in states if t.startswith("quality_") for r in outcome.results(t)):
        if isinstance(result, dict) and "loaded" in result:
            loaded = result["loaded"]
            text += f"; {loaded['files']:,} new files, {loaded['rows_loaded']:,} rows loaded"
    return text


def task_errors(log_path: Path, limit: int = 3) -> str:
    """The exceptions of the failed task tries in a demo log (their last lines), for the error message."""
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    found = []
    for i, line in enumerate(lines):
        if "Task failed with exception" in line:
            block = []
            for follow in lines[i + 1 : i + 60]:
                if follow[:4].isdigit() and "Z [" in follow[:40]:  # the next log record
                    break
                block.append(follow)
            found.append("\n".join(block[-3:]))
    return "\n".join(found[-limit:])


@contextmanager
def terminal_only(log_path: Path) -> Iterator[Any]:
    """Send whatever is written to stdout/stderr (Airflow's logs) to ``log_path``; yield a console on the terminal."""
    from rich.console import Console

    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    try:
        with open(log_path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield Console(file=terminal)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])
        terminal.close()


def summary(settings: Any, env: dict[str, str], outcomes: dict[str, Any], log_path: Path, seconds: float) -> Any:
    """The closing panel: progress to each target, what was loaded, where things are, how to query."""
    import duckdb
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    from pipelines.snapshot import CURRENT, current_snapshot

    snapshot = current_snapshot(settings)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        targets = con.execute(
            """SELECT name, date, cumulative_net_eur, target_eur, pct_of_target, status,
                      projected_completion_date, scale_note, reached_on
               FROM marts.export_progress_latest ORDER BY target_eur IS NULL, target_id"""
        ).fetchall()
        ledger = con.execute(
            """SELECT feed, count(*), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate),
                      count(*) FILTER (WHERE status = 'rejected')
               FROM audit.load_ledger WHERE feed <> 'reference' GROUP BY feed ORDER BY min(loaded_at)"""
        ).fetchall()
        (net_eur,) = con.execute("SELECT coalesce(sum(eur_amount), 0) FROM core.fct_sales_event").fetchone()  # type: ignore[misc]

    progress = Table.grid(padding=(0, 2))
    for name, day, cumulative, target, pct, status, projected, note, reached_on in targets:
        if target is None:
            progress.add_row(f"[bold]{name}[/]", f"EUR {cumulative:,.2f} to {day}", "(tracking only)")
            continue
        progress.add_row(
            f"[bold]{name}[/]",
            f"EUR {cumulative:,.2f} of EUR {target:,.0f} = [bold]{pct:.1f} %[/] to {day}",
            f"status [bold]{status}[/], reached on {reached_on}"
            if reached_on
            else f"status [bold]{status}[/], projected {projected or 'beyond reach at the 30-day run-rate'}",
        )
        if note:
            progress.add_row("", f"[dim]{note}[/]", "")

    loaded = Table("feed", "files", "rejected", "rows loaded", "quarantined", "duplicate", box=None, padding=(0, 2))
    for feed, files, loaded_rows, quarantined, duplicate, rejected in ledger:
        loaded.add_row(feed, f"{files:,}", f"{rejected:,}", f"{loaded_rows:,}", f"{quarantined:,}", f"{duplicate:,}")

    reports = outcomes["warehouse_build"].results("write_reports")[0] or {}
    where = Table.grid(padding=(0, 2))
    where.add_row("warehouse", str(settings.warehouse_path))
    where.add_row("snapshot", f"{settings.snapshot_dir / CURRENT} -> {snapshot.name}")
    for name, path in reports.items():
        where.add_row(name.replace("_", " "), str(path))
    where.add_row("airflow", f"{env['AIRFLOW_HOME']} (task logs of this run: {log_path})")

    current = settings.snapshot_dir / CURRENT
    query = Table.grid(padding=(0, 2))
    query.add_row("SQL", 'xborder sql "SELECT target_id, date, cumulative_net_eur, pct_of_target, status')
    query.add_row("", '             FROM marts.export_progress_latest"')
    query.add_row("shell", f"xborder sql   (interactive over {current}: .tables, .schema, history)")
    query.add_row("Airflow UI", "make airflow   (installed from the wheel: python -m pipelines.airflow_standalone)")

    return Panel(
        Group(
            "[bold]Progress to target[/]",
            progress,
            "",
            f"[bold]Loaded[/] (net EUR in core.fct_sales_event: {net_eur:,.2f})",
            loaded,
            "",
            "[bold]Where things are[/]",
            where,
            "",
            "[bold]Query it[/] (the snapshot is read-only and never blocks the pipeline)",
            query,
        ),
        title=f"xborder demo: the real DAGs ran end to end in {seconds:,.0f} s",
        expand=False,
    )
