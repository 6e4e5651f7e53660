"""Channels without a catalogue: product versions from a channel contract's defaults and SKU map.

Golden values by hand: ECB GBP 0.85533 on 2019-12-24, 0.8513 on 2019-12-27; EUR = GBP / rate,
half to even per line. The gift shop sells three SKUs no catalogue lists: MUG1 (all from the
map), LAMP (HS code and weight from the map, origin and category from the defaults, no title
anywhere: the SKU) and TOY (not in the map: every attribute from the defaults).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.contracts import ContractError, Products, load_contract
from pipelines.ingest.channel_products import attributes, refresh_products
from pipelines.ledger import new_batch_id
from pipelines.quality.gates import run_gate
from pipelines.retract import retract
from pipelines.warehouse import migrate
from tests.ingest.conftest import rows
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE

CONTRACT = """\
name: gift_shop
description: A gift shop's own export; no supplier catalogue describes its products.
feed: sales
channel: gift_shop
format: csv
file_glob: "*.csv"
csv: {{delimiter: ",", decimal: ".", encoding: utf-8}}
columns:
  event_id: id
  event_ts: ts
  order_id: invoice
  line_id: line
  supplier_sku: sku
  quantity: qty
  unit_price: price
  ship_to_country: country
defaults: {{supplier_id: GIFT_SHOP, currency: GBP}}
timestamp: {{format: "%Y-%m-%d %H:%M:%S", timezone: Europe/London}}
event_types: {{mode: negative_quantity, negative_as: cancel}}
products:
{products}
"""
PRODUCTS = """\
  defaults: {country_of_origin: GB, hs_code: "950300", category: gifts, unit_weight_kg: "0.25"}
  sku_map: maps/gift_shop_skus.csv"""
MAP = (
    "supplier_sku,country_of_origin,hs_code,category,unit_weight_kg,title\n"
    "MUG1,CN,691200,kitchen,0.4,Tea mug\n"
    "LAMP,,940521,,1.5,\n"
)
HEADER = "id,invoice,line,sku,qty,price,country,ts\n"
DAY1 = HEADER + (
    "G1,536365,1,MUG1,2,3.39,CN,2019-12-24 10:00:00\n"  # 6.78 / 0.85533 = 7.9267... -> 7.93
    "G2,536365,2,LAMP,1,25.00,CN,2019-12-24 10:00:00\n"  # 25 / 0.85533 = 29.2284... -> 29.23
    "G3,536366,1,TOY,4,1.25,CN,2019-12-24 11:00:00\n"  # 5 / 0.85533 = 5.8456... -> 5.85
)
DAY2 = HEADER + (
    "G4,536400,1,MUG1,1,3.39,CN,2019-12-27 10:00:00\n"  # 3.39 / 0.8513 = 3.9821... -> 3.98
    "G5,536365,1,MUG1,-2,3.39,CN,2019-12-27 12:00:00\n"  # cancels G1 at its order's rate: -7.93
)
SOURCE = "contract:channels/gift_shop.yml"
SKU_MAP = "sku_map:maps/gift_shop_skus.csv"


@pytest.fixture
def contracts(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repo's contracts plus the gift shop's contract and SKU map."""
    copy = tmp_path / "contracts"
    shutil.copytree(settings.contracts_dir, copy)
    monkeypatch.setattr(settings, "contracts_dir", copy)
    shop(copy)
    return copy


def shop(contracts: Path, products: str = PRODUCTS, sku_map: str | None = MAP) -> Path:
    (contracts / "maps").mkdir(exist_ok=True)
    if sku_map is not None:
        (contracts / "maps" / "gift_shop_skus.csv").write_text(sku_map, encoding="utf-8")
    path = contracts / "channels" / "gift_shop.yml"
    path.write_text(CONTRACT.format(products=products), encoding="utf-8")
    return path


@pytest.fixture
def ready(contracts, load, landing):
    landing("fx/eurofxref-hist.csv", HIST)
    load("fx")


