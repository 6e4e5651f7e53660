"""One pipeline stage in a fresh process, for the benchmark: ``python -m pipelines.bench.stage <stage> --out F``.

Each stage calls the same ``pipelines.runner`` step the CLI and the DAGs call, on the warehouse
of ``XBORDER_HOME``, and writes the step's own summary as JSON. Stages: ``run`` (a whole
``xborder run``: every feed, the pending pass, the gates, marts, publish and reports, in one
process: the full run, the run with nothing new, the increment, the same-size day), and the
steps one at a time: ``load`` (every feed), ``marts``, ``quality`` (the feed gates of the pending
batches, then the core and marts gates: what publishing requires), ``publish``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

STAGES = ("run", "load", "marts", "quality", "publish")
NOTE = "xborder bench: generated sample, measured not judged"


def run_stage(stage: str) -> dict[str, Any]:
    """Run ``stage``; return its JSON-able result (``load``: with the rows read)."""
    from pipelines import runner

    if stage == "run":
        return _run(runner)
    if stage == "load":
        return _read(list(runner.ingest_all().values()))
    if stage == "marts":
        return {"detail": runner.refresh_marts()}
    if stage == "quality":  # what a build validates before it may publish: pending feed batches, core, marts
        detail = _feed_gates(runner)
        return {"detail": {**detail, **{suite: runner.quality_gate(suite) for suite in ("core", "marts")}}}
    if stage == "publish":
        return {"detail": {"snapshot": runner.publish_snapshot()}}
    raise SystemExit(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")


def _read(summaries: list[Any]) -> dict[str, Any]:
    """Rows read (every feed) and sales events read, with each feed's summary."""
    feeds = {s.feed: s.to_dict() for s in summaries}
    events = sum(s.rows_read for s in summaries if s.feed == "sales")
    return {"rows": sum(s.rows_read for s in summaries), "events": events, "feeds": feeds}


def _run(runner: Any) -> dict[str, Any]:
    """``runner.run()``; a feed gate the generated sample fails is accepted (as in ``quality``), then the build."""
    try:
        result = runner.run()
    except runner.FeedGatesFailed as exc:
        _accept(exc.results)
        result = exc.run_result
        result.built = runner.build()
        result.gates = {r["stage"]: {**r, "accepted": not r["passed"]} for r in exc.results}
    return {**_read(result.summaries), "gates": result.gates, "built": result.built, "pending": result.pending}


def _accept(results: list[dict[str, Any]]) -> None:
    from pipelines.quality.gates import accept
    from pipelines.warehouse import session, transaction

    with session() as con, transaction(con):
        for result in results:
            if not result["passed"]:
                accept(con, result["run_id"], NOTE)


def _feed_gates(runner: Any) -> dict[str, Any]:
    """The feed gates, timed like any run. The benchmark measures them, it does not judge its own
    generated sample: a feed gate that fails on it (a tiny sample can quarantine a tenth of a day)
    is accepted with a note saying so, and reported as ``accepted`` in the stage's result."""
    try:
        return runner.gate_pending()
    except runner.FeedGatesFailed as exc:
        _accept(exc.results)
        return {result["stage"]: {**result, "accepted": not result["passed"]} for result in exc.results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench.stage", description=__doc__)
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run_stage(args.stage)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
