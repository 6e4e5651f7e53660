"""``xborder contract check``: a sample file against a contract, before loading, without a warehouse."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.contracts import channel_contracts, load_contracts, supplier_contracts
from pipelines.generate import generate
from pipelines.settings import RESOURCES, Settings
from tests.ingest.conftest import rows
from tests.ingest.test_catalogues import SUPPLIERS, UK_HEADER

runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # rich wraps at the terminal width; keep messages on one line

GOOD_UK = UK_HEADER + (
    "W1,5000001000004,Malt 12y 70cl,Highland,Wine & spirits,220830,GB,45.50,GBP,1.250\n"
    "W2,,Malt 18y 70cl,Highland,Wine & spirits,2208.30,GB,89.00,GBP,1.300\n"
)
BAD_UK = UK_HEADER + (
    "OK1,5000001000004,Good,B,C,220830,GB,10.00,GBP,1\n"  # line 2
    "G1,5000001000005,Bad gtin,B,C,220830,GB,10.00,GBP,1\n"  # line 3
    "H1,,Bad hs,B,C,999999,GB,10.00,GBP,1\n"  # line 4
    "G2,123,[red]markup[/red],B,C,220830,GB,10.00,GBP,1\n"  # line 5: bad GTIN; markup shown verbatim
    "H2,,Bad hs too,B,C,12,GB,10.00,GBP,1\n"  # line 6
    "D1,,Same,B,C,220830,GB,10.00,GBP,1\n"  # line 7
    "D1,,Same,B,C,220830,GB,10.00,GBP,1\n"  # line 8: exact repeat -> duplicate, not quarantined
)


def check(*args: str | Path):
    return runner.invoke(app, ["contract", "check", *map(str, args)], env=WIDE)


def check_json(*args: str | Path) -> tuple[int, dict]:
    result = check(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def tmall(event_id: str, kind: str = "PAID", ts: str = "2019-12-24T10:00:00+08:00", country: str = "CN") -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "type": kind,
            "created_at": ts,
            "order_no": "O" + event_id,
            "line_no": 1,
            "supplier": "GB001",
            "sku": "W1",
            "qty": 2,
            "price": "199.00",
            "currency": "CNY",
            "discount": "0.00",
            "country": country,
            "province": "Guangdong",
        }
    )


def it_xlsx(values: list[list[str]]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    ws = wb.add_worksheet("Catalogo")
    header = ["Codice articolo", "EAN", "Descrizione", "Marchio", "Categoria", "Codice doganale"]
    header += ["Paese di origine", "Prezzo", "Valuta", "Peso kg"]
    for r, row in enumerate([header, *values]):
        for c, value in enumerate(row):
            ws.write_string(r, c, value)
    wb.close()
    return buf.getvalue()


def test_good_catalogue_csv_fits(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "2020-01-01.csv", GOOD_UK)
    result = check(path, "--contract", "uk_csv_comma")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "uk_csv_comma" in out and str(path) in out
    assert "declared utf-8, detected ascii" in out and "declared ',', detected ','" in out
    assert "rows read           2" in out and "would load          2" in out
    assert "✓ fits contract uk_csv_comma: 2 of 2 row(s) would load" in out
    assert not settings.warehouse_path.exists()  # the check never opens the warehouse


def test_good_xlsx_and_json_catalogues_fit(settings: Settings, tmp_path: Path) -> None:
    xlsx = write(
        tmp_path / "2020-01-01.xlsx",
        it_xlsx(
            [
                ["I1", "", "Borsa in pelle", "Fiorentina", "Leather", "420221", "IT", "780.00", "EUR", "0.9"],
                ["I2", "", "Cintura", "Fiorentina", "Leather", "420330", "IT", "95.00", "EUR", "0.2"],
            ]
        ),
    )
    code, doc = check_json(xlsx, "--contract", "it_xlsx")
    assert code == 0
    assert (doc["status"], doc["format"], doc["rows_read"], doc["rows_would_load"]) == ("fits", "xlsx", 2, 2)
    assert doc["encoding_declared"] is None and doc["delimiter_declared"] is None  # not a text format
    document = write(
        tmp_path / "2020-01-01.json",
        '{"supplier": "GB013", "items": [{"sku": "J1", "gtin": null, "name": "Cask Gin", "brand": "S",'
        ' "category": "Spirits", "hs": "220850", "origin": "gb", "price": "30.10", "currency": "GBP",'
        ' "weight_kg": "0.7"}]}',
    )
    code, doc = check_json(document, "--contract", "uk_json_document")
    assert code == 0
    assert (doc["feed"], doc["rows_read"], doc["rows_would_load"], doc["rows_quarantined"]) == ("catalogues", 1, 1, 0)
    assert not settings.warehouse_path.exists()


def test_good_sales_file_fits_and_bad_sales_rows_counted(settings: Settings, tmp_path: Path) -> None:
    good = write(tmp_path / "2019-12-24" / "events.jsonl", "\n".join(tmall(f"TM{i}") for i in range(3)) + "\n")
    result = check(good, "--contract", "tmall_global")
    assert result.exit_code == 0, result.output
    assert "✓ fits contract tmall_global: 3 of 3 row(s) would load" in result.output
    assert "unknown_product" in result.output  # says which rules only the load can decide
    bad = write(
        tmp_path / "2019-12-25" / "events.jsonl",
        "\n".join([tmall("A"), tmall("B", kind="SHIPPED"), tmall("C", ts="24/12/2019"), tmall("D", country="XX")])
        + "\n",
    )
    code, doc = check_json(bad, "--contract", "tmall_global")
    assert code == 0
    assert (doc["rows_read"], doc["rows_would_load"], doc["rows_quarantined"]) == (4, 1, 3)
    got = {
        r["reason"]: [(e["line"], e["column"], e["file_column"], e["value"]) for e in r["examples"]]
        for r in doc["reasons"]
    }
    assert got == {
        "unknown_event_type": [(2, "event_type", "type", "SHIPPED")],
        "bad_timestamp": [(3, "event_ts", "created_at", "24/12/2019")],
        "unknown_country": [(4, "ship_to_country", "country", "XX")],
    }


def test_bad_gtin_and_hs_rows_are_counted_with_lines(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "2020-01-01.csv", BAD_UK)
    code, doc = check_json(path, "--contract", "uk_csv_comma")
    assert code == 0  # quarantinable rows do not reject the file
    assert doc["status"] == "fits" and doc["exit_code"] == 0 and doc["rejection"] is None
    assert (doc["rows_read"], doc["rows_would_load"], doc["rows_quarantined"], doc["rows_duplicate"]) == (7, 2, 4, 1)
    by_reason = {r["reason"]: r for r in doc["reasons"]}
    assert {k: v["rows"] for k, v in by_reason.items()} == {"gtin_check_digit": 2, "hs_code_unknown": 2}
    assert [
        (e["line"], e["column"], e["file_column"], e["value"]) for e in by_reason["gtin_check_digit"]["examples"]
    ] == [
        (3, "gtin", "ean", "5000001000005"),
        (5, "gtin", "ean", "123"),
    ]
    assert [(e["line"], e["value"]) for e in by_reason["hs_code_unknown"]["examples"]] == [(4, "999999"), (6, "12")]

    result = check(path, "--contract", "uk_csv_comma", "--examples", "1")
    assert result.exit_code == 0
    out = result.output
    assert "gtin_check_digit" in out and "gtin (ean)" in out and "'5000001000005'" in out
    assert "... 1 more" in out
    assert "✓ fits contract uk_csv_comma: 2 of 7 row(s) would load, 4 would be quarantined" in out
    assert "duplicate" in out


def test_untrusted_content_is_printed_verbatim(settings: Settings, tmp_path: Path) -> None:
    path = write(
        tmp_path / "[red]x[/red]" / "2020-01-01.csv", UK_HEADER + "S1,[bold]42[/bold],T,B,C,220830,GB,1.00,GBP,1\n"
    )
    result = check(path, "--contract", "uk_csv_comma")
    assert result.exit_code == 0
    assert "'[bold]42[/bold]'" in result.output  # a value as landed, not rich markup
    assert f"Contract check {path}" in result.output
    _, doc = check_json(path, "--contract", "uk_csv_comma")
    assert doc["reasons"][0]["examples"][0]["value"] == "[bold]42[/bold]"


def test_strict_fails_on_quarantined_rows_only(settings: Settings, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad" / "2020-01-01.csv", BAD_UK)
    good = write(tmp_path / "good" / "2020-01-01.csv", GOOD_UK)
    result = check(bad, "--contract", "uk_csv_comma", "--strict")
    assert result.exit_code == 1
    assert "✗ --strict: 4 row(s) would be quarantined" in result.output
    code, doc = check_json(bad, "--contract", "uk_csv_comma", "--strict")
    assert (code, doc["exit_code"], doc["strict"], doc["status"]) == (1, 1, True, "fits")
    assert check(good, "--contract", "uk_csv_comma", "--strict").exit_code == 0


def test_broken_header_rejects_the_file_naming_file_line_rule(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "2020-01-01.csv", "sku,title\nA,B\nC,D\n")
    result = check(path, "--contract", "uk_csv_comma")
    assert result.exit_code == 1
    out = result.output
    assert "✗ rejected whole (contract_violation)" in out
    assert f"{path}: line 1: column(s) ean (gtin)" in out and "rule: columns" in out
    assert f"file {path}, line 1, rule columns" in out
    code, doc = check_json(path, "--contract", "uk_csv_comma", "--strict")
    assert (code, doc["status"], doc["rows_read"], doc["rows_would_load"]) == (1, "rejected", 2, 0)
    rejection = doc["rejection"]
    assert (rejection["reason"], rejection["line"], rejection["rule"], rejection["rows"]) == (
        "contract_violation",
        1,
        "columns",
        2,
    )
    assert str(path) in rejection["message"]


def test_wrong_delimiter_and_undecodable_bytes_are_explained(settings: Settings, tmp_path: Path) -> None:
    semicolons = write(tmp_path / "a" / "2020-01-01.csv", GOOD_UK.replace(",", ";"))
    code, doc = check_json(semicolons, "--contract", "uk_csv_comma")
    assert code == 1 and doc["rejection"]["rule"] == "columns"
    assert doc["delimiter_detected"] == ";"
    assert any("looks ';'-separated" in note for note in doc["notes"])
    latin = write(
        tmp_path / "b" / "2020-01-01.csv", (GOOD_UK + "M1,,Müller Käse,M,C,040690,DE,1.00,GBP,1\n").encode("cp1252")
    )
    result = check(latin, "--contract", "uk_csv_comma")
    assert result.exit_code == 1
    assert f"{latin}: line 4: not valid utf-8" in result.output and "rule: csv.encoding" in result.output
    assert "detected cp1252 or latin-1" in result.output
    # the reverse mistake decodes, but wrongly: the check warns
    utf8 = write(
        tmp_path / "c" / "2020-01-01.csv",
        "Artikelnummer;EAN;Bezeichnung;Marke;Warengruppe;Zolltarifnummer;Ursprungsland;Preis;Währung;Gewicht (g)\n"
        "D1;4000024000006;Müller Käse;Müller;Dairy;0406.90;DE;1.234,50;EUR;315\n",
    )
    code, doc = check_json(utf8, "--contract", "de_csv_semicolon_cp1252")
    assert any("looks UTF-8" in note for note in doc["notes"])


def test_contract_by_path_and_unknown_contract(settings: Settings, tmp_path: Path) -> None:
    contract = write(
        tmp_path / "at_csv_semicolon.yml",
        "name: at_csv_semicolon\nfeed: catalogues\nsuppliers: [AT001]\nformat: csv\nfile_glob: '*.csv'\n"
        "csv: {delimiter: ';', decimal: ',', encoding: cp1252}\n"
        "columns: {supplier_sku: Artikel, gtin: EAN, title: Bezeichnung, hs_code: Zolltarif,"
        " country_of_origin: Ursprung, unit_price: Preis netto, unit_weight: Gewicht g}\n"
        "defaults: {currency: EUR}\nunits: {weight: g}\n",
    )
    data = write(
        tmp_path / "sample.csv",
        "Artikel;EAN;Bezeichnung;Zolltarif;Ursprung;Preis netto;Gewicht g\n"
        "A1;;Sachertorte;1905.90;AT;24,90;1200\n"
        "A2;;Mozartkugeln;1806.90;AT;1,23456;250\n".encode("cp1252"),
    )
    code, doc = check_json(data, "--contract", contract)
    assert code == 0
    assert (doc["contract"], doc["rows_read"], doc["rows_would_load"]) == ("at_csv_semicolon", 2, 1)
    assert doc["reasons"][0]["reason"] == "bad_number"  # 1,23456: more decimals than a price holds
    assert any("bad_file_name" in note for note in doc["notes"])  # sample.csv is not <YYYY-MM-DD>.csv
    result = check(data, "--contract", "no_such_contract")
    assert result.exit_code == 2
    assert "no_such_contract" in result.output and "tmall_global" in result.output


def test_check_agrees_with_the_load(load, wh, landing, tmp_path: Path) -> None:
    """One code path: the check's counts and reasons are what ingest writes to the ledger and quarantine."""
    files = {
        "suppliers/suppliers.csv": (landing("suppliers/suppliers.csv", SUPPLIERS), "supplier_master"),
        "catalogues/GB001/2020-01-01.csv": (landing("catalogues/GB001/2020-01-01.csv", BAD_UK), "uk_csv_comma"),
    }
    load("suppliers")
    load("catalogues")
    for rel, (path, contract) in files.items():
        _, doc = check_json(path, "--contract", contract)
        ledger = rows(
            wh,
            "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM audit.load_ledger WHERE path = ?",
            [rel],
        )
        assert ledger == [(doc["rows_read"], doc["rows_would_load"], doc["rows_quarantined"], doc["rows_duplicate"])]
        quarantined = rows(wh, "SELECT reason, line_number FROM audit.quarantine WHERE path = ?", [rel])
        assert sorted((r["reason"], e["line"]) for r in doc["reasons"] for e in r["examples"]) == sorted(quarantined)
        assert quarantined  # both files have rows to quarantine


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("contract_check") / "landing"
    generate(landing, order_lines=1_000, seed=3, start=date(2020, 1, 1), end=date(2020, 1, 7), skus_per_supplier=20)
    return landing


