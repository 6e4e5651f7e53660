"""Empty and early states are normal; disk full and out of memory end with one line, and the next run is exact.

Real ``python -m pipelines`` processes, as a user runs them: exit codes, what they print, and
what the warehouse and the published snapshot hold afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.generate import generate
from pipelines.settings import Settings

pytestmark = pytest.mark.e2e


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        env={**os.environ, "XBORDER_HOME": str(home), "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exactly one error line and no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def latest(path: Path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT target_id, cumulative_net_eur, date, status FROM marts.export_progress_latest"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("edges") / "landed"
    generate(
        Settings(home=home).landing_dir,
        order_lines=1_000,
        seed=3,
        start=date(2019, 10, 1),
        end=date(2019, 10, 31),
        skus_per_supplier=12,
    )
    return home


def test_an_empty_landing_zone_runs_green_and_every_target_reads_zero(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for _ in range(2):
        result = cli(home, "run")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No landed files yet under" in result.stdout
    snapshot = home / "snapshot" / "current.duckdb"
    assert latest(snapshot) == {
        "uk_goods_to_cn": (0, None, None),
        "all_goods_to_cn": (0, None, None),
    }
    assert (home / "reports" / "export_tracking.html").is_file()


def test_a_target_whose_window_starts_after_the_data_reads_zero(landed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(landed, home)
    sample = yaml.safe_load((home / "targets.sample.yml").read_text(encoding="utf-8"))
    future = {**sample["targets"][0], "id": "uk_goods_to_cn_2030", "window_start": date(2030, 1, 1)}
    future.update(window_end=date(2032, 12, 31), deadlines={"stretch": date(2031, 12, 31), "final": date(2032, 12, 31)})
    sample["targets"].append(future)
    (home / "targets.sample.yml").write_text(yaml.safe_dump(sample), encoding="utf-8")
    result = cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    got = latest(home / "snapshot" / "current.duckdb")
    assert got["uk_goods_to_cn_2030"] == (0, None, None)
    assert got["uk_goods_to_cn"][0] > 0


def test_generate_refuses_to_overwrite_loaded_files(landed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(landed, home)
    assert cli(home, "run", "--ingest-only").returncode == 0
    args = ("generate", "-n", "1000", "--start", "2019-10-01", "--end", "2019-10-31", "--skus-per-supplier", "12")
    before = landing_bytes(home)
    refused = one_line_error(cli(home, *args, "--seed", "4"))
    assert "already loaded into" in refused and "--force" in refused
    assert landing_bytes(home) == before
    assert cli(home, *args, "--seed", "4", "--force").returncode == 0


def landing_bytes(home: Path) -> list[tuple[Path, bytes]]:
    return sorted((p.relative_to(home), p.read_bytes()) for p in (home / "landing").rglob("*") if p.is_file())


def exact(home: Path) -> tuple:
    with duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True) as con:
        return con.execute(
            """SELECT (SELECT count(*) FROM core.fct_sales_event), (SELECT sum(eur_amount) FROM core.fct_sales_event),
                      (SELECT list((path, status, rows_read, rows_loaded, rows_quarantined) ORDER BY path)
                       FROM audit.load_ledger),
                      (SELECT count(*) FROM audit.runs WHERE status = 'running')"""
        ).fetchall()[0]


@pytest.fixture(scope="module")
def clean(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    home = tmp_path_factory.mktemp("edges_clean") / "home"
    shutil.copytree(landed, home)
    assert cli(home, "run").returncode == 0
    return exact(home)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_is_one_line_and_the_next_run_is_exact(landed: Path, clean: tuple, small_disk: Path) -> None:
    home = small_disk / "home"
    env = {"XBORDER_LANDING": str(landed / "landing"), "XBORDER_TARGETS_FILE": str(landed / "targets.sample.yml")}
    line = one_line_error(cli(home, "run", **env))
    assert "out of disk space under" in line and "the next run continues exactly" in line
    subprocess.run(["mount", "-o", "remount,size=400m", str(small_disk)], check=True)
    result = cli(home, "run", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert exact(home) == clean


def test_out_of_memory_is_one_line_and_the_next_run_is_exact(landed: Path, clean: tuple, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(landed, home)
    line = one_line_error(cli(home, "run", XBORDER_MEMORY_LIMIT="12MB"))
    assert "out of memory" in line and "XBORDER_MEMORY_LIMIT=12MB" in line
    result = cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert exact(home) == clean
