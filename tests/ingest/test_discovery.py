"""Discovery: new files by checksum, each landed file hashed only when new or changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.ingest import discovery
from pipelines.landing import sha256_file


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files discovery actually read to hash."""
    calls: list[str] = []

    def counting(path, chunk: int = 1 << 20) -> str:
        calls.append(path.name)
        return sha256_file(path, chunk)

    monkeypatch.setattr(discovery, "sha256_file", counting)
    return calls


def test_unchanged_files_are_not_read_again(wh, settings, landing, hashed) -> None:
    a = landing("fx/a.csv", "Date,USD\n2020-01-02,1.1\n")
    landing("fx/b.csv", "Date,USD\n2020-01-03,1.2\n")
    first = discovery.new_files(wh, settings, "fx", "*.csv")
    assert [p.name for p, _ in first] == ["a.csv", "b.csv"] and sorted(hashed) == ["a.csv", "b.csv"]
    assert first[0][1] == sha256_file(a)

    hashed.clear()
    again = discovery.new_files(wh, settings, "fx", "*.csv")
    assert again == first and hashed == []  # same size and mtime: the remembered checksum

    a.write_text("Date,USD\n2020-01-02,1.15\n")  # re-delivered with other bytes
    os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 1_000_000_000))
    changed = discovery.new_files(wh, settings, "fx", "*.csv")
    assert hashed == ["a.csv"]
    assert dict((p.name, sha) for p, sha in changed)["a.csv"] == sha256_file(a) != first[0][1]
    assert wh.execute("SELECT count(*), count(DISTINCT path) FROM audit.file_checksum").fetchall() == [(2, 2)]


def test_known_content_under_a_new_name_is_not_new(wh, settings, landing, load) -> None:
    text = "Date,USD,\n2020-01-02,1.1000,\n"
    landing("fx/eurofxref-hist.csv", text)
    load("fx")
    landing("fx/copy/eurofxref-hist.csv", text)  # the same bytes again
    assert discovery.new_files(wh, settings, "fx", "*.csv") == []


def test_a_rewrite_that_keeps_size_and_mtime_is_detected_by_content(wh, settings, landing, hashed) -> None:
    a = landing("fx/a.csv", "Date,USD\n2020-01-02,1.1\n")
    ((_, first),) = discovery.new_files(wh, settings, "fx", "*.csv")
    before = a.stat()
    a.write_text("Date,USD\n2020-01-02,1.2\n")  # same size
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back, as cp -p or rsync -t do
    assert (a.stat().st_size, a.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    hashed.clear()
    ((_, second),) = discovery.new_files(wh, settings, "fx", "*.csv")
    assert hashed == ["a.csv"]  # ctime moved (no user can set it back): hashed again
    assert second == sha256_file(a) != first


def test_migration_keeps_the_ledger_and_its_check(settings, tmp_path) -> None:
    import shutil

    import duckdb

    from pipelines.warehouse import migrate

    old = tmp_path / "sql_before_v075"
    shutil.copytree(settings.sql_dir, old)
    for path in old.rglob("V07[5-9]__*.sql"):
        path.unlink()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, old)
    con.execute(
        "INSERT INTO audit.load_ledger (sha256, path, feed, batch_id, status, rows_read, rows_loaded, "
        "rows_quarantined, rows_duplicate) VALUES ('s1', 'fx/a.csv', 'fx', 'b1', 'loaded', 3, 2, 1, 0)"
    )
    migrate(con, settings.sql_dir)
    assert con.execute("SELECT sha256, path, rows_read FROM audit.load_ledger").fetchall() == [("s1", "fx/a.csv", 3)]
    assert con.execute("SELECT feed, batch_id FROM audit.dq_pending_batches").fetchall() == [("fx", "b1")]
    con.execute(  # the same bytes at a second path: a row of its own now
        "INSERT INTO audit.load_ledger (sha256, path, feed, batch_id, status, rows_read, rows_loaded, "
        "rows_quarantined, rows_duplicate) VALUES ('s1', 'fx/copy/a.csv', 'fx', 'b2', 'duplicate', 3, 0, 0, 3)"
    )
    with pytest.raises(duckdb.ConstraintException, match="CHECK"):
        con.execute(
            "INSERT INTO audit.load_ledger (sha256, path, feed, batch_id, status, rows_read, rows_loaded, "
            "rows_quarantined, rows_duplicate) VALUES ('s2', 'fx/b.csv', 'fx', 'b2', 'loaded', 3, 1, 0, 0)"
        )
    with pytest.raises(duckdb.ConstraintException, match="PRIMARY KEY|primary key"):
        con.execute(
            "INSERT INTO audit.load_ledger (sha256, path, feed, batch_id, status, rows_read, rows_loaded, "
            "rows_quarantined, rows_duplicate) VALUES ('s1', 'fx/a.csv', 'fx', 'b3', 'loaded', 0, 0, 0, 0)"
        )
    con.close()


