"""JSON lines are read in one pass with the types of their first records only when that gives
exactly what inferring the types from every record gives (pipelines.readers._ndjson_sampled)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.contracts import Contract, channel_contracts, load_contracts
from pipelines.readers import JSON_SAMPLE_RECORDS, read_landed
from pipelines.settings import RESOURCES

AFTER_SAMPLE = JSON_SAMPLE_RECORDS + 5  # the record that differs comes after the sampled ones


@pytest.fixture(scope="module")
def tmall() -> Contract:
    return channel_contracts(load_contracts(RESOURCES / "contracts", "sales"))["tmall_global"]


def record(i: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": f"TMO{i}",
        "type": "PAID",
        "created_at": "2019-12-24T10:00:00+08:00",
        "order_no": f"O{i}",
        "line_no": 1,
        "supplier": "GB001",
        "sku": "GB-01-00001",
        "qty": 2,
        "price": "10.00",
        "currency": "CNY",
        "discount": "0.00",
        "country": "CN",
        "province": "Shanghai",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def land(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_later_float_makes_every_quantity_read_as_full_inference_does(tmp_path, tmall) -> None:
    rows = [record(i) for i in range(AFTER_SAMPLE)] + [record(AFTER_SAMPLE, qty=1.5)]
    frame = read_landed(land(tmp_path, rows), tmall)
    assert frame["quantity"].to_list() == ["2.0"] * AFTER_SAMPLE + ["1.5"]  # Float64 for all, as before
    assert frame["line_number"].to_list()[-1] == AFTER_SAMPLE + 1


def test_a_later_text_makes_the_column_text(tmp_path, tmall) -> None:
    rows = [record(i) for i in range(AFTER_SAMPLE)] + [record(AFTER_SAMPLE, line_no="A")]
    frame = read_landed(land(tmp_path, rows), tmall)
    assert frame["line_id"].to_list() == ["1"] * AFTER_SAMPLE + ["A"]


def test_a_column_first_seen_after_the_sample_is_read(tmp_path, tmall) -> None:
    rows = [record(i, discount=None) for i in range(AFTER_SAMPLE)] + [record(AFTER_SAMPLE, discount="1.00")]
    frame = read_landed(land(tmp_path, rows), tmall)
    assert frame["discount"].to_list() == [None] * AFTER_SAMPLE + ["1.00"]  # not a missing column


def test_a_later_number_in_a_text_column_keeps_its_text(tmp_path, tmall) -> None:
    rows = [record(i) for i in range(AFTER_SAMPLE)] + [record(AFTER_SAMPLE, price=12.5, sku=7)]
    frame = read_landed(land(tmp_path, rows), tmall)
    assert frame["unit_price"].to_list()[-2:] == ["10.00", "12.5"]
    assert frame["supplier_sku"].to_list()[-1] == "7"
