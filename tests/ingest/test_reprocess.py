"""Re-processing a rejected file once its contract exists (``xborder db reprocess``)."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from pipelines.errors import UserFacingError
from pipelines.ledger import forget_rejected
from tests.ingest.conftest import rows

HEADER = "sku,ean,title,brand,category,hs_code,origin_country,unit_price,currency,weight_kg\n"
LINE = "Q1,5012345678900,Tea,B,C,090240,GB,4.50,GBP,0.25\n"


def test_a_rejected_file_loads_after_its_contract_lands_and_only_then(
    load, wh, landing, settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(settings.contracts_dir, contracts)
    monkeypatch.setattr(settings, "contracts_dir", contracts)
    landing("catalogues/QQ999/2020-01-06.csv", HEADER + LINE)
    assert load("catalogues").files_rejected == 1  # no contract names QQ999 yet
    path = "catalogues/QQ999/2020-01-06.csv"
    assert rows(wh, "SELECT status FROM audit.load_ledger WHERE path = ?", [path]) == [("rejected",)]

    uk = contracts / "catalogues" / "uk_csv_comma.yml"
    uk.write_text(uk.read_text().replace("GB016]", "GB016, QQ999]"))  # onboard the supplier
    assert load("catalogues").files == 0  # the rejection is remembered: nothing retries it by itself

    forget_rejected(wh, path)
    summary = load("catalogues")
    assert (summary.files, summary.files_rejected, summary.rows_loaded) == (1, 0, 1)
    assert rows(wh, "SELECT status, rows_loaded FROM audit.load_ledger WHERE path = ?", [path]) == [("loaded", 1)]
    assert rows(wh, "SELECT count(*) FROM audit.quarantine WHERE path = ?", [path]) == [(0,)]
    assert rows(wh, "SELECT supplier_sku, unit_price FROM core.dim_product WHERE supplier_id = 'QQ999'") == [
        ("Q1", Decimal("4.50"))
    ]

    with pytest.raises(UserFacingError, match="was loaded"):
        forget_rejected(wh, path)
    with pytest.raises(UserFacingError, match="not in audit.load_ledger"):
        forget_rejected(wh, "catalogues/QQ999/nope.csv")
