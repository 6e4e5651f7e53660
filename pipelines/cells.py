"""Text cells that a spreadsheet never runs as a formula (CSV and formula injection, the OWASP way).

A spreadsheet opening a CSV or a workbook treats text beginning with ``=``, ``+``, ``-`` or
``@`` (and, in some, a tab or carriage return before one) as a formula: a channel or supplier
name like ``=HYPERLINK("http://evil", "click")`` would become a live link. Such text gets a
leading ``'`` and then reads as the text it is. Only text is touched: numbers (``-12.50``) are
written as numbers by the callers and never pass through here.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never evaluates it: ``'=SUM(1)``; other text unchanged."""
    return "'" + text if text.startswith(FORMULA_START) else text
