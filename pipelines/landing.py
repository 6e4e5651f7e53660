"""The landing zone: safe paths, discovery and checksums of landed files.

Landed files are untrusted: every path is resolved and must stay inside the landing root
(no ``..`` or symlinks out of it), and names are never interpolated into SQL. An entry that
leaves the root is never read: :func:`discover` leaves it out and :func:`escapes` lists it, so
that its feed rejects it (reason ``outside_landing_root``). Dates in file and folder names are
real calendar dates in ASCII digits within a plausible range (:func:`date_name_problem`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from pipelines.errors import UserFacingError

EARLIEST_DATE = date(2000, 1, 1)  # no delivery of this business is older
FUTURE_DAYS = 366  # nor dated more than a year ahead
DATE_NAME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)  # \d would accept any script's digits


class LandingPathError(UserFacingError, ValueError):
    """A path points outside the landing root."""


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, guaranteed to be inside ``root``."""
    root = root.resolve()
    resolved = (root / path).resolve()
    if resolved != root and root not in resolved.parents:
        raise LandingPathError(f"{path} resolves to {resolved}, outside the landing root {root}")
    return resolved


def relative(root: Path, path: Path) -> str:
    """The POSIX path of ``path`` relative to the landing root (the ledger's name for it)."""
    return inside(root, path).relative_to(root.resolve()).as_posix()


def name_in_root(root: Path, path: Path) -> str:
    """How messages name ``path``: relative to the root as found, without following a link out of it."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return relative(root, path)


def _leaves(root: Path, path: Path) -> bool:
    try:
        inside(root, path)
    except (LandingPathError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return True
    return False


def discover(root: Path, folder: str, pattern: str) -> list[Path]:
    """Files under ``root/folder`` matching ``pattern`` (recursive), sorted, resolved, inside the root.

    Entries that lead out of the root are left out (never read): :func:`escapes` lists them.
    Linked folders are not descended into (as ``Path.rglob``); a linked file inside the root
    counts as the file it names.
    """
    base = _base(root, folder)
    if base is None:
        return []
    found = []
    for path, is_link in _walk(base):
        if not fnmatch.fnmatchcase(path.name, pattern):
            continue
        if not is_link:
            found.append(path)  # under the resolved base through real folders: resolved already
            continue
        try:
            if path.is_file():
                found.append(inside(root, path))
        except (LandingPathError, OSError, RuntimeError):  # RuntimeError: a symlink loop
            continue
    return sorted(set(found))  # a link inside the root to another landed file names that file once


def escapes(root: Path, folder: str) -> list[Path]:
    """Links under ``root/folder`` (or the folder itself) that lead out of the root, named as found."""
    if _leaves(root, Path(folder)):
        return [root.resolve() / folder]
    base = _base(root, folder)
    if base is None:
        return []
    return sorted(path for path, is_link in _walk(base) if is_link and _leaves(root, path))


def _base(root: Path, folder: str) -> Path | None:
    """``root/folder`` resolved, or None when it is missing or leads out of the root."""
    if _leaves(root, Path(folder)):
        return None
    base = inside(root, Path(folder))
    return base if base.is_dir() else None


def _walk(base: Path) -> Iterator[tuple[Path, bool]]:
    """(path, is_link) of every file and link under ``base``, without following linked folders.

    One ``scandir`` per folder and no ``stat`` per entry (the directory entry's type is enough):
    discovery of thousands of landed files costs milliseconds.
    """
    stack = [str(base)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                yield Path(entry.path), True
            elif entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield Path(entry.path), False


def escape_key(root: Path, path: Path) -> str:
    """A stable ledger key for an entry that is never read: sha256 of its name and where it points."""
    try:
        target = str(path.readlink())
    except OSError:
        target = "?"
    text = f"outside_landing_root:{name_in_root(root, path)}->{target}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def date_name_problem(text: str, today: date | None = None) -> str | None:
    """Why ``text`` is not an acceptable ``YYYY-MM-DD`` file or folder name, or None when it is."""
    if not DATE_NAME.fullmatch(text):
        return f"{text!r} is not a date written YYYY-MM-DD in ASCII digits"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"{text} is not a calendar date"
    latest = (today or date.today()) + timedelta(days=FUTURE_DAYS)
    if not EARLIEST_DATE <= day <= latest:
        return f"{text} is outside the plausible range {EARLIEST_DATE} to {latest}"
    return None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
