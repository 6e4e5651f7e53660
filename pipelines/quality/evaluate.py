"""The gates' SQL evaluator: a suite's rules as DuckDB aggregates, with the results GX 1.24 gives.

A suite validates one asset. :func:`evaluate` runs **one statement per suite**: the column rules
become aggregates over a single scan of the asset's rows, each compound-uniqueness rule a
``GROUP BY`` and each SQL rule (``unexpected_rows_expectation``) a ``count(*)`` of the rows its
query returns, cross-joined into one result row. Values are bound parameters; column names are
quoted identifiers from ``suites.py``; the asset queries and SQL rules are the committed ones.
Follow-up queries run only for what failed: up to 20 unexpected values of a column rule (GX's
``partial_unexpected_list``) and the first row of a SQL rule (the message's example). If the
statement fails, each rule runs alone, so an error is that rule's finding, as with GX's
``catch_exceptions``, and the other rules still count.

The results are GX's, result format SUMMARY (``tests/quality/test_evaluate.py`` checks them
against GX's own validation, rule type by rule type):

* The domain is the asset's rows where ``row_condition`` holds; ``element_count`` counts it.
* between, in set, not in set: a NULL is neither expected nor unexpected, and ``mostly`` is the
  share of the **non-NULL** values that pass (``unexpected_percent`` too is over non-NULL
  values; ``unexpected_percent_total`` is over all rows). So a column that is mostly NULL fails
  ``mostly`` on its few non-NULL values: 5 bad reasons out of 14 quarantined rows of 7,925 is
  35.7 %, not 0.06 %.
* not null, null: the share is over every row of the domain.
* compound uniqueness: a row is unexpected when none of its columns is NULL and another row has
  the same values; ``mostly`` is over the rows not ignored (``ignore_row_if``, by default rows
  whose columns are all NULL).
* An empty domain passes. Its ``unexpected_count`` is None for column rules (GX sums over no
  rows) and 0 for compound rules; a SQL rule over an empty batch returns no rows.
* ``min_value``/``max_value`` are GX ``Comparable`` values: numbers become floats, a parameter
  string a date or a datetime; ``$PARAMETER`` values come from the gate's expectation parameters.
* Results are listed in GX's order: grouped by column in order of first appearance, the rules
  without a column (compound, SQL) forming one group.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import duckdb

from pipelines.quality.results import Finding, make_finding, row_text
from pipelines.quality.suites import (
    BETWEEN,
    IN_SET,
    IS_NULL,
    NOT_IN_SET,
    NOT_NULL,
    Asset,
    Rule,
    Suite,
    asset,
    gx_kwargs,
)

COMPOUND = "expect_compound_columns_to_be_unique"
SQL_RULE = "unexpected_rows_expectation"
PARTIAL = 20  # GX's SUMMARY partial_unexpected_count
VARIABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# GX refuses between on these column types (column_values_between.INVALID_COLUMN_TYPES).
INCOMPARABLE = ("VARCHAR", "CHAR", "NVARCHAR", "NCHAR", "TEXT", "STRING", "BOOLEAN", "BOOL", "BIT")
_OPERATORS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_IGNORE = {"all_values_are_missing", "any_value_is_missing", "never"}
# GX's test for a JOIN in a SQL rule (query_metric_provider): under both readings of backslashes.
_QUOTED = r'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/'
_QUOTED_OR_COMMENT = (
    re.compile(r"'(?:[^']|'')*'" + _QUOTED, re.DOTALL),
    re.compile(r"'(?:[^'\\]|\\.|'')*'" + _QUOTED, re.DOTALL),
)
_JOIN = re.compile(r"\bJOIN\b", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """One expectation's result, as GX reports it (``result`` is GX's SUMMARY result dict)."""

    rule: Rule
    kwargs: dict[str, Any]  # $PARAMETERs substituted
    success: bool
    result: dict[str, Any]
    error: str | None = None
    trace: str | None = None
    example: str | None = None  # the first offending row of a failed SQL rule


@dataclass(frozen=True)
class Validation:
    """A suite's outcomes, in GX's order."""

    suite: Suite
    outcomes: tuple[Outcome, ...]
    table: str  # the table the asset describes (audit.dq_results.table_name)

    def findings(self, stage: str) -> list[Finding]:
        return [
            make_finding(
                stage,
                self.suite.name,
                self.table,
                expectation=o.rule.type,
                rule=o.rule.rule,
                severity=o.rule.severity,
                description=o.rule.description,
                kwargs=o.kwargs,
                success=o.success,
                detail=o.result,
                error=o.error,
                example=o.example,
            )
            for o in self.outcomes
        ]


@dataclass
class _Measure:
    """A rule compiled to SQL: aggregates over the batch rows and one-row tables, with its parameters."""

    index: int
    rule: Rule
    kwargs: dict[str, Any]
    aggregates: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    values_sql: str | None = None  # the unexpected values (partial_unexpected_list)
    rows_sql: str | None = None  # a SQL rule's offending rows
    error: Exception | None = None

    def bind(self, value: Any) -> str:
        name = f"r{self.index}_{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def name(self, what: str) -> str:
        return f"{what}_{self.index}"


def set_variables(cursor: duckdb.DuckDBPyConnection, variables: Mapping[str, Any]) -> None:
    """DuckDB session variables for rules written as SQL (``getvariable('fx_lookback_days')``)."""
    for name, value in variables.items():
        if not VARIABLE_NAME.match(name):
            raise ValueError(f"not a variable name: {name!r}")
        cursor.execute(f"SET VARIABLE {name} = ?", [value])  # name checked above


def batch_sql(source: Asset) -> str:
    """The asset's rows: its query in parentheses, or its table."""
    return f"({source.query})" if source.query else source.table