def facts(wh) -> list[tuple]:
    return rows(
        wh,
        "SELECT event_id, event_type, supplier_id, supplier_sku, country_of_origin, hs_code, hs_chapter, category, "
        "weight_kg::VARCHAR, eur_amount::VARCHAR FROM core.fct_sales_event ORDER BY event_id",
    )


def products(wh) -> list[tuple]:
    return rows(
        wh,
        "SELECT supplier_sku, title, brand, category, hs_code, hs_chapter, country_of_origin, unit_weight_kg::VARCHAR, "
        "unit_price, currency, valid_from::VARCHAR, valid_to::VARCHAR, is_current, source_file, attribute_source "
        "FROM core.dim_product WHERE supplier_id = 'GIFT_SHOP' ORDER BY supplier_sku",
    )


def sk(sku: str) -> str:
    """The product key, computed independently: md5(supplier_id|supplier_sku|valid_from)."""
    return hashlib.md5(f"GIFT_SHOP|{sku}|1900-01-01".encode()).hexdigest()


MUG1 = ("MUG1", "Tea mug", None, "kitchen", "691200", "69", "CN", "0.4000", None, None, "1900-01-01", "9999-12-31")
LAMP = ("LAMP", "LAMP", None, "gifts", "940521", "94", "GB", "1.5000", None, None, "1900-01-01", "9999-12-31")
TOY = ("TOY", "TOY", None, "gifts", "950300", "95", "GB", "0.2500", None, None, "1900-01-01", "9999-12-31")


def test_map_and_defaults_give_the_facts_their_attributes(ready, load, wh, landing) -> None:
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    summary = load("sales")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 3, 0)
    assert facts(wh) == [
        ("G1", "order", "GIFT_SHOP", "MUG1", "CN", "691200", "69", "kitchen", "0.8000", "7.93"),
        ("G2", "order", "GIFT_SHOP", "LAMP", "GB", "940521", "94", "gifts", "1.5000", "29.23"),
        ("G3", "order", "GIFT_SHOP", "TOY", "GB", "950300", "95", "gifts", "1.0000", "5.85"),
    ]
    assert products(wh) == [
        (
            *LAMP,
            True,
            SOURCE,
            {
                "country_of_origin": SOURCE,
                "hs_code": SKU_MAP,
                "category": SOURCE,
                "unit_weight_kg": SKU_MAP,
                "title": "supplier_sku",
            },
        ),
        (
            *MUG1,
            True,
            SOURCE,
            dict.fromkeys(["country_of_origin", "hs_code", "category", "unit_weight_kg", "title"], SKU_MAP),
        ),
        (
            *TOY,
            True,
            SOURCE,
            {
                **dict.fromkeys(["country_of_origin", "hs_code", "category", "unit_weight_kg"], SOURCE),
                "title": "supplier_sku",
            },
        ),
    ]
    # keyed like a catalogue version: md5(supplier_id|supplier_sku|valid_from)
    assert rows(wh, "SELECT product_sk FROM core.fct_sales_event WHERE event_id = 'G1'") == [(sk("MUG1"),)]
    # ad-hoc SQL reads a source directly
    assert rows(
        wh, "SELECT supplier_sku FROM core.dim_product WHERE attribute_source['hs_code'] LIKE 'sku_map:%' ORDER BY 1"
    ) == [
        ("LAMP",),
        ("MUG1",),
    ]
    assert rows(
        wh,
        "SELECT channel, contract, sku_map, skus, versions, changed, facts_repointed FROM audit.channel_product_maps",
    ) == [("gift_shop", "channels/gift_shop.yml", "maps/gift_shop_skus.csv", 3, 3, 3, 0)]
    assert "gift_shop: products section applied (3 of 3 SKU(s) with a version, 3 changed)" in summary.notes


