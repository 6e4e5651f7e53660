"""For finance and e-mail: the workbook equals the marts to the cent, formula-like names stay text,
the PNG is drawn; and the top-10 tables read unambiguously (code first, unknowns, weights)."""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from decimal import Decimal
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import fastexcel
import pytest
from PIL import Image

from pipelines.bench.xlsx import NS, sheet_rows
from pipelines.commands.sql import Format, run_and_print
from pipelines.marts import build_marts
from pipelines.report import WORKBOOK, write_report
from pipelines.report.charts import ACTUAL, FINAL, STRETCH
from pipelines.report.workbook import EUR_FORMAT, SHEETS
from pipelines.snapshot import current_snapshot, publish
from tests.marts.conftest import A_TARGETS, FIXTURE_A, D, add_dims, add_facts, write_targets
from tests.report.chromium import CHROMIUM, Browser

CHANNEL = '=HYPERLINK("http://example.invalid/x","click me")'
SUPPLIER = "@SUM(1)"
KNITTED = "Articles of apparel and clothing accessories, knitted or crocheted, of wool or fine animal hair"
NOT_KNITTED = "Articles of apparel and clothing accessories, not knitted or crocheted, of wool or fine animal hair"
READABLE = [
    ("r1", "order", D(2020, 1, 2), "100.01", 2, "GB", "CN", {"hs_code": "610110", "hs_chapter": "61"}),
    ("r2", "order", D(2020, 1, 3), "80.02", 1, "GB", "CN", {"hs_code": "620110", "hs_chapter": "62"}),
    ("r3", "order", D(2020, 1, 3), "0.03", 1, "GB", "CN", {"channel": CHANNEL, "ship_to_region": None}),
    ("r4", "order", D(2020, 1, 5), "12.34", 1, "GB", "CN", {"supplier_id": "GB002", "weight_kg": None}),
    ("r5", "cancel", D(2020, 1, 6), "-0.01", -1, "GB", "CN", {"supplier_id": "GB002", "line_id": "9"}),
]


@pytest.fixture
def readable(con, settings) -> Path:
    """tests/marts' ten days plus two chapters whose names start alike, a formula-like channel and
    supplier name, a line with no region and one with no weight; built, published, reported."""
    add_dims(con)
    con.execute(
        "INSERT INTO core.dim_hs_code VALUES ('61', 2, ?, NULL, '61', 'XI'), ('62', 2, ?, NULL, '62', 'XI')",
        [KNITTED, NOT_KNITTED],
    )
    con.execute(
        "INSERT INTO core.dim_supplier VALUES ('GB002', ?, 'GB', NULL, 'GBP', 'suppliers.csv', TIMESTAMP '2020-01-01')",
        [SUPPLIER],
    )
    add_facts(con, FIXTURE_A)
    add_facts(con, READABLE, batch_id="b2")
    write_targets(settings, A_TARGETS)
    build_marts(con, settings)
    publish(con, settings)
    return write_report(settings)


def _styles(book: zipfile.ZipFile) -> list[str]:
    """The number format code of each cell style (index = the cell's ``s``)."""
    styles = ElementTree.fromstring(book.read("xl/styles.xml"))
    codes = {int(f.get("numFmtId", 0)): f.get("formatCode", "") for f in styles.iterfind("m:numFmts/m:numFmt", NS)}
    codes.update({0: "General", 14: "m/d/yyyy"})
    return [codes.get(int(xf.get("numFmtId", 0)), "") for xf in styles.iterfind("m:cellXfs/m:xf", NS)]


