"""``xborder contract``: check a sample landed file against a contract before it is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from pipelines.contract_check import CheckResult, ReasonCount

app = typer.Typer(help="Data contracts (contracts/*.yml): check a sample file against one before loading it.")


@app.command("check")
def check_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The sample file to check."),
    contract: str = typer.Option(
        ...,
        "--contract",
        "-c",
        help="Contract name (a file stem under contracts/catalogues, channels or suppliers) or a YAML path.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any row would be quarantined."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (machine-readable)."),
    examples: int = typer.Option(3, "--examples", min=1, max=1000, help="Examples shown per reason code."),
) -> None:
    """Tell, before loading, whether a file fits a contract and what breaks (reads only; no warehouse).

    The file is read by the pipeline's own reader and its rows go through the feed's own rules,
    with the HS, country and currency codes of reference/. Printed: the contract, the encoding
    and delimiter declared and detected, rows read, rows that would load, rows that would be
    quarantined per reason code with the first examples (line, column, value as landed), or for
    a structural break (undecodable bytes, a missing column, not parseable) the file, line and
    rule. Sales: rules needing the warehouse (unknown_product, fx_rate_missing, ...) are decided
    at load, not here.

    Exit code: 0 when the file fits (quarantined rows are reported), 1 when it would be rejected
    whole, or with --strict when any row would be quarantined; 2 for a bad command line.

    Examples:

      xborder contract check landing/catalogues/DE001/2020-01-01.csv --contract de_csv_semicolon_cp1252

      xborder contract check events.jsonl --contract tmall_global --json

      xborder contract check new_layout.csv --contract contracts/catalogues/at_csv_semicolon.yml --strict
    """
    from pipelines.contract_check import check_file, resolve_contract
    from pipelines.contracts import ContractError
    from pipelines.settings import get_settings

    settings = get_settings()
    try:
        chosen = resolve_contract(contract, settings.contracts_dir)
    except ContractError as exc:
        raise typer.BadParameter(str(exc), param_hint="--contract") from exc
    result = check_file(file, chosen, settings.reference_dir, examples)
    if as_json:
        typer.echo(json.dumps(result.to_dict(strict), indent=2, ensure_ascii=False))
    else:
        _print(result, strict)
    raise typer.Exit(result.exit_code(strict))


def _examples_table(title: str, kind: str, counts: list[ReasonCount]) -> Table:
    """Rows per reason (or exclude rule) with example lines; values shown as plain text."""
    from rich.table import Column, Table
    from rich.text import Text

    table = Table(
        kind,
        Column("rows", justify="right"),
        Column("line", justify="right"),
        "column",
        "value",
        title=title,
        title_justify="left",
    )
    for r in counts:
        for i, ex in enumerate(r.examples):
            column = ex.column or ""
            if ex.file_column and ex.file_column != ex.column:
                column = f"{column} ({ex.file_column})" if column else ex.file_column
            table.add_row(
                r.reason if i == 0 else "",
                f"{r.rows:,}" if i == 0 else "",
                "" if ex.line is None else str(ex.line),
                Text(column),
                Text("(empty)" if ex.value is None else repr(ex.value)),
            )
        if r.rows > len(r.examples):
            table.add_row("", "", "", Text(f"... {r.rows - len(r.examples):,} more", style="dim"), "")
    return table


def _print(result: CheckResult, strict: bool) -> None:
    """The human report; file content is shown as plain text, never as rich markup."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    console.print(f"[bold]Contract check[/] {escape(result.file)}")
    console.print(
        f"  contract    {escape(result.contract)} ({escape(result.contract_path)}), "
        f"feed {result.feed}, format {result.format}"
    )
    if result.encoding_declared or result.encoding_detected:
        console.print(
            f"  encoding    declared {result.encoding_declared or '-'}, detected {result.encoding_detected or '-'}"
        )
    if result.delimiter_declared:
        console.print(
            f"  delimiter   declared {escape(repr(result.delimiter_declared))}, "
            f"detected {escape(repr(result.delimiter_detected)) if result.delimiter_detected else '-'}"
        )
    counts = [("rows read", result.rows_read)]
    if result.fits:
        counts += [("would load", result.rows_would_load), ("quarantined", result.rows_quarantined)]
        if result.rows_duplicate:
            counts.append(("duplicate", result.rows_duplicate))
        if result.rows_excluded:
            counts.append(("excluded", result.rows_excluded))
    for label, n in counts:
        suffix = "  (exact repeats in the file, skipped)" if label == "duplicate" else ""
        console.print(f"  {label:<11} {n:>9,}{suffix}")
    if result.exclusions:
        console.print(_examples_table("Excluded by contract rule (counted, not errors)", "rule", result.exclusions))
    if result.reasons:
        console.print(_examples_table("Would be quarantined", "reason", result.reasons))
    for note in result.notes:
        console.print(f"  [dim]note:[/] {escape(note)}")
    name = escape(result.contract)
    if result.rejection:
        rej = result.rejection
        console.print(f"[red bold]✗ rejected whole[/] ({rej.reason}): {escape(rej.message)}")
        where = f"line {rej.line}" if rej.line is not None else "line unknown"
        console.print(f"  file {escape(result.file)}, {where}, rule {escape(rej.rule)}")
        if rej.rows:
            console.print(f"  its {rej.rows:,} data line(s) would be counted as read and quarantined")
    elif result.rows_quarantined and strict:
        console.print(f"[red bold]✗ --strict[/]: {result.rows_quarantined:,} row(s) would be quarantined")
    elif result.rows_quarantined:
        console.print(
            f"[yellow bold]✓ fits[/] contract {name}: {result.rows_would_load:,} of {result.rows_read:,} row(s) would "
            f"load, {result.rows_quarantined:,} would be quarantined (--strict makes that exit 1)"
        )
    else:
        loads = f"{result.rows_would_load:,} of {result.rows_read:,} row(s) would load"
        console.print(f"[green bold]✓ fits[/] contract {name}: {loads}")
