"""``xborder contract``: check a sample landed file against a contract before it is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from pipelines.contract_check import CheckResult, ReasonCount
    from pipelines.contract_init import Draft
    from pipelines.settings import Settings

app = typer.Typer(
    help="Data contracts (contracts/*.yml): draft one from a sample file (init), check a sample against one (check)."
)


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
    rule. Rows a contract rule excludes are listed per rule. Sales: when a snapshot is published,
    the rows that would load are also judged against it (read-only): those that would wait for a
    product version, an ECB rate or their order line are listed; the load decides for good.

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
    result = check_file(file, chosen, settings.reference_dir, examples, _published(settings), settings.fx_lookback_days)
    if as_json:
        typer.echo(json.dumps(result.to_dict(strict), indent=2, ensure_ascii=False))
    else:
        _print(result, strict)
    raise typer.Exit(result.exit_code(strict))


def _published(settings: Settings) -> Path | None:
    """The published snapshot, if any: sales rows are judged against it for what would wait."""
    from pipelines.snapshot import NoSnapshot, current_snapshot

    try:
        return current_snapshot(settings)
    except NoSnapshot:
        return None


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


@app.command("init")
def init_command(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A sample file in the new layout (a real export)."
    ),
    feed: str | None = typer.Option(
        None, "--feed", help="sales or catalogues; guessed from a path under sales/CHANNEL/ or catalogues/SUPPLIER/."
    ),
    channel: str | None = typer.Option(None, "--channel", help="Sales: the channel name (its landing folder)."),
    supplier: str | None = typer.Option(
        None, "--supplier", help="Catalogues: the supplier id sending this layout; sales: defaults.supplier_id."
    ),
    currency: str | None = typer.Option(None, "--currency", help="defaults.currency when the file has no currency."),
    name: str | None = typer.Option(None, "--name", help="The contract name (default: the --output file stem)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="Write the draft here (default: print it to stdout)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --output file."),
) -> None:
    """Draft a contract from a sample file: detected layout, columns mapped by name, TODOs for the rest.

    Detected: the format (csv, jsonl, json, xlsx, parquet), for text files the encoding (BOM ->
    utf-8-sig, valid UTF-8 -> utf-8, else cp1252 or latin-1) and the CSV delimiter, the decimal
    mark and thousands separator, for sales the timestamp format (day/month ambiguity is noted) and
    whether it carries an offset. Columns are mapped to the canonical fields by name (InvoiceNo ->
    order_id, StockCode -> supplier_sku, Preis -> unit_price, ...); the file's other columns, the
    fields no column matched, and the choices to review are YAML comments marked TODO, with
    suggestions: derived ids (derive:), country names (country_format: name), how cancellations
    and credit notes are marked (event_types), fee lines to exclude (exclude:).

    The YAML goes to stdout (or --output; an existing file is kept unless --force); a summary to
    stderr says what was detected, the TODOs, and whether the draft already loads as a contract.
    Nothing is read but the sample; nothing is loaded.

    Examples:

      xborder contract init landing/sales/online_retail/2010-12-01/orders.csv --supplier ONLINE_RETAIL --currency GBP

      xborder contract init export.csv --feed sales --channel online_retail -o contracts/channels/online_retail.yml

      xborder contract init landing/catalogues/AT001/2020-01-01.csv -o contracts/catalogues/at_csv_semicolon.yml

    then review the TODOs and check the sample against the draft:

      xborder contract check export.csv --contract contracts/channels/online_retail.yml
    """
    from pipelines.contract_init import INIT_FEEDS, draft_contract
    from pipelines.contracts import ContractError

    if feed is not None and feed not in INIT_FEEDS:
        raise typer.BadParameter(f"{feed!r}: one of {', '.join(INIT_FEEDS)}", param_hint="--feed")
    if output is not None and output.exists() and not force:
        raise typer.BadParameter(f"{output} exists; --force overwrites it", param_hint="--output")
    if name is None and output is not None:
        name = output.stem
    try:
        draft = draft_contract(file, feed, channel, supplier, name, currency)
    except ContractError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    if output is None:
        typer.echo(draft.text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(draft.text, encoding="utf-8")
    _init_summary(draft, output)


def _init_summary(draft: Draft, output: Path | None) -> None:
    """What was detected, the TODOs, and whether the draft loads (stderr; stdout holds the YAML)."""
    import tempfile

    from pipelines.contracts import ContractError, load_contract

    def say(text: str) -> None:
        typer.echo(text, err=True)

    layout = [f"format {draft.format}"]
    if draft.encoding:
        layout.append(f"encoding {draft.encoding}")
    if draft.delimiter:
        layout.append(f"delimiter {draft.delimiter!r}")
    layout.append(f"decimal {draft.decimal!r}" + (f", thousands {draft.thousands!r}" if draft.thousands else ""))
    if draft.timestamp:
        layout.append(f"timestamps {draft.timestamp.format}" + (" with offset" if draft.timestamp.offset else ""))
    say(f"Drafted contract {draft.name} (feed {draft.feed}): {', '.join(layout)}")
    total = len(draft.columns) + len(draft.unmatched)
    mapped = f"  columns: {len(draft.columns)} of {total} mapped by name"
    say(mapped + (f"; derived: {', '.join(draft.derive)}" if draft.derive else ""))
    if draft.todos:
        say(f"  {len(draft.todos)} TODO(s) to review: {', '.join(draft.todos)}")
    if draft.missing:
        say(f"  not detected (set them before it loads): {', '.join(draft.missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / f"{draft.name}.yml"
        probe.write_text(draft.text, encoding="utf-8")
        try:
            load_contract(probe)
            loads = "the draft loads as a contract"
        except ContractError as exc:
            loads = "the draft does not load yet: " + str(exc).replace(str(probe), "draft")
    where = f"written to {output}" if output else "YAML on stdout"
    say(f"  {where}; {loads}")


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
        if result.rows_would_wait:
            counts.append(("would wait", result.rows_would_wait))
    for label, n in counts:
        suffix = "  (exact repeats in the file, skipped)" if label == "duplicate" else ""
        console.print(f"  {label:<11} {n:>9,}{suffix}")
    if result.exclusions:
        console.print(_examples_table("Excluded by contract rule (counted, not errors)", "rule", result.exclusions))
    if result.reasons:
        console.print(_examples_table("Would be quarantined", "reason", result.reasons))
    if result.waits:
        title = f"Would wait (against snapshot {result.waits_against}): they load by themselves when it lands"
        console.print(_examples_table(title, "reason", result.waits))
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