def test_a_copy_landed_with_its_original_is_recorded_in_the_same_run(wh, settings, landing, load) -> None:
    text = "Date,USD,\n2020-01-02,1.1000,\n2020-01-03,1.1100,\n"
    landing("fx/eurofxref-hist.csv", text)
    landing("fx/z-copy.csv", text)  # the same bytes, landed in the same run
    first = load("fx")
    assert (first.files, first.rows_read, first.rows_loaded, first.rows_duplicate) == (2, 4, 2, 2)
    assert wh.execute(
        "SELECT path, status, rows_read, rows_duplicate FROM audit.load_ledger WHERE feed = 'fx' ORDER BY path"
    ).fetchall() == [
        ("fx/eurofxref-hist.csv", "loaded", 2, 0),
        ("fx/z-copy.csv", "duplicate", 2, 2),
    ]
    assert load("fx").files == 0  # known under both paths: never a new row


def _rglob_discover(root: Path, folder: str, pattern: str) -> list[Path]:
    """The rglob-based discovery the scandir walk replaced: the oracle of the test below."""
    from pipelines.landing import _leaves, inside

    base = root.resolve() / folder
    if _leaves(root, Path(folder)) or not base.is_dir():
        return []
    found = set()
    for path in base.rglob(pattern):
        if path.is_file():
            try:
                found.add(inside(root, path))
            except (ValueError, OSError, RuntimeError):
                continue
    return sorted(found)


def test_the_walk_finds_what_rglob_found_links_included(tmp_path: Path) -> None:
    from pipelines.landing import discover, escapes

    root = tmp_path / "landing"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.csv").write_text("a\n")
    files = ["sales/c/2020-01-01/a.csv", "sales/c/2020-01-01/b.jsonl", "sales/c/2020-01-02/deep/c.csv", "fx/d.csv"]
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    (root / "sales/c/2020-01-03").mkdir()
    (root / "sales/c/dir.csv").mkdir()  # a folder whose name matches the pattern: not a file
    os.mkfifo(root / "sales/c/pipe.csv")  # not a regular file: never read
    links = {
        "sales/c/2020-01-03/in.csv": root / "fx/d.csv",  # a file inside the root: counts as that file
        "sales/c/2020-01-03/out.csv": outside / "x.csv",  # leads out: an escape, never read
        "sales/c/2020-01-04": outside,  # a folder out of the root
        "sales/c/2020-01-05": root / "sales/c/2020-01-01",  # a folder inside: not descended (as rglob)
        "sales/c/broken.csv": root / "nowhere.csv",  # a dangling link inside
        "sales/c/broken_out.csv": outside / "gone.csv",  # a dangling link out
    }
    for name, target in links.items():
        (root / name).symlink_to(target)

    for pattern in ("*.csv", "*", "*.jsonl", "a.*"):
        assert discover(root, "sales/c", pattern) == _rglob_discover(root, "sales/c", pattern)
    assert discover(root, "sales/c", "*.csv") == sorted(
        [root / "fx/d.csv", root / "sales/c/2020-01-01/a.csv", root / "sales/c/2020-01-02/deep/c.csv"]
    )
    assert [p.relative_to(root).as_posix() for p in escapes(root, "sales/c")] == [
        "sales/c/2020-01-03/out.csv",
        "sales/c/2020-01-04",
        "sales/c/broken_out.csv",
    ]
    assert discover(root, "missing", "*") == [] and escapes(root, "missing") == []
    (root / "sales/linked").symlink_to(outside)
    assert discover(root, "sales/linked", "*") == [] and escapes(root, "sales/linked") == [
        root.resolve() / "sales/linked"
    ]