def rule_batch(query: str, source: Asset) -> str:
    """What ``{batch}`` stands for in a SQL rule, as GX substitutes it.

    A table asset is its table; a query asset is its query in parentheses, aliased ``subselect``
    unless the rule has a JOIN (outside quotes and comments), where the rule aliases it itself.
    """
    if not source.query:
        return source.table
    joins = all(_JOIN.search(masking.sub(" ", query)) for masking in _QUOTED_OR_COMMENT)
    return f"({source.query})" if joins else f"({source.query}) AS subselect"


def evaluate(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    parameters: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    source: Asset | None = None,
) -> Validation:
    """Every rule of ``suite`` over its asset's rows (``source`` overrides the asset), in one statement."""
    source = source or asset(suite.asset)
    batch = batch_sql(source)
    cursor = con.cursor()  # sees what the pipeline committed, as GX's cursor did
    try:
        set_variables(cursor, variables or {})
        types = _column_types(cursor, batch) if any(r.type == BETWEEN for r in suite.rules) else {}
        measures = [_measure(i, rule, parameters or {}, source, types) for i, rule in enumerate(suite.rules)]
        row, errors = _fetch(cursor, batch, [m for m in measures if m.error is None])
        outcomes = [_outcome(cursor, m, row, errors.get(m.index) or m.error) for m in measures]
    finally:
        cursor.close()
    return Validation(suite, tuple(gx_order(outcomes)), source.table)


def vacuous(suite: Suite, parameters: Mapping[str, Any] | None = None, source: Asset | None = None) -> Validation:
    """The outcomes over an empty batch, without a query (a feed gate with nothing pending)."""
    source = source or asset(suite.asset)
    zero: defaultdict[str, int] = defaultdict(int)
    measures = [_measure(i, rule, parameters or {}, source, {}) for i, rule in enumerate(suite.rules)]
    return Validation(suite, tuple(gx_order([_outcome(None, m, zero, m.error) for m in measures])), source.table)


