"""One bad file never stops the rest: every kind of unreadable, misnamed or unloadable file is
rejected alone (ledger row 'rejected' + one quarantine row naming file, line and rule), the
feed's other files load to the cent, the ledger balances and the next run loads nothing new.

Golden values as in test_sales.py: TMO1 is 2 x 199.00 - 10.00 = 388.00 CNY / 7.7643 = EUR 49.97;
TMO3 is 300.00 CNY at Friday's 7.8025 = EUR 38.45.
"""

from __future__ import annotations

import io
import os
import zipfile
from decimal import Decimal

import polars as pl
import pytest
import xlsxwriter

from tests.ingest.conftest import rows
from tests.ingest.test_catalogues import SUPPLIERS, UK_HEADER
from tests.ingest.test_fx import DAILY, HIST
from tests.ingest.test_sales import CATALOGUE, tmall

GOOD_SALES = "sales/tmall_global/2019-12-24/events.jsonl"
TMO1 = tmall("TMO1", "PAID", "2019-12-24T10:00:00+08:00", "O1", 2, discount="10.00") + "\n"
TMO3 = tmall("TMO3", "PAID", "2019-12-28T12:00:00+08:00", "O3", 1, price="300.00") + "\n"
OTHER = tmall("TMO9", "PAID", "2019-12-24T11:00:00+08:00", "O9", 1) + "\n"  # would add EUR 25.63 if it loaded
WEB_HEADER = (
    "event_id,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,ship_region,placed_at\n"
)
WEB_ROW = "WS1,W1,1,GB001,W1,1,10.00,EUR,0,CN,Beijing,2019-12-24 10:00:00\n"
GOOD_CATALOGUE = "catalogues/GB001/2019-12-01.csv"


@pytest.fixture
def ready(load, landing):
    """ECB rates and the GB001 catalogue loaded (as in test_sales.py)."""
    landing("fx/eurofxref-hist.csv", HIST)
    landing(GOOD_CATALOGUE, CATALOGUE)
    load("fx")
    load("catalogues")


def rejected(wh) -> dict[str, tuple]:
    """path -> (line, reason, detail, rows_read, rows_quarantined) of every rejected file."""
    found = rows(
        wh,
        """SELECT l.path, q.line_number, q.reason, q.detail, l.rows_read, l.rows_quarantined
           FROM audit.load_ledger l JOIN audit.quarantine q USING (sha256) WHERE l.status = 'rejected'""",
    )
    return {path: rest for path, *rest in found}


def assert_rejected(wh, path: str, reason: str, line: int | None, *fragments: str) -> None:
    """One rejection of ``path``: its reason, line and a one-line message naming file, line and rule."""
    got = rejected(wh)
    assert path in got, got
    at, why, detail, read, quarantined = got[path]
    assert (why, at) == (reason, line), detail
    assert detail.startswith(f"{path}: ") and "\n" not in detail and "rule: " in detail, detail
    assert read == quarantined
    if line is not None:
        assert f"line {line}:" in detail, detail
    for fragment in fragments:
        assert fragment in detail, detail
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE path = ? AND raw_row IS NULL", [path]) == [(1,)]


def assert_next_run_loads_nothing(wh, load, feed: str) -> None:
    """Every ledger row balances; the same landing zone loaded again succeeds and adds nothing."""
    balance = (
        "SELECT count(*) FROM audit.load_ledger WHERE rows_read <> rows_loaded + rows_quarantined + rows_duplicate"
    )
    assert rows(wh, balance) == [(0,)]
    before = rows(wh, "SELECT count(*) FROM audit.load_ledger")
    again = load(feed)
    assert (again.files, again.files_rejected, again.rows_read) == (0, 0, 0)
    assert rows(wh, "SELECT count(*) FROM audit.load_ledger") == before


def sales_facts(wh) -> list[tuple]:
    return rows(wh, "SELECT event_id, eur_amount::VARCHAR FROM core.fct_sales_event ORDER BY event_id")


def parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pl.DataFrame({"event_id": ["O-1"], "quantity": [1]}).write_parquet(buf)
    return buf.getvalue()


