"""The benchmark's verdicts on its targets, and its one-screen rich summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BASELINE_LINES = 1_000_000
BUILD = ("load", "marts", "quality", "publish")


@dataclass(frozen=True)
class Goal:
    id: str
    description: str
    applies_at: int | None  # the size (order lines) the goal is stated for; None: every size
    limit: float
    unit: str  # "x" (ratio), "bytes", "share"


GOALS = (
    Goal("load_vs_reference", "full load within 1.5x the reference", 10_000_000, 1.5, "x"),
    Goal("peak_memory", "all stages complete with peak memory under 8 GB", 100_000_000, 8e9, "bytes"),
    Goal("increment_vs_1m", "one-day increment within 2x its time on top of 1M lines", 100_000_000, 2.0, "x"),
    Goal("quality_share", "quality gates under 25% of the build", None, 0.25, "share"),
)


def _stage(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in result["stages"] if s["name"] == name and s.get("status") == "ok"), None)


def baseline_increment(results_dir: Path, seed: int) -> tuple[float, str] | None:
    """Increment seconds of the latest successful 1M run with this seed, and its file name."""
    found = None
    for path in sorted(results_dir.glob(f"*-{seed}-{BASELINE_LINES}.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        inc = _stage(doc, "increment") if doc.get("ok") else None
        if inc:
            found = (inc["wall_s"], path.name)
    return found


def _measure(goal: Goal, result: dict[str, Any], results_dir: Path) -> tuple[float | None, str | None]:
    if goal.id == "load_vs_reference":
        load = _stage(result, "load")
        return (load.get("ratio") if load else None), None
    if goal.id == "peak_memory":
        if any(s.get("status") == "failed" for s in result["stages"]):
            return None, "a stage failed"
        peaks = [s["peak_rss_bytes"] for s in result["stages"] if s.get("status") == "ok"]
        return (max(peaks) if peaks else None), None
    if goal.id == "increment_vs_1m":
        inc = _stage(result, "increment")
        if result["order_lines"] == BASELINE_LINES:
            return None, "this run is the 1M baseline"
        base = baseline_increment(results_dir, result["seed"])
        if inc is None or base is None:
            return None, f"needs a successful 1M run with seed {result['seed']} (xborder bench -n 1000000)"
        return round(inc["wall_s"] / base[0], 3), f"1M baseline {base[0]:.1f} s ({base[1]})"
    if goal.id == "quality_share":
        parts = {name: _stage(result, name) for name in BUILD}
        if any(p is None for p in parts.values()):
            return None, "needs load, marts, quality and publish"
        build = sum(p["wall_s"] for p in parts.values() if p)
        return round(parts["quality"]["wall_s"] / build, 4), None  # type: ignore[index]
    raise ValueError(goal.id)


def evaluate_targets(result: dict[str, Any], results_dir: Path) -> list[dict[str, Any]]:
    """Each goal's measured value and status (met / not met / n/a) for this run."""
    out = []
    for goal in GOALS:
        measured, note = _measure(goal, result, results_dir)
        # "under" (memory, share) is strict; "within" (ratios) includes the limit
        within = measured is not None and (measured < goal.limit if goal.unit != "x" else measured <= goal.limit)
        status = "n/a" if measured is None else ("met" if within else "not met")
        out.append(
            {
                "id": goal.id,
                "description": goal.description,
                "applies_at": goal.applies_at,
                "at_target_size": goal.applies_at in (None, result["order_lines"]),
                "measured": measured,
                "limit": goal.limit,
                "unit": goal.unit,
                "status": status,
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


def render(result: dict[str, Any], console: Console | None = None) -> None:
    """The stage table with ratios, the EUR checks and the targets, on one screen."""
    console = console or Console()
    data = result["data"]
    made = "reused" if data.get("reused") else f"generated in {_num(data.get('generate_wall_s'))} s"
    title = (
        f"xborder bench: {result['order_lines']:,} order lines, seed {result['seed']} "
        f"({made}; {data['files']:,} files, {data['bytes'] / 1e9:.2f} GB; increment day {result['increment_day']})"
    )
    table = Table(title=title, title_justify="left")
    for col in ("stage", "pipeline s", "rows", "rows/s", "peak GB", "reference s", "ref rows/s", "ref peak GB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    table.add_column("pipeline ÷ reference", justify="right")
    for stage in result["stages"]:
        if stage.get("status") != "ok":
            table.add_row(stage["name"], f"[red]{stage['status']}[/]", "", "", "", "", "", "", stage.get("note") or "")
            continue
        ref = stage.get("reference") or {}
        ratio = stage.get("ratio")
        table.add_row(
            stage["name"],
            _num(stage["wall_s"]),
            f"{stage['rows']:,}",
            f"{stage['rows_per_s']:,}",
            _gb(stage["peak_rss_bytes"]),
            _num(ref.get("wall_s")) or "-",
            f"{ref['rows_per_s']:,}" if ref.get("rows_per_s") else "",
            _gb(ref.get("peak_rss_bytes")),
            "-" if ratio is None else f"[{'green' if ratio <= 1.5 else 'yellow'}]{ratio:.2f}x[/]",
        )
    console.print(table)

    for check in result["checks"]:
        mark = "[green]✓ equal[/]" if check["equal"] else "[red]✗ DIFFERENT[/]"
        console.print(
            f"{mark} after {check['stage']}: {check['name']}, target {check['target_id']}: "
            f"pipeline EUR {check['pipeline_eur']} / reference EUR {check['reference_eur']}"
        )
        diff = check.get("differences")
        if diff:
            console.print(f"    {diff['days']} day(s) and {diff['events']} event(s) differ; first events:")
            for e in diff["first_events"][:5]:
                console.print(
                    f"    {e['channel']} {e['event_id']} {e['event_type'] or ''} {e['day']}: "
                    f"pipeline {e['pipeline_eur']} / reference {e['reference_eur']}"
                )

    goals = Table(title="Targets", title_justify="left")
    for col in ("target", "measured", "status", "note"):
        goals.add_column(col)
    for goal in result["targets"]:
        colour = {"met": "green", "not met": "red"}.get(goal["status"], "dim")
        status = f"[{colour}]{goal['status']}[/]"
        note = goal["note"] or ""
        if not goal["at_target_size"] and goal["status"] != "n/a":
            note = (note + "; " if note else "") + f"indicative: stated for {goal['applies_at']:,} lines"
        goals.add_row(goal["description"], _value(goal), status, note)
    console.print(goals)
    verdict = "[green]OK[/]" if result["ok"] else "[red]FAILED[/]"
    console.print(f"{verdict}  JSON: {result.get('result_file', '')}  logs: {result['run_home']}/logs")
