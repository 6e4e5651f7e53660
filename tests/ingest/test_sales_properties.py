"""Property: shuffling rows, splitting files, re-delivering files and their arrival order never change the facts."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.reference import load_reference
from pipelines.ledger import new_batch_id
from pipelines.runner import load_feed
from pipelines.settings import Settings
from pipelines.warehouse import migrate
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE

LINES = [  # (order, day, qty, price, follow-up): each line at most one cancel or one return
    ("O1", "24", 2, "199.00", ("CANCELLED", "24", 2)),
    ("O2", "24", 3, "33.37", ("REFUNDED", "31", 1)),
    ("O3", "27", 1, "59.90", None),
    ("O4", "27", 5, "10.01", ("REFUNDED", "31", 5)),
    ("O5", "28", 1, "1234.56", None),
    ("O6", "30", 4, "0.03", ("REFUNDED", "31", 3)),
]


def events() -> list[str]:
    out = []
    for order, day, qty, price, follow in LINES:
        out.append(
            json.dumps(
                {
                    "event_id": f"E{order}",
                    "type": "PAID",
                    "created_at": f"2019-12-{day}T10:00:00+08:00",
                    "order_no": order,
                    "line_no": 1,
                    "supplier": "GB001",
                    "sku": "W1",
                    "qty": qty,
                    "price": price,
                    "currency": "CNY",
                    "discount": "0",
                    "country": "CN",
                    "province": "X",
                }
            )
        )
        if follow:
            kind, fday, fqty = follow
            out.append(
                json.dumps(
                    {
                        "event_id": f"F{order}",
                        "type": kind,
                        "created_at": f"2019-12-{fday}T11:00:00+08:00",
                        "order_no": order,
                        "line_no": 1,
                        "supplier": "GB001",
                        "sku": "W1",
                        "qty": fqty,
                        "price": price,
                        "currency": "CNY",
                        "discount": "0",
                        "country": "CN",
                        "province": "X",
                    }
                )
            )
    return out


def load_files(home: Path, files: list[list[str]]) -> list[tuple]:
    s = Settings(home=home)
    con = duckdb.connect()
    migrate(con, s.sql_dir)
    load_reference(con, s)
    for rel, text in (("fx/eurofxref-hist.csv", HIST), ("catalogues/GB001/2019-12-01.csv", CATALOGUE)):
        (s.landing_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (s.landing_dir / rel).write_text(text)
    load_feed("fx", con, s, new_batch_id())
    load_feed("catalogues", con, s, new_batch_id())
    for i, lines in enumerate(files):  # each file lands, and is loaded, on its own
        path = s.landing_dir / "sales" / "tmall_global" / "2019-12-31" / f"part-{i:03d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        load_feed("sales", con, s, new_batch_id())
    return con.execute("""SELECT * EXCLUDE (source_file, line_number, batch_id) FROM core.fct_sales_event
                          ORDER BY event_id""").fetchall()


BASELINE: list[tuple] = []


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_shuffle_split_duplicate_do_not_change_facts(tmp_path_factory, data) -> None:
    if not BASELINE:
        BASELINE.extend(load_files(tmp_path_factory.mktemp("base"), [events()]))
        assert len(BASELINE) == 10
    rows = data.draw(st.permutations(events()))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(rows) - 1), max_size=4)))
    files = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    files += [files[i] + ["\n"] for i in data.draw(st.sets(st.integers(0, len(files) - 1), max_size=2))]  # re-delivered
    files = data.draw(st.permutations(files))
    assert load_files(tmp_path_factory.mktemp("case"), files) == BASELINE
