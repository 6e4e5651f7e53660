"""Errors that reach a user as one clear message (exit code 1), never a bare traceback."""

from __future__ import annotations

import errno

DISK_FULL = "No space left on device"
OUT_OF_MEMORY = ("Out of Memory", "could not allocate block")


class UserFacingError(RuntimeError):
    """An error whose message is the whole story (file, line, column, rule)."""


def resource_problem(exc: BaseException, where: str) -> str | None:
    """One line for running out of disk or memory (``where``: the warehouse or home), else None.

    Every load step is a transaction, so the warehouse is consistent after either: the step that
    ran out rolled back, and the next run redoes it exactly.
    """
    import duckdb

    text = str(exc)
    after = "the warehouse is consistent (the interrupted step rolled back) and the next run continues exactly"
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or DISK_FULL in text:
        return f"out of disk space under {where}: free space (or set XBORDER_HOME elsewhere), then run again; {after}"
    if isinstance(exc, MemoryError | duckdb.OutOfMemoryException) or any(m in text for m in OUT_OF_MEMORY):
        from pipelines.settings import get_settings

        limit = get_settings().memory_limit or "80% of RAM"
        return (
            f"out of memory ({type(exc).__name__}): DuckDB may use XBORDER_MEMORY_LIMIT={limit}; raise it if the "
            f"machine has more, or lower XBORDER_THREADS, then run again; {after}"
        )
    return None
