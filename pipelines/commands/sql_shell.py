"""``xborder sql`` with no query in a terminal: an interactive, read-only SQL shell on the snapshot.

Statements end with ``;`` and may span lines; dot commands (``.help``) list tables, describe
one, switch the output format or move to a snapshot published since the shell opened. The
connection stays on one snapshot for the whole session (temp tables survive, results are
consistent) until ``.reload``; a session held open never blocks a pipeline run.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from pipelines.commands.sql import Format, run_and_print

PROMPT = "xborder> "
MORE = "     ...> "
HELP = """\
  SQL ending with ';'       run it (several lines are fine); the last statement's result is shown
  .tables                   the tables and views, with their comments
  .schema TABLE             the columns of TABLE, with their types and comments
  .format FORMAT            table, vertical, csv, json or markdown (now: {format}); a table
                            wider than the terminal prints one block per row
  .limit N                  rows shown in table format (now: {limit})
  .read FILE                run the SQL in FILE (e.g. pipelines/resources/sql/examples/top_chapters.sql)
  .reload                   switch to the snapshot published most recently
  .help                     this list
  .quit                     leave (or Ctrl-D)
Ctrl-C clears the statement being typed. The snapshot is read-only: CREATE TEMP TABLE for scratch."""

TABLES = """
SELECT schema_name || '.' || table_name AS "table", 'table' AS kind, comment FROM duckdb_tables()
WHERE NOT internal AND NOT temporary
UNION ALL
SELECT schema_name || '.' || view_name, 'view', comment FROM duckdb_views() WHERE NOT internal AND NOT temporary
ORDER BY 1
"""
COLUMNS = """
SELECT column_name AS "column", data_type AS type, comment FROM duckdb_columns()
WHERE schema_name || '.' || table_name = ? OR table_name = ?
ORDER BY schema_name = 'main', column_index
"""


class Shell:
    """The shell's state: the open snapshot, the output format and the statement being typed."""

    def __init__(self, path: Path, *, format: Format, limit: int, out: TextIO, latest: Callable[[], Path]) -> None:
        self.format, self.limit, self.out, self.latest = format, limit, out, latest
        self.path = path
        self.con: Any = None
        self._open(path)

    def _open(self, path: Path) -> None:
        import duckdb

        if self.con is not None:
            self.con.close()
        self.path = path
        self.con = duckdb.connect(str(path), read_only=True)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")

    def run(self, sql: str) -> bool:
        newer = self.latest()
        if newer != self.path:
            self.say(f"(a newer snapshot, {newer.name}, was published: .reload to switch)")
        return run_and_print(self.con, sql, format=self.format, limit=self.limit, source=self.path.name, out=self.out)

    def dot(self, line: str) -> bool:
        """Run one dot command; False when the shell should end."""
        command, _, arg = line.strip().partition(" ")
        arg = arg.strip()
        if command in (".quit", ".exit"):
            return False
        if command == ".help":
            self.say(HELP.format(format=self.format.value, limit=self.limit))
        elif command == ".tables":
            run_and_print(self.con, TABLES, format=self.format, limit=10_000, source=self.path.name, out=self.out)
        elif command == ".schema" and arg:
            _print(self, COLUMNS, [arg, arg], f"no table or view named {arg!r} (.tables lists them)")
        elif command == ".format" and arg in Format.__members__:
            self.format = Format(arg)
        elif command == ".limit" and arg.isdigit() and int(arg) > 0:
            self.limit = int(arg)
        elif command == ".read" and arg:
            file = Path(arg).expanduser()
            if file.is_file():
                self.run(file.read_text(encoding="utf-8"))
            else:
                self.say(f"no file {file}")
        elif command == ".reload":
            self._open(self.latest())
            self.say(f"now on snapshot {self.path.name}")
        else:
            self.say(f"unknown or incomplete command {line.strip()!r}; .help lists them")
        return True

    def close(self) -> None:
        self.con.close()


def _print(shell: Shell, sql: str, params: list[Any], empty: str) -> None:
    """Print the result of a parameterised query, or ``empty`` when it has no rows."""
    from pipelines.commands.sql import _print_table

    if not shell.con.execute(sql, params).fetchall():
        shell.say(empty)
        return
    cursor = shell.con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    _print_table(cursor, names, limit=10_000, source=shell.path.name, out=shell.out)


def shell(
    path: Path,
    *,
    format: Format = Format.table,
    limit: int = 100,
    read: Callable[[str], str] = input,
    out: TextIO | None = None,
    latest: Callable[[], Path] | None = None,
) -> int:
    """Read statements and dot commands until ``.quit`` or end of input; return the exit code (0)."""
    from pipelines.settings import get_settings
    from pipelines.snapshot import current_snapshot

    out = out or sys.stdout
    latest = latest or (lambda: current_snapshot(get_settings()))
    save_history = _history() if read is input else (lambda: None)
    state = Shell(path, format=format, limit=limit, out=out, latest=latest)
    state.say(f"xborder sql on snapshot {path.name} (read-only). End statements with ';'. .help, .quit or Ctrl-D.")
    buffer: list[str] = []
    try:
        while True:
            try:
                line = read(MORE if buffer else PROMPT)
            except KeyboardInterrupt:
                buffer.clear()
                state.say("")
                continue
            except EOFError:
                state.say("")
                break
            if not buffer and line.strip().startswith("."):
                if not state.dot(line):
                    break
                continue
            if not buffer and not line.strip():
                continue
            buffer.append(line)
            if line.rstrip().endswith(";"):
                state.run("\n".join(buffer))
                buffer.clear()
    finally:
        state.close()
        save_history()
    return 0


def _history() -> Callable[[], None]:
    """Line editing and a history file (~/.xborder_sql_history) where readline exists; returns its saver.

    Saved explicitly, not at exit: ``xborder`` ends with ``os._exit`` (see ``pipelines.cli.main``).
    """
    try:
        import readline
    except ImportError:  # pragma: no cover - not on Linux
        return lambda: None
    history = Path.home() / ".xborder_sql_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)

    return save
