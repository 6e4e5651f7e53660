"""The contract language over real-shaped rows: derived ids, value maps, country names, row filters.

Golden values by hand from the ECB rates of tests.ingest.test_fx.HIST: GBP 0.85533 on
2019-12-24 and 0.8513 on 2019-12-27; EUR = round_half_even(quantity x price - discount) / rate, 2).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from pipelines.contracts import ContractError, load_contract
from tests.ingest.conftest import rows

BODY = """\
columns:
  supplier_sku: sku
  quantity: qty
  event_ts: at
  unit_price: price
  ship_to_country: country
derive:
  line_id: {position_within: [invoice]}
  order_id: {template: "{invoice}"}
  event_id: {template: "{invoice}-{line_id}"}
defaults: {supplier_id: GB001, currency: GBP}
event_types: {mode: negative_quantity, negative_as: cancel}
"""
HEADER = "invoice,sku,qty,at,price,country,note\n"


def facts(wh) -> list[tuple]:
    return rows(
        wh,
        "SELECT event_id, order_id, line_id, ship_to_country, eur_amount::VARCHAR FROM core.fct_sales_event "
        "WHERE channel = 'test_channel' ORDER BY event_id",
    )


def test_positional_ids_keep_identical_lines_as_two_events(ready, channel, landing, load, wh) -> None:
    channel(BODY)
    landing(
        "sales/test_channel/2019-12-24/a.csv",
        HEADER
        + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\n"
        + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\n"  # the same line twice: two purchases
        + "INV2,C1,1,2019-12-24 11:00,9.00,FR,\n",
    )
    summary = load("sales")
    # 91.00 / 0.85533 = 106.3916...; 9.00 / 0.85533 = 10.5222...
    assert facts(wh) == [
        ("INV1-1", "INV1", "1", "GB", "106.39"),
        ("INV1-2", "INV1", "2", "GB", "106.39"),
        ("INV2-1", "INV2", "1", "FR", "10.52"),
    ]
    assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (3, 3, 0)
    # the same bytes under another date folder: a duplicate file; the same rows in a new file: duplicate events
    landing(
        "sales/test_channel/2019-12-27/b.csv",
        HEADER + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\nINV1,W1,2,2019-12-24 10:00,45.50,GB,\n",
    )
    again = load("sales")
    assert (again.rows_read, again.rows_loaded, again.rows_duplicate) == (2, 0, 2)
    assert len(facts(wh)) == 3


def test_hash_ids_make_identical_lines_one_event(ready, channel, landing, load, wh) -> None:
    derive = (
        "derive:\n  event_id: {hash: [invoice, sku, qty, at]}\n  order_id: {template: '{invoice}'}\n"
        "  line_id: {template: '{sku}'}\n"
    )
    channel(BODY[: BODY.index("derive:")] + derive + BODY[BODY.index("defaults:") :])
    landing(
        "sales/test_channel/2019-12-24/a.csv",
        HEADER + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\nINV1,W1,2,2019-12-24 10:00,45.50,GB,\n",
    )
    summary = load("sales")
    assert (summary.rows_loaded, summary.rows_duplicate) == (1, 1)
    # md5 of the values joined by the unit separator (0x1f)
    expected = hashlib.md5(b"INV1\x1fW1\x1f2\x1f2019-12-24 10:00").hexdigest()
    assert [r[0] for r in facts(wh)] == [expected]


def test_country_names_aliases_and_an_unknown_name(ready, channel, landing, load, wh) -> None:
    channel(BODY + "country_format: name\n")
    landing(
        "sales/test_channel/2019-12-24/a.csv",
        HEADER
        + "A,W1,1,2019-12-24 10:00,45.50,United Kingdom,\n"
        + "B,W1,1,2019-12-24 10:00,45.50,EIRE,\n"
        + "C,W1,1,2019-12-24 10:00,45.50, usa ,\n"
        + "D,W1,1,2019-12-24 10:00,45.50,RSA,\n"
        + "E,W1,1,2019-12-24 10:00,45.50,Channel Islands,\n"
        + "F,W1,1,2019-12-24 10:00,45.50,China,\n"
        + "G,W1,1,2019-12-24 10:00,45.50,European Community,\n",
    )
    load("sales")
    assert [(r[0], r[3]) for r in facts(wh)] == [
        ("A-1", "GB"),
        ("B-1", "IE"),
        ("C-1", "US"),
        ("D-1", "ZA"),
        ("E-1", "JE"),
        ("F-1", "CN"),
    ]
    assert rows(wh, "SELECT line_number, reason, column_name, detail FROM audit.quarantine") == [
        (
            8,
            "unknown_country",
            "ship_to_country",
            "'European Community' is not an ISO 3166 country (code, or name where the contract says so)",
        ),
    ]


def test_value_maps_inline_and_from_a_file(ready, channel, landing, load, wh, settings) -> None:
    maps = settings.contracts_dir / "maps"
    maps.mkdir()
    (maps / "regions.csv").write_text("from,to\nLDN,London\nMAN,Manchester\n", encoding="utf-8")
    channel(
        BODY.replace("  ship_to_country: country\n", "  ship_to_country: country\n  ship_to_region: note\n")
        + "values:\n"
        + "  ship_to_region: {file: maps/regions.csv, map: {'?': null}, unmapped: keep}\n"
        + "  ship_to_country: {map: {UK: GB, Britain: GB}, ignore_case: true}\n"
    )
    landing(
        "sales/test_channel/2019-12-24/a.csv",
        HEADER
        + "A,W1,1,2019-12-24 10:00,45.50,uk,LDN\n"
        + "B,W1,1,2019-12-24 10:00,45.50,BRITAIN,?\n"
        + "C,W1,1,2019-12-24 10:00,45.50,GB,Leeds\n",
    )
    load("sales")
    assert rows(wh, "SELECT event_id, ship_to_country, ship_to_region FROM core.fct_sales_event ORDER BY event_id") == [
        ("A-1", "GB", "London"),
        ("B-1", "GB", None),
        ("C-1", "GB", "Leeds"),
    ]


FILTERS = """\
exclude:
  - {rule: postage, column: sku, values: [POST, DOT]}
  - {rule: fees, column: sku, prefixes: [FEE-]}
  - {rule: test_orders, column: note, pattern: "(?i)^test"}
