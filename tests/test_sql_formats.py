"""``xborder sql`` output: tables that fit 80 columns (wrapped or one block per row), markdown, and
CSV whose text never runs as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.cells import neutralise
from pipelines.commands.sql import Format, run_and_print
from tests.test_sql_shell import _run, _snapshot, published_home, xborder_sql

WIDE = """
SELECT 'uk_goods_to_cn' AS target_id, 1234567.89::DECIMAL(18, 2) AS cumulative_net_eur,
       2200000000.00::DECIMAL(18, 2) AS target_eur, 56.1234::DECIMAL(12, 4) AS pct_of_target,
       'on_track' AS status, DATE '2021-06-14' AS projected_completion_date,
       12345.67::DECIMAL(18, 2) AS run_rate_30d, 23456.78::DECIMAL(18, 2) AS run_rate_90d
"""
COMMENT = (
    "Daily progress per target (docs/design.md §4): one row per calendar day from the window start "
    "to min(window end, latest event date); days without sales are 0."
)
NASTY = [
    '=HYPERLINK("http://example.invalid","click")',
    "@SUM(1)",
    "+44 20 7946 0000",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "a|b",
    "plain",
]


@pytest.fixture
def mem() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE names (i INTEGER, name VARCHAR, amount DECIMAL(18, 2), n BIGINT)")
    connection.executemany(
        "INSERT INTO names VALUES (?, ?, ?::DECIMAL(18, 2), ?)",
        [(i, name, "-12.50", -3) for i, name in enumerate(NASTY)],
    )
    return connection


def show(con: duckdb.DuckDBPyConnection, sql: str, fmt: Format, width: int = 80, limit: int = 100) -> str:
    out = io.StringIO()
    assert run_and_print(con, sql, format=fmt, limit=limit, source="snap.duckdb", out=out, width=width)
    return out.getvalue()


def test_a_table_wider_than_the_terminal_prints_one_block_per_row(mem) -> None:
    out = show(mem, WIDE, Format.table, width=80)
    assert out.splitlines() == [
        "-[ row 1 ]" + "-" * 70,
        "target_id                 | uk_goods_to_cn",
        "cumulative_net_eur        | 1,234,567.89",
        "target_eur                | 2,200,000,000.00",
        "pct_of_target             | 56.1234",
        "status                    | on_track",
        "projected_completion_date | 2021-06-14",
        "run_rate_30d              | 12,345.67",
        "run_rate_90d              | 23,456.78",
        "1 row(s) · snapshot snap.duckdb",
    ]
    assert max(len(line) for line in out.splitlines()) <= 80
    wide = show(mem, WIDE, Format.table, width=200)  # a wide terminal: the same result as a table
    assert "┃ target_id      ┃ cumulative_net_eur ┃" in wide and "│ 2,200,000,000.00 │" in wide
    assert "-[ row" not in wide


def test_a_table_that_fits_wraps_long_text_at_word_breaks(mem) -> None:
    out = show(mem, f"SELECT 'marts.export_progress_daily' AS \"table\", '{COMMENT}' AS comment", Format.table)
    lines = out.splitlines()
    assert "-[ row" not in out and "┃ table" in lines[1]
    assert max(len(line) for line in lines) <= 80
    cells = " ".join(line.split("│")[2].strip() for line in lines if line.startswith("│"))
    assert cells == COMMENT  # every word whole, in order, nothing cut off with an ellipsis
    assert "…" not in out


def test_vertical_format_wraps_long_values_and_respects_the_limit(mem) -> None:
    out = show(mem, f"SELECT i, '{COMMENT}' AS comment FROM range(3) t(i)", Format.vertical, width=60, limit=2)
    lines = out.splitlines()
    assert lines[0] == "-[ row 1 ]" + "-" * 50 and lines[1] == "i       | 0"
    body = [line for line in lines if line.startswith(("comment |", "        |"))]
    assert " ".join(line[10:] for line in body[: len(body) // 2]) == COMMENT
    assert max(len(line) for line in lines) <= 60
    assert "-[ row 3 ]" not in out and lines[-1] == "3 row(s), first 2 shown (--limit) · snapshot snap.duckdb"


def test_markdown_is_a_github_table_with_exact_values_and_escaped_pipes(mem) -> None:
    sql = "SELECT i, name, amount, 'x' || chr(10) || 'y' AS two_lines FROM names WHERE i IN (0, 6) ORDER BY i"
    out = show(mem, sql, Format.markdown, limit=1)  # markdown prints every row, like csv and json
    assert out.splitlines() == [
        "| i | name | amount | two_lines |",
        "|---:|---|---:|---|",
        '| 0 | =HYPERLINK("http://example.invalid","click") | -12.50 | x<br>y |',
        "| 6 | a\\|b | -12.50 | x<br>y |",
    ]


def test_csv_neutralises_text_that_would_run_as_a_formula_never_numbers(mem) -> None:
    out = show(mem, "SELECT name, amount, n, -0.5::DOUBLE AS d FROM names ORDER BY i", Format.csv)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["name", "amount", "n", "d"]
    assert [r[0] for r in rows[1:]] == [
        '\'=HYPERLINK("http://example.invalid","click")',
        "'@SUM(1)",
        "'+44 20 7946 0000",
        "'-2+3",
        "'\t=1+1",
        "'\r=1+1",
        "a|b",
        "plain",
    ]
    assert {tuple(r[1:]) for r in rows[1:]} == {("-12.50", "-3", "-0.5")}  # numbers stay numbers


def test_json_keeps_text_exact(mem) -> None:
    out = show(mem, "SELECT name, amount FROM names WHERE i < 2 ORDER BY i", Format.json)
    assert json.loads(out) == [
        {"name": NASTY[0], "amount": "-12.50"},
        {"name": "@SUM(1)", "amount": "-12.50"},
    ]


@pytest.mark.parametrize(
    ("text", "safe"),
    [("=1", "'=1"), ("+1", "'+1"), ("-1", "'-1"), ("@a", "'@a"), ("\t", "'\t"), ("\rx", "'\rx"), ("a=1", "a=1")],
)
def test_neutralise(text: str, safe: str) -> None:
    assert neutralise(text) == safe


def test_the_shell_switches_to_markdown_and_vertical(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path / "a.duckdb", "1234.50")
    q = "SELECT target_id, net_eur FROM marts.progress;"
    out = _run(snap, ".format markdown", q, ".format vertical", q, ".help")
    assert "| target_id | net_eur |\n|---|---:|\n| uk_goods_to_cn | 1234.50 |\n" in out
    assert "target_id | uk_goods_to_cn\nnet_eur   | 1,234.50\n" in out
    assert "table, vertical, csv, json or markdown (now: vertical)" in out


def test_the_command_piped_at_80_columns(tmp_path: Path) -> None:
    home = published_home(tmp_path, "99.99")
    done = xborder_sql(home, WIDE.replace("\n", " "), COLUMNS="80")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:3] == [
        "target_id                 | uk_goods_to_cn",
        "cumulative_net_eur        | 1,234,567.89",
    ]
    done = xborder_sql(home, "--format", "markdown", "SELECT net_eur FROM marts.progress", COLUMNS="80")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "| net_eur |\n|---:|\n| 99.99 |\n"
