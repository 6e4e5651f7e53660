"""``xborder contract init``: a contract drafted from a sample file (hand-made samples, values by hand)."""

from __future__ import annotations

import io
import json
import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.contract_check import check_file
from pipelines.contract_init import (
    TimestampGuess,
    detect_delimiter,
    detect_encoding,
    detect_numbers,
    detect_timestamp,
    draft_contract,
    map_columns,
    normalise,
    weight_unit,
)
from pipelines.contracts import ContractError, load_contract
from pipelines.generate import generate
from pipelines.settings import RESOURCES, Settings
from tests.ingest.test_contract_check import WIDE, write

runner = CliRunner()
CONTRACTS = RESOURCES / "contracts"


def saved(draft_text: str, path: Path) -> Path:
    path.write_text(draft_text, encoding="utf-8")
    return path


# --- a cp1252, ';'-separated, decimal-comma catalogue (German ERP) -------------------------------

DE_HEADER = (
    "Artikelnummer;EAN;Bezeichnung;Marke;Warengruppe;Zolltarifnummer;Ursprungsland;Preis;Währung;Gewicht (g)\r\n"
)
DE_ROWS = (
    "K-100;4006381333931;Bergkäse 1 kg – gereift;Alpenhof;Käse;0406.90;DE;1.234,50;EUR;1000\r\n"  # '–' is 0x96 in cp1252
    "K-200;;Emmentaler „Rund“;Alpenhof;Käse;0406.90;DE;12,90;EUR;250\r\n"
    'K-300;;"Tilsiter; mild";Alpenhof;Käse;0406.90;DE;8,5;EUR;1.250\r\n'  # a quoted ';'
)


def test_cp1252_semicolon_decimal_comma_catalogue(settings: Settings, tmp_path: Path) -> None:
    sample = write(tmp_path / "landing/catalogues/DE001/2020-01-01.csv", (DE_HEADER + DE_ROWS).encode("cp1252"))
    draft = draft_contract(sample)  # feed and supplier from the path
    assert (draft.feed, draft.name, draft.format) == ("catalogues", "de001_csv", "csv")
    assert (draft.encoding, draft.delimiter, draft.decimal, draft.thousands) == ("cp1252", ";", ",", ".")
    shipped = load_contract(CONTRACTS / "catalogues/de_csv_semicolon_cp1252.yml")
    assert draft.columns == shipped.columns
    assert (draft.unmatched, draft.missing, draft.todos) == ([], [], {})
    assert draft.complete
    doc = yaml.safe_load(draft.text)
    assert doc["csv"] == {"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "cp1252"}
    assert (doc["hs_code_format"], doc["units"], doc["suppliers"]) == ("dotted", {"weight": "g"}, ["DE001"])
    contract = load_contract(saved(draft.text, tmp_path / "de001_csv.yml"))
    assert (contract.delimiter, contract.decimal, contract.thousands, contract.encoding) == (";", ",", ".", "cp1252")
    assert (contract.weight_unit, contract.hs_code_format, contract.suppliers) == ("g", "dotted", ("DE001",))
    result = check_file(sample, contract, settings.reference_dir)  # the draft reads the sample whole
    assert (result.fits, result.rows_read, result.rows_would_load, result.rows_quarantined) == (True, 3, 3, 0)


# --- a UTF-8 CSV with a byte-order mark (a web shop's sales) -------------------------------------

SHOP_HEADER = (
    "event_id,placed_at,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region\n"
)
SHOP_ROWS = (
    'E1,2020-01-05 10:00:00,O1,1,GB001,W1,2,45.50,GBP,0.00,CN,"Guangdong, Shenzhen"\n'
    "E2,2020-01-05 10:00:00,O1,2,GB001,W2,1,89.00,GBP,5.00,CN,Beijing\n"
    "E3,2020-01-06 09:30:15,O1,1,GB001,W1,-2,45.50,GBP,0.00,CN,Zürich-like région\n"
)


def test_utf8_bom_sales_csv(settings: Settings, tmp_path: Path) -> None:
    sample = write(tmp_path / "sales/shop/2020-01-05/events.csv", b"\xef\xbb\xbf" + (SHOP_HEADER + SHOP_ROWS).encode())
    draft = draft_contract(sample, name="shop")
    assert (draft.feed, draft.name, draft.format) == ("sales", "shop", "csv")
    assert (draft.encoding, draft.delimiter, draft.decimal, draft.thousands) == ("utf-8-sig", ",", ".", None)
    assert draft.columns == load_contract(CONTRACTS / "channels/own_webshop.yml").columns
    assert draft.timestamp == TimestampGuess("%Y-%m-%d %H:%M:%S", False, None, "2020-01-05 10:00:00")
    assert draft.event_types == {"mode": "negative_quantity", "negative_as": "cancel"}
    assert (draft.derive, draft.country_format, draft.exclude_candidates, draft.missing) == ({}, None, [], [])
    assert list(draft.todos) == ["timestamp.timezone", "event_types.negative_as"]
    assert "# TODO timestamp.timezone: the values carry no offset" in draft.text
    contract = load_contract(saved(draft.text, tmp_path / "shop.yml"))
    assert (contract.channel, contract.encoding, contract.timestamp_format) == (
        "shop",
        "utf-8-sig",
        "%Y-%m-%d %H:%M:%S",
    )
    assert (contract.timezone, contract.event_types) == ("UTC", {"mode": "negative_quantity", "negative_as": "cancel"})
    result = check_file(sample, contract, settings.reference_dir)
    assert (result.fits, result.rows_read, result.rows_would_load) == (True, 3, 3)


# --- a UK retailer's order export: no ids, country names, C-prefixed credit notes, fee lines ---

RETAIL = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
    '536366,22633,"HAND WARMER UNION JACK, RED",6,12/1/2010 8:28,1.85,17850,United Kingdom\n'
    "536367,POST,POSTAGE,3,12/1/2010 8:34,18.00,12583,France\n"
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom\n"
    "C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,12/1/2010 9:49,4.65,15311,EIRE\n"
    "536370,BANK CHARGES,Bank Charges,1,12/2/2010 10:00,15.00,,United Kingdom\n"
)