DEEP = '{"a":' * 5000 + "1" + "}" * 5000  # Polars' JSON reader kills the process from ~1000 levels
CUT_WEB = WEB_HEADER + WEB_ROW + "WS2,W2,1,GB001,W1,1,10.0"
SALES_CASES = {
    "invalid bytes (JSON lines)": (
        "sales/tmall_global/2019-12-25/events.jsonl",
        OTHER.encode() + b'{"event_id": "TM\xff"}\n',
        "contract_violation",
        2,
        "not valid utf-8 (byte 0xff",
    ),
    "invalid bytes (CSV)": (
        "sales/own_webshop/2019-12-24/events.csv",
        (WEB_HEADER + WEB_ROW).encode() + b"WS2,W2,1,GB001,W1,1,10.00,EUR,0,CN,Bei\xffjing,2019-12-24 10:00:00\n",
        "contract_violation",
        3,
        "rule: csv.encoding",
    ),
    "random bytes (Parquet)": (
        "sales/jd_worldwide/2019-12-24/events.parquet",
        bytes(range(256)) * 4,
        "unreadable_file",
        None,
        "not a readable Parquet file",
    ),
    "truncated Parquet": (
        "sales/jd_worldwide/2019-12-24/events.parquet",
        parquet_bytes()[:300],
        "unreadable_file",
        None,
        "rule: parquet",
    ),
    "JSON nested 5000 levels": (
        "sales/tmall_global/2019-12-25/events.jsonl",
        OTHER + DEEP + "\n",
        "json_too_deep",
        2,
        "nested deeper than 64 levels; rule: json.depth",
    ),
    "JSON line cut short": (
        "sales/tmall_global/2019-12-25/events.jsonl",
        OTHER + OTHER[:60],
        "contract_violation",
        None,
        "not valid JSON lines",
    ),
    "CSV last row cut short": (
        "sales/own_webshop/2019-12-24/events.csv",
        CUT_WEB,
        "truncated_file",
        3,
        "the last row has 7 of the header's 12 fields, it is cut short",
    ),
    "CSV quoted field open at the end": (
        "sales/own_webshop/2019-12-24/events.csv",
        WEB_HEADER + WEB_ROW + 'WS2,W2,1,GB001,W1,1,10.00,EUR,0,CN,"Bei',
        "truncated_file",
        3,
        "still open at the end of the file",
    ),
    "CSV short row inside": (
        "sales/own_webshop/2019-12-24/events.csv",
        WEB_HEADER + "WS0,W0,1,GB001\n" + WEB_ROW,
        "contract_violation",
        2,
        "4 fields, the header has 12; rule: csv.fields",
    ),
    "empty file": ("sales/tmall_global/2019-12-25/events.jsonl", b"", "empty_file", 1, "the file is empty"),
    "blank CSV": ("sales/own_webshop/2019-12-24/events.csv", "\n\n", "empty_file", 1, "rule: file"),
    "no such day": (
        "sales/tmall_global/2021-02-30/events.jsonl",
        OTHER,
        "bad_file_name",
        None,
        "2021-02-30 is not a calendar date",
    ),
    "year 1900": (
        "sales/tmall_global/1900-01-01/events.jsonl",
        OTHER,
        "bad_file_name",
        None,
        "outside the plausible range 2000-01-01",
    ),
    "year 2999": ("sales/tmall_global/2999-12-24/events.jsonl", OTHER, "bad_file_name", None, "plausible range"),
    "Arabic-Indic digits": (
        "sales/tmall_global/٢٠١٩-١٢-٢٤/events.jsonl",
        OTHER,
        "bad_file_name",
        None,
        "in ASCII digits",
    ),
    "fullwidth digits": ("sales/tmall_global/２０１９-１２-２４/events.jsonl", OTHER, "bad_file_name", None, "ASCII"),
    "no date folder": ("sales/tmall_global/events.jsonl", OTHER, "bad_layout", None, "rule: layout"),
    "folder below the date": ("sales/tmall_global/2019-12-24/late/events.jsonl", OTHER, "bad_layout", None, "<file>"),
}


