"""Reading landed files through contracts: encodings, decimal marks, clear structural errors."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipelines import readers
from pipelines.contracts import ContractError, load_contract
from pipelines.landing import LandingPathError, date_name_problem, discover, escapes, inside, relative
from pipelines.readers import RejectedFile, parse_decimal, read_landed


def write_contract(tmp_path: Path, **overrides: object) -> Path:
    doc = {
        "name": "test_layout",
        "feed": "catalogues",
        "format": "csv",
        "suppliers": ["DE001"],
        "csv": {"delimiter": ";", "decimal": ",", "encoding": "cp1252"},
        "columns": {
            "supplier_sku": "Artikel",
            "title": "Bezeichnung",
            "hs_code": "Zolltarif",
            "country_of_origin": "Ursprung",
            "unit_price": "Preis",
        },
        "defaults": {"currency": "EUR"},
        "units": {"weight": "g"},
    }
    doc.update(overrides)
    path = tmp_path / "test_layout.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_cp1252_semicolon_decimal_comma(tmp_path: Path) -> None:
    contract = load_contract(
        write_contract(tmp_path, csv={"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "cp1252"})
    )
    data = tmp_path / "2020-01-01.csv"
    data.write_bytes(
        "Artikel;Bezeichnung;Zolltarif;Ursprung;Preis\n"
        "A1;Käse Gruyère;040690;FR;1.234,50\n"
        "A2;Crème brûlée;190590;FR;7,25\n".encode("cp1252")
    )
    frame = read_landed(data, contract)
    assert frame["title"].to_list() == ["Käse Gruyère", "Crème brûlée"]
    assert frame["line_number"].to_list() == [2, 3]
    assert frame["currency"].to_list() == ["EUR", "EUR"]
    prices = frame.select(parse_decimal(pl.col("unit_price"), contract.decimal, 4, contract.thousands)).to_series()
    assert prices.to_list() == [Decimal("1234.5000"), Decimal("7.2500")]
    assert '"Bezeichnung":"Käse Gruyère"' in frame["raw_row"][0]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    contract = load_contract(write_contract(tmp_path, csv={"delimiter": ",", "encoding": "utf-8"}))
    data = tmp_path / "f.csv"
    data.write_bytes(b"\xef\xbb\xbfArtikel,Bezeichnung,Zolltarif,Ursprung,Preis\nA1,Tea,090210,GB,3.5\n")
    assert read_landed(data, contract)["supplier_sku"].to_list() == ["A1"]


def test_missing_column_names_file_line_and_rule(tmp_path: Path) -> None:
    contract = load_contract(write_contract(tmp_path))
    data = tmp_path / "bad.csv"
    data.write_bytes(b"Artikel;Bezeichnung;Zolltarif;Ursprung\nA1;x;040690;FR\n")
    with pytest.raises(ContractError, match=r"bad\.csv: line 1: column\(s\) Preis \(unit_price\)"):
        read_landed(data, contract)


def test_bad_encoding_names_the_line(tmp_path: Path) -> None:
    contract = load_contract(write_contract(tmp_path, csv={"delimiter": ";", "encoding": "utf-8"}))
    data = tmp_path / "bad.csv"
    data.write_bytes(b"Artikel;Bezeichnung;Zolltarif;Ursprung;Preis\nA1;ok;1;FR;1\nA2;K\xe4se;1;FR;1\n")
    with pytest.raises(ContractError, match=r"line 3: not valid utf-8"):
        read_landed(data, contract)


def test_contract_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="required fields neither mapped, derived nor defaulted"):
        load_contract(write_contract(tmp_path, defaults={}))
    with pytest.raises(ContractError, match="units.weight"):
        load_contract(write_contract(tmp_path, units={"weight": "stone"}))


def test_parse_decimal_is_strict() -> None:
    frame = pl.DataFrame({"v": ["1.234,56", "12,5", "abc", None, "0,12345", "1e3"]})
    parsed = frame.select(parse_decimal(pl.col("v"), ",", thousands=".")).to_series().to_list()
    assert parsed == [Decimal("1234.56"), Decimal("12.5"), None, None, None, None]


def test_landing_paths_stay_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    (root / "sales").mkdir(parents=True)
    assert relative(root, root / "sales") == "sales"
    with pytest.raises(LandingPathError):
        inside(root, Path("../etc/passwd"))
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(LandingPathError):
        inside(root, Path("escape/x"))


def csv_contract(tmp_path: Path, **csv: object) -> object:
    return load_contract(write_contract(tmp_path, csv={"delimiter": ";", "decimal": ",", "encoding": "utf-8", **csv}))


HEADER = "Artikel;Bezeichnung;Zolltarif;Ursprung;Preis\n"


def rejected_as(path: Path, contract) -> tuple[str, int | None, str]:
    with pytest.raises(RejectedFile) as caught:
        read_landed(path, contract, "catalogues/DE001/x.csv")
    return caught.value.reason, caught.value.line, str(caught.value)


def test_final_newline_required_is_a_contract_option(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text(HEADER + "A1;Tee;090210;GB;3,50\nA2;Kaffee;090111;BR;7,2", encoding="utf-8")
    assert read_landed(data, csv_contract(tmp_path))["unit_price"].to_list() == ["3,50", "7,2"]  # default: optional
    reason, line, message = rejected_as(data, csv_contract(tmp_path, final_newline="required"))
    assert (reason, line) == ("truncated_file", 3)
    assert message == (
        "catalogues/DE001/x.csv: line 3: the last line does not end with a line break, the file is cut short "
        "(contract test_layout requires one); rule: csv.final_newline"
    )
    data.write_text(HEADER + "A1;Tee;090210;GB;3,50\n", encoding="utf-8")
    assert read_landed(data, csv_contract(tmp_path, final_newline="required")).height == 1
    with pytest.raises(ContractError, match="csv.final_newline must be required or optional"):
        csv_contract(tmp_path, final_newline="yes")


def test_csv_field_count_is_checked_not_padded(tmp_path: Path) -> None:
    contract = csv_contract(tmp_path)
    data = tmp_path / "x.csv"
    data.write_text(HEADER + "A1;Tee;090210;GB;3,50\nA2;Kaffee;09", encoding="utf-8")  # Polars would pad with nulls
    assert rejected_as(data, contract)[:2] == ("truncated_file", 3)
    data.write_text(HEADER + 'A1;"Tee;090210;GB;3,50\n', encoding="utf-8")  # Polars would read an empty field
    assert rejected_as(data, contract)[:2] == ("truncated_file", 2)
    data.write_text(HEADER + "A1;Tee;090210;GB;3,50;extra\nA2;Kaffee;090111;BR;7,2\n", encoding="utf-8")
    reason, line, message = rejected_as(data, contract)
    assert (reason, line) == ("contract_violation", 2) and "6 fields, the header has 5; rule: csv.fields" in message


def test_quoted_line_breaks_and_blank_lines_keep_physical_line_numbers(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text(HEADER + 'A1;"Tee\nmit; Zitrone";090210;GB;3,50\n\nA2;Kaffee;090111;BR;7,2\n\n', encoding="utf-8")
    frame = read_landed(data, csv_contract(tmp_path)).filter(pl.col("supplier_sku").is_not_null())
    assert frame.select("line_number", "title").rows() == [(2, "Tee\nmit; Zitrone"), (5, "Kaffee")]


def test_json_depth_is_checked_before_any_parser(tmp_path: Path) -> None:
    contract = load_contract(
        write_contract(
            tmp_path, format="json", json={"lines": True}, csv={}, defaults={"currency": "EUR"}, units={"weight": "kg"}
        )
    )
    data = tmp_path / "x.jsonl"
    record = '{"Artikel": "A1", "Bezeichnung": "%s", "Zolltarif": "090210", "Ursprung": "GB", "Preis": %s}\n'
    deep = record % ("ok", '"1", "x": ' + "[" * 63 + "]" * 63)  # the record + 63 arrays = 64 levels
    title = r"\\\"" + "[" * 500 + r"\\"  # JSON text \\\" [[[... \\ : escapes around brackets in a string
    data.write_text(record % (title, '"1"') + deep, encoding="utf-8")
    assert read_landed(data, contract)["title"].to_list() == ['\\"' + "[" * 500 + "\\", "ok"]  # strings are text
    data.write_text(record % ("a", "[1]") + record % ("b", "[2, 3]"), encoding="utf-8")
    assert read_landed(data, contract)["unit_price"].to_list() == ["[1]", "[2,3]"]  # nested values as JSON text
    data.write_text(record % ("ok", "1") + "]]]]\n" + record % ("x", "[" * 64 + "]" * 64), encoding="utf-8")
    with pytest.raises(RejectedFile, match=r"line 3: JSON nested deeper than 64 levels; rule: json.depth") as caught:
        read_landed(data, contract)  # the stray closers on line 2 do not hide the depth of line 3
    assert (caught.value.reason, caught.value.line) == ("json_too_deep", 3)


def test_deep_json_never_reaches_polars(tmp_path: Path) -> None:
    """1,000 levels make Polars' JSON reader crash the process (SIGSEGV); the reader refuses them first."""
    contract = write_contract(tmp_path, format="json", json={"lines": True}, csv={})
    data = tmp_path / "x.jsonl"
    data.write_text('{"a":' * 1000 + "1" + "}" * 1000 + "\n", encoding="utf-8")
    code = (
        "import sys; from pathlib import Path; from pipelines.contracts import load_contract; "
        "from pipelines.readers import RejectedFile, read_landed\n"
        "try:\n    read_landed(Path(sys.argv[1]), load_contract(Path(sys.argv[2])))\n"
        "except RejectedFile as exc:\n    print(exc.reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(data), str(contract)], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "json_too_deep")


def test_workbook_sizes_are_checked_before_unpacking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = load_contract(write_contract(tmp_path, format="xlsx", xlsx={"sheet": "S"}, csv={}))
    data = tmp_path / "x.xlsx"
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/worksheets/sheet1.xml", "<x/>" * 300_000)
    monkeypatch.setattr(readers, "MAX_XLSX_BYTES", 1_000_000)
    with pytest.raises(RejectedFile, match=r"unpacks to 1,200,000 bytes, over the limit of 1,000,000") as caught:
        read_landed(data, contract)
    assert caught.value.reason == "file_too_large"
    monkeypatch.setattr(readers, "MAX_XLSX_BYTES", 10_000_000)
    with pytest.raises(RejectedFile, match=r"part xl/worksheets/sheet1.xml unpacks") as caught:
        read_landed(data, contract)
    assert caught.value.reason == "zip_bomb"


def test_date_names_are_real_plausible_dates_in_ascii_digits() -> None:
    today = date(2024, 6, 1)
    assert date_name_problem("2024-02-29", today) is None
    assert date_name_problem("2023-02-29", today) == "2023-02-29 is not a calendar date"
    assert (
        date_name_problem("1999-12-31", today) == "1999-12-31 is outside the plausible range 2000-01-01 to 2025-06-02"
    )
    assert date_name_problem("2025-06-03", today) is not None
    for name in ("٢٠٢٤-٠١-٠١", "２０２４-０１-０１", "2024-1-01", "2024-01-01x"):
        assert date_name_problem(name, today) == f"{name!r} is not a date written YYYY-MM-DD in ASCII digits"


def test_discovery_never_follows_a_link_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    (root / "fx").mkdir(parents=True)
    (tmp_path / "secret.csv").write_text("x", encoding="utf-8")
    (root / "fx" / "a.csv").write_text("Date,USD\n", encoding="utf-8")
    (root / "fx" / "out.csv").symlink_to(tmp_path / "secret.csv")
    (root / "fx" / "in.csv").symlink_to(root / "fx" / "a.csv")  # a link inside the root is followed
    (root / "fx" / "loop.csv").symlink_to(root / "fx" / "loop.csv")
    assert discover(root, "fx", "*.csv") == [(root / "fx" / "a.csv").resolve()]
    assert escapes(root, "fx") == [root.resolve() / "fx" / "loop.csv", root.resolve() / "fx" / "out.csv"]
    (root / "sales").symlink_to(tmp_path)
    assert discover(root, "sales", "*") == [] and escapes(root, "sales") == [root.resolve() / "sales"]
