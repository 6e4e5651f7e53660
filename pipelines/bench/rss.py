"""Run a command as a fresh process and measure its wall time and peak memory.

Peak memory is the highest sum of resident set sizes (RSS) of the process and all its
descendants, sampled every ``interval`` seconds with psutil, and never less than the kernel's
own high-water mark for the process (``ru_maxrss`` from ``wait4``), which catches a spike
shorter than the sampling interval in the main process.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Measured:
    """How one process run went."""

    returncode: int
    wall_s: float
    peak_rss_bytes: int
    samples: int


def tree_rss(root: psutil.Process) -> int:
    """Current RSS of ``root`` plus all its descendants (processes that vanish count 0)."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


class TreeSampler(threading.Thread):
    """Samples the process tree's RSS until stopped; ``peak`` is the highest sum seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True, name=f"rss-sampler-{pid}")
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()
        try:
            self._root: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self._root = None

    def run(self) -> None:
        while self._root is not None:
            self.sample()
            if self._stop_event.wait(self.interval):
                break

    def sample(self) -> None:
        if self._root is None:
            return
        self.peak = max(self.peak, tree_rss(self._root))
        self.samples += 1

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()


def run_measured(
    cmd: Sequence[str],
    *,
    stdout: Path,
    stderr: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.05,
) -> Measured:
    """Run ``cmd`` to completion (output to the two files); wall time and peak tree RSS."""
    stdout.parent.mkdir(parents=True, exist_ok=True)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=dict(env) if env else None, cwd=cwd)
        sampler = TreeSampler(proc.pid, interval)
        sampler.sample()
        sampler.start()
        try:
            # wait4 (not Popen.wait) also returns the kernel's high-water RSS of the child.
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            sampler.stop()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
    kernel_peak = usage.ru_maxrss * 1024  # KiB on Linux
    return Measured(proc.returncode, wall, max(sampler.peak, kernel_peak), sampler.samples)