def test_every_generated_layout_fits_its_contract(settings: Settings, sample: Path) -> None:
    catalogues = supplier_contracts(load_contracts(RESOURCES / "contracts", "catalogues"))
    seen = set()
    for supplier_dir in sorted((sample / "catalogues").iterdir()):
        contract = catalogues[supplier_dir.name]
        if contract.name in seen:
            continue
        seen.add(contract.name)
        path = sorted(supplier_dir.iterdir())[0]
        code, doc = check_json(path, "--contract", contract.name)
        assert code == 0 and doc["status"] == "fits", doc
        assert doc["rows_read"] == doc["rows_would_load"] + doc["rows_quarantined"] + doc["rows_duplicate"] > 0
    assert len(seen) == 8  # every catalogue layout
    for channel in channel_contracts(load_contracts(RESOURCES / "contracts", "sales")):
        path = sorted((sample / "sales" / channel).rglob("*.*"))[0]
        code, doc = check_json(path, "--contract", channel)
        assert code == 0 and doc["feed"] == "sales" and doc["rows_read"] > 0, doc
    code, doc = check_json(sample / "suppliers" / "suppliers.csv", "--contract", "supplier_master")
    assert (code, doc["rows_read"], doc["rows_would_load"]) == (0, 44, 44)
    assert not settings.warehouse_path.exists()


