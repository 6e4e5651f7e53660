"""The benchmark's sample data: generated once per (seed, size), then reused.

``<bench>/data/<seed>-<lines>/landing`` holds what ``xborder generate`` wrote and
``dataset.json`` marks it complete. A run never changes the cache: it builds its own landing
folder of hard links (copies across file systems), first without the held-back increment day's
sales folders, then adds them for the increment stage.

The same-size day is a one-day sample (``xborder generate --start D --end D``) for D, the 1st of
the month after the history (2021-07-01 for the default window), cached as
``<seed>-<lines>-day-<D>``. What lands of it is that date's delivery: its sales folders, its
catalogue snapshots (every supplier delivers on the 1st; the day's products are drawn for that
month, so the history's snapshots do not list them all) and its ECB daily file.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from pipelines.bench.rss import run_measured
from pipelines.errors import UserFacingError

MARKER = "dataset.json"


class BenchDataError(UserFacingError):
    """The benchmark's sample could not be generated or is unusable."""


@dataclass
class Dataset:
    """A generated landing zone in the cache."""

    path: Path  # the cache folder (landing/ and targets.sample.yml inside)
    seed: int
    order_lines: int
    files: int
    bytes: int
    sales_files: int
    last_day: str  # the last sales day: held back for the increment
    generate_wall_s: float | None = None
    generate_peak_rss_bytes: int | None = None
    reused: bool = False

    @property
    def landing(self) -> Path:
        return self.path / "landing"

    @property
    def targets(self) -> Path:
        return self.path / "targets.sample.yml"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def dataset_dir(bench_home: Path, seed: int, order_lines: int, day: str | None = None) -> Path:
    return bench_home / "data" / (f"{seed}-{order_lines}" + (f"-day-{day}" if day else ""))


def sales_days(landing: Path) -> list[str]:
    """Sales day folders (``sales/<channel>/<YYYY-MM-DD>``) present, sorted."""
    return sorted({p.name for p in landing.glob("sales/*/*") if p.is_dir()})


def ensure_dataset(
    bench_home: Path, seed: int, order_lines: int, logs: Path, env: dict[str, str], day: str | None = None
) -> Dataset:
    """The cached sample for (seed, size), generated now (in a measured process) if missing.

    With ``day``: a one-day sample of ``order_lines`` lines on that date.
    """
    folder = dataset_dir(bench_home, seed, order_lines, day)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with locked(folder.with_name(folder.name + ".lock")):  # benches sharing a cache generate it once
        marker = folder / MARKER
        if marker.exists():
            known = json.loads(marker.read_text(encoding="utf-8"))
            known["path"] = folder
            return Dataset(**{**known, "reused": True})
        return _generate(folder, seed, order_lines, logs, env, day)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _generate(folder: Path, seed: int, order_lines: int, logs: Path, env: dict[str, str], day: str | None) -> Dataset:
    """``xborder generate`` into ``folder`` in a measured process, then mark it complete."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pipelines", "generate", "--order-lines", str(order_lines), "--seed", str(seed)]
    cmd += ["--out", str(folder / "landing")] + (["--start", day, "--end", day] if day else [])
    name = f"generate-day-{day}" if day else "generate"
    measured = run_measured(
        cmd,
        stdout=logs / f"{name}.out",
        stderr=logs / f"{name}.err",
        env={**env, "XBORDER_HOME": str(folder), "COLUMNS": "120"},
    )
    if measured.returncode != 0:
        raise BenchDataError(f"generating the sample failed (exit {measured.returncode}); see {logs / (name + '.err')}")
    return record_dataset(folder, seed, order_lines, round(measured.wall_s, 3), measured.peak_rss_bytes)


def record_dataset(
    folder: Path,
    seed: int,
    order_lines: int,
    generate_wall_s: float | None = None,
    generate_peak_rss_bytes: int | None = None,
) -> Dataset:
    """Describe the landing zone in ``folder`` and mark it complete (``dataset.json``)."""
    landing = folder / "landing"
    files = [p for p in landing.rglob("*") if p.is_file()]
    days = sales_days(landing)
    if not days:
        raise BenchDataError(f"no sales day folders (sales/<channel>/<YYYY-MM-DD>) under {landing}")
    dataset = Dataset(
        path=folder,
        seed=seed,
        order_lines=order_lines,
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        sales_files=sum(1 for p in files if p.relative_to(landing).parts[0] == "sales"),
        last_day=days[-1],
        generate_wall_s=generate_wall_s,
        generate_peak_rss_bytes=generate_peak_rss_bytes,
    )
    record = dataset.to_dict()
    record.pop("reused")
    (folder / MARKER).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return dataset


def held_back(landing: Path, day: str) -> list[Path]:
    """Files of the increment day: ``sales/<channel>/<day>/**``."""
    return sorted(p for p in landing.glob(f"sales/*/{day}/**/*") if p.is_file())


def delivery(landing: Path, day: str) -> list[Path]:
    """What lands on ``day``: its sales folders, catalogue snapshots and ECB daily file."""
    globs = (f"sales/*/{day}/**/*", f"catalogues/*/{day}.*", f"fx/daily/{day}/*")
    return sorted({p for pattern in globs for p in landing.glob(pattern) if p.is_file()})


def first_of_next_month(day: str) -> str:
    """The same-size day's date: the 1st of the month after ``day`` (when every supplier delivers)."""
    d = date.fromisoformat(day)
    return date(d.year + d.month // 12, d.month % 12 + 1, 1).isoformat()


def link_tree(source: Path, target: Path, files: list[Path]) -> int:
    """Hard-link (or copy) ``files`` from under ``source`` to the same places under ``target``; bytes."""
    size = 0
    for path in files:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest.unlink()
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)
        size += path.stat().st_size
    return size


def stage_history(dataset: Dataset, landing: Path) -> tuple[list[Path], list[Path]]:
    """Build ``landing`` with every cached file but the increment day's; (history, held back)."""
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    later = set(held_back(dataset.landing, dataset.last_day))
    history = sorted(p for p in dataset.landing.rglob("*") if p.is_file() and p not in later)
    link_tree(dataset.landing, landing, history)
    return history, sorted(later)


def prewarm(files: list[Path], chunk: int = 8 << 20) -> int:
    """Read every file once so that neither side pays for a cold page cache; bytes read."""
    total = 0
    for path in files:
        with path.open("rb") as fh:
            while block := fh.read(chunk):
                total += len(block)
    return total
