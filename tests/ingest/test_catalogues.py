"""Catalogues through their contracts: every layout, every quarantine reason, SCD2 histories."""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl
import xlsxwriter

from tests.ingest.conftest import rows

SUPPLIERS = (
    "supplier_id,legal_name,country,vat_id,currency\n"
    "GB001,Highland Spirits Export Ltd,GB,GB123456789,GBP\n"
    "DE001,Müller Feinkost GmbH,DE,DE123456789,EUR\n"
    "FR001,Fromagerie Léon Dupré SARL,FR,FR12123456789,EUR\n"
    "IT001,Pelletteria Fiorentina S.r.l.,IT,IT12345678901,EUR\n"
    "GB013,Speyside Cask Traders Ltd,GB,GB987654321,GBP\n"
    "NL001,Hollandse Kaashandel B.V.,NL,NL123456789B01,EUR\n"
    "IE001,Dublin Distillers Ltd,IE,IE1234567T,EUR\n"
    "ES001,Bodegas Peñafiel S.L.,ES,ESB1234567A,EUR\n"
    "XX001,Bad Country Ltd,XX,XX1,EUR\n"
    "FR002,Bad Vat SAS,FR,FR1,EUR\n"
)
UK_HEADER = "sku,ean,title,brand,category,hs_code,origin_country,unit_price,currency,weight_kg\n"


def test_supplier_master_validated(load, wh) -> None:
    from pathlib import Path  # noqa: F401

    from pipelines.settings import get_settings

    path = get_settings().landing_dir / "suppliers" / "suppliers.csv"
    path.parent.mkdir(parents=True)
    path.write_text(SUPPLIERS, encoding="utf-8")
    summary = load("suppliers")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (10, 8, 2)
    assert rows(wh, "SELECT reason, line_number FROM audit.quarantine ORDER BY line_number") == [
        ("unknown_country", 10),
        ("vat_id_format", 11),
    ]
    assert rows(wh, "SELECT legal_name FROM core.dim_supplier WHERE supplier_id = 'ES001'") == [
        ("Bodegas Peñafiel S.L.",)
    ]
    assert load("suppliers").files == 0  # same file again: nothing new


