"""``xborder sql``: ad-hoc SQL on the published read-only snapshot (docs/design.md §7)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

BATCH = 10_000


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _text(value: Any) -> str:
    """Exact text for a value: decimals as written, dates ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _json(value: Any) -> Any:
    """JSON value: decimals as exact strings (never floats), dates ISO."""
    if isinstance(value, Decimal | date | datetime):
        return _text(value)
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def _rows(cursor: Any) -> Iterator[tuple]:
    while batch := cursor.fetchmany(BATCH):
        yield from batch


def command(
    query: str | None = typer.Argument(
        None, help="SQL to run (several statements: the last one's result is shown). None: interactive, or stdin."
    ),
    file: Path | None = typer.Option(
        None, "--file", "-f", exists=True, dir_okay=False, help="Run the SQL in this file instead."
    ),
    format: Format = typer.Option(Format.table, "--format", help="table (default), csv or json (exact decimals)."),
    limit: int = typer.Option(100, min=1, help="Rows shown in table format (csv and json print every row)."),
) -> None:
    """Query the analysts' snapshot, read-only: it never waits for, blocks or sees a half-built run.

    The snapshot is the warehouse as of the last green build
    ($XBORDER_HOME/snapshot/current.duckdb). Every table and column has a comment:
    SELECT table_name, comment FROM duckdb_tables(). The marts: marts.export_progress_latest
    (the headline per target), marts.export_progress_daily, marts.export_breakdown_monthly,
    marts.export_all_goods_monthly; core: fct_sales_event, dim_product (SCD2), fx_rate, dim_*.
    Ready queries: sql/examples/ (docs/analysts.md).

    Examples:

      xborder sql "SELECT target_id, cumulative_net_eur, pct_of_target, status FROM marts.export_progress_latest"

      xborder sql --file sql/examples/progress_to_date.sql

      xborder sql --file sql/examples/top_chapters.sql --format csv > chapters.csv

      xborder sql                 # interactive: statements end with ';', .help lists the dot commands

      xborder sql < my_query.sql  # SQL from stdin
    """
    import duckdb

    from pipelines.settings import get_settings
    from pipelines.snapshot import current_snapshot

    if query is not None and file is not None:
        raise typer.BadParameter("give a query or --file, not both")
    path = current_snapshot(get_settings())
    if query is None and file is None and sys.stdin.isatty():
        from pipelines.commands.sql_shell import shell

        raise typer.Exit(shell(path, format=format, limit=limit))
    sql = file.read_text(encoding="utf-8") if file else query if query is not None else sys.stdin.read()
    with duckdb.connect(str(path), read_only=True) as con:
        if not run_and_print(con, sql, format=format, limit=limit, source=path.name):
            raise typer.Exit(1)


def run_and_print(con: Any, sql: str, *, format: Format, limit: int, source: str, out: Any = None) -> bool:
    """Run ``sql`` on ``con`` and print the last statement's result in ``format``; False on an SQL error."""
    import duckdb
    from rich.console import Console

    out = out or sys.stdout
    try:
        cursor = con.execute(sql)
    except duckdb.Error as exc:
        err = Console(stderr=True)
        err.print(f"[red]error:[/] {exc}", highlight=False)
        if "read-only" in str(exc):
            err.print("The snapshot is read-only; use CREATE TEMP TABLE ... for scratch work.")
        return False
    if not cursor.description:
        return True
    names = [d[0] for d in cursor.description]
    if format is Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in _rows(cursor):
            writer.writerow([_text(v) for v in row])
    elif format is Format.json:
        out.write("[")
        for i, row in enumerate(_rows(cursor)):
            out.write(("," if i else "") + "\n" + json.dumps(dict(zip(names, map(_json, row), strict=True))))
        out.write("\n]\n")
    else:
        _print_table(cursor, names, limit=limit, source=source, out=out)
    return True


def _print_table(cursor: Any, names: list[str], *, limit: int, source: str, out: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    numeric = {d[0] for d in cursor.description if str(d[1]).split("(")[0] in _NUMERIC}
    table = Table(*names, header_style="bold")
    for column in table.columns:
        if column.header in numeric:
            column.justify = "right"
    count = 0
    for row in _rows(cursor):
        if count < limit:
            table.add_row(*(Text(_shown(v)) for v in row))
        count += 1
    more = f", first {limit:,} shown (--limit)" if count > limit else ""
    table.caption = f"{count:,} row(s){more} · snapshot {source}"
    Console(file=out).print(table)


_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER", "DECIMAL", "DOUBLE", "FLOAT"}


def _shown(value: Any) -> str:
    """Table cells: money-like decimals with thousands separators, everything else exact."""
    if isinstance(value, Decimal):
        return f"{value:,}"
    return _text(value)