def test_uk_retail_export(tmp_path: Path) -> None:
    sample = write(tmp_path / "sales/online_retail/2010-12-01/orders.csv", RETAIL)
    draft = draft_contract(sample, supplier="ONLINE_RETAIL", currency="gbp")
    assert (draft.name, draft.encoding, draft.delimiter, draft.decimal, draft.thousands) == (
        "online_retail",
        "utf-8",
        ",",
        ".",
        None,
    )
    assert draft.columns == {
        "event_ts": "InvoiceDate",
        "order_id": "InvoiceNo",
        "supplier_sku": "StockCode",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "ship_to_country": "Country",
    }
    assert draft.unmatched == ["Description", "CustomerID"]
    assert draft.derive == {
        "line_id": {"position_within": ["InvoiceNo"]},
        "event_id": {"template": "{InvoiceNo}-{line_id}"},
    }
    # 12/1 and 12/2 read as day/month span two months, as month/day one day
    assert draft.timestamp == TimestampGuess("%m/%d/%Y %H:%M", False, "%d/%m/%Y %H:%M", "12/1/2010 8:26")
    assert draft.country_format == "name"
    assert draft.event_types == {"mode": "id_prefix", "prefixes": {"C": "credit"}, "default": "order"}
    assert draft.exclude_candidates == ["BANK CHARGES", "D", "POST"]
    assert list(draft.todos) == ["timestamp.format", "timestamp.timezone", "event_types.prefixes", "exclude"]
    assert (draft.missing, draft.complete) == ([], True)
    doc = yaml.safe_load(draft.text)
    assert doc["derive"] == draft.derive and doc["event_types"] == draft.event_types
    assert (doc["country_format"], doc["timestamp"]) == ("name", {"format": "%m/%d/%Y %H:%M", "timezone": "UTC"})
    assert doc["defaults"] == {"supplier_id": "ONLINE_RETAIL", "currency": "GBP"}
    assert "exclude" not in doc  # a suggestion, commented out:
    assert "#   - {rule: non_merchandise, column: StockCode, values: [BANK CHARGES, D, POST]}" in draft.text
    assert "#   Description: e.g. WHITE HANGING HEART T-LIGHT HOLDER" in draft.text
    path = saved(draft.text, tmp_path / "online_retail.yml")
    contract = load_contract(path)  # ids come from derive:
    assert (contract.channel, contract.timestamp_format) == ("online_retail", "%m/%d/%Y %H:%M")
    assert [(d.field, d.kind) for d in contract.derive] == [("line_id", "position_within"), ("event_id", "template")]


