"""The ``xborder`` command line (also ``python -m pipelines``).

Each subcommand lives in ``pipelines/commands/<name>.py`` as a function ``command``; heavy
imports happen inside it so that ``xborder --help`` stays instant.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import typer

HELP = """xborder: cross-border sales tracked against the export targets in force (targets.yml).

Typical session:

  xborder generate --order-lines 100000   # sample landing files under $XBORDER_HOME/landing

  xborder run                             # load every new landed file into the warehouse

  xborder report                          # the export-tracking report (HTML)

  xborder sql "SELECT * FROM marts.export_progress_daily LIMIT 5"

Settings come from XBORDER_* environment variables (XBORDER_HOME, default ./data).
"""

# Subcommands in the order they appear in --help.
COMMANDS = ("generate", "run", "report", "quality", "sql", "bench", "demo", "contract", "db")

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    """``--version``: the installed distribution's version (``importlib.metadata``)."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("xborder")
        except PackageNotFoundError:  # imported from a source tree that was never installed
            from pipelines import __version__ as installed
        typer.echo(f"xborder {installed}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the installed version and exit."
    ),
) -> None:
    pass


def _register() -> None:
    for name in COMMANDS:
        module_name = f"pipelines.commands.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        if isinstance(getattr(module, "app", None), typer.Typer):
            app.add_typer(module.app, name=name)
        else:
            app.command(name)(module.command)


_register()


def main() -> None:
    """Entry point: run the app; every error exits 1 with one line, never a traceback.

    Pipeline errors carry their own message; running out of disk or memory says what ran out and
    what to do; anything else is an internal error whose traceback goes to ``$XBORDER_HOME/logs``.

    The process ends with ``os._exit`` once output is flushed: every warehouse connection is
    closed by then, and it spares the user nanobind's benign "leaked instances" lines that
    DuckDB's bindings print at interpreter shutdown after duckdb-engine and GX were loaded.
    """
    from pipelines.errors import UserFacingError

    code: int | str | None = 0
    try:
        app()
    except UserFacingError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        code = 1
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        typer.secho("interrupted: the step in progress rolled back; the next run continues", err=True)
        code = 130
    except BaseException as exc:  # noqa: BLE001 - the one place that turns anything else into one line
        typer.secho(f"error: {_unexpected(exc)}", fg=typer.colors.RED, err=True)
        code = 1
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def _unexpected(exc: BaseException) -> str:
    """One line for an error no step turned into a message: disk or memory, else a logged internal error."""
    import traceback
    from datetime import UTC, datetime

    from pipelines.errors import resource_problem
    from pipelines.settings import get_settings

    home = get_settings().home.resolve()
    known = resource_problem(exc, str(home))
    if known:
        return known
    log = home / "logs" / f"error-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        where = f"traceback in {log}"
    except OSError:
        where = "no log could be written"
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"internal error {type(exc).__name__}: {first} ({where}; please report it)"