def test_the_workbook_equals_the_marts_to_the_cent(readable, con) -> None:
    path = readable.parent / WORKBOOK
    reader = fastexcel.read_excel(path)
    assert reader.sheet_names == [s.name for s in SHEETS] + ["About"]
    # the daily sheet, read as numbers and dates, has every row and total of the mart
    daily = reader.load_sheet("Progress by day").to_polars()
    mart = con.execute("SELECT target_id, date, net_eur, cumulative_net_eur FROM marts.export_progress_daily "
                       "ORDER BY target_id, date").fetchall()  # fmt: skip
    assert daily.height == len(mart)
    assert str(daily.schema["date"]).startswith("Datetime") and str(daily.schema["net_eur"]) == "Float64"
    assert [(r["target_id"], r["date"].date()) for r in daily.iter_rows(named=True)] == [(t, d) for t, d, *_ in mart]
    sheet_total = Decimal(str(round(daily["net_eur"].sum(), 2)))
    assert (
        sheet_total == sum(n for *_, n, _ in mart) == Decimal("484.78")
    )  # 217.39 (GB to CN) + 267.39 (all origins to CN)
    # every money cell is the mart's DECIMAL digit for digit (no float on the way)
    cells = sheet_rows(path, "Progress by day")
    header = cells[0]
    exact = [(r[header.index("target_id")], Decimal(r[header.index("cumulative_net_eur")])) for r in cells[1:]]
    assert exact == [(t, c) for t, _, _, c in mart]
    # each breakdown adds up to the target's net, per target, to the cent
    totals = dict(con.execute("SELECT target_id, sum(net_eur) FROM marts.export_progress_daily GROUP BY 1").fetchall())
    for name in ("By month", "By HS chapter", "By supplier", "By channel", "By ship-to region", "By ship-to country"):
        rows = sheet_rows(path, name)
        col, tcol = rows[0].index("net_eur"), rows[0].index("target_id")
        by_target: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows[1:]:
            by_target[r[tcol]] += Decimal(r[col])
        assert {t: v for t, v in by_target.items() if v} == {t: v for t, v in totals.items() if v}, name
    goods = sheet_rows(path, "All goods by origin")
    col = goods[0].index("net_eur")
    (all_goods,) = con.execute("SELECT sum(net_eur) FROM marts.export_all_goods_monthly").fetchone()
    assert sum(Decimal(r[col]) for r in goods[1:]) == all_goods
    with zipfile.ZipFile(path) as book:
        formats = _styles(book)
        xml = book.read("xl/worksheets/sheet1.xml").decode()
        first = ElementTree.fromstring(xml).find("m:sheetData/m:row[2]", NS)
        assert first is not None
        styled = {re.sub(r"\d", "", c.get("r", "")): formats[int(c.get("s", 0))] for c in first}
    letter = {name: chr(65 + i) for i, name in enumerate(header)}
    assert styled[letter["net_eur"]] == styled[letter["run_rate_30d"]] == EUR_FORMAT
    assert styled[letter["date"]] == "yyyy-mm-dd"
    assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in xml
    assert f'<autoFilter ref="A1:{chr(64 + len(header))}{len(cells)}"/>' in xml
    assert re.search(r'<col min="1" max="1" width="[\d.]+" customWidth="1"/>', xml)


def test_formula_like_names_reach_the_workbook_and_the_csv_as_text(readable, settings) -> None:
    path = readable.parent / WORKBOOK
    channel = sheet_rows(path, "By channel")
    assert ["uk_goods_to_cn", "'" + CHANNEL] in [r[:1] + r[2:3] for r in channel]
    supplier = sheet_rows(path, "By supplier")
    assert ["GB002", "'" + SUPPLIER] in [r[2:4] for r in supplier]
    region = sheet_rows(path, "By ship-to region")
    assert ["?", "unknown"] in [r[2:4] for r in region]
    with zipfile.ZipFile(path) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert not any("<f>" in book.read(n).decode() for n in sheets)  # no formula anywhere
        assert not any(n.startswith("xl/worksheets/_rels") for n in sheets)  # and no hyperlink
    with duckdb.connect(str(current_snapshot(settings)), read_only=True) as snap:
        out = io.StringIO()
        sql = """SELECT member, label, net_eur FROM marts.export_breakdown_monthly
                 WHERE target_id = 'uk_goods_to_cn' AND dimension IN ('channel', 'supplier') AND net_eur < 20
                 ORDER BY member"""
        assert run_and_print(snap, sql, format=Format.csv, limit=1, source="s", out=out)
    quoted = "\"'" + CHANNEL.replace('"', '""') + '"'
    assert out.getvalue().splitlines() == [
        "member,label,net_eur",
        f"{quoted},{quoted},0.03",
        f"GB002,'{SUPPLIER},12.33",
    ]
    html = readable.read_text(encoding="utf-8")
    assert "@SUM(1)" in html and "=HYPERLINK(&#34;http" not in html  # HTML escapes; it never neutralises