def test_uk_retail_without_options_lists_its_todos(tmp_path: Path) -> None:
    sample = write(tmp_path / "export.csv", RETAIL.replace("12/2/2010", "12/13/2010"))
    with pytest.raises(ContractError, match="--feed sales or --feed catalogues"):
        draft_contract(sample)
    draft = draft_contract(sample, feed="sales")
    assert draft.timestamp == TimestampGuess("%m/%d/%Y %H:%M", False, None, "12/1/2010 8:26")  # 13 is no month
    assert draft.missing == ["channel"]
    assert list(draft.todos) == [
        "channel",
        "timestamp.timezone",
        "event_types.prefixes",
        "defaults.supplier_id",
        "defaults.currency",
        "exclude",
    ]
    assert "# channel: ..." in draft.text and "channel" not in yaml.safe_load(draft.text)


# --- JSON lines, Parquet, XLSX and a JSON document ---------------------------------------------


def tmall(i: int, kind: str) -> str:
    return json.dumps(
        {
            "event_id": f"TM{i}",
            "type": kind,
            "created_at": "2019-12-24T10:00:00+08:00",
            "order_no": f"O{i}",
            "line_no": 1,
            "supplier": "GB001",
            "sku": "W1",
            "qty": 2,
            "price": "199.00",
            "currency": "CNY",
            "discount": "0.00",
            "country": "CN",
            "province": "Guangdong",
        }
    )


def test_jsonl_sample(tmp_path: Path) -> None:
    kinds = ["PAID", "PAID", "CANCELLED", "REFUNDED", "SHIPPED"]
    sample = write(tmp_path / "events.jsonl", "\n".join(tmall(i, k) for i, k in enumerate(kinds)) + "\n")
    draft = draft_contract(sample, feed="sales", channel="tm")
    assert (draft.format, draft.encoding, draft.delimiter, draft.decimal) == ("jsonl", "utf-8", None, ".")
    assert draft.columns == load_contract(CONTRACTS / "channels/tmall_global.yml").columns
    assert draft.timestamp == TimestampGuess("%Y-%m-%dT%H:%M:%S%z", True, None, "2019-12-24T10:00:00+08:00")
    assert draft.event_types == {
        "mode": "column",
        "values": {"PAID": "order", "CANCELLED": "cancel", "REFUNDED": "return"},
    }
    assert draft.todos == {"event_types.values": "SHIPPED: order, cancel, return or credit? (unlisted: quarantined)"}
    doc = yaml.safe_load(draft.text)
    assert "csv" not in doc and doc["file_glob"] == "*.jsonl"
    contract = load_contract(saved(draft.text, tmp_path / "tm.yml"))
    assert (contract.format, contract.timestamp_format, contract.timezone) == ("jsonl", "%Y-%m-%dT%H:%M:%S%z", "UTC")