def test_a_sku_with_no_origin_anywhere_is_unknown_product(contracts, ready, load, wh, landing) -> None:
    shop(contracts, '  defaults: {hs_code: "950300"}\n  sku_map: maps/gift_shop_skus.csv')
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    summary = load("sales")
    # LAMP takes its origin from nowhere now (the map leaves it empty): no version either
    assert (summary.rows_loaded, summary.rows_quarantined) == (1, 2)
    assert [f[:5] for f in facts(wh)] == [("G1", "order", "GIFT_SHOP", "MUG1", "CN")]
    assert rows(wh, "SELECT line_number, reason, column_name FROM audit.quarantine ORDER BY line_number") == [
        (3, "unknown_product", "supplier_sku"),
        (4, "unknown_product", "supplier_sku"),
    ]
    assert [p[0] for p in products(wh)] == ["MUG1"]
    assert rows(wh, "SELECT skus, versions FROM audit.channel_product_maps") == [(3, 1)]


def test_a_map_change_repoints_the_facts(contracts, ready, load, wh, landing, monkeypatch) -> None:
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    load("sales")
    invalidated = []
    monkeypatch.setattr("pipelines.marts.invalidate", lambda con: invalidated.append(True))
    # MUG1 turns out to be made in the UK and heavier; LAMP gets a category of its own
    (contracts / "maps" / "gift_shop_skus.csv").write_text(
        MAP.replace("MUG1,CN,691200,kitchen,0.4", "MUG1,GB,691200,kitchen,0.5").replace(
            "LAMP,,940521,,", "LAMP,,940521,lighting,"
        ),
        encoding="utf-8",
    )
    landing("sales/gift_shop/2019-12-27/export.csv", DAY2)
    summary = load("sales")
    assert facts(wh) == [
        ("G1", "order", "GIFT_SHOP", "MUG1", "GB", "691200", "69", "kitchen", "1.0000", "7.93"),
        ("G2", "order", "GIFT_SHOP", "LAMP", "GB", "940521", "94", "lighting", "1.5000", "29.23"),
        ("G3", "order", "GIFT_SHOP", "TOY", "GB", "950300", "95", "gifts", "1.0000", "5.85"),
        ("G4", "order", "GIFT_SHOP", "MUG1", "GB", "691200", "69", "kitchen", "0.5000", "3.98"),
        ("G5", "cancel", "GIFT_SHOP", "MUG1", "GB", "691200", "69", "kitchen", "-1.0000", "-7.93"),
    ]
    assert invalidated == [True]
    assert "2 fact(s) re-pointed to the channel's changed product attributes" in summary.notes
    assert rows(
        wh, "SELECT skus, versions, changed, facts_repointed FROM audit.channel_product_maps ORDER BY applied_at"
    ) == [(3, 3, 3, 0), (3, 3, 2, 2)]
    # one version per SKU still, same key
    assert rows(wh, "SELECT supplier_sku, product_sk FROM core.dim_product ORDER BY 1") == [
        ("LAMP", sk("LAMP")),
        ("MUG1", sk("MUG1")),
        ("TOY", sk("TOY")),
    ]


def test_a_defaults_change_applies_without_new_sales(contracts, ready, load, wh, landing, settings) -> None:
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    load("sales")
    path = shop(contracts, PRODUCTS.replace("category: gifts", "category: toys"))
    contract = load_contract(path)
    notes = refresh_products(wh, settings, contract, new_batch_id())
    assert "2 fact(s) re-pointed to the channel's changed product attributes" in notes
    assert [(f[0], f[7]) for f in facts(wh)] == [("G1", "kitchen"), ("G2", "toys"), ("G3", "toys")]
    assert refresh_products(wh, settings, contract, new_batch_id()) == []  # applied already: nothing to do
    assert rows(wh, "SELECT count(*) FROM audit.channel_product_maps") == [(2,)]


