"""Property: random byte corruption of any landed file never raises out of a run.

A small generated landing zone is loaded clean once. Each example copies it, corrupts one file
(bytes flipped, a cut, bytes inserted), then runs every feed and every pending feed gate the way
``xborder run`` does. Whatever the damage: no exception except a gate's own verdict, the corrupted
file is either loaded or rejected with a reason, every other file ends as it did in the clean
run, every landed file has a ledger row, and a second run finds nothing new.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import runner
from pipelines.generate import generate
from pipelines.landing import discover
from pipelines.quality.gates import QualityGateFailed
from pipelines.settings import Settings


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], list[str]]:
    """The clean home (landing zone only), the clean run's status per file, and the landed files."""
    home = tmp_path_factory.mktemp("corrupt") / "landed"
    generate(
        Settings(home=home).landing_dir,
        order_lines=1_000,
        seed=9,
        start=date(2019, 11, 1),
        end=date(2019, 11, 20),
        suppliers=6,
        skus_per_supplier=10,
    )
    clean = tmp_path_factory.mktemp("corrupt_clean") / "home"
    shutil.copytree(home, clean)
    runner.ingest_all(settings=Settings(home=clean))
    root = Settings(home=home).landing_dir
    files = sorted(p.relative_to(root).as_posix() for p in discover(root, ".", "*"))
    return home, ledger(Settings(home=clean)), files


def ledger(settings: Settings) -> dict[str, str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return dict(con.execute("SELECT path, status FROM audit.load_ledger WHERE feed <> 'reference'").fetchall())


damage = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=16)),
)


def corrupt(data: bytes, how: tuple) -> bytes:
    if not data:
        return b"\x00"
    if how[0] == "flip":
        out = bytearray(data)
        for where, byte in how[1]:
            out[min(int(where * len(out)), len(out) - 1)] = byte
        return bytes(out)
    at = int(how[1] * len(data))
    if how[0] == "cut":
        return data[:at]
    return data[:at] + how[2] + data[at:]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.floats(0, 1, exclude_max=True), how=damage)
def test_random_corruption_of_any_landed_file_never_raises(landed, pick: float, how: tuple) -> None:
    source, clean, files = landed
    victim = files[int(pick * len(files))]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(source, home)
        s = Settings(home=home, lock_timeout_s=5)
        path = s.landing_dir / victim
        path.write_bytes(corrupt(path.read_bytes(), how))

        runner.ingest_all(settings=s)
        # a gate may judge the damaged feed unhealthy: that is its verdict, not a crash
        with contextlib.suppress(runner.FeedGatesFailed, QualityGateFailed):
            runner.gate_pending(settings=s)

        after = ledger(s)
        landed_now = {p.relative_to(s.landing_dir).as_posix() for p in discover(s.landing_dir, ".", "*")}
        assert landed_now <= set(after) | {victim}  # (a byte-identical copy of another file is that file)
        assert after.get(victim, "duplicate") in {"loaded", "rejected", "held", "duplicate"}
        others = {p: st for p, st in after.items() if p != victim}
        assert others == {p: st for p, st in clean.items() if p != victim}
        again = runner.ingest_all(settings=s)
        assert sum(summary.files for summary in again.values()) == 0
