"""Errors that reach a user as one clear message (exit code 1), never a bare traceback."""

from __future__ import annotations

import errno

DISK_FULL = "No space left on device"


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
    if isinstance(exc, MemoryError | duckdb.OutOfMemoryException) or "Out of Memory" in text:
        return (
            f"out of memory ({type(exc).__name__}): lower XBORDER_MEMORY_LIMIT or XBORDER_THREADS, or give the "
            f"machine more memory, then run again; {after}"
        )
    return None
