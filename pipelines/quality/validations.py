"""GX validation results of the SQL-evaluated gates: spooled by the gate, stored by GX at the Data Docs build.

Importing GX and loading the project costs seconds, more than a gate's own queries, so a gate
does neither. :func:`spool` writes what GX needs (every outcome with its GX result dict, the
run id and time, the parameters) as JSON under ``$XBORDER_HOME/quality/pending_results/``.
:func:`store_spooled`, called first thing by every Data Docs build (the reports step of
``xborder run``, ``xborder quality``, a failed gate's rebuild), imports GX only when a file is
waiting, builds from each file GX's own objects (``ExpectationConfiguration`` normalised as
GX's expectation model does, ``ExpectationValidationResult``, ``ExpectationSuiteValidationResult``
with GX's statistics), stores them in the project's validations store under the keys a
checkpoint run uses, and removes the file. Data Docs then render them as any checkpoint result.
Their ``meta`` is a checkpoint run's plus ``xborder`` (stage, table, the load batches validated),
which the Data Docs index shows.

The spool keeps Python values exact through JSON: decimals, dates, datetimes and tuples are
tagged (``{"$decimal": "1.50"}``), so GX serialises the same values it would have read itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.quality.suites import (
    DATASOURCE,
    GX_VERSION,
    SUITES,
    Suite,
    asset,
    expectation_json,
    stable_id,
)
from pipelines.settings import Settings

if TYPE_CHECKING:
    from pipelines.quality.evaluate import Validation

log = logging.getLogger(__name__)
SPOOL_DIR = "pending_results"
_SUITES = {s.name: s for s in SUITES}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_TAGS: dict[str, Callable[[Any], Any]] = {
    "$decimal": Decimal,
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$tuple": tuple,
}


def spool_dir(settings: Settings) -> Path:
    return settings.gx_output_dir / SPOOL_DIR


def spool(
    settings: Settings,
    stage: str,
    run_id: str,
    run_time: datetime,
    parameters: dict[str, Any],
    validations: list[Validation],
    batches: list[str] | None = None,
) -> Path:
    """Write a gate's results for GX (atomically); returns the file. ``batches``: the load batches validated."""
    document = {
        "stage": stage,
        "run_name": run_id,
        "run_time": run_time,
        "parameters": parameters,
        "batches": list(batches or []),
        "validations": [
            {
                "suite": v.suite.name,
                "results": [
                    {
                        "rule": o.rule.rule,
                        "kwargs": o.kwargs,
                        "success": o.success and o.error is None,
                        "result": o.result,
                        "exception_info": {
                            "raised_exception": o.error is not None,
                            "exception_message": o.error,
                            "exception_traceback": o.trace,
                        },
                    }
                    for o in v.outcomes
                ],
            }
            for v in validations
        ],
    }
    folder = spool_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_time:%Y%m%dT%H%M%S%fZ}-{_UNSAFE.sub('_', run_id)}-{stage}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(_encode(document)), encoding="utf-8")
    os.replace(temporary, path)
    return path


def store_spooled(settings: Settings) -> int:
    """Store every spooled gate result in GX's validations store; returns the suite results stored."""
    files = sorted(spool_dir(settings).glob("*.json")) if spool_dir(settings).is_dir() else []
    if not files:
        return 0
    from pipelines.quality.context import get_context

    store = get_context(settings).validation_results_store
    stored = 0
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"), object_hook=_decode)
        except FileNotFoundError:  # another process stored it meanwhile
            continue
        for key, result in suite_results(document):
            store.store_validation_results(
                suite_validation_result=result,
                suite_validation_result_identifier=key,
                expectation_suite_identifier=key.expectation_suite_identifier,
            )
            stored += 1
        path.unlink(missing_ok=True)
    return stored


def suite_results(document: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(``ValidationResultIdentifier``, ``ExpectationSuiteValidationResult``) of each suite of a spooled gate."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    run_id = RunIdentifier(run_name=document["run_name"], run_time=document["run_time"])
    for validation in document["validations"]:
        suite = _SUITES[validation["suite"]]
        batch_id = f"{DATASOURCE}-{suite.asset}"
        results = [
            ExpectationValidationResult(
                success=item["success"],
                expectation_config=_configuration(suite, item["rule"], {"batch_id": batch_id, **item["kwargs"]}),
                result=item["result"],
                exception_info=item["exception_info"],
                meta={},
            )
            for item in validation["results"]
        ]
        statistics = calc_validation_statistics(results)
        result = ExpectationSuiteValidationResult(
            success=statistics.success,
            results=results,
            suite_name=suite.name,
            statistics={
                "evaluated_expectations": statistics.evaluated_expectations,
                "successful_expectations": statistics.successful_expectations,
                "unsuccessful_expectations": statistics.unsuccessful_expectations,
                "success_percent": statistics.success_percent,
            },
            suite_parameters=document["parameters"],
            meta=_meta(suite, document, run_id),
            batch_id=batch_id,
        )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=batch_id,
        )
        yield key, result


def _configuration(suite: Suite, rule_name: str, kwargs: dict[str, Any]) -> Any:
    """The rule's ``ExpectationConfiguration`` as GX's expectation model normalises it (e.g. 0 -> 0.0)."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    rule = next(r for r in suite.rules if r.rule == rule_name)
    configuration = ExpectationConfiguration(**(expectation_json(suite, rule) | {"kwargs": kwargs}))
    return configuration.to_domain_obj().configuration


def _meta(suite: Suite, document: dict[str, Any], run_id: Any) -> dict[str, Any]:
    """The meta a checkpoint run of the suite's validation definition records."""
    source = asset(suite.asset)
    spec: dict[str, Any] = {"batch_identifiers": {}, "data_asset_name": suite.asset}
    if source.query:
        spec |= {"query": source.query, "temp_table_schema_name": None}
    else:
        schema, table = source.table.split(".")
        spec |= {"schema_name": schema, "table_name": table, "type": "table"}
    return {
        "active_batch_definition": {
            "batch_identifiers": {},
            "data_asset_name": suite.asset,
            "data_connector_name": "fluent",
            "datasource_name": DATASOURCE,
        },
        "batch_markers": {"ge_load_time": f"{document['run_time']:%Y%m%dT%H%M%S.%fZ}"},
        "batch_parameters": None,
        "batch_spec": spec,
        "checkpoint_id": stable_id("checkpoint", document["stage"]),
        "great_expectations_version": GX_VERSION,
        "run_id": run_id,
        "validation_id": stable_id("validation_definition", suite.name),
        "validation_time": run_id.run_time,
        # the project's own: what the Data Docs index shows (pipelines.quality.docs.summarise)
        "xborder": {"stage": document["stage"], "table": source.table, "batches": document.get("batches") or []},
    }


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # other DuckDB values (time, interval, uuid) are shown as text


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((tag, value),) = obj.items()
        if tag in _TAGS:
            return _TAGS[tag](value)
    return obj