def test_parquet_sample(settings: Settings, tmp_path: Path) -> None:
    ts = datetime(2020, 1, 5, 10, tzinfo=UTC)
    pl.DataFrame(
        {
            "event_id": ["O-1", "O-2", "C-1", "R-2"],
            "event_time": [ts] * 4,
            "order_id": ["A1", "A2", "A1", "A2"],
            "line_id": [1, 1, 1, 1],
            "supplier_code": ["GB001"] * 4,
            "sku_code": ["W1"] * 4,
            "quantity": [2, 1, 2, 1],
            "unit_price": [Decimal("199.00")] * 4,
            "currency": ["CNY"] * 4,
            "discount": [Decimal("0.00")] * 4,
            "ship_country": ["CN"] * 4,
            "province": ["Beijing"] * 4,
        },
        schema_overrides={"unit_price": pl.Decimal(12, 2), "discount": pl.Decimal(12, 2)},
    ).write_parquet(sample := tmp_path / "events.parquet")
    draft = draft_contract(sample, feed="sales", channel="jd")
    assert (draft.format, draft.encoding, draft.delimiter, draft.decimal) == ("parquet", None, None, ".")
    shipped = load_contract(CONTRACTS / "channels/jd_worldwide.yml")
    assert draft.columns == shipped.columns
    assert draft.timestamp == TimestampGuess("native", True)
    assert draft.event_types == {"mode": "id_prefix", "prefixes": {"O-": "order", "C-": "cancel", "R-": "return"}}
    assert (list(draft.todos), draft.missing) == (["event_types.prefixes"], [])
    contract = load_contract(saved(draft.text, tmp_path / "jd.yml"))
    assert (contract.timestamp_format, contract.timezone, contract.event_types) == (
        "native",
        "UTC",
        shipped.event_types,
    )
    result = check_file(sample, contract, settings.reference_dir)
    assert (result.fits, result.rows_read, result.rows_would_load) == (True, 4, 4)


def test_xlsx_and_json_document_catalogues(tmp_path: Path) -> None:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet("Catalogo")
    header = ["Codice articolo", "EAN", "Descrizione", "Marchio", "Categoria", "Codice doganale"]
    header += ["Paese di origine", "Prezzo", "Valuta", "Peso kg"]
    row = ["I1", "", "Borsa in pelle", "Fiorentina", "Leather", "420221", "IT", "780,00", "EUR", "0,9"]
    for r, values in enumerate([header, row]):
        for c, value in enumerate(values):
            sheet.write_string(r, c, value)
    book.add_worksheet("Note")
    book.close()
    xlsx = write(tmp_path / "2020-01-01.xlsx", buf.getvalue())
    draft = draft_contract(xlsx, feed="catalogues", supplier="IT001")
    assert (draft.format, draft.encoding, draft.decimal) == ("xlsx", None, ",")
    assert draft.columns == load_contract(CONTRACTS / "catalogues/it_xlsx.yml").columns
    doc = yaml.safe_load(draft.text)
    assert (doc["xlsx"], doc["csv"], doc["units"]) == ({"sheet": "Catalogo"}, {"decimal": ","}, {"weight": "kg"})
    assert "# the workbook has sheets ['Catalogo', 'Note']: drafted from the first" in draft.text
    assert load_contract(saved(draft.text, tmp_path / "it.yml")).sheet == "Catalogo"

    document = write(
        tmp_path / "2020-01-02.json",
        '{"supplier": "GB013", "as_of": "2020-01-02", "items": [{"sku": "J1", "gtin": null, "name": "Cask Gin",'
        ' "brand": "S", "category": "Spirits", "hs": "220850", "origin": "gb", "price": "30.10",'
        ' "weight_kg": "0.7"}]}',
    )
    draft = draft_contract(document, feed="catalogues")
    assert (draft.format, draft.name) == ("json", "2020-01-02_json")
    assert draft.missing == ["currency"] and not draft.complete
    assert list(draft.todos) == ["suppliers", "defaults.currency"]
    assert yaml.safe_load(draft.text)["json"] == {"records_path": "items"}
    with pytest.raises(ContractError, match=r"required fields neither mapped, derived nor defaulted: \['currency'\]"):
        load_contract(saved(draft.text, tmp_path / "doc.yml"))
    fixed = draft_contract(document, feed="catalogues", supplier="GB013", currency="GBP")
    assert fixed.complete and load_contract(saved(fixed.text, tmp_path / "doc.yml")).defaults == {"currency": "GBP"}


def test_header_only_sample_leaves_the_timestamp_open(tmp_path: Path) -> None:
    sample = write(tmp_path / "sales/c/2020-01-01/x.csv", "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice\n")
    draft = draft_contract(sample)
    assert (draft.missing, draft.timestamp, draft.complete) == (["timestamp.format"], None, False)
    assert draft.todos["timestamp.format"] == (
        "the sample has no InvoiceDate values to tell the format by: a strptime pattern, or native for typed timestamps"
    )
    assert yaml.safe_load(draft.text)["timestamp"] is None


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen") / "landing"
    generate(root, order_lines=2000, seed=7, start=date(2019, 12, 1), end=date(2019, 12, 10))
    return root


