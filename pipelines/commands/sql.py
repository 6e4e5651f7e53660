"""``xborder sql``: ad-hoc SQL on the published read-only snapshot (docs/design.md §7)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from pipelines.cells import neutralise

BATCH = 10_000


class Format(StrEnum):
    table = "table"  # vertical by itself when the table is wider than the terminal
    vertical = "vertical"
    csv = "csv"
    json = "json"
    markdown = "markdown"


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
    format: Format = typer.Option(
        Format.table,
        "--format",
        help="table (default; one block per row when wider than the terminal), vertical (always), csv "
        "(text that would run as a spreadsheet formula gets a leading '), json (exact decimals) or markdown.",
    ),
    limit: int = typer.Option(100, min=1, help="Rows shown in table formats (csv, json and markdown print every row)."),
) -> None:
    """Query the analysts' snapshot, read-only: it never waits for, blocks or sees a half-built run.

    The snapshot is the warehouse as of the last green build
    ($XBORDER_HOME/snapshot/current.duckdb). Every table and column has a comment:
    SELECT table_name, comment FROM duckdb_tables(). The marts: marts.export_progress_latest
    (the headline per target), marts.export_progress_daily, marts.export_breakdown_monthly,
    marts.export_all_goods_monthly; core: fct_sales_event, dim_product (SCD2), fx_rate, dim_*.
    Ready queries: pipelines/resources/sql/examples/ (docs/analysts.md).

    Examples:

      xborder sql "SELECT target_id, cumulative_net_eur, pct_of_target, status FROM marts.export_progress_latest"

      xborder sql --file pipelines/resources/sql/examples/progress_to_date.sql

      xborder sql --file pipelines/resources/sql/examples/top_chapters.sql --format csv > chapters.csv

      xborder sql --file pipelines/resources/sql/examples/top_chapters.sql --format markdown  # for a wiki

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


def run_and_print(
    con: Any, sql: str, *, format: Format, limit: int, source: str, out: Any = None, width: int | None = None
) -> bool:
    """Run ``sql`` on ``con`` and print the last statement's result in ``format``; False on an SQL error.

    ``width``: the terminal's columns for the table layouts (default: rich's guess, 80 when piped).
    """
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
        out.write(_csv_line([neutralise(n) for n in names]))
        for row in _rows(cursor):
            out.write(_csv_line([_csv(v) for v in row]))
    elif format is Format.json:
        out.write("[")
        for i, row in enumerate(_rows(cursor)):
            out.write(("," if i else "") + "\n" + json.dumps(dict(zip(names, map(_json, row), strict=True))))
        out.write("\n]\n")
    elif format is Format.markdown:
        _print_markdown(cursor, names, out=out)
    else:
        _print_table(
            cursor, names, limit=limit, source=source, out=out, width=width, vertical=format is Format.vertical
        )
    return True


def _csv(value: Any) -> str:
    """A CSV cell: exact text; text that a spreadsheet would run as a formula gets a leading ``'``."""
    return neutralise(value) if isinstance(value, str) else _text(value)


def _csv_line(fields: list[str]) -> str:
    """One CSV record (RFC 4180 quoting, LF line ends): a field with a comma, a quote, a line feed or a
    carriage return is quoted (the csv module leaves a lone CR unquoted when lines end in LF)."""
    return ",".join('"' + f.replace('"', '""') + '"' if _NEEDS_QUOTES.search(f) else f for f in fields) + "\n"


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _markdown_cell(value: Any) -> str:
    """A GitHub-table cell: the exact text with backslashes and pipes escaped, line breaks as <br>."""
    text = _text(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def _print_markdown(cursor: Any, names: list[str], *, out: Any) -> None:
    """Every row as a GitHub-flavoured markdown table, numbers right-aligned, values exact."""
    numeric = _numeric(cursor)
    out.write("| " + " | ".join(_markdown_cell(n) for n in names) + " |\n")
    out.write("|" + "|".join("---:" if n in numeric else "---" for n in names) + "|\n")
    for row in _rows(cursor):
        out.write("| " + " | ".join(_markdown_cell(v) for v in row) + " |\n")


def _numeric(cursor: Any) -> set[str]:
    return {d[0] for d in cursor.description if str(d[1]).split("(")[0] in _NUMERIC}


def _print_table(
    cursor: Any,
    names: list[str],
    *,
    limit: int,
    source: str,
    out: Any,
    width: int | None = None,
    vertical: bool = False,
) -> None:
    """A table when it fits the terminal (long text wrapped at word breaks), else one block per row.

    A table fits when every column gets at least its longest word; wider ones, like psql's
    expanded display, print each row as ``column | value`` lines.
    """
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    numeric = _numeric(cursor)
    shown: list[tuple] = []
    count = 0
    for row in _rows(cursor):
        if count < limit:
            shown.append(row)
        count += 1
    more = f", first {limit:,} shown (--limit)" if count > limit else ""
    caption = f"{count:,} row(s){more} · snapshot {source}"
    console = Console(file=out, width=width)
    table = Table(*names, header_style="bold", caption=caption)
    for column in table.columns:
        if column.header in numeric:
            column.justify = "right"
    for row in shown:
        table.add_row(*(Text(_shown(v)) for v in row))
    if not vertical:
        unbounded = console.options.update_width(1_000_000)
        vertical = Measurement.get(console, unbounded, table).minimum > console.width
    if vertical:
        _print_vertical(names, shown, caption, width=console.width, out=out)
    else:
        console.print(table)


def _print_vertical(names: list[str], rows: list[tuple], caption: str, *, width: int, out: Any) -> None:
    """Each row as a block of ``column | value`` lines, values wrapped to ``width``."""
    import textwrap

    label = min(max((len(n) for n in names), default=1), max(width // 3, 8))
    room = max(width - label - 3, 10)
    for i, row in enumerate(rows, start=1):
        out.write(f"-[ row {i:,} ]".ljust(width, "-") + "\n")
        for name, value in zip(names, row, strict=True):
            lines = [
                piece
                for part in (_shown(value).splitlines() or [""])
                for piece in (textwrap.wrap(part, room, break_on_hyphens=False) or [""])
            ]
            for j, line in enumerate(lines):
                out.write(f"{(name if j == 0 else '').ljust(label)} | {line}".rstrip() + "\n")
    out.write(caption + "\n")


_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER", "DECIMAL", "DOUBLE", "FLOAT"}


def _shown(value: Any) -> str:
    """Table cells: money-like decimals with thousands separators, everything else exact."""
    if isinstance(value, Decimal):
        return f"{value:,}"
    return _text(value)
