"""The benchmark's verdicts on the targets of issue 14, and its rich summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BASELINE_LINES = 1_000_000


@dataclass(frozen=True)
class Goal:
    id: str
    description: str
    applies_at: int | None  # the size (order lines) the goal is stated for; None: every size
    limit: float
    unit: str  # "x" (ratio, within: <=), "bytes" or "share" (under: <)


GOALS = (
    Goal("full_run_10m", "full xborder run within 3x the single pass", 10_000_000, 3.0, "x"),
    Goal("full_run_1m", "full xborder run within 5x the single pass", 1_000_000, 5.0, "x"),
    Goal("noop_run", "a run with nothing new within the single pass's time", 1_000_000, 1.0, "x"),
    Goal("same_size_day", "a same-size day on 100M lines within 1.5x that day on 1M", 100_000_000, 1.5, "x"),
    Goal("small_day", "a 1,500-event day within 1.5x the single pass over that day", 1_000_000, 1.5, "x"),
    Goal("gates_share", "quality gates under 10% of the full run", None, 0.10, "share"),
    Goal("peak_memory", "peak memory under 6 GB", 100_000_000, 6e9, "bytes"),
)
# A figure: (measured value or None, how it was measured, note).
Figure = tuple[float | None, str, str | None]


def _stage(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in result["stages"] if s["name"] == name and s.get("status") == "ok"), None)


def _ratio(result: dict[str, Any], name: str, column: str = "single_pass") -> Figure:
    """A stage's time over its reference's: the ratio and ``a s ÷ b s``."""
    stage = _stage(result, name)
    ref = (stage or {}).get("compare", {}).get(column) or {}
    if stage is None or ref.get("ratio") is None:
        return None, "", f"needs the {name} stage and its {column.replace('_', ' ')} reference"
    return ref["ratio"], f"{stage['wall_s']:.1f} s ÷ {ref['wall_s']:.1f} s", None


def _events(stage: dict[str, Any]) -> str:
    return f"{stage.get('events') or 0:,} events"


def day_baseline(result: dict[str, Any], results_dir: Path, baseline: Path | None) -> tuple[dict, str] | None:
    """The ``day`` stage of a 1M result with this seed and the same day size, and its file name.

    ``baseline`` (a result JSON) if given, else the latest such result in ``results_dir``.
    """
    size = result.get("same_size_day", {}).get("order_lines")
    paths = [baseline] if baseline else sorted(results_dir.glob(f"*-{result['seed']}-{BASELINE_LINES}.json"))
    found = None
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        day = _stage(doc, "day") if doc.get("order_lines") == BASELINE_LINES else None
        if day and doc.get("same_size_day", {}).get("order_lines") == size:
            found = (day, path.name)
    return found


def _same_size_day(result: dict[str, Any], results_dir: Path, baseline: Path | None) -> Figure:
    day = _stage(result, "day")
    if day is None:
        return None, "", "needs the day stage"
    here = f"{_events(day)} in {day['wall_s']:.1f} s"
    if result["order_lines"] == BASELINE_LINES:
        return None, here, "this run is the 1M side: the larger run compares its day of the same size with it"
    base = day_baseline(result, results_dir, baseline)
    if base is None:
        lines = result.get("same_size_day", {}).get("order_lines")
        return None, here, f"needs a 1M result with seed {result['seed']} and --day-events {lines} (or --baseline)"
    stage, name = base
    figure = f"{day['wall_s']:.1f} s ÷ {stage['wall_s']:.1f} s"
    return round(day["wall_s"] / stage["wall_s"], 3), figure, f"{_events(day)}; 1M: {_events(stage)} ({name})"


def _gates_share(result: dict[str, Any]) -> Figure:
    stage = _stage(result, "run")
    if stage is None or "run_steps" not in stage:
        return None, "", "needs the run stage"
    steps = stage["run_steps"]
    gates = ", ".join(f"{s['step'][8:]} {s['seconds']:.1f}" for s in steps["steps"] if s["step"].startswith("quality:"))
    return steps["gates_share"], f"{steps['gates_s']:.1f} s of {stage['wall_s']:.1f} s", gates or None


def _peak(result: dict[str, Any]) -> Figure:
    if any(s.get("status") == "failed" for s in result["stages"]):
        return None, "", "a stage failed"
    ok = [s for s in result["stages"] if s.get("status") == "ok"]
    if not ok:
        return None, "", "no stage ran"
    top = max(ok, key=lambda s: s["peak_rss_bytes"])
    return top["peak_rss_bytes"], f"{top['peak_rss_bytes'] / 1e9:.2f} GB ({top['name']})", None


def measure(goal: Goal, result: dict[str, Any], results_dir: Path, baseline: Path | None = None) -> Figure:
    """The figure of one goal in this result."""
    if goal.id in ("full_run_10m", "full_run_1m"):
        return _ratio(result, "run")
    if goal.id == "noop_run":
        return _ratio(result, "noop")
    if goal.id == "small_day":
        value, figure, note = _ratio(result, "increment")
        stage = _stage(result, "increment")
        return value, figure, note or (f"the last day ({_events(stage)})" if stage else None)
    if goal.id == "same_size_day":
        return _same_size_day(result, results_dir, baseline)
    if goal.id == "gates_share":
        return _gates_share(result)
    if goal.id == "peak_memory":
        return _peak(result)
    raise ValueError(goal.id)


def judge(goal: Goal, measured: float | None) -> str:
    """met / not met / n/a: a ratio is within its limit (<=), a share or memory under it (<)."""
    if measured is None:
        return "n/a"
    within = measured <= goal.limit if goal.unit == "x" else measured < goal.limit
    return "met" if within else "not met"


def evaluate_targets(result: dict[str, Any], results_dir: Path, baseline: Path | None = None) -> list[dict[str, Any]]:
    """Each goal's measured value, figure and status (met / not met / n/a) for this run."""
    out = []
    for goal in GOALS:
        measured, figure, note = measure(goal, result, results_dir, baseline)
        out.append(
            {
                "id": goal.id,
                "description": goal.description,
                "applies_at": goal.applies_at,
                "at_target_size": goal.applies_at in (None, result["order_lines"]),
                "measured": measured,
                "figure": figure,
                "limit": goal.limit,
                "unit": goal.unit,
                "status": judge(goal, measured),
                "note": note,
            }
        )
    return out