def shipped_samples() -> list[tuple[str, str, str]]:
    """(contract file, feed, landing folder) for every shipped catalogue layout and channel."""
    out = []
    for path in sorted((CONTRACTS / "catalogues").glob("*.yml")):
        out.append((path.name, "catalogues", f"catalogues/{load_contract(path).suppliers[0]}"))
    for path in sorted((CONTRACTS / "channels").glob("*.yml")):
        out.append((path.name, "sales", f"sales/{load_contract(path).channel}"))
    return out


@pytest.mark.parametrize(("name", "feed", "folder"), shipped_samples())
def test_drafts_of_the_generated_samples_match_the_shipped_contracts(
    generated: Path, name: str, feed: str, folder: str
) -> None:
    shipped = load_contract(CONTRACTS / ("channels" if feed == "sales" else "catalogues") / name)
    sample = sorted((generated / folder).rglob(shipped.file_glob))[0]
    draft = draft_contract(sample)
    text = shipped.format in {"csv", "json", "jsonl"}
    assert (draft.feed, draft.format, draft.columns) == (feed, shipped.format, shipped.columns)
    assert (draft.delimiter, draft.decimal) == (shipped.delimiter if shipped.format == "csv" else None, shipped.decimal)
    assert draft.timestamp is None or draft.timestamp.format == shipped.timestamp_format
    assert yaml.safe_load(draft.text)["columns"] == shipped.columns
    if shipped.name == "de_csv_semicolon_cp1252":
        # what this sample cannot show: no byte 0x80-0x9F (latin-1 reads it as cp1252 does), no grouped price
        data = sample.read_bytes()
        assert (draft.encoding, draft.thousands) == ("latin-1", None)
        assert data.decode("latin-1") == data.decode("cp1252") and not re.search(rb"[0-9]\.[0-9]{3},", data)
    else:
        assert (draft.encoding, draft.thousands) == (shipped.encoding if text else None, shipped.thousands)


# --- the detectors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"\xef\xbb\xbfsku;title\nA;Caf\xc3\xa9\n", "utf-8-sig"),
        (b"sku;title\nA;Caf\xc3\xa9\n", "utf-8"),
        (b"sku;title\nA;Cafe\n", "utf-8"),  # ASCII
        (b"sku;title\nA;Caf\xe9 \x80 5\n", "cp1252"),  # the euro sign
        (b"sku;title\nA;Caf\xe9\n", "latin-1"),  # no 0x80-0x9F byte: latin-1 and cp1252 read it alike
        (b"sku;title\nA;Caf\xe9 \x81\n", "latin-1"),  # 0x81 is undefined in cp1252
    ],
)
def test_detect_encoding(data: bytes, encoding: str) -> None:
    assert detect_encoding(data) == encoding


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2,5;3\n", ";"),  # decimal commas: ',' splits unevenly
        ('a;b\n"x, y, z";2\n"p,q";3\n', ";"),  # quoted commas do not count
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('a,b\n"line one\nline; two; three",2\n', ","),  # a quoted line break
        ("a;b,c\n1;2,3\n", ","),  # both split evenly into as many fields: the first of , ; TAB |
    ],
)
def test_detect_delimiter(text: str, delimiter: str) -> None:
    assert detect_delimiter(text)[0] == delimiter


def test_detect_delimiter_says_when_unsure() -> None:
    assert detect_delimiter("a;b;c\n1;2\n") == (
        ";",
        "';' is the header's most frequent delimiter, but the first lines split unevenly on it",
    )
    assert detect_delimiter("title\nx\n") == (",", "the first lines hold no , ; TAB or | outside quotes: one column?")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["12.50", "3", "0.5"], (".", None)),
        (["12,50", "3", "0,5"], (",", None)),
        (["1.234,50", "12,90"], (",", ".")),
        (["1,234.50", "12.90"], (".", ",")),
        (["1 234,50", "2,5"], (",", " ")),
        (["1'234.50", "2.5"], (".", "'")),
        (["3", "12"], (".", None)),  # integers only: the default
        (["0,125"], (",", None)),  # three decimals after a leading zero
    ],
)
def test_detect_numbers(values: list[str], expected: tuple[str, str | None]) -> None:
    frame = pl.DataFrame({"price": values, "title": ["x, y"] * len(values)})
    assert detect_numbers(frame, ["price", "title"])[:2] == expected


