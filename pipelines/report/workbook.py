"""The finance workbook: the marts of a snapshot as an Excel file (``reports/export_tracking.xlsx``).

One sheet per view (progress by day, by month, by HS chapter, supplier, channel, ship-to region
and country, all goods by origin) plus an *About* sheet. Money is written as numbers, exactly:
the DECIMAL is written as its own digits (no float in between) and shown with a EUR number
format; dates are dates; every sheet has a frozen header row, an autofilter and column widths
from its contents. Text never becomes a formula (``strings_to_formulas`` off, and text that
begins with ``= + - @`` gets a leading ``'``, see :mod:`pipelines.cells`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines.cells import neutralise

WORKBOOK = "export_tracking.xlsx"
EUR_FORMAT = '#,##0.00 "EUR"'
KG_FORMAT = "#,##0.0000"
PCT_FORMAT = '0.0000" %"'
COUNT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
MONTH_FORMAT = "yyyy-mm"
MAX_WIDTH = 60
WIDTH_SAMPLE = 2_000  # column widths from the first rows
UNKNOWN = "unknown"

BREAKDOWN = """
SELECT target_id, month, member, label, order_lines, gross_eur, cancelled_eur, returned_eur, credited_eur,
       net_eur, units, kg
FROM marts.export_breakdown_monthly WHERE dimension = ?
ORDER BY target_id, month, net_eur DESC, member
"""


@dataclass(frozen=True)
class Sheet:
    """A worksheet: its name, the query that fills it and what its first row's notes say."""

    name: str
    sql: str
    params: tuple[Any, ...] = ()
    notes: str = "marts.export_breakdown_monthly"
    headers: tuple[tuple[str, str], ...] = ()  # (column, header) where the header is not the column name


def _breakdown(name: str, dimension: str, code: str, label: str) -> Sheet:
    """One dimension of marts.export_breakdown_monthly, its member and label columns named for it."""
    return Sheet(name, BREAKDOWN, (dimension,), headers=(("member", code), ("label", label)))


SHEETS = (
    Sheet(
        "Progress by day",
        "SELECT * FROM marts.export_progress_daily ORDER BY target_id, date",
        notes="marts.export_progress_daily",
    ),
    Sheet(
        "By month",
        """SELECT target_id, date_trunc('month', date)::DATE AS month, sum(order_lines) AS order_lines,
                   sum(gross_eur) AS gross_eur, sum(cancelled_eur) AS cancelled_eur,
                   sum(returned_eur) AS returned_eur, sum(credited_eur) AS credited_eur, sum(net_eur) AS net_eur,
                   sum(units) AS units, sum(kg) AS kg, arg_max(cumulative_net_eur, date) AS cumulative_net_eur
            FROM marts.export_progress_daily GROUP BY ALL ORDER BY target_id, month""",
        notes="marts.export_progress_daily, summed by month",
    ),
    _breakdown("By HS chapter", "hs_chapter", "hs_chapter", "chapter"),
    _breakdown("By supplier", "supplier", "supplier_id", "supplier"),
    _breakdown("By channel", "channel", "channel", "channel_name"),
    _breakdown("By ship-to region", "ship_to_region", "region", "region_name"),
    _breakdown("By ship-to country", "ship_to_country", "country", "country_name"),
    Sheet(
        "All goods by origin",
        """SELECT month, country_of_origin, origin_name, origin_region, sum(order_lines) AS order_lines,
                  sum(gross_eur) AS gross_eur, sum(cancelled_eur) AS cancelled_eur, sum(returned_eur) AS returned_eur,
                  sum(credited_eur) AS credited_eur, sum(net_eur) AS net_eur, sum(units) AS units, sum(kg) AS kg
           FROM marts.export_all_goods_monthly GROUP BY ALL ORDER BY month, net_eur DESC, country_of_origin""",
        notes="marts.export_all_goods_monthly, summed over ship-to countries",
    ),
)
_LABELS = {"chapter", "supplier", "channel_name", "region_name", "country_name", "origin_name", "ship_to_name"}


class _Formats:
    def __init__(self, book: Any) -> None:
        self.header = book.add_format({"bold": True, "bg_color": "#E2E8F0", "bottom": 1, "text_wrap": True})
        self.eur = book.add_format({"num_format": EUR_FORMAT})
        self.kg = book.add_format({"num_format": KG_FORMAT})
        self.pct = book.add_format({"num_format": PCT_FORMAT})
        self.count = book.add_format({"num_format": COUNT_FORMAT})
        self.date = book.add_format({"num_format": DATE_FORMAT})
        self.month = book.add_format({"num_format": MONTH_FORMAT})
        self.decimal = book.add_format({"num_format": "#,##0.00########"})


