"""The built wheel works on its own: installed into a fresh venv outside the repository, it generates
a sample, runs the pipeline and publishes the numbers the independent SQL computes.

Offline: uv builds the sdist and the wheel from it (``make wheel``) with the setuptools of its cache and installs the pinned
``requirements.lock`` from the cache ``make install`` filled (the same cache in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import __version__
from pipelines.settings import RESOURCES
from tests import REPO_ROOT

pytestmark = pytest.mark.e2e

START, END = date(2019, 10, 1), date(2019, 12, 31)
SEED, ORDER_LINES = 11, 2_000


def _uv() -> str:
    uv = Path(sys.executable).with_name("uv")  # make install puts the pinned uv into .venv/bin
    found = str(uv) if uv.exists() else shutil.which("uv")
    assert found, "uv not found: run `make install`"
    return found


def _run(*args: object, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _checkout_copy(target: Path) -> Path:
    """The files a clone has plus uncommitted ones (never build/ or *.egg-info leftovers)."""
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO_ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _package_data(root: Path) -> set[str]:
    """What the pipeline reads besides its modules, as wheel member names."""
    found = {p for p in (root / "resources").rglob("*") if p.is_file() and p.name != ".gitignore"}
    found |= set((root / "dags").glob("*.py")) | {root / "dags" / ".airflowignore"}
    found |= set((root / "bench").glob("*.sql")) | set((root / "report" / "templates").iterdir())
    found |= set((root / "quality" / "docs_templates").iterdir())
    return {p.relative_to(root.parent).as_posix() for p in found}


def _files(folder: Path) -> dict[str, float]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _reference_net(warehouse: Path, landing: Path) -> dict[str, str]:
    """Net EUR to China by the repository's independent SQL over the landed files (any origin, and GB)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET VARIABLE landing = ?", [str(landing)])
        con.execute("SET VARIABLE lookback = 7")
        con.execute((RESOURCES / "sql" / "reference" / "net_eur_by_day.sql").read_text(encoding="utf-8"))
        ((uk, every),) = con.execute(
            "SELECT sum(net_eur) FILTER (origin = 'GB'), sum(net_eur) FROM reference_daily WHERE ship_to = 'CN'"
        ).fetchall()
    return {"uk_goods_to_cn": str(uk), "all_goods_to_cn": str(every)}


def test_the_wheel_installs_and_runs_outside_the_repository(tmp_path: Path) -> None:
    uv = _uv()
    src = _checkout_copy(tmp_path / "src")
    _run(uv, "build", "--offline", "--quiet", "--out-dir", tmp_path / "dist", src, cwd=tmp_path)  # as `make wheel`
    (wheel,) = (tmp_path / "dist").glob("xborder-*.whl")
    assert wheel.name == f"xborder-{__version__}-py3-none-any.whl"

    # The wheel carries every SQL file, contract, reference file, GX file, DAG and template.
    members = set(zipfile.ZipFile(wheel).namelist())
    wanted = _package_data(src / "pipelines")
    assert wanted - members == set()
    assert "pipelines/resources/sql/core/V003__core_tables.sql" in members
    assert "pipelines/resources/contracts/channels/tmall_global.yml" in members
    assert "pipelines/resources/great_expectations/great_expectations.yml" in members
    assert "pipelines/resources/targets.yml" in members
    for layer in ("audit", "raw", "core", "marts"):
        assert any(m.startswith(f"pipelines/resources/sql/{layer}/V") for m in members), layer
    assert len([m for m in members if m.startswith("pipelines/resources/great_expectations/expectations/")]) >= 10

    # A fresh venv far from the repository, the pinned dependencies and the wheel, all offline.
    venv = tmp_path / "venv"
    _run(uv, "venv", "--quiet", "--offline", "--python", sys.executable, venv, cwd=tmp_path)
    python, xborder = venv / "bin" / "python", venv / "bin" / "xborder"
    _run(uv, "pip", "install", "--quiet", "--offline", "--python", python, "-r", REPO_ROOT / "requirements.lock", wheel,
         cwd=tmp_path)  # fmt: skip

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBORDER_", "PYTHON", "VIRTUAL_ENV", "AIRFLOW"))}
    env |= {"XBORDER_HOME": str(home), "AIRFLOW_HOME": str(tmp_path / "airflow"), "PYTHONNOUSERSITE": "1"}

    where = json.loads(
        _run(
            python,
            "-c",
            "import json, sys, pipelines; from pipelines.settings import get_settings as g; s = g(); "
            "print(json.dumps({'package': pipelines.__file__, 'sys_path': sys.path, 'sql': str(s.sql_dir), "
            "'contracts': str(s.contracts_dir), 'gx': str(s.gx_dir), 'targets': str(s.targets_path)}))",
            cwd=work,
            env=env,
        ).stdout
    )
    package = Path(where["package"]).parent
    assert package.is_relative_to(venv), where
    for key in ("sql", "contracts", "gx", "targets"):
        assert Path(where[key]).is_relative_to(package / "resources"), (key, where)
    assert not any(Path(p).resolve().is_relative_to(REPO_ROOT) for p in where["sys_path"] if p), where["sys_path"]
    before = _files(package)

    assert _run(xborder, "--version", cwd=work, env=env).stdout == f"xborder {__version__}\n"
    _run(xborder, "generate", "--order-lines", ORDER_LINES, "--seed", SEED, "--start", START, "--end", END,
         cwd=work, env=env)  # fmt: skip
    assert (home / "targets.sample.yml").is_file()
    ran = _run(xborder, "run", cwd=work, env=env)
    assert "publish" in ran.stdout and "Traceback" not in ran.stdout + ran.stderr, ran.stdout

    published = json.loads(
        _run(
            xborder,
            "sql",
            "--format",
            "json",
            "SELECT target_id, cumulative_net_eur FROM marts.export_progress_latest ORDER BY target_id",
            cwd=work,
            env=env,
        ).stdout
    )
    expected = _reference_net(home / "warehouse.duckdb", home / "landing")
    assert {r["target_id"]: r["cumulative_net_eur"] for r in published} == expected
    assert Decimal(expected["uk_goods_to_cn"]) > 0
    assert _files(package) == before  # the run wrote nothing into the installed package
    assert {p.name for p in work.iterdir()} == set()  # nor into its working directory