def test_detect_numbers_notes_a_lone_grouped_number() -> None:
    decimal, thousands, note = detect_numbers(pl.DataFrame({"w": ["1,250", "3"]}), ["w"])
    assert (decimal, thousands) == (".", ",")
    assert note and note.startswith("only numbers like 1,250 occur")


@pytest.mark.parametrize(
    ("values", "guess"),
    [
        (
            ["2019-12-24T10:00:00+08:00", ""],
            TimestampGuess("%Y-%m-%dT%H:%M:%S%z", True, None, "2019-12-24T10:00:00+08:00"),
        ),
        (
            ["2019-12-24T10:00:00.250+01:00", "2019-12-24T10:00:00+01:00"],
            TimestampGuess("%Y-%m-%dT%H:%M:%S%.f%z", True, None, "2019-12-24T10:00:00.250+01:00"),
        ),
        (["2019-12-24T10:00:00Z"], TimestampGuess("%Y-%m-%dT%H:%M:%SZ", True, None, "2019-12-24T10:00:00Z")),
        (["2019-12-24T10:00:00"], TimestampGuess("%Y-%m-%dT%H:%M:%S", False, None, "2019-12-24T10:00:00")),
        (["2019-12-24 10:00"], TimestampGuess("%Y-%m-%d %H:%M", False, None, "2019-12-24 10:00")),
        (["24/12/2019 10:00", "1/1/2020 9:00"], TimestampGuess("%d/%m/%Y %H:%M", False, None, "24/12/2019 10:00")),
        (["12/24/2019 10:00"], TimestampGuess("%m/%d/%Y %H:%M", False, None, "12/24/2019 10:00")),
        # both readings parse: 3 and 4 June (a day apart) beats 6 March and 6 April
        (
            ["03/06/2020 10:00", "04/06/2020 11:00"],
            TimestampGuess("%d/%m/%Y %H:%M", False, "%m/%d/%Y %H:%M", "03/06/2020 10:00"),
        ),
        (["24.12.2019 10:00:00"], TimestampGuess("%d.%m.%Y %H:%M:%S", False, None, "24.12.2019 10:00:00")),
        (["2019-12-24"], TimestampGuess("%Y-%m-%d", False, None, "2019-12-24")),
    ],
)
def test_detect_timestamp(values: list[str], guess: TimestampGuess) -> None:
    assert detect_timestamp(pl.Series("ts", values)) == guess


def test_detect_timestamp_none_and_native() -> None:
    assert detect_timestamp(pl.Series("ts", ["24 Dec 2019", "2019-12-24"])) is None
    assert detect_timestamp(pl.Series("ts", ["x"]), pl.Datetime("us")) == TimestampGuess("native", False)


@pytest.mark.parametrize("path", sorted(p.relative_to(CONTRACTS) for p in CONTRACTS.glob("[cs][ah]*/*.yml")))
def test_every_shipped_layout_maps_by_name(path: Path) -> None:
    contract = load_contract(CONTRACTS / path)
    columns = list(reversed(contract.columns.values()))  # the file's order does not matter
    assert map_columns(columns, contract.feed) == contract.columns


def test_names_normalise_and_weights_say_their_unit() -> None:
    assert [normalise(n) for n in ("Währung", "País de origen", "Invoice No", "unit_price", "Gewicht (g)")] == [
        "wahrung",
        "paisdeorigen",
        "invoiceno",
        "unitprice",
        "gewichtg",
    ]
    assert [weight_unit(n) for n in ("Gewicht (g)", "weight_kg", "UnitWeightLb", "Peso kg", "gewicht_g", "Weight")] == [
        "g",
        "kg",
        "lb",
        "kg",
        "g",
        None,
    ]
    assert map_columns(["InvoiceNo", "order_ref", "Qty", "created_at"], "sales") == {
        "event_ts": "created_at",
        "order_id": "order_ref",  # the better synonym wins; InvoiceNo stays unmatched
        "quantity": "Qty",
    }


