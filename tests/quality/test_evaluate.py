"""The SQL evaluator gives what GX 1.24 gives: rule type by rule type, on small hand-made tables.

GX is the oracle: the same expectations (built from the same JSON as the committed project)
validated by GX through the project's DuckDB datasource (``datasource.bound``) over the same
rows. Success, the whole SUMMARY result dict (counts, percentages, partial lists) and the
finding each side makes must be equal, including NULLs, ``mostly`` (over non-NULL values; the
reason-rate rules of the landed rows therefore use ``outcome``, never NULL: a share of every row),
strict bounds, row conditions, value sets, compound keys, an empty domain and a broken rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from pipelines import runner
from pipelines.quality.evaluate import Validation, evaluate, gx_order, rule_batch, set_variables, vacuous
from pipelines.quality.gates import QualityGateFailed, expectation_parameters
from pipelines.quality.results import Finding, _error, findings
from pipelines.quality.suites import (
    BETWEEN,
    FEEDS,
    IN_SET,
    IS_NULL,
    NOT_IN_SET,
    NOT_NULL,
    STAGES,
    SUITES,
    Asset,
    Suite,
    asset,
    critical,
    expectation_json,
    sql,
    suites_for,
    warning,
    where,
)
from pipelines.quality.validations import spool_dir, store_spooled
from pipelines.settings import Settings
from tests import REPO_ROOT
from tests.quality.conftest import execute, one
from tests.quality.test_gates import (
    catalogue_bad_gtin,
    catalogue_sku_twice,
    core_event_date_moved,
    core_negative_rate,
    fx_duplicate_rate,
    fx_negative_rate,
    marts_bad_status,
    marts_cumulative_off,
    sales_unknown_event_type,
)

COMPOUND = "expect_compound_columns_to_be_unique"
PARAMETERS = {"from": "2020-01-01 00:00:00", "to": "2020-01-03 00:00:00"}

ROWS = [  # id, qty, price, code, note, a, b, ts
    (1, 5, Decimal("1.50"), "x", None, "k1", 1, datetime(2020, 1, 1, 10)),
    (2, 0, Decimal("-2.00"), "y", "late", "k1", 1, datetime(2020, 1, 2, 10)),
    (3, None, Decimal("0.00"), None, None, "k2", None, datetime(2019, 12, 31, 23)),
    (4, 150, None, "x", None, "k2", None, datetime(2020, 1, 5)),
    (5, 7, Decimal("99.99"), "z", "gone", None, None, None),
    (6, 7, Decimal("10.00"), "x", None, "k3", 2, datetime(2020, 1, 2)),
    (7, 1, Decimal("10.00"), "y", None, "k3", 2, datetime(2020, 1, 3)),
    (8, 2, Decimal("3.25"), "x", None, None, 9, datetime(2020, 1, 1)),
    (9, 2, Decimal("3.25"), "w", None, None, 9, datetime(2020, 1, 1)),
    (10, 3, Decimal("0.01"), "x", None, "k4", 3, datetime(2020, 1, 1)),
]

RULES = (
    critical("between_min", BETWEEN, "", column="qty", min_value=1),
    critical("between_strict_min", BETWEEN, "", column="price", min_value=0, strict_min=True),
    critical("between_max", BETWEEN, "", column="qty", max_value=100),
    critical("between_both_strict_max", BETWEEN, "", column="qty", min_value=0, max_value=7, strict_max=True),
    warning("between_mostly_pass", BETWEEN, "", column="qty", min_value=1, max_value=100, mostly=0.7),
    warning("between_mostly_fail", BETWEEN, "", column="qty", min_value=1, max_value=100, mostly=0.8),
    warning("between_where", BETWEEN, "", column="price", min_value=1, mostly=0.5, **where("code", "x")),
    warning(
        "between_parameters",
        BETWEEN,
        "",
        column="ts",
        min_value={"$PARAMETER": "from"},
        max_value={"$PARAMETER": "to"},
        mostly=0.5,
    ),
    critical("not_null", NOT_NULL, "", column="note"),
    warning("not_null_mostly", NOT_NULL, "", column="qty", mostly=0.9),
    critical("not_null_where", NOT_NULL, "", column="price", **where("code", "x")),
    warning(
        "not_null_nullity",
        NOT_NULL,
        "",
        column="b",
        mostly=0.8,
        row_condition='col("a").notnull()',
        condition_parser="great_expectations",
    ),
    warning("be_null_mostly", IS_NULL, "", column="note", mostly=0.8),
    warning("be_null_fail", IS_NULL, "", column="note", mostly=0.9),
    critical("in_set", IN_SET, "", column="code", value_set=["x", "y"]),
    warning("in_set_with_none", IN_SET, "", column="code", value_set=["x", "y", None], mostly=0.7),
    critical("in_set_empty", IN_SET, "", column="code", value_set=[]),
    # 2 of the 2 non-NULL notes are unexpected although 8 of 10 rows are NULL: mostly is over non-NULL values
    warning("not_in_set_mostly", NOT_IN_SET, "", column="note", value_set=["late", "gone"], mostly=0.5),
    warning("not_in_set_one", NOT_IN_SET, "", column="note", value_set=["late"], mostly=0.5),
    critical("compound", COMPOUND, "", column_list=["a", "b"]),
    warning("compound_mostly", COMPOUND, "", column_list=["a", "b"], mostly=0.5),
    sql("sql_rows", "critical", "negative prices", "SELECT id, price FROM {batch} WHERE price < 0", ""),
    sql("sql_none", "warning", "nothing", "SELECT id FROM {batch} WHERE qty > 1000;", ""),
    sql("sql_join", "warning", "joined", "SELECT b.id FROM {batch} b JOIN t USING (id) WHERE t.qty = 0", ""),
)
SUITE = Suite("handmade", "core", "handmade", RULES)
HANDMADE = Asset("handmade", "t", "test", "SELECT * FROM t")


@pytest.fixture
def table(tmp_path) -> Iterator[duckdb.DuckDBPyConnection]:  # noqa: ANN001
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute(
        "CREATE TABLE t (id INTEGER, qty INTEGER, price DECIMAL(18, 2), code VARCHAR, note VARCHAR, a VARCHAR, "
        "b INTEGER, ts TIMESTAMP)"
    )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    yield con
    con.close()


@pytest.fixture(scope="module")
def gx() -> Iterator[Any]:
    """An ephemeral GX context (GX imported once for the module)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    import pipelines.quality.datasource  # noqa: F401  (registers xborder_duckdb)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    yield context


