"""The reference's own XLSX reader (standard library only)."""

from __future__ import annotations

import csv
from pathlib import Path

import xlsxwriter

from pipelines.bench.xlsx import sheet_rows, xlsx_to_csv


def write_book(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    other = book.add_worksheet("Other")
    other.write_string(0, 0, "not this one")
    sheet = book.add_worksheet("Catalogo")
    sheet.write_row(0, 0, ["Codice articolo", "Paese di origine", "Prezzo"])
    sheet.write_row(1, 0, ["IT-01-00001", "GB", "12.50"])
    sheet.write_string(2, 0, "IT-01-00002")  # B3 left empty
    sheet.write_number(2, 2, 7.25)
    sheet.write_row(27, 0, ["IT-01-00003", "IT", "Caffè €"])  # a row far down, non-ASCII text
    book.close()


def test_reads_the_named_sheet_with_gaps(tmp_path: Path) -> None:
    write_book(tmp_path / "book.xlsx")
    rows = sheet_rows(tmp_path / "book.xlsx", "Catalogo")
    assert rows == [
        ["Codice articolo", "Paese di origine", "Prezzo"],
        ["IT-01-00001", "GB", "12.50"],
        ["IT-01-00002", "", "7.25"],
        ["IT-01-00003", "IT", "Caffè €"],
    ]
    assert sheet_rows(tmp_path / "book.xlsx") == [["not this one"]]


def test_csv_output_is_rectangular_utf8(tmp_path: Path) -> None:
    write_book(tmp_path / "book.xlsx")
    assert xlsx_to_csv(tmp_path / "book.xlsx", tmp_path / "out" / "book.csv", "Catalogo") == 3
    with (tmp_path / "out" / "book.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [len(r) for r in rows] == [3, 3, 3, 3]
    assert rows[3][2] == "Caffè €"
