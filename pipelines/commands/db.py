"""``xborder db``: create or upgrade the warehouse schema."""

from __future__ import annotations

import typer

app = typer.Typer(help="The warehouse schema: versioned SQL files in sql/, applied in order.")


@app.command("migrate")
def migrate_command() -> None:
    """Apply the SQL migrations not yet applied (sql/<layer>/V<NNN>__name.sql).

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
    from pipelines.warehouse import discover_migrations, session

    settings = get_settings()
    applied: dict[int, str] = {}
    if settings.warehouse_path.exists():
        with session(read_only=True) as con:
            if con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name='audit' AND table_name='schema_migrations'"
            ).fetchone()[0]:
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
    """Let a rejected file be loaded again, once its contract (or its supplier's file) is fixed.

    A file rejected whole (bad header, wrong encoding, unknown layout...) stays in
    audit.load_ledger with status 'rejected', so no run retries it. This forgets that rejection
    (ledger row, quarantine rows, remembered checksum); the next `xborder run` or DAG run loads
    the file through its current contract. Loaded files cannot be forgotten: re-reading the same
    bytes changes nothing, and corrected content is a new delivery that loads by itself.

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
