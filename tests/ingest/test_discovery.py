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