def test_a_sku_that_loses_its_origin_is_held_and_comes_back(contracts, ready, load, wh, landing, settings) -> None:
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    load("sales")
    no_origin = shop(contracts, '  defaults: {hs_code: "950300"}\n  sku_map: maps/gift_shop_skus.csv')
    notes = refresh_products(wh, settings, load_contract(no_origin), new_batch_id())
    assert "2 fact(s) (EUR 35.08) held out of core" in notes[1]  # LAMP 29.23 + TOY 5.85
    assert [f[0] for f in facts(wh)] == ["G1"]
    assert rows(wh, "SELECT event_id FROM core.fct_sales_event_held ORDER BY 1") == [("G2",), ("G3",)]
    notes = refresh_products(wh, settings, load_contract(shop(contracts)), new_batch_id())
    assert "2 held fact(s) (EUR 35.08) back in core: the channel's products cover them" in notes
    assert [f[:5] for f in facts(wh)] == [
        ("G1", "order", "GIFT_SHOP", "MUG1", "CN"),
        ("G2", "order", "GIFT_SHOP", "LAMP", "GB"),
        ("G3", "order", "GIFT_SHOP", "TOY", "GB"),
    ]


def test_a_bad_map_is_reported_with_file_line_and_column(contracts, ready, load, wh, landing) -> None:
    # six digits, but no HS 2022 subheading: the contract is wrong, the channel's sales wait for the fix
    (contracts / "maps" / "gift_shop_skus.csv").write_text(MAP.replace("940521", "999999"), encoding="utf-8")
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    with pytest.raises(ContractError) as caught:
        load("sales")
    assert str(caught.value).endswith(
        "gift_shop.yml: products.sku_map maps/gift_shop_skus.csv: line 3, column hs_code: '999999' is not an HS 2022 "
        "subheading"
    )
    assert rows(
        wh,
        "SELECT count(*) FROM core.fct_sales_event UNION ALL SELECT count(*) FROM audit.load_ledger WHERE feed = 'sales'",
    ) == [
        (0,),
        (0,),
    ]
    (contracts / "maps" / "gift_shop_skus.csv").write_text(MAP, encoding="utf-8")
    assert load("sales").rows_loaded == 3  # fixed: the file loads


@pytest.mark.parametrize(
    ("products", "sku_map", "message"),
    [
        (
            PRODUCTS,
            MAP + "TOY,GB,40690,,,\n",
            "maps/gift_shop_skus.csv: line 4, column hs_code: '40690' is not a 6-digit HS code",
        ),
        (
            PRODUCTS,
            MAP + "MUG1,GB,950300,,,\n",
            "maps/gift_shop_skus.csv: lines 2 and 4, column supplier_sku: 'MUG1' is listed twice",
        ),
        (PRODUCTS, MAP + "TOY,GB,950300,,-1,\n", "line 4, column unit_weight_kg: '-1' is not a positive weight in kg"),
        (PRODUCTS, MAP + "TOY,GBR,950300,,,\n", "line 4, column country_of_origin: 'GBR' is not an ISO 3166 alpha-2"),
        (
            PRODUCTS,
            MAP.replace("title", "colour"),
            "maps/gift_shop_skus.csv: line 1: the header must be supplier_sku plus any of",
        ),
        (PRODUCTS.replace('"950300"', "950300"), MAP, "products.defaults.hs_code must be quoted text"),
        (PRODUCTS.replace("country_of_origin: GB", "country_of_origin: false"), MAP, 'quote it, e.g. "NO"'),
        (
            PRODUCTS.replace("maps/gift_shop_skus.csv", "../../outside.csv"),
            MAP,
            "must be a path inside the contracts dir",
        ),
        (PRODUCTS.replace("maps/gift_shop_skus.csv", "maps/missing.csv"), MAP, "'maps/missing.csv': no such file"),
        ("  defaults: {colour: red}", MAP, "products.defaults: unknown attributes ['colour']"),
    ],
)
def test_a_bad_products_section_is_a_contract_error(contracts, products, sku_map, message) -> None:
    with pytest.raises(ContractError, match="gift_shop.yml: products") as caught:
        load_contract(shop(contracts, products, sku_map))
    assert message in str(caught.value)