@pytest.mark.parametrize("case", list(SALES_CASES), ids=list(SALES_CASES))
def test_bad_sales_file_is_rejected_alone(case, ready, load, wh, landing) -> None:
    path, content, reason, line, fragment = SALES_CASES[case]
    landing(GOOD_SALES, TMO1)
    landing(path, content)
    summary = load("sales")
    assert (summary.files, summary.files_rejected) == (2, 1)
    assert sales_facts(wh) == [("TMO1", "49.97")]
    assert summary.eur_loaded == Decimal("49.97")
    assert_rejected(wh, path, reason, line, fragment)
    assert_next_run_loads_nothing(wh, load, "sales")


def test_chunk_refused_by_the_warehouse_is_retried_file_by_file(ready, load, wh, landing, monkeypatch) -> None:
    """The safety net behind the row rules: a value that slips past them (here: the rules are told to let
    an INTEGER overflow through) makes the warehouse refuse the chunk; the other files still load."""
    from pipelines.ingest import sales

    rules = sales.checked

    def lenient(rows, *args):
        judged = rules(rows, *args)
        slip = pl.col("event_id") == "TMO2"
        return judged.with_columns(
            reason=pl.when(slip).then(None).otherwise("reason"),
            quantity=pl.when(slip).then(pl.lit(3_000_000_000, pl.Int64)).otherwise("quantity"),
        )

    monkeypatch.setattr(sales, "checked", lenient)
    landing(GOOD_SALES, TMO1)
    overflow = tmall("TMO2", "PAID", "2019-12-25T10:00:00+08:00", "O2", 3_000_000_000) + "\n"
    other = tmall("TMX1", "PAID", "2019-12-25T10:00:00+08:00", "OX", 1) + "\n"
    landing("sales/tmall_global/2019-12-25/events.jsonl", other + overflow)
    landing("sales/tmall_global/2019-12-28/events.jsonl", TMO3)
    summary = load("sales")  # the three files are one chunk: its load fails, then each file alone
    assert sales_facts(wh) == [("TMO1", "49.97"), ("TMO3", "38.45")]
    assert (summary.files, summary.files_rejected, summary.rows_read, summary.rows_loaded) == (3, 1, 4, 2)
    assert summary.rows_quarantined == 2  # both lines of the refused file: nothing of it loaded
    assert summary.eur_loaded == Decimal("88.42")
    assert_rejected(wh, "sales/tmall_global/2019-12-25/events.jsonl", "load_error", None, "ConversionException")
    assert rows(wh, "SELECT count(*) FROM raw.sales_events") == [(2,)]
    assert_next_run_loads_nothing(wh, load, "sales")


def test_numbers_beyond_any_type_are_quarantined_not_a_crash(ready, load, wh, landing) -> None:
    landing(GOOD_SALES, TMO1)
    landing(
        "sales/tmall_global/2019-12-25/events.jsonl",
        tmall("TMQ", "PAID", "2019-12-25T10:00:00+08:00", "OQ", 10**30)
        + "\n"
        + tmall("TMP", "PAID", "2019-12-25T10:00:00+08:00", "OP", 1, price="1" * 25 + ".00")
        + "\n",
    )
    landing(
        "sales/tmall_global/2019-12-26/events.jsonl",
        tmall("TMI", "PAID", "2019-12-26T10:00:00+08:00", "OI", 3_000_000_000) + "\n",
    )
    summary = load("sales")
    assert (summary.files_rejected, summary.rows_loaded, summary.rows_quarantined) == (0, 1, 3)
    assert sales_facts(wh) == [("TMO1", "49.97")]
    assert rows(wh, "SELECT path[-23:], line_number, reason, column_name FROM audit.quarantine ORDER BY 1, 2") == [
        ("2019-12-25/events.jsonl", 1, "bad_number", "quantity"),
        ("2019-12-25/events.jsonl", 2, "bad_number", "unit_price"),
        ("2019-12-26/events.jsonl", 1, "bad_number", "quantity"),
    ]
    assert_next_run_loads_nothing(wh, load, "sales")


