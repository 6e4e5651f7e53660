"""Errors that reach a user as one clear message (exit code 1), never a bare traceback."""

from __future__ import annotations


class UserFacingError(RuntimeError):
    """An error whose message is the whole story (file, line, column, rule)."""