# --- the YAML is safe whatever the file's column names and values ------------------------------

DECORATION = st.text(alphabet=string.punctuation + " \t\n\r\u2028\u0085#:'\"", max_size=4)
ODD = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=12)


@given(before=DECORATION, after=DECORATION, others=st.lists(ODD, max_size=3), value=ODD)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_draft_yaml_reads_back_any_column_name(
    tmp_path: Path, before: str, after: str, others: list[str], value: str
) -> None:
    quantity = before + "Quantity" + after
    names = list(dict.fromkeys([quantity, *others]))
    frame = pl.DataFrame({n: [value] for n in names})
    frame.write_parquet(sample := tmp_path / "sample.parquet")
    draft = draft_contract(sample, feed="sales", channel="c")
    doc = yaml.safe_load(draft.text)
    assert doc["columns"] == draft.columns and draft.columns["quantity"] == quantity
    assert set(doc) <= {
        "name",
        "description",
        "feed",
        "channel",
        "format",
        "file_glob",
        "columns",
        "event_types",
        "defaults",
    }


# --- the command line --------------------------------------------------------------------------


def init(*args: str | Path):
    return runner.invoke(app, ["contract", "init", *map(str, args)], env=WIDE)


def test_cli_prints_the_draft_and_a_summary(tmp_path: Path) -> None:
    sample = write(tmp_path / "sales/online_retail/2010-12-01/orders.csv", RETAIL)
    result = init(sample, "--supplier", "ONLINE_RETAIL", "--currency", "GBP")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["channel"] == "online_retail"
    assert "Drafted contract online_retail (feed sales): format csv, encoding utf-8, delimiter ','" in result.stderr
    assert "columns: 6 of 8 mapped by name; derived: line_id, event_id" in result.stderr
    assert "4 TODO(s) to review: timestamp.format, timestamp.timezone, event_types.prefixes, exclude" in result.stderr


def test_cli_writes_refuses_to_overwrite_and_the_draft_checks(settings: Settings, tmp_path: Path) -> None:
    sample = write(tmp_path / "sales/shop/2020-01-05/events.csv", SHOP_HEADER + SHOP_ROWS)
    out = tmp_path / "contracts/own_shop.yml"
    result = init(sample, "--output", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "written to" in result.stderr and "the draft loads as a contract" in result.stderr
    assert load_contract(out).name == "own_shop"  # the name is the file's stem
    out.write_text("# mine\n", encoding="utf-8")
    again = init(sample, "--output", out)
    assert again.exit_code == 2 and "--force overwrites it" in again.output
    assert out.read_text(encoding="utf-8") == "# mine\n"
    assert init(sample, "--output", out, "--force").exit_code == 0
    check = runner.invoke(app, ["contract", "check", str(sample), "--contract", str(out)], env=WIDE)
    assert check.exit_code == 0, check.output
    assert "✓ fits contract own_shop: 3 of 3 row(s) would load" in check.output


def test_cli_errors(tmp_path: Path) -> None:
    sample = write(tmp_path / "export.csv", RETAIL)
    no_feed = init(sample)
    assert no_feed.exit_code == 1 and "--feed sales or --feed catalogues" in no_feed.stderr
    bad_feed = init(sample, "--feed", "fx")
    assert bad_feed.exit_code == 2 and "one of sales, catalogues" in bad_feed.output
    broken = write(tmp_path / "broken.csv", "a,b\n1,2\n3\n")
    result = init(broken, "--feed", "sales")
    assert result.exit_code == 1 and "the sample cannot be read as csv" in result.stderr


def test_cli_help_teaches_with_examples() -> None:
    result = runner.invoke(app, ["contract", "init", "--help"], env=WIDE)
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "xborder contract init landing/sales/online_retail/2010-12-01/orders.csv" in result.output
    assert "xborder contract check export.csv --contract contracts/channels/online_retail.yml" in result.output