def gx_validate(context: Any, con: duckdb.DuckDBPyConnection, suite: Suite, query: str) -> list[Any]:
    """GX's own validation of ``suite`` over ``query`` (result format SUMMARY), in GX's order."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from pipelines.quality.datasource import bound

    name = f"t{len(context.data_sources.all())}"
    with bound(con):
        source = context.data_sources.add_xborder_duckdb(name=name)
        batch = source.add_query_asset("rows", query=query).add_batch_definition_whole_table("all").get_batch()
        expectations = [ExpectationConfiguration(**expectation_json(suite, r)) for r in suite.rules]
        outcome = batch.validate(
            gx.ExpectationSuite(name=name, expectations=expectations),
            result_format="SUMMARY",
            expectation_parameters=PARAMETERS,
        )
    return outcome.results


def gx_finding(suite: Suite, result: Any) -> Finding:
    from pipelines.quality.results import _finding

    return _finding(result, "core", suite.name, "t")


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A result dict with the compound rules' partial lists in a fixed order (GX's come from a join)."""
    out = dict(result)
    if out.get("partial_unexpected_list") and isinstance(out["partial_unexpected_list"][0], dict):
        out["partial_unexpected_list"] = sorted(
            out["partial_unexpected_list"], key=lambda d: tuple(map(str, d.values()))
        )
    return out