def test_sales_file_of_only_a_header_loads_no_rows(ready, load, wh, landing) -> None:
    landing(GOOD_SALES, TMO1)
    landing("sales/own_webshop/2019-12-24/events.csv", WEB_HEADER)  # a quiet day: nothing to reject
    summary = load("sales")
    assert (summary.files, summary.files_rejected, summary.rows_read) == (2, 0, 1)
    assert rows(wh, "SELECT status, rows_read FROM audit.load_ledger WHERE path LIKE '%own_webshop%'") == [
        ("loaded", 0)
    ]
    assert sales_facts(wh) == [("TMO1", "49.97")]
    assert_next_run_loads_nothing(wh, load, "sales")


def test_final_newline_required_rejects_a_cut_last_line(ready, load, wh, landing, settings, tmp_path) -> None:
    contracts = tmp_path / "contracts"
    for sub in ("catalogues", "channels", "suppliers"):
        (contracts / sub).mkdir(parents=True)
        for path in (settings.contracts_dir / sub).glob("*.yml"):
            text = path.read_text(encoding="utf-8")
            if path.stem == "own_webshop":
                text = text.replace("encoding: utf-8}", "encoding: utf-8, final_newline: required}")
            (contracts / sub / path.name).write_text(text, encoding="utf-8")
    settings.contracts_dir = contracts
    landing(GOOD_SALES, TMO1)
    path = "sales/own_webshop/2019-12-24/events.csv"
    landing(path, WEB_HEADER + WEB_ROW.rstrip("\n"))  # every field there, but the transfer stopped before the end
    summary = load("sales")
    assert summary.files_rejected == 1
    assert_rejected(wh, path, "truncated_file", 2, "requires one); rule: csv.final_newline")
    assert sales_facts(wh) == [("TMO1", "49.97")]
    assert_next_run_loads_nothing(wh, load, "sales")


def test_links_out_of_the_landing_root_are_rejected_never_read(ready, load, wh, landing, settings, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "events.jsonl").write_text(OTHER, encoding="utf-8")
    (outside / "2019-12-02.csv").write_text(UK_HEADER + "Z1,,Zed,B,C,220830,GB,1.00,GBP,1\n", encoding="utf-8")
    (outside / "eurofxref.csv").write_text(DAILY.replace("7.8205", "9.9999"), encoding="utf-8")
    landing(GOOD_SALES, TMO1)
    root = settings.landing_dir
    links = {
        "sales/tmall_global/2019-12-25/events.jsonl": outside / "events.jsonl",
        "sales/tmall_global/2019-12-26": outside,  # a whole date folder
        "catalogues/GB001/2019-12-02.csv": outside / "2019-12-02.csv",
        "catalogues/DE001": outside,  # a supplier folder
        "fx/daily/2019-12-31/eurofxref.csv": outside / "eurofxref.csv",
    }
    for name, target in links.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    assert (load("catalogues").files_rejected, load("fx").files_rejected, load("sales").files_rejected) == (2, 1, 2)
    for name, target in links.items():
        assert_rejected(wh, name, "outside_landing_root", None, f"it links to {target}", "rule: landing_root")
    assert rows(wh, "SELECT count(*) FROM audit.load_ledger WHERE status = 'rejected' AND bytes IS NULL") == [(5,)]
    assert sales_facts(wh) == [("TMO1", "49.97")]
    assert rows(wh, "SELECT supplier_sku FROM core.dim_product ORDER BY 1") == [("C1",), ("W1",)]
    assert rows(wh, "SELECT rate::VARCHAR FROM core.fx_rate WHERE currency = 'CNY' AND rate_date = '2019-12-31'") == [
        ("7.820500",)
    ]
    for feed in ("catalogues", "fx", "sales"):
        assert_next_run_loads_nothing(wh, load, feed)


def xlsx_bytes(rows_: list[list[str]]) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet("Catalogo")
    for r, values in enumerate(rows_):
        for c, value in enumerate(values):
            sheet.write_string(r, c, value)
    book.close()
    return buf.getvalue()