def test_products_need_a_supplier_that_is_no_catalogue_supplier(contracts, ready, load, wh, landing) -> None:
    path = shop(contracts)
    path.write_text(
        path.read_text(encoding="utf-8").replace("supplier_id: GIFT_SHOP", "supplier_id: GB001"), encoding="utf-8"
    )
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    with pytest.raises(ContractError, match="defaults.supplier_id GB001 is a catalogue supplier"):
        load("sales")
    path.write_text(
        path.read_text(encoding="utf-8").replace("defaults: {supplier_id: GB001, ", "defaults: {"), encoding="utf-8"
    )
    with pytest.raises(ContractError, match="products needs the supplier id"):
        load_contract(path)


def test_rerun_changes_nothing(ready, load, wh, landing) -> None:
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    load("sales")
    before = (facts(wh), products(wh))
    again = load("sales")
    landing("sales/gift_shop/2019-12-25/copy.csv", DAY1)  # the same events again: duplicates
    copy = load("sales")
    assert (again.files, again.rows_read) == (0, 0)
    assert (copy.rows_read, copy.rows_loaded, copy.rows_duplicate) == (3, 0, 3)
    assert (facts(wh), products(wh)) == before
    assert rows(wh, "SELECT count(*) FROM audit.channel_product_maps") == [(1,)]


def test_catalogue_rebuilds_and_retractions_keep_channel_products(
    contracts, ready, load, wh, landing, settings
) -> None:
    # a channel with a supplier column: GB001 sells from its catalogue, GIFT_SHOP rows from the contract
    path = shop(contracts)
    text = path.read_text(encoding="utf-8").replace(
        "  supplier_sku: sku\n", "  supplier_id: supplier\n  supplier_sku: sku\n"
    )
    path.write_text(text, encoding="utf-8")
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
    load("catalogues")
    landing(
        "sales/gift_shop/2019-12-24/export.csv",
        "id,invoice,line,supplier,sku,qty,price,country,ts\n"
        "G1,536365,1,GIFT_SHOP,MUG1,2,3.39,CN,2019-12-24 10:00:00\n"
        "G6,536365,3,GB001,W1,1,45.50,CN,2019-12-24 10:00:00\n"  # from GB001's catalogue: 45.50 / 0.85533 -> 53.20
        "G7,536365,4,GB001,MUG1,1,3.39,CN,2019-12-24 10:00:00\n",  # GB001 lists no MUG1: the map is not its catalogue
    )
    load("sales")
    assert [f[:5] + f[-1:] for f in facts(wh)] == [
        ("G1", "order", "GIFT_SHOP", "MUG1", "CN", "7.93"),
        ("G6", "order", "GB001", "W1", "GB", "53.20"),
    ]
    assert rows(wh, "SELECT reason FROM audit.quarantine") == [("unknown_product",)]
    assert rows(
        wh, "SELECT attribute_source FROM core.dim_product WHERE supplier_id = 'GB001' AND supplier_sku = 'W1'"
    ) == [
        (
            {
                k: "catalogue:catalogues/GB001/2019-12-01.csv"
                for k in ["country_of_origin", "hs_code", "category", "unit_weight_kg", "title", "brand"]
            },
        )
    ]
    kept = products(wh)
    landing("catalogues/GB001/2019-12-20.csv", CATALOGUE)  # a new snapshot: GB001's history is rebuilt
    load("catalogues")
    retract(wh, settings, "catalogues/GB001/2019-12-01.csv", note="test")
    assert products(wh) == kept
    assert [f[:5] for f in facts(wh)][:1] == [("G1", "order", "GIFT_SHOP", "MUG1", "CN")]


def test_the_core_quality_gate_passes_with_channel_products(ready, load, wh, landing, settings) -> None:
    landing("sales/gift_shop/2019-12-24/export.csv", DAY1)
    landing("sales/gift_shop/2019-12-27/export.csv", DAY2)
    load("sales")
    result = run_gate(wh, "core", settings, "channel-products")
    assert result.passed and result.failures == []
    # no list price, no GTIN: channel products are no catalogue's, gtin_present does not count them;
    # the ECB test history has gaps (the only warning)
    assert {f.rule for f in result.warnings} == {"no_gap_beyond_lookback"}
    landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)  # catalogue products without a GTIN still count
    load("catalogues")
    result = run_gate(wh, "core", settings, "with-catalogue")
    assert result.passed and {f.rule for f in result.warnings} == {"no_gap_beyond_lookback", "gtin_present"}


