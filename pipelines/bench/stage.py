"""One pipeline stage in a fresh process, for the benchmark: ``python -m pipelines.bench.stage <stage> --out F``.

Each stage calls the same ``pipelines.runner`` step the CLI and the DAGs call, on the warehouse
of ``XBORDER_HOME``, and writes the step's own summary as JSON. Stages: ``load`` (every feed,
every new file: the full load, and later the increment), ``marts``, ``quality`` (the core and
marts gates), ``publish``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

STAGES = ("load", "marts", "quality", "publish")


def run_stage(stage: str) -> dict[str, Any]:
    """Run ``stage``; return its JSON-able result (``load``: with the rows read)."""
    from pipelines import runner

    if stage == "load":
        summaries = runner.ingest_all()
        feeds = {feed: summary.to_dict() for feed, summary in summaries.items()}
        return {"rows": sum(s.rows_read for s in summaries.values()), "feeds": feeds}
    if stage == "marts":
        return {"detail": runner.refresh_marts()}
    if stage == "quality":
        gate = getattr(runner, "quality_gate", None)
        if gate is None:
            raise SystemExit("pipelines.runner.quality_gate is not available yet")
        return {"detail": {suite: gate(suite) for suite in ("core", "marts")}}
    if stage == "publish":
        return {"detail": {"snapshot": runner.publish_snapshot()}}
    raise SystemExit(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")


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
