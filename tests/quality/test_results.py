"""Every gate result lands in audit.dq_results and audit.dq_gate_runs; warnings never stop a build;
feed gates validate only the load batches no passed (or accepted) gate has validated yet."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from pipelines import runner
from pipelines.quality.gates import accept
from pipelines.quality.suites import asset, suites_for
from pipelines.settings import Settings
from tests.quality.conftest import execute, gate_fails, land, one, query, rules
from tests.quality.test_gates import fx_weekend_file


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_every_expectation_result_is_recorded(sample: Settings) -> None:
    before = now()
    detail = runner.quality_gate("core", settings=sample)
    after = now()
    run_id = detail["run_id"]

    recorded = query(
        sample,
        """SELECT stage, suite, rule, expectation, table_name, column_name, severity, success, observed_value,
                  unexpected_count, element_count, validated_at
           FROM audit.dq_results WHERE run_id = ? ORDER BY rowid""",
        [run_id],
    )
    expected = [
        ("core", s.name, r.rule, r.type, asset(s.asset).table, r.kwargs.get("column"), r.severity)
        for s in suites_for("core")
        for r in s.rules
    ]
    assert sorted(row[:7] for row in recorded) == sorted(expected)  # one row per rule
    assert all(row[7] is True for row in recorded)
    validated = {row[11] for row in recorded}
    assert len(validated) == 1 and before <= validated.pop() <= after

    by_rule = {(row[1], row[2]): row for row in recorded}
    facts = one(sample, "SELECT count(*) FROM core.fct_sales_event")
    rates = one(sample, "SELECT count(*) FROM core.fx_rate")
    assert facts > 1_000 and rates > 1_000
    # column rules: the observed value is what GX counted on the real table
    assert by_rule[("fct_sales_event", "eur_amount_present")][8:11] == (f"0 unexpected of {facts} (0%)", 0, facts)
    assert by_rule[("fx_rate", "rate_positive")][8:11] == (f"0 unexpected of {rates} (0%)", 0, rates)
    # SQL rules: the number of offending rows the query returned
    assert by_rule[("dim_product", "versions_do_not_overlap")][8:11] == ("0", 0, None)

    assert query(
        sample,
        """SELECT stage, passed, expectations, failed_critical, failed_warning, batches, message, accepted_at
           FROM audit.dq_gate_runs WHERE run_id = ?""",
        [run_id],
    ) == [("core", True, len(expected), 0, 0, [], None, None)]
    ((command, status),) = query(sample, "SELECT command, status FROM audit.runs WHERE run_id = ?", [run_id])
    assert (command, status) == ("quality:core", "success")
    latest = one(sample, "SELECT count(*) FROM audit.dq_latest WHERE run_id = ? AND success", [run_id])
    assert latest == len(expected)


def test_warning_is_recorded_but_does_not_raise(sample: Settings) -> None:
    """Suppliers without a VAT id break a warning rule (mostly 95%): recorded, reported, not raised."""
    suppliers = one(sample, "SELECT count(*) FROM core.dim_supplier")
    execute(sample, "UPDATE core.dim_supplier SET vat_id = NULL WHERE supplier_id LIKE 'GB%' OR supplier_id LIKE 'FR%'")
    missing = one(sample, "SELECT count(*) FROM core.dim_supplier WHERE vat_id IS NULL")
    assert 0.05 * suppliers < missing < suppliers

    detail = runner.quality_gate("core", settings=sample)  # no QualityGateFailed

    assert detail["passed"] is True
    assert detail["counts"]["failed_critical"] == 0 and detail["counts"]["failed_warning"] == 1
    assert detail["warnings"] == [
        f"expect_column_values_to_not_be_null on core.dim_supplier.vat_id (warning): "
        f"{missing} of {suppliers} rows unexpected [rule dim_supplier.vat_id_present]"
    ]
    row = query(
        sample,
        """SELECT severity, success, observed_value, unexpected_count, element_count FROM audit.dq_results
           WHERE run_id = ? AND suite = 'dim_supplier' AND rule = 'vat_id_present'""",
        [detail["run_id"]],
    )
    share = f"{100 * missing / suppliers:.4g}%"
    assert row == [("warning", False, f"{missing} unexpected of {suppliers} ({share})", missing, suppliers)]
    assert query(
        sample,
        "SELECT passed, failed_critical, failed_warning, message FROM audit.dq_gate_runs WHERE run_id = ?",
        [detail["run_id"]],
    ) == [(True, 0, 1, None)]
    assert one(sample, "SELECT status FROM audit.runs WHERE run_id = ?", [detail["run_id"]]) == "success"


def test_failed_gate_records_every_result_and_the_message(sample: Settings) -> None:
    fx_weekend_file(sample)
    result, message = gate_fails("fx", sample)
    recorded = query(
        sample,
        "SELECT suite || '.' || rule, success, severity FROM audit.dq_results WHERE run_id = ? ORDER BY rowid",
        [result.run_id],
    )
    assert len(recorded) == sum(len(s.rules) for s in suites_for("fx")) == len(result.findings)
    assert [r for r in recorded if not r[1]] == [("fx_rates.target_business_day", False, "critical")]
    assert query(
        sample,
        "SELECT stage, passed, failed_critical, len(batches), message FROM audit.dq_gate_runs WHERE run_id = ?",
        [result.run_id],
    ) == [("fx", False, 1, 2, message)]
    assert message.splitlines()[-1] == (
        "  the batches stay pending (nothing is published) until fixed: `xborder db retract FILE` and land a "
        f'corrected file, or to publish anyway after review: xborder quality --accept {result.run_id} --note "..."'
    )
    summary = result.to_dict()  # what Airflow and audit.runs.detail get
    assert (summary["passed"], summary["counts"]["failed_critical"]) == (False, 1)
    assert summary["failures"] == [f.message() for f in result.failures]
    docs = sample.gx_output_dir / "data_docs" / "index.html"
    assert summary["data_docs"] == str(docs) and docs.is_file()  # rebuilt so the failure can be read there
    assert f"Data Docs: {docs}" in message


def pending(settings: Settings, feed: str) -> list[str]:
    rows = query(settings, "SELECT batch_id FROM audit.dq_pending_batches WHERE feed = ? ORDER BY 1", [feed])
    return [b for (b,) in rows]


def test_sales_gate_validates_only_pending_batches_until_passed_or_accepted(sample: Settings) -> None:
    (first,) = pending(sample, "sales")
    passed = runner.quality_gate("sales", settings=sample)
    assert one(sample, "SELECT batches FROM audit.dq_gate_runs WHERE run_id = ?", [passed["run_id"]]) == [first]
    assert pending(sample, "sales") == []

    # a row of the validated batch goes bad: the sales gate no longer looks at that batch
    execute(sample, "UPDATE raw.sales_events SET event_type = 'refund' WHERE rowid = 0")
    again = runner.quality_gate("sales", settings=sample)
    assert (again["passed"], again["counts"]["batches"]) == (True, 0)
    assert (
        one(
            sample,
            "SELECT element_count FROM audit.dq_results WHERE run_id = ? AND rule = 'event_type_known'",
            [again["run_id"]],
        )
        == 0
    )

    # a new batch with a file whose every row is quarantined: only that batch is validated, and it fails
    land(
        sample,
        "sales/own_webshop/2019-12-31/broken.csv",
        "event_id,placed_at,order_ref,line,supplier_id,sku,quantity,unit_price,currency,discount,ship_country,"
        "ship_region\nWSX1,2019-12-31 01:06:58,WSR1,1,GB004,GB-04-00014,1,10.00,XXX,0.00,CN,Fujian\n",
    )
    runner.ingest_feed("sales", settings=sample)
    (second,) = pending(sample, "sales")
    assert second != first
    result, message = gate_fails("sales", sample)
    assert result.batches == [second]
    # the old 'refund' row is not revalidated; the new batch is one broken file, named in the message
    assert rules(result.failures) == {"sales_files.file_mostly_loaded", "sales_landed.mostly_loaded"}
    assert "sales/own_webshop/2019-12-31/broken.csv" in message
    events = one(sample, "SELECT count(*) FROM raw.sales_events WHERE batch_id = ?", [second])
    assert events == 0  # the batch is the rejected file alone

    # it stays pending and keeps failing until fixed or accepted
    assert pending(sample, "sales") == [second]
    retry, _ = gate_fails("sales", sample)
    assert retry.batches == [second]
    with duckdb.connect(str(sample.warehouse_path)) as con:
        with pytest.raises(Exception, match="no failed quality gate run"):
            accept(con, passed["run_id"], "a passed run cannot be accepted")
        assert accept(con, retry.run_id, "channel re-sends the day tomorrow") == [("sales", 1)]
    assert pending(sample, "sales") == []
    assert query(sample, "SELECT accepted_note FROM audit.dq_gate_runs WHERE run_id = ?", [retry.run_id]) == [
        ("channel re-sends the day tomorrow",)
    ]
    assert runner.quality_gate("sales", settings=sample)["counts"]["batches"] == 0


def test_unknown_stage_is_refused(sample: Settings) -> None:
    with pytest.raises(Exception, match="unknown quality stage 'gold'"):
        runner.quality_gate("gold", settings=sample)
    assert one(sample, "SELECT count(*) FROM audit.dq_gate_runs") == 0
