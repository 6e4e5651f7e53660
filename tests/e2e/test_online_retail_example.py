"""The README's worked example: a real channel export onboarded with one contract file, no code.

Runs the README's commands (a copy of the repo's contracts plus ``examples/online_retail``'s
contract, the real ECB history, ``xborder run``) and checks every figure against an independent
computation in plain Python: the csv module, ``Decimal``, zoneinfo and the ECB file, with the
contract's rules written out by hand (which lines are postage or fees, which country name is
which code, a ``C`` invoice is a credit valued at its own date's rate).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.settings import RESOURCES
from tests import REPO_ROOT
from tests.e2e.test_edges import cli

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "online_retail"
LANDED = sorted((EXAMPLE / "landing").rglob("*.csv"))
RULES = {  # the contract's exclude rules, by hand: rule -> (column, test)
    "postage": ("StockCode", lambda v: v in {"POST", "DOT", "C2"}),
    "fees": ("StockCode", lambda v: v in {"BANK CHARGES", "AMAZONFEE", "CRUK"}),
    "manual_and_discounts": ("StockCode", lambda v: v in {"M", "D", "S", "PADS"}),
    "bad_debt_adjustments": ("InvoiceNo", lambda v: v.startswith("A")),
}
COUNTRIES = {  # the names in the files; "Unspecified" and "European Community" are no country
    "United Kingdom": "GB",
    "France": "FR",
    "EIRE": "IE",
    "Australia": "AU",
    "RSA": "ZA",
    "Channel Islands": "JE",
    "USA": "US",
    "Norway": "NO",
    "Hong Kong": "HK",
    "China": "CN",
}
CENT = Decimal("0.01")


def gbp_rates() -> dict[date, Decimal]:
    with (RESOURCES / "reference" / "eurofxref-hist.csv").open(newline="") as f:
        return {
            date.fromisoformat(r["Date"]): Decimal(r["GBP"]) for r in csv.DictReader(f) if r["GBP"] not in ("", "N/A")
        }


def expected() -> dict:
    """Facts, ledger counts and exclusions of the example, computed from the files alone."""
    rates, london = gbp_rates(), ZoneInfo("Europe/London")
    facts, ledger, exclusions = {}, {}, Counter()
    for path in LANDED:
        rel = path.relative_to(EXAMPLE / "landing").as_posix()
        counts = Counter()
        positions: Counter = Counter()
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                counts["read"] += 1
                invoice = row["InvoiceNo"]
                positions[invoice] += 1
                rule = next((name for name, (col, hit) in RULES.items() if hit(row[col])), None)
                if rule:
                    counts["excluded"] += 1
                    exclusions[(rel, rule)] += 1
                    continue
                price, quantity = Decimal(row["UnitPrice"]), abs(int(row["Quantity"]))
                if row["Country"] not in COUNTRIES or price <= 0:
                    counts["quarantined"] += 1
                    continue
                local = datetime.strptime(row["InvoiceDate"], "%m/%d/%Y %H:%M").replace(tzinfo=london)
                day = local.astimezone(ZoneInfo("UTC")).date()
                rate_day = max(d for d in rates if d <= day and day - d <= timedelta(days=7))
                eur = (quantity * price / rates[rate_day]).quantize(CENT, ROUND_HALF_EVEN)
                credit = invoice.startswith("C")
                facts[f"{invoice}-{positions[invoice]}"] = (
                    "credit" if credit else "order",
                    day,
                    COUNTRIES[row["Country"]],
                    -eur if credit else eur,
                )
                counts["loaded"] += 1
        ledger[rel] = (counts["read"], counts["loaded"], counts["quarantined"], 0, counts["excluded"])
    return {"facts": facts, "ledger": ledger, "exclusions": dict(exclusions)}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's commands, in a throwaway home with its own copy of contracts/."""
    root = tmp_path_factory.mktemp("online_retail")
    contracts, home = root / "contracts", root / "data"
    shutil.copytree(RESOURCES / "contracts", contracts)
    shutil.copy(EXAMPLE / "online_retail.yml", contracts / "channels")  # the one file that onboards it
    (home / "landing" / "fx").mkdir(parents=True)
    shutil.copy(RESOURCES / "reference" / "eurofxref-hist.csv", home / "landing" / "fx")
    shutil.copytree(EXAMPLE / "landing" / "sales", home / "landing" / "sales")
    env = {"XBORDER_CONTRACTS_DIR": str(contracts), "XBORDER_TARGETS_FILE": str(EXAMPLE / "targets.yml")}
    result = cli(home, "run", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    again = cli(home, "run", **env)  # idempotent: nothing new, nothing changes
    assert again.returncode == 0, again.stdout + again.stderr
    return home / "warehouse.duckdb"


def query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_fact_equals_the_independent_computation(warehouse: Path) -> None:
    want = expected()["facts"]
    got = query(
        warehouse,
        "SELECT event_id, event_type, event_date, ship_to_country, eur_amount FROM core.fct_sales_event "
        "WHERE channel = 'online_retail'",
    )
    assert {r[0]: r[1:] for r in got} == want
    assert len(want) == 41  # 33 lines of 2010-12-01 (2 credits), 8 of 2011-06-14 (1 credit)


def test_the_ledger_balances_with_the_excluded_lines(warehouse: Path) -> None:
    want = expected()
    got = query(
        warehouse,
        "SELECT path, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_excluded "
        "FROM audit.load_ledger WHERE feed = 'sales'",
    )
    assert {r[0]: r[1:] for r in got} == want["ledger"]
    got_rules = query(warehouse, "SELECT path, rule, rows FROM audit.load_exclusions")
    assert {(p, r): n for p, r, n in got_rules} == want["exclusions"]
    reasons = query(
        warehouse, "SELECT reason, count(*) FROM audit.quarantine WHERE feed = 'sales' GROUP BY ALL ORDER BY 1"
    )
    assert reasons == [("price_not_positive", 1), ("unknown_country", 2)]


def test_target_totals_to_the_cent(warehouse: Path) -> None:
    facts = expected()["facts"]
    net: dict[str, Decimal] = defaultdict(Decimal)
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for kind, _, country, eur in facts.values():  # every product is GB origin (the contract's defaults)
        for target, in_scope in (("uk_goods_abroad", country != "GB"), ("uk_goods_to_cn", country == "CN")):
            if in_scope:
                net[target] += eur
                credits[target] += eur if kind == "credit" else 0
    got = query(
        warehouse,
        "SELECT target_id, sum(net_eur), sum(credited_eur) FROM marts.agg_target_daily GROUP BY ALL",
    )
    assert {t: (n, c) for t, n, c in got} == {t: (net[t], credits[t]) for t in net}
    latest = query(warehouse, "SELECT target_id, cumulative_net_eur FROM marts.export_progress_latest")
    assert dict(latest) == dict(net)
    # spelled out: the China target is 72.00 + 13.20 + 12.75 GBP at 0.881 = 81.73 + 14.98 + 14.47 (2011-06-14; the last line
    # was placed at 00:15 BST on the 15th, 23:15 UTC on the 14th)
    assert net["uk_goods_to_cn"] == Decimal("81.73") + Decimal("14.98") + Decimal("14.47")