def assert_same_as_gx(context: Any, con: duckdb.DuckDBPyConnection, suite: Suite, query: str) -> Validation:
    ours = evaluate(con, suite, PARAMETERS, source=Asset(suite.asset, "t", "test", query))
    assert ours.table == "t"
    theirs = gx_validate(context, con, suite, query)
    assert [o.rule.rule for o in ours.outcomes] == [r.expectation_config.meta["rule"] for r in theirs]  # GX's order
    for mine, gx_result in zip(ours.outcomes, theirs, strict=True):
        assert mine.success == gx_result.success, mine.rule.rule
        assert comparable(mine.result) == comparable(gx_result.result), mine.rule.rule
    assert [replace(f, example=None) for f in ours.findings("core")] == [gx_finding(suite, r) for r in theirs]
    return ours


def test_every_rule_type_matches_gx(table: duckdb.DuckDBPyConnection, gx: Any) -> None:
    ours = assert_same_as_gx(gx, table, SUITE, "SELECT * FROM t")
    by_rule = {o.rule.rule: o for o in ours.outcomes}
    # the cases mean what they say: some pass, some fail, on the values expected
    assert {r for r, o in by_rule.items() if not o.success} == {
        "between_min",
        "between_strict_min",
        "between_max",
        "between_both_strict_max",
        "between_mostly_fail",
        "not_null",
        "not_null_where",
        "not_null_nullity",  # 2 of the 7 rows with an a have no b
        "be_null_fail",
        "in_set",
        "in_set_empty",
        "not_in_set_mostly",
        "compound",
        "sql_rows",
        "sql_join",
    }
    assert by_rule["not_in_set_mostly"].result["unexpected_percent"] == 100.0  # 2 of 2 non-NULL notes
    assert by_rule["not_in_set_mostly"].result["unexpected_percent_total"] == 20.0
    assert by_rule["compound"].result["unexpected_count"] == 4  # (k1, 1) and (k3, 2) twice; (NULL, 9) never
    assert by_rule["sql_rows"].example == "id=2, price=-2.00"
    assert by_rule["between_strict_min"].result["partial_unexpected_list"] == [Decimal("-2.00"), Decimal("0.00")]


def test_a_row_condition_that_keeps_no_row_and_an_empty_batch_match_gx(
    table: duckdb.DuckDBPyConnection, gx: Any
) -> None:
    nothing = Suite("nothing", "core", "nothing", tuple(r for r in RULES if "where" in r.rule or r.rule == "not_null"))
    table.execute("UPDATE t SET code = 'v'")  # the row conditions (code = 'x') keep no row
    assert_same_as_gx(gx, table, nothing, "SELECT * FROM t")
    empty = assert_same_as_gx(gx, table, SUITE, "SELECT * FROM t WHERE id < 0")
    assert all(o.success for o in empty.outcomes)
    assert vacuous(SUITE, PARAMETERS, HANDMADE).outcomes == empty.outcomes  # a feed gate with nothing pending


def test_a_broken_rule_fails_alone_as_in_gx(table: duckdb.DuckDBPyConnection, gx: Any) -> None:
    broken = Suite(
        "broken",
        "core",
        "broken",
        (
            critical("missing_column", NOT_NULL, "", column="nope"),
            sql("bad_sql", "critical", "bad", "SELECT * FROM {batch} WHERE no_such_column > 0", ""),
            # GX aliases the batch 'subselect' unless the rule joins: a second alias is a syntax error
            sql("aliased", "critical", "aliased", "SELECT b.id FROM {batch} b WHERE b.qty > 0", ""),
            critical("fine", NOT_NULL, "", column="id"),
        ),
    )
    ours = evaluate(table, broken, source=Asset("broken", "t", "test", "SELECT * FROM t"))
    theirs = gx_validate(gx, table, broken, "SELECT * FROM t")
    assert [(o.rule.rule, o.success, o.error is not None) for o in ours.outcomes] == [
        (r.expectation_config.meta["rule"], r.success, _error(r.exception_info) is not None) for r in theirs
    ]
    assert [o.success for o in ours.outcomes] == [False, False, False, True]
    assert "no_such_column" in next(o.error for o in ours.outcomes if o.rule.rule == "bad_sql")
    assert ours.outcomes[-1].result["element_count"] == len(ROWS)  # the other rules still ran