# ---- the merge of map and defaults, as a property ------------------------------------------------

VALUE = st.one_of(st.none(), st.sampled_from(["A", "B"]))


@given(
    mapped=st.lists(st.tuples(st.sampled_from(["S1", "S2", "S3"]), VALUE, VALUE), unique_by=lambda t: t[0], max_size=3),
    default_origin=VALUE,
    default_title=VALUE,
)
def test_map_value_else_default_else_nothing(mapped, default_origin, default_title) -> None:
    rows_ = pl.DataFrame(
        {
            "supplier_sku": [m[0] for m in mapped],
            "country_of_origin": [m[1] for m in mapped],
            "title": [m[2] for m in mapped],
            "line_number": list(range(2, 2 + len(mapped))),
        },
        schema={"supplier_sku": pl.String, "country_of_origin": pl.String, "title": pl.String, "line_number": pl.Int64},
    )
    defaults = {k: v for k, v in {"country_of_origin": default_origin, "title": default_title}.items() if v}
    products_ = Products("channels/x.yml", defaults, "maps/x.csv", rows_, "f")
    pairs = pl.DataFrame({"supplier_id": ["X"] * 3, "supplier_sku": ["S1", "S2", "S3"]})
    out = {r["supplier_sku"]: r for r in attributes(products_, pairs).iter_rows(named=True)}
    by_sku = {m[0]: m for m in mapped}
    for sku in ("S1", "S2", "S3"):
        _, origin, title = by_sku.get(sku, (sku, None, None))
        expect_origin = origin or default_origin
        assert out[sku]["country_of_origin"] == expect_origin
        assert out[sku]["src_country_of_origin"] == (
            "sku_map:maps/x.csv" if origin else "contract:channels/x.yml" if default_origin else None
        )
        assert out[sku]["title"] == (title or default_title or sku)
        assert out[sku]["src_title"] == (
            "sku_map:maps/x.csv" if title else "contract:channels/x.yml" if default_title else "supplier_sku"
        )
        assert out[sku]["hs_code"] is None and out[sku]["src_hs_code"] is None


def test_attribute_sources_macro_keeps_attributes_with_a_value(wh) -> None:
    # the migration's macro: only attributes with a value get a key
    assert rows(wh, "SELECT core.attribute_sources('a', NULL, 'c', NULL, NULL, NULL)") == [
        ({"country_of_origin": "a", "category": "c"},)
    ]


def test_the_migration_backfills_catalogue_versions(settings, tmp_path: Path) -> None:
    old = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, old)
    (old / "core" / "V090__product_attribute_source.sql").unlink()
    (old / "audit" / "V091__channel_product_maps.sql").unlink()
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, old)
    con.execute(
        "INSERT INTO core.dim_product VALUES ('k', 'GB001', 'W1', NULL, 'Malt', NULL, 'Spirits', '220830', '22', 'GB', "
        "45.5, 'GBP', 1.25, DATE '2019-12-01', DATE '9999-12-31', TRUE, 'catalogues/GB001/2019-12-01.csv')"
    )
    migrate(con, settings.sql_dir)
    at = "catalogue:catalogues/GB001/2019-12-01.csv"
    assert rows(con, "SELECT attribute_source FROM core.dim_product") == [
        (dict.fromkeys(["country_of_origin", "hs_code", "category", "unit_weight_kg", "title"], at),)  # no brand
    ]
    con.close()


def test_an_unquoted_no_is_norway(contracts) -> None:
    """YAML 1.2 booleans only (pipelines.yaml_safe): an unquoted NO is the country code of Norway."""
    contract = load_contract(shop(contracts, PRODUCTS.replace("country_of_origin: GB", "country_of_origin: NO"), MAP))
    assert contract.products is not None and contract.products.defaults["country_of_origin"] == "NO"