def gx_order(outcomes: list[Outcome]) -> list[Outcome]:
    """GX's validation order: grouped by column (first appearance); rules without one are one group."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        column = o.kwargs.get("column")
        groups.setdefault(column if isinstance(column, str) else "_nocolumn", []).append(o)
    return [o for group in groups.values() for o in group]


# ---- compiling -----------------------------------------------------------------------------


def _measure(
    index: int, rule: Rule, parameters: Mapping[str, Any], source: Asset, types: Mapping[str, str]
) -> _Measure:
    measure = _Measure(index, rule, gx_kwargs(rule.kwargs))
    try:
        measure.kwargs = _substituted(measure.kwargs, parameters)
        if rule.type == SQL_RULE:
            _sql_rule(measure, source)
        elif rule.type == COMPOUND:
            _compound(measure, batch_sql(source))
        elif rule.type in (BETWEEN, IN_SET, NOT_IN_SET, NOT_NULL, IS_NULL):
            _column_map(measure, batch_sql(source), types)
        else:
            raise ValueError(f"{rule.type} is not evaluated as SQL")
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # GX refuses such a rule too
        measure.error = exc
    return measure


def _substituted(kwargs: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for key, value in kwargs.items():
        if isinstance(value, dict) and "$PARAMETER" in value:
            name = value["$PARAMETER"]
            if name not in parameters:
                raise KeyError(f"no value for suite parameter {name!r}")
            out[key] = parameters[name]
    return out


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _condition(measure: _Measure, node: Mapping[str, Any]) -> str:
    """A GX 1.24 structured row condition as SQL (comparison, nullity, and, or), values bound."""
    kind = node.get("type")
    if kind in ("and", "or"):
        joined = f" {kind.upper()} ".join(f"({_condition(measure, c)})" for c in node["conditions"])
        return f"({joined})"
    column = _ident(node["column"]["name"])
    if kind == "nullity":
        return f"{column} IS {'' if node['is_null'] else 'NOT '}NULL"
    if kind != "comparison":
        raise ValueError(f"row condition of type {kind!r} is not evaluated as SQL")
    operator, parameter = node["operator"], node["parameter"]
    if operator in ("IN", "NOT_IN"):
        listed = f"{column} IN ({', '.join(measure.bind(v) for v in parameter)})"
        return listed if operator == "IN" else f"NOT ({listed})"
    return f"{column} {_OPERATORS[operator]} {measure.bind(parameter)}"


def _domain(measure: _Measure) -> str:
    condition = measure.kwargs.get("row_condition")
    if condition is None:
        return "TRUE"
    if not isinstance(condition, dict) or measure.kwargs.get("condition_parser") != "great_expectations":
        raise ValueError(f"row condition {condition!r} is not a great_expectations condition")
    return _condition(measure, condition)


def _comparable(value: Any) -> Any:
    """``min_value``/``max_value`` as GX's model coerces them (float, then date, then datetime)."""
    if isinstance(value, bool) or value is None or isinstance(value, datetime | date):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number, a date or a datetime") from None
    return value


def _between(measure: _Measure, column: str, types: Mapping[str, str]) -> str:
    low, high = _comparable(measure.kwargs.get("min_value")), _comparable(measure.kwargs.get("max_value"))
    if low is not None and high is not None and low > high:
        raise ValueError("min_value cannot be greater than max_value")
    if low is None and high is None:
        raise ValueError("min_value and max_value cannot both be None")
    column_type = types.get(measure.kwargs["column"], "")
    if column_type.upper().startswith(INCOMPARABLE):
        raise ValueError(f"ColumnValuesBetween metrics cannot be computed on column of type {column_type}.")
    parts = []
    if low is not None:
        parts.append(f"{column} {'>' if measure.kwargs.get('strict_min') else '>='} {measure.bind(low)}")
    if high is not None:
        parts.append(f"{column} {'<' if measure.kwargs.get('strict_max') else '<='} {measure.bind(high)}")
    return " AND ".join(parts)


def _unexpected(measure: _Measure, column: str, types: Mapping[str, str]) -> str:
    """The rows a column rule counts as unexpected (NULLs only for the null rules)."""
    kind, value_set = measure.rule.type, measure.kwargs.get("value_set")
    if kind == NOT_NULL:
        return f"{column} IS NULL"
    if kind == IS_NULL:
        return f"{column} IS NOT NULL"
    if kind == BETWEEN:
        return f"{column} IS NOT NULL AND NOT ({_between(measure, column, types)})"
    if kind == IN_SET and value_set is not None:
        listed = [v for v in value_set if v is not None]  # GX drops None (NULL IN never holds)
        if not listed:
            return f"{column} IS NOT NULL"
        return f"{column} IS NOT NULL AND NOT ({column} IN ({', '.join(measure.bind(v) for v in listed)}))"
    if kind == NOT_IN_SET and value_set:
        return f"{column} IS NOT NULL AND NOT ({column} NOT IN ({', '.join(measure.bind(v) for v in value_set)}))"
    return "FALSE"  # no value set: vacuously expected


