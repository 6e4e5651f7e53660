"""Property: a contract's exclude rules never change the EUR of the rows they keep.

The same file is loaded through two channels whose contracts differ only in their exclude rules;
the facts of the kept lines are identical (ids, EUR), the excluded lines are counted, not loaded.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.contracts.test_contract_language import BODY, FILTERS, HEADER
from tests.ingest.conftest import rows
from tests.ingest.test_fx import HIST
from tests.ingest.test_sales import CATALOGUE

LINE = st.tuples(
    st.sampled_from(["INV1", "INV2", "INV3"]),
    st.sampled_from(["W1", "C1", "POST", "FEE-1"]),
    st.integers(1, 50),
    st.integers(1, 99_999).map(lambda cents: f"{cents // 100}.{cents % 100:02d}"),
    st.sampled_from(["", "test", "gift"]),
)
COUNTER = itertools.count()


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=12))
def test_filters_never_change_the_eur_of_kept_rows(lines, channel, landing, load, wh) -> None:
    n = next(COUNTER)
    if n == 0:
        landing("fx/eurofxref-hist.csv", HIST)
        landing("catalogues/GB001/2019-12-01.csv", CATALOGUE)
        load("fx")
        load("catalogues")
        plain = channel(BODY)
        filtered = plain.with_name("filtered.yml")
        filtered.write_text(plain.read_text().replace("test_channel", "filtered") + FILTERS, encoding="utf-8")
    text = HEADER + "".join(
        f"E{n}{inv},{sku},{qty},2019-12-24 10:00,{price},GB,{note}\n" for inv, sku, qty, price, note in lines
    )
    landing(f"sales/test_channel/2019-12-24/f{n}.csv", text)
    landing(f"sales/filtered/2019-12-24/f{n}.csv", text.replace("\n", "\r\n"))  # other bytes, same rows
    load("sales")

    def facts(channel_name: str) -> dict[str, object]:
        found = rows(
            wh,
            "SELECT event_id, eur_amount FROM core.fct_sales_event WHERE channel = ? AND starts_with(event_id, ?)",
            [channel_name, f"E{n}INV"],
        )
        return dict(found)

    ids, positions = [], dict.fromkeys(["INV1", "INV2", "INV3"], 0)
    for inv, *_ in lines:
        positions[inv] += 1
        ids.append(f"E{n}{inv}-{positions[inv]}")
    kept = {ids[i] for i, (_, sku, _, _, note) in enumerate(lines) if sku not in {"POST", "FEE-1"} and note != "test"}
    plain_facts, filtered_facts = facts("test_channel"), facts("filtered")
    assert filtered_facts == {k: v for k, v in plain_facts.items() if k in kept}
    ((excluded,),) = rows(
        wh, "SELECT rows_excluded FROM audit.load_ledger WHERE path = ?", [f"sales/filtered/2019-12-24/f{n}.csv"]
    )
    assert excluded == len(lines) - len(kept)
