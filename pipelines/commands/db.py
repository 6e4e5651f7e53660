"""``xborder db``: create or upgrade the warehouse schema; re-process or retract a landed file."""

from __future__ import annotations

import typer

app = typer.Typer(help="The warehouse schema: versioned SQL files in pipelines/resources/sql/, applied in order.")


@app.command("migrate")
def migrate_command() -> None:
    """Apply the SQL migrations not yet applied (pipelines/resources/sql/<layer>/V<NNN>__name.sql).

    Safe to re-run: applied versions are recorded in audit.schema_migrations and skipped.

    Example: XBORDER_HOME=/srv/xborder xborder db migrate
    """
    from rich.console import Console

    from pipelines.settings import get_settings
    from pipelines.warehouse import bootstrap

    applied = bootstrap()
    console = Console()
    path = get_settings().warehouse_path
    if applied:
        for m in applied:
            console.print(f"applied V{m.version:03d} {m.name}")
    console.print(f"warehouse {path} is up to date ({len(applied)} migration(s) applied now)")


@app.command("status")
def status_command() -> None:
    """List the migrations and whether each is applied."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.settings import get_settings
    from pipelines.warehouse import discover_migrations, has_tables, session

    settings = get_settings()
    applied: dict[int, str] = {}
    if settings.warehouse_path.exists():
        with session(read_only=True) as con:
            if has_tables(con, "audit", "schema_migrations"):
                applied = {
                    v: str(t)
                    for v, t in con.execute("SELECT version, applied_at FROM audit.schema_migrations").fetchall()
                }
    table = Table("version", "name", "file", "applied at")
    for m in discover_migrations(settings.sql_dir):
        rel = m.path.relative_to(settings.sql_dir)
        table.add_row(f"V{m.version:03d}", m.name, str(rel), applied.get(m.version, "pending"))
    Console().print(table)


@app.command("reprocess")
def reprocess_command(
    path: str = typer.Argument(..., help="The landed file, relative to the landing root (as in audit.load_ledger)."),
) -> None:
    """Let a rejected (or retracted) file be loaded again, once its contract (or its supplier's file) is fixed.

    A file rejected whole (bad header, wrong encoding, unknown layout...) stays in
    audit.load_ledger with status 'rejected', so no run retries it. This forgets that rejection
    (ledger row, quarantine rows, remembered checksum); the next `xborder run` or DAG run loads
    the file through its current contract. The same goes for a file taken out with
    `xborder db retract` (audit.retractions keeps the record). Loaded files cannot be forgotten:
    re-reading the same bytes changes nothing, and corrected content at the same path is a new
    version that replaces the loaded one by itself.

    Example:

      xborder sql "SELECT path, message FROM audit.load_ledger WHERE status = 'rejected'"

      xborder db reprocess catalogues/GB003/2020-01-06.csv && xborder run --feed catalogues
    """
    from rich.console import Console

    from pipelines.ledger import forget_rejected
    from pipelines.warehouse import session, transaction

    with session() as con, transaction(con):
        forgotten = forget_rejected(con, path)
    Console().print(f"[green]✓[/] {path}: rejection forgotten ({len(forgotten)} delivery); the next run loads it again")


@app.command("retract")
def retract_command(
    path: str = typer.Argument(..., help="The loaded file, relative to the landing root (as in audit.load_ledger)."),
    note: str = typer.Option(None, "--note", "-m", help="Why: kept in audit.retractions and the ledger row."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be removed; change nothing."),
) -> None:
    """Take a loaded file's rows out of the warehouse, so that a corrected delivery can replace it.

    Sales file: its events leave raw.sales_events and core.fct_sales_event; cancels and returns
    of other files that refer to its order lines go back to pending (orphan_reference) and load
    again when a file brings those order lines; its own pending orphans leave the queue.
    Catalogue snapshot: its rows leave raw.catalogue_items, the supplier's product history is
    rebuilt and the facts re-pointed at the versions now valid on their order dates. ECB file:
    its rates go, refused while sales facts are valued at them (retract those first).

    The ledger row becomes 'retracted', audit.retractions records the rows removed per table,
    the EUR removed, who (OS user), when and the note, and the next build rebuilds the marts
    in full. The same bytes at the same path are not loaded again by themselves: land the
    corrected file (new content at that path loads with the next run), or use
    `xborder db reprocess <path>` to load these very bytes again.

    Examples:

      xborder db retract sales/tmall_global/2020-11-11/events-2.jsonl --dry-run

      xborder db retract sales/tmall_global/2020-11-11/events-2.jsonl --note "test orders, ticket 4711"
    """
    from rich.console import Console
    from rich.table import Table

    from pipelines.runner import retract

    done = retract(path, note=note, dry_run=dry_run)
    console = Console()
    verb = "to remove" if dry_run else "removed"
    table = Table("table", f"rows {verb}", title=f"{path} ({done['feed']}, sha256 {str(done['sha256'])[:12]}...)")
    for name, count in dict(done["rows_removed"]).items():
        table.add_row(name, str(count))
    console.print(table)
    console.print(f"net EUR {verb} from core.fct_sales_event: {done['eur_removed']}")
    for line in list(done["notes"]):
        console.print(f"  {line}")
    if dry_run:
        console.print("[yellow]dry run:[/] nothing changed")
    else:
        console.print(f"[green]✓[/] {path} retracted (audit.retractions); the next build rebuilds the marts in full")
