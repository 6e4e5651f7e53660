"""Reading landed files through contracts: encodings, decimal marks, clear structural errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipelines.contracts import ContractError, load_contract
from pipelines.landing import LandingPathError, inside, relative
from pipelines.readers import parse_decimal, read_landed


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
    with pytest.raises(ContractError, match="required fields neither mapped nor defaulted"):
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