def test_an_asset_that_cannot_be_read_fails_every_rule(table: duckdb.DuckDBPyConnection) -> None:
    missing = Asset("missing", "t", "test", "SELECT * FROM no_such_table")
    outcomes = evaluate(table, SUITE, PARAMETERS, source=missing).outcomes
    assert len(outcomes) == len(RULES)
    assert all(not o.success and o.error and "no_such_table" in o.error for o in outcomes)


def test_results_are_listed_in_gx_order() -> None:
    outcomes = vacuous(SUITE, PARAMETERS, HANDMADE).outcomes
    columns = [o.kwargs.get("column", "-") for o in outcomes]
    assert columns[:6] == ["qty"] * 6  # grouped by column in order of first appearance
    assert [o.rule.rule for o in outcomes if "column" not in o.kwargs] == [
        "compound",
        "compound_mostly",
        "sql_rows",
        "sql_none",
        "sql_join",
    ]
    assert gx_order(list(outcomes)) == list(outcomes)


def test_values_are_bound_not_interpolated(table: duckdb.DuckDBPyConnection) -> None:
    """A value set member and a row condition value holding SQL are compared as text."""
    hostile = "x' OR TRUE OR code = '"
    suite = Suite(
        "hostile",
        "core",
        "hostile",
        (
            critical("set", IN_SET, "", column="code", value_set=[hostile]),
            critical("cond", NOT_NULL, "", column="price", **where("code", hostile)),
        ),
    )
    table.execute("INSERT INTO t (id, code) VALUES (11, ?)", [hostile])
    found = {
        o.rule.rule: o.result
        for o in evaluate(table, suite, source=Asset("h", "t", "test", "SELECT * FROM t")).outcomes
    }
    assert found["set"]["unexpected_count"] == 9  # every other non-NULL code
    assert (found["cond"]["element_count"], found["cond"]["unexpected_count"]) == (1, 1)


# ---- the project's suites on the generated sample ----------------------------------------


def sales_event_twice(s: Settings) -> None:
    execute(s, "INSERT INTO raw.sales_events (SELECT * FROM raw.sales_events ORDER BY ALL LIMIT 1)")


def catalogue_weights_in_grams(s: Settings) -> None:
    """Every 20th listed weight a thousand times too large (grams as kg): weight_plausible, a between rule, fails."""
    execute(s, "UPDATE raw.catalogue_items SET unit_weight_kg = 5000 WHERE line_number % 20 = 0")


CORRUPT = {  # failing column and SQL rules in each stage (see test_gates)
    "fx": (fx_duplicate_rate, fx_negative_rate),
    "catalogues": (catalogue_bad_gtin, catalogue_sku_twice, catalogue_weights_in_grams),
    "sales": (sales_unknown_event_type, sales_event_twice),
    "core": (core_negative_rate, core_event_date_moved),
    "marts": (marts_bad_status, marts_cumulative_off),
}


def gx_checkpoint(settings: Settings, stage: str) -> list[Finding]:
    """The stage's GX checkpoint, run as the gates ran it before the SQL evaluator (the oracle)."""
    from great_expectations.core.run_identifier import RunIdentifier

    from pipelines.quality.context import get_context
    from pipelines.quality.datasource import bound

    with duckdb.connect(str(settings.warehouse_path)) as con, bound(con, variables(settings)):
        outcome = (
            get_context(settings)
            .checkpoints.get(stage)
            .run(expectation_parameters=expectation_parameters(settings), run_id=RunIdentifier(run_name="gx-oracle"))
        )
    return findings(outcome, stage)


def variables(settings: Settings) -> dict[str, Any]:
    return {"fx_lookback_days": settings.fx_lookback_days}


def sql_checkpoint(settings: Settings, stage: str) -> list[Validation]:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        return [evaluate(con, s, expectation_parameters(settings), variables(settings)) for s in suites_for(stage)]


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_finds_what_its_gx_checkpoint_finds(sample: Settings, stage: str) -> None:
    for corrupt in CORRUPT[stage]:
        corrupt(sample)
    ours = [f for v in sql_checkpoint(sample, stage) for f in v.findings(stage)]
    assert [replace(f, example=None) for f in ours] == gx_checkpoint(sample, stage)
    failing = {f.expectation for f in ours if not f.success}
    assert "unexpected_rows_expectation" in failing and len(failing) > 1, failing  # SQL and column rules