"""


def test_filters_are_counted_in_the_ledger_not_errors(ready, channel, landing, load, wh) -> None:
    channel(BODY + FILTERS)
    landing(
        "sales/test_channel/2019-12-24/a.csv",
        HEADER
        + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\n"  # line 2: loaded
        + "INV1,POST,1,2019-12-24 10:00,7.95,GB,\n"  # line 3: postage
        + "INV1,C1,1,2019-12-24 10:00,9.00,FR,\n"  # line 4: loaded (line 3 of INV1)
        + "INV2,FEE-AMZ,1,2019-12-24 10:00,1.50,GB,\n"  # line 5: fees
        + "INV3,W1,1,2019-12-24 10:00,45.50,GB,Test order\n"  # line 6: test_orders
        + "INV4,DOT,1,2019-12-24 10:00,600.00,GB,\n"  # line 7: postage
        + "INV5,W1,1,2019-12-24 10:00,0,GB,\n",  # line 8: quarantined (price_not_positive)
    )
    summary = load("sales")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined, summary.rows_excluded) == (7, 2, 1, 4)
    # the line ids count every line of the invoice, kept or not: INV1's C1 is its line 3
    assert [r[:3] for r in facts(wh)] == [("INV1-1", "INV1", "1"), ("INV1-3", "INV1", "3")]
    assert rows(
        wh,
        "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_excluded FROM audit.load_ledger "
        "WHERE feed = 'sales'",
    ) == [(7, 2, 1, 0, 4)]
    assert rows(wh, "SELECT rule, rows, first_line FROM audit.load_exclusions ORDER BY rule") == [
        ("fees", 1, 5),
        ("postage", 2, 3),
        ("test_orders", 1, 6),
    ]
    # money as landed: read 91 + 7.95 + 9 + 1.50 + 45.50 + 600 + 0 = 754.95; excluded 7.95 + 1.50 + 45.50 + 600
    assert rows(
        wh,
        "SELECT amount_read, amount_loaded, amount_quarantined, amount_excluded FROM audit.load_ledger_amounts "
        "WHERE sha256 IN (SELECT sha256 FROM audit.load_ledger WHERE feed = 'sales')",
    ) == [(Decimal("754.9500"), Decimal("100.0000"), Decimal("0.0000"), Decimal("654.9500"))]
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE reason <> 'price_not_positive'") == [(0,)]


def test_a_file_lacking_a_column_a_rule_names_is_rejected(ready, channel, landing, load, wh) -> None:
    channel(BODY + FILTERS)
    landing("sales/test_channel/2019-12-24/a.csv", "invoice,sku,qty,at,price,country\nA,W1,1,2019-12-24 10:00,1,GB\n")
    summary = load("sales")
    assert summary.files_rejected == 1
    (detail,) = rows(wh, "SELECT detail FROM audit.quarantine")[0]
    assert "note (named by a derive or exclude rule)" in detail


def test_id_prefix_with_a_default(ready, channel, landing, load, wh) -> None:
    channel(
        BODY.replace(
            "event_types: {mode: negative_quantity, negative_as: cancel}",
            'event_types: {mode: id_prefix, prefixes: {"X": cancel}, default: order, column: order_id}',
        )
        .replace('event_id: {template: "{invoice}-{line_id}"}', 'event_id: {template: "{invoice}/{line_id}"}')
        .replace('order_id: {template: "{invoice}"}', 'order_id: {template: "{invoice}"}')
    )
    landing(
        "sales/test_channel/2019-12-24/a.csv",
        HEADER + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\n",
    )
    load("sales")
    assert rows(wh, "SELECT event_type FROM core.fct_sales_event") == [("order",)]


EVENT_ID = 'event_id: {template: "{invoice}-{line_id}"}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BODY + "exclud: []\n", r"unknown sections \['exclud'\]"),
        (BODY.replace(EVENT_ID, "event_id: {template: '{a!r}'}"), "placeholders are plain names"),
        (BODY.replace(EVENT_ID, "nonsense: {template: '{a}'}"), "not a canonical sales field"),
        (BODY.replace(EVENT_ID, "event_id: {template: '{a}', hash: [a]}"), "exactly one of"),
        (BODY.replace(EVENT_ID, "event_id: {hash: []}"), "hash needs at least one column"),
        (BODY.replace(EVENT_ID, "supplier_sku: {template: '{a}'}"), "mapped in columns too"),
        (BODY + "exclude: [{rule: Post, column: sku, values: [POST]}]\n", "a name in lower case"),
        (BODY + "exclude: [{rule: p, column: sku, values: [POST], prefixes: [X]}]\n", "exactly one of values"),
        (BODY + "exclude: [{rule: p, column: sku, pattern: '(unclosed'}]\n", "not a valid pattern"),
        (BODY + "exclude: [{rule: p, column: sku, values: [true]}]\n", "quote yes/no/on/off"),
        (BODY + "values: {ship_to_region: {file: ../../etc/passwd}}\n", "leaves the contracts folder"),
        (BODY + "values: {ship_to_region: {map: {a: false}}}\n", "YAML reads booleans"),
        (BODY + "country_format: names\n", "country_format must be code"),
        (BODY.replace("negative_as: cancel", "negative_as: refund"), "negative_as must be cancel, return or credit"),
    ],
)
def test_contract_language_errors_name_the_field(channel, body: str, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        load_contract(channel(body))


def test_the_same_bytes_for_two_channels_never_raise(ready, channel, landing, load, wh) -> None:
    plain = channel(BODY)
    plain.with_name("twin.yml").write_text(plain.read_text().replace("test_channel", "twin"), encoding="utf-8")
    text = HEADER + "INV1,W1,2,2019-12-24 10:00,45.50,GB,\n"
    landing("sales/test_channel/2019-12-24/a.csv", text)
    landing("sales/twin/2019-12-24/a.csv", text)
    summary = load("sales")
    assert summary.rows_read == 2
    assert rows(wh, "SELECT sum(rows_read), sum(rows_loaded) FROM audit.load_ledger WHERE feed = 'sales'") == [
        (Decimal(2), Decimal(1))
    ]
