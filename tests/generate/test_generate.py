"""The sample generator: deterministic, readable by the contracts, realistic mixes and defects."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipelines.contracts import channel_contracts, load_contracts, supplier_contracts
from pipelines.generate import generate
from pipelines.generate.mix import load_mix
from pipelines.readers import read_landed
from pipelines.settings import RESOURCES

START, END = date(2019, 10, 1), date(2019, 12, 31)
LINES = 20_000


def digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("gen")
    generate(home / "landing", order_lines=LINES, seed=7, start=START, end=END)
    return home / "landing"


@pytest.fixture(scope="module")
def sales(sample: Path) -> pl.DataFrame:
    frames = []
    for channel, contract in channel_contracts(load_contracts(RESOURCES / "contracts", "sales")).items():
        for path in sorted((sample / "sales" / channel).rglob(contract.file_glob)):
            frames.append(
                read_landed(path, contract)
                .with_columns(channel=pl.lit(channel), file=pl.lit(path.name))
                .drop("raw_row", "event_type", strict=False)
            )
    return pl.concat(frames, how="diagonal")


def test_same_seed_same_bytes_other_seed_differs(sample: Path, tmp_path: Path) -> None:
    generate(tmp_path / "a" / "landing", order_lines=LINES, seed=7, start=START, end=END)
    assert digest(tmp_path / "a" / "landing") == digest(sample)
    assert (tmp_path / "a" / "targets.sample.yml").read_bytes() == (sample.parent / "targets.sample.yml").read_bytes()
    generate(tmp_path / "b" / "landing", order_lines=LINES, seed=8, start=START, end=END)
    other = digest(tmp_path / "b" / "landing")
    assert other["fx/eurofxref-hist.csv"] == digest(sample)["fx/eurofxref-hist.csv"]  # real data
    assert other != digest(sample)


def test_roster_and_layouts(sample: Path) -> None:
    master = pl.read_csv(sample / "suppliers" / "suppliers.csv", infer_schema=False, null_values=[])
    assert master.height >= 40
    assert master["country"].n_unique() >= 7
    assert {"GB", "FR", "DE", "IT", "ES", "NL", "IE"} <= set(master["country"])
    contracts = load_contracts(RESOURCES / "contracts", "catalogues")
    by_supplier = supplier_contracts(contracts)
    assert set(master["supplier_id"]) == set(by_supplier)
    formats = {(c.format, c.delimiter, c.decimal, c.encoding) for c in contracts}
    assert {f[0] for f in formats} >= {"csv", "xlsx", "json", "jsonl", "parquet"}
    assert any(f[1] == ";" and f[2] == "," for f in formats)
    assert {"cp1252", "latin-1"} & {f[3] for f in formats}
    used = {c.name for c in contracts if any((sample / "catalogues" / s).exists() for s in c.suppliers)}
    assert used == {c.name for c in contracts}


def test_every_catalogue_file_reads_through_its_contract(sample: Path) -> None:
    by_supplier = supplier_contracts(load_contracts(RESOURCES / "contracts", "catalogues"))
    accented = 0
    for supplier, contract in by_supplier.items():
        files = sorted((sample / "catalogues" / supplier).glob(contract.file_glob))
        assert files, supplier
        assert files[0].stem <= START.isoformat()  # a snapshot exists before the window starts
        for path in files:
            frame = read_landed(path, contract)
            assert frame.height > 100
            accented += frame["title"].str.contains("[éèêàâçôûüöäßñ]").sum()
    assert accented > 0


def test_gtin_check_digits_and_real_hs_codes(sample: Path) -> None:
    contract = supplier_contracts(load_contracts(RESOURCES / "contracts", "catalogues"))["GB001"]
    frame = pl.concat([read_landed(p, contract) for p in sorted((sample / "catalogues" / "GB001").glob("*.csv"))])
    good = frame.filter(~pl.col("supplier_sku").str.starts_with("XQ-"))
    assert good["gtin"].str.contains(r"^\d{13}$").all()
    digit = [good["gtin"].str.slice(i, 1).cast(pl.Int64) for i in range(13)]
    weighted = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digit[:12]))
    assert ((10 - weighted % 10) % 10 == digit[12]).all()
    hs6 = {c for codes in load_mix(RESOURCES / "reference").hs6.values() for c in codes}
    assert set(good["hs_code"]) <= hs6


def test_chapter_mix_follows_comtrade_shares(sample: Path, sales: pl.DataFrame) -> None:
    mix = load_mix(RESOURCES / "reference")
    expected = dict(zip(mix.chapters, mix.shares, strict=True))
    by_supplier = supplier_contracts(load_contracts(RESOURCES / "contracts", "catalogues"))
    catalogue = (
        pl.concat(
            [
                read_landed(sorted((sample / "catalogues" / s).glob(c.file_glob))[-1], c).select(
                    "supplier_sku", "hs_code"
                )
                for s, c in by_supplier.items()
            ]
        )
        .with_columns(chapter=pl.col("hs_code").str.slice(0, 2))
        .unique("supplier_sku")
    )
    orders = sales.filter(pl.col("file").str.starts_with("events")).join(catalogue, on="supplier_sku")
    observed = orders["chapter"].value_counts(normalize=True)
    shares = dict(zip(observed["chapter"], observed["proportion"], strict=True))
    for chapter, share in expected.items():
        assert abs(shares.get(chapter, 0.0) - share) < 0.03 + 0.15 * share, chapter


def test_fx_files_are_the_real_ecb_data(sample: Path) -> None:
    real = (RESOURCES / "reference" / "eurofxref-hist.csv").read_text().splitlines()
    cut = (sample / "fx" / "eurofxref-hist.csv").read_text().splitlines()
    assert cut[0] == real[0]
    assert set(cut[1:]) <= set(real[1:])
    assert [line[:10] for line in cut[1:]] == sorted((line[:10] for line in cut[1:]), reverse=True)
    assert all(line.endswith(",") for line in cut)
    daily = sorted((sample / "fx" / "daily").rglob("eurofxref.csv"))
    assert len(daily) == 5
    head, values = daily[-1].read_text().splitlines()
    assert head.startswith("Date, USD, JPY") and head.endswith(", ")
    assert values.startswith("31 December 2019, 1.1234, 121.94")  # ECB, 2019-12-31
    assert {line[:10] for line in cut[1:]} & {p.parent.name for p in daily}  # overlap


def test_cancels_and_returns_refer_to_earlier_orders(sales: pl.DataFrame) -> None:
    jd = sales.filter(pl.col("channel") == "jd_worldwide")
    orders = jd.filter(pl.col("event_id").str.starts_with("O-")).select("order_id", "line_id", order_ts="event_ts")
    after = jd.filter(~pl.col("event_id").str.starts_with("O-")).join(orders, on=["order_id", "line_id"], how="left")
    assert after.height > 0
    known = after.filter(pl.col("order_ts").is_not_null())
    assert known.height >= 0.97 * after.height  # the rest: orders delivered late or never
    assert (known["event_ts"] > known["order_ts"]).all()
    webshop = sales.filter(pl.col("channel") == "own_webshop")
    assert (webshop["quantity"].cast(pl.Int64) < 0).sum() > 0  # cancellations as negative quantities


def test_defects_are_present(sample: Path, sales: pl.DataFrame) -> None:
    assert sales.filter(pl.col("file").str.starts_with("redelivery")).height > 0
    assert sales.filter(pl.col("file").str.starts_with("late")).height > 0
    assert sales["supplier_sku"].str.starts_with("UNKNOWN-").sum() > 0
    dupes = sales.group_by("channel", "event_id").len().filter(pl.col("len") > 1)
    assert dupes.height > 0
    assert set(sales["ship_to_country"]) == {"CN", "HK", "MO"}


def test_sample_target_is_scaled_and_documented(sample: Path) -> None:
    doc = yaml.safe_load((sample.parent / "targets.sample.yml").read_text())
    target = doc["targets"][0]
    assert target["id"] == "uk_goods_to_cn" and target["scaled_from"] == 2_200_000_000
    assert 0 < target["amount"] < 2_200_000_000
    assert target["origin_countries"] == ["GB"] and target["destination_countries"] == ["CN"]
    assert "scaled" in target["scale_note"]