def _column_map(measure: _Measure, batch: str, types: Mapping[str, str]) -> None:
    column = _ident(measure.kwargs["column"])
    domain = _domain(measure)
    unexpected = _unexpected(measure, column, types)
    measure.aggregates += [
        f"count(*) FILTER (WHERE {domain}) AS {measure.name('n')}",
        f"count({column}) FILTER (WHERE {domain}) AS {measure.name('nn')}",
        f"count(*) FILTER (WHERE ({domain}) AND ({unexpected})) AS {measure.name('u')}",
    ]
    measure.values_sql = f"SELECT {column} FROM {batch} AS batch WHERE ({domain}) AND ({unexpected})"


def _compound(measure: _Measure, batch: str) -> None:
    names = measure.kwargs["column_list"]
    columns = [_ident(c) for c in names]
    ignore = measure.kwargs.get("ignore_row_if", "all_values_are_missing")
    if ignore not in _IGNORE:
        raise ValueError(f"ignore_row_if {ignore!r} is not one of {sorted(_IGNORE)}")
    kept = {
        "all_values_are_missing": "NOT (" + " AND ".join(f"{c} IS NULL" for c in columns) + ")",
        "any_value_is_missing": " AND ".join(f"{c} IS NOT NULL" for c in columns),
        "never": "TRUE",
    }[ignore]
    domain = _domain(measure)
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)  # GX joins the group counts on equality
    listed = ", ".join(columns)
    measure.aggregates += [
        f"count(*) FILTER (WHERE {domain}) AS {measure.name('n')}",
        f"count(*) FILTER (WHERE ({domain}) AND ({kept})) AS {measure.name('nn')}",
    ]
    rows = f"FROM {batch} AS batch WHERE ({domain}) AND ({kept}) AND {present}"
    measure.tables.append(
        f"(SELECT coalesce(sum(k), 0) AS {measure.name('u')} FROM (SELECT count(*) AS k {rows} "
        f"GROUP BY {listed} HAVING count(*) > 1))"
    )
    measure.values_sql = (
        f"SELECT {listed} FROM (SELECT {listed}, count(*) OVER (PARTITION BY {listed}) AS k {rows}) WHERE k > 1"
    )


def _sql_rule(measure: _Measure, source: Asset) -> None:
    query = measure.kwargs["unexpected_rows_query"].rstrip("; \t\r\n\v\f")  # as GX strips it
    measure.rows_sql = query.format(batch=rule_batch(query, source))
    measure.tables.append(f"(SELECT count(*) AS {measure.name('u')} FROM ({measure.rows_sql}))")


# ---- running -------------------------------------------------------------------------------


def _column_types(cursor: duckdb.DuckDBPyConnection, batch: str) -> dict[str, str]:
    """The asset's column types (binding the query only, nothing is read); none if it does not bind."""
    try:
        relation = cursor.sql(f"SELECT * FROM {batch} AS batch")
    except duckdb.Error:  # every rule then fails on its own with the asset's error
        return {}
    return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}


def _statement(batch: str, measures: list[_Measure]) -> tuple[str, dict[str, Any]]:
    aggregates = [a for m in measures for a in m.aggregates]
    tables = [t for m in measures for t in m.tables]
    if aggregates:
        tables.insert(0, f"(SELECT {', '.join(aggregates)} FROM {batch} AS batch)")
    params = {k: v for m in measures for k, v in m.params.items()}
    return "SELECT * FROM " + ", ".join(f"{t} AS t{i}" for i, t in enumerate(tables)), params


def _run(cursor: duckdb.DuckDBPyConnection, batch: str, measures: list[_Measure]) -> dict[str, Any]:
    sql, params = _statement(batch, measures)
    relation = cursor.execute(sql, params)
    names = [d[0] for d in relation.description]
    return dict(zip(names, relation.fetchone(), strict=True))  # type: ignore[arg-type]  # aggregates: one row


def _fetch(
    cursor: duckdb.DuckDBPyConnection, batch: str, measures: list[_Measure]
) -> tuple[dict[str, Any], dict[int, Exception]]:
    """One statement for every rule; if it fails, each rule alone (its error is its own)."""
    if not measures:
        return {}, {}
    try:
        return _run(cursor, batch, measures), {}
    except duckdb.Error as exc:
        if len(measures) == 1:
            return {}, {measures[0].index: exc}
    row: dict[str, Any] = {}
    errors: dict[int, Exception] = {}
    for m in measures:
        try:
            row.update(_run(cursor, batch, [m]))
        except duckdb.Error as exc:
            errors[m.index] = exc
    return row, errors


