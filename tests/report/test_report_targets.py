"""The report speaks of the targets in force (targets.yml), not of a fixed headline."""

from __future__ import annotations

import re
from html import unescape

from pipelines.marts import build_marts
from pipelines.report import write_report
from pipelines.snapshot import publish
from tests.marts.conftest import add_dims, add_facts, target, write_targets
from tests.marts.test_targets_scope import END, FACTS, START, STRETCH, scoped

FIXED = ("UK and EU goods to consumers in China", "of which to China")


def field(html: str, name: str) -> list[str]:
    """Text of every element with data-field="name" (tags stripped)."""
    found = re.findall(rf'data-field="{name}"[^>]*>(.*?)</', html, flags=re.S)
    return [unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in found]


def report_html(con, settings) -> str:
    build_marts(con, settings)
    publish(con, settings)
    return write_report(settings).read_text(encoding="utf-8")


def test_headline_follows_the_first_target(fixture_warehouse, settings) -> None:
    html = report_html(fixture_warehouse, settings)
    assert not any(phrase in html for phrase in FIXED)
    assert field(html, "headline_name") == ["uk goods to cn"]
    assert field(html, "headline") == [
        "EUR 100 of goods of origin GB shipped to CN, 01 Jan 2020 – 10 Jan 2020 · and 3 more targets below"
    ]
    assert field(html, "scope")[:2] == ["GB → CN", "all origins → CN"]
    assert field(html, "target_headline")[1] == (
        "Tracking goods of all origins shipped to CN, 01 Jan 2020 – 10 Jan 2020"
    )
    assert '<th scope="col" class="n">of which to CN</th>' in html


def test_an_all_but_gb_headline_target(con, settings) -> None:
    add_dims(con)
    con.execute("INSERT INTO core.dim_country (country_code, name, region) VALUES ('NO', 'Norway', 'Europe')")
    add_facts(con, FACTS)
    write_targets(
        settings,
        [
            {
                **scoped("anything_but_to_gb", origin_countries="all", destination_countries="all"),
                "name": "Everything we sell abroad",
                "destination_exclude": ["GB"],
            },
            target("uk_goods_to_cn", START, END, STRETCH, amount="50"),
        ],
    )
    html = report_html(con, settings)
    assert not any(phrase in html for phrase in FIXED)
    assert field(html, "headline_name") == ["Everything we sell abroad"]
    assert field(html, "headline") == [
        "EUR 1,000 of goods of all origins shipped to all destinations but GB, 01 Jan 2020 – 10 Jan 2020"
        " · and 1 more target below"
    ]
    assert field(html, "scope") == ["all origins → all destinations but GB", "GB → CN"]
    section = html.split('id="target-anything_but_to_gb"')[1].split("</section>")[0]
    assert 'data-field="cumulative_net_eur" data-value="562.00">EUR 562.00<' in section  # tests/marts golden
    # the all-goods view: how much of each origin went to the headline's destinations (any date)
    assert '<th scope="col" class="n">of which to all destinations but GB</th>' in html
    rows = re.findall(
        r'<span class="code">(\w\w)</span></td><td class="n">([\d,]+)</td><td class="n">([\d,]*)</td>', html
    )
    # GB: 2000 (DE, before the window) + 10 + 20 (GB) - 10 + 7; FR: 40 (GB) + 80 - 5 + 1000 (DE, after)
    assert sorted(rows) == [
        ("DE", "160", "160"),
        ("FR", "1,115", "1,075"),
        ("GB", "2,027", "2,007"),
        ("NO", "320", "320"),
    ]
