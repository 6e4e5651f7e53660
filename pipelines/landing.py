"""The landing zone: safe paths, discovery and checksums of landed files.

Landed files are untrusted: every path is resolved and must stay inside the landing root
(no ``..`` or symlinks out of it), and names are never interpolated into SQL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipelines.errors import UserFacingError


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


def discover(root: Path, folder: str, pattern: str) -> list[Path]:
    """Files under ``root/folder`` matching ``pattern`` (recursive), sorted, inside the root."""
    base = inside(root, Path(folder))
    if not base.is_dir():
        return []
    return sorted(inside(root, p) for p in base.rglob(pattern) if p.is_file())


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