def _outcome(
    cursor: duckdb.DuckDBPyConnection | None, m: _Measure, row: Mapping[str, Any], error: Exception | None
) -> Outcome:
    """A measure's outcome from the statement's row (``cursor`` None: no follow-up query)."""
    if error is not None:
        return _errored(m, error)
    if m.rule.type == SQL_RULE:
        count = row[m.name("u")]
        example = _first_row(cursor, m) if count and cursor else None
        return Outcome(m.rule, m.kwargs, count == 0, {"observed_value": count}, example=example)
    elements = row[m.name("n")]
    unexpected = row[m.name("u")] if elements else (0 if m.rule.type == COMPOUND else None)
    try:
        values = _values(cursor, m, unexpected) if unexpected and cursor else []
    except duckdb.Error as exc:  # GX fails the expectation when its unexpected values cannot be read
        return _errored(m, exc)
    mostly = m.kwargs.get("mostly", 1)
    if m.rule.type in (NOT_NULL, IS_NULL):
        success = not elements or _mostly(elements, cast(int, unexpected), mostly)  # a count when elements
        return Outcome(m.rule, m.kwargs, success, _map_result(elements, None, unexpected, values))
    considered = row[m.name("nn")] if elements else 0  # non-NULL values, or rows not ignored
    success = not considered or unexpected is None or _mostly(considered, unexpected, mostly)
    return Outcome(m.rule, m.kwargs, success, _map_result(elements, considered, unexpected, values))


def _errored(m: _Measure, exc: Exception) -> Outcome:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    trace = "".join(traceback.format_exception(exc))
    return Outcome(m.rule, m.kwargs, False, {}, error=text, trace=trace)


def _values(cursor: duckdb.DuckDBPyConnection, m: _Measure, unexpected: int) -> list[Any]:
    """Up to 20 unexpected values, as GX's unexpected_values query reads them (in no order)."""
    if m.rule.type == NOT_NULL:  # every one is NULL: nothing to read
        return [None] * min(PARTIAL, unexpected)
    relation = cursor.execute(f"{m.values_sql} LIMIT {PARTIAL}", m.params)
    rows = relation.fetchall()
    if m.rule.type == COMPOUND:
        names = m.kwargs["column_list"]
        return [dict(zip(names, r, strict=True)) for r in rows]
    return [r[0] for r in rows]


def _first_row(cursor: duckdb.DuckDBPyConnection, m: _Measure) -> str | None:
    try:
        relation = cursor.execute(f"SELECT * FROM ({m.rows_sql}) LIMIT 1")
        names = [d[0] for d in relation.description]
        row = relation.fetchone()
    except duckdb.Error:  # the count is the finding; the example is a courtesy
        return None
    return row_text(names, row) if row else None


def _mostly(considered: int, unexpected: int, mostly: float) -> bool:
    """GX's ``_mostly_success``: the share of considered rows that pass, in float arithmetic."""
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


def _map_result(
    element_count: int, nonnull_count: int | None, unexpected_count: int | None, values: list[Any]
) -> dict[str, Any]:
    """GX's ``_format_map_output`` for result format SUMMARY (no index columns, no unexpected rows)."""
    skip_missing = nonnull_count is None
    missing_count = None if nonnull_count is None else element_count - nonnull_count
    missing_percent = percent_total = percent_nonmissing = None
    if unexpected_count is not None and element_count > 0:
        percent_total = unexpected_count / element_count * 100
        if nonnull_count is not None and missing_count is not None:
            missing_percent = missing_count / element_count * 100
            percent_nonmissing = unexpected_count / nonnull_count * 100 if nonnull_count > 0 else None
        else:
            percent_nonmissing = percent_total
    result: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": unexpected_count,
        "unexpected_percent": percent_nonmissing,
        "partial_unexpected_list": values[:PARTIAL],
    }
    if not skip_missing:
        result |= {
            "missing_count": missing_count,
            "missing_percent": missing_percent,
            "unexpected_percent_total": percent_total,
            "unexpected_percent_nonmissing": percent_nonmissing,
        }
    hashable = [tuple(v.values()) for v in values] if values and isinstance(values[0], dict) else values
    try:
        counted = sorted(Counter(hashable).most_common(PARTIAL), key=lambda x: (-x[1], x[0]))
        result["partial_unexpected_counts"] = [{"value": k, "count": c} for k, c in counted]
    except TypeError:  # values that do not sort together: GX leaves the counts out
        pass
    return result
