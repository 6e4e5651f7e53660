"""The process-tree memory sampler measures children and grandchildren."""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.bench.rss import run_measured

MB = 1_000_000
HOLD = "import time; block = bytearray(300 * 1000 * 1000); block[::4096] = b'x' * len(block[::4096]); time.sleep(1.0)"


def test_peak_memory_of_a_child_that_allocates(tmp_path: Path) -> None:
    measured = run_measured([sys.executable, "-c", HOLD], stdout=tmp_path / "o", stderr=tmp_path / "e")
    assert measured.returncode == 0
    assert measured.peak_rss_bytes >= 300 * MB
    assert measured.peak_rss_bytes < 1_000 * MB


def test_peak_memory_counts_the_whole_process_tree(tmp_path: Path) -> None:
    spawn = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {HOLD!r}], check=True)"
    measured = run_measured([sys.executable, "-c", spawn], stdout=tmp_path / "o", stderr=tmp_path / "e")
    assert measured.returncode == 0
    assert measured.peak_rss_bytes >= 300 * MB  # the grandchild's block; the child itself is small
    assert measured.samples >= 2


def test_exit_code_and_output_are_kept(tmp_path: Path) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    measured = run_measured([sys.executable, "-c", code], stdout=tmp_path / "o", stderr=tmp_path / "e")
    assert measured.returncode == 3
    assert (tmp_path / "o").read_text().strip() == "out"
    assert (tmp_path / "e").read_text().strip() == "err"
