"""``xborder sql``: the interactive shell (statements over lines, dot commands, reload) and SQL on stdin."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.commands.sql import Format
from pipelines.commands.sql_shell import shell
from tests import REPO_ROOT


def _snapshot(path: Path, net: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.progress (target_id VARCHAR, net_eur DECIMAL(18, 2))")
        con.execute("COMMENT ON TABLE marts.progress IS 'progress per target'")
        con.execute("COMMENT ON COLUMN marts.progress.net_eur IS 'net EUR, exact'")
        con.execute("INSERT INTO marts.progress VALUES ('uk_goods_to_cn', ?::DECIMAL(18, 2))", [net])
    return path


def _lines(*lines: str) -> Iterator[str]:
    yield from lines


def _run(path: Path, *lines: str, latest: Path | None = None, fmt: Format = Format.csv) -> str:
    feed = _lines(*lines)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    assert shell(path, format=fmt, read=read, out=out, latest=lambda: latest or path) == 0
    return out.getvalue()


def test_a_statement_over_several_lines_runs_once_it_ends_with_a_semicolon(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path / "a.duckdb", "1234567.89")
    out = _run(snap, "SELECT target_id,", "  net_eur * 2 AS twice", "FROM marts.progress;")
    assert "target_id,twice\nuk_goods_to_cn,2469135.78\n" in out


def test_dot_commands_list_describe_and_switch_format(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path / "a.duckdb", "10.50")
    out = _run(snap, ".tables", ".schema marts.progress", ".format json", "SELECT net_eur FROM marts.progress;")
    assert "marts.progress,table,progress per target" in out
    assert "net_eur" in out and "DECIMAL(18,2)" in out and "net EUR, exact" in out
    assert '{"net_eur": "10.50"}' in out  # exact decimal as a string, never a float


def test_errors_and_unknown_commands_keep_the_shell_going(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = _snapshot(tmp_path / "a.duckdb", "1.00")
    out = _run(snap, "SELEC 1;", ".frobnicate", ".schema no_such_table", "CREATE TABLE t (x INT);", "SELECT 42 AS x;")
    err = capsys.readouterr().err
    assert "syntax error" in err.lower()
    assert "read-only" in err  # the CREATE on the snapshot, with the hint
    assert "unknown or incomplete command '.frobnicate'" in out
    assert "no table or view named 'no_such_table'" in out
    assert out.rstrip().endswith("x\n42") or "x\n42\n" in out


def test_temp_tables_live_for_the_session(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path / "a.duckdb", "3.00")
    out = _run(snap, "CREATE TEMP TABLE t AS SELECT net_eur * 3 AS n FROM marts.progress;", "SELECT n FROM t;")
    assert "n\n9.00\n" in out


def test_reload_moves_to_the_newer_snapshot(tmp_path: Path) -> None:
    old = _snapshot(tmp_path / "old.duckdb", "1.00")
    new = _snapshot(tmp_path / "new.duckdb", "2.00")
    q = "SELECT net_eur FROM marts.progress;"
    out = _run(old, q, ".reload", q, ".quit", q, latest=new)
    assert "a newer snapshot, new.duckdb, was published" in out
    assert "now on snapshot new.duckdb" in out
    first, _, rest = out.partition("now on snapshot")
    assert "net_eur\n1.00" in first and "net_eur\n2.00" in rest
    assert rest.count("net_eur\n") == 1  # nothing ran after .quit


def published_home(tmp_path: Path, net: str) -> Path:
    """An XBORDER_HOME whose current snapshot holds marts.progress with one row of ``net`` EUR."""
    home = tmp_path / "home"
    (home / "snapshot").mkdir(parents=True)
    _snapshot(home / "snapshot" / "xborder-1.duckdb", net)
    os.symlink("xborder-1.duckdb", home / "snapshot" / "current.duckdb")
    return home


def xborder_sql(home: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m pipelines sql ARGS`` in a fresh process on ``home`` (stdin a pipe, not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "sql", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**os.environ, "XBORDER_HOME": str(home), **env},
        cwd=REPO_ROOT,
        timeout=120,
    )


def test_sql_from_stdin_when_not_a_terminal(tmp_path: Path) -> None:
    done = xborder_sql(
        published_home(tmp_path, "99.99"), "--format", "csv", stdin="SELECT net_eur FROM marts.progress;\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "net_eur\n99.99\n"