def test_sales_rows_that_would_wait_are_judged_against_the_snapshot(load, wh, landing, settings, tmp_path) -> None:
    from pipelines.snapshot import publish
    from tests.ingest.test_fx import HIST
    from tests.ingest.test_sales import CATALOGUE, tmall

    landing("fx/eurofxref-hist.csv", HIST)
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("fx")
    load("catalogues")
    publish(wh, settings)
    sample = tmp_path / "day.jsonl"
    sample.write_text(
        "\n".join(
            [
                tmall("E1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 1),  # line 1: loads
                tmall("E2", "PAID", "2019-12-24T10:00:00+08:00", "O2", 1, sku="NEW"),  # 2: no product yet
                tmall("E3", "CANCELLED", "2019-12-24T11:00:00+08:00", "O1", 1),  # 3: its order is in the file
                tmall("E4", "REFUNDED", "2019-12-24T11:00:00+08:00", "O9", 1),  # 4: no order line O9/1
                tmall("E5", "PAID", "2019-12-20T10:00:00+08:00", "O5", 1),  # 5: no CNY rate in the 7 days before
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = check(sample, "--contract", "tmall_global", "--json")
    doc = json.loads(result.stdout)
    assert (doc["rows_would_load"], doc["rows_would_wait"]) == (5, 3)
    waits = {w["reason"]: [e["line"] for e in w["examples"]] for w in doc["waits"]}
    assert waits == {"unknown_product": [2], "orphan_reference": [4], "fx_rate_missing": [5]}
    human = check(sample, "--contract", "tmall_global")
    assert "would wait" in human.stdout and "Would wait (against snapshot" in human.stdout