def test_the_headline_png_is_drawn(readable, settings) -> None:
    png = readable.parent / "uk_goods_to_cn_progress.png"
    image = Image.open(png)
    assert image.format == "PNG" and image.size == (1200, 600)
    assert "uk goods to cn" in image.info["Title"] and "Software" not in image.info
    pixels = list(image.convert("RGB").getdata())
    non_white = sum(1 for p in pixels if p != (255, 255, 255))
    assert 0.03 < non_white / len(pixels) < 0.6
    assert len(set(pixels)) > 50  # text, lines and the shaded area, anti-aliased

    def share(hex_colour: str) -> int:
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(1 for p in pixels if p == rgb)

    assert share(ACTUAL) > 500 and share(STRETCH) > 50 and share(FINAL) > 50  # the actual and both paths
    first = png.read_bytes()
    write_report(settings)
    assert png.read_bytes() == first  # the same data gives the same bytes


def _top(html: str, dimension: str) -> str:
    return html.split(f'data-top="{dimension}"')[1].split("</table>")[0]


def test_top_tables_show_codes_first_unknowns_and_countries(readable) -> None:
    html = readable.read_text(encoding="utf-8")
    section = html.split('id="target-uk_goods_to_cn"')[1].split("</section>")[0]
    chapters = _top(section, "hs_chapter")
    assert f'data-code="61" title="61 · {KNITTED}"><div><span class="code">61</span> <span class="name">' in chapters
    assert f'data-code="62" title="62 · {NOT_KNITTED}">' in chapters
    countries = _top(section, "ship_to_country")
    assert '<span class="code">CN</span> <span class="name">China</span>' in countries
    regions = _top(section, "ship_to_region")
    assert '<span class="name unknown">unknown</span>' in regions and ">?<" not in regions
    suppliers = [
        unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<div>(.*?)</div>", _top(section, "supplier"))
    ]
    assert suppliers == ["GB001 Highland Spirits Ltd", "GB002 @SUM(1)"]
    weight = re.search(r'data-field="weight">([^<]*)<', section)
    assert weight is not None  # 7 of the target's 8 lines have a weight: 2.5 kg, shown whole (half to even)
    assert weight.group(1) == "2 kg for the 87.5 % of lines with a known weight"


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser installs it)")
def test_top_tables_read_unambiguously_in_chromium(readable, tmp_path) -> None:
    with Browser(tmp_path / "profile") as browser:
        page = browser.open(readable.as_uri())
        shot = page.screenshot(tmp_path / "tops.png")
        found = page.evaluate(
            """(() => {
              const s = document.querySelector('[data-target="uk_goods_to_cn"]');
              const tables = Object.fromEntries([...s.querySelectorAll('table[data-top]')].map(t => [t.dataset.top, {
                top: Math.round(t.getBoundingClientRect().top), left: Math.round(t.getBoundingClientRect().left),
                cells: [...t.querySelectorAll('td.label')].map(td => {
                  const div = td.querySelector('div').getBoundingClientRect();
                  const code = td.querySelector('.code');
                  const c = code ? code.getBoundingClientRect() : null;
                  return {text: td.innerText.trim(), code: td.dataset.code, title: td.title,
                          codeShown: c ? c.width > 0 && c.top >= div.top && c.bottom <= div.bottom + 1 : null};
                })}]));
              return tables;
            })()"""
        )
    print(f"screenshot: {shot}")
    assert page.errors == [] and page.remote_requests == []
    chapters = found["hs_chapter"]["cells"]
    assert [c["code"] for c in chapters][:3] == ["61", "62", "22"]
    for c in chapters:
        assert c["text"].startswith(c["code"] + " ") and c["codeShown"] is True
    assert len({c["text"] for c in chapters}) == len(chapters)  # however clamped, no two rows read the same
    assert {c["title"] for c in chapters} >= {f"61 · {KNITTED}", f"62 · {NOT_KNITTED}"}
    regions = found["ship_to_region"]["cells"]
    assert "unknown" in [c["text"] for c in regions] and "?" not in [c["text"] for c in regions]
    countries, region_table = found["ship_to_country"], found["ship_to_region"]
    assert countries["top"] == region_table["top"] and countries["left"] < region_table["left"]  # side by side
    assert [c["text"] for c in countries["cells"]] == ["CN China"]
