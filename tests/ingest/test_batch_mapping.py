"""A batch's files of one contract are made canonical together (pipelines.readers.map_files): the
rows are exactly those each file gives alone (read_landed), in the files' order, with positions
counted per file; a file whose rows cannot be made canonical is rejected and the others still load."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.contracts import Contract, load_contract
from pipelines.ingest import batch as batch_module
from pipelines.ingest.batch import read_batch
from pipelines.readers import read_landed
from tests.contracts.test_contract_language import BODY  # the positional contract body

HEAD = """\
name: positional
feed: sales
channel: positional
format: {format}
file_glob: "*.{format}"
csv: {{delimiter: ",", decimal: ".", encoding: utf-8}}
timestamp: {{format: "%Y-%m-%d %H:%M", timezone: UTC}}
"""
EXCLUDE = "exclude:\n  - {rule: postage, column: sku, values: [POST]}\n"


def contract(tmp_path: Path, fmt: str) -> Contract:
    path = tmp_path / f"positional_{fmt}.yml"
    path.write_text(HEAD.format(format=fmt) + BODY + EXCLUDE, encoding="utf-8")
    return load_contract(path)


def land(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "landing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def alone(paths: list[Path], c: Contract, root: Path) -> pl.DataFrame:
    """What each file gives on its own, with the lineage read_batch adds, one after the other."""
    frames = []
    for path in paths:
        rel = path.relative_to(root).as_posix()
        frame = read_landed(path, c, rel, raw_json=False)
        frames.append(
            frame.with_columns(sha256=pl.lit(path.name), source_file=pl.lit(rel), source=pl.lit("positional"))
        )
    out = pl.concat(frames, how="diagonal")
    return out.filter(pl.col("excluded_by").is_null()).drop("excluded_by")


def test_positions_count_within_each_file_and_rows_keep_the_files_order(tmp_path) -> None:
    c = contract(tmp_path, "csv")
    header = "invoice,sku,qty,at,price,country\n"
    a = land(tmp_path, "a.csv", header + "I1,W1,2,2019-12-24 10:00,1.50,GB\nI1,POST,1,2019-12-24 10:00,3.00,GB\n")
    b = land(tmp_path, "b.csv", header + "I1,W2,1,2019-12-25 10:00,2.00,FR\nI2,W1,1,2019-12-25 11:00,  ,FR\n")
    root = tmp_path / "landing"
    got = read_batch([(p, p.name, "positional", c) for p in (a, b)], root, "sales", raw_json=False)
    assert got.frame.select("source_file", "event_id", "line_id", "unit_price").rows() == [
        ("a.csv", "I1-1", "1", "1.50"),
        ("b.csv", "I1-1", "1", "2.00"),  # a position counts within its file: I1 starts again at 1
        ("b.csv", "I2-1", "1", None),  # a blank cell is missing, in b only
    ]
    assert got.excluded.select("source_file", "line_number", "excluded_by").rows() == [("a.csv", 3, "postage")]
    assert_frame_equal(got.frame, alone([a, b], c, root))
    assert [(o.path, o.rows_read) for o in got.files.values()] == [("a.csv", 2), ("b.csv", 2)]


def test_json_files_of_other_value_types_read_as_each_does_alone(tmp_path) -> None:
    c = contract(tmp_path, "jsonl")
    ints = '{"invoice": "I1", "sku": "W1", "qty": 2, "at": "2019-12-24 10:00", "price": "1.50", "country": "GB"}\n'
    floats = '{"invoice": "I2", "sku": "W1", "qty": 2.5, "at": "2019-12-24 10:00", "price": 3, "country": "GB"}\n'
    empty = land(tmp_path, "c.jsonl", "\n")
    paths = [land(tmp_path, "a.jsonl", ints), land(tmp_path, "b.jsonl", floats + ints)]
    root = tmp_path / "landing"
    got = read_batch([(p, p.name, "positional", c) for p in [*paths, empty]], root, "sales", raw_json=False)
    assert got.frame["quantity"].to_list() == ["2", "2.5", "2.0"]  # b's quantities are floats, a's are not
    assert_frame_equal(got.frame, alone(paths, c, root))
    assert [r.path for r in got.rejected] == ["c.jsonl"]


def test_a_file_whose_rows_fail_is_rejected_and_the_others_load(tmp_path, monkeypatch) -> None:
    c = contract(tmp_path, "csv")
    header = "invoice,sku,qty,at,price,country\n"
    good = land(tmp_path, "a.csv", header + "I1,W1,2,2019-12-24 10:00,1.50,GB\n")
    bad = land(tmp_path, "b.csv", header + "I9,BOOM,1,2019-12-25 10:00,2.00,FR\n")
    mapping = batch_module.map_files

    def fragile(frames, *args, **kwargs):  # stands for values some rule cannot take
        if any("BOOM" in frame["sku"].to_list() for frame in frames):
            raise pl.exceptions.ComputeError("cannot take BOOM")
        return mapping(frames, *args, **kwargs)

    monkeypatch.setattr(batch_module, "map_files", fragile)
    root = tmp_path / "landing"
    got = read_batch([(p, p.name, "positional", c) for p in (good, bad)], root, "sales")
    assert got.frame["event_id"].to_list() == ["I1-1"]
    assert list(got.files) == ["a.csv"]
    (rejected,) = got.rejected
    assert (rejected.path, rejected.rows_read, rejected.rows_quarantined) == ("b.csv", 1, 1)
    (why,) = got.rejections
    assert why["reason"] == "unreadable_file"
    assert "ComputeError: cannot take BOOM" in str(why["detail"])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_single_empty_file_gives_the_contracts_columns(tmp_path, fmt) -> None:
    c = contract(tmp_path, fmt)
    text = "invoice,sku,qty,at,price,country\n" if fmt == "csv" else ""
    path = land(tmp_path, f"a.{fmt}", text)
    if fmt == "jsonl":
        assert read_batch([(path, "a", "positional", c)], tmp_path / "landing", "sales").rejected
        return
    frame = read_landed(path, c)
    assert frame.height == 0
    assert {"event_id", "line_id", "supplier_sku", "raw_row", "line_number"} <= set(frame.columns)