def _format(formats: _Formats, name: str, value: Any) -> Any:
    """The number format of a column, from its name and first value."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return formats.month if name == "month" else formats.date
    if isinstance(value, datetime):
        return formats.date
    if name.endswith(("_eur", "run_rate_30d", "run_rate_90d", "pace_needed_stretch", "pace_needed_final")):
        return formats.eur
    if name.endswith("kg"):
        return formats.kg
    if name.startswith("pct_"):
        return formats.pct
    if isinstance(value, int):
        return formats.count
    if isinstance(value, Decimal):
        return formats.decimal
    return None


def _shown_width(value: Any) -> int:
    """About how many characters a cell needs, for the column width."""
    if isinstance(value, Decimal | int | float):
        return len(f"{value:,.2f}") + 4
    if isinstance(value, date):
        return 10
    return len(str(value))


def _write_sheet(book: Any, formats: _Formats, con: duckdb.DuckDBPyConnection, sheet: Sheet) -> int:
    """Fill one worksheet; returns its data rows."""
    ws = book.add_worksheet(sheet.name)
    cursor = con.execute(sheet.sql, list(sheet.params))
    renamed = dict(sheet.headers)
    names = [renamed.get(d[0], d[0]) for d in cursor.description]
    widths = [max(len(n), 8) for n in names]
    column_formats: list[Any] = [None] * len(names)
    for col, name in enumerate(names):
        ws.write_string(0, col, name, formats.header)
    row_number = 0
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            row_number += 1
            for col, value in enumerate(row):
                name = names[col]
                if value is None:
                    continue
                if column_formats[col] is None:
                    column_formats[col] = _format(formats, name, value) or False
                fmt = column_formats[col] or None
                if isinstance(value, bool):
                    ws.write_boolean(row_number, col, value)
                elif isinstance(value, Decimal | int | float):
                    ws.write_number(row_number, col, value, fmt)  # a Decimal is written as its digits
                elif isinstance(value, date):
                    ws.write_datetime(row_number, col, value, fmt)
                else:
                    text = str(value) if not isinstance(value, list) else ", ".join(map(str, value))
                    if name in _LABELS and text == "?":
                        text = UNKNOWN
                    ws.write_string(row_number, col, neutralise(text))
                if row_number <= WIDTH_SAMPLE:
                    widths[col] = max(widths[col], min(_shown_width(value), MAX_WIDTH))
    for col, width in enumerate(widths):
        ws.set_column(col, col, width + 2)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(row_number, 1), len(names) - 1)
    return row_number


def write_workbook(con: duckdb.DuckDBPyConnection, path: Path, *, snapshot: str, generated: datetime) -> Path:
    """Write the workbook from the marts on ``con`` to ``path`` (atomically); return ``path``."""
    import xlsxwriter

    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    book = xlsxwriter.Workbook(
        str(tmp),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    book.set_properties({"title": "Export tracking", "comments": f"snapshot {snapshot}"})
    formats = _Formats(book)
    counts = {sheet.name: _write_sheet(book, formats, con, sheet) for sheet in SHEETS}
    (through,) = con.execute("SELECT max(event_date) FROM core.fct_sales_event").fetchone() or (None,)
    about = book.add_worksheet("About")
    lines: list[tuple[str, Any]] = [
        ("snapshot", snapshot),
        ("generated (UTC)", generated.strftime("%Y-%m-%d %H:%M")),
        ("data through", through),
        ("money", f"EUR, exact to the cent (number format {EUR_FORMAT}); cancellations, returns, credits negative"),
        ("kg", "net weight; lines without a catalogue weight count 0"),
        ("text", "text that begins with = + - @ starts with ' so that it is never run as a formula"),
        *((f"sheet: {s.name}", f"{counts[s.name]:,} rows from {s.notes}") for s in SHEETS),
    ]
    about.write_string(0, 0, "item", formats.header)
    about.write_string(0, 1, "value", formats.header)
    for i, (key, value) in enumerate(lines, start=1):
        about.write_string(i, 0, key)
        if isinstance(value, date):
            about.write_datetime(i, 1, value, formats.date)
        else:
            about.write_string(i, 1, neutralise(str(value)) if value is not None else "n/a")
    about.set_column(0, 0, 28)
    about.set_column(1, 1, 100)
    book.close()
    os.replace(tmp, path)  # a reader never opens half a workbook
    return path