@pytest.mark.parametrize("feed", FEEDS)
def test_a_feed_with_nothing_pending_is_vacuous_without_a_query(sample: Settings, feed: str) -> None:
    """What a no-op feed gate records without querying is what the rules give over no rows."""
    runner.quality_gate(feed, settings=sample)
    assert one(sample, "SELECT count(*) FROM audit.dq_pending_batches WHERE feed = ?", [feed]) == 0
    parameters = expectation_parameters(sample)
    for validation in sql_checkpoint(sample, feed):
        assert validation.outcomes == vacuous(validation.suite, parameters).outcomes, validation.suite.name


def stored(settings: Settings, run_name: str) -> dict[str, dict[str, Any]]:
    """The GX validation results stored for a run, by suite, without run ids and times."""
    out = {}
    for path in (settings.gx_output_dir / "validations").glob(f"*/{run_name}/*/*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        for key in ("run_id", "validation_time", "batch_markers"):
            document["meta"].pop(key)
        document["meta"].pop("xborder", None)  # the project's (stage, table, batches): GX's checkpoint has none
        for result in document["results"]:
            result["result"] = comparable(result["result"])
        out[document["suite_name"]] = document
    return out


@pytest.mark.parametrize("stage", ["fx", "core"])
def test_data_docs_get_the_results_gx_would_have_stored(sample: Settings, stage: str) -> None:
    for corrupt in CORRUPT[stage]:
        corrupt(sample)
    gx_checkpoint(sample, stage)
    with pytest.raises(QualityGateFailed) as failed:  # its Data Docs rebuild stores the spooled results
        runner.quality_gate(stage, settings=sample)
    assert list(spool_dir(sample).glob("*.json")) == []
    theirs, ours = stored(sample, "gx-oracle"), stored(sample, failed.value.result.run_id)
    assert sorted(ours) == sorted(s.name for s in suites_for(stage))
    for suite in ours:
        assert ours[suite].pop("suite_parameters") == expectation_parameters(sample)  # GX's checkpoint stores {}
        theirs[suite].pop("suite_parameters")
        assert ours[suite] == theirs[suite], suite
    assert any(not r["success"] for doc in ours.values() for r in doc["results"])


def test_a_gate_imports_no_gx_and_a_no_op_gate_spools_nothing(sample: Settings) -> None:
    """In a fresh interpreter: a gate runs without importing GX; the spooled results wait for Data Docs."""
    script = (
        "import sys\n"
        "from pipelines import runner\n"
        "from pipelines.settings import Settings\n"
        f"s = Settings(home={str(sample.home)!r})\n"
        "runner.quality_gate('fx', settings=s)\n"
        "runner.quality_gate('fx', settings=s)\n"
        "print(sorted(m for m in sys.modules if m.startswith('great_expectations')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    (spooled,) = spool_dir(sample).glob("*-fx.json")  # the second gate had nothing pending
    assert store_spooled(sample) == len(suites_for("fx")) and not spooled.exists()
    assert store_spooled(sample) == 0


PLAIN = {  # two rules as first written, row by row; the suites look each distinct day or GTIN up once
    "currency_has_rate": "SELECT b.channel, b.event_id, b.currency, b.event_ts FROM {batch} b "
    "ANTI JOIN core.fx_rate r ON r.currency = b.currency "
    "AND r.rate_date BETWEEN b.event_ts::DATE - getvariable('fx_lookback_days') AND b.event_ts::DATE "
    "WHERE b.event_type IN ('order', 'credit') AND b.currency <> 'EUR'",
    "gtin_check_digit": "SELECT supplier_id, supplier_sku, gtin, source_file, line_number FROM {batch} "
    "WHERE gtin IS NOT NULL AND NOT audit.gtin_valid(gtin)",
}


def test_rules_that_look_up_distinct_keys_return_the_rows_of_their_plain_form(sample: Settings) -> None:
    execute(
        sample,
        "DELETE FROM core.fx_rate WHERE currency = 'GBP' AND rate_date BETWEEN DATE '2019-11-01' AND DATE '2019-11-20'",
    )
    catalogue_bad_gtin(sample)
    with duckdb.connect(str(sample.warehouse_path)) as con:
        set_variables(con, variables(sample))
        for suite in (s for s in SUITES if s.name in ("sales_events", "catalogue_items")):
            source = asset(suite.asset)
            for rule in (r for r in suite.rules if r.rule in PLAIN):
                plain, query = PLAIN[rule.rule], rule.kwargs["unexpected_rows_query"]
                expected = con.execute(plain.format(batch=rule_batch(plain, source))).fetchall()
                found = con.execute(query.format(batch=rule_batch(query, source))).fetchall()
                assert sorted(found) == sorted(expected) and expected, rule.rule


def landed(con: duckdb.DuckDBPyConnection, rows: int, unknown: int) -> str:
    """A sales ``_landed`` batch of ``rows`` rows of one file, ``unknown`` of them quarantined as unknown_product."""
    con.execute(
        "CREATE OR REPLACE TABLE t AS SELECT 'sales/shop/2019-12-01/events.csv' AS source_file, i AS line_number, "
        "CASE WHEN i <= $unknown THEN 'sku' END AS column_name, "
        "CASE WHEN i <= $unknown THEN 'unknown_product' END AS reason, "
        "CASE WHEN i <= $unknown THEN 'unknown_product' ELSE 'loaded' END AS outcome, FALSE AS waiting "
        "FROM range(1, $rows + 1) r(i)",
        {"rows": rows, "unknown": unknown},
    )
    return "SELECT * FROM t"


@pytest.mark.parametrize(
    ("unknown", "passes", "percent"),
    [(1, True, 0.05), (10, True, 0.5), (11, False, 0.55), (20, False, 1.0)],
)
def test_a_reason_rate_is_a_share_of_every_landed_row(
    table: duckdb.DuckDBPyConnection, gx: Any, unknown: int, passes: bool, percent: float
) -> None:
    """known_products allows 0.5 % of the landed rows to be unknown products: 1 of 2,000 is 0.05 % (passes),
    10 is 0.5 % (passes, at the limit), 11 is 0.55 % and 20 is 1 % (warn). GX's own validation agrees."""
    (suite,) = [s for s in SUITES if s.name == "sales_landed"]
    ours = assert_same_as_gx(gx, table, suite, landed(table, 2_000, unknown))
    by_rule = {o.rule.rule: o for o in ours.outcomes}
    known = by_rule["known_products"]
    assert known.kwargs["column"] == "outcome" and known.kwargs["mostly"] == 0.995
    assert known.success is passes
    assert (known.result["element_count"], known.result["unexpected_count"]) == (2_000, unknown)
    assert known.result["unexpected_percent"] == pytest.approx(percent)  # what Data Docs print
    assert known.result["missing_count"] == 0
    # the other rules of the suite: 1 % quarantined is under the 2 % warning and the 10 % critical rule
    assert {r for r, o in by_rule.items() if not o.success} == (set() if passes else {"known_products"})


def test_over_the_reason_column_the_share_would_be_of_quarantined_rows_only(
    table: duckdb.DuckDBPyConnection, gx: Any
) -> None:
    """Why the reason-rate rules use ``outcome``: GX skips the NULL reasons of loaded rows, so over ``reason``
    1 unknown product of 2,000 rows is 1 of 1 non-NULL values, 100 %, and "fails" a 0.5 % limit."""
    old = Suite(
        "old",
        "sales",
        "sales_landed",
        (warning("known_products", NOT_IN_SET, "", column="reason", value_set=["unknown_product"], mostly=0.995),),
    )
    (outcome,) = assert_same_as_gx(gx, table, old, landed(table, 2_000, 1)).outcomes
    assert outcome.success is False
    assert outcome.result["unexpected_percent"] == 100.0 and outcome.result["unexpected_percent_total"] == 0.05