def test_every_layout_loads_hand_checked_rows(load, wh, landing) -> None:
    landing(
        "catalogues/GB001/2020-01-01.csv",
        UK_HEADER + "W1,5000001000004,Malt 12y 70cl,Highland,Wine & spirits,220830,GB,45.50,GBP,1.250\n",
    )
    landing(
        "catalogues/DE001/2020-01-01.csv",
        "Artikelnummer;EAN;Bezeichnung;Marke;Warengruppe;Zolltarifnummer;Ursprungsland;Preis;Währung;Gewicht (g)\n"
        "D1;4000024000006;Müller Käse;Müller;Dairy;0406.90;DE;1.234,50;EUR;315\n".encode("cp1252"),
    )
    landing(
        "catalogues/FR001/2020-01-01.csv",
        "Référence;Code EAN;Désignation;Marque;Catégorie;Code SH;Pays d'origine;Prix unitaire HT;Poids (kg)\n"
        "F1;;Crème brûlée;Léon;Desserts;190590;FR;7,25;0,544\n".encode("latin-1"),
    )
    landing(
        "catalogues/ES001/2020-01-01.csv",
        "\ufeffReferencia;EAN;Descripción;Marca;Categoría;Código arancelario;País de origen;Precio;Moneda;Peso (kg)\n"
        "E1;;Rioja Reserva;Peñafiel;Vino;220421;ES;12,00;EUR;1,3\n",
    )
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    ws = wb.add_worksheet("Catalogo")
    header = [
        "Codice articolo",
        "EAN",
        "Descrizione",
        "Marchio",
        "Categoria",
        "Codice doganale",
        "Paese di origine",
        "Prezzo",
        "Valuta",
        "Peso kg",
    ]
    for i, value in enumerate(header):
        ws.write_string(0, i, value)
    for i, value in enumerate(
        ["I1", "", "Borsa in pelle", "Fiorentina", "Leather", "420221", "IT", "780.00", "EUR", "0.9"]
    ):
        ws.write_string(1, i, value)
    wb.close()
    landing("catalogues/IT001/2020-01-01.xlsx", buf.getvalue())
    landing(
        "catalogues/GB013/2020-01-01.json",
        '{"supplier": "GB013", "items": [{"sku": "J1", "gtin": null, "name": "Cask Gin", "brand": "S",'
        ' "category": "Spirits", "hs": "220850", "origin": "gb", "price": "30.10", "currency": "GBP",'
        ' "weight_kg": "0.7"}]}',
    )
    landing(
        "catalogues/NL001/2020-01-01.jsonl",
        '{"artikelcode": "N1", "ean": null, "omschrijving": "Gouda", "merk": "H", "categorie": "Kaas",'
        ' "gn_code": "040690", "land_van_oorsprong": "NL", "prijs": "9.99", "valuta": "EUR", "gewicht_g": 500}\n',
    )
    pl.DataFrame(
        {
            "SKU": ["P1"],
            "GTIN": [None],
            "Title": ["Dublin Gin"],
            "Brand": ["D"],
            "Category": ["Spirits"],
            "HSCode": ["220850"],
            "CountryOfOrigin": ["IE"],
            "UnitPrice": [Decimal("25.10")],
            "Currency": ["EUR"],
            "UnitWeightLb": [Decimal("2.000")],
        },
        schema_overrides={"UnitPrice": pl.Decimal(12, 2), "UnitWeightLb": pl.Decimal(12, 3)},
    ).write_parquet((p := landing("catalogues/IE001/2020-01-01.parquet", b"")) and p)
    summary = load("catalogues")
    assert summary.files_rejected == 0 and summary.rows_quarantined == 0, rows(wh, "SELECT * FROM audit.quarantine")
    got = rows(
        wh,
        """SELECT supplier_id, supplier_sku, title, hs_code, country_of_origin, unit_price, currency,
                             unit_weight_kg FROM core.dim_product ORDER BY supplier_id""",
    )
    assert got == [
        ("DE001", "D1", "Müller Käse", "040690", "DE", Decimal("1234.5000"), "EUR", Decimal("0.3150")),
        ("ES001", "E1", "Rioja Reserva", "220421", "ES", Decimal("12.0000"), "EUR", Decimal("1.3000")),
        ("FR001", "F1", "Crème brûlée", "190590", "FR", Decimal("7.2500"), "EUR", Decimal("0.5440")),
        ("GB001", "W1", "Malt 12y 70cl", "220830", "GB", Decimal("45.5000"), "GBP", Decimal("1.2500")),
        ("GB013", "J1", "Cask Gin", "220850", "GB", Decimal("30.1000"), "GBP", Decimal("0.7000")),
        # 2.000 lb x 0.45359237 = 0.90718474 kg -> 0.9072
        ("IE001", "P1", "Dublin Gin", "220850", "IE", Decimal("25.1000"), "EUR", Decimal("0.9072")),
        ("IT001", "I1", "Borsa in pelle", "420221", "IT", Decimal("780.0000"), "EUR", Decimal("0.9000")),
        ("NL001", "N1", "Gouda", "040690", "NL", Decimal("9.9900"), "EUR", Decimal("0.5000")),
    ]


def test_every_quarantine_reason(load, wh, landing) -> None:
    landing(
        "catalogues/GB001/2020-01-01.csv",
        UK_HEADER
        + "\n".join(
            [
                "OK1,5000001000004,Good,B,C,220830,GB,10.00,GBP,1",
                "G1,5000001000005,Bad gtin,B,C,220830,GB,10.00,GBP,1",
                "H1,,Bad hs,B,C,999999,GB,10.00,GBP,1",
                "C1,,Bad origin,B,C,220830,XX,10.00,GBP,1",
                "K1,,Bad currency,B,C,220830,GB,10.00,ZZZ,1",
                "Z1,,Zero price,B,C,220830,GB,0.00,GBP,1",
                "A1,,Absurd price,B,C,220830,GB,2000000.00,GBP,1",
                "M1,,,B,C,220830,GB,10.00,GBP,1",
                "N1,,Bad number,B,C,220830,GB,10.0.0,GBP,1",
                "D1,,Same,B,C,220830,GB,10.00,GBP,1",
                "D1,,Same,B,C,220830,GB,10.00,GBP,1",
                "X1,,One,B,C,220830,GB,10.00,GBP,1",
                "X1,,Two,B,C,220830,GB,11.00,GBP,1",
            ]
        )
        + "\n",
    )
    summary = load("catalogues")
    assert rows(wh, "SELECT supplier_sku FROM raw.catalogue_items ORDER BY 1") == [("D1",), ("OK1",)]
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined, summary.rows_duplicate) == (
        13,
        2,
        10,
        1,
    )
    assert rows(wh, "SELECT line_number, reason, column_name FROM audit.quarantine ORDER BY line_number") == [
        (3, "gtin_check_digit", "gtin"),
        (4, "hs_code_unknown", "hs_code"),
        (5, "unknown_country", "country_of_origin"),
        (6, "unknown_currency", "currency"),
        (7, "price_not_positive", "unit_price"),
        (8, "price_absurd", "unit_price"),
        (9, "missing_field", "title"),
        (10, "bad_number", "unit_price"),
        (13, "duplicate_sku", "supplier_sku"),
        (14, "duplicate_sku", "supplier_sku"),
    ]
    assert rows(
        wh, "SELECT sum(rows_read - rows_loaded - rows_quarantined - rows_duplicate) FROM audit.load_ledger"
    ) == [(0,)]