def zip_bomb() -> bytes:
    """An XLSX-looking zip whose sheet unpacks 2,000x (declared in the zip's own directory)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/worksheets/sheet1.xml", b"0" * (8 * 1024 * 1024))
    return buf.getvalue()


CATALOGUE_CASES = {
    "no such day": ("catalogues/GB001/2021-02-30.csv", "bad_file_name", None, "2021-02-30 is not a calendar date"),
    "year 1900": ("catalogues/GB001/1900-01-01.csv", "bad_file_name", None, "outside the plausible range"),
    "year 2999": ("catalogues/GB001/2999-01-01.csv", "bad_file_name", None, "outside the plausible range"),
    "Arabic-Indic digits": ("catalogues/GB001/٢٠١٩-١٢-٠٢.csv", "bad_file_name", None, "in ASCII digits"),
    "fullwidth digits": ("catalogues/GB001/２０１９-１２-０２.csv", "bad_file_name", None, "in ASCII digits"),
    "beside the supplier folders": ("catalogues/2019-12-02.csv", "bad_layout", None, "rule: layout"),
    "below the supplier folder": ("catalogues/GB001/old/2019-12-02.csv", "bad_layout", None, "rule: layout"),
}


@pytest.mark.parametrize("case", list(CATALOGUE_CASES), ids=list(CATALOGUE_CASES))
def test_catalogue_name_that_is_no_plausible_date_is_rejected(case, load, wh, landing) -> None:
    path, reason, line, fragment = CATALOGUE_CASES[case]
    landing(GOOD_CATALOGUE, CATALOGUE)
    landing(path, UK_HEADER + "Z1,,Zed,B,C,220830,GB,1.00,GBP,1\n")
    summary = load("catalogues")
    assert (summary.files, summary.files_rejected, summary.rows_loaded) == (2, 1, 2)
    assert_rejected(wh, path, reason, line, fragment)
    assert rows(wh, "SELECT supplier_sku, valid_from::VARCHAR FROM core.dim_product ORDER BY 1") == [
        ("C1", "2019-12-01"),
        ("W1", "2019-12-01"),
    ]
    assert_next_run_loads_nothing(wh, load, "catalogues")


IT_HEADER = ["Codice articolo", "EAN", "Descrizione", "Marchio", "Categoria", "Codice doganale"]
IT_HEADER += ["Paese di origine", "Prezzo", "Valuta", "Peso kg"]
BROKEN_CATALOGUES = {
    "invalid bytes": (
        "catalogues/GB013/2019-12-02.json",
        b'{"items": [{"sku": "J\xff1"}]}',
        "contract_violation",
        1,
        "not valid utf-8",
    ),
    "JSON nested 5000 levels": (
        "catalogues/GB013/2019-12-02.json",
        '{"items": [{"sku": ' + "[" * 5000 + "]" * 5000 + "}]}",
        "json_too_deep",
        1,
        "rule: json.depth",
    ),
    "random bytes (XLSX)": ("catalogues/IT001/2019-12-02.xlsx", bytes(range(256)) * 8, "unreadable_file", None, "xlsx"),
    "zip bomb (XLSX)": ("catalogues/IT001/2019-12-02.xlsx", zip_bomb(), "zip_bomb", None, "unpacks"),
    "corrupt XLSX": (
        "catalogues/IT001/2019-12-02.xlsx",
        xlsx_bytes([IT_HEADER])[:-200],
        "unreadable_file",
        None,
        "not a readable zip",
    ),
    "random bytes (Parquet)": (
        "catalogues/IE001/2019-12-02.parquet",
        b"PAR1" * 100,
        "unreadable_file",
        None,
        "parquet",
    ),
    "empty file": ("catalogues/GB001/2019-12-02.csv", b"", "empty_file", 1, "the file is empty"),
    "only a header (CSV)": ("catalogues/GB001/2019-12-02.csv", UK_HEADER, "empty_file", None, "full snapshot"),
    "only a header (XLSX)": (
        "catalogues/IT001/2019-12-02.xlsx",
        xlsx_bytes([IT_HEADER]),
        "empty_file",
        None,
        "no rows",
    ),
    "CSV last row cut short": (
        "catalogues/GB001/2019-12-02.csv",
        UK_HEADER + "W1,,Malt 12y,H,Spirits,220830,GB,45.50,GBP,1.250\nC1,,Cheddar,H,Dairy,040690,FR,9.0",
        "truncated_file",
        3,
        "the last row has 8 of the header's 10 fields",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_CATALOGUES), ids=list(BROKEN_CATALOGUES))
def test_broken_catalogue_is_rejected_alone(case, load, wh, landing) -> None:
    path, content, reason, line, fragment = BROKEN_CATALOGUES[case]
    landing(GOOD_CATALOGUE, CATALOGUE)
    landing(path, content)
    summary = load("catalogues")
    assert (summary.files, summary.files_rejected, summary.rows_loaded) == (2, 1, 2)
    assert_rejected(wh, path, reason, line, fragment)
    assert rows(wh, "SELECT supplier_sku, unit_price::VARCHAR, is_current FROM core.dim_product ORDER BY 1") == [
        ("C1", "9.0000", True),
        ("W1", "45.5000", True),
    ]
    assert rows(wh, "SELECT sum(amount_loaded)::VARCHAR FROM audit.load_ledger_amounts") == [("54.5000",)]
    assert_next_run_loads_nothing(wh, load, "catalogues")


FX_CASES = {
    "invalid bytes (history)": (
        "fx/eurofxref-hist.csv",
        HIST.encode().replace(b"0.85533", b"0.8\xe4533"),
        "contract_violation",
        7,
        "not valid utf-8",
    ),
    "invalid bytes (daily)": (
        "fx/daily/2019-12-30/eurofxref.csv",
        b"Date, USD, \n\xff\xfe\n",
        "contract_violation",
        2,
        "rule: encoding",
    ),
    "last row cut short": (
        "fx/eurofxref-hist.csv",
        HIST[: HIST.index("0.8647") + 4],
        "truncated_file",
        9,
        "the last row has 3 of the header's 6 cells",
    ),
    "only a header": ("fx/eurofxref-hist.csv", "Date,USD,GBP,\n", "empty_file", 2, "no rates"),
    "empty file": ("fx/eurofxref-hist.csv", "", "empty_file", 1, "the file is empty"),
}


@pytest.mark.parametrize("case", list(FX_CASES), ids=list(FX_CASES))
def test_broken_ecb_file_is_rejected_alone(case, load, wh, landing) -> None:
    path, content, reason, line, fragment = FX_CASES[case]
    landing("fx/daily/2019-12-31/eurofxref.csv", DAILY)
    landing(path, content)
    summary = load("fx")
    assert (summary.files, summary.files_rejected, summary.rows_loaded) == (2, 1, 3)
    assert_rejected(wh, path, reason, line, fragment)
    assert rows(wh, "SELECT currency, rate::VARCHAR FROM core.fx_rate ORDER BY 1") == [
        ("CNY", "7.820500"),
        ("GBP", "0.850800"),
        ("USD", "1.123400"),
    ]
    assert_next_run_loads_nothing(wh, load, "fx")


def test_broken_supplier_master_is_rejected_alone(load, wh, landing) -> None:
    landing("suppliers/suppliers.csv", SUPPLIERS)
    landing(
        "suppliers/suppliers-extra.csv", b"supplier_id,legal_name,country,vat_id,currency\nAT001,Caf\xe9 GmbH,AT,,EUR\n"
    )
    summary = load("suppliers")
    assert (summary.files, summary.files_rejected, summary.rows_loaded) == (2, 1, 8)
    assert_rejected(wh, "suppliers/suppliers-extra.csv", "contract_violation", 2, "not valid utf-8")
    assert rows(wh, "SELECT count(*) FROM core.dim_supplier") == [(8,)]
    assert_next_run_loads_nothing(wh, load, "suppliers")


def test_a_rejected_file_corrected_under_the_same_name_loads(ready, load, wh, landing) -> None:
    path = landing("sales/own_webshop/2019-12-24/events.csv", CUT_WEB)
    assert load("sales").files_rejected == 1
    path.write_text(WEB_HEADER + WEB_ROW, encoding="utf-8")  # the full transfer lands: new content
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    summary = load("sales")
    assert (summary.files, summary.files_rejected, summary.rows_loaded) == (1, 0, 1)
    assert sales_facts(wh) == [("WS1", "10.00")]
