"""Which landed files are new: by content checksum against the ledger."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.contracts import channel_contracts, load_contracts
from pipelines.landing import discover, sha256_file
from pipelines.ledger import known_files
from pipelines.settings import Settings


def new_files(con: duckdb.DuckDBPyConnection, settings: Settings, folder: str, pattern: str) -> list[tuple[Path, str]]:
    """(path, sha256) of files under ``landing/folder`` whose content is not in the ledger yet.

    A file whose bytes equal another new file's is listed once (the first path in sort order).
    """
    files = [(p, sha256_file(p)) for p in discover(settings.landing_dir, folder, pattern)]
    known = known_files(con, [sha for _, sha in files])
    seen: set[str] = set()
    fresh = []
    for path, sha in files:
        if sha in known or sha in seen:
            continue
        seen.add(sha)
        fresh.append((path, sha))
    return fresh


def pending_units(con: duckdb.DuckDBPyConnection, settings: Settings, feed: str) -> list[str]:
    """Suppliers (catalogues) or channels (sales) with new landed files, sorted."""
    if feed == "catalogues":
        files = new_files(con, settings, "catalogues", "*")
        return sorted({p.relative_to(settings.landing_dir / "catalogues").parts[0] for p, _ in files})
    if feed == "sales":
        units = []
        for channel, contract in channel_contracts(load_contracts(settings.contracts_dir, "sales")).items():
            if new_files(con, settings, f"sales/{channel}", contract.file_glob):
                units.append(channel)
        return sorted(units)
    return []
