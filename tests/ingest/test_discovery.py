"""Discovery: new files by checksum, each landed file hashed only when new or changed."""

from __future__ import annotations

import os

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
