"""XLSX worksheet to CSV with the standard library only, for the reference.

DuckDB's core has no XLSX reader (the ``excel`` extension would need a download), so the
reference converts XLSX catalogues to CSV first, with its own small reader (not the
pipeline's): an XLSX file is a zip of XML parts; cells are shared strings, inline strings or
numbers as written.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}
CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _column(ref: str) -> int:
    letters = CELL_REF.match(ref)
    if letters is None:
        raise ValueError(f"bad cell reference {ref!r}")
    index = 0
    for ch in letters.group(1):
        index = index * 26 + ord(ch) - 64
    return index - 1


def _text(node: ElementTree.Element) -> str:
    return "".join(t.text or "" for t in node.iter(f"{{{NS['m']}}}t"))


def sheet_rows(path: Path, sheet: str | None = None) -> list[list[str]]:
    """The rows of worksheet ``sheet`` (default: the first) as lists of cell texts."""
    with zipfile.ZipFile(path) as book:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        sheets = workbook.findall("m:sheets/m:sheet", NS)
        chosen = next((s for s in sheets if sheet is None or s.get("name") == sheet), None)
        if chosen is None:
            raise ValueError(f"{path}: no sheet named {sheet!r}")
        rel_id = chosen.get(f"{{{NS['r']}}}id")
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        target = next(r.attrib["Target"] for r in rels.findall("p:Relationship", NS) if r.get("Id") == rel_id)
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        shared: list[str] = []
        if "xl/sharedStrings.xml" in book.namelist():
            strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = [_text(si) for si in strings.findall("m:si", NS)]
        data = ElementTree.fromstring(book.read(part))
    value_tag, columns = f"{{{NS['m']}}}v", {}
    rows = []
    for row in data.iterfind("m:sheetData/m:row", NS):
        cells: dict[int, str] = {}
        for cell in row:
            kind = cell.get("t")
            value = next((child.text or "" for child in cell if child.tag == value_tag), "")
            if kind == "s":
                text = shared[int(value)] if value else ""
            elif kind == "inlineStr":
                text = _text(cell)
            else:
                text = value
            ref = cell.get("r", "")
            letters = ref.rstrip("0123456789")
            if letters not in columns:
                columns[letters] = _column(ref)
            cells[columns[letters]] = text
        width = max(cells, default=-1) + 1
        rows.append([cells.get(i, "") for i in range(width)])
    return rows


def xlsx_to_csv(path: Path, out: Path, sheet: str | None = None) -> int:
    """Write worksheet ``sheet`` of ``path`` as a UTF-8 CSV; returns the data rows written."""
    rows = sheet_rows(path, sheet)
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return max(0, len(rows) - 1)