def _gb(value: int | None) -> str:
    return "" if value is None else f"{value / 1e9:,.2f}"


def _num(value: float | int | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _value(goal: dict[str, Any]) -> str:
    value = goal["measured"]
    if value is None:
        return "-"
    if goal["unit"] == "bytes":
        return f"{value / 1e9:.2f} GB (limit {goal['limit'] / 1e9:.0f})"
    if goal["unit"] == "share":
        return f"{value:.1%} (limit {goal['limit']:.0%})"
    return f"{value:.2f}x (limit {goal['limit']}x)"


def _size(lines: int | None) -> str:
    return "every size" if lines is None else f"{lines / 1e6:,.0f}M lines"


def _compare_cells(stage: dict[str, Any], column: str) -> list[str]:
    entry = stage.get("compare", {}).get(column)
    if not entry:
        return ["-", ""]
    ratio = entry.get("ratio")
    return [_num(entry["wall_s"]), "" if ratio is None else f"{ratio:.2f}x"]


def _stage_table(result: dict[str, Any], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("stage", "pipeline s", "rows read", "events", "events/s", "peak GB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for col in ("single pass s", "÷ single pass", "month-by-month s", "÷ month-by-month"):
        table.add_column(col, justify="right")
    for stage in result["stages"]:
        if stage.get("status") != "ok":
            note = stage.get("note") or stage.get("error") or ""
            table.add_row(stage["name"], f"[red]{stage['status']}[/]", *[""] * 7, note)
            continue
        table.add_row(
            stage["name"],
            _num(stage["wall_s"]),
            f"{stage['rows']:,}",
            "" if stage.get("events") is None else f"{stage['events']:,}",
            f"{stage['rows_per_s']:,}" if stage.get("rows_per_s") else "",
            _gb(stage["peak_rss_bytes"]),
            *_compare_cells(stage, "single_pass"),
            *_compare_cells(stage, "month_by_month"),
        )
    return table


def _steps_table(result: dict[str, Any]) -> Table | None:
    runs = [s for s in result["stages"] if s.get("status") == "ok" and "run_steps" in s]
    if not runs:
        return None
    table = Table(title="Steps of each run (seconds, audit.runs)", title_justify="left")
    table.add_column("step")
    for stage in runs:
        table.add_column(stage["name"], justify="right")
    names: list[str] = []
    for stage in runs:
        names += [s["step"] for s in stage["run_steps"]["steps"] if s["step"] not in names]

    def seconds(stage: dict[str, Any], name: str) -> float:
        return sum(s["seconds"] for s in stage["run_steps"]["steps"] if s["step"] == name)

    for name in names:
        table.add_row(name, *[_num(seconds(s, name), 2) for s in runs])
    table.add_row("outside the steps (start-up, reports)", *[_num(s["run_steps"]["unrecorded_s"], 2) for s in runs])
    table.add_row("[bold]process wall[/]", *[_num(s["wall_s"], 2) for s in runs])
    table.add_row("gates' share", *[f"{s['run_steps']['gates_share']:.1%}" for s in runs])
    return table


def _references_table(result: dict[str, Any]) -> Table:
    table = Table(title="References", title_justify="left")
    for col in ("landing", "reference", "s", "statement s", "rows", "peak GB", "target EUR"):
        table.add_column(col, justify="left" if col in ("landing", "reference") else "right")
    for ref in result.get("references", []):
        detail = ref.get("detail") or {}
        cents = (detail.get("totals") or {}).get("target_cents")
        table.add_row(
            ref["state"],
            ref["kind"].replace("_", " ") if ref["status"] == "ok" else f"{ref['kind']} [red]{ref['status']}[/]",
            _num(ref["wall_s"]),
            _num((detail.get("steps") or {}).get("statement")),
            f"{ref['rows']:,}" if ref.get("rows") is not None else "",
            _gb(ref["peak_rss_bytes"]),
            "" if cents is None else f"{cents / 100:,.2f}",
        )
    return table


def _print_checks(result: dict[str, Any], console: Console) -> None:
    for check in result["checks"]:
        mark = "[green]✓ equal[/]" if check["equal"] else "[red]✗ DIFFERENT[/]"
        if "pipeline_eur" not in check:
            detail = f"{check.get('days', 0)} days, {check.get('differing_days', '?')} differ"
            console.print(f"{mark} after {check['stage']}: {check['name']}: {detail} {check.get('note') or ''}")
            continue
        sides = " / ".join(
            f"{side.removesuffix('_eur').replace('_', '-')} {check[side]}"
            for side in ("month_by_month_eur", "single_pass_eur")
            if side in check
        )
        console.print(f"{mark} after {check['stage']}: {check['name']}: pipeline {check['pipeline_eur']} / {sides}")
        diff = check.get("differences")
        if diff:
            console.print(f"    {diff['days']} day(s) and {diff['events']} event(s) differ; first events:")
            for e in diff["first_events"][:5]:
                console.print(
                    f"    {e['channel']} {e['event_id']} {e['event_type'] or ''} {e['day']}: "
                    f"pipeline {e['pipeline_eur']} / reference {e['reference_eur']}"
                )


def _targets_table(result: dict[str, Any]) -> Table:
    goals = Table(title="Targets (issue 14)", title_justify="left")
    for col in ("target", "stated for", "figure", "measured", "status", "note"):
        goals.add_column(col)
    for goal in result["targets"]:
        colour = {"met": "green", "not met": "red"}.get(goal["status"], "dim")
        note = goal["note"] or ""
        if not goal["at_target_size"] and goal["status"] != "n/a":
            note = (note + "; " if note else "") + "indicative: not the stated size"
        goals.add_row(
            goal["description"],
            _size(goal["applies_at"]),
            goal["figure"],
            _value(goal),
            f"[{colour}]{goal['status']}[/]",
            note,
        )
    return goals


def render(result: dict[str, Any], console: Console | None = None) -> None:
    """The stages with both references, each run's steps, the references, the EUR checks and the targets."""
    console = console or Console()
    data = result["data"]
    made = "reused" if data.get("reused") else f"generated in {_num(data.get('generate_wall_s'))} s"
    day = result.get("same_size_day") or {}
    title = (
        f"xborder bench: {result['order_lines']:,} order lines, seed {result['seed']} "
        f"({made}; {data['files']:,} files, {data['bytes'] / 1e9:.2f} GB; increment day {result['increment_day']}; "
        f"same-size day {day.get('day')}, {day.get('order_lines', 0):,} lines)"
    )
    console.print(_stage_table(result, title))
    steps = _steps_table(result)
    if steps is not None:
        console.print(steps)
    console.print(_references_table(result))
    _print_checks(result, console)
    console.print(_targets_table(result))
    load = result["host"]
    console.print(f"load average before {load['loadavg_start'][0]:.2f}, after {load['loadavg_end'][0]:.2f}")
    verdict = "[green]OK[/]" if result["ok"] else "[red]FAILED[/]"
    console.print(f"{verdict}  JSON: {result.get('result_file', '')}  logs: {result['run_home']}/logs")