def test_broken_files_are_rejected_whole_with_file_line_rule(load, wh, landing) -> None:
    landing("catalogues/GB001/2020-01-01.csv", "sku,title\nA,B\n")
    landing("catalogues/GB001/not-a-date.csv", UK_HEADER)
    landing("catalogues/QQ999/2020-01-01.csv", UK_HEADER + "Q,,T,B,C,220830,GB,1.00,GBP,1\n")
    summary = load("catalogues")
    assert summary.files_rejected == 3
    got = dict(rows(wh, "SELECT reason, detail FROM audit.quarantine"))
    assert "2020-01-01.csv: line 1: column(s) ean (gtin)" in got["contract_violation"]
    assert "rule: columns" in got["contract_violation"]
    assert "<YYYY-MM-DD>.csv" in got["bad_file_name"]
    assert "QQ999" in got["no_contract"]
    assert rows(
        wh, "SELECT status, rows_read, rows_quarantined FROM audit.load_ledger WHERE path LIKE '%GB001/2020%'"
    ) == [("rejected", 1, 1)]


def snapshot(landing, day: str, lines: list[str]) -> None:
    landing(f"catalogues/GB001/{day}.csv", UK_HEADER + "".join(line + "\n" for line in lines))


A = "A,,Alpha,B,C,220830,GB,{price},GBP,1"
B = "B,,Beta,B,C,220830,{origin},10.00,GBP,1"


def history(wh) -> list[tuple]:
    return rows(
        wh,
        """SELECT supplier_sku, unit_price::VARCHAR, country_of_origin, valid_from::VARCHAR,
                              valid_to::VARCHAR, is_current FROM core.dim_product ORDER BY 1, 4""",
    )


EXPECTED = [
    ("A", "10.0000", "GB", "2020-01-01", "2020-02-01", False),
    ("A", "12.0000", "GB", "2020-02-01", "9999-12-31", True),
    ("B", "10.0000", "GB", "2020-01-01", "2020-03-01", False),  # delisted on 03-01
    ("B", "10.0000", "FR", "2020-04-01", "9999-12-31", True),  # relisted with a new origin
]


def test_scd2_change_no_change_delist_relist(load, wh, landing) -> None:
    snapshot(landing, "2020-01-01", [A.format(price="10.00"), B.format(origin="GB")])
    load("catalogues")
    snapshot(landing, "2020-02-01", [A.format(price="12.00"), B.format(origin="GB")])
    load("catalogues")
    snapshot(landing, "2020-03-01", [A.format(price="12.00")])
    load("catalogues")
    snapshot(landing, "2020-04-01", [A.format(price="12.00"), B.format(origin="FR")])
    load("catalogues")
    assert history(wh) == EXPECTED
    # an unchanged snapshot re-delivered (new file, same content) changes nothing
    snapshot(landing, "2020-04-15", [A.format(price="12.00"), B.format(origin="FR")])
    load("catalogues")
    assert history(wh) == EXPECTED


def test_scd2_out_of_order_arrival(load, wh, landing) -> None:
    snapshot(landing, "2020-04-01", [A.format(price="12.00"), B.format(origin="FR")])
    snapshot(landing, "2020-01-01", [A.format(price="10.00"), B.format(origin="GB")])
    load("catalogues")
    snapshot(landing, "2020-03-01", [A.format(price="12.00")])
    load("catalogues")
    snapshot(landing, "2020-02-01", [A.format(price="12.00"), B.format(origin="GB")])
    load("catalogues")
    assert history(wh) == EXPECTED
